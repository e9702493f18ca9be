/*
 * live_api.h - for unit tests: a real API server in-process on loopback,
 * on a fresh SQLite store in a temporary directory, and a client for it.
 */
#ifndef WF_TEST_LIVE_API_H
#define WF_TEST_LIVE_API_H

#include <stdio.h>
#include <stdlib.h>

#include "api/api.h"
#include "client/client.h"
#include "store/store.h"

typedef struct live_api {
	char dir[64];
	wf_store *store;
	wf_api *api;
	wf_client *client;
} live_api;

static inline void live_api_start(live_api *l)
{
	snprintf(l->dir, sizeof l->dir, "/tmp/wf-live-XXXXXX");
	assert_non_null(mkdtemp(l->dir));
	char db[128];
	snprintf(db, sizeof db, "%s/state.db", l->dir);
	wf_err err = {0};
	wf_store_options so = {.path = db};
	assert_int_equal(wf_store_open_sqlite(&so, &l->store, &err), 0);
	assert_int_equal(wf_api_bootstrap(l->store, &err), 0);
	wf_api_options ao = {.listen = "127.0.0.1:0", .workers = 2, .store = l->store};
	assert_int_equal(wf_api_start(&ao, &l->api, &err), 0);
	char url[64];
	snprintf(url, sizeof url, "http://127.0.0.1:%d", wf_api_port(l->api));
	l->client = wf_client_new(url);
}

static inline void live_api_stop(live_api *l)
{
	wf_client_free(l->client);
	wf_api_stop(l->api);
	wf_store_close(l->store);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", l->dir);
	assert_int_equal(system(cmd), 0);
}

#endif
