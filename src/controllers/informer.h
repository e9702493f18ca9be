/*
 * informer.h - a list+watch cache of one resource, read through the API
 * client (client-go's shared informer, reduced).
 *
 * One thread per informer lists the resource (in pages), then watches from
 * the list's resourceVersion (with bookmarks), applying every event to an
 * in-memory cache and telling the registered handlers. A watch that ends
 * is resumed from the last resourceVersion seen; a watch error (410
 * Expired, or any ERROR event) or a transport failure leads to a fresh
 * list, whose diff against the cache is delivered as adds, updates and
 * deletes, so handlers never miss a change for good.
 *
 * Cache invariants:
 *  - objects are keyed "namespace/name" (cluster-scoped: "name");
 *  - an optional transform strips each object before it is stored, and an
 *    optional filter keeps objects nobody reads from the cache at all;
 *  - a stored object is packed (jpack.h: a few hundred bytes for a pod,
 *    where a parsed tree takes kilobytes); every read decodes it into a new
 *    tree owned by the caller, so reads are safe from any thread while the
 *    informer thread replaces entries, and callers may keep what they get;
 *  - a version of an object older than (or the same as) the one cached is
 *    ignored (numeric resourceVersions; a paged list is not a snapshot, so
 *    the watch that follows it may replay older events);
 *  - indexes map a value computed from a stored (transformed) object, e.g.
 *    the uid of its controller, to the keys of the objects that have it;
 *    they are updated together with the cache, under the same lock;
 *  - handlers run on the informer thread after the cache holds the change,
 *    one event at a time, and must not block for long (enqueue work).
 */
#ifndef WF_INFORMER_H
#define WF_INFORMER_H

#include <jansson.h>
#include <stdbool.h>

#include "client/client.h"
#include "lib/wf_err.h"

typedef struct wf_informer wf_informer;

/*
 * Change callbacks; any may be NULL. Objects are borrowed for the call. For
 * a cached object, obj is the transformed object and old the cached one.
 * An object the filter rejects (or nested past WF_JPACK_MAX_DEPTH, which
 * cannot be packed) is never cached: a change to it is an add,
 * its deletion a del, both with the object as received (not transformed);
 * an object that was cached and is now rejected leaves the cache with an
 * update (old cached, obj as received).
 */
typedef struct wf_informer_handlers {
	void (*add)(void *ctx, const json_t *obj);
	void (*update)(void *ctx, const json_t *old, const json_t *obj);
	void (*del)(void *ctx, const json_t *obj);
	void *ctx;
} wf_informer_handlers;

/* Strip fields an informer's users do not need (edits obj in place). */
typedef void (*wf_informer_transform_fn)(json_t *obj);
/* The index value of obj (borrowed from obj), or NULL when none. */
typedef const char *(*wf_informer_index_fn)(const json_t *obj);
/* Whether obj (as received, before the transform) is worth caching. */
typedef bool (*wf_informer_filter_fn)(const json_t *obj);

#define WF_INFORMER_MAX_INDEXES 4
#define WF_INFORMER_MAX_HANDLERS 8
/* Objects asked for per page when listing. */
#define WF_INFORMER_PAGE 500

/*
 * A new, stopped informer for the collection at path (e.g. "/api/v1/pods",
 * "/apis/batch/v1/jobs"; no query string). client is borrowed and must
 * outlive the informer. Caller frees with wf_informer_free.
 */
wf_informer *wf_informer_new(wf_client *client, const char *path);
/* Before start only: set the transform. */
void wf_informer_set_transform(wf_informer *inf, wf_informer_transform_fn fn);
/* Before start only: set the filter (see wf_informer_handlers). */
void wf_informer_set_filter(wf_informer *inf, wf_informer_filter_fn fn);
/* Before start only: add an index; returns its number, or -WF_EINVAL when
 * there are WF_INFORMER_MAX_INDEXES already. */
int wf_informer_add_index(wf_informer *inf, wf_informer_index_fn fn);
/* Before start only: register handlers (copied); -WF_EINVAL when full. */
int wf_informer_add_handlers(wf_informer *inf, const wf_informer_handlers *h);

/* Start the list+watch thread. -WF_EIO (with err) when it cannot start. */
int wf_informer_start(wf_informer *inf, wf_err *err);
/* Ask the thread to stop (returns at once); wf_informer_free joins it. */
void wf_informer_stop(wf_informer *inf);
/* Stop, join and free. NULL is a no-op. */
void wf_informer_free(wf_informer *inf);

/* Whether the first list has been applied. */
bool wf_informer_synced(wf_informer *inf);
/* Wait up to timeout_ms for the first list; true when synced. */
bool wf_informer_wait_synced(wf_informer *inf, int timeout_ms);

/* The cached object at key ("ns/name" or "name"): a new tree, or NULL. */
json_t *wf_informer_get(wf_informer *inf, const char *key);
/* Same, by namespace (NULL or "" for cluster-scoped) and name. */
json_t *wf_informer_get_nn(wf_informer *inf, const char *ns, const char *name);
/* Every cached object, as a new array (caller decrefs). Each object is
 * decoded: for a large cache iterate wf_informer_keys and get each. */
json_t *wf_informer_list(wf_informer *inf);
/* The keys of every cached object, a snapshot: a new array of *n new
 * strings (NULL when empty); free with wf_informer_keys_free. */
char **wf_informer_keys(wf_informer *inf, size_t *n);
void wf_informer_keys_free(char **keys, size_t n);
/* Objects whose index idx has value, as a new array (caller decrefs). */
json_t *wf_informer_by_index(wf_informer *inf, int idx, const char *value);
/* Number of cached objects. */
size_t wf_informer_count(wf_informer *inf);

/*
 * Cache maintenance, used by the watch thread and exposed for tests (which
 * drive an informer that was never started); one thread at a time:
 *  - wf_informer_apply: one watch event; type "ADDED", "MODIFIED" or
 *    "DELETED" (others ignored); obj borrowed (copied before transform);
 *  - wf_informer_replace: a fresh, complete list (array of objects,
 *    borrowed): new objects are added and changed ones (a newer
 *    resourceVersion) updated in list order, then objects missing from it
 *    are deleted; marks the informer synced.
 * Objects without metadata.name are ignored.
 */
void wf_informer_apply(wf_informer *inf, const char *type, const json_t *obj);
void wf_informer_replace(wf_informer *inf, const json_t *items);

/* "ns/name" or "name" for obj, in a fresh string (NULL without a name). */
char *wf_informer_key(const json_t *obj);

#endif
