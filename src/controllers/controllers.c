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

/* Pods: what the Job controller, node lifecycle and the GC read. */
static void wf__pod_transform(json_t *pod)
{
	static const char *const top[] = {"apiVersion", "kind", "metadata", "spec", "status", NULL};
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
	static const char *const spec[] = {"nodeName", "tolerations", "restartPolicy", NULL};
	static const char *const status[] = {"phase",	   "reason",
					     "conditions", "containerStatuses",
					     "startTime",  "initContainerStatuses",
					     "podIP",	   NULL};
	static const char *const cs[] = {"name", "restartCount", "state", "ready", NULL};
	wf__keep(pod, top);
	json_t *m = json_object_get(pod, "metadata");
	wf__keep(m, md);
	/* Annotations can be large (last-applied-configuration): keep ours. */
	json_t *ann = json_object_get(m, "annotations");
	if (json_is_object(ann)) {
		json_t *ix =
		    json_incref(json_object_get(ann, "batch.kubernetes.io/job-completion-index"));
		json_t *grp = json_incref(json_object_get(ann, "scheduling.k8s.io/group-name"));
		json_object_clear(ann);
		if (ix)
			json_object_set_new(ann, "batch.kubernetes.io/job-completion-index", ix);
		if (grp)
			json_object_set_new(ann, "scheduling.k8s.io/group-name", grp);
	}
	wf__keep(json_object_get(pod, "spec"), spec);
	json_t *st = json_object_get(pod, "status");
	wf__keep(st, status);
	static const char *const lists[] = {"containerStatuses", "initContainerStatuses"};
	for (size_t l = 0; l < 2; l++) {
		size_t i;
		json_t *c;
		json_array_foreach(json_object_get(st, lists[l]), i, c)
		{
			wf__keep(c, cs);
		}
	}
}

static void wf__node_transform(json_t *node)
{
	static const char *const top[] = {"apiVersion", "kind", "metadata", "spec", "status", NULL};
	static const char *const status[] = {"conditions", NULL};
	wf__keep(node, top);
	json_t *md = json_object_get(node, "metadata");
	json_object_del(md, "managedFields");
	json_object_del(md, "annotations");
	wf__keep(json_object_get(node, "status"), status);
}

static void wf__meta_transform(json_t *obj)
{
	json_object_del(json_object_get(obj, "metadata"), "managedFields");
}

static const char *wf__idx_owner(const json_t *pod)
{
	return json_string_value(json_object_get(wf__controller_ref(pod), "uid"));
}

static const char *wf__idx_node(const json_t *pod)
{
	const char *n =
	    json_string_value(json_object_get(json_object_get(pod, "spec"), "nodeName"));
	return n && n[0] ? n : NULL;
}

/* ---- start / stop ---------------------------------------------------------------------- */

static void wf__free_all(wf_controllers *c)
{
	wf_informer_free(c->pods);
	wf_informer_free(c->jobs);
	wf_informer_free(c->nodes);
	wf_informer_free(c->leases);
	wf__job_free(c);
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
	c->pod_by_owner = wf_informer_add_index(c->pods, wf__idx_owner);
	c->pod_by_node = wf_informer_add_index(c->pods, wf__idx_node);
	c->jobs = wf_informer_new(c->client, "/apis/batch/v1/jobs");
	wf_informer_set_transform(c->jobs, wf__meta_transform);
	c->nodes = wf_informer_new(c->client, "/api/v1/nodes");
	wf_informer_set_transform(c->nodes, wf__node_transform);
	c->leases = wf_informer_new(
	    c->client, "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases");
	wf_informer_set_transform(c->leases, wf__meta_transform);

	wf__job_register(c);
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
