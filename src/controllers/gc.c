/*
 * gc.c - the garbage collector's periodic sweep: pods whose owners are all
 * gone are deleted (propagationPolicy Background), as Kubernetes' garbage
 * collector does for dangling ownerReferences.
 *
 * Deleting an owner already cascades synchronously in the API server
 * (src/api/objects.c); the sweep catches what that misses: owners removed
 * while the server was down, dependents created after their owner was
 * deleted, races. An Orphan delete removes the ownerReference, so orphaned
 * pods are not touched.
 *
 * The sweep reads the pod cache (which holds every pod with owners), one
 * pod at a time; an owner counts as gone only when the API
 * itself (not a cache) answers 404 for it, or returns an object with
 * another uid. Owners of kinds the server does not serve are left alone.
 * Each sweep remembers its answers per owner uid, so a Job with 1,000 pods
 * costs one lookup at most (none when the Job cache has it).
 */
#include "controllers/controllers_internal.h"
#include "lib/wf_mem.h"
#include "registry/registry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct wf__gc {
	wf_controllers *c;
	pthread_t thread;
	bool started;
};

typedef enum { WF__OWNER_ALIVE, WF__OWNER_GONE, WF__OWNER_UNKNOWN } wf__owner_state;

static const char *wf__str(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* Look the owner up through the API. */
static wf__owner_state wf__lookup(wf_controllers *c, const json_t *ref, const char *ns)
{
	const char *av = wf__str(ref, "apiVersion"), *kind = wf__str(ref, "kind");
	const char *name = wf__str(ref, "name"), *uid = wf__str(ref, "uid");
	if (!av || !kind || !name || !uid || !name[0])
		return WF__OWNER_UNKNOWN;
	const char *slash = strchr(av, '/');
	char group[256] = "";
	if (slash && (size_t)(slash - av) < sizeof group)
		snprintf(group, sizeof group, "%.*s", (int)(slash - av), av);
	const wf_kind *k = wf_registry_find_kind(group, kind);
	if (!k)
		return WF__OWNER_UNKNOWN;
	/* Jobs are cached: a hit with the same uid settles it. */
	if (!strcmp(group, "batch") && !strcmp(kind, "Job")) {
		json_t *job = wf_informer_get_nn(c->jobs, ns, name);
		const char *juid = wf__str(json_object_get(job, "metadata"), "uid");
		bool alive = juid && !strcmp(juid, uid);
		json_decref(job);
		if (alive)
			return WF__OWNER_ALIVE;
	}
	char *en = wf_client_escape(name);
	char *path;
	if (k->namespaced)
		path = wf_xasprintf("%s/%s/namespaces/%s/%s/%s", k->group[0] ? "/apis" : "/api",
				    wf_kind_api_version(k), ns ? ns : "", k->resource, en);
	else
		path = wf_xasprintf("%s/%s/%s/%s", k->group[0] ? "/apis" : "/api",
				    wf_kind_api_version(k), k->resource, en);
	free(en);
	json_t *obj = NULL;
	int rc = wf_client_get(c->client, path, &obj, NULL);
	free(path);
	wf__owner_state st = WF__OWNER_UNKNOWN;
	if (rc == -WF_ENOENT) {
		st = WF__OWNER_GONE;
	} else if (rc == 0) {
		const char *ouid = wf__str(json_object_get(obj, "metadata"), "uid");
		st = ouid && !strcmp(ouid, uid) ? WF__OWNER_ALIVE : WF__OWNER_GONE;
	}
	json_decref(obj);
	return st;
}

/* Delete pod if all its owners are gone (known: owner uid -> state). */
static void wf__sweep_pod(wf_controllers *c, const json_t *pod, json_t *known)
{
	const json_t *md = json_object_get(pod, "metadata");
	const json_t *refs = json_object_get(md, "ownerReferences");
	if (!json_array_size(refs) || wf__deleting(pod))
		return;
	const char *ns = wf__str(md, "namespace");
	size_t r;
	json_t *ref;
	json_array_foreach(refs, r, ref)
	{
		const char *uid = wf__str(ref, "uid");
		json_t *st = uid ? json_object_get(known, uid) : NULL;
		wf__owner_state s;
		if (st) {
			s = (wf__owner_state)json_integer_value(st);
		} else {
			s = wf__lookup(c, ref, ns);
			if (uid)
				json_object_set_new_nocheck(known, uid, json_integer(s));
		}
		if (s != WF__OWNER_GONE)
			return;
	}
	const char *name = wf__str(md, "name"), *uid = wf__str(md, "uid");
	if (!ns || !name || !uid)
		return;
	char *path = wf_xasprintf("/api/v1/namespaces/%s/pods/%s", ns, name);
	json_t *opts =
	    json_pack("{s:s,s:s,s:s,s:{s:s}}", "kind", "DeleteOptions", "apiVersion", "v1",
		      "propagationPolicy", "Background", "preconditions", "uid", uid);
	wf_err err = {0};
	int rc = wf__ctl_request(c, "DELETE", path, opts, NULL, NULL, &err);
	if (rc == 0)
		wf__ctl_log("garbage collector: deleted pod %s/%s, whose owners are gone", ns,
			    name);
	else if (rc != -WF_ENOENT && rc != -WF_ECONFLICT)
		wf__ctl_log("garbage collector: %s", err.msg);
	json_decref(opts);
	free(path);
}

static void wf__sweep(wf__gc *g)
{
	wf_controllers *c = g->c;
	json_t *known = json_object(); /* owner uid -> state, for this sweep */
	size_t n = 0;
	char **keys = wf_informer_keys(c->pods, &n);
	for (size_t i = 0; i < n && !c->stop; i++) {
		json_t *pod = wf_informer_get(c->pods, keys[i]);
		if (pod)
			wf__sweep_pod(c, pod, known);
		json_decref(pod);
	}
	wf_informer_keys_free(keys, n);
	json_decref(known);
}

static void *wf__gc_main(void *arg)
{
	wf__gc *g = arg;
	wf_informer *const need[] = {g->c->pods, g->c->jobs, NULL};
	if (!wf__ctl_wait_synced(g->c, need))
		return NULL;
	while (wf__ctl_sleep(g->c, (int64_t)g->c->o.gc_interval_s * 1000))
		wf__sweep(g);
	return NULL;
}

int wf__gc_start(wf_controllers *c, wf_err *err)
{
	wf__gc *g = wf_xcalloc(1, sizeof *g);
	g->c = c;
	c->gc = g;
	if (pthread_create(&g->thread, NULL, wf__gc_main, g) != 0)
		return wf_err_set(err, WF_EIO, "garbage collector: cannot start a thread");
	g->started = true;
	return 0;
}

void wf__gc_stop(wf_controllers *c)
{
	wf__gc *g = c->gc;
	if (!g)
		return;
	if (g->started)
		pthread_join(g->thread, NULL);
	free(g);
	c->gc = NULL;
}
