/*
 * framework.c - the scheduling framework: extension points as function
 * tables in kube-scheduler's order, and one pod's scheduling cycle.
 *
 *   QueueSort -> PreFilter -> Filter -> [PostFilter] -> Score -> Reserve
 *   -> Permit -> Bind   (Unreserve when Permit refuses or a gang fails)
 *
 * Design (why it is fast). A full filter pass over every node per pod is the
 * cost to beat. Here:
 *  1. CLASS-scoped filters and scores run once per (pod profile, node class)
 *     and are cached in the profile (wf__sc_class_verdict); classes and
 *     profiles are immutable, so the cache never goes stale.
 *  2. Within each class that passes, the free-resource indexes of nodes.c
 *     yield candidates best-first: for a pod requesting an extended resource
 *     g, the class's g buckets from partly-used-tightest to empty-largest,
 *     stopping at the first node whose NODE-scoped filters pass (it has the
 *     class's best GPUBinPack score, and every other score is equal within a
 *     class); for a CPU-only pod, the highest least-allocated levels,
 *     stopping after cpu_candidates_per_class feasible nodes (a sample like
 *     kube-scheduler's percentageOfNodesToScore, but taken from the emptiest
 *     nodes; exact up to the 1/32 level granularity).
 *  3. Score plugins then run on the candidates only (one or a few per class),
 *     normalise to 0..100 over them and are summed by weight.
 * A pod whose constraints read node names or per-node labels (matchFields,
 * kubernetes.io/hostname) cannot use the class cache: it is filtered node by
 * node, over the named nodes when every required term pins names, else over
 * the nodes from a rotating start until kube-scheduler's sample of feasible
 * nodes is found (numFeasibleNodesToFind: 50% - nodes/125, at least 5% and
 * 100 nodes; 500 of 5,000) - kube-scheduler's own cost. When no node fits,
 * the reasons are counted over every node (per class where possible): the
 * FitError message.
 *
 * Scratch memory of a cycle comes from s->arena, reset after the cycle.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/wf_mem.h"
#include "scheduler/sched_internal.h"

/* ---- Reserve, Bind ------------------------------------------------------------ */

static void reserve_resources(wf__sc_cycle *cy, wf__sc_node *n)
{
	wf__sc_pod_assign(cy->s, cy->pod, n, WF__P_ASSUMED);
}

static void unreserve_resources(wf__sc_cycle *cy, wf__sc_node *n)
{
	wf__sc_pod_unassign(cy->s, cy->pod);
}

static const wf__sc_reserve_plugin reserve_fit = {
    .name = "NodeResourcesFit",
    .reserve = reserve_resources,
    .unreserve = unreserve_resources,
};

/* DefaultBinder: hand the binding to the driver as a decision. */
static wf__sc_status bind_default(wf__sc_cycle *cy, const wf__sc_node *n)
{
	wf__sc_pod *p = cy->pod;
	wf__sc_pod_clear_nomination(cy->s, p);
	wf__sc_emit(cy->s, WF_SCHED_DEC_BIND, p->key, p->nslen, wf__sc_pod_name(p), n->name, NULL,
		    p->prio, NULL, 0);
	return (wf__sc_status){.code = WF_SCHED_SUCCESS};
}

static const wf__sc_bind_plugin binder = {
    .name = "DefaultBinder",
    .bind = bind_default,
};

const wf__sc_framework wf__sc_default_framework = {
    .sort = &wf__sc_sort_priority,
    .prefilter = {&wf__sc_prefilter_resources, &wf__sc_prefilter_gang, &wf__sc_prefilter_interpod},
    .nprefilter = 3,
    .filter = {&wf__sc_filter_node_unschedulable, &wf__sc_filter_node_name,
	       &wf__sc_filter_taint_toleration, &wf__sc_filter_node_affinity,
	       &wf__sc_filter_resources_fit, &wf__sc_filter_interpod},
    .nfilter = 6,
    .postfilter = &wf__sc_postfilter_preemption,
    .score = {&wf__sc_score_node_affinity, &wf__sc_score_taint_toleration, &wf__sc_score_gpu_avoid,
	      &wf__sc_score_gpu_binpack, &wf__sc_score_least_allocated, &wf__sc_score_balanced,
	      &wf__sc_score_interpod},
    .nscore = 7,
    .class_score_slot = {0, 1, 2, 0xff, 0xff, 0xff, 0xff},
    .reserve = {&reserve_fit},
    .nreserve = 1,
    .permit = {&wf__sc_permit_gang},
    .npermit = 1,
    .bind = &binder,
};

/* ---- cycle --------------------------------------------------------------------- */

void wf__sc_cycle_init(wf__sc_cycle *cy, wf_sched *s, wf__sc_pod *p, int64_t now)
{
	memset(cy, 0, sizeof(*cy));
	cy->s = s;
	cy->pod = p;
	cy->prof = p->prof;
	cy->now = now;
	cy->primary = -1;
	cy->cpu_only = true;
}

wf__sc_status wf__sc_prefilter(wf__sc_cycle *cy)
{
	const wf__sc_framework *fw = cy->s->fw;
	for (uint8_t i = 0; i < fw->nprefilter; i++) {
		wf__sc_status st = fw->prefilter[i]->prefilter(cy);
		if (st.code != WF_SCHED_SUCCESS && st.code != WF_SCHED_SKIP)
			return st;
	}
	for (uint8_t i = 0; i < fw->nscore; i++)
		cy->skip_score[i] =
		    !fw->score[i]->applies(cy) || fw->score[i]->weight(&cy->s->cfg) == 0;
	return (wf__sc_status){.code = WF_SCHED_SUCCESS};
}

const wf__sc_pcache *wf__sc_class_verdict(const wf__sc_cycle *cy, const wf__sc_class *c)
{
	wf__sc_profile *pr = cy->prof;
	if (c->id >= pr->ncache) {
		wf_sched *s = cy->s;
		uint32_t n = s->nclasses > c->id ? s->nclasses : c->id + 1;
		if (s->cache_entries + (n - pr->ncache) > WF__SC_CACHE_BUDGET)
			wf__sc_profiles_trim(s); /* may drop pr's own cache too */
		s->cache_entries += n - pr->ncache;
		pr->cache = wf_xrealloc(pr->cache, n * sizeof(*pr->cache));
		memset(pr->cache + pr->ncache, 0, (n - pr->ncache) * sizeof(*pr->cache));
		pr->ncache = n;
	}
	wf__sc_pcache *e = &pr->cache[c->id];
	if (e->gen == c->gen)
		return e;
	const wf__sc_framework *fw = cy->s->fw;
	e->fail_plugin = 0xff;
	e->code = WF_SCHED_SUCCESS;
	for (uint8_t i = 0; i < fw->nfilter; i++) {
		if (fw->filter[i]->scope != WF__SCOPE_CLASS)
			continue;
		wf__sc_status st = fw->filter[i]->filter(cy, c, NULL);
		if (st.code != WF_SCHED_SUCCESS) {
			e->fail_plugin = i;
			e->code = st.code;
			e->reason = st.reason;
			e->arg = st.arg;
			e->arg2 = st.arg2;
			break;
		}
	}
	for (uint8_t i = 0; i < fw->nscore; i++)
		if (fw->score[i]->scope == WF__SCOPE_CLASS)
			e->score[fw->class_score_slot[i]] = fw->score[i]->score(cy, c, NULL);
	e->gen = c->gen;
	return e;
}

/* Every filter, in order, for one node. */
wf__sc_status wf__sc_filter_node(const wf__sc_cycle *cy, const wf__sc_node *n)
{
	const wf__sc_framework *fw = cy->s->fw;
	const wf__sc_pcache *e = cy->prof->per_node ? NULL : wf__sc_class_verdict(cy, n->cls);
	for (uint8_t i = 0; i < fw->nfilter; i++) {
		const wf__sc_filter_plugin *f = fw->filter[i];
		if (f->scope == WF__SCOPE_CLASS && e) {
			if (e->fail_plugin == i)
				return (wf__sc_status){.code = e->code,
						       .reason = e->reason,
						       .arg = e->arg,
						       .arg2 = e->arg2};
			continue;
		}
		wf__sc_status st = f->filter(cy, n->cls, n);
		if (st.code != WF_SCHED_SUCCESS)
			return st;
	}
	return (wf__sc_status){.code = WF_SCHED_SUCCESS};
}

bool wf__sc_pod_fits_node(wf_sched *s, wf__sc_pod *p, const wf__sc_node *n)
{
	wf__sc_cycle cy;
	wf__sc_cycle_init(&cy, s, p, s->now);
	if (p->gang && !wf__sc_gang_quorum(p->gang))
		return false;
	/* Every other filter first (InterPodAffinity passes without its
	 * PreFilter state): most pods offered freed capacity fail them, and
	 * they are cheaper than that PreFilter. */
	if (wf__sc_filter_node(&cy, n).code != WF_SCHED_SUCCESS)
		return false;
	if (wf__sc_prefilter_interpod.prefilter(&cy).code != WF_SCHED_SUCCESS)
		return true;
	return wf__sc_filter_interpod.filter(&cy, n->cls, n).code == WF_SCHED_SUCCESS;
}

/* NODE-scoped filters only, for nodes of a class that passed the rest. */
static bool node_filters_pass(const wf__sc_cycle *cy, const wf__sc_node *n)
{
	const wf__sc_framework *fw = cy->s->fw;
	for (uint8_t i = 0; i < fw->nfilter; i++)
		if (fw->filter[i]->scope == WF__SCOPE_NODE &&
		    fw->filter[i]->filter(cy, n->cls, n).code != WF_SCHED_SUCCESS)
			return false;
	return true;
}

/* ---- candidates ------------------------------------------------------------------ */

typedef struct cands {
	wf__sc_node **v;
	size_t n, cap;
} cands;

static void cand_add(wf__sc_cycle *cy, cands *c, wf__sc_node *n)
{
	c->v = wf__sc_arena_grow(&cy->s->arena, c->v, c->n, &c->cap, sizeof(*c->v), 64);
	c->v[c->n++] = n;
}

static void scan_node(wf__sc_cycle *cy, cands *c, wf__sc_node *n)
{
	if (n && n->present && wf__sc_filter_node(cy, n).code == WF_SCHED_SUCCESS)
		cand_add(cy, c, n);
}

/* Best-fitting node of class c for the pod's extended resource. */
static void walk_gpu(wf__sc_cycle *cy, cands *out, const wf__sc_class *c)
{
	wf_sched *s = cy->s;
	uint32_t g = (uint32_t)cy->primary;
	if (!(c->ext_mask & (UINT64_C(1) << g)))
		return;
	uint32_t rank = (uint32_t)__builtin_popcountll(c->ext_mask & ((UINT64_C(1) << g) - 1));
	const wf__sc_gidx *gi = &c->gidx[rank];
	int64_t kmin =
	    cy->req_primary < WF__SC_GPU_KEYS - 1 ? cy->req_primary : WF__SC_GPU_KEYS - 1;
	uint64_t low = kmin ? (UINT64_C(1) << kmin) - 1 : 0;
	for (int partly = 1; partly >= 0; partly--) {
		uint64_t m = gi->mask[partly] & ~low;
		while (m) {
			int k = __builtin_ctzll(m);
			m &= m - 1;
			int32_t head = gi->head[partly][k];
			int32_t id = head;
			do {
				wf__sc_node *n = s->nodes[id];
				if (node_filters_pass(cy, n)) {
					cand_add(cy, out, n);
					return;
				}
				id = n->glink[rank].next;
			} while (id != head);
		}
	}
}

/* The emptiest feasible nodes of class c (least-allocated order). */
static void walk_cpu(wf__sc_cycle *cy, cands *out, const wf__sc_class *c)
{
	wf_sched *s = cy->s;
	unsigned want = s->cfg.cpu_candidates_per_class ? s->cfg.cpu_candidates_per_class : 1;
	unsigned got = 0;
	uint32_t m = c->cpu_mask;
	while (m) {
		int lvl = 31 - __builtin_clz(m);
		m &= ~(1u << lvl);
		int32_t head = c->cpu_head[lvl];
		int32_t id = head;
		do {
			wf__sc_node *n = s->nodes[id];
			if (node_filters_pass(cy, n)) {
				cand_add(cy, out, n);
				if (++got >= want)
					return;
			}
			id = n->clink.next;
		} while (id != head);
	}
}

static void collect(wf__sc_cycle *cy, cands *c)
{
	wf_sched *s = cy->s;
	const wf__sc_pod *p = cy->pod;
	const wf__sc_profile *pr = cy->prof;
	if (p->want_node) {
		scan_node(cy, c, wf__sc_node_get(s, s->strs.s[p->want_node]));
		return;
	}
	if (pr->names_only) {
		for (uint32_t i = 0; i < pr->nnames; i++)
			scan_node(cy, c, wf__sc_node_get(s, s->strs.s[pr->names[i]]));
		return;
	}
	if (pr->per_node) {
		/* kube-scheduler's numFeasibleNodesToFind: stop after a sample of
		 * feasible nodes, starting where the last scan stopped. */
		uint32_t want = s->npresent;
		if (want >= 100) {
			uint32_t pct = s->npresent / 125 < 45 ? 50 - s->npresent / 125 : 5;
			want = s->npresent * pct / 100;
			if (want < 100)
				want = 100;
		}
		for (uint32_t k = 0; k < s->nnodes && c->n < want; k++) {
			uint32_t i = (s->scan_next + k) % s->nnodes;
			scan_node(cy, c, s->nodes[i]);
			if (c->n >= want)
				s->scan_next = (i + 1) % s->nnodes;
		}
		return;
	}
	for (uint32_t i = 0; i < s->nlive; i++) {
		const wf__sc_class *cl = s->classes[s->live[i]];
		if (wf__sc_class_verdict(cy, cl)->fail_plugin != 0xff)
			continue;
		if (cy->primary >= 0)
			walk_gpu(cy, c, cl);
		else
			walk_cpu(cy, c, cl);
	}
}

wf__sc_node *wf__sc_find_node(wf__sc_cycle *cy)
{
	wf_sched *s = cy->s;
	const wf__sc_framework *fw = s->fw;
	/* A nominated node that fits is taken at once (kube's evaluateNominatedNode). */
	if (cy->pod->nominated >= 0) {
		wf__sc_node *n = s->nodes[cy->pod->nominated];
		if (n->present && wf__sc_filter_node(cy, n).code == WF_SCHED_SUCCESS)
			return n;
	}
	cands c = {0};
	collect(cy, &c);
	if (c.n <= 1)
		return c.n ? c.v[0] : NULL;

	int64_t *total = wf__sc_arena_zalloc(&s->arena, c.n * sizeof(int64_t));
	int64_t *raw = wf__sc_arena_alloc(&s->arena, c.n * sizeof(int64_t));
	for (uint8_t j = 0; j < fw->nscore; j++) {
		if (cy->skip_score[j])
			continue;
		const wf__sc_score_plugin *sp = fw->score[j];
		bool cached = sp->scope == WF__SCOPE_CLASS && !cy->prof->per_node;
		for (size_t i = 0; i < c.n; i++)
			raw[i] = cached ? wf__sc_class_verdict(cy, c.v[i]->cls)
					      ->score[fw->class_score_slot[j]]
					: sp->score(cy, c.v[i]->cls, c.v[i]);
		if (sp->normalize)
			sp->normalize(raw, c.n);
		int w = sp->weight(&s->cfg);
		for (size_t i = 0; i < c.n; i++)
			total[i] += w * raw[i];
	}
	size_t best = 0;
	for (size_t i = 1; i < c.n; i++)
		if (total[i] > total[best])
			best = i;
	return c.v[best];
}

/* ---- Reserve / Permit / Bind wrappers -------------------------------------------- */

void wf__sc_reserve(wf__sc_cycle *cy, wf__sc_node *n)
{
	const wf__sc_framework *fw = cy->s->fw;
	for (uint8_t i = 0; i < fw->nreserve; i++)
		fw->reserve[i]->reserve(cy, n);
}

void wf__sc_unreserve(wf__sc_cycle *cy, wf__sc_node *n)
{
	const wf__sc_framework *fw = cy->s->fw;
	for (uint8_t i = fw->nreserve; i-- > 0;)
		fw->reserve[i]->unreserve(cy, n);
}

wf__sc_status wf__sc_permit(const wf__sc_cycle *cy, const wf__sc_node *n)
{
	const wf__sc_framework *fw = cy->s->fw;
	for (uint8_t i = 0; i < fw->npermit; i++) {
		wf__sc_status st = fw->permit[i]->permit(cy, n);
		if (st.code != WF_SCHED_SUCCESS)
			return st;
	}
	return (wf__sc_status){.code = WF_SCHED_SUCCESS};
}

void wf__sc_bind(wf__sc_cycle *cy, const wf__sc_node *n)
{
	cy->s->fw->bind->bind(cy, n);
}

/* ---- reasons and the FitError message -------------------------------------------- */

void wf__sc_format_reason(const wf_sched *s, uint8_t reason, uint32_t arg, uint32_t arg2,
			  uint32_t resbit, wf_buf *out)
{
	switch (reason) {
	case WF__RS_UNSCHEDULABLE:
		wf_buf_puts(out, "node(s) were unschedulable");
		break;
	case WF__RS_NODE_NAME:
		wf_buf_puts(out, "node(s) didn't match the requested node name");
		break;
	case WF__RS_TAINT:
		wf_buf_printf(out, "node(s) had untolerated taint {%s: %s}", s->strs.s[arg],
			      s->strs.s[arg2]);
		break;
	case WF__RS_AFFINITY:
		wf_buf_puts(out, "node(s) didn't match Pod's node affinity/selector");
		break;
	case WF__RS_RESOURCES:
		if (resbit == WF__R_PODS)
			wf_buf_puts(out, "Too many pods");
		else
			wf_buf_printf(out, "Insufficient %s", s->res[resbit].name);
		break;
	case WF__RS_NO_VICTIMS:
		wf_buf_puts(out, "No preemption victims found for incoming pod");
		break;
	case WF__RS_NOT_HELPFUL:
		wf_buf_puts(out, "Preemption is not helpful for scheduling");
		break;
	case WF__RS_GANG: {
		const wf__sc_gang *g = arg < s->ngangs ? s->gangs[arg] : NULL;
		if (!g)
			wf_buf_puts(out, "pod group not found");
		else if (!g->defined)
			wf_buf_printf(out, "pod group \"%s\" not found", g->key);
		else
			wf_buf_printf(out, "pod group \"%s\" has %u of minMember %d pods", g->key,
				      g->nmembers, (int)g->min_member);
		break;
	}
	case WF__RS_POD_AFFINITY:
		wf_buf_puts(out, "node(s) didn't match pod affinity rules");
		break;
	case WF__RS_POD_ANTI:
		wf_buf_puts(out, "node(s) didn't match pod anti-affinity rules");
		break;
	case WF__RS_EXISTING_ANTI:
		wf_buf_puts(out, "node(s) didn't satisfy existing pods anti-affinity rules");
		break;
	default:
		wf_buf_puts(out, "unknown reason");
	}
}

uint32_t wf__sc_status_events(const wf__sc_status *st)
{
	switch (st->reason) {
	case WF__RS_UNSCHEDULABLE:
		return WF__EV_SCHEDULABLE;
	case WF__RS_NODE_NAME:
		return WF__EV_NODE_ADD;
	case WF__RS_TAINT:
		return WF__EV_TAINTS;
	case WF__RS_AFFINITY:
		return WF__EV_LABELS;
	case WF__RS_RESOURCES:
		return WF__EV_RES;
	case WF__RS_GANG:
		return WF__EV_GANG;
	case WF__RS_POD_AFFINITY:
	case WF__RS_POD_ANTI:
	case WF__RS_EXISTING_ANTI:
		return WF__EV_PODS | WF__EV_LABELS;
	default:
		return WF__EV_ALL;
	}
}

typedef struct hist_ent {
	uint8_t reason;
	uint32_t arg, arg2, bit;
	size_t count;
} hist_ent;

typedef struct hist {
	hist_ent *v;
	size_t n, cap;
} hist;

static void hist_add(wf_sched *s, hist *h, uint8_t reason, uint32_t arg, uint32_t arg2,
		     uint32_t bit, size_t count)
{
	for (size_t i = 0; i < h->n; i++) {
		hist_ent *e = &h->v[i];
		if (e->reason == reason && e->arg == arg && e->arg2 == arg2 && e->bit == bit) {
			e->count += count;
			return;
		}
	}
	h->v = wf__sc_arena_grow(&s->arena, h->v, h->n, &h->cap, sizeof(*h->v), 16);
	h->v[h->n++] = (hist_ent){reason, arg, arg2, bit, count};
}

static void hist_add_status(wf_sched *s, hist *h, const wf__sc_status *st, size_t count)
{
	if (st->reason == WF__RS_RESOURCES) {
		for (uint64_t m = st->res; m; m &= m - 1)
			hist_add(s, h, st->reason, 0, 0, (uint32_t)__builtin_ctzll(m), count);
		return;
	}
	hist_add(s, h, st->reason, st->arg, st->arg2, 0, count);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* "0/N nodes are available: <count reason>, ... ." with the "<count> <reason>"
 * strings sorted as strings, as kube-scheduler's sortReasonsHistogram. */
static void hist_format(wf_sched *s, const hist *h, size_t total, wf_buf *out)
{
	wf_buf_printf(out, "0/%zu nodes are available:", total);
	if (!h->n)
		return;
	char **items = wf__sc_arena_alloc(&s->arena, h->n * sizeof(char *));
	for (size_t i = 0; i < h->n; i++) {
		wf_buf b;
		wf_buf_init(&b);
		wf_buf_printf(&b, "%zu ", h->v[i].count);
		wf__sc_format_reason(s, h->v[i].reason, h->v[i].arg, h->v[i].arg2, h->v[i].bit, &b);
		items[i] = wf__sc_arena_strndup(&s->arena, b.data, b.len);
		wf_buf_free(&b);
	}
	qsort(items, h->n, sizeof(char *), cmp_str);
	wf_buf_putc(out, ' ');
	for (size_t i = 0; i < h->n; i++) {
		if (i)
			wf_buf_puts(out, ", ");
		wf_buf_puts(out, items[i]);
	}
	wf_buf_putc(out, '.');
}

/* Every node's first failing filter, counted. With a class-cached profile a
 * class that fails a CLASS-scoped filter counts all its nodes at once (no
 * NODE-scoped filter runs before those for such a pod: NodeName needs a
 * named node, which takes the node-by-node path); only nodes of classes
 * that pass are looked at one by one. h may be NULL (counts only). */
static void diagnose(wf__sc_cycle *cy, hist *h)
{
	wf_sched *s = cy->s;
	uint32_t ev = WF__EV_NODE_ADD, unres = 0, unsched = 0;
	if (!cy->prof->per_node && !cy->pod->want_node) {
		for (uint32_t i = 0; i < s->nlive; i++) {
			const wf__sc_class *c = s->classes[s->live[i]];
			const wf__sc_pcache *e = wf__sc_class_verdict(cy, c);
			if (e->fail_plugin != 0xff) {
				wf__sc_status st = {.code = e->code,
						    .reason = e->reason,
						    .arg = e->arg,
						    .arg2 = e->arg2};
				if (h)
					hist_add_status(s, h, &st, c->nnodes);
				ev |= wf__sc_status_events(&st);
				if (st.code == WF_SCHED_UNSCHEDULABLE)
					unsched += c->nnodes;
				else
					unres += c->nnodes;
				continue;
			}
			int32_t id = c->members;
			do {
				const wf__sc_node *n = s->nodes[id];
				id = n->mlink.next;
				wf__sc_status st = wf__sc_filter_node(cy, n);
				if (st.code == WF_SCHED_SUCCESS)
					continue;
				if (h)
					hist_add_status(s, h, &st, 1);
				ev |= wf__sc_status_events(&st);
				if (st.code == WF_SCHED_UNSCHEDULABLE)
					unsched++;
				else
					unres++;
			} while (id != c->members);
		}
	} else {
		for (uint32_t i = 0; i < s->nnodes; i++) {
			const wf__sc_node *n = s->nodes[i];
			if (!n || !n->present)
				continue;
			wf__sc_status st = wf__sc_filter_node(cy, n);
			if (st.code == WF_SCHED_SUCCESS)
				continue;
			if (h)
				hist_add_status(s, h, &st, 1);
			ev |= wf__sc_status_events(&st);
			if (st.code == WF_SCHED_UNSCHEDULABLE)
				unsched++;
			else
				unres++;
		}
	}
	cy->diag_events = ev;
	cy->diag_unresolvable = unres;
	cy->diag_unschedulable = unsched;
	cy->diagnosed = true;
}

void wf__sc_diagnose(wf__sc_cycle *cy)
{
	if (!cy->diagnosed)
		diagnose(cy, NULL);
}

uint32_t wf__sc_fit_error(wf__sc_cycle *cy, wf_buf *out)
{
	wf_sched *s = cy->s;
	if (!s->npresent) {
		wf_buf_puts(out, "no nodes available to schedule pods");
		return WF__EV_NODE_ADD;
	}
	hist h = {0};
	diagnose(cy, &h);
	hist_format(s, &h, s->npresent, out);
	return cy->diag_events;
}

void wf__sc_preempt_msg(wf_sched *s, size_t no_victims, size_t not_helpful, wf_buf *out)
{
	hist h = {0};
	if (no_victims)
		hist_add(s, &h, WF__RS_NO_VICTIMS, 0, 0, 0, no_victims);
	if (not_helpful)
		hist_add(s, &h, WF__RS_NOT_HELPFUL, 0, 0, 0, not_helpful);
	wf_buf_puts(out, "preemption: ");
	hist_format(s, &h, no_victims + not_helpful, out);
}

/* ---- one pod --------------------------------------------------------------------- */

void wf__sc_schedule_pod(wf_sched *s, wf__sc_pod *p, int64_t now)
{
	wf__sc_cycle cy;
	wf__sc_cycle_init(&cy, s, p, now);
	s->cycles++;
	wf__sc_pod_q(p)->attempts++;
	int32_t unit = (int32_t)(p->id * 2);
	wf_buf msg;
	wf_buf_init(&msg);
	uint32_t ev = WF__EV_ALL;

	wf__sc_status st = wf__sc_prefilter(&cy);
	if (st.code == WF_SCHED_SUCCESS) {
		wf__sc_node *n = wf__sc_find_node(&cy);
		if (n) {
			wf__sc_reserve(&cy, n);
			st = wf__sc_permit(&cy, n);
			if (st.code == WF_SCHED_SUCCESS) {
				wf__sc_bind(&cy, n);
				wf__sc_pod_q(p)->attempts = 0;
				goto out;
			}
			wf__sc_unreserve(&cy, n);
			wf_buf_puts(&msg, "rejected at Permit");
		} else {
			ev = wf__sc_fit_error(&cy, &msg);
			wf_buf pf;
			wf_buf_init(&pf);
			if (s->npresent && s->fw->postfilter &&
			    !s->fw->postfilter->postfilter(&cy, &pf) && pf.len) {
				wf_buf_putc(&msg, ' ');
				wf_buf_append(&msg, pf.data, pf.len);
			}
			wf_buf_free(&pf);
		}
	} else {
		wf_buf_printf(&msg, "0/%u nodes are available: ", s->npresent);
		wf__sc_format_reason(s, st.reason, st.arg, st.arg2, 0, &msg);
		wf_buf_putc(&msg, '.');
		ev = WF__EV_NODE_ADD | wf__sc_status_events(&st);
	}
	wf__sc_emit(s, WF_SCHED_DEC_UNSCHEDULABLE, p->key, p->nslen, wf__sc_pod_name(p), NULL,
		    msg.data, p->prio, NULL, 0);
	wf__sc_q_park(s, unit, ev, now);
out:
	wf_buf_free(&msg);
	wf__sc_arena_reset(&s->arena);
}

/* ---- explain ----------------------------------------------------------------------- */

int wf_sched_explain(wf_sched *s, const char *ns, const char *name, const char *node, wf_buf *why)
{
	wf__sc_pod *p = s ? wf__sc_pod_get(s, ns, name) : NULL;
	wf__sc_node *n = s ? wf__sc_node_get(s, node) : NULL;
	if (!p || !n || !n->present)
		return -WF_ENOENT;
	wf__sc_cycle cy;
	wf__sc_cycle_init(&cy, s, p, s->now);
	wf__sc_status st = wf__sc_prefilter(&cy);
	/* An assumed or bound pod is judged as if it were not there yet. */
	wf__sc_node *was = p->node;
	uint8_t state = p->state;
	if (was)
		wf__sc_pod_unassign(s, p);
	if (st.code == WF_SCHED_SUCCESS)
		st = wf__sc_filter_node(&cy, n);
	if (was)
		wf__sc_pod_assign(s, p, was, state);
	if (why && st.code != WF_SCHED_SUCCESS) {
		if (st.reason == WF__RS_RESOURCES) {
			bool first = true;
			for (uint64_t m = st.res; m; m &= m - 1) {
				if (!first)
					wf_buf_puts(why, ", ");
				first = false;
				wf__sc_format_reason(s, st.reason, 0, 0,
						     (uint32_t)__builtin_ctzll(m), why);
			}
		} else {
			wf__sc_format_reason(s, st.reason, st.arg, st.arg2, 0, why);
		}
	}
	wf__sc_arena_reset(&s->arena);
	return st.code;
}
