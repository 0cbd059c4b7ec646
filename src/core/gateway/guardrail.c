/*
 * guardrail.c - rollout guardrail evaluation and gate derivation.
 * Pure functions; no I/O.
 */
#include "core/gateway/guardrail.h"
#include "core/base/str.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

static void
gw_copy(char *dst, size_t n, const char *src)
{
	snprintf(dst, n, "%s", src);
}

void
gw_guardrail_default(gw_guardrail *g, uint64_t now_unix_ms)
{
	memset(g, 0, sizeof(*g));
	gw_copy(g->gate, sizeof(g->gate), "pass");
	gw_copy(g->reason_code, sizeof(g->reason_code), "guardrail_checks_passing");
	g->failure_streak_threshold = GW_GUARDRAIL_DEFAULT_THRESHOLD;
	g->retryable_failures_threshold = GW_GUARDRAIL_DEFAULT_THRESHOLD;
	g->updated_unix_ms = now_unix_ms;
}

void
gw_guardrail_evaluate(gw_guardrail *g, const gw_guardrail_input *in)
{
	uint64_t fs = in->failure_streak_threshold ? in->failure_streak_threshold : 1;
	uint64_t rf = in->retryable_failures_threshold ? in->retryable_failures_threshold : 1;
	const char *gate = "hold", *reason;
	if (in->failure_streak >= fs && in->failed > 0)
		reason = "failure_streak_threshold_exceeded";
	else if (in->retryable_failures >= rf)
		reason = "retryable_failures_threshold_exceeded";
	else if (in->malformed > 0)
		reason = "malformed_input_observed";
	else {
		gate = "pass";
		reason = "guardrail_checks_passing";
	}
	gw_copy(g->gate, sizeof(g->gate), gate);
	gw_copy(g->reason_code, sizeof(g->reason_code), reason);
	g->failure_streak_threshold = fs;
	g->retryable_failures_threshold = rf;
	g->failure_streak = in->failure_streak;
	g->last_failed_cases = in->failed;
	g->last_retryable_failures = in->retryable_failures;
	g->updated_unix_ms = in->now_unix_ms;
}

void
gw_guardrail_write_json(gw_jw *w, const gw_guardrail *g)
{
	gw_jw_obj_begin(w);
	gw_jw_kstr(w, "gate", g->gate);
	gw_jw_kstr(w, "reason_code", g->reason_code);
	gw_jw_ku64(w, "failure_streak_threshold", g->failure_streak_threshold);
	gw_jw_ku64(w, "retryable_failures_threshold", g->retryable_failures_threshold);
	gw_jw_ku64(w, "failure_streak", g->failure_streak);
	gw_jw_ku64(w, "last_failed_cases", g->last_failed_cases);
	gw_jw_ku64(w, "last_retryable_failures", g->last_retryable_failures);
	gw_jw_ku64(w, "updated_unix_ms", g->updated_unix_ms);
	gw_jw_obj_end(w);
}

int
gw_guardrail_from_json(const cJSON *obj, gw_guardrail *g, const char *where, gw_err *err)
{
	if (obj == NULL || cJSON_IsNull(obj))
		return 0;
	if (!cJSON_IsObject(obj))
		return gw_err_set(err, -EINVAL, GW_EXIT_DATAERR, "%s: guardrail must be an object", where);
	static const char *strs[] = { "gate", "reason_code" };
	char *sdst[] = { g->gate, g->reason_code };
	size_t ssz[] = { sizeof(g->gate), sizeof(g->reason_code) };
	for (size_t i = 0; i < 2; i++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, strs[i]);
		if (v == NULL)
			continue;
		if (!cJSON_IsString(v))
			return gw_err_set(err, -EINVAL, GW_EXIT_DATAERR,
			    "%s: guardrail.%s must be a string", where, strs[i]);
		gw_copy(sdst[i], ssz[i], v->valuestring);
	}
	static const char *nums[] = { "failure_streak_threshold", "retryable_failures_threshold",
		"failure_streak", "last_failed_cases", "last_retryable_failures", "updated_unix_ms" };
	uint64_t *ndst[] = { &g->failure_streak_threshold, &g->retryable_failures_threshold,
		&g->failure_streak, &g->last_failed_cases, &g->last_retryable_failures,
		&g->updated_unix_ms };
	for (size_t i = 0; i < 6; i++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, nums[i]);
		if (v != NULL && !gw_json_as_u64(v, ndst[i]))
			return gw_err_set(err, -EINVAL, GW_EXIT_DATAERR,
			    "%s: guardrail.%s must be a non-negative integer", where, nums[i]);
	}
	return 0;
}

void
gw_gates_compute(gw_gates *out, const gw_guardrail *g, const gw_health *h, bool service_stopped)
{
	char gate[16], reason[64], hr[GW_HEALTH_REASON_MAX];
	gw_str_copy_trim(gate, sizeof(gate), g->gate, GW_STR_LOWER);
	if (strcmp(gate, "pass") == 0)
		out->guardrail_gate = "pass";
	else if (strcmp(gate, "hold") == 0)
		out->guardrail_gate = "hold";
	else
		out->guardrail_gate = gw_health_classify(h, hr, sizeof(hr)) == GW_HEALTH_HEALTHY ?
		    "pass" : "hold";
	if (gw_str_copy_trim(reason, sizeof(reason), g->reason_code, GW_STR_KEEP) == 0)
		snprintf(reason, sizeof(reason), "%s",
		    strcmp(out->guardrail_gate, "pass") == 0 ? "guardrail_checks_passing" :
		    "health_state_not_healthy");
	gw_copy(out->guardrail_reason_code, sizeof(out->guardrail_reason_code), reason);
	if (service_stopped) {
		out->rollout_gate = "hold";
		gw_copy(out->rollout_reason_code, sizeof(out->rollout_reason_code), "service_stopped");
	} else {
		out->rollout_gate = out->guardrail_gate;
		gw_copy(out->rollout_reason_code, sizeof(out->rollout_reason_code), reason);
	}
}
