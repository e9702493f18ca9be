/*
 * sched_api_bench.c - pods created -> bound through the API by the
 * in-process scheduler, against a real `wharf server`.
 *
 * Starts the release binary on a free loopback port with a fresh data
 * directory, registers N nodes through the API (Node objects with capacity,
 * allocatable and a Ready condition: no agents, no processes; half of them
 * GPU nodes with 8 nvidia.com/gpu), then for each workload creates P pods
 * from many client threads and follows them with a watch:
 *   1. plain pods (cpu 100m, memory 128Mi);
 *   2. one-GPU pods (nvidia.com/gpu: 1), which only fit the GPU nodes;
 *   3. plain pods created at a steady 500 pods/s (P/4 of them): the
 *      latency when the server is not saturated.
 * Prints pods/s created -> bound (first create sent to last binding seen on
 * the watch), p50/p99 of each pod's create -> bound, and the server's
 * resident memory (VmRSS from /proc/<pid>/status, sampled every 100 ms).
 * Asserts nothing.
 *
 *   build/release/bench/sched_api_bench [--wharf build/release/wharf]
 *        [--nodes 5000] [--pods 20000] [--clients 32] [--quick]
 */
#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"

static bool g_baseline; /* no scheduler; pods are created with spec.nodeName */
static int g_nodes;

/* ---- server process ------------------------------------------------------------ */

static void bench_start_server(const char *bin)
{
	make_tmp_dir("/tmp/wharf-schedbench-XXXXXX");
	/* Nodes without agents never renew a Lease: keep node lifecycle away. */
	const char *extra[] = {"--workers", "64", "--node-monitor-grace-period", "86400",
			       g_baseline ? "--scheduler=false" : "--scheduler=true", NULL};
	start_server(bin, NULL, extra, false, 500);
}

/* CPU seconds (user + system) used by pid so far. */
static double cpu_s(pid_t pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "r");
	size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
	if (f)
		fclose(f);
	buf[n] = '\0';
	char *p = strrchr(buf, ')');
	unsigned long ut = 0, st = 0;
	if (p &&
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
		ut = st = 0;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* Print the server log's lines holding needle. */
static void log_lines(const char *needle)
{
	char path[300], line[1024];
	snprintf(path, sizeof path, "%s/server.log", g_dir);
	FILE *f = fopen(path, "r");
	while (f && fgets(line, sizeof line, f))
		if (strstr(line, needle))
			printf("  server log: %s", line);
	if (f)
		fclose(f);
}

/* ---- RSS sampler -------------------------------------------------------------- */

static atomic_bool g_sampling;
static atomic_long g_rss_peak;

static void *sampler_main(void *arg)
{
	(void)arg;
	while (atomic_load(&g_sampling)) {
		long r = rss_kib(g_server);
		if (r > atomic_load(&g_rss_peak))
			atomic_store(&g_rss_peak, r);
		usleep(100000);
	}
	return NULL;
}

/* ---- nodes ---------------------------------------------------------------------- */

typedef struct range {
	int from, to, errors;
	const char *ns;
	bool gpu;
	double *sent;		/* pods: create time of pod i */
	double start, interval; /* paced pods: first due time, seconds between creates */
} range;

static void *node_main(void *arg)
{
	range *r = arg;
	CURL *c = new_handle();
	char body[2048];
	for (int i = r->from; i < r->to; i++) {
		bool gpu = i % 2 == 0;
		snprintf(
		    body, sizeof body,
		    "{\"apiVersion\":\"v1\",\"kind\":\"Node\",\"metadata\":{\"name\":\"node-%d\","
		    "\"labels\":{\"kubernetes.io/hostname\":\"node-%d\",\"topology.kubernetes.io/"
		    "zone\":\"zone-%d\"%s}},\"spec\":{},\"status\":{\"capacity\":{\"cpu\":\"64\","
		    "\"memory\":\"512Gi\",\"pods\":\"110\"%s},\"allocatable\":{\"cpu\":\"64\","
		    "\"memory\":\"512Gi\",\"pods\":\"110\"%s},\"conditions\":[{\"type\":"
		    "\"Ready\",\"status\":\"True\",\"reason\":\"KubeletReady\"}]}}",
		    i, i, i % 8,
		    gpu ? ",\"nvidia.com/gpu.product\":\"NVIDIA-H100-80GB-HBM3\","
			  "\"nvidia.com/gpu.count\":\"8\""
			: "",
		    gpu ? ",\"nvidia.com/gpu\":\"8\"" : "", gpu ? ",\"nvidia.com/gpu\":\"8\"" : "");
		long code = http(c, "POST", "/api/v1/nodes", body, NULL);
		if (code != 201)
			r->errors++;
	}
	curl_easy_cleanup(c);
	return NULL;
}

static void run_threads(void *(*fn)(void *), range *rs, int threads)
{
	pthread_t th[256];
	for (int i = 0; i < threads; i++)
		pthread_create(&th[i], NULL, fn, &rs[i]);
	for (int i = 0; i < threads; i++)
		pthread_join(th[i], NULL);
}

/* ---- the watch ------------------------------------------------------------------- */

typedef struct follower {
	const char *ns;
	int n;
	double *bound; /* when pod i was first seen bound (0: not yet) */
	atomic_int nbound;
	atomic_bool give_up;
	char rv[32];
	sink line;
	double last;
} follower;

static size_t on_watch(char *p, size_t sz, size_t n, void *ud)
{
	follower *f = ud;
	size_t len = sz * n;
	for (size_t i = 0; i < len; i++) {
		if (p[i] != '\n') {
			on_body(p + i, 1, 1, &f->line);
			continue;
		}
		json_t *ev = f->line.len ? json_loadb(f->line.data, f->line.len, 0, NULL) : NULL;
		f->line.len = 0;
		json_t *obj = json_object_get(ev, "object");
		const char *name =
		    json_string_value(json_object_get(json_object_get(obj, "metadata"), "name"));
		const char *node =
		    json_string_value(json_object_get(json_object_get(obj, "spec"), "nodeName"));
		const char *dash = name ? strrchr(name, '-') : NULL;
		if (dash && node && node[0]) {
			int idx = atoi(dash + 1);
			if (idx >= 0 && idx < f->n && f->bound[idx] == 0) {
				f->bound[idx] = now_s();
				f->last = f->bound[idx];
				atomic_fetch_add(&f->nbound, 1);
			}
		}
		json_decref(ev);
	}
	return atomic_load(&f->nbound) >= f->n ? 0 : len;
}

static int watch_progress(void *ud, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
	(void)a, (void)b, (void)c, (void)d;
	follower *f = ud;
	return atomic_load(&f->nbound) >= f->n || atomic_load(&f->give_up) ? 1 : 0;
}

static void *follower_main(void *arg)
{
	follower *f = arg;
	char url[512];
	snprintf(url, sizeof url, "%s/api/v1/namespaces/%s/pods?watch=true&resourceVersion=%s",
		 g_base, f->ns, f->rv);
	CURL *c = new_handle();
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_watch);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, f);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, watch_progress);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, f);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 600L);
	curl_easy_perform(c);
	curl_easy_cleanup(c);
	return NULL;
}

/* ---- pods -------------------------------------------------------------------------- */

static void *pod_main(void *arg)
{
	range *r = arg;
	CURL *c = new_handle();
	char body[2048], path[256], pin[64] = "";
	snprintf(path, sizeof path, "/api/v1/namespaces/%s/pods", r->ns);
	for (int i = r->from; i < r->to; i++) {
		if (r->interval > 0) {
			double wait = r->start + (i - r->from) * r->interval - now_s();
			if (wait > 0)
				usleep((useconds_t)(wait * 1e6));
		}
		if (g_baseline)
			snprintf(pin, sizeof pin, "\"nodeName\":\"node-%d\",",
				 r->gpu ? (i % (g_nodes / 2)) * 2 : i % g_nodes);
		snprintf(
		    body, sizeof body,
		    "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"p-%d\","
		    "\"labels\":{\"app\":\"bench\"}},\"spec\":{%s\"containers\":[{\"name\":"
		    "\"main\",\"image\":\"busybox\",\"command\":[\"sleep\",\"3600\"],"
		    "\"resources\":{\"requests\":{\"cpu\":\"100m\",\"memory\":\"128Mi\"}%s}}]}}",
		    i, pin, r->gpu ? ",\"limits\":{\"nvidia.com/gpu\":\"1\"}" : "");
		r->sent[i] = now_s();
		if (http(c, "POST", path, body, NULL) != 201)
			r->errors++;
	}
	curl_easy_cleanup(c);
	return NULL;
}

static void create_ns(CURL *c, const char *ns)
{
	char body[256];
	snprintf(body, sizeof body,
		 "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"%s\"}}",
		 ns);
	http(c, "POST", "/api/v1/namespaces", body, NULL);
}

static void current_rv(CURL *c, const char *ns, char rv[32])
{
	char path[256];
	sink s = {0};
	snprintf(path, sizeof path, "/api/v1/namespaces/%s/pods?limit=1", ns);
	http(c, "GET", path, NULL, &s);
	json_t *l = s.data ? json_loads(s.data, 0, NULL) : NULL;
	const char *v =
	    json_string_value(json_object_get(json_object_get(l, "metadata"), "resourceVersion"));
	snprintf(rv, 32, "%s", v ? v : "0");
	json_decref(l);
	free(s.data);
}

static void run_pods(const char *label, const char *ns, int pods, int clients, bool gpu,
		     double rate)
{
	CURL *c = new_handle();
	create_ns(c, ns);
	follower f = {.ns = ns, .n = pods, .bound = calloc((size_t)pods, sizeof(double))};
	current_rv(c, ns, f.rv);
	pthread_t ft;
	pthread_create(&ft, NULL, follower_main, &f);
	usleep(300000); /* let the watch connect */

	double *sent = calloc((size_t)pods, sizeof(double));
	range rs[256];
	double begin = now_s() + 0.05;
	for (int i = 0; i < clients; i++)
		rs[i] = (range){.from = pods * i / clients,
				.to = pods * (i + 1) / clients,
				.ns = ns,
				.gpu = gpu,
				.sent = sent,
				.start = rate > 0 ? begin + i / rate : 0,
				.interval = rate > 0 ? clients / rate : 0};
	atomic_store(&g_rss_peak, 0);
	atomic_store(&g_sampling, true);
	pthread_t st;
	pthread_create(&st, NULL, sampler_main, NULL);
	double cpu0 = cpu_s(g_server), self0 = cpu_s(getpid());
	double t0 = now_s();
	run_threads(pod_main, rs, clients);
	double created = now_s();
	int errors = 0;
	for (int i = 0; i < clients; i++)
		errors += rs[i].errors;
	/* Wait for every binding (or give up after a quiet minute). */
	int last_n = -1;
	double last_change = now_s();
	while (atomic_load(&f.nbound) < pods) {
		int n = atomic_load(&f.nbound);
		if (n != last_n) {
			last_n = n;
			last_change = now_s();
		} else if (now_s() - last_change > 60) {
			break;
		}
		usleep(20000);
	}
	int nbound = atomic_load(&f.nbound);
	atomic_store(&f.give_up, true);
	pthread_join(ft, NULL);
	atomic_store(&g_sampling, false);
	pthread_join(st, NULL);
	double cpu = cpu_s(g_server) - cpu0, self = cpu_s(getpid()) - self0;

	double *lat = calloc((size_t)pods, sizeof(double));
	size_t nl = 0;
	for (int i = 0; i < pods; i++)
		if (f.bound[i] > 0 && sent[i] > 0)
			lat[nl++] = f.bound[i] - sent[i];
	qsort(lat, nl, sizeof(double), cmp_double);
	double span = f.last - t0;
	printf("%-26s %6d pods: %6.0f pods/s created->bound (%5.2f s; creates alone %6.0f/s), "
	       "create->bound p50 %6.1f ms p99 %7.1f ms; bound %d, create errors %d; "
	       "server RSS peak %.1f MB; CPU s: server %.1f (%.0f us/pod), bench client %.1f\n",
	       label, pods, span > 0 ? nbound / span : 0, span, pods / (created - t0),
	       pct(lat, nl, 0.50) * 1e3, pct(lat, nl, 0.99) * 1e3, nbound, errors,
	       atomic_load(&g_rss_peak) / 1024.0, cpu, cpu * 1e6 / pods, self);
	fflush(stdout);
	free(lat);
	free(sent);
	free(f.bound);
	free(f.line.data);
	curl_easy_cleanup(c);
}

/* Wait until the scheduler has seen every node: a pod pinned (nodeSelector)
 * to the last node is bound. */
static void wait_scheduler_ready(int nodes)
{
	CURL *c = new_handle();
	create_ns(c, "warmup");
	char body[1024];
	snprintf(body, sizeof body,
		 "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"probe\"},"
		 "\"spec\":{\"nodeSelector\":{\"kubernetes.io/hostname\":\"node-%d\"},"
		 "\"containers\":[{\"name\":\"main\",\"image\":\"busybox\"}]}}",
		 nodes - 1);
	http(c, "POST", "/api/v1/namespaces/warmup/pods", body, NULL);
	for (int i = 0; i < 3000; i++) {
		sink s = {0};
		http(c, "GET", "/api/v1/namespaces/warmup/pods/probe", NULL, &s);
		bool bound = s.data && strstr(s.data, "\"nodeName\"");
		free(s.data);
		if (bound)
			break;
		usleep(20000);
	}
	curl_easy_cleanup(c);
}

int main(int argc, char **argv)
{
	const char *bin = "build/release/wharf";
	int nodes = 5000, pods = 20000, clients = 32;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--wharf") && i + 1 < argc)
			bin = argv[++i];
		else if (!strcmp(argv[i], "--nodes") && i + 1 < argc)
			nodes = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--pods") && i + 1 < argc)
			pods = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--clients") && i + 1 < argc)
			clients = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--quick"))
			nodes = 1000, pods = 4000;
		else if (!strcmp(argv[i], "--baseline"))
			g_baseline = true;
	}
	if (nodes < 2 || pods < 1 || clients < 1 || clients > 256 || pods > nodes * 4) {
		fprintf(stderr,
			"usage: sched_api_bench [--wharf BIN] [--nodes N>=2] [--pods P] "
			"[--clients 1..256] [--quick] [--baseline] (P at most 4 x N: one GPU "
			"pod per GPU)\n");
		return 2;
	}
	g_nodes = nodes;
	curl_global_init(CURL_GLOBAL_ALL);
	bench_start_server(bin);
	printf("wharf scheduler API benchmark (server %s, pid %d, %ld CPUs)%s\n", bin,
	       (int)g_server, sysconf(_SC_NPROCESSORS_ONLN),
	       g_baseline ? ": BASELINE, no scheduler, pods created with spec.nodeName" : "");
	long idle = rss_kib(g_server);
	double t0 = now_s();
	range rs[32];
	for (int i = 0; i < 32; i++)
		rs[i] = (range){.from = nodes * i / 32, .to = nodes * (i + 1) / 32};
	run_threads(node_main, rs, 32);
	int nerr = 0;
	for (int i = 0; i < 32; i++)
		nerr += rs[i].errors;
	double tn = now_s() - t0;
	if (!g_baseline)
		wait_scheduler_ready(nodes);
	printf("%-26s %6d nodes registered in %.1f s (%d errors), half with 8 nvidia.com/gpu; "
	       "server RSS idle %.1f MB, with nodes %.1f MB\n",
	       "nodes", nodes, tn, nerr, idle / 1024.0, rss_kib(g_server) / 1024.0);
	fflush(stdout);

	run_pods("plain pods", "plain", pods, clients, false, 0);
	run_pods("1-GPU pods", "gpu", pods, clients, true, 0);
	run_pods("plain, paced 500/s", "paced", pods / 4, clients, false, 500);
	printf("%-26s server RSS after both runs %.1f MB\n", "memory", rss_kib(g_server) / 1024.0);
	kill(g_server, SIGTERM);
	waitpid(g_server, NULL, 0);
	log_lines("events dropped in all");
	stop_all();
	curl_global_cleanup();
	return 0;
}
