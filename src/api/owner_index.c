/*
 * owner_index.c - the owner index of owner_index.h: a wf_smap from owner
 * uid to the set of keys whose stored value names that uid in
 * metadata.ownerReferences.
 *
 * Design: the store watch callback runs on the store's publishing thread
 * with the store's hub locked, so it only queues the events that mention
 * "ownerReferences" (a reference to the shared event, no parsing); an
 * applier thread parses them and updates the map. Parsing a PUT's previous
 * and new value gives two uid sets, sorted and deduplicated, and only their
 * difference touches the map, so the frequent status updates of owned pods
 * change nothing.
 *
 * Invariants, all under `mu`:
 *   - seen: the revision of the last event the watch delivered;
 *   - every event with ownerReferences and revision <= seen is applied to
 *     `owners`, waiting in `queue` (in revision order), or in the batch the
 *     applier is working on (busy);
 *   - applied: every change up to this revision is in `owners`; it equals
 *     seen whenever the queue is empty and the applier idle;
 *   - each (uid, key) pair is held once: a key joins a uid's set when a
 *     value of it starts naming the uid and leaves when one stops (the
 *     store delivers every change of a key in order, with the value before).
 */
#include "api/owner_index.h"
#include "lib/wf_hash.h"

#include "lib/wf_mem.h"
#include "lib/wf_smap.h"

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define WF__OWNERS_NEEDLE "\"ownerReferences\""

typedef struct wf__ref {
	uint64_t hash; /* of key, to skip most string compares */
	char *key;
} wf__ref;

/* The keys owned by one uid (unordered). */
typedef struct wf__keyset {
	wf__ref *v;
	size_t n, cap;
} wf__keyset;

/* The distinct owner uids of one value, sorted; strings borrowed from doc. */
typedef struct wf__uids {
	json_t *doc;
	const char **v;
	size_t n;
} wf__uids;

struct wf_owner_index {
	wf_store *store;
	wf_watch *watch;
	pthread_t applier;
	bool applier_started;
	pthread_mutex_t mu;
	pthread_cond_t work_cv;	   /* the applier waits for queued events */
	pthread_cond_t applied_cv; /* lookups wait for `applied` */
	wf_smap owners;		   /* uid -> wf__keyset (inline) */
	size_t nrefs;
	wf_store_event **queue;
	size_t nqueue, capqueue;
	int64_t seen;
	int64_t applied;
	bool busy;
	bool ended; /* the watch ended: the store closed */
	bool stopping;
};

static uint64_t wf__hash(const char *s)
{
	return wf_fnv1a64(WF_FNV64_BASIS, s, strlen(s));
}

static bool wf__mentions_owners(const char *text, size_t len)
{
	return text && memmem(text, len, WF__OWNERS_NEEDLE, sizeof WF__OWNERS_NEEDLE - 1);
}

static int wf__cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void wf__uids_parse(const char *text, size_t len, wf__uids *out)
{
	memset(out, 0, sizeof *out);
	if (!wf__mentions_owners(text, len))
		return;
	json_t *doc = json_loadb(text, len, 0, NULL);
	json_t *refs = json_object_get(json_object_get(doc, "metadata"), "ownerReferences");
	if (!json_is_array(refs) || !json_array_size(refs)) {
		json_decref(doc);
		return;
	}
	out->doc = doc;
	out->v = wf_xmalloc(json_array_size(refs) * sizeof *out->v);
	size_t i;
	json_t *ref;
	json_array_foreach(refs, i, ref)
	{
		json_t *u = json_object_get(ref, "uid");
		size_t ulen = json_string_length(u);
		if (!json_is_string(u) || ulen == 0 || ulen > WF_OWNER_INDEX_MAX_UID ||
		    strlen(json_string_value(u)) != ulen)
			continue;
		out->v[out->n++] = json_string_value(u);
	}
	qsort(out->v, out->n, sizeof *out->v, wf__cmp_str);
	size_t w = 0;
	for (size_t r = 0; r < out->n; r++)
		if (!w || strcmp(out->v[w - 1], out->v[r]))
			out->v[w++] = out->v[r];
	out->n = w;
}

static void wf__uids_free(wf__uids *u)
{
	json_decref(u->doc);
	free(u->v);
	memset(u, 0, sizeof *u);
}

/* ---- the map (caller holds mu, or is the only thread) ------------------------------------ */

static void wf__link(wf_owner_index *ix, const char *uid, const char *key, uint64_t h)
{
	wf__keyset *ks = wf_smap_get(&ix->owners, uid);
	if (!ks)
		ks = wf_smap_add(&ix->owners, uid, sizeof *ks);
	if (ks->n == ks->cap) {
		ks->cap = ks->cap ? ks->cap * 2 : 4;
		ks->v = wf_xrealloc(ks->v, ks->cap * sizeof *ks->v);
	}
	ks->v[ks->n++] = (wf__ref){.hash = h, .key = wf_xstrdup(key)};
	ix->nrefs++;
}

static void wf__keyset_free(void *p)
{
	wf__keyset *ks = p;
	for (size_t i = 0; i < ks->n; i++)
		free(ks->v[i].key);
	free(ks->v);
}

static void wf__unlink(wf_owner_index *ix, const char *uid, const char *key, uint64_t h)
{
	wf__keyset *ks = wf_smap_get(&ix->owners, uid);
	if (!ks)
		return;
	for (size_t i = 0; i < ks->n; i++) {
		if (ks->v[i].hash == h && !strcmp(ks->v[i].key, key)) {
			free(ks->v[i].key);
			ks->v[i] = ks->v[--ks->n];
			ix->nrefs--;
			break;
		}
	}
	if (!ks->n)
		wf_smap_remove(&ix->owners, ks, wf__keyset_free);
}

/* Move key from the uids it had (before) to the ones it has (after). */
static void wf__apply_diff(wf_owner_index *ix, const char *key, const wf__uids *before,
			   const wf__uids *after)
{
	if (!before->n && !after->n)
		return;
	uint64_t h = wf__hash(key);
	size_t i = 0, j = 0;
	while (i < before->n || j < after->n) {
		int c = i == before->n ? 1 : j == after->n ? -1 : strcmp(before->v[i], after->v[j]);
		if (c < 0) {
			wf__unlink(ix, before->v[i++], key, h);
		} else if (c > 0) {
			wf__link(ix, after->v[j++], key, h);
		} else {
			i++;
			j++;
		}
	}
}

static void wf__clear(wf_owner_index *ix)
{
	wf_smap_clear(&ix->owners, wf__keyset_free);
	ix->nrefs = 0;
	for (size_t i = 0; i < ix->nqueue; i++)
		wf_store_event_unref(ix->queue[i]);
	free(ix->queue);
	ix->queue = NULL;
	ix->nqueue = ix->capqueue = 0;
}

/* ---- following the store ------------------------------------------------------------------ */

static int wf__range_add(void *ctx, const wf_kv *kv)
{
	wf_owner_index *ix = ctx;
	wf__uids none = {0}, now;
	wf__uids_parse(kv->value, kv->value_len, &now);
	wf__apply_diff(ix, kv->key, &none, &now);
	wf__uids_free(&now);
	return 0;
}

/* The store's publishing thread, with the store's hub locked: queue, never parse. */
static void wf__on_event(void *ctx, wf_store_event *ev)
{
	wf_owner_index *ix = ctx;
	pthread_mutex_lock(&ix->mu);
	if (!ev) {
		ix->ended = true;
		pthread_cond_broadcast(&ix->applied_cv);
	} else {
		ix->seen = ev->rev;
		if (wf__mentions_owners(ev->value, ev->value_len) ||
		    (ev->type == WF_EVENT_PUT &&
		     wf__mentions_owners(ev->prev_value, ev->prev_len))) {
			if (ix->nqueue == ix->capqueue) {
				ix->capqueue = ix->capqueue ? ix->capqueue * 2 : 64;
				ix->queue =
				    wf_xrealloc(ix->queue, ix->capqueue * sizeof *ix->queue);
			}
			ix->queue[ix->nqueue++] = wf_store_event_ref(ev);
			pthread_cond_signal(&ix->work_cv);
		} else if (!ix->busy && !ix->nqueue) {
			ix->applied = ev->rev;
			pthread_cond_broadcast(&ix->applied_cv);
		}
	}
	pthread_mutex_unlock(&ix->mu);
}

static void *wf__applier_main(void *arg)
{
	wf_owner_index *ix = arg;
	pthread_mutex_lock(&ix->mu);
	for (;;) {
		while (!ix->nqueue && !ix->stopping)
			pthread_cond_wait(&ix->work_cv, &ix->mu);
		if (ix->stopping)
			break;
		wf_store_event **batch = ix->queue;
		size_t n = ix->nqueue;
		int64_t upto = ix->seen;
		ix->queue = NULL;
		ix->nqueue = ix->capqueue = 0;
		ix->busy = true;
		pthread_mutex_unlock(&ix->mu);

		for (size_t i = 0; i < n; i++) {
			wf_store_event *ev = batch[i];
			wf__uids before, after = {0};
			if (ev->type == WF_EVENT_PUT) {
				wf__uids_parse(ev->prev_value, ev->prev_len, &before);
				wf__uids_parse(ev->value, ev->value_len, &after);
			} else {
				wf__uids_parse(ev->value, ev->value_len, &before);
			}
			pthread_mutex_lock(&ix->mu);
			wf__apply_diff(ix, ev->key, &before, &after);
			pthread_mutex_unlock(&ix->mu);
			wf__uids_free(&before);
			wf__uids_free(&after);
			wf_store_event_unref(ev);
		}
		free(batch);

		pthread_mutex_lock(&ix->mu);
		ix->busy = false;
		ix->applied = ix->nqueue ? upto : ix->seen;
		pthread_cond_broadcast(&ix->applied_cv);
	}
	pthread_mutex_unlock(&ix->mu);
	return NULL;
}

/* ---- public ------------------------------------------------------------------------------- */

int wf_owner_index_start(wf_store *store, wf_owner_index **out, wf_err *err)
{
	if (!store || !out)
		return wf_err_set(err, WF_EINVAL, "owner index needs a store");
	*out = NULL;
	wf_owner_index *ix = wf_xcalloc(1, sizeof *ix);
	ix->store = store;
	pthread_mutex_init(&ix->mu, NULL);
	pthread_cond_init(&ix->work_cv, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&ix->applied_cv, &ca);
	pthread_condattr_destroy(&ca);

	/* Compaction between the range and the watch loses the changes in
	 * between: build again from a newer range. */
	int rc = -WF_ECOMPACTED;
	for (int attempt = 0; attempt < 4 && rc == -WF_ECOMPACTED; attempt++) {
		wf__clear(ix);
		int64_t rev = 0;
		rc = wf_store_range(store, "", NULL, 0, wf__range_add, ix, &rev, NULL, err);
		if (rc < 0)
			break;
		ix->seen = ix->applied = rev;
		rc = wf_store_watch(store, "", rev, wf__on_event, ix, &ix->watch, err);
	}
	if (rc < 0)
		goto fail_build;
	if (pthread_create(&ix->applier, NULL, wf__applier_main, ix)) {
		rc = wf_err_set(err, WF_EIO, "owner index: cannot start its thread");
		goto fail_thread;
	}
	ix->applier_started = true;
	*out = ix;
	return 0;

fail_thread:
	wf_store_unwatch(ix->watch);
fail_build:
	wf__clear(ix);
	pthread_cond_destroy(&ix->applied_cv);
	pthread_cond_destroy(&ix->work_cv);
	pthread_mutex_destroy(&ix->mu);
	free(ix);
	return rc;
}

void wf_owner_index_stop(wf_owner_index *ix)
{
	if (!ix)
		return;
	wf_store_unwatch(ix->watch); /* no callback after this */
	pthread_mutex_lock(&ix->mu);
	ix->stopping = true;
	pthread_cond_signal(&ix->work_cv);
	pthread_mutex_unlock(&ix->mu);
	if (ix->applier_started)
		pthread_join(ix->applier, NULL);
	wf__clear(ix);
	pthread_cond_destroy(&ix->applied_cv);
	pthread_cond_destroy(&ix->work_cv);
	pthread_mutex_destroy(&ix->mu);
	free(ix);
}

int wf_owner_index_lookup(wf_owner_index *ix, const char *uid, char ***keys_out, size_t *n_out,
			  wf_err *err)
{
	if (keys_out)
		*keys_out = NULL;
	if (n_out)
		*n_out = 0;
	if (!ix || !uid || !keys_out || !n_out)
		return wf_err_set(err, WF_EINVAL, "owner index lookup needs an index and a uid");
	int64_t target = wf_store_revision(ix->store);
	struct timespec deadline;
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += WF_OWNER_INDEX_WAIT_MS / 1000;
	deadline.tv_nsec += (long)(WF_OWNER_INDEX_WAIT_MS % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}

	pthread_mutex_lock(&ix->mu);
	while (ix->applied < target && !ix->ended) {
		if (pthread_cond_timedwait(&ix->applied_cv, &ix->mu, &deadline) == ETIMEDOUT)
			break;
	}
	if (ix->applied < target) {
		bool ended = ix->ended;
		int64_t applied = ix->applied;
		pthread_mutex_unlock(&ix->mu);
		if (ended)
			return wf_err_set(err, WF_ECLOSED, "owner index: the store closed");
		return wf_err_set(err, WF_EIO,
				  "owner index is at revision %lld, behind the store's %lld",
				  (long long)applied, (long long)target);
	}
	const wf__keyset *ks = wf_smap_get(&ix->owners, uid);
	if (ks && ks->n) {
		char **keys = wf_xmalloc(ks->n * sizeof *keys);
		for (size_t i = 0; i < ks->n; i++)
			keys[i] = wf_xstrdup(ks->v[i].key);
		*keys_out = keys;
		*n_out = ks->n;
	}
	pthread_mutex_unlock(&ix->mu);
	return 0;
}

void wf_owner_index_keys_free(char **keys, size_t n)
{
	if (!keys)
		return;
	for (size_t i = 0; i < n; i++)
		free(keys[i]);
	free(keys);
}

void wf_owner_index_stats(wf_owner_index *ix, size_t *owners_out, size_t *refs_out,
			  int64_t *applied_out)
{
	pthread_mutex_lock(&ix->mu);
	if (owners_out)
		*owners_out = ix->owners.n;
	if (refs_out)
		*refs_out = ix->nrefs;
	if (applied_out)
		*applied_out = ix->applied;
	pthread_mutex_unlock(&ix->mu);
}
