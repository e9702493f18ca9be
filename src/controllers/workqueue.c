/*
 * workqueue.c - the deduplicating, delaying, rate-limited key queue.
 *
 * State, all under one mutex:
 *   fifo        keys ready to hand out, in order (each also in `dirty`)
 *   dirty       keys that must be processed (queued, or re-added while a
 *               worker held them)
 *   processing  keys a worker holds
 *   delayed     key -> earliest due time; `heap` orders the (due, key)
 *               entries, stale entries (due no longer matching `delayed`)
 *               are dropped when they surface
 *   failures    key -> rate-limited adds since the last forget
 * The sets are jansson objects used as string hash maps.
 */
#include "controllers/workqueue.h"
#include "lib/wf_mem.h"

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

typedef struct wf__wq_timer {
	int64_t due;
	char *key;
} wf__wq_timer;

struct wf_workqueue {
	pthread_mutex_t mu;
	pthread_cond_t cond;
	wf_workqueue_clock_fn clock;
	void *clock_ctx;
	int64_t base_ms, max_ms;
	bool shutdown;

	char **fifo;
	size_t head, tail, cap;

	json_t *dirty;
	json_t *processing;
	json_t *delayed;
	json_t *failures;

	wf__wq_timer *heap;
	size_t nheap, heapcap;
};

static int64_t wf__mono_ms(void *ctx)
{
	(void)ctx;
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

wf_workqueue *wf_workqueue_new(int64_t base_ms, int64_t max_ms, wf_workqueue_clock_fn clock,
			       void *clock_ctx)
{
	wf_workqueue *q = wf_xcalloc(1, sizeof *q);
	pthread_mutex_init(&q->mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&q->cond, &ca);
	pthread_condattr_destroy(&ca);
	q->clock = clock ? clock : wf__mono_ms;
	q->clock_ctx = clock_ctx;
	q->base_ms = base_ms < 1 ? 1 : base_ms;
	q->max_ms = max_ms < q->base_ms ? q->base_ms : max_ms;
	q->dirty = json_object();
	q->processing = json_object();
	q->delayed = json_object();
	q->failures = json_object();
	return q;
}

void wf_workqueue_free(wf_workqueue *q)
{
	if (!q)
		return;
	for (size_t i = q->head; i < q->tail; i++)
		free(q->fifo[i]);
	free(q->fifo);
	for (size_t i = 0; i < q->nheap; i++)
		free(q->heap[i].key);
	free(q->heap);
	json_decref(q->dirty);
	json_decref(q->processing);
	json_decref(q->delayed);
	json_decref(q->failures);
	pthread_cond_destroy(&q->cond);
	pthread_mutex_destroy(&q->mu);
	free(q);
}

/* ---- fifo and heap ---------------------------------------------------------- */

static void wf__fifo_push(wf_workqueue *q, const char *key)
{
	if (q->tail == q->cap) {
		if (q->head > q->cap / 2) {
			memmove(q->fifo, q->fifo + q->head, (q->tail - q->head) * sizeof *q->fifo);
			q->tail -= q->head;
			q->head = 0;
		} else {
			q->cap = q->cap ? q->cap * 2 : 64;
			q->fifo = wf_xrealloc(q->fifo, q->cap * sizeof *q->fifo);
		}
	}
	q->fifo[q->tail++] = wf_xstrdup(key);
}

static void wf__heap_push(wf_workqueue *q, int64_t due, const char *key)
{
	if (q->nheap == q->heapcap) {
		q->heapcap = q->heapcap ? q->heapcap * 2 : 32;
		q->heap = wf_xrealloc(q->heap, q->heapcap * sizeof *q->heap);
	}
	size_t i = q->nheap++;
	q->heap[i] = (wf__wq_timer){.due = due, .key = wf_xstrdup(key)};
	while (i > 0) {
		size_t p = (i - 1) / 2;
		if (q->heap[p].due <= q->heap[i].due)
			break;
		wf__wq_timer t = q->heap[p];
		q->heap[p] = q->heap[i];
		q->heap[i] = t;
		i = p;
	}
}

static wf__wq_timer wf__heap_pop(wf_workqueue *q)
{
	wf__wq_timer top = q->heap[0];
	q->heap[0] = q->heap[--q->nheap];
	size_t i = 0;
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < q->nheap && q->heap[l].due < q->heap[m].due)
			m = l;
		if (r < q->nheap && q->heap[r].due < q->heap[m].due)
			m = r;
		if (m == i)
			break;
		wf__wq_timer t = q->heap[m];
		q->heap[m] = q->heap[i];
		q->heap[i] = t;
		i = m;
	}
	return top;
}

/* ---- core ------------------------------------------------------------------- */

static void wf__add_locked(wf_workqueue *q, const char *key)
{
	json_object_del(q->delayed, key);
	if (json_object_get(q->dirty, key))
		return;
	json_object_set_new_nocheck(q->dirty, key, json_true());
	if (json_object_get(q->processing, key))
		return; /* done() queues it again */
	wf__fifo_push(q, key);
	pthread_cond_signal(&q->cond);
}

/* Move delayed keys whose time has come into the fifo. */
static void wf__promote_locked(wf_workqueue *q, int64_t now)
{
	while (q->nheap && q->heap[0].due <= now) {
		wf__wq_timer t = wf__heap_pop(q);
		json_t *due = json_object_get(q->delayed, t.key);
		if (due && json_integer_value(due) == t.due)
			wf__add_locked(q, t.key);
		free(t.key);
	}
}

void wf_workqueue_add(wf_workqueue *q, const char *key)
{
	if (!key)
		return;
	pthread_mutex_lock(&q->mu);
	if (!q->shutdown)
		wf__add_locked(q, key);
	pthread_mutex_unlock(&q->mu);
}

static void wf__add_after_locked(wf_workqueue *q, const char *key, int64_t delay_ms)
{
	if (delay_ms <= 0) {
		wf__add_locked(q, key);
		return;
	}
	/* Already due to run: the delayed add would only repeat it. */
	if (json_object_get(q->dirty, key) && !json_object_get(q->processing, key))
		return;
	int64_t due = q->clock(q->clock_ctx) + delay_ms;
	json_t *cur = json_object_get(q->delayed, key);
	if (cur && json_integer_value(cur) <= due)
		return;
	json_object_set_new_nocheck(q->delayed, key, json_integer(due));
	wf__heap_push(q, due, key);
	pthread_cond_signal(&q->cond);
}

void wf_workqueue_add_after(wf_workqueue *q, const char *key, int64_t delay_ms)
{
	if (!key)
		return;
	pthread_mutex_lock(&q->mu);
	if (!q->shutdown)
		wf__add_after_locked(q, key, delay_ms);
	pthread_mutex_unlock(&q->mu);
}

void wf_workqueue_add_rate_limited(wf_workqueue *q, const char *key)
{
	if (!key)
		return;
	pthread_mutex_lock(&q->mu);
	if (!q->shutdown) {
		json_int_t n = json_integer_value(json_object_get(q->failures, key));
		json_object_set_new_nocheck(q->failures, key, json_integer(n + 1));
		int64_t delay = q->base_ms;
		for (json_int_t i = 0; i < n && delay < q->max_ms; i++)
			delay *= 2;
		if (delay > q->max_ms)
			delay = q->max_ms;
		wf__add_after_locked(q, key, delay);
	}
	pthread_mutex_unlock(&q->mu);
}

void wf_workqueue_forget(wf_workqueue *q, const char *key)
{
	if (!key)
		return;
	pthread_mutex_lock(&q->mu);
	json_object_del(q->failures, key);
	pthread_mutex_unlock(&q->mu);
}

int wf_workqueue_requeues(wf_workqueue *q, const char *key)
{
	if (!key)
		return 0;
	pthread_mutex_lock(&q->mu);
	int n = (int)json_integer_value(json_object_get(q->failures, key));
	pthread_mutex_unlock(&q->mu);
	return n;
}

/* Take the next ready key, or NULL. */
static char *wf__take_locked(wf_workqueue *q)
{
	wf__promote_locked(q, q->clock(q->clock_ctx));
	if (q->head == q->tail)
		return NULL;
	char *key = q->fifo[q->head++];
	if (q->head == q->tail)
		q->head = q->tail = 0;
	json_object_set_new_nocheck(q->processing, key, json_true());
	json_object_del(q->dirty, key);
	return key;
}

char *wf_workqueue_try_get(wf_workqueue *q)
{
	pthread_mutex_lock(&q->mu);
	char *key = q->shutdown ? NULL : wf__take_locked(q);
	pthread_mutex_unlock(&q->mu);
	return key;
}

char *wf_workqueue_get(wf_workqueue *q)
{
	pthread_mutex_lock(&q->mu);
	char *key = NULL;
	while (!q->shutdown && !(key = wf__take_locked(q))) {
		/* Sleep until the next delayed key is due (at most a second, so a
		 * test clock that jumps is noticed too). */
		int64_t wait = 1000;
		if (q->nheap) {
			int64_t left = q->heap[0].due - q->clock(q->clock_ctx);
			if (left < wait)
				wait = left < 1 ? 1 : left;
		}
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_sec += wait / 1000;
		ts.tv_nsec += (wait % 1000) * 1000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&q->cond, &q->mu, &ts);
	}
	pthread_mutex_unlock(&q->mu);
	return key;
}

void wf_workqueue_done(wf_workqueue *q, char *key)
{
	if (!key)
		return;
	pthread_mutex_lock(&q->mu);
	json_object_del(q->processing, key);
	if (!q->shutdown && json_object_get(q->dirty, key)) {
		wf__fifo_push(q, key);
		pthread_cond_signal(&q->cond);
	}
	pthread_mutex_unlock(&q->mu);
	free(key);
}

size_t wf_workqueue_len(wf_workqueue *q)
{
	pthread_mutex_lock(&q->mu);
	size_t n = q->tail - q->head;
	pthread_mutex_unlock(&q->mu);
	return n;
}

size_t wf_workqueue_delayed_len(wf_workqueue *q)
{
	pthread_mutex_lock(&q->mu);
	size_t n = json_object_size(q->delayed);
	pthread_mutex_unlock(&q->mu);
	return n;
}

void wf_workqueue_shutdown(wf_workqueue *q)
{
	pthread_mutex_lock(&q->mu);
	q->shutdown = true;
	pthread_cond_broadcast(&q->cond);
	pthread_mutex_unlock(&q->mu);
}
