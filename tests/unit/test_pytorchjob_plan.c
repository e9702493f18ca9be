/*
 * test_pytorchjob_plan.c - the PyTorchJob controller's and the PodGroup
 * status controller's decisions (training_plan.c): the pods of a job, their
 * names, labels, ownership and rendezvous environment (MASTER_ADDR by
 * fieldRef on rank 0, by the rendezvous ConfigMap elsewhere), the gang's
 * PodGroup, the master Service, conditions as the training operator sets
 * them, success and failure rules, ExitCode retries, backoffLimit,
 * activeDeadlineSeconds, cleanPodPolicy, TTL, stray pods; PodGroup phases
 * and counts for both kinds; malformed and hostile input.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "controllers/training_plan.h"
#include "lib/wf_mem.h"
#include "lib/wf_time.h"

#define NOW_S 1795330358LL /* 2026-11-22T06:52:38Z */
#define NOW_MS (NOW_S * 1000)
#define UID "aaaaaaaa-1111-2222-3333-444444444444"

/* ---- builders ------------------------------------------------------------------------ */

static char *ts(int64_t secs_from_now)
{
	static char bufs[8][32];
	static int n;
	char *b = bufs[n++ % 8];
	wf_time_rfc3339((time_t)(NOW_S + secs_from_now), b);
	return b;
}

static json_t *parse(const char *text)
{
	json_error_t e;
	json_t *v = json_loads(text, 0, &e);
	if (!v)
		fail_msg("bad test JSON: %s: %s", e.text, text);
	return v;
}

static json_t *rspec(int replicas, const char *restart, const char *extra_ctr)
{
	char buf[1024];
	snprintf(buf, sizeof buf,
		 "{\"replicas\":%d,\"restartPolicy\":\"%s\",\"template\":{\"metadata\":"
		 "{\"labels\":{\"app\":\"t\"},\"annotations\":{\"note\":\"x\"}},\"spec\":"
		 "{\"restartPolicy\":\"Always\",\"containers\":[{\"name\":\"pytorch\","
		 "\"image\":\"i\",\"command\":[\"python3\"],\"env\":[{\"name\":\"RANK\","
		 "\"value\":\"99\"},{\"name\":\"KEEP\",\"value\":\"k\"}]%s}%s]}}}",
		 replicas, restart, "", extra_ctr ? extra_ctr : "");
	return parse(buf);
}

/* A job; master < 0: no Master spec. runpolicy/status JSON may be NULL. */
static json_t *job(int master, int workers, const char *restart, const char *runpolicy,
		   const char *status)
{
	json_t *specs = json_object();
	if (master >= 0)
		json_object_set_new(specs, "Master", rspec(master, restart, NULL));
	if (workers >= 0)
		json_object_set_new(specs, "Worker", rspec(workers, restart, NULL));
	json_t *j = json_pack(
	    "{s:s,s:s,s:{s:s,s:s,s:s,s:s,s:s},s:{s:o,s:o}}", "apiVersion", "kubeflow.org/v1",
	    "kind", "PyTorchJob", "metadata", "name", "train", "namespace", "ml", "uid", UID,
	    "resourceVersion", "5", "creationTimestamp", ts(-60), "spec", "pytorchReplicaSpecs",
	    specs, "runPolicy", parse(runpolicy ? runpolicy : "{\"cleanPodPolicy\":\"None\"}"));
	if (status)
		json_object_set_new(j, "status", parse(status));
	return j;
}

typedef struct popt {
	const char *phase; /* NULL: Pending */
	const char *ip;
	int restarts;
	int exit_code; /* of a terminated pytorch container; 0: none */
	bool deleting;
	const char *node;
	const char *owner; /* NULL: the job */
	const char *index; /* overrides the replica-index label */
	const char *name;  /* overrides the name */
} popt;

#define P(...) ((popt){__VA_ARGS__})

static json_t *pod(const char *rtype, int index, popt o)
{
	char name[128], ix[16];
	snprintf(name, sizeof name, "train-%s-%d", rtype, index);
	snprintf(ix, sizeof ix, "%d", index);
	char uid[160];
	snprintf(uid, sizeof uid, "uid-%s", o.name ? o.name : name);
	json_t *p = json_pack(
	    "{s:s,s:s,s:{s:s,s:s,s:s,s:{s:s,s:s,s:s,s:s},s:[{s:s,s:s,s:s,s:s,s:b}]},s:{},s:{s:s}}",
	    "apiVersion", "v1", "kind", "Pod", "metadata", "name", o.name ? o.name : name,
	    "namespace", "ml", "uid", uid, "labels", WF_PTJ_LABEL_JOB_NAME, "train",
	    WF_PTJ_LABEL_REPLICA_TYPE, rtype, WF_PTJ_LABEL_REPLICA_INDEX, o.index ? o.index : ix,
	    WF_PG_LABEL, "train", "ownerReferences", "apiVersion", "kubeflow.org/v1", "kind",
	    "PyTorchJob", "name", "train", "uid", o.owner ? o.owner : UID, "controller", 1, "spec",
	    "status", "phase", o.phase ? o.phase : "Pending");
	json_t *st = json_object_get(p, "status");
	if (o.ip)
		json_object_set_new(st, "podIP", json_string(o.ip));
	if (o.node)
		json_object_set_new(json_object_get(p, "spec"), "nodeName", json_string(o.node));
	if (o.deleting)
		json_object_set_new(json_object_get(p, "metadata"), "deletionTimestamp",
				    json_string(ts(0)));
	json_t *cs =
	    json_pack("{s:s,s:i,s:{}}", "name", "pytorch", "restartCount", o.restarts, "state");
	if (o.exit_code)
		json_object_set_new(json_object_get(cs, "state"), "terminated",
				    json_pack("{s:i}", "exitCode", o.exit_code));
	json_object_set_new(st, "containerStatuses", json_pack("[o]", cs));
	return p;
}

static json_t *arr(int n, ...)
{
	json_t *a = json_array();
	va_list ap;
	va_start(ap, n);
	for (int i = 0; i < n; i++)
		json_array_append_new(a, va_arg(ap, json_t *));
	va_end(ap);
	return a;
}

static wf_ptj_plan plan_of(const json_t *j, const json_t *ps, int64_t now_ms)
{
	wf_ptj_plan p;
	wf_err err = {0};
	if (wf_ptj_plan_compute(j, ps, now_ms, &p, &err) != 0)
		fail_msg("compute failed: %s", err.msg);
	return p;
}

/* "status/reason" of the condition of that type, or NULL. */
static const char *cond(const json_t *status, const char *type)
{
	static char buf[160];
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(status, "conditions"), i, c)
	{
		if (!strcmp(json_string_value(json_object_get(c, "type")), type)) {
			snprintf(buf, sizeof buf, "%s/%s",
				 json_string_value(json_object_get(c, "status")),
				 json_string_value(json_object_get(c, "reason")));
			return buf;
		}
	}
	return NULL;
}

static const char *cond_msg(const json_t *status, const char *type)
{
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(status, "conditions"), i, c)
	{
		if (!strcmp(json_string_value(json_object_get(c, "type")), type))
			return json_string_value(json_object_get(c, "message"));
	}
	return NULL;
}

static const char *last_cond(const json_t *status)
{
	json_t *c = json_object_get(status, "conditions");
	return json_string_value(
	    json_object_get(json_array_get(c, json_array_size(c) - 1), "type"));
}

static const json_t *created(const wf_ptj_plan *p, const char *name)
{
	size_t i;
	json_t *o;
	json_array_foreach(p->create, i, o)
	{
		if (!strcmp(
			json_string_value(json_object_get(json_object_get(o, "metadata"), "name")),
			name))
			return o;
	}
	return NULL;
}

static bool deletes(const wf_ptj_plan *p, const char *name)
{
	size_t i;
	json_t *o;
	json_array_foreach(p->del, i, o)
	{
		if (!strcmp(json_string_value(json_object_get(o, "name")), name))
			return true;
	}
	return false;
}

static bool has_event(const wf_ptj_plan *p, const char *reason)
{
	size_t i;
	json_t *e;
	json_array_foreach(p->events, i, e)
	{
		if (!strcmp(json_string_value(json_object_get(e, "reason")), reason))
			return true;
	}
	return false;
}

/* The env entry of that name in the first container, or NULL; *count gets
 * how many entries carry the name. */
static const json_t *env(const json_t *pod, const char *name, int *count)
{
	const json_t *ctr =
	    json_array_get(json_object_get(json_object_get(pod, "spec"), "containers"), 0);
	const json_t *found = NULL;
	int n = 0;
	size_t i;
	json_t *e;
	json_array_foreach(json_object_get(ctr, "env"), i, e)
	{
		if (!strcmp(json_string_value(json_object_get(e, "name")), name)) {
			found = e;
			n++;
		}
	}
	if (count)
		*count = n;
	return found;
}

static const char *env_val(const json_t *pod, const char *name)
{
	return json_string_value(json_object_get(env(pod, name, NULL), "value"));
}

static const char *label(const json_t *obj, const char *key)
{
	return json_string_value(
	    json_object_get(json_object_get(json_object_get(obj, "metadata"), "labels"), key));
}

static int64_t rs_count(const json_t *status, const char *rtype, const char *what)
{
	return json_integer_value(json_object_get(
	    json_object_get(json_object_get(status, "replicaStatuses"), rtype), what));
}

/* ---- creation and the rendezvous environment ------------------------------------------- */

static void test_new_job_creates_the_gang(void **state)
{
	json_t *j = job(1, 3, "OnFailure", NULL, NULL);
	json_t *ps = json_array();
	wf_ptj_plan p = plan_of(j, ps, NOW_MS);
	assert_true(p.status_changed);
	assert_string_equal(cond(p.status, "Created"), "True/PyTorchJobCreated");
	assert_string_equal(cond_msg(p.status, "Created"), "PyTorchJob train is created.");
	assert_string_equal(json_string_value(json_object_get(p.status, "startTime")), ts(0));
	assert_null(cond(p.status, "Running"));
	assert_int_equal(json_array_size(p.create), 4);
	assert_int_equal(json_array_size(p.del), 0);

	const json_t *m = created(&p, "train-master-0");
	assert_non_null(m);
	assert_string_equal(label(m, WF_PTJ_LABEL_JOB_NAME), "train");
	assert_string_equal(label(m, WF_PTJ_LABEL_REPLICA_TYPE), "master");
	assert_string_equal(label(m, WF_PTJ_LABEL_REPLICA_INDEX), "0");
	assert_string_equal(label(m, WF_PTJ_LABEL_JOB_ROLE), "master");
	assert_string_equal(label(m, WF_PG_LABEL), "train");
	assert_string_equal(label(m, "app"), "t");
	json_t *ref =
	    json_array_get(json_object_get(json_object_get(m, "metadata"), "ownerReferences"), 0);
	assert_string_equal(json_string_value(json_object_get(ref, "uid")), UID);
	assert_string_equal(json_string_value(json_object_get(ref, "kind")), "PyTorchJob");
	assert_true(json_is_true(json_object_get(ref, "controller")));
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(m, "spec"), "restartPolicy")),
	    "OnFailure");
	/* Rank 0 reads its own pod IP; the port is declared on its container. */
	const json_t *ma = env(m, "MASTER_ADDR", NULL);
	assert_string_equal(
	    json_string_value(json_object_get(
		json_object_get(json_object_get(ma, "valueFrom"), "fieldRef"), "fieldPath")),
	    "status.podIP");
	assert_string_equal(env_val(m, "MASTER_PORT"), "23456");
	assert_string_equal(env_val(m, "WORLD_SIZE"), "4");
	assert_string_equal(env_val(m, "PYTHONUNBUFFERED"), "1");
	int n;
	assert_string_equal(json_string_value(json_object_get(env(m, "RANK", &n), "value")), "0");
	assert_int_equal(n, 1); /* the template's RANK=99 was replaced */
	assert_string_equal(env_val(m, "KEEP"), "k");
	json_t *port = json_array_get(
	    json_object_get(
		json_array_get(json_object_get(json_object_get(m, "spec"), "containers"), 0),
		"ports"),
	    0);
	assert_string_equal(json_string_value(json_object_get(port, "name")), WF_PTJ_PORT_NAME);
	assert_int_equal(json_integer_value(json_object_get(port, "containerPort")), 23456);

	for (int i = 0; i < 3; i++) {
		char name[32], rank[8];
		snprintf(name, sizeof name, "train-worker-%d", i);
		snprintf(rank, sizeof rank, "%d", i + 1);
		const json_t *w = created(&p, name);
		assert_non_null(w);
		assert_null(label(w, WF_PTJ_LABEL_JOB_ROLE));
		assert_string_equal(env_val(w, "RANK"), rank);
		assert_string_equal(env_val(w, "WORLD_SIZE"), "4");
		const json_t *ref2 = json_object_get(
		    json_object_get(env(w, "MASTER_ADDR", NULL), "valueFrom"), "configMapKeyRef");
		assert_string_equal(json_string_value(json_object_get(ref2, "name")),
				    "train-rendezvous");
		assert_string_equal(json_string_value(json_object_get(ref2, "key")), "MASTER_ADDR");
		assert_null(json_object_get(
		    json_array_get(json_object_get(json_object_get(w, "spec"), "containers"), 0),
		    "ports"));
	}
	/* The gang and the Service; no ConfigMap before the master has an IP. */
	assert_int_equal(
	    json_integer_value(json_object_get(json_object_get(p.podgroup, "spec"), "minMember")),
	    4);
	assert_string_equal(json_string_value(json_object_get(p.podgroup, "apiVersion")),
			    WF_PG_API_VERSION);
	json_t *svc = p.service;
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(svc, "metadata"), "name")),
	    "train-master-0");
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(svc, "spec"), "clusterIP")), "None");
	assert_null(p.rendezvous);
	wf_ptj_plan_free(&p);
	json_decref(ps);
	json_decref(j);
}

static void test_rendezvous_configmap_once_master_has_ip(void **state)
{
	json_t *j = job(1, 2, "OnFailure", NULL, "{\"startTime\":\"2026-11-22T06:52:00Z\"}");
	json_t *ps = arr(3, pod("master", 0, P(.phase = "Running", .ip = "10.1.2.3", .node = "a")),
			 pod("worker", 0, P(.node = "b")), pod("worker", 1, P(.node = "b")));
	wf_ptj_plan p = plan_of(j, ps, NOW_MS);
	assert_non_null(p.rendezvous);
	json_t *data = json_object_get(p.rendezvous, "data");
	assert_string_equal(json_string_value(json_object_get(data, "MASTER_ADDR")), "10.1.2.3");
	assert_string_equal(json_string_value(json_object_get(data, "MASTER_PORT")), "23456");
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(p.rendezvous, "metadata"), "name")),
	    "train-rendezvous");
	assert_int_equal(json_array_size(p.create), 0);
	assert_string_equal(cond(p.status, "Running"), "True/PyTorchJobRunning");
	assert_string_equal(last_cond(p.status), "Running");
	assert_int_equal(rs_count(p.status, "Master", "active"), 1);
	assert_null(json_object_get(
	    json_object_get(json_object_get(p.status, "replicaStatuses"), "Worker"), "active"));
	wf_ptj_plan_free(&p);
	json_decref(ps);

	/* A hostile podIP is not passed on. */
	ps = arr(1, pod("master", 0, P(.phase = "Running", .ip = "1.2.3.4; rm -rf /")));
	p = plan_of(j, ps, NOW_MS);
	assert_null(p.rendezvous);
	wf_ptj_plan_free(&p);
	json_decref(ps);
	json_decref(j);
}

static void test_custom_port_policy_and_scheduling_policy(void **state)
{
	json_t *j = job(1, 2, "ExitCode",
			"{\"schedulingPolicy\":{\"minAvailable\":2,\"scheduleTimeoutSeconds\":30,"
			"\"priorityClass\":\"high\"}}",
			NULL);
	json_t *ctr = json_array_get(
	    json_object_get(
		json_object_get(
		    json_object_get(json_object_get(json_object_get(json_object_get(j, "spec"),
								    "pytorchReplicaSpecs"),
						    "Master"),
				    "template"),
		    "spec"),
		"containers"),
	    0);
	json_object_set_new(ctr, "ports",
			    parse("[{\"name\":\"pytorchjob-port\",\"containerPort\":29500}]"));
	assert_int_equal(wf_ptj_master_port(j), 29500);
	json_t *ps = json_array();
	wf_ptj_plan p = plan_of(j, ps, NOW_MS);
	const json_t *w = created(&p, "train-worker-1");
	assert_string_equal(env_val(w, "MASTER_PORT"), "29500");
	/* ExitCode runs as Never: the controller does the retrying. */
	json_t *spec = json_object_get(w, "spec");
	assert_string_equal(json_string_value(json_object_get(spec, "restartPolicy")), "Never");
	assert_string_equal(json_string_value(json_object_get(spec, "priorityClassName")), "high");
	json_t *pgs = json_object_get(p.podgroup, "spec");
	assert_int_equal(json_integer_value(json_object_get(pgs, "minMember")), 2);
	assert_int_equal(json_integer_value(json_object_get(pgs, "scheduleTimeoutSeconds")), 30);
	assert_string_equal(json_string_value(json_object_get(pgs, "priorityClassName")), "high");
	/* The master keeps its own port entry, once. */
	const json_t *m = created(&p, "train-master-0");
	json_t *ports = json_object_get(
	    json_array_get(json_object_get(json_object_get(m, "spec"), "containers"), 0), "ports");
	assert_int_equal(json_array_size(ports), 1);
	wf_ptj_plan_free(&p);
	json_decref(ps);
	json_decref(j);
}

static void test_without_master_worker0_is_rank0(void **state)
{
	json_t *j = job(-1, 3, "OnFailure", NULL, NULL);
	json_t *ps = json_array();
	wf_ptj_plan p = plan_of(j, ps, NOW_MS);
	assert_int_equal(json_array_size(p.create), 3);
	const json_t *w0 = created(&p, "train-worker-0");
	assert_string_equal(env_val(w0, "RANK"), "0");
	assert_non_null(json_object_get(json_object_get(env(w0, "MASTER_ADDR", NULL), "valueFrom"),
					"fieldRef"));
	assert_null(label(w0, WF_PTJ_LABEL_JOB_ROLE));
	assert_string_equal(env_val(created(&p, "train-worker-2"), "RANK"), "2");
	assert_string_equal(env_val(created(&p, "train-worker-2"), "WORLD_SIZE"), "3");
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(p.service, "metadata"), "name")),
	    "train-worker-0");
	wf_ptj_plan_free(&p);
	json_decref(ps);

	/* Success needs every worker. */
	ps =
	    arr(3, pod("worker", 0, P(.phase = "Succeeded")),
		pod("worker", 1, P(.phase = "Running")), pod("worker", 2, P(.phase = "Succeeded")));
	p = plan_of(j, ps, NOW_MS);
	assert_null(cond(p.status, "Succeeded"));
	assert_string_equal(cond_msg(p.status, "Running"), "PyTorchJob ml/train is running.");
	wf_ptj_plan_free(&p);
	json_decref(ps);
	ps = arr(3, pod("worker", 0, P(.phase = "Succeeded")),
		 pod("worker", 1, P(.phase = "Succeeded")),
		 pod("worker", 2, P(.phase = "Succeeded")));
	p = plan_of(j, ps, NOW_MS);
	assert_string_equal(cond(p.status, "Succeeded"), "True/PyTorchJobSucceeded");
	wf_ptj_plan_free(&p);
	json_decref(ps);
	json_decref(j);
}

/* ---- success, failure, retries ----------------------------------------------------------- */

static void test_master_success_finishes_and_cleans_per_policy(void **state)
{
	static const struct {
		const char *policy;
		bool master_gone, running_worker_gone, pending_worker_gone, done_worker_gone;
	} cases[] = {
	    {"None", false, false, false, false},
	    {"Running", false, true, true, false},
	    {"All", true, true, true, true},
	};
	for (size_t c = 0; c < 3; c++) {
		char rp[64];
		snprintf(rp, sizeof rp, "{\"cleanPodPolicy\":\"%s\"}", cases[c].policy);
		json_t *j = job(1, 3, "OnFailure", rp,
				"{\"startTime\":\"2026-11-22T06:50:00Z\",\"conditions\":[{\"type\":"
				"\"Created\",\"status\":\"True\",\"reason\":\"PyTorchJobCreated\","
				"\"message\":\"m\"},{\"type\":\"Running\",\"status\":\"True\","
				"\"reason\":\"PyTorchJobRunning\",\"message\":\"m\","
				"\"lastTransitionTime\":\"2026-11-22T06:51:00Z\"}]}");
		json_t *ps = arr(4, pod("master", 0, P(.phase = "Succeeded")),
				 pod("worker", 0, P(.phase = "Running")), pod("worker", 1, P(0)),
				 pod("worker", 2, P(.phase = "Succeeded")));
		wf_ptj_plan p = plan_of(j, ps, NOW_MS);
		assert_string_equal(cond(p.status, "Succeeded"), "True/PyTorchJobSucceeded");
		assert_string_equal(cond_msg(p.status, "Succeeded"),
				    "PyTorchJob train is successfully completed.");
		assert_string_equal(cond(p.status, "Running"), "False/PyTorchJobRunning");
		assert_string_equal(last_cond(p.status), "Succeeded");
		assert_string_equal(json_string_value(json_object_get(p.status, "completionTime")),
				    ts(0));
		/* The operator counts pods still active at success as succeeded. */
		assert_int_equal(rs_count(p.status, "Worker", "succeeded"), 2);
		assert_int_equal(rs_count(p.status, "Master", "succeeded"), 1);
		assert_true(has_event(&p, "PyTorchJobSucceeded"));
		assert_int_equal(json_array_size(p.create), 0);
		assert_null(p.podgroup);
		assert_int_equal(deletes(&p, "train-master-0"), cases[c].master_gone);
		assert_int_equal(deletes(&p, "train-worker-0"), cases[c].running_worker_gone);
		assert_int_equal(deletes(&p, "train-worker-1"), cases[c].pending_worker_gone);
		assert_int_equal(deletes(&p, "train-worker-2"), cases[c].done_worker_gone);
		assert_int_equal(json_array_size(p.del_services), cases[c].master_gone);

		/* Next sync on the stored status: nothing changes, no second event. */
		json_object_set(j, "status", p.status);
		wf_ptj_plan p2 = plan_of(j, ps, NOW_MS + 5000);
		assert_false(p2.status_changed);
		assert_int_equal(json_array_size(p2.events), 0);
		assert_int_equal(json_array_size(p2.create), 0);
		assert_int_equal(p2.requeue_ms, -1);
		wf_ptj_plan_free(&p2);
		wf_ptj_plan_free(&p);
		json_decref(ps);
		json_decref(j);
	}
}

static void test_never_failure_fails_the_job(void **state)
{
	json_t *j = job(1, 2, "Never", NULL, NULL);
	json_t *ps = arr(3, pod("master", 0, P(.phase = "Running")),
			 pod("worker", 0, P(.phase = "Failed", .exit_code = 1)),
			 pod("worker", 1, P(.phase = "Running")));
	wf_ptj_plan p = plan_of(j, ps, NOW_MS);
	assert_string_equal(cond(p.status, "Failed"), "True/PyTorchJobFailed");
	assert_string_equal(cond_msg(p.status, "Failed"),
			    "PyTorchJob train is failed because 1 Worker replica(s) failed.");
	assert_string_equal(last_cond(p.status), "Failed");
	assert_int_equal(rs_count(p.status, "Worker", "failed"), 1);
	assert_int_equal(rs_count(p.status, "Worker", "active"), 1);
	assert_true(has_event(&p, "PyTorchJobFailed"));
	/* cleanPodPolicy None: the failed pod stays, nothing is recreated. */
	assert_int_equal(json_array_size(p.del), 0);
	assert_int_equal(json_array_size(p.create), 0);
	/* Once failed, no later condition lands. */
	json_object_set(j, "status", p.status);
	json_decref(ps);
	ps = arr(3, pod("master", 0, P(.phase = "Succeeded")),
		 pod("worker", 0, P(.phase = "Failed", .exit_code = 1)),
		 pod("worker", 1, P(.phase = "Succeeded")));
	wf_ptj_plan p2 = plan_of(j, ps, NOW_MS + 1000);
	assert_null(cond(p2.status, "Succeeded"));
	assert_false(p2.status_changed);
	wf_ptj_plan_free(&p2);
	wf_ptj_plan_free(&p);
	json_decref(ps);
	json_decref(j);
}

static void test_exit_code_retries_only_retryable_codes(void **state)
{
	json_t *j = job(1, 2, "ExitCode", NULL, NULL);
	json_t *ps = arr(3, pod("master", 0, P(.phase = "Running")),
			 pod("worker", 0, P(.phase = "Failed", .exit_code = 137)),
			 pod("worker", 1, P(.phase = "Running")));
	wf_ptj_plan p = plan_of(j, ps, NOW_MS);
	assert_null(cond(p.status, "Failed"));
	assert_true(deletes(&p, "train-worker-0"));
	assert_string_equal(cond(p.status, "Restarting"), "True/PyTorchJobRestarting");
	assert_null(cond(p.status, "Running")); /* Restarting replaces it */
	assert_true(has_event(&p, "PyTorchJobRestarting"));
	assert_int_equal(json_array_size(p.create), 0); /* the old pod is still there */
	wf_ptj_plan_free(&p);
	json_decref(ps);

	/* While it is being deleted: neither recreated nor deleted again. */
	ps = arr(3, pod("master", 0, P(.phase = "Running")),
		 pod("worker", 0, P(.phase = "Failed", .exit_code = 137, .deleting = true)),
		 pod("worker", 1, P(.phase = "Running")));
	p = plan_of(j, ps, NOW_MS);
	assert_int_equal(json_array_size(p.del) + json_array_size(p.create), 0);
	assert_string_equal(cond(p.status, "Running"), "True/PyTorchJobRunning");
	wf_ptj_plan_free(&p);
	json_decref(ps);

	/* Gone: recreated. */
	ps = arr(2, pod("master", 0, P(.phase = "Running")),
		 pod("worker", 1, P(.phase = "Running")));
	p = plan_of(j, ps, NOW_MS);
	assert_int_equal(json_array_size(p.create), 1);
	assert_non_null(created(&p, "train-worker-0"));
	wf_ptj_plan_free(&p);
	json_decref(ps);

	/* A permanent code (1..127) fails the job. */
	ps = arr(3, pod("master", 0, P(.phase = "Running")),
		 pod("worker", 0, P(.phase = "Failed", .exit_code = 2)),
		 pod("worker", 1, P(.phase = "Running")));
	p = plan_of(j, ps, NOW_MS);
	assert_string_equal(cond(p.status, "Failed"), "True/PyTorchJobFailed");
	assert_false(deletes(&p, "train-worker-0"));
	wf_ptj_plan_free(&p);
	json_decref(ps);
	json_decref(j);

	/* OnFailure: a failed pod (evicted, say) is always replaced. */
	j = job(1, 1, "OnFailure", NULL, NULL);
	ps =
	    arr(2, pod("master", 0, P(.phase = "Failed")), pod("worker", 0, P(.phase = "Running")));
	p = plan_of(j, ps, NOW_MS);
	assert_true(deletes(&p, "train-master-0"));
	assert_null(cond(p.status, "Failed"));
	wf_ptj_plan_free(&p);
	json_decref(ps);
	json_decref(j);
}

static void test_backoff_limit_counts_restarts_of_running_pods(void **state)
{
	json_t *j = job(1, 2, "OnFailure", "{\"backoffLimit\":3}", NULL);
	json_t *ps = arr(3, pod("master", 0, P(.phase = "Running", .restarts = 1)),
			 pod("worker", 0, P(.phase = "Running", .restarts = 1)),
			 pod("worker", 1, P(.phase = "Pending", .restarts = 5)));
	wf_ptj_plan p = plan_of(j, ps, NOW_MS);
	assert_null(cond(p.status, "Failed")); /* 2 < 3; Pending pods do not count */
	wf_ptj_plan_free(&p);
	json_decref(ps);
	ps = arr(3, pod("master", 0, P(.phase = "Running", .restarts = 1)),
		 pod("worker", 0, P(.phase = "Running", .restarts = 2)),
		 pod("worker", 1, P(.phase = "Running")));
	p = plan_of(j, ps, NOW_MS);
	assert_string_equal(cond_msg(p.status, "Failed"),
			    "PyTorchJob train has failed because it has reached the specified "
			    "backoff limit");
	/* Backoff and deadline failures stop the active pods whatever the policy. */
	assert_true(deletes(&p, "train-master-0") && deletes(&p, "train-worker-0") &&
		    deletes(&p, "train-worker-1"));
	assert_int_equal(json_array_size(p.del_services), 1);
	wf_ptj_plan_free(&p);
	json_decref(ps);
	json_decref(j);

	/* backoffLimit 0: the first restart is too many. */
	j = job(1, 0, "OnFailure", "{\"backoffLimit\":0}", NULL);
	ps = arr(1, pod("master", 0, P(.phase = "Running")));
	p = plan_of(j, ps, NOW_MS);
	assert_null(cond(p.status, "Failed"));
	wf_ptj_plan_free(&p);
	json_decref(ps);
	ps = arr(1, pod("master", 0, P(.phase = "Running", .restarts = 1)));
	p = plan_of(j, ps, NOW_MS);
	assert_non_null(cond(p.status, "Failed"));
	wf_ptj_plan_free(&p);
	json_decref(ps);
	json_decref(j);
}

static void test_active_deadline(void **state)
{
	json_t *j = job(1, 1, "OnFailure", "{\"activeDeadlineSeconds\":60}",
			"{\"startTime\":\"2026-11-22T06:52:08Z\"}"); /* 30 s ago */
	json_t *ps = arr(2, pod("master", 0, P(.phase = "Running")),
			 pod("worker", 0, P(.phase = "Running")));
	wf_ptj_plan p = plan_of(j, ps, NOW_MS);
	assert_null(cond(p.status, "Failed"));
	assert_int_equal(p.requeue_ms, 30000);
	wf_ptj_plan_free(&p);
	p = plan_of(j, ps, NOW_MS + 30000);
	assert_string_equal(cond_msg(p.status, "Failed"),
			    "PyTorchJob train has failed because it was active longer than "
			    "specified deadline");
	assert_true(deletes(&p, "train-master-0") && deletes(&p, "train-worker-0"));
	/* The stored failure keeps stopping what is still active later on. */
	json_object_set(j, "status", p.status);
	wf_ptj_plan p2 = plan_of(j, ps, NOW_MS + 31000);
	assert_true(deletes(&p2, "train-worker-0"));
	assert_false(p2.status_changed);
	wf_ptj_plan_free(&p2);
	wf_ptj_plan_free(&p);
	json_decref(ps);
	json_decref(j);
}

static void test_ttl_after_finished(void **state)
{
	json_t *j =
	    job(1, 0, "OnFailure", "{\"ttlSecondsAfterFinished\":100}",
		"{\"startTime\":\"2026-11-22T06:40:00Z\",\"completionTime\":"
		"\"2026-11-22T06:51:38Z\",\"conditions\":[{\"type\":\"Succeeded\","
		"\"status\":\"True\",\"reason\":\"PyTorchJobSucceeded\",\"message\":\"m\"}]}");
	json_t *ps = json_array();
	wf_ptj_plan p = plan_of(j, ps, NOW_MS); /* 60 s after completion */
	assert_false(p.delete_job);
	assert_int_equal(p.requeue_ms, 40000);
	assert_false(p.status_changed);
	assert_int_equal(json_array_size(p.create), 0);
	wf_ptj_plan_free(&p);
	p = plan_of(j, ps, NOW_MS + 40000);
	assert_true(p.delete_job);
	wf_ptj_plan_free(&p);
	/* A finished job without a (valid) completionTime gets one now. */
	json_object_set_new(json_object_get(j, "status"), "completionTime",
			    json_string("yesterday"));
	p = plan_of(j, ps, NOW_MS);
	assert_true(p.status_changed);
	assert_string_equal(json_string_value(json_object_get(p.status, "completionTime")), ts(0));
	assert_int_equal(p.requeue_ms, 100000);
	wf_ptj_plan_free(&p);
	json_decref(ps);
	json_decref(j);
}

/* ---- stray pods, limits, malformed input --------------------------------------------------- */

static void test_stray_pods_are_deleted_others_ignored(void **state)
{
	json_t *j = job(1, 2, "OnFailure", NULL, NULL);
	json_t *ps =
	    arr(7, pod("master", 0, P(.phase = "Running")), pod("worker", 0, P(.phase = "Running")),
		pod("worker", 5, P(.phase = "Running")),	     /* past replicas */
		pod("worker", 1, P(.index = "01", .name = "odd-1")), /* bad index */
		pod("worker", 1, P(.name = "train-worker-x")),	     /* wrong name */
		pod("chief", 0, P(0)),				     /* unknown type */
		pod("worker", 1, P(.owner = "someone-else")));	     /* not ours */
	json_array_append_new(ps, json_string("garbage"));
	json_array_append_new(ps, json_pack("{s:{s:[s]}}", "metadata", "ownerReferences", "x"));
	wf_ptj_plan p = plan_of(j, ps, NOW_MS);
	assert_true(deletes(&p, "train-worker-5"));
	assert_true(deletes(&p, "odd-1"));
	assert_true(deletes(&p, "train-worker-x"));
	assert_true(deletes(&p, "train-chief-0"));
	assert_int_equal(json_array_size(p.del), 4);
	/* train-worker-1 of another owner does not fill the slot: create it
	 * (the API will answer 409, and the controller says so). */
	assert_int_equal(json_array_size(p.create), 1);
	assert_non_null(created(&p, "train-worker-1"));
	wf_ptj_plan_free(&p);
	json_decref(ps);
	json_decref(j);
}

static void test_large_jobs_are_created_in_batches(void **state)
{
	json_t *j = job(1, 10000, "OnFailure", NULL, NULL);
	json_t *ps = json_array();
	wf_ptj_plan p = plan_of(j, ps, NOW_MS);
	assert_int_equal(json_array_size(p.create), WF_PTJ_MAX_CREATE_PER_SYNC);
	assert_int_equal(p.requeue_ms, 1000);
	assert_string_equal(env_val(created(&p, "train-worker-498"), "WORLD_SIZE"), "10001");
	assert_int_equal(
	    json_integer_value(json_object_get(json_object_get(p.podgroup, "spec"), "minMember")),
	    10001);
	wf_ptj_plan_free(&p);
	json_decref(ps);
	json_decref(j);
}

static void test_malformed_jobs(void **state)
{
	static const char *const bad_specs[] = {
	    "{}",
	    "{\"pytorchReplicaSpecs\":[]}",
	    "{\"pytorchReplicaSpecs\":{}}",
	    "{\"pytorchReplicaSpecs\":{\"Chief\":{\"replicas\":1}}}",
	    "{\"pytorchReplicaSpecs\":{\"Master\":{\"replicas\":2}}}",
	    "{\"pytorchReplicaSpecs\":{\"Master\":{\"replicas\":0}}}",
	    "{\"pytorchReplicaSpecs\":{\"Worker\":{\"replicas\":\"3\"}}}",
	    "{\"pytorchReplicaSpecs\":{\"Worker\":{\"replicas\":-1}}}",
	    "{\"pytorchReplicaSpecs\":{\"Worker\":{\"replicas\":10001}}}",
	    "{\"pytorchReplicaSpecs\":{\"Worker\":{\"replicas\":1e3}}}",
	    "{\"pytorchReplicaSpecs\":{\"Worker\":7}}",
	};
	json_t *ps = json_array();
	for (size_t i = 0; i < sizeof bad_specs / sizeof bad_specs[0]; i++) {
		json_t *j = job(1, 1, "OnFailure", NULL, NULL);
		json_object_set_new(j, "spec", parse(bad_specs[i]));
		wf_ptj_plan p;
		wf_err err = {0};
		assert_int_equal(wf_ptj_plan_compute(j, ps, NOW_MS, &p, &err), -WF_EINVAL);
		assert_true(err.msg[0] != '\0');
		assert_null(p.status);
		wf_ptj_plan_free(&p); /* safe on the zeroed plan */
		assert_null(wf_ptj_pod_new(j, "Worker", 0));
		json_decref(j);
	}
	/* No uid / no namespace. */
	json_t *j = job(1, 1, "OnFailure", NULL, NULL);
	json_object_del(json_object_get(j, "metadata"), "uid");
	wf_ptj_plan p;
	assert_int_equal(wf_ptj_plan_compute(j, ps, NOW_MS, &p, NULL), -WF_EINVAL);
	json_decref(j);
	/* A template without spec: no pod for it, nothing else breaks. */
	j = job(1, 1, "OnFailure", NULL, NULL);
	json_t *wt = json_object_get(
	    json_object_get(json_object_get(json_object_get(j, "spec"), "pytorchReplicaSpecs"),
			    "Worker"),
	    "template");
	json_object_del(wt, "spec");
	p = plan_of(j, ps, NOW_MS);
	assert_int_equal(json_array_size(p.create), 1);
	assert_null(wf_ptj_pod_new(j, "Worker", 0));
	assert_null(wf_ptj_pod_new(j, "Worker", 1));
	assert_null(wf_ptj_pod_new(j, "Chief", 0));
	assert_null(wf_ptj_pod_new(j, NULL, 0));
	wf_ptj_plan_free(&p);
	json_decref(j);
	/* Garbage status fields are rewritten; pods not an array is no pods. */
	j = job(1, 1, "OnFailure", NULL,
		"{\"conditions\":\"none\",\"startTime\":42,\"replicaStatuses\":[1]}");
	json_t *notarr = json_string("pods");
	p = plan_of(j, notarr, NOW_MS);
	assert_string_equal(cond(p.status, "Created"), "True/PyTorchJobCreated");
	assert_string_equal(json_string_value(json_object_get(p.status, "startTime")), ts(0));
	assert_true(json_is_object(json_object_get(p.status, "replicaStatuses")));
	assert_int_equal(json_array_size(p.create), 2);
	wf_ptj_plan_free(&p);
	json_decref(notarr);
	json_decref(j);
	/* A job being deleted: nothing at all. */
	j = job(1, 1, "OnFailure", NULL, NULL);
	json_object_set_new(json_object_get(j, "metadata"), "deletionTimestamp",
			    json_string(ts(0)));
	p = plan_of(j, ps, NOW_MS);
	assert_false(p.status_changed);
	assert_int_equal(json_array_size(p.create) + json_array_size(p.del), 0);
	assert_null(p.podgroup);
	wf_ptj_plan_free(&p);
	json_decref(j);
	/* Zero replicas in all: nothing to run, so it succeeds; no gang. */
	j = job(-1, 0, "OnFailure", NULL, NULL);
	p = plan_of(j, ps, NOW_MS);
	assert_non_null(cond(p.status, "Succeeded"));
	assert_null(wf_ptj_podgroup_new(j));
	wf_ptj_plan_free(&p);
	json_decref(j);
	json_decref(ps);
	wf_ptj_plan_free(NULL);
}

static void test_steady_state_writes_nothing(void **state)
{
	json_t *j = job(1, 1, "OnFailure", NULL, NULL);
	json_t *ps = arr(2, pod("master", 0, P(.phase = "Running", .ip = "10.0.0.1")),
			 pod("worker", 0, P(.phase = "Running")));
	wf_ptj_plan p = plan_of(j, ps, NOW_MS);
	assert_true(p.status_changed);
	json_object_set(j, "status", p.status);
	wf_ptj_plan p2 = plan_of(j, ps, NOW_MS + 10000);
	assert_false(p2.status_changed);
	assert_int_equal(
	    json_array_size(p2.create) + json_array_size(p2.del) + json_array_size(p2.events), 0);
	wf_ptj_plan_free(&p2);
	wf_ptj_plan_free(&p);
	json_decref(ps);
	json_decref(j);
}

/* ---- PodGroup status ------------------------------------------------------------------------ */

static json_t *pg(const char *api_version, int min, const char *status)
{
	json_t *g = json_pack("{s:s,s:s,s:{s:s,s:s},s:{s:i}}", "apiVersion", api_version, "kind",
			      "PodGroup", "metadata", "name", "g", "namespace", "ml", "spec",
			      "minMember", min);
	if (status)
		json_object_set_new(g, "status", parse(status));
	return g;
}

/* A pod of group g: phase, node ("" for none), volcano (annotation). */
static json_t *gpod(const char *name, const char *phase, const char *node, bool volcano)
{
	json_t *p =
	    json_pack("{s:{s:s,s:s,s:{},s:{},s:[{s:s,s:s}]},s:{},s:{s:s}}", "metadata", "name",
		      name, "namespace", "ml", "labels", "annotations", "ownerReferences", "name",
		      "train", "kind", "PyTorchJob", "spec", "status", "phase", phase);
	json_t *md = json_object_get(p, "metadata");
	json_object_set_new(json_object_get(md, volcano ? "annotations" : "labels"),
			    volcano ? WF_PG_VOLCANO_ANNOTATION : WF_PG_LABEL, json_string("g"));
	if (node[0])
		json_object_set_new(json_object_get(p, "spec"), "nodeName", json_string(node));
	return p;
}

static const char *phase_of(json_t *st)
{
	static char buf[32];
	snprintf(buf, sizeof buf, "%s", json_string_value(json_object_get(st, "phase")));
	json_decref(st);
	return buf;
}

static void test_coscheduling_phases(void **state)
{
	json_t *g = pg(WF_PG_API_VERSION, 3,
		       "{\"phase\":\"Pending\",\"conditions\":[{\"type\":"
		       "\"Unschedulable\",\"status\":\"True\"}]}");
	json_t *ps = arr(2, gpod("p0", "Pending", "", false), gpod("p1", "Pending", "", false));
	json_t *st = wf_podgroup_status_compute(g, ps, NOW_MS);
	assert_string_equal(json_string_value(json_object_get(st, "phase")), "Pending");
	assert_null(json_object_get(st, "occupiedBy"));
	assert_null(json_object_get(st, "scheduleStartTime"));
	assert_int_equal(json_array_size(json_object_get(st, "conditions")), 1); /* kept */
	json_decref(st);
	json_array_append_new(ps, gpod("p2", "Pending", "", false));
	/* Pods of another group or namespace do not count. */
	json_t *other = gpod("x", "Running", "n", false);
	json_object_set_new(json_object_get(other, "metadata"), "namespace", json_string("else"));
	json_array_append_new(ps, other);
	st = wf_podgroup_status_compute(g, ps, NOW_MS);
	assert_string_equal(json_string_value(json_object_get(st, "phase")), "PreScheduling");
	assert_string_equal(json_string_value(json_object_get(st, "occupiedBy")), "ml/train");
	assert_string_equal(json_string_value(json_object_get(st, "scheduleStartTime")), ts(0));
	assert_int_equal(json_integer_value(json_object_get(st, "running")), 0);
	json_object_set(g, "status", st);
	json_decref(st);
	json_decref(ps);

	static const struct {
		const char *phases[3];
		const char *nodes[3];
		const char *want;
		int running, succeeded, failed, scheduled;
	} steps[] = {
	    {{"Pending", "Pending", "Pending"}, {"a", "", ""}, "Scheduling", 0, 0, 0, 1},
	    {{"Pending", "Pending", "Pending"}, {"a", "a", "b"}, "Scheduled", 0, 0, 0, 3},
	    {{"Running", "Running", "Pending"}, {"a", "a", "b"}, "Scheduled", 2, 0, 0, 3},
	    {{"Running", "Succeeded", "Running"}, {"a", "a", "b"}, "Running", 2, 1, 0, 3},
	    {{"Failed", "Succeeded", "Running"}, {"a", "a", "b"}, "Failed", 1, 1, 1, 3},
	};
	for (size_t s = 0; s < sizeof steps / sizeof steps[0]; s++) {
		ps = arr(3, gpod("p0", steps[s].phases[0], steps[s].nodes[0], false),
			 gpod("p1", steps[s].phases[1], steps[s].nodes[1], false),
			 gpod("p2", steps[s].phases[2], steps[s].nodes[2], false));
		st = wf_podgroup_status_compute(g, ps, NOW_MS + 1000);
		assert_string_equal(json_string_value(json_object_get(st, "phase")), steps[s].want);
		assert_int_equal(json_integer_value(json_object_get(st, "running")),
				 steps[s].running);
		assert_int_equal(json_integer_value(json_object_get(st, "succeeded")),
				 steps[s].succeeded);
		assert_int_equal(json_integer_value(json_object_get(st, "failed")),
				 steps[s].failed);
		assert_int_equal(json_integer_value(json_object_get(st, "scheduled")),
				 steps[s].scheduled);
		/* Set once, never moved. */
		assert_string_equal(json_string_value(json_object_get(st, "scheduleStartTime")),
				    ts(0));
		json_decref(st);
		json_decref(ps);
	}
	/* Failed is final, whatever the pods do next. */
	json_object_set_new(json_object_get(g, "status"), "phase", json_string("Failed"));
	ps = arr(3, gpod("p0", "Succeeded", "a", false), gpod("p1", "Succeeded", "a", false),
		 gpod("p2", "Succeeded", "b", false));
	assert_string_equal(phase_of(wf_podgroup_status_compute(g, ps, NOW_MS)), "Failed");
	json_object_set_new(json_object_get(g, "status"), "phase", json_string("Running"));
	assert_string_equal(phase_of(wf_podgroup_status_compute(g, ps, NOW_MS)), "Finished");
	json_decref(ps);
	json_decref(g);
}

static void test_volcano_phases(void **state)
{
	json_t *g = pg(WF_PG_VOLCANO_API_VERSION, 2, NULL);
	json_t *ps = arr(1, gpod("v0", "Pending", "", true));
	json_t *st = wf_podgroup_status_compute(g, ps, NOW_MS);
	assert_string_equal(json_string_value(json_object_get(st, "phase")), "Pending");
	assert_null(json_object_get(st, "scheduled")); /* coscheduling only */
	json_decref(st);
	json_array_append_new(ps, gpod("v1", "Pending", "", true));
	assert_string_equal(phase_of(wf_podgroup_status_compute(g, ps, NOW_MS)), "Inqueue");
	json_decref(ps);
	ps = arr(2, gpod("v0", "Pending", "a", true), gpod("v1", "Running", "a", true));
	assert_string_equal(phase_of(wf_podgroup_status_compute(g, ps, NOW_MS)), "Running");
	json_decref(ps);
	ps = arr(2, gpod("v0", "Running", "a", true), gpod("v1", "Failed", "a", true));
	assert_string_equal(phase_of(wf_podgroup_status_compute(g, ps, NOW_MS)), "Unknown");
	json_decref(ps);
	ps = arr(2, gpod("v0", "Succeeded", "a", true), gpod("v1", "Succeeded", "a", true));
	st = wf_podgroup_status_compute(g, ps, NOW_MS);
	assert_string_equal(json_string_value(json_object_get(st, "phase")), "Completed");
	assert_int_equal(json_integer_value(json_object_get(st, "succeeded")), 2);
	json_object_set_new(g, "status", st);
	json_decref(ps);
	/* Completed is final: pods cleaned up afterwards change nothing. */
	ps = json_array();
	st = wf_podgroup_status_compute(g, ps, NOW_MS);
	assert_true(json_equal(st, json_object_get(g, "status")));
	json_decref(st);
	json_decref(ps);
	json_decref(g);
}

static void test_podgroup_bad_input(void **state)
{
	json_t *ps = json_array();
	json_t *g = pg("scheduling.example.com/v1", 2, NULL);
	assert_null(wf_podgroup_status_compute(g, ps, NOW_MS));
	json_decref(g);
	g = pg(WF_PG_API_VERSION, 0, NULL);
	assert_null(wf_podgroup_status_compute(g, ps, NOW_MS));
	json_object_set_new(json_object_get(g, "spec"), "minMember", json_string("2"));
	assert_null(wf_podgroup_status_compute(g, ps, NOW_MS));
	json_decref(g);
	/* Garbage status and garbage pods: a fresh status, garbage skipped. */
	g = pg(WF_PG_API_VERSION, 1, "[\"x\"]");
	json_array_append_new(ps, json_string("pod"));
	json_array_append_new(ps, json_pack("{s:{s:i}}", "metadata", "name", 3));
	json_array_append_new(ps, json_pack("{s:{s:s,s:s,s:{s:i}}}", "metadata", "name", "n",
					    "namespace", "ml", "labels", WF_PG_LABEL, 1));
	json_t *st = wf_podgroup_status_compute(g, ps, NOW_MS);
	assert_string_equal(json_string_value(json_object_get(st, "phase")), "Pending");
	json_decref(st);
	json_decref(g);
	json_decref(ps);
	/* Which group a pod names. */
	json_t *p = gpod("a", "Pending", "", true);
	assert_string_equal(wf_podgroup_of_pod(p), "g");
	json_object_set_new(json_object_get(json_object_get(p, "metadata"), "labels"), WF_PG_LABEL,
			    json_string("label-wins"));
	assert_string_equal(wf_podgroup_of_pod(p), "label-wins");
	json_object_set_new(json_object_get(json_object_get(p, "metadata"), "labels"), WF_PG_LABEL,
			    json_string(""));
	assert_string_equal(wf_podgroup_of_pod(p), "g");
	json_decref(p);
	assert_null(wf_podgroup_of_pod(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_new_job_creates_the_gang),
	    cmocka_unit_test(test_rendezvous_configmap_once_master_has_ip),
	    cmocka_unit_test(test_custom_port_policy_and_scheduling_policy),
	    cmocka_unit_test(test_without_master_worker0_is_rank0),
	    cmocka_unit_test(test_master_success_finishes_and_cleans_per_policy),
	    cmocka_unit_test(test_never_failure_fails_the_job),
	    cmocka_unit_test(test_exit_code_retries_only_retryable_codes),
	    cmocka_unit_test(test_backoff_limit_counts_restarts_of_running_pods),
	    cmocka_unit_test(test_active_deadline),
	    cmocka_unit_test(test_ttl_after_finished),
	    cmocka_unit_test(test_stray_pods_are_deleted_others_ignored),
	    cmocka_unit_test(test_large_jobs_are_created_in_batches),
	    cmocka_unit_test(test_malformed_jobs),
	    cmocka_unit_test(test_steady_state_writes_nothing),
	    cmocka_unit_test(test_coscheduling_phases),
	    cmocka_unit_test(test_volcano_phases),
	    cmocka_unit_test(test_podgroup_bad_input),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
