/*
 * agent_internal.h - state shared by the files of the agent.
 *
 * Threads: the watch thread keeps `cache` (the pods bound to this node, by
 * uid) current; the sync thread owns `rts` (what runs here) and does all
 * process work; the exits thread wakes the sync thread when a shim writes
 * state.json or exit.json (inotify), so exits are seen at once rather than
 * at the next poll; the probe thread reads and updates probe results under
 * `mu`; the heartbeat thread renews the Lease and node status; the log
 * server answers /containerLogs; the event queue's workers post Events.
 * `mu` guards cache, rts, rt_by_uid and everything in them.
 */
#ifndef WF_AGENT_INTERNAL_H
#define WF_AGENT_INTERNAL_H

#include "agent/agent.h"
#include "agent/cgroup.h"
#include "client/client.h"
#include "client/request_queue.h"
#include "agent/gpu.h"
#include "agent/probe_state.h"
#include "agent/shim.h"
#include "agent/launcher.h"
#include "agent/status_writer.h"
#include "lib/wf_mem.h"
#include "lib/wf_smap.h"

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>

#define WF_GPU_ANNOTATION "wharf.io/gpus"
#define WF_MAX_GPUS_PER_CTR 64

typedef struct wf_ctr_rt {
	char name[128];
	bool init;
	json_t *spec;	     /* the container's spec (borrowed from pod) */
	int attempt;	     /* current attempt; -1 before the first start */
	wf_shim_state st;    /* state of the current attempt */
	uint64_t oom_base;   /* cgroup OOM count when the attempt started */
	bool oom;	     /* the current attempt was OOM-killed */
	int64_t backoff_until_ms;
	int64_t backoff_ms;
	int64_t running_since_ms;
	json_t *last_term;	/* lastState.terminated (owned), or NULL */
	json_t *waiting;	/* state.waiting override (owned), or NULL */
	bool done;		/* finished and will not run again */
	wf_probe_set probes;	/* startup/liveness/readiness of the current attempt */
	bool probe_kill;	/* killed after a failed liveness/startup probe */
	char gpu_uuids[WF_MAX_GPUS_PER_CTR][96];
	int gpu_indices[WF_MAX_GPUS_PER_CTR];
	size_t ngpus;
	int wd; /* inotify watch on the attempt's directory, or -1 */
	bool launching;		    /* start queued or shim started; neither state.json
				       nor exit.json yet */
	bool launch_queued;	    /* the launcher has not reported on the start yet */
	pid_t shim_pid;		    /* of the current attempt (0: unknown, adopted) */
	int64_t launch_deadline_ms; /* a start still under way then has failed (counted
				       from the launcher's report) */
} wf_ctr_rt;

typedef struct wf_pod_rt {
	char uid[64];
	char ns[256];
	char name[256];
	json_t *pod; /* latest copy from the cache (owned) */
	wf_ctr_rt *ctrs;
	size_t nctrs, ninit;
	bool admitted;
	bool rejected;
	bool terminal; /* phase Succeeded/Failed reached */
	bool released; /* GPUs and cgroups given back */
	bool settled;  /* terminal, released and reported: no more syncs */
	bool killing;
	bool sigkilled;
	int64_t kill_deadline_ms;
	char *last_status; /* JSON text of the status last queued for writing */
	json_t *meta_patch; /* metadata to write with the next status (GPU annotation) */
	bool status_acked; /* the API server accepted last_status */
	int64_t start_ms;
	char start_time[40];
	struct wf_pod_rt *next;
} wf_pod_rt;

typedef struct wf_agent {
	wf_agent_options o;
	wf_client *client;
	wf_cgroups *cgroups;
	wf_gpu_pool *gpus;
	wf_gpu_device *devs;
	size_t ndevs;
	char *pods_dir; /* <run-dir or data-dir>/pods: one directory per pod uid */
	char *logs_dir; /* <data-dir>/logs: <uid>/<container>/<attempt>.log */
	char *node_uid;

	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool full_sync;	     /* sync every pod at the next pass (relist, start) */
	wf_smap dirty_uids; /* pods to sync at the next pass (no values) */
	char **wd_uid;	     /* inotify watch descriptor -> uid of its pod, or NULL */
	size_t nwd;
	volatile bool stop;
	json_t *cache;	 /* uid -> pod object */
	bool cache_synced; /* first list done: absent pods are really gone */
	wf_pod_rt *rts;
	wf_smap rt_by_uid; /* uid -> wf_pod_rt * in rts */
	wf_shim_spawner *spawner; /* NULL: shims are exec'd */
	pid_t *shims;		  /* shims exec'd by this agent, not yet reaped */
	size_t nshims;
	wf_request_queue *requests; /* Events */
	wf_status_writer *statuses;
	wf_launcher *launcher; /* starts shims off the sync loop */
	int ino_fd; /* inotify on attempt directories, or -1 */

	pthread_t watch_thread, sync_thread, probe_thread, beat_thread, exits_thread;
} wf_agent;

int64_t wf_agent_now_ms(void);

/* pods.c */
void *wf_agent_sync_main(void *arg);
void *wf_agent_exits_main(void *arg);
/* Have the sync loop look at pod uid at its next pass (mu held). */
void wf_agent_mark(wf_agent *a, const char *uid);
/* The launcher's questions and reports (ctx is the agent). */
bool wf_agent_launch_wanted(void *ctx, const wf_launch_id *id);
void wf_agent_launched(void *ctx, const wf_launch_id *id, wf_launch_result res, pid_t shim_pid,
		       const wf_err *err);
/* The status writer's report (wf_status_done_fn; ctx is the agent). */
void wf_agent_status_done(void *ctx, const char *uid, const char *status, bool ok);
/* Free every runtime record (at shutdown). */
void wf_agent_rts_free(wf_agent *a);
void *wf_agent_probe_main(void *arg);
void wf_agent_adopt(wf_agent *a);
void wf_agent_event(wf_agent *a, const json_t *pod, const char *type, const char *reason,
		    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* env.c: the container's environment as "K=V" strings (NULL-terminated,
 * caller frees with wf_agent_env_free). -WF_ENOENT with a message when a
 * referenced ConfigMap/Secret/key is missing and not optional. */
int wf_agent_build_env(wf_agent *a, const json_t *pod, const json_t *ctr, const wf_ctr_rt *c,
		       char ***out, wf_err *err);
void wf_agent_env_free(char **env);

/* logserver.c */
int wf_agent_logserver_start(wf_agent *a, wf_err *err);
void wf_agent_logserver_stop(wf_agent *a);
/* Directory of one attempt of a container (under pods_dir). Caller frees. */
char *wf_agent_attempt_dir(const wf_agent *a, const char *uid, const char *ctr, int attempt);
/* Log file of one attempt of a container (under logs_dir, as kubelet's
 * /var/log/pods); rotated to "<path>.1". Caller frees. */
char *wf_agent_log_path(const wf_agent *a, const char *uid, const char *ctr, int attempt);

#endif
