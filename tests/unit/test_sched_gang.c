/*
 * test_sched_gang.c - gang scheduling: all-or-nothing placement in one pass
 * (a gang that does not fit holds nothing; when room appears every member
 * is placed in the same call), waiting for minMember pods and for the
 * PodGroup itself, minMember smaller than the gang, two gangs competing for
 * the same GPUs (one placed whole, the other later, never both partly),
 * timeouts, and PodGroup status counts.
 */
#include "sched_fixtures.h"

static void test_all_or_nothing(void **state)
{
	wf_sched *s = *state;
	wf_sched_decision d[16];
	node(s, "g1", 32, 128, 2, "", "");
	node(s, "g2", 32, 128, 1, "", "");
	group(s, "train", 4, 0);
	for (int i = 0; i < 4; i++) {
		char name[16];
		snprintf(name, sizeof(name), "w%d", i);
		member(s, name, "train", 1, "2026-01-01T00:00:00Z");
	}
	/* 3 free GPUs for 4 members: nothing is placed, nothing held. */
	int n = run(s, 1000, d, NELEM(d));
	assert_int_equal(count(d, n, WF_SCHED_DEC_BIND), 0);
	assert_int_equal(count(d, n, WF_SCHED_DEC_UNSCHEDULABLE), 4);
	assert_non_null(strstr(d[0].message, "pod group \"default/train\": 3 of 4 pending pods "
					     "fit, minMember 4."));
	const char *fe = "0/2 nodes are available: 2 Insufficient nvidia.com/gpu. pod group";
	assert_int_equal(strncmp(d[0].message, fe, strlen(fe)), 0);
	assert_int_equal(gpus_used(s, "g1"), 0);
	assert_int_equal(gpus_used(s, "g2"), 0);
	wf_sched_group_info gi;
	assert_true(wf_sched_group_info_get(s, "default", "train", &gi));
	assert_int_equal(gi.pending, 4);
	assert_int_equal(gi.assumed + gi.bound, 0);
	assert_int_equal(gi.min_member, 4);
	wf_sched_stats st;
	wf_sched_stats_get(s, &st);
	assert_int_equal(st.assumed, 0);
	assert_int_equal(st.unschedulable, 4);
	assert_int_equal(st.cycles, 1); /* one gang attempt, not four */

	/* Not retried while nothing changes. */
	assert_int_equal(run(s, 100000, d, NELEM(d)), 0);

	/* A node arrives: all four are placed in one call. */
	node(s, "g3", 32, 128, 1, "", "");
	n = run(s, 100001, d, NELEM(d));
	assert_int_equal(n, 4);
	assert_int_equal(count(d, n, WF_SCHED_DEC_BIND), 4);
	assert_int_equal(gpus_used(s, "g1") + gpus_used(s, "g2") + gpus_used(s, "g3"), 4);
	assert_true(wf_sched_group_info_get(s, "default", "train", &gi));
	assert_int_equal(gi.assumed, 4);
	for (int i = 0; i < n; i++)
		assert_int_equal(wf_sched_bound(s, "default", d[i].name, NULL), 0);
	assert_true(wf_sched_group_info_get(s, "default", "train", &gi));
	assert_int_equal(gi.bound, 4);
	assert_int_equal(gi.pending, 0);
}

static void test_waits_for_min_member(void **state)
{
	wf_sched *s = *state;
	wf_sched_decision d[16];
	node(s, "g", 32, 128, 8, "", "");
	group(s, "job", 3, 0);
	member(s, "a", "job", 1, "2026-01-01T00:00:00Z");
	member(s, "b", "job", 1, "2026-01-01T00:00:00Z");
	int n = run(s, 1000, d, NELEM(d));
	assert_int_equal(n, 2);
	assert_int_equal(count(d, n, WF_SCHED_DEC_UNSCHEDULABLE), 2);
	assert_string_equal(d[0].message, "0/1 nodes are available: pod group \"default/job\" "
					  "has 2 of minMember 3 pods.");
	wf_sched_pod_info info;
	assert_true(wf_sched_pod_info_get(s, "default", "a", &info));
	assert_int_equal(info.state, WF_SCHED_POD_GANG_WAIT);
	assert_int_equal(info.attempts, 0);
	wf_sched_stats st;
	wf_sched_stats_get(s, &st);
	assert_int_equal(st.gang_wait, 2);
	assert_int_equal(gpus_used(s, "g"), 0);
	/* Waiting is not retried, nor re-reported. */
	assert_int_equal(run(s, 500000, d, NELEM(d)), 0);
	/* The third member arrives: placed at once, no back-off. */
	member(s, "c", "job", 1, "2026-01-01T00:00:00Z");
	n = run(s, 500000, d, NELEM(d));
	assert_int_equal(count(d, n, WF_SCHED_DEC_BIND), 3);
	assert_int_equal(n, 3);
}

static void test_group_defined_late(void **state)
{
	wf_sched *s = *state;
	wf_sched_decision d[16];
	node(s, "g", 32, 128, 8, "", "");
	/* Volcano's annotation names the group too. */
	add_pod(s, "{'metadata':{'name':'v0','annotations':{'scheduling.k8s.io/group-name':'vg'}},"
		   "'spec':{'containers':[{'resources':{'limits':{'nvidia.com/gpu':'1'}}}]}}");
	add_pod(s, "{'metadata':{'name':'v1','annotations':{'scheduling.k8s.io/group-name':'vg'}},"
		   "'spec':{'containers':[{'resources':{'limits':{'nvidia.com/gpu':'1'}}}]}}");
	int n = run(s, 1000, d, NELEM(d));
	assert_int_equal(n, 2);
	assert_string_equal(d[0].message,
			    "0/1 nodes are available: pod group \"default/vg\" not found.");
	wf_sched_group_info gi;
	assert_true(wf_sched_group_info_get(s, "default", "vg", &gi));
	assert_int_equal(gi.min_member, 0);
	assert_int_equal(gi.pending, 2);
	json_t *j = J("{'apiVersion':'scheduling.volcano.sh/v1beta1','kind':'PodGroup',"
		      "'metadata':{'name':'vg','namespace':'default'},'spec':{'minMember':2}}");
	wf_sched_group_spec g;
	assert_int_equal(wf_sched_group_from_json(j, &g, NULL), 0);
	assert_int_equal(wf_sched_group_upsert(s, &g, NULL), 0);
	wf_sched_group_spec_release(&g);
	json_decref(j);
	n = run(s, 1001, d, NELEM(d));
	assert_int_equal(count(d, n, WF_SCHED_DEC_BIND), 2);
	/* Removing the group: the gang would wait again; removing twice fails. */
	assert_int_equal(wf_sched_group_remove(s, "default", "vg", NULL), 0);
	assert_int_equal(wf_sched_group_remove(s, "default", "vg", NULL), -WF_ENOENT);
}

static void test_min_member_below_size(void **state)
{
	wf_sched *s = *state;
	wf_sched_decision d[16];
	node(s, "g", 32, 128, 3, "", "");
	group(s, "elastic", 2, 0);
	for (int i = 0; i < 4; i++) {
		char name[16];
		snprintf(name, sizeof(name), "e%d", i);
		member(s, name, "elastic", 1, "2026-01-01T00:00:00Z");
	}
	/* minMember 2 is met: 3 run now, the 4th waits for room. */
	int n = run(s, 1000, d, NELEM(d));
	assert_int_equal(count(d, n, WF_SCHED_DEC_BIND), 3);
	assert_int_equal(count(d, n, WF_SCHED_DEC_UNSCHEDULABLE), 1);
	assert_int_equal(gpus_used(s, "g"), 3);
	assert_int_equal(wf_sched_pod_remove(s, "default", "e0", NULL), 0);
	n = run(s, 5000, d, NELEM(d));
	assert_int_equal(count(d, n, WF_SCHED_DEC_BIND), 1);
	assert_string_equal(d[0].name, "e3");
}

static void test_competing_gangs(void **state)
{
	wf_sched *s = *state;
	wf_sched_decision d[32];
	node(s, "g1", 32, 128, 4, "", "");
	node(s, "g2", 32, 128, 4, "", "");
	group(s, "a", 6, 0);
	group(s, "b", 6, 0);
	/* Members arrive interleaved; a's are older. */
	for (int i = 0; i < 6; i++) {
		char name[16];
		snprintf(name, sizeof(name), "b%d", i);
		member(s, name, "b", 1, "2026-01-02T00:00:00Z");
		snprintf(name, sizeof(name), "a%d", i);
		member(s, name, "a", 1, "2026-01-01T00:00:00Z");
	}
	int n = run(s, 1000, d, NELEM(d));
	int bind_a = 0, bind_b = 0;
	for (int i = 0; i < n; i++) {
		if (d[i].kind != WF_SCHED_DEC_BIND)
			continue;
		bind_a += d[i].name[0] == 'a';
		bind_b += d[i].name[0] == 'b';
	}
	/* Exactly one gang placed whole; the other holds nothing. */
	assert_int_equal(bind_a, 6);
	assert_int_equal(bind_b, 0);
	assert_int_equal(gpus_used(s, "g1") + gpus_used(s, "g2"), 6);
	wf_sched_group_info gi;
	assert_true(wf_sched_group_info_get(s, "default", "b", &gi));
	assert_int_equal(gi.assumed + gi.bound, 0);
	assert_int_equal(gi.pending, 6);
	for (int i = 0; i < n; i++)
		if (d[i].kind == WF_SCHED_DEC_BIND)
			wf_sched_bound(s, d[i].ns, d[i].name, NULL);

	/* a finishes: b is placed whole, in one call. */
	for (int i = 0; i < 6; i++) {
		char name[16];
		snprintf(name, sizeof(name), "a%d", i);
		assert_int_equal(wf_sched_pod_remove(s, "default", name, NULL), 0);
	}
	n = run(s, 2000, d, NELEM(d));
	assert_int_equal(count(d, n, WF_SCHED_DEC_BIND), 6);
	assert_int_equal(gpus_used(s, "g1") + gpus_used(s, "g2"), 6);
	/* Bin-packing put them on as few nodes as possible: one full node. */
	assert_true(gpus_used(s, "g1") == 4 || gpus_used(s, "g2") == 4);
}

static void test_many_gangs_no_deadlock(void **state)
{
	wf_sched *s = *state;
	wf_sched_decision d[256];
	/* 8 gangs of 4 one-GPU pods on 12 GPUs: at most 3 fit at once. As gangs
	 * finish, the others follow; every gang runs whole, eventually. */
	for (int i = 0; i < 3; i++) {
		char name[16];
		snprintf(name, sizeof(name), "g%d", i);
		node(s, name, 32, 128, 4, "", "");
	}
	for (int g = 0; g < 8; g++) {
		char gname[16];
		snprintf(gname, sizeof(gname), "gang%d", g);
		group(s, gname, 4, 0);
		for (int i = 0; i < 4; i++) {
			char name[32];
			snprintf(name, sizeof(name), "gang%d-%d", g, i);
			member(s, name, gname, 1, "2026-01-01T00:00:00Z");
		}
	}
	int done = 0;
	int64_t t = 1000;
	for (int round = 0; round < 40 && done < 8; round++, t += 20000) {
		int n = run(s, t, d, NELEM(d));
		/* Binds come in whole gangs. */
		int per_gang[8] = {0};
		for (int i = 0; i < n; i++)
			if (d[i].kind == WF_SCHED_DEC_BIND)
				per_gang[d[i].name[4] - '0']++;
		for (int g = 0; g < 8; g++) {
			assert_true(per_gang[g] == 0 || per_gang[g] == 4);
			if (per_gang[g] != 4)
				continue;
			/* It runs and finishes. */
			for (int i = 0; i < 4; i++) {
				char name[32];
				snprintf(name, sizeof(name), "gang%d-%d", g, i);
				assert_int_equal(wf_sched_pod_remove(s, "default", name, NULL), 0);
			}
			done++;
		}
		assert_true(gpus_used(s, "g0") + gpus_used(s, "g1") + gpus_used(s, "g2") <= 12);
	}
	assert_int_equal(done, 8);
}

static void test_gang_timeout(void **state)
{
	wf_sched *s = *state;
	wf_sched_decision d[16];
	node(s, "g", 32, 128, 2, "", "");
	group(s, "slow", 3, 10);
	for (int i = 0; i < 3; i++) {
		char name[16];
		snprintf(name, sizeof(name), "s%d", i);
		member(s, name, "slow", 1, "2026-01-01T00:00:00Z");
	}
	int n = run(s, 1000, d, NELEM(d));
	assert_int_equal(count(d, n, WF_SCHED_DEC_UNSCHEDULABLE), 3);
	assert_int_equal(run(s, 10999, d, NELEM(d)), 0);
	n = run(s, 11000, d, NELEM(d));
	assert_int_equal(n, 1);
	assert_int_equal(d[0].kind, WF_SCHED_DEC_GANG_TIMEOUT);
	assert_string_equal(d[0].ns, "default");
	assert_string_equal(d[0].name, "slow");
	assert_string_equal(d[0].message, "pod group \"default/slow\" was not scheduled within "
					  "10s: 0 of minMember 3 pods placed, 3 pending");
	wf_sched_group_info gi;
	assert_true(wf_sched_group_info_get(s, "default", "slow", &gi));
	assert_int_equal(gi.timeouts, 1);
	/* Reported again after another period, then not once placed. */
	assert_int_equal(run(s, 20999, d, NELEM(d)), 0);
	n = run(s, 21000, d, NELEM(d));
	assert_int_equal(count(d, n, WF_SCHED_DEC_GANG_TIMEOUT), 1);
	node(s, "g", 32, 128, 4, "", "");
	n = run(s, 40000, d, NELEM(d));
	assert_int_equal(count(d, n, WF_SCHED_DEC_BIND), 3);
	assert_int_equal(count(d, n, WF_SCHED_DEC_GANG_TIMEOUT), 0);
	assert_int_equal(run(s, 100000, d, NELEM(d)), 0);
}

static void test_gang_bad_input(void **state)
{
	wf_sched *s = *state;
	wf_err err = {0};
	wf_sched_group_spec g = {.ns = "default", .name = "x", .min_member = 0};
	assert_int_equal(wf_sched_group_upsert(s, &g, &err), -WF_EINVAL);
	assert_non_null(strstr(err.msg, "minMember must be at least 1"));
	g.min_member = 2;
	g.timeout_s = -1;
	assert_int_equal(wf_sched_group_upsert(s, &g, &err), -WF_EINVAL);
	g.timeout_s = INT64_MAX;
	assert_int_equal(wf_sched_group_upsert(s, &g, &err), -WF_EINVAL);
	g.timeout_s = 0;
	g.name = NULL;
	assert_int_equal(wf_sched_group_upsert(s, &g, &err), -WF_EINVAL);
	assert_false(wf_sched_group_info_get(s, "default", "x", &(wf_sched_group_info){0}));
	/* minMember larger than any placement: waits with a clear reason. */
	wf_sched_decision d[16];
	node(s, "g", 32, 128, 8, "", "");
	group(s, "huge", 1000, 0);
	member(s, "h0", "huge", 1, "2026-01-01T00:00:00Z");
	int n = run(s, 1000, d, NELEM(d));
	assert_int_equal(n, 1);
	assert_string_equal(d[0].message, "0/1 nodes are available: pod group \"default/huge\" "
					  "has 1 of minMember 1000 pods.");
	assert_int_equal(gpus_used(s, "g"), 0);
}

static uint64_t rng = 0x2545f4914f6cdd1dull;
/* Random gangs on random GPU nodes, with bind failures and completions:
 * after every call, a gang holds nothing or at least minMember pods (unless
 * one of its binds failed after the gang was placed), no node is
 * over-committed, and every gang that fits the cluster eventually runs. */
static void test_random_gangs_invariants(void **state)
{
	for (int round = 0; round < 5; round++) {
		wf_sched *s = wf_sched_new(NULL);
		int nn = 3 + (int)rnd(&rng, 5);
		int64_t total = 0;
		for (int i = 0; i < nn; i++) {
			char name[16];
			int gpus = 2 + (int)rnd(&rng, 7);
			snprintf(name, sizeof(name), "n%d", i);
			node(s, name, 64, 256, gpus, "", "");
			total += gpus;
		}
		enum { NG = 12 };
		int size[NG], min[NG], failures[NG] = {0};
		bool done[NG] = {false};
		for (int g = 0; g < NG; g++) {
			char gname[16];
			snprintf(gname, sizeof(gname), "g%d", g);
			min[g] = 1 + (int)rnd(&rng, 5);
			size[g] = min[g] + (int)rnd(&rng, 3);
			group(s, gname, min[g], 0);
			for (int i = 0; i < size[g]; i++) {
				char name[32];
				snprintf(name, sizeof(name), "g%d-%d", g, i);
				member(s, name, gname, 1, "2026-01-01T00:00:00Z");
			}
		}
		wf_sched_decision d[128];
		int64_t t = 1000;
		int finished = 0, binds = 0;
		for (int step = 0; step < 400 && finished < NG; step++, t += 11000) {
			int n = run(s, t, d, NELEM(d));
			for (int i = 0; i < n; i++) {
				if (d[i].kind != WF_SCHED_DEC_BIND)
					continue;
				binds++;
				if (rnd(&rng, 10) == 0) {
					failures[atoi(d[i].name + 1)]++;
					assert_int_equal(
					    wf_sched_bind_failed(s, d[i].ns, d[i].name, t, NULL),
					    0);
				} else {
					assert_int_equal(
					    wf_sched_bound(s, d[i].ns, d[i].name, NULL), 0);
				}
			}
			for (int g = 0; g < NG; g++) {
				char gname[16];
				snprintf(gname, sizeof(gname), "g%d", g);
				wf_sched_group_info gi;
				if (done[g])
					continue;
				assert_true(wf_sched_group_info_get(s, "default", gname, &gi));
				size_t held = gi.assumed + gi.bound;
				if (held && held < (size_t)min[g] && !failures[g])
					fail_msg("gang g%d holds %zu of minMember %d", g, held,
						 min[g]);
				if (gi.pending == 0 && gi.assumed == 0) {
					/* All members bound: the gang runs and finishes. */
					for (int i = 0; i < size[g]; i++) {
						char name[32];
						snprintf(name, sizeof(name), "g%d-%d", g, i);
						wf_sched_pod_remove(s, "default", name, NULL);
					}
					wf_sched_group_remove(s, "default", gname, NULL);
					done[g] = true;
					finished++;
				}
			}
			for (int i = 0; i < nn; i++) {
				char name[16];
				int64_t a, u;
				snprintf(name, sizeof(name), "n%d", i);
				assert_true(wf_sched_node_usage(s, name, "nvidia.com/gpu", &a, &u));
				assert_true(u <= a);
			}
		}
		assert_true(binds > 0);
		for (int g = 0; g < NG; g++)
			if (size[g] <= total)
				assert_true(done[g]);
		wf_sched_free(s);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_all_or_nothing, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_waits_for_min_member, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_group_defined_late, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_min_member_below_size, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_competing_gangs, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_many_gangs_no_deadlock, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_gang_timeout, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_gang_bad_input, setup, teardown),
	    cmocka_unit_test(test_random_gangs_invariants),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
