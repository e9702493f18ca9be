/*
 * test_job_plan.c - the Job controller's decisions (job_plan.c): which pods
 * to create or delete, how pods are counted through the tracking finalizer,
 * parallelism and completions, work-queue Jobs, backoff limit and pod
 * failure back-off, OnFailure restarts, deadlines, suspend and resume,
 * Indexed Jobs (completedIndexes, failed-index recreation, duplicates), TTL
 * timing, the pod template, and malformed or hostile input.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "controllers/job_plan.h"
#include "lib/wf_mem.h"
#include "lib/wf_time.h"

#define NOW_S 1795330358LL /* 2026-11-22T06:52:38Z */
#define NOW_MS (NOW_S * 1000)
#define JOB_UID "11111111-2222-3333-4444-555555555555"

/* ---- builders ---------------------------------------------------------------------- */

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

/* A Job with spec fields from spec_json merged over the defaults the
 * registry applies, and status from status_json (NULL: none). */
static json_t *job(const char *spec_json, const char *status_json)
{
	json_t *j =
	    parse("{\"apiVersion\":\"batch/v1\",\"kind\":\"Job\","
		  "\"metadata\":{\"name\":\"train\",\"namespace\":\"ml\",\"uid\":\"" JOB_UID
		  "\",\"resourceVersion\":\"7\"},"
		  "\"spec\":{\"parallelism\":1,\"completions\":1,\"backoffLimit\":6,"
		  "\"completionMode\":\"NonIndexed\",\"suspend\":false,"
		  "\"template\":{\"metadata\":{\"labels\":{\"app\":\"t\"}},"
		  "\"spec\":{\"restartPolicy\":\"Never\",\"containers\":[{\"name\":\"main\","
		  "\"image\":\"busybox\",\"command\":[\"true\"]}]}}}}");
	if (spec_json) {
		json_t *s = parse(spec_json);
		json_object_update(json_object_get(j, "spec"), s);
		json_decref(s);
	}
	if (status_json)
		json_object_set_new(j, "status", parse(status_json));
	return j;
}

typedef struct podopt {
	const char *phase; /* NULL: Pending */
	bool fin;	   /* tracking finalizer */
	bool deleting;
	bool ready;
	const char *node;
	const char *ix;	  /* completion index annotation; NULL: none */
	int64_t finished; /* seconds from now of the container's finishedAt (0: none) */
	int64_t created;  /* seconds from now; 0: -100 */
	int restarts;
	const char *owner; /* controller uid; NULL: the Job's */
} podopt;

static json_t *pod(const char *name, podopt o)
{
	char uid[64];
	snprintf(uid, sizeof uid, "uid-%s", name);
	if (!o.created)
		o.created = -100;
	json_t *p =
	    json_pack("{s:s,s:s,s:{s:s,s:s,s:s,s:s,s:[{s:s,s:s,s:s,s:s,s:b}]},s:{},s:{}}",
		      "apiVersion", "v1", "kind", "Pod", "metadata", "name", name, "namespace",
		      "ml", "uid", uid, "creationTimestamp", ts(o.created), "ownerReferences",
		      "apiVersion", "batch/v1", "kind", "Job", "name", "train", "uid",
		      o.owner ? o.owner : JOB_UID, "controller", 1, "spec", "status");
	json_t *md = json_object_get(p, "metadata");
	json_t *st = json_object_get(p, "status");
	if (o.fin)
		json_object_set_new(md, "finalizers", json_pack("[s]", WF_JOB_TRACKING_FINALIZER));
	if (o.deleting)
		json_object_set_new(md, "deletionTimestamp", json_string(ts(0)));
	if (o.ix)
		json_object_set_new(md, "annotations", json_pack("{s:s}", WF_JOB_INDEX_KEY, o.ix));
	if (o.node)
		json_object_set_new(json_object_get(p, "spec"), "nodeName", json_string(o.node));
	json_object_set_new(st, "phase", json_string(o.phase ? o.phase : "Pending"));
	json_object_set_new(st, "conditions",
			    json_pack("[{s:s,s:s,s:s}]", "type", "Ready", "status",
				      o.ready ? "True" : "False", "lastTransitionTime",
				      ts(o.created)));
	json_t *cs =
	    json_pack("{s:s,s:i,s:{}}", "name", "main", "restartCount", o.restarts, "state");
	if (o.finished)
		json_object_set_new(json_object_get(cs, "state"), "terminated",
				    json_pack("{s:s,s:i}", "finishedAt", ts(o.finished), "exitCode",
					      o.phase && !strcmp(o.phase, "Failed") ? 1 : 0));
	json_object_set_new(st, "containerStatuses", json_pack("[o]", cs));
	return p;
}

#define POD(...) ((podopt){__VA_ARGS__})

static json_t *pods(int n, ...)
{
	json_t *arr = json_array();
	va_list ap;
	va_start(ap, n);
	for (int i = 0; i < n; i++)
		json_array_append_new(arr, va_arg(ap, json_t *));
	va_end(ap);
	return arr;
}

static wf_job_plan plan_of(json_t *j, json_t *ps, int64_t now_ms, bool met)
{
	wf_job_plan p;
	wf_err err = {0};
	int rc = wf_job_plan_compute(j, ps, now_ms, met, &p, &err);
	if (rc != 0)
		fail_msg("compute failed: %s", err.msg);
	return p;
}

static int64_t st_int(const wf_job_plan *p, const char *key)
{
	json_t *v = json_object_get(p->status, key);
	return json_is_integer(v) ? json_integer_value(v) : -1;
}

static const char *st_str(const wf_job_plan *p, const char *key)
{
	return json_string_value(json_object_get(p->status, key));
}

/* The condition of that type: "status/reason", or NULL. */
static const char *cond(const wf_job_plan *p, const char *type)
{
	static char buf[128];
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(p->status, "conditions"), i, c)
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

static size_t unc(const wf_job_plan *p, const char *which)
{
	return json_array_size(
	    json_object_get(json_object_get(p->status, "uncountedTerminatedPods"), which));
}

static bool has_event(const wf_job_plan *p, const char *reason)
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

static bool rm_has(const wf_job_plan *p, const char *name)
{
	for (size_t i = 0; i < p->nrm; i++)
		if (!strcmp(p->rm_finalizer[i], name))
			return true;
	return false;
}

/* ---- NonIndexed --------------------------------------------------------------------- */

static void test_new_job_creates_up_to_parallelism(void **state)
{
	json_t *j = job("{\"completions\":3,\"parallelism\":2}", NULL);
	json_t *ps = json_array();
	wf_job_plan p = plan_of(j, ps, NOW_MS, true);
	assert_int_equal(p.ncreate, 2);
	assert_int_equal(p.create_index[0], -1);
	assert_int_equal(p.create_index[1], -1);
	assert_int_equal(p.ndel, 0);
	assert_true(p.status_changed);
	assert_int_equal(st_int(&p, "active"), 2);
	assert_int_equal(st_int(&p, "ready"), 0);
	assert_int_equal(st_int(&p, "terminating"), 0);
	assert_int_equal(st_int(&p, "succeeded"), -1); /* omitted when 0 */
	assert_string_equal(st_str(&p, "startTime"), ts(0));
	assert_null(json_object_get(p.status, "conditions"));
	assert_true(json_is_object(json_object_get(p.status, "uncountedTerminatedPods")));
	assert_int_equal(p.requeue_ms, -1);
	wf_job_plan_free(&p);

	/* The informer has not seen our pods yet: create nothing more. */
	p = plan_of(j, ps, NOW_MS, false);
	assert_int_equal(p.ncreate, 0);
	assert_int_equal(st_int(&p, "active"), -1);
	wf_job_plan_free(&p);
	json_decref(ps);
	json_decref(j);
}

static void test_parallelism_and_completions_limit(void **state)
{
	/* 2 active of parallelism 2: nothing to do. */
	json_t *j = job("{\"completions\":5,\"parallelism\":2}",
			"{\"startTime\":\"2026-11-22T06:50:00Z\",\"succeeded\":1}");
	json_t *ps =
	    pods(2, pod("a", POD(.fin = true, .phase = "Running", .ready = true, .node = "n1")),
		 pod("b", POD(.fin = true)));
	wf_job_plan p = plan_of(j, ps, NOW_MS, true);
	assert_int_equal(p.ncreate, 0);
	assert_int_equal(p.ndel, 0);
	assert_int_equal(st_int(&p, "active"), 2);
	assert_int_equal(st_int(&p, "ready"), 1);
	wf_job_plan_free(&p);
	json_decref(ps);
	json_decref(j);

	/* 4 of 5 done, none active: only one more, not parallelism's two. */
	j = job("{\"completions\":5,\"parallelism\":2}",
		"{\"startTime\":\"2026-11-22T06:50:00Z\",\"succeeded\":4}");
	ps = json_array();
	p = plan_of(j, ps, NOW_MS, true);
	assert_int_equal(p.ncreate, 1);
	assert_int_equal(st_int(&p, "active"), 1);
	assert_int_equal(st_int(&p, "succeeded"), 4);
	wf_job_plan_free(&p);
	json_decref(ps);
	json_decref(j);

	/* Parallelism 0: nothing runs. */
	j = job("{\"completions\":5,\"parallelism\":0}", NULL);
	ps = json_array();
	p = plan_of(j, ps, NOW_MS, true);
	assert_int_equal(p.ncreate, 0);
	assert_null(cond(&p, "Complete"));
	wf_job_plan_free(&p);
	json_decref(ps);
	json_decref(j);
}

static void test_excess_pods_deleted_least_useful_first(void **state)
{
	json_t *j = job("{\"completions\":10,\"parallelism\":1}",
			"{\"startTime\":\"2026-11-22T06:50:00Z\"}");
	json_t *ps = pods(
	    3, pod("running", POD(.fin = true, .phase = "Running", .ready = true, .node = "n")),
	    pod("unscheduled", POD(.fin = true)), pod("pending", POD(.fin = true, .node = "n")));
	wf_job_plan p = plan_of(j, ps, NOW_MS, true);
	assert_int_equal(p.ncreate, 0);
	assert_int_equal(p.ndel, 2);
	assert_string_equal(p.del[0].name, "unscheduled");
	assert_string_equal(p.del[1].name, "pending");
	assert_string_equal(p.del[0].uid, "uid-unscheduled");
	assert_true(p.del[0].uncount && p.del[1].uncount); /* not failures */
	assert_int_equal(st_int(&p, "active"), 1);
	assert_int_equal(st_int(&p, "terminating"), 2);
	wf_job_plan_free(&p);
	/* Without expectations met, nothing is deleted either. */
	p = plan_of(j, ps, NOW_MS, false);
	assert_int_equal(p.ndel, 0);
	assert_int_equal(st_int(&p, "active"), 3);
	wf_job_plan_free(&p);
	json_decref(ps);
	json_decref(j);
}

static void test_success_counted_through_finalizer(void **state)
{
	json_t *j = job("{\"completions\":2,\"parallelism\":2}",
			"{\"startTime\":\"2026-11-22T06:50:00Z\",\"active\":2}");
	json_t *ps = pods(2, pod("a", POD(.fin = true, .phase = "Succeeded", .finished = -1)),
			  pod("b", POD(.fin = true, .phase = "Running", .node = "n")));
	/* 1: the finished pod is recorded as uncounted, its finalizer to go. */
	wf_job_plan p = plan_of(j, ps, NOW_MS, true);
	assert_true(p.status_changed);
	assert_int_equal(unc(&p, "succeeded"), 1);
	assert_int_equal(st_int(&p, "succeeded"), -1);
	assert_int_equal(p.nrm, 1);
	assert_true(rm_has(&p, "a"));
	assert_false(rm_has(&p, "b"));
	assert_int_equal(p.ncreate, 0); /* 1 succeeded + 1 active = 2 */
	assert_int_equal(st_int(&p, "active"), 1);
	/* 2: the status was stored, the finalizer removed: now it counts. */
	json_t *j2 = job("{\"completions\":2,\"parallelism\":2}", NULL);
	json_object_set(j2, "status", p.status);
	wf_job_plan_free(&p);
	json_object_del(json_object_get(json_array_get(ps, 0), "metadata"), "finalizers");
	p = plan_of(j2, ps, NOW_MS, true);
	assert_int_equal(st_int(&p, "succeeded"), 1);
	assert_int_equal(unc(&p, "succeeded"), 0);
	assert_int_equal(p.nrm, 0);
	assert_null(cond(&p, "Complete"));
	wf_job_plan_free(&p);
	/* 3: the pod may even be gone now: it is not counted twice. */
	json_t *j3 = job("{\"completions\":2,\"parallelism\":2}", NULL);
	p = plan_of(j2, ps, NOW_MS, true);
	json_object_set(j3, "status", p.status);
	wf_job_plan_free(&p);
	json_array_remove(ps, 0);
	p = plan_of(j3, ps, NOW_MS, true);
	assert_int_equal(st_int(&p, "succeeded"), 1);
	wf_job_plan_free(&p);
	/* A uid left in uncounted whose pod is gone is counted once. */
	json_t *j4 =
	    job("{\"completions\":2,\"parallelism\":2}",
		"{\"startTime\":\"2026-11-22T06:50:00Z\",\"succeeded\":1,"
		"\"uncountedTerminatedPods\":{\"succeeded\":[\"uid-gone\",\"uid-gone\"]}}");
	json_t *none = json_array();
	p = plan_of(j4, none, NOW_MS, true);
	assert_int_equal(st_int(&p, "succeeded"), 2);
	assert_int_equal(unc(&p, "succeeded"), 0);
	assert_string_equal(cond(&p, "SuccessCriteriaMet"), "True/CompletionsReached");
	assert_string_equal(cond(&p, "Complete"), "True/CompletionsReached");
	wf_job_plan_free(&p);
	json_decref(none);
	json_decref(j4);
	json_decref(j3);
	json_decref(j2);
	json_decref(ps);
	json_decref(j);
}

static void test_complete_waits_for_uncounted(void **state)
{
	json_t *j =
	    job("{\"completions\":1}", "{\"startTime\":\"2026-11-22T06:50:00Z\",\"active\":1}");
	json_t *ps = pods(1, pod("a", POD(.fin = true, .phase = "Succeeded", .finished = -1)));
	wf_job_plan p = plan_of(j, ps, NOW_MS, true);
	assert_string_equal(cond(&p, "SuccessCriteriaMet"), "True/CompletionsReached");
	assert_null(cond(&p, "Complete")); /* the pod is still uncounted */
	assert_null(st_str(&p, "completionTime"));
	assert_int_equal(p.ncreate, 0);
	json_t *j2 = job("{\"completions\":1}", NULL);
	json_object_set(j2, "status", p.status);
	wf_job_plan_free(&p);
	json_object_del(json_object_get(json_array_get(ps, 0), "metadata"), "finalizers");
	p = plan_of(j2, ps, NOW_MS + 2000, true);
	assert_string_equal(cond(&p, "Complete"), "True/CompletionsReached");
	assert_string_equal(st_str(&p, "completionTime"), ts(2));
	assert_int_equal(st_int(&p, "succeeded"), 1);
	assert_true(has_event(&p, "Completed"));
	/* SuccessCriteriaMet comes first, with the same reason and message. */
	json_t *c0 = json_array_get(json_object_get(p.status, "conditions"), 0);
	json_t *c1 = json_array_get(json_object_get(p.status, "conditions"), 1);
	assert_string_equal(json_string_value(json_object_get(c0, "type")), "SuccessCriteriaMet");
	assert_string_equal(json_string_value(json_object_get(c1, "type")), "Complete");
	assert_string_equal(json_string_value(json_object_get(c1, "message")),
			    "Reached expected number of succeeded pods");
	assert_non_null(json_object_get(c1, "lastProbeTime"));
	assert_string_equal(json_string_value(json_object_get(c1, "lastTransitionTime")), ts(2));
	wf_job_plan_free(&p);
	json_decref(j2);
	json_decref(ps);
	json_decref(j);
}

static void test_finished_job_left_alone(void **state)
{
	json_t *j =
	    job("{\"completions\":1}",
		"{\"succeeded\":1,\"conditions\":[{\"type\":\"Complete\",\"status\":\"True\","
		"\"lastTransitionTime\":\"2026-11-22T06:52:00Z\"}]}");
	json_t *ps = pods(1, pod("a", POD(.fin = true, .phase = "Succeeded")));
	wf_job_plan p = plan_of(j, ps, NOW_MS, true);
	assert_false(p.status_changed);
	assert_int_equal(p.ncreate, 0);
	assert_int_equal(p.ndel, 0);
	assert_int_equal(p.requeue_ms, -1); /* no TTL */
	assert_false(p.delete_job);
	assert_true(rm_has(&p, "a")); /* a leftover finalizer is released */
	wf_job_plan_free(&p);
	json_decref(ps);
	json_decref(j);
}

static void test_work_queue_semantics(void **state)
{
	/* completions unset: parallel workers until one succeeds. */
	json_t *j = job("{\"parallelism\":3}", "{\"startTime\":\"2026-11-22T06:50:00Z\"}");
	json_object_del(json_object_get(j, "spec"), "completions");
	json_t *ps = json_array();
	wf_job_plan p = plan_of(j, ps, NOW_MS, true);
	assert_int_equal(p.ncreate, 3);
	wf_job_plan_free(&p);
	json_decref(ps);
	/* One succeeded, two still working: no new pods, not complete. */
	json_object_set_new(j, "status",
			    parse("{\"startTime\":\"2026-11-22T06:50:00Z\",\"succeeded\":1}"));
	ps = pods(2, pod("b", POD(.fin = true, .phase = "Running", .node = "n")),
		  pod("c", POD(.fin = true, .phase = "Running", .node = "n")));
	p = plan_of(j, ps, NOW_MS, true);
	assert_int_equal(p.ncreate, 0);
	assert_int_equal(p.ndel, 0);
	assert_null(cond(&p, "SuccessCriteriaMet"));
	wf_job_plan_free(&p);
	json_decref(ps);
	/* All done: complete. */
	ps = json_array();
	p = plan_of(j, ps, NOW_MS, true);
	assert_int_equal(p.ncreate, 0);
	assert_string_equal(cond(&p, "Complete"), "True/CompletionsReached");
	wf_job_plan_free(&p);
	json_decref(ps);
	json_decref(j);
}

/* ---- failures ----------------------------------------------------------------------- */

static void test_failed_pod_replaced_after_backoff(void **state)
{
	json_t *j = job("{\"completions\":1,\"backoffLimit\":3}",
			"{\"startTime\":\"2026-11-22T06:50:00Z\",\"failed\":1}");
	json_t *ps = pods(1, pod("a", POD(.phase = "Failed", .finished = -4)));
	/* One failure: 10 s back-off from its finish, 6 s left. */
	wf_job_plan p = plan_of(j, ps, NOW_MS, true);
	assert_int_equal(p.ncreate, 0);
	assert_int_equal(p.requeue_ms, 6000);
	assert_null(cond(&p, "FailureTarget"));
	wf_job_plan_free(&p);
	p = plan_of(j, ps, NOW_MS + 6000, true);
	assert_int_equal(p.ncreate, 1);
	wf_job_plan_free(&p);
	json_decref(ps);
	/* Three failures since the last success: 40 s. */
	ps = pods(4, pod("s", POD(.phase = "Succeeded", .finished = -100)),
		  pod("f1", POD(.phase = "Failed", .finished = -50)),
		  pod("f2", POD(.phase = "Failed", .finished = -30)),
		  pod("f3", POD(.phase = "Failed", .finished = -10)));
	json_object_set_new(j, "status",
			    parse("{\"startTime\":\"2026-11-22T06:50:00Z\",\"failed\":3}"));
	json_object_set_new(json_object_get(j, "spec"), "completions", json_integer(3));
	p = plan_of(j, ps, NOW_MS, true);
	assert_int_equal(p.ncreate, 0);
	assert_int_equal(p.requeue_ms, 30000);
	wf_job_plan_free(&p);
	json_decref(ps);
	json_decref(j);
}

static void test_backoff_limit_exceeded(void **state)
{
	json_t *j = job("{\"completions\":2,\"parallelism\":2,\"backoffLimit\":1}",
			"{\"startTime\":\"2026-11-22T06:50:00Z\",\"failed\":1,\"active\":2}");
	json_t *ps =
	    pods(2, pod("bad", POD(.fin = true, .phase = "Failed", .finished = -1)),
		 pod("run", POD(.fin = true, .phase = "Running", .node = "n", .ready = true)));
	/* The second failure is recorded and exceeds the limit of 1. */
	wf_job_plan p = plan_of(j, ps, NOW_MS, true);
	assert_int_equal(unc(&p, "failed"), 1);
	assert_true(rm_has(&p, "bad"));
	assert_string_equal(cond(&p, "FailureTarget"), "True/BackoffLimitExceeded");
	assert_null(cond(&p, "Failed"));
	assert_true(has_event(&p, "BackoffLimitExceeded"));
	assert_int_equal(p.ncreate, 0);
	assert_int_equal(p.ndel, 1);
	assert_string_equal(p.del[0].name, "run");
	assert_false(p.del[0].uncount); /* counted as failed */
	assert_int_equal(st_int(&p, "active"), -1);
	assert_int_equal(st_int(&p, "ready"), 0);
	assert_int_equal(st_int(&p, "terminating"), 1);
	json_t *j2 = job("{\"completions\":2,\"parallelism\":2,\"backoffLimit\":1}", NULL);
	json_object_set(j2, "status", p.status);
	wf_job_plan_free(&p);
	json_decref(ps);

	/* Next: "run" is terminating (still holds its finalizer): counted. */
	ps = pods(1,
		  pod("run", POD(.fin = true, .phase = "Running", .node = "n", .deleting = true)));
	p = plan_of(j2, ps, NOW_MS, true);
	assert_int_equal(st_int(&p, "failed"), 2);
	assert_int_equal(unc(&p, "failed"), 1);
	assert_true(rm_has(&p, "run"));
	assert_null(cond(&p, "Failed"));
	assert_int_equal(p.ncreate, 0);
	json_t *j3 = job("{\"completions\":2,\"parallelism\":2,\"backoffLimit\":1}", NULL);
	json_object_set(j3, "status", p.status);
	wf_job_plan_free(&p);
	json_decref(ps);

	/* Last: it is gone, nothing pending: Failed, and no completionTime. */
	ps = json_array();
	p = plan_of(j3, ps, NOW_MS + 1000, true);
	assert_int_equal(st_int(&p, "failed"), 3);
	assert_string_equal(cond(&p, "FailureTarget"), "True/BackoffLimitExceeded");
	assert_string_equal(cond(&p, "Failed"), "True/BackoffLimitExceeded");
	assert_null(st_str(&p, "completionTime"));
	assert_int_equal(p.ncreate, 0);
	wf_job_plan_free(&p);
	json_decref(ps);
	json_decref(j3);
	json_decref(j2);
	json_decref(j);
}

static void test_backoff_limit_zero_and_boundary(void **state)
{
	/* failed == backoffLimit is still allowed. */
	json_t *j =
	    job("{\"backoffLimit\":2}", "{\"startTime\":\"2026-11-22T06:50:00Z\",\"failed\":2}");
	json_t *ps = json_array();
	wf_job_plan p = plan_of(j, ps, NOW_MS, true);
	assert_null(cond(&p, "FailureTarget"));
	assert_int_equal(p.ncreate, 1); /* no failed pod left to back off from */
	wf_job_plan_free(&p);
	json_decref(j);
	j = job("{\"backoffLimit\":0}", "{\"startTime\":\"2026-11-22T06:50:00Z\",\"failed\":1}");
	p = plan_of(j, ps, NOW_MS, true);
	assert_string_equal(cond(&p, "Failed"), "True/BackoffLimitExceeded");
	wf_job_plan_free(&p);
	json_decref(j);
	json_decref(ps);
}

static void test_on_failure_restarts_count(void **state)
{
	json_t *j =
	    job("{\"backoffLimit\":2,\"template\":{\"spec\":{\"restartPolicy\":\"OnFailure\","
		"\"containers\":[{\"name\":\"m\",\"image\":\"x\"}]}}}",
		"{\"startTime\":\"2026-11-22T06:50:00Z\",\"active\":1}");
	json_t *ps =
	    pods(1, pod("a", POD(.fin = true, .phase = "Running", .node = "n", .restarts = 1)));
	wf_job_plan p = plan_of(j, ps, NOW_MS, true);
	assert_null(cond(&p, "FailureTarget"));
	wf_job_plan_free(&p);
	json_decref(ps);
	ps = pods(1, pod("a", POD(.fin = true, .phase = "Running", .node = "n", .restarts = 2)));
	p = plan_of(j, ps, NOW_MS, true);
	assert_string_equal(cond(&p, "FailureTarget"), "True/BackoffLimitExceeded");
	assert_int_equal(p.ndel, 1);
	wf_job_plan_free(&p);
	json_decref(ps);
	json_decref(j);
}

static void test_active_deadline(void **state)
{
	json_t *j = job("{\"activeDeadlineSeconds\":10,\"completions\":1}",
			"{\"startTime\":\"2026-11-22T06:52:33Z\",\"active\":1}"); /* now - 5 s */
	json_t *ps = pods(1, pod("a", POD(.fin = true, .phase = "Running", .node = "n")));
	wf_job_plan p = plan_of(j, ps, NOW_MS, true);
	assert_null(cond(&p, "FailureTarget"));
	assert_int_equal(p.requeue_ms, 5000);
	wf_job_plan_free(&p);
	p = plan_of(j, ps, NOW_MS + 5000, true);
	assert_string_equal(cond(&p, "FailureTarget"), "True/DeadlineExceeded");
	assert_true(has_event(&p, "DeadlineExceeded"));
	assert_int_equal(p.ndel, 1);
	assert_false(p.del[0].uncount);
	assert_null(cond(&p, "Failed")); /* the pod must go first */
	wf_job_plan_free(&p);
	json_decref(ps);
	/* A deadline on a job with no pods left fails it at once. */
	ps = json_array();
	p = plan_of(j, ps, NOW_MS + 60000, true);
	assert_string_equal(cond(&p, "Failed"), "True/DeadlineExceeded");
	json_t *c = json_array_get(json_object_get(p.status, "conditions"), 1);
	assert_string_equal(json_string_value(json_object_get(c, "message")),
			    "Job was active longer than specified deadline");
	wf_job_plan_free(&p);
	json_decref(ps);
	json_decref(j);
}

static void test_terminating_pods(void **state)
{
	/* Default policy: a terminating pod is a failure and replaced now. */
	json_t *j = job("{\"completions\":1,\"backoffLimit\":5}",
			"{\"startTime\":\"2026-11-22T06:50:00Z\",\"active\":1}");
	json_t *ps = pods(1, pod("t", POD(.fin = true, .phase = "Running", .node = "n",
					  .deleting = true, .finished = -60)));
	wf_job_plan p = plan_of(j, ps, NOW_MS, true);
	assert_int_equal(unc(&p, "failed"), 1);
	assert_true(rm_has(&p, "t"));
	assert_int_equal(st_int(&p, "terminating"), 1);
	assert_int_equal(p.ncreate, 1); /* its back-off (10 s) is over */
	wf_job_plan_free(&p);
	/* podReplacementPolicy Failed: not counted, not replaced while terminating. */
	json_object_set_new(json_object_get(j, "spec"), "podReplacementPolicy",
			    json_string("Failed"));
	p = plan_of(j, ps, NOW_MS, true);
	assert_int_equal(unc(&p, "failed"), 0);
	assert_false(rm_has(&p, "t"));
	assert_int_equal(p.ncreate, 0);
	wf_job_plan_free(&p);
	json_decref(ps);
	json_decref(j);
}

/* ---- suspend ------------------------------------------------------------------------ */

static void test_suspend_and_resume(void **state)
{
	json_t *j = job("{\"completions\":4,\"parallelism\":2,\"suspend\":true}",
			"{\"startTime\":\"2026-11-22T06:50:00Z\",\"active\":2}");
	json_t *ps =
	    pods(2, pod("a", POD(.fin = true, .phase = "Running", .node = "n", .ready = true)),
		 pod("b", POD(.fin = true, .node = "n")));
	wf_job_plan p = plan_of(j, ps, NOW_MS, true);
	assert_int_equal(p.ndel, 2);
	assert_true(p.del[0].uncount && p.del[1].uncount);
	assert_int_equal(p.ncreate, 0);
	assert_string_equal(cond(&p, "Suspended"), "True/JobSuspended");
	assert_true(has_event(&p, "Suspended"));
	assert_int_equal(st_int(&p, "active"), -1);
	assert_int_equal(st_int(&p, "terminating"), 2);
	json_t *st = json_deep_copy(p.status);
	wf_job_plan_free(&p);
	json_decref(ps);

	/* Suspended, pods gone: no deadline, nothing created, no change. */
	json_object_set_new(j, "status", st);
	json_object_set_new(json_object_get(j, "spec"), "activeDeadlineSeconds", json_integer(1));
	ps = json_array();
	p = plan_of(j, ps, NOW_MS + 3600000, true);
	assert_int_equal(p.ncreate, 0);
	assert_null(cond(&p, "FailureTarget"));
	assert_int_equal(st_int(&p, "terminating"), 0);
	assert_false(has_event(&p, "Suspended"));
	wf_job_plan_free(&p);

	/* Resume: Suspended=False, startTime restarts, pods come back. */
	json_object_set_new(json_object_get(j, "spec"), "suspend", json_false());
	json_object_del(json_object_get(j, "spec"), "activeDeadlineSeconds");
	p = plan_of(j, ps, NOW_MS + 10000, true);
	assert_string_equal(cond(&p, "Suspended"), "False/JobResumed");
	assert_true(has_event(&p, "Resumed"));
	assert_string_equal(st_str(&p, "startTime"), ts(10));
	assert_int_equal(p.ncreate, 2);
	wf_job_plan_free(&p);
	json_decref(ps);
	json_decref(j);
}

static void test_created_suspended(void **state)
{
	json_t *j = job("{\"suspend\":true}", NULL);
	json_t *ps = json_array();
	wf_job_plan p = plan_of(j, ps, NOW_MS, true);
	assert_int_equal(p.ncreate, 0);
	assert_null(st_str(&p, "startTime"));
	assert_string_equal(cond(&p, "Suspended"), "True/JobSuspended");
	wf_job_plan_free(&p);
	/* A never-suspended job gets no Suspended condition at all. */
	json_object_set_new(json_object_get(j, "spec"), "suspend", json_false());
	p = plan_of(j, ps, NOW_MS, true);
	assert_null(cond(&p, "Suspended"));
	assert_null(json_object_get(p.status, "conditions"));
	wf_job_plan_free(&p);
	json_decref(ps);
	json_decref(j);
}

/* ---- Indexed ------------------------------------------------------------------------ */

static void test_indexed_creates_lowest_free_indexes(void **state)
{
	json_t *j =
	    job("{\"completionMode\":\"Indexed\",\"completions\":5,\"parallelism\":3}", NULL);
	json_t *ps = json_array();
	wf_job_plan p = plan_of(j, ps, NOW_MS, true);
	assert_int_equal(p.ncreate, 3);
	assert_int_equal(p.create_index[0], 0);
	assert_int_equal(p.create_index[1], 1);
	assert_int_equal(p.create_index[2], 2);
	wf_job_plan_free(&p);
	json_decref(ps);
	/* 0,1 done; 2 running; 4 pending: next is 3 only (parallelism 3). */
	json_object_set_new(j, "status",
			    parse("{\"startTime\":\"2026-11-22T06:50:00Z\","
				  "\"completedIndexes\":\"0-1\",\"succeeded\":2}"));
	ps = pods(2, pod("t-2", POD(.fin = true, .phase = "Running", .node = "n", .ix = "2")),
		  pod("t-4", POD(.fin = true, .node = "n", .ix = "4")));
	p = plan_of(j, ps, NOW_MS, true);
	assert_int_equal(p.ncreate, 1);
	assert_int_equal(p.create_index[0], 3);
	assert_int_equal(st_int(&p, "succeeded"), 2);
	assert_string_equal(st_str(&p, "completedIndexes"), "0-1");
	wf_job_plan_free(&p);
	json_decref(ps);
	json_decref(j);
}

static void test_indexed_success_updates_completed_indexes(void **state)
{
	json_t *j = job("{\"completionMode\":\"Indexed\",\"completions\":5,\"parallelism\":5}",
			"{\"startTime\":\"2026-11-22T06:50:00Z\",\"completedIndexes\":\"0-1\","
			"\"succeeded\":2,\"active\":3}");
	json_t *ps =
	    pods(3, pod("t-2", POD(.fin = true, .phase = "Running", .node = "n", .ix = "2")),
		 pod("t-3", POD(.fin = false, .phase = "Running", .node = "n", .ix = "3")),
		 pod("t-4", POD(.fin = true, .phase = "Succeeded", .ix = "4", .finished = -1)));
	wf_job_plan p = plan_of(j, ps, NOW_MS, true);
	assert_string_equal(st_str(&p, "completedIndexes"), "0-1,4");
	assert_int_equal(st_int(&p, "succeeded"), 3);
	assert_int_equal(unc(&p, "succeeded"), 0); /* the index is the record */
	assert_true(rm_has(&p, "t-4"));
	assert_int_equal(p.ncreate, 0);
	wf_job_plan_free(&p);
	json_decref(ps);
	/* The last ones: "0-4" and complete. */
	json_object_set_new(j, "status",
			    parse("{\"startTime\":\"2026-11-22T06:50:00Z\","
				  "\"completedIndexes\":\"0-1,4\",\"succeeded\":3}"));
	ps = pods(2, pod("t-2", POD(.phase = "Succeeded", .ix = "2")),
		  pod("t-3", POD(.fin = true, .phase = "Succeeded", .ix = "3")));
	p = plan_of(j, ps, NOW_MS, true);
	assert_string_equal(st_str(&p, "completedIndexes"), "0-1,3-4");
	assert_int_equal(st_int(&p, "succeeded"), 4); /* t-2 had no finalizer: not counted */
	assert_null(cond(&p, "SuccessCriteriaMet"));
	assert_int_equal(p.ncreate, 1);
	assert_int_equal(p.create_index[0], 2);
	wf_job_plan_free(&p);
	json_decref(ps);
	json_decref(j);
}

static void test_indexed_failed_index_recreated(void **state)
{
	json_t *j = job("{\"completionMode\":\"Indexed\",\"completions\":3,\"parallelism\":3}",
			"{\"startTime\":\"2026-11-22T06:50:00Z\",\"active\":3}");
	json_t *ps =
	    pods(3, pod("t-0", POD(.fin = true, .phase = "Running", .node = "n", .ix = "0")),
		 pod("t-1", POD(.fin = true, .phase = "Failed", .ix = "1", .finished = -20)),
		 pod("t-2", POD(.fin = true, .phase = "Running", .node = "n", .ix = "2")));
	wf_job_plan p = plan_of(j, ps, NOW_MS, true);
	assert_int_equal(unc(&p, "failed"), 1);
	assert_true(rm_has(&p, "t-1"));
	assert_int_equal(p.ncreate, 1);
	assert_int_equal(p.create_index[0], 1);
	assert_int_equal(st_int(&p, "active"), 3);
	wf_job_plan_free(&p);
	json_decref(ps);
	json_decref(j);
}

static void test_indexed_duplicates_and_strays_deleted(void **state)
{
	json_t *j = job("{\"completionMode\":\"Indexed\",\"completions\":3,\"parallelism\":3}",
			"{\"startTime\":\"2026-11-22T06:50:00Z\",\"completedIndexes\":\"2\","
			"\"succeeded\":1}");
	json_t *ps =
	    pods(5,
		 pod("dup-old", POD(.fin = true, .phase = "Running", .node = "n", .ix = "0",
				    .ready = true, .created = -200)),
		 pod("dup-new", POD(.fin = true, .node = "n", .ix = "0", .created = -10)),
		 pod("stray", POD(.fin = true, .phase = "Running", .node = "n", .ix = "7")),
		 pod("noindex", POD(.fin = true, .phase = "Running", .node = "n")),
		 pod("done-ix", POD(.fin = true, .phase = "Running", .node = "n", .ix = "2")));
	wf_job_plan p = plan_of(j, ps, NOW_MS, true);
	assert_int_equal(p.ndel, 4);
	bool seen_old = false;
	for (size_t i = 0; i < p.ndel; i++) {
		seen_old = seen_old || !strcmp(p.del[i].name, "dup-old");
		assert_true(p.del[i].uncount);
	}
	assert_false(seen_old);		/* the ready one is kept */
	assert_int_equal(p.ncreate, 0); /* deletions first */
	assert_int_equal(st_int(&p, "active"), 1);
	wf_job_plan_free(&p);
	json_decref(ps);
	json_decref(j);
}

static void test_indexed_limits(void **state)
{
	json_t *j = job("{\"completionMode\":\"Indexed\",\"completions\":100000,"
			"\"parallelism\":100000}",
			NULL);
	json_t *ps = json_array();
	wf_job_plan p = plan_of(j, ps, NOW_MS, true);
	assert_int_equal(p.ncreate, WF_JOB_MAX_PODS_PER_SYNC);
	assert_int_equal(p.create_index[WF_JOB_MAX_PODS_PER_SYNC - 1],
			 WF_JOB_MAX_PODS_PER_SYNC - 1);
	wf_job_plan_free(&p);
	json_decref(j);
	wf_err err = {0};
	j = job("{\"completionMode\":\"Indexed\",\"completions\":100001}", NULL);
	assert_int_equal(wf_job_plan_compute(j, ps, NOW_MS, true, &p, &err), -WF_EINVAL);
	assert_null(p.status);
	wf_job_plan_free(&p);
	json_decref(j);
	j = job("{\"completionMode\":\"Indexed\"}", NULL);
	json_object_del(json_object_get(j, "spec"), "completions");
	assert_int_equal(wf_job_plan_compute(j, ps, NOW_MS, true, &p, &err), -WF_EINVAL);
	assert_non_null(strstr(err.msg, "completions"));
	wf_job_plan_free(&p);
	json_decref(j);
	json_decref(ps);
}

static void test_indexes_format_and_parse(void **state)
{
	uint8_t bits[16] = {0};
	char *s = wf_job_indexes_format(bits, 100);
	assert_string_equal(s, "");
	free(s);
	assert_int_equal(wf_job_indexes_parse("0-2,4", bits, 100), 4);
	s = wf_job_indexes_format(bits, 100);
	assert_string_equal(s, "0-2,4");
	free(s);
	/* Two in a row print as a range, as Kubernetes does. */
	memset(bits, 0, sizeof bits);
	assert_int_equal(wf_job_indexes_parse("5,6,9", bits, 100), 3);
	s = wf_job_indexes_format(bits, 100);
	assert_string_equal(s, "5-6,9");
	free(s);
	/* Hostile pieces are skipped, ranges clipped to n, overlaps counted once. */
	memset(bits, 0, sizeof bits);
	assert_int_equal(
	    wf_job_indexes_parse("a-b,,3-1,-2,1-,9999999999,2,2-3,98-200,x1,7 ,", bits, 100), 4);
	s = wf_job_indexes_format(bits, 100);
	assert_string_equal(s, "2-3,98-99");
	free(s);
	memset(bits, 0, sizeof bits);
	assert_int_equal(wf_job_indexes_parse(NULL, bits, 100), 0);
	assert_int_equal(wf_job_indexes_parse("0-99999999", bits, 0), 0);
	assert_int_equal(wf_job_indexes_parse("0-99999999", bits, 128), 128);
	s = wf_job_indexes_format(bits, 128);
	assert_string_equal(s, "0-127");
	free(s);
	/* A huge, well-formed list. */
	wf_buf b;
	wf_buf_init(&b);
	for (int i = 0; i < 20000; i += 2)
		wf_buf_printf(&b, "%s%d", i ? "," : "", i);
	uint8_t *big = calloc(20000 / 8 + 1, 1);
	assert_int_equal(wf_job_indexes_parse(b.data, big, 20000), 10000);
	s = wf_job_indexes_format(big, 20000);
	assert_string_equal(s, b.data);
	free(s);
	free(big);
	wf_buf_free(&b);
}

static void test_pod_index(void **state)
{
	json_t *p = parse("{\"metadata\":{\"annotations\":{\"" WF_JOB_INDEX_KEY "\":\"12\"}}}");
	assert_int_equal(wf_job_pod_index(p), 12);
	json_decref(p);
	p = parse("{\"metadata\":{\"labels\":{\"" WF_JOB_INDEX_KEY "\":\"0\"}}}");
	assert_int_equal(wf_job_pod_index(p), 0);
	json_decref(p);
	const char *bad[] = {"\"007\"", "\"12a\"",	  "\"\"",
			     "\"-1\"",	"\"2147483648\"", "\"99999999999999999999\"",
			     "3",	"null",		  "\" 1\""};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char text[200];
		snprintf(text, sizeof text,
			 "{\"metadata\":{\"annotations\":{\"" WF_JOB_INDEX_KEY "\":%s}}}", bad[i]);
		p = parse(text);
		assert_int_equal(wf_job_pod_index(p), -1);
		json_decref(p);
	}
	assert_int_equal(wf_job_pod_index(NULL), -1);
}

/* ---- TTL ----------------------------------------------------------------------------- */

static void test_ttl_after_finished(void **state)
{
	json_t *j =
	    job("{\"ttlSecondsAfterFinished\":10}",
		"{\"succeeded\":1,\"conditions\":[{\"type\":\"Complete\",\"status\":\"True\","
		"\"lastTransitionTime\":\"2026-11-22T06:52:33Z\"}]}"); /* now - 5 s */
	json_t *ps = json_array();
	wf_job_plan p = plan_of(j, ps, NOW_MS, true);
	assert_false(p.delete_job);
	assert_int_equal(p.requeue_ms, 5000);
	wf_job_plan_free(&p);
	p = plan_of(j, ps, NOW_MS + 5000, true);
	assert_true(p.delete_job);
	wf_job_plan_free(&p);
	json_decref(j);
	/* Failed jobs too; ttl 0 means at once. */
	j = job("{\"ttlSecondsAfterFinished\":0}",
		"{\"conditions\":[{\"type\":\"Failed\",\"status\":\"True\","
		"\"lastTransitionTime\":\"2026-11-22T06:52:38Z\"}]}");
	p = plan_of(j, ps, NOW_MS, true);
	assert_true(p.delete_job);
	wf_job_plan_free(&p);
	json_decref(j);
	/* A job that just finished asks to be looked at when its TTL is up. */
	j = job("{\"ttlSecondsAfterFinished\":30}",
		"{\"startTime\":\"2026-11-22T06:50:00Z\",\"succeeded\":1}");
	p = plan_of(j, ps, NOW_MS, true);
	assert_string_equal(cond(&p, "Complete"), "True/CompletionsReached");
	assert_int_equal(p.requeue_ms, 30000);
	assert_false(p.delete_job);
	wf_job_plan_free(&p);
	json_decref(j);
	/* A garbled lastTransitionTime counts from now. */
	j = job("{\"ttlSecondsAfterFinished\":3}",
		"{\"conditions\":[{\"type\":\"Complete\",\"status\":\"True\","
		"\"lastTransitionTime\":\"yesterday\"}]}");
	p = plan_of(j, ps, NOW_MS, true);
	assert_false(p.delete_job);
	assert_int_equal(p.requeue_ms, 3000);
	wf_job_plan_free(&p);
	json_decref(j);
	json_decref(ps);
}

/* ---- the pod template ----------------------------------------------------------------- */

static void test_pod_from_template(void **state)
{
	json_t *j =
	    job("{\"completionMode\":\"Indexed\",\"completions\":4,"
		"\"template\":{\"metadata\":{\"labels\":{\"app\":\"t\"},"
		"\"annotations\":{\"note\":\"x\"}},\"spec\":{\"restartPolicy\":\"Never\","
		"\"initContainers\":[{\"name\":\"init\",\"image\":\"x\"}],"
		"\"containers\":[{\"name\":\"a\",\"image\":\"x\"},{\"name\":\"b\",\"image\":\"x\","
		"\"env\":[{\"name\":\"JOB_COMPLETION_INDEX\",\"value\":\"mine\"}]}]}}}",
		NULL);
	json_t *p = wf_job_pod_new(j, 3);
	json_t *md = json_object_get(p, "metadata");
	assert_string_equal(json_string_value(json_object_get(md, "generateName")), "train-3-");
	assert_string_equal(json_string_value(json_object_get(md, "namespace")), "ml");
	assert_null(json_object_get(md, "name"));
	assert_string_equal(json_string_value(json_object_get(json_object_get(md, "annotations"),
							      WF_JOB_INDEX_KEY)),
			    "3");
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(md, "annotations"), "note")), "x");
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(md, "labels"), WF_JOB_INDEX_KEY)),
	    "3");
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(md, "labels"), "app")), "t");
	json_t *ref = json_array_get(json_object_get(md, "ownerReferences"), 0);
	assert_string_equal(json_string_value(json_object_get(ref, "uid")), JOB_UID);
	assert_string_equal(json_string_value(json_object_get(ref, "kind")), "Job");
	assert_string_equal(json_string_value(json_object_get(ref, "apiVersion")), "batch/v1");
	assert_true(json_is_true(json_object_get(ref, "controller")));
	assert_true(json_is_true(json_object_get(ref, "blockOwnerDeletion")));
	assert_string_equal(json_string_value(json_array_get(json_object_get(md, "finalizers"), 0)),
			    WF_JOB_TRACKING_FINALIZER);
	json_t *spec = json_object_get(p, "spec");
	assert_string_equal(json_string_value(json_object_get(spec, "hostname")), "train-3");
	assert_string_equal(json_string_value(json_object_get(spec, "subdomain")), "train");
	json_t *env =
	    json_object_get(json_array_get(json_object_get(spec, "containers"), 0), "env");
	assert_int_equal(json_array_size(env), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(env, 0), "name")),
			    WF_JOB_INDEX_ENV);
	json_t *fr =
	    json_object_get(json_object_get(json_array_get(env, 0), "valueFrom"), "fieldRef");
	assert_string_equal(json_string_value(json_object_get(fr, "fieldPath")),
			    "metadata.labels['" WF_JOB_INDEX_KEY "']");
	/* A container that sets it itself keeps its own. */
	env = json_object_get(json_array_get(json_object_get(spec, "containers"), 1), "env");
	assert_int_equal(json_array_size(env), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(env, 0), "value")),
			    "mine");
	env = json_object_get(json_array_get(json_object_get(spec, "initContainers"), 0), "env");
	assert_int_equal(json_array_size(env), 1);
	/* The Job's template itself is untouched. */
	assert_null(
	    json_object_get(json_object_get(json_object_get(j, "spec"), "template"), "hostname"));
	assert_null(json_object_get(
	    json_array_get(json_object_get(
			       json_object_get(
				   json_object_get(json_object_get(j, "spec"), "template"), "spec"),
			       "containers"),
			   0),
	    "env"));
	json_decref(p);

	/* NonIndexed: "<job>-", no index, no hostname. */
	p = wf_job_pod_new(j, -1);
	md = json_object_get(p, "metadata");
	assert_string_equal(json_string_value(json_object_get(md, "generateName")), "train-");
	assert_null(json_object_get(json_object_get(md, "labels"), WF_JOB_INDEX_KEY));
	assert_null(json_object_get(json_object_get(p, "spec"), "hostname"));
	json_decref(p);
	json_decref(j);

	/* Long names: generateName stays within 58 characters with the index. */
	char name[80];
	memset(name, 'n', 62);
	name[62] = '\0';
	j = job("{\"completionMode\":\"Indexed\",\"completions\":20}", NULL);
	json_object_set_new(json_object_get(j, "metadata"), "name", json_string(name));
	p = wf_job_pod_new(j, 12);
	const char *gen =
	    json_string_value(json_object_get(json_object_get(p, "metadata"), "generateName"));
	assert_int_equal(strlen(gen), 58);
	assert_string_equal(gen + 54, "-12-");
	assert_null(json_object_get(json_object_get(p, "spec"), "hostname")); /* > 63 */
	json_decref(p);
	json_decref(j);

	/* A broken template still gives a pod (the API will judge it). */
	j = parse("{\"metadata\":{\"name\":\"x\",\"uid\":\"u\"},\"spec\":{\"template\":7}}");
	p = wf_job_pod_new(j, 0);
	assert_true(json_is_object(json_object_get(p, "spec")));
	json_decref(p);
	json_decref(j);
}

/* ---- malformed input --------------------------------------------------------------------- */

static void test_malformed_inputs(void **state)
{
	wf_job_plan p;
	wf_err err = {0};
	json_t *ps = json_array();
	json_t *j = parse("{\"metadata\":{\"name\":\"x\"},\"spec\":{}}");
	assert_int_equal(wf_job_plan_compute(j, ps, NOW_MS, true, &p, &err), -WF_EINVAL);
	wf_job_plan_free(&p);
	json_decref(j);
	j = parse("{\"metadata\":{\"uid\":\"u\"},\"spec\":[]}");
	assert_int_equal(wf_job_plan_compute(j, ps, NOW_MS, true, &p, &err), -WF_EINVAL);
	wf_job_plan_free(&p);
	json_decref(j);
	assert_int_equal(wf_job_plan_compute(NULL, NULL, NOW_MS, true, &p, &err), -WF_EINVAL);
	wf_job_plan_free(&p);

	/* Garbage in every status field: treated as absent and rewritten. */
	j = job("{\"completions\":2,\"parallelism\":\"lots\",\"backoffLimit\":-3}",
		"{\"succeeded\":\"x\",\"failed\":-4,\"active\":[],\"conditions\":\"bad\","
		"\"uncountedTerminatedPods\":5,\"startTime\":\"not a time\","
		"\"completedIndexes\":{}}");
	json_array_append_new(ps, json_integer(3));
	json_array_append_new(ps, parse("{\"metadata\":{\"uid\":\"no-name\"}}"));
	json_array_append_new(ps, pod("other", POD(.owner = "someone-else", .phase = "Running")));
	json_array_append_new(ps, parse("{\"metadata\":{\"name\":\"n\",\"uid\":\"u\","
					"\"ownerReferences\":\"x\"}}"));
	p = plan_of(j, ps, NOW_MS, true);
	assert_int_equal(p.ncreate, 1); /* parallelism defaults to 1 */
	assert_int_equal(st_int(&p, "active"), 1);
	assert_int_equal(st_int(&p, "succeeded"), -1);
	assert_int_equal(st_int(&p, "failed"), -1);
	assert_string_equal(st_str(&p, "startTime"), ts(0));
	assert_true(json_is_object(json_object_get(p.status, "uncountedTerminatedPods")));
	assert_null(json_object_get(p.status, "conditions"));
	wf_job_plan_free(&p);
	json_decref(j);

	/* Hostile uncounted lists: non-strings skipped, duplicates once. */
	j = job(NULL, "{\"startTime\":\"2026-11-22T06:50:00Z\",\"uncountedTerminatedPods\":"
		      "{\"failed\":[1,null,\"uid-x\",\"uid-x\",{}],\"succeeded\":\"nope\"}}");
	json_decref(ps);
	ps = json_array();
	p = plan_of(j, ps, NOW_MS, true);
	assert_int_equal(st_int(&p, "failed"), 1);
	assert_int_equal(unc(&p, "failed"), 0);
	wf_job_plan_free(&p);
	json_decref(j);
	json_decref(ps);
}

static void test_steady_state_writes_nothing(void **state)
{
	json_t *j = job("{\"completions\":3,\"parallelism\":1}",
			"{\"startTime\":\"2026-11-22T06:50:00Z\",\"active\":1,\"ready\":1,"
			"\"terminating\":0,\"succeeded\":1,\"uncountedTerminatedPods\":{}}");
	json_t *ps =
	    pods(2, pod("old", POD(.phase = "Succeeded")),
		 pod("a", POD(.fin = true, .phase = "Running", .node = "n", .ready = true)));
	wf_job_plan p = plan_of(j, ps, NOW_MS, true);
	assert_false(p.status_changed);
	assert_int_equal(p.ncreate, 0);
	assert_int_equal(p.ndel, 0);
	assert_int_equal(p.nrm, 0);
	assert_int_equal(json_array_size(p.events), 0);
	wf_job_plan_free(&p);
	json_decref(ps);
	json_decref(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_new_job_creates_up_to_parallelism),
	    cmocka_unit_test(test_parallelism_and_completions_limit),
	    cmocka_unit_test(test_excess_pods_deleted_least_useful_first),
	    cmocka_unit_test(test_success_counted_through_finalizer),
	    cmocka_unit_test(test_complete_waits_for_uncounted),
	    cmocka_unit_test(test_finished_job_left_alone),
	    cmocka_unit_test(test_work_queue_semantics),
	    cmocka_unit_test(test_failed_pod_replaced_after_backoff),
	    cmocka_unit_test(test_backoff_limit_exceeded),
	    cmocka_unit_test(test_backoff_limit_zero_and_boundary),
	    cmocka_unit_test(test_on_failure_restarts_count),
	    cmocka_unit_test(test_active_deadline),
	    cmocka_unit_test(test_terminating_pods),
	    cmocka_unit_test(test_suspend_and_resume),
	    cmocka_unit_test(test_created_suspended),
	    cmocka_unit_test(test_indexed_creates_lowest_free_indexes),
	    cmocka_unit_test(test_indexed_success_updates_completed_indexes),
	    cmocka_unit_test(test_indexed_failed_index_recreated),
	    cmocka_unit_test(test_indexed_duplicates_and_strays_deleted),
	    cmocka_unit_test(test_indexed_limits),
	    cmocka_unit_test(test_indexes_format_and_parse),
	    cmocka_unit_test(test_pod_index),
	    cmocka_unit_test(test_ttl_after_finished),
	    cmocka_unit_test(test_pod_from_template),
	    cmocka_unit_test(test_malformed_inputs),
	    cmocka_unit_test(test_steady_state_writes_nothing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
