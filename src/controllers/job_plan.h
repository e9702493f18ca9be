/*
 * job_plan.h - the decisions of the batch/v1 Job controller, as pure
 * functions over JSON: given a Job, the pods it controls and the time,
 * which pods to create (and for which completion index), which to delete,
 * which pods' tracking finalizers to remove, and the Job's new status.
 * No I/O, no globals, time passed in: job.c carries the plan out.
 *
 * The semantics are those of kube-controller-manager 1.31:
 *  - pods are counted exactly once through the finalizer
 *    batch.kubernetes.io/job-tracking: a finished pod's uid goes to
 *    status.uncountedTerminatedPods, the status is stored, the finalizer is
 *    removed, and once the pod no longer holds it (or is gone) the uid moves
 *    into status.succeeded / status.failed. Indexed Jobs record successes
 *    in status.completedIndexes ("0-2,4") instead;
 *  - a pod that is being deleted and has not succeeded counts as failed
 *    (podReplacementPolicy TerminatingOrFailed, the default) and is
 *    replaced at once; with podReplacementPolicy Failed replacements wait
 *    for terminating pods to go;
 *  - failed pods are replaced after a back-off of 10 s * 2^(n-1) (capped at
 *    10 min), n = pods failed since the last success;
 *  - failed > backoffLimit (or, with restartPolicy OnFailure, container
 *    restarts >= backoffLimit) fails the Job (BackoffLimitExceeded);
 *    running longer than activeDeadlineSeconds fails it (DeadlineExceeded);
 *    active pods are then deleted and counted as failed;
 *  - success and failure first set the interim conditions SuccessCriteriaMet
 *    / FailureTarget; Complete / Failed follow once no pod is uncounted or
 *    terminating;
 *  - suspend deletes active pods without counting them as failed and sets
 *    Suspended=True; resuming sets Suspended=False and restarts startTime;
 *  - ttlSecondsAfterFinished asks for the Job's deletion that long after the
 *    Complete/Failed condition's lastTransitionTime.
 */
#ifndef WF_JOB_PLAN_H
#define WF_JOB_PLAN_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/wf_err.h"

#define WF_JOB_TRACKING_FINALIZER "batch.kubernetes.io/job-tracking"
#define WF_JOB_INDEX_KEY "batch.kubernetes.io/job-completion-index"
#define WF_JOB_INDEX_ENV "JOB_COMPLETION_INDEX"
/* The most completions an Indexed Job may ask for (Kubernetes' limit). */
#define WF_JOB_MAX_INDEXED 100000
/* At most this many pods are created or deleted by one sync. */
#define WF_JOB_MAX_PODS_PER_SYNC 500
#define WF_JOB_BACKOFF_BASE_MS 10000
#define WF_JOB_BACKOFF_MAX_MS 600000

typedef struct wf_job_pod_delete {
	char *name;
	char *uid;
	/* Remove the tracking finalizer first: the pod is not counted as a
	 * failure (excess or suspended pods). */
	bool uncount;
} wf_job_pod_delete;

typedef struct wf_job_plan {
	json_t *status;		/* the new status; owned by the plan */
	bool status_changed;	/* it differs from the stored status */
	int ncreate;		/* pods to create */
	int64_t *create_index;	/* their completion indexes (-1: NonIndexed) */
	wf_job_pod_delete *del; /* pods to delete */
	size_t ndel;
	char **rm_finalizer; /* pods whose tracking finalizer goes, once */
	size_t nrm;	     /*   the status above is stored */
	int64_t requeue_ms;  /* look again after this long; -1: no need */
	bool delete_job;     /* ttlSecondsAfterFinished has passed */
	json_t *events;	     /* [{"type","reason","message"}] to record */
} wf_job_plan;

/*
 * Decide. job and pods (an array; pods not controlled by this Job's uid
 * are ignored) are borrowed and not modified. now_ms is the wall clock in
 * ms. expectations_met is false while pods this controller created or
 * deleted have not been seen by its cache: nothing is then created or
 * deleted for scaling (status tracking still happens).
 * Returns 0 and fills *plan (free it with wf_job_plan_free); -WF_EINVAL
 * (plan empty, nothing to do) for a Job without metadata.uid or spec, or an
 * Indexed Job whose completions are missing or above WF_JOB_MAX_INDEXED.
 * Malformed status fields are treated as absent and rewritten.
 */
int wf_job_plan_compute(const json_t *job, const json_t *pods, int64_t now_ms,
			bool expectations_met, wf_job_plan *plan, wf_err *err);
/* Free what the plan owns and zero it. */
void wf_job_plan_free(wf_job_plan *plan);

/*
 * The pod to create for job (borrowed): spec.template with the Job's
 * ownerReference (controller, blockOwnerDeletion), the tracking finalizer,
 * generateName "<job>-" and, for index >= 0, the completion index as
 * annotation and label, JOB_COMPLETION_INDEX in every container's env,
 * generateName "<job>-<index>-", hostname "<job>-<index>" and subdomain
 * "<job>" (when the template sets none). Caller decrefs.
 */
json_t *wf_job_pod_new(const json_t *job, int64_t index);

/* A pod's completion index (annotation, else label): -1 when absent or not
 * a plain decimal number within int range. */
int64_t wf_job_pod_index(const json_t *pod);

/*
 * completedIndexes: parse "0-2,4" into bits[0..n) (set bits for indexes
 * < n; out-of-range or malformed pieces are skipped), and format back
 * (caller frees; "" when none). parse returns how many bits are set.
 */
int64_t wf_job_indexes_parse(const char *s, uint8_t *bits, int64_t n);
char *wf_job_indexes_format(const uint8_t *bits, int64_t n);

/* Whether the Job has a Complete or Failed condition with status True. */
bool wf_job_finished(const json_t *job);

#endif
