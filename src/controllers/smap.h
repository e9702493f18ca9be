/*
 * smap.h - a string-keyed hash map whose entries carry their value inline:
 * one allocation per entry holding the chain link, the value area and a
 * copy of the key. The controllers keep per-object records in it (cache
 * entries, fingerprints, per-pod notes), where a separate allocation per
 * value would cost as much as the value itself.
 *
 * Invariants: a value area stays at the same address until its key is
 * deleted (growing the table only relinks entries); value areas are
 * 8-byte aligned and zeroed when added. Not thread-safe: callers lock.
 */
#ifndef WF_CONTROLLERS_SMAP_H
#define WF_CONTROLLERS_SMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct wf__sment wf__sment;

typedef struct wf__smap {
	wf__sment **b;
	size_t nb; /* buckets, a power of two (0 before the first add) */
	size_t n;  /* entries */
} wf__smap;

/* Iteration cursor; start from {0}. */
typedef struct wf__smap_iter {
	size_t bucket;
	wf__sment *next;
} wf__smap_iter;

/* The value area of key, or NULL. key NULL: NULL. */
void *wf__smap_get(const wf__smap *m, const char *key);
/* Add key (copied), which must not be in the map, with a zeroed value area
 * of vsize bytes (0 allowed); returns the value area. */
void *wf__smap_add(wf__smap *m, const char *key, size_t vsize);
/* Remove key; fini (may be NULL) sees its value area first. false when
 * the key was not there. */
bool wf__smap_del(wf__smap *m, const char *key, void (*fini)(void *val));
/* The key of a value area returned by this map (borrowed, lives as long as
 * the entry). */
const char *wf__smap_key(const void *val);
/* Remove the entry of a value area returned by this map (fini as for del). */
void wf__smap_remove(wf__smap *m, void *val, void (*fini)(void *val));
/* The next value area, or NULL at the end. The map must not change during
 * an iteration, except that the entry just returned may be removed. */
void *wf__smap_next(const wf__smap *m, wf__smap_iter *it);
/* Remove everything (fini as for del) and release the table; the map is
 * empty and reusable afterwards. */
void wf__smap_clear(wf__smap *m, void (*fini)(void *val));

#endif
