/*
 * field_validation.h - Kubernetes' server-side field validation: the
 * `fieldValidation` query parameter (Strict, Warn, Ignore) on create,
 * update and patch, for unknown and duplicate fields in JSON and YAML
 * bodies.
 *
 * Design: there is no second schema. A decoded object is walked against
 * its kind's protobuf message descriptor (protobuf.h, protobuf_schema.c),
 * which names every field of the served kinds by its JSON name. A key the
 * descriptor does not know is an unknown field, reported by its path in
 * Kubernetes' notation ("spec.containers[0].bogusField"); the walk does not
 * descend into it. Values of map fields (labels, annotations, resource
 * lists, nodeSelector, ...) have free-form keys and are never unknown.
 * Fields of an embedded (WF_PB_INLINE) Go struct are known at the level of
 * the struct that embeds it, never under the embedded struct's own name.
 * Leaves (scalars, IntOrString, Quantity, Time, MicroTime, FieldsV1) are not
 * descended into, and a value of the wrong JSON type (an array where an
 * object belongs) is left to the kind's validation. At the top level,
 * apiVersion and kind are known. A kind without a descriptor (custom
 * resources such as kueue's) accepts every field.
 *
 * Duplicate keys are found in the JSON text itself, anywhere (maps too),
 * with the same path notation; YAML bodies with duplicate keys are refused
 * by the YAML reader whatever the directive.
 *
 * Semantics, as kube-apiserver (1.27+): an absent or empty parameter means
 * Warn. Strict refuses the request when anything is found (create, update
 * and server-side apply: 400 BadRequest "Pod in version \"v1\" cannot be
 * handled as a Pod: strict decoding error: unknown field \"spec.x\",
 * duplicate field \"y\""; merge, strategic merge and JSON patches: 422
 * Invalid on the field "patch", as Kubernetes answers those); nothing is
 * stored. Warn accepts the request and sends one `Warning: 299 - "unknown
 * field \"spec.x\""` header per problem. Ignore says nothing. Unlike
 * Kubernetes, which drops unknown fields while decoding into Go structs,
 * Wharf stores what it accepted: a field the tables missed must never be
 * lost silently. For that reason a patch is checked on its result but only
 * for unknown fields the stored object did not already hold. At most
 * WF_FV_MAX_PROBLEMS problems are kept (as Kubernetes' decoder), paths
 * longer than WF_FV_MAX_PATH bytes are cut, and warnings are limited in
 * number and size so that clients with header limits cope.
 */
#ifndef WF_FIELD_VALIDATION_H
#define WF_FIELD_VALIDATION_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "api/protobuf.h"
#include "lib/wf_err.h"
#include "registry/registry.h"

#define WF_FV_MAX_PROBLEMS 100
#define WF_FV_MAX_PATH 512	  /* bytes of a reported path, then "..." */
#define WF_FV_MAX_WARNINGS 50	  /* Warning headers per response */
#define WF_FV_WARNINGS_BYTES 4096 /* their total text, as kube-apiserver */

typedef enum wf_fv_directive {
	WF_FV_IGNORE,
	WF_FV_WARN,
	WF_FV_STRICT,
} wf_fv_directive;

typedef enum wf_fv_kind {
	WF_FV_UNKNOWN,
	WF_FV_DUPLICATE,
} wf_fv_kind;

typedef struct wf_fv_problem {
	wf_fv_kind kind;
	char *path; /* "spec.containers[0].bogusField"; owned by the list */
} wf_fv_problem;

/* Problems in the order found. Zero-initialize; free with wf_fv_list_free. */
typedef struct wf_fv_list {
	wf_fv_problem *v;
	size_t n;
	size_t dropped; /* problems found past WF_FV_MAX_PROBLEMS */
} wf_fv_list;

/*
 * Parse a fieldValidation value: NULL or "" is Warn; "Ignore", "Warn" and
 * "Strict" (exact case) are themselves. Anything else: -WF_EINVAL, with
 * Kubernetes' message `Unsupported value: "x": supported values: "",
 * "Ignore", "Strict", "Warn"` in err; *out is untouched.
 */
int wf_fv_parse_directive(const char *value, wf_fv_directive *out, wf_err *err);

/*
 * Append to out the path of every field of obj that msg does not describe
 * (see the file comment). obj and msg are borrowed; a non-object obj or a
 * NULL msg adds nothing.
 */
void wf_fv_unknown_fields(const wf_pb_msg *msg, const json_t *obj, wf_fv_list *out);

/*
 * Append to out the path of every repeated key in the JSON text (len
 * bytes, need not be NUL-terminated), each repetition after the first.
 * The text should be valid JSON; on malformed text the scan stops where it
 * stops understanding, having reported what it found until then.
 */
void wf_fv_duplicate_fields(const char *json, size_t len, wf_fv_list *out);

/* Append one problem (path copied, cut to WF_FV_MAX_PATH). */
void wf_fv_list_add(wf_fv_list *l, wf_fv_kind kind, const char *path);
/* Remove from l every unknown-field problem whose path is also in known. */
void wf_fv_list_subtract(wf_fv_list *l, const wf_fv_list *known);
void wf_fv_list_free(wf_fv_list *l);

/* `unknown field "spec.x"` or `duplicate field "y"`, the path quoted as Go's
 * %q does. Caller frees. */
char *wf_fv_problem_text(const wf_fv_problem *p);
/* "strict decoding error: " and every problem's text, comma separated.
 * Caller frees. */
char *wf_fv_strict_message(const wf_fv_list *l);
/* The value of a Warning header for text: `299 - "<text>"` with '"' and
 * '\' escaped and control characters replaced by spaces. Caller frees. */
char *wf_fv_warning_value(const char *text);

/* ---- requests ------------------------------------------------------------- */

struct wf_req;

/* One request's validation state; set up by wf_fv_begin. */
typedef struct wf_fv {
	wf_fv_directive directive;
	wf_fv_list dups; /* duplicate keys in the request body */
	bool warned;	 /* warnings already added to the response */
} wf_fv;

/*
 * Read ?fieldValidation of r into fv. A bad value is answered here (422
 * Invalid naming opts_kind, "CreateOptions", "UpdateOptions" or
 * "PatchOptions", as Kubernetes does) and false returned; fv then holds
 * nothing to free but may still be passed to wf_fv_end.
 */
bool wf_fv_begin(struct wf_req *r, const char *opts_kind, wf_fv *fv);

/*
 * wf_body_decode_kind (body.c), except that a JSON body whose only fault is
 * a repeated key decodes (the last value wins, as in Kubernetes) and its
 * duplicates are recorded in fv for wf_fv_admit. Errors and ownership as
 * wf_body_decode_kind.
 */
int wf_fv_decode_body(const struct wf_req *r, const wf_kind *k, wf_fv *fv, json_t **out,
		      wf_err *err);

/*
 * Apply the directive to obj, the object a create, update or server-side
 * apply sent (old NULL, patched false), or the result of a merge,
 * strategic merge or JSON patch of the stored old (patched true). The
 * problems are the body's duplicates and obj's unknown fields, less those
 * old already had. Strict with problems: replies (400, or 422 for patches)
 * and returns false. Warn: adds the Warning headers (once per request) and
 * returns true. Ignore, or nothing found: true. obj and old are borrowed.
 */
bool wf_fv_admit(struct wf_req *r, wf_fv *fv, const wf_kind *k, const json_t *obj,
		 const json_t *old, bool patched);

/* Free what fv holds; usable as a cleanup attribute (WF_FV_AUTO). */
void wf_fv_end(wf_fv *fv);
#define WF_FV_AUTO __attribute__((cleanup(wf_fv_end)))

/*
 * http.c: add a `Warning: 299 - "<text>"` header to r's response (before
 * the reply is sent; ignored after). Declared here because field
 * validation is its user.
 */
void wf_reply_add_warning(struct wf_req *r, const char *text);

#endif
