/*
 * wf_time.h - wall-clock helpers: RFC 3339 timestamps as Kubernetes writes
 * and reads them, and the short human durations of `kubectl get` (AGE).
 *
 * Everything here is UTC and pure (no locale, no global state) except
 * wf_time_now_ms(), which reads CLOCK_REALTIME.
 */
#ifndef WF_TIME_H
#define WF_TIME_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Room for any string the duration formatters write. */
#define WF_TIME_DURATION_LEN 32

/* Format t as "2026-11-22T06:52:38Z" (metav1.Time). Always 20 characters:
 * t is clamped to years 0000..9999. */
void wf_time_rfc3339(time_t t, char buf[32]);

/* Format ts as "2026-11-22T06:38:33.123456Z" (metav1.MicroTime, used by
 * Lease renewTime and Event eventTime): always six fractional digits,
 * truncated, not rounded. Same clamping as wf_time_rfc3339. */
void wf_time_rfc3339_micro(const struct timespec *ts, char buf[40]);

/* Parse an RFC 3339 timestamp: "YYYY-MM-DDTHH:MM:SS", optional fractional
 * seconds ("." and one or more digits, dropped), then "Z" or "+hh:mm" /
 * "-hh:mm". 't' and 'z' are accepted in lower case. Field ranges are
 * checked (month 1-12, day within the month, leap years included, hour
 * 0-23, minute 0-59, second 0-59, offset up to 23:59).
 * On success stores seconds since the epoch in *out and returns 0; NULL,
 * empty, malformed or trailing input returns -WF_EINVAL and leaves *out. */
int wf_time_parse_rfc3339(const char *s, time_t *out);

/* Kubernetes' duration.HumanDuration: "45s", "3m20s", "45m", "3h20m", "5h",
 * "3d4h", "90d", "2y30d", "10y", with ~2-3 significant figures.
 * Like Kubernetes, -1 prints "0s" (clock skew) and anything below -1 prints
 * "<invalid>". Writes at most len bytes (NUL included; WF_TIME_DURATION_LEN
 * always suffices) and returns buf. */
char *wf_time_human_duration(int64_t seconds, char *buf, size_t len);

/* Kubernetes' duration.ShortHumanDuration: one unit only ("45s", "3m",
 * "5h", "12d", "2y"); same handling of negative values and of buf. */
char *wf_time_short_human_duration(int64_t seconds, char *buf, size_t len);

/* Milliseconds since the epoch, from CLOCK_REALTIME. */
int64_t wf_time_now_ms(void);

#endif
