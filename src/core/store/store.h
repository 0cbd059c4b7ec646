/*
 * store.h - one interface for the gateway's shared state, with two
 * backends: the state directory (files, the embedded default) and
 * PostgreSQL (fleet mode, libpq).
 *
 * A store is opened from a state directory or from a libpq connection
 * string plus a deployment name (the fleet inside one database).  The
 * store knows no domain words: the posture document (service block,
 * guardrail, health and counters; state.c parses and renders it) and event
 * lines (events.c builds them) pass through it as text.
 *
 *   read     gw_store_posture_read outside a transaction: no lock, the last
 *            committed posture.
 *   write    gw_store_begin (files: the exclusive flock on <dir>/.lock; PG:
 *            a transaction holding the deployment's row FOR UPDATE), then
 *            gw_store_posture_read / _posture_write / _event_append, then
 *            gw_store_commit or gw_store_abort.  On PostgreSQL nothing is
 *            visible before the commit, and the commit sends a NOTIFY on the
 *            deployment's channel; on files each write lands as it is made
 *            (atomic rename, one-write append) and commit releases the lock.
 *   feed     gw_store_listen, then poll gw_store_fd for input and call
 *            gw_store_drain: a loop learns of another process's commit
 *            without polling the database (PostgreSQL only; files have
 *            inotify).
 *
 *   responses gw_store_response_save / _load / _delete / _sweep
 *            (PostgreSQL only): stored responses of /v1/responses, one row
 *            per response keyed by (deployment, id); respstore.c owns their
 *            format and picks this backend or its files.
 *
 *   sessions gw_store_session_begin / _write / _sweep (PostgreSQL only):
 *            conversation histories of /v1/responses, one row per session
 *            key of the deployment holding the text session.c keeps in a
 *            <key>.jsonl file, locked FOR UPDATE from begin to commit so
 *            turns on one key serialise fleet-wide; session.c owns the
 *            format and picks this backend or its files.
 *
 *   records  gw_store_records_get / _each / _by_seq / _put and
 *            gw_store_channel_append / _inspect / _each / _count (PostgreSQL
 *            only, schema 5): the contract runner's keyed entries (processed keys in
 *            processing order, request records by key and actor) and its
 *            channel store (per-channel log and context lines, MEMORY.md),
 *            written inside gw_store_begin with the posture that counts them.
 *
 *   replicas gw_store_replica_register / _heartbeat / _deregister / _list /
 *            _expire
 *            (PostgreSQL only): the registry of the servers of a
 *            deployment, each row's last heartbeat stamped and aged by the
 *            database's clock, so hosts with skewed clocks agree.
 *
 * The file backend's posture is state.json, which still carries the
 * runner's records and processed keys, so state.c reads and writes it
 * itself (gw_state_load / gw_state_save) under this store's lock;
 * gw_store_posture_* are for backends whose posture is its own document.
 * No libpq call is made outside store_pg.c.
 */
#ifndef GW_STORE_H
#define GW_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/base/buf.h"
#include "core/base/err.h"

typedef struct gw_store gw_store;

typedef enum gw_store_kind {
	GW_STORE_FILES,      /* a state directory */
	GW_STORE_POSTGRES    /* a PostgreSQL database, one deployment of it */
} gw_store_kind;

#define GW_STORE_DEPLOYMENT_DEFAULT "default"
#define GW_STORE_DEPLOYMENT_MAX 48
/* The file store's event log, in the state directory. */
#define GW_STORE_EVENTS_FILE "runtime-events.jsonl"
/* The most rows one sweep call removes (its statement stays short; the
 * next pass takes the rest). */
#define GW_STORE_SWEEP_MAX 1000
/* The newest database schema this binary knows (tau_schema.version). */
#define GW_STORE_SCHEMA_VERSION 6

/* True when name is a deployment name: 1 to GW_STORE_DEPLOYMENT_MAX bytes
 * of a-z, 0-9, '_' and '-', starting with a letter or a digit. */
bool gw_store_deployment_ok(const char *name);

/* Opens the store of a state directory (nothing is created or locked
 * yet).  *out is the caller's (gw_store_close).  Always 0. */
int gw_store_open_dir(const char *dir, gw_store **out, gw_err *err);
/* Connects to the database that url (a libpq connection string or URI;
 * PG* variables and service files apply; connect_timeout 10 s unless url
 * sets one) names and creates or migrates
 * the schema under an advisory lock.  *out is the caller's.  Errors: a bad
 * URL, an unreachable server, a refused login or a missing database are
 * -ECONNREFUSED with exit class 69 and libpq's message (any password
 * redacted); a schema newer than GW_STORE_SCHEMA_VERSION is
 * -EPROTONOSUPPORT (65) and the database is left alone; a deployment name
 * that fails gw_store_deployment_ok is -EINVAL (64). */
int gw_store_open_url(const char *url, const char *deployment, gw_store **out, gw_err *err);
/* gw_store_open_url with the connect and the schema check each bounded to
 * connect_ms (0: libpq's connect_timeout, as gw_store_open_url): a server
 * that accepts the connection and then stays silent is -ETIMEDOUT (69).
 * *out is the caller's (gw_store_close), as gw_store_open_url's. */
int gw_store_open_url_within(const char *url, const char *deployment, uint64_t connect_ms,
    gw_store **out, gw_err *err);
/* Aborts an open transaction, releases the lock, disconnects, frees s. */
void gw_store_close(gw_store *s);

gw_store_kind gw_store_kind_of(const gw_store *s);
/* The state directory (files), or NULL (PostgreSQL).  Borrowed from s. */
const char *gw_store_dir(const gw_store *s);
/* What reports name as the store's place (the directory, or
 * "postgresql:<database>/<deployment>"), and as the posture's and the
 * event log's: the file paths, or that label + "/posture" and "/events"
 * (never a host, user or password).  Borrowed from s. */
const char *gw_store_label(const gw_store *s);
const char *gw_store_posture_label(const gw_store *s);
const char *gw_store_events_label(const gw_store *s);

/* Starts the exclusive section (who names it in the file lock's holder
 * line, or in the transaction's application_name).  Both backends wait at
 * most gw_lock_wait_bound() ms and pass a "waiting for ... held by ..."
 * notice to gw_lock_notice_say after GW_LOCK_NOTICE_MS.  0 or -errno with
 * err set (files: gw_lock_acquire_as's errors; PostgreSQL: -ETIMEDOUT (69)
 * when the bound passed, 69 when the database fails). */
int gw_store_begin(gw_store *s, const char *who, gw_err *err);
/* Ends it, making its writes durable and visible (PostgreSQL: COMMIT and
 * the NOTIFY; a failed commit is an error, and nothing was written). */
int gw_store_commit(gw_store *s, gw_err *err);
/* Ends it without committing (PostgreSQL: ROLLBACK; files: the lock is
 * released, writes already made stay). */
void gw_store_abort(gw_store *s);

/* Replaces out's content with the posture document: inside gw_store_begin
 * the locked row, else the last committed one.  -ENOENT (err untouched)
 * when there is none yet; -ENOTSUP for files (see the top). */
int gw_store_posture_read(gw_store *s, gw_buf *out, gw_err *err);
/* Stores text as the posture (inside gw_store_begin only). */
int gw_store_posture_write(gw_store *s, const char *text, size_t n, gw_err *err);
/* Appends one event line (compact JSON object text, no newline): files
 * append it with '\n' to <dir>/runtime-events.jsonl in one write (as
 * gw_events_append does); PostgreSQL inserts it in the transaction. */
int gw_store_event_append(gw_store *s, const char *line, size_t n, gw_err *err);
/* Appends lines[0..n) (lens[i] bytes each) in that order, as n calls of
 * gw_store_event_append would, in one statement on PostgreSQL (a transfer
 * of a long log pays one round trip per batch, not per line) and one write
 * for files. */
int gw_store_event_append_batch(gw_store *s, const char *const *lines, const size_t *lens, size_t n,
    gw_err *err);
/* Calls fn for each event line, oldest first (PostgreSQL only; -ENOTSUP
 * for files, whose log events.c streams).  *present is set when the
 * deployment has any line. */
typedef void (*gw_store_line_fn)(void *ctx, const char *line, size_t n);
int gw_store_events_each(gw_store *s, gw_store_line_fn fn, void *ctx, bool *present, gw_err *err);

/* Calls fn for the deployment's event lines after *cursor (0: from the
 * start), oldest first, at most max of them (the newest max when more
 * came), and moves *cursor past the last one: a reader that keeps a ring
 * of max lines follows the log with it (PostgreSQL only; -ENOTSUP for
 * files, whose log events.c tails).  The cursor is the rows' sequence
 * number, opaque to the caller.  Writers append inside gw_store_begin,
 * which serialises them, so rows commit in sequence order; a line
 * appended outside a transaction while another writer's is open could
 * commit behind a higher number and be missed by a follower. */
int gw_store_events_since(gw_store *s, uint64_t *cursor, size_t max, gw_store_line_fn fn,
    void *ctx, gw_err *err);

/* The change feed (PostgreSQL): LISTEN on the deployment's channel.
 * Afterwards gw_store_fd is readable when a notification may have come,
 * and gw_store_drain reads what arrived without blocking, setting
 * *changes to the number of posture commits seen (0 is possible after a
 * wakeup).  Files: -ENOTSUP. */
int gw_store_listen(gw_store *s, gw_err *err);
int gw_store_fd(const gw_store *s);
int gw_store_drain(gw_store *s, unsigned *changes, gw_err *err);

/* Bounds every later statement of s's connection to ms milliseconds
 * (statement_timeout; 0 lifts the bound): a one-threaded reader such as
 * the console keeps its queries short.  The client holds to it as well: a
 * call that gets no answer within ms + 100 ms (a hung host, a partition,
 * where the server never sees the statement) fails with exit class 69 and
 * the connection counts as gone (gw_store_connected false), so the caller
 * reconnects.  PostgreSQL only (-ENOTSUP). */
int gw_store_set_timeout(gw_store *s, uint64_t ms, gw_err *err);
/* Bounds the later calls of a connection with a statement bound (above)
 * by the monotonic time mono_ms as well (gw_clock_mono_ms; 0 lifts it),
 * for a caller that owes someone an answer by then: a call still waiting
 * at mono_ms gives the connection up as a silent one (exit class 69,
 * gw_store_connected false).  Client side only, no round trip.  Files:
 * nothing to bound. */
void gw_store_set_deadline(gw_store *s, uint64_t mono_ms);
/* True while s can reach its database (files: always).  After a failed
 * call that set exit class 69, false means the connection itself is gone:
 * close s and open a new store (LISTEN again) to recover. */
bool gw_store_connected(const gw_store *s);

/* ---- the replica registry (PostgreSQL) ------------------------------------
 * One row per server of a deployment, keyed by (deployment, id).  The
 * database stamps registration and every heartbeat with its own now(), and
 * gw_store_replica_list computes each row's heartbeat age there too; a row
 * whose age passes GW_STORE_REPLICA_STALE_MS is stale (its server stopped
 * heartbeating: killed, hung or cut off); a server's fleet thread deletes
 * rows stale for much longer (gw_store_replica_expire).  Files: -ENOTSUP
 * (one host, no registry). */

#define GW_STORE_REPLICA_STALE_MS 5000
#define GW_STORE_REPLICA_HOST_MAX 256
#define GW_STORE_REPLICA_BIND_MAX 128
#define GW_STORE_REPLICA_VERSION_MAX 64

/* What a replica reports with each heartbeat: totals since it started,
 * and the streams open now. */
typedef struct gw_store_replica_counters {
	uint64_t requests;
	uint64_t active_streams;
	uint64_t errors_4xx;
	uint64_t errors_5xx;
} gw_store_replica_counters;

/* Who a replica is (borrowed strings; cut to the _MAX sizes above). */
typedef struct gw_store_replica_info {
	const char *host;
	const char *bind;
	const char *version;
	long pid;
} gw_store_replica_info;

/* One row of the registry as gw_store_replica_list reads it. */
typedef struct gw_store_replica {
	uint64_t id;
	char host[GW_STORE_REPLICA_HOST_MAX];
	char bind[GW_STORE_REPLICA_BIND_MAX];
	char version[GW_STORE_REPLICA_VERSION_MAX];
	long pid;
	uint64_t started_unix_ms;     /* the database's clock at registration */
	uint64_t heartbeat_age_ms;    /* now() - last heartbeat, by the database */
	bool stale;                   /* heartbeat_age_ms > GW_STORE_REPLICA_STALE_MS */
	gw_store_replica_counters counters;
} gw_store_replica;

/* Adds a row for info with zero counters and a heartbeat of now; *id is
 * the row's id (unique in the database). */
int gw_store_replica_register(gw_store *s, const gw_store_replica_info *info, uint64_t *id,
    gw_err *err);
/* Stores c as the row's counters and stamps its heartbeat.  -ENOENT (err
 * set, 66) when the row is gone (deregistered by someone else). */
int gw_store_replica_heartbeat(gw_store *s, uint64_t id, const gw_store_replica_counters *c,
    gw_err *err);
/* Removes the row (a clean shutdown); 0 also when it was already gone. */
int gw_store_replica_deregister(gw_store *s, uint64_t id, gw_err *err);
/* Every row of the deployment, live and stale, ordered by host, bind and
 * id.  *out is malloc'ed (the caller frees it; NULL when *n is 0). */
int gw_store_replica_list(gw_store *s, gw_store_replica **out, size_t *n, gw_err *err);
/* Deletes the rows whose last heartbeat is more than older_than_ms old by
 * the database's clock (replicas killed without deregistering); *removed
 * is how many.  A live replica whose row went meanwhile gets -ENOENT from
 * its next heartbeat and registers again.  Nothing to free. */
int gw_store_replica_expire(gw_store *s, uint64_t older_than_ms, size_t *removed, gw_err *err);

/* ---- stored responses (PostgreSQL) ------------------------------------------
 * One row per stored response of a deployment (schema version 3), keyed by
 * (deployment, id): the columns of respstore.h's record.  Each call is one
 * autocommit statement (a save: one statement for any number of rows,
 * prepared once per connection), so a save that returned 0 is committed
 * (read-your-writes from any replica).  respstore.c is the only caller;
 * the store only moves the text.  Files: -ENOTSUP (respstore.c keeps its
 * own files). */

/* One stored response as a row; strings are borrowed (save) or owned by
 * the caller after load (gw_store_response_free). */
typedef struct gw_store_response {
	char *id;
	char *session_key;       /* "" when none */
	char *previous_id;       /* NULL: a root */
	uint64_t history_items;
	char *input_items;       /* JSON array text */
	char *response;          /* the ResponseResource text */
	uint64_t created_unix_ms; /* save: 0 is the saver's clock now; read by
	                          * gw_store_response_each only */
} gw_store_response;

/* Inserts r (an existing id is replaced).  0, or -EIO with err set (69
 * when the database failed, 65 when it refused the text). */
int gw_store_response_save(gw_store *s, const gw_store_response *r, gw_err *err);
/* Inserts the n rows r[0..n-1] (ids distinct) in one statement, one
 * commit: all are committed when it returns 0, none when it fails (-EINVAL
 * with exit 65 when the database refused some row's text: the caller may
 * save the rows one by one to find it; -EIO with 69 when the database
 * failed).  Inside gw_store_begin the rows are part of that transaction
 * (an import).  The rows stay the caller's.  Group commit (respconn.c),
 * the transfer.  n 0 is 0, nothing done. */
int gw_store_response_save_many(gw_store *s, const gw_store_response *r, size_t n, gw_err *err);
/* Loads row id into *out (the caller frees it with gw_store_response_free).
 * 0, -ENOENT (err untouched) when there is none, or -EIO with err set. */
int gw_store_response_load(gw_store *s, const char *id, gw_store_response *out, gw_err *err);
void gw_store_response_free(gw_store_response *r);
/* Loads the chain that ends at id in one query (a recursive CTE): row id,
 * then the row its previous_response_id names, and so on, newest first,
 * at most max rows, stopping at a root or a missing row.  *out is
 * malloc'ed (free each row with gw_store_response_free, then the array);
 * *n 0 when id itself is absent. */
int gw_store_response_chain(gw_store *s, const char *id, size_t max, gw_store_response **out,
    size_t *n, gw_err *err);
/* Which of the n ids ids[] (borrowed) are rows of the deployment, in one
 * query (a primary-key probe each, no content read): present[i] (the caller's
 * n bools) says whether ids[i] is.  For a chain walk whose records are
 * cached in memory and need only be checked to be still stored.  0, or
 * -EIO with err set (69). */
int gw_store_response_present(gw_store *s, const char *const *ids, size_t n, bool *present,
    gw_err *err);
/* Calls fn for every row of the deployment, ordered by id, one row at a
 * time (the row and its strings are borrowed for the call; a transfer
 * reads a big store without holding it in memory).  fn returns 0 to go
 * on, or a negative errno (its own err set) that stops the walk and is
 * returned. */
typedef int (*gw_store_response_fn)(void *ctx, const gw_store_response *r);
int gw_store_response_each(gw_store *s, gw_store_response_fn fn, void *ctx, gw_err *err);
/* Sets *n to the number of rows of the deployment. */
int gw_store_response_count(gw_store *s, uint64_t *n, gw_err *err);
/* Removes row id.  0, -ENOENT (err untouched) when there was none, -EIO. */
int gw_store_response_delete(gw_store *s, const char *id, gw_err *err);
/* Removes at most max rows created at or before now_s - ttl_s (the
 * saver's clock, Unix seconds), skipping rows another transaction holds,
 * so replicas may sweep at once; *removed counts them.  ttl_s 0 removes
 * nothing. */
int gw_store_response_sweep(gw_store *s, uint64_t now_s, uint64_t ttl_s, size_t max,
    size_t *removed, gw_err *err);

/* ---- sessions (PostgreSQL) ---------------------------------------------------
 * One row per session key of a deployment (schema version 4): the session's
 * history as session.c's JSONL text (the bytes a <key>.jsonl file holds;
 * since version 6 the row's body followed by one tau_session_line row per
 * append, so an append does not rewrite the history) and the writer's
 * clock at its last write.  Files: -ENOTSUP (session.c
 * keeps its own files under a flock). */

/* Locks session key for a turn: makes its row if missing (its own
 * autocommit statement), then opens a transaction on s (gw_store_commit or
 * gw_store_abort ends it) holding the row FOR UPDATE, waiting at most
 * wait_ms (0: not at all) for a turn on another connection to commit.  A
 * row removed by a sweep while this waited is made again.  Replaces body's
 * content with the row's text ("" for a new session).  0, -ETIMEDOUT
 * (err set, 69) when the wait passed, -EBUSY when s already has a
 * transaction open, or -EIO with err set (69). */
int gw_store_session_begin(gw_store *s, const char *key, uint64_t wait_ms, gw_buf *body,
    gw_err *err);
/* Inside gw_store_session_begin: appends text to the locked row's history
 * (replace false) or replaces it (replace true, a compaction), and stamps
 * the row with the writer's clock.  0 or -EIO with err set (69; 65 when
 * the database refused the text). */
int gw_store_session_write(gw_store *s, const char *key, const char *text, size_t n,
    bool replace, gw_err *err);
/* Removes at most max rows whose last write was at or before now_s - ttl_s
 * (the writers' clocks, Unix seconds), skipping rows a turn holds (FOR
 * UPDATE SKIP LOCKED): safe to run on every replica at once, none waits
 * and none removes a session in use.  *removed counts them.  ttl_s 0
 * removes nothing. */
int gw_store_session_sweep(gw_store *s, uint64_t now_s, uint64_t ttl_s, size_t max,
    size_t *removed, gw_err *err);

/* ---- runner records and the channel store (PostgreSQL, schema 5) -----------
 * Keyed entries of a deployment: (deployment, key) -> seq (processing order,
 * 0: not processed), actor ("" when none) and record (compact JSON text, or
 * NULL when the key has none).  The store moves the text; records.h's
 * callers own its format.  Reads inside gw_store_begin see the transaction's
 * own writes.  Files: -ENOTSUP (records.c keeps the state directory's). */

/* One entry; strings borrowed (valid during a callback, or from the caller
 * for _put).  rec NULL: no record. */
typedef struct gw_store_record {
	const char *key;
	uint64_t seq;
	const char *actor;
	const char *rec;
	size_t rec_len;
} gw_store_record;
typedef void (*gw_store_record_fn)(void *ctx, const gw_store_record *r);

/* Calls fn for each of the n keys that has an entry (in no particular
 * order; one query).  0 or -EIO with err set (69). */
int gw_store_records_get(gw_store *s, const char *const *keys, size_t n, gw_store_record_fn fn,
    void *ctx, gw_err *err);
/* Calls fn for every entry that has a record, of one actor (actor not
 * NULL) or of all (also entries with only a seq), ordered by key. */
int gw_store_records_each(gw_store *s, const char *actor, gw_store_record_fn fn, void *ctx,
    gw_err *err);
/* Calls fn for at most max processed entries (seq > 0) whose seq is past
 * after, in processing order; *got counts them (fewer than max: the end). */
int gw_store_records_by_seq(gw_store *s, uint64_t after, size_t max, gw_store_record_fn fn,
    void *ctx, size_t *got, gw_err *err);
/* Writes the n entries (inside gw_store_begin): each replaces its key's;
 * one with seq 0 and no record removes it. */
int gw_store_records_put(gw_store *s, const gw_store_record *recs, size_t n, gw_err *err);

/* Appends a channel's lines (text of '\n'-terminated lines; empty lines are
 * skipped) to its log and context, and stores memory as its MEMORY.md
 * (inside gw_store_begin; memory NULL: a new channel has no MEMORY.md, an
 * existing one keeps its own).  transport and channel are the sanitised
 * names (chanstore.c's). */
int gw_store_channel_append(gw_store *s, const char *transport, const char *channel,
    const char *log, size_t log_len, const char *context, size_t context_len, const char *memory,
    size_t memory_len, gw_err *err);

/* What gw_store_channel_inspect counts of one channel. */
typedef struct gw_store_channel_info {
	uint64_t log_lines, context_lines;
	bool memory_exists;
	uint64_t memory_bytes;
} gw_store_channel_info;
/* Fills *out for a channel: 0, -ENOENT (err untouched) when the runner never
 * wrote it, or -EIO with err set. */
int gw_store_channel_inspect(gw_store *s, const char *transport, const char *channel,
    gw_store_channel_info *out, gw_err *err);

/* One channel as gw_store_channel_each hands it out: strings borrowed for
 * the call; log and context are its lines in append order, each ended by
 * '\n' ("" when none); memory NULL when it has no MEMORY.md. */
typedef struct gw_store_channel_row {
	const char *transport, *channel;
	const char *memory;
	size_t memory_len;
	const char *log, *context;
	size_t log_len, context_len;
} gw_store_channel_row;
typedef int (*gw_store_channel_fn)(void *ctx, const gw_store_channel_row *r);
/* Calls fn for every channel of the deployment (a transfer's export),
 * ordered by transport and channel, one channel at a time; fn's non-zero
 * return stops the walk and is returned.  0 or -EIO with err set (69). */
int gw_store_channel_each(gw_store *s, gw_store_channel_fn fn, void *ctx, gw_err *err);
/* Sets *n to the number of channels of the deployment. */
int gw_store_channel_count(gw_store *s, uint64_t *n, gw_err *err);

/* A session row as a transfer moves it (--gateway-state-import/-export):
 * strings borrowed (for the call, or from the caller for _put). */
typedef struct gw_store_session_row {
	const char *key;
	const char *body;           /* the <key>.jsonl text, byte for byte */
	size_t len;
	uint64_t created_unix_ms;   /* 0 on _put: updated_unix_ms */
	uint64_t updated_unix_ms;   /* the last write (the TTL ages it by this) */
} gw_store_session_row;
typedef int (*gw_store_session_fn)(void *ctx, const gw_store_session_row *r);
/* Calls fn for every session row of the deployment, ordered by key, one
 * row at a time; fn's non-zero return stops the walk and is returned. */
int gw_store_session_each(gw_store *s, gw_store_session_fn fn, void *ctx, gw_err *err);
/* Writes row r (an existing key is replaced) inside gw_store_begin's
 * transaction, without a lock of its own: an import's rows commit with it. */
int gw_store_session_put(gw_store *s, const gw_store_session_row *r, gw_err *err);
/* Sets *n to the number of session rows of the deployment. */
int gw_store_session_count(gw_store *s, uint64_t *n, gw_err *err);

/* Appends text to out with every password that url carries (password=...
 * in key/value or query form, user:password@ in a URI, raw and
 * percent-decoded) replaced by "***". */
void gw_store_redact(const char *url, const char *text, gw_buf *out);

#endif
