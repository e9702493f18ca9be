/*
 * wf_smap.c - string-keyed hash map with inline values (see wf_smap.h).
 *
 * An entry is one allocation: link, hash, value size, the value area
 * (rounded up to 8 bytes) and the NUL-terminated key after it, so the key
 * of a value area is found from the value's address alone. Chaining, FNV-1a
 * hashes, the table doubles when it holds as many entries as buckets.
 */
#include "lib/wf_smap.h"
#include "lib/wf_hash.h"
#include "lib/wf_mem.h"

#include <string.h>

struct wf_smap_ent {
	wf_smap_ent *next;
	uint32_t hash;
	uint32_t vsize; /* rounded up to 8 */
	uint64_t val[]; /* vsize bytes, then the key */
};

static uint32_t wf__hash(const char *s, size_t n)
{
	uint32_t h = wf_fnv1a32(WF_FNV32_BASIS, s, n);
	return h ^ (h >> 15);
}

static wf_smap_ent *wf__entry(const void *val)
{
	return (wf_smap_ent *)((char *)(uintptr_t)val - offsetof(wf_smap_ent, val));
}

static char *wf__ekey(wf_smap_ent *e)
{
	return (char *)e->val + e->vsize;
}

static wf_smap_ent **wf__link(const wf_smap *m, const char *key, uint32_t h)
{
	if (!m->nb)
		return NULL;
	wf_smap_ent **l = &m->b[h & (m->nb - 1)];
	while (*l && ((*l)->hash != h || strcmp(wf__ekey(*l), key)))
		l = &(*l)->next;
	return l;
}

void *wf_smap_get(const wf_smap *m, const char *key)
{
	if (!key)
		return NULL;
	wf_smap_ent **l = wf__link(m, key, wf__hash(key, strlen(key)));
	return l && *l ? (*l)->val : NULL;
}

static void wf__grow(wf_smap *m)
{
	size_t nb = m->nb ? m->nb * 2 : 16;
	wf_smap_ent **b = wf_xcalloc(nb, sizeof *b);
	for (size_t i = 0; i < m->nb; i++) {
		for (wf_smap_ent *e = m->b[i], *next; e; e = next) {
			next = e->next;
			e->next = b[e->hash & (nb - 1)];
			b[e->hash & (nb - 1)] = e;
		}
	}
	free(m->b);
	m->b = b;
	m->nb = nb;
}

void *wf_smap_add(wf_smap *m, const char *key, size_t vsize)
{
	if (m->n >= m->nb)
		wf__grow(m);
	size_t klen = strlen(key);
	size_t vs = (vsize + 7) & ~(size_t)7;
	wf_smap_ent *e = wf_xmalloc(sizeof *e + vs + klen + 1);
	e->hash = wf__hash(key, klen);
	e->vsize = (uint32_t)vs;
	memset(e->val, 0, vs);
	memcpy(wf__ekey(e), key, klen + 1);
	wf_smap_ent **head = &m->b[e->hash & (m->nb - 1)];
	e->next = *head;
	*head = e;
	m->n++;
	return e->val;
}

bool wf_smap_del(wf_smap *m, const char *key, void (*fini)(void *val))
{
	if (!key)
		return false;
	wf_smap_ent **l = wf__link(m, key, wf__hash(key, strlen(key)));
	if (!l || !*l)
		return false;
	wf_smap_ent *e = *l;
	*l = e->next;
	m->n--;
	if (fini)
		fini(e->val);
	free(e);
	return true;
}

void wf_smap_remove(wf_smap *m, void *val, void (*fini)(void *val))
{
	wf_smap_ent *e = wf__entry(val);
	wf_smap_ent **l = &m->b[e->hash & (m->nb - 1)];
	while (*l != e)
		l = &(*l)->next;
	*l = e->next;
	m->n--;
	if (fini)
		fini(e->val);
	free(e);
}

const char *wf_smap_key(const void *val)
{
	return wf__ekey(wf__entry(val));
}

void *wf_smap_next(const wf_smap *m, wf_smap_iter *it)
{
	while (!it->next) {
		if (it->bucket >= m->nb)
			return NULL;
		it->next = m->b[it->bucket++];
	}
	wf_smap_ent *e = it->next;
	it->next = e->next;
	return e->val;
}

void wf_smap_clear(wf_smap *m, void (*fini)(void *val))
{
	for (size_t i = 0; i < m->nb; i++) {
		for (wf_smap_ent *e = m->b[i], *next; e; e = next) {
			next = e->next;
			if (fini)
				fini(e->val);
			free(e);
		}
	}
	free(m->b);
	memset(m, 0, sizeof *m);
}
