/*
 * test_request_queue.c - fire-and-forget requests: everything queued reaches a
 * real API server on loopback (and wf_request_queue_free sends what is still
 * queued), a rejected body is counted as sent and stores nothing, and a
 * full queue drops new items and counts them while a post hangs on a
 * server that never answers.
 */
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "client/request_queue.h"
#include "live_api.h"

static json_t *event(const char *name)
{
	return json_pack("{s:s,s:s,s:{s:s,s:s},s:{s:s,s:s,s:s},s:s,s:s,s:s}", "apiVersion", "v1",
			 "kind", "Event", "metadata", "name", name, "namespace", "default",
			 "involvedObject", "kind", "Pod", "namespace", "default", "name", "p",
			 "reason", "Started", "message", "Started container c", "type", "Normal");
}

static size_t count_events(wf_client *c)
{
	json_t *list = NULL;
	if (wf_client_get(c, "/api/v1/namespaces/default/events", &list, NULL) < 0)
		return (size_t)-1;
	size_t n = json_array_size(json_object_get(list, "items"));
	json_decref(list);
	return n;
}

static void test_all_posted_and_drained(void **state)
{
	live_api l;
	live_api_start(&l);
	wf_client *c = l.client;

	wf_request_queue *q = wf_request_queue_new(c, 3, 1000);
	for (int i = 0; i < 200; i++) {
		char name[32];
		snprintf(name, sizeof name, "ev-%d", i);
		assert_true(wf_request_queue_add(q, "POST", "/api/v1/namespaces/default/events", NULL, event(name)));
	}
	/* An Event the server rejects (an invalid name), and a bad path. */
	json_t *bad = event("Not A Name!");
	assert_true(wf_request_queue_add(q, "POST", "/api/v1/namespaces/default/events", NULL, bad));
	assert_true(wf_request_queue_add(q, "POST", "/api/v1/namespaces/default/nosuchthings", NULL, event("x")));
	wf_request_queue_free(q); /* sends what is still queued */
	assert_int_equal(count_events(c), 200);

	q = wf_request_queue_new(c, 1, 10);
	assert_true(wf_request_queue_add(q, "POST", "/api/v1/namespaces/default/events", NULL, event("last")));
	for (int i = 0; i < 500 && wf_request_queue_sent(q) < 1; i++)
		usleep(10000);
	assert_int_equal(wf_request_queue_sent(q), 1);
	assert_int_equal(wf_request_queue_dropped(q), 0);
	wf_request_queue_free(q);
	assert_int_equal(count_events(c), 201);

	live_api_stop(&l);
}

static void test_full_queue_drops(void **state)
{
	/* A server that accepts and never answers holds the only worker. */
	int ls = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	assert_int_equal(bind(ls, (struct sockaddr *)&sa, sizeof sa), 0);
	assert_int_equal(listen(ls, 8), 0);
	socklen_t len = sizeof sa;
	getsockname(ls, (struct sockaddr *)&sa, &len);
	char url[64];
	snprintf(url, sizeof url, "http://127.0.0.1:%d", ntohs(sa.sin_port));
	wf_client *c = wf_client_new(url);
	wf_request_queue *q = wf_request_queue_new(c, 1, 2);
	assert_true(wf_request_queue_add(q, "POST", "/api/v1/namespaces/default/events", NULL, event("a")));
	int conn = accept(ls, NULL, NULL); /* the worker took "a" and hangs on it */
	assert_true(conn >= 0);
	assert_true(wf_request_queue_add(q, "POST", "/api/v1/namespaces/default/events", NULL, event("b")));
	assert_true(wf_request_queue_add(q, "POST", "/api/v1/namespaces/default/events", NULL, event("c")));
	assert_false(wf_request_queue_add(q, "POST", "/api/v1/namespaces/default/events", NULL, event("d")));
	assert_false(wf_request_queue_add(q, "POST", "/api/v1/namespaces/default/events", NULL, event("e")));
	assert_int_equal(wf_request_queue_dropped(q), 2);
	/* The server goes: the hung post fails, the rest fail fast. */
	close(conn);
	close(ls);
	wf_request_queue_free(q);
	wf_client_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_all_posted_and_drained),
	    cmocka_unit_test(test_full_queue_drops),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
