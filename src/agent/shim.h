/*
 * shim.h - the per-container shim (`wharf shim DIR`), in the manner of
 * conmon: a small process that outlives the agent.
 *
 * The agent writes DIR/spec.json and starts the shim, forked by the shim
 * spawner (shim_spawner.h) or by exec'ing its own binary. The shim
 * detaches (setsid), forks the container process (which
 * joins its cgroup, becomes a process-group leader, changes directory and
 * execs the command with exactly the given environment), captures its
 * stdout and stderr into a log file in the CRI format kubelet uses
 * ("2026-11-22T06:52:38.123456789Z stdout F text"), enforces the log size
 * cap, and when the container exits writes DIR/exit.json atomically, then
 * exits itself. Because the container's output goes to the shim, not the
 * agent, an agent restart (even kill -9) neither stops nor orphans
 * containers: the new agent reads DIR/state.json and DIR/exit.json and
 * adopts them.
 *
 * spec.json (written by wf_shim_launch):
 *   {"command": ["prog", "arg", ...],   required, non-empty; prog is looked up
 *                                       in the PATH of env (or a default PATH)
 *    "env": ["K=V", ...],               optional; the container's whole environment
 *    "workingDir": "/",                 optional, default "/"
 *    "cgroupRoot": "/sys/fs/cgroup",    optional (wf_cgroups_detect's root)
 *    "cgroup": "group",                 optional; entered before exec unless the
 *                                       detected mode is NONE
 *    "log": "/path/to/0.log",           required; created (with its directory) at the
 *                                       first output, appended to, rotated to log.1
 *    "logMaxBytes": 10485760}           optional, 0 = no cap
 * state.json (written once exec succeeded):
 *   {"pid": 123, "pgid": 123, "startTime": <clock ticks, /proc/pid/stat field 22>,
 *    "startedAt": "2026-11-22T06:52:38Z"}
 * exit.json (written once the container exited, or failed to start):
 *   {"exitCode": 0, "signal": 0, "finishedAt": "2026-11-22T06:52:39Z",
 *    "reason": "Completed|Error|StartError", "message": "..." (StartError only)}
 *   exitCode is 128+signal when killed by one; for StartError it is 127 (not
 *   found), 126 (not executable) or 128 (bad spec, chdir, cgroup, log...).
 * Both are replaced atomically (tmp + rename); exit.json is written before
 * the container is reaped, so a reader never sees its pid gone without
 * exit.json. When the container's main process exits, what is left of its
 * process group is SIGKILLed, as a pid namespace would do. The shim's own
 * stdout/stderr go to DIR/shim.log.
 */
#ifndef WF_SHIM_H
#define WF_SHIM_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "agent/shim_spawner.h"
#include "lib/wf_err.h"

/* Entry point of `wharf shim DIR`: argv = {"shim", DIR}. Closes every
 * inherited fd but 0-2 first, so call it before opening anything. Returns
 * the process exit status: 0 once exit.json is written (whatever became of
 * the container), 1 when DIR or exit.json cannot be written, 2 on usage. */
int wf_shim_main(int argc, char **argv);

/* Write DIR/spec.json (creating DIR and its parents, removing an old
 * state.json / exit.json) and start the shim in its own session, with a
 * clean signal mask and default dispositions and no inherited fds but 0-2:
 * forked by sp when given (shim_spawner.h), else `self_exe shim DIR`
 * (self_exe: the wharf binary). Returns at once: state.json or exit.json
 * appear when the container has started or failed to (watch DIR, or poll
 * with wf_shim_read_state and wf_shim_gone). -WF_EINVAL for a spec that is
 * not an object, -WF_EIO when the directory cannot be written or the spawn
 * fails. *shim_pid gets the shim's pid (else -1); the caller reaps it
 * unless sp started it (sp reaps its own). Safe to call from a
 * multi-threaded process (posix_spawn or the spawner, no fork here). */
int wf_shim_start(const char *self_exe, wf_shim_spawner *sp, const char *dir,
		  const json_t *spec, pid_t *shim_pid, wf_err *err);
/* wf_shim_start, then wait until the container has started (state.json
 * exists) or failed to start (exit.json exists: read it with
 * wf_shim_read_state). Also -WF_EIO when the shim dies without a word or
 * nothing happens within about 10 s (*shim_pid is set then too). */
int wf_shim_launch(const char *self_exe, wf_shim_spawner *sp, const char *dir,
		   const json_t *spec, pid_t *shim_pid, wf_err *err);
/* Whether shim pid is gone: our own child that exited (*status gets its
 * exit status, the child is left unreaped), or, started by the spawner, no
 * such process any more (*status = -1). */
bool wf_shim_gone(pid_t pid, int *status);

typedef struct wf_shim_state {
	bool started; /* state.json present */
	pid_t pid;    /* container pid (also its process group) */
	uint64_t start_time;
	char started_at[40];
	bool running;  /* started, no exit.json, and pid alive with the same start time */
	bool exited;   /* exit.json present */
	int exit_code; /* 128+signal when killed by a signal */
	int signal;
	char finished_at[40];
	char reason[64];
	char message[256];
} wf_shim_state;

/* Read what DIR says about its container into *st (zeroed first).
 * -WF_ENOENT when DIR or DIR/spec.json is absent. A malformed or truncated
 * state.json or exit.json gives -WF_EINVAL (-WF_ETOOBIG over 64 KiB) with
 * the file named in err; *st then holds what the other file said, with
 * `started` / `exited` false for the bad one. `running` also checks that
 * the pid still exists with the recorded start time (pid reuse). */
int wf_shim_read_state(const char *dir, wf_shim_state *st, wf_err *err);

/* Signal the container's whole process group: kill(-pid, sig). Refuses
 * (-WF_ENOENT) when st->pid now belongs to another process (start time
 * differs), or when no process is left in the group; -WF_EINVAL when the
 * container never started. Processes that left the group (setsid) are
 * reached through the cgroup: wf_cgroup_kill. */
int wf_shim_signal(const wf_shim_state *st, int sig);

#endif
