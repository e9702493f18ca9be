/*
 * controllers.c - the controller manager: one API client, the shared
 * informers (pods, jobs, nodes, node leases), the start and stop of every
 * controller, and the helpers they share for talking to the API.
 *
 * Start order: informers are created, controllers register their handlers,
 * informers start, then the controllers' threads. Stop runs backwards:
 * the stop flag wakes every sleeper, controllers join, informers join.
 */
#include "controllers/controllers_internal.h"
#include "controllers/job_plan.h"
#include "controllers/training_plan.h"
#include "lib/wf_mem.h"
#include "lib/wf_time.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ---- helpers ------------------------------------------------------------------- */

void wf__ctl_log(const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	fprintf(stderr, "wharf: controllers: %s\n", line);
}

int64_t wf__ctl_now_ms(void)
{
	return wf_time_now_ms();
}

bool wf__ctl_sleep(wf_controllers *c, int64_t ms)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&c->mu);
	while (!c->stop) {
		if (pthread_cond_timedwait(&c->cond, &c->mu, &ts) != 0)
			break;
	}
	bool go = !c->stop;
	pthread_mutex_unlock(&c->mu);
	return go;
}

bool wf__ctl_wait_synced(wf_controllers *c, wf_informer *const *infs)
{
	for (;;) {
		bool all = true;
		for (size_t i = 0; infs[i]; i++)
			all = all && wf_informer_synced(infs[i]);
		if (all)
			return true;
		if (!wf__ctl_sleep(c, 20))
			return false;
	}
}

int wf__ctl_request(wf_controllers *c, const char *method, const char *path, const json_t *body,
		    const char *content_type, json_t **resp, wf_err *err)
{
	long code = 0;
	json_t *out = NULL;
	int rc = wf_client_do(c->client, method, path, body, content_type, &code, &out, err);
	if (rc < 0)
		return rc;
	if (code >= 200 && code < 300) {
		if (resp)
			*resp = out;
		else
			json_decref(out);
		return 0;
	}
	const char *msg = json_string_value(json_object_get(out, "message"));
	int ecode = code == 404	  ? WF_ENOENT
		    : code == 409 ? WF_ECONFLICT
		    : code >= 500 ? WF_EIO
				  : WF_EINVAL;
	rc = wf_err_set(err, ecode, "%s %s: %ld %s", method, path, code, msg ? msg : "");
	json_decref(out);
	return rc;
}

void wf__ctl_event(wf_controllers *c, const json_t *obj, const char *api_version, const char *kind,
		   const char *type, const char *reason, const char *message, const char *component)
{
	json_t *md = json_object_get(obj, "metadata");
	const char *name = json_string_value(json_object_get(md, "name"));
	const char *ns = json_string_value(json_object_get(md, "namespace"));
	const char *uid = json_string_value(json_object_get(md, "uid"));
	if (!name)
		return;
	const char *evns = ns && ns[0] ? ns : "default";
	char ts[32];
	wf_time_rfc3339(time(NULL), ts);
	char gen[300];
	snprintf(gen, sizeof gen, "%.200s.", name);
	json_t *ev = json_pack("{s:s,s:s,s:{s:s,s:s},s:{s:s,s:s,s:s,s:s},s:s,s:s,s:s,s:{s:s},"
			       "s:s,s:s,s:i,s:s,s:s}",
			       "apiVersion", "v1", "kind", "Event", "metadata", "generateName", gen,
			       "namespace", evns, "involvedObject", "apiVersion", api_version,
			       "kind", kind, "name", name, "uid", uid ? uid : "", "reason", reason,
			       "message", message, "type", type, "source", "component", component,
			       "firstTimestamp", ts, "lastTimestamp", ts, "count", 1,
			       "reportingComponent", component, "reportingInstance", "wharf");
	if (!ev)
		return;
	if (ns && ns[0])
		json_object_set_new(json_object_get(ev, "involvedObject"), "namespace",
				    json_string(ns));
	char *path = wf_xasprintf("/api/v1/namespaces/%s/events", evns);
	wf__ctl_request(c, "POST", path, ev, NULL, NULL, NULL);
	free(path);
	json_decref(ev);
}

json_t *wf__merge_diff(const json_t *old, const json_t *neu)
{
	json_t *patch = json_object();
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)old, key, v)
	{
		if (!json_object_get(neu, key))
			json_object_set_new(patch, key, json_null());
	}
	json_object_foreach((json_t *)neu, key, v)
	{
		json_t *ov = json_object_get(old, key);
		if (ov && json_equal(ov, v))
			continue;
		if (json_is_object(ov) && json_is_object(v))
			json_object_set_new(patch, key, wf__merge_diff(ov, v));
		else
			json_object_set_new(patch, key, json_deep_copy(v));
	}
	return patch;
}

const json_t *wf__controller_ref(const json_t *obj)
{
	size_t i;
	json_t *ref;
	json_array_foreach(json_object_get(json_object_get(obj, "metadata"), "ownerReferences"), i,
			   ref)
	{
		if (json_is_true(json_object_get(ref, "controller")))
			return ref;
	}
	return NULL;
}

bool wf__has_finalizer(const json_t *obj, const char *name)
{
	size_t i;
	json_t *f;
	json_array_foreach(json_object_get(json_object_get(obj, "metadata"), "finalizers"), i, f)
	{
		if (json_is_string(f) && !strcmp(json_string_value(f), name))
			return true;
	}
	return false;
}

bool wf__deleting(const json_t *obj)
{
	json_t *d = json_object_get(json_object_get(obj, "metadata"), "deletionTimestamp");
	return d && !json_is_null(d);
}

/* ---- informer transforms and indexes -------------------------------------------------- */

/* Keep only the named members of obj. */
static void wf__keep(json_t *obj, const char *const *keep)
{
	if (!json_is_object(obj))
		return;
	const char *key;
	json_t *v;
	void *tmp;
	json_object_foreach_safe(obj, tmp, key, v)
	{
		bool kept = false;
		for (size_t i = 0; keep[i] && !kept; i++)
			kept = !strcmp(key, keep[i]);
		if (!kept)
			json_object_del(obj, key);
	}
}

/* Keep only the named members of obj's member `key` (an object). */
static void wf__keep_in(json_t *obj, const char *key, const char *const *keep)
{
	wf__keep(json_object_get(obj, key), keep);
}

/*
 * Pods: only what the Job, PyTorchJob and PodGroup controllers and the GC
 * read (the planners in job_plan.c and training_plan.c): identity, owners,
 * finalizers, the labels and annotations that carry an index or a group,
 * the node, phase, start, conditions (type, status, time), and per
 * container the restart count and how it terminated. Everything else -
 * the spec above all - is the API's to keep.
 */
static void wf__pod_transform(json_t *pod)
{
	static const char *const top[] = {"metadata", "spec", "status", NULL};
	static const char *const md[] = {"name",
					 "namespace",
					 "uid",
					 "resourceVersion",
					 "creationTimestamp",
					 "deletionTimestamp",
					 "labels",
					 "annotations",
					 "ownerReferences",
					 "finalizers",
					 NULL};
	static const char *const labels[] = {WF_JOB_INDEX_KEY, WF_PG_LABEL,
					     WF_PTJ_LABEL_REPLICA_TYPE, WF_PTJ_LABEL_REPLICA_INDEX,
					     NULL};
	static const char *const ann[] = {WF_JOB_INDEX_KEY, WF_PG_VOLCANO_ANNOTATION, NULL};
	static const char *const ref[] = {"apiVersion", "kind", "name", "uid", "controller", NULL};
	static const char *const spec[] = {"nodeName", NULL};
	static const char *const status[] = {"phase",	  "conditions",
					     "startTime", "containerStatuses",
					     "podIP",	  "initContainerStatuses",
					     NULL};
	static const char *const cond[] = {"type", "status", "lastTransitionTime", NULL};
	static const char *const cs[] = {"name", "restartCount", "state", NULL};
	static const char *const state[] = {"terminated", NULL};
	static const char *const term[] = {"exitCode", "finishedAt", NULL};
	wf__keep(pod, top);
	json_t *m = json_object_get(pod, "metadata");
	wf__keep(m, md);
	wf__keep_in(m, "labels", labels);
	wf__keep_in(m, "annotations", ann);
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(m, "ownerReferences"), i, v)
	{
		wf__keep(v, ref);
	}
	wf__keep_in(pod, "spec", spec);
	json_t *st = json_object_get(pod, "status");
	wf__keep(st, status);
	json_array_foreach(json_object_get(st, "conditions"), i, v)
	{
		wf__keep(v, cond);
	}
	static const char *const lists[] = {"containerStatuses", "initContainerStatuses"};
	for (size_t l = 0; l < 2; l++) {
		json_array_foreach(json_object_get(st, lists[l]), i, v)
		{
			wf__keep(v, cs);
			wf__keep_in(v, "state", state);
			wf__keep_in(json_object_get(v, "state"), "terminated", term);
		}
	}
}

/*
 * Which pods the cache holds: those a controller may ask for - pods with
 * owners (Job, PyTorchJob, the GC), with the Job tracking finalizer
 * (orphans to release) or naming a PodGroup. Node lifecycle asks the API
 * for a node's pods when it evicts, so plain pods cost nothing here.
 */
static bool wf__pod_cached(const json_t *pod)
{
	const json_t *md = json_object_get(pod, "metadata");
	return json_array_size(json_object_get(md, "ownerReferences")) > 0 ||
	       wf__has_finalizer(pod, WF_JOB_TRACKING_FINALIZER) || wf_podgroup_of_pod(pod);
}

/* Nodes: what node lifecycle reads (identity, taints, conditions). */
static void wf__node_transform(json_t *node)
{
	static const char *const top[] = {"metadata", "spec", "status", NULL};
	static const char *const md[] = {"name", "uid", "resourceVersion", NULL};
	static const char *const spec[] = {"taints", NULL};
	static const char *const status[] = {"conditions", NULL};
	wf__keep(node, top);
	wf__keep_in(node, "metadata", md);
	wf__keep_in(node, "spec", spec);
	wf__keep_in(node, "status", status);
}

/* Node leases: the renewal time is the heartbeat. */
static void wf__lease_transform(json_t *lease)
{
	static const char *const top[] = {"metadata", "spec", NULL};
	static const char *const md[] = {"name", "namespace", "uid", "resourceVersion", NULL};
	static const char *const spec[] = {"renewTime", NULL};
	wf__keep(lease, top);
	wf__keep_in(lease, "metadata", md);
	wf__keep_in(lease, "spec", spec);
}

static void wf__job_transform(json_t *obj)
{
	json_t *md = json_object_get(obj, "metadata");
	json_object_del(md, "managedFields");
	json_object_del(json_object_get(md, "annotations"),
			"kubectl.kubernetes.io/last-applied-configuration");
}

static const char *wf__idx_owner(const json_t *pod)
{
	return json_string_value(json_object_get(wf__controller_ref(pod), "uid"));
}

/* ---- start / stop ---------------------------------------------------------------------- */

static void wf__free_all(wf_controllers *c)
{
	wf_informer_free(c->pods);
	wf_informer_free(c->jobs);
	wf_informer_free(c->nodes);
	wf_informer_free(c->leases);
	wf__job_free(c);
	wf__nodelc_free(c);
	wf__ptj_free(c);
	wf__pg_free(c);
	wf_client_free(c->client);
	pthread_cond_destroy(&c->cond);
	pthread_mutex_destroy(&c->mu);
	free(c);
}

static void wf__signal_stop(wf_controllers *c)
{
	pthread_mutex_lock(&c->mu);
	c->stop = true;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->mu);
	wf_informer_stop(c->pods);
	wf_informer_stop(c->jobs);
	wf_informer_stop(c->nodes);
	wf_informer_stop(c->leases);
}

int wf_controllers_start(const wf_controllers_options *opts, wf_controllers **out, wf_err *err)
{
	if (!opts || !opts->server_url || !opts->server_url[0])
		return wf_err_set(err, WF_EINVAL, "controllers: no API server URL");
	wf_controllers *c = wf_xcalloc(1, sizeof *c);
	c->o = *opts;
	if (c->o.node_monitor_grace_s <= 0)
		c->o.node_monitor_grace_s = 40;
	if (c->o.pod_eviction_timeout_s <= 0)
		c->o.pod_eviction_timeout_s = 300;
	if (c->o.gc_interval_s <= 0)
		c->o.gc_interval_s = 30;
	if (c->o.job_workers <= 0)
		c->o.job_workers = 4;
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->cond, NULL);
	c->client = wf_client_new(opts->server_url);
	c->o.server_url = wf_client_url(c->client); /* the caller's copy may go */

	c->pods = wf_informer_new(c->client, "/api/v1/pods");
	wf_informer_set_transform(c->pods, wf__pod_transform);
	wf_informer_set_filter(c->pods, wf__pod_cached);
	c->pod_by_owner = wf_informer_add_index(c->pods, wf__idx_owner);
	c->jobs = wf_informer_new(c->client, "/apis/batch/v1/jobs");
	wf_informer_set_transform(c->jobs, wf__job_transform);
	c->nodes = wf_informer_new(c->client, "/api/v1/nodes");
	wf_informer_set_transform(c->nodes, wf__node_transform);
	c->leases = wf_informer_new(
	    c->client, "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases");
	wf_informer_set_transform(c->leases, wf__lease_transform);

	wf__job_register(c);
	wf__nodelc_register(c);
	wf__pg_register(c);
	wf__ptj_register(c);
	int rc = 0;
	wf_informer *const all[] = {c->pods, c->jobs, c->nodes, c->leases};
	for (size_t i = 0; i < 4 && rc == 0; i++)
		rc = wf_informer_start(all[i], err);
	if (rc == 0)
		rc = wf__job_start(c, err);
	if (rc == 0)
		rc = wf__nodelc_start(c, err);
	if (rc == 0)
		rc = wf__gc_start(c, err);
	if (rc == 0)
		rc = wf__pg_start(c, err);
	if (rc == 0)
		rc = wf__ptj_start(c, err);
	if (rc == 0 && !c->o.no_scheduler)
		rc = wf__sched_start(c, err);
	if (rc < 0) {
		wf__signal_stop(c);
		wf__sched_stop(c);
		wf__ptj_stop(c);
		wf__pg_stop(c);
		wf__gc_stop(c);
		wf__nodelc_stop(c);
		wf__job_stop(c);
		wf__free_all(c);
		return rc;
	}
	*out = c;
	return 0;
}

void wf_controllers_stop(wf_controllers *c)
{
	if (!c)
		return;
	wf__signal_stop(c);
	wf__sched_stop(c);
	wf__ptj_stop(c);
	wf__pg_stop(c);
	wf__gc_stop(c);
	wf__nodelc_stop(c);
	wf__job_stop(c);
	wf__free_all(c);
}

/* ---- worker pools ----------------------------------------------------------------- */

int wf__workers_start(pthread_t *threads, int n, void *(*fn)(void *), void *arg, int *started,
		      const char *who, wf_err *err)
{
	for (int i = 0; i < n; i++) {
		if (pthread_create(&threads[i], NULL, fn, arg) != 0)
			return wf_err_set(err, WF_EIO, "%s: cannot start a thread", who);
		(*started)++;
	}
	return 0;
}

void wf__workers_stop(wf_workqueue *q, pthread_t *threads, int *started)
{
	wf_workqueue_shutdown(q);
	for (int i = 0; i < *started; i++)
		pthread_join(threads[i], NULL);
	*started = 0;
}
