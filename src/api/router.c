/*
 * router.c - maps a request path and method to its handler.
 *
 * Resource paths:
 *   /api/v1/<res>[/<name>[/<sub>]]                        cluster-scoped, or all namespaces
 *   /api/v1/namespaces/<ns>/<res>[/<name>[/<sub>]]         namespaced
 *   /apis/<group>/<version>/...                            the same below a group
 * /api/v1/namespaces/<name>[/status|/finalize] is the Namespace object itself.
 */
#include "api/api_internal.h"

#include <string.h>

#define WF_MAX_SEGS 10

static void wf__not_found(wf_req *r)
{
	wf_reply_status(r, 404, "NotFound", "the server could not find the requested resource",
			NULL);
}

static void wf__not_allowed(wf_req *r)
{
	wf_reply_status(r, 405, "MethodNotAllowed",
			"the server does not allow this method on the requested resource", NULL);
}

static size_t wf__split(char *path, char **segs)
{
	size_t n = 0;
	for (char *save = NULL, *s = strtok_r(path, "/", &save); s && n < WF_MAX_SEGS;
	     s = strtok_r(NULL, "/", &save))
		segs[n++] = s;
	return n;
}

static void wf__dispatch(wf_req *r, wf_target *t)
{
	const char *sub = t->subresource;
	if (!t->name) {
		if (sub) {
			wf__not_found(r);
			return;
		}
		switch (r->method) {
		case WF_GET:
		case WF_HEAD:
			if (wf_req_query_bool(r, "watch"))
				wf_handle_watch(r, t);
			else
				wf_handle_list(r, t);
			return;
		case WF_POST:
			if (!t->kind->namespaced || t->ns)
				wf_handle_create(r, t);
			else
				wf__not_allowed(r);
			return;
		case WF_DELETE:
			wf_handle_delete_collection(r, t);
			return;
		default:
			wf__not_allowed(r);
			return;
		}
	}
	if (sub && !strcmp(sub, "binding")) {
		if (strcmp(t->kind->resource, "pods"))
			wf__not_found(r);
		else if (r->method == WF_POST)
			wf_handle_binding(r, t);
		else
			wf__not_allowed(r);
		return;
	}
	if (sub && !strcmp(sub, "log") && !strcmp(t->kind->resource, "pods") && !t->kind->group[0]) {
		wf_handle_pod_log(r, t);
		return;
	}
	if (sub && strcmp(sub, "status")) {
		wf__not_found(r);
		return;
	}
	if (sub && !t->kind->has_status) {
		wf__not_found(r);
		return;
	}
	switch (r->method) {
	case WF_GET:
	case WF_HEAD:
		wf_handle_get(r, t);
		return;
	case WF_PUT:
		wf_handle_update(r, t);
		return;
	case WF_PATCH:
		wf_handle_patch(r, t);
		return;
	case WF_DELETE:
		if (sub)
			wf__not_allowed(r);
		else
			wf_handle_delete(r, t);
		return;
	default:
		wf__not_allowed(r);
		return;
	}
}

/* segs start after the group/version. */
static void wf__route_resource(wf_req *r, const char *group, const char *version, char **segs,
			       size_t n)
{
	wf_target t = {0};
	const wf_kind *k;
	if (n >= 3 && !strcmp(segs[0], "namespaces") &&
	    (k = wf_registry_find(group, version, segs[2])) && k->namespaced) {
		if (n > 5) {
			wf__not_found(r);
			return;
		}
		t.kind = k;
		t.ns = segs[1];
		t.name = n >= 4 ? segs[3] : NULL;
		t.subresource = n >= 5 ? segs[4] : NULL;
	} else if (n >= 1 && (k = wf_registry_find(group, version, segs[0]))) {
		if (n > 3 || (k->namespaced && n > 1)) {
			wf__not_found(r);
			return;
		}
		t.kind = k;
		t.name = n >= 2 ? segs[1] : NULL;
		t.subresource = n >= 3 ? segs[2] : NULL;
	} else {
		wf__not_found(r);
		return;
	}
	wf__dispatch(r, &t);
}

void wf_route(wf_req *r)
{
	const char *p = r->path;
	if (!strcmp(p, "/version") || !strcmp(p, "/version/")) {
		wf_handle_version(r);
		return;
	}
	if (!strncmp(p, "/healthz", 8) || !strncmp(p, "/readyz", 7) || !strncmp(p, "/livez", 6)) {
		wf_reply_text(r, 200, "text/plain; charset=utf-8", "ok");
		return;
	}
	if (!strcmp(p, "/openapi/v2")) {
		/* An empty document: kubectl then skips client-side validation and
		 * sends fieldValidation=Strict, which the server applies
		 * (src/api/field_validation.c). */
		wf_reply_raw(r, 200, "application/octet-stream", "", 0);
		return;
	}
	char *copy = wf_xstrdup(p);
	char *segs[WF_MAX_SEGS];
	size_t n = wf__split(copy, segs);
	if (n >= 1 && !strcmp(segs[0], "api")) {
		if (n == 1)
			wf_handle_api_root(r);
		else if (strcmp(segs[1], "v1"))
			wf__not_found(r);
		else if (n == 2)
			wf_handle_discovery(r, "", "v1");
		else
			wf__route_resource(r, "", "v1", segs + 2, n - 2);
	} else if (n >= 1 && !strcmp(segs[0], "apis")) {
		if (n == 1)
			wf_handle_apis_root(r);
		else if (n == 2)
			wf_handle_discovery(r, segs[1], NULL);
		else if (n == 3)
			wf_handle_discovery(r, segs[1], segs[2]);
		else
			wf__route_resource(r, segs[1], segs[2], segs + 3, n - 3);
	} else {
		wf__not_found(r);
	}
	free(copy);
}
