/*
 * store.c - the backend-independent half of the store: the public wrappers
 * (argument checks, then one call through the backend's ops table),
 * refcounted events, the in-memory history window and the watch fan-out.
 *
 * The hub (struct wf_store) keeps, under one mutex `mu`:
 *   - `published`: the revision of the last event handed to wf__store_publish;
 *   - the history window: a ring of the last published events (at most
 *     `cap`, and beyond the newest WF__WINDOW_MIN at most `max_bytes` of
 *     values), whose revisions are contiguous and end at `published`; older
 *     history comes from the backend's log;
 *   - the list of watchers, and the compaction point as the hub knows it.
 * The publisher holds `mu` for a whole batch (window update and callbacks),
 * so a new watch sees either all of a batch or none of it.
 *
 * How a watch starts without gap or duplicate while writes go on: under `mu`
 * it reads P = published and joins the list in catch-up mode, in which the
 * publisher does not call fn but appends the events (all > P) to the
 * watcher's `pending` queue. Outside `mu` the caller then replays the backlog
 * (after_rev, P] - copied from the window while under `mu` when the window
 * covers it, else read from the backend's log - then drains `pending`, and
 * when it finds `pending` empty (under the watcher's own mutex) flips the
 * watcher to live; from then on the publisher calls fn itself. Each watcher
 * also drops events <= after_rev, which covers watches from a future
 * revision.
 *
 * No callback after unwatch: live callbacks run with `mu` held and unwatch
 * takes `mu` to unlink, so it waits out a batch in progress. A callback
 * (which runs on the publishing thread, holding `mu`) may itself call
 * unwatch: a thread-local marks "this thread holds mu for this store", and
 * unwatch then only marks the watcher dead; the publisher frees it at the
 * end of the batch.
 *
 * Close frees the backend and the window, but the hub itself (its mutex and
 * the list) lives on until the last watch is unwatched, so that unwatch
 * stays safe during and after close.
 */
#include "store/store_backend.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "lib/wf_mem.h"

#define WF__DEFAULT_WINDOW 4096
#define WF__DEFAULT_WINDOW_BYTES (2u << 20)
#define WF__WINDOW_MIN 64 /* events kept whatever their size */

struct wf_watch {
	wf_store *s;
	char *prefix;
	size_t prefix_len;
	int64_t after_rev;
	wf_watch_fn fn;
	void *ctx;
	bool dead; /* unwatched from a callback; freed by the publisher (under s->mu) */
	struct wf_watch *prev, *next; /* s->watchers, under s->mu */

	pthread_mutex_t mu; /* guards live and pending */
	bool live;
	wf_store_event **pending;
	size_t npending, cap;
};

struct wf_store {
	const wf_store_backend_ops *ops;
	void *be;

	pthread_mutex_t mu;
	bool closed; /* close began: no new watches */
	bool ended;  /* close done: the last unwatch frees the hub */
	int64_t published;
	int64_t compacted;
	wf_store_event **ring;
	size_t ring_cap, ring_start, ring_count;
	size_t ring_bytes, ring_max_bytes; /* values and previous values held */
	wf_watch *watchers;
	uint64_t nwatchers;
};

/* The store whose `mu` this thread holds while running callbacks, if any. */
static _Thread_local wf_store *wf__in_callbacks;

/* ---- kv and events ------------------------------------------------------ */

void wf_kv_free(wf_kv *kv)
{
	if (!kv)
		return;
	free(kv->key);
	free(kv->value);
	memset(kv, 0, sizeof *kv);
}

wf_store_event *wf_store_event_ref(wf_store_event *ev)
{
	__atomic_add_fetch(&ev->refcount, 1, __ATOMIC_RELAXED);
	return ev;
}

void wf_store_event_unref(wf_store_event *ev)
{
	if (!ev || __atomic_sub_fetch(&ev->refcount, 1, __ATOMIC_ACQ_REL) != 0)
		return;
	if (ev->cache_free) {
		for (size_t i = 0; i < sizeof ev->cache / sizeof ev->cache[0]; i++)
			if (ev->cache[i])
				ev->cache_free(ev->cache[i]);
	}
	free(ev);
}

wf_store_event *wf__store_event_new(wf_event_type type, int64_t rev, int64_t create_rev,
				    const char *key, size_t key_len, const void *value,
				    size_t value_len, const void *prev, size_t prev_len)
{
	size_t total = sizeof(wf_store_event) + key_len + 1 + value_len + 1;
	if (prev)
		total += prev_len + 1;
	wf_store_event *ev = wf_xcalloc(1, total);
	char *p = (char *)(ev + 1);
	ev->refcount = 1;
	ev->type = type;
	ev->rev = rev;
	ev->create_rev = create_rev;
	ev->key = p;
	memcpy(p, key, key_len);
	p += key_len + 1;
	ev->value = p;
	if (value_len)
		memcpy(p, value, value_len);
	ev->value_len = value_len;
	p += value_len + 1;
	if (prev) {
		ev->prev_value = p;
		if (prev_len)
			memcpy(p, prev, prev_len);
		ev->prev_len = prev_len;
	}
	return ev;
}

/* ---- hub lifecycle ------------------------------------------------------ */

wf_store *wf__store_new(const wf_store_options *opts)
{
	wf_store *s = wf_xcalloc(1, sizeof *s);
	pthread_mutex_init(&s->mu, NULL);
	s->ring_cap = opts && opts->history_window ? opts->history_window : WF__DEFAULT_WINDOW;
	s->ring = wf_xcalloc(s->ring_cap, sizeof *s->ring);
	s->ring_max_bytes = opts && opts->history_bytes ? opts->history_bytes
							: WF__DEFAULT_WINDOW_BYTES;
	return s;
}

void wf__store_attach(wf_store *s, const wf_store_backend_ops *ops, void *be)
{
	s->ops = ops;
	s->be = be;
	s->published = ops->revision(be);
	s->compacted = ops->compacted(be);
}

static wf_store_event *wf__ring_at(wf_store *s, size_t i)
{
	return s->ring[(s->ring_start + i) % s->ring_cap];
}

static size_t wf__event_bytes(const wf_store_event *ev)
{
	return ev->value_len + ev->prev_len;
}

static void wf__ring_drop_oldest(wf_store *s)
{
	s->ring_bytes -= wf__event_bytes(s->ring[s->ring_start]);
	wf_store_event_unref(s->ring[s->ring_start]);
	s->ring[s->ring_start] = NULL;
	s->ring_start = (s->ring_start + 1) % s->ring_cap;
	s->ring_count--;
}

static void wf__ring_push(wf_store *s, wf_store_event *ev)
{
	if (s->ring_count == s->ring_cap)
		wf__ring_drop_oldest(s);
	size_t bytes = wf__event_bytes(ev);
	while (s->ring_count >= WF__WINDOW_MIN && s->ring_bytes + bytes > s->ring_max_bytes)
		wf__ring_drop_oldest(s);
	s->ring[(s->ring_start + s->ring_count) % s->ring_cap] = ev;
	s->ring_count++;
	s->ring_bytes += bytes;
}

static void wf__watch_free(wf_watch *w)
{
	for (size_t i = 0; i < w->npending; i++)
		wf_store_event_unref(w->pending[i]);
	free(w->pending);
	pthread_mutex_destroy(&w->mu);
	free(w->prefix);
	free(w);
}

static void wf__watch_unlink(wf_store *s, wf_watch *w)
{
	if (w->prev)
		w->prev->next = w->next;
	else
		s->watchers = w->next;
	if (w->next)
		w->next->prev = w->prev;
	w->prev = w->next = NULL;
}

/* Free the watches that callbacks unwatched (under s->mu). */
static void wf__reap_dead(wf_store *s)
{
	for (wf_watch *w = s->watchers, *next; w; w = next) {
		next = w->next;
		if (w->dead) {
			wf__watch_unlink(s, w);
			wf__watch_free(w);
		}
	}
}

static void wf__hub_free(wf_store *s)
{
	while (s->ring_count)
		wf__ring_drop_oldest(s);
	free(s->ring);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

void wf__store_discard(wf_store *s)
{
	if (s)
		wf__hub_free(s);
}

void wf_store_close(wf_store *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->mu);
	s->closed = true;
	pthread_mutex_unlock(&s->mu);

	/* The writer may still publish the writes it had queued. */
	s->ops->close(s->be);

	s->ops = NULL;
	s->be = NULL;

	pthread_mutex_lock(&s->mu);
	wf__in_callbacks = s;
	for (wf_watch *w = s->watchers; w; w = w->next)
		if (!w->dead)
			w->fn(w->ctx, NULL);
	wf__in_callbacks = NULL;
	wf__reap_dead(s);
	while (s->ring_count)
		wf__ring_drop_oldest(s);
	s->ended = true;
	bool last = !s->watchers;
	pthread_mutex_unlock(&s->mu);
	if (last)
		wf__hub_free(s);
}

/* ---- publishing --------------------------------------------------------- */

static bool wf__watch_matches(const wf_watch *w, const wf_store_event *ev)
{
	return ev->rev > w->after_rev && strncmp(ev->key, w->prefix, w->prefix_len) == 0;
}

static void wf__pending_push(wf_watch *w, wf_store_event *ev)
{
	if (w->npending == w->cap) {
		w->cap = w->cap ? w->cap * 2 : 16;
		w->pending = wf_xrealloc(w->pending, w->cap * sizeof *w->pending);
	}
	w->pending[w->npending++] = wf_store_event_ref(ev);
}

void wf__store_publish(wf_store *s, wf_store_event **evs, size_t n)
{
	if (n == 0)
		return;
	pthread_mutex_lock(&s->mu);
	wf_store *outer = wf__in_callbacks;
	wf__in_callbacks = s;
	for (wf_watch *w = s->watchers; w; w = w->next) {
		if (w->dead)
			continue;
		pthread_mutex_lock(&w->mu);
		bool live = w->live;
		if (!live) {
			for (size_t i = 0; i < n; i++)
				if (wf__watch_matches(w, evs[i]))
					wf__pending_push(w, evs[i]);
		}
		pthread_mutex_unlock(&w->mu);
		if (!live)
			continue;
		for (size_t i = 0; i < n && !w->dead; i++)
			if (wf__watch_matches(w, evs[i]))
				w->fn(w->ctx, evs[i]);
	}
	wf__in_callbacks = outer;
	wf__reap_dead(s);
	for (size_t i = 0; i < n; i++) {
		if (evs[i]->rev > s->compacted)
			wf__ring_push(s, evs[i]);
		else
			wf_store_event_unref(evs[i]);
	}
	s->published = evs[n - 1]->rev;
	pthread_mutex_unlock(&s->mu);
}

void wf__store_note_compacted(wf_store *s, int64_t rev)
{
	pthread_mutex_lock(&s->mu);
	if (rev > s->compacted)
		s->compacted = rev;
	while (s->ring_count && wf__ring_at(s, 0)->rev <= s->compacted)
		wf__ring_drop_oldest(s);
	pthread_mutex_unlock(&s->mu);
}

/* ---- watches ------------------------------------------------------------ */

/* Backlog from the backend: ev is ours to drop. */
static void wf__watch_replay_owned(void *ctx, wf_store_event *ev)
{
	wf_watch *w = ctx;
	if (wf__watch_matches(w, ev))
		w->fn(w->ctx, ev);
	wf_store_event_unref(ev);
}

/* Deliver what the publisher queued meanwhile, then go live. */
static void wf__watch_drain(wf_watch *w)
{
	for (;;) {
		pthread_mutex_lock(&w->mu);
		if (w->npending == 0) {
			w->live = true;
			pthread_mutex_unlock(&w->mu);
			return;
		}
		wf_store_event **batch = w->pending;
		size_t n = w->npending;
		w->pending = NULL;
		w->npending = w->cap = 0;
		pthread_mutex_unlock(&w->mu);
		for (size_t i = 0; i < n; i++) {
			w->fn(w->ctx, batch[i]);
			wf_store_event_unref(batch[i]);
		}
		free(batch);
	}
}

static bool wf__key_ok(const char *key, wf_err *err, int *rc)
{
	if (!key || !key[0]) {
		*rc = wf_err_set(err, WF_EINVAL, "store key must not be empty");
		return false;
	}
	if (strnlen(key, WF_STORE_MAX_KEY + 1) > WF_STORE_MAX_KEY) {
		*rc =
		    wf_err_set(err, WF_EINVAL, "store key longer than %d bytes", WF_STORE_MAX_KEY);
		return false;
	}
	return true;
}

/* NULL = "", and no longer than a key can be. */
static bool wf__prefix_ok(const char **p, const char *what, wf_err *err, int *rc)
{
	if (!*p)
		*p = "";
	if (strnlen(*p, WF_STORE_MAX_KEY + 1) > WF_STORE_MAX_KEY) {
		*rc = wf_err_set(err, WF_EINVAL, "store %s longer than %d bytes", what,
				 WF_STORE_MAX_KEY);
		return false;
	}
	return true;
}

int wf_store_watch(wf_store *s, const char *prefix, int64_t after_rev, wf_watch_fn fn, void *ctx,
		   wf_watch **out, wf_err *err)
{
	int rc = 0;
	if (out)
		*out = NULL;
	if (!s || !fn || !out)
		return wf_err_set(err, WF_EINVAL, "store watch needs a store, a callback and out");
	if (!wf__prefix_ok(&prefix, "watch prefix", err, &rc))
		return rc;
	if (after_rev < 0)
		return wf_err_set(err, WF_EINVAL, "watch revision %lld is negative",
				  (long long)after_rev);

	wf_watch *w = wf_xcalloc(1, sizeof *w);
	w->s = s;
	w->prefix_len = strlen(prefix);
	w->prefix = wf_xstrndup(prefix, w->prefix_len);
	w->after_rev = after_rev;
	w->fn = fn;
	w->ctx = ctx;
	pthread_mutex_init(&w->mu, NULL);

	wf_store_event **backlog = NULL;
	size_t nbacklog = 0;
	bool from_backend = false;

	pthread_mutex_lock(&s->mu);
	if (s->closed) {
		pthread_mutex_unlock(&s->mu);
		wf__watch_free(w);
		return wf_err_set(err, WF_ECLOSED, "store is closing");
	}
	if (after_rev < s->compacted) {
		int64_t c = s->compacted;
		pthread_mutex_unlock(&s->mu);
		wf__watch_free(w);
		return wf_err_set(err, WF_ECOMPACTED,
				  "revision %lld has been compacted (compaction point %lld)",
				  (long long)after_rev, (long long)c);
	}
	int64_t upto = s->published;
	if (after_rev >= upto) {
		w->live = true;
	} else if (s->ring_count && wf__ring_at(s, 0)->rev <= after_rev + 1) {
		backlog = wf_xmalloc(s->ring_count * sizeof *backlog);
		for (size_t i = 0; i < s->ring_count; i++) {
			wf_store_event *ev = wf__ring_at(s, i);
			if (wf__watch_matches(w, ev))
				backlog[nbacklog++] = wf_store_event_ref(ev);
		}
	} else {
		from_backend = true;
	}
	w->next = s->watchers;
	if (s->watchers)
		s->watchers->prev = w;
	s->watchers = w;
	s->nwatchers++;
	pthread_mutex_unlock(&s->mu);

	if (from_backend) {
		rc = s->ops->history(s->be, w->prefix, after_rev, upto, wf__watch_replay_owned, w,
				     err);
		if (rc < 0) {
			wf_store_unwatch(w);
			return rc;
		}
	}
	for (size_t i = 0; i < nbacklog; i++) {
		fn(ctx, backlog[i]);
		wf_store_event_unref(backlog[i]);
	}
	free(backlog);
	if (!w->live)
		wf__watch_drain(w);
	*out = w;
	return 0;
}

void wf_store_unwatch(wf_watch *w)
{
	if (!w)
		return;
	wf_store *s = w->s;
	if (wf__in_callbacks == s) {
		/* Called from a callback: this thread already holds s->mu. */
		if (!w->dead) {
			w->dead = true;
			s->nwatchers--;
		}
		return;
	}
	pthread_mutex_lock(&s->mu);
	wf__watch_unlink(s, w);
	s->nwatchers--;
	bool last = s->ended && !s->watchers;
	pthread_mutex_unlock(&s->mu);
	wf__watch_free(w);
	if (last)
		wf__hub_free(s);
}

/* ---- wrappers ----------------------------------------------------------- */

int64_t wf_store_revision(wf_store *s)
{
	return s->ops->revision(s->be);
}

int64_t wf_store_compacted(wf_store *s)
{
	return s->ops->compacted(s->be);
}

void wf_store_get_stats(wf_store *s, wf_store_stats *out)
{
	memset(out, 0, sizeof *out);
	s->ops->stats(s->be, out);
	pthread_mutex_lock(&s->mu);
	out->watchers = s->nwatchers;
	out->window_events = s->ring_count;
	out->window_bytes = s->ring_bytes;
	pthread_mutex_unlock(&s->mu);
}

int wf_store_get(wf_store *s, const char *key, wf_kv *out, wf_err *err)
{
	int rc = 0;
	if (!out)
		return wf_err_set(err, WF_EINVAL, "store get needs out");
	memset(out, 0, sizeof *out);
	if (!wf__key_ok(key, err, &rc))
		return rc;
	return s->ops->get(s->be, key, out, err);
}

int wf_store_range(wf_store *s, const char *prefix, const char *start_after, size_t limit,
		   wf_range_fn fn, void *ctx, int64_t *rev_out, bool *more_out, wf_err *err)
{
	int rc = 0;
	int64_t rev = 0;
	bool more = false;
	if (more_out)
		*more_out = false;
	if (!fn)
		return wf_err_set(err, WF_EINVAL, "store range needs a callback");
	if (!wf__prefix_ok(&prefix, "range prefix", err, &rc) ||
	    !wf__prefix_ok(&start_after, "range start", err, &rc))
		return rc;
	rc = s->ops->range(s->be, prefix, start_after, limit, fn, ctx, &rev, &more, err);
	if (rc < 0)
		return rc;
	if (rev_out)
		*rev_out = rev;
	if (more_out)
		*more_out = more;
	return rc;
}

int wf_store_count(wf_store *s, const char *prefix, int64_t *count_out, wf_err *err)
{
	int rc = 0;
	if (!count_out)
		return wf_err_set(err, WF_EINVAL, "store count needs count_out");
	*count_out = 0;
	if (!wf__prefix_ok(&prefix, "count prefix", err, &rc))
		return rc;
	return s->ops->count(s->be, prefix, count_out, err);
}

static bool wf__value_ok(const char *value, size_t len, wf_err *err, int *rc)
{
	if (!value && len) {
		*rc = wf_err_set(err, WF_EINVAL, "store value is NULL with length %zu", len);
		return false;
	}
	if (len > WF_STORE_MAX_VALUE) {
		*rc = wf_err_set(err, WF_ETOOBIG,
				 "store value of %zu bytes is over the %d byte limit", len,
				 WF_STORE_MAX_VALUE);
		return false;
	}
	return true;
}

static bool wf__expect_ok(int64_t expect_rev, wf_err *err, int *rc)
{
	if (expect_rev < 0) {
		*rc = wf_err_set(err, WF_EINVAL, "expected revision %lld is negative",
				 (long long)expect_rev);
		return false;
	}
	return true;
}

int wf_store_create(wf_store *s, const char *key, const char *value, size_t len, int64_t *rev_out,
		    wf_err *err)
{
	int rc = 0;
	int64_t rev = 0;
	if (!wf__key_ok(key, err, &rc) || !wf__value_ok(value, len, err, &rc))
		return rc;
	rc = s->ops->create(s->be, key, value ? value : "", len, &rev, err);
	if (rc == 0 && rev_out)
		*rev_out = rev;
	return rc;
}

int wf_store_update(wf_store *s, const char *key, const char *value, size_t len, int64_t expect_rev,
		    int64_t *rev_out, wf_err *err)
{
	int rc = 0;
	int64_t rev = 0;
	if (!wf__key_ok(key, err, &rc) || !wf__value_ok(value, len, err, &rc) ||
	    !wf__expect_ok(expect_rev, err, &rc))
		return rc;
	rc = s->ops->update(s->be, key, value ? value : "", len, expect_rev, &rev, err);
	if (rc == 0 && rev_out)
		*rev_out = rev;
	return rc;
}

int wf_store_delete(wf_store *s, const char *key, int64_t expect_rev, int64_t *rev_out,
		    wf_kv *old_out, wf_err *err)
{
	int rc = 0;
	int64_t rev = 0;
	if (old_out)
		memset(old_out, 0, sizeof *old_out);
	if (!wf__key_ok(key, err, &rc) || !wf__expect_ok(expect_rev, err, &rc))
		return rc;
	rc = s->ops->del(s->be, key, expect_rev, &rev, old_out, err);
	if (rc == 0 && rev_out)
		*rev_out = rev;
	return rc;
}

int wf_store_compact(wf_store *s, int64_t rev, wf_err *err)
{
	if (rev < 1)
		return wf_err_set(err, WF_EINVAL, "compaction revision %lld is not positive",
				  (long long)rev);
	return s->ops->compact(s->be, rev, err);
}
