/*
 * logs.h - container logs in the CRI format kubelet uses, for `kubectl logs`:
 * the record format the shim writes, and reading (tail, since, timestamps,
 * byte limits, follow).
 *
 * A log file is a sequence of records, one per line:
 *     "<RFC3339Nano> <stdout|stderr> <F|P>[:tag...] <text>\n"
 * A line the container wrote is one F record, or P records followed by an
 * F record of the same stream (lines longer than 16 KiB, or a final line
 * without a newline); readers join the fragments per stream, so stdout and
 * stderr fragments may interleave. When the file passes its size cap the
 * shim renames it to "<path>.1" (replacing an older one) and starts a new
 * one, always between records; readers treat "<path>.1" followed by
 * "<path>" as one stream.
 *
 * Readers skip malformed records (bad timestamp, stream or tag, or longer
 * than WF_LOG_RECORD_MAX) and ignore a last record without its newline (the
 * shim is writing it). They never hold a whole file in memory: tail scans
 * backwards in blocks, everything else streams forwards in blocks; a joined
 * line longer than WF_LOG_LINE_MAX is output in pieces of that size, each
 * as its own line.
 */
#ifndef WF_LOGS_H
#define WF_LOGS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "lib/wf_err.h"
#include "lib/wf_mem.h"

#define WF_LOG_FRAGMENT_MAX 16384      /* text bytes per record written by the shim */
#define WF_LOG_RECORD_MAX (256 * 1024) /* longest record a reader accepts, newline included */
#define WF_LOG_LINE_MAX (1024 * 1024)  /* longest joined line kept whole */

/* ------------------------------------------------------------------ */
/* Records                                                            */

typedef struct wf_log_record {
	int64_t sec;  /* seconds since the epoch (offset applied) */
	int32_t nsec; /* 0..999999999 */
	bool is_stderr;
	bool partial;	  /* P: the line continues in the next record of the stream */
	const char *text; /* borrowed from the parsed input; not NUL-terminated */
	size_t len;
} wf_log_record;

/* Parse one record (without its trailing newline) of `len` bytes.
 * Returns false, leaving *r unspecified, when it is not a valid record. */
bool wf_log_parse_record(const char *line, size_t len, wf_log_record *r);

/* Format ts as the shim writes it: "2026-11-22T06:52:38.123456789Z", always
 * nine fractional digits, UTC (30 characters). */
void wf_log_time_cri(const struct timespec *ts, char buf[40]);

/* Format like Go's time.RFC3339Nano in UTC, as kubelet prints --timestamps:
 * trailing zeros of the fraction dropped, no fraction when it is zero. */
void wf_log_time_nano(int64_t sec, int32_t nsec, char buf[40]);

/* ------------------------------------------------------------------ */
/* Reading                                                            */

typedef struct wf_log_opts {
	int64_t tail_lines;  /* < 0: all; otherwise the last N lines (before `since` applies,
				as kubelet does) */
	int64_t since_unix;  /* 0: from the start; else only lines whose (first fragment's)
				time is at or after this second */
	bool timestamps;     /* prefix each line with its RFC3339Nano time and a space */
	int64_t limit_bytes; /* 0: no limit; else output stops (mid-line) after this many
				bytes, prefixes included */
} wf_log_opts;

/* Where a follower stands. Positions are in the file identified by dev/ino
 * (which may since have been renamed to path.1): `offset` is a record
 * boundary where no line is half-read, to resume parsing from; lines that
 * end at or before `emitted` (in the file emitted_dev/emitted_ino) were
 * already output. A zeroed cursor means "from the start of path". Plain
 * data: copy it freely, nothing to free. */
typedef struct wf_log_cursor {
	off_t offset;
	dev_t dev;
	ino_t ino;
	off_t emitted;
	dev_t emitted_dev;
	ino_t emitted_ino;
} wf_log_cursor;

/* Append the selected lines of the log at `path` (and its rotated
 * predecessor path.1, if any) to out, as kubectl shows them. *end_offset
 * (may be NULL) receives the offset in `path` just past the last complete
 * record read, to continue with wf_log_read_from when following.
 * -WF_ENOENT if path is absent, -WF_EIO on a read error; out may then hold
 * part of the output. */
int wf_log_read(const char *path, const wf_log_opts *o, wf_buf *out, off_t *end_offset,
		wf_err *err);

/* Append complete lines written after *offset, advance *offset. Handles the
 * file being rotated (restarts at 0 when the file shrank). Stateless, so a
 * line split into P fragments that straddles *offset loses its first
 * fragments, and a rotation followed by growth past *offset before the next
 * call goes unnoticed: prefer the cursor pair below for `kubectl logs -f`. */
int wf_log_read_from(const char *path, off_t *offset, bool timestamps, wf_buf *out, wf_err *err);

/* Like wf_log_read, and leave in *cur (required) where a follower should
 * continue with wf_log_follow: nothing is lost or repeated between the two,
 * whatever the fragments and rotations. */
int wf_log_read_cursor(const char *path, const wf_log_opts *o, wf_buf *out, wf_log_cursor *cur,
		       wf_err *err);

/* Append the lines completed since *cur and advance it. Follows a rotation
 * (finishes path.1 when it is the cursor's file, then starts path at 0);
 * when the cursor's file is gone (rotated twice since), restarts at the
 * start of path. Returns 0 with nothing appended when there is nothing new
 * (including while path is briefly absent during a rotation); -WF_ENOENT
 * when neither path nor path.1 exists. */
int wf_log_follow(const char *path, wf_log_cursor *cur, bool timestamps, wf_buf *out, wf_err *err);

#endif
