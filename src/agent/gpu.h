/*
 * gpu.h - the node's GPUs: discovery (NVML loaded at run time, or devices
 * declared by configuration), what the Node advertises (capacity and GPU
 * Feature Discovery labels), and exclusive allocation to containers.
 *
 * Declared and real devices go through the same pool: a device has a
 * resource name ("nvidia.com/gpu", or "nvidia.com/mig-1g.10gb" for a MIG
 * instance in the device plugin's "mixed" strategy), a UUID, an index and a
 * product name. The pool never hands a device to two owners; assignments are
 * persisted in a state file so that they survive an agent restart.
 *
 * A device list holds one entry per allocatable unit: a whole GPU, or one MIG
 * instance of a GPU whose MIG mode is enabled (the whole GPU is then not
 * allocatable and has no entry of its own). A MIG entry describes its parent
 * in index, product, memory_mib and the mig_* flags; its own size is in its
 * profile. Lists are ordered by index, MIG instances in NVML slot order.
 * Containers see a device through its UUID (NVIDIA_VISIBLE_DEVICES and
 * CUDA_VISIBLE_DEVICES both accept "GPU-..." and "MIG-..." UUIDs).
 *
 * Split: gpu.c (declared devices, capacity, labels), gpu_nvml.c (NVML
 * discovery), gpu_pool.c (allocation and its state file).
 */
#ifndef WF_GPU_H
#define WF_GPU_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/wf_err.h"

#define WF_GPU_RESOURCE "nvidia.com/gpu"
#define WF_GPU_MIG_RESOURCE_PREFIX "nvidia.com/mig-"
/* Most devices wf_gpu_declare accepts. */
#define WF_GPU_DECLARE_MAX 1024

typedef struct wf_gpu_device {
	char resource[96];   /* "nvidia.com/gpu" or "nvidia.com/mig-<profile>" */
	char uuid[96];	     /* "GPU-..." or "MIG-..." */
	char product[96];    /* "NVIDIA-H100-80GB-HBM3" (spaces become '-') */
	int index;	     /* NVML index (for MIG: the parent's) */
	uint64_t memory_mib; /* of the physical GPU (for MIG: the parent's); 0 unknown */
	bool mig_capable;
	bool mig_enabled;
} wf_gpu_device;

typedef struct wf_gpu_pool wf_gpu_pool;

/*
 * Discover through NVML: dlopen(lib ? lib : "libnvidia-ml.so.1"), initialise,
 * read every device (MIG instances replace a MIG-enabled GPU), shut NVML down
 * and close the library again. On success *devs (caller frees with free())
 * holds *n >= 1 entries. Returns -WF_ENOENT when the library, the driver or
 * any GPU is absent (not an error for a CPU machine), -WF_ENOTSUP when the
 * library lacks a required NVML function, -WF_EIO when an NVML call fails
 * (the message names the call, the device and nvmlErrorString's text). On
 * error *devs is NULL and *n is 0. Safe to call from any thread.
 */
int wf_gpu_discover_nvml(const char *lib, wf_gpu_device **devs, size_t *n, wf_err *err);
/*
 * Declared GPUs: spec "COUNT:PRODUCT[:MEMORY_MIB]" (e.g.
 * "8:NVIDIA-H100-80GB-HBM3:81559"), COUNT in 1..WF_GPU_DECLARE_MAX, PRODUCT a
 * label value once spaces become '-' (letters, digits, '-', '_', '.', at most
 * 63, alphanumeric at both ends), MEMORY_MIB a positive decimal (0 = unknown
 * when absent). node_name must be non-empty. UUIDs are stable per (node,
 * index): "GPU-" + a hash of both, formatted like a real (version 8) UUID.
 * Devices are "nvidia.com/gpu", indices 0..COUNT-1, not MIG-capable.
 * -WF_EINVAL with a message for a malformed spec; *devs (caller frees with
 * free()) is NULL and *n 0 then.
 */
int wf_gpu_declare(const char *spec, const char *node_name, wf_gpu_device **devs, size_t *n,
		   wf_err *err);

/*
 * A GPU name as a label value, the way GPU Feature Discovery writes it: runs
 * of whitespace and '-' become one '-', characters a label value cannot hold are
 * dropped, at most 63 characters, alphanumeric at both ends ("NVIDIA H100
 * 80GB HBM3" -> "NVIDIA-H100-80GB-HBM3"). out receives a NUL-terminated string
 * (possibly empty) of at most size - 1 bytes.
 */
void wf_gpu_product_label(const char *name, char *out, size_t size);

/* Node capacity entries ({"nvidia.com/gpu": "8", "nvidia.com/mig-1g.10gb":
 * "2", ...}: quantities as strings, one per resource) and GFD labels
 * (nvidia.com/gpu.product and gpu.memory of the lowest-index GPU, gpu.count =
 * physical GPUs, mig.capable "true"/"false", and mig.strategy "mixed" when a
 * GPU has MIG enabled) set in the given JSON objects, replacing entries of
 * the same keys and keeping the others. Nothing is added when n is 0;
 * gpu.memory is left out when unknown. */
void wf_gpu_node_capacity(const wf_gpu_device *devs, size_t n, json_t *capacity);
void wf_gpu_node_labels(const wf_gpu_device *devs, size_t n, json_t *labels);

/*
 * The allocation pool; takes a copy of devs (UUIDs and resources must be
 * non-empty, UUIDs distinct: -WF_EINVAL otherwise). state_path (may be NULL:
 * nothing persists) is a JSON file of assignments, reloaded here and rewritten
 * atomically (temporary file, fsync, rename, fsync of the directory) on every
 * change. At open, assignments to devices not in devs and malformed entries
 * are dropped, and a file that cannot be parsed is renamed to
 * "<state_path>.corrupt" and the pool starts empty: see
 * wf_gpu_pool_warning. -WF_EIO when the state cannot be written (e.g. its
 * directory is missing) or state_path is not a regular file. All pool
 * functions are thread-safe.
 */
int wf_gpu_pool_open(const wf_gpu_device *devs, size_t n, const char *state_path, wf_gpu_pool **out,
		     wf_err *err);
void wf_gpu_pool_free(wf_gpu_pool *p);
/*
 * What open had to repair in the state file ("dropped 2 assignments to
 * unknown devices", ...), for the agent's log; NULL when nothing. Borrowed
 * until wf_gpu_pool_free.
 */
const char *wf_gpu_pool_warning(wf_gpu_pool *p);
/* Allocate `count` devices of `resource` to owner (e.g. "<pod-uid>/<container>").
 * Idempotent: an owner that already holds devices of that resource gets the
 * same ones back (-WF_ECONFLICT if it holds a different number of them).
 * -WF_ENOENT for an unknown resource, -WF_ECONFLICT when not enough are free
 * (nothing is allocated then), -WF_EINVAL for count 0 or an owner that is
 * empty, longer than 1024 bytes or not printable ASCII, -WF_EIO when the
 * state file cannot be written (the allocation is undone). Free devices are
 * taken lowest index first. out_uuids/out_indices (either may be NULL)
 * receive `count` entries in index order (caller provides arrays). */
int wf_gpu_pool_allocate(wf_gpu_pool *p, const char *owner, const char *resource, size_t count,
			 char (*out_uuids)[96], int *out_indices, wf_err *err);
/* Release everything the owner holds (nothing happens for an unknown owner;
 * a failure to write the state file is not reported: the next change
 * rewrites it). */
void wf_gpu_pool_release(wf_gpu_pool *p, const char *owner);
/* Re-take an assignment found elsewhere (pod annotation) after a restart;
 * 0 when the owner already holds it, -WF_ECONFLICT if a device is held by
 * another owner, -WF_ENOENT for an unknown UUID, -WF_EINVAL for a bad owner,
 * -WF_EIO when the state file cannot be written (nothing is taken). */
int wf_gpu_pool_adopt(wf_gpu_pool *p, const char *owner, const char *uuid, wf_err *err);
/* Owners currently holding devices (for cleanup of deleted pods), sorted,
 * each once. Caller frees each string and the array (*owners is NULL when
 * the count is 0). */
size_t wf_gpu_pool_owners(wf_gpu_pool *p, char ***owners);
/* Free devices of resource (NULL: of every resource). */
size_t wf_gpu_pool_free_count(wf_gpu_pool *p, const char *resource);

#endif
