/*
 * apply.c - server-side apply: FieldsV1 field sets, managedFields entries and
 * the apply merge with conflicts (see apply.h for the contracts).
 *
 * Design: a field set stays in its FieldsV1 JSON form the whole time, a trie
 * of jansson objects keyed by path element, so sets read from managedFields
 * need no conversion and the set operations are plain recursive walks with
 * hash lookups. Sets read from outside are normalized first (k: and v: keys
 * re-encoded the one way this file writes them) so that equal paths are
 * equal strings. Lists are matched to set nodes through a hash from each
 * item's path element, so removal and conflict checks stay linear on
 * hostile lists.
 *
 * Apply follows structured-merge-diff: remove what the manager gave up and
 * no one else holds, merge the applied object with the strategic engine (its
 * metadata is what defines keyed and atomic lists here too), then compare
 * live and merged on the fields other managers share with the applier.
 * Differences from Kubernetes, on purpose or for now: only "Apply" entries
 * raise conflicts ("Update" entries just lose the changed fields), lists
 * are keyed on the strategic merge key alone (Kubernetes keys container
 * ports on containerPort and protocol), and no "Update" entries are written
 * by other writes.
 */
#include "api/apply.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/patch.h"
#include "lib/wf_time.h"

/* ---- small helpers ------------------------------------------------------- */

static json_t *wf__obj(void)
{
	json_t *o = json_object();
	if (!o)
		abort(); /* jansson fails only when out of memory */
	return o;
}

static json_t *wf__copy(const json_t *v)
{
	json_t *c = json_deep_copy(v);
	if (!c)
		abort();
	return c;
}

static void wf__put(json_t *o, const char *k, size_t kl, json_t *v)
{
	if (json_object_setn_new_nocheck(o, k, kl, v))
		abort();
}

static void wf__append(json_t *a, json_t *v)
{
	if (json_array_append_new(a, v))
		abort();
}

static bool wf__is_self(const char *k, size_t kl)
{
	return kl == 1 && k[0] == '.';
}

/* A node is a member when it is a leaf {} or says so with ".". */
static bool wf__member(const json_t *n)
{
	return !json_object_size(n) || json_object_getn(n, ".", 1);
}

static bool wf__has_children(const json_t *n)
{
	return json_object_size(n) > (json_object_getn(n, ".", 1) ? 1u : 0u);
}

static bool wf__scalar(const json_t *v)
{
	return v && !json_is_object(v) && !json_is_array(v);
}

/* Compact JSON text, keys sorted; caller frees. */
static char *wf__dump(const json_t *v)
{
	char *s = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
	if (!s)
		abort();
	return s;
}

/*
 * Close a node built from children only: a member gets "." beside children
 * (or is the leaf {}), a non-member without children is no node (NULL).
 * The root keeps whatever it has.
 */
static json_t *wf__finish(json_t *out, bool member, bool root)
{
	if (root)
		return out;
	if (member) {
		if (json_object_size(out))
			wf__put(out, ".", 1, wf__obj());
		return out;
	}
	if (!json_object_size(out)) {
		json_decref(out);
		return NULL;
	}
	return out;
}

/* ---- set operations ------------------------------------------------------ */

static json_t *wf__union(const json_t *a, const json_t *b, bool root)
{
	json_t *out = wf__obj(), *av, *bv;
	const char *k;
	size_t kl;
	json_object_keylen_foreach((json_t *)a, k, kl, av)
	{
		if (wf__is_self(k, kl))
			continue;
		bv = json_object_getn(b, k, kl);
		json_t *c = bv ? wf__union(av, bv, false) : wf__copy(av);
		if (c)
			wf__put(out, k, kl, c);
	}
	json_object_keylen_foreach((json_t *)b, k, kl, bv)
	{
		if (!wf__is_self(k, kl) && !json_object_getn(a, k, kl))
			wf__put(out, k, kl, wf__copy(bv));
	}
	return wf__finish(out, wf__member(a) || wf__member(b), root);
}

static json_t *wf__intersection(const json_t *a, const json_t *b, bool root)
{
	json_t *out = wf__obj(), *av, *bv;
	const char *k;
	size_t kl;
	json_object_keylen_foreach((json_t *)a, k, kl, av)
	{
		if (wf__is_self(k, kl) || !(bv = json_object_getn(b, k, kl)))
			continue;
		json_t *c = wf__intersection(av, bv, false);
		if (c)
			wf__put(out, k, kl, c);
	}
	return wf__finish(out, wf__member(a) && wf__member(b), root);
}

static json_t *wf__difference(const json_t *a, const json_t *b, bool root, bool recursive)
{
	if (!root && recursive && wf__member(b))
		return NULL;
	json_t *out = wf__obj(), *av, *bv;
	const char *k;
	size_t kl;
	json_object_keylen_foreach((json_t *)a, k, kl, av)
	{
		if (wf__is_self(k, kl))
			continue;
		bv = json_object_getn(b, k, kl);
		json_t *c = bv ? wf__difference(av, bv, false, recursive) : wf__copy(av);
		if (c)
			wf__put(out, k, kl, c);
	}
	return wf__finish(out, wf__member(a) && !wf__member(b), root);
}

json_t *wf_fieldset_union(const json_t *a, const json_t *b)
{
	return wf__union(a, b, true);
}

json_t *wf_fieldset_intersection(const json_t *a, const json_t *b)
{
	return wf__intersection(a, b, true);
}

json_t *wf_fieldset_difference(const json_t *a, const json_t *b)
{
	return wf__difference(a, b, true, false);
}

json_t *wf_fieldset_recursive_difference(const json_t *a, const json_t *b)
{
	return wf__difference(a, b, true, true);
}

static bool wf__empty(const json_t *n)
{
	const char *k;
	size_t kl;
	json_t *v;
	json_object_keylen_foreach((json_t *)n, k, kl, v)
	{
		if (!wf__is_self(k, kl) && (wf__member(v) || !wf__empty(v)))
			return false;
	}
	return true;
}

bool wf_fieldset_empty(const json_t *set)
{
	return wf__empty(set);
}

typedef struct wf__key {
	const char *k;
	size_t kl;
	json_t *v;
} wf__key;

static int wf__key_cmp(const void *pa, const void *pb)
{
	const wf__key *a = pa, *b = pb;
	int c = memcmp(a->k, b->k, a->kl < b->kl ? a->kl : b->kl);
	if (c)
		return c;
	return a->kl < b->kl ? -1 : a->kl > b->kl;
}

json_t *wf_fieldset_sorted(const json_t *set)
{
	size_t n = json_object_size(set), i = 0;
	wf__key *keys = wf_xcalloc(n ? n : 1, sizeof *keys);
	const char *k;
	size_t kl;
	json_t *v;
	json_object_keylen_foreach((json_t *)set, k, kl, v) keys[i++] = (wf__key){k, kl, v};
	qsort(keys, n, sizeof *keys, wf__key_cmp);
	json_t *out = wf__obj();
	for (i = 0; i < n; i++)
		wf__put(out, keys[i].k, keys[i].kl,
			json_is_object(keys[i].v) ? wf_fieldset_sorted(keys[i].v) : wf__obj());
	free(keys);
	return out;
}

/* ---- path elements ------------------------------------------------------- */

/* "k:" + the key fields of item named by names (an object), or false. */
static bool wf__item_key_pe(wf_buf *b, const json_t *item, const json_t *names)
{
	if (!json_is_object(item) || !json_object_size(names))
		return false;
	json_t *key = wf__obj();
	const char *k;
	size_t kl;
	json_t *v;
	json_object_keylen_foreach((json_t *)names, k, kl, v)
	{
		json_t *iv = json_object_getn(item, k, kl);
		if (!iv) {
			json_decref(key);
			return false;
		}
		if (json_object_setn_nocheck(key, k, kl, iv))
			abort();
	}
	char *s = wf__dump(key);
	json_decref(key);
	b->len = 0;
	wf_buf_puts(b, "k:");
	wf_buf_puts(b, s);
	free(s);
	return true;
}

static void wf__item_value_pe(wf_buf *b, const json_t *item)
{
	char *s = wf__dump(item);
	b->len = 0;
	wf_buf_puts(b, "v:");
	wf_buf_puts(b, s);
	free(s);
}

/* Parse the JSON after a two-byte prefix; NULL when it is not JSON. */
static json_t *wf__pe_json(const char *pe, size_t len)
{
	if (len < 2)
		return NULL;
	return json_loadb(pe + 2, len - 2, JSON_DECODE_ANY, NULL);
}

/* The index of "i:<n>", or -1 when it is not a canonical index. */
static long wf__pe_index(const char *pe, size_t len)
{
	if (len < 3 || len > 12 || memcmp(pe, "i:", 2) || (pe[2] == '0' && len > 3))
		return -1;
	long n = 0;
	for (size_t i = 2; i < len; i++) {
		if (pe[i] < '0' || pe[i] > '9')
			return -1;
		n = n * 10 + (pe[i] - '0');
	}
	return n <= 2147483647L ? n : -1;
}

void wf_fieldset_path_append(wf_buf *b, const char *pe, size_t len)
{
	if (len >= 2 && !memcmp(pe, "f:", 2)) {
		wf_buf_putc(b, '.');
		wf_buf_append(b, pe + 2, len - 2);
		return;
	}
	if (wf__pe_index(pe, len) >= 0) {
		wf_buf_putc(b, '[');
		wf_buf_append(b, pe + 2, len - 2);
		wf_buf_putc(b, ']');
		return;
	}
	char t = len >= 2 && pe[1] == ':' ? pe[0] : '\0';
	json_t *v = t == 'k' || t == 'v' ? wf__pe_json(pe, len) : NULL;
	if (t == 'v' && v) {
		char *s = wf__dump(v);
		wf_buf_printf(b, "[=%s]", s);
		free(s);
	} else if (t == 'k' && json_is_object(v)) {
		json_t *sorted = wf_fieldset_sorted(v); /* only for its key order */
		const char *k;
		size_t kl;
		json_t *x;
		bool first = true;
		wf_buf_putc(b, '[');
		json_object_keylen_foreach(sorted, k, kl, x)
		{
			char *s = wf__dump(json_object_getn(v, k, kl));
			if (!first)
				wf_buf_putc(b, ',');
			wf_buf_append(b, k, kl);
			wf_buf_printf(b, "=%s", s);
			free(s);
			first = false;
		}
		wf_buf_putc(b, ']');
		json_decref(sorted);
	} else {
		wf_buf_append(b, pe, len);
	}
	json_decref(v);
}

/* ---- walks with a path, for messages ------------------------------------- */

typedef struct wf__walk {
	wf_err *err;
	wf_buf path; /* ".spec.containers[1]" */
	int depth;
} wf__walk;

static void wf__walk_init(wf__walk *w, wf_err *err)
{
	*w = (wf__walk){.err = err};
	wf_buf_init(&w->path);
}

static void wf__walk_free(wf__walk *w)
{
	wf_buf_free(&w->path);
}

static int wf__walk_fail(wf__walk *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int wf__walk_fail(wf__walk *w, const char *fmt, ...)
{
	char msg[300];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	const char *p = w->path.len ? w->path.data : "";
	if (w->path.len > 160)
		return wf_err_set(w->err, WF_EINVAL, "...%s: %s", p + w->path.len - 160, msg);
	if (w->path.len)
		return wf_err_set(w->err, WF_EINVAL, "%s: %s", p, msg);
	return wf_err_set(w->err, WF_EINVAL, "%s", msg);
}

static size_t wf__push_key(wf__walk *w, const char *k, size_t kl)
{
	size_t mark = w->path.len;
	wf_buf_putc(&w->path, '.');
	wf_buf_append(&w->path, k, kl > 100 ? 100 : kl);
	return mark;
}

static size_t wf__push_index(wf__walk *w, size_t i)
{
	size_t mark = w->path.len;
	wf_buf_printf(&w->path, "[%zu]", i);
	return mark;
}

static void wf__pop(wf__walk *w, size_t mark)
{
	w->path.len = mark;
	if (w->path.data)
		w->path.data[mark] = '\0';
}

/* ---- field set of an object ---------------------------------------------- */

static int wf__walk_map(wf__walk *w, const json_t *obj, const wf_patch_meta *type, json_t *out);

/* The set of a merged list (NULL when it owns nothing). */
static int wf__walk_list(wf__walk *w, const json_t *arr, const wf_patch_meta *sub, const char *key,
			 json_t **res)
{
	*res = NULL;
	if (!json_array_size(arr))
		return 0;
	json_t *out = wf__obj(), *names = NULL;
	if (key) {
		names = wf__obj();
		wf__put(names, key, strlen(key), json_null());
	}
	wf_buf pe; /* one per level: the walk below nests */
	wf_buf_init(&pe);
	size_t i;
	json_t *item;
	int rc = 0;
	json_array_foreach(arr, i, item)
	{
		size_t mark = wf__push_index(w, i);
		json_t *node = NULL;
		if (key) {
			const json_t *kv = json_is_object(item) ? json_object_get(item, key) : NULL;
			if (!json_is_object(item))
				rc = wf__walk_fail(w,
						   "an item of a list merged on \"%s\" must be an "
						   "object",
						   key);
			else if (!kv)
				rc = wf__walk_fail(w, "does not contain declared merge key \"%s\"",
						   key);
			else if (!wf__scalar(kv) || json_is_null(kv))
				rc = wf__walk_fail(w,
						   "merge key \"%s\" must be a string, a number "
						   "or a boolean",
						   key);
			if (!rc) {
				wf__item_key_pe(&pe, item, names);
				node = wf__obj();
				rc = wf__walk_map(w, item, sub, node);
				if (!rc && json_object_size(node))
					wf__put(node, ".", 1, wf__obj());
			}
		} else if (!wf__scalar(item)) {
			rc = wf__walk_fail(w, "a list of primitives cannot hold objects or lists");
		} else {
			wf__item_value_pe(&pe, item);
			node = wf__obj();
		}
		if (!rc && json_object_getn(out, pe.data, pe.len)) {
			wf_buf human;
			wf_buf_init(&human);
			wf_fieldset_path_append(&human, pe.data, pe.len);
			rc = wf__walk_fail(w, "duplicate entries for key %.200s", human.data);
			wf_buf_free(&human);
		}
		wf__pop(w, mark);
		if (rc) {
			json_decref(node);
			break;
		}
		wf__put(out, pe.data, pe.len, node);
	}
	wf_buf_free(&pe);
	json_decref(names);
	if (rc) {
		json_decref(out);
		return rc;
	}
	*res = out;
	return 0;
}

static int wf__walk_map(wf__walk *w, const json_t *obj, const wf_patch_meta *type, json_t *out)
{
	if (++w->depth > WF_FIELDSET_MAX_DEPTH) {
		w->depth--;
		return wf__walk_fail(w, "nested too deeply");
	}
	const char *k;
	size_t kl;
	json_t *v;
	int rc = 0;
	wf_buf fk;
	wf_buf_init(&fk);
	json_object_keylen_foreach((json_t *)obj, k, kl, v)
	{
		const wf_patch_meta *sub;
		bool merge;
		const char *key;
		wf_patch_meta_field(type, k, kl, &sub, &merge, &key);
		size_t mark = wf__push_key(w, k, kl);
		json_t *child = NULL;
		if (json_is_object(v) && json_object_size(v)) {
			child = wf__obj();
			rc = wf__walk_map(w, v, sub, child);
			if (!rc && !json_object_size(child)) {
				json_decref(child); /* only empty merged lists below */
				child = NULL;
			}
		} else if (json_is_array(v) && merge) {
			rc = wf__walk_list(w, v, sub, key, &child);
		} else {
			child = wf__obj();
		}
		wf__pop(w, mark);
		if (rc) {
			json_decref(child);
			break;
		}
		if (child) {
			fk.len = 0;
			wf_buf_puts(&fk, "f:");
			wf_buf_append(&fk, k, kl);
			wf__put(out, fk.data, fk.len, child);
		}
	}
	wf_buf_free(&fk);
	w->depth--;
	return rc;
}

int wf_fieldset_from_object(const json_t *obj, const char *group, const char *kind, json_t **out,
			    wf_err *err)
{
	if (!json_is_object(obj))
		return wf_err_set(err, WF_EINVAL, "the object must be a JSON object");
	wf__walk w;
	wf__walk_init(&w, err);
	json_t *set = wf__obj();
	int rc = wf__walk_map(&w, obj, wf_patch_meta_kind(group, kind), set);
	wf__walk_free(&w);
	if (rc) {
		json_decref(set);
		return rc;
	}
	*out = set;
	return 0;
}

/* ---- normalizing sets from elsewhere ------------------------------------- */

static int wf__norm(wf__walk *w, const json_t *node, bool root, json_t **res)
{
	*res = NULL;
	if (!json_is_object(node))
		return wf__walk_fail(w, "a field set must be an object");
	if (++w->depth > WF_FIELDSET_MAX_DEPTH) {
		w->depth--;
		return wf__walk_fail(w, "field set nested too deeply");
	}
	json_t *out = wf__obj();
	bool member = !json_object_size(node);
	const char *k;
	size_t kl;
	json_t *v;
	int rc = 0;
	wf_buf pe;
	wf_buf_init(&pe);
	json_object_keylen_foreach((json_t *)node, k, kl, v)
	{
		if (wf__is_self(k, kl)) {
			if (!json_is_object(v) || json_object_size(v)) {
				rc = wf__walk_fail(w, "\".\" must map to {}");
				break;
			}
			member = true;
			continue;
		}
		pe.len = 0;
		json_t *j = NULL;
		if (kl >= 2 && !memcmp(k, "f:", 2)) {
			wf_buf_append(&pe, k, kl);
		} else if (kl >= 2 && !memcmp(k, "k:", 2) && (j = wf__pe_json(k, kl)) &&
			   (json_is_object(j) || json_is_null(j))) {
			json_t *o = json_is_null(j) ? wf__obj() : json_incref(j);
			char *s = wf__dump(o);
			json_decref(o);
			wf_buf_puts(&pe, "k:");
			wf_buf_puts(&pe, s);
			free(s);
		} else if (kl >= 2 && !memcmp(k, "v:", 2) && (j = wf__pe_json(k, kl))) {
			wf__item_value_pe(&pe, j);
		} else if (wf__pe_index(k, kl) >= 0) {
			wf_buf_append(&pe, k, kl);
		} else {
			json_decref(j);
			rc = wf__walk_fail(w, "unknown path element \"%.60s\"", k);
			break;
		}
		json_decref(j);
		size_t mark = wf__push_key(w, k, kl);
		json_t *c = NULL;
		rc = wf__norm(w, v, false, &c);
		wf__pop(w, mark);
		if (rc)
			break;
		if (!c)
			continue;
		json_t *had = json_object_getn(out, pe.data, pe.len);
		if (had) {
			json_t *u = wf__union(had, c, false);
			json_decref(c);
			c = u;
		}
		wf__put(out, pe.data, pe.len, c);
	}
	wf_buf_free(&pe);
	w->depth--;
	if (rc) {
		json_decref(out);
		return rc;
	}
	*res = wf__finish(out, member, root);
	return 0;
}

int wf_fieldset_normalize(const json_t *fields, json_t **out, wf_err *err)
{
	wf__walk w;
	wf__walk_init(&w, err);
	json_t *res = NULL;
	int rc = wf__norm(&w, fields, true, &res);
	wf__walk_free(&w);
	if (!rc)
		*out = res;
	return rc;
}

/* ---- lists seen through a set node --------------------------------------- */

/*
 * How the items of a list are named by the children of one set node: by
 * key (the field names of its first k: child), by value, by index.
 */
typedef struct wf__naming {
	json_t *names; /* NULL when no k: child */
	bool by_value;
	bool by_index;
} wf__naming;

static void wf__naming_init(wf__naming *nm, const json_t *set)
{
	*nm = (wf__naming){0};
	const char *k;
	size_t kl;
	json_t *v;
	json_object_keylen_foreach((json_t *)set, k, kl, v)
	{
		if (kl >= 2 && !memcmp(k, "k:", 2) && !nm->names) {
			json_t *j = wf__pe_json(k, kl);
			if (json_is_object(j))
				nm->names = j;
			else
				json_decref(j);
		} else if (kl >= 2 && !memcmp(k, "v:", 2)) {
			nm->by_value = true;
		} else if (kl >= 2 && !memcmp(k, "i:", 2)) {
			nm->by_index = true;
		}
	}
}

/* The child of set that names item i of a list, or NULL. */
static json_t *wf__naming_child(const wf__naming *nm, const json_t *set, const json_t *item,
				size_t i, wf_buf *pe)
{
	json_t *c = NULL;
	if (nm->names && wf__item_key_pe(pe, item, nm->names))
		c = json_object_getn(set, pe->data, pe->len);
	if (!c && nm->by_value) {
		wf__item_value_pe(pe, item);
		c = json_object_getn(set, pe->data, pe->len);
	}
	if (!c && nm->by_index) {
		pe->len = 0;
		wf_buf_printf(pe, "i:%zu", i);
		c = json_object_getn(set, pe->data, pe->len);
	}
	return c;
}

/* A map from path element to the index of the first item it names. */
static json_t *wf__list_index(const json_t *arr, const json_t *set)
{
	json_t *map = wf__obj();
	if (!json_is_array(arr))
		return map;
	wf__naming nm;
	wf__naming_init(&nm, set);
	wf_buf pe;
	wf_buf_init(&pe);
	size_t i;
	json_t *item;
	json_array_foreach(arr, i, item)
	{
		if (nm.names && wf__item_key_pe(&pe, item, nm.names) &&
		    !json_object_getn(map, pe.data, pe.len))
			wf__put(map, pe.data, pe.len, json_integer((json_int_t)i));
		if (nm.by_value) {
			wf__item_value_pe(&pe, item);
			if (!json_object_getn(map, pe.data, pe.len))
				wf__put(map, pe.data, pe.len, json_integer((json_int_t)i));
		}
	}
	wf_buf_free(&pe);
	json_decref(nm.names);
	return map;
}

/* The value under container c at path element pe; idx is c's list index. */
static json_t *wf__child(const json_t *c, const json_t *idx, const char *pe, size_t len)
{
	if (len >= 2 && !memcmp(pe, "f:", 2))
		return json_is_object(c) ? json_object_getn(c, pe + 2, len - 2) : NULL;
	if (!json_is_array(c))
		return NULL;
	long i = wf__pe_index(pe, len);
	if (i >= 0)
		return json_array_get(c, (size_t)i);
	json_t *at = json_object_getn(idx, pe, len);
	return at ? json_array_get(c, (size_t)json_integer_value(at)) : NULL;
}

/* ---- removal ------------------------------------------------------------- */

static bool wf__emptied(const json_t *v)
{
	return (json_is_object(v) && !json_object_size(v)) ||
	       (json_is_array(v) && !json_array_size(v));
}

/* Keep of v only what held names (v itself stays). Returns how much went. */
static size_t wf__keep_only(json_t *v, const json_t *held, int depth)
{
	size_t n = 0;
	if (depth > WF_FIELDSET_MAX_DEPTH + 1)
		return 0;
	if (json_is_object(v)) {
		wf_buf fk;
		wf_buf_init(&fk);
		const char *k;
		size_t kl;
		json_t *c;
		void *tmp;
		json_object_keylen_foreach_safe(v, tmp, k, kl, c)
		{
			fk.len = 0;
			wf_buf_puts(&fk, "f:");
			wf_buf_append(&fk, k, kl);
			json_t *h = json_object_getn(held, fk.data, fk.len);
			if (!h) {
				json_object_deln(v, k, kl);
				n++;
			} else if (wf__has_children(h)) {
				n += wf__keep_only(c, h, depth + 1);
			}
		}
		wf_buf_free(&fk);
		return n;
	}
	if (!json_is_array(v))
		return 0;
	wf__naming nm;
	wf__naming_init(&nm, held);
	if (!nm.names && !nm.by_value && !nm.by_index)
		return 0; /* held does not name items: nothing to tell them by */
	wf_buf pe;
	wf_buf_init(&pe);
	json_t *keep = json_array();
	if (!keep)
		abort();
	size_t i;
	json_t *item;
	json_array_foreach(v, i, item)
	{
		json_t *h = wf__naming_child(&nm, held, item, i, &pe);
		if (!h) {
			n++;
			continue;
		}
		if (wf__has_children(h))
			n += wf__keep_only(item, h, depth + 1);
		if (json_array_append(keep, item))
			abort();
	}
	if (json_array_size(keep) != json_array_size(v)) {
		json_array_clear(v);
		json_array_extend(v, keep);
	}
	json_decref(keep);
	wf_buf_free(&pe);
	json_decref(nm.names);
	return n;
}

/*
 * Remove from v what gone names, except what held (may be NULL) holds: a
 * member of gone that nobody holds goes whole; one held, or with fields
 * below it held, keeps only what is held. Maps and lists this empties go
 * too, unless held owns them as such.
 */
static size_t wf__remove(json_t *v, const json_t *gone, const json_t *held, int depth)
{
	size_t n = 0;
	if (depth > WF_FIELDSET_MAX_DEPTH + 1)
		return 0;
	if (json_is_object(v)) {
		const char *k;
		size_t kl;
		json_t *g;
		json_object_keylen_foreach((json_t *)gone, k, kl, g)
		{
			if (kl < 2 || memcmp(k, "f:", 2))
				continue;
			json_t *c = json_object_getn(v, k + 2, kl - 2);
			if (!c)
				continue;
			json_t *h = json_object_getn(held, k, kl);
			if (wf__member(g) && !h) {
				json_object_deln(v, k + 2, kl - 2);
				n++;
				continue;
			}
			size_t m = wf__member(g)
				       ? (wf__has_children(h) ? wf__keep_only(c, h, depth + 1) : 0)
				       : wf__remove(c, g, h, depth + 1);
			n += m;
			if (m && wf__emptied(c) && !(h && wf__member(h)))
				json_object_deln(v, k + 2, kl - 2);
		}
		return n;
	}
	if (!json_is_array(v))
		return 0;
	wf__naming nm;
	wf__naming_init(&nm, gone);
	wf_buf pe;
	wf_buf_init(&pe);
	json_t *keep = json_array();
	if (!keep)
		abort();
	size_t i, dropped = 0;
	json_t *item;
	json_array_foreach(v, i, item)
	{
		json_t *g = wf__naming_child(&nm, gone, item, i, &pe);
		json_t *h = g ? json_object_getn(held, pe.data, pe.len) : NULL;
		if (g && wf__member(g) && !h) {
			dropped++;
			continue;
		}
		if (g && wf__member(g))
			n += wf__has_children(h) ? wf__keep_only(item, h, depth + 1) : 0;
		else if (g)
			n += wf__remove(item, g, h, depth + 1);
		if (json_array_append(keep, item))
			abort();
	}
	if (dropped) {
		json_array_clear(v);
		json_array_extend(v, keep);
	}
	json_decref(keep);
	wf_buf_free(&pe);
	json_decref(nm.names);
	return n + dropped;
}

size_t wf_fieldset_remove(json_t *obj, const json_t *set)
{
	return wf__remove(obj, set, NULL, 0);
}

/* ---- changed fields ------------------------------------------------------ */

typedef struct wf__diff {
	wf_buf path;   /* human path of the current node */
	json_t *paths; /* human paths of the changed members, in set order */
} wf__diff;

static bool wf__value_changed(const json_t *l, const json_t *m)
{
	if (!l || !m)
		return l != m;
	if (json_is_object(l) && json_is_object(m))
		return false; /* the fields below tell */
	return !wf_json_equal(l, m);
}

/*
 * The members of set whose value differs between live lv and merged mv (an
 * item counts when merged adds it), as a set node (NULL when none).
 */
static json_t *wf__changed(wf__diff *d, const json_t *set, const json_t *lv, const json_t *mv,
			   int depth)
{
	if (depth > WF_FIELDSET_MAX_DEPTH + 1)
		return NULL;
	json_t *lidx = NULL, *midx = NULL;
	if (json_is_array(lv) || json_is_array(mv)) {
		lidx = wf__list_index(lv, set);
		midx = wf__list_index(mv, set);
	}
	json_t *out = wf__obj();
	const char *k;
	size_t kl;
	json_t *s;
	json_object_keylen_foreach((json_t *)set, k, kl, s)
	{
		if (wf__is_self(k, kl))
			continue;
		const json_t *lc = wf__child(lv, lidx, k, kl);
		const json_t *mc = wf__child(mv, midx, k, kl);
		size_t mark = d->path.len;
		wf_fieldset_path_append(&d->path, k, kl);
		bool item = kl >= 2 && memcmp(k, "f:", 2);
		bool changed = wf__member(s) && (item ? mc && !lc : wf__value_changed(lc, mc));
		if (changed)
			wf__append(d->paths, json_stringn(d->path.data, d->path.len));
		json_t *below = wf__has_children(s) ? wf__changed(d, s, lc, mc, depth + 1) : NULL;
		d->path.len = mark;
		if (d->path.data)
			d->path.data[mark] = '\0';
		json_t *node = changed ? wf__finish(below ? below : wf__obj(), true, false) : below;
		if (node)
			wf__put(out, k, kl, node);
	}
	json_decref(lidx);
	json_decref(midx);
	if (!json_object_size(out)) {
		json_decref(out);
		return NULL;
	}
	return out;
}

/* ---- managedFields entries ----------------------------------------------- */

static bool wf__opt_string(const json_t *e, const char *key)
{
	const json_t *v = json_object_get(e, key);
	return !v || json_is_string(v) || json_is_null(v);
}

/* Check one entry; *set (when not NULL) gets its normalized fieldsV1. */
static bool wf__entry_check(const json_t *e, json_t **set)
{
	if (!json_is_object(e) || !json_is_string(json_object_get(e, "manager")))
		return false;
	const char *op = json_string_value(json_object_get(e, "operation"));
	if (!op || (strcmp(op, "Apply") && strcmp(op, "Update")))
		return false;
	if (!wf__opt_string(e, "apiVersion") || !wf__opt_string(e, "subresource") ||
	    !wf__opt_string(e, "fieldsType") || !wf__opt_string(e, "time"))
		return false;
	const char *t = json_string_value(json_object_get(e, "time"));
	time_t when;
	if (t && wf_time_parse_rfc3339(t, &when) < 0)
		return false;
	const json_t *f = json_object_get(e, "fieldsV1");
	const char *ft = json_string_value(json_object_get(e, "fieldsType"));
	json_t *norm = NULL;
	if (f && !json_is_null(f)) {
		if (!ft || strcmp(ft, "FieldsV1") || wf_fieldset_normalize(f, &norm, NULL) < 0)
			return false;
	} else if (ft && strcmp(ft, "FieldsV1")) {
		return false;
	}
	if (set)
		*set = norm ? norm : wf__obj();
	else
		json_decref(norm);
	return true;
}

bool wf_managed_fields_valid(const json_t *mf)
{
	if (!json_is_array(mf))
		return false;
	size_t i;
	json_t *e;
	json_array_foreach(mf, i, e)
	{
		if (!wf__entry_check(e, NULL))
			return false;
	}
	return true;
}

static const char *wf__estr(const json_t *e, const char *key)
{
	const char *s = json_string_value(json_object_get(e, key));
	return s ? s : "";
}

static int wf__entry_cmp(const void *pa, const void *pb)
{
	const json_t *a = *(json_t *const *)pa, *b = *(json_t *const *)pb;
	int c = strcmp(wf__estr(a, "operation"), wf__estr(b, "operation"));
	if (c)
		return c;
	time_t ta = 0, tb = 0;
	wf_time_parse_rfc3339(wf__estr(a, "time"), &ta);
	wf_time_parse_rfc3339(wf__estr(b, "time"), &tb);
	if (ta != tb)
		return ta < tb ? -1 : 1;
	if ((c = strcmp(wf__estr(a, "manager"), wf__estr(b, "manager"))))
		return c;
	if ((c = strcmp(wf__estr(a, "apiVersion"), wf__estr(b, "apiVersion"))))
		return c;
	return strcmp(wf__estr(a, "subresource"), wf__estr(b, "subresource"));
}

/* One entry of the live object, as loaded for an apply. */
typedef struct wf__entry {
	const json_t *orig; /* borrowed from live */
	json_t *set;	    /* normalized fieldsV1 */
	json_t *taken;	    /* changed fields this apply takes away, or NULL */
	bool apply;
} wf__entry;

/* How Kubernetes names a manager in a conflict. */
static void wf__print_manager(wf_buf *b, const json_t *e)
{
	json_t *m = json_string(wf__estr(e, "manager"));
	char *s = m ? json_dumps(m, JSON_ENCODE_ANY) : NULL;
	if (!s)
		abort();
	wf_buf_puts(b, s);
	free(s);
	json_decref(m);
	const char *sub = wf__estr(e, "subresource");
	if (sub[0]) {
		json_t *sj = json_string(sub);
		char *ss = sj ? json_dumps(sj, JSON_ENCODE_ANY) : NULL;
		if (!ss)
			abort();
		wf_buf_printf(b, " with subresource %s", ss);
		free(ss);
		json_decref(sj);
	}
}

static bool wf__same_subresource(const json_t *e, const char *sub)
{
	return !strcmp(wf__estr(e, "subresource"), sub ? sub : "");
}

/* ---- apply --------------------------------------------------------------- */

static int wf__no_directives(wf__walk *w, const json_t *v)
{
	if (++w->depth > WF_FIELDSET_MAX_DEPTH) {
		w->depth--;
		return wf__walk_fail(w, "nested too deeply");
	}
	int rc = 0;
	if (json_is_object(v)) {
		const char *k;
		size_t kl;
		json_t *c;
		json_object_keylen_foreach((json_t *)v, k, kl, c)
		{
			size_t mark = wf__push_key(w, k, kl);
			if (kl && k[0] == '$')
				rc = wf__walk_fail(w, "patch directives are not allowed in an "
						      "applied object");
			else
				rc = wf__no_directives(w, c);
			wf__pop(w, mark);
			if (rc)
				break;
		}
	} else if (json_is_array(v)) {
		size_t i;
		json_t *c;
		json_array_foreach(v, i, c)
		{
			size_t mark = wf__push_index(w, i);
			rc = wf__no_directives(w, c);
			wf__pop(w, mark);
			if (rc)
				break;
		}
	}
	w->depth--;
	return rc;
}

/* The part of the applied set a manager owns: no type or system metadata;
 * no status on the main resource of a kind with /status, only status on
 * /status. Consumes set. */
static json_t *wf__scope(json_t *set, const wf_apply_opts *o)
{
	json_t *out;
	if (o->subresource && !strcmp(o->subresource, "status")) {
		out = wf__obj();
		json_t *st = json_object_get(set, "f:status");
		if (st)
			wf__put(out, "f:status", 8, json_incref(st));
		json_decref(set);
		return out;
	}
	static const char *const sys[] = {
	    "name",
	    "namespace",
	    "uid",
	    "resourceVersion",
	    "creationTimestamp",
	    "generation",
	    "selfLink",
	    "managedFields",
	    "deletionTimestamp",
	    "deletionGracePeriodSeconds",
	    "clusterName",
	};
	json_t *strip = wf__obj(), *md = wf__obj();
	wf__put(strip, "f:apiVersion", 12, wf__obj());
	wf__put(strip, "f:kind", 6, wf__obj());
	wf__put(md, ".", 1, wf__obj());
	for (size_t i = 0; i < sizeof sys / sizeof sys[0]; i++) {
		char fk[64];
		int n = snprintf(fk, sizeof fk, "f:%s", sys[i]);
		wf__put(md, fk, (size_t)n, wf__obj());
	}
	wf__put(strip, "f:metadata", 10, md);
	out = wf_fieldset_difference(set, strip);
	json_decref(strip);
	json_decref(set);
	if (o->has_status) {
		json_t *st = wf__obj();
		wf__put(st, "f:status", 8, wf__obj());
		json_t *r = wf_fieldset_recursive_difference(out, st);
		json_decref(st);
		json_decref(out);
		out = r;
	}
	return out;
}

/* a equals b, metadata.managedFields aside. */
static bool wf__equal_but_managed(const json_t *a, const json_t *b)
{
	if (!json_is_object(a) || !json_is_object(b))
		return wf_json_equal(a, b);
	const json_t *am = json_object_get(a, "metadata"), *bm = json_object_get(b, "metadata");
	if (json_object_size(a) != json_object_size(b))
		return false;
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)a, k, v)
	{
		if (strcmp(k, "metadata") && !wf_json_equal(v, json_object_get(b, k)))
			return false;
	}
	if (!json_is_object(am) || !json_is_object(bm))
		return wf_json_equal(am, bm);
	size_t na = json_object_size(am) - (json_object_get(am, "managedFields") ? 1 : 0);
	size_t nb = json_object_size(bm) - (json_object_get(bm, "managedFields") ? 1 : 0);
	if (na != nb)
		return false;
	json_object_foreach((json_t *)am, k, v)
	{
		if (strcmp(k, "managedFields") && !wf_json_equal(v, json_object_get(bm, k)))
			return false;
	}
	return true;
}

static void wf__conflicts_build(wf_apply_conflicts *c, wf__entry *es, size_t n, json_t **paths)
{
	size_t total = 0;
	for (size_t i = 0; i < n; i++)
		if (es[i].apply && paths[i])
			total += json_array_size(paths[i]);
	/* Group by how the manager prints, managers sorted. */
	json_t *groups = wf__obj();
	wf_buf b;
	wf_buf_init(&b);
	c->causes = json_array();
	if (!c->causes)
		abort();
	for (size_t i = 0; i < n; i++) {
		if (!es[i].apply || !paths[i])
			continue;
		b.len = 0;
		wf__print_manager(&b, es[i].orig);
		json_t *g = json_object_getn(groups, b.data, b.len);
		if (!g) {
			g = json_array();
			if (!g)
				abort();
			wf__put(groups, b.data, b.len, g);
		}
		char *msg = wf_xasprintf("conflict with %s", b.data);
		size_t j;
		json_t *p;
		json_array_foreach(paths[i], j, p)
		{
			if (json_array_append(g, p))
				abort();
			json_t *cause = wf__obj();
			wf__put(cause, "reason", 6, json_string("FieldManagerConflict"));
			wf__put(cause, "message", 7, json_string(msg));
			wf__put(cause, "field", 5, json_incref(p));
			wf__append(c->causes, cause);
		}
		free(msg);
	}
	json_t *sorted = wf_fieldset_sorted(groups); /* sorts the manager names */
	b.len = 0;
	const char *k;
	json_t *g;
	if (total == 1) {
		json_object_foreach(sorted, k, g)
		    wf_buf_printf(&b, "Apply failed with 1 conflict: conflict with %s: %s", k,
				  json_string_value(json_array_get(json_object_get(groups, k), 0)));
	} else {
		wf_buf_printf(&b, "Apply failed with %zu conflicts: ", total);
		bool first = true;
		json_object_foreach(sorted, k, g)
		{
			wf_buf_printf(&b, "%sconflicts with %s:", first ? "" : "\n", k);
			first = false;
			size_t j;
			json_t *p;
			json_array_foreach(json_object_get(groups, k), j, p)
			    wf_buf_printf(&b, "\n- %s", json_string_value(p));
		}
	}
	c->message = wf_buf_steal(&b);
	wf_buf_free(&b);
	json_decref(sorted);
	json_decref(groups);
}

void wf_apply_conflicts_free(wf_apply_conflicts *c)
{
	if (!c)
		return;
	free(c->message);
	json_decref(c->causes);
	*c = (wf_apply_conflicts){0};
}

static json_t *wf__new_entry(const wf_apply_opts *o, const char *when, const json_t *set)
{
	json_t *e = wf__obj();
	wf__put(e, "manager", 7, json_string(o->manager));
	wf__put(e, "operation", 9, json_string("Apply"));
	if (o->api_version)
		wf__put(e, "apiVersion", 10, json_string(o->api_version));
	if (when)
		wf__put(e, "time", 4, json_string(when));
	wf__put(e, "fieldsType", 10, json_string("FieldsV1"));
	wf__put(e, "fieldsV1", 8, wf_fieldset_sorted(set));
	if (o->subresource && o->subresource[0])
		wf__put(e, "subresource", 11, json_string(o->subresource));
	return e;
}

int wf_apply(const json_t *live, const json_t *config, const wf_apply_opts *o, json_t **out,
	     wf_apply_conflicts *conflicts, wf_err *err)
{
	if (!o->manager || !o->manager[0])
		return wf_err_set(err, WF_EINVAL, "server-side apply needs a fieldManager");
	if (strlen(o->manager) > WF_APPLY_MAX_MANAGER)
		return wf_err_set(err, WF_EINVAL,
				  "fieldManager: Too long: may not be more than %d bytes",
				  WF_APPLY_MAX_MANAGER);
	if (!json_is_object(config))
		return wf_err_set(err, WF_EINVAL, "the applied object must be a JSON object");
	if (live && !json_is_object(live))
		return wf_err_set(err, WF_EINVAL, "the live object must be a JSON object");
	const json_t *cmf = json_object_get(json_object_get(config, "metadata"), "managedFields");
	if (cmf && !json_is_null(cmf))
		return wf_err_set(err, WF_EINVAL, "metadata.managedFields must be nil");
	wf__walk w;
	wf__walk_init(&w, err);
	int rc = wf__no_directives(&w, config);
	wf__walk_free(&w);
	if (rc)
		return rc;
	json_t *set_new = NULL;
	if ((rc = wf_fieldset_from_object(config, o->group, o->kind, &set_new, err)))
		return rc;
	set_new = wf__scope(set_new, o);

	/* The live entries: this manager's (first match), and the others. */
	const json_t *mf = json_object_get(json_object_get(live, "metadata"), "managedFields");
	size_t n_live = json_array_size(mf), n = 0;
	wf__entry *es = wf_xcalloc(n_live ? n_live : 1, sizeof *es);
	const json_t *mine = NULL;
	json_t *old_set = NULL;
	bool dropped = false;
	for (size_t i = 0; i < n_live; i++) {
		const json_t *e = json_array_get(mf, i);
		json_t *set = NULL;
		if (!wf__entry_check(e, &set)) {
			dropped = true;
			continue;
		}
		bool apply = !strcmp(wf__estr(e, "operation"), "Apply");
		if (apply && !strcmp(wf__estr(e, "manager"), o->manager) &&
		    wf__same_subresource(e, o->subresource)) {
			if (old_set) { /* a duplicate entry: folded into the first */
				json_t *u = wf_fieldset_union(old_set, set);
				json_decref(old_set);
				json_decref(set);
				old_set = u;
				dropped = true;
			} else {
				mine = e;
				old_set = set;
			}
			continue;
		}
		es[n++] = (wf__entry){.orig = e, .set = set, .apply = apply};
	}

	/* Remove what this manager gave up and nobody else holds. */
	json_t *base = live ? wf__copy(live) : wf__obj();
	json_object_del(json_object_get(base, "metadata"), "managedFields");
	if (old_set) {
		json_t *held = wf__copy(set_new);
		for (size_t i = 0; i < n; i++) {
			json_t *u = wf_fieldset_union(held, es[i].set);
			json_decref(held);
			held = u;
		}
		json_t *gone = wf_fieldset_difference(old_set, set_new);
		wf__remove(base, gone, held, 0);
		json_decref(gone);
		json_decref(held);
	}

	/* Merge. */
	json_t *cfg = wf__copy(config), *merged = NULL;
	json_object_del(json_object_get(cfg, "metadata"), "managedFields");
	rc = wf_strategic_merge_patch(base, cfg, o->group, o->kind, &merged, err);
	json_decref(cfg);
	json_decref(base);

	/* Fields other managers hold that this apply changes. */
	json_t **paths = wf_xcalloc(n ? n : 1, sizeof *paths);
	size_t nconf = 0;
	for (size_t i = 0; i < n && !rc; i++) {
		json_t *both = wf_fieldset_intersection(set_new, es[i].set);
		if (wf_fieldset_empty(both)) {
			json_decref(both);
			continue;
		}
		json_t *sorted = wf_fieldset_sorted(both);
		json_decref(both);
		wf__diff d = {.paths = json_array()};
		if (!d.paths)
			abort();
		wf_buf_init(&d.path);
		es[i].taken = wf__changed(&d, sorted, live, merged, 0);
		wf_buf_free(&d.path);
		json_decref(sorted);
		if (es[i].taken && es[i].apply) {
			paths[i] = d.paths;
			nconf++;
		} else {
			json_decref(d.paths);
		}
	}
	if (!rc && nconf && !o->force) {
		if (conflicts)
			wf__conflicts_build(conflicts, es, n, paths);
		rc = wf_err_set(err, WF_ECONFLICT, "Apply failed with conflicts");
	}

	if (!rc) {
		/* The entries after the apply. */
		bool sets_changed =
		    dropped || !old_set || !json_equal(old_set, set_new) ||
		    strcmp(wf__estr(mine, "apiVersion"), o->api_version ? o->api_version : "");
		json_t *entries = json_array();
		if (!entries)
			abort();
		for (size_t i = 0; i < n; i++) {
			if (!es[i].taken) {
				wf__append(entries, wf__copy(es[i].orig));
				continue;
			}
			sets_changed = true;
			json_t *left = wf_fieldset_difference(es[i].set, es[i].taken);
			if (!wf_fieldset_empty(left)) {
				json_t *e = wf__copy(es[i].orig);
				wf__put(e, "fieldsV1", 8, wf_fieldset_sorted(left));
				wf__put(e, "fieldsType", 10, json_string("FieldsV1"));
				wf__append(entries, e);
			}
			json_decref(left);
		}
		bool changed = sets_changed || !live || !wf__equal_but_managed(merged, live);
		if (changed || !mine)
			wf__append(entries, wf__new_entry(o, o->now, set_new));
		else
			wf__append(entries, wf__copy(mine));
		size_t ne = json_array_size(entries);
		json_t **sorted = wf_xcalloc(ne, sizeof *sorted);
		for (size_t i = 0; i < ne; i++)
			sorted[i] = json_incref(json_array_get(entries, i));
		qsort(sorted, ne, sizeof *sorted, wf__entry_cmp);
		json_array_clear(entries);
		for (size_t i = 0; i < ne; i++)
			wf__append(entries, sorted[i]);
		free(sorted);
		json_t *md = json_object_get(merged, "metadata");
		if (!json_is_object(md)) {
			md = wf__obj();
			wf__put(merged, "metadata", 8, md);
		}
		wf__put(md, "managedFields", 13, entries);
		*out = merged;
		merged = NULL;
	}

	json_decref(merged);
	for (size_t i = 0; i < n; i++) {
		json_decref(es[i].set);
		json_decref(es[i].taken);
		json_decref(paths[i]);
	}
	free(paths);
	free(es);
	json_decref(old_set);
	json_decref(set_new);
	return rc;
}
