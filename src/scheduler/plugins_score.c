/*
 * plugins_score.c - Score plugins. Each gives a raw score per candidate
 * node; NormalizeScore maps the candidates' raw scores to 0..100; the
 * framework sums weight * score (weights in wf_sched_config).
 *
 *   NodeAffinity       (class) sum of the weights of matching preferred terms
 *   TaintToleration    (class) fewer untolerated PreferNoSchedule taints is better
 *   GPUAvoid           (class) CPU-only pods: 100 on nodes without accelerators
 *   GPUBinPack         (node)  pods with an extended resource: fill partly used
 *                              nodes first, then the tightest fit, so that whole
 *                              nodes stay free for large jobs
 *   LeastAllocated     (node)  CPU-only pods: most free cpu and memory after
 *   BalancedAllocation (node)  CPU-only pods: cpu and memory used alike
 *
 * GPUBinPack's raw score is monotone in the order framework.c walks a
 * class's free-GPU buckets (partly used before empty, fewer free first), so
 * the first feasible node of a class is that class's best.
 */
#include "scheduler/sched_internal.h"

static void normalize_max(int64_t *raw, size_t n)
{
	int64_t max = 0;
	for (size_t i = 0; i < n; i++)
		if (raw[i] > max)
			max = raw[i];
	for (size_t i = 0; i < n; i++)
		raw[i] = max > 0 ? raw[i] * 100 / max : 0;
}

static void normalize_reverse(int64_t *raw, size_t n)
{
	int64_t max = 0;
	for (size_t i = 0; i < n; i++)
		if (raw[i] > max)
			max = raw[i];
	for (size_t i = 0; i < n; i++)
		raw[i] = max > 0 ? 100 - raw[i] * 100 / max : 100;
}

static bool always(const wf__sc_cycle *cy)
{
	return true;
}

static bool cpu_only(const wf__sc_cycle *cy)
{
	return cy->cpu_only;
}

static bool has_primary(const wf__sc_cycle *cy)
{
	return cy->primary >= 0;
}

/* ---- NodeAffinity ------------------------------------------------------------ */

static int64_t score_affinity(const wf__sc_cycle *cy, const wf__sc_class *c, const wf__sc_node *n)
{
	int64_t sum = 0;
	const wf__sc_profile *pr = cy->prof;
	for (uint32_t i = 0; i < pr->npref; i++)
		if (pr->pref[i].weight && wf__sc_term_matches(cy->s, &pr->pref[i].term, c, n))
			sum += pr->pref[i].weight;
	return sum;
}

static bool has_preferred(const wf__sc_cycle *cy)
{
	return cy->prof->npref > 0;
}

static int w_affinity(const wf_sched_config *cfg)
{
	return cfg->weight_node_affinity;
}

const wf__sc_score_plugin wf__sc_score_node_affinity = {
    .name = "NodeAffinity",
    .scope = WF__SCOPE_CLASS,
    .weight = w_affinity,
    .applies = has_preferred,
    .score = score_affinity,
    .normalize = normalize_max,
};

/* ---- TaintToleration ------------------------------------------------------------ */

static int64_t score_taints(const wf__sc_cycle *cy, const wf__sc_class *c, const wf__sc_node *n)
{
	int64_t cnt = 0;
	const wf__sc_profile *pr = cy->prof;
	for (uint32_t i = 0; i < c->ntaints; i++) {
		const wf__sc_taint *t = &c->taints[i];
		if (t->effect != WF_SCHED_PREFER_NO_SCHEDULE)
			continue;
		/* Only tolerations with an empty or PreferNoSchedule effect count. */
		bool tol = false;
		for (uint32_t j = 0; j < pr->ntols && !tol; j++) {
			const wf__sc_tol *o = &pr->tols[j];
			if (o->effect != WF_SCHED_EFFECT_ALL &&
			    o->effect != WF_SCHED_PREFER_NO_SCHEDULE)
				continue;
			if (o->k != 0 && o->k != t->k)
				continue;
			tol = o->op == WF_SCHED_TOL_EXISTS || o->v == t->v;
		}
		if (!tol)
			cnt++;
	}
	return cnt;
}

static int w_taint(const wf_sched_config *cfg)
{
	return cfg->weight_taint_toleration;
}

const wf__sc_score_plugin wf__sc_score_taint_toleration = {
    .name = "TaintToleration",
    .scope = WF__SCOPE_CLASS,
    .weight = w_taint,
    .applies = always,
    .score = score_taints,
    .normalize = normalize_reverse,
};

/* ---- GPUAvoid --------------------------------------------------------------- */

static int64_t score_avoid(const wf__sc_cycle *cy, const wf__sc_class *c, const wf__sc_node *n)
{
	return c->accel ? 0 : 100;
}

static int w_avoid(const wf_sched_config *cfg)
{
	return cfg->weight_gpu_avoid;
}

const wf__sc_score_plugin wf__sc_score_gpu_avoid = {
    .name = "GPUAvoid",
    .scope = WF__SCOPE_CLASS,
    .weight = w_avoid,
    .applies = cpu_only,
    .score = score_avoid,
    .normalize = NULL,
};

/* ---- GPUBinPack ------------------------------------------------------------------ */

static int64_t score_binpack(const wf__sc_cycle *cy, const wf__sc_class *c, const wf__sc_node *n)
{
	int r = cy->primary;
	int64_t left = n->alloc[r] - n->used[r] - cy->req_primary;
	if (left < 0)
		left = 0;
	if (left > WF__SC_GPU_KEYS)
		left = WF__SC_GPU_KEYS;
	int64_t raw = WF__SC_GPU_KEYS - left + 1;
	if (n->used[r] > 0)
		raw += WF__SC_GPU_KEYS + 2;
	return raw;
}

static int w_binpack(const wf_sched_config *cfg)
{
	return cfg->weight_gpu_binpack;
}

const wf__sc_score_plugin wf__sc_score_gpu_binpack = {
    .name = "GPUBinPack",
    .scope = WF__SCOPE_NODE,
    .weight = w_binpack,
    .applies = has_primary,
    .score = score_binpack,
    .normalize = normalize_max,
};

/* ---- LeastAllocated and BalancedAllocation ------------------------------------ */

/* Kubernetes scores pods without requests as if they asked for 100m cpu
 * and 200Mi memory, so that they still spread. */
#define WF__SC_DEFAULT_CPU 100
#define WF__SC_DEFAULT_MEM (INT64_C(200) * 1024 * 1024)

static double used_fraction(const wf__sc_node *n, int r, int64_t req)
{
	int64_t a = n->alloc[r];
	if (a <= 0)
		return 1.0;
	double f = ((double)n->used[r] + (double)req) / (double)a;
	return f < 0 ? 0 : f > 1 ? 1 : f;
}

static int64_t score_least(const wf__sc_cycle *cy, const wf__sc_class *c, const wf__sc_node *n)
{
	double cpu = used_fraction(n, WF__R_CPU, cy->req_cpu ? cy->req_cpu : WF__SC_DEFAULT_CPU);
	double mem = used_fraction(n, WF__R_MEM, cy->req_mem ? cy->req_mem : WF__SC_DEFAULT_MEM);
	return (int64_t)(((1.0 - cpu) + (1.0 - mem)) * 50.0);
}

static int64_t score_balanced(const wf__sc_cycle *cy, const wf__sc_class *c, const wf__sc_node *n)
{
	double cpu = used_fraction(n, WF__R_CPU, cy->req_cpu);
	double mem = used_fraction(n, WF__R_MEM, cy->req_mem);
	double d = cpu > mem ? cpu - mem : mem - cpu;
	return (int64_t)((1.0 - d / 2.0) * 100.0);
}

static int w_least(const wf_sched_config *cfg)
{
	return cfg->weight_least_allocated;
}

static int w_balanced(const wf_sched_config *cfg)
{
	return cfg->weight_balanced;
}

const wf__sc_score_plugin wf__sc_score_least_allocated = {
    .name = "NodeResourcesLeastAllocated",
    .scope = WF__SCOPE_NODE,
    .weight = w_least,
    .applies = cpu_only,
    .score = score_least,
    .normalize = NULL,
};

const wf__sc_score_plugin wf__sc_score_balanced = {
    .name = "NodeResourcesBalancedAllocation",
    .scope = WF__SCOPE_NODE,
    .weight = w_balanced,
    .applies = cpu_only,
    .score = score_balanced,
    .normalize = NULL,
};
