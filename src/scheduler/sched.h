/*
 * sched.h - Wharf's scheduler library: placement of pods on nodes, GPU-aware,
 * with gangs, priorities and preemption. Public API.
 *
 * The library is pure: no I/O, no globals, no clock; time comes in as
 * `now_ms` arguments. One wf_sched holds a cluster view (nodes, pods, pod
 * groups) fed by a driver, and turns pending pods into decisions that the
 * driver carries out (bind, evict, write conditions and Events):
 *
 *   driver                          library
 *   node/pod/group watch events --> wf_sched_node_upsert / _pod_upsert / ...
 *   periodically, or on events  --> wf_sched_schedule(now) -> decisions
 *   BIND done / failed          --> wf_sched_bound / wf_sched_bind_failed
 *
 * A BIND decision reserves ("assumes") the node's resources at once, as
 * kube-scheduler's cache does; the driver confirms with wf_sched_bound (or
 * by upserting the pod with its node) or releases with wf_sched_bind_failed.
 *
 * Model. Resources are interned names: "cpu" in millicores, every other
 * resource in whole units ("memory" and "ephemeral-storage" in bytes,
 * "pods" as a count, "nvidia.com/gpu", "nvidia.com/mig-1g.10gb", ...). A node
 * without a "pods" entry allows 110 pods (the kubelet default). Pods carry
 * their effective requests (see wf_sched_pod_from_json in convert.h for how they are
 * computed from containers). The pod-count request is implicit.
 *
 * Scheduling follows kube-scheduler's framework (extension points in its
 * order, one status type, scores 0-100 normalised and weighted), its filter
 * semantics (NodeUnschedulable, NodeName, TaintToleration, NodeAffinity,
 * NodeResourcesFit, InterPodAffinity; a node whose Ready condition is not True acts as tainted
 * node.kubernetes.io/not-ready or .../unreachable:NoSchedule) and its
 * unschedulable message ("0/12 nodes are available: ...").
 *
 * Strings in decisions and info structs are owned by the library; their
 * lifetime is stated on each function. A wf_sched is not thread-safe: the
 * driver serialises calls.
 */
#ifndef WF_SCHED_H
#define WF_SCHED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/wf_err.h"
#include "lib/wf_mem.h"

typedef struct wf_sched wf_sched;

/* ---- Status codes (kube-scheduler's framework.Code) ---------------------- */

typedef enum wf_sched_code {
	WF_SCHED_SUCCESS = 0,
	WF_SCHED_UNSCHEDULABLE, /* may fit after something changes (or by preemption) */
	WF_SCHED_UNRESOLVABLE,	/* UnschedulableAndUnresolvable: preemption cannot help */
	WF_SCHED_WAIT,		/* Permit: wait for siblings */
	WF_SCHED_SKIP,		/* PreScore/PreFilter: plugin does not apply */
	WF_SCHED_ERROR,
} wf_sched_code;

/* ---- Input types ----------------------------------------------------------
 * All pointers in these specs are borrowed for the duration of the call that
 * takes them; the library copies what it keeps. */

typedef struct wf_sched_resource {
	const char *name;
	int64_t amount; /* cpu: millicores; everything else: whole units */
} wf_sched_resource;

typedef struct wf_sched_label {
	const char *key;
	const char *value;
} wf_sched_label;

typedef enum wf_sched_effect {
	WF_SCHED_EFFECT_ALL = 0, /* tolerations only: an empty effect matches all */
	WF_SCHED_NO_SCHEDULE,
	WF_SCHED_PREFER_NO_SCHEDULE,
	WF_SCHED_NO_EXECUTE,
} wf_sched_effect;

typedef struct wf_sched_taint {
	const char *key;
	const char *value;	/* NULL is "" */
	wf_sched_effect effect; /* not WF_SCHED_EFFECT_ALL */
} wf_sched_taint;

typedef enum wf_sched_tol_op {
	WF_SCHED_TOL_EQUAL = 0,
	WF_SCHED_TOL_EXISTS,
} wf_sched_tol_op;

/* Kubernetes' rules: an empty key with Exists tolerates every taint; an
 * empty effect matches every effect; Equal compares values. */
typedef struct wf_sched_toleration {
	const char *key; /* NULL is "" */
	wf_sched_tol_op op;
	const char *value; /* NULL is ""; ignored for Exists */
	wf_sched_effect effect;
} wf_sched_toleration;

typedef enum wf_sched_op {
	WF_SCHED_OP_IN = 0,
	WF_SCHED_OP_NOT_IN,
	WF_SCHED_OP_EXISTS,
	WF_SCHED_OP_DOES_NOT_EXIST,
	WF_SCHED_OP_GT,
	WF_SCHED_OP_LT,
} wf_sched_op;

/* One node selector requirement. `field` marks a matchFields entry, whose
 * key must be "metadata.name" and whose op In or NotIn. In/NotIn need at
 * least one value, Exists/DoesNotExist none, Gt/Lt exactly one integer. */
typedef struct wf_sched_requirement {
	const char *key;
	wf_sched_op op;
	const char *const *values;
	size_t nvalues;
	bool field;
} wf_sched_requirement;

/* A nodeSelectorTerm: its requirements are AND'ed; an empty term matches
 * no node (required) or is a no-op (preferred). */
typedef struct wf_sched_term {
	const wf_sched_requirement *reqs;
	size_t nreqs;
} wf_sched_term;

typedef struct wf_sched_preferred {
	int32_t weight; /* 0..100 */
	wf_sched_term term;
} wf_sched_preferred;

/* A pod affinity or anti-affinity term (podAffinity, podAntiAffinity):
 * the pods its label selector matches, in its namespaces, and the
 * topology domain they share with a node (the node's value of
 * topology_key). The selector's requirements are AND'ed over pod labels
 * and use In, NotIn, Exists and DoesNotExist only (matchLabels become In
 * with one value). */
typedef struct wf_sched_pod_term {
	const char *topology_key;
	bool match_nothing; /* no labelSelector: the term matches no pod */
	const wf_sched_requirement *selector;
	size_t nselector;
	bool all_namespaces;	       /* namespaceSelector {}: every namespace */
	const char *const *namespaces; /* none (and not all): the pod's own */
	size_t nnamespaces;
	int32_t weight; /* preferred terms: 1..100; required: 0 */
} wf_sched_pod_term;

typedef enum wf_sched_ready {
	WF_SCHED_READY_TRUE = 0,
	WF_SCHED_READY_FALSE,	/* acts as taint node.kubernetes.io/not-ready:NoSchedule */
	WF_SCHED_READY_UNKNOWN, /* acts as taint node.kubernetes.io/unreachable:NoSchedule */
} wf_sched_ready;

typedef struct wf_sched_node_spec {
	const char *name;
	const wf_sched_label *labels;
	size_t nlabels;
	const wf_sched_taint *taints;
	size_t ntaints;
	const wf_sched_resource *allocatable;
	size_t nallocatable;
	bool unschedulable; /* spec.unschedulable (cordoned) */
	wf_sched_ready ready;
	void *storage_; /* owned by wf_sched_node_from_json (convert.h), else NULL */
} wf_sched_node_spec;

typedef struct wf_sched_pod_spec {
	const char *ns;
	const char *name;
	int64_t created_ms; /* creationTimestamp; orders equal priorities (older first) */
	int32_t priority;
	bool preempt_never;    /* preemptionPolicy: Never */
	const char *node_name; /* spec.nodeName, NULL or "" when none */
	bool bound;	       /* node_name is an assignment: the pod holds resources there.
				  When false, a node_name only restricts placement to it. */
	bool terminal;	       /* phase Succeeded/Failed: upserting it removes the pod */
	const wf_sched_resource *requests; /* effective pod requests */
	size_t nrequests;
	const wf_sched_label *node_selector;
	size_t nnode_selector;
	bool has_required; /* requiredDuringScheduling... present (terms OR'ed) */
	const wf_sched_term *required;
	size_t nrequired;
	const wf_sched_preferred *preferred;
	size_t npreferred;
	const wf_sched_toleration *tolerations;
	size_t ntolerations;
	const wf_sched_label *labels; /* metadata.labels: what pod terms match */
	size_t nlabels;
	/* Required inter-pod terms (each must hold) and preferred ones (scored). */
	const wf_sched_pod_term *affinity, *anti_affinity;
	size_t naffinity, nanti_affinity;
	const wf_sched_pod_term *pref_affinity, *pref_anti_affinity;
	size_t npref_affinity, npref_anti_affinity;
	const char *group;	    /* pod group name in the pod's namespace, or NULL */
	const char *nominated_node; /* status.nominatedNodeName, or NULL */
	void *storage_;		    /* owned by wf_sched_pod_from_json (convert.h), else NULL */
} wf_sched_pod_spec;

/* A gang (coscheduling or Volcano PodGroup): pods naming it are placed all
 * together (at least min_member of them) or not at all. */
typedef struct wf_sched_group_spec {
	const char *ns;
	const char *name;
	int32_t min_member; /* >= 1 */
	int64_t timeout_s;  /* scheduleTimeoutSeconds; 0: never report a timeout */
	void *storage_;	    /* owned by wf_sched_group_from_json (convert.h), else NULL */
} wf_sched_group_spec;

/* ---- Configuration -------------------------------------------------------- */

typedef struct wf_sched_config {
	int64_t backoff_initial_ms;	/* 1000: first retry delay after a failure */
	int64_t backoff_max_ms;		/* 10000: cap of the doubling delay */
	int64_t unschedulable_flush_ms; /* 300000: retry a parked pod anyway after this */
	int64_t nomination_ttl_ms;	/* 300000: a preemptor's hold lapses after this */
	/* Score weights (0 disables a plugin). */
	int weight_node_affinity;    /* 2 */
	int weight_taint_toleration; /* 3 */
	int weight_gpu_binpack;	     /* 5 */
	int weight_gpu_avoid;	     /* 5 */
	int weight_least_allocated;  /* 1 */
	int weight_balanced;	     /* 1 */
	int weight_inter_pod;	     /* 2: preferred pod (anti-)affinity */
	/* CPU-only pods: feasible nodes scored per node class (see framework.c). */
	unsigned cpu_candidates_per_class; /* 8 */
	/* Label keys whose values are per node (never grouped): default
	 * {"kubernetes.io/hostname"}. Borrowed during wf_sched_new only. */
	const char *const *per_node_label_keys;
	size_t nper_node_label_keys;
} wf_sched_config;

/* Fill *cfg with the defaults above. */
void wf_sched_config_default(wf_sched_config *cfg);

/* Create a scheduler (cfg NULL: defaults). Caller frees with wf_sched_free. */
wf_sched *wf_sched_new(const wf_sched_config *cfg);
/* Free everything the scheduler holds; NULL is a no-op. */
void wf_sched_free(wf_sched *s);

/* ---- Cluster state -------------------------------------------------------
 * Every mutator validates its input first: on error it returns a negative
 * WF_E* code with a message in *err and changes nothing. */

/* Add or replace a node. Changes re-queue the pending pods they may help
 * (a new node: all; more capacity: pods short of resources; labels: pods
 * failing affinity; ...). Errors: -WF_EINVAL (missing name, negative amount,
 * bad effect), -WF_ETOOBIG (more than 64 distinct resource names overall). */
int wf_sched_node_upsert(wf_sched *s, const wf_sched_node_spec *spec, wf_err *err);

/* Remove a node. Pods bound there stay accounted (to a node that is no
 * longer schedulable) until the driver removes them. -WF_ENOENT if unknown. */
int wf_sched_node_remove(wf_sched *s, const char *name, wf_err *err);

/* Add or replace a pod, keyed by (ns, name). A pending pod joins the queue
 * (an update re-queues it); a bound pod holds resources on its node (the
 * node may be unknown yet). A pod the library has assumed on node N and
 * that arrives bound to N is confirmed, as by wf_sched_bound. A terminal
 * pod is removed. Errors: -WF_EINVAL (missing names, invalid requirement,
 * negative request), -WF_ETOOBIG (resource names). */
int wf_sched_pod_upsert(wf_sched *s, const wf_sched_pod_spec *spec, wf_err *err);

/* Remove a pod (deleted, or terminal). Frees what it held and re-queues
 * pods short of resources. -WF_ENOENT if unknown. */
int wf_sched_pod_remove(wf_sched *s, const char *ns, const char *name, wf_err *err);

/* Add or replace a pod group. -WF_EINVAL for min_member < 1 or a negative
 * timeout. Pods may name a group before it exists; they wait for it. */
int wf_sched_group_upsert(wf_sched *s, const wf_sched_group_spec *spec, wf_err *err);
/* Remove a pod group; its pending pods wait again. -WF_ENOENT if unknown. */
int wf_sched_group_remove(wf_sched *s, const char *ns, const char *name, wf_err *err);

/* ---- Scheduling ----------------------------------------------------------- */

typedef enum wf_sched_decision_kind {
	WF_SCHED_DEC_BIND = 1,	    /* bind pod (ns, name) to node */
	WF_SCHED_DEC_PREEMPT,	    /* evict victims; set pod's nominatedNodeName to node */
	WF_SCHED_DEC_UNSCHEDULABLE, /* PodScheduled=False, reason Unschedulable, message */
	WF_SCHED_DEC_GANG_TIMEOUT,  /* group (ns, name) not placed within its timeout */
} wf_sched_decision_kind;

typedef struct wf_sched_pod_ref {
	const char *ns;
	const char *name;
} wf_sched_pod_ref;

typedef struct wf_sched_decision {
	wf_sched_decision_kind kind;
	const char *ns;
	const char *name;		 /* the pod, or the group for GANG_TIMEOUT */
	const char *node;		 /* BIND: target; PREEMPT: nominated node; else NULL */
	const char *message;		 /* UNSCHEDULABLE, GANG_TIMEOUT, PREEMPT; NULL for BIND */
	const wf_sched_pod_ref *victims; /* PREEMPT: pods to delete (whole gangs) */
	size_t nvictims;
	int32_t priority; /* the pod's priority (BIND, PREEMPT, UNSCHEDULABLE) */
} wf_sched_decision;

/* Run scheduling cycles at time now_ms until the queue has nothing ready or
 * `max` decisions are out; returns how many were written to out (>= 0), or
 * -WF_EINVAL for a NULL scheduler or out with max > 0. Decisions a gang
 * produces beyond `max` are kept and returned first by the next call.
 * The strings in out stay valid until the next wf_sched_schedule or
 * wf_sched_free. Also handles time: back-offs ending, gang timeouts,
 * nomination expiry, the periodic retry of parked pods. */
int wf_sched_schedule(wf_sched *s, int64_t now_ms, wf_sched_decision *out, size_t max);

/* The driver bound the assumed pod: keep its reservation as a binding.
 * -WF_ENOENT unknown pod, -WF_EINVAL when the pod is not assumed. */
int wf_sched_bound(wf_sched *s, const char *ns, const char *name, wf_err *err);

/* The driver's bind failed: release the reservation and retry the pod after
 * a back-off (counted from now_ms). Same errors as wf_sched_bound. */
int wf_sched_bind_failed(wf_sched *s, const char *ns, const char *name, int64_t now_ms,
			 wf_err *err);

/* ---- Inspection (tests, status, metrics) ---------------------------------- */

typedef enum wf_sched_pod_state {
	WF_SCHED_POD_UNKNOWN = 0,
	WF_SCHED_POD_ACTIVE,	    /* ready to be tried */
	WF_SCHED_POD_BACKOFF,	    /* will be ready when its back-off ends */
	WF_SCHED_POD_UNSCHEDULABLE, /* parked until a relevant change (or the flush) */
	WF_SCHED_POD_GANG_WAIT,	    /* its group is missing or below minMember */
	WF_SCHED_POD_ASSUMED,	    /* BIND decided, not confirmed */
	WF_SCHED_POD_BOUND,
} wf_sched_pod_state;

typedef struct wf_sched_pod_info {
	wf_sched_pod_state state;
	const char *node;	    /* assumed/bound node, or NULL */
	const char *nominated_node; /* or NULL */
	uint32_t attempts;	    /* scheduling attempts so far */
	bool terminating;	    /* chosen as a preemption victim */
} wf_sched_pod_info;

/* Fill *out for pod (ns, name); strings valid until the next mutating call.
 * Returns false when the pod is unknown (then out->state is UNKNOWN). */
bool wf_sched_pod_info_get(const wf_sched *s, const char *ns, const char *name,
			   wf_sched_pod_info *out);

typedef struct wf_sched_stats {
	size_t nodes;	     /* known, schedulable-or-not nodes */
	size_t node_classes; /* distinct (labels, taints, flags) groups */
	size_t pods;
	size_t active, backoff, unschedulable, gang_wait; /* pending pods by queue */
	size_t assumed, bound;
	uint64_t cycles; /* scheduling attempts (a gang attempt counts once) */
} wf_sched_stats;

/* Fill *out. O(pods): for tests, status pages and occasional metrics. */
void wf_sched_stats_get(const wf_sched *s, wf_sched_stats *out);

/* Scheduling attempts so far (stats.cycles), in O(1): for a metrics counter
 * such as scheduler_schedule_attempts_total. */
uint64_t wf_sched_cycles(const wf_sched *s);

typedef struct wf_sched_group_info {
	int32_t min_member; /* 0 when the group is referenced but not defined */
	size_t pending, assumed, bound;
	uint32_t timeouts; /* GANG_TIMEOUT decisions issued */
} wf_sched_group_info;

bool wf_sched_group_info_get(const wf_sched *s, const char *ns, const char *name,
			     wf_sched_group_info *out);

/* Allocatable and requested amounts of resource `res` on a node (requested
 * counts assumed and bound pods). False if the node or resource is unknown. */
bool wf_sched_node_usage(const wf_sched *s, const char *node, const char *res, int64_t *allocatable,
			 int64_t *requested);

/* Run every filter for pending-or-not pod (ns, name) against one node, as a
 * scheduling cycle would (nominated holds included). Returns the status code
 * and appends the reason(s) to *why when not NULL ("Insufficient cpu");
 * -WF_ENOENT (as a negative int) when the pod or node is unknown. */
int wf_sched_explain(wf_sched *s, const char *ns, const char *name, const char *node, wf_buf *why);

#endif
