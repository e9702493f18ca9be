/*
 * objects.c - object lifecycle shared by the handlers and the maintenance
 * thread: reads into JSON, CAS writes that complete finalization, deletion
 * with finalizers, graceful pod deletion and cascading (ownerReferences),
 * and namespace finalization.
 *
 * Garbage collection is synchronous: deleting an owner asks the owner index
 * (owner_index.h) for the keys of its dependents, so a delete costs
 * O(dependents). Only when the index cannot answer (it fell behind the store
 * or stopped following it) does it scan the kinds that can hold dependents
 * (a text search for the owner's uid first, so only candidates are parsed).
 */
#include "api/api_internal.h"
#include "lib/wf_time.h"

#include <stdio.h>
#include <string.h>

int wf_object_get(wf_api *api, const char *key, json_t **out, int64_t *rev_out, wf_err *err)
{
	wf_kv kv;
	int rc = wf_store_get(api->store, key, &kv, err);
	if (rc < 0)
		return rc;
	json_t *obj = wf_obj_decode(kv.value, kv.value_len, kv.mod_rev);
	if (rev_out)
		*rev_out = kv.mod_rev;
	wf_kv_free(&kv);
	if (!obj)
		return wf_err_set(err, WF_EIO, "stored object at %s is corrupt", key);
	*out = obj;
	return 0;
}

static bool wf__finalizers_empty(const json_t *obj)
{
	json_t *f = wf_json_path(obj, "metadata.finalizers");
	return !json_is_array(f) || json_array_size(f) == 0;
}

static bool wf__being_deleted(const json_t *obj)
{
	return wf_json_path_str(obj, "metadata.deletionTimestamp") != NULL;
}

/* A pod bound to a node, deleted with a grace period: its agent stops the
 * containers and then removes it (a delete with grace 0). */
static bool wf__awaits_agent(const wf_kind *k, const json_t *obj)
{
	if (k->group[0] || strcmp(k->resource, "pods"))
		return false;
	const char *node = wf_json_path_str(obj, "spec.nodeName");
	json_t *grace = wf_json_path(obj, "metadata.deletionGracePeriodSeconds");
	return node && node[0] && json_is_integer(grace) && json_integer_value(grace) > 0;
}

static void wf__gc_dependents(wf_api *api, const char *uid, const char *ns, bool orphan);

/* Remove the object now (CAS on expect_rev) and cascade to its dependents. */
static int wf__remove(wf_api *api, const wf_kind *k, const char *key, const json_t *obj,
		      int64_t expect_rev, bool orphan, json_t **out, wf_err *err)
{
	int64_t rev;
	int rc = wf_store_delete(api->store, key, expect_rev, &rev, NULL, err);
	if (rc < 0)
		return rc;
	const char *uid = wf_json_path_str(obj, "metadata.uid");
	const char *ns = wf_json_path_str(obj, "metadata.namespace");
	if (uid)
		wf__gc_dependents(api, uid, k->namespaced ? ns : NULL, orphan);
	if (out) {
		*out = json_deep_copy(obj);
		char rvs[32];
		snprintf(rvs, sizeof rvs, "%lld", (long long)rev);
		json_object_set_new(wf_json_obj_ensure(*out, "metadata"), "resourceVersion",
				    json_string(rvs));
	}
	return 0;
}

int wf_object_store_update(wf_api *api, const wf_kind *k, const char *key, json_t *obj,
			   int64_t expect_rev, json_t **out, wf_err *err)
{
	/* A namespace goes only once its contents are gone (wf_namespace_finalize),
	 * and a pod in its grace period once its node's agent has stopped it. */
	bool is_ns = !k->group[0] && !strcmp(k->resource, "namespaces");
	if (wf__being_deleted(obj) && wf__finalizers_empty(obj) && !is_ns &&
	    !wf__awaits_agent(k, obj))
		return wf__remove(api, k, key, obj, expect_rev, false, out, err);
	size_t len;
	char *text = wf_obj_encode(obj, &len);
	int64_t rev;
	int rc = wf_store_update(api->store, key, text, len, expect_rev, &rev, err);
	free(text);
	if (rc < 0)
		return rc;
	if (out) {
		*out = json_incref(obj);
		char rvs[32];
		snprintf(rvs, sizeof rvs, "%lld", (long long)rev);
		json_object_set_new(wf_json_obj_ensure(obj, "metadata"), "resourceVersion",
				    json_string(rvs));
	}
	return 0;
}

/* Mark an object as being deleted (deletionTimestamp), keeping it stored. */
static int wf__mark_deleting(wf_api *api, const wf_kind *k, const char *key, json_t *obj,
			     int64_t rev, int64_t grace, json_t **out, wf_err *err)
{
	json_t *md = wf_json_obj_ensure(obj, "metadata");
	char ts[32];
	wf_time_rfc3339(time(NULL) + grace, ts);
	json_object_set_new(md, "deletionTimestamp", json_string(ts));
	json_object_set_new(md, "deletionGracePeriodSeconds", json_integer(grace));
	if (!strcmp(k->resource, "namespaces")) {
		json_object_set_new(wf_json_obj_ensure(obj, "status"), "phase",
				    json_string("Terminating"));
	}
	return wf_object_store_update(api, k, key, obj, rev, out, err);
}

int wf_object_delete(wf_api *api, const wf_kind *k, const char *ns, const char *name,
		     const wf_delete_opts *o, json_t **result_out, bool *gone_out, wf_err *err)
{
	char *key = wf_registry_key(k, ns, name);
	int rc = 0;
	for (int attempt = 0; attempt < 8; attempt++) {
		json_t *obj = NULL;
		int64_t rev;
		rc = wf_object_get(api, key, &obj, &rev, err);
		if (rc == -WF_ENOENT) {
			char qr[128];
			wf_kind_qualified_resource(k, qr, sizeof qr);
			rc = wf_err_set(err, WF_ENOENT, "%s \"%s\" not found", qr, name);
		}
		if (rc < 0)
			break;
		const char *uid = wf_json_path_str(obj, "metadata.uid");
		if (o->precondition_uid && (!uid || strcmp(uid, o->precondition_uid))) {
			rc = wf_err_set(err, WF_ECONFLICT,
					"Precondition failed: UID in precondition: %s, UID in "
					"object meta: %s",
					o->precondition_uid, uid ? uid : "");
			json_decref(obj);
			break;
		}
		const char *rvs = wf_json_path_str(obj, "metadata.resourceVersion");
		if (o->precondition_rv && (!rvs || strcmp(rvs, o->precondition_rv))) {
			rc = wf_err_set(err, WF_ECONFLICT,
					"Precondition failed: ResourceVersion in precondition: %s, "
					"ResourceVersion in object meta: %s",
					o->precondition_rv, rvs ? rvs : "");
			json_decref(obj);
			break;
		}
		const char *policy = o->propagation;
		if (!policy)
			policy = k->orphan_by_default ? "Orphan" : "Background";
		bool orphan = !strcmp(policy, "Orphan");
		bool is_pod = !strcmp(k->resource, "pods") && !k->group[0];
		bool is_ns = !strcmp(k->resource, "namespaces") && !k->group[0];
		int64_t grace = o->grace_seconds;
		if (is_pod && grace < 0) {
			json_t *g = wf_json_path(obj, "spec.terminationGracePeriodSeconds");
			grace = json_is_integer(g) ? json_integer_value(g) : 30;
		}
		const char *node = wf_json_path_str(obj, "spec.nodeName");
		json_t *result = NULL;
		bool gone = false;
		if (wf__being_deleted(obj)) {
			/* Already terminating: only a forced pod delete changes anything. */
			if (is_pod && grace == 0 && wf__finalizers_empty(obj)) {
				rc = wf__remove(api, k, key, obj, rev, orphan, &result, err);
				gone = rc == 0;
			} else {
				result = json_incref(obj);
			}
		} else if (is_ns) {
			rc = wf__mark_deleting(api, k, key, obj, rev, 0, &result, err);
		} else if (!wf__finalizers_empty(obj)) {
			rc = wf__mark_deleting(api, k, key, obj, rev, 0, &result, err);
		} else if (is_pod && node && node[0] && grace > 0) {
			/* The node's agent stops the containers, then removes the pod. */
			rc = wf__mark_deleting(api, k, key, obj, rev, grace, &result, err);
		} else {
			rc = wf__remove(api, k, key, obj, rev, orphan, &result, err);
			gone = rc == 0;
		}
		json_decref(obj);
		if (rc == -WF_ECONFLICT && attempt < 7 && !o->precondition_rv) {
			json_decref(result);
			continue; /* raced with a writer: re-read and try again */
		}
		if (rc == 0) {
			if (result_out)
				*result_out = result;
			else
				json_decref(result);
			if (gone_out)
				*gone_out = gone;
			if (is_ns)
				wf_namespace_finalize(api, name);
		} else {
			json_decref(result);
		}
		break;
	}
	free(key);
	return rc;
}

/* ---- garbage collection ---------------------------------------------------- */

typedef struct wf__dep_ctx {
	const char *uid;
	char **keys;
	size_t n;
} wf__dep_ctx;

static int wf__collect_dependent(void *ctx, const wf_kv *kv)
{
	wf__dep_ctx *c = ctx;
	if (!strstr(kv->value, c->uid) || !strstr(kv->value, "\"ownerReferences\""))
		return 0;
	json_t *obj = json_loadb(kv->value, kv->value_len, 0, NULL);
	size_t i;
	json_t *ref;
	bool owned = false;
	json_array_foreach(wf_json_path(obj, "metadata.ownerReferences"), i, ref)
	{
		const char *u = wf_json_str(ref, "uid");
		owned = owned || (u && !strcmp(u, c->uid));
	}
	json_decref(obj);
	if (owned) {
		c->keys = wf_xrealloc(c->keys, (c->n + 1) * sizeof *c->keys);
		c->keys[c->n++] = wf_xstrdup(kv->key);
	}
	return 0;
}

/* Drop the ownerReference to uid from the object at key. */
static void wf__orphan(wf_api *api, const wf_kind *k, const char *key, const char *uid)
{
	for (int attempt = 0; attempt < 8; attempt++) {
		json_t *obj;
		int64_t rev;
		if (wf_object_get(api, key, &obj, &rev, NULL) < 0)
			return;
		json_t *refs = wf_json_path(obj, "metadata.ownerReferences");
		for (size_t i = json_array_size(refs); i-- > 0;) {
			const char *u = wf_json_str(json_array_get(refs, i), "uid");
			if (u && !strcmp(u, uid))
				json_array_remove(refs, i);
		}
		if (!json_array_size(refs))
			json_object_del(json_object_get(obj, "metadata"), "ownerReferences");
		wf_err err = {0};
		int rc = wf_object_store_update(api, k, key, obj, rev, NULL, &err);
		json_decref(obj);
		if (rc != -WF_ECONFLICT)
			return;
	}
}

/* Without a current index: every key under the kinds that can hold
 * dependents of uid, for a namespaced owner (ns) in its namespace only. */
static void wf__scan_dependents(wf_api *api, const char *uid, const char *ns, char ***keys_out,
				size_t *n_out)
{
	wf__dep_ctx c = {.uid = uid};
	for (size_t i = 0; i < wf_registry_count(); i++) {
		const wf_kind *k = wf_registry_at(i);
		if (ns && !k->namespaced)
			continue;
		char *prefix = wf_registry_prefix(k, ns);
		int64_t rev;
		wf_store_range(api->store, prefix, NULL, 0, wf__collect_dependent, &c, &rev, NULL,
			       NULL);
		free(prefix);
	}
	*keys_out = c.keys;
	*n_out = c.n;
}

/* The kind whose objects live under key (the longest matching prefix) and,
 * in *rest_out, what follows that prefix ("ns/name" or "name"); NULL when
 * the key belongs to no kind. */
static const wf_kind *wf__kind_of_key(const char *key, const char **rest_out)
{
	const wf_kind *best = NULL;
	size_t best_len = 0;
	for (size_t i = 0; i < wf_registry_count(); i++) {
		const wf_kind *k = wf_registry_at(i);
		char *prefix = wf_registry_prefix(k, NULL);
		size_t len = strlen(prefix);
		if (len > best_len && !strncmp(key, prefix, len)) {
			best = k;
			best_len = len;
		}
		free(prefix);
	}
	*rest_out = key + best_len;
	return best;
}

/* Orphan or delete every dependent of uid. A namespaced owner (ns set) only
 * owns objects of namespaced kinds in its namespace; a cluster-scoped owner
 * (ns NULL) may own anything. */
static void wf__gc_dependents(wf_api *api, const char *uid, const char *ns, bool orphan)
{
	char **keys = NULL;
	size_t n = 0;
	if (wf_owner_index_lookup(api->owners, uid, &keys, &n, NULL) < 0)
		wf__scan_dependents(api, uid, ns, &keys, &n);
	for (size_t i = 0; i < n; i++) {
		const char *rest;
		const wf_kind *k = wf__kind_of_key(keys[i], &rest);
		if (!k)
			continue;
		char *dns = NULL;
		const char *dname = rest;
		if (k->namespaced) {
			const char *slash = strchr(rest, '/');
			if (!slash)
				continue;
			dns = wf_xstrndup(rest, (size_t)(slash - rest));
			dname = slash + 1;
		}
		if (ns && (!dns || strcmp(dns, ns))) {
			free(dns);
			continue;
		}
		if (orphan) {
			wf__orphan(api, k, keys[i], uid);
		} else {
			wf_delete_opts o = {.grace_seconds = -1, .propagation = "Background"};
			wf_object_delete(api, k, dns, dname, &o, NULL, NULL, NULL);
		}
		free(dns);
	}
	wf_owner_index_keys_free(keys, n);
}

/* ---- namespaces ---------------------------------------------------------------- */

typedef struct wf__names_ctx {
	size_t prefix_len;
	char **names;
	size_t n;
} wf__names_ctx;

static int wf__collect_name(void *ctx, const wf_kv *kv)
{
	wf__names_ctx *c = ctx;
	c->names = wf_xrealloc(c->names, (c->n + 1) * sizeof *c->names);
	c->names[c->n++] = wf_xstrdup(kv->key + c->prefix_len);
	return 0;
}

void wf_namespace_finalize(wf_api *api, const char *ns)
{
	const wf_kind *nsk = wf_registry_find("", "v1", "namespaces");
	int64_t remaining = 0;
	for (size_t i = 0; i < wf_registry_count(); i++) {
		const wf_kind *k = wf_registry_at(i);
		if (!k->namespaced)
			continue;
		char *prefix = wf_registry_prefix(k, ns);
		wf__names_ctx c = {.prefix_len = strlen(prefix)};
		int64_t rev;
		wf_store_range(api->store, prefix, NULL, 0, wf__collect_name, &c, &rev, NULL, NULL);
		for (size_t j = 0; j < c.n; j++) {
			wf_delete_opts o = {.grace_seconds = -1, .propagation = "Background"};
			wf_object_delete(api, k, ns, c.names[j], &o, NULL, NULL, NULL);
			free(c.names[j]);
		}
		free(c.names);
		int64_t left = 0;
		wf_store_count(api->store, prefix, &left, NULL);
		remaining += left;
		free(prefix);
	}
	if (remaining)
		return; /* objects with finalizers or terminating pods: retried later */
	char *key = wf_registry_key(nsk, NULL, ns);
	json_t *obj;
	int64_t rev;
	if (wf_object_get(api, key, &obj, &rev, NULL) == 0) {
		if (wf__being_deleted(obj))
			wf_store_delete(api->store, key, rev, NULL, NULL, NULL);
		json_decref(obj);
	}
	free(key);
}
