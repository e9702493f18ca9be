/*
 * post_queue.c - the bounded FIFO of fire-and-forget POSTs and its worker
 * threads (see post_queue.h).
 *
 * One mutex guards the list and the counters; workers sleep on a condition
 * variable while the list is empty and leave once `stopping` is set and the
 * list is drained, so wf_post_queue_free sends everything queued before it.
 */
#include "client/post_queue.h"

#include <pthread.h>
#include <stdlib.h>

#include "lib/wf_mem.h"

typedef struct wf__post {
	struct wf__post *next;
	char *path;
	json_t *body;
} wf__post;

struct wf_post_queue {
	wf_client *client;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	wf__post *head, *tail;
	size_t n, max, dropped, sent;
	bool stopping;
	pthread_t *threads;
	int nthreads;
};

static void *wf__post_main(void *arg)
{
	wf_post_queue *q = arg;
	pthread_mutex_lock(&q->mu);
	for (;;) {
		while (!q->head && !q->stopping)
			pthread_cond_wait(&q->cv, &q->mu);
		wf__post *p = q->head;
		if (!p)
			break; /* stopping and drained */
		q->head = p->next;
		if (!q->head)
			q->tail = NULL;
		q->n--;
		pthread_mutex_unlock(&q->mu);
		long code = 0;
		wf_client_do(q->client, "POST", p->path, p->body, NULL, &code, NULL, NULL);
		free(p->path);
		json_decref(p->body);
		free(p);
		pthread_mutex_lock(&q->mu);
		q->sent++;
	}
	pthread_mutex_unlock(&q->mu);
	return NULL;
}

wf_post_queue *wf_post_queue_new(wf_client *client, int threads, size_t max)
{
	wf_post_queue *q = wf_xcalloc(1, sizeof *q);
	q->client = client;
	q->max = max ? max : 1;
	q->nthreads = threads > 0 ? threads : 1;
	pthread_mutex_init(&q->mu, NULL);
	pthread_cond_init(&q->cv, NULL);
	q->threads = wf_xcalloc((size_t)q->nthreads, sizeof *q->threads);
	for (int i = 0; i < q->nthreads; i++)
		pthread_create(&q->threads[i], NULL, wf__post_main, q);
	return q;
}

bool wf_post_queue_add(wf_post_queue *q, const char *path, json_t *body)
{
	pthread_mutex_lock(&q->mu);
	if (q->stopping || q->n >= q->max) {
		q->dropped++;
		pthread_mutex_unlock(&q->mu);
		json_decref(body);
		return false;
	}
	wf__post *p = wf_xcalloc(1, sizeof *p);
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

size_t wf_post_queue_dropped(wf_post_queue *q)
{
	pthread_mutex_lock(&q->mu);
	size_t n = q->dropped;
	pthread_mutex_unlock(&q->mu);
	return n;
}

size_t wf_post_queue_sent(wf_post_queue *q)
{
	pthread_mutex_lock(&q->mu);
	size_t n = q->sent;
	pthread_mutex_unlock(&q->mu);
	return n;
}

void wf_post_queue_free(wf_post_queue *q)
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
