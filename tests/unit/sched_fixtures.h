/*
 * sched_fixtures.h - fixtures shared by the scheduler unit tests
 * (tests/unit/test_sched_*.c): nodes, pods and PodGroups built from
 * Kubernetes JSON (single quotes stand for double quotes) through
 * convert.c, as the driver builds them; a scheduling cycle and look-ups in
 * its decisions; pod and node state; a seeded xorshift generator.
 *
 * Every helper is static inline so a test file that leaves some unused
 * still builds under -Wall -Wextra -Werror; a helper that cannot do what
 * it is asked fails the running test (fail_msg / assert_*) rather than
 * returning an error. Objects live in the wf_sched the test passes in,
 * which setup() creates with the default configuration and teardown()
 * frees. Pods without a namespace are in "default".
 */
#ifndef WF_TEST_SCHED_FIXTURES_H
#define WF_TEST_SCHED_FIXTURES_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "lib/wf_mem.h"
#include "scheduler/convert.h"
#include "scheduler/sched.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* Parses src with ' read as "; any JSON value, not only objects and arrays,
 * so tests can hand scalars to the converters. Caller json_decref()s. */
static inline json_t *J(const char *src)
{
	char *t = wf_xstrdup(src);
	for (char *p = t; *p; p++)
		if (*p == '\'')
			*p = '"';
	json_error_t e;
	json_t *j = json_loads(t, JSON_DECODE_ANY, &e);
	if (!j)
		fail_msg("bad JSON %s: %s", t, e.text);
	free(t);
	return j;
}

/* Converts a Node document and upserts it; fails the test on any error. */
static inline void add_node(wf_sched *s, const char *js)
{
	json_t *j = J(js);
	wf_sched_node_spec sp;
	wf_err err = {0};
	int rc = wf_sched_node_from_json(j, &sp, &err);
	if (rc)
		fail_msg("node_from_json: %s", err.msg);
	rc = wf_sched_node_upsert(s, &sp, &err);
	if (rc)
		fail_msg("node_upsert: %s", err.msg);
	wf_sched_node_spec_release(&sp);
	json_decref(j);
}

/* A Ready node with cpu cores, memory GiB, GPUs, extra labels ("'k':'v'")
 * and a taints array ("[...]" or ""). */
static inline void node(wf_sched *s, const char *name, int cpu, int mem, int gpus,
			const char *labels, const char *taints)
{
	char js[2048], gpu[64] = "";
	if (gpus)
		snprintf(gpu, sizeof(gpu), ",'nvidia.com/gpu':'%d'", gpus);
	snprintf(js, sizeof(js),
		 "{'metadata':{'name':'%s','labels':{'kubernetes.io/hostname':'%s'%s%s}},"
		 "'spec':{%s%s},"
		 "'status':{'allocatable':{'cpu':'%d','memory':'%dGi','pods':'110'%s},"
		 "'conditions':[{'type':'Ready','status':'True'}]}}",
		 name, name, labels && *labels ? "," : "", labels ? labels : "",
		 taints && *taints ? "'taints':" : "", taints ? taints : "", cpu, mem, gpu);
	add_node(s, js);
}

/* Converts a Pod document and upserts it; fails the test on any error. */
static inline void add_pod(wf_sched *s, const char *js)
{
	json_t *j = J(js);
	wf_sched_pod_spec sp;
	wf_err err = {0};
	int rc = wf_sched_pod_from_json(j, &sp, &err);
	if (rc)
		fail_msg("pod_from_json: %s", err.msg);
	rc = wf_sched_pod_upsert(s, &sp, &err);
	if (rc)
		fail_msg("pod_upsert: %s", err.msg);
	wf_sched_pod_spec_release(&sp);
	json_decref(j);
}

/* A pending pod requesting cpu (millicores) and GPUs, with extra spec fields. */
static inline void pod(wf_sched *s, const char *name, int cpu_m, int gpus, const char *spec_extra)
{
	char js[4096];
	char gpu[64] = "";
	if (gpus)
		snprintf(gpu, sizeof(gpu), ",'nvidia.com/gpu':'%d'", gpus);
	snprintf(
	    js, sizeof(js),
	    "{'metadata':{'name':'%s','namespace':'default'},"
	    "'spec':{'containers':[{'name':'c','resources':{'requests':{'cpu':'%dm'%s}}}]%s%s}}",
	    name, cpu_m, gpu, spec_extra && *spec_extra ? "," : "", spec_extra ? spec_extra : "");
	add_pod(s, js);
}

/* Filter status of pod on node, with the reasons. */
static inline int explain(wf_sched *s, const char *pod_name, const char *node_name, char *why,
			  size_t len)
{
	wf_buf b;
	wf_buf_init(&b);
	int rc = wf_sched_explain(s, "default", pod_name, node_name, &b);
	snprintf(why, len, "%s", b.data ? b.data : "");
	wf_buf_free(&b);
	return rc;
}

/* One wf_sched_schedule() call; asserts it succeeded and returns the count. */
static inline int run(wf_sched *s, int64_t now, wf_sched_decision *out, size_t max)
{
	int n = wf_sched_schedule(s, now, out, max);
	assert_true(n >= 0);
	return n;
}

/* The first decision of kind for pod name among d[0..n), or NULL. */
static inline const wf_sched_decision *find(const wf_sched_decision *d, int n, const char *name,
					    wf_sched_decision_kind kind)
{
	for (int i = 0; i < n; i++)
		if (d[i].kind == kind && strcmp(d[i].name, name) == 0)
			return &d[i];
	return NULL;
}

/* cmocka fixtures: a fresh scheduler with the default configuration. */
static inline int setup(void **state)
{
	*state = wf_sched_new(NULL);
	return 0;
}

static inline int teardown(void **state)
{
	wf_sched_free(*state);
	return 0;
}

/* Run one cycle and return the node the single decision binds to. */
static inline const char *place(wf_sched *s, int64_t now)
{
	static char buf[64];
	wf_sched_decision d[4];
	int n = run(s, now, d, 1);
	assert_int_equal(n, 1);
	if (d[0].kind != WF_SCHED_DEC_BIND)
		fail_msg("%s not bound: %s", d[0].name, d[0].message ? d[0].message : "");
	snprintf(buf, sizeof(buf), "%s", d[0].node);
	return buf;
}

/* A pod already bound to nodename holding GPUs (limits only). */
static inline void bound_gpus(wf_sched *s, const char *name, const char *nodename, int gpus)
{
	char js[512];
	snprintf(js, sizeof(js),
		 "{'metadata':{'name':'%s'},'spec':{'nodeName':'%s','containers':[{'resources':"
		 "{'limits':{'nvidia.com/gpu':'%d'}}}]}}",
		 name, nodename, gpus);
	add_pod(s, js);
}

/* The pod's state in default; WF_SCHED_POD_UNKNOWN when there is none. */
static inline wf_sched_pod_state state_of(wf_sched *s, const char *name)
{
	wf_sched_pod_info info;
	wf_sched_pod_info_get(s, "default", name, &info);
	return info.state;
}

/* Scheduling attempts of a pod in default, which must exist. */
static inline uint32_t attempts_of(wf_sched *s, const char *name)
{
	wf_sched_pod_info info;
	assert_true(wf_sched_pod_info_get(s, "default", name, &info));
	return info.attempts;
}

/* A pending pod with a priority, a creation time and a cpu request. */
static inline void prio_pod(wf_sched *s, const char *name, int prio, const char *created, int cpu_m)
{
	char js[512];
	snprintf(js, sizeof(js),
		 "{'metadata':{'name':'%s','creationTimestamp':'%s'},'spec':{'priority':%d,"
		 "'containers':[{'resources':{'requests':{'cpu':'%dm'}}}]}}",
		 name, created, prio, cpu_m);
	add_pod(s, js);
}

/* A member of group g requesting GPUs. */
static inline void member(wf_sched *s, const char *name, const char *g, int gpus,
			  const char *created)
{
	char js[512];
	snprintf(js, sizeof(js),
		 "{'metadata':{'name':'%s','creationTimestamp':'%s','labels':{"
		 "'scheduling.x-k8s.io/pod-group':'%s'}},'spec':{'containers':[{'resources':{"
		 "'limits':{'nvidia.com/gpu':'%d'}}}]}}",
		 name, created, g, gpus);
	add_pod(s, js);
}

/* A PodGroup in default; timeout 0 means none. */
static inline void group(wf_sched *s, const char *name, int min, int timeout)
{
	wf_sched_group_spec g = {
	    .ns = "default", .name = name, .min_member = min, .timeout_s = timeout};
	wf_err err = {0};
	if (wf_sched_group_upsert(s, &g, &err))
		fail_msg("group: %s", err.msg);
}

/* How many of d[0..n) are of kind. */
static inline int count(const wf_sched_decision *d, int n, wf_sched_decision_kind kind)
{
	int c = 0;
	for (int i = 0; i < n; i++)
		c += d[i].kind == kind;
	return c;
}

/* GPUs in use on nodename, which must exist. */
static inline int64_t gpus_used(wf_sched *s, const char *nodename)
{
	int64_t a, u;
	assert_true(wf_sched_node_usage(s, nodename, "nvidia.com/gpu", &a, &u));
	return u;
}

/* Next value in [0, n) from the xorshift64 state *rng; each test file keeps
 * its own seeded state so its random cases stay the same from run to run. */
static inline uint32_t rnd(uint64_t *rng, uint32_t n)
{
	*rng ^= *rng << 13;
	*rng ^= *rng >> 7;
	*rng ^= *rng << 17;
	return (uint32_t)(*rng % n);
}

#endif /* WF_TEST_SCHED_FIXTURES_H */
