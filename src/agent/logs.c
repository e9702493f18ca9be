/*
 * logs.c - CRI log records: parsing, formatting, and the readers behind
 * `kubectl logs` (tail, since, timestamps, limit-bytes, follow).
 *
 * A read is two passes over at most two files (path.1 then path, seen as
 * one stream of "segments"):
 *   1. tail: scan backwards in WF__BLOCK blocks, counting F records (each
 *      ends one line), to find the boundary (the cut) after which the last
 *      N lines end; then walk back a bounded distance to a boundary where
 *      neither stream has a line half-written, so that a line of the other
 *      stream straddling the cut is read whole. Only record headers are
 *      looked at.
 *   2. forward: stream records from there in blocks, join P fragments per
 *      stream, drop lines that end before the cut, filter by time, format,
 *      and stop at the byte limit. Memory is bounded by the block,
 *      WF_LOG_RECORD_MAX and WF_LOG_LINE_MAX, never by the file.
 * The forward pass also finds the cursor a follower needs: the last record
 * boundary where neither stream has a line half-read (resume point) and the
 * end of the last record read (everything up to it was output).
 */
#include "agent/logs.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/wf_time.h"

#define WF__BLOCK (64 * 1024)
#define WF__HDR_MAX 128 /* bytes of a record enough to parse its header */
#define WF__TS_MAX 39
#define WF__TAG_MAX 32

/* ------------------------------------------------------------------ */
/* Records and time                                                   */

bool wf_log_parse_record(const char *line, size_t len, wf_log_record *r)
{
	const char *sp = memchr(line, ' ', len);
	if (!sp)
		return false;
	size_t tl = (size_t)(sp - line);
	if (tl < 20 || tl > WF__TS_MAX || memchr(line, '\0', tl))
		return false;
	char ts[WF__TS_MAX + 1];
	memcpy(ts, line, tl);
	ts[tl] = '\0';
	time_t sec;
	if (wf_time_parse_rfc3339(ts, &sec) < 0)
		return false;
	int32_t nsec = 0;
	if (ts[19] == '.') {
		int digits = 0;
		for (const char *p = ts + 20; *p >= '0' && *p <= '9'; p++) {
			if (digits < 9) {
				nsec = nsec * 10 + (*p - '0');
				digits++;
			}
		}
		for (; digits < 9; digits++)
			nsec *= 10;
	}

	const char *p = sp + 1;
	size_t left = len - tl - 1;
	if (left < 7 || p[6] != ' ')
		return false;
	if (!memcmp(p, "stdout", 6))
		r->is_stderr = false;
	else if (!memcmp(p, "stderr", 6))
		r->is_stderr = true;
	else
		return false;
	p += 7;
	left -= 7;

	const char *tag_end = memchr(p, ' ', left);
	size_t tag_len = tag_end ? (size_t)(tag_end - p) : left;
	if (tag_len == 0 || tag_len > WF__TAG_MAX || (p[0] != 'F' && p[0] != 'P') ||
	    (tag_len > 1 && p[1] != ':'))
		return false;
	r->partial = p[0] == 'P';
	r->sec = (int64_t)sec;
	r->nsec = nsec;
	if (tag_end) {
		r->text = tag_end + 1;
		r->len = left - tag_len - 1;
	} else {
		r->text = p + tag_len;
		r->len = 0;
	}
	return true;
}

void wf_log_time_cri(const struct timespec *ts, char buf[40])
{
	long nsec = ts->tv_nsec;
	if (nsec < 0 || nsec > 999999999)
		nsec = 0;
	wf_time_rfc3339(ts->tv_sec, buf);
	snprintf(buf + 19, 21, ".%09ldZ", nsec);
}

void wf_log_time_nano(int64_t sec, int32_t nsec, char buf[40])
{
	wf_time_rfc3339((time_t)sec, buf);
	if (nsec <= 0 || nsec > 999999999)
		return;
	char frac[12];
	snprintf(frac, sizeof(frac), ".%09d", (int)nsec);
	size_t n = strlen(frac);
	while (frac[n - 1] == '0')
		n--;
	frac[n] = '\0';
	snprintf(buf + 19, 21, "%sZ", frac);
}

/* ------------------------------------------------------------------ */
/* I/O helpers                                                        */

/* Read exactly n bytes at off; -1 on error or when the file is shorter. */
static int wf__pread_full(int fd, char *buf, size_t n, off_t off)
{
	while (n > 0) {
		ssize_t r = pread(fd, buf, n, off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		buf += r;
		n -= (size_t)r;
		off += r;
	}
	return 0;
}

typedef struct wf__file {
	int fd; /* -1: absent */
	dev_t dev;
	ino_t ino;
	off_t size;
} wf__file;

/* Open path; 0, or -ENOENT-like (-1) when absent, -2 on another error. */
static int wf__file_open(const char *path, wf__file *f)
{
	f->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (f->fd < 0)
		return errno == ENOENT ? -1 : -2;
	struct stat sb;
	if (fstat(f->fd, &sb) < 0) {
		close(f->fd);
		f->fd = -1;
		return -2;
	}
	f->dev = sb.st_dev;
	f->ino = sb.st_ino;
	f->size = sb.st_size;
	return 0;
}

static void wf__file_close(wf__file *f)
{
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
}

static bool wf__same_file(const wf__file *a, const wf__file *b)
{
	return a->fd >= 0 && b->fd >= 0 && a->dev == b->dev && a->ino == b->ino;
}

/* ------------------------------------------------------------------ */
/* Backward scan (tail)                                               */

typedef struct wf__back {
	int fd;
	char *buf; /* WF__BLOCK bytes: the window [wstart, wstart + wlen) */
	off_t wstart;
	off_t wlen;
} wf__back;

/* Position of the last '\n' in [lo, before), or lo - 1 when there is none. */
static int wf__prev_nl(wf__back *b, off_t lo, off_t before, off_t *nl)
{
	while (before > lo) {
		if (before <= b->wstart || before > b->wstart + b->wlen) {
			off_t s = before - lo > WF__BLOCK ? before - WF__BLOCK : lo;
			if (wf__pread_full(b->fd, b->buf, (size_t)(before - s), s) < 0)
				return -1;
			b->wstart = s;
			b->wlen = before - s;
		}
		off_t from = b->wstart > lo ? b->wstart : lo;
		const char *p = memrchr(b->buf + (from - b->wstart), '\n', (size_t)(before - from));
		if (p) {
			*nl = b->wstart + (p - b->buf);
			return 0;
		}
		before = from;
	}
	*nl = lo - 1;
	return 0;
}

/* The end of the last complete record of f (0 when it has none). */
static int wf__last_record_end(wf__back *b, const wf__file *f, off_t *end)
{
	off_t nl;
	b->fd = f->fd;
	b->wstart = b->wlen = 0;
	if (wf__prev_nl(b, 0, f->size, &nl) < 0)
		return -1;
	*end = nl + 1;
	return 0;
}

/* Records from the end of the stream backwards: f[0] (path) from end[0],
 * then f[1] (path.1, when present) from end[1]. */
typedef struct wf__rev {
	wf__back b;
	const wf__file *f[2];
	off_t end[2];
	int n, i;
	off_t pos;	/* end of the next record to return, in f[i] */
	int64_t budget; /* bytes left to walk; < 0: unlimited */
} wf__rev;

typedef struct wf__rrec {
	const wf__file *f;
	off_t start, end; /* end is just past the newline */
	bool valid, partial, is_stderr;
} wf__rrec;

static void wf__rev_start(wf__rev *r, int i)
{
	r->i = i;
	if (i < r->n) {
		r->pos = r->end[i];
		r->b.fd = r->f[i]->fd;
		r->b.wstart = r->b.wlen = 0;
	}
}

/* 1 with the previous record in *out, 0 at the start of the stream, -1 on
 * a read error. Only the record's header is read. */
static int wf__rev_next(wf__rev *r, wf__rrec *out)
{
	while (r->i < r->n) {
		if (r->pos <= 0) {
			wf__rev_start(r, r->i + 1);
			continue;
		}
		off_t nl, lo = 0;
		if (r->budget >= 0 && r->pos - 1 > r->budget)
			lo = r->pos - 1 - r->budget;
		if (wf__prev_nl(&r->b, lo, r->pos - 1, &nl) < 0)
			return -1;
		if (nl < lo && lo > 0)
			return 0; /* out of budget */
		if (r->budget >= 0)
			r->budget -= r->pos - (nl + 1);
		out->f = r->f[r->i];
		out->start = nl + 1;
		out->end = r->pos;
		out->valid = false;
		r->pos = nl + 1;
		off_t len = out->end - 1 - out->start;
		if (len + 1 > WF_LOG_RECORD_MAX)
			return 1;
		size_t n = len < WF__HDR_MAX ? (size_t)len : WF__HDR_MAX;
		char hdr[WF__HDR_MAX];
		const char *p;
		wf__back *b = &r->b;
		if (out->start >= b->wstart && out->start + (off_t)n <= b->wstart + b->wlen) {
			p = b->buf + (out->start - b->wstart);
		} else {
			if (wf__pread_full(b->fd, hdr, n, out->start) < 0)
				return -1;
			p = hdr;
		}
		wf_log_record rec;
		if (wf_log_parse_record(p, n, &rec)) {
			out->valid = true;
			out->partial = rec.partial;
			out->is_stderr = rec.is_stderr;
		}
		return 1;
	}
	return 0;
}

/* Where the last `lines` lines start. *cut gets the boundary after which
 * they start; *start gets the last boundary at or before it where no line
 * of either stream is half-written (so a line of the other stream that
 * straddles *cut is read whole, while the lines that end before *cut are
 * not output). Both are the start of the stream when it has fewer lines. */
static int wf__tail_start(wf__rev *r, int64_t lines, wf__rrec *cut, wf__rrec *start)
{
	wf__rrec rr;
	int64_t count = 0;
	int k;
	while ((k = wf__rev_next(r, &rr)) > 0) {
		if (rr.valid && !rr.partial && ++count == lines + 1)
			break;
	}
	if (k < 0)
		return -1;
	if (k == 0) {
		cut->f = start->f = r->f[r->n - 1];
		cut->end = start->end = 0;
		return 0;
	}
	*cut = rr;
	*start = rr;
	/* A line longer than this is output in pieces anyway: no need to look
	 * further back for its start (nor through megabytes of garbage). */
	r->budget = WF_LOG_LINE_MAX + WF_LOG_RECORD_MAX;
	enum { UNKNOWN, CLOSED } st[2] = {UNKNOWN, UNKNOWN};
	while ((k = wf__rev_next(r, &rr)) > 0) {
		if (!rr.valid || st[rr.is_stderr] != UNKNOWN)
			continue;
		if (rr.partial) {
			/* open at the candidate: move before this fragment and
			 * look again at both streams */
			start->f = rr.f;
			start->end = rr.start;
			st[0] = st[1] = UNKNOWN;
			continue;
		}
		st[rr.is_stderr] = CLOSED;
		if (st[0] == CLOSED && st[1] == CLOSED)
			break;
	}
	return k < 0 ? -1 : 0;
}

/* ------------------------------------------------------------------ */
/* Forward pass                                                       */

typedef struct wf__seg {
	const wf__file *f;
	off_t start, end; /* records ending in [start, end) are read */
	off_t suppress;	  /* lines completed by records ending at or before this were
			     already output (-1: none) */
} wf__seg;

typedef struct wf__pos {
	const wf__file *f;
	off_t off;
} wf__pos;

typedef struct wf__chain {
	wf_buf text;
	int64_t sec;
	int32_t nsec;
	bool open;
} wf__chain;

typedef struct wf__emit {
	wf_buf *out;
	bool timestamps;
	int64_t since;
	int64_t left; /* bytes still allowed; < 0 unlimited */
	bool full;
	wf__chain ch[2];
	wf__pos quiet; /* last boundary with no chain open */
	wf__pos last;  /* end of the last record read */
} wf__emit;

static void wf__emit_init(wf__emit *e, wf_buf *out, bool timestamps, int64_t since, int64_t limit)
{
	memset(e, 0, sizeof(*e));
	e->out = out;
	e->timestamps = timestamps;
	e->since = since;
	e->left = limit > 0 ? limit : -1;
	wf_buf_init(&e->ch[0].text);
	wf_buf_init(&e->ch[1].text);
}

static void wf__emit_free(wf__emit *e)
{
	wf_buf_free(&e->ch[0].text);
	wf_buf_free(&e->ch[1].text);
}

static void wf__put(wf__emit *e, const char *p, size_t n)
{
	if (e->full)
		return;
	if (e->left >= 0 && (int64_t)n >= e->left) {
		n = (size_t)e->left;
		e->left = 0;
		e->full = true;
	} else if (e->left >= 0) {
		e->left -= (int64_t)n;
	}
	wf_buf_append(e->out, p, n);
}

static void wf__emit_line(wf__emit *e, const wf__chain *c, bool suppress)
{
	if (suppress || e->full || (e->since && c->sec < e->since))
		return;
	if (e->timestamps) {
		char ts[40];
		wf_log_time_nano(c->sec, c->nsec, ts);
		size_t n = strlen(ts);
		ts[n++] = ' ';
		wf__put(e, ts, n);
	}
	wf__put(e, c->text.data ? c->text.data : "", c->text.len);
	wf__put(e, "\n", 1);
}

static void wf__emit_record(wf__emit *e, const wf_log_record *r, bool suppress)
{
	wf__chain *c = &e->ch[r->is_stderr];
	if (!c->open) {
		c->open = true;
		c->sec = r->sec;
		c->nsec = r->nsec;
		c->text.len = 0;
	}
	wf_buf_append(&c->text, r->text, r->len);
	if (!r->partial) {
		wf__emit_line(e, c, suppress);
		c->open = false;
	} else if (c->text.len >= WF_LOG_LINE_MAX) {
		wf__emit_line(e, c, suppress);
		c->text.len = 0;
	}
}

/* Stream the complete records of one segment through the emitter. */
static int wf__run_seg(wf__emit *e, const wf__seg *s, char *buf)
{
	off_t pos = s->start; /* file offset of buf[len] */
	size_t len = 0, off = 0;
	bool skipping = false; /* inside an over-long record */

	while (!e->full) {
		char *nl = off < len ? memchr(buf + off, '\n', len - off) : NULL;
		if (nl) {
			size_t n = (size_t)(nl - (buf + off));
			const char *line = buf + off;
			off += n + 1;
			off_t rec_end = pos - (off_t)(len - off);
			e->last = (wf__pos){s->f, rec_end};
			wf_log_record r;
			if (!skipping && wf_log_parse_record(line, n, &r))
				wf__emit_record(e, &r, rec_end <= s->suppress);
			skipping = false;
			if (!e->ch[0].open && !e->ch[1].open)
				e->quiet = e->last;
			continue;
		}
		if (off > 0) {
			memmove(buf, buf + off, len - off);
			len -= off;
			off = 0;
		}
		if (len == WF_LOG_RECORD_MAX) {
			skipping = true;
			len = 0;
		}
		if (pos >= s->end)
			break;
		size_t want = WF_LOG_RECORD_MAX - len;
		if ((off_t)want > s->end - pos)
			want = (size_t)(s->end - pos);
		ssize_t r = pread(s->f->fd, buf + len, want, pos);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		pos += r;
		len += (size_t)r;
	}
	return 0;
}

static int wf__run(wf__emit *e, const wf__seg *segs, int nseg, wf_err *err)
{
	char *buf = wf_xmalloc(WF_LOG_RECORD_MAX);
	int rc = 0;
	for (int i = 0; i < nseg && !e->full; i++) {
		if (wf__run_seg(e, &segs[i], buf) < 0) {
			rc = wf_err_set(err, WF_EIO, "reading log: %s", strerror(errno));
			break;
		}
	}
	free(buf);
	return rc;
}

static void wf__cursor_set(wf_log_cursor *cur, const wf__emit *e)
{
	cur->offset = e->quiet.off;
	cur->dev = e->quiet.f->dev;
	cur->ino = e->quiet.f->ino;
	cur->emitted = e->last.off;
	cur->emitted_dev = e->last.f->dev;
	cur->emitted_ino = e->last.f->ino;
}

/* ------------------------------------------------------------------ */
/* Public readers                                                     */

static char *wf__prev_path(const char *path)
{
	return wf_xasprintf("%s.1", path);
}

int wf_log_read_cursor(const char *path, const wf_log_opts *o, wf_buf *out, wf_log_cursor *cur,
		       wf_err *err)
{
	wf__file cf = {.fd = -1}, pf = {.fd = -1};
	int rc = wf__file_open(path, &cf);
	if (rc == -1)
		return wf_err_set(err, WF_ENOENT, "%s: no such log", path);
	if (rc < 0)
		return wf_err_set(err, WF_EIO, "%s: %s", path, strerror(errno));
	char *prev = wf__prev_path(path);
	if (wf__file_open(prev, &pf) == 0 && wf__same_file(&pf, &cf))
		wf__file_close(&pf);
	free(prev);

	wf__rev r = {.b = {.buf = wf_xmalloc(WF__BLOCK)},
		     .f = {&cf, &pf},
		     .n = pf.fd >= 0 ? 2 : 1,
		     .budget = -1};
	if (wf__last_record_end(&r.b, &cf, &r.end[0]) < 0 ||
	    (pf.fd >= 0 && wf__last_record_end(&r.b, &pf, &r.end[1]) < 0))
		goto fail_io;

	/* The stream is pf (if any) then cf. Output starts at `start`; lines
	 * completed at or before `cut` are not output. */
	wf__rrec start = {.f = r.f[r.n - 1], .end = 0}, cut = start;
	if (o->tail_lines >= 0) {
		wf__rev_start(&r, 0);
		if (wf__tail_start(&r, o->tail_lines, &cut, &start) < 0)
			goto fail_io;
	}
	free(r.b.buf);
	r.b.buf = NULL;

	wf__seg segs[2];
	int nseg = 0;
	if (start.f == &pf) {
		off_t sup = cut.f == &cf ? pf.size : cut.end;
		segs[nseg++] = (wf__seg){&pf, start.end, r.end[1], sup};
	}
	segs[nseg++] =
	    (wf__seg){&cf, start.f == &cf ? start.end : 0, r.end[0], cut.f == &cf ? cut.end : -1};

	wf__emit e;
	wf__emit_init(&e, out, o->timestamps, o->since_unix, o->limit_bytes);
	e.quiet = e.last = (wf__pos){segs[0].f, segs[0].start};
	rc = wf__run(&e, segs, nseg, err);
	wf__cursor_set(cur, &e);
	wf__emit_free(&e);
	wf__file_close(&cf);
	wf__file_close(&pf);
	return rc;

fail_io:
	rc = wf_err_set(err, WF_EIO, "%s: reading: %s", path, strerror(errno));
	free(r.b.buf);
	wf__file_close(&cf);
	wf__file_close(&pf);
	return rc;
}

int wf_log_read(const char *path, const wf_log_opts *o, wf_buf *out, off_t *end_offset, wf_err *err)
{
	wf_log_cursor cur;
	memset(&cur, 0, sizeof(cur));
	int rc = wf_log_read_cursor(path, o, out, &cur, err);
	if (rc == 0 && end_offset) {
		struct stat sb;
		/* emitted is in path unless path holds no complete record yet */
		bool in_path = stat(path, &sb) == 0 && sb.st_dev == cur.emitted_dev &&
			       sb.st_ino == cur.emitted_ino;
		*end_offset = in_path ? cur.emitted : 0;
	}
	return rc;
}

int wf_log_follow(const char *path, wf_log_cursor *cur, bool timestamps, wf_buf *out, wf_err *err)
{
	wf__file cf = {.fd = -1}, pf = {.fd = -1};
	if (wf__file_open(path, &cf) == -2)
		return wf_err_set(err, WF_EIO, "%s: %s", path, strerror(errno));
	bool known = cur->ino != 0 || cur->dev != 0;
	bool in_cf = cf.fd >= 0 && (!known || (cf.dev == cur->dev && cf.ino == cur->ino));
	bool prev_exists = false;
	if (!in_cf) {
		char *prev = wf__prev_path(path);
		prev_exists = wf__file_open(prev, &pf) == 0;
		free(prev);
		if (prev_exists &&
		    (!known || pf.dev != cur->dev || pf.ino != cur->ino || wf__same_file(&pf, &cf)))
			wf__file_close(&pf);
	}
	if (cf.fd < 0 && pf.fd < 0)
		return prev_exists ? 0 : wf_err_set(err, WF_ENOENT, "%s: no such log", path);

	/* Segments in stream order, and what of them was already output. */
	bool emitted_in_cf = cf.fd >= 0 && cf.dev == cur->emitted_dev && cf.ino == cur->emitted_ino;
	bool emitted_in_pf = pf.fd >= 0 && pf.dev == cur->emitted_dev && pf.ino == cur->emitted_ino;
	wf__seg segs[2];
	int nseg = 0;
	if (pf.fd >= 0) {
		off_t start = cur->offset <= pf.size ? cur->offset : pf.size;
		off_t sup = emitted_in_cf ? pf.size : emitted_in_pf ? cur->emitted : -1;
		segs[nseg++] = (wf__seg){&pf, start, pf.size, sup};
	}
	if (cf.fd >= 0) {
		off_t start = 0, sup = emitted_in_cf ? cur->emitted : -1;
		if (in_cf && cur->offset <= cf.size)
			start = cur->offset;
		else if (in_cf) { /* truncated under us: start over */
			sup = -1;
			emitted_in_cf = false;
		}
		segs[nseg++] = (wf__seg){&cf, start, cf.size, sup};
	}

	wf__emit e;
	wf__emit_init(&e, out, timestamps, 0, 0);
	e.quiet = (wf__pos){segs[0].f, segs[0].start};
	/* Re-reading from `offset` ends at or past `emitted` (the files only
	 * grow), so when nothing new is there `emitted` stays where it was. */
	if (emitted_in_cf)
		e.last = (wf__pos){&cf, cur->emitted};
	else if (emitted_in_pf)
		e.last = (wf__pos){&pf, cur->emitted};
	else
		e.last = e.quiet;
	int rc = wf__run(&e, segs, nseg, err);
	wf__cursor_set(cur, &e);
	wf__emit_free(&e);
	wf__file_close(&cf);
	wf__file_close(&pf);
	return rc;
}

int wf_log_read_from(const char *path, off_t *offset, bool timestamps, wf_buf *out, wf_err *err)
{
	struct stat sb;
	if (stat(path, &sb) < 0)
		return wf_err_set(err, errno == ENOENT ? WF_ENOENT : WF_EIO, "%s: %s", path,
				  strerror(errno));
	wf_log_cursor cur;
	memset(&cur, 0, sizeof(cur));
	if (*offset <= sb.st_size) {
		cur.offset = cur.emitted = *offset;
		cur.dev = cur.emitted_dev = sb.st_dev;
		cur.ino = cur.emitted_ino = sb.st_ino;
	}
	int rc = wf_log_follow(path, &cur, timestamps, out, err);
	if (rc == 0)
		*offset = cur.emitted;
	return rc;
}
