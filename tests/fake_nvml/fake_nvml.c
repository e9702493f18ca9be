/*
 * fake_nvml.c - a stand-in for libnvidia-ml.so.1 exporting the NVML
 * functions Wharf's agent calls, so that the NVML discovery path (dlopen,
 * dlsym, MIG enumeration, error handling) is tested on machines without a GPU.
 * Build: cc -shared -fPIC -o libfake_nvml.so fake_nvml.c
 *
 * Configured by environment variables, read again by every nvmlInit_v2:
 *   FAKE_NVML_GPUS="COUNT:NAME:MEMORY_MIB"  default "1:NVIDIA H100 80GB HBM3:81559"
 *   FAKE_NVML_MIG="GPU:PROFILE,PROFILE;GPU:..."  MIG enabled on those GPUs, one
 *       MIG device per profile ("1g.10gb", "1c.3g.40gb"; "-" leaves a slot
 *       empty) named "<NAME> MIG <PROFILE>"
 *   FAKE_NVML_MIG_PLAIN_NAMES=1   MIG devices are named like their parent, so
 *       the profile must come from nvmlDeviceGetAttributes_v2
 *   FAKE_NVML_MIG_CAPABLE=0       nvmlDeviceGetMigMode is NOT_SUPPORTED
 *   FAKE_NVML_INIT_RC=N           nvmlInit_v2 returns N
 *   FAKE_NVML_LOST_GPU=I          GPU I's handle lookup returns GPU_IS_LOST
 * UUIDs: "GPU-fa4e0000-0000-4000-8000-0000000000II" and
 * "MIG-fa4e00II-00SS-4000-8000-000000000000" (II GPU, SS slot, in hex).
 * State is static (no allocation): at most 16 GPUs and 7 MIG slots each.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef int nvmlReturn_t;
typedef struct fake_dev *nvmlDevice_t;

typedef struct {
	unsigned long long total, free, used;
} nvmlMemory_t;

typedef struct {
	unsigned int multiprocessorCount, sharedCopyEngineCount, sharedDecoderCount,
	    sharedEncoderCount, sharedJpegCount, sharedOfaCount, gpuInstanceSliceCount,
	    computeInstanceSliceCount;
	unsigned long long memorySizeMB;
} nvmlDeviceAttributes_t;

enum {
	OK = 0,
	E_UNINITIALIZED = 1,
	E_INVALID_ARGUMENT = 2,
	E_NOT_SUPPORTED = 3,
	E_NOT_FOUND = 6,
	E_INSUFFICIENT_SIZE = 7,
	E_GPU_IS_LOST = 15,
	E_UNKNOWN = 999,
	MAX_GPUS = 16,
	MAX_MIG = 7,
};

struct fake_dev {
	int used;
	int is_mig;
	char uuid[96];
	char name[96];
	unsigned long long mem_bytes;
	unsigned int gi, ci; /* MIG slices */
	struct fake_dev *migs;
};

static struct fake_dev gpus[MAX_GPUS];
static struct fake_dev migs[MAX_GPUS][MAX_MIG];
static unsigned int ngpus;
static int initialised;
static int mig_capable;
static int lost_gpu;

/* Prototypes: the exported ABI (real nvml.h declares these). */
nvmlReturn_t nvmlInit_v2(void);
nvmlReturn_t nvmlShutdown(void);
const char *nvmlErrorString(nvmlReturn_t rc);
nvmlReturn_t nvmlDeviceGetCount_v2(unsigned int *count);
nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int index, nvmlDevice_t *dev);
nvmlReturn_t nvmlDeviceGetUUID(nvmlDevice_t dev, char *uuid, unsigned int length);
nvmlReturn_t nvmlDeviceGetName(nvmlDevice_t dev, char *name, unsigned int length);
nvmlReturn_t nvmlDeviceGetMemoryInfo(nvmlDevice_t dev, nvmlMemory_t *mem);
nvmlReturn_t nvmlDeviceGetMigMode(nvmlDevice_t dev, unsigned int *current, unsigned int *pending);
nvmlReturn_t nvmlDeviceGetMaxMigDeviceCount(nvmlDevice_t dev, unsigned int *count);
nvmlReturn_t nvmlDeviceGetMigDeviceHandleByIndex(nvmlDevice_t dev, unsigned int index,
						 nvmlDevice_t *mig);
nvmlReturn_t nvmlDeviceGetAttributes_v2(nvmlDevice_t dev, nvmlDeviceAttributes_t *attrs);

static const char *env(const char *name, const char *dflt)
{
	const char *v = getenv(name);
	return v && *v ? v : dflt;
}

/* "1g.10gb" / "1c.3g.40gb" -> slices and a raw size a little under the GB. */
static void parse_profile(struct fake_dev *m, const char *p, unsigned long long parent)
{
	unsigned int c = 0, g = 0, gb = 0;

	if (sscanf(p, "%uc.%ug.%ugb", &c, &g, &gb) != 3) {
		c = 0;
		if (sscanf(p, "%ug.%ugb", &g, &gb) != 2)
			g = gb = 1;
		c = g;
	}
	m->gi = g;
	m->ci = c;
	m->mem_bytes = (unsigned long long)gb * 1024 * 1024 * 1024 / 100 * 96;
	if (m->mem_bytes > parent)
		m->mem_bytes = parent;
}

static void setup_mig(void)
{
	char buf[1024], *save1 = NULL;
	int plain = atoi(env("FAKE_NVML_MIG_PLAIN_NAMES", "0"));

	snprintf(buf, sizeof buf, "%s", env("FAKE_NVML_MIG", ""));
	for (char *grp = strtok_r(buf, ";", &save1); grp; grp = strtok_r(NULL, ";", &save1)) {
		char *colon = strchr(grp, ':'), *save2 = NULL;
		unsigned int gi, slot = 0;

		if (!colon)
			continue;
		*colon = '\0';
		gi = (unsigned int)atoi(grp);
		if (gi >= ngpus)
			continue;
		gpus[gi].migs = migs[gi];
		for (char *p = strtok_r(colon + 1, ",", &save2); p && slot < MAX_MIG;
		     p = strtok_r(NULL, ",", &save2), slot++) {
			struct fake_dev *m = &migs[gi][slot];
			if (strcmp(p, "-") == 0)
				continue;
			m->used = 1;
			m->is_mig = 1;
			snprintf(m->uuid, sizeof m->uuid,
				 "MIG-fa4e00%02x-00%02x-4000-8000-000000000000", gi, slot);
			if (plain)
				snprintf(m->name, sizeof m->name, "%s", gpus[gi].name);
			else
				snprintf(m->name, sizeof m->name, "%.60s MIG %.30s", gpus[gi].name,
					 p);
			parse_profile(m, p, gpus[gi].mem_bytes);
		}
	}
}

nvmlReturn_t nvmlInit_v2(void)
{
	char buf[256], *name, *mem;
	int rc = atoi(env("FAKE_NVML_INIT_RC", "0"));

	if (rc)
		return rc;
	memset(gpus, 0, sizeof gpus);
	memset(migs, 0, sizeof migs);
	snprintf(buf, sizeof buf, "%s", env("FAKE_NVML_GPUS", "1:NVIDIA H100 80GB HBM3:81559"));
	name = strchr(buf, ':');
	mem = name ? strchr(name + 1, ':') : NULL;
	if (name)
		*name++ = '\0';
	if (mem)
		*mem++ = '\0';
	ngpus = (unsigned int)atoi(buf);
	if (ngpus > MAX_GPUS)
		ngpus = MAX_GPUS;
	for (unsigned int i = 0; i < ngpus; i++) {
		gpus[i].used = 1;
		snprintf(gpus[i].uuid, sizeof gpus[i].uuid,
			 "GPU-fa4e0000-0000-4000-8000-0000000000%02x", i);
		snprintf(gpus[i].name, sizeof gpus[i].name, "%s", name ? name : "Fake GPU");
		gpus[i].mem_bytes = (mem ? strtoull(mem, NULL, 10) : 1024) << 20;
	}
	mig_capable = atoi(env("FAKE_NVML_MIG_CAPABLE", "1"));
	lost_gpu = atoi(env("FAKE_NVML_LOST_GPU", "-1"));
	setup_mig();
	initialised++;
	return OK;
}

nvmlReturn_t nvmlShutdown(void)
{
	if (!initialised)
		return E_UNINITIALIZED;
	initialised--;
	return OK;
}

const char *nvmlErrorString(nvmlReturn_t rc)
{
	switch (rc) {
	case OK:
		return "Success";
	case E_UNINITIALIZED:
		return "Uninitialized";
	case E_INVALID_ARGUMENT:
		return "Invalid Argument";
	case E_NOT_SUPPORTED:
		return "Not Supported";
	case E_NOT_FOUND:
		return "Not Found";
	case E_INSUFFICIENT_SIZE:
		return "Insufficient Size";
	case 9:
		return "Driver Not Loaded";
	case E_GPU_IS_LOST:
		return "GPU is lost";
	default:
		return "Unknown Error";
	}
}

nvmlReturn_t nvmlDeviceGetCount_v2(unsigned int *count)
{
	if (!initialised)
		return E_UNINITIALIZED;
	if (!count)
		return E_INVALID_ARGUMENT;
	*count = ngpus;
	return OK;
}

nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int index, nvmlDevice_t *dev)
{
	if (!initialised)
		return E_UNINITIALIZED;
	if (index >= ngpus || !dev)
		return E_INVALID_ARGUMENT;
	if ((int)index == lost_gpu)
		return E_GPU_IS_LOST;
	*dev = &gpus[index];
	return OK;
}

static nvmlReturn_t copy_str(const char *s, char *out, unsigned int length)
{
	if (!out)
		return E_INVALID_ARGUMENT;
	if (strlen(s) + 1 > length)
		return E_INSUFFICIENT_SIZE;
	memcpy(out, s, strlen(s) + 1);
	return OK;
}

nvmlReturn_t nvmlDeviceGetUUID(nvmlDevice_t dev, char *uuid, unsigned int length)
{
	if (!initialised)
		return E_UNINITIALIZED;
	if (!dev || !dev->used)
		return E_INVALID_ARGUMENT;
	return copy_str(dev->uuid, uuid, length);
}

nvmlReturn_t nvmlDeviceGetName(nvmlDevice_t dev, char *name, unsigned int length)
{
	if (!initialised)
		return E_UNINITIALIZED;
	if (!dev || !dev->used)
		return E_INVALID_ARGUMENT;
	return copy_str(dev->name, name, length);
}

nvmlReturn_t nvmlDeviceGetMemoryInfo(nvmlDevice_t dev, nvmlMemory_t *mem)
{
	if (!initialised)
		return E_UNINITIALIZED;
	if (!dev || !dev->used || !mem)
		return E_INVALID_ARGUMENT;
	mem->total = dev->mem_bytes;
	mem->used = dev->mem_bytes / 100;
	mem->free = mem->total - mem->used;
	return OK;
}

nvmlReturn_t nvmlDeviceGetMigMode(nvmlDevice_t dev, unsigned int *current, unsigned int *pending)
{
	if (!initialised)
		return E_UNINITIALIZED;
	if (!dev || !dev->used || !current || !pending)
		return E_INVALID_ARGUMENT;
	if (!mig_capable || dev->is_mig)
		return E_NOT_SUPPORTED;
	*current = *pending = dev->migs != NULL;
	return OK;
}

nvmlReturn_t nvmlDeviceGetMaxMigDeviceCount(nvmlDevice_t dev, unsigned int *count)
{
	if (!initialised)
		return E_UNINITIALIZED;
	if (!dev || !dev->used || !count)
		return E_INVALID_ARGUMENT;
	if (!mig_capable || dev->is_mig)
		return E_NOT_SUPPORTED;
	*count = MAX_MIG;
	return OK;
}

nvmlReturn_t nvmlDeviceGetMigDeviceHandleByIndex(nvmlDevice_t dev, unsigned int index,
						 nvmlDevice_t *mig)
{
	if (!initialised)
		return E_UNINITIALIZED;
	if (!dev || !dev->used || !mig || index >= MAX_MIG)
		return E_INVALID_ARGUMENT;
	if (!dev->migs || !dev->migs[index].used)
		return E_NOT_FOUND;
	*mig = &dev->migs[index];
	return OK;
}

nvmlReturn_t nvmlDeviceGetAttributes_v2(nvmlDevice_t dev, nvmlDeviceAttributes_t *attrs)
{
	if (!initialised)
		return E_UNINITIALIZED;
	if (!dev || !dev->used || !attrs)
		return E_INVALID_ARGUMENT;
	memset(attrs, 0, sizeof *attrs);
	attrs->multiprocessorCount = dev->is_mig ? 16 * dev->ci : 132;
	attrs->gpuInstanceSliceCount = dev->gi;
	attrs->computeInstanceSliceCount = dev->ci;
	attrs->memorySizeMB = dev->mem_bytes >> 20;
	return OK;
}
