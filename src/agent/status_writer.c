/*
 * status_writer.c - per-worker FIFOs of pod status writes (see
 * status_writer.h).
 *
 * Each worker is a one-thread wf_fifo that drains when freed. put merges
 * into the write of the same uid still waiting in that FIFO (its status
 * replaced, metadata patches merged), so a pod's order is kept and at most
 * one write per pod waits; otherwise it appends. The worker sends a write
 * with no lock held, then reports through `done`.
 */
#include "agent/status_writer.h"

#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/wf_fifo.h"
#include "lib/wf_hash.h"
#include "lib/wf_mem.h"

typedef struct wf__write {
	wf_fifo_job job; /* first */
	char *path, *uid;
	char *status; /* the status as JSON text, or NULL */
	json_t *meta; /* a patch of metadata ({"metadata": {...}}), or NULL */
} wf__write;

struct wf_status_writer {
	wf_client *client;
	wf_status_done_fn done;
	void *ctx;
	wf_fifo **workers;
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
static void wf__send(void *ctx, wf_fifo_job *job)
{
	wf_status_writer *w = ctx;
	wf__write *x = (wf__write *)job;
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
	wf__write_free(x);
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
	for (int i = 0; i < w->n; i++)
		w->workers[i] = wf_fifo_new("wf-status", 1, true, wf__send, NULL, w);
	return w;
}

static wf_fifo *wf__worker_of(wf_status_writer *w, const char *uid)
{
	uint32_t h = wf_fnv1a32(WF_FNV32_BASIS, uid, strlen(uid));
	return w->workers[h % (uint32_t)w->n];
}

void wf_status_writer_put(wf_status_writer *w, const char *ns, const char *name, const char *uid,
			  const char *status, json_t *meta)
{
	wf_fifo *k = wf__worker_of(w, uid);
	wf_fifo_lock(k);
	wf__write *x = (wf__write *)wf_fifo_first_locked(k);
	while (x && strcmp(x->uid, uid))
		x = (wf__write *)x->job.next;
	if (!x) {
		x = wf_xcalloc(1, sizeof *x);
		x->path = wf_xasprintf("/api/v1/namespaces/%s/pods/%s/status", ns, name);
		x->uid = wf_xstrdup(uid);
		wf_fifo_push_locked(k, &x->job);
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
	wf_fifo_unlock(k);
}

void wf_status_writer_free(wf_status_writer *w)
{
	if (!w)
		return;
	for (int i = 0; i < w->n; i++)
		wf_fifo_close(w->workers[i]); /* all drain at once */
	for (int i = 0; i < w->n; i++)
		wf_fifo_free(w->workers[i]);
	free(w->workers);
	free(w);
}
