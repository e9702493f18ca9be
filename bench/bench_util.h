/*
 * bench_util.h - helpers shared by the benchmark programs in bench/: a
 * monotonic clock, percentiles, a libcurl request helper with a body sink,
 * and starting/stopping `wharf server` (and `wharf agent`) children in a
 * temporary directory.
 *
 * Each bench program is one translation unit that includes this header;
 * everything here is static and marked unused, so a program pays only for
 * what it calls. The process helpers work on the globals g_base (the
 * server's URL), g_dir (the temporary directory), g_server and g_agent.
 * Failures to start a child are fatal (message on stderr, exit(1)).
 */
#ifndef WF_BENCH_UTIL_H
#define WF_BENCH_UTIL_H

#include <curl/curl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define BENCH_UNUSED __attribute__((unused))

static char g_base[64];
static char g_dir[256];
static char g_agent_run[256]; /* the agent's --run-dir (pods/ lives there) */
static pid_t g_server BENCH_UNUSED, g_agent BENCH_UNUSED;

static BENCH_UNUSED double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static BENCH_UNUSED int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* The p-quantile (0..1) of v[0..n), which must be sorted; 0 when n is 0. */
static BENCH_UNUSED double pct(const double *v, size_t n, double p)
{
	if (!n)
		return 0;
	return v[(size_t)(p * (double)(n - 1) + 0.5)];
}

/* ---- HTTP ------------------------------------------------------------------ */

/* A response body: kept NUL-terminated in data (caller frees) unless drop is
 * set, in which case only len counts the bytes. */
typedef struct sink {
	char *data;
	size_t len, cap;
	bool drop;
} sink;

static BENCH_UNUSED size_t on_body(char *p, size_t sz, size_t n, void *ud)
{
	sink *s = ud;
	size_t len = sz * n;
	if (!s)
		return len;
	if (!s->drop) {
		if (s->len + len + 1 > s->cap) {
			s->cap = (s->len + len + 1) * 2;
			s->data = realloc(s->data, s->cap);
		}
		memcpy(s->data + s->len, p, len);
		s->data[s->len + len] = '\0';
	}
	s->len += len;
	return len;
}

/* A keep-alive handle; timeout_s 0 means no overall request timeout. */
static BENCH_UNUSED CURL *new_handle_t(long timeout_s)
{
	CURL *c = curl_easy_init();
	curl_easy_setopt(c, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	if (timeout_s)
		curl_easy_setopt(c, CURLOPT_TIMEOUT, timeout_s);
	return c;
}

static BENCH_UNUSED CURL *new_handle(void)
{
	return new_handle_t(0);
}

/* One request to g_base + path; ctype and accept default to
 * application/json when NULL; the body goes to out (NULL: discarded).
 * Returns the HTTP status, 0 when the request failed. */
static BENCH_UNUSED long http_req(CURL *c, const char *method, const char *path,
				  const char *body, const char *ctype, const char *accept,
				  sink *out)
{
	char url[512];
	snprintf(url, sizeof url, "%s%s", g_base, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	char ct[128], ac[256];
	snprintf(ct, sizeof ct, "Content-Type: %s", ctype ? ctype : "application/json");
	snprintf(ac, sizeof ac, "Accept: %s", accept ? accept : "application/json");
	struct curl_slist *h = curl_slist_append(NULL, ct);
	h = curl_slist_append(h, ac);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	if (body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	} else {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, NULL);
		curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	}
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
	CURLcode rc = curl_easy_perform(c);
	curl_slist_free_all(h);
	long code = 0;
	if (rc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	return code;
}

/* http_req() with JSON content type and accept. */
static BENCH_UNUSED long http(CURL *c, const char *method, const char *path, const char *body,
			      sink *out)
{
	return http_req(c, method, path, body, NULL, NULL, out);
}

/* ---- processes ------------------------------------------------------------------ */

static BENCH_UNUSED int free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001)};
	bind(fd, (struct sockaddr *)&sin, sizeof sin);
	socklen_t sl = sizeof sin;
	getsockname(fd, (struct sockaddr *)&sin, &sl);
	int port = ntohs(sin.sin_port);
	close(fd);
	return port;
}

/* Forks and execs argv (argv[0] a path) with stderr to log and, when
 * quiet, stdout to /dev/null. Returns the child's pid. */
static BENCH_UNUSED pid_t spawn(char *const argv[], const char *log, bool quiet)
{
	pid_t pid = fork();
	if (pid == 0) {
		if (!freopen(log, "w", stderr) || (quiet && !freopen("/dev/null", "w", stdout)))
			_exit(126);
		execv(argv[0], argv);
		_exit(127);
	}
	return pid;
}

/* Creates g_dir from tmpl (ending in XXXXXX). */
static BENCH_UNUSED void make_tmp_dir(const char *tmpl)
{
	snprintf(g_dir, sizeof g_dir, "%s", tmpl);
	if (!mkdtemp(g_dir)) {
		perror("mkdtemp");
		exit(1);
	}
}

/* Starts `bin server --listen 127.0.0.1:<free port> --data-dir <g_dir[/sub]>
 * <extra...>` (extra NULL-terminated, may be NULL) logging to
 * g_dir/server.log, sets g_base and g_server, and waits up to tries * 20 ms
 * for /healthz to answer 200. */
static BENCH_UNUSED void start_server(const char *bin, const char *sub, const char *const extra[],
				      bool quiet, int tries)
{
	int port = free_port();
	snprintf(g_base, sizeof g_base, "http://127.0.0.1:%d", port);
	char listen[64], dir[300], log[300];
	snprintf(listen, sizeof listen, "127.0.0.1:%d", port);
	snprintf(dir, sizeof dir, "%s%s%s", g_dir, sub ? "/" : "", sub ? sub : "");
	snprintf(log, sizeof log, "%s/server.log", g_dir);
	char *argv[32] = {(char *)bin, "server", "--listen", listen, "--data-dir", dir};
	size_t n = 6;
	for (size_t i = 0; extra && extra[i] && n < 31; i++)
		argv[n++] = (char *)extra[i];
	argv[n] = NULL;
	g_server = spawn(argv, log, quiet);
	CURL *c = new_handle();
	for (int i = 0; i < tries; i++) {
		if (http(c, "GET", "/healthz", NULL, NULL) == 200) {
			curl_easy_cleanup(c);
			return;
		}
		usleep(20000);
	}
	fprintf(stderr, "server did not start (see %s)\n", log);
	exit(1);
}

/* Whether Node `node` has condition Ready True. */
static BENCH_UNUSED bool node_ready(CURL *c, const char *node)
{
	char path[300];
	snprintf(path, sizeof path, "/api/v1/nodes/%s", node);
	sink s = {0};
	bool ready = false;
	if (http(c, "GET", path, NULL, &s) == 200) {
		json_t *n = json_loads(s.data, 0, NULL);
		size_t i;
		json_t *cond;
		json_array_foreach(json_object_get(json_object_get(n, "status"), "conditions"), i,
				   cond)
		{
			const char *t = json_string_value(json_object_get(cond, "type"));
			const char *st = json_string_value(json_object_get(cond, "status"));
			ready |= t && st && !strcmp(t, "Ready") && !strcmp(st, "True");
		}
		json_decref(n);
	}
	free(s.data);
	return ready;
}

/* ---- watch streams ----------------------------------------------------------------- */

/* A watch response cut into lines (one event each). */
typedef struct bench_watch {
	char *data;
	size_t len, cap;
	void (*on_line)(const char *line);
	volatile bool *stop;
} bench_watch;

static BENCH_UNUSED size_t bench_watch_data(char *p, size_t sz, size_t n, void *ud)
{
	bench_watch *w = ud;
	size_t len = sz * n;
	if (w->len + len + 1 > w->cap) {
		w->cap = (w->len + len + 1) * 2;
		w->data = realloc(w->data, w->cap);
	}
	memcpy(w->data + w->len, p, len);
	w->len += len;
	w->data[w->len] = '\0';
	char *start = w->data, *nl;
	while ((nl = memchr(start, '\n', w->len - (size_t)(start - w->data)))) {
		*nl = '\0';
		w->on_line(start);
		start = nl + 1;
	}
	w->len -= (size_t)(start - w->data);
	memmove(w->data, start, w->len);
	return len;
}

static BENCH_UNUSED int bench_watch_progress(void *ud, curl_off_t a, curl_off_t b, curl_off_t c,
					     curl_off_t d)
{
	return *((bench_watch *)ud)->stop; /* non-zero aborts the transfer */
}

/* GETs the watch at url and hands each event line to on_line, until *stop
 * is set (says so on stderr when the stream ends before that). */
static BENCH_UNUSED void bench_watch_run(const char *url, void (*on_line)(const char *line),
					 volatile bool *stop)
{
	CURL *c = curl_easy_init();
	bench_watch w = {.on_line = on_line, .stop = stop};
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, bench_watch_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &w);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, bench_watch_progress);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, &w);
	CURLcode rc = curl_easy_perform(c);
	if (!*stop)
		fprintf(stderr, "watch ended early: %s\n", curl_easy_strerror(rc));
	curl_easy_cleanup(c);
	free(w.data);
}

/* Starts `bin agent` for node with the given --gpus, data in g_dir/agent,
 * log g_dir/agent.log, sets g_agent, and waits up to tries * 20 ms for the
 * node to be Ready. The pods' runtime state (--run-dir) goes on a tmpfs
 * when there is one (/dev/shm), as containerd keeps its own under /run, a
 * tmpfs on systemd hosts; this machine's /run is on disk. */
static BENCH_UNUSED void start_agent(const char *bin, const char *node, const char *gpus,
				     int tries)
{
	char aport[16], adir[300], alog[300];
	snprintf(aport, sizeof aport, "%d", free_port());
	snprintf(adir, sizeof adir, "%s/agent", g_dir);
	snprintf(alog, sizeof alog, "%s/agent.log", g_dir);
	snprintf(g_agent_run, sizeof g_agent_run, "/dev/shm/wharf-run-XXXXXX");
	if (!mkdtemp(g_agent_run))
		snprintf(g_agent_run, sizeof g_agent_run, "%s", adir);
	char *argv[] = {(char *)bin, "agent",	   "--server",	g_base, "--node-name",
			(char *)node, "--data-dir", adir,	"--port", aport,
			"--gpus",     (char *)gpus, "--run-dir", g_agent_run,	NULL};
	g_agent = spawn(argv, alog, true);
	CURL *c = new_handle_t(30);
	int i;
	for (i = 0; i < tries && !node_ready(c, node); i++)
		usleep(20000);
	curl_easy_cleanup(c);
	if (i == tries) {
		fprintf(stderr, "agent did not register (see %s)\n", alog);
		exit(1);
	}
}

/* Containers of pods still on the agent (state.json without exit.json):
 * SIGKILL their process groups, so that no process is left behind. */
static BENCH_UNUSED void kill_leftovers(void)
{
	char cmd[600];
	snprintf(cmd, sizeof cmd,
		 "find %s/pods -name state.json 2>/dev/null | while read f; do "
		 "d=$(dirname \"$f\"); [ -e \"$d/exit.json\" ] && continue; "
		 "p=$(sed -n 's/.*\"pgid\": *\\([0-9]*\\).*/\\1/p' \"$f\"); "
		 "[ -n \"$p\" ] && kill -9 -- -$p 2>/dev/null; true; done",
		 g_agent_run);
	if (system(cmd) != 0)
		fprintf(stderr, "could not look for leftover containers\n");
}

static BENCH_UNUSED void stop_child(pid_t pid)
{
	if (pid > 0 && kill(pid, SIGTERM) == 0)
		waitpid(pid, NULL, 0);
}

static BENCH_UNUSED void remove_tmp_dir(void)
{
	char cmd[600];
	snprintf(cmd, sizeof cmd, "rm -rf %s %s", g_dir, g_agent_run);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", g_dir);
}

/* Stops the agent (if any), kills its leftover containers, stops the
 * server and removes g_dir. */
static BENCH_UNUSED void stop_all(void)
{
	if (g_agent) {
		stop_child(g_agent);
		kill_leftovers();
	}
	stop_child(g_server);
	remove_tmp_dir();
}

/* Machine-wide CPU time from /proc/stat, in seconds summed over CPUs:
 * busy (user, nice, system, irq, softirq), idle (idle, iowait) and steal
 * (taken by the hypervisor). cpu_since gives the difference to a start. */
typedef struct cpu_times {
	double busy, idle, steal;
} cpu_times;

static BENCH_UNUSED cpu_times cpu_now(void)
{
	cpu_times t = {0};
	unsigned long long v[8] = {0};
	FILE *f = fopen("/proc/stat", "r");
	if (f && fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2],
			&v[3], &v[4], &v[5], &v[6], &v[7]) == 8) {
		double hz = (double)sysconf(_SC_CLK_TCK);
		t.busy = (double)(v[0] + v[1] + v[2] + v[5] + v[6]) / hz;
		t.idle = (double)(v[3] + v[4]) / hz;
		t.steal = (double)v[7] / hz;
	}
	if (f)
		fclose(f);
	return t;
}

static BENCH_UNUSED cpu_times cpu_since(cpu_times a)
{
	cpu_times b = cpu_now();
	return (cpu_times){b.busy - a.busy, b.idle - a.idle, b.steal - a.steal};
}

/* VmRSS of pid in KiB, -1 when unknown. */
static BENCH_UNUSED long rss_kib(pid_t pid)
{
	char path[64], line[256];
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "r");
	long kib = -1;
	while (f && fgets(line, sizeof line, f))
		if (!strncmp(line, "VmRSS:", 6))
			kib = strtol(line + 6, NULL, 10);
	if (f)
		fclose(f);
	return kib;
}

#endif
