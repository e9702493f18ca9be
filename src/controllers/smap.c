/*
 * smap.c - string-keyed hash map with inline values (see smap.h).
 *
 * An entry is one allocation: link, hash, value size, the value area
 * (rounded up to 8 bytes) and the NUL-terminated key after it, so the key
 * of a value area is found from the value's address alone. Chaining, FNV-1a
 * hashes, the table doubles when it holds as many entries as buckets.
 */
#include "controllers/smap.h"
#include "lib/wf_hash.h"
#include "lib/wf_mem.h"

#include <string.h>

struct wf__sment {
	wf__sment *next;
	uint32_t hash;
	uint32_t vsize; /* rounded up to 8 */
	uint64_t val[]; /* vsize bytes, then the key */
};

static uint32_t wf__smap_hash(const char *s, size_t n)
{
	uint32_t h = wf_fnv1a32(WF_FNV32_BASIS, s, n);
	return h ^ (h >> 15);
}

static wf__sment *wf__smap_entry(const void *val)
{
	return (wf__sment *)((char *)(uintptr_t)val - offsetof(wf__sment, val));
}

static char *wf__smap_ekey(wf__sment *e)
{
	return (char *)e->val + e->vsize;
}

static wf__sment **wf__smap_link(const wf__smap *m, const char *key, uint32_t h)
{
	if (!m->nb)
		return NULL;
	wf__sment **l = &m->b[h & (m->nb - 1)];
	while (*l && ((*l)->hash != h || strcmp(wf__smap_ekey(*l), key)))
		l = &(*l)->next;
	return l;
}

void *wf__smap_get(const wf__smap *m, const char *key)
{
	if (!key)
		return NULL;
	wf__sment **l = wf__smap_link(m, key, wf__smap_hash(key, strlen(key)));
	return l && *l ? (*l)->val : NULL;
}

static void wf__smap_grow(wf__smap *m)
{
	size_t nb = m->nb ? m->nb * 2 : 16;
	wf__sment **b = wf_xcalloc(nb, sizeof *b);
	for (size_t i = 0; i < m->nb; i++) {
		for (wf__sment *e = m->b[i], *next; e; e = next) {
			next = e->next;
			e->next = b[e->hash & (nb - 1)];
			b[e->hash & (nb - 1)] = e;
		}
	}
	free(m->b);
	m->b = b;
	m->nb = nb;
}

void *wf__smap_add(wf__smap *m, const char *key, size_t vsize)
{
	if (m->n >= m->nb)
		wf__smap_grow(m);
	size_t klen = strlen(key);
	size_t vs = (vsize + 7) & ~(size_t)7;
	wf__sment *e = wf_xmalloc(sizeof *e + vs + klen + 1);
	e->hash = wf__smap_hash(key, klen);
	e->vsize = (uint32_t)vs;
	memset(e->val, 0, vs);
	memcpy(wf__smap_ekey(e), key, klen + 1);
	wf__sment **head = &m->b[e->hash & (m->nb - 1)];
	e->next = *head;
	*head = e;
	m->n++;
	return e->val;
}

bool wf__smap_del(wf__smap *m, const char *key, void (*fini)(void *val))
{
	if (!key)
		return false;
	wf__sment **l = wf__smap_link(m, key, wf__smap_hash(key, strlen(key)));
	if (!l || !*l)
		return false;
	wf__sment *e = *l;
	*l = e->next;
	m->n--;
	if (fini)
		fini(e->val);
	free(e);
	return true;
}

void wf__smap_remove(wf__smap *m, void *val, void (*fini)(void *val))
{
	wf__sment *e = wf__smap_entry(val);
	wf__sment **l = &m->b[e->hash & (m->nb - 1)];
	while (*l != e)
		l = &(*l)->next;
	*l = e->next;
	m->n--;
	if (fini)
		fini(e->val);
	free(e);
}

const char *wf__smap_key(const void *val)
{
	return wf__smap_ekey(wf__smap_entry(val));
}

void *wf__smap_next(const wf__smap *m, wf__smap_iter *it)
{
	while (!it->next) {
		if (it->bucket >= m->nb)
			return NULL;
		it->next = m->b[it->bucket++];
	}
	wf__sment *e = it->next;
	it->next = e->next;
	return e->val;
}

void wf__smap_clear(wf__smap *m, void (*fini)(void *val))
{
	for (size_t i = 0; i < m->nb; i++) {
		for (wf__sment *e = m->b[i], *next; e; e = next) {
			next = e->next;
			if (fini)
				fini(e->val);
			free(e);
		}
	}
	free(m->b);
	memset(m, 0, sizeof *m);
}
