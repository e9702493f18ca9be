/*
 * request_queue.h - fire-and-forget requests (Events to post, annotations
 * to patch) sent by background threads through an API client, from a
 * bounded FIFO.
 *
 * Recording an Event must never slow down the work it describes (starting
 * a container, binding a pod), so callers only queue; worker threads send.
 * When the queue is full new items are dropped and counted, as client-go's
 * event broadcaster does. Requests are taken in queue order; with several
 * workers, two may arrive out of order.
 */
#ifndef WF_REQUEST_QUEUE_H
#define WF_REQUEST_QUEUE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "client/client.h"

typedef struct wf_request_queue wf_request_queue;

/* A started queue with `threads` workers (at least 1) posting through
 * client (borrowed; must outlive the queue; wf_client is thread-safe),
 * holding at most max items (at least 1). */
wf_request_queue *wf_request_queue_new(wf_client *client, int threads, size_t max);
/* Queue a request: method ("POST", "PATCH"...) and content_type (NULL for
 * JSON) are static strings, path is copied, body's reference is stolen.
 * Returns false when the queue is full or stopping: the body is then
 * released and the drop counted. */
bool wf_request_queue_add(wf_request_queue *q, const char *method, const char *path,
			  const char *content_type, json_t *body);
/* Items dropped so far. */
size_t wf_request_queue_dropped(wf_request_queue *q);
/* Requests sent so far (whatever the server answered). */
size_t wf_request_queue_sent(wf_request_queue *q);
/* Send what is queued, stop the workers and free. NULL is a no-op. */
void wf_request_queue_free(wf_request_queue *q);

#endif
