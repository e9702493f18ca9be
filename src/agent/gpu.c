/*
 * gpu.c - GPUs declared by configuration, product names as label values, and
 * what a device list advertises on the Node (capacity and the GPU Feature
 * Discovery labels).
 *
 * Declared devices look like real ones to everything downstream: their UUIDs
 * are derived from (node name, index) alone, so a node keeps the same UUIDs
 * across restarts (and the pool's state file stays valid) while two nodes
 * never share one.
 */
#include "agent/gpu.h"
#include "lib/wf_hash.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "lib/wf_mem.h"

#define WF__LABEL_VALUE_MAX 63

static bool wf__label_char(char c)
{
	return isalnum((unsigned char)c) || c == '-' || c == '_' || c == '.';
}

void wf_gpu_product_label(const char *name, char *out, size_t size)
{
	size_t len = 0, cap;

	if (!size)
		return;
	cap = size - 1 < WF__LABEL_VALUE_MAX ? size - 1 : WF__LABEL_VALUE_MAX;
	for (const char *s = name ? name : ""; *s && len < cap; s++) {
		if (isspace((unsigned char)*s) || *s == '-') {
			if (len && out[len - 1] != '-')
				out[len++] = '-';
		} else if (wf__label_char(*s) && (len || isalnum((unsigned char)*s))) {
			out[len++] = *s;
		}
	}
	while (len && !isalnum((unsigned char)out[len - 1]))
		len--;
	out[len] = '\0';
}

/* ---- declared devices ---------------------------------------------------- */

/* splitmix64's finaliser: spreads FNV's weak low-entropy bits. */
static uint64_t wf__mix(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void wf__declared_uuid(const char *node, int index, char out[96])
{
	char idx[16];
	uint64_t hi, lo;

	snprintf(idx, sizeof idx, "%d", index);
	hi = wf_fnv1a64(WF_FNV64_BASIS, "wharf-gpu", 10);
	hi = wf_fnv1a64(hi, node, strlen(node) + 1);
	hi = wf_fnv1a64(hi, idx, strlen(idx));
	lo = wf__mix(hi ^ 0x9e3779b97f4a7c15ULL);
	hi = wf__mix(hi);
	/* RFC 9562 version 8 (custom), variant 10 */
	hi = (hi & ~0xf000ULL) | 0x8000ULL;
	lo = (lo & ~(3ULL << 62)) | (2ULL << 62);
	snprintf(out, 96, "GPU-%08x-%04x-%04x-%04x-%012llx", (unsigned)(hi >> 32),
		 (unsigned)(hi >> 16) & 0xffff, (unsigned)hi & 0xffff, (unsigned)(lo >> 48),
		 (unsigned long long)(lo & 0xffffffffffffULL));
}

/* Strict decimal: digits only, no sign or blanks; false on overflow past max. */
static bool wf__parse_uint(const char *s, size_t n, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (!n)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
		if (v > max)
			return false;
	}
	*out = v;
	return true;
}

int wf_gpu_declare(const char *spec, const char *node_name, wf_gpu_device **devs, size_t *n,
		   wf_err *err)
{
	/* 16 TiB per GPU is far beyond any product and keeps MiB * 2^20 in range */
	const uint64_t mem_max = 16ULL << 20;
	const char *c1, *c2, *prod;
	size_t prod_len;
	uint64_t count, mem = 0;
	char product[96];
	wf_gpu_device *d;

	*devs = NULL;
	*n = 0;
	if (!node_name || !*node_name)
		return wf_err_set(err, WF_EINVAL, "declared GPUs need a node name");
	if (!spec || !*spec)
		return wf_err_set(err, WF_EINVAL,
				  "GPU spec is empty: want COUNT:PRODUCT[:MEMORY_MIB]");
	c1 = strchr(spec, ':');
	if (!c1)
		return wf_err_set(err, WF_EINVAL,
				  "GPU spec \"%.64s\": want COUNT:PRODUCT[:MEMORY_MIB]", spec);
	if (!wf__parse_uint(spec, (size_t)(c1 - spec), WF_GPU_DECLARE_MAX, &count) || !count)
		return wf_err_set(err, WF_EINVAL,
				  "GPU spec \"%.64s\": count must be an integer from 1 to %d", spec,
				  WF_GPU_DECLARE_MAX);
	prod = c1 + 1;
	c2 = strchr(prod, ':');
	prod_len = c2 ? (size_t)(c2 - prod) : strlen(prod);
	if (c2) {
		const char *m = c2 + 1;
		if (!wf__parse_uint(m, strlen(m), mem_max, &mem) || !mem)
			return wf_err_set(err, WF_EINVAL,
					  "GPU spec \"%.64s\": memory must be a positive number of "
					  "MiB up to %llu",
					  spec, (unsigned long long)mem_max);
	}
	if (!prod_len)
		return wf_err_set(err, WF_EINVAL, "GPU spec \"%.64s\": product is empty", spec);
	if (prod_len > WF__LABEL_VALUE_MAX)
		return wf_err_set(err, WF_EINVAL, "GPU spec: product is longer than %d characters",
				  WF__LABEL_VALUE_MAX);
	for (size_t i = 0; i < prod_len; i++) {
		char ch = prod[i] == ' ' ? '-' : prod[i];
		bool end = i == 0 || i == prod_len - 1;
		if (!wf__label_char(ch) || (end && !isalnum((unsigned char)ch)))
			return wf_err_set(
			    err, WF_EINVAL,
			    "GPU spec \"%.64s\": product must be a label value "
			    "(letters, digits, '-', '_', '.', alphanumeric at both ends)",
			    spec);
		product[i] = ch;
	}
	product[prod_len] = '\0';

	d = wf_xcalloc(count, sizeof *d);
	for (size_t i = 0; i < count; i++) {
		snprintf(d[i].resource, sizeof d[i].resource, "%s", WF_GPU_RESOURCE);
		memcpy(d[i].product, product, prod_len + 1);
		d[i].index = (int)i;
		d[i].memory_mib = mem;
		wf__declared_uuid(node_name, (int)i, d[i].uuid);
	}
	*devs = d;
	*n = count;
	return 0;
}

/* ---- what the Node advertises ------------------------------------------- */

void wf_gpu_node_capacity(const wf_gpu_device *devs, size_t n, json_t *capacity)
{
	for (size_t i = 0; i < n; i++) {
		size_t count = 0;
		bool seen = false;
		char num[24];

		for (size_t j = 0; j < i && !seen; j++)
			seen = strcmp(devs[j].resource, devs[i].resource) == 0;
		if (seen || !devs[i].resource[0])
			continue;
		for (size_t j = i; j < n; j++)
			count += strcmp(devs[j].resource, devs[i].resource) == 0;
		snprintf(num, sizeof num, "%zu", count);
		json_object_set_new(capacity, devs[i].resource, json_string(num));
	}
}

void wf_gpu_node_labels(const wf_gpu_device *devs, size_t n, json_t *labels)
{
	const wf_gpu_device *first = NULL;
	size_t gpus = 0;
	bool capable = false, enabled = false;
	char num[24];

	if (!n)
		return;
	for (size_t i = 0; i < n; i++) {
		bool seen = false;

		for (size_t j = 0; j < i && !seen; j++)
			seen = devs[j].index == devs[i].index;
		gpus += !seen;
		if (!first || devs[i].index < first->index)
			first = &devs[i];
		capable |= devs[i].mig_capable;
		enabled |= devs[i].mig_enabled;
	}
	if (first->product[0])
		json_object_set_new(labels, "nvidia.com/gpu.product", json_string(first->product));
	if (first->memory_mib) {
		snprintf(num, sizeof num, "%llu", (unsigned long long)first->memory_mib);
		json_object_set_new(labels, "nvidia.com/gpu.memory", json_string(num));
	}
	snprintf(num, sizeof num, "%zu", gpus);
	json_object_set_new(labels, "nvidia.com/gpu.count", json_string(num));
	json_object_set_new(labels, "nvidia.com/mig.capable",
			    json_string(capable ? "true" : "false"));
	if (enabled)
		json_object_set_new(labels, "nvidia.com/mig.strategy", json_string("mixed"));
}
