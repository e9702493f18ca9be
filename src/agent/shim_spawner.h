/*
 * shim_spawner.h - starts shims by fork instead of exec.
 *
 * Exec'ing the wharf binary for each container costs ~9 ms here, nearly
 * all of it the dynamic loader mapping and relocating dozens of shared
 * libraries. The spawner is a small process forked from the agent while the
 * agent still has one thread; on request it forks a child that becomes the
 * shim (wf_shim_main, as `wharf shim DIR` would run it) without exec. The
 * agent talks to it over a SOCK_SEQPACKET socketpair: request "DIR\0LOG\0",
 * answer the shim's pid (or -errno). The spawner reaps its children (the
 * shims), ignores SIGINT and SIGHUP (the agent decides when to stop), and
 * exits when the agent's end of the socket closes; the shims, in their own
 * sessions, keep running, as with an exec'd shim.
 */
#ifndef WF_SHIM_SPAWNER_H
#define WF_SHIM_SPAWNER_H

#include <sys/types.h>

#include "lib/wf_err.h"

typedef struct wf_shim_spawner wf_shim_spawner;

/* Fork the spawner. Call while the process has a single thread (fork in a
 * multi-threaded process may deadlock the child). -WF_EIO with err when
 * the socketpair or fork fails. */
int wf_shim_spawner_start(wf_shim_spawner **out, wf_err *err);
/* Start a shim for dir with stdin /dev/null and stdout/stderr appended to
 * log, in its own session with a clean signal mask and default signal
 * dispositions. Thread-safe. *pid gets its pid. -WF_EIO with err when the
 * spawner is gone or the fork failed. */
int wf_shim_spawner_spawn(wf_shim_spawner *sp, const char *dir, const char *log, pid_t *pid,
			  wf_err *err);
/* Close the socket (the spawner exits) and wait for it. NULL is a no-op. */
void wf_shim_spawner_stop(wf_shim_spawner *sp);

#endif
