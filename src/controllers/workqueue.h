/*
 * workqueue.h - a deduplicating queue of string keys for controllers, after
 * client-go's rate-limiting work queue.
 *
 * Invariants:
 *  - a key is queued at most once: adding a key that is already waiting is
 *    a no-op;
 *  - a key is handed to at most one worker at a time: a key added while a
 *    worker holds it (between get and done) is queued again by done, so the
 *    change that caused the add is never lost and never processed twice in
 *    parallel;
 *  - delayed adds keep the earliest due time per key; a direct add of a key
 *    that also waits in the delayed set makes it available at once;
 *  - rate-limited adds back off per key, base * 2^n (n = rate-limited adds
 *    since the last forget), capped at max.
 *
 * All functions are thread-safe. Times come from a clock function (ms,
 * monotonic by default) so tests can drive delays without sleeping.
 */
#ifndef WF_WORKQUEUE_H
#define WF_WORKQUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct wf_workqueue wf_workqueue;

/* Milliseconds on some monotonic clock. */
typedef int64_t (*wf_workqueue_clock_fn)(void *ctx);

/*
 * A new queue. base_ms and max_ms bound the rate-limited back-off (values
 * below 1 become 1; max below base becomes base). clock may be NULL for
 * CLOCK_MONOTONIC. Caller frees with wf_workqueue_free.
 */
wf_workqueue *wf_workqueue_new(int64_t base_ms, int64_t max_ms, wf_workqueue_clock_fn clock,
			       void *clock_ctx);
/* Free the queue; no thread may use it any more. NULL is a no-op. */
void wf_workqueue_free(wf_workqueue *q);

/* Queue key now (copied). Ignored after shutdown or for NULL. */
void wf_workqueue_add(wf_workqueue *q, const char *key);
/* Queue key once delay_ms have passed (delay <= 0 is an add). */
void wf_workqueue_add_after(wf_workqueue *q, const char *key, int64_t delay_ms);
/* Queue key after its back-off, and lengthen the back-off for next time. */
void wf_workqueue_add_rate_limited(wf_workqueue *q, const char *key);
/* Reset key's back-off (call after a successful sync). */
void wf_workqueue_forget(wf_workqueue *q, const char *key);
/* Rate-limited adds of key since its last forget. */
int wf_workqueue_requeues(wf_workqueue *q, const char *key);

/*
 * Wait for a key and hand it to the caller, who must call
 * wf_workqueue_done with it (it stays the caller's to free). Returns NULL
 * once the queue is shut down (queued keys are dropped then).
 */
char *wf_workqueue_get(wf_workqueue *q);
/* Non-blocking get: NULL when no key is ready now. */
char *wf_workqueue_try_get(wf_workqueue *q);
/* The worker is finished with key; frees it. */
void wf_workqueue_done(wf_workqueue *q, char *key);

/* Keys ready now (not counting delayed ones or ones being processed). */
size_t wf_workqueue_len(wf_workqueue *q);
/* Keys waiting for their delay. */
size_t wf_workqueue_delayed_len(wf_workqueue *q);
/* Wake every waiting get with NULL; later adds are ignored. */
void wf_workqueue_shutdown(wf_workqueue *q);

#endif
