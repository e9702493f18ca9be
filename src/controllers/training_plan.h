/*
 * training_plan.h - the decisions of the PyTorchJob controller and of the
 * PodGroup status controller, as pure functions over JSON: given an object,
 * the pods that belong to it and the time, what to create, what to delete
 * and the new status. No I/O, no globals, time passed in: pytorchjob.c and
 * podgroup.c carry the plans out.
 *
 * PyTorchJob (kubeflow.org/v1), as the Kubeflow training operator runs it:
 *  - replica `i` of type T is the pod "<job>-<t>-<i>" (t = lower-case T)
 *    with the labels training.kubeflow.org/{job-name, operator-name,
 *    replica-type, replica-index}, job-role=master on the master, the Job
 *    as controlling owner, and the pod restartPolicy of its replica spec
 *    (ExitCode runs as Never; the controller recreates the pod instead);
 *  - all pods form one gang: a coscheduling PodGroup named like the job
 *    (minMember = total replicas, or runPolicy.schedulingPolicy.minAvailable)
 *    and the label scheduling.x-k8s.io/pod-group=<job> on every pod;
 *  - a headless Service "<job>-master-0" selects the master;
 *  - every container gets MASTER_PORT (the master's "pytorchjob-port"
 *    container port, else 23456), WORLD_SIZE (total replicas), RANK (master
 *    0, worker i -> i+1) and PYTHONUNBUFFERED=1;
 *  - MASTER_ADDR. Wharf runs pods as processes on the host network, with no
 *    cluster DNS, so the operator's value (the Service name) would not
 *    resolve. The address that works on one host and across hosts is the
 *    master pod's IP, which is its node's IP and is known only once the
 *    gang is placed. So: the master reads its own status.podIP (fieldRef,
 *    resolved by the agent when the container starts); every other pod
 *    reads key MASTER_ADDR of the ConfigMap "<job>-rendezvous"
 *    (configMapKeyRef), which the controller writes as soon as the master
 *    pod reports its podIP. The gang is created and placed all at once;
 *    until the ConfigMap exists a worker's containers wait in
 *    CreateContainerConfigError (kubelet's semantics, retried by the agent),
 *    much as the operator's init container waits for the master's DNS name.
 *    Without a Master spec, worker 0 plays the master's part (rank 0);
 *  - status: conditions Created / Running / Restarting / Succeeded / Failed
 *    (reasons "PyTorchJob<Type>", lastUpdateTime and lastTransitionTime;
 *    the newest condition last, so `.status.conditions[-1:].type` is the
 *    state), replicaStatuses {Master: {active, succeeded, failed,
 *    labelSelector}, Worker: ...} counted from the pods' phases, startTime
 *    and completionTime;
 *  - success: the master succeeded (without a master: every worker did);
 *    failure: a pod failed for good (restartPolicy Never, or ExitCode with an
 *    exit code below 128), runPolicy.backoffLimit reached by the restarts of
 *    Running OnFailure/Always pods, or runPolicy.activeDeadlineSeconds past
 *    since startTime. A failed pod that may be retried (OnFailure, Always,
 *    ExitCode with code >= 128) is deleted and recreated (Restarting);
 *  - on finishing, runPolicy.cleanPodPolicy (None / Running / All) says
 *    which pods go, and the master Service goes with the master pod. A
 *    backoff or deadline failure also stops every pod still active (the
 *    operator leaves them to cleanPodPolicy; Wharf frees their GPUs). The
 *    PodGroup and the ConfigMap stay until the job is deleted (owned);
 *  - runPolicy.ttlSecondsAfterFinished deletes the job that long after its
 *    completionTime.
 *
 * PodGroup status (both kinds), from the pods naming the group (label
 * scheduling.x-k8s.io/pod-group, else annotation scheduling.k8s.io/group-name):
 *  - scheduling.x-k8s.io/v1alpha1: phase Pending (fewer than minMember
 *    pods), PreScheduling (enough pods, none bound), Scheduling (some
 *    bound), Scheduled (minMember bound), Running (running + succeeded >=
 *    minMember), Failed (a pod failed and failed + running + succeeded >=
 *    minMember), Finished (succeeded >= minMember); Finished and Failed are
 *    final. Counts running, succeeded, failed and scheduled; occupiedBy
 *    ("<ns>/<owner>" of the first pod's owners, sorted, comma-joined) and
 *    scheduleStartTime when it first leaves Pending;
 *  - scheduling.volcano.sh/v1beta1: phase Pending, Inqueue (minMember pods
 *    exist, not all placed), Running (placed + succeeded >= minMember),
 *    Completed (final: every placed pod succeeded), Unknown (pods run but
 *    fewer than minMember are placed); counts running, succeeded, failed.
 *  Conditions are left to the scheduler: the plan never writes them.
 */
#ifndef WF_TRAINING_PLAN_H
#define WF_TRAINING_PLAN_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "lib/wf_err.h"

#define WF_PTJ_API_VERSION "kubeflow.org/v1"
#define WF_PTJ_KIND "PyTorchJob"
#define WF_PTJ_LABEL_JOB_NAME "training.kubeflow.org/job-name"
#define WF_PTJ_LABEL_OPERATOR "training.kubeflow.org/operator-name"
#define WF_PTJ_LABEL_REPLICA_TYPE "training.kubeflow.org/replica-type"
#define WF_PTJ_LABEL_REPLICA_INDEX "training.kubeflow.org/replica-index"
#define WF_PTJ_LABEL_JOB_ROLE "training.kubeflow.org/job-role"
#define WF_PTJ_OPERATOR_NAME "pytorchjob-controller"
#define WF_PTJ_CONTAINER "pytorch"
#define WF_PTJ_PORT_NAME "pytorchjob-port"
#define WF_PTJ_DEFAULT_PORT 23456
#define WF_PTJ_RENDEZVOUS_SUFFIX "-rendezvous"
/* Pods created by one sync at most; the rest follow at the next. */
#define WF_PTJ_MAX_CREATE_PER_SYNC 500

#define WF_PG_LABEL "scheduling.x-k8s.io/pod-group"
#define WF_PG_VOLCANO_ANNOTATION "scheduling.k8s.io/group-name"
#define WF_PG_API_VERSION "scheduling.x-k8s.io/v1alpha1"
#define WF_PG_VOLCANO_API_VERSION "scheduling.volcano.sh/v1beta1"

typedef struct wf_ptj_plan {
	json_t *status;	      /* the new status; owned */
	bool status_changed;  /* it differs from the stored one */
	json_t *create;	      /* pods to create (full objects), array; owned */
	json_t *del;	      /* pods to delete: [{"name", "uid"}] */
	json_t *del_services; /* Service names to delete: [name] */
	json_t *podgroup;     /* the PodGroup to ensure, or NULL */
	json_t *service;      /* the master Service to ensure, or NULL */
	json_t *rendezvous;   /* the ConfigMap to ensure (master's address known), or NULL */
	json_t *events;	      /* [{"type", "reason", "message"}] to record */
	int64_t requeue_ms;   /* look again after this long; -1: no need */
	bool delete_job;      /* ttlSecondsAfterFinished has passed */
} wf_ptj_plan;

/*
 * Decide for one PyTorchJob. job and pods (an array; pods not controlled by
 * the job's uid are ignored) are borrowed, not modified. now_ms is the wall
 * clock in ms. Returns 0 and fills *plan (free with wf_ptj_plan_free);
 * -WF_EINVAL (plan zeroed) for a job without metadata name/namespace/uid or
 * with replica specs the registry would reject (no spec, unknown replica
 * type, replicas not an integer in [0, 10000], a Master with replicas
 * other than 1). A job being deleted gets an empty plan. Malformed status
 * fields are treated as absent and rewritten.
 */
int wf_ptj_plan_compute(const json_t *job, const json_t *pods, int64_t now_ms, wf_ptj_plan *plan,
			wf_err *err);
/* Free what the plan owns and zero it. NULL is a no-op. */
void wf_ptj_plan_free(wf_ptj_plan *plan);

/* Whether the job has a Succeeded or Failed condition with status True. */
bool wf_ptj_finished(const json_t *job);

/*
 * The objects the controller makes for a job (borrowed; assumed valid, as
 * wf_ptj_plan_compute checks). Each returns a new object, caller decrefs:
 *  - the pod of replica rtype ("Master" or "Worker") number index, or NULL
 *    when the job has no such replica spec or template;
 *  - the PodGroup (NULL when the job has no replicas);
 *  - the headless master Service;
 *  - the rendezvous ConfigMap holding addr (borrowed) as MASTER_ADDR.
 */
json_t *wf_ptj_pod_new(const json_t *job, const char *rtype, int64_t index);
json_t *wf_ptj_podgroup_new(const json_t *job);
json_t *wf_ptj_service_new(const json_t *job);
json_t *wf_ptj_rendezvous_new(const json_t *job, const char *addr);

/* MASTER_PORT of the job: the rank-0 replica's pytorch container port named
 * "pytorchjob-port", else 23456. */
int64_t wf_ptj_master_port(const json_t *job);

/*
 * The group a pod names: label scheduling.x-k8s.io/pod-group, else
 * annotation scheduling.k8s.io/group-name; borrowed from pod, NULL if none.
 */
const char *wf_podgroup_of_pod(const json_t *pod);

/*
 * The new status of a PodGroup of either kind (apiVersion decides; others
 * and groups without a positive integer minMember get NULL). pods is an
 * array of the pods naming the group (others are skipped); both borrowed.
 * The result starts as a copy of the stored status (conditions and fields
 * this controller does not own are kept). Caller decrefs.
 */
json_t *wf_podgroup_status_compute(const json_t *pg, const json_t *pods, int64_t now_ms);

#endif
