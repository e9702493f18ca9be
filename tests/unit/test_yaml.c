/*
 * test_yaml.c - the YAML reader: scalar typing (core schema), tags, keys,
 * anchors and merge keys, documents, syntax errors with positions, and
 * hostile input (deep nesting, alias bombs, megabyte scalars).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "api/patch.h"
#include "api/yaml_json.h"

static json_t *const SENTINEL = (json_t *)(uintptr_t)0x5e5e;

/* Expected values are JSON written with ' for ". */
static json_t *J(const char *s)
{
	char *t = strdup(s);
	assert_non_null(t);
	for (char *p = t; *p; p++)
		if (*p == '\'')
			*p = '"';
	json_error_t je;
	json_t *v = json_loads(t, JSON_DECODE_ANY, &je);
	if (!v)
		fail_msg("bad test JSON %s: %s", s, je.text);
	free(t);
	return v;
}

/* Parse yaml, which must succeed, and compare with want (types included). */
static void expect_yaml(const char *yaml, const char *want)
{
	json_t *out = SENTINEL, *w = J(want);
	wf_err err = {0};
	int rc = wf_yaml_to_json(yaml, strlen(yaml), &out, &err);
	if (rc)
		fail_msg("yaml %s: rc %d: %s", yaml, rc, err.msg);
	char *g = json_dumps(out, JSON_COMPACT | JSON_ENCODE_ANY | JSON_SORT_KEYS);
	char *e = json_dumps(w, JSON_COMPACT | JSON_ENCODE_ANY | JSON_SORT_KEYS);
	/* dumps tell 1 from 1.0, so this checks the types too */
	if (strcmp(g, e))
		fail_msg("yaml %s:\n  got  %s\n  want %s", yaml, g, e);
	free(g);
	free(e);
	json_decref(out);
	json_decref(w);
}

/* Parse yaml (len bytes), which must fail with -WF_EINVAL and msg in the text. */
static void expect_fail_n(const char *yaml, size_t len, const char *msg)
{
	json_t *out = SENTINEL;
	wf_err err = {0};
	int rc = wf_yaml_to_json(yaml, len, &out, &err);
	if (rc != -WF_EINVAL)
		fail_msg("yaml %.80s: rc %d, want -WF_EINVAL", yaml, rc);
	assert_int_equal(err.code, WF_EINVAL);
	assert_ptr_equal(out, SENTINEL);
	if (!strstr(err.msg, msg))
		fail_msg("yaml %.80s: message \"%s\" lacks \"%s\"", yaml, err.msg, msg);
}

static void expect_fail(const char *yaml, const char *msg)
{
	expect_fail_n(yaml, strlen(yaml), msg);
}

static void test_manifest(void **state)
{
	(void)state;
	expect_yaml(
	    "apiVersion: v1\n"
	    "kind: Pod\n"
	    "metadata:\n"
	    "  name: demo\n"
	    "  labels:\n"
	    "    app: demo\n"
	    "    tier: \"1\"\n"
	    "spec:\n"
	    "  containers:\n"
	    "  - name: main\n"
	    "    image: busybox:1.36\n"
	    "    command: [sh, -c, 'sleep 3600']\n"
	    "    resources:\n"
	    "      limits: {cpu: 500m, memory: 64Mi, nvidia.com/gpu: 1}\n"
	    "    ports:\n"
	    "    - containerPort: 8080\n"
	    "  restartPolicy: Never\n",
	    "{'apiVersion':'v1','kind':'Pod','metadata':{'name':'demo','labels':{'app':'demo',"
	    "'tier':'1'}},'spec':{'containers':[{'name':'main','image':'busybox:1.36',"
	    "'command':['sh','-c','sleep 3600'],'resources':{'limits':{'cpu':'500m',"
	    "'memory':'64Mi','nvidia.com/gpu':1}},'ports':[{'containerPort':8080}]}],"
	    "'restartPolicy':'Never'}}");
	/* JSON is YAML: what kubectl sends as apply-patch+yaml */
	expect_yaml("{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"spec\":{\"x\":[1,2.5,true,null,"
		    "\"s\"]}}",
		    "{'apiVersion':'v1','kind':'Pod','spec':{'x':[1,2.5,true,null,'s']}}");
	expect_yaml("- a\n- - b\n  - c\n- {}\n- []\n", "['a',['b','c'],{},[]]");
	expect_yaml("a: |\n  line1\n  line2\nb: >\n  folded\n  text\nc: |-\n  keep\n",
		    "{'a':'line1\\nline2\\n','b':'folded text\\n','c':'keep'}");
	expect_yaml("%YAML 1.2\n---\na: 1\n...\n", "{'a':1}");
	expect_yaml("# comment\na: 1 # trailing\n", "{'a':1}");
	expect_yaml("a: héllo wörld ✓\n", "{'a':'héllo wörld ✓'}");
	expect_yaml("42\n", "42");
	expect_yaml("just a string\n", "'just a string'");
}

static void test_plain_scalars(void **state)
{
	(void)state;
	static const struct {
		const char *yaml, *json;
	} cases[] = {
	    {"", "null"},
	    {"~", "null"},
	    {"null", "null"},
	    {"Null", "null"},
	    {"NULL", "null"},
	    {"true", "true"},
	    {"True", "true"},
	    {"TRUE", "true"},
	    {"false", "false"},
	    {"False", "false"},
	    {"FALSE", "false"},
	    {"yes", "'yes'"},
	    {"no", "'no'"},
	    {"on", "'on'"},
	    {"off", "'off'"},
	    {"y", "'y'"},
	    {"tRUE", "'tRUE'"},
	    {"nULL", "'nULL'"},
	    {"0", "0"},
	    {"-0", "0"},
	    {"42", "42"},
	    {"+42", "42"},
	    {"-17", "-17"},
	    {"007", "7"},
	    {"0o17", "15"},
	    {"0x1F", "31"},
	    {"0xff", "255"},
	    {"0x7FFFFFFFFFFFFFFF", "9223372036854775807"},
	    {"9223372036854775807", "9223372036854775807"},
	    {"-9223372036854775808", "-9223372036854775808"},
	    {"1.5", "1.5"},
	    {"-1.5e3", "-1500.0"},
	    {".5", "0.5"},
	    {"+.5", "0.5"},
	    {"1.", "1.0"},
	    {"1e3", "1000.0"},
	    {"1E-2", "0.01"},
	    {"6.02e+23", "6.02e+23"},
	    {"1e400x", "'1e400x'"},
	    {"0o8", "'0o8'"},
	    {"0xg", "'0xg'"},
	    {"0x", "'0x'"},
	    {"-0x10", "'-0x10'"},
	    {"0b101", "'0b101'"},
	    {"1_000", "'1_000'"},
	    {"1,000", "'1,000'"},
	    {"12:30:00", "'12:30:00'"},
	    {"2024-01-02", "'2024-01-02'"},
	    {"2001-12-14t21:59:43.10-05:00", "'2001-12-14t21:59:43.10-05:00'"},
	    {"1e", "'1e'"},
	    {".", "'.'"},
	    {"+", "'+'"},
	    {"-.inf.", "'-.inf.'"},
	    {"-.nan", "'-.nan'"},
	    {"500m", "'500m'"},
	    {"4Gi", "'4Gi'"},
	    {"v1", "'v1'"},
	    {"'123'", "'123'"},
	    {"\"true\"", "'true'"},
	    {"'null'", "'null'"},
	    {"''", "''"},
	    {"\"x\\ty\\u00e9\"", "'x\\ty\\u00e9'"},
	    {"!!str 123", "'123'"},
	    {"!!str", "''"},
	    {"! 123", "'123'"},
	    {"!!int \"42\"", "42"},
	    {"!!int 0x10", "16"},
	    {"!!float 1", "1.0"},
	    {"!!float '2.5'", "2.5"},
	    {"!!bool 'true'", "true"},
	    {"!!null ''", "null"},
	    {"!!null ~", "null"},
	    {"!!binary aGVsbG8=", "'aGVsbG8='"},
	    {"!!timestamp 2024-01-01", "'2024-01-01'"},
	    {"!<tag:yaml.org,2002:str> 5", "'5'"},
	};
	char buf[128];
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		snprintf(buf, sizeof buf, "v: %s\n", cases[i].yaml);
		char want[160];
		snprintf(want, sizeof want, "{'v':%s}", cases[i].json);
		expect_yaml(buf, want);
	}
}

static void test_scalar_errors(void **state)
{
	(void)state;
	static const struct {
		const char *yaml, *msg;
	} cases[] = {
	    {"v: .inf", "cannot be represented in JSON"},
	    {"v: -.Inf", "cannot be represented in JSON"},
	    {"v: +.INF", "cannot be represented in JSON"},
	    {"v: .nan", "cannot be represented in JSON"},
	    {"v: .NaN", "cannot be represented in JSON"},
	    {"v: 1e400", "cannot be represented in JSON"},
	    {"v: -1e999", "cannot be represented in JSON"},
	    {"v: !!float .inf", "cannot be represented in JSON"},
	    {"v: 9223372036854775808", "out of the 64-bit range"},
	    {"v: -9223372036854775809", "out of the 64-bit range"},
	    {"v: 99999999999999999999999999", "out of the 64-bit range"},
	    {"v: 0xFFFFFFFFFFFFFFFFFF", "out of the 64-bit range"},
	    {"v: 0o7777777777777777777777", "out of the 64-bit range"},
	    {"v: !!int abc", "is not a valid !!int"},
	    {"v: !!int 1.5", "is not a valid !!int"},
	    {"v: !!float abc", "is not a valid !!float"},
	    {"v: !!bool yes", "is not a valid !!bool"},
	    {"v: !!null x", "is not a valid !!null"},
	    {"v: !custom x", "unsupported tag !custom"},
	    {"v: !!map x", "unsupported tag tag:yaml.org,2002:map on a scalar"},
	    {"v: !!str [1]", "unsupported tag tag:yaml.org,2002:str on a sequence"},
	    {"v: !!seq {a: 1}", "on a mapping"},
	    {"v: !thing {a: 1}", "unsupported tag !thing on a mapping"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		expect_fail(cases[i].yaml, cases[i].msg);
	expect_yaml("v: !!map {a: 1}\nw: !!seq [1]\nx: ! {b: 2}\n",
		    "{'v':{'a':1},'w':[1],'x':{'b':2}}");
}

static void test_keys(void **state)
{
	(void)state;
	expect_yaml("1: a\ntrue: b\n~: c\n0x10: d\n1.5: e\n\"q\": f\n'2': g\n",
		    "{'1':'a','true':'b','null':'c','16':'d','1.5':'e','q':'f','2':'g'}");
	expect_yaml("? complex\n: value\n", "{'complex':'value'}");
	expect_yaml("\"\": empty\n", "{'':'empty'}");
	expect_yaml("a:\nb: ~\n", "{'a':null,'b':null}");
	expect_fail("a: 1\nb: 2\na: 3\n", "line 3, column 1: duplicate key \"a\"");
	expect_fail("{a: 1, a: 1}", "duplicate key \"a\"");
	expect_fail("1: x\n'1': y\n", "duplicate key \"1\"");
	expect_fail("? [a, b]\n: c\n", "mapping keys must be scalars");
	expect_fail("? {a: b}\n: c\n", "mapping keys must be scalars");
	expect_fail("{[a]: b}", "mapping keys must be scalars");
	expect_fail("\"a\\0b\": 1\n", "NUL");
	/* NUL bytes are fine in values */
	json_t *out = NULL;
	wf_err err;
	const char *y = "v: \"a\\0b\"\n";
	assert_int_equal(wf_yaml_to_json(y, strlen(y), &out, &err), 0);
	assert_int_equal(json_string_length(json_object_get(out, "v")), 3);
	json_decref(out);
}

static void test_anchors_and_merge(void **state)
{
	(void)state;
	expect_yaml("a: &x {b: 1, c: [1, 2]}\nd: *x\ne: &s str\nf: *s\n",
		    "{'a':{'b':1,'c':[1,2]},'d':{'b':1,'c':[1,2]},'e':'str','f':'str'}");
	expect_yaml("a: &x 1\nb: &x 2\nc: *x\n", "{'a':1,'b':2,'c':2}");
	expect_yaml("&k key: v\nother: *k\n", "{'key':'v','other':'key'}");
	expect_yaml("a: &n 5\n*n : five\n", "{'a':5,'5':'five'}");
	/* aliases are copies: changing one place leaves the other */
	json_t *out = NULL;
	wf_err err;
	const char *y = "a: &x {b: [1]}\nd: *x\n";
	assert_int_equal(wf_yaml_to_json(y, strlen(y), &out, &err), 0);
	json_t *b = json_object_get(json_object_get(out, "d"), "b");
	json_array_append_new(b, json_integer(2));
	assert_int_equal(json_array_size(json_object_get(json_object_get(out, "a"), "b")), 1);
	json_decref(out);

	expect_fail("a: *nope\n", "line 1, column 4: unknown anchor \"nope\"");
	expect_fail("a: &x [1, *x]\n", "unknown anchor \"x\"");
	expect_fail("a: &x {b: *x}\n", "unknown anchor \"x\"");
	expect_fail("a: &x 1\n---\nb: *x\n", "unknown anchor"); /* anchors are per document */

	/* merge keys */
	expect_yaml("base: &b {x: 1, y: 2}\nd:\n  <<: *b\n  y: 3\n",
		    "{'base':{'x':1,'y':2},'d':{'x':1,'y':3}}");
	expect_yaml("base: &b {x: 1, y: 2}\nd: {y: 3, <<: *b}\n",
		    "{'base':{'x':1,'y':2},'d':{'y':3,'x':1}}");
	expect_yaml("p: &p {a: 1}\nq: &q {a: 2, b: 2}\nr:\n  <<: [*p, *q]\n  c: 3\n",
		    "{'p':{'a':1},'q':{'a':2,'b':2},'r':{'a':1,'b':2,'c':3}}");
	expect_yaml("r:\n  <<: {a: 1}\n", "{'r':{'a':1}}");
	expect_yaml("r: {'<<': 1}\n", "{'r':{'<<':1}}"); /* quoted: a plain key */
	expect_fail("base: &b {x: 1}\nd:\n  <<: *b\n  y: 1\n  y: 2\n", "duplicate key \"y\"");
	expect_fail("d:\n  <<: 1\n", "merge key must be a mapping");
	expect_fail("d:\n  <<: [{a: 1}, 2]\n", "merge key must be a mapping");
}

static void test_documents(void **state)
{
	(void)state;
	expect_fail("", "no document");
	expect_fail("# only a comment\n", "no document");
	expect_fail("---\n", "no document");
	expect_fail("--- ~\n--- null\n", "no document");
	expect_fail("a: 1\n---\nb: 2\n", "line 2: expected one YAML document, found another");
	expect_yaml("---\na: 1\n", "{'a':1}");
	expect_yaml("a: 1\n---\n", "{'a':1}");
	expect_yaml("---\n---\na: 1\n---\n", "{'a':1}");

	json_t *out = SENTINEL;
	wf_err err;
	assert_int_equal(wf_yaml_to_json(NULL, 0, &out, &err), -WF_EINVAL);
	assert_ptr_equal(out, SENTINEL);

	/* the input need not be NUL-terminated */
	const char *y = "a: 1XYZ";
	assert_int_equal(wf_yaml_to_json(y, 4, &out, &err), 0);
	json_t *w = J("{'a':1}");
	assert_true(wf_json_equal(out, w));
	json_decref(w);
	json_decref(out);

	/* all documents */
	static const struct {
		const char *yaml, *want;
	} all[] = {
	    {"", "[]"},
	    {"---\n---\n", "[]"},
	    {"a: 1\n", "[{'a':1}]"},
	    {"a: 1\n---\n---\nb: 2\n...\n---\n- 3\n", "[{'a':1},{'b':2},[3]]"},
	    {"kind: A\n---\nkind: B\n---\n", "[{'kind':'A'},{'kind':'B'}]"},
	};
	for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
		json_t *arr = SENTINEL;
		int rc = wf_yaml_to_json_all(all[i].yaml, strlen(all[i].yaml), &arr, &err);
		if (rc)
			fail_msg("all %s: %s", all[i].yaml, err.msg);
		w = J(all[i].want);
		assert_true(wf_json_equal(arr, w));
		json_decref(w);
		json_decref(arr);
	}
	json_t *arr = SENTINEL;
	y = "a: 1\n---\nb: [\n";
	assert_int_equal(wf_yaml_to_json_all(y, strlen(y), &arr, &err), -WF_EINVAL);
	assert_ptr_equal(arr, SENTINEL);
	assert_non_null(strstr(err.msg, "line"));
	assert_int_equal(wf_yaml_to_json_all(NULL, 0, &arr, &err), 0);
	assert_int_equal(json_array_size(arr), 0);
	json_decref(arr);
}

static void test_syntax_errors(void **state)
{
	(void)state;
	expect_fail("a: [1, 2\n", "yaml: line 2, column 1:");
	expect_fail("a: b: c\n", "line 1, column 5: mapping values are not allowed");
	expect_fail("a: 'unterminated\n", "line 2");
	expect_fail("a:\n  - 1\n - 2\n", "line 3");
	expect_fail("a: @x\n", "cannot start any token");
	expect_fail("a: !!str &x\n  - *x\n", "line");
	expect_fail("\tkey: v\n", "line 1");
	expect_fail("a: \"\\q\"\n", "unknown escape");
	expect_fail("{a: 1\n", "line");
	expect_fail("a: \xff\xfe\n", "yaml:");	    /* not UTF-8 */
	expect_fail("a: b\x80\n", "invalid");	    /* bad UTF-8 in the middle */
	expect_fail("a: 1\nb: *\n", "line 2");	    /* alias without a name */
	expect_fail_n("a: 1\0b: 2\n", 10, "yaml:"); /* a NUL byte in the stream */
}

/* A string of n copies of s. */
static char *repeat(const char *s, size_t n)
{
	size_t l = strlen(s);
	char *r = malloc(l * n + 1);
	assert_non_null(r);
	for (size_t i = 0; i < n; i++)
		memcpy(r + i * l, s, l);
	r[l * n] = '\0';
	return r;
}

static void test_hostile(void **state)
{
	(void)state;
	wf_err err;
	json_t *out = SENTINEL;

	/* 10,000 nested flow sequences and mappings */
	char *open = repeat("[", 10000), *close = repeat("]", 10000);
	char *doc = malloc(20001);
	strcpy(doc, open);
	strcat(doc, close);
	expect_fail(doc, "nested deeper than 1000 levels");
	free(doc);
	free(open);
	free(close);
	open = repeat("{a: ", 10000);
	close = repeat("}", 10000);
	doc = malloc(strlen(open) + strlen(close) + 2);
	sprintf(doc, "%s1%s", open, close);
	expect_fail(doc, "nested deeper than 1000 levels");
	free(doc);
	free(open);
	free(close);

	/* exactly at the limit works */
	open = repeat("[", WF_YAML_MAX_DEPTH);
	close = repeat("]", WF_YAML_MAX_DEPTH);
	doc = malloc(2 * WF_YAML_MAX_DEPTH + 1);
	strcpy(doc, open);
	strcat(doc, close);
	assert_int_equal(wf_yaml_to_json(doc, strlen(doc), &out, &err), 0);
	json_decref(out);
	free(doc);
	free(open);
	free(close);

	/* block style nesting is cut off too */
	size_t cap = 1100 * 1101 + 16, len = 0;
	doc = malloc(cap);
	for (int d = 0; d < 1100; d++) {
		memset(doc + len, ' ', (size_t)d);
		len += (size_t)d;
		memcpy(doc + len, "k:\n", 3);
		len += 3;
	}
	doc[len] = '\0';
	expect_fail(doc, "nested deeper than 1000 levels");
	free(doc);

	/* depth through aliases: 600 + 600 */
	open = repeat("[", 600);
	close = repeat("]", 600);
	doc = malloc(4 * 600 + 64);
	sprintf(doc, "a: &d %s%s\nb: %s*d%s\n", open, close, open, close);
	expect_fail(doc, "nested deeper than 1000 levels");
	free(doc);
	free(open);
	free(close);

	/* billion laughs */
	expect_fail("a: &a [lol,lol,lol,lol,lol,lol,lol,lol,lol]\n"
		    "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
		    "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
		    "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
		    "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
		    "f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
		    "g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n"
		    "h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]\n"
		    "i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]\n",
		    "more than 1000000 values");
	/* the same through mappings and merge keys */
	expect_fail("a: &a {a1: x, a2: x, a3: x, a4: x, a5: x, a6: x, a7: x, a8: x, a9: x}\n"
		    "b: &b {b0: *a, b1: *a, b2: *a, b3: *a, b4: *a, b5: *a, b6: *a, b7: *a, b8: *a,"
		    " b9: *a}\n"
		    "c: &c {c0: *b, c1: *b, c2: *b, c3: *b, c4: *b, c5: *b, c6: *b, c7: *b, c8: *b,"
		    " c9: *b}\n"
		    "d: &d {d0: *c, d1: *c, d2: *c, d3: *c, d4: *c, d5: *c, d6: *c, d7: *c, d8: *c,"
		    " d9: *c}\n"
		    "e: &e {e0: *d, e1: *d, e2: *d, e3: *d, e4: *d, e5: *d, e6: *d, e7: *d, e8: *d,"
		    " e9: *d}\n"
		    "g: {<<: [*e, *e, *e, *e, *e]}\n",
		    "more than 1000000 values");
	/* a modest alias fan-out is fine */
	expect_yaml("a: &a [1, 2]\nb: [*a, *a, *a]\n", "{'a':[1,2],'b':[[1,2],[1,2],[1,2]]}");

	/* 1 MB scalars: as a value fine, as an implicit key refused by libyaml */
	size_t big = 1 << 20;
	char *s = repeat("x", big);
	doc = malloc(big + 16);
	sprintf(doc, "v: %s\n", s);
	assert_int_equal(wf_yaml_to_json(doc, strlen(doc), &out, &err), 0);
	assert_int_equal(json_string_length(json_object_get(out, "v")), big);
	json_decref(out);
	sprintf(doc, "v: '%s'\n", s);
	assert_int_equal(wf_yaml_to_json(doc, strlen(doc), &out, &err), 0);
	assert_int_equal(json_string_length(json_object_get(out, "v")), big);
	json_decref(out);
	sprintf(doc, "%s: v\n", s);
	expect_fail(doc, "yaml: line");
	free(doc);
	free(s);
	/* a 1 MB number-looking scalar is out of range, not a crash */
	s = repeat("9", big);
	expect_fail(s, "out of the 64-bit range");
	free(s);
	s = repeat("9", 400);
	doc = malloc(420);
	sprintf(doc, "v: %s.5\n", s);
	expect_fail(doc, "cannot be represented in JSON");
	free(doc);
	free(s);

	/* many small values */
	s = repeat("- 1\n", 200000);
	assert_int_equal(wf_yaml_to_json(s, strlen(s), &out, &err), 0);
	assert_int_equal(json_array_size(out), 200000);
	json_decref(out);
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_manifest),	      cmocka_unit_test(test_plain_scalars),
	    cmocka_unit_test(test_scalar_errors),     cmocka_unit_test(test_keys),
	    cmocka_unit_test(test_anchors_and_merge), cmocka_unit_test(test_documents),
	    cmocka_unit_test(test_syntax_errors),     cmocka_unit_test(test_hostile),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
