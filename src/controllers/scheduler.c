/*
 * scheduler.c - the scheduler driver: feeds the pure scheduling library
 * (src/scheduler/) from the API and carries out its decisions through the
 * API. All I/O of scheduling lives here; the library stays pure.
 *
 * Threads and what they own:
 *  - Two compact list+watch streams, nodes and pods. They keep no object
 *    cache (that would cost kilobytes per pod): per key only the
 *    resourceVersion and a fingerprint of the fields scheduling reads, so
 *    heartbeats, status writes and our own condition patches stop there.
 *    A change is converted right there (convert.h) and queued as a delta
 *    for the loop, so a backlog holds compact specs, not parsed objects.
 *    Events older than what a key has shown are dropped, so a paged list
 *    followed by a watch from its first page never steps a key back.
 *  - Informers (informer.h) for the few PodGroups of both kinds and for
 *    PriorityClasses; their handlers queue deltas too.
 *  - The loop: the only thread that touches the wf_sched. It applies
 *    deltas (converting the few PodGroups) and bind results, runs
 *    wf_sched_schedule(now) and hands the decisions to workers. It
 *    schedules nothing before both streams and the informers have listed
 *    (a pod bound before a restart must hold its node before anything else
 *    is placed).
 *  - WF__WORKERS API workers, each with its own FIFO. A pod's tasks always
 *    go to the same worker (hash of namespace/name), so they run in the
 *    order decided: a PodScheduled=False patch never overtakes the binding
 *    that follows it. Bindings of different pods run in parallel. While
 *    WF__MAX_TASKS tasks wait, the loop decides nothing more (the API is
 *    the bottleneck then; pods wait in the library's queue, which costs
 *    nothing extra, rather than as queued requests).
 *  - Event threads post Events from a bounded queue; when it is full new
 *    events are dropped and counted (as client-go's broadcaster does), so
 *    events never slow scheduling down.
 *
 * Pods: a pod with spec.nodeName holds resources on that node whoever
 * placed it; a pod without one is queued when its schedulerName is
 * "default-scheduler" or "wharf-scheduler" and it is not being deleted.
 * An Unschedulable verdict is written (condition and FailedScheduling
 * event) only when its message differs from the last one written for the
 * pod, so a pod that stays unschedulable for the same reasons costs
 * nothing more however often it is retried. A pending pod whose spec the
 * library cannot use gets such a verdict too ("pod can not be scheduled:
 * ..."), and stays out of the library.
 */
#include "controllers/controllers_internal.h"
#include "lib/wf_hash.h"
#include "lib/wf_smap.h"
#include "lib/wf_fifo.h"
#include "lib/wf_mem.h"
#include "lib/wf_time.h"
#include "scheduler/convert.h"
#include "scheduler/sched.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define WF__WORKERS 16
#define WF__EVENT_THREADS 4
#define WF__EVENT_QUEUE_MAX 1000 /* client-go's broadcaster queues as many */
#define WF__MAX_TASKS 1024	 /* API work queued before the loop waits */
#define WF__BATCH 512
#define WF__TICK_MS 200
#define WF__LIST_PAGE 1000
#define WF__COMPONENT "default-scheduler"
#define WF__PG_GROUP "scheduling.x-k8s.io"
#define WF__VC_GROUP "scheduling.volcano.sh"

/* ---- fingerprints ------------------------------------------------------------------- */

static uint64_t wf__fnv(const char *s, size_t n)
{
	return wf_fnv1a64(WF_FNV64_BASIS, s, n);
}

static uint64_t wf__mix(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/* A hash of a JSON value; objects hash the same whatever their key order. */
static uint64_t wf__fp(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: {
		uint64_t h = 0;
		const char *key;
		json_t *val;
		json_object_foreach((json_t *)v, key, val)
		{
			h += wf__mix(wf__fnv(key, strlen(key)) ^ (wf__fp(val) * 31));
		}
		return wf__mix(h ^ 0x0b) ^ json_object_size(v);
	}
	case JSON_ARRAY: {
		uint64_t h = 0x0a;
		size_t i;
		json_t *el;
		json_array_foreach(v, i, el)
		{
			h = wf__mix(h ^ wf__fp(el)) + i;
		}
		return h;
	}
	case JSON_STRING:
		return wf__fnv(json_string_value(v), json_string_length(v)) ^ 0x5;
	case JSON_INTEGER:
		return wf__mix((uint64_t)json_integer_value(v) ^ 0x1);
	case JSON_REAL: {
		double d = json_real_value(v);
		uint64_t bits;
		memcpy(&bits, &d, sizeof bits);
		return wf__mix(bits ^ 0x2);
	}
	case JSON_TRUE:
		return 0x77;
	case JSON_FALSE:
		return 0x78;
	default:
		return 0x79;
	}
}

static uint64_t wf__fp_opt(const json_t *v, uint64_t salt)
{
	return wf__mix((v ? wf__fp(v) : 0x99) + salt);
}

static const char *wf__str(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static const char *wf__name_of(const json_t *obj)
{
	return wf__str(json_object_get(obj, "metadata"), "name");
}

static const json_t *wf__cond(const json_t *obj, const char *type)
{
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(json_object_get(obj, "status"), "conditions"), i, c)
	{
		const char *t = wf__str(c, "type");
		if (t && !strcmp(t, type))
			return c;
	}
	return NULL;
}

/* What scheduling reads of a node: labels, taints, cordon, resources, Ready. */
static uint64_t wf__node_fp(const json_t *node)
{
	const json_t *md = json_object_get(node, "metadata");
	const json_t *spec = json_object_get(node, "spec");
	const json_t *st = json_object_get(node, "status");
	uint64_t h = wf__fp_opt(json_object_get(md, "labels"), 1);
	h += wf__fp_opt(json_object_get(spec, "taints"), 2);
	h += wf__fp_opt(json_object_get(spec, "unschedulable"), 3);
	h += wf__fp_opt(json_object_get(st, "allocatable"), 4);
	h += wf__fp_opt(json_object_get(st, "capacity"), 5);
	h += wf__fp_opt(json_object_get(wf__cond(node, "Ready"), "status"), 6);
	return h;
}

/* What scheduling reads of a pod: the spec, its labels (pod affinity
 * matches them; the group's is one), its group annotation, phase,
 * nomination, identity and whether it is being deleted. Not its conditions. */
static uint64_t wf__pod_fp(const json_t *pod)
{
	const json_t *md = json_object_get(pod, "metadata");
	const json_t *st = json_object_get(pod, "status");
	uint64_t h = wf__fp_opt(json_object_get(pod, "spec"), 1);
	h += wf__fp_opt(json_object_get(md, "labels"), 2);
	h += wf__fp_opt(
	    json_object_get(json_object_get(md, "annotations"), WF_SCHED_ANNOTATION_GROUP_NAME), 3);
	h += wf__fp_opt(json_object_get(st, "phase"), 4);
	h += wf__fp_opt(json_object_get(st, "nominatedNodeName"), 5);
	h += wf__fp_opt(json_object_get(md, "uid"), 6);
	h += wf__fp_opt(json_object_get(md, "creationTimestamp"), 7);
	h += wf__fp_opt(json_object_get(md, "deletionTimestamp") ? json_true() : NULL, 8);
	return h;
}

/* ---- state ------------------------------------------------------------------------- */

typedef enum wf__dkind {
	WF__D_NODE,
	WF__D_NODE_GONE,
	WF__D_POD,
	WF__D_POD_GONE,
	WF__D_GROUP,
	WF__D_GROUP_GONE,
	WF__D_BOUND,
	WF__D_BIND_FAILED,
	WF__D_POD_INVALID, /* a pending pod whose spec the scheduler cannot use */
} wf__dkind;

/* A change for the loop. NODE and POD carry the converted spec (convert.h:
 * a few hundred bytes, where the parsed object takes kilobytes, so a
 * backlog under load stays small), GROUP the object (a reference,
 * read-only once queued; groups are few). */
typedef struct wf__delta {
	struct wf__delta *next;
	wf__dkind kind;
	json_t *obj;		 /* GROUP */
	wf_sched_node_spec node; /* NODE */
	wf_sched_pod_spec pod;	 /* POD */
	char *uid;		 /* POD: metadata.uid */
	char *cond_msg;		 /* POD, POD_INVALID: PodScheduled=False's message */
	char *error;		 /* POD_INVALID: why */
	bool cond_false;	 /* POD, POD_INVALID: the pod shows PodScheduled=False */
	char *ns, *name;	 /* *_GONE, BOUND, BIND_FAILED, POD_INVALID */
} wf__delta;

typedef enum wf__tkind {
	WF__T_BIND,
	WF__T_UNSCHED,
	WF__T_NOMINATE,
	WF__T_EVICT,
	WF__T_GANG_TIMEOUT,
	WF__T_GANG_PLACED,
} wf__tkind;

/* Work for an API worker. Strings owned. */
typedef struct wf__task {
	wf_fifo_job job; /* first */
	wf__tkind kind;
	char *ns, *name, *node, *msg;
	char *by; /* EVICT: "ns/name" of the preemptor */
	char uid[64];
	bool transition; /* UNSCHED: PodScheduled was not False before */
} wf__task;

typedef struct wf__event {
	wf_fifo_job job;				/* first */
	const char *api_version, *kind, *type, *reason; /* static strings */
	char *ns, *name, *message;
	char uid[64];
} wf__event;

typedef struct wf__schedctl wf__schedctl;

typedef struct wf__seen {
	uint64_t fp;
	int64_t rv;
	uint32_t gen;
} wf__seen;

typedef struct wf__stream {
	wf__schedctl *sc;
	const char *path;
	uint64_t (*fp)(const json_t *obj);
	void (*changed)(wf__schedctl *sc, json_t *obj);
	void (*gone)(wf__schedctl *sc, const char *key);
	wf_smap seen; /* key -> wf__seen; the stream's thread only */
	uint32_t gen;
	char rv[64];
	bool relist;
	long events;
	atomic_bool synced; /* set once every delta of the first list is queued */
	pthread_t thread;
	bool started;
} wf__stream;

/* The loop's record of a pending pod it gave the library (bound and
 * finished pods have none: nothing more is written about them but their
 * eviction, which reads the pod first). */
typedef struct wf__podmeta {
	char uid[40];	 /* 36 for the server's uids */
	char *msg;	 /* last Unschedulable message written, or NULL */
	bool cond_false; /* the pod shows PodScheduled=False */
} wf__podmeta;

struct wf__schedctl {
	wf_controllers *c;
	wf_sched *s; /* the loop thread's only */

	pthread_mutex_t mu; /* deltas */
	pthread_cond_t cond;
	wf__delta *dhead, *dtail;

	wf__stream nodes, pods;
	wf_informer *pgs, *vpgs, *pcs;

	pthread_t loop;
	bool loop_started;
	wf_smap meta;	   /* loop: "ns/name" of pending pods -> wf__podmeta */
	wf_smap timed_out; /* loop: "ns/name" of groups that timed out -> char *message */

	wf_fifo *workers[WF__WORKERS]; /* API work; a pod's always on the same one */
	atomic_long ntasks;	       /* queued or running in the workers */

	wf_fifo *events; /* Events to post; its lock guards events_dropped */
	unsigned long events_dropped;
};

/* ---- deltas ------------------------------------------------------------------------- */

static void wf__delta_free(wf__delta *d)
{
	json_decref(d->obj);
	wf_sched_node_spec_release(&d->node);
	wf_sched_pod_spec_release(&d->pod);
	free(d->uid);
	free(d->cond_msg);
	free(d->error);
	free(d->ns);
	free(d->name);
	free(d);
}

static wf__delta *wf__delta_new(wf__dkind kind)
{
	wf__delta *d = wf_xcalloc(1, sizeof *d);
	d->kind = kind;
	return d;
}

static void wf__push(wf__schedctl *sc, wf__delta *d)
{
	pthread_mutex_lock(&sc->mu);
	bool was_empty = !sc->dhead;
	if (sc->dtail)
		sc->dtail->next = d;
	else
		sc->dhead = d;
	sc->dtail = d;
	if (was_empty)
		pthread_cond_signal(&sc->cond);
	pthread_mutex_unlock(&sc->mu);
}

/* Split "ns/name" (or "name") into a delta's ns and name. */
static void wf__delta_key(wf__delta *d, const char *key)
{
	const char *slash = strchr(key, '/');
	if (slash) {
		d->ns = wf_xstrndup(key, (size_t)(slash - key));
		d->name = wf_xstrdup(slash + 1);
	} else {
		d->ns = wf_xstrdup("");
		d->name = wf_xstrdup(key);
	}
}

/* ---- events ------------------------------------------------------------------------- */

static void wf__event_add(wf__schedctl *sc, const char *api_version, const char *kind,
			  const char *ns, const char *name, const char *uid, const char *type,
			  const char *reason, const char *message)
{
	wf_fifo_lock(sc->events);
	if (wf_fifo_len_locked(sc->events) >= WF__EVENT_QUEUE_MAX) {
		if (sc->events_dropped++ % 1000 == 0)
			wf__ctl_log("scheduler: event queue full, dropping events (%lu so far)",
				    sc->events_dropped);
		wf_fifo_unlock(sc->events);
		return;
	}
	wf__event *e = wf_xcalloc(1, sizeof *e);
	e->api_version = api_version;
	e->kind = kind;
	e->type = type;
	e->reason = reason;
	e->ns = wf_xstrdup(ns);
	e->name = wf_xstrdup(name);
	e->message = wf_xstrdup(message);
	snprintf(e->uid, sizeof e->uid, "%s", uid ? uid : "");
	wf_fifo_push_locked(sc->events, &e->job);
	wf_fifo_unlock(sc->events);
}

static void wf__event_free(void *ctx, wf_fifo_job *job)
{
	wf__event *e = (wf__event *)job;
	free(e->ns);
	free(e->name);
	free(e->message);
	free(e);
}

/* Post one Event (none once the controllers stop). */
static void wf__event_post(void *ctx, wf_fifo_job *job)
{
	wf__schedctl *sc = ctx;
	wf__event *e = (wf__event *)job;
	if (!sc->c->stop) {
		json_t *obj = json_pack("{s:{s:s,s:s,s:s}}", "metadata", "name", e->name,
					"namespace", e->ns, "uid", e->uid);
		wf__ctl_event(sc->c, obj, e->api_version, e->kind, e->type, e->reason, e->message,
			      WF__COMPONENT);
		json_decref(obj);
	}
	wf__event_free(ctx, job);
}

static void wf__pod_event(wf__schedctl *sc, const char *ns, const char *name, const char *uid,
			  const char *type, const char *reason, const char *message)
{
	wf__event_add(sc, "v1", "Pod", ns, name, uid, type, reason, message);
}

/* ---- streams: compact list + watch -------------------------------------------------- */

static int64_t wf__rv_of(const json_t *obj)
{
	const char *rv =
	    json_string_value(json_object_get(json_object_get(obj, "metadata"), "resourceVersion"));
	return rv ? strtoll(rv, NULL, 10) : 0;
}

/* One object seen by list or watch. */
static void wf__stream_item(wf__stream *st, json_t *obj)
{
	char *key = wf_informer_key(obj);
	if (!key)
		return;
	int64_t rv = wf__rv_of(obj);
	wf__seen *s = wf_smap_get(&st->seen, key);
	if (s && rv && rv <= s->rv) {
		s->gen = st->gen; /* an older or the same version (a resumed watch) */
		free(key);
		return;
	}
	uint64_t fp = st->fp(obj);
	bool changed = !s || s->fp != fp;
	if (!s)
		s = wf_smap_add(&st->seen, key, sizeof *s);
	s->fp = fp;
	s->rv = rv;
	s->gen = st->gen;
	free(key);
	if (changed)
		st->changed(st->sc, obj);
}

static void wf__stream_gone(wf__stream *st, const json_t *obj)
{
	char *key = wf_informer_key(obj);
	if (!key)
		return;
	if (wf_smap_del(&st->seen, key, NULL))
		st->gone(st->sc, key);
	free(key);
}

static bool wf__stream_event(void *ctx, const char *type, json_t *obj)
{
	wf__stream *st = ctx;
	if (st->sc->c->stop)
		return false;
	if (!strcmp(type, "ERROR")) {
		st->relist = true;
		return false;
	}
	const char *rv =
	    json_string_value(json_object_get(json_object_get(obj, "metadata"), "resourceVersion"));
	if (rv && rv[0] && strlen(rv) < sizeof st->rv)
		snprintf(st->rv, sizeof st->rv, "%s", rv);
	st->events++;
	if (!strcmp(type, "ADDED") || !strcmp(type, "MODIFIED"))
		wf__stream_item(st, obj);
	else if (!strcmp(type, "DELETED"))
		wf__stream_gone(st, obj);
	return true;
}

/* List every page, then forget the keys the list no longer has. */
static int wf__stream_list(wf__stream *st, wf_err *err)
{
	wf_client *client = st->sc->c->client;
	char first_rv[64] = "";
	char *cont = NULL;
	st->gen++;
	do {
		char *path =
		    cont ? wf_xasprintf("%s?limit=%d&continue=%s", st->path, WF__LIST_PAGE, cont)
			 : wf_xasprintf("%s?limit=%d", st->path, WF__LIST_PAGE);
		free(cont);
		cont = NULL;
		json_t *list = NULL;
		int rc = wf_client_get(client, path, &list, err);
		free(path);
		if (rc < 0)
			return rc;
		json_t *md = json_object_get(list, "metadata");
		json_t *items = json_object_get(list, "items");
		const char *rv = wf__str(md, "resourceVersion");
		if (!json_is_array(items) || !rv || strlen(rv) >= sizeof first_rv) {
			json_decref(list);
			return wf_err_set(err, WF_EIO, "list %s: not a list", st->path);
		}
		if (!first_rv[0])
			snprintf(first_rv, sizeof first_rv, "%s", rv);
		size_t i;
		json_t *it;
		json_array_foreach(items, i, it)
		{
			wf__stream_item(st, it);
		}
		const char *c = wf__str(md, "continue");
		if (c && c[0])
			cont = wf_client_escape(c);
		json_decref(list);
	} while (cont && !st->sc->c->stop);
	free(cont);

	wf_smap_iter it = {0};
	wf__seen *seen;
	while ((seen = wf_smap_next(&st->seen, &it))) {
		if (seen->gen == st->gen)
			continue;
		st->gone(st->sc, wf_smap_key(seen)); /* copies the key */
		wf_smap_remove(&st->seen, seen, NULL);
	}
	snprintf(st->rv, sizeof st->rv, "%s", first_rv);
	atomic_store(&st->synced, true);
	return 0;
}

static void *wf__stream_main(void *arg)
{
	wf__stream *st = arg;
	wf_controllers *c = st->sc->c;
	bool need_list = true, failing = false;
	int64_t backoff = 100;
	unsigned seed = (unsigned)time(NULL) ^ (unsigned)(uintptr_t)st;
	while (!c->stop) {
		wf_err err = {0};
		if (need_list) {
			if (wf__stream_list(st, &err) < 0) {
				if (!failing)
					wf__ctl_log("scheduler: %s", err.msg);
				failing = true;
				if (!wf__ctl_sleep(c, backoff))
					break;
				backoff = backoff < 2500 ? backoff * 2 : 5000;
				continue;
			}
			need_list = false;
		}
		char *path =
		    wf_xasprintf("%s?watch=true&allowWatchBookmarks=true&resourceVersion=%s"
				 "&timeoutSeconds=%d",
				 st->path, st->rv, 300 + (int)(rand_r(&seed) % 300));
		st->relist = false;
		st->events = 0;
		int64_t began = wf__ctl_now_ms();
		int rc = wf_client_watch(c->client, path, wf__stream_event, st, &c->stop, &err);
		free(path);
		if (c->stop)
			break;
		if (st->relist) {
			need_list = true;
			continue;
		}
		if (rc < 0 || (st->events == 0 && wf__ctl_now_ms() - began < 1000)) {
			if (rc < 0 && !failing)
				wf__ctl_log("scheduler: %s", err.msg);
			failing = true;
			need_list = true;
			if (!wf__ctl_sleep(c, backoff))
				break;
			backoff = backoff < 2500 ? backoff * 2 : 5000;
			continue;
		}
		failing = false;
		backoff = 100;
	}
	return NULL;
}

/* ---- changes (stream and informer threads) ------------------------------------------ */

static void wf__push_obj(wf__schedctl *sc, wf__dkind kind, const json_t *obj)
{
	wf__delta *d = wf__delta_new(kind);
	d->obj = json_incref((json_t *)obj);
	wf__push(sc, d);
}

static void wf__node_changed(wf__schedctl *sc, json_t *node)
{
	wf__delta *d = wf__delta_new(WF__D_NODE);
	wf_err err = {0};
	if (wf_sched_node_from_json(node, &d->node, &err) < 0) {
		wf__ctl_log("scheduler: node %s ignored: %s", wf__name_of(node), err.msg);
		wf__delta_free(d);
		return;
	}
	wf__push(sc, d);
}

static void wf__node_gone(wf__schedctl *sc, const char *key)
{
	wf__delta *d = wf__delta_new(WF__D_NODE_GONE);
	wf__delta_key(d, key);
	wf__push(sc, d);
}

static bool wf__ours(const char *scheduler_name)
{
	return !scheduler_name || !strcmp(scheduler_name, "default-scheduler") ||
	       !strcmp(scheduler_name, "wharf-scheduler");
}

static void wf__pod_gone(wf__schedctl *sc, const char *key)
{
	wf__delta *d = wf__delta_new(WF__D_POD_GONE);
	wf__delta_key(d, key);
	wf__push(sc, d);
}

static void wf__pod_changed(wf__schedctl *sc, json_t *pod)
{
	json_t *md = json_object_get(pod, "metadata");
	json_t *spec = json_object_get(pod, "spec");
	const char *node = wf__str(spec, "nodeName");
	bool bound = node && node[0];
	if (!bound && (!wf__ours(wf__str(spec, "schedulerName")) ||
		       json_object_get(md, "deletionTimestamp"))) {
		/* Not ours to place (or going away): forget it if we knew it. */
		char *key = wf_informer_key(pod);
		if (key)
			wf__pod_gone(sc, key);
		free(key);
		return;
	}
	/* A pod admitted before its class was resolved: use the class. */
	const char *pcn = wf__str(spec, "priorityClassName");
	if (json_is_object(spec) && !json_object_get(spec, "priority") && pcn && pcn[0]) {
		json_t *pc = wf_informer_get_nn(sc->pcs, NULL, pcn);
		json_t *v = json_object_get(pc, "value");
		if (json_is_integer(v))
			json_object_set_new(spec, "priority", json_integer(json_integer_value(v)));
		json_decref(pc);
	}
	wf__delta *d = wf__delta_new(WF__D_POD);
	wf_err err = {0};
	if (wf_sched_pod_from_json(pod, &d->pod, &err) < 0) {
		char *key = bound ? NULL : wf_informer_key(pod);
		if (!key) {
			wf__ctl_log("scheduler: pod %s ignored: %s", wf__name_of(pod), err.msg);
			wf__delta_free(d);
			return;
		}
		/* Pending: the pod is told why it waits. */
		d->kind = WF__D_POD_INVALID;
		wf__delta_key(d, key);
		free(key);
		d->error = wf_xasprintf("pod can not be scheduled: %s", err.msg);
	}
	const char *uid = wf__str(md, "uid");
	const json_t *cond = wf__cond(pod, "PodScheduled");
	const char *cs = wf__str(cond, "status");
	d->cond_false = cs && !strcmp(cs, "False");
	const char *msg = d->cond_false ? wf__str(cond, "message") : NULL;
	d->uid = wf_xstrdup(uid ? uid : "");
	d->cond_msg = msg ? wf_xstrdup(msg) : NULL;
	wf__push(sc, d);
}

static void wf__group_add(void *ctx, const json_t *pg)
{
	wf__push_obj(ctx, WF__D_GROUP, pg);
}

static void wf__group_update(void *ctx, const json_t *old, const json_t *pg)
{
	const json_t *os = json_object_get(old, "spec"), *ns = json_object_get(pg, "spec");
	if (os && ns && json_equal((json_t *)os, (json_t *)ns))
		return; /* a status write */
	wf__push_obj(ctx, WF__D_GROUP, pg);
}

static void wf__group_del(void *ctx, const json_t *pg)
{
	wf__schedctl *sc = ctx;
	json_t *md = json_object_get(pg, "metadata");
	const char *ns = wf__str(md, "namespace"), *name = wf__str(md, "name");
	if (!ns || !name)
		return;
	/* A group of the other kind with the same name takes over. */
	bool volcano = !strncmp(wf__str(pg, "apiVersion") ? wf__str(pg, "apiVersion") : "",
				WF__VC_GROUP "/", strlen(WF__VC_GROUP) + 1);
	json_t *other = wf_informer_get_nn(volcano ? sc->pgs : sc->vpgs, ns, name);
	if (other) {
		wf__push_obj(sc, WF__D_GROUP, other);
		json_decref(other);
		return;
	}
	wf__delta *d = wf__delta_new(WF__D_GROUP_GONE);
	d->ns = wf_xstrdup(ns);
	d->name = wf_xstrdup(name);
	wf__push(sc, d);
}

/* ---- API workers ------------------------------------------------------------------ */

static void wf__task_free(wf__task *t)
{
	free(t->ns);
	free(t->name);
	free(t->node);
	free(t->msg);
	free(t->by);
	free(t);
}

static wf__task *wf__task_new(wf__tkind kind, const char *ns, const char *name)
{
	wf__task *t = wf_xcalloc(1, sizeof *t);
	t->kind = kind;
	t->ns = wf_xstrdup(ns);
	t->name = wf_xstrdup(name);
	return t;
}

static void wf__dispatch(wf__schedctl *sc, wf__task *t)
{
	char key[600];
	int n = snprintf(key, sizeof key, "%s/%s", t->ns, t->name);
	size_t len = n < 0 ? 0 : (size_t)n >= sizeof key ? sizeof key - 1 : (size_t)n;
	atomic_fetch_add(&sc->ntasks, 1);
	wf_fifo_push(sc->workers[wf__fnv(key, len) % WF__WORKERS], &t->job);
}

static char *wf__pod_path(const char *ns, const char *name, const char *sub)
{
	return wf_xasprintf("/api/v1/namespaces/%s/pods/%s%s%s", ns, name, sub ? "/" : "",
			    sub ? sub : "");
}

/* PATCH the task's pod's status with patch (reference stolen). */
static int wf__patch_status(wf__schedctl *sc, const wf__task *t, json_t *patch,
			    const char *content_type, wf_err *err)
{
	char *path = wf__pod_path(t->ns, t->name, "status");
	int rc = wf__ctl_request(sc->c, "PATCH", path, patch, content_type, NULL, err);
	free(path);
	json_decref(patch);
	return rc;
}

static void wf__do_bind(wf__schedctl *sc, wf__task *t)
{
	json_t *b =
	    json_pack("{s:s,s:s,s:{s:s,s:s,s:s},s:{s:s,s:s,s:s}}", "apiVersion", "v1", "kind",
		      "Binding", "metadata", "name", t->name, "namespace", t->ns, "uid", t->uid,
		      "target", "apiVersion", "v1", "kind", "Node", "name", t->node);
	char *path = wf__pod_path(t->ns, t->name, "binding");
	wf_err err = {0};
	int rc = wf__ctl_request(sc->c, "POST", path, b, NULL, NULL, &err);
	free(path);
	json_decref(b);
	wf__delta *d = wf__delta_new(rc == 0 ? WF__D_BOUND : WF__D_BIND_FAILED);
	d->ns = wf_xstrdup(t->ns);
	d->name = wf_xstrdup(t->name);
	wf__push(sc, d);
	if (rc == 0) {
		char msg[1024];
		snprintf(msg, sizeof msg, "Successfully assigned %s/%s to %s", t->ns, t->name,
			 t->node);
		wf__pod_event(sc, t->ns, t->name, t->uid, "Normal", "Scheduled", msg);
	} else if (rc != -WF_ENOENT && rc != -WF_ECONFLICT) {
		wf__ctl_log("scheduler: binding %s/%s to %s: %s", t->ns, t->name, t->node, err.msg);
	}
}

static void wf__do_unsched(wf__schedctl *sc, wf__task *t)
{
	char ts[32];
	wf_time_rfc3339(time(NULL), ts);
	json_t *cond = json_pack("{s:s,s:s,s:s,s:s,s:n}", "type", "PodScheduled", "status", "False",
				 "reason", "Unschedulable", "message", t->msg, "lastProbeTime");
	if (t->transition)
		json_object_set_new(cond, "lastTransitionTime", json_string(ts));
	json_t *patch = json_pack("{s:{s:[o]}}", "status", "conditions", cond);
	wf_err err = {0};
	int rc = wf__patch_status(sc, t, patch, "application/strategic-merge-patch+json", &err);
	if (rc == -WF_ENOENT)
		return;
	if (rc < 0)
		wf__ctl_log("scheduler: marking %s/%s unschedulable: %s", t->ns, t->name, err.msg);
	wf__pod_event(sc, t->ns, t->name, t->uid, "Warning", "FailedScheduling", t->msg);
}

static void wf__do_nominate(wf__schedctl *sc, wf__task *t)
{
	json_t *patch = json_pack("{s:{s:s}}", "status", "nominatedNodeName", t->node);
	wf_err err = {0};
	int rc = wf__patch_status(sc, t, patch, "application/merge-patch+json", &err);
	if (rc < 0 && rc != -WF_ENOENT)
		wf__ctl_log("scheduler: nominating %s for %s/%s: %s", t->node, t->ns, t->name,
			    err.msg);
}

/* Evict a preemption victim: mark why, then delete it gracefully (its own
 * grace period), only if it is still the pod we chose: the one on the
 * node the library chose, by uid. */
static void wf__do_evict(wf__schedctl *sc, wf__task *t)
{
	if (!t->uid[0]) {
		json_t *pod = NULL;
		char *gpath = wf__pod_path(t->ns, t->name, NULL);
		int grc = wf__ctl_request(sc->c, "GET", gpath, NULL, NULL, &pod, NULL);
		free(gpath);
		const char *node = wf__str(json_object_get(pod, "spec"), "nodeName");
		const char *uid = wf__str(json_object_get(pod, "metadata"), "uid");
		if (grc == 0 && node && !strcmp(node, t->node) && uid)
			snprintf(t->uid, sizeof t->uid, "%s", uid);
		json_decref(pod);
		if (!t->uid[0])
			return; /* gone, or not the pod the library counted */
	}
	char ts[32];
	wf_time_rfc3339(time(NULL), ts);
	json_t *patch =
	    json_pack("{s:{s:[{s:s,s:s,s:s,s:s,s:s}]}}", "status", "conditions", "type",
		      "DisruptionTarget", "status", "True", "reason", "PreemptionByScheduler",
		      "message", WF__COMPONENT ": preempting to accommodate a higher priority pod",
		      "lastTransitionTime", ts);
	wf_err err = {0};
	int rc = wf__patch_status(sc, t, patch, "application/strategic-merge-patch+json", &err);
	if (rc == -WF_ENOENT)
		return;
	json_t *opts = json_pack("{s:s,s:s}", "apiVersion", "v1", "kind", "DeleteOptions");
	if (t->uid[0])
		json_object_set_new(opts, "preconditions", json_pack("{s:s}", "uid", t->uid));
	char *path = wf__pod_path(t->ns, t->name, NULL);
	rc = wf__ctl_request(sc->c, "DELETE", path, opts, NULL, NULL, &err);
	free(path);
	json_decref(opts);
	if (rc < 0) {
		if (rc != -WF_ENOENT && rc != -WF_ECONFLICT)
			wf__ctl_log("scheduler: preempting %s/%s: %s", t->ns, t->name, err.msg);
		return;
	}
	char msg[1024];
	snprintf(msg, sizeof msg, "Preempted by %s on node %s", t->by, t->node);
	wf__pod_event(sc, t->ns, t->name, t->uid, "Normal", "Preempted", msg);
}

/* A PodGroup's Unschedulable condition (Volcano's shape, also written on
 * coscheduling groups): set True with the timeout's message, or False once
 * the gang is placed. Other conditions are kept; the write carries the
 * resourceVersion read, and a lost race is retried. */
static void wf__do_group_condition(wf__schedctl *sc, wf__task *t)
{
	static const char *const versions[] = {WF__PG_GROUP "/v1alpha1", WF__VC_GROUP "/v1beta1"};
	bool timeout = t->kind == WF__T_GANG_TIMEOUT;
	for (int attempt = 0; attempt < 5 && !sc->c->stop; attempt++) {
		/* Read it fresh (the informer may not show our last write yet),
		 * then write where its apiVersion says it lives. */
		json_t *pg = NULL;
		for (size_t v = 0; v < 2 && !pg; v++) {
			char *get = wf_xasprintf("/apis/%s/namespaces/%s/podgroups/%s", versions[v],
						 t->ns, t->name);
			if (wf__ctl_request(sc->c, "GET", get, NULL, NULL, &pg, NULL) < 0)
				pg = NULL;
			free(get);
		}
		const char *av = wf__str(pg, "apiVersion");
		const char *group = NULL; /* static: events keep it */
		for (size_t v = 0; v < 2 && av; v++)
			if (!strcmp(av, versions[v]))
				group = versions[v];
		if (!group) {
			json_decref(pg);
			return;
		}
		char *path =
		    wf_xasprintf("/apis/%s/namespaces/%s/podgroups/%s", group, t->ns, t->name);
		if (timeout && attempt == 0)
			wf__event_add(sc, group, "PodGroup", t->ns, t->name,
				      wf__str(json_object_get(pg, "metadata"), "uid"), "Warning",
				      "Unschedulable", t->msg);
		json_t *conds = json_array();
		const json_t *prev = NULL;
		size_t i;
		json_t *c;
		json_array_foreach(json_object_get(json_object_get(pg, "status"), "conditions"), i,
				   c)
		{
			const char *ty = wf__str(c, "type");
			if (ty && !strcmp(ty, "Unschedulable"))
				prev = c;
			else
				json_array_append(conds, c);
		}
		const char *pst = wf__str(prev, "status");
		if (!timeout && (!pst || strcmp(pst, "True"))) {
			json_decref(conds);
			json_decref(pg);
			free(path);
			return; /* nothing to clear */
		}
		char ts[32];
		wf_time_rfc3339(time(NULL), ts);
		bool same = pst && !strcmp(pst, timeout ? "True" : "False");
		json_array_append_new(
		    conds, json_pack("{s:s,s:s,s:s,s:s,s:s}", "type", "Unschedulable", "status",
				     timeout ? "True" : "False", "reason",
				     timeout ? "ScheduleTimeout" : "Scheduled", "message",
				     timeout ? t->msg : "all pods of the group are placed",
				     "lastTransitionTime",
				     same && wf__str(prev, "lastTransitionTime")
					 ? wf__str(prev, "lastTransitionTime")
					 : ts));
		json_t *patch =
		    json_pack("{s:{s:O},s:{s:o}}", "metadata", "resourceVersion",
			      json_object_get(json_object_get(pg, "metadata"), "resourceVersion"),
			      "status", "conditions", conds);
		char *spath = wf_xasprintf("%s/status", path);
		wf_err err = {0};
		int rc = wf__ctl_request(sc->c, "PATCH", spath, patch,
					 "application/merge-patch+json", NULL, &err);
		json_decref(patch);
		json_decref(pg);
		free(spath);
		free(path);
		if (rc != -WF_ECONFLICT) {
			if (rc < 0 && rc != -WF_ENOENT)
				wf__ctl_log("scheduler: pod group %s/%s status: %s", t->ns, t->name,
					    err.msg);
			return;
		}
	}
}

/* A task done, or not taken (at stop): freed and no longer counted. */
static void wf__task_end(void *ctx, wf_fifo_job *job)
{
	wf__schedctl *sc = ctx;
	wf__task_free((wf__task *)job);
	atomic_fetch_sub(&sc->ntasks, 1);
}

/* Do one task (none once the controllers stop). */
static void wf__task_run(void *ctx, wf_fifo_job *job)
{
	wf__schedctl *sc = ctx;
	wf__task *t = (wf__task *)job;
	if (sc->c->stop) {
		wf__task_end(ctx, job);
		return;
	}
	switch (t->kind) {
	case WF__T_BIND:
		wf__do_bind(sc, t);
		break;
	case WF__T_UNSCHED:
		wf__do_unsched(sc, t);
		break;
	case WF__T_NOMINATE:
		wf__do_nominate(sc, t);
		break;
	case WF__T_EVICT:
		wf__do_evict(sc, t);
		break;
	case WF__T_GANG_TIMEOUT:
	case WF__T_GANG_PLACED:
		wf__do_group_condition(sc, t);
		break;
	}
	wf__task_end(ctx, job);
}

/* ---- the loop ------------------------------------------------------------------------ */

static void wf__meta_fini(void *p)
{
	free(((wf__podmeta *)p)->msg);
}

static void wf__msg_fini(void *p)
{
	free(*(char **)p);
}

static wf__podmeta *wf__meta(wf__schedctl *sc, const char *ns, const char *name)
{
	char *key = wf_xasprintf("%s/%s", ns, name);
	wf__podmeta *m = wf_smap_get(&sc->meta, key);
	free(key);
	return m;
}

static void wf__meta_forget(wf__schedctl *sc, const char *ns, const char *name)
{
	char *key = wf_xasprintf("%s/%s", ns, name);
	wf_smap_del(&sc->meta, key, wf__meta_fini);
	free(key);
}

static void wf__apply_node(wf__schedctl *sc, const wf_sched_node_spec *spec)
{
	wf_err err = {0};
	if (wf_sched_node_upsert(sc->s, spec, &err) < 0)
		wf__ctl_log("scheduler: node %s ignored: %s", spec->name, err.msg);
}

static void wf__apply_group(wf__schedctl *sc, const json_t *obj)
{
	wf_sched_group_spec spec;
	wf_err err = {0};
	if (wf_sched_group_from_json(obj, &spec, &err) < 0 ||
	    wf_sched_group_upsert(sc->s, &spec, &err) < 0)
		wf__ctl_log("scheduler: pod group %s ignored: %s", wf__name_of(obj), err.msg);
	wf_sched_group_spec_release(&spec);
}

/* The loop's record of pending pod ns/name, made or refreshed from d. */
static void wf__meta_track(wf__schedctl *sc, const char *ns, const char *name, const wf__delta *d)
{
	char *key = wf_xasprintf("%s/%s", ns, name);
	wf__podmeta *m = wf_smap_get(&sc->meta, key);
	if (!m) {
		m = wf_smap_add(&sc->meta, key, sizeof *m);
		/* After a restart: what the pod already shows counts as written. */
		m->msg = d->cond_msg ? wf_xstrdup(d->cond_msg) : NULL;
	} else if (strcmp(m->uid, d->uid)) {
		free(m->msg); /* the same name, another pod */
		m->msg = d->cond_msg ? wf_xstrdup(d->cond_msg) : NULL;
	}
	m->cond_false = d->cond_false;
	snprintf(m->uid, sizeof m->uid, "%s", d->uid);
	free(key);
}

static void wf__apply_pod(wf__schedctl *sc, const wf__delta *d)
{
	const wf_sched_pod_spec *spec = &d->pod;
	wf_err err = {0};
	if (wf_sched_pod_upsert(sc->s, spec, &err) < 0) {
		wf__ctl_log("scheduler: pod %s ignored: %s", spec->name, err.msg);
		return;
	}
	if (spec->terminal || spec->bound) {
		/* Nothing more to write about it: no record (memory per pod). */
		wf__meta_forget(sc, spec->ns, spec->name);
		return;
	}
	wf__meta_track(sc, spec->ns, spec->name, d);
}

static void wf__decide(wf__schedctl *sc, const wf_sched_decision *dec);

/* A pending pod whose spec the scheduler cannot use: out of the library
 * (an older spec must not be placed), and said on the pod once, as an
 * Unschedulable verdict is. */
static void wf__apply_invalid(wf__schedctl *sc, const wf__delta *d)
{
	wf_sched_pod_remove(sc->s, d->ns, d->name, NULL);
	wf__meta_track(sc, d->ns, d->name, d);
	wf_sched_decision dec = {
	    .kind = WF_SCHED_DEC_UNSCHEDULABLE, .ns = d->ns, .name = d->name, .message = d->error};
	wf__decide(sc, &dec);
}

static void wf__apply(wf__schedctl *sc, wf__delta *d, int64_t now)
{
	char *key;
	switch (d->kind) {
	case WF__D_NODE:
		wf__apply_node(sc, &d->node);
		break;
	case WF__D_NODE_GONE:
		wf_sched_node_remove(sc->s, d->name, NULL);
		break;
	case WF__D_POD:
		wf__apply_pod(sc, d);
		break;
	case WF__D_POD_GONE:
		wf_sched_pod_remove(sc->s, d->ns, d->name, NULL);
		wf__meta_forget(sc, d->ns, d->name);
		break;
	case WF__D_GROUP:
		wf__apply_group(sc, d->obj);
		break;
	case WF__D_GROUP_GONE:
		wf_sched_group_remove(sc->s, d->ns, d->name, NULL);
		key = wf_xasprintf("%s/%s", d->ns, d->name);
		wf_smap_del(&sc->timed_out, key, wf__msg_fini);
		free(key);
		break;
	case WF__D_BOUND:
		wf_sched_bound(sc->s, d->ns, d->name, NULL);
		wf__meta_forget(sc, d->ns, d->name);
		break;
	case WF__D_BIND_FAILED:
		wf_sched_bind_failed(sc->s, d->ns, d->name, now, NULL);
		break;
	case WF__D_POD_INVALID:
		wf__apply_invalid(sc, d);
		break;
	}
}

static void wf__decide(wf__schedctl *sc, const wf_sched_decision *dec)
{
	wf__podmeta *m =
	    dec->kind == WF_SCHED_DEC_GANG_TIMEOUT ? NULL : wf__meta(sc, dec->ns, dec->name);
	wf__task *t;
	switch (dec->kind) {
	case WF_SCHED_DEC_BIND:
		t = wf__task_new(WF__T_BIND, dec->ns, dec->name);
		t->node = wf_xstrdup(dec->node);
		if (m)
			snprintf(t->uid, sizeof t->uid, "%s", m->uid);
		wf__dispatch(sc, t);
		break;
	case WF_SCHED_DEC_UNSCHEDULABLE:
		if (!dec->message || (m && m->msg && !strcmp(m->msg, dec->message)))
			break; /* already said */
		t = wf__task_new(WF__T_UNSCHED, dec->ns, dec->name);
		t->msg = wf_xstrdup(dec->message);
		if (m) {
			snprintf(t->uid, sizeof t->uid, "%s", m->uid);
			t->transition = !m->cond_false;
			free(m->msg);
			m->msg = wf_xstrdup(dec->message);
			m->cond_false = true;
		} else {
			t->transition = true;
		}
		wf__dispatch(sc, t);
		break;
	case WF_SCHED_DEC_PREEMPT: {
		t = wf__task_new(WF__T_NOMINATE, dec->ns, dec->name);
		t->node = wf_xstrdup(dec->node);
		wf__dispatch(sc, t);
		char *by = wf_xasprintf("%s/%s", dec->ns, dec->name);
		for (size_t i = 0; i < dec->nvictims; i++) {
			const wf_sched_pod_ref *v = &dec->victims[i];
			t = wf__task_new(WF__T_EVICT, v->ns, v->name);
			t->node = wf_xstrdup(dec->node);
			t->by = wf_xstrdup(by);
			wf__podmeta *vm = wf__meta(sc, v->ns, v->name);
			if (vm)
				snprintf(t->uid, sizeof t->uid, "%s", vm->uid);
			wf__dispatch(sc, t);
		}
		free(by);
		break;
	}
	case WF_SCHED_DEC_GANG_TIMEOUT: {
		/* The library repeats a timeout every period: say it again only
		 * when its message changes. */
		const char *msg = dec->message ? dec->message : "pod group not scheduled in time";
		char *key = wf_xasprintf("%s/%s", dec->ns, dec->name);
		char **last = wf_smap_get(&sc->timed_out, key);
		bool same = last && !strcmp(*last, msg);
		if (!same) {
			if (!last)
				last = wf_smap_add(&sc->timed_out, key, sizeof *last);
			free(*last);
			*last = wf_xstrdup(msg);
		}
		free(key);
		if (same)
			break;
		t = wf__task_new(WF__T_GANG_TIMEOUT, dec->ns, dec->name);
		t->msg = wf_xstrdup(msg);
		wf__dispatch(sc, t);
		break;
	}
	}
}

/* Groups that timed out and are now placed: clear their condition. */
static void wf__check_timed_out(wf__schedctl *sc)
{
	if (!sc->timed_out.n)
		return;
	wf_smap_iter it = {0};
	void *v;
	while ((v = wf_smap_next(&sc->timed_out, &it))) {
		const char *key = wf_smap_key(v);
		const char *slash = strchr(key, '/');
		char *ns = wf_xstrndup(key, (size_t)(slash - key));
		wf_sched_group_info gi;
		bool placed = wf_sched_group_info_get(sc->s, ns, slash + 1, &gi) &&
			      gi.min_member > 0 && !gi.pending && !gi.assumed &&
			      gi.bound >= (size_t)gi.min_member;
		if (placed) {
			wf__dispatch(sc, wf__task_new(WF__T_GANG_PLACED, ns, slash + 1));
			wf_smap_remove(&sc->timed_out, v, wf__msg_fini);
		}
		free(ns);
	}
}

/* Whether the node and pod streams and the informers have all listed. */
static bool wf__all_listed(wf__schedctl *sc)
{
	if (!atomic_load(&sc->nodes.synced) || !atomic_load(&sc->pods.synced))
		return false;
	wf_informer *const need[] = {sc->pgs, sc->vpgs, sc->pcs};
	for (size_t i = 0; i < sizeof need / sizeof need[0]; i++)
		if (!wf_informer_synced(need[i]))
			return false;
	return true;
}

static void *wf__loop_main(void *arg)
{
	wf__schedctl *sc = arg;
	wf_controllers *c = sc->c;
	wf_sched_decision dec[WF__BATCH];
	bool synced = false;
	for (;;) {
		/* Read before the deltas are taken: once a source has listed,
		 * every delta of its list is already queued, so what is taken
		 * next holds all of it. (Read after, a list finished in between
		 * would count as applied while its deltas still wait.) */
		bool listed = synced || wf__all_listed(sc);
		pthread_mutex_lock(&sc->mu);
		if (!sc->dhead && !c->stop) {
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += (long)WF__TICK_MS * 1000000;
			if (ts.tv_nsec >= 1000000000) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000;
			}
			pthread_cond_timedwait(&sc->cond, &sc->mu, &ts);
		}
		wf__delta *d = sc->dhead;
		sc->dhead = sc->dtail = NULL;
		pthread_mutex_unlock(&sc->mu);
		int64_t now = wf__ctl_now_ms();
		while (d) {
			wf__delta *next = d->next;
			wf__apply(sc, d, now);
			wf__delta_free(d);
			d = next;
		}
		if (c->stop)
			break;
		if (!listed)
			continue;
		synced = true;
		while (atomic_load(&sc->ntasks) < WF__MAX_TASKS) {
			int n = wf_sched_schedule(sc->s, now, dec, WF__BATCH);
			for (int i = 0; i < n; i++)
				wf__decide(sc, &dec[i]);
			if (n < WF__BATCH)
				break;
		}
		wf__check_timed_out(sc);
	}
	return NULL;
}

/* ---- start / stop ------------------------------------------------------------------- */

static void wf__meta_transform(json_t *obj)
{
	json_object_del(json_object_get(obj, "metadata"), "managedFields");
	json_t *ann = json_object_get(json_object_get(obj, "metadata"), "annotations");
	json_object_del(ann, "kubectl.kubernetes.io/last-applied-configuration");
}

void wf__sched_stop(wf_controllers *c)
{
	wf__schedctl *sc = c->sched;
	if (!sc)
		return;
	/* c->stop is set: wake everyone. */
	pthread_mutex_lock(&sc->mu);
	pthread_cond_broadcast(&sc->cond);
	pthread_mutex_unlock(&sc->mu);
	if (sc->loop_started)
		pthread_join(sc->loop, NULL);
	wf_informer_free(sc->pgs);
	wf_informer_free(sc->vpgs);
	wf_informer_free(sc->pcs);
	if (sc->nodes.started)
		pthread_join(sc->nodes.thread, NULL);
	if (sc->pods.started)
		pthread_join(sc->pods.thread, NULL);
	for (int i = 0; i < WF__WORKERS; i++) /* all stop at once */
		if (sc->workers[i])
			wf_fifo_close(sc->workers[i]);
	for (int i = 0; i < WF__WORKERS; i++)
		wf_fifo_free(sc->workers[i]);
	wf_fifo_free(sc->events); /* the workers that add to it are gone */
	if (sc->events_dropped)
		wf__ctl_log("scheduler: %lu events dropped in all (event queue full)",
			    sc->events_dropped);
	while (sc->dhead) {
		wf__delta *d = sc->dhead;
		sc->dhead = d->next;
		wf__delta_free(d);
	}
	wf_smap_clear(&sc->nodes.seen, NULL);
	wf_smap_clear(&sc->pods.seen, NULL);
	wf_smap_clear(&sc->meta, wf__meta_fini);
	wf_smap_clear(&sc->timed_out, wf__msg_fini);
	wf_sched_free(sc->s);
	pthread_cond_destroy(&sc->cond);
	pthread_mutex_destroy(&sc->mu);
	free(sc);
	c->sched = NULL;
}

int wf__sched_start(wf_controllers *c, wf_err *err)
{
	wf__schedctl *sc = wf_xcalloc(1, sizeof *sc);
	sc->c = c;
	c->sched = sc;
	sc->s = wf_sched_new(NULL);
	pthread_mutex_init(&sc->mu, NULL);
	pthread_cond_init(&sc->cond, NULL);
	sc->nodes = (wf__stream){.sc = sc,
				 .path = "/api/v1/nodes",
				 .fp = wf__node_fp,
				 .changed = wf__node_changed,
				 .gone = wf__node_gone};
	sc->pods = (wf__stream){.sc = sc,
				.path = "/api/v1/pods",
				.fp = wf__pod_fp,
				.changed = wf__pod_changed,
				.gone = wf__pod_gone};

	wf_informer_handlers h = {
	    .add = wf__group_add, .update = wf__group_update, .del = wf__group_del, .ctx = sc};
	sc->pgs = wf_informer_new(c->client, "/apis/" WF__PG_GROUP "/v1alpha1/podgroups");
	sc->vpgs = wf_informer_new(c->client, "/apis/" WF__VC_GROUP "/v1beta1/podgroups");
	sc->pcs = wf_informer_new(c->client, "/apis/scheduling.k8s.io/v1/priorityclasses");
	wf_informer *const infs[] = {sc->pgs, sc->vpgs, sc->pcs};
	for (size_t i = 0; i < 3; i++)
		wf_informer_set_transform(infs[i], wf__meta_transform);
	wf_informer_add_handlers(sc->pgs, &h);
	wf_informer_add_handlers(sc->vpgs, &h);

	int rc = 0;
	for (size_t i = 0; i < 3 && rc == 0; i++)
		rc = wf_informer_start(infs[i], err);
	if (rc < 0)
		return rc;
	wf__stream *const streams[] = {&sc->nodes, &sc->pods};
	for (size_t i = 0; i < 2; i++) {
		if (pthread_create(&streams[i]->thread, NULL, wf__stream_main, streams[i]) != 0)
			return wf_err_set(err, WF_EIO, "scheduler: cannot start a thread");
		streams[i]->started = true;
		pthread_setname_np(streams[i]->thread, i ? "sched-pods" : "sched-nodes");
	}
	sc->events = wf_fifo_new("sched-events", WF__EVENT_THREADS, false, wf__event_post,
				 wf__event_free, sc);
	for (int i = 0; i < WF__WORKERS; i++)
		sc->workers[i] = wf_fifo_new("sched-api", 1, false, wf__task_run, wf__task_end, sc);
	if (pthread_create(&sc->loop, NULL, wf__loop_main, sc) != 0)
		return wf_err_set(err, WF_EIO, "scheduler: cannot start a thread");
	sc->loop_started = true;
	pthread_setname_np(sc->loop, "sched-loop");
	return 0;
}
