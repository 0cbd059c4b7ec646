/*
 * buf.c - growable byte buffer.  All string building in the project goes
 * through here or snprintf; never sprintf/strcpy/strcat.
 */
#include "core/base/buf.h"
#include "core/base/mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
gw_buf_reserve(gw_buf *b, size_t n)
{
	if (b->cap - b->len > n)
		return;
	size_t cap = b->cap ? b->cap : 64;
	while (cap - b->len <= n)
		cap *= 2;
	b->data = gw_xrealloc(b->data, cap);
	b->cap = cap;
	b->data[b->len] = '\0'; /* a reserved, still empty buffer reads as "" */
}

void
gw_buf_append(gw_buf *b, const void *p, size_t n)
{
	gw_buf_reserve(b, n);
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void
gw_buf_puts(gw_buf *b, const char *s)
{
	gw_buf_append(b, s, strlen(s));
}

void
gw_buf_vprintf(gw_buf *b, const char *fmt, va_list ap)
{
	va_list cp;
	va_copy(cp, ap);
	gw_buf_reserve(b, 64);
	int n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
	if (n >= 0 && (size_t)n >= b->cap - b->len) {
		gw_buf_reserve(b, (size_t)n);
		vsnprintf(b->data + b->len, b->cap - b->len, fmt, cp);
	}
	va_end(cp);
	if (n > 0)
		b->len += (size_t)n;
}

void
gw_buf_printf(gw_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	gw_buf_vprintf(b, fmt, ap);
	va_end(ap);
}

void
gw_buf_put_u64(gw_buf *b, uint64_t v)
{
	char tmp[24];
	size_t i = sizeof(tmp);
	do {
		tmp[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	gw_buf_append(b, tmp + i, sizeof(tmp) - i);
}

void
gw_buf_reset(gw_buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

void
gw_buf_free(gw_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

const char *
gw_buf_cstr(const gw_buf *b)
{
	return b->data ? b->data : "";
}

char *
gw_buf_detach(gw_buf *b)
{
	char *p = b->data ? b->data : gw_xstrdup("");
	b->data = NULL;
	b->len = b->cap = 0;
	return p;
}
