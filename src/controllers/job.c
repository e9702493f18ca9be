/*
 * job.c - the batch/v1 Job controller: reacts to Job and pod changes,
 * asks job_plan.c what to do and does it through the API.
 *
 * Work items are keys in one work queue: "j:<ns>/<name>" syncs a Job,
 * "o:<ns>/<pod>" releases the tracking finalizer of a pod whose Job is gone
 * (orphaned by deletion or by an Orphan cascade).
 *
 * Expectations (kube-controller-manager's): before creating n pods the
 * Job's key expects n additions, before deleting pods it expects their uids
 * to be deleted; pod events observe them. While a Job has unobserved
 * expectations the plan neither creates nor deletes pods for scaling, so a
 * cache that lags never leads to over-creation. Expectations expire after
 * five minutes in case an event was lost.
 *
 * Status writes are JSON merge patches of the /status subresource carrying
 * the cached resourceVersion as a precondition; a Job whose cache copy is
 * older than our last write is not synced until the cache catches up.
 * A sync writes the status first and only then removes finalizers, so a pod
 * is always recorded in status.uncountedTerminatedPods (or in
 * completedIndexes) before it can disappear.
 */
#include "controllers/controllers_internal.h"
#include "controllers/job_plan.h"
#include "controllers/workqueue.h"
#include "lib/wf_mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WF__EXPECT_TTL_MS (5 * 60 * 1000)
#define WF__RMFIN_TTL_MS 10000
#define WF__COMPONENT "job-controller"

struct wf__jobctl {
	wf_controllers *c;
	wf_workqueue *q;
	pthread_t *workers;
	int nworkers;
	pthread_mutex_t mu; /* guards the three maps below */
	json_t *exp;	    /* job key -> {"add": n, "del": {uid: true}, "ts": ms} */
	json_t *rmfin;	    /* pod uid -> ms of a finalizer removal in flight */
	json_t *written;    /* job key -> resourceVersion of our last status write */
};

/* ---- expectations ------------------------------------------------------------------ */

static json_t *wf__exp_entry(wf__jobctl *j, const char *key)
{
	json_t *e = json_object_get(j->exp, key);
	if (!e) {
		e = json_pack("{s:i,s:{},s:I}", "add", 0, "del", "ts",
			      (json_int_t)wf__ctl_now_ms());
		json_object_set_new_nocheck(j->exp, key, e);
	}
	return e;
}

static void wf__expect_add(wf__jobctl *j, const char *key, int n)
{
	pthread_mutex_lock(&j->mu);
	json_t *e = wf__exp_entry(j, key);
	json_object_set_new(e, "add",
			    json_integer(json_integer_value(json_object_get(e, "add")) + n));
	json_object_set_new(e, "ts", json_integer(wf__ctl_now_ms()));
	pthread_mutex_unlock(&j->mu);
}

static void wf__expect_del(wf__jobctl *j, const char *key, const char *uid)
{
	pthread_mutex_lock(&j->mu);
	json_t *e = wf__exp_entry(j, key);
	json_object_set_new_nocheck(json_object_get(e, "del"), uid, json_true());
	json_object_set_new(e, "ts", json_integer(wf__ctl_now_ms()));
	pthread_mutex_unlock(&j->mu);
}

static void wf__observed_add(wf__jobctl *j, const char *key)
{
	pthread_mutex_lock(&j->mu);
	json_t *e = json_object_get(j->exp, key);
	if (e)
		json_object_set_new(
		    e, "add", json_integer(json_integer_value(json_object_get(e, "add")) - 1));
	pthread_mutex_unlock(&j->mu);
}

static void wf__observed_del(wf__jobctl *j, const char *key, const char *uid)
{
	pthread_mutex_lock(&j->mu);
	json_t *e = json_object_get(j->exp, key);
	if (e && uid)
		json_object_del(json_object_get(e, "del"), uid);
	pthread_mutex_unlock(&j->mu);
}

static bool wf__expectations_met(wf__jobctl *j, const char *key)
{
	pthread_mutex_lock(&j->mu);
	json_t *e = json_object_get(j->exp, key);
	bool met =
	    !e ||
	    (json_integer_value(json_object_get(e, "add")) <= 0 &&
	     !json_object_size(json_object_get(e, "del"))) ||
	    wf__ctl_now_ms() - json_integer_value(json_object_get(e, "ts")) > WF__EXPECT_TTL_MS;
	if (met && e)
		json_object_del(j->exp, key);
	pthread_mutex_unlock(&j->mu);
	return met;
}

/* A finalizer removal for uid is in flight (and recent): skip another. */
static bool wf__rmfin_pending(wf__jobctl *j, const char *uid, bool mark)
{
	pthread_mutex_lock(&j->mu);
	json_t *t = json_object_get(j->rmfin, uid);
	int64_t now = wf__ctl_now_ms();
	bool pending = t && now - json_integer_value(t) < WF__RMFIN_TTL_MS;
	if (!pending && mark)
		json_object_set_new_nocheck(j->rmfin, uid, json_integer(now));
	pthread_mutex_unlock(&j->mu);
	return pending;
}

static void wf__rmfin_done(wf__jobctl *j, const char *uid)
{
	if (!uid)
		return;
	pthread_mutex_lock(&j->mu);
	json_object_del(j->rmfin, uid);
	pthread_mutex_unlock(&j->mu);
}

static int64_t wf__rv_num(const json_t *obj)
{
	const char *rv =
	    json_string_value(json_object_get(json_object_get(obj, "metadata"), "resourceVersion"));
	return rv ? strtoll(rv, NULL, 10) : 0;
}

/* ---- event handlers (informer thread) ----------------------------------------------------- */

/* "j:<ns>/<job>" for a pod controlled by a batch/v1 Job, else NULL. */
static char *wf__job_key_of_pod(const json_t *pod)
{
	const json_t *ref = wf__controller_ref(pod);
	const char *kind = json_string_value(json_object_get(ref, "kind"));
	const char *av = json_string_value(json_object_get(ref, "apiVersion"));
	const char *name = json_string_value(json_object_get(ref, "name"));
	const char *ns =
	    json_string_value(json_object_get(json_object_get(pod, "metadata"), "namespace"));
	if (!kind || strcmp(kind, "Job") || !av || strcmp(av, "batch/v1") || !name || !ns)
		return NULL;
	return wf_xasprintf("j:%s/%s", ns, name);
}

static void wf__enqueue_orphan(wf__jobctl *j, const json_t *pod)
{
	char *k = wf_informer_key(pod);
	if (k) {
		char *key = wf_xasprintf("o:%s", k);
		wf_workqueue_add(j->q, key);
		free(key);
	}
	free(k);
}

static const char *wf__uid(const json_t *obj)
{
	return json_string_value(json_object_get(json_object_get(obj, "metadata"), "uid"));
}

static void wf__on_pod_add(void *ctx, const json_t *pod)
{
	wf__jobctl *j = ctx;
	char *key = wf__job_key_of_pod(pod);
	if (key) {
		if (wf__deleting(pod))
			wf__observed_del(j, key, wf__uid(pod));
		else
			wf__observed_add(j, key);
		wf_workqueue_add(j->q, key);
	} else if (wf__has_finalizer(pod, WF_JOB_TRACKING_FINALIZER)) {
		wf__enqueue_orphan(j, pod);
	}
	free(key);
}

static void wf__on_pod_update(void *ctx, const json_t *old, const json_t *pod)
{
	wf__jobctl *j = ctx;
	char *key = wf__job_key_of_pod(pod);
	char *okey = wf__job_key_of_pod(old);
	if (!wf__has_finalizer(pod, WF_JOB_TRACKING_FINALIZER))
		wf__rmfin_done(j, wf__uid(pod));
	if (key && wf__deleting(pod) && !wf__deleting(old))
		wf__observed_del(j, key, wf__uid(pod));
	if (okey && (!key || strcmp(key, okey)))
		wf_workqueue_add(j->q, okey);
	if (key)
		wf_workqueue_add(j->q, key);
	else if (wf__has_finalizer(pod, WF_JOB_TRACKING_FINALIZER))
		wf__enqueue_orphan(j, pod);
	free(key);
	free(okey);
}

static void wf__on_pod_del(void *ctx, const json_t *pod)
{
	wf__jobctl *j = ctx;
	char *key = wf__job_key_of_pod(pod);
	wf__rmfin_done(j, wf__uid(pod));
	if (key) {
		wf__observed_del(j, key, wf__uid(pod));
		wf_workqueue_add(j->q, key);
	}
	free(key);
}

static void wf__enqueue_job(wf__jobctl *j, const json_t *job)
{
	char *k = wf_informer_key(job);
	if (k) {
		char *key = wf_xasprintf("j:%s", k);
		wf_workqueue_add(j->q, key);
		free(key);
	}
	free(k);
}

static void wf__on_job_add(void *ctx, const json_t *job)
{
	wf__enqueue_job(ctx, job);
}

static void wf__on_job_update(void *ctx, const json_t *old, const json_t *job)
{
	wf__enqueue_job(ctx, job);
}

static void wf__on_job_del(void *ctx, const json_t *job)
{
	wf__jobctl *j = ctx;
	wf__enqueue_job(j, job);
	/* Its pods' finalizers must go now that nobody will count them. */
	const char *uid = wf__uid(job);
	json_t *pods = wf_informer_by_index(j->c->pods, j->c->pod_by_owner, uid);
	size_t i;
	json_t *p;
	json_array_foreach(pods, i, p)
	{
		if (wf__has_finalizer(p, WF_JOB_TRACKING_FINALIZER))
			wf__enqueue_orphan(j, p);
	}
	json_decref(pods);
}

/* ---- API writes ------------------------------------------------------------------------- */

static char *wf__pod_path(const char *ns, const char *name)
{
	return wf_xasprintf("/api/v1/namespaces/%s/pods/%s", ns, name);
}

/* Drop the tracking finalizer (strategic merge: leaves other finalizers). 0 when
 * removed or the pod is gone. */
static int wf__remove_finalizer(wf__jobctl *j, const char *ns, const char *name, wf_err *err)
{
	char *path = wf__pod_path(ns, name);
	json_t *patch = json_pack("{s:{s:[s]}}", "metadata", "$deleteFromPrimitiveList/finalizers",
				  WF_JOB_TRACKING_FINALIZER);
	int rc = wf__ctl_request(j->c, "PATCH", path, patch,
				 "application/strategic-merge-patch+json", NULL, err);
	json_decref(patch);
	free(path);
	return rc == -WF_ENOENT ? 0 : rc;
}

static int wf__delete_pod(wf__jobctl *j, const char *ns, const char *name, const char *uid,
			  wf_err *err)
{
	char *path = wf__pod_path(ns, name);
	json_t *opts = json_pack("{s:s,s:s,s:{s:s}}", "kind", "DeleteOptions", "apiVersion", "v1",
				 "preconditions", "uid", uid);
	int rc = wf__ctl_request(j->c, "DELETE", path, opts, NULL, NULL, err);
	json_decref(opts);
	free(path);
	return rc;
}

/* Merge-patch the Job's status with the cached resourceVersion as precondition. */
static int wf__write_status(wf__jobctl *j, const char *key, const json_t *job, const json_t *status,
			    wf_err *err)
{
	const json_t *md = json_object_get(job, "metadata");
	const char *ns = json_string_value(json_object_get(md, "namespace"));
	const char *name = json_string_value(json_object_get(md, "name"));
	json_t *patch = json_object();
	json_object_set_new(
	    patch, "metadata",
	    json_pack("{s:O}", "resourceVersion", json_object_get(md, "resourceVersion")));
	json_object_set_new(patch, "status",
			    wf__merge_diff(json_object_get(job, "status"), status));
	char *path = wf_xasprintf("/apis/batch/v1/namespaces/%s/jobs/%s/status", ns, name);
	json_t *resp = NULL;
	int rc =
	    wf__ctl_request(j->c, "PATCH", path, patch, "application/merge-patch+json", &resp, err);
	if (rc == 0) {
		pthread_mutex_lock(&j->mu);
		json_object_set_new_nocheck(j->written, key, json_integer(wf__rv_num(resp)));
		pthread_mutex_unlock(&j->mu);
	}
	json_decref(resp);
	json_decref(patch);
	free(path);
	return rc;
}

/* ttlSecondsAfterFinished: look at a fresh copy, then delete in the background. */
static int wf__ttl_delete(wf__jobctl *j, const json_t *cached, wf_err *err)
{
	const json_t *md = json_object_get(cached, "metadata");
	const char *ns = json_string_value(json_object_get(md, "namespace"));
	const char *name = json_string_value(json_object_get(md, "name"));
	char *path = wf_xasprintf("/apis/batch/v1/namespaces/%s/jobs/%s", ns, name);
	json_t *fresh = NULL;
	int rc = wf_client_get(j->c->client, path, &fresh, err);
	if (rc == 0) {
		wf_job_plan plan;
		json_t *none = json_array();
		bool expired =
		    wf_job_plan_compute(fresh, none, wf__ctl_now_ms(), true, &plan, NULL) == 0 &&
		    plan.delete_job;
		wf_job_plan_free(&plan);
		json_decref(none);
		if (expired) {
			json_t *opts = json_pack(
			    "{s:s,s:s,s:s,s:{s:O,s:O}}", "kind", "DeleteOptions", "apiVersion",
			    "v1", "propagationPolicy", "Background", "preconditions", "uid",
			    json_object_get(json_object_get(fresh, "metadata"), "uid"),
			    "resourceVersion",
			    json_object_get(json_object_get(fresh, "metadata"), "resourceVersion"));
			rc = wf__ctl_request(j->c, "DELETE", path, opts, NULL, NULL, err);
			json_decref(opts);
		}
	}
	json_decref(fresh);
	free(path);
	return rc == -WF_ENOENT ? 0 : rc;
}

/* ---- sync --------------------------------------------------------------------------------- */

static void wf__job_event(wf__jobctl *j, const json_t *job, const char *type, const char *reason,
			  const char *msg)
{
	wf__ctl_event(j->c, job, "batch/v1", "Job", type, reason, msg, WF__COMPONENT);
}

/* Sync one Job; 0 or a negative code to retry with back-off. */
static int wf__sync_job(wf__jobctl *j, const char *key, int64_t *requeue_ms)
{
	json_t *job = wf_informer_get(j->c->jobs, key);
	char *qkey = wf_xasprintf("j:%s", key);
	if (!job) {
		pthread_mutex_lock(&j->mu);
		json_object_del(j->exp, qkey);
		json_object_del(j->written, qkey);
		pthread_mutex_unlock(&j->mu);
		free(qkey);
		return 0;
	}
	pthread_mutex_lock(&j->mu);
	int64_t written = json_integer_value(json_object_get(j->written, qkey));
	pthread_mutex_unlock(&j->mu);
	if (written > wf__rv_num(job)) {
		/* Our last status write has not reached the cache: its event will
		 * bring the Job back; look again later in case it never does. */
		*requeue_ms = 2000;
		json_decref(job);
		free(qkey);
		return 0;
	}
	const json_t *md = json_object_get(job, "metadata");
	const char *ns = json_string_value(json_object_get(md, "namespace"));
	json_t *pods = wf_informer_by_index(j->c->pods, j->c->pod_by_owner, wf__uid(job));
	bool met = wf__expectations_met(j, qkey);
	wf_job_plan plan;
	wf_err err = {0};
	int rc = wf_job_plan_compute(job, pods, wf__ctl_now_ms(), met, &plan, &err);
	if (rc < 0) {
		/* A Job the plan cannot run (validation should have said no). */
		json_decref(pods);
		json_decref(job);
		free(qkey);
		return 0;
	}
	if (plan.delete_job) {
		rc = wf__ttl_delete(j, job, &err);
		goto out;
	}
	if (plan.status_changed) {
		rc = wf__write_status(j, qkey, job, plan.status, &err);
		if (rc < 0) {
			if (rc == -WF_ENOENT)
				rc = 0; /* deleted meanwhile: its delete event follows */
			goto out;	/* nothing else before the status is stored */
		}
	}
	for (size_t i = 0; i < plan.nrm; i++) {
		json_t *pod = wf_informer_get_nn(j->c->pods, ns, plan.rm_finalizer[i]);
		const char *uid = wf__uid(pod);
		if (uid && !wf__rmfin_pending(j, uid, true)) {
			wf_err e2 = {0};
			if (wf__remove_finalizer(j, ns, plan.rm_finalizer[i], &e2) < 0) {
				wf__rmfin_done(j, uid);
				if (rc == 0)
					rc = -WF_EIO, err = e2;
			}
		}
		json_decref(pod);
	}
	for (size_t i = 0; i < plan.ndel; i++)
		wf__expect_del(j, qkey, plan.del[i].uid);
	for (size_t i = 0; i < plan.ndel; i++) {
		wf_job_pod_delete *d = &plan.del[i];
		wf_err e2 = {0};
		int drc = 0;
		if (d->uncount)
			drc = wf__remove_finalizer(j, ns, d->name, &e2);
		if (drc == 0)
			drc = wf__delete_pod(j, ns, d->name, d->uid, &e2);
		if (drc < 0) {
			wf__observed_del(j, qkey, d->uid);
			if (drc != -WF_ENOENT && rc == 0)
				rc = drc, err = e2;
			continue;
		}
		char msg[512];
		snprintf(msg, sizeof msg, "Deleted pod: %s", d->name);
		wf__job_event(j, job, "Normal", "SuccessfulDelete", msg);
	}
	if (plan.ncreate)
		wf__expect_add(j, qkey, plan.ncreate);
	char *cpath = wf_xasprintf("/api/v1/namespaces/%s/pods", ns);
	for (int i = 0; i < plan.ncreate; i++) {
		json_t *pod = wf_job_pod_new(job, plan.create_index[i]);
		json_t *resp = NULL;
		wf_err e2 = {0};
		int crc = wf__ctl_request(j->c, "POST", cpath, pod, NULL, &resp, &e2);
		json_decref(pod);
		if (crc < 0) {
			/* The rest is not going to be seen either. */
			for (int k = i; k < plan.ncreate; k++)
				wf__observed_add(j, qkey);
			char msg[700];
			snprintf(msg, sizeof msg, "Error creating: %s", e2.msg);
			wf__job_event(j, job, "Warning", "FailedCreate", msg);
			if (rc == 0)
				rc = crc, err = e2;
			json_decref(resp);
			break;
		}
		char msg[512];
		snprintf(
		    msg, sizeof msg, "Created pod: %s",
		    json_string_value(json_object_get(json_object_get(resp, "metadata"), "name")));
		wf__job_event(j, job, "Normal", "SuccessfulCreate", msg);
		json_decref(resp);
	}
	free(cpath);
	size_t ei;
	json_t *ev;
	json_array_foreach(plan.events, ei, ev)
	{
		wf__job_event(j, job, json_string_value(json_object_get(ev, "type")),
			      json_string_value(json_object_get(ev, "reason")),
			      json_string_value(json_object_get(ev, "message")));
	}
	if (plan.requeue_ms >= 0)
		*requeue_ms = plan.requeue_ms;
out:
	if (rc < 0 && rc != -WF_ECONFLICT)
		wf__ctl_log("job %s: %s", key, err.msg);
	wf_job_plan_free(&plan);
	json_decref(pods);
	json_decref(job);
	free(qkey);
	return rc;
}

/* A pod holding the tracking finalizer whose Job is gone: release it. */
static int wf__sync_orphan(wf__jobctl *j, const char *key)
{
	json_t *pod = wf_informer_get(j->c->pods, key);
	int rc = 0;
	if (!pod || !wf__has_finalizer(pod, WF_JOB_TRACKING_FINALIZER))
		goto out;
	const char *ns =
	    json_string_value(json_object_get(json_object_get(pod, "metadata"), "namespace"));
	const char *name =
	    json_string_value(json_object_get(json_object_get(pod, "metadata"), "name"));
	const json_t *ref = wf__controller_ref(pod);
	const char *kind = json_string_value(json_object_get(ref, "kind"));
	const char *jname = json_string_value(json_object_get(ref, "name"));
	const char *juid = json_string_value(json_object_get(ref, "uid"));
	if (kind && !strcmp(kind, "Job") && jname && juid) {
		/* Ask the API, not the cache: the Job may just be new to us. */
		char *path = wf_xasprintf("/apis/batch/v1/namespaces/%s/jobs/%s", ns, jname);
		json_t *job = NULL;
		wf_err err = {0};
		rc = wf_client_get(j->c->client, path, &job, &err);
		free(path);
		const char *uid = wf__uid(job);
		bool alive = rc == 0 && uid && !strcmp(uid, juid);
		json_decref(job);
		if (alive) {
			char *jkey = wf_xasprintf("j:%s/%s", ns, jname);
			wf_workqueue_add(j->q, jkey);
			free(jkey);
			rc = 0;
			goto out;
		}
		if (rc < 0 && rc != -WF_ENOENT)
			goto out;
	}
	rc = 0;
	if (!wf__rmfin_pending(j, wf__uid(pod), true)) {
		wf_err err = {0};
		rc = wf__remove_finalizer(j, ns, name, &err);
		if (rc < 0) {
			wf__rmfin_done(j, wf__uid(pod));
			wf__ctl_log("releasing pod %s: %s", key, err.msg);
		}
	}
out:
	json_decref(pod);
	return rc;
}

static void *wf__job_worker(void *arg)
{
	wf__jobctl *j = arg;
	wf_informer *const need[] = {j->c->pods, j->c->jobs, NULL};
	if (!wf__ctl_wait_synced(j->c, need))
		return NULL;
	char *key;
	while ((key = wf_workqueue_get(j->q))) {
		int64_t requeue = -1;
		int rc = 0;
		if (!strncmp(key, "j:", 2))
			rc = wf__sync_job(j, key + 2, &requeue);
		else if (!strncmp(key, "o:", 2))
			rc = wf__sync_orphan(j, key + 2);
		if (rc < 0) {
			wf_workqueue_add_rate_limited(j->q, key);
		} else {
			wf_workqueue_forget(j->q, key);
			if (requeue >= 0)
				wf_workqueue_add_after(j->q, key, requeue);
		}
		wf_workqueue_done(j->q, key);
	}
	return NULL;
}

/* ---- lifecycle ------------------------------------------------------------------------------ */

void wf__job_register(wf_controllers *c)
{
	wf__jobctl *j = wf_xcalloc(1, sizeof *j);
	j->c = c;
	/* Retries of failed syncs: 1 s doubling to a minute (Kubernetes' Job API back-off). */
	j->q = wf_workqueue_new(1000, 60000, NULL, NULL);
	pthread_mutex_init(&j->mu, NULL);
	j->exp = json_object();
	j->rmfin = json_object();
	j->written = json_object();
	c->job = j;
	wf_informer_handlers ph = {
	    .add = wf__on_pod_add, .update = wf__on_pod_update, .del = wf__on_pod_del, .ctx = j};
	wf_informer_add_handlers(c->pods, &ph);
	wf_informer_handlers jh = {
	    .add = wf__on_job_add, .update = wf__on_job_update, .del = wf__on_job_del, .ctx = j};
	wf_informer_add_handlers(c->jobs, &jh);
}

int wf__job_start(wf_controllers *c, wf_err *err)
{
	wf__jobctl *j = c->job;
	j->workers = wf_xcalloc((size_t)c->o.job_workers, sizeof *j->workers);
	return wf__workers_start(j->workers, c->o.job_workers, wf__job_worker, j, &j->nworkers,
				 "job controller", err);
}

void wf__job_stop(wf_controllers *c)
{
	wf__jobctl *j = c->job;
	if (!j)
		return;
	wf__workers_stop(j->q, j->workers, &j->nworkers);
}

void wf__job_free(wf_controllers *c)
{
	wf__jobctl *j = c->job;
	if (!j)
		return;
	free(j->workers);
	wf_workqueue_free(j->q);
	json_decref(j->exp);
	json_decref(j->rmfin);
	json_decref(j->written);
	pthread_mutex_destroy(&j->mu);
	free(j);
	c->job = NULL;
}
