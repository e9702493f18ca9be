/*
 * status_writer.c - per-worker FIFOs of pod status writes (see
 * status_writer.h).
 *
 * Each worker owns a FIFO and a mutex. put replaces the status of a status
 * write of the same uid still waiting in that FIFO (so a pod's order is
 * kept and at most one status write per pod waits); otherwise it appends. A worker takes
 * the head, sends it without its lock held, then reports through `done`.
 */
#include "agent/status_writer.h"
#include "lib/wf_hash.h"

#include <jansson.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/wf_mem.h"

typedef struct wf__write {
	struct wf__write *next;
	char *path, *uid;
	char *status; /* a status write: the status as JSON text */
	json_t *meta; /* else a metadata patch */
} wf__write;

typedef struct wf__worker {
	struct wf_status_writer *w;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	wf__write *head, *tail;
	bool stopping;
} wf__worker;

struct wf_status_writer {
	wf_client *client;
	wf_status_done_fn done;
	void *ctx;
	wf__worker *workers;
	int n;
};

static void wf__write_free(wf__write *x)
{
	free(x->path);
	free(x->uid);
	free(x->status);
	json_decref(x->meta);
	free(x);
}

static void wf__send(wf_status_writer *w, wf__write *x)
{
	long code = 0;
	if (x->meta) {
		wf_client_do(w->client, "PATCH", x->path, x->meta, "application/merge-patch+json",
			     &code, NULL, NULL);
		return;
	}
	json_t *st = json_loads(x->status, 0, NULL);
	bool ok = false;
	if (st) {
		json_t *patch = json_pack("{s:o}", "status", st);
		int rc = wf_client_do(w->client, "PATCH", x->path, patch,
				      "application/merge-patch+json", &code, NULL, NULL);
		json_decref(patch);
		ok = rc == 0 && code == 200;
	}
	w->done(w->ctx, x->uid, x->status, ok);
}

static void *wf__worker_main(void *arg)
{
	wf__worker *k = arg;
	pthread_mutex_lock(&k->mu);
	for (;;) {
		while (!k->head && !k->stopping)
			pthread_cond_wait(&k->cv, &k->mu);
		wf__write *x = k->head;
		if (!x)
			break; /* stopping and drained */
		k->head = x->next;
		if (!k->head)
			k->tail = NULL;
		pthread_mutex_unlock(&k->mu);
		wf__send(k->w, x);
		wf__write_free(x);
		pthread_mutex_lock(&k->mu);
	}
	pthread_mutex_unlock(&k->mu);
	return NULL;
}

wf_status_writer *wf_status_writer_new(wf_client *client, int workers, wf_status_done_fn done,
				       void *ctx)
{
	wf_status_writer *w = wf_xcalloc(1, sizeof *w);
	w->client = client;
	w->done = done;
	w->ctx = ctx;
	w->n = workers > 0 ? workers : 1;
	w->workers = wf_xcalloc((size_t)w->n, sizeof *w->workers);
	for (int i = 0; i < w->n; i++) {
		wf__worker *k = &w->workers[i];
		k->w = w;
		pthread_mutex_init(&k->mu, NULL);
		pthread_cond_init(&k->cv, NULL);
		pthread_create(&k->thread, NULL, wf__worker_main, k);
	}
	return w;
}

static wf__worker *wf__worker_of(wf_status_writer *w, const char *uid)
{
	uint32_t h = wf_fnv1a32(WF_FNV32_BASIS, uid, strlen(uid));
	return &w->workers[h % (uint32_t)w->n];
}

/* Append x to k's FIFO; k->mu held. */
static void wf__append(wf__worker *k, wf__write *x)
{
	if (k->tail)
		k->tail->next = x;
	else
		k->head = x;
	k->tail = x;
	pthread_cond_signal(&k->cv);
}

void wf_status_writer_put(wf_status_writer *w, const char *ns, const char *name, const char *uid,
			  const char *status)
{
	wf__worker *k = wf__worker_of(w, uid);
	pthread_mutex_lock(&k->mu);
	for (wf__write *x = k->head; x; x = x->next) {
		if (x->status && !strcmp(x->uid, uid)) {
			free(x->status);
			x->status = wf_xstrdup(status);
			pthread_mutex_unlock(&k->mu);
			return;
		}
	}
	wf__write *x = wf_xcalloc(1, sizeof *x);
	x->path = wf_xasprintf("/api/v1/namespaces/%s/pods/%s/status", ns, name);
	x->uid = wf_xstrdup(uid);
	x->status = wf_xstrdup(status);
	wf__append(k, x);
	pthread_mutex_unlock(&k->mu);
}

void wf_status_writer_put_meta(wf_status_writer *w, const char *ns, const char *name,
			       const char *uid, json_t *patch)
{
	wf__worker *k = wf__worker_of(w, uid);
	wf__write *x = wf_xcalloc(1, sizeof *x);
	x->path = wf_xasprintf("/api/v1/namespaces/%s/pods/%s", ns, name);
	x->uid = wf_xstrdup(uid);
	x->meta = patch;
	pthread_mutex_lock(&k->mu);
	wf__append(k, x);
	pthread_mutex_unlock(&k->mu);
}

void wf_status_writer_free(wf_status_writer *w)
{
	if (!w)
		return;
	for (int i = 0; i < w->n; i++) {
		wf__worker *k = &w->workers[i];
		pthread_mutex_lock(&k->mu);
		k->stopping = true;
		pthread_cond_broadcast(&k->cv);
		pthread_mutex_unlock(&k->mu);
	}
	for (int i = 0; i < w->n; i++) {
		wf__worker *k = &w->workers[i];
		pthread_join(k->thread, NULL);
		pthread_cond_destroy(&k->cv);
		pthread_mutex_destroy(&k->mu);
	}
	free(w->workers);
	free(w);
}
