/*
 * kind_job.c - batch/v1 Job: defaulting (parallelism, completions,
 * backoffLimit, completionMode, the generated controller-uid selector) and
 * validation. The Job controller that runs them lives in src/controllers/.
 */
#include "registry/kinds.h"
#include "lib/wf_mem.h"

#include <stdio.h>
#include <string.h>

#define WF_JOB_UID_LABEL "batch.kubernetes.io/controller-uid"
#define WF_JOB_NAME_LABEL "batch.kubernetes.io/job-name"

static void wf__set_default_int(json_t *o, const char *key, json_int_t v)
{
	if (!json_object_get(o, key))
		json_object_set_new(o, key, json_integer(v));
}

static void wf__job_defaults(json_t *obj)
{
	json_t *spec = json_object_get(obj, "spec");
	if (!json_is_object(spec))
		return;
	bool has_par = json_object_get(spec, "parallelism") != NULL;
	bool has_comp = json_object_get(spec, "completions") != NULL;
	if (!has_par && !has_comp) {
		json_object_set_new(spec, "parallelism", json_integer(1));
		json_object_set_new(spec, "completions", json_integer(1));
	}
	wf__set_default_int(spec, "parallelism", 1);
	wf__set_default_int(spec, "backoffLimit", 6);
	if (!json_object_get(spec, "completionMode"))
		json_object_set_new(spec, "completionMode", json_string("NonIndexed"));
	if (!json_object_get(spec, "suspend"))
		json_object_set_new(spec, "suspend", json_false());
	if (!json_object_get(spec, "manualSelector") || !json_is_true(json_object_get(spec, "manualSelector"))) {
		/* The generated selector ties the Job to its pods by uid. */
		const char *uid = wf_json_path_str(obj, "metadata.uid");
		const char *name = wf_json_path_str(obj, "metadata.name");
		json_t *tmpl = json_object_get(spec, "template");
		json_t *tmd = json_object_get(tmpl, "metadata");
		json_t *tlabels = json_object_get(tmd, "labels");
		/* Fields of the wrong type are left for validation to report. */
		bool typed = (!tmd || json_is_null(tmd) || json_is_object(tmd)) &&
			     (!tlabels || json_is_null(tlabels) || json_is_object(tlabels));
		if (uid && name && json_is_object(tmpl) && typed) {
			json_t *md = wf_json_obj_ensure(tmpl, "metadata");
			json_t *labels = wf_json_obj_ensure(md, "labels");
			json_object_set_new(labels, WF_JOB_UID_LABEL, json_string(uid));
			json_object_set_new(labels, WF_JOB_NAME_LABEL, json_string(name));
			json_object_set_new(labels, "controller-uid", json_string(uid));
			json_object_set_new(labels, "job-name", json_string(name));
			if (!json_object_get(spec, "selector")) {
				json_t *sel = json_object();
				json_t *ml = json_object();
				json_object_set_new(ml, WF_JOB_UID_LABEL, json_string(uid));
				json_object_set_new(sel, "matchLabels", ml);
				json_object_set_new(spec, "selector", sel);
			}
		}
	}
	json_t *tspec = wf_json_path(spec, "template.spec");
	wf_default_pod_spec(tspec);
}

static void wf__job_prepare_create(json_t *obj)
{
	json_object_set_new(obj, "status", json_object());
}

static void wf__nonneg(const json_t *spec, const char *key, wf_causes *c, bool positive)
{
	json_t *v = json_object_get(spec, key);
	if (!v || json_is_null(v))
		return;
	char f[96];
	snprintf(f, sizeof f, "spec.%s", key);
	if (!json_is_integer(v) || json_integer_value(v) < (positive ? 1 : 0))
		wf_causes_invalid(c, f, v,
				  positive ? "must be greater than 0"
					   : "must be greater than or equal to 0");
}

static void wf__job_validate(const json_t *obj, const json_t *old, wf_causes *c)
{
	json_t *spec = wf_validate_required_object(obj, "spec", "spec", c);
	if (!spec)
		return;
	wf__nonneg(spec, "parallelism", c, false);
	wf__nonneg(spec, "completions", c, false);
	wf__nonneg(spec, "backoffLimit", c, false);
	wf__nonneg(spec, "activeDeadlineSeconds", c, true);
	wf__nonneg(spec, "ttlSecondsAfterFinished", c, false);
	json_t *mode = json_object_get(spec, "completionMode");
	static const char *const modes[] = {"NonIndexed", "Indexed", NULL};
	if (mode && !(json_is_string(mode) && (!strcmp(json_string_value(mode), "NonIndexed") ||
					       !strcmp(json_string_value(mode), "Indexed"))))
		wf_causes_unsupported(c, "spec.completionMode", mode, modes);
	if (json_is_string(mode) && !strcmp(json_string_value(mode), "Indexed") &&
	    !json_is_integer(json_object_get(spec, "completions")))
		wf_causes_add(c, "FieldValueRequired", "spec.completions",
			      "Required value: when completion mode is Indexed");
	json_t *susp = json_object_get(spec, "suspend");
	if (susp && !json_is_null(susp) && !json_is_boolean(susp))
		wf_causes_invalid(c, "spec.suspend", susp, "must be a boolean");
	json_t *tmpl = json_object_get(spec, "template");
	if (!json_is_object(tmpl)) {
		wf_causes_required(c, "spec.template");
		return;
	}
	json_t *tmd = json_object_get(tmpl, "metadata");
	if (tmd && !json_is_null(tmd) && !json_is_object(tmd))
		wf_causes_invalid(c, "spec.template.metadata", tmd, "must be an object");
	json_t *tspec = json_object_get(tmpl, "spec");
	wf_validate_pod_spec(tspec, "spec.template.spec", c);
	json_t *rp = json_object_get(tspec, "restartPolicy");
	static const char *const policies[] = {"OnFailure", "Never", NULL};
	if (json_is_string(rp) && strcmp(json_string_value(rp), "OnFailure") &&
	    strcmp(json_string_value(rp), "Never"))
		wf_causes_unsupported(c, "spec.template.spec.restartPolicy", rp, policies);
	wf_validate_labels(wf_json_path(tmpl, "metadata.labels"), "spec.template.metadata.labels",
			   c);
}

static void wf__job_validate_update(const json_t *obj, const json_t *old, wf_causes *c)
{
	static const char *const immutable[] = {"completions", "selector", "completionMode"};
	json_t *a = json_object_get(obj, "spec"), *b = json_object_get(old, "spec");
	for (size_t i = 0; i < 3; i++) {
		if (!wf_json_same(json_object_get(a, immutable[i]), json_object_get(b, immutable[i]))) {
			char f[64];
			snprintf(f, sizeof f, "spec.%s", immutable[i]);
			wf_causes_add(c, "FieldValueInvalid", f, "Invalid value: field is immutable");
		}
	}
	/* The pod template may change only while the Job is suspended. */
	if (!wf_json_same(json_object_get(a, "template"), json_object_get(b, "template")) &&
	    !json_is_true(json_object_get(b, "suspend")))
		wf_causes_add(c, "FieldValueInvalid", "spec.template",
			      "Invalid value: field is immutable");
}

static const char *const wf__job_fields[] = {"status.successful", NULL};

const wf_kind wf_kind_job = {
	.group = "batch",
	.version = "v1",
	.resource = "jobs",
	.kind = "Job",
	.singular = "job",
	.namespaced = true,
	.in_all_category = true,
	.has_status = true,
	.name_rule = WF_NAME_SUBDOMAIN,
	.orphan_by_default = true,
	.fields = wf__job_fields,
	.defaults = wf__job_defaults,
	.prepare_create = wf__job_prepare_create,
	.validate = wf__job_validate,
	.validate_update = wf__job_validate_update,
};
