/*
 * job_plan.c - the Job controller's decisions (see job_plan.h): pure
 * functions from (job, pods, now) to a plan. Nothing here does I/O or keeps
 * state between calls; everything the controller must remember lives in
 * the Job's status.
 *
 * The function follows kube-controller-manager's syncJob in order:
 * settle uncounted pods whose finalizer is gone, record newly finished pods,
 * decide failure (backoff limit, deadline), otherwise scale (manageJob),
 * decide success, then add the terminal condition once nothing is pending.
 */
#include "controllers/job_plan.h"
#include "lib/wf_mem.h"
#include "lib/wf_time.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- small JSON helpers --------------------------------------------------------- */

static const char *wf__s(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static json_t *wf__at(const json_t *o, const char *a, const char *b)
{
	json_t *v = json_object_get(o, a);
	return b ? json_object_get(v, b) : v;
}

/* A non-negative integer field, or def when absent or malformed. */
static int64_t wf__nonneg(const json_t *o, const char *key, int64_t def, bool *present)
{
	json_t *v = json_object_get(o, key);
	bool ok = json_is_integer(v) && json_integer_value(v) >= 0;
	if (present)
		*present = ok;
	return ok ? (int64_t)json_integer_value(v) : def;
}

/* RFC 3339 to epoch seconds; -1 when absent or malformed. */
static int64_t wf__time(const json_t *v)
{
	time_t t;
	if (!json_is_string(v) || wf_time_parse_rfc3339(json_string_value(v), &t) < 0)
		return -1;
	return (int64_t)t;
}

static bool wf__str_in(const json_t *arr, const char *s)
{
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v)
	{
		if (json_is_string(v) && !strcmp(json_string_value(v), s))
			return true;
	}
	return false;
}

static json_t *wf__find_cond(const json_t *status, const char *type)
{
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(status, "conditions"), i, c)
	{
		const char *t = wf__s(c, "type");
		if (t && !strcmp(t, type))
			return c;
	}
	return NULL;
}

static bool wf__cond_true(const json_t *status, const char *type)
{
	const char *s = wf__s(wf__find_cond(status, type), "status");
	return s && !strcmp(s, "True");
}

/*
 * Kubernetes' ensureJobConditionStatus: set the condition of that type to
 * (status, reason, message), stamping both times when anything changes; a
 * missing condition is added unless its status would be False. Returns
 * whether the list changed.
 */
static bool wf__ensure_cond(json_t *status, const char *type, const char *cstatus,
			    const char *reason, const char *message, const char *now)
{
	json_t *c = wf__find_cond(status, type);
	if (c) {
		const char *s = wf__s(c, "status"), *r = wf__s(c, "reason"),
			   *m = wf__s(c, "message");
		if (s && r && m && !strcmp(s, cstatus) && !strcmp(r, reason) && !strcmp(m, message))
			return false;
	} else if (!strcmp(cstatus, "False")) {
		return false;
	} else {
		json_t *conds = json_object_get(status, "conditions");
		if (!json_is_array(conds)) {
			conds = json_array();
			json_object_set_new(status, "conditions", conds);
		}
		c = json_object();
		json_array_append_new(conds, c);
	}
	json_object_clear(c);
	json_object_set_new(c, "type", json_string(type));
	json_object_set_new(c, "status", json_string(cstatus));
	json_object_set_new(c, "lastProbeTime", json_string(now));
	json_object_set_new(c, "lastTransitionTime", json_string(now));
	json_object_set_new(c, "reason", json_string(reason));
	json_object_set_new(c, "message", json_string(message));
	return true;
}

static void wf__event(wf_job_plan *p, const char *type, const char *reason, const char *msg)
{
	json_array_append_new(
	    p->events, json_pack("{s:s,s:s,s:s}", "type", type, "reason", reason, "message", msg));
}

/* ---- pods ------------------------------------------------------------------------ */

typedef struct wf__pod {
	const json_t *obj;
	const char *name, *uid;
	bool succeeded, failed; /* phase */
	bool deleting, has_fin, active, terminating, ready, scheduled;
	int phase_rank; /* Pending 0, Unknown 1, Running 2 */
	int64_t index;
	int64_t created;
	int64_t finish; /* epoch seconds, best guess; -1 unknown */
	int64_t restarts;
	bool gone; /* planned for deletion by this sync */
} wf__pod;

int64_t wf_job_pod_index(const json_t *pod)
{
	json_t *md = json_object_get(pod, "metadata");
	const char *s = wf__s(json_object_get(md, "annotations"), WF_JOB_INDEX_KEY);
	if (!s)
		s = wf__s(json_object_get(md, "labels"), WF_JOB_INDEX_KEY);
	if (!s || !*s || strlen(s) > 10)
		return -1;
	int64_t v = 0;
	for (const char *c = s; *c; c++) {
		if (*c < '0' || *c > '9')
			return -1;
		v = v * 10 + (*c - '0');
	}
	if (s[0] == '0' && s[1])
		return -1; /* Kubernetes prints indexes without leading zeros */
	return v > INT_MAX ? -1 : v;
}

static bool wf__controlled_by(const json_t *pod, const char *uid)
{
	size_t i;
	json_t *ref;
	json_array_foreach(wf__at(pod, "metadata", "ownerReferences"), i, ref)
	{
		if (json_is_true(json_object_get(ref, "controller"))) {
			const char *u = wf__s(ref, "uid");
			return u && !strcmp(u, uid);
		}
	}
	return false;
}

static int64_t wf__pod_finish(const json_t *pod)
{
	int64_t best = -1;
	const json_t *st = json_object_get(pod, "status");
	static const char *const lists[] = {"containerStatuses", "initContainerStatuses"};
	for (size_t l = 0; l < 2; l++) {
		size_t i;
		json_t *cs;
		json_array_foreach(json_object_get(st, lists[l]), i, cs)
		{
			int64_t t = wf__time(
			    wf__at(json_object_get(cs, "state"), "terminated", "finishedAt"));
			if (t > best)
				best = t;
		}
	}
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(st, "conditions"), i, c)
	{
		int64_t t = wf__time(json_object_get(c, "lastTransitionTime"));
		if (t > best)
			best = t;
	}
	if (best < 0)
		best = wf__time(wf__at(pod, "metadata", "deletionTimestamp"));
	if (best < 0)
		best = wf__time(json_object_get(st, "startTime"));
	if (best < 0)
		best = wf__time(wf__at(pod, "metadata", "creationTimestamp"));
	return best;
}

static void wf__classify(wf__pod *p, const json_t *pod)
{
	const json_t *md = json_object_get(pod, "metadata");
	const json_t *st = json_object_get(pod, "status");
	memset(p, 0, sizeof *p);
	p->obj = pod;
	p->name = wf__s(md, "name");
	p->uid = wf__s(md, "uid");
	const char *phase = wf__s(st, "phase");
	p->succeeded = phase && !strcmp(phase, "Succeeded");
	p->failed = phase && !strcmp(phase, "Failed");
	p->phase_rank = !phase || !strcmp(phase, "Pending") ? 0 : !strcmp(phase, "Running") ? 2 : 1;
	p->deleting = json_object_get(md, "deletionTimestamp") != NULL &&
		      !json_is_null(json_object_get(md, "deletionTimestamp"));
	p->has_fin = wf__str_in(json_object_get(md, "finalizers"), WF_JOB_TRACKING_FINALIZER);
	p->active = !p->succeeded && !p->failed && !p->deleting;
	p->terminating = !p->succeeded && !p->failed && p->deleting;
	const char *ready = NULL;
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(st, "conditions"), i, c)
	{
		const char *t = wf__s(c, "type");
		if (t && !strcmp(t, "Ready"))
			ready = wf__s(c, "status");
	}
	p->ready = p->active && ready && !strcmp(ready, "True");
	const char *node = wf__s(json_object_get(pod, "spec"), "nodeName");
	p->scheduled = node && node[0];
	p->index = wf_job_pod_index(pod);
	p->created = wf__time(json_object_get(md, "creationTimestamp"));
	p->finish = wf__pod_finish(pod);
	static const char *const lists[] = {"containerStatuses", "initContainerStatuses"};
	for (size_t l = 0; l < 2; l++) {
		json_t *cs;
		json_array_foreach(json_object_get(st, lists[l]), i, cs)
		{
			json_t *rc = json_object_get(cs, "restartCount");
			if (json_is_integer(rc) && json_integer_value(rc) > 0 &&
			    json_integer_value(rc) < INT_MAX)
				p->restarts += json_integer_value(rc);
		}
	}
}

/* Removal order (Kubernetes' controller.ActivePods): unscheduled before
 * scheduled, Pending before Running, not ready before ready, more restarts
 * first, newer before older. */
static int wf__removal_cmp(const void *a, const void *b)
{
	const wf__pod *x = *(wf__pod *const *)a, *y = *(wf__pod *const *)b;
	if (x->scheduled != y->scheduled)
		return x->scheduled ? 1 : -1;
	if (x->phase_rank != y->phase_rank)
		return x->phase_rank < y->phase_rank ? -1 : 1;
	if (x->ready != y->ready)
		return x->ready ? 1 : -1;
	if (x->restarts != y->restarts)
		return x->restarts > y->restarts ? -1 : 1;
	if (x->created != y->created)
		return x->created > y->created ? -1 : 1;
	return strcmp(x->name ? x->name : "", y->name ? y->name : "");
}

/* ---- completed indexes --------------------------------------------------------------- */

static bool wf__bit(const uint8_t *bits, int64_t i)
{
	return bits[i / 8] & (1u << (i % 8));
}

static void wf__set_bit(uint8_t *bits, int64_t i)
{
	bits[i / 8] |= (uint8_t)(1u << (i % 8));
}

/* A decimal number of at most 9 digits; advances *s. */
static bool wf__num(const char **s, int64_t *out)
{
	const char *p = *s;
	int64_t v = 0;
	int n = 0;
	while (*p >= '0' && *p <= '9' && n < 10) {
		v = v * 10 + (*p - '0');
		p++;
		n++;
	}
	if (!n || n > 9)
		return false;
	*out = v;
	*s = p;
	return true;
}

int64_t wf_job_indexes_parse(const char *s, uint8_t *bits, int64_t n)
{
	int64_t count = 0;
	if (!s)
		return 0;
	while (*s) {
		const char *end = strchr(s, ',');
		size_t len = end ? (size_t)(end - s) : strlen(s);
		const char *p = s;
		int64_t a, b;
		bool ok = wf__num(&p, &a);
		b = a;
		if (ok && *p == '-') {
			p++;
			ok = wf__num(&p, &b) && b >= a;
		}
		ok = ok && (size_t)(p - s) == len;
		if (ok) {
			for (int64_t i = a; i <= b && i < n; i++) {
				if (!wf__bit(bits, i)) {
					wf__set_bit(bits, i);
					count++;
				}
			}
		}
		s += len;
		if (*s == ',')
			s++;
	}
	return count;
}

char *wf_job_indexes_format(const uint8_t *bits, int64_t n)
{
	wf_buf b;
	wf_buf_init(&b);
	wf_buf_puts(&b, "");
	for (int64_t i = 0; i < n; i++) {
		if (!wf__bit(bits, i))
			continue;
		int64_t j = i;
		while (j + 1 < n && wf__bit(bits, j + 1))
			j++;
		if (b.len)
			wf_buf_putc(&b, ',');
		if (j > i)
			wf_buf_printf(&b, "%lld-%lld", (long long)i, (long long)j);
		else
			wf_buf_printf(&b, "%lld", (long long)i);
		i = j;
	}
	return wf_buf_steal(&b);
}

/* ---- pod template ----------------------------------------------------------------- */

static void wf__add_index_env(json_t *containers)
{
	size_t i, j;
	json_t *c, *e;
	json_array_foreach(containers, i, c)
	{
		if (!json_is_object(c))
			continue;
		json_t *env = json_object_get(c, "env");
		if (!json_is_array(env)) {
			env = json_array();
			json_object_set_new(c, "env", env);
		}
		bool has = false;
		json_array_foreach(env, j, e)
		{
			const char *n = wf__s(e, "name");
			has = has || (n && !strcmp(n, WF_JOB_INDEX_ENV));
		}
		if (!has)
			json_array_append_new(
			    env, json_pack("{s:s,s:{s:{s:s,s:s}}}", "name", WF_JOB_INDEX_ENV,
					   "valueFrom", "fieldRef", "apiVersion", "v1", "fieldPath",
					   "metadata.labels['" WF_JOB_INDEX_KEY "']"));
	}
}

static json_t *wf__obj_copy(const json_t *v)
{
	return json_is_object(v) ? json_deep_copy(v) : json_object();
}

json_t *wf_job_pod_new(const json_t *job, int64_t index)
{
	const json_t *jmd = json_object_get(job, "metadata");
	const char *jname = wf__s(jmd, "name");
	const char *jns = wf__s(jmd, "namespace");
	const char *juid = wf__s(jmd, "uid");
	if (!jname)
		jname = "";
	const json_t *tmpl = wf__at(job, "spec", "template");
	const json_t *tmd = json_object_get(tmpl, "metadata");

	json_t *pod = json_object();
	json_object_set_new(pod, "apiVersion", json_string("v1"));
	json_object_set_new(pod, "kind", json_string("Pod"));
	json_t *md = json_object();
	json_object_set_new(pod, "metadata", md);
	json_t *labels = wf__obj_copy(json_object_get(tmd, "labels"));
	json_t *ann = wf__obj_copy(json_object_get(tmd, "annotations"));
	char gen[128];
	if (index >= 0) {
		char ix[24], suffix[32];
		snprintf(ix, sizeof ix, "%lld", (long long)index);
		snprintf(suffix, sizeof suffix, "-%s-", ix);
		int keep = 58 - (int)strlen(suffix);
		snprintf(gen, sizeof gen, "%.*s%s", keep, jname, suffix);
		json_object_set_new(ann, WF_JOB_INDEX_KEY, json_string(ix));
		json_object_set_new(labels, WF_JOB_INDEX_KEY, json_string(ix));
	} else {
		snprintf(gen, sizeof gen, "%.57s-", jname);
	}
	json_object_set_new(md, "generateName", json_string(gen));
	if (jns)
		json_object_set_new(md, "namespace", json_string(jns));
	if (json_object_size(labels))
		json_object_set_new(md, "labels", labels);
	else
		json_decref(labels);
	if (json_object_size(ann))
		json_object_set_new(md, "annotations", ann);
	else
		json_decref(ann);
	json_object_set_new(md, "finalizers", json_pack("[s]", WF_JOB_TRACKING_FINALIZER));
	json_object_set_new(md, "ownerReferences",
			    json_pack("[{s:s,s:s,s:s,s:s,s:b,s:b}]", "apiVersion", "batch/v1",
				      "kind", "Job", "name", jname, "uid", juid ? juid : "",
				      "controller", 1, "blockOwnerDeletion", 1));

	json_t *spec = wf__obj_copy(json_object_get(tmpl, "spec"));
	json_object_set_new(pod, "spec", spec);
	if (index >= 0) {
		wf__add_index_env(json_object_get(spec, "containers"));
		wf__add_index_env(json_object_get(spec, "initContainers"));
		char host[128];
		int n = snprintf(host, sizeof host, "%s-%lld", jname, (long long)index);
		if (n > 0 && n <= 63)
			json_object_set_new(spec, "hostname", json_string(host));
		const char *sub = wf__s(spec, "subdomain");
		if ((!sub || !sub[0]) && strlen(jname) <= 63)
			json_object_set_new(spec, "subdomain", json_string(jname));
	}
	return pod;
}

/* ---- the plan ---------------------------------------------------------------------- */

bool wf_job_finished(const json_t *job)
{
	const json_t *st = json_object_get(job, "status");
	return wf__cond_true(st, "Complete") || wf__cond_true(st, "Failed");
}

void wf_job_plan_free(wf_job_plan *p)
{
	if (!p)
		return;
	json_decref(p->status);
	json_decref(p->events);
	free(p->create_index);
	for (size_t i = 0; i < p->ndel; i++) {
		free(p->del[i].name);
		free(p->del[i].uid);
	}
	free(p->del);
	for (size_t i = 0; i < p->nrm; i++)
		free(p->rm_finalizer[i]);
	free(p->rm_finalizer);
	memset(p, 0, sizeof *p);
}

static void wf__plan_rm(wf_job_plan *p, const char *name)
{
	p->rm_finalizer = wf_xrealloc(p->rm_finalizer, (p->nrm + 1) * sizeof *p->rm_finalizer);
	p->rm_finalizer[p->nrm++] = wf_xstrdup(name);
}

static void wf__plan_del(wf_job_plan *p, wf__pod *pod, bool uncount)
{
	p->del = wf_xrealloc(p->del, (p->ndel + 1) * sizeof *p->del);
	p->del[p->ndel++] = (wf_job_pod_delete){.name = wf_xstrdup(pod->name),
						.uid = wf_xstrdup(pod->uid ? pod->uid : ""),
						.uncount = uncount};
	pod->gone = true;
}

static void wf__plan_requeue(wf_job_plan *p, int64_t ms)
{
	if (ms < 1)
		ms = 1;
	if (p->requeue_ms < 0 || ms < p->requeue_ms)
		p->requeue_ms = ms;
}

/* Everything one compute call works with. */
typedef struct wf__sync {
	const json_t *job;
	const json_t *spec;
	json_t *st;
	wf_job_plan *plan;
	int64_t now_ms;
	char now[32];

	bool indexed, has_comp, suspend, replace_failed_only;
	int64_t parallelism, completions;

	wf__pod *pods;
	size_t npods;
	uint8_t *done_bits; /* Indexed: completed indexes */
	int64_t succeeded;  /* counted + uncounted (NonIndexed) or completed indexes */
	int64_t active, ready, terminating;
} wf__sync;

/* Delete an active pod, keeping the counters in step. */
static void wf__remove_active(wf__sync *s, wf__pod *p, bool uncount)
{
	wf__plan_del(s->plan, p, uncount);
	s->active--;
	s->terminating++;
	if (p->ready)
		s->ready--;
}

/* Time until failed pods may be replaced (0: now), from pods failed since the
 * last success (Kubernetes' pod failure back-off). */
static int64_t wf__backoff_left(wf__sync *s)
{
	int64_t last_success = -1, last_fail = -1, nfail = 0;
	for (size_t i = 0; i < s->npods; i++)
		if (s->pods[i].succeeded && s->pods[i].finish > last_success)
			last_success = s->pods[i].finish;
	for (size_t i = 0; i < s->npods; i++) {
		wf__pod *p = &s->pods[i];
		bool failure = p->failed || (p->terminating && p->has_fin && !p->gone);
		if (!failure || p->finish < 0 || p->finish < last_success)
			continue;
		nfail++;
		if (p->finish > last_fail)
			last_fail = p->finish;
	}
	if (!nfail)
		return 0;
	int64_t delay = WF_JOB_BACKOFF_BASE_MS;
	for (int64_t i = 1; i < nfail && delay < WF_JOB_BACKOFF_MAX_MS; i++)
		delay *= 2;
	if (delay > WF_JOB_BACKOFF_MAX_MS)
		delay = WF_JOB_BACKOFF_MAX_MS;
	int64_t left = last_fail * 1000 + delay - s->now_ms;
	return left > 0 ? left : 0;
}

/* Indexed: delete active pods with an invalid, completed or duplicated index
 * (keeping the one least worth removing per index). */
static void wf__indexed_extras(wf__sync *s, wf__pod **act, size_t nact)
{
	/* act is sorted by removal preference: for each index keep the last. */
	for (size_t i = 0; i < nact; i++) {
		wf__pod *p = act[i];
		if (p->index < 0 || p->index >= s->completions || wf__bit(s->done_bits, p->index)) {
			wf__remove_active(s, p, true);
			continue;
		}
		for (size_t j = i + 1; j < nact; j++) {
			if (act[j]->index == p->index) {
				wf__remove_active(s, p, true);
				break;
			}
		}
	}
}

/* Kubernetes' manageJob: delete what is too much, create what is missing. */
static void wf__manage(wf__sync *s)
{
	wf_job_plan *plan = s->plan;
	size_t nact = 0;
	wf__pod **act = wf_xcalloc(s->npods + 1, sizeof *act);
	for (size_t i = 0; i < s->npods; i++)
		if (s->pods[i].active)
			act[nact++] = &s->pods[i];
	qsort(act, nact, sizeof *act, wf__removal_cmp);

	if (s->suspend) {
		for (size_t i = 0; i < nact && plan->ndel < WF_JOB_MAX_PODS_PER_SYNC; i++)
			wf__remove_active(s, act[i], true);
		free(act);
		return;
	}
	int64_t want;
	if (!s->has_comp) {
		want = s->succeeded > 0 ? s->active : s->parallelism;
	} else {
		want = s->completions - s->succeeded;
		if (want > s->parallelism)
			want = s->parallelism;
		if (want < 0)
			want = 0;
	}
	int64_t rm_at_least = s->active - want;
	if (s->indexed)
		wf__indexed_extras(s, act, nact);
	int64_t removed = (int64_t)plan->ndel;
	for (size_t i = 0;
	     i < nact && removed < rm_at_least && plan->ndel < WF_JOB_MAX_PODS_PER_SYNC; i++) {
		if (act[i]->gone)
			continue;
		wf__remove_active(s, act[i], true);
		removed++;
	}
	free(act);
	if (plan->ndel)
		return; /* deletions first; creations in a later sync */

	int64_t have = s->active + (s->replace_failed_only ? s->terminating : 0);
	if (have >= want)
		return;
	int64_t left = wf__backoff_left(s);
	if (left > 0) {
		wf__plan_requeue(plan, left);
		return;
	}
	int64_t diff = want - have;
	if (diff > WF_JOB_MAX_PODS_PER_SYNC)
		diff = WF_JOB_MAX_PODS_PER_SYNC;
	plan->create_index = wf_xcalloc((size_t)diff, sizeof *plan->create_index);
	if (!s->indexed) {
		for (int64_t i = 0; i < diff; i++)
			plan->create_index[plan->ncreate++] = -1;
	} else {
		/* The lowest indexes neither completed nor held by a pod. */
		uint8_t *held = wf_xcalloc((size_t)(s->completions / 8 + 1), 1);
		for (size_t i = 0; i < s->npods; i++) {
			wf__pod *p = &s->pods[i];
			bool holds =
			    (p->active && !p->gone) || (s->replace_failed_only && p->terminating);
			if (holds && p->index >= 0 && p->index < s->completions)
				wf__set_bit(held, p->index);
		}
		for (int64_t ix = 0; ix < s->completions && plan->ncreate < diff; ix++)
			if (!wf__bit(s->done_bits, ix) && !wf__bit(held, ix))
				plan->create_index[plan->ncreate++] = ix;
		free(held);
	}
	s->active += plan->ncreate;
}

/* Read status.uncountedTerminatedPods.<key> as a fresh array of strings. */
static json_t *wf__uncounted(const json_t *st, const char *key)
{
	json_t *out = json_array();
	size_t i;
	json_t *v;
	json_array_foreach(wf__at(st, "uncountedTerminatedPods", key), i, v)
	{
		if (json_is_string(v) && !wf__str_in(out, json_string_value(v)))
			json_array_append(out, v);
	}
	return out;
}

static wf__pod *wf__pod_by_uid(wf__sync *s, const char *uid)
{
	for (size_t i = 0; i < s->npods; i++)
		if (s->pods[i].uid && !strcmp(s->pods[i].uid, uid))
			return &s->pods[i];
	return NULL;
}

/* Set a count in the status, leaving it out when zero (omitempty). */
static void wf__set_count(json_t *st, const char *key, int64_t v, bool keep_zero)
{
	if (v > 0 || keep_zero)
		json_object_set_new(st, key, json_integer(v > 0 ? v : 0));
	else
		json_object_del(st, key);
}

typedef struct wf__finish {
	const char *type; /* "Complete" or "Failed"; NULL: not finishing */
	const char *reason;
	const char *message;
} wf__finish;

int wf_job_plan_compute(const json_t *job, const json_t *pods, int64_t now_ms,
			bool expectations_met, wf_job_plan *plan, wf_err *err)
{
	memset(plan, 0, sizeof *plan);
	plan->requeue_ms = -1;
	const json_t *md = json_object_get(job, "metadata");
	const json_t *spec = json_object_get(job, "spec");
	const char *juid = wf__s(md, "uid");
	if (!juid || !json_is_object(spec))
		return wf_err_set(err, WF_EINVAL, "job without metadata.uid or spec");
	wf__sync s = {.job = job, .spec = spec, .plan = plan, .now_ms = now_ms};
	s.indexed =
	    wf__s(spec, "completionMode") && !strcmp(wf__s(spec, "completionMode"), "Indexed");
	s.parallelism = wf__nonneg(spec, "parallelism", 1, NULL);
	s.completions = wf__nonneg(spec, "completions", 0, &s.has_comp);
	if (s.indexed && (!s.has_comp || s.completions > WF_JOB_MAX_INDEXED))
		return wf_err_set(err, WF_EINVAL,
				  "an Indexed job needs spec.completions of at most %d",
				  WF_JOB_MAX_INDEXED);
	int64_t backoff_limit = wf__nonneg(spec, "backoffLimit", 6, NULL);
	bool has_ads, has_ttl;
	int64_t ads = wf__nonneg(spec, "activeDeadlineSeconds", 0, &has_ads);
	int64_t ttl = wf__nonneg(spec, "ttlSecondsAfterFinished", 0, &has_ttl);
	s.suspend = json_is_true(json_object_get(spec, "suspend"));
	const char *rpp = wf__s(spec, "podReplacementPolicy");
	s.replace_failed_only = rpp && !strcmp(rpp, "Failed");
	const char *restart =
	    wf__s(wf__at(json_object_get(spec, "template"), "spec", NULL), "restartPolicy");
	bool on_failure = restart && !strcmp(restart, "OnFailure");
	bool job_deleting = json_object_get(md, "deletionTimestamp") &&
			    !json_is_null(json_object_get(md, "deletionTimestamp"));
	const json_t *old_st = json_object_get(job, "status");
	s.st = json_is_object(old_st) ? json_deep_copy(old_st) : json_object();
	plan->status = s.st;
	plan->events = json_array();
	json_t *conds = json_object_get(s.st, "conditions");
	if (conds && !json_is_array(conds))
		json_object_del(s.st, "conditions");
	for (size_t k = json_array_size(conds); k-- > 0;)
		if (!json_is_object(json_array_get(conds, k)))
			json_array_remove(conds, k);
	wf_time_rfc3339((time_t)(now_ms / 1000), s.now);

	/* Pods this Job controls. */
	size_t npods_in = json_array_size(pods);
	s.pods = wf_xcalloc(npods_in + 1, sizeof *s.pods);
	size_t i;
	json_t *pj;
	json_array_foreach(pods, i, pj)
	{
		if (!json_is_object(pj) || !wf__controlled_by(pj, juid))
			continue;
		wf__classify(&s.pods[s.npods], pj);
		if (s.pods[s.npods].name && s.pods[s.npods].uid)
			s.npods++;
	}

	/* A finished Job only waits for its TTL (and lets go of its pods). */
	if (wf_job_finished(job)) {
		for (i = 0; i < s.npods; i++)
			if (s.pods[i].has_fin)
				wf__plan_rm(plan, s.pods[i].name);
		if (has_ttl) {
			const json_t *c = wf__cond_true(old_st, "Complete")
					      ? wf__find_cond(old_st, "Complete")
					      : wf__find_cond(old_st, "Failed");
			int64_t at = wf__time(json_object_get(c, "lastTransitionTime"));
			if (at < 0)
				at = wf__time(json_object_get(old_st, "completionTime"));
			if (at < 0)
				at = now_ms / 1000;
			int64_t expire_ms = (at + ttl) * 1000;
			if (now_ms >= expire_ms)
				plan->delete_job = true;
			else
				wf__plan_requeue(plan, expire_ms - now_ms);
		}
		free(s.pods);
		return 0;
	}

	/* 1. Uncounted pods whose finalizer is gone join the counters. */
	int64_t counted_s = wf__nonneg(s.st, "succeeded", 0, NULL);
	int64_t counted_f = wf__nonneg(s.st, "failed", 0, NULL);
	json_t *unc_s = wf__uncounted(s.st, "succeeded");
	json_t *unc_f = wf__uncounted(s.st, "failed");
	for (size_t k = json_array_size(unc_s); k-- > 0;) {
		wf__pod *p = wf__pod_by_uid(&s, json_string_value(json_array_get(unc_s, k)));
		if (!p || !p->has_fin) {
			json_array_remove(unc_s, k);
			if (!s.indexed)
				counted_s++;
		}
	}
	for (size_t k = json_array_size(unc_f); k-- > 0;) {
		wf__pod *p = wf__pod_by_uid(&s, json_string_value(json_array_get(unc_f, k)));
		if (!p || !p->has_fin) {
			json_array_remove(unc_f, k);
			counted_f++;
		}
	}
	if (s.indexed) {
		s.done_bits = wf_xcalloc((size_t)(s.completions / 8 + 1), 1);
		wf_job_indexes_parse(wf__s(s.st, "completedIndexes"), s.done_bits, s.completions);
	}

	/* An earlier sync already decided how this Job ends. */
	wf__finish fin = {0};
	const json_t *interim = NULL;
	if (wf__cond_true(s.st, "FailureTarget")) {
		interim = wf__find_cond(s.st, "FailureTarget");
		fin.type = "Failed";
	} else if (wf__cond_true(s.st, "SuccessCriteriaMet")) {
		interim = wf__find_cond(s.st, "SuccessCriteriaMet");
		fin.type = "Complete";
	}
	if (interim) {
		fin.reason = wf__s(interim, "reason") ? wf__s(interim, "reason") : "";
		fin.message = wf__s(interim, "message") ? wf__s(interim, "message") : "";
	}

	/* 2. Newly finished pods: record them before their finalizer goes. */
	for (i = 0; i < s.npods; i++) {
		wf__pod *p = &s.pods[i];
		if (!p->has_fin)
			continue;
		bool failed = p->failed || (p->deleting && !p->succeeded && !s.replace_failed_only);
		if (!(job_deleting || fin.type || p->succeeded || failed))
			continue;
		wf__plan_rm(plan, p->name);
		if (p->succeeded && !wf__str_in(unc_f, p->uid)) {
			if (s.indexed) {
				if (p->index >= 0 && p->index < s.completions &&
				    !wf__bit(s.done_bits, p->index))
					wf__set_bit(s.done_bits, p->index);
			} else if (!wf__str_in(unc_s, p->uid)) {
				json_array_append_new(unc_s, json_string(p->uid));
			}
		} else if ((failed || fin.type) && !wf__str_in(unc_f, p->uid) &&
			   (!s.indexed || (p->index >= 0 && p->index < s.completions))) {
			json_array_append_new(unc_f, json_string(p->uid));
		}
	}

	int64_t restarts = 0;
	for (i = 0; i < s.npods; i++) {
		wf__pod *p = &s.pods[i];
		s.active += p->active;
		s.ready += p->ready;
		s.terminating += p->terminating;
		if (p->active)
			restarts += p->restarts;
	}
	if (s.indexed) {
		for (int64_t ix = 0; ix < s.completions; ix++)
			s.succeeded += wf__bit(s.done_bits, ix);
	} else {
		s.succeeded = counted_s + (int64_t)json_array_size(unc_s);
	}
	int64_t failed_total = counted_f + (int64_t)json_array_size(unc_f);

	int64_t start = wf__time(json_object_get(s.st, "startTime"));
	if (start < 0 && !s.suspend) {
		json_object_set_new(s.st, "startTime", json_string(s.now));
		start = now_ms / 1000;
	}

	/* 3. Failure: backoff limit, deadline. */
	if (!fin.type) {
		bool past_backoff =
		    failed_total > backoff_limit ||
		    (on_failure && (backoff_limit == 0 ? restarts > 0 : restarts >= backoff_limit));
		if (past_backoff) {
			fin = (wf__finish){"Failed", "BackoffLimitExceeded",
					   "Job has reached the specified backoff limit"};
		} else if (has_ads && !s.suspend && start >= 0) {
			int64_t deadline_ms = (start + ads) * 1000;
			if (now_ms >= deadline_ms)
				fin = (wf__finish){"Failed", "DeadlineExceeded",
						   "Job was active longer than specified deadline"};
			else
				wf__plan_requeue(plan, deadline_ms - now_ms);
		}
		if (fin.type) {
			wf__ensure_cond(s.st, "FailureTarget", "True", fin.reason, fin.message,
					s.now);
			wf__event(plan, "Warning", fin.reason, fin.message);
		}
	}
	if (fin.type && !strcmp(fin.type, "Failed")) {
		/* Active pods go; they count as failed once they are terminating. */
		for (i = 0; i < s.npods && plan->ndel < WF_JOB_MAX_PODS_PER_SYNC; i++)
			if (s.pods[i].active)
				wf__remove_active(&s, &s.pods[i], false);
	} else if (!fin.type) {
		/* 4. Scale, then see whether that was enough. */
		bool managed = false;
		if (expectations_met && !job_deleting) {
			wf__manage(&s);
			managed = true;
		}
		bool complete =
		    s.active == 0 && (s.has_comp ? s.succeeded >= s.completions : s.succeeded > 0);
		if (complete) {
			fin = (wf__finish){"Complete", "CompletionsReached",
					   "Reached expected number of succeeded pods"};
			wf__ensure_cond(s.st, "SuccessCriteriaMet", "True", fin.reason, fin.message,
					s.now);
		} else if (managed && s.suspend) {
			if (wf__ensure_cond(s.st, "Suspended", "True", "JobSuspended",
					    "Job suspended", s.now))
				wf__event(plan, "Normal", "Suspended", "Job suspended");
		} else if (managed) {
			if (wf__ensure_cond(s.st, "Suspended", "False", "JobResumed", "Job resumed",
					    s.now)) {
				wf__event(plan, "Normal", "Resumed", "Job resumed");
				json_object_set_new(s.st, "startTime", json_string(s.now));
			}
		}
	}

	/* 5. The terminal condition, once every pod is counted and gone. */
	if (fin.type && !json_array_size(unc_s) && !json_array_size(unc_f) && s.terminating == 0) {
		wf__ensure_cond(s.st, fin.type, "True", fin.reason, fin.message, s.now);
		if (!strcmp(fin.type, "Complete")) {
			json_object_set_new(s.st, "completionTime", json_string(s.now));
			wf__event(plan, "Normal", "Completed", "Job completed");
		}
		if (has_ttl)
			wf__plan_requeue(plan, ttl * 1000 > 0 ? ttl * 1000 : 1);
	}

	/* 6. Counters. */
	wf__set_count(s.st, "active", s.active, false);
	wf__set_count(s.st, "ready", s.ready, true);
	wf__set_count(s.st, "terminating", s.terminating, true);
	wf__set_count(s.st, "succeeded", s.indexed ? s.succeeded : counted_s, false);
	wf__set_count(s.st, "failed", counted_f, false);
	if (s.indexed) {
		char *ci = wf_job_indexes_format(s.done_bits, s.completions);
		if (ci[0])
			json_object_set_new(s.st, "completedIndexes", json_string(ci));
		else
			json_object_del(s.st, "completedIndexes");
		free(ci);
	}
	json_t *unc = json_object();
	if (json_array_size(unc_s))
		json_object_set(unc, "succeeded", unc_s);
	if (json_array_size(unc_f))
		json_object_set(unc, "failed", unc_f);
	json_object_set_new(s.st, "uncountedTerminatedPods", unc);
	json_decref(unc_s);
	json_decref(unc_f);
	json_t *empty = json_object();
	plan->status_changed = !json_equal(json_is_object(old_st) ? old_st : empty, s.st);
	json_decref(empty);
	free(s.done_bits);
	free(s.pods);
	return 0;
}
