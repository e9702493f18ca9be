/*
 * probe.c - one run of an exec, httpGet or tcpSocket probe (see probe.h).
 *
 * A run parses the Probe object into a wf__spec (strings borrowed from the
 * JSON, which must outlive the run), then does the handler's work against
 * one monotonic deadline. Nothing here keeps state between runs and nothing
 * touches process-wide settings (signal dispositions, the environment, the
 * working directory), so any number of threads may run probes at once.
 *
 * Invariants: every file descriptor is opened with CLOEXEC (a concurrent
 * posix_spawn on another thread must not inherit it); every spawned child
 * is reaped before wf_probe_run returns; msg is always NUL-terminated.
 */
#include "agent/probe.h"
#include "lib/wf_mem.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define WF__PROBE_USER_AGENT "kube-probe/1.31"
#define WF__OUTPUT_MAX 10240 /* exec output and HTTP body kept, as kubelet */
#define WF__HEAD_MAX 65536   /* response status line + headers */
#define WF__MAX_REQUESTS 10  /* Go's redirect limit, counted in requests */
#define WF__EXEC_POLL_MS 10  /* exit polling when pidfd_open is missing */

enum wf__handler { WF__EXEC, WF__HTTP, WF__TCP };

typedef struct wf__header {
	const char *name;
	const char *value;
} wf__header;

typedef struct wf__spec {
	enum wf__handler handler;
	int64_t timeout_ms;
	const char **argv; /* exec: NULL-terminated, strings borrowed */
	const char *host;  /* http/tcp: NULL = target's */
	int port;
	char *path;	     /* http: owned, percent-encoded where needed */
	wf__header *headers; /* http: owned array, strings borrowed */
	size_t nheaders;
} wf__spec;

/* ---------------------------------------------------------------- helpers */

static void wf__msg(char *msg, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void wf__msg(char *msg, size_t len, const char *fmt, ...)
{
	va_list ap;
	if (!msg || len == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, len, fmt, ap);
	va_end(ap);
}

static int64_t wf__mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Milliseconds left before deadline, as a poll() timeout (0 when past). */
static int wf__left_ms(int64_t deadline)
{
	int64_t left = deadline - wf__mono_ms();
	if (left <= 0)
		return 0;
	return left > INT_MAX ? INT_MAX : (int)left;
}

/* Go's spelling of errno texts: "connection refused", lower case. */
static const char *wf__errstr(int e, char *buf, size_t len)
{
	const char *s = strerror_r(e, buf, len);
	if (s != buf)
		snprintf(buf, len, "%s", s);
	if (buf[0])
		buf[0] = (char)tolower((unsigned char)buf[0]);
	return buf;
}

/* Wait for events on fd until the deadline: 1 ready, 0 timed out, -1 error. */
static int wf__wait(int fd, short events, int64_t deadline)
{
	for (;;) {
		struct pollfd p = {.fd = fd, .events = events};
		int left = wf__left_ms(deadline);
		int n = poll(&p, 1, left);
		if (n > 0)
			return 1;
		if (n == 0) {
			if (left == 0)
				return 0;
			continue;
		}
		if (errno != EINTR)
			return -1;
	}
}

/* "host:port", with brackets around an IPv6 literal. */
static void wf__hostport(const char *host, int port, char *out, size_t len)
{
	if (strchr(host, ':'))
		snprintf(out, len, "[%s]:%d", host, port);
	else
		snprintf(out, len, "%s:%d", host, port);
}

/* ------------------------------------------------------------ spec parsing */

static bool wf__is_tchar(unsigned char c)
{
	return isalnum(c) || (c && strchr("!#$%&'*+-.^_`|~", c));
}

static bool wf__json_str_ok(const json_t *v)
{
	return json_is_string(v) && strlen(json_string_value(v)) == json_string_length(v);
}

/* A port: an integer, or a name looked up in container.ports[] (then, as
 * kubelet's last resort, a number written as a string), in 1..65535. */
static int wf__port_parse(const json_t *v, const json_t *container, const char *field, int *out,
			  wf_err *err)
{
	json_int_t port;
	if (!v || json_is_null(v))
		return wf_err_set(err, WF_EINVAL, "%s.port: Required value", field);
	if (json_is_integer(v)) {
		port = json_integer_value(v);
	} else if (wf__json_str_ok(v) && json_string_length(v) > 0) {
		const char *name = json_string_value(v);
		const json_t *ports = container ? json_object_get(container, "ports") : NULL;
		const json_t *p;
		size_t i;
		bool found = false;
		port = 0;
		json_array_foreach(ports, i, p)
		{
			const json_t *pn = json_object_get(p, "name");
			if (!json_is_string(pn) || strcmp(json_string_value(pn), name) != 0)
				continue;
			const json_t *cp = json_object_get(p, "containerPort");
			if (!json_is_integer(cp))
				return wf_err_set(err, WF_EINVAL,
						  "%s.port: container port \"%s\" has no integer "
						  "containerPort",
						  field, name);
			port = json_integer_value(cp);
			found = true;
			break;
		}
		if (!found) {
			char *end;
			long n;
			errno = 0;
			n = strtol(name, &end, 10);
			if (!isdigit((unsigned char)name[0]) || *end || errno)
				return wf_err_set(err, WF_EINVAL,
						  "%s.port: unable to find port \"%.64s\" in the "
						  "container's ports",
						  field, name);
			port = n;
		}
	} else {
		return wf_err_set(err, WF_EINVAL, "%s.port: must be an integer or a port name",
				  field);
	}
	if (port < 1 || port > 65535)
		return wf_err_set(err, WF_EINVAL,
				  "%s.port: invalid port number %lld: must be between 1 and 65535",
				  field, (long long)port);
	*out = (int)port;
	return 0;
}

static int wf__host_parse(const json_t *v, const char *field, const char **out, wf_err *err)
{
	const char *h, *c;
	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!wf__json_str_ok(v))
		return wf_err_set(err, WF_EINVAL, "%s.host: must be a string", field);
	h = json_string_value(v);
	if (!h[0])
		return 0;
	if (strlen(h) > 253)
		return wf_err_set(err, WF_EINVAL, "%s.host: too long", field);
	for (c = h; *c; c++)
		if (!isalnum((unsigned char)*c) && !strchr(".-_:%", *c))
			return wf_err_set(err, WF_EINVAL, "%s.host: invalid host \"%.64s\"", field,
					  h);
	*out = h;
	return 0;
}

/* Percent-encode what may not stand in a request target; refuse control
 * characters (Go's url.Parse does the same). NULL when refused. */
static char *wf__path_encode(const char *p)
{
	wf_buf b;
	wf_buf_init(&b);
	if (p[0] != '/')
		wf_buf_putc(&b, '/');
	for (; *p; p++) {
		unsigned char c = (unsigned char)*p;
		if (c < 0x20 || c == 0x7f) {
			wf_buf_free(&b);
			return NULL;
		}
		if (c >= 0x80 || strchr(" \"<>\\^`{|}", c))
			wf_buf_printf(&b, "%%%02X", c);
		else
			wf_buf_putc(&b, (char)c);
	}
	return wf_buf_steal(&b);
}

static int wf__exec_parse(const json_t *ex, wf__spec *sp, wf_err *err)
{
	const json_t *cmd, *a;
	size_t i, n;
	if (!json_is_object(ex))
		return wf_err_set(err, WF_EINVAL, "exec: must be an object");
	cmd = json_object_get(ex, "command");
	if (!cmd || json_is_null(cmd) || (json_is_array(cmd) && json_array_size(cmd) == 0))
		return wf_err_set(err, WF_EINVAL, "exec.command: Required value");
	if (!json_is_array(cmd))
		return wf_err_set(err, WF_EINVAL, "exec.command: must be an array of strings");
	n = json_array_size(cmd);
	json_array_foreach(cmd, i, a)
	{
		if (!wf__json_str_ok(a))
			return wf_err_set(err, WF_EINVAL,
					  "exec.command[%zu]: must be a string without NUL", i);
	}
	if (json_string_length(json_array_get(cmd, 0)) == 0)
		return wf_err_set(err, WF_EINVAL, "exec.command[0]: must not be empty");
	sp->argv = wf_xcalloc(n + 1, sizeof(*sp->argv));
	json_array_foreach(cmd, i, a)
	{
		sp->argv[i] = json_string_value(a);
	}
	return 0;
}

static int wf__http_parse(const json_t *hg, const json_t *container, wf__spec *sp, wf_err *err)
{
	const json_t *scheme, *path, *hdrs, *h;
	size_t i;
	int rc;
	if (!json_is_object(hg))
		return wf_err_set(err, WF_EINVAL, "httpGet: must be an object");
	scheme = json_object_get(hg, "scheme");
	if (scheme && !json_is_null(scheme)) {
		const char *s = json_string_value(scheme);
		if (!wf__json_str_ok(scheme))
			return wf_err_set(err, WF_EINVAL, "httpGet.scheme: must be a string");
		if (strcmp(s, "HTTPS") == 0)
			return wf_err_set(err, WF_ENOTSUP, "HTTPS probes are not supported yet");
		if (s[0] && strcmp(s, "HTTP") != 0)
			return wf_err_set(err, WF_EINVAL,
					  "httpGet.scheme: Unsupported value: \"%.32s\": supported "
					  "values: \"HTTP\", \"HTTPS\"",
					  s);
	}
	if ((rc = wf__host_parse(json_object_get(hg, "host"), "httpGet", &sp->host, err)) < 0)
		return rc;
	if ((rc = wf__port_parse(json_object_get(hg, "port"), container, "httpGet", &sp->port,
				 err)) < 0)
		return rc;
	path = json_object_get(hg, "path");
	if (path && !json_is_null(path) && !wf__json_str_ok(path))
		return wf_err_set(err, WF_EINVAL, "httpGet.path: must be a string");
	sp->path = wf__path_encode(json_is_string(path) ? json_string_value(path) : "/");
	if (!sp->path)
		return wf_err_set(err, WF_EINVAL,
				  "httpGet.path: must not contain control characters");
	hdrs = json_object_get(hg, "httpHeaders");
	if (!hdrs || json_is_null(hdrs))
		return 0;
	if (!json_is_array(hdrs))
		return wf_err_set(err, WF_EINVAL, "httpGet.httpHeaders: must be an array");
	sp->headers = wf_xcalloc(json_array_size(hdrs), sizeof(*sp->headers));
	json_array_foreach(hdrs, i, h)
	{
		const json_t *name = json_object_get(h, "name");
		const json_t *value = json_object_get(h, "value");
		const char *c;
		if (!json_is_object(h))
			return wf_err_set(err, WF_EINVAL,
					  "httpGet.httpHeaders[%zu]: must be an object", i);
		if (!wf__json_str_ok(name) || json_string_length(name) == 0)
			return wf_err_set(err, WF_EINVAL,
					  "httpGet.httpHeaders[%zu].name: Required value", i);
		for (c = json_string_value(name); *c; c++)
			if (!wf__is_tchar((unsigned char)*c))
				return wf_err_set(
				    err, WF_EINVAL,
				    "httpGet.httpHeaders[%zu].name: invalid header name", i);
		if (value && !json_is_null(value) && !wf__json_str_ok(value))
			return wf_err_set(err, WF_EINVAL,
					  "httpGet.httpHeaders[%zu].value: must be a string", i);
		sp->headers[i].name = json_string_value(name);
		sp->headers[i].value = json_is_string(value) ? json_string_value(value) : "";
		for (c = sp->headers[i].value; *c; c++)
			if ((unsigned char)*c < 0x20 && *c != '\t')
				return wf_err_set(
				    err, WF_EINVAL,
				    "httpGet.httpHeaders[%zu].value: must not contain "
				    "control characters",
				    i);
		sp->nheaders = i + 1;
	}
	return 0;
}

static void wf__spec_free(wf__spec *sp)
{
	free(sp->argv);
	free(sp->path);
	free(sp->headers);
}

static int wf__spec_parse(const json_t *probe, const json_t *container, wf__spec *sp, wf_err *err)
{
	static const char *const handlers[] = {"exec", "httpGet", "tcpSocket", "grpc"};
	const json_t *h = NULL, *to;
	size_t i, n = 0, which = 0;
	int rc;
	memset(sp, 0, sizeof(*sp));
	if (!json_is_object(probe))
		return wf_err_set(err, WF_EINVAL, "probe: must be an object");
	for (i = 0; i < sizeof(handlers) / sizeof(handlers[0]); i++) {
		const json_t *v = json_object_get(probe, handlers[i]);
		if (v && !json_is_null(v)) {
			n++;
			h = v;
			which = i;
		}
	}
	if (n == 0)
		return wf_err_set(err, WF_EINVAL, "probe: must specify a handler type");
	if (n > 1)
		return wf_err_set(err, WF_EINVAL,
				  "probe: may not specify more than 1 handler type");
	to = json_object_get(probe, "timeoutSeconds");
	sp->timeout_ms = 1000;
	if (to && !json_is_null(to)) {
		if (!json_is_integer(to))
			return wf_err_set(err, WF_EINVAL, "timeoutSeconds: must be an integer");
		if (json_integer_value(to) < 0 || json_integer_value(to) > INT32_MAX)
			return wf_err_set(err, WF_EINVAL,
					  "timeoutSeconds: must be between 0 and 2147483647");
		if (json_integer_value(to) > 0)
			sp->timeout_ms = (int64_t)json_integer_value(to) * 1000;
	}
	switch (which) {
	case 0:
		sp->handler = WF__EXEC;
		return wf__exec_parse(h, sp, err);
	case 1:
		sp->handler = WF__HTTP;
		return wf__http_parse(h, container, sp, err);
	case 2:
		sp->handler = WF__TCP;
		if (!json_is_object(h))
			return wf_err_set(err, WF_EINVAL, "tcpSocket: must be an object");
		rc = wf__host_parse(json_object_get(h, "host"), "tcpSocket", &sp->host, err);
		if (rc < 0)
			return rc;
		return wf__port_parse(json_object_get(h, "port"), container, "tcpSocket", &sp->port,
				      err);
	default:
		return wf_err_set(err, WF_ENOTSUP, "grpc probes are not supported yet");
	}
}

int wf_probe_check(const json_t *probe, const json_t *container, wf_err *err)
{
	wf__spec sp;
	int rc = wf__spec_parse(probe, container, &sp, err);
	wf__spec_free(&sp);
	return rc;
}

/* -------------------------------------------------------------------- exec */

/* The command as kubelet quotes it in messages, cut short. */
static void wf__cmdline(const char *const *argv, char *out, size_t len)
{
	wf_buf b;
	wf_buf_init(&b);
	for (size_t i = 0; argv[i] && b.len < len; i++) {
		if (i)
			wf_buf_putc(&b, ' ');
		wf_buf_puts(&b, argv[i]);
	}
	snprintf(out, len, "%s", b.data ? b.data : "");
	wf_buf_free(&b);
}

/* Read what the pipe holds now. Keeps the first WF__OUTPUT_MAX bytes and
 * discards the rest, so a chatty command never blocks on a full pipe.
 * Returns false at end of file or on error. */
static bool wf__drain(int fd, wf_buf *out)
{
	char chunk[4096];
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));
		if (n > 0) {
			size_t keep = out->len < WF__OUTPUT_MAX ? WF__OUTPUT_MAX - out->len : 0;
			if (keep)
				wf_buf_append(out, chunk, (size_t)n < keep ? (size_t)n : keep);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		return n < 0 && errno == EAGAIN;
	}
}

static void wf__join_cgroup(const char *cgroup, pid_t pid)
{
	char path[PATH_MAX];
	int fd;
	if (!cgroup || !cgroup[0])
		return;
	if (snprintf(path, sizeof(path), "%s/cgroup.procs", cgroup) >= (int)sizeof(path))
		return;
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	dprintf(fd, "%d\n", (int)pid);
	close(fd);
}

static int wf__pidfd_open(pid_t pid)
{
#ifdef SYS_pidfd_open
	return (int)syscall(SYS_pidfd_open, pid, 0);
#else
	(void)pid;
	errno = ENOSYS;
	return -1;
#endif
}

static int wf__spawn(const wf__spec *sp, const wf_probe_target *t, int out_fd, pid_t *pid)
{
	static char *const no_env[] = {NULL};
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t mask, def;
	const char *const *argv = sp->argv;
	const char **shim = NULL;
	int rc;

	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&at);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
	posix_spawn_file_actions_adddup2(&fa, out_fd, 2);
	if (t && t->working_dir && t->working_dir[0]) {
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 29))
		posix_spawn_file_actions_addchdir_np(&fa, t->working_dir);
#else
		/* No chdir file action: let a shell change directory, then exec. */
		size_t n = 0;
		while (argv[n])
			n++;
		shim = wf_xcalloc(n + 5, sizeof(*shim));
		shim[0] = "/bin/sh";
		shim[1] = "-c";
		shim[2] = "cd -- \"$0\" && exec \"$@\"";
		shim[3] = t->working_dir;
		memcpy(shim + 4, argv, n * sizeof(*shim));
		argv = shim;
#endif
	}
	sigemptyset(&mask);
	sigfillset(&def);
	sigdelset(&def, SIGKILL);
	sigdelset(&def, SIGSTOP);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
					  POSIX_SPAWN_SETSIGDEF);
	posix_spawnattr_setpgroup(&at, 0);
	posix_spawnattr_setsigmask(&at, &mask);
	posix_spawnattr_setsigdefault(&at, &def);
	rc = posix_spawnp(pid, argv[0], &fa, &at, (char *const *)argv,
			  t && t->env ? t->env : no_env);
	posix_spawnattr_destroy(&at);
	posix_spawn_file_actions_destroy(&fa);
	free(shim);
	return rc;
}

/* Trailing white space off, for messages. */
static const char *wf__trimmed(wf_buf *b)
{
	while (b->len && isspace((unsigned char)b->data[b->len - 1]))
		b->data[--b->len] = '\0';
	return b->data ? b->data : "";
}

static wf_probe_result wf__run_exec(const wf__spec *sp, const wf_probe_target *t, char *msg,
				    size_t msglen)
{
	int64_t deadline = wf__mono_ms() + sp->timeout_ms;
	char cmd[256], ebuf[128];
	int pfd[2], pidfd, status = 0, rc;
	bool pipe_open = true, exited = false, timed_out = false;
	pid_t pid;
	wf_buf out;

	wf__cmdline(sp->argv, cmd, sizeof(cmd));
	if (pipe2(pfd, O_CLOEXEC) < 0) {
		wf__msg(msg, msglen, "exec %s: pipe: %s", cmd,
			wf__errstr(errno, ebuf, sizeof(ebuf)));
		return WF_PROBE_FAILURE;
	}
	fcntl(pfd[0], F_SETFL, O_NONBLOCK);
	rc = wf__spawn(sp, t, pfd[1], &pid);
	close(pfd[1]);
	if (rc != 0) {
		close(pfd[0]);
		if (t && t->working_dir && t->working_dir[0])
			wf__msg(msg, msglen, "exec: \"%s\" in working directory \"%s\": %s",
				sp->argv[0], t->working_dir, wf__errstr(rc, ebuf, sizeof(ebuf)));
		else if (rc == ENOENT && !strchr(sp->argv[0], '/'))
			wf__msg(msg, msglen, "exec: \"%s\": executable file not found in $PATH",
				sp->argv[0]);
		else
			wf__msg(msg, msglen, "exec: \"%s\": %s", sp->argv[0],
				wf__errstr(rc, ebuf, sizeof(ebuf)));
		return WF_PROBE_FAILURE;
	}
	wf__join_cgroup(t ? t->cgroup : NULL, pid);
	pidfd = wf__pidfd_open(pid);
	wf_buf_init(&out);

	for (;;) {
		struct pollfd p[2];
		int np = 0, left;
		pid_t w = waitpid(pid, &status, WNOHANG);
		if (w == pid || (w < 0 && errno == ECHILD)) {
			exited = w == pid;
			break;
		}
		left = wf__left_ms(deadline);
		if (left == 0) {
			timed_out = true;
			break;
		}
		if (pipe_open)
			p[np++] = (struct pollfd){.fd = pfd[0], .events = POLLIN};
		if (pidfd >= 0)
			p[np++] = (struct pollfd){.fd = pidfd, .events = POLLIN};
		else if (left > WF__EXEC_POLL_MS)
			left = WF__EXEC_POLL_MS;
		if (poll(p, (nfds_t)np, left) > 0 && pipe_open && p[0].revents)
			pipe_open = wf__drain(pfd[0], &out);
	}
	if (timed_out) {
		kill(-pid, SIGKILL);
		kill(pid, SIGKILL);
		while ((rc = waitpid(pid, &status, 0)) < 0 && errno == EINTR)
			;
	}
	if (pipe_open)
		wf__drain(pfd[0], &out);
	close(pfd[0]);
	if (pidfd >= 0)
		close(pidfd);

	wf_probe_result res = WF_PROBE_FAILURE;
	if (timed_out)
		wf__msg(msg, msglen, "command \"%s\" timed out", cmd);
	else if (!exited)
		wf__msg(msg, msglen, "command \"%s\": exit status lost (reaped elsewhere)", cmd);
	else if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		res = WF_PROBE_SUCCESS;
	else if (WIFEXITED(status))
		wf__msg(msg, msglen, "command \"%s\" exited with status %d%s%s", cmd,
			WEXITSTATUS(status), out.len ? ": " : "", wf__trimmed(&out));
	else
		wf__msg(msg, msglen, "command \"%s\" killed by signal %d%s%s", cmd,
			WIFSIGNALED(status) ? WTERMSIG(status) : 0, out.len ? ": " : "",
			wf__trimmed(&out));
	wf_buf_free(&out);
	return res;
}

/* ----------------------------------------------------------------- sockets */

/* Connect to host:port before the deadline. On failure, msg gets Go's
 * words ("dial tcp 127.0.0.1:1: connect: connection refused", "dial tcp
 * ...: i/o timeout"). */
static int wf__dial(const char *host, int port, int64_t deadline, int *fdp, char *msg,
		    size_t msglen)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM,
				 .ai_flags = AI_NUMERICSERV | AI_NUMERICHOST};
	struct addrinfo *res = NULL, *ai;
	char portstr[8], hp[300], ebuf[128];
	int rc, last = ECONNREFUSED;

	snprintf(portstr, sizeof(portstr), "%d", port);
	wf__hostport(host, port, hp, sizeof(hp));
	rc = getaddrinfo(host, portstr, &hints, &res);
	if (rc == EAI_NONAME) {
		hints.ai_flags = AI_NUMERICSERV;
		rc = getaddrinfo(host, portstr, &hints, &res);
	}
	if (rc != 0) {
		wf__msg(msg, msglen, "dial tcp: lookup %s: %s", host,
			rc == EAI_SYSTEM ? wf__errstr(errno, ebuf, sizeof(ebuf))
					 : gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
				ai->ai_protocol);
		int soerr = 0;
		socklen_t sl = sizeof(soerr);
		if (fd < 0) {
			last = errno;
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
			*fdp = fd;
			freeaddrinfo(res);
			return 0;
		}
		if (errno != EINPROGRESS) {
			last = errno;
			close(fd);
			continue;
		}
		rc = wf__wait(fd, POLLOUT, deadline);
		if (rc == 0) {
			close(fd);
			freeaddrinfo(res);
			wf__msg(msg, msglen, "dial tcp %s: i/o timeout", hp);
			return -1;
		}
		if (rc < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
			soerr = errno;
		if (soerr == 0) {
			*fdp = fd;
			freeaddrinfo(res);
			return 0;
		}
		last = soerr;
		close(fd);
	}
	freeaddrinfo(res);
	wf__msg(msg, msglen, "dial tcp %s: connect: %s", hp, wf__errstr(last, ebuf, sizeof(ebuf)));
	return -1;
}

static wf_probe_result wf__run_tcp(const wf__spec *sp, const char *host, char *msg, size_t msglen)
{
	int fd;
	if (wf__dial(host, sp->port, wf__mono_ms() + sp->timeout_ms, &fd, msg, msglen) < 0)
		return WF_PROBE_FAILURE;
	close(fd);
	return WF_PROBE_SUCCESS;
}

/* -------------------------------------------------------------------- http */

typedef struct wf__url {
	char *host; /* unbracketed */
	int port;
	char *path; /* request target: path and query */
} wf__url;

typedef struct wf__response {
	int status;
	char *location; /* owned, NULL when absent */
} wf__response;

static void wf__url_free(wf__url *u)
{
	free(u->host);
	free(u->path);
}

static const char *wf__header_get(const wf__spec *sp, const char *name)
{
	for (size_t i = 0; i < sp->nheaders; i++)
		if (strcasecmp(sp->headers[i].name, name) == 0)
			return sp->headers[i].value;
	return NULL;
}

static void wf__request(const wf__spec *sp, const wf__url *u, const char *host_hdr, wf_buf *b)
{
	char hp[300];
	const char *accept = wf__header_get(sp, "Accept");
	wf__hostport(u->host, u->port, hp, sizeof(hp));
	wf_buf_printf(b, "GET %s HTTP/1.1\r\nHost: %s\r\n", u->path, host_hdr ? host_hdr : hp);
	if (!wf__header_get(sp, "User-Agent"))
		wf_buf_puts(b, "User-Agent: " WF__PROBE_USER_AGENT "\r\n");
	if (!accept)
		wf_buf_puts(b, "Accept: */*\r\n");
	for (size_t i = 0; i < sp->nheaders; i++) {
		const wf__header *h = &sp->headers[i];
		if (strcasecmp(h->name, "Host") == 0 || strcasecmp(h->name, "Connection") == 0)
			continue;
		if (strcasecmp(h->name, "Accept") == 0 && !accept[0])
			continue; /* an empty Accept removes the default, as kubelet */
		wf_buf_printf(b, "%s: %s\r\n", h->name, h->value);
	}
	wf_buf_puts(b, "Connection: close\r\n\r\n");
}

static int wf__send_all(int fd, const char *p, size_t n, int64_t deadline)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w > 0) {
			p += w;
			n -= (size_t)w;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN) {
			int rc = wf__wait(fd, POLLOUT, deadline);
			if (rc <= 0)
				return rc == 0 ? -ETIMEDOUT : -EIO;
			continue;
		}
		return -errno;
	}
	return 0;
}

/* Append what arrives before the deadline: >0 bytes read, 0 end of file,
 * -ETIMEDOUT, or another -errno. */
static ssize_t wf__recv_some(int fd, wf_buf *b, int64_t deadline)
{
	char chunk[4096];
	for (;;) {
		ssize_t n = recv(fd, chunk, sizeof(chunk), 0);
		if (n > 0) {
			wf_buf_append(b, chunk, (size_t)n);
			return n;
		}
		if (n == 0)
			return 0;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			return -errno;
		int rc = wf__wait(fd, POLLIN, deadline);
		if (rc == 0)
			return -ETIMEDOUT;
		if (rc < 0)
			return -errno;
	}
}

/* Offset just past the blank line that ends the head in b, or 0. */
static size_t wf__head_end(const wf_buf *b)
{
	for (size_t i = 0; i + 1 < b->len; i++) {
		if (b->data[i] != '\n')
			continue;
		if (b->data[i + 1] == '\n')
			return i + 2;
		if (i + 2 < b->len && b->data[i + 1] == '\r' && b->data[i + 2] == '\n')
			return i + 3;
	}
	return 0;
}

/* Parse "HTTP/1.x NNN reason" and the headers we need from head[0..len). */
static bool wf__parse_head(const char *head, size_t len, wf__response *r, int64_t *clen,
			   bool *chunked)
{
	const char *p = head, *end = head + len, *eol;
	*clen = -1;
	*chunked = false;
	if (len < 12 || strncmp(p, "HTTP/1.", 7) != 0 || !isdigit((unsigned char)p[7]) ||
	    p[8] != ' ' || !isdigit((unsigned char)p[9]) || !isdigit((unsigned char)p[10]) ||
	    !isdigit((unsigned char)p[11]) ||
	    (len > 12 && p[12] != ' ' && p[12] != '\r' && p[12] != '\n'))
		return false;
	r->status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
	if (r->status < 100)
		return false;
	eol = memchr(p, '\n', (size_t)(end - p));
	for (p = eol ? eol + 1 : end; p < end; p = eol + 1) {
		const char *colon, *v, *ve;
		eol = memchr(p, '\n', (size_t)(end - p));
		if (!eol)
			break;
		colon = memchr(p, ':', (size_t)(eol - p));
		if (!colon)
			continue;
		for (v = colon + 1; v < eol && (*v == ' ' || *v == '\t'); v++)
			;
		for (ve = eol; ve > v && isspace((unsigned char)ve[-1]); ve--)
			;
		size_t nl = (size_t)(colon - p);
		if (nl == 8 && strncasecmp(p, "Location", 8) == 0) {
			free(r->location);
			r->location = wf_xstrndup(v, (size_t)(ve - v));
		} else if (nl == 14 && strncasecmp(p, "Content-Length", 14) == 0) {
			int64_t n = 0;
			const char *d;
			for (d = v; d < ve && isdigit((unsigned char)*d) && n < INT64_MAX / 10; d++)
				n = n * 10 + (*d - '0');
			if (d == v || d != ve)
				return false;
			*clen = n;
		} else if (nl == 17 && strncasecmp(p, "Transfer-Encoding", 17) == 0) {
			*chunked = ve - v >= 7 && strncasecmp(ve - 7, "chunked", 7) == 0;
		}
	}
	return true;
}

/* One GET: the response status and Location, or false with msg set. */
static bool wf__http_once(const wf__spec *sp, const wf__url *u, const char *host_hdr,
			  const char *url, int64_t deadline, wf__response *r, char *msg,
			  size_t msglen)
{
	char dmsg[384], ebuf[128];
	wf_buf b;
	size_t head = 0;
	int64_t clen;
	bool chunked, ok = false;
	ssize_t n;
	int fd, rc;

	if (wf__dial(u->host, u->port, deadline, &fd, dmsg, sizeof(dmsg)) < 0) {
		wf__msg(msg, msglen, "Get \"%s\": %s", url, dmsg);
		return false;
	}
	wf_buf_init(&b);
	wf__request(sp, u, host_hdr, &b);
	rc = wf__send_all(fd, b.data, b.len, deadline);
	b.len = 0;
	if (rc < 0) {
		if (rc == -ETIMEDOUT)
			wf__msg(msg, msglen,
				"Get \"%s\": context deadline exceeded (Client.Timeout exceeded "
				"while sending the request)",
				url);
		else
			wf__msg(msg, msglen, "Get \"%s\": write: %s", url,
				wf__errstr(-rc, ebuf, sizeof(ebuf)));
		goto out_close;
	}
	for (;;) {
		/* The head, skipping 1xx interim responses other than 101. */
		while (!(head = wf__head_end(&b))) {
			if (b.len > WF__HEAD_MAX) {
				wf__msg(msg, msglen, "Get \"%s\": response headers exceed %d bytes",
					url, WF__HEAD_MAX);
				goto out_close;
			}
			n = wf__recv_some(fd, &b, deadline);
			if (n > 0)
				continue;
			if (n == -ETIMEDOUT)
				wf__msg(msg, msglen,
					"Get \"%s\": context deadline exceeded (Client.Timeout "
					"exceeded while awaiting headers)",
					url);
			else if (n == 0)
				wf__msg(msg, msglen, "Get \"%s\": %s", url,
					b.len ? "unexpected EOF" : "EOF");
			else
				wf__msg(msg, msglen, "Get \"%s\": read: %s", url,
					wf__errstr((int)-n, ebuf, sizeof(ebuf)));
			goto out_close;
		}
		if (!wf__parse_head(b.data, head, r, &clen, &chunked)) {
			wf__msg(msg, msglen, "Get \"%s\": malformed HTTP response", url);
			goto out_close;
		}
		if (r->status >= 200 || r->status == 101)
			break;
		memmove(b.data, b.data + head, b.len - head);
		b.len -= head;
		free(r->location);
		r->location = NULL;
	}
	/* The body: kubelet reads up to 10 KiB of it within the same timeout. */
	if (r->status != 204 && r->status != 304 && r->status != 101) {
		for (;;) {
			size_t body = b.len - head;
			if (body >= WF__OUTPUT_MAX || (clen >= 0 && (int64_t)body >= clen))
				break;
			if (chunked && b.len >= head + 5 &&
			    memcmp(b.data + b.len - 5, "0\r\n\r\n", 5) == 0)
				break;
			n = wf__recv_some(fd, &b, deadline);
			if (n > 0)
				continue;
			if (n == 0 && clen < 0)
				break;
			if (n == -ETIMEDOUT)
				wf__msg(msg, msglen,
					"Get \"%s\": context deadline exceeded (Client.Timeout "
					"exceeded while reading body)",
					url);
			else if (n == 0)
				wf__msg(msg, msglen, "Get \"%s\": unexpected EOF", url);
			else
				wf__msg(msg, msglen, "Get \"%s\": read: %s", url,
					wf__errstr((int)-n, ebuf, sizeof(ebuf)));
			goto out_close;
		}
	}
	ok = true;
out_close:
	close(fd);
	wf_buf_free(&b);
	return ok;
}

/* Resolve a Location header against u, as Go's client does for the
 * redirects kubelet follows. Returns 1 with *next filled (and *relative
 * when the Location had no host), 0 when it is not to be followed (other
 * scheme), -1 when it cannot be parsed; *https says an https URL. */
static int wf__resolve_location(const char *loc, const wf__url *u, wf__url *next, bool *relative,
				bool *https)
{
	const char *auth = NULL, *rest;
	*relative = false;
	*https = false;
	memset(next, 0, sizeof(*next));
	if (strncasecmp(loc, "http://", 7) == 0) {
		auth = loc + 7;
	} else if (strncasecmp(loc, "https://", 8) == 0) {
		auth = loc + 8;
		*https = true;
	} else if (loc[0] == '/' && loc[1] == '/') {
		auth = loc + 2;
	} else {
		const char *colon = strchr(loc, ':'), *slash = strpbrk(loc, "/?#");
		if (colon && (!slash || colon < slash))
			return 0; /* another scheme */
	}
	if (auth) {
		const char *hend = auth + strcspn(auth, "/?#");
		const char *pstart = NULL, *hs = auth, *he;
		if (*hs == '[') {
			he = memchr(hs, ']', (size_t)(hend - hs));
			if (!he)
				return -1;
			hs++;
			if (he + 1 < hend) {
				if (he[1] != ':')
					return -1;
				pstart = he + 2;
			}
		} else {
			const char *c = memchr(hs, ':', (size_t)(hend - hs));
			he = c ? c : hend;
			pstart = c ? c + 1 : NULL;
		}
		if (he == hs)
			return -1;
		next->port = *https ? 443 : 80;
		if (pstart && pstart < hend) {
			long p = 0;
			for (const char *d = pstart; d < hend; d++) {
				if (!isdigit((unsigned char)*d) || p > 65535)
					return -1;
				p = p * 10 + (*d - '0');
			}
			if (p < 1 || p > 65535)
				return -1;
			next->port = (int)p;
		}
		next->host = wf_xstrndup(hs, (size_t)(he - hs));
		rest = hend;
	} else {
		*relative = true;
		next->host = wf_xstrdup(u->host);
		next->port = u->port;
		rest = loc;
	}

	wf_buf p;
	wf_buf_init(&p);
	size_t rlen = strcspn(rest, "#");
	if (auth || rest[0] == '/') {
		wf_buf_append(&p, rest, rlen);
	} else {
		/* Relative reference: against the current path's directory. */
		size_t base = strcspn(u->path, "?");
		if (rest[0] != '?') {
			while (base && u->path[base - 1] != '/')
				base--;
		}
		wf_buf_append(&p, u->path, base);
		wf_buf_append(&p, rest, rlen);
	}
	next->path = wf__path_encode(p.data ? p.data : "/");
	wf_buf_free(&p);
	if (!next->path) {
		wf__url_free(next);
		return -1;
	}
	return 1;
}

static bool wf__is_followed_redirect(int status)
{
	return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

static wf_probe_result wf__run_http(const wf__spec *sp, const char *host, char *msg, size_t msglen)
{
	int64_t deadline = wf__mono_ms() + sp->timeout_ms;
	const char *host_hdr = wf__header_get(sp, "Host");
	wf__url u = {.host = wf_xstrdup(host), .port = sp->port, .path = wf_xstrdup(sp->path)};
	wf_probe_result res = WF_PROBE_FAILURE;
	char url[600], hp[300];

	if (host_hdr && !host_hdr[0])
		host_hdr = NULL;
	for (int requests = 1;; requests++) {
		wf__response r = {0};
		wf__url next;
		bool relative, https;
		int rc;

		wf__hostport(u.host, u.port, hp, sizeof(hp));
		snprintf(url, sizeof(url), "http://%s%s", hp, u.path);
		if (!wf__http_once(sp, &u, host_hdr, url, deadline, &r, msg, msglen)) {
			free(r.location);
			break;
		}
		if (!wf__is_followed_redirect(r.status) || !r.location || !r.location[0]) {
			free(r.location);
			if (r.status >= 200 && r.status < 300) {
				res = WF_PROBE_SUCCESS;
				wf__msg(msg, msglen, "%s", "");
			} else if (r.status >= 300 && r.status < 400) {
				res = WF_PROBE_SUCCESS;
				wf__msg(msg, msglen, "Probe terminated redirects");
			} else {
				wf__msg(msg, msglen, "HTTP probe failed with statuscode: %d",
					r.status);
			}
			break;
		}
		rc = wf__resolve_location(r.location, &u, &next, &relative, &https);
		if (rc < 0) {
			wf__msg(msg, msglen,
				"Get \"%s\": failed to parse Location header \"%.100s\"", url,
				r.location);
			free(r.location);
			break;
		}
		if (rc == 0 || strcasecmp(next.host, host) != 0) {
			/* Not to the probed host: kubelet stops with the 3xx. */
			res = WF_PROBE_SUCCESS;
			wf__msg(msg, msglen, "Probe terminated redirects");
			free(r.location);
			if (rc > 0)
				wf__url_free(&next);
			break;
		}
		if (https) {
			res = WF_PROBE_ERROR;
			wf__msg(msg, msglen,
				"redirect to \"%.200s\": HTTPS probes are not supported yet",
				r.location);
			free(r.location);
			wf__url_free(&next);
			break;
		}
		free(r.location);
		if (requests >= WF__MAX_REQUESTS) {
			wf__msg(msg, msglen, "Get \"%s\": stopped after %d redirects", url,
				WF__MAX_REQUESTS);
			wf__url_free(&next);
			break;
		}
		wf__url_free(&u);
		u = next;
		if (!relative)
			host_hdr = NULL; /* Go keeps a custom Host only across relative redirects */
	}
	wf__url_free(&u);
	return res;
}

/* --------------------------------------------------------------------- run */

wf_probe_result wf_probe_run(const json_t *probe, const wf_probe_target *t, char *msg,
			     size_t msglen)
{
	wf_err err = {0};
	wf__spec sp;
	wf_probe_result res;
	const char *host;

	wf__msg(msg, msglen, "%s", "");
	if (wf__spec_parse(probe, t ? t->container : NULL, &sp, &err) < 0) {
		wf__msg(msg, msglen, "%s", err.msg);
		wf__spec_free(&sp);
		return WF_PROBE_ERROR;
	}
	host = sp.host ? sp.host : (t && t->host && t->host[0] ? t->host : "127.0.0.1");
	switch (sp.handler) {
	case WF__EXEC:
		res = wf__run_exec(&sp, t, msg, msglen);
		break;
	case WF__HTTP:
		res = wf__run_http(&sp, host, msg, msglen);
		break;
	default:
		res = wf__run_tcp(&sp, host, msg, msglen);
		break;
	}
	wf__spec_free(&sp);
	return res;
}
