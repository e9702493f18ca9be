/*
 * wf_hash.h - FNV-1a, the one string hash of the project (hash maps,
 * worker choice, fingerprints, derived ids). Start from the offset basis,
 * or from a previous result to hash several pieces as one.
 */
#ifndef WF_HASH_H
#define WF_HASH_H

#include <stddef.h>
#include <stdint.h>

#define WF_FNV64_BASIS 0xcbf29ce484222325ULL
#define WF_FNV32_BASIS 2166136261u

/* FNV-1a of n bytes at p, continuing from h. */
uint64_t wf_fnv1a64(uint64_t h, const void *p, size_t n);
uint32_t wf_fnv1a32(uint32_t h, const void *p, size_t n);

#endif
