/*
 * agent.c - `wharf agent`: start-up, Node registration, the heartbeat
 * (Lease renewal and node status) and the pod watch that feeds the cache.
 */
#include "agent/agent_internal.h"
#include "lib/wf_time.h"
#include "lib/wf_fs.h"

#include <errno.h>
#include <event2/thread.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/inotify.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#define WF_HEARTBEAT_S 10
#define WF_LEASE_DURATION_S 40
#define WF__REQUEST_QUEUE_MAX 10000 /* Events and patches waiting; more are dropped */
#define WF__STATUS_WORKERS 16

int64_t wf_agent_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void wf__log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void wf__log(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "wharf-agent: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	fflush(stderr);
	va_end(ap);
}

/* ---- node object --------------------------------------------------------------- */

static int64_t wf__mem_total_kib(void)
{
	FILE *f = fopen("/proc/meminfo", "r");
	char line[256];
	long long kib = 0;
	while (f && fgets(line, sizeof line, f))
		if (sscanf(line, "MemTotal: %lld kB", &kib) == 1)
			break;
	if (f)
		fclose(f);
	return kib;
}

static int64_t wf__mem_available_kib(void)
{
	FILE *f = fopen("/proc/meminfo", "r");
	char line[256];
	long long kib = -1;
	while (f && fgets(line, sizeof line, f))
		if (sscanf(line, "MemAvailable: %lld kB", &kib) == 1)
			break;
	if (f)
		fclose(f);
	return kib;
}

static void wf__os_image(char *buf, size_t len)
{
	snprintf(buf, len, "Linux");
	FILE *f = fopen("/etc/os-release", "r");
	char line[256];
	while (f && fgets(line, sizeof line, f)) {
		if (!strncmp(line, "PRETTY_NAME=", 12)) {
			char *v = line + 12;
			v[strcspn(v, "\n")] = '\0';
			if (*v == '"') {
				v++;
				v[strcspn(v, "\"")] = '\0';
			}
			snprintf(buf, len, "%s", v);
		}
	}
	if (f)
		fclose(f);
}

static json_t *wf__condition(const char *type, bool status, const char *reason, const char *msg,
			     const char *now)
{
	json_t *c = json_object();
	json_object_set_new(c, "type", json_string(type));
	json_object_set_new(c, "status", json_string(status ? "True" : "False"));
	json_object_set_new(c, "lastHeartbeatTime", json_string(now));
	json_object_set_new(c, "lastTransitionTime", json_string(now));
	json_object_set_new(c, "reason", json_string(reason));
	json_object_set_new(c, "message", json_string(msg));
	return c;
}

/* Keep lastTransitionTime where a condition's status did not change. */
static void wf__keep_transitions(json_t *conds, const json_t *old_conds)
{
	size_t i, j;
	json_t *c, *o;
	json_array_foreach(conds, i, c)
	{
		json_array_foreach(old_conds, j, o)
		{
			if (json_equal(json_object_get(c, "type"), json_object_get(o, "type")) &&
			    json_equal(json_object_get(c, "status"), json_object_get(o, "status")) &&
			    json_object_get(o, "lastTransitionTime"))
				json_object_set(c, "lastTransitionTime",
						json_object_get(o, "lastTransitionTime"));
		}
	}
}

static json_t *wf__node_status(wf_agent *a, const json_t *old_status)
{
	char now[32];
	wf_time_rfc3339(time(NULL), now);
	json_t *st = json_object();
	json_t *cap = json_object();
	char buf[64];
	snprintf(buf, sizeof buf, "%ld", sysconf(_SC_NPROCESSORS_ONLN));
	json_object_set_new(cap, "cpu", json_string(buf));
	snprintf(buf, sizeof buf, "%lldKi", (long long)wf__mem_total_kib());
	json_object_set_new(cap, "memory", json_string(buf));
	json_object_set_new(cap, "pods", json_string("110"));
	struct statvfs vfs;
	if (statvfs(a->o.data_dir, &vfs) == 0) {
		snprintf(buf, sizeof buf, "%lluKi",
			 (unsigned long long)vfs.f_blocks * vfs.f_frsize / 1024);
		json_object_set_new(cap, "ephemeral-storage", json_string(buf));
	}
	wf_gpu_node_capacity(a->devs, a->ndevs, cap);
	json_object_set_new(st, "capacity", cap);
	json_object_set_new(st, "allocatable", json_deep_copy(cap));

	int64_t avail = wf__mem_available_kib();
	bool mem_pressure = avail >= 0 && avail < 100 * 1024;
	bool disk_pressure = statvfs(a->o.data_dir, &vfs) == 0 && vfs.f_blocks &&
			     (double)vfs.f_bavail / (double)vfs.f_blocks < 0.05;
	json_t *conds = json_array();
	json_array_append_new(conds, wf__condition("MemoryPressure", mem_pressure,
						   mem_pressure ? "KubeletHasInsufficientMemory"
								: "KubeletHasSufficientMemory",
						   mem_pressure ? "kubelet has insufficient memory available"
								: "kubelet has sufficient memory available",
						   now));
	json_array_append_new(conds, wf__condition("DiskPressure", disk_pressure,
						   disk_pressure ? "KubeletHasDiskPressure"
								 : "KubeletHasNoDiskPressure",
						   disk_pressure ? "kubelet has disk pressure"
								 : "kubelet has no disk pressure",
						   now));
	json_array_append_new(conds, wf__condition("PIDPressure", false, "KubeletHasSufficientPID",
						   "kubelet has sufficient PID available", now));
	json_array_append_new(conds, wf__condition("Ready", true, "KubeletReady",
						   "wharf agent is posting ready status", now));
	wf__keep_transitions(conds, json_object_get(old_status, "conditions"));
	json_object_set_new(st, "conditions", conds);

	json_t *addrs = json_array();
	json_t *ip = json_object();
	json_object_set_new(ip, "type", json_string("InternalIP"));
	json_object_set_new(ip, "address", json_string(a->o.node_ip));
	json_array_append_new(addrs, ip);
	json_t *hn = json_object();
	json_object_set_new(hn, "type", json_string("Hostname"));
	json_object_set_new(hn, "address", json_string(a->o.node_name));
	json_array_append_new(addrs, hn);
	json_object_set_new(st, "addresses", addrs);

	json_t *de = json_object();
	json_t *kp = json_object();
	json_object_set_new(kp, "Port", json_integer(a->o.port));
	json_object_set_new(de, "kubeletEndpoint", kp);
	json_object_set_new(st, "daemonEndpoints", de);

	struct utsname u;
	uname(&u);
	char os[128];
	wf__os_image(os, sizeof os);
	json_t *info = json_object();
	json_object_set_new(info, "kubeletVersion", json_string("v1.31.0-wharf"));
	json_object_set_new(info, "kubeProxyVersion", json_string(""));
	json_object_set_new(info, "containerRuntimeVersion", json_string("wharf-process://0.1"));
	json_object_set_new(info, "osImage", json_string(os));
	json_object_set_new(info, "kernelVersion", json_string(u.release));
	json_object_set_new(info, "operatingSystem", json_string("linux"));
	json_object_set_new(info, "architecture",
			    json_string(!strcmp(u.machine, "x86_64")    ? "amd64"
					: !strcmp(u.machine, "aarch64") ? "arm64"
									: u.machine));
	char mid[64] = "";
	FILE *f = fopen("/etc/machine-id", "r");
	if (f) {
		if (fgets(mid, sizeof mid, f))
			mid[strcspn(mid, "\n")] = '\0';
		fclose(f);
	}
	json_object_set_new(info, "machineID", json_string(mid));
	json_object_set_new(st, "nodeInfo", info);
	return st;
}

static json_t *wf__node_labels(wf_agent *a, const json_t *old_labels)
{
	json_t *l = json_is_object(old_labels) ? json_deep_copy(old_labels) : json_object();
	json_object_set_new(l, "kubernetes.io/hostname", json_string(a->o.node_name));
	json_object_set_new(l, "kubernetes.io/os", json_string("linux"));
	struct utsname u;
	uname(&u);
	json_object_set_new(l, "kubernetes.io/arch",
			    json_string(!strcmp(u.machine, "x86_64") ? "amd64" : u.machine));
	wf_gpu_node_labels(a->devs, a->ndevs, l);
	return l;
}

/* Create the Node, or take over an existing one (labels merged, status ours). */
static int wf__register_node(wf_agent *a, wf_err *err)
{
	char *path = wf_xasprintf("/api/v1/nodes/%s", a->o.node_name);
	json_t *node = NULL;
	int rc = wf_client_get(a->client, path, &node, err);
	long code = 0;
	json_t *resp = NULL;
	if (rc == -WF_ENOENT) {
		node = json_object();
		json_object_set_new(node, "apiVersion", json_string("v1"));
		json_object_set_new(node, "kind", json_string("Node"));
		json_t *md = json_object();
		json_object_set_new(md, "name", json_string(a->o.node_name));
		json_object_set_new(md, "labels", wf__node_labels(a, NULL));
		json_object_set_new(node, "metadata", md);
		json_object_set_new(node, "spec", json_object());
		json_object_set_new(node, "status", wf__node_status(a, NULL));
		rc = wf_client_do(a->client, "POST", "/api/v1/nodes", node, NULL, &code, &resp, err);
		if (rc == 0 && code != 201)
			rc = wf_err_set(err, WF_EIO, "creating node %s: HTTP %ld", a->o.node_name, code);
	} else if (rc == 0) {
		json_t *md = json_object_get(node, "metadata");
		json_object_set_new(md, "labels", wf__node_labels(a, json_object_get(md, "labels")));
		rc = wf_client_do(a->client, "PUT", path, node, NULL, &code, &resp, err);
		if (rc == 0 && code != 200)
			rc = wf_err_set(err, WF_EIO, "taking over node %s: HTTP %ld", a->o.node_name, code);
	}
	if (rc == 0) {
		const char *uid = json_string_value(json_object_get(json_object_get(resp, "metadata"), "uid"));
		free(a->node_uid);
		a->node_uid = wf_xstrdup(uid ? uid : "");
	}
	json_decref(resp);
	json_decref(node);
	free(path);
	return rc;
}

static void wf__update_node_status(wf_agent *a)
{
	char *path = wf_xasprintf("/api/v1/nodes/%s", a->o.node_name);
	json_t *node = NULL;
	if (wf_client_get(a->client, path, &node, NULL) < 0) {
		/* Deleted behind our back: register again. */
		wf_err err = {0};
		if (wf__register_node(a, &err) < 0)
			wf__log("node registration failed: %s", err.msg);
		free(path);
		return;
	}
	json_t *patch = json_object();
	json_object_set_new(patch, "status", wf__node_status(a, json_object_get(node, "status")));
	char *spath = wf_xasprintf("%s/status", path);
	long code;
	wf_client_do(a->client, "PATCH", spath, patch, "application/merge-patch+json", &code, NULL,
		     NULL);
	json_decref(patch);
	json_decref(node);
	free(spath);
	free(path);
}

static void wf__renew_lease(wf_agent *a)
{
	char *path = wf_xasprintf("/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/%s",
				  a->o.node_name);
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	char now[40];
	wf_time_rfc3339_micro(&ts, now);
	json_t *lease = json_object();
	json_object_set_new(lease, "apiVersion", json_string("coordination.k8s.io/v1"));
	json_object_set_new(lease, "kind", json_string("Lease"));
	json_t *md = json_object();
	json_object_set_new(md, "name", json_string(a->o.node_name));
	json_object_set_new(md, "namespace", json_string("kube-node-lease"));
	if (a->node_uid && a->node_uid[0]) {
		json_t *refs = json_array();
		json_t *ref = json_object();
		json_object_set_new(ref, "apiVersion", json_string("v1"));
		json_object_set_new(ref, "kind", json_string("Node"));
		json_object_set_new(ref, "name", json_string(a->o.node_name));
		json_object_set_new(ref, "uid", json_string(a->node_uid));
		json_array_append_new(refs, ref);
		json_object_set_new(md, "ownerReferences", refs);
	}
	json_object_set_new(lease, "metadata", md);
	json_t *spec = json_object();
	json_object_set_new(spec, "holderIdentity", json_string(a->o.node_name));
	json_object_set_new(spec, "leaseDurationSeconds", json_integer(WF_LEASE_DURATION_S));
	json_object_set_new(spec, "renewTime", json_string(now));
	json_object_set_new(lease, "spec", spec);
	long code = 0;
	/* PUT creates the Lease when missing (leases allow create on update). */
	wf_client_do(a->client, "PUT", path, lease, NULL, &code, NULL, NULL);
	json_decref(lease);
	free(path);
}

static void *wf__beat_main(void *arg)
{
	wf_agent *a = arg;
	int64_t next_status = 0;
	while (!a->stop) {
		wf__renew_lease(a);
		if (wf_agent_now_ms() >= next_status) {
			wf__update_node_status(a);
			next_status = wf_agent_now_ms() + WF_HEARTBEAT_S * 1000;
		}
		for (int i = 0; i < WF_HEARTBEAT_S * 10 && !a->stop; i++)
			usleep(100000);
	}
	return NULL;
}

/* ---- pod watch ------------------------------------------------------------------ */

static bool wf__on_pod_event(void *ctx, const char *type, json_t *obj)
{
	wf_agent *a = ctx;
	if (!strcmp(type, "ERROR"))
		return false; /* e.g. 410 Expired: relist */
	const char *uid = json_string_value(json_object_get(json_object_get(obj, "metadata"), "uid"));
	if (!uid)
		return true;
	pthread_mutex_lock(&a->mu);
	if (!strcmp(type, "DELETED"))
		json_object_del(a->cache, uid);
	else if (strcmp(type, "BOOKMARK"))
		json_object_set(a->cache, uid, obj);
	if (strcmp(type, "BOOKMARK"))
		wf_agent_mark(a, uid);
	pthread_mutex_unlock(&a->mu);
	return !a->stop;
}

static void *wf__watch_main(void *arg)
{
	wf_agent *a = arg;
	char *sel = wf_xasprintf("spec.nodeName=%s", a->o.node_name);
	char *esc = wf_client_escape(sel);
	while (!a->stop) {
		/* List, replace the cache, then watch from the list's revision. */
		char *path = wf_xasprintf("/api/v1/pods?fieldSelector=%s", esc);
		json_t *list = NULL;
		wf_err err = {0};
		if (wf_client_get(a->client, path, &list, &err) < 0) {
			free(path);
			wf__log("listing pods: %s", err.msg);
			sleep(1);
			continue;
		}
		free(path);
		json_t *fresh = json_object();
		size_t i;
		json_t *p;
		json_array_foreach(json_object_get(list, "items"), i, p)
		{
			const char *uid = json_string_value(
				json_object_get(json_object_get(p, "metadata"), "uid"));
			if (uid)
				json_object_set(fresh, uid, p);
		}
		const char *rv = json_string_value(
			json_object_get(json_object_get(list, "metadata"), "resourceVersion"));
		char *wpath = wf_xasprintf("/api/v1/pods?fieldSelector=%s&watch=true&"
					   "allowWatchBookmarks=true&resourceVersion=%s",
					   esc, rv ? rv : "0");
		json_decref(list);
		pthread_mutex_lock(&a->mu);
		json_decref(a->cache);
		a->cache = fresh;
		a->cache_synced = true;
		a->full_sync = true;
		pthread_cond_signal(&a->cv);
		pthread_mutex_unlock(&a->mu);
		if (wf_client_watch(a->client, wpath, wf__on_pod_event, a, &a->stop, &err) < 0 &&
		    !a->stop) {
			wf__log("pod watch ended: %s", err.msg);
			sleep(1);
		}
		free(wpath);
	}
	free(esc);
	free(sel);
	return NULL;
}

/* ---- run ------------------------------------------------------------------------- */

int wf_agent_run(const wf_agent_options *o)
{
	wf_agent *a = wf_xcalloc(1, sizeof *a);
	a->o = *o;
	wf_err err = {0};
	int status = 1;
	a->ino_fd = -1;
	/* First, while this process has one thread: fork the shim spawner. */
	if (wf_shim_spawner_start(&a->spawner, &err) < 0)
		wf__log("%s; shims will be exec'd (slower starts)", err.msg);
	pthread_mutex_init(&a->mu, NULL);
	pthread_cond_init(&a->cv, NULL);
	a->cache = json_object();
	a->ino_fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	if (a->ino_fd < 0)
		wf__log("inotify: %s; container exits are polled", strerror(errno));
	if (wf_mkdirs(o->data_dir) < 0) {
		wf__log("cannot create %s: %s", o->data_dir, strerror(errno));
		goto out;
	}
	a->pods_dir = wf_xasprintf("%s/pods", o->run_dir ? o->run_dir : o->data_dir);
	a->logs_dir = wf_xasprintf("%s/logs", o->data_dir);
	if (wf_mkdirs(a->pods_dir) < 0 || wf_mkdirs(a->logs_dir) < 0) {
		wf__log("cannot create %s or %s: %s", a->pods_dir, a->logs_dir, strerror(errno));
		goto out;
	}

	char why[256] = "";
	a->cgroups = wf_cgroups_detect(o->cgroup_root, why, sizeof why);
	switch (wf_cgroups_mode(a->cgroups)) {
	case WF_CGROUP_V1:
		wf__log("cgroups: v1; containers get CPU and memory limits");
		break;
	case WF_CGROUP_V2:
		wf__log("cgroups: v2; containers get CPU and memory limits");
		break;
	default:
		wf__log("cgroups: none usable (%s); containers run WITHOUT CPU and memory limits",
			why);
		break;
	}

	int rc;
	if (o->gpus && o->gpus[0]) {
		rc = wf_gpu_declare(o->gpus, o->node_name, &a->devs, &a->ndevs, &err);
		if (rc < 0) {
			wf__log("--gpus: %s", err.msg);
			goto out;
		}
		wf__log("GPUs: %zu declared (%s)", a->ndevs, o->gpus);
	} else {
		rc = wf_gpu_discover_nvml(o->nvml_lib, &a->devs, &a->ndevs, &err);
		if (rc == 0)
			wf__log("GPUs: %zu found through NVML", a->ndevs);
		else if (rc == -WF_ENOENT)
			wf__log("GPUs: none (%s)", err.msg);
		else
			wf__log("GPUs: NVML failed: %s; continuing without GPUs", err.msg);
	}
	/* GPU assignments matter as long as containers run: runtime state. */
	char *state = wf_xasprintf("%s/gpu-state.json", o->run_dir ? o->run_dir : o->data_dir);
	rc = wf_gpu_pool_open(a->devs, a->ndevs, state, &a->gpus, &err);
	free(state);
	if (rc < 0) {
		wf__log("GPU pool: %s", err.msg);
		goto out;
	}
	if (wf_gpu_pool_warning(a->gpus))
		wf__log("GPU assignments: %s", wf_gpu_pool_warning(a->gpus));

	a->client = wf_client_new(o->server);
	a->requests = wf_request_queue_new(a->client, 2, WF__REQUEST_QUEUE_MAX);
	a->statuses = wf_status_writer_new(a->client, WF__STATUS_WORKERS, wf_agent_status_done, a);
	a->launcher = wf_launcher_new(o->self_exe, a->spawner, wf_agent_launch_wanted,
				      wf_agent_launched, a);
	for (int tries = 0;; tries++) {
		err = (wf_err){0};
		if (wf__register_node(a, &err) == 0)
			break;
		if (tries == 50) {
			wf__log("cannot register node %s: %s", o->node_name, err.msg);
			goto out;
		}
		usleep(200000);
	}
	wf__log("node %s registered with %s", o->node_name, o->server);
	/* The log server's loop is stopped from this thread: without libevent's
	 * locking and notification, event_base_loopexit would not wake it. */
	evthread_use_pthreads();
	if (wf_agent_logserver_start(a, &err) < 0) {
		wf__log("log server: %s", err.msg);
		goto out;
	}
	wf__renew_lease(a);
	wf_agent_adopt(a);

	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	pthread_create(&a->watch_thread, NULL, wf__watch_main, a);
	pthread_create(&a->sync_thread, NULL, wf_agent_sync_main, a);
	pthread_create(&a->probe_thread, NULL, wf_agent_probe_main, a);
	pthread_create(&a->beat_thread, NULL, wf__beat_main, a);
	if (a->ino_fd >= 0)
		pthread_create(&a->exits_thread, NULL, wf_agent_exits_main, a);
	int sig;
	sigwait(&set, &sig);
	wf__log("signal %d: stopping (containers keep running under their shims)", sig);
	a->stop = true;
	pthread_mutex_lock(&a->mu);
	pthread_cond_broadcast(&a->cv);
	pthread_mutex_unlock(&a->mu);
	pthread_join(a->watch_thread, NULL);
	pthread_join(a->sync_thread, NULL);
	pthread_join(a->probe_thread, NULL);
	pthread_join(a->beat_thread, NULL);
	if (a->ino_fd >= 0)
		pthread_join(a->exits_thread, NULL);
	wf_agent_logserver_stop(a);
	status = 0;
out:
	wf_launcher_free(a->launcher);	    /* like the status writer's, its */
	wf_status_writer_free(a->statuses); /* reports take mu and find rts */
	wf_agent_rts_free(a);
	wf_request_queue_free(a->requests); /* sends what is still queued */
	wf_shim_spawner_stop(a->spawner);
	if (a->ino_fd >= 0)
		close(a->ino_fd);
	json_decref(a->cache);
	free(a->shims);
	wf_client_free(a->client);
	wf_gpu_pool_free(a->gpus);
	free(a->devs);
	wf_cgroups_free(a->cgroups);
	free(a->pods_dir);
	free(a->logs_dir);
	free(a->node_uid);
	pthread_mutex_destroy(&a->mu);
	pthread_cond_destroy(&a->cv);
	free(a);
	return status;
}
