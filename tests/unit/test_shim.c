/*
 * test_shim.c - unit tests for the container shim (agent/shim.h): real
 * containers (/bin/sh scripts) started through wf_shim_launch, with this
 * test binary as the shim (`test_shim shim DIR` runs wf_shim_main).
 *
 * Covered: exit codes and reasons, both streams in the CRI log with valid
 * timestamps, the exact environment, workingDir, stdin and inherited fds,
 * start errors (not found, not executable, bad directory, bad spec),
 * SIGTERM through wf_shim_signal reaching a trap, signals sent to the shim
 * forwarded, a shim outliving its parent (kill -9), partial and 100 KB
 * lines, log rotation read back across the boundary, malformed and
 * truncated state files, pid-reuse checks. Every shim must exit 0 with an
 * empty shim.log (no sanitizer report). Waits are bounded polls; nothing
 * asserts on timing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent/logs.h"
#include "agent/shim.h"
#include "lib/wf_mem.h"
#include "lib/wf_time.h"
#include "test_fs.h"

#define SELF "/proc/self/exe"

static char g_dir[64];
static char g_ctr[128]; /* the shim's DIR */
static char g_log[128];
static wf_shim_spawner *g_sp; /* NULL: shims are exec'd */

static int setup(void **state)
{
	(void)state;
	if (!test_fs_mkdtemp(g_dir, sizeof(g_dir), "wf-shim"))
		return -1;
	snprintf(g_ctr, sizeof(g_ctr), "%s/pod/ctr/0", g_dir);
	snprintf(g_log, sizeof(g_log), "%s/ctr.log", g_dir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	test_fs_rm_rf(g_dir);
	return 0;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	wf_buf b;
	wf_buf_init(&b);
	char tmp[4096];
	size_t n;
	while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0)
		wf_buf_append(&b, tmp, n);
	fclose(f);
	return b.data ? wf_buf_steal(&b) : wf_xstrdup("");
}

static void spit(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static json_t *spec_sh(const char *script)
{
	return json_pack("{s:[s,s,s], s:[s], s:s, s:s}", "command", "/bin/sh", "-c", script, "env",
			 "PATH=/usr/bin:/bin", "workingDir", g_dir, "log", g_log);
}

static pid_t launch(json_t *spec)
{
	pid_t shim = -1;
	wf_err err = {0};
	int rc = wf_shim_launch(SELF, g_sp, g_ctr, spec, &shim, &err);
	json_decref(spec);
	if (rc != 0)
		fail_msg("wf_shim_launch: %d %s", rc, err.msg);
	assert_true(shim > 0);
	return shim;
}

static void read_state(wf_shim_state *st)
{
	wf_err err = {0};
	int rc = wf_shim_read_state(g_ctr, st, &err);
	if (rc != 0)
		fail_msg("wf_shim_read_state: %d %s", rc, err.msg);
}

/* The shim's diagnostics (and any sanitizer report) land in shim.log. */
static void assert_shim_log_clean(void)
{
	char *p = wf_xasprintf("%s/shim.log", g_ctr);
	char *s = slurp(p);
	free(p);
	assert_non_null(s);
	if (s[0])
		fail_msg("shim.log is not empty:\n%s", s);
	free(s);
}

/* Wait (bounded) for exit.json, then reap the shim: it must exit 0. */
static bool proc_gone(pid_t pid)
{
	char path[64], buf[512];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return true;
	char *ok = fgets(buf, sizeof(buf), f);
	fclose(f);
	char *rp = ok ? strrchr(buf, ')') : NULL;
	return rp && (rp[2] == 'Z' || rp[2] == 'X');
}

static void wait_exit(pid_t shim, wf_shim_state *st)
{
	for (int i = 0; i < 2000; i++) {
		read_state(st);
		if (st->exited)
			break;
		test_fs_sleep_ms(5);
	}
	assert_true(st->exited);
	assert_false(st->running);
	if (shim > 0 && g_sp) {
		/* Forked by the spawner, which reaps it. */
		bool gone = false;
		for (int i = 0; i < 2000 && !(gone = proc_gone(shim)); i++)
			test_fs_sleep_ms(5);
		assert_true(gone);
		assert_shim_log_clean();
	} else if (shim > 0) {
		int status;
		assert_int_equal(waitpid(shim, &status, 0), shim);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
		assert_shim_log_clean();
	}
}

/* Wait (bounded) until the log holds `text` somewhere. */
static void wait_log(const char *text)
{
	for (int i = 0; i < 2000; i++) {
		char *s = slurp(g_log);
		bool found = s && strstr(s, text);
		free(s);
		if (found)
			return;
		test_fs_sleep_ms(5);
	}
	fail_msg("log never showed \"%s\"", text);
}

static char *read_all(int64_t tail)
{
	wf_log_opts o = {.tail_lines = tail};
	wf_buf out;
	wf_buf_init(&out);
	assert_int_equal(wf_log_read(g_log, &o, &out, NULL, NULL), 0);
	return out.data ? wf_buf_steal(&out) : wf_xstrdup("");
}

/* Every line of the log file is a valid record; collect each stream's
 * joined text and check the timestamps lie in [lo, hi]. */
static void check_log_file(const char *path, time_t lo, time_t hi, wf_buf *out, wf_buf *err)
{
	char *s = slurp(path);
	assert_non_null(s);
	char *p = s;
	while (*p) {
		char *nl = strchr(p, '\n');
		assert_non_null(nl);
		wf_log_record r;
		if (!wf_log_parse_record(p, (size_t)(nl - p), &r))
			fail_msg("bad record: %.*s", (int)(nl - p), p);
		assert_true(r.sec >= lo && r.sec <= hi);
		assert_int_equal(p[30], ' '); /* nine fractional digits, UTC */
		assert_int_equal(p[29], 'Z');
		wf_buf *b = r.is_stderr ? err : out;
		if (b) {
			wf_buf_append(b, r.text, r.len);
			if (!r.partial)
				wf_buf_putc(b, '\n');
		}
		p = nl + 1;
	}
	free(s);
}

/* ------------------------------------------------------------------ */

static void test_exit_code_and_streams(void **state)
{
	(void)state;
	time_t t0 = time(NULL);
	pid_t shim = launch(spec_sh("echo out1; echo err1 >&2; echo out2; echo err2 >&2; exit 3"));
	wf_shim_state st;
	wait_exit(shim, &st);
	time_t t1 = time(NULL);

	assert_true(st.started);
	assert_true(st.pid > 0);
	assert_true(st.start_time > 0);
	assert_int_equal(st.exit_code, 3);
	assert_int_equal(st.signal, 0);
	assert_string_equal(st.reason, "Error");
	assert_string_equal(st.message, "");
	time_t ts;
	assert_int_equal(wf_time_parse_rfc3339(st.started_at, &ts), 0);
	assert_true(ts >= t0 && ts <= t1);
	assert_int_equal(wf_time_parse_rfc3339(st.finished_at, &ts), 0);
	assert_true(ts >= t0 && ts <= t1);

	wf_buf out, err;
	wf_buf_init(&out);
	wf_buf_init(&err);
	check_log_file(g_log, t0, t1, &out, &err);
	assert_string_equal(out.data, "out1\nout2\n");
	assert_string_equal(err.data, "err1\nerr2\n");
	wf_buf_free(&out);
	wf_buf_free(&err);

	/* a process that is gone is not running, nor can it be signalled */
	assert_int_equal(wf_shim_signal(&st, SIGTERM), -WF_ENOENT);

	/* exit 0 is Completed */
	shim = launch(spec_sh("true"));
	wait_exit(shim, &st);
	assert_int_equal(st.exit_code, 0);
	assert_string_equal(st.reason, "Completed");
}

static void test_env_workdir_fds(void **state)
{
	(void)state;
	char wd[128];
	snprintf(wd, sizeof(wd), "%s/work dir", g_dir);
	assert_int_equal(mkdir(wd, 0755), 0);
	setenv("WF_TEST_LEAK", "leaked", 1);
	json_t *spec = json_pack("{s:[s,s,s], s:[s,s,s], s:s, s:s, s:i}", "command", "sh", "-c",
				 "echo \"foo=$FOO|leak=$WF_TEST_LEAK|home=$HOME|pwd=$(pwd)\"; "
				 "echo \"stdin=$(readlink /proc/self/fd/0)\"; "
				 "grep -E '^Sig(Blk|Ign)' /proc/self/status | tr -d '\\t'",
				 "env", "FOO=bar  baz", "PATH=/usr/bin:/bin",
				 "EMPTY=", "workingDir", wd, "log", g_log, "logMaxBytes", 0);
	pid_t shim = launch(spec);
	unsetenv("WF_TEST_LEAK");
	wf_shim_state st;
	wait_exit(shim, &st);
	assert_int_equal(st.exit_code, 0);
	char *s = read_all(-1);
	char *want = wf_xasprintf("foo=bar  baz|leak=|home=|pwd=%s\n"
				  "stdin=/dev/null\n"
				  "SigBlk:0000000000000000\n"
				  "SigIgn:0000000000000000\n",
				  wd);
	assert_string_equal(s, want);
	free(want);
	free(s);

	/* nothing but 0-2 is inherited: ls's own directory fd comes next */
	unlink(g_log);
	shim = launch(
	    json_pack("{s:[s,s], s:s}", "command", "/bin/ls", "/proc/self/fd", "log", g_log));
	wait_exit(shim, &st);
	s = read_all(-1);
	assert_string_equal(s, "0\n1\n2\n3\n");
	free(s);
}

/* The log and its directory appear at the first output, not before. */
static void test_log_created_at_first_output(void **state)
{
	(void)state;
	wf_shim_state st;
	char *log = wf_xasprintf("%s/logs/a/b/0.log", g_dir);
	pid_t shim = launch(json_pack("{s:[s], s:s}", "command", "/bin/true", "log", log));
	wait_exit(shim, &st);
	assert_int_equal(st.exit_code, 0);
	assert_int_not_equal(access(log, F_OK), 0);
	shim = launch(json_pack("{s:[s,s,s], s:s}", "command", "/bin/sh", "-c", "echo hello",
				"log", log));
	wait_exit(shim, &st);
	char *s = slurp(log);
	assert_non_null(s);
	assert_non_null(strstr(s, " stdout F hello\n"));
	free(s);
	free(log);
}

static void assert_start_error(json_t *spec, int code, const char *msg)
{
	pid_t shim = launch(spec);
	wf_shim_state st;
	wait_exit(shim, &st);
	assert_false(st.started);
	assert_int_equal(st.exit_code, code);
	assert_string_equal(st.reason, "StartError");
	if (strcmp(st.message, msg) != 0)
		fail_msg("message \"%s\", want \"%s\"", st.message, msg);
	assert_true(st.finished_at[0] != '\0');
}

static void test_start_errors(void **state)
{
	(void)state;
	assert_start_error(json_pack("{s:[s,s], s:[s], s:s}", "command", "no-such-cmd-wf", "x",
				     "env", "PATH=/usr/bin:/bin:/nonexistent", "log", g_log),
			   127, "exec: \"no-such-cmd-wf\": executable file not found in $PATH");
	/* PATH is the container's: sh is not in /nonexistent */
	assert_start_error(json_pack("{s:[s], s:[s], s:s}", "command", "sh", "env",
				     "PATH=/nonexistent", "log", g_log),
			   127, "exec: \"sh\": executable file not found in $PATH");
	assert_start_error(json_pack("{s:[s], s:s}", "command", "/nonexistent/prog", "log", g_log),
			   127, "exec: \"/nonexistent/prog\": no such file or directory");

	char script[128];
	snprintf(script, sizeof(script), "%s/noexec.sh", g_dir);
	spit(script, "#!/bin/sh\necho hi\n");
	assert_int_equal(chmod(script, 0644), 0);
	char *msg = wf_xasprintf("exec: \"%s\": permission denied", script);
	assert_start_error(json_pack("{s:[s], s:s}", "command", script, "log", g_log), 126, msg);
	free(msg);
	/* found in PATH but not executable */
	char *path = wf_xasprintf("PATH=%s", g_dir);
	assert_start_error(
	    json_pack("{s:[s], s:[s], s:s}", "command", "noexec.sh", "env", path, "log", g_log),
	    126, "exec: \"noexec.sh\": permission denied");
	free(path);

	assert_start_error(json_pack("{s:[s], s:s, s:s}", "command", "/bin/true", "workingDir",
				     "/nonexistent/dir", "log", g_log),
			   128,
			   "chdir to cwd (\"/nonexistent/dir\") set in config.json failed: no such "
			   "file or directory");

	/* bad specs are refused by the shim with a message naming the field */
	assert_start_error(json_pack("{s:s, s:s}", "command", "/bin/true", "log", g_log), 128,
			   "spec.json: command: want a non-empty array");
	assert_start_error(json_pack("{s:[], s:s}", "command", "log", g_log), 128,
			   "spec.json: command: want a non-empty array");
	assert_start_error(json_pack("{s:[s,i], s:s}", "command", "/bin/true", 1, "log", g_log),
			   128, "spec.json: command[1]: want a string");
	assert_start_error(json_pack("{s:[s], s:[s]}", "command", "/bin/true", "env", "NOEQUALS"),
			   128, "spec.json: env[0]: want a \"NAME=value\" string");
	assert_start_error(json_pack("{s:[s]}", "command", "/bin/true"), 128,
			   "spec.json: log: want a path");
	assert_start_error(
	    json_pack("{s:[s], s:s, s:i}", "command", "/bin/true", "log", g_log, "logMaxBytes", -1),
	    128, "spec.json: logMaxBytes: want an integer >= 0");
	json_t *nul = json_pack("{s:[s], s:s}", "command", "/bin/true", "log", g_log);
	json_array_set_new(json_object_get(nul, "command"), 0, json_stringn("/bin/t\0rue", 10));
	pid_t nshim = launch(nul); /* jansson refuses \u0000 when the shim loads it */
	wf_shim_state nst;
	wait_exit(nshim, &nst);
	assert_int_equal(nst.exit_code, 128);
	assert_string_equal(nst.reason, "StartError");
	assert_memory_equal(nst.message, "spec.json: ", 11);
	/* A log that cannot be created does not stop the container: its output
	 * is dropped and shim.log says why. */
	char *file = wf_xasprintf("%s/afile", g_dir);
	spit(file, "");
	char *log = wf_xasprintf("%s/x.log", file);
	pid_t lshim = launch(json_pack("{s:[s,s], s:s}", "command", "echo", "hi", "log", log));
	wf_shim_state lst = {0};
	for (int i = 0; i < 2000 && !lst.exited; i++) {
		read_state(&lst);
		test_fs_sleep_ms(5);
	}
	assert_true(lst.exited);
	assert_int_equal(lst.exit_code, 0);
	if (!g_sp)
		assert_int_equal(waitpid(lshim, NULL, 0), lshim);
	char *slog_path = wf_xasprintf("%s/shim.log", g_ctr);
	char *slog = NULL;
	for (int i = 0; i < 400 && !(slog && strstr(slog, "cannot open log")); i++) {
		free(slog);
		test_fs_sleep_ms(5);
		slog = slurp(slog_path);
	}
	assert_non_null(slog);
	assert_non_null(strstr(slog, "cannot open log"));
	free(slog);
	free(slog_path);
	free(log);
	free(file);

	/* the agent's side refuses a non-object */
	pid_t shim = 0;
	json_t *arr = json_array();
	assert_int_equal(wf_shim_launch(SELF, NULL, g_ctr, arr, &shim, NULL), -WF_EINVAL);
	json_decref(arr);
	assert_int_equal(shim, -1);
	/* a binary that is no shim at all: launch reports it, no 10 s wait */
	wf_err err = {0};
	json_t *ok = json_pack("{s:[s], s:s}", "command", "/bin/true", "log", g_log);
	assert_int_equal(wf_shim_launch("/bin/false", NULL, g_ctr, ok, &shim, &err), -WF_EIO);
	json_decref(ok);
	assert_true(shim > 0);
	assert_non_null(strstr(err.msg, "the shim exited"));
	assert_int_equal(waitpid(shim, NULL, 0), shim);
}

static void test_sigterm_trap(void **state)
{
	(void)state;
	char marker[128];
	snprintf(marker, sizeof(marker), "%s/marker", g_dir);
	char *script = wf_xasprintf("trap 'echo bye > \"%s\"; exit 7' TERM; echo ready; "
				    "while :; do sleep 0.01; done",
				    marker);
	pid_t shim = launch(spec_sh(script));
	free(script);
	wait_log("ready");
	wf_shim_state st;
	read_state(&st);
	assert_true(st.started);
	assert_true(st.running);
	assert_false(st.exited);
	assert_int_equal(wf_shim_signal(&st, SIGTERM), 0);
	wait_exit(shim, &st);
	char *m = slurp(marker);
	assert_non_null(m);
	assert_string_equal(m, "bye\n");
	free(m);
	assert_int_equal(st.exit_code, 7);
	assert_int_equal(st.signal, 0);
	assert_string_equal(st.reason, "Error");
}

static void test_signals(void **state)
{
	(void)state;
	/* SIGTERM sent to the shim itself goes to the container */
	pid_t shim = launch(spec_sh("echo ready; exec sleep 100"));
	wait_log("ready");
	assert_int_equal(kill(shim, SIGTERM), 0);
	wf_shim_state st;
	wait_exit(shim, &st);
	assert_int_equal(st.exit_code, 128 + SIGTERM);
	assert_int_equal(st.signal, SIGTERM);
	assert_string_equal(st.reason, "Error");

	/* SIGKILL through wf_shim_signal; the whole group goes, so the
	 * background sleep does not keep anything open */
	unlink(g_log);
	shim = launch(spec_sh("sleep 100 & echo ready; wait"));
	wait_log("ready");
	read_state(&st);
	assert_true(st.running);
	assert_int_equal(wf_shim_signal(&st, SIGKILL), 0);
	wait_exit(shim, &st);
	assert_int_equal(st.exit_code, 137);
	assert_int_equal(st.signal, SIGKILL);

	/* leftovers of the group are killed when the main process exits */
	unlink(g_log);
	char pidfile[128];
	snprintf(pidfile, sizeof(pidfile), "%s/bg.pid", g_dir);
	char *script = wf_xasprintf("sleep 100 & echo $! > %s; exit 0", pidfile);
	shim = launch(spec_sh(script));
	free(script);
	wait_exit(shim, &st);
	assert_int_equal(st.exit_code, 0);
	char *p = slurp(pidfile);
	assert_non_null(p);
	pid_t bg = atoi(p);
	free(p);
	assert_true(bg > 0);
	bool gone = false;
	for (int i = 0; i < 2000 && !gone; i++) {
		char path[64], buf[512];
		snprintf(path, sizeof(path), "/proc/%d/stat", (int)bg);
		FILE *f = fopen(path, "r");
		if (!f) {
			gone = true;
			break;
		}
		char *ok = fgets(buf, sizeof(buf), f);
		fclose(f);
		char *rp = ok ? strrchr(buf, ')') : NULL;
		gone = rp && rp[2] == 'Z';
		if (!gone)
			test_fs_sleep_ms(5);
	}
	assert_true(gone);
}

/* True when pid has exited (absent, or a zombie nobody reaped). */

static void test_survives_agent_kill(void **state)
{
	(void)state;
	char go[128];
	snprintf(go, sizeof(go), "%s/go", g_dir);
	char *script = wf_xasprintf("echo started; while [ ! -e %s ]; do sleep 0.01; done; "
				    "echo finished; exit 5",
				    go);
	json_t *spec = spec_sh(script);
	free(script);

	/* the "agent": launches the shim, then is killed with -9 */
	int p[2];
	assert_int_equal(pipe(p), 0);
	pid_t agent = fork();
	assert_true(agent >= 0);
	if (agent == 0) {
		close(p[0]);
		pid_t shim = -1;
		int rc = wf_shim_launch(SELF, NULL, g_ctr, spec, &shim, NULL);
		if (rc < 0)
			_exit(1);
		ssize_t w = write(p[1], &shim, sizeof(shim));
		(void)w;
		for (;;)
			pause();
	}
	json_decref(spec);
	close(p[1]);
	pid_t shim = -1;
	assert_int_equal(read(p[0], &shim, sizeof(shim)), (ssize_t)sizeof(shim));
	close(p[0]);
	assert_true(shim > 0);
	assert_int_equal(kill(agent, SIGKILL), 0);
	int status;
	assert_int_equal(waitpid(agent, &status, 0), agent);
	assert_true(WIFSIGNALED(status));

	/* a new "agent" adopts it */
	wait_log("started");
	wf_shim_state st;
	read_state(&st);
	assert_true(st.started);
	assert_true(st.running);
	assert_false(st.exited);
	assert_false(proc_gone(shim));

	spit(go, "");
	wait_exit(-1, &st);
	assert_int_equal(st.exit_code, 5);
	assert_string_equal(st.reason, "Error");
	char *s = read_all(-1);
	assert_string_equal(s, "started\nfinished\n");
	free(s);
	bool gone = false;
	for (int i = 0; i < 2000 && !(gone = proc_gone(shim)); i++)
		test_fs_sleep_ms(5);
	assert_true(gone);
	assert_shim_log_clean();
}

static void test_partial_and_long_lines(void **state)
{
	(void)state;
	pid_t shim =
	    launch(spec_sh("printf abc; sleep 0.05; printf 'def\\n'; "
			   "head -c 102400 /dev/zero | tr '\\0' x; echo; "
			   "printf 'e1' >&2; sleep 0.02; echo e2 >&2; printf 'no-newline'"));
	wf_shim_state st;
	wait_exit(shim, &st);
	assert_int_equal(st.exit_code, 0);

	/* the records: F abcdef, six 16 KiB P fragments and a 4 KiB F, F e1e2,
	 * F no-newline (the last line is whole at exit) */
	char *s = slurp(g_log);
	int nP = 0, nF = 0;
	size_t xs = 0;
	for (char *p = s; *p;) {
		char *nl = strchr(p, '\n');
		assert_non_null(nl);
		wf_log_record r;
		assert_true(wf_log_parse_record(p, (size_t)(nl - p), &r));
		if (r.partial) {
			nP++;
			assert_int_equal(r.len, WF_LOG_FRAGMENT_MAX);
		} else {
			nF++;
		}
		if (r.len && r.text[0] == 'x')
			xs += r.len;
		p = nl + 1;
	}
	free(s);
	assert_int_equal(nP, 6);
	assert_int_equal(nF, 4);
	assert_int_equal(xs, 102400);

	wf_buf out, err;
	wf_buf_init(&out);
	wf_buf_init(&err);
	check_log_file(g_log, 0, INT64_MAX, &out, &err);
	assert_string_equal(err.data, "e1e2\n");
	assert_int_equal(out.len, 7 + 102401 + 11);
	assert_memory_equal(out.data, "abcdef\n", 7);
	assert_string_equal(out.data + 7 + 102401, "no-newline\n");
	wf_buf_free(&out);
	wf_buf_free(&err);

	/* the streams are separate pipes: their relative order is not fixed */
	s = read_all(-1);
	assert_int_equal(strlen(s), 7 + 102401 + 5 + 11);
	assert_non_null(strstr(s, "\ne1e2\n"));
	assert_non_null(strstr(s, "\nno-newline\n"));
	assert_memory_equal(s, "abcdef\nxxx", 10);
	free(s);
}

static void test_rotation(void **state)
{
	(void)state;
	json_t *spec = json_pack("{s:[s,s,s,s,s], s:s, s:i}", "command", "seq", "-f", "line-%03g",
				 "1", "300", "log", g_log, "logMaxBytes", 2000);
	pid_t shim = launch(spec);
	wf_shim_state st;
	wait_exit(shim, &st);
	assert_int_equal(st.exit_code, 0);

	char *log1 = wf_xasprintf("%s.1", g_log);
	struct stat sb;
	assert_int_equal(stat(g_log, &sb), 0);
	assert_true(sb.st_size > 0 && sb.st_size <= 2000);
	assert_int_equal(stat(log1, &sb), 0);
	assert_true(sb.st_size > 1000 && sb.st_size <= 2000);
	wf_buf cur, prev;
	wf_buf_init(&cur);
	wf_buf_init(&prev);
	check_log_file(g_log, 0, INT64_MAX, &cur, NULL);
	check_log_file(log1, 0, INT64_MAX, &prev, NULL);
	int ncur = 0, nprev = 0;
	for (size_t i = 0; i < cur.len; i++)
		ncur += cur.data[i] == '\n';
	for (size_t i = 0; i < prev.len; i++)
		nprev += prev.data[i] == '\n';
	assert_true(nprev >= 3);

	/* all: the two files, a contiguous run ending at the last line */
	char *s = read_all(-1);
	int total = ncur + nprev;
	wf_buf want;
	wf_buf_init(&want);
	for (int i = 300 - total + 1; i <= 300; i++)
		wf_buf_printf(&want, "line-%03d\n", i);
	assert_string_equal(s, want.data);
	free(s);

	/* a tail across the boundary */
	s = read_all(ncur + 3);
	assert_string_equal(s, want.data + (size_t)(nprev - 3) * 9);
	free(s);
	s = read_all(1);
	assert_string_equal(s, "line-300\n");
	free(s);
	wf_buf_free(&want);
	wf_buf_free(&cur);
	wf_buf_free(&prev);
	free(log1);
}

static void test_cgroup_none(void **state)
{
	(void)state;
	/* a cgroup root with nothing in it: detection says NONE, the container
	 * runs without limits */
	char root[128];
	snprintf(root, sizeof(root), "%s/nocgroups", g_dir);
	assert_int_equal(mkdir(root, 0755), 0);
	json_t *spec = json_pack("{s:[s,s], s:s, s:s, s:s}", "command", "echo", "hi", "log", g_log,
				 "cgroup", "pod1/ctr", "cgroupRoot", root);
	pid_t shim = launch(spec);
	wf_shim_state st;
	wait_exit(shim, &st);
	assert_int_equal(st.exit_code, 0);
	char *s = read_all(-1);
	assert_string_equal(s, "hi\n");
	free(s);
}

static void test_cgroup_v1_fake(void **state)
{
	(void)state;
	/* a cgroup v1 layout in plain directories: the container writes its
	 * own pid into each hierarchy's cgroup.procs before exec */
	char root[128];
	snprintf(root, sizeof(root), "%s/cg", g_dir);
	char *cmd = wf_xasprintf("mkdir -p %s/cpu/wharf/pod1/ctr %s/memory/wharf/pod1/ctr && "
				 "touch %s/cpu/wharf/pod1/ctr/cgroup.procs "
				 "%s/memory/wharf/pod1/ctr/cgroup.procs",
				 root, root, root, root);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	json_t *spec = json_pack("{s:[s,s], s:s, s:s, s:s}", "command", "echo", "hi", "log", g_log,
				 "cgroup", "pod1/ctr", "cgroupRoot", root);
	pid_t shim = launch(spec);
	wf_shim_state st;
	wait_exit(shim, &st);
	assert_int_equal(st.exit_code, 0);
	char want[32];
	snprintf(want, sizeof(want), "%d", (int)st.pid);
	const char *hier[] = {"cpu", "memory"};
	for (int i = 0; i < 2; i++) {
		char *p = wf_xasprintf("%s/%s/wharf/pod1/ctr/cgroup.procs", root, hier[i]);
		char *s = slurp(p);
		assert_non_null(s);
		assert_string_equal(s, want);
		free(s);
		free(p);
	}

	/* a group that is not there: the start fails, nothing runs */
	unlink(g_log);
	spec = json_pack("{s:[s,s], s:s, s:s, s:s}", "command", "echo", "hi", "log", g_log,
			 "cgroup", "pod1/missing", "cgroupRoot", root);
	assert_start_error(spec, 128,
			   "cannot enter cgroup \"pod1/missing\": no such file or directory");
	assert_int_not_equal(access(g_log, F_OK), 0); /* nothing ran, nothing was logged */
}

static void put(const char *name, const char *text)
{
	char *p = wf_xasprintf("%s/%s", g_ctr, name);
	spit(p, text);
	free(p);
}

static uint64_t self_start_time(void)
{
	char *s = slurp("/proc/self/stat");
	char *p = strrchr(s, ')') + 1;
	for (int field = 3; field < 22; field++)
		p = strchr(p + 1, ' ');
	uint64_t v = strtoull(p + 1, NULL, 10);
	free(s);
	return v;
}

static void test_read_state_files(void **state)
{
	(void)state;
	wf_shim_state st;
	wf_err err = {0};
	assert_int_equal(wf_shim_read_state(g_ctr, &st, &err), -WF_ENOENT);
	char *cmd = wf_xasprintf("mkdir -p '%s'", g_ctr);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	assert_int_equal(wf_shim_read_state(g_ctr, &st, &err), -WF_ENOENT);
	put("spec.json", "{}");
	assert_int_equal(wf_shim_read_state(g_ctr, &st, &err), 0);
	assert_false(st.started);
	assert_false(st.exited);
	assert_false(st.running);

	/* our own pid with the right start time: running */
	char *text =
	    wf_xasprintf("{\"pid\": %d, \"pgid\": %d, \"startTime\": %llu, "
			 "\"startedAt\": \"2026-11-22T06:52:38Z\"}",
			 (int)getpid(), (int)getpid(), (unsigned long long)self_start_time());
	put("state.json", text);
	free(text);
	assert_int_equal(wf_shim_read_state(g_ctr, &st, &err), 0);
	assert_true(st.started);
	assert_true(st.running);
	assert_int_equal(st.pid, getpid());
	assert_string_equal(st.started_at, "2026-11-22T06:52:38Z");

	/* the same pid with another start time: reused, not ours */
	text = wf_xasprintf("{\"pid\": %d, \"pgid\": %d, \"startTime\": %llu}", (int)getpid(),
			    (int)getpid(), (unsigned long long)self_start_time() + 1);
	put("state.json", text);
	free(text);
	assert_int_equal(wf_shim_read_state(g_ctr, &st, &err), 0);
	assert_true(st.started);
	assert_false(st.running);
	assert_int_equal(wf_shim_signal(&st, SIGKILL), -WF_ENOENT); /* and never signalled */

	/* malformed and truncated state files */
	static const char *bad_state[] = {
	    "",
	    "{\"pid\": 12",
	    "{\"pid\": 12, \"startTime\": 1",
	    "[1,2]",
	    "{\"pid\": \"12\", \"startTime\": 1}",
	    "{\"pid\": 0, \"startTime\": 1}",
	    "{\"pid\": -5, \"startTime\": 1}",
	    "{\"pid\": 99999999999, \"startTime\": 1}",
	    "{\"pid\": 12}",
	    "{\"pid\": 12, \"startTime\": -1}",
	    "{\"pid\": 12, \"startTime\": 1, \"startedAt\": 5}",
	    "\xff\xfe",
	};
	for (size_t i = 0; i < sizeof(bad_state) / sizeof(bad_state[0]); i++) {
		put("state.json", bad_state[i]);
		memset(&err, 0, sizeof(err));
		if (wf_shim_read_state(g_ctr, &st, &err) != -WF_EINVAL)
			fail_msg("accepted state.json \"%s\"", bad_state[i]);
		assert_non_null(strstr(err.msg, "state.json"));
		assert_false(st.started);
		assert_false(st.running);
		assert_int_equal(wf_shim_signal(&st, SIGKILL), -WF_EINVAL);
	}

	/* a valid exit.json still reads with a bad state.json */
	put("exit.json", "{\"exitCode\": 137, \"signal\": 9, \"finishedAt\": "
			 "\"2026-11-22T06:52:39Z\", \"reason\": \"Error\"}");
	assert_int_equal(wf_shim_read_state(g_ctr, &st, &err), -WF_EINVAL);
	assert_true(st.exited);
	assert_int_equal(st.exit_code, 137);
	assert_int_equal(st.signal, 9);
	assert_string_equal(st.reason, "Error");
	assert_string_equal(st.finished_at, "2026-11-22T06:52:39Z");

	/* and the other way round */
	put("state.json", "{\"pid\": 12, \"startTime\": 1}");
	static const char *bad_exit[] = {
	    "{\"exitCode\": 1",
	    "{}",
	    "{\"exitCode\": \"1\"}",
	    "{\"exitCode\": 1, \"signal\": 300}",
	    "{\"exitCode\": 1, \"reason\": 7}",
	    "{\"exitCode\": 1, \"message\": null}",
	    "{\"exitCode\": 1e3}",
	    "null",
	};
	for (size_t i = 0; i < sizeof(bad_exit) / sizeof(bad_exit[0]); i++) {
		put("exit.json", bad_exit[i]);
		memset(&err, 0, sizeof(err));
		if (wf_shim_read_state(g_ctr, &st, &err) != -WF_EINVAL)
			fail_msg("accepted exit.json \"%s\"", bad_exit[i]);
		assert_non_null(strstr(err.msg, "exit.json"));
		assert_true(st.started);
		assert_false(st.exited);
		assert_int_equal(st.reason[0], '\0');
	}

	/* long strings are cut to the fields' sizes; a huge file is refused */
	wf_buf b;
	wf_buf_init(&b);
	wf_buf_puts(&b, "{\"exitCode\": 1, \"message\": \"");
	for (int i = 0; i < 1000; i++)
		wf_buf_putc(&b, 'm');
	wf_buf_puts(&b, "\", \"reason\": \"");
	for (int i = 0; i < 1000; i++)
		wf_buf_putc(&b, 'r');
	wf_buf_puts(&b, "\"}");
	put("exit.json", b.data);
	assert_int_equal(wf_shim_read_state(g_ctr, &st, &err), 0);
	assert_int_equal(strlen(st.message), sizeof(st.message) - 1);
	assert_int_equal(strlen(st.reason), sizeof(st.reason) - 1);
	b.len = 0;
	wf_buf_puts(&b, "{\"exitCode\": 1, \"message\": \"");
	for (int i = 0; i < 100000; i++)
		wf_buf_putc(&b, 'm');
	wf_buf_puts(&b, "\"}");
	put("exit.json", b.data);
	assert_int_equal(wf_shim_read_state(g_ctr, &st, &err), -WF_ETOOBIG);
	assert_false(st.exited);
	wf_buf_free(&b);
}

/* The spawner refuses empty and oversized paths, starts nothing for them,
 * and still starts shims afterwards. */
static void test_spawner_refuses_bad_requests(void **state)
{
	(void)state;
	pid_t pid = -7;
	wf_err err = {0};
	assert_int_equal(wf_shim_spawner_spawn(g_sp, "", g_log, &pid, &err), -WF_EINVAL);
	assert_int_equal(wf_shim_spawner_spawn(g_sp, g_ctr, "", &pid, &err), -WF_EINVAL);
	char *huge = malloc(9000);
	memset(huge, 'd', 8999);
	huge[8999] = '\0';
	assert_int_equal(wf_shim_spawner_spawn(g_sp, huge, g_log, &pid, &err), -WF_EINVAL);
	free(huge);
	assert_int_equal(pid, -7);
	assert_int_not_equal(access(g_ctr, F_OK), 0); /* nothing was started there */
	wf_shim_state st;
	pid_t shim = launch(json_pack("{s:[s], s:s}", "command", "/bin/true", "log", g_log));
	wait_exit(shim, &st);
	assert_int_equal(st.exit_code, 0);
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "shim"))
		return wf_shim_main(argc - 1, argv + 1);
	/* While this process has one thread. */
	wf_shim_spawner *sp = NULL;
	wf_err err = {0};
	if (wf_shim_spawner_start(&sp, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		return 1;
	}
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_exit_code_and_streams, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_env_workdir_fds, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_start_errors, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sigterm_trap, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_signals, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_survives_agent_kill, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_partial_and_long_lines, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rotation, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cgroup_none, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cgroup_v1_fake, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_read_state_files, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_log_created_at_first_output, setup, teardown),
	};
	/* Every test twice: shims exec'd, then forked by the spawner. */
	int failed = cmocka_run_group_tests_name("exec", tests, NULL, NULL);
	g_sp = sp;
	failed += cmocka_run_group_tests_name("spawner", tests, NULL, NULL);
	const struct CMUnitTest spawner_only[] = {
	    cmocka_unit_test_setup_teardown(test_spawner_refuses_bad_requests, setup, teardown),
	};
	failed += cmocka_run_group_tests_name("spawner only", spawner_only, NULL, NULL);
	wf_shim_spawner_stop(sp);
	return failed;
}
