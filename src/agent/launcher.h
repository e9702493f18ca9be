/*
 * launcher.h - starts shims on a thread of its own, so that the agent's
 * sync loop never waits for one: it queues a start and goes on, and hears
 * back through a callback.
 *
 * Starting a shim means writing its spec.json and asking the shim spawner
 * to fork (or exec'ing `wharf shim`), which takes a process switch or two;
 * on a loaded machine, milliseconds that every other pod would wait for if
 * the sync loop made them. Starts run one at a time, in the order queued.
 * Right before each, `wanted` is asked whether the start still stands (the
 * pod may be being deleted); one that does not is reported as skipped.
 */
#ifndef WF_LAUNCHER_H
#define WF_LAUNCHER_H

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

#include "agent/shim_spawner.h"
#include "lib/wf_err.h"

typedef struct wf_launcher wf_launcher;

/* Identifies one start: a container's attempt of a pod. */
typedef struct wf_launch_id {
	char uid[64];
	char ctr[256];
	int attempt;
} wf_launch_id;

typedef enum {
	WF_LAUNCH_STARTED, /* the shim runs: shim_pid is set */
	WF_LAUNCH_FAILED,  /* it could not be started: err says why */
	WF_LAUNCH_SKIPPED, /* `wanted` said no: nothing was started */
} wf_launch_result;

/* Whether the start of id still stands; called on the launcher's thread,
 * with no lock of the launcher held. */
typedef bool (*wf_launch_wanted_fn)(void *ctx, const wf_launch_id *id);
/* How a start went; called on the launcher's thread, no launcher lock held. */
typedef void (*wf_launch_done_fn)(void *ctx, const wf_launch_id *id, wf_launch_result res,
				  pid_t shim_pid, const wf_err *err);

/* A started launcher. sp (borrowed, may be NULL: exec self_exe) must
 * outlive it. */
wf_launcher *wf_launcher_new(const char *self_exe, wf_shim_spawner *sp, wf_launch_wanted_fn wanted,
			     wf_launch_done_fn done, void *ctx);
/* Queue the start of a shim in dir with spec (reference stolen). */
void wf_launcher_add(wf_launcher *l, const wf_launch_id *id, const char *dir, json_t *spec);
/* Stop the thread once the start under way (if any) is done; queued starts
 * are dropped unreported. NULL is a no-op. */
void wf_launcher_free(wf_launcher *l);

#endif
