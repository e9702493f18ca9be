/*
 * probe_state.h - the bookkeeping of a container's probes over time, as
 * kubelet's prober (pkg/kubelet/prober, worker.go) keeps it: when each
 * probe is due, and what the results so far mean — ready, started, or to
 * be restarted. Pure: no I/O, no clock, no globals; the caller passes the
 * time (milliseconds on any monotonic clock) and the result of each run
 * (from wf_probe_run), so the agent and the tests drive the same code.
 *
 * Rules (kubelet's):
 * - A probe first runs initialDelaySeconds after the container started,
 *   then every periodSeconds. A run that ends after the next one was due
 *   is followed by one more run at once, and the schedule stays on its
 *   period grid (Go's ticker keeps one missed tick). Kubelet's random
 *   start-up jitter and its tick grid from worker creation are not copied:
 *   the schedule is the documented one.
 * - Each probe publishes a result: readiness starts at Failure, liveness
 *   at Success, startup at Unknown. A run's result changes the published
 *   one only after successThreshold consecutive successes or
 *   failureThreshold consecutive failures; a different result resets the
 *   count. WF_PROBE_ERROR (the spec is malformed) is thrown away: it
 *   neither counts nor breaks a run of equal results.
 * - Liveness or startup reaching Failure means the container must be
 *   restarted; that probe then stops ("on hold") until the caller reports
 *   a new container instance. Startup reaching Success means the container
 *   has started; the startup probe then stops for good (until a restart).
 * - Liveness and readiness do not run until the container has started; on
 *   the start they are due at once (or at their initial delay, if later).
 * - A container is started when its startup probe succeeded (or it has
 *   none), and ready when started and its readiness probe's published
 *   result is Success (or it has none).
 * - A new container instance (restart) resets every probe to its initial
 *   result, clears the counts and the hold, and restarts the schedule.
 *   (Kubelet keeps a readiness probe's count across restarts; we do not.)
 *
 * Invariant: a probe with no run scheduled reports WF_PROBE_NEVER as its
 * due time, and a result recorded for it is ignored.
 */
#ifndef WF_PROBE_STATE_H
#define WF_PROBE_STATE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "agent/probe.h"
#include "lib/wf_err.h"

#define WF_PROBE_NEVER INT64_MAX

typedef enum wf_probe_kind {
	WF_PROBE_STARTUP = 0,
	WF_PROBE_LIVENESS = 1,
	WF_PROBE_READINESS = 2,
} wf_probe_kind;
#define WF_PROBE_KINDS 3

/* The container field holding each kind: "startupProbe", "livenessProbe",
 * "readinessProbe". */
const char *wf_probe_kind_field(wf_probe_kind kind);

typedef enum wf_probe_status {
	WF_PROBE_STATUS_UNKNOWN = 0,
	WF_PROBE_STATUS_SUCCESS = 1,
	WF_PROBE_STATUS_FAILURE = 2,
} wf_probe_status;

/* The timing fields of a Probe, defaulted, in milliseconds. */
typedef struct wf_probe_timing {
	int64_t initial_delay_ms; /* initialDelaySeconds, default 0 */
	int64_t period_ms;	  /* periodSeconds, default 10 s */
	int64_t timeout_ms;	  /* timeoutSeconds, default 1 s */
	int success_threshold;	  /* default 1; always 1 for liveness and startup */
	int failure_threshold;	  /* default 3 */
} wf_probe_timing;

/* Read the timing fields of `probe` (a Probe object) with Kubernetes'
 * defaulting (absent, null or 0 take the default) and validation: each an
 * integer in 0..2147483647, and successThreshold 1 for liveness and
 * startup. Returns 0, or -WF_EINVAL naming the field ("livenessProbe.
 * periodSeconds: ...") with *out unchanged. */
int wf_probe_timing_parse(const json_t *probe, wf_probe_kind kind, wf_probe_timing *out,
			  wf_err *err);

/* One probe of one container. Caller-allocated; plain data, copyable. */
typedef struct wf_probe_state {
	wf_probe_kind kind;
	wf_probe_timing timing;
	wf_probe_status status; /* the published result */
	wf_probe_status last;	/* result of the last counted run */
	int run;		/* consecutive counted runs with `last` */
	bool on_hold;		/* liveness/startup failed: wait for a restart */
	int64_t tick_ms;	/* the grid point of the next or last run */
	int64_t due_ms;		/* next run, WF_PROBE_NEVER when none */
} wf_probe_state;

/* Start bookkeeping for a container instance that started at started_ms. */
void wf_probe_state_init(wf_probe_state *s, wf_probe_kind kind, const wf_probe_timing *t,
			 int64_t started_ms);
/* When the next run is due (may be in the past), or WF_PROBE_NEVER. */
int64_t wf_probe_state_next_due(const wf_probe_state *s);
/* Record the result of a run that ended at now_ms, and schedule the next.
 * Returns true when the published status changed. */
bool wf_probe_state_record(wf_probe_state *s, int64_t now_ms, wf_probe_result r);

/* The probes of one container. Caller-allocated; plain data. */
typedef struct wf_probe_set {
	bool has[WF_PROBE_KINDS];
	wf_probe_state probe[WF_PROBE_KINDS];
} wf_probe_set;

/* Read the startupProbe, livenessProbe and readinessProbe of `container`
 * (a Container object; absent or null means none) and start bookkeeping
 * for an instance started at started_ms. Only timing is read here; the
 * handler is checked when the probe runs (or by wf_probe_check). Returns 0,
 * or -WF_EINVAL (a probe that is not an object, or a bad timing field) with
 * *ps zeroed. */
int wf_probe_set_init(wf_probe_set *ps, const json_t *container, int64_t started_ms, wf_err *err);
/* A new container instance started at started_ms: reset every probe. */
void wf_probe_set_restart(wf_probe_set *ps, int64_t started_ms);
/* The earliest due time of the probes allowed to run now (only startup
 * until started), and which probe (*kind, may be NULL; the lowest kind on
 * a tie). WF_PROBE_NEVER when nothing will run. */
int64_t wf_probe_set_next_due(const wf_probe_set *ps, wf_probe_kind *kind);
/* Record the result of `kind`'s run ending at now_ms. Ignored (false) when
 * the container has no such probe or it may not run now. Returns true when
 * started, ready or should-restart changed. */
bool wf_probe_set_record(wf_probe_set *ps, wf_probe_kind kind, int64_t now_ms, wf_probe_result r);
bool wf_probe_set_started(const wf_probe_set *ps);
bool wf_probe_set_ready(const wf_probe_set *ps);
/* True when a liveness or startup probe failed and the container must be
 * killed and restarted (per its restart policy); *why (may be NULL) gets
 * the probe that failed (startup first). */
bool wf_probe_set_should_restart(const wf_probe_set *ps, wf_probe_kind *why);

#endif
