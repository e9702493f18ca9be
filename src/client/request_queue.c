/*
 * request_queue.c - the bounded FIFO of fire-and-forget requests and its
 * worker threads (see request_queue.h).
 *
 * One mutex guards the list and the counters; workers sleep on a condition
 * variable while the list is empty and leave once `stopping` is set and the
 * list is drained, so wf_request_queue_free sends everything queued before it.
 */
#include "client/request_queue.h"

#include <pthread.h>
#include <stdlib.h>

#include "lib/wf_mem.h"

typedef struct wf__request {
	struct wf__request *next;
	const char *method, *content_type;
	char *path;
	json_t *body;
} wf__request;

struct wf_request_queue {
	wf_client *client;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	wf__request *head, *tail;
	size_t n, max, dropped, sent;
	bool stopping;
	pthread_t *threads;
	int nthreads;
};

static void *wf__request_main(void *arg)
{
	wf_request_queue *q = arg;
	pthread_mutex_lock(&q->mu);
	for (;;) {
		while (!q->head && !q->stopping)
			pthread_cond_wait(&q->cv, &q->mu);
		wf__request *p = q->head;
		if (!p)
			break; /* stopping and drained */
		q->head = p->next;
		if (!q->head)
			q->tail = NULL;
		q->n--;
		pthread_mutex_unlock(&q->mu);
		long code = 0;
		wf_client_do(q->client, p->method, p->path, p->body, p->content_type, &code, NULL,
			     NULL);
		free(p->path);
		json_decref(p->body);
		free(p);
		pthread_mutex_lock(&q->mu);
		q->sent++;
	}
	pthread_mutex_unlock(&q->mu);
	return NULL;
}

wf_request_queue *wf_request_queue_new(wf_client *client, int threads, size_t max)
{
	wf_request_queue *q = wf_xcalloc(1, sizeof *q);
	q->client = client;
	q->max = max ? max : 1;
	q->nthreads = threads > 0 ? threads : 1;
	pthread_mutex_init(&q->mu, NULL);
	pthread_cond_init(&q->cv, NULL);
	q->threads = wf_xcalloc((size_t)q->nthreads, sizeof *q->threads);
	for (int i = 0; i < q->nthreads; i++)
		pthread_create(&q->threads[i], NULL, wf__request_main, q);
	return q;
}

bool wf_request_queue_add(wf_request_queue *q, const char *method, const char *path,
			  const char *content_type, json_t *body)
{
	pthread_mutex_lock(&q->mu);
	if (q->stopping || q->n >= q->max) {
		q->dropped++;
		pthread_mutex_unlock(&q->mu);
		json_decref(body);
		return false;
	}
	wf__request *p = wf_xcalloc(1, sizeof *p);
	p->method = method;
	p->content_type = content_type;
	p->path = wf_xstrdup(path);
	p->body = body;
	if (q->tail)
		q->tail->next = p;
	else
		q->head = p;
	q->tail = p;
	q->n++;
	pthread_cond_signal(&q->cv);
	pthread_mutex_unlock(&q->mu);
	return true;
}

size_t wf_request_queue_dropped(wf_request_queue *q)
{
	pthread_mutex_lock(&q->mu);
	size_t n = q->dropped;
	pthread_mutex_unlock(&q->mu);
	return n;
}

size_t wf_request_queue_sent(wf_request_queue *q)
{
	pthread_mutex_lock(&q->mu);
	size_t n = q->sent;
	pthread_mutex_unlock(&q->mu);
	return n;
}

void wf_request_queue_free(wf_request_queue *q)
{
	if (!q)
		return;
	pthread_mutex_lock(&q->mu);
	q->stopping = true;
	pthread_cond_broadcast(&q->cv);
	pthread_mutex_unlock(&q->mu);
	for (int i = 0; i < q->nthreads; i++)
		pthread_join(q->threads[i], NULL);
	free(q->threads);
	pthread_cond_destroy(&q->cv);
	pthread_mutex_destroy(&q->mu);
	free(q);
}
