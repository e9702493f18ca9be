/*
 * test_sched_filter.c - the scheduler's Filter plugins, each on its own and
 * in kube-scheduler's order: resources fit (cpu, memory, pods, extended and
 * MIG resources), NodeName, NodeUnschedulable, taints and tolerations (a
 * table of taint x toleration cases), readiness, nodeSelector, required
 * node affinity (every operator, terms OR'ed, requirements AND'ed,
 * matchFields, per-node hostname labels), and that the indexed fast path
 * and the node-by-node reference agree on random clusters.
 *
 * Nodes and pods are built from Kubernetes JSON (single quotes stand for
 * double quotes) through convert.c, as the driver will.
 */
#include "sched_fixtures.h"

/* ---- NodeResourcesFit ---------------------------------------------------------- */

static void test_resources_fit(void **state)
{
	wf_sched *s = *state;
	char why[512];
	node(s, "cpu1", 4, 8, 0, "", "");
	node(s, "gpu1", 32, 256, 8, "", "");
	add_node(s, "{'metadata':{'name':'mig1'},'status':{'allocatable':{'cpu':'32','memory':"
		    "'256Gi','nvidia.com/mig-1g.10gb':'7'},'conditions':[{'type':'Ready','status':"
		    "'True'}]}}");

	pod(s, "small", 2000, 0, "");
	assert_int_equal(explain(s, "small", "cpu1", why, sizeof(why)), WF_SCHED_SUCCESS);
	pod(s, "exact", 4000, 0, "");
	assert_int_equal(explain(s, "exact", "cpu1", why, sizeof(why)), WF_SCHED_SUCCESS);
	pod(s, "big", 4001, 0, "");
	assert_int_equal(explain(s, "big", "cpu1", why, sizeof(why)), WF_SCHED_UNSCHEDULABLE);
	assert_string_equal(why, "Insufficient cpu");

	pod(s, "g1", 1000, 1, "");
	assert_int_equal(explain(s, "g1", "cpu1", why, sizeof(why)), WF_SCHED_UNSCHEDULABLE);
	assert_string_equal(why, "Insufficient nvidia.com/gpu");
	assert_int_equal(explain(s, "g1", "gpu1", why, sizeof(why)), WF_SCHED_SUCCESS);
	pod(s, "g9", 1000, 9, "");
	assert_int_equal(explain(s, "g9", "gpu1", why, sizeof(why)), WF_SCHED_UNSCHEDULABLE);
	assert_string_equal(why, "Insufficient nvidia.com/gpu");

	/* Several short resources: each is a reason. */
	add_pod(s, "{'metadata':{'name':'fat'},'spec':{'containers':[{'resources':{'requests':"
		   "{'cpu':'64','memory':'1Ti','nvidia.com/gpu':'1'}}}]}}");
	assert_int_equal(explain(s, "fat", "cpu1", why, sizeof(why)), WF_SCHED_UNSCHEDULABLE);
	assert_string_equal(why,
			    "Insufficient cpu, Insufficient memory, Insufficient nvidia.com/gpu");

	/* MIG slices are resources like any other. */
	add_pod(s, "{'metadata':{'name':'mig'},'spec':{'containers':[{'resources':{'limits':"
		   "{'nvidia.com/mig-1g.10gb':'2'}}}]}}");
	assert_int_equal(explain(s, "mig", "mig1", why, sizeof(why)), WF_SCHED_SUCCESS);
	assert_int_equal(explain(s, "mig", "gpu1", why, sizeof(why)), WF_SCHED_UNSCHEDULABLE);
	assert_string_equal(why, "Insufficient nvidia.com/mig-1g.10gb");

	/* Five resources (more than a pod holds inline): all are checked, and
	 * they can shrink to a few and grow again. */
	const char *five = "{'metadata':{'name':'five'},'spec':{'containers':[{'resources':"
			   "{'requests':{'cpu':'1','memory':'1Gi','nvidia.com/gpu':'1',"
			   "'nvidia.com/mig-1g.10gb':'1','example.com/nic':'1'}}}]}}";
	add_pod(s, five);
	assert_int_equal(explain(s, "five", "gpu1", why, sizeof(why)), WF_SCHED_UNSCHEDULABLE);
	assert_string_equal(why, "Insufficient nvidia.com/mig-1g.10gb, Insufficient example.com/nic");
	add_pod(s, "{'metadata':{'name':'five'},'spec':{'containers':[{'resources':"
		   "{'requests':{'cpu':'1','nvidia.com/gpu':'1'}}}]}}");
	assert_int_equal(explain(s, "five", "gpu1", why, sizeof(why)), WF_SCHED_SUCCESS);
	add_pod(s, five);
	assert_int_equal(explain(s, "five", "mig1", why, sizeof(why)), WF_SCHED_UNSCHEDULABLE);
	assert_string_equal(why, "Insufficient nvidia.com/gpu, Insufficient example.com/nic");

	/* A resource nobody has is interned and simply missing everywhere. */
	add_pod(s, "{'metadata':{'name':'fpga'},'spec':{'containers':[{'resources':{'limits':"
		   "{'xilinx.com/fpga':'1'}}}]}}");
	assert_int_equal(explain(s, "fpga", "gpu1", why, sizeof(why)), WF_SCHED_UNSCHEDULABLE);
	assert_string_equal(why, "Insufficient xilinx.com/fpga");

	/* Scheduling takes the resources: eight 1-GPU pods fill gpu1, a ninth
	 * does not fit. */
	wf_sched_decision d[64];
	wf_sched *t = wf_sched_new(NULL);
	node(t, "gpu1", 32, 256, 8, "", "");
	for (int i = 0; i < 9; i++) {
		char name[16];
		snprintf(name, sizeof(name), "p%d", i);
		pod(t, name, 100, 1, "");
	}
	int n = run(t, 1000, d, NELEM(d));
	int binds = 0, unsched = 0;
	for (int i = 0; i < n; i++) {
		binds += d[i].kind == WF_SCHED_DEC_BIND;
		unsched += d[i].kind == WF_SCHED_DEC_UNSCHEDULABLE;
	}
	assert_int_equal(binds, 8);
	assert_int_equal(unsched, 1);
	int64_t a, u;
	assert_true(wf_sched_node_usage(t, "gpu1", "nvidia.com/gpu", &a, &u));
	assert_int_equal(a, 8);
	assert_int_equal(u, 8);
	assert_true(wf_sched_node_usage(t, "gpu1", "cpu", &a, &u));
	assert_int_equal(a, 32000);
	assert_int_equal(u, 800);
	wf_sched_free(t);
}

static void test_too_many_pods(void **state)
{
	wf_sched *s = *state;
	char why[512];
	add_node(s, "{'metadata':{'name':'tiny'},'status':{'allocatable':{'cpu':'8','memory':'8Gi',"
		    "'pods':'2'},'conditions':[{'type':'Ready','status':'True'}]}}");
	add_pod(s, "{'metadata':{'name':'a'},'spec':{'nodeName':'tiny','containers':[{}]}}");
	add_pod(s, "{'metadata':{'name':'b'},'spec':{'nodeName':'tiny','containers':[{}]}}");
	pod(s, "c", 0, 0, "");
	assert_int_equal(explain(s, "c", "tiny", why, sizeof(why)), WF_SCHED_UNSCHEDULABLE);
	assert_string_equal(why, "Too many pods");
	/* A pod that requests nothing only needs a pod slot. */
	assert_int_equal(wf_sched_pod_remove(s, "default", "b", NULL), 0);
	assert_int_equal(explain(s, "c", "tiny", why, sizeof(why)), WF_SCHED_SUCCESS);
}

/* ---- NodeName --------------------------------------------------------------------- */

static void test_node_name(void **state)
{
	wf_sched *s = *state;
	char why[512];
	node(s, "n1", 8, 16, 0, "", "");
	node(s, "n2", 8, 16, 0, "", "");
	wf_sched_resource req[] = {{"cpu", 100}};
	wf_sched_pod_spec sp = {.ns = "default",
				.name = "pinned",
				.node_name = "n2",
				.bound = false,
				.requests = req,
				.nrequests = 1};
	assert_int_equal(wf_sched_pod_upsert(s, &sp, NULL), 0);
	assert_int_equal(explain(s, "pinned", "n1", why, sizeof(why)), WF_SCHED_UNRESOLVABLE);
	assert_string_equal(why, "node(s) didn't match the requested node name");
	assert_int_equal(explain(s, "pinned", "n2", why, sizeof(why)), WF_SCHED_SUCCESS);
	wf_sched_decision d[8];
	int n = run(s, 1000, d, NELEM(d));
	assert_int_equal(n, 1);
	assert_int_equal(d[0].kind, WF_SCHED_DEC_BIND);
	assert_string_equal(d[0].node, "n2");

	/* Naming a node that does not exist: unschedulable everywhere. */
	sp.name = "ghost";
	sp.node_name = "n9";
	assert_int_equal(wf_sched_pod_upsert(s, &sp, NULL), 0);
	n = run(s, 2000, d, NELEM(d));
	assert_int_equal(n, 1);
	assert_int_equal(d[0].kind, WF_SCHED_DEC_UNSCHEDULABLE);
	assert_string_equal(d[0].message,
			    "0/2 nodes are available: 2 node(s) didn't match the requested node "
			    "name. preemption: 0/2 nodes are available: 2 Preemption is not "
			    "helpful for scheduling.");
}

/* ---- NodeUnschedulable, readiness ----------------------------------------------- */

static void test_unschedulable_and_ready(void **state)
{
	wf_sched *s = *state;
	char why[512];
	add_node(s, "{'metadata':{'name':'cordoned'},'spec':{'unschedulable':true,'taints':["
		    "{'key':'gpu','value':'x','effect':'NoSchedule'}]},"
		    "'status':{'allocatable':{'cpu':'8','memory':'8Gi'},'conditions':[{'type':"
		    "'Ready','status':'True'}]}}");
	add_node(s, "{'metadata':{'name':'down'},'status':{'allocatable':{'cpu':'8','memory':"
		    "'8Gi'},'conditions':[{'type':'Ready','status':'False'}]}}");
	add_node(s, "{'metadata':{'name':'lost'},'status':{'allocatable':{'cpu':'8','memory':"
		    "'8Gi'},'conditions':[{'type':'Ready','status':'Unknown'}]}}");
	add_node(s, "{'metadata':{'name':'fresh'},'status':{'allocatable':{'cpu':'8','memory':"
		    "'8Gi'}}}");
	pod(s, "p", 100, 0, "");
	/* NodeUnschedulable runs before TaintToleration: its reason wins. */
	assert_int_equal(explain(s, "p", "cordoned", why, sizeof(why)), WF_SCHED_UNRESOLVABLE);
	assert_string_equal(why, "node(s) were unschedulable");
	assert_int_equal(explain(s, "p", "down", why, sizeof(why)), WF_SCHED_UNRESOLVABLE);
	assert_string_equal(why, "node(s) had untolerated taint {node.kubernetes.io/not-ready: }");
	assert_int_equal(explain(s, "p", "lost", why, sizeof(why)), WF_SCHED_UNRESOLVABLE);
	assert_string_equal(why,
			    "node(s) had untolerated taint {node.kubernetes.io/unreachable: }");
	/* No Ready condition at all: Unknown. */
	assert_int_equal(explain(s, "p", "fresh", why, sizeof(why)), WF_SCHED_UNRESOLVABLE);

	/* Tolerating unschedulable gets past NodeUnschedulable, then the taint. */
	pod(s, "t", 100, 0,
	    "'tolerations':[{'key':'node.kubernetes.io/unschedulable','operator':'Exists',"
	    "'effect':'NoSchedule'}]");
	assert_int_equal(explain(s, "t", "cordoned", why, sizeof(why)), WF_SCHED_UNRESOLVABLE);
	assert_string_equal(why, "node(s) had untolerated taint {gpu: x}");
	pod(s, "all", 100, 0, "'tolerations':[{'operator':'Exists'}]");
	assert_int_equal(explain(s, "all", "cordoned", why, sizeof(why)), WF_SCHED_SUCCESS);
	assert_int_equal(explain(s, "all", "down", why, sizeof(why)), WF_SCHED_SUCCESS);
	assert_int_equal(explain(s, "all", "lost", why, sizeof(why)), WF_SCHED_SUCCESS);

	/* The message counts every node's first reason. */
	wf_sched_decision d[8];
	int n = run(s, 1000, d, NELEM(d));
	const wf_sched_decision *u = find(d, n, "p", WF_SCHED_DEC_UNSCHEDULABLE);
	assert_non_null(u);
	assert_string_equal(
	    u->message,
	    "0/4 nodes are available: 1 node(s) had untolerated taint "
	    "{node.kubernetes.io/not-ready: }, 1 node(s) were unschedulable, 2 node(s) had "
	    "untolerated taint {node.kubernetes.io/unreachable: }. preemption: 0/4 nodes "
	    "are available: 4 Preemption is not helpful for scheduling.");

	/* Uncordoning and becoming Ready re-queue p, which then fits. */
	add_node(s, "{'metadata':{'name':'down'},'status':{'allocatable':{'cpu':'8','memory':"
		    "'8Gi'},'conditions':[{'type':'Ready','status':'True'}]}}");
	n = run(s, 2000, d, NELEM(d));
	const wf_sched_decision *b = find(d, n, "p", WF_SCHED_DEC_BIND);
	assert_non_null(b);
	assert_string_equal(b->node, "down");
}

/* ---- TaintToleration: a matrix --------------------------------------------------- */

struct taint_case {
	const char *taint;	/* node taint JSON */
	const char *toleration; /* pod toleration JSON, "" for none */
	int code;		/* WF_SCHED_SUCCESS or WF_SCHED_UNRESOLVABLE */
};

static const struct taint_case taint_cases[] = {
    {"{'key':'gpu','value':'a','effect':'NoSchedule'}", "", WF_SCHED_UNRESOLVABLE},
    {"{'key':'gpu','value':'a','effect':'NoExecute'}", "", WF_SCHED_UNRESOLVABLE},
    {"{'key':'gpu','value':'a','effect':'PreferNoSchedule'}", "", WF_SCHED_SUCCESS},
    {"{'key':'gpu','value':'a','effect':'NoSchedule'}",
     "{'key':'gpu','operator':'Equal','value':'a','effect':'NoSchedule'}", WF_SCHED_SUCCESS},
    {"{'key':'gpu','value':'a','effect':'NoSchedule'}",
     "{'key':'gpu','value':'a','effect':'NoSchedule'}", WF_SCHED_SUCCESS}, /* default Equal */
    {"{'key':'gpu','value':'a','effect':'NoSchedule'}",
     "{'key':'gpu','operator':'Equal','value':'b','effect':'NoSchedule'}", WF_SCHED_UNRESOLVABLE},
    {"{'key':'gpu','value':'a','effect':'NoSchedule'}",
     "{'key':'gpu','operator':'Exists','effect':'NoSchedule'}", WF_SCHED_SUCCESS},
    {"{'key':'gpu','value':'a','effect':'NoSchedule'}", "{'key':'gpu','operator':'Exists'}",
     WF_SCHED_SUCCESS}, /* empty effect: all effects */
    {"{'key':'gpu','value':'a','effect':'NoSchedule'}",
     "{'key':'gpu','operator':'Exists','effect':'NoExecute'}", WF_SCHED_UNRESOLVABLE},
    {"{'key':'gpu','value':'a','effect':'NoExecute'}",
     "{'key':'gpu','operator':'Exists','effect':'NoExecute','tolerationSeconds':30}",
     WF_SCHED_SUCCESS},
    {"{'key':'gpu','value':'a','effect':'NoSchedule'}", "{'key':'other','operator':'Exists'}",
     WF_SCHED_UNRESOLVABLE},
    {"{'key':'gpu','value':'a','effect':'NoSchedule'}", "{'operator':'Exists'}",
     WF_SCHED_SUCCESS}, /* empty key + Exists: everything */
    {"{'key':'gpu','value':'a','effect':'NoSchedule'}",
     "{'operator':'Exists','effect':'NoSchedule'}", WF_SCHED_SUCCESS},
    {"{'key':'gpu','value':'a','effect':'NoSchedule'}",
     "{'operator':'Exists','effect':'PreferNoSchedule'}", WF_SCHED_UNRESOLVABLE},
    {"{'key':'gpu','effect':'NoSchedule'}", "{'key':'gpu','operator':'Equal','value':''}",
     WF_SCHED_SUCCESS}, /* empty value equals empty value */
    {"{'key':'gpu','effect':'NoSchedule'}", "{'key':'gpu','operator':'Equal','value':'x'}",
     WF_SCHED_UNRESOLVABLE},
};

static void test_taint_matrix(void **state)
{
	for (size_t i = 0; i < NELEM(taint_cases); i++) {
		const struct taint_case *tc = &taint_cases[i];
		wf_sched *s = wf_sched_new(NULL);
		char taints[256], tol[256], why[512];
		snprintf(taints, sizeof(taints), "[%s]", tc->taint);
		node(s, "n", 8, 8, 0, "", taints);
		if (*tc->toleration)
			snprintf(tol, sizeof(tol), "'tolerations':[%s]", tc->toleration);
		else
			tol[0] = '\0';
		pod(s, "p", 100, 0, tol);
		int code = explain(s, "p", "n", why, sizeof(why));
		if (code != tc->code)
			fail_msg("case %zu: taint %s toleration %s: got %d (%s), want %d", i,
				 tc->taint, tc->toleration, code, why, tc->code);
		if (code == WF_SCHED_UNRESOLVABLE)
			assert_non_null(strstr(why, "node(s) had untolerated taint {gpu: "));
		wf_sched_free(s);
	}
}

static void test_taint_reports_first_untolerated(void **state)
{
	wf_sched *s = *state;
	char why[512];
	node(s, "n", 8, 8, 0, "",
	     "[{'key':'soft','effect':'PreferNoSchedule'},{'key':'a','value':'1','effect':"
	     "'NoSchedule'},{'key':'b','value':'2','effect':'NoExecute'}]");
	pod(s, "p", 100, 0, "'tolerations':[{'key':'a','operator':'Exists'}]");
	assert_int_equal(explain(s, "p", "n", why, sizeof(why)), WF_SCHED_UNRESOLVABLE);
	assert_string_equal(why, "node(s) had untolerated taint {b: 2}");
}

/* ---- NodeAffinity ------------------------------------------------------------------- */

struct aff_case {
	const char *spec; /* pod spec fields */
	bool n1, n2, n3;  /* expected fit on each node */
};

/* n1: zone=a, gpu.count=8, tier=gold; n2: zone=b, gpu.count=4; n3: zone=c, count=x */
static const struct aff_case aff_cases[] = {
    {"'nodeSelector':{'zone':'a'}", true, false, false},
    {"'nodeSelector':{'zone':'a','tier':'gold'}", true, false, false},
    {"'nodeSelector':{'zone':'a','tier':'silver'}", false, false, false},
    {"'nodeSelector':{'missing':''}", false, false, false},
#define REQ(x)                                                                                     \
	"'affinity':{'nodeAffinity':{'requiredDuringSchedulingIgnoredDuringExecution':{"           \
	"'nodeSelectorTerms':[" x "]}}}"
    {REQ("{'matchExpressions':[{'key':'zone','operator':'In','values':['a','b']}]}"), true, true,
     false},
    {REQ("{'matchExpressions':[{'key':'zone','operator':'NotIn','values':['a']}]}"), false, true,
     true},
    {REQ("{'matchExpressions':[{'key':'tier','operator':'NotIn','values':['gold']}]}"), false, true,
     true}, /* absent label satisfies NotIn */
    {REQ("{'matchExpressions':[{'key':'tier','operator':'Exists'}]}"), true, false, false},
    {REQ("{'matchExpressions':[{'key':'tier','operator':'DoesNotExist'}]}"), false, true, true},
    {REQ("{'matchExpressions':[{'key':'gpu.count','operator':'Gt','values':['4']}]}"), true, false,
     false}, /* "x" is not a number: no match */
    {REQ("{'matchExpressions':[{'key':'gpu.count','operator':'Lt','values':['8']}]}"), false, true,
     false},
    {REQ("{'matchExpressions':[{'key':'gpu.count','operator':'Gt','values':['-1']}]}"), true, true,
     false},
    /* requirements AND'ed */
    {REQ("{'matchExpressions':[{'key':'zone','operator':'In','values':['a','b']},"
	 "{'key':'gpu.count','operator':'Lt','values':['5']}]}"),
     false, true, false},
    /* terms OR'ed */
    {REQ("{'matchExpressions':[{'key':'zone','operator':'In','values':['a']}]},"
	 "{'matchExpressions':[{'key':'zone','operator':'In','values':['c']}]}"),
     true, false, true},
    /* an empty term matches nothing */
    {REQ("{}"), false, false, false},
    {REQ("{},{'matchExpressions':[{'key':'zone','operator':'In','values':['b']}]}"), false, true,
     false},
    /* matchFields on the node name */
    {REQ("{'matchFields':[{'key':'metadata.name','operator':'In','values':['n2']}]}"), false, true,
     false},
    {REQ("{'matchFields':[{'key':'metadata.name','operator':'NotIn','values':['n2']}]}"), true,
     false, true},
    {REQ("{'matchExpressions':[{'key':'zone','operator':'In','values':['a','b']}],"
	 "'matchFields':[{'key':'metadata.name','operator':'NotIn','values':['n1']}]}"),
     false, true, false},
    /* hostname is a per-node label */
    {REQ("{'matchExpressions':[{'key':'kubernetes.io/hostname','operator':'In','values':["
	 "'n3']}]}"),
     false, false, true},
    {"'nodeSelector':{'kubernetes.io/hostname':'n1'}", true, false, false},
    /* nodeSelector AND affinity */
    {"'nodeSelector':{'zone':'b'}," REQ(
	 "{'matchExpressions':[{'key':'zone','operator':'In','values':['a']}]}"),
     false, false, false},
};

static void test_affinity_operators(void **state)
{
	for (size_t i = 0; i < NELEM(aff_cases); i++) {
		const struct aff_case *ac = &aff_cases[i];
		wf_sched *s = wf_sched_new(NULL);
		node(s, "n1", 8, 8, 0, "'zone':'a','gpu.count':'8','tier':'gold'", "");
		node(s, "n2", 8, 8, 0, "'zone':'b','gpu.count':'4'", "");
		node(s, "n3", 8, 8, 0, "'zone':'c','gpu.count':'x'", "");
		pod(s, "p", 100, 0, ac->spec);
		const bool want[3] = {ac->n1, ac->n2, ac->n3};
		const char *names[3] = {"n1", "n2", "n3"};
		for (int k = 0; k < 3; k++) {
			char why[512];
			int code = explain(s, "p", names[k], why, sizeof(why));
			if ((code == WF_SCHED_SUCCESS) != want[k])
				fail_msg("case %zu (%s) on %s: got %d (%s)", i, ac->spec, names[k],
					 code, why);
			if (code != WF_SCHED_SUCCESS)
				assert_string_equal(
				    why, "node(s) didn't match Pod's node affinity/selector");
		}
		/* The scheduling cycle agrees: a fitting node is chosen, or none. */
		wf_sched_decision d[4];
		int n = run(s, 1000, d, NELEM(d));
		assert_true(n >= 1);
		if (ac->n1 || ac->n2 || ac->n3) {
			assert_int_equal(d[0].kind, WF_SCHED_DEC_BIND);
			int k = d[0].node[1] - '1';
			assert_true(want[k]);
		} else {
			assert_int_equal(d[0].kind, WF_SCHED_DEC_UNSCHEDULABLE);
		}
		wf_sched_free(s);
	}
}

/* ---- fast path == reference on random clusters ------------------------------------- */

static uint64_t rng = 88172645463325252ull;
/* For random pods on a random cluster: a BIND goes to a node the reference
 * filter accepts at that moment; UNSCHEDULABLE means no node accepted it.
 * GPUs are never over-committed. */
static void test_fast_path_matches_reference(void **state)
{
	static const char *zones[] = {"a", "b", "c"};
	static const char *taints[] = {"",
				       "[{'key':'gpu','value':'reserved','effect':'NoSchedule'}]",
				       "[{'key':'spot','effect':'PreferNoSchedule'}]"};
	for (int round = 0; round < 6; round++) {
		wf_sched *s = wf_sched_new(NULL);
		int nn = 20 + (int)rnd(&rng, 40);
		for (int i = 0; i < nn; i++) {
			char name[16], labels[128];
			snprintf(name, sizeof(name), "n%d", i);
			snprintf(labels, sizeof(labels), "'zone':'%s'", zones[rnd(&rng, 3)]);
			int gpus = rnd(&rng, 3) == 0 ? 0 : (int)(1 + rnd(&rng, 8));
			node(s, name, 4 + (int)rnd(&rng, 60), 16 + (int)rnd(&rng, 200), gpus,
			     labels, taints[rnd(&rng, 3)]);
		}
		for (int i = 0; i < 300; i++) {
			char name[16], extra[512] = "";
			snprintf(name, sizeof(name), "p%d", i);
			switch (rnd(&rng, 5)) {
			case 0:
				snprintf(extra, sizeof(extra), "'nodeSelector':{'zone':'%s'}",
					 zones[rnd(&rng, 3)]);
				break;
			case 1:
				snprintf(extra, sizeof(extra),
					 "'tolerations':[{'key':'gpu','operator':'Exists'}]");
				break;
			case 2:
				snprintf(
				    extra, sizeof(extra),
				    REQ("{'matchExpressions':[{'key':'zone','operator':'NotIn',"
					"'values':['%s']}]}"),
				    zones[rnd(&rng, 3)]);
				break;
			default:
				break;
			}
			pod(s, name, 100 + (int)rnd(&rng, 8000),
			    rnd(&rng, 2) ? (int)rnd(&rng, 5) : 0, extra);
		}
		wf_sched_decision d[64];
		int binds = 0, unsched = 0;
		for (int step = 0; step < 400; step++) {
			int n = run(s, 1000 + step, d, 1);
			if (!n)
				break;
			if (d[0].kind == WF_SCHED_DEC_BIND) {
				/* explain judges the pod as if it were not placed yet */
				char why[512];
				int code = explain(s, d[0].name, d[0].node, why, sizeof(why));
				if (code != WF_SCHED_SUCCESS)
					fail_msg("%s bound to %s which rejects it: %s", d[0].name,
						 d[0].node, why);
				assert_int_equal(wf_sched_bound(s, d[0].ns, d[0].name, NULL), 0);
				binds++;
			} else if (d[0].kind == WF_SCHED_DEC_UNSCHEDULABLE) {
				unsched++;
				for (int k = 0; k < nn; k++) {
					char nname[16], why[512];
					snprintf(nname, sizeof(nname), "n%d", k);
					int code = explain(s, d[0].name, nname, why, sizeof(why));
					if (code == WF_SCHED_SUCCESS)
						fail_msg("%s unschedulable but fits %s", d[0].name,
							 nname);
				}
			}
		}
		/* Both outcomes were exercised. */
		assert_true(binds > 20);
		assert_true(unsched > 0);
		for (int k = 0; k < nn; k++) {
			char nname[16];
			int64_t a = 0, u = 0;
			snprintf(nname, sizeof(nname), "n%d", k);
			wf_sched_node_usage(s, nname, "nvidia.com/gpu", &a, &u);
			assert_true(u <= a);
			assert_true(wf_sched_node_usage(s, nname, "cpu", &a, &u));
			assert_true(u <= a);
		}
		wf_sched_free(s);
	}
}

/* ---- GPU exclusivity under churn ----------------------------------------------------- */

static void test_gpu_never_overcommitted(void **state)
{
	wf_sched *s = *state;
	for (int i = 0; i < 10; i++) {
		char name[16];
		snprintf(name, sizeof(name), "g%d", i);
		node(s, name, 64, 512, 1 + i % 8, "", "");
	}
	wf_sched_decision d[256];
	int live = 0;
	for (int round = 0; round < 30; round++) {
		for (int i = 0; i < 40; i++) {
			char name[32];
			snprintf(name, sizeof(name), "r%d-%d", round, i);
			pod(s, name, 10, 1 + (int)rnd(&rng, 4), "");
		}
		int n;
		int64_t t = 1000 + round * 100000;
		while ((n = run(s, t, d, NELEM(d))) > 0) {
			for (int i = 0; i < n; i++) {
				if (d[i].kind == WF_SCHED_DEC_BIND) {
					live++;
					if (rnd(&rng, 2))
						assert_int_equal(
						    wf_sched_bound(s, d[i].ns, d[i].name, NULL), 0);
					else if (rnd(&rng, 4) == 0)
						assert_int_equal(wf_sched_bind_failed(s, d[i].ns,
										      d[i].name, t,
										      NULL),
								 0);
				}
			}
			t += 20000;
		}
		for (int k = 0; k < 10; k++) {
			char nname[16];
			int64_t a, u;
			snprintf(nname, sizeof(nname), "g%d", k);
			assert_true(wf_sched_node_usage(s, nname, "nvidia.com/gpu", &a, &u));
			assert_true(u >= 0 && u <= a);
		}
		/* Delete a random third of the pods of this round. */
		for (int i = 0; i < 40; i++) {
			if (rnd(&rng, 3))
				continue;
			char name[32];
			snprintf(name, sizeof(name), "r%d-%d", round, i);
			wf_sched_pod_remove(s, "default", name, NULL);
		}
	}
	assert_true(live > 0);
	wf_sched_stats st;
	wf_sched_stats_get(s, &st);
	int64_t total = 0;
	for (int k = 0; k < 10; k++) {
		char nname[16];
		int64_t a, u;
		snprintf(nname, sizeof(nname), "g%d", k);
		wf_sched_node_usage(s, nname, "pods", &a, &u);
		total += u;
	}
	assert_int_equal(total, (int64_t)(st.assumed + st.bound));
}

/* Every node its own class (a unique rack label) and a profile per pod:
 * the class caches exceed their budget and idle ones are dropped, and every
 * pod still lands on the one node its selector names. */
static void test_many_classes_and_profiles(void **state)
{
	wf_sched *s = wf_sched_new(NULL);
	enum { N = 600 };
	for (int i = 0; i < N; i++) {
		char name[16], labels[64];
		snprintf(name, sizeof(name), "n%d", i);
		snprintf(labels, sizeof(labels), "'rack':'r%d'", i);
		node(s, name, 8, 8, 0, labels, "");
	}
	wf_sched_stats st;
	wf_sched_stats_get(s, &st);
	assert_int_equal(st.node_classes, N);
	wf_sched_decision d[4];
	for (int round = 0; round < 2; round++) {
		for (int i = 0; i < N; i++) {
			char name[16], sel[64];
			snprintf(name, sizeof(name), "p%d-%d", round, i);
			snprintf(sel, sizeof(sel), "'nodeSelector':{'rack':'r%d'}", (i * 7) % N);
			pod(s, name, 100, 0, sel);
			assert_int_equal(run(s, 1000 + i, d, NELEM(d)), 1);
			assert_int_equal(d[0].kind, WF_SCHED_DEC_BIND);
			assert_int_equal(atoi(d[0].node + 1), (i * 7) % N);
		}
	}
	wf_sched_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_resources_fit, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_too_many_pods, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_node_name, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unschedulable_and_ready, setup, teardown),
	    cmocka_unit_test(test_taint_matrix),
	    cmocka_unit_test_setup_teardown(test_taint_reports_first_untolerated, setup, teardown),
	    cmocka_unit_test(test_affinity_operators),
	    cmocka_unit_test(test_fast_path_matches_reference),
	    cmocka_unit_test_setup_teardown(test_gpu_never_overcommitted, setup, teardown),
	    cmocka_unit_test(test_many_classes_and_profiles),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
