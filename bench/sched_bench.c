/*
 * sched_bench.c - throughput of the scheduler library (src/scheduler), no
 * I/O: a synthetic cluster of 5,000 nodes (GPU nodes of two products with
 * a NoSchedule taint, MIG nodes, CPU nodes in four zones, some with a
 * PreferNoSchedule spot taint) and 50,000 pending pods (CPU pods with
 * nodeSelector, required and preferred affinity; GPU pods of 1-8 GPUs
 * tolerating the taint, some pinned to a product; MIG pods; gangs of 8).
 *
 * Measures, driving the library the way the driver will (schedule, then
 * confirm each BIND with wf_sched_bound):
 *   1. adding the pods (wf_sched_pod_upsert);
 *   2. scheduling them all: pods/s, and the latency of each scheduling
 *      cycle (one pod, or one gang of 8) p50/p99/max;
 *   3. for comparison, pods whose constraints name nodes per node (a
 *      kubernetes.io/hostname NotIn requirement), which cannot use the
 *      class cache or indexes: the node-by-node filter pass per pod;
 *   4. converting Pod JSON with wf_sched_pod_from_json (the driver's cost).
 * Prints the figures; asserts nothing.
 *
 *   build/release/bench/sched_bench [--nodes N] [--pods N] [--quick]
 */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "scheduler/convert.h"
#include "scheduler/sched.h"

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double pct(double *v, size_t n, double p)
{
	if (!n)
		return 0;
	size_t i = (size_t)(p * (double)(n - 1) + 0.5);
	return v[i];
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint32_t rnd(uint32_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng % n);
}

static long rss_kb(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	long pages = 0, res = 0;
	if (!f)
		return 0;
	if (fscanf(f, "%ld %ld", &pages, &res) != 2)
		res = 0;
	fclose(f);
	return res * (sysconf(_SC_PAGESIZE) / 1024);
}

#define GI (INT64_C(1) << 30)
#define MI (INT64_C(1) << 20)

static const char *zones[] = {"zone-a", "zone-b", "zone-c", "zone-d"};

/* ---- cluster ----------------------------------------------------------------------- */

static void add_nodes(wf_sched *s, int nodes)
{
	int ngpu = nodes * 40 / 100, nmig = nodes * 5 / 100;
	for (int i = 0; i < nodes; i++) {
		char name[32];
		snprintf(name, sizeof(name), "node-%05d", i);
		wf_sched_label labels[6];
		size_t nl = 0;
		labels[nl++] = (wf_sched_label){"kubernetes.io/hostname", name};
		labels[nl++] = (wf_sched_label){"topology.kubernetes.io/zone", zones[i % 4]};
		wf_sched_resource alloc[5];
		size_t na = 0;
		wf_sched_taint taint;
		size_t nt = 0;
		if (i < ngpu) {
			bool h100 = i % 3 == 0;
			labels[nl++] = (wf_sched_label){"nvidia.com/gpu.product",
							h100 ? "NVIDIA-H100-80GB-HBM3"
							     : "NVIDIA-A100-SXM4-80GB"};
			labels[nl++] = (wf_sched_label){"nvidia.com/gpu.count", "8"};
			alloc[na++] = (wf_sched_resource){"cpu", 96000};
			alloc[na++] = (wf_sched_resource){"memory", 1024 * GI};
			alloc[na++] = (wf_sched_resource){"nvidia.com/gpu", 8};
			taint = (wf_sched_taint){"nvidia.com/gpu", "present", WF_SCHED_NO_SCHEDULE};
			nt = 1;
		} else if (i < ngpu + nmig) {
			labels[nl++] = (wf_sched_label){"nvidia.com/mig.capable", "true"};
			alloc[na++] = (wf_sched_resource){"cpu", 96000};
			alloc[na++] = (wf_sched_resource){"memory", 1024 * GI};
			alloc[na++] = (wf_sched_resource){"nvidia.com/mig-1g.10gb", 56};
			taint = (wf_sched_taint){"nvidia.com/gpu", "present", WF_SCHED_NO_SCHEDULE};
			nt = 1;
		} else {
			labels[nl++] = (wf_sched_label){"node.kubernetes.io/instance-type",
							i % 2 ? "c6i.16xlarge" : "m6i.16xlarge"};
			alloc[na++] = (wf_sched_resource){"cpu", 64000};
			alloc[na++] = (wf_sched_resource){"memory", 256 * GI};
			if (i % 10 == 0) {
				taint =
				    (wf_sched_taint){"spot", "true", WF_SCHED_PREFER_NO_SCHEDULE};
				nt = 1;
			}
		}
		alloc[na++] = (wf_sched_resource){"pods", 110};
		wf_sched_node_spec sp = {.name = name,
					 .labels = labels,
					 .nlabels = nl,
					 .taints = nt ? &taint : NULL,
					 .ntaints = nt,
					 .allocatable = alloc,
					 .nallocatable = na,
					 .ready = WF_SCHED_READY_TRUE};
		wf_err err = {0};
		if (wf_sched_node_upsert(s, &sp, &err)) {
			fprintf(stderr, "node: %s\n", err.msg);
			exit(1);
		}
	}
}

/* ---- pods ---------------------------------------------------------------------------- */

static const wf_sched_toleration gpu_tol = {"nvidia.com/gpu", WF_SCHED_TOL_EXISTS, NULL,
					    WF_SCHED_NO_SCHEDULE};

static int add_pods(wf_sched *s, int pods, int first, int64_t created, bool per_node)
{
	static const char *ab[] = {"zone-a", "zone-b"};
	static const char *a100[] = {"NVIDIA-A100-SXM4-80GB"};
	static const char *excl[] = {"node-00000"};
	int gangs = 0;
	for (int i = 0; i < pods;) {
		char name[32], group[32];
		wf_sched_resource req[3];
		size_t nr = 0;
		wf_sched_label sel;
		wf_sched_requirement r;
		wf_sched_term term = {&r, 1};
		wf_sched_preferred pref;
		wf_sched_pod_spec sp = {.ns = "bench", .created_ms = created + i};
		/* 0.7% of draws are gangs of 8: about 5% of the pods. */
		uint32_t kind = rnd(1000) < 7 ? 99 : rnd(95);
		int members = 1;
		if (per_node) {
			req[nr++] = (wf_sched_resource){"cpu", 250};
			req[nr++] = (wf_sched_resource){"memory", 256 * MI};
			r = (wf_sched_requirement){"kubernetes.io/hostname", WF_SCHED_OP_NOT_IN,
						   excl, 1, false};
			sp.has_required = true;
			sp.required = &term;
			sp.nrequired = 1;
		} else if (kind < 78) {
			/* CPU pods: 250m..4 cores */
			static const int64_t cpus[] = {250, 500, 1000, 2000, 4000};
			int64_t c = cpus[rnd(5)];
			req[nr++] = (wf_sched_resource){"cpu", c};
			req[nr++] = (wf_sched_resource){"memory", c * 2 * MI};
			uint32_t k = rnd(10);
			if (k < 2) {
				sel =
				    (wf_sched_label){"topology.kubernetes.io/zone", zones[rnd(4)]};
				sp.node_selector = &sel;
				sp.nnode_selector = 1;
			} else if (k < 3) {
				r = (wf_sched_requirement){"topology.kubernetes.io/zone",
							   WF_SCHED_OP_IN, ab, 2, false};
				sp.has_required = true;
				sp.required = &term;
				sp.nrequired = 1;
			} else if (k < 5) {
				r = (wf_sched_requirement){"node.kubernetes.io/instance-type",
							   WF_SCHED_OP_EXISTS, NULL, 0, false};
				pref = (wf_sched_preferred){50, term};
				sp.preferred = &pref;
				sp.npreferred = 1;
			}
		} else if (kind < 90) {
			/* GPU pods: 1, 2, 4 or 8 GPUs */
			uint32_t k = rnd(20);
			int64_t g = k < 12 ? 1 : k < 17 ? 2 : k < 19 ? 4 : 8;
			req[nr++] = (wf_sched_resource){"cpu", 8000 * g};
			req[nr++] = (wf_sched_resource){"memory", 64 * GI * g};
			req[nr++] = (wf_sched_resource){"nvidia.com/gpu", g};
			sp.tolerations = &gpu_tol;
			sp.ntolerations = 1;
			if (rnd(10) < 3) {
				r = (wf_sched_requirement){"nvidia.com/gpu.product", WF_SCHED_OP_IN,
							   a100, 1, false};
				sp.has_required = true;
				sp.required = &term;
				sp.nrequired = 1;
			}
		} else if (kind < 95) {
			/* MIG slices */
			req[nr++] = (wf_sched_resource){"cpu", 2000};
			req[nr++] = (wf_sched_resource){"memory", 16 * GI};
			req[nr++] = (wf_sched_resource){"nvidia.com/mig-1g.10gb", 1 + rnd(2)};
			sp.tolerations = &gpu_tol;
			sp.ntolerations = 1;
		} else {
			/* a gang of 8 one-GPU workers */
			members = pods - i < 8 ? pods - i : 8;
			snprintf(group, sizeof(group), "gang-%d", first + i);
			wf_sched_group_spec g = {
			    .ns = "bench", .name = group, .min_member = members};
			wf_sched_group_upsert(s, &g, NULL);
			gangs++;
			req[nr++] = (wf_sched_resource){"cpu", 8000};
			req[nr++] = (wf_sched_resource){"memory", 64 * GI};
			req[nr++] = (wf_sched_resource){"nvidia.com/gpu", 1};
			sp.tolerations = &gpu_tol;
			sp.ntolerations = 1;
			sp.group = group;
		}
		sp.requests = req;
		sp.nrequests = nr;
		for (int m = 0; m < members; m++, i++) {
			snprintf(name, sizeof(name), "pod-%06d", first + i);
			sp.name = name;
			wf_err err = {0};
			if (wf_sched_pod_upsert(s, &sp, &err)) {
				fprintf(stderr, "pod: %s\n", err.msg);
				exit(1);
			}
		}
	}
	return gangs;
}

typedef struct result {
	double secs;
	size_t binds, unsched, preempt, victims, cycles;
	double *lat;
	size_t nlat, cap;
} result;

/* Schedule until nothing is left, confirming every BIND. */
static void drain(wf_sched *s, int64_t now, result *r)
{
	wf_sched_decision d[64];
	uint64_t cycles0 = wf_sched_cycles(s);
	double t0 = now_s();
	for (;;) {
		/* One decision per call, so that each call runs at most one cycle
		 * (one pod, or one gang whose other decisions come next). */
		uint64_t before = wf_sched_cycles(s);
		double a = now_s();
		int n = wf_sched_schedule(s, now, d, 1);
		double b = now_s();
		if (n <= 0)
			break;
		if (wf_sched_cycles(s) != before) {
			if (r->nlat == r->cap) {
				r->cap = r->cap ? r->cap * 2 : 1024;
				r->lat = realloc(r->lat, r->cap * sizeof(double));
			}
			r->lat[r->nlat++] = b - a;
		}
		for (int i = 0; i < n; i++) {
			switch (d[i].kind) {
			case WF_SCHED_DEC_BIND:
				r->binds++;
				wf_sched_bound(s, d[i].ns, d[i].name, NULL);
				break;
			case WF_SCHED_DEC_UNSCHEDULABLE:
				r->unsched++;
				break;
			case WF_SCHED_DEC_PREEMPT:
				/* The driver deletes the victims. */
				r->preempt++;
				r->victims += d[i].nvictims;
				for (size_t v = 0; v < d[i].nvictims; v++)
					wf_sched_pod_remove(s, d[i].victims[v].ns,
							    d[i].victims[v].name, NULL);
				break;
			default:
				break;
			}
		}
	}
	r->secs = now_s() - t0;
	r->cycles = wf_sched_cycles(s) - cycles0;
}

static void print_result(const char *what, size_t pods, result *r)
{
	qsort(r->lat, r->nlat, sizeof(double), cmp_double);
	printf("%s: %zu pods in %.3f s = %.0f pods/s (%zu bound, %zu unschedulable, %zu cycles)\n",
	       what, pods, r->secs, (double)pods / r->secs, r->binds, r->unsched, r->cycles);
	printf("  cycle latency: p50 %.1f us, p99 %.1f us, max %.1f us\n",
	       pct(r->lat, r->nlat, 0.50) * 1e6, pct(r->lat, r->nlat, 0.99) * 1e6,
	       r->nlat ? r->lat[r->nlat - 1] * 1e6 : 0.0);
}

static void gpu_allocation(wf_sched *s, int nodes)
{
	int64_t alloc = 0, used = 0, full = 0, empty = 0, partial = 0;
	for (int i = 0; i < nodes; i++) {
		char name[32];
		int64_t a, u;
		snprintf(name, sizeof(name), "node-%05d", i);
		if (!wf_sched_node_usage(s, name, "nvidia.com/gpu", &a, &u) || a == 0)
			continue;
		alloc += a;
		used += u;
		full += u == a;
		empty += u == 0;
		partial += u > 0 && u < a;
	}
	printf("  GPUs: %lld of %lld allocated (%.1f%%); GPU nodes full %lld, partly used %lld, "
	       "empty %lld\n",
	       (long long)used, (long long)alloc, alloc ? 100.0 * (double)used / (double)alloc : 0,
	       (long long)full, (long long)partial, (long long)empty);
}

static void bench_convert(int n)
{
	char js[1024];
	double t0 = now_s();
	for (int i = 0; i < n; i++) {
		snprintf(js, sizeof(js),
			 "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"p%d\","
			 "\"namespace\":\"bench\",\"creationTimestamp\":\"2026-01-01T00:00:00Z\","
			 "\"labels\":{\"app\":\"x\"}},\"spec\":{\"priority\":0,\"tolerations\":[{"
			 "\"key\":\"nvidia.com/gpu\",\"operator\":\"Exists\",\"effect\":"
			 "\"NoSchedule\"}],\"containers\":[{\"name\":\"c\",\"image\":\"i\","
			 "\"resources\":{\"requests\":{\"cpu\":\"500m\",\"memory\":\"1Gi\"},"
			 "\"limits\":{\"nvidia.com/gpu\":\"1\"}}}]},\"status\":{\"phase\":"
			 "\"Pending\"}}",
			 i);
		json_t *j = json_loads(js, 0, NULL);
		wf_sched_pod_spec sp;
		if (wf_sched_pod_from_json(j, &sp, NULL)) {
			fprintf(stderr, "convert failed\n");
			exit(1);
		}
		wf_sched_pod_spec_release(&sp);
		json_decref(j);
	}
	double dt = now_s() - t0;
	printf("convert: %d Pod JSON documents parsed and converted in %.3f s = %.0f pods/s\n", n,
	       dt, (double)n / dt);
}

int main(int argc, char **argv)
{
	int nodes = 5000, pods = 50000;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--nodes") && i + 1 < argc)
			nodes = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--pods") && i + 1 < argc)
			pods = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--quick")) {
			nodes = 1000;
			pods = 10000;
		} else {
			fprintf(stderr, "usage: %s [--nodes N] [--pods N] [--quick]\n", argv[0]);
			return 2;
		}
	}
	long rss0 = rss_kb();
	wf_sched *s = wf_sched_new(NULL);
	double t0 = now_s();
	add_nodes(s, nodes);
	double t1 = now_s();
	int gangs = add_pods(s, pods, 0, 1000, false);
	double t2 = now_s();
	wf_sched_stats st;
	wf_sched_stats_get(s, &st);
	printf("cluster: %d nodes in %zu node classes (%.3f s); %d pods incl. %d gangs added in "
	       "%.3f s (%.0f pods/s)\n",
	       nodes, st.node_classes, t1 - t0, pods, gangs, t2 - t1, (double)pods / (t2 - t1));

	result r = {0};
	drain(s, 10000, &r);
	print_result("schedule", (size_t)pods, &r);
	gpu_allocation(s, nodes);
	wf_sched_stats_get(s, &st);
	printf("  memory: %.1f MiB resident for the scheduler with %zu pods (%zu bound)\n",
	       (double)(rss_kb() - rss0) / 1024.0, st.pods, st.bound);

	/* Per-node constraints: the node-by-node path, for comparison. */
	int extra = pods / 25 > 200 ? pods / 25 : 200;
	add_pods(s, extra, pods, 2000000, true);
	result r2 = {0};
	drain(s, 20000, &r2);
	print_result("per-node constraints (no class cache: kube-style sampled filter pass)",
		     (size_t)extra, &r2);

	/* Required pod anti-affinity: 10 apps of 100 replicas, one replica of an
	 * app per node. Each cycle reads every placed pod (kube-scheduler's
	 * PreFilter does the same), and, once some are placed, every pod's
	 * cycle checks their anti-affinity. */
	int nanti = 1000;
	for (int i = 0; i < nanti; i++) {
		char name[32], app[16];
		snprintf(name, sizeof(name), "web-%d", i);
		snprintf(app, sizeof(app), "web-%d", i % 10);
		wf_sched_resource req[] = {{"cpu", 250}, {"memory", 256 * MI}};
		const char *vals[] = {app};
		wf_sched_label lab = {"app", app};
		wf_sched_requirement sel = {"app", WF_SCHED_OP_IN, vals, 1, false};
		wf_sched_pod_term anti = {
		    .topology_key = "kubernetes.io/hostname", .selector = &sel, .nselector = 1};
		wf_sched_pod_spec sp = {.ns = "bench",
					.name = name,
					.created_ms = 2500000 + i,
					.requests = req,
					.nrequests = 2,
					.labels = &lab,
					.nlabels = 1,
					.anti_affinity = &anti,
					.nanti_affinity = 1};
		wf_sched_pod_upsert(s, &sp, NULL);
	}
	result ra = {0};
	drain(s, 25000, &ra);
	print_result("pod anti-affinity (1,000 replicas of 10 apps, one per node per app)",
		     (size_t)nanti, &ra);

	/* Pods that fit nowhere: the FitError diagnosis (and a preemption
	 * search that finds nobody of lower priority). */
	int nfail = 500;
	wf_sched_resource big[] = {{"cpu", 1000}, {"nvidia.com/gpu", 9}};
	for (int i = 0; i < nfail; i++) {
		char name[32];
		snprintf(name, sizeof(name), "huge-%d", i);
		wf_sched_pod_spec sp = {.ns = "bench",
					.name = name,
					.created_ms = 3000000,
					.requests = big,
					.nrequests = 2,
					.tolerations = &gpu_tol,
					.ntolerations = 1};
		wf_sched_pod_upsert(s, &sp, NULL);
	}
	result r3 = {0};
	drain(s, 30000, &r3);
	print_result("unschedulable (FitError over all nodes)", (size_t)nfail, &r3);

	/* Fill every GPU left with 1-GPU pods of priority 0. */
	int64_t left = 0;
	for (int i = 0; i < nodes; i++) {
		char name[32];
		int64_t a, u;
		snprintf(name, sizeof(name), "node-%05d", i);
		if (wf_sched_node_usage(s, name, "nvidia.com/gpu", &a, &u))
			left += a - u;
	}
	wf_sched_resource one[] = {{"cpu", 1000}, {"nvidia.com/gpu", 1}};
	for (int64_t i = 0; i < left; i++) {
		char name[32];
		snprintf(name, sizeof(name), "filler-%lld", (long long)i);
		wf_sched_pod_spec sp = {.ns = "bench",
					.name = name,
					.created_ms = 3500000,
					.requests = one,
					.nrequests = 2,
					.tolerations = &gpu_tol,
					.ntolerations = 1};
		wf_sched_pod_upsert(s, &sp, NULL);
	}
	result rf = {0};
	drain(s, 35000, &rf);
	free(rf.lat);
	gpu_allocation(s, nodes);

	/* High-priority 8-GPU pods on the full cluster: each preempts. */
	int npre = 100;
	wf_sched_resource eight[] = {{"cpu", 8000}, {"nvidia.com/gpu", 8}};
	for (int i = 0; i < npre; i++) {
		char name[32];
		snprintf(name, sizeof(name), "urgent-%d", i);
		wf_sched_pod_spec sp = {.ns = "bench",
					.name = name,
					.priority = 1000,
					.created_ms = 4000000,
					.requests = eight,
					.nrequests = 2,
					.tolerations = &gpu_tol,
					.ntolerations = 1};
		wf_sched_pod_upsert(s, &sp, NULL);
	}
	/* Fill the GPUs first so that the urgent pods must preempt. */
	result r4 = {0};
	drain(s, 40000, &r4);
	qsort(r4.lat, r4.nlat, sizeof(double), cmp_double);
	printf("preemption: %d high-priority 8-GPU pods in %.3f s: %zu preempted %zu victims; "
	       "preemption cycle p50 %.1f us, p99 %.1f us\n",
	       npre, r4.secs, r4.preempt, r4.victims, pct(r4.lat, r4.nlat, 0.5) * 1e6,
	       pct(r4.lat, r4.nlat, 0.99) * 1e6);
	/* Victims gone, back-offs over: the preemptors bind to their nodes. */
	result r5 = {0};
	drain(s, 60000, &r5);
	printf("  then %zu of %d bound (%zu unschedulable)\n", r5.binds, npre, r5.unsched);
	free(r5.lat);
	free(r.lat);
	free(r2.lat);
	free(r3.lat);
	free(r4.lat);
	wf_sched_free(s);

	bench_convert(pods / 5 > 1000 ? pods / 5 : 1000);
	return 0;
}
