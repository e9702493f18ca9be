/*
 * wf_mem.c - allocation wrappers that abort on exhaustion, and wf_buf.
 */
#include "lib/wf_mem.h"
#include "lib/wf_err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static void wf__oom(size_t n)
{
	fprintf(stderr, "wharf: out of memory allocating %zu bytes\n", n);
	abort();
}

void *wf_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		wf__oom(n);
	return p;
}

void *wf_xcalloc(size_t nmemb, size_t size)
{
	void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);
	if (!p)
		wf__oom(nmemb * size);
	return p;
}

void *wf_xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (!q)
		wf__oom(n);
	return q;
}

char *wf_xstrdup(const char *s)
{
	return wf_xstrndup(s, strlen(s));
}

char *wf_xstrndup(const char *s, size_t n)
{
	char *p = wf_xmalloc(n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *wf_xasprintf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = NULL;
	if (vasprintf(&s, fmt, ap) < 0)
		wf__oom(strlen(fmt));
	va_end(ap);
	return s;
}

void wf_buf_init(wf_buf *b)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

void wf_buf_free(wf_buf *b)
{
	free(b->data);
	wf_buf_init(b);
}

void wf_buf_reserve(wf_buf *b, size_t extra)
{
	if (b->len + extra + 1 <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < b->len + extra + 1)
		cap *= 2;
	b->data = wf_xrealloc(b->data, cap);
	b->cap = cap;
}

void wf_buf_append(wf_buf *b, const void *p, size_t n)
{
	wf_buf_reserve(b, n);
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void wf_buf_puts(wf_buf *b, const char *s)
{
	wf_buf_append(b, s, strlen(s));
}

void wf_buf_putc(wf_buf *b, char c)
{
	wf_buf_append(b, &c, 1);
}

void wf_buf_printf(wf_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	va_list ap2;
	va_copy(ap2, ap);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0) {
		va_end(ap2);
		return;
	}
	wf_buf_reserve(b, (size_t)n);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap2);
	va_end(ap2);
	b->len += (size_t)n;
}

char *wf_buf_steal(wf_buf *b)
{
	if (!b->data)
		wf_buf_reserve(b, 0), b->data[0] = '\0';
	char *p = b->data;
	wf_buf_init(b);
	return p;
}

int wf_err_set(wf_err *err, int code, const char *fmt, ...)
{
	if (err) {
		err->code = code;
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof err->msg, fmt, ap);
		va_end(ap);
	}
	return -code;
}

void wf_err_clear(wf_err *err)
{
	if (err) {
		err->code = 0;
		err->msg[0] = '\0';
	}
}
