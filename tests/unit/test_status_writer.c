/*
 * test_status_writer.c - the agent's pod writes against a real API server
 * on loopback: the latest status wins and is acknowledged, a metadata patch
 * lands, a write for a missing pod is reported as failed, a malformed
 * status is reported as failed and changes nothing.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "agent/status_writer.h"
#include "live_api.h"

typedef struct reports {
	pthread_mutex_t mu;
	int ok, failed;
	char last_ok[256];
} reports;

static void on_done(void *ctx, const char *uid, const char *status, bool ok)
{
	reports *r = ctx;
	pthread_mutex_lock(&r->mu);
	if (ok) {
		r->ok++;
		snprintf(r->last_ok, sizeof r->last_ok, "%s", status);
	} else {
		r->failed++;
	}
	pthread_mutex_unlock(&r->mu);
}

static json_t *get_pod(wf_client *c, const char *name)
{
	char path[128];
	snprintf(path, sizeof path, "/api/v1/namespaces/default/pods/%s", name);
	json_t *p = NULL;
	wf_client_get(c, path, &p, NULL);
	return p;
}

static void test_writes(void **state)
{
	live_api l;
	live_api_start(&l);
	wf_client *c = l.client;
	json_t *pod = json_pack("{s:s,s:s,s:{s:s},s:{s:[{s:s,s:s}]}}", "apiVersion", "v1", "kind",
				"Pod", "metadata", "name", "p", "spec", "containers", "name", "c",
				"image", "busybox");
	long code = 0;
	json_t *created = NULL;
	wf_client_do(c, "POST", "/api/v1/namespaces/default/pods", pod, NULL, &code, &created,
		     NULL);
	assert_int_equal(code, 201);
	const char *uid = json_string_value(
	    json_object_get(json_object_get(created, "metadata"), "uid"));
	assert_non_null(uid);

	reports rep = {.mu = PTHREAD_MUTEX_INITIALIZER};
	wf_status_writer *w = wf_status_writer_new(c, 3, on_done, &rep);
	/* Metadata rides with a status, or alone; merged into a waiting write. */
	wf_status_writer_put(w, "default", "p", uid, "{\"phase\":\"Pending\"}",
			     json_pack("{s:{s:{s:s}}}", "metadata", "annotations", "wharf.io/gpus",
				       "{\"c\":[\"GPU-1\"]}"));
	for (int i = 0; i < 50; i++)
		wf_status_writer_put(w, "default", "p", uid, "{\"phase\":\"Pending\"}", NULL);
	wf_status_writer_put(w, "default", "p", uid, NULL,
			     json_pack("{s:{s:{s:s}}}", "metadata", "annotations", "example.com/a",
				       "1"));
	wf_status_writer_put(w, "default", "p", uid, NULL,
			     json_pack("{s:{s:{s:s}}}", "metadata", "labels", "b", "2"));
	wf_status_writer_put(w, "default", "p", uid, "{\"phase\":\"Running\"}", NULL);
	wf_status_writer_put(w, "default", "gone", "no-such-uid", "{\"phase\":\"Running\"}",
			     NULL);
	wf_status_writer_put(w, "default", "p", "uid-2", "{\"phase\": [not json", NULL);
	wf_status_writer_free(w); /* sends what is queued */

	/* Waiting writes were replaced: far fewer than 51 were sent, and the
	 * last one acknowledged is the latest status. */
	assert_true(rep.ok >= 1 && rep.ok <= 51);
	assert_string_equal(rep.last_ok, "{\"phase\":\"Running\"}");
	assert_int_equal(rep.failed, 2);
	json_t *p = get_pod(c, "p");
	assert_string_equal(json_string_value(json_object_get(json_object_get(p, "status"), "phase")),
			    "Running");
	const char *ann = json_string_value(json_object_get(
	    json_object_get(json_object_get(p, "metadata"), "annotations"), "wharf.io/gpus"));
	assert_non_null(ann);
	assert_string_equal(ann, "{\"c\":[\"GPU-1\"]}");
	json_t *md = json_object_get(p, "metadata");
	assert_string_equal(json_string_value(json_object_get(json_object_get(md, "annotations"),
							      "example.com/a")),
			    "1");
	assert_string_equal(json_string_value(json_object_get(json_object_get(md, "labels"), "b")),
			    "2");
	json_decref(p);
	assert_null(get_pod(c, "gone"));

	json_decref(pod);
	json_decref(created);
	live_api_stop(&l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_writes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
