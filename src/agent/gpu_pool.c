/*
 * gpu_pool.c - exclusive allocation of the node's GPUs to containers, and
 * the state file that carries the assignments across agent restarts.
 *
 * Invariants (under the pool's mutex): every device has at most one owner;
 * an owner's devices of one resource were granted by one allocate (or
 * adopted one by one); when a state file is configured, every change that was
 * reported as done is on disk (written to "<path>.tmp", fsynced, renamed over
 * the file, directory fsynced), so a crash leaves either the old or the new
 * assignments, never a mix. A change that cannot be written is undone, except
 * for release, where keeping a dead owner would only strand devices until the
 * next write.
 *
 * The file: {"version": 1, "assignments": {"<uuid>": "<owner>", ...}}.
 */
#include "agent/gpu.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/wf_mem.h"

#define WF__POOL_STATE_VERSION 1
#define WF__POOL_OWNER_MAX 1024
#define WF__POOL_STATE_MAX (16 << 20)

struct wf__slot {
	wf_gpu_device dev;
	char *owner; /* NULL when free */
	size_t pos;  /* in the caller's list, to keep the sort stable */
};

struct wf_gpu_pool {
	pthread_mutex_t mu;
	struct wf__slot *slots; /* sorted by index */
	size_t n;
	char *state_path; /* NULL: nothing persists */
	char *warning;	  /* what open repaired; immutable after open */
};

static bool wf__printable(const char *s, size_t max)
{
	size_t len = 0;

	if (!s || !*s)
		return false;
	for (; s[len]; len++)
		if (len >= max || (unsigned char)s[len] < 0x21 || (unsigned char)s[len] > 0x7e)
			return false;
	return true;
}

static int wf__check_owner(const char *owner, wf_err *err)
{
	if (!wf__printable(owner, WF__POOL_OWNER_MAX))
		return wf_err_set(err, WF_EINVAL,
				  "GPU owner must be 1 to %d printable ASCII characters without "
				  "spaces",
				  WF__POOL_OWNER_MAX);
	return 0;
}

static int wf__slot_cmp(const void *a, const void *b)
{
	const struct wf__slot *x = a, *y = b;

	if (x->dev.index != y->dev.index)
		return x->dev.index < y->dev.index ? -1 : 1;
	return x->pos < y->pos ? -1 : x->pos > y->pos;
}

static struct wf__slot *wf__find_uuid(wf_gpu_pool *p, const char *uuid)
{
	for (size_t i = 0; i < p->n; i++)
		if (strcmp(p->slots[i].dev.uuid, uuid) == 0)
			return &p->slots[i];
	return NULL;
}

/* ---- the state file ------------------------------------------------------ */

static int wf__fsync_dir(const char *path)
{
	char *copy = wf_xstrdup(path);
	int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int ret = 0, saved;

	if (fd < 0 || fsync(fd) != 0)
		ret = -1;
	saved = errno;
	if (fd >= 0)
		close(fd);
	free(copy);
	errno = saved;
	return ret;
}

static int wf__write_atomic(const char *path, const char *data, size_t len, wf_err *err)
{
	char *tmp = wf_xasprintf("%s.tmp", path);
	const char *step = "create", *file = tmp;
	size_t off = 0;
	int fd, saved, ret = 0;

	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		goto fail;
	step = "write";
	while (off < len) {
		ssize_t w = write(fd, data + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w == 0)
			errno = EIO;
		if (w <= 0)
			goto fail_close;
		off += (size_t)w;
	}
	step = "fsync";
	if (fsync(fd) != 0)
		goto fail_close;
	step = "close";
	if (close(fd) != 0)
		goto fail_unlink;
	step = "rename into place";
	if (rename(tmp, path) != 0)
		goto fail_unlink;
	step = "fsync the directory of";
	file = path;
	if (wf__fsync_dir(path) != 0)
		goto fail;
	goto out;

fail_close:
	saved = errno;
	close(fd);
	errno = saved;
fail_unlink:
	saved = errno;
	unlink(tmp);
	errno = saved;
fail:
	ret =
	    wf_err_set(err, WF_EIO, "cannot %s GPU state file %s: %s", step, file, strerror(errno));
out:
	free(tmp);
	return ret;
}

static int wf__pool_save(wf_gpu_pool *p, wf_err *err)
{
	json_t *root, *asg;
	char *text;
	int ret;

	if (!p->state_path)
		return 0;
	asg = json_object();
	for (size_t i = 0; i < p->n; i++)
		if (p->slots[i].owner)
			json_object_set_new(asg, p->slots[i].dev.uuid,
					    json_string(p->slots[i].owner));
	root = json_pack("{s:i, s:o}", "version", WF__POOL_STATE_VERSION, "assignments", asg);
	text = json_dumps(root, JSON_SORT_KEYS | JSON_INDENT(1));
	json_decref(root);
	if (!text)
		return wf_err_set(err, WF_ENOMEM, "cannot encode the GPU state");
	ret = wf__write_atomic(p->state_path, text, strlen(text), err);
	free(text);
	return ret;
}

/* Move an unreadable state file aside so that it can be looked at later. */
static int wf__pool_quarantine(wf_gpu_pool *p, wf_buf *warn, const char *why, wf_err *err)
{
	char *aside = wf_xasprintf("%s.corrupt", p->state_path);
	int ret = 0;

	if (rename(p->state_path, aside) != 0)
		ret = wf_err_set(err, WF_EIO,
				 "GPU state file %s is corrupt (%s) and cannot be "
				 "moved aside: %s",
				 p->state_path, why, strerror(errno));
	else
		wf_buf_printf(warn,
			      "GPU state file %s was corrupt (%s): moved to %s, starting with "
			      "no assignments; ",
			      p->state_path, why, aside);
	free(aside);
	return ret;
}

static int wf__pool_load(wf_gpu_pool *p, wf_buf *warn, wf_err *err)
{
	size_t bad = 0, unknown = 0;
	json_error_t jerr;
	json_t *root, *asg, *version, *owner;
	const char *uuid;
	struct stat st;
	char why[256];

	if (stat(p->state_path, &st) != 0) {
		if (errno == ENOENT)
			return 0;
		return wf_err_set(err, WF_EIO, "cannot read GPU state file %s: %s", p->state_path,
				  strerror(errno));
	}
	if (!S_ISREG(st.st_mode))
		return wf_err_set(err, WF_EIO, "GPU state file %s is not a regular file",
				  p->state_path);
	if (st.st_size > WF__POOL_STATE_MAX) {
		snprintf(why, sizeof why, "%lld bytes, over the %d limit", (long long)st.st_size,
			 WF__POOL_STATE_MAX);
		return wf__pool_quarantine(p, warn, why, err);
	}
	root = json_load_file(p->state_path, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		snprintf(why, sizeof why, "line %d: %s", jerr.line, jerr.text);
		return wf__pool_quarantine(p, warn, why, err);
	}
	version = json_object_get(root, "version");
	asg = json_object_get(root, "assignments");
	if (!json_is_object(root) || !json_is_integer(version) ||
	    json_integer_value(version) != WF__POOL_STATE_VERSION || !json_is_object(asg)) {
		json_decref(root);
		return wf__pool_quarantine(
		    p, warn, "not a version 1 object with an \"assignments\" object", err);
	}
	json_object_foreach(asg, uuid, owner)
	{
		struct wf__slot *s;

		if (!json_is_string(owner) ||
		    !wf__printable(json_string_value(owner), WF__POOL_OWNER_MAX)) {
			bad++;
			continue;
		}
		s = wf__find_uuid(p, uuid);
		if (!s) {
			unknown++;
			continue;
		}
		s->owner = wf_xstrdup(json_string_value(owner));
	}
	json_decref(root);
	if (unknown)
		wf_buf_printf(warn, "dropped %zu assignments to devices this node no longer has; ",
			      unknown);
	if (bad)
		wf_buf_printf(warn, "dropped %zu malformed assignments; ", bad);
	return 0;
}

/* ---- the pool ------------------------------------------------------------ */

static void wf__pool_destroy(wf_gpu_pool *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->slots[i].owner);
	free(p->slots);
	free(p->state_path);
	free(p->warning);
	free(p);
}

int wf_gpu_pool_open(const wf_gpu_device *devs, size_t n, const char *state_path, wf_gpu_pool **out,
		     wf_err *err)
{
	wf_gpu_pool *p;
	wf_buf warn;
	int ret;

	*out = NULL;
	for (size_t i = 0; i < n; i++) {
		if (!devs[i].resource[0] || !memchr(devs[i].resource, 0, sizeof devs[i].resource))
			return wf_err_set(err, WF_EINVAL, "GPU device %zu has no resource name", i);
		if (!memchr(devs[i].uuid, 0, sizeof devs[i].uuid) ||
		    !wf__printable(devs[i].uuid, sizeof devs[i].uuid))
			return wf_err_set(err, WF_EINVAL,
					  "GPU device %zu has no UUID or a malformed one", i);
		for (size_t j = 0; j < i; j++)
			if (strcmp(devs[i].uuid, devs[j].uuid) == 0)
				return wf_err_set(err, WF_EINVAL,
						  "GPU devices %zu and %zu share UUID %s", j, i,
						  devs[i].uuid);
	}
	if (state_path && !*state_path)
		return wf_err_set(err, WF_EINVAL, "GPU state file path is empty");

	p = wf_xcalloc(1, sizeof *p);
	p->slots = wf_xcalloc(n, sizeof *p->slots);
	p->n = n;
	for (size_t i = 0; i < n; i++) {
		p->slots[i].dev = devs[i];
		p->slots[i].pos = i;
	}
	if (n)
		qsort(p->slots, n, sizeof *p->slots, wf__slot_cmp);
	if (state_path) {
		p->state_path = wf_xstrdup(state_path);
		wf_buf_init(&warn);
		ret = wf__pool_load(p, &warn, err);
		if (!ret)
			ret = wf__pool_save(p, err);
		if (warn.len >= 2) {
			warn.data[warn.len - 2] = '\0'; /* the last "; " */
			p->warning = wf_buf_steal(&warn);
		}
		wf_buf_free(&warn);
		if (ret)
			goto fail_destroy;
	}
	if (pthread_mutex_init(&p->mu, NULL) != 0) {
		ret = wf_err_set(err, WF_ENOMEM, "cannot create the GPU pool's mutex");
		goto fail_destroy;
	}
	*out = p;
	return 0;

fail_destroy:
	wf__pool_destroy(p);
	return ret;
}

void wf_gpu_pool_free(wf_gpu_pool *p)
{
	if (!p)
		return;
	pthread_mutex_destroy(&p->mu);
	wf__pool_destroy(p);
}

const char *wf_gpu_pool_warning(wf_gpu_pool *p)
{
	return p->warning;
}

static void wf__fill(const struct wf__slot *s, size_t k, char (*out_uuids)[96], int *out_indices)
{
	if (out_uuids)
		memcpy(out_uuids[k], s->dev.uuid, sizeof out_uuids[k]);
	if (out_indices)
		out_indices[k] = s->dev.index;
}

int wf_gpu_pool_allocate(wf_gpu_pool *p, const char *owner, const char *resource, size_t count,
			 char (*out_uuids)[96], int *out_indices, wf_err *err)
{
	size_t total = 0, held = 0, nfree = 0, k = 0;
	int ret;

	ret = wf__check_owner(owner, err);
	if (ret)
		return ret;
	if (!resource || !*resource)
		return wf_err_set(err, WF_EINVAL, "GPU resource name is empty");
	if (!count)
		return wf_err_set(err, WF_EINVAL, "cannot allocate 0 of %s", resource);

	pthread_mutex_lock(&p->mu);
	for (size_t i = 0; i < p->n; i++) {
		const struct wf__slot *s = &p->slots[i];
		if (strcmp(s->dev.resource, resource) != 0)
			continue;
		total++;
		nfree += !s->owner;
		held += s->owner && strcmp(s->owner, owner) == 0;
	}
	if (!total) {
		ret = wf_err_set(err, WF_ENOENT, "this node has no %s", resource);
	} else if (held && held != count) {
		ret = wf_err_set(err, WF_ECONFLICT, "%s already holds %zu %s, not %zu", owner, held,
				 resource, count);
	} else if (held) {
		for (size_t i = 0; i < p->n; i++) {
			const struct wf__slot *s = &p->slots[i];
			if (s->owner && strcmp(s->dev.resource, resource) == 0 &&
			    strcmp(s->owner, owner) == 0)
				wf__fill(s, k++, out_uuids, out_indices);
		}
	} else if (count > total) {
		ret = wf_err_set(err, WF_ECONFLICT, "%zu %s requested, this node has only %zu",
				 count, resource, total);
	} else if (count > nfree) {
		ret = wf_err_set(err, WF_ECONFLICT, "%zu %s requested, only %zu of %zu are free",
				 count, resource, nfree, total);
	} else {
		for (size_t i = 0; i < p->n && k < count; i++) {
			struct wf__slot *s = &p->slots[i];
			if (!s->owner && strcmp(s->dev.resource, resource) == 0) {
				s->owner = wf_xstrdup(owner);
				wf__fill(s, k++, out_uuids, out_indices);
			}
		}
		ret = wf__pool_save(p, err);
		if (ret) {
			for (size_t i = 0, undone = 0; i < p->n && undone < count; i++) {
				struct wf__slot *s = &p->slots[i];
				if (s->owner && strcmp(s->dev.resource, resource) == 0 &&
				    strcmp(s->owner, owner) == 0) {
					free(s->owner);
					s->owner = NULL;
					undone++;
				}
			}
		}
	}
	pthread_mutex_unlock(&p->mu);
	return ret;
}

void wf_gpu_pool_release(wf_gpu_pool *p, const char *owner)
{
	bool changed = false;

	if (!owner)
		return;
	pthread_mutex_lock(&p->mu);
	for (size_t i = 0; i < p->n; i++) {
		struct wf__slot *s = &p->slots[i];
		if (s->owner && strcmp(s->owner, owner) == 0) {
			free(s->owner);
			s->owner = NULL;
			changed = true;
		}
	}
	if (changed)
		wf__pool_save(p, NULL);
	pthread_mutex_unlock(&p->mu);
}

int wf_gpu_pool_adopt(wf_gpu_pool *p, const char *owner, const char *uuid, wf_err *err)
{
	struct wf__slot *s;
	int ret;

	ret = wf__check_owner(owner, err);
	if (ret)
		return ret;
	if (!uuid)
		return wf_err_set(err, WF_EINVAL, "GPU UUID is missing");
	pthread_mutex_lock(&p->mu);
	s = wf__find_uuid(p, uuid);
	if (!s) {
		ret = wf_err_set(err, WF_ENOENT, "this node has no GPU %.96s", uuid);
	} else if (s->owner && strcmp(s->owner, owner) != 0) {
		ret = wf_err_set(err, WF_ECONFLICT, "GPU %s is held by %.200s", uuid, s->owner);
	} else if (!s->owner) {
		s->owner = wf_xstrdup(owner);
		ret = wf__pool_save(p, err);
		if (ret) {
			free(s->owner);
			s->owner = NULL;
		}
	}
	pthread_mutex_unlock(&p->mu);
	return ret;
}

static int wf__strp_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

size_t wf_gpu_pool_owners(wf_gpu_pool *p, char ***owners)
{
	char **v = NULL;
	size_t k = 0, out = 0;

	pthread_mutex_lock(&p->mu);
	for (size_t i = 0; i < p->n; i++)
		k += p->slots[i].owner != NULL;
	if (k) {
		v = wf_xcalloc(k, sizeof *v);
		k = 0;
		for (size_t i = 0; i < p->n; i++)
			if (p->slots[i].owner)
				v[k++] = wf_xstrdup(p->slots[i].owner);
	}
	pthread_mutex_unlock(&p->mu);
	if (k)
		qsort(v, k, sizeof *v, wf__strp_cmp);
	for (size_t i = 0; i < k; i++) {
		if (out && strcmp(v[out - 1], v[i]) == 0)
			free(v[i]);
		else
			v[out++] = v[i];
	}
	*owners = v;
	return out;
}

size_t wf_gpu_pool_free_count(wf_gpu_pool *p, const char *resource)
{
	size_t k = 0;

	pthread_mutex_lock(&p->mu);
	for (size_t i = 0; i < p->n; i++)
		k += !p->slots[i].owner &&
		     (!resource || strcmp(p->slots[i].dev.resource, resource) == 0);
	pthread_mutex_unlock(&p->mu);
	return k;
}
