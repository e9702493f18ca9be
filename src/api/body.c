/*
 * body.c - request bodies: media-type checks and decoding of JSON, YAML or
 * Kubernetes protobuf (protobuf.h) into one JSON object.
 */
#include "api/api_internal.h"
#include "api/protobuf.h"
#include "api/yaml_json.h"

#include <string.h>
#include <strings.h>

/* The media type without parameters, lowercased into buf. */
static const char *wf__media_type(const char *ct, char *buf, size_t len)
{
	if (!ct)
		return "";
	size_t n = strcspn(ct, ";");
	while (n && (ct[n - 1] == ' ' || ct[n - 1] == '\t'))
		n--;
	if (n >= len)
		n = len - 1;
	for (size_t i = 0; i < n; i++)
		buf[i] = (char)(ct[i] >= 'A' && ct[i] <= 'Z' ? ct[i] + 32 : ct[i]);
	buf[n] = '\0';
	return buf;
}

int wf_body_decode_kind(const wf_req *r, const wf_kind *k, json_t **out, wf_err *err)
{
	char mt[128];
	const char *type = wf__media_type(r->content_type, mt, sizeof mt);
	if (!r->body || !r->body_len)
		return wf_err_set(err, WF_EINVAL, "the request body is empty");
	if (wf_pb_is_media_type(type))
		return wf_pb_decode_object(r->body, r->body_len, k ? wf_kind_api_version(k) : NULL,
					   k ? k->kind : NULL, out, err);
	bool yaml = !strcmp(type, "application/yaml") || !strcmp(type, "application/x-yaml") ||
		    !strcmp(type, "text/yaml") || !strcmp(type, "application/apply-patch+yaml");
	bool json = !type[0] || !strcmp(type, "application/json") ||
		    !strcmp(type, "application/merge-patch+json") ||
		    !strcmp(type, "application/strategic-merge-patch+json") ||
		    !strcmp(type, "application/json-patch+json") || !strcmp(type, "*/*");
	if (!yaml && !json)
		return wf_err_set(err, WF_ENOTSUP,
				  "the body of the request was in an unknown format - accepted "
				  "media types include: application/json, application/yaml, "
				  "application/vnd.kubernetes.protobuf");
	json_t *v = NULL;
	if (yaml) {
		int rc = wf_yaml_to_json(r->body, r->body_len, &v, err);
		if (rc < 0)
			return rc;
	} else {
		json_error_t je;
		v = json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES, &je);
		if (!v)
			return wf_err_set(err, WF_EINVAL,
					  "couldn't get version/kind; json parse error: %s "
					  "(line %d, column %d)",
					  je.text, je.line, je.column);
	}
	*out = v;
	return 0;
}

int wf_body_decode(const wf_req *r, json_t **out, wf_err *err)
{
	return wf_body_decode_kind(r, NULL, out, err);
}
