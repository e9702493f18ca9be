/*
 * test_quantity.c - unit tests for wf_quantity: Kubernetes quantity parsing
 * (valid forms, exact rounding, every error class with its message, hostile
 * and oversized input) and canonical formatting.
 *
 * Expected values were computed with exact rational arithmetic, independently
 * of the implementation.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/wf_mem.h"
#include "lib/wf_quantity.h"

#define MSG_FORMAT                                                                                 \
	"quantities must match the regular expression "                                            \
	"'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
#define MSG_SUFFIX "unable to parse quantity's suffix"
#define MSG_NUMERIC "unable to parse numeric part of quantity"
#define MSG_BIG_PREFIX "quantity is too large: "

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

struct ok_case {
	const char *in;
	int64_t milli;
};

static const struct ok_case ok_cases[] = {
    /* the brief's examples */
    {"500m", 500},
    {"4Gi", 4294967296000},
    {"1e3", 1000000},
    {"1.5", 1500},
    {"+2", 2000},
    {"0", 0},
    {"100M", 100000000000},
    {"2k", 2000000},
    {".5", 500},
    /* every suffix */
    {"1n", 1},
    {"1u", 1},
    {"1m", 1},
    {"1", 1000},
    {"1k", 1000000},
    {"1M", 1000000000},
    {"1G", 1000000000000},
    {"1T", 1000000000000000},
    {"1P", 1000000000000000000},
    {"1Ki", 1024000},
    {"1Mi", 1048576000},
    {"1Gi", 1073741824000},
    {"1Ti", 1099511627776000},
    {"1Pi", 1125899906842624000},
    {"8Pi", 9007199254740992000},
    {"1E-3", 1},
    {"1e0", 1000},
    {"1e+3", 1000000},
    {"2E6", 2000000000},
    {"1e03", 1000000},
    {"5e-1", 500},
    /* signs and zeros */
    {"-1", -1000},
    {"-500m", -500},
    {"-1.5Gi", -1610612736000},
    {"+.5", 500},
    {"-0", 0},
    {"+0", 0},
    {"0m", 0},
    {"0.0", 0},
    {"0.000Gi", 0},
    {"00010", 10000},
    {"0e99", 0},
    {"000.000", 0},
    {"1.", 1000},
    {"5.Gi", 5368709120000},
    {"1.e3", 1000000},
    /* exact fractions */
    {"0.1", 100},
    {"1.5Gi", 1610612736000},
    {"0.5Ki", 512000},
    {"0.1Ki", 102400},
    {"1.1Mi", 1153433600},
    {"0.001Ki", 1024},
    {"123.456789e-2", 1235},
    {"1.0001", 1001},
    {"1.000", 1000},
    {"100000000000000000000000e-20", 1000000},
    /* sub-milli rounds away from zero */
    {"999u", 1},
    {"1001u", 2},
    {"1.5m", 2},
    {"0.0001", 1},
    {"-0.0001", -1},
    {"0.5n", 1},
    {"1e-100", 1},
    {"-1e-100", -1},
    {"1e-9223372036854775808", 1},
    {"3.3333333333333333333333333333333", 3334},
    {"1.23456789012345678901234567890Ki", 1264198},
    {"0.000000000000000001Ei", 1153},
    {"0.000000000000000000001Ei", 2},
    /* limits */
    {"9223372036854775807m", INT64_MAX},
    {"-9223372036854775807m", -INT64_MAX},
    {"9223372036854775.807", INT64_MAX},
    {"9223372036854775.8069", INT64_MAX},
};

static void test_parse_valid(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(ok_cases); i++) {
		int64_t v = 12345;
		wf_err err = {0};
		int rc = wf_quantity_parse(ok_cases[i].in, &v, &err);
		if (rc != 0 || v != ok_cases[i].milli) {
			print_error("case '%s': rc=%d value=%lld want %lld (%s)\n", ok_cases[i].in,
				    rc, (long long)v, (long long)ok_cases[i].milli, err.msg);
			fail();
		}
		assert_int_equal(err.code, 0);
		assert_true(wf_quantity_valid(ok_cases[i].in));
	}
}

struct bad_case {
	const char *in;
	const char *msg; /* exact, or prefix when it ends the too-large message */
};

static const struct bad_case bad_cases[] = {
    /* malformed */
    {"", MSG_FORMAT},
    {"abc", MSG_FORMAT},
    {"1.2.3", MSG_FORMAT},
    {"5 Gi", MSG_FORMAT},
    {" 5", MSG_FORMAT},
    {"5 ", MSG_FORMAT},
    {"5\n", MSG_FORMAT},
    {"1Gb", MSG_FORMAT},
    {"1..2", MSG_FORMAT},
    {"1,000", MSG_FORMAT},
    {"1_000", MSG_FORMAT},
    {"0x10", MSG_FORMAT},
    {"1e3.5", MSG_FORMAT},
    {"1e18m", MSG_FORMAT},
    {"1e-18Ki", MSG_FORMAT},
    {"1e+-3", MSG_FORMAT},
    {"NaN", MSG_FORMAT},
    {"Inf", MSG_FORMAT},
    {"\xd9\xa1", MSG_FORMAT},	   /* ARABIC-INDIC DIGIT ONE */
    {"1\xef\xbc\x90", MSG_FORMAT}, /* FULLWIDTH DIGIT ZERO */
    {"5Gi\xff", MSG_FORMAT},
    {"\xe2\x88\x9e", MSG_FORMAT}, /* infinity sign */
    /* no digits at all */
    {"-", MSG_NUMERIC},
    {"+", MSG_NUMERIC},
    {".", MSG_NUMERIC},
    {"-.", MSG_NUMERIC},
    {"Gi", MSG_NUMERIC},
    {"Ei", MSG_NUMERIC},
    {"m", MSG_NUMERIC},
    {"-Ki", MSG_NUMERIC},
    {".e3", MSG_NUMERIC},
    {"e-30", MSG_NUMERIC},
    /* well-formed but unknown suffix */
    {"1e", MSG_SUFFIX},
    {"1E+", MSG_SUFFIX},
    {"1e-", MSG_SUFFIX},
    {"1K", MSG_SUFFIX},
    {"1Kii", MSG_SUFFIX},
    {"1iK", MSG_SUFFIX},
    {"1i", MSG_SUFFIX},
    {"1mm", MSG_SUFFIX},
    {"1m3", MSG_SUFFIX},
    {"1-3", MSG_SUFFIX},
    {"1Ei3", MSG_SUFFIX},
    {"1ee3", MSG_SUFFIX},
    {"--1", MSG_SUFFIX},
    {"+-1", MSG_SUFFIX},
    {"-e", MSG_SUFFIX},
    {".K", MSG_SUFFIX},
    {"1e99999999999999999999", MSG_SUFFIX},
    {"0e99999999999999999999", MSG_SUFFIX},
    /* out of the milli range */
    {"99999999999999999999Ei", MSG_BIG_PREFIX},
    {"99999999999999999999", MSG_BIG_PREFIX},
    {"-99999999999999999999", MSG_BIG_PREFIX},
    {"9223372036854775808m", MSG_BIG_PREFIX},
    {"9223372036854775807", MSG_BIG_PREFIX},
    {"10P", MSG_BIG_PREFIX},
    {"9Pi", MSG_BIG_PREFIX},
    {"1E", MSG_BIG_PREFIX},
    {"1Ei", MSG_BIG_PREFIX},
    {"1e100", MSG_BIG_PREFIX},
    {"1e9223372036854775807", MSG_BIG_PREFIX},
};

static void test_parse_invalid(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(bad_cases); i++) {
		const struct bad_case *c = &bad_cases[i];
		int64_t v = 777;
		wf_err err = {0};
		int rc = wf_quantity_parse(c->in, &v, &err);
		bool prefix = strcmp(c->msg, MSG_BIG_PREFIX) == 0;
		bool msg_ok = prefix ? strncmp(err.msg, c->msg, strlen(c->msg)) == 0
				     : strcmp(err.msg, c->msg) == 0;
		if (rc != -WF_EINVAL || err.code != WF_EINVAL || !msg_ok || v != 777) {
			print_error("case '%s': rc=%d code=%d value=%lld msg='%s'\n", c->in, rc,
				    err.code, (long long)v, err.msg);
			fail();
		}
		assert_false(wf_quantity_valid(c->in));
		/* err may be NULL */
		assert_int_equal(wf_quantity_parse(c->in, &v, NULL), -WF_EINVAL);
	}
}

static void test_parse_null(void **state)
{
	(void)state;
	int64_t v = 5;
	wf_err err = {0};
	assert_int_equal(wf_quantity_parse(NULL, &v, &err), -WF_EINVAL);
	assert_string_equal(err.msg, MSG_FORMAT);
	assert_int_equal(v, 5);
	assert_false(wf_quantity_valid(NULL));
}

static void test_too_large_message(void **state)
{
	(void)state;
	int64_t v;
	wf_err err = {0};
	assert_int_equal(wf_quantity_parse("10P", &v, &err), -WF_EINVAL);
	assert_string_equal(
	    err.msg, "quantity is too large: 10P (at most 9223372036854775807m is supported)");
}

struct value_case {
	const char *in;
	int rc;
	int64_t value;
};

static const struct value_case value_cases[] = {
    {"500m", 0, 1},
    {"1500m", 0, 2},
    {"-500m", 0, -1},
    {"1", 0, 1},
    {"0", 0, 0},
    {"4Gi", 0, 4294967296},
    {"1Ei", 0, 1152921504606846976},
    {"7Ei", 0, 8070450532247928832},
    {"0.7Ei", 0, 807045053224792884},
    {"1E", 0, 1000000000000000000},
    {"10P", 0, 10000000000000000},
    {"9223372036854775807", 0, INT64_MAX},
    {"-9223372036854775807", 0, -INT64_MAX},
    {"0.1Ki", 0, 103},
    {"1n", 0, 1},
    {"9223372036854775808", -WF_EINVAL, 0},
    {"8Ei", -WF_EINVAL, 0},
    {"1e19", -WF_EINVAL, 0},
    {"1Gb", -WF_EINVAL, 0},
    {"", -WF_EINVAL, 0},
};

static void test_parse_value(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(value_cases); i++) {
		const struct value_case *c = &value_cases[i];
		int64_t v = 0;
		wf_err err = {0};
		int rc = wf_quantity_parse_value(c->in, &v, &err);
		if (rc != c->rc || (rc == 0 && v != c->value)) {
			print_error("case '%s': rc=%d value=%lld (%s)\n", c->in, rc, (long long)v,
				    err.msg);
			fail();
		}
	}
}

static char *repeat(char c, size_t n)
{
	char *s = wf_xmalloc(n + 1);
	memset(s, c, n);
	s[n] = '\0';
	return s;
}

static void test_hostile_long_input(void **state)
{
	(void)state;
	const size_t n = 10000;
	int64_t v;
	wf_err err;
	wf_buf b;

	/* 10k nines: far too large, message echoes only a prefix */
	char *s = repeat('9', n);
	assert_int_equal(wf_quantity_parse(s, &v, &err), -WF_EINVAL);
	assert_true(strncmp(err.msg, MSG_BIG_PREFIX, strlen(MSG_BIG_PREFIX)) == 0);
	assert_non_null(strstr(err.msg, "...")); /* input was shortened */
	assert_true(strlen(err.msg) < 200);
	free(s);

	/* 10k zeros: zero */
	s = repeat('0', n);
	assert_int_equal(wf_quantity_parse(s, &v, NULL), 0);
	assert_int_equal(v, 0);
	free(s);

	/* 10k leading zeros, then 1 */
	wf_buf_init(&b);
	s = repeat('0', n);
	wf_buf_puts(&b, s);
	wf_buf_puts(&b, "1Ki");
	assert_int_equal(wf_quantity_parse(b.data, &v, NULL), 0);
	assert_int_equal(v, 1024000);
	wf_buf_free(&b);

	/* 0.<10k zeros>1: tiny but non-zero, rounds up to 1m */
	wf_buf_puts(&b, "0.");
	wf_buf_puts(&b, s);
	wf_buf_puts(&b, "1");
	assert_int_equal(wf_quantity_parse(b.data, &v, NULL), 0);
	assert_int_equal(v, 1);
	wf_buf_free(&b);

	/* 1.<10k zeros>: exactly one */
	wf_buf_puts(&b, "1.");
	wf_buf_puts(&b, s);
	assert_int_equal(wf_quantity_parse(b.data, &v, NULL), 0);
	assert_int_equal(v, 1000);
	wf_buf_free(&b);

	/* 1<10k zeros>e-10000: exactly one */
	wf_buf_puts(&b, "1");
	wf_buf_puts(&b, s);
	wf_buf_puts(&b, "e-10000");
	assert_int_equal(wf_quantity_parse(b.data, &v, NULL), 0);
	assert_int_equal(v, 1000);
	wf_buf_free(&b);
	free(s);

	/* 10k letters, 10k blanks after a number, 10k bytes of UTF-8 */
	s = repeat('a', n);
	assert_int_equal(wf_quantity_parse(s, &v, &err), -WF_EINVAL);
	assert_string_equal(err.msg, MSG_FORMAT);
	free(s);
	s = repeat(' ', n);
	s[0] = '1';
	assert_int_equal(wf_quantity_parse(s, &v, &err), -WF_EINVAL);
	assert_string_equal(err.msg, MSG_FORMAT);
	free(s);
	s = repeat('\xc3', n);
	for (size_t i = 1; i < n; i += 2)
		s[i] = '\xa9';
	assert_int_equal(wf_quantity_parse(s, &v, &err), -WF_EINVAL);
	assert_string_equal(err.msg, MSG_FORMAT);
	free(s);

	/* a 10k-character suffix */
	s = repeat('i', n);
	s[0] = '1';
	assert_int_equal(wf_quantity_parse(s, &v, &err), -WF_EINVAL);
	assert_string_equal(err.msg, MSG_SUFFIX);
	free(s);
}

struct fmt_case {
	int64_t milli;
	const char *out;
};

static const struct fmt_case fmt_cases[] = {
    {0, "0"},
    {1000, "1"},
    {500, "500m"},
    {1, "1m"},
    {-500, "-500m"},
    {1500, "1500m"},
    {-3000, "-3"},
    {4294967296000, "4294967296"},
    {INT64_MAX, "9223372036854775807m"},
    {INT64_MIN, "-9223372036854775808m"},
    {-9223372036854775000, "-9223372036854775"},
};

static void test_format(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(fmt_cases); i++) {
		char buf[WF_QUANTITY_FMT_MAX];
		assert_ptr_equal(wf_quantity_format_milli(fmt_cases[i].milli, buf, sizeof buf),
				 buf);
		assert_string_equal(buf, fmt_cases[i].out);
		assert_true(strlen(buf) < WF_QUANTITY_FMT_MAX);
	}
}

static void test_format_small_buffer(void **state)
{
	(void)state;
	char buf[8];
	memset(buf, 'x', sizeof buf);
	wf_quantity_format_milli(1500, buf, 3);
	assert_string_equal(buf, "15");
	assert_int_equal(buf[3], 'x');

	memset(buf, 'x', sizeof buf);
	wf_quantity_format_milli(1500, buf, 0);
	assert_int_equal(buf[0], 'x');

	wf_quantity_format_milli(7000, buf, 1);
	assert_string_equal(buf, "");
}

static void test_round_trip(void **state)
{
	(void)state;
	static const int64_t vals[] = {0,      1,    -1,    999,       1000,	   1001,   -1001,
				       123456, 5000, -5000, INT64_MAX, -INT64_MAX, 1 << 30};
	for (size_t i = 0; i < NELEM(vals); i++) {
		char buf[WF_QUANTITY_FMT_MAX];
		int64_t back = 0;
		wf_quantity_format_milli(vals[i], buf, sizeof buf);
		assert_int_equal(wf_quantity_parse(buf, &back, NULL), 0);
		assert_int_equal(back, vals[i]);
	}
	/* parse canonicalises: every ok case survives format -> parse */
	for (size_t i = 0; i < NELEM(ok_cases); i++) {
		char buf[WF_QUANTITY_FMT_MAX];
		int64_t back = 0;
		wf_quantity_format_milli(ok_cases[i].milli, buf, sizeof buf);
		assert_int_equal(wf_quantity_parse(buf, &back, NULL), 0);
		assert_int_equal(back, ok_cases[i].milli);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_valid), cmocka_unit_test(test_parse_invalid),
	    cmocka_unit_test(test_parse_null),	cmocka_unit_test(test_too_large_message),
	    cmocka_unit_test(test_parse_value), cmocka_unit_test(test_hostile_long_input),
	    cmocka_unit_test(test_format),	cmocka_unit_test(test_format_small_buffer),
	    cmocka_unit_test(test_round_trip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
