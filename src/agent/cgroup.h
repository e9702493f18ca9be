/*
 * cgroup.h - per-container cgroups with CPU and memory limits, on cgroup v1
 * (one hierarchy per controller) or v2 (the unified hierarchy), detected at
 * start. Where the machine gives no writable cgroups, detection says so and
 * every container runs without limits.
 *
 * Layout: <mount>/wharf/<group> under each controller's mount (v1: the cpu,
 * cpuacct and memory hierarchies, co-mounted ones counted once) or under the
 * unified mount (v2); <group> is chosen by the caller (e.g. "pod<uid>/<ctr>").
 * On v2, wharf/ and every inner group delegate +cpu +memory to their children
 * (cgroup.subtree_control), so processes may only join leaf groups.
 *
 * A wf_cgroups is immutable once detected: every function below may be called
 * from any thread at once. Every function accepts cg == NULL as NONE mode.
 *
 * Errors (negative WF_E* codes): -WF_EINVAL a bad group name or limit;
 * -WF_ENOENT the group does not exist; -WF_ENOTSUP the call needs cgroups
 * (or a kernel feature) that this machine does not give; -WF_EIO any other
 * failure of the cgroup filesystem.
 */
#ifndef WF_CGROUP_H
#define WF_CGROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib/wf_err.h"

/* Longest group name accepted, in bytes. */
#define WF_CGROUP_NAME_MAX 255

typedef struct wf_cgroups wf_cgroups; /* the detected system */

typedef enum wf_cgroup_mode {
	WF_CGROUP_NONE = 0, /* no writable cgroups: run without limits */
	WF_CGROUP_V1 = 1,
	WF_CGROUP_V2 = 2,
} wf_cgroup_mode;

/* Detect the hierarchy and prepare <mount>/wharf.
 *
 * root == NULL: the mounts come from /proc/self/mountinfo. v2 when a cgroup2
 * mount lists cpu and memory in its cgroup.controllers; else v1 when cgroup
 * v1 hierarchies with the cpu and memory controllers are mounted (cpuacct is
 * optional: without it usage_usec reads 0); else NONE. A hybrid machine (v1
 * controllers plus an empty cgroup2 at .../unified) thus gives v1.
 * root != NULL (tests, or an explicit --cgroup-root): the directory itself is
 * the layout: v2 when root/cgroup.controllers exists, v1 when root/cpu and
 * root/memory are directories (root/cpuacct used when present).
 *
 * Detection creates <mount>/wharf (and on v2 enables +cpu +memory in the
 * mount's and wharf's cgroup.subtree_control); a machine where that fails
 * (read-only mount, no permission, the agent's own cgroup holding processes
 * on v2) is NONE. Never fails and never returns NULL: *why (when why is not
 * NULL, truncated to whylen) gets one line saying what was found, and in
 * NONE mode why. The caller frees the result with wf_cgroups_free. */
wf_cgroups *wf_cgroups_detect(const char *root, char *why, size_t whylen);
wf_cgroup_mode wf_cgroups_mode(const wf_cgroups *cg);
void wf_cgroups_free(wf_cgroups *cg);

/* True when `group` is a relative path of components made of
 * [A-Za-z0-9._-], none empty, "." or "..", at most WF_CGROUP_NAME_MAX bytes
 * in all. Async-signal-safe. Every function below rejects other names with
 * -WF_EINVAL before touching the filesystem. */
bool wf_cgroup_name_valid(const char *group);

/* Write into buf (len bytes) the directory of `group` in the hierarchy of
 * `controller` ("cpu", "cpuacct" or "memory"; on v2 all three give the one
 * unified directory). Does not touch the filesystem. -WF_EINVAL for another
 * controller, -WF_ENOTSUP in NONE mode or when that hierarchy is absent
 * (v1 without cpuacct), -WF_ETOOBIG when buf is too small. */
int wf_cgroup_path(const wf_cgroups *cg, const char *controller, const char *group, char *buf,
		   size_t len);

typedef struct wf_cgroup_limits {
	int64_t cpu_milli;    /* 0 = unlimited; 500 = half a CPU (CFS quota) */
	int64_t memory_bytes; /* 0 = unlimited */
} wf_cgroup_limits;

/* Create (or reuse, updating the limits) the cgroup `group`, its missing
 * parents included. CPU: a CFS period of 100 ms and a quota of cpu_milli *
 * 100 us (at least the kernel's 1 ms). Memory: the hard limit, with swap
 * shut off where the kernel accounts it (v1 memory.memsw.limit_in_bytes set
 * to the same value; v2 memory.swap.max = 0); on v2 memory.oom.group = 1, so
 * an OOM kill takes the whole container, as kubelet does. Negative limits:
 * -WF_EINVAL. Other failures: -WF_EIO with the failing path in err, and the
 * directories this call created are removed again. Does nothing and returns
 * 0 in NONE mode. lim may be NULL (no limits). */
int wf_cgroup_create(wf_cgroups *cg, const char *group, const wf_cgroup_limits *lim, wf_err *err);

/* Move pid (0 = the caller) into the group, in every hierarchy. Async-signal
 * -safe (no allocation, no stdio: only open/write/close on paths built on
 * the stack), so a freshly forked child may call it on itself before exec.
 * Returns 0 and does nothing in NONE mode; -WF_ENOENT when the group was not
 * created; -WF_EIO when the kernel refuses (e.g. v2, an inner group). */
int wf_cgroup_enter(const wf_cgroups *cg, const char *group, pid_t pid);

/* Number of OOM kills the kernel recorded in the group since its creation:
 * v2 memory.events "oom_kill", v1 memory.oom_control "oom_kill" (kernel
 * >= 4.13). -WF_ENOTSUP where the kernel does not count them (older v1) or
 * in NONE mode; the caller then can only guess from a SIGKILL exit. */
int wf_cgroup_oom_kills(const wf_cgroups *cg, const char *group, uint64_t *out);

/* A struct tag only: a typedef of this name would collide with the function
 * below, which C does not allow. */
struct wf_cgroup_cpu_stat {
	uint64_t periods;	    /* CFS enforcement periods that had runnable work */
	uint64_t throttled_periods; /* of those, periods in which the quota ran out */
	uint64_t throttled_usec;    /* total time throttled */
	uint64_t usage_usec;	    /* CPU time used (0 on v1 without cpuacct) */
};
/* Read the group's CPU statistics (v2 cpu.stat; v1 cpu.stat and
 * cpuacct.usage, converted from ns). Counters the kernel does not show read 0.
 * -WF_ENOTSUP in NONE mode. */
int wf_cgroup_cpu_stat(const wf_cgroups *cg, const char *group, struct wf_cgroup_cpu_stat *out);

/* Signal every process in the group. SIGKILL on v2 goes through cgroup.kill
 * when the kernel has it (atomic, forks cannot escape); otherwise the pids
 * in cgroup.procs are signalled, re-reading it until a pass finds no process
 * not yet signalled. Processes already gone are not an error. -WF_ENOTSUP in
 * NONE mode. */
int wf_cgroup_kill(const wf_cgroups *cg, const char *group, int sig);

/* Pids of the processes in the group, sorted, without duplicates. On success
 * *pids is a fresh array the caller frees (NULL when *n == 0). -WF_ENOTSUP
 * in NONE mode. */
int wf_cgroup_pids(const wf_cgroups *cg, const char *group, pid_t **pids, size_t *n);

/* Remove the group, then its parents up to (not including) wharf/ that are
 * left empty, in every hierarchy. A group that does not exist is removed
 * already: 0. -WF_EIO (err says so) while processes remain in it (see
 * wf_cgroup_pids). Does nothing and returns 0 in NONE mode. */
int wf_cgroup_remove(wf_cgroups *cg, const char *group, wf_err *err);

#endif
