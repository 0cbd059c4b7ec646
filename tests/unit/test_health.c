/*
 * test_health.c - the transport health classification table (reference §5)
 * with its exact reasons, and the snapshot's JSON/text forms.
 */
#include "unit.h"

#include "core/gateway/health.h"

static gw_health_state
classify(uint64_t streak, uint64_t failed, char *reason)
{
	gw_health h = { 0 };
	h.failure_streak = streak;
	h.last_cycle_failed = failed;
	return gw_health_classify(&h, reason, GW_HEALTH_REASON_MAX);
}

static void
test_streak_3_or_more_is_failing(void **state)
{
	(void)state;
	char r[GW_HEALTH_REASON_MAX];
	assert_int_equal(classify(3, 0, r), GW_HEALTH_FAILING);
	assert_string_equal(r, "transport failures are sustained (failure_streak=3)");
	assert_int_equal(classify(17, 5, r), GW_HEALTH_FAILING);
	assert_string_equal(r, "transport failures are sustained (failure_streak=17)");
}

static void
test_recent_failure_is_degraded(void **state)
{
	(void)state;
	char r[GW_HEALTH_REASON_MAX];
	assert_int_equal(classify(2, 1, r), GW_HEALTH_DEGRADED);
	assert_string_equal(r, "recent transport failures observed (failure_streak=2, last_cycle_failed=1)");
	assert_int_equal(classify(1, 0, r), GW_HEALTH_DEGRADED);
	assert_string_equal(r, "recent transport failures observed (failure_streak=1, last_cycle_failed=0)");
	assert_int_equal(classify(0, 4, r), GW_HEALTH_DEGRADED);
	assert_string_equal(r, "recent transport failures observed (failure_streak=0, last_cycle_failed=4)");
}

static void
test_no_failures_is_healthy(void **state)
{
	(void)state;
	char r[GW_HEALTH_REASON_MAX];
	gw_health h = { .queue_depth = 9, .last_cycle_duplicates = 3, .last_cycle_discovered = 12 };
	assert_int_equal(gw_health_classify(&h, r, sizeof(r)), GW_HEALTH_HEALTHY);
	assert_string_equal(r, "no recent transport failures observed");
}

static void
test_state_names(void **state)
{
	(void)state;
	assert_string_equal(gw_health_state_name(GW_HEALTH_HEALTHY), "healthy");
	assert_string_equal(gw_health_state_name(GW_HEALTH_DEGRADED), "degraded");
	assert_string_equal(gw_health_state_name(GW_HEALTH_FAILING), "failing");
}

static gw_health
sample(void)
{
	return (gw_health){ 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 };
}

static void
test_json_field_order_compact_and_pretty(void **state)
{
	(void)state;
	gw_health h = sample();
	gw_buf b = GW_BUF_INIT;
	gw_jw w;
	gw_jw_init(&w, &b, false);
	gw_health_write_json(&w, &h);
	assert_string_equal(b.data,
	    "{\"updated_unix_ms\":1,\"cycle_duration_ms\":2,\"queue_depth\":3,\"active_runs\":4,"
	    "\"failure_streak\":5,\"last_cycle_discovered\":6,\"last_cycle_processed\":7,"
	    "\"last_cycle_completed\":8,\"last_cycle_failed\":9,\"last_cycle_duplicates\":10}");
	gw_buf_reset(&b);
	gw_jw_init(&w, &b, true);
	gw_health_write_json(&w, &h);
	ut_assert_contains(b.data, "{\n  \"updated_unix_ms\": 1,\n  \"cycle_duration_ms\": 2,\n");
	ut_assert_contains(b.data, "\n  \"last_cycle_duplicates\": 10\n}");
	gw_buf_free(&b);
}

static void
test_text_pairs(void **state)
{
	(void)state;
	gw_health h = sample();
	gw_buf b = GW_BUF_INIT;
	gw_health_write_text(&b, &h);
	assert_string_equal(b.data,
	    " updated_unix_ms=1 cycle_duration_ms=2 queue_depth=3 active_runs=4 failure_streak=5"
	    " last_cycle_discovered=6 last_cycle_processed=7 last_cycle_completed=8"
	    " last_cycle_failed=9 last_cycle_duplicates=10");
	gw_buf_free(&b);
}

static void
test_from_json_defaults_and_types(void **state)
{
	(void)state;
	gw_health h = sample();
	gw_err err;
	cJSON *v = cJSON_Parse("{\"failure_streak\":2,\"other\":\"x\"}");
	assert_int_equal(gw_health_from_json(v, &h, "health", &err), 0);
	assert_int_equal(h.failure_streak, 2);
	assert_int_equal(h.queue_depth, 0);   /* absent fields are 0 */
	assert_int_equal(h.updated_unix_ms, 0);
	cJSON_Delete(v);

	v = cJSON_Parse("{\"queue_depth\":\"3\"}");
	assert_int_equal(gw_health_from_json(v, &h, "health", &err), -EINVAL);
	assert_string_equal(err.msg, "health: health.queue_depth must be a non-negative integer");
	cJSON_Delete(v);
	v = cJSON_Parse("{\"queue_depth\":-1}");
	assert_int_equal(gw_health_from_json(v, &h, "health", &err), -EINVAL);
	cJSON_Delete(v);
	v = cJSON_Parse("{\"queue_depth\":1.5}");
	assert_int_equal(gw_health_from_json(v, &h, "health", &err), -EINVAL);
	cJSON_Delete(v);
	v = cJSON_Parse("[]");
	assert_int_equal(gw_health_from_json(v, &h, "health", &err), -EINVAL);
	assert_string_equal(err.msg, "health: health must be an object");
	cJSON_Delete(v);
	assert_int_equal(gw_health_from_json(NULL, &h, "health", &err), 0);
	assert_int_equal(h.failure_streak, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_streak_3_or_more_is_failing),
		cmocka_unit_test(test_recent_failure_is_degraded),
		cmocka_unit_test(test_no_failures_is_healthy),
		cmocka_unit_test(test_state_names),
		cmocka_unit_test(test_json_field_order_compact_and_pretty),
		cmocka_unit_test(test_text_pairs),
		cmocka_unit_test(test_from_json_defaults_and_types),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
