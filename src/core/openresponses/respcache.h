/*
 * respcache.h - a bounded, thread-safe in-process cache of what a chain
 * walk (gw_respstore_chain_load) reads of each stored response: its
 * previous id, its session key, its items (input_items, then its
 * response's output) and the length of the record text they came from.
 * Records are immutable once written, so an entry never changes; it is
 * only added (when the server saved the record, or a walk read it) and
 * removed (evicted, least recently used first, or dropped when the
 * server deletes the record).  The cache never answers for a record's
 * existence: a walk still checks that every cached ancestor is stored
 * (respstore.h), so a record deleted or expired anywhere, by any replica,
 * still cuts the chain where it was.
 *
 * The bound is in bytes as this module counts them: each entry's struct,
 * its strings and every cJSON node of its items with their strings (not
 * malloc's own overhead).  The entries in the cache never count more than
 * the bound together; one that would count more than a quarter of it is
 * not kept.
 *
 * Threads: every function may be called from any thread.  An entry handed
 * out by gw_respcache_get is read-only and stays valid, whatever else
 * happens to the cache, until its gw_respcache_release; several threads
 * may read the same entry at once (cJSON_Duplicate of its items only
 * reads them).
 *
 * Ownership: the cache belongs to whoever made it (the server: one per
 * srv_server) and is freed by gw_respcache_free once no entry is held.
 */
#ifndef GW_RESPCACHE_H
#define GW_RESPCACHE_H

#include <stddef.h>

#include <cjson/cJSON.h>

typedef struct gw_respcache gw_respcache;

/* One cached record, read-only for everyone. */
typedef struct gw_respcache_entry {
	const char *id;
	const char *previous_id;  /* NULL: a root */
	const char *session_key;  /* "" when none */
	const cJSON *items;       /* an array: input_items, then response.output */
	size_t count;             /* items in it */
	size_t text_len;          /* the length of the record text they came from */
} gw_respcache_entry;

/* A cache of at most max_bytes (see the top); the caller frees it with
 * gw_respcache_free.  max_bytes 0 makes a cache that keeps nothing. */
gw_respcache *gw_respcache_new(size_t max_bytes);
/* Frees c and its entries (NULL: nothing); no entry may be held. */
void gw_respcache_free(gw_respcache *c);

/* Keeps a record: items (an array) is taken over by c in every case, the
 * strings are copied.  A record already kept stays as it is (records are
 * immutable); one too big for the bound is not kept; older entries are
 * evicted to make room.  c NULL: items is freed, nothing else. */
void gw_respcache_put(gw_respcache *c, const char *id, const char *previous_id,
    const char *session_key, cJSON *items, size_t text_len);

/* The entry of id, or NULL when c (NULL: none) does not hold it.  The
 * entry is the caller's to read until gw_respcache_release(c, e). */
const gw_respcache_entry *gw_respcache_get(gw_respcache *c, const char *id);
/* Holds e (from gw_respcache_get, still held) once more: one more
 * gw_respcache_release is due. */
void gw_respcache_ref(gw_respcache *c, const gw_respcache_entry *e);
/* Gives back an entry from gw_respcache_get or _ref (NULL: nothing). */
void gw_respcache_release(gw_respcache *c, const gw_respcache_entry *e);

/* Forgets id (a deleted record); entries held stay valid until released. */
void gw_respcache_drop(gw_respcache *c, const char *id);

/* The bytes the kept entries count (see the top), and how many there are. */
size_t gw_respcache_bytes(gw_respcache *c);
size_t gw_respcache_count(gw_respcache *c);

#endif
