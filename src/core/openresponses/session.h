/*
 * session.h - conversation history per session key, in
 * <state-dir>/openresponses/sessions/<key>.jsonl.
 *
 * A session is held open for a whole exchange (load history, call the
 * model, append the exchange) under an exclusive flock on <key>.lock, so
 * concurrent requests on one key - threads of one server or separate
 * processes - are serialised and none is dropped.  The wait for the lock
 * is bounded by the caller.  History is bounded: at
 * most max_items items and max_bytes bytes of their weights are loaded,
 * and the file is compacted when it holds more than twice max_items
 * items or its size passes twice max_bytes.  Expired sessions are
 * removed by gw_session_sweep.
 *
 * Fleet mode (a PostgreSQL store): gw_session_open_store keeps the same
 * text in the deployment's tau_session row of the key, locked FOR UPDATE
 * in a transaction on the caller's store connection from open to
 * gw_session_commit, so turns on one key serialise on every replica; the
 * exchange is visible to other turns only after the commit, and a session
 * closed uncommitted leaves the row as it was.  gw_session_sweep_store
 * removes expired rows that no turn holds.
 *
 * Ownership: gw_session_open returns a session the caller releases with
 * gw_session_close (which also releases the lock); a store passed to
 * gw_session_open_store stays the caller's, and must outlive the session.
 */
#ifndef GW_SESSION_H
#define GW_SESSION_H

#include <stdatomic.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "core/base/err.h"
#include "core/store/store.h"

/* Longest key, in bytes (file name without extension). */
#define GW_SESSION_KEY_MAX 80

/* Derives the session key from a seed: [A-Za-z0-9-] are kept, every other
 * byte (including '_') becomes _XX (hex), so distinct seeds give distinct
 * keys; a key longer than GW_SESSION_KEY_MAX is cut and suffixed with
 * "~" + 24 hex digits of the seed's SHA-256.  Returns 0, or -EINVAL when the
 * seed is NULL or blank. */
int gw_session_key(const char *seed, char out[GW_SESSION_KEY_MAX + 1]);

typedef struct gw_session gw_session;

/* Creates the sessions directory if needed, waits up to wait_ms for the
 * session's lock (giving up early once *cancel, which may be NULL, is set)
 * and loads its history, bounded by gw_resp_items_bound (responses.h): at
 * most the last max_items items and, when max_bytes is not 0, at most
 * max_bytes of their weights (each item's compact JSON + 1, not its line
 * in the file), oldest dropped first, then starting at a user/system
 * turn.  0, -ETIMEDOUT when
 * another request still holds the session, -ECANCELED, or -errno; err is
 * set on failure. */
int gw_session_open(const char *state_dir, const char *key, size_t max_items, size_t max_bytes,
    uint64_t wait_ms, const atomic_bool *cancel, gw_session **out, gw_err *err);
/* The loaded history (normalized items), oldest first; owned by s. */
const cJSON *gw_session_history(const gw_session *s);
/* Appends an exchange (input items, then output items) in one write.
 * 0 or -errno with err set. */
int gw_session_append(gw_session *s, const char *response_id, const cJSON *input,
    const cJSON *output, gw_err *err);
/* Releases the lock and frees s (NULL is a no-op); a store session not
 * committed is rolled back. */
void gw_session_close(gw_session *s);

/* gw_session_open in st: the state directory's files, or on PostgreSQL the
 * key's row, made if missing, locked on st's connection (borrowed until
 * gw_session_close; st is used by nothing else meanwhile), waiting at most
 * wait_ms for another turn (on any replica) to commit.  *cancel is looked
 * at before the wait only (the database wait is bounded by wait_ms).
 * Errors as gw_session_open; PostgreSQL's failures are exit class 69
 * (-ETIMEDOUT when the wait passed, -EIO when the database failed). */
int gw_session_open_store(gw_store *st, const char *key, size_t max_items, size_t max_bytes,
    uint64_t wait_ms, const atomic_bool *cancel, gw_session **out, gw_err *err);
/* The store connection s holds its row on (PostgreSQL), or NULL (files):
 * writes made on it before gw_session_commit commit with the exchange.
 * Borrowed. */
gw_store *gw_session_store(const gw_session *s);
/* Makes the appended exchange durable and visible (PostgreSQL: COMMIT,
 * which releases the row; files: 0, each append already landed).  A
 * failed commit wrote nothing.  0 or -errno with err set (69). */
int gw_session_commit(gw_session *s, gw_err *err);
/* gw_session_sweep for st: files as gw_session_sweep does; PostgreSQL
 * removes up to GW_STORE_SWEEP_MAX expired rows no turn holds (safe on
 * every replica at once). */
int gw_session_sweep_store(gw_store *st, uint64_t now_s, uint64_t ttl_s, size_t *removed,
    gw_err *err);

/* Calls fn for every session of st as a row, ordered by key (files: each
 * <key>.jsonl of the sessions directory, byte for byte, every line checked
 * to be a JSON value, its mtime as the last write; a name that is not a
 * session key or a bad line is -EINVAL (65) naming the file; PostgreSQL:
 * the rows).  The row is borrowed for the call; fn's non-zero return stops
 * the walk and is returned.  For --gateway-state-import / -export. */
int gw_session_each(gw_store *st, gw_store_session_fn fn, void *ctx, gw_err *err);
/* Stores row r as it is (files: <key>.jsonl with those bytes, written
 * atomically, its mtime the row's last write, and an empty <key>.lock
 * beside it as a session's own use leaves one; PostgreSQL: the row, inside
 * st's open transaction).  0 or -errno with err set. */
int gw_session_put(gw_store *st, const gw_store_session_row *r, gw_err *err);

/* Removes the sessions (history .jsonl and its .lock) of state_dir whose
 * history was last written ttl_s or more seconds before now_s (Unix
 * seconds; a lock without a history is judged by its own mtime).  A
 * session is removed only while its lock is held, taken without waiting:
 * one in use is left for a later sweep, and a request that was waiting for
 * a removed lock takes the new one (gw_session_open checks).  ttl_s 0
 * removes nothing.  *removed counts the sessions removed.  0, or -errno
 * with err set when the directory cannot be read (absent is fine). */
int gw_session_sweep(const char *state_dir, uint64_t now_s, uint64_t ttl_s, size_t *removed,
    gw_err *err);

#endif
