/*
 * store.h - Wharf's versioned key-value store, with etcd's semantics.
 *
 * Every successful write gets the next revision (a global, strictly increasing
 * int64 starting at 1). Each key remembers the revision that created it
 * (create_rev) and the one that last changed it (mod_rev). Reads see the
 * latest committed state. Writes are compare-and-swap on a key's mod_rev.
 * Watches deliver every change under a key prefix after a given revision, in
 * revision order, with no gaps and no duplicates; history older than the
 * compaction point is gone and asking for it fails with -WF_ECOMPACTED.
 * The revision never goes backwards, across compaction and restarts too.
 *
 * Backends (SQLite now, etcd later) fill a wf_store_backend ops table; callers
 * use only the wf_store_* wrappers below, so nothing outside a backend knows
 * how data is kept. Keys are plain strings that a real etcd could hold
 * ("/registry/pods/default/web-1"): 1 to WF_STORE_MAX_KEY bytes, any byte but
 * NUL, compared bytewise (memcmp order). Values are any bytes, at most
 * WF_STORE_MAX_VALUE.
 *
 * Durability: a write call returns only after the write is durable (for
 * SQLite: WAL commit with synchronous=FULL). Concurrent writers are batched
 * into one commit (group commit); each caller still gets its own result.
 *
 * Threads: every function here may be called from any thread concurrently,
 * except wf_store_close, which must be the last call on the store (no call may
 * be in progress or start once it begins) but for wf_store_unwatch, which
 * stays valid, and is still needed, for the watches the store had.
 */
#ifndef WF_STORE_H
#define WF_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/wf_err.h"

#define WF_STORE_MAX_KEY 4096		 /* bytes, without the NUL */
#define WF_STORE_MAX_VALUE (1536 * 1024) /* etcd's default request limit */

typedef struct wf_store wf_store;
typedef struct wf_watch wf_watch;

/* One key's current state, as returned by get/range. Caller frees with
 * wf_kv_free (which frees key and value, not the struct itself). */
typedef struct wf_kv {
	char *key;
	char *value; /* NUL-terminated for convenience; may contain any bytes */
	size_t value_len;
	int64_t create_rev;
	int64_t mod_rev;
} wf_kv;

/* Free kv->key and kv->value and zero *kv; NULL and zeroed kvs are fine. */
void wf_kv_free(wf_kv *kv);

typedef enum wf_event_type {
	WF_EVENT_PUT = 1,    /* create or update */
	WF_EVENT_DELETE = 2, /* value holds the last state before deletion */
} wf_event_type;

/*
 * A change, shared read-only by reference between the store's history
 * window and every watcher. Take a reference to keep it past a callback.
 * key, value and prev_value are NUL-terminated (value and prev_value may
 * also hold NULs inside; use the lengths).
 *
 * cache/cache_free belong to the watch layer above the store (e.g. the
 * event encoded once as JSON, shared by every HTTP watcher). Several
 * watchers may race to fill a slot: fill it with an atomic compare-and-swap
 * (__atomic_compare_exchange_n) and free the loser's copy.
 */
typedef struct wf_store_event {
	int refcount; /* atomic; use wf_store_event_ref/unref */
	wf_event_type type;
	int64_t rev;	    /* revision of this change (mod_rev, or the delete's revision) */
	int64_t create_rev; /* create revision of the key */
	char *key;
	char *value; /* PUT: new value; DELETE: last value */
	size_t value_len;
	char *prev_value; /* PUT of an existing key: the value before; else NULL */
	size_t prev_len;
	void *cache[2];		    /* free for the watch layer: encodings cached per event */
	void (*cache_free)(void *); /* frees each non-NULL cache slot on last unref */
} wf_store_event;

/* Take one more reference; returns ev. */
wf_store_event *wf_store_event_ref(wf_store_event *ev);
/* Drop one reference; the last one frees the event (and its cache slots). NULL is fine. */
void wf_store_event_unref(wf_store_event *ev);

typedef struct wf_store_options {
	/* SQLite */
	const char *path;      /* database file; "-wal" and "-shm" files live beside it */
	int cache_kib;	       /* page cache per connection, default 2048 (0 = default) */
	int readers;	       /* read connections in the pool, default 4 (0 = default) */
	size_t history_window; /* recent events kept in memory, default 4096 (0 = default) */
	size_t history_bytes;  /* and at most this many bytes of their values (the newest
				  64 events whatever their size), default 2 MiB (0 = default) */
} wf_store_options;

/*
 * Open the SQLite-backed store at opts->path (created if missing, with its
 * directory expected to exist). Only one process may open a database at a
 * time. Errors: -WF_EINVAL (bad options), -WF_EIO (cannot open or the file is
 * not a Wharf store). On success *out owns the store; close it with
 * wf_store_close.
 */
int wf_store_open_sqlite(const wf_store_options *opts, wf_store **out, wf_err *err);
/*
 * Stop the writer (writes already queued are committed and answered), end
 * every watch (its callback gets NULL, once), close and free. Each watch
 * must still be released with wf_store_unwatch, during or after the close;
 * the last one frees what is left of the store. NULL is fine.
 */
void wf_store_close(wf_store *s);

/* Latest committed revision, and the compaction point (0 = never compacted). */
int64_t wf_store_revision(wf_store *s);
int64_t wf_store_compacted(wf_store *s);

/* Read one key into *out (caller frees with wf_kv_free). -WF_ENOENT if
 * absent, -WF_EINVAL for a bad key, -WF_EIO on a storage failure. */
int wf_store_get(wf_store *s, const char *key, wf_kv *out, wf_err *err);

/*
 * Range read: every key with the given prefix and key > start_after
 * (start_after NULL or "" = from the start), in key order, at most `limit`
 * keys (0 = no limit), all from one consistent snapshot whose revision is
 * stored in *rev_out. `fn` is called per key with a borrowed wf_kv (valid
 * only during the call); it returns 0 to continue, 1 to stop early, or a
 * negative WF_E* code to stop and make the range return that code. fn must
 * not call back into the store. prefix NULL or "" = every key.
 * *more_out (may be NULL) is set when the limit cut the range short.
 * rev_out may be NULL.
 */
typedef int (*wf_range_fn)(void *ctx, const wf_kv *kv);
int wf_store_range(wf_store *s, const char *prefix, const char *start_after, size_t limit,
		   wf_range_fn fn, void *ctx, int64_t *rev_out, bool *more_out, wf_err *err);

/* Count keys under a prefix (cheap, for memory-light checks). prefix NULL or
 * "" = every key. */
int wf_store_count(wf_store *s, const char *prefix, int64_t *count_out, wf_err *err);

/*
 * Writes. Each blocks until durable and returns the new revision in *rev_out
 * (may be NULL). value may be NULL only when len is 0.
 * create: -WF_EEXIST if the key exists.
 * update: expect_rev > 0 means "only if mod_rev == expect_rev" (-WF_ECONFLICT
 *         otherwise); expect_rev == 0 means unconditional. -WF_ENOENT if absent.
 * delete: same expect_rev rule; *old_out (may be NULL) receives the deleted kv
 *         (caller frees with wf_kv_free).
 * All: -WF_EINVAL for a bad key or negative expect_rev, -WF_ETOOBIG over the
 * size limits, -WF_EIO when the commit failed (nothing of it is visible),
 * -WF_ECLOSED when the store is closing.
 */
int wf_store_create(wf_store *s, const char *key, const char *value, size_t len, int64_t *rev_out,
		    wf_err *err);
int wf_store_update(wf_store *s, const char *key, const char *value, size_t len, int64_t expect_rev,
		    int64_t *rev_out, wf_err *err);
int wf_store_delete(wf_store *s, const char *key, int64_t expect_rev, int64_t *rev_out,
		    wf_kv *old_out, wf_err *err);

/*
 * Drop history up to and including `rev` (1 <= rev <= current revision;
 * -WF_EINVAL otherwise). Current values are kept; only the change log goes.
 * -WF_ECOMPACTED if rev <= the compaction point already. Blocks until durable.
 */
int wf_store_compact(wf_store *s, int64_t rev, wf_err *err);

/*
 * Watch every key with `prefix` (NULL or "" = every key), delivering each
 * change with revision > after_rev.
 * after_rev older than the compaction point: -WF_ECOMPACTED. after_rev must be
 * <= the current revision (a future revision is allowed and simply waits);
 * negative: -WF_EINVAL.
 *
 * `fn` gets a borrowed event (take a ref to keep it); it is called from the
 * store's threads and from this call itself (for the backlog), never
 * concurrently for one watch, and must not block or call back into the store,
 * except that it may call wf_store_unwatch (on its own watch or another).
 * After wf_store_unwatch returns, fn is never called again. When the store
 * closes, fn is called once with NULL (and the watch still awaits its
 * wf_store_unwatch).
 * On error fn may have seen part of the backlog; nothing is delivered after.
 * On success *out is the handle for wf_store_unwatch.
 */
typedef void (*wf_watch_fn)(void *ctx, wf_store_event *ev);
int wf_store_watch(wf_store *s, const char *prefix, int64_t after_rev, wf_watch_fn fn, void *ctx,
		   wf_watch **out, wf_err *err);
/*
 * End a watch and free it; exactly once per successful wf_store_watch, also
 * after the store was closed. Waits for a callback of this watch that
 * another thread is running, so do not call it while holding a lock that fn
 * takes. NULL is fine.
 */
void wf_store_unwatch(wf_watch *w);

/* Statistics for /metrics and benchmarks. */
typedef struct wf_store_stats {
	uint64_t writes;   /* acknowledged writes */
	uint64_t commits;  /* SQLite transactions (writes / commits = batch size) */
	uint64_t watchers; /* open watches */
	uint64_t window_events, window_bytes; /* the in-memory history window */
} wf_store_stats;
void wf_store_get_stats(wf_store *s, wf_store_stats *out);

#endif
