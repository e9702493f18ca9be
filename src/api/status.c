/*
 * status.c - Kubernetes Status objects: every error the API returns.
 *
 * Internal errors (wf_err codes) map to HTTP codes and reasons here and only
 * here, so handlers never pick numbers themselves.
 */
#include "api/api_internal.h"

#include <stdio.h>
#include <string.h>

json_t *wf_status_new(int code, const char *reason, const char *message, json_t *details)
{
	json_t *st = json_object();
	json_object_set_new(st, "kind", json_string("Status"));
	json_object_set_new(st, "apiVersion", json_string("v1"));
	json_object_set_new(st, "metadata", json_object());
	json_object_set_new(st, "status", json_string(code < 400 ? "Success" : "Failure"));
	if (message)
		json_object_set_new(st, "message", json_string(message));
	if (reason && reason[0])
		json_object_set_new(st, "reason", json_string(reason));
	if (details)
		json_object_set_new(st, "details", details);
	json_object_set_new(st, "code", json_integer(code));
	return st;
}

char *wf_status_text(int code, const char *reason, const char *message)
{
	json_t *st = wf_status_new(code, reason, message, NULL);
	char *s = json_dumps(st, JSON_COMPACT);
	json_decref(st);
	return s;
}

void wf_reply_status(wf_req *r, int code, const char *reason, const char *message,
		     json_t *details)
{
	wf_reply_json(r, code, wf_status_new(code, reason, message, details));
}

static json_t *wf__details(const wf_kind *k, const char *name)
{
	json_t *d = json_object();
	if (name)
		json_object_set_new(d, "name", json_string(name));
	if (k) {
		json_object_set_new(d, "group", json_string(k->group));
		json_object_set_new(d, "kind", json_string(k->resource));
	}
	return d;
}

void wf_reply_not_found(wf_req *r, const wf_kind *k, const char *name)
{
	char qr[128], msg[512];
	wf_kind_qualified_resource(k, qr, sizeof qr);
	snprintf(msg, sizeof msg, "%s \"%s\" not found", qr, name);
	wf_reply_status(r, 404, "NotFound", msg, wf__details(k, name));
}

void wf_reply_err(wf_req *r, const wf_err *err, const wf_kind *k, const char *name)
{
	const char *msg = err->msg[0] ? err->msg : "internal error";
	switch (err->code) {
	case WF_ENOENT:
		if (k && name && !err->msg[0])
			wf_reply_not_found(r, k, name);
		else
			wf_reply_status(r, 404, "NotFound", msg, k ? wf__details(k, name) : NULL);
		return;
	case WF_EEXIST:
		wf_reply_status(r, 409, "AlreadyExists", msg, k ? wf__details(k, name) : NULL);
		return;
	case WF_ECONFLICT:
		wf_reply_status(r, 409, "Conflict", msg, k ? wf__details(k, name) : NULL);
		return;
	case WF_ECOMPACTED:
		wf_reply_status(r, 410, "Expired", msg, NULL);
		return;
	case WF_EINVAL:
		wf_reply_status(r, 400, "BadRequest", msg, NULL);
		return;
	case WF_ETOOBIG:
		wf_reply_status(r, 413, "RequestEntityTooLarge", msg, NULL);
		return;
	case WF_ENOTSUP:
		wf_reply_status(r, 415, "UnsupportedMediaType", msg, NULL);
		return;
	default:
		wf_reply_status(r, 500, "InternalError", msg, NULL);
		return;
	}
}

void wf_reply_invalid(wf_req *r, const wf_kind *k, const char *name, const wf_causes *c)
{
	wf_buf b;
	wf_buf_init(&b);
	wf_buf_printf(&b, "%s \"%s\" is invalid: ", k->kind, name && name[0] ? name : "");
	if (c->n > 1)
		wf_buf_putc(&b, '[');
	json_t *causes = json_array();
	for (size_t i = 0; i < c->n; i++) {
		wf_buf_printf(&b, "%s%s: %s", i ? ", " : "", c->v[i].field, c->v[i].message);
		json_t *x = json_object();
		json_object_set_new(x, "reason", json_string(c->v[i].reason));
		json_object_set_new(x, "message", json_string(c->v[i].message));
		json_object_set_new(x, "field", json_string(c->v[i].field));
		json_array_append_new(causes, x);
	}
	if (c->n > 1)
		wf_buf_putc(&b, ']');
	json_t *d = json_object();
	json_object_set_new(d, "name", json_string(name ? name : ""));
	json_object_set_new(d, "group", json_string(k->group));
	json_object_set_new(d, "kind", json_string(k->kind));
	json_object_set_new(d, "causes", causes);
	wf_reply_status(r, 422, "Invalid", b.data, d);
	wf_buf_free(&b);
}
