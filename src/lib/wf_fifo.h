/*
 * wf_fifo.h - a FIFO of jobs served in order by worker threads: the shape
 * of the agent's status writer, its shim launcher and the API client's
 * fire-and-forget request queue.
 *
 * A job is the caller's struct with a wf_fifo_job first. Workers take jobs
 * from the head and call run(ctx, job) with no lock held; run owns the job.
 * One mutex guards the list; callers that search or bound the queue (merge
 * into a waiting job, drop when full) take it with wf_fifo_lock and use the
 * *_locked calls. Closing stops new work: with `drain` the workers first run
 * every job queued, without it the jobs not yet taken go to drop(ctx, job).
 */
#ifndef WF_FIFO_H
#define WF_FIFO_H

#include <stdbool.h>
#include <stddef.h>

typedef struct wf_fifo_job {
	struct wf_fifo_job *next;
} wf_fifo_job;

typedef void (*wf_fifo_fn)(void *ctx, wf_fifo_job *job);

typedef struct wf_fifo wf_fifo;

/* A started FIFO with `threads` workers (at least 1), named `name` (for
 * top and perf; NULL: unnamed). drop may be NULL when drain is true (a job
 * pushed after the workers left is then run by wf_fifo_free). */
wf_fifo *wf_fifo_new(const char *name, int threads, bool drain, wf_fifo_fn run, wf_fifo_fn drop,
		     void *ctx);

void wf_fifo_lock(wf_fifo *f);
void wf_fifo_unlock(wf_fifo *f);
/* With the lock held: the first waiting job (then job->next), how many
 * wait, whether the FIFO is closed, and appending a job. */
wf_fifo_job *wf_fifo_first_locked(wf_fifo *f);
size_t wf_fifo_len_locked(wf_fifo *f);
bool wf_fifo_closed_locked(wf_fifo *f);
void wf_fifo_push_locked(wf_fifo *f, wf_fifo_job *job);
/* Append a job (taking the lock). */
void wf_fifo_push(wf_fifo *f, wf_fifo_job *job);
/* Stop taking work and wake the workers; returns at once. */
void wf_fifo_close(wf_fifo *f);
/* Close, wait for the workers (and, with drain, the queue), drop what is
 * left and free. NULL is a no-op. */
void wf_fifo_free(wf_fifo *f);

#endif
