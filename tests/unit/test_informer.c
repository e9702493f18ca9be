/*
 * test_informer.c - the controllers' list+watch cache: events applied to
 * the cache, handlers called in order, indexes kept in step, relists
 * delivered as a diff, hostile objects ignored; then live against a real
 * API server on loopback: list, watch, and a server restart with changes
 * made while the informer was cut off.
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
	rec r = {0};
	wf_buf_init(&r.log);
	wf_buf_puts(&r.log, "");
	wf_informer_handlers h = {.add = rec_add, .update = rec_update, .del = rec_del, .ctx = &r};
	assert_int_equal(wf_informer_add_handlers(inf, &h), 0);
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
	rec r = {0};
	wf_buf_init(&r.log);
	wf_buf_puts(&r.log, "");
	wf_informer_handlers h = {.add = rec_add, .update = rec_update, .del = rec_del, .ctx = &r};
	wf_informer_add_handlers(inf, &h);
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
	assert_string_equal(r.log.data, "-ns/gone ~ns/change +ns/new ");
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
	assert_null(wf_informer_key(NULL));
	wf_informer_free(inf);
	wf_informer_free(NULL);
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

	wf_informer *inf = wf_informer_new(c, "/api/v1/pods");
	rec r = {0};
	wf_buf_init(&r.log);
	wf_buf_puts(&r.log, "");
	wf_informer_handlers h = {.add = rec_add, .update = rec_update, .del = rec_del, .ctx = &r};
	wf_informer_add_handlers(inf, &h);
	int by_node = wf_informer_add_index(inf, node_of);
	wf_err err = {0};
	assert_int_equal(wf_informer_start(inf, &err), 0);
	assert_int_equal(wf_informer_start(inf, &err), -WF_EINVAL);
	assert_true(wf_informer_wait_synced(inf, 20000));
	assert_int_equal(wf_informer_count(inf), 1);

	/* Watch: adds and deletes arrive. */
	assert_int_equal(put_pod(c, "w1", "n2"), 201);
	assert_int_equal(put_pod(c, "w2", "n2"), 201);
	assert_true(wait_count(inf, 3));
	assert_int_equal(idx_count(inf, by_node, "n2"), 2);
	assert_int_equal(del_pod(c, "w1"), 200);
	assert_true(wait_count(inf, 2));

	/* The server goes away; changes happen while the informer is cut off. */
	int port = l.port;
	live_stop(&l);
	live_start(&l, port);
	assert_int_equal(del_pod(c, "before"), 200);
	assert_int_equal(put_pod(c, "after", "n3"), 201);
	/* The informer lists again and sees both changes. */
	assert_true(wait_count(inf, 2));
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
	    cmocka_unit_test(test_live_list_watch_and_restart),
	    cmocka_unit_test(test_live_server_absent),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
