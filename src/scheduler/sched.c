/*
 * sched.c - the scheduler's life cycle, the scheduling loop and decisions.
 *
 * wf_sched_schedule first handles time (nomination expiry, back-offs and
 * the periodic flush of parked pods), then pops units from the active queue,
 * then parked pods that fit capacity freed since, and runs their cycles
 * until `max` decisions are waiting, then reports the
 * gangs whose timeout passed.
 * Decisions live in one heap block each (strings included); those handed
 * out are kept until the next call, so the caller's pointers stay valid.
 */
#include <string.h>

#include "lib/wf_mem.h"
#include "scheduler/sched_internal.h"

void wf_sched_config_default(wf_sched_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->backoff_initial_ms = 1000;
	cfg->backoff_max_ms = 10000;
	cfg->unschedulable_flush_ms = 300000;
	cfg->nomination_ttl_ms = 300000;
	cfg->weight_node_affinity = 2;
	cfg->weight_taint_toleration = 3;
	cfg->weight_gpu_binpack = 5;
	cfg->weight_gpu_avoid = 5;
	cfg->weight_least_allocated = 1;
	cfg->weight_balanced = 1;
	cfg->weight_inter_pod = 2;
	cfg->cpu_candidates_per_class = 8;
}

wf_sched *wf_sched_new(const wf_sched_config *cfg)
{
	wf_sched *s = wf_xcalloc(1, sizeof(*s));
	if (cfg)
		s->cfg = *cfg;
	else
		wf_sched_config_default(&s->cfg);
	wf__sc_strtab_init(&s->strs);
	s->id_unsched_key = wf__sc_intern(&s->strs, "node.kubernetes.io/unschedulable");
	s->id_notready_key = wf__sc_intern(&s->strs, "node.kubernetes.io/not-ready");
	s->id_unreach_key = wf__sc_intern(&s->strs, "node.kubernetes.io/unreachable");
	if (cfg && cfg->per_node_label_keys) {
		s->per_node_keys = wf_xmalloc((cfg->nper_node_label_keys + 1) * sizeof(uint32_t));
		for (size_t i = 0; i < cfg->nper_node_label_keys; i++)
			if (cfg->per_node_label_keys[i])
				s->per_node_keys[s->nper_node_keys++] =
				    wf__sc_intern(&s->strs, cfg->per_node_label_keys[i]);
	} else {
		s->per_node_keys = wf_xmalloc(sizeof(uint32_t));
		s->per_node_keys[s->nper_node_keys++] =
		    wf__sc_intern(&s->strs, "kubernetes.io/hostname");
	}
	s->cfg.per_node_label_keys = NULL;
	s->cfg.nper_node_label_keys = 0;
	if (s->cfg.backoff_initial_ms < 0)
		s->cfg.backoff_initial_ms = 0;
	if (s->cfg.backoff_max_ms < s->cfg.backoff_initial_ms)
		s->cfg.backoff_max_ms = s->cfg.backoff_initial_ms;

	s->res_cap = 8;
	static const char *const fixed[] = {"cpu", "memory", "pods", "ephemeral-storage"};
	for (uint32_t i = 0; i < WF__R_FIXED; i++) {
		uint32_t id;
		wf__sc_res_intern(s, fixed[i], &id, NULL);
	}
	s->uhead = s->utail = -1;
	s->fw = &wf__sc_default_framework;
	return s;
}

static void free_returned(wf_sched *s)
{
	for (size_t i = 0; i < s->nret; i++)
		free(s->ret[i]);
	s->nret = 0;
}

void wf_sched_free(wf_sched *s)
{
	if (!s)
		return;
	free_returned(s);
	free(s->ret);
	for (size_t i = s->decq_head; i < s->ndecq; i++)
		free(s->decq[i]);
	free(s->decq);
	wf__sc_q_free(s);
	wf__sc_gangs_free(s);
	wf__sc_pods_free(s);
	wf__sc_profiles_free(s);
	wf__sc_nodes_free(s);
	wf__sc_strtab_free(&s->strs);
	free(s->per_node_keys);
	wf__sc_arena_free(&s->arena);
	free(s);
}

/* ---- decisions ----------------------------------------------------------------- */

static char *put_str(char **cur, const char *s, size_t n)
{
	char *p = *cur;
	memcpy(p, s, n);
	p[n] = '\0';
	*cur += n + 1;
	return p;
}

void wf__sc_emit(wf_sched *s, wf_sched_decision_kind kind, const char *ns, size_t nslen,
		 const char *name, const char *node, const char *msg, int32_t prio,
		 const wf__sc_pod *const *victims, size_t nvictims)
{
	size_t size = sizeof(wf__sc_dec) + nvictims * sizeof(wf_sched_pod_ref);
	size += nslen + 1 + strlen(name) + 1;
	if (node)
		size += strlen(node) + 1;
	if (msg)
		size += strlen(msg) + 1;
	for (size_t i = 0; i < nvictims; i++)
		size += strlen(victims[i]->key) + 2;
	wf__sc_dec *d = wf_xmalloc(size);
	memset(d, 0, sizeof(*d));
	wf_sched_pod_ref *refs = (wf_sched_pod_ref *)(d + 1);
	char *cur = (char *)(refs + nvictims);
	d->d.kind = kind;
	d->d.priority = prio;
	d->d.ns = put_str(&cur, ns, nslen);
	d->d.name = put_str(&cur, name, strlen(name));
	if (node)
		d->d.node = put_str(&cur, node, strlen(node));
	if (msg)
		d->d.message = put_str(&cur, msg, strlen(msg));
	for (size_t i = 0; i < nvictims; i++) {
		const wf__sc_pod *v = victims[i];
		refs[i].ns = put_str(&cur, v->key, v->nslen);
		refs[i].name = put_str(&cur, wf__sc_pod_name(v), strlen(wf__sc_pod_name(v)));
	}
	d->d.victims = nvictims ? refs : NULL;
	d->d.nvictims = nvictims;
	if (s->ndecq == s->decq_cap) {
		if (s->decq_head) {
			memmove(s->decq, s->decq + s->decq_head,
				(s->ndecq - s->decq_head) * sizeof(*s->decq));
			s->ndecq -= s->decq_head;
			s->decq_head = 0;
		}
		if (s->ndecq == s->decq_cap) {
			s->decq_cap = s->decq_cap ? s->decq_cap * 2 : 64;
			s->decq = wf_xrealloc(s->decq, s->decq_cap * sizeof(*s->decq));
		}
	}
	s->decq[s->ndecq++] = d;
}

/* ---- the loop ------------------------------------------------------------------ */

/* Pods parked on inter-pod rules may pass once pods were placed or left. */
static void pods_moved_event(wf_sched *s)
{
	if (s->pods_moved) {
		s->pods_moved = false;
		wf__sc_q_event(s, WF__EV_PODS);
	}
}

static void expire_nominations(wf_sched *s, int64_t now)
{
	for (uint32_t i = s->nnoms; i-- > 0;) {
		if (i >= s->nnoms)
			continue;
		if (now - s->noms[i].at >= s->cfg.nomination_ttl_ms)
			wf__sc_pod_clear_nomination(s, s->pods[s->noms[i].pod]);
	}
}

int wf_sched_schedule(wf_sched *s, int64_t now_ms, wf_sched_decision *out, size_t max)
{
	if (!s || (!out && max))
		return -WF_EINVAL;
	free_returned(s);
	s->now = now_ms;
	s->calls++;
	expire_nominations(s, now_ms);
	wf__sc_q_tick(s, now_ms);
	pods_moved_event(s);
	while (s->ndecq - s->decq_head < max) {
		int32_t u = wf__sc_q_pop(s, now_ms);
		if (u < 0)
			u = wf__sc_q_pop_freed(s);
		if (u < 0)
			break;
		if (u & 1)
			wf__sc_schedule_gang(s, s->gangs[u >> 1], now_ms);
		else
			wf__sc_schedule_pod(s, s->pods[u >> 1], now_ms);
		pods_moved_event(s);
	}
	/* After the cycles, so that a gang placed just now is not reported. */
	wf__sc_gang_timers(s, now_ms);
	size_t k = s->ndecq - s->decq_head;
	if (k > max)
		k = max;
	if (s->ret_cap < k) {
		s->ret_cap = k;
		s->ret = wf_xrealloc(s->ret, k * sizeof(*s->ret));
	}
	for (size_t i = 0; i < k; i++) {
		wf__sc_dec *d = s->decq[s->decq_head++];
		out[i] = d->d;
		s->ret[s->nret++] = d;
	}
	if (s->decq_head == s->ndecq)
		s->decq_head = s->ndecq = 0;
	return (int)k;
}

/* ---- stats ----------------------------------------------------------------------- */

uint64_t wf_sched_cycles(const wf_sched *s)
{
	return s ? s->cycles : 0;
}

void wf_sched_stats_get(const wf_sched *s, wf_sched_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (!s)
		return;
	out->nodes = s->npresent;
	out->node_classes = s->nlive;
	out->pods = s->npods_live;
	out->assumed = s->nassumed;
	out->bound = s->nbound;
	out->cycles = s->cycles;
	for (uint32_t i = 0; i < s->npods; i++) {
		const wf__sc_pod *p = s->pods[i];
		if (!p || p->state != WF__P_PENDING)
			continue;
		const wf__sc_qent *q = p->gang ? &p->gang->q : p->q;
		if (!q)
			continue; /* pending, but not queued yet */
		if (p->gang && (q->gang_wait || !wf__sc_gang_quorum(p->gang)))
			out->gang_wait++;
		else if (q->where == WF__Q_ACTIVE)
			out->active++;
		else if (q->where == WF__Q_BACKOFF)
			out->backoff++;
		else
			out->unschedulable++;
	}
}
