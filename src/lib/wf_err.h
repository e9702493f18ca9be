/*
 * wf_err.h - error codes and the small error struct every fallible call takes.
 *
 * Actions return 0 or a negative WF_E* code; the optional last argument
 * `wf_err *err` receives the same code and a message meant for the user.
 * Only the API layer turns a wf_err into a Kubernetes Status.
 */
#ifndef WF_ERR_H
#define WF_ERR_H

#include <stdarg.h>

enum {
	WF_OK = 0,
	WF_EINVAL = 1,     /* malformed input (400 BadRequest / 422 Invalid) */
	WF_ENOENT = 2,     /* no such key / object (404) */
	WF_EEXIST = 3,     /* already exists (409 AlreadyExists) */
	WF_ECONFLICT = 4,  /* compare-and-swap failed (409 Conflict) */
	WF_ECOMPACTED = 5, /* revision older than the compaction point (410) */
	WF_EIO = 6,        /* storage failure (500) */
	WF_ETOOBIG = 7,    /* input over a size limit (413) */
	WF_ENOTSUP = 8,    /* not supported (405 / 415) */
	WF_ENOMEM = 9,
	WF_ECLOSED = 10,   /* the store or stream is shutting down */
};

typedef struct wf_err {
	int code;       /* positive WF_E* code, 0 when no error */
	char msg[512];  /* human-readable, for the user */
} wf_err;

/* Record an error (when err is not NULL) and return -code. */
int wf_err_set(wf_err *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void wf_err_clear(wf_err *err);

#endif
