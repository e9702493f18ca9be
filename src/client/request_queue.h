/*
 * post_queue.h - fire-and-forget POSTs (Events) sent by background threads
 * through an API client, from a bounded FIFO.
 *
 * Recording an Event must never slow down the work it describes (starting
 * a container, binding a pod), so callers only queue; worker threads send.
 * When the queue is full new items are dropped and counted, as client-go's
 * event broadcaster does. Posts are sent in queue order by each worker;
 * with several workers, two posts may arrive out of order.
 */
#ifndef WF_POST_QUEUE_H
#define WF_POST_QUEUE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "client/client.h"

typedef struct wf_post_queue wf_post_queue;

/* A started queue with `threads` workers (at least 1) posting through
 * client (borrowed; must outlive the queue; wf_client is thread-safe),
 * holding at most max items (at least 1). */
wf_post_queue *wf_post_queue_new(wf_client *client, int threads, size_t max);
/* Queue a POST of body (reference stolen) to path (copied). Returns false
 * when the queue is full or stopping: the body is then released and the
 * drop counted. */
bool wf_post_queue_add(wf_post_queue *q, const char *path, json_t *body);
/* Items dropped so far. */
size_t wf_post_queue_dropped(wf_post_queue *q);
/* Items posted so far (whatever the server answered). */
size_t wf_post_queue_sent(wf_post_queue *q);
/* Send what is queued, stop the workers and free. NULL is a no-op. */
void wf_post_queue_free(wf_post_queue *q);

#endif
