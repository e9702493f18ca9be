/*
 * owner_index.h - the API server's owner index: owner uid -> store keys of
 * the objects whose metadata.ownerReferences name that uid, so that deleting
 * an owner finds its dependents in O(dependents) instead of scanning every
 * object of its namespace.
 *
 * The index is filled by one range over every key of the store, then kept
 * current by a store watch (prefix "") from the revision that range saw. It
 * holds keys only, never objects: the caller reads each dependent back from
 * the store and checks it again, so the index answers "where to look".
 *
 * Read-your-writes: a lookup reflects every store write acknowledged before
 * the lookup began (it waits, bounded, for the index to catch up with the
 * store's revision as read at its start).
 *
 * Values that are not JSON objects, ownerReferences that are not an array,
 * references that are not objects, and uids that are not non-empty strings
 * of at most WF_OWNER_INDEX_MAX_UID bytes are ignored (no owner can have such
 * a uid: the server assigns 36-byte uids).
 *
 * Threads: every function may be called from any thread, but for
 * wf_owner_index_stop, which must be the last call on the index.
 */
#ifndef WF_OWNER_INDEX_H
#define WF_OWNER_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include "lib/wf_err.h"
#include "store/store.h"

#define WF_OWNER_INDEX_MAX_UID 128  /* bytes; longer ownerReference uids are ignored */
#define WF_OWNER_INDEX_WAIT_MS 2000 /* how long a lookup waits for the index to catch up */

typedef struct wf_owner_index wf_owner_index;

/*
 * Build the index from every key of `store` (borrowed: it must stay open
 * until after wf_owner_index_stop) and start following its changes.
 * Errors: -WF_EIO (the range failed), -WF_ECLOSED (the store is closing),
 * -WF_ECOMPACTED (compaction kept overtaking the initial range). On success
 * *out owns the index; release it with wf_owner_index_stop.
 */
int wf_owner_index_start(wf_store *store, wf_owner_index **out, wf_err *err);

/* Stop following the store and free the index. NULL is fine. Must not race
 * with any other call on the index. */
void wf_owner_index_stop(wf_owner_index *ix);

/*
 * The keys of the objects that name `uid` in their ownerReferences, as of a
 * revision at least the store's revision when the call began, in no
 * particular order. *keys_out is a fresh array of *n_out fresh strings (NULL
 * and 0 when there are none); free it with wf_owner_index_keys_free.
 * Errors: -WF_EINVAL (ix or uid NULL), -WF_ECLOSED (the index no longer
 * follows the store: the store closed), -WF_EIO (the index did not catch up
 * within WF_OWNER_INDEX_WAIT_MS). On an error nothing is returned and the
 * caller should fall back to scanning the store.
 */
int wf_owner_index_lookup(wf_owner_index *ix, const char *uid, char ***keys_out, size_t *n_out,
			  wf_err *err);

/* Free what wf_owner_index_lookup returned. NULL is fine. */
void wf_owner_index_keys_free(char **keys, size_t n);

/* Counters for tests and /metrics: distinct owner uids, (uid, key) pairs
 * held, and the last store revision applied, as they are now (this does not
 * wait for the index to catch up). ix must not be NULL; the out pointers
 * may be. */
void wf_owner_index_stats(wf_owner_index *ix, size_t *owners_out, size_t *refs_out,
			  int64_t *applied_out);

#endif
