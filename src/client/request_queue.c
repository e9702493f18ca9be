/*
 * request_queue.c - the bounded FIFO of fire-and-forget requests (see
 * request_queue.h), on a wf_fifo that drains when freed, so
 * wf_request_queue_free sends everything queued before it. The FIFO's lock
 * also guards the counters.
 */
#include "client/request_queue.h"

#include <stdlib.h>

#include "lib/wf_fifo.h"
#include "lib/wf_mem.h"

typedef struct wf__request {
	wf_fifo_job job; /* first */
	const char *method, *content_type;
	char *path;
	json_t *body;
} wf__request;

struct wf_request_queue {
	wf_client *client;
	wf_fifo *fifo;
	size_t max, dropped, sent;
};

static void wf__send(void *ctx, wf_fifo_job *job)
{
	wf_request_queue *q = ctx;
	wf__request *p = (wf__request *)job;
	long code = 0;
	wf_client_do(q->client, p->method, p->path, p->body, p->content_type, &code, NULL, NULL);
	free(p->path);
	json_decref(p->body);
	free(p);
	wf_fifo_lock(q->fifo);
	q->sent++;
	wf_fifo_unlock(q->fifo);
}

wf_request_queue *wf_request_queue_new(wf_client *client, int threads, size_t max)
{
	wf_request_queue *q = wf_xcalloc(1, sizeof *q);
	q->client = client;
	q->max = max ? max : 1;
	q->fifo = wf_fifo_new("wf-requests", threads, true, wf__send, NULL, q);
	return q;
}

bool wf_request_queue_add(wf_request_queue *q, const char *method, const char *path,
			  const char *content_type, json_t *body)
{
	wf_fifo_lock(q->fifo);
	if (wf_fifo_closed_locked(q->fifo) || wf_fifo_len_locked(q->fifo) >= q->max) {
		q->dropped++;
		wf_fifo_unlock(q->fifo);
		json_decref(body);
		return false;
	}
	wf__request *p = wf_xcalloc(1, sizeof *p);
	p->method = method;
	p->content_type = content_type;
	p->path = wf_xstrdup(path);
	p->body = body;
	wf_fifo_push_locked(q->fifo, &p->job);
	wf_fifo_unlock(q->fifo);
	return true;
}

size_t wf_request_queue_dropped(wf_request_queue *q)
{
	wf_fifo_lock(q->fifo);
	size_t n = q->dropped;
	wf_fifo_unlock(q->fifo);
	return n;
}

size_t wf_request_queue_sent(wf_request_queue *q)
{
	wf_fifo_lock(q->fifo);
	size_t n = q->sent;
	wf_fifo_unlock(q->fifo);
	return n;
}

void wf_request_queue_free(wf_request_queue *q)
{
	if (!q)
		return;
	wf_fifo_free(q->fifo);
	free(q);
}
