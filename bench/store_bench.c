/*
 * store_bench.c - durable write throughput and latency of the SQLite store,
 * called directly (no HTTP): 1 writer, then 64 concurrent writers (group
 * commit), then a load to 50,000 objects with the process RSS, a full list
 * and a count. Prints figures; asserts nothing.
 *
 * usage: store_bench [dir] [value_bytes]   (default: a fresh dir in /tmp, 1024)
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/wf_mem.h"
#include "store/store.h"

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

typedef struct worker {
	wf_store *s;
	int id;
	int n;
	const char *value;
	size_t len;
	double *lat; /* n entries, seconds */
	int errors;
} worker;

static void *write_loop(void *arg)
{
	worker *w = arg;
	char key[64];
	for (int i = 0; i < w->n; i++) {
		snprintf(key, sizeof key, "/registry/pods/bench-%d/pod-%d", w->id, i);
		double t = now_s();
		if (wf_store_create(w->s, key, w->value, w->len, NULL, NULL) != 0)
			w->errors++;
		if (w->lat)
			w->lat[i] = now_s() - t;
	}
	return NULL;
}

static void run(wf_store *s, const char *label, int threads, int per_thread, int id_base,
		const char *value, size_t len)
{
	worker *ws = wf_xcalloc((size_t)threads, sizeof *ws);
	pthread_t *t = wf_xcalloc((size_t)threads, sizeof *t);
	wf_store_stats st0, st1;
	wf_store_get_stats(s, &st0);
	double t0 = now_s();
	for (int i = 0; i < threads; i++) {
		ws[i] = (worker){.s = s,
				 .id = id_base + i,
				 .n = per_thread,
				 .value = value,
				 .len = len,
				 .lat = wf_xcalloc((size_t)per_thread, sizeof(double))};
		pthread_create(&t[i], NULL, write_loop, &ws[i]);
	}
	int errors = 0;
	for (int i = 0; i < threads; i++) {
		pthread_join(t[i], NULL);
		errors += ws[i].errors;
	}
	double el = now_s() - t0;
	wf_store_get_stats(s, &st1);
	size_t n = (size_t)threads * (size_t)per_thread;
	double *all = wf_xmalloc(n * sizeof *all);
	for (int i = 0; i < threads; i++) {
		memcpy(all + (size_t)i * (size_t)per_thread, ws[i].lat,
		       (size_t)per_thread * sizeof(double));
		free(ws[i].lat);
	}
	qsort(all, n, sizeof *all, cmp_double);
	uint64_t commits = st1.commits - st0.commits;
	printf("%-28s %8.0f writes/s  p50 %6.3f ms  p99 %6.3f ms  max %6.3f ms  "
	       "batch %5.1f  errors %d\n",
	       label, (double)n / el, all[n / 2] * 1e3, all[n * 99 / 100] * 1e3, all[n - 1] * 1e3,
	       commits ? (double)(st1.writes - st0.writes) / (double)commits : 0, errors);
	free(all);
	free(ws);
	free(t);
}

static long rss_kib(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kib = -1;
	while (f && fgets(line, sizeof line, f))
		if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
			break;
	if (f)
		fclose(f);
	return kib;
}

static int count_cb(void *ctx, const wf_kv *kv)
{
	(*(size_t *)ctx)++;
	return 0;
}

int main(int argc, char **argv)
{
	char dir[256] = "/tmp/wf_store_bench_XXXXXX";
	bool own_dir = argc < 2;
	if (own_dir) {
		if (!mkdtemp(dir)) {
			perror("mkdtemp");
			return 1;
		}
	} else {
		snprintf(dir, sizeof dir, "%s", argv[1]);
	}
	size_t len = argc > 2 ? (size_t)strtoul(argv[2], NULL, 10) : 1024;
	char path[512];
	snprintf(path, sizeof path, "%s/bench.db", dir);
	char *value = wf_xmalloc(len + 1);
	memset(value, 'x', len);
	value[len] = '\0';

	wf_store_options o = {.path = path};
	wf_store *s = NULL;
	wf_err err = {0};
	if (wf_store_open_sqlite(&o, &s, &err) != 0) {
		fprintf(stderr, "open %s: %s\n", path, err.msg);
		return 1;
	}
	printf("store bench: %s, values of %zu bytes\n", path, len);
	run(s, "1 thread x 2000", 1, 2000, 0, value, len);
	run(s, "64 threads x 300", 64, 300, 1000, value, len);

	int64_t have = 0;
	wf_store_count(s, "/registry/pods/", &have, NULL);
	int per = (int)((50000 - have + 63) / 64);
	if (per > 0)
		run(s, "load to 50k, 64 threads", 64, per, 2000, value, len);
	wf_store_count(s, "/registry/pods/", &have, NULL);

	double t0 = now_s();
	size_t listed = 0;
	int64_t rev = 0;
	wf_store_range(s, "/registry/pods/", NULL, 0, count_cb, &listed, &rev, NULL, NULL);
	double list_s = now_s() - t0;
	t0 = now_s();
	int64_t counted = 0;
	wf_store_count(s, "/registry/pods/", &counted, NULL);
	double count_s = now_s() - t0;
	struct stat sb;
	long db_kib = stat(path, &sb) == 0 ? (long)(sb.st_size / 1024) : -1;
	printf("%lld objects: RSS %ld KiB, db %ld KiB, list %zu in %.1f ms, count in %.1f ms, "
	       "revision %lld\n",
	       (long long)have, rss_kib(), db_kib, listed, list_s * 1e3, count_s * 1e3,
	       (long long)rev);
	wf_store_close(s);
	free(value);
	if (own_dir) {
		char p[600];
		const char *sfx[] = {"", "-wal", "-shm"};
		for (int i = 0; i < 3; i++) {
			snprintf(p, sizeof p, "%s%s", path, sfx[i]);
			unlink(p);
		}
		rmdir(dir);
	}
	return 0;
}
