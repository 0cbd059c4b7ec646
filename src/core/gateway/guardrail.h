/*
 * guardrail.h - the rollout guardrail: pass/hold from the last cycle's
 * counts, and the derived gates every status view reports.
 */
#ifndef GW_GUARDRAIL_H
#define GW_GUARDRAIL_H

#include <stdbool.h>
#include <stdint.h>

#include "core/gateway/health.h"
#include "core/base/json.h"

#define GW_GUARDRAIL_DEFAULT_THRESHOLD 2

typedef struct gw_guardrail {
	char gate[16];          /* "pass" or "hold" (as stored) */
	char reason_code[64];
	uint64_t failure_streak_threshold;
	uint64_t retryable_failures_threshold;
	uint64_t failure_streak;
	uint64_t last_failed_cases;
	uint64_t last_retryable_failures;
	uint64_t updated_unix_ms;
} gw_guardrail;

/* The inputs of one evaluation. */
typedef struct gw_guardrail_input {
	uint64_t failure_streak_threshold;     /* 0 is treated as 1 */
	uint64_t retryable_failures_threshold; /* 0 is treated as 1 */
	uint64_t failure_streak;               /* after this cycle */
	uint64_t failed;
	uint64_t retryable_failures;
	uint64_t malformed;
	uint64_t now_unix_ms;
} gw_guardrail_input;

/* Sets g to the default block: pass / guardrail_checks_passing / 2 / 2. */
void gw_guardrail_default(gw_guardrail *g, uint64_t now_unix_ms);
/* Evaluates the rules of the reference (first match wins). */
void gw_guardrail_evaluate(gw_guardrail *g, const gw_guardrail_input *in);
/* Writes g as a JSON object (reference field order). */
void gw_guardrail_write_json(gw_jw *w, const gw_guardrail *g);
/* Reads a guardrail object; absent fields keep the defaults.  0 or -EINVAL. */
int gw_guardrail_from_json(const cJSON *obj, gw_guardrail *g, const char *where, gw_err *err);

/* The gates every status view derives (reference §6.4). */
typedef struct gw_gates {
	const char *guardrail_gate;        /* "pass" | "hold" */
	char guardrail_reason_code[64];
	const char *rollout_gate;          /* "hold" when the service is stopped */
	char rollout_reason_code[64];
} gw_gates;

void gw_gates_compute(gw_gates *out, const gw_guardrail *g, const gw_health *h,
    bool service_stopped);

#endif
