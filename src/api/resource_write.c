/*
 * resource_write.c - create, update (PUT), patch (merge, strategic merge,
 * JSON patch, server-side apply), pods/binding, delete and deletecollection.
 *
 * Every write goes through the same steps: decode, check identity (kind,
 * apiVersion, name, namespace against the URL), merge with what is stored
 * (update rules per kind and per subresource), default, validate (nothing is
 * stored when any field is bad), then a compare-and-swap write on the
 * revision that was read. Patches retry on a lost race; a PUT with a stale
 * resourceVersion gets 409 Conflict.
 */
#include "api/admission.h"
#include "api/api_internal.h"
#include "api/apply.h"
#include "api/field_validation.h"
#include "api/patch.h"
#include "lib/wf_time.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#define WF_PATCH_RETRIES 8
#define WF_MAX_DEPTH 1000 /* objects stored; the JSON parser stops at 2048 */

static void wf__reply_object(wf_req *r, int code, const wf_kind *k, json_t *obj)
{
	if (wf_req_wants_table(r)) {
		json_t *table = wf_table_new(k, true);
		wf_table_add_row(table, k, obj, false, time(NULL));
		json_decref(obj);
		wf_reply_json(r, code, table);
		return;
	}
	wf_reply_json(r, code, obj);
}

static void wf__reply_conflict(wf_req *r, const wf_kind *k, const char *name)
{
	char qr[128], msg[512];
	wf_kind_qualified_resource(k, qr, sizeof qr);
	snprintf(msg, sizeof msg,
		 "Operation cannot be fulfilled on %s \"%s\": the object has been modified; "
		 "please apply your changes to the latest version and try again",
		 qr, name);
	json_t *d = json_object();
	json_object_set_new(d, "name", json_string(name));
	json_object_set_new(d, "group", json_string(k->group));
	json_object_set_new(d, "kind", json_string(k->resource));
	wf_reply_status(r, 409, "Conflict", msg, d);
}

/* Check apiVersion and kind of a decoded body against the endpoint; fill
 * them in when absent. Returns false after replying 400. */
static bool wf__check_type(wf_req *r, const wf_kind *k, json_t *obj)
{
	if (!json_is_object(obj)) {
		wf_reply_status(r, 400, "BadRequest",
				"the request body must be a JSON or YAML object", NULL);
		return false;
	}
	const char *want_av = wf_kind_api_version(k);
	json_t *av = json_object_get(obj, "apiVersion");
	json_t *kind = json_object_get(obj, "kind");
	if ((av && !json_is_string(av)) || (kind && !json_is_string(kind))) {
		wf_reply_status(r, 400, "BadRequest",
				"apiVersion and kind must be strings", NULL);
		return false;
	}
	if (av && strcmp(json_string_value(av), want_av)) {
		char msg[512];
		snprintf(msg, sizeof msg,
			 "the API version in the data (%.100s) does not match the expected API "
			 "version (%s)",
			 json_string_value(av), want_av);
		wf_reply_status(r, 400, "BadRequest", msg, NULL);
		return false;
	}
	if (kind && strcmp(json_string_value(kind), k->kind)) {
		char msg[512];
		snprintf(msg, sizeof msg,
			 "the kind in the data (%.100s) does not match the expected kind (%s)",
			 json_string_value(kind), k->kind);
		wf_reply_status(r, 400, "BadRequest", msg, NULL);
		return false;
	}
	json_object_set_new(obj, "apiVersion", json_string(want_av));
	json_object_set_new(obj, "kind", json_string(k->kind));
	json_t *md = json_object_get(obj, "metadata");
	if (md && !json_is_object(md)) {
		wf_reply_status(r, 400, "BadRequest", "metadata must be an object", NULL);
		return false;
	}
	md = wf_json_obj_ensure(obj, "metadata");
	static const char *const strs[] = {"name",	       "namespace", "generateName",
					   "resourceVersion", "uid"};
	for (size_t i = 0; i < 5; i++) {
		json_t *v = json_object_get(md, strs[i]);
		if (v && !json_is_string(v) && !json_is_null(v)) {
			char msg[128];
			snprintf(msg, sizeof msg, "metadata.%s must be a string", strs[i]);
			wf_reply_status(r, 400, "BadRequest", msg, NULL);
			return false;
		}
	}
	return true;
}

/* Namespace of the body vs the URL. Returns false after replying. */
static bool wf__check_namespace(wf_req *r, const wf_kind *k, const char *url_ns, json_t *obj)
{
	json_t *md = json_object_get(obj, "metadata");
	const char *ns = wf_json_str(md, "namespace");
	if (!k->namespaced) {
		json_object_del(md, "namespace");
		return true;
	}
	if (ns && ns[0] && url_ns && strcmp(ns, url_ns)) {
		wf_reply_status(r, 400, "BadRequest",
				"the namespace of the provided object does not match the "
				"namespace sent on the request",
				NULL);
		return false;
	}
	json_object_set_new(md, "namespace", json_string(url_ns));
	return true;
}

/* Does namespace ns exist and accept new objects? Replies when not. */
static bool wf__namespace_open(wf_req *r, const char *ns)
{
	const wf_kind *nsk = wf_registry_find("", "v1", "namespaces");
	char *key = wf_registry_key(nsk, NULL, ns);
	json_t *obj = NULL;
	int rc = wf_object_get(r->api, key, &obj, NULL, NULL);
	free(key);
	if (rc < 0) {
		wf_reply_not_found(r, nsk, ns);
		return false;
	}
	bool terminating = wf_json_path_str(obj, "metadata.deletionTimestamp") != NULL;
	json_decref(obj);
	if (terminating) {
		char msg[256];
		snprintf(msg, sizeof msg,
			 "unable to create new content in namespace %s because it is being "
			 "terminated",
			 ns);
		wf_reply_status(r, 403, "Forbidden", msg, NULL);
		return false;
	}
	return true;
}

static void wf__generate_name(json_t *md)
{
	static const char alphabet[] = "bcdfghjklmnpqrstvwxz2456789";
	char uid[37];
	wf_uid_new(uid);
	char suffix[6];
	for (int i = 0; i < 5; i++)
		suffix[i] = alphabet[(unsigned char)uid[i * 4 + 1] % (sizeof alphabet - 1)];
	suffix[5] = '\0';
	const char *gen = wf_json_str(md, "generateName");
	char *name = wf_xasprintf("%.*s%s", 58, gen, suffix);
	json_object_set_new(md, "name", json_string(name));
	free(name);
}

/* Allocate a ClusterIP for a Service that asks for none (10.96.0.0/16). */
typedef struct wf__ips {
	unsigned char used[65536 / 8];
} wf__ips;

static int wf__mark_ip(void *ctx, const wf_kv *kv)
{
	wf__ips *ips = ctx;
	const char *p = strstr(kv->value, "\"clusterIP\":\"10.96.");
	unsigned a, b;
	if (p && sscanf(p + strlen("\"clusterIP\":\"10.96."), "%u.%u", &a, &b) == 2 && a < 256 &&
	    b < 256)
		ips->used[(a * 256 + b) / 8] |= (unsigned char)(1u << ((a * 256 + b) % 8));
	return 0;
}

static void wf__alloc_cluster_ip(wf_api *api, const wf_kind *k, json_t *obj)
{
	json_t *spec = json_object_get(obj, "spec");
	const char *type = wf_json_str(spec, "type");
	const char *ip = wf_json_str(spec, "clusterIP");
	if (!json_is_object(spec) || (type && !strcmp(type, "ExternalName")) || (ip && ip[0]))
		return;
	wf__ips *ips = wf_xcalloc(1, sizeof *ips);
	char *prefix = wf_registry_prefix(k, NULL);
	int64_t rev;
	wf_store_range(api->store, prefix, NULL, 0, wf__mark_ip, ips, &rev, NULL, NULL);
	free(prefix);
	for (unsigned n = 10; n < 65535; n++) {
		if (!(ips->used[n / 8] & (1u << (n % 8)))) {
			char buf[32];
			snprintf(buf, sizeof buf, "10.96.%u.%u", n / 256, n % 256);
			json_object_set_new(spec, "clusterIP", json_string(buf));
			json_t *ips_arr = json_array();
			json_array_append_new(ips_arr, json_string(buf));
			json_object_set_new(spec, "clusterIPs", ips_arr);
			break;
		}
	}
	free(ips);
}

/* Nesting depth of v (a scalar is 0), counted no further than limit + 1. */
static int wf__depth(const json_t *v, int limit)
{
	if (!json_is_object(v) && !json_is_array(v))
		return 0;
	if (limit <= 0)
		return 1;
	int max = 0;
	size_t i;
	const char *key;
	json_t *child;
	if (json_is_array(v)) {
		json_array_foreach(v, i, child)
		{
			int d = wf__depth(child, limit - 1);
			max = d > max ? d : max;
		}
	} else {
		json_object_foreach((json_t *)v, key, child)
		{
			int d = wf__depth(child, limit - 1);
			max = d > max ? d : max;
		}
	}
	return max + 1;
}

static void wf__validate_all(const wf_kind *k, const json_t *obj, const json_t *old,
			     wf_causes *c)
{
	/* A patch can nest deeper than a request body may: such an object
	 * would be stored but could never be parsed back (read, updated or
	 * deleted), so it is refused here. */
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)obj, key, v)
	{
		if (wf__depth(v, WF_MAX_DEPTH) > WF_MAX_DEPTH)
			wf_causes_add(c, "FieldValueInvalid", key,
				      "Invalid value: nested deeper than %d levels", WF_MAX_DEPTH);
	}
	json_t *st = json_object_get(obj, "status");
	if (k->has_status && st && !json_is_null(st) && !json_is_object(st))
		wf_causes_invalid(c, "status", st, "must be an object");
	wf_validate_object_meta(k, obj, c);
	if (k->validate)
		k->validate(obj, old, c);
	if (old && k->validate_update)
		k->validate_update(obj, old, c);
}

/* Create obj (already type-checked) in namespace ns; replies. */
static void wf__create(wf_req *r, const wf_kind *k, const char *ns, json_t *obj)
{
	if (!wf__check_namespace(r, k, ns, obj))
		return;
	json_t *md = json_object_get(obj, "metadata");
	const char *name = wf_json_str(md, "name");
	if ((!name || !name[0]) && wf_json_str(md, "generateName") &&
	    wf_json_str(md, "generateName")[0])
		wf__generate_name(md);
	name = wf_json_str(md, "name");
	const char *rv = wf_json_str(md, "resourceVersion");
	if (rv && rv[0]) {
		wf_reply_status(r, 400, "BadRequest",
				"resourceVersion should not be set on objects to be created", NULL);
		return;
	}
	char uid[37], ts[32];
	wf_uid_new(uid);
	wf_time_rfc3339(time(NULL), ts);
	json_object_set_new(md, "uid", json_string(uid));
	json_object_set_new(md, "creationTimestamp", json_string(ts));
	json_object_set_new(md, "generation", json_integer(1));
	json_object_del(md, "resourceVersion");
	json_object_del(md, "deletionTimestamp");
	json_object_del(md, "deletionGracePeriodSeconds");
	json_object_del(md, "selfLink");
	if (k->prepare_create)
		k->prepare_create(obj);
	if (k->defaults)
		k->defaults(obj);
	if (!wf_admit_create(r, k, obj))
		return;
	wf_causes c = {0};
	wf__validate_all(k, obj, NULL, &c);
	if (c.n) {
		wf_reply_invalid(r, k, name, &c);
		wf_causes_free(&c);
		return;
	}
	if (k->namespaced && !wf__namespace_open(r, ns))
		return;
	if (!strcmp(k->resource, "services") && !k->group[0])
		wf__alloc_cluster_ip(r->api, k, obj);
	const char *dry = wf_req_query(r, "dryRun");
	if (dry && !strcmp(dry, "All")) {
		wf__reply_object(r, 201, k, json_incref(obj));
		return;
	}
	size_t len;
	char *text = wf_obj_encode(obj, &len);
	char *key = wf_registry_key(k, ns, name);
	int64_t rev;
	wf_err err = {0};
	int rc = wf_store_create(r->api->store, key, text, len, &rev, &err);
	free(key);
	free(text);
	if (rc == -WF_EEXIST) {
		char qr[128], msg[512];
		wf_kind_qualified_resource(k, qr, sizeof qr);
		snprintf(msg, sizeof msg, "%s \"%s\" already exists", qr, name);
		err.code = WF_EEXIST;
		snprintf(err.msg, sizeof err.msg, "%s", msg);
	}
	if (rc < 0) {
		wf_reply_err(r, &err, k, name);
		return;
	}
	char rvs[32];
	snprintf(rvs, sizeof rvs, "%lld", (long long)rev);
	json_object_set_new(md, "resourceVersion", json_string(rvs));
	wf__reply_object(r, 201, k, json_incref(obj));
}

void wf_handle_create(wf_req *r, const wf_target *t)
{
	json_t *obj = NULL;
	wf_err err = {0};
	wf_fv fv WF_FV_AUTO;
	if (!wf_fv_begin(r, "CreateOptions", &fv))
		return;
	if (wf_fv_decode_body(r, t->kind, &fv, &obj, &err) < 0) {
		wf_reply_err(r, &err, NULL, NULL);
		return;
	}
	if (wf__check_type(r, t->kind, obj) && wf_fv_admit(r, &fv, t->kind, obj, NULL, false))
		wf__create(r, t->kind, t->ns, obj);
	json_decref(obj);
}

/* Everything except metadata and status: the part whose change bumps
 * metadata.generation. */
static bool wf__spec_changed(const json_t *a, const json_t *b)
{
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)a, key, v)
	{
		if (!strcmp(key, "metadata") || !strcmp(key, "status"))
			continue;
		if (!json_equal(v, json_object_get(b, key)))
			return true;
	}
	json_object_foreach((json_t *)b, key, v)
	{
		if (strcmp(key, "metadata") && strcmp(key, "status") && !json_object_get(a, key))
			return true;
	}
	return false;
}

typedef enum { WF_UPD_OK, WF_UPD_REPLIED, WF_UPD_CONFLICT } wf__upd_result;

/*
 * Apply an update of `old` (stored at `rev`) to `neu`, for the main resource
 * or the status subresource. Replies on success and on every error except a
 * lost CAS race, which returns WF_UPD_CONFLICT without replying so that
 * patches can retry. Takes a reference to neither.
 */
static wf__upd_result wf__update(wf_req *r, const wf_kind *k, const char *key, json_t *old,
				 int64_t rev, json_t *neu, bool status)
{
	const char *name = wf_json_path_str(old, "metadata.name");
	json_t *omd = json_object_get(old, "metadata");
	json_t *next;
	if (status) {
		/* Only status changes through /status. */
		next = json_deep_copy(old);
		json_t *st = json_object_get(neu, "status");
		if (st)
			json_object_set(next, "status", st);
		else
			json_object_del(next, "status");
		if (k->status_sets_labels) {
			json_t *nmd = json_object_get(neu, "metadata");
			json_t *md = wf_json_obj_ensure(next, "metadata");
			static const char *const taken[] = {"labels", "annotations"};
			for (size_t i = 0; i < 2; i++) {
				json_t *v = json_object_get(nmd, taken[i]);
				if (v)
					json_object_set(md, taken[i], v);
				else
					json_object_del(md, taken[i]);
			}
		}
	} else {
		next = json_deep_copy(neu);
		if (k->has_status) {
			json_t *st = json_object_get(old, "status");
			if (st)
				json_object_set(next, "status", st);
			else
				json_object_del(next, "status");
		}
	}
	json_t *md = wf_json_obj_ensure(next, "metadata");
	/* System-owned metadata keeps its stored value. */
	static const char *const keep[] = {"uid",
					   "creationTimestamp",
					   "deletionTimestamp",
					   "deletionGracePeriodSeconds",
					   "generation",
					   "namespace",
					   "name"};
	for (size_t i = 0; i < sizeof keep / sizeof keep[0]; i++) {
		json_t *v = json_object_get(omd, keep[i]);
		if (v)
			json_object_set(md, keep[i], v);
		else
			json_object_del(md, keep[i]);
	}
	/* managedFields stay when the client sends none (or a malformed list),
	 * as in Kubernetes; an explicit empty list clears them. */
	json_t *nmf = json_object_get(json_object_get(neu, "metadata"), "managedFields");
	json_t *omf = json_object_get(omd, "managedFields");
	if (json_is_array(nmf) && !json_array_size(nmf))
		json_object_del(md, "managedFields");
	else if (json_is_array(nmf) && (json_equal(nmf, omf) || wf_managed_fields_valid(nmf)))
		json_object_set(md, "managedFields", nmf);
	else if (omf)
		json_object_set(md, "managedFields", omf);
	else
		json_object_del(md, "managedFields");
	json_object_del(md, "resourceVersion");
	json_object_del(md, "selfLink");
	if (k->defaults)
		k->defaults(next);
	wf_causes c = {0};
	wf__validate_all(k, next, old, &c);
	if (c.n) {
		wf_reply_invalid(r, k, name, &c);
		wf_causes_free(&c);
		json_decref(next);
		return WF_UPD_REPLIED;
	}
	json_t *old_norv = json_deep_copy(old);
	json_object_del(json_object_get(old_norv, "metadata"), "resourceVersion");
	bool same = json_equal(old_norv, next);
	if (!same && wf__spec_changed(next, old_norv)) {
		json_t *g = json_object_get(omd, "generation");
		json_object_set_new(md, "generation",
				    json_integer(json_is_integer(g) ? json_integer_value(g) + 1 : 1));
	}
	json_decref(old_norv);
	if (same) {
		/* No change: no write, no new revision. */
		json_decref(next);
		wf__reply_object(r, 200, k, json_incref(old));
		return WF_UPD_REPLIED;
	}
	const char *dry = wf_req_query(r, "dryRun");
	if (dry && !strcmp(dry, "All")) {
		wf__reply_object(r, 200, k, next);
		return WF_UPD_REPLIED;
	}
	json_t *out = NULL;
	wf_err err = {0};
	int rc = wf_object_store_update(r->api, k, key, next, rev, &out, &err);
	json_decref(next);
	if (rc == -WF_ECONFLICT || rc == -WF_ENOENT)
		return WF_UPD_CONFLICT;
	if (rc < 0) {
		wf_reply_err(r, &err, k, name);
		return WF_UPD_REPLIED;
	}
	wf__reply_object(r, 200, k, out);
	return WF_UPD_REPLIED;
}

void wf_handle_update(wf_req *r, const wf_target *t)
{
	const wf_kind *k = t->kind;
	json_t *obj = NULL;
	wf_err err = {0};
	wf_fv fv WF_FV_AUTO;
	if (!wf_fv_begin(r, "UpdateOptions", &fv))
		return;
	if (wf_fv_decode_body(r, k, &fv, &obj, &err) < 0) {
		wf_reply_err(r, &err, NULL, NULL);
		return;
	}
	if (!wf__check_type(r, k, obj) || !wf_fv_admit(r, &fv, k, obj, NULL, false))
		goto out;
	const char *name = wf_json_path_str(obj, "metadata.name");
	if (name && strcmp(name, t->name)) {
		char msg[512];
		snprintf(msg, sizeof msg,
			 "the name of the object (%.200s) does not match the name on the URL (%.200s)",
			 name, t->name);
		wf_reply_status(r, 400, "BadRequest", msg, NULL);
		goto out;
	}
	json_object_set_new(json_object_get(obj, "metadata"), "name", json_string(t->name));
	if (!wf__check_namespace(r, k, t->ns, obj))
		goto out;
	char *key = wf_registry_key(k, t->ns, t->name);
	json_t *old = NULL;
	int64_t rev;
	int rc = wf_object_get(r->api, key, &old, &rev, &err);
	if (rc == -WF_ENOENT) {
		if (k->create_on_update && !t->subresource) {
			json_object_del(json_object_get(obj, "metadata"), "resourceVersion");
			wf__create(r, k, t->ns, obj);
		} else {
			wf_reply_not_found(r, k, t->name);
		}
		free(key);
		goto out;
	}
	if (rc < 0) {
		wf_reply_err(r, &err, k, t->name);
		free(key);
		goto out;
	}
	const char *rvs = wf_json_path_str(obj, "metadata.resourceVersion");
	int64_t expect = rev;
	if (rvs && rvs[0]) {
		char *end;
		long long want = strtoll(rvs, &end, 10);
		if (*end || want <= 0) {
			wf_reply_status(r, 400, "BadRequest", "invalid resourceVersion", NULL);
			json_decref(old);
			free(key);
			goto out;
		}
		expect = want;
	}
	wf__upd_result res = WF_UPD_CONFLICT;
	if (expect == rev)
		res = wf__update(r, k, key, old, rev, obj, t->subresource != NULL);
	if (res == WF_UPD_CONFLICT)
		wf__reply_conflict(r, k, t->name);
	json_decref(old);
	free(key);
out:
	json_decref(obj);
}

/* ---- patch ------------------------------------------------------------------ */

typedef enum { WF_PATCH_JSON, WF_PATCH_MERGE, WF_PATCH_STRATEGIC, WF_PATCH_APPLY } wf__ptype;

static int wf__patch_type(const char *ct, wf__ptype *out)
{
	if (!ct)
		return -1;
	size_t n = strcspn(ct, ";");
	static const struct {
		const char *mt;
		wf__ptype t;
	} types[] = {{"application/json-patch+json", WF_PATCH_JSON},
		     {"application/merge-patch+json", WF_PATCH_MERGE},
		     {"application/strategic-merge-patch+json", WF_PATCH_STRATEGIC},
		     {"application/apply-patch+yaml", WF_PATCH_APPLY}};
	for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
		if (strlen(types[i].mt) == n && !strncasecmp(ct, types[i].mt, n)) {
			*out = types[i].t;
			return 0;
		}
	}
	return -1;
}

/* Server-side apply of patch onto old (NULL when the apply creates). A
 * conflict is answered here (409 with the causes, -WF_ECONFLICT); other
 * errors are left in err for the caller to answer. */
static int wf__apply(wf_req *r, const wf_target *t, const json_t *old, const json_t *patch,
		     json_t **out, wf_err *err)
{
	const wf_kind *k = t->kind;
	char now[32];
	wf_time_rfc3339(time(NULL), now);
	wf_apply_opts o = {.manager = wf_req_query(r, "fieldManager"),
			   .group = k->group,
			   .kind = k->kind,
			   .api_version = wf_kind_api_version(k),
			   .subresource = t->subresource,
			   .has_status = k->has_status,
			   .force = wf_req_query_bool(r, "force"),
			   .now = now};
	wf_apply_conflicts c = {0};
	int rc = wf_apply(old, patch, &o, out, &c, err);
	if (rc == -WF_ECONFLICT) {
		json_t *d = json_object();
		json_object_set_new(d, "causes", c.causes);
		c.causes = NULL;
		wf_reply_status(r, 409, "Conflict", c.message, d);
		wf_apply_conflicts_free(&c);
	}
	return rc;
}

void wf_handle_patch(wf_req *r, const wf_target *t)
{
	const wf_kind *k = t->kind;
	wf__ptype type;
	if (wf__patch_type(r->content_type, &type) < 0) {
		char msg[256];
		snprintf(msg, sizeof msg,
			 "the body of the request was in an unknown format - accepted media types "
			 "include: application/json-patch+json, application/merge-patch+json, "
			 "application/apply-patch+yaml, application/strategic-merge-patch+json");
		wf_reply_status(r, 415, "UnsupportedMediaType", msg, NULL);
		return;
	}
	json_t *patch = NULL;
	wf_err err = {0};
	wf_fv fv WF_FV_AUTO;
	if (!wf_fv_begin(r, "PatchOptions", &fv))
		return;
	if (wf_fv_decode_body(r, NULL, &fv, &patch, &err) < 0) {
		wf_reply_err(r, &err, NULL, NULL);
		return;
	}
	if ((type == WF_PATCH_JSON && !json_is_array(patch)) ||
	    (type != WF_PATCH_JSON && !json_is_object(patch))) {
		wf_reply_status(r, 400, "BadRequest",
				type == WF_PATCH_JSON ? "a JSON patch must be a list of operations"
						      : "the patch must be a JSON object",
				NULL);
		json_decref(patch);
		return;
	}
	if (type == WF_PATCH_APPLY) {
		const char *fm = wf_req_query(r, "fieldManager");
		if (!fm || !fm[0]) {
			wf_reply_status(r, 400, "BadRequest",
					"PATCH requests of type application/apply-patch+yaml must "
					"specify a fieldManager",
					NULL);
			json_decref(patch);
			return;
		}
		if (!wf__check_type(r, k, patch)) {
			json_decref(patch);
			return;
		}
		const char *pname = wf_json_path_str(patch, "metadata.name");
		if (pname && strcmp(pname, t->name)) {
			wf_reply_status(r, 400, "BadRequest",
					"the name of the object does not match the name on the URL",
					NULL);
			json_decref(patch);
			return;
		}
		json_object_set_new(json_object_get(patch, "metadata"), "name",
				    json_string(t->name));
		if (!wf_fv_admit(r, &fv, k, patch, NULL, false)) {
			json_decref(patch);
			return;
		}
	}
	char *key = wf_registry_key(k, t->ns, t->name);
	for (int attempt = 0;; attempt++) {
		json_t *old = NULL;
		int64_t rev;
		int rc = wf_object_get(r->api, key, &old, &rev, &err);
		if (rc == -WF_ENOENT && type == WF_PATCH_APPLY && !t->subresource) {
			/* Server-side apply creates what does not exist. */
			json_t *obj = NULL;
			if (wf__apply(r, t, NULL, patch, &obj, &err) == 0)
				wf__create(r, k, t->ns, obj);
			else if (!r->replied)
				wf_reply_status(r, 400, "BadRequest", err.msg, NULL);
			json_decref(obj);
			break;
		}
		if (rc == -WF_ENOENT) {
			wf_reply_not_found(r, k, t->name);
			break;
		}
		if (rc < 0) {
			wf_reply_err(r, &err, k, t->name);
			break;
		}
		json_t *neu = NULL;
		switch (type) {
		case WF_PATCH_JSON:
			rc = wf_json_patch(old, patch, &neu, &err);
			break;
		case WF_PATCH_MERGE:
			neu = wf_merge_patch(old, patch);
			break;
		case WF_PATCH_STRATEGIC:
			rc = wf_strategic_merge_patch(old, patch, k->group, k->kind, &neu, &err);
			break;
		case WF_PATCH_APPLY:
			rc = wf__apply(r, t, old, patch, &neu, &err);
			break;
		}
		if (rc < 0) {
			json_decref(old);
			if (!r->replied)
				wf_reply_status(r, type == WF_PATCH_JSON ? 422 : 400,
						type == WF_PATCH_JSON ? "Invalid" : "BadRequest",
						err.msg, NULL);
			break;
		}
		if (!wf__check_type(r, k, neu)) {
			json_decref(old);
			json_decref(neu);
			break;
		}
		const char *nname = wf_json_path_str(neu, "metadata.name");
		if (!nname || strcmp(nname, t->name)) {
			wf_reply_status(r, 400, "BadRequest",
					"the name of the object cannot be changed by a patch", NULL);
			json_decref(old);
			json_decref(neu);
			break;
		}
		if (type != WF_PATCH_APPLY && !wf_fv_admit(r, &fv, k, neu, old, true)) {
			json_decref(old);
			json_decref(neu);
			break;
		}
		/* A resourceVersion in the patch is a precondition. */
		const char *want = wf_json_path_str(neu, "metadata.resourceVersion");
		char revs[32];
		snprintf(revs, sizeof revs, "%lld", (long long)rev);
		wf__upd_result res = WF_UPD_CONFLICT;
		bool precondition = want && strcmp(want, revs);
		if (!precondition && wf__check_namespace(r, k, t->ns, neu))
			res = wf__update(r, k, key, old, rev, neu, t->subresource != NULL);
		else if (!precondition)
			res = WF_UPD_REPLIED;
		json_decref(old);
		json_decref(neu);
		if (res == WF_UPD_REPLIED)
			break;
		if (precondition || attempt == WF_PATCH_RETRIES) {
			wf__reply_conflict(r, k, t->name);
			break;
		}
	}
	free(key);
	json_decref(patch);
}

/* ---- pods/binding ------------------------------------------------------------- */

void wf_handle_binding(wf_req *r, const wf_target *t)
{
	json_t *b = NULL;
	wf_err err = {0};
	if (wf_body_decode(r, &b, &err) < 0) {
		wf_reply_err(r, &err, NULL, NULL);
		return;
	}
	const char *node = wf_json_path_str(b, "target.name");
	const char *tkind = wf_json_path_str(b, "target.kind");
	if (!json_is_object(b) || !node || !node[0] || (tkind && tkind[0] && strcmp(tkind, "Node"))) {
		wf_causes c = {0};
		wf_causes_required(&c, "target.name");
		wf_reply_invalid(r, wf_registry_find("", "v1", "pods"), t->name, &c);
		wf_causes_free(&c);
		json_decref(b);
		return;
	}
	char *key = wf_registry_key(t->kind, t->ns, t->name);
	for (int attempt = 0; attempt <= WF_PATCH_RETRIES; attempt++) {
		json_t *pod;
		int64_t rev;
		int rc = wf_object_get(r->api, key, &pod, &rev, &err);
		if (rc < 0) {
			if (rc == -WF_ENOENT)
				wf_reply_not_found(r, t->kind, t->name);
			else
				wf_reply_err(r, &err, t->kind, t->name);
			break;
		}
		const char *cur = wf_json_path_str(pod, "spec.nodeName");
		if ((cur && cur[0]) || wf_json_path_str(pod, "metadata.deletionTimestamp")) {
			char msg[512];
			if (cur && cur[0])
				snprintf(msg, sizeof msg, "pod %s is already assigned to node \"%s\"",
					 t->name, cur);
			else
				snprintf(msg, sizeof msg, "pod %s is being deleted, cannot be assigned to a host", t->name);
			json_decref(pod);
			wf_reply_status(r, 409, "Conflict", msg, NULL);
			break;
		}
		json_object_set_new(wf_json_obj_ensure(pod, "spec"), "nodeName", json_string(node));
		json_t *status = wf_json_obj_ensure(pod, "status");
		json_t *conds = json_object_get(status, "conditions");
		if (!json_is_array(conds)) {
			conds = json_array();
			json_object_set_new(status, "conditions", conds);
		}
		for (size_t i = json_array_size(conds); i-- > 0;) {
			const char *ty = wf_json_str(json_array_get(conds, i), "type");
			if (ty && !strcmp(ty, "PodScheduled"))
				json_array_remove(conds, i);
		}
		char ts[32];
		wf_time_rfc3339(time(NULL), ts);
		json_t *cond = json_object();
		json_object_set_new(cond, "type", json_string("PodScheduled"));
		json_object_set_new(cond, "status", json_string("True"));
		json_object_set_new(cond, "lastProbeTime", json_null());
		json_object_set_new(cond, "lastTransitionTime", json_string(ts));
		json_array_append_new(conds, cond);
		json_object_del(json_object_get(pod, "metadata"), "resourceVersion");
		rc = wf_object_store_update(r->api, t->kind, key, pod, rev, NULL, &err);
		json_decref(pod);
		if (rc == -WF_ECONFLICT && attempt < WF_PATCH_RETRIES)
			continue;
		if (rc < 0) {
			wf_reply_err(r, &err, t->kind, t->name);
			break;
		}
		wf_reply_status(r, 201, NULL, NULL, NULL);
		break;
	}
	free(key);
	json_decref(b);
}

/* ---- delete ------------------------------------------------------------------- */

/* DeleteOptions from the body (JSON) and the query. Replies on error. */
static bool wf__delete_opts(wf_req *r, wf_delete_opts *o, json_t **body_out)
{
	*o = (wf_delete_opts){.grace_seconds = -1};
	*body_out = NULL;
	json_t *b = NULL; /* o borrows from it; handed to the caller on success */
	if (r->body && r->body_len) {
		wf_err err = {0};
		if (wf_body_decode(r, &b, &err) < 0) {
			wf_reply_err(r, &err, NULL, NULL);
			return false;
		}
		if (!json_is_object(b)) {
			json_decref(b);
			wf_reply_status(r, 400, "BadRequest", "DeleteOptions must be an object", NULL);
			return false;
		}
		json_t *g = json_object_get(b, "gracePeriodSeconds");
		if (json_is_integer(g))
			o->grace_seconds = json_integer_value(g);
		else if (g && !json_is_null(g)) {
			wf_reply_status(r, 400, "BadRequest", "gracePeriodSeconds must be an integer",
					NULL);
			goto fail;
		}
		o->propagation = wf_json_str(b, "propagationPolicy");
		if (json_is_true(json_object_get(b, "orphanDependents")))
			o->propagation = "Orphan";
		o->precondition_uid = wf_json_path_str(b, "preconditions.uid");
		o->precondition_rv = wf_json_path_str(b, "preconditions.resourceVersion");
	}
	const char *g = wf_req_query(r, "gracePeriodSeconds");
	if (g) {
		char *end;
		long long v = strtoll(g, &end, 10);
		if (*end || !g[0]) {
			wf_reply_status(r, 400, "BadRequest", "gracePeriodSeconds must be an integer",
					NULL);
			goto fail;
		}
		o->grace_seconds = v;
	}
	const char *p = wf_req_query(r, "propagationPolicy");
	if (p)
		o->propagation = p;
	if (o->grace_seconds < 0)
		o->grace_seconds = -1;
	if (o->propagation && strcmp(o->propagation, "Orphan") &&
	    strcmp(o->propagation, "Background") && strcmp(o->propagation, "Foreground")) {
		wf_reply_status(r, 400, "BadRequest",
				"propagationPolicy must be one of Orphan, Background, Foreground",
				NULL);
		goto fail;
	}
	*body_out = b;
	return true;
fail:
	json_decref(b);
	return false;
}

void wf_handle_delete(wf_req *r, const wf_target *t)
{
	wf_delete_opts o;
	json_t *body;
	if (!wf__delete_opts(r, &o, &body))
		return;
	json_t *result = NULL;
	bool gone = false;
	wf_err err = {0};
	int rc = wf_object_delete(r->api, t->kind, t->ns, t->name, &o, &result, &gone, &err);
	json_decref(body);
	if (rc < 0) {
		if (rc == -WF_ENOENT)
			wf_reply_not_found(r, t->kind, t->name);
		else
			wf_reply_err(r, &err, t->kind, t->name);
		return;
	}
	/* As Kubernetes does: an object removed at once is answered with a
	 * Status naming it, except for the kinds whose registry returns the
	 * deleted object (clients decode pods' answer as a Pod); one still
	 * terminating, with the object. */
	const char *res = t->kind->resource;
	bool returns_object =
	    !t->kind->group[0] && (!strcmp(res, "pods") || !strcmp(res, "serviceaccounts"));
	if (gone && !returns_object) {
		json_t *d = json_object();
		json_object_set_new(d, "name", json_string(t->name));
		json_object_set_new(d, "group", json_string(t->kind->group));
		json_object_set_new(d, "kind", json_string(t->kind->resource));
		const char *uid = wf_json_path_str(result, "metadata.uid");
		if (uid)
			json_object_set_new(d, "uid", json_string(uid));
		json_decref(result);
		wf_reply_status(r, 200, NULL, NULL, d);
		return;
	}
	wf__reply_object(r, 200, t->kind, result);
}

#include "api/filter.h"

typedef struct wf__dc_ctx {
	wf_filter *f;
	size_t prefix_len;
	char **names;
	size_t n;
} wf__dc_ctx;

static int wf__dc_collect(void *ctx, const wf_kv *kv)
{
	wf__dc_ctx *c = ctx;
	if (!wf_filter_empty(c->f)) {
		json_t *obj = wf_obj_decode(kv->value, kv->value_len, kv->mod_rev);
		bool m = wf_filter_matches(c->f, obj);
		json_decref(obj);
		if (!m)
			return 0;
	}
	c->names = wf_xrealloc(c->names, (c->n + 1) * sizeof *c->names);
	c->names[c->n++] = wf_xstrdup(kv->key + c->prefix_len);
	return 0;
}

void wf_handle_delete_collection(wf_req *r, const wf_target *t)
{
	wf_err err = {0};
	wf_filter f;
	if (wf_filter_init(&f, t->kind, r, &err) < 0) {
		wf_reply_err(r, &err, NULL, NULL);
		return;
	}
	wf_delete_opts o;
	json_t *body;
	if (!wf__delete_opts(r, &o, &body)) {
		wf_filter_free(&f);
		return;
	}
	char *prefix = wf_registry_prefix(t->kind, t->ns);
	wf__dc_ctx c = {.f = &f, .prefix_len = strlen(prefix)};
	int64_t rev;
	wf_store_range(r->api->store, prefix, NULL, 0, wf__dc_collect, &c, &rev, NULL, NULL);
	json_t *items = json_array();
	for (size_t i = 0; i < c.n; i++) {
		const char *rest = c.names[i];
		char *ns = NULL;
		if (t->kind->namespaced && !t->ns) {
			const char *slash = strchr(rest, '/');
			ns = wf_xstrndup(rest, slash ? (size_t)(slash - rest) : 0);
			rest = slash ? slash + 1 : rest;
		}
		json_t *res = NULL;
		if (wf_object_delete(r->api, t->kind, t->ns ? t->ns : ns, rest, &o, &res, NULL,
				     NULL) == 0)
			json_array_append_new(items, res);
		free(ns);
		free(c.names[i]);
	}
	free(c.names);
	free(prefix);
	json_decref(body);
	wf_filter_free(&f);
	json_t *list = json_object();
	char lk[96];
	snprintf(lk, sizeof lk, "%sList", t->kind->kind);
	json_object_set_new(list, "kind", json_string(lk));
	json_object_set_new(list, "apiVersion", json_string(wf_kind_api_version(t->kind)));
	json_object_set_new(list, "metadata", json_object());
	json_object_set_new(list, "items", items);
	wf_reply_json(r, 200, list);
}
