/*
 * controllers_internal.h - what the controllers share: the manager (API
 * client, shared informers, stop flag) and small helpers for writing
 * through the API. Not part of the public surface (controllers.h).
 *
 * Invariants: the shared informers are created and started by the manager
 * before any controller starts and freed after every controller stopped;
 * controllers only read them (and register handlers before the start).
 */
#ifndef WF_CONTROLLERS_INTERNAL_H
#define WF_CONTROLLERS_INTERNAL_H

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "client/client.h"
#include "controllers/controllers.h"
#include "controllers/workqueue.h"
#include "controllers/informer.h"

typedef struct wf__jobctl wf__jobctl;
typedef struct wf__nodelc wf__nodelc;
typedef struct wf__gc wf__gc;
typedef struct wf__ptjctl wf__ptjctl;
typedef struct wf__pgctl wf__pgctl;
typedef struct wf__schedctl wf__schedctl;

struct wf_controllers {
	wf_controllers_options o;
	wf_client *client;
	volatile bool stop;
	pthread_mutex_t mu; /* with cond: the stop flag, for wf__ctl_sleep */
	pthread_cond_t cond;

	wf_informer *pods;   /* pods with owners, the Job finalizer or a group (packed) */
	wf_informer *jobs;   /* batch/v1 jobs */
	wf_informer *nodes;  /* nodes, conditions and taints */
	wf_informer *leases; /* kube-node-lease leases */
	int pod_by_owner;    /* pods index: uid of the controlling owner */

	wf__jobctl *job;
	wf__nodelc *nodelc;
	wf__gc *gc;
	wf__pgctl *pg;	     /* podgroup.c */
	wf__ptjctl *ptj;     /* pytorchjob.c */
	wf__schedctl *sched; /* scheduler.c; NULL when disabled */
};

/* Sleep ms, waking early when the controllers stop; false when stopping. */
bool wf__ctl_sleep(wf_controllers *c, int64_t ms);
/* Wait for the informers given (NULL-terminated) to list; false on stop. */
bool wf__ctl_wait_synced(wf_controllers *c, wf_informer *const *infs);
/* Log a line to stderr, prefixed "wharf: controllers: ". */
void wf__ctl_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Wall clock in ms. */
int64_t wf__ctl_now_ms(void);

/*
 * One request; 0 when the answer's status is in [200, 300), else a negative
 * code: -WF_ENOENT (404), -WF_ECONFLICT (409: stale resourceVersion or
 * failed precondition), -WF_EINVAL (other 4xx), -WF_EIO (transport, 5xx). *resp
 * (may be NULL) gets the decoded answer on success; caller decrefs.
 */
int wf__ctl_request(wf_controllers *c, const char *method, const char *path, const json_t *body,
		    const char *content_type, json_t **resp, wf_err *err);

/* Record a core/v1 Event about obj (borrowed; its apiVersion and kind are
 * taken from api_version/kind). Failures are ignored. */
void wf__ctl_event(wf_controllers *c, const json_t *obj, const char *api_version, const char *kind,
		   const char *type, const char *reason, const char *message,
		   const char *component);

/* A JSON merge patch (RFC 7386) turning old into neu; both borrowed
 * (NULL counts as {}). Caller decrefs. */
json_t *wf__merge_diff(const json_t *old, const json_t *neu);

/* The controlling ownerReference of obj (controller: true), borrowed. */
const json_t *wf__controller_ref(const json_t *obj);
/* Whether obj's metadata.finalizers holds name. */
bool wf__has_finalizer(const json_t *obj, const char *name);
/* Whether obj has a deletionTimestamp. */
bool wf__deleting(const json_t *obj);

/* Controllers, started and stopped by the manager (controllers.c). */
/* A pool of worker threads draining one work queue. Start `n` threads
 * running fn(arg) into threads[] (*started counts those running; on a
 * failure the ones started keep running until stopped). Stop shuts the
 * queue down and joins them. */
int wf__workers_start(pthread_t *threads, int n, void *(*fn)(void *), void *arg, int *started,
		      const char *who, wf_err *err);
void wf__workers_stop(wf_workqueue *q, pthread_t *threads, int *started);

int wf__job_start(wf_controllers *c, wf_err *err);
/* Shut the queue and join the workers; wf__job_free (after the informers,
 * whose handlers use the queue, are joined) frees the rest. */
void wf__job_stop(wf_controllers *c);
void wf__job_free(wf_controllers *c);
/* Register the Job controller's informer handlers (before informers start). */
void wf__job_register(wf_controllers *c);
/* Node lifecycle: register its pod handlers before the informers start,
 * start after, stop (join) with the others, free after the informers. */
void wf__nodelc_register(wf_controllers *c);
int wf__nodelc_start(wf_controllers *c, wf_err *err);
void wf__nodelc_stop(wf_controllers *c);
void wf__nodelc_free(wf_controllers *c);
int wf__gc_start(wf_controllers *c, wf_err *err);
void wf__gc_stop(wf_controllers *c);
/* The scheduler driver (scheduler.c): its own streams, informers and
 * threads. Stop after the stop flag is set; it joins and frees everything. */
int wf__sched_start(wf_controllers *c, wf_err *err);
void wf__sched_stop(wf_controllers *c);
/* PodGroup status (podgroup.c) and PyTorchJob (pytorchjob.c) controllers:
 * register before the shared informers start (PodGroups first: the
 * PyTorchJob controller reads its cache), start after, stop with the
 * others, free after the shared informers. */
void wf__pg_register(wf_controllers *c);
int wf__pg_start(wf_controllers *c, wf_err *err);
void wf__pg_stop(wf_controllers *c);
void wf__pg_free(wf_controllers *c);
/* The coscheduling PodGroup cache (borrowed; NULL before registration). */
wf_informer *wf__pg_informer(wf_controllers *c);
void wf__ptj_register(wf_controllers *c);
int wf__ptj_start(wf_controllers *c, wf_err *err);
void wf__ptj_stop(wf_controllers *c);
void wf__ptj_free(wf_controllers *c);

#endif
