/*
 * wf_strmap.c - the string map of wf_strmap.h: FNV-1a hashes, chained
 * buckets, doubled when the map holds as many entries as buckets.
 */
#include "lib/wf_strmap.h"
#include "lib/wf_hash.h"

#include <stdlib.h>
#include <string.h>

#include "lib/wf_mem.h"

static wf_strmap_ent **wf__link(const wf_strmap *m, const char *key, uint64_t h)
{
	if (!m->nb)
		return NULL;
	wf_strmap_ent **l = &m->b[h & (m->nb - 1)];
	while (*l && ((*l)->hash != h || strcmp((*l)->key, key)))
		l = &(*l)->next;
	return l;
}

void *wf_strmap_get(const wf_strmap *m, const char *key)
{
	wf_strmap_ent **l = wf__link(m, key, wf_fnv1a64(WF_FNV64_BASIS, key, strlen(key)));
	return l && *l ? (*l)->val : NULL;
}

void wf_strmap_add(wf_strmap *m, const char *key, void *val)
{
	if (m->n >= m->nb) {
		size_t nb = m->nb ? m->nb * 2 : 64;
		wf_strmap_ent **b = wf_xcalloc(nb, sizeof *b);
		for (size_t i = 0; i < m->nb; i++) {
			for (wf_strmap_ent *e = m->b[i], *next; e; e = next) {
				next = e->next;
				e->next = b[e->hash & (nb - 1)];
				b[e->hash & (nb - 1)] = e;
			}
		}
		free(m->b);
		m->b = b;
		m->nb = nb;
	}
	size_t len = strlen(key);
	wf_strmap_ent *e = wf_xmalloc(sizeof *e + len + 1);
	memcpy(e->key, key, len + 1);
	e->hash = wf_fnv1a64(WF_FNV64_BASIS, key, len);
	e->val = val;
	e->next = m->b[e->hash & (m->nb - 1)];
	m->b[e->hash & (m->nb - 1)] = e;
	m->n++;
}

void *wf_strmap_del(wf_strmap *m, const char *key)
{
	wf_strmap_ent **l = wf__link(m, key, wf_fnv1a64(WF_FNV64_BASIS, key, strlen(key)));
	if (!l || !*l)
		return NULL;
	wf_strmap_ent *e = *l;
	void *val = e->val;
	*l = e->next;
	free(e);
	m->n--;
	return val;
}

void wf_strmap_free(wf_strmap *m, void (*free_val)(void *))
{
	for (size_t i = 0; i < m->nb; i++) {
		for (wf_strmap_ent *e = m->b[i], *next; e; e = next) {
			next = e->next;
			if (free_val)
				free_val(e->val);
			free(e);
		}
	}
	free(m->b);
	memset(m, 0, sizeof *m);
}
