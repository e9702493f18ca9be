/*
 * gang.c - gang scheduling: a pod group's pods are placed together (at
 * least minMember of them, counting those already bound) or not at all.
 *
 * Design. A gang is one unit in the queue, ordered like a pod (its highest
 * pending priority, then its oldest member). Its cycle runs every pending
 * member's cycle in a fixed order (priority, age, name), each Reserve
 * landing on the live node table, so later members see earlier ones; if
 * fewer than minMember end up assumed or bound, every reservation is
 * undone (Unreserve) before the call returns. No partial gang ever holds
 * resources between calls, and since gangs are placed one at a time, whole,
 * in a deterministic order, two gangs competing for the same GPUs cannot
 * deadlock: one is placed, the other waits for capacity.
 *
 * A gang waits (without counting attempts or back-off) until its PodGroup
 * is known and minMember pods name it. A running timer (from its first
 * attempt) reports GANG_TIMEOUT every scheduleTimeoutSeconds until
 * minMember pods are placed.
 */
#include <stdlib.h>
#include <string.h>

#include "lib/wf_mem.h"
#include "scheduler/sched_internal.h"

static int32_t gang_unit(const wf__sc_gang *g)
{
	return (int32_t)(g->id * 2 + 1);
}

bool wf__sc_gang_quorum(const wf__sc_gang *g)
{
	return g->defined && g->nmembers >= (uint32_t)g->min_member;
}

static bool gang_placed(const wf__sc_gang *g)
{
	return g->defined && g->nassumed + g->nbound >= (uint32_t)g->min_member;
}

static wf__sc_gang *gang_find(const wf_sched *s, const char *ns, size_t nslen, const char *name)
{
	size_t nl = strlen(name);
	char *k = wf_xmalloc(nslen + nl + 2);
	memcpy(k, ns, nslen);
	k[nslen] = '/';
	memcpy(k + nslen + 1, name, nl + 1);
	uint32_t id;
	bool ok = wf__sc_hmap_get(&s->gangmap, k, nslen + nl + 1, &id);
	free(k);
	return ok ? s->gangs[id] : NULL;
}

wf__sc_gang *wf__sc_gang_ref(wf_sched *s, const char *ns, size_t nslen, const char *name)
{
	wf__sc_gang *g = gang_find(s, ns, nslen, name);
	if (g)
		return g;
	g = wf_xcalloc(1, sizeof(*g));
	size_t nl = strlen(name);
	g->key = wf_xmalloc(nslen + nl + 2);
	memcpy(g->key, ns, nslen);
	g->key[nslen] = '/';
	memcpy(g->key + nslen + 1, name, nl + 1);
	g->nslen = (uint32_t)nslen;
	g->members = -1;
	g->q.pos = -1;
	g->q.uprev = g->q.unext = -1;
	g->tpos = -1;
	uint32_t id;
	if (!wf__sc_ids_pop(&s->gang_free, &id)) {
		s->gangs =
		    wf__sc_grow(s->gangs, &s->gangs_cap, s->ngangs + 1, sizeof(*s->gangs), 16);
		id = s->ngangs++;
	}
	s->gangs[id] = g;
	g->id = id;
	wf__sc_hmap_put(&s->gangmap, g->key, strlen(g->key), id);
	return g;
}

/* ---- timers ---------------------------------------------------------------------- */

static void timer_stop(wf_sched *s, wf__sc_gang *g)
{
	if (g->tpos < 0)
		return;
	uint32_t last = s->timed[--s->ntimed];
	s->timed[g->tpos] = last;
	s->gangs[last]->tpos = g->tpos;
	g->tpos = -1;
	g->timer_start = 0;
}

static void timer_start(wf_sched *s, wf__sc_gang *g, int64_t now)
{
	if (g->tpos >= 0 || g->timeout_ms <= 0)
		return;
	s->timed = wf__sc_grow(s->timed, &s->timed_cap, s->ntimed + 1, sizeof(*s->timed), 16);
	g->tpos = (int32_t)s->ntimed;
	s->timed[s->ntimed++] = g->id;
	g->timer_start = now;
}

void wf__sc_gang_timers(wf_sched *s, int64_t now)
{
	for (uint32_t i = s->ntimed; i-- > 0;) {
		if (i >= s->ntimed)
			continue;
		wf__sc_gang *g = s->gangs[s->timed[i]];
		if (gang_placed(g) || !g->defined || !g->npending) {
			timer_stop(s, g);
			continue;
		}
		if (now - g->timer_start < g->timeout_ms)
			continue;
		wf_buf msg;
		wf_buf_init(&msg);
		wf_buf_printf(&msg,
			      "pod group \"%s\" was not scheduled within %llds: %u of minMember %d "
			      "pods placed, %u pending",
			      g->key, (long long)(g->timeout_ms / 1000), g->nassumed + g->nbound,
			      (int)g->min_member, g->npending);
		wf__sc_emit(s, WF_SCHED_DEC_GANG_TIMEOUT, g->key, g->nslen, g->key + g->nslen + 1,
			    NULL, msg.data, 0, NULL, 0);
		wf_buf_free(&msg);
		g->timeouts++;
		g->timer_start = now;
	}
}

/* ---- membership -------------------------------------------------------------------- */

static uint32_t *state_counter(wf__sc_gang *g, uint8_t st)
{
	return st == WF__P_ASSUMED ? &g->nassumed : st == WF__P_BOUND ? &g->nbound : &g->npending;
}

static void gang_destroy(wf_sched *s, wf__sc_gang *g)
{
	wf__sc_q_remove(s, gang_unit(g));
	timer_stop(s, g);
	wf__sc_hmap_del(&s->gangmap, g->key, strlen(g->key));
	s->gangs[g->id] = NULL;
	wf__sc_ids_push(&s->gang_free, g->id);
	free(g->key);
	free(g);
}

void wf__sc_gang_requeue(wf_sched *s, wf__sc_gang *g)
{
	int32_t unit = gang_unit(g);
	if (!g->npending) {
		wf__sc_q_remove(s, unit);
		return;
	}
	int32_t prio = INT32_MIN;
	int64_t ts = INT64_MAX;
	int32_t id = g->members;
	if (id >= 0) {
		do {
			const wf__sc_pod *p = s->pods[id];
			if (p->state == WF__P_PENDING && p->prio > prio)
				prio = p->prio;
			if (p->created_ms < ts)
				ts = p->created_ms;
			id = p->glink.next;
		} while (id != g->members);
	}
	bool changed = g->q.prio != prio || g->q.ts != ts;
	g->q.prio = prio;
	g->q.ts = ts;
	if (g->q.where == WF__Q_NONE)
		wf__sc_q_add_active(s, unit);
	else if (g->q.where == WF__Q_UNSCHED)
		wf__sc_q_move_unit(s, unit);
	else if (changed)
		wf__sc_q_fix(s, unit);
}

void wf__sc_gang_add_member(wf_sched *s, wf__sc_gang *g, wf__sc_pod *p)
{
	int32_t id = (int32_t)p->id;
	if (g->members < 0) {
		p->glink.prev = p->glink.next = id;
		g->members = id;
	} else {
		wf__sc_pod *h = s->pods[g->members];
		wf__sc_pod *t = s->pods[h->glink.prev];
		p->glink.prev = (int32_t)t->id;
		p->glink.next = g->members;
		t->glink.next = id;
		h->glink.prev = id;
	}
	p->gang = g;
	g->nmembers++;
	(*state_counter(g, p->state))++;
	wf__sc_gang_requeue(s, g);
}

void wf__sc_gang_del_member(wf_sched *s, wf__sc_pod *p)
{
	wf__sc_gang *g = p->gang;
	int32_t id = (int32_t)p->id;
	if (p->glink.next == id) {
		g->members = -1;
	} else {
		s->pods[p->glink.prev]->glink.next = p->glink.next;
		s->pods[p->glink.next]->glink.prev = p->glink.prev;
		if (g->members == id)
			g->members = p->glink.next;
	}
	p->glink.prev = p->glink.next = -1;
	p->gang = NULL;
	g->nmembers--;
	(*state_counter(g, p->state))--;
	if (!g->defined && !g->nmembers)
		gang_destroy(s, g);
	else
		wf__sc_gang_requeue(s, g);
}

void wf__sc_gang_member_state(wf_sched *s, wf__sc_pod *p, uint8_t old_state)
{
	wf__sc_gang *g = p->gang;
	(*state_counter(g, old_state))--;
	(*state_counter(g, p->state))++;
}

/* ---- PodGroup API ---------------------------------------------------------------- */

int wf_sched_group_upsert(wf_sched *s, const wf_sched_group_spec *spec, wf_err *err)
{
	if (!s || !spec || !spec->ns || !*spec->ns || !spec->name || !*spec->name ||
	    strchr(spec->ns, '/'))
		return wf_err_set(err, WF_EINVAL, "pod group: namespace and name are required");
	if (spec->min_member < 1)
		return wf_err_set(err, WF_EINVAL, "pod group %s/%s: minMember must be at least 1",
				  spec->ns, spec->name);
	if (spec->timeout_s < 0 || spec->timeout_s > INT64_MAX / 1000)
		return wf_err_set(err, WF_EINVAL,
				  "pod group %s/%s: scheduleTimeoutSeconds out of range", spec->ns,
				  spec->name);
	wf__sc_gang *g = wf__sc_gang_ref(s, spec->ns, strlen(spec->ns), spec->name);
	bool changed = !g->defined || g->min_member != spec->min_member;
	g->defined = true;
	g->min_member = spec->min_member;
	if (g->timeout_ms != spec->timeout_s * 1000) {
		g->timeout_ms = spec->timeout_s * 1000;
		timer_stop(s, g);
	}
	if (changed && g->npending)
		wf__sc_gang_requeue(s, g);
	return 0;
}

int wf_sched_group_remove(wf_sched *s, const char *ns, const char *name, wf_err *err)
{
	wf__sc_gang *g = s && ns && name ? gang_find(s, ns, strlen(ns), name) : NULL;
	if (!g || !g->defined)
		return wf_err_set(err, WF_ENOENT, "pod group %s/%s not found", ns ? ns : "",
				  name ? name : "");
	g->defined = false;
	timer_stop(s, g);
	if (!g->nmembers)
		gang_destroy(s, g);
	else
		wf__sc_gang_requeue(s, g);
	return 0;
}

bool wf_sched_group_info_get(const wf_sched *s, const char *ns, const char *name,
			     wf_sched_group_info *out)
{
	memset(out, 0, sizeof(*out));
	const wf__sc_gang *g = s && ns && name ? gang_find(s, ns, strlen(ns), name) : NULL;
	if (!g)
		return false;
	out->min_member = g->defined ? g->min_member : 0;
	out->pending = g->npending;
	out->assumed = g->nassumed;
	out->bound = g->nbound;
	out->timeouts = g->timeouts;
	return true;
}

void wf__sc_gangs_free(wf_sched *s)
{
	for (uint32_t i = 0; i < s->ngangs; i++) {
		if (!s->gangs[i])
			continue;
		free(s->gangs[i]->key);
		free(s->gangs[i]);
	}
	free(s->gangs);
	free(s->gang_free.v);
	free(s->timed);
	wf__sc_hmap_free(&s->gangmap);
}

/* ---- plugins --------------------------------------------------------------------- */

static wf__sc_status prefilter_gang(wf__sc_cycle *cy)
{
	const wf__sc_gang *g = cy->pod->gang;
	if (g && !wf__sc_gang_quorum(g))
		return (wf__sc_status){
		    .code = WF_SCHED_UNRESOLVABLE, .reason = WF__RS_GANG, .arg = g->id};
	return (wf__sc_status){.code = WF_SCHED_SUCCESS};
}

const wf__sc_prefilter_plugin wf__sc_prefilter_gang = {
    .name = "Coscheduling",
    .prefilter = prefilter_gang,
};

/* Permit: a member may bind once minMember of its gang are assumed or bound. */
static wf__sc_status permit_gang(const wf__sc_cycle *cy, const wf__sc_node *n)
{
	const wf__sc_gang *g = cy->pod->gang;
	if (!g || gang_placed(g))
		return (wf__sc_status){.code = WF_SCHED_SUCCESS};
	return (wf__sc_status){.code = WF_SCHED_WAIT, .reason = WF__RS_GANG, .arg = g->id};
}

const wf__sc_permit_plugin wf__sc_permit_gang = {
    .name = "Coscheduling",
    .permit = permit_gang,
};

/* ---- the gang cycle ---------------------------------------------------------------- */

static int member_cmp(const void *a, const void *b)
{
	const wf__sc_pod *x = *(wf__sc_pod *const *)a, *y = *(wf__sc_pod *const *)b;
	if (x->prio != y->prio)
		return x->prio > y->prio ? -1 : 1;
	if (x->created_ms != y->created_ms)
		return x->created_ms < y->created_ms ? -1 : 1;
	return strcmp(x->key, y->key);
}

static void emit_unsched(wf_sched *s, const wf__sc_pod *p, const char *msg)
{
	wf__sc_emit(s, WF_SCHED_DEC_UNSCHEDULABLE, p->key, p->nslen, wf__sc_pod_name(p), NULL, msg,
		    p->prio, NULL, 0);
}

static void gang_wait(wf_sched *s, wf__sc_gang *g, int64_t now)
{
	wf_buf msg;
	wf_buf_init(&msg);
	wf_buf_printf(&msg, "0/%u nodes are available: ", s->npresent);
	wf__sc_format_reason(s, WF__RS_GANG, g->id, 0, 0, &msg);
	wf_buf_putc(&msg, '.');
	int32_t id = g->members;
	do {
		wf__sc_pod *p = s->pods[id];
		if (p->state == WF__P_PENDING && !p->wait_reported) {
			emit_unsched(s, p, msg.data);
			p->wait_reported = true;
		}
		id = p->glink.next;
	} while (id != g->members);
	wf_buf_free(&msg);
	wf__sc_q_park(s, gang_unit(g), WF__EV_GANG, now);
	g->q.gang_wait = true;
}

void wf__sc_schedule_gang(wf_sched *s, wf__sc_gang *g, int64_t now)
{
	if (g->defined)
		timer_start(s, g, now);
	if (!wf__sc_gang_quorum(g)) {
		gang_wait(s, g, now);
		return;
	}
	s->cycles++;
	g->q.attempts++;

	size_t n = 0;
	wf__sc_pod **m = wf__sc_arena_alloc(&s->arena, g->npending * sizeof(*m));
	wf__sc_node **at = wf__sc_arena_alloc(&s->arena, g->npending * sizeof(*at));
	int32_t id = g->members;
	do {
		wf__sc_pod *p = s->pods[id];
		if (p->state == WF__P_PENDING && n < g->npending)
			m[n++] = p;
		id = p->glink.next;
	} while (id != g->members);
	qsort(m, n, sizeof(*m), member_cmp);

	/* PreFilter, Filter, Score and Reserve, member by member. */
	wf_buf msg;
	wf_buf_init(&msg);
	uint32_t ev = WF__EV_GANG | WF__EV_NODE_ADD;
	size_t placed = 0;
	wf__sc_pod *first_fail = NULL;
	for (size_t i = 0; i < n; i++) {
		wf__sc_cycle cy;
		wf__sc_cycle_init(&cy, s, m[i], now);
		at[i] = NULL;
		wf__sc_status st = wf__sc_prefilter(&cy);
		if (st.code == WF_SCHED_SUCCESS)
			at[i] = wf__sc_find_node(&cy);
		if (at[i]) {
			wf__sc_reserve(&cy, at[i]);
			placed++;
		} else if (!first_fail) {
			first_fail = m[i];
			ev |= wf__sc_fit_error(&cy, &msg);
		}
	}

	/* Permit: every reserved member must be allowed (the Coscheduling
	 * plugin allows once minMember are assumed or bound). */
	bool permitted = placed > 0;
	for (size_t i = 0; i < n && permitted; i++) {
		if (!at[i])
			continue;
		wf__sc_cycle cy;
		wf__sc_cycle_init(&cy, s, m[i], now);
		permitted = wf__sc_permit(&cy, at[i]).code == WF_SCHED_SUCCESS;
	}
	if (permitted) {
		for (size_t i = 0; i < n; i++) {
			if (!at[i])
				continue;
			wf__sc_cycle cy;
			wf__sc_cycle_init(&cy, s, m[i], now);
			wf__sc_bind(&cy, at[i]);
		}
		if (!first_fail) {
			g->q.attempts = 0;
			goto out;
		}
		/* Members beyond minMember that did not fit wait for capacity. */
		for (size_t i = 0; i < n; i++)
			if (!at[i])
				emit_unsched(s, m[i], msg.data);
		wf__sc_q_park(s, gang_unit(g), ev, now);
		goto out;
	}

	/* Not enough: Unreserve everything, newest first. */
	for (size_t i = n; i-- > 0;) {
		if (!at[i])
			continue;
		wf__sc_cycle cy;
		wf__sc_cycle_init(&cy, s, m[i], now);
		wf__sc_unreserve(&cy, at[i]);
	}
	wf_buf_printf(&msg, " pod group \"%s\": %zu of %zu pending pods fit, minMember %d.", g->key,
		      placed, n, (int)g->min_member);
	wf_buf pf;
	wf_buf_init(&pf);
	if (s->npresent && !wf__sc_preempt_gang(s, g, m, n, now, &pf) && pf.len) {
		wf_buf_putc(&msg, ' ');
		wf_buf_append(&msg, pf.data, pf.len);
	}
	wf_buf_free(&pf);
	for (size_t i = 0; i < n; i++)
		emit_unsched(s, m[i], msg.data);
	wf__sc_q_park(s, gang_unit(g), ev, now);
out:
	wf_buf_free(&msg);
	wf__sc_arena_reset(&s->arena);
}
