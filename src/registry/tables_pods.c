/*
 * tables_pods.c - `kubectl get pods` and `kubectl get nodes` rows.
 *
 * The pod STATUS column follows kube-apiserver's printPod step by step:
 * phase (or status.reason), then the first init container that has not
 * finished, then the containers from last to first, then deletion. Every
 * counter read from the object is clamped to int32 range so hostile values
 * cannot overflow the sums.
 *
 * The node table adds two Wharf columns after VERSION: GPUS (capacity of
 * nvidia.com/gpu, else amd.com/gpu) and GPU-MODEL (the GPU Feature
 * Discovery label nvidia.com/gpu.product).
 */
#include "registry/tables_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WF__I32_MAX 2147483647
#define WF__I32_MIN (-2147483647 - 1)

/* ---- pods -------------------------------------------------------------- */

static const wf_column wf__pod_cols[] = {
    {"Name", "string", "name", WF__DESC_NAME, 0},
    {"Ready", "string", "", "The aggregate readiness state of this pod for accepting traffic.", 0},
    {"Status", "string", "", "The aggregate status of the containers in this pod.", 0},
    {"Restarts", "string", "",
     "The number of times the containers in this pod have been restarted and when the last "
     "container in this pod has restarted.",
     0},
    {"Age", "string", "", WF__DESC_AGE, 0},
    {"IP", "string", "", "The first IP address allocated to the pod.", 1},
    {"Node", "string", "", "The node the pod is bound to (spec.nodeName).", 1},
    {"Nominated Node", "string", "",
     "The node the scheduler nominated for the pod after preempting others.", 1},
    {"Readiness Gates", "string", "", "Readiness gates whose condition is True, of all gates.", 1},
};

static bool wf__streq(const char *a, const char *b)
{
	return a && strcmp(a, b) == 0;
}

/* Replace the contents of b with the formatted string; returns b->data. */
static const char *wf__pod_fmt(wf_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static const char *wf__pod_fmt(wf_buf *b, const char *fmt, ...)
{
	char tmp[64];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	b->len = 0;
	wf_buf_puts(b, tmp);
	return b->data;
}

static const char *wf__pod_prefixed(wf_buf *b, const char *prefix, const char *s)
{
	b->len = 0;
	wf_buf_puts(b, prefix);
	wf_buf_puts(b, s);
	return b->data;
}

/*
 * Hostile pods may carry many thousands of init containers, statuses,
 * readiness gates and conditions; matching them pairwise would be
 * quadratic. Both lookups below sort once and binary-search instead.
 */
static int wf__pod_cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Sorted names of the sidecar init containers (restartPolicy: Always). */
static const char **wf__pod_sidecars(const json_t *inits, size_t *n)
{
	const char **v = wf_xcalloc(json_array_size(inits) + 1, sizeof(*v));
	size_t i, k = 0;
	const json_t *c;
	json_array_foreach(inits, i, c)
	{
		const char *name = wf__tbl_str(c, "name", NULL);
		if (name && wf__streq(wf__tbl_str(c, "restartPolicy", NULL), "Always"))
			v[k++] = name;
	}
	qsort(v, k, sizeof(*v), wf__pod_cmp_str);
	*n = k;
	return v;
}

static bool wf__pod_is_sidecar(const char **sidecars, size_t n, const char *name)
{
	return name && n && bsearch(&name, sidecars, n, sizeof(*sidecars), wf__pod_cmp_str);
}

typedef struct wf__pod_cond {
	const char *type;
	bool is_true;
	size_t idx;
} wf__pod_cond;

static int wf__pod_cmp_cond(const void *a, const void *b)
{
	const wf__pod_cond *x = a, *y = b;
	int c = strcmp(x->type, y->type);
	if (c)
		return c;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* Conditions sorted by type, only the first of each type kept (the one
 * the printer's linear scan would find). */
static wf__pod_cond *wf__pod_cond_index(const json_t *conds, size_t *n)
{
	wf__pod_cond *v = wf_xcalloc(json_array_size(conds) + 1, sizeof(*v));
	size_t i, k = 0, out = 0;
	const json_t *c;
	json_array_foreach(conds, i, c)
	{
		const char *t = wf__tbl_str(c, "type", NULL);
		if (t)
			v[k++] =
			    (wf__pod_cond){t, wf__streq(wf__tbl_str(c, "status", NULL), "True"), i};
	}
	qsort(v, k, sizeof(*v), wf__pod_cmp_cond);
	for (i = 0; i < k; i++) {
		if (out == 0 || strcmp(v[out - 1].type, v[i].type) != 0)
			v[out++] = v[i];
	}
	*n = out;
	return v;
}

static bool wf__pod_cond_lookup_true(const wf__pod_cond *v, size_t n, const char *type)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(v[mid].type, type);
		if (c == 0)
			return v[mid].is_true;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

static bool wf__pod_ready_condition(const json_t *conds)
{
	size_t i;
	const json_t *c;
	json_array_foreach(conds, i, c)
	{
		const char *t = wf__tbl_str(c, "type", NULL);
		const char *st = wf__tbl_str(c, "status", NULL);
		if (t && st && strcmp(t, "Ready") == 0 && strcmp(st, "True") == 0)
			return true;
	}
	return false;
}

/* Track the latest lastState.terminated.finishedAt seen. */
static void wf__pod_last_restart(const json_t *cs, bool *has, time_t *last)
{
	time_t t;
	if (!wf__tbl_time(wf__tbl_at(cs, "lastState", "terminated", "finishedAt", NULL), &t))
		return;
	if (!*has || t > *last) {
		*has = true;
		*last = t;
	}
}

/* Reason for a container that terminated without one: Signal:N or ExitCode:N. */
static const char *wf__pod_exit_reason(wf_buf *b, const char *prefix, const json_t *term)
{
	int64_t sig =
	    wf__tbl_int_clamp(json_object_get(term, "signal"), WF__I32_MIN, WF__I32_MAX, 0);
	int64_t code =
	    wf__tbl_int_clamp(json_object_get(term, "exitCode"), WF__I32_MIN, WF__I32_MAX, 0);
	if (sig != 0)
		return wf__pod_fmt(b, "%sSignal:%lld", prefix, (long long)sig);
	return wf__pod_fmt(b, "%sExitCode:%lld", prefix, (long long)code);
}

static void wf__pod_row(const json_t *pod, time_t now, json_t *cells)
{
	const json_t *status = wf__tbl_at(pod, "status", NULL);
	const json_t *conds = json_object_get(status, "conditions");
	const json_t *init_statuses = json_object_get(status, "initContainerStatuses");
	const json_t *statuses = json_object_get(status, "containerStatuses");
	const char *phase = wf__tbl_str(status, "phase", NULL);
	const char *status_reason = wf__tbl_str(status, "reason", NULL);
	int64_t restarts = 0, sidecar_restarts = 0;
	int64_t total = (int64_t)json_array_size(wf__tbl_at(pod, "spec", "containers", NULL));
	int64_t ready = 0;
	bool has_last = false, has_sidecar_last = false, initializing = false;
	time_t last = 0, sidecar_last = 0;
	wf_buf rb;
	char tmp[WF_TIME_DURATION_LEN];
	size_t i;
	const json_t *c;

	wf_buf_init(&rb);
	const char *reason = phase ? phase : "Pending";
	if (wf__tbl_nonempty(status_reason))
		reason = status_reason;

	json_array_foreach(conds, i, c)
	{
		if (wf__streq(wf__tbl_str(c, "type", NULL), "PodScheduled") &&
		    wf__streq(wf__tbl_str(c, "reason", NULL), "SchedulingGated"))
			reason = "SchedulingGated";
	}

	const json_t *inits = wf__tbl_at(pod, "spec", "initContainers", NULL);
	json_array_foreach(inits, i, c)
	{
		if (wf__streq(wf__tbl_str(c, "restartPolicy", NULL), "Always"))
			total++;
	}
	size_t nsidecars;
	const char **sidecars = wf__pod_sidecars(inits, &nsidecars);

	json_array_foreach(init_statuses, i, c)
	{
		int64_t rc =
		    wf__tbl_int_clamp(json_object_get(c, "restartCount"), 0, WF__I32_MAX, 0);
		bool sidecar =
		    wf__pod_is_sidecar(sidecars, nsidecars, wf__tbl_str(c, "name", NULL));
		const json_t *term = wf__tbl_at(c, "state", "terminated", NULL);
		const json_t *wait = wf__tbl_at(c, "state", "waiting", NULL);

		restarts += rc;
		wf__pod_last_restart(c, &has_last, &last);
		if (sidecar) {
			sidecar_restarts += rc;
			wf__pod_last_restart(c, &has_sidecar_last, &sidecar_last);
		}
		if (json_is_object(term) && wf__tbl_int_clamp(json_object_get(term, "exitCode"),
							      WF__I32_MIN, WF__I32_MAX, 0) == 0)
			continue;
		if (sidecar && json_is_true(json_object_get(c, "started"))) {
			if (json_is_true(json_object_get(c, "ready")))
				ready++;
			continue;
		}
		if (json_is_object(term)) {
			const char *r = wf__tbl_str(term, "reason", NULL);
			if (wf__tbl_nonempty(r))
				reason = wf__pod_prefixed(&rb, "Init:", r);
			else
				reason = wf__pod_exit_reason(&rb, "Init:", term);
		} else if (json_is_object(wait) &&
			   wf__tbl_nonempty(wf__tbl_str(wait, "reason", NULL)) &&
			   !wf__streq(wf__tbl_str(wait, "reason", NULL), "PodInitializing")) {
			reason = wf__pod_prefixed(&rb, "Init:", wf__tbl_str(wait, "reason", NULL));
		} else {
			reason = wf__pod_fmt(&rb, "Init:%zu/%zu", i, json_array_size(inits));
		}
		initializing = true;
		break;
	}

	if (!initializing || wf__tbl_cond_true(conds, "Initialized")) {
		bool has_running = false;
		restarts = sidecar_restarts;
		has_last = has_sidecar_last;
		last = sidecar_last;
		for (size_t k = json_array_size(statuses); k-- > 0;) {
			c = json_array_get(statuses, k);
			const json_t *term = wf__tbl_at(c, "state", "terminated", NULL);
			const json_t *wait = wf__tbl_at(c, "state", "waiting", NULL);
			const char *wr = wf__tbl_str(wait, "reason", NULL);
			const char *tr = wf__tbl_str(term, "reason", NULL);

			restarts += wf__tbl_int_clamp(json_object_get(c, "restartCount"), 0,
						      WF__I32_MAX, 0);
			wf__pod_last_restart(c, &has_last, &last);
			if (json_is_object(wait) && wf__tbl_nonempty(wr)) {
				reason = wr;
			} else if (json_is_object(term) && wf__tbl_nonempty(tr)) {
				reason = tr;
			} else if (json_is_object(term)) {
				reason = wf__pod_exit_reason(&rb, "", term);
			} else if (json_is_true(json_object_get(c, "ready")) &&
				   json_is_object(wf__tbl_at(c, "state", "running", NULL))) {
				has_running = true;
				ready++;
			}
		}
		if (strcmp(reason, "Completed") == 0 && has_running)
			reason = wf__pod_ready_condition(conds) ? "Running" : "NotReady";
	}

	if (wf__tbl_present(wf__tbl_at(pod, "metadata", "deletionTimestamp", NULL))) {
		if (wf__streq(status_reason, "NodeLost"))
			reason = "Unknown";
		else if (!wf__streq(phase, "Failed") && !wf__streq(phase, "Succeeded"))
			reason = "Terminating";
	}

	char readybuf[48];
	snprintf(readybuf, sizeof(readybuf), "%lld/%lld", (long long)ready, (long long)total);
	char restartbuf[96];
	if (restarts != 0 && has_last)
		snprintf(restartbuf, sizeof(restartbuf), "%lld (%s ago)", (long long)restarts,
			 wf_time_human_duration((int64_t)now - (int64_t)last, tmp, sizeof(tmp)));
	else
		snprintf(restartbuf, sizeof(restartbuf), "%lld", (long long)restarts);

	wf__tbl_add_str(cells, wf__tbl_name(pod));
	wf__tbl_add_str(cells, readybuf);
	wf__tbl_add_str(cells, reason);
	wf__tbl_add_str(cells, restartbuf);
	wf__tbl_add_age(cells, pod, now);

	/* wide */
	const char *ip =
	    wf__tbl_str(json_array_get(json_object_get(status, "podIPs"), 0), "ip", NULL);
	if (!wf__tbl_nonempty(ip))
		ip = wf__tbl_str(status, "podIP", NULL);
	const char *node = wf__tbl_str(pod, "spec", "nodeName", NULL);
	const char *nominated = wf__tbl_str(status, "nominatedNodeName", NULL);
	wf__tbl_add_str(cells, wf__tbl_nonempty(ip) ? ip : "<none>");
	wf__tbl_add_str(cells, wf__tbl_nonempty(node) ? node : "<none>");
	wf__tbl_add_str(cells, wf__tbl_nonempty(nominated) ? nominated : "<none>");

	const json_t *gates = wf__tbl_at(pod, "spec", "readinessGates", NULL);
	if (json_array_size(gates) > 0) {
		size_t true_count = 0, ncond;
		wf__pod_cond *cix = wf__pod_cond_index(conds, &ncond);
		json_array_foreach(gates, i, c)
		{
			const char *ct = wf__tbl_str(c, "conditionType", NULL);
			if (ct && wf__pod_cond_lookup_true(cix, ncond, ct))
				true_count++;
		}
		free(cix);
		char gbuf[48];
		snprintf(gbuf, sizeof(gbuf), "%zu/%zu", true_count, json_array_size(gates));
		wf__tbl_add_str(cells, gbuf);
	} else {
		wf__tbl_add_str(cells, "<none>");
	}
	free(sidecars);
	wf_buf_free(&rb);
}

const wf_table_def wf__table_pods = {
    .resource = "pods",
    .cols = wf__pod_cols,
    .ncols = sizeof(wf__pod_cols) / sizeof(wf__pod_cols[0]),
    .row = wf__pod_row,
};

/* ---- nodes ------------------------------------------------------------- */

#define WF__NODE_ROLE_PREFIX "node-role.kubernetes.io/"

static const wf_column wf__node_cols[] = {
    {"Name", "string", "name", WF__DESC_NAME, 0},
    {"Status", "string", "", "The status of the node", 0},
    {"Roles", "string", "", "The roles of the node", 0},
    {"Age", "string", "", WF__DESC_AGE, 0},
    {"Version", "string", "", "Kubelet version reported by the node.", 0},
    {"Gpus", "integer", "", "GPUs the node has (capacity of nvidia.com/gpu or amd.com/gpu).", 0},
    {"Gpu-Model", "string", "", "GPU product (label nvidia.com/gpu.product).", 0},
    {"Internal-IP", "string", "", "The node's first InternalIP address.", 1},
    {"External-IP", "string", "", "The node's first ExternalIP address.", 1},
    {"OS-Image", "string", "", "OS image reported by the node.", 1},
    {"Kernel-Version", "string", "", "Kernel version reported by the node.", 1},
    {"Container-Runtime", "string", "", "Container runtime reported by the node.", 1},
};

/* A GPU count: a JSON integer or a quantity string of plain digits. */
static bool wf__node_gpu_count(const json_t *v, int64_t *out)
{
	if (wf__tbl_int(v, out))
		return *out >= 0;
	const char *s = wf__tbl_sval(v);
	if (!s || !*s || strlen(s) > 18)
		return false;
	int64_t n = 0;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			return false;
		n = n * 10 + (*p - '0');
	}
	*out = n;
	return true;
}

static void wf__node_add_addr(json_t *cells, const json_t *node, const char *type)
{
	size_t i;
	const json_t *a;
	json_array_foreach(wf__tbl_at(node, "status", "addresses", NULL), i, a)
	{
		if (wf__streq(wf__tbl_str(a, "type", NULL), type)) {
			wf__tbl_add_str(cells, wf__tbl_str(a, "address", NULL));
			return;
		}
	}
	wf__tbl_add_str(cells, "<none>");
}

static void wf__node_add_info(json_t *cells, const json_t *node, const char *field)
{
	const char *s = wf__tbl_str(node, "status", "nodeInfo", field, NULL);
	wf__tbl_add_str(cells, wf__tbl_nonempty(s) ? s : "<unknown>");
}

static void wf__node_row(const json_t *node, time_t now, json_t *cells)
{
	const json_t *labels = wf__tbl_at(node, "metadata", "labels", NULL);
	const char *ready = NULL;
	size_t i;
	const json_t *c;
	wf_buf b;

	json_array_foreach(wf__tbl_at(node, "status", "conditions", NULL), i, c)
	{
		if (wf__streq(wf__tbl_str(c, "type", NULL), "Ready"))
			ready = wf__streq(wf__tbl_str(c, "status", NULL), "True") ? "Ready"
										  : "NotReady";
	}
	wf_buf_init(&b);
	wf_buf_puts(&b, ready ? ready : "Unknown");
	if (json_is_true(wf__tbl_at(node, "spec", "unschedulable", NULL)))
		wf_buf_puts(&b, ",SchedulingDisabled");
	wf__tbl_add_str(cells, wf__tbl_name(node));
	wf__tbl_add_str(cells, b.data);

	size_t nlabels = json_object_size(labels), nroles = 0;
	const char **roles = wf_xcalloc(nlabels ? nlabels : 1, sizeof(*roles));
	const char *key;
	json_t *val;
	if (json_is_object(labels)) {
		json_object_foreach((json_t *)labels, key, val)
		{
			const char *v = wf__tbl_sval(val);
			if (nroles >= nlabels)
				break;
			if (strncmp(key, WF__NODE_ROLE_PREFIX, strlen(WF__NODE_ROLE_PREFIX)) == 0) {
				if (key[strlen(WF__NODE_ROLE_PREFIX)] != '\0')
					roles[nroles++] = key + strlen(WF__NODE_ROLE_PREFIX);
			} else if (strcmp(key, "kubernetes.io/role") == 0 && wf__tbl_nonempty(v)) {
				roles[nroles++] = v;
			}
		}
	}
	b.len = 0;
	wf__tbl_join_sorted_unique(roles, nroles, ",", &b);
	wf__tbl_add_str(cells, nroles ? b.data : "<none>");
	free(roles);

	wf__tbl_add_age(cells, node, now);
	wf__tbl_add_str(cells, wf__tbl_str(node, "status", "nodeInfo", "kubeletVersion", NULL));

	const json_t *cap = wf__tbl_at(node, "status", "capacity", NULL);
	const json_t *gpus = json_object_get(cap, "nvidia.com/gpu");
	if (!gpus)
		gpus = json_object_get(cap, "amd.com/gpu");
	int64_t ngpu = 0;
	if (!gpus || wf__node_gpu_count(gpus, &ngpu))
		wf__tbl_add_int(cells, ngpu);
	else
		wf__tbl_add_null(cells);
	const char *model = wf__tbl_sval(json_object_get(labels, "nvidia.com/gpu.product"));
	wf__tbl_add_str(cells, wf__tbl_nonempty(model) ? model : "<none>");

	/* wide */
	wf__node_add_addr(cells, node, "InternalIP");
	wf__node_add_addr(cells, node, "ExternalIP");
	wf__node_add_info(cells, node, "osImage");
	wf__node_add_info(cells, node, "kernelVersion");
	wf__node_add_info(cells, node, "containerRuntimeVersion");
	wf_buf_free(&b);
}

const wf_table_def wf__table_nodes = {
    .resource = "nodes",
    .cols = wf__node_cols,
    .ncols = sizeof(wf__node_cols) / sizeof(wf__node_cols[0]),
    .row = wf__node_row,
};
