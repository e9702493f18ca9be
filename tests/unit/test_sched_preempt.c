/*
 * test_sched_preempt.c - preemption (PostFilter): the node and victim set
 * with the fewest victims, then the lowest total priority (exact search,
 * and the greedy path for crowded nodes), a gang counted as one victim and
 * evicted whole, only lower priorities evicted, the nomination hold that
 * keeps freed capacity for the preemptor against lower priorities (until it
 * binds or expires), no second preemption while victims terminate, gang
 * preemptors, and preemptionPolicy Never.
 */
#include "sched_fixtures.h"

/* A pod bound to node with cpu cores and a priority (and maybe a group). */
static void victim(wf_sched *s, const char *name, const char *nodename, int cpu, int prio,
		   const char *grp)
{
	char js[512], labels[128] = "";
	if (grp)
		snprintf(labels, sizeof(labels), ",'labels':{'scheduling.x-k8s.io/pod-group':'%s'}",
			 grp);
	snprintf(js, sizeof(js),
		 "{'metadata':{'name':'%s'%s},'spec':{'nodeName':'%s','priority':%d,'containers':"
		 "[{'resources':{'requests':{'cpu':'%d'}}}]}}",
		 name, labels, nodename, prio, cpu);
	add_pod(s, js);
}

static void preemptor(wf_sched *s, const char *name, int cpu, int prio, const char *extra)
{
	char js[512];
	snprintf(js, sizeof(js),
		 "{'metadata':{'name':'%s'},'spec':{'priority':%d,'containers':[{'resources':{"
		 "'requests':{'cpu':'%d'}}}]%s%s}}",
		 name, prio, cpu, extra && *extra ? "," : "", extra ? extra : "");
	add_pod(s, js);
}

/* The PREEMPT decision for pod, with its victims sorted by name into buf. */
static const wf_sched_decision *preempt_of(const wf_sched_decision *d, int n, const char *name,
					   char *victims, size_t len)
{
	const wf_sched_decision *p = find(d, n, name, WF_SCHED_DEC_PREEMPT);
	if (!p)
		return NULL;
	const char *names[64];
	size_t k = p->nvictims < 64 ? p->nvictims : 64;
	for (size_t i = 0; i < k; i++)
		names[i] = p->victims[i].name;
	for (size_t i = 1; i < k; i++)
		for (size_t j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
			const char *t = names[j];
			names[j] = names[j - 1];
			names[j - 1] = t;
		}
	victims[0] = '\0';
	for (size_t i = 0; i < k; i++) {
		strncat(victims, names[i], len - strlen(victims) - 2);
		if (i + 1 < k)
			strcat(victims, ",");
	}
	return p;
}

static void test_fewest_victims_then_lowest_priority(void **state)
{
	wf_sched *s = *state;
	wf_sched_decision d[16];
	char v[256];
	node(s, "n1", 8, 64, 0, "", "");
	victim(s, "a", "n1", 4, 10, NULL);
	victim(s, "b", "n1", 2, 1, NULL);
	victim(s, "c", "n1", 2, 1, NULL);
	preemptor(s, "hi", 4, 100, "");
	int n = run(s, 1000, d, NELEM(d));
	const wf_sched_decision *p = preempt_of(d, n, "hi", v, sizeof(v));
	assert_non_null(p);
	/* One victim beats two, even of lower priority. */
	assert_string_equal(v, "a");
	assert_string_equal(p->node, "n1");
	assert_int_equal(p->priority, 100);
	assert_string_equal(p->victims[0].ns, "default");
	/* The pod also gets its (pre-preemption) reason. */
	const wf_sched_decision *u = find(d, n, "hi", WF_SCHED_DEC_UNSCHEDULABLE);
	assert_non_null(u);
	assert_string_equal(u->message, "0/1 nodes are available: 1 Insufficient cpu.");
	wf_sched_pod_info info;
	assert_true(wf_sched_pod_info_get(s, "default", "a", &info));
	assert_true(info.terminating);
	assert_true(wf_sched_pod_info_get(s, "default", "hi", &info));
	assert_string_equal(info.nominated_node, "n1");

	/* Among single victims, the lowest priority. */
	wf_sched *t = wf_sched_new(NULL);
	node(t, "n1", 8, 64, 0, "", "");
	node(t, "n2", 8, 64, 0, "", "");
	victim(t, "x", "n1", 8, 7, NULL);
	victim(t, "y", "n2", 8, 3, NULL);
	preemptor(t, "hi", 4, 100, "");
	n = run(t, 1000, d, NELEM(d));
	p = preempt_of(d, n, "hi", v, sizeof(v));
	assert_non_null(p);
	assert_string_equal(v, "y");
	assert_string_equal(p->node, "n2");
	wf_sched_free(t);
}

static void test_node_with_fewest_victims(void **state)
{
	wf_sched *s = *state;
	wf_sched_decision d[16];
	char v[256];
	node(s, "n1", 8, 64, 0, "", "");
	node(s, "n2", 8, 64, 0, "", "");
	for (int i = 0; i < 4; i++) {
		char name[8];
		snprintf(name, sizeof(name), "s%d", i);
		victim(s, name, "n1", 2, 0, NULL);
	}
	victim(s, "m0", "n2", 4, 5, NULL);
	victim(s, "m1", "n2", 4, 5, NULL);
	preemptor(s, "hi", 6, 100, "");
	int n = run(s, 1000, d, NELEM(d));
	const wf_sched_decision *p = preempt_of(d, n, "hi", v, sizeof(v));
	assert_non_null(p);
	/* 6 cpu: both of n2's pods (2 victims) rather than 3 of n1's. */
	assert_string_equal(p->node, "n2");
	assert_string_equal(v, "m0,m1");
}

static void test_exact_minimum_priority_sum(void **state)
{
	wf_sched *s = *state;
	wf_sched_decision d[16];
	char v[256];
	node(s, "n", 12, 64, 0, "", "");
	victim(s, "big1", "n", 3, 1, NULL);
	victim(s, "big2", "n", 3, 1, NULL);
	victim(s, "sm1", "n", 2, 5, NULL);
	victim(s, "sm2", "n", 2, 5, NULL);
	victim(s, "sm3", "n", 2, 5, NULL);
	/* 12 - 12 used; need 4: no single pod covers it, every pair does; the
	 * pair of lowest total priority is big1+big2. */
	preemptor(s, "hi", 4, 100, "");
	int n = run(s, 1000, d, NELEM(d));
	assert_non_null(preempt_of(d, n, "hi", v, sizeof(v)));
	assert_string_equal(v, "big1,big2");
}

static void test_greedy_on_crowded_node(void **state)
{
	wf_sched *s = *state;
	wf_sched_decision d[16];
	char v[256];
	node(s, "n", 20, 64, 0, "", "");
	for (int i = 0; i < 20; i++) {
		char name[8];
		snprintf(name, sizeof(name), "p%02d", i);
		victim(s, name, "n", 1, 20 - i, NULL);
	}
	preemptor(s, "hi", 3, 100, "");
	int n = run(s, 1000, d, NELEM(d));
	assert_non_null(preempt_of(d, n, "hi", v, sizeof(v)));
	/* 20 units: the greedy path; the three lowest priorities. */
	assert_string_equal(v, "p17,p18,p19");
}

static void test_only_lower_priority(void **state)
{
	wf_sched *s = *state;
	wf_sched_decision d[16];
	node(s, "n", 4, 64, 0, "", "");
	node(s, "tainted", 4, 64, 0, "", "[{'key':'k','effect':'NoSchedule'}]");
	victim(s, "same", "n", 4, 100, NULL);
	victim(s, "other", "tainted", 4, 0, NULL);
	preemptor(s, "hi", 4, 100, "");
	int n = run(s, 1000, d, NELEM(d));
	assert_null(find(d, n, "hi", WF_SCHED_DEC_PREEMPT));
	const wf_sched_decision *u = find(d, n, "hi", WF_SCHED_DEC_UNSCHEDULABLE);
	assert_non_null(u);
	assert_string_equal(u->message,
			    "0/2 nodes are available: 1 Insufficient cpu, 1 node(s) had "
			    "untolerated taint {k: }. preemption: 0/2 nodes are available: 1 No "
			    "preemption victims found for incoming pod, 1 Preemption is not "
			    "helpful for scheduling.");
	/* preemptionPolicy Never: not even tried. */
	victim(s, "low", "n", 0, 0, NULL);
	assert_int_equal(wf_sched_pod_remove(s, "default", "same", NULL), 0);
	victim(s, "same", "n", 4, 1, NULL);
	preemptor(s, "never", 4, 100, "'preemptionPolicy':'Never'");
	n = run(s, 100000, d, NELEM(d));
	assert_null(find(d, n, "never", WF_SCHED_DEC_PREEMPT));
	u = find(d, n, "never", WF_SCHED_DEC_UNSCHEDULABLE);
	assert_non_null(u);
	assert_non_null(strstr(u->message, "preemption: not eligible due to "
					   "preemptionPolicy=Never."));
}

static void test_gang_is_one_victim(void **state)
{
	wf_sched *s = *state;
	wf_sched_decision d[16];
	char v[256];
	node(s, "x", 4, 64, 0, "", "");
	node(s, "y", 4, 64, 0, "", "");
	node(s, "z", 4, 64, 0, "", "");
	group(s, "g", 3, 0);
	/* Gang g: two members on x (2 cpu each), one on y. */
	victim(s, "g0", "x", 2, 1, "g");
	victim(s, "g1", "x", 2, 1, "g");
	victim(s, "g2", "y", 4, 1, "g");
	/* z: two lone pods of priority 0. */
	victim(s, "l0", "z", 2, 0, NULL);
	victim(s, "l1", "z", 2, 0, NULL);
	preemptor(s, "hi", 4, 100, "");
	int n = run(s, 1000, d, NELEM(d));
	const wf_sched_decision *p = preempt_of(d, n, "hi", v, sizeof(v));
	assert_non_null(p);
	/* x frees 4 cpu with one victim unit (the gang) - and y's member goes
	 * with it - against two victims on z (or the whole gang via y). */
	assert_true(strcmp(p->node, "x") == 0 || strcmp(p->node, "y") == 0);
	assert_string_equal(v, "g0,g1,g2");
	wf_sched_pod_info info;
	assert_true(wf_sched_pod_info_get(s, "default", "g2", &info));
	assert_true(info.terminating);

	/* A gang with a member at the preemptor's priority is not evictable. */
	wf_sched *t = wf_sched_new(NULL);
	node(t, "x", 4, 64, 0, "", "");
	node(t, "y", 4, 64, 0, "", "");
	group(t, "g", 2, 0);
	victim(t, "g0", "x", 4, 1, "g");
	victim(t, "g1", "y", 4, 100, "g");
	preemptor(t, "hi", 4, 100, "");
	n = run(t, 1000, d, NELEM(d));
	assert_null(find(d, n, "hi", WF_SCHED_DEC_PREEMPT));
	wf_sched_free(t);
}

static void test_nomination_hold(void **state)
{
	wf_sched *s = *state;
	wf_sched_decision d[16];
	char v[256];
	node(s, "n", 4, 64, 0, "", "");
	victim(s, "low", "n", 4, 0, NULL);
	preemptor(s, "hi", 4, 100, "");
	int n = run(s, 1000, d, NELEM(d));
	assert_non_null(preempt_of(d, n, "hi", v, sizeof(v)));
	assert_string_equal(v, "low");

	/* Victims still terminating: the preemptor waits, it does not preempt
	 * again (and the terminating pod is not a victim twice). */
	node(s, "n", 4, 65, 0, "", ""); /* any relevant event */
	n = run(s, 2000, d, NELEM(d));
	assert_null(find(d, n, "hi", WF_SCHED_DEC_PREEMPT));
	const wf_sched_decision *u = find(d, n, "hi", WF_SCHED_DEC_UNSCHEDULABLE);
	assert_non_null(u);
	assert_string_equal(u->message, "0/1 nodes are available: 1 Insufficient cpu. "
					"preemption: not eligible due to a terminating pod on the "
					"nominated node.");

	/* The victim is gone; a lower-priority pod arrives first but may not
	 * take the held capacity... */
	assert_int_equal(wf_sched_pod_remove(s, "default", "low", NULL), 0);
	preemptor(s, "mid", 4, 50, "");
	n = run(s, 2500, d, NELEM(d));
	u = find(d, n, "mid", WF_SCHED_DEC_UNSCHEDULABLE);
	assert_non_null(u);
	assert_string_equal(u->message, "0/1 nodes are available: 1 Insufficient cpu. "
					"preemption: 0/1 nodes are available: 1 No preemption "
					"victims found for incoming pod.");
	assert_null(find(d, n, "mid", WF_SCHED_DEC_BIND));
	/* ...and the preemptor, offered the freed capacity, binds to its node
	 * at once, its back-off notwithstanding. */
	const wf_sched_decision *b = find(d, n, "hi", WF_SCHED_DEC_BIND);
	assert_non_null(b);
	assert_string_equal(b->node, "n");
	wf_sched_pod_info info;
	assert_true(wf_sched_pod_info_get(s, "default", "hi", &info));
	assert_null(info.nominated_node);
}

static void test_nomination_vs_higher_and_expiry(void **state)
{
	wf_sched_config cfg;
	wf_sched_config_default(&cfg);
	cfg.nomination_ttl_ms = 10000;
	cfg.backoff_initial_ms = cfg.backoff_max_ms = 60000;
	wf_sched *s = wf_sched_new(&cfg);
	wf_sched_decision d[16];
	char v[256];
	node(s, "n", 4, 64, 0, "", "");
	victim(s, "low-a", "n", 2, 0, NULL);
	victim(s, "low-b", "n", 2, 0, NULL);
	preemptor(s, "hi", 4, 100, "");
	int n = run(s, 1000, d, NELEM(d));
	assert_non_null(preempt_of(d, n, "hi", v, sizeof(v)));
	/* One victim is gone: 2 cpu free, not enough for hi, which waits out
	 * a long back-off. A higher priority pod is not held back by its
	 * nomination... */
	assert_int_equal(wf_sched_pod_remove(s, "default", "low-a", NULL), 0);
	preemptor(s, "top", 2, 1000, "");
	n = run(s, 1500, d, NELEM(d));
	assert_non_null(find(d, n, "top", WF_SCHED_DEC_BIND));
	assert_null(find(d, n, "hi", WF_SCHED_DEC_BIND));
	assert_int_equal(wf_sched_pod_remove(s, "default", "top", NULL), 0);
	/* ...a lower one is, until the nomination expires. */
	preemptor(s, "early", 2, 50, "");
	n = run(s, 5000, d, NELEM(d));
	assert_non_null(find(d, n, "early", WF_SCHED_DEC_UNSCHEDULABLE));
	wf_sched_pod_info info;
	assert_true(wf_sched_pod_info_get(s, "default", "hi", &info));
	assert_string_equal(info.nominated_node, "n");
	preemptor(s, "late", 2, 50, "");
	n = run(s, 11000, d, NELEM(d));
	assert_non_null(find(d, n, "late", WF_SCHED_DEC_BIND));
	assert_true(wf_sched_pod_info_get(s, "default", "hi", &info));
	assert_null(info.nominated_node);
	wf_sched_free(s);
}

static void test_nomination_cleared_when_hopeless(void **state)
{
	wf_sched *s = *state;
	wf_sched_decision d[16];
	char v[256];
	node(s, "n", 4, 64, 0, "", "");
	victim(s, "low", "n", 4, 0, NULL);
	preemptor(s, "hi", 4, 100, "");
	int n = run(s, 1000, d, NELEM(d));
	assert_non_null(preempt_of(d, n, "hi", v, sizeof(v)));
	assert_int_equal(wf_sched_pod_remove(s, "default", "low", NULL), 0);
	/* hi now needs a label no node has: its next attempt drops the hold. */
	preemptor(s, "hi", 4, 100, "'nodeSelector':{'never':'there'}");
	preemptor(s, "mid", 4, 50, "");
	n = run(s, 2000, d, NELEM(d));
	/* hi (first by priority) gives the hold up; mid takes the node. */
	assert_int_equal(n, 2);
	assert_string_equal(d[0].name, "hi");
	assert_int_equal(d[0].kind, WF_SCHED_DEC_UNSCHEDULABLE);
	assert_non_null(find(d, n, "mid", WF_SCHED_DEC_BIND));
	wf_sched_pod_info info;
	assert_true(wf_sched_pod_info_get(s, "default", "hi", &info));
	assert_null(info.nominated_node);
}

static void test_gang_preemptor(void **state)
{
	wf_sched *s = *state;
	wf_sched_decision d[32];
	node(s, "n1", 4, 64, 0, "", "");
	node(s, "n2", 4, 64, 0, "", "");
	node(s, "n3", 4, 64, 0, "", "");
	victim(s, "low1", "n1", 4, 0, NULL);
	victim(s, "low2", "n2", 2, 0, NULL);
	victim(s, "keep", "n3", 4, 500, NULL);
	group(s, "train", 2, 0);
	for (int i = 0; i < 2; i++) {
		char js[512];
		snprintf(js, sizeof(js),
			 "{'metadata':{'name':'t%d','labels':{'scheduling.x-k8s.io/pod-group':"
			 "'train'}},'spec':{'priority':100,'containers':[{'resources':{'requests':"
			 "{'cpu':'4'}}}]}}",
			 i);
		add_pod(s, js);
	}
	int n = run(s, 1000, d, NELEM(d));
	/* Room for the whole gang: both low pods go, never "keep". */
	assert_int_equal(count(d, n, WF_SCHED_DEC_PREEMPT), 2);
	assert_int_equal(count(d, n, WF_SCHED_DEC_BIND), 0);
	int nv = 0;
	for (int i = 0; i < n; i++) {
		if (d[i].kind != WF_SCHED_DEC_PREEMPT)
			continue;
		assert_string_not_equal(d[i].node, "n3");
		for (size_t k = 0; k < d[i].nvictims; k++) {
			assert_string_not_equal(d[i].victims[k].name, "keep");
			nv++;
		}
	}
	assert_int_equal(nv, 2);
	/* Nothing is held by the gang itself meanwhile. */
	int64_t a, u;
	assert_true(wf_sched_node_usage(s, "n1", "cpu", &a, &u));
	assert_int_equal(u, 4000);
	assert_int_equal(wf_sched_pod_remove(s, "default", "low1", NULL), 0);
	assert_int_equal(wf_sched_pod_remove(s, "default", "low2", NULL), 0);
	n = run(s, 5000, d, NELEM(d));
	assert_int_equal(count(d, n, WF_SCHED_DEC_BIND), 2);

	/* A gang that cannot fit even by preempting preempts nothing. */
	wf_sched *t = wf_sched_new(NULL);
	node(t, "n1", 4, 64, 0, "", "");
	victim(t, "low1", "n1", 4, 0, NULL);
	group(t, "big", 2, 0);
	for (int i = 0; i < 2; i++) {
		char js[512];
		snprintf(js, sizeof(js),
			 "{'metadata':{'name':'b%d','labels':{'scheduling.x-k8s.io/pod-group':"
			 "'big'}},'spec':{'priority':100,'containers':[{'resources':{'requests':"
			 "{'cpu':'4'}}}]}}",
			 i);
		add_pod(t, js);
	}
	n = run(t, 1000, d, NELEM(d));
	assert_int_equal(count(d, n, WF_SCHED_DEC_PREEMPT), 0);
	assert_int_equal(count(d, n, WF_SCHED_DEC_UNSCHEDULABLE), 2);
	wf_sched_pod_info info;
	assert_true(wf_sched_pod_info_get(t, "default", "low1", &info));
	assert_false(info.terminating);
	assert_int_equal(info.state, WF_SCHED_POD_BOUND);
	assert_true(wf_sched_node_usage(t, "n1", "cpu", &a, &u));
	assert_int_equal(u, 4000);
	wf_sched_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_fewest_victims_then_lowest_priority, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_node_with_fewest_victims, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_exact_minimum_priority_sum, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_greedy_on_crowded_node, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_only_lower_priority, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_gang_is_one_victim, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_nomination_hold, setup, teardown),
	    cmocka_unit_test(test_nomination_vs_higher_and_expiry),
	    cmocka_unit_test_setup_teardown(test_nomination_cleared_when_hopeless, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_gang_preemptor, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
