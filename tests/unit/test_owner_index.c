/*
 * test_owner_index.c - the API server's owner index against a real SQLite
 * store: built from the objects already stored, kept current across
 * creates, updates that add or drop ownerReferences, and deletes; a lookup
 * right after a write sees it; hostile values are ignored; and, through an
 * in-process API server, cascading deletes (Background and Orphan) that
 * take their dependents from the index and keep to the owner's namespace.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "api/api_internal.h"
#include "api/owner_index.h"
#include "lib/wf_mem.h"
#include "store/store.h"

#define UID_A "aaaaaaaa-0000-4000-8000-000000000001"
#define UID_B "bbbbbbbb-0000-4000-8000-000000000002"
#define UID_C "cccccccc-0000-4000-8000-000000000003"

typedef struct fixture {
	char dir[64];
	char db[128];
	wf_store *store;
} fixture;

static int setup(void **state)
{
	fixture *f = wf_xcalloc(1, sizeof *f);
	snprintf(f->dir, sizeof f->dir, "/tmp/wf-ownidx-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->db, sizeof f->db, "%s/state.db", f->dir);
	wf_store_options so = {.path = f->db};
	wf_err err = {0};
	assert_int_equal(wf_store_open_sqlite(&so, &f->store, &err), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	wf_store_close(f->store);
	char cmd[160];
	snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

/* A stored pod-like value owned by the given uids (NULL-terminated). */
static char *owned_value(const char *name, const char *const *uids)
{
	json_t *refs = json_array();
	for (size_t i = 0; uids && uids[i]; i++)
		json_array_append_new(refs,
				      json_pack("{s:s,s:s,s:s,s:s}", "apiVersion", "v1", "kind",
						"ConfigMap", "name", "owner", "uid", uids[i]));
	json_t *o = json_pack("{s:s,s:s,s:{s:s,s:s},s:{s:s}}", "apiVersion", "v1", "kind", "Pod",
			      "metadata", "name", name, "namespace", "default", "status", "phase",
			      "Pending");
	if (json_array_size(refs))
		json_object_set(json_object_get(o, "metadata"), "ownerReferences", refs);
	json_decref(refs);
	char *s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return s;
}

static void put(wf_store *s, const char *key, const char *value)
{
	wf_err err = {0};
	int rc = wf_store_create(s, key, value, strlen(value), NULL, &err);
	if (rc == -WF_EEXIST)
		rc = wf_store_update(s, key, value, strlen(value), 0, NULL, &err);
	assert_int_equal(rc, 0);
}

static void put_owned(wf_store *s, const char *key, const char *const *uids)
{
	char *v = owned_value(strrchr(key, '/') + 1, uids);
	put(s, key, v);
	free(v);
}

static void del(wf_store *s, const char *key)
{
	wf_err err = {0};
	assert_int_equal(wf_store_delete(s, key, 0, NULL, NULL, &err), 0);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The keys owned by uid, sorted and joined by spaces ("" for none). */
static char *owned(wf_owner_index *ix, const char *uid)
{
	char **keys;
	size_t n;
	wf_err err = {0};
	assert_int_equal(wf_owner_index_lookup(ix, uid, &keys, &n, &err), 0);
	if (n)
		qsort(keys, n, sizeof *keys, cmp_str);
	wf_buf b;
	wf_buf_init(&b);
	wf_buf_puts(&b, "");
	for (size_t i = 0; i < n; i++)
		wf_buf_printf(&b, "%s%s", i ? " " : "", keys[i]);
	wf_owner_index_keys_free(keys, n);
	return wf_buf_steal(&b);
}

static void assert_owned(wf_owner_index *ix, const char *uid, const char *want)
{
	char *got = owned(ix, uid);
	assert_string_equal(got, want);
	free(got);
}

/* Counts as of now (stats do not wait; a lookup does). */
static void assert_counts(wf_owner_index *ix, size_t owners, size_t refs)
{
	assert_owned(ix, "no-such-owner", "");
	size_t o, r;
	wf_owner_index_stats(ix, &o, &r, NULL);
	assert_int_equal(o, owners);
	assert_int_equal(r, refs);
}

/* ---- the index on its own ------------------------------------------------------------------ */

static void test_built_from_existing(void **state)
{
	fixture *f = *state;
	const char *a[] = {UID_A, NULL}, *ab[] = {UID_A, UID_B, NULL}, *b[] = {UID_B, NULL};
	put_owned(f->store, "/registry/pods/default/p1", a);
	put_owned(f->store, "/registry/pods/default/p2", ab);
	put_owned(f->store, "/registry/pods/other/p3", b);
	put_owned(f->store, "/registry/configmaps/default/free", NULL);
	put(f->store, "/registry/batch/jobs/default/j", "{\"metadata\":{\"name\":\"j\"}}");

	wf_owner_index *ix;
	wf_err err = {0};
	assert_int_equal(wf_owner_index_start(f->store, &ix, &err), 0);
	assert_owned(ix, UID_A, "/registry/pods/default/p1 /registry/pods/default/p2");
	assert_owned(ix, UID_B, "/registry/pods/default/p2 /registry/pods/other/p3");
	assert_owned(ix, UID_C, "");
	assert_counts(ix, 2, 4);
	int64_t applied;
	wf_owner_index_stats(ix, NULL, NULL, &applied);
	assert_int_equal(applied, wf_store_revision(f->store));
	wf_owner_index_stop(ix);
	wf_owner_index_stop(NULL);
}

static void test_follows_changes(void **state)
{
	fixture *f = *state;
	wf_owner_index *ix;
	wf_err err = {0};
	assert_int_equal(wf_owner_index_start(f->store, &ix, &err), 0);
	assert_counts(ix, 0, 0);
	const char *a[] = {UID_A, NULL}, *ab[] = {UID_A, UID_B, NULL}, *b[] = {UID_B, NULL};
	const char *key = "/registry/pods/default/web";

	/* Each lookup comes right after the write it must see. */
	put_owned(f->store, key, a);
	assert_owned(ix, UID_A, key);
	put_owned(f->store, key, ab); /* adds an owner */
	assert_owned(ix, UID_A, key);
	assert_owned(ix, UID_B, key);
	assert_counts(ix, 2, 2);
	put_owned(f->store, key, b); /* drops one */
	assert_owned(ix, UID_A, "");
	assert_owned(ix, UID_B, key);
	assert_counts(ix, 1, 1);
	put_owned(f->store, key, b); /* no change in its owners */
	assert_owned(ix, UID_B, key);
	assert_counts(ix, 1, 1);
	put_owned(f->store, key, NULL); /* drops them all */
	assert_owned(ix, UID_B, "");
	assert_counts(ix, 0, 0);
	put_owned(f->store, key, ab);
	del(f->store, key);
	assert_owned(ix, UID_A, "");
	assert_owned(ix, UID_B, "");
	assert_counts(ix, 0, 0);

	/* Many dependents, each visible at once; half deleted again. */
	char k[64];
	for (int i = 0; i < 300; i++) {
		snprintf(k, sizeof k, "/registry/pods/default/w-%03d", i);
		put_owned(f->store, k, a);
		char **keys;
		size_t n;
		assert_int_equal(wf_owner_index_lookup(ix, UID_A, &keys, &n, &err), 0);
		assert_int_equal(n, (size_t)i + 1);
		wf_owner_index_keys_free(keys, n);
	}
	for (int i = 0; i < 300; i += 2) {
		snprintf(k, sizeof k, "/registry/pods/default/w-%03d", i);
		del(f->store, k);
	}
	assert_counts(ix, 1, 150);
	char *got = owned(ix, UID_A);
	assert_null(strstr(got, "w-000"));
	assert_non_null(strstr(got, "w-001"));
	assert_non_null(strstr(got, "w-299"));
	free(got);

	/* A key recreated after its delete is indexed afresh. */
	put_owned(f->store, "/registry/pods/default/w-000", b);
	assert_owned(ix, UID_B, "/registry/pods/default/w-000");
	wf_owner_index_stop(ix);
}

static void test_lookup_arguments(void **state)
{
	fixture *f = *state;
	wf_owner_index *ix;
	wf_err err = {0};
	char **keys = (char **)1;
	size_t n = 7;
	assert_int_equal(wf_owner_index_lookup(NULL, UID_A, &keys, &n, &err), -WF_EINVAL);
	assert_null(keys);
	assert_int_equal(n, 0);
	assert_int_equal(wf_owner_index_start(NULL, &ix, &err), -WF_EINVAL);
	assert_int_equal(wf_owner_index_start(f->store, &ix, &err), 0);
	assert_int_equal(wf_owner_index_lookup(ix, NULL, &keys, &n, &err), -WF_EINVAL);
	assert_owned(ix, "", "");
	wf_owner_index_keys_free(NULL, 0);
	wf_owner_index_stop(ix);
}

/* Values no well-behaved writer stores, each under its own key. */
static const char *const hostile[] = {
    "not json {\"ownerReferences\"",
    "",
    "[\"ownerReferences\"]",
    "{\"metadata\":\"ownerReferences\"}",
    "{\"metadata\":{\"ownerReferences\":{\"uid\":\"" UID_A "\"}}}",
    "{\"metadata\":{\"ownerReferences\":\"" UID_A "\"}}",
    "{\"metadata\":{\"ownerReferences\":null}}",
    "{\"metadata\":{\"ownerReferences\":[]}}",
    "{\"metadata\":{\"ownerReferences\":[1,\"x\",null,[\"" UID_A "\"],true]}}",
    "{\"metadata\":{\"ownerReferences\":[{\"uid\":7},{\"uid\":null},{\"uid\":[]},{\"uid\":\"\"}]}}",
    "{\"metadata\":{\"ownerReferences\":[{\"uid\":\"a\\u0000b\"}]}}",
    "{\"metadata\":{\"ownerReferences\":[{\"uid\":\"" UID_A "\"}]}} trailing",
    "{\"metadata\":{\"ownerReferences\":[{\"uid\":\"" UID_A "\"}",
    "{\"metadata\":{\"annotations\":{\"x\":\"\\\"ownerReferences\\\": " UID_A "\"}}}",
    "{\"spec\":{\"ownerReferences\":[{\"uid\":\"" UID_A "\"}]}}",
};

static void test_hostile_values(void **state)
{
	fixture *f = *state;
	wf_owner_index *ix;
	wf_err err = {0};
	size_t nh = sizeof hostile / sizeof hostile[0];
	char key[64];
	/* Half stored before the index starts, half after. */
	for (size_t i = 0; i < nh / 2; i++) {
		snprintf(key, sizeof key, "/registry/pods/default/h-%zu", i);
		put(f->store, key, hostile[i]);
	}
	assert_int_equal(wf_owner_index_start(f->store, &ix, &err), 0);
	for (size_t i = nh / 2; i < nh; i++) {
		snprintf(key, sizeof key, "/registry/pods/default/h-%zu", i);
		put(f->store, key, hostile[i]);
	}
	/* A value with a NUL inside, past which a valid reference hides. */
	static const char nul[] =
	    "{\"metadata\":{}}\0{\"metadata\":{\"ownerReferences\":[{\"uid\":\"" UID_A "\"}]}}";
	assert_int_equal(wf_store_create(f->store, "/registry/pods/default/nul", nul,
					 sizeof nul - 1, NULL, &err),
			 0);
	assert_owned(ix, UID_A, "");
	assert_counts(ix, 0, 0);

	/* Hostile values replaced by good ones and back: the index follows. */
	const char *a[] = {UID_A, NULL};
	for (size_t i = 0; i < nh; i++) {
		snprintf(key, sizeof key, "/registry/pods/default/h-%zu", i);
		put_owned(f->store, key, a);
	}
	assert_counts(ix, 1, nh);
	for (size_t i = 0; i < nh; i++) {
		snprintf(key, sizeof key, "/registry/pods/default/h-%zu", i);
		put(f->store, key, hostile[i]);
	}
	assert_owned(ix, UID_A, "");
	assert_counts(ix, 0, 0);

	/* Duplicates count once; a uid at the length limit counts, one past it not. */
	char longest[WF_OWNER_INDEX_MAX_UID + 2];
	memset(longest, 'u', sizeof longest - 1);
	longest[sizeof longest - 1] = '\0';
	const char *dup[] = {UID_A, UID_B, UID_A, UID_A, longest, NULL};
	put_owned(f->store, "/registry/pods/default/dup", dup);
	assert_counts(ix, 2, 2);
	longest[WF_OWNER_INDEX_MAX_UID] = '\0';
	put_owned(f->store, "/registry/pods/default/dup", dup);
	assert_owned(ix, longest, "/registry/pods/default/dup");
	assert_counts(ix, 3, 3);
	del(f->store, "/registry/pods/default/dup");
	assert_counts(ix, 0, 0);
	wf_owner_index_stop(ix);
}

static void test_huge_arrays(void **state)
{
	fixture *f = *state;
	wf_owner_index *ix;
	wf_err err = {0};
	assert_int_equal(wf_owner_index_start(f->store, &ix, &err), 0);

	/* As many references as fit in one value, every uid distinct but for
	 * the last, which repeats the first. */
	size_t n = 20000;
	wf_buf b;
	wf_buf_init(&b);
	wf_buf_puts(&b, "{\"metadata\":{\"ownerReferences\":[");
	for (size_t i = 0; i < n; i++)
		wf_buf_printf(&b, "%s{\"uid\":\"u-%08zu\"}", i ? "," : "", i);
	wf_buf_puts(&b, ",{\"uid\":\"u-00000000\"}]}}");
	assert_true(b.len <= WF_STORE_MAX_VALUE);
	put(f->store, "/registry/pods/default/huge", b.data);
	assert_counts(ix, n, n);
	assert_owned(ix, "u-00000000", "/registry/pods/default/huge");
	assert_owned(ix, "u-00019999", "/registry/pods/default/huge");
	/* The same object, one reference fewer. */
	char *cut = strstr(b.data, ",{\"uid\":\"u-00019999\"}");
	assert_non_null(cut);
	memmove(cut, cut + strlen(",{\"uid\":\"u-00019999\"}"),
		strlen(cut + strlen(",{\"uid\":\"u-00019999\"}")) + 1);
	put(f->store, "/registry/pods/default/huge", b.data);
	assert_counts(ix, n - 1, n - 1);
	assert_owned(ix, "u-00019999", "");
	wf_buf_free(&b);

	/* Deeply nested metadata is refused by the parser, not a crash. */
	wf_buf_init(&b);
	wf_buf_puts(&b, "{\"metadata\":{\"ownerReferences\":");
	for (int i = 0; i < 100000; i++)
		wf_buf_putc(&b, '[');
	put(f->store, "/registry/pods/default/deep", b.data);
	wf_buf_free(&b);

	del(f->store, "/registry/pods/default/huge");
	assert_counts(ix, 0, 0);
	wf_owner_index_stop(ix);
}

static void test_start_after_compaction(void **state)
{
	fixture *f = *state;
	const char *a[] = {UID_A, NULL};
	wf_err err = {0};
	put_owned(f->store, "/registry/pods/default/gone", a);
	put_owned(f->store, "/registry/pods/default/kept", a);
	del(f->store, "/registry/pods/default/gone");
	assert_int_equal(wf_store_compact(f->store, wf_store_revision(f->store), &err), 0);
	wf_owner_index *ix;
	assert_int_equal(wf_owner_index_start(f->store, &ix, &err), 0);
	assert_owned(ix, UID_A, "/registry/pods/default/kept");
	put_owned(f->store, "/registry/pods/default/new", a);
	assert_owned(ix, UID_A, "/registry/pods/default/kept /registry/pods/default/new");
	wf_owner_index_stop(ix);
}

/* ---- cascading deletes through the API server ------------------------------------------- */

static char *obj_value(const char *kind, const char *ns, const char *name, const char *uid,
		       const char *owner_uid)
{
	json_t *md = json_pack("{s:s,s:s}", "name", name, "uid", uid);
	if (ns)
		json_object_set_new(md, "namespace", json_string(ns));
	if (owner_uid)
		json_object_set_new(md, "ownerReferences",
				    json_pack("[{s:s,s:s,s:s,s:s}]", "apiVersion", "v1", "kind",
					      "ConfigMap", "name", "owner", "uid", owner_uid));
	json_t *o = json_pack("{s:s,s:s,s:o,s:{}}", "apiVersion", "v1", "kind", kind, "metadata",
			      md, "data");
	char *s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return s;
}

static void put_obj(wf_store *s, const char *key, const char *kind, const char *ns, const char *uid,
		    const char *owner_uid)
{
	char *v = obj_value(kind, ns, strrchr(key, '/') + 1, uid, owner_uid);
	put(s, key, v);
	free(v);
}

static bool exists(wf_store *s, const char *key)
{
	wf_kv kv;
	if (wf_store_get(s, key, &kv, NULL) < 0)
		return false;
	wf_kv_free(&kv);
	return true;
}

static bool has_owner_refs(wf_store *s, const char *key)
{
	wf_kv kv;
	assert_int_equal(wf_store_get(s, key, &kv, NULL), 0);
	bool has = strstr(kv.value, "ownerReferences") != NULL;
	wf_kv_free(&kv);
	return has;
}

static void test_api_cascade(void **state)
{
	fixture *f = *state;
	wf_err err = {0};
	wf_store *s = f->store;
	const wf_kind *cm = wf_registry_find("", "v1", "configmaps");
	const wf_kind *nsk = wf_registry_find("", "v1", "namespaces");
	const wf_kind *pc = wf_registry_find("scheduling.k8s.io", "v1", "priorityclasses");
	assert_non_null(cm);
	assert_non_null(nsk);
	assert_non_null(pc);

	/* Some objects exist before the server starts, some are written after. */
	put_obj(s, "/registry/configmaps/default/owner", "ConfigMap", "default", UID_A, NULL);
	put_obj(s, "/registry/configmaps/default/child", "ConfigMap", "default",
		"11111111-0000-4000-8000-000000000001", UID_A);
	put_obj(s, "/registry/configmaps/other/alien", "ConfigMap", "other",
		"11111111-0000-4000-8000-000000000002", UID_A);
	put_obj(s, "/registry/namespaces/nsowned", "Namespace", NULL,
		"11111111-0000-4000-8000-000000000003", UID_A);

	wf_api_options ao = {.listen = "127.0.0.1:0", .workers = 1, .store = s};
	wf_api *api;
	assert_int_equal(wf_api_start(&ao, &api, &err), 0);
	/* Grandchild, written just before the delete: found at once, and the
	 * cascade goes on through the child. */
	put_obj(s, "/registry/configmaps/default/grandchild", "ConfigMap", "default",
		"11111111-0000-4000-8000-000000000004", "11111111-0000-4000-8000-000000000001");

	assert_owned(api->owners, UID_A,
		     "/registry/configmaps/default/child /registry/configmaps/other/alien "
		     "/registry/namespaces/nsowned");

	wf_delete_opts bg = {.grace_seconds = -1, .propagation = "Background"};
	bool gone = false;
	assert_int_equal(wf_object_delete(api, cm, "default", "owner", &bg, NULL, &gone, &err), 0);
	assert_true(gone);
	assert_false(exists(s, "/registry/configmaps/default/owner"));
	assert_false(exists(s, "/registry/configmaps/default/child"));
	assert_false(exists(s, "/registry/configmaps/default/grandchild"));
	/* A namespaced owner owns nothing outside its namespace. */
	assert_true(exists(s, "/registry/configmaps/other/alien"));
	assert_true(exists(s, "/registry/namespaces/nsowned"));

	/* Orphan: the dependent stays, without its reference. */
	put_obj(s, "/registry/configmaps/default/owner2", "ConfigMap", "default", UID_B, NULL);
	put_obj(s, "/registry/configmaps/default/kid", "ConfigMap", "default",
		"22222222-0000-4000-8000-000000000001", UID_B);
	wf_delete_opts orphan = {.grace_seconds = -1, .propagation = "Orphan"};
	assert_int_equal(wf_object_delete(api, cm, "default", "owner2", &orphan, NULL, &gone, &err),
			 0);
	assert_true(exists(s, "/registry/configmaps/default/kid"));
	assert_false(has_owner_refs(s, "/registry/configmaps/default/kid"));
	assert_owned(api->owners, UID_B, "");
	assert_owned(api->owners, "11111111-0000-4000-8000-000000000001", "");

	/* A cluster-scoped owner owns objects in any namespace. */
	put_obj(s, "/registry/scheduling.k8s.io/priorityclasses/top", "PriorityClass", NULL, UID_C,
		NULL);
	put_obj(s, "/registry/configmaps/default/c1", "ConfigMap", "default",
		"33333333-0000-4000-8000-000000000001", UID_C);
	put_obj(s, "/registry/configmaps/other/c2", "ConfigMap", "other",
		"33333333-0000-4000-8000-000000000002", UID_C);
	/* Keys that name no kind are left alone. */
	put_obj(s, "/registry/nosuchthings/default/x", "ConfigMap", "default",
		"33333333-0000-4000-8000-000000000003", UID_C);
	assert_int_equal(wf_object_delete(api, pc, NULL, "top", &bg, NULL, &gone, &err), 0);
	assert_false(exists(s, "/registry/configmaps/default/c1"));
	assert_false(exists(s, "/registry/configmaps/other/c2"));
	assert_true(exists(s, "/registry/nosuchthings/default/x"));

	wf_api_stop(api);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_built_from_existing, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_follows_changes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_lookup_arguments, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_hostile_values, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_huge_arrays, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_start_after_compaction, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_api_cascade, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
