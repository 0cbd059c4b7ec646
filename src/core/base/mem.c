/*
 * mem.c - checked allocation and a bump arena.
 *
 * This module must never return NULL to a caller: running out of memory is
 * reported once on stderr and the process aborts.
 */
#include "core/base/mem.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
gw_oom(size_t n)
{
	fprintf(stderr, "tau-gateway: out of memory allocating %zu bytes\n", n);
	abort();
}

void *
gw_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (p == NULL)
		gw_oom(n);
	return p;
}

void *
gw_xcalloc(size_t nmemb, size_t size)
{
	void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);
	if (p == NULL)
		gw_oom(nmemb * size);
	return p;
}

void *
gw_xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (q == NULL)
		gw_oom(n);
	return q;
}

char *
gw_xstrndup(const char *s, size_t n)
{
	char *p = gw_xmalloc(n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *
gw_xstrdup(const char *s)
{
	return s == NULL ? NULL : gw_xstrndup(s, strlen(s));
}

#define GW_ARENA_BLOCK (256 * 1024)

struct gw_arena_block {
	struct gw_arena_block *next;
	size_t used, cap;
	_Alignas(16) unsigned char data[];
};

struct gw_arena {
	struct gw_arena_block *head;
};

gw_arena *
gw_arena_new(void)
{
	return gw_xcalloc(1, sizeof(gw_arena));
}

void
gw_arena_free(gw_arena *a)
{
	if (a == NULL)
		return;
	struct gw_arena_block *b = a->head;
	while (b != NULL) {
		struct gw_arena_block *next = b->next;
		free(b);
		b = next;
	}
	free(a);
}

void *
gw_arena_alloc(gw_arena *a, size_t n)
{
	n = (n + 7) & ~(size_t)7;
	struct gw_arena_block *b = a->head;
	if (b == NULL || b->cap - b->used < n) {
		size_t cap = n > GW_ARENA_BLOCK ? n : GW_ARENA_BLOCK;
		b = gw_xmalloc(sizeof(*b) + cap);
		b->used = 0;
		b->cap = cap;
		b->next = a->head;
		a->head = b;
	}
	void *p = b->data + b->used;
	b->used += n;
	return p;
}

char *
gw_arena_strndup(gw_arena *a, const char *s, size_t n)
{
	char *p = gw_arena_alloc(a, n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *
gw_arena_strdup(gw_arena *a, const char *s)
{
	return s == NULL ? NULL : gw_arena_strndup(a, s, strlen(s));
}
