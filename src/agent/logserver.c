/*
 * logserver.c - the agent's HTTP endpoint for container logs, the part of
 * kubelet's API that `kubectl logs` reaches through the API server:
 *   GET /containerLogs/<namespace>/<pod>/<container>?follow=&tailLines=
 *       &previous=&timestamps=&limitBytes=&sinceSeconds=&sinceTime=
 * One libevent thread; a follow stream polls its file every 200 ms and ends
 * when the container has exited and everything was sent.
 */
#include "agent/agent_internal.h"
#include "agent/logs.h"
#include "lib/wf_time.h"

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <stdio.h>
#include <string.h>
#include <sys/queue.h>
#include <unistd.h>

typedef struct wf__logsrv {
	struct event_base *base;
	struct evhttp *http;
	pthread_t thread;
} wf__logsrv;

static wf__logsrv *wf__srv;

typedef struct wf__follow {
	wf_agent *a;
	struct evhttp_request *req;
	struct event *timer;
	char *path;   /* log file */
	char *dir;    /* attempt dir, for exit.json */
	wf_log_cursor cur;
	bool timestamps;
} wf__follow;

static void wf__reply(struct evhttp_request *req, int code, const char *msg)
{
	struct evbuffer *b = evbuffer_new();
	evbuffer_add_printf(b, "%s", msg);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
			  "text/plain; charset=utf-8");
	evhttp_send_reply(req, code, NULL, b);
	evbuffer_free(b);
}

static void wf__follow_free(wf__follow *f)
{
	event_free(f->timer);
	free(f->path);
	free(f->dir);
	free(f);
}

static void wf__follow_closed(struct evhttp_connection *c, void *arg)
{
	wf__follow *f = arg;
	if (f->req && !evhttp_request_get_connection(f->req))
		evhttp_request_free(f->req);
	wf__follow_free(f);
}

static void wf__follow_tick(evutil_socket_t fd, short what, void *arg)
{
	wf__follow *f = arg;
	wf_buf out;
	wf_buf_init(&out);
	wf_log_follow(f->path, &f->cur, f->timestamps, &out, NULL);
	if (out.len) {
		struct evbuffer *b = evbuffer_new();
		evbuffer_add(b, out.data, out.len);
		evhttp_send_reply_chunk(f->req, b);
		evbuffer_free(b);
	}
	wf_buf_free(&out);
	wf_shim_state st;
	if (wf_shim_read_state(f->dir, &st, NULL) == 0 && st.exited) {
		/* Whatever the shim wrote before exiting has been sent above. */
		wf_buf tail;
		wf_buf_init(&tail);
		wf_log_follow(f->path, &f->cur, f->timestamps, &tail, NULL);
		if (tail.len) {
			struct evbuffer *b = evbuffer_new();
			evbuffer_add(b, tail.data, tail.len);
			evhttp_send_reply_chunk(f->req, b);
			evbuffer_free(b);
		}
		wf_buf_free(&tail);
		evhttp_connection_set_closecb(evhttp_request_get_connection(f->req), NULL, NULL);
		evhttp_send_reply_end(f->req);
		wf__follow_free(f);
		return;
	}
	struct timeval tv = {0, 200000};
	evtimer_add(f->timer, &tv);
}

static int64_t wf__qint(struct evkeyvalq *q, const char *k, int64_t dflt)
{
	const char *v = evhttp_find_header(q, k);
	if (!v || !v[0])
		return dflt;
	char *end;
	long long x = strtoll(v, &end, 10);
	return *end ? dflt : x;
}

static bool wf__qbool(struct evkeyvalq *q, const char *k)
{
	const char *v = evhttp_find_header(q, k);
	return v && (!strcmp(v, "true") || !strcmp(v, "1") || !strcmp(v, "True"));
}

static void wf__on_request(struct evhttp_request *req, void *arg)
{
	wf_agent *a = arg;
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = evhttp_uri_get_path(uri);
	char ns[256], pod[256], ctr[256];
	if (!path || sscanf(path, "/containerLogs/%255[^/]/%255[^/]/%255[^/]", ns, pod, ctr) != 3) {
		wf__reply(req, 404, "not found\n");
		return;
	}
	struct evkeyvalq q;
	TAILQ_INIT(&q);
	const char *qs = evhttp_uri_get_query(uri);
	if (qs)
		evhttp_parse_query_str(qs, &q);
	bool previous = wf__qbool(&q, "previous");
	char uid[64] = "";
	int attempt = -2;
	pthread_mutex_lock(&a->mu);
	for (wf_pod_rt *r = a->rts; r; r = r->next) {
		if (strcmp(r->ns, ns) || strcmp(r->name, pod))
			continue;
		for (size_t i = 0; i < r->nctrs; i++) {
			if (!strcmp(r->ctrs[i].name, ctr)) {
				snprintf(uid, sizeof uid, "%s", r->uid);
				attempt = r->ctrs[i].attempt - (previous ? 1 : 0);
			}
		}
	}
	pthread_mutex_unlock(&a->mu);
	char msg[800];
	if (!uid[0]) {
		snprintf(msg, sizeof msg, "container \"%s\" in pod \"%s\" is not known on this node\n",
			 ctr, pod);
		wf__reply(req, 404, msg);
		goto out;
	}
	if (attempt < 0) {
		if (previous)
			snprintf(msg, sizeof msg,
				 "previous terminated container \"%s\" in pod \"%s\" not found\n", ctr, pod);
		else
			snprintf(msg, sizeof msg,
				 "container \"%s\" in pod \"%s\" is waiting to start\n", ctr, pod);
		wf__reply(req, 400, msg);
		goto out;
	}
	wf_log_opts o = {.tail_lines = wf__qint(&q, "tailLines", -1),
			 .timestamps = wf__qbool(&q, "timestamps"),
			 .limit_bytes = wf__qint(&q, "limitBytes", 0)};
	int64_t since = wf__qint(&q, "sinceSeconds", 0);
	if (since > 0)
		o.since_unix = time(NULL) - since;
	const char *st = evhttp_find_header(&q, "sinceTime");
	time_t t;
	if (st && wf_time_parse_rfc3339(st, &t) == 0)
		o.since_unix = t;
	char *log = wf_agent_log_path(a, uid, ctr, attempt);
	wf_buf out;
	wf_buf_init(&out);
	wf_log_cursor cur = {0};
	wf_err err = {0};
	int rc = wf_log_read_cursor(log, &o, &out, &cur, &err);
	if (rc < 0 && rc != -WF_ENOENT) {
		wf__reply(req, 500, err.msg);
		wf_buf_free(&out);
		free(log);
		goto out;
	}
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
			  "text/plain; charset=utf-8");
	if (!wf__qbool(&q, "follow") || previous) {
		struct evbuffer *b = evbuffer_new();
		evbuffer_add(b, out.data ? out.data : "", out.len);
		evhttp_send_reply(req, 200, "OK", b);
		evbuffer_free(b);
		wf_buf_free(&out);
		free(log);
		goto out;
	}
	evhttp_send_reply_start(req, 200, "OK");
	if (out.len) {
		struct evbuffer *b = evbuffer_new();
		evbuffer_add(b, out.data, out.len);
		evhttp_send_reply_chunk(req, b);
		evbuffer_free(b);
	}
	wf_buf_free(&out);
	wf__follow *f = wf_xcalloc(1, sizeof *f);
	f->a = a;
	f->req = req;
	f->path = log;
	f->dir = wf_agent_attempt_dir(a, uid, ctr, attempt);
	f->cur = cur;
	f->timestamps = o.timestamps;
	f->timer = evtimer_new(wf__srv->base, wf__follow_tick, f);
	evhttp_connection_set_closecb(evhttp_request_get_connection(req), wf__follow_closed, f);
	struct timeval tv = {0, 200000};
	evtimer_add(f->timer, &tv);
out:
	evhttp_clear_headers(&q);
}

static void *wf__logsrv_main(void *arg)
{
	event_base_loop(wf__srv->base, EVLOOP_NO_EXIT_ON_EMPTY);
	return NULL;
}

int wf_agent_logserver_start(wf_agent *a, wf_err *err)
{
	wf__srv = wf_xcalloc(1, sizeof *wf__srv);
	wf__srv->base = event_base_new();
	wf__srv->http = evhttp_new(wf__srv->base);
	evhttp_set_gencb(wf__srv->http, wf__on_request, a);
	evhttp_set_allowed_methods(wf__srv->http, EVHTTP_REQ_GET);
	if (evhttp_bind_socket(wf__srv->http, a->o.node_ip, (ev_uint16_t)a->o.port) < 0) {
		evhttp_free(wf__srv->http);
		event_base_free(wf__srv->base);
		free(wf__srv);
		wf__srv = NULL;
		return wf_err_set(err, WF_EIO, "cannot listen on %s:%d", a->o.node_ip, a->o.port);
	}
	pthread_create(&wf__srv->thread, NULL, wf__logsrv_main, a);
	return 0;
}

void wf_agent_logserver_stop(wf_agent *a)
{
	if (!wf__srv)
		return;
	event_base_loopexit(wf__srv->base, NULL);
	pthread_join(wf__srv->thread, NULL);
	evhttp_free(wf__srv->http);
	event_base_free(wf__srv->base);
	free(wf__srv);
	wf__srv = NULL;
}
