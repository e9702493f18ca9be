/*
 * status_writer.c - per-worker FIFOs of pod status writes (see
 * status_writer.h).
 *
 * Each worker owns a FIFO and a mutex. put merges into the write of the
 * same uid still waiting in that FIFO (its status replaced, metadata patches
 * merged), so a pod's order is kept and at most one write per pod waits;
 * otherwise it appends. A worker takes the head, sends it without its lock
 * held, then reports through `done`.
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
	char *status; /* the status as JSON text, or NULL */
	json_t *meta; /* a patch of metadata ({"metadata": {...}}), or NULL */
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

/* One PATCH of pods/status: the metadata patch, if any, and the status. */
static void wf__send(wf_status_writer *w, wf__write *x)
{
	long code = 0;
	json_t *body = x->meta ? json_deep_copy(x->meta) : json_object();
	json_t *st = x->status ? json_loads(x->status, 0, NULL) : NULL;
	if (st)
		json_object_set_new(body, "status", st);
	int rc = -1;
	if (st || !x->status)
		rc = wf_client_do(w->client, "PATCH", x->path, body, "application/merge-patch+json",
				  &code, NULL, NULL);
	json_decref(body);
	if (x->status)
		w->done(w->ctx, x->uid, x->status, rc == 0 && code == 200);
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
			  const char *status, json_t *meta)
{
	wf__worker *k = wf__worker_of(w, uid);
	pthread_mutex_lock(&k->mu);
	wf__write *x = k->head;
	while (x && strcmp(x->uid, uid))
		x = x->next;
	if (!x) {
		x = wf_xcalloc(1, sizeof *x);
		x->path = wf_xasprintf("/api/v1/namespaces/%s/pods/%s/status", ns, name);
		x->uid = wf_xstrdup(uid);
		wf__append(k, x);
	}
	if (status) {
		free(x->status);
		x->status = wf_xstrdup(status);
	}
	if (meta && x->meta) {
		json_object_update_recursive(x->meta, meta);
		json_decref(meta);
	} else if (meta) {
		x->meta = meta;
	}
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
