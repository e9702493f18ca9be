/*
 * api_bench.c - end-to-end API benchmarks against a real `wharf server`.
 *
 * Starts the release binary on a free loopback port with a fresh data
 * directory, then measures through HTTP (libcurl, keep-alive):
 *   1. creates and updates with 1 and with 64 concurrent clients: writes/s,
 *      p50 and p99 latency;
 *   2. a paced run at 1,000 writes/s: p50 and p99 latency;
 *   3. listing 10,000 pods: latency (JSON and Table);
 *   4. watch fan-out: 100 watchers each receiving 1,000 events;
 *   5. server resident memory holding 5,000 nodes and 50,000 pods.
 * Prints the figures; asserts nothing.
 *
 *   build/release/bench/api_bench [--wharf build/release/wharf] [--quick] [--api-only]
 * --api-only starts the server with --controllers=false: the API and store
 * alone, without the in-process controllers' caches.
 */
#include <curl/curl.h>
#include <errno.h>
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

static bool g_quick;
static bool g_api_only;

/* ---- HTTP ------------------------------------------------------------------ */

static const char *pod_json(char *buf, size_t len, const char *ns, const char *name,
			    const char *node, int gen)
{
	snprintf(buf, len,
		 "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"%s\","
		 "\"namespace\":\"%s\",\"labels\":{\"app\":\"bench\",\"gen\":\"g%d\"}},"
		 "\"spec\":{%s%s%s\"containers\":[{\"name\":\"main\",\"image\":\"busybox:1\","
		 "\"command\":[\"sleep\",\"3600\"],\"resources\":{\"limits\":{\"cpu\":\"100m\","
		 "\"memory\":\"64Mi\"}}}]}}",
		 name, ns, gen, node ? "\"nodeName\":\"" : "", node ? node : "", node ? "\"," : "");
	return buf;
}

/* ---- server process ------------------------------------------------------------ */

static void bench_start_server(const char *bin)
{
	make_tmp_dir("/tmp/wharf-bench-XXXXXX");
	const char *extra[] = {"--workers", "64",
			       g_api_only ? "--controllers=false" : "--controllers=true", NULL};
	start_server(bin, NULL, extra, false, 300);
}

/* ---- 1, 2: write throughput and latency ------------------------------------- */

typedef struct writer {
	int id;
	int n;		  /* writes per client */
	bool update;	  /* update existing pods instead of creating */
	double interval;  /* paced: seconds between writes (0 = closed loop) */
	double start;
	double *lat;
	int errors;
	const char *prefix;
} writer;

static void *writer_main(void *arg)
{
	writer *w = arg;
	CURL *c = new_handle();
	char body[2048], name[128], path[256];
	for (int i = 0; i < w->n; i++) {
		if (w->interval > 0) {
			double due = w->start + i * w->interval;
			double wait = due - now_s();
			if (wait > 0)
				usleep((useconds_t)(wait * 1e6));
		}
		snprintf(name, sizeof name, "%s-%d-%d", w->prefix, w->id, i);
		double t0 = now_s();
		long code;
		if (w->update) {
			/* A merge patch: read-modify-write with CAS inside the server. */
			snprintf(path, sizeof path, "/api/v1/namespaces/default/pods/%s", name);
			snprintf(body, sizeof body, "{\"metadata\":{\"labels\":{\"gen\":\"u%d\"}}}", i);
			code = http_req(c, "PATCH", path, body, "application/merge-patch+json", NULL,
				    NULL);
		} else {
			pod_json(body, sizeof body, "default", name, NULL, i);
			code = http_req(c, "POST", "/api/v1/namespaces/default/pods", body, NULL, NULL,
				    NULL);
		}
		w->lat[i] = now_s() - t0;
		if (code < 200 || code >= 300)
			w->errors++;
	}
	curl_easy_cleanup(c);
	return NULL;
}

static void run_writes(const char *label, int clients, int per_client, bool update,
		       double rate, const char *prefix)
{
	writer *ws = calloc((size_t)clients, sizeof *ws);
	pthread_t *th = calloc((size_t)clients, sizeof *th);
	double start = now_s() + 0.05;
	for (int i = 0; i < clients; i++) {
		ws[i] = (writer){.id = i, .n = per_client, .update = update, .prefix = prefix,
				 .lat = calloc((size_t)per_client, sizeof(double)),
				 .interval = rate > 0 ? clients / rate : 0, .start = start};
		pthread_create(&th[i], NULL, writer_main, &ws[i]);
	}
	int errors = 0;
	size_t total = (size_t)clients * (size_t)per_client;
	double *all = calloc(total, sizeof(double));
	for (int i = 0; i < clients; i++) {
		pthread_join(th[i], NULL);
		memcpy(all + (size_t)i * (size_t)per_client, ws[i].lat,
		       (size_t)per_client * sizeof(double));
		errors += ws[i].errors;
		free(ws[i].lat);
	}
	double elapsed = now_s() - start;
	qsort(all, total, sizeof(double), cmp_double);
	printf("%-44s %8zu writes %9.0f writes/s  p50 %6.2f ms  p99 %6.2f ms  errors %d\n", label,
	       total, (double)total / elapsed, pct(all, total, 0.50) * 1e3,
	       pct(all, total, 0.99) * 1e3, errors);
	fflush(stdout);
	free(all);
	free(ws);
	free(th);
}

/* ---- 3: list ----------------------------------------------------------------- */

static void bench_list(int pods)
{
	char label[96];
	static const char *table_accept =
		"application/json;as=Table;v=v1;g=meta.k8s.io,application/json";
	for (int t = 0; t < 2; t++) {
		CURL *c = new_handle();
		double lat[5];
		size_t bytes = 0;
		for (int i = 0; i < 5; i++) {
			sink s = {.drop = true};
			double t0 = now_s();
			http_req(c, "GET", "/api/v1/namespaces/list/pods", NULL, NULL,
			     t ? table_accept : NULL, &s);
			lat[i] = now_s() - t0;
			bytes = s.len;
		}
		curl_easy_cleanup(c);
		qsort(lat, 5, sizeof(double), cmp_double);
		snprintf(label, sizeof label, "list %d pods (%s)", pods, t ? "Table" : "JSON");
		printf("%-44s median %7.1f ms  min %7.1f ms  (%zu bytes)\n", label, lat[2] * 1e3,
		       lat[0] * 1e3, bytes);
	}
	fflush(stdout);
}

/* ---- 4: watch fan-out --------------------------------------------------------- */

typedef struct watcher {
	atomic_int events;
	int want;
	double done_at;
	CURL *c;
} watcher;

static size_t on_watch(char *p, size_t sz, size_t n, void *ud)
{
	watcher *w = ud;
	size_t len = sz * n;
	for (size_t i = 0; i < len; i++)
		if (p[i] == '\n' && atomic_fetch_add(&w->events, 1) + 1 == w->want)
			w->done_at = now_s();
	return atomic_load(&w->events) >= w->want ? 0 : len; /* 0 ends the transfer */
}

static void *watcher_main(void *arg)
{
	watcher *w = arg;
	char url[256];
	CURL *c = new_handle();
	snprintf(url, sizeof url, "%s/api/v1/namespaces/fanout/configmaps?watch=true&resourceVersion=%s",
		 g_base, "1");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_watch);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, w);
	curl_easy_perform(c);
	curl_easy_cleanup(c);
	return NULL;
}

static void bench_fanout(int watchers, int events)
{
	CURL *c = new_handle();
	http_req(c, "POST", "/api/v1/namespaces",
	     "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"fanout\"}}",
	     NULL, NULL, NULL);
	sink s = {0};
	http_req(c, "GET", "/api/v1/namespaces/fanout/configmaps", NULL, NULL, NULL, &s);
	char rv[32] = "1";
	char *p = s.data ? strstr(s.data, "\"resourceVersion\":\"") : NULL;
	if (p)
		sscanf(p + strlen("\"resourceVersion\":\""), "%31[0-9]", rv);
	free(s.data);
	watcher *ws = calloc((size_t)watchers, sizeof *ws);
	pthread_t *th = calloc((size_t)watchers, sizeof *th);
	for (int i = 0; i < watchers; i++) {
		ws[i].want = events;
		pthread_create(&th[i], NULL, watcher_main, &ws[i]);
	}
	usleep(500000); /* let every watch connect */
	double t0 = now_s();
	char body[512];
	for (int i = 0; i < events; i++) {
		snprintf(body, sizeof body,
			 "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":"
			 "\"cm-%d\"},\"data\":{\"k\":\"v\"}}",
			 i);
		http_req(c, "POST", "/api/v1/namespaces/fanout/configmaps", body, NULL, NULL, NULL);
	}
	double writes_done = now_s();
	for (int i = 0; i < watchers; i++)
		pthread_join(th[i], NULL);
	double last = 0;
	int short_count = 0;
	for (int i = 0; i < watchers; i++) {
		if (ws[i].done_at > last)
			last = ws[i].done_at;
		if (atomic_load(&ws[i].events) < events)
			short_count++;
	}
	printf("%-44s %d watchers x %d events: all delivered %.0f ms after the first write "
	       "(writes took %.0f ms; %.0f events/s delivered; %d watchers short)\n",
	       "watch fan-out", watchers, events, (last - t0) * 1e3, (writes_done - t0) * 1e3,
	       (double)watchers * events / (last - t0), short_count);
	fflush(stdout);
	(void)rv;
	curl_easy_cleanup(c);
	free(ws);
	free(th);
}

/* ---- 5: memory ------------------------------------------------------------------- */

typedef struct filler {
	int from, to;
	bool nodes;
} filler;

static void *filler_main(void *arg)
{
	filler *f = arg;
	CURL *c = new_handle();
	char body[2048], name[64], node[64];
	for (int i = f->from; i < f->to; i++) {
		if (f->nodes) {
			snprintf(body, sizeof body,
				 "{\"apiVersion\":\"v1\",\"kind\":\"Node\",\"metadata\":{\"name\":"
				 "\"node-%d\",\"labels\":{\"nvidia.com/gpu.product\":\"NVIDIA-H100\"}},"
				 "\"status\":{\"capacity\":{\"cpu\":\"64\",\"memory\":\"512Gi\","
				 "\"nvidia.com/gpu\":\"8\",\"pods\":\"110\"},\"allocatable\":{\"cpu\":"
				 "\"64\",\"memory\":\"512Gi\",\"nvidia.com/gpu\":\"8\",\"pods\":\"110\"}}}",
				 i);
			http_req(c, "POST", "/api/v1/nodes", body, NULL, NULL, NULL);
		} else {
			snprintf(name, sizeof name, "mem-%d", i);
			snprintf(node, sizeof node, "node-%d", i % 5000);
			pod_json(body, sizeof body, "mem", name, node, 0);
			http_req(c, "POST", "/api/v1/namespaces/mem/pods", body, NULL, NULL, NULL);
		}
	}
	curl_easy_cleanup(c);
	return NULL;
}

static void fill(int n, bool nodes, int threads)
{
	pthread_t th[64];
	filler f[64];
	for (int i = 0; i < threads; i++) {
		f[i] = (filler){.from = n * i / threads, .to = n * (i + 1) / threads, .nodes = nodes};
		pthread_create(&th[i], NULL, filler_main, &f[i]);
	}
	for (int i = 0; i < threads; i++)
		pthread_join(th[i], NULL);
}

int main(int argc, char **argv)
{
	const char *bin = "build/release/wharf";
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--wharf") && i + 1 < argc)
			bin = argv[++i];
		else if (!strcmp(argv[i], "--quick"))
			g_quick = true;
		else if (!strcmp(argv[i], "--api-only"))
			g_api_only = true;
	}
	curl_global_init(CURL_GLOBAL_ALL);
	bench_start_server(bin);
	printf("wharf API benchmark (server %s%s, pid %d, %ld CPUs)\n", bin,
	       g_api_only ? " --controllers=false" : "", (int)g_server,
	       sysconf(_SC_NPROCESSORS_ONLN));
	int scale = g_quick ? 10 : 1;
	run_writes("create, 1 client", 1, 2000 / scale, false, 0, "c1");
	run_writes("update (merge patch), 1 client", 1, 2000 / scale, true, 0, "c1");
	run_writes("create, 64 clients", 64, 300 / scale, false, 0, "c64");
	run_writes("update (merge patch), 64 clients", 64, 300 / scale, true, 0, "c64");
	run_writes("create, paced 1,000 writes/s, 16 clients", 16, 500 / scale, false, 1000, "p");

	CURL *c = new_handle();
	http_req(c, "POST", "/api/v1/namespaces",
	     "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"list\"}}",
	     NULL, NULL, NULL);
	int list_n = 10000 / scale;
	{
		/* 10,000 pods in their own namespace */
		char body[2048], name[64];
		for (int i = 0; i < list_n; i++) {
			snprintf(name, sizeof name, "l-%d", i);
			pod_json(body, sizeof body, "list", name, NULL, 0);
			http_req(c, "POST", "/api/v1/namespaces/list/pods", body, NULL, NULL, NULL);
		}
	}
	bench_list(list_n);
	bench_fanout(100, 1000 / scale);

	/* Memory: a fresh server holding 5,000 nodes and 50,000 pods. */
	curl_easy_cleanup(c);
	stop_all();
	bench_start_server(bin);
	c = new_handle();
	http_req(c, "POST", "/api/v1/namespaces",
	     "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"mem\"}}", NULL,
	     NULL, NULL);
	long idle = rss_kib(g_server);
	double t0 = now_s();
	fill(5000 / scale, true, 32);
	fill(50000 / scale, false, 32);
	double t = now_s() - t0;
	sink s = {.drop = true};
	http_req(c, "GET", "/api/v1/nodes?limit=1", NULL, NULL, NULL, &s);
	long held = rss_kib(g_server);
	printf("%-44s %d nodes + %d pods loaded in %.1f s (%.0f creates/s); RSS idle %.1f MB, "
	       "holding %.1f MB\n",
	       "server memory", 5000 / scale, 50000 / scale, t, (5000 + 50000) / scale / t,
	       idle / 1024.0, held / 1024.0);
	curl_easy_cleanup(c);
	stop_all();
	curl_global_cleanup();
	return 0;
}
