/*
 * patch_merge.c - RFC 7386 JSON merge patch.
 *
 * The target is deep-copied once and the patch applied to that private copy
 * in place; every value taken from the patch is deep-copied too, so the
 * result shares nothing with either input.
 */
#include "api/patch.h"

#include <stdlib.h>

static json_t *wf__merge_copy(const json_t *v)
{
	json_t *c = json_deep_copy(v);
	if (!c)
		abort(); /* jansson fails only when out of memory */
	return c;
}

/* Merge the object `patch` into the object `dst` (ours to change). */
static void wf__merge_into(json_t *dst, const json_t *patch)
{
	const char *key;
	size_t klen;
	json_t *pv;

	json_object_keylen_foreach((json_t *)patch, key, klen, pv)
	{
		if (json_is_null(pv)) {
			json_object_deln(dst, key, klen);
			continue;
		}
		if (!json_is_object(pv)) {
			json_object_setn_new_nocheck(dst, key, klen, wf__merge_copy(pv));
			continue;
		}
		json_t *cur = json_object_getn(dst, key, klen);
		if (json_is_object(cur)) {
			wf__merge_into(cur, pv);
		} else {
			json_t *fresh = json_object();
			if (!fresh)
				abort();
			wf__merge_into(fresh, pv);
			json_object_setn_new_nocheck(dst, key, klen, fresh);
		}
	}
}

json_t *wf_merge_patch(const json_t *target, const json_t *patch)
{
	if (!patch)
		return NULL;
	if (!json_is_object(patch))
		return wf__merge_copy(patch);
	json_t *res = json_is_object(target) ? wf__merge_copy(target) : json_object();
	if (!res)
		abort();
	wf__merge_into(res, patch);
	return res;
}
