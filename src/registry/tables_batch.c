/*
 * tables_batch.c - rows for batch/v1 Jobs, coordination.k8s.io Leases,
 * scheduling.k8s.io PriorityClasses, the coscheduling PodGroup
 * (scheduling.x-k8s.io/v1alpha1) and the Kubeflow PyTorchJob.
 *
 * Jobs, Leases and PriorityClasses follow kube-apiserver's printers. The
 * PodGroup and the PyTorchJob are custom kinds: their columns are the
 * additionalPrinterColumns of the scheduler-plugins and training-operator
 * CRDs, with the cells the CRD table convertor makes (null where the JSON
 * path finds nothing).
 */
#include "registry/tables_internal.h"

#include <stdio.h>
#include <string.h>

#define WF__I32_MAX 2147483647
#define WF__I32_MIN (-2147483647 - 1)

/* ---- jobs -------------------------------------------------------------- */

static const wf_column wf__job_cols[] = {
    {"Name", "string", "name", WF__DESC_NAME, 0},
    {"Status", "string", "", "Status of the job.", 0},
    {"Completions", "string", "", "Succeeded pods of the completions wanted.", 0},
    {"Duration", "string", "", "Time required to complete the job.", 0},
    {"Age", "string", "", WF__DESC_AGE, 0},
    {"Containers", "string", "", "Names of each container in the template.", 1},
    {"Images", "string", "", "Images referenced by each container in the template.", 1},
    {"Selector", "string", "", "Label selector of the job's pods.", 1},
};

static const char *wf__job_status(const json_t *job)
{
	const json_t *conds = wf__tbl_at(job, "status", "conditions", NULL);
	if (wf__tbl_cond_true(conds, "Complete"))
		return "Complete";
	if (wf__tbl_cond_true(conds, "Failed"))
		return "Failed";
	if (wf__tbl_present(wf__tbl_at(job, "metadata", "deletionTimestamp", NULL)))
		return "Terminating";
	if (wf__tbl_cond_true(conds, "Suspended"))
		return "Suspended";
	if (wf__tbl_cond_true(conds, "FailureTarget"))
		return "FailureTarget";
	return "Running";
}

static void wf__job_row(const json_t *job, time_t now, json_t *cells)
{
	const json_t *spec = json_object_get(job, "spec");
	const json_t *status = json_object_get(job, "status");
	int64_t succeeded =
	    wf__tbl_int_clamp(json_object_get(status, "succeeded"), WF__I32_MIN, WF__I32_MAX, 0);
	int64_t completions, parallelism;
	char buf[96], dur[WF_TIME_DURATION_LEN] = "";
	time_t start, end;
	wf_buf names, images;

	if (wf__tbl_int(json_object_get(spec, "completions"), &completions))
		snprintf(buf, sizeof(buf), "%lld/%lld", (long long)succeeded,
			 (long long)completions);
	else if (wf__tbl_int(json_object_get(spec, "parallelism"), &parallelism) && parallelism > 1)
		snprintf(buf, sizeof(buf), "%lld/1 of %lld", (long long)succeeded,
			 (long long)parallelism);
	else
		snprintf(buf, sizeof(buf), "%lld/1", (long long)succeeded);

	if (wf__tbl_time(json_object_get(status, "startTime"), &start)) {
		if (!wf__tbl_time(json_object_get(status, "completionTime"), &end))
			end = now;
		wf_time_human_duration((int64_t)end - (int64_t)start, dur, sizeof(dur));
	}

	wf__tbl_add_str(cells, wf__tbl_name(job));
	wf__tbl_add_str(cells, wf__job_status(job));
	wf__tbl_add_str(cells, buf);
	wf__tbl_add_str(cells, dur);
	wf__tbl_add_age(cells, job, now);

	wf_buf_init(&names);
	wf_buf_init(&images);
	wf_buf_puts(&names, "");
	wf_buf_puts(&images, "");
	wf__tbl_containers(wf__tbl_at(spec, "template", "spec", "containers", NULL), &names,
			   &images);
	wf__tbl_add_str(cells, names.data);
	wf__tbl_add_str(cells, images.data);
	names.len = 0;
	wf__tbl_format_selector(json_object_get(spec, "selector"), &names);
	wf__tbl_add_str(cells, names.data);
	wf_buf_free(&names);
	wf_buf_free(&images);
}

const wf_table_def wf__table_jobs = {
    .resource = "jobs",
    .cols = wf__job_cols,
    .ncols = sizeof(wf__job_cols) / sizeof(wf__job_cols[0]),
    .row = wf__job_row,
};

/* ---- leases ------------------------------------------------------------ */

static const wf_column wf__lease_cols[] = {
    {"Name", "string", "name", WF__DESC_NAME, 0},
    {"Holder", "string", "", "Identity of the current holder of the lease.", 0},
    {"Age", "string", "", WF__DESC_AGE, 0},
};

static void wf__lease_row(const json_t *lease, time_t now, json_t *cells)
{
	wf__tbl_add_str(cells, wf__tbl_name(lease));
	wf__tbl_add_str(cells, wf__tbl_str(lease, "spec", "holderIdentity", NULL));
	wf__tbl_add_age(cells, lease, now);
}

const wf_table_def wf__table_leases = {
    .resource = "leases",
    .cols = wf__lease_cols,
    .ncols = sizeof(wf__lease_cols) / sizeof(wf__lease_cols[0]),
    .row = wf__lease_row,
};

/* ---- priorityclasses --------------------------------------------------- */

static const wf_column wf__pc_cols[] = {
    {"Name", "string", "name", WF__DESC_NAME, 0},
    {"Value", "integer", "", "Priority of the pods that name this class.", 0},
    {"Global-Default", "boolean", "", "Whether pods without a class get this one.", 0},
    {"Age", "string", "", WF__DESC_AGE, 0},
    {"PreemptionPolicy", "string", "", "Whether pods of this class may preempt others.", 0},
};

static void wf__pc_row(const json_t *pc, time_t now, json_t *cells)
{
	wf__tbl_add_str(cells, wf__tbl_name(pc));
	wf__tbl_add_int(
	    cells, wf__tbl_int_clamp(json_object_get(pc, "value"), WF__I32_MIN, WF__I32_MAX, 0));
	wf__tbl_add_bool(cells, json_is_true(json_object_get(pc, "globalDefault")));
	wf__tbl_add_age(cells, pc, now);
	wf__tbl_add_str(cells, wf__tbl_str(pc, "preemptionPolicy", NULL));
}

const wf_table_def wf__table_priorityclasses = {
    .resource = "priorityclasses",
    .cols = wf__pc_cols,
    .ncols = sizeof(wf__pc_cols) / sizeof(wf__pc_cols[0]),
    .row = wf__pc_row,
};

/* ---- podgroups (scheduling.x-k8s.io, a CRD) ---------------------------- */

static const wf_column wf__pg_cols[] = {
    {"Name", "string", "name", WF__DESC_NAME, 0},
    {"Phase", "string", "", "Current phase of PodGroup.", 0},
    {"MinMember", "integer", "",
     "MinMember defines the minimal number of members/tasks to run the pod group.", 0},
    {"Running", "string", "", "The number of actively running pods.", 0},
    {"Succeeded", "string", "", "The number of pods which reached phase Succeeded.", 0},
    {"Failed", "string", "", "The number of pods which reached phase Failed.", 0},
    {"Age", "date", "", "Age is the time PodGroup was created.", 0},
};

/* A "string" printer column: strings as they are, numbers and booleans
 * printed, anything else (or nothing) null. */
static void wf__crd_string_cell(json_t *cells, const json_t *v)
{
	char buf[64];
	int64_t i;
	if (json_is_string(v)) {
		wf__tbl_add_str(cells, json_string_value(v));
	} else if (wf__tbl_int(v, &i)) {
		snprintf(buf, sizeof(buf), "%lld", (long long)i);
		wf__tbl_add_str(cells, buf);
	} else if (json_is_real(v)) {
		snprintf(buf, sizeof(buf), "%g", json_real_value(v));
		wf__tbl_add_str(cells, buf);
	} else if (json_is_boolean(v)) {
		wf__tbl_add_str(cells, json_is_true(v) ? "true" : "false");
	} else {
		wf__tbl_add_null(cells);
	}
}

static void wf__pg_row(const json_t *pg, time_t now, json_t *cells)
{
	const json_t *status = json_object_get(pg, "status");
	const json_t *created = wf__tbl_at(pg, "metadata", "creationTimestamp", NULL);
	int64_t min;

	wf__tbl_add_str(cells, wf__tbl_name(pg));
	wf__crd_string_cell(cells, json_object_get(status, "phase"));
	if (wf__tbl_int(wf__tbl_at(pg, "spec", "minMember", NULL), &min))
		wf__tbl_add_int(cells, min);
	else
		wf__tbl_add_null(cells);
	wf__crd_string_cell(cells, json_object_get(status, "running"));
	wf__crd_string_cell(cells, json_object_get(status, "succeeded"));
	wf__crd_string_cell(cells, json_object_get(status, "failed"));
	if (wf__tbl_present(created))
		wf__tbl_add_age(cells, pg, now);
	else
		wf__tbl_add_null(cells);
}

const wf_table_def wf__table_podgroups = {
    .resource = "podgroups",
    .cols = wf__pg_cols,
    .ncols = sizeof(wf__pg_cols) / sizeof(wf__pg_cols[0]),
    .row = wf__pg_row,
};

/* ---- pytorchjobs (kubeflow.org, a CRD) --------------------------------- */

static const wf_column wf__ptj_cols[] = {
    {"Name", "string", "name", WF__DESC_NAME, 0},
    {"State", "string", "", "", 0},
    {"Age", "date", "", "", 0},
};

/* STATE is `.status.conditions[-1:].type`: the newest condition's type. */
static void wf__ptj_row(const json_t *job, time_t now, json_t *cells)
{
	const json_t *conds = wf__tbl_at(job, "status", "conditions", NULL);
	size_t n = json_is_array(conds) ? json_array_size(conds) : 0;

	wf__tbl_add_str(cells, wf__tbl_name(job));
	wf__crd_string_cell(cells,
			    n ? json_object_get(json_array_get(conds, n - 1), "type") : NULL);
	if (wf__tbl_present(wf__tbl_at(job, "metadata", "creationTimestamp", NULL)))
		wf__tbl_add_age(cells, job, now);
	else
		wf__tbl_add_null(cells);
}

const wf_table_def wf__table_pytorchjobs = {
    .resource = "pytorchjobs",
    .cols = wf__ptj_cols,
    .ncols = sizeof(wf__ptj_cols) / sizeof(wf__ptj_cols[0]),
    .row = wf__ptj_row,
};
