/*
 * queue.c - the scheduling queue, as kube-scheduler's: an active heap
 * ordered by the QueueSort plugin, a back-off heap ordered by when each
 * unit's back-off ends, and an unschedulable pool.
 *
 * Units are pods not in a gang (handle 2*id) and gangs (2*id+1). A unit
 * that failed is parked in the pool with the set of events that could cure
 * its failure (fail_mask) and a back-off end (initial * 2^(attempts-1),
 * capped). Only such an event (wf__sc_q_event) or the periodic flush moves
 * it out, into the back-off heap; it becomes active when its back-off ends.
 * So nothing is retried in a loop: a pod whose situation did not change is
 * not tried again until the flush (5 minutes by default). Capacity freed on
 * a node is the exception: it is offered to the parked pods that fit it,
 * best first, once the active heap is empty (wf__sc_q_pop_freed).
 *
 * The pool is a FIFO list in parking order, so the flush pops from its head.
 */
#include <string.h>

#include "lib/wf_mem.h"
#include "scheduler/sched_internal.h"

wf__sc_qent *wf__sc_unit_q(const wf_sched *s, int32_t unit)
{
	if (unit & 1)
		return &s->gangs[unit >> 1]->q;
	return wf__sc_pod_q(s->pods[unit >> 1]);
}

int64_t wf__sc_backoff_ms(const wf_sched *s, uint32_t attempts)
{
	if (attempts == 0)
		return 0;
	int64_t d = s->cfg.backoff_initial_ms;
	for (uint32_t i = 1; i < attempts && d < s->cfg.backoff_max_ms; i++)
		d *= 2;
	return d < s->cfg.backoff_max_ms ? d : s->cfg.backoff_max_ms;
}

/* ---- heaps ------------------------------------------------------------------- */

typedef bool (*less_fn)(const wf_sched *s, int32_t a, int32_t b);

static bool active_less(const wf_sched *s, int32_t a, int32_t b)
{
	return s->fw->sort->less(wf__sc_unit_q(s, a), wf__sc_unit_q(s, b));
}

static bool backoff_less(const wf_sched *s, int32_t a, int32_t b)
{
	const wf__sc_qent *x = wf__sc_unit_q(s, a), *y = wf__sc_unit_q(s, b);
	if (x->backoff_until != y->backoff_until)
		return x->backoff_until < y->backoff_until;
	return x->seq < y->seq;
}

static void heap_set(wf_sched *s, int32_t *h, uint32_t i, int32_t unit)
{
	h[i] = unit;
	wf__sc_unit_q(s, unit)->pos = (int32_t)i;
}

static void sift_up(wf_sched *s, int32_t *h, uint32_t i, less_fn less)
{
	int32_t u = h[i];
	while (i > 0) {
		uint32_t parent = (i - 1) / 2;
		if (!less(s, u, h[parent]))
			break;
		heap_set(s, h, i, h[parent]);
		i = parent;
	}
	heap_set(s, h, i, u);
}

static void sift_down(wf_sched *s, int32_t *h, uint32_t n, uint32_t i, less_fn less)
{
	int32_t u = h[i];
	for (;;) {
		uint32_t c = 2 * i + 1;
		if (c >= n)
			break;
		if (c + 1 < n && less(s, h[c + 1], h[c]))
			c++;
		if (!less(s, h[c], u))
			break;
		heap_set(s, h, i, h[c]);
		i = c;
	}
	heap_set(s, h, i, u);
}

static void heap_push(wf_sched *s, int32_t **h, uint32_t *n, uint32_t *cap, int32_t unit,
		      less_fn less)
{
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 64;
		*h = wf_xrealloc(*h, *cap * sizeof(**h));
	}
	(*h)[*n] = unit;
	sift_up(s, *h, (*n)++, less);
}

static void heap_del(wf_sched *s, int32_t *h, uint32_t *n, uint32_t i, less_fn less)
{
	uint32_t last = --*n;
	if (i != last) {
		int32_t moved = h[last];
		heap_set(s, h, i, moved);
		sift_down(s, h, *n, i, less);
		sift_up(s, h, (uint32_t)wf__sc_unit_q(s, moved)->pos, less);
	}
}

/* ---- the unschedulable pool -------------------------------------------------- */

static void pool_append(wf_sched *s, int32_t unit)
{
	wf__sc_qent *q = wf__sc_unit_q(s, unit);
	if (unit & 1)
		s->nparked_gangs++;
	q->unext = -1;
	q->uprev = s->utail;
	if (s->utail >= 0)
		wf__sc_unit_q(s, s->utail)->unext = unit;
	else
		s->uhead = unit;
	s->utail = unit;
}

static void pool_del(wf_sched *s, int32_t unit)
{
	wf__sc_qent *q = wf__sc_unit_q(s, unit);
	if (unit & 1)
		s->nparked_gangs--;
	if (q->uprev >= 0)
		wf__sc_unit_q(s, q->uprev)->unext = q->unext;
	else
		s->uhead = q->unext;
	if (q->unext >= 0)
		wf__sc_unit_q(s, q->unext)->uprev = q->uprev;
	else
		s->utail = q->uprev;
	q->uprev = q->unext = -1;
}

/* ---- operations -------------------------------------------------------------- */

void wf__sc_q_remove(wf_sched *s, int32_t unit)
{
	wf__sc_qent *q = wf__sc_unit_q(s, unit);
	switch (q->where) {
	case WF__Q_ACTIVE:
		heap_del(s, s->active, &s->nactive, (uint32_t)q->pos, active_less);
		break;
	case WF__Q_BACKOFF:
		heap_del(s, s->backoff, &s->nbackoff, (uint32_t)q->pos, backoff_less);
		break;
	case WF__Q_UNSCHED:
		pool_del(s, unit);
		break;
	default:
		return;
	}
	q->where = WF__Q_NONE;
	q->pos = -1;
}

void wf__sc_q_add_active(wf_sched *s, int32_t unit)
{
	wf__sc_q_remove(s, unit);
	wf__sc_qent *q = wf__sc_unit_q(s, unit);
	if (!q->seq)
		q->seq = ++s->seq;
	q->where = WF__Q_ACTIVE;
	q->gang_wait = false;
	heap_push(s, &s->active, &s->nactive, &s->active_cap, unit, active_less);
}

void wf__sc_q_fix(wf_sched *s, int32_t unit)
{
	wf__sc_qent *q = wf__sc_unit_q(s, unit);
	if (q->where != WF__Q_ACTIVE)
		return;
	sift_down(s, s->active, s->nactive, (uint32_t)q->pos, active_less);
	sift_up(s, s->active, (uint32_t)q->pos, active_less);
}

void wf__sc_q_park(wf_sched *s, int32_t unit, uint32_t fail_mask, int64_t now)
{
	wf__sc_q_remove(s, unit);
	wf__sc_qent *q = wf__sc_unit_q(s, unit);
	if (!q->seq)
		q->seq = ++s->seq;
	q->where = WF__Q_UNSCHED;
	q->fail_mask = fail_mask;
	q->parked_at = now;
	q->backoff_until = now + wf__sc_backoff_ms(s, q->attempts);
	pool_append(s, unit);
}

static void to_backoff(wf_sched *s, int32_t unit)
{
	wf__sc_q_remove(s, unit);
	wf__sc_qent *q = wf__sc_unit_q(s, unit);
	q->where = WF__Q_BACKOFF;
	q->gang_wait = false;
	heap_push(s, &s->backoff, &s->nbackoff, &s->backoff_cap, unit, backoff_less);
}

void wf__sc_q_backoff(wf_sched *s, int32_t unit, int64_t now)
{
	wf__sc_qent *q = wf__sc_unit_q(s, unit);
	if (!q->seq)
		q->seq = ++s->seq;
	q->backoff_until = now + wf__sc_backoff_ms(s, q->attempts ? q->attempts : 1);
	to_backoff(s, unit);
}

void wf__sc_q_move_unit(wf_sched *s, int32_t unit)
{
	wf__sc_qent *q = wf__sc_unit_q(s, unit);
	if (q->where == WF__Q_UNSCHED)
		to_backoff(s, unit);
	else if (q->where == WF__Q_NONE)
		wf__sc_q_add_active(s, unit);
}

void wf__sc_q_event(wf_sched *s, uint32_t ev)
{
	int32_t u = s->uhead;
	while (u >= 0) {
		wf__sc_qent *q = wf__sc_unit_q(s, u);
		int32_t next = q->unext;
		if (q->fail_mask & ev)
			to_backoff(s, u);
		u = next;
	}
}

/* Kube-scheduler's QueueingHint for a deleted pod: capacity freed on node n
 * can help a pod parked for lack of resources only if the pod now passes
 * every filter on n. Gangs are moved at once. Pods are not: n is remembered
 * and wf__sc_q_pop_freed offers its capacity one pod at a time, best first,
 * once nothing else is active. Moving every pod that fits now would retry
 * them all when one GPU frees up, and all but the first would fail again:
 * with thousands of one-GPU pods queued, that is thousands of attempts per
 * finished pod. */
void wf__sc_q_freed(wf_sched *s, wf__sc_node *n)
{
	if (!n || !n->present)
		return;
	for (int32_t u = s->nparked_gangs ? s->uhead : -1; u >= 0;) {
		wf__sc_qent *q = wf__sc_unit_q(s, u);
		int32_t next = q->unext;
		if ((u & 1) && (q->fail_mask & WF__EV_RES))
			to_backoff(s, u);
		u = next;
	}
	if (n->freed_pending)
		return;
	n->freed_pending = true;
	if (s->nfreed == s->freed_cap) {
		s->freed_cap = s->freed_cap ? s->freed_cap * 2 : 16;
		s->freed = wf_xrealloc(s->freed, s->freed_cap * sizeof(*s->freed));
	}
	s->freed[s->nfreed++] = n->id;
}

/* Like kube-scheduler's pop from the back-off queue when the active queue
 * is empty (KEP-5142): the pod chosen here skips the rest of its back-off,
 * because the capacity it fits is free now and nothing else wants it. */
int32_t wf__sc_q_pop_freed(wf_sched *s)
{
	while (s->nfreed) {
		wf__sc_node *n = s->nodes[s->freed[s->nfreed - 1]];
		if (n && n->present) {
			int32_t best = -1;
			for (int32_t u = s->uhead; u >= 0; u = wf__sc_unit_q(s, u)->unext) {
				wf__sc_qent *q = wf__sc_unit_q(s, u);
				if ((u & 1) || !(q->fail_mask & WF__EV_RES) || q->offered == s->calls)
					continue;
				if (best >= 0 && !s->fw->sort->less(q, wf__sc_unit_q(s, best)))
					continue;
				if (wf__sc_pod_fits_node(s, s->pods[u >> 1], n))
					best = u;
			}
			if (best >= 0) {
				wf__sc_unit_q(s, best)->offered = s->calls;
				wf__sc_q_remove(s, best);
				return best;
			}
			n->freed_pending = false;
		}
		s->nfreed--;
	}
	return -1;
}

void wf__sc_q_tick(wf_sched *s, int64_t now)
{
	/* Parked too long: retry anyway (kube's podMaxInUnschedulablePodsDuration). */
	while (s->uhead >= 0) {
		wf__sc_qent *q = wf__sc_unit_q(s, s->uhead);
		if (q->parked_at + s->cfg.unschedulable_flush_ms > now)
			break;
		to_backoff(s, s->uhead);
	}
	while (s->nbackoff) {
		int32_t u = s->backoff[0];
		if (wf__sc_unit_q(s, u)->backoff_until > now)
			break;
		wf__sc_q_add_active(s, u);
	}
}

int32_t wf__sc_q_pop(wf_sched *s, int64_t now)
{
	if (!s->nactive)
		return -1;
	int32_t u = s->active[0];
	wf__sc_q_remove(s, u);
	return u;
}

void wf__sc_q_free(wf_sched *s)
{
	free(s->active);
	free(s->backoff);
	free(s->freed);
}
