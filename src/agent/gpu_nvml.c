/*
 * gpu_nvml.c - GPU discovery through NVML, loaded at run time.
 *
 * The agent must build and run on machines without the NVIDIA driver, so it
 * never links libnvidia-ml: each discovery dlopens it, resolves the few
 * functions it calls (declared here with the ABI of nvml.h, which is not
 * needed to build), reads the devices, shuts NVML down and closes the library.
 * Nothing is cached: no globals, callable from any thread.
 *
 * MIG ("mixed" strategy of the NVIDIA device plugin): a GPU whose current MIG
 * mode is enabled is replaced by its MIG devices, each advertised as
 * "nvidia.com/mig-<profile>". The profile is read from the MIG device's name
 * ("NVIDIA H100 80GB HBM3 MIG 1g.10gb"), or else built from its attributes
 * the way go-nvlib names profiles ("<c>c.<g>g.<gb>gb", memory snapped to
 * eighths of the board). MIG functions are optional: a driver without them
 * has no MIG-capable GPU as far as we are concerned.
 */
#include "agent/gpu.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include "lib/wf_mem.h"

/* ---- the slice of nvml.h we use ------------------------------------------ */

typedef int wf__nvml_ret; /* nvmlReturn_t: an enum */
typedef struct wf__nvml_device_st *wf__nvml_device;

typedef struct wf__nvml_memory { /* nvmlMemory_t, bytes */
	unsigned long long total;
	unsigned long long free;
	unsigned long long used;
} wf__nvml_memory;

typedef struct wf__nvml_attributes { /* nvmlDeviceAttributes_t (v2) */
	unsigned int multiprocessor_count;
	unsigned int shared_copy_engine_count;
	unsigned int shared_decoder_count;
	unsigned int shared_encoder_count;
	unsigned int shared_jpeg_count;
	unsigned int shared_ofa_count;
	unsigned int gpu_instance_slice_count;
	unsigned int compute_instance_slice_count;
	unsigned long long memory_size_mb;
} wf__nvml_attributes;

enum {
	WF__NVML_SUCCESS = 0,
	WF__NVML_ERROR_NOT_SUPPORTED = 3,
	WF__NVML_ERROR_NOT_FOUND = 6,
	WF__NVML_ERROR_DRIVER_NOT_LOADED = 9,
	WF__NVML_ERROR_LIBRARY_NOT_FOUND = 12,
	WF__NVML_ERROR_FUNCTION_NOT_FOUND = 13,
	WF__NVML_DEVICE_MIG_ENABLE = 1,
	WF__NVML_BUFFER_SIZE = 96, /* NVML_DEVICE_{UUID,NAME}_V2_BUFFER_SIZE */
	/* sanity bounds on what the library reports */
	WF__NVML_MAX_GPUS = 1024,
	WF__NVML_MAX_MIG = 64,
};

struct wf__nvml {
	void *lib;
	const char *path;
	wf__nvml_ret (*init)(void);
	wf__nvml_ret (*shutdown)(void);
	const char *(*error_string)(wf__nvml_ret);
	wf__nvml_ret (*get_count)(unsigned int *);
	wf__nvml_ret (*get_handle)(unsigned int, wf__nvml_device *);
	wf__nvml_ret (*get_uuid)(wf__nvml_device, char *, unsigned int);
	wf__nvml_ret (*get_name)(wf__nvml_device, char *, unsigned int);
	wf__nvml_ret (*get_memory)(wf__nvml_device, wf__nvml_memory *);
	/* optional */
	wf__nvml_ret (*get_mig_mode)(wf__nvml_device, unsigned int *, unsigned int *);
	wf__nvml_ret (*get_max_mig)(wf__nvml_device, unsigned int *);
	wf__nvml_ret (*get_mig_handle)(wf__nvml_device, unsigned int, wf__nvml_device *);
	wf__nvml_ret (*get_attributes)(wf__nvml_device, wf__nvml_attributes *);
};

/* A growing device list. */
struct wf__devlist {
	wf_gpu_device *v;
	size_t n, cap;
};

#define WF__NVML_SYM(nv, field, name)                                                              \
	((nv)->field = (__typeof__((nv)->field))dlsym((nv)->lib, name))

static int wf__nvml_resolve(struct wf__nvml *nv, wf_err *err)
{
	const char *missing = NULL;

	if (!WF__NVML_SYM(nv, init, "nvmlInit_v2"))
		missing = "nvmlInit_v2";
	else if (!WF__NVML_SYM(nv, shutdown, "nvmlShutdown"))
		missing = "nvmlShutdown";
	else if (!WF__NVML_SYM(nv, get_count, "nvmlDeviceGetCount_v2"))
		missing = "nvmlDeviceGetCount_v2";
	else if (!WF__NVML_SYM(nv, get_handle, "nvmlDeviceGetHandleByIndex_v2"))
		missing = "nvmlDeviceGetHandleByIndex_v2";
	else if (!WF__NVML_SYM(nv, get_uuid, "nvmlDeviceGetUUID"))
		missing = "nvmlDeviceGetUUID";
	else if (!WF__NVML_SYM(nv, get_name, "nvmlDeviceGetName"))
		missing = "nvmlDeviceGetName";
	else if (!WF__NVML_SYM(nv, get_memory, "nvmlDeviceGetMemoryInfo"))
		missing = "nvmlDeviceGetMemoryInfo";
	if (missing)
		return wf_err_set(err, WF_ENOTSUP,
				  "%s is not a usable NVML library: it lacks %s (driver too old?)",
				  nv->path, missing);
	WF__NVML_SYM(nv, error_string, "nvmlErrorString");
	WF__NVML_SYM(nv, get_mig_mode, "nvmlDeviceGetMigMode");
	WF__NVML_SYM(nv, get_max_mig, "nvmlDeviceGetMaxMigDeviceCount");
	WF__NVML_SYM(nv, get_mig_handle, "nvmlDeviceGetMigDeviceHandleByIndex");
	WF__NVML_SYM(nv, get_attributes, "nvmlDeviceGetAttributes_v2");
	if (!nv->get_max_mig || !nv->get_mig_handle)
		nv->get_mig_mode = NULL;
	return 0;
}

static const char *wf__nvml_strerror(const struct wf__nvml *nv, wf__nvml_ret rc)
{
	const char *s = nv->error_string ? nv->error_string(rc) : NULL;
	return s ? s : "unknown error";
}

/* -WF_EIO naming the call, the device and NVML's own words. */
static int wf__nvml_fail(const struct wf__nvml *nv, const char *call, const char *what,
			 wf__nvml_ret rc, wf_err *err)
{
	return wf_err_set(err, WF_EIO, "NVML %s failed for %s: %s (error %d)", call, what,
			  wf__nvml_strerror(nv, rc), rc);
}

/* Copy an NVML string out of a buffer it may not have terminated. */
static void wf__nvml_str(char *dst, size_t size, const char *src)
{
	size_t len = strnlen(src, WF__NVML_BUFFER_SIZE - 1);

	if (len >= size)
		len = size - 1;
	memcpy(dst, src, len);
	dst[len] = '\0';
}

static wf_gpu_device *wf__devlist_push(struct wf__devlist *l)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 8;
		l->v = wf_xrealloc(l->v, l->cap * sizeof *l->v);
	}
	memset(&l->v[l->n], 0, sizeof l->v[l->n]);
	return &l->v[l->n++];
}

/* ---- MIG profiles -------------------------------------------------------- */

/* "1g.10gb", "1c.2g.20gb", "1g.10gb+me": digits, lowercase, '.', '+'. */
static bool wf__mig_profile_ok(const char *p)
{
	size_t len = strlen(p);

	if (!len || len > 40 || p[0] < '0' || p[0] > '9' || !strstr(p, "g.") || !strstr(p, "gb"))
		return false;
	for (size_t i = 0; i < len; i++)
		if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'z') || p[i] == '.' ||
		      p[i] == '+'))
			return false;
	return true;
}

/*
 * Memory of a MIG slice in the GB its profile name carries: the share of the
 * board, rounded up to an eighth, times the board's size in whole GiB
 * (rounded up), rounded to the nearest integer.
 */
static unsigned long long wf__mig_gb(unsigned long long total_bytes, unsigned long long slice_mib)
{
	unsigned long long eighths, board_gb;

	if (!total_bytes)
		return 0;
	eighths = (slice_mib * 8 * (1ULL << 20) + total_bytes - 1) / total_bytes;
	board_gb = (total_bytes + (1ULL << 30) - 1) >> 30;
	return (eighths * board_gb + 4) / 8;
}

static int wf__mig_profile(const struct wf__nvml *nv, wf__nvml_device mig,
			   unsigned long long parent_bytes, const char *what, char *out,
			   size_t size, wf_err *err)
{
	char name[WF__NVML_BUFFER_SIZE] = "";
	wf__nvml_attributes a;
	wf__nvml_ret rc;

	rc = nv->get_name(mig, name, sizeof name);
	if (rc == WF__NVML_SUCCESS) {
		const char *p = NULL;
		name[sizeof name - 1] = '\0';
		for (const char *s = strstr(name, " MIG "); s; s = strstr(s + 1, " MIG "))
			p = s + 5;
		if (p && wf__mig_profile_ok(p)) {
			snprintf(out, size, "%s", p);
			return 0;
		}
	}
	if (!nv->get_attributes)
		return wf_err_set(err, WF_EIO,
				  "cannot tell the MIG profile of %s: its name \"%s\" has none "
				  "and NVML has no nvmlDeviceGetAttributes_v2",
				  what, name);
	memset(&a, 0, sizeof a);
	rc = nv->get_attributes(mig, &a);
	if (rc != WF__NVML_SUCCESS)
		return wf__nvml_fail(nv, "nvmlDeviceGetAttributes_v2", what, rc, err);
	if (!a.gpu_instance_slice_count || !a.memory_size_mb || a.gpu_instance_slice_count > 64 ||
	    a.compute_instance_slice_count > a.gpu_instance_slice_count ||
	    a.memory_size_mb > (1ULL << 40))
		return wf_err_set(err, WF_EIO,
				  "cannot tell the MIG profile of %s: implausible attributes "
				  "(%u GPU slices, %u compute slices, %llu MiB)",
				  what, a.gpu_instance_slice_count, a.compute_instance_slice_count,
				  a.memory_size_mb);
	if (!a.compute_instance_slice_count ||
	    a.compute_instance_slice_count == a.gpu_instance_slice_count)
		snprintf(out, size, "%ug.%llugb", a.gpu_instance_slice_count,
			 wf__mig_gb(parent_bytes, a.memory_size_mb));
	else
		snprintf(out, size, "%uc.%ug.%llugb", a.compute_instance_slice_count,
			 a.gpu_instance_slice_count, wf__mig_gb(parent_bytes, a.memory_size_mb));
	return 0;
}

/* Every MIG device of one GPU, as entries describing their parent `gpu`. */
static int wf__nvml_migs(const struct wf__nvml *nv, wf__nvml_device dev, const wf_gpu_device *gpu,
			 unsigned long long parent_bytes, struct wf__devlist *l, wf_err *err)
{
	unsigned int max = 0;
	char what[64];
	wf__nvml_ret rc;

	snprintf(what, sizeof what, "GPU %d", gpu->index);
	rc = nv->get_max_mig(dev, &max);
	if (rc != WF__NVML_SUCCESS)
		return wf__nvml_fail(nv, "nvmlDeviceGetMaxMigDeviceCount", what, rc, err);
	if (max > WF__NVML_MAX_MIG)
		max = WF__NVML_MAX_MIG;
	for (unsigned int slot = 0; slot < max; slot++) {
		char buf[WF__NVML_BUFFER_SIZE], profile[48];
		wf__nvml_device mig = NULL;
		wf_gpu_device *d;
		int ret;

		snprintf(what, sizeof what, "MIG device %u of GPU %d", slot, gpu->index);
		rc = nv->get_mig_handle(dev, slot, &mig);
		if (rc == WF__NVML_ERROR_NOT_FOUND)
			continue;
		if (rc != WF__NVML_SUCCESS)
			return wf__nvml_fail(nv, "nvmlDeviceGetMigDeviceHandleByIndex", what, rc,
					     err);
		memset(buf, 0, sizeof buf);
		rc = nv->get_uuid(mig, buf, sizeof buf);
		if (rc != WF__NVML_SUCCESS)
			return wf__nvml_fail(nv, "nvmlDeviceGetUUID", what, rc, err);
		ret = wf__mig_profile(nv, mig, parent_bytes, what, profile, sizeof profile, err);
		if (ret)
			return ret;
		d = wf__devlist_push(l);
		*d = *gpu;
		wf__nvml_str(d->uuid, sizeof d->uuid, buf);
		/* '+' (media extensions, "1g.10gb+me") is not allowed in a resource name */
		for (char *c = profile; *c; c++)
			if (*c == '+')
				*c = '.';
		snprintf(d->resource, sizeof d->resource, "%s%s", WF_GPU_MIG_RESOURCE_PREFIX,
			 profile);
		if (!d->uuid[0])
			return wf_err_set(err, WF_EIO, "NVML gave %s an empty UUID", what);
	}
	return 0;
}

static int wf__nvml_collect(const struct wf__nvml *nv, struct wf__devlist *l, wf_err *err)
{
	unsigned int count = 0, mig_gpus = 0;
	wf__nvml_ret rc;

	rc = nv->get_count(&count);
	if (rc != WF__NVML_SUCCESS)
		return wf__nvml_fail(nv, "nvmlDeviceGetCount_v2", "the system", rc, err);
	if (!count)
		return wf_err_set(err, WF_ENOENT, "NVML found no NVIDIA GPU");
	if (count > WF__NVML_MAX_GPUS)
		return wf_err_set(err, WF_EIO, "NVML reports an implausible %u GPUs", count);
	for (unsigned int i = 0; i < count; i++) {
		char buf[WF__NVML_BUFFER_SIZE], what[32];
		wf__nvml_device dev = NULL;
		wf__nvml_memory mem;
		wf_gpu_device gpu;
		unsigned int cur = 0, pending = 0;

		snprintf(what, sizeof what, "GPU %u", i);
		memset(&gpu, 0, sizeof gpu);
		gpu.index = (int)i;
		rc = nv->get_handle(i, &dev);
		if (rc != WF__NVML_SUCCESS)
			return wf__nvml_fail(nv, "nvmlDeviceGetHandleByIndex_v2", what, rc, err);
		memset(buf, 0, sizeof buf);
		rc = nv->get_uuid(dev, buf, sizeof buf);
		if (rc != WF__NVML_SUCCESS)
			return wf__nvml_fail(nv, "nvmlDeviceGetUUID", what, rc, err);
		wf__nvml_str(gpu.uuid, sizeof gpu.uuid, buf);
		if (!gpu.uuid[0])
			return wf_err_set(err, WF_EIO, "NVML gave %s an empty UUID", what);
		memset(buf, 0, sizeof buf);
		rc = nv->get_name(dev, buf, sizeof buf);
		if (rc != WF__NVML_SUCCESS)
			return wf__nvml_fail(nv, "nvmlDeviceGetName", what, rc, err);
		buf[sizeof buf - 1] = '\0';
		wf_gpu_product_label(buf, gpu.product, sizeof gpu.product);
		memset(&mem, 0, sizeof mem);
		rc = nv->get_memory(dev, &mem);
		if (rc != WF__NVML_SUCCESS)
			return wf__nvml_fail(nv, "nvmlDeviceGetMemoryInfo", what, rc, err);
		gpu.memory_mib = mem.total >> 20;
		if (nv->get_mig_mode) {
			rc = nv->get_mig_mode(dev, &cur, &pending);
			if (rc == WF__NVML_SUCCESS) {
				gpu.mig_capable = true;
				gpu.mig_enabled = cur == WF__NVML_DEVICE_MIG_ENABLE;
			} else if (rc != WF__NVML_ERROR_NOT_SUPPORTED &&
				   rc != WF__NVML_ERROR_FUNCTION_NOT_FOUND) {
				return wf__nvml_fail(nv, "nvmlDeviceGetMigMode", what, rc, err);
			}
		}
		if (gpu.mig_enabled) {
			int ret = wf__nvml_migs(nv, dev, &gpu, mem.total, l, err);
			if (ret)
				return ret;
			mig_gpus++;
			continue;
		}
		snprintf(gpu.resource, sizeof gpu.resource, "%s", WF_GPU_RESOURCE);
		*wf__devlist_push(l) = gpu;
	}
	if (!l->n)
		return wf_err_set(err, WF_ENOENT,
				  "NVML found %u GPUs, all in MIG mode with no MIG device "
				  "configured",
				  mig_gpus);
	return 0;
}

int wf_gpu_discover_nvml(const char *lib, wf_gpu_device **devs, size_t *n, wf_err *err)
{
	struct wf__nvml nv;
	struct wf__devlist l = {0};
	wf__nvml_ret rc;
	int ret;

	*devs = NULL;
	*n = 0;
	memset(&nv, 0, sizeof nv);
	nv.path = lib ? lib : "libnvidia-ml.so.1";
	nv.lib = dlopen(nv.path, RTLD_NOW | RTLD_LOCAL);
	if (!nv.lib) {
		const char *why = dlerror();
		return wf_err_set(err, WF_ENOENT, "no NVML: cannot load %s: %s", nv.path,
				  why ? why : "unknown reason");
	}
	ret = wf__nvml_resolve(&nv, err);
	if (ret)
		goto out_close;
	rc = nv.init();
	if (rc == WF__NVML_ERROR_DRIVER_NOT_LOADED || rc == WF__NVML_ERROR_LIBRARY_NOT_FOUND) {
		ret = wf_err_set(err, WF_ENOENT, "no NVIDIA driver: nvmlInit_v2: %s (error %d)",
				 wf__nvml_strerror(&nv, rc), rc);
		goto out_close;
	}
	if (rc != WF__NVML_SUCCESS) {
		ret = wf__nvml_fail(&nv, "nvmlInit_v2", nv.path, rc, err);
		goto out_close;
	}
	ret = wf__nvml_collect(&nv, &l, err);
	nv.shutdown();
	if (ret) {
		free(l.v);
		goto out_close;
	}
	*devs = l.v;
	*n = l.n;
out_close:
	dlclose(nv.lib);
	return ret;
}
