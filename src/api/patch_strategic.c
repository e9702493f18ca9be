/*
 * patch_strategic.c - Kubernetes strategic merge patch for the built-in kinds.
 *
 * Design: the patch metadata that Kubernetes keeps in Go struct tags
 * (patchStrategy, patchMergeKey) lives here as small static tables, one
 * wf__smp_field array per object type, NULL-name terminated. A field absent
 * from a table has no strategy: maps merge, lists are replaced. A kind with
 * no table therefore behaves like a JSON merge patch, directives aside.
 * Server-side apply reads the same tables (wf_patch_meta_*, declared in
 * apply.h) to compute field sets that match what this engine merges.
 *
 * The original is deep-copied once and the patch applied to that private copy
 * in place (maps are changed where they stand, merged lists are rebuilt from
 * the copy's own elements); values from the patch enter only through a merge
 * into an empty map or list, which drops directives and nulls. On error the
 * copy is thrown away, so callers see all or nothing.
 *
 * Matching on merge keys, de-duplicating primitive lists and ordering go
 * through hash indexes over a canonical text of the key value (numbers by
 * value, so 80 matches 80.0), so hostile lists cost linear time, not square.
 *
 * Semantics follow k8s.io/apimachinery strategicpatch (apply side), with two
 * deliberate differences: "$patch: merge" is accepted (it is the default)
 * instead of refused, and "$patch: delete" on a map removes the key instead of
 * leaving an empty map.
 */
#include "api/patch.h"
#include "api/apply.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/wf_mem.h"

/* ---- patch metadata ----------------------------------------------------- */

typedef struct wf__smp_field wf__smp_field;
struct wf__smp_field {
	const char *name;
	const wf__smp_field *sub; /* fields of the map, or of each list element */
	bool merge;		  /* patchStrategy "merge" on a list */
	const char *key;	  /* patchMergeKey; NULL for a list of primitives */
};

/*
 * Table rows are {name, sub, merge, key}: a map {"spec", fields, false, NULL},
 * a list merged on a key {"env", element fields, true, "name"}, a set of
 * primitives {"finalizers", NULL, true, NULL}; a NULL name ends the table.
 */

static const wf__smp_field wf__object_meta[] = {
    {"ownerReferences", NULL, true, "uid"},
    {"finalizers", NULL, true, NULL},
    {NULL, NULL, false, NULL},
};

static const wf__smp_field wf__container[] = {
    {"env", NULL, true, "name"},
    {"ports", NULL, true, "containerPort"},
    {"volumeMounts", NULL, true, "mountPath"},
    {"volumeDevices", NULL, true, "devicePath"},
    {NULL, NULL, false, NULL},
};

static const wf__smp_field wf__pod_spec[] = {
    {"containers", wf__container, true, "name"},
    {"initContainers", wf__container, true, "name"},
    {"ephemeralContainers", wf__container, true, "name"},
    {"volumes", NULL, true, "name"},
    {"imagePullSecrets", NULL, true, "name"},
    {"hostAliases", NULL, true, "ip"},
    {"topologySpreadConstraints", NULL, true, "topologyKey"},
    {"schedulingGates", NULL, true, "name"},
    {"resourceClaims", NULL, true, "name"},
    {NULL, NULL, false, NULL}, /* tolerations: no strategy, replaced whole */
};

static const wf__smp_field wf__pod_status[] = {
    {"conditions", NULL, true, "type"},
    {"podIPs", NULL, true, "ip"},
    {"hostIPs", NULL, true, "ip"},
    {NULL, NULL, false, NULL},
};

static const wf__smp_field wf__pod[] = {
    {"metadata", wf__object_meta, false, NULL},
    {"spec", wf__pod_spec, false, NULL},
    {"status", wf__pod_status, false, NULL},
    {NULL, NULL, false, NULL},
};

static const wf__smp_field wf__pod_template_spec[] = {
    {"metadata", wf__object_meta, false, NULL},
    {"spec", wf__pod_spec, false, NULL},
    {NULL, NULL, false, NULL},
};

static const wf__smp_field wf__pod_template[] = {
    {"metadata", wf__object_meta, false, NULL},
    {"template", wf__pod_template_spec, false, NULL},
    {NULL, NULL, false, NULL},
};

static const wf__smp_field wf__conditions_status[] = {
    {"conditions", NULL, true, "type"},
    {NULL, NULL, false, NULL},
};

/* Job, Deployment, ReplicaSet, StatefulSet, DaemonSet, ReplicationController */
static const wf__smp_field wf__workload_spec[] = {
    {"template", wf__pod_template_spec, false, NULL},
    {NULL, NULL, false, NULL},
};

static const wf__smp_field wf__workload[] = {
    {"metadata", wf__object_meta, false, NULL},
    {"spec", wf__workload_spec, false, NULL},
    {"status", wf__conditions_status, false, NULL},
    {NULL, NULL, false, NULL},
};

static const wf__smp_field wf__node_spec[] = {
    {"taints", NULL, true, "key"},
    {"podCIDRs", NULL, true, NULL},
    {NULL, NULL, false, NULL},
};

static const wf__smp_field wf__node_status[] = {
    {"addresses", NULL, true, "type"},
    {"conditions", NULL, true, "type"},
    {NULL, NULL, false, NULL},
};

static const wf__smp_field wf__node[] = {
    {"metadata", wf__object_meta, false, NULL},
    {"spec", wf__node_spec, false, NULL},
    {"status", wf__node_status, false, NULL},
    {NULL, NULL, false, NULL},
};

static const wf__smp_field wf__service_spec[] = {
    {"ports", NULL, true, "port"},
    {NULL, NULL, false, NULL},
};

static const wf__smp_field wf__service[] = {
    {"metadata", wf__object_meta, false, NULL},
    {"spec", wf__service_spec, false, NULL},
    {"status", wf__conditions_status, false, NULL},
    {NULL, NULL, false, NULL},
};

static const wf__smp_field wf__namespace[] = {
    {"metadata", wf__object_meta, false, NULL},
    {"status", wf__conditions_status, false, NULL},
    {NULL, NULL, false, NULL},
};

static const wf__smp_field wf__service_account[] = {
    {"metadata", wf__object_meta, false, NULL},
    {"secrets", NULL, true, "name"},
    {NULL, NULL, false, NULL},
};

static const wf__smp_field wf__meta_only[] = {
    {"metadata", wf__object_meta, false, NULL},
    {NULL, NULL, false, NULL},
};

static const struct {
	const char *group, *kind;
	const wf__smp_field *type;
} wf__smp_kinds[] = {
    {"", "Pod", wf__pod},
    {"", "Node", wf__node},
    {"", "Namespace", wf__namespace},
    {"", "Service", wf__service},
    {"", "ConfigMap", wf__meta_only},
    {"", "Secret", wf__meta_only},
    {"", "ServiceAccount", wf__service_account},
    {"", "Event", wf__meta_only},
    {"", "PodTemplate", wf__pod_template},
    {"", "ReplicationController", wf__workload},
    {"batch", "Job", wf__workload},
    {"coordination.k8s.io", "Lease", wf__meta_only},
    {"apps", "Deployment", wf__workload},
    {"apps", "ReplicaSet", wf__workload},
    {"apps", "StatefulSet", wf__workload},
    {"apps", "DaemonSet", wf__workload},
};

static const wf__smp_field *wf__smp_kind_type(const char *group, const char *kind)
{
	if (!group)
		group = "";
	if (!kind)
		return NULL;
	for (size_t i = 0; i < sizeof wf__smp_kinds / sizeof wf__smp_kinds[0]; i++)
		if (!strcmp(wf__smp_kinds[i].group, group) && !strcmp(wf__smp_kinds[i].kind, kind))
			return wf__smp_kinds[i].type;
	return NULL;
}

static const wf__smp_field *wf__smp_lookup(const wf__smp_field *t, const char *key, size_t klen)
{
	for (; t && t->name; t++)
		if (strlen(t->name) == klen && !memcmp(t->name, key, klen))
			return t;
	return NULL;
}

/* ---- context and errors ---------------------------------------------------- */

#define WF__DIR_PATCH "$patch"
#define WF__DIR_RETAIN "$retainKeys"
#define WF__DIR_ORDER "$setElementOrder"
#define WF__DIR_DELPRIM "$deleteFromPrimitiveList"

typedef struct wf__smp {
	wf_err *err;
	wf_buf path; /* where we are, for messages: spec.containers[1].env */
	int depth;
} wf__smp;

static int wf__smp_fail(wf__smp *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int wf__smp_fail(wf__smp *c, const char *fmt, ...)
{
	char msg[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (c->path.len > 160)
		return wf_err_set(c->err, WF_EINVAL, "strategic merge patch: ...%s: %s",
				  c->path.data + c->path.len - 160, msg);
	if (c->path.len)
		return wf_err_set(c->err, WF_EINVAL, "strategic merge patch: %s: %s", c->path.data,
				  msg);
	return wf_err_set(c->err, WF_EINVAL, "strategic merge patch: %s", msg);
}

static size_t wf__path_push_key(wf__smp *c, const char *key, size_t klen)
{
	size_t mark = c->path.len;
	if (mark)
		wf_buf_putc(&c->path, '.');
	wf_buf_append(&c->path, key, klen > 200 ? 200 : klen);
	return mark;
}

static size_t wf__path_push_index(wf__smp *c, size_t i)
{
	size_t mark = c->path.len;
	wf_buf_printf(&c->path, "[%zu]", i);
	return mark;
}

static void wf__path_pop(wf__smp *c, size_t mark)
{
	c->path.len = mark;
	if (c->path.data)
		c->path.data[mark] = '\0';
}

static bool wf__has_prefix(const char *key, size_t klen, const char *prefix)
{
	size_t n = strlen(prefix);
	return klen >= n && !memcmp(key, prefix, n);
}

static json_t *wf__smp_copy(const json_t *v)
{
	json_t *c = json_deep_copy(v);
	if (!c)
		abort(); /* jansson fails only when out of memory */
	return c;
}

static json_t *wf__smp_new_object(void)
{
	json_t *o = json_object();
	if (!o)
		abort();
	return o;
}

static json_t *wf__smp_new_array(void)
{
	json_t *a = json_array();
	if (!a)
		abort();
	return a;
}

static bool wf__is_scalar(const json_t *v)
{
	return v && !json_is_object(v) && !json_is_array(v);
}

/* ---- key index ------------------------------------------------------------ */

static void wf__set(json_t *obj, const char *key, size_t klen, json_t *v)
{
	if (json_object_setn_new_nocheck(obj, key, klen, v))
		abort(); /* only when out of memory */
}

static bool wf__key_is(const char *key, size_t klen, const char *lit)
{
	return strlen(lit) == klen && !memcmp(key, lit, klen);
}

/* Canonical text of a scalar into b; false for objects, arrays and NULL. */
static bool wf__key_text(wf_buf *b, const json_t *v)
{
	b->len = 0;
	switch (v ? json_typeof(v) : JSON_OBJECT) {
	case JSON_STRING:
		wf_buf_putc(b, 's');
		wf_buf_append(b, json_string_value(v), json_string_length(v));
		return true;
	case JSON_INTEGER:
		wf_buf_printf(b, "n%lld", (long long)json_integer_value(v));
		return true;
	case JSON_REAL: {
		double d = json_real_value(v);
		if (d >= -9.2e18 && d <= 9.2e18 && d == (double)(long long)d)
			wf_buf_printf(b, "n%lld", (long long)d);
		else
			wf_buf_printf(b, "n%.17g", d);
		return true;
	}
	case JSON_TRUE:
		wf_buf_putc(b, 't');
		return true;
	case JSON_FALSE:
		wf_buf_putc(b, 'f');
		return true;
	case JSON_NULL:
		wf_buf_putc(b, 'z');
		return true;
	default:
		return false;
	}
}

/* A hash index from scalar values (by canonical text) to positions. */
typedef struct wf__kidx {
	json_t *map;
	wf_buf text;
} wf__kidx;

static void wf__kidx_init(wf__kidx *k)
{
	k->map = wf__smp_new_object();
	wf_buf_init(&k->text);
}

static void wf__kidx_free(wf__kidx *k)
{
	json_decref(k->map);
	wf_buf_free(&k->text);
}

static long wf__kidx_lookup(wf__kidx *k)
{
	json_t *e = json_object_getn(k->map, k->text.data, k->text.len);
	return e ? (long)json_integer_value(e) : -1;
}

/* Position recorded for v, or -1. */
static long wf__kidx_get(wf__kidx *k, const json_t *v)
{
	if (!wf__key_text(&k->text, v))
		return -1;
	return wf__kidx_lookup(k);
}

/* Position recorded for the string key (klen bytes), or -1. */
static long wf__kidx_get_str(wf__kidx *k, const char *key, size_t klen)
{
	k->text.len = 0;
	wf_buf_putc(&k->text, 's');
	wf_buf_append(&k->text, key, klen);
	return wf__kidx_lookup(k);
}

/* Record pos for v unless v already has one. */
static void wf__kidx_put(wf__kidx *k, const json_t *v, size_t pos)
{
	if (!wf__key_text(&k->text, v) || wf__kidx_lookup(k) >= 0)
		return;
	json_t *n = json_integer((json_int_t)pos);
	if (!n)
		abort();
	wf__set(k->map, k->text.data, k->text.len, n);
}

/* The merge-key value of a list element (NULL if none), or the element itself. */
static const json_t *wf__elem_key(const json_t *elem, const char *key)
{
	if (!key)
		return wf__is_scalar(elem) ? elem : NULL;
	return json_is_object(elem) ? json_object_get(elem, key) : NULL;
}

/* ---- ordering ----------------------------------------------------------------- */

typedef struct wf__item {
	json_t *v;
	size_t oidx; /* position in the order list */
	long spos;   /* position in the live list, -1 for an added item */
	size_t pos;  /* position in the merged list: keeps the sort stable */
} wf__item;

static int wf__item_cmp(const void *pa, const void *pb)
{
	const wf__item *a = pa, *b = pb;
	if (a->oidx != b->oidx)
		return a->oidx < b->oidx ? -1 : 1;
	return a->pos < b->pos ? -1 : a->pos > b->pos;
}

/*
 * Kubernetes' normalizeElementOrder: the items named by the order list come in
 * that order; items only the server has keep their live order and are woven
 * in before the first named item that comes after them in the live list.
 * spos[i] is merged[i]'s position in the live list (-1: added by the patch).
 */
static json_t *wf__smp_order(json_t *merged, const long *spos, wf__kidx *order, const char *key)
{
	size_t n = json_array_size(merged), np = 0, nq = 0;
	wf__item *p = wf_xcalloc(n ? n : 1, sizeof *p);
	wf__item *q = wf_xcalloc(n ? n : 1, sizeof *q);
	for (size_t i = 0; i < n; i++) {
		json_t *v = json_array_get(merged, i);
		long o = wf__kidx_get(order, wf__elem_key(v, key));
		wf__item it = {.v = v, .oidx = o < 0 ? 0 : (size_t)o, .spos = spos[i], .pos = i};
		if (o >= 0)
			p[np++] = it;
		else
			q[nq++] = it;
	}
	qsort(p, np, sizeof *p, wf__item_cmp);
	json_t *out = wf__smp_new_array();
	size_t i = 0, j = 0;
	while (i < nq || j < np) {
		json_t *v;
		if (j >= np)
			v = q[i++].v;
		else if (i >= nq)
			v = p[j++].v;
		else if (q[i].spos >= 0 && p[j].spos >= 0 && q[i].spos < p[j].spos)
			v = q[i++].v;
		else
			v = p[j++].v;
		if (json_array_append(out, v))
			abort();
	}
	free(p);
	free(q);
	return out;
}

/* ---- the merge ------------------------------------------------------------------ */

static int wf__smp_map(wf__smp *c, json_t *dst, const json_t *patch, const wf__smp_field *type,
		       bool *deleted);

/* Check a "$patch" value; *out gets it. */
static int wf__smp_directive(wf__smp *c, const json_t *v, const char **out)
{
	const char *s = json_string_value(v);
	if (!s)
		return wf__smp_fail(c, "$patch must be a string");
	if (strcmp(s, "replace") && strcmp(s, "delete") && strcmp(s, "merge"))
		return wf__smp_fail(c,
				    "unknown $patch value \"%.60s\" (want replace, merge or "
				    "delete)",
				    s);
	*out = s;
	return 0;
}

/*
 * A list with no merge strategy: the patch list replaces the live one. Its
 * maps are cleaned by merging them into nothing; elements carrying "$patch"
 * are markers and are dropped.
 */
static int wf__smp_clean_list(wf__smp *c, const json_t *pl, const wf__smp_field *elem, json_t **res)
{
	if (++c->depth > WF_PATCH_MAX_DEPTH) {
		c->depth--;
		return wf__smp_fail(c, "the patch is nested too deeply");
	}
	json_t *out = wf__smp_new_array();
	size_t i;
	json_t *e;
	int rc = 0;
	json_array_foreach(pl, i, e)
	{
		size_t mark = wf__path_push_index(c, i);
		json_t *n = NULL;
		if (json_is_object(e)) {
			json_t *d = json_object_get(e, WF__DIR_PATCH);
			const char *dir;
			if (d) {
				rc = wf__smp_directive(c, d, &dir);
			} else {
				bool del = false;
				n = wf__smp_new_object();
				rc = wf__smp_map(c, n, e, elem, &del);
			}
		} else if (json_is_array(e)) {
			rc = wf__smp_clean_list(c, e, NULL, &n);
		} else {
			n = wf__smp_copy(e);
		}
		wf__path_pop(c, mark);
		if (rc) {
			json_decref(n);
			break;
		}
		if (n && json_array_append_new(out, n))
			abort();
	}
	c->depth--;
	if (rc) {
		json_decref(out);
		return rc;
	}
	*res = out;
	return 0;
}

/*
 * Check the patch list against its $setElementOrder list: every patch item
 * that is not a directive must appear in the order list, in the same
 * relative order.
 */
static int wf__smp_check_order(wf__smp *c, const json_t *pl, const json_t *order, const char *key)
{
	size_t n = json_array_size(order);
	for (size_t i = 0; i < n; i++) {
		const json_t *o = json_array_get(order, i);
		if (key && !(json_is_object(o) && json_object_get(o, key)))
			return wf__smp_fail(c, "$setElementOrder item %zu has no merge key \"%s\"",
					    i, key);
		if (!key && !wf__is_scalar(o))
			return wf__smp_fail(c, "$setElementOrder item %zu must be a primitive", i);
	}
	if (!n)
		return 0;
	wf_buf want, cand;
	wf_buf_init(&want);
	wf_buf_init(&cand);
	size_t j = 0;
	int rc = 0;
	for (size_t i = 0; i < json_array_size(pl) && !rc; i++) {
		const json_t *e = json_array_get(pl, i);
		if (json_is_object(e) && json_object_get(e, WF__DIR_PATCH))
			continue;
		bool found = false;
		if (wf__key_text(&want, wf__elem_key(e, key))) {
			while (j < n && !found) {
				const json_t *o = json_array_get(order, j++);
				found = wf__key_text(&cand, wf__elem_key(o, key)) &&
					cand.len == want.len &&
					!memcmp(cand.data, want.data, want.len);
			}
		}
		if (!found)
			rc = wf__smp_fail(c,
					  "the order of the patch list does not match its "
					  "$setElementOrder list (item %zu)",
					  i);
	}
	wf_buf_free(&want);
	wf_buf_free(&cand);
	return rc;
}

/*
 * Merge the patch list pl into the live list (NULL when absent) for a field
 * with the merge strategy; order is the $setElementOrder list or NULL.
 */
static int wf__smp_merge_list(wf__smp *c, json_t *live, const json_t *pl, const wf__smp_field *f,
			      const json_t *order, json_t **res)
{
	const char *key = f->key;
	size_t np = json_array_size(pl);
	bool replace = false;
	wf__kidx del;
	wf__kidx_init(&del);
	int rc = 0;

	/* Directives in the patch list, and the shape of its items. */
	for (size_t i = 0; i < np && !rc; i++) {
		const json_t *e = json_array_get(pl, i);
		size_t mark = wf__path_push_index(c, i);
		if (!key) {
			if (!wf__is_scalar(e))
				rc = wf__smp_fail(c, "a list of primitives cannot hold objects or "
						     "arrays");
		} else if (!json_is_object(e)) {
			rc = wf__smp_fail(c,
					  "an item of a list merged on \"%s\" must be an "
					  "object",
					  key);
		} else {
			json_t *d = json_object_get(e, WF__DIR_PATCH);
			const char *dir = "merge";
			if (d)
				rc = wf__smp_directive(c, d, &dir);
			if (rc) {
				/* reported */
			} else if (!strcmp(dir, "replace")) {
				replace = true;
			} else if (!strcmp(dir, "delete")) {
				json_t *kv = json_object_get(e, key);
				if (!kv)
					rc = wf__smp_fail(c,
							  "$patch: delete without the merge key "
							  "\"%s\"",
							  key);
				else
					wf__kidx_put(&del, kv, i);
			} else if (!json_object_get(e, key) && !(d && json_object_size(e) == 1)) {
				rc = wf__smp_fail(c, "does not contain declared merge key \"%s\"",
						  key);
			}
		}
		wf__path_pop(c, mark);
	}
	if (!rc && order)
		rc = wf__smp_check_order(c, pl, order, key);
	if (rc) {
		wf__kidx_free(&del);
		return rc;
	}

	/* The base: the live items that survive deletions (none on replace). */
	json_t *merged = wf__smp_new_array();
	size_t cap = json_array_size(live) + np + 1;
	long *spos = wf_xcalloc(cap, sizeof *spos);
	wf__kidx where; /* key -> first position in merged */
	wf__kidx_init(&where);
	if (!replace) {
		size_t i;
		json_t *e;
		json_array_foreach(live, i, e)
		{
			const json_t *kv = wf__elem_key(e, key);
			if (kv && wf__kidx_get(&del, kv) >= 0)
				continue;
			if (kv && wf__kidx_get(&where, kv) >= 0 && !key)
				continue; /* primitives are a set */
			size_t pos = json_array_size(merged);
			wf__kidx_put(&where, kv, pos);
			long first = kv ? wf__kidx_get(&where, kv) : (long)pos;
			spos[pos] = first;
			if (json_array_append(merged, e))
				abort();
		}
	}

	/* Merge or add each patch item; build the default order list. */
	wf__kidx order_idx;
	wf__kidx_init(&order_idx);
	size_t nplain = 0;
	for (size_t i = 0; i < np && !rc; i++) {
		const json_t *e = json_array_get(pl, i);
		const char *dir = "merge";
		if (key && json_object_get(e, WF__DIR_PATCH))
			dir = json_string_value(json_object_get(e, WF__DIR_PATCH));
		if (strcmp(dir, "merge"))
			continue;
		const json_t *kv = wf__elem_key(e, key);
		if (!kv)
			continue; /* a lone {"$patch": "merge"} */
		if (!order)
			wf__kidx_put(&order_idx, kv, nplain++);
		long at = wf__kidx_get(&where, kv);
		if (!key) {
			if (at < 0) {
				size_t pos = json_array_size(merged);
				wf__kidx_put(&where, kv, pos);
				spos[pos] = -1;
				if (json_array_append_new(merged, wf__smp_copy(e)))
					abort();
			}
			continue;
		}
		size_t mark = wf__path_push_index(c, i);
		bool gone = false;
		if (at >= 0) {
			rc = wf__smp_map(c, json_array_get(merged, (size_t)at), e, f->sub, &gone);
		} else {
			json_t *n = wf__smp_new_object();
			rc = wf__smp_map(c, n, e, f->sub, &gone);
			size_t pos = json_array_size(merged);
			wf__kidx_put(&where, kv, pos);
			spos[pos] = -1;
			if (json_array_append_new(merged, n))
				abort();
		}
		wf__path_pop(c, mark);
	}

	if (!rc) {
		if (order) {
			size_t i;
			json_t *o;
			json_array_foreach(order, i, o)
			    wf__kidx_put(&order_idx, wf__elem_key(o, key), i);
		}
		*res = wf__smp_order(merged, spos, &order_idx, key);
	}
	json_decref(merged);
	free(spos);
	wf__kidx_free(&order_idx);
	wf__kidx_free(&where);
	wf__kidx_free(&del);
	return rc;
}

/* Drop from dst[name] (when a list) every value listed in vals. */
static void wf__smp_delete_from_list(json_t *dst, const char *name, size_t nlen, const json_t *vals)
{
	json_t *cur = json_object_getn(dst, name, nlen);
	if (!json_is_array(cur))
		return;
	wf__kidx k;
	wf__kidx_init(&k);
	size_t i;
	json_t *v;
	json_array_foreach(vals, i, v) wf__kidx_put(&k, v, i);
	json_t *out = wf__smp_new_array();
	json_array_foreach(cur, i, v)
	{
		if (wf__is_scalar(v) && wf__kidx_get(&k, v) >= 0)
			continue;
		if (json_array_append(out, v))
			abort();
	}
	wf__kidx_free(&k);
	wf__set(dst, name, nlen, out);
}

/* Checks "$retainKeys" and clears dst of every key it does not list. */
static int wf__smp_retain(wf__smp *c, json_t *dst, const json_t *patch, const json_t *keep)
{
	if (!json_is_array(keep))
		return wf__smp_fail(c, "$retainKeys must be a list of strings");
	wf__kidx k;
	wf__kidx_init(&k);
	size_t i;
	json_t *v;
	int rc = 0;
	json_array_foreach(keep, i, v)
	{
		if (!json_is_string(v)) {
			rc = wf__smp_fail(c, "$retainKeys must be a list of strings");
			break;
		}
		wf__kidx_put(&k, v, i);
	}
	const char *key;
	size_t klen;
	json_t *pv;
	json_object_keylen_foreach((json_t *)patch, key, klen, pv)
	{
		if (rc)
			break;
		if (json_is_null(pv) || (klen && key[0] == '$'))
			continue;
		if (wf__kidx_get_str(&k, key, klen) < 0)
			rc = wf__smp_fail(c, "field \"%.100s\" is not listed in $retainKeys", key);
	}
	if (!rc) {
		void *it = json_object_iter(dst);
		while (it) {
			const char *dk = json_object_iter_key(it);
			size_t dl = json_object_iter_key_len(it);
			it = json_object_iter_next(dst, it);
			if (wf__kidx_get_str(&k, dk, dl) < 0)
				json_object_deln(dst, dk, dl);
		}
	}
	wf__kidx_free(&k);
	return rc;
}

/* "$setElementOrder/x" or "$deleteFromPrimitiveList/x": x, checked. */
static int wf__smp_parallel_name(wf__smp *c, const char *key, size_t klen, const char *prefix,
				 const json_t *v, const char **name, size_t *nlen)
{
	size_t pl = strlen(prefix);
	if (klen < pl + 2 || key[pl] != '/')
		return wf__smp_fail(c, "directive \"%.100s\" must name a list, as %s/<list>", key,
				    prefix);
	if (!json_is_array(v))
		return wf__smp_fail(c, "%.100s must be a list", key);
	*name = key + pl + 1;
	*nlen = klen - pl - 1;
	return 0;
}

/* Merge one patch member (key, pv) into dst. */
static int wf__smp_member(wf__smp *c, json_t *dst, const json_t *patch, const char *key,
			  size_t klen, const json_t *pv, const wf__smp_field *type)
{
	const wf__smp_field *f = wf__smp_lookup(type, key, klen);
	if (json_is_null(pv)) {
		json_object_deln(dst, key, klen);
		return 0;
	}
	json_t *cur = json_object_getn(dst, key, klen);
	if (json_is_object(pv)) {
		bool gone = false;
		int rc;
		if (json_is_object(cur)) {
			rc = wf__smp_map(c, cur, pv, f ? f->sub : NULL, &gone);
		} else {
			json_t *n = wf__smp_new_object();
			rc = wf__smp_map(c, n, pv, f ? f->sub : NULL, &gone);
			if (!rc && !gone)
				wf__set(dst, key, klen, n);
			else
				json_decref(n);
		}
		if (!rc && gone)
			json_object_deln(dst, key, klen);
		return rc;
	}
	if (json_is_array(pv)) {
		json_t *res = NULL;
		char *okey = wf_xmalloc(sizeof WF__DIR_ORDER + klen);
		memcpy(okey, WF__DIR_ORDER "/", sizeof WF__DIR_ORDER);
		memcpy(okey + sizeof WF__DIR_ORDER, key, klen);
		json_t *order = json_object_getn(patch, okey, sizeof WF__DIR_ORDER + klen);
		free(okey);
		if (order && !json_is_array(order))
			return wf__smp_fail(c, "%s/%.100s must be a list", WF__DIR_ORDER, key);
		int rc;
		if (f && f->merge)
			rc = wf__smp_merge_list(c, json_is_array(cur) ? cur : NULL, pv, f, order,
						&res);
		else
			rc = wf__smp_clean_list(c, pv, f ? f->sub : NULL, &res);
		if (rc)
			return rc;
		wf__set(dst, key, klen, res);
		return 0;
	}
	wf__set(dst, key, klen, wf__smp_copy(pv));
	return 0;
}

/*
 * Apply the patch map to dst (an object of ours) per type. *deleted is set
 * when the patch says "$patch: delete" and dst should go.
 */
static int wf__smp_map(wf__smp *c, json_t *dst, const json_t *patch, const wf__smp_field *type,
		       bool *deleted)
{
	if (++c->depth > WF_PATCH_MAX_DEPTH) {
		c->depth--;
		return wf__smp_fail(c, "the patch is nested too deeply");
	}
	int rc = 0;
	json_t *d = json_object_get(patch, WF__DIR_PATCH);
	if (d) {
		const char *dir;
		rc = wf__smp_directive(c, d, &dir);
		if (rc)
			goto out;
		if (!strcmp(dir, "delete")) {
			*deleted = true;
			goto out;
		}
		if (!strcmp(dir, "replace"))
			json_object_clear(dst);
	}
	json_t *keep = json_object_get(patch, WF__DIR_RETAIN);
	if (keep && (rc = wf__smp_retain(c, dst, patch, keep)))
		goto out;

	const char *key;
	size_t klen;
	json_t *pv;
	json_object_keylen_foreach((json_t *)patch, key, klen, pv)
	{
		const char *name;
		size_t nlen;
		if (wf__key_is(key, klen, WF__DIR_PATCH) || wf__key_is(key, klen, WF__DIR_RETAIN))
			continue;
		if (wf__has_prefix(key, klen, WF__DIR_ORDER)) {
			rc = wf__smp_parallel_name(c, key, klen, WF__DIR_ORDER, pv, &name, &nlen);
			if (rc)
				break;
			if (json_object_getn(patch, name, nlen))
				continue; /* applied with the list itself */
			/* Only an order: reorder the live list. */
			const wf__smp_field *f = wf__smp_lookup(type, name, nlen);
			json_t *cur = json_object_getn(dst, name, nlen);
			if (!f || !f->merge || !json_is_array(cur))
				continue;
			size_t mark = wf__path_push_key(c, name, nlen);
			json_t *empty = wf__smp_new_array(), *res = NULL;
			rc = wf__smp_merge_list(c, cur, empty, f, pv, &res);
			json_decref(empty);
			wf__path_pop(c, mark);
			if (rc)
				break;
			wf__set(dst, name, nlen, res);
			continue;
		}
		if (wf__has_prefix(key, klen, WF__DIR_DELPRIM)) {
			rc = wf__smp_parallel_name(c, key, klen, WF__DIR_DELPRIM, pv, &name, &nlen);
			if (rc)
				break;
			size_t i;
			json_t *v;
			json_array_foreach(pv, i, v)
			{
				if (!wf__is_scalar(v)) {
					rc =
					    wf__smp_fail(c, "%.100s may list only primitives", key);
					break;
				}
			}
			if (rc)
				break;
			continue; /* applied after the merge */
		}
		size_t mark = wf__path_push_key(c, key, klen);
		rc = wf__smp_member(c, dst, patch, key, klen, pv, type);
		wf__path_pop(c, mark);
		if (rc)
			break;
	}
	if (rc)
		goto out;

	json_object_keylen_foreach((json_t *)patch, key, klen, pv)
	{
		if (wf__has_prefix(key, klen, WF__DIR_DELPRIM)) {
			size_t pl = sizeof WF__DIR_DELPRIM; /* prefix and '/' */
			wf__smp_delete_from_list(dst, key + pl, klen - pl, pv);
		}
	}
out:
	c->depth--;
	return rc;
}

int wf_strategic_merge_patch(const json_t *original, const json_t *patch, const char *group,
			     const char *kind, json_t **out, wf_err *err)
{
	if (!json_is_object(patch))
		return wf_err_set(err, WF_EINVAL,
				  "strategic merge patch: the patch must be a JSON object");
	if (!json_is_object(original))
		return wf_err_set(err, WF_EINVAL,
				  "strategic merge patch: the original must be a JSON object");
	wf__smp c = {.err = err};
	wf_buf_init(&c.path);
	json_t *work = wf__smp_copy(original);
	bool gone = false;
	int rc = wf__smp_map(&c, work, patch, wf__smp_kind_type(group, kind), &gone);
	wf_buf_free(&c.path);
	if (rc) {
		json_decref(work);
		return rc;
	}
	if (gone)
		json_object_clear(work);
	*out = work;
	return 0;
}

/* ---- the metadata, for server-side apply (apply.h) ----------------------------- */

const wf_patch_meta *wf_patch_meta_kind(const char *group, const char *kind)
{
	return wf__smp_kind_type(group, kind);
}

bool wf_patch_meta_field(const wf_patch_meta *type, const char *name, size_t len,
			 const wf_patch_meta **sub, bool *merge, const char **key)
{
	const wf__smp_field *f = wf__smp_lookup(type, name, len);
	*sub = f ? f->sub : NULL;
	*merge = f && f->merge;
	*key = f ? f->key : NULL;
	return f != NULL;
}
