/*
 * test_informer_pack.c - what the informer cache is built from: the packed
 * JSON encoding (jpack.h) gives back exactly what was encoded, in far fewer
 * bytes, and rejects malformed, truncated and hostile bytes without
 * reading past them; the inline-value string map (smap.h) keeps its
 * entries, keys and iteration straight through growth and deletion.
 */
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "controllers/jpack.h"
#include "lib/wf_smap.h"
#include "lib/wf_mem.h"

/* ---- helpers ------------------------------------------------------------------------- */

/* Encode, decode, and check the result is equal, keys in the same order
 * (the text compared: jansson's json_equal looks keys up as C strings). */
static size_t roundtrip_as(const json_t *v, bool nul_keys)
{
	size_t len = 0;
	unsigned char *buf = wf_jpack_encode(v, &len);
	assert_non_null(buf);
	assert_true(len > 0);
	json_t *back = wf_jpack_decode(buf, len);
	assert_non_null(back);
	if (!nul_keys)
		assert_true(json_equal(back, (json_t *)v));
	char *a = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
	char *b = json_dumps(back, JSON_ENCODE_ANY | JSON_COMPACT);
	assert_string_equal(a, b);
	free(a);
	free(b);
	json_decref(back);
	free(buf);
	return len;
}

static size_t roundtrip(const json_t *v)
{
	return roundtrip_as(v, false);
}

static void roundtrip_str(const char *s)
{
	json_t *v = json_string(s);
	roundtrip(v);
	json_t *o = json_object();
	json_object_set_new(o, s, json_integer(1)); /* the same string as a key */
	roundtrip(o);
	json_decref(o);
	json_decref(v);
}

static json_t *sample_pod(void)
{
	json_error_t e;
	json_t *p = json_loads(
	    "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"train-worker-3\","
	    "\"namespace\":\"team-a\",\"uid\":\"0c1150f9-c5ae-48bd-aadb-59a0b2761b2e\","
	    "\"resourceVersion\":\"123456\",\"creationTimestamp\":\"2026-11-22T11:02:14Z\","
	    "\"labels\":{\"batch.kubernetes.io/job-completion-index\":\"3\",\"app\":\"x\"},"
	    "\"finalizers\":[\"batch.kubernetes.io/job-tracking\"],\"ownerReferences\":[{"
	    "\"apiVersion\":\"batch/v1\",\"kind\":\"Job\",\"name\":\"train\",\"uid\":"
	    "\"131bdcd8-99c9-4b49-a7bf-d4ab4a239435\",\"controller\":true}]},\"spec\":{"
	    "\"nodeName\":\"gpu-node-0017\"},\"status\":{\"phase\":\"Running\",\"startTime\":"
	    "\"2026-11-22T11:02:15Z\",\"podIP\":\"10.0.3.17\",\"conditions\":[{\"type\":"
	    "\"PodScheduled\",\"status\":\"True\",\"lastTransitionTime\":\"2026-11-22T11:02:14Z\"},"
	    "{\"type\":\"Ready\",\"status\":\"True\",\"lastTransitionTime\":"
	    "\"2026-11-22T11:02:16Z\"}],\"containerStatuses\":[{\"name\":\"main\","
	    "\"restartCount\":0,\"state\":{\"terminated\":{\"exitCode\":137,\"finishedAt\":"
	    "\"2026-11-22T12:00:00Z\"}}}]}}",
	    0, &e);
	assert_non_null(p);
	return p;
}

/* ---- encoding ---------------------------------------------------------------------- */

static void test_roundtrip_values(void **state)
{
	json_t *pod = sample_pod();
	size_t packed = roundtrip(pod);
	char *text = json_dumps(pod, JSON_COMPACT);
	/* Well under half the compact text (uids, times and words shrink). */
	assert_true(packed * 2 < strlen(text));
	free(text);
	json_decref(pod);

	json_t *scalars =
	    json_pack("[n,b,b,I,I,I,I,f,f,f,f,s,{}, []]", 0, 1, (json_int_t)0, (json_int_t)-1,
		      (json_int_t)INT64_MAX, (json_int_t)INT64_MIN, 0.5, -1e300, 1e-300, -0.0, "");
	roundtrip(scalars);
	json_decref(scalars);

	/* Strings in every form, and just outside each short form. */
	static const char *const strs[] = {"0",
					   "00",
					   "01",
					   "7",
					   "123456",
					   "9999999999999999999",
					   "18446744073709551615",
					   "-1",
					   "1.5",
					   "+1",
					   " 1",
					   "0c1150f9-c5ae-48bd-aadb-59a0b2761b2e",
					   "0C1150F9-C5AE-48BD-AADB-59A0B2761B2E",
					   "0c1150f9c5ae-48bd-aadb-59a0b2761b2e-",
					   "0c1150f9-c5ae-48bd-aadb-59a0b2761b2",
					   "0c1150f9-c5ae-48bd-aadb-59a0b2761b2g",
					   "2026-11-22T11:02:14Z",
					   "1970-01-01T00:00:00Z",
					   "9999-12-31T23:59:59Z",
					   "1969-12-31T23:59:59Z",
					   "2024-02-29T00:00:00Z",
					   "2023-02-29T00:00:00Z",
					   "2024-02-30T00:00:00Z",
					   "2024-13-01T00:00:00Z",
					   "2024-01-01T24:00:00Z",
					   "2024-01-01T00:60:00Z",
					   "2024-01-01T00:00:60Z",
					   "2024-01-01T00:00:00.5Z",
					   "2024-01-01T00:00:00+00:00",
					   "2024-01-01 00:00:00Z",
					   "2024-1-01T00:00:00Z",
					   "True",
					   "true",
					   "status",
					   "Status",
					   "nvidia.com/gpu",
					   "héllo wörld ✓",
					   ""};
	for (size_t i = 0; i < sizeof strs / sizeof *strs; i++)
		roundtrip_str(strs[i]);

	/* Embedded NUL bytes, in values and keys. */
	json_t *nul = json_object();
	json_object_setn_new(nul, "a\0b", 3, json_stringn("x\0y", 3));
	json_object_set_new(nul, "a", json_stringn("\0", 1));
	roundtrip_as(nul, true);
	json_decref(nul);

	/* A long string and a wide object. */
	wf_buf b;
	wf_buf_init(&b);
	for (int i = 0; i < 100000; i++)
		wf_buf_putc(&b, (char)('a' + i % 26));
	json_t *wide = json_object();
	json_object_set_new(wide, "long", json_string(b.data));
	for (int i = 0; i < 5000; i++) {
		char k[32];
		snprintf(k, sizeof k, "k%d", i);
		json_object_set_new(wide, k, json_integer(i * 7919));
	}
	roundtrip(wide);
	json_decref(wide);
	wf_buf_free(&b);

	size_t len = 99;
	assert_null(wf_jpack_encode(NULL, &len));
	assert_int_equal(len, 0);
}

static json_t *nested(int depth)
{
	json_t *v = json_integer(1);
	for (int i = 0; i < depth; i++) {
		json_t *a = json_array();
		json_array_append_new(a, v);
		v = a;
	}
	return v;
}

static void test_depth_limit(void **state)
{
	json_t *ok = nested(WF_JPACK_MAX_DEPTH);
	roundtrip(ok);
	json_decref(ok);
	json_t *deep = nested(WF_JPACK_MAX_DEPTH + 1);
	size_t len = 1;
	assert_null(wf_jpack_encode(deep, &len));
	assert_int_equal(len, 0);
	json_decref(deep);
	/* Hand-made bytes nested past the limit are refused too. */
	size_t n = WF_JPACK_MAX_DEPTH + 10;
	unsigned char *buf = wf_xmalloc(2 * n + 2);
	for (size_t i = 0; i < n; i++) {
		buf[2 * i] = 0x07; /* array */
		buf[2 * i + 1] = 1;
	}
	buf[2 * n] = 0x00;
	assert_null(wf_jpack_decode(buf, 2 * n + 1));
	free(buf);
}

/* ---- hostile bytes ----------------------------------------------------------------- */

static void test_decode_rejects_malformed(void **state)
{
	json_t *pod = sample_pod();
	size_t len = 0;
	unsigned char *buf = wf_jpack_encode(pod, &len);
	/* Every truncation fails, and so does a trailing byte. */
	for (size_t i = 0; i < len; i++) {
		unsigned char *cut = wf_xmalloc(i ? i : 1);
		memcpy(cut, buf, i);
		assert_null(wf_jpack_decode(cut, i));
		free(cut);
	}
	unsigned char *longer = wf_xmalloc(len + 1);
	memcpy(longer, buf, len);
	longer[len] = 0x00;
	assert_null(wf_jpack_decode(longer, len + 1));
	free(longer);
	free(buf);
	json_decref(pod);

	assert_null(wf_jpack_decode(NULL, 4));
	static const unsigned char empty[1] = {0};
	assert_null(wf_jpack_decode(empty, 0));
	static const struct {
		unsigned char b[16];
		size_t n;
	} bad[] = {
	    {{0x0b}, 1}, /* unknown tags */
	    {{0x0f}, 1},
	    {{0xff}, 1}, /* a word past the table */
	    {{0x03, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01}, 12},
	    {{0x03, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02}, 11},
	    {{0x05, 0x05, 'a', 'b'}, 4},	       /* string longer than the bytes */
	    {{0x05, 0x02, 0xc3, 0x28}, 4},	       /* invalid UTF-8 */
	    {{0x07, 0xff, 0xff, 0xff, 0xff, 0x0f}, 6}, /* huge counts */
	    {{0x06, 0xff, 0xff, 0xff, 0xff, 0x0f}, 6},
	    {{0x06, 0x01, 0x00, 0x00}, 4},			   /* a key that is null */
	    {{0x06, 0x01, 0x06, 0x00, 0x00}, 5},		   /* a key that is an object */
	    {{0x06, 0x02, 0x15, 0x00, 0x15, 0x00}, 6},		   /* a duplicate key */
	    {{0x08, 1, 2, 3}, 4},				   /* short uid */
	    {{0x09, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, 8}, /* a time past 9999 */
	    {{0x0a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, 11},
	    {{0x04, 0, 0, 0, 0, 0, 0, 0xf8, 0x7f}, 9}, /* NaN */
	    {{0x04, 0, 0}, 3},
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		json_t *v = wf_jpack_decode(bad[i].b, bad[i].n);
		if (v)
			fail_msg("case %zu decoded", i);
	}
	/* A well-formed hand-made value decodes. */
	static const unsigned char good[] = {0x06, 0x01, 0x15, 0x05, 0x01, 'x'};
	json_t *v = wf_jpack_decode(good, sizeof good);
	assert_non_null(v);
	assert_string_equal(json_string_value(json_object_get(v, "name")), "x");
	json_decref(v);
}

/* Random and mutated bytes: never a crash or a read past the buffer (ASan
 * watches); whatever decodes encodes again. */
static void test_decode_fuzz(void **state)
{
	json_t *pod = sample_pod();
	size_t len = 0;
	unsigned char *seed = wf_jpack_encode(pod, &len);
	json_decref(pod);
	uint64_t x = 88172645463325252ULL;
	for (int round = 0; round < 60000; round++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		size_t n;
		unsigned char *b;
		if (round % 2) {
			n = len;
			b = wf_xmalloc(n);
			memcpy(b, seed, n);
			for (int k = 0; k < 1 + (int)(x % 4); k++)
				b[(x >> (8 + 8 * k)) % n] = (unsigned char)(x >> (16 + k));
		} else {
			n = 1 + x % 48;
			b = wf_xmalloc(n);
			uint64_t y = x;
			for (size_t i = 0; i < n; i++) {
				y = y * 6364136223846793005ULL + 1442695040888963407ULL;
				b[i] = (unsigned char)(y >> 56);
			}
		}
		json_t *v = wf_jpack_decode(b, n);
		if (v) {
			roundtrip_as(v, true); /* random keys may hold NUL bytes */
			json_decref(v);
		}
		free(b);
	}
	free(seed);
}

/* ---- smap ------------------------------------------------------------------------------ */

typedef struct val {
	int64_t n;
	char *owned;
} val;

static int fini_calls;

static void val_fini(void *p)
{
	free(((val *)p)->owned);
	fini_calls++;
}

static void test_smap(void **state)
{
	wf_smap m = {0};
	assert_null(wf_smap_get(&m, "x"));
	assert_null(wf_smap_get(&m, NULL));
	assert_false(wf_smap_del(&m, "x", NULL));
	assert_false(wf_smap_del(&m, NULL, NULL));
	wf_smap_iter it = {0};
	assert_null(wf_smap_next(&m, &it));

	enum { N = 20000 };
	for (int i = 0; i < N; i++) {
		char k[32];
		snprintf(k, sizeof k, "ns/pod-%d", i);
		val *v = wf_smap_add(&m, k, sizeof *v);
		assert_int_equal((uintptr_t)v % 8, 0);
		assert_int_equal(v->n, 0);
		assert_null(v->owned);
		v->n = i;
		v->owned = wf_xstrdup(k);
		assert_string_equal(wf_smap_key(v), k);
	}
	assert_int_equal(m.n, N);
	/* Values stayed put while the table grew. */
	for (int i = 0; i < N; i++) {
		char k[32];
		snprintf(k, sizeof k, "ns/pod-%d", i);
		val *v = wf_smap_get(&m, k);
		assert_non_null(v);
		assert_int_equal(v->n, i);
		assert_string_equal(v->owned, k);
	}
	fini_calls = 0;
	for (int i = 0; i < N; i += 2) {
		char k[32];
		snprintf(k, sizeof k, "ns/pod-%d", i);
		assert_true(wf_smap_del(&m, k, val_fini));
		assert_false(wf_smap_del(&m, k, val_fini));
	}
	assert_int_equal(fini_calls, N / 2);
	assert_int_equal(m.n, N / 2);
	size_t seen = 0;
	int64_t sum = 0;
	it = (wf_smap_iter){0};
	val *v;
	while ((v = wf_smap_next(&m, &it))) {
		assert_int_equal(v->n % 2, 1);
		assert_string_equal(wf_smap_key(v), v->owned);
		seen++;
		sum += v->n;
	}
	assert_int_equal(seen, N / 2);
	assert_int_equal(sum, (int64_t)(N / 2) * (N / 2));
	/* Removing the entry just returned keeps the iteration going: drop
	 * every value whose n is 1 mod 4, in one pass. */
	fini_calls = 0;
	seen = 0;
	it = (wf_smap_iter){0};
	while ((v = wf_smap_next(&m, &it))) {
		seen++;
		if (v->n % 4 == 1)
			wf_smap_remove(&m, v, val_fini);
	}
	assert_int_equal(seen, N / 2);
	assert_int_equal(fini_calls, N / 4);
	assert_int_equal(m.n, N / 4);
	for (int i = 1; i < N; i += 2) {
		char k[32];
		snprintf(k, sizeof k, "ns/pod-%d", i);
		val *g = wf_smap_get(&m, k);
		if (i % 4 == 1)
			assert_null(g);
		else
			assert_true(g && g->n == i);
	}
	/* Zero-sized values and odd sizes. */
	void *z = wf_smap_add(&m, "", 0);
	assert_non_null(z);
	assert_string_equal(wf_smap_key(z), "");
	unsigned char *odd = wf_smap_add(&m, "odd", 3);
	odd[0] = odd[1] = odd[2] = 0xff;
	assert_string_equal(wf_smap_key(odd), "odd");
	assert_true(wf_smap_del(&m, "", NULL));
	assert_true(wf_smap_del(&m, "odd", NULL));
	fini_calls = 0;
	wf_smap_clear(&m, val_fini);
	assert_int_equal(fini_calls, N / 4);
	assert_int_equal(m.n, 0);
	assert_null(wf_smap_get(&m, "ns/pod-1"));
	/* Reusable after clear. */
	v = wf_smap_add(&m, "again", sizeof *v);
	v->n = 7;
	assert_int_equal(((val *)wf_smap_get(&m, "again"))->n, 7);
	wf_smap_clear(&m, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_roundtrip_values),
	    cmocka_unit_test(test_depth_limit),
	    cmocka_unit_test(test_decode_rejects_malformed),
	    cmocka_unit_test(test_decode_fuzz),
	    cmocka_unit_test(test_smap),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
