/*
 * kind_sched.c - scheduling kinds: scheduling.k8s.io/v1 PriorityClass, the
 * coscheduling PodGroup (scheduling.x-k8s.io/v1alpha1) and Volcano's
 * PodGroup (scheduling.volcano.sh/v1beta1). Gangs of both kinds mean the
 * same to Wharf's scheduler: minMember pods placed together or not at all.
 */
#include "registry/kinds.h"

#include <stdio.h>
#include <string.h>

#define WF_PRIORITY_USER_MAX 1000000000 /* HighestUserDefinablePriority */

static const char *const wf__preempt_policies[] = {"PreemptLowerPriority", "Never", NULL};

static void wf__pc_defaults(json_t *obj)
{
	if (!json_object_get(obj, "preemptionPolicy"))
		json_object_set_new(obj, "preemptionPolicy", json_string("PreemptLowerPriority"));
}

static void wf__pc_validate(const json_t *obj, const json_t *old, wf_causes *c)
{
	json_t *v = json_object_get(obj, "value");
	const char *name = wf_json_path_str(obj, "metadata.name");
	bool system = name && !strncmp(name, "system-", 7);
	if (!v)
		wf_causes_required(c, "value");
	else if (!json_is_integer(v))
		wf_causes_invalid(c, "value", v, "must be an integer");
	else if (!system && json_integer_value(v) > WF_PRIORITY_USER_MAX)
		wf_causes_invalid(c, "value", v,
				  "maximum allowed value of a user defined priority is 1000000000");
	else if (json_integer_value(v) < -2147483648LL)
		wf_causes_invalid(c, "value", v, "must be a 32-bit integer");
	json_t *gd = json_object_get(obj, "globalDefault");
	if (gd && !json_is_null(gd) && !json_is_boolean(gd))
		wf_causes_invalid(c, "globalDefault", gd, "must be a boolean");
	json_t *pp = json_object_get(obj, "preemptionPolicy");
	if (pp && !(json_is_string(pp) && (!strcmp(json_string_value(pp), "PreemptLowerPriority") ||
					   !strcmp(json_string_value(pp), "Never"))))
		wf_causes_unsupported(c, "preemptionPolicy", pp, wf__preempt_policies);
}

static void wf__pc_validate_update(const json_t *obj, const json_t *old, wf_causes *c)
{
	if (!wf_json_same(json_object_get(obj, "value"), json_object_get(old, "value")))
		wf_causes_add(c, "FieldValueForbidden", "value", "Forbidden: may not be changed in an update.");
	if (!wf_json_same(json_object_get(obj, "preemptionPolicy"), json_object_get(old, "preemptionPolicy")))
		wf_causes_add(c, "FieldValueInvalid", "preemptionPolicy", "Invalid value: field is immutable");
}

const wf_kind wf_kind_priorityclass = {
	.group = "scheduling.k8s.io",
	.version = "v1",
	.resource = "priorityclasses",
	.kind = "PriorityClass",
	.singular = "priorityclass",
	.short_names = {"pc"},
	.namespaced = false,
	.name_rule = WF_NAME_SUBDOMAIN,
	.defaults = wf__pc_defaults,
	.validate = wf__pc_validate,
	.validate_update = wf__pc_validate_update,
};

/* Shared by both PodGroup kinds. */
static void wf__pg_validate(const json_t *obj, const json_t *old, wf_causes *c)
{
	json_t *spec = wf_validate_required_object(obj, "spec", "spec", c);
	if (!spec)
		return;
	json_t *mm = json_object_get(spec, "minMember");
	if (!mm)
		wf_causes_required(c, "spec.minMember");
	else if (!json_is_integer(mm) || json_integer_value(mm) < 1)
		wf_causes_invalid(c, "spec.minMember", mm, "must be greater than or equal to 1");
	else if (json_integer_value(mm) > 100000)
		wf_causes_invalid(c, "spec.minMember", mm, "must be at most 100000");
	json_t *to = json_object_get(spec, "scheduleTimeoutSeconds");
	if (to && !json_is_null(to) && (!json_is_integer(to) || json_integer_value(to) < 0))
		wf_causes_invalid(c, "spec.scheduleTimeoutSeconds", to,
				  "must be greater than or equal to 0");
	wf_validate_quantity_map(json_object_get(spec, "minResources"), "spec.minResources", c);
	json_t *pcn = json_object_get(spec, "priorityClassName");
	if (pcn && !json_is_null(pcn) && !json_is_string(pcn))
		wf_causes_invalid(c, "spec.priorityClassName", pcn, "must be a string");
}

static void wf__pg_prepare_create(json_t *obj)
{
	json_t *st = json_object();
	json_object_set_new(st, "phase", json_string("Pending"));
	json_object_set_new(obj, "status", st);
}

const wf_kind wf_kind_podgroup = {
	.group = "scheduling.x-k8s.io",
	.version = "v1alpha1",
	.resource = "podgroups",
	.kind = "PodGroup",
	.singular = "podgroup",
	.short_names = {"pg", "pgs"},
	.namespaced = true,
	.has_status = true,
	.name_rule = WF_NAME_SUBDOMAIN,
	.prepare_create = wf__pg_prepare_create,
	.validate = wf__pg_validate,
};

const wf_kind wf_kind_volcano_podgroup = {
	.group = "scheduling.volcano.sh",
	.version = "v1beta1",
	.resource = "podgroups",
	.kind = "PodGroup",
	.singular = "podgroup",
	.short_names = {"podgroup-v1beta1"},
	.namespaced = true,
	.has_status = true,
	.name_rule = WF_NAME_SUBDOMAIN,
	.prepare_create = wf__pg_prepare_create,
	.validate = wf__pg_validate,
};
