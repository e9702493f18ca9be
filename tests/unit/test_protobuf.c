/*
 * test_protobuf.c - Kubernetes protobuf bodies to JSON: the request bodies
 * real kubectl 1.33 sends for `kubectl create namespace|configmap|secret
 * generic|serviceaccount|service clusterip|job` (captured from the wire),
 * every mapping rule (omitted zeros, kept pointers, maps, packed repeats,
 * inline structs, Time, MicroTime, Quantity, IntOrString, FieldsV1), and
 * hostile input: every truncation and many byte flips of each captured
 * body, 10,000-deep nesting, huge and overlong varints and lengths,
 * unknown fields, wrong wire types, bad UTF-8, the value budget.
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

#include "api/protobuf.h"

static json_t *const SENTINEL = (json_t *)(uintptr_t)0x5e5e;

/* ---- captured from kubectl 1.33 (Content-Type application/vnd.kubernetes.protobuf) -- */

/* kubectl create namespace pbns */
static const char *const HEX_NAMESPACE =
    "6b3873000a0f0a02763112094e616d657370616365121c0a140a0470626e7312001a0022002a0032"
    "003800420012001a020a001a002200";
/* kubectl create configmap cm1 --from-literal=a=1 --from-literal=b=two */
static const char *const HEX_CONFIGMAP =
    "6b3873000a0f0a0276311209436f6e6669674d617012270a130a03636d3112001a0022002a003200"
    "3800420012060a016112013112080a0162120374776f1a002200";
/* kubectl create secret generic s1 --from-literal=pw=s3cr3t */
static const char *const HEX_SECRET =
    "6b3873000a0c0a027631120653656372657412240a120a02733112001a0022002a00320038004200"
    "120c0a02707712067333637233741a001a002200";
/* kubectl create serviceaccount sa1 */
static const char *const HEX_SERVICEACCOUNT =
    "6b3873000a140a027631120e536572766963654163636f756e7412150a130a0373613112001a0022"
    "002a003200380042001a002200";
/* kubectl create service clusterip svc1 --tcp=80:8080 */
static const char *const HEX_SERVICE =
    "6b3873000a0d0a027631120753657276696365126c0a210a047376633112001a0022002a00320038"
    "0042005a0b0a0361707012047376633112430a1b0a0738302d383038301203544350185022070800"
    "10903f1a002800120b0a036170701204737663311a002209436c757374657249503a00420052005a"
    "00600068001a020a001a002200";
/* kubectl create job j1 --image=busybox -- echo hi */
static const char *const HEX_JOB =
    "6b3873000a0f0a0862617463682f763112034a6f621284010a120a026a3112001a0022002a003200"
    "38004200126432620a100a0012001a0022002a00320038004200124e122b0a026a31120762757379"
    "626f781a046563686f1a0268692a0042006a007200800100880100900100a201001a054e65766572"
    "320042004a0052005800600068008201008a01009a0100c201001a082000280030003a001a002200";
/* kubectl create token sa1 (a kind Wharf has no schema for) */
static const char *const HEX_TOKEN =
    "6b3873000a280a1861757468656e7469636174696f6e2e6b38732e696f2f7631120c546f6b656e52"
    "657175657374121a0a100a0012001a0022002a0032003800420012001a040a0012001a002200";

static const struct {
	const char *hex;
	const char *api_version;
	const char *kind;
	const char *json; /* ' for " */
} CAPTURED[] = {
    {HEX_NAMESPACE, "v1", "Namespace",
     "{'apiVersion':'v1','kind':'Namespace','metadata':{'name':'pbns'},'spec':{},"
     "'status':{}}"},
    {HEX_CONFIGMAP, "v1", "ConfigMap",
     "{'apiVersion':'v1','kind':'ConfigMap','metadata':{'name':'cm1'},"
     "'data':{'a':'1','b':'two'}}"},
    {HEX_SECRET, "v1", "Secret",
     "{'apiVersion':'v1','kind':'Secret','metadata':{'name':'s1'},'data':{'pw':'czNjcjN0'}}"},
    {HEX_SERVICEACCOUNT, "v1", "ServiceAccount",
     "{'apiVersion':'v1','kind':'ServiceAccount','metadata':{'name':'sa1'}}"},
    {HEX_SERVICE, "v1", "Service",
     "{'apiVersion':'v1','kind':'Service','metadata':{'name':'svc1','labels':{'app':'svc1'}},"
     "'spec':{'ports':[{'name':'80-8080','protocol':'TCP','port':80,'targetPort':8080}],"
     "'selector':{'app':'svc1'},'type':'ClusterIP'},'status':{'loadBalancer':{}}}"},
    {HEX_JOB, "batch/v1", "Job",
     "{'apiVersion':'batch/v1','kind':'Job','metadata':{'name':'j1'},'spec':{'template':{"
     "'metadata':{},'spec':{'containers':[{'name':'j1','image':'busybox',"
     "'command':['echo','hi'],'resources':{}}],'restartPolicy':'Never'}}},'status':{}}"},
};
#define NCAPTURED (sizeof CAPTURED / sizeof CAPTURED[0])

/* ---- helpers --------------------------------------------------------------------- */

typedef struct pbw {
	uint8_t *p;
	size_t n;
	size_t cap;
} pbw;

static void w_raw(pbw *w, const void *p, size_t n)
{
	if (w->n + n > w->cap) {
		w->cap = (w->n + n) * 2 + 16;
		w->p = realloc(w->p, w->cap);
		assert_non_null(w->p);
	}
	if (n)
		memcpy(w->p + w->n, p, n);
	w->n += n;
}

static void w_varint(pbw *w, uint64_t v)
{
	do {
		uint8_t b = (uint8_t)(v & 0x7f);
		v >>= 7;
		if (v)
			b |= 0x80;
		w_raw(w, &b, 1);
	} while (v);
}

static void w_tag(pbw *w, uint32_t num, int wt)
{
	w_varint(w, (uint64_t)num << 3 | (uint64_t)wt);
}

static void w_uint(pbw *w, uint32_t num, uint64_t v)
{
	w_tag(w, num, 0);
	w_varint(w, v);
}

static void w_bytes(pbw *w, uint32_t num, const void *p, size_t n)
{
	w_tag(w, num, 2);
	w_varint(w, n);
	w_raw(w, p, n);
}

static void w_str(pbw *w, uint32_t num, const char *s)
{
	w_bytes(w, num, s, strlen(s));
}

/* Append sub as field num, then free sub. */
static void w_msg(pbw *w, uint32_t num, pbw *sub)
{
	w_bytes(w, num, sub->p, sub->n);
	free(sub->p);
	*sub = (pbw){0};
}

static pbw w_hex(const char *hex)
{
	pbw w = {0};
	size_t n = strlen(hex) / 2;
	for (size_t i = 0; i < n; i++) {
		unsigned b;
		assert_int_equal(sscanf(hex + 2 * i, "%2x", &b), 1);
		uint8_t c = (uint8_t)b;
		w_raw(&w, &c, 1);
	}
	return w;
}

/* "k8s\0" + Unknown{typeMeta, raw}; frees raw. */
static pbw envelope(const char *av, const char *kind, pbw *raw)
{
	pbw w = {0}, tm = {0};
	w_raw(&w, "k8s", 4);
	w_str(&tm, 1, av);
	w_str(&tm, 2, kind);
	w_msg(&w, 1, &tm);
	w_msg(&w, 2, raw);
	return w;
}

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

static void expect_json(json_t *got, const char *want)
{
	json_t *w = J(want);
	if (!json_equal(got, w)) {
		char *g = json_dumps(got, JSON_COMPACT | JSON_SORT_KEYS);
		char *x = json_dumps(w, JSON_COMPACT | JSON_SORT_KEYS);
		print_error("got  %s\nwant %s\n", g, x);
		free(g);
		free(x);
		json_decref(w);
		fail();
	}
	json_decref(w);
}

/* Decode a whole body with no expected kind; must succeed; frees body. */
static void expect_body(pbw *body, const char *want)
{
	json_t *out = NULL;
	wf_err err = {0};
	int rc = wf_pb_decode_object(body->p, body->n, NULL, NULL, &out, &err);
	if (rc < 0)
		fail_msg("decode failed: %s", err.msg);
	expect_json(out, want);
	json_decref(out);
	free(body->p);
	*body = (pbw){0};
}

/* Decode must fail with code and a message containing `msg`; frees body. */
static void expect_body_error(pbw *body, int code, const char *msg)
{
	json_t *out = SENTINEL;
	wf_err err = {0};
	int rc = wf_pb_decode_object(body->p, body->n, NULL, NULL, &out, &err);
	if (rc == 0) {
		char *s = json_dumps(out, JSON_COMPACT);
		print_error("unexpected success: %s\n", s);
		free(s);
		json_decref(out);
		fail();
	}
	assert_int_equal(rc, -code);
	assert_int_equal(err.code, code);
	assert_ptr_equal(out, SENTINEL);
	if (!strstr(err.msg, msg))
		fail_msg("error \"%s\" lacks \"%s\"", err.msg, msg);
	free(body->p);
	*body = (pbw){0};
}

/* An object of kind/av whose raw message is built by the caller. */
static void expect_obj(const char *av, const char *kind, pbw *raw, const char *want)
{
	pbw b = envelope(av, kind, raw);
	expect_body(&b, want);
}

static void expect_obj_error(const char *av, const char *kind, pbw *raw, const char *msg)
{
	pbw b = envelope(av, kind, raw);
	expect_body_error(&b, WF_EINVAL, msg);
}

/* metadata{name} as field 1 of w */
static void w_meta(pbw *w, const char *name)
{
	pbw m = {0};
	w_str(&m, 1, name);
	w_msg(w, 1, &m);
}

/* ---- captured bodies ------------------------------------------------------------- */

static void test_kubectl_bodies(void **state)
{
	for (size_t i = 0; i < NCAPTURED; i++) {
		pbw b = w_hex(CAPTURED[i].hex);
		json_t *out = NULL;
		wf_err err = {0};
		/* with the kind the URL names, and with none */
		assert_int_equal(wf_pb_decode_object(b.p, b.n, CAPTURED[i].api_version,
						     CAPTURED[i].kind, &out, &err),
				 0);
		expect_json(out, CAPTURED[i].json);
		json_decref(out);
		assert_int_equal(wf_pb_decode_object(b.p, b.n, NULL, NULL, &out, &err), 0);
		expect_json(out, CAPTURED[i].json);
		/* apiVersion and kind come first, as a JSON client writes them */
		void *it = json_object_iter(out);
		assert_string_equal(json_object_iter_key(it), "apiVersion");
		assert_string_equal(json_object_iter_key(json_object_iter_next(out, it)), "kind");
		json_decref(out);
		free(b.p);
	}
}

static void test_kind_checks(void **state)
{
	pbw b = w_hex(HEX_CONFIGMAP);
	json_t *out = SENTINEL;
	wf_err err = {0};
	assert_int_equal(wf_pb_decode_object(b.p, b.n, "v1", "Namespace", &out, &err), -WF_EINVAL);
	assert_string_equal(err.msg, "the kind in the data (ConfigMap) does not match the "
				     "expected kind (Namespace)");
	assert_int_equal(wf_pb_decode_object(b.p, b.n, "batch/v1", "ConfigMap", &out, &err),
			 -WF_EINVAL);
	assert_string_equal(err.msg, "the API version in the data (v1) does not match the "
				     "expected API version (batch/v1)");
	assert_ptr_equal(out, SENTINEL);
	free(b.p);

	/* no schema: 415 material, whether or not the URL's kind is given */
	b = w_hex(HEX_TOKEN);
	assert_int_equal(wf_pb_decode_object(b.p, b.n, NULL, NULL, &out, &err), -WF_ENOTSUP);
	assert_non_null(strstr(err.msg, "authentication.k8s.io/v1 TokenRequest"));
	assert_int_equal(
	    wf_pb_decode_object(b.p, b.n, "authentication.k8s.io/v1", "TokenRequest", &out, &err),
	    -WF_ENOTSUP);
	assert_ptr_equal(out, SENTINEL);
	free(b.p);

	/* DeleteOptions arrive under any group's apiVersion */
	pbw raw = {0};
	w_uint(&raw, 1, 0);
	w_str(&raw, 4, "Foreground");
	w_str(&raw, 5, "All");
	pbw pre = {0};
	w_str(&pre, 1, "u-1");
	w_msg(&raw, 2, &pre);
	expect_obj(
	    "batch/v1", "DeleteOptions", &raw,
	    "{'apiVersion':'batch/v1','kind':'DeleteOptions','gracePeriodSeconds':0,"
	    "'propagationPolicy':'Foreground','dryRun':['All'],'preconditions':{'uid':'u-1'}}");
}

static void test_schema_find(void **state)
{
	static const char *const kinds[][2] = {
	    {"v1", "Namespace"},
	    {"v1", "ConfigMap"},
	    {"v1", "Secret"},
	    {"v1", "ServiceAccount"},
	    {"v1", "Service"},
	    {"v1", "Pod"},
	    {"v1", "Node"},
	    {"v1", "Event"},
	    {"v1", "Binding"},
	    {"batch/v1", "Job"},
	    {"coordination.k8s.io/v1", "Lease"},
	    {"apps/v1", "DeleteOptions"},
	};
	for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
		const wf_pb_msg *m = wf_pb_schema_find(kinds[i][0], kinds[i][1]);
		assert_non_null(m);
		assert_true(m->nfields > 0);
	}
	assert_null(wf_pb_schema_find("v1", "Job"));
	assert_null(wf_pb_schema_find("batch/v1", "Pod"));
	assert_null(wf_pb_schema_find("apps/v1", "Deployment"));
	assert_null(wf_pb_schema_find(NULL, "Pod"));
	assert_null(wf_pb_schema_find("v1", NULL));
	assert_true(wf_pb_is_media_type("application/vnd.kubernetes.protobuf"));
	assert_true(wf_pb_is_media_type("Application/VND.Kubernetes.Protobuf"));
	assert_false(wf_pb_is_media_type("application/json"));
	assert_false(wf_pb_is_media_type(""));
	assert_false(wf_pb_is_media_type(NULL));
}

/* ---- the mapping ----------------------------------------------------------------- */

static void test_scalars_and_zeros(void **state)
{
	/* Job: pointer ints keep 0; plain ints and empty strings are dropped */
	pbw spec = {0}, status = {0}, raw = {0};
	w_uint(&spec, 7, 0);  /* backoffLimit: 0 means "no retries" */
	w_uint(&spec, 1, 3);  /* parallelism */
	w_uint(&spec, 10, 0); /* suspend: false */
	w_str(&spec, 9, "Indexed");
	w_uint(&spec, 3, (uint64_t)-1); /* activeDeadlineSeconds -1: 10-byte varint */
	w_uint(&status, 4, 0);		/* active: 0, dropped */
	w_uint(&status, 5, 2);		/* succeeded */
	w_str(&status, 7, "");		/* completedIndexes: "", dropped */
	w_uint(&status, 9, 0);		/* ready: *int32 0, kept */
	w_meta(&raw, "j");
	w_msg(&raw, 2, &spec);
	w_msg(&raw, 3, &status);
	expect_obj("batch/v1", "Job", &raw,
		   "{'apiVersion':'batch/v1','kind':'Job','metadata':{'name':'j'},"
		   "'spec':{'backoffLimit':0,'parallelism':3,'suspend':false,"
		   "'completionMode':'Indexed','activeDeadlineSeconds':-1},"
		   "'status':{'succeeded':2,'ready':0}}");

	/* bools: any nonzero varint is true; int64 keeps its full range */
	pbw md = {0};
	w_str(&md, 1, "x");
	w_uint(&md, 7, (uint64_t)INT64_MAX);
	w_uint(&md, 10, 0); /* deletionGracePeriodSeconds: *int64 0 kept */
	raw = (pbw){0};
	w_msg(&raw, 1, &md);
	w_uint(&raw, 4, 7); /* immutable */
	expect_obj("v1", "ConfigMap", &raw,
		   "{'apiVersion':'v1','kind':'ConfigMap','metadata':{'name':'x',"
		   "'generation':9223372036854775807,'deletionGracePeriodSeconds':0},"
		   "'immutable':true}");

	/* a later occurrence of a scalar wins, also when it is the zero value */
	raw = (pbw){0};
	w_meta(&raw, "a");
	w_str(&raw, 3, "Opaque");
	w_str(&raw, 3, "");
	md = (pbw){0};
	w_str(&md, 1, "b");
	w_msg(&raw, 1, &md); /* singular message again: merged, name replaced */
	expect_obj("v1", "Secret", &raw,
		   "{'apiVersion':'v1','kind':'Secret','metadata':{'name':'b'}}");

	/* negative int32 as a sign-extended varint; out-of-range int32 */
	pbw port = {0}, ss = {0};
	w_uint(&port, 3, (uint64_t)(int64_t)-5);
	w_msg(&ss, 1, &port);
	raw = (pbw){0};
	w_msg(&raw, 2, &ss);
	expect_obj("v1", "Service", &raw,
		   "{'apiVersion':'v1','kind':'Service','spec':{'ports':[{'port':-5}]}}");
	port = (pbw){0};
	ss = (pbw){0};
	w_uint(&port, 3, 1ULL << 31);
	w_msg(&ss, 1, &port);
	raw = (pbw){0};
	w_msg(&raw, 2, &ss);
	expect_obj_error("v1", "Service", &raw,
			 "int32 field 3 (port) out of range: 2147483648 (at spec.ports[0].port)");
}

static void test_maps_and_bytes(void **state)
{
	pbw raw = {0}, e = {0};
	w_meta(&raw, "s");
	w_str(&e, 1, "bin");
	w_bytes(&e, 2, "\x00\xff\x10", 3);
	w_msg(&raw, 2, &e);
	w_str(&e, 1, "empty"); /* no value: "" */
	w_msg(&raw, 2, &e);
	w_bytes(&e, 2, "zz", 2); /* no key: "" */
	w_msg(&raw, 2, &e);
	w_str(&e, 1, "bin"); /* duplicate key: last wins */
	w_str(&e, 2, "abcd");
	w_msg(&raw, 2, &e);
	w_str(&e, 1, "sd");
	w_str(&e, 2, "plain");
	w_msg(&raw, 4, &e);
	expect_obj("v1", "Secret", &raw,
		   "{'apiVersion':'v1','kind':'Secret','metadata':{'name':'s'},"
		   "'data':{'bin':'YWJjZA==','empty':'','':'eno='},'stringData':{'sd':'plain'}}");

	/* map entries with unknown fields or wrong wire types are refused */
	raw = (pbw){0};
	e = (pbw){0};
	w_str(&e, 1, "k");
	w_str(&e, 3, "v");
	w_msg(&raw, 2, &e);
	expect_obj_error("v1", "ConfigMap", &raw,
			 "unsupported protobuf field 3 in map entry (at data)");
	raw = (pbw){0};
	w_uint(&raw, 2, 5);
	expect_obj_error("v1", "ConfigMap", &raw, "map field 2 (data) has wire type 0, expected 2");

	/* map<string, Quantity>: Node capacity, and an empty Quantity is "0" */
	pbw st = {0}, q = {0};
	w_str(&e, 1, "nvidia.com/gpu");
	w_str(&q, 1, "8");
	w_msg(&e, 2, &q);
	w_msg(&st, 1, &e);
	w_str(&e, 1, "cpu");
	w_msg(&e, 2, &q); /* empty Quantity */
	w_msg(&st, 1, &e);
	w_str(&e, 1, "memory"); /* no value at all */
	w_msg(&st, 2, &e);
	raw = (pbw){0};
	w_meta(&raw, "n1");
	w_msg(&raw, 3, &st);
	expect_obj("v1", "Node", &raw,
		   "{'apiVersion':'v1','kind':'Node','metadata':{'name':'n1'},'status':{"
		   "'capacity':{'nvidia.com/gpu':'8','cpu':'0'},'allocatable':{'memory':'0'}}}");
}

static void test_special_types(void **state)
{
	/* Time: empty is Go's zero time (dropped); an explicit 0 is the epoch */
	pbw md = {0}, t = {0}, raw = {0};
	w_str(&md, 1, "t");
	w_msg(&md, 8, &t);
	w_uint(&t, 1, 1795330358);
	w_uint(&t, 2, 999);
	w_msg(&md, 9, &t);
	w_msg(&raw, 1, &md);
	pbw cond = {0}, st = {0};
	w_uint(&t, 1, 0);
	w_msg(&cond, 4, &t);
	w_str(&cond, 1, "Ready");
	w_msg(&st, 2, &cond);
	w_msg(&raw, 3, &st);
	expect_obj("v1", "Namespace", &raw,
		   "{'apiVersion':'v1','kind':'Namespace','metadata':{'name':'t',"
		   "'deletionTimestamp':'2026-11-22T06:52:38Z'},'status':{'conditions':[{"
		   "'lastTransitionTime':'1970-01-01T00:00:00Z','type':'Ready'}]}}");

	/* MicroTime: Lease renewTime keeps microseconds */
	pbw spec = {0};
	w_str(&spec, 1, "holder");
	w_uint(&spec, 2, 40);
	w_uint(&t, 1, 1795329513);
	w_uint(&t, 2, 123456789);
	w_msg(&spec, 4, &t);
	w_uint(&spec, 5, 0);
	raw = (pbw){0};
	w_meta(&raw, "l");
	w_msg(&raw, 2, &spec);
	expect_obj("coordination.k8s.io/v1", "Lease", &raw,
		   "{'apiVersion':'coordination.k8s.io/v1','kind':'Lease','metadata':{'name':'l'},"
		   "'spec':{'holderIdentity':'holder','leaseDurationSeconds':40,"
		   "'renewTime':'2026-11-22T06:38:33.123456Z','leaseTransitions':0}}");

	/* nanos out of range; unknown field inside a Time */
	spec = (pbw){0};
	w_uint(&t, 2, 1000000000);
	w_msg(&spec, 4, &t);
	raw = (pbw){0};
	w_msg(&raw, 2, &spec);
	expect_obj_error("coordination.k8s.io/v1", "Lease", &raw,
			 "nanos 1000000000 out of range (at spec.renewTime)");
	spec = (pbw){0};
	w_uint(&t, 3, 1);
	w_msg(&spec, 3, &t);
	raw = (pbw){0};
	w_msg(&raw, 2, &spec);
	expect_obj_error("coordination.k8s.io/v1", "Lease", &raw,
			 "unsupported protobuf field 3 in Time (at spec.acquireTime)");

	/* IntOrString: int, string, zero (dropped), bad type */
	pbw p1 = {0}, p2 = {0}, p3 = {0}, ios = {0}, ss = {0};
	w_uint(&ios, 1, 1);
	w_str(&ios, 3, "http");
	w_msg(&p1, 4, &ios);
	w_uint(&ios, 1, 0);
	w_uint(&ios, 2, 0);
	w_str(&ios, 3, "");
	w_msg(&p2, 4, &ios);
	w_uint(&ios, 2, 9090);
	w_msg(&p3, 4, &ios);
	w_msg(&ss, 1, &p1);
	w_msg(&ss, 1, &p2);
	w_msg(&ss, 1, &p3);
	raw = (pbw){0};
	w_msg(&raw, 2, &ss);
	expect_obj("v1", "Service", &raw,
		   "{'apiVersion':'v1','kind':'Service','spec':{'ports':[{'targetPort':'http'},"
		   "{},{'targetPort':9090}]}}");
	ss = (pbw){0};
	w_uint(&ios, 1, 2);
	w_msg(&p1, 4, &ios);
	w_msg(&ss, 1, &p1);
	raw = (pbw){0};
	w_msg(&raw, 2, &ss);
	expect_obj_error("v1", "Service", &raw, "IntOrString type 2 is neither 0 nor 1");

	/* FieldsV1 holds JSON text */
	pbw mf = {0}, fv = {0};
	md = (pbw){0};
	w_str(&mf, 1, "kubectl");
	w_str(&mf, 2, "Update");
	w_str(&fv, 1, "{\"f:data\":{\"f:a\":{}}}");
	w_msg(&mf, 7, &fv);
	w_msg(&md, 17, &mf);
	raw = (pbw){0};
	w_msg(&raw, 1, &md);
	expect_obj("v1", "ConfigMap", &raw,
		   "{'apiVersion':'v1','kind':'ConfigMap','metadata':{'managedFields':[{"
		   "'manager':'kubectl','operation':'Update','fieldsV1':{'f:data':{'f:a':{}}}}]}}");
	md = (pbw){0};
	w_str(&fv, 1, "{not json");
	w_msg(&mf, 7, &fv);
	w_msg(&md, 17, &mf);
	raw = (pbw){0};
	w_msg(&raw, 1, &md);
	expect_obj_error("v1", "ConfigMap", &raw, "field 7 (fieldsV1) does not hold JSON");
}

static void test_pod_and_inline(void **state)
{
	/* A pod with the container fields kubectl never sends but client-go does:
	 * env with valueFrom (inline LocalObjectReference), resources, ports,
	 * probes (inline ProbeHandler), volumes (inline VolumeSource), tolerations,
	 * packed supplementalGroups, and a status with exitCode 0 and ready false. */
	pbw c = {0}, x = {0}, y = {0}, z = {0};
	w_str(&c, 1, "main");
	w_str(&c, 2, "busybox");
	w_str(&c, 3, "sh");
	w_str(&c, 4, "-c");
	w_str(&c, 4, "");
	w_str(&c, 5, "/work");
	w_str(&x, 1, "http");
	w_uint(&x, 3, 8080);
	w_str(&x, 4, "TCP");
	w_msg(&c, 6, &x);
	w_str(&x, 1, "TOKEN");
	w_str(&y, 1, "tok"); /* LocalObjectReference, inline */
	w_msg(&z, 1, &y);
	w_str(&z, 2, "key");
	w_uint(&z, 3, 0); /* optional: *bool false */
	w_msg(&y, 4, &z); /* secretKeyRef */
	w_msg(&x, 3, &y);
	w_msg(&c, 7, &x);
	w_str(&x, 1, "PLAIN");
	w_str(&x, 2, "v");
	w_msg(&c, 7, &x);
	pbw q = {0};
	w_str(&y, 1, "nvidia.com/gpu");
	w_str(&q, 1, "1");
	w_msg(&y, 2, &q);
	w_msg(&x, 1, &y);
	w_str(&y, 1, "cpu");
	w_str(&q, 1, "500m");
	w_msg(&y, 2, &q);
	w_msg(&x, 2, &y);
	w_msg(&c, 8, &x);
	w_str(&z, 1, "/healthz"); /* httpGet */
	w_uint(&q, 2, 8080);
	w_msg(&z, 2, &q);
	w_msg(&y, 2, &z); /* ProbeHandler.httpGet */
	w_msg(&x, 1, &y); /* Probe.handler, inline */
	w_uint(&x, 4, 5);
	w_msg(&c, 10, &x);
	w_str(&c, 14, "IfNotPresent");
	w_uint(&c, 16, 0);
	w_str(&c, 13, "");
	pbw spec = {0};
	pbw lor = {0};
	w_str(&x, 1, "cfg");
	w_str(&lor, 1, "cm1");
	w_msg(&z, 1, &lor); /* ConfigMapVolumeSource's inline LocalObjectReference */
	w_uint(&z, 3, 420);
	w_msg(&y, 19, &z);
	w_msg(&x, 2, &y); /* Volume.volumeSource, inline */
	w_msg(&spec, 1, &x);
	w_msg(&spec, 2, &c);
	w_str(&spec, 3, "Never");
	w_uint(&spec, 4, 0);
	w_str(&x, 1, "nvidia.com/gpu");
	w_str(&x, 2, "Exists");
	w_str(&x, 4, "NoSchedule");
	w_msg(&spec, 22, &x);
	pbw packed = {0};
	w_varint(&packed, 1000);
	w_varint(&packed, 2000);
	w_bytes(&x, 4, packed.p, packed.n); /* supplementalGroups, packed */
	free(packed.p);
	w_uint(&x, 4, 3000); /* and one unpacked */
	w_msg(&spec, 14, &x);
	w_str(&y, 1, "gpu");
	w_str(&y, 2, "true");
	w_msg(&spec, 7, &y);

	pbw st = {0}, cs = {0};
	w_str(&st, 1, "Succeeded");
	w_str(&cs, 1, "main");
	w_uint(&cs, 4, 0);
	w_uint(&cs, 5, 0);
	w_uint(&z, 1, 0);
	w_str(&z, 3, "Completed");
	w_msg(&y, 3, &z);
	w_msg(&cs, 2, &y);
	w_msg(&st, 8, &cs);
	pbw raw = {0};
	w_meta(&raw, "p");
	w_msg(&raw, 2, &spec);
	w_msg(&raw, 3, &st);
	expect_obj(
	    "v1", "Pod", &raw,
	    "{'apiVersion':'v1','kind':'Pod','metadata':{'name':'p'},'spec':{"
	    "'volumes':[{'name':'cfg','configMap':{'name':'cm1','defaultMode':420}}],"
	    "'containers':[{'name':'main','image':'busybox','command':['sh'],'args':['-c',''],"
	    "'workingDir':'/work','ports':[{'name':'http','containerPort':8080,'protocol':'TCP'}],"
	    "'env':[{'name':'TOKEN','valueFrom':{'secretKeyRef':{'name':'tok','key':'key',"
	    "'optional':false}}},{'name':'PLAIN','value':'v'}],"
	    "'resources':{'limits':{'nvidia.com/gpu':'1'},'requests':{'cpu':'500m'}},"
	    "'livenessProbe':{'httpGet':{'path':'/healthz','port':8080},'periodSeconds':5},"
	    "'imagePullPolicy':'IfNotPresent'}],'restartPolicy':'Never',"
	    "'terminationGracePeriodSeconds':0,'tolerations':[{'key':'nvidia.com/gpu',"
	    "'operator':'Exists','effect':'NoSchedule'}],'securityContext':{"
	    "'supplementalGroups':[1000,2000,3000]},'nodeSelector':{'gpu':'true'}},"
	    "'status':{'phase':'Succeeded','containerStatuses':[{'name':'main','ready':false,"
	    "'restartCount':0,'state':{'terminated':{'exitCode':0,'reason':'Completed'}}}]}}");

	/* Binding and Event */
	raw = (pbw){0};
	w_meta(&raw, "p");
	w_str(&x, 1, "Node");
	w_str(&x, 3, "n1");
	w_msg(&raw, 2, &x);
	expect_obj("v1", "Binding", &raw,
		   "{'apiVersion':'v1','kind':'Binding','metadata':{'name':'p'},"
		   "'target':{'kind':'Node','name':'n1'}}");
	raw = (pbw){0};
	w_meta(&raw, "e");
	w_str(&x, 1, "Pod");
	w_str(&x, 3, "p");
	w_msg(&raw, 2, &x);
	w_str(&raw, 3, "Scheduled");
	w_uint(&raw, 8, 1);
	w_str(&y, 1, "wharf-scheduler");
	w_msg(&raw, 5, &y);
	w_msg(&raw, 10, &y); /* eventTime: zero MicroTime, dropped */
	expect_obj("v1", "Event", &raw,
		   "{'apiVersion':'v1','kind':'Event','metadata':{'name':'e'},"
		   "'involvedObject':{'kind':'Pod','name':'p'},'reason':'Scheduled','count':1,"
		   "'source':{'component':'wharf-scheduler'}}");
}

static void test_packed_int32(void **state)
{
	pbw rule = {0}, oec = {0}, pfp = {0}, spec = {0}, raw = {0}, packed = {0};
	w_str(&oec, 2, "In");
	w_varint(&packed, 1);
	w_varint(&packed, (uint64_t)(int64_t)-2);
	w_varint(&packed, 42);
	w_bytes(&oec, 3, packed.p, packed.n);
	w_uint(&oec, 3, 7);
	w_str(&rule, 1, "FailJob");
	w_msg(&rule, 2, &oec);
	w_msg(&pfp, 1, &rule);
	w_msg(&spec, 11, &pfp);
	w_msg(&raw, 2, &spec);
	expect_obj("batch/v1", "Job", &raw,
		   "{'apiVersion':'batch/v1','kind':'Job','spec':{'podFailurePolicy':{'rules':[{"
		   "'action':'FailJob','onExitCodes':{'operator':'In','values':[1,-2,42,7]}}]}}}");

	/* a packed run that ends inside a varint */
	oec = (pbw){0};
	rule = (pbw){0};
	pfp = (pbw){0};
	spec = (pbw){0};
	raw = (pbw){0};
	w_bytes(&oec, 3, "\x01\x80", 2);
	w_msg(&rule, 2, &oec);
	w_msg(&pfp, 1, &rule);
	w_msg(&spec, 11, &pfp);
	w_msg(&raw, 2, &spec);
	expect_obj_error("batch/v1", "Job", &raw, "truncated varint");
	free(packed.p);
}

/* ---- refusals -------------------------------------------------------------------- */

static void test_unknown_fields(void **state)
{
	pbw raw = {0};
	w_meta(&raw, "c");
	w_str(&raw, 9, "x");
	expect_obj_error("v1", "ConfigMap", &raw, "unsupported protobuf field 9 in ConfigMap");

	pbw md = {0};
	w_str(&md, 1, "c");
	w_uint(&md, 99, 1);
	raw = (pbw){0};
	w_msg(&raw, 1, &md);
	expect_obj_error("v1", "ConfigMap", &raw,
			 "unsupported protobuf field 99 in ObjectMeta (at metadata)");

	/* deep inside a job: the path says where */
	pbw c = {0}, ps = {0}, tpl = {0}, spec = {0};
	w_str(&c, 1, "main");
	w_uint(&c, 99, 1);
	w_msg(&ps, 2, &c);
	w_msg(&tpl, 2, &ps);
	w_msg(&spec, 6, &tpl);
	raw = (pbw){0};
	w_msg(&raw, 2, &spec);
	expect_obj_error("batch/v1", "Job", &raw,
			 "unsupported protobuf field 99 in Container (at "
			 "spec.template.spec.containers[0])");

	/* a volume source this server does not know is named, not dropped */
	pbw vol = {0}, vs = {0}, gce = {0};
	w_str(&vol, 1, "v");
	w_str(&gce, 1, "disk");
	w_msg(&vs, 99, &gce);
	w_msg(&vol, 2, &vs);
	ps = (pbw){0};
	w_msg(&ps, 1, &vol);
	raw = (pbw){0};
	w_msg(&raw, 2, &ps);
	expect_obj_error("v1", "Pod", &raw,
			 "unsupported protobuf field 99 in VolumeSource (at spec.volumes[0])");

	/* field number 0 and numbers past 2^29-1 */
	raw = (pbw){0};
	w_uint(&raw, 0, 1);
	expect_obj_error("v1", "ConfigMap", &raw, "invalid field number 0 in ConfigMap");
	raw = (pbw){0};
	w_varint(&raw, (1ULL << 29) << 3);
	w_varint(&raw, 0);
	expect_obj_error("v1", "ConfigMap", &raw, "invalid field number 536870912 in ConfigMap");
}

static void test_wire_types(void **state)
{
	pbw raw = {0}, md = {0};
	w_uint(&md, 1, 5); /* name as a varint */
	w_msg(&raw, 1, &md);
	expect_obj_error("v1", "ConfigMap", &raw,
			 "field 1 (name) has wire type 0, expected 2 (at metadata.name)");

	raw = (pbw){0};
	w_str(&md, 7, "1"); /* generation as bytes */
	w_msg(&raw, 1, &md);
	expect_obj_error("v1", "ConfigMap", &raw,
			 "field 7 (generation) has wire type 2, expected 0");

	raw = (pbw){0};
	w_uint(&raw, 1, 1); /* metadata as a varint */
	expect_obj_error("v1", "ConfigMap", &raw, "field 1 (metadata) has wire type 0, expected 2");

	raw = (pbw){0};
	w_tag(&raw, 4, 1); /* immutable as fixed64 */
	w_raw(&raw, "\1\0\0\0\0\0\0\0", 8);
	expect_obj_error("v1", "ConfigMap", &raw,
			 "field 4 (immutable) has wire type 1, expected 0");

	raw = (pbw){0};
	w_tag(&raw, 4, 5); /* immutable as fixed32 */
	w_raw(&raw, "\1\0\0\0", 4);
	expect_obj_error("v1", "ConfigMap", &raw,
			 "field 4 (immutable) has wire type 5, expected 0");

	raw = (pbw){0};
	w_tag(&raw, 4, 5); /* truncated fixed32 */
	w_raw(&raw, "\1\0", 2);
	expect_obj_error("v1", "ConfigMap", &raw, "truncated 4-byte fixed field");

	raw = (pbw){0};
	w_tag(&raw, 4, 1);
	w_raw(&raw, "\1\0\0\0\0\0\0", 7);
	expect_obj_error("v1", "ConfigMap", &raw, "truncated 8-byte fixed field");

	raw = (pbw){0};
	w_tag(&raw, 2, 3); /* group start */
	expect_obj_error("v1", "ConfigMap", &raw, "groups (wire type 3) are not supported");
	raw = (pbw){0};
	w_tag(&raw, 2, 4);
	expect_obj_error("v1", "ConfigMap", &raw, "groups (wire type 4) are not supported");
	raw = (pbw){0};
	w_tag(&raw, 2, 6);
	expect_obj_error("v1", "ConfigMap", &raw, "invalid wire type 6");

	/* an inline struct and a repeated message must be length-delimited too */
	pbw env = {0}, c = {0}, ps = {0};
	w_uint(&env, 3, 1);
	w_msg(&c, 7, &env); /* valueFrom as varint inside env */
	w_msg(&ps, 2, &c);
	raw = (pbw){0};
	w_msg(&raw, 2, &ps);
	expect_obj_error("v1", "Pod", &raw, "field 3 (valueFrom) has wire type 0, expected 2");
	pbw vol = {0};
	w_uint(&vol, 2, 1);
	ps = (pbw){0};
	w_msg(&ps, 1, &vol);
	raw = (pbw){0};
	w_msg(&raw, 2, &ps);
	expect_obj_error("v1", "Pod", &raw, "field 2 (volumeSource) has wire type 0, expected 2");
	pbw ps2 = {0};
	w_uint(&ps2, 2, 1);
	raw = (pbw){0};
	w_msg(&raw, 2, &ps2);
	expect_obj_error("v1", "Pod", &raw, "field 2 (containers) has wire type 0, expected 2");
}

static void test_strings(void **state)
{
	pbw raw = {0}, md = {0};
	w_bytes(&md, 1, "caf\xc3", 4); /* cut UTF-8 sequence */
	w_msg(&raw, 1, &md);
	expect_obj_error("v1", "ConfigMap", &raw, "string field 1 (name) is not valid UTF-8");
	raw = (pbw){0};
	w_bytes(&md, 1, "a\0b", 3);
	w_msg(&raw, 1, &md);
	expect_obj_error("v1", "ConfigMap", &raw, "string field 1 (name) holds a NUL byte");
	/* map keys are strings too */
	pbw e = {0};
	raw = (pbw){0};
	w_bytes(&e, 1, "\xff", 1);
	w_str(&e, 2, "v");
	w_msg(&raw, 2, &e);
	expect_obj_error("v1", "ConfigMap", &raw, "string field 1 (key) is not valid UTF-8");
	/* non-ASCII UTF-8 is fine */
	raw = (pbw){0};
	w_str(&e, 1, "k");
	w_str(&e, 2, "gr\xc3\xbc\xc3\x9f");
	w_msg(&raw, 2, &e);
	expect_obj("v1", "ConfigMap", &raw,
		   "{'apiVersion':'v1','kind':'ConfigMap','data':{'k':'gr\\u00fc\\u00df'}}");
}

static void test_envelope(void **state)
{
	pbw b = {0};
	expect_body_error(&b, WF_EINVAL, "missing the \"k8s\\0\" prefix");
	w_raw(&b, "k8s", 3);
	expect_body_error(&b, WF_EINVAL, "missing the \"k8s\\0\" prefix");
	w_raw(&b, "k8s\1", 4);
	expect_body_error(&b, WF_EINVAL, "missing the \"k8s\\0\" prefix");
	w_raw(&b, "{\"kind\":\"ConfigMap\"}", 20);
	expect_body_error(&b, WF_EINVAL, "missing the \"k8s\\0\" prefix");
	w_raw(&b, "k8s", 4);
	expect_body_error(&b, WF_EINVAL, "does not name the apiVersion and kind");

	pbw tm = {0};
	w_raw(&b, "k8s", 4);
	w_str(&tm, 1, "v1");
	w_msg(&b, 1, &tm);
	expect_body_error(&b, WF_EINVAL, "does not name the apiVersion and kind");

	/* no raw at all: an object with nothing but its type */
	w_raw(&b, "k8s", 4);
	w_str(&tm, 1, "v1");
	w_str(&tm, 2, "ConfigMap");
	w_msg(&b, 1, &tm);
	expect_body(&b, "{'apiVersion':'v1','kind':'ConfigMap'}");

	/* contentEncoding and contentType */
	pbw raw = {0};
	b = envelope("v1", "ConfigMap", &raw);
	w_str(&b, 3, "gzip");
	expect_body_error(&b, WF_EINVAL, "unsupported contentEncoding \"gzip\"");
	b = envelope("v1", "ConfigMap", &raw);
	w_str(&b, 4, "application/json");
	expect_body_error(&b, WF_EINVAL, "unsupported contentType \"application/json\"");
	b = envelope("v1", "ConfigMap", &raw);
	w_str(&b, 4, "application/vnd.kubernetes.protobuf");
	w_str(&b, 3, "");
	expect_body(&b, "{'apiVersion':'v1','kind':'ConfigMap'}");

	/* unknown envelope fields and wire types */
	b = envelope("v1", "ConfigMap", &raw);
	w_str(&b, 5, "x");
	expect_body_error(&b, WF_EINVAL, "unsupported protobuf field 5 in Unknown");
	b = envelope("v1", "ConfigMap", &raw);
	w_uint(&b, 2, 1);
	expect_body_error(&b, WF_EINVAL, "field 2 in Unknown has wire type 0, expected 2");
	w_raw(&b, "k8s", 4);
	w_str(&tm, 3, "x");
	w_msg(&b, 1, &tm);
	expect_body_error(&b, WF_EINVAL, "unsupported protobuf field 3 in TypeMeta");
}

static void test_lengths_and_varints(void **state)
{
	static const uint64_t huge[] = {
	    UINT64_MAX, 1ULL << 63, 1ULL << 32, 1ULL << 31, WF_PB_MAX_NODES, 3 * 1024 * 1024,
	};
	for (size_t i = 0; i < sizeof huge / sizeof huge[0]; i++) {
		/* in the object */
		pbw raw = {0};
		w_tag(&raw, 1, 2);
		w_varint(&raw, huge[i]);
		w_raw(&raw, "\x0a\x01x", 3);
		expect_obj_error("v1", "ConfigMap", &raw, "runs past the end of the data");
		/* in the envelope */
		pbw b = {0};
		w_raw(&b, "k8s", 4);
		w_tag(&b, 2, 2);
		w_varint(&b, huge[i]);
		expect_body_error(&b, WF_EINVAL, "runs past the end of the data (0 bytes left)");
	}
	/* one byte too long */
	pbw raw = {0};
	w_tag(&raw, 4, 2);
	w_varint(&raw, 3);
	w_raw(&raw, "ab", 2);
	expect_obj_error("v1", "ConfigMap", &raw,
			 "length 3 runs past the end of the data (2 bytes");

	/* varints: 11 bytes, a 10th byte above 1, truncated in the key and the value */
	raw = (pbw){0};
	w_tag(&raw, 4, 0);
	w_raw(&raw, "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 11);
	expect_obj_error("v1", "ConfigMap", &raw, "varint longer than 64 bits");
	raw = (pbw){0};
	w_tag(&raw, 4, 0);
	w_raw(&raw, "\x80\x80\x80\x80\x80\x80\x80\x80\x80\x02", 10);
	expect_obj_error("v1", "ConfigMap", &raw, "varint longer than 64 bits");
	raw = (pbw){0};
	w_tag(&raw, 4, 0);
	w_raw(&raw, "\x80\x80", 2);
	expect_obj_error("v1", "ConfigMap", &raw, "truncated varint");
	raw = (pbw){0};
	w_raw(&raw, "\x80", 1);
	expect_obj_error("v1", "ConfigMap", &raw, "truncated varint");
	/* the largest 10-byte varint is fine (int64 -1) */
	raw = (pbw){0};
	w_tag(&raw, 4, 0);
	w_raw(&raw, "\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 10);
	expect_obj("v1", "ConfigMap", &raw,
		   "{'apiVersion':'v1','kind':'ConfigMap','immutable':true}");
}

/* A message that holds itself: the only way to nest without end. */
static const wf_pb_field loop_f[] = {
    {1, WF_PB_MSG, 0, "child", NULL},
    {2, WF_PB_STRING, 0, "s", NULL},
};
static wf_pb_field loop_fields[2];
static wf_pb_msg loop_m = {"Loop", loop_fields, 2};

static pbw nested(size_t levels)
{
	pbw w = {0};
	w_str(&w, 2, "leaf");
	for (size_t i = 1; i < levels; i++) {
		pbw outer = {0};
		w_msg(&outer, 1, &w);
		w = outer;
	}
	return w;
}

static void test_deep_nesting(void **state)
{
	memcpy(loop_fields, loop_f, sizeof loop_f);
	loop_fields[0].sub = &loop_m;
	json_t *out = NULL;
	wf_err err = {0};
	pbw w = nested(WF_PB_MAX_DEPTH);
	assert_int_equal(wf_pb_decode_message(&loop_m, w.p, w.n, &out, &err), 0);
	json_t *v = out;
	for (int i = 1; i < WF_PB_MAX_DEPTH; i++)
		v = json_object_get(v, "child");
	assert_string_equal(json_string_value(json_object_get(v, "s")), "leaf");
	json_decref(out);
	free(w.p);

	static const size_t too_deep[] = {WF_PB_MAX_DEPTH + 1, 10000};
	for (size_t i = 0; i < 2; i++) {
		w = nested(too_deep[i]);
		out = SENTINEL;
		assert_int_equal(wf_pb_decode_message(&loop_m, w.p, w.n, &out, &err), -WF_EINVAL);
		assert_non_null(strstr(err.msg, "messages nested deeper than 64"));
		assert_ptr_equal(out, SENTINEL);
		free(w.p);
	}

	/* 10,000 levels of field 1 inside real kinds: refused at the first level
	 * the schema cannot nest, never by recursing 10,000 times */
	static const char *const kinds[][2] = {
	    {"v1", "Pod"}, {"batch/v1", "Job"}, {"v1", "Namespace"}, {"v1", "Node"}};
	for (size_t i = 0; i < 4; i++) {
		pbw raw = nested(10000);
		pbw b = envelope(kinds[i][0], kinds[i][1], &raw);
		out = SENTINEL;
		int rc = wf_pb_decode_object(b.p, b.n, NULL, NULL, &out, &err);
		assert_int_equal(rc, -WF_EINVAL);
		assert_ptr_equal(out, SENTINEL);
		free(b.p);
	}
}

static void test_value_budget(void **state)
{
	/* Container.command with WF_PB_MAX_NODES + 1 empty strings */
	static const wf_pb_field f[] = {{3, WF_PB_STRING, WF_PB_REP, "command", NULL}};
	static const wf_pb_msg m = {"Many", f, 1};
	size_t n = WF_PB_MAX_NODES + 1;
	uint8_t *buf = malloc(2 * n);
	assert_non_null(buf);
	for (size_t i = 0; i < n; i++) {
		buf[2 * i] = 0x1a;
		buf[2 * i + 1] = 0;
	}
	json_t *out = SENTINEL;
	wf_err err = {0};
	assert_int_equal(wf_pb_decode_message(&m, buf, 2 * n, &out, &err), -WF_EINVAL);
	assert_non_null(strstr(err.msg, "more than 1000000 values"));
	assert_ptr_equal(out, SENTINEL);
	/* one fewer is fine */
	assert_int_equal(wf_pb_decode_message(&m, buf, 2 * (n - 1), &out, &err), 0);
	assert_int_equal(json_array_size(json_object_get(out, "command")), n - 1);
	json_decref(out);
	free(buf);
}

/* Every prefix of every captured body, and byte flips at every offset:
 * decodes or fails cleanly, never crashes, never leaks. */
static void test_truncations_and_flips(void **state)
{
	static const uint8_t flips[] = {0x00, 0xff, 0x80, 0x7f, 0x01};
	for (size_t i = 0; i < NCAPTURED; i++) {
		pbw b = w_hex(CAPTURED[i].hex);
		size_t ok = 0;
		for (size_t len = 0; len < b.n; len++) {
			json_t *out = SENTINEL;
			wf_err err = {0};
			int rc = wf_pb_decode_object(b.p, len, CAPTURED[i].api_version,
						     CAPTURED[i].kind, &out, &err);
			if (rc == 0) {
				assert_true(json_is_object(out));
				json_decref(out);
				ok++;
			} else {
				assert_int_equal(rc, -WF_EINVAL);
				assert_ptr_equal(out, SENTINEL);
				assert_true(err.msg[0] != '\0');
			}
		}
		/* only cuts that drop whole trailing envelope fields can decode */
		assert_true(ok <= 4);
		for (size_t off = 0; off < b.n; off++) {
			uint8_t keep = b.p[off];
			for (size_t k = 0; k < sizeof flips; k++) {
				b.p[off] = flips[k];
				json_t *out = SENTINEL;
				wf_err err = {0};
				int rc = wf_pb_decode_object(b.p, b.n, NULL, NULL, &out, &err);
				if (rc == 0)
					json_decref(out);
				else
					assert_true(rc == -WF_EINVAL || rc == -WF_ENOTSUP);
			}
			b.p[off] = keep;
		}
		free(b.p);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_kubectl_bodies),
	    cmocka_unit_test(test_kind_checks),
	    cmocka_unit_test(test_schema_find),
	    cmocka_unit_test(test_scalars_and_zeros),
	    cmocka_unit_test(test_maps_and_bytes),
	    cmocka_unit_test(test_special_types),
	    cmocka_unit_test(test_pod_and_inline),
	    cmocka_unit_test(test_packed_int32),
	    cmocka_unit_test(test_unknown_fields),
	    cmocka_unit_test(test_wire_types),
	    cmocka_unit_test(test_strings),
	    cmocka_unit_test(test_envelope),
	    cmocka_unit_test(test_lengths_and_varints),
	    cmocka_unit_test(test_deep_nesting),
	    cmocka_unit_test(test_value_budget),
	    cmocka_unit_test(test_truncations_and_flips),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
