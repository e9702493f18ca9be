/*
 * status_writer.h - the agent's pod status writes (PATCH pods/status),
 * sent by worker threads so that the sync loop never waits on the API
 * server.
 *
 * Each pod's writes go to one worker (chosen by a hash of its uid) and are
 * sent in the order put; a status write still waiting is replaced by a
 * newer one for the same pod, since only the latest status matters. Every
 * status write ends with a call of `done` on the worker thread, with no
 * lock of the writer held: ok is true when the server answered 200.
 * Metadata patches (the GPU assignment annotation) share the pod's order,
 * so they reach the server before any status put after them.
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
/* Queue a merge patch {"status": <status>} of pod ns/name (uid): status is
 * the status object as JSON text. Strings are copied. */
void wf_status_writer_put(wf_status_writer *w, const char *ns, const char *name, const char *uid,
			  const char *status);
/* Queue a merge patch of pod ns/name itself (body's reference stolen);
 * no report. */
void wf_status_writer_put_meta(wf_status_writer *w, const char *ns, const char *name,
			       const char *uid, json_t *patch);
/* Send what is queued, stop the workers and free. NULL is a no-op. */
void wf_status_writer_free(wf_status_writer *w);

#endif
