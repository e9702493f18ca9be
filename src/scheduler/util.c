/*
 * util.c - the scheduler's small containers: a bump arena (per-cycle
 * scratch), an open-addressing string map, string interning and the byte
 * signatures that key node classes and pod profiles.
 *
 * The map uses linear probing with backward-shift deletion (no tombstones),
 * and keeps its load under 1/2. Keys are borrowed from their owners.
 */
#include <errno.h>
#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

#include "lib/wf_mem.h"
#include "lib/wf_hash.h"
#include "scheduler/sched_internal.h"

/* ---- arena ---------------------------------------------------------------- */

struct wf__sc_ablk {
	wf__sc_ablk *next;
	size_t cap, used;
	alignas(16) unsigned char data[];
};

#define WF__SC_ABLK_MIN (64 * 1024)

void *wf__sc_arena_alloc(wf__sc_arena *a, size_t n)
{
	n = (n + 15) & ~(size_t)15;
	wf__sc_ablk *b = a->head;
	if (!b || b->cap - b->used < n) {
		size_t cap = n > WF__SC_ABLK_MIN ? n : WF__SC_ABLK_MIN;
		wf__sc_ablk *nb = wf_xmalloc(sizeof(*nb) + cap);
		nb->cap = cap;
		nb->used = 0;
		/* Keep the first (reusable) block at the tail of the chain. */
		nb->next = b;
		a->head = nb;
		b = nb;
	}
	void *p = b->data + b->used;
	b->used += n;
	return p;
}

void *wf__sc_arena_zalloc(wf__sc_arena *a, size_t n)
{
	void *p = wf__sc_arena_alloc(a, n);
	memset(p, 0, n);
	return p;
}

char *wf__sc_arena_strndup(wf__sc_arena *a, const char *s, size_t n)
{
	char *p = wf__sc_arena_alloc(a, n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *wf__sc_arena_strdup(wf__sc_arena *a, const char *s)
{
	return wf__sc_arena_strndup(a, s, strlen(s));
}

void wf__sc_arena_reset(wf__sc_arena *a)
{
	wf__sc_ablk *b = a->head;
	if (!b)
		return;
	while (b->next) {
		wf__sc_ablk *next = b->next;
		free(b);
		b = next;
	}
	b->used = 0;
	a->head = b;
}

void *wf__sc_arena_grow(wf__sc_arena *a, void *v, size_t n, size_t *cap, size_t elem, size_t first)
{
	if (n < *cap)
		return v;
	size_t ncap = *cap ? *cap * 2 : first;
	void *nv = wf__sc_arena_alloc(a, ncap * elem);
	if (n)
		memcpy(nv, v, n * elem);
	*cap = ncap;
	return nv;
}

void wf__sc_arena_free(wf__sc_arena *a)
{
	wf__sc_ablk *b = a->head;
	while (b) {
		wf__sc_ablk *next = b->next;
		free(b);
		b = next;
	}
	a->head = NULL;
}

/* ---- slot tables ------------------------------------------------------------ */

void *wf__sc_grow(void *v, uint32_t *cap, uint32_t need, size_t elem, uint32_t first)
{
	if (need <= *cap)
		return v;
	uint32_t ncap = *cap ? *cap : first;
	while (ncap < need)
		ncap *= 2;
	*cap = ncap;
	return wf_xrealloc(v, (size_t)ncap * elem);
}

void wf__sc_ids_push(wf__sc_ids *f, uint32_t id)
{
	f->v = wf__sc_grow(f->v, &f->cap, f->n + 1, sizeof(*f->v), 16);
	f->v[f->n++] = id;
}

bool wf__sc_ids_pop(wf__sc_ids *f, uint32_t *id)
{
	if (!f->n)
		return false;
	*id = f->v[--f->n];
	return true;
}

/* ---- hash map -------------------------------------------------------------- */

uint32_t wf__sc_hash(const void *p, size_t len)
{
	/* FNV-1a, then a final avalanche so that the low bits mix well. */
	uint32_t h = wf_fnv1a32(WF_FNV32_BASIS, p, len);
	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	return h;
}

static bool hent_eq(const wf__sc_hent *e, const char *key, size_t len, uint32_t h)
{
	return e->hash == h && e->len == len && memcmp(e->key, key, len) == 0;
}

bool wf__sc_hmap_get(const wf__sc_hmap *m, const char *key, size_t len, uint32_t *val)
{
	if (!m->cap)
		return false;
	uint32_t h = wf__sc_hash(key, len);
	uint32_t mask = m->cap - 1;
	for (uint32_t i = h & mask;; i = (i + 1) & mask) {
		const wf__sc_hent *e = &m->e[i];
		if (!e->key)
			return false;
		if (hent_eq(e, key, len, h)) {
			if (val)
				*val = e->val;
			return true;
		}
	}
}

static void hmap_grow(wf__sc_hmap *m)
{
	uint32_t ncap = m->cap ? m->cap * 2 : 16;
	wf__sc_hent *ne = wf_xcalloc(ncap, sizeof(*ne));
	for (uint32_t i = 0; i < m->cap; i++) {
		wf__sc_hent *e = &m->e[i];
		if (!e->key)
			continue;
		uint32_t j = e->hash & (ncap - 1);
		while (ne[j].key)
			j = (j + 1) & (ncap - 1);
		ne[j] = *e;
	}
	free(m->e);
	m->e = ne;
	m->cap = ncap;
}

void wf__sc_hmap_put(wf__sc_hmap *m, const char *key, size_t len, uint32_t val)
{
	if ((m->n + 1) * 2 > m->cap)
		hmap_grow(m);
	uint32_t h = wf__sc_hash(key, len);
	uint32_t mask = m->cap - 1;
	for (uint32_t i = h & mask;; i = (i + 1) & mask) {
		wf__sc_hent *e = &m->e[i];
		if (!e->key) {
			e->key = key;
			e->len = (uint32_t)len;
			e->hash = h;
			e->val = val;
			m->n++;
			return;
		}
		if (hent_eq(e, key, len, h)) {
			e->key = key;
			e->val = val;
			return;
		}
	}
}

bool wf__sc_hmap_del(wf__sc_hmap *m, const char *key, size_t len)
{
	if (!m->cap)
		return false;
	uint32_t h = wf__sc_hash(key, len);
	uint32_t mask = m->cap - 1;
	uint32_t i = h & mask;
	for (;; i = (i + 1) & mask) {
		if (!m->e[i].key)
			return false;
		if (hent_eq(&m->e[i], key, len, h))
			break;
	}
	/* Backward shift: pull later entries of the cluster into the hole when
	 * their home slot is not between the hole and themselves. */
	uint32_t j = i;
	for (;;) {
		m->e[i].key = NULL;
		for (;;) {
			j = (j + 1) & mask;
			if (!m->e[j].key) {
				m->n--;
				return true;
			}
			uint32_t home = m->e[j].hash & mask;
			bool between = i <= j ? (i < home && home <= j) : (i < home || home <= j);
			if (!between)
				break;
		}
		m->e[i] = m->e[j];
		i = j;
	}
}

void wf__sc_hmap_free(wf__sc_hmap *m)
{
	free(m->e);
	m->e = NULL;
	m->cap = m->n = 0;
}

/* ---- interning --------------------------------------------------------------- */

void wf__sc_strtab_init(wf__sc_strtab *t)
{
	memset(t, 0, sizeof(*t));
	wf__sc_intern(t, "");
}

void wf__sc_strtab_free(wf__sc_strtab *t)
{
	for (uint32_t i = 0; i < t->n; i++)
		free(t->s[i]);
	free(t->s);
	free(t->len);
	wf__sc_hmap_free(&t->map);
}

uint32_t wf__sc_intern(wf__sc_strtab *t, const char *str)
{
	if (!str)
		str = "";
	size_t len = strlen(str);
	uint32_t id;
	if (wf__sc_hmap_get(&t->map, str, len, &id))
		return id;
	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 64;
		t->s = wf_xrealloc(t->s, t->cap * sizeof(*t->s));
		t->len = wf_xrealloc(t->len, t->cap * sizeof(*t->len));
	}
	id = t->n++;
	t->s[id] = wf_xstrndup(str, len);
	t->len[id] = (uint32_t)len;
	wf__sc_hmap_put(&t->map, t->s[id], len, id);
	return id;
}

int64_t wf__sc_intern_find(const wf__sc_strtab *t, const char *str)
{
	if (!str)
		str = "";
	uint32_t id;
	if (wf__sc_hmap_get(&t->map, str, strlen(str), &id))
		return id;
	return -1;
}

/* ---- signatures ------------------------------------------------------------ */

static void sig_put(wf__sc_sig *g, const void *p, size_t n)
{
	if (g->len + n > g->cap) {
		g->cap = (g->len + n) * 2 + 64;
		g->p = wf_xrealloc(g->p, g->cap);
	}
	memcpy(g->p + g->len, p, n);
	g->len += n;
}

void wf__sc_sig_u32(wf__sc_sig *g, uint32_t v)
{
	sig_put(g, &v, sizeof(v));
}

void wf__sc_sig_i64(wf__sc_sig *g, int64_t v)
{
	sig_put(g, &v, sizeof(v));
}

bool wf__sc_parse_i64(const char *s, int64_t *out)
{
	if (!s || !*s)
		return false;
	const char *p = s;
	if (*p == '+' || *p == '-')
		p++;
	if (*p < '0' || *p > '9')
		return false;
	errno = 0;
	char *end;
	long long v = strtoll(s, &end, 10);
	if (errno || *end)
		return false;
	*out = v;
	return true;
}
