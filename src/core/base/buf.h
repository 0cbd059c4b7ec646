/*
 * buf.h - a growable byte buffer, always NUL-terminated.
 *
 * The struct is public because callers read data/len directly (like sds).
 * A zeroed gw_buf (GW_BUF_INIT) is a valid empty buffer.  The buffer owns
 * data; gw_buf_free() releases it, gw_buf_detach() hands it to the caller.
 */
#ifndef GW_BUF_H
#define GW_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

typedef struct gw_buf {
	char *data; /* NULL until first use, then always NUL-terminated */
	size_t len;
	size_t cap;
} gw_buf;

#define GW_BUF_INIT { NULL, 0, 0 }

/* Ensures room for n more bytes plus the NUL. */
void gw_buf_reserve(gw_buf *b, size_t n);
/* Appends n bytes of p. */
void gw_buf_append(gw_buf *b, const void *p, size_t n);
/* Appends the C string s. */
void gw_buf_puts(gw_buf *b, const char *s);
/* Appends one byte.  Inline: the JSON writer calls it for every
 * separator, so the common case (room left) must not be a call. */
static inline void
gw_buf_putc(gw_buf *b, char c)
{
	if (b->cap - b->len <= 1)
		gw_buf_reserve(b, 1);
	b->data[b->len++] = c;
	b->data[b->len] = '\0';
}
/* Appends formatted text (vsnprintf semantics). */
void gw_buf_printf(gw_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void gw_buf_vprintf(gw_buf *b, const char *fmt, va_list ap);
/* Appends an unsigned decimal. */
void gw_buf_put_u64(gw_buf *b, uint64_t v);
/* Empties the buffer, keeping its memory. */
void gw_buf_reset(gw_buf *b);
/* Releases the memory; the buffer is empty and reusable afterwards. */
void gw_buf_free(gw_buf *b);
/* Returns the data ("" when empty, never NULL); the buffer keeps ownership. */
const char *gw_buf_cstr(const gw_buf *b);
/* Returns the malloc'ed data (caller frees) and leaves the buffer empty. */
char *gw_buf_detach(gw_buf *b);

#endif
