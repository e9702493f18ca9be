/*
 * launcher.c - shim starts on a one-worker wf_fifo (see launcher.h).
 */
#include "agent/launcher.h"

#include <stdlib.h>
#include <string.h>

#include "agent/shim.h"
#include "lib/wf_fifo.h"
#include "lib/wf_mem.h"

typedef struct wf__launch {
	wf_fifo_job job; /* first */
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
	wf_fifo *fifo; /* one worker; what is not taken at free is dropped */
};

static void wf__launch_free(void *ctx, wf_fifo_job *job)
{
	wf__launch *x = (wf__launch *)job;
	free(x->dir);
	json_decref(x->spec);
	free(x);
}

static void wf__run(void *ctx, wf_fifo_job *job)
{
	wf_launcher *l = ctx;
	wf__launch *x = (wf__launch *)job;
	if (!l->wanted(l->ctx, &x->id)) {
		l->done(l->ctx, &x->id, WF_LAUNCH_SKIPPED, -1, NULL);
	} else {
		wf_err err = {0};
		pid_t pid = -1;
		if (wf_shim_start(l->self_exe, l->sp, x->dir, x->spec, &pid, &err) < 0)
			l->done(l->ctx, &x->id, WF_LAUNCH_FAILED, pid, &err);
		else
			l->done(l->ctx, &x->id, WF_LAUNCH_STARTED, pid, NULL);
	}
	wf__launch_free(ctx, job);
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
	l->fifo = wf_fifo_new("wf-launcher", 1, false, wf__run, wf__launch_free, l);
	return l;
}

void wf_launcher_add(wf_launcher *l, const wf_launch_id *id, const char *dir, json_t *spec)
{
	wf__launch *x = wf_xcalloc(1, sizeof *x);
	x->id = *id;
	x->dir = wf_xstrdup(dir);
	x->spec = spec;
	wf_fifo_push(l->fifo, &x->job);
}

void wf_launcher_free(wf_launcher *l)
{
	if (!l)
		return;
	wf_fifo_free(l->fifo);
	free(l->self_exe);
	free(l);
}
