/*
 * state.h - <state-dir>/state.json (health, guardrail, the service
 * lifecycle block and the store's counters) and, through records.h, the
 * processed case keys and request records.
 *
 * One loader serves every view (runner, lifecycle, inspect, HTTP status),
 * so they never disagree: absent fields take defaults, a member of the
 * wrong type or invalid JSON makes the file corrupt.  Writers (mode
 * GW_STATE_WRITE, lock held) move a corrupt file aside to
 * state.json.corrupt-<unix_ms> and start fresh; readers report it and
 * change nothing.  A state.json from a newer schema version is never
 * touched.
 *
 * state.json stays small: the keys and records live in the records store
 * (records.h), and state.json keeps its counters (processed keys, records,
 * and the method, status-code and error-code counts the status report
 * prints), updated as records change, so no view ever scans the records.
 * Keys and records are read only when a cycle asks for them (one lookup
 * each), and a save writes only what changed: an append to records.log,
 * or, when the log has grown past a sixteenth of the snapshot, a new
 * snapshot (compaction).  The state's arena owns the strings of every
 * entry it touched.
 *
 * Schema 1 files (every key and record inside state.json) still load: the
 * data is read into memory as before, readers see it as before, and the
 * first save migrates it into the store (a snapshot, then the new
 * state.json).  Case keys are gw_case_key's escaped form; a record a
 * schema 1 file stores under the unescaped form of an earlier version is
 * renamed on load (together with its processed key).
 */
#ifndef GW_STATE_H
#define GW_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/base/buf.h"
#include "core/base/err.h"
#include "core/gateway/guardrail.h"
#include "core/gateway/health.h"
#include "core/gateway/records.h"
#include "core/base/mem.h"
#include "core/base/strmap.h"
#include "core/store/store.h"

#define GW_STATE_SCHEMA 2        /* written; schema 1 is read and migrated */
#define GW_STATE_SCHEMA_LEGACY 1

typedef struct gw_service_block {
	bool stopped;                    /* status "stopped" (else "running") */
	uint64_t startup_attempts;
	uint64_t startup_failure_streak;
	char last_startup_error[512];
	uint64_t last_started_unix_ms;
	uint64_t last_stopped_unix_ms;
	uint64_t last_transition_unix_ms;
	char last_stop_reason[256];
} gw_service_block;

/* One counted value (a method, a status code, an error code). */
typedef struct gw_count {
	char key[64];
	uint64_t count;
} gw_count;

typedef struct gw_count_map {
	gw_count *items;  /* sorted by key */
	size_t n, cap;
} gw_count_map;

typedef struct gw_entry gw_entry;   /* a key the state has touched (state.c) */

typedef struct gw_state {
	char *dir;                  /* as given, e.g. ".tau/gateway" */
	char *path;                 /* <dir>/state.json */
	bool existed;               /* state.json was present and loaded */
	bool legacy;                /* loaded from a schema 1 file (migrated on save) */
	bool write;                 /* loaded with GW_STATE_WRITE */
	char notice[1200];          /* non-empty when a corrupt file was moved aside */
	char corrupt_path[1024];    /* where it went */
	gw_arena *arena;            /* owns the touched entries' keys and strings */
	/* counters, kept in state.json */
	size_t nkeys;               /* processed case keys */
	size_t nreqs;               /* request records */
	gw_count_map method_counts, status_code_counts, error_code_counts;
	/* the store and the entries touched since the load */
	gw_records_meta meta;
	gw_records *store;          /* opened at load (writers) or on the first lookup */
	gw_store *rstore;           /* PostgreSQL: the records are its rows, not files
	                             * (gw_state_use_store; borrowed) */
	gw_strmap *absent;          /* with rstore: key literals known to have no row */
	gw_strmap *touched;         /* key literal -> gw_entry * */
	gw_entry **ents;            /* touched entries, in touch order */
	size_t nents, ents_cap;
	gw_strmap *pins;            /* key literals pinned for the cap (NULL: none) */
	gw_buf scratch;             /* a key literal being looked up */
	int store_rc;               /* first store error met by a lookup (0: none) */
	bool compact_next;          /* the next file save compacts (gw_state_compact_next) */
	gw_err store_err;
	gw_health health;
	gw_guardrail guardrail;
	gw_service_block service;
} gw_state;

/* Load modes; READ_EXISTING and READ_POSTURE may be combined with '|'.
 * For a schema 2 file every mode reads only state.json (records are looked
 * up when asked for); READ_POSTURE matters for schema 1 files, whose keys
 * and records it skips (counters then read 0). */
typedef enum gw_state_mode {
	GW_STATE_READ = 0,           /* never writes; missing file gives defaults */
	GW_STATE_READ_EXISTING = 1,  /* a missing file is an error (66) */
	GW_STATE_READ_POSTURE = 2,   /* skip processed keys and request records (not
	                              * loaded): health, guardrail and service only */
	GW_STATE_WRITE = 4           /* caller holds the lock; corrupt files are moved aside */
} gw_state_mode;

/* Loads <dir>/state.json.  *out is owned by the caller (gw_state_free).
 * Errors: -ENOENT (READ_EXISTING, 66), -EINVAL corrupt (65, READ modes),
 * -EPROTONOSUPPORT other schema (65, all modes), -errno I/O. */
int gw_state_load(const char *dir, unsigned mode, gw_state **out, gw_err *err);
void gw_state_free(gw_state *st);

/* Saves what changed: the touched entries (an append to records.log, or a
 * compaction into the next snapshot; a schema 1 state is migrated), then
 * state.json atomically (pretty JSON), which commits them.  The caller
 * holds the directory lock.  0, or -errno with err set (a store error a
 * lookup met is returned here, class 65). */
int gw_state_save(gw_state *st, gw_err *err);
/* The first store error a lookup met (0: none; err filled). */
int gw_state_store_error(const gw_state *st, gw_err *err);

/* The posture as a document of its own, for a store that keeps it apart
 * from the records (PostgreSQL): gw_state_load_text parses text (NULL: none
 * stored yet, so defaults, or -ENOENT (66) with GW_STATE_READ_EXISTING) as
 * gw_state_load parses state.json with GW_STATE_READ_POSTURE, naming label
 * in its messages and in st->path; a corrupt text is -EINVAL (65) in every
 * mode (nothing is moved aside).  *out is the caller's (gw_state_free).
 * gw_state_render_posture appends the pretty document: schema_version,
 * the records block's counters (next_seq, processed_case_count,
 * request_count and the count maps, as state.json has them), health,
 * guardrail, service (no records, no processed keys themselves). */
int gw_state_load_text(const char *label, const char *text, size_t len, unsigned mode,
    gw_state **out, gw_err *err);
void gw_state_render_posture(const gw_state *st, gw_buf *out);

/* Makes s (a PostgreSQL store, borrowed: it must outlive st) the records
 * store of st, a state gw_state_load_text made: lookups, walks and the cap
 * read its rows (inside gw_store_begin, the transaction's), and
 * gw_state_save_records writes the touched ones.  The counters stay in the
 * posture document (its "records" block, gw_state_render_posture). */
void gw_state_use_store(gw_state *st, gw_store *s);
/* Looks the n keys up at once and keeps what it found, so the lookups that
 * follow cost no round trip (a store's rows: one query per 2048 keys
 * instead of one per key; the file store, whose lookups are a hash probe
 * each: nothing).  0, or the store's error (remembered, as a lookup's).
 * keys are borrowed for the call; what was found is st's. */
int gw_state_prefetch(gw_state *st, const char *const *keys, size_t n, gw_err *err);
/* Writes the entries changed since the load to st's store (see
 * gw_state_use_store) and settles the counters; the caller then saves the
 * posture, which counts them, in the same transaction.  0 or -errno with err
 * set (a lookup's store error first). */
int gw_state_save_records(gw_state *st, gw_err *err);

/* Normalises the service block (reference §6.3) using now. */
void gw_state_normalize_service(gw_state *st, uint64_t now_unix_ms);

bool gw_state_is_processed(gw_state *st, const char *key);
/* out[i] = gw_state_is_processed(st, keys[i]) for the n keys, the file
 * store's lookups overlapped (gw_records_get_many), so a fixture's worth
 * costs a fraction of n calls.  A store error is remembered as a lookup's
 * (gw_state_store_error); the keys after it count as not processed.
 * keys and out are the caller's. */
void gw_state_processed_many(gw_state *st, const char *const *keys, size_t n, bool *out);
/* Appends key (copied) if new. */
void gw_state_mark_processed(gw_state *st, const char *key);
/* Pins key so gw_state_cap_processed keeps it (the runner pins every key
 * of the fixture it runs, when the cap is exceeded, so a fixture larger
 * than the cap still drains and never re-applies a case). */
void gw_state_pin_processed(gw_state *st, const char *key);
/* Drops the oldest unpinned keys until at most cap remain; pinned keys are
 * never dropped, so more than cap remain when more than cap are pinned.
 * Costs the keys it looks at (the dropped and the pinned passed over),
 * not the store: the snapshot keeps its keys in processing order. */
void gw_state_cap_processed(gw_state *st, size_t cap);

/* Returns the record for case_key, or NULL. */
gw_request *gw_state_find_request(gw_state *st, const char *case_key);
/* Returns the record for case_key, creating an empty one (strings "") if
 * needed.  Its string fields may be replaced with gw_state_strdup'ed text
 * (or static strings) until the next save or count read, which count it. */
gw_request *gw_state_upsert_request(gw_state *st, const char *case_key);
/* Copies s into the state's arena. */
const char *gw_state_strdup(gw_state *st, const char *s);
/* Calls fn for every key that is processed (seq > 0, its place in
 * processing order) or has a record (q, else NULL), in no particular
 * order; key and q are valid during the call only.  Reads the whole store:
 * for tests and tools, never on a cycle's path.  0 or -errno with err set. */
typedef void (*gw_state_entry_fn)(void *ctx, const char *key, uint64_t seq, const gw_request *q);
int gw_state_each_entry(gw_state *st, gw_state_entry_fn fn, void *ctx, gw_err *err);

/* Calls fn for every request record of the named actors (plain actor ids;
 * actor is the index into actors), in no particular order; the record is
 * valid during the call only.  Reads each actor's range of the store (what
 * a touched actor's MEMORY.md lists), not the whole store.  0 or -errno
 * with err set. */
typedef void (*gw_state_actor_fn)(void *ctx, size_t actor, const gw_request *q);
int gw_state_actor_requests(gw_state *st, const char *const *actors, size_t nactors,
    gw_state_actor_fn fn, void *ctx, gw_err *err);
/* Renders the named actors' MEMORY.md lines (what follows its header: a
 * line per record of the actor, in case_key order) into out[i] (caller-
 * owned buffers, appended to) from the lines the records snapshot keeps,
 * with the lines of keys the log or this state changed spliced in: the
 * cost is the changed keys' lookups plus a copy, not a parse of every
 * record.  1 done, 0 when the store keeps no lines (a version 1 snapshot,
 * a schema 1 state; out is left empty: use gw_state_actor_requests),
 * -errno with err set. */
int gw_state_actor_memory(gw_state *st, const char *const *actors, size_t nactors, gw_buf *out,
    gw_err *err);
/* Sets key's entry as a transfer (xfer.h) found it in another store:
 * processed at seq (0: not processed; next_seq is moved past it) with
 * record q (NULL: none; its strings copied into the state's arena).  For
 * a state being filled from nothing (an entry the store holds and the
 * state has not touched is not looked up, but replaced); the next save
 * writes it. */
void gw_state_put_entry(gw_state *st, const char *key, uint64_t seq, const gw_request *q);
/* Makes the next save of a file store write a new snapshot generation
 * (compaction) instead of appending to records.log (an export's records
 * land in one snapshot). */
void gw_state_compact_next(gw_state *st);
/* Brings the counters up to date with records changed since (done by
 * save; call it before reading nreqs or the count maps after upserts). */
void gw_state_settle(gw_state *st);

#endif
