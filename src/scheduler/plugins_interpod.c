/*
 * plugins_interpod.c - InterPodAffinity: a pod's podAffinity and
 * podAntiAffinity against the pods already placed, with kube-scheduler's
 * semantics and reason strings.
 *
 *   PreFilter  one pass over the placed pods: for each required term of the
 *              incoming pod, the topology domains (values of its topologyKey)
 *              that hold a pod it matches; and the domains that placed pods'
 *              required anti-affinity forbids to the incoming pod.
 *   Filter     a node passes when it is in no forbidden domain
 *                   "node(s) didn't satisfy existing pods anti-affinity rules",
 *              in no domain of an anti-affinity term's matches
 *                   "node(s) didn't match pod anti-affinity rules",
 *              and, for every affinity term, has the topology key and is in a
 *              domain with a match "node(s) didn't match pod affinity rules";
 *              as in Kubernetes, when no placed pod matches any affinity term
 *              and the pod matches all of them itself, any node passes (the
 *              first pod of a group that wants to be together).
 *   Score      preferred terms: the sum of weights of the placed pods each
 *              term matches in the node's domains (anti-affinity subtracts),
 *              normalised to 0-100 over the candidates.
 *
 * Placed pods are the assumed and bound ones, members of a gang reserved
 * earlier in the same pass included. A pass reads the placed pods with
 * required anti-affinity (an index) and, for a pod with terms of its own,
 * the placed pods of each label set its terms select (each label set keeps
 * a list of its placed pods). All three filter failures are
 * UnschedulableAndUnresolvable here: preemption does not evict pods to
 * satisfy inter-pod rules (kube-scheduler may). Preferred terms of placed
 * pods do not score the incoming pod (kube-scheduler's symmetric scoring).
 * Pods without terms skip it while no placed pod has required anti-affinity.
 */
#include <stdlib.h>
#include <string.h>

#include "scheduler/sched_internal.h"

/* A topology domain (key = value), with a weight for scoring. */
typedef struct dom {
	uint32_t key, val;
	int64_t w;
} dom;

typedef struct domset {
	dom *v;
	size_t n, cap;
} domset;

typedef struct wf__sc_ipa {
	domset *req;	 /* per required term (affinity, then anti-affinity) */
	bool aff_none;	 /* no placed pod matches any affinity term */
	bool self;	 /* the pod matches all of its own affinity terms */
	domset existing; /* forbidden by placed pods' anti-affinity */
	domset pref;	 /* preferred terms: domain -> summed weight */
	uint32_t *pkeys; /* distinct keys of pref */
	uint32_t npkeys;
} wf__sc_ipa;

static void dom_add(wf__sc_arena *a, domset *d, uint32_t key, uint32_t val, int64_t w)
{
	d->v = wf__sc_arena_grow(a, d->v, d->n, &d->cap, sizeof(*d->v), 8);
	d->v[d->n++] = (dom){.key = key, .val = val, .w = w};
}

static int dom_cmp(const void *a, const void *b)
{
	const dom *x = a, *y = b;
	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return x->val < y->val ? -1 : x->val > y->val;
}

/* Sort and merge equal domains, summing their weights. */
static void dom_seal(domset *d)
{
	if (d->n < 2)
		return;
	qsort(d->v, d->n, sizeof(*d->v), dom_cmp);
	size_t o = 0;
	for (size_t i = 0; i < d->n; i++) {
		if (o && d->v[o - 1].key == d->v[i].key && d->v[o - 1].val == d->v[i].val)
			d->v[o - 1].w += d->v[i].w;
		else
			d->v[o++] = d->v[i];
	}
	d->n = o;
}

static const dom *dom_find(const domset *d, uint32_t key, uint32_t val)
{
	size_t lo = 0, hi = d->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		const dom *m = &d->v[mid];
		if (m->key < key || (m->key == key && m->val < val))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < d->n && d->v[lo].key == key && d->v[lo].val == val ? &d->v[lo] : NULL;
}

/* ---- matching -------------------------------------------------------------------- */

static bool ns_matches(const wf__sc_aterm *t, const wf__sc_pod *owner, const wf__sc_pod *q)
{
	if (t->all_ns)
		return true;
	if (!t->nns)
		return q->nslen == owner->nslen && !memcmp(q->key, owner->key, q->nslen);
	for (uint32_t i = 0; i < t->nns; i++)
		if (strlen(t->ns[i]) == q->nslen && !memcmp(t->ns[i], q->key, q->nslen))
			return true;
	return false;
}

/* Does the term's label selector match label set l? */
static bool sel_matches(const wf_sched *s, const wf__sc_aterm *t, const wf__sc_lset *l)
{
	if (t->nothing)
		return false;
	for (uint32_t i = 0; i < t->nreqs; i++) {
		/* Values are not interned: one that was never interned is
		 * named by no term (whose values are), so it takes an id no
		 * term holds. */
		const char *v = wf__sc_lset_value(l, t->reqs[i].key);
		int64_t id = v ? wf__sc_intern_find(&s->strs, v) : -1;
		if (v && id < 0)
			id = s->strs.n;
		if (!wf__sc_req_holds(s, &t->reqs[i], id))
			return false;
	}
	return true;
}

/* Does term t of pod `owner` match pod q (namespace and labels)? */
static bool aterm_matches(const wf_sched *s, const wf__sc_aterm *t, const wf__sc_pod *owner,
			  const wf__sc_pod *q)
{
	return sel_matches(s, t, q->labels) && ns_matches(t, owner, q);
}

/* ---- PreFilter ----------------------------------------------------------------------- */

/* Placed pod q (on node n) matches term i of the incoming pod. */
static void term_hit(const wf__sc_cycle *cy, wf__sc_ipa *ipa, uint32_t i, const wf__sc_node *n)
{
	wf_sched *s = cy->s;
	const wf__sc_profile *pr = cy->prof;
	const wf__sc_aterm *t = &pr->aterms[i];
	uint32_t nreq = pr->naff + pr->nanti;
	if (i < pr->naff)
		ipa->aff_none = false;
	int64_t v = wf__sc_label_of(s, n->cls, n, t->topo);
	if (v < 0)
		return;
	if (i < nreq)
		dom_add(&s->arena, &ipa->req[i], t->topo, (uint32_t)v, 1);
	else
		dom_add(&s->arena, &ipa->pref, t->topo, (uint32_t)v,
			i < nreq + pr->npaff ? t->weight : -(int64_t)t->weight);
}

/* The incoming pod's own terms: the placed pods of every label set one of
 * them selects (label sets are far fewer than pods). sel[] is scratch of
 * one flag per term: which terms select l, read once per set. */
static void own_terms(const wf__sc_cycle *cy, wf__sc_ipa *ipa, const wf__sc_lset *l, bool *sel)
{
	const wf__sc_profile *pr = cy->prof;
	const wf_sched *s = cy->s;
	uint32_t nall = pr->naff + pr->nanti + pr->npaff + pr->npanti;
	if (!l || l->placed < 0)
		return;
	bool any = false;
	for (uint32_t i = 0; i < nall; i++)
		any |= sel[i] = sel_matches(s, &pr->aterms[i], l);
	if (!any)
		return;
	int32_t id = l->placed;
	do {
		const wf__sc_pod *q = s->pods[id];
		id = q->llink.next;
		if (q == cy->pod || !q->node->present)
			continue;
		for (uint32_t i = 0; i < nall; i++)
			if (sel[i] && ns_matches(&pr->aterms[i], cy->pod, q))
				term_hit(cy, ipa, i, q->node);
	} while (id != l->placed);
}

/* Placed pod q's required anti-affinity against the incoming pod. */
static void existing_anti(const wf__sc_cycle *cy, wf__sc_ipa *ipa, const wf__sc_pod *q)
{
	wf_sched *s = cy->s;
	const wf__sc_profile *qp = q->prof;
	const wf__sc_node *n = q->node;
	if (q == cy->pod || !n || !n->present)
		return;
	for (uint32_t i = 0; i < qp->nanti; i++) {
		const wf__sc_aterm *t = &qp->aterms[qp->naff + i];
		if (!aterm_matches(s, t, q, cy->pod))
			continue;
		int64_t v = wf__sc_label_of(s, n->cls, n, t->topo);
		if (v >= 0)
			dom_add(&s->arena, &ipa->existing, t->topo, (uint32_t)v, 1);
	}
}

static wf__sc_status prefilter_interpod(wf__sc_cycle *cy)
{
	wf_sched *s = cy->s;
	const wf__sc_profile *pr = cy->prof;
	const wf__sc_pod *p = cy->pod;
	cy->ipa = NULL;
	uint32_t nreq = pr->naff + pr->nanti;
	bool own = nreq || pr->npaff || pr->npanti;
	if (!own && !s->anti_placed.n)
		return (wf__sc_status){.code = WF_SCHED_SKIP};
	wf__sc_ipa *ipa = wf__sc_arena_zalloc(&s->arena, sizeof(*ipa));
	ipa->req = wf__sc_arena_zalloc(&s->arena, (nreq ? nreq : 1) * sizeof(*ipa->req));
	ipa->aff_none = true;
	ipa->self = true;
	for (uint32_t i = 0; i < pr->naff; i++)
		if (!aterm_matches(s, &pr->aterms[i], p, p))
			ipa->self = false;
	for (uint32_t i = 0; i < s->anti_placed.cap; i++)
		if (s->anti_placed.e[i].key)
			existing_anti(cy, ipa, s->pods[s->anti_placed.e[i].val]);
	if (own) {
		bool *sel =
		    wf__sc_arena_alloc(&s->arena, (nreq + pr->npaff + pr->npanti) * sizeof(bool));
		for (uint32_t i = 0; i < s->nlsets; i++)
			own_terms(cy, ipa, s->lsets[i], sel);
		own_terms(cy, ipa, s->no_labels, sel);
	}
	for (uint32_t i = 0; i < nreq; i++)
		dom_seal(&ipa->req[i]);
	dom_seal(&ipa->existing);
	dom_seal(&ipa->pref);
	ipa->pkeys =
	    wf__sc_arena_alloc(&s->arena, (ipa->pref.n ? ipa->pref.n : 1) * sizeof(uint32_t));
	for (size_t i = 0; i < ipa->pref.n; i++)
		if (!ipa->npkeys || ipa->pkeys[ipa->npkeys - 1] != ipa->pref.v[i].key)
			ipa->pkeys[ipa->npkeys++] = ipa->pref.v[i].key;
	cy->ipa = ipa;
	return (wf__sc_status){.code = WF_SCHED_SUCCESS};
}

const wf__sc_prefilter_plugin wf__sc_prefilter_interpod = {
    .name = "InterPodAffinity",
    .prefilter = prefilter_interpod,
};

/* ---- Filter ------------------------------------------------------------------------ */

static wf__sc_status fail(uint8_t reason)
{
	return (wf__sc_status){.code = WF_SCHED_UNRESOLVABLE, .reason = reason};
}

static wf__sc_status filter_interpod(const wf__sc_cycle *cy, const wf__sc_class *c,
				     const wf__sc_node *n)
{
	const wf__sc_ipa *ipa = cy->ipa;
	if (!ipa || !n)
		return (wf__sc_status){.code = WF_SCHED_SUCCESS};
	const wf_sched *s = cy->s;
	const wf__sc_profile *pr = cy->prof;
	for (size_t i = 0; i < ipa->existing.n; i++)
		if (wf__sc_label_of(s, c, n, ipa->existing.v[i].key) ==
		    (int64_t)ipa->existing.v[i].val)
			return fail(WF__RS_EXISTING_ANTI);
	for (uint32_t i = 0; i < pr->nanti; i++) {
		uint32_t key = pr->aterms[pr->naff + i].topo;
		int64_t v = wf__sc_label_of(s, c, n, key);
		if (v >= 0 && dom_find(&ipa->req[pr->naff + i], key, (uint32_t)v))
			return fail(WF__RS_POD_ANTI);
	}
	bool all = true;
	for (uint32_t i = 0; i < pr->naff; i++) {
		uint32_t key = pr->aterms[i].topo;
		int64_t v = wf__sc_label_of(s, c, n, key);
		if (v < 0)
			return fail(WF__RS_POD_AFFINITY);
		if (!dom_find(&ipa->req[i], key, (uint32_t)v))
			all = false;
	}
	if (!all && !(ipa->aff_none && ipa->self))
		return fail(WF__RS_POD_AFFINITY);
	return (wf__sc_status){.code = WF_SCHED_SUCCESS};
}

const wf__sc_filter_plugin wf__sc_filter_interpod = {
    .name = "InterPodAffinity",
    .scope = WF__SCOPE_NODE,
    .fail_events = WF__EV_PODS | WF__EV_LABELS | WF__EV_NODE_ADD,
    .filter = filter_interpod,
};

/* ---- Score --------------------------------------------------------------------------- */

static bool has_pref(const wf__sc_cycle *cy)
{
	return cy->ipa && cy->ipa->pref.n;
}

static int64_t score_interpod(const wf__sc_cycle *cy, const wf__sc_class *c, const wf__sc_node *n)
{
	const wf__sc_ipa *ipa = cy->ipa;
	int64_t sum = 0;
	for (uint32_t i = 0; i < ipa->npkeys; i++) {
		int64_t v = wf__sc_label_of(cy->s, c, n, ipa->pkeys[i]);
		const dom *d = v >= 0 ? dom_find(&ipa->pref, ipa->pkeys[i], (uint32_t)v) : NULL;
		if (d)
			sum += d->w;
	}
	return sum;
}

/* kube-scheduler's: (score - min) * 100 / (max - min); all 0 when equal. */
static void normalize_range(int64_t *raw, size_t n)
{
	if (!n)
		return;
	int64_t lo = raw[0], hi = raw[0];
	for (size_t i = 1; i < n; i++) {
		lo = raw[i] < lo ? raw[i] : lo;
		hi = raw[i] > hi ? raw[i] : hi;
	}
	for (size_t i = 0; i < n; i++)
		raw[i] = hi > lo ? (raw[i] - lo) * 100 / (hi - lo) : 0;
}

static int w_interpod(const wf_sched_config *cfg)
{
	return cfg->weight_inter_pod;
}

const wf__sc_score_plugin wf__sc_score_interpod = {
    .name = "InterPodAffinity",
    .scope = WF__SCOPE_NODE,
    .weight = w_interpod,
    .applies = has_pref,
    .score = score_interpod,
    .normalize = normalize_range,
};
