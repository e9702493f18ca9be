/*
 * pytorchjob.c - the kubeflow.org/v1 PyTorchJob controller: reacts to job
 * and pod changes, asks training_plan.c what to do and does it through the
 * API (the rendezvous design, MASTER_ADDR included, is explained in
 * training_plan.h).
 *
 * Work items are "<ns>/<name>" keys of jobs. Pod names are fixed
 * ("<job>-worker-3"), so a cache that lags cannot lead to duplicate pods:
 * a second create answers 409 and is ignored. What the controller made
 * besides pods is remembered per job (PodGroup from the PodGroup cache; the
 * Service and the rendezvous ConfigMap in memory, keyed by the job's uid),
 * so a sync does not repeat requests that already succeeded.
 *
 * Status writes are JSON merge patches of /status carrying the cached
 * resourceVersion as a precondition; a job whose cache copy is older than
 * our last write waits for the cache (as the Job controller does). The
 * status is written before pods are deleted, so a finished job is recorded
 * before its pods go.
 */
#include "controllers/controllers_internal.h"
#include "controllers/training_plan.h"
#include "controllers/workqueue.h"
#include "lib/wf_mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WF__PTJ_COMPONENT "pytorchjob-controller"
#define WF__PTJ_WORKERS 2
#define WF__PTJ_PATH "/apis/" WF_PTJ_API_VERSION

struct wf__ptjctl {
	wf_controllers *c;
	wf_informer *jobs;
	wf_workqueue *q;
	pthread_t workers[WF__PTJ_WORKERS];
	int nworkers;
	pthread_mutex_t mu; /* guards the two maps below */
	json_t *written;    /* job key -> resourceVersion of our last status write */
	json_t *made;	    /* job key -> {"uid", "svc": bool, "addr": string} */
};

static const char *wf__md_s(const json_t *obj, const char *key)
{
	return json_string_value(json_object_get(json_object_get(obj, "metadata"), key));
}

static int64_t wf__rv_num(const json_t *obj)
{
	const char *rv = wf__md_s(obj, "resourceVersion");
	return rv ? strtoll(rv, NULL, 10) : 0;
}

/* ---- event handlers (informer threads) -------------------------------------------------- */

/* "<ns>/<job>" for a pod controlled by a PyTorchJob, else NULL. */
static char *wf__job_key_of_pod(const json_t *pod)
{
	const json_t *ref = wf__controller_ref(pod);
	const char *kind = json_string_value(json_object_get(ref, "kind"));
	const char *av = json_string_value(json_object_get(ref, "apiVersion"));
	const char *name = json_string_value(json_object_get(ref, "name"));
	const char *ns = wf__md_s(pod, "namespace");
	if (!kind || strcmp(kind, WF_PTJ_KIND) || !av || strcmp(av, WF_PTJ_API_VERSION) || !name ||
	    !ns)
		return NULL;
	return wf_xasprintf("%s/%s", ns, name);
}

static void wf__on_pod_add(void *ctx, const json_t *pod)
{
	wf__ptjctl *p = ctx;
	char *key = wf__job_key_of_pod(pod);
	if (key)
		wf_workqueue_add(p->q, key);
	free(key);
}

static void wf__on_pod_update(void *ctx, const json_t *old, const json_t *pod)
{
	wf__ptjctl *p = ctx;
	char *okey = wf__job_key_of_pod(old);
	char *key = wf__job_key_of_pod(pod);
	if (okey && (!key || strcmp(okey, key)))
		wf_workqueue_add(p->q, okey);
	if (key)
		wf_workqueue_add(p->q, key);
	free(okey);
	free(key);
}

static void wf__on_job(void *ctx, const json_t *job)
{
	wf__ptjctl *p = ctx;
	char *k = wf_informer_key(job);
	if (k)
		wf_workqueue_add(p->q, k);
	free(k);
}

static void wf__on_job_update(void *ctx, const json_t *old, const json_t *job)
{
	wf__on_job(ctx, job);
}

/* ---- what the job made, remembered ------------------------------------------------------ */

/* The memo entry of key for uid (a new job of the same name starts afresh);
 * call with mu held. */
static json_t *wf__made(wf__ptjctl *p, const char *key, const char *uid)
{
	json_t *m = json_object_get(p->made, key);
	const char *muid = json_string_value(json_object_get(m, "uid"));
	if (!m || !muid || strcmp(muid, uid)) {
		m = json_pack("{s:s}", "uid", uid);
		json_object_set_new(p->made, key, m);
	}
	return m;
}

static bool wf__made_has(wf__ptjctl *p, const char *key, const char *uid, const char *what,
			 const char *value)
{
	pthread_mutex_lock(&p->mu);
	json_t *v = json_object_get(wf__made(p, key, uid), what);
	bool has =
	    value ? json_is_string(v) && !strcmp(json_string_value(v), value) : json_is_true(v);
	pthread_mutex_unlock(&p->mu);
	return has;
}

static void wf__made_set(wf__ptjctl *p, const char *key, const char *uid, const char *what,
			 const char *value)
{
	pthread_mutex_lock(&p->mu);
	json_object_set_new(wf__made(p, key, uid), what, value ? json_string(value) : json_true());
	pthread_mutex_unlock(&p->mu);
}

/* ---- API writes ---------------------------------------------------------------------------- */

static void wf__job_event(wf__ptjctl *p, const json_t *job, const char *type, const char *reason,
			  const char *fmt, const char *arg)
{
	char msg[700];
	snprintf(msg, sizeof msg, fmt, arg);
	wf__ctl_event(p->c, job, WF_PTJ_API_VERSION, WF_PTJ_KIND, type, reason, msg,
		      WF__PTJ_COMPONENT);
}

static int wf__write_status(wf__ptjctl *p, const char *key, const json_t *job, const json_t *status,
			    wf_err *err)
{
	json_t *patch = json_object();
	json_object_set_new(
	    patch, "metadata",
	    json_pack("{s:s}", "resourceVersion", wf__md_s(job, "resourceVersion")));
	json_object_set_new(patch, "status",
			    wf__merge_diff(json_object_get(job, "status"), status));
	char *path = wf_xasprintf(WF__PTJ_PATH "/namespaces/%s/pytorchjobs/%s/status",
				  wf__md_s(job, "namespace"), wf__md_s(job, "name"));
	json_t *resp = NULL;
	int rc =
	    wf__ctl_request(p->c, "PATCH", path, patch, "application/merge-patch+json", &resp, err);
	if (rc == 0) {
		pthread_mutex_lock(&p->mu);
		json_object_set_new(p->written, key, json_integer(wf__rv_num(resp)));
		pthread_mutex_unlock(&p->mu);
	}
	json_decref(resp);
	json_decref(patch);
	free(path);
	return rc;
}

/* POST obj to the collection; 0 when created or already there (409). */
static int wf__create(wf__ptjctl *p, const char *collection, const json_t *obj, bool *existed,
		      wf_err *err)
{
	int rc = wf__ctl_request(p->c, "POST", collection, obj, NULL, NULL, err);
	if (existed)
		*existed = rc == -WF_ECONFLICT;
	return rc == -WF_ECONFLICT ? 0 : rc;
}

static int wf__ensure_podgroup(wf__ptjctl *p, const json_t *job, const json_t *pg, wf_err *err)
{
	const char *ns = wf__md_s(job, "namespace"), *name = wf__md_s(job, "name");
	json_t *cached = wf_informer_get_nn(wf__pg_informer(p->c), ns, name);
	int rc = 0;
	if (!cached) {
		char *coll =
		    wf_xasprintf("/apis/" WF_PG_API_VERSION "/namespaces/%s/podgroups", ns);
		rc = wf__create(p, coll, pg, NULL, err);
		free(coll);
		return rc;
	}
	/* Ours, with another minMember (replicas changed): follow the job. */
	const json_t *ref = wf__controller_ref(cached);
	const char *ruid = json_string_value(json_object_get(ref, "uid"));
	json_t *want = json_object_get(json_object_get(pg, "spec"), "minMember");
	json_t *have = json_object_get(json_object_get(cached, "spec"), "minMember");
	if (ruid && !strcmp(ruid, wf__md_s(job, "uid")) && !json_equal(want, have)) {
		char *path = wf_xasprintf("/apis/" WF_PG_API_VERSION "/namespaces/%s/podgroups/%s",
					  ns, name);
		json_t *patch = json_pack("{s:{s:O}}", "spec", "minMember", want);
		rc = wf__ctl_request(p->c, "PATCH", path, patch, "application/merge-patch+json",
				     NULL, err);
		json_decref(patch);
		free(path);
	}
	json_decref(cached);
	return rc;
}

static int wf__ensure_service(wf__ptjctl *p, const char *key, const json_t *job, const json_t *svc)
{
	const char *uid = wf__md_s(job, "uid");
	if (wf__made_has(p, key, uid, "svc", NULL))
		return 0;
	char *coll = wf_xasprintf("/api/v1/namespaces/%s/services", wf__md_s(job, "namespace"));
	wf_err err = {0};
	bool existed = false;
	int rc = wf__create(p, coll, svc, &existed, &err);
	free(coll);
	const char *sname = wf__md_s(svc, "name");
	if (rc == 0) {
		wf__made_set(p, key, uid, "svc", NULL);
		if (!existed)
			wf__job_event(p, job, "Normal", "SuccessfulCreateService",
				      "Created service: %s", sname);
	} else if (rc == -WF_EINVAL) {
		/* The API will keep saying no (a name past 63 characters, say):
		 * the service is only a convenience here, so say it once. */
		wf__made_set(p, key, uid, "svc", NULL);
		wf__job_event(p, job, "Warning", "FailedCreateService", "Error creating: %s",
			      err.msg);
		rc = 0;
	}
	return rc;
}

static int wf__ensure_rendezvous(wf__ptjctl *p, const char *key, const json_t *job,
				 const json_t *cm, wf_err *err)
{
	const char *uid = wf__md_s(job, "uid");
	const char *addr =
	    json_string_value(json_object_get(json_object_get(cm, "data"), "MASTER_ADDR"));
	if (!addr || wf__made_has(p, key, uid, "addr", addr))
		return 0;
	const char *ns = wf__md_s(job, "namespace");
	char *coll = wf_xasprintf("/api/v1/namespaces/%s/configmaps", ns);
	bool existed = false;
	int rc = wf__create(p, coll, cm, &existed, err);
	free(coll);
	if (rc == 0 && existed) {
		/* Left from an earlier master (recreated elsewhere): update it. */
		char *path =
		    wf_xasprintf("/api/v1/namespaces/%s/configmaps/%s", ns, wf__md_s(cm, "name"));
		json_t *patch = json_pack("{s:O}", "data", json_object_get(cm, "data"));
		rc = wf__ctl_request(p->c, "PATCH", path, patch, "application/merge-patch+json",
				     NULL, err);
		json_decref(patch);
		free(path);
	}
	if (rc == 0)
		wf__made_set(p, key, uid, "addr", addr);
	return rc;
}

static int wf__delete(wf__ptjctl *p, const char *path, const char *uid, wf_err *err)
{
	json_t *opts = uid ? json_pack("{s:s,s:s,s:{s:s}}", "kind", "DeleteOptions", "apiVersion",
				       "v1", "preconditions", "uid", uid)
			   : NULL;
	int rc = wf__ctl_request(p->c, "DELETE", path, opts, NULL, NULL, err);
	json_decref(opts);
	return rc == -WF_ENOENT ? 0 : rc;
}

/* ---- sync ---------------------------------------------------------------------------------- */

static void wf__forget(wf__ptjctl *p, const char *key)
{
	pthread_mutex_lock(&p->mu);
	json_object_del(p->written, key);
	json_object_del(p->made, key);
	pthread_mutex_unlock(&p->mu);
}

/* Sync one job; 0, or a negative code to retry with back-off. */
static int wf__sync(wf__ptjctl *p, const char *key, int64_t *requeue_ms)
{
	json_t *job = wf_informer_get(p->jobs, key);
	if (!job) {
		wf__forget(p, key);
		return 0;
	}
	pthread_mutex_lock(&p->mu);
	int64_t written = json_integer_value(json_object_get(p->written, key));
	pthread_mutex_unlock(&p->mu);
	if (written > wf__rv_num(job)) {
		*requeue_ms = 2000; /* our write's event will bring it back */
		json_decref(job);
		return 0;
	}
	const char *ns = wf__md_s(job, "namespace");
	const char *uid = wf__md_s(job, "uid");
	json_t *pods = wf_informer_by_index(p->c->pods, p->c->pod_by_owner, uid);
	wf_ptj_plan plan;
	wf_err err = {0};
	int rc = wf_ptj_plan_compute(job, pods, wf__ctl_now_ms(), &plan, &err);
	json_decref(pods);
	if (rc < 0) {
		/* Validation should have said no; nothing can be done for it. */
		wf__ctl_log("pytorchjob %s: %s", key, err.msg);
		json_decref(job);
		return 0;
	}
	if (plan.delete_job) {
		char *path = wf_xasprintf(WF__PTJ_PATH "/namespaces/%s/pytorchjobs/%s", ns,
					  wf__md_s(job, "name"));
		json_t *opts =
		    json_pack("{s:s,s:s,s:s,s:{s:s}}", "kind", "DeleteOptions", "apiVersion", "v1",
			      "propagationPolicy", "Background", "preconditions", "uid", uid);
		rc = wf__ctl_request(p->c, "DELETE", path, opts, NULL, NULL, &err);
		if (rc == -WF_ENOENT)
			rc = 0;
		json_decref(opts);
		free(path);
		goto out;
	}
	if (plan.status_changed) {
		rc = wf__write_status(p, key, job, plan.status, &err);
		if (rc < 0) {
			if (rc == -WF_ENOENT)
				rc = 0; /* deleted meanwhile: its delete event follows */
			goto out;	/* nothing else before the status is stored */
		}
	}
	if (plan.podgroup && (rc = wf__ensure_podgroup(p, job, plan.podgroup, &err)) < 0)
		goto out;
	if (plan.service && (rc = wf__ensure_service(p, key, job, plan.service)) < 0)
		goto out;
	if (plan.rendezvous && (rc = wf__ensure_rendezvous(p, key, job, plan.rendezvous, &err)) < 0)
		goto out;

	char *coll = wf_xasprintf("/api/v1/namespaces/%s/pods", ns);
	size_t i;
	json_t *pod;
	json_array_foreach(plan.create, i, pod)
	{
		wf_err e2 = {0};
		bool existed = false;
		int crc = wf__create(p, coll, pod, &existed, &e2);
		if (crc < 0) {
			wf__job_event(p, job, "Warning", "FailedCreatePod", "Error creating: %s",
				      e2.msg);
			rc = crc;
			err = e2;
			break;
		}
		if (!existed)
			wf__job_event(p, job, "Normal", "SuccessfulCreatePod", "Created pod: %s",
				      wf__md_s(pod, "name"));
	}
	free(coll);
	json_array_foreach(plan.del, i, pod)
	{
		const char *name = json_string_value(json_object_get(pod, "name"));
		char *path = wf_xasprintf("/api/v1/namespaces/%s/pods/%s", ns, name);
		wf_err e2 = {0};
		int drc = wf__delete(p, path, json_string_value(json_object_get(pod, "uid")), &e2);
		free(path);
		if (drc == 0) {
			wf__job_event(p, job, "Normal", "SuccessfulDeletePod", "Deleted pod: %s",
				      name);
		} else if (drc != -WF_ECONFLICT && rc == 0) {
			rc = drc;
			err = e2;
		}
	}
	json_t *sname;
	json_array_foreach(plan.del_services, i, sname)
	{
		char *path =
		    wf_xasprintf("/api/v1/namespaces/%s/services/%s", ns, json_string_value(sname));
		wf_err e2 = {0};
		if (wf__delete(p, path, NULL, &e2) == 0)
			wf__job_event(p, job, "Normal", "SuccessfulDeleteService",
				      "Deleted service: %s", json_string_value(sname));
		free(path);
	}
	json_t *ev;
	json_array_foreach(plan.events, i, ev)
	{
		wf__job_event(p, job, json_string_value(json_object_get(ev, "type")),
			      json_string_value(json_object_get(ev, "reason")), "%s",
			      json_string_value(json_object_get(ev, "message")));
	}
	if (plan.requeue_ms >= 0)
		*requeue_ms = plan.requeue_ms;
out:
	if (rc < 0 && rc != -WF_ECONFLICT)
		wf__ctl_log("pytorchjob %s: %s", key, err.msg);
	wf_ptj_plan_free(&plan);
	json_decref(job);
	return rc;
}

static void *wf__worker(void *arg)
{
	wf__ptjctl *p = arg;
	wf_informer *const need[] = {p->c->pods, p->jobs, wf__pg_informer(p->c), NULL};
	if (!wf__ctl_wait_synced(p->c, need))
		return NULL;
	char *key;
	while ((key = wf_workqueue_get(p->q))) {
		int64_t requeue = -1;
		if (wf__sync(p, key, &requeue) < 0) {
			wf_workqueue_add_rate_limited(p->q, key);
		} else {
			wf_workqueue_forget(p->q, key);
			if (requeue >= 0)
				wf_workqueue_add_after(p->q, key, requeue);
		}
		wf_workqueue_done(p->q, key);
	}
	return NULL;
}

static void wf__strip_job(json_t *job)
{
	json_object_del(json_object_get(job, "metadata"), "managedFields");
}

/* ---- lifecycle ----------------------------------------------------------------------------- */

void wf__ptj_register(wf_controllers *c)
{
	wf__ptjctl *p = wf_xcalloc(1, sizeof *p);
	p->c = c;
	p->q = wf_workqueue_new(500, 60000, NULL, NULL);
	p->jobs = wf_informer_new(c->client, WF__PTJ_PATH "/pytorchjobs");
	wf_informer_set_transform(p->jobs, wf__strip_job);
	pthread_mutex_init(&p->mu, NULL);
	p->written = json_object();
	p->made = json_object();
	c->ptj = p;
	wf_informer_handlers ph = {
	    .add = wf__on_pod_add, .update = wf__on_pod_update, .del = wf__on_pod_add, .ctx = p};
	wf_informer_add_handlers(c->pods, &ph);
	wf_informer_handlers jh = {
	    .add = wf__on_job, .update = wf__on_job_update, .del = wf__on_job, .ctx = p};
	wf_informer_add_handlers(p->jobs, &jh);
}

int wf__ptj_start(wf_controllers *c, wf_err *err)
{
	wf__ptjctl *p = c->ptj;
	int rc = wf_informer_start(p->jobs, err);
	if (rc < 0)
		return rc;
	return wf__workers_start(p->workers, WF__PTJ_WORKERS, wf__worker, p, &p->nworkers,
				 "pytorchjob controller", err);
}

void wf__ptj_stop(wf_controllers *c)
{
	wf__ptjctl *p = c->ptj;
	if (!p)
		return;
	wf_informer_stop(p->jobs);
	wf__workers_stop(p->q, p->workers, &p->nworkers);
}

void wf__ptj_free(wf_controllers *c)
{
	wf__ptjctl *p = c->ptj;
	if (!p)
		return;
	wf_informer_free(p->jobs);
	wf_workqueue_free(p->q);
	json_decref(p->written);
	json_decref(p->made);
	pthread_mutex_destroy(&p->mu);
	free(p);
	c->ptj = NULL;
}
