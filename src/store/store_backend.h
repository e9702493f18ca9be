/*
 * store_backend.h - the ops table a storage backend fills, and the hub
 * functions (history window, watch fan-out, shared events) that store.c
 * offers to every backend.
 *
 * Private to src/store/.
 *
 * A backend's open function does, in order:
 *   s = wf__store_new(opts);            the hub: window, watchers
 *   be = <open the backend, keep s>;     it may start threads
 *   wf__store_attach(s, &ops, be);       the store is now usable
 * After each durable write batch the backend calls wf__store_publish with
 * the batch's events, from one thread at a time and in revision order, and
 * only then acknowledges the writers. Callers never see the backend: every
 * public wf_store_* function goes through the wrappers in store.c, the one
 * place for argument checks, so the backend may assume valid arguments
 * (key non-empty and short enough, value within limits and non-NULL,
 * expect_rev >= 0, prefix and start_after non-NULL, out pointers non-NULL
 * except delete's old_out).
 */
#ifndef WF_STORE_BACKEND_H
#define WF_STORE_BACKEND_H

#include "store/store.h"

#define WF_STORE_BACKEND_VERSION 1

/* Receives replayed history; takes ownership of ev's reference. */
typedef void (*wf_store_history_fn)(void *ctx, wf_store_event *ev);

/* Version 1 of the backend interface. Every member is required. */
typedef struct wf_store_backend_ops {
	int version; /* WF_STORE_BACKEND_VERSION */
	const char *name;
	/* Answer queued writes, stop threads, free be. No publish after it returns. */
	void (*close)(void *be);
	int64_t (*revision)(void *be);
	int64_t (*compacted)(void *be);
	/* writes and commits; the hub fills watchers */
	void (*stats)(void *be, wf_store_stats *out);
	int (*get)(void *be, const char *key, wf_kv *out, wf_err *err);
	/* "" = no prefix / no start_after; limit 0 = none */
	int (*range)(void *be, const char *prefix, const char *start_after, size_t limit,
		     wf_range_fn fn, void *ctx, int64_t *rev_out, bool *more_out, wf_err *err);
	int (*count)(void *be, const char *prefix, int64_t *count_out, wf_err *err);
	int (*create)(void *be, const char *key, const char *value, size_t len, int64_t *rev_out,
		      wf_err *err);
	int (*update)(void *be, const char *key, const char *value, size_t len, int64_t expect_rev,
		      int64_t *rev_out, wf_err *err);
	int (*del)(void *be, const char *key, int64_t expect_rev, int64_t *rev_out, wf_kv *old_out,
		   wf_err *err);
	int (*compact)(void *be, int64_t rev, wf_err *err);
	/*
	 * Replay history from one consistent snapshot: call fn for each change
	 * to a key with `prefix` with rev in (after_rev, upto_rev], in order,
	 * events newly allocated (refcount 1; fn takes ownership). upto_rev is
	 * at most the published revision. -WF_ECOMPACTED (before calling fn at
	 * all) if after_rev is below the snapshot's compaction point.
	 */
	int (*history)(void *be, const char *prefix, int64_t after_rev, int64_t upto_rev,
		       wf_store_history_fn fn, void *ctx, wf_err *err);
} wf_store_backend_ops;

/* A hub with no backend yet (only opts->history_window is used; 0 = default). */
wf_store *wf__store_new(const wf_store_options *opts);
/* Connect the backend; the published revision starts at ops->revision(be). */
void wf__store_attach(wf_store *s, const wf_store_backend_ops *ops, void *be);
/* Free a hub that never got a backend (open failed). */
void wf__store_discard(wf_store *s);

/*
 * A new event (refcount 1) holding copies of key, value and prev (prev NULL =
 * none). One allocation.
 */
wf_store_event *wf__store_event_new(wf_event_type type, int64_t rev, int64_t create_rev,
				    const char *key, size_t key_len, const void *value,
				    size_t value_len, const void *prev, size_t prev_len);

/*
 * Publish a durable batch: evs[0..n) in increasing, contiguous revision
 * order, continuing the last published revision. Takes ownership of one
 * reference of each event. Delivers to every live watcher (calling their
 * callbacks on this thread) and keeps them in the history window.
 */
void wf__store_publish(wf_store *s, wf_store_event **evs, size_t n);
/* A compaction to `rev` is durable: new watches below it fail, the window drops it. */
void wf__store_note_compacted(wf_store *s, int64_t rev);

#endif
