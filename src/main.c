/*
 * main.c - the `wharf` command: one binary, one verb per role.
 *
 *   wharf server [--listen ADDR:PORT] [--data-dir DIR] [--workers N]
 *                [--compaction-interval SECONDS] [--compaction-retain REVISIONS]
 *                [--controllers=true|false] [--scheduler=true|false]
 *                [--pod-eviction-timeout SECONDS]
 *                [--node-monitor-grace-period SECONDS]
 *   wharf agent  [--server URL] [--node-name NAME] [--data-dir DIR] [--gpus N:PRODUCT[:MIB]]
 *                [--nvml-lib PATH] [--node-ip IP] [--port PORT] [--restart-backoff MS]
 *                [--log-max-bytes N]
 *   wharf shim DIR      (started by the agent, one per container)
 *   wharf version
 */
#include "agent/agent.h"
#include "agent/shim.h"
#include "api/api.h"
#include "controllers/controllers.h"
#include "lib/wf_mem.h"
#include "lib/wf_fs.h"

#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define WF_VERSION "0.1.0"

static void wf__usage(FILE *f)
{
	fprintf(f, "usage: wharf server [--listen ADDR:PORT] [--data-dir DIR] [--workers N]\n"
		   "                    [--compaction-interval SECONDS] [--compaction-retain N]\n"
		   "                    [--controllers=true|false] [--scheduler=true|false]\n"
		   "                    [--node-monitor-grace-period SECONDS]\n"
		   "                    [--pod-eviction-timeout SECONDS]\n"
		   "       wharf agent [--server URL] [--node-name NAME] [--data-dir DIR]\n"
		   "                   [--gpus COUNT:PRODUCT[:MIB]] [--nvml-lib PATH] [--node-ip IP]\n"
		   "                   [--port PORT] [--restart-backoff MS] [--log-max-bytes N]\n"
		   "                   [--run-dir DIR]\n"
		   "       wharf version\n");
}

static void wf__write_kubeconfig(const char *dir, const char *host, int port)
{
	char *path = wf_xasprintf("%s/kubeconfig", dir);
	char *tmp = wf_xasprintf("%s.tmp", path);
	FILE *f = fopen(tmp, "w");
	if (!f) {
		fprintf(stderr, "wharf: cannot write %s: %s\n", tmp, strerror(errno));
		goto out;
	}
	fprintf(f,
		"apiVersion: v1\n"
		"kind: Config\n"
		"clusters:\n"
		"- name: wharf\n"
		"  cluster:\n"
		"    server: http://%s:%d\n"
		"users:\n"
		"- name: wharf-admin\n"
		"  user: {}\n"
		"contexts:\n"
		"- name: wharf\n"
		"  context:\n"
		"    cluster: wharf\n"
		"    user: wharf-admin\n"
		"    namespace: default\n"
		"current-context: wharf\n",
		strcmp(host, "0.0.0.0") ? host : "127.0.0.1", port);
	fclose(f);
	rename(tmp, path);
out:
	free(tmp);
	free(path);
}

static int wf__cmd_server(int argc, char **argv)
{
	const char *listen = "127.0.0.1:6443";
	const char *data_dir = "./wharf-data";
	/* HTTP workers: twice the CPUs, 4 to 16 (more only trade context switches). */
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	int workers = ncpu * 2 < 4 ? 4 : ncpu * 2 > 16 ? 16 : (int)ncpu * 2;
	int compact_interval = 0;
	long long compact_retain = 0;
	bool controllers = true, scheduler = true;
	int grace_s = 40, eviction_s = 300;
	static const struct option opts[] = {{"listen", required_argument, NULL, 'l'},
					     {"data-dir", required_argument, NULL, 'd'},
					     {"workers", required_argument, NULL, 'w'},
					     {"compaction-interval", required_argument, NULL, 'c'},
					     {"compaction-retain", required_argument, NULL, 'r'},
					     {"controllers", required_argument, NULL, 'C'},
					     {"scheduler", required_argument, NULL, 'S'},
					     {"node-monitor-grace-period", required_argument, NULL,
					      'G'},
					     {"pod-eviction-timeout", required_argument, NULL, 'E'},
					     {"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'l':
			listen = optarg;
			break;
		case 'C':
		case 'S': {
			bool *flag = c == 'C' ? &controllers : &scheduler;
			if (!strcmp(optarg, "true") || !strcmp(optarg, "1")) {
				*flag = true;
			} else if (!strcmp(optarg, "false") || !strcmp(optarg, "0")) {
				*flag = false;
			} else {
				fprintf(stderr, "wharf: --%s wants true or false\n",
					c == 'C' ? "controllers" : "scheduler");
				return 2;
			}
			break;
		}
		case 'G':
		case 'E': {
			char *end;
			long v = strtol(optarg, &end, 10);
			if (*end || v < 1 || v > 86400) {
				fprintf(stderr, "wharf: --%s wants seconds (1-86400)\n",
					c == 'G' ? "node-monitor-grace-period"
						 : "pod-eviction-timeout");
				return 2;
			}
			*(c == 'G' ? &grace_s : &eviction_s) = (int)v;
			break;
		}
		case 'd':
			data_dir = optarg;
			break;
		case 'w':
			workers = atoi(optarg);
			break;
		case 'c':
			compact_interval = atoi(optarg);
			break;
		case 'r':
			compact_retain = atoll(optarg);
			break;
		case 'h':
			wf__usage(stdout);
			return 0;
		default:
			wf__usage(stderr);
			return 2;
		}
	}
	if (wf_mkdirs(data_dir) < 0) {
		fprintf(stderr, "wharf: cannot create data dir %s: %s\n", data_dir,
			strerror(errno));
		return 1;
	}
	/* Signals are taken by sigwait below; block them before threads start. */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	char *db = wf_xasprintf("%s/state.db", data_dir);
	wf_store_options so = {.path = db};
	wf_store *store = NULL;
	wf_err err = {0};
	int rc = 1;
	if (wf_store_open_sqlite(&so, &store, &err) < 0) {
		fprintf(stderr, "wharf: cannot open store %s: %s\n", db, err.msg);
		goto fail_store;
	}
	if (wf_api_bootstrap(store, &err) < 0) {
		fprintf(stderr, "wharf: bootstrap failed: %s\n", err.msg);
		goto fail_api;
	}
	wf_api_options ao = {.listen = listen,
			     .workers = workers,
			     .store = store,
			     .data_dir = data_dir,
			     .compact_interval_s = compact_interval,
			     .compact_retain = compact_retain};
	wf_api *api = NULL;
	if (wf_api_start(&ao, &api, &err) < 0) {
		fprintf(stderr, "wharf: %s\n", err.msg);
		goto fail_api;
	}
	char host[64];
	snprintf(host, sizeof host, "%s", listen);
	char *colon = strrchr(host, ':');
	if (colon)
		*colon = '\0';
	wf__write_kubeconfig(data_dir, host[0] ? host : "127.0.0.1", wf_api_port(api));
	fprintf(stderr, "wharf: serving the Kubernetes API on http://%s:%d (data in %s)\n",
		host[0] ? host : "127.0.0.1", wf_api_port(api), data_dir);
	fflush(stderr);
	/* The controllers are clients of this API, over loopback when it
	 * listens on every address. */
	wf_controllers *ctl = NULL;
	if (controllers) {
		bool any = !host[0] || !strcmp(host, "0.0.0.0") || !strcmp(host, "[::]");
		char *url = wf_xasprintf("http://%s:%d", any ? "127.0.0.1" : host,
					 wf_api_port(api));
		wf_controllers_options co = {.server_url = url,
					     .node_monitor_grace_s = grace_s,
					     .pod_eviction_timeout_s = eviction_s,
					     .no_scheduler = !scheduler};
		if (wf_controllers_start(&co, &ctl, &err) < 0)
			fprintf(stderr, "wharf: controllers not started: %s\n", err.msg);
		free(url);
	}
	int sig;
	sigwait(&set, &sig);
	fprintf(stderr, "wharf: signal %d, shutting down\n", sig);
	wf_controllers_stop(ctl);
	wf_api_stop(api);
	rc = 0;
fail_api:
	wf_store_close(store);
fail_store:
	free(db);
	return rc;
}

static int wf__cmd_agent(int argc, char **argv)
{
	static char host[256];
	if (gethostname(host, sizeof host) < 0)
		snprintf(host, sizeof host, "localhost");
	for (char *p = host; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p + 32);
	static char self[4096];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	self[n > 0 ? n : 0] = '\0';
	wf_agent_options o = {.server = "http://127.0.0.1:6443",
			      .node_name = host,
			      .data_dir = "./wharf-agent-data",
			      .node_ip = "127.0.0.1",
			      .port = 10250,
			      .self_exe = self,
			      .backoff_base_ms = 10000,
			      .backoff_max_ms = 300000,
			      .log_max_bytes = 10 * 1024 * 1024};
	static const struct option opts[] = {{"server", required_argument, NULL, 's'},
					     {"node-name", required_argument, NULL, 'n'},
					     {"data-dir", required_argument, NULL, 'd'},
					     {"gpus", required_argument, NULL, 'g'},
					     {"nvml-lib", required_argument, NULL, 'N'},
					     {"node-ip", required_argument, NULL, 'i'},
					     {"port", required_argument, NULL, 'p'},
					     {"restart-backoff", required_argument, NULL, 'b'},
					     {"log-max-bytes", required_argument, NULL, 'L'},
					     {"cgroup-root", required_argument, NULL, 'C'},
					     {"run-dir", required_argument, NULL, 'R'},
					     {"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			o.server = optarg;
			break;
		case 'n':
			o.node_name = optarg;
			break;
		case 'd':
			o.data_dir = optarg;
			break;
		case 'g':
			o.gpus = optarg;
			break;
		case 'N':
			o.nvml_lib = optarg;
			break;
		case 'i':
			o.node_ip = optarg;
			break;
		case 'p':
			o.port = atoi(optarg);
			break;
		case 'b':
			o.backoff_base_ms = atoll(optarg);
			if (o.backoff_base_ms <= 0)
				o.backoff_base_ms = 1;
			if (o.backoff_max_ms < o.backoff_base_ms)
				o.backoff_max_ms = o.backoff_base_ms;
			break;
		case 'L':
			o.log_max_bytes = atoll(optarg);
			break;
		case 'C':
			o.cgroup_root = optarg;
			break;
		case 'R':
			o.run_dir = optarg;
			break;
		case 'h':
			wf__usage(stdout);
			return 0;
		default:
			wf__usage(stderr);
			return 2;
		}
	}
	signal(SIGPIPE, SIG_IGN);
	return wf_agent_run(&o);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		wf__usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "server"))
		return wf__cmd_server(argc - 1, argv + 1);
	if (!strcmp(argv[1], "agent"))
		return wf__cmd_agent(argc - 1, argv + 1);
	if (!strcmp(argv[1], "shim"))
		return wf_shim_main(argc - 1, argv + 1);
	if (!strcmp(argv[1], "version") || !strcmp(argv[1], "--version")) {
		printf("wharf %s (Kubernetes API v1.31)\n", WF_VERSION);
		return 0;
	}
	if (!strcmp(argv[1], "help") || !strcmp(argv[1], "--help")) {
		wf__usage(stdout);
		return 0;
	}
	fprintf(stderr, "wharf: unknown command \"%s\"\n", argv[1]);
	wf__usage(stderr);
	return 2;
}
