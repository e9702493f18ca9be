/*
 * pods.c - the pod lifecycle on this node, like kubelet's: admission
 * (commands present, resources available, GPUs assigned), init containers in
 * order, containers started under shims in their cgroups, restarts with
 * exponential back-off per restartPolicy, OOM detection, probes, status
 * reporting, graceful termination on deletion, and adoption of what runs
 * after an agent restart.
 *
 * Everything about a pod is also on disk under <run-dir>/pods/<uid>/:
 * pod.json (the spec at admission) and <container>/<attempt>/ (the shim's
 * spec, state and exit), and its logs under <data-dir>/logs/<uid>/
 * <container>/<attempt>.log. The in-memory wf_pod_rt is rebuilt from there when
 * the agent starts, so a restart neither orphans nor duplicates processes.
 */
#include "agent/agent_internal.h"
#include "agent/probe.h"
#include "lib/wf_quantity.h"
#include "lib/wf_fs.h"
#include "lib/wf_time.h"

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define WF_SYNC_IDLE_MS 500
#define WF_SYNC_RUNNING_MS 500
#define WF_LAUNCH_TIMEOUT_MS 10000
/* A container being started holds the pod's status write this long at
 * most: one that starts (or ends) sooner is reported in its new state by
 * the first write, instead of ContainerCreating followed at once by that. */
#define WF_STATUS_HOLD_MS 100
#define WF_BACKOFF_RESET_MS (10 * 60 * 1000)

static const char *wf__str(const json_t *o, const char *k)
{
	json_t *v = json_is_object(o) ? json_object_get(o, k) : NULL;
	return json_is_string(v) ? json_string_value(v) : NULL;
}

static const char *wf__md(const json_t *pod, const char *k)
{
	return wf__str(json_object_get(pod, "metadata"), k);
}

char *wf_agent_attempt_dir(const wf_agent *a, const char *uid, const char *ctr, int attempt)
{
	return wf_xasprintf("%s/%s/%s/%d", a->pods_dir, uid, ctr, attempt);
}

char *wf_agent_log_path(const wf_agent *a, const char *uid, const char *ctr, int attempt)
{
	return wf_xasprintf("%s/%s/%s/%d.log", a->logs_dir, uid, ctr, attempt);
}


static void wf__cgroup_name(const wf_pod_rt *r, const wf_ctr_rt *c, char *buf, size_t len)
{
	snprintf(buf, len, "pod%s/%s", r->uid, c->name);
}

static int wf__rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void wf__rm_rf(const char *dir)
{
	nftw(dir, wf__rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Remove what the agent keeps of a pod: its runtime directory and logs. */
static void wf__forget_pod(wf_agent *a, const char *uid)
{
	char *dir = wf_xasprintf("%s/%s", a->pods_dir, uid);
	wf__rm_rf(dir);
	free(dir);
	dir = wf_xasprintf("%s/%s", a->logs_dir, uid);
	wf__rm_rf(dir);
	free(dir);
}

/* ---- events ------------------------------------------------------------------- */

void wf_agent_event(wf_agent *a, const json_t *pod, const char *type, const char *reason,
		    const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	const char *ns = wf__md(pod, "namespace"), *name = wf__md(pod, "name");
	if (!ns || !name)
		return;
	char ts[32];
	wf_time_rfc3339(time(NULL), ts);
	json_t *ev = json_object();
	json_object_set_new(ev, "apiVersion", json_string("v1"));
	json_object_set_new(ev, "kind", json_string("Event"));
	json_t *md = json_object();
	char *evname = wf_xasprintf("%s.%llx%04x", name, (unsigned long long)wf_agent_now_ms(),
				    (unsigned)(rand() & 0xffff));
	json_object_set_new(md, "name", json_string(evname));
	free(evname);
	json_object_set_new(md, "namespace", json_string(ns));
	json_object_set_new(ev, "metadata", md);
	json_t *io = json_object();
	json_object_set_new(io, "kind", json_string("Pod"));
	json_object_set_new(io, "apiVersion", json_string("v1"));
	json_object_set_new(io, "namespace", json_string(ns));
	json_object_set_new(io, "name", json_string(name));
	if (wf__md(pod, "uid"))
		json_object_set_new(io, "uid", json_string(wf__md(pod, "uid")));
	json_object_set_new(ev, "involvedObject", io);
	json_object_set_new(ev, "reason", json_string(reason));
	json_object_set_new(ev, "message", json_string(msg));
	json_object_set_new(ev, "type", json_string(type));
	json_t *src = json_object();
	json_object_set_new(src, "component", json_string("kubelet"));
	json_object_set_new(src, "host", json_string(a->o.node_name));
	json_object_set_new(ev, "source", src);
	json_object_set_new(ev, "firstTimestamp", json_string(ts));
	json_object_set_new(ev, "lastTimestamp", json_string(ts));
	json_object_set_new(ev, "count", json_integer(1));
	json_object_set_new(ev, "reportingComponent", json_string("kubelet"));
	json_object_set_new(ev, "reportingInstance", json_string(a->o.node_name));
	char *path = wf_xasprintf("/api/v1/namespaces/%s/events", ns);
	wf_request_queue_add(a->requests, "POST", path, NULL, ev);
	free(path);
}

/* ---- runtime records ------------------------------------------------------------- */

void wf_agent_mark(wf_agent *a, const char *uid)
{
	if (!wf_smap_get(&a->dirty_uids, uid))
		wf_smap_add(&a->dirty_uids, uid, 0);
	pthread_cond_signal(&a->cv);
}

static void wf__unwatch(wf_agent *a, wf_ctr_rt *c)
{
	if (c->wd >= 0 && a->ino_fd >= 0) {
		inotify_rm_watch(a->ino_fd, c->wd);
		if ((size_t)c->wd < a->nwd) {
			free(a->wd_uid[c->wd]);
			a->wd_uid[c->wd] = NULL;
		}
	}
	c->wd = -1;
}

/* Watch an attempt's directory (created here if need be) for the shim's
 * renames of state.json and exit.json, which mark the pod for the sync
 * loop. Without inotify, the sync loop's polling still sees them. */
static void wf__watch(wf_agent *a, wf_pod_rt *r, wf_ctr_rt *c, const char *dir)
{
	wf__unwatch(a, c);
	if (a->ino_fd < 0 || wf_mkdirs(dir) < 0)
		return;
	c->wd = inotify_add_watch(a->ino_fd, dir, IN_MOVED_TO);
	if (c->wd < 0)
		return;
	if ((size_t)c->wd >= a->nwd) {
		size_t n = (size_t)c->wd * 2 + 16;
		a->wd_uid = wf_xrealloc(a->wd_uid, n * sizeof *a->wd_uid);
		memset(a->wd_uid + a->nwd, 0, (n - a->nwd) * sizeof *a->wd_uid);
		a->nwd = n;
	}
	free(a->wd_uid[c->wd]);
	a->wd_uid[c->wd] = wf_xstrdup(r->uid);
}

static void wf__rt_free(wf_pod_rt *r)
{
	for (size_t i = 0; i < r->nctrs; i++) {
		json_decref(r->ctrs[i].last_term);
		json_decref(r->ctrs[i].waiting);
	}
	free(r->ctrs);
	json_decref(r->pod);
	free(r->last_status);
	json_decref(r->meta_patch);
	free(r);
}

static wf_pod_rt *wf__rt_find(wf_agent *a, const char *uid)
{
	wf_pod_rt **r = wf_smap_get(&a->rt_by_uid, uid);
	return r ? *r : NULL;
}

static void wf__rt_unlink(wf_agent *a, wf_pod_rt *r)
{
	for (size_t i = 0; i < r->nctrs; i++)
		wf__unwatch(a, &r->ctrs[i]);
	wf_smap_del(&a->rt_by_uid, r->uid, NULL);
	for (wf_pod_rt **p = &a->rts; *p; p = &(*p)->next) {
		if (*p == r) {
			*p = r->next;
			return;
		}
	}
}

void wf_agent_rts_free(wf_agent *a)
{
	while (a->rts) {
		wf_pod_rt *r = a->rts;
		wf__rt_unlink(a, r);
		wf__rt_free(r);
	}
	wf_smap_clear(&a->rt_by_uid, NULL);
	wf_smap_clear(&a->dirty_uids, NULL);
	for (size_t i = 0; i < a->nwd; i++)
		free(a->wd_uid[i]);
	free(a->wd_uid);
	a->wd_uid = NULL;
	a->nwd = 0;
}

/* Build the container records of a pod (init containers first). */
static wf_pod_rt *wf__rt_new(wf_agent *a, const json_t *pod)
{
	wf_pod_rt *r = wf_xcalloc(1, sizeof *r);
	snprintf(r->uid, sizeof r->uid, "%s", wf__md(pod, "uid") ? wf__md(pod, "uid") : "");
	snprintf(r->ns, sizeof r->ns, "%s", wf__md(pod, "namespace") ? wf__md(pod, "namespace") : "");
	snprintf(r->name, sizeof r->name, "%s", wf__md(pod, "name") ? wf__md(pod, "name") : "");
	r->pod = json_deep_copy(pod);
	json_t *spec = json_object_get(r->pod, "spec");
	json_t *inits = json_object_get(spec, "initContainers");
	json_t *mains = json_object_get(spec, "containers");
	r->ninit = json_array_size(inits);
	r->nctrs = r->ninit + json_array_size(mains);
	r->ctrs = wf_xcalloc(r->nctrs ? r->nctrs : 1, sizeof *r->ctrs);
	for (size_t i = 0; i < r->nctrs; i++) {
		wf_ctr_rt *c = &r->ctrs[i];
		c->init = i < r->ninit;
		c->spec = json_array_get(c->init ? inits : mains, c->init ? i : i - r->ninit);
		const char *n = wf__str(c->spec, "name");
		snprintf(c->name, sizeof c->name, "%s", n ? n : "");
		c->attempt = -1;
		c->backoff_ms = 0;
		c->wd = -1;
	}
	r->start_ms = wf_agent_now_ms();
	wf_time_rfc3339(time(NULL), r->start_time);
	r->next = a->rts;
	a->rts = r;
	*(wf_pod_rt **)wf_smap_add(&a->rt_by_uid, r->uid, sizeof r) = r;
	return r;
}

/* ---- admission ------------------------------------------------------------------- */

/* GPUs a container asks for: limits (or requests) of nvidia.com/ resources. */
static void wf__gpu_requests(const json_t *ctr, const char **res, int64_t *count)
{
	*res = NULL;
	*count = 0;
	json_t *resources = json_object_get(ctr, "resources");
	static const char *const kinds[] = {"limits", "requests"};
	for (size_t k = 0; k < 2 && !*res; k++) {
		const char *key;
		json_t *v;
		json_object_foreach(json_object_get(resources, kinds[k]), key, v)
		{
			if (strncmp(key, "nvidia.com/", 11) && strncmp(key, "amd.com/", 8))
				continue;
			int64_t milli = 0;
			if (json_is_string(v))
				wf_quantity_parse(json_string_value(v), &milli, NULL);
			else if (json_is_integer(v))
				milli = json_integer_value(v) * 1000;
			*res = key;
			*count = milli / 1000;
			break;
		}
	}
}

/* Extended resources the node does not have at all. */
static const char *wf__unknown_resource(wf_agent *a, const json_t *ctr)
{
	json_t *resources = json_object_get(ctr, "resources");
	static const char *const kinds[] = {"limits", "requests"};
	for (size_t k = 0; k < 2; k++) {
		const char *key;
		json_t *v;
		json_object_foreach(json_object_get(resources, kinds[k]), key, v)
		{
			if (!strcmp(key, "cpu") || !strcmp(key, "memory") ||
			    !strcmp(key, "ephemeral-storage") || !strcmp(key, "pods") ||
			    !strncmp(key, "hugepages-", 10))
				continue;
			bool known = false;
			for (size_t d = 0; d < a->ndevs && !known; d++)
				known = !strcmp(a->devs[d].resource, key);
			if (!known)
				return key;
		}
	}
	return NULL;
}

static void wf__reject(wf_agent *a, wf_pod_rt *r, const char *reason, const char *msg)
{
	r->rejected = true;
	r->terminal = true;
	wf_agent_event(a, r->pod, "Warning", reason, "%s", msg);
	json_t *patch = json_object();
	json_t *st = json_object();
	json_object_set_new(st, "phase", json_string("Failed"));
	json_object_set_new(st, "reason", json_string(reason));
	json_object_set_new(st, "message", json_string(msg));
	json_object_set_new(st, "startTime", json_string(r->start_time));
	json_object_set_new(patch, "status", st);
	char *path = wf_xasprintf("/api/v1/namespaces/%s/pods/%s/status", r->ns, r->name);
	long code;
	wf_client_do(a->client, "PATCH", path, patch, "application/merge-patch+json", &code, NULL,
		     NULL);
	free(path);
	json_decref(patch);
}

static void wf__save_pod(wf_agent *a, wf_pod_rt *r)
{
	char *dir = wf_xasprintf("%s/%s", a->pods_dir, r->uid);
	wf_mkdirs(dir);
	char *path = wf_xasprintf("%s/pod.json", dir);
	char *tmp = wf_xasprintf("%s.tmp", path);
	if (json_dump_file(r->pod, tmp, JSON_COMPACT) == 0)
		rename(tmp, path);
	free(tmp);
	free(path);
	free(dir);
}

static bool wf__admit(wf_agent *a, wf_pod_rt *r)
{
	char msg[512];
	/* A process runtime runs commands; an image's entrypoint is unknown to it. */
	for (size_t i = 0; i < r->nctrs; i++) {
		json_t *cmd = json_object_get(r->ctrs[i].spec, "command");
		if (!json_is_array(cmd) || !json_array_size(cmd)) {
			snprintf(msg, sizeof msg,
				 "container %s has no command: Wharf runs containers as processes "
				 "and cannot run an image's entrypoint; set command (and args)",
				 r->ctrs[i].name);
			wf__reject(a, r, "NoCommand", msg);
			return false;
		}
	}
	for (size_t i = 0; i < r->nctrs; i++) {
		const char *unknown = wf__unknown_resource(a, r->ctrs[i].spec);
		if (unknown) {
			snprintf(msg, sizeof msg,
				 "Pod was rejected: Node didn't have enough resource: %s, requested: "
				 "1, used: 0, capacity: 0",
				 unknown);
			char reason[160];
			snprintf(reason, sizeof reason, "OutOf%s", unknown);
			wf__reject(a, r, reason, msg);
			return false;
		}
	}
	/* GPUs: every container's devices, all or nothing. */
	char owner[256];
	for (size_t i = 0; i < r->nctrs; i++) {
		wf_ctr_rt *c = &r->ctrs[i];
		const char *res;
		int64_t n;
		wf__gpu_requests(c->spec, &res, &n);
		if (!res || n <= 0)
			continue;
		snprintf(owner, sizeof owner, "%s/%s", r->uid, c->name);
		wf_err err = {0};
		int rc = n > WF_MAX_GPUS_PER_CTR
				 ? -WF_ECONFLICT
				 : wf_gpu_pool_allocate(a->gpus, owner, res, (size_t)n, c->gpu_uuids,
							c->gpu_indices, &err);
		if (rc < 0) {
			for (size_t j = 0; j < i; j++) {
				snprintf(owner, sizeof owner, "%s/%s", r->uid, r->ctrs[j].name);
				wf_gpu_pool_release(a->gpus, owner);
				r->ctrs[j].ngpus = 0;
			}
			size_t cap = 0;
			for (size_t d = 0; d < a->ndevs; d++)
				cap += !strcmp(a->devs[d].resource, res);
			size_t free_n = wf_gpu_pool_free_count(a->gpus, res);
			snprintf(msg, sizeof msg,
				 "Pod was rejected: Node didn't have enough resource: %s, requested: "
				 "%lld, used: %zu, capacity: %zu",
				 res, (long long)n, cap - free_n, cap);
			char reason[160];
			snprintf(reason, sizeof reason, "OutOf%s", res);
			wf__reject(a, r, reason, msg);
			return false;
		}
		c->ngpus = (size_t)n;
	}
	/* Make the assignment visible on the pod (kubectl describe shows it). */
	json_t *assign = json_object();
	for (size_t i = 0; i < r->nctrs; i++) {
		if (!r->ctrs[i].ngpus)
			continue;
		json_t *arr = json_array();
		for (size_t g = 0; g < r->ctrs[i].ngpus; g++)
			json_array_append_new(arr, json_string(r->ctrs[i].gpu_uuids[g]));
		json_object_set_new(assign, r->ctrs[i].name, arr);
	}
	if (json_object_size(assign)) {
		char *text = json_dumps(assign, JSON_COMPACT | JSON_SORT_KEYS);
		/* Written with the pod's first status (wf__post_status). */
		json_decref(r->meta_patch);
		r->meta_patch = json_pack("{s:{s:{s:s}}}", "metadata", "annotations",
					  WF_GPU_ANNOTATION, text);
		/* pod.json must carry it: adoption takes the devices from there. */
		json_t *md = json_object_get(r->pod, "metadata");
		json_t *ann = json_object_get(md, "annotations");
		if (!json_is_object(ann)) {
			ann = json_object();
			json_object_set_new(md, "annotations", ann);
		}
		json_object_set_new(ann, WF_GPU_ANNOTATION, json_string(text));
		free(text);
	}
	json_decref(assign);
	r->admitted = true;
	wf__save_pod(a, r);
	return true;
}

/* ---- starting and observing containers ------------------------------------------------ */

static int64_t wf__limit(const json_t *ctr, const char *res)
{
	json_t *v = json_object_get(json_object_get(json_object_get(ctr, "resources"), "limits"), res);
	int64_t milli = 0;
	if (json_is_string(v) && wf_quantity_parse(json_string_value(v), &milli, NULL) == 0)
		return milli;
	if (json_is_integer(v))
		return json_integer_value(v) * 1000;
	return 0;
}

static json_t *wf__waiting(const char *reason, const char *msg)
{
	json_t *w = json_object();
	json_object_set_new(w, "reason", json_string(reason));
	if (msg)
		json_object_set_new(w, "message", json_string(msg));
	return w;
}

static void wf__start(wf_agent *a, wf_pod_rt *r, wf_ctr_rt *c)
{
	wf_err err = {0};
	char **env = NULL;
	if (wf_agent_build_env(a, r->pod, c->spec, c, &env, &err) < 0) {
		/* Retried at every sync until it works: report each new error once. */
		const char *old = wf__str(c->waiting, "message");
		if (!old || strcmp(old, err.msg))
			wf_agent_event(a, r->pod, "Warning", "Failed", "Error: %s", err.msg);
		json_decref(c->waiting);
		c->waiting = wf__waiting("CreateContainerConfigError", err.msg);
		return;
	}
	char group[400];
	wf__cgroup_name(r, c, group, sizeof group);
	wf_cgroup_limits lim = {.cpu_milli = wf__limit(c->spec, "cpu"),
				.memory_bytes = wf__limit(c->spec, "memory") / 1000};
	if (wf_cgroup_create(a->cgroups, group, &lim, &err) < 0) {
		wf_agent_env_free(env);
		json_decref(c->waiting);
		c->waiting = wf__waiting("CreateContainerError", err.msg);
		wf_agent_event(a, r->pod, "Warning", "Failed", "Error: %s", err.msg);
		return;
	}
	uint64_t oom = 0;
	wf_cgroup_oom_kills(a->cgroups, group, &oom);
	int attempt = c->attempt + 1;
	char *dir = wf_agent_attempt_dir(a, r->uid, c->name, attempt);
	json_t *spec = json_object();
	json_t *cmd = json_array();
	size_t i;
	json_t *s;
	json_array_foreach(json_object_get(c->spec, "command"), i, s) json_array_append(cmd, s);
	json_array_foreach(json_object_get(c->spec, "args"), i, s) json_array_append(cmd, s);
	json_object_set_new(spec, "command", cmd);
	json_t *envj = json_array();
	for (char **e = env; e && *e; e++)
		json_array_append_new(envj, json_string(*e));
	json_object_set_new(spec, "env", envj);
	const char *wd = wf__str(c->spec, "workingDir");
	json_object_set_new(spec, "workingDir", json_string(wd && wd[0] ? wd : "/"));
	if (wf_cgroups_mode(a->cgroups) != WF_CGROUP_NONE)
		json_object_set_new(spec, "cgroup", json_string(group));
	if (a->o.cgroup_root)
		json_object_set_new(spec, "cgroupRoot", json_string(a->o.cgroup_root));
	char *log = wf_agent_log_path(a, r->uid, c->name, attempt); /* the shim creates it */
	json_object_set_new(spec, "log", json_string(log));
	free(log);
	json_object_set_new(spec, "logMaxBytes", json_integer(a->o.log_max_bytes));
	wf__watch(a, r, c, dir);
	/* The launcher starts the shim (wf_agent_launched reports its pid or
	 * failure); the shim reports how the container's start went in
	 * state.json or exit.json: wf__observe picks that up (inotify wakes the
	 * sync loop). */
	wf_launch_id id = {.attempt = attempt};
	snprintf(id.uid, sizeof id.uid, "%s", r->uid);
	snprintf(id.ctr, sizeof id.ctr, "%s", c->name);
	wf_launcher_add(a->launcher, &id, dir, spec);
	wf_agent_env_free(env);
	c->attempt = attempt;
	c->oom_base = oom;
	c->oom = false;
	memset(&c->st, 0, sizeof c->st);
	free(dir);
	json_decref(c->waiting);
	c->waiting = NULL;
	c->launching = true;
	c->launch_queued = true;
	c->shim_pid = 0;
	c->running_since_ms = wf_agent_now_ms();
	c->launch_deadline_ms = c->running_since_ms + WF_LAUNCH_TIMEOUT_MS;
	c->probe_kill = false;
	if (wf_probe_set_init(&c->probes, c->spec, c->running_since_ms, &err) < 0)
		wf_agent_event(a, r->pod, "Warning", "Unhealthy", "probes ignored: %s", err.msg);
	if (attempt == 0)
		wf_agent_event(a, r->pod, "Normal", "Created", "Created container %s", c->name);
}

/* The container of a launch, when it is still that attempt's (mu held). */
static wf_ctr_rt *wf__launch_ctr(wf_agent *a, const wf_launch_id *id, wf_pod_rt **rp)
{
	wf_pod_rt *r = wf__rt_find(a, id->uid);
	for (size_t i = 0; r && i < r->nctrs; i++) {
		wf_ctr_rt *c = &r->ctrs[i];
		if (!strcmp(c->name, id->ctr) && c->attempt == id->attempt && c->launch_queued) {
			*rp = r;
			return c;
		}
	}
	return NULL;
}

/* A start still stands unless its pod is being stopped (or is gone). */
bool wf_agent_launch_wanted(void *ctx, const wf_launch_id *id)
{
	wf_agent *a = ctx;
	pthread_mutex_lock(&a->mu);
	wf_pod_rt *r = NULL;
	bool wanted = wf__launch_ctr(a, id, &r) && !r->killing && !a->stop;
	pthread_mutex_unlock(&a->mu);
	return wanted;
}

void wf_agent_launched(void *ctx, const wf_launch_id *id, wf_launch_result res, pid_t shim_pid,
		       const wf_err *err)
{
	wf_agent *a = ctx;
	pthread_mutex_lock(&a->mu);
	if (res == WF_LAUNCH_STARTED && !a->spawner) { /* exec'd: ours to reap */
		a->shims = wf_xrealloc(a->shims, (a->nshims + 1) * sizeof *a->shims);
		a->shims[a->nshims++] = shim_pid;
	}
	wf_pod_rt *r = NULL;
	wf_ctr_rt *c = wf__launch_ctr(a, id, &r);
	if (c)
		c->launch_queued = false;
	if (c && res == WF_LAUNCH_STARTED) {
		c->shim_pid = shim_pid;
		c->launch_deadline_ms = wf_agent_now_ms() + WF_LAUNCH_TIMEOUT_MS;
	} else if (c && res == WF_LAUNCH_FAILED) {
		c->launching = false;
		c->waiting = wf__waiting("RunContainerError", err->msg);
		wf_agent_event(a, r->pod, "Warning", "Failed", "Error: %s", err->msg);
	} else if (c) {
		/* Never started: the pod is being stopped. */
		c->launching = false;
		c->st.exited = true;
		c->st.exit_code = 137;
		snprintf(c->st.reason, sizeof c->st.reason, "ContainerStatusUnknown");
		snprintf(c->st.message, sizeof c->st.message,
			 "the pod was stopped before the container started");
		wf_time_rfc3339(time(NULL), c->st.finished_at);
	}
	if (r)
		wf_agent_mark(a, r->uid);
	pthread_mutex_unlock(&a->mu);
}

/* A start under way: true once it is settled (started, exited, or failed
 * to start, which is recorded as a StartError exit). */
static bool wf__launch_settled(wf_agent *a, wf_pod_rt *r, wf_ctr_rt *c, const char *dir)
{
	if (c->st.started || c->st.exited) {
		c->launching = false;
		if (c->st.started)
			wf_agent_event(a, r->pod, "Normal", "Started", "Started container %s",
				       c->name);
		return true;
	}
	if (c->launch_queued)
		return false; /* wf_agent_launched will say */
	int status;
	bool gone = c->shim_pid > 0 && wf_shim_gone(c->shim_pid, &status);
	if (gone) {
		wf_shim_read_state(dir, &c->st, NULL); /* it may have written just before */
		if (c->st.started || c->st.exited)
			return wf__launch_settled(a, r, c, dir);
	}
	if (!gone && wf_agent_now_ms() < c->launch_deadline_ms)
		return false;
	c->launching = false;
	c->st.exited = true;
	c->st.exit_code = 128;
	snprintf(c->st.reason, sizeof c->st.reason, "StartError");
	snprintf(c->st.message, sizeof c->st.message,
		 gone ? "the shim exited before starting the container (see %s/shim.log)"
		      : "the shim did not start the container within 10s (see %s/shim.log)",
		 dir);
	wf_time_rfc3339(time(NULL), c->st.finished_at);
	return true;
}

static json_t *wf__terminated(const wf_ctr_rt *c)
{
	json_t *t = json_object();
	json_object_set_new(t, "exitCode", json_integer(c->st.exit_code));
	if (c->st.signal)
		json_object_set_new(t, "signal", json_integer(c->st.signal));
	const char *reason = c->oom ? "OOMKilled" : c->st.reason[0] ? c->st.reason
						    : c->st.exit_code == 0 ? "Completed"
									    : "Error";
	json_object_set_new(t, "reason", json_string(reason));
	if (c->st.message[0])
		json_object_set_new(t, "message", json_string(c->st.message));
	if (c->st.started_at[0])
		json_object_set_new(t, "startedAt", json_string(c->st.started_at));
	if (c->st.finished_at[0])
		json_object_set_new(t, "finishedAt", json_string(c->st.finished_at));
	char id[200];
	snprintf(id, sizeof id, "wharf://%s-%d", c->name, c->attempt);
	json_object_set_new(t, "containerID", json_string(id));
	return t;
}

/* Refresh a container's state from its shim; returns true when it has just exited. */
static bool wf__observe(wf_agent *a, wf_pod_rt *r, wf_ctr_rt *c)
{
	if (c->attempt < 0 || c->st.exited)
		return false; /* an exit is final for its attempt (and may be one we made up) */
	char *dir = wf_agent_attempt_dir(a, r->uid, c->name, c->attempt);
	wf_shim_read_state(dir, &c->st, NULL);
	bool settled = !c->launching || wf__launch_settled(a, r, c, dir);
	free(dir);
	if (!settled)
		return false;
	if (!c->st.exited && c->st.started && !c->st.running) {
		/* The process is gone but no exit was recorded (shim killed). */
		c->st.exited = true;
		c->st.exit_code = 137;
		c->st.signal = SIGKILL;
		snprintf(c->st.reason, sizeof c->st.reason, "Error");
		snprintf(c->st.message, sizeof c->st.message, "the container's shim disappeared");
		wf_time_rfc3339(time(NULL), c->st.finished_at);
	}
	if (!c->st.exited)
		return false;
	wf__unwatch(a, c);
	char group[400];
	wf__cgroup_name(r, c, group, sizeof group);
	uint64_t oom = 0;
	if (wf_cgroup_oom_kills(a->cgroups, group, &oom) == 0 && oom > c->oom_base)
		c->oom = true;
	return true;
}

static bool wf__should_restart(const wf_pod_rt *r, const wf_ctr_rt *c)
{
	const char *policy = wf__str(json_object_get(r->pod, "spec"), "restartPolicy");
	if (!policy)
		policy = "Always";
	if (c->init)
		return strcmp(policy, "Never") && c->st.exit_code != 0;
	if (!strcmp(policy, "Always"))
		return true;
	if (!strcmp(policy, "OnFailure"))
		return c->st.exit_code != 0;
	return false;
}

static void wf__handle_exit(wf_agent *a, wf_pod_rt *r, wf_ctr_rt *c)
{
	json_t *term = wf__terminated(c);
	if (c->oom)
		wf_agent_event(a, r->pod, "Warning", "OOMKilled",
			       "Container %s was killed: it went over its memory limit", c->name);
	else if (!strcmp(c->st.reason, "StartError"))
		wf_agent_event(a, r->pod, "Warning", "Failed", "Error: container %s: %s", c->name,
			       c->st.message);
	if (r->killing || !wf__should_restart(r, c)) {
		json_decref(c->last_term);
		c->last_term = NULL;
		json_decref(c->waiting);
		c->waiting = NULL;
		c->done = true;
		json_decref(term);
		return;
	}
	/* Exponential back-off, reset after a long healthy run. */
	int64_t now = wf_agent_now_ms();
	if (now - c->running_since_ms > WF_BACKOFF_RESET_MS)
		c->backoff_ms = 0;
	c->backoff_ms = c->backoff_ms ? c->backoff_ms * 2 : a->o.backoff_base_ms;
	if (c->backoff_ms > a->o.backoff_max_ms)
		c->backoff_ms = a->o.backoff_max_ms;
	c->backoff_until_ms = now + c->backoff_ms;
	json_decref(c->last_term);
	c->last_term = term;
	char msg[600];
	snprintf(msg, sizeof msg, "back-off %llds restarting failed container=%s pod=%s_%s(%s)",
		 (long long)(c->backoff_ms / 1000), c->name, r->name, r->ns, r->uid);
	json_decref(c->waiting);
	c->waiting = wf__waiting("CrashLoopBackOff", msg);
	wf_agent_event(a, r->pod, "Warning", "BackOff", "Back-off restarting failed container %s in pod %s_%s(%s)", c->name, r->name, r->ns, r->uid);
}

static void wf__kill_ctr(wf_agent *a, wf_pod_rt *r, wf_ctr_rt *c, int sig)
{
	if (c->attempt < 0 || c->st.exited || !c->st.started)
		return;
	wf_shim_signal(&c->st, sig);
	char group[400];
	wf__cgroup_name(r, c, group, sizeof group);
	wf_cgroup_kill(a->cgroups, group, sig);
}

/* ---- status ----------------------------------------------------------------------- */

/* One containerStatuses entry. Before it first starts a container waits with
 * PodInitializing while init containers run, ContainerCreating after. */
static json_t *wf__ctr_status(const wf_ctr_rt *c, bool init_done)
{
	json_t *s = json_object();
	json_object_set_new(s, "name", json_string(c->name));
	const char *image = wf__str(c->spec, "image");
	json_object_set_new(s, "image", json_string(image ? image : ""));
	json_object_set_new(s, "imageID", json_string(""));
	json_t *state = json_object();
	bool running = c->attempt >= 0 && c->st.started && !c->st.exited;
	if (c->waiting) {
		json_object_set(state, "waiting", c->waiting);
	} else if (c->attempt < 0) {
		json_object_set_new(state, "waiting", wf__waiting(c->init || !init_done ? "PodInitializing" : "ContainerCreating", NULL));
	} else if (c->launching) {
		json_object_set_new(state, "waiting", wf__waiting("ContainerCreating", NULL));
	} else if (running) {
		json_t *rs = json_object();
		json_object_set_new(rs, "startedAt", json_string(c->st.started_at));
		json_object_set_new(state, "running", rs);
	} else {
		json_object_set_new(state, "terminated", wf__terminated(c));
	}
	json_object_set_new(s, "state", state);
	json_t *last = json_object();
	if (c->last_term)
		json_object_set(last, "terminated", c->last_term);
	json_object_set_new(s, "lastState", last);
	json_object_set_new(s, "ready", json_boolean(running && wf_probe_set_ready(&c->probes)));
	json_object_set_new(s, "started", json_boolean(running && wf_probe_set_started(&c->probes)));
	json_object_set_new(s, "restartCount", json_integer(c->attempt > 0 ? c->attempt : 0));
	if (c->attempt >= 0) {
		char id[200];
		snprintf(id, sizeof id, "wharf://%s-%d", c->name, c->attempt);
		json_object_set_new(s, "containerID", json_string(id));
	}
	return s;
}

static json_t *wf__cond(const char *type, bool ok, const char *reason, const json_t *old_conds)
{
	json_t *c = json_object();
	json_object_set_new(c, "type", json_string(type));
	json_object_set_new(c, "status", json_string(ok ? "True" : "False"));
	json_object_set_new(c, "lastProbeTime", json_null());
	char ts[32];
	wf_time_rfc3339(time(NULL), ts);
	const char *keep = NULL;
	size_t i;
	json_t *o;
	json_array_foreach(old_conds, i, o)
	{
		const char *t = wf__str(o, "type"), *st = wf__str(o, "status");
		if (t && st && !strcmp(t, type) && !strcmp(st, ok ? "True" : "False"))
			keep = wf__str(o, "lastTransitionTime");
	}
	json_object_set_new(c, "lastTransitionTime", json_string(keep ? keep : ts));
	if (!ok && reason)
		json_object_set_new(c, "reason", json_string(reason));
	return c;
}

static const char *wf__phase(wf_pod_rt *r, bool *init_done)
{
	*init_done = true;
	for (size_t i = 0; i < r->ninit; i++) {
		wf_ctr_rt *c = &r->ctrs[i];
		if (c->done && c->st.exit_code != 0) {
			*init_done = false;
			return "Failed";
		}
		if (!(c->done && c->st.exit_code == 0)) {
			*init_done = false;
			return "Pending";
		}
	}
	bool any_started = false, all_done = r->nctrs > r->ninit, any_failed = false;
	for (size_t i = r->ninit; i < r->nctrs; i++) {
		wf_ctr_rt *c = &r->ctrs[i];
		any_started = any_started || c->attempt > 0 || (c->attempt == 0 && !c->launching);
		all_done = all_done && c->done;
		any_failed = any_failed || (c->done && c->st.exit_code != 0);
	}
	if (all_done)
		return any_failed ? "Failed" : "Succeeded";
	return any_started ? "Running" : "Pending";
}

static void wf__release(wf_agent *a, wf_pod_rt *r);

/* When the pod's status write waits for a container being started: the
 * end of that hold, or 0 when there is none. */
static int64_t wf__status_hold_until(const wf_pod_rt *r, int64_t now)
{
	int64_t until = 0;
	for (size_t i = 0; i < r->nctrs; i++) {
		const wf_ctr_rt *c = &r->ctrs[i];
		int64_t end = c->running_since_ms + WF_STATUS_HOLD_MS;
		if (c->launching && end > now && end > until)
			until = end;
	}
	return until;
}

/* Queue the pod's status for writing when it changed (not while a
 * container start holds it, see WF_STATUS_HOLD_MS). A pod that just
 * finished gives its GPUs and cgroups back first, so that nothing admitted
 * after seeing the final phase finds them still held. Returns true when the
 * API holds the current status (the write was acknowledged). */
static bool wf__post_status(wf_agent *a, wf_pod_rt *r)
{
	if (r->rejected)
		return true;
	if (wf__status_hold_until(r, wf_agent_now_ms()))
		return false;
	json_t *old = json_object_get(r->pod, "status");
	json_t *old_conds = json_object_get(old, "conditions");
	bool init_done;
	const char *phase = wf__phase(r, &init_done);
	r->terminal = !strcmp(phase, "Succeeded") || !strcmp(phase, "Failed");
	if (r->terminal && !r->released) {
		wf__release(a, r);
		r->released = true;
	}
	json_t *st = json_object();
	json_object_set_new(st, "phase", json_string(phase));
	json_object_set_new(st, "hostIP", json_string(a->o.node_ip));
	json_t *ips = json_array();
	json_array_append_new(ips, json_pack("{s:s}", "ip", a->o.node_ip));
	json_object_set_new(st, "hostIPs", json_deep_copy(ips));
	json_object_set_new(st, "podIP", json_string(a->o.node_ip));
	json_object_set_new(st, "podIPs", ips);
	json_object_set_new(st, "startTime", json_string(r->start_time));
	if (wf__str(old, "qosClass"))
		json_object_set_new(st, "qosClass", json_string(wf__str(old, "qosClass")));
	json_t *inits = json_array(), *mains = json_array();
	bool all_ready = r->nctrs > r->ninit;
	for (size_t i = 0; i < r->nctrs; i++) {
		wf_ctr_rt *c = &r->ctrs[i];
		json_array_append_new(c->init ? inits : mains, wf__ctr_status(c, init_done));
		if (!c->init) {
			bool running = c->attempt >= 0 && c->st.started && !c->st.exited;
			all_ready = all_ready && running && wf_probe_set_ready(&c->probes);
		}
	}
	if (r->ninit)
		json_object_set_new(st, "initContainerStatuses", inits);
	else
		json_decref(inits);
	json_object_set_new(st, "containerStatuses", mains);
	json_t *conds = json_array();
	json_array_append_new(conds, wf__cond("PodReadyToStartContainers", true, NULL, old_conds));
	json_array_append_new(conds, wf__cond("Initialized", init_done, "ContainersNotInitialized", old_conds));
	bool ready = all_ready && !r->terminal;
	json_array_append_new(conds, wf__cond("Ready", ready, r->terminal ? "PodCompleted" : "ContainersNotReady", old_conds));
	json_array_append_new(conds, wf__cond("ContainersReady", ready, r->terminal ? "PodCompleted" : "ContainersNotReady", old_conds));
	json_array_append_new(conds, wf__cond("PodScheduled", true, NULL, old_conds));
	json_object_set_new(st, "conditions", conds);
	char *text = json_dumps(st, JSON_COMPACT | JSON_SORT_KEYS);
	json_t *meta = r->meta_patch;
	r->meta_patch = NULL;
	if (r->last_status && !strcmp(text, r->last_status)) {
		if (meta)
			wf_status_writer_put(a->statuses, r->ns, r->name, r->uid, NULL, meta);
		free(text);
		json_decref(st);
		return r->status_acked;
	}
	/* What we write is the old status of the next one (transition times). */
	json_object_set_new(r->pod, "status", st);
	free(r->last_status);
	r->last_status = text;
	r->status_acked = false;
	wf_status_writer_put(a->statuses, r->ns, r->name, r->uid, text, meta);
	return false;
}

void wf_agent_status_done(void *ctx, const char *uid, const char *status, bool ok)
{
	wf_agent *a = ctx;
	pthread_mutex_lock(&a->mu);
	wf_pod_rt *r = wf__rt_find(a, uid);
	if (r && r->last_status && !strcmp(r->last_status, status)) {
		r->status_acked = ok;
		if (!ok) {
			/* Written again at the next sync. */
			free(r->last_status);
			r->last_status = NULL;
		}
		wf_agent_mark(a, uid);
	}
	pthread_mutex_unlock(&a->mu);
}

/* ---- teardown --------------------------------------------------------------------- */

/* Whether a container runs or is being started. */
static bool wf__any_running(wf_pod_rt *r)
{
	for (size_t i = 0; i < r->nctrs; i++)
		if (r->ctrs[i].launching ||
		    (r->ctrs[i].attempt >= 0 && r->ctrs[i].st.started && !r->ctrs[i].st.exited))
			return true;
	return false;
}

static void wf__release(wf_agent *a, wf_pod_rt *r)
{
	char buf[400];
	for (size_t i = 0; i < r->nctrs; i++) {
		snprintf(buf, sizeof buf, "%s/%s", r->uid, r->ctrs[i].name);
		wf_gpu_pool_release(a->gpus, buf);
		wf__cgroup_name(r, &r->ctrs[i], buf, sizeof buf);
		wf_cgroup_remove(a->cgroups, buf, NULL);
	}
}

/* Remove the pod object for good (grace 0, this uid only): nothing of it runs here. */
static void wf__remove_pod(wf_agent *a, const char *ns, const char *name, const char *uid)
{
	char *path = wf_xasprintf("/api/v1/namespaces/%s/pods/%s", ns, name);
	json_t *opts = json_pack("{s:s,s:s,s:i,s:{s:s}}", "kind", "DeleteOptions", "apiVersion",
				 "v1", "gracePeriodSeconds", 0, "preconditions", "uid", uid);
	long code;
	wf_client_do(a->client, "DELETE", path, opts, NULL, &code, NULL, NULL);
	json_decref(opts);
	free(path);
}

/* Stop a pod that is being deleted (or is gone). Returns true when finished. */
static bool wf__teardown(wf_agent *a, wf_pod_rt *r, const json_t *live)
{
	int64_t now = wf_agent_now_ms();
	if (!r->killing) {
		r->killing = true;
		int64_t grace = 0;
		json_t *g = live ? json_object_get(json_object_get(live, "metadata"),
						   "deletionGracePeriodSeconds")
				 : NULL;
		if (json_is_integer(g))
			grace = json_integer_value(g);
		r->kill_deadline_ms = now + grace * 1000;
		for (size_t i = 0; i < r->nctrs; i++) {
			if (r->ctrs[i].attempt >= 0 && !r->ctrs[i].st.exited && live)
				wf_agent_event(a, live, "Normal", "Killing", "Stopping container %s",
					       r->ctrs[i].name);
			wf__kill_ctr(a, r, &r->ctrs[i], grace > 0 ? SIGTERM : SIGKILL);
		}
		r->sigkilled = grace <= 0;
	} else if (now >= r->kill_deadline_ms) {
		/* At every pass: a container whose start was under way at the
		 * first signal is killed once it shows up. */
		for (size_t i = 0; i < r->nctrs; i++)
			wf__kill_ctr(a, r, &r->ctrs[i], SIGKILL);
		r->sigkilled = true;
	}
	for (size_t i = 0; i < r->nctrs; i++)
		if (wf__observe(a, r, &r->ctrs[i]))
			r->ctrs[i].done = true;
	if (wf__any_running(r))
		return false;
	wf__release(a, r);
	if (live)
		wf__remove_pod(a, r->ns, r->name, r->uid); /* the containers are gone */
	wf__forget_pod(a, r->uid);
	return true;
}

/* ---- sync ---------------------------------------------------------------------------- */

static void wf__sync_pod(wf_agent *a, wf_pod_rt *r)
{
	if (r->rejected || r->settled)
		return; /* finished, released and reported: nothing changes any more */
	if (!r->admitted && !wf__admit(a, r))
		return;
	int64_t now = wf_agent_now_ms();
	bool init_done = true;
	for (size_t i = 0; i < r->nctrs; i++) {
		wf_ctr_rt *c = &r->ctrs[i];
		if (wf__observe(a, r, c))
			wf__handle_exit(a, r, c);
		wf_probe_kind why;
		if (!c->probe_kill && c->attempt >= 0 && !c->st.exited &&
		    wf_probe_set_should_restart(&c->probes, &why)) {
			wf_agent_event(a, r->pod, "Normal", "Killing",
				       "Container %s failed %s probe, will be restarted", c->name,
				       why == WF_PROBE_STARTUP ? "startup" : "liveness");
			wf__kill_ctr(a, r, c, SIGKILL);
			c->probe_kill = true;
		}
	}
	for (size_t i = 0; i < r->nctrs; i++) {
		wf_ctr_rt *c = &r->ctrs[i];
		if (!init_done)
			break; /* an init container still runs: nothing after it starts */
		if (c->init) {
			if (c->done) {
				if (c->st.exit_code != 0)
					break; /* pod failed */
				continue;
			}
			init_done = false;
		}
		bool idle = c->attempt < 0 || (c->st.exited && !c->done) || (c->waiting && c->attempt < 0);
		if (c->done || !idle)
			continue;
		if (c->attempt >= 0 && now < c->backoff_until_ms)
			continue;
		wf__start(a, r, c);
	}
	r->settled = wf__post_status(a, r) && r->terminal;
}

/* Reap our own shims by pid: waitpid(-1) would also steal the exit status
 * of exec probes running on the probe thread. */
static void wf__reap_shims(wf_agent *a)
{
	for (size_t i = 0; i < a->nshims;) {
		if (waitpid(a->shims[i], NULL, WNOHANG) != 0)
			a->shims[i] = a->shims[--a->nshims];
		else
			i++;
	}
}

/* Sync one pod: give a new one a runtime record, stop one being deleted
 * or gone, or move it along. */
static void wf__sync_uid(wf_agent *a, const char *uid)
{
	json_t *pod = json_object_get(a->cache, uid);
	wf_pod_rt *r = wf__rt_find(a, uid);
	if (!r) {
		if (!pod)
			return;
		const char *phase = wf__str(json_object_get(pod, "status"), "phase");
		bool finished = phase && (!strcmp(phase, "Succeeded") || !strcmp(phase, "Failed"));
		const char *ns = wf__md(pod, "namespace");
		const char *name = wf__md(pod, "name");
		/* Deleted with nothing of it running here (never started, or
		 * finished before an agent restart): finish the deletion. */
		if (wf__md(pod, "deletionTimestamp") && ns && name)
			wf__remove_pod(a, ns, name, uid);
		if (finished || wf__md(pod, "deletionTimestamp"))
			return; /* finished before we saw it, or deleted: nothing to run */
		r = wf__rt_new(a, pod);
	} else if (!r->killing && pod) {
		/* Keep metadata current (deletionTimestamp, annotations). */
		json_object_set(r->pod, "metadata", json_object_get(pod, "metadata"));
	}
	bool gone = a->cache_synced && !pod;
	if (gone || (pod && wf__md(pod, "deletionTimestamp"))) {
		json_incref(pod);
		bool finished = wf__teardown(a, r, pod);
		json_decref(pod);
		if (finished) {
			wf__rt_unlink(a, r);
			wf__rt_free(r);
		}
		return;
	}
	if (pod)
		wf__sync_pod(a, r);
}

/* How soon pod r needs looking at again without being marked: back-offs
 * ending, kill deadlines, and a poll for shims that die without a word
 * (inotify reports the rest). */
static int64_t wf__wake_ms(wf_agent *a, wf_pod_rt *r, int64_t now)
{
	int64_t wait_ms = WF_SYNC_IDLE_MS;
	if (r->killing)
		wait_ms = 100;
	for (size_t i = 0; i < r->nctrs; i++)
		if (r->ctrs[i].backoff_until_ms > now && r->ctrs[i].backoff_until_ms - now < wait_ms)
			wait_ms = r->ctrs[i].backoff_until_ms - now;
	int64_t poll_ms = a->ino_fd >= 0 ? WF_SYNC_RUNNING_MS : 100;
	if (wf__any_running(r) && wait_ms > poll_ms)
		wait_ms = poll_ms;
	int64_t hold = wf__status_hold_until(r, now);
	if (hold && hold - now < wait_ms)
		wait_ms = hold - now;
	return wait_ms < 5 ? 5 : wait_ms;
}

/* The sync loop. A pass syncs the pods marked since the last one (watch
 * events, shim files, status acknowledgements, probe results); a full pass,
 * every pod, comes when the earliest timer of any pod is due, after a
 * relist, and at least every WF_SYNC_IDLE_MS. */
void *wf_agent_sync_main(void *arg)
{
	wf_agent *a = arg;
	int64_t next_full = 0;
	pthread_mutex_lock(&a->mu);
	while (!a->stop) {
		int64_t now = wf_agent_now_ms();
		wf_smap marked = a->dirty_uids;
		memset(&a->dirty_uids, 0, sizeof a->dirty_uids);
		if (a->full_sync || now >= next_full) {
			a->full_sync = false;
			const char *uid;
			json_t *pod;
			json_object_foreach(a->cache, uid, pod) wf__sync_uid(a, uid);
			for (wf_pod_rt *r = a->rts, *next; r; r = next) {
				next = r->next;
				if (!json_object_get(a->cache, r->uid))
					wf__sync_uid(a, r->uid); /* gone */
			}
			int64_t wait_ms = WF_SYNC_IDLE_MS;
			for (wf_pod_rt *r = a->rts; r; r = r->next) {
				int64_t w = wf__wake_ms(a, r, now);
				wait_ms = w < wait_ms ? w : wait_ms;
			}
			next_full = now + wait_ms;
		} else {
			wf_smap_iter it = {0};
			void *v;
			while ((v = wf_smap_next(&marked, &it))) {
				const char *uid = wf_smap_key(v);
				wf__sync_uid(a, uid);
				wf_pod_rt *r = wf__rt_find(a, uid);
				int64_t w = r ? now + wf__wake_ms(a, r, now) : next_full;
				next_full = w < next_full ? w : next_full;
			}
		}
		wf_smap_clear(&marked, NULL);
		wf__reap_shims(a);
		if (a->dirty_uids.n || a->full_sync || a->stop)
			continue;
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		int64_t wait_ms = next_full - wf_agent_now_ms();
		if (wait_ms < 1)
			continue;
		ts.tv_sec += wait_ms / 1000;
		ts.tv_nsec += (wait_ms % 1000) * 1000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&a->cv, &a->mu, &ts);
	}
	pthread_mutex_unlock(&a->mu);
	return NULL;
}

/* Mark a pod for the sync loop whenever one of its watched attempt
 * directories gets a new state.json or exit.json. */
void *wf_agent_exits_main(void *arg)
{
	wf_agent *a = arg;
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	while (!a->stop) {
		struct pollfd p = {a->ino_fd, POLLIN, 0};
		if (poll(&p, 1, 200) <= 0)
			continue;
		ssize_t n = read(a->ino_fd, buf, sizeof buf);
		if (n <= 0)
			continue;
		pthread_mutex_lock(&a->mu);
		for (char *q = buf; q < buf + n;) {
			const struct inotify_event *ev = (const struct inotify_event *)q;
			q += sizeof *ev + ev->len;
			if (ev->mask & IN_IGNORED)
				continue; /* the watch went */
			if (ev->mask & IN_Q_OVERFLOW)
				a->full_sync = true;
			else if (ev->wd >= 0 && (size_t)ev->wd < a->nwd && a->wd_uid[ev->wd])
				wf_agent_mark(a, a->wd_uid[ev->wd]);
		}
		pthread_cond_signal(&a->cv);
		pthread_mutex_unlock(&a->mu);
	}
	return NULL;
}

/* ---- probes ----------------------------------------------------------------------- */

static const char *const wf__probe_names[] = {"Startup", "Liveness", "Readiness"};

/* One thread runs every due probe, one at a time, without holding the lock
 * while a probe runs; the schedule and thresholds are the pure state
 * machine of probe_state.c. */
void *wf_agent_probe_main(void *arg)
{
	wf_agent *a = arg;
	while (!a->stop) {
		json_t *probe = NULL, *ctr = NULL;
		char uid[64] = "", name[128] = "";
		wf_probe_kind kind = WF_PROBE_STARTUP;
		int attempt = -1;
		char **env = NULL;
		pthread_mutex_lock(&a->mu);
		int64_t now = wf_agent_now_ms();
		for (wf_pod_rt *r = a->rts; r && !probe; r = r->next) {
			if (r->killing)
				continue;
			for (size_t i = r->ninit; i < r->nctrs && !probe; i++) {
				wf_ctr_rt *c = &r->ctrs[i];
				if (c->attempt < 0 || !c->st.started || c->st.exited || c->probe_kill)
					continue;
				wf_probe_kind k;
				if (wf_probe_set_next_due(&c->probes, &k) > now)
					continue;
				kind = k;
				attempt = c->attempt;
				probe = json_deep_copy(json_object_get(c->spec, wf_probe_kind_field(k)));
				ctr = json_deep_copy(c->spec);
				snprintf(uid, sizeof uid, "%s", r->uid);
				snprintf(name, sizeof name, "%s", c->name);
				wf_agent_build_env(a, r->pod, c->spec, c, &env, NULL);
			}
		}
		pthread_mutex_unlock(&a->mu);
		if (!probe) {
			usleep(50000);
			continue;
		}
		char msg[512] = "";
		wf_probe_target t = {.host = a->o.node_ip, .container = ctr, .env = env};
		wf_probe_result res = wf_probe_run(probe, &t, msg, sizeof msg);
		pthread_mutex_lock(&a->mu);
		wf_pod_rt *r = wf__rt_find(a, uid);
		for (size_t i = 0; r && i < r->nctrs; i++) {
			wf_ctr_rt *c = &r->ctrs[i];
			if (strcmp(c->name, name) || c->attempt != attempt)
				continue;
			if (res == WF_PROBE_FAILURE)
				wf_agent_event(a, r->pod, "Warning", "Unhealthy", "%s probe failed: %s",
					       wf__probe_names[kind], msg);
			if (wf_probe_set_record(&c->probes, kind, wf_agent_now_ms(), res))
				wf_agent_mark(a, uid);
		}
		pthread_mutex_unlock(&a->mu);
		json_decref(probe);
		json_decref(ctr);
		wf_agent_env_free(env);
	}
	return NULL;
}

/* ---- adoption after a restart ----------------------------------------------------------- */

void wf_agent_adopt(wf_agent *a)
{
	DIR *d = opendir(a->pods_dir);
	struct dirent *e;
	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char *path = wf_xasprintf("%s/%s/pod.json", a->pods_dir, e->d_name);
		json_t *pod = json_load_file(path, 0, NULL);
		free(path);
		if (!pod) {
			wf__forget_pod(a, e->d_name);
			continue;
		}
		wf_pod_rt *r = wf__rt_new(a, pod);
		json_decref(pod);
		r->admitted = true;
		for (size_t i = 0; i < r->nctrs; i++) {
			wf_ctr_rt *c = &r->ctrs[i];
			/* The newest attempt directory is the current one. */
			for (int at = 0;; at++) {
				char *dir = wf_agent_attempt_dir(a, r->uid, c->name, at);
				struct stat sb;
				bool exists = stat(dir, &sb) == 0;
				free(dir);
				if (!exists)
					break;
				c->attempt = at;
			}
			if (c->attempt < 0)
				continue;
			if (c->attempt > 0) {
				/* lastState from the attempt before. */
				wf_ctr_rt prev = *c;
				prev.attempt = c->attempt - 1;
				char *dir = wf_agent_attempt_dir(a, r->uid, c->name, prev.attempt);
				if (wf_shim_read_state(dir, &prev.st, NULL) == 0 && prev.st.exited) {
					prev.oom = false;
					c->last_term = wf__terminated(&prev);
				}
				free(dir);
			}
			char *dir = wf_agent_attempt_dir(a, r->uid, c->name, c->attempt);
			wf_shim_read_state(dir, &c->st, NULL);
			if (!c->st.exited)
				wf__watch(a, r, c, dir);
			if (!c->st.started && !c->st.exited) {
				/* The agent stopped while the shim was starting it. */
				c->launching = true;
				c->launch_deadline_ms = wf_agent_now_ms() + WF_LAUNCH_TIMEOUT_MS;
			}
			free(dir);
			/* An exit that happened while we were away is handled by the
			 * first sync: present it as not yet seen. */
			c->st.exited = false;
			c->running_since_ms = wf_agent_now_ms();
			char group[400];
			wf__cgroup_name(r, c, group, sizeof group);
			wf_cgroup_oom_kills(a->cgroups, group, &c->oom_base);
			/* GPUs: the pool's state file normally has them; re-take from
			 * the annotation otherwise. */
			const char *ann = wf__str(json_object_get(json_object_get(r->pod, "metadata"), "annotations"), WF_GPU_ANNOTATION);
			json_t *assign = ann ? json_loads(ann, 0, NULL) : NULL;
			size_t g;
			json_t *u;
			char owner[256];
			snprintf(owner, sizeof owner, "%s/%s", r->uid, c->name);
			json_array_foreach(json_object_get(assign, c->name), g, u)
			{
				if (g < WF_MAX_GPUS_PER_CTR && json_is_string(u)) {
					wf_gpu_pool_adopt(a->gpus, owner, json_string_value(u), NULL);
					snprintf(c->gpu_uuids[g], sizeof c->gpu_uuids[g], "%s", json_string_value(u));
					c->ngpus = g + 1;
				}
			}
			json_decref(assign);
		}
		fprintf(stderr, "wharf-agent: adopted pod %s/%s (%s)\n", r->ns, r->name, r->uid);
	}
	if (d)
		closedir(d);
}
