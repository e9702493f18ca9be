/*
 * podgroup.c - the PodGroup status controller, for the coscheduling kind
 * (scheduling.x-k8s.io/v1alpha1) and Volcano's (scheduling.volcano.sh/
 * v1beta1): phase, counts, occupiedBy and scheduleStartTime follow the pods
 * that name the group (training_plan.c decides; this file watches and
 * writes).
 *
 * Work items are "x:<ns>/<name>" (coscheduling) and "v:<ns>/<name>"
 * (Volcano). A pod event queues both keys of the group it names (a group
 * that does not exist is skipped at sync). The pods informer gets an index
 * by group name (not namespaced: the plan filters by namespace).
 *
 * Status writes are JSON merge patches of /status holding only the fields
 * that changed, without a resourceVersion precondition: the scheduler may
 * write conditions concurrently and neither side overwrites the other's
 * fields. A sync computes from the cache every time, so a lost write is
 * redone by the next event.
 */
#include "controllers/controllers_internal.h"
#include "controllers/training_plan.h"
#include "controllers/workqueue.h"
#include "lib/wf_mem.h"

#include <stdlib.h>
#include <string.h>

#define WF__PG_COMPONENT "podgroup-controller"

struct wf__pgctl {
	wf_controllers *c;
	wf_informer *pgs;  /* coscheduling PodGroups */
	wf_informer *vpgs; /* Volcano PodGroups */
	wf_workqueue *q;
	pthread_t thread;
	bool started;
	int idx_group; /* pods index: the group a pod names */
};

static const char *wf__idx_group(const json_t *pod)
{
	return wf_podgroup_of_pod(pod);
}

static void wf__enqueue_group(wf__pgctl *g, const json_t *pod)
{
	const char *name = wf_podgroup_of_pod(pod);
	const char *ns =
	    json_string_value(json_object_get(json_object_get(pod, "metadata"), "namespace"));
	if (!name || !ns)
		return;
	char *k = wf_xasprintf("x:%s/%s", ns, name);
	wf_workqueue_add(g->q, k);
	k[0] = 'v';
	wf_workqueue_add(g->q, k);
	free(k);
}

static void wf__on_pod_add(void *ctx, const json_t *pod)
{
	wf__enqueue_group(ctx, pod);
}

static void wf__on_pod_update(void *ctx, const json_t *old, const json_t *pod)
{
	const char *a = wf_podgroup_of_pod(old), *b = wf_podgroup_of_pod(pod);
	if (a && (!b || strcmp(a, b)))
		wf__enqueue_group(ctx, old);
	wf__enqueue_group(ctx, pod);
}

static void wf__enqueue_pg(wf__pgctl *g, const json_t *pg, char kind)
{
	char *k = wf_informer_key(pg);
	if (k) {
		char *key = wf_xasprintf("%c:%s", kind, k);
		wf_workqueue_add(g->q, key);
		free(key);
	}
	free(k);
}

static void wf__on_pg_add(void *ctx, const json_t *pg)
{
	wf__enqueue_pg(ctx, pg, 'x');
}

static void wf__on_pg_update(void *ctx, const json_t *old, const json_t *pg)
{
	wf__enqueue_pg(ctx, pg, 'x');
}

static void wf__on_vpg_add(void *ctx, const json_t *pg)
{
	wf__enqueue_pg(ctx, pg, 'v');
}

static void wf__on_vpg_update(void *ctx, const json_t *old, const json_t *pg)
{
	wf__enqueue_pg(ctx, pg, 'v');
}

/* Sync one group: 0, or a negative code to retry with back-off. */
static int wf__pg_sync(wf__pgctl *g, const char *key)
{
	bool volcano = key[0] == 'v';
	json_t *pg = wf_informer_get(volcano ? g->vpgs : g->pgs, key + 2);
	if (!pg)
		return 0;
	const json_t *md = json_object_get(pg, "metadata");
	const char *name = json_string_value(json_object_get(md, "name"));
	const char *ns = json_string_value(json_object_get(md, "namespace"));
	int rc = 0;
	json_t *pods = wf_informer_by_index(g->c->pods, g->idx_group, name);
	json_t *st = wf_podgroup_status_compute(pg, pods, wf__ctl_now_ms());
	const json_t *old = json_object_get(pg, "status");
	if (st && ns && (!json_is_object(old) || !json_equal(st, old))) {
		json_t *patch = json_object();
		json_object_set_new(patch, "status", wf__merge_diff(old, st));
		char *path =
		    wf_xasprintf("/apis/%s/namespaces/%s/podgroups/%s/status",
				 volcano ? WF_PG_VOLCANO_API_VERSION : WF_PG_API_VERSION, ns, name);
		wf_err err = {0};
		rc = wf__ctl_request(g->c, "PATCH", path, patch, "application/merge-patch+json",
				     NULL, &err);
		if (rc == -WF_ENOENT)
			rc = 0;
		else if (rc < 0)
			wf__ctl_log("podgroup %s: %s", key + 2, err.msg);
		free(path);
		json_decref(patch);
	}
	json_decref(st);
	json_decref(pods);
	json_decref(pg);
	return rc;
}

static void *wf__pg_worker(void *arg)
{
	wf__pgctl *g = arg;
	wf_informer *const need[] = {g->c->pods, g->pgs, g->vpgs, NULL};
	if (!wf__ctl_wait_synced(g->c, need))
		return NULL;
	char *key;
	while ((key = wf_workqueue_get(g->q))) {
		if (strlen(key) > 2 && wf__pg_sync(g, key) < 0)
			wf_workqueue_add_rate_limited(g->q, key);
		else
			wf_workqueue_forget(g->q, key);
		wf_workqueue_done(g->q, key);
	}
	return NULL;
}

static void wf__strip_meta(json_t *obj)
{
	json_t *md = json_object_get(obj, "metadata");
	json_object_del(md, "managedFields");
	json_object_del(md, "annotations");
}

/* ---- lifecycle ------------------------------------------------------------------------------ */

void wf__pg_register(wf_controllers *c)
{
	wf__pgctl *g = wf_xcalloc(1, sizeof *g);
	g->c = c;
	g->q = wf_workqueue_new(500, 30000, NULL, NULL);
	g->pgs = wf_informer_new(c->client, "/apis/" WF_PG_API_VERSION "/podgroups");
	wf_informer_set_transform(g->pgs, wf__strip_meta);
	g->vpgs = wf_informer_new(c->client, "/apis/" WF_PG_VOLCANO_API_VERSION "/podgroups");
	wf_informer_set_transform(g->vpgs, wf__strip_meta);
	g->idx_group = wf_informer_add_index(c->pods, wf__idx_group);
	c->pg = g;
	wf_informer_handlers ph = {
	    .add = wf__on_pod_add, .update = wf__on_pod_update, .del = wf__on_pod_add, .ctx = g};
	wf_informer_add_handlers(c->pods, &ph);
	wf_informer_handlers h = {.add = wf__on_pg_add, .update = wf__on_pg_update, .ctx = g};
	wf_informer_add_handlers(g->pgs, &h);
	wf_informer_handlers vh = {.add = wf__on_vpg_add, .update = wf__on_vpg_update, .ctx = g};
	wf_informer_add_handlers(g->vpgs, &vh);
}

wf_informer *wf__pg_informer(wf_controllers *c)
{
	return c->pg ? c->pg->pgs : NULL;
}

int wf__pg_start(wf_controllers *c, wf_err *err)
{
	wf__pgctl *g = c->pg;
	if (g->idx_group < 0)
		return wf_err_set(err, WF_EINVAL, "podgroup controller: no room for a pod index");
	int rc = wf_informer_start(g->pgs, err);
	if (rc == 0)
		rc = wf_informer_start(g->vpgs, err);
	if (rc < 0)
		return rc;
	if (pthread_create(&g->thread, NULL, wf__pg_worker, g) != 0)
		return wf_err_set(err, WF_EIO, "podgroup controller: cannot start a thread");
	g->started = true;
	return 0;
}

void wf__pg_stop(wf_controllers *c)
{
	wf__pgctl *g = c->pg;
	if (!g)
		return;
	wf_workqueue_shutdown(g->q);
	wf_informer_stop(g->pgs);
	wf_informer_stop(g->vpgs);
	if (g->started)
		pthread_join(g->thread, NULL);
	g->started = false;
}

void wf__pg_free(wf_controllers *c)
{
	wf__pgctl *g = c->pg;
	if (!g)
		return;
	wf_informer_free(g->pgs);
	wf_informer_free(g->vpgs);
	wf_workqueue_free(g->q);
	free(g);
	c->pg = NULL;
}
