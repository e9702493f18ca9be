/*
 * registry.c - the table of served kinds, store keys, field selectors and
 * the validation-cause list.
 *
 * The table is static and read-only; kinds are found by linear search over a
 * few dozen entries, which is cheaper than hashing at this size.
 */
#include "registry/registry.h"
#include "registry/kinds.h"
#include "lib/wf_mem.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const wf_kind *const wf__kinds[] = {
	&wf_kind_namespace, &wf_kind_node,	   &wf_kind_pod,   &wf_kind_event,
	&wf_kind_configmap, &wf_kind_secret,	   &wf_kind_service, &wf_kind_serviceaccount,
	&wf_kind_lease,	    &wf_kind_job,	   &wf_kind_priorityclass, &wf_kind_podgroup,
	&wf_kind_volcano_podgroup, &wf_kind_pytorchjob,
};

size_t wf_registry_count(void)
{
	return sizeof wf__kinds / sizeof wf__kinds[0];
}

const wf_kind *wf_registry_at(size_t i)
{
	return i < wf_registry_count() ? wf__kinds[i] : NULL;
}

const wf_kind *wf_registry_find(const char *group, const char *version, const char *resource)
{
	for (size_t i = 0; i < wf_registry_count(); i++) {
		const wf_kind *k = wf__kinds[i];
		if (!strcmp(k->group, group) && !strcmp(k->version, version) &&
		    !strcmp(k->resource, resource))
			return k;
	}
	return NULL;
}

const wf_kind *wf_registry_find_kind(const char *group, const char *kind)
{
	for (size_t i = 0; i < wf_registry_count(); i++) {
		const wf_kind *k = wf__kinds[i];
		if (!strcmp(k->group, group) && !strcmp(k->kind, kind))
			return k;
	}
	return NULL;
}

const char *wf_kind_api_version(const wf_kind *k)
{
	if (!k->group[0])
		return k->version;
	/* The few group/version strings are interned here. */
	static const char *const known[][3] = {
		{"batch", "v1", "batch/v1"},
		{"coordination.k8s.io", "v1", "coordination.k8s.io/v1"},
		{"scheduling.k8s.io", "v1", "scheduling.k8s.io/v1"},
		{"scheduling.x-k8s.io", "v1alpha1", "scheduling.x-k8s.io/v1alpha1"},
		{"scheduling.volcano.sh", "v1beta1", "scheduling.volcano.sh/v1beta1"},
		{"kubeflow.org", "v1", "kubeflow.org/v1"},
	};
	for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
		if (!strcmp(known[i][0], k->group) && !strcmp(known[i][1], k->version))
			return known[i][2];
	return k->version;
}

void wf_kind_qualified_resource(const wf_kind *k, char *buf, size_t len)
{
	if (k->group[0])
		snprintf(buf, len, "%s.%s", k->resource, k->group);
	else
		snprintf(buf, len, "%s", k->resource);
}

/* "/registry/<resource>" for the core group, "/registry/<group>/<resource>"
 * otherwise, so that two groups' resources of one name (the two PodGroup
 * kinds) never share keys. */
static void wf__kind_root(const wf_kind *k, char *buf, size_t len)
{
	if (k->group[0])
		snprintf(buf, len, "/registry/%s/%s", k->group, k->resource);
	else
		snprintf(buf, len, "/registry/%s", k->resource);
}

char *wf_registry_prefix(const wf_kind *k, const char *ns)
{
	char root[256];
	wf__kind_root(k, root, sizeof root);
	if (k->namespaced && ns && ns[0])
		return wf_xasprintf("%s/%s/", root, ns);
	return wf_xasprintf("%s/", root);
}

char *wf_registry_key(const wf_kind *k, const char *ns, const char *name)
{
	char root[256];
	wf__kind_root(k, root, sizeof root);
	if (k->namespaced)
		return wf_xasprintf("%s/%s/%s", root, ns, name);
	return wf_xasprintf("%s/%s", root, name);
}

bool wf_kind_field_supported(const wf_kind *k, const char *field)
{
	if (!strcmp(field, "metadata.name"))
		return true;
	if (!strcmp(field, "metadata.namespace"))
		return k->namespaced;
	for (const char *const *f = k->fields; f && *f; f++)
		if (!strcmp(*f, field))
			return true;
	return false;
}

const char *wf_kind_field_value(const wf_kind *k, const json_t *obj, const char *field)
{
	(void)k;
	json_t *v = wf_json_path(obj, field);
	if (json_is_string(v))
		return json_string_value(v);
	if (json_is_true(v))
		return "true";
	if (json_is_false(v))
		return "false";
	if (json_is_integer(v)) {
		/* Integers are rare in field selectors (status.successful);
		 * keep a per-thread buffer so the result stays borrowed. */
		static _Thread_local char buf[32];
		snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(v));
		return buf;
	}
	return "";
}

/* ---- causes ------------------------------------------------------------ */

void wf_causes_add(wf_causes *c, const char *reason, const char *field, const char *fmt, ...)
{
	c->v = wf_xrealloc(c->v, (c->n + 1) * sizeof *c->v);
	wf_cause *x = &c->v[c->n++];
	x->reason = wf_xstrdup(reason);
	x->field = wf_xstrdup(field);
	va_list ap;
	va_start(ap, fmt);
	if (vasprintf(&x->message, fmt, ap) < 0)
		x->message = wf_xstrdup("invalid");
	va_end(ap);
}

void wf_causes_required(wf_causes *c, const char *field)
{
	wf_causes_add(c, "FieldValueRequired", field, "Required value");
}

static char *wf__render_value(const json_t *v)
{
	if (!v)
		return wf_xstrdup("null");
	char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
	if (!s)
		return wf_xstrdup("?");
	if (strlen(s) > 120) {
		s[117] = '.';
		s[118] = '.';
		s[119] = '.';
		s[120] = '\0';
	}
	return s;
}

void wf_causes_invalid(wf_causes *c, const char *field, const json_t *value, const char *detail)
{
	char *r = wf__render_value(value);
	wf_causes_add(c, "FieldValueInvalid", field, "Invalid value: %s: %s", r, detail);
	free(r);
}

void wf_causes_invalid_str(wf_causes *c, const char *field, const char *value, const char *detail)
{
	json_t *v = json_string(value);
	wf_causes_invalid(c, field, v, detail);
	json_decref(v);
}

void wf_causes_unsupported(wf_causes *c, const char *field, const json_t *value,
			   const char *const *supported)
{
	wf_buf b;
	wf_buf_init(&b);
	for (const char *const *s = supported; *s; s++)
		wf_buf_printf(&b, "%s\"%s\"", s == supported ? "" : ", ", *s);
	char *r = wf__render_value(value);
	wf_causes_add(c, "FieldValueNotSupported", field, "Unsupported value: %s: supported values: %s",
		      r, b.data ? b.data : "");
	free(r);
	wf_buf_free(&b);
}

void wf_causes_free(wf_causes *c)
{
	for (size_t i = 0; i < c->n; i++) {
		free(c->v[i].reason);
		free(c->v[i].field);
		free(c->v[i].message);
	}
	free(c->v);
	c->v = NULL;
	c->n = 0;
}
