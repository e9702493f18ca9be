/*
 * wf_mem.h - allocation that aborts on out-of-memory (the one place we do),
 * and a growable byte buffer.
 */
#ifndef WF_MEM_H
#define WF_MEM_H

#include <stddef.h>
#include <stdlib.h>

void *wf_xmalloc(size_t n);
void *wf_xcalloc(size_t nmemb, size_t size);
void *wf_xrealloc(void *p, size_t n);
char *wf_xstrdup(const char *s);
char *wf_xstrndup(const char *s, size_t n);
/* printf into a fresh heap string; caller frees. */
char *wf_xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A growable buffer; `data` is always NUL-terminated after any append. */
typedef struct wf_buf {
	char *data;
	size_t len;
	size_t cap;
} wf_buf;

void wf_buf_init(wf_buf *b);
void wf_buf_free(wf_buf *b);
void wf_buf_reserve(wf_buf *b, size_t extra);
void wf_buf_append(wf_buf *b, const void *p, size_t n);
void wf_buf_puts(wf_buf *b, const char *s);
void wf_buf_putc(wf_buf *b, char c);
void wf_buf_printf(wf_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Hand the buffer's bytes to the caller (who frees them); the buffer is reset. */
char *wf_buf_steal(wf_buf *b);

/* cleanup attribute helpers for locals that own memory */
static inline void wf__freep(void *p) { free(*(void **)p); }
#define WF_AUTOFREE __attribute__((cleanup(wf__freep)))

#endif
