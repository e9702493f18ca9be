/*
 * informer.c - list+watch cache of one resource (see informer.h).
 *
 * Locking: `rw` guards the cache and its indexes; handlers are called with
 * no lock held, from the informer thread only, so they see events in the
 * order the watch delivered them. `mu`/`cond` only serve the stop flag and
 * the interruptible sleeps of the retry back-off.
 */
#include "controllers/informer.h"
#include "lib/wf_mem.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct wf_informer {
	wf_client *client;
	char *path;
	wf_informer_transform_fn transform;
	wf_informer_index_fn index_fn[WF_INFORMER_MAX_INDEXES];
	int nindex;
	wf_informer_handlers handlers[WF_INFORMER_MAX_HANDLERS];
	int nhandlers;

	pthread_rwlock_t rw;
	json_t *items;				/* key -> object */
	json_t *index[WF_INFORMER_MAX_INDEXES]; /* value -> {key: true} */

	pthread_mutex_t mu;
	pthread_cond_t cond;
	volatile bool stop;
	bool synced;
	bool started;
	pthread_t thread;
};

char *wf_informer_key(const json_t *obj)
{
	json_t *md = json_object_get(obj, "metadata");
	const char *name = json_string_value(json_object_get(md, "name"));
	const char *ns = json_string_value(json_object_get(md, "namespace"));
	if (!name || !name[0])
		return NULL;
	if (ns && ns[0])
		return wf_xasprintf("%s/%s", ns, name);
	return wf_xstrdup(name);
}

static const char *wf__rv(const json_t *obj)
{
	return json_string_value(
	    json_object_get(json_object_get(obj, "metadata"), "resourceVersion"));
}

wf_informer *wf_informer_new(wf_client *client, const char *path)
{
	wf_informer *inf = wf_xcalloc(1, sizeof *inf);
	inf->client = client;
	inf->path = wf_xstrdup(path);
	inf->items = json_object();
	pthread_rwlock_init(&inf->rw, NULL);
	pthread_mutex_init(&inf->mu, NULL);
	pthread_cond_init(&inf->cond, NULL);
	return inf;
}

void wf_informer_set_transform(wf_informer *inf, wf_informer_transform_fn fn)
{
	inf->transform = fn;
}

int wf_informer_add_index(wf_informer *inf, wf_informer_index_fn fn)
{
	if (inf->nindex >= WF_INFORMER_MAX_INDEXES || !fn)
		return -WF_EINVAL;
	inf->index_fn[inf->nindex] = fn;
	inf->index[inf->nindex] = json_object();
	return inf->nindex++;
}

int wf_informer_add_handlers(wf_informer *inf, const wf_informer_handlers *h)
{
	if (inf->nhandlers >= WF_INFORMER_MAX_HANDLERS || !h)
		return -WF_EINVAL;
	inf->handlers[inf->nhandlers++] = *h;
	return 0;
}

/* ---- cache ------------------------------------------------------------------ */

static void wf__index_put(wf_informer *inf, const char *key, const json_t *obj)
{
	for (int i = 0; i < inf->nindex; i++) {
		const char *v = inf->index_fn[i](obj);
		if (!v)
			continue;
		json_t *set = json_object_get(inf->index[i], v);
		if (!set) {
			set = json_object();
			json_object_set_new_nocheck(inf->index[i], v, set);
		}
		json_object_set_new_nocheck(set, key, json_true());
	}
}

static void wf__index_drop(wf_informer *inf, const char *key, const json_t *obj)
{
	for (int i = 0; i < inf->nindex; i++) {
		const char *v = inf->index_fn[i](obj);
		json_t *set = v ? json_object_get(inf->index[i], v) : NULL;
		if (!set)
			continue;
		json_object_del(set, key);
		if (!json_object_size(set))
			json_object_del(inf->index[i], v);
	}
}

static void wf__notify_add(wf_informer *inf, const json_t *obj)
{
	for (int i = 0; i < inf->nhandlers; i++)
		if (inf->handlers[i].add)
			inf->handlers[i].add(inf->handlers[i].ctx, obj);
}

static void wf__notify_update(wf_informer *inf, const json_t *old, const json_t *obj)
{
	for (int i = 0; i < inf->nhandlers; i++)
		if (inf->handlers[i].update)
			inf->handlers[i].update(inf->handlers[i].ctx, old, obj);
}

static void wf__notify_del(wf_informer *inf, const json_t *obj)
{
	for (int i = 0; i < inf->nhandlers; i++)
		if (inf->handlers[i].del)
			inf->handlers[i].del(inf->handlers[i].ctx, obj);
}

static json_t *wf__prepare(wf_informer *inf, const json_t *obj)
{
	json_t *copy = json_deep_copy(obj);
	if (copy && inf->transform)
		inf->transform(copy);
	return copy;
}

void wf_informer_apply(wf_informer *inf, const char *type, const json_t *obj)
{
	if (!type || !json_is_object(obj))
		return;
	bool del = !strcmp(type, "DELETED");
	if (!del && strcmp(type, "ADDED") && strcmp(type, "MODIFIED"))
		return;
	char *key = wf_informer_key(obj);
	if (!key)
		return;
	if (del) {
		pthread_rwlock_wrlock(&inf->rw);
		json_t *old = json_incref(json_object_get(inf->items, key));
		if (old) {
			wf__index_drop(inf, key, old);
			json_object_del(inf->items, key);
		}
		pthread_rwlock_unlock(&inf->rw);
		if (old)
			wf__notify_del(inf, old);
		json_decref(old);
		free(key);
		return;
	}
	json_t *copy = wf__prepare(inf, obj);
	pthread_rwlock_wrlock(&inf->rw);
	json_t *old = json_incref(json_object_get(inf->items, key));
	const char *orv = wf__rv(old), *nrv = wf__rv(copy);
	if (old && orv && nrv && !strcmp(orv, nrv)) {
		/* The same version again (a resumed watch): nothing changed. */
		pthread_rwlock_unlock(&inf->rw);
		json_decref(old);
		json_decref(copy);
		free(key);
		return;
	}
	if (old)
		wf__index_drop(inf, key, old);
	json_object_set_nocheck(inf->items, key, copy);
	wf__index_put(inf, key, copy);
	pthread_rwlock_unlock(&inf->rw);
	if (old)
		wf__notify_update(inf, old, copy);
	else
		wf__notify_add(inf, copy);
	json_decref(old);
	json_decref(copy);
	free(key);
}

void wf_informer_replace(wf_informer *inf, const json_t *items)
{
	json_t *fresh = json_object();
	size_t i;
	json_t *it;
	json_array_foreach(items, i, it)
	{
		if (!json_is_object(it))
			continue;
		char *key = wf_informer_key(it);
		if (!key)
			continue;
		json_t *copy = wf__prepare(inf, it);
		if (copy)
			json_object_set_new_nocheck(fresh, key, copy);
		free(key);
	}
	pthread_rwlock_wrlock(&inf->rw);
	json_t *old = inf->items;
	inf->items = fresh;
	json_incref(fresh);
	for (int k = 0; k < inf->nindex; k++) {
		json_decref(inf->index[k]);
		inf->index[k] = json_object();
	}
	const char *key;
	json_t *v;
	json_object_foreach(fresh, key, v)
	{
		wf__index_put(inf, key, v);
	}
	pthread_rwlock_unlock(&inf->rw);

	/* Tell the handlers what the list changed, outside the lock. */
	json_object_foreach(old, key, v)
	{
		if (!json_object_get(fresh, key))
			wf__notify_del(inf, v);
	}
	json_object_foreach(fresh, key, v)
	{
		json_t *o = json_object_get(old, key);
		if (!o) {
			wf__notify_add(inf, v);
		} else {
			const char *orv = wf__rv(o), *nrv = wf__rv(v);
			if (!orv || !nrv || strcmp(orv, nrv))
				wf__notify_update(inf, o, v);
		}
	}
	json_decref(old);
	json_decref(fresh);
	pthread_mutex_lock(&inf->mu);
	inf->synced = true;
	pthread_mutex_unlock(&inf->mu);
}

/* ---- reads ------------------------------------------------------------------- */

json_t *wf_informer_get(wf_informer *inf, const char *key)
{
	if (!key)
		return NULL;
	pthread_rwlock_rdlock(&inf->rw);
	json_t *o = json_incref(json_object_get(inf->items, key));
	pthread_rwlock_unlock(&inf->rw);
	return o;
}

json_t *wf_informer_get_nn(wf_informer *inf, const char *ns, const char *name)
{
	if (!name)
		return NULL;
	char *key = ns && ns[0] ? wf_xasprintf("%s/%s", ns, name) : wf_xstrdup(name);
	json_t *o = wf_informer_get(inf, key);
	free(key);
	return o;
}

json_t *wf_informer_list(wf_informer *inf)
{
	json_t *arr = json_array();
	pthread_rwlock_rdlock(&inf->rw);
	const char *key;
	json_t *v;
	json_object_foreach(inf->items, key, v)
	{
		json_array_append(arr, v);
	}
	pthread_rwlock_unlock(&inf->rw);
	return arr;
}

json_t *wf_informer_by_index(wf_informer *inf, int idx, const char *value)
{
	json_t *arr = json_array();
	if (idx < 0 || idx >= inf->nindex || !value)
		return arr;
	pthread_rwlock_rdlock(&inf->rw);
	json_t *set = json_object_get(inf->index[idx], value);
	const char *key;
	json_t *v;
	json_object_foreach(set, key, v)
	{
		json_t *o = json_object_get(inf->items, key);
		if (o)
			json_array_append(arr, o);
	}
	pthread_rwlock_unlock(&inf->rw);
	return arr;
}

size_t wf_informer_count(wf_informer *inf)
{
	pthread_rwlock_rdlock(&inf->rw);
	size_t n = json_object_size(inf->items);
	pthread_rwlock_unlock(&inf->rw);
	return n;
}

bool wf_informer_synced(wf_informer *inf)
{
	pthread_mutex_lock(&inf->mu);
	bool s = inf->synced;
	pthread_mutex_unlock(&inf->mu);
	return s;
}

bool wf_informer_wait_synced(wf_informer *inf, int timeout_ms)
{
	for (int waited = 0;; waited += 10) {
		if (wf_informer_synced(inf))
			return true;
		if (waited >= timeout_ms || inf->stop)
			return false;
		usleep(10000);
	}
}

/* ---- list + watch thread ---------------------------------------------------------- */

/* Sleep ms unless asked to stop; false when stopping. */
static bool wf__nap(wf_informer *inf, int ms)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&inf->mu);
	while (!inf->stop) {
		if (pthread_cond_timedwait(&inf->cond, &inf->mu, &ts) != 0)
			break;
	}
	bool go = !inf->stop;
	pthread_mutex_unlock(&inf->mu);
	return go;
}

typedef struct wf__watch_state {
	wf_informer *inf;
	char rv[64];
	bool expired;
	long events;
} wf__watch_state;

static bool wf__on_watch_event(void *ctx, const char *type, json_t *obj)
{
	wf__watch_state *w = ctx;
	if (w->inf->stop)
		return false;
	if (!strcmp(type, "ERROR")) {
		/* 410 Expired or anything else the server could not serve: relist. */
		w->expired = true;
		return false;
	}
	const char *rv = wf__rv(obj);
	if (rv && rv[0] && strlen(rv) < sizeof w->rv)
		snprintf(w->rv, sizeof w->rv, "%s", rv);
	w->events++;
	if (!strcmp(type, "BOOKMARK"))
		return true;
	wf_informer_apply(w->inf, type, obj);
	return true;
}

/* List and replace the cache; fills rv. */
static int wf__list(wf_informer *inf, char *rv, size_t rvlen, wf_err *err)
{
	json_t *list = NULL;
	int rc = wf_client_get(inf->client, inf->path, &list, err);
	if (rc < 0)
		return rc;
	json_t *items = json_object_get(list, "items");
	const char *lrv = wf__rv(list);
	if (!json_is_array(items) || !lrv || strlen(lrv) >= rvlen) {
		json_decref(list);
		return wf_err_set(err, WF_EIO, "list %s: not a list", inf->path);
	}
	snprintf(rv, rvlen, "%s", lrv);
	wf_informer_replace(inf, items);
	json_decref(list);
	return 0;
}

static int64_t wf__mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void *wf__informer_main(void *arg)
{
	wf_informer *inf = arg;
	wf__watch_state w = {.inf = inf};
	bool need_list = true, failing = false;
	int backoff = 100;
	unsigned seed = (unsigned)(uintptr_t)inf ^ (unsigned)time(NULL);
	while (!inf->stop) {
		wf_err err = {0};
		if (need_list) {
			if (wf__list(inf, w.rv, sizeof w.rv, &err) < 0) {
				if (!failing)
					fprintf(stderr, "wharf: controllers: %s\n", err.msg);
				failing = true;
				if (!wf__nap(inf, backoff))
					break;
				backoff = backoff < 2500 ? backoff * 2 : 5000;
				continue;
			}
			need_list = false;
		}
		int timeout = 300 + (int)(rand_r(&seed) % 300);
		char *path =
		    wf_xasprintf("%s?watch=true&allowWatchBookmarks=true&resourceVersion=%s"
				 "&timeoutSeconds=%d",
				 inf->path, w.rv, timeout);
		w.expired = false;
		w.events = 0;
		int64_t began = wf__mono_ms();
		int rc =
		    wf_client_watch(inf->client, path, wf__on_watch_event, &w, &inf->stop, &err);
		free(path);
		if (inf->stop)
			break;
		if (w.expired) {
			need_list = true;
			continue;
		}
		if (rc < 0 || (w.events == 0 && wf__mono_ms() - began < 1000)) {
			/* The server is away, or answered with something that is not
			 * a watch: wait, then list again in case events were lost. */
			if (rc < 0 && !failing)
				fprintf(stderr, "wharf: controllers: %s\n", err.msg);
			failing = true;
			need_list = true;
			if (!wf__nap(inf, backoff))
				break;
			backoff = backoff < 2500 ? backoff * 2 : 5000;
			continue;
		}
		failing = false;
		backoff = 100;
	}
	return NULL;
}

int wf_informer_start(wf_informer *inf, wf_err *err)
{
	if (inf->started)
		return wf_err_set(err, WF_EINVAL, "informer %s already started", inf->path);
	if (pthread_create(&inf->thread, NULL, wf__informer_main, inf) != 0)
		return wf_err_set(err, WF_EIO, "informer %s: cannot start a thread", inf->path);
	inf->started = true;
	return 0;
}

void wf_informer_stop(wf_informer *inf)
{
	pthread_mutex_lock(&inf->mu);
	inf->stop = true;
	pthread_cond_broadcast(&inf->cond);
	pthread_mutex_unlock(&inf->mu);
}

void wf_informer_free(wf_informer *inf)
{
	if (!inf)
		return;
	wf_informer_stop(inf);
	if (inf->started)
		pthread_join(inf->thread, NULL);
	json_decref(inf->items);
	for (int i = 0; i < inf->nindex; i++)
		json_decref(inf->index[i]);
	pthread_cond_destroy(&inf->cond);
	pthread_mutex_destroy(&inf->mu);
	pthread_rwlock_destroy(&inf->rw);
	free(inf->path);
	free(inf);
}
