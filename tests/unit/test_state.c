/*
 * test_state.c - state.json: defaults, tolerant absent fields, strict
 * types, corrupt files moved aside by writers and left alone by readers,
 * foreign schema versions never touched, the exact pretty output, round
 * trips, processed-key normalisation and cap, request ordering and service
 * normalisation.
 */
#include "unit.h"
#include "state_util.h"

#include "core/gateway/state.h"

#include <dirent.h>

/* Number of state.json.corrupt-* files in dir; the first name goes to out. */
static size_t
corrupt_files(const char *dir, char *out, size_t n)
{
	DIR *d = opendir(dir);
	assert_non_null(d);
	size_t k = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (strncmp(e->d_name, "state.json.corrupt-", 19) == 0) {
			if (k == 0 && out)
				snprintf(out, n, "%s", e->d_name);
			k++;
		}
	}
	closedir(d);
	return k;
}

static void
test_missing_file_gives_defaults(void **state)
{
	ut_statedir *f = *state;
	gw_state_mode modes[] = { GW_STATE_READ, GW_STATE_WRITE };
	for (int i = 0; i < 2; i++) {
		gw_state *st;
		gw_err err;
		assert_int_equal(gw_state_load(f->dir, modes[i], &st, &err), 0);
		assert_false(st->existed);
		assert_string_equal(st->path, f->state);
		assert_int_equal(st->nkeys, 0);
		assert_int_equal(st->nreqs, 0);
		assert_string_equal(st->guardrail.gate, "pass");
		assert_string_equal(st->guardrail.reason_code, "guardrail_checks_passing");
		assert_int_equal(st->guardrail.failure_streak_threshold, 2);
		assert_false(st->service.stopped);
		assert_int_equal(st->service.startup_attempts, 0);
		assert_true(st->service.last_started_unix_ms > 0);
		assert_int_equal(st->service.last_started_unix_ms, st->service.last_transition_unix_ms);
		assert_int_equal(st->service.last_stopped_unix_ms, 0);
		assert_int_equal(st->health.failure_streak, 0);
		gw_state_free(st);
	}
	assert_false(gw_fs_exists(f->state)); /* loading never creates it */
}

static void
test_read_existing_requires_file(void **state)
{
	ut_statedir *f = *state;
	gw_state *st = (gw_state *)1;
	gw_err err;
	assert_int_equal(gw_state_load(f->dir, GW_STATE_READ_EXISTING, &st, &err), -ENOENT);
	assert_null(st);
	assert_int_equal(err.exit_code, GW_EXIT_NOINPUT);
	ut_assert_contains(err.msg, f->state);
	ut_assert_contains(err.msg, "does not exist");
}

static void
test_absent_fields_take_defaults(void **state)
{
	ut_statedir *f = *state;
	ut_write(f->state, "{\"health\":{\"failure_streak\":2},\"service\":{\"startup_attempts\":3},"
	    "\"guardrail\":{\"gate\":\"hold\"},\"requests\":[{\"case_key\":\"k\"}],\"unknown\":[1]}");
	gw_state *st;
	gw_err err;
	assert_int_equal(gw_state_load(f->dir, GW_STATE_READ, &st, &err), 0);
	assert_true(st->existed);
	assert_int_equal(st->health.failure_streak, 2);
	assert_int_equal(st->health.queue_depth, 0);
	assert_int_equal(st->service.startup_attempts, 3);
	assert_false(st->service.stopped);
	assert_string_equal(st->guardrail.gate, "hold");
	assert_string_equal(st->guardrail.reason_code, "guardrail_checks_passing");
	assert_int_equal(st->nreqs, 1);
	gw_request *r = gw_state_find_request(st, "k");
	assert_non_null(r);
	assert_string_equal(r->outcome, "");
	assert_string_equal(r->response_body, "null");
	gw_state_free(st);
	ut_write(f->state, "{}");
	assert_int_equal(gw_state_load(f->dir, GW_STATE_READ, &st, &err), 0);
	assert_int_equal(st->nkeys, 0);
	gw_state_free(st);
}

static const char *const corrupt_docs[] = {
	"",
	"not json",
	"{\"schema_version\":1,",
	"[]",
	"{\"schema_version\":\"1\"}",
	"{\"processed_case_keys\":\"x\"}",
	"{\"processed_case_keys\":[1]}",
	"{\"requests\":[{\"case_key\":1}]}",
	"{\"requests\":[{\"case_key\":\"k\",\"status_code\":\"200\"}]}",
	"{\"requests\":[7]}",
	"{\"health\":{\"queue_depth\":\"1\"}}",
	"{\"health\":[]}",
	"{\"guardrail\":{\"gate\":1}}",
	"{\"service\":{\"status\":5}}",
	"{\"service\":{\"startup_attempts\":-1}}",
	"{\"service\":{\"last_stop_reason\":[]}}",
	"{} trailing",
};

static void
test_wrong_types_are_corrupt_and_readers_touch_nothing(void **state)
{
	ut_statedir *f = *state;
	for (size_t i = 0; i < sizeof(corrupt_docs) / sizeof(corrupt_docs[0]); i++) {
		ut_write(f->state, corrupt_docs[i]);
		gw_state_mode modes[] = { GW_STATE_READ, GW_STATE_READ_EXISTING };
		for (int m = 0; m < 2; m++) {
			gw_state *st = (gw_state *)1;
			gw_err err;
			gw_err_clear(&err);
			int rc = gw_state_load(f->dir, modes[m], &st, &err);
			if (rc != -EINVAL)
				print_error("doc %zu: rc %d\n", i, rc);
			assert_int_equal(rc, -EINVAL);
			assert_null(st);
			assert_int_equal(err.exit_code, GW_EXIT_DATAERR);
			char want[1200];
			snprintf(want, sizeof(want), "state file %s is corrupt: ", f->state);
			ut_assert_contains(err.msg, want);
			char *after = ut_read(f->state);
			assert_string_equal(after, corrupt_docs[i]);
			free(after);
			assert_int_equal(corrupt_files(f->dir, NULL, 0), 0);
		}
	}
}

static void
test_writer_moves_corrupt_file_aside(void **state)
{
	ut_statedir *f = *state;
	ut_write(f->state, "{\"processed_case_keys\":[\"a\"],\"health\":7}");
	gw_state *st;
	gw_err err;
	assert_int_equal(gw_state_load(f->dir, GW_STATE_WRITE, &st, &err), 0);
	/* fresh defaults, nothing from the corrupt file */
	assert_false(st->existed);
	assert_int_equal(st->nkeys, 0);
	char name[256];
	assert_int_equal(corrupt_files(f->dir, name, sizeof(name)), 1);
	const char *digits = name + strlen("state.json.corrupt-");
	assert_true(strlen(digits) >= 13);
	for (const char *p = digits; *p; p++)
		assert_true(*p >= '0' && *p <= '9');
	char *moved = ut_join(f->dir, name);
	assert_string_equal(st->corrupt_path, moved);
	char *content = ut_read(moved);
	assert_string_equal(content, "{\"processed_case_keys\":[\"a\"],\"health\":7}");
	ut_assert_contains(st->notice, "is corrupt");
	ut_assert_contains(st->notice, "moved it to ");
	ut_assert_contains(st->notice, moved);
	assert_false(gw_fs_exists(f->state));
	/* the recovery is recorded in the event log */
	char *events = ut_join(f->dir, "runtime-events.jsonl");
	char *log = ut_read(events);
	ut_assert_contains(log, "\"kind\":\"state_recovered\"");
	assert_int_equal(ut_count_lines(events), 1);
	/* the next save starts fresh and keeps the moved file */
	assert_int_equal(gw_state_save(st, &err), 0);
	assert_true(gw_fs_is_file(f->state));
	assert_true(gw_fs_is_file(moved));
	gw_state_free(st);
	free(log);
	free(events);
	free(content);
	free(moved);
}

static void
test_other_schema_version_is_refused_and_untouched(void **state)
{
	ut_statedir *f = *state;
	const char *doc = "{\"schema_version\":3,\"processed_case_keys\":[\"x\"]}";
	ut_write(f->state, doc);
	gw_state_mode modes[] = { GW_STATE_READ, GW_STATE_READ_EXISTING, GW_STATE_WRITE };
	for (int m = 0; m < 3; m++) {
		gw_state *st = (gw_state *)1;
		gw_err err;
		assert_int_equal(gw_state_load(f->dir, modes[m], &st, &err), -EPROTONOSUPPORT);
		assert_null(st);
		assert_int_equal(err.exit_code, GW_EXIT_DATAERR);
		ut_assert_contains(err.msg, "unsupported state schema 3 in ");
		ut_assert_contains(err.msg, "refusing to touch it");
		char *after = ut_read(f->state);
		assert_string_equal(after, doc);
		free(after);
		assert_int_equal(corrupt_files(f->dir, NULL, 0), 0);
	}
	char *events = ut_join(f->dir, "runtime-events.jsonl");
	assert_false(gw_fs_exists(events));
	free(events);
}

/* A schema 1 file (every key and record inside state.json). */
static const char known_state[] =
	"{\n"
	"  \"schema_version\": 1,\n"
	"  \"processed_case_keys\": [\n"
	"    \"GET:/a:c1\",\n"
	"    \"POST:/b:c2\"\n"
	"  ],\n"
	"  \"requests\": [\n"
	"    {\n"
	"      \"case_key\": \"GET:/a:c1\",\n"
	"      \"case_id\": \"c1\",\n"
	"      \"method\": \"GET\",\n"
	"      \"endpoint\": \"/a\",\n"
	"      \"actor_id\": \"bot\",\n"
	"      \"status_code\": 200,\n"
	"      \"outcome\": \"success\",\n"
	"      \"error_code\": \"\",\n"
	"      \"response_body\": {\n"
	"        \"actor_id\": \"bot\",\n"
	"        \"status\": \"accepted\"\n"
	"      },\n"
	"      \"updated_unix_ms\": 5\n"
	"    },\n"
	"    {\n"
	"      \"case_key\": \"POST:/b:c2\",\n"
	"      \"case_id\": \"c2\",\n"
	"      \"method\": \"POST\",\n"
	"      \"endpoint\": \"/b\",\n"
	"      \"actor_id\": \"bot\",\n"
	"      \"status_code\": 503,\n"
	"      \"outcome\": \"retryable_failure\",\n"
	"      \"error_code\": \"gateway_backend_unavailable\",\n"
	"      \"response_body\": {},\n"
	"      \"updated_unix_ms\": 6\n"
	"    }\n"
	"  ],\n"
	"  \"health\": {\n"
	"    \"updated_unix_ms\": 1,\n"
	"    \"cycle_duration_ms\": 2,\n"
	"    \"queue_depth\": 3,\n"
	"    \"active_runs\": 0,\n"
	"    \"failure_streak\": 1,\n"
	"    \"last_cycle_discovered\": 4,\n"
	"    \"last_cycle_processed\": 4,\n"
	"    \"last_cycle_completed\": 3,\n"
	"    \"last_cycle_failed\": 1,\n"
	"    \"last_cycle_duplicates\": 0\n"
	"  },\n"
	"  \"guardrail\": {\n"
	"    \"gate\": \"hold\",\n"
	"    \"reason_code\": \"malformed_input_observed\",\n"
	"    \"failure_streak_threshold\": 2,\n"
	"    \"retryable_failures_threshold\": 2,\n"
	"    \"failure_streak\": 1,\n"
	"    \"last_failed_cases\": 1,\n"
	"    \"last_retryable_failures\": 1,\n"
	"    \"updated_unix_ms\": 7\n"
	"  },\n"
	"  \"service\": {\n"
	"    \"status\": \"stopped\",\n"
	"    \"startup_attempts\": 2,\n"
	"    \"startup_failure_streak\": 0,\n"
	"    \"last_startup_error\": \"\",\n"
	"    \"last_started_unix_ms\": 10,\n"
	"    \"last_stopped_unix_ms\": 11,\n"
	"    \"last_transition_unix_ms\": 11,\n"
	"    \"last_stop_reason\": \"demo \\\"done\\\"\"\n"
	"  }\n"
	"}";

static void
fill_known(gw_state *st)
{
	gw_state_mark_processed(st, "GET:/a:c1");
	gw_state_mark_processed(st, "POST:/b:c2");
	/* upserted out of order: saved sorted by case_key */
	gw_request *q = gw_state_upsert_request(st, "POST:/b:c2");
	q->case_id = "c2";
	q->method = "POST";
	q->endpoint = "/b";
	q->actor_id = "bot";
	q->status_code = 503;
	q->outcome = "retryable_failure";
	q->error_code = "gateway_backend_unavailable";
	q->response_body = "{}";
	q->updated_unix_ms = 6;
	q = gw_state_upsert_request(st, "GET:/a:c1");
	q->case_id = gw_state_strdup(st, "c1");
	q->method = "GET";
	q->endpoint = "/a";
	q->actor_id = "bot";
	q->status_code = 200;
	q->outcome = "success";
	q->error_code = "";
	q->response_body = "{\"actor_id\":\"bot\",\"status\":\"accepted\"}";
	q->updated_unix_ms = 5;
	st->health = (gw_health){ 1, 2, 3, 0, 1, 4, 4, 3, 1, 0 };
	gw_guardrail_input gi = { 2, 2, 1, 1, 1, 1, 7 };
	gw_guardrail_evaluate(&st->guardrail, &gi);
	st->service.stopped = true;
	st->service.startup_attempts = 2;
	st->service.last_started_unix_ms = 10;
	st->service.last_stopped_unix_ms = 11;
	st->service.last_transition_unix_ms = 11;
	snprintf(st->service.last_stop_reason, sizeof(st->service.last_stop_reason), "demo \"done\"");
}

/* What fill_known's save appends to records.log: the touched keys in the
 * order they were first touched. */
static const char known_log[] =
	"[\"GET:/a:c1\",1,\"bot\",{\"case_id\":\"c1\",\"method\":\"GET\",\"endpoint\":\"/a\","
	"\"actor_id\":\"bot\",\"status_code\":200,\"outcome\":\"success\",\"error_code\":\"\","
	"\"response_body\":{\"actor_id\":\"bot\",\"status\":\"accepted\"},\"updated_unix_ms\":5}]\n"
	"[\"POST:/b:c2\",2,\"bot\",{\"case_id\":\"c2\",\"method\":\"POST\",\"endpoint\":\"/b\","
	"\"actor_id\":\"bot\",\"status_code\":503,\"outcome\":\"retryable_failure\","
	"\"error_code\":\"gateway_backend_unavailable\",\"response_body\":{},\"updated_unix_ms\":6}]\n";

/* The schema 2 state.json for known_state's data, records in a log of
 * log_bytes bytes and (gen) a snapshot. */
static char *
known_state_v2(unsigned gen, size_t log_bytes)
{
	gw_buf b = GW_BUF_INIT;
	gw_buf_printf(&b, "{\n  \"schema_version\": 2,\n  \"records\": {\n    \"generation\": %u,\n"
	    "    \"log_bytes\": %zu,\n    \"next_seq\": 3,\n    \"processed_case_count\": 2,\n"
	    "    \"request_count\": 2,\n    \"method_counts\": {\n      \"GET\": 1,\n      \"POST\": 1\n    },\n"
	    "    \"status_code_counts\": {\n      \"200\": 1,\n      \"503\": 1\n    },\n"
	    "    \"error_code_counts\": {\n      \"gateway_backend_unavailable\": 1\n    }\n  },\n",
	    gen, log_bytes);
	const char *h = strstr(known_state, "  \"health\"");
	gw_buf_puts(&b, h);
	return gw_buf_detach(&b);
}

static void
test_exact_pretty_output_without_trailing_newline(void **state)
{
	ut_statedir *f = *state;
	gw_state *st;
	gw_err err;
	assert_int_equal(gw_state_load(f->dir, GW_STATE_WRITE, &st, &err), 0);
	fill_known(st);
	assert_int_equal(gw_state_save(st, &err), 0);
	gw_state_free(st);
	char *text = ut_read(f->state);
	char *want = known_state_v2(0, strlen(known_log));
	assert_string_equal(text, want);
	free(want);
	free(text);
	char *log = ut_join(f->dir, "records.log");
	text = ut_read(log);
	assert_string_equal(text, known_log);
	free(text);
	free(log);
}

static void
test_round_trip_is_byte_identical(void **state)
{
	ut_statedir *f = *state;
	gw_state *st;
	gw_err err;
	assert_int_equal(gw_state_load(f->dir, GW_STATE_WRITE, &st, &err), 0);
	fill_known(st);
	assert_int_equal(gw_state_save(st, &err), 0);
	gw_state_free(st);
	char *before = ut_read(f->state);
	assert_int_equal(gw_state_load(f->dir, GW_STATE_WRITE, &st, &err), 0);
	assert_true(st->existed);
	assert_int_equal(st->nkeys, 2);
	assert_true(gw_state_is_processed(st, "POST:/b:c2"));
	assert_true(st->service.stopped);
	assert_string_equal(st->service.last_stop_reason, "demo \"done\"");
	assert_int_equal(gw_state_save(st, &err), 0);
	gw_state_free(st);
	char *text = ut_read(f->state);
	assert_string_equal(text, before);
	free(text);
	free(before);
}

/* A schema 1 file loads as before; the first save migrates it: a
 * generation 1 snapshot, an empty log, the same keys, records and counts. */
static void
test_legacy_file_migrates_on_save(void **state)
{
	ut_statedir *f = *state;
	ut_write(f->state, known_state);
	gw_state *st;
	gw_err err;
	assert_int_equal(gw_state_load(f->dir, GW_STATE_READ_EXISTING, &st, &err), 0);
	assert_int_equal(st->nkeys, 2);
	assert_int_equal(st->nreqs, 2);
	assert_int_equal(st->method_counts.n, 2);
	assert_string_equal(gw_state_find_request(st, "POST:/b:c2")->outcome, "retryable_failure");
	gw_state_free(st);
	char *text = ut_read(f->state);
	assert_string_equal(text, known_state); /* a reader changed nothing */
	free(text);
	assert_int_equal(gw_state_load(f->dir, GW_STATE_WRITE, &st, &err), 0);
	assert_int_equal(gw_state_save(st, &err), 0);
	gw_state_free(st);
	text = ut_read(f->state);
	char *want = known_state_v2(1, 0);
	assert_string_equal(text, want);
	free(want);
	free(text);
	char *snap = ut_join(f->dir, "records-1.snap");
	assert_true(gw_fs_is_file(snap));
	free(snap);
	assert_int_equal(gw_state_load(f->dir, GW_STATE_READ_EXISTING, &st, &err), 0);
	ut_list pk = ut_processed(st);
	assert_int_equal(pk.n, 2);
	assert_string_equal(pk.s[0], "GET:/a:c1");
	assert_string_equal(pk.s[1], "POST:/b:c2");
	ut_list_free(&pk);
	gw_request *q = gw_state_find_request(st, "GET:/a:c1");
	assert_non_null(q);
	assert_string_equal(q->response_body, "{\"actor_id\":\"bot\",\"status\":\"accepted\"}");
	assert_string_equal(q->actor_id, "bot");
	assert_int_equal(q->updated_unix_ms, 5);
	gw_state_free(st);
}

static void
test_posture_mode_skips_keys_and_records(void **state)
{
	ut_statedir *f = *state;
	ut_write(f->state, known_state);
	gw_state *st;
	gw_err err;
	assert_int_equal(gw_state_load(f->dir, GW_STATE_READ_POSTURE, &st, &err), 0);
	assert_true(st->existed);
	assert_int_equal(st->nkeys, 0);
	assert_int_equal(st->nreqs, 0);
	assert_true(st->service.stopped);
	assert_string_equal(st->service.last_stop_reason, "demo \"done\"");
	gw_state_free(st);
	/* combined with READ_EXISTING, a missing file is still an error */
	char *other = ut_join(f->dir, "missing");
	assert_int_equal(gw_state_load(other, GW_STATE_READ_EXISTING | GW_STATE_READ_POSTURE, &st,
	    &err), -ENOENT);
	free(other);
	/* a requests member that is not an array is still corrupt */
	ut_write(f->state, "{\"schema_version\": 1, \"requests\": 5}");
	assert_int_equal(gw_state_load(f->dir, GW_STATE_READ_POSTURE, &st, &err), -EINVAL);
	ut_assert_contains(err.msg, "requests must be an array");
}

static void
test_empty_state_output(void **state)
{
	ut_statedir *f = *state;
	gw_state *st;
	gw_err err;
	assert_int_equal(gw_state_load(f->dir, GW_STATE_WRITE, &st, &err), 0);
	assert_int_equal(gw_state_save(st, &err), 0);
	gw_state_free(st);
	char *text = ut_read(f->state);
	ut_assert_contains(text, "{\n  \"schema_version\": 2,\n  \"records\": {\n    \"generation\": 0,\n"
	    "    \"log_bytes\": 0,\n    \"next_seq\": 1,\n    \"processed_case_count\": 0,\n"
	    "    \"request_count\": 0,\n    \"method_counts\": {},\n    \"status_code_counts\": {},\n"
	    "    \"error_code_counts\": {}\n  },\n  \"health\": {\n");
	assert_int_not_equal(text[strlen(text) - 1], '\n');
	free(text);
}

static void
test_processed_keys_normalised_on_load(void **state)
{
	ut_statedir *f = *state;
	ut_write(f->state, "{\"processed_case_keys\":[\" b \",\"\",\"  \",\"a\",\"b\",\"c\\u0041\",\"a\"]}");
	gw_state *st;
	gw_err err;
	assert_int_equal(gw_state_load(f->dir, GW_STATE_READ, &st, &err), 0);
	assert_int_equal(st->nkeys, 3);
	ut_list pk = ut_processed(st);
	assert_int_equal(pk.n, 3);
	assert_string_equal(pk.s[0], "b");
	assert_string_equal(pk.s[1], "a");
	assert_string_equal(pk.s[2], "cA");
	ut_list_free(&pk);
	gw_state_free(st);
}

static void
test_processed_key_cap_keeps_newest(void **state)
{
	ut_statedir *f = *state;
	gw_state *st;
	gw_err err;
	assert_int_equal(gw_state_load(f->dir, GW_STATE_READ, &st, &err), 0);
	char k[16];
	for (int i = 0; i < 100; i++) {
		snprintf(k, sizeof(k), "k%d", i);
		gw_state_mark_processed(st, k);
		gw_state_mark_processed(st, k); /* duplicates are ignored */
	}
	assert_int_equal(st->nkeys, 100);
	gw_state_cap_processed(st, 10);
	assert_int_equal(st->nkeys, 10);
	ut_list pk = ut_processed(st);
	assert_int_equal(pk.n, 10);
	assert_string_equal(pk.s[0], "k90");
	assert_string_equal(pk.s[9], "k99");
	ut_list_free(&pk);
	assert_false(gw_state_is_processed(st, "k89"));
	assert_true(gw_state_is_processed(st, "k90"));
	/* a dropped key can be marked again */
	gw_state_mark_processed(st, "k0");
	assert_int_equal(st->nkeys, 11);
	gw_state_cap_processed(st, 0);
	assert_int_equal(st->nkeys, 0);
	assert_false(gw_state_is_processed(st, "k0"));
	gw_state_free(st);
}

static void
test_request_index_and_sorting(void **state)
{
	ut_statedir *f = *state;
	gw_state *st;
	gw_err err;
	assert_int_equal(gw_state_load(f->dir, GW_STATE_READ, &st, &err), 0);
	const char *keys[] = { "m", "c", "x", "a", "q" };
	for (int i = 0; i < 5; i++)
		gw_state_upsert_request(st, keys[i]);
	gw_state_upsert_request(st, "b");
	assert_ptr_equal(gw_state_upsert_request(st, "m"), gw_state_find_request(st, "m"));
	assert_int_equal(st->nreqs, 6);
	ut_list rq = ut_requests(st);
	const char *sorted[] = { "a", "b", "c", "m", "q", "x" };
	assert_int_equal(rq.n, 6);
	for (int i = 0; i < 6; i++)
		assert_string_equal(rq.s[i], sorted[i]);
	ut_list_free(&rq);
	assert_null(gw_state_find_request(st, "zz"));
	gw_state_free(st);
}

static void
test_normalize_service(void **state)
{
	ut_statedir *f = *state;
	ut_write(f->state, "{\"service\":{\"status\":\" STOPPED \",\"startup_failure_streak\":3,"
	    "\"last_transition_unix_ms\":0}}");
	gw_state *st;
	gw_err err;
	assert_int_equal(gw_state_load(f->dir, GW_STATE_READ, &st, &err), 0);
	assert_true(st->service.stopped);
	gw_state_normalize_service(st, 500);
	assert_int_equal(st->service.startup_failure_streak, 3); /* kept while stopped */
	assert_int_equal(st->service.last_transition_unix_ms, 500);
	gw_state_free(st);

	ut_write(f->state, "{\"service\":{\"status\":\"weird\",\"startup_failure_streak\":3,"
	    "\"last_startup_error\":\"  boom \",\"last_started_unix_ms\":0,\"last_transition_unix_ms\":40}}");
	assert_int_equal(gw_state_load(f->dir, GW_STATE_READ, &st, &err), 0);
	assert_false(st->service.stopped);
	gw_state_normalize_service(st, 500);
	assert_int_equal(st->service.startup_failure_streak, 0);
	assert_string_equal(st->service.last_startup_error, "boom");
	assert_int_equal(st->service.last_transition_unix_ms, 40);
	assert_int_equal(st->service.last_started_unix_ms, 40);
	gw_state_free(st);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_missing_file_gives_defaults, ut_statedir_setup, ut_statedir_teardown),
		cmocka_unit_test_setup_teardown(test_read_existing_requires_file, ut_statedir_setup, ut_statedir_teardown),
		cmocka_unit_test_setup_teardown(test_absent_fields_take_defaults, ut_statedir_setup, ut_statedir_teardown),
		cmocka_unit_test_setup_teardown(test_wrong_types_are_corrupt_and_readers_touch_nothing, ut_statedir_setup, ut_statedir_teardown),
		cmocka_unit_test_setup_teardown(test_writer_moves_corrupt_file_aside, ut_statedir_setup, ut_statedir_teardown),
		cmocka_unit_test_setup_teardown(test_other_schema_version_is_refused_and_untouched, ut_statedir_setup, ut_statedir_teardown),
		cmocka_unit_test_setup_teardown(test_exact_pretty_output_without_trailing_newline, ut_statedir_setup, ut_statedir_teardown),
		cmocka_unit_test_setup_teardown(test_legacy_file_migrates_on_save, ut_statedir_setup, ut_statedir_teardown),
		cmocka_unit_test_setup_teardown(test_round_trip_is_byte_identical, ut_statedir_setup, ut_statedir_teardown),
		cmocka_unit_test_setup_teardown(test_posture_mode_skips_keys_and_records, ut_statedir_setup, ut_statedir_teardown),
		cmocka_unit_test_setup_teardown(test_empty_state_output, ut_statedir_setup, ut_statedir_teardown),
		cmocka_unit_test_setup_teardown(test_processed_keys_normalised_on_load, ut_statedir_setup, ut_statedir_teardown),
		cmocka_unit_test_setup_teardown(test_processed_key_cap_keeps_newest, ut_statedir_setup, ut_statedir_teardown),
		cmocka_unit_test_setup_teardown(test_request_index_and_sorting, ut_statedir_setup, ut_statedir_teardown),
		cmocka_unit_test_setup_teardown(test_normalize_service, ut_statedir_setup, ut_statedir_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
