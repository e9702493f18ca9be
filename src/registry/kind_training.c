/*
 * kind_training.c - kubeflow.org/v1 PyTorchJob: a Master and Worker replica
 * specs run as one gang with the torch.distributed rendezvous environment.
 * The controller that runs them is src/controllers/pytorchjob.c.
 */
#include "registry/kinds.h"

#include <stdio.h>
#include <string.h>

static const char *const wf__replica_types[] = {"Master", "Worker", NULL};
static const char *const wf__restart_policies[] = {"Always", "OnFailure", "Never", "ExitCode",
						   NULL};

static void wf__ptj_defaults(json_t *obj)
{
	json_t *specs = wf_json_path(obj, "spec.pytorchReplicaSpecs");
	const char *key;
	json_t *rs;
	json_object_foreach(specs, key, rs)
	{
		if (!json_is_object(rs))
			continue;
		if (!json_object_get(rs, "replicas"))
			json_object_set_new(rs, "replicas", json_integer(1));
		if (!json_object_get(rs, "restartPolicy"))
			json_object_set_new(rs, "restartPolicy", json_string("OnFailure"));
		wf_default_pod_spec(wf_json_path(rs, "template.spec"));
	}
	json_t *spec = json_object_get(obj, "spec");
	if (json_is_object(spec) && !json_object_get(spec, "runPolicy")) {
		json_t *rp = json_object();
		json_object_set_new(rp, "cleanPodPolicy", json_string("None"));
		json_object_set_new(spec, "runPolicy", rp);
	}
}

static void wf__ptj_prepare_create(json_t *obj)
{
	json_object_set_new(obj, "status", json_object());
}

static void wf__ptj_validate(const json_t *obj, const json_t *old, wf_causes *c)
{
	json_t *specs = wf_json_path(obj, "spec.pytorchReplicaSpecs");
	if (!json_is_object(specs) || !json_object_size(specs)) {
		if (specs && !json_is_object(specs))
			wf_causes_invalid(c, "spec.pytorchReplicaSpecs", specs, "must be an object");
		else
			wf_causes_required(c, "spec.pytorchReplicaSpecs");
		return;
	}
	const char *key;
	json_t *rs;
	json_object_foreach(specs, key, rs)
	{
		char f[256];
		snprintf(f, sizeof f, "spec.pytorchReplicaSpecs[%s]", key);
		if (strcmp(key, "Master") && strcmp(key, "Worker")) {
			json_t *k = json_string(key);
			wf_causes_unsupported(c, f, k, wf__replica_types);
			json_decref(k);
			continue;
		}
		if (!json_is_object(rs)) {
			wf_causes_invalid(c, f, rs, "must be an object");
			continue;
		}
		json_t *n = json_object_get(rs, "replicas");
		char g[320];
		snprintf(g, sizeof g, "%s.replicas", f);
		if (n && (!json_is_integer(n) || json_integer_value(n) < 0 ||
			  json_integer_value(n) > 10000))
			wf_causes_invalid(c, g, n, "must be between 0 and 10000");
		else if (!strcmp(key, "Master") && n && json_integer_value(n) != 1)
			wf_causes_invalid(c, g, n, "must be 1: there is exactly one master");
		json_t *rp = json_object_get(rs, "restartPolicy");
		snprintf(g, sizeof g, "%s.restartPolicy", f);
		bool ok = !rp;
		for (size_t i = 0; wf__restart_policies[i] && json_is_string(rp); i++)
			ok = ok || !strcmp(wf__restart_policies[i], json_string_value(rp));
		if (!ok)
			wf_causes_unsupported(c, g, rp, wf__restart_policies);
		snprintf(g, sizeof g, "%s.template.spec", f);
		json_t *tspec = wf_json_path(rs, "template.spec");
		wf_validate_pod_spec(tspec, g, c);
		/* The training operator finds the trainer by its container name. */
		bool has_pytorch = false;
		size_t i;
		json_t *ctr;
		json_array_foreach(json_object_get(tspec, "containers"), i, ctr)
		{
			const char *name = wf_json_str(ctr, "name");
			has_pytorch = has_pytorch || (name && !strcmp(name, "pytorch"));
		}
		if (json_is_object(tspec) && !has_pytorch) {
			snprintf(g, sizeof g, "%s.template.spec.containers", f);
			wf_causes_add(c, "FieldValueRequired", g,
				      "Required value: a container named \"pytorch\" is required");
		}
	}
	if (json_is_object(specs) && !json_object_get(specs, "Master") &&
	    !json_object_get(specs, "Worker"))
		wf_causes_required(c, "spec.pytorchReplicaSpecs[Master]");
}

const wf_kind wf_kind_pytorchjob = {
	.group = "kubeflow.org",
	.version = "v1",
	.resource = "pytorchjobs",
	.kind = "PyTorchJob",
	.singular = "pytorchjob",
	.short_names = {"ptj"},
	.namespaced = true,
	.in_all_category = false,
	.has_status = true,
	.name_rule = WF_NAME_LABEL,
	.defaults = wf__ptj_defaults,
	.prepare_create = wf__ptj_prepare_create,
	.validate = wf__ptj_validate,
};
