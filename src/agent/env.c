/*
 * env.c - a container's environment, as kubelet builds it: a base (PATH,
 * HOSTNAME), envFrom (ConfigMaps, Secrets), env with value or valueFrom
 * (fieldRef, resourceFieldRef, configMapKeyRef, secretKeyRef), later
 * entries overriding earlier ones, $(VAR) references expanded, and the GPUs
 * assigned to the container in NVIDIA_VISIBLE_DEVICES and
 * CUDA_VISIBLE_DEVICES.
 */
#include "agent/agent_internal.h"
#include "lib/wf_quantity.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

typedef struct wf__env {
	json_t *vars; /* name -> value, in insertion order */
} wf__env;

static const char *wf__str(const json_t *o, const char *k)
{
	json_t *v = json_is_object(o) ? json_object_get(o, k) : NULL;
	return json_is_string(v) ? json_string_value(v) : NULL;
}

/* Fetch a ConfigMap or Secret of the pod's namespace. */
static int wf__fetch(wf_agent *a, const char *ns, const char *kind, const char *name,
		     json_t **out, wf_err *err)
{
	char *path = wf_xasprintf("/api/v1/namespaces/%s/%s/%s", ns, kind, name);
	int rc = wf_client_get(a->client, path, out, err);
	free(path);
	if (rc == -WF_ENOENT)
		wf_err_set(err, WF_ENOENT, "%s \"%s\" not found",
			   !strcmp(kind, "configmaps") ? "configmap" : "secret", name);
	return rc;
}

static char *wf__b64decode(const char *s)
{
	size_t n = strlen(s);
	unsigned char *out = wf_xmalloc(n + 1);
	int len = EVP_DecodeBlock(out, (const unsigned char *)s, (int)n);
	if (len < 0) {
		free(out);
		return NULL;
	}
	while (n && s[n - 1] == '=' && len > 0) {
		n--;
		len--;
	}
	out[len] = '\0';
	return (char *)out;
}

/* Expand $(VAR) from earlier variables; $$ escapes. */
static char *wf__expand(const char *v, const json_t *vars)
{
	wf_buf b;
	wf_buf_init(&b);
	for (const char *p = v; *p;) {
		if (p[0] == '$' && p[1] == '$') {
			wf_buf_putc(&b, '$');
			p += 2;
		} else if (p[0] == '$' && p[1] == '(') {
			const char *end = strchr(p + 2, ')');
			if (!end) {
				wf_buf_puts(&b, p);
				break;
			}
			char *name = wf_xstrndup(p + 2, (size_t)(end - p - 2));
			const char *val = wf__str(vars, name);
			if (val)
				wf_buf_puts(&b, val);
			else
				wf_buf_append(&b, p, (size_t)(end - p + 1));
			free(name);
			p = end + 1;
		} else {
			wf_buf_putc(&b, *p++);
		}
	}
	return wf_buf_steal(&b);
}

/* metadata.labels['x'] style field paths. */
static int wf__field_ref(const json_t *pod, const char *path, const wf_agent *a, char **out,
			 wf_err *err)
{
	const json_t *md = json_object_get(pod, "metadata");
	const char *v = NULL;
	char key[256];
	if (!strcmp(path, "metadata.name") || !strcmp(path, "metadata.namespace") ||
	    !strcmp(path, "metadata.uid"))
		v = wf__str(md, path + 9);
	else if (!strcmp(path, "spec.nodeName"))
		v = a->o.node_name;
	else if (!strcmp(path, "spec.serviceAccountName"))
		v = wf__str(json_object_get(pod, "spec"), "serviceAccountName");
	else if (!strcmp(path, "status.hostIP") || !strcmp(path, "status.podIP") ||
		 !strcmp(path, "status.hostIPs") || !strcmp(path, "status.podIPs"))
		v = a->o.node_ip;
	else if (sscanf(path, "metadata.labels['%255[^']']", key) == 1)
		v = wf__str(json_object_get(md, "labels"), key);
	else if (sscanf(path, "metadata.annotations['%255[^']']", key) == 1)
		v = wf__str(json_object_get(md, "annotations"), key);
	else
		return wf_err_set(err, WF_EINVAL, "unsupported fieldRef fieldPath \"%s\"", path);
	*out = wf_xstrdup(v ? v : "");
	return 0;
}

static int wf__resource_ref(const json_t *ctr, const json_t *ref, char **out, wf_err *err)
{
	const char *res = wf__str(ref, "resource");
	if (!res)
		return wf_err_set(err, WF_EINVAL, "resourceFieldRef without resource");
	const char *dot = strchr(res, '.');
	if (!dot)
		return wf_err_set(err, WF_EINVAL, "unsupported resourceFieldRef \"%s\"", res);
	char kind[16];
	snprintf(kind, sizeof kind, "%.*s", (int)(dot - res), res);
	json_t *v = json_object_get(json_object_get(json_object_get(ctr, "resources"), kind), dot + 1);
	int64_t milli = 0;
	if (json_is_string(v))
		wf_quantity_parse(json_string_value(v), &milli, NULL);
	int64_t divisor = 1000;
	const char *div = wf__str(ref, "divisor");
	if (div)
		wf_quantity_parse(div, &divisor, NULL);
	if (divisor <= 0)
		divisor = 1000;
	*out = wf_xasprintf("%lld", (long long)((milli + divisor - 1) / divisor));
	return 0;
}

int wf_agent_build_env(wf_agent *a, const json_t *pod, const json_t *ctr, const wf_ctr_rt *c,
		       char ***out, wf_err *err)
{
	const char *ns = wf__str(json_object_get(pod, "metadata"), "namespace");
	const char *name = wf__str(json_object_get(pod, "metadata"), "name");
	json_t *vars = json_object();
	const char *path = getenv("PATH");
	json_object_set_new(vars, "PATH",
			    json_string(path ? path : "/usr/local/sbin:/usr/local/bin:/usr/sbin:"
						      "/usr/bin:/sbin:/bin"));
	/* The pod's hostname: spec.hostname when set (Indexed Jobs), else its name. */
	const char *host = wf__str(json_object_get(pod, "spec"), "hostname");
	json_object_set_new(vars, "HOSTNAME", json_string(host && host[0] ? host : name ? name : ""));
	int rc = 0;
	size_t i;
	json_t *e;
	json_array_foreach(json_object_get(ctr, "envFrom"), i, e)
	{
		const char *prefix = wf__str(e, "prefix");
		json_t *cmref = json_object_get(e, "configMapRef");
		json_t *sref = json_object_get(e, "secretRef");
		json_t *ref = cmref ? cmref : sref;
		const char *rname = wf__str(ref, "name");
		if (!rname)
			continue;
		json_t *obj = NULL;
		rc = wf__fetch(a, ns, cmref ? "configmaps" : "secrets", rname, &obj, err);
		if (rc < 0) {
			if (json_is_true(json_object_get(ref, "optional"))) {
				rc = 0;
				continue;
			}
			goto out;
		}
		const char *k;
		json_t *v;
		json_object_foreach(json_object_get(obj, "data"), k, v)
		{
			char *key = wf_xasprintf("%s%s", prefix ? prefix : "", k);
			if (sref) {
				char *dec = wf__b64decode(json_string_value(v));
				json_object_set_new(vars, key, json_string(dec ? dec : ""));
				free(dec);
			} else {
				json_object_set(vars, key, v);
			}
			free(key);
		}
		json_decref(obj);
	}
	json_array_foreach(json_object_get(ctr, "env"), i, e)
	{
		const char *ename = wf__str(e, "name");
		if (!ename)
			continue;
		json_t *from = json_object_get(e, "valueFrom");
		char *val = NULL;
		if (!from) {
			const char *v = wf__str(e, "value");
			val = wf__expand(v ? v : "", vars);
		} else if (json_object_get(from, "fieldRef")) {
			const char *fp = wf__str(json_object_get(from, "fieldRef"), "fieldPath");
			rc = wf__field_ref(pod, fp ? fp : "", a, &val, err);
		} else if (json_object_get(from, "resourceFieldRef")) {
			rc = wf__resource_ref(ctr, json_object_get(from, "resourceFieldRef"), &val, err);
		} else if (json_object_get(from, "configMapKeyRef") ||
			   json_object_get(from, "secretKeyRef")) {
			bool secret = json_object_get(from, "secretKeyRef") != NULL;
			json_t *ref = json_object_get(from, secret ? "secretKeyRef" : "configMapKeyRef");
			const char *rname = wf__str(ref, "name"), *key = wf__str(ref, "key");
			bool optional = json_is_true(json_object_get(ref, "optional"));
			json_t *obj = NULL;
			rc = rname ? wf__fetch(a, ns, secret ? "secrets" : "configmaps", rname, &obj, err)
				   : wf_err_set(err, WF_EINVAL, "env %s: reference without name", ename);
			if (rc == 0) {
				const char *v = key ? wf__str(json_object_get(obj, "data"), key) : NULL;
				if (!v) {
					rc = optional ? 0
						      : wf_err_set(err, WF_ENOENT,
								   "couldn't find key %s in %s %s",
								   key ? key : "", secret ? "Secret" : "ConfigMap",
								   rname);
				} else {
					val = secret ? wf__b64decode(v) : wf_xstrdup(v);
				}
			} else if (optional) {
				rc = 0;
			}
			json_decref(obj);
			if (rc == 0 && !val)
				continue; /* optional and absent: not set */
		}
		if (rc < 0)
			goto out;
		if (val)
			json_object_set_new(vars, ename, json_string(val));
		free(val);
	}
	if (c && c->ngpus) {
		wf_buf b;
		wf_buf_init(&b);
		for (size_t g = 0; g < c->ngpus; g++)
			wf_buf_printf(&b, "%s%s", g ? "," : "", c->gpu_uuids[g]);
		json_object_set_new(vars, "NVIDIA_VISIBLE_DEVICES", json_string(b.data));
		json_object_set_new(vars, "CUDA_VISIBLE_DEVICES", json_string(b.data));
		wf_buf_free(&b);
	} else if (c) {
		/* No GPU asked for: none visible, as with the device plugin. */
		json_object_set_new(vars, "NVIDIA_VISIBLE_DEVICES", json_string("void"));
		json_object_set_new(vars, "CUDA_VISIBLE_DEVICES", json_string(""));
	}
out:
	if (rc < 0) {
		json_decref(vars);
		*out = NULL;
		return rc;
	}
	char **env = wf_xcalloc(json_object_size(vars) + 1, sizeof *env);
	size_t n = 0;
	const char *k;
	json_t *v;
	json_object_foreach(vars, k, v) env[n++] = wf_xasprintf("%s=%s", k, json_string_value(v));
	json_decref(vars);
	*out = env;
	return 0;
}

void wf_agent_env_free(char **env)
{
	for (char **e = env; e && *e; e++)
		free(*e);
	free(env);
}
