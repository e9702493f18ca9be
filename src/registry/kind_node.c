/*
 * kind_node.c - core/v1 Node: taints and capacity validation.
 */
#include "registry/kinds.h"
#include "lib/wf_validate.h"

#include <stdio.h>
#include <string.h>

static void wf__node_validate(const json_t *obj, const json_t *old, wf_causes *c)
{
	json_t *spec = json_object_get(obj, "spec");
	if (spec && !json_is_null(spec) && !json_is_object(spec)) {
		wf_causes_invalid(c, "spec", spec, "must be an object");
		return;
	}
	json_t *taints = json_object_get(spec, "taints");
	if (taints && !json_is_null(taints)) {
		if (!json_is_array(taints)) {
			wf_causes_invalid(c, "spec.taints", taints, "must be a list");
		} else {
			static const char *const effects[] = {"NoSchedule", "PreferNoSchedule",
							      "NoExecute", NULL};
			size_t i;
			json_t *t;
			json_array_foreach(taints, i, t)
			{
				char f[64];
				snprintf(f, sizeof f, "spec.taints[%zu].key", i);
				const char *key = wf_json_str(t, "key");
				if (!key || !key[0])
					wf_causes_required(c, f);
				else if (wf_check_qualified_name(key))
					wf_causes_invalid(c, f, json_object_get(t, "key"),
							  wf_check_qualified_name(key));
				snprintf(f, sizeof f, "spec.taints[%zu].effect", i);
				json_t *eff = json_object_get(t, "effect");
				bool ok = false;
				for (size_t e = 0; effects[e] && json_is_string(eff); e++)
					ok = ok || !strcmp(effects[e], json_string_value(eff));
				if (!eff)
					wf_causes_required(c, f);
				else if (!ok)
					wf_causes_unsupported(c, f, eff, effects);
			}
		}
	}
	json_t *unsched = json_object_get(spec, "unschedulable");
	if (unsched && !json_is_null(unsched) && !json_is_boolean(unsched))
		wf_causes_invalid(c, "spec.unschedulable", unsched, "must be a boolean");
	json_t *status = json_object_get(obj, "status");
	wf_validate_quantity_map(json_object_get(status, "capacity"), "status.capacity", c);
	wf_validate_quantity_map(json_object_get(status, "allocatable"), "status.allocatable", c);
}

static const char *const wf__node_fields[] = {"spec.unschedulable", NULL};

const wf_kind wf_kind_node = {
	.group = "",
	.version = "v1",
	.resource = "nodes",
	.kind = "Node",
	.singular = "node",
	.short_names = {"no"},
	.namespaced = false,
	.has_status = true,
	.name_rule = WF_NAME_SUBDOMAIN,
	.fields = wf__node_fields,
	.validate = wf__node_validate,
};
