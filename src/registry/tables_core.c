/*
 * tables_core.c - rows for the core/v1 kinds other than pods and nodes:
 * namespaces, events, configmaps, secrets, services, serviceaccounts.
 *
 * Cells follow kube-apiserver's printers. Where v1 defaulting would have
 * filled a field that a stored object lacks (a Service's type and port
 * protocol, a Secret's type, a Namespace's phase), the default is shown.
 * Events read both the core/v1 field names and the events.k8s.io/v1 ones
 * (regarding, note, deprecated*), so one definition serves both groups.
 */
#include "registry/tables_internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- namespaces -------------------------------------------------------- */

static const wf_column wf__ns_cols[] = {
    {"Name", "string", "name", WF__DESC_NAME, 0},
    {"Status", "string", "", "The status of the namespace", 0},
    {"Age", "string", "", WF__DESC_AGE, 0},
};

static void wf__ns_row(const json_t *ns, time_t now, json_t *cells)
{
	const char *phase = wf__tbl_str(ns, "status", "phase", NULL);
	if (!wf__tbl_nonempty(phase))
		phase = wf__tbl_present(wf__tbl_at(ns, "metadata", "deletionTimestamp", NULL))
			    ? "Terminating"
			    : "Active";
	wf__tbl_add_str(cells, wf__tbl_name(ns));
	wf__tbl_add_str(cells, phase);
	wf__tbl_add_age(cells, ns, now);
}

const wf_table_def wf__table_namespaces = {
    .resource = "namespaces",
    .cols = wf__ns_cols,
    .ncols = sizeof(wf__ns_cols) / sizeof(wf__ns_cols[0]),
    .row = wf__ns_row,
};

/* ---- events ------------------------------------------------------------ */

static const wf_column wf__event_cols[] = {
    {"Last Seen", "string", "", "Time since the event was last observed.", 0},
    {"Type", "string", "", "Type of the event (Normal, Warning).", 0},
    {"Reason", "string", "", "Short, machine-understandable reason for the event.", 0},
    {"Object", "string", "", "The object this event is about, as kind/name.", 0},
    {"Subobject", "string", "", "Field path of the part of the object (a container).", 1},
    {"Source", "string", "", "Component (and host) that reported the event.", 1},
    {"Message", "string", "", "Human-readable description of the event.", 0},
    {"First Seen", "string", "", "Time since the event was first observed.", 1},
    {"Count", "string", "", "Number of times the event occurred.", 1},
    {"Name", "string", "name", WF__DESC_NAME, 1},
};

/* The first of two field names that is present (core/v1, events.k8s.io/v1). */
static const json_t *wf__ev_get(const json_t *ev, const char *core, const char *events)
{
	const json_t *v = json_object_get(ev, core);
	if (wf__tbl_present(v) || !events)
		return v;
	return json_object_get(ev, events);
}

static const char *wf__ev_str(const json_t *ev, const char *core, const char *events)
{
	const char *s = wf__tbl_sval(json_object_get(ev, core));
	if (!wf__tbl_nonempty(s) && events)
		s = wf__tbl_sval(json_object_get(ev, events));
	return s ? s : "";
}

static const char *wf__first_nonempty(const char *a, const char *b)
{
	if (wf__tbl_nonempty(a))
		return a;
	return b ? b : "";
}

static void wf__ev_row(const json_t *ev, time_t now, json_t *cells)
{
	char first[WF_TIME_DURATION_LEN], last[WF_TIME_DURATION_LEN];
	const json_t *ft = wf__ev_get(ev, "firstTimestamp", "deprecatedFirstTimestamp");
	const json_t *lt = wf__ev_get(ev, "lastTimestamp", "deprecatedLastTimestamp");
	const json_t *series = json_object_get(ev, "series");
	const json_t *involved = wf__ev_get(ev, "involvedObject", "regarding");
	const json_t *source = wf__ev_get(ev, "source", "deprecatedSource");
	int64_t count = wf__tbl_int_clamp(wf__ev_get(ev, "count", "deprecatedCount"),
					  -2147483647 - 1, 2147483647, 0);
	wf_buf b;

	if (wf__tbl_present(ft))
		wf__tbl_since(ft, now, first);
	else
		wf__tbl_since(json_object_get(ev, "eventTime"), now, first);
	if (wf__tbl_present(lt))
		wf__tbl_since(lt, now, last);
	else
		memcpy(last, first, sizeof(last));
	if (json_is_object(series)) {
		wf__tbl_since(json_object_get(series, "lastObservedTime"), now, last);
		count = wf__tbl_int_clamp(json_object_get(series, "count"), -2147483647 - 1,
					  2147483647, 0);
	} else if (count == 0) {
		count = 1;
	}

	wf__tbl_add_str(cells, last);
	wf__tbl_add_str(cells, wf__ev_str(ev, "type", NULL));
	wf__tbl_add_str(cells, wf__ev_str(ev, "reason", NULL));

	wf_buf_init(&b);
	const char *kind = wf__tbl_str(involved, "kind", NULL);
	const char *name = wf__tbl_str(involved, "name", NULL);
	for (const char *p = kind ? kind : ""; *p; p++)
		wf_buf_putc(&b, (char)tolower((unsigned char)*p));
	if (wf__tbl_nonempty(name)) {
		wf_buf_putc(&b, '/');
		wf_buf_puts(&b, name);
	}
	wf__tbl_add_str(cells, b.data ? b.data : "");
	wf__tbl_add_str(cells, wf__tbl_str(involved, "fieldPath", NULL));

	const char *component =
	    wf__first_nonempty(wf__tbl_str(source, "component", NULL),
			       wf__ev_str(ev, "reportingComponent", "reportingController"));
	const char *host = wf__first_nonempty(wf__tbl_str(source, "host", NULL),
					      wf__ev_str(ev, "reportingInstance", NULL));
	b.len = 0;
	wf_buf_puts(&b, component);
	if (*host) {
		wf_buf_puts(&b, ", ");
		wf_buf_puts(&b, host);
	}
	wf__tbl_add_str(cells, b.data);

	const char *msg = wf__ev_str(ev, "message", "note");
	size_t len = strlen(msg);
	while (len && isspace((unsigned char)*msg))
		msg++, len--;
	while (len && isspace((unsigned char)msg[len - 1]))
		len--;
	b.len = 0;
	wf_buf_append(&b, msg, len);
	wf__tbl_add_str(cells, b.data);

	wf__tbl_add_str(cells, first);
	wf__tbl_add_int(cells, count);
	wf__tbl_add_str(cells, wf__tbl_name(ev));
	wf_buf_free(&b);
}

const wf_table_def wf__table_events = {
    .resource = "events",
    .cols = wf__event_cols,
    .ncols = sizeof(wf__event_cols) / sizeof(wf__event_cols[0]),
    .row = wf__ev_row,
};

/* ---- configmaps, secrets, serviceaccounts ------------------------------ */

static const wf_column wf__cm_cols[] = {
    {"Name", "string", "name", WF__DESC_NAME, 0},
    {"Data", "string", "", "Number of keys in data and binaryData.", 0},
    {"Age", "string", "", WF__DESC_AGE, 0},
};

static void wf__cm_row(const json_t *cm, time_t now, json_t *cells)
{
	wf__tbl_add_str(cells, wf__tbl_name(cm));
	wf__tbl_add_int(cells, (int64_t)(json_object_size(json_object_get(cm, "data")) +
					 json_object_size(json_object_get(cm, "binaryData"))));
	wf__tbl_add_age(cells, cm, now);
}

const wf_table_def wf__table_configmaps = {
    .resource = "configmaps",
    .cols = wf__cm_cols,
    .ncols = sizeof(wf__cm_cols) / sizeof(wf__cm_cols[0]),
    .row = wf__cm_row,
};

static const wf_column wf__secret_cols[] = {
    {"Name", "string", "name", WF__DESC_NAME, 0},
    {"Type", "string", "", "Type of the secret's data (Opaque, kubernetes.io/tls, ...).", 0},
    {"Data", "string", "", "Number of keys in data.", 0},
    {"Age", "string", "", WF__DESC_AGE, 0},
};

static void wf__secret_row(const json_t *secret, time_t now, json_t *cells)
{
	const char *type = wf__tbl_str(secret, "type", NULL);
	wf__tbl_add_str(cells, wf__tbl_name(secret));
	wf__tbl_add_str(cells, wf__tbl_nonempty(type) ? type : "Opaque");
	wf__tbl_add_int(cells, (int64_t)json_object_size(json_object_get(secret, "data")));
	wf__tbl_add_age(cells, secret, now);
}

const wf_table_def wf__table_secrets = {
    .resource = "secrets",
    .cols = wf__secret_cols,
    .ncols = sizeof(wf__secret_cols) / sizeof(wf__secret_cols[0]),
    .row = wf__secret_row,
};

static const wf_column wf__sa_cols[] = {
    {"Name", "string", "name", WF__DESC_NAME, 0},
    {"Secrets", "string", "", "Number of secrets the service account lists.", 0},
    {"Age", "string", "", WF__DESC_AGE, 0},
};

static void wf__sa_row(const json_t *sa, time_t now, json_t *cells)
{
	wf__tbl_add_str(cells, wf__tbl_name(sa));
	wf__tbl_add_int(cells, (int64_t)json_array_size(json_object_get(sa, "secrets")));
	wf__tbl_add_age(cells, sa, now);
}

const wf_table_def wf__table_serviceaccounts = {
    .resource = "serviceaccounts",
    .cols = wf__sa_cols,
    .ncols = sizeof(wf__sa_cols) / sizeof(wf__sa_cols[0]),
    .row = wf__sa_row,
};

/* ---- services ---------------------------------------------------------- */

static const wf_column wf__svc_cols[] = {
    {"Name", "string", "name", WF__DESC_NAME, 0},
    {"Type", "string", "", "How the service is exposed (ClusterIP, NodePort, ...).", 0},
    {"Cluster-IP", "string", "", "The service's cluster IP.", 0},
    {"External-IP", "string", "", "External IPs and load-balancer ingress points.", 0},
    {"Port(s)", "string", "", "The ports the service exposes.", 0},
    {"Age", "string", "", WF__DESC_AGE, 0},
    {"Selector", "string", "", "Labels of the pods the service routes to.", 1},
};

/* Append the string elements of an array to out, each after a "," when
 * out is not empty (non-strings skipped). */
static void wf__join_strings(const json_t *arr, wf_buf *out)
{
	size_t i;
	const json_t *v;
	json_array_foreach(arr, i, v)
	{
		if (!json_is_string(v))
			continue;
		if (out->len)
			wf_buf_putc(out, ',');
		wf_buf_puts(out, json_string_value(v));
	}
}

/* getServiceExternalIP, always in its wide form (no clipping). */
static void wf__svc_external_ip(const json_t *svc, const char *type, wf_buf *out)
{
	const json_t *ext = wf__tbl_at(svc, "spec", "externalIPs", NULL);

	if (strcmp(type, "ClusterIP") == 0 || strcmp(type, "NodePort") == 0) {
		wf__join_strings(ext, out);
		if (out->len == 0)
			wf_buf_puts(out, "<none>");
		return;
	}
	if (strcmp(type, "ExternalName") == 0) {
		const char *name = wf__tbl_str(svc, "spec", "externalName", NULL);
		wf_buf_puts(out, name ? name : "");
		return;
	}
	if (strcmp(type, "LoadBalancer") != 0) {
		wf_buf_puts(out, "<unknown>");
		return;
	}
	const json_t *ing = wf__tbl_at(svc, "status", "loadBalancer", "ingress", NULL);
	const char **ips = wf_xcalloc(json_array_size(ing) + 1, sizeof(*ips));
	size_t i, n = 0;
	const json_t *e;
	json_array_foreach(ing, i, e)
	{
		const char *ip = wf__tbl_str(e, "ip", NULL);
		const char *host = wf__tbl_str(e, "hostname", NULL);
		if (wf__tbl_nonempty(ip))
			ips[n++] = ip;
		else if (wf__tbl_nonempty(host))
			ips[n++] = host;
	}
	wf__tbl_join_sorted_unique(ips, n, ",", out);
	free(ips);
	wf__join_strings(ext, out);
	if (out->len == 0)
		wf_buf_puts(out, "<pending>");
}

static void wf__svc_ports(const json_t *svc, wf_buf *out)
{
	size_t i;
	const json_t *p;
	json_array_foreach(wf__tbl_at(svc, "spec", "ports", NULL), i, p)
	{
		int64_t port =
		    wf__tbl_int_clamp(json_object_get(p, "port"), -2147483647 - 1, 2147483647, 0);
		int64_t node_port = wf__tbl_int_clamp(json_object_get(p, "nodePort"),
						      -2147483647 - 1, 2147483647, 0);
		const char *proto = wf__tbl_str(p, "protocol", NULL);
		if (!wf__tbl_nonempty(proto))
			proto = "TCP";
		if (i > 0)
			wf_buf_putc(out, ',');
		if (node_port > 0)
			wf_buf_printf(out, "%lld:%lld/%s", (long long)port, (long long)node_port,
				      proto);
		else
			wf_buf_printf(out, "%lld/%s", (long long)port, proto);
	}
}

static void wf__svc_row(const json_t *svc, time_t now, json_t *cells)
{
	const char *type = wf__tbl_str(svc, "spec", "type", NULL);
	const char *ip =
	    wf__tbl_sval(json_array_get(wf__tbl_at(svc, "spec", "clusterIPs", NULL), 0));
	wf_buf b;

	if (!wf__tbl_nonempty(type))
		type = "ClusterIP";
	if (!wf__tbl_nonempty(ip))
		ip = wf__tbl_str(svc, "spec", "clusterIP", NULL);
	wf__tbl_add_str(cells, wf__tbl_name(svc));
	wf__tbl_add_str(cells, type);
	wf__tbl_add_str(cells, wf__tbl_nonempty(ip) ? ip : "<none>");

	wf_buf_init(&b);
	wf_buf_puts(&b, "");
	wf__svc_external_ip(svc, type, &b);
	wf__tbl_add_str(cells, b.data);

	b.len = 0;
	b.data[0] = '\0';
	wf__svc_ports(svc, &b);
	wf__tbl_add_str(cells, b.len ? b.data : "<none>");
	wf__tbl_add_age(cells, svc, now);

	b.len = 0;
	wf__tbl_format_labels(wf__tbl_at(svc, "spec", "selector", NULL), &b);
	wf__tbl_add_str(cells, b.data);
	wf_buf_free(&b);
}

const wf_table_def wf__table_services = {
    .resource = "services",
    .cols = wf__svc_cols,
    .ncols = sizeof(wf__svc_cols) / sizeof(wf__svc_cols[0]),
    .row = wf__svc_row,
};
