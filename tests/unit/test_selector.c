/*
 * test_selector.c - unit tests for wf_selector: label selector grammar
 * (every operator, whitespace, empty values, keyword-named keys, sorting),
 * the exact Kubernetes error for each kind of bad input, field selectors with
 * escapes, matching semantics of both kinds, and hostile input (10k-character
 * keys and values, 10k requirements, non-ASCII bytes).
 *
 * Parsed selectors are compared through render(), which prints them the way
 * Kubernetes' Selector.String() does ("a=1,b in (x,y),!c").
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/wf_mem.h"
#include "lib/wf_selector.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

#define QNAME_MSG                                                                                  \
	"must consist of alphanumeric characters, '-', '_' or '.', and must start and end with "   \
	"an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for "  \
	"validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
#define LVALUE_MSG                                                                                 \
	"a valid label must be an empty string or consist of alphanumeric characters, '-', '_' "   \
	"or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or "      \
	"'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-" \
	"Za-z0-9])?')"
#define REQ "unable to parse requirement: "
#define OPS "in, notin, =, ==, !=, gt, lt"

static char *render(const wf_selector *sel)
{
	wf_buf b;
	wf_buf_init(&b);
	for (size_t i = 0; i < sel->nreqs; i++) {
		const wf_sel_req *r = &sel->reqs[i];
		if (i)
			wf_buf_putc(&b, ',');
		if (r->op == WF_SEL_NOTEXISTS)
			wf_buf_putc(&b, '!');
		wf_buf_puts(&b, r->key);
		switch (r->op) {
		case WF_SEL_EQ:
			wf_buf_putc(&b, '=');
			break;
		case WF_SEL_NEQ:
			wf_buf_puts(&b, "!=");
			break;
		case WF_SEL_IN:
			wf_buf_puts(&b, " in (");
			break;
		case WF_SEL_NOTIN:
			wf_buf_puts(&b, " notin (");
			break;
		case WF_SEL_EXISTS:
		case WF_SEL_NOTEXISTS:
			assert_null(r->values);
			assert_int_equal(r->nvalues, 0);
			continue;
		}
		if (r->op == WF_SEL_EQ || r->op == WF_SEL_NEQ)
			assert_int_equal(r->nvalues, 1);
		else
			assert_true(r->nvalues >= 1);
		for (size_t j = 0; j < r->nvalues; j++) {
			if (j)
				wf_buf_putc(&b, ',');
			wf_buf_puts(&b, r->values[j]);
		}
		if (r->op == WF_SEL_IN || r->op == WF_SEL_NOTIN)
			wf_buf_putc(&b, ')');
	}
	return wf_buf_steal(&b);
}

/* ------------------------------------------------------------------ */
/* Label selector parsing                                             */

struct parse_case {
	const char *in;
	const char *want; /* rendered selector, or the error message */
};

static const struct parse_case label_ok[] = {
    {"", ""},
    {"   \t\r\n ", ""},
    {"x", "x"},
    {"!x", "!x"},
    {" ! x ", "!x"},
    {"x=a", "x=a"},
    {"x==a", "x=a"},
    {"x!=a", "x!=a"},
    {"x=", "x="},
    {"x==", "x="},
    {"x!=", "x!="},
    {"x=,y", "x=,y"},
    {"x in (a,b)", "x in (a,b)"},
    {"x in (b,a,b)", "x in (a,b)"},
    {"x notin (a)", "x notin (a)"},
    {"x in ()", "x in ()"},
    {"x in (,)", "x in ()"},
    {"x in (,a)", "x in (,a)"},
    {"x in (a,)", "x in (,a)"},
    {"x in (a,,b)", "x in (,a,b)"},
    {"x in (a,,,b)", "x in (,a,b)"},
    {"x notin ()", "x notin ()"},
    {"x in(a)", "x in (a)"},
    {"x in (a)", "x in (a)"},
    {" x  in  ( a , b ) ", "x in (a,b)"},
    {"\tx\n=\r a", "x=a"},
    {"x = a , y != b", "x=a,y!=b"},
    {"z=1,a=2,m", "a=2,m,z=1"},
    {"x,y,!z", "x,y,!z"},
    {"x=a,y!=b,z in (c),w notin (d),v,!u", "!u,v,w notin (d),x=a,y!=b,z in (c)"},
    {"a,a=1", "a,a=1"},
    {"a=1,a", "a=1,a"},
    {"a=2,a=1", "a=2,a=1"},
    {"in", "in"},
    {"notin", "notin"},
    {"in in (in)", "in in (in)"},
    {"notin notin (notin,in)", "notin notin (in,notin)"},
    {"x=in", "x=in"},
    {"x=notin,!in", "!in,x=notin"},
    {"app.kubernetes.io/name in (a-b_c.d,Z9)", "app.kubernetes.io/name in (Z9,a-b_c.d)"},
    {"example.com/MyName==v1.2", "example.com/MyName=v1.2"},
    {"nvidia.com/gpu.product=NVIDIA-A100-SXM4-80GB",
     "nvidia.com/gpu.product=NVIDIA-A100-SXM4-80GB"},
    {"x=123", "x=123"},
    {"X_1=a_1", "X_1=a_1"},
    {"kueue.x-k8s.io/queue-name=team-a", "kueue.x-k8s.io/queue-name=team-a"},
};

static void test_label_parse_valid(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(label_ok); i++) {
		wf_selector sel;
		wf_err err = {0};
		int rc = wf_label_selector_parse(label_ok[i].in, &sel, &err);
		if (rc != 0) {
			print_error("case '%s': rc=%d %s\n", label_ok[i].in, rc, err.msg);
			fail();
		}
		char *got = render(&sel);
		if (strcmp(got, label_ok[i].want) != 0) {
			print_error("case '%s':\n got  '%s'\n want '%s'\n", label_ok[i].in, got,
				    label_ok[i].want);
			fail();
		}
		assert_int_equal(wf_selector_empty(&sel), label_ok[i].want[0] == '\0');
		free(got);
		wf_selector_free(&sel);
		assert_null(sel.reqs);
		assert_int_equal(sel.nreqs, 0);
	}
}

static const struct parse_case label_bad[] = {
    {"app in (a,b", REQ "found '', expected: ',' or ')'"},
    {"=x", "found '=', expected: !, identifier, or 'end of string'"},
    {"a b", REQ "found 'b', expected: " OPS},
    {"a=b c", "found 'c', expected: ',' or 'end of string'"},
    {"a,", "found '', expected: identifier after ','"},
    {"a,,b", "found ',', expected: identifier after ','"},
    {",a", "found ',', expected: !, identifier, or 'end of string'"},
    {"(", "found '(', expected: !, identifier, or 'end of string'"},
    {")", "found ')', expected: !, identifier, or 'end of string'"},
    {"!", REQ "found '', expected: identifier"},
    {"!!a", REQ "found '!', expected: identifier"},
    {"!,a", REQ "found ',', expected: identifier"},
    {"!=a", "found '!=', expected: !, identifier, or 'end of string'"},
    {"==a", "found '==', expected: !, identifier, or 'end of string'"},
    {"!a=b", "found '=', expected: ',' or 'end of string'"},
    {"!a in (b)", "found 'in', expected: ',' or 'end of string'"},
    {"a in b", REQ "found 'b' expected: '('"},
    {"a in", REQ "found '' expected: '('"},
    {"a notin", REQ "found '' expected: '('"},
    {"a in (=)", REQ "found '=', expected: ',', ')' or identifier"},
    {"a in ((b)", REQ "found '(', expected: ',', ')' or identifier"},
    {"a in (b c)", REQ "found 'c', expected: ',' or ')'"},
    {"a in (b,=)", REQ "found '=', expected: ',', or identifier"},
    {"a in (b,", REQ "found '', expected: ',', or identifier"},
    {"a in (b))", "found ')', expected: ',' or 'end of string'"},
    {"a (b)", REQ "found '(', expected: " OPS},
    {"a !b", REQ "found '!', expected: " OPS},
    {"a=(", REQ "found '(', expected: identifier"},
    {"a=!", REQ "found '!', expected: identifier"},
    {"a===b", REQ "found '=', expected: identifier"},
    {"a=b=c", "found '=', expected: ',' or 'end of string'"},
    {"a>1", REQ "operator 'gt' is not supported"},
    {"a<1", REQ "operator 'lt' is not supported"},
    {"a$=b", REQ "<nil>: Invalid value: \"a$\": name part " QNAME_MSG},
    {"-a", REQ "<nil>: Invalid value: \"-a\": name part " QNAME_MSG},
    {"!-a", REQ "<nil>: Invalid value: \"-a\": name part " QNAME_MSG},
    {"a\"b", REQ "<nil>: Invalid value: \"a\\\"b\": name part " QNAME_MSG},
    {"a\\b", REQ "<nil>: Invalid value: \"a\\\\b\": name part " QNAME_MSG},
    {"a\x01", REQ "<nil>: Invalid value: \"a\\x01\": name part " QNAME_MSG},
    {"/a=b", REQ "<nil>: Invalid value: \"/a\": prefix part must be non-empty"},
    {"caf\xc3\xa9=1", REQ "<nil>: Invalid value: \"caf\xc3\xa9\": name part " QNAME_MSG},
    {"\xff=1", REQ "<nil>: Invalid value: \"\\xff\": name part " QNAME_MSG},
    {"x=-a", REQ "values[0][x]: Invalid value: \"-a\": " LVALUE_MSG},
    {"x in (ok,-a)", REQ "values[0][x]: Invalid value: \"-a\": " LVALUE_MSG},
    {"x=a\xc3\xa9", REQ "values[0][x]: Invalid value: \"a\xc3\xa9\": " LVALUE_MSG},
    {"x=a/b", REQ "values[0][x]: Invalid value: \"a/b\": " LVALUE_MSG},
    {"x=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
     REQ "values[0][x]: Invalid value: "
	 "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\": "
	 "must be no more than 63 characters"},
    {"a=1,b c", REQ "found 'c', expected: " OPS},
};

static void test_label_parse_invalid(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(label_bad); i++) {
		wf_selector sel = {(wf_sel_req *)&sel, 99}; /* garbage the parser must reset */
		wf_err err = {0};
		int rc = wf_label_selector_parse(label_bad[i].in, &sel, &err);
		if (rc != -WF_EINVAL || err.code != WF_EINVAL ||
		    strcmp(err.msg, label_bad[i].want) != 0) {
			print_error("case '%s': rc=%d\n got  '%s'\n want '%s'\n", label_bad[i].in,
				    rc, err.msg, label_bad[i].want);
			fail();
		}
		assert_null(sel.reqs);
		assert_int_equal(sel.nreqs, 0);
		wf_selector_free(&sel);
		assert_int_equal(wf_label_selector_parse(label_bad[i].in, &sel, NULL), -WF_EINVAL);
	}
}

/* Several bad values are reported together, Kubernetes-aggregate style. */
static void test_label_parse_many_bad_values(void **state)
{
	(void)state;
	wf_selector sel;
	wf_err err;
	assert_int_equal(wf_label_selector_parse("x in (-b,-a)", &sel, &err), -WF_EINVAL);
	const char *want = REQ "[values[0][x]: Invalid value: \"-a\": a valid label";
	assert_true(strncmp(err.msg, want, strlen(want)) == 0);
}

static void test_label_parse_null(void **state)
{
	(void)state;
	wf_selector sel;
	assert_int_equal(wf_label_selector_parse(NULL, &sel, NULL), 0);
	assert_true(wf_selector_empty(&sel));
	wf_selector_free(&sel);
	wf_selector_free(NULL);
	assert_true(wf_selector_empty(NULL));
}

static char *repeat(char c, size_t n)
{
	char *s = wf_xmalloc(n + 1);
	memset(s, c, n);
	s[n] = '\0';
	return s;
}

static void test_label_parse_hostile(void **state)
{
	(void)state;
	const size_t n = 10000;
	wf_selector sel;
	wf_err err;
	wf_buf b;

	/* a 10k-character key: rejected, message shortened but complete */
	char *s = repeat('k', n);
	assert_int_equal(wf_label_selector_parse(s, &sel, &err), -WF_EINVAL);
	wf_buf_init(&b);
	wf_buf_puts(&b, REQ "<nil>: Invalid value: \"");
	for (int i = 0; i < 128; i++)
		wf_buf_putc(&b, 'k');
	wf_buf_puts(&b, "...\": name part must be no more than 63 characters");
	assert_string_equal(err.msg, b.data);
	wf_buf_free(&b);

	/* a 10k-character value */
	wf_buf_puts(&b, "x=");
	wf_buf_puts(&b, s);
	assert_int_equal(wf_label_selector_parse(b.data, &sel, &err), -WF_EINVAL);
	assert_true(strncmp(err.msg, REQ "values[0][x]: Invalid value: \"kkk", 40) == 0);
	assert_non_null(strstr(err.msg, "...\": must be no more than 63 characters"));
	wf_buf_free(&b);

	/* a 10k-character unknown token after a requirement */
	wf_buf_puts(&b, "x ");
	wf_buf_puts(&b, s);
	assert_int_equal(wf_label_selector_parse(b.data, &sel, &err), -WF_EINVAL);
	assert_true(strncmp(err.msg, REQ "found 'kkk", 20) == 0);
	assert_non_null(strstr(err.msg, "...', expected: " OPS));
	wf_buf_free(&b);
	free(s);

	/* 10k blanks, then 10k unbalanced parentheses */
	s = repeat(' ', n);
	assert_int_equal(wf_label_selector_parse(s, &sel, NULL), 0);
	assert_true(wf_selector_empty(&sel));
	free(s);
	s = repeat('(', n);
	assert_int_equal(wf_label_selector_parse(s, &sel, &err), -WF_EINVAL);
	assert_string_equal(err.msg, "found '(', expected: !, identifier, or 'end of string'");
	free(s);

	/* 10k UTF-8 bytes as a key */
	s = repeat('\xc3', n);
	for (size_t i = 1; i < n; i += 2)
		s[i] = '\xa9';
	assert_int_equal(wf_label_selector_parse(s, &sel, &err), -WF_EINVAL);
	assert_true(strncmp(err.msg, REQ "<nil>: Invalid value: \"\xc3\xa9", 40) == 0);
	free(s);

	/* 10k requirements in reverse order come out sorted */
	for (int i = 9999; i >= 0; i--)
		wf_buf_printf(&b, "%sk%05d=v%d", i == 9999 ? "" : ",", i, i);
	assert_int_equal(wf_label_selector_parse(b.data, &sel, &err), 0);
	assert_int_equal(sel.nreqs, 10000);
	for (size_t i = 0; i < sel.nreqs; i++) {
		char key[32];
		snprintf(key, sizeof key, "k%05u", (unsigned)i);
		assert_string_equal(sel.reqs[i].key, key);
	}
	wf_selector_free(&sel);
	wf_buf_free(&b);

	/* a set of 10k values, with duplicates */
	wf_buf_puts(&b, "x in (");
	for (int i = 0; i < 10000; i++)
		wf_buf_printf(&b, "%sv%d", i ? "," : "", i % 5000);
	wf_buf_puts(&b, ")");
	assert_int_equal(wf_label_selector_parse(b.data, &sel, &err), 0);
	assert_int_equal(sel.nreqs, 1);
	assert_int_equal(sel.reqs[0].nvalues, 5000);
	for (size_t i = 1; i < sel.reqs[0].nvalues; i++)
		assert_true(strcmp(sel.reqs[0].values[i - 1], sel.reqs[0].values[i]) < 0);
	wf_selector_free(&sel);
	wf_buf_free(&b);
}

/* ------------------------------------------------------------------ */
/* Field selector parsing                                             */

static const struct parse_case field_ok[] = {
    {"", ""},
    {",", ""},
    {",,,", ""},
    {"metadata.name=foo", "metadata.name=foo"},
    {"metadata.name==foo", "metadata.name=foo"},
    {"spec.nodeName!=node-1", "spec.nodeName!=node-1"},
    {"involvedObject.namespace=", "involvedObject.namespace="},
    {"spec.nodeName!=", "spec.nodeName!="},
    {"c=d,a=b", "a=b,c=d"},
    {"a=b,,c=d", "a=b,c=d"},
    {"a=x\\,y", "a=x,y"},
    {"a=x\\=y", "a=x=y"},
    {"a=x\\\\y", "a=x\\y"},
    {"a=\\\\", "a=\\"},
    {"a=x\\,y,b=z", "a=x,y,b=z"},
    {"a=!b", "a=!b"},
    {"a=b!", "a=b!"},
    {"=b", "=b"},
    {"=", "="},
    {"!=", "!="},
    {" a = b ", " a = b "},
    {"a=caf\xc3\xa9", "a=caf\xc3\xa9"},
    {"a=\xff", "a=\xff"},
    {"status.phase=Running,spec.restartPolicy=Always",
     "spec.restartPolicy=Always,status.phase=Running"},
    {"a\\b=c", "a\\b=c"},
};

static void test_field_parse_valid(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(field_ok); i++) {
		wf_selector sel;
		wf_err err = {0};
		int rc = wf_field_selector_parse(field_ok[i].in, &sel, &err);
		if (rc != 0) {
			print_error("case '%s': rc=%d %s\n", field_ok[i].in, rc, err.msg);
			fail();
		}
		char *got = render(&sel);
		if (strcmp(got, field_ok[i].want) != 0) {
			print_error("case '%s':\n got  '%s'\n want '%s'\n", field_ok[i].in, got,
				    field_ok[i].want);
			fail();
		}
		for (size_t j = 0; j < sel.nreqs; j++)
			assert_true(sel.reqs[j].op == WF_SEL_EQ || sel.reqs[j].op == WF_SEL_NEQ);
		free(got);
		wf_selector_free(&sel);
	}
}

static void test_field_parse_ops(void **state)
{
	(void)state;
	wf_selector sel;
	assert_int_equal(wf_field_selector_parse("a!=1,b==2,c=3", &sel, NULL), 0);
	assert_int_equal(sel.nreqs, 3);
	assert_int_equal(sel.reqs[0].op, WF_SEL_NEQ);
	assert_string_equal(sel.reqs[0].key, "a");
	assert_string_equal(sel.reqs[0].values[0], "1");
	assert_int_equal(sel.reqs[1].op, WF_SEL_EQ);
	assert_string_equal(sel.reqs[1].values[0], "2");
	assert_int_equal(sel.reqs[2].op, WF_SEL_EQ);
	wf_selector_free(&sel);
}

static const struct parse_case field_bad[] = {
    {"a", "invalid selector: 'a'; can't understand 'a'"},
    {"a=b,c", "invalid selector: 'a=b,c'; can't understand 'c'"},
    {"a!b", "invalid selector: 'a!b'; can't understand 'a!b'"},
    {"a=b,c!d", "invalid selector: 'a=b,c!d'; can't understand 'c!d'"},
    {"!", "invalid selector: '!'; can't understand '!'"},
    {" ", "invalid selector: ' '; can't understand ' '"},
    {"a=b=c", "invalid field selector: unescaped character in value: 61"},
    {"a!==b", "invalid field selector: unescaped character in value: 61"},
    {"a===b", "invalid field selector: unescaped character in value: 61"},
    {"a=b\\", "invalid field selector: invalid escape sequence: \\"},
    {"a=b\\x", "invalid field selector: invalid escape sequence: \\x"},
    {"a=\\!", "invalid field selector: invalid escape sequence: \\!"},
    {"a=\\n", "invalid field selector: invalid escape sequence: \\n"},
    {"a=b\\\xc3\xa9", "invalid field selector: invalid escape sequence: \\\xc3\xa9"},
    {"a=\\\xff", "invalid field selector: invalid escape sequence: \\\xef\xbf\xbd"},
    /* terms are checked in sorted order, as Kubernetes does */
    {"z,a=b=c", "invalid field selector: unescaped character in value: 61"},
    {"a=b=c,0", "invalid selector: 'a=b=c,0'; can't understand '0'"},
};

static void test_field_parse_invalid(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(field_bad); i++) {
		wf_selector sel = {(wf_sel_req *)&sel, 7};
		wf_err err = {0};
		int rc = wf_field_selector_parse(field_bad[i].in, &sel, &err);
		if (rc != -WF_EINVAL || err.code != WF_EINVAL ||
		    strcmp(err.msg, field_bad[i].want) != 0) {
			print_error("case '%s': rc=%d\n got  '%s'\n want '%s'\n", field_bad[i].in,
				    rc, err.msg, field_bad[i].want);
			fail();
		}
		assert_null(sel.reqs);
		assert_int_equal(sel.nreqs, 0);
	}
}

static void test_field_parse_hostile(void **state)
{
	(void)state;
	wf_selector sel;
	wf_err err;
	wf_buf b;
	wf_buf_init(&b);

	/* 10k-character value with escapes */
	wf_buf_puts(&b, "metadata.name=");
	for (int i = 0; i < 2500; i++)
		wf_buf_puts(&b, "a\\,b");
	assert_int_equal(wf_field_selector_parse(b.data, &sel, &err), 0);
	assert_int_equal(sel.nreqs, 1);
	assert_int_equal(strlen(sel.reqs[0].values[0]), 7500);
	assert_int_equal(strncmp(sel.reqs[0].values[0], "a,ba,b", 6), 0);
	wf_selector_free(&sel);
	wf_buf_free(&b);

	/* a 10k-character term without operator: message stays bounded */
	char *s = repeat('x', 10000);
	assert_int_equal(wf_field_selector_parse(s, &sel, &err), -WF_EINVAL);
	assert_true(strncmp(err.msg, "invalid selector: 'xxx", 20) == 0);
	assert_true(strlen(err.msg) < sizeof err.msg);
	free(s);

	/* 10k backslashes: an even run is 5k literal backslashes */
	s = repeat('\\', 10000);
	wf_buf_puts(&b, "a=");
	wf_buf_puts(&b, s);
	assert_int_equal(wf_field_selector_parse(b.data, &sel, NULL), 0);
	assert_int_equal(strlen(sel.reqs[0].values[0]), 5000);
	wf_selector_free(&sel);
	wf_buf_putc(&b, '\\');
	assert_int_equal(wf_field_selector_parse(b.data, &sel, &err), -WF_EINVAL);
	assert_string_equal(err.msg, "invalid field selector: invalid escape sequence: \\");
	wf_buf_free(&b);
	free(s);

	/* 10k terms */
	for (int i = 0; i < 10000; i++)
		wf_buf_printf(&b, "%sf%d!=%d", i ? "," : "", i, i);
	assert_int_equal(wf_field_selector_parse(b.data, &sel, NULL), 0);
	assert_int_equal(sel.nreqs, 10000);
	wf_selector_free(&sel);
	wf_buf_free(&b);
}

/* ------------------------------------------------------------------ */
/* Matching                                                           */

/* Labels as "k=v" strings; a NULL entry ends the list. */
struct labels {
	const char *kv[4];
};

static const char *lookup(void *ctx, const char *key)
{
	const struct labels *l = ctx;
	size_t n = strlen(key);
	for (size_t i = 0; i < NELEM(l->kv) && l->kv[i]; i++)
		if (strncmp(l->kv[i], key, n) == 0 && l->kv[i][n] == '=')
			return l->kv[i] + n + 1;
	return NULL;
}

struct match_case {
	const char *sel;
	struct labels labels;
	bool label_match;
	bool field_match; /* same selector parsed as a field selector, where it parses */
};

#define L(...)                                                                                     \
	{                                                                                          \
		{                                                                                  \
			__VA_ARGS__                                                                \
		}                                                                                  \
	}

static const struct match_case match_cases[] = {
    {"x=a", L("x=a"), true, true},
    {"x=a", L("x=b"), false, false},
    {"x=a", L(NULL), false, false},
    {"x=a", L("y=a"), false, false},
    {"x==a", L("x=a"), true, true},
    {"x!=a", L(NULL), true, true},
    {"x!=a", L("x=a"), false, false},
    {"x!=a", L("x=b"), true, true},
    {"x!=a", L("x="), true, true},
    {"x=", L("x="), true, true},
    {"x=", L(NULL), false, true},
    {"x=", L("x=a"), false, false},
    {"x!=", L(NULL), true, false},
    {"x!=", L("x="), false, false},
    {"x!=", L("x=a"), true, true},
    {"x in (a,b)", L("x=b"), true, false},
    {"x in (a,b)", L("x=c"), false, false},
    {"x in (a,b)", L(NULL), false, false},
    {"x notin (a,b)", L(NULL), true, false},
    {"x notin (a,b)", L("x=a"), false, false},
    {"x notin (a,b)", L("x=c"), true, false},
    {"x in ()", L("x="), true, false},
    {"x in ()", L("x=a"), false, false},
    {"x in ()", L(NULL), false, false},
    {"x in (a,)", L("x="), true, false},
    {"x", L("x="), true, false},
    {"x", L("x=a"), true, false},
    {"x", L(NULL), false, false},
    {"!x", L(NULL), true, false},
    {"!x", L("x="), false, false},
    {"", L(NULL), true, true},
    {"", L("x=a"), true, true},
    {"x=a,y", L("x=a", "y=b"), true, false},
    {"x=a,y", L("x=a"), false, false},
    {"x=a,y!=b", L("x=a", "y=c"), true, true},
    {"x=a,y!=b", L("x=a", "y=b"), false, false},
    {"x=a,!y,z in (1,2)", L("z=2", "x=a"), true, false},
    {"x=a,!y,z in (1,2)", L("z=2", "x=a", "y=1"), false, false},
    {"app.kubernetes.io/name=web", L("app.kubernetes.io/name=web"), true, true},
};

static void test_matching(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(match_cases); i++) {
		const struct match_case *c = &match_cases[i];
		wf_selector sel;
		assert_int_equal(wf_label_selector_parse(c->sel, &sel, NULL), 0);
		bool got = wf_selector_matches(&sel, lookup, (void *)&c->labels);
		if (got != c->label_match) {
			print_error("label case %zu '%s': got %d\n", i, c->sel, got);
			fail();
		}
		wf_selector_free(&sel);

		if (wf_field_selector_parse(c->sel, &sel, NULL) != 0)
			continue;
		got = wf_field_selector_matches(&sel, lookup, (void *)&c->labels);
		if (got != c->field_match) {
			print_error("field case %zu '%s': got %d\n", i, c->sel, got);
			fail();
		}
		wf_selector_free(&sel);
	}
}

static void test_field_matching_escapes(void **state)
{
	(void)state;
	wf_selector sel;
	struct labels l = L("metadata.name=a,b=c");
	assert_int_equal(wf_field_selector_parse("metadata.name=a\\,b\\=c", &sel, NULL), 0);
	assert_true(wf_field_selector_matches(&sel, lookup, &l));
	wf_selector_free(&sel);
	struct labels ns = L("involvedObject.namespace=");
	struct labels none = L(NULL);
	struct labels some = L("involvedObject.namespace=default");
	assert_int_equal(wf_field_selector_parse("involvedObject.namespace=", &sel, NULL), 0);
	assert_true(wf_field_selector_matches(&sel, lookup, &ns));
	assert_true(wf_field_selector_matches(&sel, lookup, &none));
	assert_false(wf_field_selector_matches(&sel, lookup, &some));
	/* label semantics differ for the absent key */
	assert_false(wf_selector_matches(&sel, lookup, &none));
	wf_selector_free(&sel);
}

static void test_matches_null_selector(void **state)
{
	(void)state;
	struct labels l = L(NULL);
	assert_true(wf_selector_matches(NULL, lookup, &l));
	assert_true(wf_field_selector_matches(NULL, lookup, &l));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_label_parse_valid),
	    cmocka_unit_test(test_label_parse_invalid),
	    cmocka_unit_test(test_label_parse_many_bad_values),
	    cmocka_unit_test(test_label_parse_null),
	    cmocka_unit_test(test_label_parse_hostile),
	    cmocka_unit_test(test_field_parse_valid),
	    cmocka_unit_test(test_field_parse_ops),
	    cmocka_unit_test(test_field_parse_invalid),
	    cmocka_unit_test(test_field_parse_hostile),
	    cmocka_unit_test(test_matching),
	    cmocka_unit_test(test_field_matching_escapes),
	    cmocka_unit_test(test_matches_null_selector),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
