/*
 * test_informer.c - the controllers' list+watch cache: events applied to
 * the cache, handlers called in order, indexes kept in step, relists
 * delivered as a diff, older versions and hostile objects ignored, the
 * filter keeping objects out of the cache while handlers still hear of
 * them; then live against a real API server on loopback: a paged list,
 * watch, and a server restart with changes made while the informer was
 * cut off.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "api/api.h"
#include "client/client.h"
#include "controllers/informer.h"
#include "controllers/jpack.h"
#include "lib/wf_mem.h"
#include "store/store.h"

/* ---- recorded handler calls ---------------------------------------------------------- */

typedef struct rec {
	wf_buf log; /* "+ns/name " "~ns/name " "-ns/name " */
	int calls;
} rec;

static void rec_add(void *ctx, const json_t *obj)
{
	rec *r = ctx;
	char *k = wf_informer_key(obj);
	wf_buf_printf(&r->log, "+%s ", k);
	free(k);
	r->calls++;
}

static void rec_update(void *ctx, const json_t *old, const json_t *obj)
{
	rec *r = ctx;
	char *k = wf_informer_key(obj);
	wf_buf_printf(&r->log, "~%s ", k);
	free(k);
	r->calls++;
}

static void rec_del(void *ctx, const json_t *obj)
{
	rec *r = ctx;
	char *k = wf_informer_key(obj);
	wf_buf_printf(&r->log, "-%s ", k);
	free(k);
	r->calls++;
}

/* Record every add, update and delete of inf into r (its log starts empty). */
static void rec_attach(wf_informer *inf, rec *r)
{
	*r = (rec){0};
	wf_buf_init(&r->log);
	wf_buf_puts(&r->log, "");
	wf_informer_handlers h = {.add = rec_add, .update = rec_update, .del = rec_del, .ctx = r};
	assert_int_equal(wf_informer_add_handlers(inf, &h), 0);
}

static const char *node_of(const json_t *pod)
{
	return json_string_value(json_object_get(json_object_get(pod, "spec"), "nodeName"));
}

static void strip_status(json_t *obj)
{
	json_object_del(obj, "status");
}

static json_t *obj(const char *ns, const char *name, const char *rv, const char *node)
{
	json_t *o = json_pack("{s:{s:s,s:s},s:{},s:{s:s}}", "metadata", "name", name,
			      "resourceVersion", rv, "spec", "status", "phase", "Running");
	if (ns)
		json_object_set_new(json_object_get(o, "metadata"), "namespace", json_string(ns));
	if (node)
		json_object_set_new(json_object_get(o, "spec"), "nodeName", json_string(node));
	return o;
}

static size_t idx_count(wf_informer *inf, int idx, const char *v)
{
	json_t *a = wf_informer_by_index(inf, idx, v);
	size_t n = json_array_size(a);
	json_decref(a);
	return n;
}

/* ---- cache --------------------------------------------------------------------------------- */

static void test_apply_events(void **state)
{
	wf_informer *inf = wf_informer_new(NULL, "/api/v1/pods");
	rec r;
	rec_attach(inf, &r);
	int by_node = wf_informer_add_index(inf, node_of);
	assert_true(by_node >= 0);
	wf_informer_set_transform(inf, strip_status);
	assert_false(wf_informer_synced(inf));

	json_t *a = obj("ns", "a", "1", "n1");
	wf_informer_apply(inf, "ADDED", a);
	json_t *b = obj("ns", "b", "2", "n1");
	wf_informer_apply(inf, "ADDED", b);
	json_t *c = obj(NULL, "c", "3", NULL);
	wf_informer_apply(inf, "ADDED", c);
	assert_int_equal(wf_informer_count(inf), 3);
	assert_int_equal(idx_count(inf, by_node, "n1"), 2);
	/* The transform ran on a copy: the caller's object keeps its status. */
	json_t *got = wf_informer_get(inf, "ns/a");
	assert_non_null(got);
	assert_null(json_object_get(got, "status"));
	assert_non_null(json_object_get(a, "status"));
	json_decref(got);
	got = wf_informer_get_nn(inf, NULL, "c");
	assert_non_null(got);
	json_decref(got);
	got = wf_informer_get_nn(inf, "", "c");
	assert_non_null(got);
	json_decref(got);

	/* Same resourceVersion again (a resumed watch): no event. */
	wf_informer_apply(inf, "MODIFIED", a);
	/* Moved to another node: the index follows. */
	json_t *a2 = obj("ns", "a", "4", "n2");
	wf_informer_apply(inf, "MODIFIED", a2);
	assert_int_equal(idx_count(inf, by_node, "n1"), 1);
	assert_int_equal(idx_count(inf, by_node, "n2"), 1);
	/* A MODIFIED for an unknown object is an add. */
	json_t *d = obj("ns", "d", "5", "n2");
	wf_informer_apply(inf, "MODIFIED", d);
	wf_informer_apply(inf, "DELETED", b);
	wf_informer_apply(inf, "DELETED", b); /* twice: nothing */
	assert_int_equal(idx_count(inf, by_node, "n1"), 0);
	assert_int_equal(idx_count(inf, by_node, "n2"), 2);
	assert_string_equal(r.log.data, "+ns/a +ns/b +c ~ns/a +ns/d -ns/b ");

	/* Readers keep their reference across a replacement. */
	json_t *held = wf_informer_get(inf, "ns/a");
	json_t *a3 = obj("ns", "a", "6", "n3");
	wf_informer_apply(inf, "MODIFIED", a3);
	assert_string_equal(node_of(held), "n2");
	json_decref(held);

	/* Hostile input is ignored. */
	int calls = r.calls;
	json_t *noname = json_pack("{s:{s:s}}", "metadata", "namespace", "ns");
	json_t *emptyname = json_pack("{s:{s:s}}", "metadata", "name", "");
	json_t *badname = json_pack("{s:{s:i}}", "metadata", "name", 5);
	json_t *arr = json_array();
	wf_informer_apply(inf, "ADDED", noname);
	wf_informer_apply(inf, "ADDED", emptyname);
	wf_informer_apply(inf, "ADDED", badname);
	wf_informer_apply(inf, "ADDED", arr);
	wf_informer_apply(inf, "ADDED", NULL);
	wf_informer_apply(inf, NULL, a);
	wf_informer_apply(inf, "BOOKMARK", a);
	wf_informer_apply(inf, "ERROR", a);
	assert_int_equal(r.calls, calls);
	assert_int_equal(wf_informer_count(inf), 3);
	assert_null(wf_informer_get(inf, NULL));
	assert_null(wf_informer_get(inf, "nope"));
	assert_null(wf_informer_get_nn(inf, "ns", NULL));
	json_t *none = wf_informer_by_index(inf, 7, "x");
	assert_int_equal(json_array_size(none), 0);
	json_decref(none);
	none = wf_informer_by_index(inf, by_node, NULL);
	assert_int_equal(json_array_size(none), 0);
	json_decref(none);

	json_t *all = wf_informer_list(inf);
	assert_int_equal(json_array_size(all), 3);
	json_decref(all);
	json_decref(noname);
	json_decref(emptyname);
	json_decref(badname);
	json_decref(arr);
	json_decref(a);
	json_decref(a2);
	json_decref(a3);
	json_decref(b);
	json_decref(c);
	json_decref(d);
	wf_informer_free(inf); /* never started: nothing to join */
	wf_buf_free(&r.log);
}

static void test_replace_delivers_diff(void **state)
{
	wf_informer *inf = wf_informer_new(NULL, "/api/v1/pods");
	rec r;
	rec_attach(inf, &r);
	int by_node = wf_informer_add_index(inf, node_of);
	json_t *list = json_array();
	json_array_append_new(list, obj("ns", "keep", "1", "n1"));
	json_array_append_new(list, obj("ns", "change", "2", "n1"));
	json_array_append_new(list, obj("ns", "gone", "3", "n1"));
	wf_informer_replace(inf, list);
	assert_true(wf_informer_synced(inf));
	assert_true(wf_informer_wait_synced(inf, 0));
	json_decref(list);
	r.log.len = 0;
	wf_buf_puts(&r.log, "");

	/* What a watch missed: one deleted, one changed, one new, junk. */
	list = json_array();
	json_array_append_new(list, obj("ns", "keep", "1", "n1"));
	json_array_append_new(list, obj("ns", "change", "9", "n2"));
	json_array_append_new(list, obj("ns", "new", "10", "n2"));
	json_array_append_new(list, json_string("junk"));
	json_array_append_new(list, json_pack("{s:{}}", "metadata"));
	wf_informer_replace(inf, list);
	json_decref(list);
	assert_string_equal(r.log.data, "~ns/change +ns/new -ns/gone ");
	assert_int_equal(wf_informer_count(inf), 3);
	assert_int_equal(idx_count(inf, by_node, "n1"), 1);
	assert_int_equal(idx_count(inf, by_node, "n2"), 2);
	/* An empty list empties the cache. */
	list = json_array();
	wf_informer_replace(inf, list);
	json_decref(list);
	assert_int_equal(wf_informer_count(inf), 0);
	assert_int_equal(idx_count(inf, by_node, "n2"), 0);
	wf_informer_replace(inf, NULL);
	assert_int_equal(wf_informer_count(inf), 0);
	wf_informer_free(inf);
	wf_buf_free(&r.log);
}

static void test_limits(void **state)
{
	wf_informer *inf = wf_informer_new(NULL, "/x");
	for (int i = 0; i < WF_INFORMER_MAX_INDEXES; i++)
		assert_int_equal(wf_informer_add_index(inf, node_of), i);
	assert_int_equal(wf_informer_add_index(inf, node_of), -WF_EINVAL);
	assert_int_equal(wf_informer_add_index(inf, NULL), -WF_EINVAL);
	wf_informer_handlers h = {0};
	for (int i = 0; i < WF_INFORMER_MAX_HANDLERS; i++)
		assert_int_equal(wf_informer_add_handlers(inf, &h), 0);
	assert_int_equal(wf_informer_add_handlers(inf, &h), -WF_EINVAL);
	assert_int_equal(wf_informer_add_handlers(inf, NULL), -WF_EINVAL);
	/* A huge object goes in and out intact. */
	json_t *big = obj("ns", "big", "1", "n");
	wf_buf b;
	wf_buf_init(&b);
	for (int i = 0; i < 200000; i++)
		wf_buf_putc(&b, 'x');
	json_object_set_new(json_object_get(big, "spec"), "blob", json_string(b.data));
	wf_informer_apply(inf, "ADDED", big);
	json_t *got = wf_informer_get(inf, "ns/big");
	assert_true(json_equal(got, big));
	json_decref(got);
	json_decref(big);
	wf_buf_free(&b);
	/* Nested past what the cache packs: handlers hear of it, nothing is
	 * cached, and an older cached version goes. */
	json_t *deep = json_integer(1);
	for (int i = 0; i < WF_JPACK_MAX_DEPTH + 10; i++) {
		json_t *a = json_array();
		json_array_append_new(a, deep);
		deep = a;
	}
	json_t *dobj = obj("ns", "deep", "2", "n");
	json_object_set_new(json_object_get(dobj, "spec"), "x", deep);
	json_t *shallow = obj("ns", "deep", "1", "n");
	wf_informer_apply(inf, "ADDED", shallow);
	assert_int_equal(wf_informer_count(inf), 2);
	wf_informer_apply(inf, "MODIFIED", dobj);
	assert_int_equal(wf_informer_count(inf), 1);
	assert_null(wf_informer_get(inf, "ns/deep"));
	json_decref(dobj);
	json_decref(shallow);
	assert_null(wf_informer_key(NULL));
	wf_informer_free(inf);
	wf_informer_free(NULL);
}

/* Objects labelled keep=yes are cached; the others only reach handlers. */
static bool keep_labelled(const json_t *o)
{
	const char *v = json_string_value(
	    json_object_get(json_object_get(json_object_get(o, "metadata"), "labels"), "keep"));
	return v && !strcmp(v, "yes");
}

static json_t *lobj(const char *name, const char *rv, bool keep)
{
	json_t *o = obj("ns", name, rv, "n1");
	json_object_set_new(json_object_get(o, "metadata"), "labels",
			    json_pack("{s:s}", "keep", keep ? "yes" : "no"));
	return o;
}

/* Handler that checks what it is given: status present means the object
 * as received (the transform strips it). */
typedef struct seen_rec {
	wf_buf log;
} seen_rec;

static void sr_add(void *ctx, const json_t *o)
{
	seen_rec *r = ctx;
	char *k = wf_informer_key(o);
	wf_buf_printf(&r->log, "+%s%s ", k, json_object_get(o, "status") ? "(raw)" : "");
	free(k);
}

static void sr_update(void *ctx, const json_t *old, const json_t *o)
{
	seen_rec *r = ctx;
	char *k = wf_informer_key(o);
	wf_buf_printf(&r->log, "~%s%s ", k, json_object_get(o, "status") ? "(raw)" : "");
	assert_non_null(old);
	assert_null(json_object_get(old, "status"));
	free(k);
}

static void sr_del(void *ctx, const json_t *o)
{
	seen_rec *r = ctx;
	char *k = wf_informer_key(o);
	wf_buf_printf(&r->log, "-%s%s ", k, json_object_get(o, "status") ? "(raw)" : "");
	free(k);
}

static void test_filter(void **state)
{
	wf_informer *inf = wf_informer_new(NULL, "/api/v1/pods");
	seen_rec r;
	wf_buf_init(&r.log);
	wf_buf_puts(&r.log, "");
	wf_informer_handlers h = {.add = sr_add, .update = sr_update, .del = sr_del, .ctx = &r};
	wf_informer_add_handlers(inf, &h);
	int by_node = wf_informer_add_index(inf, node_of);
	wf_informer_set_transform(inf, strip_status);
	wf_informer_set_filter(inf, keep_labelled);

	json_t *a = lobj("a", "1", true), *b = lobj("b", "2", false);
	wf_informer_apply(inf, "ADDED", a);
	wf_informer_apply(inf, "ADDED", b);
	assert_int_equal(wf_informer_count(inf), 1);
	assert_null(wf_informer_get(inf, "ns/b"));
	assert_int_equal(idx_count(inf, by_node, "n1"), 1);
	/* A change to an uncached object is an add again; its deletion a del. */
	json_t *b2 = lobj("b", "3", false);
	wf_informer_apply(inf, "MODIFIED", b2);
	wf_informer_apply(inf, "DELETED", b2);
	/* Cached, then no longer wanted: an update, and it leaves the cache. */
	json_t *a2 = lobj("a", "4", false);
	wf_informer_apply(inf, "MODIFIED", a2);
	assert_int_equal(wf_informer_count(inf), 0);
	assert_int_equal(idx_count(inf, by_node, "n1"), 0);
	/* Wanted again: an add of the transformed object. */
	json_t *a3 = lobj("a", "5", true);
	wf_informer_apply(inf, "MODIFIED", a3);
	assert_int_equal(wf_informer_count(inf), 1);
	/* A relist delivers the unwanted as adds and drops what is gone. */
	json_t *list = json_array();
	json_array_append(list, b);
	wf_informer_replace(inf, list);
	json_decref(list);
	assert_int_equal(wf_informer_count(inf), 0);
	assert_string_equal(r.log.data, "+ns/a +ns/b(raw) +ns/b(raw) -ns/b(raw) ~ns/a(raw) "
					"+ns/a +ns/b(raw) -ns/a ");
	json_decref(a);
	json_decref(a2);
	json_decref(a3);
	json_decref(b);
	json_decref(b2);
	wf_informer_free(inf);
	wf_buf_free(&r.log);
}

static void test_versions(void **state)
{
	wf_informer *inf = wf_informer_new(NULL, "/api/v1/pods");
	rec r;
	rec_attach(inf, &r);
	json_t *v10 = obj("ns", "a", "10", "n1"), *v9 = obj("ns", "a", "9", "n2");
	json_t *v11 = obj("ns", "a", "11", "n3");
	wf_informer_apply(inf, "ADDED", v10);
	/* A replayed older version (a watch resumed after a paged list). */
	wf_informer_apply(inf, "MODIFIED", v9);
	wf_informer_apply(inf, "ADDED", v9);
	json_t *got = wf_informer_get(inf, "ns/a");
	assert_string_equal(node_of(got), "n1");
	json_decref(got);
	/* The deletion of an older object of that name: the newer one stays. */
	wf_informer_apply(inf, "DELETED", v9);
	assert_int_equal(wf_informer_count(inf), 1);
	wf_informer_apply(inf, "MODIFIED", v11);
	wf_informer_apply(inf, "DELETED", v11);
	assert_int_equal(wf_informer_count(inf), 0);
	assert_string_equal(r.log.data, "+ns/a ~ns/a -ns/a ");
	/* resourceVersions that are not numbers: only the same one is old. */
	r.log.len = 0;
	wf_buf_puts(&r.log, "");
	json_t *x1 = obj("ns", "x", "abc", "n1"), *x2 = obj("ns", "x", "abd", "n1");
	wf_informer_apply(inf, "ADDED", x1);
	wf_informer_apply(inf, "MODIFIED", x1);
	wf_informer_apply(inf, "MODIFIED", x2);
	wf_informer_apply(inf, "MODIFIED", x1);
	wf_informer_apply(inf, "DELETED", x2);
	assert_string_equal(r.log.data, "+ns/x ~ns/x ~ns/x -ns/x ");
	json_decref(x1);
	json_decref(x2);
	json_decref(v9);
	json_decref(v10);
	json_decref(v11);
	wf_informer_free(inf);
	wf_buf_free(&r.log);
}

/* A big index bucket: O(1) unlinking, order kept, keys listed. */
static void test_index_and_keys(void **state)
{
	wf_informer *inf = wf_informer_new(NULL, "/api/v1/pods");
	int by_node = wf_informer_add_index(inf, node_of);
	size_t n = 0;
	char **keys = wf_informer_keys(inf, &n);
	assert_int_equal(n, 0);
	assert_null(keys);
	wf_informer_keys_free(keys, n);
	enum { N = 3000 };
	for (int i = 0; i < N; i++) {
		char name[32], rv[32];
		snprintf(name, sizeof name, "p%d", i);
		snprintf(rv, sizeof rv, "%d", i + 1);
		json_t *o = obj("ns", name, rv, i % 3 ? "big" : "small");
		wf_informer_apply(inf, "ADDED", o);
		json_decref(o);
	}
	assert_int_equal(idx_count(inf, by_node, "big"), 2000);
	for (int i = 0; i < N; i += 2) {
		char name[32], rv[32];
		snprintf(name, sizeof name, "p%d", i);
		snprintf(rv, sizeof rv, "%d", i + 1);
		json_t *o = obj("ns", name, rv, NULL);
		wf_informer_apply(inf, "DELETED", o);
		json_decref(o);
	}
	assert_int_equal(wf_informer_count(inf), N / 2);
	json_t *big = wf_informer_by_index(inf, by_node, "big");
	assert_int_equal(json_array_size(big), 1000);
	/* In the order they were added. */
	int last = -1;
	size_t i;
	json_t *o;
	json_array_foreach(big, i, o)
	{
		const char *name =
		    json_string_value(json_object_get(json_object_get(o, "metadata"), "name"));
		int k = atoi(name + 1);
		assert_true(k > last);
		assert_int_equal(k % 2, 1);
		last = k;
	}
	json_decref(big);
	keys = wf_informer_keys(inf, &n);
	assert_int_equal(n, N / 2);
	for (size_t k = 0; k < n; k++) {
		assert_int_equal(strncmp(keys[k], "ns/p", 4), 0);
		assert_int_equal(atoi(keys[k] + 4) % 2, 1);
	}
	wf_informer_keys_free(keys, n);
	/* Everything moves to another node: the old buckets empty out. */
	for (int k = 1; k < N; k += 2) {
		char name[32], rv[32];
		snprintf(name, sizeof name, "p%d", k);
		snprintf(rv, sizeof rv, "%d", N + k);
		json_t *m = obj("ns", name, rv, "other");
		wf_informer_apply(inf, "MODIFIED", m);
		json_decref(m);
	}
	assert_int_equal(idx_count(inf, by_node, "big"), 0);
	assert_int_equal(idx_count(inf, by_node, "small"), 0);
	assert_int_equal(idx_count(inf, by_node, "other"), N / 2);
	wf_informer_free(inf);
}

/* ---- live, against the real API server ----------------------------------------------------------
 */

typedef struct live {
	char dir[64];
	char db[128];
	wf_store *store;
	wf_api *api;
	int port;
} live;

static void live_start(live *l, int port)
{
	wf_err err = {0};
	wf_store_options so = {.path = l->db};
	assert_int_equal(wf_store_open_sqlite(&so, &l->store, &err), 0);
	assert_int_equal(wf_api_bootstrap(l->store, &err), 0);
	char listen[64];
	snprintf(listen, sizeof listen, "127.0.0.1:%d", port);
	wf_api_options ao = {.listen = listen, .workers = 2, .store = l->store};
	int rc = -1;
	for (int tries = 0; tries < 100 && rc < 0; tries++) {
		rc = wf_api_start(&ao, &l->api, &err);
		if (rc < 0)
			usleep(50000); /* the old listener may linger a moment */
	}
	assert_int_equal(rc, 0);
	l->port = wf_api_port(l->api);
}

static void live_stop(live *l)
{
	wf_api_stop(l->api);
	wf_store_close(l->store);
}

static int put_pod(wf_client *c, const char *name, const char *node)
{
	json_t *p = json_pack("{s:s,s:s,s:{s:s},s:{s:s,s:[{s:s,s:s}]}}", "apiVersion", "v1", "kind",
			      "Pod", "metadata", "name", name, "spec", "nodeName", node,
			      "containers", "name", "c", "image", "busybox");
	long code = 0;
	wf_client_do(c, "POST", "/api/v1/namespaces/default/pods", p, NULL, &code, NULL, NULL);
	json_decref(p);
	return (int)code;
}

static int del_pod(wf_client *c, const char *name)
{
	char path[128];
	snprintf(path, sizeof path, "/api/v1/namespaces/default/pods/%s", name);
	json_t *opts = json_pack("{s:i}", "gracePeriodSeconds", 0);
	long code = 0;
	wf_client_do(c, "DELETE", path, opts, NULL, &code, NULL, NULL);
	json_decref(opts);
	return (int)code;
}

/* Wait (polling, at most ~20 s) until the cache holds exactly want pods. */
static bool wait_count(wf_informer *inf, size_t want)
{
	for (int i = 0; i < 2000; i++) {
		if (wf_informer_count(inf) == want)
			return true;
		usleep(10000);
	}
	return false;
}

static void test_live_list_watch_and_restart(void **state)
{
	live l = {0};
	snprintf(l.dir, sizeof l.dir, "/tmp/wf-informer-XXXXXX");
	assert_non_null(mkdtemp(l.dir));
	snprintf(l.db, sizeof l.db, "%s/state.db", l.dir);
	live_start(&l, 0);
	char url[64];
	snprintf(url, sizeof url, "http://127.0.0.1:%d", l.port);
	wf_client *c = wf_client_new(url);
	assert_int_equal(put_pod(c, "before", "n1"), 201);
	/* More than a page: the first list takes several requests. */
	for (int i = 0; i < WF_INFORMER_PAGE + 20; i++) {
		char name[32];
		snprintf(name, sizeof name, "bulk-%d", i);
		assert_int_equal(put_pod(c, name, "bulk"), 201);
	}
	const size_t bulk = WF_INFORMER_PAGE + 20;

	wf_informer *inf = wf_informer_new(c, "/api/v1/pods");
	rec r;
	rec_attach(inf, &r);
	int by_node = wf_informer_add_index(inf, node_of);
	wf_err err = {0};
	assert_int_equal(wf_informer_start(inf, &err), 0);
	assert_int_equal(wf_informer_start(inf, &err), -WF_EINVAL);
	assert_true(wf_informer_wait_synced(inf, 20000));
	assert_int_equal(wf_informer_count(inf), bulk + 1);
	assert_int_equal(idx_count(inf, by_node, "bulk"), bulk);

	/* Watch: adds and deletes arrive. */
	assert_int_equal(put_pod(c, "w1", "n2"), 201);
	assert_int_equal(put_pod(c, "w2", "n2"), 201);
	assert_true(wait_count(inf, bulk + 3));
	assert_int_equal(idx_count(inf, by_node, "n2"), 2);
	assert_int_equal(del_pod(c, "w1"), 200);
	assert_true(wait_count(inf, bulk + 2));

	/* The server goes away; changes happen while the informer is cut off. */
	int port = l.port;
	live_stop(&l);
	live_start(&l, port);
	assert_int_equal(del_pod(c, "before"), 200);
	assert_int_equal(put_pod(c, "after", "n3"), 201);
	/* The informer lists again and sees both changes. */
	assert_true(wait_count(inf, bulk + 2));
	for (int i = 0; i < 2000; i++) {
		json_t *got = wf_informer_get(inf, "default/after");
		json_t *old = wf_informer_get_nn(inf, "default", "before");
		bool ok = got && !old;
		json_decref(got);
		json_decref(old);
		if (ok)
			break;
		usleep(10000);
	}
	json_t *after = wf_informer_get(inf, "default/after");
	assert_non_null(after);
	json_decref(after);
	assert_null(wf_informer_get(inf, "default/before"));
	assert_int_equal(idx_count(inf, by_node, "n3"), 1);
	assert_non_null(strstr(r.log.data, "-default/before"));
	assert_non_null(strstr(r.log.data, "+default/after"));

	wf_informer_free(inf); /* stops the watch (within about a second) */
	live_stop(&l);
	wf_client_free(c);
	wf_buf_free(&r.log);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", l.dir);
	assert_int_equal(system(cmd), 0);
}

static void test_live_server_absent(void **state)
{
	/* Nobody listens: the informer keeps trying and stops cleanly. */
	wf_client *c = wf_client_new("http://127.0.0.1:1");
	wf_informer *inf = wf_informer_new(c, "/api/v1/pods");
	wf_err err = {0};
	assert_int_equal(wf_informer_start(inf, &err), 0);
	assert_false(wf_informer_wait_synced(inf, 300));
	wf_informer_free(inf);
	wf_client_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_apply_events),
	    cmocka_unit_test(test_replace_delivers_diff),
	    cmocka_unit_test(test_limits),
	    cmocka_unit_test(test_filter),
	    cmocka_unit_test(test_versions),
	    cmocka_unit_test(test_index_and_keys),
	    cmocka_unit_test(test_live_list_watch_and_restart),
	    cmocka_unit_test(test_live_server_absent),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
