/*
 * session.h - conversation history per session key, in
 * <state-dir>/openresponses/sessions/<key>.jsonl.
 *
 * A session is held open for a whole exchange (load history, call the
 * model, append the exchange) under an exclusive flock on <key>.lock, so
 * concurrent requests on one key - threads of one server or separate
 * processes - are serialised and none is dropped.  The wait for the lock
 * is bounded by the caller.  History is bounded: at
 * most max_items items are loaded, and the file is compacted when it grows
 * past twice that.
 *
 * Ownership: gw_session_open returns a session the caller releases with
 * gw_session_close (which also releases the lock).
 */
#ifndef GW_SESSION_H
#define GW_SESSION_H

#include <stdatomic.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "core/base/err.h"

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
 * and loads its last max_items items.  0, -ETIMEDOUT when another request
 * still holds the session, -ECANCELED, or -errno; err is set on failure. */
int gw_session_open(const char *state_dir, const char *key, uint64_t max_items,
    uint64_t wait_ms, const atomic_bool *cancel, gw_session **out, gw_err *err);
/* The loaded history (normalized items), oldest first; owned by s. */
const cJSON *gw_session_history(const gw_session *s);
/* Appends an exchange (input items, then output items) in one write.
 * 0 or -errno with err set. */
int gw_session_append(gw_session *s, const char *response_id, const cJSON *input,
    const cJSON *output, gw_err *err);
/* Releases the lock and frees s (NULL is a no-op). */
void gw_session_close(gw_session *s);

#endif
