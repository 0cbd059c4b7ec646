/*
 * mem.h - allocation that never returns NULL, and a bump arena.
 *
 * gw_x* abort the process on allocation failure (like tmux's xmalloc), so
 * callers never test for NULL.  The arena hands out many small immutable
 * strings (fixture cases, request records) that die together; it is freed
 * in one call.
 */
#ifndef GW_MEM_H
#define GW_MEM_H

#include <stddef.h>

/* Caller frees the result with free(). Never returns NULL. */
void *gw_xmalloc(size_t n);
void *gw_xcalloc(size_t nmemb, size_t size);
void *gw_xrealloc(void *p, size_t n);
/* Returns a malloc'ed copy of s (NULL stays NULL); caller frees. */
char *gw_xstrdup(const char *s);
/* Returns a malloc'ed, NUL-terminated copy of the n bytes at s; caller frees. */
char *gw_xstrndup(const char *s, size_t n);

typedef struct gw_arena gw_arena;

/* Returns a new empty arena; free it with gw_arena_free(). */
gw_arena *gw_arena_new(void);
/* Frees the arena and everything allocated from it. NULL is a no-op. */
void gw_arena_free(gw_arena *a);
/* Returns n bytes (8-aligned) owned by the arena. */
void *gw_arena_alloc(gw_arena *a, size_t n);
/* Returns an arena-owned NUL-terminated copy of the n bytes at s. */
char *gw_arena_strndup(gw_arena *a, const char *s, size_t n);
/* Returns an arena-owned copy of s (NULL stays NULL). */
char *gw_arena_strdup(gw_arena *a, const char *s);

#endif
