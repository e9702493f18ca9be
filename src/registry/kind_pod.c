/*
 * kind_pod.c - core/v1 Pod: PodSpec defaulting and validation (shared with
 * Job templates), pod status reset on create, and the update rule that a
 * pod's spec is immutable except for images, activeDeadlineSeconds and added
 * tolerations.
 */
#include "registry/kinds.h"
#include "lib/wf_mem.h"
#include "lib/wf_quantity.h"
#include "lib/wf_validate.h"

#include <stdio.h>
#include <string.h>

static const char *const wf__restart_policies[] = {"Always", "OnFailure", "Never", NULL};
static const char *const wf__pull_policies[] = {"Always", "IfNotPresent", "Never", NULL};
static const char *const wf__toleration_ops[] = {"Equal", "Exists", NULL};
static const char *const wf__taint_effects[] = {"NoSchedule", "PreferNoSchedule", "NoExecute",
						NULL};
static const char *const wf__protocols[] = {"TCP", "UDP", "SCTP", NULL};

static bool wf__in(const char *s, const char *const *set)
{
	for (; s && *set; set++)
		if (!strcmp(s, *set))
			return true;
	return false;
}

static void wf__default_container(json_t *ctr)
{
	if (!json_is_object(ctr))
		return;
	const char *image = wf_json_str(ctr, "image");
	if (!json_object_get(ctr, "imagePullPolicy") && image) {
		const char *slash = strrchr(image, '/');
		const char *tagsep = strrchr(slash ? slash : image, ':');
		bool latest = !tagsep || !strcmp(tagsep, ":latest");
		if (strchr(image, '@'))
			latest = false;
		json_object_set_new(ctr, "imagePullPolicy",
				    json_string(latest ? "Always" : "IfNotPresent"));
	}
	if (!json_object_get(ctr, "terminationMessagePath"))
		json_object_set_new(ctr, "terminationMessagePath", json_string("/dev/termination-log"));
	if (!json_object_get(ctr, "terminationMessagePolicy"))
		json_object_set_new(ctr, "terminationMessagePolicy", json_string("File"));
	json_t *res = json_object_get(ctr, "resources");
	if (!res) {
		json_object_set_new(ctr, "resources", json_object());
	} else if (json_is_object(res)) {
		/* Requests default to limits, as Kubernetes does. */
		json_t *lim = json_object_get(res, "limits");
		json_t *req = json_object_get(res, "requests");
		/* requests of the wrong type are left for validation to report */
		if (json_is_object(lim) && json_object_size(lim) &&
		    (!req || json_is_null(req) || json_is_object(req))) {
			req = wf_json_obj_ensure(res, "requests");
			const char *k;
			json_t *v;
			json_object_foreach(lim, k, v)
			{
				if (!json_object_get(req, k))
					json_object_set(req, k, v);
			}
		}
	}
	json_t *ports = json_object_get(ctr, "ports");
	if (json_is_array(ports)) {
		size_t i;
		json_t *p;
		json_array_foreach(ports, i, p)
		{
			if (json_is_object(p) && !json_object_get(p, "protocol"))
				json_object_set_new(p, "protocol", json_string("TCP"));
		}
	}
}

void wf_default_pod_spec(json_t *spec)
{
	if (!json_is_object(spec))
		return;
	static const struct {
		const char *key;
		const char *val;
	} strs[] = {{"restartPolicy", "Always"},
		    {"dnsPolicy", "ClusterFirst"},
		    {"schedulerName", "default-scheduler"}};
	for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++)
		if (!json_object_get(spec, strs[i].key))
			json_object_set_new(spec, strs[i].key, json_string(strs[i].val));
	if (!json_object_get(spec, "terminationGracePeriodSeconds"))
		json_object_set_new(spec, "terminationGracePeriodSeconds", json_integer(30));
	if (!json_object_get(spec, "securityContext"))
		json_object_set_new(spec, "securityContext", json_object());
	if (!json_object_get(spec, "enableServiceLinks"))
		json_object_set_new(spec, "enableServiceLinks", json_true());
	static const char *const lists[] = {"containers", "initContainers"};
	for (size_t l = 0; l < 2; l++) {
		json_t *arr = json_object_get(spec, lists[l]);
		size_t i;
		json_t *ctr;
		if (json_is_array(arr))
			json_array_foreach(arr, i, ctr) wf__default_container(ctr);
	}
}

static void wf__validate_env(const json_t *env, const char *field, wf_causes *c)
{
	if (!env || json_is_null(env))
		return;
	if (!json_is_array(env)) {
		wf_causes_invalid(c, field, env, "must be a list");
		return;
	}
	size_t i;
	json_t *e;
	json_array_foreach(env, i, e)
	{
		char f[256];
		snprintf(f, sizeof f, "%s[%zu].name", field, i);
		json_t *name = json_object_get(e, "name");
		if (!json_is_string(name) || !json_string_length(name)) {
			wf_causes_required(c, f);
			continue;
		}
		const char *msg = wf_check_env_var_name(json_string_value(name));
		if (msg)
			wf_causes_invalid(c, f, name, msg);
		json_t *val = json_object_get(e, "value");
		if (val && !json_is_string(val) && !json_is_null(val)) {
			snprintf(f, sizeof f, "%s[%zu].value", field, i);
			wf_causes_invalid(c, f, val, "must be a string");
		}
		json_t *from = json_object_get(e, "valueFrom");
		if (from && !json_is_null(from)) {
			snprintf(f, sizeof f, "%s[%zu].valueFrom", field, i);
			if (!json_is_object(from))
				wf_causes_invalid(c, f, from, "must be an object");
			else if (val && json_is_string(val) && json_string_length(val))
				wf_causes_invalid(c, f, from,
						  "may not be specified when `value` is not empty");
		}
	}
}

static void wf__validate_resources(const json_t *res, const char *field, wf_causes *c)
{
	if (!res || json_is_null(res))
		return;
	if (!json_is_object(res)) {
		wf_causes_invalid(c, field, res, "must be an object");
		return;
	}
	char f[256];
	json_t *lim = json_object_get(res, "limits");
	json_t *req = json_object_get(res, "requests");
	snprintf(f, sizeof f, "%s.limits", field);
	size_t before = c->n;
	wf_validate_quantity_map(lim, f, c);
	snprintf(f, sizeof f, "%s.requests", field);
	wf_validate_quantity_map(req, f, c);
	if (c->n != before || !json_is_object(lim) || !json_is_object(req))
		return;
	const char *k;
	json_t *rv;
	json_object_foreach(req, k, rv)
	{
		json_t *lv = json_object_get(lim, k);
		if (!lv || !json_is_string(rv) || !json_is_string(lv))
			continue;
		int64_t r = 0, l = 0;
		if (wf_quantity_parse(json_string_value(rv), &r, NULL) < 0 ||
		    wf_quantity_parse(json_string_value(lv), &l, NULL) < 0)
			continue;
		snprintf(f, sizeof f, "%s.requests[%s]", field, k);
		bool extended = strchr(k, '/') && !strstr(k, "kubernetes.io/");
		if (extended && r != l)
			wf_causes_invalid(c, f, rv, "must be equal to limit");
		else if (r > l) {
			char msg[128];
			snprintf(msg, sizeof msg, "must be less than or equal to %s limit of %s", k,
				 json_string_value(lv));
			wf_causes_invalid(c, f, rv, msg);
		}
	}
}

static void wf__validate_containers(const json_t *arr, const char *field, bool required,
				    wf_causes *c)
{
	if (!arr || json_is_null(arr) || (json_is_array(arr) && !json_array_size(arr))) {
		if (required)
			wf_causes_required(c, field);
		return;
	}
	if (!json_is_array(arr)) {
		wf_causes_invalid(c, field, arr, "must be a list of containers");
		return;
	}
	size_t i;
	json_t *ctr;
	json_array_foreach(arr, i, ctr)
	{
		char f[256];
		snprintf(f, sizeof f, "%s[%zu]", field, i);
		if (!json_is_object(ctr)) {
			wf_causes_invalid(c, f, ctr, "must be an object");
			continue;
		}
		char g[300];
		snprintf(g, sizeof g, "%s.name", f);
		json_t *name = json_object_get(ctr, "name");
		if (!json_is_string(name) || !json_string_length(name)) {
			if (name && !json_is_string(name))
				wf_causes_invalid(c, g, name, "must be a string");
			else
				wf_causes_required(c, g);
		} else {
			const char *msg = wf_check_dns1123_label(json_string_value(name));
			if (msg)
				wf_causes_invalid(c, g, name, msg);
			for (size_t j = 0; j < i; j++) {
				const char *other = wf_json_str(json_array_get(arr, j), "name");
				if (other && !strcmp(other, json_string_value(name))) {
					wf_causes_add(c, "FieldValueDuplicate", g,
						      "Duplicate value: \"%s\"", other);
					break;
				}
			}
		}
		snprintf(g, sizeof g, "%s.image", f);
		json_t *image = json_object_get(ctr, "image");
		if (!json_is_string(image) || !json_string_length(image)) {
			if (image && !json_is_string(image))
				wf_causes_invalid(c, g, image, "must be a string");
			else
				wf_causes_required(c, g);
		}
		static const char *const arrays[] = {"command", "args"};
		for (size_t a = 0; a < 2; a++) {
			json_t *v = json_object_get(ctr, arrays[a]);
			if (!v || json_is_null(v))
				continue;
			snprintf(g, sizeof g, "%s.%s", f, arrays[a]);
			bool ok = json_is_array(v);
			size_t k;
			json_t *s;
			if (ok)
				json_array_foreach(v, k, s) ok = ok && json_is_string(s);
			if (!ok)
				wf_causes_invalid(c, g, v, "must be a list of strings");
		}
		json_t *wd = json_object_get(ctr, "workingDir");
		if (wd && !json_is_string(wd)) {
			snprintf(g, sizeof g, "%s.workingDir", f);
			wf_causes_invalid(c, g, wd, "must be a string");
		}
		snprintf(g, sizeof g, "%s.env", f);
		wf__validate_env(json_object_get(ctr, "env"), g, c);
		snprintf(g, sizeof g, "%s.resources", f);
		wf__validate_resources(json_object_get(ctr, "resources"), g, c);
		json_t *pp = json_object_get(ctr, "imagePullPolicy");
		if (pp && !wf__in(json_string_value(pp), wf__pull_policies)) {
			snprintf(g, sizeof g, "%s.imagePullPolicy", f);
			wf_causes_unsupported(c, g, pp, wf__pull_policies);
		}
		json_t *ports = json_object_get(ctr, "ports");
		if (ports && !json_is_null(ports)) {
			if (!json_is_array(ports)) {
				snprintf(g, sizeof g, "%s.ports", f);
				wf_causes_invalid(c, g, ports, "must be a list");
			} else {
				size_t k;
				json_t *p;
				json_array_foreach(ports, k, p)
				{
					json_t *cp = json_object_get(p, "containerPort");
					snprintf(g, sizeof g, "%s.ports[%zu].containerPort", f, k);
					if (!json_is_integer(cp) || json_integer_value(cp) < 1 ||
					    json_integer_value(cp) > 65535)
						wf_causes_invalid(c, g, cp,
								  "must be between 1 and 65535, inclusive");
					json_t *proto = json_object_get(p, "protocol");
					if (proto && !wf__in(json_string_value(proto), wf__protocols)) {
						snprintf(g, sizeof g, "%s.ports[%zu].protocol", f, k);
						wf_causes_unsupported(c, g, proto, wf__protocols);
					}
				}
			}
		}
	}
}

static void wf__validate_tolerations(const json_t *tols, const char *field, wf_causes *c)
{
	if (!tols || json_is_null(tols))
		return;
	if (!json_is_array(tols)) {
		wf_causes_invalid(c, field, tols, "must be a list");
		return;
	}
	size_t i;
	json_t *t;
	json_array_foreach(tols, i, t)
	{
		char f[256];
		snprintf(f, sizeof f, "%s[%zu]", field, i);
		if (!json_is_object(t)) {
			wf_causes_invalid(c, f, t, "must be an object");
			continue;
		}
		char g[300];
		json_t *op = json_object_get(t, "operator");
		const char *ops = json_is_string(op) ? json_string_value(op) : "Equal";
		if (op && !wf__in(json_string_value(op), wf__toleration_ops)) {
			snprintf(g, sizeof g, "%s.operator", f);
			wf_causes_unsupported(c, g, op, wf__toleration_ops);
		}
		json_t *key = json_object_get(t, "key");
		if (key && !json_is_null(key)) {
			snprintf(g, sizeof g, "%s.key", f);
			if (!json_is_string(key))
				wf_causes_invalid(c, g, key, "must be a string");
			else if (json_string_length(key) &&
				 wf_check_qualified_name(json_string_value(key)))
				wf_causes_invalid(c, g, key,
						  wf_check_qualified_name(json_string_value(key)));
		}
		if ((!json_is_string(key) || !json_string_length(key)) && strcmp(ops, "Exists")) {
			snprintf(g, sizeof g, "%s.operator", f);
			wf_causes_invalid_str(c, g, ops,
					  "operator must be Exists when `key` is empty, which "
					  "means \"match all values and all keys\"");
		}
		json_t *val = json_object_get(t, "value");
		if (!strcmp(ops, "Exists") && json_is_string(val) && json_string_length(val)) {
			snprintf(g, sizeof g, "%s.operator", f);
			wf_causes_invalid(c, g, val,
					  "value must be empty when `operator` is 'Exists'");
		}
		json_t *eff = json_object_get(t, "effect");
		if (eff && !json_is_null(eff) && !(json_is_string(eff) && !json_string_length(eff)) &&
		    !wf__in(json_string_value(eff), wf__taint_effects)) {
			snprintf(g, sizeof g, "%s.effect", f);
			wf_causes_unsupported(c, g, eff, wf__taint_effects);
		}
		json_t *secs = json_object_get(t, "tolerationSeconds");
		if (secs && !json_is_null(secs) && !json_is_integer(secs)) {
			snprintf(g, sizeof g, "%s.tolerationSeconds", f);
			wf_causes_invalid(c, g, secs, "must be an integer");
		}
	}
}

void wf_validate_pod_spec(const json_t *spec, const char *field, wf_causes *c)
{
	char f[256];
	if (!json_is_object(spec)) {
		if (!spec || json_is_null(spec))
			wf_causes_required(c, field);
		else
			wf_causes_invalid(c, field, spec, "must be an object");
		return;
	}
	snprintf(f, sizeof f, "%s.containers", field);
	wf__validate_containers(json_object_get(spec, "containers"), f, true, c);
	snprintf(f, sizeof f, "%s.initContainers", field);
	wf__validate_containers(json_object_get(spec, "initContainers"), f, false, c);
	json_t *rp = json_object_get(spec, "restartPolicy");
	if (rp && !wf__in(json_string_value(rp), wf__restart_policies)) {
		snprintf(f, sizeof f, "%s.restartPolicy", field);
		wf_causes_unsupported(c, f, rp, wf__restart_policies);
	}
	json_t *nn = json_object_get(spec, "nodeName");
	if (nn && !json_is_null(nn) && !(json_is_string(nn) && !json_string_length(nn))) {
		snprintf(f, sizeof f, "%s.nodeName", field);
		if (!json_is_string(nn))
			wf_causes_invalid(c, f, nn, "must be a string");
		else if (wf_check_dns1123_subdomain(json_string_value(nn)))
			wf_causes_invalid(c, f, nn,
					  wf_check_dns1123_subdomain(json_string_value(nn)));
	}
	snprintf(f, sizeof f, "%s.nodeSelector", field);
	wf_validate_labels(json_object_get(spec, "nodeSelector"), f, c);
	snprintf(f, sizeof f, "%s.tolerations", field);
	wf__validate_tolerations(json_object_get(spec, "tolerations"), f, c);
	static const char *const nonneg[] = {"terminationGracePeriodSeconds",
					     "activeDeadlineSeconds"};
	for (size_t i = 0; i < 2; i++) {
		json_t *v = json_object_get(spec, nonneg[i]);
		if (!v || json_is_null(v))
			continue;
		snprintf(f, sizeof f, "%s.%s", field, nonneg[i]);
		if (!json_is_integer(v) || json_integer_value(v) < 0 ||
		    (i == 1 && json_integer_value(v) == 0))
			wf_causes_invalid(c, f, v,
					  i ? "must be greater than 0"
					    : "must be greater than or equal to 0");
	}
	json_t *prio = json_object_get(spec, "priority");
	if (prio && !json_is_null(prio) && !json_is_integer(prio)) {
		snprintf(f, sizeof f, "%s.priority", field);
		wf_causes_invalid(c, f, prio, "must be an integer");
	}
	json_t *pcn = json_object_get(spec, "priorityClassName");
	if (pcn && !json_is_null(pcn) && !json_is_string(pcn)) {
		snprintf(f, sizeof f, "%s.priorityClassName", field);
		wf_causes_invalid(c, f, pcn, "must be a string");
	}
}

/* ---- Pod kind ---------------------------------------------------------- */

static void wf__pod_defaults(json_t *obj)
{
	wf_default_pod_spec(json_object_get(obj, "spec"));
}

/* Kubernetes' QoS class: Guaranteed when every container has equal cpu and
 * memory requests and limits, BestEffort when none has any, else Burstable. */
static const char *wf__qos_class(const json_t *spec)
{
	json_t *ctrs = json_object_get(spec, "containers");
	bool any = false, guaranteed = true;
	size_t i;
	json_t *ctr;
	json_array_foreach(ctrs, i, ctr)
	{
		json_t *res = json_object_get(ctr, "resources");
		json_t *req = json_object_get(res, "requests");
		json_t *lim = json_object_get(res, "limits");
		static const char *const names[] = {"cpu", "memory"};
		for (size_t n = 0; n < 2; n++) {
			json_t *r = json_object_get(req, names[n]);
			json_t *l = json_object_get(lim, names[n]);
			if (r || l)
				any = true;
			if (!l || !r || !json_equal(r, l))
				guaranteed = false;
		}
	}
	if (!any)
		return "BestEffort";
	return guaranteed ? "Guaranteed" : "Burstable";
}

static void wf__pod_prepare_create(json_t *obj)
{
	json_t *spec = json_object_get(obj, "spec");
	json_t *status = json_object();
	json_object_set_new(status, "phase", json_string("Pending"));
	if (json_is_object(spec))
		json_object_set_new(status, "qosClass", json_string(wf__qos_class(spec)));
	json_object_set_new(obj, "status", status);
}

static void wf__pod_validate(const json_t *obj, const json_t *old, wf_causes *c)
{
	wf_validate_pod_spec(json_object_get(obj, "spec"), "spec", c);
}

/* A copy of the spec with the fields an update may change removed. */
static json_t *wf__pod_spec_frozen(const json_t *spec)
{
	json_t *s = json_deep_copy(spec);
	if (!json_is_object(s))
		return s;
	json_object_del(s, "activeDeadlineSeconds");
	json_object_del(s, "tolerations");
	static const char *const lists[] = {"containers", "initContainers"};
	for (size_t l = 0; l < 2; l++) {
		size_t i;
		json_t *ctr;
		json_array_foreach(json_object_get(s, lists[l]), i, ctr)
			json_object_del(ctr, "image");
	}
	return s;
}

static void wf__pod_validate_update(const json_t *obj, const json_t *old, wf_causes *c)
{
	json_t *a = wf__pod_spec_frozen(json_object_get(obj, "spec"));
	json_t *b = wf__pod_spec_frozen(json_object_get(old, "spec"));
	if (!wf_json_same(a, b))
		wf_causes_add(c, "FieldValueForbidden", "spec",
			      "Forbidden: pod updates may not change fields other than "
			      "`spec.containers[*].image`,`spec.initContainers[*].image`,"
			      "`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions "
			      "to existing tolerations)");
	json_decref(a);
	json_decref(b);
}

static const char *const wf__pod_fields[] = {
	"spec.nodeName",	  "spec.restartPolicy", "spec.schedulerName",
	"spec.serviceAccountName", "status.phase",	"status.podIP",
	"status.nominatedNodeName", NULL};

const wf_kind wf_kind_pod = {
	.group = "",
	.version = "v1",
	.resource = "pods",
	.kind = "Pod",
	.singular = "pod",
	.short_names = {"po"},
	.namespaced = true,
	.in_all_category = true,
	.has_status = true,
	.status_sets_labels = true,
	.extra_subresources = {"binding", "log"},
	.name_rule = WF_NAME_SUBDOMAIN,
	.fields = wf__pod_fields,
	.defaults = wf__pod_defaults,
	.prepare_create = wf__pod_prepare_create,
	.validate = wf__pod_validate,
	.validate_update = wf__pod_validate_update,
};
