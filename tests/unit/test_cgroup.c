/*
 * test_cgroup.c - per-container cgroups (src/agent/cgroup.c).
 *
 * Two halves. The "real" tests run against this machine's cgroups (root is
 * needed, or a delegated tree): limits read back from the kernel's files,
 * processes entering, a memory hog OOM-killed by the kernel, a busy loop
 * throttled (judged by the group's own cpu.stat, never by the clock), kill
 * and remove. Each skips, printing why, where detection finds no writable
 * cgroups. Their groups all live under wharf/wftest-<pid>/; a teardown after
 * every real test kills what is left in them and removes them, so a failing
 * assertion leaves nothing behind.
 *
 * The "fake" tests point `root` at a temporary directory laid out like a v2
 * or v1 cgroup mount, with the interface files as plain files, to check the
 * detection rules, the paths, exactly what is written where, and the parsing
 * of hostile file contents -- on any machine.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent/cgroup.h"
#include "lib/wf_err.h"
#include "test_fs.h"

/* ---- helpers ------------------------------------------------------------ */

/* Read a small file into buf; "" when it cannot be read. */
static const char *slurp(const char *path, char *buf, size_t cap)
{
	buf[0] = '\0';
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return buf;
	size_t n = 0;
	ssize_t r;
	while (n + 1 < cap && (r = read(fd, buf + n, cap - 1 - n)) > 0)
		n += (size_t)r;
	buf[n] = '\0';
	close(fd);
	return buf;
}

static const char *slurpf(char *buf, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static const char *slurpf(char *buf, size_t cap, const char *fmt, ...)
{
	char path[PATH_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	return slurp(path, buf, cap);
}

static void put(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

static void putf(const char *text, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(const char *text, const char *fmt, ...)
{
	char path[PATH_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	put(path, text);
}

static void mkdirf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void mkdirf(const char *fmt, ...)
{
	char path[PATH_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	assert_true(mkdir(path, 0755) == 0 || errno == EEXIST);
}

static bool existsf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static bool existsf(const char *fmt, ...)
{
	char path[PATH_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	struct stat st;
	return stat(path, &st) == 0;
}

static uint64_t num(const char *text)
{
	return strtoull(text, NULL, 10);
}

static bool has_pid(const pid_t *v, size_t n, pid_t p)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == p)
			return true;
	return false;
}

/* Temporary trees and handles a test made, released by its teardown even
 * when an assertion fails midway. */
#define MAX_TRACKED 16
static char *tmps[MAX_TRACKED];
static wf_cgroups *cgs[MAX_TRACKED];
static int ntmps, ncgs;

static char *make_tmp(void)
{
	char d[64];
	assert_true(test_fs_mkdtemp(d, sizeof d, "wf-cgroup-test"));
	assert_true(ntmps < MAX_TRACKED);
	return tmps[ntmps++] = strdup(d);
}

static wf_cgroups *detect(const char *root, char *why, size_t whylen)
{
	assert_true(ncgs < MAX_TRACKED);
	return cgs[ncgs++] = wf_cgroups_detect(root, why, whylen);
}

static int release_tracked(void **state)
{
	for (int i = 0; i < ncgs; i++)
		wf_cgroups_free(cgs[i]);
	for (int i = 0; i < ntmps; i++) {
		test_fs_rm_rf(tmps[i]);
		free(tmps[i]);
	}
	ncgs = ntmps = 0;
	return 0;
}

/* Fork a child that sleeps until killed (or 60 s); optionally enters a
 * group first. Returns its pid once it is running. */
static pid_t spawn_sleeper(const wf_cgroups *cg, const char *group)
{
	int p[2];
	assert_int_equal(pipe(p), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(p[0]);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		alarm(60);
		if (group && wf_cgroup_enter(cg, group, 0) < 0)
			_exit(3);
		(void)!write(p[1], "x", 1);
		for (;;)
			pause();
	}
	close(p[1]);
	char c;
	ssize_t r = read(p[0], &c, 1);
	close(p[0]);
	assert_int_equal(r, 1);
	return pid;
}

/* ---- the real machine --------------------------------------------------- */

#define MAX_MOUNTS 32

static wf_cgroups *real;
static char real_why[512];
static char prefix[64];			  /* "wftest-<pid>" */
static char mounts[MAX_MOUNTS][PATH_MAX]; /* every cgroup mount */
static bool wharf_existed[MAX_MOUNTS];	  /* <mount>/wharf before the tests */
static int nmounts;

static void scan_mounts(void)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return;
	char line[4096];
	while (nmounts < MAX_MOUNTS && fgets(line, sizeof(line), f)) {
		char mp[PATH_MAX], fstype[64];
		const char *dash = strstr(line, " - ");
		if (!dash || sscanf(line, "%*s %*s %*s %*s %4095s", mp) != 1 ||
		    sscanf(dash + 3, "%63s", fstype) != 1)
			continue;
		if (strcmp(fstype, "cgroup") && strcmp(fstype, "cgroup2"))
			continue;
		snprintf(mounts[nmounts], PATH_MAX, "%s", mp);
		wharf_existed[nmounts] = existsf("%s/wharf", mp);
		nmounts++;
	}
	fclose(f);
}

/* Kill every process in dir and its subgroups; true when any was there. */
static bool kill_tree(const char *dir)
{
	char buf[8192];
	bool any = false;
	slurpf(buf, sizeof(buf), "%s/cgroup.procs", dir);
	for (char *s = buf, *e; *s; s = e) {
		long p = strtol(s, &e, 10);
		if (e == s)
			break;
		if (p > 0) {
			kill((pid_t)p, SIGKILL);
			any = true;
		}
	}
	DIR *d = opendir(dir);
	if (!d)
		return any;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		char sub[PATH_MAX];
		snprintf(sub, sizeof(sub), "%s/%s", dir, de->d_name);
		any |= kill_tree(sub);
	}
	closedir(d);
	return any;
}

/* rmdir dir's subgroups, then dir; true when dir is gone. */
static bool rmdir_tree(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return errno == ENOENT;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		char sub[PATH_MAX];
		snprintf(sub, sizeof(sub), "%s/%s", dir, de->d_name);
		rmdir_tree(sub);
	}
	closedir(d);
	return rmdir(dir) == 0 || errno == ENOENT;
}

/* Leave no process and no group of ours behind, whatever the test did. */
static int real_teardown(void **state)
{
	for (int tries = 0; tries < 100; tries++) {
		bool left = false;
		for (int i = 0; i < nmounts; i++) {
			char dir[PATH_MAX];
			snprintf(dir, sizeof(dir), "%s/wharf/%s", mounts[i], prefix);
			kill_tree(dir);
			while (waitpid(-1, NULL, WNOHANG) > 0)
				;
			left |= !rmdir_tree(dir);
		}
		if (!left)
			break;
		test_fs_sleep_ms(50);
	}
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	return release_tracked(state);
}

static int real_group_setup(void **state)
{
	snprintf(prefix, sizeof(prefix), "wftest-%d", (int)getpid());
	scan_mounts();
	real = wf_cgroups_detect(NULL, real_why, sizeof(real_why));
	/* grandchildren of the tests get reparented to us, so we reap them */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	return 0;
}

static int real_group_teardown(void **state)
{
	real_teardown(state);
	for (int i = 0; i < nmounts; i++) {
		char dir[PATH_MAX];
		snprintf(dir, sizeof(dir), "%s/wharf", mounts[i]);
		if (!wharf_existed[i])
			rmdir(dir); /* only when empty: someone else may use it */
	}
	wf_cgroups_free(real);
	return 0;
}

#define NEED_REAL()                                                                                \
	do {                                                                                       \
		if (wf_cgroups_mode(real) == WF_CGROUP_NONE) {                                     \
			print_message("skipped: no writable cgroups here: %s\n", real_why);        \
			skip();                                                                    \
		}                                                                                  \
	} while (0)

static void gname(char *buf, size_t cap, const char *rest)
{
	snprintf(buf, cap, "%s/%s", prefix, rest);
}

static void real_path(const char *ctl, const char *group, char *buf, size_t cap)
{
	assert_int_equal(wf_cgroup_path(real, ctl, group, buf, cap), 0);
}

static void test_real_detect(void **state)
{
	NEED_REAL();
	print_message("detected: %s\n", real_why);
	char buf[512];
	/* The hybrid layout (v1 controllers, an empty cgroup2 at .../unified)
	 * must give v1. */
	if (existsf("/sys/fs/cgroup/unified/cgroup.controllers") &&
	    !strstr(slurp("/sys/fs/cgroup/unified/cgroup.controllers", buf, sizeof(buf)),
		    "memory") &&
	    existsf("/sys/fs/cgroup/memory/memory.limit_in_bytes")) {
		assert_int_equal(wf_cgroups_mode(real), WF_CGROUP_V1);
		assert_non_null(strstr(real_why, "cgroup v1"));
	}
	/* An explicit root at the usual place agrees with mountinfo (the shim
	 * detects that way). */
	char why2[512];
	wf_cgroups *again = detect("/sys/fs/cgroup", why2, sizeof(why2));
	assert_int_equal(wf_cgroups_mode(again), wf_cgroups_mode(real));
	char a[PATH_MAX], b[PATH_MAX];
	assert_int_equal(wf_cgroup_path(again, "memory", "x", a, sizeof(a)), 0);
	real_path("memory", "x", b, sizeof(b));
	assert_string_equal(a, b);
	/* the wharf/ parent exists in every hierarchy */
	real_path("cpu", "x", a, sizeof(a));
	*strrchr(a, '/') = '\0';
	assert_true(existsf("%s", a));
}

/* A group made without limits is left at the kernel's defaults (nothing is
 * written to it) and those are: no quota, no memory limit. */
static void test_real_create_unlimited(void **state)
{
	NEED_REAL();
	char g[128], mem[PATH_MAX], cpu[PATH_MAX], buf[256];
	gname(g, sizeof(g), "pod-free/c1");
	wf_err err = {0};
	assert_int_equal(wf_cgroup_create(real, g, NULL, &err), 0);
	real_path("memory", g, mem, sizeof(mem));
	real_path("cpu", g, cpu, sizeof(cpu));
	if (wf_cgroups_mode(real) == WF_CGROUP_V1) {
		assert_string_equal(slurpf(buf, sizeof(buf), "%s/cpu.cfs_quota_us", cpu), "-1\n");
		assert_int_equal(num(slurpf(buf, sizeof(buf), "%s/cpu.cfs_period_us", cpu)),
				 100000);
		assert_true(num(slurpf(buf, sizeof(buf), "%s/memory.limit_in_bytes", mem)) >
			    (1ull << 60));
	} else {
		assert_string_equal(slurpf(buf, sizeof(buf), "%s/cpu.max", cpu), "max 100000\n");
		assert_string_equal(slurpf(buf, sizeof(buf), "%s/memory.max", mem), "max\n");
	}
}

static void test_real_create_limits(void **state)
{
	NEED_REAL();
	char g[128], mem[PATH_MAX], cpu[PATH_MAX], buf[256];
	gname(g, sizeof(g), "pod1/c1");
	wf_err err = {0};
	wf_cgroup_limits lim = {.cpu_milli = 500, .memory_bytes = 64 << 20};
	assert_int_equal(wf_cgroup_create(real, g, &lim, &err), 0);
	real_path("memory", g, mem, sizeof(mem));
	real_path("cpu", g, cpu, sizeof(cpu));
	bool v1 = wf_cgroups_mode(real) == WF_CGROUP_V1;
	bool memsw = existsf("%s/memory.memsw.limit_in_bytes", mem);
	if (v1) {
		assert_int_equal(num(slurpf(buf, sizeof(buf), "%s/cpu.cfs_period_us", cpu)),
				 100000);
		assert_int_equal(num(slurpf(buf, sizeof(buf), "%s/cpu.cfs_quota_us", cpu)), 50000);
		assert_int_equal(num(slurpf(buf, sizeof(buf), "%s/memory.limit_in_bytes", mem)),
				 64 << 20);
		if (memsw)
			assert_int_equal(
			    num(slurpf(buf, sizeof(buf), "%s/memory.memsw.limit_in_bytes", mem)),
			    64 << 20);
	} else {
		assert_string_equal(slurpf(buf, sizeof(buf), "%s/cpu.max", cpu), "50000 100000\n");
		assert_int_equal(num(slurpf(buf, sizeof(buf), "%s/memory.max", mem)), 64 << 20);
		if (existsf("%s/memory.swap.max", mem))
			assert_string_equal(slurpf(buf, sizeof(buf), "%s/memory.swap.max", mem),
					    "0\n");
	}

	/* reuse: lift every limit (memsw must go up before memory) */
	assert_int_equal(wf_cgroup_create(real, g, NULL, &err), 0);
	if (v1) {
		assert_string_equal(slurpf(buf, sizeof(buf), "%s/cpu.cfs_quota_us", cpu), "-1\n");
		assert_true(num(slurpf(buf, sizeof(buf), "%s/memory.limit_in_bytes", mem)) >
			    (1ull << 60));
	} else {
		assert_string_equal(slurpf(buf, sizeof(buf), "%s/cpu.max", cpu), "max 100000\n");
		assert_string_equal(slurpf(buf, sizeof(buf), "%s/memory.max", mem), "max\n");
	}
	/* down, then up again; 1m is below the kernel's minimum quota */
	lim = (wf_cgroup_limits){.cpu_milli = 1, .memory_bytes = 32 << 20};
	assert_int_equal(wf_cgroup_create(real, g, &lim, &err), 0);
	lim = (wf_cgroup_limits){.cpu_milli = 2500, .memory_bytes = 128 << 20};
	assert_int_equal(wf_cgroup_create(real, g, &lim, &err), 0);
	if (v1) {
		assert_int_equal(num(slurpf(buf, sizeof(buf), "%s/cpu.cfs_quota_us", cpu)), 250000);
		assert_int_equal(num(slurpf(buf, sizeof(buf), "%s/memory.limit_in_bytes", mem)),
				 128 << 20);
		if (memsw)
			assert_int_equal(
			    num(slurpf(buf, sizeof(buf), "%s/memory.memsw.limit_in_bytes", mem)),
			    128 << 20);
	} else {
		assert_string_equal(slurpf(buf, sizeof(buf), "%s/cpu.max", cpu), "250000 100000\n");
		assert_int_equal(num(slurpf(buf, sizeof(buf), "%s/memory.max", mem)), 128 << 20);
	}
	lim = (wf_cgroup_limits){.cpu_milli = 1};
	assert_int_equal(wf_cgroup_create(real, g, &lim, &err), 0);
	if (v1)
		assert_int_equal(num(slurpf(buf, sizeof(buf), "%s/cpu.cfs_quota_us", cpu)), 1000);
	else
		assert_string_equal(slurpf(buf, sizeof(buf), "%s/cpu.max", cpu), "1000 100000\n");

	assert_int_equal(wf_cgroup_remove(real, g, &err), 0);
	assert_false(existsf("%s", mem));
	assert_false(existsf("%s", cpu));
}

static void test_real_create_rollback(void **state)
{
	NEED_REAL();
	char g[128], mem[PATH_MAX], top[PATH_MAX];
	gname(g, sizeof(g), "podrb/c");
	/* a quota far over what the kernel takes fails after the mkdirs */
	wf_cgroup_limits lim = {.cpu_milli = INT64_MAX / 100};
	wf_err err = {0};
	assert_int_equal(wf_cgroup_create(real, g, &lim, &err), -WF_EIO);
	assert_int_equal(err.code, WF_EIO);
	assert_non_null(strstr(err.msg, "cpu"));
	real_path("memory", g, mem, sizeof(mem));
	assert_false(existsf("%s", mem));
	real_path("memory", prefix, top, sizeof(top));
	assert_false(existsf("%s/podrb", top));
}

static bool in_proc_cgroup(pid_t pid, const char *group)
{
	char buf[4096], want[256];
	slurpf(buf, sizeof(buf), "/proc/%d/cgroup", (int)pid);
	snprintf(want, sizeof(want), "/wharf/%s\n", group);
	return strstr(buf, want) != NULL;
}

static void test_real_enter(void **state)
{
	NEED_REAL();
	char g[128];
	gname(g, sizeof(g), "podE/c");
	wf_err err = {0};
	assert_int_equal(wf_cgroup_create(real, g, NULL, &err), 0);

	pid_t self_entered = spawn_sleeper(real, g); /* enters itself, pid 0 */
	pid_t moved = spawn_sleeper(NULL, NULL);
	assert_int_equal(wf_cgroup_enter(real, g, moved), 0);

	pid_t *pids = NULL;
	size_t n = 0;
	assert_int_equal(wf_cgroup_pids(real, g, &pids, &n), 0);
	assert_int_equal(n, 2);
	assert_true(has_pid(pids, n, self_entered));
	assert_true(has_pid(pids, n, moved));
	assert_true(pids[0] < pids[1]);
	free(pids);
	assert_true(in_proc_cgroup(self_entered, g));
	assert_true(in_proc_cgroup(moved, g));
	if (wf_cgroups_mode(real) == WF_CGROUP_V1) {
		/* every hierarchy, not just memory */
		char buf[4096], want[256];
		slurpf(buf, sizeof(buf), "/proc/%d/cgroup", (int)self_entered);
		snprintf(want, sizeof(want), ":cpu:/wharf/%s\n", g);
		assert_non_null(strstr(buf, want));
		snprintf(want, sizeof(want), ":memory:/wharf/%s\n", g);
		assert_non_null(strstr(buf, want));
	}

	/* not created, bad names, bad pid */
	char other[128];
	gname(other, sizeof(other), "podE/missing");
	assert_int_equal(wf_cgroup_enter(real, other, moved), -WF_ENOENT);
	assert_int_equal(wf_cgroup_enter(real, "../../x", moved), -WF_EINVAL);
	assert_int_equal(wf_cgroup_enter(real, g, -5), -WF_EINVAL);

	kill(self_entered, SIGKILL);
	kill(moved, SIGKILL);
	assert_int_equal(waitpid(self_entered, NULL, 0), self_entered);
	assert_int_equal(waitpid(moved, NULL, 0), moved);
	assert_int_equal(wf_cgroup_remove(real, g, &err), 0);
}

/* Touch 256 MiB inside a 32 MiB group: the kernel must kill us. */
static void __attribute__((noreturn)) memory_hog(const char *group)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	alarm(60);
	if (wf_cgroup_enter(real, group, 0) < 0)
		_exit(3);
	size_t len = (size_t)256 << 20;
	volatile char *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		_exit(4);
	for (size_t i = 0; i < len; i += 4096)
		p[i] = 1;
	_exit(0);
}

static void test_real_oom(void **state)
{
	NEED_REAL();
	char g[128];
	gname(g, sizeof(g), "podO/hog");
	wf_err err = {0};
	wf_cgroup_limits lim = {.memory_bytes = 32 << 20};
	assert_int_equal(wf_cgroup_create(real, g, &lim, &err), 0);
	uint64_t kills = 99;
	int r = wf_cgroup_oom_kills(real, g, &kills);
	if (r == -WF_ENOTSUP) {
		print_message("skipped: this kernel does not count OOM kills per cgroup\n");
		skip();
	}
	assert_int_equal(r, 0);
	assert_int_equal(kills, 0);

	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		memory_hog(g);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGKILL);
	assert_int_equal(wf_cgroup_oom_kills(real, g, &kills), 0);
	assert_true(kills >= 1);
	assert_int_equal(wf_cgroup_remove(real, g, &err), 0);
}

static void test_real_cpu_throttle(void **state)
{
	NEED_REAL();
	char g[128];
	gname(g, sizeof(g), "podC/busy");
	wf_err err = {0};
	wf_cgroup_limits lim = {.cpu_milli = 100};
	assert_int_equal(wf_cgroup_create(real, g, &lim, &err), 0);
	struct wf_cgroup_cpu_stat st;
	assert_int_equal(wf_cgroup_cpu_stat(real, g, &st), 0);
	assert_int_equal(st.throttled_periods, 0);

	int p[2];
	assert_int_equal(pipe(p), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		alarm(60);
		if (wf_cgroup_enter(real, g, 0) < 0)
			_exit(3);
		(void)!write(p[1], "x", 1);
		for (volatile unsigned long spin = 0;; spin++)
			;
	}
	close(p[1]);
	char c;
	assert_int_equal(read(p[0], &c, 1), 1);
	close(p[0]);
	/* about 1.5 s of spinning (15 periods); the time only bounds the wait,
	 * the verdict comes from the group's counters */
	for (int i = 0; i < 150; i++) {
		test_fs_sleep_ms(100);
		assert_int_equal(wf_cgroup_cpu_stat(real, g, &st), 0);
		if (i >= 14 && st.throttled_periods > 0)
			break;
	}
	kill(pid, SIGKILL);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	assert_int_equal(wf_cgroup_cpu_stat(real, g, &st), 0);
	print_message("cpu.stat: periods %llu throttled %llu throttled_usec %llu usage_usec %llu\n",
		      (unsigned long long)st.periods, (unsigned long long)st.throttled_periods,
		      (unsigned long long)st.throttled_usec, (unsigned long long)st.usage_usec);
	assert_true(st.throttled_periods > 0);
	assert_true(st.periods >= st.throttled_periods);
	assert_true(st.throttled_usec > 0);
	/* 10 ms of quota per 100 ms period: even with generous slack the use
	 * stays far below what an unthrottled spinner would take (100 ms each) */
	if (st.usage_usec)
		assert_true(st.usage_usec <= (st.periods + 2) * 20000);
	assert_int_equal(wf_cgroup_remove(real, g, &err), 0);
}

/* A child that forks a grandchild, both in the group, then both sleep. */
static pid_t spawn_family(const char *group)
{
	int p[2];
	assert_int_equal(pipe(p), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(p[0]);
		alarm(60);
		if (wf_cgroup_enter(real, group, 0) < 0)
			_exit(3);
		pid_t gc = fork();
		if (gc == 0) {
			alarm(60);
			(void)!write(p[1], "g", 1);
			for (;;)
				pause();
		}
		(void)!write(p[1], "c", 1);
		for (;;)
			pause();
	}
	close(p[1]);
	char c[2];
	assert_int_equal(read(p[0], &c[0], 1), 1);
	assert_int_equal(read(p[0], &c[1], 1), 1);
	close(p[0]);
	return pid;
}

static void test_real_kill(void **state)
{
	NEED_REAL();
	char g[128];
	gname(g, sizeof(g), "podK/c");
	wf_err err = {0};
	assert_int_equal(wf_cgroup_create(real, g, NULL, &err), 0);
	pid_t kids[3];
	for (int i = 0; i < 3; i++)
		kids[i] = spawn_family(g);
	pid_t *pids = NULL;
	size_t n = 0;
	assert_int_equal(wf_cgroup_pids(real, g, &pids, &n), 0);
	assert_int_equal(n, 6);
	free(pids);

	assert_int_equal(wf_cgroup_kill(real, g, SIGTERM), 0);
	for (int i = 0; i < 3; i++) {
		int status;
		assert_int_equal(waitpid(kids[i], &status, 0), kids[i]);
		assert_true(WIFSIGNALED(status));
		assert_int_equal(WTERMSIG(status), SIGTERM);
	}
	/* the grandchildren (reparented to us, the subreaper) got it too */
	for (int i = 0; i < 100; i++) {
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
		assert_int_equal(wf_cgroup_pids(real, g, &pids, &n), 0);
		free(pids);
		if (n == 0)
			break;
		test_fs_sleep_ms(50);
	}
	assert_int_equal(n, 0);
	assert_null(pids);

	/* SIGKILL (v2: through cgroup.kill) */
	pid_t one = spawn_sleeper(real, g);
	assert_int_equal(wf_cgroup_kill(real, g, SIGKILL), 0);
	int status;
	assert_int_equal(waitpid(one, &status, 0), one);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

	assert_int_equal(wf_cgroup_kill(real, g, SIGKILL), 0); /* empty: fine */
	char other[128];
	gname(other, sizeof(other), "podK/none");
	assert_int_equal(wf_cgroup_kill(real, other, SIGTERM), -WF_ENOENT);
	assert_int_equal(wf_cgroup_kill(real, g, -1), -WF_EINVAL);
	assert_int_equal(wf_cgroup_kill(real, g, 100000), -WF_EINVAL);
	assert_int_equal(wf_cgroup_remove(real, g, &err), 0);
}

static void test_real_remove(void **state)
{
	NEED_REAL();
	char a[128], b[128], top[PATH_MAX], pa[PATH_MAX], pb[PATH_MAX], cpu_a[PATH_MAX];
	gname(a, sizeof(a), "podR/a");
	gname(b, sizeof(b), "podR/b");
	wf_err err = {0};
	assert_int_equal(wf_cgroup_create(real, a, NULL, &err), 0);
	assert_int_equal(wf_cgroup_create(real, b, NULL, &err), 0);
	real_path("memory", prefix, top, sizeof(top));
	real_path("memory", a, pa, sizeof(pa));
	real_path("memory", b, pb, sizeof(pb));
	real_path("cpu", a, cpu_a, sizeof(cpu_a));

	/* busy: refused, nothing removed */
	pid_t pid = spawn_sleeper(real, a);
	wf_err_clear(&err);
	assert_int_equal(wf_cgroup_remove(real, a, &err), -WF_EIO);
	assert_int_equal(err.code, WF_EIO);
	assert_non_null(strstr(err.msg, "processes"));
	assert_true(existsf("%s", pa));
	kill(pid, SIGKILL);
	assert_int_equal(waitpid(pid, NULL, 0), pid);

	/* a goes; podR stays for b */
	assert_int_equal(wf_cgroup_remove(real, a, &err), 0);
	assert_false(existsf("%s", pa));
	assert_false(existsf("%s", cpu_a));
	assert_true(existsf("%s/podR", top));
	/* b goes, and with it the empty parents up to wharf/, which stays */
	assert_int_equal(wf_cgroup_remove(real, b, &err), 0);
	assert_false(existsf("%s", pb));
	assert_false(existsf("%s/podR", top));
	assert_false(existsf("%s", top));
	*strrchr(top, '/') = '\0';
	assert_true(existsf("%s", top));
	/* gone already: fine */
	assert_int_equal(wf_cgroup_remove(real, b, &err), 0);
}

/* ---- fake trees --------------------------------------------------------- */

/* A v2 mount as cgroupfs would show it, with the interface files that a
 * real kernel creates in new groups made by hand. */
static char *fake_v2(const char *controllers, const char *root_subtree)
{
	char *t = make_tmp();
	putf(controllers, "%s/cgroup.controllers", t);
	putf(root_subtree, "%s/cgroup.subtree_control", t);
	mkdirf("%s/wharf", t);
	putf("", "%s/wharf/cgroup.subtree_control", t);
	return t;
}

static void fake_v2_group(const char *t, const char *pod, const char *ctr)
{
	mkdirf("%s/wharf/%s", t, pod);
	putf("", "%s/wharf/%s/cgroup.subtree_control", t, pod);
	mkdirf("%s/wharf/%s/%s", t, pod, ctr);
	static const char *const files[] = {"cpu.max",		"memory.max",	"memory.swap.max",
					    "memory.oom.group", "cgroup.procs", "cpu.stat",
					    "memory.events"};
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		putf("", "%s/wharf/%s/%s/%s", t, pod, ctr, files[i]);
}

static void test_fake_v2_detect(void **state)
{
	char why[256], buf[256], path[PATH_MAX];
	char *t = fake_v2("cpuset cpu io memory hugetlb pids\n", "");
	wf_cgroups *cg = detect(t, why, sizeof(why));
	assert_int_equal(wf_cgroups_mode(cg), WF_CGROUP_V2);
	assert_non_null(strstr(why, "cgroup v2"));
	/* cpu and memory delegated at the mount and at wharf/ */
	assert_string_equal(slurpf(buf, sizeof(buf), "%s/cgroup.subtree_control", t),
			    "+cpu +memory");
	assert_string_equal(slurpf(buf, sizeof(buf), "%s/wharf/cgroup.subtree_control", t),
			    "+cpu +memory");
	/* one directory for every controller */
	const char *ctls[] = {"cpu", "cpuacct", "memory"};
	for (int i = 0; i < 3; i++) {
		assert_int_equal(wf_cgroup_path(cg, ctls[i], "pod1/c1", path, sizeof(path)), 0);
		snprintf(buf, sizeof(buf), "%s/wharf/pod1/c1", t);
		assert_string_equal(path, buf);
	}
	assert_int_equal(wf_cgroup_path(cg, "blkio", "pod1/c1", path, sizeof(path)), -WF_EINVAL);
	assert_int_equal(wf_cgroup_path(cg, "memory", "pod1/c1", path, 8), -WF_ETOOBIG);

	/* already delegated: left alone; partly: only what is missing */
	t = fake_v2("cpu memory\n", "cpu memory io\n");
	putf("io cpu\n", "%s/wharf/cgroup.subtree_control", t);
	cg = detect(t, why, sizeof(why));
	assert_int_equal(wf_cgroups_mode(cg), WF_CGROUP_V2);
	assert_string_equal(slurpf(buf, sizeof(buf), "%s/cgroup.subtree_control", t),
			    "cpu memory io\n");
	assert_string_equal(slurpf(buf, sizeof(buf), "%s/wharf/cgroup.subtree_control", t),
			    "+memory");
}

static void test_fake_v2_create(void **state)
{
	char why[256], buf[256];
	char *t = fake_v2("cpu memory\n", "");
	wf_cgroups *cg = detect(t, why, sizeof(why));
	assert_int_equal(wf_cgroups_mode(cg), WF_CGROUP_V2);
	wf_err err = {0};
	wf_cgroup_limits lim = {.cpu_milli = 500, .memory_bytes = 64 << 20};

	/* pod1 is new and (unlike cgroupfs) has no subtree_control: the
	 * failure names the file and the directories made are taken back */
	assert_int_equal(wf_cgroup_create(cg, "pod1/c1", &lim, &err), -WF_EIO);
	assert_non_null(strstr(err.msg, "pod1/cgroup.subtree_control"));
	assert_false(existsf("%s/wharf/pod1", t));
	assert_true(existsf("%s/wharf", t));

	fake_v2_group(t, "pod1", "c1");
	assert_int_equal(wf_cgroup_create(cg, "pod1/c1", &lim, &err), 0);
	assert_string_equal(slurpf(buf, sizeof(buf), "%s/wharf/pod1/c1/cpu.max", t),
			    "50000 100000");
	assert_string_equal(slurpf(buf, sizeof(buf), "%s/wharf/pod1/c1/memory.max", t), "67108864");
	assert_string_equal(slurpf(buf, sizeof(buf), "%s/wharf/pod1/c1/memory.swap.max", t), "0");
	assert_string_equal(slurpf(buf, sizeof(buf), "%s/wharf/pod1/c1/memory.oom.group", t), "1");
	assert_string_equal(slurpf(buf, sizeof(buf), "%s/wharf/pod1/cgroup.subtree_control", t),
			    "+cpu +memory");
	/* the leaf delegates nothing: processes live there */
	assert_false(existsf("%s/wharf/pod1/c1/cgroup.subtree_control", t));

	assert_int_equal(wf_cgroup_create(cg, "pod1/c1", NULL, &err), 0);
	assert_string_equal(slurpf(buf, sizeof(buf), "%s/wharf/pod1/c1/cpu.max", t), "max 100000");
	assert_string_equal(slurpf(buf, sizeof(buf), "%s/wharf/pod1/c1/memory.max", t), "max");
	lim = (wf_cgroup_limits){.cpu_milli = 3};
	assert_int_equal(wf_cgroup_create(cg, "pod1/c1", &lim, &err), 0);
	assert_string_equal(slurpf(buf, sizeof(buf), "%s/wharf/pod1/c1/cpu.max", t), "1000 100000");

	/* swap and oom.group are optional */
	unlink(strcat(strcpy(buf, t), "/wharf/pod1/c1/memory.swap.max"));
	unlink(strcat(strcpy(buf, t), "/wharf/pod1/c1/memory.oom.group"));
	assert_int_equal(wf_cgroup_create(cg, "pod1/c1", &lim, &err), 0);
	assert_false(existsf("%s/wharf/pod1/c1/memory.swap.max", t));

	/* a component that is a file, not a group */
	putf("", "%s/wharf/pod1/blocker", t);
	wf_err_clear(&err);
	assert_int_equal(wf_cgroup_create(cg, "pod1/blocker", NULL, &err), -WF_EIO);
	assert_non_null(strstr(err.msg, "pod1/blocker: Not a directory"));

	/* enter writes the pid, once */
	assert_int_equal(wf_cgroup_enter(cg, "pod1/c1", 4242), 0);
	assert_string_equal(slurpf(buf, sizeof(buf), "%s/wharf/pod1/c1/cgroup.procs", t), "4242");
	assert_int_equal(wf_cgroup_enter(cg, "pod1/nope", 4242), -WF_ENOENT);
}

static void test_fake_v2_read(void **state)
{
	char why[256], f[PATH_MAX];
	char *t = fake_v2("cpu memory\n", "");
	wf_cgroups *cg = detect(t, why, sizeof(why));
	fake_v2_group(t, "p", "c");
	uint64_t v;

	snprintf(f, sizeof(f), "%s/wharf/p/c/memory.events", t);
	put(f, "low 0\nhigh 0\nmax 7\noom 3\noom_kill 2\noom_group_kill 1\n");
	assert_int_equal(wf_cgroup_oom_kills(cg, "p/c", &v), 0);
	assert_int_equal(v, 2);
	put(f, "oom_kill_x 5\noom_kill 9"); /* a longer key is another key; no newline */
	assert_int_equal(wf_cgroup_oom_kills(cg, "p/c", &v), 0);
	assert_int_equal(v, 9);
	put(f, "oom_kill 18446744073709551615\n");
	assert_int_equal(wf_cgroup_oom_kills(cg, "p/c", &v), 0);
	assert_true(v == UINT64_MAX);
	static const char *const bad[] = {"oom_kill 18446744073709551616\n", "oom_kill \n",
					  "oom_kill -1\n", "oom_kill 12x\n", "oom_kill  3\n"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		put(f, bad[i]);
		assert_int_equal(wf_cgroup_oom_kills(cg, "p/c", &v), -WF_EIO);
	}
	put(f, "low 0\nhigh 0\n");
	assert_int_equal(wf_cgroup_oom_kills(cg, "p/c", &v), -WF_ENOTSUP);
	put(f, "");
	assert_int_equal(wf_cgroup_oom_kills(cg, "p/c", &v), -WF_ENOTSUP);
	assert_int_equal(wf_cgroup_oom_kills(cg, "p/none", &v), -WF_ENOENT);

	struct wf_cgroup_cpu_stat st;
	snprintf(f, sizeof(f), "%s/wharf/p/c/cpu.stat", t);
	put(f, "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\nnr_periods 40\n"
	       "nr_throttled 12\nthrottled_usec 345\nnr_bursts 0\nburst_usec 0\n");
	assert_int_equal(wf_cgroup_cpu_stat(cg, "p/c", &st), 0);
	assert_int_equal(st.usage_usec, 1500);
	assert_int_equal(st.periods, 40);
	assert_int_equal(st.throttled_periods, 12);
	assert_int_equal(st.throttled_usec, 345);
	put(f, "usage_usec 77\nuser_usec 70\nsystem_usec 7\n"); /* no cpu controller */
	assert_int_equal(wf_cgroup_cpu_stat(cg, "p/c", &st), 0);
	assert_int_equal(st.usage_usec, 77);
	assert_int_equal(st.periods, 0);
	assert_int_equal(st.throttled_periods, 0);
	put(f, "usage_usec 1\nnr_periods lots\n");
	st.periods = 5;
	assert_int_equal(wf_cgroup_cpu_stat(cg, "p/c", &st), -WF_EIO);
	assert_int_equal(st.periods, 5); /* untouched on error */

	pid_t *pids;
	size_t n;
	snprintf(f, sizeof(f), "%s/wharf/p/c/cgroup.procs", t);
	put(f, "5\n3\n5\n1\n");
	assert_int_equal(wf_cgroup_pids(cg, "p/c", &pids, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(pids[0], 1);
	assert_int_equal(pids[1], 3);
	assert_int_equal(pids[2], 5);
	free(pids);
	put(f, "");
	assert_int_equal(wf_cgroup_pids(cg, "p/c", &pids, &n), 0);
	assert_int_equal(n, 0);
	assert_null(pids);
	static const char *const badp[] = {"12\nabc\n",	    "0\n",	  "-1\n",
					   "99999999999\n", "12\n\n13\n", " 12\n"};
	for (size_t i = 0; i < sizeof(badp) / sizeof(badp[0]); i++) {
		put(f, badp[i]);
		assert_int_equal(wf_cgroup_pids(cg, "p/c", &pids, &n), -WF_EIO);
	}
	/* a big group */
	FILE *fp = fopen(f, "w");
	assert_non_null(fp);
	for (int i = 200000; i > 0; i--)
		fprintf(fp, "%d\n", i);
	fclose(fp);
	assert_int_equal(wf_cgroup_pids(cg, "p/c", &pids, &n), 0);
	assert_int_equal(n, 200000);
	assert_int_equal(pids[0], 1);
	assert_int_equal(pids[n - 1], 200000);
	free(pids);
}

static void test_fake_v2_kill(void **state)
{
	char why[256], f[PATH_MAX], buf[64];
	char *t = fake_v2("cpu memory\n", "");
	wf_cgroups *cg = detect(t, why, sizeof(why));
	fake_v2_group(t, "p", "c");
	snprintf(f, sizeof(f), "%s/wharf/p/c/cgroup.procs", t);

	/* without cgroup.kill: the pids listed are signalled */
	pid_t a = spawn_sleeper(NULL, NULL), b = spawn_sleeper(NULL, NULL);
	snprintf(buf, sizeof(buf), "%d\n%d\n", (int)a, (int)b);
	put(f, buf);
	assert_int_equal(wf_cgroup_kill(cg, "p/c", SIGTERM), 0);
	int status;
	assert_int_equal(waitpid(a, &status, 0), a);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
	assert_int_equal(waitpid(b, &status, 0), b);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);

	/* a hostile list is refused before anything is signalled (kill(0, ..)
	 * or kill(-1, ..) would hit us or everyone) */
	put(f, "0\n");
	assert_int_equal(wf_cgroup_kill(cg, "p/c", SIGTERM), -WF_EIO);
	put(f, "-1\n");
	assert_int_equal(wf_cgroup_kill(cg, "p/c", SIGTERM), -WF_EIO);
	a = spawn_sleeper(NULL, NULL);
	snprintf(buf, sizeof(buf), "%d\nbogus\n", (int)a);
	put(f, buf);
	assert_int_equal(wf_cgroup_kill(cg, "p/c", SIGTERM), -WF_EIO);
	assert_int_equal(waitpid(a, &status, WNOHANG), 0); /* still alive */
	kill(a, SIGKILL);
	waitpid(a, NULL, 0);

	/* SIGKILL with cgroup.kill: one write of "1" */
	snprintf(buf, sizeof(buf), "%s/wharf/p/c/cgroup.kill", t);
	put(buf, "");
	put(f, "bogus\n"); /* not even read */
	assert_int_equal(wf_cgroup_kill(cg, "p/c", SIGKILL), 0);
	char got[16];
	assert_string_equal(slurp(buf, got, sizeof(got)), "1");
	assert_int_equal(wf_cgroup_kill(cg, "p/none", SIGKILL), -WF_ENOENT);
	assert_int_equal(wf_cgroup_kill(cg, "p/none", SIGTERM), -WF_ENOENT);
}

static void test_fake_remove(void **state)
{
	char why[256];
	char *t = fake_v2("cpu memory\n", "");
	wf_cgroups *cg = detect(t, why, sizeof(why));
	mkdirf("%s/wharf/pod9", t);
	mkdirf("%s/wharf/pod9/a", t);
	mkdirf("%s/wharf/pod9/b", t);
	mkdirf("%s/wharf/pod9/b/x", t);
	wf_err err = {0};
	assert_int_equal(wf_cgroup_remove(cg, "pod9/a", &err), 0);
	assert_false(existsf("%s/wharf/pod9/a", t));
	assert_true(existsf("%s/wharf/pod9", t));
	/* b still holds a group */
	assert_int_equal(wf_cgroup_remove(cg, "pod9/b", &err), -WF_EIO);
	assert_true(existsf("%s/wharf/pod9/b", t));
	/* x goes, and b and pod9, left empty, with it; wharf stays */
	assert_int_equal(wf_cgroup_remove(cg, "pod9/b/x", &err), 0);
	assert_false(existsf("%s/wharf/pod9", t));
	assert_true(existsf("%s/wharf", t));
	assert_int_equal(wf_cgroup_remove(cg, "pod9/b", &err), 0);
	/* a sibling outside the removed path is never touched */
	mkdirf("%s/wharf/pod8", t);
	mkdirf("%s/wharf/pod8/c", t);
	mkdirf("%s/wharf/pod7", t);
	assert_int_equal(wf_cgroup_remove(cg, "pod8/c", &err), 0);
	assert_false(existsf("%s/wharf/pod8", t));
	assert_true(existsf("%s/wharf/pod7", t));
}

static void fake_v1_group(const char *t, const char *cpu, const char *acct, bool memsw)
{
	static const char *const cfiles[] = {"cpu.cfs_period_us", "cpu.cfs_quota_us", "cpu.stat",
					     "cgroup.procs"};
	static const char *const mfiles[] = {"memory.limit_in_bytes", "memory.oom_control",
					     "cgroup.procs"};
	mkdirf("%s/%s/wharf/p", t, cpu);
	mkdirf("%s/%s/wharf/p/c", t, cpu);
	for (size_t i = 0; i < 4; i++)
		putf("", "%s/%s/wharf/p/c/%s", t, cpu, cfiles[i]);
	if (acct) {
		mkdirf("%s/%s/wharf/p", t, acct);
		mkdirf("%s/%s/wharf/p/c", t, acct);
		putf("", "%s/%s/wharf/p/c/cpuacct.usage", t, acct);
		putf("", "%s/%s/wharf/p/c/cgroup.procs", t, acct);
	}
	mkdirf("%s/memory/wharf/p", t);
	mkdirf("%s/memory/wharf/p/c", t);
	for (size_t i = 0; i < 3; i++)
		putf("", "%s/memory/wharf/p/c/%s", t, mfiles[i]);
	if (memsw)
		putf("", "%s/memory/wharf/p/c/memory.memsw.limit_in_bytes", t);
}

static void test_fake_v1(void **state)
{
	char why[512], buf[256], path[PATH_MAX], want[PATH_MAX];
	char *t = make_tmp();
	mkdirf("%s/cpu", t);
	mkdirf("%s/cpuacct", t);
	mkdirf("%s/memory", t);
	mkdirf("%s/unified", t); /* a cgroup2 mount elsewhere does not count */
	putf("", "%s/unified/cgroup.controllers", t);
	wf_cgroups *cg = detect(t, why, sizeof(why));
	assert_int_equal(wf_cgroups_mode(cg), WF_CGROUP_V1);
	assert_non_null(strstr(why, "cgroup v1"));
	const char *ctls[] = {"cpu", "cpuacct", "memory"};
	for (int i = 0; i < 3; i++) {
		assert_true(existsf("%s/%s/wharf", t, ctls[i]));
		assert_int_equal(wf_cgroup_path(cg, ctls[i], "p/c", path, sizeof(path)), 0);
		snprintf(want, sizeof(want), "%s/%s/wharf/p/c", t, ctls[i]);
		assert_string_equal(path, want);
	}

	fake_v1_group(t, "cpu", "cpuacct", true);
	wf_err err = {0};
	wf_cgroup_limits lim = {.cpu_milli = 250, .memory_bytes = 32 << 20};
	assert_int_equal(wf_cgroup_create(cg, "p/c", &lim, &err), 0);
	assert_string_equal(slurpf(buf, sizeof(buf), "%s/cpu/wharf/p/c/cpu.cfs_period_us", t),
			    "100000");
	assert_string_equal(slurpf(buf, sizeof(buf), "%s/cpu/wharf/p/c/cpu.cfs_quota_us", t),
			    "25000");
	assert_string_equal(
	    slurpf(buf, sizeof(buf), "%s/memory/wharf/p/c/memory.limit_in_bytes", t), "33554432");
	assert_string_equal(
	    slurpf(buf, sizeof(buf), "%s/memory/wharf/p/c/memory.memsw.limit_in_bytes", t),
	    "33554432");
	assert_int_equal(wf_cgroup_create(cg, "p/c", NULL, &err), 0);
	assert_string_equal(slurpf(buf, sizeof(buf), "%s/cpu/wharf/p/c/cpu.cfs_quota_us", t), "-1");
	assert_string_equal(
	    slurpf(buf, sizeof(buf), "%s/memory/wharf/p/c/memory.limit_in_bytes", t), "-1");
	assert_string_equal(
	    slurpf(buf, sizeof(buf), "%s/memory/wharf/p/c/memory.memsw.limit_in_bytes", t), "-1");

	/* every hierarchy gets the pid */
	assert_int_equal(wf_cgroup_enter(cg, "p/c", 4321), 0);
	for (int i = 0; i < 3; i++)
		assert_string_equal(
		    slurpf(buf, sizeof(buf), "%s/%s/wharf/p/c/cgroup.procs", t, ctls[i]), "4321");

	struct wf_cgroup_cpu_stat st;
	putf("nr_periods 10\nnr_throttled 4\nthrottled_time 5000000\nnr_bursts 0\nburst_time 0\n",
	     "%s/cpu/wharf/p/c/cpu.stat", t);
	putf("123456789\n", "%s/cpuacct/wharf/p/c/cpuacct.usage", t);
	assert_int_equal(wf_cgroup_cpu_stat(cg, "p/c", &st), 0);
	assert_int_equal(st.periods, 10);
	assert_int_equal(st.throttled_periods, 4);
	assert_int_equal(st.throttled_usec, 5000);
	assert_int_equal(st.usage_usec, 123456);
	putf("12 34\n", "%s/cpuacct/wharf/p/c/cpuacct.usage", t);
	assert_int_equal(wf_cgroup_cpu_stat(cg, "p/c", &st), -WF_EIO);
	putf("", "%s/cpuacct/wharf/p/c/cpuacct.usage", t);
	assert_int_equal(wf_cgroup_cpu_stat(cg, "p/c", &st), -WF_EIO);

	uint64_t kills;
	putf("oom_kill_disable 0\nunder_oom 0\noom_kill 3\n",
	     "%s/memory/wharf/p/c/memory.oom_control", t);
	assert_int_equal(wf_cgroup_oom_kills(cg, "p/c", &kills), 0);
	assert_int_equal(kills, 3);
	putf("oom_kill_disable 0\nunder_oom 0\n", "%s/memory/wharf/p/c/memory.oom_control", t);
	assert_int_equal(wf_cgroup_oom_kills(cg, "p/c", &kills), -WF_ENOTSUP);

	/* no memsw file (no swap accounting): not created, not an error */
	unlink(strcat(strcpy(path, t), "/memory/wharf/p/c/memory.memsw.limit_in_bytes"));
	assert_int_equal(wf_cgroup_create(cg, "p/c", &lim, &err), 0);
	assert_false(existsf("%s/memory/wharf/p/c/memory.memsw.limit_in_bytes", t));

	/* a file missing in a group (no CFS bandwidth): error names it, and
	 * the group made for the call is taken back */
	wf_err_clear(&err);
	assert_int_equal(wf_cgroup_create(cg, "q/c", &lim, &err), -WF_EIO);
	assert_non_null(strstr(err.msg, "cpu.cfs_period_us"));
	for (int i = 0; i < 3; i++) {
		assert_false(existsf("%s/%s/wharf/q", t, ctls[i]));
		assert_true(existsf("%s/%s/wharf", t, ctls[i]));
	}
}

/* cpu and cpuacct mounted together ("cpu,cpuacct", with the usual links):
 * one hierarchy, entered once. */
static void test_fake_v1_comounted(void **state)
{
	char why[512], buf[256], a[PATH_MAX], b[PATH_MAX];
	char *t = make_tmp();
	mkdirf("%s/cpu,cpuacct", t);
	snprintf(a, sizeof(a), "%s/cpu", t);
	assert_int_equal(symlink("cpu,cpuacct", a), 0);
	snprintf(a, sizeof(a), "%s/cpuacct", t);
	assert_int_equal(symlink("cpu,cpuacct", a), 0);
	mkdirf("%s/memory", t);
	wf_cgroups *cg = detect(t, why, sizeof(why));
	assert_int_equal(wf_cgroups_mode(cg), WF_CGROUP_V1);
	assert_int_equal(wf_cgroup_path(cg, "cpu", "p/c", a, sizeof(a)), 0);
	assert_int_equal(wf_cgroup_path(cg, "cpuacct", "p/c", b, sizeof(b)), 0);
	assert_string_equal(a, b);
	fake_v1_group(t, "cpu,cpuacct", NULL, false);
	putf("", "%s/cpu,cpuacct/wharf/p/c/cpuacct.usage", t);
	put(strcat(strcpy(a, t), "/cpu,cpuacct/wharf/p/c/cgroup.procs"), "old");
	assert_int_equal(wf_cgroup_enter(cg, "p/c", 77), 0);
	assert_string_equal(slurp(a, buf, sizeof(buf)), "77");

	/* v1 without cpuacct: usage reads 0 */
	t = make_tmp();
	mkdirf("%s/cpu", t);
	mkdirf("%s/memory", t);
	cg = detect(t, why, sizeof(why));
	assert_int_equal(wf_cgroups_mode(cg), WF_CGROUP_V1);
	assert_int_equal(wf_cgroup_path(cg, "cpuacct", "p/c", a, sizeof(a)), -WF_ENOTSUP);
	fake_v1_group(t, "cpu", NULL, false);
	putf("nr_periods 2\nnr_throttled 1\nthrottled_time 999\n", "%s/cpu/wharf/p/c/cpu.stat", t);
	struct wf_cgroup_cpu_stat st;
	assert_int_equal(wf_cgroup_cpu_stat(cg, "p/c", &st), 0);
	assert_int_equal(st.usage_usec, 0);
	assert_int_equal(st.throttled_usec, 0);
	assert_int_equal(st.periods, 2);
}

static void check_none_mode(wf_cgroups *cg)
{
	assert_int_equal(wf_cgroups_mode(cg), WF_CGROUP_NONE);
	wf_err err = {0};
	wf_cgroup_limits lim = {.cpu_milli = 100, .memory_bytes = 1 << 20};
	char path[PATH_MAX];
	uint64_t v;
	struct wf_cgroup_cpu_stat st;
	pid_t *pids;
	size_t n;
	assert_int_equal(wf_cgroup_create(cg, "p/c", &lim, &err), 0);
	assert_int_equal(wf_cgroup_enter(cg, "p/c", 0), 0);
	assert_int_equal(wf_cgroup_remove(cg, "p/c", &err), 0);
	assert_int_equal(wf_cgroup_path(cg, "memory", "p/c", path, sizeof(path)), -WF_ENOTSUP);
	assert_int_equal(wf_cgroup_oom_kills(cg, "p/c", &v), -WF_ENOTSUP);
	assert_int_equal(wf_cgroup_cpu_stat(cg, "p/c", &st), -WF_ENOTSUP);
	assert_int_equal(wf_cgroup_kill(cg, "p/c", SIGTERM), -WF_ENOTSUP);
	assert_int_equal(wf_cgroup_pids(cg, "p/c", &pids, &n), -WF_ENOTSUP);
	/* names are still checked */
	assert_int_equal(wf_cgroup_create(cg, "../c", &lim, &err), -WF_EINVAL);
	assert_int_equal(wf_cgroup_enter(cg, "/c", 0), -WF_EINVAL);
}

static void test_fake_none(void **state)
{
	char why[512];
	char *t = make_tmp();

	wf_cgroups *cg = detect(t, why, sizeof(why));
	assert_non_null(cg);
	assert_non_null(strstr(why, "no cgroups under"));
	check_none_mode(cg);
	assert_false(existsf("%s/wharf", t)); /* nothing made */

	/* v2 without the cpu and memory controllers */
	putf("io pids\n", "%s/cgroup.controllers", t);
	cg = detect(t, why, sizeof(why));
	assert_non_null(strstr(why, "lacks the cpu and memory controllers"));
	check_none_mode(cg);
	putf("cpuset memory\n", "%s/cgroup.controllers", t); /* "cpuset" is not "cpu" */
	cg = detect(t, why, sizeof(why));
	assert_int_equal(wf_cgroups_mode(cg), WF_CGROUP_NONE);

	/* v2, cannot delegate (cgroupfs says EBUSY; here: no such file) */
	putf("cpu memory\n", "%s/cgroup.controllers", t);
	cg = detect(t, why, sizeof(why));
	assert_non_null(strstr(why, "cgroup.subtree_control"));
	check_none_mode(cg);

	/* v2, wharf cannot be made (a file is in the way) */
	putf("", "%s/cgroup.subtree_control", t);
	putf("", "%s/wharf", t);
	cg = detect(t, why, sizeof(why));
	assert_non_null(strstr(why, "cannot create"));
	check_none_mode(cg);

	/* v1, likewise; and only one of the two needed controllers */
	t = make_tmp();
	mkdirf("%s/cpu", t);
	cg = detect(t, why, sizeof(why));
	assert_int_equal(wf_cgroups_mode(cg), WF_CGROUP_NONE);
	mkdirf("%s/memory", t);
	putf("", "%s/memory/wharf", t);
	cg = detect(t, why, sizeof(why));
	assert_non_null(strstr(why, "memory/wharf"));
	check_none_mode(cg);

	/* no such root; no room for the reason; NULL handle */
	cg = detect("/nonexistent/wharf-cgroup-root", why, sizeof(why));
	check_none_mode(cg);
	cg = detect("/nonexistent/wharf-cgroup-root", NULL, 0);
	check_none_mode(cg);
	char tiny[8];
	cg = detect("/nonexistent/wharf-cgroup-root", tiny, sizeof(tiny));
	assert_int_equal(strlen(tiny), sizeof(tiny) - 1);
	check_none_mode(NULL);
	wf_cgroups_free(NULL);
}

static void test_names(void **state)
{
	char longest[WF_CGROUP_NAME_MAX + 2];
	memset(longest, 'a', WF_CGROUP_NAME_MAX);
	longest[WF_CGROUP_NAME_MAX] = '\0';
	const char *good[] = {"a",	  "pod123/c", "pod-ab_1.2/x.y", "...",
			      "a/.b/..c", "A/B/C/D",  longest};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_true(wf_cgroup_name_valid(good[i]));
	longest[WF_CGROUP_NAME_MAX] = 'a';
	longest[WF_CGROUP_NAME_MAX + 1] = '\0';
	const char *bad[] = {"",     "/",	 "/a",	  "a/",	    "a//b", ".",   "..",
			     "a/..", "../a",	 "a/./b", "a/b/..", "./a",  "a b", "a\nb",
			     "a\\b", "\xc3\xa9", "*",	  "a:b",    "a\tb", "~",   longest};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(wf_cgroup_name_valid(bad[i]));
	assert_false(wf_cgroup_name_valid(NULL));

	/* every call refuses them first, even with working cgroups */
	char why[256], path[PATH_MAX];
	char *t = fake_v2("cpu memory\n", "");
	wf_cgroups *cg = detect(t, why, sizeof(why));
	assert_int_equal(wf_cgroups_mode(cg), WF_CGROUP_V2);
	const char *hostile[] = {"../../../etc", "/sys/fs/cgroup/x", "a/../../b", "", "a\n"};
	for (size_t i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
		const char *g = hostile[i];
		wf_err err = {0};
		uint64_t v;
		struct wf_cgroup_cpu_stat st;
		pid_t *pids;
		size_t n;
		assert_int_equal(wf_cgroup_create(cg, g, NULL, &err), -WF_EINVAL);
		assert_int_equal(err.code, WF_EINVAL);
		assert_int_equal(wf_cgroup_remove(cg, g, &err), -WF_EINVAL);
		assert_int_equal(wf_cgroup_enter(cg, g, 1), -WF_EINVAL);
		assert_int_equal(wf_cgroup_oom_kills(cg, g, &v), -WF_EINVAL);
		assert_int_equal(wf_cgroup_cpu_stat(cg, g, &st), -WF_EINVAL);
		assert_int_equal(wf_cgroup_kill(cg, g, SIGTERM), -WF_EINVAL);
		assert_int_equal(wf_cgroup_pids(cg, g, &pids, &n), -WF_EINVAL);
		assert_int_equal(wf_cgroup_path(cg, "memory", g, path, sizeof(path)), -WF_EINVAL);
	}
	assert_int_equal(wf_cgroup_create(cg, NULL, NULL, NULL), -WF_EINVAL);
	/* limits */
	wf_err err = {0};
	wf_cgroup_limits lim = {.cpu_milli = -1};
	assert_int_equal(wf_cgroup_create(cg, "p", &lim, &err), -WF_EINVAL);
	lim = (wf_cgroup_limits){.memory_bytes = -5};
	assert_int_equal(wf_cgroup_create(cg, "p", &lim, &err), -WF_EINVAL);
	lim = (wf_cgroup_limits){.cpu_milli = INT64_MAX};
	assert_int_equal(wf_cgroup_create(cg, "p", &lim, &err), -WF_EINVAL);
	assert_false(existsf("%s/wharf/p", t));
}

int main(void)
{
	const struct CMUnitTest fake[] = {
	    cmocka_unit_test_teardown(test_names, release_tracked),
	    cmocka_unit_test_teardown(test_fake_v2_detect, release_tracked),
	    cmocka_unit_test_teardown(test_fake_v2_create, release_tracked),
	    cmocka_unit_test_teardown(test_fake_v2_read, release_tracked),
	    cmocka_unit_test_teardown(test_fake_v2_kill, release_tracked),
	    cmocka_unit_test_teardown(test_fake_remove, release_tracked),
	    cmocka_unit_test_teardown(test_fake_v1, release_tracked),
	    cmocka_unit_test_teardown(test_fake_v1_comounted, release_tracked),
	    cmocka_unit_test_teardown(test_fake_none, release_tracked),
	};
	const struct CMUnitTest live[] = {
	    cmocka_unit_test_teardown(test_real_detect, real_teardown),
	    cmocka_unit_test_teardown(test_real_create_unlimited, real_teardown),
	    cmocka_unit_test_teardown(test_real_create_limits, real_teardown),
	    cmocka_unit_test_teardown(test_real_create_rollback, real_teardown),
	    cmocka_unit_test_teardown(test_real_enter, real_teardown),
	    cmocka_unit_test_teardown(test_real_oom, real_teardown),
	    cmocka_unit_test_teardown(test_real_cpu_throttle, real_teardown),
	    cmocka_unit_test_teardown(test_real_kill, real_teardown),
	    cmocka_unit_test_teardown(test_real_remove, real_teardown),
	};
	int rc = cmocka_run_group_tests_name("cgroup_fake", fake, NULL, NULL);
	rc |=
	    cmocka_run_group_tests_name("cgroup_real", live, real_group_setup, real_group_teardown);
	return rc;
}
