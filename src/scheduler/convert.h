/*
 * convert.h - Kubernetes JSON objects to the scheduler library's input types
 * (Node, Pod, coscheduling and Volcano PodGroup).
 *
 * Pure (jansson only), and hostile-input safe: wrong types, absurd sizes,
 * huge numbers and invalid quantities give an error naming the field, never
 * a crash. On success *out is filled with pointers into memory owned by
 * out->storage_, released by the matching _release function (which is also
 * safe after an error, and when called twice). Errors are -WF_EINVAL with a
 * message naming the field ("spec.containers[0].resources.requests.cpu:
 * ..."), or -WF_ETOOBIG for lists longer than WF_SCHED_JSON_MAX_ITEMS.
 */
#ifndef WF_SCHED_CONVERT_H
#define WF_SCHED_CONVERT_H

#include <jansson.h>

#include "lib/wf_err.h"
#include "scheduler/sched.h"

/* Longest list (containers, labels, taints, tolerations, terms, values)
 * accepted in one object. */
#define WF_SCHED_JSON_MAX_ITEMS 4096

/* Pod label and annotation naming a pod's group. */
#define WF_SCHED_LABEL_POD_GROUP "scheduling.x-k8s.io/pod-group"
#define WF_SCHED_ANNOTATION_GROUP_NAME "scheduling.k8s.io/group-name"

/* A v1 Node: metadata.name and labels, spec.taints, spec.unschedulable,
 * status.allocatable (status.capacity when absent), the Ready condition
 * (missing: Unknown). */
int wf_sched_node_from_json(const json_t *node, wf_sched_node_spec *out, wf_err *err);
void wf_sched_node_spec_release(wf_sched_node_spec *spec);

/* A v1 Pod. Requests follow Kubernetes: per container, a resource without a
 * request uses its limit; the pod's request is the sum over containers with
 * restartable (sidecar) init containers added, then the max with each init
 * container's request (plus the sidecars started before it), plus
 * spec.overhead. cpu in millicores, other resources rounded up to whole
 * units; a sum past int64 is an error. Priority from spec.priority (the API
 * server resolves priorityClassName; absent: 0), preemptionPolicy Never,
 * nodeSelector, affinity.nodeAffinity, tolerations, status.nominatedNodeName;
 * the group from label scheduling.x-k8s.io/pod-group, else annotation
 * scheduling.k8s.io/group-name (Volcano). A pod with spec.nodeName is bound;
 * phase Succeeded or Failed sets `terminal`. */
int wf_sched_pod_from_json(const json_t *pod, wf_sched_pod_spec *out, wf_err *err);
void wf_sched_pod_spec_release(wf_sched_pod_spec *spec);

/* A PodGroup of scheduling.x-k8s.io/v1alpha1 (spec.minMember,
 * spec.scheduleTimeoutSeconds) or scheduling.volcano.sh/v1beta1
 * (spec.minMember, no timeout). minMember absent or 0 is an error (a group
 * of nobody); other apiVersions are -WF_EINVAL. */
int wf_sched_group_from_json(const json_t *group, wf_sched_group_spec *out, wf_err *err);
void wf_sched_group_spec_release(wf_sched_group_spec *spec);

#endif
