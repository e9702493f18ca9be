/*
 * test_time.c - RFC 3339 formatting and parsing, Kubernetes' human
 * durations (every threshold), and the clock.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/wf_err.h"
#include "lib/wf_time.h"

static void test_format(void **state)
{
	char buf[32];
	wf_time_rfc3339(0, buf);
	assert_string_equal(buf, "1970-01-01T00:00:00Z");
	wf_time_rfc3339(1795330358, buf);
	assert_string_equal(buf, "2026-11-22T06:52:38Z");
	wf_time_rfc3339(951782400, buf); /* leap day */
	assert_string_equal(buf, "2000-02-29T00:00:00Z");
	wf_time_rfc3339(-1, buf);
	assert_string_equal(buf, "1969-12-31T23:59:59Z");
	wf_time_rfc3339(-62135596800, buf);
	assert_string_equal(buf, "0001-01-01T00:00:00Z");
}

static void test_format_clamps(void **state)
{
	char buf[32];
	wf_time_rfc3339((time_t)INT64_MAX, buf);
	assert_string_equal(buf, "9999-12-31T23:59:59Z");
	wf_time_rfc3339((time_t)INT64_MIN, buf);
	assert_string_equal(buf, "0000-01-01T00:00:00Z");
	wf_time_rfc3339((time_t)253402300800, buf);
	assert_string_equal(buf, "9999-12-31T23:59:59Z");
}

static void test_format_micro(void **state)
{
	char buf[40];
	struct timespec ts = {.tv_sec = 1795329513, .tv_nsec = 123456789};
	wf_time_rfc3339_micro(&ts, buf);
	assert_string_equal(buf, "2026-11-22T06:38:33.123456Z");
	ts.tv_nsec = 0;
	wf_time_rfc3339_micro(&ts, buf);
	assert_string_equal(buf, "2026-11-22T06:38:33.000000Z");
	ts.tv_nsec = 999;
	wf_time_rfc3339_micro(&ts, buf);
	assert_string_equal(buf, "2026-11-22T06:38:33.000000Z");
	ts.tv_nsec = -5;
	wf_time_rfc3339_micro(&ts, buf);
	assert_string_equal(buf, "2026-11-22T06:38:33.000000Z");
	ts.tv_nsec = 5000000000L;
	wf_time_rfc3339_micro(&ts, buf);
	assert_string_equal(buf, "2026-11-22T06:38:33.999999Z");
	ts.tv_sec = (time_t)INT64_MAX;
	ts.tv_nsec = 1000;
	wf_time_rfc3339_micro(&ts, buf);
	assert_string_equal(buf, "9999-12-31T23:59:59.000001Z");
}

static void test_parse_valid(void **state)
{
	static const struct {
		const char *s;
		int64_t want;
	} cases[] = {
	    {"2026-11-22T06:52:38Z", 1795330358},
	    {"2026-11-22t06:52:38z", 1795330358},
	    {"2026-11-22T06:52:38.123456Z", 1795330358},
	    {"2026-11-22T06:52:38.9Z", 1795330358},
	    {"2026-11-22T12:22:38+05:30", 1795330358},
	    {"2026-11-21T22:52:38-08:00", 1795330358},
	    {"2026-11-22T06:52:38.5+00:00", 1795330358},
	    {"2026-11-22T06:52:38-00:00", 1795330358},
	    {"1970-01-01T00:00:00Z", 0},
	    {"1969-12-31T23:59:59Z", -1},
	    {"2000-02-29T00:00:00Z", 951782400},
	    {"2024-02-29T23:59:59Z", 1709251199},
	    {"0001-01-01T00:00:00Z", -62135596800},
	    {"0000-01-01T00:00:00Z", -62167219200},
	    {"9999-12-31T23:59:59Z", 253402300799},
	    {"2026-01-01T00:00:00+23:59", 1767139260},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		time_t t = 42;
		assert_int_equal(wf_time_parse_rfc3339(cases[i].s, &t), 0);
		assert_int_equal((int64_t)t, cases[i].want);
	}
}

static void test_parse_invalid(void **state)
{
	static const char *bad[] = {
	    "",
	    "2026-11-22",
	    "2026-11-22T06:52:38",	/* no zone */
	    "2026-11-22T06:52:38.Z",	/* empty fraction */
	    "2026-11-22T06:52:38.123",	/* fraction, no zone */
	    "2026-11-22 06:52:38Z",	/* space for T */
	    " 2026-11-22T06:52:38Z",	/* leading space */
	    "2026-11-22T06:52:38Z ",	/* trailing space */
	    "2026-11-22T06:52:38Zjunk", /* trailing junk */
	    "2026-13-01T00:00:00Z",	/* month */
	    "2026-00-01T00:00:00Z",
	    "2026-11-00T00:00:00Z", /* day */
	    "2026-11-31T00:00:00Z",
	    "2023-02-29T00:00:00Z",	 /* not a leap year */
	    "1900-02-29T00:00:00Z",	 /* century, not leap */
	    "2026-11-22T24:00:00Z",	 /* hour */
	    "2026-11-22T06:60:00Z",	 /* minute */
	    "2026-11-22T06:52:60Z",	 /* leap second, as Go */
	    "2026-11-22T06:52:38+24:00", /* offset hour */
	    "2026-11-22T06:52:38+05:60",
	    "2026-11-22T06:52:38+0530",
	    "2026-11-22T06:52:38+05",
	    "2026-11-22T06:52:38+05:3",
	    "2026-11-22T6:52:38Z", /* short fields */
	    "26-11-22T06:52:38Z",
	    "12026-11-22T06:52:38Z",
	    "-2026-11-22T06:52:38Z",
	    "2026/11/22T06:52:38Z",
	    "2026-11-22T06-52-38Z",
	    "２026-11-22T06:52:38Z", /* non-ASCII digit */
	    "2026-1a-22T06:52:38Z",
	    "2026-11-22T06:52:38.12a4Z",
	    "Z",
	    "T",
	    "null",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		time_t t = 42;
		assert_int_equal(wf_time_parse_rfc3339(bad[i], &t), -WF_EINVAL);
		assert_int_equal((int64_t)t, 42);
	}
	time_t t = 42;
	assert_int_equal(wf_time_parse_rfc3339(NULL, &t), -WF_EINVAL);
	assert_int_equal((int64_t)t, 42);
}

static void test_parse_long_fraction(void **state)
{
	size_t n = 100000;
	char *s = malloc(n + 32);
	assert_non_null(s);
	strcpy(s, "2026-11-22T06:52:38.");
	size_t at = strlen(s);
	memset(s + at, '7', n);
	strcpy(s + at + n, "Z");
	time_t t = 0;
	assert_int_equal(wf_time_parse_rfc3339(s, &t), 0);
	assert_int_equal((int64_t)t, 1795330358);
	/* a huge string of garbage */
	memset(s, '9', n + 31);
	s[n + 31] = '\0';
	assert_int_equal(wf_time_parse_rfc3339(s, &t), -WF_EINVAL);
	free(s);
}

/* Format and parse back across the whole range, and agree with gmtime_r. */
static void test_roundtrip(void **state)
{
	uint64_t x = 88172645463325252ULL;
	for (int i = 0; i < 20000; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		int64_t t =
		    (int64_t)(x % (uint64_t)(253402300799LL + 62167219201LL)) - 62167219200LL;
		char buf[32];
		time_t back = 0;
		wf_time_rfc3339((time_t)t, buf);
		assert_int_equal(wf_time_parse_rfc3339(buf, &back), 0);
		assert_int_equal((int64_t)back, t);

		struct tm tm;
		time_t tt = (time_t)t;
		assert_non_null(gmtime_r(&tt, &tm));
		char want[64];
		snprintf(want, sizeof(want), "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900,
			 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
		assert_string_equal(buf, want);
	}
}

static void test_human_duration(void **state)
{
	static const struct {
		int64_t s;
		const char *want;
	} cases[] = {
	    {INT64_MIN, "<invalid>"},
	    {-100, "<invalid>"},
	    {-2, "<invalid>"},
	    {-1, "0s"},
	    {0, "0s"},
	    {1, "1s"},
	    {5, "5s"},
	    {59, "59s"},
	    {60, "60s"},
	    {119, "119s"},
	    {120, "2m"},
	    {121, "2m1s"},
	    {200, "3m20s"},
	    {540, "9m"},
	    {599, "9m59s"},
	    {600, "10m"},
	    {659, "10m"},
	    {2700, "45m"},
	    {10799, "179m"},
	    {10800, "3h"},
	    {10860, "3h1m"},
	    {7380, "123m"}, /* under 3h Kubernetes stays in minutes */
	    {11580, "3h13m"},
	    {18000, "5h"},
	    {28799, "7h59m"},
	    {28800, "8h"},
	    {28860, "8h"},
	    {172799, "47h"},
	    {172800, "2d"},
	    {176400, "2d1h"},
	    {273600, "3d4h"},
	    {691199, "7d23h"},
	    {691200, "8d"},
	    {694800, "8d"},
	    {7776000, "90d"},
	    {63071999, "729d"},
	    {63072000, "2y"},
	    {63072000 + 30 * 86400, "2y30d"},
	    {252287999, "7y364d"},
	    {252288000, "8y"},
	    {315360000, "10y"},
	    {315360000 + 100 * 86400, "10y"},
	    {INT64_MAX, "292471208677y"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char buf[WF_TIME_DURATION_LEN];
		memset(buf, 'x', sizeof(buf));
		assert_ptr_equal(wf_time_human_duration(cases[i].s, buf, sizeof(buf)), buf);
		assert_string_equal(buf, cases[i].want);
	}
}

static void test_short_human_duration(void **state)
{
	static const struct {
		int64_t s;
		const char *want;
	} cases[] = {
	    {INT64_MIN, "<invalid>"},
	    {-2, "<invalid>"},
	    {-1, "0s"},
	    {0, "0s"},
	    {59, "59s"},
	    {60, "1m"},
	    {119, "1m"},
	    {3599, "59m"},
	    {3600, "1h"},
	    {86399, "23h"},
	    {86400, "1d"},
	    {364 * 86400 + 86399, "364d"},
	    {365 * 86400, "1y"},
	    {800 * 86400, "2y"},
	    {INT64_MAX, "292471208677y"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char buf[WF_TIME_DURATION_LEN];
		assert_ptr_equal(wf_time_short_human_duration(cases[i].s, buf, sizeof(buf)), buf);
		assert_string_equal(buf, cases[i].want);
	}
}

static void test_duration_small_buffers(void **state)
{
	char buf[4] = "abc";
	assert_ptr_equal(wf_time_human_duration(63072000 + 30 * 86400, buf, 3), buf);
	assert_string_equal(buf, "2y");
	assert_ptr_equal(wf_time_human_duration(5, buf, 0), buf);
	assert_string_equal(buf, "2y"); /* untouched */
	assert_ptr_equal(wf_time_short_human_duration(-5, buf, 1), buf);
	assert_string_equal(buf, "");
	assert_null(wf_time_human_duration(5, NULL, 10));
	assert_null(wf_time_short_human_duration(5, NULL, 10));
}

static void test_now_ms(void **state)
{
	int64_t a = wf_time_now_ms();
	time_t t = time(NULL);
	int64_t b = wf_time_now_ms();
	/* A sanity check of units, not of speed: milliseconds near time(). */
	assert_true(a > (int64_t)1600000000 * 1000);
	assert_true(a / 1000 <= (int64_t)t + 1);
	assert_true(b / 1000 >= (int64_t)t - 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_format),
	    cmocka_unit_test(test_format_clamps),
	    cmocka_unit_test(test_format_micro),
	    cmocka_unit_test(test_parse_valid),
	    cmocka_unit_test(test_parse_invalid),
	    cmocka_unit_test(test_parse_long_fraction),
	    cmocka_unit_test(test_roundtrip),
	    cmocka_unit_test(test_human_duration),
	    cmocka_unit_test(test_short_human_duration),
	    cmocka_unit_test(test_duration_small_buffers),
	    cmocka_unit_test(test_now_ms),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
