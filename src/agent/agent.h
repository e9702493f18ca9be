/*
 * agent.h - `wharf agent`: the node agent (Wharf's kubelet).
 *
 * It registers its Node (capacity from the host and its GPUs, labels,
 * conditions, addresses), renews a Lease in kube-node-lease, watches the
 * pods bound to it and runs their containers as processes under shims (one
 * cgroup each, exactly their GPUs), reports status like kubelet, runs
 * probes, terminates gracefully on deletion, and serves container logs for
 * the API server to proxy.
 */
#ifndef WF_AGENT_H
#define WF_AGENT_H

#include <stdint.h>

typedef struct wf_agent_options {
	const char *server;	/* API server URL */
	const char *node_name;
	const char *data_dir;	/* container logs (logs/) */
	const char *run_dir;	/* runtime state, which lives as long as the
				 * containers: pods/ (spec, state and exit of each
				 * attempt) and gpu-state.json; best on a tmpfs, as
				 * containerd's /run. NULL: data_dir */
	const char *gpus;	/* declared GPUs "COUNT:PRODUCT[:MIB]", or NULL */
	const char *nvml_lib;	/* NVML library path override, or NULL */
	const char *node_ip;	/* address reported and used as pod IP */
	int port;		/* log server port (kubelet's 10250) */
	const char *self_exe;	/* the wharf binary, to start shims */
	int64_t backoff_base_ms; /* first restart back-off (kubelet: 10 s) */
	int64_t backoff_max_ms;	 /* back-off cap (kubelet: 300 s) */
	int64_t log_max_bytes;	 /* per container log file cap */
	const char *cgroup_root; /* override for tests, or NULL */
} wf_agent_options;

/* Run until SIGINT/SIGTERM. Returns the process exit status. */
int wf_agent_run(const wf_agent_options *o);

#endif
