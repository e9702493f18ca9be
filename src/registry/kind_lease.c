/*
 * kind_lease.c - coordination.k8s.io/v1 Lease (node heartbeats, leader election).
 */
#include "registry/kinds.h"

static void wf__lease_validate(const json_t *obj, const json_t *old, wf_causes *c)
{
	json_t *spec = json_object_get(obj, "spec");
	if (spec && !json_is_null(spec) && !json_is_object(spec)) {
		wf_causes_invalid(c, "spec", spec, "must be an object");
		return;
	}
	json_t *d = json_object_get(spec, "leaseDurationSeconds");
	if (d && !json_is_null(d) && (!json_is_integer(d) || json_integer_value(d) <= 0))
		wf_causes_invalid(c, "spec.leaseDurationSeconds", d, "must be greater than 0");
	json_t *h = json_object_get(spec, "holderIdentity");
	if (h && !json_is_null(h) && !json_is_string(h))
		wf_causes_invalid(c, "spec.holderIdentity", h, "must be a string");
}

const wf_kind wf_kind_lease = {
	.group = "coordination.k8s.io",
	.version = "v1",
	.resource = "leases",
	.kind = "Lease",
	.singular = "lease",
	.namespaced = true,
	.name_rule = WF_NAME_SUBDOMAIN,
	.create_on_update = true,
	.validate = wf__lease_validate,
};
