/*
 * test_status.c - the read-only operator views: --gateway-status-inspect
 * (state plus event-log aggregation, reference §7.2 and its example) and
 * --transport-health-inspect gateway (§7.1): exact text lines, JSON key
 * order, and that nothing in the state directory changes.
 */
#include "unit.h"

#include "core/gateway/status.h"

static const char example_state[] =
	"{\"schema_version\":1,\"processed_case_keys\":[\"POST:/v1/tasks:a\",\"x\"],\"requests\":["
	"{\"case_key\":\"POST:/v1/tasks:a\",\"case_id\":\"a\",\"method\":\"POST\",\"endpoint\":\"/v1/tasks\","
	"\"actor_id\":\"bot\",\"status_code\":201,\"outcome\":\"success\",\"error_code\":\"\","
	"\"response_body\":{},\"updated_unix_ms\":1},"
	"{\"case_key\":\"GET:/v1/tasks/42:b\",\"case_id\":\"b\",\"method\":\" get \",\"endpoint\":\"/v1/tasks/42\","
	"\"actor_id\":\"bot\",\"status_code\":503,\"outcome\":\"retryable_failure\","
	"\"error_code\":\"gateway_backend_unavailable\",\"response_body\":{},\"updated_unix_ms\":2}],"
	"\"health\":{\"failure_streak\":1,\"last_cycle_failed\":1,\"queue_depth\":4,\"last_cycle_completed\":5},"
	"\"guardrail\":{\"gate\":\"hold\",\"reason_code\":\"failure_streak_threshold_exceeded\","
	"\"failure_streak_threshold\":2,\"retryable_failures_threshold\":3,\"failure_streak\":1,"
	"\"last_failed_cases\":1,\"last_retryable_failures\":1,\"updated_unix_ms\":9},"
	"\"service\":{\"status\":\"running\",\"startup_attempts\":2,\"startup_failure_streak\":0,"
	"\"last_startup_error\":\"\",\"last_started_unix_ms\":10,\"last_stopped_unix_ms\":0,"
	"\"last_transition_unix_ms\":10,\"last_stop_reason\":\"\"}}";

static const char example_events[] =
	"{\"kind\":\"cycle\",\"reason_codes\":[\"healthy_cycle\",\"retry_attempted\"],\"health_reason\":\"r1\"}\n"
	"invalid-json-line\n"
	"{\"kind\":\"lifecycle\",\"transition\":\"start\"}\n"
	"{\"reason_codes\":[\"healthy_cycle\",\"duplicate_cases_skipped\"],\"health_reason\":\" \"}\n";

static void
test_missing_state_is_noinput_and_creates_nothing(void **state)
{
	ut_statedir *f = *state;
	char *dir = ut_join(f->dir, "absent");
	gw_status_report r;
	gw_err err;
	assert_int_equal(gw_status_inspect(dir, &r, &err), -ENOENT);
	assert_int_equal(err.exit_code, GW_EXIT_NOINPUT);
	gw_health_row row;
	assert_int_equal(gw_health_inspect(dir, &row, &err), -ENOENT);
	assert_int_equal(err.exit_code, GW_EXIT_NOINPUT);
	assert_false(gw_fs_exists(dir));
	free(dir);
}

static void
test_reference_example_text_line(void **state)
{
	ut_statedir *f = *state;
	ut_write(f->state, example_state);
	ut_write(f->events, example_events);
	char *before = ut_snapshot(f->dir);
	gw_status_report r;
	gw_err err;
	assert_int_equal(gw_status_inspect(f->dir, &r, &err), 0);
	gw_buf b = GW_BUF_INIT;
	gw_status_report_text(&r, &b);
	char head[2048];
	snprintf(head, sizeof(head), "gateway status inspect: state_path=%s events_log_path=%s "
	    "events_log_present=true health_state=degraded ", f->state, f->events);
	assert_int_equal(strncmp(b.data, head, strlen(head)), 0);
	/* the last valid cycle line has a blank reason: the classification is used */
	ut_assert_contains(b.data, " health_reason=recent transport failures observed (failure_streak=1, last_cycle_failed=1) rollout_gate=hold ");
	ut_assert_contains(b.data, " rollout_reason_code=failure_streak_threshold_exceeded service_status=running ");
	ut_assert_contains(b.data, " service_last_stop_reason=none service_startup_attempts=2 ");
	ut_assert_contains(b.data, " service_last_startup_error=none guardrail_gate=hold ");
	ut_assert_contains(b.data, " processed_case_count=2 request_count=2 ");
	ut_assert_contains(b.data, " method_counts=GET:1,POST:1 status_code_counts=201:1,503:1 ");
	ut_assert_contains(b.data, " error_code_counts=gateway_backend_unavailable:1 ");
	ut_assert_contains(b.data, " guardrail_failure_streak_threshold=2 guardrail_retryable_failures_threshold=3 ");
	ut_assert_contains(b.data, " cycle_reports=2 invalid_cycle_reports=1 ");
	ut_assert_contains(b.data, " last_reason_codes=healthy_cycle,duplicate_cases_skipped ");
	ut_assert_contains(b.data, " reason_code_counts=duplicate_cases_skipped:1,healthy_cycle:2,retry_attempted:1 ");
	const char *tail = " queue_depth=4 failure_streak=1 last_cycle_failed=1 last_cycle_completed=5";
	assert_string_equal(b.data + b.len - strlen(tail), tail);
	gw_buf_free(&b);
	gw_status_report_free(&r);
	char *after = ut_snapshot(f->dir);
	assert_string_equal(before, after); /* read-only */
	free(before);
	free(after);
}

static void
test_health_reason_from_last_cycle_line(void **state)
{
	ut_statedir *f = *state;
	ut_write(f->state, example_state);
	ut_write(f->events, "{\"kind\":\"cycle\",\"health_reason\":\"from the log\",\"reason_codes\":[]}\n");
	gw_status_report r;
	gw_err err;
	assert_int_equal(gw_status_inspect(f->dir, &r, &err), 0);
	assert_string_equal(r.health_reason, "from the log");
	gw_status_report_free(&r);
}

static void
test_json_key_order(void **state)
{
	ut_statedir *f = *state;
	ut_write(f->state, example_state);
	ut_write(f->events, example_events);
	gw_status_report r;
	gw_err err;
	assert_int_equal(gw_status_inspect(f->dir, &r, &err), 0);
	gw_buf b = GW_BUF_INIT;
	gw_status_report_json(&r, &b, true);
	cJSON *v = cJSON_Parse(b.data);
	assert_non_null(v);
	const char *order[] = { "state_path", "events_log_path", "events_log_present", "health_state",
		"health_reason", "rollout_gate", "rollout_reason_code", "service_status",
		"service_last_transition_unix_ms", "service_last_started_unix_ms",
		"service_last_stopped_unix_ms", "service_last_stop_reason", "service_startup_attempts",
		"service_startup_failure_streak", "service_last_startup_error", "guardrail_gate",
		"guardrail_reason_code", "processed_case_count", "request_count", "method_counts",
		"status_code_counts", "error_code_counts", "guardrail_failure_streak_threshold",
		"guardrail_retryable_failures_threshold", "guardrail_failure_streak",
		"guardrail_last_failed_cases", "guardrail_last_retryable_failures", "cycle_reports",
		"invalid_cycle_reports", "last_reason_codes", "reason_code_counts", "health" };
	size_t i = 0;
	for (cJSON *c = v->child; c; c = c->next, i++) {
		assert_true(i < sizeof(order) / sizeof(order[0]));
		assert_string_equal(c->string, order[i]);
	}
	assert_int_equal(i, sizeof(order) / sizeof(order[0]));
	char *mc = cJSON_PrintUnformatted(cJSON_GetObjectItem(v, "method_counts"));
	assert_string_equal(mc, "{\"GET\":1,\"POST\":1}");
	free(mc);
	char *lr = cJSON_PrintUnformatted(cJSON_GetObjectItem(v, "last_reason_codes"));
	assert_string_equal(lr, "[\"healthy_cycle\",\"duplicate_cases_skipped\"]");
	free(lr);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(v, "events_log_present")));
	ut_assert_contains(b.data, "\n  \"error_code_counts\": {\n    \"gateway_backend_unavailable\": 1\n  },\n");
	cJSON_Delete(v);
	gw_buf_free(&b);
	gw_status_report_free(&r);
}

static void
test_empty_maps_and_missing_log(void **state)
{
	ut_statedir *f = *state;
	ut_write(f->state, "{}");
	gw_status_report r;
	gw_err err;
	assert_int_equal(gw_status_inspect(f->dir, &r, &err), 0);
	assert_false(r.events_log_present);
	gw_buf b = GW_BUF_INIT;
	gw_status_report_text(&r, &b);
	ut_assert_contains(b.data, " events_log_present=false health_state=healthy health_reason=no recent transport failures observed rollout_gate=pass rollout_reason_code=guardrail_checks_passing ");
	ut_assert_contains(b.data, " method_counts=none status_code_counts=none error_code_counts=none ");
	ut_assert_contains(b.data, " last_reason_codes=none reason_code_counts=none ");
	gw_buf_reset(&b);
	gw_status_report_json(&r, &b, true);
	ut_assert_contains(b.data, "\"method_counts\": {},");
	ut_assert_contains(b.data, "\"last_reason_codes\": [],");
	gw_buf_free(&b);
	gw_status_report_free(&r);
	assert_false(gw_fs_exists(f->events));
}

static void
test_stopped_service_holds_rollout(void **state)
{
	ut_statedir *f = *state;
	ut_write(f->state, "{\"service\":{\"status\":\"stopped\",\"last_stop_reason\":\"demo_complete\"}}");
	gw_status_report r;
	gw_err err;
	assert_int_equal(gw_status_inspect(f->dir, &r, &err), 0);
	assert_string_equal(r.gates.rollout_gate, "hold");
	assert_string_equal(r.gates.rollout_reason_code, "service_stopped");
	assert_string_equal(r.gates.guardrail_gate, "pass");
	gw_buf b = GW_BUF_INIT;
	gw_status_report_text(&r, &b);
	ut_assert_contains(b.data, " service_status=stopped ");
	ut_assert_contains(b.data, " service_last_stop_reason=demo_complete ");
	gw_buf_free(&b);
	gw_status_report_free(&r);
}

static void
test_corrupt_state_reported_and_untouched(void **state)
{
	ut_statedir *f = *state;
	ut_write(f->state, "{\"health\":\"bad\"}");
	char *before = ut_snapshot(f->dir);
	gw_status_report r;
	gw_health_row row;
	gw_err err;
	assert_int_equal(gw_status_inspect(f->dir, &r, &err), -EINVAL);
	assert_int_equal(err.exit_code, GW_EXIT_DATAERR);
	assert_int_equal(gw_health_inspect(f->dir, &row, &err), -EINVAL);
	char *after = ut_snapshot(f->dir);
	assert_string_equal(before, after);
	free(before);
	free(after);
}

static void
test_health_inspect_text_and_json(void **state)
{
	ut_statedir *f = *state;
	ut_write(f->state, "{\"health\":{\"updated_unix_ms\":1,\"cycle_duration_ms\":2,\"queue_depth\":3,"
	    "\"active_runs\":4,\"failure_streak\":5,\"last_cycle_discovered\":6,\"last_cycle_processed\":7,"
	    "\"last_cycle_completed\":8,\"last_cycle_failed\":9,\"last_cycle_duplicates\":10},"
	    "\"requests\":[{\"case_key\":\"k\"}]}");
	char *before = ut_snapshot(f->dir);
	gw_health_row row;
	gw_err err;
	assert_int_equal(gw_health_inspect(f->dir, &row, &err), 0);
	assert_int_equal(row.state, GW_HEALTH_FAILING);
	gw_buf b = GW_BUF_INIT;
	gw_health_row_text(&row, &b);
	char want[2048];
	snprintf(want, sizeof(want), "transport health inspect: transport=gateway target=gateway-service "
	    "state_path=%s updated_unix_ms=1 cycle_duration_ms=2 queue_depth=3 active_runs=4 "
	    "failure_streak=5 last_cycle_discovered=6 last_cycle_processed=7 last_cycle_completed=8 "
	    "last_cycle_failed=9 last_cycle_duplicates=10", f->state);
	assert_string_equal(b.data, want);
	gw_buf_reset(&b);
	gw_health_row_json(&row, &b, true);
	snprintf(want, sizeof(want), "[\n  {\n    \"transport\": \"gateway\",\n    \"target\": \"gateway-service\",\n"
	    "    \"state_path\": \"%s\",\n    \"health\": {\n      \"updated_unix_ms\": 1,\n", f->state);
	assert_int_equal(strncmp(b.data, want, strlen(want)), 0);
	const char *end = "      \"last_cycle_duplicates\": 10\n    }\n  }\n]";
	assert_string_equal(b.data + b.len - strlen(end), end);
	gw_buf_free(&b);
	char *after = ut_snapshot(f->dir);
	assert_string_equal(before, after);
	free(before);
	free(after);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_missing_state_is_noinput_and_creates_nothing, ut_statedir_setup, ut_statedir_teardown),
		cmocka_unit_test_setup_teardown(test_reference_example_text_line, ut_statedir_setup, ut_statedir_teardown),
		cmocka_unit_test_setup_teardown(test_health_reason_from_last_cycle_line, ut_statedir_setup, ut_statedir_teardown),
		cmocka_unit_test_setup_teardown(test_json_key_order, ut_statedir_setup, ut_statedir_teardown),
		cmocka_unit_test_setup_teardown(test_empty_maps_and_missing_log, ut_statedir_setup, ut_statedir_teardown),
		cmocka_unit_test_setup_teardown(test_stopped_service_holds_rollout, ut_statedir_setup, ut_statedir_teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_state_reported_and_untouched, ut_statedir_setup, ut_statedir_teardown),
		cmocka_unit_test_setup_teardown(test_health_inspect_text_and_json, ut_statedir_setup, ut_statedir_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
