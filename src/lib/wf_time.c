/*
 * wf_time.c - RFC 3339 formatting and parsing, human durations, the clock.
 *
 * Calendar arithmetic is done here on proleptic Gregorian dates in int64
 * rather than through timegm(), so parsing never depends on the C library's
 * time zone state and cannot overflow time_t for any accepted input
 * (years 0000..9999).
 */
#include "lib/wf_time.h"
#include "lib/wf_err.h"

#include <stdbool.h>
#include <stdio.h>

/* 0000-01-01T00:00:00Z and 9999-12-31T23:59:59Z */
#define WF__TIME_MIN ((int64_t)-62167219200)
#define WF__TIME_MAX ((int64_t)253402300799)

/* Days from 1970-01-01 to the given civil date (era-based: 400-year cycles
 * of 146097 days, years starting in March so the leap day comes last). */
static int64_t wf__days_from_civil(int64_t y, int m, int d)
{
	if (m <= 2)
		y -= 1;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t mp = m > 2 ? m - 3 : m + 9;
	int64_t doy = (153 * mp + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static bool wf__is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int wf__days_in_month(int64_t y, int m)
{
	static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	if (m == 2 && wf__is_leap(y))
		return 29;
	return days[m - 1];
}

static int64_t wf__clamp_time(int64_t t)
{
	if (t < WF__TIME_MIN)
		return WF__TIME_MIN;
	if (t > WF__TIME_MAX)
		return WF__TIME_MAX;
	return t;
}

/* Split a clamped time into date and time fields without gmtime(). */
static void wf__civil(int64_t t, int *y, int *mo, int *d, int *h, int *mi, int *s)
{
	int64_t days = t / 86400;
	int64_t secs = t % 86400;
	if (secs < 0) {
		secs += 86400;
		days -= 1;
	}
	*h = (int)(secs / 3600);
	*mi = (int)(secs / 60 % 60);
	*s = (int)(secs % 60);

	int64_t z = days + 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*mo = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = (int)(yoe + era * 400 + (*mo <= 2 ? 1 : 0));
}

void wf_time_rfc3339(time_t t, char buf[32])
{
	int y, mo, d, h, mi, s;
	wf__civil(wf__clamp_time((int64_t)t), &y, &mo, &d, &h, &mi, &s);
	snprintf(buf, 32, "%04d-%02d-%02dT%02d:%02d:%02dZ", y, mo, d, h, mi, s);
}

void wf_time_rfc3339_micro(const struct timespec *ts, char buf[40])
{
	int y, mo, d, h, mi, s;
	long nsec = ts->tv_nsec;
	if (nsec < 0)
		nsec = 0;
	if (nsec > 999999999)
		nsec = 999999999;
	wf__civil(wf__clamp_time((int64_t)ts->tv_sec), &y, &mo, &d, &h, &mi, &s);
	snprintf(buf, 40, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ", y, mo, d, h, mi, s, nsec / 1000);
}

/* Read exactly n decimal digits at *p, advancing it. */
static bool wf__digits(const char **p, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		char c = (*p)[i];
		if (c < '0' || c > '9')
			return false;
		v = v * 10 + (c - '0');
	}
	*p += n;
	*out = v;
	return true;
}

static bool wf__lit(const char **p, char c)
{
	if (**p != c)
		return false;
	(*p)++;
	return true;
}

int wf_time_parse_rfc3339(const char *s, time_t *out)
{
	int y, mo, d, h, mi, sec;
	const char *p = s;

	if (!s)
		return -WF_EINVAL;
	if (!wf__digits(&p, 4, &y) || !wf__lit(&p, '-') || !wf__digits(&p, 2, &mo) ||
	    !wf__lit(&p, '-') || !wf__digits(&p, 2, &d))
		return -WF_EINVAL;
	if (*p != 'T' && *p != 't')
		return -WF_EINVAL;
	p++;
	if (!wf__digits(&p, 2, &h) || !wf__lit(&p, ':') || !wf__digits(&p, 2, &mi) ||
	    !wf__lit(&p, ':') || !wf__digits(&p, 2, &sec))
		return -WF_EINVAL;
	if (mo < 1 || mo > 12 || d < 1 || d > wf__days_in_month(y, mo) || h > 23 || mi > 59 ||
	    sec > 59)
		return -WF_EINVAL;

	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '9')
			return -WF_EINVAL;
		while (*p >= '0' && *p <= '9')
			p++;
	}

	int64_t offset = 0;
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int sign = *p == '-' ? -1 : 1;
		int oh, om;
		p++;
		if (!wf__digits(&p, 2, &oh) || !wf__lit(&p, ':') || !wf__digits(&p, 2, &om))
			return -WF_EINVAL;
		if (oh > 23 || om > 59)
			return -WF_EINVAL;
		offset = sign * (int64_t)(oh * 3600 + om * 60);
	} else {
		return -WF_EINVAL;
	}
	if (*p != '\0')
		return -WF_EINVAL;

	int64_t t = wf__days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - offset;
	*out = (time_t)t;
	return 0;
}

/*
 * The thresholds below are Kubernetes' (k8s.io/apimachinery/pkg/util/duration):
 * seconds up to 2 minutes, minutes (with seconds under 10m) up to 3 hours,
 * hours (with minutes under 8h) up to 2 days, days (with hours under 8d)
 * up to 2 years, then years (with days under 8y).
 */
char *wf_time_human_duration(int64_t seconds, char *buf, size_t len)
{
	if (!buf || len == 0)
		return buf;
	if (seconds < -1) {
		snprintf(buf, len, "<invalid>");
		return buf;
	}
	if (seconds < 0)
		seconds = 0;
	if (seconds < 60 * 2) {
		snprintf(buf, len, "%llds", (long long)seconds);
		return buf;
	}
	int64_t minutes = seconds / 60;
	if (minutes < 10) {
		int64_t s = seconds % 60;
		if (s == 0)
			snprintf(buf, len, "%lldm", (long long)minutes);
		else
			snprintf(buf, len, "%lldm%llds", (long long)minutes, (long long)s);
		return buf;
	}
	if (minutes < 60 * 3) {
		snprintf(buf, len, "%lldm", (long long)minutes);
		return buf;
	}
	int64_t hours = seconds / 3600;
	if (hours < 8) {
		int64_t m = minutes % 60;
		if (m == 0)
			snprintf(buf, len, "%lldh", (long long)hours);
		else
			snprintf(buf, len, "%lldh%lldm", (long long)hours, (long long)m);
		return buf;
	}
	if (hours < 48) {
		snprintf(buf, len, "%lldh", (long long)hours);
		return buf;
	}
	if (hours < 24 * 8) {
		int64_t h = hours % 24;
		if (h == 0)
			snprintf(buf, len, "%lldd", (long long)(hours / 24));
		else
			snprintf(buf, len, "%lldd%lldh", (long long)(hours / 24), (long long)h);
		return buf;
	}
	if (hours < 24 * 365 * 2) {
		snprintf(buf, len, "%lldd", (long long)(hours / 24));
		return buf;
	}
	if (hours < 24 * 365 * 8) {
		int64_t dy = (hours / 24) % 365;
		if (dy == 0)
			snprintf(buf, len, "%lldy", (long long)(hours / 24 / 365));
		else
			snprintf(buf, len, "%lldy%lldd", (long long)(hours / 24 / 365),
				 (long long)dy);
		return buf;
	}
	snprintf(buf, len, "%lldy", (long long)(hours / 24 / 365));
	return buf;
}

char *wf_time_short_human_duration(int64_t seconds, char *buf, size_t len)
{
	if (!buf || len == 0)
		return buf;
	if (seconds < -1) {
		snprintf(buf, len, "<invalid>");
		return buf;
	}
	if (seconds < 0)
		seconds = 0;
	if (seconds < 60)
		snprintf(buf, len, "%llds", (long long)seconds);
	else if (seconds / 60 < 60)
		snprintf(buf, len, "%lldm", (long long)(seconds / 60));
	else if (seconds / 3600 < 24)
		snprintf(buf, len, "%lldh", (long long)(seconds / 3600));
	else if (seconds / 3600 < 24 * 365)
		snprintf(buf, len, "%lldd", (long long)(seconds / 86400));
	else
		snprintf(buf, len, "%lldy", (long long)(seconds / (86400 * 365)));
	return buf;
}

int64_t wf_time_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
