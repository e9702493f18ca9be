/*
 * training_plan.c - the PyTorchJob controller's and the PodGroup status
 * controller's decisions (see training_plan.h): pure functions from (object,
 * pods, now) to a plan or a status. Nothing here does I/O or keeps state
 * between calls; what the controllers must remember lives in the objects'
 * status.
 *
 * wf_ptj_plan_compute follows the training operator's ReconcileJobs: a
 * finished job only gets its cleanup and TTL; otherwise pods are sorted into
 * replica slots, retryable failures are deleted for recreation, success and
 * failure are decided, then missing pods are created.
 */
#include "controllers/training_plan.h"
#include "lib/wf_mem.h"
#include "lib/wf_time.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WF__MAX_REPLICAS 10000

/* ---- small JSON helpers --------------------------------------------------------- */

static const char *wf__s(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static json_t *wf__at(const json_t *o, const char *a, const char *b)
{
	json_t *v = json_object_get(o, a);
	return b ? json_object_get(v, b) : v;
}

static bool wf__streq(const char *a, const char *b)
{
	return a && b && !strcmp(a, b);
}

/* RFC 3339 to epoch seconds; -1 when absent or malformed. */
static int64_t wf__time(const json_t *v)
{
	time_t t;
	if (!json_is_string(v) || wf_time_parse_rfc3339(json_string_value(v), &t) < 0)
		return -1;
	return (int64_t)t;
}

/* A plain non-negative decimal (no sign, no leading zeros) up to max; -1 else. */
static int64_t wf__index(const char *s, int64_t max)
{
	if (!s || !*s || strlen(s) > 9 || (s[0] == '0' && s[1]))
		return -1;
	int64_t v = 0;
	for (const char *c = s; *c; c++) {
		if (*c < '0' || *c > '9')
			return -1;
		v = v * 10 + (*c - '0');
	}
	return v <= max ? v : -1;
}

static json_t *wf__obj_copy(const json_t *o)
{
	return json_is_object(o) ? json_deep_copy(o) : json_object();
}

static json_t *wf__owner_ref(const char *name, const char *uid)
{
	return json_pack("[{s:s,s:s,s:s,s:s,s:b,s:b}]", "apiVersion", WF_PTJ_API_VERSION, "kind",
			 WF_PTJ_KIND, "name", name, "uid", uid, "controller", 1,
			 "blockOwnerDeletion", 1);
}

static bool wf__controlled_by(const json_t *obj, const char *uid)
{
	size_t i;
	json_t *ref;
	json_array_foreach(wf__at(obj, "metadata", "ownerReferences"), i, ref)
	{
		if (json_is_true(json_object_get(ref, "controller")))
			return wf__streq(wf__s(ref, "uid"), uid);
	}
	return false;
}

static bool wf__deleting(const json_t *obj)
{
	json_t *d = wf__at(obj, "metadata", "deletionTimestamp");
	return d && !json_is_null(d);
}

static const char *wf__phase(const json_t *pod)
{
	return wf__s(json_object_get(pod, "status"), "phase");
}

/* ---- the job's shape ---------------------------------------------------------------- */

typedef struct wf__rspec {
	const char *type;  /* "Master" / "Worker" */
	const char *lower; /* "master" / "worker" */
	const json_t *spec;
	int64_t replicas;
	const char *policy;  /* restartPolicy of the replica spec */
	const json_t **slot; /* [replicas]: the pod of each index, or NULL */
	int64_t active, succeeded, failed;
} wf__rspec;

typedef struct wf__job {
	const json_t *obj;
	const char *name, *ns, *uid;
	wf__rspec rs[2]; /* the Master first, when there is one */
	size_t nrs;
	bool has_master;
	int64_t total;
	const json_t *run_policy;
} wf__job;

static const char *const wf__types[] = {"Master", "Worker"};
static const char *const wf__lowers[] = {"master", "worker"};

/* Fill j from job; -WF_EINVAL (with err) for what the registry rejects. */
static int wf__job_parse(const json_t *job, wf__job *j, wf_err *err)
{
	memset(j, 0, sizeof *j);
	j->obj = job;
	const json_t *md = json_object_get(job, "metadata");
	j->name = wf__s(md, "name");
	j->ns = wf__s(md, "namespace");
	j->uid = wf__s(md, "uid");
	if (!j->name || !j->name[0] || !j->ns || !j->ns[0] || !j->uid || !j->uid[0])
		return wf_err_set(err, WF_EINVAL,
				  "pytorchjob: metadata name, namespace and uid are required");
	if (strlen(j->name) > 253)
		return wf_err_set(err, WF_EINVAL, "pytorchjob: name too long");
	const json_t *specs = wf__at(job, "spec", "pytorchReplicaSpecs");
	if (!json_is_object(specs) || !json_object_size(specs))
		return wf_err_set(err, WF_EINVAL, "pytorchjob %s: no spec.pytorchReplicaSpecs",
				  j->name);
	const char *key;
	json_t *rs;
	json_object_foreach((json_t *)specs, key, rs)
	{
		if (strcmp(key, "Master") && strcmp(key, "Worker"))
			return wf_err_set(err, WF_EINVAL, "pytorchjob %s: unknown replica type",
					  j->name);
	}
	for (size_t t = 0; t < 2; t++) {
		rs = json_object_get(specs, wf__types[t]);
		if (!rs)
			continue;
		if (!json_is_object(rs))
			return wf_err_set(err, WF_EINVAL,
					  "pytorchjob %s: replica spec %s is not an object",
					  j->name, wf__types[t]);
		json_t *n = json_object_get(rs, "replicas");
		int64_t replicas = 1;
		if (n) {
			if (!json_is_integer(n) || json_integer_value(n) < 0 ||
			    json_integer_value(n) > WF__MAX_REPLICAS)
				return wf_err_set(
				    err, WF_EINVAL,
				    "pytorchjob %s: %s replicas must be between 0 and %d", j->name,
				    wf__types[t], WF__MAX_REPLICAS);
			replicas = json_integer_value(n);
		}
		if (t == 0 && replicas != 1)
			return wf_err_set(err, WF_EINVAL,
					  "pytorchjob %s: Master replicas must be 1", j->name);
		wf__rspec *r = &j->rs[j->nrs++];
		r->type = wf__types[t];
		r->lower = wf__lowers[t];
		r->spec = rs;
		r->replicas = replicas;
		r->policy = wf__s(rs, "restartPolicy");
		if (!r->policy)
			r->policy = "OnFailure";
		j->total += replicas;
		if (t == 0)
			j->has_master = true;
	}
	j->run_policy = wf__at(job, "spec", "runPolicy");
	return 0;
}

static void wf__job_release(wf__job *j)
{
	for (size_t i = 0; i < j->nrs; i++)
		free(j->rs[i].slot);
}

static wf__rspec *wf__rspec_of(wf__job *j, const char *lower)
{
	for (size_t i = 0; i < j->nrs; i++)
		if (wf__streq(j->rs[i].lower, lower))
			return &j->rs[i];
	return NULL;
}

/* The rank-0 replica: the master, else worker 0; NULL when there is none. */
static const wf__rspec *wf__rank0(const wf__job *j)
{
	if (!j->nrs || j->rs[0].replicas < 1)
		return NULL;
	return &j->rs[0];
}

/* ---- object builders ----------------------------------------------------------------- */

static json_t *wf__selector_labels(const char *job, const char *lower)
{
	json_t *l = json_object();
	json_object_set_new(l, WF_PTJ_LABEL_OPERATOR, json_string(WF_PTJ_OPERATOR_NAME));
	json_object_set_new(l, WF_PTJ_LABEL_JOB_NAME, json_string(job));
	if (lower)
		json_object_set_new(l, WF_PTJ_LABEL_REPLICA_TYPE, json_string(lower));
	return l;
}

static int64_t wf__port_of(const json_t *rspec)
{
	size_t i, k;
	json_t *c, *p;
	json_array_foreach(wf__at(json_object_get(rspec, "template"), "spec", "containers"), i, c)
	{
		if (!wf__streq(wf__s(c, "name"), WF_PTJ_CONTAINER))
			continue;
		json_array_foreach(json_object_get(c, "ports"), k, p)
		{
			json_t *cp = json_object_get(p, "containerPort");
			if (wf__streq(wf__s(p, "name"), WF_PTJ_PORT_NAME) && json_is_integer(cp) &&
			    json_integer_value(cp) > 0 && json_integer_value(cp) < 65536)
				return json_integer_value(cp);
		}
	}
	return -1;
}

int64_t wf_ptj_master_port(const json_t *job)
{
	const json_t *specs = wf__at(job, "spec", "pytorchReplicaSpecs");
	const json_t *r0 = json_object_get(specs, "Master");
	if (!r0)
		r0 = json_object_get(specs, "Worker");
	int64_t p = wf__port_of(r0);
	return p > 0 ? p : WF_PTJ_DEFAULT_PORT;
}

static char *wf__rendezvous_name(const char *job)
{
	return wf_xasprintf("%s%s", job, WF_PTJ_RENDEZVOUS_SUFFIX);
}

static void wf__set_env(json_t *ctr, const char *name, json_t *entry)
{
	json_t *env = json_object_get(ctr, "env");
	if (!json_is_array(env)) {
		env = json_array();
		json_object_set_new(ctr, "env", env);
	}
	for (size_t i = json_array_size(env); i-- > 0;) {
		if (wf__streq(wf__s(json_array_get(env, i), "name"), name))
			json_array_remove(env, i);
	}
	json_object_set_new(entry, "name", json_string(name));
	json_array_append_new(env, entry);
}

/* The rendezvous environment of one container. */
static void wf__add_env(json_t *ctr, const char *job, bool rank0, int64_t rank, int64_t world,
			int64_t port)
{
	char buf[32];
	if (rank0) {
		wf__set_env(ctr, "MASTER_ADDR",
			    json_pack("{s:{s:{s:s,s:s}}}", "valueFrom", "fieldRef", "apiVersion",
				      "v1", "fieldPath", "status.podIP"));
	} else {
		char *cm = wf__rendezvous_name(job);
		wf__set_env(ctr, "MASTER_ADDR",
			    json_pack("{s:{s:{s:s,s:s}}}", "valueFrom", "configMapKeyRef", "name",
				      cm, "key", "MASTER_ADDR"));
		free(cm);
	}
	snprintf(buf, sizeof buf, "%lld", (long long)port);
	wf__set_env(ctr, "MASTER_PORT", json_pack("{s:s}", "value", buf));
	snprintf(buf, sizeof buf, "%lld", (long long)world);
	wf__set_env(ctr, "WORLD_SIZE", json_pack("{s:s}", "value", buf));
	snprintf(buf, sizeof buf, "%lld", (long long)rank);
	wf__set_env(ctr, "RANK", json_pack("{s:s}", "value", buf));
	wf__set_env(ctr, "PYTHONUNBUFFERED", json_pack("{s:s}", "value", "1"));
}

/* The rank-0 pytorch container declares the rendezvous port (the
 * operator's defaulting does the same). */
static void wf__add_port(json_t *ctr, int64_t port)
{
	json_t *ports = json_object_get(ctr, "ports");
	size_t i;
	json_t *p;
	json_array_foreach(ports, i, p)
	{
		if (wf__streq(wf__s(p, "name"), WF_PTJ_PORT_NAME))
			return;
	}
	if (!json_is_array(ports)) {
		ports = json_array();
		json_object_set_new(ctr, "ports", ports);
	}
	json_array_append_new(ports,
			      json_pack("{s:s,s:I,s:s}", "name", WF_PTJ_PORT_NAME, "containerPort",
					(json_int_t)port, "protocol", "TCP"));
}

static json_t *wf__pod_new(const wf__job *j, const wf__rspec *r, int64_t index)
{
	const json_t *tmpl = json_object_get(r->spec, "template");
	const json_t *tspec = json_object_get(tmpl, "spec");
	if (!json_is_object(tspec))
		return NULL;
	const json_t *tmd = json_object_get(tmpl, "metadata");
	const wf__rspec *r0 = wf__rank0(j);
	bool rank0 = r0 == r && index == 0;
	int64_t rank = j->has_master && r != &j->rs[0] ? index + 1 : index;
	int64_t port = wf_ptj_master_port(j->obj);
	char ix[24];
	snprintf(ix, sizeof ix, "%lld", (long long)index);

	json_t *pod = json_pack("{s:s,s:s}", "apiVersion", "v1", "kind", "Pod");
	json_t *md = json_object();
	json_object_set_new(pod, "metadata", md);
	char *name = wf_xasprintf("%s-%s-%s", j->name, r->lower, ix);
	json_object_set_new(md, "name", json_string(name));
	free(name);
	json_object_set_new(md, "namespace", json_string(j->ns));
	json_t *labels = wf__obj_copy(json_object_get(tmd, "labels"));
	json_t *sel = wf__selector_labels(j->name, r->lower);
	json_object_update(labels, sel);
	json_decref(sel);
	json_object_set_new(labels, WF_PTJ_LABEL_REPLICA_INDEX, json_string(ix));
	if (j->has_master && r == &j->rs[0])
		json_object_set_new(labels, WF_PTJ_LABEL_JOB_ROLE, json_string("master"));
	json_object_set_new(labels, WF_PG_LABEL, json_string(j->name));
	json_object_set_new(md, "labels", labels);
	json_t *ann = json_object_get(tmd, "annotations");
	if (json_is_object(ann) && json_object_size(ann))
		json_object_set_new(md, "annotations", json_deep_copy(ann));
	json_object_set_new(md, "ownerReferences", wf__owner_ref(j->name, j->uid));

	json_t *spec = json_deep_copy(tspec);
	json_object_set_new(pod, "spec", spec);
	const char *policy = r->policy;
	if (wf__streq(policy, "ExitCode"))
		policy = "Never";
	if (wf__streq(policy, "Always") || wf__streq(policy, "OnFailure") ||
	    wf__streq(policy, "Never"))
		json_object_set_new(spec, "restartPolicy", json_string(policy));
	const char *pc = wf__s(json_object_get(j->run_policy, "schedulingPolicy"), "priorityClass");
	if (pc && pc[0] && !json_object_get(spec, "priorityClassName"))
		json_object_set_new(spec, "priorityClassName", json_string(pc));
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(spec, "containers"), i, c)
	{
		if (!json_is_object(c))
			continue;
		wf__add_env(c, j->name, rank0, rank, j->total, port);
		if (rank0 && wf__streq(wf__s(c, "name"), WF_PTJ_CONTAINER))
			wf__add_port(c, port);
	}
	return pod;
}

json_t *wf_ptj_pod_new(const json_t *job, const char *rtype, int64_t index)
{
	wf__job j;
	if (!rtype || index < 0 || wf__job_parse(job, &j, NULL) < 0)
		return NULL;
	json_t *pod = NULL;
	for (size_t i = 0; i < j.nrs; i++) {
		if (!strcmp(j.rs[i].type, rtype) && index < j.rs[i].replicas)
			pod = wf__pod_new(&j, &j.rs[i], index);
	}
	wf__job_release(&j);
	return pod;
}

static json_t *wf__podgroup_new(const wf__job *j)
{
	if (j->total < 1)
		return NULL;
	const json_t *sp = json_object_get(j->run_policy, "schedulingPolicy");
	int64_t min = j->total;
	json_t *ma = json_object_get(sp, "minAvailable");
	if (json_is_integer(ma) && json_integer_value(ma) >= 1 && json_integer_value(ma) <= min)
		min = json_integer_value(ma);
	json_t *pg = json_pack("{s:s,s:s,s:{s:s,s:s,s:o},s:{s:I}}", "apiVersion", WF_PG_API_VERSION,
			       "kind", "PodGroup", "metadata", "name", j->name, "namespace", j->ns,
			       "ownerReferences", wf__owner_ref(j->name, j->uid), "spec",
			       "minMember", (json_int_t)min);
	json_t *spec = json_object_get(pg, "spec");
	json_t *to = json_object_get(sp, "scheduleTimeoutSeconds");
	if (json_is_integer(to) && json_integer_value(to) >= 0)
		json_object_set(spec, "scheduleTimeoutSeconds", to);
	const char *pc = wf__s(sp, "priorityClass");
	if (pc && pc[0])
		json_object_set_new(spec, "priorityClassName", json_string(pc));
	return pg;
}

json_t *wf_ptj_podgroup_new(const json_t *job)
{
	wf__job j;
	if (wf__job_parse(job, &j, NULL) < 0)
		return NULL;
	json_t *pg = wf__podgroup_new(&j);
	wf__job_release(&j);
	return pg;
}

static json_t *wf__service_new(const wf__job *j)
{
	const wf__rspec *r0 = wf__rank0(j);
	if (!r0)
		return NULL;
	char *name = wf_xasprintf("%s-%s-0", j->name, r0->lower);
	json_t *sel = wf__selector_labels(j->name, r0->lower);
	json_object_set_new(sel, WF_PTJ_LABEL_REPLICA_INDEX, json_string("0"));
	json_t *labels = json_deep_copy(sel);
	int64_t port = wf_ptj_master_port(j->obj);
	json_t *svc = json_pack(
	    "{s:s,s:s,s:{s:s,s:s,s:o,s:o},s:{s:s,s:o,s:[{s:s,s:I,s:I,s:s}]}}", "apiVersion", "v1",
	    "kind", "Service", "metadata", "name", name, "namespace", j->ns, "labels", labels,
	    "ownerReferences", wf__owner_ref(j->name, j->uid), "spec", "clusterIP", "None",
	    "selector", sel, "ports", "name", WF_PTJ_PORT_NAME, "port", (json_int_t)port,
	    "targetPort", (json_int_t)port, "protocol", "TCP");
	free(name);
	return svc;
}

json_t *wf_ptj_service_new(const json_t *job)
{
	wf__job j;
	if (wf__job_parse(job, &j, NULL) < 0)
		return NULL;
	json_t *svc = wf__service_new(&j);
	wf__job_release(&j);
	return svc;
}

static json_t *wf__rendezvous_new(const wf__job *j, const char *addr)
{
	char *name = wf__rendezvous_name(j->name);
	char port[24];
	snprintf(port, sizeof port, "%lld", (long long)wf_ptj_master_port(j->obj));
	json_t *cm = json_pack("{s:s,s:s,s:{s:s,s:s,s:o,s:o},s:{s:s,s:s}}", "apiVersion", "v1",
			       "kind", "ConfigMap", "metadata", "name", name, "namespace", j->ns,
			       "labels", wf__selector_labels(j->name, NULL), "ownerReferences",
			       wf__owner_ref(j->name, j->uid), "data", "MASTER_ADDR", addr,
			       "MASTER_PORT", port);
	free(name);
	return cm;
}

json_t *wf_ptj_rendezvous_new(const json_t *job, const char *addr)
{
	wf__job j;
	if (!addr || wf__job_parse(job, &j, NULL) < 0)
		return NULL;
	json_t *cm = wf__rendezvous_new(&j, addr);
	wf__job_release(&j);
	return cm;
}

/* ---- conditions (the operator's setCondition) ----------------------------------------- */

static json_t *wf__find_cond(const json_t *status, const char *type)
{
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(status, "conditions"), i, c)
	{
		if (wf__streq(wf__s(c, "type"), type))
			return c;
	}
	return NULL;
}

static bool wf__cond_true(const json_t *status, const char *type)
{
	return wf__streq(wf__s(wf__find_cond(status, type), "status"), "True");
}

bool wf_ptj_finished(const json_t *job)
{
	const json_t *st = json_object_get(job, "status");
	return wf__cond_true(st, "Succeeded") || wf__cond_true(st, "Failed");
}

/*
 * Set condition type to True with reason and message. Nothing changes once
 * the job failed, nor when the condition is already True with that reason.
 * The condition moves to the end of the list; Running and Restarting
 * replace each other; Succeeded and Failed turn Running to False.
 */
static void wf__set_cond(json_t *st, const char *type, const char *reason, const char *msg,
			 const char *now)
{
	if (wf__cond_true(st, "Failed"))
		return;
	json_t *cur = wf__find_cond(st, type);
	const char *ltt = now;
	if (cur && wf__streq(wf__s(cur, "status"), "True")) {
		if (wf__streq(wf__s(cur, "reason"), reason))
			return;
		const char *old = wf__s(cur, "lastTransitionTime");
		if (old)
			ltt = old;
	}
	json_t *nc =
	    json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "type", type, "status", "True", "reason", reason,
		      "message", msg, "lastUpdateTime", now, "lastTransitionTime", ltt);
	json_t *conds = json_array();
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(st, "conditions"), i, c)
	{
		const char *t = wf__s(c, "type");
		if (!json_is_object(c) || !t || !strcmp(t, type))
			continue;
		if ((!strcmp(type, "Restarting") && !strcmp(t, "Running")) ||
		    (!strcmp(type, "Running") && !strcmp(t, "Restarting")))
			continue;
		json_t *keep = json_deep_copy(c);
		if ((!strcmp(type, "Succeeded") || !strcmp(type, "Failed")) &&
		    !strcmp(t, "Running"))
			json_object_set_new(keep, "status", json_string("False"));
		json_array_append_new(conds, keep);
	}
	json_array_append_new(conds, nc);
	json_object_set_new(st, "conditions", conds);
}

static void wf__event(wf_ptj_plan *p, const char *type, const char *reason, const char *msg)
{
	json_array_append_new(
	    p->events, json_pack("{s:s,s:s,s:s}", "type", type, "reason", reason, "message", msg));
}

/* ---- pods ----------------------------------------------------------------------------- */

static bool wf__pod_failed(const json_t *pod)
{
	return wf__streq(wf__phase(pod), "Failed");
}

/* The pytorch container's exit code, or -1 when unknown. */
static int64_t wf__exit_code(const json_t *pod)
{
	size_t i;
	json_t *cs;
	json_array_foreach(wf__at(pod, "status", "containerStatuses"), i, cs)
	{
		if (!wf__streq(wf__s(cs, "name"), WF_PTJ_CONTAINER))
			continue;
		json_t *ec = wf__at(json_object_get(cs, "state"), "terminated", "exitCode");
		if (json_is_integer(ec))
			return json_integer_value(ec);
	}
	return -1;
}

/* May a failed pod of this replica be recreated? (exit code unknown: the
 * pod was lost with its node, say: yes, as the operator's 0xbeef.) */
static bool wf__retryable(const wf__rspec *r, const json_t *pod)
{
	if (wf__streq(r->policy, "OnFailure") || wf__streq(r->policy, "Always"))
		return true;
	if (wf__streq(r->policy, "ExitCode")) {
		int64_t ec = wf__exit_code(pod);
		return ec < 0 || ec >= 128;
	}
	return false;
}

static int64_t wf__restarts(const json_t *pod)
{
	int64_t n = 0;
	static const char *const lists[] = {"containerStatuses", "initContainerStatuses"};
	for (size_t l = 0; l < 2; l++) {
		size_t i;
		json_t *cs;
		json_array_foreach(wf__at(pod, "status", lists[l]), i, cs)
		{
			json_t *rc = json_object_get(cs, "restartCount");
			if (json_is_integer(rc) && json_integer_value(rc) > 0 &&
			    json_integer_value(rc) < INT_MAX)
				n += json_integer_value(rc);
		}
	}
	return n;
}

/* Put each controlled pod in its replica slot; pods that fit no slot (bad
 * labels, another name, an index past replicas) are deleted. */
static void wf__sort_pods(wf__job *j, const json_t *pods, wf_ptj_plan *p)
{
	for (size_t i = 0; i < j->nrs; i++)
		j->rs[i].slot = wf_xcalloc((size_t)j->rs[i].replicas + 1, sizeof *j->rs[i].slot);
	size_t i;
	json_t *pod;
	json_array_foreach(pods, i, pod)
	{
		if (!wf__controlled_by(pod, j->uid))
			continue;
		const json_t *md = json_object_get(pod, "metadata");
		const json_t *labels = json_object_get(md, "labels");
		const char *name = wf__s(md, "name");
		const char *uid = wf__s(md, "uid");
		if (!name || !uid)
			continue;
		wf__rspec *r = wf__rspec_of(j, wf__s(labels, WF_PTJ_LABEL_REPLICA_TYPE));
		int64_t ix = wf__index(wf__s(labels, WF_PTJ_LABEL_REPLICA_INDEX), WF__MAX_REPLICAS);
		bool fits = r && ix >= 0 && ix < r->replicas && !r->slot[ix];
		if (fits) {
			char *want = wf_xasprintf("%s-%s-%lld", j->name, r->lower, (long long)ix);
			fits = !strcmp(want, name);
			free(want);
		}
		if (fits) {
			r->slot[ix] = pod;
		} else if (!wf__deleting(pod)) {
			json_array_append_new(p->del,
					      json_pack("{s:s,s:s}", "name", name, "uid", uid));
		}
	}
}

static void wf__delete_pod_to(json_t *arr, const json_t *pod)
{
	const json_t *md = json_object_get(pod, "metadata");
	json_array_append_new(
	    arr, json_pack("{s:s,s:s}", "name", wf__s(md, "name"), "uid", wf__s(md, "uid")));
}

/* A usable IP address text (the master pod's status.podIP). */
static bool wf__sane_addr(const char *a)
{
	if (!a || !a[0] || strlen(a) > 45)
		return false;
	for (const char *c = a; *c; c++) {
		if (!((*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'f') ||
		      (*c >= 'A' && *c <= 'F') || *c == '.' || *c == ':'))
			return false;
	}
	return true;
}

/* ---- the plan ----------------------------------------------------------------------------- */

void wf_ptj_plan_free(wf_ptj_plan *p)
{
	if (!p)
		return;
	json_decref(p->status);
	json_decref(p->create);
	json_decref(p->del);
	json_decref(p->del_services);
	json_decref(p->podgroup);
	json_decref(p->service);
	json_decref(p->rendezvous);
	json_decref(p->events);
	memset(p, 0, sizeof *p);
}

static void wf__counts(wf__job *j)
{
	for (size_t t = 0; t < j->nrs; t++) {
		wf__rspec *r = &j->rs[t];
		r->active = r->succeeded = r->failed = 0;
		for (int64_t i = 0; i < r->replicas; i++) {
			const json_t *pod = r->slot[i];
			const char *ph = pod ? wf__phase(pod) : NULL;
			if (wf__streq(ph, "Running"))
				wf__deleting(pod) ? r->failed++ : r->active++;
			else if (wf__streq(ph, "Succeeded"))
				r->succeeded++;
			else if (wf__streq(ph, "Failed"))
				r->failed++;
		}
	}
}

static void wf__replica_statuses(const wf__job *j, json_t *st, bool succeeded)
{
	json_t *rss = json_object();
	for (size_t t = 0; t < j->nrs; t++) {
		const wf__rspec *r = &j->rs[t];
		int64_t active = r->active, done = r->succeeded;
		if (succeeded) {
			done += active;
			active = 0;
		}
		json_t *rs = json_object();
		if (active)
			json_object_set_new(rs, "active", json_integer(active));
		if (done)
			json_object_set_new(rs, "succeeded", json_integer(done));
		if (r->failed)
			json_object_set_new(rs, "failed", json_integer(r->failed));
		json_object_set_new(
		    rs, "labelSelector",
		    json_pack("{s:o}", "matchLabels", wf__selector_labels(j->name, r->lower)));
		json_object_set_new(rss, r->type, rs);
	}
	json_object_set_new(st, "replicaStatuses", rss);
}

static bool wf__pod_active(const json_t *pod)
{
	const char *ph = wf__phase(pod);
	return !wf__streq(ph, "Succeeded") && !wf__streq(ph, "Failed");
}

/* Failures that stop every active pod whatever cleanPodPolicy says. */
static bool wf__stops_all(const json_t *st)
{
	const char *m = wf__s(wf__find_cond(st, "Failed"), "message");
	if (!m || !wf__cond_true(st, "Failed"))
		return false;
	size_t n = strlen(m);
	static const char *const ends[] = {"specified deadline", "specified backoff limit"};
	for (size_t i = 0; i < 2; i++) {
		size_t k = strlen(ends[i]);
		if (n >= k && !strcmp(m + n - k, ends[i]))
			return true;
	}
	return false;
}

/* A finished job: delete pods per cleanPodPolicy, the master Service with
 * the master pod, and time the TTL. */
static void wf__finished(const wf__job *j, json_t *st, int64_t now_s, const char *now,
			 wf_ptj_plan *p)
{
	const char *policy = wf__s(j->run_policy, "cleanPodPolicy");
	bool all = wf__streq(policy, "All");
	bool running = wf__streq(policy, "Running");
	bool stop = wf__stops_all(st);
	const wf__rspec *r0 = wf__rank0(j);
	for (size_t t = 0; t < j->nrs; t++) {
		const wf__rspec *r = &j->rs[t];
		for (int64_t i = 0; i < r->replicas; i++) {
			const json_t *pod = r->slot[i];
			if (!pod || wf__deleting(pod))
				continue;
			const char *ph = wf__phase(pod);
			bool live = !ph || wf__streq(ph, "Pending") || wf__streq(ph, "Running");
			if (!all && !(running && live) && !(stop && wf__pod_active(pod)))
				continue;
			wf__delete_pod_to(p->del, pod);
			if (r == r0 && i == 0) {
				char *svc = wf_xasprintf("%s-%s-0", j->name, r->lower);
				json_array_append_new(p->del_services, json_string(svc));
				free(svc);
			}
		}
	}
	int64_t done = wf__time(json_object_get(st, "completionTime"));
	if (done < 0) {
		json_object_set_new(st, "completionTime", json_string(now));
		done = now_s;
	}
	json_t *ttl = json_object_get(j->run_policy, "ttlSecondsAfterFinished");
	if (json_is_integer(ttl) && json_integer_value(ttl) >= 0) {
		int64_t left = done + (int64_t)json_integer_value(ttl) - now_s;
		if (left <= 0)
			p->delete_job = true;
		else
			p->requeue_ms = left * 1000;
	}
}

static bool wf__past_backoff(const wf__job *j)
{
	json_t *bl = json_object_get(j->run_policy, "backoffLimit");
	if (!json_is_integer(bl) || json_integer_value(bl) < 0)
		return false;
	int64_t sum = 0;
	for (size_t t = 0; t < j->nrs; t++) {
		const wf__rspec *r = &j->rs[t];
		if (!wf__streq(r->policy, "OnFailure") && !wf__streq(r->policy, "Always"))
			continue;
		for (int64_t i = 0; i < r->replicas; i++) {
			if (r->slot[i] && wf__streq(wf__phase(r->slot[i]), "Running"))
				sum += wf__restarts(r->slot[i]);
		}
	}
	int64_t limit = json_integer_value(bl);
	return limit == 0 ? sum > 0 : sum >= limit;
}

int wf_ptj_plan_compute(const json_t *job, const json_t *pods, int64_t now_ms, wf_ptj_plan *p,
			wf_err *err)
{
	memset(p, 0, sizeof *p);
	p->requeue_ms = -1;
	wf__job j;
	int rc = wf__job_parse(job, &j, err);
	if (rc < 0)
		return rc;
	p->create = json_array();
	p->del = json_array();
	p->del_services = json_array();
	p->events = json_array();
	const json_t *old = json_object_get(job, "status");
	p->status = json_is_object(old) ? json_deep_copy(old) : json_object();
	json_t *st = p->status;
	if (wf__deleting(job))
		goto out;
	if (json_object_get(st, "conditions") && !json_is_array(json_object_get(st, "conditions")))
		json_object_del(st, "conditions");
	int64_t now_s = now_ms / 1000;
	char now[32], msg[512];
	wf_time_rfc3339((time_t)now_s, now);

	wf__sort_pods(&j, pods, p);
	if (wf_ptj_finished(job)) {
		wf__finished(&j, st, now_s, now, p);
		goto out;
	}
	if (!wf__find_cond(st, "Created")) {
		snprintf(msg, sizeof msg, "PyTorchJob %s is created.", j.name);
		wf__set_cond(st, "Created", "PyTorchJobCreated", msg, now);
	}
	int64_t start = wf__time(json_object_get(st, "startTime"));
	if (start < 0) {
		json_object_set_new(st, "startTime", json_string(now));
		start = now_s;
	}
	wf__counts(&j);

	/* Failed pods: recreate the retryable ones, count the others. */
	json_t *retry = json_array();
	int64_t restarting = 0;
	const wf__rspec *lost_r = NULL, *restart_r = NULL;
	int64_t lost = 0;
	for (size_t t = 0; t < j.nrs; t++) {
		wf__rspec *r = &j.rs[t];
		int64_t mine = 0;
		for (int64_t i = 0; i < r->replicas; i++) {
			const json_t *pod = r->slot[i];
			if (!pod || !wf__pod_failed(pod) || wf__deleting(pod))
				continue;
			if (wf__retryable(r, pod)) {
				wf__delete_pod_to(retry, pod);
				restarting++;
				if (!restart_r)
					restart_r = r;
			} else {
				mine++;
			}
		}
		if (mine && !lost_r) {
			lost_r = r;
			lost = mine;
		}
	}

	bool succeeded = false;
	const char *fail_msg = NULL;
	if (j.has_master)
		succeeded = j.rs[0].succeeded >= 1;
	else
		succeeded = j.nrs ? j.rs[0].succeeded >= j.rs[0].replicas : true;
	if (!succeeded) {
		json_t *ads = json_object_get(j.run_policy, "activeDeadlineSeconds");
		if (lost_r) {
			snprintf(msg, sizeof msg,
				 "PyTorchJob %s is failed because %lld %s replica(s) failed.",
				 j.name, (long long)lost, lost_r->type);
			fail_msg = msg;
		} else if (wf__past_backoff(&j)) {
			snprintf(msg, sizeof msg,
				 "PyTorchJob %s has failed because it has reached the specified "
				 "backoff limit",
				 j.name);
			fail_msg = msg;
		} else if (json_is_integer(ads) && json_integer_value(ads) >= 0) {
			int64_t left = start + (int64_t)json_integer_value(ads) - now_s;
			if (left <= 0) {
				snprintf(msg, sizeof msg,
					 "PyTorchJob %s has failed because it was active longer "
					 "than specified deadline",
					 j.name);
				fail_msg = msg;
			} else {
				p->requeue_ms = left * 1000;
			}
		}
	}

	wf__replica_statuses(&j, st, succeeded);
	if (succeeded || fail_msg) {
		/* Failed pods that were to be recreated stay as they are. */
		json_decref(retry);
		if (succeeded) {
			snprintf(msg, sizeof msg, "PyTorchJob %s is successfully completed.",
				 j.name);
			wf__set_cond(st, "Succeeded", "PyTorchJobSucceeded", msg, now);
			wf__event(p, "Normal", "PyTorchJobSucceeded", msg);
		} else {
			wf__set_cond(st, "Failed", "PyTorchJobFailed", fail_msg, now);
			wf__event(p, "Warning", "PyTorchJobFailed", fail_msg);
		}
		json_object_del(st, "completionTime");
		p->requeue_ms = -1;
		wf__finished(&j, st, now_s, now, p);
		goto out;
	}
	json_array_extend(p->del, retry);
	json_decref(retry);

	char rmsg[512];
	bool running = j.has_master ? j.rs[0].active > 0 : (j.nrs && j.rs[0].active > 0);
	if (running) {
		if (j.has_master)
			snprintf(rmsg, sizeof rmsg, "PyTorchJob %s is running.", j.name);
		else
			snprintf(rmsg, sizeof rmsg, "PyTorchJob %s/%s is running.", j.ns, j.name);
		wf__set_cond(st, "Running", "PyTorchJobRunning", rmsg, now);
	}
	if (restarting) {
		snprintf(rmsg, sizeof rmsg,
			 "PyTorchJob %s is restarting because %lld %s replica(s) failed.", j.name,
			 (long long)restarting, restart_r->type);
		wf__set_cond(st, "Restarting", "PyTorchJobRestarting", rmsg, now);
		wf__event(p, "Warning", "PyTorchJobRestarting", rmsg);
	}

	/* What the job wants to exist. */
	p->podgroup = wf__podgroup_new(&j);
	p->service = wf__service_new(&j);
	const wf__rspec *r0 = wf__rank0(&j);
	const json_t *master = r0 ? r0->slot[0] : NULL;
	const char *ip = master && !wf__deleting(master)
			     ? wf__s(json_object_get(master, "status"), "podIP")
			     : NULL;
	if (wf__sane_addr(ip))
		p->rendezvous = wf__rendezvous_new(&j, ip);
	size_t made = 0;
	for (size_t t = 0; t < j.nrs; t++) {
		wf__rspec *r = &j.rs[t];
		for (int64_t i = 0; i < r->replicas; i++) {
			if (r->slot[i])
				continue;
			if (made == WF_PTJ_MAX_CREATE_PER_SYNC) {
				p->requeue_ms = 1000;
				goto out;
			}
			json_t *pod = wf__pod_new(&j, r, i);
			if (pod) {
				json_array_append_new(p->create, pod);
				made++;
			}
		}
	}
out:
	if (wf__deleting(job))
		p->status_changed = false;
	else
		p->status_changed = !json_is_object(old) || !json_equal(st, old);
	wf__job_release(&j);
	return 0;
}

/* ---- PodGroup status ---------------------------------------------------------------------- */

const char *wf_podgroup_of_pod(const json_t *pod)
{
	const json_t *md = json_object_get(pod, "metadata");
	const char *g = wf__s(json_object_get(md, "labels"), WF_PG_LABEL);
	if (!g || !g[0])
		g = wf__s(json_object_get(md, "annotations"), WF_PG_VOLCANO_ANNOTATION);
	return g && g[0] ? g : NULL;
}

static int wf__strcmp_p(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* "<ns>/<owner>" of the pod's owners, sorted and comma-joined; NULL if none. */
static char *wf__occupied_by(const json_t *pod)
{
	const json_t *md = json_object_get(pod, "metadata");
	const char *ns = wf__s(md, "namespace");
	const json_t *refs = json_object_get(md, "ownerReferences");
	size_t n = json_array_size(refs);
	if (!n || !ns || n > 64)
		return NULL;
	char **v = wf_xcalloc(n, sizeof *v);
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		const char *name = wf__s(json_array_get(refs, i), "name");
		if (name)
			v[k++] = wf_xasprintf("%s/%s", ns, name);
	}
	qsort(v, k, sizeof *v, wf__strcmp_p);
	wf_buf b;
	wf_buf_init(&b);
	for (size_t i = 0; i < k; i++) {
		wf_buf_printf(&b, "%s%s", i ? "," : "", v[i]);
		free(v[i]);
	}
	free(v);
	if (!k) {
		wf_buf_free(&b);
		return NULL;
	}
	return wf_buf_steal(&b);
}

json_t *wf_podgroup_status_compute(const json_t *pg, const json_t *pods, int64_t now_ms)
{
	const char *av = wf__s(pg, "apiVersion");
	bool volcano = wf__streq(av, WF_PG_VOLCANO_API_VERSION);
	if (!volcano && !wf__streq(av, WF_PG_API_VERSION))
		return NULL;
	const json_t *md = json_object_get(pg, "metadata");
	const char *name = wf__s(md, "name"), *ns = wf__s(md, "namespace");
	json_t *mm = wf__at(pg, "spec", "minMember");
	if (!name || !ns || !json_is_integer(mm) || json_integer_value(mm) < 1)
		return NULL;
	int64_t min = json_integer_value(mm);
	const json_t *old = json_object_get(pg, "status");
	json_t *st = json_is_object(old) ? json_deep_copy(old) : json_object();
	const char *phase = wf__s(st, "phase");
	if (volcano ? wf__streq(phase, "Completed")
		    : wf__streq(phase, "Finished") || wf__streq(phase, "Failed"))
		return st;

	int64_t n = 0, running = 0, succeeded = 0, failed = 0, scheduled = 0, placed = 0;
	const json_t *first = NULL;
	size_t i;
	json_t *pod;
	json_array_foreach(pods, i, pod)
	{
		const json_t *pmd = json_object_get(pod, "metadata");
		const char *pname = wf__s(pmd, "name");
		if (!pname || !wf__streq(wf__s(pmd, "namespace"), ns) ||
		    !wf__streq(wf_podgroup_of_pod(pod), name))
			continue;
		n++;
		if (!first || strcmp(pname, wf__s(json_object_get(first, "metadata"), "name")) < 0)
			first = pod;
		const char *ph = wf__phase(pod);
		const char *node = wf__s(json_object_get(pod, "spec"), "nodeName");
		bool bound = node && node[0];
		scheduled += bound;
		if (wf__streq(ph, "Running"))
			running++;
		else if (wf__streq(ph, "Succeeded"))
			succeeded++;
		else if (wf__streq(ph, "Failed"))
			failed++;
		placed += (bound && !wf__streq(ph, "Failed")) || wf__streq(ph, "Succeeded");
	}

	const char *np;
	if (volcano) {
		if (placed >= min)
			np = succeeded == placed ? "Completed" : "Running";
		else if (running > 0)
			np = "Unknown";
		else if (n >= min)
			np = "Inqueue";
		else
			np = "Pending";
	} else {
		if (n < min) {
			np = "Pending";
		} else {
			np = running + succeeded >= min ? "Running"
			     : scheduled >= min		? "Scheduled"
			     : scheduled > 0		? "Scheduling"
							: "PreScheduling";
			if (failed && failed + running + succeeded >= min)
				np = "Failed";
			if (succeeded >= min)
				np = "Finished";
		}
		json_object_set_new(st, "scheduled", json_integer(scheduled));
	}
	json_object_set_new(st, "phase", json_string(np));
	json_object_set_new(st, "running", json_integer(running));
	json_object_set_new(st, "succeeded", json_integer(succeeded));
	json_object_set_new(st, "failed", json_integer(failed));
	if (strcmp(np, "Pending")) {
		if (!volcano && !wf__s(st, "occupiedBy") && first) {
			char *ob = wf__occupied_by(first);
			if (ob)
				json_object_set_new(st, "occupiedBy", json_string(ob));
			free(ob);
		}
		if (!volcano && wf__time(json_object_get(st, "scheduleStartTime")) < 0) {
			char now[32];
			wf_time_rfc3339((time_t)(now_ms / 1000), now);
			json_object_set_new(st, "scheduleStartTime", json_string(now));
		}
	}
	return st;
}
