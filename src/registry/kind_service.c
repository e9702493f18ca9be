/*
 * kind_service.c - core/v1 Service: ports, type and selector validation and
 * defaulting. Cluster IPs are allocated by the API layer, which can see the
 * other services.
 */
#include "registry/kinds.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

static const char *const wf__svc_types[] = {"ClusterIP", "NodePort", "LoadBalancer",
					    "ExternalName", NULL};

static void wf__svc_defaults(json_t *obj)
{
	json_t *spec = json_object_get(obj, "spec");
	if (!json_is_object(spec))
		return;
	if (!json_object_get(spec, "type"))
		json_object_set_new(spec, "type", json_string("ClusterIP"));
	if (!json_object_get(spec, "sessionAffinity"))
		json_object_set_new(spec, "sessionAffinity", json_string("None"));
	size_t i;
	json_t *p;
	json_array_foreach(json_object_get(spec, "ports"), i, p)
	{
		if (!json_is_object(p))
			continue;
		if (!json_object_get(p, "protocol"))
			json_object_set_new(p, "protocol", json_string("TCP"));
		json_t *port = json_object_get(p, "port");
		if (!json_object_get(p, "targetPort") && json_is_integer(port))
			json_object_set(p, "targetPort", port);
	}
}

static void wf__svc_validate(const json_t *obj, const json_t *old, wf_causes *c)
{
	json_t *spec = wf_validate_required_object(obj, "spec", "spec", c);
	if (!spec)
		return;
	json_t *type = json_object_get(spec, "type");
	bool type_ok = false;
	for (size_t t = 0; wf__svc_types[t] && json_is_string(type); t++)
		type_ok = type_ok || !strcmp(wf__svc_types[t], json_string_value(type));
	if (type && !type_ok)
		wf_causes_unsupported(c, "spec.type", type, wf__svc_types);
	bool external = json_is_string(type) && !strcmp(json_string_value(type), "ExternalName");
	json_t *ports = json_object_get(spec, "ports");
	if (!external && (!json_is_array(ports) || !json_array_size(ports))) {
		if (ports && !json_is_array(ports))
			wf_causes_invalid(c, "spec.ports", ports, "must be a list");
		else
			wf_causes_required(c, "spec.ports");
	}
	size_t i;
	json_t *p;
	json_array_foreach(ports, i, p)
	{
		char f[64];
		snprintf(f, sizeof f, "spec.ports[%zu].port", i);
		json_t *port = json_object_get(p, "port");
		if (!port)
			wf_causes_required(c, f);
		else if (!json_is_integer(port) || json_integer_value(port) < 1 ||
			 json_integer_value(port) > 65535)
			wf_causes_invalid(c, f, port, "must be between 1 and 65535, inclusive");
		if (json_array_size(ports) > 1 && !wf_json_str(p, "name")) {
			snprintf(f, sizeof f, "spec.ports[%zu].name", i);
			wf_causes_required(c, f);
		}
		json_t *np = json_object_get(p, "nodePort");
		if (np && !json_is_null(np) &&
		    (!json_is_integer(np) || json_integer_value(np) < 30000 ||
		     json_integer_value(np) > 32767)) {
			snprintf(f, sizeof f, "spec.ports[%zu].nodePort", i);
			wf_causes_invalid(c, f, np,
					  "provided port is not in the valid range. The range of "
					  "valid ports is 30000-32767");
		}
	}
	wf_validate_labels(json_object_get(spec, "selector"), "spec.selector", c);
	json_t *cip = json_object_get(spec, "clusterIP");
	const char *ip = json_string_value(cip);
	unsigned char addr[16];
	if (cip && !json_is_null(cip) &&
	    (!ip || (ip[0] && strcmp(ip, "None") && inet_pton(AF_INET, ip, addr) != 1 &&
		     inet_pton(AF_INET6, ip, addr) != 1)))
		wf_causes_invalid(c, "spec.clusterIP", cip,
				  "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)");
}

static void wf__svc_validate_update(const json_t *obj, const json_t *old, wf_causes *c)
{
	const char *a = wf_json_path_str(obj, "spec.clusterIP");
	const char *b = wf_json_path_str(old, "spec.clusterIP");
	if (a && b && a[0] && strcmp(a, b))
		wf_causes_invalid_str(c, "spec.clusterIP", a, "field is immutable");
}

const wf_kind wf_kind_service = {
	.group = "",
	.version = "v1",
	.resource = "services",
	.kind = "Service",
	.singular = "service",
	.short_names = {"svc"},
	.namespaced = true,
	.in_all_category = true,
	.has_status = true,
	.name_rule = WF_NAME_DNS1035,
	.defaults = wf__svc_defaults,
	.validate = wf__svc_validate,
	.validate_update = wf__svc_validate_update,
};
