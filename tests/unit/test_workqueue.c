/*
 * test_workqueue.c - the controllers' key queue: deduplication, one worker
 * per key, re-adds during processing, delayed adds (driven by a fake
 * clock), per-key back-off, shutdown, hostile keys and many threads.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <unistd.h>

#include <cmocka.h>

#include "controllers/workqueue.h"
#include "lib/wf_mem.h"

static int64_t fake_now;

static int64_t fake_clock(void *ctx)
{
	return *(int64_t *)ctx;
}

static wf_workqueue *fake_queue(int64_t base, int64_t max)
{
	fake_now = 1000;
	return wf_workqueue_new(base, max, fake_clock, &fake_now);
}

/* Take one key, check it, mark it done. */
static void expect_key(wf_workqueue *q, const char *want)
{
	char *k = wf_workqueue_try_get(q);
	assert_non_null(k);
	assert_string_equal(k, want);
	wf_workqueue_done(q, k);
}

static void test_fifo_and_dedup(void **state)
{
	wf_workqueue *q = fake_queue(5, 1000);
	wf_workqueue_add(q, "a");
	wf_workqueue_add(q, "b");
	wf_workqueue_add(q, "a");
	wf_workqueue_add(q, "c");
	wf_workqueue_add(q, "b");
	assert_int_equal(wf_workqueue_len(q), 3);
	expect_key(q, "a");
	expect_key(q, "b");
	expect_key(q, "c");
	assert_null(wf_workqueue_try_get(q));
	assert_int_equal(wf_workqueue_len(q), 0);
	wf_workqueue_add(q, "a"); /* done: a key may come back */
	expect_key(q, "a");
	wf_workqueue_free(q);
}

static void test_add_while_processing(void **state)
{
	wf_workqueue *q = fake_queue(5, 1000);
	wf_workqueue_add(q, "job");
	char *k = wf_workqueue_try_get(q);
	assert_string_equal(k, "job");
	/* Added twice while held: not handed to a second worker ... */
	wf_workqueue_add(q, "job");
	wf_workqueue_add(q, "job");
	assert_null(wf_workqueue_try_get(q));
	assert_int_equal(wf_workqueue_len(q), 0);
	/* ... but queued once again when the first worker is done. */
	wf_workqueue_done(q, k);
	assert_int_equal(wf_workqueue_len(q), 1);
	expect_key(q, "job");
	assert_null(wf_workqueue_try_get(q));
	wf_workqueue_free(q);
}

static void test_many_keys_order_kept(void **state)
{
	wf_workqueue *q = fake_queue(5, 1000);
	char name[32];
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < 1000; i++) {
			snprintf(name, sizeof name, "ns/job-%d", i);
			wf_workqueue_add(q, name);
		}
	}
	assert_int_equal(wf_workqueue_len(q), 1000);
	for (int i = 0; i < 1000; i++) {
		snprintf(name, sizeof name, "ns/job-%d", i);
		expect_key(q, name);
		if (i % 3 == 0) { /* interleave adds with takes: the fifo compacts */
			snprintf(name, sizeof name, "again-%d", i);
			wf_workqueue_add(q, name);
		}
	}
	for (int i = 0; i < 1000; i += 3) {
		snprintf(name, sizeof name, "again-%d", i);
		expect_key(q, name);
	}
	assert_null(wf_workqueue_try_get(q));
	wf_workqueue_free(q);
}

static void test_add_after(void **state)
{
	wf_workqueue *q = fake_queue(5, 1000);
	wf_workqueue_add_after(q, "late", 100);
	wf_workqueue_add_after(q, "later", 300);
	wf_workqueue_add_after(q, "now", 0);
	assert_int_equal(wf_workqueue_delayed_len(q), 2);
	expect_key(q, "now");
	assert_null(wf_workqueue_try_get(q));
	fake_now += 99;
	assert_null(wf_workqueue_try_get(q));
	fake_now += 1;
	expect_key(q, "late");
	assert_null(wf_workqueue_try_get(q));
	fake_now += 500;
	expect_key(q, "later");
	assert_int_equal(wf_workqueue_delayed_len(q), 0);
	wf_workqueue_free(q);
}

static void test_add_after_keeps_earliest(void **state)
{
	wf_workqueue *q = fake_queue(5, 1000);
	wf_workqueue_add_after(q, "k", 500);
	wf_workqueue_add_after(q, "k", 100); /* earlier wins */
	wf_workqueue_add_after(q, "k", 800); /* later is ignored */
	assert_int_equal(wf_workqueue_delayed_len(q), 1);
	fake_now += 100;
	expect_key(q, "k");
	/* The stale heap entries for 500 and 800 must not bring it back. */
	fake_now += 1000;
	assert_null(wf_workqueue_try_get(q));
	wf_workqueue_free(q);
}

static void test_direct_add_beats_delay(void **state)
{
	wf_workqueue *q = fake_queue(5, 1000);
	wf_workqueue_add_after(q, "k", 500);
	wf_workqueue_add(q, "k");
	assert_int_equal(wf_workqueue_delayed_len(q), 0);
	expect_key(q, "k");
	fake_now += 600;
	assert_null(wf_workqueue_try_get(q));
	/* A delayed add of a key already queued is dropped. */
	wf_workqueue_add(q, "q");
	wf_workqueue_add_after(q, "q", 50);
	assert_int_equal(wf_workqueue_delayed_len(q), 0);
	expect_key(q, "q");
	fake_now += 100;
	assert_null(wf_workqueue_try_get(q));
	wf_workqueue_free(q);
}

static void test_delay_while_processing(void **state)
{
	wf_workqueue *q = fake_queue(5, 1000);
	wf_workqueue_add(q, "k");
	char *k = wf_workqueue_try_get(q);
	wf_workqueue_add_after(q, "k", 50); /* e.g. a deadline found during the sync */
	wf_workqueue_done(q, k);
	assert_null(wf_workqueue_try_get(q));
	fake_now += 50;
	expect_key(q, "k");
	wf_workqueue_free(q);
}

static void test_rate_limited_backoff(void **state)
{
	wf_workqueue *q = fake_queue(10, 75);
	int64_t want[] = {10, 20, 40, 75, 75};
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
		wf_workqueue_add_rate_limited(q, "bad");
		assert_int_equal(wf_workqueue_requeues(q, "bad"), (int)i + 1);
		fake_now += want[i] - 1;
		assert_null(wf_workqueue_try_get(q));
		fake_now += 1;
		expect_key(q, "bad");
	}
	/* Another key has its own back-off. */
	wf_workqueue_add_rate_limited(q, "other");
	fake_now += 10;
	expect_key(q, "other");
	wf_workqueue_forget(q, "bad");
	assert_int_equal(wf_workqueue_requeues(q, "bad"), 0);
	wf_workqueue_add_rate_limited(q, "bad");
	fake_now += 10;
	expect_key(q, "bad");
	wf_workqueue_free(q);
}

static void test_backoff_no_overflow(void **state)
{
	wf_workqueue *q = fake_queue(1, INT64_MAX / 4);
	for (int i = 0; i < 200; i++)
		wf_workqueue_add_rate_limited(q, "k");
	assert_int_equal(wf_workqueue_requeues(q, "k"), 200);
	assert_int_equal(wf_workqueue_delayed_len(q), 1);
	assert_null(wf_workqueue_try_get(q));
	fake_now += 1; /* the first, shortest delay still holds */
	expect_key(q, "k");
	wf_workqueue_free(q);
}

static void test_bad_arguments(void **state)
{
	wf_workqueue *q = wf_workqueue_new(-5, -10, NULL, NULL);
	wf_workqueue_add(q, NULL);
	wf_workqueue_add_after(q, NULL, 10);
	wf_workqueue_add_rate_limited(q, NULL);
	wf_workqueue_forget(q, NULL);
	wf_workqueue_done(q, NULL);
	assert_int_equal(wf_workqueue_requeues(q, NULL), 0);
	assert_int_equal(wf_workqueue_len(q), 0);
	/* Hostile keys: empty, not UTF-8, huge. */
	wf_workqueue_add(q, "");
	wf_workqueue_add(q, "\xff\xfe/\xc3");
	wf_workqueue_add(q, "\xff\xfe/\xc3");
	size_t big = 1 << 20;
	char *huge = wf_xmalloc(big + 1);
	memset(huge, 'x', big);
	huge[big] = '\0';
	wf_workqueue_add(q, huge);
	wf_workqueue_add(q, huge);
	assert_int_equal(wf_workqueue_len(q), 3);
	expect_key(q, "");
	expect_key(q, "\xff\xfe/\xc3");
	expect_key(q, huge);
	free(huge);
	wf_workqueue_free(q);
	wf_workqueue_free(NULL);
}

static void test_shutdown(void **state)
{
	wf_workqueue *q = fake_queue(5, 1000);
	wf_workqueue_add(q, "a");
	wf_workqueue_add_after(q, "b", 10);
	char *held = wf_workqueue_try_get(q);
	wf_workqueue_shutdown(q);
	assert_null(wf_workqueue_get(q));
	assert_null(wf_workqueue_try_get(q));
	wf_workqueue_add(q, "c");
	wf_workqueue_add(q, "a");
	wf_workqueue_done(q, held); /* not queued again after shutdown */
	assert_int_equal(wf_workqueue_len(q), 0);
	wf_workqueue_free(q);
}

/* ---- threads ------------------------------------------------------------------ */

#define NKEYS 64
#define NWORKERS 4

typedef struct mt_ctx {
	wf_workqueue *q;
	pthread_mutex_t mu;
	int busy[NKEYS]; /* workers holding key i now */
	int overlap;	 /* times two workers held the same key */
	int processed[NKEYS];
} mt_ctx;

static void *mt_worker(void *arg)
{
	mt_ctx *c = arg;
	char *k;
	while ((k = wf_workqueue_get(c->q))) {
		int i = atoi(k + 1);
		pthread_mutex_lock(&c->mu);
		if (c->busy[i]++)
			c->overlap++;
		c->processed[i]++;
		pthread_mutex_unlock(&c->mu);
		sched_yield();
		pthread_mutex_lock(&c->mu);
		c->busy[i]--;
		pthread_mutex_unlock(&c->mu);
		wf_workqueue_done(c->q, k);
	}
	return NULL;
}

static void test_threads_one_worker_per_key(void **state)
{
	mt_ctx c = {.q = wf_workqueue_new(1, 10, NULL, NULL)};
	pthread_mutex_init(&c.mu, NULL);
	pthread_t th[NWORKERS];
	for (int i = 0; i < NWORKERS; i++)
		pthread_create(&th[i], NULL, mt_worker, &c);
	char name[16];
	for (int round = 0; round < 200; round++) {
		for (int i = 0; i < NKEYS; i++) {
			snprintf(name, sizeof name, "k%d", i);
			wf_workqueue_add(c.q, name);
		}
	}
	/* A delayed add must wake a sleeping worker by itself. */
	wf_workqueue_add_after(c.q, "k0", 20);
	for (int spins = 0; spins < 2000; spins++) {
		bool all = wf_workqueue_len(c.q) == 0 && wf_workqueue_delayed_len(c.q) == 0;
		pthread_mutex_lock(&c.mu);
		for (int i = 0; i < NKEYS; i++)
			all = all && c.processed[i] > 0 && !c.busy[i];
		pthread_mutex_unlock(&c.mu);
		if (all)
			break;
		usleep(5000);
	}
	wf_workqueue_shutdown(c.q);
	for (int i = 0; i < NWORKERS; i++)
		pthread_join(th[i], NULL);
	assert_int_equal(c.overlap, 0);
	for (int i = 0; i < NKEYS; i++) {
		assert_true(c.processed[i] >= 1);
		assert_true(c.processed[i] <= 201);
	}
	assert_int_equal(wf_workqueue_delayed_len(c.q), 0);
	pthread_mutex_destroy(&c.mu);
	wf_workqueue_free(c.q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fifo_and_dedup),
	    cmocka_unit_test(test_add_while_processing),
	    cmocka_unit_test(test_many_keys_order_kept),
	    cmocka_unit_test(test_add_after),
	    cmocka_unit_test(test_add_after_keeps_earliest),
	    cmocka_unit_test(test_direct_add_beats_delay),
	    cmocka_unit_test(test_delay_while_processing),
	    cmocka_unit_test(test_rate_limited_backoff),
	    cmocka_unit_test(test_backoff_no_overflow),
	    cmocka_unit_test(test_bad_arguments),
	    cmocka_unit_test(test_shutdown),
	    cmocka_unit_test(test_threads_one_worker_per_key),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
