/*
 * patch.h - the three PATCH flavours of the Kubernetes API as pure functions
 * over jansson values: JSON merge patch (RFC 7386), strategic merge patch and
 * JSON patch (RFC 6902).
 *
 * Invariants shared by all three: inputs are never modified; a result is a
 * fresh tree that shares no json_t with the inputs, so the caller may change
 * it freely; on error nothing is written to *out (all or nothing).
 */
#ifndef WF_PATCH_H
#define WF_PATCH_H

#include <stdbool.h>

#include <jansson.h>

#include "lib/wf_err.h"

/* Strategic merge patches nested deeper than this are refused (-WF_EINVAL). */
#define WF_PATCH_MAX_DEPTH 1000
/* The most operations one JSON patch may hold (Kubernetes' own limit). */
#define WF_JSON_PATCH_MAX_OPS 10000

/*
 * RFC 7386 JSON merge patch: objects in the patch are merged into the target
 * recursively, a null member deletes the member, anything else (arrays
 * included) replaces. target may be NULL (absent). Returns a new value the
 * caller owns, or NULL when patch is NULL.
 */
json_t *wf_merge_patch(const json_t *target, const json_t *patch);

/*
 * Kubernetes strategic merge patch of `original` (an object) with `patch` (an
 * object), using the patch metadata of the built-in kind (group, kind):
 * "" Pod, Node, Namespace, Service, ConfigMap, Secret, ServiceAccount, Event,
 * PodTemplate, ReplicationController; "batch" Job; "coordination.k8s.io"
 * Lease; "apps" Deployment, ReplicaSet, StatefulSet, DaemonSet. group NULL
 * means "". Any other kind merges like a JSON merge patch (every list is
 * replaced) but still honours and strips the directives.
 *
 * Lists with a merge key are merged element by element on that key, lists of
 * primitives with the merge strategy are unions, every other list is
 * replaced. Directives: "$patch" (replace | merge | delete; on a list element
 * "delete" removes the elements with that key and "replace" replaces the
 * whole list; on a map "delete" removes the map), "$retainKeys",
 * "$setElementOrder/<list>" and "$deleteFromPrimitiveList/<list>". The order
 * of a merged list follows Kubernetes: items named by the patch (or by
 * $setElementOrder) in that order, interleaved with the items only the server
 * has by their position in the live list. No directive key reaches *out, and
 * nulls inside added values are dropped.
 *
 * On success *out is a new object the caller owns. A malformed patch (not an
 * object, a directive of the wrong type, an unknown $patch value, a merge-list
 * element without its merge key, an order list that contradicts the patch)
 * gives -WF_EINVAL with a message naming the field; *out is left untouched.
 */
int wf_strategic_merge_patch(const json_t *original, const json_t *patch, const char *group,
			     const char *kind, json_t **out, wf_err *err);

/*
 * RFC 6902 JSON patch: apply the array `ops` (add, remove, replace, move,
 * copy, test; JSON pointers with ~0 / ~1 escapes, "-" appends to an array) to
 * a copy of `doc`. On success *out is the new document (caller owns). Any
 * failure - ops not an array, an operation that is not an object or lacks a
 * member it needs, an unknown op, a bad pointer, a missing path, an index out
 * of range, a failed test - is -WF_EINVAL with the failing operation's index
 * and op named in the message; more than WF_JSON_PATCH_MAX_OPS operations is
 * -WF_ETOOBIG. On error *out is untouched and no operation takes effect.
 */
int wf_json_patch(const json_t *doc, const json_t *ops, json_t **out, wf_err *err);

/*
 * Deep equality in the sense of RFC 6902 "test": numbers compare by value
 * (1 equals 1.0), objects as unordered sets of members, arrays in order.
 * NULL equals only NULL.
 */
bool wf_json_equal(const json_t *a, const json_t *b);

#endif
