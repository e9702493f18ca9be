/*
 * test_sched_queue.c - the scheduling queue and the driver protocol:
 * priority order, back-off, re-queueing only on relevant changes (a parked
 * pod is not retried while nothing changes), the periodic flush, assume /
 * confirm / bind failure, decision batching, the unschedulable message in
 * kube-scheduler's format, and the queue state exposed for tests.
 */
#include "sched_fixtures.h"

/* ---- order ---------------------------------------------------------------------------- */

static void test_priority_then_age(void **state)
{
	wf_sched *s = *state;
	node(s, "n", 64, 64, 0, "", "");
	prio_pod(s, "low-old", 0, "2026-01-01T00:00:00Z", 100);
	prio_pod(s, "high-new", 100, "2026-01-03T00:00:00Z", 100);
	prio_pod(s, "mid", 50, "2026-01-02T00:00:00Z", 100);
	prio_pod(s, "high-old", 100, "2026-01-01T00:00:00Z", 100);
	prio_pod(s, "low-new", 0, "2026-01-02T00:00:00Z", 100);
	prio_pod(s, "neg", -5, "2025-01-01T00:00:00Z", 100);
	wf_sched_decision d[8];
	int n = run(s, 1000, d, NELEM(d));
	assert_int_equal(n, 6);
	const char *want[] = {"high-old", "high-new", "mid", "low-old", "low-new", "neg"};
	for (int i = 0; i < 6; i++) {
		assert_int_equal(d[i].kind, WF_SCHED_DEC_BIND);
		assert_string_equal(d[i].name, want[i]);
	}
	assert_int_equal(d[0].priority, 100);
	assert_int_equal(d[5].priority, -5);
}

static void test_decisions_batched(void **state)
{
	wf_sched *s = *state;
	node(s, "n", 64, 64, 0, "", "");
	for (int i = 0; i < 5; i++) {
		char name[8];
		snprintf(name, sizeof(name), "p%d", i);
		pod(s, name, 100, 0, "");
	}
	wf_sched_decision d[2];
	assert_int_equal(run(s, 1000, d, 2), 2);
	assert_string_equal(d[0].name, "p0");
	assert_int_equal(run(s, 1000, d, 2), 2);
	assert_string_equal(d[1].name, "p3");
	assert_int_equal(run(s, 1000, d, 2), 1);
	assert_int_equal(run(s, 1000, d, 2), 0);
	assert_int_equal(run(s, 1000, NULL, 0), 0);
	assert_int_equal(wf_sched_schedule(s, 1000, NULL, 4), -WF_EINVAL);
	assert_int_equal(wf_sched_schedule(NULL, 1000, d, 2), -WF_EINVAL);
}

/* ---- re-queueing ------------------------------------------------------------------------ */

static void test_not_retried_without_change(void **state)
{
	wf_sched *s = *state;
	wf_sched_decision d[8];
	node(s, "small", 2, 8, 0, "'zone':'a'", "");
	pod(s, "big", 4000, 0, "");
	assert_int_equal(state_of(s, "big"), WF_SCHED_POD_ACTIVE);
	assert_int_equal(run(s, 1000, d, NELEM(d)), 1);
	assert_int_equal(d[0].kind, WF_SCHED_DEC_UNSCHEDULABLE);
	assert_int_equal(attempts_of(s, "big"), 1);
	assert_int_equal(state_of(s, "big"), WF_SCHED_POD_UNSCHEDULABLE);

	/* Nothing changes: many cycles later, still one attempt. */
	for (int64_t t = 1001; t < 200000; t += 997)
		assert_int_equal(run(s, t, d, NELEM(d)), 0);
	assert_int_equal(attempts_of(s, "big"), 1);
	wf_sched_stats st;
	wf_sched_stats_get(s, &st);
	assert_int_equal(st.unschedulable, 1);
	assert_int_equal(st.active + st.backoff, 0);
	assert_int_equal(st.cycles, 1);

	/* Irrelevant changes: a label (the pod has no affinity), an unrelated
	 * pending pod arriving and binding, a cordon. */
	node(s, "small", 2, 8, 0, "'zone':'b'", "");
	pod(s, "tiny", 10, 0, "");
	assert_int_equal(run(s, 200000, d, NELEM(d)), 1);
	assert_int_equal(d[0].kind, WF_SCHED_DEC_BIND);
	assert_int_equal(attempts_of(s, "big"), 1);

	/* A relevant change: more capacity. */
	node(s, "small", 8, 8, 0, "'zone':'b'", "");
	assert_int_equal(state_of(s, "big"), WF_SCHED_POD_BACKOFF);
	assert_int_equal(run(s, 200001, d, NELEM(d)), 1);
	assert_int_equal(d[0].kind, WF_SCHED_DEC_BIND);
	assert_string_equal(d[0].name, "big");
	assert_int_equal(state_of(s, "big"), WF_SCHED_POD_ASSUMED);
}

static void test_requeue_matches_failure(void **state)
{
	wf_sched *s = *state;
	wf_sched_decision d[8];
	node(s, "n", 4, 8, 0, "'zone':'a'", "");
	add_pod(s, "{'metadata':{'name':'hog'},'spec':{'nodeName':'n','containers':[{'resources':"
		   "{'requests':{'cpu':'4'}}}]}}");
	pod(s, "needs-cpu", 1000, 0, "");
	pod(s, "needs-zone", 10, 0, "'nodeSelector':{'zone':'b'}");
	assert_int_equal(run(s, 1000, d, NELEM(d)), 2);
	assert_int_equal(state_of(s, "needs-cpu"), WF_SCHED_POD_UNSCHEDULABLE);
	assert_int_equal(state_of(s, "needs-zone"), WF_SCHED_POD_UNSCHEDULABLE);

	/* A pod deleted frees cpu: only the cpu-starved pod is offered it. */
	assert_int_equal(wf_sched_pod_remove(s, "default", "hog", NULL), 0);
	assert_int_equal(state_of(s, "needs-zone"), WF_SCHED_POD_UNSCHEDULABLE);
	assert_int_equal(run(s, 5000, d, NELEM(d)), 1);
	assert_string_equal(d[0].name, "needs-cpu");
	assert_int_equal(d[0].kind, WF_SCHED_DEC_BIND);
	assert_int_equal(attempts_of(s, "needs-zone"), 1);

	/* A label change: only the affinity-failing pod moves. */
	node(s, "n", 4, 8, 0, "'zone':'b'", "");
	assert_int_equal(state_of(s, "needs-zone"), WF_SCHED_POD_BACKOFF);
	assert_int_equal(run(s, 6000, d, NELEM(d)), 1);
	assert_string_equal(d[0].name, "needs-zone");
	assert_int_equal(d[0].kind, WF_SCHED_DEC_BIND);
}

static void test_backoff_doubles_and_caps(void **state)
{
	wf_sched *s = *state;
	wf_sched_decision d[8];
	node(s, "n", 1, 8, 0, "", "");
	pod(s, "p", 2000, 0, "");
	int64_t t = 1000;
	int64_t want[] = {1000, 2000, 4000, 8000, 10000, 10000};
	for (size_t i = 0; i < NELEM(want); i++) {
		assert_int_equal(run(s, t, d, NELEM(d)), 1);
		assert_int_equal(d[0].kind, WF_SCHED_DEC_UNSCHEDULABLE);
		/* An event moves it out of the pool; it waits out its back-off. */
		node(s, "n", 1, 8, 0, "", "");
		node(s, "n", 1, 9, 0, "", "");
		assert_int_equal(state_of(s, "p"), WF_SCHED_POD_BACKOFF);
		assert_int_equal(run(s, t + want[i] - 1, d, NELEM(d)), 0);
		t += want[i];
	}
	assert_int_equal(attempts_of(s, "p"), NELEM(want));
}

static void test_flush_after_five_minutes(void **state)
{
	wf_sched *s = *state;
	wf_sched_decision d[8];
	node(s, "n", 1, 8, 0, "", "");
	pod(s, "p", 2000, 0, "");
	assert_int_equal(run(s, 1000, d, NELEM(d)), 1);
	assert_int_equal(run(s, 300999, d, NELEM(d)), 0);
	assert_int_equal(run(s, 301000, d, NELEM(d)), 1);
	assert_int_equal(attempts_of(s, "p"), 2);
}

static void test_pod_update_requeues(void **state)
{
	wf_sched *s = *state;
	wf_sched_decision d[8];
	node(s, "n", 8, 8, 0, "", "[{'key':'gpu','value':'reserved','effect':'NoSchedule'}]");
	pod(s, "p", 100, 0, "");
	assert_int_equal(run(s, 1000, d, NELEM(d)), 1);
	assert_int_equal(state_of(s, "p"), WF_SCHED_POD_UNSCHEDULABLE);
	/* The same spec again is not a change. */
	pod(s, "p", 100, 0, "");
	assert_int_equal(state_of(s, "p"), WF_SCHED_POD_UNSCHEDULABLE);
	/* New tolerations are: the pod goes to back-off, then binds. */
	pod(s, "p", 100, 0, "'tolerations':[{'key':'gpu','operator':'Exists'}]");
	assert_int_equal(state_of(s, "p"), WF_SCHED_POD_BACKOFF);
	assert_int_equal(run(s, 1500, d, NELEM(d)), 0);
	assert_int_equal(run(s, 2000, d, NELEM(d)), 1);
	assert_int_equal(d[0].kind, WF_SCHED_DEC_BIND);
}

static void test_deletion_requeues_only_what_fits(void **state)
{
	wf_sched *s = *state;
	wf_sched_decision d[8];
	node(s, "n", 64, 256, 8, "", "");
	add_pod(s, "{'metadata':{'name':'x'},'spec':{'nodeName':'n','containers':[{'resources':"
		   "{'limits':{'nvidia.com/gpu':'1'}}}]}}");
	add_pod(s, "{'metadata':{'name':'y'},'spec':{'nodeName':'n','containers':[{'resources':"
		   "{'limits':{'nvidia.com/gpu':'7'}}}]}}");
	pod(s, "big", 100, 9, "");
	pod(s, "two", 100, 2, "");
	assert_int_equal(run(s, 1000, d, NELEM(d)), 2);
	/* One GPU freed: neither fits on n yet, so neither is retried. */
	assert_int_equal(wf_sched_pod_remove(s, "default", "x", NULL), 0);
	assert_int_equal(state_of(s, "two"), WF_SCHED_POD_UNSCHEDULABLE);
	assert_int_equal(state_of(s, "big"), WF_SCHED_POD_UNSCHEDULABLE);
	assert_int_equal(run(s, 5000, d, NELEM(d)), 0);
	assert_int_equal(attempts_of(s, "two"), 1);
	/* Eight free: two fits, big never will on n. */
	assert_int_equal(wf_sched_pod_remove(s, "default", "y", NULL), 0);
	assert_int_equal(state_of(s, "big"), WF_SCHED_POD_UNSCHEDULABLE);
	assert_int_equal(run(s, 5000, d, NELEM(d)), 1);
	assert_string_equal(d[0].name, "two");
	assert_int_equal(d[0].kind, WF_SCHED_DEC_BIND);
	assert_int_equal(attempts_of(s, "big"), 1);
}

/* Freed capacity goes to the best parked pod that fits, at once (its
 * back-off notwithstanding), and only as many pods are tried as fit. */
static void test_freed_capacity_offered_best_first(void **state)
{
	wf_sched *s = *state;
	wf_sched_decision d[16];
	char name[16];
	node(s, "n", 64, 256, 2, "", "");
	pod(s, "hold-0", 100, 1, "'priority':100"); /* nothing here may preempt them */
	pod(s, "hold-1", 100, 1, "'priority':100");
	assert_int_equal(run(s, 1000, d, NELEM(d)), 2);
	for (int i = 0; i < 5; i++) {
		snprintf(name, sizeof(name), "w%d", i);
		pod(s, name, 100, 1, "");
	}
	pod(s, "urgent", 100, 1, "'priority':10");
	assert_int_equal(run(s, 1000, d, NELEM(d)), 6);
	for (int i = 0; i < 6; i++)
		assert_int_equal(d[i].kind, WF_SCHED_DEC_UNSCHEDULABLE);
	/* One GPU frees up 1 ms later, long before any back-off ends: the
	 * highest priority takes it, and no other pod is tried. */
	assert_int_equal(wf_sched_pod_remove(s, "default", "hold-0", NULL), 0);
	assert_int_equal(run(s, 1001, d, NELEM(d)), 1);
	assert_int_equal(d[0].kind, WF_SCHED_DEC_BIND);
	assert_string_equal(d[0].name, "urgent");
	for (int i = 0; i < 5; i++) {
		snprintf(name, sizeof(name), "w%d", i);
		assert_int_equal(attempts_of(s, name), 1);
		assert_int_equal(state_of(s, name), WF_SCHED_POD_UNSCHEDULABLE);
	}
	assert_int_equal(run(s, 1002, d, NELEM(d)), 0);
	/* Two GPUs free: the two oldest take them, the rest stay parked. */
	assert_int_equal(wf_sched_pod_remove(s, "default", "hold-1", NULL), 0);
	assert_int_equal(wf_sched_pod_remove(s, "default", "urgent", NULL), 0);
	assert_int_equal(run(s, 1003, d, NELEM(d)), 2);
	assert_string_equal(d[0].name, "w0");
	assert_string_equal(d[1].name, "w1");
	assert_int_equal(d[1].kind, WF_SCHED_DEC_BIND);
	assert_int_equal(attempts_of(s, "w2"), 1);
	assert_int_equal(attempts_of(s, "w4"), 1);
}

static void test_assumed_on_removed_node(void **state)
{
	wf_sched *s = *state;
	wf_sched_decision d[8];
	int64_t a, u;
	node(s, "n", 4, 8, 0, "", "");
	pod(s, "p", 1000, 0, "");
	assert_int_equal(run(s, 1000, d, NELEM(d)), 1);
	assert_int_equal(d[0].kind, WF_SCHED_DEC_BIND);
	/* The node goes while the bind is in flight; the pod is updated. */
	assert_int_equal(wf_sched_node_remove(s, "n", NULL), 0);
	pod(s, "p", 1000, 0, "'priority':5");
	assert_int_equal(state_of(s, "p"), WF_SCHED_POD_ASSUMED);
	assert_true(wf_sched_node_usage(s, "n", "cpu", &a, &u));
	assert_int_equal(u, 1000);
	/* The bind fails: the reservation and the placeholder node go. */
	assert_int_equal(wf_sched_bind_failed(s, "default", "p", 2000, NULL), 0);
	assert_false(wf_sched_node_usage(s, "n", "cpu", &a, &u));
	assert_int_equal(state_of(s, "p"), WF_SCHED_POD_BACKOFF);
	node(s, "n", 4, 8, 0, "", "");
	assert_int_equal(run(s, 10000, d, NELEM(d)), 1);
	assert_int_equal(d[0].kind, WF_SCHED_DEC_BIND);
}

/* ---- assume / confirm / fail -------------------------------------------------------- */

static void test_assume_confirm_fail(void **state)
{
	wf_sched *s = *state;
	wf_sched_decision d[8];
	wf_err err = {0};
	int64_t a, u;
	node(s, "n", 4, 8, 0, "", "");
	pod(s, "a", 3000, 0, "");
	pod(s, "b", 3000, 0, "");
	assert_int_equal(run(s, 1000, d, NELEM(d)), 2);
	assert_int_equal(d[0].kind, WF_SCHED_DEC_BIND);
	/* b sees a's assumed reservation. */
	assert_int_equal(d[1].kind, WF_SCHED_DEC_UNSCHEDULABLE);
	assert_string_equal(d[1].name, "b");
	assert_true(wf_sched_node_usage(s, "n", "cpu", &a, &u));
	assert_int_equal(u, 3000);

	assert_int_equal(wf_sched_bound(s, "default", "b", &err), -WF_EINVAL);
	assert_int_equal(wf_sched_bound(s, "default", "zz", &err), -WF_ENOENT);
	assert_int_equal(wf_sched_bind_failed(s, "default", "b", 1000, &err), -WF_EINVAL);

	/* The bind fails: a's reservation goes, b may now take it. */
	assert_int_equal(wf_sched_bind_failed(s, "default", "a", 1000, &err), 0);
	assert_true(wf_sched_node_usage(s, "n", "cpu", &a, &u));
	assert_int_equal(u, 0);
	assert_int_equal(state_of(s, "a"), WF_SCHED_POD_BACKOFF);
	assert_int_equal(state_of(s, "b"), WF_SCHED_POD_UNSCHEDULABLE);
	/* a's back-off ends first; the freed cpu is then offered to b, which
	 * no longer fits, so b is not tried again. */
	int n = run(s, 2000, d, NELEM(d));
	assert_int_equal(n, 1);
	assert_string_equal(d[0].name, "a");
	assert_int_equal(d[0].kind, WF_SCHED_DEC_BIND);
	assert_int_equal(attempts_of(s, "b"), 1);

	/* The watch shows a bound to n: the assumption is confirmed. */
	add_pod(s, "{'metadata':{'name':'a'},'spec':{'nodeName':'n','containers':[{'resources':"
		   "{'requests':{'cpu':'3'}}}]}}");
	assert_int_equal(state_of(s, "a"), WF_SCHED_POD_BOUND);
	assert_true(wf_sched_node_usage(s, "n", "cpu", &a, &u));
	assert_int_equal(u, 3000);
	assert_int_equal(wf_sched_bound(s, "default", "a", &err), 0);
	wf_sched_stats st;
	wf_sched_stats_get(s, &st);
	assert_int_equal(st.bound, 1);
	assert_int_equal(st.assumed, 0);
	assert_int_equal(st.unschedulable, 1);

	/* Terminal pods free their resources. */
	add_pod(s, "{'metadata':{'name':'a'},'spec':{'nodeName':'n','containers':[{}]},"
		   "'status':{'phase':'Succeeded'}}");
	assert_false(wf_sched_pod_info_get(s, "default", "a", &(wf_sched_pod_info){0}));
	assert_true(wf_sched_node_usage(s, "n", "cpu", &a, &u));
	assert_int_equal(u, 0);
	n = run(s, 10000, d, NELEM(d));
	assert_int_equal(n, 1);
	assert_string_equal(d[0].name, "b");
	assert_int_equal(d[0].kind, WF_SCHED_DEC_BIND);
}

static void test_nodes_come_and_go(void **state)
{
	wf_sched *s = *state;
	wf_sched_decision d[8];
	int64_t a, u;
	/* Pods bound to a node not seen yet are held for it. */
	add_pod(s, "{'metadata':{'name':'early'},'spec':{'nodeName':'late','containers':[{"
		   "'resources':{'requests':{'cpu':'3'}}}]}}");
	assert_true(wf_sched_node_usage(s, "late", "cpu", &a, &u));
	assert_int_equal(a, 0);
	assert_int_equal(u, 3000);
	pod(s, "p", 2000, 0, "");
	assert_int_equal(run(s, 1000, d, NELEM(d)), 1);
	assert_string_equal(d[0].message, "no nodes available to schedule pods");
	node(s, "late", 4, 8, 0, "", "");
	assert_int_equal(run(s, 2000, d, NELEM(d)), 1);
	assert_int_equal(d[0].kind, WF_SCHED_DEC_UNSCHEDULABLE);
	assert_string_equal(d[0].message,
			    "0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes "
			    "are available: 1 No preemption victims found for incoming pod.");
	/* Removing the node keeps the bound pod's usage until it is removed. */
	assert_int_equal(wf_sched_node_remove(s, "late", NULL), 0);
	assert_int_equal(wf_sched_node_remove(s, "late", NULL), -WF_ENOENT);
	assert_true(wf_sched_node_usage(s, "late", "cpu", &a, &u));
	assert_int_equal(u, 3000);
	wf_sched_stats st;
	wf_sched_stats_get(s, &st);
	assert_int_equal(st.nodes, 0);
	assert_int_equal(st.node_classes, 0);
	assert_int_equal(wf_sched_pod_remove(s, "default", "early", NULL), 0);
	assert_false(wf_sched_node_usage(s, "late", "cpu", &a, &u));
	node(s, "late", 4, 8, 0, "", "");
	assert_int_equal(run(s, 10000, d, NELEM(d)), 1);
	assert_int_equal(d[0].kind, WF_SCHED_DEC_BIND);
}

/* ---- the message ------------------------------------------------------------------------ */

static void test_message_format(void **state)
{
	wf_sched *s = *state;
	wf_sched_decision d[8];
	char name[16];
	/* The brief's cluster: 8 CPU nodes and 4 reserved GPU nodes. */
	for (int i = 0; i < 8; i++) {
		snprintf(name, sizeof(name), "c%d", i);
		node(s, name, 8, 32, 0, "", "");
	}
	for (int i = 0; i < 4; i++) {
		snprintf(name, sizeof(name), "g%d", i);
		node(s, name, 8, 32, 8, "",
		     "[{'key':'gpu','value':'reserved','effect':'NoSchedule'}]");
	}
	pod(s, "train", 1000, 1, "");
	assert_int_equal(run(s, 1000, d, NELEM(d)), 1);
	assert_int_equal(d[0].kind, WF_SCHED_DEC_UNSCHEDULABLE);
	assert_string_equal(
	    d[0].message, "0/12 nodes are available: 4 node(s) had untolerated taint {gpu: "
			  "reserved}, 8 Insufficient nvidia.com/gpu. preemption: 0/12 nodes are "
			  "available: 4 Preemption is not helpful for scheduling, 8 No preemption "
			  "victims found for incoming pod.");

	/* Counts sort as strings, as in kube-scheduler ("12 ..." before "4 ..."). */
	for (int i = 8; i < 12; i++) {
		snprintf(name, sizeof(name), "c%d", i);
		node(s, name, 8, 32, 0, "", "");
	}
	pod(s, "huge", 9000, 0, "'preemptionPolicy':'Never'");
	int n = run(s, 2000, d, NELEM(d));
	const wf_sched_decision *u = find(d, n, "huge", WF_SCHED_DEC_UNSCHEDULABLE);
	assert_non_null(u);
	assert_string_equal(u->message,
			    "0/16 nodes are available: 12 Insufficient cpu, 4 node(s) had "
			    "untolerated taint {gpu: reserved}. preemption: not eligible due to "
			    "preemptionPolicy=Never.");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_priority_then_age, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_decisions_batched, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_not_retried_without_change, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_requeue_matches_failure, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_backoff_doubles_and_caps, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_flush_after_five_minutes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_pod_update_requeues, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_deletion_requeues_only_what_fits, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_freed_capacity_offered_best_first, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_assumed_on_removed_node, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_assume_confirm_fail, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_nodes_come_and_go, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_message_format, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
