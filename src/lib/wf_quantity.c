/*
 * wf_quantity.c - parsing and formatting of Kubernetes resource quantities.
 *
 * Parsing has two steps. wf__qlex() scans the string exactly as
 * apimachinery's parseQuantityString() does (so the same inputs fail with
 * the same message) and interprets the suffix as a power of 10 or of 2.
 * wf__qscale() then computes ceil(|digits * 10^e10 * 2^e2|) at the target
 * unit with integer arithmetic only: the integer digits accumulate with
 * overflow checks, and the fraction digits are multiplied by 2^e2 as a
 * decimal digit string, which yields the carry into the integer part and
 * whether anything is left over (which rounds the magnitude up). Input of
 * any length is handled in one pass without allocation.
 */
#include "lib/wf_quantity.h"

#include <stdio.h>
#include <string.h>

#define WF__Q_FORMAT_MSG                                                                           \
	"quantities must match the regular expression "                                            \
	"'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
#define WF__Q_SUFFIX_MSG "unable to parse quantity's suffix"
#define WF__Q_NUMERIC_MSG "unable to parse numeric part of quantity"

/* Exponents beyond this are clamped: with at least one non-zero digit the
 * value is then either far too large or far below one unit either way. */
#define WF__Q_EXP_CLAMP (1LL << 40)

typedef struct wf__qlex {
	bool neg;
	const char *num; /* integer-part digits, as written */
	size_t nnum;
	const char *frac; /* fraction digits */
	size_t nfrac;
	long long e10; /* power of ten from the suffix (clamped) */
	unsigned e2;   /* power of two from a binary suffix: 0, 10, ..., 60 */
} wf__qlex;

static bool wf__isdigit(char c)
{
	return c >= '0' && c <= '9';
}

/* strconv.ParseInt(s, 10, 64) on s[0..n): optional sign, then one or more
 * digits and nothing else. Returns false on syntax error or overflow. */
static bool wf__parse_int64(const char *s, size_t n, long long *out)
{
	size_t i = 0;
	bool neg = false;
	if (i < n && (s[i] == '+' || s[i] == '-'))
		neg = s[i++] == '-';
	if (i == n)
		return false;
	unsigned long long v = 0;
	const unsigned long long lim = neg ? (unsigned long long)INT64_MAX + 1 : INT64_MAX;
	for (; i < n; i++) {
		if (!wf__isdigit(s[i]))
			return false;
		unsigned d = (unsigned)(s[i] - '0');
		if (v > (lim - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = neg ? (long long)(0 - v) : (long long)v;
	return true;
}

static bool wf__interpret_suffix(const char *s, size_t n, wf__qlex *q)
{
	static const struct {
		char name[3];
		signed char e10;
		unsigned char e2;
	} table[] = {
	    {"", 0, 0},	   {"n", -9, 0},  {"u", -6, 0},	 {"m", -3, 0},
	    {"k", 3, 0},   {"M", 6, 0},	  {"G", 9, 0},	 {"T", 12, 0},
	    {"P", 15, 0},  {"E", 18, 0},  {"Ki", 0, 10}, {"Mi", 0, 20},
	    {"Gi", 0, 30}, {"Ti", 0, 40}, {"Pi", 0, 50}, {"Ei", 0, 60},
	};
	for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
		if (strlen(table[i].name) == n && memcmp(table[i].name, s, n) == 0) {
			q->e10 = table[i].e10;
			q->e2 = table[i].e2;
			return true;
		}
	}
	long long e;
	if (n > 1 && (s[0] == 'e' || s[0] == 'E') && wf__parse_int64(s + 1, n - 1, &e)) {
		if (e > WF__Q_EXP_CLAMP)
			e = WF__Q_EXP_CLAMP;
		if (e < -WF__Q_EXP_CLAMP)
			e = -WF__Q_EXP_CLAMP;
		q->e10 = e;
		q->e2 = 0;
		return true;
	}
	return false;
}

static int wf__qlex_parse(const char *s, wf__qlex *q, wf_err *err)
{
	static const char suffix_chars[] = "eEinumkKMGTP";
	size_t pos = 0;

	memset(q, 0, sizeof *q);
	if (*s == '\0')
		return wf_err_set(err, WF_EINVAL, WF__Q_FORMAT_MSG);
	if (s[pos] == '+' || s[pos] == '-')
		q->neg = s[pos++] == '-';
	q->num = s + pos;
	while (wf__isdigit(s[pos]))
		pos++;
	q->nnum = (size_t)(s + pos - q->num);
	if (s[pos] == '.') {
		pos++;
		q->frac = s + pos;
		while (wf__isdigit(s[pos]))
			pos++;
		q->nfrac = (size_t)(s + pos - q->frac);
	}

	size_t suffix_start = pos;
	while (s[pos] != '\0' && strchr(suffix_chars, s[pos]))
		pos++;
	if (s[pos] == '+' || s[pos] == '-')
		pos++;
	while (wf__isdigit(s[pos]))
		pos++;
	if (s[pos] != '\0')
		return wf_err_set(err, WF_EINVAL, WF__Q_FORMAT_MSG);
	if (!wf__interpret_suffix(s + suffix_start, pos - suffix_start, q))
		return wf_err_set(err, WF_EINVAL, WF__Q_SUFFIX_MSG);
	/* Kubernetes reads some quantities without digits as 0 ("-", ".", "Gi")
	 * and rejects others ("Ei", "e-30") with this message; we reject all. */
	if (q->nnum + q->nfrac == 0)
		return wf_err_set(err, WF_EINVAL, WF__Q_NUMERIC_MSG);
	return 0;
}

/* Digit i of the concatenation num ++ frac. */
static unsigned wf__qdigit(const wf__qlex *q, size_t i)
{
	char c = i < q->nnum ? q->num[i] : q->frac[i - q->nnum];
	return (unsigned)(c - '0');
}

/* ceil(|value| * 10^shift) into *out; false when it exceeds INT64_MAX. */
static bool wf__qscale(const wf__qlex *q, int shift, uint64_t *out)
{
	size_t len = q->nnum + q->nfrac;
	size_t z = 0;
	while (z < len && wf__qdigit(q, z) == 0)
		z++;
	if (z == len) {
		*out = 0;
		return true;
	}
	/* Significant digits are d[z..len); `point` of them are integral
	 * (point may be negative or exceed the digit count). */
	long long point = (long long)q->nnum - (long long)z + q->e10 + shift;
	long long nsig = (long long)(len - z);
	if (point > 19)
		return false;
	if (point <= -19) {
		/* Below 10^-19 * 2^60 < 1 unit: only the round-up remains. */
		*out = 1;
		return true;
	}

	uint64_t ipart = 0;
	for (long long i = 0; i < point; i++) {
		unsigned d = i < nsig ? wf__qdigit(q, z + (size_t)i) : 0;
		ipart = ipart * 10 + d; /* point <= 19 digits: fits in uint64 */
	}

	/* Fraction: (-point) implicit zeros, then d[z + max(point,0) .. len).
	 * Multiply it by 2^e2 from the least significant digit up. */
	uint64_t mult = (uint64_t)1 << q->e2;
	uint64_t carry = 0;
	bool rest = false;
	long long first = point > 0 ? point : 0;
	for (long long i = nsig - 1; i >= first; i--) {
		uint64_t x = wf__qdigit(q, z + (size_t)i) * mult + carry;
		rest |= x % 10 != 0;
		carry = x / 10;
	}
	/* The implicit leading zeros only shift the carry down. */
	for (long long i = point; i < 0; i++) {
		rest |= carry % 10 != 0;
		carry /= 10;
	}

	uint64_t r;
	if (__builtin_mul_overflow(ipart, mult, &r) || __builtin_add_overflow(r, carry, &r) ||
	    __builtin_add_overflow(r, (uint64_t)rest, &r) || r > (uint64_t)INT64_MAX)
		return false;
	*out = r;
	return true;
}

static int wf__quantity_parse_at(const char *s, int shift, const char *unit, int64_t *out,
				 wf_err *err)
{
	wf__qlex q;
	s = s ? s : "";
	int rc = wf__qlex_parse(s, &q, err);
	if (rc < 0)
		return rc;
	uint64_t mag;
	if (!wf__qscale(&q, shift, &mag))
		return wf_err_set(
		    err, WF_EINVAL,
		    "quantity is too large: %.64s%s (at most 9223372036854775807%s is "
		    "supported)",
		    s, strlen(s) > 64 ? "..." : "", unit);
	*out = q.neg ? -(int64_t)mag : (int64_t)mag;
	return 0;
}

int wf_quantity_parse(const char *s, int64_t *milli_out, wf_err *err)
{
	return wf__quantity_parse_at(s, 3, "m", milli_out, err);
}

int wf_quantity_parse_value(const char *s, int64_t *value_out, wf_err *err)
{
	return wf__quantity_parse_at(s, 0, "", value_out, err);
}

bool wf_quantity_valid(const char *s)
{
	int64_t v;
	return wf_quantity_parse(s, &v, NULL) == 0;
}

char *wf_quantity_format_milli(int64_t milli, char *buf, unsigned len)
{
	if (len == 0)
		return buf;
	if (milli % 1000 == 0)
		snprintf(buf, len, "%lld", (long long)(milli / 1000));
	else
		snprintf(buf, len, "%lldm", (long long)milli);
	return buf;
}
