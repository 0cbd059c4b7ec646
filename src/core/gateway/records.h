/*
 * records.h - the file store of processed case keys and request records:
 * <state-dir>/records-<generation>.snap (a compacted snapshot with a hashed
 * index) and <state-dir>/records.log (an append-only log of changes).
 *
 * Every entry is one line, the same in both files:
 *
 *   ["<case key>",<seq>,"<actor id>",<record object or null>]\n
 *
 * seq is the key's place in processing order (1, 2, ...; 0: not processed
 * or dropped by the cap); the record is the request record without its
 * case_key, and the actor id is the record's ("" without one).  An entry
 * with seq 0 and no record is a deletion.  The log's last line for a key
 * wins over earlier lines and over the snapshot.
 *
 * The snapshot is the entries' lines sorted by actor, then key (so an
 * actor's records, which its MEMORY.md lists, are one range); then an
 * actor directory (lines ["<actor id>",<start>,<end>], in version 2 with
 * the actor's MEMORY.md lines named after them, see below); then
 * (version 2) those lines and their slots; then (8-aligned)
 * an open-addressing table of 16-byte slots (little-endian offset+1 of a
 * line, FNV-1a hash of its key literal); then the offsets (8 bytes each)
 * of the processed entries' lines in processing order, so the cap finds
 * the oldest keys without a walk; then a 96-byte trailer ("TAURECS1",
 * version, entries, data bytes, directory offset and bytes, slots, table
 * offset, processing-order offset and count, a check of those).  A lookup hashes the key and
 * reads one slot and one line, so a cycle reads only the keys it needs.  A
 * snapshot is written whole (temp, fsync, rename) and never changed;
 * compaction writes the next generation.
 *
 * Which generation is current and how many bytes of the log are committed
 * is said by state.json (gw_records_meta), saved atomically after the log
 * append it commits: bytes past log_bytes (a cycle killed before its state
 * save, a torn line) are never read and the next writer cuts them off.  So
 * a kill at any point leaves the store as the last saved state.json says.
 *
 * This is the interface a second backend would provide: open, get, each,
 * append, compact, and the clean-up after a compaction is committed.
 * gw_records owns its mappings; lines handed out are valid until close.
 */
#ifndef GW_RECORDS_H
#define GW_RECORDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/base/buf.h"
#include "core/base/err.h"
#include "core/base/mem.h"

#define GW_RECORDS_LOG_FILE "records.log"
#define GW_RECORDS_VERSION 2

/* What state.json says about the store (its "records" block). */
typedef struct gw_records_meta {
	uint64_t generation;   /* current snapshot (0: none) */
	uint64_t log_bytes;    /* committed length of records.log */
	uint64_t next_seq;     /* next processing-order number */
} gw_records_meta;

/* A request record; strings are owned by whoever filled it (an arena). */
typedef struct gw_request {
	const char *case_key;
	const char *case_id;
	const char *method;
	const char *endpoint;
	const char *actor_id;
	const char *outcome;
	const char *error_code;
	const char *response_body;  /* compact JSON text */
	uint64_t status_code;
	uint64_t updated_unix_ms;
} gw_request;

typedef struct gw_records gw_records;

/* One entry line as stored, split (pointers into the line). */
typedef struct gw_records_line {
	const char *key;      /* the key's JSON string literal, quotes included */
	size_t key_len;
	uint64_t seq;
	const char *actor;    /* the actor id's JSON string literal */
	size_t actor_len;
	const char *rec;      /* the record's JSON text, or "null" */
	size_t rec_len;
} gw_records_line;

/* Opens the store m describes in dir.  With write (the caller holds the
 * lock) log bytes past m->log_bytes are cut off.  Errors: -EINVAL corrupt
 * (a missing or damaged snapshot, a log shorter than committed; 65),
 * -EPROTONOSUPPORT a newer snapshot version (65), -errno I/O (74).  *out is
 * owned by the caller (gw_records_close). */
int gw_records_open(const char *dir, const gw_records_meta *m, bool write, gw_records **out,
    gw_err *err);
void gw_records_close(gw_records *r);
/* The path of generation gen's snapshot in dir; malloc'ed, caller frees. */
char *gw_records_snap_path(const char *dir, uint64_t gen);

/* Looks up the entry whose key literal is key (gw_json_escape's form).
 * 1 found (*out set), 0 absent, -EINVAL corrupt with err set. */
int gw_records_get(gw_records *r, const char *key, size_t key_len, gw_records_line *out,
    gw_err *err);
/* gw_records_get for each of the n literals keys[i] (lens[i] bytes, a NUL
 * after them): found[i] is its 1 or 0 and out[i] its entry.  The lookups
 * overlap their cache misses, so a large batch costs a fraction of n
 * calls.  0, or the first -EINVAL corrupt with err set (found[] and out[]
 * then hold the lookups before it).  Everything is the caller's; out[i]
 * points into r (valid until r changes or closes). */
int gw_records_get_many(gw_records *r, const char *const *keys, const size_t *lens, size_t n,
    gw_records_line *out, int *found, gw_err *err);

/* Calls fn for every live entry (the snapshot's lines the log does not
 * override, then the log's last line per key); fn's raw points at the
 * whole line (with its '\n').  0 or -EINVAL corrupt with err set. */
typedef void (*gw_records_each_fn)(void *ctx, const gw_records_line *l, const char *raw,
    size_t raw_len);
int gw_records_each(gw_records *r, gw_records_each_fn fn, void *ctx, gw_err *err);

/* Calls fn for every live entry of the actor whose id literal is actor
 * (NUL-terminated after its closing quote): the snapshot's range for it,
 * then the log's.  0 or -EINVAL corrupt with err set. */
int gw_records_each_actor(gw_records *r, const char *actor, gw_records_each_fn fn, void *ctx,
    gw_err *err);

/* The i-th processed entry of the snapshot in processing order (i from
 * 0): 1 with *out set, 0 when the log has a newer line for its key (skip
 * it), -ENOENT past the last, -EINVAL corrupt with err set. */
int gw_records_snap_seq(gw_records *r, uint64_t i, gw_records_line *out, gw_err *err);
/* Calls fn for the log's last line per key.  0 or -EINVAL corrupt. */
int gw_records_each_log(gw_records *r, gw_records_each_fn fn, void *ctx, gw_err *err);

/* Appends whole entry lines (one write, fdatasync'ed) at m->log_bytes and
 * advances m->log_bytes; committed once state.json is saved with m. */
int gw_records_append(gw_records *r, const char *lines, size_t n, gw_records_meta *m, gw_err *err);

/* Writes generation m->generation + 1: every live entry whose key skip
 * does not claim, then the n bytes of lines (whole entry lines; deletions
 * are dropped).  On success m names the new generation with an empty log;
 * it is committed once state.json is saved with m, and then
 * gw_records_retire(dir, old generation) clears the log and the old
 * snapshot. */
typedef bool (*gw_records_skip_fn)(void *ctx, const char *key, size_t key_len);
int gw_records_compact(gw_records *r, gw_records_skip_fn skip, void *ctx, const char *lines,
    size_t n, gw_records_meta *m, gw_err *err);
/* After a committed compaction (or migration): empties records.log and
 * removes old_gen's snapshot (0: none).  Best effort; the caller holds the
 * lock. */
void gw_records_retire(const char *dir, uint64_t old_gen);
/* Cuts records.log in dir back to bytes (an uncommitted append). */
void gw_records_truncate_log(const char *dir, uint64_t bytes);
/* Bytes of live data in the snapshot (to size the log against). */
uint64_t gw_records_snapshot_bytes(const gw_records *r);

/*
 * MEMORY.md lines.  A version 2 snapshot keeps every actor's lines as its
 * MEMORY.md lists them (gw_records_memory_line for each record of the
 * actor, sorted by case_key), so a cycle copies an actor's lines and
 * splices in what changed instead of parsing the actor's records.  Layout:
 * each directory line ends ,<first>,<count>,<end> (the actor's count
 * slots from slot first, its text ending at end); after the directory
 * (8-aligned) come 16-byte slots (little-endian offset of the line's entry,
 * start of the line in the text), then the text, then the table.  A
 * version 1 snapshot keeps none (gw_records_actor_memory returns 0 and the
 * caller renders from the records); compaction writes version 2.
 */
typedef struct gw_records_memory {
	const char *text;      /* the actor's lines (in the mapping; "" for none) */
	size_t len;
	const unsigned char *index;
	size_t n;              /* lines */
	uint64_t base;         /* the first line's start in the whole text */
} gw_records_memory;

/* Appends the MEMORY.md line of record q ("- <case_id> <method> <endpoint>
 * status=<code> outcome=<outcome>\n"). */
void gw_records_memory_line(gw_buf *b, const gw_request *q);
/* True when the snapshot keeps MEMORY.md lines (version 2, or none). */
bool gw_records_has_memory(gw_records *r);
/* The snapshot's lines of the actor whose id literal is actor (NUL-
 * terminated), the log not applied: 1 with *out set (borrowed from r, valid
 * until close; empty when it has none), 0 when the snapshot keeps no lines
 * (version 1), -EINVAL corrupt with err set. */
int gw_records_actor_memory(gw_records *r, const char *actor, gw_records_memory *out, gw_err *err);
/* Line i's bytes: [*start, *end) of m->text. */
void gw_records_memory_span(const gw_records_memory *m, size_t i, size_t *start, size_t *end);
/* The data offset of line i's entry. */
uint64_t gw_records_memory_entry(const gw_records_memory *m, size_t i);
/* Binary search for the plain key among m's lines: *pos is the first line
 * whose key is not below it; 1 when that line's key is key, 0 when not,
 * -EINVAL corrupt with err set.  Everything is borrowed; nothing is kept. */
int gw_records_memory_find(gw_records *r, const gw_records_memory *m, const char *key, size_t *pos,
    gw_err *err);
/* Looks key (a literal) up in the snapshot alone, the log not applied: 1
 * with *out and *off (its data offset, when off is not NULL) set, 0
 * absent, -EINVAL corrupt with err set. */
int gw_records_get_snap(gw_records *r, const char *key, size_t key_len, gw_records_line *out,
    uint64_t *off, gw_err *err);

/* Splits one entry line (without its '\n').  False when it is not one. */
bool gw_records_parse_line(const char *line, size_t n, gw_records_line *out);
/* Appends the entry line for (key literal, seq, record or NULL). */
void gw_records_format_line(gw_buf *b, const char *key, size_t key_len, uint64_t seq,
    const gw_request *rec);
/* Fills q (strings copied into arena a; case_key left alone) from a
 * record's JSON text.  False when it is not a record object. */
bool gw_records_parse_rec(const char *rec, size_t n, gw_arena *a, gw_request *q);

#endif
