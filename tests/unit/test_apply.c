/*
 * test_apply.c - server-side apply (src/api/apply.c): field sets computed
 * from objects in FieldsV1 form, normalization of foreign sets, the set
 * operations, removal by set, managedFields checks, and wf_apply itself
 * (creation, removal of dropped fields, shared ownership, conflicts and
 * force, Update entries, status scoping, malformed and hostile input).
 * Documents are written with ' for " to stay readable.
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

#include "api/apply.h"
#include "api/patch.h"

/* ---- helpers ------------------------------------------------------------- */

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

static char *dump(const json_t *v)
{
	return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_SORT_KEYS);
}

/* got must equal want (parsed from the ' form); takes neither. */
static void expect_json(const char *what, const json_t *got, const char *want)
{
	json_t *w = J(want);
	if (!wf_json_equal(got, w)) {
		char *g = dump(got), *e = dump(w);
		print_error("%s:\n  got  %s\n  want %s\n", what, g ? g : "(null)", e);
		free(g);
		free(e);
		json_decref(w);
		fail();
	}
	json_decref(w);
}

/* The exact compact text (key order included) of v. */
static void expect_text(const json_t *v, const char *want)
{
	char *g = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	assert_non_null(g);
	if (strcmp(g, want)) {
		print_error("got  %s\nwant %s\n", g, want);
		free(g);
		fail();
	}
	free(g);
}

static json_t *fieldset(const char *obj, const char *group, const char *kind)
{
	json_t *o = J(obj), *set = NULL;
	wf_err err = {0};
	int rc = wf_fieldset_from_object(o, group, kind, &set, &err);
	if (rc)
		fail_msg("fieldset failed: %s", err.msg);
	json_decref(o);
	return set;
}

static void fieldset_fails(const char *obj, const char *group, const char *kind, const char *sub)
{
	json_t *o = J(obj), *set = NULL;
	wf_err err = {0};
	assert_int_equal(wf_fieldset_from_object(o, group, kind, &set, &err), -WF_EINVAL);
	assert_null(set);
	if (!strstr(err.msg, sub))
		fail_msg("message \"%s\" lacks \"%s\"", err.msg, sub);
	json_decref(o);
}

static const wf_apply_opts OPTS_CM = {.manager = "kubectl",
				      .group = "",
				      .kind = "ConfigMap",
				      .api_version = "v1",
				      .now = "2026-01-02T03:04:05Z"};

static const wf_apply_opts OPTS_POD = {.manager = "kubectl",
				       .group = "",
				       .kind = "Pod",
				       .api_version = "v1",
				       .has_status = true,
				       .now = "2026-01-02T03:04:05Z"};

static wf_apply_opts opts_as(const wf_apply_opts *base, const char *manager, const char *now)
{
	wf_apply_opts o = *base;
	o.manager = manager;
	o.now = now;
	return o;
}

/* Apply config (text) onto live (may be NULL); must succeed. Caller owns. */
static json_t *apply_ok(const json_t *live, const char *config, const wf_apply_opts *o)
{
	json_t *c = J(config), *out = NULL;
	char *before = dump(c);
	wf_err err = {0};
	int rc = wf_apply(live, c, o, &out, NULL, &err);
	if (rc)
		fail_msg("apply failed (%d): %s", rc, err.msg);
	assert_non_null(out);
	char *after = dump(c);
	assert_string_equal(before, after); /* the config is not touched */
	free(before);
	free(after);
	json_decref(c);
	return out;
}

/* The fieldsV1 of the entry of manager (Apply), or NULL. */
static json_t *entry_of(const json_t *obj, const char *manager, const char *op)
{
	json_t *mf = json_object_get(json_object_get(obj, "metadata"), "managedFields");
	size_t i;
	json_t *e;
	json_array_foreach(mf, i, e)
	{
		if (!strcmp(json_string_value(json_object_get(e, "manager")), manager) &&
		    !strcmp(json_string_value(json_object_get(e, "operation")), op))
			return e;
	}
	return NULL;
}

/* ---- field sets from objects --------------------------------------------- */

static void test_fieldset_configmap(void **state)
{
	(void)state;
	json_t *s = fieldset("{'apiVersion':'v1','kind':'ConfigMap','metadata':{'name':'x',"
			     "'labels':{'b':'2','a':'1'}},'data':{'k':'v'},'binaryData':{}}",
			     "", "ConfigMap");
	json_t *sorted = wf_fieldset_sorted(s);
	expect_text(sorted, "{\"f:apiVersion\":{},\"f:binaryData\":{},\"f:data\":{\"f:k\":{}},"
			    "\"f:kind\":{},\"f:metadata\":{\"f:labels\":{\"f:a\":{},\"f:b\":{}},"
			    "\"f:name\":{}}}");
	json_decref(sorted);
	json_decref(s);
}

static void test_fieldset_pod_lists(void **state)
{
	(void)state;
	json_t *s = fieldset(
	    "{'metadata':{'finalizers':['x','y'],'ownerReferences':[{'uid':'u1','name':'o'}]},"
	    "'spec':{'containers':[{'name':'a','image':'i','command':['sleep','1'],"
	    "'env':[{'name':'E','value':'1'}],'ports':[{'containerPort':80}],"
	    "'resources':{}}],'tolerations':[{'key':'k'}],'volumes':[]}}",
	    "", "Pod");
	json_t *sorted = wf_fieldset_sorted(s);
	expect_text(sorted,
		    "{\"f:metadata\":{\"f:finalizers\":{\"v:\\\"x\\\"\":{},\"v:\\\"y\\\"\":{}},"
		    "\"f:ownerReferences\":{\"k:{\\\"uid\\\":\\\"u1\\\"}\":{\".\":{},\"f:name\":{},"
		    "\"f:uid\":{}}}},"
		    "\"f:spec\":{\"f:containers\":{\"k:{\\\"name\\\":\\\"a\\\"}\":{\".\":{},"
		    "\"f:command\":{},\"f:env\":{\"k:{\\\"name\\\":\\\"E\\\"}\":{\".\":{},"
		    "\"f:name\":{},\"f:value\":{}}},\"f:image\":{},\"f:name\":{},"
		    "\"f:ports\":{\"k:{\\\"containerPort\\\":80}\":{\".\":{},"
		    "\"f:containerPort\":{}}},\"f:resources\":{}}},\"f:tolerations\":{}}}");
	json_decref(sorted);
	json_decref(s);
}

static void test_fieldset_scalars_and_unknown_kind(void **state)
{
	(void)state;
	/* Without metadata every list is atomic. */
	json_t *s = fieldset("{'spec':{'containers':[{'name':'a'}],'n':null,'b':true,'x':1.5,"
			     "'deep':{'only':{'finalizers':[]}}}}",
			     "example.com", "Widget");
	expect_json("unknown kind", s,
		    "{'f:spec':{'f:containers':{},'f:n':{},'f:b':{},'f:x':{},"
		    "'f:deep':{'f:only':{'f:finalizers':{}}}}}");
	json_decref(s);
	/* A map holding only an empty merged list owns nothing. */
	s = fieldset("{'metadata':{'finalizers':[]},'spec':{'containers':[]}}", "", "Pod");
	expect_json("empty merged lists", s, "{}");
	assert_true(wf_fieldset_empty(s));
	json_decref(s);
	/* Keys are compact JSON with sorted keys, numbers and booleans as such. */
	s = fieldset("{'spec':{'ports':[{'port':443,'name':'https'}]}}", "", "Service");
	expect_json("service ports", s,
		    "{'f:spec':{'f:ports':{'k:{\\'port\\':443}':{'.':{},'f:port':{},"
		    "'f:name':{}}}}}");
	json_decref(s);
}

static void test_fieldset_errors(void **state)
{
	(void)state;
	fieldset_fails("{'spec':{'containers':['a']}}", "", "Pod", "must be an object");
	fieldset_fails("{'spec':{'containers':[{'image':'i'}]}}", "", "Pod",
		       ".spec.containers[0]: does not contain declared merge key \"name\"");
	fieldset_fails("{'spec':{'containers':[{'name':{'x':1}}]}}", "", "Pod",
		       "merge key \"name\" must be");
	fieldset_fails("{'spec':{'containers':[{'name':null}]}}", "", "Pod", "merge key");
	fieldset_fails("{'spec':{'containers':[{'name':'a'},{'name':'b'},{'name':'a'}]}}", "",
		       "Pod", ".spec.containers[2]: duplicate entries for key [name=\"a\"]");
	fieldset_fails("{'metadata':{'finalizers':['a',{'x':1}]}}", "", "Pod",
		       "cannot hold objects");
	fieldset_fails("{'metadata':{'finalizers':['a','a']}}", "", "Pod",
		       "duplicate entries for key [=\"a\"]");
	fieldset_fails("{'spec':{'containers':[{'name':'a','env':[{'value':'x'}]}]}}", "", "Pod",
		       ".spec.containers[0].env[0]: does not contain");
	json_t *arr = J("[1]"), *set = NULL;
	wf_err err = {0};
	assert_int_equal(wf_fieldset_from_object(arr, "", "Pod", &set, &err), -WF_EINVAL);
	assert_null(set);
	json_decref(arr);
	/* Nested deeper than the limit. */
	json_t *deep = json_object(), *cur = deep;
	for (int i = 0; i < WF_FIELDSET_MAX_DEPTH + 5; i++) {
		json_t *n = json_object();
		json_object_set_new(cur, "a", n);
		cur = n;
	}
	json_object_set_new(cur, "leaf", json_true());
	assert_int_equal(wf_fieldset_from_object(deep, "", "ConfigMap", &set, &err), -WF_EINVAL);
	assert_non_null(strstr(err.msg, "nested too deeply"));
	assert_null(set);
	json_decref(deep);
}

/* ---- normalization ------------------------------------------------------- */

static void norm_is(const char *in, const char *want_text)
{
	json_t *i = J(in), *out = NULL;
	wf_err err = {0};
	if (wf_fieldset_normalize(i, &out, &err))
		fail_msg("normalize %s: %s", in, err.msg);
	json_t *sorted = wf_fieldset_sorted(out);
	expect_text(sorted, want_text);
	json_decref(sorted);
	json_decref(out);
	json_decref(i);
}

static void norm_fails(const char *in, const char *sub)
{
	json_t *i = J(in), *out = NULL;
	wf_err err = {0};
	assert_int_equal(wf_fieldset_normalize(i, &out, &err), -WF_EINVAL);
	assert_null(out);
	if (!strstr(err.msg, sub))
		fail_msg("message \"%s\" lacks \"%s\"", err.msg, sub);
	json_decref(i);
}

static void test_normalize(void **state)
{
	(void)state;
	norm_is("{}", "{}");
	norm_is("{'f:a':{'.':{}}}", "{\"f:a\":{}}");
	norm_is("{'f:a':{'.':{},'f:b':{}}}", "{\"f:a\":{\".\":{},\"f:b\":{}}}");
	/* k: and v: keys re-encoded; two spellings of one key are united. */
	norm_is("{'f:c':{'k: {\\'name\\': \\'a\\'} ':{'f:x':{}},"
		"'k:{\\'name\\':\\'a\\'}':{'.':{},'f:y':{}}}}",
		"{\"f:c\":{\"k:{\\\"name\\\":\\\"a\\\"}\":{\".\":{},\"f:x\":{},\"f:y\":{}}}}");
	norm_is("{'f:c':{'k:{\\'b\\':1,\\'a\\':\\'z\\'}':{}}}",
		"{\"f:c\":{\"k:{\\\"a\\\":\\\"z\\\",\\\"b\\\":1}\":{}}}");
	norm_is("{'f:c':{'k:null':{}}}", "{\"f:c\":{\"k:{}\":{}}}");
	norm_is("{'f:f':{'v: \\'x\\'':{},'v:80':{},'i:0':{},'i:12':{}}}",
		"{\"f:f\":{\"i:0\":{},\"i:12\":{},\"v:\\\"x\\\"\":{},\"v:80\":{}}}");
	norm_fails("[]", "must be an object");
	norm_fails("{'f:a':1}", "must be an object");
	norm_fails("{'f:a':{'.':{'f:x':{}}}}", "\".\" must map to {}");
	norm_fails("{'f:a':{'.':[]}}", "\".\" must map to {}");
	norm_fails("{'x:a':{}}", "unknown path element");
	norm_fails("{'':{}}", "unknown path element");
	norm_fails("{'k:[1]':{}}", "unknown path element");
	norm_fails("{'k:{bad':{}}", "unknown path element");
	norm_fails("{'v:':{}}", "unknown path element");
	norm_fails("{'v:1 2':{}}", "unknown path element");
	norm_fails("{'i:01':{}}", "unknown path element");
	norm_fails("{'i:-1':{}}", "unknown path element");
	norm_fails("{'i:99999999999':{}}", "unknown path element");
	norm_fails("{'f:a':{'f:b':{'q:':{}}}}", "unknown path element");
	json_t *deep = json_object(), *cur = deep, *out = NULL;
	for (int i = 0; i < WF_FIELDSET_MAX_DEPTH + 5; i++) {
		json_t *n = json_object();
		json_object_set_new(cur, "f:a", n);
		cur = n;
	}
	wf_err err = {0};
	assert_int_equal(wf_fieldset_normalize(deep, &out, &err), -WF_EINVAL);
	assert_null(out);
	json_decref(deep);
}

/* ---- set operations ------------------------------------------------------ */

static void set_op_is(json_t *(*op)(const json_t *, const json_t *), const char *a, const char *b,
		      const char *want)
{
	json_t *ja = J(a), *jb = J(b);
	json_t *r = op(ja, jb);
	assert_non_null(r);
	expect_json("set op", r, want);
	json_decref(r);
	json_decref(ja);
	json_decref(jb);
}

static void test_set_operations(void **state)
{
	(void)state;
	const char *a = "{'f:m':{'f:a':{},'f:b':{}},'f:l':{'k:1':{'.':{},'f:x':{}}}}";
	const char *b = "{'f:m':{'f:b':{},'f:c':{}},'f:l':{'k:1':{'f:y':{}}},'f:z':{}}";
	set_op_is(wf_fieldset_union, a, b,
		  "{'f:m':{'f:a':{},'f:b':{},'f:c':{}},"
		  "'f:l':{'k:1':{'.':{},'f:x':{},'f:y':{}}},'f:z':{}}");
	set_op_is(wf_fieldset_intersection, a, b, "{'f:m':{'f:b':{}}}");
	set_op_is(wf_fieldset_difference, a, b,
		  "{'f:m':{'f:a':{}},'f:l':{'k:1':{'.':{},'f:x':{}}}}");
	set_op_is(wf_fieldset_difference, b, a,
		  "{'f:m':{'f:c':{}},'f:l':{'k:1':{'f:y':{}}},'f:z':{}}");
	/* A member with children minus the member alone keeps the children. */
	set_op_is(wf_fieldset_difference, "{'f:i':{'.':{},'f:x':{}}}", "{'f:i':{}}",
		  "{'f:i':{'f:x':{}}}");
	/* ... but the recursive difference drops everything below it. */
	set_op_is(wf_fieldset_recursive_difference, "{'f:i':{'.':{},'f:x':{}},'f:j':{}}",
		  "{'f:i':{}}", "{'f:j':{}}");
	set_op_is(wf_fieldset_recursive_difference, "{'f:i':{'f:x':{},'f:y':{}}}",
		  "{'f:i':{'f:x':{}}}", "{'f:i':{'f:y':{}}}");
	set_op_is(wf_fieldset_intersection, "{'f:a':{}}", "{'f:a':{'f:x':{}}}", "{}");
	set_op_is(wf_fieldset_union, "{'f:a':{}}", "{'f:a':{'f:x':{}}}",
		  "{'f:a':{'.':{},'f:x':{}}}");
	set_op_is(wf_fieldset_difference, "{}", "{'f:a':{}}", "{}");
	set_op_is(wf_fieldset_union, "{}", "{}", "{}");

	json_t *e = J("{}"), *ne = J("{'f:a':{'f:b':{}}}");
	assert_true(wf_fieldset_empty(e));
	assert_false(wf_fieldset_empty(ne));
	json_decref(e);
	json_decref(ne);

	/* Sorted: "." first, then bytewise. */
	json_t *u = J("{'v:1':{},'f:b':{'f:z':{},'.':{},'f:a':{}},'k:{}':{},'f:a':{}}");
	json_t *s = wf_fieldset_sorted(u);
	expect_text(s, "{\"f:a\":{},\"f:b\":{\".\":{},\"f:a\":{},\"f:z\":{}},\"k:{}\":{},"
		       "\"v:1\":{}}");
	json_decref(s);
	json_decref(u);
}

static void path_is(const char *pe, const char *want)
{
	wf_buf b;
	wf_buf_init(&b);
	wf_buf_puts(&b, "");
	wf_fieldset_path_append(&b, pe, strlen(pe));
	assert_string_equal(b.data, want);
	wf_buf_free(&b);
}

static void test_path_strings(void **state)
{
	(void)state;
	path_is("f:image", ".image");
	path_is("k:{\"name\":\"a\"}", "[name=\"a\"]");
	path_is("k:{\"protocol\":\"TCP\",\"containerPort\":80}",
		"[containerPort=80,protocol=\"TCP\"]");
	path_is("v:\"x\"", "[=\"x\"]");
	path_is("v:80", "[=80]");
	path_is("i:3", "[3]");
	path_is("k:{bad", "k:{bad");
	path_is("x", "x");
}

/* ---- removal ------------------------------------------------------------- */

static void remove_is(const char *obj, const char *set, size_t n, const char *want)
{
	json_t *o = J(obj), *s = J(set);
	assert_int_equal(wf_fieldset_remove(o, s), n);
	expect_json("remove", o, want);
	json_decref(o);
	json_decref(s);
}

static void test_remove(void **state)
{
	(void)state;
	remove_is("{'a':1,'b':{'c':1,'d':2}}", "{'f:b':{'f:c':{}}}", 1, "{'a':1,'b':{'d':2}}");
	/* A map the removal empties goes too; a map that was empty stays. */
	remove_is("{'a':1,'b':{'c':1},'e':{}}", "{'f:b':{'f:c':{}},'f:e':{'f:x':{}}}", 1,
		  "{'a':1,'e':{}}");
	remove_is("{'a':1}", "{'f:x':{},'f:a':{'f:y':{}}}", 0, "{'a':1}");
	remove_is("{'l':[{'name':'a','x':1},{'name':'b','x':2},{'name':'a','x':3}]}",
		  "{'f:l':{'k:{\\'name\\':\\'a\\'}':{}}}", 2, "{'l':[{'name':'b','x':2}]}");
	remove_is("{'l':[{'name':'a','x':1,'y':2}]}",
		  "{'f:l':{'k:{\\'name\\':\\'a\\'}':{'f:y':{}}}}", 1, "{'l':[{'name':'a','x':1}]}");
	remove_is("{'f':['x','y','x',3]}", "{'f:f':{'v:\\'x\\'':{},'v:3':{}}}", 3, "{'f':['y']}");
	remove_is("{'f':['x','y']}", "{'f:f':{'v:\\'x\\'':{},'v:\\'y\\'':{}}}", 2, "{}");
	remove_is("{'f':['x','y','z']}", "{'f:f':{'i:1':{}}}", 1, "{'f':['x','z']}");
	/* Wrong shapes are skipped, not errors. */
	remove_is("{'l':'str','m':[1]}", "{'f:l':{'k:{\\'name\\':\\'a\\'}':{}},'f:m':{'f:x':{}}}",
		  0, "{'l':'str','m':[1]}");
}

/* ---- managedFields ------------------------------------------------------- */

static void test_managed_fields_valid(void **state)
{
	(void)state;
	static const char *const good[] = {
	    "[]",
	    "[{'manager':'m','operation':'Apply','apiVersion':'v1','time':'2026-01-01T00:00:00Z',"
	    "'fieldsType':'FieldsV1','fieldsV1':{'f:data':{'f:a':{}}}}]",
	    "[{'manager':'m','operation':'Update'}]",
	    "[{'manager':'m','operation':'Update','subresource':'status','time':null}]",
	};
	static const char *const bad[] = {
	    "{}",
	    "[1]",
	    "[{'operation':'Apply'}]",
	    "[{'manager':'m','operation':'Patch'}]",
	    "[{'manager':'m'}]",
	    "[{'manager':7,'operation':'Apply'}]",
	    "[{'manager':'m','operation':'Apply','time':'yesterday'}]",
	    "[{'manager':'m','operation':'Apply','apiVersion':1}]",
	    "[{'manager':'m','operation':'Apply','fieldsV1':{'f:a':{}}}]",
	    "[{'manager':'m','operation':'Apply','fieldsType':'FieldsV2'}]",
	    "[{'manager':'m','operation':'Apply','fieldsType':'FieldsV1','fieldsV1':{'a':{}}}]",
	    "[{'manager':'m','operation':'Apply','fieldsType':'FieldsV1','fieldsV1':[]}]",
	};
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		json_t *v = J(good[i]);
		if (!wf_managed_fields_valid(v))
			fail_msg("should be valid: %s", good[i]);
		json_decref(v);
	}
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		json_t *v = J(bad[i]);
		if (wf_managed_fields_valid(v))
			fail_msg("should be invalid: %s", bad[i]);
		json_decref(v);
	}
	assert_false(wf_managed_fields_valid(NULL));
}

/* ---- apply --------------------------------------------------------------- */

#define CM(extra)                                                                                  \
	"{'apiVersion':'v1','kind':'ConfigMap','metadata':{'name':'c','namespace':'ns'" extra "}"

static void test_apply_creates(void **state)
{
	(void)state;
	json_t *out = apply_ok(NULL, CM(",'labels':{'a':'1'}},'data':{'k':'v'}"), &OPTS_CM);
	expect_json("created", out,
		    "{'apiVersion':'v1','kind':'ConfigMap','metadata':{'name':'c','namespace':'ns',"
		    "'labels':{'a':'1'},'managedFields':[{'manager':'kubectl','operation':'Apply',"
		    "'apiVersion':'v1','time':'2026-01-02T03:04:05Z','fieldsType':'FieldsV1',"
		    "'fieldsV1':{'f:data':{'f:k':{}},'f:metadata':{'f:labels':{'f:a':{}}}}}]},"
		    "'data':{'k':'v'}}");
	/* The entry as Kubernetes writes it, key order included. */
	json_t *e =
	    json_array_get(json_object_get(json_object_get(out, "metadata"), "managedFields"), 0);
	expect_text(e, "{\"manager\":\"kubectl\",\"operation\":\"Apply\",\"apiVersion\":\"v1\","
		       "\"time\":\"2026-01-02T03:04:05Z\",\"fieldsType\":\"FieldsV1\","
		       "\"fieldsV1\":{\"f:data\":{\"f:k\":{}},\"f:metadata\":{\"f:labels\":"
		       "{\"f:a\":{}}}}}");
	json_decref(out);
	/* Nulls in the applied object are dropped on creation. */
	out = apply_ok(NULL, CM("},'data':{'k':null,'j':'1'}"), &OPTS_CM);
	expect_json("nulls", json_object_get(out, "data"), "{'j':'1'}");
	json_decref(out);
}

static json_t *md_of(const json_t *obj, const char *key)
{
	return json_object_get(json_object_get(obj, "metadata"), key);
}

static void test_apply_removes_dropped_fields(void **state)
{
	(void)state;
	json_t *v1 = apply_ok(NULL,
			      CM(",'labels':{'keep':'1','drop':'1'}},"
				 "'data':{'keep':'1','drop':'1'}"),
			      &OPTS_CM);
	/* A field no applier owns (written some other way) stays. */
	json_object_set_new(json_object_get(v1, "data"), "other", json_string("x"));
	wf_apply_opts o2 = opts_as(&OPTS_CM, "kubectl", "2026-01-02T03:04:06Z");
	json_t *v2 = apply_ok(v1, CM(",'labels':{'keep':'1'}},'data':{'keep':'1'}"), &o2);
	expect_json("data", json_object_get(v2, "data"), "{'keep':'1','other':'x'}");
	expect_json("labels", md_of(v2, "labels"), "{'keep':'1'}");
	json_t *e = entry_of(v2, "kubectl", "Apply");
	assert_non_null(e);
	expect_json("set", json_object_get(e, "fieldsV1"),
		    "{'f:data':{'f:keep':{}},'f:metadata':{'f:labels':{'f:keep':{}}}}");
	assert_string_equal(json_string_value(json_object_get(e, "time")), "2026-01-02T03:04:06Z");
	/* Dropping every label removes the emptied map. */
	json_t *v3 = apply_ok(v2, CM("},'data':{'keep':'1'}"), &o2);
	assert_null(md_of(v3, "labels"));
	json_decref(v1);
	json_decref(v2);
	json_decref(v3);
}

static void test_apply_identical_is_a_no_op(void **state)
{
	(void)state;
	const char *cfg = CM(",'labels':{'a':'1'}},'data':{'k':'v'}");
	json_t *v1 = apply_ok(NULL, cfg, &OPTS_CM);
	json_object_set_new(json_object_get(v1, "metadata"), "resourceVersion", json_string("7"));
	wf_apply_opts later = opts_as(&OPTS_CM, "kubectl", "2030-01-01T00:00:00Z");
	json_t *v2 = apply_ok(v1, cfg, &later);
	/* Same object, same entry, same time: the caller writes nothing. */
	assert_true(json_equal(v1, v2));
	json_decref(v2);
	/* A change moves the time. */
	v2 = apply_ok(v1, CM(",'labels':{'a':'2'}},'data':{'k':'v'}"), &later);
	assert_string_equal(
	    json_string_value(json_object_get(entry_of(v2, "kubectl", "Apply"), "time")),
	    "2030-01-01T00:00:00Z");
	json_decref(v1);
	json_decref(v2);
}

static void test_apply_conflict_and_force(void **state)
{
	(void)state;
	json_t *v1 = apply_ok(NULL, CM(",'labels':{'a':'1'}},'data':{'k':'v','j':'1'}"), &OPTS_CM);
	wf_apply_opts other = opts_as(&OPTS_CM, "other", "2026-01-02T03:04:06Z");

	/* A different value for a field kubectl applied: refused, output untouched. */
	json_t *c = J(CM(",'labels':{'a':'2'}},'data':{'new':'x'}")), *out = NULL;
	wf_apply_conflicts conf = {0};
	wf_err err = {0};
	assert_int_equal(wf_apply(v1, c, &other, &out, &conf, &err), -WF_ECONFLICT);
	assert_null(out);
	assert_string_equal(conf.message,
			    "Apply failed with 1 conflict: conflict with \"kubectl\": "
			    ".metadata.labels.a");
	expect_json("causes", conf.causes,
		    "[{'reason':'FieldManagerConflict','message':'conflict with \\'kubectl\\'',"
		    "'field':'.metadata.labels.a'}]");
	wf_apply_conflicts_free(&conf);
	wf_apply_conflicts_free(&conf); /* safe twice */
	assert_int_equal(wf_apply(v1, c, &other, &out, NULL, &err), -WF_ECONFLICT);
	assert_null(out);

	/* Forced: other takes the field, kubectl keeps the rest. */
	other.force = true;
	assert_int_equal(wf_apply(v1, c, &other, &out, &conf, &err), 0);
	assert_null(conf.message);
	expect_json("labels", md_of(out, "labels"), "{'a':'2'}");
	expect_json("data", json_object_get(out, "data"), "{'k':'v','j':'1','new':'x'}");
	expect_json("kubectl set", json_object_get(entry_of(out, "kubectl", "Apply"), "fieldsV1"),
		    "{'f:data':{'f:k':{},'f:j':{}}}");
	expect_json("other set", json_object_get(entry_of(out, "other", "Apply"), "fieldsV1"),
		    "{'f:data':{'f:new':{}},'f:metadata':{'f:labels':{'f:a':{}}}}");
	/* Entries sorted: same operation, then time. */
	json_t *mf = md_of(out, "managedFields");
	assert_int_equal(json_array_size(mf), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(mf, 0), "manager")),
			    "kubectl");
	json_decref(c);

	/* kubectl re-applies its old value: now it conflicts with other. */
	json_t *c2 = J(CM(",'labels':{'a':'1'}},'data':{'k':'v','j':'1'}"));
	json_t *out2 = NULL;
	assert_int_equal(wf_apply(out, c2, &OPTS_CM, &out2, &conf, &err), -WF_ECONFLICT);
	assert_non_null(strstr(conf.message, "conflict with \"other\": .metadata.labels.a"));
	wf_apply_conflicts_free(&conf);
	json_decref(c2);
	json_decref(out);
	json_decref(v1);
}

static void test_apply_shared_ownership(void **state)
{
	(void)state;
	json_t *v1 = apply_ok(NULL, CM(",'labels':{'a':'1'}},'data':{'k':'v'}"), &OPTS_CM);
	wf_apply_opts other = opts_as(&OPTS_CM, "other", "2026-01-02T03:04:06Z");
	/* The same value: no conflict, both own it. */
	json_t *v2 = apply_ok(v1, CM(",'labels':{'a':'1'}}"), &other);
	expect_json("other", json_object_get(entry_of(v2, "other", "Apply"), "fieldsV1"),
		    "{'f:metadata':{'f:labels':{'f:a':{}}}}");
	/* kubectl gives the label up: other still holds it, so it stays. */
	json_t *v3 = apply_ok(v2, CM("},'data':{'k':'v'}"), &OPTS_CM);
	expect_json("labels", md_of(v3, "labels"), "{'a':'1'}");
	/* other gives it up too: now it goes. */
	json_t *v4 = apply_ok(v3, CM("}"), &other);
	assert_null(md_of(v4, "labels"));
	/* other's entry stays, empty, as the record of its apply. */
	expect_json("other empty", json_object_get(entry_of(v4, "other", "Apply"), "fieldsV1"),
		    "{}");
	json_decref(v1);
	json_decref(v2);
	json_decref(v3);
	json_decref(v4);
}

/* The container named name in a pod, or NULL. */
static json_t *container(const json_t *pod, const char *name)
{
	json_t *cs = json_object_get(json_object_get(pod, "spec"), "containers");
	size_t i;
	json_t *c;
	json_array_foreach(cs, i, c)
	{
		if (!strcmp(json_string_value(json_object_get(c, "name")), name))
			return c;
	}
	return NULL;
}

/* The container names, sorted and comma-joined (a static buffer). */
static const char *container_names(const json_t *pod)
{
	static char buf[256];
	json_t *cs = json_object_get(json_object_get(pod, "spec"), "containers");
	const char *names[16];
	size_t n = 0, i;
	json_t *c;
	json_array_foreach(cs, i, c)
	{
		if (n < 16)
			names[n++] = json_string_value(json_object_get(c, "name"));
	}
	for (size_t a = 0; a < n; a++)
		for (size_t b = a + 1; b < n; b++)
			if (strcmp(names[a], names[b]) > 0) {
				const char *t = names[a];
				names[a] = names[b];
				names[b] = t;
			}
	buf[0] = '\0';
	for (i = 0; i < n; i++) {
		if (i)
			strcat(buf, ",");
		strncat(buf, names[i], 20);
	}
	return buf;
}

#define POD(containers)                                                                            \
	"{'apiVersion':'v1','kind':'Pod','metadata':{'name':'p'},'spec':{'containers':" containers \
	"}}"

static void test_apply_lists(void **state)
{
	(void)state;
	json_t *v1 = apply_ok(NULL,
			      POD("[{'name':'a','image':'i1','env':[{'name':'X','value':'1'}]},"
				  "{'name':'b','image':'i2'}]"),
			      &OPTS_POD);
	/* Status written by someone else is not part of the apply. */
	json_object_set_new(v1, "status", J("{'phase':'Running'}"));
	wf_apply_opts other = opts_as(&OPTS_POD, "other", "2026-01-02T03:04:06Z");
	/* other changes the image of a: a conflict on the item's field. */
	json_t *c = J(POD("[{'name':'a','image':'i9'}]")), *out = NULL;
	wf_apply_conflicts conf = {0};
	wf_err err = {0};
	assert_int_equal(wf_apply(v1, c, &other, &out, &conf, &err), -WF_ECONFLICT);
	assert_string_equal(conf.message, "Apply failed with 1 conflict: conflict with "
					  "\"kubectl\": .spec.containers[name=\"a\"].image");
	wf_apply_conflicts_free(&conf);
	json_decref(c);
	/* other adds a container of its own: merged on the key, no conflict. */
	json_t *v2 = apply_ok(v1, POD("[{'name':'c','image':'i3'}]"), &other);
	assert_string_equal(container_names(v2), "a,b,c");
	expect_json("kubectl set", json_object_get(entry_of(v2, "kubectl", "Apply"), "fieldsV1"),
		    "{'f:spec':{'f:containers':{"
		    "'k:{\\'name\\':\\'a\\'}':{'.':{},'f:name':{},'f:image':{},"
		    "'f:env':{'k:{\\'name\\':\\'X\\'}':{'.':{},'f:name':{},'f:value':{}}}},"
		    "'k:{\\'name\\':\\'b\\'}':{'.':{},'f:name':{},'f:image':{}}}}}");
	/* kubectl drops b and the env of a: they go, other's c stays. */
	json_t *v3 = apply_ok(v2, POD("[{'name':'a','image':'i1'}]"), &OPTS_POD);
	assert_string_equal(container_names(v3), "a,c");
	assert_null(json_object_get(container(v3, "a"), "env"));
	expect_json("status kept", json_object_get(v3, "status"), "{'phase':'Running'}");
	/* other also applies a (same image: shared). kubectl then drops a: the
	 * item stays, as other holds it. */
	json_t *v4 =
	    apply_ok(v3, POD("[{'name':'c','image':'i3'},{'name':'a','image':'i1'}]"), &other);
	json_t *v5 = apply_ok(v4, POD("[]"), &OPTS_POD);
	assert_string_equal(container_names(v5), "a,c");
	/* other drops everything: nothing is left but the empty list applied. */
	json_t *v6 = apply_ok(v5, POD("[]"), &other);
	expect_json("empty", json_object_get(json_object_get(v6, "spec"), "containers"), "[]");
	json_decref(v1);
	json_decref(v2);
	json_decref(v3);
	json_decref(v4);
	json_decref(v5);
	json_decref(v6);
}

static void test_apply_primitive_list(void **state)
{
	(void)state;
	json_t *v1 = apply_ok(NULL, CM(",'finalizers':['a','b']}"), &OPTS_CM);
	wf_apply_opts other = opts_as(&OPTS_CM, "other", "2026-01-02T03:04:06Z");
	json_t *v2 = apply_ok(v1, CM(",'finalizers':['c']}"), &other);
	/* The order is the strategic engine's: what the patch names first. */
	expect_json("union", md_of(v2, "finalizers"), "['c','a','b']");
	json_t *v3 = apply_ok(v2, CM(",'finalizers':['a']}"), &OPTS_CM);
	expect_json("b removed", md_of(v3, "finalizers"), "['c','a']");
	expect_json("set", json_object_get(entry_of(v3, "kubectl", "Apply"), "fieldsV1"),
		    "{'f:metadata':{'f:finalizers':{'v:\\'a\\'':{}}}}");
	json_decref(v1);
	json_decref(v2);
	json_decref(v3);
}

static void test_apply_status_scope(void **state)
{
	(void)state;
	/* The main resource does not own status... */
	json_t *v1 = apply_ok(NULL, POD("[{'name':'a','image':'i'}]"), &OPTS_POD);
	json_t *set = json_object_get(entry_of(v1, "kubectl", "Apply"), "fieldsV1");
	assert_null(json_object_get(set, "f:status"));
	json_decref(v1);
	json_t *cfg = J("{'apiVersion':'v1','kind':'Pod','metadata':{'name':'p'},"
			"'spec':{'containers':[{'name':'a','image':'i'}]},'status':{'phase':'X'}}");
	json_t *out = NULL;
	wf_err err = {0};
	assert_int_equal(wf_apply(NULL, cfg, &OPTS_POD, &out, NULL, &err), 0);
	assert_null(json_object_get(json_object_get(entry_of(out, "kubectl", "Apply"), "fieldsV1"),
				    "f:status"));
	/* ... and /status owns only status, in an entry of its own. */
	wf_apply_opts st = OPTS_POD;
	st.subresource = "status";
	json_t *out2 = NULL;
	assert_int_equal(wf_apply(out, cfg, &st, &out2, NULL, &err), 0);
	json_t *mf = md_of(out2, "managedFields");
	assert_int_equal(json_array_size(mf), 2);
	json_t *e = json_array_get(mf, 1);
	assert_string_equal(json_string_value(json_object_get(e, "subresource")), "status");
	expect_json("status set", json_object_get(e, "fieldsV1"), "{'f:status':{'f:phase':{}}}");
	json_decref(out2);
	json_decref(out);
	json_decref(cfg);
}

static void test_apply_update_entries(void **state)
{
	(void)state;
	json_t *live =
	    J(CM(",'managedFields':[{'manager':'ctl','operation':'Update',"
		 "'apiVersion':'v1','time':'2025-01-01T00:00:00Z','fieldsType':'FieldsV1',"
		 "'fieldsV1':{'f:data':{'f:k':{},'f:j':{}}}},"
		 "{'manager':'ctl2','operation':'Update','fieldsType':'FieldsV1',"
		 "'fieldsV1':{'f:data':{'f:j':{}}}}]},'data':{'k':'1','j':'2'}"));
	/* Update owners never conflict; the changed field leaves them. */
	json_t *out = apply_ok(live, CM("},'data':{'k':'9','j':'2'}"), &OPTS_CM);
	expect_json("data", json_object_get(out, "data"), "{'k':'9','j':'2'}");
	expect_json("ctl", json_object_get(entry_of(out, "ctl", "Update"), "fieldsV1"),
		    "{'f:data':{'f:j':{}}}");
	assert_non_null(entry_of(out, "ctl2", "Update")); /* j did not change */
	/* Sorted: Apply before Update. */
	json_t *mf = md_of(out, "managedFields");
	assert_int_equal(json_array_size(mf), 3);
	assert_string_equal(json_string_value(json_object_get(json_array_get(mf, 0), "operation")),
			    "Apply");
	json_decref(out);
	/* An Update entry left with nothing is dropped. */
	out = apply_ok(live, CM("},'data':{'k':'9','j':'3'}"), &OPTS_CM);
	assert_null(entry_of(out, "ctl2", "Update"));
	assert_null(entry_of(out, "ctl", "Update"));
	json_decref(out);
	json_decref(live);
}

static void test_apply_malformed_live_entries(void **state)
{
	(void)state;
	json_t *live = J(CM(",'managedFields':[1,{'manager':'x','operation':'Weird'},"
			    "{'manager':'y','operation':'Apply','fieldsType':'FieldsV1',"
			    "'fieldsV1':{'bad':{}}},"
			    "{'manager':'z','operation':'Apply','fieldsType':'FieldsV1',"
			    "'fieldsV1':{'f:data':{'f:z':{}}}}]},'data':{'z':'1'}"));
	char *before = dump(live);
	json_t *out = apply_ok(live, CM("},'data':{'k':'1'}"), &OPTS_CM);
	char *after = dump(live);
	assert_string_equal(before, after); /* live is not touched */
	free(before);
	free(after);
	json_t *mf = md_of(out, "managedFields");
	assert_int_equal(json_array_size(mf), 2);
	assert_non_null(entry_of(out, "z", "Apply"));
	assert_non_null(entry_of(out, "kubectl", "Apply"));
	assert_true(wf_managed_fields_valid(mf));
	json_decref(out);
	/* Not a list at all: as if there were none. */
	json_t *live2 = J(CM(",'managedFields':'oops'},'data':{'z':'1'}"));
	out = apply_ok(live2, CM("},'data':{'k':'1'}"), &OPTS_CM);
	assert_int_equal(json_array_size(md_of(out, "managedFields")), 1);
	json_decref(out);
	json_decref(live2);
	json_decref(live);
}

static void test_apply_multiple_conflicts(void **state)
{
	(void)state;
	json_t *live = J(CM(",'labels':{'x':'1','y':'1','z':'1'},'managedFields':["
			    "{'manager':'b','operation':'Apply','fieldsType':'FieldsV1',"
			    "'fieldsV1':{'f:metadata':{'f:labels':{'f:z':{}}}}},"
			    "{'manager':'a','operation':'Apply','fieldsType':'FieldsV1',"
			    "'fieldsV1':{'f:metadata':{'f:labels':{'f:x':{},'f:y':{}}}}}]}"));
	json_t *c = J(CM(",'labels':{'x':'2','y':'2','z':'2'}}")), *out = NULL;
	wf_apply_conflicts conf = {0};
	wf_err err = {0};
	assert_int_equal(wf_apply(live, c, &OPTS_CM, &out, &conf, &err), -WF_ECONFLICT);
	assert_string_equal(conf.message, "Apply failed with 3 conflicts: conflicts with \"a\":\n"
					  "- .metadata.labels.x\n- .metadata.labels.y\n"
					  "conflicts with \"b\":\n- .metadata.labels.z");
	assert_int_equal(json_array_size(conf.causes), 3);
	wf_apply_conflicts_free(&conf);
	/* Forced: a and b lose everything and their entries go. */
	wf_apply_opts f = OPTS_CM;
	f.force = true;
	assert_int_equal(wf_apply(live, c, &f, &out, &conf, &err), 0);
	assert_int_equal(json_array_size(md_of(out, "managedFields")), 1);
	expect_json("labels", md_of(out, "labels"), "{'x':'2','y':'2','z':'2'}");
	json_decref(out);
	json_decref(c);
	json_decref(live);
}

static void apply_fails(const json_t *live, const char *cfg, const wf_apply_opts *o,
			const char *sub)
{
	json_t *c = J(cfg), *out = NULL;
	wf_err err = {0};
	assert_int_equal(wf_apply(live, c, o, &out, NULL, &err), -WF_EINVAL);
	assert_null(out);
	if (!strstr(err.msg, sub))
		fail_msg("message \"%s\" lacks \"%s\"", err.msg, sub);
	json_decref(c);
}

static void test_apply_errors(void **state)
{
	(void)state;
	json_t *live = apply_ok(NULL, CM("}"), &OPTS_CM);
	wf_apply_opts o = OPTS_CM;
	o.manager = NULL;
	apply_fails(live, CM("}"), &o, "fieldManager");
	o.manager = "";
	apply_fails(live, CM("}"), &o, "fieldManager");
	char longname[WF_APPLY_MAX_MANAGER + 2];
	memset(longname, 'm', sizeof longname - 1);
	longname[sizeof longname - 1] = '\0';
	o.manager = longname;
	apply_fails(live, CM("}"), &o, "Too long");
	longname[WF_APPLY_MAX_MANAGER] = '\0';
	json_t *ok = apply_ok(live, CM("}"), &o);
	json_decref(ok);
	apply_fails(live, "[1]", &OPTS_CM, "must be a JSON object");
	apply_fails(live, "'str'", &OPTS_CM, "must be a JSON object");
	apply_fails(live, CM(",'managedFields':[]}"), &OPTS_CM, "managedFields must be nil");
	ok = apply_ok(live, CM(",'managedFields':null}"), &OPTS_CM);
	json_decref(ok);
	apply_fails(live, CM("},'data':{'$patch':'replace'}"), &OPTS_CM,
		    ".data.$patch: patch directives are not allowed");
	apply_fails(live, POD("[{'name':'a','$patch':'delete'}]"), &OPTS_POD, "directives");
	apply_fails(live, CM(",'x':[[{'$retainKeys':[]}]]}"), &OPTS_CM, "directives");
	apply_fails(live, POD("[{'name':'a'},{'name':'a'}]"), &OPTS_POD, "duplicate entries");
	json_t *notobj = J("[]");
	apply_fails(notobj, CM("}"), &OPTS_CM, "live object");
	json_decref(notobj);
	json_decref(live);
	/* Too deep. */
	json_t *deep = J(CM("}"));
	json_t *cur = deep;
	for (int i = 0; i < WF_FIELDSET_MAX_DEPTH + 5; i++) {
		json_t *n = json_array();
		json_object_set_new(cur, "a", json_object());
		cur = json_object_get(cur, "a");
		json_object_set_new(cur, "l", n);
		json_t *m = json_object();
		json_array_append_new(n, m);
		cur = m;
	}
	json_t *out = NULL;
	wf_err err = {0};
	assert_int_equal(wf_apply(NULL, deep, &OPTS_CM, &out, NULL, &err), -WF_EINVAL);
	assert_null(out);
	json_decref(deep);
}

/* Large lists stay linear: 20,000 containers applied, contested and dropped. */
static void test_apply_large_lists(void **state)
{
	(void)state;
	enum { N = 20000 };
	json_t *cfg = J(POD("[]")), *other_cfg = J(POD("[]"));
	json_t *cs = json_object_get(json_object_get(cfg, "spec"), "containers");
	json_t *os = json_object_get(json_object_get(other_cfg, "spec"), "containers");
	for (int i = 0; i < N; i++) {
		char name[32];
		snprintf(name, sizeof name, "c%d", i);
		json_t *c = json_object();
		json_object_set_new(c, "name", json_string(name));
		json_object_set_new(c, "image", json_string("i"));
		json_array_append_new(cs, c);
		c = json_object();
		json_object_set_new(c, "name", json_string(name));
		json_object_set_new(c, "image", json_string("other"));
		json_array_append_new(os, c);
	}
	json_t *v1 = NULL, *v2 = NULL;
	wf_err err = {0};
	assert_int_equal(wf_apply(NULL, cfg, &OPTS_POD, &v1, NULL, &err), 0);
	wf_apply_opts other = opts_as(&OPTS_POD, "other", "2026-01-02T03:04:06Z");
	wf_apply_conflicts conf = {0};
	assert_int_equal(wf_apply(v1, other_cfg, &other, &v2, &conf, &err), -WF_ECONFLICT);
	assert_int_equal(json_array_size(conf.causes), N);
	assert_non_null(strstr(conf.message, "Apply failed with 20000 conflicts"));
	wf_apply_conflicts_free(&conf);
	json_t *empty = J(POD("[]"));
	assert_int_equal(wf_apply(v1, empty, &OPTS_POD, &v2, NULL, &err), 0);
	expect_json("empty", json_object_get(json_object_get(v2, "spec"), "containers"), "[]");
	json_decref(v2);
	json_decref(empty);
	json_decref(v1);
	json_decref(cfg);
	json_decref(other_cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fieldset_configmap),
	    cmocka_unit_test(test_fieldset_pod_lists),
	    cmocka_unit_test(test_fieldset_scalars_and_unknown_kind),
	    cmocka_unit_test(test_fieldset_errors),
	    cmocka_unit_test(test_normalize),
	    cmocka_unit_test(test_set_operations),
	    cmocka_unit_test(test_path_strings),
	    cmocka_unit_test(test_remove),
	    cmocka_unit_test(test_managed_fields_valid),
	    cmocka_unit_test(test_apply_creates),
	    cmocka_unit_test(test_apply_removes_dropped_fields),
	    cmocka_unit_test(test_apply_identical_is_a_no_op),
	    cmocka_unit_test(test_apply_conflict_and_force),
	    cmocka_unit_test(test_apply_shared_ownership),
	    cmocka_unit_test(test_apply_lists),
	    cmocka_unit_test(test_apply_primitive_list),
	    cmocka_unit_test(test_apply_status_scope),
	    cmocka_unit_test(test_apply_update_entries),
	    cmocka_unit_test(test_apply_malformed_live_entries),
	    cmocka_unit_test(test_apply_multiple_conflicts),
	    cmocka_unit_test(test_apply_errors),
	    cmocka_unit_test(test_apply_large_lists),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
