/*
 * http.c - the HTTP front: one listening socket shared by N worker threads,
 * each running a libevent base with its own evhttp; request wrapping, reply
 * helpers, and the maintenance thread (compaction, namespace cleanup).
 *
 * Handlers run on the worker that accepted the connection and may block on
 * the store (a write waits for its group commit); other workers keep serving.
 */
#include "api/api_internal.h"
#include "api/field_validation.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>
#include <sys/queue.h>
#include <event2/thread.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* ---- request wrapper -------------------------------------------------- */

const char *wf_req_query(const wf_req *r, const char *name)
{
	return r->query ? evhttp_find_header(r->query, name) : NULL;
}

bool wf_req_query_bool(const wf_req *r, const char *name)
{
	const char *v = wf_req_query(r, name);
	return v && (!strcmp(v, "true") || !strcmp(v, "True") || !strcmp(v, "1"));
}

bool wf_req_wants_table(const wf_req *r)
{
	return r->accept && strstr(r->accept, "as=Table") && strstr(r->accept, "g=meta.k8s.io");
}

void wf_reply_raw(wf_req *r, int code, const char *ctype, const char *body, size_t len)
{
	if (r->replied)
		return;
	r->replied = true;
	struct evkeyvalq *h = evhttp_request_get_output_headers(r->ev);
	if (ctype)
		evhttp_add_header(h, "Content-Type", ctype);
	evhttp_add_header(h, "Cache-Control", "no-cache, private");
	struct evbuffer *b = evbuffer_new();
	if (len)
		evbuffer_add(b, body, len);
	evhttp_send_reply(r->ev, code, NULL, b);
	evbuffer_free(b);
}

void wf_reply_add_warning(wf_req *r, const char *text)
{
	if (r->replied || !r->ev)
		return;
	char *v = wf_fv_warning_value(text);
	evhttp_add_header(evhttp_request_get_output_headers(r->ev), "Warning", v);
	free(v);
}

void wf_reply_text(wf_req *r, int code, const char *ctype, const char *body)
{
	wf_reply_raw(r, code, ctype, body, strlen(body));
}

void wf_reply_json(wf_req *r, int code, json_t *obj)
{
	char *s = json_dumps(obj, JSON_COMPACT);
	json_decref(obj);
	if (!s) {
		wf_reply_status(r, 500, "InternalError", "failed to encode the response", NULL);
		return;
	}
	wf_reply_raw(r, code, "application/json", s, strlen(s));
	free(s);
}

/* ---- workers ------------------------------------------------------------ */

static wf_method wf__method(enum evhttp_cmd_type t)
{
	switch (t) {
	case EVHTTP_REQ_GET:
		return WF_GET;
	case EVHTTP_REQ_POST:
		return WF_POST;
	case EVHTTP_REQ_PUT:
		return WF_PUT;
	case EVHTTP_REQ_PATCH:
		return WF_PATCH;
	case EVHTTP_REQ_DELETE:
		return WF_DELETE;
	case EVHTTP_REQ_HEAD:
		return WF_HEAD;
	case EVHTTP_REQ_OPTIONS:
		return WF_OPTIONS;
	default:
		return WF_OTHER;
	}
}

static void wf__on_request(struct evhttp_request *ev, void *arg)
{
	wf_worker *w = arg;
	wf_req r = {.api = w->api, .worker = w, .ev = ev};
	r.method = wf__method(evhttp_request_get_command(ev));
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(ev);
	const char *raw_path = uri ? evhttp_uri_get_path(uri) : NULL;
	size_t path_len = 0;
	r.path = evhttp_uridecode(raw_path ? raw_path : "/", 0, &path_len);
	if (r.path && strlen(r.path) != path_len) {
		/* A %00 would cut the name short: ".../pods/a%00b" must not reach pod "a". */
		free(r.path);
		r.path = NULL;
	}
	struct evkeyvalq query;
	TAILQ_INIT(&query);
	const char *q = uri ? evhttp_uri_get_query(uri) : NULL;
	bool query_ok = true;
	if (q && q[0]) {
		query_ok = !strstr(q, "%00") && evhttp_parse_query_str(q, &query) == 0;
		r.query = &query;
	}
	struct evkeyvalq *in = evhttp_request_get_input_headers(ev);
	r.content_type = evhttp_find_header(in, "Content-Type");
	r.accept = evhttp_find_header(in, "Accept");

	struct evbuffer *body = evhttp_request_get_input_buffer(ev);
	size_t blen = evbuffer_get_length(body);
	char *bcopy = NULL;
	if (blen) {
		bcopy = wf_xmalloc(blen + 1);
		evbuffer_copyout(body, bcopy, blen);
		bcopy[blen] = '\0';
		r.body = bcopy;
		r.body_len = blen;
	}

	if (!r.path) {
		wf_reply_status(&r, 400, "BadRequest", "malformed request path", NULL);
	} else if (!query_ok) {
		wf_reply_status(&r, 400, "BadRequest", "malformed query string", NULL);
	} else if (blen > WF_MAX_BODY) {
		char msg[96];
		snprintf(msg, sizeof msg, "Request entity too large: limit is %d", WF_MAX_BODY);
		wf_reply_status(&r, 413, "RequestEntityTooLarge", msg, NULL);
	} else {
		wf_route(&r); /* a watch that takes the request over marks it replied */
	}
	if (!r.replied && r.ev)
		wf_reply_status(&r, 500, "InternalError", "no response was produced", NULL);
	if (r.query)
		evhttp_clear_headers(&query);
	free(r.path);
	free(bcopy);
}

static void *wf__worker_main(void *arg)
{
	wf_worker *w = arg;
	event_base_loop(w->base, EVLOOP_NO_EXIT_ON_EMPTY);
	return NULL;
}

/* ---- maintenance --------------------------------------------------------- */

typedef struct wf__ns_acc {
	char *prefix;
	char **names;
	size_t n;
} wf__ns_acc;

static int wf__collect_terminating(void *ctx, const wf_kv *kv)
{
	wf__ns_acc *a = ctx;
	if (strstr(kv->value, "\"deletionTimestamp\"")) {
		a->names = wf_xrealloc(a->names, (a->n + 1) * sizeof *a->names);
		a->names[a->n++] = wf_xstrdup(kv->key + strlen(a->prefix));
	}
	return 0;
}

static void wf__maint_tick(wf_api *api, time_t *last_compact)
{
	time_t now = time(NULL);
	if (now - *last_compact >= api->compact_interval_s) {
		*last_compact = now;
		int64_t rev = wf_store_revision(api->store) - api->compact_retain;
		if (rev > wf_store_compacted(api->store)) {
			wf_err err = {0};
			if (wf_store_compact(api->store, rev, &err) < 0)
				fprintf(stderr, "wharf: compaction failed: %s\n", err.msg);
		}
	}
	/* Namespaces stuck in Terminating (objects with finalizers) are retried. */
	const wf_kind *nsk = wf_registry_find("", "v1", "namespaces");
	wf__ns_acc acc = {.prefix = wf_registry_prefix(nsk, NULL)};
	int64_t rev;
	wf_store_range(api->store, acc.prefix, NULL, 0, wf__collect_terminating, &acc, &rev, NULL,
		       NULL);
	for (size_t i = 0; i < acc.n; i++) {
		wf_namespace_finalize(api, acc.names[i]);
		free(acc.names[i]);
	}
	free(acc.names);
	free(acc.prefix);
}

static void *wf__maint_main(void *arg)
{
	wf_api *api = arg;
	time_t last_compact = time(NULL);
	pthread_mutex_lock(&api->maint_mu);
	while (!api->stopping) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 1;
		pthread_cond_timedwait(&api->maint_cv, &api->maint_mu, &ts);
		if (api->stopping)
			break;
		pthread_mutex_unlock(&api->maint_mu);
		wf__maint_tick(api, &last_compact);
		pthread_mutex_lock(&api->maint_mu);
	}
	pthread_mutex_unlock(&api->maint_mu);
	return NULL;
}

/* ---- lifecycle ------------------------------------------------------------ */

static int wf__listen(const char *addr, int *fd_out, int *port_out, char *host, size_t hostlen,
		      wf_err *err)
{
	char buf[128];
	snprintf(buf, sizeof buf, "%s", addr);
	char *colon = strrchr(buf, ':');
	if (!colon)
		return wf_err_set(err, WF_EINVAL, "--listen must be ADDR:PORT, got \"%s\"", addr);
	*colon = '\0';
	char *end;
	long port = strtol(colon + 1, &end, 10);
	if (*end || port < 0 || port > 65535)
		return wf_err_set(err, WF_EINVAL, "invalid port in \"%s\"", addr);
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	if (inet_pton(AF_INET, buf[0] ? buf : "0.0.0.0", &sin.sin_addr) != 1)
		return wf_err_set(err, WF_EINVAL, "invalid IPv4 address in \"%s\"", addr);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return wf_err_set(err, WF_EIO, "socket: %s", strerror(errno));
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(fd, (struct sockaddr *)&sin, sizeof sin) < 0 || listen(fd, 1024) < 0) {
		int e = errno;
		close(fd);
		return wf_err_set(err, WF_EIO, "cannot listen on %s: %s", addr, strerror(e));
	}
	socklen_t sl = sizeof sin;
	getsockname(fd, (struct sockaddr *)&sin, &sl);
	*fd_out = fd;
	*port_out = ntohs(sin.sin_port);
	snprintf(host, hostlen, "%s", buf[0] ? buf : "127.0.0.1");
	return 0;
}

int wf_api_start(const wf_api_options *opts, wf_api **out, wf_err *err)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, (void (*)(void))evthread_use_pthreads);

	wf_api *api = wf_xcalloc(1, sizeof *api);
	api->store = opts->store;
	api->nworkers = opts->workers > 0 ? opts->workers : 16;
	api->compact_interval_s = opts->compact_interval_s > 0 ? opts->compact_interval_s : 300;
	api->compact_retain = opts->compact_retain > 0 ? opts->compact_retain : 10000;
	api->started = time(NULL);
	pthread_mutex_init(&api->maint_mu, NULL);
	pthread_cond_init(&api->maint_cv, NULL);
	int rc = wf__listen(opts->listen ? opts->listen : "127.0.0.1:6443", &api->listen_fd,
			    &api->port, api->host, sizeof api->host, err);
	if (rc < 0)
		goto fail_listen;
	rc = wf_owner_index_start(api->store, &api->owners, err);
	if (rc < 0)
		goto fail_owners;

	api->workers = wf_xcalloc((size_t)api->nworkers, sizeof *api->workers);
	for (int i = 0; i < api->nworkers; i++) {
		wf_worker *w = &api->workers[i];
		w->api = api;
		w->index = i;
		w->base = event_base_new();
		w->http = evhttp_new(w->base);
		evhttp_set_allowed_methods(w->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST |
							    EVHTTP_REQ_PUT | EVHTTP_REQ_PATCH |
							    EVHTTP_REQ_DELETE | EVHTTP_REQ_HEAD |
							    EVHTTP_REQ_OPTIONS);
		/* Bodies over 3 MiB get a Status from the handler; evhttp's own
		 * limit only stops absurd uploads. */
		evhttp_set_max_body_size(w->http, 8 * 1024 * 1024);
		evhttp_set_max_headers_size(w->http, 64 * 1024);
		evhttp_set_timeout(w->http, 3600);
		evhttp_set_gencb(w->http, wf__on_request, w);
		if (!evhttp_accept_socket_with_handle(w->http, api->listen_fd)) {
			rc = wf_err_set(err, WF_EIO, "evhttp cannot accept on the listener");
			goto fail_workers;
		}
	}
	for (int i = 0; i < api->nworkers; i++)
		pthread_create(&api->workers[i].thread, NULL, wf__worker_main, &api->workers[i]);
	pthread_create(&api->maint_thread, NULL, wf__maint_main, api);
	*out = api;
	return 0;

fail_workers:
	for (int i = 0; i < api->nworkers; i++) {
		if (api->workers[i].http)
			evhttp_free(api->workers[i].http);
		if (api->workers[i].base)
			event_base_free(api->workers[i].base);
	}
	free(api->workers);
	wf_owner_index_stop(api->owners);
fail_owners:
	close(api->listen_fd);
fail_listen:
	pthread_mutex_destroy(&api->maint_mu);
	pthread_cond_destroy(&api->maint_cv);
	free(api);
	return rc;
}

int wf_api_port(const wf_api *api)
{
	return api->port;
}

void wf_api_stop(wf_api *api)
{
	pthread_mutex_lock(&api->maint_mu);
	api->stopping = true;
	pthread_cond_signal(&api->maint_cv);
	pthread_mutex_unlock(&api->maint_mu);
	pthread_join(api->maint_thread, NULL);
	for (int i = 0; i < api->nworkers; i++)
		event_base_loopexit(api->workers[i].base, NULL);
	for (int i = 0; i < api->nworkers; i++)
		pthread_join(api->workers[i].thread, NULL);
	for (int i = 0; i < api->nworkers; i++) {
		wf_watch_release_all(&api->workers[i]);
		evhttp_free(api->workers[i].http);
		event_base_free(api->workers[i].base);
	}
	close(api->listen_fd);
	free(api->workers);
	wf_owner_index_stop(api->owners);
	pthread_mutex_destroy(&api->maint_mu);
	pthread_cond_destroy(&api->maint_cv);
	free(api);
}
