/*
 * slurm_compare.c - Wharf side by side with Slurm: N one-GPU jobs of `true`
 * on one node of 8 GPUs, through Wharf and through Debian's Slurm
 * (../shared/peers/slurm/run.sh), in the same run; prints both times and
 * their ratio (the goal in DESIGN.md: Wharf >= 10x faster).
 *
 * Wharf side: the release binary as `wharf server` (controllers and
 * scheduler in-process) and as `wharf agent` with 8 declared GPUs, fresh
 * data directories. Each job is a pod (restartPolicy Never, one container
 * running `true`, limits nvidia.com/gpu: 1). Two ways of feeding them:
 *   - scheduler: all N pods are created at once without a node; Wharf's
 *     scheduler holds them Pending and binds one whenever a GPU frees up,
 *     as slurmctld does with its queue. This is the like-for-like figure.
 *   - paced: pods are created with spec.nodeName set (no scheduler), and
 *     the benchmark keeps at most 8 unfinished at any time (the agent, like
 *     kubelet, rejects a pod it cannot give a GPU at admission), creating
 *     the next one as soon as the watch reports one finished.
 * A run's time goes from its first create to the moment a pod watch has
 * seen all N jobs Succeeded. A pod the agent rejects at admission (Failed:
 * it saw the GPU of a pod that had just finished still in use) is
 * resubmitted under a new name, as a Job controller would replace it, and
 * counted in the report.
 * Finished pods stay (Succeeded), as slurmctld keeps finished job records;
 * --delete deletes each one as soon as the watch reports it finished (as
 * ttlSecondsAfterFinished: 0 would), which adds the deletions' writes and
 * the agent's teardown to the same run.
 *
 * Slurm side: run.sh is run as it is (it needs root and installs
 * slurm-wlm when missing; about 200 s for 2,000 jobs here) with N set, its
 * output passed through, and its closing line "slurm: submit N jobs X s,
 * all done Y s, ..." parsed. When it cannot run, that is said and Wharf's
 * figures still stand.
 *
 *   build/release/bench/slurm_compare [--wharf build/release/wharf] [--jobs N]
 *       [--mode scheduler|paced|both] [--slurm PATH | --no-slurm] [--delete]
 *       [--timeout S (per Wharf run, default 900)]
 */
#include <curl/curl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"

#define NODE "gpu-node"
#define GPUS 8
#define MAX_JOBS 100000
#define CREATORS 4
#define DEFAULT_SLURM "../shared/peers/slurm/run.sh" /* from the repository root */

static double g_timeout_s = 900; /* per Wharf run */
/* ---- processes ------------------------------------------------------------------ */

static void start(const char *bin)
{
	make_tmp_dir("/tmp/wharf-slurmcmp-XXXXXX");
	const char *extra[] = {NULL};
	start_server(bin, "server", extra, true, 500);
	char gpus[64];
	snprintf(gpus, sizeof gpus, "%d:NVIDIA-H100-80GB-HBM3:81559", GPUS);
	start_agent(bin, NODE, gpus, 500);
}

/* ---- the watch: counts pods of the current run that finished ------------------- */

/* Job i runs as pod "job-<i>"; an attempt the agent rejected (Failed) is
 * resubmitted as "job-<i>-r<k>", as a Job controller would replace it. */
typedef struct attempt_ref {
	int job, attempt;
} attempt_ref;

#define RING (2 * MAX_JOBS)

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_cv = PTHREAD_COND_INITIALIZER;
/* All below guarded by g_mu. */
static char g_ns[64];	    /* namespace of the current run */
static int g_n;		    /* jobs in the current run */
static uint8_t *g_state;    /* per job: 0 unfinished, 1 Succeeded, 2 failed, to resubmit */
static int *g_attempt;	    /* per job: its current attempt */
static int g_done;	    /* jobs Succeeded */
static int g_failed;	    /* attempts Failed */
static attempt_ref *g_reap; /* finished attempts to delete (a ring), or NULL */
static int g_reap_head, g_reap_tail;
static int *g_retry; /* failed jobs to resubmit (a ring) */
static int g_retry_head, g_retry_tail;
static char g_first_failure[512];
static volatile bool g_stop_watch;
static bool g_delete; /* delete pods once finished */

static void pod_name(char *buf, size_t len, int job, int attempt)
{
	if (attempt)
		snprintf(buf, len, "job-%d-r%d", job, attempt);
	else
		snprintf(buf, len, "job-%d", job);
}

static void on_event(const char *line)
{
	json_t *ev = json_loads(line, 0, NULL);
	json_t *obj = json_object_get(ev, "object");
	json_t *md = json_object_get(obj, "metadata");
	const char *name = json_string_value(json_object_get(md, "name"));
	const char *ns = json_string_value(json_object_get(md, "namespace"));
	const char *phase =
	    json_string_value(json_object_get(json_object_get(obj, "status"), "phase"));
	int i, a = 0;
	bool ok = phase && !strcmp(phase, "Succeeded");
	if (!name || !ns || !phase || (!ok && strcmp(phase, "Failed")) ||
	    sscanf(name, "job-%d-r%d", &i, &a) < 1) {
		json_decref(ev);
		return;
	}
	pthread_mutex_lock(&g_mu);
	if (!strcmp(ns, g_ns) && i >= 0 && i < g_n && g_attempt[i] == a && !g_state[i]) {
		g_state[i] = ok ? 1 : 2;
		if (ok) {
			g_done++;
		} else {
			g_retry[g_retry_tail++ % RING] = i;
			if (!g_failed++) {
				const char *msg = json_string_value(
				    json_object_get(json_object_get(obj, "status"), "message"));
				snprintf(g_first_failure, sizeof g_first_failure, "%s: %s", name,
					 msg ? msg : "(no message)");
			}
		}
		if (g_reap)
			g_reap[g_reap_tail++ % RING] = (attempt_ref){i, a};
		pthread_cond_broadcast(&g_cv);
	}
	pthread_mutex_unlock(&g_mu);
	json_decref(ev);
}

static void *watch_main(void *arg)
{
	char *url = arg;
	bench_watch_run(url, on_event, &g_stop_watch);
	free(url);
	return NULL;
}

/* Delete finished pods as the watch reports them, until the run ends. */
static void *reaper_main(void *arg)
{
	CURL *c = new_handle_t(30);
	char path[256];
	for (;;) {
		pthread_mutex_lock(&g_mu);
		while (g_reap_head == g_reap_tail && !g_stop_watch)
			pthread_cond_wait(&g_cv, &g_mu);
		if (g_reap_head == g_reap_tail) {
			pthread_mutex_unlock(&g_mu);
			break;
		}
		attempt_ref r = g_reap[g_reap_head++ % RING];
		char name[64];
		pod_name(name, sizeof name, r.job, r.attempt);
		snprintf(path, sizeof path, "/api/v1/namespaces/%s/pods/%s", g_ns, name);
		pthread_mutex_unlock(&g_mu);
		http(c, "DELETE", path,
		     "{\"kind\":\"DeleteOptions\",\"apiVersion\":\"v1\",\"gracePeriodSeconds\":0}",
		     NULL);
	}
	curl_easy_cleanup(c);
	return NULL;
}

/* Create the run's namespace and open its pod watch from the list's
 * resourceVersion. */
static pthread_t g_reaper;

static pthread_t begin_run(const char *ns, int n)
{
	CURL *c = new_handle_t(30);
	char body[256], path[256];
	snprintf(body, sizeof body,
		 "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"%s\"}}",
		 ns);
	http(c, "POST", "/api/v1/namespaces", body, NULL);
	snprintf(path, sizeof path, "/api/v1/namespaces/%s/pods", ns);
	sink s = {0};
	http(c, "GET", path, NULL, &s);
	json_t *list = json_loads(s.data ? s.data : "", 0, NULL);
	const char *rv = json_string_value(
	    json_object_get(json_object_get(list, "metadata"), "resourceVersion"));
	char *url = malloc(512);
	snprintf(url, 512, "%s/api/v1/namespaces/%s/pods?watch=true&resourceVersion=%s", g_base, ns,
		 rv ? rv : "0");
	json_decref(list);
	free(s.data);
	curl_easy_cleanup(c);
	pthread_mutex_lock(&g_mu);
	snprintf(g_ns, sizeof g_ns, "%s", ns);
	free(g_state);
	free(g_attempt);
	free(g_retry);
	free(g_reap);
	g_n = n;
	g_state = calloc((size_t)n, 1);
	g_attempt = calloc((size_t)n, sizeof *g_attempt);
	g_retry = calloc(RING, sizeof *g_retry);
	g_reap = g_delete ? calloc(RING, sizeof *g_reap) : NULL;
	g_done = g_failed = 0;
	g_reap_head = g_reap_tail = g_retry_head = g_retry_tail = 0;
	g_first_failure[0] = '\0';
	pthread_mutex_unlock(&g_mu);
	g_stop_watch = false;
	if (g_delete)
		pthread_create(&g_reaper, NULL, reaper_main, NULL);
	pthread_t t;
	pthread_create(&t, NULL, watch_main, url);
	usleep(200000); /* let the watch connect */
	return t;
}

static void end_run(pthread_t watcher)
{
	pthread_mutex_lock(&g_mu);
	g_stop_watch = true;
	pthread_cond_broadcast(&g_cv);
	pthread_mutex_unlock(&g_mu);
	pthread_join(watcher, NULL);
	if (g_delete)
		pthread_join(g_reaper, NULL);
}

/* Wait up to ms for a change, or until done reaches want; the count of
 * finished attempts (successes and failures) in *events. Returns done. */
static int wait_change(int want, int ms, int *events)
{
	pthread_mutex_lock(&g_mu);
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_nsec += (long)ms * 1000000;
	while (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	int before = g_done + g_failed;
	while (g_done < want && g_done + g_failed == before &&
	       pthread_cond_timedwait(&g_cv, &g_mu, &ts) == 0)
		;
	int d = g_done;
	if (events)
		*events = g_done + g_failed;
	pthread_mutex_unlock(&g_mu);
	return d;
}

static bool create_job(CURL *c, const char *ns, int i, int attempt, bool bound)
{
	char body[1024], path[256], name[64];
	pod_name(name, sizeof name, i, attempt);
	snprintf(body, sizeof body,
		 "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"%s\"},"
		 "\"spec\":{%s\"restartPolicy\":\"Never\",\"terminationGracePeriodSeconds\":0,"
		 "\"containers\":[{\"name\":\"main\",\"image\":\"busybox\",\"command\":[\"true\"],"
		 "\"resources\":{\"limits\":{\"nvidia.com/gpu\":\"1\"}}}]}}",
		 name, bound ? "\"nodeName\":\"" NODE "\"," : "");
	snprintf(path, sizeof path, "/api/v1/namespaces/%s/pods", ns);
	long code = http(c, "POST", path, body, NULL);
	if (code != 201)
		fprintf(stderr, "create %s: HTTP %ld\n", name, code);
	return code == 201;
}

/* Resubmit one failed job, if any; true when one was. */
static bool resubmit_one(CURL *c, const char *ns, bool bound)
{
	pthread_mutex_lock(&g_mu);
	if (g_retry_head == g_retry_tail) {
		pthread_mutex_unlock(&g_mu);
		return false;
	}
	int i = g_retry[g_retry_head++ % RING];
	int a = ++g_attempt[i];
	g_state[i] = 0;
	pthread_mutex_unlock(&g_mu);
	create_job(c, ns, i, a, bound);
	return true;
}

/* ---- the two ways of feeding Wharf ------------------------------------------------ */

typedef struct run_result {
	double submit_s, done_s;
	int done, failed;
	cpu_times cpu; /* the whole machine's, over the run */
} run_result;

typedef struct creator {
	const char *ns;
	int from, to; /* [from, to) */
} creator;

static void *creator_main(void *arg)
{
	creator *cr = arg;
	CURL *c = new_handle_t(30);
	for (int i = cr->from; i < cr->to; i++)
		create_job(c, cr->ns, i, 0, false);
	curl_easy_cleanup(c);
	return NULL;
}

static run_result finish_run(pthread_t w, double t0, cpu_times c0, double submitted)
{
	run_result r = {.submit_s = submitted - t0, .done_s = now_s() - t0, .cpu = cpu_since(c0)};
	pthread_mutex_lock(&g_mu);
	r.done = g_done;
	r.failed = g_failed;
	pthread_mutex_unlock(&g_mu);
	end_run(w);
	return r;
}

static run_result run_scheduler(int n)
{
	const char *ns = "bench-scheduler";
	pthread_t w = begin_run(ns, n);
	creator crs[CREATORS];
	pthread_t th[CREATORS];
	cpu_times c0 = cpu_now();
	double t0 = now_s(), deadline = t0 + g_timeout_s;
	for (int k = 0; k < CREATORS; k++) {
		crs[k] =
		    (creator){.ns = ns, .from = n * k / CREATORS, .to = n * (k + 1) / CREATORS};
		pthread_create(&th[k], NULL, creator_main, &crs[k]);
	}
	for (int k = 0; k < CREATORS; k++)
		pthread_join(th[k], NULL);
	double submitted = now_s();
	CURL *c = new_handle_t(30);
	while (now_s() < deadline && wait_change(n, 50, NULL) < n)
		while (resubmit_one(c, ns, false))
			;
	curl_easy_cleanup(c);
	return finish_run(w, t0, c0, submitted);
}

static run_result run_paced(int n)
{
	const char *ns = "bench-paced";
	pthread_t w = begin_run(ns, n);
	CURL *c = new_handle_t(30);
	cpu_times c0 = cpu_now();
	double t0 = now_s(), deadline = t0 + g_timeout_s, submitted = t0;
	int next = 0, created = 0, events = 0, done = 0;
	while (done < n && now_s() < deadline) {
		/* At most GPUS attempts unfinished: fill the room, then wait. */
		while (created - events < GPUS) {
			if (resubmit_one(c, ns, true)) {
				created++;
			} else if (next < n) {
				created += create_job(c, ns, next++, 0, true);
				if (next == n)
					submitted = now_s();
			} else {
				break;
			}
		}
		done = wait_change(n, 50, &events);
	}
	curl_easy_cleanup(c);
	return finish_run(w, t0, c0, submitted);
}

static void print_run(const char *label, int n, run_result r)
{
	printf("wharf (%s): %d/%d jobs done in %.2f s (submitted in %.2f s), jobs/s %.1f, "
	       "attempts rejected and resubmitted %d\n",
	       label, r.done, n, r.done_s, r.submit_s, r.done_s > 0 ? r.done / r.done_s : 0.0,
	       r.failed);
	printf("  machine CPU over the run: busy %.1f s (%.1f ms a job), idle %.1f s, "
	       "steal %.1f s\n",
	       r.cpu.busy, r.done ? 1000 * r.cpu.busy / r.done : 0.0, r.cpu.idle, r.cpu.steal);
	if (r.failed)
		printf("  first failure: %s\n", g_first_failure);
	fflush(stdout);
}

/* ---- Slurm ------------------------------------------------------------------------ */

/* Run the Slurm peer; its done time in *done_s. false (and a reason
 * printed) when it could not run. */
static bool run_slurm(const char *script, int n, double *done_s)
{
	if (access(script, R_OK) != 0) {
		printf("slurm: not run: %s is missing\n", script);
		return false;
	}
	if (geteuid() != 0) {
		printf("slurm: not run: run.sh needs root\n");
		return false;
	}
	char cmd[1024];
	snprintf(cmd, sizeof cmd, "N=%d bash '%s' 2>&1", n, script);
	printf("slurm: running %s (N=%d; installs slurm-wlm if missing)\n", script, n);
	fflush(stdout);
	FILE *p = popen(cmd, "r");
	if (!p) {
		printf("slurm: not run: cannot start %s\n", script);
		return false;
	}
	char line[2048];
	bool got = false;
	while (fgets(line, sizeof line, p)) {
		int jobs;
		double submit, done;
		printf("  | %s", line);
		fflush(stdout);
		if (sscanf(line, "slurm: submit %d jobs %lf s, all done %lf s", &jobs, &submit,
			   &done) == 3) {
			*done_s = done;
			got = true;
		}
	}
	int st = pclose(p);
	if (!got) {
		printf("slurm: did not finish (exit status %d): see its output above\n",
		       WIFEXITED(st) ? WEXITSTATUS(st) : -1);
		return false;
	}
	return true;
}

int main(int argc, char **argv)
{
	const char *bin = "build/release/wharf", *mode = "both", *slurm = DEFAULT_SLURM;
	int n = 2000;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--wharf") && i + 1 < argc)
			bin = argv[++i];
		else if (!strcmp(argv[i], "--jobs") && i + 1 < argc)
			n = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--mode") && i + 1 < argc)
			mode = argv[++i];
		else if (!strcmp(argv[i], "--slurm") && i + 1 < argc)
			slurm = argv[++i];
		else if (!strcmp(argv[i], "--no-slurm"))
			slurm = NULL;
		else if (!strcmp(argv[i], "--delete"))
			g_delete = true;
		else if (!strcmp(argv[i], "--timeout") && i + 1 < argc)
			g_timeout_s = atof(argv[++i]);
		else {
			fprintf(stderr,
				"usage: %s [--wharf BIN] [--jobs N] [--mode scheduler|paced|both] "
				"[--slurm PATH | --no-slurm] [--delete] [--timeout S]\n",
				argv[0]);
			return 2;
		}
	}
	bool sched = !strcmp(mode, "scheduler") || !strcmp(mode, "both");
	bool paced = !strcmp(mode, "paced") || !strcmp(mode, "both");
	if (n < 1 || n > MAX_JOBS || (!sched && !paced)) {
		fprintf(stderr, "--jobs must be 1..%d and --mode scheduler, paced or both\n",
			MAX_JOBS);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	curl_global_init(CURL_GLOBAL_ALL);
	start(bin);
	printf("side by side with Slurm: %d one-GPU jobs of `true` on one node of %d GPUs "
	       "(%s, %ld CPUs, finished pods %s)\n",
	       n, GPUS, bin, sysconf(_SC_NPROCESSORS_ONLN), g_delete ? "deleted" : "kept");
	fflush(stdout);
	run_result rs = {0}, rp = {0};
	if (sched) {
		rs = run_scheduler(n);
		print_run("scheduler: all submitted at once, held Pending until a GPU frees", n,
			  rs);
	}
	if (paced) {
		rp = run_paced(n);
		print_run("paced: nodeName set, at most 8 unfinished", n, rp);
	}
	stop_all();
	free(g_state);
	free(g_attempt);
	free(g_retry);
	free(g_reap);

	double slurm_s = 0;
	bool have_slurm = slurm && run_slurm(slurm, n, &slurm_s);
	printf("\nsummary (%d jobs, 8 GPUs):\n", n);
	if (sched)
		printf("  wharf scheduler %8.2f s%s\n", rs.done_s,
		       rs.done == n ? "" : "  (incomplete: timed out)");
	if (paced)
		printf("  wharf paced     %8.2f s%s\n", rp.done_s,
		       rp.done == n ? "" : "  (incomplete: timed out)");
	if (have_slurm) {
		printf("  slurm           %8.2f s\n", slurm_s);
		if (sched && rs.done == n)
			printf("  ratio slurm / wharf scheduler: %.1fx\n", slurm_s / rs.done_s);
		else if (sched)
			printf("  ratio slurm / wharf scheduler: n/a (%d of %d jobs done)\n",
			       rs.done, n);
		if (paced && rp.done == n)
			printf("  ratio slurm / wharf paced:     %.1fx\n", slurm_s / rp.done_s);
		else if (paced)
			printf("  ratio slurm / wharf paced:     n/a (%d of %d jobs done)\n",
			       rp.done, n);
	} else {
		printf("  slurm           not measured (see above)\n");
	}
	curl_global_cleanup();
	return 0;
}
