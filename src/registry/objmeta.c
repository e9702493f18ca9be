/*
 * objmeta.c - rules shared by every kind: ObjectMeta validation, label and
 * quantity-map checks, and small jansson path helpers.
 */
#include "registry/registry.h"
#include "lib/wf_mem.h"
#include "lib/wf_quantity.h"
#include "lib/wf_validate.h"

#include <stdio.h>
#include <string.h>

#define WF_ANNOTATIONS_MAX (256 * 1024)

const char *wf_json_str(const json_t *obj, const char *key)
{
	json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
	return json_is_string(v) ? json_string_value(v) : NULL;
}

json_t *wf_json_path(const json_t *obj, const char *dotted)
{
	char part[256];
	const char *p = dotted;
	json_t *cur = (json_t *)obj;
	while (cur && *p) {
		const char *dot = strchr(p, '.');
		size_t n = dot ? (size_t)(dot - p) : strlen(p);
		if (n >= sizeof part || !json_is_object(cur))
			return NULL;
		memcpy(part, p, n);
		part[n] = '\0';
		cur = json_object_get(cur, part);
		p = dot ? dot + 1 : p + n;
	}
	return cur;
}

bool wf_json_same(const json_t *a, const json_t *b)
{
	return (!a && !b) || json_equal(a, b);
}

const char *wf_json_path_str(const json_t *obj, const char *dotted)
{
	json_t *v = wf_json_path(obj, dotted);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

json_t *wf_json_obj_ensure(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);
	if (!json_is_object(v)) {
		v = json_object();
		json_object_set_new(obj, key, v);
	}
	return v;
}

static const char *wf__name_check(wf_name_rule rule, const char *name)
{
	switch (rule) {
	case WF_NAME_LABEL:
		return wf_check_dns1123_label(name);
	case WF_NAME_DNS1035:
		return wf_check_dns1035_label(name);
	case WF_NAME_SUBDOMAIN:
	default:
		return wf_check_dns1123_subdomain(name);
	}
}

json_t *wf_validate_required_object(const json_t *obj, const char *key, const char *field,
				    wf_causes *c)
{
	json_t *v = json_object_get(obj, key);
	if (json_is_object(v))
		return v;
	if (v && !json_is_null(v))
		wf_causes_invalid(c, field, v, "must be an object");
	else
		wf_causes_required(c, field);
	return NULL;
}

void wf_validate_labels(const json_t *labels, const char *field, wf_causes *c)
{
	if (!labels || json_is_null(labels))
		return;
	if (!json_is_object(labels)) {
		wf_causes_invalid(c, field, labels, "must be a map of string keys to string values");
		return;
	}
	const char *key;
	json_t *val;
	json_object_foreach((json_t *)labels, key, val)
	{
		char f[512];
		snprintf(f, sizeof f, "%s", field);
		const char *msg = wf_check_qualified_name(key);
		if (msg) {
			wf_causes_invalid_str(c, f, key, msg);
		}
		if (!json_is_string(val)) {
			wf_causes_invalid(c, f, val, "label values must be strings");
			continue;
		}
		msg = wf_check_label_value(json_string_value(val));
		if (msg)
			wf_causes_invalid(c, f, val, msg);
	}
}

static void wf__validate_annotations(const json_t *ann, wf_causes *c)
{
	if (!ann || json_is_null(ann))
		return;
	if (!json_is_object(ann)) {
		wf_causes_invalid(c, "metadata.annotations", ann,
				  "must be a map of string keys to string values");
		return;
	}
	size_t total = 0;
	const char *key;
	json_t *val;
	json_object_foreach((json_t *)ann, key, val)
	{
		const char *msg = wf_check_qualified_name(key);
		if (msg) {
			wf_causes_invalid_str(c, "metadata.annotations", key, msg);
		}
		if (!json_is_string(val)) {
			wf_causes_invalid(c, "metadata.annotations", val,
					  "annotation values must be strings");
			continue;
		}
		total += strlen(key) + json_string_length(val);
	}
	if (total > WF_ANNOTATIONS_MAX)
		wf_causes_add(c, "FieldValueTooLong", "metadata.annotations",
			      "Too long: must have at most %d bytes", WF_ANNOTATIONS_MAX);
}

void wf_validate_object_meta(const wf_kind *k, const json_t *obj, wf_causes *c)
{
	json_t *md = json_object_get(obj, "metadata");
	if (!json_is_object(md)) {
		wf_causes_required(c, "metadata");
		return;
	}
	json_t *name = json_object_get(md, "name");
	if (!json_is_string(name) || !json_string_length(name)) {
		if (name && !json_is_string(name))
			wf_causes_invalid(c, "metadata.name", name, "must be a string");
		else
			wf_causes_add(c, "FieldValueRequired", "metadata.name",
				      "Required value: name or generateName is required");
	} else {
		const char *msg = wf__name_check(k->name_rule, json_string_value(name));
		if (msg)
			wf_causes_invalid(c, "metadata.name", name, msg);
	}
	json_t *ns = json_object_get(md, "namespace");
	if (k->namespaced) {
		if (!json_is_string(ns) || !json_string_length(ns))
			wf_causes_required(c, "metadata.namespace");
		else if (wf_check_dns1123_label(json_string_value(ns)))
			wf_causes_invalid(c, "metadata.namespace", ns,
					  wf_check_dns1123_label(json_string_value(ns)));
	} else if (ns && !json_is_null(ns) && !(json_is_string(ns) && !json_string_length(ns))) {
		wf_causes_add(c, "FieldValueForbidden", "metadata.namespace",
			      "Forbidden: not allowed on this type");
	}
	wf_validate_labels(json_object_get(md, "labels"), "metadata.labels", c);
	wf__validate_annotations(json_object_get(md, "annotations"), c);

	json_t *fin = json_object_get(md, "finalizers");
	if (fin && !json_is_null(fin)) {
		if (!json_is_array(fin)) {
			wf_causes_invalid(c, "metadata.finalizers", fin, "must be a list of strings");
		} else {
			size_t i;
			json_t *f;
			json_array_foreach(fin, i, f)
			{
				char field[64];
				snprintf(field, sizeof field, "metadata.finalizers[%zu]", i);
				if (!json_is_string(f) ||
				    wf_check_qualified_name(json_string_value(f)))
					wf_causes_invalid(c, field, f,
							  "must be a qualified name");
			}
		}
	}
	json_t *owners = json_object_get(md, "ownerReferences");
	if (owners && !json_is_null(owners)) {
		if (!json_is_array(owners)) {
			wf_causes_invalid(c, "metadata.ownerReferences", owners, "must be a list");
		} else {
			size_t i;
			json_t *o;
			json_array_foreach(owners, i, o)
			{
				char field[96];
				static const char *const req[] = {"apiVersion", "kind", "name", "uid"};
				for (size_t j = 0; j < 4; j++) {
					snprintf(field, sizeof field, "metadata.ownerReferences[%zu].%s",
						 i, req[j]);
					const char *v = wf_json_str(o, req[j]);
					if (!v || !v[0])
						wf_causes_required(c, field);
				}
			}
		}
	}
}

void wf_validate_quantity_map(const json_t *m, const char *field, wf_causes *c)
{
	if (!m || json_is_null(m))
		return;
	if (!json_is_object(m)) {
		wf_causes_invalid(c, field, m, "must be a map of resource names to quantities");
		return;
	}
	const char *key;
	json_t *val;
	json_object_foreach((json_t *)m, key, val)
	{
		char f[512];
		snprintf(f, sizeof f, "%s[%s]", field, key);
		const char *msg = wf_check_qualified_name(key);
		if (msg) {
			wf_causes_invalid_str(c, f, key, msg);
			continue;
		}
		int64_t milli = 0;
		int rc = -WF_EINVAL;
		if (json_is_string(val)) {
			rc = wf_quantity_parse(json_string_value(val), &milli, NULL);
		} else if (json_is_integer(val)) {
			milli = json_integer_value(val) * 1000;
			rc = 0;
		} else if (json_is_real(val)) {
			milli = (int64_t)(json_real_value(val) * 1000);
			rc = 0;
		}
		if (rc < 0) {
			wf_causes_invalid(c, f, val,
					  "quantities must match the regular expression "
					  "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'");
			continue;
		}
		if (milli < 0) {
			wf_causes_invalid(c, f, val, "must be greater than or equal to 0");
			continue;
		}
		/* Extended resources (anything with a domain other than
		 * kubernetes.io, e.g. nvidia.com/gpu) must be whole numbers. */
		if (strchr(key, '/') && !strstr(key, "kubernetes.io/") && milli % 1000 != 0)
			wf_causes_invalid(c, f, val, "must be an integer");
	}
}
