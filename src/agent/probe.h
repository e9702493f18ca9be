/*
 * probe.h - one run of a Kubernetes probe (exec, httpGet, tcpSocket), as
 * kubelet does it: exec succeeds on exit status 0, httpGet on a status in
 * [200, 400), tcpSocket when a connection opens; each within
 * timeoutSeconds (default 1). When to run a probe and what its results mean
 * for the container (ready, restart, started) is probe_state.h's business.
 *
 * exec: posix_spawnp (never fork, so it is safe in the multi-threaded
 * agent) with exactly the target's environment and working directory, in
 * its own process group, stdin from /dev/null, stdout and stderr captured
 * together (the first 10 KiB) for the failure message. On timeout the whole
 * process group gets SIGKILL and the child is reaped before returning.
 * The process must not reap children with waitpid(-1) on another thread
 * nor ignore SIGCHLD, or the exit status of a probe is lost (reported as a
 * failure).
 *
 * httpGet: plain HTTP/1.1 over a socket, "Connection: close", the
 * User-Agent "kube-probe/1.31" and an Accept header of any type unless
 * httpHeaders set them, a Host header of host:port (or the "Host" entry
 * of httpHeaders).
 * Redirects (301, 302, 303, 307, 308) to the same host name are followed,
 * up to 10, as kubelet does; a redirect elsewhere ends the probe with the
 * 3xx status, which counts as success. HTTPS is not supported yet
 * (WF_PROBE_ERROR). The timeout covers resolving, connecting, sending, and
 * reading the headers and up to 10 KiB of body.
 *
 * tcpSocket: a non-blocking connect that must complete within the timeout.
 */
#ifndef WF_PROBE_H
#define WF_PROBE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "lib/wf_err.h"

typedef struct wf_probe_target {
	const char *host;	 /* pod IP (httpGet/tcpSocket default host); NULL = 127.0.0.1 */
	const json_t *container; /* the Container spec, for named ports; may be NULL */
	char *const *env;	 /* environment for exec probes (NULL-terminated); NULL = empty */
	const char *working_dir; /* for exec probes, may be NULL */
	/* Absolute path of a cgroup directory (v2, or one v1 controller's)
	 * that exec probes join right after they are spawned, by writing
	 * their pid to its cgroup.procs; best effort, may be NULL. */
	const char *cgroup;
} wf_probe_target;

typedef enum wf_probe_result {
	WF_PROBE_SUCCESS = 0,
	WF_PROBE_FAILURE = 1,
	/* Malformed probe spec (none or several handlers, wrong types, bad or
	 * unknown port, grpc, HTTPS): kubelet reports it as "probe errored" and
	 * throws the result away, counting it neither as success nor failure
	 * (probe_state.h does the same). */
	WF_PROBE_ERROR = 2,
} wf_probe_result;

/* Run `probe` (a Probe object: exec/httpGet/tcpSocket + timeoutSeconds)
 * once against the target t (may be NULL: all defaults). msg (may be NULL
 * when msglen is 0) receives a short human-readable reason on failure or
 * error, in kubelet's words where it has them (e.g. `command "sleep 5"
 * timed out`, "HTTP probe failed with statuscode: 500", "dial tcp
 * 127.0.0.1:1: connect: connection refused"), truncated to msglen; it is
 * the empty string on success, except after a redirect that was not
 * followed. Blocks up to the timeout (plus the time to kill and reap a
 * timed-out exec probe; host names other than IP literals are resolved
 * with getaddrinfo, which the timeout cannot interrupt). Thread-safe. */
wf_probe_result wf_probe_run(const json_t *probe, const wf_probe_target *t, char *msg,
			     size_t msglen);

/* Check the handler part of `probe` without running it: exactly one of
 * exec/httpGet/tcpSocket, well-typed fields, a port in 1..65535 or a name
 * found in container's ports (container may be NULL: then any name is
 * unknown). Returns 0, or -WF_EINVAL with the message wf_probe_run would
 * report as WF_PROBE_ERROR (-WF_ENOTSUP for grpc and HTTPS). */
int wf_probe_check(const json_t *probe, const json_t *container, wf_err *err);

#endif
