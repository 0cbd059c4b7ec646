/*
 * state.h - <state-dir>/state.json: processed case keys, request records,
 * health, guardrail and the service lifecycle block.
 *
 * One loader serves every view (runner, lifecycle, inspect, HTTP status),
 * so they never disagree: absent fields take defaults, a member of the
 * wrong type or invalid JSON makes the file corrupt.  Writers (mode
 * GW_STATE_WRITE, lock held) move a corrupt file aside to
 * state.json.corrupt-<unix_ms> and start fresh; readers report it and
 * change nothing.  A state.json from another schema version is never
 * touched.  Request records and keys live in the state's arena.
 *
 * Case keys are gw_case_key's escaped form; a record a state file stores
 * under the unescaped form of an earlier version is renamed on load
 * (together with its processed key), so old state files stay valid.
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
#include "core/base/mem.h"
#include "core/base/strmap.h"

#define GW_STATE_SCHEMA 1

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

typedef struct gw_state {
	char *dir;                  /* as given, e.g. ".tau/gateway" */
	char *path;                 /* <dir>/state.json */
	bool existed;               /* state.json was present and loaded */
	char notice[1200];          /* non-empty when a corrupt file was moved aside */
	char corrupt_path[1024];    /* where it went */
	gw_arena *arena;            /* owns keys and request strings */
	/* processed case keys, oldest first */
	const char **keys;
	size_t nkeys, keys_cap;
	gw_strmap *key_set;         /* key -> 1 */
	/* request records: reqs[0..nsorted) sorted by case_key, the rest appended */
	gw_request **reqs;
	size_t nreqs, reqs_cap, nsorted;
	gw_strmap *req_index;       /* case_key -> (gw_request *) */
	gw_health health;
	gw_guardrail guardrail;
	gw_service_block service;
} gw_state;

/* Load modes; READ_EXISTING and READ_POSTURE may be combined with '|'. */
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

/* Writes the state atomically (pretty JSON, reference field order).  The
 * caller holds the directory lock. */
int gw_state_save(gw_state *st, gw_err *err);

/* The posture as a document of its own, for a store that keeps it apart
 * from the records (PostgreSQL): gw_state_load_text parses text (NULL: none
 * stored yet, so defaults, or -ENOENT (66) with GW_STATE_READ_EXISTING) as
 * gw_state_load parses state.json with GW_STATE_READ_POSTURE, naming label
 * in its messages and in st->path; a corrupt text is -EINVAL (65) in every
 * mode (nothing is moved aside).  *out is the caller's (gw_state_free).
 * gw_state_render_posture appends the pretty document: schema_version,
 * health, guardrail, service (no records, no processed keys). */
int gw_state_load_text(const char *label, const char *text, size_t len, unsigned mode,
    gw_state **out, gw_err *err);
void gw_state_render_posture(const gw_state *st, gw_buf *out);

/* Normalises the service block (reference §6.3) using now. */
void gw_state_normalize_service(gw_state *st, uint64_t now_unix_ms);

bool gw_state_is_processed(const gw_state *st, const char *key);
/* Appends key (copied) if new. */
void gw_state_mark_processed(gw_state *st, const char *key);
/* Pins key, if processed, so gw_state_cap_processed keeps it (the runner
 * pins every key of the fixture it runs, so a fixture larger than the cap
 * still drains and never re-applies a case). */
void gw_state_pin_processed(gw_state *st, const char *key);
/* Drops the oldest unpinned keys until at most cap remain; pinned keys are
 * never dropped, so more than cap remain when more than cap are pinned. */
void gw_state_cap_processed(gw_state *st, size_t cap);

/* Returns the record for case_key, or NULL. */
gw_request *gw_state_find_request(const gw_state *st, const char *case_key);
/* Returns the record for case_key, creating an empty one (strings "") if
 * needed.  Its string fields may be replaced with gw_state_strdup'ed text. */
gw_request *gw_state_upsert_request(gw_state *st, const char *case_key);
/* Copies s into the state's arena. */
const char *gw_state_strdup(gw_state *st, const char *s);
/* Sorts records by case_key (cheap when only a few were appended). */
void gw_state_sort_requests(gw_state *st);

#endif
