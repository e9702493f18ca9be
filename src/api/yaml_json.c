/*
 * yaml_json.c - YAML to jansson, built from libyaml's event stream.
 *
 * Design: events drive an explicit stack of open collections (so deep input
 * costs heap, not C stack, and is cut off at WF_YAML_MAX_DEPTH before
 * libyaml reads further). Every value made - scalar, collection, mapping
 * key, alias copy - is counted against WF_YAML_MAX_NODES; an alias is
 * checked against the limits before it is copied, so an alias bomb fails
 * after a handful of copies instead of exhausting memory. An anchor is
 * registered when its node is complete, which also makes a node that refers
 * to itself an unknown anchor. Anchors live for one document.
 *
 * Invariants: every json_t on the stack or in the anchor table is owned by
 * this parser until handed to the caller; the caller's result shares nothing
 * with the anchor table (aliases are deep copies).
 */
#include "api/yaml_json.h"

#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "lib/wf_mem.h"

#define WF__TAG_PREFIX "tag:yaml.org,2002:"

typedef struct wf__yframe {
	json_t *node;	   /* the array or object being built */
	char *anchor;	   /* registered when the node ends, or NULL */
	size_t first;	   /* node counter when the node started */
	size_t height;	   /* collections from here down, this one included */
	bool have_key;	   /* mappings: a key waits for its value */
	bool key_is_merge; /* ... and it is "<<" */
	char *key;
	size_t key_len;
	yaml_mark_t key_mark;
	json_t *merged; /* mappings: keys that came from "<<" (may be overridden) */
} wf__yframe;

typedef struct wf__yanchor {
	json_t *node;
	size_t count;  /* values in the node, aliases expanded */
	size_t height; /* collections deep */
} wf__yanchor;

typedef struct wf__yaml {
	wf__yframe *st;
	size_t depth, cap;
	wf__yanchor *anchors;
	size_t nanchors, acap;
	json_t *anchor_names; /* name -> index in anchors (latest definition) */
	size_t nodes;
	json_t *root;
	bool have_root;
	yaml_mark_t mark;     /* start of the event being handled */
	yaml_mark_t doc_mark; /* start of the current document */
	wf_err *err;
} wf__yaml;

typedef int (*wf__ydoc_fn)(void *ctx, json_t *doc, const yaml_mark_t *mark, wf_err *err);

static int wf__yfail(wf__yaml *y, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int wf__yfail(wf__yaml *y, const char *fmt, ...)
{
	char msg[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return wf_err_set(y->err, WF_EINVAL, "yaml: line %zu, column %zu: %s", y->mark.line + 1,
			  y->mark.column + 1, msg);
}

static int wf__ycount(wf__yaml *y, size_t n)
{
	if (n > WF_YAML_MAX_NODES - y->nodes)
		return wf__yfail(y,
				 "the document expands to more than %d values (too many "
				 "aliases?)",
				 WF_YAML_MAX_NODES);
	y->nodes += n;
	return 0;
}

/* ---- scalars ------------------------------------------------------------- */

static bool wf__yeq(const char *s, size_t n, const char *lit)
{
	return strlen(lit) == n && !memcmp(s, lit, n);
}

static bool wf__yis_null(const char *s, size_t n)
{
	return n == 0 || wf__yeq(s, n, "~") || wf__yeq(s, n, "null") || wf__yeq(s, n, "Null") ||
	       wf__yeq(s, n, "NULL");
}

/* 1 true, 0 false, -1 not a boolean. */
static int wf__ybool(const char *s, size_t n)
{
	if (wf__yeq(s, n, "true") || wf__yeq(s, n, "True") || wf__yeq(s, n, "TRUE"))
		return 1;
	if (wf__yeq(s, n, "false") || wf__yeq(s, n, "False") || wf__yeq(s, n, "FALSE"))
		return 0;
	return -1;
}

static int wf__ydigit(char c, int base)
{
	int d = c >= '0' && c <= '9'   ? c - '0'
		: c >= 'a' && c <= 'f' ? c - 'a' + 10
		: c >= 'A' && c <= 'F' ? c - 'A' + 10
				       : 99;
	return d < base ? d : -1;
}

/* Core-schema integer: 1 with *v, 0 not an integer, -1 out of range. */
static int wf__yint(const char *s, size_t n, json_int_t *v)
{
	int base = 10;
	bool neg = false;
	size_t i = 0;
	if (n > 2 && s[0] == '0' && (s[1] == 'o' || s[1] == 'x')) {
		base = s[1] == 'o' ? 8 : 16;
		i = 2;
	} else if (n && (s[0] == '-' || s[0] == '+')) {
		neg = s[0] == '-';
		i = 1;
	}
	if (i == n)
		return 0;
	unsigned long long mag = 0, limit = neg ? 9223372036854775808ULL : 9223372036854775807ULL;
	bool over = false;
	for (; i < n; i++) {
		int d = wf__ydigit(s[i], base);
		if (d < 0)
			return 0;
		if (mag > (limit - (unsigned)d) / (unsigned)base)
			over = true;
		else
			mag = mag * (unsigned)base + (unsigned)d;
	}
	if (over)
		return -1;
	if (neg)
		*v = mag == 9223372036854775808ULL ? LLONG_MIN : -(json_int_t)mag;
	else
		*v = (json_int_t)mag;
	return 1;
}

/* Core-schema float: 1 with *v, 0 not a float, -1 infinite, NaN or too big. */
static int wf__yfloat(const char *s, size_t n, double *v)
{
	size_t i = 0;
	if (n && (s[0] == '-' || s[0] == '+'))
		i = 1;
	const char *r = s + i;
	size_t rn = n - i;
	if (wf__yeq(r, rn, ".inf") || wf__yeq(r, rn, ".Inf") || wf__yeq(r, rn, ".INF"))
		return -1;
	if (wf__yeq(s, n, ".nan") || wf__yeq(s, n, ".NaN") || wf__yeq(s, n, ".NAN"))
		return -1;
	/* [-+]? ( \.[0-9]+ | [0-9]+ ( \.[0-9]* )? ) ( [eE] [-+]? [0-9]+ )? */
	size_t int_digits = 0, frac_digits = 0;
	while (i < n && s[i] >= '0' && s[i] <= '9')
		i++, int_digits++;
	if (i < n && s[i] == '.') {
		i++;
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++, frac_digits++;
	}
	if (!int_digits && !frac_digits)
		return 0;
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < n && (s[i] == '-' || s[i] == '+'))
			i++;
		size_t exp_digits = 0;
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++, exp_digits++;
		if (!exp_digits)
			return 0;
	}
	if (i != n)
		return 0;
	char *copy = wf_xstrndup(s, n);
	double d = strtod(copy, NULL);
	free(copy);
	if (!isfinite(d))
		return -1;
	*v = d;
	return 1;
}

/*
 * Resolve a plain scalar by the core schema. Returns 0 with *out, or -1 with
 * *why for a number JSON cannot hold.
 */
static int wf__yresolve(const char *s, size_t n, json_t **out, const char **why)
{
	json_int_t iv;
	double dv;
	int b, r;
	if (wf__yis_null(s, n)) {
		*out = json_null();
		return 0;
	}
	if ((b = wf__ybool(s, n)) >= 0) {
		*out = json_boolean(b);
		return 0;
	}
	if ((r = wf__yint(s, n, &iv)) != 0) {
		if (r < 0) {
			*why = "integer out of the 64-bit range";
			return -1;
		}
		*out = json_integer(iv);
		return 0;
	}
	if ((r = wf__yfloat(s, n, &dv)) != 0) {
		if (r < 0) {
			*why = "infinite or NaN numbers cannot be represented in JSON";
			return -1;
		}
		*out = json_real(dv);
		return 0;
	}
	*out = json_stringn(s, n);
	if (!*out)
		*why = "invalid UTF-8";
	return *out ? 0 : -1;
}

/* The scalar event as a value; *is_merge when it is the plain key "<<". */
static int wf__yscalar(wf__yaml *y, const yaml_event_t *ev, json_t **out, bool *is_merge)
{
	const char *s = (const char *)ev->data.scalar.value;
	size_t n = ev->data.scalar.length;
	const char *tag = (const char *)ev->data.scalar.tag;
	bool plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
	const char *why = NULL;
	json_t *v = NULL;

	*is_merge = !tag && plain && wf__yeq(s, n, "<<");
	if (!tag && !plain)
		tag = "!";
	if (!tag) {
		if (wf__yresolve(s, n, &v, &why))
			return wf__yfail(y, "%s", why);
	} else if (!strcmp(tag, "!") || !strcmp(tag, WF__TAG_PREFIX "str") ||
		   !strcmp(tag, WF__TAG_PREFIX "binary") ||
		   !strcmp(tag, WF__TAG_PREFIX "timestamp")) {
		v = json_stringn(s, n);
		if (!v)
			return wf__yfail(y, "invalid UTF-8 in a string");
	} else if (!strcmp(tag, WF__TAG_PREFIX "null") || !strcmp(tag, WF__TAG_PREFIX "bool") ||
		   !strcmp(tag, WF__TAG_PREFIX "int") || !strcmp(tag, WF__TAG_PREFIX "float")) {
		const char *want = tag + strlen(WF__TAG_PREFIX);
		if (wf__yresolve(s, n, &v, &why))
			return wf__yfail(y, "%s", why);
		bool ok = !strcmp(want, "null")	  ? json_is_null(v)
			  : !strcmp(want, "bool") ? json_is_boolean(v)
			  : !strcmp(want, "int")  ? json_is_integer(v)
						  : json_is_number(v);
		if (!ok) {
			json_decref(v);
			return wf__yfail(y, "\"%.60s\" is not a valid !!%s", s, want);
		}
		if (json_is_integer(v) && !strcmp(want, "float")) {
			json_t *r = json_real((double)json_integer_value(v));
			json_decref(v);
			v = r;
		}
	} else {
		return wf__yfail(y, "unsupported tag %.100s on a scalar", tag);
	}
	if (!v)
		abort(); /* jansson fails only when out of memory */
	*out = v;
	return 0;
}

/* Text of a scalar used as a mapping key. */
static char *wf__ykey_text(const json_t *v, size_t *len)
{
	char buf[64];
	switch (json_typeof(v)) {
	case JSON_STRING:
		*len = json_string_length(v);
		return wf_xstrndup(json_string_value(v), *len);
	case JSON_INTEGER:
		snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(v));
		break;
	case JSON_REAL:
		for (int prec = 15; prec <= 17; prec++) {
			snprintf(buf, sizeof buf, "%.*g", prec, json_real_value(v));
			if (strtod(buf, NULL) == json_real_value(v))
				break;
		}
		break;
	case JSON_TRUE:
		strcpy(buf, "true");
		break;
	case JSON_FALSE:
		strcpy(buf, "false");
		break;
	default:
		strcpy(buf, "null");
		break;
	}
	*len = strlen(buf);
	return wf_xstrdup(buf);
}

/* ---- building ---------------------------------------------------------------- */

static void wf__yframe_free(wf__yframe *f)
{
	json_decref(f->node);
	json_decref(f->merged);
	free(f->anchor);
	free(f->key);
}

static void wf__yanchors_clear(wf__yaml *y)
{
	for (size_t i = 0; i < y->nanchors; i++)
		json_decref(y->anchors[i].node);
	y->nanchors = 0;
	json_object_clear(y->anchor_names);
}

static void wf__yanchor_add(wf__yaml *y, const char *name, json_t *node, size_t count,
			    size_t height)
{
	if (y->nanchors == y->acap) {
		y->acap = y->acap ? 2 * y->acap : 16;
		y->anchors = wf_xrealloc(y->anchors, y->acap * sizeof *y->anchors);
	}
	y->anchors[y->nanchors] =
	    (wf__yanchor){.node = json_incref(node), .count = count, .height = height};
	json_t *idx = json_integer((json_int_t)y->nanchors++);
	if (!idx || json_object_set_new_nocheck(y->anchor_names, name, idx))
		abort();
}

/* Merge the mapping src into the open mapping f ("<<"): present keys win. */
static void wf__ymerge_one(wf__yframe *f, json_t *src)
{
	const char *k;
	size_t kl;
	json_t *v;
	json_object_keylen_foreach(src, k, kl, v)
	{
		if (json_object_getn(f->node, k, kl))
			continue;
		if (json_object_setn_new_nocheck(f->node, k, kl, json_incref(v)) ||
		    json_object_setn_new_nocheck(f->merged, k, kl, json_true()))
			abort();
	}
}

/* Put a finished value (ownership taken) where it belongs. */
static int wf__yplace(wf__yaml *y, json_t *v, size_t height, bool is_merge)
{
	if (y->depth == 0) {
		y->root = v;
		y->have_root = true;
		return 0;
	}
	wf__yframe *f = &y->st[y->depth - 1];
	if (height + 1 > f->height)
		f->height = height + 1;
	if (json_is_array(f->node)) {
		if (json_array_append_new(f->node, v))
			abort();
		return 0;
	}
	if (!f->have_key) {
		if (json_is_object(v) || json_is_array(v)) {
			json_decref(v);
			return wf__yfail(y, "mapping keys must be scalars, not collections");
		}
		f->key = wf__ykey_text(v, &f->key_len);
		json_decref(v);
		if (memchr(f->key, '\0', f->key_len)) {
			free(f->key);
			f->key = NULL;
			return wf__yfail(y, "mapping keys may not contain NUL bytes");
		}
		f->key_is_merge = is_merge;
		f->key_mark = y->mark;
		f->have_key = true;
		return 0;
	}
	int rc = 0;
	if (f->key_is_merge) {
		if (!f->merged && !(f->merged = json_object()))
			abort();
		bool ok = json_is_object(v) || json_is_array(v);
		for (size_t i = 0; ok && json_is_array(v) && i < json_array_size(v); i++)
			ok = json_is_object(json_array_get(v, i));
		if (!ok)
			rc = wf__yfail(y, "the value of a \"<<\" merge key must be a mapping or a "
					  "list of mappings");
		else if (json_is_object(v))
			wf__ymerge_one(f, v);
		else
			for (size_t i = 0; i < json_array_size(v); i++)
				wf__ymerge_one(f, json_array_get(v, i));
		json_decref(v);
	} else if (json_object_getn(f->node, f->key, f->key_len) &&
		   !json_object_getn(f->merged, f->key, f->key_len)) {
		y->mark = f->key_mark;
		rc = wf__yfail(y, "duplicate key \"%.100s\"", f->key);
		json_decref(v);
	} else {
		if (json_object_setn_new(f->node, f->key, f->key_len, v))
			rc = wf__yfail(y, "invalid mapping key");
		if (f->merged)
			json_object_deln(f->merged, f->key, f->key_len);
	}
	free(f->key);
	f->key = NULL;
	f->have_key = false;
	return rc;
}

static bool wf__ytag_ok(const char *tag, const char *kind)
{
	if (!tag || !strcmp(tag, "!"))
		return true;
	return !strncmp(tag, WF__TAG_PREFIX, strlen(WF__TAG_PREFIX)) &&
	       !strcmp(tag + strlen(WF__TAG_PREFIX), kind);
}

static int wf__yopen(wf__yaml *y, bool mapping, const char *anchor, const char *tag)
{
	if (!wf__ytag_ok(tag, mapping ? "map" : "seq"))
		return wf__yfail(y, "unsupported tag %.100s on a %s", tag,
				 mapping ? "mapping" : "sequence");
	if (y->depth >= WF_YAML_MAX_DEPTH)
		return wf__yfail(y, "collections nested deeper than %d levels", WF_YAML_MAX_DEPTH);
	size_t first = y->nodes;
	int rc = wf__ycount(y, 1);
	if (rc)
		return rc;
	if (y->depth == y->cap) {
		y->cap = y->cap ? 2 * y->cap : 32;
		y->st = wf_xrealloc(y->st, y->cap * sizeof *y->st);
	}
	json_t *node = mapping ? json_object() : json_array();
	if (!node)
		abort();
	y->st[y->depth++] = (wf__yframe){
	    .node = node,
	    .anchor = anchor ? wf_xstrdup(anchor) : NULL,
	    .first = first,
	    .height = 1,
	};
	return 0;
}

static int wf__yclose(wf__yaml *y)
{
	wf__yframe f = y->st[--y->depth];
	json_t *node = f.node;
	if (f.anchor)
		wf__yanchor_add(y, f.anchor, node, y->nodes - f.first, f.height);
	f.node = NULL;
	wf__yframe_free(&f);
	return wf__yplace(y, node, f.height, false);
}

static int wf__yalias(wf__yaml *y, const char *name)
{
	json_t *idx = json_object_get(y->anchor_names, name);
	if (!idx)
		return wf__yfail(y,
				 "unknown anchor \"%.100s\" (aliases may refer only to "
				 "complete nodes defined before them)",
				 name);
	wf__yanchor *a = &y->anchors[json_integer_value(idx)];
	if (y->depth + a->height > WF_YAML_MAX_DEPTH)
		return wf__yfail(y, "collections nested deeper than %d levels", WF_YAML_MAX_DEPTH);
	int rc = wf__ycount(y, a->count);
	if (rc)
		return rc;
	json_t *copy = json_deep_copy(a->node);
	if (!copy)
		abort();
	return wf__yplace(y, copy, a->height, false);
}

static int wf__yevent(wf__yaml *y, const yaml_event_t *ev, wf__ydoc_fn fn, void *ctx)
{
	int rc = 0;
	switch (ev->type) {
	case YAML_DOCUMENT_START_EVENT:
		y->doc_mark = ev->start_mark;
		y->root = NULL;
		y->have_root = false;
		return 0;
	case YAML_DOCUMENT_END_EVENT: {
		json_t *doc = y->have_root ? y->root : json_null();
		y->root = NULL;
		y->have_root = false;
		wf__yanchors_clear(y);
		return fn(ctx, doc, &y->doc_mark, y->err);
	}
	case YAML_SCALAR_EVENT: {
		json_t *v = NULL;
		bool is_merge = false;
		if ((rc = wf__ycount(y, 1)) || (rc = wf__yscalar(y, ev, &v, &is_merge)))
			return rc;
		if (ev->data.scalar.anchor)
			wf__yanchor_add(y, (const char *)ev->data.scalar.anchor, v, 1, 0);
		return wf__yplace(y, v, 0, is_merge);
	}
	case YAML_SEQUENCE_START_EVENT:
		return wf__yopen(y, false, (const char *)ev->data.sequence_start.anchor,
				 (const char *)ev->data.sequence_start.tag);
	case YAML_MAPPING_START_EVENT:
		return wf__yopen(y, true, (const char *)ev->data.mapping_start.anchor,
				 (const char *)ev->data.mapping_start.tag);
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		return wf__yclose(y);
	case YAML_ALIAS_EVENT:
		return wf__yalias(y, (const char *)ev->data.alias.anchor);
	default:
		return 0;
	}
}

static int wf__yparser_error(const yaml_parser_t *p, wf_err *err)
{
	const char *problem = p->problem ? p->problem : "malformed YAML";
	switch (p->error) {
	case YAML_MEMORY_ERROR:
		return wf_err_set(err, WF_ENOMEM, "yaml: out of memory");
	case YAML_READER_ERROR:
		return wf_err_set(err, WF_EINVAL, "yaml: %s at byte %zu", problem,
				  p->problem_offset);
	default:
		if (p->context)
			return wf_err_set(err, WF_EINVAL,
					  "yaml: line %zu, column %zu: %s %s (line %zu, column "
					  "%zu)",
					  p->problem_mark.line + 1, p->problem_mark.column + 1,
					  problem, p->context, p->context_mark.line + 1,
					  p->context_mark.column + 1);
		return wf_err_set(err, WF_EINVAL, "yaml: line %zu, column %zu: %s",
				  p->problem_mark.line + 1, p->problem_mark.column + 1, problem);
	}
}

/* Parse the stream, handing each document (owned) to fn. */
static int wf__yaml_run(const char *text, size_t len, wf__ydoc_fn fn, void *ctx, wf_err *err)
{
	yaml_parser_t parser;
	if (!yaml_parser_initialize(&parser))
		abort();
	yaml_parser_set_input_string(&parser, (const unsigned char *)(text ? text : ""),
				     text ? len : 0);
	wf__yaml y = {.err = err, .anchor_names = json_object()};
	if (!y.anchor_names)
		abort();
	int rc = 0;
	for (bool done = false; !done && !rc;) {
		yaml_event_t ev;
		if (!yaml_parser_parse(&parser, &ev)) {
			rc = wf__yparser_error(&parser, err);
			break;
		}
		y.mark = ev.start_mark;
		done = ev.type == YAML_STREAM_END_EVENT;
		rc = wf__yevent(&y, &ev, fn, ctx);
		yaml_event_delete(&ev);
	}
	while (y.depth)
		wf__yframe_free(&y.st[--y.depth]);
	free(y.st);
	json_decref(y.root);
	wf__yanchors_clear(&y);
	free(y.anchors);
	json_decref(y.anchor_names);
	yaml_parser_delete(&parser);
	return rc;
}

/* ---- entry points ------------------------------------------------------------- */

static int wf__yone_doc(void *ctx, json_t *doc, const yaml_mark_t *mark, wf_err *err)
{
	json_t **slot = ctx;
	if (json_is_null(doc)) {
		json_decref(doc);
		return 0;
	}
	if (*slot) {
		json_decref(doc);
		return wf_err_set(err, WF_EINVAL,
				  "yaml: line %zu: expected one YAML document, found another here",
				  mark->line + 1);
	}
	*slot = doc;
	return 0;
}

static int wf__yall_doc(void *ctx, json_t *doc, const yaml_mark_t *mark, wf_err *err)
{
	if (json_is_null(doc)) {
		json_decref(doc);
		return 0;
	}
	if (json_array_append_new(ctx, doc))
		abort();
	return 0;
}

int wf_yaml_to_json(const char *text, size_t len, json_t **out, wf_err *err)
{
	json_t *doc = NULL;
	int rc = wf__yaml_run(text, len, wf__yone_doc, &doc, err);
	if (rc) {
		json_decref(doc);
		return rc;
	}
	if (!doc)
		return wf_err_set(err, WF_EINVAL, "yaml: the input holds no document");
	*out = doc;
	return 0;
}

int wf_yaml_to_json_all(const char *text, size_t len, json_t **array_out, wf_err *err)
{
	json_t *docs = json_array();
	if (!docs)
		abort();
	int rc = wf__yaml_run(text, len, wf__yall_doc, docs, err);
	if (rc) {
		json_decref(docs);
		return rc;
	}
	*array_out = docs;
	return 0;
}
