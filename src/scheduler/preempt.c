/*
 * preempt.c - PostFilter: preemption.
 *
 * For a pod that fits nowhere, each node whose filters failed only on
 * resources (Unschedulable, not UnschedulableAndUnresolvable) is a
 * candidate. On a candidate, the pods of lower priority are grouped into
 * victim units: a pod, or a whole gang (evicting one member evicts all, so a
 * gang counts as one victim; a gang with any member of priority >= the
 * preemptor's is not evictable). The node's deficit per resource (requests
 * minus free, counting nominated holds) must be covered by the units freed.
 *
 * Victim choice per node: the fewest units that cover the deficit, then the
 * lowest total priority. With up to 12 units this is exact (subsets by
 * increasing size, from a lower bound: per resource, the fewest of the
 * largest units that cover it); with more it is greedy (lowest priority
 * first, then kube-scheduler's reprieve pass that keeps back every unit not
 * needed). Across nodes: fewest victims, then lowest total priority, then
 * node order. Nodes too small even when emptied, or without lower-priority
 * pods, are skipped at once; the others are searched in order of their
 * lower bound, only up to the best size found so far, and the search stops
 * when the bound passes it.
 *
 * The chosen victims are marked terminating (they keep their resources until
 * the driver deletes them), the preemptor is nominated to the node, which
 * holds the freed capacity against pods of lower or equal priority
 * (NodeResourcesFit counts nominated pods) until it binds, the nomination
 * expires, or a later attempt finds preemption cannot help it any more,
 * and a PREEMPT decision lists the victims. While its victims terminate a
 * preemptor does not preempt again.
 *
 * A gang preemptor needs room for all its pending members: members are
 * placed one by one on the live table, victims of earlier members hidden
 * (unassigned) so later members see the room, then everything is restored
 * and, if every member found a node, the nominations and victims apply.
 */
#include <string.h>

#include "lib/wf_mem.h"
#include "scheduler/sched_internal.h"

#define EXACT_MAX_UNITS 12

typedef struct vunit {
	wf__sc_pod *pod;   /* a lone pod, or NULL */
	wf__sc_gang *gang; /* a whole gang, or NULL */
	int32_t prio;
	int64_t *freed; /* per deficit dimension */
} vunit;

typedef struct vresult {
	wf__sc_node *node;
	vunit **units;
	size_t nunits;
	int64_t prio_sum;
} vresult;

/* Deficit dimensions: the pod's requests, then the pod count. */
static size_t node_need(const wf_sched *s, const wf__sc_pod *p, const wf__sc_node *n, int64_t *need)
{
	int64_t extra[WF__SC_NRES_MAX + 1];
	memset(extra, 0, sizeof(int64_t) * (p->nreq + 1u));
	for (uint32_t i = 0; i < n->nnominated; i++) {
		const wf__sc_pod *q = s->pods[n->nominated[i]];
		if (q == p || (p->gang && q->gang == p->gang) || q->prio < p->prio ||
		    q->state != WF__P_PENDING)
			continue;
		extra[p->nreq]++;
		for (uint16_t a = 0; a < p->nreq; a++)
			for (uint16_t b = 0; b < q->nreq; b++)
				if (q->rid[b] == p->rid[a])
					extra[a] += q->rval[b];
	}
	for (uint16_t i = 0; i < p->nreq; i++) {
		uint32_t r = p->rid[i];
		need[i] = p->rval[i] - (n->alloc[r] - n->used[r] - extra[i]);
	}
	need[p->nreq] = 1 - (n->alloc[WF__R_PODS] - n->used[WF__R_PODS] - extra[p->nreq]);
	return p->nreq + 1u;
}

static void add_freed(const wf__sc_pod *p, const wf__sc_pod *v, int64_t *freed)
{
	for (uint16_t a = 0; a < p->nreq; a++)
		for (uint16_t b = 0; b < v->nreq; b++)
			if (v->rid[b] == p->rid[a])
				freed[a] += v->rval[b];
	freed[p->nreq]++;
}

/* Can gang g be evicted for preemptor p? */
static bool gang_evictable(const wf_sched *s, const wf__sc_gang *g, const wf__sc_pod *p,
			   int32_t *prio)
{
	if (g == p->gang)
		return false;
	int32_t max = INT32_MIN;
	int32_t id = g->members;
	do {
		const wf__sc_pod *q = s->pods[id];
		if (q->state != WF__P_PENDING && !q->terminating && q->prio >= p->prio)
			return false;
		if (q->prio > max)
			max = q->prio;
		id = q->glink.next;
	} while (id != g->members);
	*prio = max;
	return true;
}

/* The victim units on node n for pod p (arena memory). */
static size_t node_units(wf__sc_cycle *cy, const wf__sc_node *n, size_t dims, vunit **out)
{
	wf_sched *s = cy->s;
	const wf__sc_pod *p = cy->pod;
	size_t nu = 0, cap = 0;
	vunit *u = NULL;
	int32_t id = n->pods;
	if (id < 0) {
		*out = NULL;
		return 0;
	}
	do {
		wf__sc_pod *q = s->pods[id];
		id = q->nlink.next;
		if (q->terminating || q->prio >= p->prio || q == p)
			continue;
		vunit *dst = NULL;
		int32_t prio = q->prio;
		if (q->gang) {
			for (size_t i = 0; i < nu && !dst; i++)
				if (u[i].gang == q->gang)
					dst = &u[i];
			if (!dst && !gang_evictable(s, q->gang, p, &prio))
				continue;
		}
		if (!dst) {
			u = wf__sc_arena_grow(&s->arena, u, nu, &cap, sizeof(*u), 16);
			dst = &u[nu++];
			dst->pod = q->gang ? NULL : q;
			dst->gang = q->gang;
			dst->prio = prio;
			dst->freed = wf__sc_arena_zalloc(&s->arena, dims * sizeof(int64_t));
		}
		add_freed(p, q, dst->freed);
	} while (id != n->pods);
	*out = u;
	return nu;
}

static bool covers(vunit *const *sel, size_t k, const int64_t *need, size_t dims)
{
	for (size_t d = 0; d < dims; d++) {
		if (need[d] <= 0)
			continue;
		int64_t sum = 0;
		for (size_t i = 0; i < k; i++)
			sum += sel[i]->freed[d];
		if (sum < need[d])
			return false;
	}
	return true;
}

static int cmp_unit_prio(const void *a, const void *b)
{
	const vunit *x = *(vunit *const *)a, *y = *(vunit *const *)b;
	return x->prio < y->prio ? -1 : x->prio > y->prio;
}

/* Fewest units covering need, then lowest priority sum; between min_k and
 * max_k units. Returns the count (0: none) and fills sel. */
static size_t pick_units(vunit *u, size_t nu, const int64_t *need, size_t dims, size_t min_k,
			 size_t max_k, vunit **sel, int64_t *prio_sum)
{
	vunit **all = sel;
	for (size_t i = 0; i < nu; i++)
		all[i] = &u[i];
	if (!covers(all, nu, need, dims))
		return 0;
	if (nu <= EXACT_MAX_UNITS) {
		vunit *tmp[EXACT_MAX_UNITS];
		vunit *cand[EXACT_MAX_UNITS];
		for (size_t i = 0; i < nu; i++)
			cand[i] = &u[i];
		for (size_t k = min_k ? min_k : 1; k <= nu && k <= max_k; k++) {
			uint32_t best = 0;
			int64_t best_sum = INT64_MAX;
			uint32_t limit = 1u << nu;
			for (uint32_t m = (1u << k) - 1; m < limit;) {
				size_t j = 0;
				int64_t sum = 0;
				for (uint32_t b = m; b; b &= b - 1) {
					tmp[j] = cand[__builtin_ctz(b)];
					sum += tmp[j++]->prio;
				}
				if (sum < best_sum && covers(tmp, k, need, dims)) {
					best = m;
					best_sum = sum;
				}
				uint32_t c = m & -m, r = m + c;
				m = (((r ^ m) >> 2) / c) | r;
			}
			if (best) {
				size_t j = 0;
				for (uint32_t b = best; b; b &= b - 1)
					sel[j++] = cand[__builtin_ctz(b)];
				*prio_sum = best_sum;
				return k;
			}
		}
		return 0;
	}
	/* Greedy: lowest priority first until covered, then reprieve from the top. */
	qsort(all, nu, sizeof(*all), cmp_unit_prio);
	size_t k = 0;
	while (k < nu && !covers(all, k, need, dims))
		k++;
	for (size_t i = k; i-- > 0;) {
		vunit *keep = all[i];
		memmove(all + i, all + i + 1, (k - i - 1) * sizeof(*all));
		if (covers(all, k - 1, need, dims)) {
			k--;
		} else {
			memmove(all + i + 1, all + i, (k - i - 1) * sizeof(*all));
			all[i] = keep;
		}
	}
	if (k > max_k)
		return 0;
	int64_t sum = 0;
	for (size_t i = 0; i < k; i++)
		sum += all[i]->prio;
	*prio_sum = sum;
	return k;
}

/* A lower bound on how many units cover need: per dimension, the fewest
 * of the largest units that add up to it. 0 when all of them do not. */
static size_t lower_bound(wf_sched *s, vunit *u, size_t nu, const int64_t *need, size_t dims)
{
	int64_t *v = wf__sc_arena_alloc(&s->arena, (nu ? nu : 1) * sizeof(int64_t));
	size_t lb = 1;
	for (size_t d = 0; d < dims; d++) {
		if (need[d] <= 0)
			continue;
		for (size_t i = 0; i < nu; i++) {
			/* insertion sort, descending (a node holds few units) */
			int64_t x = u[i].freed[d];
			size_t j = i;
			while (j > 0 && v[j - 1] < x) {
				v[j] = v[j - 1];
				j--;
			}
			v[j] = x;
		}
		int64_t sum = 0;
		size_t k = 0;
		while (k < nu && sum < need[d])
			sum += v[k++];
		if (sum < need[d])
			return 0;
		if (k > lb)
			lb = k;
	}
	return lb;
}

typedef struct vcand {
	wf__sc_node *n;
	vunit *u;
	size_t nu;
	int64_t *need;
	size_t lb;
	uint32_t order;
} vcand;

static int cmp_vcand(const void *a, const void *b)
{
	const vcand *x = a, *y = b;
	if (x->lb != y->lb)
		return x->lb < y->lb ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

/* Search the nodes for the best victim set; without one, *no_victims and
 * *not_helpful count the nodes where preemption found nothing / cannot help.
 * Nodes are searched in order of their lower bound, and the search stops
 * when the bound passes the best count found. */
static bool find_victims(wf__sc_cycle *cy, vresult *best, size_t *no_victims, size_t *not_helpful)
{
	wf_sched *s = cy->s;
	const wf__sc_pod *p = cy->pod;
	best->node = NULL;
	best->nunits = SIZE_MAX;
	best->prio_sum = INT64_MAX;
	*no_victims = *not_helpful = 0;
	/* Nobody of lower priority anywhere: nothing to search. */
	if (wf__sc_min_assigned_prio(s) >= p->prio) {
		wf__sc_diagnose(cy);
		*no_victims = cy->diag_unschedulable;
		*not_helpful = cy->diag_unresolvable;
		return false;
	}
	size_t dims = p->nreq + 1u;
	vcand *c = NULL;
	size_t nc = 0, cap = 0;
	for (uint32_t i = 0; i < s->nnodes; i++) {
		wf__sc_node *n = s->nodes[i];
		if (!n || !n->present)
			continue;
		wf__sc_status st = wf__sc_filter_node(cy, n);
		if (st.code == WF_SCHED_SUCCESS)
			continue;
		if (st.code != WF_SCHED_UNSCHEDULABLE) {
			(*not_helpful)++;
			continue;
		}
		/* Too small even when emptied, or nobody to evict. */
		bool small = n->alloc[WF__R_PODS] < 1;
		for (uint16_t k = 0; k < p->nreq && !small; k++)
			small = p->rval[k] > n->alloc[p->rid[k]];
		if (small || wf__sc_node_min_prio(s, n) >= p->prio) {
			(*no_victims)++;
			continue;
		}
		int64_t *need = wf__sc_arena_alloc(&s->arena, dims * sizeof(int64_t));
		node_need(s, p, n, need);
		vunit *u;
		size_t nu = node_units(cy, n, dims, &u);
		size_t lb = nu ? lower_bound(s, u, nu, need, dims) : 0;
		if (!lb) {
			(*no_victims)++;
			continue;
		}
		c = wf__sc_arena_grow(&s->arena, c, nc, &cap, sizeof(*c), 64);
		c[nc++] = (vcand){n, u, nu, need, lb, i};
	}
	if (nc)
		qsort(c, nc, sizeof(*c), cmp_vcand);
	for (size_t i = 0; i < nc; i++) {
		if (best->node && c[i].lb > best->nunits)
			break;
		vunit **sel = wf__sc_arena_alloc(&s->arena, c[i].nu * sizeof(*sel));
		int64_t sum = 0;
		size_t max_k = best->node ? best->nunits : SIZE_MAX;
		size_t k = pick_units(c[i].u, c[i].nu, c[i].need, dims, c[i].lb, max_k, sel, &sum);
		if (!k) {
			(*no_victims)++;
			continue;
		}
		if (!best->node || k < best->nunits ||
		    (k == best->nunits && sum < best->prio_sum)) {
			best->node = c[i].n;
			best->units = sel;
			best->nunits = k;
			best->prio_sum = sum;
		}
	}
	return best->node != NULL;
}

/* Every pod a unit evicts (gang members that hold resources). */
static void unit_pods(wf_sched *s, const vunit *u, wf__sc_pod ***v, size_t *n, size_t *cap)
{
	if (u->pod) {
		if (*n == *cap) {
			*cap = *cap ? *cap * 2 : 16;
			*v = wf_xrealloc(*v, *cap * sizeof(**v));
		}
		(*v)[(*n)++] = u->pod;
		return;
	}
	int32_t id = u->gang->members;
	do {
		wf__sc_pod *q = s->pods[id];
		if (q->state != WF__P_PENDING && !q->terminating) {
			bool dup = false;
			for (size_t i = 0; i < *n && !dup; i++)
				dup = (*v)[i] == q;
			if (!dup) {
				if (*n == *cap) {
					*cap = *cap ? *cap * 2 : 16;
					*v = wf_xrealloc(*v, *cap * sizeof(**v));
				}
				(*v)[(*n)++] = q;
			}
		}
		id = q->glink.next;
	} while (id != u->gang->members);
}

static void emit_preempt(wf_sched *s, wf__sc_pod *p, const wf__sc_node *n, wf__sc_pod **v,
			 size_t nv)
{
	wf_buf msg;
	wf_buf_init(&msg);
	wf_buf_printf(&msg, "nominated to node %s; preempting %zu pod(s)", n->name, nv);
	wf__sc_emit(s, WF_SCHED_DEC_PREEMPT, p->key, p->nslen, wf__sc_pod_name(p), n->name,
		    msg.data, p->prio, (const wf__sc_pod *const *)v, nv);
	wf_buf_free(&msg);
}

/* PodEligibleToPreemptOthers. */
static bool eligible(wf_sched *s, const wf__sc_pod *p, wf_buf *msg)
{
	if (p->preempt_never) {
		wf_buf_puts(msg, "preemption: not eligible due to preemptionPolicy=Never.");
		return false;
	}
	if (p->nominated >= 0) {
		const wf__sc_node *n = s->nodes[p->nominated];
		int32_t id = n->pods;
		if (id >= 0) {
			do {
				const wf__sc_pod *q = s->pods[id];
				if (q->terminating && q->prio < p->prio) {
					wf_buf_puts(msg, "preemption: not eligible due to a "
							 "terminating pod on the nominated node.");
					return false;
				}
				id = q->nlink.next;
			} while (id != n->pods);
		}
	}
	return true;
}

static bool postfilter_preempt(wf__sc_cycle *cy, wf_buf *msg)
{
	wf_sched *s = cy->s;
	wf__sc_pod *p = cy->pod;
	if (!eligible(s, p, msg))
		return false;
	size_t nv0, nh0;
	vresult best;
	if (!find_victims(cy, &best, &nv0, &nh0)) {
		wf__sc_preempt_msg(s, nv0, nh0, msg);
		/* As kube-scheduler: a hold that preemption cannot justify goes. */
		wf__sc_pod_clear_nomination(s, p);
		return false;
	}
	wf__sc_pod **v = NULL;
	size_t nv = 0, cap = 0;
	for (size_t i = 0; i < best.nunits; i++)
		unit_pods(s, best.units[i], &v, &nv, &cap);
	for (size_t i = 0; i < nv; i++)
		v[i]->terminating = true;
	wf__sc_pod_set_nomination(s, p, best.node, cy->now);
	emit_preempt(s, p, best.node, v, nv);
	free(v);
	return true;
}

const wf__sc_postfilter_plugin wf__sc_postfilter_preemption = {
    .name = "DefaultPreemption",
    .postfilter = postfilter_preempt,
};

/* ---- gangs ----------------------------------------------------------------------- */

typedef struct undo {
	wf__sc_pod *pod;
	wf__sc_node *node;
	uint8_t state;
	bool hide; /* a victim taken off its node (else a member reserved) */
} undo;

bool wf__sc_preempt_gang(wf_sched *s, wf__sc_gang *g, wf__sc_pod **m, size_t n, int64_t now,
			 wf_buf *msg)
{
	for (size_t i = 0; i < n; i++)
		if (!eligible(s, m[i], msg))
			return false;
	undo *log = NULL;
	size_t nlog = 0, logcap = 0;
	wf__sc_node **target = wf_xcalloc(n ? n : 1, sizeof(*target));
	wf__sc_pod ***victims = wf_xcalloc(n ? n : 1, sizeof(*victims));
	size_t *nvict = wf_xcalloc(n ? n : 1, sizeof(*nvict));
	bool ok = true;
	for (size_t i = 0; i < n && ok; i++) {
		wf__sc_cycle cy;
		wf__sc_cycle_init(&cy, s, m[i], now);
		wf__sc_status st = wf__sc_prefilter(&cy);
		if (st.code != WF_SCHED_SUCCESS) {
			ok = false;
			break;
		}
		wf__sc_node *node = wf__sc_find_node(&cy);
		if (!node) {
			size_t nv0, nh0;
			vresult best;
			if (!find_victims(&cy, &best, &nv0, &nh0)) {
				wf__sc_preempt_msg(s, nv0, nh0, msg);
				ok = false;
				break;
			}
			size_t cap = 0;
			for (size_t u = 0; u < best.nunits; u++)
				unit_pods(s, best.units[u], &victims[i], &nvict[i], &cap);
			for (size_t v = 0; v < nvict[i]; v++) {
				wf__sc_pod *q = victims[i][v];
				if (!q->node || !q->node->present)
					continue;
				if (nlog == logcap) {
					logcap = logcap ? logcap * 2 : 32;
					log = wf_xrealloc(log, logcap * sizeof(*log));
				}
				log[nlog++] = (undo){q, q->node, q->state, true};
				wf__sc_pod_unassign(s, q);
			}
			node = best.node;
			if (wf__sc_filter_node(&cy, node).code != WF_SCHED_SUCCESS) {
				ok = false;
				break;
			}
		}
		if (nlog == logcap) {
			logcap = logcap ? logcap * 2 : 32;
			log = wf_xrealloc(log, logcap * sizeof(*log));
		}
		log[nlog++] = (undo){m[i], node, WF__P_ASSUMED, false};
		wf__sc_pod_assign(s, m[i], node, WF__P_ASSUMED);
		target[i] = node;
	}
	/* Restore the table exactly. */
	for (size_t i = nlog; i-- > 0;) {
		if (log[i].hide)
			wf__sc_pod_assign(s, log[i].pod, log[i].node, log[i].state);
		else
			wf__sc_pod_unassign(s, log[i].pod);
	}
	bool any = false;
	for (size_t i = 0; i < n; i++)
		any = any || nvict[i];
	if (ok && any) {
		for (size_t i = 0; i < n; i++) {
			for (size_t v = 0; v < nvict[i]; v++)
				victims[i][v]->terminating = true;
			wf__sc_pod_set_nomination(s, m[i], target[i], now);
		}
		for (size_t i = 0; i < n; i++)
			emit_preempt(s, m[i], target[i], victims[i], nvict[i]);
	} else if (ok) {
		ok = false;
	}
	for (size_t i = 0; i < n; i++)
		free(victims[i]);
	free(victims);
	free(nvict);
	free(target);
	free(log);
	return ok;
}
