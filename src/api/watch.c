/*
 * watch.c - watch streams: `?watch=true` answers with newline-terminated
 * JSON events ({"type":"ADDED","object":{...}}) over a chunked response that
 * stays open until the client goes, timeoutSeconds passes, or the server
 * stops.
 *
 * No thread per watch: a watcher lives on the worker base that accepted it.
 * The store calls wf__on_store_event from its own threads; that only queues
 * a reference to the shared event and activates the watcher's wake event.
 * The worker then filters and writes. Each event's object text is shared;
 * parsed forms needed for selectors and Tables are cached on the event once,
 * for every watcher.
 *
 * Selector semantics follow Kubernetes: an object that starts matching is
 * ADDED, one that stops matching is DELETED.
 */
#include "api/api_internal.h"
#include "api/filter.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/http.h>
#include <stdio.h>
#include <string.h>

#define WF_WATCH_QUEUE_MAX 200000
#define WF_WATCH_OUTBUF_MAX (64 * 1024 * 1024)
#define WF_BOOKMARK_INTERVAL_S 10

struct wf_watcher {
	wf_worker *worker;
	struct evhttp_request *req;
	struct evhttp_connection *conn;
	struct event *wake;
	struct event *timeout;
	struct event *bookmark;
	wf_watch *sw;
	const wf_kind *kind;
	wf_filter filter;
	bool table;
	int64_t progress_rev;
	bool sent_columns;

	pthread_mutex_t mu; /* guards q, qn, qcap, ended, overflow */
	wf_store_event **q;
	size_t qn, qcap;
	bool ended;
	bool overflow;

	wf_watcher *prev, *next; /* worker's list; touched on the worker thread only */
};

/* ---- event cache shared by all watchers ------------------------------------- */

static void wf__cache_free(void *p)
{
	json_decref(p);
}

/* Parsed new (slot 0) or previous (slot 1) value of an event, cached. */
static const json_t *wf__event_obj(wf_store_event *ev, int slot)
{
	json_t *cur = __atomic_load_n((json_t **)&ev->cache[slot], __ATOMIC_ACQUIRE);
	if (cur)
		return cur;
	json_t *o = slot == 0 ? wf_obj_decode(ev->value, ev->value_len, ev->rev)
			      : (ev->prev_value ? json_loadb(ev->prev_value, ev->prev_len, 0, NULL)
						: NULL);
	if (!o)
		return NULL;
	void *expected = NULL;
	if (!__atomic_compare_exchange_n(&ev->cache[slot], &expected, o, false, __ATOMIC_ACQ_REL,
					 __ATOMIC_ACQUIRE)) {
		json_decref(o);
		return expected;
	}
	ev->cache_free = wf__cache_free;
	return o;
}

/* ---- writing ------------------------------------------------------------------ */

static void wf__send(wf_watcher *w, const char *type, wf_store_event *ev, const json_t *obj)
{
	struct evbuffer *b = evbuffer_new();
	if (w->table) {
		json_t *t = wf_table_new(w->kind, !w->sent_columns);
		w->sent_columns = true;
		wf_table_add_row(t, w->kind, obj, false, time(NULL));
		json_t *e = json_object();
		json_object_set_new(e, "type", json_string(type));
		json_object_set_new(e, "object", t);
		char *s = json_dumps(e, JSON_COMPACT);
		json_decref(e);
		evbuffer_add_printf(b, "%s\n", s);
		free(s);
	} else {
		evbuffer_add_printf(b, "{\"type\":\"%s\",\"object\":", type);
		size_t len;
		char *text = wf_obj_text_with_rv(ev->value, ev->value_len, ev->rev, &len);
		evbuffer_add(b, text, len);
		free(text);
		evbuffer_add(b, "}\n", 2);
	}
	evhttp_send_reply_chunk(w->req, b);
	evbuffer_free(b);
}

static void wf__send_raw(wf_watcher *w, const char *line)
{
	struct evbuffer *b = evbuffer_new();
	evbuffer_add_printf(b, "%s\n", line);
	evhttp_send_reply_chunk(w->req, b);
	evbuffer_free(b);
}

static void wf__process(wf_watcher *w, wf_store_event *ev)
{
	if (ev->rev > w->progress_rev)
		w->progress_rev = ev->rev;
	bool filtered = !wf_filter_empty(&w->filter);
	const json_t *obj = NULL;
	if (filtered || w->table)
		obj = wf__event_obj(ev, 0);
	if ((filtered || w->table) && !obj)
		return;
	if (ev->type == WF_EVENT_DELETE) {
		if (!filtered || wf_filter_matches(&w->filter, obj))
			wf__send(w, "DELETED", ev, obj);
		return;
	}
	bool now = !filtered || wf_filter_matches(&w->filter, obj);
	bool before;
	if (!ev->prev_value)
		before = false;
	else if (!filtered)
		before = true;
	else
		before = wf_filter_matches(&w->filter, wf__event_obj(ev, 1));
	if (now && before)
		wf__send(w, "MODIFIED", ev, obj);
	else if (now)
		wf__send(w, "ADDED", ev, obj);
	else if (before)
		wf__send(w, "DELETED", ev, obj);
}

/* ---- lifecycle -------------------------------------------------------------- */

static void wf__watcher_free(wf_watcher *w)
{
	if (w->sw)
		wf_store_unwatch(w->sw);
	w->sw = NULL;
	if (w->wake)
		event_free(w->wake);
	if (w->timeout)
		event_free(w->timeout);
	if (w->bookmark)
		event_free(w->bookmark);
	for (size_t i = 0; i < w->qn; i++)
		wf_store_event_unref(w->q[i]);
	free(w->q);
	wf_filter_free(&w->filter);
	pthread_mutex_destroy(&w->mu);
	if (w->prev)
		w->prev->next = w->next;
	else if (w->worker->watchers == w)
		w->worker->watchers = w->next;
	if (w->next)
		w->next->prev = w->prev;
	free(w);
}

static void wf__on_close(struct evhttp_connection *conn, void *arg)
{
	wf_watcher *w = arg;
	(void)conn;
	/* When the client goes mid-stream, libevent detaches the unfinished
	 * request from the connection and leaves freeing it to us; a request
	 * still attached is freed with its connection. */
	if (w->req && !evhttp_request_get_connection(w->req))
		evhttp_request_free(w->req);
	w->req = NULL;
	wf__watcher_free(w);
}

/* End the stream from our side. */
static void wf__end(wf_watcher *w)
{
	evhttp_connection_set_closecb(w->conn, NULL, NULL);
	if (w->req)
		evhttp_send_reply_end(w->req);
	w->req = NULL;
	wf__watcher_free(w);
}

static void wf__on_wake(evutil_socket_t fd, short what, void *arg)
{
	wf_watcher *w = arg;
	pthread_mutex_lock(&w->mu);
	wf_store_event **q = w->q;
	size_t qn = w->qn;
	bool ended = w->ended, overflow = w->overflow;
	w->q = NULL;
	w->qn = w->qcap = 0;
	pthread_mutex_unlock(&w->mu);
	for (size_t i = 0; i < qn; i++) {
		if (!overflow)
			wf__process(w, q[i]);
		wf_store_event_unref(q[i]);
	}
	free(q);
	struct bufferevent *bev = evhttp_connection_get_bufferevent(w->conn);
	bool slow = bev && evbuffer_get_length(bufferevent_get_output(bev)) > WF_WATCH_OUTBUF_MAX;
	if (ended || overflow || slow)
		wf__end(w);
}

static void wf__on_timeout(evutil_socket_t fd, short what, void *arg)
{
	wf__end(arg);
}

static void wf__on_bookmark(evutil_socket_t fd, short what, void *arg)
{
	wf_watcher *w = arg;
	char line[256];
	snprintf(line, sizeof line,
		 "{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"%s\",\"apiVersion\":\"%s\","
		 "\"metadata\":{\"resourceVersion\":\"%lld\"}}}",
		 w->kind->kind, wf_kind_api_version(w->kind), (long long)w->progress_rev);
	wf__send_raw(w, line);
}

/* Store thread (or the handler, for the backlog): queue and wake. */
static void wf__on_store_event(void *ctx, wf_store_event *ev)
{
	wf_watcher *w = ctx;
	pthread_mutex_lock(&w->mu);
	if (!ev) {
		w->ended = true;
	} else if (w->qn >= WF_WATCH_QUEUE_MAX) {
		w->overflow = true;
	} else {
		if (w->qn == w->qcap) {
			w->qcap = w->qcap ? w->qcap * 2 : 16;
			w->q = wf_xrealloc(w->q, w->qcap * sizeof *w->q);
		}
		w->q[w->qn++] = wf_store_event_ref(ev);
	}
	event_active(w->wake, EV_READ, 0);
	pthread_mutex_unlock(&w->mu);
}

/* Initial ADDED events for a watch without a resourceVersion. */
typedef struct wf__initial_ctx {
	wf_watcher *w;
} wf__initial_ctx;

static int wf__initial_item(void *ctx, const wf_kv *kv)
{
	wf_watcher *w = ((wf__initial_ctx *)ctx)->w;
	wf_store_event ev = {.type = WF_EVENT_PUT,
			     .rev = kv->mod_rev,
			     .key = kv->key,
			     .value = kv->value,
			     .value_len = kv->value_len};
	json_t *obj = NULL;
	if (!wf_filter_empty(&w->filter) || w->table) {
		obj = wf_obj_decode(kv->value, kv->value_len, kv->mod_rev);
		if (!obj || !wf_filter_matches(&w->filter, obj)) {
			json_decref(obj);
			return 0;
		}
	}
	wf__send(w, "ADDED", &ev, obj);
	json_decref(obj);
	return 0;
}

static void wf__reply_expired(wf_req *r, const char *msg)
{
	char *st = wf_status_text(410, "Expired", msg);
	char *line = wf_xasprintf("{\"type\":\"ERROR\",\"object\":%s}\n", st);
	wf_reply_raw(r, 200, "application/json", line, strlen(line));
	free(line);
	free(st);
}

void wf_handle_watch(wf_req *r, const wf_target *t)
{
	wf_err err = {0};
	wf_watcher *w = wf_xcalloc(1, sizeof *w);
	if (wf_filter_init(&w->filter, t->kind, r, &err) < 0) {
		free(w);
		wf_reply_err(r, &err, NULL, NULL);
		return;
	}
	w->worker = r->worker;
	w->kind = t->kind;
	w->table = wf_req_wants_table(r);
	pthread_mutex_init(&w->mu, NULL);

	const char *rvq = wf_req_query(r, "resourceVersion");
	int64_t from = -1; /* -1: start with the current state */
	if (rvq && rvq[0] && strcmp(rvq, "0")) {
		char *end;
		long long v = strtoll(rvq, &end, 10);
		if (*end || v < 0) {
			wf_filter_free(&w->filter);
			pthread_mutex_destroy(&w->mu);
			free(w);
			wf_reply_status(r, 400, "BadRequest", "invalid resourceVersion", NULL);
			return;
		}
		from = v;
	}
	long long timeout = -1;
	const char *ts = wf_req_query(r, "timeoutSeconds");
	if (ts) {
		char *end;
		timeout = strtoll(ts, &end, 10);
		if (*end || timeout < 0)
			timeout = -1;
	}
	const char *ns = t->ns ? t->ns : (t->kind->namespaced ? w->filter.ns : NULL);
	char *prefix = wf_registry_prefix(t->kind, ns);
	if (from >= 0 && from < wf_store_compacted(r->api->store)) {
		char msg[160];
		snprintf(msg, sizeof msg, "too old resource version: %lld (%lld)", (long long)from,
			 (long long)wf_store_compacted(r->api->store));
		wf__reply_expired(r, msg);
		goto fail;
	}

	w->req = r->ev;
	w->conn = evhttp_request_get_connection(r->ev);
	w->wake = event_new(r->worker->base, -1, 0, wf__on_wake, w);
	struct evkeyvalq *h = evhttp_request_get_output_headers(r->ev);
	evhttp_add_header(h, "Content-Type", "application/json");
	evhttp_add_header(h, "Cache-Control", "no-cache, private");
	evhttp_send_reply_start(r->ev, 200, "OK");
	r->replied = true;
	evhttp_connection_set_closecb(w->conn, wf__on_close, w);
	w->next = r->worker->watchers;
	if (w->next)
		w->next->prev = w;
	r->worker->watchers = w;

	if (from < 0) {
		wf__initial_ctx ic = {.w = w};
		int64_t rev = 0;
		if (wf_store_range(r->api->store, prefix, NULL, 0, wf__initial_item, &ic, &rev, NULL,
				   &err) < 0) {
			wf__end(w);
			free(prefix);
			return;
		}
		from = rev;
	}
	w->progress_rev = from;
	if (wf_store_watch(r->api->store, prefix, from, wf__on_store_event, w, &w->sw, &err) < 0) {
		char *st = wf_status_text(err.code == WF_ECOMPACTED ? 410 : 500,
					  err.code == WF_ECOMPACTED ? "Expired" : "InternalError",
					  err.msg);
		char *line = wf_xasprintf("{\"type\":\"ERROR\",\"object\":%s}", st);
		wf__send_raw(w, line);
		free(line);
		free(st);
		wf__end(w);
		free(prefix);
		return;
	}
	if (timeout >= 0) {
		w->timeout = evtimer_new(r->worker->base, wf__on_timeout, w);
		struct timeval tv = {.tv_sec = timeout};
		evtimer_add(w->timeout, &tv);
	}
	if (wf_req_query_bool(r, "allowWatchBookmarks")) {
		w->bookmark = event_new(r->worker->base, -1, EV_PERSIST, wf__on_bookmark, w);
		struct timeval tv = {.tv_sec = WF_BOOKMARK_INTERVAL_S};
		event_add(w->bookmark, &tv);
	}
	free(prefix);
	return;
fail:
	free(prefix);
	wf_filter_free(&w->filter);
	pthread_mutex_destroy(&w->mu);
	free(w);
}

void wf_watch_release_all(wf_worker *worker)
{
	while (worker->watchers) {
		wf_watcher *w = worker->watchers;
		evhttp_connection_set_closecb(w->conn, NULL, NULL);
		w->req = NULL;
		wf__watcher_free(w);
	}
}
