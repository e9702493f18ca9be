/*
 * shim.c - `wharf shim DIR`: runs one container process, relays its output
 * into a CRI log, records how it ended; plus the agent's side (launch, read
 * the state, signal).
 *
 * Shim life: detach (setsid) -> read spec.json -> open the
 * pipes, block the signals it handles (read via a signalfd) ->
 * vfork the container (as posix_spawn does) -> learn over a close-on-exec
 * pipe whether exec
 * succeeded (the child writes {stage, errno} there when a step fails) ->
 * write state.json -> poll the pipes and the signalfd until the container
 * exits -> kill what is left of its process group -> drain the pipes ->
 * write exit.json -> reap -> exit 0.
 *
 * Invariants:
 *   - state.json and exit.json are written with tmp + rename, so readers
 *     see a whole file or none; state.json always comes first.
 *   - The container is reaped only after exit.json is in place: while its
 *     pid still exists (a zombie counts) there is either no exit.json and
 *     the container counts as running, or exit.json says how it ended.
 *     Likewise its process group is signalled before it is reaped, while
 *     the pgid cannot have been reused.
 *   - Every fd the shim opens is O_CLOEXEC; the child closes all but
 *     0/1/2 and the status pipe before exec.
 *   - Between vfork and exec the child shares the shim's memory: it only
 *     makes async-signal-safe calls (wf_cgroup_enter is one by contract),
 *     writes nothing but its own stack frames, and leaves by exec or _exit.
 */
#include "agent/shim.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent/cgroup.h"
#include "agent/logs.h"
#include "agent/shim_spawner.h"
#include "lib/wf_mem.h"
#include "lib/wf_time.h"

extern char **environ;

#define WF__STATE "state.json"
#define WF__EXIT "exit.json"
#define WF__SPEC "spec.json"
#define WF__FILE_MAX (64 * 1024) /* state, exit and spec files are small */
#define WF__DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* What failed in the child before the command ran. */
enum {
	WF__STAGE_SETUP = 1,
	WF__STAGE_CGROUP,
	WF__STAGE_CHDIR,
	WF__STAGE_NOTFOUND, /* no PATH entry had it */
	WF__STAGE_EXEC,
};

typedef struct wf__child_err {
	int stage;
	int err;
} wf__child_err;

/* ------------------------------------------------------------------ */
/* Small file helpers                                                 */

/* Read a whole small file under dfd into a NUL-terminated heap buffer.
 * -WF_ENOENT when absent, -WF_ETOOBIG over WF__FILE_MAX, -WF_EIO. */
static int wf__read_small(int dfd, const char *name, char **data, size_t *len)
{
	int fd = openat(dfd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -WF_ENOENT : -WF_EIO;
	char *buf = wf_xmalloc(WF__FILE_MAX + 1);
	size_t n = 0;
	int rc = 0;
	for (;;) {
		ssize_t r = read(fd, buf + n, WF__FILE_MAX + 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = -WF_EIO;
			break;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > WF__FILE_MAX) {
			rc = -WF_ETOOBIG;
			break;
		}
	}
	close(fd);
	if (rc < 0) {
		free(buf);
		return rc;
	}
	buf[n] = '\0';
	*data = buf;
	*len = n;
	return 0;
}

static int wf__write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Write `j` to dfd/name atomically (a dot-prefixed temporary, then rename). */
static int wf__write_json_atomic(int dfd, const char *name, const json_t *j)
{
	char *text = json_dumps(j, JSON_COMPACT);
	if (!text)
		return -WF_ENOMEM;
	char tmp[64];
	snprintf(tmp, sizeof(tmp), ".%s.tmp", name);
	int rc = -WF_EIO;
	int fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd >= 0) {
		bool ok =
		    wf__write_all(fd, text, strlen(text)) == 0 && wf__write_all(fd, "\n", 1) == 0;
		ok = close(fd) == 0 && ok;
		if (ok && renameat(dfd, tmp, dfd, name) == 0)
			rc = 0;
		else
			unlinkat(dfd, tmp, 0);
	}
	free(text);
	return rc;
}

/* Field 22 (starttime) of /proc/<pid>/stat; false when the process is gone. */
static bool wf__proc_start_time(pid_t pid, uint64_t *out)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	/* comm (field 2) may hold spaces and parentheses: skip to the last ')'. */
	char *p = strrchr(buf, ')');
	if (!p)
		return false;
	p++;
	for (int field = 3; field < 22; field++) {
		p = strchr(p + 1, ' ');
		if (!p)
			return false;
	}
	char *end;
	errno = 0;
	unsigned long long v = strtoull(p + 1, &end, 10);
	if (errno || end == p + 1)
		return false;
	*out = v;
	return true;
}

static void wf__now_rfc3339(char buf[40])
{
	wf_time_rfc3339(time(NULL), buf);
}

/* ------------------------------------------------------------------ */
/* The spec                                                           */

typedef struct wf__spec {
	json_t *root;
	char **argv; /* NULL-terminated; strings borrowed from root */
	char **envp;
	const char *path_env; /* value of PATH in envp, or the default */
	const char *wd;
	const char *log;
	int64_t log_max;
	const char *cg_root;
	const char *cg_group;
} wf__spec;

static void wf__spec_free(wf__spec *s)
{
	free(s->argv);
	free(s->envp);
	json_decref(s->root);
	memset(s, 0, sizeof(*s));
}

/* A JSON string without embedded NULs, or NULL. */
static const char *wf__jstr(const json_t *v)
{
	if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v))
		return NULL;
	return json_string_value(v);
}

static char **wf__str_array(const json_t *a, bool env, wf_err *err, const char *field)
{
	size_t n = json_array_size(a);
	char **v = wf_xcalloc(n + 1, sizeof(char *));
	for (size_t i = 0; i < n; i++) {
		const char *s = wf__jstr(json_array_get(a, i));
		if (!s || (env && (!strchr(s, '=') || s[0] == '='))) {
			wf_err_set(err, WF_EINVAL, WF__SPEC ": %s[%zu]: %s", field, i,
				   env ? "want a \"NAME=value\" string" : "want a string");
			free(v);
			return NULL;
		}
		v[i] = (char *)s;
	}
	return v;
}

static int wf__spec_load(int dfd, wf__spec *s, wf_err *err)
{
	memset(s, 0, sizeof(*s));
	char *text;
	size_t len;
	int rc = wf__read_small(dfd, WF__SPEC, &text, &len);
	if (rc < 0)
		return wf_err_set(err, -rc, "cannot read " WF__SPEC ": %s",
				  rc == -WF_ENOENT    ? "no such file"
				  : rc == -WF_ETOOBIG ? "too big"
						      : "I/O error");
	json_error_t je;
	s->root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	free(text);
	if (!json_is_object(s->root)) {
		rc = wf_err_set(err, WF_EINVAL, WF__SPEC ": %s",
				s->root ? "not an object" : je.text);
		goto fail;
	}
	const json_t *cmd = json_object_get(s->root, "command");
	if (!json_is_array(cmd) || json_array_size(cmd) == 0) {
		rc = wf_err_set(err, WF_EINVAL, WF__SPEC ": command: want a non-empty array");
		goto fail;
	}
	if (!(s->argv = wf__str_array(cmd, false, err, "command"))) {
		rc = -WF_EINVAL;
		goto fail;
	}
	if (!s->argv[0][0]) {
		rc = wf_err_set(err, WF_EINVAL, WF__SPEC ": command[0] is empty");
		goto fail;
	}
	const json_t *env = json_object_get(s->root, "env");
	if (env && !json_is_array(env)) {
		rc = wf_err_set(err, WF_EINVAL, WF__SPEC ": env: want an array");
		goto fail;
	}
	if (!(s->envp = wf__str_array(env, true, err, "env"))) {
		rc = -WF_EINVAL;
		goto fail;
	}
	s->path_env = WF__DEFAULT_PATH;
	for (char **e = s->envp; *e; e++)
		if (!strncmp(*e, "PATH=", 5))
			s->path_env = *e + 5;

	const json_t *v = json_object_get(s->root, "workingDir");
	s->wd = v ? wf__jstr(v) : "/";
	if (!s->wd || !s->wd[0]) {
		rc = wf_err_set(err, WF_EINVAL, WF__SPEC ": workingDir: want a non-empty string");
		goto fail;
	}
	s->log = wf__jstr(json_object_get(s->root, "log"));
	if (!s->log || !s->log[0]) {
		rc = wf_err_set(err, WF_EINVAL, WF__SPEC ": log: want a path");
		goto fail;
	}
	v = json_object_get(s->root, "logMaxBytes");
	if (v && (!json_is_integer(v) || json_integer_value(v) < 0)) {
		rc = wf_err_set(err, WF_EINVAL, WF__SPEC ": logMaxBytes: want an integer >= 0");
		goto fail;
	}
	s->log_max = v ? json_integer_value(v) : 0;
	v = json_object_get(s->root, "cgroup");
	if (v && !(s->cg_group = wf__jstr(v))) {
		rc = wf_err_set(err, WF_EINVAL, WF__SPEC ": cgroup: want a string");
		goto fail;
	}
	v = json_object_get(s->root, "cgroupRoot");
	if (v && !(s->cg_root = wf__jstr(v))) {
		rc = wf_err_set(err, WF_EINVAL, WF__SPEC ": cgroupRoot: want a string");
		goto fail;
	}
	return 0;

fail:
	wf__spec_free(s);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Exit records                                                       */

static int wf__write_exit(int dfd, int code, int sig, const char *reason, const char *message)
{
	char now[40];
	wf__now_rfc3339(now);
	json_t *j = json_pack("{s:i, s:i, s:s, s:s}", "exitCode", code, "signal", sig, "finishedAt",
			      now, "reason", reason);
	if (message && message[0])
		json_object_set_new(j, "message", json_string(message));
	int rc = wf__write_json_atomic(dfd, WF__EXIT, j);
	json_decref(j);
	return rc;
}

/* strerror in Go's style: lower-case first letter. */
static void wf__errstr(int e, char *buf, size_t len)
{
	snprintf(buf, len, "%s", strerror(e));
	if (buf[0] >= 'A' && buf[0] <= 'Z' && !(buf[1] >= 'A' && buf[1] <= 'Z'))
		buf[0] = (char)(buf[0] - 'A' + 'a');
}

static int wf__start_error_code(const wf__child_err *ce)
{
	if (ce->stage == WF__STAGE_NOTFOUND || (ce->stage == WF__STAGE_EXEC && ce->err == ENOENT))
		return 127;
	if (ce->stage == WF__STAGE_EXEC)
		return 126;
	return 128;
}

static void wf__start_error_msg(const wf__child_err *ce, const wf__spec *s, char *msg, size_t len)
{
	char e[128];
	wf__errstr(ce->err, e, sizeof(e));
	switch (ce->stage) {
	case WF__STAGE_NOTFOUND:
		snprintf(msg, len, "exec: \"%s\": executable file not found in $PATH", s->argv[0]);
		break;
	case WF__STAGE_EXEC:
		snprintf(msg, len, "exec: \"%s\": %s", s->argv[0], e);
		break;
	case WF__STAGE_CHDIR:
		snprintf(msg, len, "chdir to cwd (\"%s\") set in config.json failed: %s", s->wd, e);
		break;
	case WF__STAGE_CGROUP:
		snprintf(msg, len, "cannot enter cgroup \"%s\": %s", s->cg_group, e);
		break;
	default:
		snprintf(msg, len, "cannot set up the container process: %s", e);
		break;
	}
}

/* ------------------------------------------------------------------ */
/* The container process (between vfork and exec)                     */

static void wf__child_fail(int fd, int stage, int e, int code)
{
	wf__child_err ce = {stage, e};
	ssize_t w = write(fd, &ce, sizeof(ce));
	(void)w;
	_exit(code);
}

static void wf__close_from(int lo, int hi)
{
	if (lo > hi)
		return;
	if (close_range((unsigned)lo, (unsigned)hi, 0) == 0)
		return;
	for (int fd = lo; fd <= hi && fd < 65536; fd++)
		close(fd);
}

/* Try argv[0] in each PATH directory, as execvp does, but with the
 * container's PATH and environment. Returns only on failure. */
static void wf__exec_path(const wf__spec *s, int errfd)
{
	const char *file = s->argv[0];
	if (strchr(file, '/')) {
		execve(file, s->argv, s->envp);
		wf__child_fail(errfd, WF__STAGE_EXEC, errno, errno == ENOENT ? 127 : 126);
	}
	bool denied = false;
	size_t flen = strlen(file);
	const char *p = s->path_env;
	for (;;) {
		const char *colon = strchr(p, ':');
		size_t dlen = colon ? (size_t)(colon - p) : strlen(p);
		char cand[PATH_MAX];
		if (dlen + 1 + flen < sizeof(cand)) {
			if (dlen == 0) { /* an empty entry is the current directory */
				memcpy(cand, file, flen + 1);
			} else {
				memcpy(cand, p, dlen);
				cand[dlen] = '/';
				memcpy(cand + dlen + 1, file, flen + 1);
			}
			execve(cand, s->argv, s->envp);
			switch (errno) {
			case EACCES:
				denied = true;
				break;
			case ENOENT:
			case ENOTDIR:
			case ELOOP:
			case ENAMETOOLONG:
			case ENODEV:
			case ETIMEDOUT:
			case ESTALE:
				break;
			default:
				wf__child_fail(errfd, WF__STAGE_EXEC, errno, 126);
			}
		}
		if (!colon)
			break;
		p = colon + 1;
	}
	if (denied)
		wf__child_fail(errfd, WF__STAGE_EXEC, EACCES, 126);
	wf__child_fail(errfd, WF__STAGE_NOTFOUND, ENOENT, 127);
}

/* glibc keeps its internal signals (32, 33) to itself: sigaction refuses
 * them, and posix_spawn leaves them ignored in the shim, which exec would
 * pass on to the container. Reset them with the raw system call, on the
 * architectures whose kernel sigaction layout is the generic one. */
static void wf__reset_internal_signals(void)
{
#if defined(__x86_64__) || defined(__aarch64__) || (defined(__riscv) && __riscv_xlen == 64)
	struct {
		void (*handler)(int);
		unsigned long flags;
		void (*restorer)(void);
		uint64_t mask;
	} ksa = {SIG_DFL, 0, NULL, 0};
	for (int sig = 32; sig < SIGRTMIN; sig++)
		syscall(SYS_rt_sigaction, sig, &ksa, NULL, sizeof(ksa.mask));
#endif
}

static void wf__child(const wf__spec *s, const wf_cgroups *cg, int devnull, int out_w, int err_w,
		      int errfd)
{
	sigset_t none;
	sigemptyset(&none);
	for (int sig = 1; sig < NSIG; sig++) {
		if (sig == SIGKILL || sig == SIGSTOP)
			continue;
		struct sigaction sa;
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = SIG_DFL;
		sigaction(sig, &sa, NULL);
	}
	wf__reset_internal_signals();
	sigprocmask(SIG_SETMASK, &none, NULL);

	if (setpgid(0, 0) < 0)
		wf__child_fail(errfd, WF__STAGE_SETUP, errno, 128);
	if (cg && wf_cgroups_mode(cg) != WF_CGROUP_NONE) {
		int rc = wf_cgroup_enter(cg, s->cg_group, getpid());
		if (rc < 0)
			wf__child_fail(errfd, WF__STAGE_CGROUP,
				       rc == -WF_ENOENT	  ? ENOENT
				       : rc == -WF_EINVAL ? EINVAL
							  : EIO,
				       128);
	}
	if (dup2(devnull, 0) < 0 || dup2(out_w, 1) < 0 || dup2(err_w, 2) < 0)
		wf__child_fail(errfd, WF__STAGE_SETUP, errno, 128);
	if (chdir(s->wd) < 0)
		wf__child_fail(errfd, WF__STAGE_CHDIR, errno, 128);
	wf__close_from(3, errfd - 1);
	wf__close_from(errfd + 1, INT_MAX);
	wf__exec_path(s, errfd);
}

/* Start the container process with vfork, as posix_spawn does: nothing of
 * the shim's address space is copied, and the shim waits until the child
 * has exec'd or left. Every signal is blocked across it so that no handler
 * of the shim runs in the child; the child resets them and unblocks before
 * exec. The child never returns from here. */
static pid_t wf__spawn_child(const wf__spec *s, const wf_cgroups *cg, int devnull, int out_w,
			     int err_w, int errfd)
{
	sigset_t all, old;
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &old);
	pid_t pid = vfork();
	if (pid == 0)
		wf__child(s, cg, devnull, out_w, err_w, errfd);
	int e = errno;
	sigprocmask(SIG_SETMASK, &old, NULL);
	errno = e;
	return pid;
}

/* ------------------------------------------------------------------ */
/* Log relay                                                          */

typedef struct wf__log {
	const char *path;
	char *path1;
	int fd; /* -1 until the first output */
	bool failed; /* the log could not be opened */
	off_t size;
	int64_t max;
} wf__log;

typedef struct wf__stream {
	int fd; /* read end of the pipe; -1 once closed */
	bool is_stderr;
	size_t len;
	char buf[WF_LOG_FRAGMENT_MAX];
} wf__stream;

static void wf__log_rotate(wf__log *l)
{
	if (rename(l->path, l->path1) < 0) {
		fprintf(stderr, "wharf shim: rotating %s: %s\n", l->path, strerror(errno));
		return;
	}
	int fd = open(l->path, O_WRONLY | O_CREAT | O_APPEND | O_TRUNC | O_CLOEXEC, 0640);
	if (fd < 0) {
		fprintf(stderr, "wharf shim: reopening %s: %s\n", l->path, strerror(errno));
		return;
	}
	close(l->fd);
	l->fd = fd;
	l->size = 0;
}

static int wf__mkdir_p(const char *dir, wf_err *err);

/* Open the log (and create its directory) at the first output, so that a
 * container that writes nothing costs no files. */
static bool wf__log_open(wf__log *l)
{
	char *dir = wf_xstrdup(l->path);
	char *slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		wf__mkdir_p(dir, NULL);
	}
	free(dir);
	l->fd = open(l->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	if (l->fd < 0) {
		fprintf(stderr, "wharf shim: cannot open log %s: %s\n", l->path, strerror(errno));
		return false;
	}
	struct stat sb;
	l->size = fstat(l->fd, &sb) == 0 ? sb.st_size : 0;
	return true;
}

static void wf__log_record(wf__log *l, bool is_stderr, bool partial, const char *p, size_t n)
{
	if (l->fd < 0 && !l->failed)
		l->failed = !wf__log_open(l);
	if (l->fd < 0)
		return; /* output is dropped; the reason is in shim.log */
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	char hdr[64];
	wf_log_time_cri(&now, hdr);
	size_t h = strlen(hdr);
	h += (size_t)snprintf(hdr + h, sizeof(hdr) - h, " %s %c ", is_stderr ? "stderr" : "stdout",
			      partial ? 'P' : 'F');
	off_t total = (off_t)(h + n + 1);
	if (l->max > 0 && l->size > 0 && l->size + total > l->max)
		wf__log_rotate(l);
	struct iovec iov[3] = {{hdr, h}, {(void *)p, n}, {"\n", 1}};
	int cnt = 3;
	struct iovec *v = iov;
	while (cnt > 0) {
		ssize_t w = writev(l->fd, v, cnt);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			fprintf(stderr, "wharf shim: writing %s: %s\n", l->path, strerror(errno));
			return;
		}
		l->size += w;
		while (cnt > 0 && (size_t)w >= v->iov_len) {
			w -= (ssize_t)v->iov_len;
			v++;
			cnt--;
		}
		if (cnt > 0) {
			v->iov_base = (char *)v->iov_base + w;
			v->iov_len -= (size_t)w;
		}
	}
}

/* Turn the buffered bytes of s into records: each complete line as F, a
 * full buffer without a newline as P. */
static void wf__stream_lines(wf__stream *s, wf__log *l)
{
	size_t off = 0;
	char *nl;
	while ((nl = memchr(s->buf + off, '\n', s->len - off))) {
		size_t n = (size_t)(nl - (s->buf + off));
		wf__log_record(l, s->is_stderr, false, s->buf + off, n);
		off += n + 1;
	}
	memmove(s->buf, s->buf + off, s->len - off);
	s->len -= off;
	if (s->len == sizeof(s->buf)) {
		wf__log_record(l, s->is_stderr, true, s->buf, s->len);
		s->len = 0;
	}
}

/* The last line, even without its newline, is a whole line (as containerd
 * writes it). */
static void wf__stream_flush(wf__stream *s, wf__log *l)
{
	if (s->len > 0)
		wf__log_record(l, s->is_stderr, false, s->buf, s->len);
	s->len = 0;
}

/* Read once from s: 1 when data came, 0 when none is there yet (non-
 * blocking), -1 at EOF or on error (the stream is then flushed and closed). */
static int wf__stream_read(wf__stream *s, wf__log *l)
{
	for (;;) {
		ssize_t r = read(s->fd, s->buf + s->len, sizeof(s->buf) - s->len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == EAGAIN)
			return 0;
		if (r <= 0) {
			wf__stream_flush(s, l);
			close(s->fd);
			s->fd = -1;
			return -1;
		}
		s->len += (size_t)r;
		wf__stream_lines(s, l);
		return 1;
	}
}

/* After the container exited: take what is already in the pipe, without
 * waiting for descendants that may still hold its write end (bounded, in
 * case one that escaped the process group keeps writing). */
static void wf__stream_drain(wf__stream *s, wf__log *l)
{
	if (s->fd < 0)
		return;
	int fl = fcntl(s->fd, F_GETFL);
	fcntl(s->fd, F_SETFL, fl | O_NONBLOCK);
	for (int i = 0; i < 4096; i++)
		if (wf__stream_read(s, l) <= 0)
			break;
	wf__stream_flush(s, l);
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
}

/* ------------------------------------------------------------------ */
/* The shim                                                           */

static void wf__sanitize_fds(void)
{
	for (int fd = 0; fd < 3; fd++) {
		if (fcntl(fd, F_GETFD) < 0) {
			int n = open("/dev/null", O_RDWR);
			if (n >= 0 && n != fd)
				close(n);
		}
	}
	wf__close_from(3, INT_MAX);
}

/* Run the container described by dfd/spec.json; returns once exit.json
 * is written (0) or could not be written (1). */
static int wf__shim_run(int dfd)
{
	wf_err err = {0};
	wf__spec s;
	if (wf__spec_load(dfd, &s, &err) < 0)
		return wf__write_exit(dfd, 128, 0, "StartError", err.msg) < 0;

	int rc = 1;
	wf__log l = {
	    .path = s.log, .path1 = wf_xasprintf("%s.1", s.log), .fd = -1, .max = s.log_max};
	wf__stream so = {.fd = -1, .is_stderr = false}, se = {.fd = -1, .is_stderr = true};
	int devnull = -1, out_p[2] = {-1, -1}, err_p[2] = {-1, -1}, st_p[2] = {-1, -1}, sfd = -1;
	wf_cgroups *cg = NULL;
	char msg[512];

	devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (devnull < 0 || pipe2(out_p, O_CLOEXEC) < 0 || pipe2(err_p, O_CLOEXEC) < 0 ||
	    pipe2(st_p, O_CLOEXEC) < 0) {
		snprintf(msg, sizeof(msg), "cannot create pipes: %s", strerror(errno));
		rc = wf__write_exit(dfd, 128, 0, "StartError", msg) < 0;
		goto out;
	}

	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0) {
		snprintf(msg, sizeof(msg), "signalfd: %s", strerror(errno));
		rc = wf__write_exit(dfd, 128, 0, "StartError", msg) < 0;
		goto out;
	}
	if (s.cg_group) {
		char why[256] = "";
		cg = wf_cgroups_detect(s.cg_root, why, sizeof(why));
	}

	pid_t pid = wf__spawn_child(&s, cg, devnull, out_p[1], err_p[1], st_p[1]);
	if (pid < 0) {
		snprintf(msg, sizeof(msg), "vfork: %s", strerror(errno));
		rc = wf__write_exit(dfd, 128, 0, "StartError", msg) < 0;
		goto out;
	}

	close(out_p[1]);
	close(err_p[1]);
	close(st_p[1]);
	out_p[1] = err_p[1] = st_p[1] = -1;
	so.fd = out_p[0];
	se.fd = err_p[0];
	out_p[0] = err_p[0] = -1;

	wf__child_err ce;
	size_t got = 0;
	while (got < sizeof(ce)) {
		ssize_t r = read(st_p[0], (char *)&ce + got, sizeof(ce) - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	if (got == sizeof(ce)) {
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		wf__start_error_msg(&ce, &s, msg, sizeof(msg));
		rc = wf__write_exit(dfd, wf__start_error_code(&ce), 0, "StartError", msg) < 0;
		goto out;
	}

	uint64_t start_time = 0;
	wf__proc_start_time(pid, &start_time);
	char now[40];
	wf__now_rfc3339(now);
	json_t *state = json_pack("{s:i, s:i, s:I, s:s}", "pid", (int)pid, "pgid", (int)pid,
				  "startTime", (json_int_t)start_time, "startedAt", now);
	if (wf__write_json_atomic(dfd, WF__STATE, state) < 0)
		fprintf(stderr, "wharf shim: cannot write " WF__STATE "\n");
	json_decref(state);

	bool exited = false;
	siginfo_t info;
	while (!exited) {
		struct pollfd p[3] = {{so.fd, POLLIN, 0}, {se.fd, POLLIN, 0}, {sfd, POLLIN, 0}};
		if (poll(p, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "wharf shim: poll: %s\n", strerror(errno));
			break;
		}
		if (p[0].revents)
			wf__stream_read(&so, &l);
		if (p[1].revents)
			wf__stream_read(&se, &l);
		struct signalfd_siginfo si;
		while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
			if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT)
				kill(-pid, (int)si.ssi_signo);
		}
		/* Look without reaping (see the invariants). */
		memset(&info, 0, sizeof(info));
		if (waitid(P_PID, (id_t)pid, &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
		    info.si_pid == pid)
			exited = true;
	}
	while (!exited) {
		memset(&info, 0, sizeof(info));
		exited = waitid(P_PID, (id_t)pid, &info, WEXITED | WNOWAIT) == 0 || errno != EINTR;
	}

	kill(-pid, SIGKILL);
	wf__stream_drain(&so, &l);
	wf__stream_drain(&se, &l);
	int code, sig = 0;
	if (info.si_code == CLD_KILLED || info.si_code == CLD_DUMPED) {
		sig = info.si_status;
		code = 128 + sig;
	} else {
		code = info.si_status;
	}
	rc = wf__write_exit(dfd, code, sig, code == 0 ? "Completed" : "Error", NULL) < 0;
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;

out:
	if (so.fd >= 0)
		close(so.fd);
	if (se.fd >= 0)
		close(se.fd);
	int fds[] = {l.fd, devnull, out_p[0], out_p[1], err_p[0], err_p[1], st_p[0], st_p[1], sfd};
	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		if (fds[i] >= 0)
			close(fds[i]);
	wf_cgroups_free(cg);
	free(l.path1);
	wf__spec_free(&s);
	return rc;
}

int wf_shim_main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: wharf shim DIR\n");
		return 2;
	}
	wf__sanitize_fds();
	setsid();
	int dfd = open(argv[1], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		fprintf(stderr, "wharf shim: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	int rc = wf__shim_run(dfd);
	close(dfd);
	return rc;
}

/* ------------------------------------------------------------------ */
/* The agent's side                                                   */

static int wf__mkdir_p(const char *dir, wf_err *err)
{
	char *p = wf_xstrdup(dir);
	int rc = 0;
	for (char *s = p + 1;; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		char c = *s;
		*s = '\0';
		if (mkdir(p, 0755) < 0 && errno != EEXIST) {
			rc = wf_err_set(err, WF_EIO, "mkdir %s: %s", p, strerror(errno));
			break;
		}
		*s = c;
		if (c == '\0')
			break;
	}
	free(p);
	return rc;
}

/* posix_spawn `self_exe shim DIR` in its own session, with a clean
 * signal mask, default dispositions and no fds but 0-2. 0 or an errno. */
static int wf__spawn_exe(const char *self_exe, const char *dir, const char *shim_log, pid_t *pid)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, shim_log, O_WRONLY | O_CREAT | O_APPEND, 0644);
	posix_spawn_file_actions_adddup2(&fa, 1, 2);
#if defined(__GLIBC__) && __GLIBC_PREREQ(2, 34)
	posix_spawn_file_actions_addclosefrom_np(&fa, 3); /* the shim closes them too */
#endif
	posix_spawnattr_init(&at);
	sigset_t none, all;
	sigemptyset(&none);
	sigfillset(&all);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setsigdefault(&at, &all);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK |
					  POSIX_SPAWN_SETSIGDEF);
	char *argv[] = {"wharf", "shim", (char *)dir, NULL};
	int e = posix_spawn(pid, self_exe, &fa, &at, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	return e;
}


int wf_shim_start(const char *self_exe, wf_shim_spawner *sp, const char *dir,
		  const json_t *spec, pid_t *shim_pid, wf_err *err)
{
	*shim_pid = -1;
	if (!json_is_object(spec))
		return wf_err_set(err, WF_EINVAL, "shim spec: want an object");
	int rc = wf__mkdir_p(dir, err);
	if (rc < 0)
		return rc;
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return wf_err_set(err, WF_EIO, "%s: %s", dir, strerror(errno));
	unlinkat(dfd, WF__STATE, 0);
	unlinkat(dfd, WF__EXIT, 0);
	if (wf__write_json_atomic(dfd, WF__SPEC, spec) < 0) {
		close(dfd);
		return wf_err_set(err, WF_EIO, "%s/" WF__SPEC ": cannot write", dir);
	}

	char *shim_log = wf_xasprintf("%s/shim.log", dir);
	pid_t pid;
	if (sp) {
		rc = wf_shim_spawner_spawn(sp, dir, shim_log, &pid, err);
		free(shim_log);
		if (rc < 0) {
			close(dfd);
			return rc;
		}
	} else {
		int e = wf__spawn_exe(self_exe, dir, shim_log, &pid);
		free(shim_log);
		if (e != 0) {
			close(dfd);
			return wf_err_set(err, WF_EIO, "starting the shim %s: %s", self_exe,
					  strerror(e));
		}
	}
	*shim_pid = pid;
	close(dfd);
	return 0;
}

bool wf_shim_gone(pid_t pid, int *status)
{
	siginfo_t info;
	memset(&info, 0, sizeof(info));
	if (waitid(P_PID, (id_t)pid, &info, WEXITED | WNOHANG | WNOWAIT) == 0)
		return info.si_pid == pid && (*status = info.si_status, true);
	*status = -1;
	return errno == ECHILD && kill(pid, 0) < 0 && errno == ESRCH;
}

int wf_shim_launch(const char *self_exe, wf_shim_spawner *sp, const char *dir,
		   const json_t *spec, pid_t *shim_pid, wf_err *err)
{
	int rc = wf_shim_start(self_exe, sp, dir, spec, shim_pid, err);
	if (rc < 0)
		return rc;
	pid_t pid = *shim_pid;
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return wf_err_set(err, WF_EIO, "%s: %s", dir, strerror(errno));

	/* Wait for the shim to say how the start went: about 10 s at most. */
	rc = wf_err_set(err, WF_EIO,
			"the shim did not start the container within 10s (see %s/shim.log)", dir);
	for (int i = 0; i < 2000; i++) {
		if (faccessat(dfd, WF__STATE, F_OK, 0) == 0 ||
		    faccessat(dfd, WF__EXIT, F_OK, 0) == 0) {
			wf_err_clear(err);
			rc = 0;
			break;
		}
		int status;
		if (wf_shim_gone(pid, &status)) {
			if (faccessat(dfd, WF__STATE, F_OK, 0) == 0 ||
			    faccessat(dfd, WF__EXIT, F_OK, 0) == 0) {
				wf_err_clear(err);
				rc = 0;
			} else {
				rc = wf_err_set(err, WF_EIO,
						"the shim exited (status %d) before starting the "
						"container (see %s/shim.log)",
						status, dir);
			}
			break;
		}
		/* A forked shim starts a container in a millisecond or two. */
		struct timespec ts = {0, i < 40 ? 250000 : i < 140 ? 1000000 : 5000000};
		nanosleep(&ts, NULL);
	}
	close(dfd);
	return rc;
}

static int wf__json_int(const json_t *o, const char *k, bool required, json_int_t lo, json_int_t hi,
			json_int_t *out)
{
	const json_t *v = json_object_get(o, k);
	if (!v)
		return required ? -1 : 0;
	if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
		return -1;
	*out = json_integer_value(v);
	return 0;
}

static int wf__json_str(const json_t *o, const char *k, char *buf, size_t len)
{
	const json_t *v = json_object_get(o, k);
	if (!v)
		return 0;
	const char *s = wf__jstr(v);
	if (!s)
		return -1;
	snprintf(buf, len, "%s", s);
	return 0;
}

/* Load dfd/name as a JSON object: 1 loaded, 0 absent, < 0 malformed. */
static int wf__load_obj(int dfd, const char *name, json_t **out)
{
	char *text;
	size_t len;
	int rc = wf__read_small(dfd, name, &text, &len);
	if (rc == -WF_ENOENT)
		return 0;
	if (rc < 0)
		return rc;
	*out = json_loadb(text, len, 0, NULL);
	free(text);
	if (!json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		return -WF_EINVAL;
	}
	return 1;
}

int wf_shim_read_state(const char *dir, wf_shim_state *st, wf_err *err)
{
	memset(st, 0, sizeof(*st));
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return wf_err_set(err, errno == ENOENT ? WF_ENOENT : WF_EIO, "%s: %s", dir,
				  strerror(errno));
	if (faccessat(dfd, WF__SPEC, F_OK, 0) < 0) {
		close(dfd);
		return wf_err_set(err, WF_ENOENT, "%s: no container spec", dir);
	}

	int rc = 0;
	json_t *j = NULL;
	int r = wf__load_obj(dfd, WF__STATE, &j);
	bool alive = false;
	if (r > 0) {
		json_int_t pid = 0, start = 0;
		if (wf__json_int(j, "pid", true, 1, INT_MAX, &pid) < 0 ||
		    wf__json_int(j, "startTime", true, 0, INT64_MAX, &start) < 0 ||
		    wf__json_str(j, "startedAt", st->started_at, sizeof(st->started_at)) < 0) {
			rc = wf_err_set(err, WF_EINVAL, "%s/" WF__STATE ": malformed", dir);
			st->started_at[0] = '\0';
		} else {
			st->started = true;
			st->pid = (pid_t)pid;
			st->start_time = (uint64_t)start;
			/* Before looking for exit.json: the shim writes it before
			 * reaping, so a gone process means exit.json is there. */
			uint64_t now_start;
			alive =
			    wf__proc_start_time(st->pid, &now_start) && now_start == st->start_time;
		}
	} else if (r < 0) {
		rc = wf_err_set(err, -r, "%s/" WF__STATE ": malformed", dir);
	}
	json_decref(j);
	j = NULL;

	r = wf__load_obj(dfd, WF__EXIT, &j);
	if (r > 0) {
		json_int_t code = 0, sig = 0;
		if (wf__json_int(j, "exitCode", true, INT_MIN, INT_MAX, &code) < 0 ||
		    wf__json_int(j, "signal", false, 0, 255, &sig) < 0 ||
		    wf__json_str(j, "finishedAt", st->finished_at, sizeof(st->finished_at)) < 0 ||
		    wf__json_str(j, "reason", st->reason, sizeof(st->reason)) < 0 ||
		    wf__json_str(j, "message", st->message, sizeof(st->message)) < 0) {
			if (rc == 0)
				rc = wf_err_set(err, WF_EINVAL, "%s/" WF__EXIT ": malformed", dir);
			st->finished_at[0] = st->reason[0] = st->message[0] = '\0';
		} else {
			st->exited = true;
			st->exit_code = (int)code;
			st->signal = (int)sig;
		}
	} else if (r < 0 && rc == 0) {
		rc = wf_err_set(err, -r, "%s/" WF__EXIT ": malformed", dir);
	}
	json_decref(j);
	close(dfd);
	st->running = st->started && !st->exited && alive;
	return rc;
}

int wf_shim_signal(const wf_shim_state *st, int sig)
{
	if (!st->started || st->pid <= 0)
		return -WF_EINVAL;
	uint64_t now_start;
	if (wf__proc_start_time(st->pid, &now_start) && now_start != st->start_time)
		return -WF_ENOENT; /* the pid was reused, so its old group is empty */
	if (kill(-st->pid, sig) < 0)
		return errno == ESRCH ? -WF_ENOENT : -WF_EIO;
	return 0;
}
