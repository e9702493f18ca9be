/*
 * objtext.c - the stored form of objects and its conversion to served JSON.
 *
 * Objects are stored as compact JSON whose first keys are apiVersion, kind
 * and metadata, without metadata.resourceVersion (the store's mod revision
 * is the resourceVersion). Serving an object splices the revision in right
 * after the top-level `"metadata":{`, so a get or list copies bytes instead
 * of parsing every object. The invariant that makes the splice safe: the
 * text is produced by wf_obj_encode, whose first occurrence of
 * `"metadata":{` is the top-level key (apiVersion and kind precede it and
 * are plain validated strings).
 */
#include "api/api_internal.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <openssl/rand.h>

char *wf_obj_text_with_rv(const char *text, size_t len, int64_t rev, size_t *out_len)
{
	static const char marker[] = "\"metadata\":{";
	const char *m = memmem(text, len, marker, sizeof marker - 1);
	char rv[48];
	int rvn;
	wf_buf b;
	wf_buf_init(&b);
	if (!m) {
		/* Not produced by wf_obj_encode: fall back to a parse. */
		json_t *o = wf_obj_decode(text, len, rev);
		char *s = o ? json_dumps(o, JSON_COMPACT) : wf_xstrndup(text, len);
		json_decref(o);
		if (out_len)
			*out_len = strlen(s);
		return s;
	}
	size_t head = (size_t)(m - text) + sizeof marker - 1;
	bool empty = head < len && text[head] == '}';
	rvn = snprintf(rv, sizeof rv, "\"resourceVersion\":\"%lld\"%s", (long long)rev,
		       empty ? "" : ",");
	wf_buf_reserve(&b, len + (size_t)rvn);
	wf_buf_append(&b, text, head);
	wf_buf_append(&b, rv, (size_t)rvn);
	wf_buf_append(&b, text + head, len - head);
	if (out_len)
		*out_len = b.len;
	return wf_buf_steal(&b);
}

json_t *wf_obj_decode(const char *text, size_t len, int64_t rev)
{
	json_t *o = json_loadb(text, len, 0, NULL);
	if (!json_is_object(o)) {
		json_decref(o);
		return NULL;
	}
	json_t *md = wf_json_obj_ensure(o, "metadata");
	char rv[32];
	snprintf(rv, sizeof rv, "%lld", (long long)rev);
	json_object_set_new(md, "resourceVersion", json_string(rv));
	return o;
}

char *wf_obj_encode(const json_t *obj, size_t *len_out)
{
	json_t *o = json_object();
	static const char *const first[] = {"apiVersion", "kind", "metadata"};
	for (size_t i = 0; i < 3; i++) {
		json_t *v = json_object_get(obj, first[i]);
		if (i == 2) {
			json_t *md = json_is_object(v) ? json_copy(v) : json_object();
			json_object_del(md, "resourceVersion");
			json_object_set_new(o, "metadata", md);
		} else if (v) {
			json_object_set(o, first[i], v);
		}
	}
	const char *key;
	json_t *val;
	json_object_foreach((json_t *)obj, key, val)
	{
		if (strcmp(key, "apiVersion") && strcmp(key, "kind") && strcmp(key, "metadata"))
			json_object_set(o, key, val);
	}
	char *s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (len_out)
		*len_out = s ? strlen(s) : 0;
	return s;
}

void wf_uid_new(char out[37])
{
	unsigned char b[16];
	if (RAND_bytes(b, sizeof b) != 1) {
		int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
		if (fd < 0 || read(fd, b, sizeof b) != (ssize_t)sizeof b)
			abort();
		close(fd);
	}
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	snprintf(out, 37,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
		 b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
		 b[14], b[15]);
}
