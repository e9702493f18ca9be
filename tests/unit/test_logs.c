/*
 * test_logs.c - unit tests for the CRI log reader (agent/logs.h): record
 * parsing (valid, malformed and hostile records), time formatting, joining
 * P fragments per stream, tail / since / timestamps / limit-bytes, logs
 * split by rotation into path.1 + path, following with the cursor and the
 * offset APIs across fragments and rotations, and a sparse multi-gigabyte
 * file whose tail is read without touching the rest.
 *
 * Logs are written by hand here, so every expected output is exact.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/logs.h"
#include "lib/wf_mem.h"
#include "test_fs.h"

#define T0 1795330358 /* 2026-11-22T06:52:38Z */

static char g_dir[64];
static char g_path[128];
static char g_path1[128];

static int setup(void **state)
{
	(void)state;
	if (!test_fs_mkdtemp(g_dir, sizeof(g_dir), "wf-logs"))
		return -1;
	snprintf(g_path, sizeof(g_path), "%s/0.log", g_dir);
	snprintf(g_path1, sizeof(g_path1), "%s/0.log.1", g_dir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	test_fs_rm_rf(g_dir);
	return 0;
}

/* Append raw bytes to a file. */
static void append_raw(const char *path, const char *data, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, n), (ssize_t)n);
	close(fd);
}

/* Append one record "<T0+sec>.<nsec>Z <stream> <tag> <text>\n". */
static void rec(const char *path, int sec, int nsec, const char *stream, const char *tag,
		const char *text)
{
	struct timespec ts = {T0 + sec, nsec};
	char t[40];
	wf_log_time_cri(&ts, t);
	char *line = wf_xasprintf("%s %s %s %s\n", t, stream, tag, text);
	append_raw(path, line, strlen(line));
	free(line);
}

static char *read_log(const char *path, int64_t tail, int64_t since, bool ts, int64_t limit,
		      off_t *end)
{
	wf_log_opts o = {
	    .tail_lines = tail, .since_unix = since, .timestamps = ts, .limit_bytes = limit};
	wf_buf out;
	wf_buf_init(&out);
	wf_err err = {0};
	assert_int_equal(wf_log_read(path, &o, &out, end, &err), 0);
	char *s = out.data ? wf_buf_steal(&out) : wf_xstrdup("");
	return s;
}

static void assert_read(const char *path, int64_t tail, int64_t since, bool ts, int64_t limit,
			const char *want)
{
	char *got = read_log(path, tail, since, ts, limit, NULL);
	assert_string_equal(got, want);
	free(got);
}

static off_t file_size(const char *path)
{
	struct stat sb;
	assert_int_equal(stat(path, &sb), 0);
	return sb.st_size;
}

/* ------------------------------------------------------------------ */

static void test_parse_valid(void **state)
{
	(void)state;
	wf_log_record r;
	const char *l = "2026-11-22T06:52:38.123456789Z stdout F hello  world ";
	assert_true(wf_log_parse_record(l, strlen(l), &r));
	assert_int_equal(r.sec, T0);
	assert_int_equal(r.nsec, 123456789);
	assert_false(r.is_stderr);
	assert_false(r.partial);
	assert_int_equal(r.len, strlen("hello  world "));
	assert_memory_equal(r.text, "hello  world ", r.len);

	l = "2026-11-22T06:52:38.5Z stderr P x";
	assert_true(wf_log_parse_record(l, strlen(l), &r));
	assert_int_equal(r.nsec, 500000000);
	assert_true(r.is_stderr);
	assert_true(r.partial);

	/* offsets are applied; extra fraction digits are dropped */
	l = "2026-11-22T07:52:38.0000000019+01:00 stdout F:tag1:tag2 t";
	assert_true(wf_log_parse_record(l, strlen(l), &r));
	assert_int_equal(r.sec, T0);
	assert_int_equal(r.nsec, 1);
	assert_false(r.partial);
	assert_int_equal(r.len, 1);

	/* empty text, with and without the separating space */
	l = "2026-11-22T06:52:38Z stdout F ";
	assert_true(wf_log_parse_record(l, strlen(l), &r));
	assert_int_equal(r.len, 0);
	l = "2026-11-22T06:52:38Z stdout F";
	assert_true(wf_log_parse_record(l, strlen(l), &r));
	assert_int_equal(r.len, 0);

	/* text is binary-safe and need not be NUL-terminated */
	char bin[] = "2026-11-22T06:52:38Z stdout F a\0b";
	assert_true(wf_log_parse_record(bin, sizeof(bin) - 1, &r));
	assert_int_equal(r.len, 3);
	assert_memory_equal(r.text, "a\0b", 3);
	assert_true(wf_log_parse_record(l, strlen(l) - 1, &r) == false);
}

static void test_parse_malformed(void **state)
{
	(void)state;
	static const char *bad[] = {
	    "",
	    " ",
	    "garbage",
	    "2026-11-22T06:52:38Z",
	    "2026-11-22T06:52:38Z ",
	    "2026-11-22T06:52:38Z stdout",
	    "2026-11-22T06:52:38Z stdout ",
	    "2026-11-22T06:52:38Z stdin F x",
	    "2026-11-22T06:52:38Z STDOUT F x",
	    "2026-11-22T06:52:38Z stdoutF x",
	    "2026-11-22T06:52:38Z stdout X x",
	    "2026-11-22T06:52:38Z stdout f x",
	    "2026-11-22T06:52:38Z stdout FF x",
	    "2026-11-22T06:52:38Z stdout F:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa x",
	    "2026-13-22T06:52:38Z stdout F x",
	    "2026-02-30T06:52:38Z stdout F x",
	    "2026-11-22T24:52:38Z stdout F x",
	    "2026-11-22 06:52:38Z stdout F x",
	    "2026-11-22T06:52:38 stdout F x",
	    "2026-11-22T06:52:38.Z stdout F x",
	    "2026-11-22T06:52:38.123456789123456789123Z stdout F x",
	    "1 stdout F x",
	    "stdout F x",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		wf_log_record r;
		if (wf_log_parse_record(bad[i], strlen(bad[i]), &r))
			fail_msg("accepted malformed record \"%s\"", bad[i]);
	}
	/* a NUL inside the timestamp */
	char nul[] = "2026-11-22T06:52:38Z\0x stdout F x";
	wf_log_record r;
	assert_false(wf_log_parse_record(nul, sizeof(nul) - 1, &r));
}

static void test_time_format(void **state)
{
	(void)state;
	char b[40];
	struct timespec ts = {T0, 5};
	wf_log_time_cri(&ts, b);
	assert_string_equal(b, "2026-11-22T06:52:38.000000005Z");
	ts.tv_nsec = 0;
	wf_log_time_cri(&ts, b);
	assert_string_equal(b, "2026-11-22T06:52:38.000000000Z");

	wf_log_time_nano(T0, 0, b);
	assert_string_equal(b, "2026-11-22T06:52:38Z");
	wf_log_time_nano(T0, 120000000, b);
	assert_string_equal(b, "2026-11-22T06:52:38.12Z");
	wf_log_time_nano(T0, 1, b);
	assert_string_equal(b, "2026-11-22T06:52:38.000000001Z");
	wf_log_time_nano(T0, 999999999, b);
	assert_string_equal(b, "2026-11-22T06:52:38.999999999Z");
}

static void test_missing(void **state)
{
	(void)state;
	wf_log_opts o = {.tail_lines = -1};
	wf_buf out;
	wf_buf_init(&out);
	wf_err err = {0};
	assert_int_equal(wf_log_read(g_path, &o, &out, NULL, &err), -WF_ENOENT);
	assert_int_equal(err.code, WF_ENOENT);
	off_t off = 0;
	assert_int_equal(wf_log_read_from(g_path, &off, false, &out, NULL), -WF_ENOENT);
	wf_log_cursor cur;
	memset(&cur, 0, sizeof(cur));
	assert_int_equal(wf_log_follow(g_path, &cur, false, &out, NULL), -WF_ENOENT);
	assert_int_equal(out.len, 0);
	wf_buf_free(&out);

	/* an empty file is no error */
	append_raw(g_path, "", 0);
	assert_read(g_path, -1, 0, false, 0, "");
	assert_read(g_path, 5, 0, false, 0, "");
}

static void test_join_fragments(void **state)
{
	(void)state;
	rec(g_path, 0, 0, "stdout", "P", "hel");
	rec(g_path, 0, 1, "stderr", "P", "wor");
	rec(g_path, 0, 2, "stdout", "P", "lo ");
	rec(g_path, 0, 3, "stderr", "F", "ld");
	rec(g_path, 0, 4, "stdout", "F", "there");
	rec(g_path, 0, 5, "stdout", "F", "");
	rec(g_path, 0, 6, "stdout", "F", "last");
	assert_read(g_path, -1, 0, false, 0, "world\nhello there\n\nlast\n");
	/* a line counts once however many fragments it has */
	assert_read(g_path, 2, 0, false, 0, "\nlast\n");
	assert_read(g_path, 3, 0, false, 0, "hello there\n\nlast\n");
	assert_read(g_path, 4, 0, false, 0, "world\nhello there\n\nlast\n");
	assert_read(g_path, 100, 0, false, 0, "world\nhello there\n\nlast\n");
	assert_read(g_path, 0, 0, false, 0, "");
	/* the timestamp of a joined line is its first fragment's */
	assert_read(g_path, 3, 0, true, 0,
		    "2026-11-22T06:52:38Z hello there\n"
		    "2026-11-22T06:52:38.000000005Z \n"
		    "2026-11-22T06:52:38.000000006Z last\n");
}

static void test_tail_since_ts_limit(void **state)
{
	(void)state;
	for (int i = 0; i < 10; i++) {
		char t[16];
		snprintf(t, sizeof(t), "line %d", i);
		rec(g_path, i, 250000000, i % 3 ? "stdout" : "stderr", "F", t);
	}
	assert_read(g_path, 1, 0, false, 0, "line 9\n");
	assert_read(g_path, 3, 0, false, 0, "line 7\nline 8\nline 9\n");
	/* since keeps lines at or after the second */
	assert_read(g_path, -1, T0 + 8, false, 0, "line 8\nline 9\n");
	assert_read(g_path, -1, T0 + 100, false, 0, "");
	/* tail first, then since, as kubelet does */
	assert_read(g_path, 5, T0 + 7, false, 0, "line 7\nline 8\nline 9\n");
	assert_read(g_path, 2, T0 + 3, false, 0, "line 8\nline 9\n");
	assert_read(g_path, 2, 0, true, 0,
		    "2026-11-22T06:52:46.25Z line 8\n2026-11-22T06:52:47.25Z line 9\n");
	/* limit-bytes counts prefixes and cuts mid-line */
	assert_read(g_path, -1, 0, false, 10, "line 0\nlin");
	assert_read(g_path, 2, 0, false, 7, "line 8\n");
	assert_read(g_path, 2, 0, true, 25, "2026-11-22T06:52:46.25Z l");
	assert_read(g_path, -1, 0, false, 1000000,
		    "line 0\nline 1\nline 2\nline 3\nline 4\nline 5\nline 6\nline 7\nline 8\n"
		    "line 9\n");
}

static void test_malformed_skipped(void **state)
{
	(void)state;
	rec(g_path, 0, 0, "stdout", "F", "one");
	append_raw(g_path, "garbage line\n\n\n", 15);
	append_raw(g_path, "\x00\xff\xfe binary\n", 11);
	rec(g_path, 0, 0, "stdout", "P", "tw");
	append_raw(g_path, "2026-99-22T06:52:38Z stdout F bad\n", 34);
	rec(g_path, 0, 0, "stdout", "F", "o");
	/* an over-long record (no newline for 300 KB) is skipped whole */
	size_t big = 300 * 1024;
	char *junk = wf_xmalloc(big + 1);
	memset(junk, 'j', big);
	memcpy(junk, "2026-11-22T06:52:38Z stdout F ", 30);
	junk[big] = '\n';
	append_raw(g_path, junk, big + 1);
	free(junk);
	rec(g_path, 0, 0, "stderr", "F", "three");
	off_t complete = file_size(g_path);
	/* the record being written: no newline yet */
	append_raw(g_path, "2026-11-22T06:52:38Z stdout F four", 34);

	off_t end = -1;
	char *got = read_log(g_path, -1, 0, false, 0, &end);
	assert_string_equal(got, "one\ntwo\nthree\n");
	free(got);
	assert_int_equal(end, complete);
	assert_read(g_path, 1, 0, false, 0, "three\n");
	assert_read(g_path, 2, 0, false, 0, "two\nthree\n");
	assert_read(g_path, 3, 0, false, 0, "one\ntwo\nthree\n");

	/* the writer finishes the record: following picks it up */
	append_raw(g_path, "\n", 1);
	wf_buf out;
	wf_buf_init(&out);
	assert_int_equal(wf_log_read_from(g_path, &end, false, &out, NULL), 0);
	assert_string_equal(out.data, "four\n");
	assert_int_equal(end, file_size(g_path));
	wf_buf_free(&out);
}

static void test_rotated_pair(void **state)
{
	(void)state;
	rec(g_path1, 0, 0, "stdout", "F", "a1");
	rec(g_path1, 1, 0, "stdout", "F", "a2");
	rec(g_path1, 2, 0, "stderr", "F", "a3");
	rec(g_path1, 3, 0, "stdout", "P", "split-");
	rec(g_path, 4, 0, "stdout", "F", "line");
	rec(g_path, 5, 0, "stdout", "F", "b1");
	rec(g_path, 6, 0, "stdout", "F", "b2");
	assert_read(g_path, -1, 0, false, 0, "a1\na2\na3\nsplit-line\nb1\nb2\n");
	assert_read(g_path, 2, 0, false, 0, "b1\nb2\n");
	assert_read(g_path, 3, 0, false, 0, "split-line\nb1\nb2\n");
	assert_read(g_path, 4, 0, false, 0, "a3\nsplit-line\nb1\nb2\n");
	assert_read(g_path, 6, 0, false, 0, "a1\na2\na3\nsplit-line\nb1\nb2\n");
	assert_read(g_path, 60, 0, false, 0, "a1\na2\na3\nsplit-line\nb1\nb2\n");
	assert_read(g_path, -1, T0 + 2, false, 0, "a3\nsplit-line\nb1\nb2\n");

	/* a line of the other stream straddling the tail's cut and the
	 * rotation comes out whole; the lines before the cut do not */
	unlink(g_path);
	unlink(g_path1);
	rec(g_path1, 0, 0, "stdout", "F", "old");
	rec(g_path1, 0, 0, "stdout", "P", "x");
	rec(g_path, 0, 0, "stderr", "F", "e1");
	rec(g_path, 0, 0, "stdout", "F", "y");
	assert_read(g_path, 1, 0, false, 0, "xy\n");
	assert_read(g_path, 2, 0, false, 0, "e1\nxy\n");
	assert_read(g_path, 0, 0, false, 0, "");

	/* without a current file there is nothing to read */
	unlink(g_path);
	wf_log_opts o = {.tail_lines = -1};
	wf_buf out;
	wf_buf_init(&out);
	assert_int_equal(wf_log_read(g_path, &o, &out, NULL, NULL), -WF_ENOENT);
	wf_buf_free(&out);
}

static char *follow(wf_log_cursor *cur)
{
	wf_buf out;
	wf_buf_init(&out);
	wf_err err = {0};
	assert_int_equal(wf_log_follow(g_path, cur, false, &out, &err), 0);
	return out.data ? wf_buf_steal(&out) : wf_xstrdup("");
}

static void assert_follow(wf_log_cursor *cur, const char *want)
{
	char *got = follow(cur);
	assert_string_equal(got, want);
	free(got);
}

static void test_follow_cursor(void **state)
{
	(void)state;
	rec(g_path, 0, 0, "stdout", "F", "one");
	rec(g_path, 0, 0, "stdout", "P", "tw"); /* open chain at the end */
	wf_log_opts o = {.tail_lines = -1};
	wf_buf out;
	wf_buf_init(&out);
	wf_log_cursor cur;
	assert_int_equal(wf_log_read_cursor(g_path, &o, &out, &cur, NULL), 0);
	assert_string_equal(out.data, "one\n");
	wf_buf_free(&out);

	assert_follow(&cur, "");
	rec(g_path, 0, 0, "stderr", "F", "err");
	assert_follow(&cur, "err\n");
	assert_follow(&cur, "");
	rec(g_path, 0, 0, "stdout", "F", "o");
	assert_follow(&cur, "two\n");
	assert_follow(&cur, "");

	/* rotation with a line split across it, and lines in both files the
	 * follower has not seen yet */
	rec(g_path, 0, 0, "stdout", "F", "three");
	rec(g_path, 0, 0, "stdout", "P", "fo");
	assert_follow(&cur, "three\n");
	rec(g_path, 0, 0, "stderr", "F", "e2");
	assert_int_equal(rename(g_path, g_path1), 0);
	/* path briefly absent: what is new in path.1, no error */
	assert_follow(&cur, "e2\n");
	assert_follow(&cur, "");
	rec(g_path, 0, 0, "stdout", "F", "ur");
	rec(g_path, 0, 0, "stdout", "F", "five");
	assert_follow(&cur, "four\nfive\n");
	assert_follow(&cur, "");

	/* rotated twice before the follower looked: start over in path */
	rec(g_path, 0, 0, "stdout", "F", "lost");
	assert_int_equal(rename(g_path, g_path1), 0);
	rec(g_path, 0, 0, "stdout", "F", "gone");
	assert_int_equal(rename(g_path, g_path1), 0);
	rec(g_path, 0, 0, "stdout", "F", "six");
	assert_follow(&cur, "six\n");

	/* truncated in place: start over */
	assert_int_equal(truncate(g_path, 0), 0);
	rec(g_path, 0, 0, "stdout", "F", "7");
	assert_follow(&cur, "7\n");
	assert_follow(&cur, "");

	/* a zeroed cursor reads from the start */
	wf_log_cursor z;
	memset(&z, 0, sizeof(z));
	assert_follow(&z, "7\n");
}

static void test_follow_tail_zero(void **state)
{
	(void)state;
	rec(g_path, 0, 0, "stdout", "F", "old");
	rec(g_path, 0, 0, "stderr", "P", "ab");
	wf_log_opts o = {.tail_lines = 0};
	wf_buf out;
	wf_buf_init(&out);
	wf_log_cursor cur;
	assert_int_equal(wf_log_read_cursor(g_path, &o, &out, &cur, NULL), 0);
	assert_int_equal(out.len, 0);
	rec(g_path, 0, 0, "stderr", "F", "c");
	rec(g_path, 0, 0, "stdout", "F", "new");
	assert_follow(&cur, "abc\nnew\n");
	wf_buf_free(&out);
}

static void test_read_from_offset(void **state)
{
	(void)state;
	rec(g_path, 0, 0, "stdout", "F", "one");
	rec(g_path, 0, 0, "stdout", "F", "two");
	off_t end;
	char *s = read_log(g_path, 1, 0, false, 0, &end);
	assert_string_equal(s, "two\n");
	free(s);
	assert_int_equal(end, file_size(g_path));

	wf_buf out;
	wf_buf_init(&out);
	assert_int_equal(wf_log_read_from(g_path, &end, true, &out, NULL), 0);
	assert_int_equal(out.len, 0);
	rec(g_path, 1, 500, "stderr", "F", "three");
	assert_int_equal(wf_log_read_from(g_path, &end, true, &out, NULL), 0);
	assert_string_equal(out.data, "2026-11-22T06:52:39.0000005Z three\n");
	assert_int_equal(end, file_size(g_path));
	out.len = 0;

	/* the file shrank (rotated): start again at 0 */
	assert_int_equal(rename(g_path, g_path1), 0);
	rec(g_path, 2, 0, "stdout", "F", "four");
	assert_int_equal(wf_log_read_from(g_path, &end, false, &out, NULL), 0);
	assert_string_equal(out.data, "four\n");
	wf_buf_free(&out);
}

static void test_long_lines(void **state)
{
	(void)state;
	/* 100 KB in 16 KB fragments joins back into one line */
	size_t total = 100 * 1024;
	char *text = wf_xmalloc(total + 1);
	for (size_t i = 0; i < total; i++)
		text[i] = (char)('a' + i % 26);
	text[total] = '\0';
	for (size_t off = 0; off < total; off += WF_LOG_FRAGMENT_MAX) {
		size_t n = total - off < WF_LOG_FRAGMENT_MAX ? total - off : WF_LOG_FRAGMENT_MAX;
		char *frag = wf_xstrndup(text + off, n);
		rec(g_path, 0, 0, "stdout", off + n < total ? "P" : "F", frag);
		free(frag);
	}
	rec(g_path, 0, 0, "stdout", "F", "after");
	char *got = read_log(g_path, 2, 0, false, 0, NULL);
	assert_int_equal(strlen(got), total + 1 + 6);
	assert_memory_equal(got, text, total);
	assert_string_equal(got + total, "\nafter\n");
	free(got);

	/* a chain longer than WF_LOG_LINE_MAX comes out in pieces */
	unlink(g_path);
	char *frag = wf_xmalloc(WF_LOG_FRAGMENT_MAX + 1);
	memset(frag, 'z', WF_LOG_FRAGMENT_MAX);
	frag[WF_LOG_FRAGMENT_MAX] = '\0';
	int nfrag = WF_LOG_LINE_MAX / WF_LOG_FRAGMENT_MAX + 4;
	for (int i = 0; i < nfrag; i++)
		rec(g_path, 0, 0, "stdout", i + 1 < nfrag ? "P" : "F", frag);
	free(frag);
	got = read_log(g_path, -1, 0, false, 0, NULL);
	size_t len = strlen(got);
	assert_int_equal(len, (size_t)nfrag * WF_LOG_FRAGMENT_MAX + 2);
	assert_int_equal(got[WF_LOG_LINE_MAX], '\n');
	assert_int_equal(got[len - 1], '\n');
	free(got);
	free(text);
}

/* A sparse 4 GiB file with a few records at the end: a tail reads the last
 * blocks only (reading it whole would take gigabytes). */
static void test_huge_sparse_tail(void **state)
{
	(void)state;
	int fd = open(g_path, O_WRONLY | O_CREAT, 0644);
	assert_true(fd >= 0);
	off_t hole = (off_t)4 << 30;
	if (ftruncate(fd, hole) < 0) {
		close(fd);
		skip();
	}
	close(fd);
	append_raw(g_path, "\n", 1);
	rec(g_path, 0, 0, "stdout", "F", "x");
	rec(g_path, 0, 0, "stdout", "F", "y");
	rec(g_path, 0, 0, "stdout", "F", "z");
	assert_read(g_path, 2, 0, false, 0, "y\nz\n");
	off_t end;
	char *s = read_log(g_path, 0, 0, false, 0, &end);
	assert_string_equal(s, "");
	free(s);
	assert_int_equal(end, file_size(g_path));
	truncate(g_path, 0);
}

/* Many small records: tail across many blocks. */
static void test_tail_many_blocks(void **state)
{
	(void)state;
	wf_buf b;
	wf_buf_init(&b);
	for (int i = 0; i < 20000; i++)
		wf_buf_printf(&b, "2026-11-22T06:52:38.000000000Z stdout F n%05d\n", i);
	append_raw(g_path, b.data, b.len);
	wf_buf_free(&b);
	char *s = read_log(g_path, 5000, 0, false, 0, NULL);
	assert_int_equal(strlen(s), 5000 * 7);
	assert_memory_equal(s, "n15000\n", 7);
	assert_memory_equal(s + strlen(s) - 7, "n19999\n", 7);
	free(s);
	s = read_log(g_path, 3, T0, false, 0, NULL);
	assert_string_equal(s, "n19997\nn19998\nn19999\n");
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_valid),
	    cmocka_unit_test(test_parse_malformed),
	    cmocka_unit_test(test_time_format),
	    cmocka_unit_test_setup_teardown(test_missing, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_join_fragments, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_tail_since_ts_limit, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_malformed_skipped, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rotated_pair, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_follow_cursor, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_follow_tail_zero, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_read_from_offset, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_long_lines, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_huge_sparse_tail, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_tail_many_blocks, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
