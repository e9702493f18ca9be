/*
 * test_fifo.c - unit tests for wf_fifo (lib/wf_fifo.h): jobs run in order
 * on one worker; a draining FIFO runs every job pushed before (and after)
 * it was closed; a non-draining one hands each job not taken to drop, so
 * every job is either run or dropped, once; waiting jobs can be searched
 * and counted under the lock; several workers run every job once.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include <pthread.h>

#include "lib/wf_fifo.h"
#include "lib/wf_mem.h"
#include "test_fs.h"

#define N 500

typedef struct job {
	wf_fifo_job job; /* first */
	int id;
} job;

typedef struct tally {
	pthread_mutex_t mu;
	int run[N], dropped[N];
	int order[N + 1], norder;
	pthread_mutex_t *gate; /* held by the test to keep the worker busy, or NULL */
} tally;

static void run(void *ctx, wf_fifo_job *j)
{
	tally *t = ctx;
	if (t->gate) {
		pthread_mutex_lock(t->gate);
		pthread_mutex_unlock(t->gate);
	}
	int id = ((job *)j)->id;
	pthread_mutex_lock(&t->mu);
	t->run[id]++;
	t->order[t->norder++] = id;
	pthread_mutex_unlock(&t->mu);
	free(j);
}

static void drop(void *ctx, wf_fifo_job *j)
{
	tally *t = ctx;
	t->dropped[((job *)j)->id]++;
	free(j);
}

static job *new_job(int id)
{
	job *j = wf_xcalloc(1, sizeof *j);
	j->id = id;
	return j;
}

static void test_order_and_drain(void **state)
{
	(void)state;
	tally *t = wf_xcalloc(1, sizeof *t);
	pthread_mutex_init(&t->mu, NULL);
	wf_fifo *f = wf_fifo_new(NULL, 1, true, run, NULL, t);
	for (int i = 0; i < N; i++)
		wf_fifo_push(f, &new_job(i)->job);
	wf_fifo_free(f); /* drains */
	assert_int_equal(t->norder, N);
	for (int i = 0; i < N; i++) {
		assert_int_equal(t->order[i], i);
		assert_int_equal(t->run[i], 1);
	}
	pthread_mutex_destroy(&t->mu);
	free(t);
}

static void test_no_drain_drops_the_rest(void **state)
{
	(void)state;
	tally *t = wf_xcalloc(1, sizeof *t);
	pthread_mutex_init(&t->mu, NULL);
	pthread_mutex_t gate = PTHREAD_MUTEX_INITIALIZER;
	t->gate = &gate;
	pthread_mutex_lock(&gate); /* the worker blocks in its first job */
	wf_fifo *f = wf_fifo_new("test-fifo", 1, false, run, drop, t);
	for (int i = 0; i < N; i++)
		wf_fifo_push(f, &new_job(i)->job);
	/* Waiting jobs can be counted and searched under the lock. */
	for (int tries = 0;; tries++) {
		wf_fifo_lock(f);
		size_t n = wf_fifo_len_locked(f);
		wf_fifo_unlock(f);
		if (n == N - 1)
			break; /* the worker took job 0 */
		assert_true(tries < 1000);
		test_fs_sleep_ms(5);
	}
	wf_fifo_lock(f);
	int seen = 0;
	for (wf_fifo_job *j = wf_fifo_first_locked(f); j; j = j->next)
		assert_int_equal(((job *)j)->id, ++seen);
	assert_false(wf_fifo_closed_locked(f));
	wf_fifo_unlock(f);
	assert_int_equal(seen, N - 1);
	wf_fifo_close(f);
	pthread_mutex_unlock(&gate);
	wf_fifo_free(f);
	assert_int_equal(t->run[0], 1);
	for (int i = 1; i < N; i++) {
		assert_int_equal(t->run[i], 0);
		assert_int_equal(t->dropped[i], 1);
	}
	pthread_mutex_destroy(&t->mu);
	free(t);
}

static void test_many_workers(void **state)
{
	(void)state;
	tally *t = wf_xcalloc(1, sizeof *t);
	pthread_mutex_init(&t->mu, NULL);
	wf_fifo *f = wf_fifo_new(NULL, 4, true, run, NULL, t);
	for (int i = 0; i < N; i++)
		wf_fifo_push(f, &new_job(i)->job);
	wf_fifo_close(f);
	wf_fifo_push(f, &new_job(0)->job); /* after close: still run, by free */
	wf_fifo_free(f);
	assert_int_equal(t->norder, N + 1);
	assert_int_equal(t->run[0], 2);
	for (int i = 1; i < N; i++)
		assert_int_equal(t->run[i], 1);
	pthread_mutex_destroy(&t->mu);
	free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_order_and_drain),
	    cmocka_unit_test(test_no_drain_drops_the_rest),
	    cmocka_unit_test(test_many_workers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
