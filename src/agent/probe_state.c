/*
 * probe_state.c - kubelet's probe bookkeeping as a pure state machine (see
 * probe_state.h for the rules). Time arithmetic saturates at
 * WF_PROBE_NEVER, so huge delays and periods never overflow.
 */
#include "agent/probe_state.h"

#include <string.h>

static const char *const wf__fields[WF_PROBE_KINDS] = {"startupProbe", "livenessProbe",
						       "readinessProbe"};

const char *wf_probe_kind_field(wf_probe_kind kind)
{
	return (unsigned)kind < WF_PROBE_KINDS ? wf__fields[kind] : "probe";
}

static int64_t wf__sat_add(int64_t a, int64_t b)
{
	int64_t r;
	return __builtin_add_overflow(a, b, &r) ? WF_PROBE_NEVER : r;
}

/* One integer field in 0..INT32_MAX; absent, null or 0 give dflt. */
static int wf__field(const json_t *probe, wf_probe_kind kind, const char *name, int64_t dflt,
		     int64_t *out, wf_err *err)
{
	const json_t *v = json_object_get(probe, name);
	*out = dflt;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_integer(v))
		return wf_err_set(err, WF_EINVAL, "%s.%s: must be an integer",
				  wf_probe_kind_field(kind), name);
	if (json_integer_value(v) < 0 || json_integer_value(v) > INT32_MAX)
		return wf_err_set(err, WF_EINVAL, "%s.%s: must be between 0 and 2147483647",
				  wf_probe_kind_field(kind), name);
	if (json_integer_value(v) > 0)
		*out = json_integer_value(v);
	return 0;
}

int wf_probe_timing_parse(const json_t *probe, wf_probe_kind kind, wf_probe_timing *out,
			  wf_err *err)
{
	int64_t delay, period, timeout, succ, fail;
	int rc;
	if (!json_is_object(probe))
		return wf_err_set(err, WF_EINVAL, "%s: must be an object",
				  wf_probe_kind_field(kind));
	if ((rc = wf__field(probe, kind, "initialDelaySeconds", 0, &delay, err)) < 0 ||
	    (rc = wf__field(probe, kind, "periodSeconds", 10, &period, err)) < 0 ||
	    (rc = wf__field(probe, kind, "timeoutSeconds", 1, &timeout, err)) < 0 ||
	    (rc = wf__field(probe, kind, "successThreshold", 1, &succ, err)) < 0 ||
	    (rc = wf__field(probe, kind, "failureThreshold", 3, &fail, err)) < 0)
		return rc;
	if (kind != WF_PROBE_READINESS && succ != 1)
		return wf_err_set(err, WF_EINVAL, "%s.successThreshold: must be 1",
				  wf_probe_kind_field(kind));
	out->initial_delay_ms = delay * 1000;
	out->period_ms = period * 1000;
	out->timeout_ms = timeout * 1000;
	out->success_threshold = (int)succ;
	out->failure_threshold = (int)fail;
	return 0;
}

/* ------------------------------------------------------------ one probe */

void wf_probe_state_init(wf_probe_state *s, wf_probe_kind kind, const wf_probe_timing *t,
			 int64_t started_ms)
{
	static const wf_probe_status initial[WF_PROBE_KINDS] = {
	    [WF_PROBE_STARTUP] = WF_PROBE_STATUS_UNKNOWN,
	    [WF_PROBE_LIVENESS] = WF_PROBE_STATUS_SUCCESS,
	    [WF_PROBE_READINESS] = WF_PROBE_STATUS_FAILURE,
	};
	memset(s, 0, sizeof(*s));
	s->kind = kind;
	s->timing = *t;
	s->status = initial[kind];
	s->last = WF_PROBE_STATUS_UNKNOWN;
	s->tick_ms = wf__sat_add(started_ms, t->initial_delay_ms);
	s->due_ms = s->tick_ms;
}

int64_t wf_probe_state_next_due(const wf_probe_state *s)
{
	if (s->on_hold)
		return WF_PROBE_NEVER;
	if (s->kind == WF_PROBE_STARTUP && s->status == WF_PROBE_STATUS_SUCCESS)
		return WF_PROBE_NEVER;
	return s->due_ms;
}

static void wf__schedule(wf_probe_state *s, int64_t now_ms)
{
	int64_t period = s->timing.period_ms > 0 ? s->timing.period_ms : 1;
	int64_t next = wf__sat_add(s->tick_ms, period);
	if (next > now_ms || next == WF_PROBE_NEVER) {
		s->tick_ms = next;
		s->due_ms = next;
		return;
	}
	/* Overran: one buffered tick fires now; the grid keeps its phase. */
	s->tick_ms += (now_ms - s->tick_ms) / period * period;
	s->due_ms = now_ms;
}

bool wf_probe_state_record(wf_probe_state *s, int64_t now_ms, wf_probe_result r)
{
	wf_probe_status rs;
	int threshold;
	bool changed;

	if (wf_probe_state_next_due(s) == WF_PROBE_NEVER)
		return false;
	wf__schedule(s, now_ms);
	if (r != WF_PROBE_SUCCESS && r != WF_PROBE_FAILURE)
		return false; /* a prober error: kubelet throws the result away */
	rs = r == WF_PROBE_SUCCESS ? WF_PROBE_STATUS_SUCCESS : WF_PROBE_STATUS_FAILURE;
	if (s->last == rs) {
		if (s->run < INT32_MAX)
			s->run++;
	} else {
		s->last = rs;
		s->run = 1;
	}
	threshold = rs == WF_PROBE_STATUS_SUCCESS ? s->timing.success_threshold
						  : s->timing.failure_threshold;
	if (s->run < threshold)
		return false;
	changed = s->status != rs;
	s->status = rs;
	if (s->kind != WF_PROBE_READINESS && rs == WF_PROBE_STATUS_FAILURE) {
		s->on_hold = true;
		s->run = 0;
	}
	return changed;
}

/* ------------------------------------------------------- a container's */

int wf_probe_set_init(wf_probe_set *ps, const json_t *container, int64_t started_ms, wf_err *err)
{
	memset(ps, 0, sizeof(*ps));
	if (!container || json_is_null(container))
		return 0;
	if (!json_is_object(container)) {
		return wf_err_set(err, WF_EINVAL, "container: must be an object");
	}
	for (int k = 0; k < WF_PROBE_KINDS; k++) {
		const json_t *p = json_object_get(container, wf__fields[k]);
		wf_probe_timing t;
		int rc;
		if (!p || json_is_null(p))
			continue;
		rc = wf_probe_timing_parse(p, (wf_probe_kind)k, &t, err);
		if (rc < 0) {
			memset(ps, 0, sizeof(*ps));
			return rc;
		}
		ps->has[k] = true;
		wf_probe_state_init(&ps->probe[k], (wf_probe_kind)k, &t, started_ms);
	}
	return 0;
}

void wf_probe_set_restart(wf_probe_set *ps, int64_t started_ms)
{
	for (int k = 0; k < WF_PROBE_KINDS; k++) {
		wf_probe_timing t = ps->probe[k].timing;
		if (ps->has[k])
			wf_probe_state_init(&ps->probe[k], (wf_probe_kind)k, &t, started_ms);
	}
}

bool wf_probe_set_started(const wf_probe_set *ps)
{
	return !ps->has[WF_PROBE_STARTUP] ||
	       ps->probe[WF_PROBE_STARTUP].status == WF_PROBE_STATUS_SUCCESS;
}

bool wf_probe_set_ready(const wf_probe_set *ps)
{
	return wf_probe_set_started(ps) &&
	       (!ps->has[WF_PROBE_READINESS] ||
		ps->probe[WF_PROBE_READINESS].status == WF_PROBE_STATUS_SUCCESS);
}

bool wf_probe_set_should_restart(const wf_probe_set *ps, wf_probe_kind *why)
{
	for (int k = WF_PROBE_STARTUP; k <= WF_PROBE_LIVENESS; k++) {
		if (ps->has[k] && ps->probe[k].status == WF_PROBE_STATUS_FAILURE) {
			if (why)
				*why = (wf_probe_kind)k;
			return true;
		}
	}
	return false;
}

static bool wf__may_run(const wf_probe_set *ps, int k)
{
	return ps->has[k] && (k == WF_PROBE_STARTUP || wf_probe_set_started(ps));
}

int64_t wf_probe_set_next_due(const wf_probe_set *ps, wf_probe_kind *kind)
{
	int64_t best = WF_PROBE_NEVER;
	for (int k = 0; k < WF_PROBE_KINDS; k++) {
		int64_t d;
		if (!wf__may_run(ps, k))
			continue;
		d = wf_probe_state_next_due(&ps->probe[k]);
		if (d < best) {
			best = d;
			if (kind)
				*kind = (wf_probe_kind)k;
		}
	}
	return best;
}

bool wf_probe_set_record(wf_probe_set *ps, wf_probe_kind kind, int64_t now_ms, wf_probe_result r)
{
	bool started, ready, restart;
	if ((unsigned)kind >= WF_PROBE_KINDS || !wf__may_run(ps, kind))
		return false;
	started = wf_probe_set_started(ps);
	ready = wf_probe_set_ready(ps);
	restart = wf_probe_set_should_restart(ps, NULL);
	wf_probe_state_record(&ps->probe[kind], now_ms, r);
	if (!started && wf_probe_set_started(ps)) {
		/* Held back until now: liveness and readiness may run at once. */
		for (int k = WF_PROBE_LIVENESS; k <= WF_PROBE_READINESS; k++) {
			wf_probe_state *s = &ps->probe[k];
			if (ps->has[k] && s->due_ms < now_ms)
				s->tick_ms = s->due_ms = now_ms;
		}
	}
	return started != wf_probe_set_started(ps) || ready != wf_probe_set_ready(ps) ||
	       restart != wf_probe_set_should_restart(ps, NULL);
}
