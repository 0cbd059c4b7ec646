/*
 * strmap.h - an open-addressing hash map from C strings to size_t.
 *
 * Keys are borrowed: the caller keeps them alive (usually in an arena) for
 * the map's lifetime.  Used for processed-case sets, the request index and
 * per-actor grouping, so every lookup in a runner cycle is O(1).
 */
#ifndef GW_STRMAP_H
#define GW_STRMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct gw_strmap gw_strmap;

/* Returns a new empty map; free with gw_strmap_free(). */
gw_strmap *gw_strmap_new(size_t expected);
/* Frees the map (not the keys).  NULL is a no-op. */
void gw_strmap_free(gw_strmap *m);
/* Inserts or replaces key -> value.  Returns true when key was new. */
bool gw_strmap_put(gw_strmap *m, const char *key, size_t value);
/* Returns true and stores the value when key is present. */
bool gw_strmap_get(const gw_strmap *m, const char *key, size_t *value);
/* Removes key; returns true when it was present. */
bool gw_strmap_del(gw_strmap *m, const char *key);
/* Number of keys. */
size_t gw_strmap_count(const gw_strmap *m);
/* FNV-1a 64-bit hash of s. */
uint64_t gw_strhash(const char *s);
/* The same hash of s[0..n), which need not be NUL-terminated. */
uint64_t gw_strhash_n(const char *s, size_t n);

#endif
