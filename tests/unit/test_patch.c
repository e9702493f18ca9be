/*
 * test_patch.c - the three patch engines: JSON merge patch, strategic merge
 * patch and JSON patch. Tables of cases (documents written with ' for " to
 * stay readable), the kubectl apply bodies, every error path, and checks
 * that inputs are never changed and results share nothing with them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "api/patch.h"

/* ---- helpers ------------------------------------------------------------ */

/* Parse a document written with ' for ". */
static json_t *J(const char *s)
{
	char *t = strdup(s);
	assert_non_null(t);
	for (char *p = t; *p; p++)
		if (*p == '\'')
			*p = '"';
	json_error_t je;
	json_t *v = json_loads(t, JSON_DECODE_ANY, &je);
	if (!v)
		fail_msg("bad test JSON %s: %s", s, je.text);
	free(t);
	return v;
}

static char *dump(const json_t *v)
{
	return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_SORT_KEYS);
}

/* Assert got equals want (order of arrays matters); takes neither. */
static void expect_json(const char *what, const json_t *got, const char *want)
{
	json_t *w = J(want);
	if (!wf_json_equal(got, w)) {
		char *g = dump(got), *e = dump(w);
		print_error("%s:\n  got  %s\n  want %s\n", what, g ? g : "(null)", e);
		free(g);
		free(e);
		json_decref(w);
		fail();
	}
	json_decref(w);
}

static void expect_msg(const char *what, const wf_err *err, const char *sub)
{
	if (!strstr(err->msg, sub))
		fail_msg("%s: message \"%s\" lacks \"%s\"", what, err->msg, sub);
}

static json_t *const SENTINEL = (json_t *)(uintptr_t)0x5e5e;

/* ---- wf_json_equal ---------------------------------------------------------- */

static void test_json_equal(void **state)
{
	(void)state;
	static const struct {
		const char *a, *b;
		bool eq;
	} cases[] = {
	    {"1", "1.0", true},
	    {"1", "2", false},
	    {"0.5", "0.5", true},
	    {"'a'", "'a'", true},
	    {"'a'", "'b'", false},
	    {"'1'", "1", false},
	    {"null", "null", true},
	    {"null", "false", false},
	    {"true", "true", true},
	    {"[1,2]", "[1,2]", true},
	    {"[1,2]", "[2,1]", false},
	    {"[1]", "[1,1]", false},
	    {"{'a':1,'b':[2]}", "{'b':[2.0],'a':1}", true},
	    {"{'a':1}", "{'a':1,'b':2}", false},
	    {"{'a':1}", "{'b':1}", false},
	    {"{}", "[]", false},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		json_t *a = J(cases[i].a), *b = J(cases[i].b);
		if (wf_json_equal(a, b) != cases[i].eq)
			fail_msg("equal(%s, %s) should be %d", cases[i].a, cases[i].b, cases[i].eq);
		json_decref(a);
		json_decref(b);
	}
	assert_true(wf_json_equal(NULL, NULL));
	json_t *n = json_null();
	assert_false(wf_json_equal(n, NULL));
	/* strings with NUL bytes compare by length too */
	json_t *s1 = json_stringn("a\0b", 3), *s2 = json_stringn("a\0c", 3), *s3 = json_string("a");
	assert_false(wf_json_equal(s1, s2));
	assert_false(wf_json_equal(s1, s3));
	json_decref(s1);
	json_decref(s2);
	json_decref(s3);
}

/* ---- JSON merge patch (RFC 7386) ------------------------------------------------ */

static void test_merge_patch_rfc(void **state)
{
	(void)state;
	/* RFC 7386 appendix A, and a few more */
	static const struct {
		const char *target, *patch, *want;
	} cases[] = {
	    {"{'a':'b'}", "{'a':'c'}", "{'a':'c'}"},
	    {"{'a':'b'}", "{'b':'c'}", "{'a':'b','b':'c'}"},
	    {"{'a':'b'}", "{'a':null}", "{}"},
	    {"{'a':'b','b':'c'}", "{'a':null}", "{'b':'c'}"},
	    {"{'a':['b']}", "{'a':'c'}", "{'a':'c'}"},
	    {"{'a':'c'}", "{'a':['b']}", "{'a':['b']}"},
	    {"{'a':{'b':'c'}}", "{'a':{'b':'d','c':null}}", "{'a':{'b':'d'}}"},
	    {"{'a':[{'b':'c'}]}", "{'a':[1]}", "{'a':[1]}"},
	    {"['a','b']", "['c','d']", "['c','d']"},
	    {"{'a':'b'}", "['c']", "['c']"},
	    {"{'a':'foo'}", "null", "null"},
	    {"{'a':'foo'}", "'bar'", "'bar'"},
	    {"{'e':null}", "{'a':1}", "{'e':null,'a':1}"},
	    {"[1,2]", "{'a':'b','c':null}", "{'a':'b'}"},
	    {"{}", "{'a':{'bb':{'ccc':null}}}", "{'a':{'bb':{}}}"},
	    {"{'a':{'b':1}}", "{'a':{'c':{'d':null,'e':[null]}}}",
	     "{'a':{'b':1,'c':{'e':[null]}}}"},
	    {"{'a':1}", "{}", "{'a':1}"},
	    {"{'a':{'b':{'c':{'d':1}}}}", "{'a':{'b':{'c':{'d':2,'e':3}}}}",
	     "{'a':{'b':{'c':{'d':2,'e':3}}}}"},
	    {"{'a':'x'}", "{'a':{'b':null,'c':1}}", "{'a':{'c':1}}"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		json_t *t = J(cases[i].target), *p = J(cases[i].patch);
		char *t0 = dump(t), *p0 = dump(p);
		json_t *got = wf_merge_patch(t, p);
		char what[64];
		snprintf(what, sizeof what, "merge patch case %zu", i);
		expect_json(what, got, cases[i].want);
		char *t1 = dump(t), *p1 = dump(p);
		assert_string_equal(t0, t1); /* inputs untouched */
		assert_string_equal(p0, p1);
		free(t0);
		free(t1);
		free(p0);
		free(p1);
		json_decref(got);
		json_decref(t);
		json_decref(p);
	}
}

static void test_merge_patch_edges(void **state)
{
	(void)state;
	json_t *p = J("{'a':1}");
	assert_null(wf_merge_patch(p, NULL));
	json_t *got = wf_merge_patch(NULL, p);
	expect_json("absent target", got, "{'a':1}");
	json_decref(got);
	json_decref(p);

	/* the result shares nothing with the inputs */
	json_t *t = J("{'keep':{'x':[1,{'y':2}]},'m':{'a':1}}");
	p = J("{'m':{'b':{'c':[3]}}}");
	got = wf_merge_patch(t, p);
	json_t *keep = json_object_get(got, "keep");
	json_object_set_new(keep, "x", json_string("changed"));
	json_t *c = json_object_get(json_object_get(json_object_get(got, "m"), "b"), "c");
	json_array_append_new(c, json_integer(4));
	expect_json("target untouched", t, "{'keep':{'x':[1,{'y':2}]},'m':{'a':1}}");
	expect_json("patch untouched", p, "{'m':{'b':{'c':[3]}}}");
	json_decref(got);
	json_decref(t);
	json_decref(p);
}

/* ---- strategic merge patch ---------------------------------------------------------- */

#define POD_AB                                                                                     \
	"{'apiVersion':'v1','kind':'Pod','metadata':{'name':'demo','labels':{'app':'demo'}},"      \
	"'spec':{'containers':[{'name':'a','image':'busybox:1'},{'name':'b','image':'nginx'}]}}"

typedef struct smp_case {
	const char *name, *group, *kind, *orig, *patch, *want;
} smp_case;

static const smp_case smp_cases[] = {
    {"kubectl apply: annotations and a label", "", "Pod", POD_AB,
     "{'metadata':{'annotations':{'a':'b'},'labels':{'tier':'x'}}}",
     "{'apiVersion':'v1','kind':'Pod','metadata':{'name':'demo','labels':{'app':'demo',"
     "'tier':'x'},'annotations':{'a':'b'}},'spec':{'containers':[{'name':'a','image':"
     "'busybox:1'},{'name':'b','image':'nginx'}]}}"},
    {"kubectl apply: $setElementOrder and one changed container", "", "Pod", POD_AB,
     "{'spec':{'$setElementOrder/containers':[{'name':'a'},{'name':'b'}],"
     "'containers':[{'image':'busybox:2','name':'a'}]}}",
     "{'apiVersion':'v1','kind':'Pod','metadata':{'name':'demo','labels':{'app':'demo'}},"
     "'spec':{'containers':[{'name':'a','image':'busybox:2'},{'name':'b','image':'nginx'}]}}"},
    {"kubectl apply: second container changed", "", "Pod", POD_AB,
     "{'spec':{'$setElementOrder/containers':[{'name':'a'},{'name':'b'}],"
     "'containers':[{'image':'nginx:2','name':'b'}]}}",
     "{'apiVersion':'v1','kind':'Pod','metadata':{'name':'demo','labels':{'app':'demo'}},"
     "'spec':{'containers':[{'name':'a','image':'busybox:1'},{'name':'b','image':'nginx:2'}]}}"},
    {"group NULL is the core group", NULL, "Pod",
     "{'spec':{'containers':[{'name':'a'},{'name':'b'}]}}",
     "{'spec':{'containers':[{'name':'b','image':'x'}]}}",
     "{'spec':{'containers':[{'name':'a'},{'name':'b','image':'x'}]}}"},
    {"env merged by name", "", "Pod",
     "{'spec':{'containers':[{'name':'a','env':[{'name':'X','value':'1'},"
     "{'name':'Y','value':'2'}]}]}}",
     "{'spec':{'containers':[{'name':'a','env':[{'name':'Y','value':'3'},"
     "{'name':'Z','value':'4'}]}]}}",
     "{'spec':{'containers':[{'name':'a','env':[{'name':'X','value':'1'},"
     "{'name':'Y','value':'3'},{'name':'Z','value':'4'}]}]}}"},
    {"env entry deleted with $patch and valueFrom removed with null", "", "Pod",
     "{'spec':{'containers':[{'name':'a','env':[{'name':'X','value':'1'},"
     "{'name':'Y','valueFrom':{'fieldRef':{'fieldPath':'x'}}}]}]}}",
     "{'spec':{'containers':[{'name':'a','env':[{'name':'X','$patch':'delete'},"
     "{'name':'Y','valueFrom':null,'value':'v'}]}]}}",
     "{'spec':{'containers':[{'name':'a','env':[{'name':'Y','value':'v'}]}]}}"},
    {"$patch: delete of a container", "", "Pod", POD_AB,
     "{'spec':{'containers':[{'name':'a','$patch':'delete'}]}}",
     "{'apiVersion':'v1','kind':'Pod','metadata':{'name':'demo','labels':{'app':'demo'}},"
     "'spec':{'containers':[{'name':'b','image':'nginx'}]}}"},
    {"$patch: delete of a missing container is a no-op", "", "Pod",
     "{'spec':{'containers':[{'name':'a'}]}}",
     "{'spec':{'containers':[{'name':'zz','$patch':'delete'}]}}",
     "{'spec':{'containers':[{'name':'a'}]}}"},
    {"$patch: delete removes every duplicate", "", "Pod",
     "{'spec':{'volumes':[{'name':'1'},{'name':'1'},{'name':'2','x':'a'},{'name':'3'},"
     "{'name':'3'}]}}",
     "{'spec':{'volumes':[{'name':'1','$patch':'delete'},{'name':'3','$patch':'delete'}]}}",
     "{'spec':{'volumes':[{'name':'2','x':'a'}]}}"},
    {"null deletes keys at any depth", "", "Pod",
     "{'metadata':{'labels':{'app':'demo','x':'y'}},'spec':{'nodeName':'n1',"
     "'containers':[{'name':'a','resources':{'limits':{'cpu':'1'}}}]}}",
     "{'metadata':{'labels':{'app':null}},'spec':{'nodeName':null,'missing':null,"
     "'containers':[{'name':'a','resources':{'limits':null}}]}}",
     "{'metadata':{'labels':{'x':'y'}},'spec':{'containers':[{'name':'a','resources':{}}]}}"},
    {"a new container is added before the server's (no order given)", "", "Pod",
     "{'spec':{'containers':[{'name':'a'},{'name':'b'}]}}",
     "{'spec':{'containers':[{'name':'c','image':'i'}]}}",
     "{'spec':{'containers':[{'name':'c','image':'i'},{'name':'a'},{'name':'b'}]}}"},
    {"$setElementOrder puts a new container where it says", "", "Pod",
     "{'spec':{'containers':[{'name':'a'},{'name':'b'}]}}",
     "{'spec':{'$setElementOrder/containers':[{'name':'a'},{'name':'b'},{'name':'c'}],"
     "'containers':[{'name':'c','image':'i'}]}}",
     "{'spec':{'containers':[{'name':'a'},{'name':'b'},{'name':'c','image':'i'}]}}"},
    {"the patch order wins for named items", "", "Pod",
     "{'spec':{'containers':[{'name':'1'},{'name':'2','v':'b'},{'name':'3'}]}}",
     "{'spec':{'containers':[{'name':'3','v':'c'},{'name':'1','v':'a'}]}}",
     "{'spec':{'containers':[{'name':'2','v':'b'},{'name':'3','v':'c'},{'name':'1','v':'a'}]}}"},
    {"$setElementOrder alone reorders", "", "Pod",
     "{'spec':{'containers':[{'name':'a'},{'name':'b'},{'name':'c'}]}}",
     "{'spec':{'$setElementOrder/containers':[{'name':'c'},{'name':'a'},{'name':'b'}]}}",
     "{'spec':{'containers':[{'name':'c'},{'name':'a'},{'name':'b'}]}}"},
    {"$setElementOrder: server-only items keep their live place", "", "Pod",
     "{'spec':{'containers':[{'name':'a'},{'name':'x'},{'name':'b'}]}}",
     "{'spec':{'$setElementOrder/containers':[{'name':'b'},{'name':'a'}],"
     "'containers':[{'name':'b','i':1},{'name':'a','i':2}]}}",
     "{'spec':{'containers':[{'name':'x'},{'name':'b','i':1},{'name':'a','i':2}]}}"},
    {"$setElementOrder naming an item nobody has", "", "Pod",
     "{'spec':{'containers':[{'name':'1'},{'name':'3'}]}}",
     "{'spec':{'$setElementOrder/containers':[{'name':'3'},{'name':'2'},{'name':'1'}],"
     "'containers':[{'name':'3','v':3},{'name':'1','v':1}]}}",
     "{'spec':{'containers':[{'name':'3','v':3},{'name':'1','v':1}]}}"},
    {"$setElementOrder on a list the original lacks", "", "Pod", "{'spec':{}}",
     "{'spec':{'$setElementOrder/containers':[{'name':'b'},{'name':'a'}],"
     "'containers':[{'name':'b'},{'name':'a'}]}}",
     "{'spec':{'containers':[{'name':'b'},{'name':'a'}]}}"},
    {"$setElementOrder on neither side is dropped", "", "Pod", "{'spec':{}}",
     "{'spec':{'$setElementOrder/containers':[{'name':'b'}]}}", "{'spec':{}}"},
    {"container ports by containerPort (80 matches 80.0)", "", "Pod",
     "{'spec':{'containers':[{'name':'a','ports':[{'containerPort':80,'name':'http'},"
     "{'containerPort':443}]}]}}",
     "{'spec':{'containers':[{'name':'a','ports':[{'containerPort':80.0,'protocol':'TCP'}]}]}}",
     "{'spec':{'containers':[{'name':'a','ports':[{'containerPort':80,'name':'http',"
     "'protocol':'TCP'},{'containerPort':443}]}]}}"},
    {"volumeMounts by mountPath, volumes and imagePullSecrets by name", "", "Pod",
     "{'spec':{'volumes':[{'name':'v1','emptyDir':{}}],'imagePullSecrets':[{'name':'s1'}],"
     "'containers':[{'name':'a','volumeMounts':[{'mountPath':'/a','name':'v1'}]}]}}",
     "{'spec':{'volumes':[{'name':'v2','emptyDir':{}}],'imagePullSecrets':[{'name':'s2'}],"
     "'containers':[{'name':'a','volumeMounts':[{'mountPath':'/a','readOnly':true},"
     "{'mountPath':'/b','name':'v2'}]}]}}",
     "{'spec':{'volumes':[{'name':'v2','emptyDir':{}},{'name':'v1','emptyDir':{}}],"
     "'imagePullSecrets':[{'name':'s2'},{'name':'s1'}],'containers':[{'name':'a',"
     "'volumeMounts':[{'mountPath':'/a','name':'v1','readOnly':true},{'mountPath':'/b',"
     "'name':'v2'}]}]}}"},
    {"initContainers and ephemeralContainers by name, hostAliases by ip", "", "Pod",
     "{'spec':{'initContainers':[{'name':'i','image':'1'}],'ephemeralContainers':"
     "[{'name':'e','image':'1'}],'hostAliases':[{'ip':'1.1.1.1','hostnames':['a']}]}}",
     "{'spec':{'initContainers':[{'name':'i','image':'2'}],'ephemeralContainers':"
     "[{'name':'e','image':'2'}],'hostAliases':[{'ip':'1.1.1.1','hostnames':['b']}]}}",
     "{'spec':{'initContainers':[{'name':'i','image':'2'}],'ephemeralContainers':"
     "[{'name':'e','image':'2'}],'hostAliases':[{'ip':'1.1.1.1','hostnames':['b']}]}}"},
    {"tolerations are replaced", "", "Pod",
     "{'spec':{'tolerations':[{'key':'a','operator':'Exists'},{'key':'b'}]}}",
     "{'spec':{'tolerations':[{'key':'c','operator':'Exists'}]}}",
     "{'spec':{'tolerations':[{'key':'c','operator':'Exists'}]}}"},
    {"lists without a strategy are replaced, nested ones too", "", "Pod",
     "{'spec':{'containers':[{'name':'a','args':['x','y'],'command':['sh']}]}}",
     "{'spec':{'containers':[{'name':'a','args':['z']}]}}",
     "{'spec':{'containers':[{'name':'a','args':['z'],'command':['sh']}]}}"},
    {"pod status conditions by type", "", "Pod",
     "{'status':{'phase':'Pending','conditions':[{'type':'PodScheduled','status':'True'},"
     "{'type':'Ready','status':'False'}]}}",
     "{'status':{'phase':'Running','conditions':[{'type':'Ready','status':'True'}]}}",
     "{'status':{'phase':'Running','conditions':[{'type':'PodScheduled','status':'True'},"
     "{'type':'Ready','status':'True'}]}}"},
    {"metadata: ownerReferences by uid, finalizers as a set", "", "ConfigMap",
     "{'metadata':{'finalizers':['a','b'],'ownerReferences':[{'uid':'u1','name':'x'}]}}",
     "{'metadata':{'finalizers':['b','c'],'ownerReferences':[{'uid':'u1','name':'y'},"
     "{'uid':'u2','name':'z'}]}}",
     "{'metadata':{'finalizers':['a','b','c'],'ownerReferences':[{'uid':'u1','name':'y'},"
     "{'uid':'u2','name':'z'}]}}"},
    {"$deleteFromPrimitiveList on finalizers", "", "Secret",
     "{'metadata':{'finalizers':['a','b','c','b']}}",
     "{'metadata':{'$deleteFromPrimitiveList/finalizers':['b','zz']}}",
     "{'metadata':{'finalizers':['a','c']}}"},
    {"$deleteFromPrimitiveList of an absent list adds nothing", "", "Secret",
     "{'metadata':{'name':'x'}}", "{'metadata':{'$deleteFromPrimitiveList/finalizers':['b']}}",
     "{'metadata':{'name':'x'}}"},
    {"$deleteFromPrimitiveList on a list without strategy", "", "Pod",
     "{'spec':{'containers':[{'name':'a','args':['1','2','3']}]}}",
     "{'spec':{'containers':[{'name':'a','$deleteFromPrimitiveList/args':['2']}]}}",
     "{'spec':{'containers':[{'name':'a','args':['1','3']}]}}"},
    {"primitive set: add and delete with $setElementOrder", "", "Node",
     "{'spec':{'podCIDRs':['1','2','3']}}",
     "{'spec':{'$setElementOrder/podCIDRs':['1','2','4'],"
     "'$deleteFromPrimitiveList/podCIDRs':['3'],'podCIDRs':['4']}}",
     "{'spec':{'podCIDRs':['1','2','4']}}"},
    {"primitive set: patch order wins", "", "Node", "{'spec':{'podCIDRs':['1','2','3']}}",
     "{'spec':{'podCIDRs':['3','1']}}", "{'spec':{'podCIDRs':['2','3','1']}}"},
    {"node: addresses and conditions by type, taints by key", "", "Node",
     "{'spec':{'taints':[{'key':'k1','effect':'NoSchedule'},{'key':'k2','effect':'NoExecute'}]},"
     "'status':{'addresses':[{'type':'InternalIP','address':'10.0.0.1'},{'type':'Hostname',"
     "'address':'n1'}],'conditions':[{'type':'Ready','status':'False'}]}}",
     "{'spec':{'taints':[{'key':'k2','$patch':'delete'},{'key':'k3','effect':'NoSchedule'}]},"
     "'status':{'addresses':[{'type':'InternalIP','address':'10.0.0.2'}],"
     "'conditions':[{'type':'Ready','status':'True','reason':'KubeletReady'}]}}",
     "{'spec':{'taints':[{'key':'k3','effect':'NoSchedule'},{'key':'k1','effect':"
     "'NoSchedule'}]},'status':{'addresses':[{'type':'InternalIP','address':'10.0.0.2'},"
     "{'type':'Hostname','address':'n1'}],'conditions':[{'type':'Ready','status':'True',"
     "'reason':'KubeletReady'}]}}"},
    {"service ports by port", "", "Service",
     "{'spec':{'ports':[{'port':80,'targetPort':8080},{'port':443}]}}",
     "{'spec':{'ports':[{'port':80,'targetPort':9090}]}}",
     "{'spec':{'ports':[{'port':80,'targetPort':9090},{'port':443}]}}"},
    {"service account secrets by name", "", "ServiceAccount", "{'secrets':[{'name':'a'}]}",
     "{'secrets':[{'name':'b'}]}", "{'secrets':[{'name':'b'},{'name':'a'}]}"},
    {"job: spec.template.spec is a PodSpec, conditions by type", "batch", "Job",
     "{'spec':{'parallelism':2,'template':{'spec':{'containers':[{'name':'a','env':"
     "[{'name':'A','value':'1'}]},{'name':'b'}]}}},'status':{'conditions':[{'type':"
     "'Complete','status':'False'}]}}",
     "{'spec':{'parallelism':1,'template':{'spec':{'containers':[{'name':'a','env':"
     "[{'name':'B','value':'2'}]}]}}},'status':{'conditions':[{'type':'Failed',"
     "'status':'True'}]}}",
     "{'spec':{'parallelism':1,'template':{'spec':{'containers':[{'name':'a','env':"
     "[{'name':'B','value':'2'},{'name':'A','value':'1'}]},{'name':'b'}]}}},"
     "'status':{'conditions':[{'type':'Failed','status':'True'},{'type':'Complete',"
     "'status':'False'}]}}"},
    {"lease and event take metadata only", "coordination.k8s.io", "Lease",
     "{'metadata':{'finalizers':['a']},'spec':{'holderIdentity':'n1','x':[1,2]}}",
     "{'metadata':{'finalizers':['b']},'spec':{'renewTime':'t','x':[3]}}",
     "{'metadata':{'finalizers':['b','a']},'spec':{'holderIdentity':'n1','renewTime':'t',"
     "'x':[3]}}"},
    {"a deployment's pod template merges too", "apps", "Deployment",
     "{'spec':{'replicas':1,'template':{'spec':{'containers':[{'name':'a'},{'name':'b'}]}}}}",
     "{'spec':{'replicas':3,'template':{'spec':{'containers':[{'name':'b','image':'x'}]}}}}",
     "{'spec':{'replicas':3,'template':{'spec':{'containers':[{'name':'a'},{'name':'b',"
     "'image':'x'}]}}}}"},
    {"deep nesting merges all the way down", "", "Pod",
     "{'spec':{'affinity':{'nodeAffinity':{'requiredDuringSchedulingIgnoredDuringExecution':"
     "{'nodeSelectorTerms':[{'matchExpressions':[{'key':'a'}]}]},'x':{'y':{'z':{'w':1}}}}}}}",
     "{'spec':{'affinity':{'nodeAffinity':{'x':{'y':{'z':{'v':2}}}}}}}",
     "{'spec':{'affinity':{'nodeAffinity':{'requiredDuringSchedulingIgnoredDuringExecution':"
     "{'nodeSelectorTerms':[{'matchExpressions':[{'key':'a'}]}]},'x':{'y':{'z':{'w':1,"
     "'v':2}}}}}}}"},
    {"$retainKeys clears keys it does not list", "", "Pod",
     "{'spec':{'volumes':[{'name':'v','emptyDir':{}}]}}",
     "{'spec':{'volumes':[{'name':'v','hostPath':{'path':'/x'},'$retainKeys':['hostPath',"
     "'name']}]}}",
     "{'spec':{'volumes':[{'name':'v','hostPath':{'path':'/x'}}]}}"},
    {"$retainKeys on a map (unknown kind)", "apps", "Whatever",
     "{'spec':{'strategy':{'type':'RollingUpdate','rollingUpdate':{'maxSurge':1}}}}",
     "{'spec':{'strategy':{'$retainKeys':['type'],'type':'Recreate','rollingUpdate':null}}}",
     "{'spec':{'strategy':{'type':'Recreate'}}}"},
    {"$patch: replace on a map", "", "Pod", "{'metadata':{'labels':{'a':'1','b':'2'}}}",
     "{'metadata':{'labels':{'$patch':'replace','c':'3'}}}", "{'metadata':{'labels':{'c':'3'}}}"},
    {"$patch: replace on a list", "", "Pod", POD_AB,
     "{'spec':{'containers':[{'$patch':'replace'},{'name':'c','image':'i'}]}}",
     "{'apiVersion':'v1','kind':'Pod','metadata':{'name':'demo','labels':{'app':'demo'}},"
     "'spec':{'containers':[{'name':'c','image':'i'}]}}"},
    {"$patch: replace alone empties a list", "", "Pod", POD_AB,
     "{'spec':{'containers':[{'$patch':'replace'}]}}",
     "{'apiVersion':'v1','kind':'Pod','metadata':{'name':'demo','labels':{'app':'demo'}},"
     "'spec':{'containers':[]}}"},
    {"$patch: delete on a map removes it", "", "Pod",
     "{'spec':{'securityContext':{'runAsUser':1},'nodeName':'n'}}",
     "{'spec':{'securityContext':{'$patch':'delete'}}}", "{'spec':{'nodeName':'n'}}"},
    {"$patch: merge is the default", "", "Pod", "{'metadata':{'labels':{'a':'1'}}}",
     "{'metadata':{'labels':{'$patch':'merge','b':'2'}}}",
     "{'metadata':{'labels':{'a':'1','b':'2'}}}"},
    {"$patch: merge on a list element", "", "Pod", POD_AB,
     "{'spec':{'containers':[{'$patch':'merge'},{'$patch':'merge','name':'a','image':'z'}]}}",
     "{'apiVersion':'v1','kind':'Pod','metadata':{'name':'demo','labels':{'app':'demo'}},"
     "'spec':{'containers':[{'name':'a','image':'z'},{'name':'b','image':'nginx'}]}}"},
    {"top-level $patch: replace", "", "Pod", POD_AB, "{'$patch':'replace','kind':'Pod','x':null}",
     "{'kind':'Pod'}"},
    {"top-level $patch: delete", "", "Pod", POD_AB, "{'$patch':'delete'}", "{}"},
    {"directives and nulls never reach added values", "", "Pod", "{'spec':{}}",
     "{'spec':{'newMap':{'$patch':'replace','a':1,'gone':null},'gone':{'$patch':'delete'},"
     "'containers':[{'name':'a','env':[{'name':'X','$patch':'delete'},{'name':'Y','v':null}],"
     "'$setElementOrder/env':[{'name':'Y'}],'$deleteFromPrimitiveList/args':['q'],"
     "'$retainKeys':['name','env']}],'list':[{'$patch':'delete'},{'k':null},[{'$patch':"
     "'replace'}]]}}",
     "{'spec':{'newMap':{'a':1},'containers':[{'name':'a','env':[{'name':'Y'}]}],"
     "'list':[{},[]]}}"},
    {"type change: scalar to map and map to scalar", "", "Pod",
     "{'metadata':{'labels':'oops','annotations':{'a':'b'}}}",
     "{'metadata':{'labels':{'x':'1','y':null},'annotations':'flat'}}",
     "{'metadata':{'labels':{'x':'1'},'annotations':'flat'}}"},
    {"map patch onto a list replaces it", "", "Pod", "{'spec':{'containers':[{'name':'a'}]}}",
     "{'spec':{'containers':{'name':'a'}}}", "{'spec':{'containers':{'name':'a'}}}"},
    {"list patch onto a scalar takes the list", "", "Pod", "{'spec':{'containers':'x'}}",
     "{'spec':{'containers':[{'name':'a','$patch':'delete'},{'name':'b'}]}}",
     "{'spec':{'containers':[{'name':'b'}]}}"},
    {"unknown kind: a JSON merge patch that honours directives", "kueue.x-k8s.io", "ClusterQueue",
     "{'metadata':{'finalizers':['a']},'spec':{'resourceGroups':[{'coveredResources':['cpu'],"
     "'flavors':[{'name':'default','resources':[{'name':'cpu','nominalQuota':10}]}]}],"
     "'cohort':'c','x':{'y':1}}}",
     "{'metadata':{'finalizers':['b']},'spec':{'resourceGroups':[{'coveredResources':['cpu'],"
     "'flavors':[{'name':'default','resources':[{'name':'cpu','nominalQuota':20}]}]}],"
     "'$setElementOrder/resourceGroups':[{'coveredResources':['cpu']}],'cohort':null,"
     "'x':{'$patch':'delete'}}}",
     "{'metadata':{'finalizers':['b']},'spec':{'resourceGroups':[{'coveredResources':['cpu'],"
     "'flavors':[{'name':'default','resources':[{'name':'cpu','nominalQuota':20}]}]}]}}"},
    {"group decides: a Job in the core group is unknown", "", "Job",
     "{'spec':{'template':{'spec':{'containers':[{'name':'a'}]}}}}",
     "{'spec':{'template':{'spec':{'containers':[{'name':'b'}]}}}}",
     "{'spec':{'template':{'spec':{'containers':[{'name':'b'}]}}}}"},
    {"empty patch changes nothing", "", "Pod", POD_AB, "{}", POD_AB},
    {"duplicate patch items merge into one", "", "Pod", "{'spec':{'containers':[{'name':'a'}]}}",
     "{'spec':{'containers':[{'name':'b','x':1},{'name':'b','y':2}]}}",
     "{'spec':{'containers':[{'name':'b','x':1,'y':2},{'name':'a'}]}}"},
    {"live items without a merge key are kept", "", "Pod",
     "{'spec':{'containers':[{'image':'orphan'},{'name':'a'}]}}",
     "{'spec':{'containers':[{'name':'a','image':'i'}]}}",
     "{'spec':{'containers':[{'image':'orphan'},{'name':'a','image':'i'}]}}"},
    {"keys with a '$' that are no directive are plain keys", "", "ConfigMap", "{'data':{}}",
     "{'data':{'$HOME':'x'}}", "{'data':{'$HOME':'x'}}"},
};

static void run_smp_case(const smp_case *c)
{
	json_t *orig = J(c->orig), *patch = J(c->patch), *out = NULL;
	char *o0 = dump(orig), *p0 = dump(patch);
	wf_err err = {0};
	int rc = wf_strategic_merge_patch(orig, patch, c->group, c->kind, &out, &err);
	if (rc)
		fail_msg("%s: rc %d: %s", c->name, rc, err.msg);
	expect_json(c->name, out, c->want);
	char *o1 = dump(orig), *p1 = dump(patch);
	if (strcmp(o0, o1) || strcmp(p0, p1))
		fail_msg("%s: an input was modified", c->name);
	free(o0);
	free(o1);
	free(p0);
	free(p1);
	json_decref(out);
	json_decref(orig);
	json_decref(patch);
}

static void test_smp_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof smp_cases / sizeof smp_cases[0]; i++)
		run_smp_case(&smp_cases[i]);
}

typedef struct smp_err_case {
	const char *name, *kind, *orig, *patch, *msg;
} smp_err_case;

static const smp_err_case smp_err_cases[] = {
    {"patch is an array", "Pod", "{}", "[]", "must be a JSON object"},
    {"patch is a string", "Pod", "{}", "'x'", "must be a JSON object"},
    {"patch is null", "Pod", "{}", "null", "must be a JSON object"},
    {"original is not an object", "Pod", "[1]", "{}", "original must be a JSON object"},
    {"$patch is a number", "Pod", "{}", "{'metadata':{'$patch':1}}", "metadata: $patch must"},
    {"$patch has an unknown value", "Pod", "{}", "{'metadata':{'$patch':'remove'}}",
     "unknown $patch value \"remove\""},
    {"$patch unknown in a list element", "Pod", POD_AB,
     "{'spec':{'containers':[{'name':'a','$patch':'explode'}]}}",
     "spec.containers[0]: unknown $patch value"},
    {"$patch unknown in a replaced list", "Pod", "{}", "{'spec':{'tolerations':[{'$patch':7}]}}",
     "spec.tolerations[0]: $patch must"},
    {"list element without its merge key", "Pod", POD_AB, "{'spec':{'containers':[{'image':'x'}]}}",
     "spec.containers[0]: does not contain declared merge key \"name\""},
    {"merge key missing deep down", "Job", "{}",
     "{'spec':{'template':{'spec':{'containers':[{'name':'a','env':[{'value':'1'}]}]}}}}",
     "spec.template.spec.containers[0].env[0]: does not contain declared merge key"},
    {"delete directive without merge key", "Pod", POD_AB,
     "{'spec':{'containers':[{'$patch':'delete'}]}}", "$patch: delete without the merge key"},
    {"a non-object in a keyed list", "Pod", POD_AB, "{'spec':{'containers':['a']}}",
     "must be an object"},
    {"an object in a list of primitives", "ConfigMap", "{}",
     "{'metadata':{'finalizers':[{'$patch':'replace'}]}}", "list of primitives"},
    {"$retainKeys not a list", "Pod", "{}", "{'spec':{'$retainKeys':'a'}}",
     "$retainKeys must be a list of strings"},
    {"$retainKeys with a number", "Pod", "{}", "{'spec':{'$retainKeys':['a',1]}}",
     "$retainKeys must be a list of strings"},
    {"a patched field missing from $retainKeys", "Pod", "{}",
     "{'spec':{'$retainKeys':['a'],'a':1,'b':2}}", "\"b\" is not listed in $retainKeys"},
    {"$setElementOrder not a list", "Pod", POD_AB,
     "{'spec':{'$setElementOrder/containers':{'name':'a'}}}", "must be a list"},
    {"$setElementOrder not a list, list present", "Pod", POD_AB,
     "{'spec':{'containers':[{'name':'a'}],'$setElementOrder/containers':'a'}}", "must be a list"},
    {"$setElementOrder without a list name", "Pod", POD_AB, "{'spec':{'$setElementOrder/':[]}}",
     "must name a list"},
    {"$setElementOrder without a slash", "Pod", POD_AB, "{'spec':{'$setElementOrderx':[]}}",
     "must name a list"},
    {"$setElementOrder contradicting the patch", "Pod", POD_AB,
     "{'spec':{'$setElementOrder/containers':[{'name':'a'},{'name':'b'}],"
     "'containers':[{'name':'b'},{'name':'a'}]}}",
     "does not match its $setElementOrder"},
    {"$setElementOrder missing a patched item", "Pod", POD_AB,
     "{'spec':{'$setElementOrder/containers':[{'name':'a'}],'containers':[{'name':'c'}]}}",
     "does not match its $setElementOrder"},
    {"$setElementOrder item without merge key", "Pod", POD_AB,
     "{'spec':{'$setElementOrder/containers':[{'image':'a'}]}}", "has no merge key \"name\""},
    {"$setElementOrder of primitives holding a map", "Node", "{'spec':{'podCIDRs':['a']}}",
     "{'spec':{'$setElementOrder/podCIDRs':[{}]}}", "must be a primitive"},
    {"$deleteFromPrimitiveList not a list", "Secret", "{}",
     "{'metadata':{'$deleteFromPrimitiveList/finalizers':'a'}}", "must be a list"},
    {"$deleteFromPrimitiveList holding a map", "Secret", "{}",
     "{'metadata':{'$deleteFromPrimitiveList/finalizers':[{}]}}", "only primitives"},
    {"$deleteFromPrimitiveList without a name", "Secret", "{}",
     "{'metadata':{'$deleteFromPrimitiveList':['a']}}", "must name a list"},
    {"an error deep in an added value", "Pod", "{}", "{'spec':{'new':{'x':{'$patch':'nope'}}}}",
     "spec.new.x: unknown $patch value"},
};

static void test_smp_errors(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof smp_err_cases / sizeof smp_err_cases[0]; i++) {
		const smp_err_case *c = &smp_err_cases[i];
		json_t *orig = J(c->orig), *patch = J(c->patch), *out = SENTINEL;
		char *o0 = dump(orig);
		wf_err err = {0};
		const char *group = strcmp(c->kind, "Job") ? "" : "batch";
		int rc = wf_strategic_merge_patch(orig, patch, group, c->kind, &out, &err);
		if (rc != -WF_EINVAL)
			fail_msg("%s: rc %d, want -WF_EINVAL", c->name, rc);
		assert_int_equal(err.code, WF_EINVAL);
		assert_ptr_equal(out, SENTINEL);
		expect_msg(c->name, &err, c->msg);
		char *o1 = dump(orig);
		assert_string_equal(o0, o1);
		free(o0);
		free(o1);
		json_decref(orig);
		json_decref(patch);
	}
	/* NULL arguments and a NULL err are fine */
	json_t *o = J("{}"), *out = SENTINEL;
	assert_int_equal(wf_strategic_merge_patch(o, NULL, "", "Pod", &out, NULL), -WF_EINVAL);
	assert_int_equal(wf_strategic_merge_patch(NULL, o, "", "Pod", &out, NULL), -WF_EINVAL);
	assert_ptr_equal(out, SENTINEL);
	json_decref(o);
}

static void test_smp_result_is_independent(void **state)
{
	(void)state;
	json_t *orig = J(POD_AB), *patch = J("{'metadata':{'labels':{'x':'1'}}}"), *out = NULL;
	wf_err err;
	assert_int_equal(wf_strategic_merge_patch(orig, patch, "", "Pod", &out, &err), 0);
	/* change parts of the result the patch did not touch */
	json_t *spec = json_object_get(out, "spec");
	json_t *c0 = json_array_get(json_object_get(spec, "containers"), 0);
	json_object_set_new(c0, "image", json_string("mutated"));
	json_object_set_new(json_object_get(out, "metadata"), "name", json_string("m"));
	run_smp_case(&(smp_case){"original still intact", "", "Pod", POD_AB, "{}", POD_AB});
	char *s = dump(orig);
	assert_null(strstr(s, "mutated"));
	free(s);
	json_decref(out);
	json_decref(orig);
	json_decref(patch);
}

static json_t *nest(size_t depth, const char *inner)
{
	json_t *v = J(inner);
	for (size_t i = 0; i < depth; i++) {
		json_t *o = json_object();
		json_object_set_new(o, "a", v);
		v = o;
	}
	return v;
}

static void test_smp_hostile(void **state)
{
	(void)state;
	wf_err err;
	json_t *out = SENTINEL, *patch;

	/* nesting past the limit is refused, not a stack overflow */
	json_t *deep = nest(WF_PATCH_MAX_DEPTH + 10, "1"), *orig = J("{}");
	assert_int_equal(wf_strategic_merge_patch(orig, deep, "", "Pod", &out, &err), -WF_EINVAL);
	assert_ptr_equal(out, SENTINEL);
	expect_msg("deep", &err, "nested too deeply");
	json_decref(deep);

	/* just under the limit works */
	deep = nest(900, "{'$patch':'replace','x':1}");
	assert_int_equal(wf_strategic_merge_patch(orig, deep, "", "Pod", &out, &err), 0);
	json_t *p = out;
	for (int i = 0; i < 900; i++)
		p = json_object_get(p, "a");
	expect_json("deep value", p, "{'x':1}");
	json_decref(out);
	json_decref(deep);
	json_decref(orig);

	/* big lists merge in about linear time: 30,000 env entries reversed */
	enum { N = 30000 };
	json_t *env = json_array(), *penv = json_array(), *order = json_array();
	char name[32];
	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof name, "V%d", i);
		json_array_append_new(env, json_pack("{s:s,s:i}", "name", name, "value", i));
		snprintf(name, sizeof name, "V%d", N - 1 - i);
		json_array_append_new(order, json_pack("{s:s}", "name", name));
		if (i % 2 == 0)
			json_array_append_new(penv,
					      json_pack("{s:s,s:s}", "name", name, "value", "p"));
	}
	orig = json_pack("{s:{s:[{s:s,s:o}]}}", "spec", "containers", "name", "a", "env", env);
	patch = json_pack("{s:{s:[{s:s,s:o,s:o}]}}", "spec", "containers", "name", "a", "env", penv,
			  "$setElementOrder/env", order);
	assert_int_equal(wf_strategic_merge_patch(orig, patch, "", "Pod", &out, &err), 0);
	json_t *got = json_object_get(
	    json_array_get(json_object_get(json_object_get(out, "spec"), "containers"), 0), "env");
	assert_int_equal(json_array_size(got), N);
	assert_string_equal(json_string_value(json_object_get(json_array_get(got, 0), "name")),
			    "V29999");
	assert_string_equal(json_string_value(json_object_get(json_array_get(got, 0), "value")),
			    "p");
	assert_string_equal(json_string_value(json_object_get(json_array_get(got, N - 1), "name")),
			    "V0");
	assert_int_equal(json_integer_value(json_object_get(json_array_get(got, N - 1), "value")),
			 0);
	json_decref(out);
	json_decref(orig);
	json_decref(patch);
}

/* ---- JSON patch (RFC 6902) ------------------------------------------------------------- */

typedef struct jp_case {
	const char *doc, *ops, *want;
} jp_case;

static const jp_case jp_cases[] = {
    /* RFC 6902 appendix A */
    {"{'foo':'bar'}", "[{'op':'add','path':'/baz','value':'qux'}]", "{'baz':'qux','foo':'bar'}"},
    {"{'foo':['bar','baz']}", "[{'op':'add','path':'/foo/1','value':'qux'}]",
     "{'foo':['bar','qux','baz']}"},
    {"{'baz':'qux','foo':'bar'}", "[{'op':'remove','path':'/baz'}]", "{'foo':'bar'}"},
    {"{'foo':['bar','qux','baz']}", "[{'op':'remove','path':'/foo/1'}]", "{'foo':['bar','baz']}"},
    {"{'baz':'qux','foo':'bar'}", "[{'op':'replace','path':'/baz','value':'boo'}]",
     "{'baz':'boo','foo':'bar'}"},
    {"{'foo':{'bar':'baz','waldo':'fred'},'qux':{'corge':'grault'}}",
     "[{'op':'move','from':'/foo/waldo','path':'/qux/thud'}]",
     "{'foo':{'bar':'baz'},'qux':{'corge':'grault','thud':'fred'}}"},
    {"{'foo':['all','grass','cows','eat']}", "[{'op':'move','from':'/foo/1','path':'/foo/3'}]",
     "{'foo':['all','cows','eat','grass']}"},
    {"{'baz':'qux','foo':['a',2,'c']}",
     "[{'op':'test','path':'/baz','value':'qux'},{'op':'test','path':'/foo/1','value':2}]",
     "{'baz':'qux','foo':['a',2,'c']}"},
    {"{'foo':'bar'}", "[{'op':'add','path':'/child','value':{'grandchild':{}}}]",
     "{'foo':'bar','child':{'grandchild':{}}}"},
    {"{'foo':'bar'}", "[{'op':'add','path':'/baz','value':'qux','xyz':123}]",
     "{'foo':'bar','baz':'qux'}"},
    {"{'/':9,'~1':10}", "[{'op':'test','path':'/~01','value':10}]", "{'/':9,'~1':10}"},
    {"{'foo':['bar']}", "[{'op':'add','path':'/foo/-','value':['abc','def']}]",
     "{'foo':['bar',['abc','def']]}"},
    /* more */
    {"{'a/b':1,'m~n':2}",
     "[{'op':'replace','path':'/a~1b','value':3},{'op':'remove','path':'/m~0n'}]", "{'a/b':3}"},
    {"{'':1}", "[{'op':'replace','path':'/','value':2}]", "{'':2}"},
    {"{'a':1}", "[{'op':'replace','path':'','value':[1]}]", "[1]"},
    {"{'a':1}", "[{'op':'add','path':'','value':{'b':2}}]", "{'b':2}"},
    {"[1,2]", "[{'op':'add','path':'/0','value':0},{'op':'add','path':'/3','value':3}]",
     "[0,1,2,3]"},
    {"{'a':[]}", "[{'op':'add','path':'/a/-','value':1},{'op':'add','path':'/a/-','value':2}]",
     "{'a':[1,2]}"},
    {"{'a':{'b':1}}", "[{'op':'add','path':'/a/b','value':2}]", "{'a':{'b':2}}"},
    {"{'a':{'b':[1,{'c':2}]}}",
     "[{'op':'copy','from':'/a/b','path':'/d'},"
     "{'op':'replace','path':'/d/1/c','value':9}]",
     "{'a':{'b':[1,{'c':2}]},'d':[1,{'c':9}]}"},
    {"{'a':1}", "[{'op':'move','from':'/a','path':'/a'}]", "{'a':1}"},
    {"{'a':{'b':1}}", "[{'op':'move','from':'/a','path':'/c'}]", "{'c':{'b':1}}"},
    {"{'x':{'y':1}}", "[{'op':'move','from':'/x/y','path':'/x'}]", "{'x':1}"},
    {"{'a':1}", "[{'op':'test','path':'/a','value':1.0}]", "{'a':1}"},
    {"{'a':{'x':1,'y':[1,2]}}", "[{'op':'test','path':'/a','value':{'y':[1,2],'x':1}}]",
     "{'a':{'x':1,'y':[1,2]}}"},
    {"{'a':null}", "[{'op':'test','path':'/a','value':null}]", "{'a':null}"},
    {"{'a':1}", "[]", "{'a':1}"},
    {"{'metadata':{'labels':{'app':'x'}}}",
     "[{'op':'add','path':'/metadata/labels/tier','value':'web'},"
     "{'op':'remove','path':'/metadata/labels/app'}]",
     "{'metadata':{'labels':{'tier':'web'}}}"},
};

static void test_json_patch_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof jp_cases / sizeof jp_cases[0]; i++) {
		json_t *doc = J(jp_cases[i].doc), *ops = J(jp_cases[i].ops), *out = NULL;
		char *d0 = dump(doc), *o0 = dump(ops);
		wf_err err = {0};
		int rc = wf_json_patch(doc, ops, &out, &err);
		if (rc)
			fail_msg("json patch case %zu: rc %d: %s", i, rc, err.msg);
		char what[64];
		snprintf(what, sizeof what, "json patch case %zu", i);
		expect_json(what, out, jp_cases[i].want);
		char *d1 = dump(doc), *o1 = dump(ops);
		assert_string_equal(d0, d1);
		assert_string_equal(o0, o1);
		free(d0);
		free(d1);
		free(o0);
		free(o1);
		json_decref(out);
		json_decref(doc);
		json_decref(ops);
	}
}

typedef struct jp_err_case {
	const char *doc, *ops, *msg;
} jp_err_case;

static const jp_err_case jp_err_cases[] = {
    {"{}", "{'op':'add'}", "must be a JSON array"},
    {"{}", "null", "must be a JSON array"},
    {"{}", "[1]", "operation 0: not a JSON object"},
    {"{}", "[{'path':'/a','value':1}]", "operation 0: missing or non-string \"op\""},
    {"{}", "[{'op':5,'path':'/a'}]", "missing or non-string \"op\""},
    {"{}", "[{'op':'frobnicate','path':'/a'}]", "operation 0 (frobnicate \"/a\"): unknown op"},
    {"{}", "[{'op':'add','value':1}]", "missing or non-string \"path\""},
    {"{}", "[{'op':'add','path':7,'value':1}]", "missing or non-string \"path\""},
    {"{}", "[{'op':'add','path':'/a'}]", "operation 0 (add \"/a\"): missing \"value\""},
    {"{}", "[{'op':'replace','path':'/a'}]", "missing \"value\""},
    {"{}", "[{'op':'test','path':'/a'}]", "missing \"value\""},
    {"{'a':1}", "[{'op':'move','path':'/b'}]", "missing or non-string \"from\""},
    {"{'a':1}", "[{'op':'copy','path':'/b','from':1}]", "missing or non-string \"from\""},
    /* RFC 6902 A.9, A.12, A.15 */
    {"{'baz':'qux'}", "[{'op':'test','path':'/baz','value':'bar'}]", "test failed"},
    {"{'foo':'bar'}", "[{'op':'add','path':'/baz/bat','value':'qux'}]", "path not found"},
    {"{'/':9,'~1':10}", "[{'op':'test','path':'/~01','value':'10'}]", "test failed"},
    {"{'a':1}", "[{'op':'test','path':'/b','value':1}]", "path not found"},
    {"{'a':1}", "[{'op':'remove','path':'/b'}]", "operation 0 (remove \"/b\"): path not found"},
    {"{'a':1}", "[{'op':'replace','path':'/b','value':1}]", "path not found"},
    {"{'a':[1]}", "[{'op':'add','path':'/a/2','value':1}]", "array index out of range"},
    {"{'a':[1]}", "[{'op':'remove','path':'/a/1'}]", "array index out of range"},
    {"{'a':[1]}", "[{'op':'replace','path':'/a/1','value':0}]", "array index out of range"},
    {"{'a':[1]}", "[{'op':'remove','path':'/a/-'}]", "invalid array index"},
    {"{'a':[1]}", "[{'op':'add','path':'/a/01','value':0}]", "invalid array index"},
    {"{'a':[1]}", "[{'op':'add','path':'/a/-1','value':0}]", "invalid array index"},
    {"{'a':[1]}", "[{'op':'add','path':'/a/x','value':0}]", "invalid array index"},
    {"{'a':[1]}", "[{'op':'add','path':'/a/99999999999999999999999','value':0}]",
     "array index out of range"},
    {"{'a':'s'}", "[{'op':'add','path':'/a/b','value':0}]", "not an object or array"},
    {"{'a':'s'}", "[{'op':'test','path':'/a/b','value':0}]", "path not found"},
    {"{'a':1}", "[{'op':'add','path':'a','value':0}]", "must be empty or start with '/'"},
    {"{'a':1}", "[{'op':'add','path':'/a~2','value':0}]", "followed by '0' or '1'"},
    {"{'a':1}", "[{'op':'add','path':'/a~','value':0}]", "followed by '0' or '1'"},
    {"{'a':1}", "[{'op':'remove','path':''}]", "cannot remove the whole document"},
    {"{'a':{'b':1}}", "[{'op':'move','from':'/a','path':'/a/b/c'}]", "own children"},
    {"{'a':1}", "[{'op':'move','from':'/x','path':'/y'}]", "path not found"},
    {"{'a':1}", "[{'op':'copy','from':'/x','path':'/y'}]", "path not found"},
    {"{'a':1}", "[{'op':'copy','from':'/a','path':'/x/y'}]", "path not found"},
    {"{'a':1}", "[{'op':'move','from':'~','path':'/y'}]", "must be empty or start"},
    /* all or nothing: the first op would succeed, the second fails */
    {"{'a':1}",
     "[{'op':'add','path':'/b','value':2},{'op':'remove','path':'/a'},"
     "{'op':'test','path':'/a','value':1}]",
     "operation 2 (test \"/a\"): path not found"},
};

static void test_json_patch_errors(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof jp_err_cases / sizeof jp_err_cases[0]; i++) {
		json_t *doc = J(jp_err_cases[i].doc), *ops = J(jp_err_cases[i].ops),
		       *out = SENTINEL;
		char *d0 = dump(doc);
		wf_err err = {0};
		int rc = wf_json_patch(doc, ops, &out, &err);
		if (rc != -WF_EINVAL)
			fail_msg("json patch error case %zu: rc %d (%s)", i, rc, err.msg);
		assert_ptr_equal(out, SENTINEL);
		char what[64];
		snprintf(what, sizeof what, "json patch error case %zu", i);
		expect_msg(what, &err, jp_err_cases[i].msg);
		char *d1 = dump(doc);
		assert_string_equal(d0, d1);
		free(d0);
		free(d1);
		json_decref(doc);
		json_decref(ops);
	}
	json_t *ops = J("[]"), *out = SENTINEL;
	assert_int_equal(wf_json_patch(NULL, ops, &out, NULL), -WF_EINVAL);
	assert_ptr_equal(out, SENTINEL);
	json_decref(ops);
}

static void test_json_patch_limits(void **state)
{
	(void)state;
	json_t *doc = J("{'n':[]}"), *ops = json_array(), *out = SENTINEL;
	for (int i = 0; i < WF_JSON_PATCH_MAX_OPS; i++)
		json_array_append_new(
		    ops, json_pack("{s:s,s:s,s:i}", "op", "add", "path", "/n/-", "value", i));
	wf_err err;
	assert_int_equal(wf_json_patch(doc, ops, &out, &err), 0);
	assert_int_equal(json_array_size(json_object_get(out, "n")), WF_JSON_PATCH_MAX_OPS);
	json_decref(out);
	out = SENTINEL;
	json_array_append_new(ops, json_pack("{s:s,s:s}", "op", "remove", "path", "/n/0"));
	assert_int_equal(wf_json_patch(doc, ops, &out, &err), -WF_ETOOBIG);
	assert_int_equal(err.code, WF_ETOOBIG);
	assert_ptr_equal(out, SENTINEL);
	json_decref(ops);

	/* a pointer token is compared with its full length, NUL bytes included */
	json_t *d2 = J("{'a':2}");
	ops = json_array();
	json_t *op = json_pack("{s:s}", "op", "remove");
	json_object_set_new(op, "path", json_stringn("/a\0b", 4));
	json_array_append_new(ops, op);
	out = SENTINEL;
	assert_int_equal(wf_json_patch(d2, ops, &out, &err), -WF_EINVAL);
	assert_ptr_equal(out, SENTINEL);
	expect_msg("NUL in a pointer", &err, "path not found");
	json_decref(ops);
	json_decref(d2);

	/* a value added by one op is not shared with the ops document */
	ops = J(
	    "[{'op':'add','path':'/x','value':{'k':[1]}},{'op':'add','path':'/x/k/-','value':2}]");
	assert_int_equal(wf_json_patch(doc, ops, &out, &err), 0);
	expect_json("nested add", out, "{'n':[],'x':{'k':[1,2]}}");
	expect_json(
	    "ops untouched", ops,
	    "[{'op':'add','path':'/x','value':{'k':[1]}},{'op':'add','path':'/x/k/-','value':2}]");
	json_decref(out);
	json_decref(ops);
	json_decref(doc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_json_equal),
	    cmocka_unit_test(test_merge_patch_rfc),
	    cmocka_unit_test(test_merge_patch_edges),
	    cmocka_unit_test(test_smp_table),
	    cmocka_unit_test(test_smp_errors),
	    cmocka_unit_test(test_smp_result_is_independent),
	    cmocka_unit_test(test_smp_hostile),
	    cmocka_unit_test(test_json_patch_table),
	    cmocka_unit_test(test_json_patch_errors),
	    cmocka_unit_test(test_json_patch_limits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
