/*
 * admission.c - admission on create (see admission.h).
 *
 * Priority follows kube-apiserver's Priority plugin: a pod naming a
 * PriorityClass gets that class's value and preemptionPolicy; a pod naming
 * none gets the globalDefault class (its name is filled in; with several
 * defaults the lowest value wins), else priority 0 and
 * PreemptLowerPriority. The two classes Kubernetes builds in
 * (system-node-critical, system-cluster-critical) resolve even when they
 * were never stored. A client may set spec.priority or
 * spec.preemptionPolicy only to what the class gives. Classes are read from
 * the store on each pod create: a point read, or for the default a range
 * over the few stored classes.
 */
#include "api/admission.h"

#include <stdio.h>
#include <string.h>

#define WF__SYSTEM_CLUSTER_CRITICAL 2000000000
#define WF__SYSTEM_NODE_CRITICAL 2000001000

typedef struct wf__pclass {
	bool found;
	char name[256];
	json_int_t value;
	char policy[32];
} wf__pclass;

static void wf__pclass_fill(wf__pclass *pc, const json_t *obj)
{
	const char *name = wf_json_path_str(obj, "metadata.name");
	const char *policy = wf_json_str(obj, "preemptionPolicy");
	pc->found = true;
	snprintf(pc->name, sizeof pc->name, "%s", name ? name : "");
	pc->value = json_integer_value(json_object_get(obj, "value"));
	snprintf(pc->policy, sizeof pc->policy, "%s", policy ? policy : "PreemptLowerPriority");
}

static void wf__forbid(wf_req *r, const wf_kind *k, const char *name, const char *why)
{
	char qr[128];
	wf_kind_qualified_resource(k, qr, sizeof qr);
	wf_buf msg;
	wf_buf_init(&msg);
	wf_buf_printf(&msg, "%s \"%s\" is forbidden: %s", qr, name ? name : "", why);
	json_t *details = json_object();
	json_object_set_new(details, "name", json_string(name ? name : ""));
	if (k->group[0])
		json_object_set_new(details, "group", json_string(k->group));
	json_object_set_new(details, "kind", json_string(k->resource));
	wf_reply_status(r, 403, "Forbidden", msg.data, details);
	wf_buf_free(&msg);
}

/* ---- reading classes ---------------------------------------------------------------- */

/* The stored class `name`: 0 (pc->found tells), or -WF_EIO. */
static int wf__pclass_get(wf_api *api, const char *name, wf__pclass *pc, wf_err *err)
{
	const wf_kind *k = wf_registry_find("scheduling.k8s.io", "v1", "priorityclasses");
	memset(pc, 0, sizeof *pc);
	if (!k)
		return 0;
	char *key = wf_registry_key(k, NULL, name);
	json_t *obj = NULL;
	int rc = wf_object_get(api, key, &obj, NULL, err);
	free(key);
	if (rc == -WF_ENOENT)
		return 0;
	if (rc < 0)
		return rc;
	wf__pclass_fill(pc, obj);
	json_decref(obj);
	return 0;
}

typedef struct wf__default_scan {
	wf__pclass best;
	const char *skip; /* a class to leave out (the one being created) */
} wf__default_scan;

static int wf__default_item(void *ctx, const wf_kv *kv)
{
	wf__default_scan *d = ctx;
	json_t *obj = json_loadb(kv->value, kv->value_len, 0, NULL);
	if (!obj)
		return 0;
	const char *name = wf_json_path_str(obj, "metadata.name");
	if (json_is_true(json_object_get(obj, "globalDefault")) && name &&
	    !(d->skip && !strcmp(d->skip, name)) &&
	    (!d->best.found || json_integer_value(json_object_get(obj, "value")) < d->best.value))
		wf__pclass_fill(&d->best, obj);
	json_decref(obj);
	return 0;
}

/* The global default class (pc->found false when there is none). */
static int wf__pclass_default(wf_api *api, const char *skip, wf__pclass *pc, wf_err *err)
{
	const wf_kind *k = wf_registry_find("scheduling.k8s.io", "v1", "priorityclasses");
	wf__default_scan d = {.skip = skip};
	if (k) {
		char *prefix = wf_registry_prefix(k, NULL);
		int rc = wf_store_range(api->store, prefix, NULL, 0, wf__default_item, &d, NULL,
					NULL, err);
		free(prefix);
		if (rc < 0)
			return rc;
	}
	*pc = d.best;
	return 0;
}

/* ---- plugins ------------------------------------------------------------------------ */

static bool wf__admit_pod(wf_req *r, const wf_kind *k, json_t *obj)
{
	json_t *spec = json_object_get(obj, "spec");
	const char *name = wf_json_path_str(obj, "metadata.name");
	if (!json_is_object(spec))
		return true;
	json_t *pcn = json_object_get(spec, "priorityClassName");
	json_t *prio = json_object_get(spec, "priority");
	json_t *pol = json_object_get(spec, "preemptionPolicy");
	if ((pcn && !json_is_null(pcn) && !json_is_string(pcn)) ||
	    (prio && !json_is_null(prio) && !json_is_integer(prio)) ||
	    (pol && !json_is_null(pol) && !json_is_string(pol)))
		return true; /* validation names the field */
	const char *cls = json_string_value(pcn);
	wf__pclass pc;
	wf_err err = {0};
	char why[512];
	if (cls && cls[0]) {
		if (wf__pclass_get(r->api, cls, &pc, &err) < 0) {
			wf_reply_err(r, &err, NULL, NULL);
			return false;
		}
		if (!pc.found && (!strcmp(cls, "system-node-critical") ||
				  !strcmp(cls, "system-cluster-critical"))) {
			pc.found = true;
			snprintf(pc.name, sizeof pc.name, "%s", cls);
			pc.value = !strcmp(cls, "system-node-critical")
				       ? WF__SYSTEM_NODE_CRITICAL
				       : WF__SYSTEM_CLUSTER_CRITICAL;
			snprintf(pc.policy, sizeof pc.policy, "PreemptLowerPriority");
		}
		if (!pc.found) {
			snprintf(why, sizeof why, "no PriorityClass with name %s was found", cls);
			wf__forbid(r, k, name, why);
			return false;
		}
	} else {
		if (wf__pclass_default(r->api, NULL, &pc, &err) < 0) {
			wf_reply_err(r, &err, NULL, NULL);
			return false;
		}
		if (pc.found)
			json_object_set_new(spec, "priorityClassName", json_string(pc.name));
		else
			snprintf(pc.policy, sizeof pc.policy, "PreemptLowerPriority");
	}
	if (prio && !json_is_null(prio) && json_integer_value(prio) != pc.value) {
		snprintf(why, sizeof why,
			 "the integer value of priority (%lld) must not be provided in pod spec; "
			 "priority admission controller computed %lld from the given PriorityClass "
			 "name",
			 (long long)json_integer_value(prio), (long long)pc.value);
		wf__forbid(r, k, name, why);
		return false;
	}
	json_object_set_new(spec, "priority", json_integer(pc.value));
	const char *want = json_string_value(pol);
	if (want && strcmp(want, pc.policy)) {
		snprintf(
		    why, sizeof why,
		    "the string value of PreemptionPolicy (%.100s) must not be provided in pod "
		    "spec; priority admission controller computed %s from the given "
		    "PriorityClass name",
		    want, pc.policy);
		wf__forbid(r, k, name, why);
		return false;
	}
	json_object_set_new(spec, "preemptionPolicy", json_string(pc.policy));
	return true;
}

static bool wf__admit_priorityclass(wf_req *r, const wf_kind *k, json_t *obj)
{
	if (!json_is_true(json_object_get(obj, "globalDefault")))
		return true;
	const char *name = wf_json_path_str(obj, "metadata.name");
	wf__pclass pc;
	wf_err err = {0};
	if (wf__pclass_default(r->api, name, &pc, &err) < 0) {
		wf_reply_err(r, &err, NULL, NULL);
		return false;
	}
	if (!pc.found)
		return true;
	char why[512];
	snprintf(why, sizeof why,
		 "PriorityClass %s is already marked as default. Only one default can exist",
		 pc.name);
	wf__forbid(r, k, name, why);
	return false;
}

bool wf_admit_create(wf_req *r, const wf_kind *k, json_t *obj)
{
	if (!k->group[0] && !strcmp(k->resource, "pods"))
		return wf__admit_pod(r, k, obj);
	if (!strcmp(k->group, "scheduling.k8s.io") && !strcmp(k->resource, "priorityclasses"))
		return wf__admit_priorityclass(r, k, obj);
	return true;
}
