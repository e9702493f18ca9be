/*
 * jpack.c - compact exact binary encoding of JSON values (see jpack.h).
 *
 * A value is one tag byte and its payload:
 *   0x00 null, 0x01 false, 0x02 true
 *   0x03 integer: zigzag varint          0x04 real: 8 bytes, little-endian
 *   0x05 string: varint length, bytes    0x06 object: varint n, n x (key, value)
 *   0x07 array: varint n, n values       0x08 uid: 16 bytes (canonical, lower case)
 *   0x09 time: varint seconds since 1970 ("YYYY-MM-DDTHH:MM:SSZ" exactly)
 *   0x0a decimal: varint (a string "0" or [1-9][0-9]{0,18})
 *   0x10 + i: the well-known string wf__words[i]
 * Object keys are written as strings (any string form). A string takes a
 * short form only when formatting that form back gives the very same
 * bytes, so decode(encode(v)) equals v. The words table lives in memory
 * only (nothing encoded is ever stored on disk), so it may change freely.
 */
#include "controllers/jpack.h"
#include "lib/wf_hash.h"
#include "lib/wf_mem.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

enum {
	WF__T_NULL,
	WF__T_FALSE,
	WF__T_TRUE,
	WF__T_INT,
	WF__T_REAL,
	WF__T_STR,
	WF__T_OBJ,
	WF__T_ARR,
	WF__T_UID,
	WF__T_TIME,
	WF__T_DEC,
	WF__T_WORD = 0x10,
};

/* Keys and values that fill the controllers' caches (pods, nodes, leases,
 * jobs, PodGroups, PyTorchJobs, PriorityClasses). */
/* clang-format off */
static const char *const wf__words[] = {
	"apiVersion", "kind", "metadata", "spec", "status", "name", "namespace", "uid",
	"resourceVersion", "generation", "creationTimestamp", "deletionTimestamp",
	"deletionGracePeriodSeconds", "labels", "annotations", "ownerReferences", "finalizers",
	"controller", "blockOwnerDeletion", "generateName", "conditions", "type",
	"lastTransitionTime", "lastProbeTime", "lastHeartbeatTime", "lastUpdateTime", "reason",
	"message", "observedGeneration", "phase", "True", "False", "Unknown", "v1", "default",
	"kube-system",
	/* pods */
	"Pod", "nodeName", "tolerations", "restartPolicy", "containers", "initContainers", "image",
	"command", "args", "env", "value", "valueFrom", "fieldRef", "fieldPath", "resources",
	"requests", "limits", "cpu", "memory", "ephemeral-storage", "pods", "nvidia.com/gpu",
	"amd.com/gpu", "ports", "containerPort", "protocol", "TCP", "UDP", "schedulerName",
	"default-scheduler", "wharf-scheduler", "priority", "priorityClassName", "preemptionPolicy",
	"PreemptLowerPriority", "Never", "nodeSelector", "affinity", "hostname", "subdomain",
	"terminationGracePeriodSeconds", "securityContext", "imagePullPolicy", "Always",
	"IfNotPresent", "OnFailure", "qosClass", "BestEffort", "Burstable", "Guaranteed", "podIP",
	"podIPs", "ip", "hostIP", "hostIPs", "startTime", "containerStatuses",
	"initContainerStatuses", "restartCount", "ready", "started", "state", "lastState",
	"running", "waiting", "terminated", "exitCode", "startedAt", "finishedAt", "Pending",
	"Running", "Succeeded", "Failed", "Ready", "PodScheduled", "Initialized", "ContainersReady",
	"PodReadyToStartContainers", "DisruptionTarget", "Unschedulable", "Completed", "Error",
	"nominatedNodeName",
	/* taints and tolerations */
	"key", "operator", "effect", "Exists", "Equal", "tolerationSeconds", "taints", "timeAdded",
	"NoSchedule", "NoExecute", "PreferNoSchedule", "node.kubernetes.io/not-ready",
	"node.kubernetes.io/unreachable", "unschedulable",
	/* nodes and leases */
	"Node", "capacity", "allocatable", "InternalIP", "Hostname", "MemoryPressure",
	"DiskPressure", "PIDPressure", "KubeletReady", "KubeletHasSufficientMemory",
	"KubeletHasNoDiskPressure", "KubeletHasSufficientPID", "NodeStatusUnknown",
	"Kubelet stopped posting node status.", "kubernetes.io/hostname", "kubernetes.io/os",
	"linux", "kubernetes.io/arch", "amd64", "topology.kubernetes.io/zone",
	"nvidia.com/gpu.product", "nvidia.com/gpu.count", "nvidia.com/gpu.memory",
	"nvidia.com/mig.capable", "podCIDR", "Lease", "coordination.k8s.io/v1", "kube-node-lease",
	"holderIdentity", "leaseDurationSeconds", "renewTime", "acquireTime",
	/* jobs */
	"Job", "batch/v1", "batch.kubernetes.io/job-tracking",
	"batch.kubernetes.io/job-completion-index", "batch.kubernetes.io/controller-uid",
	"batch.kubernetes.io/job-name", "controller-uid", "job-name", "template", "parallelism",
	"completions", "backoffLimit", "completionMode", "Indexed", "NonIndexed", "suspend",
	"activeDeadlineSeconds", "ttlSecondsAfterFinished", "podReplacementPolicy",
	"TerminatingOrFailed", "selector", "matchLabels", "matchExpressions", "manualSelector",
	"active", "succeeded", "failed", "terminating", "completedIndexes", "failedIndexes",
	"uncountedTerminatedPods", "completionTime", "Complete", "SuccessCriteriaMet",
	"FailureTarget", "Suspended", "BackoffLimitExceeded", "DeadlineExceeded",
	/* training jobs, pod groups, priority classes */
	"kubeflow.org/v1", "PyTorchJob", "pytorchReplicaSpecs", "Master", "Worker", "replicas",
	"runPolicy", "cleanPodPolicy", "schedulingPolicy", "minAvailable", "pytorch",
	"training.kubeflow.org/replica-type", "training.kubeflow.org/replica-index",
	"training.kubeflow.org/job-name", "training.kubeflow.org/operator-name", "PodGroup",
	"scheduling.x-k8s.io/v1alpha1", "scheduling.volcano.sh/v1beta1",
	"scheduling.x-k8s.io/pod-group", "scheduling.k8s.io/group-name", "minMember",
	"scheduleTimeoutSeconds", "occupiedBy", "scheduled", "Scheduled", "Scheduling",
	"PreScheduling", "Finished", "Inqueue", "ScheduleTimeout", "PriorityClass",
	"scheduling.k8s.io/v1", "globalDefault", "description",
};
/* clang-format on */

#define WF__NWORDS (sizeof wf__words / sizeof *wf__words)
_Static_assert(WF__NWORDS <= 256 - WF__T_WORD, "too many well-known words");

/* word -> index + 1 (0: empty slot), open addressing. */
#define WF__WSLOTS 1024
static uint16_t wf__wslot[WF__WSLOTS];
static pthread_once_t wf__wonce = PTHREAD_ONCE_INIT;

static uint32_t wf__whash(const char *s, size_t n)
{
	return wf_fnv1a32(WF_FNV32_BASIS, s, n);
}

static void wf__words_init(void)
{
	for (size_t i = 0; i < WF__NWORDS; i++) {
		uint32_t h = wf__whash(wf__words[i], strlen(wf__words[i])) & (WF__WSLOTS - 1);
		while (wf__wslot[h]) {
			if (!strcmp(wf__words[wf__wslot[h] - 1], wf__words[i]))
				break; /* a duplicate keeps its first index */
			h = (h + 1) & (WF__WSLOTS - 1);
		}
		if (!wf__wslot[h])
			wf__wslot[h] = (uint16_t)(i + 1);
	}
}

static int wf__word(const char *s, size_t n)
{
	uint32_t h = wf__whash(s, n) & (WF__WSLOTS - 1);
	while (wf__wslot[h]) {
		const char *w = wf__words[wf__wslot[h] - 1];
		if (strlen(w) == n && !memcmp(w, s, n))
			return wf__wslot[h] - 1;
		h = (h + 1) & (WF__WSLOTS - 1);
	}
	return -1;
}

/* ---- short forms of strings ----------------------------------------------------- */

static int wf__hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" in lower-case hex. */
static bool wf__uid_pack(const char *s, size_t n, unsigned char out[16])
{
	if (n != 36)
		return false;
	size_t o = 0;
	for (size_t i = 0; i < 36;) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return false;
			i++;
			continue;
		}
		int hi = wf__hexval(s[i]), lo = wf__hexval(s[i + 1]);
		if (hi < 0 || lo < 0)
			return false;
		out[o++] = (unsigned char)(hi << 4 | lo);
		i += 2;
	}
	return true;
}

static void wf__uid_text(const unsigned char in[16], char out[37])
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;
	for (size_t i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = hex[in[i] >> 4];
		out[o++] = hex[in[i] & 15];
	}
	out[o] = '\0';
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
static int64_t wf__days_from_civil(int64_t y, int64_t m, int64_t d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void wf__civil_from_days(int64_t z, int64_t *y, int64_t *m, int64_t *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp + (mp < 10 ? 3 : -9);
	*y = yoe + era * 400 + (*m <= 2);
}

static bool wf__digits(const char *s, size_t n, int64_t *v)
{
	int64_t x = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		x = x * 10 + (s[i] - '0');
	}
	*v = x;
	return true;
}

static void wf__time_text(uint64_t secs, char out[21])
{
	int64_t days = (int64_t)(secs / 86400), rem = (int64_t)(secs % 86400);
	int64_t y, m, d;
	wf__civil_from_days(days, &y, &m, &d);
	int64_t hh = rem / 3600, mm = rem / 60 % 60, ss = rem % 60;
	char *p = out;
	int64_t parts[6] = {y, m, d, hh, mm, ss};
	static const char seps[6] = {'-', '-', 'T', ':', ':', 'Z'};
	static const int width[6] = {4, 2, 2, 2, 2, 2};
	for (int i = 0; i < 6; i++) {
		for (int k = width[i] - 1; k >= 0; k--) {
			p[k] = (char)('0' + parts[i] % 10);
			parts[i] /= 10;
		}
		p += width[i];
		*p++ = seps[i];
	}
	*p = '\0';
}

/* "YYYY-MM-DDTHH:MM:SSZ" for 1970..9999, formatted back identically. */
static bool wf__time_pack(const char *s, size_t n, uint64_t *secs)
{
	if (n != 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' ||
	    s[19] != 'Z')
		return false;
	int64_t y, mo, d, h, mi, se;
	if (!wf__digits(s, 4, &y) || !wf__digits(s + 5, 2, &mo) || !wf__digits(s + 8, 2, &d) ||
	    !wf__digits(s + 11, 2, &h) || !wf__digits(s + 14, 2, &mi) ||
	    !wf__digits(s + 17, 2, &se))
		return false;
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 59)
		return false;
	int64_t t = wf__days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se;
	char back[21];
	wf__time_text((uint64_t)t, back);
	if (memcmp(back, s, 20))
		return false; /* e.g. February 30th */
	*secs = (uint64_t)t;
	return true;
}

/* "0" or [1-9][0-9]{0,18}. */
static bool wf__dec_pack(const char *s, size_t n, uint64_t *v)
{
	if (n < 1 || n > 19 || (s[0] == '0' && n > 1))
		return false;
	uint64_t x = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		x = x * 10 + (uint64_t)(s[i] - '0');
	}
	*v = x;
	return true;
}

/* ---- encode ------------------------------------------------------------------------ */

static void wf__put_varint(wf_buf *b, uint64_t v)
{
	unsigned char tmp[10];
	size_t n = 0;
	do {
		unsigned char c = v & 0x7f;
		v >>= 7;
		tmp[n++] = (unsigned char)(c | (v ? 0x80 : 0));
	} while (v);
	wf_buf_append(b, tmp, n);
}

static void wf__put_tag(wf_buf *b, int tag)
{
	unsigned char t = (unsigned char)tag;
	wf_buf_append(b, &t, 1);
}

static void wf__put_str(wf_buf *b, const char *s, size_t n)
{
	int w = wf__word(s, n);
	unsigned char uid[16];
	uint64_t v;
	if (w >= 0) {
		wf__put_tag(b, WF__T_WORD + w);
	} else if (wf__uid_pack(s, n, uid)) {
		wf__put_tag(b, WF__T_UID);
		wf_buf_append(b, uid, 16);
	} else if (wf__time_pack(s, n, &v)) {
		wf__put_tag(b, WF__T_TIME);
		wf__put_varint(b, v);
	} else if (wf__dec_pack(s, n, &v)) {
		wf__put_tag(b, WF__T_DEC);
		wf__put_varint(b, v);
	} else {
		wf__put_tag(b, WF__T_STR);
		wf__put_varint(b, n);
		wf_buf_append(b, s, n);
	}
}

static bool wf__enc(wf_buf *b, const json_t *v, int depth)
{
	if (depth > WF_JPACK_MAX_DEPTH)
		return false;
	switch (json_typeof(v)) {
	case JSON_NULL:
		wf__put_tag(b, WF__T_NULL);
		return true;
	case JSON_FALSE:
		wf__put_tag(b, WF__T_FALSE);
		return true;
	case JSON_TRUE:
		wf__put_tag(b, WF__T_TRUE);
		return true;
	case JSON_INTEGER: {
		int64_t x = (int64_t)json_integer_value(v);
		wf__put_tag(b, WF__T_INT);
		wf__put_varint(b, ((uint64_t)x << 1) ^ (uint64_t)(x >> 63));
		return true;
	}
	case JSON_REAL: {
		double d = json_real_value(v);
		uint64_t bits;
		memcpy(&bits, &d, sizeof bits);
		unsigned char le[8];
		for (int i = 0; i < 8; i++)
			le[i] = (unsigned char)(bits >> (8 * i));
		wf__put_tag(b, WF__T_REAL);
		wf_buf_append(b, le, 8);
		return true;
	}
	case JSON_STRING:
		wf__put_str(b, json_string_value(v), json_string_length(v));
		return true;
	case JSON_ARRAY: {
		wf__put_tag(b, WF__T_ARR);
		wf__put_varint(b, json_array_size(v));
		size_t i;
		json_t *el;
		json_array_foreach(v, i, el)
		{
			if (!wf__enc(b, el, depth + 1))
				return false;
		}
		return true;
	}
	case JSON_OBJECT: {
		wf__put_tag(b, WF__T_OBJ);
		wf__put_varint(b, json_object_size(v));
		for (void *it = json_object_iter((json_t *)v); it;
		     it = json_object_iter_next((json_t *)v, it)) {
			wf__put_str(b, json_object_iter_key(it), json_object_iter_key_len(it));
			if (!wf__enc(b, json_object_iter_value(it), depth + 1))
				return false;
		}
		return true;
	}
	}
	return false;
}

unsigned char *wf_jpack_encode(const json_t *v, size_t *len)
{
	*len = 0;
	if (!v)
		return NULL;
	pthread_once(&wf__wonce, wf__words_init);
	wf_buf b;
	wf_buf_init(&b);
	if (!wf__enc(&b, v, 0)) {
		wf_buf_free(&b);
		return NULL;
	}
	*len = b.len;
	return (unsigned char *)wf_buf_steal(&b);
}

/* ---- decode ------------------------------------------------------------------------ */

typedef struct wf__rd {
	const unsigned char *p, *end;
} wf__rd;

static bool wf__get_varint(wf__rd *r, uint64_t *v)
{
	uint64_t x = 0;
	for (int shift = 0; shift < 64; shift += 7) {
		if (r->p >= r->end)
			return false;
		unsigned char c = *r->p++;
		if (shift == 63 && c > 1)
			return false; /* past 64 bits */
		x |= (uint64_t)(c & 0x7f) << shift;
		if (!(c & 0x80)) {
			*v = x;
			return true;
		}
	}
	return false;
}

/* A string form at r (tag already read): into *s (n bytes), using tmp for
 * the formatted forms. false when malformed or not a string form. */
static bool wf__get_str(wf__rd *r, int tag, char tmp[40], const char **s, size_t *n)
{
	uint64_t v;
	if (tag >= WF__T_WORD) {
		if ((size_t)(tag - WF__T_WORD) >= WF__NWORDS)
			return false;
		*s = wf__words[tag - WF__T_WORD];
		*n = strlen(*s);
		return true;
	}
	switch (tag) {
	case WF__T_STR:
		if (!wf__get_varint(r, &v) || v > (uint64_t)(r->end - r->p))
			return false;
		*s = (const char *)r->p;
		*n = (size_t)v;
		r->p += v;
		return true;
	case WF__T_UID:
		if (r->end - r->p < 16)
			return false;
		wf__uid_text(r->p, tmp);
		r->p += 16;
		*s = tmp;
		*n = 36;
		return true;
	case WF__T_TIME:
		/* 253402300799 is 9999-12-31T23:59:59Z. */
		if (!wf__get_varint(r, &v) || v > UINT64_C(253402300799))
			return false;
		wf__time_text(v, tmp);
		*s = tmp;
		*n = 20;
		return true;
	case WF__T_DEC: {
		if (!wf__get_varint(r, &v) || v > UINT64_C(9999999999999999999))
			return false;
		char rev[20];
		size_t k = 0;
		do {
			rev[k++] = (char)('0' + v % 10);
			v /= 10;
		} while (v);
		for (size_t i = 0; i < k; i++)
			tmp[i] = rev[k - 1 - i];
		tmp[k] = '\0';
		*s = tmp;
		*n = k;
		return true;
	}
	default:
		return false;
	}
}

static json_t *wf__dec(wf__rd *r, int depth)
{
	if (depth > WF_JPACK_MAX_DEPTH || r->p >= r->end)
		return NULL;
	int tag = *r->p++;
	uint64_t v;
	switch (tag) {
	case WF__T_NULL:
		return json_null();
	case WF__T_FALSE:
		return json_false();
	case WF__T_TRUE:
		return json_true();
	case WF__T_INT:
		if (!wf__get_varint(r, &v))
			return NULL;
		return json_integer((json_int_t)((int64_t)(v >> 1) ^ -(int64_t)(v & 1)));
	case WF__T_REAL: {
		if (r->end - r->p < 8)
			return NULL;
		uint64_t bits = 0;
		for (int i = 0; i < 8; i++)
			bits |= (uint64_t)r->p[i] << (8 * i);
		r->p += 8;
		double d;
		memcpy(&d, &bits, sizeof d);
		return json_real(d); /* NULL for NaN/inf, which jansson never holds */
	}
	case WF__T_ARR: {
		if (!wf__get_varint(r, &v) || v > (uint64_t)(r->end - r->p))
			return NULL;
		json_t *a = json_array();
		for (uint64_t i = 0; i < v; i++) {
			json_t *el = wf__dec(r, depth + 1);
			if (!el || json_array_append_new(a, el) < 0) {
				json_decref(a);
				return NULL;
			}
		}
		return a;
	}
	case WF__T_OBJ: {
		if (!wf__get_varint(r, &v) || v > (uint64_t)(r->end - r->p) / 2)
			return NULL;
		json_t *o = json_object();
		for (uint64_t i = 0; i < v; i++) {
			char tmp[40];
			const char *k;
			size_t kn;
			json_t *val = NULL;
			if (r->p < r->end) {
				int ktag = *r->p++;
				/* k points into tmp (this frame's) or the buffer: both
				 * outlive the value's decoding. */
				if (wf__get_str(r, ktag, tmp, &k, &kn)) {
					val = wf__dec(r, depth + 1);
					if (val && json_object_getn(o, k, kn)) {
						json_decref(val); /* a duplicate key */
						val = NULL;
					}
					if (val && json_object_setn_new(o, k, kn, val) < 0)
						val = NULL; /* (setn_new released it) */
				}
			}
			if (!val) {
				json_decref(o);
				return NULL;
			}
		}
		return o;
	}
	default: {
		char tmp[40];
		const char *s;
		size_t n;
		if (!wf__get_str(r, tag, tmp, &s, &n))
			return NULL;
		return json_stringn(s, n); /* NULL for bad UTF-8 */
	}
	}
}

json_t *wf_jpack_decode(const unsigned char *buf, size_t len)
{
	if (!buf || !len)
		return NULL;
	wf__rd r = {buf, buf + len};
	json_t *v = wf__dec(&r, 0);
	if (v && r.p != r.end) {
		json_decref(v);
		return NULL;
	}
	return v;
}
