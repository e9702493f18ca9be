/*
 * launcher.c - a FIFO of shim starts and the thread that runs them (see
 * launcher.h).
 */
#include "agent/launcher.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "agent/shim.h"
#include "lib/wf_mem.h"

typedef struct wf__launch {
	struct wf__launch *next;
	wf_launch_id id;
	char *dir;
	json_t *spec;
} wf__launch;

struct wf_launcher {
	char *self_exe;
	wf_shim_spawner *sp;
	wf_launch_wanted_fn wanted;
	wf_launch_done_fn done;
	void *ctx;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	wf__launch *head, *tail;
	bool stopping;
};

static void wf__launch_free(wf__launch *x)
{
	free(x->dir);
	json_decref(x->spec);
	free(x);
}

static void wf__run(wf_launcher *l, wf__launch *x)
{
	if (!l->wanted(l->ctx, &x->id)) {
		l->done(l->ctx, &x->id, WF_LAUNCH_SKIPPED, -1, NULL);
		return;
	}
	wf_err err = {0};
	pid_t pid = -1;
	if (wf_shim_start(l->self_exe, l->sp, x->dir, x->spec, &pid, &err) < 0)
		l->done(l->ctx, &x->id, WF_LAUNCH_FAILED, pid, &err);
	else
		l->done(l->ctx, &x->id, WF_LAUNCH_STARTED, pid, NULL);
}

static void *wf__launcher_main(void *arg)
{
	wf_launcher *l = arg;
	pthread_mutex_lock(&l->mu);
	for (;;) {
		while (!l->head && !l->stopping)
			pthread_cond_wait(&l->cv, &l->mu);
		if (l->stopping)
			break;
		wf__launch *x = l->head;
		l->head = x->next;
		if (!l->head)
			l->tail = NULL;
		pthread_mutex_unlock(&l->mu);
		wf__run(l, x);
		wf__launch_free(x);
		pthread_mutex_lock(&l->mu);
	}
	pthread_mutex_unlock(&l->mu);
	return NULL;
}

wf_launcher *wf_launcher_new(const char *self_exe, wf_shim_spawner *sp, wf_launch_wanted_fn wanted,
			     wf_launch_done_fn done, void *ctx)
{
	wf_launcher *l = wf_xcalloc(1, sizeof *l);
	l->self_exe = wf_xstrdup(self_exe ? self_exe : "");
	l->sp = sp;
	l->wanted = wanted;
	l->done = done;
	l->ctx = ctx;
	pthread_mutex_init(&l->mu, NULL);
	pthread_cond_init(&l->cv, NULL);
	pthread_create(&l->thread, NULL, wf__launcher_main, l);
	return l;
}

void wf_launcher_add(wf_launcher *l, const wf_launch_id *id, const char *dir, json_t *spec)
{
	wf__launch *x = wf_xcalloc(1, sizeof *x);
	x->id = *id;
	x->dir = wf_xstrdup(dir);
	x->spec = spec;
	pthread_mutex_lock(&l->mu);
	if (l->tail)
		l->tail->next = x;
	else
		l->head = x;
	l->tail = x;
	pthread_cond_signal(&l->cv);
	pthread_mutex_unlock(&l->mu);
}

void wf_launcher_free(wf_launcher *l)
{
	if (!l)
		return;
	pthread_mutex_lock(&l->mu);
	l->stopping = true;
	pthread_cond_broadcast(&l->cv);
	pthread_mutex_unlock(&l->mu);
	pthread_join(l->thread, NULL);
	for (wf__launch *x = l->head, *next; x; x = next) {
		next = x->next;
		wf__launch_free(x);
	}
	pthread_cond_destroy(&l->cv);
	pthread_mutex_destroy(&l->mu);
	free(l->self_exe);
	free(l);
}
