/*
 * test_sched_convert.c - Kubernetes JSON to scheduler specs (convert.c):
 * pod request computation (sum of containers, limits standing in for
 * requests, init containers and sidecars, overhead, rounding), nodes
 * (allocatable, capacity fallback, taints, readiness), PodGroups of both
 * APIs, and hostile input everywhere - wrong types, absurd sizes, huge
 * numbers, invalid quantities - which must give a clear error naming the
 * field, leave the output empty and never crash. Also the library's own
 * validation of specs built by hand: a rejected spec changes nothing.
 */
#include "sched_fixtures.h"

static int64_t req_of(const wf_sched_pod_spec *sp, const char *name)
{
	for (size_t i = 0; i < sp->nrequests; i++)
		if (strcmp(sp->requests[i].name, name) == 0)
			return sp->requests[i].amount;
	return -1;
}

/* ---- request computation ------------------------------------------------------------ */

struct req_case {
	const char *spec;
	int64_t cpu, mem, gpu; /* -1: absent */
};

#define GI (INT64_C(1) << 30)
#define MI (INT64_C(1) << 20)

static const struct req_case req_cases[] = {
    /* sum over containers */
    {"{'containers':[{'resources':{'requests':{'cpu':'500m','memory':'1Gi'}}},"
     "{'resources':{'requests':{'cpu':'1','memory':'512Mi'}}}]}",
     1500, GI + 512 * MI, -1},
    /* limits stand in for absent requests, every resource */
    {"{'containers':[{'resources':{'limits':{'cpu':'2','memory':'1Gi','nvidia.com/gpu':'1'}}}]}",
     2000, GI, 1},
    /* a request wins over its limit; limits fill the others */
    {"{'containers':[{'resources':{'requests':{'cpu':'1'},'limits':{'cpu':'2','memory':'3Gi',"
     "'nvidia.com/gpu':'2'}}}]}",
     1000, 3 * GI, 2},
    /* an init container larger than the sum sets the request */
    {"{'containers':[{'resources':{'requests':{'cpu':'1','memory':'2Gi'}}}],"
     "'initContainers':[{'resources':{'requests':{'cpu':'4','memory':'1Gi'}}}]}",
     4000, 2 * GI, -1},
    /* a sidecar adds to the sum and to later init containers' peak */
    {"{'containers':[{'resources':{'requests':{'cpu':'1'}}}],"
     "'initContainers':[{'restartPolicy':'Always','resources':{'requests':{'cpu':'1'}}},"
     "{'resources':{'requests':{'cpu':'2'}}}]}",
     3000, -1, -1},
    /* a regular init container before the sidecar does not see it */
    {"{'containers':[{'resources':{'requests':{'cpu':'1'}}}],"
     "'initContainers':[{'resources':{'requests':{'cpu':'2500m'}}},"
     "{'restartPolicy':'Always','resources':{'requests':{'cpu':'1'}}}]}",
     2500, -1, -1},
    /* overhead on top */
    {"{'containers':[{'resources':{'requests':{'cpu':'1'}}}],'overhead':{'cpu':'250m',"
     "'memory':'120Mi'}}",
     1250, 120 * MI, -1},
    /* rounding: cpu to millicores, others up to whole units */
    {"{'containers':[{'resources':{'requests':{'cpu':'0.1','memory':'1.5Gi','nvidia.com/gpu':"
     "'1.5'}}}]}",
     100, 1536 * MI, 2},
    {"{'containers':[{'resources':{'requests':{'cpu':'1m','memory':'1'}}}]}", 1, 1, -1},
    /* numbers are accepted as quantities */
    {"{'containers':[{'resources':{'requests':{'cpu':2,'memory':1024}}}]}", 2000, 1024, -1},
    /* nothing requested */
    {"{'containers':[{}, {'resources':{}}, {'resources':{'requests':null}}]}", -1, -1, -1},
    {"{}", -1, -1, -1},
};

static void test_pod_requests(void **state)
{
	for (size_t i = 0; i < NELEM(req_cases); i++) {
		char js[1024];
		snprintf(js, sizeof(js), "{'metadata':{'name':'p','namespace':'ns'},'spec':%s}",
			 req_cases[i].spec);
		json_t *j = J(js);
		wf_sched_pod_spec sp;
		wf_err err = {0};
		if (wf_sched_pod_from_json(j, &sp, &err))
			fail_msg("case %zu: %s", i, err.msg);
		if (req_of(&sp, "cpu") != req_cases[i].cpu ||
		    req_of(&sp, "memory") != req_cases[i].mem ||
		    req_of(&sp, "nvidia.com/gpu") != req_cases[i].gpu)
			fail_msg("case %zu: cpu %lld mem %lld gpu %lld", i,
				 (long long)req_of(&sp, "cpu"), (long long)req_of(&sp, "memory"),
				 (long long)req_of(&sp, "nvidia.com/gpu"));
		wf_sched_pod_spec_release(&sp);
		wf_sched_pod_spec_release(&sp); /* twice is safe */
		json_decref(j);
	}
}

static void test_pod_fields(void **state)
{
	json_t *j =
	    J("{'metadata':{'name':'w0','namespace':'team','creationTimestamp':'2026-01-02T03:04:"
	      "05Z',"
	      "'labels':{'scheduling.x-k8s.io/pod-group':'pg'},'annotations':{"
	      "'scheduling.k8s.io/group-name':'volcano'}},"
	      "'spec':{'priority':1000,'preemptionPolicy':'Never','nodeSelector':{'a':'b'},"
	      "'tolerations':[{'key':'k','operator':'Exists','effect':'NoExecute',"
	      "'tolerationSeconds':10},{'operator':'Exists'}],"
	      "'affinity':{'nodeAffinity':{'requiredDuringSchedulingIgnoredDuringExecution':{"
	      "'nodeSelectorTerms':[{'matchExpressions':[{'key':'gpu','operator':'Gt','values':['2'"
	      "]}],"
	      "'matchFields':[{'key':'metadata.name','operator':'In','values':['n1']}]}]},"
	      "'preferredDuringSchedulingIgnoredDuringExecution':[{'weight':7,'preference':{"
	      "'matchExpressions':[{'key':'z','operator':'DoesNotExist'}]}}]}},"
	      "'containers':[{}]},"
	      "'status':{'phase':'Pending','nominatedNodeName':'n1'}}");
	wf_sched_pod_spec sp;
	wf_err err = {0};
	assert_int_equal(wf_sched_pod_from_json(j, &sp, &err), 0);
	json_decref(j); /* the spec owns copies */
	assert_string_equal(sp.ns, "team");
	assert_string_equal(sp.name, "w0");
	assert_int_equal(sp.created_ms, INT64_C(1767323045000));
	assert_string_equal(sp.group, "pg"); /* the coscheduling label wins */
	assert_int_equal(sp.priority, 1000);
	assert_true(sp.preempt_never);
	assert_false(sp.bound);
	assert_false(sp.terminal);
	assert_string_equal(sp.nominated_node, "n1");
	assert_int_equal(sp.nnode_selector, 1);
	assert_string_equal(sp.node_selector[0].value, "b");
	assert_int_equal(sp.ntolerations, 2);
	assert_int_equal(sp.tolerations[0].op, WF_SCHED_TOL_EXISTS);
	assert_int_equal(sp.tolerations[0].effect, WF_SCHED_NO_EXECUTE);
	assert_int_equal(sp.tolerations[1].effect, WF_SCHED_EFFECT_ALL);
	assert_true(sp.has_required);
	assert_int_equal(sp.nrequired, 1);
	assert_int_equal(sp.required[0].nreqs, 2);
	assert_int_equal(sp.required[0].reqs[0].op, WF_SCHED_OP_GT);
	assert_false(sp.required[0].reqs[0].field);
	assert_true(sp.required[0].reqs[1].field);
	assert_int_equal(sp.npreferred, 1);
	assert_int_equal(sp.preferred[0].weight, 7);
	/* It is accepted by the library as is. */
	wf_sched *s = wf_sched_new(NULL);
	assert_int_equal(wf_sched_pod_upsert(s, &sp, &err), 0);
	wf_sched_free(s);
	wf_sched_pod_spec_release(&sp);

	j = J("{'metadata':{'name':'v','annotations':{'scheduling.k8s.io/group-name':'vg'}},"
	      "'spec':{'nodeName':'n3','containers':[]},'status':{'phase':'Failed'}}");
	assert_int_equal(wf_sched_pod_from_json(j, &sp, &err), 0);
	assert_string_equal(sp.ns, "default");
	assert_string_equal(sp.group, "vg");
	assert_true(sp.bound);
	assert_string_equal(sp.node_name, "n3");
	assert_true(sp.terminal);
	wf_sched_pod_spec_release(&sp);
	json_decref(j);
}

static void test_node_fields(void **state)
{
	json_t *j = J("{'metadata':{'name':'n1','labels':{'zone':'a'}},"
		      "'spec':{'unschedulable':true,'taints':[{'key':'gpu','value':'x','effect':"
		      "'NoSchedule'},{'key':'soft','effect':'PreferNoSchedule'}]},"
		      "'status':{'capacity':{'cpu':'64','memory':'256Gi','pods':'110',"
		      "'nvidia.com/gpu':'8'},'conditions':[{'type':'MemoryPressure','status':"
		      "'False'},{'type':'Ready','status':'False'}]}}");
	wf_sched_node_spec sp;
	wf_err err = {0};
	assert_int_equal(wf_sched_node_from_json(j, &sp, &err), 0);
	json_decref(j);
	assert_string_equal(sp.name, "n1");
	assert_true(sp.unschedulable);
	assert_int_equal(sp.ready, WF_SCHED_READY_FALSE);
	assert_int_equal(sp.ntaints, 2);
	assert_int_equal(sp.taints[1].effect, WF_SCHED_PREFER_NO_SCHEDULE);
	assert_null(sp.taints[1].value);
	assert_int_equal(sp.nallocatable, 4);
	int64_t cpu = -1, gpu = -1;
	for (size_t i = 0; i < sp.nallocatable; i++) {
		if (!strcmp(sp.allocatable[i].name, "cpu"))
			cpu = sp.allocatable[i].amount;
		if (!strcmp(sp.allocatable[i].name, "nvidia.com/gpu"))
			gpu = sp.allocatable[i].amount;
	}
	assert_int_equal(cpu, 64000);
	assert_int_equal(gpu, 8);
	wf_sched_node_spec_release(&sp);

	/* allocatable wins over capacity; Ready True */
	j = J("{'metadata':{'name':'n2'},'status':{'allocatable':{'cpu':'3500m'},'capacity':{"
	      "'cpu':'4'},'conditions':[{'type':'Ready','status':'True'}]}}");
	assert_int_equal(wf_sched_node_from_json(j, &sp, &err), 0);
	assert_int_equal(sp.nallocatable, 1);
	assert_int_equal(sp.allocatable[0].amount, 3500);
	assert_int_equal(sp.ready, WF_SCHED_READY_TRUE);
	wf_sched_node_spec_release(&sp);
	json_decref(j);
}

static void test_group_fields(void **state)
{
	wf_sched_group_spec g;
	wf_err err = {0};
	json_t *j = J("{'apiVersion':'scheduling.x-k8s.io/v1alpha1','kind':'PodGroup','metadata':{"
		      "'name':'pg','namespace':'team'},'spec':{'minMember':4,"
		      "'scheduleTimeoutSeconds':30}}");
	assert_int_equal(wf_sched_group_from_json(j, &g, &err), 0);
	assert_string_equal(g.ns, "team");
	assert_string_equal(g.name, "pg");
	assert_int_equal(g.min_member, 4);
	assert_int_equal(g.timeout_s, 30);
	wf_sched_group_spec_release(&g);
	json_decref(j);
	j = J("{'apiVersion':'scheduling.volcano.sh/v1beta1','kind':'PodGroup','metadata':{"
	      "'name':'vg'},'spec':{'minMember':2,'queue':'default'}}");
	assert_int_equal(wf_sched_group_from_json(j, &g, &err), 0);
	assert_string_equal(g.ns, "default");
	assert_int_equal(g.min_member, 2);
	assert_int_equal(g.timeout_s, 0);
	wf_sched_group_spec_release(&g);
	json_decref(j);
}

/* ---- hostile input ----------------------------------------------------------------------- */

struct bad_case {
	const char *json;
	const char *msg; /* expected substring of the error */
};

#define POD(spec) "{'metadata':{'name':'p'},'spec':" spec "}"

static const struct bad_case bad_pods[] = {
    {"[]", "expected a JSON object"},
    {"'pod'", "expected a JSON object"},
    {"42", "expected a JSON object"},
    {"null", "expected a JSON object"},
    {"{}", "metadata: Required value"},
    {"{'metadata':[]}", "metadata: expected an object"},
    {"{'metadata':{'name':42},'spec':{}}", "metadata.name: expected a string"},
    {"{'metadata':{'name':''},'spec':{}}", "metadata.name: Required value"},
    {"{'metadata':{'name':'a/b'},'spec':{}}", "metadata.name: may not contain '/'"},
    {"{'metadata':{'name':'p','namespace':7},'spec':{}}", "metadata.namespace: expected a string"},
    {"{'metadata':{'name':'p','labels':[]},'spec':{}}", "metadata.labels: expected an object"},
    {"{'metadata':{'name':'p','labels':{'scheduling.x-k8s.io/pod-group':1}},'spec':{}}",
     "pod-group: expected a string"},
    {"{'metadata':{'name':'p','annotations':{'scheduling.k8s.io/group-name':'a/b'}},'spec':{}}",
     "may not contain '/'"},
    {"{'metadata':{'name':'p'}}", "spec: Required value"},
    {"{'metadata':{'name':'p'},'spec':'x'}", "spec: expected an object"},
    {POD("{'containers':{}}"), "spec.containers: expected an array"},
    {POD("{'containers':[1]}"), "spec.containers[0]: expected an object"},
    {POD("{'containers':[{'resources':[]}]}"), "spec.containers[0].resources: expected an object"},
    {POD("{'containers':[{'resources':{'requests':'1'}}]}"),
     "spec.containers[0].resources.requests: expected an object"},
    {POD("{'containers':[{'resources':{'requests':{'cpu':true}}}]}"),
     "spec.containers[0].resources.requests.cpu: expected a quantity string"},
    {POD("{'containers':[{'resources':{'requests':{'cpu':[]}}}]}"), "expected a quantity"},
    {POD("{'containers':[{},{'resources':{'limits':{'memory':'abc'}}}]}"),
     "spec.containers[1].resources.limits.memory: quantities must match the regular expression"},
    {POD("{'containers':[{'resources':{'requests':{'cpu':'1.2.3'}}}]}"), "cpu: quantities must"},
    {POD("{'containers':[{'resources':{'requests':{'cpu':'-1'}}}]}"),
     "cpu: must be greater than or equal to 0"},
    {POD("{'containers':[{'resources':{'requests':{'cpu':-1}}}]}"),
     "must be greater than or equal to 0"},
    {POD("{'containers':[{'resources':{'requests':{'cpu':'1e999'}}}]}"),
     "cpu: quantity is too large"},
    {POD("{'containers':[{'resources':{'requests':{'memory':'99999999999999999999999'}}}]}"),
     "memory: quantity is too large"},
    {POD("{'containers':[{'resources':{'requests':{'memory':'4Ei'}}}]}"),
     "memory: quantity too large"},
    {POD("{'containers':[{'resources':{'requests':{'memory':'3Pi'}}},"
	 "{'resources':{'requests':{'memory':'3Pi'}}}]}"),
     "sum of memory requests too large"},
    {POD("{'containers':[{'resources':{'requests':{'':'1'}}}]}"), "invalid resource name"},
    {POD("{'containers':[{'resources':{'requests':{'cpu':'1Kii'}}}]}"),
     "unable to parse quantity's suffix"},
    {POD("{'initContainers':[{'restartPolicy':3}]}"),
     "spec.initContainers[0].restartPolicy: expected a string"},
    {POD("{'overhead':{'cpu':'x'}}"), "spec.overhead.cpu: quantities must"},
    {POD("{'priority':'high'}"), "spec.priority: expected an integer"},
    {POD("{'priority':1.5}"), "spec.priority: expected an integer"},
    {POD("{'priority':1099511627776}"), "spec.priority: 1099511627776 out of range"},
    {POD("{'priority':-2147483649}"), "out of range"},
    {POD("{'preemptionPolicy':'Sometimes'}"), "spec.preemptionPolicy: Unsupported value"},
    {POD("{'nodeName':5}"), "spec.nodeName: expected a string"},
    {POD("{'nodeSelector':{'a':1}}"), "spec.nodeSelector.a: expected a string"},
    {POD("{'nodeSelector':[]}"), "spec.nodeSelector: expected an object"},
    {POD("{'tolerations':{}}"), "spec.tolerations: expected an array"},
    {POD("{'tolerations':['x']}"), "spec.tolerations[0]: expected an object"},
    {POD("{'tolerations':[{'key':'a','operator':'Like'}]}"),
     "spec.tolerations[0].operator: Unsupported value: \"Like\""},
    {POD("{'tolerations':[{'key':'a','effect':'Sometimes'}]}"),
     "spec.tolerations[0].effect: Unsupported value"},
    {POD("{'tolerations':[{'operator':'Equal','value':'x'}]}"),
     "operator must be Exists when `key` is empty"},
    {POD("{'tolerations':[{'key':'a','operator':'Exists','value':'x'}]}"),
     "value must be empty when `operator` is 'Exists'"},
    {POD("{'tolerations':[{'key':'a','tolerationSeconds':'10'}]}"),
     "tolerationSeconds: expected an integer"},
    {POD("{'affinity':[]}"), "spec.affinity: expected an object"},
    {POD("{'affinity':{'nodeAffinity':{'requiredDuringSchedulingIgnoredDuringExecution':{"
	 "'nodeSelectorTerms':{}}}}}"),
     "nodeSelectorTerms: expected an array"},
    {POD("{'affinity':{'nodeAffinity':{'requiredDuringSchedulingIgnoredDuringExecution':{"
	 "'nodeSelectorTerms':[]}}}}"),
     "must have at least one node selector term"},
    {POD("{'affinity':{'nodeAffinity':{'requiredDuringSchedulingIgnoredDuringExecution':{"
	 "'nodeSelectorTerms':[{'matchExpressions':[{'key':'a','operator':'Near'}]}]}}}}"),
     "nodeSelectorTerms[0].matchExpressions[0].operator: Invalid value: \"Near\""},
    {POD("{'affinity':{'nodeAffinity':{'requiredDuringSchedulingIgnoredDuringExecution':{"
	 "'nodeSelectorTerms':[{'matchExpressions':[{'key':'a','operator':'In'}]}]}}}}"),
     "must be specified when `operator` is 'In' or 'NotIn'"},
    {POD("{'affinity':{'nodeAffinity':{'requiredDuringSchedulingIgnoredDuringExecution':{"
	 "'nodeSelectorTerms':[{'matchExpressions':[{'key':'a','operator':'Exists','values':"
	 "['x']}]}]}}}}"),
     "may not be specified when `operator` is 'Exists'"},
    {POD("{'affinity':{'nodeAffinity':{'requiredDuringSchedulingIgnoredDuringExecution':{"
	 "'nodeSelectorTerms':[{'matchExpressions':[{'key':'a','operator':'Gt','values':"
	 "['ten']}]}]}}}}"),
     "Invalid value: \"ten\": must be an integer"},
    {POD("{'affinity':{'nodeAffinity':{'requiredDuringSchedulingIgnoredDuringExecution':{"
	 "'nodeSelectorTerms':[{'matchExpressions':[{'key':'a','operator':'Lt','values':"
	 "['1','2']}]}]}}}}"),
     "must be specified single value when `operator` is 'Lt' or 'Gt'"},
    {POD("{'affinity':{'nodeAffinity':{'requiredDuringSchedulingIgnoredDuringExecution':{"
	 "'nodeSelectorTerms':[{'matchExpressions':[{'key':'a','operator':'In','values':"
	 "[1]}]}]}}}}"),
     "values[0]: expected a string"},
    {POD("{'affinity':{'nodeAffinity':{'requiredDuringSchedulingIgnoredDuringExecution':{"
	 "'nodeSelectorTerms':[{'matchFields':[{'key':'metadata.uid','operator':'In',"
	 "'values':['x']}]}]}}}}"),
     "not a valid field selector key"},
    {POD("{'affinity':{'nodeAffinity':{'requiredDuringSchedulingIgnoredDuringExecution':{"
	 "'nodeSelectorTerms':[{'matchFields':[{'key':'metadata.name','operator':'Exists'}]}"
	 "]}}}}"),
     "not a valid field selector operator"},
    {POD("{'affinity':{'nodeAffinity':{'requiredDuringSchedulingIgnoredDuringExecution':{"
	 "'nodeSelectorTerms':[{'matchExpressions':[{'operator':'Exists'}]}]}}}}"),
     "matchExpressions[0].key: Required value"},
    {POD("{'affinity':{'nodeAffinity':{'preferredDuringSchedulingIgnoredDuringExecution':[{"
	 "'weight':0,'preference':{}}]}}}"),
     "weight: 0 out of range [1, 100]"},
    {POD("{'affinity':{'nodeAffinity':{'preferredDuringSchedulingIgnoredDuringExecution':[{"
	 "'weight':101,'preference':{}}]}}}"),
     "out of range"},
    {POD("{'affinity':{'nodeAffinity':{'preferredDuringSchedulingIgnoredDuringExecution':[{"
	 "'preference':{}}]}}}"),
     "weight: Required value"},
    {POD("{'affinity':{'nodeAffinity':{'preferredDuringSchedulingIgnoredDuringExecution':[{"
	 "'weight':5}]}}}"),
     "preference: Required value"},
    {"{'metadata':{'name':'p'},'spec':{},'status':{'phase':1}}", "status.phase: expected a string"},
};

static void test_bad_pods(void **state)
{
	for (size_t i = 0; i < NELEM(bad_pods); i++) {
		json_t *j = J(bad_pods[i].json);
		wf_sched_pod_spec sp;
		memset(&sp, 0x5a, sizeof(sp));
		wf_err err = {0};
		int rc = wf_sched_pod_from_json(j, &sp, &err);
		if (rc != -WF_EINVAL || !strstr(err.msg, bad_pods[i].msg))
			fail_msg("case %zu %s: rc %d msg '%s', want '%s'", i, bad_pods[i].json, rc,
				 err.msg, bad_pods[i].msg);
		assert_null(sp.storage_);
		assert_null(sp.name);
		assert_int_equal(sp.nrequests, 0);
		wf_sched_pod_spec_release(&sp);
		json_decref(j);
	}
}

static void test_oversized(void **state)
{
	/* 5,000 containers: too many. */
	json_t *cts = json_array();
	for (int i = 0; i < 5000; i++)
		json_array_append_new(
		    cts, json_pack("{s:{s:{s:s}}}", "resources", "requests", "cpu", "1m"));
	json_t *pod =
	    json_pack("{s:{s:s},s:{s:o}}", "metadata", "name", "p", "spec", "containers", cts);
	wf_sched_pod_spec sp;
	wf_err err = {0};
	assert_int_equal(wf_sched_pod_from_json(pod, &sp, &err), -WF_ETOOBIG);
	assert_non_null(strstr(err.msg, "spec.containers: too many items"));
	json_decref(pod);

	/* 4,000 containers is allowed, and the sum is exact. */
	cts = json_array();
	for (int i = 0; i < 4000; i++)
		json_array_append_new(
		    cts, json_pack("{s:{s:{s:s}}}", "resources", "requests", "cpu", "1m"));
	pod = json_pack("{s:{s:s},s:{s:o}}", "metadata", "name", "p", "spec", "containers", cts);
	assert_int_equal(wf_sched_pod_from_json(pod, &sp, &err), 0);
	assert_int_equal(req_of(&sp, "cpu"), 4000);
	wf_sched_pod_spec_release(&sp);
	json_decref(pod);

	/* A huge label map and a long name. */
	json_t *labels = json_object();
	for (int i = 0; i < 5000; i++) {
		char k[32];
		snprintf(k, sizeof(k), "k%d", i);
		json_object_set_new(labels, k, json_string("v"));
	}
	json_t *node = json_pack("{s:{s:s,s:o}}", "metadata", "name", "n", "labels", labels);
	wf_sched_node_spec ns;
	assert_int_equal(wf_sched_node_from_json(node, &ns, &err), -WF_ETOOBIG);
	json_decref(node);
	char *longname = wf_xmalloc(100001);
	memset(longname, 'x', 100000);
	longname[100000] = '\0';
	node = json_pack("{s:{s:s},s:{s:{s:s}}}", "metadata", "name", longname, "status",
			 "allocatable", "cpu", "1");
	assert_int_equal(wf_sched_node_from_json(node, &ns, &err), 0);
	wf_sched *s = wf_sched_new(NULL);
	assert_int_equal(wf_sched_node_upsert(s, &ns, &err), 0);
	wf_sched_free(s);
	wf_sched_node_spec_release(&ns);
	json_decref(node);
	free(longname);
}

/* A spec's storage starts small and grows: thousands of strings of every
 * size come out intact (ASan checks the blocks' bounds). */
static void test_storage_grows(void **state)
{
	json_t *labels = json_object();
	for (int i = 0; i < 4000; i++) {
		char k[32], v[80];
		snprintf(k, sizeof(k), "k%d", i);
		snprintf(v, sizeof(v), "%.*s", i % 63,
			 "vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv");
		json_object_set_new(labels, k, json_string(v));
	}
	json_t *node = json_pack("{s:{s:s,s:o}}", "metadata", "name", "n", "labels", labels);
	wf_sched_node_spec ns;
	wf_err err = {0};
	assert_int_equal(wf_sched_node_from_json(node, &ns, &err), 0);
	assert_int_equal(ns.nlabels, 4000);
	for (size_t i = 0; i < ns.nlabels; i++) {
		int k = atoi(ns.labels[i].key + 1);
		assert_int_equal(strlen(ns.labels[i].value), (size_t)(k % 63));
		assert_string_equal(json_string_value(json_object_get(labels, ns.labels[i].key)),
				    ns.labels[i].value);
	}
	wf_sched_node_spec_release(&ns);
	wf_sched_node_spec_release(&ns); /* twice: nothing */
	json_decref(node);
}

static const struct bad_case bad_nodes[] = {
    {"{'metadata':{}}", "metadata.name: Required value"},
    {"{'metadata':{'name':'n'},'spec':{'unschedulable':'yes'}}",
     "spec.unschedulable: expected a boolean"},
    {"{'metadata':{'name':'n'},'spec':{'taints':[{'key':'a','effect':'Sometimes'}]}}",
     "spec.taints[0].effect: Unsupported value: \"Sometimes\""},
    {"{'metadata':{'name':'n'},'spec':{'taints':[{'key':'a'}]}}",
     "spec.taints[0].effect: Required value"},
    {"{'metadata':{'name':'n'},'spec':{'taints':[{'effect':'NoSchedule'}]}}",
     "spec.taints[0].key: Required value"},
    {"{'metadata':{'name':'n'},'spec':{'taints':[[]]}}", "spec.taints[0]: expected an object"},
    {"{'metadata':{'name':'n'},'status':{'allocatable':{'cpu':'lots'}}}",
     "status.allocatable.cpu: quantities must match"},
    {"{'metadata':{'name':'n'},'status':{'capacity':{'memory':'-4Gi'}}}",
     "status.capacity.memory: must be greater than or equal to 0"},
    {"{'metadata':{'name':'n'},'status':{'allocatable':[]}}",
     "status.allocatable: expected an object"},
    {"{'metadata':{'name':'n'},'status':{'conditions':{}}}",
     "status.conditions: expected an array"},
    {"{'metadata':{'name':'n'},'status':{'conditions':[{'type':'Ready','status':true}]}}",
     "status.conditions[0].status: expected a string"},
    {"{'metadata':{'name':'n'},'status':{'conditions':[7]}}",
     "status.conditions[0]: expected an object"},
};

static const struct bad_case bad_groups[] = {
    {"{'apiVersion':'v1','metadata':{'name':'g'},'spec':{'minMember':1}}",
     "apiVersion: Unsupported value: \"v1\""},
    {"{'metadata':{'name':'g'},'spec':{'minMember':1}}", "apiVersion: Unsupported value"},
    {"{'apiVersion':'scheduling.x-k8s.io/v1alpha1','kind':'Pod','metadata':{'name':'g'},"
     "'spec':{'minMember':1}}",
     "kind: expected PodGroup"},
    {"{'apiVersion':'scheduling.x-k8s.io/v1alpha1','metadata':{'name':'g'},'spec':{}}",
     "spec.minMember: must be at least 1"},
    {"{'apiVersion':'scheduling.x-k8s.io/v1alpha1','metadata':{'name':'g'}}",
     "spec.minMember: must be at least 1"},
    {"{'apiVersion':'scheduling.volcano.sh/v1beta1','metadata':{'name':'g'},'spec':{"
     "'minMember':0}}",
     "spec.minMember: must be at least 1"},
    {"{'apiVersion':'scheduling.x-k8s.io/v1alpha1','metadata':{'name':'g'},'spec':{"
     "'minMember':'3'}}",
     "spec.minMember: expected an integer"},
    {"{'apiVersion':'scheduling.x-k8s.io/v1alpha1','metadata':{'name':'g'},'spec':{"
     "'minMember':99999999999}}",
     "spec.minMember: 99999999999 out of range"},
    {"{'apiVersion':'scheduling.x-k8s.io/v1alpha1','metadata':{'name':'g'},'spec':{"
     "'minMember':2,'scheduleTimeoutSeconds':-5}}",
     "spec.scheduleTimeoutSeconds: -5 out of range"},
    {"{'apiVersion':'scheduling.x-k8s.io/v1alpha1','metadata':{'name':'g'},'spec':[]}",
     "spec: expected an object"},
};

static void test_bad_nodes_and_groups(void **state)
{
	for (size_t i = 0; i < NELEM(bad_nodes); i++) {
		json_t *j = J(bad_nodes[i].json);
		wf_sched_node_spec sp;
		wf_err err = {0};
		int rc = wf_sched_node_from_json(j, &sp, &err);
		if (rc != -WF_EINVAL || !strstr(err.msg, bad_nodes[i].msg))
			fail_msg("node case %zu: rc %d msg '%s'", i, rc, err.msg);
		assert_null(sp.storage_);
		wf_sched_node_spec_release(&sp);
		json_decref(j);
	}
	for (size_t i = 0; i < NELEM(bad_groups); i++) {
		json_t *j = J(bad_groups[i].json);
		wf_sched_group_spec sp;
		wf_err err = {0};
		int rc = wf_sched_group_from_json(j, &sp, &err);
		if (rc != -WF_EINVAL || !strstr(err.msg, bad_groups[i].msg))
			fail_msg("group case %zu: rc %d msg '%s'", i, rc, err.msg);
		assert_null(sp.storage_);
		wf_sched_group_spec_release(&sp);
		json_decref(j);
	}
	wf_sched_node_spec_release(NULL);
	wf_sched_pod_spec_release(NULL);
	wf_sched_group_spec_release(NULL);
}

/* Replace the target-th value (depth-first) of j with a copy of r; returns
 * the number of values seen. */
static int replace_nth(json_t *j, int *seen, int target, json_t *r)
{
	if (json_is_object(j)) {
		const char *k;
		json_t *v;
		void *tmp;
		json_object_foreach_safe(j, tmp, k, v)
		{
			if ((*seen)++ == target) {
				json_object_set_new(j, k, json_deep_copy(r));
				return 1;
			}
			if (replace_nth(v, seen, target, r))
				return 1;
		}
	} else if (json_is_array(j)) {
		for (size_t i = 0; i < json_array_size(j); i++) {
			if ((*seen)++ == target) {
				json_array_set_new(j, i, json_deep_copy(r));
				return 1;
			}
			if (replace_nth(json_array_get(j, i), seen, target, r))
				return 1;
		}
	}
	return 0;
}

/* Every value of rich Pod, Node and PodGroup documents replaced by every
 * kind of wrong value: an error or a spec, never a crash, never a leak, and
 * whatever converts is accepted or cleanly refused by the library. */
static void test_wrong_types_everywhere(void **state)
{
	const char *docs[] = {
	    "{'metadata':{'name':'w0','namespace':'team','creationTimestamp':'2026-01-02T03:04:05Z'"
	    ","
	    "'labels':{'scheduling.x-k8s.io/pod-group':'pg'},'annotations':{"
	    "'scheduling.k8s.io/group-name':'v'}},'spec':{'priority':10,'nodeName':'',"
	    "'preemptionPolicy':'Never','nodeSelector':{'a':'b'},'overhead':{'cpu':'1'},"
	    "'tolerations':[{'key':'k','operator':'Exists','effect':'NoExecute',"
	    "'tolerationSeconds':10}],'affinity':{'nodeAffinity':{"
	    "'requiredDuringSchedulingIgnoredDuringExecution':{'nodeSelectorTerms':[{"
	    "'matchExpressions':[{'key':'gpu','operator':'Gt','values':['2']}],'matchFields':[{"
	    "'key':'metadata.name','operator':'In','values':['n1']}]}]},"
	    "'preferredDuringSchedulingIgnoredDuringExecution':[{'weight':7,'preference':{"
	    "'matchExpressions':[{'key':'z','operator':'In','values':['a']}]}}]}},"
	    "'initContainers':[{'restartPolicy':'Always','resources':{'requests':{'cpu':'1'}}}],"
	    "'containers':[{'resources':{'requests':{'cpu':'1','memory':'1Gi'},'limits':{"
	    "'nvidia.com/gpu':'1'}}}]},'status':{'phase':'Pending','nominatedNodeName':'n1'}}",
	    "{'metadata':{'name':'n1','labels':{'zone':'a'}},'spec':{'unschedulable':false,"
	    "'taints':[{'key':'gpu','value':'x','effect':'NoSchedule'}]},'status':{'allocatable':{"
	    "'cpu':'64','memory':'256Gi','nvidia.com/gpu':'8'},'conditions':[{'type':'Ready',"
	    "'status':'True'}]}}",
	    "{'apiVersion':'scheduling.x-k8s.io/v1alpha1','kind':'PodGroup','metadata':{'name':"
	    "'pg','namespace':'team'},'spec':{'minMember':4,'scheduleTimeoutSeconds':30}}",
	};
	json_t *bad[] = {json_null(),	      json_true(),
			 json_integer(-1),    json_integer(INT64_MAX),
			 json_real(1e300),    json_string(""),
			 json_string("-9Ei"), json_array(),
			 json_object(),	      json_pack("[s,i,{}]", "x", 3)};
	char *longstr = wf_xmalloc(70001);
	memset(longstr, 'A', 70000);
	longstr[70000] = '\0';
	json_t *lng = json_string(longstr);
	free(longstr);
	int converted = 0, refused = 0;
	for (size_t d = 0; d < NELEM(docs); d++) {
		json_t *orig = J(docs[d]);
		for (int target = 0;; target++) {
			int seen = 0;
			json_t *probe = json_deep_copy(orig);
			int hit = replace_nth(probe, &seen, target, json_null());
			json_decref(probe);
			if (!hit)
				break;
			for (size_t b = 0; b <= NELEM(bad); b++) {
				json_t *doc = json_deep_copy(orig);
				seen = 0;
				replace_nth(doc, &seen, target, b < NELEM(bad) ? bad[b] : lng);
				wf_err err = {0};
				wf_sched *s = wf_sched_new(NULL);
				int rc;
				if (d == 0) {
					wf_sched_pod_spec sp;
					rc = wf_sched_pod_from_json(doc, &sp, &err);
					if (!rc)
						wf_sched_pod_upsert(s, &sp, &err);
					wf_sched_pod_spec_release(&sp);
				} else if (d == 1) {
					wf_sched_node_spec sp;
					rc = wf_sched_node_from_json(doc, &sp, &err);
					if (!rc)
						wf_sched_node_upsert(s, &sp, &err);
					wf_sched_node_spec_release(&sp);
				} else {
					wf_sched_group_spec sp;
					rc = wf_sched_group_from_json(doc, &sp, &err);
					if (!rc)
						wf_sched_group_upsert(s, &sp, &err);
					wf_sched_group_spec_release(&sp);
				}
				if (rc) {
					assert_true(rc == -WF_EINVAL || rc == -WF_ETOOBIG);
					assert_true(strlen(err.msg) > 0);
					refused++;
				} else {
					converted++;
				}
				wf_sched_decision dec[8];
				assert_true(wf_sched_schedule(s, 1000, dec, NELEM(dec)) >= 0);
				wf_sched_free(s);
				json_decref(doc);
			}
		}
		json_decref(orig);
	}
	assert_true(refused > 100);
	assert_true(converted > 10);
	for (size_t b = 0; b < NELEM(bad); b++)
		json_decref(bad[b]);
	json_decref(lng);
}

/* ---- the library's own validation: rejected specs change nothing ----------------------- */

static void test_library_rejects_bad_specs(void **state)
{
	wf_sched *s = wf_sched_new(NULL);
	wf_err err = {0};
	wf_sched_resource cpu = {"cpu", 1000};
	wf_sched_node_spec n = {.name = "n", .allocatable = &cpu, .nallocatable = 1};
	assert_int_equal(wf_sched_node_upsert(s, &n, &err), 0);

	wf_sched_resource neg = {"cpu", -1};
	wf_sched_node_spec bad = n;
	bad.allocatable = &neg;
	assert_int_equal(wf_sched_node_upsert(s, &bad, &err), -WF_EINVAL);
	bad = n;
	bad.name = "";
	assert_int_equal(wf_sched_node_upsert(s, &bad, &err), -WF_EINVAL);
	wf_sched_taint t = {.key = "k", .effect = WF_SCHED_EFFECT_ALL};
	bad = n;
	bad.taints = &t;
	bad.ntaints = 1;
	assert_int_equal(wf_sched_node_upsert(s, &bad, &err), -WF_EINVAL);
	assert_non_null(strstr(err.msg, "invalid effect"));
	wf_sched_label l = {.key = "k", .value = NULL};
	bad = n;
	bad.labels = &l;
	bad.nlabels = 1;
	assert_int_equal(wf_sched_node_upsert(s, &bad, &err), -WF_EINVAL);
	int64_t a, u;
	assert_true(wf_sched_node_usage(s, "n", "cpu", &a, &u));
	assert_int_equal(a, 1000);

	/* 64 resource names at most. */
	wf_sched_resource many[70];
	char names[70][32];
	for (int i = 0; i < 70; i++) {
		snprintf(names[i], sizeof(names[i]), "example.com/r%d", i);
		many[i] = (wf_sched_resource){names[i], 1};
	}
	wf_sched_node_spec big = {.name = "big", .allocatable = many, .nallocatable = 70};
	assert_int_equal(wf_sched_node_upsert(s, &big, &err), -WF_ETOOBIG);
	assert_non_null(strstr(err.msg, "too many distinct resource names"));
	assert_false(wf_sched_node_usage(s, "big", "cpu", &a, &u));

	wf_sched_pod_spec p = {.ns = "default", .name = "p", .requests = &cpu, .nrequests = 1};
	wf_sched_pod_spec bp = p;
	bp.requests = &neg;
	assert_int_equal(wf_sched_pod_upsert(s, &bp, &err), -WF_EINVAL);
	bp = p;
	bp.ns = NULL;
	assert_int_equal(wf_sched_pod_upsert(s, &bp, &err), -WF_EINVAL);
	bp = p;
	bp.bound = true;
	assert_int_equal(wf_sched_pod_upsert(s, &bp, &err), -WF_EINVAL);
	bp = p;
	bp.group = "a/b";
	assert_int_equal(wf_sched_pod_upsert(s, &bp, &err), -WF_EINVAL);
	const char *vals[] = {"ten"};
	wf_sched_requirement r = {.key = "k", .op = WF_SCHED_OP_GT, .values = vals, .nvalues = 1};
	wf_sched_term term = {&r, 1};
	bp = p;
	bp.has_required = true;
	bp.required = &term;
	bp.nrequired = 1;
	assert_int_equal(wf_sched_pod_upsert(s, &bp, &err), -WF_EINVAL);
	assert_non_null(strstr(err.msg, "Gt and Lt need one integer value"));
	r.op = (wf_sched_op)42;
	assert_int_equal(wf_sched_pod_upsert(s, &bp, &err), -WF_EINVAL);
	r.op = WF_SCHED_OP_IN;
	r.field = true;
	assert_int_equal(wf_sched_pod_upsert(s, &bp, &err), -WF_EINVAL);
	wf_sched_preferred pf = {.weight = 500, .term = term};
	bp = p;
	bp.preferred = &pf;
	bp.npreferred = 1;
	assert_int_equal(wf_sched_pod_upsert(s, &bp, &err), -WF_EINVAL);
	wf_sched_toleration tol = {.key = NULL, .op = WF_SCHED_TOL_EQUAL};
	bp = p;
	bp.tolerations = &tol;
	bp.ntolerations = 1;
	assert_int_equal(wf_sched_pod_upsert(s, &bp, &err), -WF_EINVAL);
	tol.op = (wf_sched_tol_op)9;
	assert_int_equal(wf_sched_pod_upsert(s, &bp, &err), -WF_EINVAL);
	bp = p;
	bp.nrequests = 70;
	bp.requests = many;
	assert_int_equal(wf_sched_pod_upsert(s, &bp, &err), -WF_ETOOBIG);

	wf_sched_stats st;
	wf_sched_stats_get(s, &st);
	assert_int_equal(st.pods, 0);
	assert_int_equal(st.nodes, 1);
	assert_int_equal(wf_sched_pod_remove(s, "default", "p", &err), -WF_ENOENT);
	assert_int_equal(wf_sched_node_remove(s, "zz", &err), -WF_ENOENT);
	assert_int_equal(wf_sched_pod_upsert(s, &p, &err), 0);
	wf_sched_stats_get(s, &st);
	assert_int_equal(st.pods, 1);
	wf_sched_free(s);
	wf_sched_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_pod_requests),
	    cmocka_unit_test(test_pod_fields),
	    cmocka_unit_test(test_node_fields),
	    cmocka_unit_test(test_group_fields),
	    cmocka_unit_test(test_bad_pods),
	    cmocka_unit_test(test_oversized),
	    cmocka_unit_test(test_storage_grows),
	    cmocka_unit_test(test_bad_nodes_and_groups),
	    cmocka_unit_test(test_wrong_types_everywhere),
	    cmocka_unit_test(test_library_rejects_bad_specs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
