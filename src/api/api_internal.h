/*
 * api_internal.h - shared between the files of src/api/: the server state,
 * the request wrapper handed to handlers, and the reply helpers.
 *
 * Threads: each HTTP worker runs its own libevent base; a request is handled
 * start to finish on the worker that accepted it (handlers may block on the
 * store), except watches, which outlive their handler and are woken on
 * their worker's base by the store's threads.
 */
#ifndef WF_API_INTERNAL_H
#define WF_API_INTERNAL_H

#include "api/api.h"
#include "api/owner_index.h"
#include "lib/wf_err.h"
#include "lib/wf_mem.h"
#include "registry/registry.h"
#include "store/store.h"

#include <event2/event.h>
#include <event2/http.h>
#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>

#define WF_MAX_BODY (3 * 1024 * 1024) /* Kubernetes' request size limit */

typedef struct wf_worker wf_worker;
typedef struct wf_watcher wf_watcher;

struct wf_api {
	wf_store *store;
	wf_owner_index *owners; /* owner uid -> dependents' keys, for cascading deletes */
	int listen_fd;
	int port;
	char host[64];
	int nworkers;
	wf_worker *workers;
	pthread_t maint_thread; /* compaction and namespace finalization */
	pthread_mutex_t maint_mu;
	pthread_cond_t maint_cv;
	bool stopping;
	int compact_interval_s;
	int64_t compact_retain;
	time_t started;
};

struct wf_worker {
	wf_api *api;
	int index;
	struct event_base *base;
	struct evhttp *http;
	pthread_t thread;
	wf_watcher *watchers; /* open watches; touched by this worker's thread only */
};

typedef enum wf_method {
	WF_GET,
	WF_POST,
	WF_PUT,
	WF_PATCH,
	WF_DELETE,
	WF_HEAD,
	WF_OPTIONS,
	WF_OTHER,
} wf_method;

/* One request, as handlers see it. Strings are owned by the wrapper. */
typedef struct wf_req {
	wf_api *api;
	wf_worker *worker;
	struct evhttp_request *ev;
	wf_method method;
	char *path;  /* decoded path, no query */
	struct evkeyvalq *query;
	const char *content_type; /* may be NULL */
	const char *accept;	  /* may be NULL */
	const char *body;	  /* NUL-terminated copy, NULL when empty */
	size_t body_len;
	bool replied;
} wf_req;

/* Query parameter (decoded), or NULL. */
const char *wf_req_query(const wf_req *r, const char *name);
/* "true", "True", "1" */
bool wf_req_query_bool(const wf_req *r, const char *name);
/* Does the Accept header ask for a meta.k8s.io Table? */
bool wf_req_wants_table(const wf_req *r);

/* Replies; each may be called once per request. */
void wf_reply_raw(wf_req *r, int code, const char *ctype, const char *body, size_t len);
void wf_reply_text(wf_req *r, int code, const char *ctype, const char *body);
/* Serializes and consumes (decrefs) obj. */
void wf_reply_json(wf_req *r, int code, json_t *obj);
/* Status replies. */
void wf_reply_status(wf_req *r, int code, const char *reason, const char *message,
		     json_t *details /* stolen, may be NULL */);
void wf_reply_err(wf_req *r, const wf_err *err, const wf_kind *k, const char *name);
void wf_reply_not_found(wf_req *r, const wf_kind *k, const char *name);
void wf_reply_invalid(wf_req *r, const wf_kind *k, const char *name, const wf_causes *c);
json_t *wf_status_new(int code, const char *reason, const char *message, json_t *details);
/* Status as JSON text for error watch events. Caller frees. */
char *wf_status_text(int code, const char *reason, const char *message);

/* Route a request (router.c). */
void wf_route(wf_req *r);

/* discovery.c */
void wf_handle_version(wf_req *r);
void wf_handle_discovery(wf_req *r, const char *group, const char *version);
void wf_handle_api_root(wf_req *r);
void wf_handle_apis_root(wf_req *r);

/* A parsed resource path: /api/v1/namespaces/ns/pods/name/status */
typedef struct wf_target {
	const wf_kind *kind;
	char *ns;	   /* NULL for cluster-scoped or all-namespace requests */
	char *name;	   /* NULL for collections */
	char *subresource; /* NULL, "status", "binding", "log", ... */
} wf_target;

void wf_handle_get(wf_req *r, const wf_target *t);
void wf_handle_list(wf_req *r, const wf_target *t);
void wf_handle_watch(wf_req *r, const wf_target *t);
void wf_handle_create(wf_req *r, const wf_target *t);
void wf_handle_update(wf_req *r, const wf_target *t);
void wf_handle_patch(wf_req *r, const wf_target *t);
void wf_handle_delete(wf_req *r, const wf_target *t);
void wf_handle_delete_collection(wf_req *r, const wf_target *t);
void wf_handle_binding(wf_req *r, const wf_target *t);
void wf_handle_pod_log(wf_req *r, const wf_target *t);
/* End every watch served by a stopped worker (its thread has exited). */
void wf_watch_release_all(wf_worker *w);

/* objtext.c: stored text <-> served objects */
/* Copy of the stored text with metadata.resourceVersion spliced in. */
char *wf_obj_text_with_rv(const char *text, size_t len, int64_t rev, size_t *out_len);
/* Parse a stored value into an object carrying its resourceVersion. */
json_t *wf_obj_decode(const char *text, size_t len, int64_t rev);
/* Canonical stored form: apiVersion, kind, metadata first, no
 * resourceVersion. Caller frees. */
char *wf_obj_encode(const json_t *obj, size_t *len_out);
/* A new RFC 4122 v4 uid. */
void wf_uid_new(char out[37]);

/* body.c: decode a request body (JSON, YAML or Kubernetes protobuf) into one
 * object; *out is the caller's. A protobuf body must name kind k (NULL: any
 * kind with a protobuf schema). Errors: -WF_EINVAL (400), -WF_ENOTSUP (415). */
int wf_body_decode_kind(const wf_req *r, const wf_kind *k, json_t **out, wf_err *err);
/* Same with k NULL. */
int wf_body_decode(const wf_req *r, json_t **out, wf_err *err);

/* table.c */
json_t *wf_table_new(const wf_kind *k, bool with_columns);
void wf_table_add_row(json_t *table, const wf_kind *k, const json_t *obj, bool include_object,
		      time_t now);

/* objects.c: read/write helpers shared by handlers and the maintenance thread. */
typedef struct wf_delete_opts {
	int64_t grace_seconds; /* -1 when unset */
	const char *propagation; /* NULL = kind default */
	const char *precondition_uid;
	const char *precondition_rv;
} wf_delete_opts;

/* Delete one object with Kubernetes semantics (finalizers, graceful pods,
 * cascading). *result_out (may be NULL) receives the object after the call
 * (with deletionTimestamp when it is still there) or the deleted object. */
int wf_object_delete(wf_api *api, const wf_kind *k, const char *ns, const char *name,
		     const wf_delete_opts *o, json_t **result_out, bool *gone_out, wf_err *err);
/* Write an updated object with CAS on expect_rev; applies finalizer
 * completion (an object being deleted whose last finalizer is removed is
 * deleted). *out receives the stored object. */
int wf_object_store_update(wf_api *api, const wf_kind *k, const char *key, json_t *obj,
			   int64_t expect_rev, json_t **out, wf_err *err);
/* Get an object by key into JSON (with RV), *rev_out its mod revision. */
int wf_object_get(wf_api *api, const char *key, json_t **out, int64_t *rev_out, wf_err *err);
/* Delete everything in a terminating namespace, then the namespace itself. */
void wf_namespace_finalize(wf_api *api, const char *ns);

#endif
