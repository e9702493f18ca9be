/*
 * wf_hash.c - FNV-1a in 64 and 32 bits (see wf_hash.h).
 */
#include "lib/wf_hash.h"

uint64_t wf_fnv1a64(uint64_t h, const void *p, size_t n)
{
	const unsigned char *c = p;
	for (size_t i = 0; i < n; i++) {
		h ^= c[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

uint32_t wf_fnv1a32(uint32_t h, const void *p, size_t n)
{
	const unsigned char *c = p;
	for (size_t i = 0; i < n; i++) {
		h ^= c[i];
		h *= 16777619u;
	}
	return h;
}
