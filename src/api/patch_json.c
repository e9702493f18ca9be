/*
 * patch_json.c - RFC 6902 JSON patch and RFC 6901 JSON pointers.
 *
 * The document is deep-copied once and every operation applied to that
 * private copy; values taken from the operations are deep-copied in, so the
 * copy never shares a json_t with the inputs and `move` may relink nodes
 * freely. The first failing operation throws the copy away: the caller sees
 * all operations or none.
 */
#include "api/patch.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/wf_mem.h"

/* A parsed JSON pointer: unescaped reference tokens (may hold NUL bytes). */
typedef struct wf__ptr {
	char **tok;
	size_t *len;
	size_t n;
} wf__ptr;

static json_t *wf__jp_copy(const json_t *v)
{
	json_t *c = json_deep_copy(v);
	if (!c)
		abort(); /* jansson fails only when out of memory */
	return c;
}

static bool wf__num_equal(const json_t *a, const json_t *b)
{
	if (json_is_integer(a) && json_is_integer(b))
		return json_integer_value(a) == json_integer_value(b);
	return json_number_value(a) == json_number_value(b);
}

bool wf_json_equal(const json_t *a, const json_t *b)
{
	if (!a || !b)
		return a == b;
	if (json_is_number(a) && json_is_number(b))
		return wf__num_equal(a, b);
	if (json_typeof(a) != json_typeof(b))
		return false;
	switch (json_typeof(a)) {
	case JSON_OBJECT: {
		if (json_object_size(a) != json_object_size(b))
			return false;
		const char *key;
		size_t klen;
		json_t *av;
		json_object_keylen_foreach((json_t *)a, key, klen, av)
		{
			if (!wf_json_equal(av, json_object_getn(b, key, klen)))
				return false;
		}
		return true;
	}
	case JSON_ARRAY: {
		size_t n = json_array_size(a);
		if (n != json_array_size(b))
			return false;
		for (size_t i = 0; i < n; i++)
			if (!wf_json_equal(json_array_get(a, i), json_array_get(b, i)))
				return false;
		return true;
	}
	case JSON_STRING:
		return json_string_length(a) == json_string_length(b) &&
		       !memcmp(json_string_value(a), json_string_value(b), json_string_length(a));
	default: /* true, false, null */
		return true;
	}
}

/* ---- JSON pointers ------------------------------------------------------ */

static void wf__ptr_free(wf__ptr *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->tok[i]);
	free(p->tok);
	free(p->len);
	p->tok = NULL;
	p->len = NULL;
	p->n = 0;
}

/* Parse pointer s (slen bytes). On failure *why says what is wrong. */
static int wf__ptr_parse(const char *s, size_t slen, wf__ptr *p, const char **why)
{
	p->tok = NULL;
	p->len = NULL;
	p->n = 0;
	if (slen == 0)
		return 0;
	if (s[0] != '/') {
		*why = "a JSON pointer must be empty or start with '/'";
		return -1;
	}
	size_t ntok = 0;
	for (size_t i = 0; i < slen; i++)
		ntok += s[i] == '/';
	p->tok = wf_xcalloc(ntok, sizeof *p->tok);
	p->len = wf_xcalloc(ntok, sizeof *p->len);
	size_t i = 1;
	for (;;) {
		size_t start = i;
		while (i < slen && s[i] != '/')
			i++;
		char *t = wf_xmalloc(i - start + 1);
		size_t tl = 0;
		for (size_t j = start; j < i; j++) {
			if (s[j] != '~') {
				t[tl++] = s[j];
				continue;
			}
			if (j + 1 < i && (s[j + 1] == '0' || s[j + 1] == '1')) {
				t[tl++] = s[j + 1] == '0' ? '~' : '/';
				j++;
				continue;
			}
			free(t);
			wf__ptr_free(p);
			*why = "'~' in a JSON pointer must be followed by '0' or '1'";
			return -1;
		}
		t[tl] = '\0';
		p->tok[p->n] = t;
		p->len[p->n] = tl;
		p->n++;
		if (i >= slen)
			break;
		i++; /* skip '/' */
	}
	return 0;
}

/*
 * An array index token: decimal digits, no leading zero, no sign. With
 * allow_end, "-" gives the array's size (one past the end). Returns false
 * when the token is not an index at all; *idx may be past the end.
 */
static bool wf__ptr_index(const char *t, size_t tl, size_t size, bool allow_end, size_t *idx)
{
	if (tl == 1 && t[0] == '-' && allow_end) {
		*idx = size;
		return true;
	}
	if (tl == 0 || (tl > 1 && t[0] == '0'))
		return false;
	size_t v = 0;
	for (size_t i = 0; i < tl; i++) {
		if (t[i] < '0' || t[i] > '9')
			return false;
		if (v > (SIZE_MAX - 9) / 10)
			v = SIZE_MAX; /* saturate: certainly out of range */
		else
			v = v * 10 + (size_t)(t[i] - '0');
	}
	*idx = v;
	return true;
}

/* The value at the first n tokens of p, or NULL (with *why) if absent. */
static json_t *wf__ptr_get(json_t *root, const wf__ptr *p, size_t n, const char **why)
{
	json_t *cur = root;
	for (size_t i = 0; i < n; i++) {
		if (json_is_object(cur)) {
			cur = json_object_getn(cur, p->tok[i], p->len[i]);
			if (!cur) {
				*why = "path not found";
				return NULL;
			}
		} else if (json_is_array(cur)) {
			size_t idx;
			if (!wf__ptr_index(p->tok[i], p->len[i], json_array_size(cur), false,
					   &idx)) {
				*why = "invalid array index";
				return NULL;
			}
			if (idx >= json_array_size(cur)) {
				*why = "array index out of range";
				return NULL;
			}
			cur = json_array_get(cur, idx);
		} else {
			*why = "path not found (a parent is not an object or array)";
			return NULL;
		}
	}
	return cur;
}

/* ---- operations ---------------------------------------------------------- */

/* Add value (ownership taken, also on failure) at p inside *root. */
static int wf__op_add(json_t **root, const wf__ptr *p, json_t *value, const char **why)
{
	if (p->n == 0) {
		json_decref(*root);
		*root = value;
		return 0;
	}
	json_t *parent = wf__ptr_get(*root, p, p->n - 1, why);
	const char *t = p->tok[p->n - 1];
	size_t tl = p->len[p->n - 1];
	if (json_is_object(parent)) {
		json_object_setn_new_nocheck(parent, t, tl, value);
		return 0;
	}
	if (json_is_array(parent)) {
		size_t idx, size = json_array_size(parent);
		if (!wf__ptr_index(t, tl, size, true, &idx))
			*why = "invalid array index";
		else if (idx > size)
			*why = "array index out of range";
		else if (json_array_insert_new(parent, idx, value) == 0)
			return 0;
		else
			abort();
		json_decref(value);
		return -1;
	}
	if (parent)
		*why = "path not found (the parent is not an object or array)";
	json_decref(value);
	return -1;
}

/* Remove the value at p; when taken is not NULL it receives a reference. */
static int wf__op_remove(json_t *root, const wf__ptr *p, json_t **taken, const char **why)
{
	if (p->n == 0) {
		*why = "cannot remove the whole document";
		return -1;
	}
	json_t *target = wf__ptr_get(root, p, p->n, why);
	if (!target)
		return -1;
	json_t *parent = wf__ptr_get(root, p, p->n - 1, why);
	if (taken)
		*taken = json_incref(target);
	if (json_is_object(parent)) {
		json_object_deln(parent, p->tok[p->n - 1], p->len[p->n - 1]);
	} else {
		size_t idx = 0;
		(void)wf__ptr_index(p->tok[p->n - 1], p->len[p->n - 1], 0, false, &idx);
		json_array_remove(parent, idx);
	}
	return 0;
}

static int wf__op_replace(json_t **root, const wf__ptr *p, json_t *value, const char **why)
{
	if (p->n == 0) {
		json_decref(*root);
		*root = value;
		return 0;
	}
	if (!wf__ptr_get(*root, p, p->n, why)) {
		json_decref(value);
		return -1;
	}
	json_t *parent = wf__ptr_get(*root, p, p->n - 1, why);
	if (json_is_object(parent)) {
		json_object_setn_new_nocheck(parent, p->tok[p->n - 1], p->len[p->n - 1], value);
	} else {
		size_t idx = 0;
		(void)wf__ptr_index(p->tok[p->n - 1], p->len[p->n - 1], 0, false, &idx);
		json_array_set_new(parent, idx, value);
	}
	return 0;
}

/* Is pointer a a proper prefix of pointer b? */
static bool wf__ptr_is_proper_prefix(const wf__ptr *a, const wf__ptr *b)
{
	if (a->n >= b->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (a->len[i] != b->len[i] || memcmp(a->tok[i], b->tok[i], a->len[i]))
			return false;
	return true;
}

static const char *wf__member_str(const json_t *op, const char *name, size_t *len)
{
	json_t *v = json_object_get(op, name);
	if (!json_is_string(v))
		return NULL;
	*len = json_string_length(v);
	return json_string_value(v);
}

/* Apply one operation to *root; on failure *why (and maybe *which) explain. */
static int wf__apply_op(json_t **root, const json_t *op, const char *name, const char **why)
{
	size_t plen;
	const char *path = wf__member_str(op, "path", &plen);
	if (!path) {
		*why = "missing or non-string \"path\"";
		return -1;
	}
	bool is_add = !strcmp(name, "add"), is_replace = !strcmp(name, "replace");
	bool is_test = !strcmp(name, "test"), is_remove = !strcmp(name, "remove");
	bool is_move = !strcmp(name, "move"), is_copy = !strcmp(name, "copy");
	if (!is_add && !is_replace && !is_test && !is_remove && !is_move && !is_copy) {
		*why = "unknown op (want add, remove, replace, move, copy or test)";
		return -1;
	}
	json_t *value = json_object_get(op, "value");
	if ((is_add || is_replace || is_test) && !value) {
		*why = "missing \"value\"";
		return -1;
	}
	size_t flen = 0;
	const char *from = NULL;
	if (is_move || is_copy) {
		from = wf__member_str(op, "from", &flen);
		if (!from) {
			*why = "missing or non-string \"from\"";
			return -1;
		}
	}

	wf__ptr p, f = {0};
	if (wf__ptr_parse(path, plen, &p, why))
		return -1;
	if (from && wf__ptr_parse(from, flen, &f, why)) {
		wf__ptr_free(&p);
		return -1;
	}

	int rc = -1;
	if (is_add) {
		rc = wf__op_add(root, &p, wf__jp_copy(value), why);
	} else if (is_replace) {
		rc = wf__op_replace(root, &p, wf__jp_copy(value), why);
	} else if (is_remove) {
		rc = wf__op_remove(*root, &p, NULL, why);
	} else if (is_test) {
		json_t *cur = wf__ptr_get(*root, &p, p.n, why);
		if (cur && wf_json_equal(cur, value))
			rc = 0;
		else if (cur)
			*why = "test failed: the value differs";
	} else if (is_copy) {
		json_t *src = wf__ptr_get(*root, &f, f.n, why);
		if (src)
			rc = wf__op_add(root, &p, wf__jp_copy(src), why);
	} else { /* move */
		if (wf__ptr_is_proper_prefix(&f, &p)) {
			*why = "cannot move a value into one of its own children";
		} else if (!wf__ptr_get(*root, &f, f.n, why)) {
			/* rc stays -1 */
		} else if (f.n == 0) {
			rc = 0; /* from "" to "": nothing moves */
		} else {
			json_t *v = NULL;
			rc = wf__op_remove(*root, &f, &v, why);
			if (rc == 0)
				rc = wf__op_add(root, &p, v, why);
		}
	}
	wf__ptr_free(&p);
	wf__ptr_free(&f);
	return rc;
}

int wf_json_patch(const json_t *doc, const json_t *ops, json_t **out, wf_err *err)
{
	if (!doc)
		return wf_err_set(err, WF_EINVAL, "json patch: no document to patch");
	if (!json_is_array(ops))
		return wf_err_set(err, WF_EINVAL,
				  "json patch: the patch must be a JSON array of operations");
	size_t nops = json_array_size(ops);
	if (nops > WF_JSON_PATCH_MAX_OPS)
		return wf_err_set(err, WF_ETOOBIG,
				  "json patch: %zu operations, the most allowed is %d", nops,
				  WF_JSON_PATCH_MAX_OPS);

	json_t *work = wf__jp_copy(doc);
	for (size_t i = 0; i < nops; i++) {
		json_t *op = json_array_get(ops, i);
		if (!json_is_object(op)) {
			json_decref(work);
			return wf_err_set(err, WF_EINVAL,
					  "json patch operation %zu: not a JSON object", i);
		}
		json_t *opv = json_object_get(op, "op");
		if (!json_is_string(opv)) {
			json_decref(work);
			return wf_err_set(err, WF_EINVAL,
					  "json patch operation %zu: missing or non-string \"op\"",
					  i);
		}
		const char *name = json_string_value(opv);
		const char *why = "failed";
		if (wf__apply_op(&work, op, name, &why)) {
			json_t *pathv = json_object_get(op, "path");
			const char *path = json_is_string(pathv) ? json_string_value(pathv) : "";
			json_decref(work);
			return wf_err_set(err, WF_EINVAL,
					  "json patch operation %zu (%.40s \"%.200s\"): %s", i,
					  name, path, why);
		}
	}
	*out = work;
	return 0;
}
