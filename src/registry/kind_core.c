/*
 * kind_core.c - the simple core/v1 kinds: Namespace, ConfigMap, Secret,
 * ServiceAccount and Event.
 */
#include "registry/kinds.h"
#include "lib/wf_mem.h"
#include "lib/wf_validate.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#define WF_CONFIG_MAX (1024 * 1024) /* ConfigMap and Secret data limit */

/* ---- Namespace ------------------------------------------------------ */

static void wf__ns_defaults(json_t *obj)
{
	/* Fields of the wrong type are left for validation to report. */
	json_t *spec = json_object_get(obj, "spec");
	if (spec && !json_is_null(spec) && !json_is_object(spec))
		return;
	spec = wf_json_obj_ensure(obj, "spec");
	if (!json_object_get(spec, "finalizers")) {
		json_t *f = json_array();
		json_array_append_new(f, json_string("kubernetes"));
		json_object_set_new(spec, "finalizers", f);
	}
	json_t *status = wf_json_obj_ensure(obj, "status");
	if (!json_object_get(status, "phase"))
		json_object_set_new(status, "phase", json_string("Active"));
	/* The well-known name label, as the NamespaceDefaultLabelName gate does. */
	json_t *md = json_object_get(obj, "metadata");
	const char *name = wf_json_str(md, "name");
	json_t *labels = json_object_get(md, "labels");
	if (name && json_is_object(md) &&
	    (!labels || json_is_null(labels) || json_is_object(labels))) {
		labels = wf_json_obj_ensure(md, "labels");
		json_object_set_new(labels, "kubernetes.io/metadata.name", json_string(name));
	}
}

static void wf__ns_prepare_create(json_t *obj)
{
	json_t *status = json_object();
	json_object_set_new(status, "phase", json_string("Active"));
	json_object_set_new(obj, "status", status);
}

static void wf__ns_validate(const json_t *obj, const json_t *old, wf_causes *c)
{
	json_t *spec = json_object_get(obj, "spec");
	if (spec && !json_is_null(spec) && !json_is_object(spec)) {
		wf_causes_invalid(c, "spec", spec, "must be an object");
		return;
	}
	json_t *fin = json_object_get(spec, "finalizers");
	if (!fin || json_is_null(fin))
		return;
	if (!json_is_array(fin)) {
		wf_causes_invalid(c, "spec.finalizers", fin, "must be a list of strings");
		return;
	}
	size_t i;
	json_t *f;
	json_array_foreach(fin, i, f)
	{
		char field[64];
		snprintf(field, sizeof field, "spec.finalizers[%zu]", i);
		if (!json_is_string(f) || wf_check_qualified_name(json_string_value(f)))
			wf_causes_invalid(c, field, f, "must be a qualified name");
	}
}

static const char *const wf__ns_fields[] = {"status.phase", NULL};

const wf_kind wf_kind_namespace = {
	.group = "",
	.version = "v1",
	.resource = "namespaces",
	.kind = "Namespace",
	.singular = "namespace",
	.short_names = {"ns"},
	.namespaced = false,
	.has_status = true,
	.extra_subresources = {"finalize"},
	.name_rule = WF_NAME_LABEL,
	.fields = wf__ns_fields,
	.defaults = wf__ns_defaults,
	.prepare_create = wf__ns_prepare_create,
	.validate = wf__ns_validate,
};

/* ---- ConfigMap and Secret -------------------------------------------- */

static void wf__validate_data_keys(const json_t *data, const char *field, bool base64,
				   size_t *total, wf_causes *c)
{
	if (!data || json_is_null(data))
		return;
	if (!json_is_object(data)) {
		wf_causes_invalid(c, field, data, "must be a map of keys to strings");
		return;
	}
	const char *key;
	json_t *val;
	json_object_foreach((json_t *)data, key, val)
	{
		char f[512];
		snprintf(f, sizeof f, "%s[%s]", field, key);
		const char *msg = wf_check_config_map_key(key);
		if (msg) {
			wf_causes_invalid_str(c, field, key, msg);
		}
		if (!json_is_string(val)) {
			wf_causes_invalid(c, f, val, "must be a string");
			continue;
		}
		size_t n = json_string_length(val);
		*total += n;
		if (base64) {
			const char *s = json_string_value(val);
			bool ok = n % 4 == 0;
			for (size_t i = 0; ok && i < n; i++) {
				char ch = s[i];
				ok = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
				     (ch >= '0' && ch <= '9') || ch == '+' || ch == '/' ||
				     (ch == '=' && i >= n - 2);
			}
			if (!ok)
				wf_causes_invalid_str(c, f, "<secret data>",
						  "illegal base64 data");
		}
	}
}

static void wf__configmap_validate(const json_t *obj, const json_t *old, wf_causes *c)
{
	size_t total = 0;
	wf__validate_data_keys(json_object_get(obj, "data"), "data", false, &total, c);
	wf__validate_data_keys(json_object_get(obj, "binaryData"), "binaryData", true, &total, c);
	if (total > WF_CONFIG_MAX)
		wf_causes_add(c, "FieldValueTooLong", "data",
			      "Too long: must have at most %d bytes", WF_CONFIG_MAX);
}

const wf_kind wf_kind_configmap = {
	.group = "",
	.version = "v1",
	.resource = "configmaps",
	.kind = "ConfigMap",
	.singular = "configmap",
	.short_names = {"cm"},
	.namespaced = true,
	.name_rule = WF_NAME_SUBDOMAIN,
	.validate = wf__configmap_validate,
};

/* stringData is write-only: merged into data (base64) and dropped. */
static void wf__secret_defaults(json_t *obj)
{
	if (!json_object_get(obj, "type"))
		json_object_set_new(obj, "type", json_string("Opaque"));
	json_t *sd = json_object_get(obj, "stringData");
	if (!json_is_object(sd))
		return;
	json_t *data = wf_json_obj_ensure(obj, "data");
	const char *key;
	json_t *val;
	json_object_foreach(sd, key, val)
	{
		if (!json_is_string(val))
			return; /* validation reports it; leave stringData in place */
	}
	json_object_foreach(sd, key, val)
	{
		size_t n = json_string_length(val);
		unsigned char *out = wf_xmalloc(4 * ((n + 2) / 3) + 1);
		EVP_EncodeBlock(out, (const unsigned char *)json_string_value(val), (int)n);
		json_object_set_new(data, key, json_string((char *)out));
		free(out);
	}
	json_object_del(obj, "stringData");
}

static void wf__secret_validate(const json_t *obj, const json_t *old, wf_causes *c)
{
	size_t total = 0;
	wf__validate_data_keys(json_object_get(obj, "data"), "data", true, &total, c);
	wf__validate_data_keys(json_object_get(obj, "stringData"), "stringData", false, &total, c);
	if (total > WF_CONFIG_MAX)
		wf_causes_add(c, "FieldValueTooLong", "data",
			      "Too long: must have at most %d bytes", WF_CONFIG_MAX);
	json_t *type = json_object_get(obj, "type");
	if (type && !json_is_string(type))
		wf_causes_invalid(c, "type", type, "must be a string");
}

static void wf__secret_validate_update(const json_t *obj, const json_t *old, wf_causes *c)
{
	json_t *a = json_object_get(obj, "type"), *b = json_object_get(old, "type");
	if (a && b && !json_equal(a, b))
		wf_causes_add(c, "FieldValueInvalid", "type", "Invalid value: field is immutable");
	if (json_is_true(json_object_get(old, "immutable")) &&
	    !wf_json_same(json_object_get(obj, "data"), json_object_get(old, "data")))
		wf_causes_add(c, "FieldValueForbidden", "data",
			      "Forbidden: field is immutable when `immutable` is set");
}

static const char *const wf__secret_fields[] = {"type", NULL};

const wf_kind wf_kind_secret = {
	.group = "",
	.version = "v1",
	.resource = "secrets",
	.kind = "Secret",
	.singular = "secret",
	.namespaced = true,
	.name_rule = WF_NAME_SUBDOMAIN,
	.fields = wf__secret_fields,
	.defaults = wf__secret_defaults,
	.validate = wf__secret_validate,
	.validate_update = wf__secret_validate_update,
};

/* ---- ServiceAccount ------------------------------------------------- */

const wf_kind wf_kind_serviceaccount = {
	.group = "",
	.version = "v1",
	.resource = "serviceaccounts",
	.kind = "ServiceAccount",
	.singular = "serviceaccount",
	.short_names = {"sa"},
	.namespaced = true,
	.name_rule = WF_NAME_SUBDOMAIN,
};

/* ---- Event ------------------------------------------------------------ */

static void wf__event_validate(const json_t *obj, const json_t *old, wf_causes *c)
{
	json_t *io = json_object_get(obj, "involvedObject");
	if (io && !json_is_object(io))
		wf_causes_invalid(c, "involvedObject", io, "must be an object");
	/* The event lives in its object's namespace; an event about a
	 * cluster-scoped object (or about nothing) in "default". Events in the
	 * new style (eventTime set) may name an object elsewhere only when it
	 * has a namespace of its own that matches, as in Kubernetes. */
	const char *ns = wf_json_path_str(obj, "metadata.namespace");
	const char *ions = wf_json_str(io, "namespace");
	const char *etime = wf_json_str(obj, "eventTime");
	bool old_style = !etime || !etime[0];
	bool ok = ions && ions[0] ? !ns || !strcmp(ns, ions)
				  : !old_style || !ns || !ns[0] || !strcmp(ns, "default");
	if (!ok) {
		json_t *got = json_string(ions ? ions : "");
		wf_causes_invalid(c, "involvedObject.namespace", got,
				  "does not match event.namespace");
		json_decref(got);
	}
	json_t *count = json_object_get(obj, "count");
	if (count && !json_is_null(count) && !json_is_integer(count))
		wf_causes_invalid(c, "count", count, "must be an integer");
	json_t *type = json_object_get(obj, "type");
	static const char *const types[] = {"Normal", "Warning", NULL};
	if (type && !json_is_null(type) &&
	    !(json_is_string(type) &&
	      (!strcmp(json_string_value(type), "Normal") ||
	       !strcmp(json_string_value(type), "Warning"))))
		wf_causes_unsupported(c, "type", type, types);
}

static const char *const wf__event_fields[] = {
	"involvedObject.kind",	    "involvedObject.namespace",	 "involvedObject.name",
	"involvedObject.uid",	    "involvedObject.apiVersion", "involvedObject.resourceVersion",
	"involvedObject.fieldPath", "reason",			 "reportingComponent",
	"source",		    "type",			 NULL};

const wf_kind wf_kind_event = {
	.group = "",
	.version = "v1",
	.resource = "events",
	.kind = "Event",
	.singular = "event",
	.short_names = {"ev"},
	.namespaced = true,
	.name_rule = WF_NAME_SUBDOMAIN,
	.create_on_update = true,
	.fields = wf__event_fields,
	.validate = wf__event_validate,
};
