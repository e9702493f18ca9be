/*
 * test_probe.c - probes run for real: exec (success, failure, timeout with
 * the child killed and reaped, environment, working directory, cgroup
 * join, big output, threads), httpGet against an HTTP server on loopback
 * run in a thread by this test (statuses, redirects, slow and broken
 * responses, headers sent, named ports), tcpSocket open and closed,
 * malformed specs; and the probe state machine driven by scripted time.
 * Timeouts are checked by their outcome, never by measuring time.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/probe.h"
#include "agent/probe_state.h"
#include "lib/wf_err.h"
#include "lib/wf_mem.h"

/* ------------------------------------------------------------- helpers */

static json_t *jsonf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static json_t *jsonf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	json_error_t je;
	json_t *j;
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	assert_non_null(s);
	j = json_loads(s, 0, &je);
	if (!j)
		fail_msg("bad test JSON %s: %s", s, je.text);
	free(s);
	return j;
}

/* Run the probe written as JSON. */
static wf_probe_result run_json(const char *probe, const wf_probe_target *t, char *msg, size_t len)
{
	json_t *p = json_loads(probe, 0, NULL);
	wf_probe_result r;
	assert_non_null(p);
	r = wf_probe_run(p, t, msg, len);
	json_decref(p);
	return r;
}

static char *make_tmpdir(void)
{
	char *d = wf_xstrdup("/tmp/wf_probe_XXXXXX");
	assert_non_null(mkdtemp(d));
	return d;
}

static void rm_tree(const char *dir)
{
	char *cmd = wf_xasprintf("rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
	free(cmd);
}

static pid_t read_pid(const char *path)
{
	FILE *f = fopen(path, "r");
	int pid = 0;
	assert_non_null(f);
	assert_int_equal(fscanf(f, "%d", &pid), 1);
	fclose(f);
	return (pid_t)pid;
}

/* True once pid is gone or a zombie (its reaper may be slow or absent). */
static bool pid_dead(pid_t pid)
{
	for (int i = 0; i < 300; i++) {
		char path[64], buf[512];
		FILE *f;
		snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
		f = fopen(path, "r");
		if (!f)
			return true;
		size_t n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
		buf[n] = '\0';
		char *rp = strrchr(buf, ')');
		if (rp && rp[1] == ' ' && (rp[2] == 'Z' || rp[2] == 'X'))
			return true;
		usleep(10000);
	}
	return false;
}

/* A port nothing listens on: bound, then closed. */
static int closed_port(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t l = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &l), 0);
	close(fd);
	return ntohs(a.sin_port);
}

static int listen_any(int *port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t l = sizeof(a);
	int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(fd, 16), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &l), 0);
	*port = ntohs(a.sin_port);
	return fd;
}

/* --------------------------------------------------------- exec probes */

static void test_exec_success_failure(void **state)
{
	char msg[256];
	assert_int_equal(run_json("{\"exec\":{\"command\":[\"true\"]}}", NULL, msg, sizeof(msg)),
			 WF_PROBE_SUCCESS);
	assert_string_equal(msg, "");
	assert_int_equal(run_json("{\"exec\":{\"command\":[\"false\"]}}", NULL, msg, sizeof(msg)),
			 WF_PROBE_FAILURE);
	assert_non_null(strstr(msg, "exited with status 1"));
	assert_int_equal(
	    run_json("{\"exec\":{\"command\":[\"sh\",\"-c\",\"echo oops >&2; exit 3\"]}}", NULL,
		     msg, sizeof(msg)),
	    WF_PROBE_FAILURE);
	assert_non_null(strstr(msg, "status 3"));
	assert_non_null(strstr(msg, "oops"));
	assert_int_equal(run_json("{\"exec\":{\"command\":[\"sh\",\"-c\",\"kill -9 $$\"]}}", NULL,
				  msg, sizeof(msg)),
			 WF_PROBE_FAILURE);
	assert_non_null(strstr(msg, "signal 9"));
	/* A missing binary is a failure, with Go's words. */
	assert_int_equal(
	    run_json("{\"exec\":{\"command\":[\"wf-no-such-command\"]}}", NULL, msg, sizeof(msg)),
	    WF_PROBE_FAILURE);
	assert_non_null(strstr(msg, "executable file not found"));
	assert_int_equal(
	    run_json("{\"exec\":{\"command\":[\"/nonexistent/x\"]}}", NULL, msg, sizeof(msg)),
	    WF_PROBE_FAILURE);
	assert_non_null(strstr(msg, "no such file"));
	/* No room for a message is fine. */
	assert_int_equal(run_json("{\"exec\":{\"command\":[\"false\"]}}", NULL, NULL, 0),
			 WF_PROBE_FAILURE);
	msg[0] = 'X';
	assert_int_equal(run_json("{\"exec\":{\"command\":[\"false\"]}}", NULL, msg, 1),
			 WF_PROBE_FAILURE);
	assert_string_equal(msg, "");
}

static void test_exec_timeout_child_gone(void **state)
{
	char msg[256], *dir = make_tmpdir();
	char *pidf = wf_xasprintf("%s/pid", dir), *kidf = wf_xasprintf("%s/kid", dir);
	json_t *p = jsonf("{\"timeoutSeconds\":1,\"exec\":{\"command\":[\"sh\",\"-c\","
			  "\"echo $$ > %s; exec sleep 5\"]}}",
			  pidf);
	pid_t pid;
	int st;

	assert_int_equal(wf_probe_run(p, NULL, msg, sizeof(msg)), WF_PROBE_FAILURE);
	assert_non_null(strstr(msg, "timed out"));
	assert_non_null(strstr(msg, "sleep 5"));
	json_decref(p);
	pid = read_pid(pidf);
	/* Reaped by the probe: not our child any more, and not running. */
	assert_int_equal(waitpid(pid, &st, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
	assert_int_equal(kill(pid, 0), -1);
	assert_int_equal(errno, ESRCH);

	/* A grandchild in the background dies with the process group. */
	p = jsonf("{\"timeoutSeconds\":1,\"exec\":{\"command\":[\"sh\",\"-c\","
		  "\"sleep 7 & echo $! > %s; wait\"]}}",
		  kidf);
	assert_int_equal(wf_probe_run(p, NULL, msg, sizeof(msg)), WF_PROBE_FAILURE);
	assert_non_null(strstr(msg, "timed out"));
	json_decref(p);
	assert_true(pid_dead(read_pid(kidf)));

	free(pidf);
	free(kidf);
	rm_tree(dir);
	free(dir);
}

static void test_exec_env(void **state)
{
	char msg[256];
	char *env[] = {"FOO=bar baz", "PATH=/usr/bin:/bin", NULL};
	wf_probe_target t = {.env = env};
	const char *probe =
	    "{\"exec\":{\"command\":[\"sh\",\"-c\",\"test \\\"$FOO\\\" = 'bar baz'\"]}}";

	assert_int_equal(run_json(probe, &t, msg, sizeof(msg)), WF_PROBE_SUCCESS);
	/* Without the target's environment FOO is unset. */
	assert_int_equal(run_json(probe, NULL, msg, sizeof(msg)), WF_PROBE_FAILURE);
	/* Exactly the target's environment: nothing leaks from ours. */
	setenv("WF_PROBE_LEAK", "1", 1);
	assert_int_equal(run_json("{\"exec\":{\"command\":[\"sh\",\"-c\","
				  "\"test -z \\\"$WF_PROBE_LEAK\\\"\"]}}",
				  &t, msg, sizeof(msg)),
			 WF_PROBE_SUCCESS);
	unsetenv("WF_PROBE_LEAK");
	/* Output is captured into the message. */
	assert_int_equal(run_json("{\"exec\":{\"command\":[\"sh\",\"-c\",\"echo $FOO; exit 1\"]}}",
				  &t, msg, sizeof(msg)),
			 WF_PROBE_FAILURE);
	assert_non_null(strstr(msg, "bar baz"));
}

static void test_exec_working_dir_and_cgroup(void **state)
{
	char msg[256], *dir = make_tmpdir();
	char *marker = wf_xasprintf("%s/marker", dir),
	     *procs = wf_xasprintf("%s/cgroup.procs", dir);
	char *pidf = wf_xasprintf("%s/pid", dir);
	wf_probe_target t = {.working_dir = dir};
	FILE *f;
	json_t *p;

	f = fopen(marker, "w");
	assert_non_null(f);
	fclose(f);
	assert_int_equal(
	    run_json("{\"exec\":{\"command\":[\"test\",\"-f\",\"marker\"]}}", &t, msg, sizeof(msg)),
	    WF_PROBE_SUCCESS);
	assert_int_equal(run_json("{\"exec\":{\"command\":[\"test\",\"-f\",\"marker\"]}}", NULL,
				  msg, sizeof(msg)),
			 WF_PROBE_FAILURE);
	t.working_dir = "/nonexistent-wf-dir";
	assert_int_equal(run_json("{\"exec\":{\"command\":[\"true\"]}}", &t, msg, sizeof(msg)),
			 WF_PROBE_FAILURE);
	assert_non_null(strstr(msg, "/nonexistent-wf-dir"));

	/* The probe's pid is written to the cgroup's cgroup.procs. */
	f = fopen(procs, "w");
	assert_non_null(f);
	fclose(f);
	t.working_dir = NULL;
	t.cgroup = dir;
	p = jsonf("{\"exec\":{\"command\":[\"sh\",\"-c\",\"echo $$ > %s\"]}}", pidf);
	assert_int_equal(wf_probe_run(p, &t, msg, sizeof(msg)), WF_PROBE_SUCCESS);
	json_decref(p);
	assert_int_equal(read_pid(procs), read_pid(pidf));
	/* A cgroup that cannot be joined does not stop the probe. */
	t.cgroup = "/nonexistent-wf-cgroup";
	assert_int_equal(run_json("{\"exec\":{\"command\":[\"true\"]}}", &t, msg, sizeof(msg)),
			 WF_PROBE_SUCCESS);

	free(marker);
	free(procs);
	free(pidf);
	rm_tree(dir);
	free(dir);
}

static void test_exec_big_output_and_args(void **state)
{
	char msg[128];
	/* 1 MB of output: drained (the command never blocks), message capped. */
	assert_int_equal(run_json("{\"timeoutSeconds\":30,\"exec\":{\"command\":[\"sh\",\"-c\","
				  "\"head -c 1000000 /dev/zero | tr '\\\\000' x; exit 1\"]}}",
				  NULL, msg, sizeof(msg)),
			 WF_PROBE_FAILURE);
	assert_true(strlen(msg) == sizeof(msg) - 1);
	assert_non_null(strstr(msg, "xxxx"));

	/* 5000 arguments. */
	json_t *cmd = json_array();
	json_array_append_new(cmd, json_string("true"));
	for (int i = 0; i < 5000; i++)
		json_array_append_new(cmd, json_string("argument"));
	json_t *p = json_pack("{s:{s:o}}", "exec", "command", cmd);
	assert_int_equal(wf_probe_run(p, NULL, msg, sizeof(msg)), WF_PROBE_SUCCESS);
	json_decref(p);
}

static void *exec_thread(void *arg)
{
	intptr_t i = (intptr_t)arg;
	char msg[128];
	for (int n = 0; n < 10; n++) {
		bool ok = (i + n) % 2 == 0;
		wf_probe_result r = run_json(ok ? "{\"exec\":{\"command\":[\"true\"]}}"
						: "{\"exec\":{\"command\":[\"false\"]}}",
					     NULL, msg, sizeof(msg));
		if (r != (ok ? WF_PROBE_SUCCESS : WF_PROBE_FAILURE))
			return (void *)1;
	}
	return NULL;
}

static void test_exec_threads(void **state)
{
	pthread_t th[8];
	for (intptr_t i = 0; i < 8; i++)
		assert_int_equal(pthread_create(&th[i], NULL, exec_thread, (void *)i), 0);
	for (int i = 0; i < 8; i++) {
		void *ret;
		assert_int_equal(pthread_join(th[i], &ret), 0);
		assert_null(ret);
	}
}

/* --------------------------------------------------- the HTTP test server */

typedef struct http_srv {
	int lfd, port;
	int stop[2];
	pthread_t th;
	pthread_mutex_t mu;
	char last_req[4096];
	int nreq;
} http_srv;

static void srv_send(int fd, const char *s, size_t n)
{
	while (n) {
		ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
		if (w <= 0)
			return;
		s += w;
		n -= (size_t)w;
	}
}

static void srv_reply(int fd, const char *s)
{
	srv_send(fd, s, strlen(s));
}

/* Hold the connection until the client gives up (at most 10 s). */
static void srv_stall(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	char buf[256];
	while (poll(&p, 1, 10000) > 0 && read(fd, buf, sizeof(buf)) > 0)
		;
}

static void srv_handle(http_srv *s, int fd)
{
	char *req = wf_xmalloc(256 * 1024), path[256] = "", *resp;
	size_t len = 0;
	while (len < 256 * 1024 - 1) {
		ssize_t n = read(fd, req + len, 256 * 1024 - 1 - len);
		if (n <= 0)
			break;
		len += (size_t)n;
		req[len] = '\0';
		if (strstr(req, "\r\n\r\n"))
			break;
	}
	req[len] = '\0';
	sscanf(req, "GET %255s", path);
	pthread_mutex_lock(&s->mu);
	snprintf(s->last_req, sizeof(s->last_req), "%s", req);
	s->nreq++;
	pthread_mutex_unlock(&s->mu);
	free(req);

	if (!strcmp(path, "/ok") || !strcmp(path, "/sub/ok") || !strcmp(path, "/headers")) {
		srv_reply(fd, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
	} else if (!strcmp(path, "/fail")) {
		srv_reply(fd, "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n");
	} else if (!strcmp(path, "/404")) {
		srv_reply(fd, "HTTP/1.0 404 Not Found\r\n\r\n");
	} else if (!strcmp(path, "/nocontent")) {
		srv_reply(fd, "HTTP/1.1 204 No Content\r\n\r\n");
	} else if (!strcmp(path, "/found")) {
		srv_reply(fd, "HTTP/1.1 302 Found\r\nLocation: /ok\r\nContent-Length: 0\r\n\r\n");
	} else if (!strcmp(path, "/found-fail")) {
		srv_reply(fd, "HTTP/1.1 302 Found\r\nlocation: /fail\r\n\r\n");
	} else if (!strcmp(path, "/sub/rel")) {
		srv_reply(fd, "HTTP/1.1 307 Temporary Redirect\r\nLocation: ok\r\n\r\n");
	} else if (!strcmp(path, "/away")) {
		resp = wf_xasprintf(
		    "HTTP/1.1 301 Moved\r\nLocation: http://localhost:%d/fail\r\n\r\n", s->port);
		srv_reply(fd, resp);
		free(resp);
	} else if (!strcmp(path, "/absolute")) {
		resp = wf_xasprintf("HTTP/1.1 308 Permanent\r\nLocation: http://127.0.0.1:%d/fail"
				    "#frag\r\n\r\n",
				    s->port);
		srv_reply(fd, resp);
		free(resp);
	} else if (!strcmp(path, "/multiple")) {
		srv_reply(fd, "HTTP/1.1 300 Multiple Choices\r\nLocation: /fail\r\n\r\n");
	} else if (!strcmp(path, "/to-https")) {
		srv_reply(fd, "HTTP/1.1 302 Found\r\nLocation: https://127.0.0.1/\r\n\r\n");
	} else if (!strcmp(path, "/loop")) {
		srv_reply(fd, "HTTP/1.1 302 Found\r\nLocation: /loop\r\n\r\n");
	} else if (!strcmp(path, "/interim")) {
		srv_reply(
		    fd,
		    "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
	} else if (!strcmp(path, "/garbage")) {
		srv_reply(fd, "SSH-2.0-OpenSSH\r\n\r\n");
	} else if (!strcmp(path, "/eof")) {
		/* close without a word */
	} else if (!strcmp(path, "/slow")) {
		srv_stall(fd);
	} else if (!strcmp(path, "/slowbody")) {
		srv_reply(fd, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial");
		srv_stall(fd);
	} else if (!strcmp(path, "/shortbody")) {
		srv_reply(fd, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial");
	} else if (!strcmp(path, "/bigbody")) {
		char *body = wf_xmalloc(1 << 20);
		memset(body, 'b', 1 << 20);
		srv_reply(fd, "HTTP/1.1 200 OK\r\nContent-Length: 1048576\r\n\r\n");
		srv_send(fd, body, 1 << 20);
		free(body);
	} else if (!strcmp(path, "/chunked")) {
		srv_reply(
		    fd,
		    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n");
		srv_stall(fd); /* keeps the connection open: the terminator ends it */
	} else if (!strcmp(path, "/hugehead")) {
		char *h = wf_xmalloc(100000);
		memset(h, 'h', 100000);
		srv_reply(fd, "HTTP/1.1 200 OK\r\nX-Big: ");
		srv_send(fd, h, 100000);
		srv_reply(fd, "\r\n\r\n");
		free(h);
	} else {
		srv_reply(fd, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
	}
}

static void *srv_main(void *arg)
{
	http_srv *s = arg;
	for (;;) {
		struct pollfd p[2] = {{.fd = s->lfd, .events = POLLIN},
				      {.fd = s->stop[0], .events = POLLIN}};
		if (poll(p, 2, -1) < 0)
			continue;
		if (p[1].revents)
			return NULL;
		int fd = accept4(s->lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		srv_handle(s, fd);
		close(fd);
	}
}

static int srv_setup(void **state)
{
	http_srv *s = wf_xcalloc(1, sizeof(*s));
	s->lfd = listen_any(&s->port);
	assert_int_equal(pipe2(s->stop, O_CLOEXEC), 0);
	pthread_mutex_init(&s->mu, NULL);
	assert_int_equal(pthread_create(&s->th, NULL, srv_main, s), 0);
	*state = s;
	return 0;
}

static int srv_teardown(void **state)
{
	http_srv *s = *state;
	assert_int_equal(write(s->stop[1], "x", 1), 1);
	pthread_join(s->th, NULL);
	close(s->stop[0]);
	close(s->stop[1]);
	close(s->lfd);
	pthread_mutex_destroy(&s->mu);
	free(s);
	return 0;
}

static wf_probe_result http_get(http_srv *s, const char *path, char *msg, size_t len)
{
	json_t *p = jsonf("{\"timeoutSeconds\":1,\"httpGet\":{\"path\":\"%s\",\"port\":%d}}", path,
			  s->port);
	wf_probe_result r = wf_probe_run(p, NULL, msg, len);
	json_decref(p);
	return r;
}

static int srv_requests(http_srv *s)
{
	pthread_mutex_lock(&s->mu);
	int n = s->nreq;
	pthread_mutex_unlock(&s->mu);
	return n;
}

/* ---------------------------------------------------------- http probes */

static void test_http_status(void **state)
{
	http_srv *s = *state;
	char msg[512];

	assert_int_equal(http_get(s, "/ok", msg, sizeof(msg)), WF_PROBE_SUCCESS);
	assert_string_equal(msg, "");
	assert_int_equal(http_get(s, "/nocontent", msg, sizeof(msg)), WF_PROBE_SUCCESS);
	assert_int_equal(http_get(s, "/fail", msg, sizeof(msg)), WF_PROBE_FAILURE);
	assert_string_equal(msg, "HTTP probe failed with statuscode: 500");
	assert_int_equal(http_get(s, "/404", msg, sizeof(msg)), WF_PROBE_FAILURE);
	assert_string_equal(msg, "HTTP probe failed with statuscode: 404");
	assert_int_equal(http_get(s, "/interim", msg, sizeof(msg)), WF_PROBE_SUCCESS);
	assert_int_equal(http_get(s, "/bigbody", msg, sizeof(msg)), WF_PROBE_SUCCESS);
	assert_int_equal(http_get(s, "/chunked", msg, sizeof(msg)), WF_PROBE_SUCCESS);
}

static void test_http_redirects(void **state)
{
	http_srv *s = *state;
	char msg[512];
	int before;

	/* Same host: followed, the final status decides. */
	assert_int_equal(http_get(s, "/found", msg, sizeof(msg)), WF_PROBE_SUCCESS);
	assert_int_equal(http_get(s, "/found-fail", msg, sizeof(msg)), WF_PROBE_FAILURE);
	assert_string_equal(msg, "HTTP probe failed with statuscode: 500");
	assert_int_equal(http_get(s, "/sub/rel", msg, sizeof(msg)), WF_PROBE_SUCCESS);
	assert_int_equal(http_get(s, "/absolute", msg, sizeof(msg)), WF_PROBE_FAILURE);
	/* Another host name: not followed, and a 3xx is a success. */
	assert_int_equal(http_get(s, "/away", msg, sizeof(msg)), WF_PROBE_SUCCESS);
	assert_string_equal(msg, "Probe terminated redirects");
	/* 300 is not a redirect Go follows. */
	assert_int_equal(http_get(s, "/multiple", msg, sizeof(msg)), WF_PROBE_SUCCESS);
	assert_int_equal(http_get(s, "/to-https", msg, sizeof(msg)), WF_PROBE_ERROR);
	assert_non_null(strstr(msg, "HTTPS"));
	/* A loop stops after 10 requests. */
	before = srv_requests(s);
	assert_int_equal(http_get(s, "/loop", msg, sizeof(msg)), WF_PROBE_FAILURE);
	assert_non_null(strstr(msg, "stopped after 10 redirects"));
	assert_int_equal(srv_requests(s) - before, 10);
}

static void test_http_timeouts_and_broken(void **state)
{
	http_srv *s = *state;
	char msg[512];

	assert_int_equal(http_get(s, "/slow", msg, sizeof(msg)), WF_PROBE_FAILURE);
	assert_non_null(strstr(msg, "Client.Timeout exceeded while awaiting headers"));
	assert_int_equal(http_get(s, "/slowbody", msg, sizeof(msg)), WF_PROBE_FAILURE);
	assert_non_null(strstr(msg, "Client.Timeout"));
	assert_int_equal(http_get(s, "/shortbody", msg, sizeof(msg)), WF_PROBE_FAILURE);
	assert_non_null(strstr(msg, "unexpected EOF"));
	assert_int_equal(http_get(s, "/garbage", msg, sizeof(msg)), WF_PROBE_FAILURE);
	assert_non_null(strstr(msg, "malformed HTTP response"));
	assert_int_equal(http_get(s, "/eof", msg, sizeof(msg)), WF_PROBE_FAILURE);
	assert_non_null(strstr(msg, "EOF"));
	assert_int_equal(http_get(s, "/hugehead", msg, sizeof(msg)), WF_PROBE_FAILURE);
	assert_non_null(strstr(msg, "headers exceed"));
	/* The server still answers after all that. */
	assert_int_equal(http_get(s, "/ok", msg, sizeof(msg)), WF_PROBE_SUCCESS);
}

static void test_http_refused(void **state)
{
	char msg[512];
	int port = closed_port();
	json_t *p = jsonf("{\"httpGet\":{\"port\":%d}}", port);
	char want[128];
	assert_int_equal(wf_probe_run(p, NULL, msg, sizeof(msg)), WF_PROBE_FAILURE);
	snprintf(want, sizeof(want),
		 "Get \"http://127.0.0.1:%d/\": dial tcp 127.0.0.1:%d: connect: connection refused",
		 port, port);
	assert_string_equal(msg, want);
	json_decref(p);
}

static void test_http_request_sent(void **state)
{
	http_srv *s = *state;
	char msg[512], req[4096];
	json_t *p;

	p = jsonf("{\"httpGet\":{\"path\":\"/headers\",\"port\":%d,\"httpHeaders\":["
		  "{\"name\":\"X-Custom\",\"value\":\"v "
		  "1\"},{\"name\":\"Accept\",\"value\":\"text/plain\"}]}}",
		  s->port);
	assert_int_equal(wf_probe_run(p, NULL, msg, sizeof(msg)), WF_PROBE_SUCCESS);
	json_decref(p);
	pthread_mutex_lock(&s->mu);
	snprintf(req, sizeof(req), "%s", s->last_req);
	pthread_mutex_unlock(&s->mu);
	char *host = wf_xasprintf("\r\nHost: 127.0.0.1:%d\r\n", s->port);
	assert_true(strncmp(req, "GET /headers HTTP/1.1\r\n", 23) == 0);
	assert_non_null(strstr(req, host));
	free(host);
	assert_non_null(strstr(req, "\r\nUser-Agent: kube-probe/1.31\r\n"));
	assert_non_null(strstr(req, "\r\nX-Custom: v 1\r\n"));
	assert_non_null(strstr(req, "\r\nAccept: text/plain\r\n"));
	assert_null(strstr(req, "*/*"));
	assert_non_null(strstr(req, "\r\nConnection: close\r\n"));

	/* A Host header overrides; the target's host is used; no path means "/";
	 * spaces in the path are escaped. */
	wf_probe_target t = {.host = "127.0.0.1"};
	p = jsonf("{\"httpGet\":{\"port\":%d,\"httpHeaders\":[{\"name\":\"host\",\"value\":"
		  "\"example.com\"},"
		  "{\"name\":\"User-Agent\",\"value\":\"mine\"}]}}",
		  s->port);
	assert_int_equal(wf_probe_run(p, &t, msg, sizeof(msg)), WF_PROBE_FAILURE);
	json_decref(p);
	pthread_mutex_lock(&s->mu);
	snprintf(req, sizeof(req), "%s", s->last_req);
	pthread_mutex_unlock(&s->mu);
	assert_true(strncmp(req, "GET / HTTP/1.1\r\nHost: example.com\r\n", 35) == 0);
	assert_non_null(strstr(req, "\r\nUser-Agent: mine\r\n"));
	assert_null(strstr(req, "kube-probe"));
	assert_non_null(strstr(req, "\r\nAccept: */*\r\n"));

	p = jsonf("{\"httpGet\":{\"path\":\"health z?x=1\",\"port\":%d}}", s->port);
	assert_int_equal(wf_probe_run(p, NULL, msg, sizeof(msg)), WF_PROBE_FAILURE);
	json_decref(p);
	pthread_mutex_lock(&s->mu);
	assert_true(strncmp(s->last_req, "GET /health%20z?x=1 HTTP/1.1\r\n", 30) == 0);
	pthread_mutex_unlock(&s->mu);

	/* A 100 KB path is sent whole. */
	char *big = wf_xmalloc(100001);
	memset(big, 'a', 100000);
	big[0] = '/';
	big[100000] = '\0';
	p = json_pack("{s:{s:i,s:s}}", "httpGet", "port", s->port, "path", big);
	assert_int_equal(wf_probe_run(p, NULL, msg, sizeof(msg)), WF_PROBE_FAILURE);
	assert_string_equal(msg, "HTTP probe failed with statuscode: 404");
	json_decref(p);
	free(big);
}

static void test_http_named_port(void **state)
{
	http_srv *s = *state;
	char msg[512];
	json_t *c = jsonf("{\"name\":\"app\",\"ports\":[{\"name\":\"metrics\",\"containerPort\":1},"
			  "{\"name\":\"http\",\"containerPort\":%d}]}",
			  s->port);
	wf_probe_target t = {.container = c};
	json_t *p = json_loads("{\"httpGet\":{\"path\":\"/ok\",\"port\":\"http\"}}", 0, NULL);
	wf_err err = {0};

	assert_int_equal(wf_probe_run(p, &t, msg, sizeof(msg)), WF_PROBE_SUCCESS);
	assert_int_equal(wf_probe_check(p, c, &err), 0);
	/* Not found: an error, in run and check alike. */
	assert_int_equal(wf_probe_run(p, NULL, msg, sizeof(msg)), WF_PROBE_ERROR);
	assert_non_null(strstr(msg, "unable to find port \"http\""));
	assert_int_equal(wf_probe_check(p, NULL, &err), -WF_EINVAL);
	assert_string_equal(err.msg, msg);
	json_decref(p);
	/* A number written as a string is a last resort, as in kubelet. */
	p = jsonf("{\"httpGet\":{\"path\":\"/ok\",\"port\":\"%d\"}}", s->port);
	assert_int_equal(wf_probe_run(p, NULL, msg, sizeof(msg)), WF_PROBE_SUCCESS);
	json_decref(p);
	/* A named port on a tcpSocket probe too. */
	p = json_loads("{\"tcpSocket\":{\"port\":\"http\"}}", 0, NULL);
	assert_int_equal(wf_probe_run(p, &t, msg, sizeof(msg)), WF_PROBE_SUCCESS);
	json_decref(p);
	json_decref(c);
	/* A named port whose containerPort is bad. */
	c = json_loads("{\"ports\":[{\"name\":\"http\",\"containerPort\":\"80\"}]}", 0, NULL);
	t.container = c;
	assert_int_equal(run_json("{\"tcpSocket\":{\"port\":\"http\"}}", &t, msg, sizeof(msg)),
			 WF_PROBE_ERROR);
	json_decref(c);
	c = json_loads("{\"ports\":[{\"name\":\"http\",\"containerPort\":70000}]}", 0, NULL);
	t.container = c;
	assert_int_equal(run_json("{\"tcpSocket\":{\"port\":\"http\"}}", &t, msg, sizeof(msg)),
			 WF_PROBE_ERROR);
	assert_non_null(strstr(msg, "70000"));
	json_decref(c);
}

/* ----------------------------------------------------------- tcp probes */

static void test_tcp(void **state)
{
	char msg[256];
	int port, lfd = listen_any(&port), closed = closed_port();
	json_t *p = jsonf("{\"tcpSocket\":{\"port\":%d}}", port);
	wf_probe_target t = {.host = "127.0.0.1"};

	assert_int_equal(wf_probe_run(p, NULL, msg, sizeof(msg)), WF_PROBE_SUCCESS);
	assert_int_equal(wf_probe_run(p, &t, msg, sizeof(msg)), WF_PROBE_SUCCESS);
	json_decref(p);
	p = jsonf("{\"tcpSocket\":{\"host\":\"localhost\",\"port\":%d}}", port);
	assert_int_equal(wf_probe_run(p, NULL, msg, sizeof(msg)), WF_PROBE_SUCCESS);
	json_decref(p);
	close(lfd);

	p = jsonf("{\"tcpSocket\":{\"port\":%d}}", closed);
	assert_int_equal(wf_probe_run(p, NULL, msg, sizeof(msg)), WF_PROBE_FAILURE);
	assert_non_null(strstr(msg, "connection refused"));
	json_decref(p);
	p = json_loads("{\"tcpSocket\":{\"host\":\"wf-no-such-host.invalid\",\"port\":80}}", 0,
		       NULL);
	assert_int_equal(wf_probe_run(p, NULL, msg, sizeof(msg)), WF_PROBE_FAILURE);
	assert_non_null(strstr(msg, "lookup wf-no-such-host.invalid"));
	json_decref(p);
}

/* -------------------------------------------------------- malformed specs */

static void test_malformed(void **state)
{
	static const struct {
		const char *probe;
		const char *want;
		int code;
	} cases[] = {
	    {"[]", "must be an object", WF_EINVAL},
	    {"{}", "must specify a handler type", WF_EINVAL},
	    {"{\"exec\":null,\"timeoutSeconds\":1}", "must specify a handler type", WF_EINVAL},
	    {"{\"exec\":{\"command\":[\"true\"]},\"tcpSocket\":{\"port\":1}}",
	     "more than 1 handler", WF_EINVAL},
	    {"{\"exec\":\"true\"}", "exec: must be an object", WF_EINVAL},
	    {"{\"exec\":{}}", "exec.command: Required value", WF_EINVAL},
	    {"{\"exec\":{\"command\":[]}}", "exec.command: Required value", WF_EINVAL},
	    {"{\"exec\":{\"command\":\"true\"}}", "array of strings", WF_EINVAL},
	    {"{\"exec\":{\"command\":[\"true\",1]}}", "exec.command[1]", WF_EINVAL},
	    {"{\"exec\":{\"command\":[\"tr\\u0000ue\"]}}", "exec.command[0]", WF_EINVAL},
	    {"{\"exec\":{\"command\":[\"\"]}}", "must not be empty", WF_EINVAL},
	    {"{\"exec\":{\"command\":[\"true\"]},\"timeoutSeconds\":\"1\"}",
	     "timeoutSeconds: must be an integer", WF_EINVAL},
	    {"{\"exec\":{\"command\":[\"true\"]},\"timeoutSeconds\":-1}", "timeoutSeconds",
	     WF_EINVAL},
	    {"{\"exec\":{\"command\":[\"true\"]},\"timeoutSeconds\":99999999999}", "timeoutSeconds",
	     WF_EINVAL},
	    {"{\"httpGet\":{}}", "httpGet.port: Required value", WF_EINVAL},
	    {"{\"httpGet\":[]}", "httpGet: must be an object", WF_EINVAL},
	    {"{\"httpGet\":{\"port\":0}}", "invalid port number 0", WF_EINVAL},
	    {"{\"httpGet\":{\"port\":65536}}", "invalid port number 65536", WF_EINVAL},
	    {"{\"httpGet\":{\"port\":-80}}", "invalid port number -80", WF_EINVAL},
	    {"{\"httpGet\":{\"port\":1.5}}", "integer or a port name", WF_EINVAL},
	    {"{\"httpGet\":{\"port\":true}}", "integer or a port name", WF_EINVAL},
	    {"{\"httpGet\":{\"port\":\"\"}}", "integer or a port name", WF_EINVAL},
	    {"{\"httpGet\":{\"port\":\"web\"}}", "unable to find port \"web\"", WF_EINVAL},
	    {"{\"httpGet\":{\"port\":\"99999\"}}", "invalid port number 99999", WF_EINVAL},
	    {"{\"httpGet\":{\"port\":80,\"path\":7}}", "httpGet.path: must be a string", WF_EINVAL},
	    {"{\"httpGet\":{\"port\":80,\"path\":\"/a\\r\\nX: y\"}}", "control characters",
	     WF_EINVAL},
	    {"{\"httpGet\":{\"port\":80,\"host\":\"a\\r\\nb\"}}", "invalid host", WF_EINVAL},
	    {"{\"httpGet\":{\"port\":80,\"host\":\"a b\"}}", "invalid host", WF_EINVAL},
	    {"{\"httpGet\":{\"port\":80,\"host\":5}}", "host: must be a string", WF_EINVAL},
	    {"{\"httpGet\":{\"port\":80,\"scheme\":\"FTP\"}}", "Unsupported value: \"FTP\"",
	     WF_EINVAL},
	    {"{\"httpGet\":{\"port\":80,\"scheme\":\"https\"}}", "Unsupported value", WF_EINVAL},
	    {"{\"httpGet\":{\"port\":80,\"scheme\":\"HTTPS\"}}", "HTTPS probes are not supported",
	     WF_ENOTSUP},
	    {"{\"httpGet\":{\"port\":80,\"httpHeaders\":{}}}", "must be an array", WF_EINVAL},
	    {"{\"httpGet\":{\"port\":80,\"httpHeaders\":[5]}}", "httpHeaders[0]: must be an object",
	     WF_EINVAL},
	    {"{\"httpGet\":{\"port\":80,\"httpHeaders\":[{\"value\":\"x\"}]}}",
	     "httpHeaders[0].name: Required value", WF_EINVAL},
	    {"{\"httpGet\":{\"port\":80,\"httpHeaders\":[{\"name\":\"A\"},{\"name\":\"X:Y\"}]}}",
	     "httpHeaders[1].name: invalid header name", WF_EINVAL},
	    {"{\"httpGet\":{\"port\":80,\"httpHeaders\":[{\"name\":\"X\",\"value\":\"a\\r\\nEvil: "
	     "1\"}]}}",
	     "control characters", WF_EINVAL},
	    {"{\"httpGet\":{\"port\":80,\"httpHeaders\":[{\"name\":\"X\",\"value\":[]}]}}",
	     "value: must be a string", WF_EINVAL},
	    {"{\"tcpSocket\":1}", "tcpSocket: must be an object", WF_EINVAL},
	    {"{\"tcpSocket\":{\"port\":null}}", "tcpSocket.port: Required value", WF_EINVAL},
	    {"{\"tcpSocket\":{\"port\":70000}}", "invalid port number", WF_EINVAL},
	    {"{\"grpc\":{\"port\":9000}}", "grpc probes are not supported", WF_ENOTSUP},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char msg[512];
		wf_err err = {0};
		json_t *p = json_loads(cases[i].probe, JSON_ALLOW_NUL, NULL);
		if (!p)
			fail_msg("case %zu: bad JSON", i);
		assert_int_equal(wf_probe_run(p, NULL, msg, sizeof(msg)), WF_PROBE_ERROR);
		if (!strstr(msg, cases[i].want))
			fail_msg("case %zu (%s): message \"%s\" lacks \"%s\"", i, cases[i].probe,
				 msg, cases[i].want);
		assert_int_equal(wf_probe_check(p, NULL, &err), -cases[i].code);
		assert_string_equal(err.msg, msg);
		json_decref(p);
	}
	char msg[64];
	assert_int_equal(wf_probe_run(NULL, NULL, msg, sizeof(msg)), WF_PROBE_ERROR);
	/* Valid specs pass the check. */
	json_t *ok = json_loads(
	    "{\"httpGet\":{\"port\":8080,\"path\":\"/healthz\",\"scheme\":\"HTTP\","
	    "\"host\":\"10.0.0.1\",\"httpHeaders\":[{\"name\":\"X-A\",\"value\":\"b\"}]},"
	    "\"timeoutSeconds\":0,\"periodSeconds\":3}",
	    0, NULL);
	assert_int_equal(wf_probe_check(ok, NULL, NULL), 0);
	json_decref(ok);
}

/* ---------------------------------------------------------- state machine */

static wf_probe_timing timing(int delay_s, int period_s, int succ, int fail)
{
	wf_probe_timing t = {.initial_delay_ms = delay_s * 1000LL,
			     .period_ms = period_s * 1000LL,
			     .timeout_ms = 1000,
			     .success_threshold = succ,
			     .failure_threshold = fail};
	return t;
}

static void test_timing_parse(void **state)
{
	wf_probe_timing t;
	wf_err err = {0};
	json_t *p = json_loads("{\"exec\":{}}", 0, NULL);

	assert_int_equal(wf_probe_timing_parse(p, WF_PROBE_LIVENESS, &t, &err), 0);
	assert_int_equal(t.initial_delay_ms, 0);
	assert_int_equal(t.period_ms, 10000);
	assert_int_equal(t.timeout_ms, 1000);
	assert_int_equal(t.success_threshold, 1);
	assert_int_equal(t.failure_threshold, 3);
	json_decref(p);

	p = json_loads("{\"initialDelaySeconds\":5,\"periodSeconds\":0,\"timeoutSeconds\":null,"
		       "\"successThreshold\":2,\"failureThreshold\":7}",
		       0, NULL);
	assert_int_equal(wf_probe_timing_parse(p, WF_PROBE_READINESS, &t, &err), 0);
	assert_int_equal(t.initial_delay_ms, 5000);
	assert_int_equal(t.period_ms, 10000);
	assert_int_equal(t.timeout_ms, 1000);
	assert_int_equal(t.success_threshold, 2);
	assert_int_equal(t.failure_threshold, 7);
	/* successThreshold must be 1 for liveness and startup. */
	t.period_ms = 42;
	assert_int_equal(wf_probe_timing_parse(p, WF_PROBE_LIVENESS, &t, &err), -WF_EINVAL);
	assert_string_equal(err.msg, "livenessProbe.successThreshold: must be 1");
	assert_int_equal(wf_probe_timing_parse(p, WF_PROBE_STARTUP, &t, &err), -WF_EINVAL);
	assert_string_equal(err.msg, "startupProbe.successThreshold: must be 1");
	assert_int_equal(t.period_ms, 42);
	json_decref(p);

	static const char *bad[] = {
	    "{\"periodSeconds\":-1}",	  "{\"periodSeconds\":\"10\"}",
	    "{\"failureThreshold\":1.5}", "{\"initialDelaySeconds\":2147483648}",
	    "{\"timeoutSeconds\":true}",  "[]",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		p = json_loads(bad[i], 0, NULL);
		assert_non_null(p);
		assert_int_equal(wf_probe_timing_parse(p, WF_PROBE_READINESS, &t, &err),
				 -WF_EINVAL);
		assert_non_null(strstr(err.msg, "readinessProbe"));
		json_decref(p);
	}
	p = json_loads("{\"initialDelaySeconds\":2147483647,\"periodSeconds\":2147483647}", 0,
		       NULL);
	assert_int_equal(wf_probe_timing_parse(p, WF_PROBE_READINESS, &t, &err), 0);
	assert_int_equal(t.period_ms, 2147483647000LL);
	json_decref(p);
}

static void test_state_schedule(void **state)
{
	wf_probe_timing t = timing(5, 10, 1, 3);
	wf_probe_state s;

	wf_probe_state_init(&s, WF_PROBE_READINESS, &t, 1000);
	assert_int_equal(wf_probe_state_next_due(&s), 6000); /* started + initialDelay */
	wf_probe_state_record(&s, 6200, WF_PROBE_SUCCESS);
	assert_int_equal(wf_probe_state_next_due(&s), 16000); /* on the period grid */
	wf_probe_state_record(&s, 16900, WF_PROBE_FAILURE);
	assert_int_equal(wf_probe_state_next_due(&s), 26000);
	/* A run that overran (timeout > period): the next is due at once... */
	wf_probe_state_record(&s, 47000, WF_PROBE_FAILURE);
	assert_int_equal(wf_probe_state_next_due(&s), 47000);
	/* ...then back on the grid. */
	wf_probe_state_record(&s, 47500, WF_PROBE_SUCCESS);
	assert_int_equal(wf_probe_state_next_due(&s), 56000);
	/* Errors are rescheduled like any run. */
	wf_probe_state_record(&s, 56000, WF_PROBE_ERROR);
	assert_int_equal(wf_probe_state_next_due(&s), 66000);

	/* Huge values saturate instead of overflowing. */
	t = timing(2147483647, 2147483647, 1, 3);
	wf_probe_state_init(&s, WF_PROBE_READINESS, &t, INT64_MAX - 10);
	assert_int_equal(wf_probe_state_next_due(&s), WF_PROBE_NEVER);
	assert_false(wf_probe_state_record(&s, INT64_MAX - 5, WF_PROBE_SUCCESS));
	wf_probe_state_init(&s, WF_PROBE_READINESS, &t, 0);
	assert_int_equal(wf_probe_state_next_due(&s), 2147483647000LL);
	wf_probe_state_record(&s, 2147483647000LL, WF_PROBE_SUCCESS);
	assert_int_equal(wf_probe_state_next_due(&s), 2 * 2147483647000LL);
}

static void test_state_readiness_thresholds(void **state)
{
	wf_probe_timing t = timing(0, 10, 1, 3);
	wf_probe_state s;
	int64_t now = 0;

	wf_probe_state_init(&s, WF_PROBE_READINESS, &t, 0);
	assert_int_equal(s.status, WF_PROBE_STATUS_FAILURE); /* not ready until probed */
	assert_true(wf_probe_state_record(&s, now += 10000, WF_PROBE_SUCCESS));
	assert_int_equal(s.status, WF_PROBE_STATUS_SUCCESS);
	/* failureThreshold 3: two failures keep it ready, the third does not. */
	assert_false(wf_probe_state_record(&s, now += 10000, WF_PROBE_FAILURE));
	assert_false(wf_probe_state_record(&s, now += 10000, WF_PROBE_FAILURE));
	assert_int_equal(s.status, WF_PROBE_STATUS_SUCCESS);
	assert_true(wf_probe_state_record(&s, now += 10000, WF_PROBE_FAILURE));
	assert_int_equal(s.status, WF_PROBE_STATUS_FAILURE);
	/* Readiness never goes on hold. */
	assert_int_not_equal(wf_probe_state_next_due(&s), WF_PROBE_NEVER);
	assert_false(wf_probe_state_record(&s, now += 10000, WF_PROBE_FAILURE));
	/* A success in between resets the failure count. */
	assert_true(wf_probe_state_record(&s, now += 10000, WF_PROBE_SUCCESS));
	assert_false(wf_probe_state_record(&s, now += 10000, WF_PROBE_FAILURE));
	assert_false(wf_probe_state_record(&s, now += 10000, WF_PROBE_FAILURE));
	assert_false(wf_probe_state_record(&s, now += 10000, WF_PROBE_SUCCESS));
	assert_false(wf_probe_state_record(&s, now += 10000, WF_PROBE_FAILURE));
	assert_false(wf_probe_state_record(&s, now += 10000, WF_PROBE_FAILURE));
	assert_int_equal(s.status, WF_PROBE_STATUS_SUCCESS);
	/* Errors neither count nor break a run. */
	assert_false(wf_probe_state_record(&s, now += 10000, WF_PROBE_ERROR));
	assert_true(wf_probe_state_record(&s, now += 10000, WF_PROBE_FAILURE));

	/* successThreshold 3. */
	t = timing(0, 10, 3, 1);
	wf_probe_state_init(&s, WF_PROBE_READINESS, &t, 0);
	now = 0;
	assert_false(wf_probe_state_record(&s, now += 10000, WF_PROBE_SUCCESS));
	assert_false(wf_probe_state_record(&s, now += 10000, WF_PROBE_SUCCESS));
	assert_false(wf_probe_state_record(&s, now += 10000, WF_PROBE_FAILURE)); /* resets */
	assert_false(wf_probe_state_record(&s, now += 10000, WF_PROBE_SUCCESS));
	assert_false(wf_probe_state_record(&s, now += 10000, WF_PROBE_SUCCESS));
	assert_false(wf_probe_state_record(&s, now += 10000, WF_PROBE_ERROR));
	assert_int_equal(s.status, WF_PROBE_STATUS_FAILURE);
	assert_true(wf_probe_state_record(&s, now += 10000, WF_PROBE_SUCCESS));
	assert_int_equal(s.status, WF_PROBE_STATUS_SUCCESS);
	/* failureThreshold 1: one failure is enough. */
	assert_true(wf_probe_state_record(&s, now += 10000, WF_PROBE_FAILURE));
	assert_int_equal(s.status, WF_PROBE_STATUS_FAILURE);
}

static void test_state_liveness_hold(void **state)
{
	wf_probe_timing t = timing(0, 10, 1, 3);
	wf_probe_state s;
	int64_t now = 0;

	wf_probe_state_init(&s, WF_PROBE_LIVENESS, &t, 0);
	assert_int_equal(s.status, WF_PROBE_STATUS_SUCCESS); /* alive until proven otherwise */
	assert_false(wf_probe_state_record(&s, now, WF_PROBE_FAILURE));
	assert_false(wf_probe_state_record(&s, now += 10000, WF_PROBE_FAILURE));
	assert_false(wf_probe_state_record(&s, now += 10000, WF_PROBE_SUCCESS));
	assert_false(wf_probe_state_record(&s, now += 10000, WF_PROBE_FAILURE));
	assert_false(wf_probe_state_record(&s, now += 10000, WF_PROBE_FAILURE));
	assert_true(wf_probe_state_record(&s, now += 10000, WF_PROBE_FAILURE));
	assert_int_equal(s.status, WF_PROBE_STATUS_FAILURE);
	/* On hold until the container restarts: nothing due, results ignored. */
	assert_int_equal(wf_probe_state_next_due(&s), WF_PROBE_NEVER);
	assert_false(wf_probe_state_record(&s, now += 10000, WF_PROBE_SUCCESS));
	assert_int_equal(s.status, WF_PROBE_STATUS_FAILURE);
	/* A new instance starts over with fresh counts. */
	wf_probe_state_init(&s, WF_PROBE_LIVENESS, &t, now);
	assert_int_equal(s.status, WF_PROBE_STATUS_SUCCESS);
	assert_int_equal(wf_probe_state_next_due(&s), now);
	assert_false(wf_probe_state_record(&s, now, WF_PROBE_FAILURE));
	assert_false(wf_probe_state_record(&s, now += 10000, WF_PROBE_FAILURE));
	assert_true(wf_probe_state_record(&s, now += 10000, WF_PROBE_FAILURE));
}

static json_t *container_with(const char *probes)
{
	return jsonf("{\"name\":\"c\",\"command\":[\"x\"]%s%s}", probes[0] ? "," : "", probes);
}

static void test_set_no_probes(void **state)
{
	wf_probe_set ps;
	json_t *c = container_with("");
	assert_int_equal(wf_probe_set_init(&ps, c, 0, NULL), 0);
	assert_true(wf_probe_set_started(&ps));
	assert_true(wf_probe_set_ready(&ps));
	assert_false(wf_probe_set_should_restart(&ps, NULL));
	assert_int_equal(wf_probe_set_next_due(&ps, NULL), WF_PROBE_NEVER);
	assert_false(wf_probe_set_record(&ps, WF_PROBE_LIVENESS, 10, WF_PROBE_FAILURE));
	assert_false(wf_probe_set_record(&ps, (wf_probe_kind)7, 10, WF_PROBE_FAILURE));
	json_decref(c);
	assert_int_equal(wf_probe_set_init(&ps, NULL, 0, NULL), 0);
	assert_true(wf_probe_set_ready(&ps));
}

static void test_set_startup_gates(void **state)
{
	wf_probe_set ps;
	wf_probe_kind k;
	wf_err err = {0};
	json_t *c = container_with(
	    "\"startupProbe\":{\"exec\":{\"command\":[\"x\"]},\"periodSeconds\":2,"
	    "\"failureThreshold\":30},"
	    "\"livenessProbe\":{\"tcpSocket\":{\"port\":1},\"initialDelaySeconds\":1},"
	    "\"readinessProbe\":{\"httpGet\":{\"port\":1},\"initialDelaySeconds\":60,"
	    "\"periodSeconds\":5}");

	assert_int_equal(wf_probe_set_init(&ps, c, 1000, &err), 0);
	assert_false(wf_probe_set_started(&ps));
	assert_false(wf_probe_set_ready(&ps));
	/* Only the startup probe runs until it succeeds. */
	assert_int_equal(wf_probe_set_next_due(&ps, &k), 1000);
	assert_int_equal(k, WF_PROBE_STARTUP);
	assert_false(wf_probe_set_record(&ps, WF_PROBE_LIVENESS, 1000, WF_PROBE_FAILURE));
	assert_false(wf_probe_set_record(&ps, WF_PROBE_STARTUP, 1000, WF_PROBE_FAILURE));
	assert_int_equal(wf_probe_set_next_due(&ps, &k), 3000);
	assert_int_equal(k, WF_PROBE_STARTUP);
	assert_false(wf_probe_set_record(&ps, WF_PROBE_STARTUP, 3000, WF_PROBE_FAILURE));
	/* Started: liveness at once (its delay has passed), readiness at its delay. */
	assert_true(wf_probe_set_record(&ps, WF_PROBE_STARTUP, 5100, WF_PROBE_SUCCESS));
	assert_true(wf_probe_set_started(&ps));
	assert_false(wf_probe_set_ready(&ps));
	assert_int_equal(wf_probe_state_next_due(&ps.probe[WF_PROBE_STARTUP]), WF_PROBE_NEVER);
	assert_int_equal(wf_probe_set_next_due(&ps, &k), 5100);
	assert_int_equal(k, WF_PROBE_LIVENESS);
	assert_false(wf_probe_set_record(&ps, WF_PROBE_LIVENESS, 5100, WF_PROBE_SUCCESS));
	assert_int_equal(wf_probe_set_next_due(&ps, &k), 15100);
	assert_int_equal(k, WF_PROBE_LIVENESS);
	assert_int_equal(wf_probe_state_next_due(&ps.probe[WF_PROBE_READINESS]), 61000);
	/* The startup probe is done: its results are ignored. */
	assert_false(wf_probe_set_record(&ps, WF_PROBE_STARTUP, 6000, WF_PROBE_FAILURE));
	assert_true(wf_probe_set_started(&ps));
	/* Ready once the readiness probe passes. */
	assert_true(wf_probe_set_record(&ps, WF_PROBE_READINESS, 61000, WF_PROBE_SUCCESS));
	assert_true(wf_probe_set_ready(&ps));
	assert_false(wf_probe_set_should_restart(&ps, NULL));

	/* Liveness fails 3 times: restart; readiness goes on meanwhile. */
	assert_false(wf_probe_set_record(&ps, WF_PROBE_LIVENESS, 65100, WF_PROBE_FAILURE));
	assert_false(wf_probe_set_record(&ps, WF_PROBE_LIVENESS, 75100, WF_PROBE_FAILURE));
	assert_true(wf_probe_set_record(&ps, WF_PROBE_LIVENESS, 85100, WF_PROBE_FAILURE));
	assert_true(wf_probe_set_should_restart(&ps, &k));
	assert_int_equal(k, WF_PROBE_LIVENESS);
	assert_true(wf_probe_set_ready(&ps));
	assert_int_equal(wf_probe_set_next_due(&ps, &k), 66000);
	assert_int_equal(k, WF_PROBE_READINESS);

	/* The restarted instance: not started, not ready, startup probing again. */
	wf_probe_set_restart(&ps, 90000);
	assert_false(wf_probe_set_started(&ps));
	assert_false(wf_probe_set_ready(&ps));
	assert_false(wf_probe_set_should_restart(&ps, NULL));
	assert_int_equal(wf_probe_set_next_due(&ps, &k), 90000);
	assert_int_equal(k, WF_PROBE_STARTUP);
	/* Startup failing failureThreshold (30) times: restart, startup named. */
	int64_t now = 90000;
	for (int i = 0; i < 29; i++, now += 2000)
		assert_false(wf_probe_set_record(&ps, WF_PROBE_STARTUP, now, WF_PROBE_FAILURE));
	assert_false(wf_probe_set_should_restart(&ps, NULL));
	assert_true(wf_probe_set_record(&ps, WF_PROBE_STARTUP, now, WF_PROBE_FAILURE));
	assert_true(wf_probe_set_should_restart(&ps, &k));
	assert_int_equal(k, WF_PROBE_STARTUP);
	assert_int_equal(wf_probe_set_next_due(&ps, NULL), WF_PROBE_NEVER);
	json_decref(c);
}

static void test_set_readiness_only(void **state)
{
	wf_probe_set ps;
	wf_probe_kind k;
	json_t *c = container_with("\"readinessProbe\":{\"exec\":{\"command\":[\"x\"]},"
				   "\"successThreshold\":2,\"failureThreshold\":1}");
	assert_int_equal(wf_probe_set_init(&ps, c, 0, NULL), 0);
	assert_true(wf_probe_set_started(&ps));
	assert_false(wf_probe_set_ready(&ps));
	assert_int_equal(wf_probe_set_next_due(&ps, &k), 0);
	assert_int_equal(k, WF_PROBE_READINESS);
	assert_false(wf_probe_set_record(&ps, WF_PROBE_READINESS, 0, WF_PROBE_SUCCESS));
	assert_true(wf_probe_set_record(&ps, WF_PROBE_READINESS, 10000, WF_PROBE_SUCCESS));
	assert_true(wf_probe_set_ready(&ps));
	assert_true(wf_probe_set_record(&ps, WF_PROBE_READINESS, 20000, WF_PROBE_FAILURE));
	assert_false(wf_probe_set_ready(&ps));
	/* A readiness failure never asks for a restart. */
	assert_false(wf_probe_set_should_restart(&ps, NULL));
	json_decref(c);
}

static void test_set_bad_input(void **state)
{
	wf_probe_set ps;
	wf_err err = {0};
	json_t *c = container_with("\"livenessProbe\":{\"exec\":{\"command\":[\"x\"]},"
				   "\"successThreshold\":3}");
	memset(&ps, 0xff, sizeof(ps));
	assert_int_equal(wf_probe_set_init(&ps, c, 0, &err), -WF_EINVAL);
	assert_string_equal(err.msg, "livenessProbe.successThreshold: must be 1");
	assert_false(ps.has[WF_PROBE_STARTUP] || ps.has[WF_PROBE_LIVENESS] ||
		     ps.has[WF_PROBE_READINESS]);
	json_decref(c);
	c = container_with("\"readinessProbe\":\"yes\"");
	assert_int_equal(wf_probe_set_init(&ps, c, 0, &err), -WF_EINVAL);
	assert_string_equal(err.msg, "readinessProbe: must be an object");
	json_decref(c);
	c = json_string("container");
	assert_int_equal(wf_probe_set_init(&ps, c, 0, &err), -WF_EINVAL);
	json_decref(c);
	/* A null probe is no probe. */
	c = container_with("\"livenessProbe\":null");
	assert_int_equal(wf_probe_set_init(&ps, c, 0, &err), 0);
	assert_false(ps.has[WF_PROBE_LIVENESS]);
	json_decref(c);
	assert_string_equal(wf_probe_kind_field(WF_PROBE_READINESS), "readinessProbe");
	assert_string_equal(wf_probe_kind_field((wf_probe_kind)9), "probe");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_exec_success_failure),
	    cmocka_unit_test(test_exec_timeout_child_gone),
	    cmocka_unit_test(test_exec_env),
	    cmocka_unit_test(test_exec_working_dir_and_cgroup),
	    cmocka_unit_test(test_exec_big_output_and_args),
	    cmocka_unit_test(test_exec_threads),
	    cmocka_unit_test_setup_teardown(test_http_status, srv_setup, srv_teardown),
	    cmocka_unit_test_setup_teardown(test_http_redirects, srv_setup, srv_teardown),
	    cmocka_unit_test_setup_teardown(test_http_timeouts_and_broken, srv_setup, srv_teardown),
	    cmocka_unit_test(test_http_refused),
	    cmocka_unit_test_setup_teardown(test_http_request_sent, srv_setup, srv_teardown),
	    cmocka_unit_test_setup_teardown(test_http_named_port, srv_setup, srv_teardown),
	    cmocka_unit_test(test_tcp),
	    cmocka_unit_test(test_malformed),
	    cmocka_unit_test(test_timing_parse),
	    cmocka_unit_test(test_state_schedule),
	    cmocka_unit_test(test_state_readiness_thresholds),
	    cmocka_unit_test(test_state_liveness_hold),
	    cmocka_unit_test(test_set_no_probes),
	    cmocka_unit_test(test_set_startup_gates),
	    cmocka_unit_test(test_set_readiness_only),
	    cmocka_unit_test(test_set_bad_input),
	};
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
