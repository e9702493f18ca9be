/*
 * apply.h - server-side apply: field sets in Kubernetes' FieldsV1 form, the
 * managedFields bookkeeping of metadata.managedFields, and the apply merge
 * with its conflict detection. Pure functions over jansson values: no I/O,
 * no clock (the caller passes the time), inputs are never modified.
 *
 * A field set is a JSON object in FieldsV1 form, exactly as Kubernetes stores
 * it in managedFields[].fieldsV1. Each key is a path element: "f:<name>" (a
 * map member), "k:<json>" (the item of a list merged on a key, the key as a
 * compact JSON object with sorted keys: k:{"name":"a"}), "v:<json>" (a value
 * of a merged list of primitives: v:"foo") or "i:<n>" (a list index, only
 * read from other writers). Each value is the set of the fields below; "."
 * marks the node itself as a member, and an empty object {} is a member with
 * nothing below. The root is never a member: {} is the empty set.
 *
 * Sets made here are canonical: no non-member without children, "." only
 * beside children, k: and v: keys in the form above. Sets produced by the set
 * operations are canonical when their inputs are.
 */
#ifndef WF_APPLY_H
#define WF_APPLY_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "lib/wf_err.h"
#include "lib/wf_mem.h"

/* Deepest field set or applied object accepted (-WF_EINVAL beyond). */
#define WF_FIELDSET_MAX_DEPTH 1000
/* Longest fieldManager name, as in Kubernetes. */
#define WF_APPLY_MAX_MANAGER 128

/* ---- patch metadata (implemented in patch_strategic.c) ------------------- */

/*
 * The per-kind strategic merge metadata, read-only: a type is a table of
 * fields (opaque). NULL is a type with no metadata (maps merge, lists are
 * atomic), which is what kinds without a table get.
 */
typedef struct wf__smp_field wf_patch_meta;

/* The type of the built-in kind (group NULL means ""), or NULL. */
const wf_patch_meta *wf_patch_meta_kind(const char *group, const char *kind);

/*
 * Field `name` (len bytes) of a map of the given type (may be NULL). *sub is
 * the type of the field's map or of each item of its list (may be NULL);
 * *merge tells whether a list is merged rather than replaced; *key is its
 * merge key (NULL for a merged list of primitives). Returns whether the
 * field has metadata; when false *sub and *key are NULL and *merge false.
 */
bool wf_patch_meta_field(const wf_patch_meta *type, const char *name, size_t len,
			 const wf_patch_meta **sub, bool *merge, const char **key);

/* ---- field sets ---------------------------------------------------------- */

/*
 * The field set of obj (an object) for kind (group, kind), walked with the
 * strategic merge metadata: a map member is "f:<key>" with the set of the
 * value below (a scalar, null, an empty map or an atomic list is a leaf {});
 * an item of a list merged on a key is "k:{...}" with "." and the item's
 * fields (the key field included); a value of a merged list of primitives is
 * "v:<json>"; an empty merged list owns nothing. Every field is counted: the
 * caller strips what it does not want (see wf_apply).
 * On success *out is a new canonical set (caller owns). Errors, -WF_EINVAL
 * with the path in the message, *out untouched: obj not an object, an item
 * of a keyed list that is not an object or lacks a scalar merge key, an item
 * of a primitive list that is an object or a list, two items with the same
 * key or value, nesting deeper than WF_FIELDSET_MAX_DEPTH.
 */
int wf_fieldset_from_object(const json_t *obj, const char *group, const char *kind, json_t **out,
			    wf_err *err);

/*
 * Check a field set read from elsewhere (a stored or client-sent fieldsV1)
 * and make it canonical: k: and v: keys re-encoded, duplicates that
 * re-encode alike united, "." folded. On success *out is new (caller owns).
 * -WF_EINVAL when it is not an object of objects, a key is no known path
 * element or holds bad JSON, "." holds anything, or it nests too deeply.
 */
int wf_fieldset_normalize(const json_t *fields, json_t **out, wf_err *err);

/* Set operations on canonical sets; each returns a new set the caller owns
 * (never NULL; {} when empty). */
json_t *wf_fieldset_union(const json_t *a, const json_t *b);
json_t *wf_fieldset_intersection(const json_t *a, const json_t *b);
/* Members of a that are not members of b. */
json_t *wf_fieldset_difference(const json_t *a, const json_t *b);
/* Members of a that are neither members of b nor below a member of b. */
json_t *wf_fieldset_recursive_difference(const json_t *a, const json_t *b);
/* Has the set no member at all? */
bool wf_fieldset_empty(const json_t *set);
/* A copy with the keys of every level in Kubernetes' order ("." first). */
json_t *wf_fieldset_sorted(const json_t *set);

/*
 * Remove from obj, in place, every field that is a member of set: a map
 * member, a list item (all items with that key or value), or an index.
 * Maps and lists the removal leaves empty are removed too; paths that obj
 * does not have are skipped. Returns the number of values removed.
 */
size_t wf_fieldset_remove(json_t *obj, const json_t *set);

/*
 * Append to b the human form of one path element as Kubernetes prints it
 * in conflicts: f:x ".x", k:{"name":"a"} "[name=\"a\"]", v:"a" "[=\"a\"]",
 * i:3 "[3]". An element that does not parse is appended as it is.
 */
void wf_fieldset_path_append(wf_buf *b, const char *pe, size_t len);

/* ---- managedFields ------------------------------------------------------- */

/*
 * Is mf a well-formed metadata.managedFields: a list of objects, each with a
 * string manager, operation "Apply" or "Update", optional string
 * apiVersion, time (RFC 3339) and subresource, fieldsType "FieldsV1" when
 * fieldsV1 is present, and a fieldsV1 that wf_fieldset_normalize accepts?
 */
bool wf_managed_fields_valid(const json_t *mf);

/* ---- server-side apply --------------------------------------------------- */

typedef struct wf_apply_opts {
	const char *manager;	 /* the fieldManager; required */
	const char *group;	 /* kind's group ("" or NULL for core) */
	const char *kind;	 /* "Pod": picks the merge metadata */
	const char *api_version; /* written in the entry: "v1", "batch/v1" */
	const char *subresource; /* NULL, or "status" for an apply to /status */
	bool has_status;	 /* the kind has a status subresource */
	bool force;		 /* take fields other appliers own */
	const char *now;	 /* RFC 3339 time for the entry */
} wf_apply_opts;

/* Conflicts of a refused apply. */
typedef struct wf_apply_conflicts {
	char *message;	/* "Apply failed with 1 conflict: conflict with \"x\": .a.b" */
	json_t *causes; /* [{"reason":"FieldManagerConflict","message":...,"field":...}] */
} wf_apply_conflicts;

/*
 * Server-side apply of config (the applied object, already type-checked:
 * an object with apiVersion, kind and metadata.name) by o->manager onto live
 * (the stored object, or NULL when the apply creates it).
 *
 * The result is live without the fields this manager owned before (its
 * previous Apply entry for the same subresource) that it no longer applies
 * and no other entry holds (of a field it gave up that others still hold,
 * or hold fields below, only what they hold stays), strategically merged
 * with config; metadata.managedFields then holds the manager's Apply
 * entry {manager, operation, apiVersion, time, fieldsType, fieldsV1
 * [, subresource]} with the set of config (less apiVersion, kind and the
 * system metadata; less status for a kind with a status subresource, or
 * only status for an apply to /status), entries sorted as Kubernetes sorts
 * them. The entry keeps its old time when neither the object nor the sets
 * change, so an identical re-apply changes nothing.
 *
 * Conflicts: a field in another manager's Apply entry that this apply
 * changes (a different value than live, or added) is a conflict: without
 * o->force nothing is produced, *conflicts (when not NULL) is filled (caller
 * frees with wf_apply_conflicts_free) and -WF_ECONFLICT returned; with force
 * the field leaves the other set. Fields of "Update" entries never conflict
 * here; a changed one just leaves that entry. Entries left empty are
 * dropped. Live managedFields entries that are malformed are dropped.
 *
 * Errors, -WF_EINVAL with a message, *out untouched: no manager or one
 * longer than WF_APPLY_MAX_MANAGER, config not an object, config with
 * metadata.managedFields, a key starting with '$' anywhere in config
 * (patch directives have no place in an applied object), a malformed
 * config (see wf_fieldset_from_object) or a merge the strategic engine
 * refuses. On success *out is a new object (caller owns).
 */
int wf_apply(const json_t *live, const json_t *config, const wf_apply_opts *o, json_t **out,
	     wf_apply_conflicts *conflicts, wf_err *err);

void wf_apply_conflicts_free(wf_apply_conflicts *c);

#endif
