/*
 * test_store_crash.c - kill -9 loses no acknowledged write.
 *
 * Several rounds: a forked child opens the store and writes from eight
 * threads (fresh keys, updates of shared keys, now and then a compaction),
 * printing "key rev" to a pipe after each write is acknowledged; the parent
 * SIGKILLs it at a random moment, drains the pipe, reopens the store and
 * checks that every acknowledged write is there at its revision, that the
 * revision never went backwards, and that the history after the compaction
 * point is complete. A second open while the child runs is refused. The seed is printed so a
 * failure can be replayed (WF_CRASH_SEED=n).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/wf_mem.h"
#include "store/store.h"

#define ROUNDS 6
#define CHILD_THREADS 8

typedef struct child_ctx {
	wf_store *s;
	int fd;
	int round;
	int id;
} child_ctx;

static void report(int fd, const char *key, int64_t rev)
{
	char line[128];
	int n = snprintf(line, sizeof line, "%s %lld\n", key, (long long)rev);
	/* One write of < PIPE_BUF bytes: atomic among the threads. */
	if (write(fd, line, (size_t)n) != n)
		_exit(3);
}

static void *child_writer(void *arg)
{
	child_ctx *c = arg;
	char key[64], val[64];
	for (int i = 0;; i++) {
		int64_t rev = 0;
		snprintf(val, sizeof val, "r%d t%d i%d", c->round, c->id, i);
		if (i % 3 == 2) {
			/* a shared key, updated by everyone: reports its last value */
			snprintf(key, sizeof key, "/crash/shared/%d", i % 4);
			int rc = wf_store_update(c->s, key, val, strlen(val), 0, &rev, NULL);
			if (rc == -WF_ENOENT)
				rc = wf_store_create(c->s, key, val, strlen(val), &rev, NULL);
			if (rc == 0)
				report(c->fd, key, rev);
			else if (rc != -WF_EEXIST)
				_exit(4);
			continue;
		}
		snprintf(key, sizeof key, "/crash/%d/%d/%d", c->round, c->id, i);
		if (wf_store_create(c->s, key, val, strlen(val), &rev, NULL) != 0)
			_exit(5);
		report(c->fd, key, rev);
		if (c->id == 0 && i % 97 == 96) {
			int64_t now = wf_store_revision(c->s);
			if (now > 50 && now - 50 > wf_store_compacted(c->s))
				wf_store_compact(c->s, now - 50, NULL);
		}
	}
	return NULL;
}

static void child_main(const char *path, int fd, int round)
{
	wf_store_options o = {.path = path, .history_window = 64};
	wf_store *s = NULL;
	if (wf_store_open_sqlite(&o, &s, NULL) != 0)
		_exit(2);
	pthread_t t[CHILD_THREADS];
	child_ctx c[CHILD_THREADS];
	for (int i = 0; i < CHILD_THREADS; i++) {
		c[i] = (child_ctx){.s = s, .fd = fd, .round = round, .id = i};
		pthread_create(&t[i], NULL, child_writer, &c[i]);
	}
	for (;;)
		pause();
}

typedef struct acked {
	char key[64];
	int64_t rev;
} acked;

typedef struct ack_log {
	acked *v;
	size_t n, cap;
	char buf[4096];
	size_t len;
} ack_log;

static void ack_parse(ack_log *a)
{
	char *nl;
	size_t off = 0;
	while ((nl = memchr(a->buf + off, '\n', a->len - off))) {
		*nl = '\0';
		acked e = {0};
		long long rev = 0;
		char *sp = strrchr(a->buf + off, ' ');
		assert_non_null(sp);
		*sp = '\0';
		rev = strtoll(sp + 1, NULL, 10);
		size_t klen = strlen(a->buf + off);
		assert_true(klen < sizeof e.key);
		memcpy(e.key, a->buf + off, klen + 1);
		e.rev = rev;
		if (a->n == a->cap) {
			a->cap = a->cap ? a->cap * 2 : 256;
			a->v = wf_xrealloc(a->v, a->cap * sizeof *a->v);
		}
		a->v[a->n++] = e;
		off = (size_t)(nl - a->buf) + 1;
	}
	memmove(a->buf, a->buf + off, a->len - off);
	a->len -= off;
}

/* Read what is there; returns false at EOF. */
static bool ack_read(ack_log *a, int fd, int timeout_ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	if (poll(&p, 1, timeout_ms) <= 0)
		return true;
	ssize_t n = read(fd, a->buf + a->len, sizeof a->buf - a->len);
	if (n <= 0)
		return n < 0 && errno == EINTR;
	a->len += (size_t)n;
	ack_parse(a);
	return true;
}

typedef struct hist {
	int64_t next;
	int bad;
} hist;

static void hist_fn(void *ctx, wf_store_event *ev)
{
	hist *h = ctx;
	if (!ev)
		return;
	if (ev->rev != h->next)
		h->bad++;
	h->next = ev->rev + 1;
}

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

static void test_kill9_loses_nothing(void **state)
{
	char dir[] = "/tmp/wf_store_crash_XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[128];
	snprintf(path, sizeof path, "%s/store.db", dir);

	const char *env = getenv("WF_CRASH_SEED");
	unsigned seed =
	    env ? (unsigned)strtoul(env, NULL, 10) : (unsigned)time(NULL) ^ (unsigned)getpid();
	fprintf(stderr, "crash test seed %u\n", seed);

	ack_log all = {0};
	int64_t last_rev = 0;
	for (int round = 0; round < ROUNDS; round++) {
		int fds[2];
		assert_int_equal(pipe(fds), 0);
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			close(fds[0]);
			child_main(path, fds[1], round);
		}
		close(fds[1]);

		/* Let it acknowledge a random number of writes, then wait a
		 * random moment more, so the kill lands mid-batch or mid-fsync. */
		size_t target = all.n + 20 + rand_r(&seed) % 400;
		struct timespec t0, t1;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		for (;;) {
			assert_true(ack_read(&all, fds[0], 50));
			clock_gettime(CLOCK_MONOTONIC, &t1);
			if (all.n >= target || t1.tv_sec - t0.tv_sec > 10)
				break;
		}
		if (round == 0) {
			/* Another process has it open: refused, and no harm done. */
			wf_store_options o = {.path = path};
			wf_store *s = NULL;
			wf_err err = {0};
			assert_int_equal(wf_store_open_sqlite(&o, &s, &err), -WF_EIO);
			assert_non_null(strstr(err.msg, "in use"));
			assert_null(s);
		}
		usleep(rand_r(&seed) % 3000);
		kill(pid, SIGKILL);
		int status = 0;
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFSIGNALED(status));
		while (ack_read(&all, fds[0], 1000))
			;
		close(fds[0]);
		assert_int_equal(all.len, 0);
		assert_true(all.n >= target);

		wf_store_options o = {.path = path, .history_window = 16};
		wf_store *s = NULL;
		wf_err err = {0};
		assert_int_equal(wf_store_open_sqlite(&o, &s, &err), 0);
		int64_t rev = wf_store_revision(s);
		assert_true(rev >= last_rev);
		last_rev = rev;

		/* Unique keys: exactly as acknowledged. Shared keys: at least
		 * as new as the last acknowledged write. */
		for (size_t i = 0; i < all.n; i++) {
			acked *e = &all.v[i];
			assert_true(e->rev <= rev);
			wf_kv kv;
			int rc = wf_store_get(s, e->key, &kv, &err);
			if (rc != 0)
				fprintf(stderr, "lost %s at %lld\n", e->key, (long long)e->rev);
			assert_int_equal(rc, 0);
			if (strncmp(e->key, "/crash/shared/", 14) == 0) {
				assert_true(kv.mod_rev >= e->rev);
			} else {
				assert_int_equal(kv.create_rev, e->rev);
				assert_int_equal(kv.mod_rev, e->rev);
			}
			wf_kv_free(&kv);
		}

		/* History after the compaction point is whole. */
		int64_t c = wf_store_compacted(s);
		assert_true(c <= rev);
		hist h = {.next = c + 1};
		wf_watch *w = NULL;
		assert_int_equal(wf_store_watch(s, "", c, hist_fn, &h, &w, &err), 0);
		wf_store_unwatch(w);
		assert_int_equal(h.bad, 0);
		assert_int_equal(h.next, rev + 1);
		wf_store_close(s);
	}
	fprintf(stderr, "crash test: %zu acknowledged writes checked, revision %lld\n", all.n,
		(long long)last_rev);
	free(all.v);
	rm_dir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_kill9_loses_nothing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
