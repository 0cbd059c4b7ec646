/*
 * state_util.h - test helpers that list a state's processed keys (in
 * processing order) and request keys (sorted) through gw_state_each_entry.
 * The caller frees the list with ut_list_free.
 */
#ifndef UT_STATE_UTIL_H
#define UT_STATE_UTIL_H

#include <stdlib.h>
#include <string.h>

#include "core/gateway/state.h"

typedef struct ut_list {
	char **s;
	uint64_t *seq;
	size_t n, cap;
	bool records;     /* list request keys instead of processed keys */
} ut_list;

static void
ut_list_add(void *ctx, const char *key, uint64_t seq, const gw_request *q)
{
	ut_list *l = ctx;
	if (l->records ? q == NULL : seq == 0)
		return;
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 16;
		l->s = realloc(l->s, l->cap * sizeof(*l->s));
		l->seq = realloc(l->seq, l->cap * sizeof(*l->seq));
	}
	l->s[l->n] = strdup(key);
	l->seq[l->n++] = seq;
}

static inline void
ut_list_sort(ut_list *l)
{
	for (size_t i = 1; i < l->n; i++) /* insertion sort: lists are short */
		for (size_t j = i; j > 0; j--) {
			bool swap = l->records ? strcmp(l->s[j - 1], l->s[j]) > 0 : l->seq[j - 1] > l->seq[j];
			if (!swap)
				break;
			char *t = l->s[j];
			l->s[j] = l->s[j - 1];
			l->s[j - 1] = t;
			uint64_t u = l->seq[j];
			l->seq[j] = l->seq[j - 1];
			l->seq[j - 1] = u;
		}
}

/* Processed keys, oldest first. */
static inline ut_list
ut_processed(gw_state *st)
{
	ut_list l = { 0 };
	gw_err err;
	if (gw_state_each_entry(st, ut_list_add, &l, &err) != 0)
		l.n = 0;
	ut_list_sort(&l);
	return l;
}

/* Request keys, sorted. */
static inline ut_list
ut_requests(gw_state *st)
{
	ut_list l = { .records = true };
	gw_err err;
	if (gw_state_each_entry(st, ut_list_add, &l, &err) != 0)
		l.n = 0;
	ut_list_sort(&l);
	return l;
}

static inline void
ut_list_free(ut_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->s[i]);
	free(l->s);
	free(l->seq);
	memset(l, 0, sizeof(*l));
}

#endif
