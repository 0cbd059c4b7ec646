/*
 * respstore.h - stored responses, in the store st names: a state
 * directory keeps one file per response in
 * <state-dir>/openresponses/responses/<id>.json; PostgreSQL (fleet mode)
 * one row per response of the deployment (store.h, schema version 3), each
 * save one committed statement.  Every function takes the store and picks
 * the backend itself, so callers are the same for both.  A PostgreSQL
 * store is used by one thread at a time (its caller's); its errors are
 * exit class 69 when the database failed.
 *
 * A record holds what is new in its turn and a reference to the response
 * it continues, never a copy of the earlier turns:
 *   {"id":..,"session_key":..,"previous_response_id":..,"history_items":N,
 *    "input_items":[this request's items],"response":{..}}
 * A record without previous_response_id is a root: its input_items is the
 * whole context the model saw (a session's history and the request's
 * input).  Records written before chains existed are roots of this kind,
 * so they load and continue unchanged.  A continuation's context is
 * rebuilt by walking previous_response_id links back (gw_respstore_chain),
 * newest first, and the walk stops once it has enough items, so a chain
 * of any length stores O(turns) bytes and a turn reads at most the records
 * its bounded context needs.  history_items says how many items of the
 * chain before input_items the model saw, so GET .../input_items lists
 * exactly that context while every record of it is still stored.
 *
 * Deleting a record (or its expiry) removes its content from every chain
 * through it: a descendant's context is cut where the walk meets the
 * missing record, and it keeps the turns after it.  Only the response a
 * request names itself must exist (-ENOENT otherwise).  A record that
 * names itself or a descendant (a loop, which only a hand-edited file can
 * make) and a malformed record anywhere in the walked part of a chain are
 * errors (-ELOOP, -EINVAL) naming the file; a walk never loops.
 *
 * These are the operations a store backend provides (save with the
 * previous id, load one, walk a chain, delete, sweep); this file store is
 * one backend.
 *
 * Durability: each record is written once, with one write(2) into a new
 * file and a rename; it is not fsynced (a crash may lose the newest
 * records, never tear one).  Records are never rewritten, so a walk needs
 * no lock: a concurrent delete or sweep only cuts it earlier.
 */
#ifndef GW_RESPSTORE_H
#define GW_RESPSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "core/base/err.h"
#include "core/openresponses/respcache.h"
#include "core/store/store.h"
#include "core/store/xfer.h"

/* True when id can name a stored response ([A-Za-z0-9_-], 1..128 bytes). */
bool gw_respstore_id_ok(const char *id);

/* One record to save; every pointer is borrowed. */
typedef struct gw_respstore_rec {
	const char *id;
	const char *session_key;    /* NULL or "": none */
	const char *previous_id;    /* NULL: a root */
	uint64_t history_items;     /* continuation: items of the chain before
	                             * input_items the model saw (0 for a root) */
	const cJSON *input_items;   /* root: the whole context; continuation:
	                             * this turn's input items only */
	const char *response_json;  /* the rendered ResponseResource */
	size_t response_len;
} gw_respstore_rec;

/* Saves rec.  0 or -errno with err set. */
int gw_respstore_save(gw_store *st, const gw_respstore_rec *rec, gw_err *err);
/* Saves the n records recs[0..n-1] (distinct ids) together: on PostgreSQL
 * one statement and one commit, so all are saved when it returns 0 and none
 * when it fails (-EINVAL, exit 65: the database refused some record's
 * text, which saving them one by one finds; -EIO, 69: the database
 * failed); in a state directory one file each, in order, stopping at the
 * first failure.  The records stay the caller's. */
int gw_respstore_save_many(gw_store *st, const gw_respstore_rec *const *recs, size_t n,
    gw_err *err);

/* Loads one record, as stored, into *out (a cJSON object the caller frees
 * with cJSON_Delete).  The record is checked in full on load: every item
 * of input_items and response.output has the members the providers and
 * the API read, with their types, previous_response_id (when present) is
 * a valid id and history_items a count, so nothing downstream meets a
 * malformed one.  0, -ENOENT for an unknown or invalid id, -EINVAL (exit
 * class 65) naming the file and the bad item, or -errno. */
int gw_respstore_load(gw_store *st, const char *id, cJSON **out, gw_err *err);

/* A continuation's context, rebuilt from a chain of records. */
typedef struct gw_respstore_chain {
	cJSON *items;        /* the context, oldest first (owned) */
	char *session_key;   /* the named record's session key, "" when none (owned) */
	size_t records;      /* records read, the named one included */
	char cut[129];       /* "" or the id of the missing ancestor the walk stopped at */
	/* with a cache: the entries items shares nodes with (each item taken
	 * from the cache is a reference to the entry's, cJSON_IsReference,
	 * read-only), held until gw_respstore_chain_free; items, or a part of
	 * it moved elsewhere, must be freed first and never changed below
	 * its top level */
	gw_respcache *cache;
	const gw_respcache_entry **held;
	size_t nheld;
} gw_respstore_chain;

/* Rebuilds the context that continues response id: the items of its chain
 * (each record's input_items, then its response's output, oldest record
 * first), bounded by gw_resp_items_bound (responses.h), exactly as a
 * session's history is: the newest kept, at most max_items items (0: none
 * at all) and, when max_bytes is not 0, at most max_bytes of their weights
 * (compact JSON + 1 each), then starting at a user/system turn.  The
 * walk reads records newest first and stops as soon as it holds enough
 * items, at a root, or at a missing ancestor (out->cut names it); of each
 * record it parses only the members it uses (the links, input_items,
 * response.output), checked as gw_respstore_load checks them.  0, or
 * -ENOENT when id itself is not stored, -EINVAL for a malformed record,
 * -ELOOP for a loop (exit class 65, err names the file), or -errno.  The
 * caller frees *out with gw_respstore_chain_free, on failure too.
 *
 * cache (NULL: none; borrowed) holds what walks read of records
 * (respcache.h): a record it holds is taken from it once the store shows
 * the record is still there (files: one stat of its file; PostgreSQL: the
 * walk's recursive query, which leaves the content of the cached records
 * out), so a cached chain is cut exactly where an uncached one is; a
 * record read from the store goes into it.  The result is the same with
 * or without one. */
int gw_respstore_chain_load(gw_store *st, gw_respcache *cache, const char *id,
    size_t max_items, size_t max_bytes, gw_respstore_chain *out, gw_err *err);
/* Frees what gw_respstore_chain_load put in c (c itself is the caller's):
 * its items, then the entries they referred to. */
void gw_respstore_chain_free(gw_respstore_chain *c);

/* Puts into cache (NULL: nothing) what a walk reads of rec, a record just
 * saved in a store of the given kind: its text as that store holds it,
 * read back as a walk reads it.  For the server, once a save succeeded;
 * rec stays the caller's.  A record that does not read back is left
 * out. */
void gw_respstore_cache_put(gw_respcache *cache, gw_store_kind kind, const gw_respstore_rec *rec);

/* The context the model saw for the loaded record rec (from
 * gw_respstore_load): for a root its input_items; for a continuation the
 * newest history_items items of the chain it continues, then its
 * input_items.  A deleted or expired ancestor cuts the history there.
 * *items is a new array the caller frees with cJSON_Delete.  0, or the
 * errors of gw_respstore_chain_load except -ENOENT. */
int gw_respstore_input_items(gw_store *st, const cJSON *rec, cJSON **items, gw_err *err);

/* Removes a record.  0, -ENOENT when unknown, or -errno. */
int gw_respstore_delete(gw_store *st, const char *id, gw_err *err);

/* Removes the records of st written ttl_s or more seconds before now_s
 * (Unix seconds), and temp files a crash left that old (PostgreSQL: at
 * most GW_STORE_SWEEP_MAX rows per call, skipping rows in use, so every
 * replica may sweep at once).  Records are
 * written once, so a record's mtime is its creation.  ttl_s 0 removes
 * nothing.  *removed counts the records removed.  0, or -errno with err
 * set when the directory cannot be read (absent is fine). */
int gw_respstore_sweep(gw_store *st, uint64_t now_s, uint64_t ttl_s, size_t *removed,
    gw_err *err);

/* Calls fn for every stored response of st as a row, ordered by id (files:
 * each <id>.json read, checked in full as gw_respstore_load checks it, and
 * split into the row's members with input_items and response as the very
 * bytes the file holds; created_unix_ms is the file's mtime, which the
 * sweep ages it by; PostgreSQL: the rows, created_unix_ms theirs).  The row
 * is borrowed for the call.  A malformed record file stops the walk with
 * -EINVAL (65) naming it; fn's own failure is returned as it is. */
int gw_respstore_each(gw_store *st, gw_store_response_fn fn, void *ctx, gw_err *err);
/* Stores row r as it is (files: <id>.json holding the record text a save
 * writes, its mtime set to r->created_unix_ms; PostgreSQL: the row, with
 * that creation time).  0 or -errno with err set. */
int gw_respstore_put(gw_store *st, const gw_store_response *r, gw_err *err);

/* The stored-response layer's kinds of state for --gateway-state-import /
 * -export (xfer.h): "responses" (every stored response, byte for byte,
 * with its creation time), then "sessions" (each
 * <dir>/openresponses/sessions/<key>.jsonl <-> its tau_session row, byte
 * for byte, with its last write's time; gw_session_each / _put).  A static
 * table; *n is its length. */
const gw_xfer_kind *gw_respstore_xfer_kinds(size_t *n);

#endif
