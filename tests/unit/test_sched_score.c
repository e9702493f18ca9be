/*
 * test_sched_score.c - the scheduler's Score plugins and the choice they
 * make: GPU bin-packing (partly used nodes first, tightest fit, whole nodes
 * kept free for large jobs), CPU-only pods kept off GPU nodes while CPU
 * nodes fit, least-allocated spreading of CPU pods, preferred node
 * affinity weights, the PreferNoSchedule penalty, and weights from the
 * configuration.
 */
#include "sched_fixtures.h"

/* ---- GPUBinPack ------------------------------------------------------------------ */

static void test_binpack_choice(void **state)
{
	wf_sched *s = *state;
	node(s, "gA", 64, 512, 8, "", "");
	node(s, "gB", 64, 512, 8, "", "");
	node(s, "gC", 64, 512, 4, "", "");
	node(s, "gD", 64, 512, 8, "", "");
	bound_gpus(s, "usedA", "gA", 6);
	bound_gpus(s, "usedD", "gD", 7);

	/* 1 GPU: the partly used node it fills exactly. */
	pod(s, "one", 100, 1, "");
	assert_string_equal(place(s, 1000), "gD");
	/* 2 GPUs: gA has exactly 2 left. */
	pod(s, "two", 100, 2, "");
	assert_string_equal(place(s, 1001), "gA");
	/* 4 GPUs: no partly used node has room; the smallest empty node that
	 * fits (gC) rather than breaking the 8-GPU gB. */
	pod(s, "four", 100, 4, "");
	assert_string_equal(place(s, 1002), "gC");
	/* 8 GPUs: gB was kept whole for it. */
	pod(s, "eight", 100, 8, "");
	assert_string_equal(place(s, 1003), "gB");
	pod(s, "more", 100, 1, "");
	wf_sched_decision d[4];
	int n = run(s, 1004, d, NELEM(d));
	assert_int_equal(n, 1);
	assert_int_equal(d[0].kind, WF_SCHED_DEC_UNSCHEDULABLE);
	assert_string_equal(d[0].message,
			    "0/4 nodes are available: 4 Insufficient nvidia.com/gpu. preemption: "
			    "0/4 nodes are available: 4 No preemption victims found for incoming "
			    "pod.");
}

static void test_binpack_fills_node_by_node(void **state)
{
	wf_sched *s = *state;
	node(s, "g0", 64, 512, 8, "", "");
	node(s, "g1", 64, 512, 8, "", "");
	node(s, "g2", 64, 512, 8, "", "");
	for (int i = 0; i < 16; i++) {
		char name[16];
		snprintf(name, sizeof(name), "p%02d", i);
		pod(s, name, 100, 1, "");
	}
	wf_sched_decision d[32];
	int n = run(s, 1000, d, NELEM(d));
	assert_int_equal(n, 16);
	/* The first 8 share one node, the next 8 another; one node stays empty. */
	for (int i = 1; i < 8; i++)
		assert_string_equal(d[i].node, d[0].node);
	for (int i = 9; i < 16; i++)
		assert_string_equal(d[i].node, d[8].node);
	assert_string_not_equal(d[0].node, d[8].node);
	int64_t a, u, empty = 0;
	const char *names[] = {"g0", "g1", "g2"};
	for (int k = 0; k < 3; k++) {
		assert_true(wf_sched_node_usage(s, names[k], "nvidia.com/gpu", &a, &u));
		empty += u == 0;
	}
	assert_int_equal(empty, 1);
}

static void test_binpack_prefers_partly_used_over_tight_empty(void **state)
{
	wf_sched *s = *state;
	/* A 2-GPU empty node fits a 2-GPU pod exactly, but an 8-GPU node with 4
	 * in use is partly used: fill it first, keep the small node whole. */
	node(s, "small", 16, 64, 2, "", "");
	node(s, "big", 64, 512, 8, "", "");
	bound_gpus(s, "used", "big", 4);
	pod(s, "p", 100, 2, "");
	assert_string_equal(place(s, 1000), "big");
}

/* ---- GPUAvoid, LeastAllocated, BalancedAllocation --------------------------------- */

static void test_cpu_pods_avoid_gpu_nodes(void **state)
{
	wf_sched *s = *state;
	node(s, "gpu", 128, 1024, 8, "", "");
	node(s, "cpu", 4, 16, 0, "", "");
	/* The GPU node is far emptier, but CPU-only pods go to the CPU node
	 * while it fits... */
	for (int i = 0; i < 3; i++) {
		char name[16];
		snprintf(name, sizeof(name), "c%d", i);
		pod(s, name, 1000, 0, "");
		assert_string_equal(place(s, 1000 + i), "cpu");
	}
	pod(s, "c3", 1000, 0, "");
	assert_string_equal(place(s, 1010), "cpu");
	/* ...and only spill over to the GPU node when it does not. */
	pod(s, "c4", 1000, 0, "");
	assert_string_equal(place(s, 1020), "gpu");
	/* GPU pods are not affected by the CPU pods' preference. */
	pod(s, "g", 1000, 1, "");
	assert_string_equal(place(s, 1030), "gpu");
}

static void test_least_allocated_spreads(void **state)
{
	wf_sched *s = *state;
	for (int i = 0; i < 4; i++) {
		char name[16];
		snprintf(name, sizeof(name), "n%d", i);
		node(s, name, 16, 64, 0, "", "");
	}
	/* A node already half full is the last choice. */
	add_pod(s, "{'metadata':{'name':'hog'},'spec':{'nodeName':'n0','containers':[{"
		   "'resources':{'requests':{'cpu':'8','memory':'32Gi'}}}]}}");
	int count[4] = {0};
	for (int i = 0; i < 12; i++) {
		char name[16];
		snprintf(name, sizeof(name), "p%d", i);
		char js[256];
		snprintf(js, sizeof(js),
			 "{'metadata':{'name':'%s'},'spec':{'containers':[{'resources':{'requests':"
			 "{'cpu':'1','memory':'4Gi'}}}]}}",
			 name);
		add_pod(s, js);
		const char *where = place(s, 1000 + i);
		count[where[1] - '0']++;
	}
	/* 12 pods of 1/16 each: n1..n3 take 4 each (equal shares), n0 none
	 * (it stays the most allocated throughout). */
	assert_int_equal(count[0], 0);
	assert_int_equal(count[1], 4);
	assert_int_equal(count[2], 4);
	assert_int_equal(count[3], 4);
}

static void test_balanced_allocation(void **state)
{
	wf_sched *s = *state;
	node(s, "a", 16, 64, 0, "", "");
	node(s, "b", 16, 64, 0, "", "");
	/* a is cpu-heavy, b memory-heavy, equally allocated on average. A
	 * memory-hungry pod balances a. */
	add_pod(s, "{'metadata':{'name':'cpuhog'},'spec':{'nodeName':'a','containers':[{"
		   "'resources':{'requests':{'cpu':'8','memory':'0'}}}]}}");
	add_pod(s, "{'metadata':{'name':'memhog'},'spec':{'nodeName':'b','containers':[{"
		   "'resources':{'requests':{'cpu':'0','memory':'32Gi'}}}]}}");
	add_pod(s, "{'metadata':{'name':'m'},'spec':{'containers':[{'resources':{'requests':{"
		   "'cpu':'100m','memory':'16Gi'}}}]}}");
	assert_string_equal(place(s, 1000), "a");
	add_pod(s, "{'metadata':{'name':'c'},'spec':{'containers':[{'resources':{'requests':{"
		   "'cpu':'4','memory':'100Mi'}}}]}}");
	assert_string_equal(place(s, 1001), "b");
}

/* ---- NodeAffinity (preferred), TaintToleration (PreferNoSchedule) ------------------ */

#define PREF(x)                                                                                    \
	"'affinity':{'nodeAffinity':{'preferredDuringSchedulingIgnoredDuringExecution':[" x "]}}"

static void test_preferred_affinity(void **state)
{
	wf_sched *s = *state;
	node(s, "a", 16, 64, 0, "'zone':'a','disk':'ssd'", "");
	node(s, "b", 16, 64, 0, "'zone':'b'", "");
	node(s, "c", 16, 64, 0, "'zone':'c','disk':'ssd'", "");
	pod(s, "p", 100, 0,
	    PREF("{'weight':10,'preference':{'matchExpressions':[{'key':'zone','operator':'In',"
		 "'values':['b']}]}}"));
	assert_string_equal(place(s, 1000), "b");
	/* Weights add up: ssd (30) + zone c (20) beats zone b (40). */
	pod(s, "q", 100, 0,
	    PREF("{'weight':40,'preference':{'matchExpressions':[{'key':'zone','operator':'In',"
		 "'values':['b']}]}},"
		 "{'weight':30,'preference':{'matchExpressions':[{'key':'disk','operator':"
		 "'Exists'}]}},"
		 "{'weight':20,'preference':{'matchExpressions':[{'key':'zone','operator':'In',"
		 "'values':['c']}]}}"));
	assert_string_equal(place(s, 1001), "c");
	/* Preferred is only a preference: a full preferred node is skipped. */
	add_pod(s, "{'metadata':{'name':'hog'},'spec':{'nodeName':'b','containers':[{"
		   "'resources':{'requests':{'cpu':'16'}}}]}}");
	pod(s, "r", 100, 0,
	    PREF("{'weight':100,'preference':{'matchExpressions':[{'key':'zone','operator':'In',"
		 "'values':['b']}]}}"));
	const char *w = place(s, 1002);
	assert_true(strcmp(w, "a") == 0 || strcmp(w, "c") == 0);
}

static void test_prefer_no_schedule_penalty(void **state)
{
	wf_sched *s = *state;
	/* The tainted node is emptier, but the taint weighs more. */
	node(s, "tainted", 64, 256, 0, "", "[{'key':'spot','effect':'PreferNoSchedule'}]");
	node(s, "plain", 8, 32, 0, "", "");
	pod(s, "p", 100, 0, "");
	assert_string_equal(place(s, 1000), "plain");
	/* A pod tolerating it sees no penalty and takes the emptier node. */
	pod(s, "t", 100, 0, "'tolerations':[{'key':'spot','operator':'Exists'}]");
	assert_string_equal(place(s, 1001), "tainted");
	/* A NoSchedule toleration does not cover PreferNoSchedule for scoring. */
	pod(s, "u", 100, 0,
	    "'tolerations':[{'key':'spot','operator':'Exists','effect':'NoSchedule'}]");
	assert_string_equal(place(s, 1002), "plain");
	/* When only the tainted node fits, it is used. */
	pod(s, "big", 16000, 0, "");
	assert_string_equal(place(s, 1003), "tainted");
}

static void test_weights_from_config(void **state)
{
	wf_sched_config cfg;
	wf_sched_config_default(&cfg);
	cfg.weight_taint_toleration = 0;
	cfg.weight_gpu_avoid = 0;
	wf_sched *s = wf_sched_new(&cfg);
	node(s, "tainted", 64, 256, 0, "", "[{'key':'spot','effect':'PreferNoSchedule'}]");
	node(s, "plain", 8, 32, 0, "", "");
	pod(s, "p", 1000, 0, "");
	/* With the taint score off, least-allocated picks the big node. */
	assert_string_equal(place(s, 1000), "tainted");
	wf_sched_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_binpack_choice, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_binpack_fills_node_by_node, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_binpack_prefers_partly_used_over_tight_empty,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cpu_pods_avoid_gpu_nodes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_least_allocated_spreads, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_balanced_allocation, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_preferred_affinity, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_prefer_no_schedule_penalty, setup, teardown),
	    cmocka_unit_test(test_weights_from_config),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
