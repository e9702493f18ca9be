/*
 * discovery.c - /version and legacy discovery (/api, /apis, /api/v1,
 * /apis/<group>[/<version>]), generated from the registry.
 *
 * Aggregated discovery is deliberately not served: every kubectl from 1.27
 * on falls back to these documents, while a wrongly negotiated aggregated
 * answer silently hides every resource.
 */
#include "api/api_internal.h"

#include <stdio.h>
#include <string.h>

/*
 * The minor version reported decides which kubectl /usr/bin/kubectl (Google's
 * dispatcher) runs. 1.31 sends JSON for every request; 1.32 and later send
 * protobuf bodies from `kubectl create <kind>` subcommands, which
 * src/api/protobuf.c decodes for the kinds those subcommands build.
 */
#define WF_K8S_MINOR "31"

void wf_handle_version(wf_req *r)
{
	json_t *v = json_object();
	json_object_set_new(v, "major", json_string("1"));
	json_object_set_new(v, "minor", json_string(WF_K8S_MINOR));
	json_object_set_new(v, "gitVersion", json_string("v1." WF_K8S_MINOR ".0-wharf"));
	json_object_set_new(v, "gitCommit", json_string("wharf"));
	json_object_set_new(v, "gitTreeState", json_string("clean"));
	json_object_set_new(v, "buildDate", json_string(__DATE__ " " __TIME__));
	json_object_set_new(v, "goVersion", json_string("none (C11)"));
	json_object_set_new(v, "compiler", json_string("gcc"));
	json_object_set_new(v, "platform", json_string("linux/amd64"));
	wf_reply_json(r, 200, v);
}

static json_t *wf__server_addresses(wf_req *r)
{
	json_t *arr = json_array();
	json_t *a = json_object();
	char addr[96];
	snprintf(addr, sizeof addr, "%s:%d", r->api->host, r->api->port);
	json_object_set_new(a, "clientCIDR", json_string("0.0.0.0/0"));
	json_object_set_new(a, "serverAddress", json_string(addr));
	json_array_append_new(arr, a);
	return arr;
}

void wf_handle_api_root(wf_req *r)
{
	json_t *v = json_object();
	json_object_set_new(v, "kind", json_string("APIVersions"));
	json_t *vs = json_array();
	json_array_append_new(vs, json_string("v1"));
	json_object_set_new(v, "versions", vs);
	json_object_set_new(v, "serverAddressByClientCIDRs", wf__server_addresses(r));
	wf_reply_json(r, 200, v);
}

static json_t *wf__group(const char *group, const char *version)
{
	json_t *g = json_object();
	char gv[160];
	snprintf(gv, sizeof gv, "%s/%s", group, version);
	json_object_set_new(g, "name", json_string(group));
	json_t *vs = json_array();
	json_t *v = json_object();
	json_object_set_new(v, "groupVersion", json_string(gv));
	json_object_set_new(v, "version", json_string(version));
	json_array_append(vs, v);
	json_object_set_new(g, "versions", vs);
	json_object_set_new(g, "preferredVersion", v);
	return g;
}

void wf_handle_apis_root(wf_req *r)
{
	json_t *list = json_object();
	json_object_set_new(list, "kind", json_string("APIGroupList"));
	json_object_set_new(list, "apiVersion", json_string("v1"));
	json_t *groups = json_array();
	for (size_t i = 0; i < wf_registry_count(); i++) {
		const wf_kind *k = wf_registry_at(i);
		if (!k->group[0])
			continue;
		bool seen = false;
		for (size_t j = 0; j < i; j++)
			seen = seen || !strcmp(wf_registry_at(j)->group, k->group);
		if (!seen)
			json_array_append_new(groups, wf__group(k->group, k->version));
	}
	json_object_set_new(list, "groups", groups);
	wf_reply_json(r, 200, list);
}

static json_t *wf__verbs(const char *const *v)
{
	json_t *a = json_array();
	for (; *v; v++)
		json_array_append_new(a, json_string(*v));
	return a;
}

static json_t *wf__resource(const wf_kind *k, const char *sub)
{
	static const char *const all[] = {"create", "delete", "deletecollection", "get", "list",
					  "patch",  "update", "watch",		  NULL};
	static const char *const status[] = {"get", "patch", "update", NULL};
	static const char *const create[] = {"create", NULL};
	static const char *const get[] = {"get", NULL};
	static const char *const update[] = {"update", NULL};
	json_t *res = json_object();
	char name[128];
	if (sub)
		snprintf(name, sizeof name, "%s/%s", k->resource, sub);
	else
		snprintf(name, sizeof name, "%s", k->resource);
	json_object_set_new(res, "name", json_string(name));
	json_object_set_new(res, "singularName", json_string(sub ? "" : k->singular));
	json_object_set_new(res, "namespaced", json_boolean(k->namespaced));
	json_object_set_new(res, "kind", json_string(!sub || !strcmp(sub, "status") ? k->kind
						      : !strcmp(sub, "binding")	      ? "Binding"
										      : k->kind));
	const char *const *verbs = all;
	if (sub && !strcmp(sub, "status"))
		verbs = status;
	else if (sub && !strcmp(sub, "binding"))
		verbs = create;
	else if (sub && !strcmp(sub, "log"))
		verbs = get;
	else if (sub)
		verbs = update;
	json_object_set_new(res, "verbs", wf__verbs(verbs));
	if (!sub) {
		if (k->short_names[0]) {
			json_t *sn = json_array();
			for (size_t i = 0; i < 4 && k->short_names[i]; i++)
				json_array_append_new(sn, json_string(k->short_names[i]));
			json_object_set_new(res, "shortNames", sn);
		}
		if (k->in_all_category) {
			json_t *cat = json_array();
			json_array_append_new(cat, json_string("all"));
			json_object_set_new(res, "categories", cat);
		}
	}
	return res;
}

void wf_handle_discovery(wf_req *r, const char *group, const char *version)
{
	bool any = false;
	for (size_t i = 0; i < wf_registry_count(); i++)
		any = any || !strcmp(wf_registry_at(i)->group, group);
	if (!any) {
		wf_reply_status(r, 404, "NotFound", "the server could not find the requested resource",
				NULL);
		return;
	}
	if (!version) {
		/* /apis/<group>: the APIGroup document */
		const char *v = NULL;
		for (size_t i = 0; i < wf_registry_count() && !v; i++)
			if (!strcmp(wf_registry_at(i)->group, group))
				v = wf_registry_at(i)->version;
		json_t *g = wf__group(group, v);
		json_object_set_new(g, "kind", json_string("APIGroup"));
		json_object_set_new(g, "apiVersion", json_string("v1"));
		wf_reply_json(r, 200, g);
		return;
	}
	json_t *list = json_object();
	json_object_set_new(list, "kind", json_string("APIResourceList"));
	json_object_set_new(list, "apiVersion", json_string("v1"));
	char gv[160];
	if (group[0])
		snprintf(gv, sizeof gv, "%s/%s", group, version);
	else
		snprintf(gv, sizeof gv, "%s", version);
	json_object_set_new(list, "groupVersion", json_string(gv));
	json_t *resources = json_array();
	bool found = false;
	for (size_t i = 0; i < wf_registry_count(); i++) {
		const wf_kind *k = wf_registry_at(i);
		if (strcmp(k->group, group) || strcmp(k->version, version))
			continue;
		found = true;
		json_array_append_new(resources, wf__resource(k, NULL));
		if (k->has_status)
			json_array_append_new(resources, wf__resource(k, "status"));
		for (size_t s = 0; s < 4 && k->extra_subresources[s]; s++)
			json_array_append_new(resources, wf__resource(k, k->extra_subresources[s]));
	}
	json_object_set_new(list, "resources", resources);
	if (!found) {
		json_decref(list);
		wf_reply_status(r, 404, "NotFound", "the server could not find the requested resource",
				NULL);
		return;
	}
	wf_reply_json(r, 200, list);
}
