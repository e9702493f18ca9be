/*
 * test_store.c - unit tests of the versioned key-value store on its SQLite
 * backend: revisions, CAS, range reads, watches (backlog from memory and
 * from the log, live events, concurrency), unwatch safety, compaction,
 * reopen and durability, bad input. Each test gets its own temporary
 * directory, removed afterwards.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/wf_mem.h"
#include "store/store.h"

/* ---- fixture ------------------------------------------------------------ */

typedef struct fixture {
	char dir[64];
	char path[128];
	wf_store *s;
} fixture;

static void rm_dir(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		char p[512];
		snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
		unlink(p);
	}
	closedir(d);
	rmdir(dir);
}

static wf_store *open_store(fixture *f, size_t window)
{
	wf_store_options o = {
	    .path = f->path, .cache_kib = 512, .readers = 3, .history_window = window};
	wf_err err = {0};
	wf_store *s = NULL;
	int rc = wf_store_open_sqlite(&o, &s, &err);
	if (rc != 0)
		fprintf(stderr, "open: %s\n", err.msg);
	assert_int_equal(rc, 0);
	assert_non_null(s);
	return s;
}

static int setup(void **state)
{
	fixture *f = wf_xcalloc(1, sizeof *f);
	strcpy(f->dir, "/tmp/wf_store_test_XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->path, sizeof f->path, "%s/store.db", f->dir);
	f->s = open_store(f, 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	wf_store_close(f->s);
	rm_dir(f->dir);
	free(f);
	return 0;
}

static void reopen(fixture *f, size_t window)
{
	wf_store_close(f->s);
	f->s = open_store(f, window);
}

static int64_t put(wf_store *s, const char *key, const char *value)
{
	wf_kv kv;
	int64_t rev = 0;
	wf_err err = {0};
	if (wf_store_get(s, key, &kv, NULL) == 0) {
		wf_kv_free(&kv);
		assert_int_equal(wf_store_update(s, key, value, strlen(value), 0, &rev, &err), 0);
	} else {
		assert_int_equal(wf_store_create(s, key, value, strlen(value), &rev, &err), 0);
	}
	return rev;
}

/* ---- a watch callback that records what it sees ------------------------- */

typedef struct collector {
	pthread_mutex_t mu;
	wf_store_event **evs;
	size_t n, cap;
	int nulls;
	int in_cb;	 /* atomic */
	int overlapping; /* atomic: set if two calls ever overlapped */
	wf_watch *self;	 /* atomic: unwatch self after `stop_after` events, or at NULL */
	size_t stop_after;
	wf_watch *victim; /* unwatched at the first event */
} collector;

static void collector_init(collector *c)
{
	memset(c, 0, sizeof *c);
	pthread_mutex_init(&c->mu, NULL);
}

static void collector_free(collector *c)
{
	for (size_t i = 0; i < c->n; i++)
		wf_store_event_unref(c->evs[i]);
	free(c->evs);
	pthread_mutex_destroy(&c->mu);
}

static void collect(void *ctx, wf_store_event *ev)
{
	collector *c = ctx;
	if (__atomic_fetch_add(&c->in_cb, 1, __ATOMIC_SEQ_CST) != 0)
		__atomic_store_n(&c->overlapping, 1, __ATOMIC_SEQ_CST);
	pthread_mutex_lock(&c->mu);
	if (!ev) {
		c->nulls++;
	} else {
		if (c->n == c->cap) {
			c->cap = c->cap ? c->cap * 2 : 64;
			c->evs = wf_xrealloc(c->evs, c->cap * sizeof *c->evs);
		}
		c->evs[c->n++] = wf_store_event_ref(ev);
	}
	size_t n = c->n;
	wf_watch *victim = c->victim;
	c->victim = NULL;
	pthread_mutex_unlock(&c->mu);
	if (victim)
		wf_store_unwatch(victim);
	wf_watch *self = __atomic_load_n(&c->self, __ATOMIC_SEQ_CST);
	if (self && (ev ? c->stop_after && n == c->stop_after : true))
		wf_store_unwatch(self);
	__atomic_fetch_sub(&c->in_cb, 1, __ATOMIC_SEQ_CST);
}

static size_t collected(collector *c)
{
	pthread_mutex_lock(&c->mu);
	size_t n = c->n;
	pthread_mutex_unlock(&c->mu);
	return n;
}

/* ---- open and bad options ----------------------------------------------- */

static void test_open_bad_options(void **state)
{
	fixture *f = *state;
	wf_store *s = (wf_store *)1;
	wf_err err = {0};
	assert_int_equal(wf_store_open_sqlite(NULL, &s, &err), -WF_EINVAL);
	assert_null(s);
	wf_store_options o = {.path = ""};
	assert_int_equal(wf_store_open_sqlite(&o, &s, &err), -WF_EINVAL);
	o.path = f->path;
	assert_int_equal(wf_store_open_sqlite(&o, NULL, &err), -WF_EINVAL);
	o.readers = -1;
	assert_int_equal(wf_store_open_sqlite(&o, &s, &err), -WF_EINVAL);
	o.readers = 1000;
	assert_int_equal(wf_store_open_sqlite(&o, &s, &err), -WF_EINVAL);
	o.readers = 1;
	o.cache_kib = -5;
	assert_int_equal(wf_store_open_sqlite(&o, &s, &err), -WF_EINVAL);
	assert_int_equal(err.code, WF_EINVAL);
	assert_true(strlen(err.msg) > 0);

	/* A directory that does not exist. */
	char bad[256];
	snprintf(bad, sizeof bad, "%s/no/such/dir/x.db", f->dir);
	o.cache_kib = 0;
	o.path = bad;
	assert_int_equal(wf_store_open_sqlite(&o, &s, &err), -WF_EIO);
	assert_null(s);

	/* A file that is not SQLite. */
	snprintf(bad, sizeof bad, "%s/garbage.db", f->dir);
	FILE *fp = fopen(bad, "w");
	assert_non_null(fp);
	for (int i = 0; i < 200; i++)
		fputs("this is not a database file; ", fp);
	fclose(fp);
	assert_int_equal(wf_store_open_sqlite(&o, &s, &err), -WF_EIO);
	assert_null(s);

	/* Somebody else's SQLite database. */
	snprintf(bad, sizeof bad, "%s/other.db", f->dir);
	sqlite3 *db = NULL;
	assert_int_equal(sqlite3_open(bad, &db), SQLITE_OK);
	assert_int_equal(
	    sqlite3_exec(db, "CREATE TABLE t(x); INSERT INTO t VALUES (1);", NULL, NULL, NULL),
	    SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(wf_store_open_sqlite(&o, &s, &err), -WF_EIO);
	assert_non_null(strstr(err.msg, "not a Wharf store"));
	assert_null(s);

	/* The same database twice, while it is open. */
	o.path = f->path;
	assert_int_equal(wf_store_open_sqlite(&o, &s, &err), -WF_EIO);
	assert_non_null(strstr(err.msg, "in use"));
	assert_null(s);
	assert_int_equal(wf_store_revision(f->s), 0);

	wf_store_close(NULL);
}

/* ---- writes, CAS, revisions --------------------------------------------- */

static void test_crud_and_revisions(void **state)
{
	fixture *f = *state;
	wf_store *s = f->s;
	wf_err err = {0};
	int64_t rev = -1;
	wf_kv kv;

	assert_int_equal(wf_store_revision(s), 0);
	assert_int_equal(wf_store_compacted(s), 0);
	assert_int_equal(wf_store_get(s, "/a", &kv, &err), -WF_ENOENT);
	assert_int_equal(err.code, WF_ENOENT);

	assert_int_equal(wf_store_create(s, "/a", "one", 3, &rev, &err), 0);
	assert_int_equal(rev, 1);
	assert_int_equal(wf_store_create(s, "/b", "bee", 3, &rev, &err), 0);
	assert_int_equal(rev, 2);
	assert_int_equal(wf_store_create(s, "/a", "dup", 3, &rev, &err), -WF_EEXIST);
	assert_int_equal(err.code, WF_EEXIST);
	assert_int_equal(wf_store_revision(s), 2);

	assert_int_equal(wf_store_get(s, "/a", &kv, &err), 0);
	assert_string_equal(kv.key, "/a");
	assert_string_equal(kv.value, "one");
	assert_int_equal(kv.value_len, 3);
	assert_int_equal(kv.create_rev, 1);
	assert_int_equal(kv.mod_rev, 1);
	wf_kv_free(&kv);
	assert_null(kv.key);
	wf_kv_free(&kv);

	/* CAS success, then a stale CAS, then unconditional. */
	assert_int_equal(wf_store_update(s, "/a", "two", 3, 1, &rev, &err), 0);
	assert_int_equal(rev, 3);
	assert_int_equal(wf_store_update(s, "/a", "stale", 5, 1, &rev, &err), -WF_ECONFLICT);
	assert_int_equal(err.code, WF_ECONFLICT);
	assert_int_equal(wf_store_update(s, "/a", "three", 5, 0, &rev, &err), 0);
	assert_int_equal(rev, 4);
	assert_int_equal(wf_store_update(s, "/missing", "x", 1, 0, &rev, &err), -WF_ENOENT);
	assert_int_equal(wf_store_revision(s), 4);

	assert_int_equal(wf_store_get(s, "/a", &kv, &err), 0);
	assert_string_equal(kv.value, "three");
	assert_int_equal(kv.create_rev, 1);
	assert_int_equal(kv.mod_rev, 4);
	wf_kv_free(&kv);

	/* Delete: stale CAS, then right CAS with the old value returned. */
	wf_kv old;
	assert_int_equal(wf_store_delete(s, "/a", 3, &rev, &old, &err), -WF_ECONFLICT);
	assert_null(old.key);
	assert_int_equal(wf_store_delete(s, "/a", 4, &rev, &old, &err), 0);
	assert_int_equal(rev, 5);
	assert_string_equal(old.key, "/a");
	assert_string_equal(old.value, "three");
	assert_int_equal(old.create_rev, 1);
	assert_int_equal(old.mod_rev, 4);
	wf_kv_free(&old);
	assert_int_equal(wf_store_get(s, "/a", &kv, &err), -WF_ENOENT);
	assert_int_equal(wf_store_delete(s, "/a", 0, &rev, NULL, &err), -WF_ENOENT);
	assert_int_equal(wf_store_delete(s, "/b", 0, NULL, NULL, NULL), 0);

	/* Re-creating gets a fresh create_rev. */
	assert_int_equal(wf_store_create(s, "/a", "again", 5, &rev, &err), 0);
	assert_int_equal(rev, 7);
	assert_int_equal(wf_store_get(s, "/a", &kv, &err), 0);
	assert_int_equal(kv.create_rev, 7);
	assert_int_equal(kv.mod_rev, 7);
	wf_kv_free(&kv);
	assert_int_equal(wf_store_revision(s), 7);

	wf_store_stats st;
	wf_store_get_stats(s, &st);
	assert_int_equal(st.writes, 7);
	assert_true(st.commits >= 1 && st.commits <= 13); /* refused ops cost a commit too */
	assert_int_equal(st.watchers, 0);
}

static void test_bad_input(void **state)
{
	fixture *f = *state;
	wf_store *s = f->s;
	wf_err err = {0};
	int64_t rev = 0;
	wf_kv kv;

	assert_int_equal(wf_store_create(s, "", "x", 1, &rev, &err), -WF_EINVAL);
	assert_int_equal(wf_store_create(s, NULL, "x", 1, &rev, &err), -WF_EINVAL);
	assert_int_equal(wf_store_update(s, NULL, "x", 1, 0, &rev, &err), -WF_EINVAL);
	assert_int_equal(wf_store_delete(s, "", 0, &rev, NULL, &err), -WF_EINVAL);
	assert_int_equal(wf_store_get(s, "", &kv, &err), -WF_EINVAL);
	assert_int_equal(wf_store_get(s, "/x", NULL, &err), -WF_EINVAL);

	char *longkey = wf_xmalloc(WF_STORE_MAX_KEY + 2);
	memset(longkey, 'k', WF_STORE_MAX_KEY + 1);
	longkey[WF_STORE_MAX_KEY + 1] = '\0';
	assert_int_equal(wf_store_create(s, longkey, "x", 1, &rev, &err), -WF_EINVAL);
	assert_int_equal(wf_store_get(s, longkey, &kv, &err), -WF_EINVAL);
	int64_t n = 0;
	assert_int_equal(wf_store_count(s, longkey, &n, &err), -WF_EINVAL);
	/* exactly the limit is fine */
	longkey[WF_STORE_MAX_KEY] = '\0';
	assert_int_equal(wf_store_create(s, longkey, "x", 1, &rev, &err), 0);
	assert_int_equal(rev, 1);
	free(longkey);

	size_t big = WF_STORE_MAX_VALUE + 1;
	char *v = wf_xcalloc(1, big);
	assert_int_equal(wf_store_create(s, "/big", v, big, &rev, &err), -WF_ETOOBIG);
	assert_int_equal(err.code, WF_ETOOBIG);
	assert_int_equal(wf_store_create(s, "/big", NULL, 5, &rev, &err), -WF_EINVAL);
	assert_int_equal(wf_store_update(s, "/big", "x", 1, -3, &rev, &err), -WF_EINVAL);
	assert_int_equal(wf_store_delete(s, "/big", -1, &rev, NULL, &err), -WF_EINVAL);
	assert_int_equal(wf_store_get(s, "/big", &kv, &err), -WF_ENOENT);

	/* The largest value, binary with NULs and 0xFF, round-trips. */
	for (size_t i = 0; i < big - 1; i++)
		v[i] = (char)(i * 7);
	assert_int_equal(wf_store_create(s, "/big", v, big - 1, &rev, &err), 0);
	assert_int_equal(rev, 2);
	assert_int_equal(wf_store_get(s, "/big", &kv, &err), 0);
	assert_int_equal(kv.value_len, big - 1);
	assert_memory_equal(kv.value, v, big - 1);
	assert_int_equal(kv.value[big - 1], '\0');
	wf_kv_free(&kv);
	free(v);

	/* Empty value, and a NULL value of length 0. */
	assert_int_equal(wf_store_create(s, "/empty", NULL, 0, &rev, &err), 0);
	assert_int_equal(wf_store_get(s, "/empty", &kv, &err), 0);
	assert_int_equal(kv.value_len, 0);
	assert_string_equal(kv.value, "");
	wf_kv_free(&kv);
	assert_int_equal(wf_store_update(s, "/empty", "", 0, rev, &rev, &err), 0);

	/* Keys with high bytes and quotes are just bytes. */
	const char *odd = "/odd/\xff\xfe'\";--%_*";
	assert_int_equal(wf_store_create(s, odd, "o", 1, &rev, &err), 0);
	assert_int_equal(wf_store_get(s, odd, &kv, &err), 0);
	assert_string_equal(kv.key, odd);
	wf_kv_free(&kv);
	assert_int_equal(wf_store_get(s, "/odd/\xff\xfe", &kv, &err), -WF_ENOENT);

	assert_int_equal(wf_store_compact(s, 0, &err), -WF_EINVAL);
	assert_int_equal(wf_store_compact(s, -4, &err), -WF_EINVAL);
	assert_int_equal(wf_store_compact(s, wf_store_revision(s) + 1, &err), -WF_EINVAL);
	assert_int_equal(wf_store_compacted(s), 0);
}

/* Eight writers race to CAS the same key from the same revision. */
typedef struct cas_race {
	wf_store *s;
	int64_t expect;
	int rc;
} cas_race;

static void *cas_thread(void *arg)
{
	cas_race *c = arg;
	int64_t rev;
	c->rc = wf_store_update(c->s, "/race", "mine", 4, c->expect, &rev, NULL);
	return NULL;
}

static void test_cas_race(void **state)
{
	fixture *f = *state;
	int64_t rev = put(f->s, "/race", "start");
	for (int round = 0; round < 5; round++) {
		pthread_t t[8];
		cas_race c[8];
		for (int i = 0; i < 8; i++) {
			c[i] = (cas_race){.s = f->s, .expect = rev};
			pthread_create(&t[i], NULL, cas_thread, &c[i]);
		}
		int ok = 0, conflict = 0;
		for (int i = 0; i < 8; i++) {
			pthread_join(t[i], NULL);
			ok += c[i].rc == 0;
			conflict += c[i].rc == -WF_ECONFLICT;
		}
		assert_int_equal(ok, 1);
		assert_int_equal(conflict, 7);
		assert_int_equal(wf_store_revision(f->s), rev + 1);
		rev++;
	}
}

/* ---- range and count ---------------------------------------------------- */

typedef struct range_acc {
	char keys[32][64];
	int64_t mod[32];
	int n;
	int stop_at; /* return 1 after this many; 0 = never */
	int fail_at; /* return -WF_EIO after this many */
} range_acc;

static int range_cb(void *ctx, const wf_kv *kv)
{
	range_acc *a = ctx;
	assert_true(a->n < 32);
	snprintf(a->keys[a->n], sizeof a->keys[0], "%s", kv->key);
	assert_int_equal(strlen(kv->value), kv->value_len);
	a->mod[a->n] = kv->mod_rev;
	a->n++;
	if (a->stop_at && a->n == a->stop_at)
		return 1;
	if (a->fail_at && a->n == a->fail_at)
		return -WF_EIO;
	return 0;
}

static int do_range(wf_store *s, const char *prefix, const char *after, size_t limit, range_acc *a,
		    bool *more)
{
	int n0 = a->n;
	int64_t rev = -1;
	int rc = wf_store_range(s, prefix, after, limit, range_cb, a, &rev, more, NULL);
	if (rc == 0)
		assert_int_equal(rev, wf_store_revision(s));
	(void)n0;
	return rc;
}

static void test_range(void **state)
{
	fixture *f = *state;
	wf_store *s = f->s;
	const char *keys[] = {"/a",	     "/a/",	  "/a/1",	 "/a/2",     "/a/3",
			      "/a0",	     "/ab",	  "/b/1",	 "/\xff",    "/\xff\xff",
			      "/\xff\xff/x", "/\xfe\xff", "/\xfe\xff/y", "/\xff\x01"};
	size_t nk = sizeof keys / sizeof keys[0];
	for (size_t i = 0; i < nk; i++)
		put(s, keys[i], "v");
	put(s, "/a/2", "v2");

	range_acc a = {0};
	bool more = true;
	assert_int_equal(do_range(s, "/a/", NULL, 0, &a, &more), 0);
	assert_false(more);
	assert_int_equal(a.n, 4);
	assert_string_equal(a.keys[0], "/a/");
	assert_string_equal(a.keys[1], "/a/1");
	assert_string_equal(a.keys[2], "/a/2");
	assert_string_equal(a.keys[3], "/a/3");
	assert_int_equal(a.mod[2], (int64_t)nk + 1);

	/* Prefix without a separator includes /a0 and /ab but not /b. */
	memset(&a, 0, sizeof a);
	assert_int_equal(do_range(s, "/a", NULL, 0, &a, &more), 0);
	assert_int_equal(a.n, 7);
	assert_string_equal(a.keys[6], "/ab");

	/* limit + more, then continue after the last key. */
	memset(&a, 0, sizeof a);
	assert_int_equal(do_range(s, "/a/", "", 2, &a, &more), 0);
	assert_true(more);
	assert_int_equal(a.n, 2);
	assert_int_equal(do_range(s, "/a/", a.keys[1], 2, &a, &more), 0);
	assert_false(more);
	assert_int_equal(a.n, 4);
	assert_string_equal(a.keys[2], "/a/2");
	assert_string_equal(a.keys[3], "/a/3");
	/* exactly at the limit: no more */
	memset(&a, 0, sizeof a);
	assert_int_equal(do_range(s, "/a/", NULL, 4, &a, &more), 0);
	assert_false(more);
	assert_int_equal(a.n, 4);

	/* start_after before the prefix, and past it. */
	memset(&a, 0, sizeof a);
	assert_int_equal(do_range(s, "/a/", "/", 0, &a, &more), 0);
	assert_int_equal(a.n, 4);
	memset(&a, 0, sizeof a);
	assert_int_equal(do_range(s, "/a/", "/a/3", 0, &a, &more), 0);
	assert_int_equal(a.n, 0);
	assert_int_equal(do_range(s, "/a/", "/zzz", 0, &a, &more), 0);
	assert_int_equal(a.n, 0);

	/* Prefixes ending in 0xFF bytes. */
	memset(&a, 0, sizeof a);
	assert_int_equal(do_range(s, "/\xff", NULL, 0, &a, &more), 0);
	assert_int_equal(a.n, 4);
	assert_string_equal(a.keys[0], "/\xff");
	assert_string_equal(a.keys[1], "/\xff\x01");
	assert_string_equal(a.keys[2], "/\xff\xff");
	assert_string_equal(a.keys[3], "/\xff\xff/x");
	memset(&a, 0, sizeof a);
	assert_int_equal(do_range(s, "/\xff\xff", NULL, 0, &a, &more), 0);
	assert_int_equal(a.n, 2);
	memset(&a, 0, sizeof a);
	assert_int_equal(do_range(s, "/\xfe\xff", NULL, 0, &a, &more), 0);
	assert_int_equal(a.n, 2);
	assert_string_equal(a.keys[1], "/\xfe\xff/y");
	memset(&a, 0, sizeof a);
	assert_int_equal(do_range(s, "\xff", NULL, 0, &a, &more), 0);
	assert_int_equal(a.n, 0);

	/* Everything, NULL and "" prefix alike, in memcmp order. */
	memset(&a, 0, sizeof a);
	assert_int_equal(do_range(s, NULL, NULL, 0, &a, &more), 0);
	assert_int_equal(a.n, (int)nk);
	for (int i = 1; i < a.n; i++)
		assert_true(strcmp(a.keys[i - 1], a.keys[i]) < 0);
	memset(&a, 0, sizeof a);
	assert_int_equal(do_range(s, "", "", 0, &a, &more), 0);
	assert_int_equal(a.n, (int)nk);

	/* Early stop, and an error from the callback. */
	memset(&a, 0, sizeof a);
	a.stop_at = 3;
	assert_int_equal(do_range(s, "", NULL, 0, &a, &more), 0);
	assert_int_equal(a.n, 3);
	assert_false(more);
	memset(&a, 0, sizeof a);
	a.fail_at = 2;
	assert_int_equal(do_range(s, "", NULL, 0, &a, &more), -WF_EIO);
	assert_int_equal(a.n, 2);

	/* Bad arguments. */
	wf_err err = {0};
	assert_int_equal(wf_store_range(s, "/", NULL, 0, NULL, NULL, NULL, NULL, &err), -WF_EINVAL);
	char *lp = wf_xcalloc(1, WF_STORE_MAX_KEY + 10);
	memset(lp, '/', WF_STORE_MAX_KEY + 5);
	assert_int_equal(wf_store_range(s, lp, NULL, 0, range_cb, &a, NULL, NULL, &err),
			 -WF_EINVAL);
	assert_int_equal(wf_store_range(s, "/", lp, 0, range_cb, &a, NULL, NULL, &err), -WF_EINVAL);
	free(lp);

	/* Counts. */
	int64_t n = -1;
	assert_int_equal(wf_store_count(s, "/a/", &n, NULL), 0);
	assert_int_equal(n, 4);
	assert_int_equal(wf_store_count(s, "/a", &n, NULL), 0);
	assert_int_equal(n, 7);
	assert_int_equal(wf_store_count(s, "/\xff", &n, NULL), 0);
	assert_int_equal(n, 4);
	assert_int_equal(wf_store_count(s, NULL, &n, NULL), 0);
	assert_int_equal(n, (int64_t)nk);
	assert_int_equal(wf_store_count(s, "/nothing/", &n, NULL), 0);
	assert_int_equal(n, 0);
	assert_int_equal(wf_store_count(s, "/", NULL, NULL), -WF_EINVAL);
}

/* A range read sees one snapshot even while writers change every key. */
typedef struct snap_writer {
	wf_store *s;
	int stop;
	int errors;
} snap_writer;

static void *snap_write_thread(void *arg)
{
	snap_writer *w = arg;
	char key[32], val[32];
	for (int i = 0; !__atomic_load_n(&w->stop, __ATOMIC_SEQ_CST); i++) {
		snprintf(key, sizeof key, "/snap/%d", i % 10);
		snprintf(val, sizeof val, "%d", i);
		if (wf_store_update(w->s, key, val, strlen(val), 0, NULL, NULL) != 0)
			w->errors++;
	}
	return NULL;
}

typedef struct snap_check {
	int64_t max_mod;
	int n;
} snap_check;

static int snap_cb(void *ctx, const wf_kv *kv)
{
	snap_check *c = ctx;
	if (kv->mod_rev > c->max_mod)
		c->max_mod = kv->mod_rev;
	c->n++;
	return 0;
}

static void test_range_snapshot(void **state)
{
	fixture *f = *state;
	char key[32];
	for (int i = 0; i < 10; i++) {
		snprintf(key, sizeof key, "/snap/%d", i);
		put(f->s, key, "0");
	}
	snap_writer w = {.s = f->s};
	pthread_t t;
	pthread_create(&t, NULL, snap_write_thread, &w);
	for (int i = 0; i < 200; i++) {
		snap_check c = {0};
		int64_t rev = 0;
		assert_int_equal(
		    wf_store_range(f->s, "/snap/", NULL, 0, snap_cb, &c, &rev, NULL, NULL), 0);
		assert_int_equal(c.n, 10);
		/* The newest key in the snapshot was written at its revision
		 * exactly: every write changes one of these keys. */
		assert_int_equal(c.max_mod, rev);
	}
	__atomic_store_n(&w.stop, 1, __ATOMIC_SEQ_CST);
	pthread_join(t, NULL);
	assert_int_equal(w.errors, 0);
}

/* ---- watches ------------------------------------------------------------ */

static void assert_consecutive(collector *c, int64_t from)
{
	for (size_t i = 0; i < c->n; i++)
		assert_int_equal(c->evs[i]->rev, from + (int64_t)i);
}

static void test_watch_live(void **state)
{
	fixture *f = *state;
	wf_store *s = f->s;
	put(s, "/pods/x", "x0");
	collector c, all;
	collector_init(&c);
	collector_init(&all);
	wf_watch *w = NULL, *wall = NULL;
	wf_err err = {0};
	assert_int_equal(wf_store_watch(s, "/pods/", wf_store_revision(s), collect, &c, &w, &err),
			 0);
	assert_int_equal(wf_store_watch(s, NULL, 1, collect, &all, &wall, &err), 0);
	wf_store_stats st;
	wf_store_get_stats(s, &st);
	assert_int_equal(st.watchers, 2);

	int64_t r1 = put(s, "/pods/a", "a1");
	/* Delivered before the write call returned. */
	assert_int_equal(collected(&c), 1);
	int64_t r2 = put(s, "/pods/a", "a2");
	put(s, "/nodes/n", "n1");
	int64_t r3 = 0;
	assert_int_equal(wf_store_delete(s, "/pods/a", 0, &r3, NULL, &err), 0);
	assert_int_equal(collected(&c), 3);

	assert_int_equal(c.evs[0]->type, WF_EVENT_PUT);
	assert_int_equal(c.evs[0]->rev, r1);
	assert_int_equal(c.evs[0]->create_rev, r1);
	assert_string_equal(c.evs[0]->key, "/pods/a");
	assert_string_equal(c.evs[0]->value, "a1");
	assert_null(c.evs[0]->prev_value);
	assert_int_equal(c.evs[1]->rev, r2);
	assert_int_equal(c.evs[1]->create_rev, r1);
	assert_string_equal(c.evs[1]->value, "a2");
	assert_string_equal(c.evs[1]->prev_value, "a1");
	assert_int_equal(c.evs[1]->prev_len, 2);
	assert_int_equal(c.evs[2]->type, WF_EVENT_DELETE);
	assert_int_equal(c.evs[2]->rev, r3);
	assert_string_equal(c.evs[2]->value, "a2");
	assert_int_equal(c.evs[2]->create_rev, r1);

	assert_int_equal(collected(&all), 4);
	assert_consecutive(&all, 2);

	wf_store_unwatch(w);
	wf_store_unwatch(wall);
	wf_store_get_stats(s, &st);
	assert_int_equal(st.watchers, 0);
	put(s, "/pods/b", "b");
	assert_int_equal(collected(&c), 3);
	assert_int_equal(c.nulls, 0);
	assert_int_equal(c.overlapping, 0);
	collector_free(&c);
	collector_free(&all);

	/* Bad arguments. */
	assert_int_equal(wf_store_watch(s, "/", -1, collect, &c, &w, &err), -WF_EINVAL);
	assert_null(w);
	assert_int_equal(wf_store_watch(s, "/", 0, NULL, &c, &w, &err), -WF_EINVAL);
	assert_int_equal(wf_store_watch(s, "/", 0, collect, &c, NULL, &err), -WF_EINVAL);
	wf_store_unwatch(NULL);
}

static void test_watch_future_revision(void **state)
{
	fixture *f = *state;
	put(f->s, "/k", "0");
	collector c;
	collector_init(&c);
	wf_watch *w = NULL;
	assert_int_equal(
	    wf_store_watch(f->s, "/", wf_store_revision(f->s) + 3, collect, &c, &w, NULL), 0);
	for (int i = 1; i <= 5; i++) {
		char v[8];
		snprintf(v, sizeof v, "%d", i % 10);
		put(f->s, "/k", v);
	}
	assert_int_equal(collected(&c), 2);
	assert_int_equal(c.evs[0]->rev, 5);
	assert_int_equal(c.evs[1]->rev, 6);
	wf_store_unwatch(w);
	collector_free(&c);
}

/* Backlog from the in-memory window, or from the log with a tiny window. */
static void check_backlog(fixture *f, size_t window)
{
	reopen(f, window);
	wf_store *s = f->s;
	char key[32], val[32];
	for (int i = 1; i <= 40; i++) {
		snprintf(key, sizeof key, "/bl/%d", i % 7);
		snprintf(val, sizeof val, "v%d", i);
		put(s, key, val);
	}
	collector c;
	collector_init(&c);
	wf_watch *w = NULL;
	assert_int_equal(wf_store_watch(s, "/bl/", 10, collect, &c, &w, NULL), 0);
	assert_int_equal(collected(&c), 30);
	assert_consecutive(&c, 11);
	for (int i = 0; i < 30; i++) {
		wf_store_event *ev = c.evs[i];
		snprintf(val, sizeof val, "v%d", i + 11);
		assert_string_equal(ev->value, val);
		snprintf(key, sizeof key, "/bl/%d", (i + 11) % 7);
		assert_string_equal(ev->key, key);
		assert_int_equal(ev->type, WF_EVENT_PUT);
		/* the key was written 7 revisions earlier, or first created */
		if (i + 11 > 7) {
			snprintf(val, sizeof val, "v%d", i + 11 - 7);
			assert_non_null(ev->prev_value);
			assert_string_equal(ev->prev_value, val);
		}
	}
	int64_t r = 0;
	assert_int_equal(wf_store_delete(s, "/bl/3", 0, &r, NULL, NULL), 0);
	put(s, "/other", "x");
	put(s, "/bl/new", "n");
	assert_int_equal(collected(&c), 32);
	assert_int_equal(c.evs[30]->type, WF_EVENT_DELETE);
	assert_int_equal(c.evs[30]->rev, r);
	assert_int_equal(c.evs[31]->rev, r + 2);
	wf_store_unwatch(w);
	collector_free(&c);

	/* A prefix that matches nothing in the backlog, and one from 0. */
	collector_init(&c);
	assert_int_equal(wf_store_watch(s, "/none/", 0, collect, &c, &w, NULL), 0);
	assert_int_equal(collected(&c), 0);
	wf_store_unwatch(w);
	collector_free(&c);
	collector_init(&c);
	assert_int_equal(wf_store_watch(s, "", 0, collect, &c, &w, NULL), 0);
	assert_int_equal(collected(&c), 43);
	assert_consecutive(&c, 1);
	assert_int_equal(c.evs[42]->type, WF_EVENT_PUT);
	wf_store_unwatch(w);
	assert_int_equal(c.overlapping, 0);
	collector_free(&c);
}

static void test_watch_backlog_memory(void **state)
{
	check_backlog(*state, 1000);
}

static void test_watch_backlog_db(void **state)
{
	check_backlog(*state, 4);
}

/* The window also keeps to its byte budget (beyond the newest 64 events):
 * a watch from before it still gets every event, from the log. */
static void test_watch_window_bytes(void **state)
{
	fixture *f = *state;
	wf_store_close(f->s);
	wf_store_options o = {.path = f->path, .history_window = 1000, .history_bytes = 8192};
	wf_err err = {0};
	assert_int_equal(wf_store_open_sqlite(&o, &f->s, &err), 0);
	char key[32], val[128];
	memset(val, 'x', 99);
	val[99] = '\0';
	for (int i = 1; i <= 300; i++) {
		snprintf(key, sizeof key, "/wb/%d", i);
		put(f->s, key, val);
	}
	wf_store_stats st;
	wf_store_get_stats(f->s, &st);
	/* 300 creates of 99 bytes: 82 fit in 8 KiB, the newest 64 always stay */
	assert_true(st.window_events >= 64 && st.window_events < 100);
	assert_true(st.window_bytes <= 8192);
	collector c;
	collector_init(&c);
	wf_watch *w = NULL;
	assert_int_equal(wf_store_watch(f->s, "/wb/", 0, collect, &c, &w, NULL), 0);
	assert_int_equal(collected(&c), 300);
	assert_consecutive(&c, 1);
	wf_store_unwatch(w);
	collector_free(&c);
	/* Values bigger than the whole budget: the newest 64 still stay. */
	char *big = wf_xmalloc(10000);
	memset(big, 'y', 9999);
	big[9999] = '\0';
	for (int i = 0; i < 100; i++)
		put(f->s, "/wb/big", big);
	free(big);
	wf_store_get_stats(f->s, &st);
	assert_int_equal(st.window_events, 64);
}

/* Events outlive the store's references; cache slots are freed with them. */
static void test_event_refcount(void **state)
{
	fixture *f = *state;
	collector c;
	collector_init(&c);
	wf_watch *w = NULL;
	assert_int_equal(wf_store_watch(f->s, "/", 0, collect, &c, &w, NULL), 0);
	put(f->s, "/r", "value");
	assert_int_equal(collected(&c), 1);
	wf_store_event *ev = wf_store_event_ref(c.evs[0]);
	ev->cache[0] = wf_xstrdup("encoded once");
	ev->cache[1] = wf_xstrdup("and twice");
	ev->cache_free = free;
	wf_store_unwatch(w);
	collector_free(&c);
	/* The store still holds it in its window; ours goes at unref. */
	reopen(f, 0);
	assert_int_equal(ev->refcount, 1);
	assert_string_equal(ev->value, "value");
	wf_store_event_unref(ev);
	wf_store_event_unref(NULL);
}

/* ---- concurrency: writers while watchers come and go -------------------- */

#define CC_WRITERS 4
#define CC_WRITES 300

typedef struct cc_shared {
	wf_store *s;
	int stop;
	int write_errors;
	int watch_errors;
	collector full; /* watching everything from revision 0 */
	pthread_mutex_t mu;
	char fail[256];
} cc_shared;

typedef struct cc_writer {
	cc_shared *sh;
	int id;
} cc_writer;

static void *cc_write_thread(void *arg)
{
	cc_writer *cw = arg;
	char key[32], val[32];
	for (int j = 0; j < CC_WRITES; j++) {
		/* each key: created, updated, now and then deleted and re-created */
		int k = j >= 5 && j % 17 == 1 ? (j - 1) % 5 : j % 5;
		snprintf(key, sizeof key, "/cc/%d/%d", cw->id, k);
		snprintf(val, sizeof val, "%d-%d", cw->id, j);
		int rc;
		if (j < 5 || j % 17 == 1)
			rc = wf_store_create(cw->sh->s, key, val, strlen(val), NULL, NULL);
		else if (j % 17 == 0)
			rc = wf_store_delete(cw->sh->s, key, 0, NULL, NULL, NULL);
		else
			rc = wf_store_update(cw->sh->s, key, val, strlen(val), 0, NULL, NULL);
		if (rc != 0)
			__atomic_add_fetch(&cw->sh->write_errors, 1, __ATOMIC_SEQ_CST);
	}
	return NULL;
}

typedef struct cc_session {
	char prefix[16];
	int64_t after;
	int64_t *revs;
	size_t n;
} cc_session;

static void cc_fail(cc_shared *sh, const char *msg)
{
	pthread_mutex_lock(&sh->mu);
	if (!sh->fail[0])
		snprintf(sh->fail, sizeof sh->fail, "%s", msg);
	sh->watch_errors++;
	pthread_mutex_unlock(&sh->mu);
}

typedef struct cc_watcher {
	cc_shared *sh;
	unsigned seed;
	cc_session *sessions;
	size_t nsessions, cap;
} cc_watcher;

static void *cc_watch_thread(void *arg)
{
	cc_watcher *cw = arg;
	cc_shared *sh = cw->sh;
	while (!__atomic_load_n(&sh->stop, __ATOMIC_SEQ_CST)) {
		int64_t now = wf_store_revision(sh->s);
		int64_t after;
		if (rand_r(&cw->seed) % 2)
			after = now - (int64_t)(rand_r(&cw->seed) % 20); /* the window */
		else
			after = now ? (int64_t)(rand_r(&cw->seed) % (unsigned)now) : 0;
		if (after < 0)
			after = 0;
		cc_session ses = {.after = after};
		if (rand_r(&cw->seed) % 3 == 0)
			snprintf(ses.prefix, sizeof ses.prefix, "/cc/%u/", rand_r(&cw->seed) % 4);
		collector c;
		collector_init(&c);
		wf_watch *w = NULL;
		wf_err err = {0};
		int rc = wf_store_watch(sh->s, ses.prefix, after, collect, &c, &w, &err);
		if (rc != 0) {
			cc_fail(sh, err.msg);
			collector_free(&c);
			break;
		}
		usleep(rand_r(&cw->seed) % 3000);
		wf_store_unwatch(w);
		if (c.overlapping)
			cc_fail(sh, "overlapping callbacks");
		ses.n = c.n;
		ses.revs = wf_xcalloc(c.n + 1, sizeof *ses.revs);
		for (size_t i = 0; i < c.n; i++) {
			ses.revs[i] = c.evs[i]->rev;
			if (strncmp(c.evs[i]->key, ses.prefix, strlen(ses.prefix)) != 0)
				cc_fail(sh, "event outside the prefix");
		}
		collector_free(&c);
		if (cw->nsessions == cw->cap) {
			cw->cap = cw->cap ? cw->cap * 2 : 16;
			cw->sessions = wf_xrealloc(cw->sessions, cw->cap * sizeof *cw->sessions);
		}
		cw->sessions[cw->nsessions++] = ses;
	}
	return NULL;
}

static void test_watch_concurrent(void **state)
{
	fixture *f = *state;
	reopen(f, 32);
	cc_shared sh = {.s = f->s};
	pthread_mutex_init(&sh.mu, NULL);
	collector_init(&sh.full);
	wf_watch *full = NULL;
	assert_int_equal(wf_store_watch(f->s, "", 0, collect, &sh.full, &full, NULL), 0);

	pthread_t wt[CC_WRITERS], vt[3];
	cc_writer cw[CC_WRITERS];
	cc_watcher vw[3];
	for (int i = 0; i < 3; i++) {
		vw[i] = (cc_watcher){.sh = &sh, .seed = 1234u + (unsigned)i};
		pthread_create(&vt[i], NULL, cc_watch_thread, &vw[i]);
	}
	for (int i = 0; i < CC_WRITERS; i++) {
		cw[i] = (cc_writer){.sh = &sh, .id = i};
		pthread_create(&wt[i], NULL, cc_write_thread, &cw[i]);
	}
	for (int i = 0; i < CC_WRITERS; i++)
		pthread_join(wt[i], NULL);
	__atomic_store_n(&sh.stop, 1, __ATOMIC_SEQ_CST);
	for (int i = 0; i < 3; i++)
		pthread_join(vt[i], NULL);
	wf_store_unwatch(full);
	if (sh.fail[0])
		fprintf(stderr, "watch failure: %s\n", sh.fail);
	assert_int_equal(sh.watch_errors, 0);
	assert_int_equal(sh.write_errors, 0);

	/* The full watch saw every revision once, in order. */
	int64_t last = wf_store_revision(f->s);
	assert_true(last > CC_WRITERS * CC_WRITES / 2);
	assert_int_equal(sh.full.n, (size_t)last);
	assert_consecutive(&sh.full, 1);
	assert_int_equal(sh.full.overlapping, 0);

	/* Every session saw exactly the matching events after its start, up to
	 * the last one it saw, with no gap and no duplicate. */
	size_t total = 0;
	for (int t = 0; t < 3; t++) {
		for (size_t k = 0; k < vw[t].nsessions; k++) {
			cc_session *ses = &vw[t].sessions[k];
			total++;
			size_t j = 0;
			int64_t upto = ses->n ? ses->revs[ses->n - 1] : ses->after;
			size_t plen = strlen(ses->prefix);
			for (int64_t r = ses->after + 1; r <= upto; r++) {
				wf_store_event *ev = sh.full.evs[r - 1];
				if (strncmp(ev->key, ses->prefix, plen) != 0)
					continue;
				assert_true(j < ses->n);
				assert_int_equal(ses->revs[j], r);
				j++;
			}
			assert_int_equal(j, ses->n);
			free(ses->revs);
		}
		free(vw[t].sessions);
	}
	assert_true(total > 3);
	collector_free(&sh.full);
	pthread_mutex_destroy(&sh.mu);

	wf_store_stats st;
	wf_store_get_stats(f->s, &st);
	assert_int_equal(st.watchers, 0);
	assert_int_equal(st.writes, (uint64_t)last);
	/* Four writers must have shared commits at least once. */
	assert_true(st.commits < st.writes);
}

/* ---- unwatch safety ----------------------------------------------------- */

typedef struct slow_cb {
	int calls;  /* atomic */
	int inside; /* atomic */
} slow_cb;

static void slow_fn(void *ctx, wf_store_event *ev)
{
	slow_cb *c = ctx;
	__atomic_store_n(&c->inside, 1, __ATOMIC_SEQ_CST);
	usleep(300);
	__atomic_add_fetch(&c->calls, 1, __ATOMIC_SEQ_CST);
	__atomic_store_n(&c->inside, 0, __ATOMIC_SEQ_CST);
}

typedef struct bg_writer {
	wf_store *s;
	int stop;
} bg_writer;

static void *bg_write_thread(void *arg)
{
	bg_writer *b = arg;
	char v[32];
	for (int i = 0; !__atomic_load_n(&b->stop, __ATOMIC_SEQ_CST); i++) {
		snprintf(v, sizeof v, "%d", i);
		wf_store_update(b->s, "/u/k", v, strlen(v), 0, NULL, NULL);
	}
	return NULL;
}

static void test_unwatch_safety(void **state)
{
	fixture *f = *state;
	put(f->s, "/u/k", "0");
	bg_writer b = {.s = f->s};
	pthread_t t;
	pthread_create(&t, NULL, bg_write_thread, &b);
	for (int round = 0; round < 15; round++) {
		slow_cb c = {0};
		wf_watch *w = NULL;
		assert_int_equal(
		    wf_store_watch(f->s, "/u/", wf_store_revision(f->s), slow_fn, &c, &w, NULL), 0);
		usleep(2000 + 500 * round);
		wf_store_unwatch(w);
		assert_int_equal(__atomic_load_n(&c.inside, __ATOMIC_SEQ_CST), 0);
		int calls = __atomic_load_n(&c.calls, __ATOMIC_SEQ_CST);
		usleep(5000);
		assert_int_equal(__atomic_load_n(&c.calls, __ATOMIC_SEQ_CST), calls);
	}
	__atomic_store_n(&b.stop, 1, __ATOMIC_SEQ_CST);
	pthread_join(t, NULL);
}

static void test_unwatch_from_callback(void **state)
{
	fixture *f = *state;
	collector self, victim, killer;
	collector_init(&self);
	collector_init(&victim);
	collector_init(&killer);
	wf_watch *ws = NULL, *wv = NULL, *wk = NULL;
	assert_int_equal(wf_store_watch(f->s, "/", 0, collect, &self, &ws, NULL), 0);
	self.stop_after = 3;
	__atomic_store_n(&self.self, ws, __ATOMIC_SEQ_CST);
	assert_int_equal(wf_store_watch(f->s, "/", 0, collect, &victim, &wv, NULL), 0);
	assert_int_equal(wf_store_watch(f->s, "/", 0, collect, &killer, &wk, NULL), 0);
	killer.victim = wv;

	for (int i = 0; i < 6; i++) {
		char k[16];
		snprintf(k, sizeof k, "/k%d", i);
		put(f->s, k, "v");
	}
	assert_int_equal(collected(&self), 3);
	assert_true(collected(&victim) <= 1);
	assert_int_equal(collected(&killer), 6);
	wf_store_stats st;
	wf_store_get_stats(f->s, &st);
	assert_int_equal(st.watchers, 1);
	wf_store_unwatch(wk);
	collector_free(&self);
	collector_free(&victim);
	collector_free(&killer);
}

/* Closing the store ends each watch with one NULL event; the handles stay
 * valid for wf_store_unwatch, which frees the rest of the store. */
typedef struct late_unwatch {
	wf_watch *w;
	unsigned delay_us;
} late_unwatch;

static void *late_unwatch_thread(void *arg)
{
	late_unwatch *l = arg;
	usleep(l->delay_us);
	wf_store_unwatch(l->w);
	return NULL;
}

static void test_close_ends_watches(void **state)
{
	fixture *f = *state;
	collector a, b;
	collector_init(&a);
	collector_init(&b);
	wf_watch *wa = NULL, *wb = NULL;
	assert_int_equal(wf_store_watch(f->s, "/a", 0, collect, &a, &wa, NULL), 0);
	assert_int_equal(wf_store_watch(f->s, "/b", 0, collect, &b, &wb, NULL), 0);
	put(f->s, "/a", "1");
	/* b unwatches itself on the NULL */
	__atomic_store_n(&b.self, wb, __ATOMIC_SEQ_CST);
	wf_store_close(f->s);
	f->s = NULL;
	assert_int_equal(a.nulls, 1);
	assert_int_equal(b.nulls, 1);
	assert_int_equal(a.n, 1);
	wf_store_unwatch(wa);
	assert_int_equal(a.nulls, 1);
	collector_free(&a);
	collector_free(&b);

	/* Unwatch racing with close, from another thread, either order. */
	for (unsigned round = 0; round < 8; round++) {
		f->s = open_store(f, 0);
		assert_int_equal(wf_store_revision(f->s), 1);
		collector_init(&a);
		wf_watch *w = NULL;
		assert_int_equal(wf_store_watch(f->s, "/", 0, collect, &a, &w, NULL), 0);
		assert_int_equal(collected(&a), 1);
		late_unwatch l = {.w = w, .delay_us = round * 300};
		pthread_t t;
		pthread_create(&t, NULL, late_unwatch_thread, &l);
		wf_store_close(f->s);
		f->s = NULL;
		pthread_join(t, NULL);
		assert_true(a.nulls <= 1);
		assert_int_equal(a.overlapping, 0);
		collector_free(&a);
	}
	f->s = open_store(f, 0);
}

/* ---- compaction --------------------------------------------------------- */

static void test_compaction(void **state)
{
	fixture *f = *state;
	reopen(f, 4);
	wf_store *s = f->s;
	wf_err err = {0};
	char v[16];
	for (int i = 1; i <= 20; i++) {
		snprintf(v, sizeof v, "%d", i);
		put(s, i % 2 ? "/c/odd" : "/c/even", v);
	}
	assert_int_equal(wf_store_compact(s, 10, &err), 0);
	assert_int_equal(wf_store_compacted(s), 10);
	assert_int_equal(wf_store_revision(s), 20);

	collector c;
	collector_init(&c);
	wf_watch *w = NULL;
	assert_int_equal(wf_store_watch(s, "/c/", 3, collect, &c, &w, &err), -WF_ECOMPACTED);
	assert_int_equal(err.code, WF_ECOMPACTED);
	assert_null(w);
	assert_int_equal(wf_store_watch(s, "/c/", 9, collect, &c, &w, &err), -WF_ECOMPACTED);
	assert_int_equal(collected(&c), 0);
	/* From the compaction point itself: everything after it, from the log. */
	assert_int_equal(wf_store_watch(s, "/c/", 10, collect, &c, &w, &err), 0);
	assert_int_equal(collected(&c), 10);
	assert_consecutive(&c, 11);
	wf_store_unwatch(w);
	collector_free(&c);

	assert_int_equal(wf_store_compact(s, 10, &err), -WF_ECOMPACTED);
	assert_int_equal(wf_store_compact(s, 5, &err), -WF_ECOMPACTED);
	assert_int_equal(wf_store_compact(s, 21, &err), -WF_EINVAL);

	/* Current values survive compaction. */
	wf_kv kv;
	assert_int_equal(wf_store_get(s, "/c/odd", &kv, &err), 0);
	assert_string_equal(kv.value, "19");
	wf_kv_free(&kv);

	/* Compact everything: the revision still stands, also after reopen. */
	assert_int_equal(wf_store_compact(s, 20, &err), 0);
	assert_int_equal(wf_store_revision(s), 20);
	reopen(f, 4);
	s = f->s;
	assert_int_equal(wf_store_revision(s), 20);
	assert_int_equal(wf_store_compacted(s), 20);
	assert_int_equal(wf_store_watch(s, "/c/", 19, collect, &c, &w, &err), -WF_ECOMPACTED);
	collector_init(&c);
	assert_int_equal(wf_store_watch(s, "/c/", 20, collect, &c, &w, &err), 0);
	int64_t rev = 0;
	assert_int_equal(wf_store_update(s, "/c/odd", "21", 2, 19, &rev, &err), 0);
	assert_int_equal(rev, 21);
	assert_int_equal(collected(&c), 1);
	assert_string_equal(c.evs[0]->prev_value, "19");
	wf_store_unwatch(w);
	collector_free(&c);
	int64_t snap = 0;
	range_acc a = {0};
	assert_int_equal(wf_store_range(s, "/c/", NULL, 0, range_cb, &a, &snap, NULL, &err), 0);
	assert_int_equal(snap, 21);
	assert_int_equal(a.n, 2);
}

/* ---- reopen and durability ---------------------------------------------- */

static void test_reopen_keeps_data(void **state)
{
	fixture *f = *state;
	int64_t rev = 0;
	wf_err err = {0};
	for (int i = 0; i < 50; i++) {
		char k[32];
		snprintf(k, sizeof k, "/keep/%02d", i);
		assert_int_equal(wf_store_create(f->s, k, k, strlen(k), &rev, &err), 0);
	}
	assert_int_equal(wf_store_delete(f->s, "/keep/07", 0, &rev, NULL, &err), 0);
	assert_int_equal(rev, 51);
	reopen(f, 0);
	assert_int_equal(wf_store_revision(f->s), 51);
	int64_t n = 0;
	assert_int_equal(wf_store_count(f->s, "/keep/", &n, &err), 0);
	assert_int_equal(n, 49);
	wf_kv kv;
	assert_int_equal(wf_store_get(f->s, "/keep/42", &kv, &err), 0);
	assert_string_equal(kv.value, "/keep/42");
	assert_int_equal(kv.create_rev, 43);
	wf_kv_free(&kv);
	assert_int_equal(wf_store_get(f->s, "/keep/07", &kv, &err), -WF_ENOENT);

	/* History survives too: a watch from 0 replays all 51 changes. */
	collector c;
	collector_init(&c);
	wf_watch *w = NULL;
	assert_int_equal(wf_store_watch(f->s, "/keep/", 0, collect, &c, &w, &err), 0);
	assert_int_equal(collected(&c), 51);
	assert_consecutive(&c, 1);
	assert_int_equal(c.evs[50]->type, WF_EVENT_DELETE);
	wf_store_unwatch(w);
	collector_free(&c);

	assert_int_equal(wf_store_create(f->s, "/keep/new", "n", 1, &rev, &err), 0);
	assert_int_equal(rev, 52);
}

/* A committed write is in the file before the call returns: another
 * connection (as a new process would) sees it while the store is open. */
static void test_durable_on_return(void **state)
{
	fixture *f = *state;
	int64_t rev = 0;
	assert_int_equal(wf_store_create(f->s, "/durable", "yes", 3, &rev, NULL), 0);
	sqlite3 *db = NULL;
	assert_int_equal(sqlite3_open_v2(f->path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	sqlite3_stmt *st = NULL;
	assert_int_equal(
	    sqlite3_prepare_v2(db, "SELECT count(*) FROM kv WHERE key = ?1", -1, &st, NULL),
	    SQLITE_OK);
	sqlite3_bind_blob(st, 1, "/durable", 8, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), 1);
	sqlite3_finalize(st);
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
	sqlite3_finalize(st);
	sqlite3_close(db);
}

/* Many threads: every write acknowledged, group commit batches them. */
typedef struct gc_arg {
	wf_store *s;
	int id;
	int errors;
} gc_arg;

static void *gc_thread(void *arg)
{
	gc_arg *g = arg;
	char k[32];
	for (int i = 0; i < 40; i++) {
		snprintf(k, sizeof k, "/gc/%d/%d", g->id, i);
		if (wf_store_create(g->s, k, k, strlen(k), NULL, NULL) != 0)
			g->errors++;
	}
	return NULL;
}

static void test_group_commit(void **state)
{
	fixture *f = *state;
	enum { N = 32 };
	pthread_t t[N];
	gc_arg g[N];
	for (int i = 0; i < N; i++) {
		g[i] = (gc_arg){.s = f->s, .id = i};
		pthread_create(&t[i], NULL, gc_thread, &g[i]);
	}
	for (int i = 0; i < N; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(g[i].errors, 0);
	}
	wf_store_stats st;
	wf_store_get_stats(f->s, &st);
	assert_int_equal(st.writes, N * 40);
	assert_int_equal(wf_store_revision(f->s), N * 40);
	assert_true(st.commits < st.writes);
	int64_t n = 0;
	assert_int_equal(wf_store_count(f->s, "/gc/", &n, NULL), 0);
	assert_int_equal(n, N * 40);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_open_bad_options, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_crud_and_revisions, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_input, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cas_race, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_range, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_range_snapshot, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_watch_live, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_watch_future_revision, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_watch_backlog_memory, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_watch_backlog_db, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_watch_window_bytes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_event_refcount, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_watch_concurrent, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unwatch_safety, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unwatch_from_callback, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_close_ends_watches, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_compaction, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reopen_keeps_data, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_durable_on_return, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_group_commit, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
