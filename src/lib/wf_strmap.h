/*
 * wf_strmap.h - a small hash map from strings (copied) to pointers
 * (borrowed), with chaining and power-of-two bucket counts that double as
 * it fills. Not thread-safe: callers lock.
 */
#ifndef WF_STRMAP_H
#define WF_STRMAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct wf_strmap_ent {
	struct wf_strmap_ent *next;
	uint64_t hash;
	void *val;
	char key[];
} wf_strmap_ent;

/* Zero-initialised is an empty map. */
typedef struct wf_strmap {
	wf_strmap_ent **b;
	size_t nb, n;
} wf_strmap;

/* The value at key, or NULL when absent. */
void *wf_strmap_get(const wf_strmap *m, const char *key);
/* Insert key (copied) with val; the key must not be there yet. */
void wf_strmap_add(wf_strmap *m, const char *key, void *val);
/* Remove key; returns its value (NULL when absent). */
void *wf_strmap_del(wf_strmap *m, const char *key);
/* Free every entry (calling free_val on each value when given) and leave
 * an empty map. */
void wf_strmap_free(wf_strmap *m, void (*free_val)(void *));

/* Visit every entry: for (size_t i = 0; i < m.nb; i++) for (e = m.b[i]; e; e = e->next). */

#endif
