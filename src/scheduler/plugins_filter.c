/*
 * plugins_filter.c - QueueSort, PreFilter and Filter plugins, with
 * kube-scheduler's semantics and reason strings:
 *
 *   NodeUnschedulable  spec.unschedulable unless node.kubernetes.io/unschedulable
 *                      :NoSchedule is tolerated      "node(s) were unschedulable"
 *   NodeName           a pod naming a node fits only it
 *                                "node(s) didn't match the requested node name"
 *   TaintToleration    NoSchedule and NoExecute taints must be tolerated; a node
 *                      not Ready acts as tainted not-ready (or unreachable)
 *                      :NoSchedule  "node(s) had untolerated taint {key: value}"
 *   NodeAffinity       nodeSelector AND required terms (OR'ed; requirements
 *                      AND'ed)  "node(s) didn't match Pod's node affinity/selector"
 *   NodeResourcesFit   every requested resource, and the pod count, counting
 *                      pods nominated to the node with priority >= the pod's
 *                                      "Insufficient <resource>", "Too many pods"
 *
 * The first four fail with UnschedulableAndUnresolvable (preemption cannot
 * help), NodeResourcesFit with Unschedulable. All but NodeName and
 * NodeResourcesFit are CLASS-scoped: they read only what a node class holds
 * (plus, for per-node profiles, the node's own labels and name).
 */
#include <string.h>

#include "scheduler/sched_internal.h"

/* ---- QueueSort: PrioritySort ------------------------------------------------ */

static bool prio_less(const wf__sc_qent *a, const wf__sc_qent *b)
{
	if (a->prio != b->prio)
		return a->prio > b->prio;
	if (a->ts != b->ts)
		return a->ts < b->ts;
	return a->seq < b->seq;
}

const wf__sc_sort_plugin wf__sc_sort_priority = {
    .name = "PrioritySort",
    .less = prio_less,
};

/* ---- PreFilter: NodeResourcesFit ------------------------------------------ */

static wf__sc_status prefilter_resources(wf__sc_cycle *cy)
{
	const wf__sc_pod *p = cy->pod;
	const wf_sched *s = cy->s;
	cy->primary = -1;
	cy->cpu_only = true;
	int fallback = -1;
	for (uint16_t i = 0; i < p->nreq; i++) {
		uint32_t r = p->rid[i];
		if (r == WF__R_CPU)
			cy->req_cpu = p->rval[i];
		else if (r == WF__R_MEM)
			cy->req_mem = p->rval[i];
		if (!s->res[r].ext)
			continue;
		cy->cpu_only = false;
		if (s->res[r].accel && cy->primary < 0) {
			cy->primary = (int)r;
			cy->req_primary = p->rval[i];
		}
		if (fallback < 0)
			fallback = i;
	}
	if (cy->primary < 0 && fallback >= 0) {
		cy->primary = p->rid[fallback];
		cy->req_primary = p->rval[fallback];
	}
	return (wf__sc_status){.code = WF_SCHED_SUCCESS};
}

const wf__sc_prefilter_plugin wf__sc_prefilter_resources = {
    .name = "NodeResourcesFit",
    .prefilter = prefilter_resources,
};

/* ---- helpers ------------------------------------------------------------------ */

bool wf__sc_tolerates(const wf__sc_profile *pr, uint32_t key, uint32_t value, uint8_t effect)
{
	for (uint32_t i = 0; i < pr->ntols; i++) {
		const wf__sc_tol *t = &pr->tols[i];
		if (t->effect != WF_SCHED_EFFECT_ALL && t->effect != effect)
			continue;
		if (t->k != 0 && t->k != key)
			continue;
		if (t->op == WF_SCHED_TOL_EXISTS || t->v == value)
			return true;
	}
	return false;
}

static bool in_sorted(const uint32_t *v, uint32_t n, uint32_t x)
{
	uint32_t lo = 0, hi = n;
	while (lo < hi) {
		uint32_t mid = (lo + hi) / 2;
		if (v[mid] < x)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && v[lo] == x;
}

bool wf__sc_req_holds(const wf_sched *s, const wf__sc_req *r, int64_t v)
{
	switch (r->op) {
	case WF_SCHED_OP_IN:
		return v >= 0 && in_sorted(r->vals, r->nvals, (uint32_t)v);
	case WF_SCHED_OP_NOT_IN:
		return v < 0 || !in_sorted(r->vals, r->nvals, (uint32_t)v);
	case WF_SCHED_OP_EXISTS:
		return v >= 0;
	case WF_SCHED_OP_DOES_NOT_EXIST:
		return v < 0;
	default: {
		int64_t num;
		if (v < 0 || !wf__sc_parse_i64(s->strs.s[v], &num))
			return false;
		return r->op == WF_SCHED_OP_GT ? num > r->num : num < r->num;
	}
	}
}

static bool req_matches(const wf_sched *s, const wf__sc_req *r, const wf__sc_class *c,
			const wf__sc_node *n)
{
	if (r->field) {
		bool in = n && in_sorted(r->vals, r->nvals, n->name_id);
		return r->op == WF_SCHED_OP_IN ? in : !in;
	}
	return wf__sc_req_holds(s, r, wf__sc_label_of(s, c, n, r->key));
}

bool wf__sc_term_matches(const wf_sched *s, const wf__sc_term *t, const wf__sc_class *c,
			 const wf__sc_node *n)
{
	if (!t->nreqs)
		return false;
	for (uint32_t i = 0; i < t->nreqs; i++)
		if (!req_matches(s, &t->reqs[i], c, n))
			return false;
	return true;
}

static wf__sc_status unresolvable(uint8_t reason, uint32_t arg, uint32_t arg2)
{
	return (wf__sc_status){
	    .code = WF_SCHED_UNRESOLVABLE, .reason = reason, .arg = arg, .arg2 = arg2};
}

static const wf__sc_status ok = {.code = WF_SCHED_SUCCESS};

/* ---- NodeUnschedulable ----------------------------------------------------------- */

static wf__sc_status filter_unschedulable(const wf__sc_cycle *cy, const wf__sc_class *c,
					  const wf__sc_node *n)
{
	if (c->unschedulable &&
	    !wf__sc_tolerates(cy->prof, cy->s->id_unsched_key, 0, WF_SCHED_NO_SCHEDULE))
		return unresolvable(WF__RS_UNSCHEDULABLE, 0, 0);
	return ok;
}

const wf__sc_filter_plugin wf__sc_filter_node_unschedulable = {
    .name = "NodeUnschedulable",
    .scope = WF__SCOPE_CLASS,
    .fail_events = WF__EV_SCHEDULABLE | WF__EV_TAINTS,
    .filter = filter_unschedulable,
};

/* ---- NodeName ------------------------------------------------------------------- */

static wf__sc_status filter_node_name(const wf__sc_cycle *cy, const wf__sc_class *c,
				      const wf__sc_node *n)
{
	if (cy->pod->want_node && n && n->name_id != cy->pod->want_node)
		return unresolvable(WF__RS_NODE_NAME, 0, 0);
	return ok;
}

const wf__sc_filter_plugin wf__sc_filter_node_name = {
    .name = "NodeName",
    .scope = WF__SCOPE_NODE,
    .fail_events = WF__EV_NODE_ADD,
    .filter = filter_node_name,
};

/* ---- TaintToleration --------------------------------------------------------------- */

static wf__sc_status filter_taints(const wf__sc_cycle *cy, const wf__sc_class *c,
				   const wf__sc_node *n)
{
	const wf_sched *s = cy->s;
	if (c->ready != WF_SCHED_READY_TRUE) {
		uint32_t key =
		    c->ready == WF_SCHED_READY_FALSE ? s->id_notready_key : s->id_unreach_key;
		if (!wf__sc_tolerates(cy->prof, key, 0, WF_SCHED_NO_SCHEDULE))
			return unresolvable(WF__RS_TAINT, key, 0);
	}
	for (uint32_t i = 0; i < c->ntaints; i++) {
		const wf__sc_taint *t = &c->taints[i];
		if (t->effect == WF_SCHED_PREFER_NO_SCHEDULE)
			continue;
		if (!wf__sc_tolerates(cy->prof, t->k, t->v, t->effect))
			return unresolvable(WF__RS_TAINT, t->k, t->v);
	}
	return ok;
}

const wf__sc_filter_plugin wf__sc_filter_taint_toleration = {
    .name = "TaintToleration",
    .scope = WF__SCOPE_CLASS,
    .fail_events = WF__EV_TAINTS,
    .filter = filter_taints,
};

/* ---- NodeAffinity ----------------------------------------------------------------- */

static wf__sc_status filter_affinity(const wf__sc_cycle *cy, const wf__sc_class *c,
				     const wf__sc_node *n)
{
	const wf__sc_profile *pr = cy->prof;
	for (uint32_t i = 0; i < pr->nsel; i++)
		if (wf__sc_label_of(cy->s, c, n, pr->sel[i].k) != (int64_t)pr->sel[i].v)
			return unresolvable(WF__RS_AFFINITY, 0, 0);
	if (!pr->has_required)
		return ok;
	for (uint32_t i = 0; i < pr->nterms; i++)
		if (wf__sc_term_matches(cy->s, &pr->terms[i], c, n))
			return ok;
	return unresolvable(WF__RS_AFFINITY, 0, 0);
}

const wf__sc_filter_plugin wf__sc_filter_node_affinity = {
    .name = "NodeAffinity",
    .scope = WF__SCOPE_CLASS,
    .fail_events = WF__EV_LABELS,
    .filter = filter_affinity,
};

/* ---- NodeResourcesFit -------------------------------------------------------------- */

static bool same_gang(const wf__sc_pod *a, const wf__sc_pod *b)
{
	return a->gang && a->gang == b->gang;
}

uint64_t wf__sc_fit_mask(const wf_sched *s, const wf__sc_pod *p, const wf__sc_node *n)
{
	int64_t extra[WF__SC_NRES_MAX];
	int64_t extra_pods = 0;
	bool held = false;
	for (uint32_t i = 0; i < n->nnominated; i++) {
		const wf__sc_pod *q = s->pods[n->nominated[i]];
		if (q == p || same_gang(p, q) || q->prio < p->prio || q->state != WF__P_PENDING)
			continue;
		if (!held) {
			memset(extra, 0, sizeof(int64_t) * p->nreq);
			held = true;
		}
		extra_pods++;
		for (uint16_t a = 0; a < p->nreq; a++)
			for (uint16_t b = 0; b < q->nreq; b++)
				if (q->rid[b] == p->rid[a])
					extra[a] += q->rval[b];
	}
	uint64_t mask = 0;
	if (n->used[WF__R_PODS] + extra_pods + 1 > n->alloc[WF__R_PODS])
		mask |= UINT64_C(1) << WF__R_PODS;
	for (uint16_t i = 0; i < p->nreq; i++) {
		uint32_t r = p->rid[i];
		int64_t fr = n->alloc[r] - n->used[r];
		if (held)
			fr -= extra[i];
		if (p->rval[i] > fr)
			mask |= UINT64_C(1) << r;
	}
	return mask;
}

static wf__sc_status filter_fit(const wf__sc_cycle *cy, const wf__sc_class *c, const wf__sc_node *n)
{
	uint64_t mask = wf__sc_fit_mask(cy->s, cy->pod, n);
	if (!mask)
		return ok;
	return (wf__sc_status){
	    .code = WF_SCHED_UNSCHEDULABLE, .reason = WF__RS_RESOURCES, .res = mask};
}

const wf__sc_filter_plugin wf__sc_filter_resources_fit = {
    .name = "NodeResourcesFit",
    .scope = WF__SCOPE_NODE,
    .fail_events = WF__EV_RES,
    .filter = filter_fit,
};
