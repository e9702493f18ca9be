/*
 * status_writer.h - the agent's pod status writes (PATCH pods/status),
 * sent by worker threads so that the sync loop never waits on the API
 * server.
 *
 * Each pod's writes go to one worker (chosen by a hash of its uid) and are
 * sent in the order put; a write still waiting takes a newer one for the
 * same pod in (its status replaced, since only the latest status matters;
 * metadata patches merged). Every write carrying a status ends with a call
 * of `done` on the worker thread, with no lock of the writer held: ok is
 * true when the server answered 200. Metadata (the GPU assignment
 * annotation) goes in the same PATCH of pods/status as the status written
 * with it, or before any status put after it.
 */
#ifndef WF_STATUS_WRITER_H
#define WF_STATUS_WRITER_H

#include <jansson.h>
#include <stdbool.h>

#include "client/client.h"

typedef struct wf_status_writer wf_status_writer;

typedef void (*wf_status_done_fn)(void *ctx, const char *uid, const char *status, bool ok);

/* A started writer with `workers` threads (at least 1) sending through
 * client (borrowed, thread-safe, must outlive the writer). */
wf_status_writer *wf_status_writer_new(wf_client *client, int workers, wf_status_done_fn done,
				       void *ctx);
/* Queue a merge patch of pods/status of ns/name (uid): {"status": status}
 * when status (the status object as JSON text, copied) is not NULL, plus
 * meta (a patch such as {"metadata": {"annotations": ...}}, reference
 * stolen) when not NULL; the Pod status strategy takes labels and
 * annotations along. A write of the pod still waiting takes both in. */
void wf_status_writer_put(wf_status_writer *w, const char *ns, const char *name, const char *uid,
			  const char *status, json_t *meta);
/* Send what is queued, stop the workers and free. NULL is a no-op. */
void wf_status_writer_free(wf_status_writer *w);

#endif
