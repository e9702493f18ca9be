/*
 * cgroup.c - per-container cgroups on cgroup v1 or v2 (see cgroup.h).
 *
 * Detection runs once and yields an immutable wf_cgroups holding, in
 * fixed-size arrays, the directory "<mount>/wharf" of every hierarchy a
 * container joins: one on v2, and on v1 the cpu, cpuacct and memory
 * hierarchies (co-mounted controllers, same directory, counted once). Since
 * the paths live in the struct and names are checked with plain loops,
 * wf_cgroup_enter builds its paths on the stack after fork() and allocates
 * nothing. The other calls read and write the cgroup files with plain
 * open/read/write: each value is written with a single write(2), as the
 * kernel wants.
 *
 * Invariants: every group name reaching the filesystem passed
 * wf_cgroup_name_valid, so nothing is ever created, written or removed
 * outside "<mount>/wharf"; "wharf" itself is never removed (another
 * container may be about to use it). On v2 the mount root, wharf/ and every
 * inner group of a group this file created have +cpu +memory in their
 * cgroup.subtree_control. Pids read from cgroup.procs are checked to be
 * positive before any kill(2), so a malformed file can never make it
 * signal a process group or every process.
 */
#include "agent/cgroup.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "lib/wf_mem.h"

#define WF__CG_TOP "wharf"
#define WF__CG_PERIOD_US 100000
#define WF__CG_MIN_QUOTA_US 1000    /* the kernel refuses smaller quotas */
#define WF__CG_READ_MAX (16u << 20) /* cgroup.procs of a huge group still fits */
#define WF__CG_KILL_PASSES 64

enum { WF__H_MAX = 3 };

struct wf_cgroups {
	wf_cgroup_mode mode;
	int ndirs;			/* hierarchies a process joins */
	int cpu, cpuacct, memory;	/* index into dirs; -1 when absent */
	char dirs[WF__H_MAX][PATH_MAX]; /* "<mount>/wharf" per hierarchy */
};

/* ---- names and paths (async-signal-safe) ------------------------------ */

static bool wf__name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '_' || c == '-';
}

bool wf_cgroup_name_valid(const char *group)
{
	if (!group || !*group)
		return false;
	const char *comp = group;
	for (const char *p = group;; p++) {
		if ((size_t)(p - group) > WF_CGROUP_NAME_MAX)
			return false;
		if (*p == '/' || *p == '\0') {
			size_t n = (size_t)(p - comp);
			if (n == 0)
				return false;
			if (comp[0] == '.' && (n == 1 || (n == 2 && comp[1] == '.')))
				return false;
			if (*p == '\0')
				return true;
			comp = p + 1;
		} else if (!wf__name_char(*p)) {
			return false;
		}
	}
}

/* Append s to buf (capacity cap) at *n; false when it does not fit. */
static bool wf__put(char *buf, size_t cap, size_t *n, const char *s)
{
	for (; *s; s++) {
		if (*n + 1 >= cap)
			return false;
		buf[(*n)++] = *s;
	}
	buf[*n] = '\0';
	return true;
}

/* buf = dir[/group][/file]; false when it does not fit. */
static bool wf__path(char *buf, size_t cap, const char *dir, const char *group, const char *file)
{
	size_t n = 0;
	if (cap == 0)
		return false;
	buf[0] = '\0';
	if (!wf__put(buf, cap, &n, dir))
		return false;
	if (group && (!wf__put(buf, cap, &n, "/") || !wf__put(buf, cap, &n, group)))
		return false;
	if (file && (!wf__put(buf, cap, &n, "/") || !wf__put(buf, cap, &n, file)))
		return false;
	return true;
}

/* Decimal text of v into buf (at least 21 bytes); returns the length. */
static size_t wf__utoa(char *buf, uint64_t v)
{
	char tmp[24];
	size_t n = 0;
	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	for (size_t i = 0; i < n; i++)
		buf[i] = tmp[n - 1 - i];
	buf[n] = '\0';
	return n;
}

/* Write len bytes of s to path in one write(2). 0 or -errno. */
static int wf__write(const char *path, const char *s, size_t len)
{
	int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t w;
	do {
		w = write(fd, s, len);
	} while (w < 0 && errno == EINTR);
	int e = w < 0 ? errno : ((size_t)w != len ? EIO : 0);
	close(fd);
	return -e;
}

static int wf__map_errno(int neg)
{
	if (neg == -ENOENT)
		return -WF_ENOENT;
	return -WF_EIO;
}

int wf_cgroup_enter(const wf_cgroups *cg, const char *group, pid_t pid)
{
	if (!wf_cgroup_name_valid(group) || pid < 0)
		return -WF_EINVAL;
	if (!cg || cg->mode == WF_CGROUP_NONE)
		return 0;
	char num[24];
	size_t len = wf__utoa(num, (uint64_t)pid);
	for (int i = 0; i < cg->ndirs; i++) {
		char path[PATH_MAX];
		if (!wf__path(path, sizeof(path), cg->dirs[i], group, "cgroup.procs"))
			return -WF_EINVAL;
		int r = wf__write(path, num, len);
		if (r < 0)
			return wf__map_errno(r);
	}
	return 0;
}

/* ---- file reading and parsing ------------------------------------------ */

/* Read the whole file into b (reset first). 0, -errno, or -EFBIG. */
static int wf__read(const char *path, wf_buf *b)
{
	b->len = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int e = 0;
	for (;;) {
		wf_buf_reserve(b, 4096);
		ssize_t r = read(fd, b->data + b->len, b->cap - b->len - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			e = errno;
			break;
		}
		if (r == 0)
			break;
		b->len += (size_t)r;
		if (b->len > WF__CG_READ_MAX) {
			e = EFBIG;
			break;
		}
	}
	b->data[b->len] = '\0';
	close(fd);
	return -e;
}

/* Parse the decimal digits in [s, end) into *out: at least one digit, no
 * sign, no overflow. */
static bool wf__parse_u64(const char *s, const char *end, uint64_t *out)
{
	if (s >= end)
		return false;
	uint64_t v = 0;
	for (; s < end; s++) {
		if (*s < '0' || *s > '9')
			return false;
		unsigned d = (unsigned)(*s - '0');
		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

/* Find the line "key N" in a flat-keyed cgroup file. 0; -ENOENT without
 * such a line; -EBADMSG when its value is not a number. */
static int wf__kv(const char *text, const char *key, uint64_t *out)
{
	size_t klen = strlen(key);
	for (const char *line = text; *line;) {
		const char *eol = strchr(line, '\n');
		if (!eol)
			eol = line + strlen(line);
		if ((size_t)(eol - line) > klen && !strncmp(line, key, klen) && line[klen] == ' ')
			return wf__parse_u64(line + klen + 1, eol, out) ? 0 : -EBADMSG;
		line = *eol ? eol + 1 : eol;
	}
	return -ENOENT;
}

/* A file holding one number (and an optional newline). */
static int wf__single(const char *text, uint64_t *out)
{
	size_t n = strlen(text);
	if (n && text[n - 1] == '\n')
		n--;
	return wf__parse_u64(text, text + n, out) ? 0 : -EBADMSG;
}

/* True when the space-separated list `text` has `word`. */
static bool wf__has_word(const char *text, const char *word)
{
	size_t wl = strlen(word);
	for (const char *p = text; *p;) {
		while (*p == ' ' || *p == '\n' || *p == '\t')
			p++;
		const char *e = p;
		while (*e && *e != ' ' && *e != '\n' && *e != '\t')
			e++;
		if ((size_t)(e - p) == wl && !strncmp(p, word, wl))
			return true;
		p = e;
	}
	return false;
}

static int wf__cmp_pid(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;
	return (x > y) - (x < y);
}

/* Parse cgroup.procs: one positive pid per line. Sorted, deduplicated. */
static int wf__parse_pids(const char *text, pid_t **pids, size_t *n)
{
	size_t cap = 0, cnt = 0;
	pid_t *v = NULL;
	for (const char *line = text; *line;) {
		const char *eol = strchr(line, '\n');
		if (!eol)
			eol = line + strlen(line);
		uint64_t x;
		if (!wf__parse_u64(line, eol, &x) || x == 0 || x > INT_MAX) {
			free(v);
			return -EBADMSG;
		}
		if (cnt == cap) {
			cap = cap ? cap * 2 : 16;
			v = wf_xrealloc(v, cap * sizeof(*v));
		}
		v[cnt++] = (pid_t)x;
		line = *eol ? eol + 1 : eol;
	}
	if (cnt) {
		qsort(v, cnt, sizeof(*v), wf__cmp_pid);
		size_t k = 1;
		for (size_t i = 1; i < cnt; i++)
			if (v[i] != v[k - 1])
				v[k++] = v[i];
		cnt = k;
	}
	*pids = v;
	*n = cnt;
	return 0;
}

/* ---- detection ---------------------------------------------------------- */

static void wf__why(char *why, size_t whylen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void wf__why(char *why, size_t whylen, const char *fmt, ...)
{
	if (!why || whylen == 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
}

/* Make dir/cgroup.subtree_control hold cpu and memory. 0 or -errno. */
static int wf__v2_delegate(const char *dir)
{
	char path[PATH_MAX];
	if (!wf__path(path, sizeof(path), dir, NULL, "cgroup.subtree_control"))
		return -ENAMETOOLONG;
	wf_buf b;
	wf_buf_init(&b);
	int r = wf__read(path, &b);
	if (r == 0) {
		char add[32] = "";
		if (!wf__has_word(b.data, "cpu"))
			strcat(add, "+cpu");
		if (!wf__has_word(b.data, "memory"))
			strcat(add, add[0] ? " +memory" : "+memory");
		if (add[0])
			r = wf__write(path, add, strlen(add));
	}
	wf_buf_free(&b);
	return r;
}

static int wf__mkdir(const char *path)
{
	if (mkdir(path, 0755) == 0)
		return 0;
	if (errno != EEXIST)
		return -errno;
	struct stat st;
	if (stat(path, &st) < 0)
		return -errno;
	return S_ISDIR(st.st_mode) ? -EEXIST : -ENOTDIR;
}

/* Set up <mount>/wharf on a cgroup2 mount. */
static bool wf__v2_setup(wf_cgroups *cg, const char *mount, char *why, size_t whylen)
{
	char path[PATH_MAX];
	wf_buf b;
	wf_buf_init(&b);
	bool ok = false;
	if (!wf__path(path, sizeof(path), mount, NULL, "cgroup.controllers") ||
	    !wf__path(cg->dirs[0], sizeof(cg->dirs[0]), mount, NULL, WF__CG_TOP)) {
		wf__why(why, whylen, "cgroup v2 mount path too long");
		goto out;
	}
	int r = wf__read(path, &b);
	if (r < 0) {
		wf__why(why, whylen, "cannot read %s: %s", path, strerror(-r));
		goto out;
	}
	if (!wf__has_word(b.data, "cpu") || !wf__has_word(b.data, "memory")) {
		wf__why(why, whylen, "cgroup v2 at %s lacks the cpu and memory controllers", mount);
		goto out;
	}
	if ((r = wf__v2_delegate(mount)) < 0) {
		wf__why(why, whylen,
			"cannot enable cpu and memory in %s/cgroup.subtree_control: %s%s", mount,
			strerror(-r),
			r == -EBUSY ? " (processes live in that cgroup; start the agent in a "
				      "delegated subtree)"
				    : "");
		goto out;
	}
	if ((r = wf__mkdir(cg->dirs[0])) < 0 && r != -EEXIST) {
		wf__why(why, whylen, "cannot create %s: %s", cg->dirs[0], strerror(-r));
		goto out;
	}
	if ((r = wf__v2_delegate(cg->dirs[0])) < 0) {
		wf__why(why, whylen,
			"cannot enable cpu and memory in %s/cgroup.subtree_control: %s",
			cg->dirs[0], strerror(-r));
		goto out;
	}
	cg->mode = WF_CGROUP_V2;
	cg->ndirs = 1;
	cg->cpu = cg->cpuacct = cg->memory = 0;
	wf__why(why, whylen, "cgroup v2 at %s", mount);
	ok = true;
out:
	wf_buf_free(&b);
	return ok;
}

/* Set up <mount>/wharf in the v1 cpu, cpuacct (may be NULL) and memory
 * hierarchies, counting a directory shared by co-mounted controllers once. */
static bool wf__v1_setup(wf_cgroups *cg, const char *cpu, const char *cpuacct, const char *memory,
			 char *why, size_t whylen)
{
	const char *mounts[WF__H_MAX] = {cpu, cpuacct, memory};
	int *slot[WF__H_MAX] = {&cg->cpu, &cg->cpuacct, &cg->memory};
	struct stat seen[WF__H_MAX];
	cg->ndirs = 0;
	for (int h = 0; h < WF__H_MAX; h++) {
		*slot[h] = -1;
		if (!mounts[h])
			continue;
		struct stat st;
		if (stat(mounts[h], &st) < 0) {
			wf__why(why, whylen, "cannot use cgroup v1 hierarchy %s: %s", mounts[h],
				strerror(errno));
			return false;
		}
		for (int i = 0; i < cg->ndirs; i++)
			if (seen[i].st_dev == st.st_dev && seen[i].st_ino == st.st_ino)
				*slot[h] = i;
		if (*slot[h] >= 0)
			continue;
		int i = cg->ndirs;
		if (!wf__path(cg->dirs[i], sizeof(cg->dirs[i]), mounts[h], NULL, WF__CG_TOP)) {
			wf__why(why, whylen, "cgroup v1 mount path too long");
			return false;
		}
		int r = wf__mkdir(cg->dirs[i]);
		if (r < 0 && r != -EEXIST) {
			wf__why(why, whylen, "cannot create %s: %s", cg->dirs[i], strerror(-r));
			return false;
		}
		seen[i] = st;
		*slot[h] = i;
		cg->ndirs++;
	}
	cg->mode = WF_CGROUP_V1;
	wf__why(why, whylen, "cgroup v1: cpu at %s, cpuacct at %s, memory at %s", cpu,
		cpuacct ? cpuacct : "(none)", memory);
	return true;
}

static bool wf__is_dir(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Detection from a directory laid out like /sys/fs/cgroup. */
static void wf__detect_root(wf_cgroups *cg, const char *root, char *why, size_t whylen)
{
	char ctl[PATH_MAX], cpu[PATH_MAX], acct[PATH_MAX], mem[PATH_MAX];
	if (!wf__path(ctl, sizeof(ctl), root, NULL, "cgroup.controllers") ||
	    !wf__path(cpu, sizeof(cpu), root, NULL, "cpu") ||
	    !wf__path(acct, sizeof(acct), root, NULL, "cpuacct") ||
	    !wf__path(mem, sizeof(mem), root, NULL, "memory")) {
		wf__why(why, whylen, "cgroup root path too long");
		return;
	}
	if (access(ctl, F_OK) == 0) {
		wf__v2_setup(cg, root, why, whylen);
		return;
	}
	if (wf__is_dir(cpu) && wf__is_dir(mem)) {
		wf__v1_setup(cg, cpu, wf__is_dir(acct) ? acct : NULL, mem, why, whylen);
		return;
	}
	wf__why(why, whylen,
		"no cgroups under %s: neither a cgroup v2 cgroup.controllers nor cgroup v1 "
		"cpu and memory hierarchies",
		root);
}

/* Undo mountinfo's octal escapes (\040 for a space) in place. */
static void wf__unescape(char *s)
{
	char *w = s;
	for (char *r = s; *r;) {
		if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' &&
		    r[3] >= '0' && r[3] <= '7') {
			*w++ = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
			r += 4;
		} else {
			*w++ = *r++;
		}
	}
	*w = '\0';
}

typedef struct wf__mounts {
	char v2[PATH_MAX];	 /* first cgroup2 mount with cpu and memory */
	char v2_other[PATH_MAX]; /* first cgroup2 mount without them */
	char cpu[PATH_MAX], cpuacct[PATH_MAX], memory[PATH_MAX];
} wf__mounts;

static bool wf__v2_has_controllers(const char *mount)
{
	char path[PATH_MAX];
	if (!wf__path(path, sizeof(path), mount, NULL, "cgroup.controllers"))
		return false;
	wf_buf b;
	wf_buf_init(&b);
	bool ok = wf__read(path, &b) == 0 && wf__has_word(b.data, "cpu") &&
		  wf__has_word(b.data, "memory");
	wf_buf_free(&b);
	return ok;
}

/* One mountinfo line: "id parent maj:min root mountpoint opts [optional...]
 * - fstype source superopts". */
static void wf__mountinfo_line(char *line, wf__mounts *m)
{
	char *tok[64];
	int n = 0;
	for (char *save = NULL, *t = strtok_r(line, " \n", &save); t && n < 64;
	     t = strtok_r(NULL, " \n", &save))
		tok[n++] = t;
	int dash = -1;
	for (int i = 6; i < n; i++)
		if (!strcmp(tok[i], "-")) {
			dash = i;
			break;
		}
	if (dash < 0 || dash + 1 >= n)
		return;
	const char *fstype = tok[dash + 1];
	const char *super = dash + 3 < n ? tok[dash + 3] : "";
	char *mp = tok[4];
	wf__unescape(mp);
	if (strlen(mp) >= PATH_MAX)
		return;
	if (!strcmp(fstype, "cgroup2")) {
		if (!m->v2[0] && wf__v2_has_controllers(mp))
			strcpy(m->v2, mp);
		else if (!m->v2_other[0])
			strcpy(m->v2_other, mp);
		return;
	}
	if (strcmp(fstype, "cgroup"))
		return;
	char opts[1024];
	snprintf(opts, sizeof(opts), "%s", super);
	for (char *save = NULL, *o = strtok_r(opts, ",", &save); o;
	     o = strtok_r(NULL, ",", &save)) {
		if (!strcmp(o, "cpu") && !m->cpu[0])
			strcpy(m->cpu, mp);
		else if (!strcmp(o, "cpuacct") && !m->cpuacct[0])
			strcpy(m->cpuacct, mp);
		else if (!strcmp(o, "memory") && !m->memory[0])
			strcpy(m->memory, mp);
	}
}

/* Detection from /proc/self/mountinfo; false when it cannot be read. */
static bool wf__detect_mounts(wf_cgroups *cg, char *why, size_t whylen)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return false;
	wf__mounts *m = wf_xcalloc(1, sizeof(*m));
	char *line = NULL;
	size_t cap = 0;
	while (getline(&line, &cap, f) > 0)
		wf__mountinfo_line(line, m);
	free(line);
	fclose(f);

	if (m->v2[0])
		wf__v2_setup(cg, m->v2, why, whylen);
	else if (m->cpu[0] && m->memory[0])
		wf__v1_setup(cg, m->cpu, m->cpuacct[0] ? m->cpuacct : NULL, m->memory, why, whylen);
	else
		wf__why(why, whylen, "no usable cgroups: %s%s%s; cgroup v1 cpu %s, memory %s",
			m->v2_other[0] ? "cgroup2 at " : "no cgroup2 mount",
			m->v2_other[0] ? m->v2_other : "",
			m->v2_other[0] ? " has no cpu and memory controllers" : "",
			m->cpu[0] ? "mounted" : "not mounted",
			m->memory[0] ? "mounted" : "not mounted");
	free(m);
	return true;
}

wf_cgroups *wf_cgroups_detect(const char *root, char *why, size_t whylen)
{
	wf_cgroups *cg = wf_xcalloc(1, sizeof(*cg));
	cg->cpu = cg->cpuacct = cg->memory = -1;
	wf__why(why, whylen, "no cgroups");
	if (root)
		wf__detect_root(cg, root, why, whylen);
	else if (!wf__detect_mounts(cg, why, whylen))
		wf__detect_root(cg, "/sys/fs/cgroup", why, whylen);
	if (cg->mode == WF_CGROUP_NONE) {
		cg->ndirs = 0;
		cg->cpu = cg->cpuacct = cg->memory = -1;
	}
	return cg;
}

wf_cgroup_mode wf_cgroups_mode(const wf_cgroups *cg)
{
	return cg ? cg->mode : WF_CGROUP_NONE;
}

void wf_cgroups_free(wf_cgroups *cg)
{
	free(cg);
}

int wf_cgroup_path(const wf_cgroups *cg, const char *controller, const char *group, char *buf,
		   size_t len)
{
	if (!wf_cgroup_name_valid(group) || !controller)
		return -WF_EINVAL;
	int h;
	if (!strcmp(controller, "cpu"))
		h = 0;
	else if (!strcmp(controller, "cpuacct"))
		h = 1;
	else if (!strcmp(controller, "memory"))
		h = 2;
	else
		return -WF_EINVAL;
	if (!cg || cg->mode == WF_CGROUP_NONE)
		return -WF_ENOTSUP;
	int i = (int[]){cg->cpu, cg->cpuacct, cg->memory}[h];
	if (i < 0)
		return -WF_ENOTSUP;
	return wf__path(buf, len, cg->dirs[i], group, NULL) ? 0 : -WF_ETOOBIG;
}

/* ---- create and remove -------------------------------------------------- */

typedef struct wf__made {
	char **v;
	size_t n, cap;
} wf__made;

static void wf__made_add(wf__made *m, const char *path)
{
	if (m->n == m->cap) {
		m->cap = m->cap ? m->cap * 2 : 8;
		m->v = wf_xrealloc(m->v, m->cap * sizeof(*m->v));
	}
	m->v[m->n++] = wf_xstrdup(path);
}

/* Remove (when undo) and free the directories, newest first. */
static void wf__made_done(wf__made *m, bool undo)
{
	for (size_t i = m->n; i-- > 0;) {
		if (undo)
			rmdir(m->v[i]);
		free(m->v[i]);
	}
	free(m->v);
}

/* mkdir -p dir/group, below dir (itself created when missing, never
 * recorded); on v2 each inner level delegates cpu and memory. *leaf_made
 * is cleared when dir/group was there already. */
static int wf__mkdirs(const wf_cgroups *cg, const char *dir, const char *group, wf__made *made,
		      bool *leaf_made, char *failed, size_t flen)
{
	char path[PATH_MAX];
	int r = wf__mkdir(dir);
	if (r < 0 && r != -EEXIST) {
		snprintf(failed, flen, "%s", dir);
		return r;
	}
	if (cg->mode == WF_CGROUP_V2 && (r = wf__v2_delegate(dir)) < 0) {
		snprintf(failed, flen, "%s/cgroup.subtree_control", dir);
		return r;
	}
	size_t glen = strlen(group);
	for (size_t i = 0; i <= glen; i++) {
		if (group[i] != '/' && group[i] != '\0')
			continue;
		char prefix[WF_CGROUP_NAME_MAX + 1];
		memcpy(prefix, group, i);
		prefix[i] = '\0';
		if (!wf__path(path, sizeof(path), dir, prefix, NULL)) {
			snprintf(failed, flen, "%s/%s", dir, prefix);
			return -ENAMETOOLONG;
		}
		r = wf__mkdir(path);
		if (r == 0)
			wf__made_add(made, path);
		else if (r == -EEXIST && group[i] == '\0')
			*leaf_made = false;
		else if (r != -EEXIST) {
			snprintf(failed, flen, "%s", path);
			return r;
		}
		if (cg->mode == WF_CGROUP_V2 && group[i] == '/' &&
		    (r = wf__v2_delegate(path)) < 0) {
			snprintf(failed, flen, "%s/cgroup.subtree_control", path);
			return r;
		}
	}
	return 0;
}

/* Write the text s into dir/group/file; on failure name the file. */
static int wf__set(const char *dir, const char *group, const char *file, const char *s,
		   char *failed, size_t flen)
{
	char path[PATH_MAX];
	if (!wf__path(path, sizeof(path), dir, group, file)) {
		snprintf(failed, flen, "%s/%s/%s", dir, group, file);
		return -ENAMETOOLONG;
	}
	int r = wf__write(path, s, strlen(s));
	if (r < 0)
		snprintf(failed, flen, "%s", path);
	return r;
}

static bool wf__exists(const char *dir, const char *group, const char *file)
{
	char path[PATH_MAX];
	return wf__path(path, sizeof(path), dir, group, file) && access(path, F_OK) == 0;
}

/* Limits on v1. A group just made already has the kernel's defaults (a
 * 100 ms period, no quota, no memory limit): `fresh` skips writing them. */
static int wf__limits_v1(const wf_cgroups *cg, const char *group, int64_t quota, int64_t mem,
			 bool fresh, char *failed, size_t flen)
{
	char v[32];
	const char *cdir = cg->dirs[cg->cpu], *mdir = cg->dirs[cg->memory];
	int r;
	if (!fresh || quota) {
		snprintf(v, sizeof(v), "%d", WF__CG_PERIOD_US);
		if ((r = wf__set(cdir, group, "cpu.cfs_period_us", v, failed, flen)) < 0)
			return r;
		snprintf(v, sizeof(v), "%lld", quota ? (long long)quota : -1LL);
		if ((r = wf__set(cdir, group, "cpu.cfs_quota_us", v, failed, flen)) < 0)
			return r;
	}
	if (fresh && !mem)
		return 0;

	/* memsw (memory + swap) may never be below the memory limit: lowering
	 * goes memory first, raising memsw first; try the one, then the other. */
	snprintf(v, sizeof(v), "%lld", mem ? (long long)mem : -1LL);
	bool memsw = wf__exists(mdir, group, "memory.memsw.limit_in_bytes");
	r = wf__set(mdir, group, "memory.limit_in_bytes", v, failed, flen);
	if (r == -EINVAL && memsw) {
		if ((r = wf__set(mdir, group, "memory.memsw.limit_in_bytes", v, failed, flen)) < 0)
			return r;
		return wf__set(mdir, group, "memory.limit_in_bytes", v, failed, flen);
	}
	if (r == 0 && memsw)
		r = wf__set(mdir, group, "memory.memsw.limit_in_bytes", v, failed, flen);
	return r;
}

static int wf__limits_v2(const wf_cgroups *cg, const char *group, int64_t quota, int64_t mem,
			 char *failed, size_t flen)
{
	char v[48];
	const char *dir = cg->dirs[0];
	if (quota)
		snprintf(v, sizeof(v), "%lld %d", (long long)quota, WF__CG_PERIOD_US);
	else
		snprintf(v, sizeof(v), "max %d", WF__CG_PERIOD_US);
	int r = wf__set(dir, group, "cpu.max", v, failed, flen);
	if (r < 0)
		return r;
	if (mem)
		snprintf(v, sizeof(v), "%lld", (long long)mem);
	else
		snprintf(v, sizeof(v), "max");
	if ((r = wf__set(dir, group, "memory.max", v, failed, flen)) < 0)
		return r;
	if (wf__exists(dir, group, "memory.swap.max") &&
	    (r = wf__set(dir, group, "memory.swap.max", "0", failed, flen)) < 0)
		return r;
	if (wf__exists(dir, group, "memory.oom.group") &&
	    (r = wf__set(dir, group, "memory.oom.group", "1", failed, flen)) < 0)
		return r;
	return 0;
}

int wf_cgroup_create(wf_cgroups *cg, const char *group, const wf_cgroup_limits *lim, wf_err *err)
{
	if (!wf_cgroup_name_valid(group))
		return wf_err_set(err, WF_EINVAL, "invalid cgroup name \"%.*s\"", 300,
				  group ? group : "(null)");
	int64_t milli = lim ? lim->cpu_milli : 0, mem = lim ? lim->memory_bytes : 0;
	if (milli < 0 || mem < 0 || milli > INT64_MAX / 100)
		return wf_err_set(err, WF_EINVAL, "invalid cgroup limits: cpu %lldm, memory %lld",
				  (long long)milli, (long long)mem);
	if (!cg || cg->mode == WF_CGROUP_NONE)
		return 0;
	int64_t quota = milli * 100;
	if (milli && quota < WF__CG_MIN_QUOTA_US)
		quota = WF__CG_MIN_QUOTA_US;

	wf__made made = {0};
	char failed[PATH_MAX + 64] = "";
	int r = 0;
	bool fresh = true;
	for (int i = 0; i < cg->ndirs && r == 0; i++)
		r = wf__mkdirs(cg, cg->dirs[i], group, &made, &fresh, failed, sizeof(failed));
	if (r == 0 && cg->mode == WF_CGROUP_V1)
		r = wf__limits_v1(cg, group, quota, mem, fresh, failed, sizeof(failed));
	else if (r == 0)
		r = wf__limits_v2(cg, group, quota, mem, failed, sizeof(failed));
	wf__made_done(&made, r < 0);
	if (r < 0)
		return wf_err_set(err, WF_EIO, "cgroup %s: %s", failed, strerror(-r));
	return 0;
}

int wf_cgroup_remove(wf_cgroups *cg, const char *group, wf_err *err)
{
	if (!wf_cgroup_name_valid(group))
		return wf_err_set(err, WF_EINVAL, "invalid cgroup name \"%.*s\"", 300,
				  group ? group : "(null)");
	if (!cg || cg->mode == WF_CGROUP_NONE)
		return 0;
	int ret = 0;
	for (int i = 0; i < cg->ndirs; i++) {
		char path[PATH_MAX];
		if (!wf__path(path, sizeof(path), cg->dirs[i], group, NULL))
			return wf_err_set(err, WF_EINVAL, "cgroup path too long");
		if (rmdir(path) < 0 && errno != ENOENT) {
			int e = errno;
			if (ret == 0)
				ret = wf_err_set(err, WF_EIO, "cannot remove cgroup %s: %s", path,
						 e == EBUSY || e == ENOTEMPTY
						     ? "it still holds processes or groups"
						     : strerror(e));
			continue;
		}
		/* Parents left empty go too; one still holding a sibling stops it. */
		size_t base = strlen(cg->dirs[i]);
		for (char *slash = strrchr(path, '/'); slash && (size_t)(slash - path) > base;
		     slash = strrchr(path, '/')) {
			*slash = '\0';
			if (rmdir(path) < 0)
				break;
		}
	}
	return ret;
}

/* ---- reading a group ---------------------------------------------------- */

/* Read dir/group/file. 0, or a negative WF_E* code. */
static int wf__read_group(const char *dir, const char *group, const char *file, wf_buf *b)
{
	char path[PATH_MAX];
	if (!wf__path(path, sizeof(path), dir, group, file))
		return -WF_EINVAL;
	int r = wf__read(path, b);
	return r < 0 ? wf__map_errno(r) : 0;
}

int wf_cgroup_oom_kills(const wf_cgroups *cg, const char *group, uint64_t *out)
{
	if (!wf_cgroup_name_valid(group))
		return -WF_EINVAL;
	if (!cg || cg->mode == WF_CGROUP_NONE)
		return -WF_ENOTSUP;
	bool v2 = cg->mode == WF_CGROUP_V2;
	wf_buf b;
	wf_buf_init(&b);
	int r = wf__read_group(cg->dirs[cg->memory], group,
			       v2 ? "memory.events" : "memory.oom_control", &b);
	if (r == 0) {
		r = wf__kv(b.data, "oom_kill", out);
		if (r == -ENOENT)
			r = -WF_ENOTSUP;
		else if (r < 0)
			r = -WF_EIO;
	}
	wf_buf_free(&b);
	return r;
}

/* Read an optional counter: missing reads 0, garbage is an error. */
static int wf__counter(const char *text, const char *key, uint64_t *out)
{
	int r = wf__kv(text, key, out);
	if (r == -ENOENT) {
		*out = 0;
		return 0;
	}
	return r < 0 ? -WF_EIO : 0;
}

int wf_cgroup_cpu_stat(const wf_cgroups *cg, const char *group, struct wf_cgroup_cpu_stat *out)
{
	if (!wf_cgroup_name_valid(group))
		return -WF_EINVAL;
	if (!cg || cg->mode == WF_CGROUP_NONE)
		return -WF_ENOTSUP;
	struct wf_cgroup_cpu_stat s = {0};
	wf_buf b;
	wf_buf_init(&b);
	int r = wf__read_group(cg->dirs[cg->cpu], group, "cpu.stat", &b);
	if (r < 0)
		goto out;
	if ((r = wf__counter(b.data, "nr_periods", &s.periods)) < 0 ||
	    (r = wf__counter(b.data, "nr_throttled", &s.throttled_periods)) < 0)
		goto out;
	if (cg->mode == WF_CGROUP_V2) {
		if ((r = wf__counter(b.data, "throttled_usec", &s.throttled_usec)) < 0 ||
		    (r = wf__counter(b.data, "usage_usec", &s.usage_usec)) < 0)
			goto out;
	} else {
		uint64_t ns;
		if ((r = wf__counter(b.data, "throttled_time", &ns)) < 0)
			goto out;
		s.throttled_usec = ns / 1000;
		if (cg->cpuacct >= 0) {
			r = wf__read_group(cg->dirs[cg->cpuacct], group, "cpuacct.usage", &b);
			if (r < 0)
				goto out;
			if (wf__single(b.data, &ns) < 0) {
				r = -WF_EIO;
				goto out;
			}
			s.usage_usec = ns / 1000;
		}
	}
	*out = s;
out:
	wf_buf_free(&b);
	return r;
}

int wf_cgroup_pids(const wf_cgroups *cg, const char *group, pid_t **pids, size_t *n)
{
	if (!wf_cgroup_name_valid(group))
		return -WF_EINVAL;
	if (!cg || cg->mode == WF_CGROUP_NONE)
		return -WF_ENOTSUP;
	wf_buf b;
	wf_buf_init(&b);
	int r = wf__read_group(cg->dirs[cg->memory], group, "cgroup.procs", &b);
	if (r == 0 && wf__parse_pids(b.data, pids, n) < 0)
		r = -WF_EIO;
	wf_buf_free(&b);
	return r;
}

int wf_cgroup_kill(const wf_cgroups *cg, const char *group, int sig)
{
	if (!wf_cgroup_name_valid(group) || sig < 0 || sig >= NSIG)
		return -WF_EINVAL;
	if (!cg || cg->mode == WF_CGROUP_NONE)
		return -WF_ENOTSUP;
	const char *dir = cg->dirs[cg->memory];
	if (cg->mode == WF_CGROUP_V2 && sig == SIGKILL && wf__exists(dir, group, "cgroup.kill")) {
		char path[PATH_MAX];
		if (!wf__path(path, sizeof(path), dir, group, "cgroup.kill"))
			return -WF_EINVAL;
		int r = wf__write(path, "1", 1);
		if (r == 0 || r == -ENOENT)
			return r == 0 ? 0 : -WF_ENOENT;
	}
	pid_t *done = NULL; /* signalled so far, sorted */
	size_t ndone = 0, cap = 0;
	int r = 0;
	for (int pass = 0; pass < WF__CG_KILL_PASSES; pass++) {
		pid_t *pids;
		size_t n;
		if ((r = wf_cgroup_pids(cg, group, &pids, &n)) < 0)
			break;
		size_t fresh = 0;
		for (size_t i = 0; i < n; i++) {
			if (ndone && bsearch(&pids[i], done, ndone, sizeof(*done), wf__cmp_pid))
				continue;
			kill(pids[i], sig); /* a process gone meanwhile is fine */
			if (ndone == cap) {
				cap = cap ? cap * 2 : 16;
				done = wf_xrealloc(done, cap * sizeof(*done));
			}
			done[ndone++] = pids[i];
			fresh++;
		}
		free(pids);
		if (!fresh)
			break;
		qsort(done, ndone, sizeof(*done), wf__cmp_pid);
	}
	free(done);
	return r;
}
