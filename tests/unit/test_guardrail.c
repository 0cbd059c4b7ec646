/*
 * test_guardrail.c - the rollout guardrail table (reference §4.4): first
 * match wins, zero thresholds act as 1; and the gates every status view
 * derives (§6.4).
 */
#include "unit.h"

#include "core/gateway/guardrail.h"

static gw_guardrail
eval(uint64_t fs_t, uint64_t rf_t, uint64_t streak, uint64_t failed, uint64_t retryable,
    uint64_t malformed)
{
	gw_guardrail g;
	gw_guardrail_default(&g, 1);
	gw_guardrail_input in = { fs_t, rf_t, streak, failed, retryable, malformed, 42 };
	gw_guardrail_evaluate(&g, &in);
	return g;
}

static void
test_default_block(void **state)
{
	(void)state;
	gw_guardrail g;
	gw_guardrail_default(&g, 7);
	assert_string_equal(g.gate, "pass");
	assert_string_equal(g.reason_code, "guardrail_checks_passing");
	assert_int_equal(g.failure_streak_threshold, 2);
	assert_int_equal(g.retryable_failures_threshold, 2);
	assert_int_equal(g.failure_streak, 0);
	assert_int_equal(g.updated_unix_ms, 7);
}

static void
test_rule1_failure_streak_needs_failed_cases(void **state)
{
	(void)state;
	gw_guardrail g = eval(2, 2, 2, 1, 0, 0);
	assert_string_equal(g.gate, "hold");
	assert_string_equal(g.reason_code, "failure_streak_threshold_exceeded");
	/* a streak without failures this cycle does not trigger rule 1 */
	g = eval(2, 2, 5, 0, 0, 0);
	assert_string_equal(g.gate, "pass");
	assert_string_equal(g.reason_code, "guardrail_checks_passing");
	/* below the threshold */
	g = eval(3, 9, 2, 1, 0, 0);
	assert_string_equal(g.gate, "pass");
}

static void
test_rule2_retryable_failures(void **state)
{
	(void)state;
	gw_guardrail g = eval(2, 2, 1, 1, 2, 0);
	assert_string_equal(g.gate, "hold");
	assert_string_equal(g.reason_code, "retryable_failures_threshold_exceeded");
	g = eval(2, 3, 1, 1, 2, 0);
	assert_string_equal(g.gate, "pass");
}

static void
test_rule3_malformed(void **state)
{
	(void)state;
	gw_guardrail g = eval(2, 2, 0, 0, 0, 1);
	assert_string_equal(g.gate, "hold");
	assert_string_equal(g.reason_code, "malformed_input_observed");
}

static void
test_first_match_order(void **state)
{
	(void)state;
	/* all three conditions: rule 1 wins */
	gw_guardrail g = eval(1, 1, 1, 1, 5, 5);
	assert_string_equal(g.reason_code, "failure_streak_threshold_exceeded");
	/* rules 2 and 3: rule 2 wins */
	g = eval(9, 1, 0, 0, 1, 5);
	assert_string_equal(g.reason_code, "retryable_failures_threshold_exceeded");
}

static void
test_zero_thresholds_are_treated_as_1(void **state)
{
	(void)state;
	gw_guardrail g = eval(0, 0, 1, 1, 0, 0);
	assert_string_equal(g.reason_code, "failure_streak_threshold_exceeded");
	assert_int_equal(g.failure_streak_threshold, 1);
	assert_int_equal(g.retryable_failures_threshold, 1);
	g = eval(0, 0, 0, 0, 1, 0);
	assert_string_equal(g.reason_code, "retryable_failures_threshold_exceeded");
	g = eval(0, 0, 0, 0, 0, 0);
	assert_string_equal(g.gate, "pass");
}

static void
test_block_records_inputs(void **state)
{
	(void)state;
	gw_guardrail g = eval(4, 5, 3, 2, 1, 0);
	assert_int_equal(g.failure_streak_threshold, 4);
	assert_int_equal(g.retryable_failures_threshold, 5);
	assert_int_equal(g.failure_streak, 3);
	assert_int_equal(g.last_failed_cases, 2);
	assert_int_equal(g.last_retryable_failures, 1);
	assert_int_equal(g.updated_unix_ms, 42);
}

static void
test_json_field_order(void **state)
{
	(void)state;
	gw_guardrail g = eval(2, 2, 2, 1, 1, 0);
	gw_buf b = GW_BUF_INIT;
	gw_jw w;
	gw_jw_init(&w, &b, false);
	gw_guardrail_write_json(&w, &g);
	assert_string_equal(b.data,
	    "{\"gate\":\"hold\",\"reason_code\":\"failure_streak_threshold_exceeded\","
	    "\"failure_streak_threshold\":2,\"retryable_failures_threshold\":2,\"failure_streak\":2,"
	    "\"last_failed_cases\":1,\"last_retryable_failures\":1,\"updated_unix_ms\":42}");
	cJSON *v = cJSON_Parse(b.data);
	gw_guardrail back;
	gw_guardrail_default(&back, 0);
	gw_err err;
	assert_int_equal(gw_guardrail_from_json(v, &back, "g", &err), 0);
	assert_memory_equal(&back, &g, sizeof(g));
	cJSON_Delete(v);
	gw_buf_free(&b);
}

static void
test_from_json_wrong_types(void **state)
{
	(void)state;
	gw_guardrail g;
	gw_guardrail_default(&g, 0);
	gw_err err;
	cJSON *v = cJSON_Parse("{\"gate\":1}");
	assert_int_equal(gw_guardrail_from_json(v, &g, "state", &err), -EINVAL);
	assert_string_equal(err.msg, "state: guardrail.gate must be a string");
	cJSON_Delete(v);
	v = cJSON_Parse("{\"failure_streak\":\"2\"}");
	assert_int_equal(gw_guardrail_from_json(v, &g, "state", &err), -EINVAL);
	assert_string_equal(err.msg, "state: guardrail.failure_streak must be a non-negative integer");
	cJSON_Delete(v);
	v = cJSON_Parse("true");
	assert_int_equal(gw_guardrail_from_json(v, &g, "state", &err), -EINVAL);
	cJSON_Delete(v);
}

/* ---- §6.4 gates ----------------------------------------------------------- */

static gw_gates
gates(const char *gate, const char *reason, uint64_t streak, bool stopped)
{
	gw_guardrail g;
	gw_guardrail_default(&g, 0);
	snprintf(g.gate, sizeof(g.gate), "%s", gate);
	snprintf(g.reason_code, sizeof(g.reason_code), "%s", reason);
	gw_health h = { 0 };
	h.failure_streak = streak;
	gw_gates out;
	gw_gates_compute(&out, &g, &h, stopped);
	return out;
}

static void
test_gates_stored_pass_and_hold(void **state)
{
	(void)state;
	gw_gates o = gates("pass", "guardrail_checks_passing", 5, false);
	assert_string_equal(o.guardrail_gate, "pass");   /* stored gate wins over health */
	assert_string_equal(o.rollout_gate, "pass");
	assert_string_equal(o.rollout_reason_code, "guardrail_checks_passing");
	o = gates(" HOLD ", " malformed_input_observed ", 0, false);
	assert_string_equal(o.guardrail_gate, "hold");
	assert_string_equal(o.guardrail_reason_code, "malformed_input_observed");
	assert_string_equal(o.rollout_gate, "hold");
	assert_string_equal(o.rollout_reason_code, "malformed_input_observed");
}

static void
test_gates_unknown_gate_falls_back_to_health(void **state)
{
	(void)state;
	gw_gates o = gates("", "", 0, false);
	assert_string_equal(o.guardrail_gate, "pass");
	assert_string_equal(o.guardrail_reason_code, "guardrail_checks_passing");
	o = gates("maybe", "", 1, false);
	assert_string_equal(o.guardrail_gate, "hold");
	assert_string_equal(o.guardrail_reason_code, "health_state_not_healthy");
	assert_string_equal(o.rollout_gate, "hold");
	assert_string_equal(o.rollout_reason_code, "health_state_not_healthy");
}

static void
test_gates_blank_reason_code_fallback(void **state)
{
	(void)state;
	gw_gates o = gates("pass", "   ", 0, false);
	assert_string_equal(o.guardrail_reason_code, "guardrail_checks_passing");
	o = gates("hold", "", 0, false);
	assert_string_equal(o.guardrail_reason_code, "health_state_not_healthy");
}

static void
test_gates_stopped_service_holds_rollout(void **state)
{
	(void)state;
	gw_gates o = gates("pass", "guardrail_checks_passing", 0, true);
	assert_string_equal(o.guardrail_gate, "pass");
	assert_string_equal(o.guardrail_reason_code, "guardrail_checks_passing");
	assert_string_equal(o.rollout_gate, "hold");
	assert_string_equal(o.rollout_reason_code, "service_stopped");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_block),
		cmocka_unit_test(test_rule1_failure_streak_needs_failed_cases),
		cmocka_unit_test(test_rule2_retryable_failures),
		cmocka_unit_test(test_rule3_malformed),
		cmocka_unit_test(test_first_match_order),
		cmocka_unit_test(test_zero_thresholds_are_treated_as_1),
		cmocka_unit_test(test_block_records_inputs),
		cmocka_unit_test(test_json_field_order),
		cmocka_unit_test(test_from_json_wrong_types),
		cmocka_unit_test(test_gates_stored_pass_and_hold),
		cmocka_unit_test(test_gates_unknown_gate_falls_back_to_health),
		cmocka_unit_test(test_gates_blank_reason_code_fallback),
		cmocka_unit_test(test_gates_stopped_service_holds_rollout),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
