/*
 * field_validation.c - unknown and duplicate fields for ?fieldValidation
 * (see field_validation.h for the rules and why they are what they are).
 *
 * Invariants: paths are built in one wf_buf per walk, pushed and truncated
 * back around each step, so nothing is allocated per field except the
 * problems kept; a list never holds more than WF_FV_MAX_PROBLEMS entries;
 * the unknown-field walk recurses only along the descriptors (which have no
 * cycles), the duplicate scan only as deep as the JSON parser let the body
 * nest.
 */
#include "api/field_validation.h"
#include "api/api_internal.h"

#include <stdio.h>
#include <string.h>

/* ---- lists ------------------------------------------------------------------- */

/* Length of s cut to at most max bytes without splitting a UTF-8 sequence. */
static size_t wf__utf8_cut(const char *s, size_t len, size_t max)
{
	if (len <= max)
		return len;
	size_t n = max;
	while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
		n--;
	return n;
}

void wf_fv_list_add(wf_fv_list *l, wf_fv_kind kind, const char *path)
{
	if (l->n >= WF_FV_MAX_PROBLEMS) {
		l->dropped++;
		return;
	}
	size_t len = strlen(path);
	size_t cut = wf__utf8_cut(path, len, WF_FV_MAX_PATH);
	char *p = cut < len ? wf_xasprintf("%.*s...", (int)cut, path) : wf_xstrdup(path);
	l->v = wf_xrealloc(l->v, (l->n + 1) * sizeof *l->v);
	l->v[l->n++] = (wf_fv_problem){.kind = kind, .path = p};
}

void wf_fv_list_subtract(wf_fv_list *l, const wf_fv_list *known)
{
	size_t out = 0;
	for (size_t i = 0; i < l->n; i++) {
		bool drop = false;
		for (size_t j = 0; l->v[i].kind == WF_FV_UNKNOWN && j < known->n && !drop; j++)
			drop = known->v[j].kind == WF_FV_UNKNOWN &&
			       !strcmp(known->v[j].path, l->v[i].path);
		if (drop)
			free(l->v[i].path);
		else
			l->v[out++] = l->v[i];
	}
	l->n = out;
}

void wf_fv_list_free(wf_fv_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].path);
	free(l->v);
	*l = (wf_fv_list){0};
}

/* Move every problem of src to the end of dst; src is left empty. */
static void wf__list_move(wf_fv_list *dst, wf_fv_list *src)
{
	for (size_t i = 0; i < src->n; i++) {
		if (dst->n >= WF_FV_MAX_PROBLEMS) {
			dst->dropped++;
			free(src->v[i].path);
			continue;
		}
		dst->v = wf_xrealloc(dst->v, (dst->n + 1) * sizeof *dst->v);
		dst->v[dst->n++] = src->v[i];
	}
	dst->dropped += src->dropped;
	free(src->v);
	*src = (wf_fv_list){0};
}

/* ---- text ------------------------------------------------------------------- */

/* s in double quotes, escaped as Go's strconv.Quote does for valid UTF-8. */
static void wf__go_quote(wf_buf *b, const char *s, size_t len)
{
	wf_buf_putc(b, '"');
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		switch (c) {
		case '"':
			wf_buf_puts(b, "\\\"");
			break;
		case '\\':
			wf_buf_puts(b, "\\\\");
			break;
		case '\a':
			wf_buf_puts(b, "\\a");
			break;
		case '\b':
			wf_buf_puts(b, "\\b");
			break;
		case '\f':
			wf_buf_puts(b, "\\f");
			break;
		case '\n':
			wf_buf_puts(b, "\\n");
			break;
		case '\r':
			wf_buf_puts(b, "\\r");
			break;
		case '\t':
			wf_buf_puts(b, "\\t");
			break;
		case '\v':
			wf_buf_puts(b, "\\v");
			break;
		default:
			if (c < 0x20 || c == 0x7f)
				wf_buf_printf(b, "\\x%02x", c);
			else
				wf_buf_putc(b, (char)c);
		}
	}
	wf_buf_putc(b, '"');
}

char *wf_fv_problem_text(const wf_fv_problem *p)
{
	wf_buf b;
	wf_buf_init(&b);
	wf_buf_puts(&b, p->kind == WF_FV_DUPLICATE ? "duplicate field " : "unknown field ");
	wf__go_quote(&b, p->path, strlen(p->path));
	return wf_buf_steal(&b);
}

char *wf_fv_strict_message(const wf_fv_list *l)
{
	wf_buf b;
	wf_buf_init(&b);
	wf_buf_puts(&b, "strict decoding error: ");
	for (size_t i = 0; i < l->n; i++) {
		char *t = wf_fv_problem_text(&l->v[i]);
		wf_buf_printf(&b, "%s%s", i ? ", " : "", t);
		free(t);
	}
	return wf_buf_steal(&b);
}

char *wf_fv_warning_value(const char *text)
{
	wf_buf b;
	wf_buf_init(&b);
	wf_buf_puts(&b, "299 - \"");
	for (const char *p = text; *p; p++) {
		unsigned char c = (unsigned char)*p;
		if (c == '"' || c == '\\')
			wf_buf_putc(&b, '\\');
		wf_buf_putc(&b, c < 0x20 || c == 0x7f ? ' ' : (char)c);
	}
	wf_buf_putc(&b, '"');
	return wf_buf_steal(&b);
}

int wf_fv_parse_directive(const char *value, wf_fv_directive *out, wf_err *err)
{
	if (!value || !value[0] || !strcmp(value, "Warn")) {
		*out = WF_FV_WARN;
		return 0;
	}
	if (!strcmp(value, "Strict")) {
		*out = WF_FV_STRICT;
		return 0;
	}
	if (!strcmp(value, "Ignore")) {
		*out = WF_FV_IGNORE;
		return 0;
	}
	wf_buf b;
	wf_buf_init(&b);
	wf__go_quote(&b, value, wf__utf8_cut(value, strlen(value), 200));
	int rc =
	    wf_err_set(err, WF_EINVAL,
		       "Unsupported value: %s: supported values: \"\", \"Ignore\", \"Strict\", "
		       "\"Warn\"",
		       b.data);
	wf_buf_free(&b);
	return rc;
}

/* ---- unknown fields --------------------------------------------------------- */

/* The field of m (or of a struct m embeds) whose JSON name is key. */
static const wf_pb_field *wf__find(const wf_pb_msg *m, const char *key)
{
	for (size_t i = 0; i < m->nfields; i++) {
		const wf_pb_field *f = &m->fields[i];
		if (f->flags & WF_PB_INLINE) {
			const wf_pb_field *in = f->sub ? wf__find(f->sub, key) : NULL;
			if (in)
				return in;
		} else if (!strcmp(f->json, key)) {
			return f;
		}
	}
	return NULL;
}

static void wf__walk(const wf_pb_msg *m, const json_t *obj, bool top, wf_buf *path,
		     wf_fv_list *out);

/* Descend into the value of a known field. */
static void wf__descend(const wf_pb_field *f, const json_t *v, wf_buf *path, wf_fv_list *out)
{
	if ((f->flags & WF_PB_MAP) || f->type != WF_PB_MSG || !f->sub)
		return;
	if (!(f->flags & WF_PB_REP)) {
		if (json_is_object(v))
			wf__walk(f->sub, v, false, path, out);
		return;
	}
	if (!json_is_array(v))
		return;
	size_t i;
	json_t *e;
	json_array_foreach(v, i, e)
	{
		if (!json_is_object(e))
			continue;
		size_t mark = path->len;
		wf_buf_printf(path, "[%zu]", i);
		wf__walk(f->sub, e, false, path, out);
		path->len = mark;
		path->data[mark] = '\0';
	}
}

static void wf__walk(const wf_pb_msg *m, const json_t *obj, bool top, wf_buf *path, wf_fv_list *out)
{
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)obj, key, v)
	{
		if (top && (!strcmp(key, "apiVersion") || !strcmp(key, "kind")))
			continue;
		size_t mark = path->len;
		if (mark)
			wf_buf_putc(path, '.');
		wf_buf_puts(path, key);
		const wf_pb_field *f = wf__find(m, key);
		if (f)
			wf__descend(f, v, path, out);
		else
			wf_fv_list_add(out, WF_FV_UNKNOWN, path->data);
		path->len = mark;
		path->data[mark] = '\0';
	}
}

void wf_fv_unknown_fields(const wf_pb_msg *msg, const json_t *obj, wf_fv_list *out)
{
	if (!msg || !json_is_object(obj))
		return;
	wf_buf path;
	wf_buf_init(&path);
	wf_buf_reserve(&path, 64);
	path.data[0] = '\0';
	wf__walk(msg, obj, true, &path, out);
	wf_buf_free(&path);
}

/* ---- duplicate keys ---------------------------------------------------------- */

typedef struct wf__scan {
	const char *p, *end;
	wf_buf path;
	wf_fv_list *out;
} wf__scan;

static void wf__ws(wf__scan *s)
{
	while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
		s->p++;
}

static int wf__hex4(const char *p, const char *end)
{
	if (end - p < 4)
		return -1;
	int v = 0;
	for (int i = 0; i < 4; i++) {
		char c = p[i];
		int d = c >= '0' && c <= '9'   ? c - '0'
			: c >= 'a' && c <= 'f' ? c - 'a' + 10
			: c >= 'A' && c <= 'F' ? c - 'A' + 10
					       : -1;
		if (d < 0)
			return -1;
		v = v * 16 + d;
	}
	return v;
}

static void wf__put_utf8(wf_buf *b, unsigned cp)
{
	char u[4];
	size_t n;
	if (cp < 0x80) {
		u[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (char)(0xC0 | (cp >> 6));
		u[1] = (char)(0x80 | (cp & 0x3F));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (char)(0xE0 | (cp >> 12));
		u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		u[2] = (char)(0x80 | (cp & 0x3F));
		n = 3;
	} else {
		u[0] = (char)(0xF0 | (cp >> 18));
		u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
		u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
		u[3] = (char)(0x80 | (cp & 0x3F));
		n = 4;
	}
	wf_buf_append(b, u, n);
}

/* A string at s->p ('"'), decoded into dst when dst is not NULL. */
static bool wf__string(wf__scan *s, wf_buf *dst)
{
	if (s->p >= s->end || *s->p != '"')
		return false;
	s->p++;
	while (s->p < s->end) {
		char c = *s->p++;
		if (c == '"')
			return true;
		if (c != '\\') {
			if (dst)
				wf_buf_putc(dst, c);
			continue;
		}
		if (s->p >= s->end)
			return false;
		char e = *s->p++;
		const char *simple = strchr("\"\\/bfnrt", e);
		if (e && simple) {
			static const char repl[] = "\"\\/\b\f\n\r\t";
			if (dst)
				wf_buf_putc(dst, repl[simple - "\"\\/bfnrt"]);
			continue;
		}
		if (e != 'u')
			return false;
		int cp = wf__hex4(s->p, s->end);
		if (cp < 0)
			return false;
		s->p += 4;
		if (cp >= 0xD800 && cp < 0xDC00 && s->end - s->p >= 6 && s->p[0] == '\\' &&
		    s->p[1] == 'u') {
			int lo = wf__hex4(s->p + 2, s->end);
			if (lo >= 0xDC00 && lo < 0xE000) {
				cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
				s->p += 6;
			}
		}
		if (dst)
			wf__put_utf8(dst, (unsigned)cp);
	}
	return false;
}

static bool wf__value(wf__scan *s);

static bool wf__object(wf__scan *s)
{
	s->p++; /* '{' */
	json_t *seen = json_object();
	wf_buf key;
	wf_buf_init(&key);
	bool ok = false;
	wf__ws(s);
	if (s->p < s->end && *s->p == '}') {
		s->p++;
		ok = true;
		goto out;
	}
	for (;;) {
		wf__ws(s);
		key.len = 0;
		wf_buf_reserve(&key, 1);
		key.data[0] = '\0';
		if (!wf__string(s, &key))
			goto out;
		size_t mark = s->path.len;
		if (mark)
			wf_buf_putc(&s->path, '.');
		wf_buf_append(&s->path, key.data, key.len);
		/* A key that is not a C string (a NUL inside) cannot be a set
		 * key; the JSON parser refuses those anyway. */
		if (strlen(key.data) == key.len) {
			if (json_object_get(seen, key.data))
				wf_fv_list_add(s->out, WF_FV_DUPLICATE, s->path.data);
			else
				json_object_set_new(seen, key.data, json_true());
		}
		wf__ws(s);
		bool vok = s->p < s->end && *s->p == ':';
		if (vok) {
			s->p++;
			vok = wf__value(s);
		}
		s->path.len = mark;
		s->path.data[mark] = '\0';
		if (!vok)
			goto out;
		wf__ws(s);
		if (s->p < s->end && *s->p == ',') {
			s->p++;
			continue;
		}
		if (s->p < s->end && *s->p == '}') {
			s->p++;
			ok = true;
		}
		goto out;
	}
out:
	wf_buf_free(&key);
	json_decref(seen);
	return ok;
}

static bool wf__array(wf__scan *s)
{
	s->p++; /* '[' */
	wf__ws(s);
	if (s->p < s->end && *s->p == ']') {
		s->p++;
		return true;
	}
	for (size_t i = 0;; i++) {
		size_t mark = s->path.len;
		wf_buf_printf(&s->path, "[%zu]", i);
		bool ok = wf__value(s);
		s->path.len = mark;
		s->path.data[mark] = '\0';
		if (!ok)
			return false;
		wf__ws(s);
		if (s->p < s->end && *s->p == ',') {
			s->p++;
			continue;
		}
		if (s->p < s->end && *s->p == ']') {
			s->p++;
			return true;
		}
		return false;
	}
}

static bool wf__value(wf__scan *s)
{
	wf__ws(s);
	if (s->p >= s->end)
		return false;
	switch (*s->p) {
	case '{':
		return wf__object(s);
	case '[':
		return wf__array(s);
	case '"':
		return wf__string(s, NULL);
	default: {
		const char *start = s->p;
		while (s->p < s->end && strchr("+-.0123456789eEtrufalsn", *s->p) && *s->p)
			s->p++;
		return s->p > start;
	}
	}
}

void wf_fv_duplicate_fields(const char *json, size_t len, wf_fv_list *out)
{
	if (!json)
		return;
	wf__scan s = {.p = json, .end = json + len, .out = out};
	wf_buf_init(&s.path);
	wf_buf_reserve(&s.path, 64);
	s.path.data[0] = '\0';
	wf__value(&s);
	wf_buf_free(&s.path);
}

/* ---- requests ------------------------------------------------------------------ */

bool wf_fv_begin(struct wf_req *r, const char *opts_kind, wf_fv *fv)
{
	*fv = (wf_fv){.directive = WF_FV_WARN};
	wf_err err = {0};
	if (wf_fv_parse_directive(wf_req_query(r, "fieldValidation"), &fv->directive, &err) == 0)
		return true;
	char msg[700];
	snprintf(msg, sizeof msg, "%s.meta.k8s.io \"\" is invalid: fieldValidation: %s", opts_kind,
		 err.msg);
	json_t *cause = json_object();
	json_object_set_new(cause, "reason", json_string("FieldValueNotSupported"));
	json_object_set_new(cause, "message", json_string(err.msg));
	json_object_set_new(cause, "field", json_string("fieldValidation"));
	json_t *causes = json_array();
	json_array_append_new(causes, cause);
	json_t *d = json_object();
	json_object_set_new(d, "group", json_string("meta.k8s.io"));
	json_object_set_new(d, "kind", json_string(opts_kind));
	json_object_set_new(d, "causes", causes);
	wf_reply_status(r, 422, "Invalid", msg, d);
	return false;
}

int wf_fv_decode_body(const struct wf_req *r, const wf_kind *k, wf_fv *fv, json_t **out,
		      wf_err *err)
{
	int rc = wf_body_decode_kind(r, k, out, err);
	if (rc != -WF_EINVAL || !r->body || !r->body_len)
		return rc;
	/* Only a repeated key, or something else? Parse again, allowing them. */
	json_error_t je;
	json_t *v = json_loadb(r->body, r->body_len, 0, &je);
	if (!v)
		return rc;
	wf_fv_list dups = {0};
	wf_fv_duplicate_fields(r->body, r->body_len, &dups);
	if (!dups.n) {
		json_decref(v);
		wf_fv_list_free(&dups);
		return rc;
	}
	wf__list_move(&fv->dups, &dups);
	wf_err_clear(err);
	*out = v;
	return 0;
}

/* Add the problems' warnings within kube-apiserver's budget: distinct
 * texts only; when they are long, each cut to 256 bytes; never more than
 * WF_FV_WARNINGS_BYTES in all or WF_FV_MAX_WARNINGS headers. */
static void wf__warn(struct wf_req *r, const wf_fv_list *l)
{
	char **texts = wf_xcalloc(l->n ? l->n : 1, sizeof *texts);
	size_t n = 0, total = 0;
	for (size_t i = 0; i < l->n; i++) {
		char *t = wf_fv_problem_text(&l->v[i]);
		bool seen = false;
		for (size_t j = 0; j < n && !seen; j++)
			seen = !strcmp(texts[j], t);
		if (seen) {
			free(t);
			continue;
		}
		total += strlen(t);
		texts[n++] = t;
	}
	size_t used = 0;
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(texts[i]);
		if (total > WF_FV_WARNINGS_BYTES) {
			len = wf__utf8_cut(texts[i], len, 256);
			texts[i][len] = '\0';
		}
		if (i < WF_FV_MAX_WARNINGS && used + len <= WF_FV_WARNINGS_BYTES) {
			wf_reply_add_warning(r, texts[i]);
			used += len;
		}
		free(texts[i]);
	}
	free(texts);
}

/* 400 for a body, 422 on "patch" for a patch, as kube-apiserver answers. */
static void wf__refuse(struct wf_req *r, const wf_kind *k, const wf_fv_list *l, bool patched)
{
	char *strict = wf_fv_strict_message(l);
	if (!patched) {
		char *msg = wf_xasprintf("%s in version \"%s\" cannot be handled as a %s: %s",
					 k ? k->kind : "object", k ? k->version : "",
					 k ? k->kind : "object", strict);
		wf_reply_status(r, 400, "BadRequest", msg, NULL);
		free(msg);
		free(strict);
		return;
	}
	wf_buf cm;
	wf_buf_init(&cm);
	wf_buf_puts(&cm, "Invalid value: ");
	size_t blen = r->body ? r->body_len : 0;
	size_t cut = wf__utf8_cut(r->body ? r->body : "", blen, 256);
	wf_buf qv;
	wf_buf_init(&qv);
	wf_buf_append(&qv, r->body ? r->body : "", cut);
	if (cut < blen)
		wf_buf_puts(&qv, "...");
	wf__go_quote(&cm, qv.data, qv.len);
	wf_buf_free(&qv);
	wf_buf_printf(&cm, ": %s", strict);
	free(strict);
	char *msg = wf_xasprintf(" \"\" is invalid: patch: %s", cm.data);
	json_t *cause = json_object();
	json_object_set_new(cause, "reason", json_string("FieldValueInvalid"));
	json_object_set_new(cause, "message", json_string(cm.data));
	json_object_set_new(cause, "field", json_string("patch"));
	json_t *causes = json_array();
	json_array_append_new(causes, cause);
	json_t *d = json_object();
	json_object_set_new(d, "causes", causes);
	wf_reply_status(r, 422, "Invalid", msg, d);
	free(msg);
	wf_buf_free(&cm);
}

bool wf_fv_admit(struct wf_req *r, wf_fv *fv, const wf_kind *k, const json_t *obj,
		 const json_t *old, bool patched)
{
	if (fv->directive == WF_FV_IGNORE)
		return true;
	wf_fv_list l = {0};
	for (size_t i = 0; i < fv->dups.n; i++)
		wf_fv_list_add(&l, fv->dups.v[i].kind, fv->dups.v[i].path);
	const wf_pb_msg *m = k ? wf_pb_schema_find(wf_kind_api_version(k), k->kind) : NULL;
	if (m) {
		wf_fv_list unknown = {0};
		wf_fv_unknown_fields(m, obj, &unknown);
		if (old && unknown.n) {
			wf_fv_list before = {0};
			wf_fv_unknown_fields(m, old, &before);
			wf_fv_list_subtract(&unknown, &before);
			wf_fv_list_free(&before);
		}
		wf__list_move(&l, &unknown);
	}
	bool ok = true;
	if (l.n && fv->directive == WF_FV_STRICT) {
		wf__refuse(r, k, &l, patched);
		ok = false;
	} else if (l.n && !fv->warned) {
		wf__warn(r, &l);
		fv->warned = true;
	}
	wf_fv_list_free(&l);
	return ok;
}

void wf_fv_end(wf_fv *fv)
{
	wf_fv_list_free(&fv->dups);
}
