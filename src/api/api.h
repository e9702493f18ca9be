/*
 * api.h - the Kubernetes-compatible HTTP API server (public surface).
 *
 * wf_api_start binds the listener, starts the worker threads and returns;
 * wf_api_stop ends every stream and joins the workers. The server owns no
 * store: the caller opens one and keeps it open until after wf_api_stop.
 */
#ifndef WF_API_H
#define WF_API_H

#include "store/store.h"

typedef struct wf_api wf_api;

typedef struct wf_api_options {
	const char *listen;	 /* "127.0.0.1:6443" */
	int workers;		 /* HTTP worker threads (default 16) */
	wf_store *store;	 /* borrowed */
	const char *data_dir;	 /* for the kubeconfig; may be NULL */
	int compact_interval_s;	 /* periodic compaction (0 = default 300) */
	int64_t compact_retain;	 /* revisions kept by compaction (default 10000) */
} wf_api_options;

int wf_api_start(const wf_api_options *opts, wf_api **out, wf_err *err);
/* The port actually bound (useful with port 0). */
int wf_api_port(const wf_api *api);
void wf_api_stop(wf_api *api);
/* Create the namespaces every cluster has, where missing. */
int wf_api_bootstrap(wf_store *store, wf_err *err);

#endif
