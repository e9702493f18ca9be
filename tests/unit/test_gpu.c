/*
 * test_gpu.c - unit tests for the agent's GPUs: declared specs (valid,
 * malformed, oversized), stable declared UUIDs, product labels, Node capacity
 * and GPU Feature Discovery labels (whole GPUs and MIG "mixed" strategy), the
 * allocation pool (exclusivity under 8 threads, all-or-nothing allocation,
 * idempotence, adopt, persistence across reopen, dropped and corrupt state),
 * and NVML discovery through the dlopen path, against the fake NVML library
 * whose path is in WF_FAKE_NVML (those tests skip when it is unset).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/gpu.h"
#include "lib/wf_mem.h"
#include "test_fs.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define H100 "NVIDIA-H100-80GB-HBM3"
#define LIT(s)                                                                                     \
	{                                                                                          \
		s, sizeof(s) - 1                                                                   \
	}

/* ---- helpers ------------------------------------------------------------- */

static char *make_tmpdir(void)
{
	char dir[64];
	assert_true(test_fs_mkdtemp(dir, sizeof dir, "wf_test_gpu"));
	return wf_xstrdup(dir);
}

static void remove_tree(char *dir)
{
	test_fs_rm_rf(dir);
	free(dir);
}

static void write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	wf_buf b;
	char chunk[4096];
	size_t r;

	if (!f)
		return NULL;
	wf_buf_init(&b);
	while ((r = fread(chunk, 1, sizeof chunk, f)) > 0)
		wf_buf_append(&b, chunk, r);
	fclose(f);
	if (!b.data)
		wf_buf_append(&b, "", 0);
	return wf_buf_steal(&b);
}

static bool file_exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

static void free_owners(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static wf_gpu_device *declare(const char *spec, const char *node, size_t *n)
{
	wf_gpu_device *d = NULL;
	wf_err e = {0};
	int rc = wf_gpu_declare(spec, node, &d, n, &e);
	if (rc)
		print_error("declare %s: %s\n", spec, e.msg);
	assert_int_equal(rc, 0);
	return d;
}

static bool uuid_shape(const char *u, const char *prefix)
{
	size_t plen = strlen(prefix);

	if (strncmp(u, prefix, plen) != 0 || strlen(u) != plen + 36)
		return false;
	for (size_t i = 0; i < 36; i++) {
		char c = u[plen + i];
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;
		if (dash ? c != '-' : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return false;
	}
	return true;
}

static const char *jstr(json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

/* ---- product labels ------------------------------------------------------ */

static void test_product_label(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
	    {"NVIDIA H100 80GB HBM3", H100},
	    {"NVIDIA A100-SXM4-40GB", "NVIDIA-A100-SXM4-40GB"},
	    {"  Tesla   V100 ", "Tesla-V100"},
	    {"Weird  GPU (rev 2)/x", "Weird-GPU-rev-2x"},
	    {"A - B", "A-B"},
	    {"--.x.--", "x"},
	    {"()", ""},
	    {"", ""},
	};
	char out[96];
	char big[300];

	(void)state;
	for (size_t i = 0; i < NELEM(cases); i++) {
		wf_gpu_product_label(cases[i].in, out, sizeof out);
		assert_string_equal(out, cases[i].out);
	}
	/* at most 63 characters, and never past the caller's buffer */
	memset(big, 'a', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	wf_gpu_product_label(big, out, sizeof out);
	assert_int_equal(strlen(out), 63);
	wf_gpu_product_label("NVIDIA H100", out, 7);
	assert_string_equal(out, "NVIDIA");
	wf_gpu_product_label(NULL, out, sizeof out);
	assert_string_equal(out, "");
}

/* ---- declared GPUs ------------------------------------------------------- */

static void test_declare_valid(void **state)
{
	wf_gpu_device *d;
	size_t n;

	(void)state;
	d = declare("8:" H100, "node-a", &n);
	assert_int_equal(n, 8);
	for (size_t i = 0; i < n; i++) {
		assert_string_equal(d[i].resource, "nvidia.com/gpu");
		assert_string_equal(d[i].product, H100);
		assert_int_equal(d[i].index, (int)i);
		assert_int_equal(d[i].memory_mib, 0);
		assert_false(d[i].mig_capable);
		assert_false(d[i].mig_enabled);
		assert_true(uuid_shape(d[i].uuid, "GPU-"));
	}
	free(d);

	d = declare("2:" H100 ":81559", "node-a", &n);
	assert_int_equal(n, 2);
	assert_int_equal(d[1].memory_mib, 81559);
	free(d);

	d = declare("3:NVIDIA A100", "n", &n); /* spaces become '-' */
	assert_int_equal(n, 3);
	assert_string_equal(d[2].product, "NVIDIA-A100");
	free(d);

	d = declare("1024:A", "n", &n);
	assert_int_equal(n, 1024);
	free(d);

	d = declare("001:a_b.c-9:1", "n", &n);
	assert_int_equal(n, 1);
	assert_string_equal(d[0].product, "a_b.c-9");
	assert_int_equal(d[0].memory_mib, 1);
	free(d);
}

static void test_declare_malformed(void **state)
{
	char long_product[80], long_spec[100];
	const char *bad[] = {
	    "",
	    "8",
	    "0:x",
	    "x:y",
	    "-1:A",
	    "+1:A",
	    " 1:A",
	    "1 :A",
	    "1025:A",
	    "4294967297:A",
	    "99999999999999999999999999:A",
	    ":A",
	    "8:",
	    "8::81559",
	    "8:A:",
	    "8:A:x",
	    "8:A:0",
	    "8:A:-5",
	    "8:A:1:2",
	    "8:A:99999999999999999999",
	    "8:A/B",
	    "8:-A",
	    "8:A-",
	    "8: A",
	    "8:A\n",
	    "8:\xc3\xa9",
	    long_spec,
	};
	wf_gpu_device *d;
	size_t n;
	wf_err e;

	(void)state;
	memset(long_product, 'p', 64);
	long_product[64] = '\0';
	snprintf(long_spec, sizeof long_spec, "1:%s", long_product);
	for (size_t i = 0; i < NELEM(bad); i++) {
		d = (wf_gpu_device *)&e; /* must be reset */
		n = 77;
		memset(&e, 0, sizeof e);
		assert_int_equal(wf_gpu_declare(bad[i], "node", &d, &n, &e), -WF_EINVAL);
		assert_null(d);
		assert_int_equal(n, 0);
		assert_int_equal(e.code, WF_EINVAL);
		assert_true(strlen(e.msg) > 0);
	}
	/* the messages say what is wrong */
	assert_int_equal(wf_gpu_declare("0:x", "node", &d, &n, &e), -WF_EINVAL);
	assert_non_null(strstr(e.msg, "count"));
	assert_int_equal(wf_gpu_declare("2000:x", "node", &d, &n, &e), -WF_EINVAL);
	assert_non_null(strstr(e.msg, "1024"));
	assert_int_equal(wf_gpu_declare("2:", "node", &d, &n, &e), -WF_EINVAL);
	assert_non_null(strstr(e.msg, "product is empty"));
	assert_int_equal(wf_gpu_declare("2:A:x", "node", &d, &n, &e), -WF_EINVAL);
	assert_non_null(strstr(e.msg, "memory"));
	/* NULL spec, missing node name */
	assert_int_equal(wf_gpu_declare(NULL, "node", &d, &n, &e), -WF_EINVAL);
	assert_int_equal(wf_gpu_declare("1:A", NULL, &d, &n, &e), -WF_EINVAL);
	assert_int_equal(wf_gpu_declare("1:A", "", &d, &n, &e), -WF_EINVAL);
	assert_null(d);
	/* err may be NULL */
	assert_int_equal(wf_gpu_declare("x", "node", &d, &n, NULL), -WF_EINVAL);
}

static void test_declare_uuids(void **state)
{
	wf_gpu_device *a, *a2, *b, *c;
	size_t na, na2, nb, nc;

	(void)state;
	a = declare("16:" H100, "node-a", &na);
	a2 = declare("16:OTHER-PRODUCT:1", "node-a", &na2);
	b = declare("16:" H100, "node-b", &nb);
	c = declare("16:" H100, "node-a1", &nc); /* no prefix collisions */
	for (size_t i = 0; i < na; i++) {
		/* stable across calls (and independent of product and memory) */
		assert_string_equal(a[i].uuid, a2[i].uuid);
		for (size_t j = 0; j < na; j++) {
			if (j != i)
				assert_string_not_equal(a[i].uuid, a[j].uuid);
			assert_string_not_equal(a[i].uuid, b[j].uuid);
			assert_string_not_equal(a[i].uuid, c[j].uuid);
		}
		/* version 8, variant 10 */
		assert_int_equal(a[i].uuid[4 + 14], '8');
		assert_non_null(strchr("89ab", a[i].uuid[4 + 19]));
	}
	free(a);
	free(a2);
	free(b);
	free(c);

	/* 1024 devices on one node: all distinct */
	a = declare("1024:A", "big-node", &na);
	for (size_t i = 0; i < na; i++)
		for (size_t j = i + 1; j < na; j++)
			assert_string_not_equal(a[i].uuid, a[j].uuid);
	free(a);
}

/* ---- capacity and labels ------------------------------------------------- */

static void test_capacity_labels_declared(void **state)
{
	json_t *cap = json_pack("{s:s, s:s}", "cpu", "4", "nvidia.com/gpu", "99");
	json_t *labels = json_pack("{s:s}", "kubernetes.io/hostname", "node-a");
	wf_gpu_device *d;
	size_t n;

	(void)state;
	d = declare("8:" H100 ":81559", "node-a", &n);
	wf_gpu_node_capacity(d, n, cap);
	assert_int_equal(json_object_size(cap), 2);
	assert_string_equal(jstr(cap, "cpu"), "4");
	assert_string_equal(jstr(cap, "nvidia.com/gpu"), "8");
	wf_gpu_node_labels(d, n, labels);
	assert_int_equal(json_object_size(labels), 5);
	assert_string_equal(jstr(labels, "kubernetes.io/hostname"), "node-a");
	assert_string_equal(jstr(labels, "nvidia.com/gpu.product"), H100);
	assert_string_equal(jstr(labels, "nvidia.com/gpu.memory"), "81559");
	assert_string_equal(jstr(labels, "nvidia.com/gpu.count"), "8");
	assert_string_equal(jstr(labels, "nvidia.com/mig.capable"), "false");
	assert_null(json_object_get(labels, "nvidia.com/mig.strategy"));
	free(d);
	json_decref(cap);
	json_decref(labels);

	/* unknown memory: no gpu.memory label */
	labels = json_object();
	d = declare("2:A", "node-a", &n);
	wf_gpu_node_labels(d, n, labels);
	assert_null(json_object_get(labels, "nvidia.com/gpu.memory"));
	assert_string_equal(jstr(labels, "nvidia.com/gpu.count"), "2");
	free(d);
	json_decref(labels);

	/* no devices: nothing added */
	cap = json_object();
	labels = json_object();
	wf_gpu_node_capacity(NULL, 0, cap);
	wf_gpu_node_labels(NULL, 0, labels);
	assert_int_equal(json_object_size(cap), 0);
	assert_int_equal(json_object_size(labels), 0);
	json_decref(cap);
	json_decref(labels);
}

static wf_gpu_device mkdev(const char *resource, const char *uuid, int index, bool mig)
{
	wf_gpu_device d;

	memset(&d, 0, sizeof d);
	snprintf(d.resource, sizeof d.resource, "%s", resource);
	snprintf(d.uuid, sizeof d.uuid, "%s", uuid);
	snprintf(d.product, sizeof d.product, "%s", H100);
	d.index = index;
	d.memory_mib = 81559;
	d.mig_capable = true;
	d.mig_enabled = mig;
	return d;
}

static void test_capacity_labels_mig(void **state)
{
	wf_gpu_device d[5];
	json_t *cap = json_object(), *labels = json_object(), *want;

	(void)state;
	/* listed out of index order on purpose */
	d[0] = mkdev("nvidia.com/gpu", "GPU-2", 2, false);
	d[1] = mkdev("nvidia.com/mig-1g.10gb", "MIG-a", 0, true);
	d[2] = mkdev("nvidia.com/mig-1g.10gb", "MIG-b", 0, true);
	d[3] = mkdev("nvidia.com/mig-3g.40gb", "MIG-c", 0, true);
	d[4] = mkdev("nvidia.com/gpu", "GPU-1", 1, false);
	snprintf(d[0].product, sizeof d[0].product, "OTHER");
	wf_gpu_node_capacity(d, NELEM(d), cap);
	want = json_pack("{s:s, s:s, s:s}", "nvidia.com/gpu", "2", "nvidia.com/mig-1g.10gb", "2",
			 "nvidia.com/mig-3g.40gb", "1");
	assert_true(json_equal(cap, want));
	json_decref(want);
	wf_gpu_node_labels(d, NELEM(d), labels);
	want = json_pack("{s:s, s:s, s:s, s:s, s:s}", "nvidia.com/gpu.product", H100,
			 "nvidia.com/gpu.memory", "81559", "nvidia.com/gpu.count", "3",
			 "nvidia.com/mig.capable", "true", "nvidia.com/mig.strategy", "mixed");
	assert_true(json_equal(labels, want));
	json_decref(want);
	json_decref(cap);
	json_decref(labels);
}

/* ---- the pool ------------------------------------------------------------ */

static wf_gpu_pool *open_pool(const wf_gpu_device *d, size_t n, const char *path)
{
	wf_gpu_pool *p = NULL;
	wf_err e = {0};
	int rc = wf_gpu_pool_open(d, n, path, &p, &e);
	if (rc)
		print_error("pool open: %s\n", e.msg);
	assert_int_equal(rc, 0);
	assert_non_null(p);
	return p;
}

static void test_pool_open_invalid(void **state)
{
	wf_gpu_device d[2];
	wf_gpu_pool *p = (wf_gpu_pool *)d;
	wf_err e;

	(void)state;
	d[0] = mkdev("nvidia.com/gpu", "GPU-x", 0, false);
	d[1] = mkdev("nvidia.com/gpu", "GPU-x", 1, false);
	assert_int_equal(wf_gpu_pool_open(d, 2, NULL, &p, &e), -WF_EINVAL);
	assert_null(p);
	assert_non_null(strstr(e.msg, "share UUID"));
	d[1] = mkdev("", "GPU-y", 1, false);
	assert_int_equal(wf_gpu_pool_open(d, 2, NULL, &p, &e), -WF_EINVAL);
	d[1] = mkdev("nvidia.com/gpu", "", 1, false);
	assert_int_equal(wf_gpu_pool_open(d, 2, NULL, &p, &e), -WF_EINVAL);
	d[1] = mkdev("nvidia.com/gpu", "GPU y", 1, false);
	assert_int_equal(wf_gpu_pool_open(d, 2, NULL, &p, &e), -WF_EINVAL);
	memset(d[1].uuid, 'u', sizeof d[1].uuid); /* not terminated */
	assert_int_equal(wf_gpu_pool_open(d, 2, NULL, &p, &e), -WF_EINVAL);
	assert_int_equal(wf_gpu_pool_open(d, 1, "", &p, &e), -WF_EINVAL);
	/* an empty pool is fine: nothing to allocate */
	p = open_pool(NULL, 0, NULL);
	assert_int_equal(wf_gpu_pool_allocate(p, "o", "nvidia.com/gpu", 1, NULL, NULL, &e),
			 -WF_ENOENT);
	assert_int_equal(wf_gpu_pool_free_count(p, NULL), 0);
	wf_gpu_pool_free(p);
	wf_gpu_pool_free(NULL);
}

static void test_pool_allocate(void **state)
{
	char uuids[8][96], uuids2[8][96];
	int idx[8], idx2[8];
	wf_gpu_device *d;
	wf_gpu_pool *p;
	char **owners;
	size_t n, no;
	wf_err e;
	char long_owner[1100];

	(void)state;
	d = declare("8:" H100, "node-a", &n);
	p = open_pool(d, n, NULL);
	assert_null(wf_gpu_pool_warning(p));
	assert_int_equal(wf_gpu_pool_free_count(p, "nvidia.com/gpu"), 8);

	assert_int_equal(wf_gpu_pool_allocate(p, "pod1/c", "nvidia.com/gpu", 3, uuids, idx, &e), 0);
	for (int k = 0; k < 3; k++) {
		assert_int_equal(idx[k], k); /* lowest index first */
		assert_string_equal(uuids[k], d[k].uuid);
	}
	assert_int_equal(wf_gpu_pool_free_count(p, "nvidia.com/gpu"), 5);
	/* idempotent: the same devices again, nothing more taken */
	memset(idx2, -1, sizeof idx2);
	assert_int_equal(wf_gpu_pool_allocate(p, "pod1/c", "nvidia.com/gpu", 3, uuids2, idx2, &e),
			 0);
	assert_memory_equal(idx, idx2, 3 * sizeof idx[0]);
	assert_memory_equal(uuids, uuids2, 3 * sizeof uuids[0]);
	assert_int_equal(wf_gpu_pool_free_count(p, "nvidia.com/gpu"), 5);
	/* ... but not a different count */
	assert_int_equal(wf_gpu_pool_allocate(p, "pod1/c", "nvidia.com/gpu", 2, NULL, NULL, &e),
			 -WF_ECONFLICT);
	assert_non_null(strstr(e.msg, "already holds 3"));

	/* not enough free: nothing allocated */
	assert_int_equal(wf_gpu_pool_allocate(p, "pod2/c", "nvidia.com/gpu", 6, uuids, idx, &e),
			 -WF_ECONFLICT);
	assert_non_null(strstr(e.msg, "only 5 of 8"));
	assert_int_equal(wf_gpu_pool_free_count(p, "nvidia.com/gpu"), 5);
	no = wf_gpu_pool_owners(p, &owners);
	assert_int_equal(no, 1);
	assert_string_equal(owners[0], "pod1/c");
	free_owners(owners, no);
	/* more than the node has */
	assert_int_equal(wf_gpu_pool_allocate(p, "pod2/c", "nvidia.com/gpu", 9, NULL, NULL, &e),
			 -WF_ECONFLICT);
	assert_non_null(strstr(e.msg, "has only 8"));
	assert_int_equal(
	    wf_gpu_pool_allocate(p, "pod2/c", "nvidia.com/gpu", SIZE_MAX, NULL, NULL, &e),
	    -WF_ECONFLICT);
	/* unknown resource, bad counts and owners */
	assert_int_equal(wf_gpu_pool_allocate(p, "pod2/c", "amd.com/gpu", 1, NULL, NULL, &e),
			 -WF_ENOENT);
	assert_non_null(strstr(e.msg, "amd.com/gpu"));
	assert_int_equal(wf_gpu_pool_allocate(p, "pod2/c", "", 1, NULL, NULL, &e), -WF_EINVAL);
	assert_int_equal(wf_gpu_pool_allocate(p, "pod2/c", NULL, 1, NULL, NULL, &e), -WF_EINVAL);
	assert_int_equal(wf_gpu_pool_allocate(p, "pod2/c", "nvidia.com/gpu", 0, NULL, NULL, &e),
			 -WF_EINVAL);
	assert_int_equal(wf_gpu_pool_allocate(p, "", "nvidia.com/gpu", 1, NULL, NULL, &e),
			 -WF_EINVAL);
	assert_int_equal(wf_gpu_pool_allocate(p, NULL, "nvidia.com/gpu", 1, NULL, NULL, &e),
			 -WF_EINVAL);
	assert_int_equal(wf_gpu_pool_allocate(p, "a b", "nvidia.com/gpu", 1, NULL, NULL, &e),
			 -WF_EINVAL);
	assert_int_equal(wf_gpu_pool_allocate(p, "a\x01", "nvidia.com/gpu", 1, NULL, NULL, &e),
			 -WF_EINVAL);
	assert_int_equal(wf_gpu_pool_allocate(p, "\xff\xfe", "nvidia.com/gpu", 1, NULL, NULL, &e),
			 -WF_EINVAL);
	memset(long_owner, 'o', sizeof long_owner - 1);
	long_owner[sizeof long_owner - 1] = '\0';
	assert_int_equal(wf_gpu_pool_allocate(p, long_owner, "nvidia.com/gpu", 1, NULL, NULL, &e),
			 -WF_EINVAL);
	long_owner[1024] = '\0'; /* exactly the limit */
	assert_int_equal(wf_gpu_pool_allocate(p, long_owner, "nvidia.com/gpu", 1, NULL, NULL, &e),
			 0);
	assert_int_equal(wf_gpu_pool_free_count(p, NULL), 4);

	/* the rest, then nothing is left */
	assert_int_equal(wf_gpu_pool_allocate(p, "pod3/c", "nvidia.com/gpu", 4, uuids, idx, &e), 0);
	assert_int_equal(idx[0], 4);
	assert_int_equal(idx[3], 7);
	assert_int_equal(wf_gpu_pool_allocate(p, "pod4/c", "nvidia.com/gpu", 1, NULL, NULL, &e),
			 -WF_ECONFLICT);
	assert_int_equal(wf_gpu_pool_free_count(p, "nvidia.com/gpu"), 0);

	/* release frees exactly the owner's devices; unknown owners are harmless */
	wf_gpu_pool_release(p, "pod1/c");
	wf_gpu_pool_release(p, "nobody");
	wf_gpu_pool_release(p, NULL);
	assert_int_equal(wf_gpu_pool_free_count(p, NULL), 3);
	assert_int_equal(wf_gpu_pool_allocate(p, "pod4/c", "nvidia.com/gpu", 2, uuids, idx, &e), 0);
	assert_int_equal(idx[0], 0);
	assert_int_equal(idx[1], 1);
	no = wf_gpu_pool_owners(p, &owners);
	assert_int_equal(no, 3);
	assert_string_equal(owners[0], long_owner);
	assert_string_equal(owners[1], "pod3/c");
	assert_string_equal(owners[2], "pod4/c");
	free_owners(owners, no);
	wf_gpu_pool_release(p, "pod3/c");
	wf_gpu_pool_release(p, "pod4/c");
	wf_gpu_pool_release(p, long_owner);
	assert_int_equal(wf_gpu_pool_free_count(p, NULL), 8);
	assert_int_equal(wf_gpu_pool_owners(p, &owners), 0);
	assert_null(owners);
	wf_gpu_pool_free(p);
	free(d);
}

static void test_pool_resources(void **state)
{
	wf_gpu_device d[4];
	wf_gpu_pool *p;
	int idx[4];
	char uuids[4][96];
	wf_err e;

	(void)state;
	d[0] = mkdev("nvidia.com/mig-1g.10gb", "MIG-a", 0, true);
	d[1] = mkdev("nvidia.com/mig-1g.10gb", "MIG-b", 0, true);
	d[2] = mkdev("nvidia.com/mig-3g.40gb", "MIG-c", 0, true);
	d[3] = mkdev("nvidia.com/gpu", "GPU-1", 1, false);
	p = open_pool(d, 4, NULL);
	/* one owner may hold several resources */
	assert_int_equal(wf_gpu_pool_allocate(p, "o", "nvidia.com/mig-1g.10gb", 2, uuids, idx, &e),
			 0);
	assert_string_equal(uuids[0], "MIG-a");
	assert_string_equal(uuids[1], "MIG-b");
	assert_int_equal(idx[0], 0);
	assert_int_equal(wf_gpu_pool_allocate(p, "o", "nvidia.com/gpu", 1, uuids, idx, &e), 0);
	assert_string_equal(uuids[0], "GPU-1");
	assert_int_equal(idx[0], 1);
	assert_int_equal(wf_gpu_pool_allocate(p, "x", "nvidia.com/mig-1g.10gb", 1, NULL, NULL, &e),
			 -WF_ECONFLICT);
	assert_int_equal(wf_gpu_pool_free_count(p, "nvidia.com/mig-3g.40gb"), 1);
	assert_int_equal(wf_gpu_pool_free_count(p, "nvidia.com/mig-1g.10gb"), 0);
	assert_int_equal(wf_gpu_pool_free_count(p, NULL), 1);
	wf_gpu_pool_release(p, "o");
	assert_int_equal(wf_gpu_pool_free_count(p, NULL), 4);
	wf_gpu_pool_free(p);
}

static void test_pool_adopt(void **state)
{
	wf_gpu_device *d;
	wf_gpu_pool *p;
	char uuids[2][96];
	int idx[2];
	size_t n;
	wf_err e;

	(void)state;
	d = declare("4:" H100, "node-a", &n);
	p = open_pool(d, n, NULL);
	assert_int_equal(wf_gpu_pool_adopt(p, "pod1/c", d[2].uuid, &e), 0);
	assert_int_equal(wf_gpu_pool_adopt(p, "pod1/c", d[2].uuid, &e), 0); /* again: fine */
	assert_int_equal(wf_gpu_pool_adopt(p, "pod2/c", d[2].uuid, &e), -WF_ECONFLICT);
	assert_non_null(strstr(e.msg, "pod1/c"));
	assert_int_equal(wf_gpu_pool_adopt(p, "pod2/c", "GPU-nope", &e), -WF_ENOENT);
	assert_int_equal(wf_gpu_pool_adopt(p, "pod2/c", NULL, &e), -WF_EINVAL);
	assert_int_equal(wf_gpu_pool_adopt(p, "", d[0].uuid, &e), -WF_EINVAL);
	assert_int_equal(wf_gpu_pool_free_count(p, NULL), 3);
	assert_int_equal(wf_gpu_pool_adopt(p, "pod1/c", d[3].uuid, &e), 0);
	/* a restarted container asks again and gets exactly what it had */
	assert_int_equal(wf_gpu_pool_allocate(p, "pod1/c", "nvidia.com/gpu", 2, uuids, idx, &e), 0);
	assert_int_equal(idx[0], 2);
	assert_int_equal(idx[1], 3);
	assert_string_equal(uuids[0], d[2].uuid);
	/* others get the rest */
	assert_int_equal(wf_gpu_pool_allocate(p, "pod2/c", "nvidia.com/gpu", 2, uuids, idx, &e), 0);
	assert_int_equal(idx[0], 0);
	assert_int_equal(idx[1], 1);
	wf_gpu_pool_free(p);
	free(d);
}

/* 8 threads hammer allocate / release / adopt; a shared bitmap, updated with
 * atomic exchanges, catches any device that is ever held twice. */
#define HAMMER_THREADS 8
#define HAMMER_ITERS 4000
#define HAMMER_GPUS 8

struct hammer {
	wf_gpu_pool *p;
	const wf_gpu_device *devs;
	int id;
	atomic_int *held;
	atomic_int *violations;
	atomic_int *granted;
};

static void hammer_take(struct hammer *h, const int *idx, size_t k)
{
	for (size_t i = 0; i < k; i++)
		if (idx[i] < 0 || idx[i] >= HAMMER_GPUS ||
		    atomic_exchange(&h->held[idx[i]], 1) != 0)
			atomic_fetch_add(h->violations, 1);
}

static void hammer_drop(struct hammer *h, const int *idx, size_t k)
{
	for (size_t i = 0; i < k; i++)
		if (atomic_exchange(&h->held[idx[i]], 0) != 1)
			atomic_fetch_add(h->violations, 1);
}

static void *hammer_run(void *arg)
{
	struct hammer *h = arg;
	unsigned int seed = (unsigned int)h->id * 7919u + 1;

	for (int it = 0; it < HAMMER_ITERS; it++) {
		char owner[64], uuids[3][96];
		int idx[3], idx2[3];
		size_t count = 1 + (size_t)(rand_r(&seed) % 3);
		int rc;

		snprintf(owner, sizeof owner, "t%d/%d", h->id, it);
		if (it % 16 == 0) {
			int g = rand_r(&seed) % HAMMER_GPUS;
			rc = wf_gpu_pool_adopt(h->p, owner, h->devs[g].uuid, NULL);
			if (rc == 0) {
				hammer_take(h, &g, 1);
				atomic_fetch_add(h->granted, 1);
				sched_yield();
				hammer_drop(h, &g, 1);
				wf_gpu_pool_release(h->p, owner);
			} else if (rc != -WF_ECONFLICT) {
				atomic_fetch_add(h->violations, 1);
			}
			continue;
		}
		rc = wf_gpu_pool_allocate(h->p, owner, "nvidia.com/gpu", count, uuids, idx, NULL);
		if (rc == -WF_ECONFLICT)
			continue;
		if (rc != 0) {
			atomic_fetch_add(h->violations, 1);
			continue;
		}
		atomic_fetch_add(h->granted, 1);
		hammer_take(h, idx, count);
		for (size_t k = 0; k < count; k++)
			if (strcmp(uuids[k], h->devs[idx[k]].uuid) != 0)
				atomic_fetch_add(h->violations, 1);
		if (it % 4 == 0) {
			rc = wf_gpu_pool_allocate(h->p, owner, "nvidia.com/gpu", count, NULL, idx2,
						  NULL);
			if (rc != 0 || memcmp(idx, idx2, count * sizeof idx[0]) != 0)
				atomic_fetch_add(h->violations, 1);
		}
		if (it % 8 == 0) {
			char **owners;
			size_t no = wf_gpu_pool_owners(h->p, &owners);
			free_owners(owners, no);
			(void)wf_gpu_pool_free_count(h->p, NULL);
		}
		sched_yield();
		hammer_drop(h, idx, count);
		wf_gpu_pool_release(h->p, owner);
	}
	return NULL;
}

static void test_pool_threads(void **state)
{
	pthread_t th[HAMMER_THREADS];
	struct hammer h[HAMMER_THREADS];
	atomic_int held[HAMMER_GPUS];
	atomic_int violations = 0, granted = 0;
	wf_gpu_device *d;
	wf_gpu_pool *p;
	char **owners;
	size_t n;

	(void)state;
	for (int i = 0; i < HAMMER_GPUS; i++)
		atomic_init(&held[i], 0);
	d = declare("8:" H100, "node-a", &n);
	p = open_pool(d, n, NULL);
	for (int i = 0; i < HAMMER_THREADS; i++) {
		h[i] = (struct hammer){p, d, i, held, &violations, &granted};
		assert_int_equal(pthread_create(&th[i], NULL, hammer_run, &h[i]), 0);
	}
	for (int i = 0; i < HAMMER_THREADS; i++)
		pthread_join(th[i], NULL);
	assert_int_equal(atomic_load(&violations), 0);
	assert_true(atomic_load(&granted) > HAMMER_ITERS); /* real work happened */
	assert_int_equal(wf_gpu_pool_free_count(p, NULL), 8);
	assert_int_equal(wf_gpu_pool_owners(p, &owners), 0);
	wf_gpu_pool_free(p);
	free(d);
}

/* ---- persistence --------------------------------------------------------- */

static void test_pool_persist(void **state)
{
	char *dir = make_tmpdir();
	char *path = wf_xasprintf("%s/gpu-state.json", dir);
	char *tmp = wf_xasprintf("%s.tmp", path);
	char uuids[3][96], uuids2[3][96];
	int idx[3], idx2[3];
	wf_gpu_device *d;
	wf_gpu_pool *p;
	json_t *root;
	char **owners;
	char *text;
	size_t n, no;
	wf_err e;

	(void)state;
	d = declare("4:" H100, "node-a", &n);
	p = open_pool(d, n, path);
	assert_null(wf_gpu_pool_warning(p));
	assert_true(file_exists(path)); /* written at open */
	assert_int_equal(wf_gpu_pool_allocate(p, "pod1/c", "nvidia.com/gpu", 2, uuids, idx, &e), 0);
	assert_int_equal(wf_gpu_pool_adopt(p, "pod2/c", d[3].uuid, &e), 0);
	assert_false(file_exists(tmp));

	/* the file holds exactly the assignments */
	text = read_file(path);
	root = json_loads(text, 0, NULL);
	assert_non_null(root);
	assert_int_equal(json_integer_value(json_object_get(root, "version")), 1);
	assert_int_equal(json_object_size(json_object_get(root, "assignments")), 3);
	assert_string_equal(jstr(json_object_get(root, "assignments"), d[3].uuid), "pod2/c");
	json_decref(root);
	free(text);
	wf_gpu_pool_free(p);

	/* reopened: same holders, and the owner gets the same devices back */
	p = open_pool(d, n, path);
	assert_null(wf_gpu_pool_warning(p));
	assert_int_equal(wf_gpu_pool_free_count(p, NULL), 1);
	no = wf_gpu_pool_owners(p, &owners);
	assert_int_equal(no, 2);
	assert_string_equal(owners[0], "pod1/c");
	assert_string_equal(owners[1], "pod2/c");
	free_owners(owners, no);
	assert_int_equal(wf_gpu_pool_allocate(p, "pod1/c", "nvidia.com/gpu", 2, uuids2, idx2, &e),
			 0);
	assert_memory_equal(idx, idx2, 2 * sizeof idx[0]);
	assert_memory_equal(uuids, uuids2, 2 * sizeof uuids[0]);
	assert_int_equal(wf_gpu_pool_adopt(p, "pod3/c", d[3].uuid, &e), -WF_ECONFLICT);
	wf_gpu_pool_release(p, "pod1/c");
	wf_gpu_pool_free(p);

	/* the release persisted too */
	p = open_pool(d, n, path);
	assert_int_equal(wf_gpu_pool_free_count(p, NULL), 3);
	wf_gpu_pool_free(p);
	free(d);

	/* the node lost GPUs 2 and 3: their assignments are dropped, others kept */
	d = declare("2:" H100, "node-a", &n);
	p = open_pool(d, n, path);
	assert_non_null(wf_gpu_pool_warning(p));
	assert_non_null(strstr(wf_gpu_pool_warning(p), "dropped 1 assignments"));
	assert_int_equal(wf_gpu_pool_free_count(p, NULL), 2);
	assert_int_equal(wf_gpu_pool_owners(p, &owners), 0);
	wf_gpu_pool_free(p);
	/* ... and the cleaned state no longer warns */
	p = open_pool(d, n, path);
	assert_null(wf_gpu_pool_warning(p));
	wf_gpu_pool_free(p);
	free(d);

	free(tmp);
	free(path);
	remove_tree(dir);
}

static void test_pool_corrupt_state(void **state)
{
	static const struct {
		const char *data;
		size_t len;
	} cases[] = {
	    LIT(""),
	    LIT("{not json"),
	    LIT("[1,2,3]"),
	    LIT("null"),
	    LIT("{\"version\":2,\"assignments\":{}}"),
	    LIT("{\"version\":\"1\",\"assignments\":{}}"),
	    LIT("{\"version\":1}"),
	    LIT("{\"version\":1,\"assignments\":[]}"),
	    LIT("{\"version\":1,\"assignments\":{\"a\":\"x\",\"a\":\"y\"}}"),
	    LIT("{\"version\":1,\"assignments\":{}}garbage"),
	    LIT("\xff\xfe\x00\x01{}"),
	};
	char *dir = make_tmpdir();
	char *path = wf_xasprintf("%s/state.json", dir);
	char *aside = wf_xasprintf("%s.corrupt", path);
	wf_gpu_device *d;
	wf_gpu_pool *p;
	size_t n;
	wf_err e;

	(void)state;
	d = declare("4:" H100, "node-a", &n);
	for (size_t i = 0; i < NELEM(cases); i++) {
		char *kept;

		write_file(path, cases[i].data, cases[i].len);
		p = open_pool(d, n, path);
		assert_non_null(wf_gpu_pool_warning(p));
		assert_non_null(strstr(wf_gpu_pool_warning(p), "corrupt"));
		assert_int_equal(wf_gpu_pool_free_count(p, NULL), 4);
		/* the bad file is kept aside, byte for byte */
		kept = read_file(aside);
		assert_non_null(kept);
		assert_memory_equal(kept, cases[i].data, cases[i].len);
		free(kept);
		assert_int_equal(unlink(aside), 0);
		/* and the pool works and persists again */
		assert_int_equal(wf_gpu_pool_allocate(p, "o", "nvidia.com/gpu", 1, NULL, NULL, &e),
				 0);
		wf_gpu_pool_free(p);
		p = open_pool(d, n, path);
		assert_null(wf_gpu_pool_warning(p));
		assert_int_equal(wf_gpu_pool_free_count(p, NULL), 3);
		wf_gpu_pool_free(p);
	}

	/* malformed entries among good ones: only those are dropped */
	{
		char *json = wf_xasprintf("{\"version\":1,\"assignments\":{\"%s\":\"pod1/c\","
					  "\"%s\":5,\"%s\":\"bad owner\",\"%s\":\"\","
					  "\"GPU-gone\":\"pod9/c\"}}",
					  d[0].uuid, d[1].uuid, d[2].uuid, d[3].uuid);
		write_file(path, json, strlen(json));
		free(json);
		p = open_pool(d, n, path);
		assert_non_null(strstr(wf_gpu_pool_warning(p), "dropped 3 malformed"));
		assert_non_null(strstr(wf_gpu_pool_warning(p), "dropped 1 assignments"));
		assert_false(file_exists(aside));
		assert_int_equal(wf_gpu_pool_free_count(p, NULL), 3);
		assert_int_equal(wf_gpu_pool_adopt(p, "pod2/c", d[0].uuid, &e), -WF_ECONFLICT);
		wf_gpu_pool_free(p);
	}

	/* oversized (sparse) file */
	{
		int fd = open(path, O_WRONLY | O_TRUNC | O_CREAT, 0600);
		assert_true(fd >= 0);
		assert_int_equal(ftruncate(fd, 17 << 20), 0);
		close(fd);
		p = open_pool(d, n, path);
		assert_non_null(strstr(wf_gpu_pool_warning(p), "limit"));
		assert_int_equal(wf_gpu_pool_free_count(p, NULL), 4);
		wf_gpu_pool_free(p);
		assert_int_equal(unlink(aside), 0);
	}

	/* a directory where the file should be: refused, not moved */
	assert_int_equal(unlink(path), 0);
	assert_int_equal(mkdir(path, 0700), 0);
	p = (wf_gpu_pool *)d;
	assert_int_equal(wf_gpu_pool_open(d, n, path, &p, &e), -WF_EIO);
	assert_null(p);
	assert_non_null(strstr(e.msg, "not a regular file"));
	assert_int_equal(rmdir(path), 0);

	free(d);
	free(aside);
	free(path);
	remove_tree(dir);
}

static void test_pool_write_failure(void **state)
{
	char *dir = make_tmpdir();
	char *missing = wf_xasprintf("%s/no/such/dir/state.json", dir);
	char *path = wf_xasprintf("%s/sub/state.json", dir);
	char *sub = wf_xasprintf("%s/sub", dir);
	wf_gpu_device *d;
	wf_gpu_pool *p = NULL;
	char **owners;
	size_t n;
	wf_err e;

	(void)state;
	d = declare("2:" H100, "node-a", &n);
	/* a state file that cannot be written is refused at open */
	assert_int_equal(wf_gpu_pool_open(d, n, missing, &p, &e), -WF_EIO);
	assert_null(p);
	assert_non_null(strstr(e.msg, "state.json"));

	/* the directory vanishes after open: changes fail and are undone */
	assert_int_equal(mkdir(sub, 0700), 0);
	p = open_pool(d, n, path);
	assert_int_equal(wf_gpu_pool_allocate(p, "a", "nvidia.com/gpu", 1, NULL, NULL, &e), 0);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(rmdir(sub), 0);
	assert_int_equal(wf_gpu_pool_allocate(p, "b", "nvidia.com/gpu", 1, NULL, NULL, &e),
			 -WF_EIO);
	assert_int_equal(e.code, WF_EIO);
	assert_int_equal(wf_gpu_pool_adopt(p, "c", d[1].uuid, &e), -WF_EIO);
	assert_int_equal(wf_gpu_pool_free_count(p, NULL), 1);
	assert_int_equal(wf_gpu_pool_owners(p, &owners), 1);
	free_owners(owners, 1);
	/* release still releases */
	wf_gpu_pool_release(p, "a");
	assert_int_equal(wf_gpu_pool_free_count(p, NULL), 2);
	/* back once the directory is */
	assert_int_equal(mkdir(sub, 0700), 0);
	assert_int_equal(wf_gpu_pool_allocate(p, "b", "nvidia.com/gpu", 2, NULL, NULL, &e), 0);
	wf_gpu_pool_free(p);
	p = open_pool(d, n, path);
	assert_int_equal(wf_gpu_pool_free_count(p, NULL), 0);
	wf_gpu_pool_free(p);

	free(d);
	free(sub);
	free(path);
	free(missing);
	remove_tree(dir);
}

/* ---- NVML discovery ------------------------------------------------------ */

static void test_nvml_missing_library(void **state)
{
	wf_gpu_device *d = (wf_gpu_device *)state;
	size_t n = 5;
	wf_err e = {0};

	assert_int_equal(wf_gpu_discover_nvml("/nonexistent/libnvidia-ml.so.1", &d, &n, &e),
			 -WF_ENOENT);
	assert_null(d);
	assert_int_equal(n, 0);
	assert_int_equal(e.code, WF_ENOENT);
	assert_non_null(strstr(e.msg, "/nonexistent/libnvidia-ml.so.1"));
	/* a library that is not NVML */
	assert_int_equal(wf_gpu_discover_nvml("libm.so.6", &d, &n, &e), -WF_ENOTSUP);
	assert_null(d);
	assert_non_null(strstr(e.msg, "nvmlInit_v2"));
}

static void fake_env_reset(void)
{
	unsetenv("FAKE_NVML_GPUS");
	unsetenv("FAKE_NVML_MIG");
	unsetenv("FAKE_NVML_MIG_PLAIN_NAMES");
	unsetenv("FAKE_NVML_MIG_CAPABLE");
	unsetenv("FAKE_NVML_INIT_RC");
	unsetenv("FAKE_NVML_LOST_GPU");
}

static int fake_setup(void **state)
{
	const char *lib = getenv("WF_FAKE_NVML");

	*state = (void *)lib;
	fake_env_reset();
	return 0;
}

static int fake_teardown(void **state)
{
	(void)state;
	fake_env_reset();
	return 0;
}

static const char *fake_lib(void **state)
{
	const char *lib = *state;

	if (!lib || !*lib) {
		print_message("skipped: WF_FAKE_NVML is not set (build "
			      "build/san/tests/libfake_nvml.so from tests/fake_nvml/fake_nvml.c "
			      "and pass its path)\n");
		skip();
	}
	return lib;
}

static wf_gpu_device *fake_discover(void **state, size_t *n)
{
	wf_gpu_device *d = NULL;
	wf_err e = {0};
	int rc = wf_gpu_discover_nvml(fake_lib(state), &d, n, &e);

	if (rc)
		print_error("discover: %s\n", e.msg);
	assert_int_equal(rc, 0);
	assert_non_null(d);
	return d;
}

static void test_nvml_fake_gpus(void **state)
{
	json_t *cap, *labels, *want;
	wf_gpu_device *d;
	size_t n;

	fake_lib(state);
	cap = json_object();
	labels = json_object();
	setenv("FAKE_NVML_GPUS", "2:NVIDIA H100 80GB HBM3:81559", 1);
	d = fake_discover(state, &n);
	assert_int_equal(n, 2);
	for (size_t i = 0; i < n; i++) {
		assert_string_equal(d[i].resource, "nvidia.com/gpu");
		assert_string_equal(d[i].product, H100);
		assert_int_equal(d[i].index, (int)i);
		assert_int_equal(d[i].memory_mib, 81559);
		assert_true(d[i].mig_capable);
		assert_false(d[i].mig_enabled);
		assert_true(uuid_shape(d[i].uuid, "GPU-"));
	}
	assert_string_equal(d[1].uuid, "GPU-fa4e0000-0000-4000-8000-000000000001");
	wf_gpu_node_capacity(d, n, cap);
	wf_gpu_node_labels(d, n, labels);
	want = json_pack("{s:s}", "nvidia.com/gpu", "2");
	assert_true(json_equal(cap, want));
	json_decref(want);
	want = json_pack("{s:s, s:s, s:s, s:s}", "nvidia.com/gpu.product", H100,
			 "nvidia.com/gpu.memory", "81559", "nvidia.com/gpu.count", "2",
			 "nvidia.com/mig.capable", "true");
	assert_true(json_equal(labels, want));
	json_decref(want);
	json_decref(cap);
	json_decref(labels);
	free(d);

	/* repeated discovery (the library is loaded again each time) is stable */
	d = fake_discover(state, &n);
	assert_int_equal(n, 2);
	assert_string_equal(d[0].uuid, "GPU-fa4e0000-0000-4000-8000-000000000000");
	free(d);

	/* not MIG-capable; names turned into label values */
	setenv("FAKE_NVML_GPUS", "1:Weird  GPU (rev 2)/x:1024", 1);
	setenv("FAKE_NVML_MIG_CAPABLE", "0", 1);
	d = fake_discover(state, &n);
	assert_int_equal(n, 1);
	assert_string_equal(d[0].product, "Weird-GPU-rev-2x");
	assert_int_equal(d[0].memory_mib, 1024);
	assert_false(d[0].mig_capable);
	labels = json_object();
	wf_gpu_node_labels(d, n, labels);
	assert_string_equal(jstr(labels, "nvidia.com/mig.capable"), "false");
	json_decref(labels);
	free(d);
}

static void test_nvml_fake_mig(void **state)
{
	json_t *cap, *labels, *want;
	char uuids[2][96];
	wf_gpu_device *d;
	wf_gpu_pool *p;
	size_t n;
	wf_err e;

	fake_lib(state);
	cap = json_object();
	labels = json_object();
	setenv("FAKE_NVML_GPUS", "2:NVIDIA H100 80GB HBM3:81559", 1);
	setenv("FAKE_NVML_MIG", "0:1g.10gb,-,1g.10gb,3g.40gb", 1);
	d = fake_discover(state, &n);
	assert_int_equal(n, 4);
	/* GPU 0 is replaced by its three MIG devices (slot 1 is empty) */
	assert_string_equal(d[0].resource, "nvidia.com/mig-1g.10gb");
	assert_string_equal(d[0].uuid, "MIG-fa4e0000-0000-4000-8000-000000000000");
	assert_string_equal(d[1].resource, "nvidia.com/mig-1g.10gb");
	assert_string_equal(d[1].uuid, "MIG-fa4e0000-0002-4000-8000-000000000000");
	assert_string_equal(d[2].resource, "nvidia.com/mig-3g.40gb");
	for (int i = 0; i < 3; i++) {
		assert_int_equal(d[i].index, 0);
		assert_string_equal(d[i].product, H100);
		assert_int_equal(d[i].memory_mib, 81559);
		assert_true(d[i].mig_capable);
		assert_true(d[i].mig_enabled);
		assert_true(uuid_shape(d[i].uuid, "MIG-"));
	}
	assert_string_equal(d[3].resource, "nvidia.com/gpu");
	assert_int_equal(d[3].index, 1);
	assert_false(d[3].mig_enabled);

	wf_gpu_node_capacity(d, n, cap);
	want = json_pack("{s:s, s:s, s:s}", "nvidia.com/gpu", "1", "nvidia.com/mig-1g.10gb", "2",
			 "nvidia.com/mig-3g.40gb", "1");
	assert_true(json_equal(cap, want));
	json_decref(want);
	wf_gpu_node_labels(d, n, labels);
	want = json_pack("{s:s, s:s, s:s, s:s, s:s}", "nvidia.com/gpu.product", H100,
			 "nvidia.com/gpu.memory", "81559", "nvidia.com/gpu.count", "2",
			 "nvidia.com/mig.capable", "true", "nvidia.com/mig.strategy", "mixed");
	assert_true(json_equal(labels, want));
	json_decref(want);
	json_decref(cap);
	json_decref(labels);

	/* MIG devices go through the same pool */
	p = open_pool(d, n, NULL);
	assert_int_equal(wf_gpu_pool_allocate(p, "a", "nvidia.com/mig-1g.10gb", 2, uuids, NULL, &e),
			 0);
	assert_string_equal(uuids[1], d[1].uuid);
	assert_int_equal(wf_gpu_pool_allocate(p, "b", "nvidia.com/mig-1g.10gb", 1, NULL, NULL, &e),
			 -WF_ECONFLICT);
	assert_int_equal(wf_gpu_pool_allocate(p, "b", "nvidia.com/mig-3g.40gb", 1, NULL, NULL, &e),
			 0);
	assert_int_equal(wf_gpu_pool_free_count(p, NULL), 1);
	wf_gpu_pool_free(p);
	free(d);

	/* media extensions: '+' cannot appear in a resource name */
	setenv("FAKE_NVML_MIG", "0:1g.10gb+me;1:7g.80gb", 1);
	d = fake_discover(state, &n);
	assert_int_equal(n, 2);
	assert_string_equal(d[0].resource, "nvidia.com/mig-1g.10gb.me");
	assert_string_equal(d[1].resource, "nvidia.com/mig-7g.80gb");
	assert_int_equal(d[1].index, 1);
	free(d);
}

static void test_nvml_fake_mig_attributes(void **state)
{
	wf_gpu_device *d;
	size_t n;

	fake_lib(state);
	/* names without the profile: it is built from slices and memory */
	setenv("FAKE_NVML_MIG_PLAIN_NAMES", "1", 1);
	setenv("FAKE_NVML_GPUS", "2:NVIDIA H100 80GB HBM3:81559", 1);
	setenv("FAKE_NVML_MIG", "0:1g.10gb,2g.20gb,1c.3g.40gb;1:7g.80gb", 1);
	d = fake_discover(state, &n);
	assert_int_equal(n, 4);
	assert_string_equal(d[0].resource, "nvidia.com/mig-1g.10gb");
	assert_string_equal(d[1].resource, "nvidia.com/mig-2g.20gb");
	assert_string_equal(d[2].resource, "nvidia.com/mig-1c.3g.40gb");
	assert_string_equal(d[3].resource, "nvidia.com/mig-7g.80gb");
	free(d);

	/* an A100 40GB's smallest slice is 5gb */
	setenv("FAKE_NVML_GPUS", "1:NVIDIA A100-SXM4-40GB:40960", 1);
	setenv("FAKE_NVML_MIG", "0:1g.5gb,3g.20gb", 1);
	d = fake_discover(state, &n);
	assert_int_equal(n, 2);
	assert_string_equal(d[0].resource, "nvidia.com/mig-1g.5gb");
	assert_string_equal(d[1].resource, "nvidia.com/mig-3g.20gb");
	assert_string_equal(d[0].product, "NVIDIA-A100-SXM4-40GB");
	free(d);
}

static void test_nvml_fake_errors(void **state)
{
	wf_gpu_device *d;
	size_t n;
	wf_err e;

	fake_lib(state);
	/* driver not loaded: a CPU machine, not an error */
	setenv("FAKE_NVML_INIT_RC", "9", 1);
	d = (wf_gpu_device *)state;
	assert_int_equal(wf_gpu_discover_nvml(fake_lib(state), &d, &n, &e), -WF_ENOENT);
	assert_null(d);
	assert_int_equal(n, 0);
	assert_non_null(strstr(e.msg, "Driver Not Loaded"));
	/* other init failures carry nvmlErrorString */
	setenv("FAKE_NVML_INIT_RC", "999", 1);
	assert_int_equal(wf_gpu_discover_nvml(fake_lib(state), &d, &n, &e), -WF_EIO);
	assert_non_null(strstr(e.msg, "nvmlInit_v2"));
	assert_non_null(strstr(e.msg, "Unknown Error"));
	unsetenv("FAKE_NVML_INIT_RC");

	/* no GPU at all */
	setenv("FAKE_NVML_GPUS", "0:X:1", 1);
	assert_int_equal(wf_gpu_discover_nvml(fake_lib(state), &d, &n, &e), -WF_ENOENT);
	assert_non_null(strstr(e.msg, "no NVIDIA GPU"));

	/* a lost GPU fails discovery, naming it */
	setenv("FAKE_NVML_GPUS", "3:NVIDIA H100 80GB HBM3:81559", 1);
	setenv("FAKE_NVML_LOST_GPU", "1", 1);
	assert_int_equal(wf_gpu_discover_nvml(fake_lib(state), &d, &n, &e), -WF_EIO);
	assert_null(d);
	assert_int_equal(n, 0);
	assert_non_null(strstr(e.msg, "GPU 1"));
	assert_non_null(strstr(e.msg, "GPU is lost"));
	unsetenv("FAKE_NVML_LOST_GPU");

	/* MIG enabled everywhere with no MIG device: nothing to allocate */
	setenv("FAKE_NVML_GPUS", "1:NVIDIA H100 80GB HBM3:81559", 1);
	setenv("FAKE_NVML_MIG", "0:-,-", 1);
	assert_int_equal(wf_gpu_discover_nvml(fake_lib(state), &d, &n, &e), -WF_ENOENT);
	assert_non_null(strstr(e.msg, "MIG"));
	assert_null(d);

	/* the default: one GPU, and err may be NULL */
	fake_env_reset();
	assert_int_equal(wf_gpu_discover_nvml(fake_lib(state), &d, &n, NULL), 0);
	assert_int_equal(n, 1);
	free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_product_label),
	    cmocka_unit_test(test_declare_valid),
	    cmocka_unit_test(test_declare_malformed),
	    cmocka_unit_test(test_declare_uuids),
	    cmocka_unit_test(test_capacity_labels_declared),
	    cmocka_unit_test(test_capacity_labels_mig),
	    cmocka_unit_test(test_pool_open_invalid),
	    cmocka_unit_test(test_pool_allocate),
	    cmocka_unit_test(test_pool_resources),
	    cmocka_unit_test(test_pool_adopt),
	    cmocka_unit_test(test_pool_threads),
	    cmocka_unit_test(test_pool_persist),
	    cmocka_unit_test(test_pool_corrupt_state),
	    cmocka_unit_test(test_pool_write_failure),
	    cmocka_unit_test(test_nvml_missing_library),
	    cmocka_unit_test_setup_teardown(test_nvml_fake_gpus, fake_setup, fake_teardown),
	    cmocka_unit_test_setup_teardown(test_nvml_fake_mig, fake_setup, fake_teardown),
	    cmocka_unit_test_setup_teardown(test_nvml_fake_mig_attributes, fake_setup,
					    fake_teardown),
	    cmocka_unit_test_setup_teardown(test_nvml_fake_errors, fake_setup, fake_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
