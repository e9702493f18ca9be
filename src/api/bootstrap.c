/*
 * bootstrap.c - objects every cluster starts with: the default, kube-system,
 * kube-public and kube-node-lease namespaces.
 */
#include "api/api_internal.h"
#include "lib/wf_time.h"

#include <stdio.h>

int wf_api_bootstrap(wf_store *store, wf_err *err)
{
	static const char *const names[] = {"default", "kube-system", "kube-public",
					    "kube-node-lease"};
	const wf_kind *k = wf_registry_find("", "v1", "namespaces");
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		char *key = wf_registry_key(k, NULL, names[i]);
		wf_kv kv;
		int rc = wf_store_get(store, key, &kv, NULL);
		if (rc == 0) {
			wf_kv_free(&kv);
			free(key);
			continue;
		}
		json_t *obj = json_object();
		json_object_set_new(obj, "apiVersion", json_string("v1"));
		json_object_set_new(obj, "kind", json_string("Namespace"));
		json_t *md = json_object();
		char uid[37], ts[32];
		wf_uid_new(uid);
		wf_time_rfc3339(time(NULL), ts);
		json_object_set_new(md, "name", json_string(names[i]));
		json_object_set_new(md, "uid", json_string(uid));
		json_object_set_new(md, "creationTimestamp", json_string(ts));
		json_object_set_new(obj, "metadata", md);
		k->prepare_create(obj);
		k->defaults(obj);
		size_t len;
		char *text = wf_obj_encode(obj, &len);
		json_decref(obj);
		rc = wf_store_create(store, key, text, len, NULL, err);
		free(text);
		free(key);
		if (rc < 0 && rc != -WF_EEXIST)
			return rc;
	}
	return 0;
}
