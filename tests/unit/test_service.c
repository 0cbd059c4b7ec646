/*
 * test_service.c - lifecycle transitions (start / stop / status /
 * startup failure), the lifecycle event lines, and the exact text line
 * and JSON key order of the service report (reference §6).
 */
#include "unit.h"

#include "core/gateway/service.h"

static void
test_status_on_missing_state_writes_nothing(void **state)
{
	ut_statedir *f = *state;
	gw_service_report r;
	gw_err err;
	assert_int_equal(gw_service_status(f->dir, &r, &err), 0);
	assert_false(r.service.stopped);
	assert_int_equal(r.service.startup_attempts, 0);
	assert_true(r.service.last_transition_unix_ms > 0);
	assert_string_equal(r.state_path, f->state);
	assert_string_equal(r.gates.rollout_gate, "pass");
	assert_false(gw_fs_exists(f->dir));
}

static void
test_start_counts_every_attempt(void **state)
{
	ut_statedir *f = *state;
	gw_service_report r;
	gw_err err;
	assert_int_equal(gw_service_start(f->dir, &r, &err), 0);
	assert_int_equal(r.service.startup_attempts, 1);
	assert_false(r.service.stopped);
	assert_true(r.service.last_started_unix_ms > 0);
	assert_int_equal(r.service.last_started_unix_ms, r.service.last_transition_unix_ms);
	assert_int_equal(r.service.last_stopped_unix_ms, 0);
	assert_string_equal(r.gates.rollout_gate, "pass");
	assert_string_equal(r.gates.rollout_reason_code, "guardrail_checks_passing");
	assert_int_equal(gw_service_start(f->dir, &r, &err), 0);
	assert_int_equal(r.service.startup_attempts, 2);
	assert_true(gw_fs_is_file(f->state));
	/* status reads what start wrote */
	gw_service_report s;
	assert_int_equal(gw_service_status(f->dir, &s, &err), 0);
	assert_int_equal(s.service.startup_attempts, 2);
	assert_int_equal(s.service.last_started_unix_ms, r.service.last_started_unix_ms);
}

/* An operator's start or stop the posture already has records nothing;
 * a state never written is not "running" yet, and a stop after a server's
 * own shutdown is an operator's first stop (issue 12, defect 15). */
static void
test_request_already_records_nothing(void **state)
{
	ut_statedir *f = *state;
	gw_service_report r;
	gw_err err;
	gw_store *store;
	gw_store_open_dir(f->dir, &store, &err);
	bool already = true;
	assert_int_equal(gw_service_request_in(store, false, NULL, &already, &r, &err), 0);
	assert_false(already); /* never written: the first start is recorded */
	assert_int_equal(r.service.startup_attempts, 1);
	assert_int_equal(gw_service_request_in(store, false, NULL, &already, &r, &err), 0);
	assert_true(already);
	assert_int_equal(r.service.startup_attempts, 1);
	assert_int_equal(gw_service_request_in(store, true, "emergency_rollback", &already, &r, &err), 0);
	assert_false(already);
	assert_int_equal(gw_service_request_in(store, true, NULL, &already, &r, &err), 0);
	assert_true(already);
	assert_string_equal(r.service.last_stop_reason, "emergency_rollback");
	gw_service_report s;
	assert_int_equal(gw_service_status(f->dir, &s, &err), 0);
	assert_string_equal(s.service.last_stop_reason, "emergency_rollback");
	/* a server's own shutdown is no operator's stop */
	assert_int_equal(gw_service_stop(f->dir, GW_STOP_REASON_SERVER, &r, &err), 0);
	assert_int_equal(gw_service_request_in(store, true, "drill", &already, &r, &err), 0);
	assert_false(already);
	assert_string_equal(r.service.last_stop_reason, "drill");
	gw_store_close(store);
	/* four lifecycle lines: start, emergency_rollback, the server's, drill */
	gw_buf b = GW_BUF_INIT;
	char *events = gw_path_join(f->dir, "runtime-events.jsonl");
	assert_int_equal(gw_fs_read_file(events, &b, &err), 0);
	size_t lines = 0;
	for (size_t i = 0; i < b.len; i++)
		lines += b.data[i] == '\n';
	assert_int_equal(lines, 4);
	free(events);
	gw_buf_free(&b);
	/* the one reason check */
	assert_int_equal(gw_service_reason_check(NULL, &err), 0);
	assert_int_equal(gw_service_reason_check("", &err), 0);
	assert_int_equal(gw_service_reason_check(" \t ", &err), -EINVAL);
	assert_string_equal(err.msg, "--gateway-service-stop-reason cannot be empty or whitespace");
	assert_int_equal(gw_service_reason_check(" x ", &err), 0);
}

static void
test_stop_records_trimmed_reason_and_holds_rollout(void **state)
{
	ut_statedir *f = *state;
	gw_service_report r;
	gw_err err;
	assert_int_equal(gw_service_start(f->dir, &r, &err), 0);
	uint64_t started = r.service.last_started_unix_ms;
	assert_int_equal(gw_service_stop(f->dir, "  demo_complete \t", &r, &err), 0);
	assert_true(r.service.stopped);
	assert_string_equal(r.service.last_stop_reason, "demo_complete");
	assert_true(r.service.last_stopped_unix_ms >= started);
	assert_int_equal(r.service.last_stopped_unix_ms, r.service.last_transition_unix_ms);
	assert_int_equal(r.service.last_started_unix_ms, started);
	assert_string_equal(r.gates.rollout_gate, "hold");
	assert_string_equal(r.gates.rollout_reason_code, "service_stopped");
	assert_string_equal(r.gates.guardrail_gate, "pass");
	assert_string_equal(r.gates.guardrail_reason_code, "guardrail_checks_passing");
	/* start again: running, stop reason and time kept */
	uint64_t stopped = r.service.last_stopped_unix_ms;
	assert_int_equal(gw_service_start(f->dir, &r, &err), 0);
	assert_false(r.service.stopped);
	assert_string_equal(r.service.last_stop_reason, "demo_complete");
	assert_int_equal(r.service.last_stopped_unix_ms, stopped);
	assert_int_equal(r.service.startup_attempts, 2);
}

static void
test_stop_without_reason_is_operator_requested(void **state)
{
	ut_statedir *f = *state;
	gw_service_report r;
	gw_err err;
	assert_int_equal(gw_service_stop(f->dir, NULL, &r, &err), 0);
	assert_string_equal(r.service.last_stop_reason, "operator_requested");
	assert_int_equal(gw_service_stop(f->dir, " \t ", &r, &err), 0);
	assert_string_equal(r.service.last_stop_reason, "operator_requested");
	assert_int_equal(gw_service_stop(f->dir, "", &r, &err), 0);
	assert_string_equal(r.service.last_stop_reason, "operator_requested");
}

static void
test_transitions_append_lifecycle_lines(void **state)
{
	ut_statedir *f = *state;
	gw_service_report r;
	gw_err err;
	assert_int_equal(gw_service_start(f->dir, &r, &err), 0);
	assert_int_equal(gw_service_stop(f->dir, "bye", &r, &err), 0);
	assert_int_equal(gw_service_status(f->dir, &r, &err), 0); /* no line */
	assert_int_equal(ut_count_lines(f->events), 2);
	char *text = ut_read(f->events);
	ut_assert_contains(text, "\"kind\":\"lifecycle\",\"transition\":\"start\",\"service_status\":\"running\",\"reason\":\"\",\"startup_attempts\":1}\n");
	ut_assert_contains(text, "\"kind\":\"lifecycle\",\"transition\":\"stop\",\"service_status\":\"stopped\",\"reason\":\"bye\",\"startup_attempts\":1}\n");
	free(text);
}

static void
test_startup_failed_then_start_clears_it(void **state)
{
	ut_statedir *f = *state;
	gw_service_report r;
	gw_err err;
	assert_int_equal(gw_service_startup_failed(f->dir, "bind failed: address in use", &r, &err), 0);
	assert_true(r.service.stopped);
	assert_int_equal(r.service.startup_failure_streak, 1);
	assert_string_equal(r.service.last_startup_error, "bind failed: address in use");
	assert_string_equal(r.service.last_stop_reason, "startup_failed");
	assert_string_equal(r.gates.rollout_reason_code, "service_stopped");
	assert_int_equal(gw_service_startup_failed(f->dir, "again", &r, &err), 0);
	assert_int_equal(r.service.startup_failure_streak, 2);
	char *text = ut_read(f->events);
	ut_assert_contains(text, "\"transition\":\"startup_failed\",\"service_status\":\"stopped\",\"reason\":\"again\"");
	free(text);
	assert_int_equal(gw_service_start(f->dir, &r, &err), 0);
	assert_int_equal(r.service.startup_failure_streak, 0);
	assert_string_equal(r.service.last_startup_error, "");
}

static gw_service_report
known_report(void)
{
	gw_service_report r;
	memset(&r, 0, sizeof(r));
	snprintf(r.state_path, sizeof(r.state_path), ".tau/gateway/state.json");
	r.service.stopped = true;
	r.service.startup_attempts = 1;
	r.service.last_started_unix_ms = 100;
	r.service.last_stopped_unix_ms = 200;
	r.service.last_transition_unix_ms = 200;
	snprintf(r.service.last_stop_reason, sizeof(r.service.last_stop_reason), "demo_complete");
	r.health.queue_depth = 3;
	r.health.failure_streak = 1;
	r.health.last_cycle_failed = 1;
	r.health.last_cycle_completed = 2;
	gw_guardrail g;
	gw_guardrail_default(&g, 0);
	gw_gates_compute(&r.gates, &g, &r.health, true);
	return r;
}

static void
test_text_line_format(void **state)
{
	(void)state;
	gw_service_report r = known_report();
	gw_buf b = GW_BUF_INIT;
	gw_service_report_text(&r, &b);
	assert_string_equal(b.data,
	    "gateway service status: state_path=.tau/gateway/state.json service_status=stopped "
	    "rollout_gate=hold rollout_reason_code=service_stopped guardrail_gate=pass "
	    "guardrail_reason_code=guardrail_checks_passing startup_attempts=1 startup_failure_streak=0 "
	    "last_startup_error=none last_started_unix_ms=100 last_stopped_unix_ms=200 "
	    "last_transition_unix_ms=200 last_stop_reason=demo_complete queue_depth=3 failure_streak=1 "
	    "last_cycle_failed=1 last_cycle_completed=2");
	/* blank stop reason renders as none */
	snprintf(r.service.last_stop_reason, sizeof(r.service.last_stop_reason), "  ");
	gw_buf_reset(&b);
	gw_service_report_text(&r, &b);
	ut_assert_contains(b.data, " last_stop_reason=none queue_depth=3 ");
	gw_buf_free(&b);
}

static void
test_json_key_order(void **state)
{
	(void)state;
	gw_service_report r = known_report();
	gw_buf b = GW_BUF_INIT;
	gw_service_report_json(&r, &b, false);
	assert_string_equal(b.data,
	    "{\"state_path\":\".tau/gateway/state.json\",\"service_status\":\"stopped\","
	    "\"rollout_gate\":\"hold\",\"rollout_reason_code\":\"service_stopped\","
	    "\"guardrail_gate\":\"pass\",\"guardrail_reason_code\":\"guardrail_checks_passing\","
	    "\"service_startup_attempts\":1,\"service_startup_failure_streak\":0,"
	    "\"service_last_startup_error\":\"\",\"service_last_started_unix_ms\":100,"
	    "\"service_last_stopped_unix_ms\":200,\"service_last_transition_unix_ms\":200,"
	    "\"service_last_stop_reason\":\"demo_complete\",\"health\":{\"updated_unix_ms\":0,"
	    "\"cycle_duration_ms\":0,\"queue_depth\":3,\"active_runs\":0,\"failure_streak\":1,"
	    "\"last_cycle_discovered\":0,\"last_cycle_processed\":0,\"last_cycle_completed\":2,"
	    "\"last_cycle_failed\":1,\"last_cycle_duplicates\":0}}");
	gw_buf_reset(&b);
	gw_service_report_json(&r, &b, true);
	const char *head = "{\n  \"state_path\": \".tau/gateway/state.json\",\n  \"service_status\": \"stopped\",\n";
	assert_int_equal(strncmp(b.data, head, strlen(head)), 0);
	ut_assert_contains(b.data, "\n  \"health\": {\n    \"updated_unix_ms\": 0,\n");
	gw_buf_free(&b);
}

static void
test_corrupt_state_is_moved_aside_on_start(void **state)
{
	ut_statedir *f = *state;
	gw_err err;
	assert_int_equal(gw_fs_mkdirs(f->dir, &err), 0);
	ut_write(f->state, "{broken");
	gw_service_report r;
	assert_int_equal(gw_service_start(f->dir, &r, &err), 0);
	ut_assert_contains(r.notice, "moved it to ");
	assert_int_equal(r.service.startup_attempts, 1);
	/* a reader reports the (new, valid) state without a notice */
	assert_int_equal(gw_service_status(f->dir, &r, &err), 0);
	assert_string_equal(r.notice, "");
}

static void
test_foreign_schema_is_never_overwritten(void **state)
{
	ut_statedir *f = *state;
	gw_err err;
	assert_int_equal(gw_fs_mkdirs(f->dir, &err), 0);
	ut_write(f->state, "{\"schema_version\":3}");
	gw_service_report r;
	assert_int_equal(gw_service_stop(f->dir, "x", &r, &err), -EPROTONOSUPPORT);
	assert_int_equal(err.exit_code, GW_EXIT_DATAERR);
	assert_int_equal(gw_service_status(f->dir, &r, &err), -EPROTONOSUPPORT);
	char *text = ut_read(f->state);
	assert_string_equal(text, "{\"schema_version\":3}");
	free(text);
	assert_false(gw_fs_exists(f->events));
}

/* Runs: overlapping runs record nothing; the last clean stop closes the
 * run; a run that ends without a stop (its lock dropped, as by kill -9)
 * makes the next run start record unclean_shutdown before its start. */
static void
test_runs_and_unclean_shutdown(void **state)
{
	ut_statedir *f = *state;
	gw_service_report r;
	gw_err err;
	gw_lock a, b, c;
	char *marker = gw_path_join(f->dir, GW_SERVICE_RUN_MARKER);
	assert_int_equal(gw_service_run_start(f->dir, &a, &r, &err), 0);
	assert_true(gw_fs_exists(marker));
	assert_int_equal(gw_service_run_start(f->dir, &b, &r, &err), 0); /* a is alive */
	assert_int_equal(gw_service_run_stop(f->dir, &a, NULL, &r, &err), 0);
	assert_int_equal(a.fd, -1);
	assert_true(gw_fs_exists(marker)); /* b still runs */
	assert_int_equal(gw_service_run_stop(f->dir, &b, NULL, &r, &err), 0);
	assert_false(gw_fs_exists(marker));
	char *text = ut_read(f->events);
	assert_null(strstr(text, "unclean_shutdown"));
	free(text);
	/* c dies without a stop */
	assert_int_equal(gw_service_run_start(f->dir, &c, &r, &err), 0);
	gw_lock_release(&c);
	assert_int_equal(gw_service_run_start(f->dir, &a, &r, &err), 0);
	text = ut_read(f->events);
	char *u = strstr(text, "\"transition\":\"unclean_shutdown\",\"service_status\":\"stopped\",\"reason\":\"the previous run (pid ");
	assert_non_null(u);
	assert_non_null(strstr(u, "\"transition\":\"start\""));
	assert_null(strstr(u + strlen("\"transition\":\"unclean_shutdown\""), "unclean_shutdown"));
	free(text);
	assert_int_equal(gw_service_run_failed(f->dir, &a, "bind failed", &r, &err), 0);
	assert_false(gw_fs_exists(marker)); /* a recorded failed start closes the run too */
	free(marker);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_status_on_missing_state_writes_nothing, ut_statedir_setup_absent, ut_statedir_teardown),
		cmocka_unit_test_setup_teardown(test_start_counts_every_attempt, ut_statedir_setup_absent, ut_statedir_teardown),
		cmocka_unit_test_setup_teardown(test_request_already_records_nothing, ut_statedir_setup_absent, ut_statedir_teardown),
		cmocka_unit_test_setup_teardown(test_stop_records_trimmed_reason_and_holds_rollout, ut_statedir_setup_absent, ut_statedir_teardown),
		cmocka_unit_test_setup_teardown(test_stop_without_reason_is_operator_requested, ut_statedir_setup_absent, ut_statedir_teardown),
		cmocka_unit_test_setup_teardown(test_transitions_append_lifecycle_lines, ut_statedir_setup_absent, ut_statedir_teardown),
		cmocka_unit_test_setup_teardown(test_startup_failed_then_start_clears_it, ut_statedir_setup_absent, ut_statedir_teardown),
		cmocka_unit_test_setup_teardown(test_runs_and_unclean_shutdown, ut_statedir_setup_absent, ut_statedir_teardown),
		cmocka_unit_test(test_text_line_format),
		cmocka_unit_test(test_json_key_order),
		cmocka_unit_test_setup_teardown(test_corrupt_state_is_moved_aside_on_start, ut_statedir_setup_absent, ut_statedir_teardown),
		cmocka_unit_test_setup_teardown(test_foreign_schema_is_never_overwritten, ut_statedir_setup_absent, ut_statedir_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
