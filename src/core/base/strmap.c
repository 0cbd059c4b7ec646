/*
 * strmap.c - linear-probing string map with tombstone-free deletion
 * (backward shift).  Must never own or free its keys.
 */
#include "core/base/strmap.h"
#include "core/base/mem.h"

#include <stdlib.h>
#include <string.h>

struct gw_strmap_slot {
	const char *key; /* NULL = empty */
	uint64_t hash;
	size_t value;
};

struct gw_strmap {
	struct gw_strmap_slot *slots;
	size_t cap; /* power of two */
	size_t count;
};

uint64_t
gw_strhash_n(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ULL;
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ULL;
	}
	return h ^ (h >> 29);
}

uint64_t
gw_strhash(const char *s)
{
	return gw_strhash_n(s, strlen(s));
}

gw_strmap *
gw_strmap_new(size_t expected)
{
	gw_strmap *m = gw_xcalloc(1, sizeof(*m));
	size_t cap = 16;
	while (cap < expected * 2)
		cap *= 2;
	m->slots = gw_xcalloc(cap, sizeof(*m->slots));
	m->cap = cap;
	return m;
}

void
gw_strmap_free(gw_strmap *m)
{
	if (m == NULL)
		return;
	free(m->slots);
	free(m);
}

static void
gw_strmap_grow(gw_strmap *m)
{
	struct gw_strmap_slot *old = m->slots;
	size_t oldcap = m->cap;
	m->cap *= 2;
	m->slots = gw_xcalloc(m->cap, sizeof(*m->slots));
	for (size_t i = 0; i < oldcap; i++) {
		if (old[i].key == NULL)
			continue;
		size_t j = old[i].hash & (m->cap - 1);
		while (m->slots[j].key != NULL)
			j = (j + 1) & (m->cap - 1);
		m->slots[j] = old[i];
	}
	free(old);
}

static size_t
gw_strmap_find(const gw_strmap *m, const char *key, uint64_t h)
{
	size_t j = h & (m->cap - 1);
	while (m->slots[j].key != NULL) {
		if (m->slots[j].hash == h && strcmp(m->slots[j].key, key) == 0)
			return j;
		j = (j + 1) & (m->cap - 1);
	}
	return j;
}

bool
gw_strmap_put(gw_strmap *m, const char *key, size_t value)
{
	if ((m->count + 1) * 4 > m->cap * 3)
		gw_strmap_grow(m);
	uint64_t h = gw_strhash(key);
	size_t j = gw_strmap_find(m, key, h);
	if (m->slots[j].key != NULL) {
		m->slots[j].value = value;
		return false;
	}
	m->slots[j].key = key;
	m->slots[j].hash = h;
	m->slots[j].value = value;
	m->count++;
	return true;
}

bool
gw_strmap_get(const gw_strmap *m, const char *key, size_t *value)
{
	size_t j = gw_strmap_find(m, key, gw_strhash(key));
	if (m->slots[j].key == NULL)
		return false;
	if (value)
		*value = m->slots[j].value;
	return true;
}

bool
gw_strmap_del(gw_strmap *m, const char *key)
{
	size_t mask = m->cap - 1;
	size_t j = gw_strmap_find(m, key, gw_strhash(key));
	if (m->slots[j].key == NULL)
		return false;
	m->slots[j].key = NULL;
	m->count--;
	/* backward-shift the cluster that follows */
	size_t i = (j + 1) & mask;
	while (m->slots[i].key != NULL) {
		size_t home = m->slots[i].hash & mask;
		/* move slot i to hole j if home is not in (j, i] cyclically */
		bool between = j < i ? (home > j && home <= i) : (home > j || home <= i);
		if (!between) {
			m->slots[j] = m->slots[i];
			m->slots[i].key = NULL;
			j = i;
		}
		i = (i + 1) & mask;
	}
	return true;
}

size_t
gw_strmap_count(const gw_strmap *m)
{
	return m->count;
}
