/*
 * controllers.h - the in-process controllers of `wharf server` (public
 * surface): the batch/v1 Job controller, node lifecycle (NotReady, taints,
 * eviction), the garbage collector's sweep for pods whose owners are gone
 * and the scheduler driver (scheduler.c).
 *
 * The controllers are clients of the API like kube-controller-manager: they
 * reach it over HTTP (usually loopback), keep list+watch caches of jobs,
 * nodes, node leases and the pods some controller owns (packed, a few
 * hundred bytes each; other pods are asked of the API when needed), and
 * write only through the API, so every rule of the registry applies to
 * them too. They run on their own threads.
 */
#ifndef WF_CONTROLLERS_H
#define WF_CONTROLLERS_H

#include <stdbool.h>

#include "lib/wf_err.h"

typedef struct wf_controllers wf_controllers;

typedef struct wf_controllers_options {
	const char *server_url;	    /* "http://127.0.0.1:6443"; required */
	int node_monitor_grace_s;   /* lease silence before Ready=Unknown (default 40) */
	int pod_eviction_timeout_s; /* NotReady time before pods are evicted (default 300) */
	int gc_interval_s;	    /* garbage collection sweep period (default 30) */
	int job_workers;	    /* Job sync threads (default 4) */
	bool no_scheduler;	    /* do not start the scheduler (--scheduler=false) */
} wf_controllers_options;

/*
 * Start every controller; returns at once (caches fill in the background,
 * and nothing acts before its caches have listed). Values <= 0 take the
 * defaults. -WF_EINVAL without a server_url, -WF_EIO when a thread cannot
 * start (nothing is left running then). Stop with wf_controllers_stop.
 */
int wf_controllers_start(const wf_controllers_options *opts, wf_controllers **out, wf_err *err);

/* Stop every controller, wait for their threads (about a second at most,
 * plus any request in flight) and free everything. NULL is a no-op. */
void wf_controllers_stop(wf_controllers *c);

#endif
