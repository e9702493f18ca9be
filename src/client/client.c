/*
 * client.c - the Kubernetes API client over libcurl.
 */
#include "client/client.h"
#include "lib/wf_mem.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

struct wf_client {
	char *url;
};

static pthread_once_t wf__curl_once = PTHREAD_ONCE_INIT;
static pthread_key_t wf__curl_key;

static void wf__curl_free(void *h)
{
	curl_easy_cleanup(h);
}

static void wf__curl_init(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	pthread_key_create(&wf__curl_key, wf__curl_free);
}

/* This thread's reusable handle (keeps the connection alive). */
static CURL *wf__handle(void)
{
	pthread_once(&wf__curl_once, wf__curl_init);
	CURL *h = pthread_getspecific(wf__curl_key);
	if (!h) {
		h = curl_easy_init();
		pthread_setspecific(wf__curl_key, h);
	} else {
		curl_easy_reset(h);
	}
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 10L);
	return h;
}

wf_client *wf_client_new(const char *server_url)
{
	pthread_once(&wf__curl_once, wf__curl_init);
	wf_client *c = wf_xcalloc(1, sizeof *c);
	c->url = wf_xstrdup(server_url);
	size_t n = strlen(c->url);
	while (n && c->url[n - 1] == '/')
		c->url[--n] = '\0';
	return c;
}

void wf_client_free(wf_client *c)
{
	if (!c)
		return;
	free(c->url);
	free(c);
}

const char *wf_client_url(const wf_client *c)
{
	return c->url;
}

char *wf_client_escape(const char *s)
{
	char *e = curl_easy_escape(NULL, s, 0);
	char *r = wf_xstrdup(e ? e : "");
	curl_free(e);
	return r;
}

static size_t wf__collect(char *p, size_t sz, size_t n, void *ud)
{
	wf_buf_append(ud, p, sz * n);
	return sz * n;
}

int wf_client_do(wf_client *c, const char *method, const char *path, const json_t *body,
		 const char *content_type, long *code, json_t **resp, wf_err *err)
{
	CURL *h = wf__handle();
	char *url = wf_xasprintf("%s%s", c->url, path);
	char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
	struct curl_slist *hdr = NULL;
	char ct[128];
	snprintf(ct, sizeof ct, "Content-Type: %s", content_type ? content_type : "application/json");
	hdr = curl_slist_append(hdr, ct);
	hdr = curl_slist_append(hdr, "Accept: application/json");
	hdr = curl_slist_append(hdr, "User-Agent: wharf-agent");
	wf_buf out;
	wf_buf_init(&out);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 60L);
	if (text) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, text);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(text));
	}
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, wf__collect);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &out);
	CURLcode rc = curl_easy_perform(h);
	long status = 0;
	int ret = 0;
	if (rc != CURLE_OK) {
		ret = wf_err_set(err, WF_EIO, "%s %s: %s", method, path, curl_easy_strerror(rc));
	} else {
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
		if (resp)
			*resp = out.len ? json_loadb(out.data, out.len, 0, NULL) : NULL;
	}
	if (code)
		*code = status;
	wf_buf_free(&out);
	curl_slist_free_all(hdr);
	free(text);
	free(url);
	return ret;
}

int wf_client_get(wf_client *c, const char *path, json_t **out, wf_err *err)
{
	long code;
	json_t *resp = NULL;
	int rc = wf_client_do(c, "GET", path, NULL, NULL, &code, &resp, err);
	if (rc < 0)
		return rc;
	if (code == 200 && resp) {
		*out = resp;
		return 0;
	}
	const char *msg = json_string_value(json_object_get(resp, "message"));
	rc = wf_err_set(err, code == 404 ? WF_ENOENT : WF_EIO, "GET %s: %ld %s", path, code,
			msg ? msg : "");
	json_decref(resp);
	return rc;
}

typedef struct wf__watch_ctx {
	wf_buf line;
	wf_client_event_fn fn;
	void *ctx;
	bool stopped;
	volatile bool *stop;
} wf__watch_ctx;

static size_t wf__watch_data(char *p, size_t sz, size_t n, void *ud)
{
	wf__watch_ctx *w = ud;
	size_t len = sz * n;
	for (size_t i = 0; i < len;) {
		const char *nl = memchr(p + i, '\n', len - i);
		size_t take = nl ? (size_t)(nl - (p + i)) : len - i;
		wf_buf_append(&w->line, p + i, take);
		i += take;
		if (!nl)
			break;
		i++; /* the newline */
		json_t *ev = w->line.len ? json_loadb(w->line.data, w->line.len, 0, NULL) : NULL;
		w->line.len = 0;
		if (!ev)
			continue;
		const char *type = json_string_value(json_object_get(ev, "type"));
		json_t *obj = json_object_get(ev, "object");
		if (type && obj && !w->fn(w->ctx, type, obj))
			w->stopped = true;
		json_decref(ev);
		if (w->stopped)
			return 0;
	}
	return len;
}

static int wf__watch_progress(void *ud, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
	wf__watch_ctx *w = ud;
	return (w->stop && *w->stop) ? 1 : 0;
}

int wf_client_watch(wf_client *c, const char *path, wf_client_event_fn fn, void *ctx,
		    volatile bool *stop, wf_err *err)
{
	CURL *h = wf__handle();
	char *url = wf_xasprintf("%s%s", c->url, path);
	struct curl_slist *hdr = curl_slist_append(NULL, "Accept: application/json");
	wf__watch_ctx w = {.fn = fn, .ctx = ctx, .stop = stop};
	wf_buf_init(&w.line);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, wf__watch_data);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &w);
	curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, wf__watch_progress);
	curl_easy_setopt(h, CURLOPT_XFERINFODATA, &w);
	/* Notice a dead server within a minute even when no event comes. */
	curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 0L);
	CURLcode rc = curl_easy_perform(h);
	int ret = 0;
	if (rc != CURLE_OK && !w.stopped && !(stop && *stop) && rc != CURLE_WRITE_ERROR)
		ret = wf_err_set(err, WF_EIO, "watch %s: %s", path, curl_easy_strerror(rc));
	wf_buf_free(&w.line);
	curl_slist_free_all(hdr);
	free(url);
	return ret;
}
