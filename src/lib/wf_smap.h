/*
 * wf_smap.h - a string-keyed hash map whose entries carry their value inline:
 * one allocation per entry holding the chain link, the value area and a
 * copy of the key. Caches keep per-object records in it (informer entries,
 * fingerprints, per-pod notes, runtime records), where a separate
 * allocation per value would cost as much as the value itself; a pointer
 * is a value like any other.
 *
 * Invariants: a value area stays at the same address until its key is
 * deleted (growing the table only relinks entries); value areas are
 * 8-byte aligned and zeroed when added. Not thread-safe: callers lock.
 */
#ifndef WF_SMAP_H
#define WF_SMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct wf_smap_ent wf_smap_ent;

typedef struct wf_smap {
	wf_smap_ent **b;
	size_t nb; /* buckets, a power of two (0 before the first add) */
	size_t n;  /* entries */
} wf_smap;

/* Iteration cursor; start from {0}. */
typedef struct wf_smap_iter {
	size_t bucket;
	wf_smap_ent *next;
} wf_smap_iter;

/* The value area of key, or NULL. key NULL: NULL. */
void *wf_smap_get(const wf_smap *m, const char *key);
/* Add key (copied), which must not be in the map, with a zeroed value area
 * of vsize bytes (0 allowed); returns the value area. */
void *wf_smap_add(wf_smap *m, const char *key, size_t vsize);
/* Remove key; fini (may be NULL) sees its value area first. false when
 * the key was not there. */
bool wf_smap_del(wf_smap *m, const char *key, void (*fini)(void *val));
/* The key of a value area returned by this map (borrowed, lives as long as
 * the entry). */
const char *wf_smap_key(const void *val);
/* Remove the entry of a value area returned by this map (fini as for del). */
void wf_smap_remove(wf_smap *m, void *val, void (*fini)(void *val));
/* The next value area, or NULL at the end. The map must not change during
 * an iteration, except that the entry just returned may be removed. */
void *wf_smap_next(const wf_smap *m, wf_smap_iter *it);
/* Remove everything (fini as for del) and release the table; the map is
 * empty and reusable afterwards. */
void wf_smap_clear(wf_smap *m, void (*fini)(void *val));

#endif
