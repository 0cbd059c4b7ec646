/*
 * fixture.h - the gateway contract fixture (schema v1): loading,
 * validation and the deterministic evaluation of a case.
 *
 * A fixture is parsed one case at a time (the document is never held as a
 * cJSON tree), converted into compact structs whose strings live in the
 * fixture's arena, and validated with the reference's rules and messages.
 * Every message names the file and the case (index or case_id).
 */
#ifndef GW_FIXTURE_H
#define GW_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/base/buf.h"
#include "core/base/err.h"

typedef enum gw_outcome {
	GW_OUTCOME_SUCCESS,
	GW_OUTCOME_MALFORMED_INPUT,
	GW_OUTCOME_RETRYABLE_FAILURE
} gw_outcome;

/* "success", "malformed_input", "retryable_failure". */
const char *gw_outcome_name(gw_outcome o);
/* The reference's Debug spelling: "Success", "MalformedInput", "RetryableFailure". */
const char *gw_outcome_debug(gw_outcome o);

typedef struct gw_case {
	size_t index;
	const char *case_id;         /* raw, as in the file */
	const char *method;          /* raw */
	const char *endpoint;        /* raw */
	const char *actor_id;        /* raw */
	const char *key;             /* gw_case_key(method, endpoint, case_id) */
	bool simulate_retryable_failure;
	gw_outcome expected_outcome;
	uint64_t expected_status;
	const char *expected_error_code;
	const char *expected_body;   /* canonical compact JSON (sorted keys) */
} gw_case;

typedef struct gw_fixture gw_fixture;

/* Loads and validates the fixture at path.  On success *out owns every case
 * (free with gw_fixture_free).  Errors: -ENOENT (exit 66), -EINVAL for bad
 * content (exit 65), other -errno (exit 74); err says
 * "invalid fixture <path>: <reason>". */
int gw_fixture_load(const char *path, gw_fixture **out, gw_err *err);
/* Parses and validates fixture text already in memory (path is only used in
 * messages).  Same contract as gw_fixture_load. */
int gw_fixture_parse(const char *path, const char *text, size_t len, gw_fixture **out,
    gw_err *err);
/* gw_fixture_parse without its fast path: every case through the cJSON
 * path.  Same contract and results; the unit tests compare the two. */
int gw_fixture_parse_slow(const char *path, const char *text, size_t len, gw_fixture **out,
    gw_err *err);
void gw_fixture_free(gw_fixture *f);
/* How many of f's cases the fast path read (for tests and benches). */
size_t gw_fixture_fast_count(const gw_fixture *f);

const char *gw_fixture_name(const gw_fixture *f);
size_t gw_fixture_count(const gw_fixture *f);
/* Returns case i (borrowed; valid until gw_fixture_free). */
const gw_case *gw_fixture_case(const gw_fixture *f, size_t i);

/*
 * The case key that state.json's processed_case_keys and request records
 * use: UPPER(trim(method)) ":" trim(endpoint) ":" trim(case_id), where each
 * part is written with '%' as "%25" and ':' as "%3A", so two distinct cases
 * never share a key (unescaped, `b:c` at `/a` and `c` at `/a:b` did).  Parts
 * with neither byte are written as they are, so most keys read the same as
 * the unescaped keys of earlier state files; gw_state_load renames a record
 * stored under the unescaped (legacy) form.  method is truncated to 15 bytes
 * like gw_result.method.  Appends to out (owned by the caller).
 */
void gw_case_key(gw_buf *out, const char *method, const char *endpoint, const char *case_id,
    bool legacy);

/* ---- evaluation (one attempt) ------------------------------------------ */

typedef struct gw_result {
	gw_outcome outcome;
	uint64_t status;
	const char *error_code;  /* static string; "" for success */
	gw_buf body;             /* canonical compact JSON; caller frees with gw_buf_free */
	char method[16];         /* UPPER(trim(method)), truncated */
} gw_result;

/* Evaluates c deterministically (reference §3.3).  r->body must be empty or
 * initialised; the caller frees it. */
void gw_case_evaluate(const gw_case *c, gw_result *r);
/* Checks r against c's expectations (reference §3.4).  0, or -EPROTO with
 * err set ("case '<id>' expected status_code 201 but observed 200"), exit
 * class GW_EXIT_FAIL. */
int gw_case_check(const gw_case *c, const gw_result *r, gw_err *err);

/* True for GET POST PUT PATCH DELETE (already upper-cased and trimmed). */
bool gw_method_supported(const char *m);
/* True for the three supported gateway error codes. */
bool gw_error_code_supported(const char *code);

#endif
