/*
 * test_sched_interpod.c - InterPodAffinity: required pod anti-affinity
 * spreading replicas one per node, the symmetric rule (a placed pod's
 * anti-affinity keeps others away), required affinity by zone with the
 * first-pod exception, namespaces, matchLabelKeys, label values no term
 * names, gang members kept apart
 * within one pass, preferred terms as a score, re-queueing when a matching
 * pod arrives, and terms the converter refuses (nothing stored).
 */
#include "sched_fixtures.h"

/* A pending pod in ns with labels ("'k':'v'"), cpu (millicores), GPUs and
 * extra spec fields. */
static void lpod(wf_sched *s, const char *ns, const char *name, const char *labels, int cpu_m,
		 int gpus, const char *spec_extra)
{
	char js[4096], gpu[64] = "";
	if (gpus)
		snprintf(gpu, sizeof(gpu), ",'nvidia.com/gpu':'%d'", gpus);
	snprintf(js, sizeof(js),
		 "{'metadata':{'name':'%s','namespace':'%s','labels':{%s}},"
		 "'spec':{'containers':[{'name':'c','resources':{'requests':{'cpu':'%dm'}"
		 ",'limits':{'cpu':'%dm'%s}}}]%s%s}}",
		 name, ns, labels, cpu_m, cpu_m, gpu, spec_extra && *spec_extra ? "," : "",
		 spec_extra ? spec_extra : "");
	add_pod(s, js);
}

/* A pod in ns with labels already bound to nodename. */
static void lbound(wf_sched *s, const char *ns, const char *name, const char *labels,
		   const char *nodename)
{
	char js[1024];
	snprintf(js, sizeof(js),
		 "{'metadata':{'name':'%s','namespace':'%s','labels':{%s}},"
		 "'spec':{'nodeName':'%s','containers':[{'name':'c','resources':{'requests':"
		 "{'cpu':'100m'}}}]}}",
		 name, ns, labels, nodename);
	add_pod(s, js);
}

#define ANTI_WEB_HOST                                                                              \
	"'affinity':{'podAntiAffinity':{'requiredDuringSchedulingIgnoredDuringExecution':[{"       \
	"'labelSelector':{'matchLabels':{'app':'web'}},'topologyKey':'kubernetes.io/"              \
	"hostname'}]}}"

/* The one decision of a cycle; fails unless there is exactly one. */
static wf_sched_decision one(wf_sched *s, int64_t now)
{
	static wf_sched_decision d[4];
	int n = run(s, now, d, NELEM(d));
	assert_int_equal(n, 1);
	return d[0];
}

static void test_anti_affinity_spreads_one_per_node(void **state)
{
	wf_sched *s = *state;
	node(s, "n1", 8, 32, 0, "", "");
	node(s, "n2", 8, 32, 0, "", "");
	node(s, "n3", 8, 32, 0, "", "");
	char seen[3][64];
	for (int i = 0; i < 3; i++) {
		char name[16];
		snprintf(name, sizeof name, "web-%d", i);
		lpod(s, "default", name, "'app':'web'", 100, 0, ANTI_WEB_HOST);
		snprintf(seen[i], sizeof seen[i], "%s", place(s, 1000 + i));
		for (int j = 0; j < i; j++)
			assert_string_not_equal(seen[i], seen[j]);
	}
	lpod(s, "default", "web-3", "'app':'web'", 100, 0, ANTI_WEB_HOST);
	wf_sched_decision d = one(s, 2000);
	assert_int_equal(d.kind, WF_SCHED_DEC_UNSCHEDULABLE);
	assert_string_equal(d.message, "0/3 nodes are available: 3 node(s) didn't satisfy existing "
				       "pods anti-affinity rules. preemption: 0/3 nodes are "
				       "available: 3 Preemption is not helpful for scheduling.");
	/* A pod of another app is not kept away. */
	lpod(s, "default", "db", "'app':'db'", 100, 0, "");
	assert_int_equal(one(s, 2001).kind, WF_SCHED_DEC_BIND);
}

static void test_existing_pod_anti_affinity_keeps_others_away(void **state)
{
	wf_sched *s = *state;
	node(s, "big", 64, 256, 0, "", "");
	node(s, "small", 2, 8, 0, "", "");
	/* "loner" keeps app=noisy pods off its node; least-allocated would
	 * otherwise put the next pod on "big". */
	lpod(s, "default", "loner", "'app':'loner'", 100, 0,
	     "'affinity':{'podAntiAffinity':{'requiredDuringSchedulingIgnoredDuringExecution':[{"
	     "'labelSelector':{'matchExpressions':[{'key':'app','operator':'In','values':["
	     "'noisy']}]},'topologyKey':'kubernetes.io/hostname'}]}}");
	assert_string_equal(place(s, 1000), "big");
	lpod(s, "default", "noisy", "'app':'noisy'", 100, 0, "");
	assert_string_equal(place(s, 1001), "small");
	lpod(s, "default", "quiet", "'app':'quiet'", 100, 0, "");
	assert_string_equal(place(s, 1002), "big");
	char why[512];
	lpod(s, "default", "noisy2", "'app':'noisy'", 100, 0, "");
	assert_int_equal(explain(s, "noisy2", "big", why, sizeof why), WF_SCHED_UNRESOLVABLE);
	assert_non_null(strstr(why, "node(s) didn't satisfy existing pods anti-affinity rules"));
}

#define AFF_CACHE_ZONE                                                                             \
	"'affinity':{'podAffinity':{'requiredDuringSchedulingIgnoredDuringExecution':[{"           \
	"'labelSelector':{'matchLabels':{'app':'cache'}},'topologyKey':'topology.kubernetes.io/"   \
	"zone'}]}}"

static void test_affinity_by_zone(void **state)
{
	wf_sched *s = *state;
	node(s, "a1", 8, 32, 0, "'topology.kubernetes.io/zone':'a'", "");
	node(s, "a2", 8, 32, 0, "'topology.kubernetes.io/zone':'a'", "");
	node(s, "b1", 8, 32, 0, "'topology.kubernetes.io/zone':'b'", "");
	node(s, "b2", 64, 256, 0, "'topology.kubernetes.io/zone':'b'", "");
	node(s, "nozone", 64, 256, 0, "", "");

	/* No cache pod anywhere and the pod is not one: nowhere. */
	lpod(s, "default", "app", "'app':'api'", 100, 0, AFF_CACHE_ZONE);
	wf_sched_decision d = one(s, 1000);
	assert_int_equal(d.kind, WF_SCHED_DEC_UNSCHEDULABLE);
	assert_non_null(strstr(d.message, "5 node(s) didn't match pod affinity rules"));
	assert_int_equal(state_of(s, "app"), WF_SCHED_POD_UNSCHEDULABLE);

	/* A cache pod lands in zone a: the parked pod is tried again (after its
	 * back-off) and goes to zone a, not to the roomier b2 or nozone. */
	lbound(s, "default", "cache-0", "'app':'cache'", "a1");
	assert_int_equal(run(s, 1001, NULL, 0), 0);
	assert_int_equal(state_of(s, "app"), WF_SCHED_POD_BACKOFF);
	const char *at = place(s, 100000);
	assert_true(!strcmp(at, "a1") || !strcmp(at, "a2"));
}

static void test_first_pod_of_a_group_may_go_anywhere(void **state)
{
	wf_sched *s = *state;
	node(s, "a1", 8, 32, 0, "'topology.kubernetes.io/zone':'a'", "");
	node(s, "b1", 8, 32, 0, "'topology.kubernetes.io/zone':'b'", "");
	/* Pods that want to be with app=cache and are app=cache themselves:
	 * the first goes anywhere, the rest follow it. */
	lpod(s, "default", "c0", "'app':'cache'", 100, 0, AFF_CACHE_ZONE);
	char first[64];
	snprintf(first, sizeof first, "%s", place(s, 1000));
	for (int i = 1; i < 4; i++) {
		char name[16];
		snprintf(name, sizeof name, "c%d", i);
		lpod(s, "default", name, "'app':'cache'", 100, 0, AFF_CACHE_ZONE);
		assert_string_equal(place(s, 1000 + i), first);
	}
}

static void test_namespaces_of_a_term(void **state)
{
	wf_sched *s = *state;
	node(s, "n1", 8, 32, 0, "", "");
	node(s, "n2", 8, 32, 0, "", "");
	lbound(s, "other", "web-x", "'app':'web'", "n1");
	/* By default a term sees its own namespace only: n1 is fine. */
	lpod(s, "default", "a", "'app':'a'", 100, 0, ANTI_WEB_HOST);
	char why[512];
	assert_int_equal(explain(s, "a", "n1", why, sizeof why), WF_SCHED_SUCCESS);
	/* Naming the namespace, or selecting all with {}, sees web-x. */
	lpod(s, "default", "b", "'app':'b'", 100, 0,
	     "'affinity':{'podAntiAffinity':{'requiredDuringSchedulingIgnoredDuringExecution':[{"
	     "'labelSelector':{'matchLabels':{'app':'web'}},'namespaces':['other'],"
	     "'topologyKey':'kubernetes.io/hostname'}]}}");
	assert_int_equal(explain(s, "b", "n1", why, sizeof why), WF_SCHED_UNRESOLVABLE);
	assert_non_null(strstr(why, "node(s) didn't match pod anti-affinity rules"));
	assert_int_equal(explain(s, "b", "n2", why, sizeof why), WF_SCHED_SUCCESS);
	lpod(s, "default", "c", "'app':'c'", 100, 0,
	     "'affinity':{'podAntiAffinity':{'requiredDuringSchedulingIgnoredDuringExecution':[{"
	     "'labelSelector':{'matchLabels':{'app':'web'}},'namespaceSelector':{},"
	     "'topologyKey':'kubernetes.io/hostname'}]}}");
	assert_int_equal(explain(s, "c", "n1", why, sizeof why), WF_SCHED_UNRESOLVABLE);
	/* A pod without labelSelector matches nothing. */
	lpod(s, "default", "d", "'app':'d'", 100, 0,
	     "'affinity':{'podAntiAffinity':{'requiredDuringSchedulingIgnoredDuringExecution':[{"
	     "'namespaceSelector':{},'topologyKey':'kubernetes.io/hostname'}]}}");
	assert_int_equal(explain(s, "d", "n1", why, sizeof why), WF_SCHED_SUCCESS);
}

static void test_match_label_keys(void **state)
{
	wf_sched *s = *state;
	node(s, "n1", 8, 32, 0, "", "");
	node(s, "n2", 8, 32, 0, "", "");
	lbound(s, "default", "old", "'app':'web','version':'v1'", "n1");
	/* Anti-affinity to app=web of the pod's own version only. */
	const char *spec =
	    "'affinity':{'podAntiAffinity':{'requiredDuringSchedulingIgnoredDuringExecution':[{"
	    "'labelSelector':{'matchLabels':{'app':'web'}},'matchLabelKeys':['version'],"
	    "'topologyKey':'kubernetes.io/hostname'}]}}";
	lpod(s, "default", "v2", "'app':'web','version':'v2'", 100, 0, spec);
	lpod(s, "default", "v1", "'app':'web','version':'v1'", 100, 0, spec);
	char why[512];
	assert_int_equal(explain(s, "v2", "n1", why, sizeof why), WF_SCHED_SUCCESS);
	assert_int_equal(explain(s, "v1", "n1", why, sizeof why), WF_SCHED_UNRESOLVABLE);
	assert_int_equal(explain(s, "v1", "n2", why, sizeof why), WF_SCHED_SUCCESS);
}

/* Label values are not interned: one no term names still takes part in
 * NotIn and Exists. */
static void test_values_no_term_names(void **state)
{
	wf_sched *s = *state;
	node(s, "n1", 8, 32, 0, "", "");
	node(s, "n2", 8, 32, 0, "", "");
	lbound(s, "default", "odd", "'tier':'value-named-nowhere-else'", "n1");
	lpod(s, "default", "p", "'app':'p'", 100, 0,
	     "'affinity':{'podAntiAffinity':{'requiredDuringSchedulingIgnoredDuringExecution':[{"
	     "'labelSelector':{'matchExpressions':[{'key':'tier','operator':'NotIn','values':["
	     "'front']},{'key':'tier','operator':'Exists'}]},"
	     "'topologyKey':'kubernetes.io/hostname'}]}}");
	char why[512];
	assert_int_equal(explain(s, "p", "n1", why, sizeof why), WF_SCHED_UNRESOLVABLE);
	assert_int_equal(explain(s, "p", "n2", why, sizeof why), WF_SCHED_SUCCESS);
	/* The same value under In of another value does not match. */
	lpod(s, "default", "q", "'app':'q'", 100, 0,
	     "'affinity':{'podAntiAffinity':{'requiredDuringSchedulingIgnoredDuringExecution':[{"
	     "'labelSelector':{'matchLabels':{'tier':'front'}},"
	     "'topologyKey':'kubernetes.io/hostname'}]}}");
	assert_int_equal(explain(s, "q", "n1", why, sizeof why), WF_SCHED_SUCCESS);
}

static void test_gang_members_kept_apart_in_one_pass(void **state)
{
	wf_sched *s = *state;
	node(s, "g1", 64, 256, 8, "", "");
	node(s, "g2", 64, 256, 8, "", "");
	group(s, "train", 2, 0);
	/* GPU bin-packing alone would put both on one node. */
	for (int i = 0; i < 2; i++) {
		char js[2048];
		snprintf(js, sizeof js,
			 "{'metadata':{'name':'w%d','creationTimestamp':'2026-01-01T00:00:0%dZ',"
			 "'labels':{'scheduling.x-k8s.io/pod-group':'train','role':'worker'}},"
			 "'spec':{'containers':[{'resources':{'limits':{'nvidia.com/gpu':'1'}}}],"
			 "'affinity':{'podAntiAffinity':{'requiredDuringSchedulingIgnoredDuring"
			 "Execution':[{'labelSelector':{'matchLabels':{'role':'worker'}},"
			 "'topologyKey':'kubernetes.io/hostname'}]}}}}",
			 i, i);
		add_pod(s, js);
	}
	wf_sched_decision d[4];
	int n = run(s, 1000, d, NELEM(d));
	assert_int_equal(n, 2);
	assert_int_equal(count(d, n, WF_SCHED_DEC_BIND), 2);
	assert_string_not_equal(d[0].node, d[1].node);
}

static void test_preferred_terms_score(void **state)
{
	wf_sched *s = *state;
	node(s, "n1", 8, 32, 0, "", "");
	node(s, "n2", 8, 32, 0, "", "");
	lbound(s, "default", "cache", "'app':'cache'", "n1");
	/* Least-allocated prefers the empty n2; preferred affinity wins. */
	lpod(s, "default", "near", "'app':'api'", 100, 0,
	     "'affinity':{'podAffinity':{'preferredDuringSchedulingIgnoredDuringExecution':[{"
	     "'weight':100,'podAffinityTerm':{'labelSelector':{'matchLabels':{'app':'cache'}},"
	     "'topologyKey':'kubernetes.io/hostname'}}]}}");
	assert_string_equal(place(s, 1000), "n1");
	/* Preferred anti-affinity to app=api steers the next one to n2 even
	 * though "near" and "cache" are small. */
	lbound(s, "default", "filler", "'app':'filler'", "n2");
	lpod(s, "default", "far", "'app':'api'", 100, 0,
	     "'affinity':{'podAntiAffinity':{'preferredDuringSchedulingIgnoredDuringExecution':[{"
	     "'weight':100,'podAffinityTerm':{'labelSelector':{'matchLabels':{'app':'api'}},"
	     "'topologyKey':'kubernetes.io/hostname'}}]}}");
	assert_string_equal(place(s, 1001), "n2");
}

static void test_leaving_pod_frees_the_domain(void **state)
{
	wf_sched *s = *state;
	node(s, "n1", 8, 32, 0, "", "");
	lpod(s, "default", "web-0", "'app':'web'", 100, 0, ANTI_WEB_HOST);
	assert_string_equal(place(s, 1000), "n1");
	lpod(s, "default", "web-1", "'app':'web'", 100, 0, ANTI_WEB_HOST);
	assert_int_equal(one(s, 1001).kind, WF_SCHED_DEC_UNSCHEDULABLE);
	assert_int_equal(wf_sched_pod_remove(s, "default", "web-0", NULL), 0);
	assert_int_equal(run(s, 1002, NULL, 0), 0);
	assert_int_equal(state_of(s, "web-1"), WF_SCHED_POD_BACKOFF);
	assert_string_equal(place(s, 100000), "n1");
}

/* Terms the converter refuses: a clear error, and the pod is not stored. */
static void test_bad_terms_refused(void **state)
{
	wf_sched *s = *state;
	static const struct {
		const char *term;
		const char *want;
	} cases[] = {
	    {"{'labelSelector':{'matchLabels':{'app':'x'}}}", "topologyKey: Required value"},
	    {"{'labelSelector':{'matchLabels':{'app':'x'}},'topologyKey':''}",
	     "topologyKey: Required value"},
	    {"{'labelSelector':{'matchExpressions':[{'key':'n','operator':'Gt','values':['1']}]},"
	     "'topologyKey':'k'}",
	     "not a valid label selector operator"},
	    {"{'labelSelector':{'matchExpressions':[{'key':'n','operator':'In'}]},"
	     "'topologyKey':'k'}",
	     "must be specified when `operator` is 'In' or 'NotIn'"},
	    {"{'labelSelector':{'matchLabels':{'app':7}},'topologyKey':'k'}",
	     "matchLabels.app: expected a string"},
	    {"{'labelSelector':{},'namespaceSelector':{'matchLabels':{'team':'a'}},"
	     "'topologyKey':'k'}",
	     "namespaceSelector with matchLabels or matchExpressions is not supported"},
	    {"{'labelSelector':{},'namespaces':[''],'topologyKey':'k'}",
	     "namespaces[0]: expected a namespace name"},
	    {"'not an object'", "expected an object"},
	};
	for (size_t i = 0; i < NELEM(cases); i++) {
		char js[1024];
		snprintf(
		    js, sizeof js,
		    "{'metadata':{'name':'bad','namespace':'default'},'spec':{'containers':[{}],"
		    "'affinity':{'podAntiAffinity':{'requiredDuringSchedulingIgnoredDuring"
		    "Execution':[%s]}}}}",
		    cases[i].term);
		json_t *j = J(js);
		wf_sched_pod_spec sp;
		wf_err err = {0};
		assert_int_equal(wf_sched_pod_from_json(j, &sp, &err), -WF_EINVAL);
		if (!strstr(err.msg, cases[i].want))
			fail_msg("case %zu: %s", i, err.msg);
		json_decref(j);
	}
	/* Preferred terms need a weight in 1..100 and a podAffinityTerm. */
	json_t *j = J("{'metadata':{'name':'bad'},'spec':{'containers':[{}],'affinity':{"
		      "'podAffinity':{'preferredDuringSchedulingIgnoredDuringExecution':[{"
		      "'weight':101,'podAffinityTerm':{'topologyKey':'k'}}]}}}}");
	wf_sched_pod_spec sp;
	wf_err err = {0};
	assert_int_equal(wf_sched_pod_from_json(j, &sp, &err), -WF_EINVAL);
	json_decref(j);
	j = J(
	    "{'metadata':{'name':'bad'},'spec':{'containers':[{}],'affinity':{"
	    "'podAffinity':{'preferredDuringSchedulingIgnoredDuringExecution':[{'weight':1}]}}}}");
	assert_int_equal(wf_sched_pod_from_json(j, &sp, &err), -WF_EINVAL);
	assert_non_null(strstr(err.msg, "podAffinityTerm: Required value"));
	json_decref(j);

	/* The library checks specs built by hand too. */
	wf_sched_requirement gt = {
	    .key = "n", .op = WF_SCHED_OP_GT, .values = (const char *const[]){"1"}, .nvalues = 1};
	wf_sched_pod_term t = {.topology_key = "k", .selector = &gt, .nselector = 1};
	wf_sched_pod_spec hand = {
	    .ns = "default", .name = "hand", .anti_affinity = &t, .nanti_affinity = 1};
	assert_int_equal(wf_sched_pod_upsert(s, &hand, &err), -WF_EINVAL);
	t = (wf_sched_pod_term){.topology_key = "k", .weight = 5};
	assert_int_equal(wf_sched_pod_upsert(s, &hand, &err), -WF_EINVAL);
	t = (wf_sched_pod_term){.topology_key = NULL};
	assert_int_equal(wf_sched_pod_upsert(s, &hand, &err), -WF_EINVAL);
	wf_sched_label bad_label = {.key = "", .value = "x"};
	hand = (wf_sched_pod_spec){
	    .ns = "default", .name = "hand", .labels = &bad_label, .nlabels = 1};
	assert_int_equal(wf_sched_pod_upsert(s, &hand, &err), -WF_EINVAL);
	wf_sched_stats st;
	wf_sched_stats_get(s, &st);
	assert_int_equal(st.pods, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_anti_affinity_spreads_one_per_node, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_existing_pod_anti_affinity_keeps_others_away,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_affinity_by_zone, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_first_pod_of_a_group_may_go_anywhere, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_namespaces_of_a_term, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_match_label_keys, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_values_no_term_names, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_gang_members_kept_apart_in_one_pass, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_preferred_terms_score, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_leaving_pod_frees_the_domain, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_terms_refused, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
