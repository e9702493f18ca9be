/*
 * tables.c - the lookup of Table definitions by (group, resource), the
 * generic NAME/AGE table, and the helpers every printer shares.
 *
 * The printers themselves live in tables_pods.c (pods, nodes),
 * tables_core.c (the other core/v1 kinds) and tables_batch.c (batch,
 * coordination, scheduling). All definitions are static constants; the
 * only allocations are the formatting helpers' short-lived scratch
 * buffers and arrays.
 */
#include "registry/tables_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- JSON readers ------------------------------------------------------ */

static const json_t *wf__tbl_vat(const json_t *o, va_list ap)
{
	const char *key;
	while ((key = va_arg(ap, const char *)) != NULL) {
		if (!json_is_object(o))
			return NULL;
		o = json_object_get(o, key);
	}
	return o;
}

const json_t *wf__tbl_at(const json_t *o, ...)
{
	va_list ap;
	va_start(ap, o);
	const json_t *v = wf__tbl_vat(o, ap);
	va_end(ap);
	return v;
}

const char *wf__tbl_str(const json_t *o, ...)
{
	va_list ap;
	va_start(ap, o);
	const json_t *v = wf__tbl_vat(o, ap);
	va_end(ap);
	return wf__tbl_sval(v);
}

const char *wf__tbl_sval(const json_t *v)
{
	return json_is_string(v) ? json_string_value(v) : NULL;
}

bool wf__tbl_int(const json_t *v, int64_t *out)
{
	if (!json_is_integer(v))
		return false;
	*out = (int64_t)json_integer_value(v);
	return true;
}

int64_t wf__tbl_int_clamp(const json_t *v, int64_t lo, int64_t hi, int64_t def)
{
	int64_t x;
	if (!wf__tbl_int(v, &x))
		return def;
	if (x < lo)
		return lo;
	if (x > hi)
		return hi;
	return x;
}

size_t wf__tbl_count(const json_t *v)
{
	if (json_is_object(v))
		return json_object_size(v);
	if (json_is_array(v))
		return json_array_size(v);
	return 0;
}

bool wf__tbl_time(const json_t *v, time_t *out)
{
	const char *s = wf__tbl_sval(v);
	return s && wf_time_parse_rfc3339(s, out) == 0;
}

const char *wf__tbl_name(const json_t *obj)
{
	const char *s = wf__tbl_str(obj, "metadata", "name", NULL);
	return s ? s : "";
}

bool wf__tbl_nonempty(const char *s)
{
	return s && *s;
}

bool wf__tbl_present(const json_t *v)
{
	return v && !json_is_null(v);
}

bool wf__tbl_cond_true(const json_t *conds, const char *type)
{
	size_t i;
	const json_t *c;
	json_array_foreach(conds, i, c)
	{
		const char *t = wf__tbl_str(c, "type", NULL);
		if (t && strcmp(t, type) == 0) {
			const char *st = wf__tbl_str(c, "status", NULL);
			return st && strcmp(st, "True") == 0;
		}
	}
	return false;
}

char *wf__tbl_since(const json_t *v, time_t now, char *buf)
{
	time_t t;
	if (!v || json_is_null(v)) {
		snprintf(buf, WF_TIME_DURATION_LEN, "<unknown>");
		return buf;
	}
	if (!wf__tbl_time(v, &t)) {
		snprintf(buf, WF_TIME_DURATION_LEN, "<invalid>");
		return buf;
	}
	return wf_time_human_duration((int64_t)now - (int64_t)t, buf, WF_TIME_DURATION_LEN);
}

/* ---- cell appenders ---------------------------------------------------- */

static void wf__tbl_append(json_t *cells, json_t *v)
{
	json_array_append_new(cells, v ? v : json_null());
}

void wf__tbl_add_str(json_t *cells, const char *s)
{
	wf__tbl_append(cells, json_string(s ? s : ""));
}

void wf__tbl_add_int(json_t *cells, int64_t v)
{
	wf__tbl_append(cells, json_integer((json_int_t)v));
}

void wf__tbl_add_bool(json_t *cells, bool v)
{
	wf__tbl_append(cells, json_boolean(v));
}

void wf__tbl_add_null(json_t *cells)
{
	json_array_append_new(cells, json_null());
}

void wf__tbl_add_age(json_t *cells, const json_t *obj, time_t now)
{
	char buf[WF_TIME_DURATION_LEN];
	wf__tbl_add_str(
	    cells, wf__tbl_since(wf__tbl_at(obj, "metadata", "creationTimestamp", NULL), now, buf));
}

/* ---- Kubernetes string formats ----------------------------------------- */

static int wf__tbl_cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void wf__tbl_join_sorted_unique(const char **v, size_t n, const char *sep, wf_buf *out)
{
	if (n > 1)
		qsort(v, n, sizeof(*v), wf__tbl_cmp_str);
	for (size_t i = 0; i < n; i++) {
		if (i > 0 && strcmp(v[i], v[i - 1]) == 0)
			continue;
		if (i > 0)
			wf_buf_puts(out, sep);
		wf_buf_puts(out, v[i]);
	}
}

void wf__tbl_format_labels(const json_t *map, wf_buf *out)
{
	size_t n = json_is_object(map) ? json_object_size(map) : 0;
	if (n == 0) {
		wf_buf_puts(out, "<none>");
		return;
	}
	const char **keys = wf_xcalloc(n, sizeof(*keys));
	size_t k = 0;
	const char *key;
	json_t *val;
	json_object_foreach((json_t *)map, key, val)
	{
		if (k < n)
			keys[k++] = key;
	}
	qsort(keys, k, sizeof(*keys), wf__tbl_cmp_str);
	for (size_t i = 0; i < k; i++) {
		const char *v = wf__tbl_sval(json_object_get(map, keys[i]));
		if (i > 0)
			wf_buf_putc(out, ',');
		wf_buf_puts(out, keys[i]);
		wf_buf_putc(out, '=');
		wf_buf_puts(out, v ? v : "");
	}
	free(keys);
}

enum wf__tbl_sel_op { WF__SEL_EQ, WF__SEL_IN, WF__SEL_NOTIN, WF__SEL_EXISTS, WF__SEL_NOTEXISTS };

typedef struct wf__tbl_req {
	const char *key;
	enum wf__tbl_sel_op op;
	const json_t *values; /* array of strings (IN, NOTIN) */
	const char *value;    /* EQ */
	size_t order;	      /* tie-break so equal keys keep their order */
} wf__tbl_req;

static int wf__tbl_cmp_req(const void *a, const void *b)
{
	const wf__tbl_req *x = a, *y = b;
	int c = strcmp(x->key, y->key);
	if (c)
		return c;
	return x->order < y->order ? -1 : x->order > y->order;
}

/* Collect requirements from a LabelSelector; false when Kubernetes would
 * refuse to turn it into a selector. */
static bool wf__tbl_selector_reqs(const json_t *sel, wf__tbl_req *reqs, size_t *nreqs)
{
	const json_t *ml = json_object_get(sel, "matchLabels");
	const json_t *me = json_object_get(sel, "matchExpressions");
	size_t n = 0;
	const char *key;
	json_t *val;

	if (ml && !json_is_null(ml) && !json_is_object(ml))
		return false;
	if (me && !json_is_null(me) && !json_is_array(me))
		return false;
	if (json_is_object(ml)) {
		json_object_foreach((json_t *)ml, key, val)
		{
			if (!json_is_string(val))
				return false;
			reqs[n] = (wf__tbl_req){.key = key,
						.op = WF__SEL_EQ,
						.value = json_string_value(val),
						.order = n};
			n++;
		}
	}
	size_t i;
	json_array_foreach(me, i, val)
	{
		const char *k = wf__tbl_str(val, "key", NULL);
		const char *op = wf__tbl_str(val, "operator", NULL);
		const json_t *vals = json_object_get(val, "values");
		size_t nv = 0;
		if (!k || !op)
			return false;
		if (vals && !json_is_null(vals)) {
			size_t j;
			json_t *s;
			if (!json_is_array(vals))
				return false;
			json_array_foreach(vals, j, s)
			{
				if (!json_is_string(s))
					return false;
			}
			nv = json_array_size(vals);
		}
		wf__tbl_req r = {.key = k, .values = vals, .order = n};
		if (strcmp(op, "In") == 0)
			r.op = WF__SEL_IN;
		else if (strcmp(op, "NotIn") == 0)
			r.op = WF__SEL_NOTIN;
		else if (strcmp(op, "Exists") == 0)
			r.op = WF__SEL_EXISTS;
		else if (strcmp(op, "DoesNotExist") == 0)
			r.op = WF__SEL_NOTEXISTS;
		else
			return false;
		if ((r.op == WF__SEL_IN || r.op == WF__SEL_NOTIN) ? nv == 0 : nv != 0)
			return false;
		reqs[n++] = r;
	}
	*nreqs = n;
	return true;
}

void wf__tbl_format_selector(const json_t *sel, wf_buf *out)
{
	if (!sel || json_is_null(sel)) {
		wf_buf_puts(out, "<none>");
		return;
	}
	if (!json_is_object(sel)) {
		wf_buf_puts(out, "<error>");
		return;
	}
	size_t cap = wf__tbl_count(json_object_get(sel, "matchLabels")) +
		     wf__tbl_count(json_object_get(sel, "matchExpressions"));
	wf__tbl_req *reqs = wf_xcalloc(cap ? cap : 1, sizeof(*reqs));
	size_t n = 0;
	if (!wf__tbl_selector_reqs(sel, reqs, &n)) {
		wf_buf_puts(out, "<error>");
		free(reqs);
		return;
	}
	if (n == 0) {
		wf_buf_puts(out, "<none>");
		free(reqs);
		return;
	}
	qsort(reqs, n, sizeof(*reqs), wf__tbl_cmp_req);
	for (size_t i = 0; i < n; i++) {
		const wf__tbl_req *r = &reqs[i];
		if (i > 0)
			wf_buf_putc(out, ',');
		switch (r->op) {
		case WF__SEL_EQ:
			wf_buf_printf(out, "%s=%s", r->key, r->value);
			break;
		case WF__SEL_EXISTS:
			wf_buf_puts(out, r->key);
			break;
		case WF__SEL_NOTEXISTS:
			wf_buf_printf(out, "!%s", r->key);
			break;
		case WF__SEL_IN:
		case WF__SEL_NOTIN: {
			size_t nv = json_array_size(r->values), j;
			const char **v = wf_xcalloc(nv, sizeof(*v));
			for (j = 0; j < nv; j++)
				v[j] = json_string_value(json_array_get(r->values, j));
			qsort(v, nv, sizeof(*v), wf__tbl_cmp_str);
			wf_buf_printf(out, "%s %s (", r->key, r->op == WF__SEL_IN ? "in" : "notin");
			for (j = 0; j < nv; j++) {
				if (j > 0)
					wf_buf_putc(out, ',');
				wf_buf_puts(out, v[j]);
			}
			wf_buf_putc(out, ')');
			free(v);
			break;
		}
		}
	}
	free(reqs);
}

void wf__tbl_containers(const json_t *containers, wf_buf *names, wf_buf *images)
{
	size_t i;
	const json_t *c;
	json_array_foreach(containers, i, c)
	{
		const char *name = wf__tbl_str(c, "name", NULL);
		const char *image = wf__tbl_str(c, "image", NULL);
		if (i > 0) {
			wf_buf_putc(names, ',');
			wf_buf_putc(images, ',');
		}
		wf_buf_puts(names, name ? name : "");
		wf_buf_puts(images, image ? image : "");
	}
}

/* ---- the generic table and the lookup ---------------------------------- */

static const wf_column wf__generic_cols[] = {
    {"Name", "string", "name", WF__DESC_NAME, 0},
    {"Age", "date", "", WF__DESC_AGE, 0},
};

static void wf__generic_row(const json_t *obj, time_t now, json_t *cells)
{
	wf__tbl_add_str(cells, wf__tbl_name(obj));
	wf__tbl_add_age(cells, obj, now);
}

static const wf_table_def wf__table_generic = {
    .resource = "",
    .cols = wf__generic_cols,
    .ncols = sizeof(wf__generic_cols) / sizeof(wf__generic_cols[0]),
    .row = wf__generic_row,
};

static const struct {
	const char *group;
	const wf_table_def *def;
} wf__tables[] = {
    {"", &wf__table_pods},
    {"", &wf__table_nodes},
    {"", &wf__table_namespaces},
    {"", &wf__table_events},
    {"events.k8s.io", &wf__table_events},
    {"", &wf__table_configmaps},
    {"", &wf__table_secrets},
    {"", &wf__table_services},
    {"", &wf__table_serviceaccounts},
    {"coordination.k8s.io", &wf__table_leases},
    {"batch", &wf__table_jobs},
    {"scheduling.k8s.io", &wf__table_priorityclasses},
    {"scheduling.x-k8s.io", &wf__table_podgroups},
    {"kubeflow.org", &wf__table_pytorchjobs},
};

const wf_table_def *wf_table_def_find(const char *group, const char *resource)
{
	if (!resource)
		return NULL;
	if (!group)
		group = "";
	for (size_t i = 0; i < sizeof(wf__tables) / sizeof(wf__tables[0]); i++) {
		if (strcmp(wf__tables[i].group, group) == 0 &&
		    strcmp(wf__tables[i].def->resource, resource) == 0)
			return wf__tables[i].def;
	}
	return NULL;
}

const wf_table_def *wf_table_def_generic(void)
{
	return &wf__table_generic;
}
