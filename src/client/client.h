/*
 * client.h - a small Kubernetes API client (libcurl) for the agent and the
 * in-process controllers: JSON requests and line-by-line watch streams.
 *
 * Thread-safe: each thread uses its own curl handle (kept per thread).
 */
#ifndef WF_CLIENT_H
#define WF_CLIENT_H

#include <jansson.h>
#include <stdbool.h>

#include "lib/wf_err.h"

typedef struct wf_client wf_client;

wf_client *wf_client_new(const char *server_url);
void wf_client_free(wf_client *c);
const char *wf_client_url(const wf_client *c);

/*
 * One request. body (may be NULL) is serialized; content_type defaults to
 * application/json. *code gets the HTTP status; *resp (may be NULL) the
 * decoded JSON answer (caller decrefs; NULL when not JSON). Transport
 * failures are -WF_EIO; HTTP error statuses are not errors here.
 */
int wf_client_do(wf_client *c, const char *method, const char *path, const json_t *body,
		 const char *content_type, long *code, json_t **resp, wf_err *err);

/* GET path; 0 and *out on 200, -WF_ENOENT on 404, -WF_EIO otherwise. */
int wf_client_get(wf_client *c, const char *path, json_t **out, wf_err *err);

/*
 * Watch: GET path (which must carry watch=true) and call fn for each event
 * line ({"type":..,"object":..}, borrowed). fn returns false to stop.
 * Returns when the stream ends, fn stops it, or *stop becomes true (checked
 * about every second).
 */
typedef bool (*wf_client_event_fn)(void *ctx, const char *type, json_t *object);
int wf_client_watch(wf_client *c, const char *path, wf_client_event_fn fn, void *ctx,
		    volatile bool *stop, wf_err *err);

/* Percent-encode s for a query string. Caller frees. */
char *wf_client_escape(const char *s);

#endif
