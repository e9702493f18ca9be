/*
 * wf_selector.c - label and field selector parsing and matching.
 *
 * The label selector parser mirrors apimachinery's labels.Parse closely so
 * that every input is accepted or rejected the same way and with the same
 * message: a lexer turns the whole string into a token array first, then a
 * recursive-descent parser walks it with one token of lookahead. As in
 * Kubernetes, "in" and "notin" are keywords only where an operator is
 * expected; elsewhere they are ordinary identifiers ("in in (in)" is valid).
 * Tokens point into the input; strings are copied only into the result.
 *
 * The field selector parser mirrors fields.ParseSelector: split on
 * unescaped commas, sort the terms, split each at its first operator and
 * unescape the value.
 *
 * Invariant of a parsed selector: reqs is sorted by key (stable); IN/NOTIN
 * values are sorted and distinct; every string is heap-owned.
 */
#include "lib/wf_selector.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/wf_mem.h"
#include "lib/wf_validate.h"

/* Longest piece of user input echoed in an error message. */
#define WF__ECHO_MAX 128

typedef struct wf__str {
	const char *p;
	size_t n;
} wf__str;

/* ------------------------------------------------------------------ */
/* Messages                                                           */

/* Length of the valid UTF-8 sequence at p (1-4), or 0 if invalid. p must
 * be NUL-terminated. */
static size_t wf__utf8_len(const unsigned char *p)
{
	unsigned c = p[0];
	size_t n;
	uint32_t cp, min;
	if (c < 0x80)
		return 1;
	if ((c & 0xE0) == 0xC0)
		n = 2, cp = c & 0x1F, min = 0x80;
	else if ((c & 0xF0) == 0xE0)
		n = 3, cp = c & 0x0F, min = 0x800;
	else if ((c & 0xF8) == 0xF0)
		n = 4, cp = c & 0x07, min = 0x10000;
	else
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3F);
	}
	if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	return n;
}

/* Append s quoted the way Go's %q does (approximately: valid multi-byte
 * UTF-8 is kept as is), shortened after WF__ECHO_MAX input bytes. */
static void wf__quote(wf_buf *b, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t used = 0;
	wf_buf_putc(b, '"');
	while (*p) {
		if (used >= WF__ECHO_MAX) {
			wf_buf_puts(b, "...");
			break;
		}
		size_t n = wf__utf8_len(p);
		unsigned c = *p;
		if (n > 1) {
			wf_buf_append(b, p, n);
		} else if (n == 0 || c < 0x20 || c == 0x7f) {
			const char *esc = NULL;
			switch (c) {
			case '\a':
				esc = "\\a";
				break;
			case '\b':
				esc = "\\b";
				break;
			case '\f':
				esc = "\\f";
				break;
			case '\n':
				esc = "\\n";
				break;
			case '\r':
				esc = "\\r";
				break;
			case '\t':
				esc = "\\t";
				break;
			case '\v':
				esc = "\\v";
				break;
			}
			if (esc)
				wf_buf_puts(b, esc);
			else
				wf_buf_printf(b, "\\x%02x", c);
			n = 1;
		} else if (c == '"' || c == '\\') {
			wf_buf_putc(b, '\\');
			wf_buf_putc(b, (char)c);
		} else {
			wf_buf_putc(b, (char)c);
		}
		p += n;
		used += n;
	}
	wf_buf_putc(b, '"');
}

/* Append a token literal as Go's %s would, shortened like wf__quote. */
static void wf__echo(wf_buf *b, wf__str s)
{
	if (s.n > WF__ECHO_MAX) {
		wf_buf_append(b, s.p, WF__ECHO_MAX);
		wf_buf_puts(b, "...");
	} else {
		wf_buf_append(b, s.p, s.n);
	}
}

static int wf__fail(wf_buf *msg, wf_err *err)
{
	int rc = wf_err_set(err, WF_EINVAL, "%s", msg->data ? msg->data : "invalid selector");
	wf_buf_free(msg);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Selector construction                                              */

typedef struct wf__reqs {
	wf_sel_req *v;
	size_t n, cap;
} wf__reqs;

static void wf__req_free(wf_sel_req *r)
{
	free(r->key);
	for (size_t i = 0; i < r->nvalues; i++)
		free(r->values[i]);
	free(r->values);
	memset(r, 0, sizeof *r);
}

static void wf__reqs_push(wf__reqs *rs, wf_sel_req *r)
{
	if (rs->n == rs->cap) {
		rs->cap = rs->cap ? rs->cap * 2 : 4;
		rs->v = wf_xrealloc(rs->v, rs->cap * sizeof *rs->v);
	}
	rs->v[rs->n++] = *r;
}

static void wf__reqs_free(wf__reqs *rs)
{
	for (size_t i = 0; i < rs->n; i++)
		wf__req_free(&rs->v[i]);
	free(rs->v);
	memset(rs, 0, sizeof *rs);
}

/* Stable merge sort by key, so repeated keys keep their input order and
 * hostile selectors with many terms stay O(n log n). */
static void wf__reqs_sort(wf__reqs *rs)
{
	if (rs->n < 2)
		return;
	wf_sel_req *tmp = wf_xmalloc(rs->n * sizeof *tmp);
	wf_sel_req *src = rs->v, *dst = tmp;
	for (size_t w = 1; w < rs->n; w *= 2) {
		for (size_t lo = 0; lo < rs->n; lo += 2 * w) {
			size_t mid = lo + w < rs->n ? lo + w : rs->n;
			size_t hi = lo + 2 * w < rs->n ? lo + 2 * w : rs->n;
			size_t i = lo, j = mid, k = lo;
			while (i < mid && j < hi)
				dst[k++] = strcmp(src[j].key, src[i].key) < 0 ? src[j++] : src[i++];
			while (i < mid)
				dst[k++] = src[i++];
			while (j < hi)
				dst[k++] = src[j++];
		}
		wf_sel_req *t = src;
		src = dst;
		dst = t;
	}
	if (src != rs->v)
		memcpy(rs->v, src, rs->n * sizeof *src);
	free(tmp);
}

static void wf__reqs_finish(wf__reqs *rs, wf_selector *out)
{
	out->reqs = rs->v;
	out->nreqs = rs->n;
}

/* ------------------------------------------------------------------ */
/* Label selector lexer                                               */

typedef enum wf__tk {
	WF__T_END,
	WF__T_CLOSE,
	WF__T_COMMA,
	WF__T_NOT,
	WF__T_DEQ,
	WF__T_EQ,
	WF__T_GT,
	WF__T_IDENT,
	WF__T_IN,
	WF__T_LT,
	WF__T_NEQ,
	WF__T_NOTIN,
	WF__T_OPEN,
} wf__tk;

typedef struct wf__tok {
	wf__tk kind;
	wf__str lit;
} wf__tok;

typedef struct wf__lparser {
	wf__tok *toks;
	size_t ntoks, cap, pos;
	wf_buf msg;
} wf__lparser;

static bool wf__is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool wf__is_special(char c)
{
	return c != '\0' && strchr("=!(),><", c) != NULL;
}

static void wf__push_tok(wf__lparser *p, wf__tk kind, const char *s, size_t n)
{
	if (p->ntoks == p->cap) {
		p->cap = p->cap ? p->cap * 2 : 16;
		p->toks = wf_xrealloc(p->toks, p->cap * sizeof *p->toks);
	}
	p->toks[p->ntoks++] = (wf__tok){kind, {s, n}};
}

static void wf__lex(wf__lparser *p, const char *s)
{
	for (;;) {
		while (wf__is_ws(*s))
			s++;
		if (*s == '\0') {
			wf__push_tok(p, WF__T_END, s, 0);
			return;
		}
		if (wf__is_special(*s)) {
			/* Longest match among "=", "==", "!", "!=", "(", ")", ",", ">", "<". */
			wf__tk k;
			size_t n = 1;
			switch (*s) {
			case '=':
				k = s[1] == '=' ? (n = 2, WF__T_DEQ) : WF__T_EQ;
				break;
			case '!':
				k = s[1] == '=' ? (n = 2, WF__T_NEQ) : WF__T_NOT;
				break;
			case '(':
				k = WF__T_OPEN;
				break;
			case ')':
				k = WF__T_CLOSE;
				break;
			case ',':
				k = WF__T_COMMA;
				break;
			case '>':
				k = WF__T_GT;
				break;
			default:
				k = WF__T_LT;
				break;
			}
			wf__push_tok(p, k, s, n);
			s += n;
			continue;
		}
		const char *start = s;
		while (*s != '\0' && !wf__is_special(*s) && !wf__is_ws(*s))
			s++;
		size_t n = (size_t)(s - start);
		wf__tk k = WF__T_IDENT;
		if (n == 2 && memcmp(start, "in", 2) == 0)
			k = WF__T_IN;
		else if (n == 5 && memcmp(start, "notin", 5) == 0)
			k = WF__T_NOTIN;
		wf__push_tok(p, k, start, n);
	}
}

/* In a value context the keywords are plain identifiers. */
static wf__tok wf__peek(const wf__lparser *p, bool values)
{
	wf__tok t = p->toks[p->pos];
	if (values && (t.kind == WF__T_IN || t.kind == WF__T_NOTIN))
		t.kind = WF__T_IDENT;
	return t;
}

static wf__tok wf__next(wf__lparser *p, bool values)
{
	wf__tok t = wf__peek(p, values);
	if (t.kind != WF__T_END)
		p->pos++;
	return t;
}

/* "found '<lit>', expected: <what>" into p->msg; returns -1. */
static int wf__found(wf__lparser *p, wf__str lit, const char *what)
{
	wf_buf_puts(&p->msg, "found '");
	wf__echo(&p->msg, lit);
	wf_buf_puts(&p->msg, "'");
	wf_buf_puts(&p->msg, what);
	return -1;
}

/* ------------------------------------------------------------------ */
/* Label selector parser                                              */

typedef struct wf__vals {
	wf__str *v;
	size_t n, cap;
} wf__vals;

static void wf__vals_add(wf__vals *vs, const char *s, size_t n)
{
	if (vs->n == vs->cap) {
		vs->cap = vs->cap ? vs->cap * 2 : 4;
		vs->v = wf_xrealloc(vs->v, vs->cap * sizeof *vs->v);
	}
	vs->v[vs->n++] = (wf__str){s, n};
}

static int wf__str_cmp(const void *a, const void *b)
{
	const wf__str *x = a, *y = b;
	size_t n = x->n < y->n ? x->n : y->n;
	int c = memcmp(x->p, y->p, n);
	if (c)
		return c;
	return (x->n > y->n) - (x->n < y->n);
}

/* "(" values ")" after in/notin; the Kubernetes grammar lets values be
 * empty: "()" and "(a,)" and "(,a)" all contain "". */
static int wf__parse_set(wf__lparser *p, wf__vals *vs)
{
	wf__tok t = wf__next(p, true);
	if (t.kind != WF__T_OPEN)
		return wf__found(p, t.lit, " expected: '('");
	t = wf__peek(p, true);
	if (t.kind == WF__T_CLOSE) {
		wf__next(p, true);
		wf__vals_add(vs, "", 0);
		return 0;
	}
	if (t.kind != WF__T_IDENT && t.kind != WF__T_COMMA)
		return wf__found(p, t.lit, ", expected: ',', ')' or identifier");
	for (;;) {
		t = wf__next(p, true);
		if (t.kind == WF__T_IDENT) {
			wf__vals_add(vs, t.lit.p, t.lit.n);
			wf__tok la = wf__peek(p, true);
			if (la.kind == WF__T_CLOSE)
				break;
			if (la.kind != WF__T_COMMA)
				return wf__found(p, la.lit, ", expected: ',' or ')'");
		} else if (t.kind == WF__T_COMMA) {
			if (vs->n == 0)
				wf__vals_add(vs, "", 0);
			wf__tok la = wf__peek(p, true);
			if (la.kind == WF__T_CLOSE) {
				wf__vals_add(vs, "", 0);
				break;
			}
			if (la.kind == WF__T_COMMA) {
				wf__next(p, true);
				wf__vals_add(vs, "", 0);
			}
		} else {
			return wf__found(p, t.lit, ", expected: ',', or identifier");
		}
	}
	wf__next(p, true); /* the ')' seen above */
	return 0;
}

/* Build the requirement and validate its values like NewRequirement. */
static int wf__make_req(wf__lparser *p, wf__str key, wf_sel_op op, wf__vals *vs, wf_sel_req *out)
{
	memset(out, 0, sizeof *out);
	out->key = wf_xstrndup(key.p, key.n);
	out->op = op;
	if (op == WF_SEL_EXISTS || op == WF_SEL_NOTEXISTS)
		return 0;

	qsort(vs->v, vs->n, sizeof *vs->v, wf__str_cmp);
	out->values = wf_xcalloc(vs->n, sizeof *out->values);
	for (size_t i = 0; i < vs->n; i++) {
		if (out->nvalues > 0 && wf__str_cmp(&vs->v[i], &vs->v[i - 1]) == 0)
			continue;
		out->values[out->nvalues++] = wf_xstrndup(vs->v[i].p, vs->v[i].n);
	}

	size_t nbad = 0;
	wf_buf list;
	wf_buf_init(&list);
	for (size_t i = 0; i < out->nvalues; i++) {
		const char *m = wf_check_label_value(out->values[i]);
		if (!m)
			continue;
		if (nbad++)
			wf_buf_puts(&list, ", ");
		wf_buf_printf(&list, "values[%zu][", i);
		wf__echo(&list, (wf__str){out->key, key.n});
		wf_buf_puts(&list, "]: Invalid value: ");
		wf__quote(&list, out->values[i]);
		wf_buf_printf(&list, ": %s", m);
	}
	if (nbad == 0)
		return 0;
	wf_buf_printf(&p->msg, nbad > 1 ? "[%s]" : "%s", list.data);
	wf_buf_free(&list);
	wf__req_free(out);
	return -1;
}

static int wf__parse_requirement(wf__lparser *p, wf_sel_req *out)
{
	wf_sel_op op = WF_SEL_EQ;
	bool notexists = false;
	wf__tok t = wf__next(p, true);
	if (t.kind == WF__T_NOT) {
		notexists = true;
		t = wf__next(p, true);
	}
	if (t.kind != WF__T_IDENT)
		return wf__found(p, t.lit, ", expected: identifier");
	wf__str key = t.lit;
	char *k = wf_xstrndup(key.p, key.n);
	const char *m = wf_check_qualified_name(k);
	if (m) {
		wf_buf_puts(&p->msg, "<nil>: Invalid value: ");
		wf__quote(&p->msg, k);
		wf_buf_printf(&p->msg, ": %s", m);
		free(k);
		return -1;
	}
	free(k);

	wf__vals vs = {0};
	int rc;
	wf__tk la = wf__peek(p, true).kind;
	if (notexists || la == WF__T_END || la == WF__T_COMMA) {
		rc = wf__make_req(p, key, notexists ? WF_SEL_NOTEXISTS : WF_SEL_EXISTS, &vs, out);
		return rc;
	}

	t = wf__next(p, false);
	switch (t.kind) {
	case WF__T_IN:
		op = WF_SEL_IN;
		break;
	case WF__T_NOTIN:
		op = WF_SEL_NOTIN;
		break;
	case WF__T_EQ:
	case WF__T_DEQ:
		op = WF_SEL_EQ;
		break;
	case WF__T_NEQ:
		op = WF_SEL_NEQ;
		break;
	case WF__T_GT:
	case WF__T_LT:
		wf_buf_printf(&p->msg, "operator '%s' is not supported",
			      t.kind == WF__T_GT ? "gt" : "lt");
		return -1;
	default:
		return wf__found(p, t.lit, ", expected: in, notin, =, ==, !=, gt, lt");
	}

	if (op == WF_SEL_IN || op == WF_SEL_NOTIN) {
		rc = wf__parse_set(p, &vs);
	} else {
		wf__tok v = wf__peek(p, true);
		rc = 0;
		if (v.kind == WF__T_END || v.kind == WF__T_COMMA) {
			wf__vals_add(&vs, "", 0);
		} else {
			wf__next(p, true);
			if (v.kind == WF__T_IDENT)
				wf__vals_add(&vs, v.lit.p, v.lit.n);
			else
				rc = wf__found(p, v.lit, ", expected: identifier");
		}
	}
	if (rc == 0)
		rc = wf__make_req(p, key, op, &vs, out);
	free(vs.v);
	return rc;
}

static int wf__parse_label(wf__lparser *p, wf__reqs *rs)
{
	for (;;) {
		wf__tok t = wf__peek(p, true);
		if (t.kind == WF__T_END)
			return 0;
		if (t.kind != WF__T_IDENT && t.kind != WF__T_NOT)
			return wf__found(p, t.lit, ", expected: !, identifier, or 'end of string'");

		wf_sel_req r;
		wf_buf_puts(&p->msg, "unable to parse requirement: ");
		if (wf__parse_requirement(p, &r) < 0)
			return -1;
		wf_buf_free(&p->msg);
		wf__reqs_push(rs, &r);

		t = wf__next(p, true);
		if (t.kind == WF__T_END)
			return 0;
		if (t.kind != WF__T_COMMA)
			return wf__found(p, t.lit, ", expected: ',' or 'end of string'");
		wf__tok la = wf__peek(p, true);
		if (la.kind != WF__T_IDENT && la.kind != WF__T_NOT)
			return wf__found(p, la.lit, ", expected: identifier after ','");
	}
}

int wf_label_selector_parse(const char *s, wf_selector *out, wf_err *err)
{
	wf__lparser p = {0};
	wf__reqs rs = {0};
	memset(out, 0, sizeof *out);
	wf_buf_init(&p.msg);
	wf__lex(&p, s ? s : "");
	int rc = wf__parse_label(&p, &rs);
	free(p.toks);
	if (rc < 0) {
		wf__reqs_free(&rs);
		return wf__fail(&p.msg, err);
	}
	wf_buf_free(&p.msg);
	wf__reqs_sort(&rs);
	wf__reqs_finish(&rs, out);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Field selectors                                                    */

/* Unescape a field selector value (fields.UnescapeValue) into *out. */
static int wf__unescape(wf__str v, char **out, wf_buf *msg)
{
	wf_buf b;
	wf_buf_init(&b);
	for (size_t i = 0; i < v.n; i++) {
		char c = v.p[i];
		if (c == ',' || c == '=') {
			wf_buf_printf(
			    msg, "invalid field selector: unescaped character in value: %d", c);
			wf_buf_free(&b);
			return -1;
		}
		if (c != '\\') {
			wf_buf_putc(&b, c);
			continue;
		}
		if (++i == v.n) {
			wf_buf_puts(msg, "invalid field selector: invalid escape sequence: \\");
			wf_buf_free(&b);
			return -1;
		}
		c = v.p[i];
		if (c != '\\' && c != ',' && c != '=') {
			/* Go prints the rune after the backslash; bad UTF-8 as U+FFFD. */
			size_t n = wf__utf8_len((const unsigned char *)v.p + i);
			if (i + n > v.n)
				n = 0;
			wf_buf_puts(msg, "invalid field selector: invalid escape sequence: \\");
			if (n)
				wf_buf_append(msg, v.p + i, n);
			else
				wf_buf_puts(msg, "\xef\xbf\xbd");
			wf_buf_free(&b);
			return -1;
		}
		wf_buf_putc(&b, c);
	}
	*out = wf_buf_steal(&b);
	return 0;
}

static int wf__parse_field_term(const char *sel, wf__str term, wf__reqs *rs, wf_buf *msg)
{
	size_t i = 0;
	while (i < term.n && term.p[i] != '=' &&
	       !(term.p[i] == '!' && i + 1 < term.n && term.p[i + 1] == '='))
		i++;
	if (i == term.n) {
		wf_buf_puts(msg, "invalid selector: '");
		wf__echo(msg, (wf__str){sel, strlen(sel)});
		wf_buf_puts(msg, "'; can't understand '");
		wf__echo(msg, term);
		wf_buf_puts(msg, "'");
		return -1;
	}
	wf_sel_op op = term.p[i] == '!' ? WF_SEL_NEQ : WF_SEL_EQ;
	size_t oplen = (i + 1 < term.n && term.p[i + 1] == '=') ? 2 : 1;
	char *value;
	if (wf__unescape((wf__str){term.p + i + oplen, term.n - i - oplen}, &value, msg) < 0)
		return -1;
	wf_sel_req r = {
	    .key = wf_xstrndup(term.p, i),
	    .op = op,
	    .values = wf_xmalloc(sizeof(char *)),
	    .nvalues = 1,
	};
	r.values[0] = value;
	wf__reqs_push(rs, &r);
	return 0;
}

int wf_field_selector_parse(const char *s, wf_selector *out, wf_err *err)
{
	memset(out, 0, sizeof *out);
	if (!s || !*s)
		return 0;

	wf__vals terms = {0};
	const char *start = s;
	bool slash = false;
	for (const char *c = s;; c++) {
		if (*c == '\0' || (*c == ',' && !slash)) {
			wf__vals_add(&terms, start, (size_t)(c - start));
			if (*c == '\0')
				break;
			start = c + 1;
			continue;
		}
		slash = !slash && *c == '\\';
	}
	qsort(terms.v, terms.n, sizeof *terms.v, wf__str_cmp);

	wf__reqs rs = {0};
	wf_buf msg;
	wf_buf_init(&msg);
	for (size_t i = 0; i < terms.n; i++) {
		if (terms.v[i].n == 0)
			continue;
		if (wf__parse_field_term(s, terms.v[i], &rs, &msg) < 0) {
			free(terms.v);
			wf__reqs_free(&rs);
			return wf__fail(&msg, err);
		}
	}
	free(terms.v);
	wf__reqs_finish(&rs, out);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Matching                                                           */

void wf_selector_free(wf_selector *sel)
{
	if (!sel)
		return;
	for (size_t i = 0; i < sel->nreqs; i++)
		wf__req_free(&sel->reqs[i]);
	free(sel->reqs);
	sel->reqs = NULL;
	sel->nreqs = 0;
}

bool wf_selector_empty(const wf_selector *sel)
{
	return !sel || sel->nreqs == 0;
}

static bool wf__has_value(const wf_sel_req *r, const char *v)
{
	for (size_t i = 0; i < r->nvalues; i++)
		if (strcmp(r->values[i], v) == 0)
			return true;
	return false;
}

static bool wf__req_matches(const wf_sel_req *r, const char *v)
{
	switch (r->op) {
	case WF_SEL_EQ:
	case WF_SEL_IN:
		return v && wf__has_value(r, v);
	case WF_SEL_NEQ:
	case WF_SEL_NOTIN:
		return !v || !wf__has_value(r, v);
	case WF_SEL_EXISTS:
		return v != NULL;
	case WF_SEL_NOTEXISTS:
		return v == NULL;
	}
	return false;
}

bool wf_selector_matches(const wf_selector *sel, wf_sel_lookup_fn lookup, void *ctx)
{
	if (!sel)
		return true;
	for (size_t i = 0; i < sel->nreqs; i++)
		if (!wf__req_matches(&sel->reqs[i], lookup(ctx, sel->reqs[i].key)))
			return false;
	return true;
}

bool wf_field_selector_matches(const wf_selector *sel, wf_sel_lookup_fn lookup, void *ctx)
{
	if (!sel)
		return true;
	for (size_t i = 0; i < sel->nreqs; i++) {
		const wf_sel_req *r = &sel->reqs[i];
		const char *v = lookup(ctx, r->key);
		if ((r->op == WF_SEL_EQ || r->op == WF_SEL_NEQ) && !v)
			v = "";
		if (!wf__req_matches(r, v))
			return false;
	}
	return true;
}
