/*
 * nodelifecycle.c - node lifecycle: notice nodes whose agent went silent,
 * mark them, taint them, and evict their pods so controllers replace them.
 *
 * Every monitor period the controller looks at each node that has ever
 * posted a Ready condition (nodes created by hand and never run by an
 * agent are left alone). A heartbeat is a change of the node's Lease
 * (kube-node-lease/<node>) renewTime or of the Ready condition's
 * lastHeartbeatTime, timed on this controller's own clock when it is
 * observed, as kube-controller-manager does (no trust in remote clocks).
 *  - No heartbeat for node_monitor_grace_s: the kubelet conditions (Ready,
 *    MemoryPressure, DiskPressure, PIDPressure) become Unknown, reason
 *    NodeStatusUnknown, "Kubelet stopped posting node status.".
 *  - Ready Unknown: taints node.kubernetes.io/unreachable NoSchedule and
 *    NoExecute; Ready False: node.kubernetes.io/not-ready likewise; Ready
 *    True (the agent posted again): both removed.
 *  - A pod on a node tainted NoExecute by us is evicted pod_eviction_timeout_s
 *    after the taint's timeAdded, or after its own tolerationSeconds when it
 *    tolerates the taint (never, when it tolerates it without a limit).
 *    Eviction marks the pod Failed (reason NodeLost, condition
 *    DisruptionTarget) and force-deletes it (grace 0), since no agent is
 *    there to confirm a graceful deletion.
 *
 * The pod cache holds only pods some controller owns (controllers.c), so a
 * node's pods are listed from the API (field selector spec.nodeName) when
 * eviction is due: the first time the node is tainted, when a pod on it
 * changes (the pod handlers mark the node), when the earliest toleration
 * of the pods seen runs out, when an eviction is to be retried, and once a
 * minute besides. A dead node whose pods are gone or tolerate it costs
 * nothing more.
 */
#include "controllers/controllers_internal.h"
#include "lib/wf_hash.h"
#include "lib/wf_smap.h"
#include "lib/wf_mem.h"
#include "lib/wf_time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WF__TAINT_UNREACHABLE "node.kubernetes.io/unreachable"
#define WF__TAINT_NOT_READY "node.kubernetes.io/not-ready"
#define WF__EVICT_RETRY_MS 10000
#define WF__RELIST_MS 60000
#define WF__LIST_PAGE 500
#define WF__COMPONENT "node-controller"

/* What the monitor remembers of a node (its thread only). */
typedef struct wf__nseen {
	int64_t probe;	   /* when the last heartbeat was observed (our clock) */
	uint64_t renew_h;  /* hash of the Lease's renewTime, when observed */
	uint64_t hb_h;	   /* hash of Ready's lastHeartbeatTime, when observed */
	int64_t next_list; /* evicting: when to list the node's pods again */
	uint32_t pass;	   /* the monitor pass that last saw the node */
} wf__nseen;

/* A node whose pods are being evicted (under mu). */
typedef struct wf__nwatch {
	bool dirty; /* a pod on it changed since its pods were listed */
	uint32_t pass;
} wf__nwatch;

struct wf__nodelc {
	wf_controllers *c;
	pthread_t thread;
	bool started;
	uint32_t pass;
	wf_smap seen;	   /* node -> wf__nseen */
	wf_smap evicting; /* pod uid -> int64_t ms of the last eviction attempt */
	pthread_mutex_t mu;
	wf_smap watch; /* node -> wf__nwatch; with mu */
};

static uint64_t wf__hash(const char *s)
{
	return s ? wf_fnv1a64(WF_FNV64_BASIS, s, strlen(s)) : 0;
}

static const char *wf__str(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static json_t *wf__cond(const json_t *node, const char *type)
{
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(json_object_get(node, "status"), "conditions"), i, c)
	{
		const char *t = wf__str(c, "type");
		if (t && !strcmp(t, type))
			return c;
	}
	return NULL;
}

/* ---- conditions ------------------------------------------------------------------------ */

/* Set the kubelet's conditions to Unknown. Returns the updated node, or NULL. */
static json_t *wf__mark_unknown(wf__nodelc *n, const json_t *node)
{
	static const char *const kubelet[] = {"Ready", "MemoryPressure", "DiskPressure",
					      "PIDPressure"};
	char now[32];
	wf_time_rfc3339(time(NULL), now);
	json_t *conds =
	    json_deep_copy(json_object_get(json_object_get(node, "status"), "conditions"));
	size_t i;
	json_t *c;
	json_array_foreach(conds, i, c)
	{
		const char *t = wf__str(c, "type");
		const char *s = wf__str(c, "status");
		bool ours = false;
		for (size_t k = 0; k < 4 && t; k++)
			ours = ours || !strcmp(t, kubelet[k]);
		if (!ours || (s && !strcmp(s, "Unknown")))
			continue;
		json_object_set_new(c, "status", json_string("Unknown"));
		json_object_set_new(c, "reason", json_string("NodeStatusUnknown"));
		json_object_set_new(c, "message",
				    json_string("Kubelet stopped posting node status."));
		json_object_set_new(c, "lastTransitionTime", json_string(now));
	}
	const json_t *md = json_object_get(node, "metadata");
	json_t *patch =
	    json_pack("{s:{s:O},s:{s:o}}", "metadata", "resourceVersion",
		      json_object_get(md, "resourceVersion"), "status", "conditions", conds);
	char *path = wf_xasprintf("/api/v1/nodes/%s/status", wf__str(md, "name"));
	json_t *resp = NULL;
	wf_err err = {0};
	int rc = wf__ctl_request(n->c, "PATCH", path, patch, "application/merge-patch+json", &resp,
				 &err);
	json_decref(patch);
	free(path);
	if (rc < 0) {
		if (rc != -WF_ECONFLICT)
			wf__ctl_log("marking node %s NotReady: %s", wf__str(md, "name"), err.msg);
		return NULL;
	}
	char msg[400];
	snprintf(msg, sizeof msg, "Node %s status is now: NodeNotReady", wf__str(md, "name"));
	wf__ctl_event(n->c, node, "v1", "Node", "Normal", "NodeNotReady", msg, WF__COMPONENT);
	return resp;
}

/* ---- taints --------------------------------------------------------------------------- */

static bool wf__our_taint(const json_t *t)
{
	const char *k = wf__str(t, "key");
	return k && (!strcmp(k, WF__TAINT_UNREACHABLE) || !strcmp(k, WF__TAINT_NOT_READY));
}

static const json_t *wf__find_taint(const json_t *node, const char *key, const char *effect)
{
	size_t i;
	json_t *t;
	json_array_foreach(json_object_get(json_object_get(node, "spec"), "taints"), i, t)
	{
		const char *k = wf__str(t, "key"), *e = wf__str(t, "effect");
		if (k && e && !strcmp(k, key) && !strcmp(e, effect))
			return t;
	}
	return NULL;
}

/* Make our taints match the Ready status (key NULL: none of ours). Returns the
 * updated node (new reference) or NULL when nothing was written. */
static json_t *wf__ensure_taints(wf__nodelc *n, const json_t *node, const char *key)
{
	const json_t *spec = json_object_get(node, "spec");
	json_t *want = json_array();
	size_t i;
	json_t *t;
	json_array_foreach(json_object_get(spec, "taints"), i, t)
	{
		if (!wf__our_taint(t))
			json_array_append(want, t);
	}
	bool same = true;
	if (key) {
		char now[32];
		wf_time_rfc3339(time(NULL), now);
		const json_t *ns = wf__find_taint(node, key, "NoSchedule");
		const json_t *ne = wf__find_taint(node, key, "NoExecute");
		same = ns && ne;
		json_array_append_new(
		    want, ns ? json_deep_copy(ns)
			     : json_pack("{s:s,s:s}", "key", key, "effect", "NoSchedule"));
		json_array_append_new(want, ne ? json_deep_copy(ne)
					       : json_pack("{s:s,s:s,s:s}", "key", key, "effect",
							   "NoExecute", "timeAdded", now));
	}
	/* Same when every taint we want is there and nothing else of ours is. */
	size_t ours = 0;
	json_array_foreach(json_object_get(spec, "taints"), i, t)
	{
		ours += wf__our_taint(t);
	}
	if (same && ours == (key ? 2u : 0u)) {
		json_decref(want);
		return NULL;
	}
	const json_t *md = json_object_get(node, "metadata");
	json_t *patch = json_pack("{s:{s:O},s:{s:o}}", "metadata", "resourceVersion",
				  json_object_get(md, "resourceVersion"), "spec", "taints",
				  json_array_size(want) ? want : json_null());
	if (!json_array_size(want))
		json_decref(want);
	char *path = wf_xasprintf("/api/v1/nodes/%s", wf__str(md, "name"));
	json_t *resp = NULL;
	wf_err err = {0};
	int rc = wf__ctl_request(n->c, "PATCH", path, patch, "application/merge-patch+json", &resp,
				 &err);
	if (rc < 0 && rc != -WF_ECONFLICT)
		wf__ctl_log("tainting node %s: %s", wf__str(md, "name"), err.msg);
	json_decref(patch);
	free(path);
	return rc < 0 ? NULL : resp;
}

/* ---- eviction ---------------------------------------------------------------------------- */

/* Seconds the pod may stay on a node tainted key:NoExecute; -1: forever. */
static int64_t wf__tolerated_for(const json_t *pod, const char *key, int64_t dflt)
{
	size_t i;
	json_t *tol;
	json_array_foreach(json_object_get(json_object_get(pod, "spec"), "tolerations"), i, tol)
	{
		const char *k = wf__str(tol, "key"), *op = wf__str(tol, "operator");
		const char *e = wf__str(tol, "effect"), *v = wf__str(tol, "value");
		bool exists = op && !strcmp(op, "Exists");
		bool key_ok = (k && !strcmp(k, key)) || ((!k || !k[0]) && exists);
		bool val_ok = exists || !v || !v[0];
		bool eff_ok = !e || !e[0] || !strcmp(e, "NoExecute");
		if (!key_ok || !val_ok || !eff_ok)
			continue;
		json_t *secs = json_object_get(tol, "tolerationSeconds");
		if (!json_is_integer(secs))
			return -1;
		return json_integer_value(secs) > 0 ? json_integer_value(secs) : 0;
	}
	return dflt;
}

static void wf__evict(wf__nodelc *n, const json_t *pod, const char *node)
{
	const json_t *md = json_object_get(pod, "metadata");
	const char *ns = wf__str(md, "namespace"), *name = wf__str(md, "name");
	const char *uid = wf__str(md, "uid");
	if (!ns || !name || !uid)
		return;
	int64_t now = wf__ctl_now_ms();
	int64_t *last = wf_smap_get(&n->evicting, uid);
	if (last && now - *last < WF__EVICT_RETRY_MS)
		return;
	if (!last)
		last = wf_smap_add(&n->evicting, uid, sizeof *last);
	*last = now;
	char *path = wf_xasprintf("/api/v1/namespaces/%s/pods/%s", ns, name);
	const char *phase = wf__str(json_object_get(pod, "status"), "phase");
	bool terminal = phase && (!strcmp(phase, "Succeeded") || !strcmp(phase, "Failed"));
	wf_err err = {0};
	int rc = 0;
	if (!terminal) {
		char ts[32], msg[600];
		wf_time_rfc3339(time(NULL), ts);
		snprintf(msg, sizeof msg, "Node %s which was running pod %s is unresponsive", node,
			 name);
		json_t *conds = json_array();
		size_t i;
		json_t *c;
		json_array_foreach(json_object_get(json_object_get(pod, "status"), "conditions"), i,
				   c)
		{
			const char *t = wf__str(c, "type");
			if (t && !strcmp(t, "DisruptionTarget"))
				continue;
			json_t *cc = json_deep_copy(c);
			if (t && !strcmp(t, "Ready")) {
				json_object_set_new(cc, "status", json_string("False"));
				json_object_set_new(cc, "lastTransitionTime", json_string(ts));
			}
			json_array_append_new(conds, cc);
		}
		json_array_append_new(
		    conds, json_pack("{s:s,s:s,s:s,s:s,s:s}", "type", "DisruptionTarget", "status",
				     "True", "reason", "DeletionByTaintManager", "message",
				     "Taint manager: deleting due to NoExecute taint",
				     "lastTransitionTime", ts));
		json_t *patch =
		    json_pack("{s:{s:s,s:s,s:s,s:o}}", "status", "phase", "Failed", "reason",
			      "NodeLost", "message", msg, "conditions", conds);
		char *spath = wf_xasprintf("%s/status", path);
		rc = wf__ctl_request(n->c, "PATCH", spath, patch, "application/merge-patch+json",
				     NULL, &err);
		free(spath);
		json_decref(patch);
		char ev[600];
		snprintf(ev, sizeof ev, "Marking for deletion Pod %s/%s", ns, name);
		if (rc == 0)
			wf__ctl_event(n->c, pod, "v1", "Pod", "Normal", "TaintManagerEviction", ev,
				      WF__COMPONENT);
	}
	if (rc == 0) {
		json_t *opts =
		    json_pack("{s:s,s:s,s:i,s:{s:s}}", "kind", "DeleteOptions", "apiVersion", "v1",
			      "gracePeriodSeconds", 0, "preconditions", "uid", uid);
		rc = wf__ctl_request(n->c, "DELETE", path, opts, NULL, NULL, &err);
		json_decref(opts);
	}
	if (rc < 0 && rc != -WF_ENOENT && rc != -WF_ECONFLICT)
		wf__ctl_log("evicting pod %s/%s: %s", ns, name, err.msg);
	free(path);
}

/* Evict what is due of the pods in one page of a node's pod list; lowers
 * *next to when the next pod comes due. */
static void wf__evict_page(wf__nodelc *n, const json_t *items, const char *node, const char *key,
			   time_t added, int64_t now_ms, int64_t *next)
{
	size_t i;
	json_t *pod;
	json_array_foreach(items, i, pod)
	{
		const char *pnode = wf__str(json_object_get(pod, "spec"), "nodeName");
		if (!pnode || strcmp(pnode, node))
			continue; /* (a server that ignored the selector) */
		const char *phase = wf__str(json_object_get(pod, "status"), "phase");
		bool terminal = phase && (!strcmp(phase, "Succeeded") || !strcmp(phase, "Failed"));
		if (terminal && !wf__deleting(pod))
			continue; /* finished pods stay for their owners to read */
		int64_t after = wf__tolerated_for(pod, key, n->c->o.pod_eviction_timeout_s);
		if (after < 0)
			continue;
		int64_t due_ms = ((int64_t)added + after) * 1000;
		if (now_ms < due_ms) {
			if (due_ms < *next)
				*next = due_ms;
			continue;
		}
		wf__evict(n, pod, node);
		if (now_ms + WF__EVICT_RETRY_MS < *next)
			*next = now_ms + WF__EVICT_RETRY_MS; /* in case it is still there */
	}
}

/* List the node's pods from the API (paged) and evict those due. 0, or a
 * negative code when the list failed. */
static int wf__evict_listed(wf__nodelc *n, const char *node, const char *key, time_t added,
			    int64_t now_ms, int64_t *next)
{
	char *sel = wf_xasprintf("spec.nodeName=%s", node);
	char *esc = wf_client_escape(sel);
	free(sel);
	char *cont = NULL;
	int rc = 0;
	do {
		char *path =
		    cont ? wf_xasprintf("/api/v1/pods?fieldSelector=%s&limit=%d&continue=%s", esc,
					WF__LIST_PAGE, cont)
			 : wf_xasprintf("/api/v1/pods?fieldSelector=%s&limit=%d", esc,
					WF__LIST_PAGE);
		free(cont);
		cont = NULL;
		json_t *list = NULL;
		wf_err err = {0};
		rc = wf_client_get(n->c->client, path, &list, &err);
		free(path);
		if (rc < 0) {
			wf__ctl_log("listing the pods of node %s: %s", node, err.msg);
			break;
		}
		wf__evict_page(n, json_object_get(list, "items"), node, key, added, now_ms, next);
		const char *c = wf__str(json_object_get(list, "metadata"), "continue");
		if (c && c[0])
			cont = wf_client_escape(c);
		json_decref(list);
	} while (cont && !n->c->stop);
	free(cont);
	free(esc);
	return rc;
}

static void wf__evict_pods(wf__nodelc *n, const json_t *node, const char *key, wf__nseen *seen)
{
	const char *name = wf__str(json_object_get(node, "metadata"), "name");
	const json_t *taint = wf__find_taint(node, key, "NoExecute");
	time_t added;
	if (!name || !taint || wf_time_parse_rfc3339(wf__str(taint, "timeAdded"), &added) < 0)
		return; /* once our taint is on the node */
	pthread_mutex_lock(&n->mu);
	wf__nwatch *w = wf_smap_get(&n->watch, name);
	bool dirty = !w || w->dirty;
	if (!w)
		w = wf_smap_add(&n->watch, name, sizeof *w);
	w->dirty = false;
	w->pass = n->pass;
	pthread_mutex_unlock(&n->mu);
	int64_t now = wf__ctl_now_ms();
	if (!dirty && now < seen->next_list)
		return;
	int64_t next = now + WF__RELIST_MS;
	if (wf__evict_listed(n, name, key, added, now, &next) < 0)
		next = now + WF__EVICT_RETRY_MS;
	seen->next_list = next;
}

/* Pod handlers (informer thread): a change to a pod on a node being
 * evicted has its pods listed again at the next pass. */
static void wf__pod_touched(wf__nodelc *n, const json_t *pod)
{
	const char *node = wf__str(json_object_get(pod, "spec"), "nodeName");
	if (!node || !node[0])
		return;
	pthread_mutex_lock(&n->mu);
	wf__nwatch *w = n->watch.n ? wf_smap_get(&n->watch, node) : NULL;
	if (w)
		w->dirty = true;
	pthread_mutex_unlock(&n->mu);
}

static void wf__on_pod(void *ctx, const json_t *pod)
{
	wf__pod_touched(ctx, pod);
}

static void wf__on_pod_update(void *ctx, const json_t *old, const json_t *pod)
{
	wf__pod_touched(ctx, pod);
}

/* ---- monitor ----------------------------------------------------------------------------- */

static void wf__check_node(wf__nodelc *n, const json_t *cached, int64_t now)
{
	const char *name = wf__str(json_object_get(cached, "metadata"), "name");
	const json_t *ready = wf__cond(cached, "Ready");
	if (!name || !ready)
		return; /* never posted by an agent */
	json_t *lease = wf_informer_get_nn(n->c->leases, "kube-node-lease", name);
	uint64_t renew = wf__hash(wf__str(json_object_get(lease, "spec"), "renewTime"));
	uint64_t hb = wf__hash(wf__str(ready, "lastHeartbeatTime"));
	json_decref(lease);
	wf__nseen *seen = wf_smap_get(&n->seen, name);
	if (!seen) {
		seen = wf_smap_add(&n->seen, name, sizeof *seen);
		seen->probe = now;
	} else if (seen->renew_h != renew || seen->hb_h != hb) {
		seen->probe = now;
	}
	seen->renew_h = renew;
	seen->hb_h = hb;
	seen->pass = n->pass;
	json_t *node = json_incref((json_t *)cached);
	const char *status = wf__str(ready, "status");
	bool stale = now - seen->probe > (int64_t)n->c->o.node_monitor_grace_s * 1000;
	if (stale && (!status || strcmp(status, "Unknown"))) {
		/* (The update keeps lastHeartbeatTime: it is no heartbeat.) */
		json_t *upd = wf__mark_unknown(n, node);
		json_decref(node);
		if (!upd)
			return;
		node = upd;
		status = "Unknown";
	}
	const char *key = !status || !strcmp(status, "Unknown") ? WF__TAINT_UNREACHABLE
			  : !strcmp(status, "False")		? WF__TAINT_NOT_READY
								: NULL;
	json_t *upd = wf__ensure_taints(n, node, key);
	if (upd) {
		json_decref(node);
		node = upd;
	}
	/* A node back from silence keeps its pods while its agent catches up. */
	if (key && (stale || strcmp(key, WF__TAINT_UNREACHABLE)))
		wf__evict_pods(n, node, key, seen);
	json_decref(node);
}

/* Forget nodes that are gone, nodes no longer evicting, old eviction
 * attempts. */
static void wf__forget(wf__nodelc *n, int64_t now)
{
	wf_smap_iter it = {0};
	void *v;
	while ((v = wf_smap_next(&n->seen, &it)))
		if (((wf__nseen *)v)->pass != n->pass)
			wf_smap_remove(&n->seen, v, NULL);

	pthread_mutex_lock(&n->mu);
	it = (wf_smap_iter){0};
	while ((v = wf_smap_next(&n->watch, &it)))
		if (((wf__nwatch *)v)->pass != n->pass)
			wf_smap_remove(&n->watch, v, NULL);
	pthread_mutex_unlock(&n->mu);

	it = (wf_smap_iter){0};
	while ((v = wf_smap_next(&n->evicting, &it)))
		if (now - *(int64_t *)v > 10 * WF__EVICT_RETRY_MS)
			wf_smap_remove(&n->evicting, v, NULL);
}

static void *wf__nodelc_main(void *arg)
{
	wf__nodelc *n = arg;
	wf_controllers *c = n->c;
	wf_informer *const need[] = {c->nodes, c->leases, c->pods, NULL};
	if (!wf__ctl_wait_synced(c, need))
		return NULL;
	/* Look often enough for short grace periods (tests), at most every 5 s. */
	int64_t period = (int64_t)c->o.node_monitor_grace_s * 1000 / 4;
	if (period < 250)
		period = 250;
	if (period > 5000)
		period = 5000;
	do {
		int64_t now = wf__ctl_now_ms();
		n->pass++;
		/* One node decoded at a time: the node cache stays packed. */
		size_t nkeys = 0;
		char **keys = wf_informer_keys(c->nodes, &nkeys);
		for (size_t i = 0; i < nkeys && !c->stop; i++) {
			json_t *node = wf_informer_get(c->nodes, keys[i]);
			if (node)
				wf__check_node(n, node, now);
			json_decref(node);
		}
		wf_informer_keys_free(keys, nkeys);
		if (!c->stop)
			wf__forget(n, now);
	} while (wf__ctl_sleep(c, period));
	return NULL;
}

void wf__nodelc_register(wf_controllers *c)
{
	wf__nodelc *n = wf_xcalloc(1, sizeof *n);
	n->c = c;
	pthread_mutex_init(&n->mu, NULL);
	c->nodelc = n;
	wf_informer_handlers h = {
	    .add = wf__on_pod, .update = wf__on_pod_update, .del = wf__on_pod, .ctx = n};
	wf_informer_add_handlers(c->pods, &h);
}

int wf__nodelc_start(wf_controllers *c, wf_err *err)
{
	wf__nodelc *n = c->nodelc;
	if (pthread_create(&n->thread, NULL, wf__nodelc_main, n) != 0)
		return wf_err_set(err, WF_EIO, "node lifecycle controller: cannot start a thread");
	n->started = true;
	return 0;
}

void wf__nodelc_stop(wf_controllers *c)
{
	wf__nodelc *n = c->nodelc;
	if (n && n->started)
		pthread_join(n->thread, NULL);
	if (n)
		n->started = false;
}

void wf__nodelc_free(wf_controllers *c)
{
	wf__nodelc *n = c->nodelc;
	if (!n)
		return;
	wf_smap_clear(&n->seen, NULL);
	wf_smap_clear(&n->evicting, NULL);
	wf_smap_clear(&n->watch, NULL);
	pthread_mutex_destroy(&n->mu);
	free(n);
	c->nodelc = NULL;
}
