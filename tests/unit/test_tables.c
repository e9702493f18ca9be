/*
 * test_tables.c - `kubectl get` columns and rows for every kind with a
 * Table definition: realistic objects column by column, wide columns,
 * objects missing fields, and hostile input (wrong types everywhere, huge
 * counters, huge arrays). Every row must have exactly one cell per column.
 *
 * Fixtures are JSON written with single quotes (turned into double quotes
 * before parsing) so they stay readable inline.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "registry/tables.h"

/* 2026-11-22T07:00:00Z */
#define NOW ((time_t)1795330800)

static const struct {
	const char *group;
	const char *resource;
} all_kinds[] = {
    {"", "pods"},
    {"", "nodes"},
    {"", "namespaces"},
    {"", "events"},
    {"events.k8s.io", "events"},
    {"", "configmaps"},
    {"", "secrets"},
    {"", "services"},
    {"", "serviceaccounts"},
    {"coordination.k8s.io", "leases"},
    {"batch", "jobs"},
    {"scheduling.k8s.io", "priorityclasses"},
    {"scheduling.x-k8s.io", "podgroups"},
};
#define NKINDS (sizeof(all_kinds) / sizeof(all_kinds[0]))

static json_t *parse(const char *sq)
{
	char *s = strdup(sq);
	assert_non_null(s);
	for (char *p = s; *p; p++)
		if (*p == '\'')
			*p = '"';
	json_error_t e;
	json_t *v = json_loads(s, JSON_DECODE_ANY, &e);
	if (!v)
		fail_msg("fixture does not parse: %s at %d: %s", e.text, e.position, s);
	free(s);
	return v;
}

static void check_cells(const wf_table_def *d, const json_t *cells)
{
	assert_int_equal(json_array_size(cells), d->ncols);
	for (size_t i = 0; i < d->ncols; i++) {
		const json_t *c = json_array_get(cells, i);
		assert_true(json_is_string(c) || json_is_integer(c) || json_is_boolean(c) ||
			    json_is_null(c));
	}
}

typedef struct trow {
	const wf_table_def *def;
	json_t *obj;
	json_t *cells;
} trow;

static void row_of_json(trow *r, const char *group, const char *res, json_t *obj)
{
	r->def = wf_table_def_find(group, res);
	assert_non_null(r->def);
	r->obj = obj;
	r->cells = json_array();
	r->def->row(r->obj, NOW, r->cells);
	check_cells(r->def, r->cells);
}

static void row(trow *r, const char *group, const char *res, const char *sq)
{
	row_of_json(r, group, res, sq ? parse(sq) : NULL);
}

static void row_free(trow *r)
{
	json_decref(r->obj);
	json_decref(r->cells);
}

static size_t col(const wf_table_def *d, const char *name)
{
	for (size_t i = 0; i < d->ncols; i++)
		if (strcmp(d->cols[i].name, name) == 0)
			return i;
	fail_msg("no column %s in %s", name, d->resource);
	return 0;
}

static const char *S(const trow *r, const char *name)
{
	const json_t *c = json_array_get(r->cells, col(r->def, name));
	if (!json_is_string(c))
		fail_msg("column %s of %s is not a string", name, r->def->resource);
	return json_string_value(c);
}

static json_int_t I(const trow *r, const char *name)
{
	const json_t *c = json_array_get(r->cells, col(r->def, name));
	if (!json_is_integer(c))
		fail_msg("column %s of %s is not an integer", name, r->def->resource);
	return json_integer_value(c);
}

static bool is_null(const trow *r, const char *name)
{
	return json_is_null(json_array_get(r->cells, col(r->def, name)));
}

/* The header names, in order, joined with "|", and the wide ones marked "*". */
static void assert_columns(const char *group, const char *res, const char *want)
{
	const wf_table_def *d = wf_table_def_find(group, res);
	char got[1024] = "";
	assert_non_null(d);
	for (size_t i = 0; i < d->ncols; i++) {
		if (i)
			strcat(got, "|");
		if (d->cols[i].priority)
			strcat(got, "*");
		strcat(got, d->cols[i].name);
	}
	assert_string_equal(got, want);
}

/* ---- definitions ------------------------------------------------------- */

static void test_lookup(void **state)
{
	for (size_t i = 0; i < NKINDS; i++) {
		const wf_table_def *d =
		    wf_table_def_find(all_kinds[i].group, all_kinds[i].resource);
		assert_non_null(d);
		assert_string_equal(d->resource, all_kinds[i].resource);
		assert_non_null(d->row);
		assert_true(d->ncols > 0);
	}
	assert_ptr_equal(wf_table_def_find(NULL, "pods"), wf_table_def_find("", "pods"));
	assert_null(wf_table_def_find("", NULL));
	assert_null(wf_table_def_find(NULL, NULL));
	assert_null(wf_table_def_find("", "widgets"));
	assert_null(wf_table_def_find("apps", "pods"));
	assert_null(wf_table_def_find("", "jobs"));
	assert_null(wf_table_def_find("batch", "Jobs"));
	assert_null(wf_table_def_find("", "pod"));
	assert_null(wf_table_def_find("", ""));
	assert_null(wf_table_def_find("kueue.x-k8s.io", "clusterqueues"));

	const wf_table_def *g = wf_table_def_generic();
	assert_non_null(g);
	assert_int_equal(g->ncols, 2);
	assert_string_equal(g->cols[0].name, "Name");
	assert_string_equal(g->cols[0].format, "name");
	assert_string_equal(g->cols[1].name, "Age");
}

static void test_column_metadata(void **state)
{
	static const char *types[] = {"string", "integer", "boolean", "date", "number"};
	for (size_t i = 0; i <= NKINDS; i++) {
		const wf_table_def *d =
		    i < NKINDS ? wf_table_def_find(all_kinds[i].group, all_kinds[i].resource)
			       : wf_table_def_generic();
		size_t names = 0;
		for (size_t j = 0; j < d->ncols; j++) {
			const wf_column *c = &d->cols[j];
			bool known = false;
			assert_non_null(c->name);
			assert_non_null(c->format);
			assert_non_null(c->description);
			assert_true(c->priority == 0 || c->priority == 1);
			for (size_t k = 0; k < sizeof(types) / sizeof(types[0]); k++)
				known |= strcmp(c->type, types[k]) == 0;
			assert_true(known);
			if (strcmp(c->format, "name") == 0) {
				assert_string_equal(c->name, "Name");
				names++;
			}
		}
		assert_int_equal(names, 1);
	}
}

static void test_column_names(void **state)
{
	assert_columns("", "pods",
		       "Name|Ready|Status|Restarts|Age|*IP|*Node|*Nominated Node|"
		       "*Readiness Gates");
	assert_columns("", "nodes",
		       "Name|Status|Roles|Age|Version|Gpus|Gpu-Model|*Internal-IP|"
		       "*External-IP|*OS-Image|*Kernel-Version|*Container-Runtime");
	assert_columns("", "namespaces", "Name|Status|Age");
	assert_columns("", "events",
		       "Last Seen|Type|Reason|Object|*Subobject|*Source|Message|"
		       "*First Seen|*Count|*Name");
	assert_columns("events.k8s.io", "events",
		       "Last Seen|Type|Reason|Object|*Subobject|"
		       "*Source|Message|*First Seen|*Count|*Name");
	assert_columns("", "configmaps", "Name|Data|Age");
	assert_columns("", "secrets", "Name|Type|Data|Age");
	assert_columns("", "services", "Name|Type|Cluster-IP|External-IP|Port(s)|Age|*Selector");
	assert_columns("", "serviceaccounts", "Name|Secrets|Age");
	assert_columns("coordination.k8s.io", "leases", "Name|Holder|Age");
	assert_columns("batch", "jobs",
		       "Name|Status|Completions|Duration|Age|*Containers|*Images|*Selector");
	assert_columns("scheduling.k8s.io", "priorityclasses",
		       "Name|Value|Global-Default|Age|PreemptionPolicy");
	assert_columns("scheduling.x-k8s.io", "podgroups",
		       "Name|Phase|MinMember|Running|Succeeded|Failed|Age");
}

/* ---- pods -------------------------------------------------------------- */

static void test_pod_running(void **state)
{
	trow r;
	row(&r, "", "pods",
	    "{'metadata':{'name':'web-1','namespace':'default',"
	    "  'creationTimestamp':'2026-11-22T02:00:00Z'},"
	    " 'spec':{'nodeName':'node-1','containers':[{'name':'app'},{'name':'log'}]},"
	    " 'status':{'phase':'Running','podIP':'10.0.0.7','podIPs':[{'ip':'10.0.0.7'}],"
	    "  'conditions':[{'type':'Ready','status':'True'}],"
	    "  'containerStatuses':["
	    "   {'name':'app','ready':true,'restartCount':0,'state':{'running':{}}},"
	    "   {'name':'log','ready':true,'restartCount':0,'state':{'running':{}}}]}}");
	assert_string_equal(S(&r, "Name"), "web-1");
	assert_string_equal(S(&r, "Ready"), "2/2");
	assert_string_equal(S(&r, "Status"), "Running");
	assert_string_equal(S(&r, "Restarts"), "0");
	assert_string_equal(S(&r, "Age"), "5h");
	assert_string_equal(S(&r, "IP"), "10.0.0.7");
	assert_string_equal(S(&r, "Node"), "node-1");
	assert_string_equal(S(&r, "Nominated Node"), "<none>");
	assert_string_equal(S(&r, "Readiness Gates"), "<none>");
	row_free(&r);
}

static void test_pod_crashloop(void **state)
{
	trow r;
	row(&r, "", "pods",
	    "{'metadata':{'name':'bad','creationTimestamp':'2026-11-19T03:00:00Z'},"
	    " 'spec':{'containers':[{'name':'app'}]},"
	    " 'status':{'phase':'Running','containerStatuses':[{'name':'app','ready':false,"
	    "  'restartCount':5,'state':{'waiting':{'reason':'CrashLoopBackOff'}},"
	    "  'lastState':{'terminated':{'exitCode':1,'reason':'Error',"
	    "   'finishedAt':'2026-11-22T06:55:00Z'}}}]}}");
	assert_string_equal(S(&r, "Ready"), "0/1");
	assert_string_equal(S(&r, "Status"), "CrashLoopBackOff");
	assert_string_equal(S(&r, "Restarts"), "5 (5m ago)");
	assert_string_equal(S(&r, "Age"), "3d4h");
	row_free(&r);

	/* restarts without a last termination time: no suffix */
	row(&r, "", "pods",
	    "{'spec':{'containers':[{}]},'status':{'phase':'Running','containerStatuses':"
	    "[{'ready':true,'restartCount':3,'state':{'running':{}}}]}}");
	assert_string_equal(S(&r, "Restarts"), "3");
	assert_string_equal(S(&r, "Status"), "Running");
	assert_string_equal(S(&r, "Ready"), "1/1");
	row_free(&r);
}

static void test_pod_terminated_reasons(void **state)
{
	static const struct {
		const char *state;
		const char *phase;
		const char *want;
	} cases[] = {
	    {"{'terminated':{'exitCode':0,'reason':'Completed'}}", "Succeeded", "Completed"},
	    {"{'terminated':{'exitCode':1,'reason':'Error'}}", "Failed", "Error"},
	    {"{'terminated':{'exitCode':137,'reason':'OOMKilled'}}", "Failed", "OOMKilled"},
	    {"{'terminated':{'exitCode':137,'signal':9}}", "Failed", "Signal:9"},
	    {"{'terminated':{'exitCode':3}}", "Failed", "ExitCode:3"},
	    {"{'terminated':{}}", "Failed", "ExitCode:0"},
	    {"{'waiting':{'reason':'ContainerCreating'}}", "Pending", "ContainerCreating"},
	    {"{'waiting':{'reason':'ImagePullBackOff'}}", "Pending", "ImagePullBackOff"},
	    {"{'waiting':{}}", "Pending", "Pending"},
	    {"{}", "Unknown", "Unknown"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char buf[512];
		trow r;
		snprintf(buf, sizeof(buf),
			 "{'spec':{'containers':[{'name':'a'}]},'status':{'phase':'%s',"
			 "'containerStatuses':[{'name':'a','state':%s}]}}",
			 cases[i].phase, cases[i].state);
		row(&r, "", "pods", buf);
		assert_string_equal(S(&r, "Status"), cases[i].want);
		assert_string_equal(S(&r, "Ready"), "0/1");
		row_free(&r);
	}
}

static void test_pod_last_container_wins(void **state)
{
	/* containers are read from last to first, so the first one's reason stays */
	trow r;
	row(&r, "", "pods",
	    "{'spec':{'containers':[{'name':'a'},{'name':'b'}]},'status':{'phase':'Running',"
	    "'containerStatuses':[{'name':'a','state':{'waiting':{'reason':'ErrImagePull'}}},"
	    "{'name':'b','ready':true,'state':{'running':{}}}]}}");
	assert_string_equal(S(&r, "Status"), "ErrImagePull");
	assert_string_equal(S(&r, "Ready"), "1/2");
	row_free(&r);
}

static void test_pod_completed_but_running(void **state)
{
	const char *fmt = "{'spec':{'containers':[{},{}]},'status':{'phase':'Running',"
			  "'conditions':[{'type':'Ready','status':'%s'}],'containerStatuses':["
			  "{'ready':true,'state':{'running':{}}},"
			  "{'state':{'terminated':{'exitCode':0,'reason':'Completed'}}}]}}";
	char buf[512];
	trow r;
	snprintf(buf, sizeof(buf), fmt, "True");
	row(&r, "", "pods", buf);
	assert_string_equal(S(&r, "Status"), "Running");
	assert_string_equal(S(&r, "Ready"), "1/2");
	row_free(&r);
	snprintf(buf, sizeof(buf), fmt, "False");
	row(&r, "", "pods", buf);
	assert_string_equal(S(&r, "Status"), "NotReady");
	row_free(&r);
}

static void test_pod_init(void **state)
{
	static const struct {
		const char *statuses;
		const char *want;
	} cases[] = {
	    /* first done, second running */
	    {"[{'name':'i1','state':{'terminated':{'exitCode':0,'reason':'Completed'}}},"
	     "{'name':'i2','state':{'running':{}}}]",
	     "Init:1/2"},
	    {"[{'name':'i1','state':{'waiting':{'reason':'PodInitializing'}}}]", "Init:0/2"},
	    {"[{'name':'i1','state':{'waiting':{'reason':'CrashLoopBackOff'}}}]",
	     "Init:CrashLoopBackOff"},
	    {"[{'name':'i1','state':{'terminated':{'exitCode':1,'reason':'Error'}}}]",
	     "Init:Error"},
	    {"[{'name':'i1','state':{'terminated':{'exitCode':2}}}]", "Init:ExitCode:2"},
	    {"[{'name':'i1','state':{'terminated':{'exitCode':2,'signal':15}}}]", "Init:Signal:15"},
	    /* both done: the containers decide */
	    {"[{'name':'i1','state':{'terminated':{'exitCode':0}}},"
	     "{'name':'i2','state':{'terminated':{'exitCode':0}}}]",
	     "ContainerCreating"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char buf[1024];
		trow r;
		snprintf(buf, sizeof(buf),
			 "{'spec':{'initContainers':[{'name':'i1'},{'name':'i2'}],"
			 "'containers':[{'name':'a'}]},'status':{'phase':'Pending',"
			 "'initContainerStatuses':%s,'containerStatuses':[{'name':'a',"
			 "'state':{'waiting':{'reason':'ContainerCreating'}}}]}}",
			 cases[i].statuses);
		row(&r, "", "pods", buf);
		assert_string_equal(S(&r, "Status"), cases[i].want);
		assert_string_equal(S(&r, "Ready"), "0/1");
		row_free(&r);
	}
}

static void test_pod_init_restarts(void **state)
{
	/* while initializing, restarts are the init containers' */
	trow r;
	row(&r, "", "pods",
	    "{'spec':{'initContainers':[{'name':'i1'}],'containers':[{'name':'a'}]},"
	    "'status':{'phase':'Pending','initContainerStatuses':[{'name':'i1','restartCount':4,"
	    "'state':{'waiting':{'reason':'CrashLoopBackOff'}},'lastState':{'terminated':"
	    "{'exitCode':1,'finishedAt':'2026-11-22T06:58:10Z'}}}],"
	    "'containerStatuses':[{'name':'a','restartCount':100}]}}");
	assert_string_equal(S(&r, "Status"), "Init:CrashLoopBackOff");
	assert_string_equal(S(&r, "Restarts"), "4 (110s ago)");
	row_free(&r);
}

static void test_pod_sidecar(void **state)
{
	trow r;
	row(&r, "", "pods",
	    "{'spec':{'initContainers':[{'name':'proxy','restartPolicy':'Always'},"
	    "{'name':'setup'}],'containers':[{'name':'app'}]},"
	    "'status':{'phase':'Running','conditions':[{'type':'Initialized','status':'True'}],"
	    "'initContainerStatuses':["
	    " {'name':'proxy','started':true,'ready':true,'restartCount':2,"
	    "  'state':{'running':{}},'lastState':{'terminated':{'exitCode':1,"
	    "  'finishedAt':'2026-11-22T06:00:00Z'}}},"
	    " {'name':'setup','restartCount':7,'state':{'terminated':{'exitCode':0}}}],"
	    "'containerStatuses':[{'name':'app','ready':true,'restartCount':1,"
	    " 'state':{'running':{}}}]}}");
	assert_string_equal(S(&r, "Ready"), "2/2");
	assert_string_equal(S(&r, "Status"), "Running");
	/* sidecar restarts + container restarts; plain init restarts are dropped */
	assert_string_equal(S(&r, "Restarts"), "3 (60m ago)");
	row_free(&r);
}

static void test_pod_terminating(void **state)
{
	trow r;
	row(&r, "", "pods",
	    "{'metadata':{'name':'p','deletionTimestamp':'2026-11-22T06:59:00Z'},"
	    "'spec':{'containers':[{}]},'status':{'phase':'Running','containerStatuses':"
	    "[{'ready':true,'state':{'running':{}}}]}}");
	assert_string_equal(S(&r, "Status"), "Terminating");
	row_free(&r);

	row(&r, "", "pods",
	    "{'metadata':{'deletionTimestamp':'2026-11-22T06:59:00Z'},"
	    "'spec':{'containers':[{}]},'status':{'phase':'Succeeded','containerStatuses':"
	    "[{'state':{'terminated':{'exitCode':0,'reason':'Completed'}}}]}}");
	assert_string_equal(S(&r, "Status"), "Completed");
	row_free(&r);

	row(&r, "", "pods",
	    "{'metadata':{'deletionTimestamp':'2026-11-22T06:59:00Z'},"
	    "'status':{'phase':'Running','reason':'NodeLost'}}");
	assert_string_equal(S(&r, "Status"), "Unknown");
	row_free(&r);
}

static void test_pod_reasons(void **state)
{
	trow r;
	row(&r, "", "pods", "{'status':{'phase':'Failed','reason':'Evicted'}}");
	assert_string_equal(S(&r, "Status"), "Evicted");
	row_free(&r);

	row(&r, "", "pods",
	    "{'status':{'phase':'Pending','conditions':[{'type':'PodScheduled',"
	    "'status':'False','reason':'SchedulingGated'}]}}");
	assert_string_equal(S(&r, "Status"), "SchedulingGated");
	row_free(&r);

	row(&r, "", "pods", "{'status':{'phase':'Pending','nominatedNodeName':'gpu-3'}}");
	assert_string_equal(S(&r, "Status"), "Pending");
	assert_string_equal(S(&r, "Nominated Node"), "gpu-3");
	row_free(&r);
}

static void test_pod_wide(void **state)
{
	trow r;
	row(&r, "", "pods",
	    "{'spec':{'readinessGates':[{'conditionType':'example.com/lb'},"
	    "{'conditionType':'example.com/dns'},{'conditionType':'example.com/lb'}]},"
	    "'status':{'podIP':'10.1.1.1','podIPs':[{'ip':'fd00::1'},{'ip':'10.1.1.1'}],"
	    "'conditions':[{'type':'example.com/lb','status':'True'},"
	    "{'type':'example.com/lb','status':'False'},"
	    "{'type':'example.com/dns','status':'False'}]}}");
	assert_string_equal(S(&r, "IP"), "fd00::1");
	assert_string_equal(S(&r, "Readiness Gates"), "2/3");
	row_free(&r);

	row(&r, "", "pods", "{'status':{'podIP':'10.1.1.2'}}");
	assert_string_equal(S(&r, "IP"), "10.1.1.2");
	row_free(&r);
}

static void test_pod_empty(void **state)
{
	trow r;
	row(&r, "", "pods", "{'metadata':{'name':'bare'},'spec':{'containers':[{'name':'a'}]}}");
	assert_string_equal(S(&r, "Name"), "bare");
	assert_string_equal(S(&r, "Ready"), "0/1");
	assert_string_equal(S(&r, "Status"), "Pending");
	assert_string_equal(S(&r, "Restarts"), "0");
	assert_string_equal(S(&r, "Age"), "<unknown>");
	assert_string_equal(S(&r, "IP"), "<none>");
	assert_string_equal(S(&r, "Node"), "<none>");
	assert_string_equal(S(&r, "Nominated Node"), "<none>");
	assert_string_equal(S(&r, "Readiness Gates"), "<none>");
	row_free(&r);
}

/* ---- nodes ------------------------------------------------------------- */

static void test_node(void **state)
{
	trow r;
	row(&r, "", "nodes",
	    "{'metadata':{'name':'gpu-1','creationTimestamp':'2026-08-24T07:00:00Z',"
	    " 'labels':{'node-role.kubernetes.io/worker':'','node-role.kubernetes.io/gpu':'',"
	    "  'kubernetes.io/role':'worker','node-role.kubernetes.io/':'x',"
	    "  'nvidia.com/gpu.product':'NVIDIA-H100-80GB-HBM3'}},"
	    " 'spec':{'unschedulable':true},"
	    " 'status':{'conditions':[{'type':'MemoryPressure','status':'False'},"
	    "  {'type':'Ready','status':'True'}],"
	    "  'capacity':{'cpu':'64','nvidia.com/gpu':'8','amd.com/gpu':'2'},"
	    "  'addresses':[{'type':'Hostname','address':'gpu-1'},"
	    "   {'type':'InternalIP','address':'192.0.2.10'},"
	    "   {'type':'InternalIP','address':'192.0.2.11'},"
	    "   {'type':'ExternalIP','address':'203.0.113.5'}],"
	    "  'nodeInfo':{'kubeletVersion':'v1.32.0-wharf','osImage':'Debian GNU/Linux 13',"
	    "   'kernelVersion':'6.12.0','containerRuntimeVersion':'wharf://0.1'}}}");
	assert_string_equal(S(&r, "Name"), "gpu-1");
	assert_string_equal(S(&r, "Status"), "Ready,SchedulingDisabled");
	assert_string_equal(S(&r, "Roles"), "gpu,worker");
	assert_string_equal(S(&r, "Age"), "90d");
	assert_string_equal(S(&r, "Version"), "v1.32.0-wharf");
	assert_int_equal(I(&r, "Gpus"), 8);
	assert_string_equal(S(&r, "Gpu-Model"), "NVIDIA-H100-80GB-HBM3");
	assert_string_equal(S(&r, "Internal-IP"), "192.0.2.10");
	assert_string_equal(S(&r, "External-IP"), "203.0.113.5");
	assert_string_equal(S(&r, "OS-Image"), "Debian GNU/Linux 13");
	assert_string_equal(S(&r, "Kernel-Version"), "6.12.0");
	assert_string_equal(S(&r, "Container-Runtime"), "wharf://0.1");
	row_free(&r);
}

static void test_node_status_variants(void **state)
{
	static const struct {
		const char *conds;
		const char *want;
	} cases[] = {
	    {"[{'type':'Ready','status':'False'}]", "NotReady"},
	    {"[{'type':'Ready','status':'Unknown'}]", "NotReady"},
	    {"[{'type':'DiskPressure','status':'True'}]", "Unknown"},
	    {"[]", "Unknown"},
	    {"[{'type':'Ready','status':'False'},{'type':'Ready','status':'True'}]", "Ready"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char buf[256];
		trow r;
		snprintf(buf, sizeof(buf), "{'status':{'conditions':%s}}", cases[i].conds);
		row(&r, "", "nodes", buf);
		assert_string_equal(S(&r, "Status"), cases[i].want);
		row_free(&r);
	}
}

static void test_node_gpus(void **state)
{
	static const struct {
		const char *cap;
		json_int_t want; /* -1: null */
	} cases[] = {
	    {"{'amd.com/gpu':'4'}", 4},
	    {"{'cpu':'8'}", 0},
	    {"{'nvidia.com/gpu':16}", 16},
	    {"{'nvidia.com/gpu':'0','amd.com/gpu':'2'}", 0},
	    {"{'nvidia.com/gpu':'lots'}", -1},
	    {"{'nvidia.com/gpu':'1k'}", -1},
	    {"{'nvidia.com/gpu':'-1'}", -1},
	    {"{'nvidia.com/gpu':-1}", -1},
	    {"{'nvidia.com/gpu':'99999999999999999999999'}", -1},
	    {"{'nvidia.com/gpu':null}", -1},
	    {"{'nvidia.com/gpu':[8]}", -1},
	    {"'8'", 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char buf[256];
		trow r;
		snprintf(buf, sizeof(buf), "{'status':{'capacity':%s}}", cases[i].cap);
		row(&r, "", "nodes", buf);
		if (cases[i].want < 0)
			assert_true(is_null(&r, "Gpus"));
		else
			assert_int_equal(I(&r, "Gpus"), cases[i].want);
		row_free(&r);
	}
}

static void test_node_empty(void **state)
{
	trow r;
	row(&r, "", "nodes", "{'metadata':{'name':'n','labels':{'kubernetes.io/role':''}}}");
	assert_string_equal(S(&r, "Status"), "Unknown");
	assert_string_equal(S(&r, "Roles"), "<none>");
	assert_string_equal(S(&r, "Version"), "");
	assert_int_equal(I(&r, "Gpus"), 0);
	assert_string_equal(S(&r, "Gpu-Model"), "<none>");
	assert_string_equal(S(&r, "Internal-IP"), "<none>");
	assert_string_equal(S(&r, "External-IP"), "<none>");
	assert_string_equal(S(&r, "OS-Image"), "<unknown>");
	assert_string_equal(S(&r, "Kernel-Version"), "<unknown>");
	assert_string_equal(S(&r, "Container-Runtime"), "<unknown>");
	row_free(&r);

	row(&r, "", "nodes",
	    "{'metadata':{'labels':{'kubernetes.io/role':'master',"
	    "'node-role.kubernetes.io/control-plane':'','node-role.kubernetes.io/master':''}}}");
	assert_string_equal(S(&r, "Roles"), "control-plane,master");
	row_free(&r);
}

/* ---- namespaces, configmaps, secrets, serviceaccounts, leases ---------- */

static void test_namespace(void **state)
{
	trow r;
	row(&r, "", "namespaces",
	    "{'metadata':{'name':'team-a','creationTimestamp':'2026-11-22T06:59:55Z'},"
	    "'status':{'phase':'Active'}}");
	assert_string_equal(S(&r, "Name"), "team-a");
	assert_string_equal(S(&r, "Status"), "Active");
	assert_string_equal(S(&r, "Age"), "5s");
	row_free(&r);
	row(&r, "", "namespaces", "{'status':{'phase':'Terminating'}}");
	assert_string_equal(S(&r, "Status"), "Terminating");
	row_free(&r);
	row(&r, "", "namespaces", "{'metadata':{'name':'x'}}");
	assert_string_equal(S(&r, "Status"), "Active");
	row_free(&r);
	row(&r, "", "namespaces", "{'metadata':{'deletionTimestamp':'2026-11-22T06:59:55Z'}}");
	assert_string_equal(S(&r, "Status"), "Terminating");
	row_free(&r);
}

static void test_configmap_secret_sa(void **state)
{
	trow r;
	row(&r, "", "configmaps",
	    "{'metadata':{'name':'cfg','creationTimestamp':'2026-11-22T06:56:40Z'},"
	    "'data':{'a':'1','b':'2'},'binaryData':{'c':'AA=='}}");
	assert_string_equal(S(&r, "Name"), "cfg");
	assert_int_equal(I(&r, "Data"), 3);
	assert_string_equal(S(&r, "Age"), "3m20s");
	row_free(&r);
	row(&r, "", "configmaps", "{'metadata':{'name':'empty'}}");
	assert_int_equal(I(&r, "Data"), 0);
	row_free(&r);

	row(&r, "", "secrets",
	    "{'metadata':{'name':'tls'},'type':'kubernetes.io/tls',"
	    "'data':{'tls.crt':'AA==','tls.key':'AA=='}}");
	assert_string_equal(S(&r, "Type"), "kubernetes.io/tls");
	assert_int_equal(I(&r, "Data"), 2);
	row_free(&r);
	row(&r, "", "secrets", "{'metadata':{'name':'s'}}");
	assert_string_equal(S(&r, "Type"), "Opaque");
	assert_int_equal(I(&r, "Data"), 0);
	row_free(&r);

	row(&r, "", "serviceaccounts",
	    "{'metadata':{'name':'default'},'secrets':[{'name':'default-token'}]}");
	assert_int_equal(I(&r, "Secrets"), 1);
	row_free(&r);
	row(&r, "", "serviceaccounts", "{'metadata':{'name':'default'}}");
	assert_int_equal(I(&r, "Secrets"), 0);
	row_free(&r);
}

static void test_lease(void **state)
{
	trow r;
	row(&r, "coordination.k8s.io", "leases",
	    "{'metadata':{'name':'gpu-1','namespace':'kube-node-lease',"
	    "'creationTimestamp':'2026-11-22T06:15:00Z'},"
	    "'spec':{'holderIdentity':'gpu-1','leaseDurationSeconds':40,"
	    "'renewTime':'2026-11-22T06:59:50.123456Z'}}");
	assert_string_equal(S(&r, "Name"), "gpu-1");
	assert_string_equal(S(&r, "Holder"), "gpu-1");
	assert_string_equal(S(&r, "Age"), "45m");
	row_free(&r);
	row(&r, "coordination.k8s.io", "leases", "{'metadata':{'name':'free'},'spec':{}}");
	assert_string_equal(S(&r, "Holder"), "");
	row_free(&r);
}

/* ---- events ------------------------------------------------------------ */

static void test_event_core(void **state)
{
	trow r;
	row(&r, "", "events",
	    "{'metadata':{'name':'web-1.17a8b'},"
	    "'involvedObject':{'kind':'Pod','name':'web-1','fieldPath':'spec.containers{app}'},"
	    "'reason':'BackOff','message':'  Back-off restarting failed container\\n',"
	    "'type':'Warning','source':{'component':'kubelet','host':'node-1'},"
	    "'firstTimestamp':'2026-11-22T06:00:00Z','lastTimestamp':'2026-11-22T06:55:00Z',"
	    "'count':12}");
	assert_string_equal(S(&r, "Last Seen"), "5m");
	assert_string_equal(S(&r, "Type"), "Warning");
	assert_string_equal(S(&r, "Reason"), "BackOff");
	assert_string_equal(S(&r, "Object"), "pod/web-1");
	assert_string_equal(S(&r, "Subobject"), "spec.containers{app}");
	assert_string_equal(S(&r, "Source"), "kubelet, node-1");
	assert_string_equal(S(&r, "Message"), "Back-off restarting failed container");
	assert_string_equal(S(&r, "First Seen"), "60m");
	assert_int_equal(I(&r, "Count"), 12);
	assert_string_equal(S(&r, "Name"), "web-1.17a8b");
	row_free(&r);

	/* no lastTimestamp: first; no count: 1; no name: kind alone; component only */
	row(&r, "", "events",
	    "{'involvedObject':{'kind':'Node'},'source':{'component':'wharf-scheduler'},"
	    "'reportingInstance':'sched-0','firstTimestamp':'2026-11-22T06:59:00Z'}");
	assert_string_equal(S(&r, "Last Seen"), "60s");
	assert_string_equal(S(&r, "First Seen"), "60s");
	assert_string_equal(S(&r, "Object"), "node");
	assert_string_equal(S(&r, "Source"), "wharf-scheduler, sched-0");
	assert_int_equal(I(&r, "Count"), 1);
	row_free(&r);
}

static void test_event_new_api(void **state)
{
	/* core/v1 fields of an event written through events.k8s.io */
	trow r;
	row(&r, "", "events",
	    "{'metadata':{'name':'e'},'involvedObject':{'kind':'Job','name':'train'},"
	    "'reason':'Scheduled','type':'Normal','message':'ok',"
	    "'eventTime':'2026-11-22T06:50:00.000000Z','reportingComponent':'wharf-gang',"
	    "'reportingInstance':'wharf-0','series':{'count':4,"
	    "'lastObservedTime':'2026-11-22T06:58:00.500000Z'}}");
	assert_string_equal(S(&r, "Last Seen"), "2m"); /* fractions are dropped */
	assert_string_equal(S(&r, "First Seen"), "10m");
	assert_int_equal(I(&r, "Count"), 4);
	assert_string_equal(S(&r, "Source"), "wharf-gang, wharf-0");
	assert_string_equal(S(&r, "Object"), "job/train");
	row_free(&r);

	/* events.k8s.io/v1 field names */
	row(&r, "events.k8s.io", "events",
	    "{'metadata':{'name':'e2'},'regarding':{'kind':'PodGroup','name':'gang-a'},"
	    "'note':'waiting for 4 pods','reason':'Pending','type':'Normal',"
	    "'reportingController':'wharf.io/podgroup','reportingInstance':'wharf-0',"
	    "'deprecatedFirstTimestamp':'2026-11-22T04:00:00Z',"
	    "'deprecatedLastTimestamp':'2026-11-22T06:00:00Z','deprecatedCount':7}");
	assert_string_equal(S(&r, "Last Seen"), "60m");
	assert_string_equal(S(&r, "First Seen"), "3h");
	assert_int_equal(I(&r, "Count"), 7);
	assert_string_equal(S(&r, "Object"), "podgroup/gang-a");
	assert_string_equal(S(&r, "Message"), "waiting for 4 pods");
	assert_string_equal(S(&r, "Source"), "wharf.io/podgroup, wharf-0");
	row_free(&r);
}

static void test_event_empty(void **state)
{
	trow r;
	row(&r, "", "events", "{}");
	assert_string_equal(S(&r, "Last Seen"), "<unknown>");
	assert_string_equal(S(&r, "First Seen"), "<unknown>");
	assert_string_equal(S(&r, "Object"), "");
	assert_string_equal(S(&r, "Source"), "");
	assert_string_equal(S(&r, "Message"), "");
	assert_int_equal(I(&r, "Count"), 1);
	row_free(&r);
}

/* ---- services ---------------------------------------------------------- */

static void test_service_types(void **state)
{
	static const struct {
		const char *spec_status;
		const char *type, *cluster_ip, *external, *ports, *selector;
	} cases[] = {
	    {"'spec':{'type':'ClusterIP','clusterIP':'10.96.0.10','clusterIPs':['10.96.0.10'],"
	     "'ports':[{'port':53,'protocol':'UDP'},{'port':53,'protocol':'TCP'}],"
	     "'selector':{'k8s-app':'dns','tier':'infra'}}",
	     "ClusterIP", "10.96.0.10", "<none>", "53/UDP,53/TCP", "k8s-app=dns,tier=infra"},
	    {"'spec':{'type':'NodePort','clusterIPs':['10.96.1.1'],'externalIPs':['198.51.100.1',"
	     "'198.51.100.2'],'ports':[{'port':80,'nodePort':30080,'protocol':'TCP'}]}",
	     "NodePort", "10.96.1.1", "198.51.100.1,198.51.100.2", "80:30080/TCP", "<none>"},
	    {"'spec':{'type':'LoadBalancer','clusterIP':'10.96.2.2','ports':[{'port':443,"
	     "'nodePort':31443}]}",
	     "LoadBalancer", "10.96.2.2", "<pending>", "443:31443/TCP", "<none>"},
	    {"'spec':{'type':'LoadBalancer','clusterIPs':['10.96.2.3'],'externalIPs':['9.9.9.9'],"
	     "'ports':[{'port':443}]},'status':{'loadBalancer':{'ingress':[{'ip':'3.3.3.3'},"
	     "{'hostname':'lb.example.com'},{'ip':'1.1.1.1'},{'ip':'3.3.3.3'},{}]}}",
	     "LoadBalancer", "10.96.2.3", "1.1.1.1,3.3.3.3,lb.example.com,9.9.9.9", "443/TCP",
	     "<none>"},
	    {"'spec':{'type':'ExternalName','externalName':'db.example.com'}", "ExternalName",
	     "<none>", "db.example.com", "<none>", "<none>"},
	    {"'spec':{'clusterIP':'None','ports':[{'port':8080}],'selector':{'app':'web'}}",
	     "ClusterIP", "None", "<none>", "8080/TCP", "app=web"},
	    {"'spec':{'type':'Mystery'}", "Mystery", "<none>", "<unknown>", "<none>", "<none>"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char buf[1024];
		trow r;
		snprintf(
		    buf, sizeof(buf),
		    "{'metadata':{'name':'svc','creationTimestamp':'2026-11-22T06:15:00Z'},%s}",
		    cases[i].spec_status);
		row(&r, "", "services", buf);
		assert_string_equal(S(&r, "Name"), "svc");
		assert_string_equal(S(&r, "Type"), cases[i].type);
		assert_string_equal(S(&r, "Cluster-IP"), cases[i].cluster_ip);
		assert_string_equal(S(&r, "External-IP"), cases[i].external);
		assert_string_equal(S(&r, "Port(s)"), cases[i].ports);
		assert_string_equal(S(&r, "Age"), "45m");
		assert_string_equal(S(&r, "Selector"), cases[i].selector);
		row_free(&r);
	}
}

/* ---- jobs -------------------------------------------------------------- */

static void test_job_complete(void **state)
{
	trow r;
	row(&r, "batch", "jobs",
	    "{'metadata':{'name':'train','creationTimestamp':'2026-11-22T06:00:00Z'},"
	    "'spec':{'completions':4,'parallelism':2,"
	    " 'selector':{'matchLabels':{'batch.kubernetes.io/controller-uid':'abc'}},"
	    " 'template':{'spec':{'containers':[{'name':'trainer','image':'pytorch:2.4'},"
	    "  {'name':'sidecar','image':'busybox'}]}}},"
	    "'status':{'succeeded':4,'startTime':'2026-11-22T06:00:10Z',"
	    " 'completionTime':'2026-11-22T06:03:30Z',"
	    " 'conditions':[{'type':'SuccessCriteriaMet','status':'True'},"
	    "  {'type':'Complete','status':'True'}]}}");
	assert_string_equal(S(&r, "Name"), "train");
	assert_string_equal(S(&r, "Status"), "Complete");
	assert_string_equal(S(&r, "Completions"), "4/4");
	assert_string_equal(S(&r, "Duration"), "3m20s");
	assert_string_equal(S(&r, "Age"), "60m");
	assert_string_equal(S(&r, "Containers"), "trainer,sidecar");
	assert_string_equal(S(&r, "Images"), "pytorch:2.4,busybox");
	assert_string_equal(S(&r, "Selector"), "batch.kubernetes.io/controller-uid=abc");
	row_free(&r);
}

static void test_job_status_and_completions(void **state)
{
	static const struct {
		const char *body;
		const char *status, *completions, *duration;
	} cases[] = {
	    {"'spec':{'completions':4},'status':{'succeeded':1,"
	     "'startTime':'2026-11-22T06:55:00Z'}",
	     "Running", "1/4", "5m"},
	    {"'spec':{'parallelism':3},'status':{}", "Running", "0/1 of 3", ""},
	    {"'spec':{'parallelism':1},'status':{'succeeded':1}", "Running", "1/1", ""},
	    {"'spec':{},'status':{'conditions':[{'type':'Failed','status':'True',"
	     "'reason':'BackoffLimitExceeded'}]}",
	     "Failed", "0/1", ""},
	    {"'spec':{'suspend':true},'status':{'conditions':[{'type':'Suspended',"
	     "'status':'True'}]}",
	     "Suspended", "0/1", ""},
	    {"'spec':{},'status':{'conditions':[{'type':'Suspended','status':'False'}]}", "Running",
	     "0/1", ""},
	    {"'spec':{},'status':{'conditions':[{'type':'FailureTarget','status':'True'}]}",
	     "FailureTarget", "0/1", ""},
	    {"'metadata':{'deletionTimestamp':'2026-11-22T06:59:00Z'},'spec':{},'status':"
	     "{'conditions':[{'type':'Suspended','status':'True'}]}",
	     "Terminating", "0/1", ""},
	    {"'metadata':{'deletionTimestamp':'2026-11-22T06:59:00Z'},'spec':{},'status':"
	     "{'conditions':[{'type':'Complete','status':'True'}]}",
	     "Complete", "0/1", ""},
	    /* first condition of a type decides, as hasJobCondition */
	    {"'spec':{},'status':{'conditions':[{'type':'Complete','status':'False'},"
	     "{'type':'Complete','status':'True'}]}",
	     "Running", "0/1", ""},
	    /* completion before start: Kubernetes prints <invalid> */
	    {"'spec':{},'status':{'startTime':'2026-11-22T06:55:00Z',"
	     "'completionTime':'2026-11-22T06:50:00Z'}",
	     "Running", "0/1", "<invalid>"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char buf[512];
		trow r;
		snprintf(buf, sizeof(buf), "{%s}", cases[i].body);
		row(&r, "batch", "jobs", buf);
		assert_string_equal(S(&r, "Status"), cases[i].status);
		assert_string_equal(S(&r, "Completions"), cases[i].completions);
		assert_string_equal(S(&r, "Duration"), cases[i].duration);
		assert_string_equal(S(&r, "Containers"), "");
		assert_string_equal(S(&r, "Selector"), "<none>");
		row_free(&r);
	}
}

static void test_job_selector(void **state)
{
	static const struct {
		const char *sel;
		const char *want;
	} cases[] = {
	    {"{'matchLabels':{'z':'1','a':'2'},'matchExpressions':["
	     "{'key':'env','operator':'In','values':['prod','dev']},"
	     "{'key':'gpu','operator':'DoesNotExist'},"
	     "{'key':'tier','operator':'NotIn','values':['c','a','b']},"
	     "{'key':'rack','operator':'Exists','values':[]}]}",
	     "a=2,env in (dev,prod),!gpu,rack,tier notin (a,b,c),z=1"},
	    {"{}", "<none>"},
	    {"null", "<none>"},
	    {"{'matchLabels':{},'matchExpressions':[]}", "<none>"},
	    {"{'matchExpressions':[{'key':'x','operator':'Gt','values':['1']}]}", "<error>"},
	    {"{'matchExpressions':[{'key':'x','operator':'In','values':[]}]}", "<error>"},
	    {"{'matchExpressions':[{'key':'x','operator':'In'}]}", "<error>"},
	    {"{'matchExpressions':[{'key':'x','operator':'Exists','values':['a']}]}", "<error>"},
	    {"{'matchExpressions':[{'operator':'Exists'}]}", "<error>"},
	    {"{'matchExpressions':[{'key':'x','operator':'In','values':[1]}]}", "<error>"},
	    {"{'matchExpressions':[{'key':'x','operator':'In','values':'a'}]}", "<error>"},
	    {"{'matchExpressions':['x']}", "<error>"},
	    {"{'matchExpressions':{'key':'x'}}", "<error>"},
	    {"{'matchLabels':{'a':1}}", "<error>"},
	    {"{'matchLabels':['a']}", "<error>"},
	    {"'app=web'", "<error>"},
	    {"7", "<error>"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char buf[512];
		trow r;
		snprintf(buf, sizeof(buf), "{'spec':{'selector':%s}}", cases[i].sel);
		row(&r, "batch", "jobs", buf);
		assert_string_equal(S(&r, "Selector"), cases[i].want);
		row_free(&r);
	}
}

/* ---- priorityclasses, podgroups, generic ------------------------------- */

static void test_priorityclass(void **state)
{
	trow r;
	row(&r, "scheduling.k8s.io", "priorityclasses",
	    "{'metadata':{'name':'train-high','creationTimestamp':'2026-11-22T06:59:59Z'},"
	    "'value':100000,'globalDefault':true,'preemptionPolicy':'PreemptLowerPriority'}");
	assert_string_equal(S(&r, "Name"), "train-high");
	assert_int_equal(I(&r, "Value"), 100000);
	assert_true(json_is_true(json_array_get(r.cells, col(r.def, "Global-Default"))));
	assert_string_equal(S(&r, "Age"), "1s");
	assert_string_equal(S(&r, "PreemptionPolicy"), "PreemptLowerPriority");
	row_free(&r);

	row(&r, "scheduling.k8s.io", "priorityclasses", "{'metadata':{'name':'p'},'value':-5}");
	assert_int_equal(I(&r, "Value"), -5);
	assert_true(json_is_false(json_array_get(r.cells, col(r.def, "Global-Default"))));
	assert_string_equal(S(&r, "PreemptionPolicy"), "");
	row_free(&r);
}

static void test_podgroup(void **state)
{
	trow r;
	row(&r, "scheduling.x-k8s.io", "podgroups",
	    "{'metadata':{'name':'gang-a','creationTimestamp':'2026-11-22T06:40:00Z'},"
	    "'spec':{'minMember':4},'status':{'phase':'Running','running':4,'succeeded':0}}");
	assert_string_equal(S(&r, "Name"), "gang-a");
	assert_string_equal(S(&r, "Phase"), "Running");
	assert_int_equal(I(&r, "MinMember"), 4);
	assert_string_equal(S(&r, "Running"), "4");
	assert_string_equal(S(&r, "Succeeded"), "0");
	assert_true(is_null(&r, "Failed"));
	assert_string_equal(S(&r, "Age"), "20m");
	row_free(&r);

	row(&r, "scheduling.x-k8s.io", "podgroups",
	    "{'metadata':{'name':'g'},'spec':{'minMember':'4'},'status':{'phase':7,"
	    "'running':true,'succeeded':{},'failed':1.5}}");
	assert_true(is_null(&r, "MinMember"));
	assert_string_equal(S(&r, "Phase"), "7");
	assert_string_equal(S(&r, "Running"), "true");
	assert_true(is_null(&r, "Succeeded"));
	assert_string_equal(S(&r, "Failed"), "1.5");
	assert_true(is_null(&r, "Age"));
	row_free(&r);
}

static void test_generic(void **state)
{
	const wf_table_def *g = wf_table_def_generic();
	json_t *obj =
	    parse("{'metadata':{'name':'cq-1','creationTimestamp':'2026-11-22T05:00:00Z'}}");
	json_t *cells = json_array();
	g->row(obj, NOW, cells);
	check_cells(g, cells);
	assert_string_equal(json_string_value(json_array_get(cells, 0)), "cq-1");
	assert_string_equal(json_string_value(json_array_get(cells, 1)), "120m");
	json_decref(cells);
	json_decref(obj);

	cells = json_array();
	g->row(NULL, NOW, cells);
	check_cells(g, cells);
	assert_string_equal(json_string_value(json_array_get(cells, 0)), "");
	assert_string_equal(json_string_value(json_array_get(cells, 1)), "<unknown>");
	json_decref(cells);
}

static void test_ages(void **state)
{
	static const struct {
		const char *ts;
		const char *want;
	} cases[] = {
	    {"'2026-11-22T07:00:00Z'", "0s"},
	    {"'2026-11-22T07:00:01Z'", "0s"}, /* one second of skew */
	    {"'2026-11-22T07:05:00Z'", "<invalid>"},
	    {"'2026-11-22T08:00:00+01:00'", "0s"},
	    {"'2016-11-22T07:00:00Z'", "10y"},
	    {"'yesterday'", "<invalid>"},
	    {"12345", "<invalid>"},
	    {"null", "<unknown>"},
	    {"{}", "<invalid>"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char buf[256];
		trow r;
		snprintf(buf, sizeof(buf), "{'metadata':{'creationTimestamp':%s}}", cases[i].ts);
		row(&r, "", "configmaps", buf);
		assert_string_equal(S(&r, "Age"), cases[i].want);
		row_free(&r);
	}
}

/* ---- hostile input ----------------------------------------------------- */

/* Every kind, given shapes that are wrong in every way, still yields one
 * well-typed cell per column. */
static void test_every_kind_any_json(void **state)
{
	static const char *shapes[] = {
	    "null",
	    "42",
	    "'pod'",
	    "[]",
	    "[{'metadata':{'name':'x'}}]",
	    "{}",
	    "{'metadata':7,'spec':'x','status':[1,2]}",
	    "{'metadata':{'name':5,'labels':3,'creationTimestamp':true,"
	    "  'deletionTimestamp':{}},'spec':{'containers':'x','initContainers':{},"
	    "  'readinessGates':7,'nodeName':[],'ports':'80','selector':[1],"
	    "  'template':7,'completions':'4','parallelism':null,'unschedulable':'yes',"
	    "  'minMember':{},'holderIdentity':1,'type':1,'clusterIPs':'a',"
	    "  'externalIPs':{'a':1},'externalName':2},"
	    " 'status':{'phase':1,'conditions':'Ready','containerStatuses':'running',"
	    "  'initContainerStatuses':{'a':{}},'podIPs':'1.2.3.4','podIP':5,"
	    "  'capacity':[],'addresses':{},'nodeInfo':'v1','loadBalancer':{'ingress':'x'},"
	    "  'succeeded':'3','startTime':5,'completionTime':[]},"
	    " 'data':[1,2],'binaryData':'x','secrets':{'a':1},'type':[],"
	    " 'involvedObject':'pod','regarding':[],'source':7,'count':'3','series':5,"
	    " 'message':{},'note':2,'firstTimestamp':{},'lastTimestamp':[],"
	    " 'eventTime':1,'value':'high','globalDefault':'true','preemptionPolicy':1}",
	    "{'spec':{'containers':[1,'a',null,[],{'name':2,'image':3}],"
	    "  'initContainers':[1,{'name':'i','restartPolicy':5},{'restartPolicy':'Always'}],"
	    "  'readinessGates':[1,{'conditionType':2},{}],"
	    "  'ports':[1,null,{'port':'80','nodePort':'x','protocol':7}],"
	    "  'selector':{'a':1,'b':null,'c':'d'},"
	    "  'template':{'spec':{'containers':[{'name':'ok','image':'img'},7]}}},"
	    " 'status':{'conditions':[1,'x',{'type':1},{'type':'Ready','status':true}],"
	    "  'containerStatuses':[1,{'state':'running','lastState':[]},"
	    "   {'state':{'waiting':'x','terminated':5,'running':'y'},'ready':'true',"
	    "    'restartCount':'9','lastState':{'terminated':{'finishedAt':7}}}],"
	    "  'initContainerStatuses':[1,{'name':3,'state':{'terminated':{'exitCode':'x'}}},"
	    "   {'state':{'waiting':{'reason':7}}}],"
	    "  'podIPs':[1,{'ip':7}],'addresses':[1,{'type':'InternalIP','address':3}],"
	    "  'loadBalancer':{'ingress':[1,{'ip':2,'hostname':[]}]}}}",
	};
	for (size_t k = 0; k <= NKINDS; k++) {
		const wf_table_def *d =
		    k < NKINDS ? wf_table_def_find(all_kinds[k].group, all_kinds[k].resource)
			       : wf_table_def_generic();
		for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
			json_t *obj = parse(shapes[i]);
			json_t *cells = json_array();
			d->row(obj, NOW, cells);
			check_cells(d, cells);
			json_decref(cells);
			json_decref(obj);
		}
		json_t *cells = json_array();
		d->row(NULL, NOW, cells);
		check_cells(d, cells);
		json_decref(cells);
	}
}

static void test_pod_hostile(void **state)
{
	trow r;
	/* labels as a number, containerStatuses as a string */
	row(&r, "", "pods",
	    "{'metadata':{'name':'h','labels':42},'spec':{'containers':[{},{}]},"
	    "'status':{'phase':'Running','containerStatuses':'all good'}}");
	assert_string_equal(S(&r, "Ready"), "0/2");
	assert_string_equal(S(&r, "Status"), "Running");
	assert_string_equal(S(&r, "Restarts"), "0");
	row_free(&r);

	/* counters beyond int32 are clamped, never overflow */
	row(&r, "", "pods",
	    "{'spec':{'containers':[{},{},{}]},'status':{'containerStatuses':["
	    "{'restartCount':9223372036854775807,'lastState':{'terminated':"
	    " {'finishedAt':'2026-11-22T06:00:00Z'}}},"
	    "{'restartCount':9223372036854775807},{'restartCount':-9223372036854775807,"
	    " 'state':{'terminated':{'exitCode':-9223372036854775807,"
	    " 'signal':9223372036854775807}}}]}}");
	assert_string_equal(S(&r, "Restarts"), "4294967294 (60m ago)");
	assert_string_equal(S(&r, "Status"), "Signal:2147483647");
	row_free(&r);

	/* strings with an embedded NUL and non-ASCII text */
	json_t *obj = parse("{'metadata':{},'status':{'phase':'Running'}}");
	json_object_set_new(json_object_get(obj, "metadata"), "name", json_stringn("ab\0cd", 5));
	json_object_set_new(json_object_get(obj, "status"), "phase", json_string("Läuft ✓"));
	row_of_json(&r, "", "pods", obj);
	assert_string_equal(S(&r, "Name"), "ab");
	assert_string_equal(S(&r, "Status"), "Läuft ✓");
	row_free(&r);

	/* an event whose kind is not ASCII keeps valid UTF-8 */
	row(&r, "", "events", "{'involvedObject':{'kind':'PÖD','name':'x'}}");
	assert_string_equal(S(&r, "Object"), "pÖd/x");
	row_free(&r);
}

/* Large arrays: linear (or n log n) work, right counts. */
static void test_large_arrays(void **state)
{
	const size_t n = 20000;
	json_t *pod = json_object();
	json_t *spec = json_object(), *status = json_object();
	json_t *inits = json_array(), *istat = json_array(), *gates = json_array(),
	       *conds = json_array(), *ctrs = json_array(), *cstat = json_array();
	for (size_t i = 0; i < n; i++) {
		char name[32];
		snprintf(name, sizeof(name), "c%zu", i);
		json_array_append_new(
		    inits, json_pack("{s:s, s:s}", "name", name, "restartPolicy", "Always"));
		json_array_append_new(istat,
				      json_pack("{s:s, s:b, s:b, s:i}", "name", name, "started", 1,
						"ready", 1, "restartCount", 1));
		json_array_append_new(gates, json_pack("{s:s}", "conditionType", name));
		json_array_append_new(conds, json_pack("{s:s, s:s}", "type", name, "status",
						       i % 2 ? "True" : "False"));
		json_array_append_new(ctrs, json_pack("{s:s}", "name", name));
		json_array_append_new(cstat,
				      json_pack("{s:b, s:{s:{}}}", "ready", 1, "state", "running"));
	}
	json_object_set_new(spec, "initContainers", inits);
	json_object_set_new(spec, "readinessGates", gates);
	json_object_set_new(spec, "containers", ctrs);
	json_object_set_new(status, "phase", json_string("Running"));
	json_object_set_new(status, "initContainerStatuses", istat);
	json_object_set_new(status, "conditions", conds);
	json_object_set_new(status, "containerStatuses", cstat);
	json_object_set_new(pod, "spec", spec);
	json_object_set_new(pod, "status", status);

	trow r;
	row_of_json(&r, "", "pods", pod);
	assert_string_equal(S(&r, "Ready"), "40000/40000");
	assert_string_equal(S(&r, "Readiness Gates"), "10000/20000");
	assert_string_equal(S(&r, "Restarts"), "20000");
	assert_string_equal(S(&r, "Status"), "Running");
	row_free(&r);

	/* a service with many ports and ingress points */
	json_t *svc = parse("{'spec':{'type':'LoadBalancer'},'status':{'loadBalancer':{}}}");
	json_t *ports = json_array(), *ing = json_array();
	for (size_t i = 0; i < n; i++) {
		char ip[32];
		snprintf(ip, sizeof(ip), "10.%zu.%zu.1", i / 256, i % 256);
		json_array_append_new(ports, json_pack("{s:i}", "port", (int)i));
		json_array_append_new(ing, json_pack("{s:s}", "ip", ip));
	}
	json_object_set_new(json_object_get(svc, "spec"), "ports", ports);
	json_object_set_new(json_object_get(json_object_get(svc, "status"), "loadBalancer"),
			    "ingress", ing);
	row_of_json(&r, "", "services", svc);
	assert_true(strlen(S(&r, "Port(s)")) > n * 5);
	assert_true(strncmp(S(&r, "External-IP"), "10.0.0.1,10.0.1.1,", 18) == 0);
	row_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_lookup),
	    cmocka_unit_test(test_column_metadata),
	    cmocka_unit_test(test_column_names),
	    cmocka_unit_test(test_pod_running),
	    cmocka_unit_test(test_pod_crashloop),
	    cmocka_unit_test(test_pod_terminated_reasons),
	    cmocka_unit_test(test_pod_last_container_wins),
	    cmocka_unit_test(test_pod_completed_but_running),
	    cmocka_unit_test(test_pod_init),
	    cmocka_unit_test(test_pod_init_restarts),
	    cmocka_unit_test(test_pod_sidecar),
	    cmocka_unit_test(test_pod_terminating),
	    cmocka_unit_test(test_pod_reasons),
	    cmocka_unit_test(test_pod_wide),
	    cmocka_unit_test(test_pod_empty),
	    cmocka_unit_test(test_node),
	    cmocka_unit_test(test_node_status_variants),
	    cmocka_unit_test(test_node_gpus),
	    cmocka_unit_test(test_node_empty),
	    cmocka_unit_test(test_namespace),
	    cmocka_unit_test(test_configmap_secret_sa),
	    cmocka_unit_test(test_lease),
	    cmocka_unit_test(test_event_core),
	    cmocka_unit_test(test_event_new_api),
	    cmocka_unit_test(test_event_empty),
	    cmocka_unit_test(test_service_types),
	    cmocka_unit_test(test_job_complete),
	    cmocka_unit_test(test_job_status_and_completions),
	    cmocka_unit_test(test_job_selector),
	    cmocka_unit_test(test_priorityclass),
	    cmocka_unit_test(test_podgroup),
	    cmocka_unit_test(test_generic),
	    cmocka_unit_test(test_ages),
	    cmocka_unit_test(test_every_kind_any_json),
	    cmocka_unit_test(test_pod_hostile),
	    cmocka_unit_test(test_large_arrays),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
