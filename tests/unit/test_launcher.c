/*
 * test_launcher.c - unit tests for the shim launcher (agent/launcher.h):
 * real shims (this test binary as `test_launcher shim DIR`, forked by a
 * real spawner) started off the caller's thread.
 *
 * Covered: starts run in the order queued and each is reported once; a
 * start `wanted` refuses is skipped and starts nothing (no spec.json is
 * written); a start that cannot happen (a malformed spec) is reported
 * failed with the reason; a started shim runs its container to exit.json;
 * freeing the launcher with many starts queued returns, reporting none
 * twice or out of order.
 * Waits are bounded polls; nothing asserts on timing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <ftw.h>
#include <pthread.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "agent/launcher.h"
#include "agent/shim.h"
#include "lib/wf_mem.h"
#include "test_fs.h"

#define SELF "/proc/self/exe"
#define MAX_REPORTS 16

static wf_shim_spawner *g_sp;
static char g_dir[64];

typedef struct report {
	wf_launch_id id;
	wf_launch_result res;
	pid_t pid;
	char msg[256];
} report;

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static report g_reports[MAX_REPORTS];
static int g_nreports, g_total; /* kept, and made in all */

static bool wanted(void *ctx, const wf_launch_id *id)
{
	(void)ctx;
	return strcmp(id->ctr, "unwanted") != 0;
}

static void done(void *ctx, const wf_launch_id *id, wf_launch_result res, pid_t pid,
		 const wf_err *err)
{
	(void)ctx;
	pthread_mutex_lock(&g_mu);
	g_total++;
	if (g_nreports < MAX_REPORTS) {
		report *r = &g_reports[g_nreports++];
		r->id = *id;
		r->res = res;
		r->pid = pid;
		snprintf(r->msg, sizeof r->msg, "%s", err ? err->msg : "");
	}
	pthread_mutex_unlock(&g_mu);
}

static int setup(void **state)
{
	(void)state;
	g_nreports = g_total = 0;
	return test_fs_mkdtemp(g_dir, sizeof g_dir, "wf-launcher") ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	test_fs_rm_rf(g_dir);
	return 0;
}

static int nreports(void)
{
	pthread_mutex_lock(&g_mu);
	int n = g_nreports;
	pthread_mutex_unlock(&g_mu);
	return n;
}

static bool exists(const char *dir, const char *file)
{
	char *p = wf_xasprintf("%s/%s", dir, file);
	bool ok = access(p, F_OK) == 0;
	free(p);
	return ok;
}

static void add(wf_launcher *l, const char *ctr, int attempt, json_t *spec, char *dir, size_t cap)
{
	wf_launch_id id = {.attempt = attempt};
	snprintf(id.uid, sizeof id.uid, "uid-1");
	snprintf(id.ctr, sizeof id.ctr, "%s", ctr);
	snprintf(dir, cap, "%s/%s/%d", g_dir, ctr, attempt);
	wf_launcher_add(l, &id, dir, spec);
}

static void test_order_skip_fail_start(void **state)
{
	(void)state;
	wf_launcher *l = wf_launcher_new(SELF, g_sp, wanted, done, NULL);
	char log[128], ok_dir[128], skip_dir[128], bad_dir[128];
	snprintf(log, sizeof log, "%s/main.log", g_dir);
	add(l, "main", 0,
	    json_pack("{s:[s,s,s], s:[s], s:s, s:s}", "command", "/bin/sh", "-c", "exit 3", "env",
		      "PATH=/usr/bin:/bin", "workingDir", g_dir, "log", log),
	    ok_dir, sizeof ok_dir);
	add(l, "unwanted", 0, json_pack("{s:[s]}", "command", "true"), skip_dir, sizeof skip_dir);
	add(l, "bad", 2, json_pack("[s]", "not an object"), bad_dir, sizeof bad_dir);
	for (int i = 0; i < 1000 && nreports() < 3; i++)
		test_fs_sleep_ms(10);
	assert_int_equal(nreports(), 3);

	assert_string_equal(g_reports[0].id.ctr, "main");
	assert_int_equal(g_reports[0].res, WF_LAUNCH_STARTED);
	assert_true(g_reports[0].pid > 0);
	assert_string_equal(g_reports[1].id.ctr, "unwanted");
	assert_int_equal(g_reports[1].res, WF_LAUNCH_SKIPPED);
	assert_false(exists(skip_dir, "spec.json")); /* nothing was started */
	assert_string_equal(g_reports[2].id.ctr, "bad");
	assert_int_equal(g_reports[2].id.attempt, 2);
	assert_int_equal(g_reports[2].res, WF_LAUNCH_FAILED);
	assert_non_null(strstr(g_reports[2].msg, "want an object"));

	/* The started shim runs its container to the end. */
	for (int i = 0; i < 1000 && !exists(ok_dir, "exit.json"); i++)
		test_fs_sleep_ms(10);
	wf_shim_state st;
	wf_err err = {0};
	assert_int_equal(wf_shim_read_state(ok_dir, &st, &err), 0);
	assert_true(st.exited);
	assert_int_equal(st.exit_code, 3);
	wf_launcher_free(l);
	assert_int_equal(g_total, 3); /* nothing reported twice */
}

/* Freeing with many starts queued (each refused by `wanted`) returns; what
 * was reported before it was each start once, in order. */
static void test_free_with_queue(void **state)
{
	(void)state;
	wf_launcher *l = wf_launcher_new(SELF, g_sp, wanted, done, NULL);
	char dir[128];
	for (int i = 0; i < 200; i++)
		add(l, "unwanted", i, json_pack("{s:[s]}", "command", "true"), dir, sizeof dir);
	wf_launcher_free(l);
	assert_true(g_total <= 200);
	for (int i = 0; i < g_nreports; i++) {
		assert_int_equal(g_reports[i].res, WF_LAUNCH_SKIPPED);
		assert_int_equal(g_reports[i].id.attempt, i);
	}
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "shim"))
		return wf_shim_main(argc - 1, argv + 1);
	/* While this process has one thread. */
	wf_err err = {0};
	if (wf_shim_spawner_start(&g_sp, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		return 1;
	}
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_order_skip_fail_start, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_free_with_queue, setup, teardown),
	};
	int failed = cmocka_run_group_tests(tests, NULL, NULL);
	wf_shim_spawner_stop(g_sp);
	return failed;
}
