/*
 * protobuf.h - Kubernetes protobuf request bodies to the JSON object a JSON
 * client would have sent.
 *
 * Typed clients (kubectl >= 1.32's `kubectl create namespace|configmap|...`,
 * client-go with protobuf content type) send
 * "application/vnd.kubernetes.protobuf": the 4 bytes "k8s\0", then a
 * runtime.Unknown message {1 typeMeta {1 apiVersion, 2 kind}, 2 raw,
 * 3 contentEncoding, 4 contentType} whose raw bytes are the object's own
 * message. We decode that with table-driven descriptors (one per message,
 * field number -> JSON name and type), never with generated code, and hand
 * the rest of the server plain JSON.
 *
 * Mapping: string -> string; bytes -> base64; bool -> true/false; int32,
 * int64 -> number; message -> object; repeated -> array; map entries
 * {1 key, 2 value} -> object; meta.v1.Time / MicroTime -> RFC 3339 string;
 * resource.Quantity -> its string; intstr.IntOrString -> number or string;
 * FieldsV1 -> its JSON. A field is emitted only when present on the wire,
 * and Go's generated marshallers write every non-pointer field, so a scalar
 * that is empty, zero or false is dropped (Kubernetes' JSON omits it too)
 * unless the descriptor marks it WF_PB_KEEP (a Go pointer, or a field whose
 * zero means something, like a container's exitCode). An empty Time is Go's
 * zero time and is dropped; other empty messages stay as {}.
 *
 * Strictness: a field the descriptor does not know, a wire type that does
 * not match it, a truncated or oversized varint or length, a string that is
 * not UTF-8 or holds a NUL byte, group wire types, nesting deeper than
 * WF_PB_MAX_DEPTH messages or more than WF_PB_MAX_NODES values all fail
 * with -WF_EINVAL and a message naming the field and where it was; nothing
 * is dropped silently. Recursion is bounded by the depth limit.
 */
#ifndef WF_PROTOBUF_H
#define WF_PROTOBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "lib/wf_err.h"

#define WF_PB_MEDIA_TYPE "application/vnd.kubernetes.protobuf"
#define WF_PB_MAX_DEPTH 64	/* nested messages, envelope excluded */
#define WF_PB_MAX_NODES 1000000 /* JSON values produced, as for YAML */

typedef enum wf_pb_type {
	WF_PB_STRING = 1,
	WF_PB_BYTES, /* base64 in JSON */
	WF_PB_BOOL,
	WF_PB_INT32,
	WF_PB_INT64,
	WF_PB_MSG,	 /* nested message described by `sub` */
	WF_PB_TIME,	 /* meta.v1.Time {1 seconds, 2 nanos} -> "2006-01-02T15:04:05Z" */
	WF_PB_MICROTIME, /* meta.v1.MicroTime -> "2006-01-02T15:04:05.000000Z" */
	WF_PB_QUANTITY,	 /* resource.Quantity {1 string} -> "500m" */
	WF_PB_INTORSTR,	 /* intstr.IntOrString {1 type, 2 intVal, 3 strVal} */
	WF_PB_RAWJSON,	 /* meta.v1.FieldsV1 {1 Raw}: Raw is JSON text */
} wf_pb_type;

enum {
	WF_PB_REP = 1,	  /* repeated: a JSON array (varints may be packed) */
	WF_PB_MAP = 2,	  /* map<string, type>: entries {1 key, 2 value} -> object */
	WF_PB_KEEP = 4,	  /* emit zero values too (Go pointer fields) */
	WF_PB_INLINE = 8, /* embedded Go struct: its fields land in the parent object */
};

typedef struct wf_pb_msg wf_pb_msg;

typedef struct wf_pb_field {
	uint32_t num;
	uint8_t type;  /* wf_pb_type; for WF_PB_MAP, the value's type */
	uint8_t flags; /* WF_PB_REP, WF_PB_MAP, WF_PB_KEEP, WF_PB_INLINE */
	const char *json;
	const wf_pb_msg *sub; /* WF_PB_MSG only */
} wf_pb_field;

struct wf_pb_msg {
	const char *name; /* "ObjectMeta", for messages */
	const wf_pb_field *fields;
	size_t nfields;
};

/* Is `media_type` (lowercase, parameters stripped) the protobuf one? */
bool wf_pb_is_media_type(const char *media_type);

/*
 * The descriptor of the top-level message for (apiVersion, kind), e.g.
 * ("batch/v1", "Job"); DeleteOptions matches any apiVersion. NULL when no
 * protobuf schema is known. Descriptors are static; never freed.
 */
const wf_pb_msg *wf_pb_schema_find(const char *api_version, const char *kind);

/*
 * Decode one message (no envelope) of `len` bytes at `buf` as described by
 * `msg` into a new JSON object, stored in *out (caller owns) on success.
 * Errors: -WF_EINVAL for anything malformed or unknown (see the file
 * comment); *out is untouched.
 */
int wf_pb_decode_message(const wf_pb_msg *msg, const void *buf, size_t len, json_t **out,
			 wf_err *err);

/*
 * Decode a whole request body: "k8s\0" + runtime.Unknown. When want_kind is
 * not NULL, the envelope's TypeMeta must name exactly want_api_version and
 * want_kind (the resource the URL addresses); when NULL, any kind with a
 * schema is accepted. The result carries apiVersion and kind from the
 * envelope, then the object's fields; stored in *out (caller owns).
 * Errors: -WF_EINVAL for a bad prefix, a malformed envelope or object, a
 * content encoding other than none, or a kind mismatch; -WF_ENOTSUP when the
 * kind has no protobuf schema here (the client can send JSON instead).
 */
int wf_pb_decode_object(const void *buf, size_t len, const char *want_api_version,
			const char *want_kind, json_t **out, wf_err *err);

#endif
