/*
 * resource_read.c - get and list, as JSON objects, Lists or Tables.
 *
 * Lists stream stored text into the response and splice each object's
 * resourceVersion in; only selectors and Tables make objects get parsed.
 */
#include "api/api_internal.h"
#include "lib/wf_selector.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

void wf_handle_get(wf_req *r, const wf_target *t)
{
	char *key = wf_registry_key(t->kind, t->ns, t->name);
	wf_kv kv;
	wf_err err = {0};
	int rc = wf_store_get(r->api->store, key, &kv, &err);
	free(key);
	if (rc == -WF_ENOENT) {
		wf_reply_not_found(r, t->kind, t->name);
		return;
	}
	if (rc < 0) {
		wf_reply_err(r, &err, t->kind, t->name);
		return;
	}
	if (wf_req_wants_table(r)) {
		json_t *obj = wf_obj_decode(kv.value, kv.value_len, kv.mod_rev);
		json_t *table = wf_table_new(t->kind, true);
		const char *inc = wf_req_query(r, "includeObject");
		if (obj)
			wf_table_add_row(table, t->kind, obj, inc && !strcmp(inc, "Object"),
					 time(NULL));
		json_decref(obj);
		wf_kv_free(&kv);
		wf_reply_json(r, 200, table);
		return;
	}
	size_t len;
	char *text = wf_obj_text_with_rv(kv.value, kv.value_len, kv.mod_rev, &len);
	wf_kv_free(&kv);
	wf_reply_raw(r, 200, "application/json", text, len);
	free(text);
}

/* ---- selectors shared with watch.c -------------------------------------- */

typedef struct wf__lookup_ctx {
	const wf_kind *kind;
	const json_t *obj;
} wf__lookup_ctx;

static const char *wf__label_lookup(void *ctx, const char *key)
{
	wf__lookup_ctx *c = ctx;
	json_t *labels = wf_json_path(c->obj, "metadata.labels");
	return wf_json_str(labels, key);
}

static const char *wf__field_lookup(void *ctx, const char *key)
{
	wf__lookup_ctx *c = ctx;
	return wf_kind_field_value(c->kind, c->obj, key);
}

#include "api/filter.h"

int wf_filter_init(wf_filter *f, const wf_kind *k, const wf_req *r, wf_err *err)
{
	memset(f, 0, sizeof *f);
	f->kind = k;
	int rc = wf_label_selector_parse(wf_req_query(r, "labelSelector"), &f->labels, err);
	if (rc < 0)
		return rc;
	rc = wf_field_selector_parse(wf_req_query(r, "fieldSelector"), &f->fields, err);
	if (rc < 0) {
		wf_selector_free(&f->labels);
		return rc;
	}
	for (size_t i = 0; i < f->fields.nreqs; i++) {
		const char *field = f->fields.reqs[i].key;
		if (!wf_kind_field_supported(k, field)) {
			rc = wf_err_set(err, WF_EINVAL, "field label not supported: %s", field);
			wf_filter_free(f);
			return rc;
		}
		if (!strcmp(field, "metadata.name") && f->fields.reqs[i].op == WF_SEL_EQ)
			f->name = f->fields.reqs[i].values[0];
		if (!strcmp(field, "metadata.namespace") && f->fields.reqs[i].op == WF_SEL_EQ)
			f->ns = f->fields.reqs[i].values[0];
	}
	return 0;
}

bool wf_filter_empty(const wf_filter *f)
{
	return wf_selector_empty(&f->labels) && wf_selector_empty(&f->fields);
}

bool wf_filter_matches(const wf_filter *f, const json_t *obj)
{
	if (!obj)
		return false;
	wf__lookup_ctx c = {.kind = f->kind, .obj = obj};
	return wf_selector_matches(&f->labels, wf__label_lookup, &c) &&
	       wf_field_selector_matches(&f->fields, wf__field_lookup, &c);
}

void wf_filter_free(wf_filter *f)
{
	wf_selector_free(&f->labels);
	wf_selector_free(&f->fields);
}

/* ---- list -------------------------------------------------------------------- */

typedef struct wf__list_ctx {
	const wf_kind *kind;
	wf_filter *filter;
	bool table;
	bool include_object;
	time_t now;
	json_t *tbl;
	wf_buf out;
	size_t count;
	size_t limit;
	bool more;
	char *last_key;
} wf__list_ctx;

static int wf__list_item(void *ctx, const wf_kv *kv)
{
	wf__list_ctx *c = ctx;
	json_t *obj = NULL;
	if (!wf_filter_empty(c->filter) || c->table) {
		obj = wf_obj_decode(kv->value, kv->value_len, kv->mod_rev);
		if (!wf_filter_matches(c->filter, obj)) {
			json_decref(obj);
			return 0;
		}
	}
	if (c->limit && c->count == c->limit) {
		c->more = true;
		json_decref(obj);
		return 1;
	}
	if (c->table) {
		wf_table_add_row(c->tbl, c->kind, obj, c->include_object, c->now);
	} else {
		size_t len;
		char *text = wf_obj_text_with_rv(kv->value, kv->value_len, kv->mod_rev, &len);
		if (c->count)
			wf_buf_putc(&c->out, ',');
		wf_buf_append(&c->out, text, len);
		free(text);
	}
	json_decref(obj);
	free(c->last_key);
	c->last_key = wf_xstrdup(kv->key);
	c->count++;
	return 0;
}

static char *wf__continue_encode(const char *key)
{
	size_t n = strlen(key);
	unsigned char *out = wf_xmalloc(4 * ((n + 2) / 3) + 1);
	EVP_EncodeBlock(out, (const unsigned char *)key, (int)n);
	return (char *)out;
}

static char *wf__continue_decode(const char *tok, const char *prefix)
{
	size_t n = strlen(tok);
	if (!n || n % 4 || n > 8192)
		return NULL;
	unsigned char *out = wf_xmalloc(n);
	int len = EVP_DecodeBlock(out, (const unsigned char *)tok, (int)n);
	if (len < 0) {
		free(out);
		return NULL;
	}
	while (len > 0 && tok[n - 1] == '=' && n--)
		len--;
	char *key = wf_xstrndup((char *)out, (size_t)len);
	free(out);
	if (strlen(key) != (size_t)len || strncmp(key, prefix, strlen(prefix))) {
		free(key);
		return NULL;
	}
	return key;
}

void wf_handle_list(wf_req *r, const wf_target *t)
{
	wf_err err = {0};
	wf_filter filter;
	if (wf_filter_init(&filter, t->kind, r, &err) < 0) {
		wf_reply_err(r, &err, NULL, NULL);
		return;
	}
	const char *ns = t->ns ? t->ns : (t->kind->namespaced ? filter.ns : NULL);
	char *prefix = wf_registry_prefix(t->kind, ns);
	wf__list_ctx c = {.kind = t->kind, .filter = &filter, .table = wf_req_wants_table(r),
			  .now = time(NULL)};
	wf_buf_init(&c.out);
	const char *lim = wf_req_query(r, "limit");
	if (lim) {
		char *end;
		long long l = strtoll(lim, &end, 10);
		if (*end || l < 0 || strspn(lim, "0123456789") != strlen(lim)) {
			wf_reply_status(r, 400, "BadRequest", "limit must be a non-negative integer",
					NULL);
			goto out;
		}
		c.limit = (size_t)l;
	}
	char *start = NULL;
	const char *cont = wf_req_query(r, "continue");
	if (cont && cont[0]) {
		start = wf__continue_decode(cont, prefix);
		if (!start) {
			wf_reply_status(r, 400, "BadRequest", "continue key is not valid", NULL);
			goto out;
		}
	}
	const char *inc = wf_req_query(r, "includeObject");
	c.include_object = inc && !strcmp(inc, "Object");
	if (c.table)
		c.tbl = wf_table_new(t->kind, true);
	int64_t rev = 0;
	int rc;
	if (filter.name && (!t->kind->namespaced || ns)) {
		/* metadata.name=X names exactly one key. */
		char *key = wf_registry_key(t->kind, ns, filter.name);
		wf_kv kv;
		rev = wf_store_revision(r->api->store);
		rc = wf_store_get(r->api->store, key, &kv, &err);
		if (rc == 0) {
			wf__list_item(&c, &kv);
			wf_kv_free(&kv);
		} else if (rc == -WF_ENOENT) {
			rc = 0;
		}
		free(key);
	} else {
		rc = wf_store_range(r->api->store, prefix, start, 0, wf__list_item, &c, &rev, NULL,
				    &err);
	}
	free(start);
	if (rc < 0) {
		wf_reply_err(r, &err, t->kind, NULL);
		goto out;
	}
	char *cont_tok = c.more && c.last_key ? wf__continue_encode(c.last_key) : NULL;
	if (c.table) {
		json_t *md = json_object_get(c.tbl, "metadata");
		char rvs[32];
		snprintf(rvs, sizeof rvs, "%lld", (long long)rev);
		json_object_set_new(md, "resourceVersion", json_string(rvs));
		if (cont_tok)
			json_object_set_new(md, "continue", json_string(cont_tok));
		wf_reply_json(r, 200, c.tbl);
		c.tbl = NULL;
	} else {
		wf_buf body;
		wf_buf_init(&body);
		wf_buf_printf(&body,
			      "{\"kind\":\"%sList\",\"apiVersion\":\"%s\",\"metadata\":{"
			      "\"resourceVersion\":\"%lld\"",
			      t->kind->kind, wf_kind_api_version(t->kind), (long long)rev);
		if (cont_tok)
			wf_buf_printf(&body, ",\"continue\":\"%s\"", cont_tok);
		wf_buf_puts(&body, "},\"items\":[");
		wf_buf_append(&body, c.out.data ? c.out.data : "", c.out.len);
		wf_buf_puts(&body, "]}");
		wf_reply_raw(r, 200, "application/json", body.data, body.len);
		wf_buf_free(&body);
	}
	free(cont_tok);
out:
	json_decref(c.tbl);
	wf_buf_free(&c.out);
	free(c.last_key);
	free(prefix);
	wf_filter_free(&filter);
}
