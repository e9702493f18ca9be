/*
 * pod_log.c - GET pods/<name>/log: the API server proxies the request to
 * the agent that runs the pod (its Node's InternalIP and
 * daemonEndpoints.kubeletEndpoint.Port), as kube-apiserver does with the
 * kubelet, streaming the answer back; `follow=true` stays open until the
 * agent ends the stream or the client goes.
 */
#include "api/api_internal.h"

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <stdio.h>
#include <string.h>

typedef struct wf__logproxy {
	struct evhttp_request *client;	/* NULL once the client went away */
	struct evhttp_connection *client_conn;
	struct evhttp_connection *up;
	struct evhttp_request *up_req;
	int code;
	bool started;
	wf_buf err;
} wf__logproxy;

static void wf__lp_free(wf__logproxy *p)
{
	wf_buf_free(&p->err);
	free(p);
}

static void wf__lp_client_closed(struct evhttp_connection *c, void *arg)
{
	wf__logproxy *p = arg;
	if (p->client && !evhttp_request_get_connection(p->client))
		evhttp_request_free(p->client);
	p->client = NULL;
	/* Cancel the upstream request: its callback is not invoked, and the
	 * connection, marked free-on-completion, frees itself. */
	if (p->up_req)
		evhttp_cancel_request(p->up_req);
	p->up_req = NULL;
	p->up = NULL;
	wf__lp_free(p);
}

static int wf__lp_header(struct evhttp_request *up, void *arg)
{
	wf__logproxy *p = arg;
	p->code = evhttp_request_get_response_code(up);
	if (p->code == 200 && p->client) {
		struct evkeyvalq *h = evhttp_request_get_output_headers(p->client);
		evhttp_add_header(h, "Content-Type", "text/plain");
		evhttp_send_reply_start(p->client, 200, "OK");
		p->started = true;
	}
	return 0;
}

static void wf__lp_chunk(struct evhttp_request *up, void *arg)
{
	wf__logproxy *p = arg;
	struct evbuffer *in = evhttp_request_get_input_buffer(up);
	if (p->started && p->client) {
		evhttp_send_reply_chunk(p->client, in);
	} else {
		size_t n = evbuffer_get_length(in);
		if (p->err.len < 4096) {
			char *tmp = wf_xmalloc(n + 1);
			evbuffer_remove(in, tmp, n);
			wf_buf_append(&p->err, tmp, n);
			free(tmp);
		}
	}
	evbuffer_drain(in, evbuffer_get_length(in));
}

static void wf__lp_done(struct evhttp_request *up, void *arg)
{
	wf__logproxy *p = arg;
	p->up_req = NULL;
	evhttp_connection_set_closecb(p->client_conn, NULL, NULL);
	if (p->started) {
		evhttp_send_reply_end(p->client);
	} else {
		wf_req r = {.ev = p->client};
		char msg[4200];
		if (!up || !p->code)
			snprintf(msg, sizeof msg, "the node's agent cannot be reached for logs");
		else
			snprintf(msg, sizeof msg, "%.*s", (int)strcspn(p->err.data ? p->err.data : "", "\n"),
				 p->err.data ? p->err.data : "");
		int code = p->code >= 400 && p->code < 500 ? 400 : 500;
		wf_reply_status(&r, code, code == 400 ? "BadRequest" : "InternalError", msg, NULL);
	}
	/* The upstream connection frees itself on completion. */
	p->up = NULL;
	wf__lp_free(p);
}

static const char *wf__container_names(const json_t *pod, char *buf, size_t len)
{
	size_t off = 0;
	buf[0] = '\0';
	size_t i;
	json_t *c;
	json_array_foreach(wf_json_path(pod, "spec.containers"), i, c)
	{
		const char *n = wf_json_str(c, "name");
		off += (size_t)snprintf(buf + off, off < len ? len - off : 0, "%s%s", i ? " " : "",
					n ? n : "");
	}
	return buf;
}

static bool wf__has_container(const json_t *pod, const char *name)
{
	static const char *const lists[] = {"spec.containers", "spec.initContainers"};
	for (size_t l = 0; l < 2; l++) {
		size_t i;
		json_t *c;
		json_array_foreach(wf_json_path(pod, lists[l]), i, c)
		{
			const char *n = wf_json_str(c, "name");
			if (n && !strcmp(n, name))
				return true;
		}
	}
	return false;
}

void wf_handle_pod_log(wf_req *r, const wf_target *t)
{
	if (r->method != WF_GET) {
		wf_reply_status(r, 405, "MethodNotAllowed",
				"the server does not allow this method on the requested resource", NULL);
		return;
	}
	char *key = wf_registry_key(t->kind, t->ns, t->name);
	json_t *pod = NULL;
	wf_err err = {0};
	int rc = wf_object_get(r->api, key, &pod, NULL, &err);
	free(key);
	if (rc < 0) {
		if (rc == -WF_ENOENT)
			wf_reply_not_found(r, t->kind, t->name);
		else
			wf_reply_err(r, &err, t->kind, t->name);
		return;
	}
	char msg[1024], names[512];
	const char *ctr = wf_req_query(r, "container");
	if (!ctr || !ctr[0]) {
		if (json_array_size(wf_json_path(pod, "spec.containers")) != 1) {
			snprintf(msg, sizeof msg,
				 "a container name must be specified for pod %s, choose one of: [%s]",
				 t->name, wf__container_names(pod, names, sizeof names));
			wf_reply_status(r, 400, "BadRequest", msg, NULL);
			json_decref(pod);
			return;
		}
		ctr = wf_json_str(json_array_get(wf_json_path(pod, "spec.containers"), 0), "name");
	}
	if (!ctr || !wf__has_container(pod, ctr)) {
		snprintf(msg, sizeof msg, "container %s is not valid for pod %s", ctr ? ctr : "",
			 t->name);
		wf_reply_status(r, 400, "BadRequest", msg, NULL);
		json_decref(pod);
		return;
	}
	const char *node = wf_json_path_str(pod, "spec.nodeName");
	if (!node || !node[0]) {
		snprintf(msg, sizeof msg,
			 "container \"%s\" in pod \"%s\" is waiting to start: ContainerCreating", ctr,
			 t->name);
		wf_reply_status(r, 400, "BadRequest", msg, NULL);
		json_decref(pod);
		return;
	}
	const wf_kind *nk = wf_registry_find("", "v1", "nodes");
	char *nkey = wf_registry_key(nk, NULL, node);
	json_t *n = NULL;
	rc = wf_object_get(r->api, nkey, &n, NULL, NULL);
	free(nkey);
	const char *addr = NULL;
	size_t i;
	json_t *a;
	json_array_foreach(wf_json_path(n, "status.addresses"), i, a)
	{
		const char *ty = wf_json_str(a, "type");
		if (ty && !strcmp(ty, "InternalIP"))
			addr = wf_json_str(a, "address");
	}
	json_t *port = wf_json_path(n, "status.daemonEndpoints.kubeletEndpoint.Port");
	if (rc < 0 || !addr || !json_is_integer(port)) {
		snprintf(msg, sizeof msg, "the node %s of pod %s has no agent endpoint for logs", node,
			 t->name);
		wf_reply_status(r, 500, "InternalError", msg, NULL);
		json_decref(pod);
		json_decref(n);
		return;
	}
	/* Forward the query as it came, plus the container. */
	wf_buf path;
	wf_buf_init(&path);
	char *ens = evhttp_encode_uri(t->ns), *epod = evhttp_encode_uri(t->name),
	     *ectr = evhttp_encode_uri(ctr);
	wf_buf_printf(&path, "/containerLogs/%s/%s/%s?", ens, epod, ectr);
	free(ens);
	free(epod);
	free(ectr);
	static const char *const params[] = {"follow",	   "tailLines",	   "previous", "timestamps",
					     "limitBytes", "sinceSeconds", "sinceTime"};
	for (size_t p = 0; p < sizeof params / sizeof params[0]; p++) {
		const char *v = wf_req_query(r, params[p]);
		if (v) {
			char *ev = evhttp_encode_uri(v);
			wf_buf_printf(&path, "%s=%s&", params[p], ev);
			free(ev);
		}
	}
	wf__logproxy *p = wf_xcalloc(1, sizeof *p);
	wf_buf_init(&p->err);
	p->client = r->ev;
	p->client_conn = evhttp_request_get_connection(r->ev);
	p->up = evhttp_connection_base_new(r->worker->base, NULL, addr,
					   (ev_uint16_t)json_integer_value(port));
	evhttp_connection_set_timeout(p->up, 3600);
	evhttp_connection_free_on_completion(p->up);
	p->up_req = evhttp_request_new(wf__lp_done, p);
	evhttp_request_set_header_cb(p->up_req, wf__lp_header);
	evhttp_request_set_chunked_cb(p->up_req, wf__lp_chunk);
	evhttp_add_header(evhttp_request_get_output_headers(p->up_req), "Host", addr);
	evhttp_connection_set_closecb(p->client_conn, wf__lp_client_closed, p);
	r->replied = true;
	if (evhttp_make_request(p->up, p->up_req, EVHTTP_REQ_GET, path.data) < 0) {
		/* make_request frees the request on failure. */
		p->up_req = NULL;
		evhttp_connection_set_closecb(p->client_conn, NULL, NULL);
		r->replied = false;
		wf_reply_status(r, 500, "InternalError", "cannot reach the node's agent for logs", NULL);
		evhttp_connection_free(p->up);
		wf__lp_free(p);
	}
	wf_buf_free(&path);
	json_decref(pod);
	json_decref(n);
}
