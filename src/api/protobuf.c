/*
 * protobuf.c - the protobuf wire-format decoder behind protobuf.h: reads
 * varints, 64-bit, length-delimited and 32-bit fields, checks each against
 * a wf_pb_msg descriptor and builds the JSON value Kubernetes' own JSON
 * encoding would give. The descriptors live in protobuf_schema.c.
 *
 * Invariants: every read is bounds-checked against its enclosing message;
 * recursion goes one level per nested message and stops at
 * WF_PB_MAX_DEPTH; at most WF_PB_MAX_NODES JSON values are built; on any
 * error the partial JSON is released by the caller's single decref and the
 * error names the field and its JSON path.
 */
#include "api/protobuf.h"
#include "lib/wf_mem.h"
#include "lib/wf_time.h"

#include <limits.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

enum { WF__WT_VARINT = 0, WF__WT_I64 = 1, WF__WT_LEN = 2, WF__WT_I32 = 5 };

/* Decoding state for one body. */
typedef struct wf__pb {
	wf_err *err;
	size_t nodes;
	size_t plen;
	char path[256]; /* JSON path of the value being decoded, for messages */
} wf__pb;

/* A window of the input. */
typedef struct wf__rd {
	const uint8_t *p;
	const uint8_t *end;
} wf__rd;

/* One decoded wire value: a varint, or a span of bytes. */
typedef struct wf__wv {
	int wt;
	uint64_t u;
	const uint8_t *p;
	size_t n;
} wf__wv;

static int wf__decode_into(wf__pb *c, const wf_pb_msg *m, const uint8_t *buf, size_t len,
			   json_t *obj, int depth);

static int wf__fail(wf__pb *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int wf__fail(wf__pb *c, const char *fmt, ...)
{
	char msg[384];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (c->plen)
		return wf_err_set(c->err, WF_EINVAL, "protobuf body: %s (at %s)", msg, c->path);
	return wf_err_set(c->err, WF_EINVAL, "protobuf body: %s", msg);
}

static size_t wf__path_push(wf__pb *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static size_t wf__path_push(wf__pb *c, const char *fmt, ...)
{
	size_t old = c->plen;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(c->path + old, sizeof c->path - old, fmt, ap);
	va_end(ap);
	if (n > 0)
		c->plen = old + (size_t)n < sizeof c->path ? old + (size_t)n : sizeof c->path - 1;
	return old;
}

static void wf__path_pop(wf__pb *c, size_t old)
{
	c->plen = old;
	c->path[old] = '\0';
}

static int wf__count(wf__pb *c)
{
	if (++c->nodes > WF_PB_MAX_NODES)
		return wf__fail(c, "more than %d values", WF_PB_MAX_NODES);
	return 0;
}

/* ---- wire level ---------------------------------------------------------------- */

static int wf__varint(wf__pb *c, wf__rd *r, uint64_t *out)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < 10; i++) {
		if (r->p >= r->end)
			return wf__fail(c, "truncated varint");
		uint8_t b = *r->p++;
		if (i == 9 && b > 1)
			return wf__fail(c, "varint longer than 64 bits");
		v |= (uint64_t)(b & 0x7f) << (7 * i);
		if (!(b & 0x80)) {
			*out = v;
			return 0;
		}
	}
	return wf__fail(c, "varint longer than 64 bits"); /* not reached */
}

/* Read the value of a field whose key said wire type wt. */
static int wf__wire_value(wf__pb *c, wf__rd *r, int wt, wf__wv *v)
{
	size_t left;
	v->wt = wt;
	v->u = 0;
	v->p = NULL;
	v->n = 0;
	switch (wt) {
	case WF__WT_VARINT:
		return wf__varint(c, r, &v->u);
	case WF__WT_LEN: {
		uint64_t n;
		int rc = wf__varint(c, r, &n);
		if (rc < 0)
			return rc;
		left = (size_t)(r->end - r->p);
		if (n > left)
			return wf__fail(
			    c, "length %llu runs past the end of the data (%zu bytes left)",
			    (unsigned long long)n, left);
		v->p = r->p;
		v->n = (size_t)n;
		r->p += n;
		return 0;
	}
	case WF__WT_I64:
	case WF__WT_I32:
		left = (size_t)(r->end - r->p);
		v->n = wt == WF__WT_I64 ? 8 : 4;
		if (left < v->n)
			return wf__fail(c, "truncated %zu-byte fixed field", v->n);
		v->p = r->p;
		for (size_t i = 0; i < v->n; i++)
			v->u |= (uint64_t)r->p[i] << (8 * i);
		r->p += v->n;
		return 0;
	case 3:
	case 4:
		return wf__fail(c, "protobuf groups (wire type %d) are not supported", wt);
	default:
		return wf__fail(c, "invalid wire type %d", wt);
	}
}

/* ---- values -------------------------------------------------------------------- */

static bool wf__is_varint_type(int type)
{
	return type == WF_PB_BOOL || type == WF_PB_INT32 || type == WF_PB_INT64;
}

static json_t *wf__base64(const uint8_t *p, size_t n)
{
	size_t cap = (n + 2) / 3 * 4 + 1;
	unsigned char *out = wf_xmalloc(cap);
	int len = n ? EVP_EncodeBlock(out, p, (int)n) : 0;
	json_t *s = json_stringn((const char *)out, len > 0 ? (size_t)len : 0);
	free(out);
	return s;
}

static int wf__string(wf__pb *c, const wf_pb_field *f, const uint8_t *p, size_t n, json_t **out)
{
	if (memchr(p, 0, n))
		return wf__fail(c, "string field %u (%s) holds a NUL byte", f->num, f->json);
	json_t *s = json_stringn((const char *)p, n);
	if (!s)
		return wf__fail(c, "string field %u (%s) is not valid UTF-8", f->num, f->json);
	*out = s;
	return 0;
}

/* The helper messages of the special types, decoded generically first. */
static const wf_pb_field wf__time_f[] = {
    {1, WF_PB_INT64, WF_PB_KEEP, "seconds", NULL},
    {2, WF_PB_INT32, WF_PB_KEEP, "nanos", NULL},
};
static const wf_pb_msg wf__time_m = {"Time", wf__time_f, 2};
static const wf_pb_field wf__quantity_f[] = {{1, WF_PB_STRING, WF_PB_KEEP, "string", NULL}};
static const wf_pb_msg wf__quantity_m = {"Quantity", wf__quantity_f, 1};
static const wf_pb_field wf__intorstr_f[] = {
    {1, WF_PB_INT64, WF_PB_KEEP, "type", NULL},
    {2, WF_PB_INT32, WF_PB_KEEP, "intVal", NULL},
    {3, WF_PB_STRING, WF_PB_KEEP, "strVal", NULL},
};
static const wf_pb_msg wf__intorstr_m = {"IntOrString", wf__intorstr_f, 3};
static const wf_pb_field wf__fieldsv1_f[] = {{1, WF_PB_STRING, WF_PB_KEEP, "Raw", NULL}};
static const wf_pb_msg wf__fieldsv1_m = {"FieldsV1", wf__fieldsv1_f, 1};

static const wf_pb_msg *wf__special_msg(int type)
{
	switch (type) {
	case WF_PB_TIME:
	case WF_PB_MICROTIME:
		return &wf__time_m;
	case WF_PB_QUANTITY:
		return &wf__quantity_m;
	case WF_PB_INTORSTR:
		return &wf__intorstr_m;
	case WF_PB_RAWJSON:
		return &wf__fieldsv1_m;
	default:
		return NULL;
	}
}

/* The JSON form of a special message already decoded into tmp. *out is NULL
 * for Go's zero time. */
static int wf__special_json(wf__pb *c, const wf_pb_field *f, int type, json_t *tmp, size_t len,
			    json_t **out, bool *zero)
{
	*out = NULL;
	*zero = false;
	switch (type) {
	case WF_PB_TIME:
	case WF_PB_MICROTIME: {
		if (!len)
			return 0;
		json_int_t secs = json_integer_value(json_object_get(tmp, "seconds"));
		json_int_t nanos = json_integer_value(json_object_get(tmp, "nanos"));
		if (nanos < 0 || nanos > 999999999)
			return wf__fail(c, "field %u (%s): nanos %lld out of range", f->num,
					f->json, (long long)nanos);
		char buf[40];
		if (type == WF_PB_TIME) {
			wf_time_rfc3339((time_t)secs, buf);
		} else {
			struct timespec ts = {.tv_sec = (time_t)secs, .tv_nsec = (long)nanos};
			wf_time_rfc3339_micro(&ts, buf);
		}
		*out = json_string(buf);
		return 0;
	}
	case WF_PB_QUANTITY: {
		const char *s = json_string_value(json_object_get(tmp, "string"));
		*zero = !s || !s[0];
		*out = json_string(*zero ? "0" : s);
		return 0;
	}
	case WF_PB_INTORSTR: {
		json_int_t t = json_integer_value(json_object_get(tmp, "type"));
		if (t == 0) {
			json_int_t i = json_integer_value(json_object_get(tmp, "intVal"));
			*zero = i == 0;
			*out = json_integer(i);
		} else if (t == 1) {
			json_t *s = json_object_get(tmp, "strVal");
			*zero = !s || !json_string_length(s);
			*out = s ? json_incref(s) : json_string("");
		} else {
			return wf__fail(c,
					"field %u (%s): IntOrString type %lld is neither 0 nor 1",
					f->num, f->json, (long long)t);
		}
		return 0;
	}
	case WF_PB_RAWJSON: {
		json_t *raw = json_object_get(tmp, "Raw");
		if (!raw)
			return 0;
		json_error_t je;
		*out = json_loadb(json_string_value(raw), json_string_length(raw),
				  JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &je);
		if (!*out)
			return wf__fail(c, "field %u (%s) does not hold JSON: %s", f->num, f->json,
					je.text);
		return 0;
	}
	}
	return wf__fail(c, "field %u (%s): bad descriptor type %d", f->num, f->json, type);
}

/*
 * One value of `type` from a wire value (no packing, no maps). *out is the
 * new JSON value, or NULL when there is nothing to emit (zero time);
 * *zero tells whether it is the type's zero value.
 */
static int wf__value(wf__pb *c, const wf_pb_field *f, int type, const wf__wv *v, int depth,
		     json_t **out, bool *zero)
{
	*out = NULL;
	*zero = false;
	int rc = wf__count(c);
	if (rc < 0)
		return rc;
	bool want_len = !wf__is_varint_type(type);
	if ((v->wt == WF__WT_LEN) != want_len || (!want_len && v->wt != WF__WT_VARINT))
		return wf__fail(c, "field %u (%s) has wire type %d, expected %d", f->num, f->json,
				v->wt, want_len ? WF__WT_LEN : WF__WT_VARINT);
	switch (type) {
	case WF_PB_STRING:
		*zero = v->n == 0;
		return wf__string(c, f, v->p, v->n, out);
	case WF_PB_BYTES:
		if (v->n > INT_MAX / 2)
			return wf__fail(c, "bytes field %u (%s) is too large", f->num, f->json);
		*zero = v->n == 0;
		*out = wf__base64(v->p, v->n);
		return 0;
	case WF_PB_BOOL:
		*zero = v->u == 0;
		*out = json_boolean(v->u != 0);
		return 0;
	case WF_PB_INT32: {
		int64_t i = (int64_t)v->u;
		if (i < INT32_MIN || i > INT32_MAX)
			return wf__fail(c, "int32 field %u (%s) out of range: %lld", f->num,
					f->json, (long long)i);
		*zero = i == 0;
		*out = json_integer(i);
		return 0;
	}
	case WF_PB_INT64:
		*zero = v->u == 0;
		*out = json_integer((json_int_t)(int64_t)v->u);
		return 0;
	case WF_PB_MSG: {
		json_t *o = json_object();
		rc = wf__decode_into(c, f->sub, v->p, v->n, o, depth + 1);
		if (rc < 0) {
			json_decref(o);
			return rc;
		}
		*out = o;
		return 0;
	}
	case WF_PB_TIME:
	case WF_PB_MICROTIME:
	case WF_PB_QUANTITY:
	case WF_PB_INTORSTR:
	case WF_PB_RAWJSON: {
		json_t *tmp = json_object();
		rc = wf__decode_into(c, wf__special_msg(type), v->p, v->n, tmp, depth + 1);
		if (rc == 0)
			rc = wf__special_json(c, f, type, tmp, v->n, out, zero);
		json_decref(tmp);
		return rc;
	}
	}
	return wf__fail(c, "field %u (%s): bad descriptor type %d", f->num, f->json, type);
}

/* ---- fields -------------------------------------------------------------------- */

static json_t *wf__child(json_t *obj, const char *name, bool array)
{
	json_t *v = json_object_get(obj, name);
	if (v && (array ? json_is_array(v) : json_is_object(v)))
		return v;
	v = array ? json_array() : json_object();
	json_object_set_new(obj, name, v);
	return v;
}

/* One map entry {1 key, 2 value} into the field's JSON object. */
static int wf__map_entry(wf__pb *c, const wf_pb_field *f, const wf__wv *v, json_t *obj, int depth)
{
	if (v->wt != WF__WT_LEN)
		return wf__fail(c, "map field %u (%s) has wire type %d, expected 2", f->num,
				f->json, v->wt);
	const wf_pb_field ef[2] = {
	    {1, WF_PB_STRING, WF_PB_KEEP, "key", NULL},
	    {2, f->type, WF_PB_KEEP, "value", f->sub},
	};
	const wf_pb_msg em = {"map entry", ef, 2};
	json_t *tmp = json_object();
	int rc = wf__decode_into(c, &em, v->p, v->n, tmp, depth + 1);
	if (rc < 0)
		goto out;
	json_t *val = json_object_get(tmp, "value");
	if (val) {
		json_incref(val);
	} else if ((rc = wf__count(c)) < 0) {
		goto out;
	} else {
		switch (f->type) {
		case WF_PB_QUANTITY:
			val = json_string("0");
			break;
		case WF_PB_MSG:
			val = json_object();
			break;
		default:
			val = json_string("");
		}
	}
	const char *key = json_string_value(json_object_get(tmp, "key"));
	json_object_set_new(wf__child(obj, f->json, false), key ? key : "", val);
out:
	json_decref(tmp);
	return rc;
}

static int wf__field(wf__pb *c, const wf_pb_field *f, const wf__wv *v, json_t *obj, int depth)
{
	int rc;
	if (f->flags & WF_PB_MAP)
		return wf__map_entry(c, f, v, obj, depth);
	if (f->flags & WF_PB_INLINE) {
		if (v->wt != WF__WT_LEN)
			return wf__fail(c, "field %u (%s) has wire type %d, expected 2", f->num,
					f->json, v->wt);
		return wf__decode_into(c, f->sub, v->p, v->n, obj, depth + 1);
	}
	json_t *val;
	bool zero;
	if (f->flags & WF_PB_REP) {
		json_t *arr = wf__child(obj, f->json, true);
		if (wf__is_varint_type(f->type) && v->wt == WF__WT_LEN) {
			/* packed */
			wf__rd r = {v->p, v->p + v->n};
			while (r.p < r.end) {
				wf__wv one;
				if ((rc = wf__wire_value(c, &r, WF__WT_VARINT, &one)) < 0 ||
				    (rc = wf__value(c, f, f->type, &one, depth, &val, &zero)) < 0)
					return rc;
				json_array_append_new(arr, val);
			}
			return 0;
		}
		size_t old = wf__path_push(c, "[%zu]", json_array_size(arr));
		rc = wf__value(c, f, f->type, v, depth, &val, &zero);
		wf__path_pop(c, old);
		if (rc < 0)
			return rc;
		if (val)
			json_array_append_new(arr, val);
		return 0;
	}
	if (f->type == WF_PB_MSG) {
		/* a repeated occurrence of a singular message merges into the first */
		if (v->wt != WF__WT_LEN)
			return wf__fail(c, "field %u (%s) has wire type %d, expected 2", f->num,
					f->json, v->wt);
		if ((rc = wf__count(c)) < 0)
			return rc;
		return wf__decode_into(c, f->sub, v->p, v->n, wf__child(obj, f->json, false),
				       depth + 1);
	}
	if ((rc = wf__value(c, f, f->type, v, depth, &val, &zero)) < 0)
		return rc;
	if (!val || (zero && !(f->flags & WF_PB_KEEP))) {
		json_decref(val);
		json_object_del(obj, f->json);
		return 0;
	}
	json_object_set_new(obj, f->json, val);
	return 0;
}

static const wf_pb_field *wf__lookup(const wf_pb_msg *m, uint64_t num)
{
	for (size_t i = 0; i < m->nfields; i++)
		if (m->fields[i].num == num)
			return &m->fields[i];
	return NULL;
}

static int wf__decode_into(wf__pb *c, const wf_pb_msg *m, const uint8_t *buf, size_t len,
			   json_t *obj, int depth)
{
	if (depth > WF_PB_MAX_DEPTH)
		return wf__fail(c, "messages nested deeper than %d", WF_PB_MAX_DEPTH);
	wf__rd r = {buf, buf + len};
	while (r.p < r.end) {
		uint64_t key;
		int rc = wf__varint(c, &r, &key);
		if (rc < 0)
			return rc;
		uint64_t num = key >> 3;
		if (num == 0 || num > 536870911)
			return wf__fail(c, "invalid field number %llu in %s",
					(unsigned long long)num, m->name);
		const wf_pb_field *f = wf__lookup(m, num);
		if (!f)
			return wf__fail(c, "unsupported protobuf field %llu in %s",
					(unsigned long long)num, m->name);
		wf__wv v;
		if ((rc = wf__wire_value(c, &r, (int)(key & 7), &v)) < 0)
			return rc;
		size_t old = c->plen;
		if (!(f->flags & WF_PB_INLINE))
			wf__path_push(c, "%s%s", c->plen ? "." : "", f->json);
		rc = wf__field(c, f, &v, obj, depth);
		wf__path_pop(c, old);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* ---- public -------------------------------------------------------------------- */

bool wf_pb_is_media_type(const char *media_type)
{
	return media_type && !strcasecmp(media_type, WF_PB_MEDIA_TYPE);
}

int wf_pb_decode_message(const wf_pb_msg *msg, const void *buf, size_t len, json_t **out,
			 wf_err *err)
{
	wf__pb c = {.err = err};
	json_t *obj = json_object();
	int rc = wf__decode_into(&c, msg, buf, len, obj, 1);
	if (rc < 0) {
		json_decref(obj);
		return rc;
	}
	*out = obj;
	return 0;
}

static const wf_pb_field wf__typemeta_f[] = {
    {1, WF_PB_STRING, 0, "apiVersion", NULL},
    {2, WF_PB_STRING, 0, "kind", NULL},
};
static const wf_pb_msg wf__typemeta_m = {"TypeMeta", wf__typemeta_f, 2};

int wf_pb_decode_object(const void *buf, size_t len, const char *want_api_version,
			const char *want_kind, json_t **out, wf_err *err)
{
	static const uint8_t magic[4] = {'k', '8', 's', 0};
	wf__pb c = {.err = err};
	if (len < sizeof magic || memcmp(buf, magic, sizeof magic))
		return wf_err_set(err, WF_EINVAL,
				  "protobuf body: missing the \"k8s\\0\" prefix of a Kubernetes "
				  "protobuf object");
	wf__rd r = {(const uint8_t *)buf + sizeof magic, (const uint8_t *)buf + len};
	static const uint8_t empty[1];
	json_t *tm = json_object();
	const uint8_t *raw = empty;
	size_t raw_len = 0;
	int rc = 0;
	while (r.p < r.end) {
		uint64_t key;
		wf__wv v;
		if ((rc = wf__varint(&c, &r, &key)) < 0 ||
		    (rc = wf__wire_value(&c, &r, (int)(key & 7), &v)) < 0)
			goto out;
		uint64_t num = key >> 3;
		if (num < 1 || num > 4) {
			rc = wf__fail(&c, "unsupported protobuf field %llu in Unknown",
				      (unsigned long long)num);
			goto out;
		}
		if (v.wt != WF__WT_LEN) {
			rc = wf__fail(&c, "field %llu in Unknown has wire type %d, expected 2",
				      (unsigned long long)num, v.wt);
			goto out;
		}
		if (num == 1) {
			if ((rc = wf__decode_into(&c, &wf__typemeta_m, v.p, v.n, tm, 1)) < 0)
				goto out;
		} else if (num == 2) {
			raw = v.p;
			raw_len = v.n;
		} else if (v.n && !(num == 4 && v.n == strlen(WF_PB_MEDIA_TYPE) &&
				    !memcmp(v.p, WF_PB_MEDIA_TYPE, v.n))) {
			rc = wf__fail(&c, "unsupported %s \"%.*s\"",
				      num == 3 ? "contentEncoding" : "contentType",
				      (int)(v.n > 64 ? 64 : v.n), (const char *)v.p);
			goto out;
		}
	}
	const char *av = json_string_value(json_object_get(tm, "apiVersion"));
	const char *kind = json_string_value(json_object_get(tm, "kind"));
	if (!av || !kind) {
		rc =
		    wf_err_set(err, WF_EINVAL,
			       "protobuf body: the envelope does not name the apiVersion and kind");
		goto out;
	}
	if (want_kind && want_api_version && strcmp(av, want_api_version)) {
		rc = wf_err_set(err, WF_EINVAL,
				"the API version in the data (%.100s) does not match the expected "
				"API version (%s)",
				av, want_api_version);
		goto out;
	}
	if (want_kind && strcmp(kind, want_kind)) {
		rc = wf_err_set(
		    err, WF_EINVAL,
		    "the kind in the data (%.100s) does not match the expected kind (%s)", kind,
		    want_kind);
		goto out;
	}
	const wf_pb_msg *m = wf_pb_schema_find(av, kind);
	if (!m) {
		rc = wf_err_set(err, WF_ENOTSUP,
				"protobuf bodies of %.100s %.100s are not supported; send "
				"application/json",
				av, kind);
		goto out;
	}
	json_t *obj = json_object();
	json_object_set(obj, "apiVersion", json_object_get(tm, "apiVersion"));
	json_object_set(obj, "kind", json_object_get(tm, "kind"));
	if ((rc = wf__decode_into(&c, m, raw, raw_len, obj, 1)) < 0) {
		json_decref(obj);
		goto out;
	}
	*out = obj;
out:
	json_decref(tm);
	return rc;
}
