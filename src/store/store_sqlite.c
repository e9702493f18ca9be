/*
 * store_sqlite.c - the embedded SQLite backend of the store: one writer
 * thread doing group commit, a small pool of read connections.
 *
 * Schema (a current-state table plus a change log, both in one file):
 *   kv(key BLOB PRIMARY KEY, create_rev, mod_rev, value BLOB)
 *       one row per live key; lists and gets read only this table, so a
 *       list of 50,000 objects is one index range scan, not kine's "latest
 *       row per key" query over the whole log;
 *   log(rev INTEGER PRIMARY KEY, type, key, create_rev, value, prev)
 *       one row per revision (a PUT's new and previous value, a DELETE's
 *       last value): the history that watches replay when the in-memory
 *       window no longer covers them. Compaction deletes rows <= rev;
 *   meta(name PRIMARY KEY, value): 'compacted', the compaction point.
 * The current revision is max(compacted, max(log.rev)): every write adds a
 * log row and compaction only removes rows at or below the compaction
 * point it records, so the revision is durable with no extra row to keep
 * and never goes backwards, across compaction and restart. A range read
 * computes it inside the same read transaction as the rows it returns.
 * Keys are bound as BLOBs everywhere, so SQLite compares them with memcmp;
 * a prefix range is [prefix, prefix_end) where prefix_end is the prefix
 * with trailing 0xFF bytes dropped and the last byte incremented (no upper
 * bound when nothing is left). The file carries application_id 'WHRF' and
 * user_version 1; any other non-empty database is refused.
 *
 * Durability and group commit: journal_mode=WAL, synchronous=FULL. Callers
 * of create/update/delete/compact put an op (on their stack) on the queue
 * and sleep on the op's own condition variable. The writer thread, the only
 * user of the write connection, takes the whole queue, applies every op in
 * one BEGIN IMMEDIATE transaction (an op that fails its check - exists,
 * absent, CAS - just records its error and changes nothing, the others go
 * on), commits once, publishes the events to the hub in revision order and
 * then wakes the callers. No timer: a lone op is committed at once; ops
 * that arrive during a commit form the next batch. If a statement fails the
 * whole batch rolls back and every op in it gets -WF_EIO (revisions are not
 * consumed). If COMMIT itself fails the store turns read-only: from then on
 * writes fail with -WF_EIO, because the state on disk is no longer known.
 *
 * Checkpoints: SQLite's automatic checkpoint would run inside the writer's
 * COMMIT and stall every queued writer for the length of a checkpoint and
 * its fsync. Instead a WAL hook on the write connection wakes a checkpointer
 * thread, with its own connection, once the WAL holds WF__SQ_CKPT_PAGES
 * pages; it runs PASSIVE checkpoints, which never block the writer or the
 * readers.
 *
 * One database, one store: before SQLite opens the file, open creates it
 * (mode 0600: it holds Secrets) and takes flock(LOCK_EX) through a
 * descriptor of its own, held until close (flock does not mix with the
 * fcntl locks SQLite uses). Closing any descriptor of a file drops the
 * process's fcntl locks on it, so that descriptor is closed only after every
 * connection of its store, and a second open in the same process is refused
 * from a table of open files (device, inode) before it opens one.
 *
 * Reads: `readers` connections (query_only), each used by one thread at a
 * time, taken from a free list; WAL lets them read a snapshot while the
 * writer commits. Every connection has cache_size = -cache_kib.
 */
#include "store/store_backend.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/wf_mem.h"

#define WF__SQ_APP_ID 0x57485246 /* "WHRF" */
#define WF__SQ_SCHEMA 1
#define WF__SQ_MAX_READERS 64
#define WF__SQ_MAX_CACHE_KIB (1 << 20)
#define WF__SQ_CKPT_PAGES 1000

enum wf__sq_op_kind { WF__OP_CREATE, WF__OP_UPDATE, WF__OP_DELETE, WF__OP_COMPACT };

/* A queued write; lives on the caller's stack until `done`. */
typedef struct wf__sq_op {
	enum wf__sq_op_kind kind;
	const char *key;
	size_t key_len;
	const char *value;
	size_t len;
	int64_t expect_rev; /* compact: the target revision */
	wf_kv *old_out;
	wf_err *err;

	int rc;
	int64_t rev;
	int64_t old_mod_rev;
	wf_store_event *ev;
	bool done;
	pthread_cond_t cond;
	struct wf__sq_op *next;
} wf__sq_op;

enum {
	W_BEGIN,
	W_COMMIT,
	W_ROLLBACK,
	W_EXISTS,
	W_SELECT,
	W_INSERT,
	W_UPDATE,
	W_DELETE,
	W_LOG,
	W_SET_COMPACTED,
	W_TRIM_LOG,
	W_N
};

static const char *const wf__sq_wsql[W_N] = {
    [W_BEGIN] = "BEGIN IMMEDIATE",
    [W_COMMIT] = "COMMIT",
    [W_ROLLBACK] = "ROLLBACK",
    [W_EXISTS] = "SELECT 1 FROM kv WHERE key = ?1",
    [W_SELECT] = "SELECT create_rev, mod_rev, value FROM kv WHERE key = ?1",
    [W_INSERT] = "INSERT INTO kv(key, create_rev, mod_rev, value) VALUES (?1, ?2, ?2, ?3)",
    [W_UPDATE] = "UPDATE kv SET mod_rev = ?2, value = ?3 WHERE key = ?1",
    [W_DELETE] = "DELETE FROM kv WHERE key = ?1",
    [W_LOG] = "INSERT INTO log(rev, type, key, create_rev, value, prev) "
	      "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [W_SET_COMPACTED] = "UPDATE meta SET value = ?1 WHERE name = 'compacted'",
    [W_TRIM_LOG] = "DELETE FROM log WHERE rev <= ?1",
};

enum {
	R_BEGIN,
	R_END,
	R_GET,
	R_REV,
	R_COMPACTED,
	R_RANGE_GE,
	R_RANGE_GE_LT,
	R_RANGE_GT,
	R_RANGE_GT_LT,
	R_COUNT,
	R_COUNT_LT,
	R_HISTORY,
	R_N
};

#define WF__SQ_REV_SQL                                                                             \
	"SELECT max(coalesce((SELECT value FROM meta WHERE name = 'compacted'), 0), "              \
	"coalesce((SELECT max(rev) FROM log), 0))"
#define WF__SQ_RANGE_SQL(cond)                                                                     \
	"SELECT key, create_rev, mod_rev, value FROM kv WHERE " cond " ORDER BY key LIMIT ?3"

static const char *const wf__sq_rsql[R_N] = {
    [R_BEGIN] = "BEGIN",
    [R_END] = "ROLLBACK",
    [R_GET] = "SELECT create_rev, mod_rev, value FROM kv WHERE key = ?1",
    [R_REV] = WF__SQ_REV_SQL,
    [R_COMPACTED] = "SELECT value FROM meta WHERE name = 'compacted'",
    [R_RANGE_GE] = WF__SQ_RANGE_SQL("key >= ?1"),
    [R_RANGE_GE_LT] = WF__SQ_RANGE_SQL("key >= ?1 AND key < ?2"),
    [R_RANGE_GT] = WF__SQ_RANGE_SQL("key > ?1"),
    [R_RANGE_GT_LT] = WF__SQ_RANGE_SQL("key > ?1 AND key < ?2"),
    [R_COUNT] = "SELECT count(*) FROM kv WHERE key >= ?1",
    [R_COUNT_LT] = "SELECT count(*) FROM kv WHERE key >= ?1 AND key < ?2",
    [R_HISTORY] = "SELECT rev, type, key, create_rev, value, prev FROM log "
		  "WHERE rev > ?1 AND rev <= ?2 ORDER BY rev",
};

static const char wf__sq_schema[] =
    "CREATE TABLE meta(name TEXT PRIMARY KEY, value INTEGER NOT NULL);"
    "CREATE TABLE kv(key BLOB PRIMARY KEY, create_rev INTEGER NOT NULL,"
    " mod_rev INTEGER NOT NULL, value BLOB NOT NULL);"
    "CREATE TABLE log(rev INTEGER PRIMARY KEY, type INTEGER NOT NULL, key BLOB NOT NULL,"
    " create_rev INTEGER NOT NULL, value BLOB NOT NULL, prev BLOB);"
    "INSERT INTO meta(name, value) VALUES ('compacted', 0);";

typedef struct wf__sq_reader {
	sqlite3 *db;
	sqlite3_stmt *st[R_N];
} wf__sq_reader;

typedef struct wf__sq {
	wf_store *hub;
	int cache_kib;
	int lock_fd; /* flock'd database file, or -1 */
	dev_t lock_dev;
	ino_t lock_ino;
	struct wf__sq *next_open; /* wf__sq_open_list */

	sqlite3 *wdb; /* the writer thread's alone once open returns */
	sqlite3_stmt *w[W_N];
	wf_store_event **evs; /* writer scratch: one batch's events */
	size_t evs_cap;
	bool broken; /* writer only: a COMMIT failed */

	pthread_t writer;
	bool writer_started;

	sqlite3 *cdb; /* the checkpointer's */
	pthread_t checkpointer;
	bool checkpointer_started;
	pthread_mutex_t cmu;
	pthread_cond_t ccond;
	bool ckpt_wanted, ckpt_stop;
	pthread_mutex_t qmu;
	pthread_cond_t qcond;
	wf__sq_op *head, *tail;
	bool stopping;

	int64_t rev;	   /* atomic: last committed revision */
	int64_t compacted; /* atomic */
	uint64_t writes;   /* atomic */
	uint64_t commits;  /* atomic */

	pthread_mutex_t pool_mu;
	pthread_cond_t pool_cond;
	wf__sq_reader *readers;
	int nreaders;
	wf__sq_reader **free_readers;
	int nfree;
} wf__sq;

/* ---- connections -------------------------------------------------------- */

static int wf__sq_fail(sqlite3 *db, wf_err *err, const char *what)
{
	return wf_err_set(err, WF_EIO, "store: %s: %s", what,
			  db ? sqlite3_errmsg(db) : "out of memory");
}

static int wf__sq_exec(sqlite3 *db, const char *sql, wf_err *err)
{
	if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return wf__sq_fail(db, err, sql);
	return 0;
}

/* Run a one-row, one-column integer query. */
static int wf__sq_query_int(sqlite3 *db, const char *sql, int64_t *out, wf_err *err)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return wf__sq_fail(db, err, sql);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_int64(st, 0);
	int ret = rc == SQLITE_ROW ? 0 : wf__sq_fail(db, err, sql);
	sqlite3_finalize(st);
	return ret;
}

static int wf__sq_connect(const char *path, int cache_kib, bool writer, sqlite3 **out, wf_err *err)
{
	sqlite3 *db = NULL;
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
	if (writer)
		flags |= SQLITE_OPEN_CREATE;
	if (sqlite3_open_v2(path, &db, flags, NULL) != SQLITE_OK) {
		int rc = wf_err_set(err, WF_EIO, "store: cannot open %s: %s", path,
				    db ? sqlite3_errmsg(db) : "out of memory");
		sqlite3_close(db);
		return rc;
	}
	sqlite3_busy_timeout(db, 5000);
	char *sql = wf_xasprintf("PRAGMA cache_size = -%d; PRAGMA synchronous = FULL;%s", cache_kib,
				 writer ? "" : " PRAGMA query_only = 1;");
	int rc = wf__sq_exec(db, sql, err);
	free(sql);
	if (rc < 0) {
		sqlite3_close(db);
		return rc;
	}
	*out = db;
	return 0;
}

static int wf__sq_prepare(sqlite3 *db, const char *const *sql, sqlite3_stmt **st, int n,
			  wf_err *err)
{
	for (int i = 0; i < n; i++) {
		if (sqlite3_prepare_v3(db, sql[i], -1, SQLITE_PREPARE_PERSISTENT, &st[i], NULL) !=
		    SQLITE_OK)
			return wf__sq_fail(db, err, sql[i]);
	}
	return 0;
}

static void wf__sq_disconnect(sqlite3 *db, sqlite3_stmt **st, int n)
{
	for (int i = 0; i < n; i++)
		sqlite3_finalize(st[i]);
	sqlite3_close(db);
}

/* Check that the file is ours (or empty) before changing anything, then
 * WAL, then the schema for a new file. */
static int wf__sq_setup(sqlite3 *db, const char *path, wf_err *err)
{
	int64_t app_id = 0, version = 0, tables = 0;
	int rc;
	if ((rc = wf__sq_query_int(db, "PRAGMA application_id", &app_id, err)) < 0 ||
	    (rc = wf__sq_query_int(db, "PRAGMA user_version", &version, err)) < 0 ||
	    (rc = wf__sq_query_int(db, "SELECT count(*) FROM sqlite_master", &tables, err)) < 0)
		return rc;
	bool fresh = app_id == 0 && tables == 0;
	if (!fresh && app_id != WF__SQ_APP_ID)
		return wf_err_set(err, WF_EIO, "store: %s is not a Wharf store", path);
	if (!fresh && version != WF__SQ_SCHEMA)
		return wf_err_set(err, WF_EIO, "store: %s has schema version %lld, not %d", path,
				  (long long)version, WF__SQ_SCHEMA);

	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db, "PRAGMA journal_mode = WAL", -1, &st, NULL) != SQLITE_OK)
		return wf__sq_fail(db, err, "cannot set WAL mode");
	const char *mode =
	    sqlite3_step(st) == SQLITE_ROW ? (const char *)sqlite3_column_text(st, 0) : NULL;
	bool wal = mode && sqlite3_stricmp(mode, "wal") == 0;
	sqlite3_finalize(st);
	if (!wal)
		return wf__sq_fail(db, err, "cannot set WAL mode");
	if ((rc = wf__sq_exec(db, "PRAGMA journal_size_limit = 67108864", err)) < 0)
		return rc;
	if (!fresh)
		return 0;

	char *sql = wf_xasprintf("BEGIN IMMEDIATE; %s PRAGMA application_id = %d;"
				 " PRAGMA user_version = %d; COMMIT;",
				 wf__sq_schema, WF__SQ_APP_ID, WF__SQ_SCHEMA);
	rc = wf__sq_exec(db, sql, err);
	free(sql);
	if (rc < 0 && !sqlite3_get_autocommit(db))
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

/* ---- reader pool -------------------------------------------------------- */

static wf__sq_reader *wf__sq_reader_take(wf__sq *q)
{
	pthread_mutex_lock(&q->pool_mu);
	while (q->nfree == 0)
		pthread_cond_wait(&q->pool_cond, &q->pool_mu);
	wf__sq_reader *r = q->free_readers[--q->nfree];
	pthread_mutex_unlock(&q->pool_mu);
	return r;
}

static void wf__sq_reader_give(wf__sq *q, wf__sq_reader *r)
{
	pthread_mutex_lock(&q->pool_mu);
	q->free_readers[q->nfree++] = r;
	pthread_cond_signal(&q->pool_cond);
	pthread_mutex_unlock(&q->pool_mu);
}

static void wf__sq_bind_key(sqlite3_stmt *st, int i, const char *key, size_t len)
{
	sqlite3_bind_blob64(st, i, key, len, SQLITE_STATIC);
}

/* Column as a NUL-terminated string (SQLite adds the NUL); never NULL. */
static const char *wf__sq_col_text(sqlite3_stmt *st, int i, size_t *len)
{
	const char *p = (const char *)sqlite3_column_text(st, i);
	*len = (size_t)sqlite3_column_bytes(st, i);
	return p ? p : "";
}

/* Begin a read transaction, so the statements that follow share a snapshot. */
static int wf__sq_read_begin(wf__sq_reader *r, wf_err *err)
{
	int rc = sqlite3_step(r->st[R_BEGIN]);
	sqlite3_reset(r->st[R_BEGIN]);
	return rc == SQLITE_DONE ? 0 : wf__sq_fail(r->db, err, "begin read");
}

static void wf__sq_read_end(wf__sq_reader *r)
{
	sqlite3_step(r->st[R_END]);
	sqlite3_reset(r->st[R_END]);
}

static int wf__sq_get(void *be, const char *key, wf_kv *out, wf_err *err)
{
	wf__sq *q = be;
	wf__sq_reader *r = wf__sq_reader_take(q);
	sqlite3_stmt *st = r->st[R_GET];
	size_t klen = strlen(key);
	wf__sq_bind_key(st, 1, key, klen);
	int rc = sqlite3_step(st);
	int ret = 0;
	if (rc == SQLITE_ROW) {
		size_t vlen;
		const char *v = wf__sq_col_text(st, 2, &vlen);
		out->key = wf_xstrndup(key, klen);
		out->value = wf_xstrndup(v, vlen);
		out->value_len = vlen;
		out->create_rev = sqlite3_column_int64(st, 0);
		out->mod_rev = sqlite3_column_int64(st, 1);
	} else if (rc == SQLITE_DONE) {
		ret = wf_err_set(err, WF_ENOENT, "key %s not found", key);
	} else {
		ret = wf__sq_fail(r->db, err, "get");
	}
	sqlite3_reset(st);
	wf__sq_reader_give(q, r);
	return ret;
}

/* The smallest string above every string that starts with prefix, in
 * memcmp order; 0 when there is none (empty prefix or only 0xFF bytes). */
static size_t wf__sq_prefix_end(const char *prefix, size_t len, char *buf)
{
	memcpy(buf, prefix, len);
	while (len && (unsigned char)buf[len - 1] == 0xFF)
		len--;
	if (len)
		buf[len - 1] = (char)((unsigned char)buf[len - 1] + 1);
	return len;
}

static int wf__sq_memcmp_order(const char *a, size_t alen, const char *b, size_t blen)
{
	int c = memcmp(a, b, alen < blen ? alen : blen);
	if (c)
		return c;
	return alen < blen ? -1 : alen > blen;
}

static int wf__sq_range(void *be, const char *prefix, const char *start_after, size_t limit,
			wf_range_fn fn, void *ctx, int64_t *rev_out, bool *more_out, wf_err *err)
{
	wf__sq *q = be;
	size_t plen = strlen(prefix), slen = strlen(start_after);
	char end[WF_STORE_MAX_KEY];
	size_t end_len = wf__sq_prefix_end(prefix, plen, end);
	bool after = slen && wf__sq_memcmp_order(start_after, slen, prefix, plen) >= 0;
	int which =
	    after ? (end_len ? R_RANGE_GT_LT : R_RANGE_GT) : (end_len ? R_RANGE_GE_LT : R_RANGE_GE);
	/* One row past the limit tells whether there is more. */
	int64_t sql_limit = limit && limit < (size_t)INT64_MAX ? (int64_t)limit + 1 : -1;

	wf__sq_reader *r = wf__sq_reader_take(q);
	int ret = wf__sq_read_begin(r, err);
	if (ret < 0)
		goto out_give;
	sqlite3_stmt *st = r->st[R_REV];
	if (sqlite3_step(st) != SQLITE_ROW) {
		ret = wf__sq_fail(r->db, err, "range revision");
		sqlite3_reset(st);
		goto out_end;
	}
	*rev_out = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);

	st = r->st[which];
	if (after)
		wf__sq_bind_key(st, 1, start_after, slen);
	else
		wf__sq_bind_key(st, 1, prefix, plen);
	if (end_len)
		wf__sq_bind_key(st, 2, end, end_len);
	sqlite3_bind_int64(st, 3, sql_limit);
	size_t n = 0;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (limit && n == limit) {
			*more_out = true;
			break;
		}
		n++;
		size_t klen;
		wf_kv kv;
		kv.key = (char *)wf__sq_col_text(st, 0, &klen);
		kv.value = (char *)wf__sq_col_text(st, 3, &kv.value_len);
		kv.create_rev = sqlite3_column_int64(st, 1);
		kv.mod_rev = sqlite3_column_int64(st, 2);
		int cb = fn(ctx, &kv);
		if (cb != 0) {
			if (cb < 0)
				ret = cb;
			rc = SQLITE_DONE;
			break;
		}
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		ret = wf__sq_fail(r->db, err, "range");
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
out_end:
	wf__sq_read_end(r);
out_give:
	wf__sq_reader_give(q, r);
	return ret;
}

static int wf__sq_count(void *be, const char *prefix, int64_t *count_out, wf_err *err)
{
	wf__sq *q = be;
	size_t plen = strlen(prefix);
	char end[WF_STORE_MAX_KEY];
	size_t end_len = wf__sq_prefix_end(prefix, plen, end);
	wf__sq_reader *r = wf__sq_reader_take(q);
	sqlite3_stmt *st = r->st[end_len ? R_COUNT_LT : R_COUNT];
	wf__sq_bind_key(st, 1, prefix, plen);
	if (end_len)
		wf__sq_bind_key(st, 2, end, end_len);
	int ret = 0;
	if (sqlite3_step(st) == SQLITE_ROW)
		*count_out = sqlite3_column_int64(st, 0);
	else
		ret = wf__sq_fail(r->db, err, "count");
	sqlite3_reset(st);
	wf__sq_reader_give(q, r);
	return ret;
}

static int wf__sq_history(void *be, const char *prefix, int64_t after_rev, int64_t upto_rev,
			  wf_store_history_fn fn, void *ctx, wf_err *err)
{
	wf__sq *q = be;
	size_t plen = strlen(prefix);
	wf__sq_reader *r = wf__sq_reader_take(q);
	int ret = wf__sq_read_begin(r, err);
	if (ret < 0)
		goto out_give;
	sqlite3_stmt *st = r->st[R_COMPACTED];
	int rc = sqlite3_step(st);
	int64_t compacted = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (rc != SQLITE_ROW) {
		ret = wf__sq_fail(r->db, err, "history");
		goto out_end;
	}
	if (after_rev < compacted) {
		ret = wf_err_set(err, WF_ECOMPACTED,
				 "revision %lld has been compacted (compaction point %lld)",
				 (long long)after_rev, (long long)compacted);
		goto out_end;
	}

	st = r->st[R_HISTORY];
	sqlite3_bind_int64(st, 1, after_rev);
	sqlite3_bind_int64(st, 2, upto_rev);
	int64_t expect = after_rev + 1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t rev = sqlite3_column_int64(st, 0);
		if (rev != expect)
			break;
		expect++;
		const char *key = sqlite3_column_blob(st, 2);
		size_t klen = (size_t)sqlite3_column_bytes(st, 2);
		if (klen < plen || memcmp(key, prefix, plen) != 0)
			continue;
		int type = sqlite3_column_int(st, 1);
		const void *v = sqlite3_column_blob(st, 4);
		size_t vlen = (size_t)sqlite3_column_bytes(st, 4);
		const void *prev = NULL;
		size_t prev_len = 0;
		if (sqlite3_column_type(st, 5) != SQLITE_NULL) {
			prev = sqlite3_column_blob(st, 5);
			prev_len = (size_t)sqlite3_column_bytes(st, 5);
			if (!prev)
				prev = "";
		}
		fn(ctx, wf__store_event_new(
			    type == WF_EVENT_DELETE ? WF_EVENT_DELETE : WF_EVENT_PUT, rev,
			    sqlite3_column_int64(st, 3), key, klen, v, vlen, prev, prev_len));
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		ret = wf__sq_fail(r->db, err, "history");
	else if (expect != upto_rev + 1)
		ret = wf_err_set(err, WF_EIO, "store: history has a gap at revision %lld",
				 (long long)expect);
	sqlite3_reset(st);
out_end:
	wf__sq_read_end(r);
out_give:
	wf__sq_reader_give(q, r);
	return ret;
}

/* ---- checkpoints -------------------------------------------------------- */

/* WAL hook: runs in the writer thread after each commit. */
static int wf__sq_wal_hook(void *arg, sqlite3 *db, const char *name, int pages)
{
	wf__sq *q = arg;
	if (pages >= WF__SQ_CKPT_PAGES) {
		pthread_mutex_lock(&q->cmu);
		if (!q->ckpt_wanted) {
			q->ckpt_wanted = true;
			pthread_cond_signal(&q->ccond);
		}
		pthread_mutex_unlock(&q->cmu);
	}
	return SQLITE_OK;
}

static void *wf__sq_checkpointer_main(void *arg)
{
	wf__sq *q = arg;
	pthread_mutex_lock(&q->cmu);
	for (;;) {
		while (!q->ckpt_wanted && !q->ckpt_stop)
			pthread_cond_wait(&q->ccond, &q->cmu);
		if (q->ckpt_stop)
			break;
		q->ckpt_wanted = false;
		pthread_mutex_unlock(&q->cmu);
		/* Failures (a reader still on old frames) are retried at the next hook. */
		sqlite3_wal_checkpoint_v2(q->cdb, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
		pthread_mutex_lock(&q->cmu);
	}
	pthread_mutex_unlock(&q->cmu);
	return NULL;
}

/* ---- the writer --------------------------------------------------------- */

static int wf__sq_run(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

static int wf__sq_log(wf__sq *q, const wf_store_event *ev)
{
	sqlite3_stmt *st = q->w[W_LOG];
	sqlite3_bind_int64(st, 1, ev->rev);
	sqlite3_bind_int(st, 2, ev->type);
	wf__sq_bind_key(st, 3, ev->key, strlen(ev->key));
	sqlite3_bind_int64(st, 4, ev->create_rev);
	sqlite3_bind_blob64(st, 5, ev->value, ev->value_len, SQLITE_STATIC);
	if (ev->prev_value)
		sqlite3_bind_blob64(st, 6, ev->prev_value, ev->prev_len, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 6);
	return wf__sq_run(st);
}

static int wf__sq_apply_compact(wf__sq *q, wf__sq_op *op, int64_t rev, int64_t *compacted)
{
	int64_t c = op->expect_rev;
	if (c > rev) {
		op->rc = wf_err_set(op->err, WF_EINVAL,
				    "compaction revision %lld is after the current revision %lld",
				    (long long)c, (long long)rev);
		return 0;
	}
	if (c <= *compacted) {
		op->rc = wf_err_set(op->err, WF_ECOMPACTED,
				    "revision %lld is already compacted (compaction point %lld)",
				    (long long)c, (long long)*compacted);
		return 0;
	}
	sqlite3_bind_int64(q->w[W_SET_COMPACTED], 1, c);
	sqlite3_bind_int64(q->w[W_TRIM_LOG], 1, c);
	if (wf__sq_run(q->w[W_SET_COMPACTED]) < 0 || wf__sq_run(q->w[W_TRIM_LOG]) < 0)
		return -1;
	*compacted = c;
	op->rc = 0;
	op->rev = c;
	return 0;
}

/*
 * Apply one op inside the batch's transaction, taking revision *rev + 1 if
 * it succeeds. Returns -1 only when SQLite failed (the batch must roll back);
 * a refused op returns 0 with op->rc set.
 */
static int wf__sq_apply(wf__sq *q, wf__sq_op *op, int64_t *rev, int64_t *compacted)
{
	if (op->kind == WF__OP_COMPACT)
		return wf__sq_apply_compact(q, op, *rev, compacted);

	int64_t next = *rev + 1;
	if (op->kind == WF__OP_CREATE) {
		sqlite3_stmt *st = q->w[W_EXISTS];
		wf__sq_bind_key(st, 1, op->key, op->key_len);
		int rc = sqlite3_step(st);
		sqlite3_reset(st);
		if (rc == SQLITE_ROW) {
			op->rc = wf_err_set(op->err, WF_EEXIST, "key %s already exists", op->key);
			return 0;
		}
		if (rc != SQLITE_DONE)
			return -1;
		op->ev = wf__store_event_new(WF_EVENT_PUT, next, next, op->key, op->key_len,
					     op->value, op->len, NULL, 0);
		st = q->w[W_INSERT];
		wf__sq_bind_key(st, 1, op->key, op->key_len);
		sqlite3_bind_int64(st, 2, next);
		sqlite3_bind_blob64(st, 3, op->value, op->len, SQLITE_STATIC);
		if (wf__sq_run(st) < 0)
			return -1;
	} else {
		sqlite3_stmt *st = q->w[W_SELECT];
		wf__sq_bind_key(st, 1, op->key, op->key_len);
		int rc = sqlite3_step(st);
		if (rc != SQLITE_ROW) {
			sqlite3_reset(st);
			if (rc != SQLITE_DONE)
				return -1;
			op->rc = wf_err_set(op->err, WF_ENOENT, "key %s not found", op->key);
			return 0;
		}
		int64_t create_rev = sqlite3_column_int64(st, 0);
		op->old_mod_rev = sqlite3_column_int64(st, 1);
		if (op->expect_rev && op->expect_rev != op->old_mod_rev) {
			sqlite3_reset(st);
			op->rc = wf_err_set(op->err, WF_ECONFLICT,
					    "key %s is at revision %lld, not %lld", op->key,
					    (long long)op->old_mod_rev, (long long)op->expect_rev);
			return 0;
		}
		const void *old = sqlite3_column_blob(st, 2);
		size_t old_len = (size_t)sqlite3_column_bytes(st, 2);
		if (!old)
			old = "";
		if (op->kind == WF__OP_UPDATE)
			op->ev = wf__store_event_new(WF_EVENT_PUT, next, create_rev, op->key,
						     op->key_len, op->value, op->len, old, old_len);
		else
			op->ev = wf__store_event_new(WF_EVENT_DELETE, next, create_rev, op->key,
						     op->key_len, old, old_len, NULL, 0);
		sqlite3_reset(st);

		if (op->kind == WF__OP_UPDATE) {
			st = q->w[W_UPDATE];
			wf__sq_bind_key(st, 1, op->key, op->key_len);
			sqlite3_bind_int64(st, 2, next);
			sqlite3_bind_blob64(st, 3, op->value, op->len, SQLITE_STATIC);
		} else {
			st = q->w[W_DELETE];
			wf__sq_bind_key(st, 1, op->key, op->key_len);
		}
		if (wf__sq_run(st) < 0)
			return -1;
	}
	if (wf__sq_log(q, op->ev) < 0)
		return -1;
	op->rc = 0;
	op->rev = next;
	*rev = next;
	return 0;
}

static void wf__sq_fill_old(wf__sq_op *op)
{
	if (op->kind != WF__OP_DELETE || !op->old_out)
		return;
	wf_kv *kv = op->old_out;
	kv->key = wf_xstrndup(op->key, op->key_len);
	kv->value = wf_xstrndup(op->ev->value, op->ev->value_len);
	kv->value_len = op->ev->value_len;
	kv->create_rev = op->ev->create_rev;
	kv->mod_rev = op->old_mod_rev;
}

static void wf__sq_run_batch(wf__sq *q, wf__sq_op *batch)
{
	int64_t rev = __atomic_load_n(&q->rev, __ATOMIC_RELAXED);
	int64_t compacted = __atomic_load_n(&q->compacted, __ATOMIC_RELAXED);
	int64_t new_compacted = compacted;
	char why[256] = "the store failed earlier and is read-only";
	bool failed = q->broken;

	if (!failed && wf__sq_run(q->w[W_BEGIN]) < 0)
		failed = true;
	for (wf__sq_op *op = batch; op && !failed; op = op->next)
		if (wf__sq_apply(q, op, &rev, &new_compacted) < 0)
			failed = true;
	if (!failed && wf__sq_run(q->w[W_COMMIT]) < 0) {
		failed = true;
		q->broken = true;
	}
	if (failed && !q->broken)
		snprintf(why, sizeof why, "%s", sqlite3_errmsg(q->wdb));
	else if (failed)
		snprintf(why, sizeof why, "commit failed, store is read-only: %s",
			 sqlite3_errmsg(q->wdb));
	if (failed && !sqlite3_get_autocommit(q->wdb))
		wf__sq_run(q->w[W_ROLLBACK]);

	size_t n = 0, nwrites = 0;
	for (wf__sq_op *op = batch; op; op = op->next) {
		if (failed) {
			wf_store_event_unref(op->ev);
			op->ev = NULL;
			op->rc = wf_err_set(op->err, WF_EIO, "store: write failed: %s", why);
			continue;
		}
		if (op->rc < 0 || !op->ev)
			continue;
		if (n == q->evs_cap) {
			q->evs_cap = q->evs_cap ? q->evs_cap * 2 : 64;
			q->evs = wf_xrealloc(q->evs, q->evs_cap * sizeof *q->evs);
		}
		wf__sq_fill_old(op);
		q->evs[n++] = op->ev; /* the hub takes this reference */
		op->ev = NULL;
		nwrites++;
	}
	if (!failed) {
		__atomic_store_n(&q->rev, rev, __ATOMIC_RELEASE);
		__atomic_add_fetch(&q->commits, 1, __ATOMIC_RELAXED);
		__atomic_add_fetch(&q->writes, nwrites, __ATOMIC_RELAXED);
		if (new_compacted > compacted) {
			__atomic_store_n(&q->compacted, new_compacted, __ATOMIC_RELEASE);
			wf__store_note_compacted(q->hub, new_compacted);
		}
		wf__store_publish(q->hub, q->evs, n);
	}

	pthread_mutex_lock(&q->qmu);
	for (wf__sq_op *op = batch, *next; op; op = next) {
		next = op->next;
		op->done = true;
		pthread_cond_signal(&op->cond);
	}
	pthread_mutex_unlock(&q->qmu);
}

static void *wf__sq_writer_main(void *arg)
{
	wf__sq *q = arg;
	pthread_mutex_lock(&q->qmu);
	for (;;) {
		while (!q->head && !q->stopping)
			pthread_cond_wait(&q->qcond, &q->qmu);
		if (!q->head)
			break;
		wf__sq_op *batch = q->head;
		q->head = q->tail = NULL;
		pthread_mutex_unlock(&q->qmu);
		wf__sq_run_batch(q, batch);
		pthread_mutex_lock(&q->qmu);
	}
	pthread_mutex_unlock(&q->qmu);
	return NULL;
}

/* Queue op and sleep until the writer has answered it. */
static int wf__sq_submit(wf__sq *q, wf__sq_op *op)
{
	op->done = false;
	op->next = NULL;
	op->ev = NULL;
	pthread_cond_init(&op->cond, NULL);
	pthread_mutex_lock(&q->qmu);
	if (q->stopping) {
		pthread_mutex_unlock(&q->qmu);
		pthread_cond_destroy(&op->cond);
		return wf_err_set(op->err, WF_ECLOSED, "store is closing");
	}
	if (q->tail)
		q->tail->next = op;
	else
		q->head = op;
	q->tail = op;
	if (q->head == op)
		pthread_cond_signal(&q->qcond);
	while (!op->done)
		pthread_cond_wait(&op->cond, &q->qmu);
	pthread_mutex_unlock(&q->qmu);
	pthread_cond_destroy(&op->cond);
	return op->rc;
}

static int wf__sq_create(void *be, const char *key, const char *value, size_t len, int64_t *rev_out,
			 wf_err *err)
{
	wf__sq_op op = {.kind = WF__OP_CREATE,
			.key = key,
			.key_len = strlen(key),
			.value = value,
			.len = len,
			.err = err};
	int rc = wf__sq_submit(be, &op);
	*rev_out = op.rev;
	return rc;
}

static int wf__sq_update(void *be, const char *key, const char *value, size_t len,
			 int64_t expect_rev, int64_t *rev_out, wf_err *err)
{
	wf__sq_op op = {.kind = WF__OP_UPDATE,
			.key = key,
			.key_len = strlen(key),
			.value = value,
			.len = len,
			.expect_rev = expect_rev,
			.err = err};
	int rc = wf__sq_submit(be, &op);
	*rev_out = op.rev;
	return rc;
}

static int wf__sq_del(void *be, const char *key, int64_t expect_rev, int64_t *rev_out,
		      wf_kv *old_out, wf_err *err)
{
	wf__sq_op op = {.kind = WF__OP_DELETE,
			.key = key,
			.key_len = strlen(key),
			.expect_rev = expect_rev,
			.old_out = old_out,
			.err = err};
	int rc = wf__sq_submit(be, &op);
	*rev_out = op.rev;
	return rc;
}

static int wf__sq_compact(void *be, int64_t rev, wf_err *err)
{
	wf__sq_op op = {.kind = WF__OP_COMPACT, .expect_rev = rev, .err = err};
	return wf__sq_submit(be, &op);
}

static int64_t wf__sq_revision(void *be)
{
	wf__sq *q = be;
	return __atomic_load_n(&q->rev, __ATOMIC_ACQUIRE);
}

static int64_t wf__sq_compacted(void *be)
{
	wf__sq *q = be;
	return __atomic_load_n(&q->compacted, __ATOMIC_ACQUIRE);
}

static void wf__sq_stats(void *be, wf_store_stats *out)
{
	wf__sq *q = be;
	out->writes = __atomic_load_n(&q->writes, __ATOMIC_RELAXED);
	out->commits = __atomic_load_n(&q->commits, __ATOMIC_RELAXED);
}

/* ---- open and close ----------------------------------------------------- */

static void wf__sq_unlock_file(wf__sq *q);

static void wf__sq_free(wf__sq *q)
{
	for (int i = 0; i < q->nreaders; i++)
		wf__sq_disconnect(q->readers[i].db, q->readers[i].st, R_N);
	if (q->cdb)
		sqlite3_close(q->cdb);
	if (q->wdb)
		wf__sq_disconnect(q->wdb, q->w, W_N);
	if (q->lock_fd >= 0)
		wf__sq_unlock_file(q);
	free(q->readers);
	free(q->free_readers);
	free(q->evs);
	pthread_cond_destroy(&q->pool_cond);
	pthread_mutex_destroy(&q->pool_mu);
	pthread_cond_destroy(&q->qcond);
	pthread_mutex_destroy(&q->qmu);
	pthread_cond_destroy(&q->ccond);
	pthread_mutex_destroy(&q->cmu);
	free(q);
}

static void wf__sq_close(void *be)
{
	wf__sq *q = be;
	pthread_mutex_lock(&q->qmu);
	q->stopping = true;
	pthread_cond_signal(&q->qcond);
	pthread_mutex_unlock(&q->qmu);
	if (q->writer_started)
		pthread_join(q->writer, NULL);
	pthread_mutex_lock(&q->cmu);
	q->ckpt_stop = true;
	pthread_cond_signal(&q->ccond);
	pthread_mutex_unlock(&q->cmu);
	if (q->checkpointer_started)
		pthread_join(q->checkpointer, NULL);
	wf__sq_free(q);
}

static const wf_store_backend_ops wf__sq_ops = {
    .version = WF_STORE_BACKEND_VERSION,
    .name = "sqlite",
    .close = wf__sq_close,
    .revision = wf__sq_revision,
    .compacted = wf__sq_compacted,
    .stats = wf__sq_stats,
    .get = wf__sq_get,
    .range = wf__sq_range,
    .count = wf__sq_count,
    .create = wf__sq_create,
    .update = wf__sq_update,
    .del = wf__sq_del,
    .compact = wf__sq_compact,
    .history = wf__sq_history,
};

static int wf__sq_open_readers(wf__sq *q, const char *path, int n, wf_err *err)
{
	q->readers = wf_xcalloc((size_t)n, sizeof *q->readers);
	q->free_readers = wf_xcalloc((size_t)n, sizeof *q->free_readers);
	for (int i = 0; i < n; i++) {
		wf__sq_reader *r = &q->readers[i];
		int rc = wf__sq_connect(path, q->cache_kib, false, &r->db, err);
		if (rc < 0)
			return rc;
		q->nreaders++;
		if ((rc = wf__sq_prepare(r->db, wf__sq_rsql, r->st, R_N, err)) < 0)
			return rc;
		q->free_readers[q->nfree++] = r;
	}
	return 0;
}

/* Stores open in this process, by database file. */
static pthread_mutex_t wf__sq_open_mu = PTHREAD_MUTEX_INITIALIZER;
static wf__sq *wf__sq_open_list;

/* Before any connection: refuse a database that a store already has open. */
static int wf__sq_lock_file(wf__sq *q, const char *path, wf_err *err)
{
	int rc = 0;
	struct stat st;
	pthread_mutex_lock(&wf__sq_open_mu);
	if (stat(path, &st) == 0) {
		for (wf__sq *o = wf__sq_open_list; o; o = o->next_open) {
			if (o->lock_dev == st.st_dev && o->lock_ino == st.st_ino) {
				rc = wf_err_set(err, WF_EIO, "store: %s is in use by another store",
						path);
				goto out;
			}
		}
	}
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0 || fstat(fd, &st) < 0) {
		rc = wf_err_set(err, WF_EIO, "store: cannot open %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		goto out;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		rc = wf_err_set(err, WF_EIO, "store: %s is in use by another store (%s)", path,
				strerror(errno));
		close(fd);
		goto out;
	}
	q->lock_fd = fd;
	q->lock_dev = st.st_dev;
	q->lock_ino = st.st_ino;
	q->next_open = wf__sq_open_list;
	wf__sq_open_list = q;
out:
	pthread_mutex_unlock(&wf__sq_open_mu);
	return rc;
}

/* After every connection of q is closed. */
static void wf__sq_unlock_file(wf__sq *q)
{
	pthread_mutex_lock(&wf__sq_open_mu);
	for (wf__sq **p = &wf__sq_open_list; *p; p = &(*p)->next_open) {
		if (*p == q) {
			*p = q->next_open;
			break;
		}
	}
	close(q->lock_fd);
	q->lock_fd = -1;
	pthread_mutex_unlock(&wf__sq_open_mu);
}

int wf_store_open_sqlite(const wf_store_options *opts, wf_store **out, wf_err *err)
{
	if (out)
		*out = NULL;
	if (!opts || !out || !opts->path || !opts->path[0])
		return wf_err_set(err, WF_EINVAL, "store: a database path is required");
	if (opts->cache_kib < 0 || opts->cache_kib > WF__SQ_MAX_CACHE_KIB)
		return wf_err_set(err, WF_EINVAL, "store: cache_kib %d is out of range 0..%d",
				  opts->cache_kib, WF__SQ_MAX_CACHE_KIB);
	if (opts->readers < 0 || opts->readers > WF__SQ_MAX_READERS)
		return wf_err_set(err, WF_EINVAL, "store: readers %d is out of range 0..%d",
				  opts->readers, WF__SQ_MAX_READERS);

	wf__sq *q = wf_xcalloc(1, sizeof *q);
	q->lock_fd = -1;
	pthread_mutex_init(&q->qmu, NULL);
	pthread_cond_init(&q->qcond, NULL);
	pthread_mutex_init(&q->pool_mu, NULL);
	pthread_cond_init(&q->pool_cond, NULL);
	pthread_mutex_init(&q->cmu, NULL);
	pthread_cond_init(&q->ccond, NULL);
	q->cache_kib = opts->cache_kib ? opts->cache_kib : 2048;
	wf_store *s = wf__store_new(opts);
	q->hub = s;

	int rc = wf__sq_lock_file(q, opts->path, err);
	if (rc < 0)
		goto fail;
	if ((rc = wf__sq_connect(opts->path, q->cache_kib, true, &q->wdb, err)) < 0)
		goto fail;
	if ((rc = wf__sq_setup(q->wdb, opts->path, err)) < 0 ||
	    (rc = wf__sq_prepare(q->wdb, wf__sq_wsql, q->w, W_N, err)) < 0 ||
	    (rc = wf__sq_query_int(q->wdb, WF__SQ_REV_SQL, &q->rev, err)) < 0 ||
	    (rc = wf__sq_query_int(q->wdb, wf__sq_rsql[R_COMPACTED], &q->compacted, err)) < 0)
		goto fail;
	rc = wf__sq_open_readers(q, opts->path, opts->readers ? opts->readers : 4, err);
	if (rc < 0)
		goto fail;
	if ((rc = wf__sq_connect(opts->path, 256, false, &q->cdb, err)) < 0)
		goto fail;
	if (pthread_create(&q->checkpointer, NULL, wf__sq_checkpointer_main, q) != 0) {
		rc = wf_err_set(err, WF_EIO, "store: cannot start the checkpointer thread");
		goto fail;
	}
	q->checkpointer_started = true;
	sqlite3_wal_hook(q->wdb, wf__sq_wal_hook, q);
	if (pthread_create(&q->writer, NULL, wf__sq_writer_main, q) != 0) {
		rc = wf_err_set(err, WF_EIO, "store: cannot start the writer thread");
		goto fail;
	}
	q->writer_started = true;
	wf__store_attach(s, &wf__sq_ops, q);
	*out = s;
	return 0;

fail:
	wf__sq_close(q);
	wf__store_discard(s);
	return rc;
}
