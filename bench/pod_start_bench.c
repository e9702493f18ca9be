/*
 * pod_start_bench.c - pod start latency on a local agent: created -> Running.
 *
 * Starts the release binary twice, as `wharf server` on a free loopback port
 * and as `wharf agent` registered with it (declared GPUs, fresh data
 * directories), opens one pod watch from the list's resourceVersion, then
 * creates pods bound to the agent's node (command `sleep 30`) in three runs:
 *   1. one after another, each created once the previous one is Running;
 *   2. one after another from one client, back to back, without waiting;
 *   3. all at once, one client thread per pod.
 * A pod's latency runs from the moment its create request is sent to the
 * moment the watch delivers it with status.phase Running (the definition
 * of Kubernetes' pod startup SLI, measured on the client's clock). Prints
 * p50, p99 and max per run (goal p50 <= 50 ms; Kubernetes' SLO p99 <= 5 s),
 * deletes the pods between runs, then stops everything. Asserts nothing.
 *
 *   build/release/bench/pod_start_bench [--wharf build/release/wharf] [--pods N]
 */
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
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

#define NODE "bench-node"
#define NS "podstart"
#define MAX_PODS 10000
#define RUNNING_TIMEOUT_S 30.0

/* ---- processes ------------------------------------------------------------------ */

static void start(const char *bin)
{
	make_tmp_dir("/tmp/wharf-podstart-XXXXXX");
	const char *extra[] = {NULL};
	start_server(bin, "server", extra, true, 300);
	const char *gpus = "8:NVIDIA-H100-80GB-HBM3:81559";
	start_agent(bin, NODE, gpus, 300);
	CURL *c = new_handle_t(30);
	http(c, "POST", "/api/v1/namespaces",
	     "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"" NS "\"}}",
	     NULL);
	curl_easy_cleanup(c);
}

/* ---- the watch ---------------------------------------------------------------------- */

/* Per pod of the current run: when its create was sent and when the watch
 * saw it Running (0: not yet). Guarded by g_mu. */
static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_cv = PTHREAD_COND_INITIALIZER;
static double g_created[MAX_PODS], g_running[MAX_PODS];
static int g_run;
static int g_seen;
static volatile bool g_stop_watch;

static void on_event(const char *line)
{
	json_t *ev = json_loads(line, 0, NULL);
	json_t *obj = json_object_get(ev, "object");
	const char *name =
	    json_string_value(json_object_get(json_object_get(obj, "metadata"), "name"));
	const char *phase =
	    json_string_value(json_object_get(json_object_get(obj, "status"), "phase"));
	int run, i;
	if (name && phase && !strcmp(phase, "Running") && sscanf(name, "r%d-%d", &run, &i) == 2 &&
	    i >= 0 && i < MAX_PODS) {
		double t = now_s();
		pthread_mutex_lock(&g_mu);
		if (run == g_run && g_running[i] == 0) {
			g_running[i] = t;
			g_seen++;
			pthread_cond_broadcast(&g_cv);
		}
		pthread_mutex_unlock(&g_mu);
	}
	json_decref(ev);
}

static void *watch_main(void *arg)
{
	const char *rv = arg;
	char url[256];
	snprintf(url, sizeof url, "%s/api/v1/namespaces/" NS "/pods?watch=true&resourceVersion=%s",
		 g_base, rv);
	bench_watch_run(url, on_event, &g_stop_watch);
	return NULL;
}

/* ---- runs ------------------------------------------------------------------------------ */

static void pod_json(char *buf, size_t len, int run, int i)
{
	snprintf(buf, len,
		 "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"r%d-%d\"},"
		 "\"spec\":{\"nodeName\":\"" NODE "\",\"restartPolicy\":\"Never\","
		 "\"terminationGracePeriodSeconds\":0,\"containers\":[{\"name\":\"main\","
		 "\"image\":\"busybox\",\"command\":[\"sleep\",\"30\"]}]}}",
		 run, i);
}

static bool create_pod(CURL *c, int run, int i)
{
	char body[1024];
	pod_json(body, sizeof body, run, i);
	double t = now_s();
	pthread_mutex_lock(&g_mu);
	g_created[i] = t;
	pthread_mutex_unlock(&g_mu);
	long code = http(c, "POST", "/api/v1/namespaces/" NS "/pods", body, NULL);
	if (code != 201)
		fprintf(stderr, "create r%d-%d: HTTP %ld\n", run, i, code);
	return code == 201;
}

/* Wait until `want` pods of the run are Running, or the deadline. */
static void wait_running(int want, double deadline)
{
	pthread_mutex_lock(&g_mu);
	while (g_seen < want && now_s() < deadline) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 20 * 1000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&g_cv, &g_mu, &ts);
	}
	pthread_mutex_unlock(&g_mu);
}

typedef struct creator {
	int run, i;
	pthread_barrier_t *barrier;
	bool ok;
} creator;

static void *creator_main(void *arg)
{
	creator *cr = arg;
	CURL *c = new_handle_t(30);
	/* Connect before the barrier so that the creates really start together. */
	http(c, "GET", "/healthz", NULL, NULL);
	pthread_barrier_wait(cr->barrier);
	cr->ok = create_pod(c, cr->run, cr->i);
	curl_easy_cleanup(c);
	return NULL;
}

/* Pods left in the agent's data directory (teardown not finished yet). */
static int agent_pods(void)
{
	char path[300];
	snprintf(path, sizeof path, "%s/agent/pods", g_dir);
	DIR *d = opendir(path);
	int n = 0;
	struct dirent *e;
	while (d && (e = readdir(d)))
		n += e->d_name[0] != '.';
	if (d)
		closedir(d);
	return n;
}

static void delete_run(int run, int n)
{
	CURL *c = new_handle_t(30);
	char path[256];
	for (int i = 0; i < n; i++) {
		snprintf(path, sizeof path, "/api/v1/namespaces/" NS "/pods/r%d-%d", run, i);
		http(c, "DELETE", path,
		     "{\"kind\":\"DeleteOptions\",\"apiVersion\":\"v1\","
		     "\"gracePeriodSeconds\":0}",
		     NULL);
	}
	curl_easy_cleanup(c);
	/* Let the agent stop the containers before the next run starts. */
	for (int i = 0; i < 1500 && agent_pods() > 0; i++)
		usleep(20000);
}

static void report(const char *label, int n, double wall)
{
	double *lat = calloc((size_t)n, sizeof *lat);
	size_t got = 0;
	pthread_mutex_lock(&g_mu);
	for (int i = 0; i < n; i++)
		if (g_running[i] > 0 && g_created[i] > 0)
			lat[got++] = g_running[i] - g_created[i];
	pthread_mutex_unlock(&g_mu);
	qsort(lat, got, sizeof *lat, cmp_double);
	printf("%-46s %3zu/%d Running  p50 %7.1f ms  p99 %7.1f ms  max %7.1f ms  (%.2f s for "
	       "all)\n",
	       label, got, n, pct(lat, got, 0.50) * 1e3, pct(lat, got, 0.99) * 1e3,
	       got ? lat[got - 1] * 1e3 : 0.0, wall);
	fflush(stdout);
	free(lat);
}

static void begin_run(int run)
{
	pthread_mutex_lock(&g_mu);
	g_run = run;
	g_seen = 0;
	memset(g_created, 0, sizeof g_created);
	memset(g_running, 0, sizeof g_running);
	pthread_mutex_unlock(&g_mu);
}

static void run_serial(int run, int n, bool wait_each)
{
	begin_run(run);
	CURL *c = new_handle_t(30);
	double t0 = now_s();
	int made = 0;
	for (int i = 0; i < n; i++) {
		made += create_pod(c, run, i);
		if (wait_each)
			wait_running(made, now_s() + RUNNING_TIMEOUT_S);
	}
	wait_running(made, now_s() + RUNNING_TIMEOUT_S);
	double wall = now_s() - t0;
	curl_easy_cleanup(c);
	report(wait_each ? "one after another (each waits for Running)"
			 : "one after another, back to back (1 client)",
	       n, wall);
	delete_run(run, n);
}

static void run_at_once(int run, int n)
{
	begin_run(run);
	pthread_barrier_t barrier;
	pthread_barrier_init(&barrier, NULL, (unsigned)n);
	creator *crs = calloc((size_t)n, sizeof *crs);
	pthread_t *th = calloc((size_t)n, sizeof *th);
	for (int i = 0; i < n; i++) {
		crs[i] = (creator){.run = run, .i = i, .barrier = &barrier};
		pthread_create(&th[i], NULL, creator_main, &crs[i]);
	}
	double t0 = now_s();
	int made = 0;
	for (int i = 0; i < n; i++) {
		pthread_join(th[i], NULL);
		made += crs[i].ok;
	}
	wait_running(made, now_s() + RUNNING_TIMEOUT_S);
	double wall = now_s() - t0;
	char label[96];
	snprintf(label, sizeof label, "all at once (%d concurrent clients)", n);
	report(label, n, wall);
	pthread_barrier_destroy(&barrier);
	free(crs);
	free(th);
	delete_run(run, n);
}

int main(int argc, char **argv)
{
	const char *bin = "build/release/wharf";
	int n = 100;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--wharf") && i + 1 < argc)
			bin = argv[++i];
		else if (!strcmp(argv[i], "--pods") && i + 1 < argc)
			n = atoi(argv[++i]);
	}
	if (n < 1 || n > MAX_PODS) {
		fprintf(stderr, "--pods must be 1..%d\n", MAX_PODS);
		return 2;
	}
	curl_global_init(CURL_GLOBAL_ALL);
	start(bin);
	printf("wharf pod start benchmark (server %d, agent %d, %s, %ld CPUs): created -> "
	       "Running seen by a watch, %d pods per run\n",
	       (int)g_server, (int)g_agent, bin, sysconf(_SC_NPROCESSORS_ONLN), n);

	/* One watch for every run, from the list's resourceVersion. */
	CURL *c = new_handle_t(30);
	sink s = {0};
	http(c, "GET", "/api/v1/namespaces/" NS "/pods", NULL, &s);
	json_t *list = json_loads(s.data ? s.data : "", 0, NULL);
	const char *rv = json_string_value(
	    json_object_get(json_object_get(list, "metadata"), "resourceVersion"));
	char rvbuf[32];
	snprintf(rvbuf, sizeof rvbuf, "%s", rv ? rv : "0");
	json_decref(list);
	free(s.data);
	curl_easy_cleanup(c);
	pthread_t watcher;
	pthread_create(&watcher, NULL, watch_main, rvbuf);
	usleep(200000); /* let the watch connect */

	run_serial(1, n, true);
	run_serial(2, n, false);
	run_at_once(3, n);

	g_stop_watch = true;
	pthread_join(watcher, NULL);
	stop_all();
	curl_global_cleanup();
	return 0;
}
