/*
 * wf_fifo.c - the FIFO of jobs and its worker threads (see wf_fifo.h).
 */
#include "lib/wf_fifo.h"

#include <pthread.h>
#include <stdlib.h>

#include "lib/wf_mem.h"

struct wf_fifo {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	wf_fifo_job *head, *tail;
	size_t n;
	bool closed, drain;
	wf_fifo_fn run, drop;
	void *ctx;
	pthread_t *threads;
	int nthreads;
};

static void *wf__fifo_main(void *arg)
{
	wf_fifo *f = arg;
	pthread_mutex_lock(&f->mu);
	for (;;) {
		while (!f->head && !f->closed)
			pthread_cond_wait(&f->cv, &f->mu);
		if (!f->head || (f->closed && !f->drain))
			break;
		wf_fifo_job *job = f->head;
		f->head = job->next;
		if (!f->head)
			f->tail = NULL;
		f->n--;
		job->next = NULL;
		pthread_mutex_unlock(&f->mu);
		f->run(f->ctx, job);
		pthread_mutex_lock(&f->mu);
	}
	pthread_mutex_unlock(&f->mu);
	return NULL;
}

wf_fifo *wf_fifo_new(const char *name, int threads, bool drain, wf_fifo_fn run, wf_fifo_fn drop,
		     void *ctx)
{
	wf_fifo *f = wf_xcalloc(1, sizeof *f);
	pthread_mutex_init(&f->mu, NULL);
	pthread_cond_init(&f->cv, NULL);
	f->drain = drain;
	f->run = run;
	f->drop = drop;
	f->ctx = ctx;
	f->nthreads = threads > 0 ? threads : 1;
	f->threads = wf_xcalloc((size_t)f->nthreads, sizeof *f->threads);
	for (int i = 0; i < f->nthreads; i++) {
		pthread_create(&f->threads[i], NULL, wf__fifo_main, f);
		if (name)
			pthread_setname_np(f->threads[i], name);
	}
	return f;
}

void wf_fifo_lock(wf_fifo *f)
{
	pthread_mutex_lock(&f->mu);
}

void wf_fifo_unlock(wf_fifo *f)
{
	pthread_mutex_unlock(&f->mu);
}

wf_fifo_job *wf_fifo_first_locked(wf_fifo *f)
{
	return f->head;
}

size_t wf_fifo_len_locked(wf_fifo *f)
{
	return f->n;
}

bool wf_fifo_closed_locked(wf_fifo *f)
{
	return f->closed;
}

void wf_fifo_push_locked(wf_fifo *f, wf_fifo_job *job)
{
	job->next = NULL;
	if (f->tail)
		f->tail->next = job;
	else
		f->head = job;
	f->tail = job;
	f->n++;
	pthread_cond_signal(&f->cv);
}

void wf_fifo_push(wf_fifo *f, wf_fifo_job *job)
{
	pthread_mutex_lock(&f->mu);
	wf_fifo_push_locked(f, job);
	pthread_mutex_unlock(&f->mu);
}

void wf_fifo_close(wf_fifo *f)
{
	pthread_mutex_lock(&f->mu);
	f->closed = true;
	pthread_cond_broadcast(&f->cv);
	pthread_mutex_unlock(&f->mu);
}

void wf_fifo_free(wf_fifo *f)
{
	if (!f)
		return;
	wf_fifo_close(f);
	for (int i = 0; i < f->nthreads; i++)
		pthread_join(f->threads[i], NULL);
	for (wf_fifo_job *job = f->head, *next; job; job = next) {
		next = job->next;
		job->next = NULL;
		(f->drop ? f->drop : f->run)(f->ctx, job); /* a drain runs late pushes too */
	}
	free(f->threads);
	pthread_cond_destroy(&f->cv);
	pthread_mutex_destroy(&f->mu);
	free(f);
}
