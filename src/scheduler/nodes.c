/*
 * nodes.c - the node table, node classes and the free-resource indexes.
 *
 * Design. Filters that read only labels, taints and flags give the same
 * answer for every node that has the same ones, so nodes are grouped into
 * classes: same labels (per-node keys such as kubernetes.io/hostname left
 * out), same taints, same spec.unschedulable and readiness, same set of
 * extended resources. A 5,000-node cluster of a dozen machine types has a
 * dozen classes (one per distinct set; every node its own class is the worst
 * case, and still correct). framework.c evaluates those filters once per
 * (pod profile, class) and then only looks at free resources per node.
 *
 * Each class indexes its nodes by what they have free:
 *  - for every extended resource r: buckets head[partly][k], the nodes with
 *    min(free r, 63) == k, partly when some of r is in use; with a bitmask
 *    of non-empty buckets, finding the best-fitting GPU node is a few ctz;
 *  - CPU levels: 32 buckets of the nodes' mean free fraction of cpu and
 *    memory (least-allocated order), also with a bitmask.
 * Lists are circular and doubly linked through int32 node ids, so moving a
 * node between buckets after a reservation is O(1); a moved node goes to
 * the tail, which spreads equal choices.
 *
 * A node that pods are bound to before it is known (or after it is
 * removed) is a placeholder: not present, in no class, holding their usage.
 */
#include <string.h>

#include "lib/wf_mem.h"
#include "scheduler/sched_internal.h"

#define WF__SC_AMOUNT_MAX (INT64_C(1) << 52)

/* ---- resources --------------------------------------------------------------- */

static bool res_is_ext(const char *name)
{
	const char *slash = strchr(name, '/');
	if (!slash)
		return false;
	if (strncmp(name, "requests.", 9) == 0)
		return false;
	size_t dlen = (size_t)(slash - name);
	/* kubernetes.io and its subdomains are native. */
	if (dlen >= 13 && memcmp(slash - 13, "kubernetes.io", 13) == 0 &&
	    (dlen == 13 || slash[-14] == '.'))
		return false;
	return true;
}

static bool res_is_accel(const char *name)
{
	return strstr(name, "gpu") || strstr(name, "/mig-") || strstr(name, "tpu") ||
	       strstr(name, "neuron") || strncmp(name, "habana.ai/", 10) == 0;
}

static void res_grow_nodes(wf_sched *s, uint32_t ncap)
{
	for (uint32_t i = 0; i < s->nnodes; i++) {
		wf__sc_node *n = s->nodes[i];
		if (!n)
			continue;
		n->alloc = wf_xrealloc(n->alloc, ncap * sizeof(int64_t));
		n->used = wf_xrealloc(n->used, ncap * sizeof(int64_t));
		memset(n->alloc + s->res_cap, 0, (ncap - s->res_cap) * sizeof(int64_t));
		memset(n->used + s->res_cap, 0, (ncap - s->res_cap) * sizeof(int64_t));
	}
	s->res_cap = ncap;
}

int wf__sc_res_intern(wf_sched *s, const char *name, uint32_t *id, wf_err *err)
{
	uint32_t v;
	if (wf__sc_hmap_get(&s->resmap, name, strlen(name), &v)) {
		*id = v;
		return 0;
	}
	if (s->nres == WF__SC_NRES_MAX)
		return wf_err_set(err, WF_ETOOBIG,
				  "too many distinct resource names (at most %d): %.100s",
				  WF__SC_NRES_MAX, name);
	v = s->nres++;
	wf__sc_resdef *r = &s->res[v];
	r->name = wf_xstrdup(name);
	r->ext = res_is_ext(name);
	r->accel = r->ext && res_is_accel(name);
	wf__sc_hmap_put(&s->resmap, r->name, strlen(r->name), v);
	if (s->nres > s->res_cap)
		res_grow_nodes(s, s->res_cap * 2);
	*id = v;
	return 0;
}

int64_t wf__sc_res_find(const wf_sched *s, const char *name)
{
	uint32_t v;
	if (name && wf__sc_hmap_get(&s->resmap, name, strlen(name), &v))
		return v;
	return -1;
}

/* ---- intrusive circular lists ---------------------------------------------- */

enum { L_MEMBERS, L_CPU, L_GPU };

static wf__sc_link *link_of(wf_sched *s, int32_t id, int which, uint32_t rank)
{
	wf__sc_node *n = s->nodes[id];
	switch (which) {
	case L_MEMBERS:
		return &n->mlink;
	case L_CPU:
		return &n->clink;
	default:
		return &n->glink[rank];
	}
}

static void list_push_tail(wf_sched *s, int32_t *head, int32_t id, int which, uint32_t rank)
{
	wf__sc_link *l = link_of(s, id, which, rank);
	if (*head < 0) {
		l->prev = l->next = id;
		*head = id;
		return;
	}
	wf__sc_link *h = link_of(s, *head, which, rank);
	int32_t tail = h->prev;
	wf__sc_link *t = link_of(s, tail, which, rank);
	l->prev = tail;
	l->next = *head;
	t->next = id;
	h->prev = id;
}

static void list_unlink(wf_sched *s, int32_t *head, int32_t id, int which, uint32_t rank)
{
	wf__sc_link *l = link_of(s, id, which, rank);
	if (l->next == id) {
		*head = -1;
	} else {
		link_of(s, l->prev, which, rank)->next = l->next;
		link_of(s, l->next, which, rank)->prev = l->prev;
		if (*head == id)
			*head = l->next;
	}
	l->prev = l->next = -1;
}

/* ---- index keys ---------------------------------------------------------------- */

uint8_t wf__sc_cpu_level(const wf__sc_node *n)
{
	/* Mean free fraction of cpu and memory, in 1/1024ths. */
	int64_t f = 0;
	for (int r = WF__R_CPU; r <= WF__R_MEM; r++) {
		int64_t a = n->alloc[r], fr = a - n->used[r];
		if (a > 0 && fr > 0)
			f += fr >= a ? 1024 : (int64_t)((double)fr * 1024.0 / (double)a);
	}
	int64_t lvl = f * WF__SC_CPU_LEVELS / 2048;
	return (uint8_t)(lvl >= WF__SC_CPU_LEVELS ? WF__SC_CPU_LEVELS - 1 : lvl);
}

static uint8_t gpu_key(const wf__sc_node *n, uint32_t r)
{
	int64_t fr = n->alloc[r] - n->used[r];
	if (fr < 0)
		fr = 0;
	if (fr > WF__SC_GPU_KEYS - 1)
		fr = WF__SC_GPU_KEYS - 1;
	return (uint8_t)(fr | (n->used[r] > 0 ? 0x80 : 0));
}

static void gidx_push(wf_sched *s, wf__sc_class *c, wf__sc_node *n, uint32_t rank, uint8_t key)
{
	wf__sc_gidx *g = &c->gidx[rank];
	int partly = key >> 7, k = key & 0x7f;
	list_push_tail(s, &g->head[partly][k], (int32_t)n->id, L_GPU, rank);
	g->mask[partly] |= UINT64_C(1) << k;
	n->gkey[rank] = key;
}

static void gidx_pop(wf_sched *s, wf__sc_class *c, wf__sc_node *n, uint32_t rank)
{
	wf__sc_gidx *g = &c->gidx[rank];
	uint8_t key = n->gkey[rank];
	int partly = key >> 7, k = key & 0x7f;
	list_unlink(s, &g->head[partly][k], (int32_t)n->id, L_GPU, rank);
	if (g->head[partly][k] < 0)
		g->mask[partly] &= ~(UINT64_C(1) << k);
}

static void cpu_push(wf_sched *s, wf__sc_class *c, wf__sc_node *n, uint8_t lvl)
{
	list_push_tail(s, &c->cpu_head[lvl], (int32_t)n->id, L_CPU, 0);
	c->cpu_mask |= 1u << lvl;
	n->clevel = lvl;
}

static void cpu_pop(wf_sched *s, wf__sc_class *c, wf__sc_node *n)
{
	list_unlink(s, &c->cpu_head[n->clevel], (int32_t)n->id, L_CPU, 0);
	if (c->cpu_head[n->clevel] < 0)
		c->cpu_mask &= ~(1u << n->clevel);
}

static void index_link(wf_sched *s, wf__sc_node *n)
{
	wf__sc_class *c = n->cls;
	list_push_tail(s, &c->members, (int32_t)n->id, L_MEMBERS, 0);
	cpu_push(s, c, n, wf__sc_cpu_level(n));
	uint32_t cnt = (uint32_t)__builtin_popcountll(c->ext_mask);
	if (cnt > n->ngl) {
		n->glink = wf_xrealloc(n->glink, cnt * sizeof(*n->glink));
		n->gkey = wf_xrealloc(n->gkey, cnt);
		n->ngl = cnt;
	}
	uint64_t m = c->ext_mask;
	for (uint32_t rank = 0; m; rank++, m &= m - 1) {
		uint32_t r = (uint32_t)__builtin_ctzll(m);
		gidx_push(s, c, n, rank, gpu_key(n, r));
	}
}

static void index_unlink(wf_sched *s, wf__sc_node *n)
{
	wf__sc_class *c = n->cls;
	list_unlink(s, &c->members, (int32_t)n->id, L_MEMBERS, 0);
	cpu_pop(s, c, n);
	uint64_t m = c->ext_mask;
	for (uint32_t rank = 0; m; rank++, m &= m - 1)
		gidx_pop(s, c, n, rank);
}

static void index_update(wf_sched *s, wf__sc_node *n)
{
	wf__sc_class *c = n->cls;
	uint8_t lvl = wf__sc_cpu_level(n);
	if (lvl != n->clevel) {
		cpu_pop(s, c, n);
		cpu_push(s, c, n, lvl);
	}
	uint64_t m = c->ext_mask;
	for (uint32_t rank = 0; m; rank++, m &= m - 1) {
		uint32_t r = (uint32_t)__builtin_ctzll(m);
		uint8_t key = gpu_key(n, r);
		if (key != n->gkey[rank]) {
			gidx_pop(s, c, n, rank);
			gidx_push(s, c, n, rank, key);
		}
	}
}

/* ---- classes ------------------------------------------------------------------ */

bool wf__sc_is_per_node_key(const wf_sched *s, uint32_t key)
{
	for (uint32_t i = 0; i < s->nper_node_keys; i++)
		if (s->per_node_keys[i] == key)
			return true;
	return false;
}

static int64_t kv_find(const wf__sc_kv *kv, uint32_t n, uint32_t key)
{
	uint32_t lo = 0, hi = n;
	while (lo < hi) {
		uint32_t mid = (lo + hi) / 2;
		if (kv[mid].k < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && kv[lo].k == key ? (int64_t)kv[lo].v : -1;
}

int64_t wf__sc_label_of(const wf_sched *s, const wf__sc_class *c, const wf__sc_node *n,
			uint32_t key)
{
	if (n && n->nown && wf__sc_is_per_node_key(s, key))
		return kv_find(n->own, n->nown, key);
	return c ? kv_find(c->labels, c->nlabels, key) : -1;
}

static void class_free_mem(wf__sc_class *c)
{
	free(c->sig);
	free(c->labels);
	free(c->taints);
	free(c->gidx);
	free(c);
}

static void class_free(wf_sched *s, wf__sc_class *c)
{
	wf__sc_hmap_del(&s->classmap, c->sig, c->siglen);
	s->classes[c->id] = NULL;
	wf__sc_ids_push(&s->class_free, c->id);
	class_free_mem(c);
}

static void live_add(wf_sched *s, wf__sc_class *c)
{
	s->live = wf__sc_grow(s->live, &s->live_cap, s->nlive + 1, sizeof(*s->live), 16);
	c->live_pos = (int32_t)s->nlive;
	s->live[s->nlive++] = c->id;
}

static void live_del(wf_sched *s, wf__sc_class *c)
{
	uint32_t pos = (uint32_t)c->live_pos;
	uint32_t last = s->live[--s->nlive];
	s->live[pos] = last;
	s->classes[last]->live_pos = (int32_t)pos;
	c->live_pos = -1;
}

static void class_attach(wf_sched *s, wf__sc_node *n, wf__sc_class *c)
{
	n->cls = c;
	if (c->nnodes++ == 0)
		live_add(s, c);
	index_link(s, n);
}

static void class_detach(wf_sched *s, wf__sc_node *n)
{
	wf__sc_class *c = n->cls;
	index_unlink(s, n);
	n->cls = NULL;
	if (--c->nnodes == 0) {
		live_del(s, c);
		class_free(s, c);
	}
}

/* Signature of a class: ready, unschedulable, ext mask, labels, taints. */
static wf__sc_class *class_get(wf_sched *s, const wf__sc_kv *labels, uint32_t nlabels,
			       const wf__sc_taint *taints, uint32_t ntaints, bool unsched,
			       uint8_t ready, uint64_t ext_mask)
{
	wf__sc_sig g = {0};
	wf__sc_sig_u32(&g, ready | (unsched ? 0x100u : 0));
	wf__sc_sig_i64(&g, (int64_t)ext_mask);
	wf__sc_sig_u32(&g, nlabels);
	for (uint32_t i = 0; i < nlabels; i++) {
		wf__sc_sig_u32(&g, labels[i].k);
		wf__sc_sig_u32(&g, labels[i].v);
	}
	wf__sc_sig_u32(&g, ntaints);
	for (uint32_t i = 0; i < ntaints; i++) {
		wf__sc_sig_u32(&g, taints[i].k);
		wf__sc_sig_u32(&g, taints[i].v);
		wf__sc_sig_u32(&g, taints[i].effect);
	}
	uint32_t id;
	if (wf__sc_hmap_get(&s->classmap, g.p, g.len, &id)) {
		free(g.p);
		return s->classes[id];
	}
	wf__sc_class *c = wf_xcalloc(1, sizeof(*c));
	if (!wf__sc_ids_pop(&s->class_free, &id)) {
		s->classes = wf__sc_grow(s->classes, &s->classes_cap, s->nclasses + 1,
					 sizeof(*s->classes), 16);
		id = s->nclasses++;
	}
	s->classes[id] = c;
	c->id = id;
	c->gen = ++s->class_gen;
	c->sig = g.p;
	c->siglen = (uint32_t)g.len;
	c->labels = wf_xmalloc((nlabels ? nlabels : 1) * sizeof(*labels));
	memcpy(c->labels, labels, nlabels * sizeof(*labels));
	c->nlabels = nlabels;
	c->taints = wf_xmalloc((ntaints ? ntaints : 1) * sizeof(*taints));
	memcpy(c->taints, taints, ntaints * sizeof(*taints));
	c->ntaints = ntaints;
	c->unschedulable = unsched;
	c->ready = ready;
	c->ext_mask = ext_mask;
	c->members = -1;
	c->live_pos = -1;
	for (int i = 0; i < WF__SC_CPU_LEVELS; i++)
		c->cpu_head[i] = -1;
	uint32_t cnt = (uint32_t)__builtin_popcountll(ext_mask);
	c->gidx = wf_xmalloc((cnt ? cnt : 1) * sizeof(*c->gidx));
	for (uint32_t k = 0; k < cnt; k++) {
		for (int p = 0; p < 2; p++)
			for (int j = 0; j < WF__SC_GPU_KEYS; j++)
				c->gidx[k].head[p][j] = -1;
		c->gidx[k].mask[0] = c->gidx[k].mask[1] = 0;
	}
	for (uint64_t m = ext_mask; m; m &= m - 1)
		if (s->res[__builtin_ctzll(m)].accel)
			c->accel = true;
	wf__sc_hmap_put(&s->classmap, c->sig, c->siglen, id);
	return c;
}

/* ---- node table ----------------------------------------------------------------- */

wf__sc_node *wf__sc_node_get(const wf_sched *s, const char *name)
{
	uint32_t id;
	if (name && wf__sc_hmap_get(&s->nodemap, name, strlen(name), &id))
		return s->nodes[id];
	return NULL;
}

wf__sc_node *wf__sc_node_placeholder(wf_sched *s, const char *name)
{
	wf__sc_node *n = wf__sc_node_get(s, name);
	if (n)
		return n;
	n = wf_xcalloc(1, sizeof(*n));
	uint32_t id;
	if (!wf__sc_ids_pop(&s->node_free, &id)) {
		s->nodes =
		    wf__sc_grow(s->nodes, &s->nodes_cap, s->nnodes + 1, sizeof(*s->nodes), 64);
		id = s->nnodes++;
	}
	s->nodes[id] = n;
	n->id = id;
	n->name_id = wf__sc_intern(&s->strs, name);
	n->name = s->strs.s[n->name_id];
	n->alloc = wf_xcalloc(s->res_cap, sizeof(int64_t));
	n->used = wf_xcalloc(s->res_cap, sizeof(int64_t));
	n->pods = -1;
	n->min_prio = INT32_MAX;
	n->mlink.prev = n->mlink.next = -1;
	wf__sc_hmap_put(&s->nodemap, n->name, strlen(n->name), id);
	return n;
}

static void node_destroy(wf_sched *s, wf__sc_node *n)
{
	wf__sc_hmap_del(&s->nodemap, n->name, strlen(n->name));
	s->nodes[n->id] = NULL;
	wf__sc_ids_push(&s->node_free, n->id);
	free(n->own);
	free(n->alloc);
	free(n->used);
	free(n->nominated);
	free(n->glink);
	free(n->gkey);
	free(n);
}

void wf__sc_node_maybe_drop(wf_sched *s, wf__sc_node *n)
{
	if (!n->present && n->pods < 0 && n->nnominated == 0)
		node_destroy(s, n);
}

void wf__sc_node_account(wf_sched *s, wf__sc_node *n, const wf__sc_pod *p, int sign)
{
	for (uint16_t i = 0; i < p->nreq; i++) {
		int64_t *u = &n->used[p->rid[i]];
		int64_t d = sign * p->rval[i];
		if (__builtin_add_overflow(*u, d, u))
			*u = d > 0 ? INT64_MAX : INT64_MIN;
	}
	n->used[WF__R_PODS] += sign;
	if (n->present && n->cls)
		index_update(s, n);
}

int32_t wf__sc_node_min_prio(wf_sched *s, wf__sc_node *n)
{
	if (n->min_dirty) {
		int32_t min = INT32_MAX;
		int32_t id = n->pods;
		if (id >= 0) {
			do {
				const wf__sc_pod *p = s->pods[id];
				if (p->prio < min)
					min = p->prio;
				id = p->nlink.next;
			} while (id != n->pods);
		}
		n->min_prio = min;
		n->min_dirty = false;
	}
	return n->min_prio;
}

void wf__sc_node_nominate(wf_sched *s, wf__sc_node *n, wf__sc_pod *p)
{
	n->nominated = wf__sc_grow(n->nominated, &n->nominated_cap, n->nnominated + 1,
				   sizeof(*n->nominated), 4);
	n->nominated[n->nnominated++] = (int32_t)p->id;
}

void wf__sc_node_unnominate(wf_sched *s, wf__sc_node *n, wf__sc_pod *p)
{
	for (uint32_t i = 0; i < n->nnominated; i++) {
		if (n->nominated[i] == (int32_t)p->id) {
			n->nominated[i] = n->nominated[--n->nnominated];
			break;
		}
	}
}

/* ---- upsert / remove ---------------------------------------------------------- */

/* Sort by key and keep the last value of duplicate keys. */
static uint32_t kv_sort_dedup(wf__sc_kv *kv, uint32_t n)
{
	/* Insertion sort is stable, which "last wins" needs. */
	for (uint32_t i = 1; i < n; i++) {
		wf__sc_kv x = kv[i];
		uint32_t j = i;
		while (j > 0 && kv[j - 1].k > x.k) {
			kv[j] = kv[j - 1];
			j--;
		}
		kv[j] = x;
	}
	uint32_t o = 0;
	for (uint32_t i = 0; i < n; i++) {
		if (o && kv[o - 1].k == kv[i].k)
			kv[o - 1] = kv[i];
		else
			kv[o++] = kv[i];
	}
	return o;
}

static bool taints_equal(const wf__sc_class *a, const wf__sc_class *b)
{
	return a->ntaints == b->ntaints &&
	       memcmp(a->taints, b->taints, a->ntaints * sizeof(*a->taints)) == 0;
}

static bool labels_equal(const wf__sc_kv *a, uint32_t na, const wf__sc_kv *b, uint32_t nb)
{
	return na == nb && memcmp(a, b, na * sizeof(*a)) == 0;
}

int wf_sched_node_upsert(wf_sched *s, const wf_sched_node_spec *spec, wf_err *err)
{
	if (!s || !spec || !spec->name || !*spec->name)
		return wf_err_set(err, WF_EINVAL, "node: name is required");
	if (spec->ready > WF_SCHED_READY_UNKNOWN)
		return wf_err_set(err, WF_EINVAL, "node %s: invalid readiness", spec->name);
	for (size_t i = 0; i < spec->nlabels; i++)
		if (!spec->labels[i].key || !spec->labels[i].value)
			return wf_err_set(err, WF_EINVAL, "node %s: label %zu has no key or value",
					  spec->name, i);
	for (size_t i = 0; i < spec->ntaints; i++) {
		const wf_sched_taint *t = &spec->taints[i];
		if (!t->key || !*t->key)
			return wf_err_set(err, WF_EINVAL, "node %s: taint %zu has no key",
					  spec->name, i);
		if (t->effect < WF_SCHED_NO_SCHEDULE || t->effect > WF_SCHED_NO_EXECUTE)
			return wf_err_set(err, WF_EINVAL, "node %s: taint %s has an invalid effect",
					  spec->name, t->key);
	}
	for (size_t i = 0; i < spec->nallocatable; i++) {
		const wf_sched_resource *r = &spec->allocatable[i];
		if (!r->name || !*r->name)
			return wf_err_set(err, WF_EINVAL, "node %s: resource %zu has no name",
					  spec->name, i);
		if (r->amount < 0 || r->amount > WF__SC_AMOUNT_MAX)
			return wf_err_set(err, WF_EINVAL,
					  "node %s: allocatable %s out of range: %lld", spec->name,
					  r->name, (long long)r->amount);
	}
	if (spec->nlabels > UINT32_MAX / 2 || spec->ntaints > UINT32_MAX / 2)
		return wf_err_set(err, WF_ETOOBIG, "node %s: too many labels or taints",
				  spec->name);
	/* Resource names first: the only step that can still fail. */
	uint32_t *rids = wf_xmalloc((spec->nallocatable + 1) * sizeof(uint32_t));
	for (size_t i = 0; i < spec->nallocatable; i++) {
		int rc = wf__sc_res_intern(s, spec->allocatable[i].name, &rids[i], err);
		if (rc < 0) {
			free(rids);
			return rc;
		}
	}

	int64_t *alloc = wf_xcalloc(s->res_cap, sizeof(int64_t));
	alloc[WF__R_PODS] = WF__SC_DEFAULT_MAX_PODS;
	uint64_t ext_mask = 0;
	for (size_t i = 0; i < spec->nallocatable; i++)
		alloc[rids[i]] = spec->allocatable[i].amount;
	for (uint32_t r = 0; r < s->nres; r++)
		if (s->res[r].ext && alloc[r] > 0)
			ext_mask |= UINT64_C(1) << r;
	free(rids);

	wf__sc_kv *labels = wf_xmalloc((spec->nlabels + 1) * sizeof(*labels));
	wf__sc_kv *own = wf_xmalloc((spec->nlabels + 1) * sizeof(*own));
	uint32_t nl = 0, no = 0;
	for (size_t i = 0; i < spec->nlabels; i++) {
		wf__sc_kv kv = {wf__sc_intern(&s->strs, spec->labels[i].key),
				wf__sc_intern(&s->strs, spec->labels[i].value)};
		if (wf__sc_is_per_node_key(s, kv.k))
			own[no++] = kv;
		else
			labels[nl++] = kv;
	}
	nl = kv_sort_dedup(labels, nl);
	no = kv_sort_dedup(own, no);
	wf__sc_taint *taints = wf_xmalloc((spec->ntaints + 1) * sizeof(*taints));
	for (size_t i = 0; i < spec->ntaints; i++) {
		memset(&taints[i], 0, sizeof(taints[i]));
		taints[i].k = wf__sc_intern(&s->strs, spec->taints[i].key);
		taints[i].v = wf__sc_intern(&s->strs, spec->taints[i].value);
		taints[i].effect = (uint8_t)spec->taints[i].effect;
	}
	wf__sc_class *c = class_get(s, labels, nl, taints, (uint32_t)spec->ntaints,
				    spec->unschedulable, (uint8_t)spec->ready, ext_mask);
	free(labels);
	free(taints);

	wf__sc_node *n = wf__sc_node_get(s, spec->name);
	uint32_t ev = 0;
	if (!n || !n->present) {
		if (!n)
			n = wf__sc_node_placeholder(s, spec->name);
		n->present = true;
		s->npresent++;
		ev = WF__EV_NODE_ADD | WF__EV_RES;
	} else {
		wf__sc_class *old = n->cls;
		if (old != c) {
			if (!labels_equal(old->labels, old->nlabels, c->labels, c->nlabels))
				ev |= WF__EV_LABELS;
			if (!taints_equal(old, c) || old->ready != c->ready)
				ev |= WF__EV_TAINTS;
			if (old->unschedulable && !c->unschedulable)
				ev |= WF__EV_SCHEDULABLE;
			if (old->ext_mask != c->ext_mask)
				ev |= WF__EV_RES;
		}
		for (uint32_t r = 0; r < s->nres; r++)
			if (alloc[r] > n->alloc[r])
				ev |= WF__EV_RES;
		if (!labels_equal(n->own, n->nown, own, no))
			ev |= WF__EV_LABELS;
	}
	/* The class may be c itself: attach the new one before detaching so a
	 * class that only this node used survives the swap. */
	wf__sc_class *old = n->cls;
	if (old)
		index_unlink(s, n);
	memcpy(n->alloc, alloc, s->res_cap * sizeof(int64_t));
	free(alloc);
	free(n->own);
	n->own = own;
	n->nown = no;
	if (old != c) {
		n->cls = NULL;
		class_attach(s, n, c);
		if (old && --old->nnodes == 0) {
			live_del(s, old);
			class_free(s, old);
		}
	} else {
		index_link(s, n);
	}
	if (ev)
		wf__sc_q_event(s, ev);
	return 0;
}

int wf_sched_node_remove(wf_sched *s, const char *name, wf_err *err)
{
	wf__sc_node *n = s ? wf__sc_node_get(s, name) : NULL;
	if (!n || !n->present)
		return wf_err_set(err, WF_ENOENT, "node %s not found", name ? name : "");
	while (n->nnominated) {
		wf__sc_pod *p = s->pods[n->nominated[n->nnominated - 1]];
		wf__sc_pod_clear_nomination(s, p);
	}
	class_detach(s, n);
	n->present = false;
	s->npresent--;
	memset(n->alloc, 0, s->res_cap * sizeof(int64_t));
	wf__sc_node_maybe_drop(s, n);
	return 0;
}

void wf__sc_nodes_free(wf_sched *s)
{
	for (uint32_t i = 0; i < s->nnodes; i++)
		if (s->nodes[i])
			node_destroy(s, s->nodes[i]);
	for (uint32_t i = 0; i < s->nclasses; i++)
		if (s->classes[i])
			class_free_mem(s->classes[i]);
	free(s->nodes);
	free(s->node_free.v);
	free(s->classes);
	free(s->class_free.v);
	free(s->live);
	wf__sc_hmap_free(&s->nodemap);
	wf__sc_hmap_free(&s->classmap);
	for (uint32_t r = 0; r < s->nres; r++)
		free(s->res[r].name);
	wf__sc_hmap_free(&s->resmap);
}

bool wf_sched_node_usage(const wf_sched *s, const char *node, const char *res, int64_t *allocatable,
			 int64_t *requested)
{
	const wf__sc_node *n = s ? wf__sc_node_get(s, node) : NULL;
	int64_t r = s ? wf__sc_res_find(s, res) : -1;
	if (!n || r < 0)
		return false;
	if (allocatable)
		*allocatable = n->alloc[r];
	if (requested)
		*requested = n->used[r];
	return true;
}
