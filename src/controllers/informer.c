/*
 * informer.c - list+watch cache of one resource (see informer.h).
 *
 * Storage: an smap from key to an item holding the object's packed bytes
 * (jpack.h), its numeric resourceVersion, the list generation that last
 * saw it and one link per index. An index is an smap from value to a
 * bucket, a doubly linked list of the items with that value (in insertion
 * order), so adding and removing are O(1) whatever the bucket's size.
 *
 * Locking: only one thread changes the cache (the informer thread, or a
 * test's), so that thread reads it without a lock; `rw` is taken for
 * writing around each change and for reading by every other reader.
 * Handlers are called with no lock held, from that thread only, so they
 * see events in the order the watch delivered them. `mu`/`cond` only serve
 * the stop flag and the interruptible sleeps of the retry back-off.
 */
#include "controllers/informer.h"
#include "controllers/jpack.h"
#include "lib/wf_smap.h"
#include "lib/wf_mem.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct wf__item wf__item;

typedef struct wf__bucket {
	wf__item *head, *tail;
	size_t n;
} wf__bucket;

typedef struct wf__ilink {
	wf__item *prev, *next;
	wf__bucket *b; /* NULL: no value for this index */
} wf__ilink;

struct wf__item {
	int64_t rv;	  /* numeric resourceVersion, -1 when absent or not a number */
	uint32_t gen;	  /* the list generation that last saw it */
	uint32_t len;	  /* packed bytes, after the links */
	wf__ilink link[]; /* one per index */
};

struct wf_informer {
	wf_client *client;
	char *path;
	wf_informer_transform_fn transform;
	wf_informer_filter_fn filter;
	wf_informer_index_fn index_fn[WF_INFORMER_MAX_INDEXES];
	int nindex;
	wf_informer_handlers handlers[WF_INFORMER_MAX_HANDLERS];
	int nhandlers;

	pthread_rwlock_t rw;
	wf_smap items;				 /* key -> wf__item */
	wf_smap index[WF_INFORMER_MAX_INDEXES]; /* value -> wf__bucket */
	uint32_t gen;

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

/* A resourceVersion as a number; -1 when absent or not a plain number. */
static int64_t wf__rv_num(const char *rv)
{
	if (!rv || !rv[0] || strlen(rv) > 18)
		return -1;
	int64_t v = 0;
	for (const char *c = rv; *c; c++) {
		if (*c < '0' || *c > '9')
			return -1;
		v = v * 10 + (*c - '0');
	}
	return v;
}

wf_informer *wf_informer_new(wf_client *client, const char *path)
{
	wf_informer *inf = wf_xcalloc(1, sizeof *inf);
	inf->client = client;
	inf->path = wf_xstrdup(path);
	pthread_rwlock_init(&inf->rw, NULL);
	pthread_mutex_init(&inf->mu, NULL);
	pthread_cond_init(&inf->cond, NULL);
	return inf;
}

void wf_informer_set_transform(wf_informer *inf, wf_informer_transform_fn fn)
{
	inf->transform = fn;
}

void wf_informer_set_filter(wf_informer *inf, wf_informer_filter_fn fn)
{
	inf->filter = fn;
}

int wf_informer_add_index(wf_informer *inf, wf_informer_index_fn fn)
{
	if (inf->nindex >= WF_INFORMER_MAX_INDEXES || !fn)
		return -WF_EINVAL;
	inf->index_fn[inf->nindex] = fn;
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

static unsigned char *wf__data(const wf_informer *inf, const wf__item *it)
{
	return (unsigned char *)(uintptr_t)(it->link + inf->nindex);
}

static json_t *wf__decode(const wf_informer *inf, const wf__item *it)
{
	return wf_jpack_decode(wf__data(inf, it), it->len);
}

static void wf__link(wf_informer *inf, wf__item *it, const json_t *obj)
{
	for (int i = 0; i < inf->nindex; i++) {
		const char *v = inf->index_fn[i](obj);
		wf__ilink *l = &it->link[i];
		if (!v)
			continue;
		wf__bucket *b = wf_smap_get(&inf->index[i], v);
		if (!b)
			b = wf_smap_add(&inf->index[i], v, sizeof *b);
		l->b = b;
		l->prev = b->tail;
		if (b->tail)
			b->tail->link[i].next = it;
		else
			b->head = it;
		b->tail = it;
		b->n++;
	}
}

static void wf__unlink(wf_informer *inf, wf__item *it)
{
	for (int i = 0; i < inf->nindex; i++) {
		wf__ilink *l = &it->link[i];
		wf__bucket *b = l->b;
		if (!b)
			continue;
		if (l->prev)
			l->prev->link[i].next = l->next;
		else
			b->head = l->next;
		if (l->next)
			l->next->link[i].prev = l->prev;
		else
			b->tail = l->prev;
		if (--b->n == 0)
			wf_smap_del(&inf->index[i], wf_smap_key(b), NULL);
	}
}

/* Replace (or add) the item at key by obj (transformed), packed; under the
 * write lock. */
static void wf__store(wf_informer *inf, const char *key, wf__item *old, const json_t *obj,
		      const unsigned char *data, size_t len, int64_t rv)
{
	size_t links = (size_t)inf->nindex * sizeof(wf__ilink);
	pthread_rwlock_wrlock(&inf->rw);
	if (old) {
		wf__unlink(inf, old);
		wf_smap_del(&inf->items, key, NULL);
	}
	wf__item *it = wf_smap_add(&inf->items, key, sizeof(wf__item) + links + len);
	it->rv = rv;
	it->gen = inf->gen;
	it->len = (uint32_t)len;
	memcpy(wf__data(inf, it), data, len);
	wf__link(inf, it, obj);
	pthread_rwlock_unlock(&inf->rw);
}

static void wf__drop(wf_informer *inf, wf__item *it)
{
	pthread_rwlock_wrlock(&inf->rw);
	wf__unlink(inf, it);
	wf_smap_remove(&inf->items, it, NULL);
	pthread_rwlock_unlock(&inf->rw);
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

/* Whether the version nrv (numeric nrvn) is no newer than the cached it. */
static bool wf__not_newer(wf_informer *inf, const wf__item *it, const char *nrv, int64_t nrvn)
{
	if (it->rv >= 0 && nrvn >= 0)
		return nrvn <= it->rv;
	/* Not numbers: only the same version counts as nothing new. */
	json_t *old = wf__decode(inf, it);
	const char *orv = wf__rv(old);
	bool same = orv && nrv && !strcmp(orv, nrv);
	json_decref(old);
	return same;
}

/* An added or modified object (watch event or list item). */
static void wf__upsert(wf_informer *inf, const json_t *obj)
{
	char *key = wf_informer_key(obj);
	if (!key)
		return;
	const char *rv = wf__rv(obj);
	int64_t rvn = wf__rv_num(rv);
	wf__item *it = wf_smap_get(&inf->items, key);
	if (it && wf__not_newer(inf, it, rv, rvn)) {
		it->gen = inf->gen; /* an older or the same version (a resumed watch) */
		free(key);
		return;
	}
	json_t *old = it ? wf__decode(inf, it) : NULL;
	json_t *copy = NULL;
	unsigned char *data = NULL;
	size_t len = 0;
	if (!inf->filter || inf->filter(obj)) {
		copy = json_deep_copy(obj);
		if (copy && inf->transform)
			inf->transform(copy);
		data = wf_jpack_encode(copy, &len);
	}
	if (data && len <= UINT32_MAX) {
		wf__store(inf, key, it, copy, data, len, rvn);
		if (old)
			wf__notify_update(inf, old, copy);
		else
			wf__notify_add(inf, copy);
	} else {
		/* Not wanted (or absurdly deep): out of the cache, as received. */
		if (it)
			wf__drop(inf, it);
		if (old)
			wf__notify_update(inf, old, obj);
		else
			wf__notify_add(inf, obj);
	}
	free(data);
	json_decref(copy);
	json_decref(old);
	free(key);
}

static void wf__delete(wf_informer *inf, const json_t *obj)
{
	char *key = wf_informer_key(obj);
	if (!key)
		return;
	wf__item *it = wf_smap_get(&inf->items, key);
	int64_t rvn = wf__rv_num(wf__rv(obj));
	if (!it) {
		if (inf->filter && !inf->filter(obj))
			wf__notify_del(inf, obj); /* one the cache never held */
	} else if (rvn < 0 || it->rv < 0 || rvn >= it->rv) {
		/* (Else an older version's deletion: the cache holds a newer one.) */
		json_t *old = wf__decode(inf, it);
		wf__drop(inf, it);
		if (old)
			wf__notify_del(inf, old);
		json_decref(old);
	}
	free(key);
}

void wf_informer_apply(wf_informer *inf, const char *type, const json_t *obj)
{
	if (!type || !json_is_object(obj))
		return;
	if (!strcmp(type, "DELETED"))
		wf__delete(inf, obj);
	else if (!strcmp(type, "ADDED") || !strcmp(type, "MODIFIED"))
		wf__upsert(inf, obj);
}

/* A relist: a new generation, pages of items, then the end. */
static void wf__list_begin(wf_informer *inf)
{
	inf->gen++;
}

static void wf__list_page(wf_informer *inf, const json_t *items)
{
	size_t i;
	json_t *it;
	json_array_foreach(items, i, it)
	{
		if (json_is_object(it))
			wf__upsert(inf, it);
	}
}

/* Delete what the list did not show; mark the informer synced. */
static void wf__list_end(wf_informer *inf)
{
	wf_smap_iter iter = {0};
	wf__item *it;
	while ((it = wf_smap_next(&inf->items, &iter))) {
		if (it->gen == inf->gen)
			continue;
		json_t *old = wf__decode(inf, it);
		wf__drop(inf, it);
		if (old)
			wf__notify_del(inf, old);
		json_decref(old);
	}
	pthread_mutex_lock(&inf->mu);
	inf->synced = true;
	pthread_mutex_unlock(&inf->mu);
}

void wf_informer_replace(wf_informer *inf, const json_t *items)
{
	wf__list_begin(inf);
	wf__list_page(inf, items);
	wf__list_end(inf);
}

/* ---- reads ------------------------------------------------------------------------- */

json_t *wf_informer_get(wf_informer *inf, const char *key)
{
	if (!key)
		return NULL;
	pthread_rwlock_rdlock(&inf->rw);
	wf__item *it = wf_smap_get(&inf->items, key);
	json_t *o = it ? wf__decode(inf, it) : NULL;
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
	wf_smap_iter iter = {0};
	wf__item *it;
	while ((it = wf_smap_next(&inf->items, &iter))) {
		json_t *o = wf__decode(inf, it);
		if (o)
			json_array_append_new(arr, o);
	}
	pthread_rwlock_unlock(&inf->rw);
	return arr;
}

char **wf_informer_keys(wf_informer *inf, size_t *n)
{
	pthread_rwlock_rdlock(&inf->rw);
	size_t cnt = inf->items.n, i = 0;
	char **keys = cnt ? wf_xcalloc(cnt, sizeof *keys) : NULL;
	wf_smap_iter iter = {0};
	wf__item *it;
	while (i < cnt && (it = wf_smap_next(&inf->items, &iter)))
		keys[i++] = wf_xstrdup(wf_smap_key(it));
	pthread_rwlock_unlock(&inf->rw);
	*n = i;
	return keys;
}

void wf_informer_keys_free(char **keys, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(keys[i]);
	free(keys);
}

json_t *wf_informer_by_index(wf_informer *inf, int idx, const char *value)
{
	json_t *arr = json_array();
	if (idx < 0 || idx >= inf->nindex || !value)
		return arr;
	pthread_rwlock_rdlock(&inf->rw);
	wf__bucket *b = wf_smap_get(&inf->index[idx], value);
	for (wf__item *it = b ? b->head : NULL; it; it = it->link[idx].next) {
		json_t *o = wf__decode(inf, it);
		if (o)
			json_array_append_new(arr, o);
	}
	pthread_rwlock_unlock(&inf->rw);
	return arr;
}

size_t wf_informer_count(wf_informer *inf)
{
	pthread_rwlock_rdlock(&inf->rw);
	size_t n = inf->items.n;
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

/* List every page into the cache, then drop what the list did not show;
 * fills rv with the first page's resourceVersion (the watch resumes there,
 * and the cache ignores the older versions it replays). */
static int wf__list(wf_informer *inf, char *rv, size_t rvlen, wf_err *err)
{
	char first[64] = "";
	char *cont = NULL;
	wf__list_begin(inf);
	do {
		char *path = cont ? wf_xasprintf("%s?limit=%d&continue=%s", inf->path,
						 WF_INFORMER_PAGE, cont)
				  : wf_xasprintf("%s?limit=%d", inf->path, WF_INFORMER_PAGE);
		free(cont);
		cont = NULL;
		json_t *list = NULL;
		int rc = wf_client_get(inf->client, path, &list, err);
		free(path);
		if (rc < 0)
			return rc;
		json_t *md = json_object_get(list, "metadata");
		json_t *items = json_object_get(list, "items");
		const char *lrv = json_string_value(json_object_get(md, "resourceVersion"));
		if (!json_is_array(items) || !lrv || strlen(lrv) >= sizeof first ||
		    strlen(lrv) >= rvlen) {
			json_decref(list);
			return wf_err_set(err, WF_EIO, "list %s: not a list", inf->path);
		}
		if (!first[0])
			snprintf(first, sizeof first, "%s", lrv);
		wf__list_page(inf, items);
		const char *c = json_string_value(json_object_get(md, "continue"));
		if (c && c[0])
			cont = wf_client_escape(c);
		json_decref(list);
	} while (cont && !inf->stop);
	if (cont || inf->stop) {
		free(cont);
		return wf_err_set(err, WF_ECLOSED, "list %s: stopping", inf->path);
	}
	snprintf(rv, rvlen, "%s", first);
	wf__list_end(inf);
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
	wf_smap_clear(&inf->items, NULL);
	for (int i = 0; i < inf->nindex; i++)
		wf_smap_clear(&inf->index[i], NULL);
	pthread_cond_destroy(&inf->cond);
	pthread_mutex_destroy(&inf->mu);
	pthread_rwlock_destroy(&inf->rw);
	free(inf->path);
	free(inf);
}
