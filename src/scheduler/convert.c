/*
 * convert.c - Kubernetes JSON (Node, Pod, PodGroup) to the scheduler's input
 * specs. Pure: jansson in, plain structs out, no library state touched.
 *
 * Every field is type-checked; an error names the field by its path
 * ("spec.containers[1].resources.requests.cpu: ...") and leaves *out empty.
 * All strings and arrays of a spec are copied into one arena that the spec
 * owns (storage_), so the JSON may be freed right after conversion. The
 * arena starts small (a pod's spec takes a few hundred bytes) and grows by
 * doubling, so a spec held for a while (the scheduler driver converts as
 * events arrive) costs about what it holds.
 */
#include <stdalign.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/wf_mem.h"
#include "lib/wf_quantity.h"
#include "lib/wf_time.h"
#include "scheduler/convert.h"
#include "scheduler/sched_internal.h"

#define CV_AMOUNT_MAX (INT64_C(1) << 52)
#define CV_PATH 192
#define CV_BLOCK_MIN 512

/* ---- the spec's storage ------------------------------------------------------ */

typedef struct cv_blk {
	struct cv_blk *next;
	size_t cap, used;
	alignas(16) unsigned char data[];
} cv_blk;

typedef struct cv_arena {
	cv_blk *head;
} cv_arena;

static void *cv_alloc(cv_arena *a, size_t n)
{
	n = (n + 15) & ~(size_t)15;
	cv_blk *b = a->head;
	if (!b || b->cap - b->used < n) {
		size_t cap = b ? b->cap * 2 : CV_BLOCK_MIN;
		if (cap < n)
			cap = n;
		cv_blk *nb = wf_xmalloc(sizeof(*nb) + cap);
		nb->cap = cap;
		nb->used = 0;
		nb->next = b;
		a->head = b = nb;
	}
	void *p = b->data + b->used;
	b->used += n;
	return p;
}

static void *cv_zalloc(cv_arena *a, size_t n)
{
	void *p = cv_alloc(a, n);
	memset(p, 0, n);
	return p;
}

static char *cv_strdup(cv_arena *a, const char *s)
{
	size_t n = strlen(s);
	char *p = cv_alloc(a, n + 1);
	memcpy(p, s, n + 1);
	return p;
}

static void cv_arena_free(cv_arena *a)
{
	for (cv_blk *b = a->head, *next; b; b = next) {
		next = b->next;
		free(b);
	}
	free(a);
}

typedef struct cv {
	cv_arena *a;
	wf_err *err;
} cv;

static int cv_fail(cv *c, int code, const char *path, const char *what)
{
	return wf_err_set(c->err, code, "%s: %s", path, what);
}

static void sub(char *dst, const char *path, const char *key)
{
	snprintf(dst, CV_PATH, "%s%s%s", path, *path ? "." : "", key);
}

static void idx(char *dst, const char *path, size_t i)
{
	snprintf(dst, CV_PATH, "%s[%zu]", path, i);
}

/* ---- typed getters: absent or null is "not set" ----------------------------- */

static int get_obj(cv *c, const json_t *j, const char *key, const char *path, json_t **out)
{
	json_t *v = json_object_get(j, key);
	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_object(v)) {
		char p[CV_PATH];
		sub(p, path, key);
		return cv_fail(c, WF_EINVAL, p, "expected an object");
	}
	if (json_object_size(v) > WF_SCHED_JSON_MAX_ITEMS) {
		char p[CV_PATH];
		sub(p, path, key);
		return cv_fail(c, WF_ETOOBIG, p, "too many entries");
	}
	*out = v;
	return 0;
}

static int get_arr(cv *c, const json_t *j, const char *key, const char *path, json_t **out)
{
	json_t *v = json_object_get(j, key);
	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_array(v)) {
		char p[CV_PATH];
		sub(p, path, key);
		return cv_fail(c, WF_EINVAL, p, "expected an array");
	}
	if (json_array_size(v) > WF_SCHED_JSON_MAX_ITEMS) {
		char p[CV_PATH];
		sub(p, path, key);
		return cv_fail(c, WF_ETOOBIG, p, "too many items");
	}
	*out = v;
	return 0;
}

static int get_str(cv *c, const json_t *j, const char *key, const char *path, const char **out)
{
	json_t *v = json_object_get(j, key);
	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v)) {
		char p[CV_PATH];
		sub(p, path, key);
		return cv_fail(c, WF_EINVAL, p, "expected a string");
	}
	if (strlen(json_string_value(v)) != json_string_length(v)) {
		char p[CV_PATH];
		sub(p, path, key);
		return cv_fail(c, WF_EINVAL, p, "string contains a NUL byte");
	}
	*out = cv_strdup(c->a, json_string_value(v));
	return 0;
}

static int get_bool(cv *c, const json_t *j, const char *key, const char *path, bool *out)
{
	json_t *v = json_object_get(j, key);
	*out = false;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_boolean(v)) {
		char p[CV_PATH];
		sub(p, path, key);
		return cv_fail(c, WF_EINVAL, p, "expected a boolean");
	}
	*out = json_is_true(v);
	return 0;
}

static int get_int(cv *c, const json_t *j, const char *key, const char *path, int64_t lo,
		   int64_t hi, bool *set, int64_t *out)
{
	json_t *v = json_object_get(j, key);
	*set = false;
	if (!v || json_is_null(v))
		return 0;
	char p[CV_PATH];
	sub(p, path, key);
	if (!json_is_integer(v))
		return cv_fail(c, WF_EINVAL, p, "expected an integer");
	json_int_t x = json_integer_value(v);
	if (x < lo || x > hi) {
		return wf_err_set(c->err, WF_EINVAL, "%s: %lld out of range [%lld, %lld]", p,
				  (long long)x, (long long)lo, (long long)hi);
	}
	*set = true;
	*out = (int64_t)x;
	return 0;
}

/* ---- labels ------------------------------------------------------------------ */

static int str_map(cv *c, const json_t *obj, const char *path, wf_sched_label **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	if (!obj)
		return 0;
	size_t cnt = json_object_size(obj);
	wf_sched_label *l = cv_alloc(c->a, (cnt ? cnt : 1) * sizeof(*l));
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)obj, k, v)
	{
		char p[CV_PATH];
		sub(p, path, k);
		if (!json_is_string(v))
			return cv_fail(c, WF_EINVAL, p, "expected a string");
		if (!*k)
			return cv_fail(c, WF_EINVAL, path, "empty key");
		l[*n].key = cv_strdup(c->a, k);
		l[*n].value = cv_strdup(c->a, json_string_value(v));
		(*n)++;
	}
	*out = l;
	return 0;
}

/* ---- quantities -------------------------------------------------------------- */

typedef struct rlist {
	wf_sched_resource *v;
	size_t n, cap;
} rlist;

static int64_t *rl_slot(cv *c, rlist *rl, const char *name)
{
	for (size_t i = 0; i < rl->n; i++)
		if (strcmp(rl->v[i].name, name) == 0)
			return &rl->v[i].amount;
	if (rl->n == rl->cap) {
		size_t ncap = rl->cap ? rl->cap * 2 : 8;
		wf_sched_resource *nv = cv_alloc(c->a, ncap * sizeof(*nv));
		if (rl->n)
			memcpy(nv, rl->v, rl->n * sizeof(*nv));
		rl->v = nv;
		rl->cap = ncap;
	}
	rl->v[rl->n].name = cv_strdup(c->a, name);
	rl->v[rl->n].amount = 0;
	return &rl->v[rl->n++].amount;
}

static int quantity(cv *c, const char *name, const json_t *v, const char *path, int64_t *out)
{
	char buf[64];
	const char *s;
	if (json_is_string(v)) {
		s = json_string_value(v);
		if (strlen(s) != json_string_length(v))
			return cv_fail(c, WF_EINVAL, path, "string contains a NUL byte");
	} else if (json_is_integer(v)) {
		snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(v));
		s = buf;
	} else {
		return cv_fail(c, WF_EINVAL, path, "expected a quantity string");
	}
	wf_err qe = {0};
	int rc = strcmp(name, "cpu") == 0 ? wf_quantity_parse(s, out, &qe)
					  : wf_quantity_parse_value(s, out, &qe);
	if (rc < 0)
		return wf_err_set(c->err, WF_EINVAL, "%s: %s", path, qe.msg);
	if (*out < 0)
		return cv_fail(c, WF_EINVAL, path, "must be greater than or equal to 0");
	if (*out > CV_AMOUNT_MAX)
		return cv_fail(c, WF_EINVAL, path, "quantity too large");
	return 0;
}

static bool valid_res_name(const char *k)
{
	size_t n = strlen(k);
	return n > 0 && n <= 253;
}

/* A ResourceList object into rl (replacing or, with add, adding). */
static int rlist_parse(cv *c, const json_t *obj, const char *path, rlist *rl, bool add)
{
	if (!obj)
		return 0;
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)obj, k, v)
	{
		char p[CV_PATH];
		sub(p, path, k);
		if (!valid_res_name(k))
			return cv_fail(c, WF_EINVAL, p, "invalid resource name");
		int64_t amt;
		int rc = quantity(c, k, v, p, &amt);
		if (rc < 0)
			return rc;
		int64_t *slot = rl_slot(c, rl, k);
		if (add) {
			if (__builtin_add_overflow(*slot, amt, slot) || *slot > CV_AMOUNT_MAX)
				return cv_fail(c, WF_EINVAL, p, "sum of requests too large");
		} else {
			*slot = amt;
		}
	}
	return 0;
}

/* ---- Node ---------------------------------------------------------------------- */

static int parse_effect(cv *c, const char *s, const char *path, bool allow_empty,
			wf_sched_effect *out)
{
	if (!s || !*s) {
		if (!allow_empty)
			return cv_fail(c, WF_EINVAL, path, "Required value");
		*out = WF_SCHED_EFFECT_ALL;
	} else if (strcmp(s, "NoSchedule") == 0) {
		*out = WF_SCHED_NO_SCHEDULE;
	} else if (strcmp(s, "PreferNoSchedule") == 0) {
		*out = WF_SCHED_PREFER_NO_SCHEDULE;
	} else if (strcmp(s, "NoExecute") == 0) {
		*out = WF_SCHED_NO_EXECUTE;
	} else {
		return wf_err_set(c->err, WF_EINVAL,
				  "%s: Unsupported value: \"%.64s\": supported values: "
				  "\"NoSchedule\", \"PreferNoSchedule\", \"NoExecute\"",
				  path, s);
	}
	return 0;
}

static cv cv_begin(wf_err *err)
{
	cv c = {wf_xcalloc(1, sizeof(cv_arena)), err};
	return c;
}

static void cv_abort(cv *c)
{
	cv_arena_free(c->a);
}

static int meta(cv *c, const json_t *obj, bool need_ns, const char **ns, const char **name,
		json_t **metadata)
{
	if (!json_is_object(obj))
		return cv_fail(c, WF_EINVAL, "object", "expected a JSON object");
	int rc = get_obj(c, obj, "metadata", "", metadata);
	if (rc < 0)
		return rc;
	if (!*metadata)
		return cv_fail(c, WF_EINVAL, "metadata", "Required value");
	if ((rc = get_str(c, *metadata, "name", "metadata", name)) < 0)
		return rc;
	if (!*name || !**name)
		return cv_fail(c, WF_EINVAL, "metadata.name", "Required value");
	if (strchr(*name, '/'))
		return cv_fail(c, WF_EINVAL, "metadata.name", "may not contain '/'");
	if (!need_ns)
		return 0;
	if ((rc = get_str(c, *metadata, "namespace", "metadata", ns)) < 0)
		return rc;
	if (!*ns || !**ns)
		*ns = "default";
	if (strchr(*ns, '/'))
		return cv_fail(c, WF_EINVAL, "metadata.namespace", "may not contain '/'");
	return 0;
}

int wf_sched_node_from_json(const json_t *node, wf_sched_node_spec *out, wf_err *err)
{
	memset(out, 0, sizeof(*out));
	cv c = cv_begin(err);
	json_t *md, *spec, *status, *labels, *taints, *alloc, *conds;
	const char *name;
	int rc = meta(&c, node, false, NULL, &name, &md);
	if (rc < 0)
		goto fail;
	out->name = name;
	if ((rc = get_obj(&c, md, "labels", "metadata", &labels)) < 0 ||
	    (rc = str_map(&c, labels, "metadata.labels", (wf_sched_label **)&out->labels,
			  &out->nlabels)) < 0)
		goto fail;
	if ((rc = get_obj(&c, node, "spec", "", &spec)) < 0 ||
	    (rc = get_obj(&c, node, "status", "", &status)) < 0)
		goto fail;
	if (spec) {
		if ((rc = get_bool(&c, spec, "unschedulable", "spec", &out->unschedulable)) < 0 ||
		    (rc = get_arr(&c, spec, "taints", "spec", &taints)) < 0)
			goto fail;
		size_t nt = taints ? json_array_size(taints) : 0;
		wf_sched_taint *t = cv_zalloc(c.a, (nt ? nt : 1) * sizeof(*t));
		for (size_t i = 0; i < nt; i++) {
			char p[CV_PATH], pe[CV_PATH];
			idx(p, "spec.taints", i);
			json_t *tj = json_array_get(taints, i);
			if (!json_is_object(tj)) {
				rc = cv_fail(&c, WF_EINVAL, p, "expected an object");
				goto fail;
			}
			const char *eff;
			if ((rc = get_str(&c, tj, "key", p, &t[i].key)) < 0 ||
			    (rc = get_str(&c, tj, "value", p, &t[i].value)) < 0 ||
			    (rc = get_str(&c, tj, "effect", p, &eff)) < 0)
				goto fail;
			if (!t[i].key || !*t[i].key) {
				sub(pe, p, "key");
				rc = cv_fail(&c, WF_EINVAL, pe, "Required value");
				goto fail;
			}
			sub(pe, p, "effect");
			if ((rc = parse_effect(&c, eff, pe, false, &t[i].effect)) < 0)
				goto fail;
		}
		out->taints = t;
		out->ntaints = nt;
	}
	out->ready = WF_SCHED_READY_UNKNOWN;
	if (status) {
		const char *where = "status.allocatable";
		if ((rc = get_obj(&c, status, "allocatable", "status", &alloc)) < 0)
			goto fail;
		if (!alloc) {
			where = "status.capacity";
			if ((rc = get_obj(&c, status, "capacity", "status", &alloc)) < 0)
				goto fail;
		}
		rlist rl = {0};
		if ((rc = rlist_parse(&c, alloc, where, &rl, false)) < 0)
			goto fail;
		out->allocatable = rl.v;
		out->nallocatable = rl.n;
		if ((rc = get_arr(&c, status, "conditions", "status", &conds)) < 0)
			goto fail;
		for (size_t i = 0; conds && i < json_array_size(conds); i++) {
			json_t *cj = json_array_get(conds, i);
			char p[CV_PATH];
			idx(p, "status.conditions", i);
			if (!json_is_object(cj)) {
				rc = cv_fail(&c, WF_EINVAL, p, "expected an object");
				goto fail;
			}
			const char *type, *st;
			if ((rc = get_str(&c, cj, "type", p, &type)) < 0 ||
			    (rc = get_str(&c, cj, "status", p, &st)) < 0)
				goto fail;
			if (type && strcmp(type, "Ready") == 0)
				out->ready = st && strcmp(st, "True") == 0 ? WF_SCHED_READY_TRUE
					     : st && strcmp(st, "False") == 0
						 ? WF_SCHED_READY_FALSE
						 : WF_SCHED_READY_UNKNOWN;
		}
	}
	out->storage_ = c.a;
	return 0;
fail:
	cv_abort(&c);
	memset(out, 0, sizeof(*out));
	return rc;
}

/* The arena a converter left in a spec's storage_. */
static void storage_free(void *storage)
{
	if (storage)
		cv_arena_free(storage);
}

void wf_sched_node_spec_release(wf_sched_node_spec *spec)
{
	if (!spec)
		return;
	storage_free(spec->storage_);
	memset(spec, 0, sizeof(*spec));
}

/* ---- Pod --------------------------------------------------------------------------- */

/* A container's effective requests: requests, with limits where absent. */
static int container_requests(cv *c, const json_t *ct, const char *path, rlist *out)
{
	json_t *res, *req, *lim;
	char p[CV_PATH], pr[CV_PATH];
	if (!json_is_object(ct))
		return cv_fail(c, WF_EINVAL, path, "expected an object");
	int rc = get_obj(c, ct, "resources", path, &res);
	if (rc < 0 || !res)
		return rc;
	sub(p, path, "resources");
	if ((rc = get_obj(c, res, "requests", p, &req)) < 0 ||
	    (rc = get_obj(c, res, "limits", p, &lim)) < 0)
		return rc;
	sub(pr, p, "requests");
	if ((rc = rlist_parse(c, req, pr, out, false)) < 0)
		return rc;
	if (lim) {
		rlist l = {0};
		sub(pr, p, "limits");
		if ((rc = rlist_parse(c, lim, pr, &l, false)) < 0)
			return rc;
		for (size_t i = 0; i < l.n; i++)
			if (!req || !json_object_get(req, l.v[i].name))
				*rl_slot(c, out, l.v[i].name) = l.v[i].amount;
	}
	return 0;
}

static int rl_add(cv *c, rlist *dst, const rlist *src, const char *path)
{
	for (size_t i = 0; i < src->n; i++) {
		int64_t *slot = rl_slot(c, dst, src->v[i].name);
		if (__builtin_add_overflow(*slot, src->v[i].amount, slot) || *slot > CV_AMOUNT_MAX)
			return wf_err_set(c->err, WF_EINVAL, "%s: sum of %s requests too large",
					  path, src->v[i].name);
	}
	return 0;
}

static void rl_max(cv *c, rlist *dst, const rlist *src)
{
	for (size_t i = 0; i < src->n; i++) {
		int64_t *slot = rl_slot(c, dst, src->v[i].name);
		if (src->v[i].amount > *slot)
			*slot = src->v[i].amount;
	}
}

static int pod_requests(cv *c, const json_t *spec, rlist *out)
{
	json_t *cts, *inits, *ovh;
	int rc;
	if ((rc = get_arr(c, spec, "containers", "spec", &cts)) < 0 ||
	    (rc = get_arr(c, spec, "initContainers", "spec", &inits)) < 0 ||
	    (rc = get_obj(c, spec, "overhead", "spec", &ovh)) < 0)
		return rc;
	for (size_t i = 0; cts && i < json_array_size(cts); i++) {
		char p[CV_PATH];
		idx(p, "spec.containers", i);
		rlist one = {0};
		if ((rc = container_requests(c, json_array_get(cts, i), p, &one)) < 0 ||
		    (rc = rl_add(c, out, &one, "spec.containers")) < 0)
			return rc;
	}
	/* Sidecars (restartPolicy Always) run alongside: they add to the sum
	 * and to every later init container's peak. */
	rlist sidecars = {0}, init_peak = {0};
	for (size_t i = 0; inits && i < json_array_size(inits); i++) {
		char p[CV_PATH];
		idx(p, "spec.initContainers", i);
		json_t *ic = json_array_get(inits, i);
		rlist one = {0};
		if ((rc = container_requests(c, ic, p, &one)) < 0)
			return rc;
		const char *policy;
		if ((rc = get_str(c, ic, "restartPolicy", p, &policy)) < 0)
			return rc;
		if (policy && strcmp(policy, "Always") == 0) {
			if ((rc = rl_add(c, out, &one, "spec.initContainers")) < 0 ||
			    (rc = rl_add(c, &sidecars, &one, "spec.initContainers")) < 0)
				return rc;
			rl_max(c, &init_peak, &sidecars);
		} else {
			rlist peak = {0};
			if ((rc = rl_add(c, &peak, &one, "spec.initContainers")) < 0 ||
			    (rc = rl_add(c, &peak, &sidecars, "spec.initContainers")) < 0)
				return rc;
			rl_max(c, &init_peak, &peak);
		}
	}
	rl_max(c, out, &init_peak);
	if (ovh) {
		rlist o = {0};
		if ((rc = rlist_parse(c, ovh, "spec.overhead", &o, false)) < 0 ||
		    (rc = rl_add(c, out, &o, "spec.overhead")) < 0)
			return rc;
	}
	return 0;
}

static int parse_op(cv *c, const char *s, const char *path, bool field, wf_sched_op *op)
{
	static const char *const names[] = {"In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt"};
	for (int i = 0; s && i < 6; i++) {
		if (strcmp(s, names[i]) == 0) {
			if (field && i > WF_SCHED_OP_NOT_IN)
				break;
			*op = (wf_sched_op)i;
			return 0;
		}
	}
	if (!s)
		return cv_fail(c, WF_EINVAL, path, "Required value");
	return wf_err_set(c->err, WF_EINVAL,
			  "%s: Invalid value: \"%.64s\": not a valid %s operator", path, s,
			  field ? "field selector" : "selector");
}

static int parse_reqs(cv *c, const json_t *term, const char *key, const char *path, bool field,
		      wf_sched_requirement *dst, size_t *n)
{
	json_t *arr;
	int rc = get_arr(c, term, key, path, &arr);
	if (rc < 0 || !arr)
		return rc;
	char base[CV_PATH];
	sub(base, path, key);
	for (size_t i = 0; i < json_array_size(arr); i++) {
		char p[CV_PATH], pk[CV_PATH];
		idx(p, base, i);
		json_t *e = json_array_get(arr, i);
		if (!json_is_object(e))
			return cv_fail(c, WF_EINVAL, p, "expected an object");
		wf_sched_requirement *r = &dst[(*n)++];
		memset(r, 0, sizeof(*r));
		r->field = field;
		const char *ops;
		json_t *vals;
		if ((rc = get_str(c, e, "key", p, &r->key)) < 0 ||
		    (rc = get_str(c, e, "operator", p, &ops)) < 0 ||
		    (rc = get_arr(c, e, "values", p, &vals)) < 0)
			return rc;
		sub(pk, p, "key");
		if (!r->key || !*r->key)
			return cv_fail(c, WF_EINVAL, pk, "Required value");
		if (field && strcmp(r->key, "metadata.name") != 0)
			return wf_err_set(
			    c->err, WF_EINVAL,
			    "%s: Invalid value: \"%.64s\": not a valid field selector "
			    "key",
			    pk, r->key);
		sub(pk, p, "operator");
		if ((rc = parse_op(c, ops, pk, field, &r->op)) < 0)
			return rc;
		size_t nv = vals ? json_array_size(vals) : 0;
		const char **v = cv_alloc(c->a, (nv ? nv : 1) * sizeof(char *));
		sub(pk, p, "values");
		for (size_t j = 0; j < nv; j++) {
			json_t *x = json_array_get(vals, j);
			if (!json_is_string(x)) {
				char pv[CV_PATH];
				idx(pv, pk, j);
				return cv_fail(c, WF_EINVAL, pv, "expected a string");
			}
			v[j] = cv_strdup(c->a, json_string_value(x));
		}
		r->values = v;
		r->nvalues = nv;
		switch (r->op) {
		case WF_SCHED_OP_IN:
		case WF_SCHED_OP_NOT_IN:
			if (!nv)
				return cv_fail(c, WF_EINVAL, pk,
					       "Required value: must be specified when `operator` "
					       "is 'In' or 'NotIn'");
			if (field && nv != 1)
				return cv_fail(c, WF_EINVAL, pk,
					       "must have one element when `operator` is 'In' or "
					       "'NotIn' for a field selector");
			break;
		case WF_SCHED_OP_EXISTS:
		case WF_SCHED_OP_DOES_NOT_EXIST:
			if (nv)
				return cv_fail(c, WF_EINVAL, pk,
					       "Forbidden: may not be specified when `operator` is "
					       "'Exists' or 'DoesNotExist'");
			break;
		default: {
			int64_t num;
			if (nv != 1)
				return cv_fail(
				    c, WF_EINVAL, pk,
				    "Required value: must be specified single value when "
				    "`operator` is 'Lt' or 'Gt'");
			if (!wf__sc_parse_i64(v[0], &num))
				return wf_err_set(
				    c->err, WF_EINVAL,
				    "%s[0]: Invalid value: \"%.64s\": must be an integer", pk,
				    v[0]);
		}
		}
	}
	return 0;
}

static int parse_term(cv *c, const json_t *t, const char *path, wf_sched_term *out)
{
	memset(out, 0, sizeof(*out));
	if (!json_is_object(t))
		return cv_fail(c, WF_EINVAL, path, "expected an object");
	json_t *me = json_object_get(t, "matchExpressions");
	json_t *mf = json_object_get(t, "matchFields");
	size_t cap = (json_is_array(me) ? json_array_size(me) : 0) +
		     (json_is_array(mf) ? json_array_size(mf) : 0);
	if (cap > WF_SCHED_JSON_MAX_ITEMS)
		return cv_fail(c, WF_ETOOBIG, path, "too many requirements");
	wf_sched_requirement *r = cv_alloc(c->a, (cap ? cap : 1) * sizeof(*r));
	size_t n = 0;
	int rc;
	if ((rc = parse_reqs(c, t, "matchExpressions", path, false, r, &n)) < 0 ||
	    (rc = parse_reqs(c, t, "matchFields", path, true, r, &n)) < 0)
		return rc;
	out->reqs = r;
	out->nreqs = n;
	return 0;
}

/* One entry of a preferredDuringScheduling list at path: {weight: 1..100,
 * <key>: an object}; its weight, and the object with its path in tpath. */
static int weighted_entry(cv *c, const json_t *e, const char *path, const char *key,
			  int32_t *weight, const json_t **term, char *tpath)
{
	if (!json_is_object(e))
		return cv_fail(c, WF_EINVAL, path, "expected an object");
	bool set;
	int64_t w;
	int rc = get_int(c, e, "weight", path, 1, 100, &set, &w);
	if (rc < 0)
		return rc;
	if (!set) {
		sub(tpath, path, "weight");
		return cv_fail(c, WF_EINVAL, tpath, "Required value");
	}
	*weight = (int32_t)w;
	*term = json_object_get(e, key);
	sub(tpath, path, key);
	if (!*term)
		return cv_fail(c, WF_EINVAL, tpath, "Required value");
	return 0;
}

static int pod_affinity(cv *c, const json_t *spec, wf_sched_pod_spec *out)
{
	json_t *aff, *na, *req, *terms, *pref;
	const char *base = "spec.affinity.nodeAffinity";
	int rc;
	if ((rc = get_obj(c, spec, "affinity", "spec", &aff)) < 0 || !aff)
		return rc;
	if ((rc = get_obj(c, aff, "nodeAffinity", "spec.affinity", &na)) < 0 || !na)
		return rc;
	if ((rc = get_obj(c, na, "requiredDuringSchedulingIgnoredDuringExecution", base, &req)) < 0)
		return rc;
	if (req) {
		char p[CV_PATH];
		sub(p, base, "requiredDuringSchedulingIgnoredDuringExecution");
		if ((rc = get_arr(c, req, "nodeSelectorTerms", p, &terms)) < 0)
			return rc;
		char pt[CV_PATH];
		sub(pt, p, "nodeSelectorTerms");
		size_t nt = terms ? json_array_size(terms) : 0;
		if (!nt)
			return cv_fail(c, WF_EINVAL, pt,
				       "Required value: must have at least one node selector term");
		wf_sched_term *t = cv_alloc(c->a, nt * sizeof(*t));
		for (size_t i = 0; i < nt; i++) {
			char pi[CV_PATH];
			idx(pi, pt, i);
			if ((rc = parse_term(c, json_array_get(terms, i), pi, &t[i])) < 0)
				return rc;
		}
		out->has_required = true;
		out->required = t;
		out->nrequired = nt;
	}
	if ((rc = get_arr(c, na, "preferredDuringSchedulingIgnoredDuringExecution", base, &pref)) <
	    0)
		return rc;
	size_t np = pref ? json_array_size(pref) : 0;
	wf_sched_preferred *pf = cv_zalloc(c->a, (np ? np : 1) * sizeof(*pf));
	for (size_t i = 0; i < np; i++) {
		char p[CV_PATH], pp[CV_PATH];
		sub(p, base, "preferredDuringSchedulingIgnoredDuringExecution");
		idx(pp, p, i);
		const json_t *t;
		char pt[CV_PATH];
		if ((rc = weighted_entry(c, json_array_get(pref, i), pp, "preference",
					 &pf[i].weight, &t, pt)) < 0 ||
		    (rc = parse_term(c, t, pt, &pf[i].term)) < 0)
			return rc;
	}
	out->preferred = pf;
	out->npreferred = np;
	return 0;
}

/* ---- pod affinity and anti-affinity ------------------------------------------------- */

static const char *label_value(const wf_sched_pod_spec *pod, const char *key)
{
	for (size_t i = 0; i < pod->nlabels; i++)
		if (!strcmp(pod->labels[i].key, key))
			return pod->labels[i].value;
	return NULL;
}

/* matchLabelKeys (In) or mismatchLabelKeys (NotIn): the pod's own value of
 * each key joins the selector; a key the pod lacks adds nothing. */
static int label_keys(cv *c, const json_t *t, const char *key, const char *path,
		      const wf_sched_pod_spec *pod, wf_sched_op op, wf_sched_requirement *dst,
		      size_t *n)
{
	json_t *arr;
	int rc = get_arr(c, t, key, path, &arr);
	if (rc < 0 || !arr)
		return rc;
	char base[CV_PATH];
	sub(base, path, key);
	for (size_t i = 0; i < json_array_size(arr); i++) {
		json_t *k = json_array_get(arr, i);
		char p[CV_PATH];
		idx(p, base, i);
		if (!json_is_string(k) || !*json_string_value(k))
			return cv_fail(c, WF_EINVAL, p, "expected a label key");
		const char *v = label_value(pod, json_string_value(k));
		if (!v)
			continue;
		const char **vals = cv_alloc(c->a, sizeof(char *));
		vals[0] = v;
		dst[(*n)++] = (wf_sched_requirement){.key = cv_strdup(c->a, json_string_value(k)),
						     .op = op,
						     .values = vals,
						     .nvalues = 1};
	}
	return 0;
}

/* A PodAffinityTerm of pod `pod` (its labels already read). */
static int parse_pod_term(cv *c, const json_t *t, const char *path, int32_t weight,
			  const wf_sched_pod_spec *pod, wf_sched_pod_term *out)
{
	memset(out, 0, sizeof(*out));
	out->weight = weight;
	if (!json_is_object(t))
		return cv_fail(c, WF_EINVAL, path, "expected an object");
	char p[CV_PATH];
	json_t *sel, *ml = NULL, *me = NULL, *nss, *nsel, *mk, *mmk;
	int rc;
	if ((rc = get_str(c, t, "topologyKey", path, &out->topology_key)) < 0 ||
	    (rc = get_obj(c, t, "labelSelector", path, &sel)) < 0 ||
	    (rc = get_arr(c, t, "namespaces", path, &nss)) < 0 ||
	    (rc = get_obj(c, t, "namespaceSelector", path, &nsel)) < 0 ||
	    (rc = get_arr(c, t, "matchLabelKeys", path, &mk)) < 0 ||
	    (rc = get_arr(c, t, "mismatchLabelKeys", path, &mmk)) < 0)
		return rc;
	if (!out->topology_key || !*out->topology_key) {
		sub(p, path, "topologyKey");
		return cv_fail(c, WF_EINVAL, p, "Required value: can not be empty");
	}
	sub(p, path, "labelSelector");
	if (sel && ((rc = get_obj(c, sel, "matchLabels", p, &ml)) < 0 ||
		    (rc = get_arr(c, sel, "matchExpressions", p, &me)) < 0))
		return rc;
	size_t cap =
	    json_object_size(ml) + json_array_size(me) + json_array_size(mk) + json_array_size(mmk);
	if (cap > WF_SCHED_JSON_MAX_ITEMS)
		return cv_fail(c, WF_ETOOBIG, p, "too many requirements");
	wf_sched_requirement *r = cv_zalloc(c->a, (cap ? cap : 1) * sizeof(*r));
	size_t n = 0;
	out->match_nothing = !sel;
	if (sel) {
		wf_sched_label *labels;
		size_t nl;
		char pm[CV_PATH];
		sub(pm, p, "matchLabels");
		if ((rc = str_map(c, ml, pm, &labels, &nl)) < 0)
			return rc;
		for (size_t i = 0; i < nl; i++) {
			const char **vals = cv_alloc(c->a, sizeof(char *));
			vals[0] = labels[i].value;
			r[n++] = (wf_sched_requirement){.key = labels[i].key,
							.op = WF_SCHED_OP_IN,
							.values = vals,
							.nvalues = 1};
		}
		size_t first = n;
		if ((rc = parse_reqs(c, sel, "matchExpressions", p, false, r, &n)) < 0)
			return rc;
		for (size_t i = first; i < n; i++)
			if (r[i].op > WF_SCHED_OP_DOES_NOT_EXIST) {
				char pe[CV_PATH], po[CV_PATH];
				sub(pm, p, "matchExpressions");
				idx(pe, pm, i - first);
				sub(po, pe, "operator");
				return wf_err_set(c->err, WF_EINVAL,
						  "%s: Invalid value: \"%s\": not a valid label "
						  "selector operator",
						  po, r[i].op == WF_SCHED_OP_GT ? "Gt" : "Lt");
			}
		if ((rc = label_keys(c, t, "matchLabelKeys", path, pod, WF_SCHED_OP_IN, r, &n)) <
			0 ||
		    (rc = label_keys(c, t, "mismatchLabelKeys", path, pod, WF_SCHED_OP_NOT_IN, r,
				     &n)) < 0)
			return rc;
	}
	out->selector = r;
	out->nselector = n;
	if (nsel) {
		json_t *nml = json_object_get(nsel, "matchLabels");
		json_t *nme = json_object_get(nsel, "matchExpressions");
		sub(p, path, "namespaceSelector");
		if (json_object_size(nml) || json_array_size(nme))
			return cv_fail(c, WF_EINVAL, p,
				       "Unsupported value: a namespaceSelector with "
				       "matchLabels or matchExpressions is not supported by "
				       "wharf-scheduler; list the namespaces, or use {} for all");
		out->all_namespaces = true; /* {} selects every namespace */
	}
	size_t nn = json_array_size(nss);
	const char **ns = cv_alloc(c->a, (nn ? nn : 1) * sizeof(char *));
	sub(p, path, "namespaces");
	for (size_t i = 0; i < nn; i++) {
		json_t *x = json_array_get(nss, i);
		if (!json_is_string(x) || !*json_string_value(x)) {
			char pi[CV_PATH];
			idx(pi, p, i);
			return cv_fail(c, WF_EINVAL, pi, "expected a namespace name");
		}
		ns[i] = cv_strdup(c->a, json_string_value(x));
	}
	out->namespaces = ns;
	out->nnamespaces = nn;
	return 0;
}

/* One of podAffinity / podAntiAffinity: its required and preferred terms. */
static int pod_terms(cv *c, const json_t *aff, const char *key, wf_sched_pod_spec *pod,
		     const wf_sched_pod_term **req, size_t *nreq, const wf_sched_pod_term **pref,
		     size_t *npref)
{
	json_t *pa, *ra, *pfa;
	char base[CV_PATH], p[CV_PATH];
	int rc;
	sub(base, "spec.affinity", key);
	if ((rc = get_obj(c, aff, key, "spec.affinity", &pa)) < 0 || !pa)
		return rc;
	if ((rc = get_arr(c, pa, "requiredDuringSchedulingIgnoredDuringExecution", base, &ra)) <
		0 ||
	    (rc = get_arr(c, pa, "preferredDuringSchedulingIgnoredDuringExecution", base, &pfa)) <
		0)
		return rc;
	size_t nr = json_array_size(ra), np = json_array_size(pfa);
	wf_sched_pod_term *r = cv_zalloc(c->a, (nr ? nr : 1) * sizeof(*r));
	wf_sched_pod_term *f = cv_zalloc(c->a, (np ? np : 1) * sizeof(*f));
	sub(p, base, "requiredDuringSchedulingIgnoredDuringExecution");
	for (size_t i = 0; i < nr; i++) {
		char pi[CV_PATH];
		idx(pi, p, i);
		if ((rc = parse_pod_term(c, json_array_get(ra, i), pi, 0, pod, &r[i])) < 0)
			return rc;
	}
	sub(p, base, "preferredDuringSchedulingIgnoredDuringExecution");
	for (size_t i = 0; i < np; i++) {
		char pi[CV_PATH], pt[CV_PATH];
		idx(pi, p, i);
		const json_t *t;
		int32_t w;
		if ((rc = weighted_entry(c, json_array_get(pfa, i), pi, "podAffinityTerm", &w, &t,
					 pt)) < 0 ||
		    (rc = parse_pod_term(c, t, pt, w, pod, &f[i])) < 0)
			return rc;
	}
	*req = r;
	*nreq = nr;
	*pref = f;
	*npref = np;
	return 0;
}

static int pod_inter_affinity(cv *c, const json_t *spec, wf_sched_pod_spec *out)
{
	json_t *aff;
	int rc = get_obj(c, spec, "affinity", "spec", &aff);
	if (rc < 0 || !aff)
		return rc;
	if ((rc = pod_terms(c, aff, "podAffinity", out, &out->affinity, &out->naffinity,
			    &out->pref_affinity, &out->npref_affinity)) < 0)
		return rc;
	return pod_terms(c, aff, "podAntiAffinity", out, &out->anti_affinity, &out->nanti_affinity,
			 &out->pref_anti_affinity, &out->npref_anti_affinity);
}

static int pod_tolerations(cv *c, const json_t *spec, wf_sched_pod_spec *out)
{
	json_t *arr;
	int rc = get_arr(c, spec, "tolerations", "spec", &arr);
	if (rc < 0 || !arr)
		return rc;
	size_t n = json_array_size(arr);
	wf_sched_toleration *t = cv_zalloc(c->a, (n ? n : 1) * sizeof(*t));
	for (size_t i = 0; i < n; i++) {
		char p[CV_PATH], pf[CV_PATH];
		idx(p, "spec.tolerations", i);
		json_t *e = json_array_get(arr, i);
		if (!json_is_object(e))
			return cv_fail(c, WF_EINVAL, p, "expected an object");
		const char *op, *eff;
		if ((rc = get_str(c, e, "key", p, &t[i].key)) < 0 ||
		    (rc = get_str(c, e, "operator", p, &op)) < 0 ||
		    (rc = get_str(c, e, "value", p, &t[i].value)) < 0 ||
		    (rc = get_str(c, e, "effect", p, &eff)) < 0)
			return rc;
		bool set;
		int64_t secs;
		if ((rc = get_int(c, e, "tolerationSeconds", p, INT64_MIN, INT64_MAX, &set,
				  &secs)) < 0)
			return rc;
		sub(pf, p, "operator");
		if (!op || !*op || strcmp(op, "Equal") == 0) {
			t[i].op = WF_SCHED_TOL_EQUAL;
		} else if (strcmp(op, "Exists") == 0) {
			t[i].op = WF_SCHED_TOL_EXISTS;
		} else {
			return wf_err_set(c->err, WF_EINVAL,
					  "%s: Unsupported value: \"%.64s\": supported values: "
					  "\"Equal\", \"Exists\"",
					  pf, op);
		}
		if ((!t[i].key || !*t[i].key) && t[i].op != WF_SCHED_TOL_EXISTS)
			return cv_fail(
			    c, WF_EINVAL, pf,
			    "Invalid value: operator must be Exists when `key` is empty, "
			    "which means \"match all values and all keys\"");
		if (t[i].op == WF_SCHED_TOL_EXISTS && t[i].value && *t[i].value) {
			sub(pf, p, "value");
			return cv_fail(c, WF_EINVAL, pf,
				       "Invalid value: value must be empty when `operator` is "
				       "'Exists'");
		}
		sub(pf, p, "effect");
		if ((rc = parse_effect(c, eff, pf, true, &t[i].effect)) < 0)
			return rc;
	}
	out->tolerations = t;
	out->ntolerations = n;
	return 0;
}

int wf_sched_pod_from_json(const json_t *pod, wf_sched_pod_spec *out, wf_err *err)
{
	memset(out, 0, sizeof(*out));
	cv c = cv_begin(err);
	json_t *md, *spec, *status, *labels, *annots, *nsel;
	const char *ns, *name, *created, *policy;
	int rc = meta(&c, pod, true, &ns, &name, &md);
	if (rc < 0)
		goto fail;
	out->ns = ns;
	out->name = name;
	if ((rc = get_str(&c, md, "creationTimestamp", "metadata", &created)) < 0)
		goto fail;
	time_t t;
	if (created && wf_time_parse_rfc3339(created, &t) == 0)
		out->created_ms = (int64_t)t * 1000;
	if ((rc = get_obj(&c, md, "labels", "metadata", &labels)) < 0 ||
	    (rc = get_obj(&c, md, "annotations", "metadata", &annots)) < 0)
		goto fail;
	if ((rc = str_map(&c, labels, "metadata.labels", (wf_sched_label **)&out->labels,
			  &out->nlabels)) < 0)
		goto fail;
	const char *grp = NULL;
	if (labels) {
		json_t *v = json_object_get(labels, WF_SCHED_LABEL_POD_GROUP);
		if (v && !json_is_string(v)) {
			rc = cv_fail(&c, WF_EINVAL, "metadata.labels." WF_SCHED_LABEL_POD_GROUP,
				     "expected a string");
			goto fail;
		}
		if (v && *json_string_value(v))
			grp = json_string_value(v);
	}
	if (!grp && annots) {
		json_t *v = json_object_get(annots, WF_SCHED_ANNOTATION_GROUP_NAME);
		if (v && !json_is_string(v)) {
			rc = cv_fail(&c, WF_EINVAL,
				     "metadata.annotations." WF_SCHED_ANNOTATION_GROUP_NAME,
				     "expected a string");
			goto fail;
		}
		if (v && *json_string_value(v))
			grp = json_string_value(v);
	}
	if (grp) {
		if (strchr(grp, '/')) {
			rc = cv_fail(&c, WF_EINVAL, "pod group name", "may not contain '/'");
			goto fail;
		}
		out->group = cv_strdup(c.a, grp);
	}

	if ((rc = get_obj(&c, pod, "spec", "", &spec)) < 0 ||
	    (rc = get_obj(&c, pod, "status", "", &status)) < 0)
		goto fail;
	if (!spec) {
		rc = cv_fail(&c, WF_EINVAL, "spec", "Required value");
		goto fail;
	}
	const char *node_name;
	if ((rc = get_str(&c, spec, "nodeName", "spec", &node_name)) < 0)
		goto fail;
	if (node_name && *node_name) {
		out->node_name = node_name;
		out->bound = true;
	}
	bool set;
	int64_t prio;
	if ((rc = get_int(&c, spec, "priority", "spec", INT32_MIN, INT32_MAX, &set, &prio)) < 0)
		goto fail;
	out->priority = set ? (int32_t)prio : 0;
	if ((rc = get_str(&c, spec, "preemptionPolicy", "spec", &policy)) < 0)
		goto fail;
	if (policy && strcmp(policy, "Never") == 0) {
		out->preempt_never = true;
	} else if (policy && *policy && strcmp(policy, "PreemptLowerPriority") != 0) {
		rc = wf_err_set(err, WF_EINVAL,
				"spec.preemptionPolicy: Unsupported value: \"%.64s\": supported "
				"values: \"Never\", \"PreemptLowerPriority\"",
				policy);
		goto fail;
	}
	rlist req = {0};
	if ((rc = pod_requests(&c, spec, &req)) < 0)
		goto fail;
	out->requests = req.v;
	out->nrequests = req.n;
	if ((rc = get_obj(&c, spec, "nodeSelector", "spec", &nsel)) < 0 ||
	    (rc = str_map(&c, nsel, "spec.nodeSelector", (wf_sched_label **)&out->node_selector,
			  &out->nnode_selector)) < 0)
		goto fail;
	if ((rc = pod_affinity(&c, spec, out)) < 0 ||
	    (rc = pod_inter_affinity(&c, spec, out)) < 0 ||
	    (rc = pod_tolerations(&c, spec, out)) < 0)
		goto fail;
	if (status) {
		const char *phase, *nom;
		if ((rc = get_str(&c, status, "phase", "status", &phase)) < 0 ||
		    (rc = get_str(&c, status, "nominatedNodeName", "status", &nom)) < 0)
			goto fail;
		out->terminal =
		    phase && (strcmp(phase, "Succeeded") == 0 || strcmp(phase, "Failed") == 0);
		if (nom && *nom)
			out->nominated_node = nom;
	}
	out->storage_ = c.a;
	return 0;
fail:
	cv_abort(&c);
	memset(out, 0, sizeof(*out));
	return rc;
}

void wf_sched_pod_spec_release(wf_sched_pod_spec *spec)
{
	if (!spec)
		return;
	storage_free(spec->storage_);
	memset(spec, 0, sizeof(*spec));
}

/* ---- PodGroup -------------------------------------------------------------------- */

int wf_sched_group_from_json(const json_t *group, wf_sched_group_spec *out, wf_err *err)
{
	memset(out, 0, sizeof(*out));
	cv c = cv_begin(err);
	json_t *md, *spec;
	const char *ns, *name, *api, *kind;
	int rc = meta(&c, group, true, &ns, &name, &md);
	if (rc < 0)
		goto fail;
	if ((rc = get_str(&c, group, "apiVersion", "", &api)) < 0 ||
	    (rc = get_str(&c, group, "kind", "", &kind)) < 0)
		goto fail;
	bool volcano = api && strcmp(api, "scheduling.volcano.sh/v1beta1") == 0;
	bool cosched = api && strcmp(api, "scheduling.x-k8s.io/v1alpha1") == 0;
	if (!volcano && !cosched) {
		rc = wf_err_set(
		    err, WF_EINVAL,
		    "apiVersion: Unsupported value: \"%.64s\": supported values: "
		    "\"scheduling.x-k8s.io/v1alpha1\", \"scheduling.volcano.sh/v1beta1\"",
		    api ? api : "");
		goto fail;
	}
	if (kind && strcmp(kind, "PodGroup") != 0) {
		rc = cv_fail(&c, WF_EINVAL, "kind", "expected PodGroup");
		goto fail;
	}
	if ((rc = get_obj(&c, group, "spec", "", &spec)) < 0)
		goto fail;
	bool set = false;
	int64_t v = 0;
	if (spec &&
	    (rc = get_int(&c, spec, "minMember", "spec", INT32_MIN, INT32_MAX, &set, &v)) < 0)
		goto fail;
	if (!set || v < 1) {
		rc = cv_fail(&c, WF_EINVAL, "spec.minMember", "must be at least 1");
		goto fail;
	}
	out->min_member = (int32_t)v;
	if (cosched) {
		if ((rc = get_int(&c, spec, "scheduleTimeoutSeconds", "spec", 0, INT32_MAX, &set,
				  &v)) < 0)
			goto fail;
		out->timeout_s = set ? v : 0;
	}
	out->ns = ns;
	out->name = name;
	out->storage_ = c.a;
	return 0;
fail:
	cv_abort(&c);
	memset(out, 0, sizeof(*out));
	return rc;
}

void wf_sched_group_spec_release(wf_sched_group_spec *spec)
{
	if (!spec)
		return;
	storage_free(spec->storage_);
	memset(spec, 0, sizeof(*spec));
}
