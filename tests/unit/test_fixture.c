/*
 * test_fixture.c - the gateway contract fixture: every validation rule of
 * reference §3.2 with its exact message (prefixed with the file name),
 * parse errors, hostile input, the evaluation table §3.3 and the contract
 * check messages §3.4.
 */
#include "unit.h"

#include "core/gateway/fixture.h"

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define OK_CASE(id) \
	"{\"case_id\":\"" id "\",\"method\":\"POST\",\"endpoint\":\"/v1/tasks\",\"actor_id\":\"bot\"," \
	"\"expected\":{\"outcome\":\"success\",\"status_code\":201,\"response_body\":" \
	"{\"status\":\"accepted\",\"method\":\"POST\",\"endpoint\":\"/v1/tasks\",\"actor_id\":\"bot\"}}}"

/* Parses text as "t.json"; returns rc and leaves the message in err. */
static int
parse_text(const char *text, gw_err *err)
{
	gw_fixture *f = NULL;
	gw_err_clear(err);
	int rc = gw_fixture_parse("t.json", text, strlen(text), &f, err);
	if (rc == 0) {
		assert_non_null(f);
		gw_fixture_free(f);
	} else {
		assert_null(f);
	}
	return rc;
}

/* A fixture with one valid case followed by `second` (index 1). */
static char *
with_second_case(const char *second)
{
	gw_buf b = GW_BUF_INIT;
	gw_buf_printf(&b, "{\"schema_version\":1,\"name\":\"t\",\"cases\":[" OK_CASE("c1") ",%s]}",
	    second);
	return gw_buf_detach(&b);
}

/* Asserts that the fixture with `second` as case index 1 fails with
 * exactly "invalid fixture t.json: <msg>" and exit class 65. */
static void
expect_case_error(const char *second, const char *msg)
{
	char *text = with_second_case(second);
	gw_err err;
	assert_int_equal(parse_text(text, &err), -EINVAL);
	assert_int_equal(err.exit_code, GW_EXIT_DATAERR);
	char want[1024];
	snprintf(want, sizeof(want), "invalid fixture t.json: %s", msg);
	assert_string_equal(err.msg, want);
	free(text);
}

static void
expect_fixture_error(const char *text, const char *msg)
{
	gw_err err;
	assert_int_equal(parse_text(text, &err), -EINVAL);
	assert_int_equal(err.exit_code, GW_EXIT_DATAERR);
	char want[1024];
	snprintf(want, sizeof(want), "invalid fixture t.json: %s", msg);
	assert_string_equal(err.msg, want);
}

/* ---- §3.2 fixture-level rules ------------------------------------------- */

static void
test_rule1_fixture_schema_version_must_be_1(void **state)
{
	(void)state;
	expect_fixture_error("{\"schema_version\":2,\"name\":\"t\",\"cases\":[" OK_CASE("c1") "]}",
	    "unsupported gateway contract schema version 2 (expected 1)");
}

static void
test_rule2_blank_name_rejected(void **state)
{
	(void)state;
	expect_fixture_error("{\"schema_version\":1,\"name\":\" \\t \",\"cases\":[" OK_CASE("c1") "]}",
	    "fixture name cannot be empty");
}

static void
test_rule3_no_cases_rejected(void **state)
{
	(void)state;
	expect_fixture_error("{\"schema_version\":1,\"name\":\"t\",\"cases\":[]}",
	    "fixture must include at least one case");
}

static void
test_fixture_level_rules_win_over_case_rules(void **state)
{
	(void)state;
	/* first failure wins: the fixture checks run before the per-case ones */
	expect_fixture_error("{\"schema_version\":2,\"name\":\"t\",\"cases\":[{\"case_id\":\" \","
	    "\"method\":\"GET\",\"endpoint\":\"/x\",\"actor_id\":\"a\",\"expected\":{\"outcome\":"
	    "\"success\",\"status_code\":200,\"response_body\":{}}}]}",
	    "unsupported gateway contract schema version 2 (expected 1)");
	expect_fixture_error("{\"cases\":[{\"case_id\":\"x\",\"method\":\"\",\"endpoint\":\"/x\","
	    "\"actor_id\":\"a\",\"expected\":{\"outcome\":\"success\",\"status_code\":200,"
	    "\"response_body\":{}}}],\"schema_version\":1,\"name\":\"\"}",
	    "fixture name cannot be empty");
}

static void
test_parse_error_in_later_case_wins_over_validation(void **state)
{
	(void)state;
	/* the reference parses the whole document before validating it */
	expect_fixture_error("{\"schema_version\":1,\"name\":\"t\",\"cases\":[{\"case_id\":\" \","
	    "\"method\":\"GET\",\"endpoint\":\"/x\",\"actor_id\":\"a\",\"expected\":{\"outcome\":"
	    "\"success\",\"status_code\":200,\"response_body\":{}}},{\"case_id\":\"c2\"}]}",
	    "case index 1 (line 1): missing field `method`");
}

/* ---- §3.2 per-case rules, in order ---------------------------------------- */

static void
test_rule4_1_case_schema_version_names_index(void **state)
{
	(void)state;
	expect_case_error("{\"schema_version\":3,\"case_id\":\"c2\",\"method\":\"GET\",\"endpoint\":\"/x\","
	    "\"actor_id\":\"a\",\"expected\":{\"outcome\":\"success\",\"status_code\":200,\"response_body\":{}}}",
	    "fixture case index 1 has unsupported schema_version 3 (expected 1)");
}

static void
test_rule4_2_blank_case_id_names_index(void **state)
{
	(void)state;
	expect_case_error("{\"case_id\":\"  \",\"method\":\"GET\",\"endpoint\":\"/x\",\"actor_id\":\"a\","
	    "\"expected\":{\"outcome\":\"success\",\"status_code\":200,\"response_body\":{}}}",
	    "fixture case index 1 has empty case_id");
}

static void
test_rule4_3_blank_method(void **state)
{
	(void)state;
	expect_case_error("{\"case_id\":\"c2\",\"method\":\" \",\"endpoint\":\"/x\",\"actor_id\":\"a\","
	    "\"expected\":{\"outcome\":\"success\",\"status_code\":200,\"response_body\":{}}}",
	    "fixture case 'c2' has empty method");
}

static void
test_rule4_4_blank_endpoint(void **state)
{
	(void)state;
	expect_case_error("{\"case_id\":\"c2\",\"method\":\"GET\",\"endpoint\":\"\",\"actor_id\":\"a\","
	    "\"expected\":{\"outcome\":\"success\",\"status_code\":200,\"response_body\":{}}}",
	    "fixture case 'c2' has empty endpoint");
}

static void
test_rule4_5_body_must_be_object_or_null(void **state)
{
	(void)state;
	const char *bodies[] = { "[1]", "\"text\"", "3", "true" };
	for (size_t i = 0; i < 4; i++) {
		char c[512];
		snprintf(c, sizeof(c), "{\"case_id\":\"c2\",\"method\":\"GET\",\"endpoint\":\"/x\","
		    "\"actor_id\":\"a\",\"body\":%s,\"expected\":{\"outcome\":\"success\",\"status_code\":200,"
		    "\"response_body\":{\"actor_id\":\"a\",\"endpoint\":\"/x\",\"method\":\"GET\",\"status\":\"accepted\"}}}",
		    bodies[i]);
		expect_case_error(c, "fixture case 'c2' body must be object or null");
	}
	/* null, an object and an absent body are all accepted */
	gw_err err;
	char *t = with_second_case("{\"case_id\":\"c2\",\"method\":\"GET\",\"endpoint\":\"/x\","
	    "\"actor_id\":\"a\",\"body\":null,\"expected\":{\"outcome\":\"success\",\"status_code\":200,"
	    "\"response_body\":{}}}");
	assert_int_equal(parse_text(t, &err), 0);
	free(t);
}

static void
test_rule4_6_simulate_requires_retryable_outcome(void **state)
{
	(void)state;
	expect_case_error("{\"case_id\":\"c2\",\"method\":\"GET\",\"endpoint\":\"/x\",\"actor_id\":\"a\","
	    "\"simulate_retryable_failure\":true,\"expected\":{\"outcome\":\"success\",\"status_code\":200,"
	    "\"response_body\":{}}}",
	    "fixture case 'c2' sets simulate_retryable_failure=true but expected outcome is Success");
	expect_case_error("{\"case_id\":\"c2\",\"method\":\"GET\",\"endpoint\":\"/x\",\"actor_id\":\"a\","
	    "\"simulate_retryable_failure\":true,\"expected\":{\"outcome\":\"malformed_input\","
	    "\"status_code\":400,\"error_code\":\"gateway_invalid_request\",\"response_body\":{}}}",
	    "fixture case 'c2' sets simulate_retryable_failure=true but expected outcome is MalformedInput");
}

static void
test_rule4_7_retryable_requires_simulate(void **state)
{
	(void)state;
	expect_case_error("{\"case_id\":\"c2\",\"method\":\"GET\",\"endpoint\":\"/x\",\"actor_id\":\"a\","
	    "\"expected\":{\"outcome\":\"retryable_failure\",\"status_code\":503,"
	    "\"error_code\":\"gateway_backend_unavailable\",\"response_body\":{}}}",
	    "fixture case 'c2' expects retryable_failure but simulate_retryable_failure=false");
}

static void
test_rule4_8_response_body_must_be_object(void **state)
{
	(void)state;
	expect_case_error("{\"case_id\":\"c2\",\"method\":\"GET\",\"endpoint\":\"/x\",\"actor_id\":\"a\","
	    "\"expected\":{\"outcome\":\"success\",\"status_code\":200,\"response_body\":[]}}",
	    "fixture case 'c2' expected.response_body must be an object");
	/* absent counts as null, which is not an object */
	expect_case_error("{\"case_id\":\"c2\",\"method\":\"GET\",\"endpoint\":\"/x\",\"actor_id\":\"a\","
	    "\"expected\":{\"outcome\":\"success\",\"status_code\":200}}",
	    "fixture case 'c2' expected.response_body must be an object");
}

static void
test_rule4_9_success_rules(void **state)
{
	(void)state;
	expect_case_error("{\"case_id\":\"c2\",\"method\":\"GET\",\"endpoint\":\"/x\",\"actor_id\":\"a\","
	    "\"expected\":{\"outcome\":\"success\",\"status_code\":200,\"error_code\":\"x\",\"response_body\":{}}}",
	    "fixture case 'c2' success outcome must not include error_code");
	expect_case_error("{\"case_id\":\"c2\",\"method\":\"GET\",\"endpoint\":\"/x\",\"actor_id\":\"a\","
	    "\"expected\":{\"outcome\":\"success\",\"status_code\":300,\"response_body\":{}}}",
	    "fixture case 'c2' success outcome requires 2xx status_code (found 300)");
	expect_case_error("{\"case_id\":\"c2\",\"method\":\"GET\",\"endpoint\":\"/x\",\"actor_id\":\"a\","
	    "\"expected\":{\"outcome\":\"success\",\"status_code\":199,\"response_body\":{}}}",
	    "fixture case 'c2' success outcome requires 2xx status_code (found 199)");
}

static void
test_rule4_10_non_success_rules(void **state)
{
	(void)state;
	expect_case_error("{\"case_id\":\"c2\",\"method\":\"GET\",\"endpoint\":\"/x\",\"actor_id\":\"a\","
	    "\"expected\":{\"outcome\":\"malformed_input\",\"status_code\":400,\"error_code\":\" \","
	    "\"response_body\":{}}}",
	    "fixture case 'c2' MalformedInput outcome requires error_code");
	expect_case_error("{\"case_id\":\"c2\",\"method\":\"GET\",\"endpoint\":\"/x\",\"actor_id\":\"a\","
	    "\"simulate_retryable_failure\":true,\"expected\":{\"outcome\":\"retryable_failure\","
	    "\"status_code\":503,\"response_body\":{}}}",
	    "fixture case 'c2' RetryableFailure outcome requires error_code");
	expect_case_error("{\"case_id\":\"c2\",\"method\":\"GET\",\"endpoint\":\"/x\",\"actor_id\":\"a\","
	    "\"expected\":{\"outcome\":\"malformed_input\",\"status_code\":403,"
	    "\"error_code\":\"gateway_method_forbidden\",\"response_body\":{}}}",
	    "fixture case 'c2' uses unsupported error_code 'gateway_method_forbidden'");
	expect_case_error("{\"case_id\":\"c2\",\"method\":\"GET\",\"endpoint\":\"/x\",\"actor_id\":\"a\","
	    "\"expected\":{\"outcome\":\"malformed_input\",\"status_code\":399,"
	    "\"error_code\":\"gateway_invalid_request\",\"response_body\":{}}}",
	    "fixture case 'c2' non-success outcome requires >=400 status_code (found 399)");
}

static void
test_rule4_11_duplicate_case_id_after_trim(void **state)
{
	(void)state;
	expect_case_error(OK_CASE("c1"), "fixture contains duplicate case_id 'c1'");
	char *t = with_second_case(OK_CASE(" c1 "));
	gw_err err;
	assert_int_equal(parse_text(t, &err), -EINVAL);
	ut_assert_contains(err.msg, "invalid fixture t.json: fixture contains duplicate case_id");
	free(t);
}

static void
test_rule5_unsupported_method_for_non_malformed(void **state)
{
	(void)state;
	expect_case_error("{\"case_id\":\"c2\",\"method\":\" trace \",\"endpoint\":\"/x\",\"actor_id\":\"a\","
	    "\"expected\":{\"outcome\":\"success\",\"status_code\":200,\"response_body\":{}}}",
	    "fixture case 'c2' uses unsupported method ' trace ' for non-malformed outcome");
	/* a malformed_input case may use any method; lower case is upper-cased */
	gw_err err;
	char *t = with_second_case("{\"case_id\":\"c2\",\"method\":\"TRACE\",\"endpoint\":\"/x\","
	    "\"actor_id\":\"a\",\"expected\":{\"outcome\":\"malformed_input\",\"status_code\":405,"
	    "\"error_code\":\"gateway_unsupported_method\",\"response_body\":{}}}");
	assert_int_equal(parse_text(t, &err), 0);
	free(t);
	t = with_second_case("{\"case_id\":\"c2\",\"method\":\" patch \",\"endpoint\":\"/x\","
	    "\"actor_id\":\"a\",\"expected\":{\"outcome\":\"success\",\"status_code\":200,"
	    "\"response_body\":{}}}");
	assert_int_equal(parse_text(t, &err), 0);
	free(t);
}

static void
test_method_rule_runs_after_all_duplicate_checks(void **state)
{
	(void)state;
	/* case 1 has an unsupported method, case 2 duplicates case 0: the
	 * duplicate (step 4) is reported before the compatibility pass (step 5) */
	expect_fixture_error("{\"schema_version\":1,\"name\":\"t\",\"cases\":[" OK_CASE("c1") ","
	    "{\"case_id\":\"c2\",\"method\":\"TRACE\",\"endpoint\":\"/x\",\"actor_id\":\"a\","
	    "\"expected\":{\"outcome\":\"success\",\"status_code\":200,\"response_body\":{}}},"
	    OK_CASE("c1") "]}",
	    "fixture contains duplicate case_id 'c1'");
}

static void
test_blank_actor_is_accepted_by_validation(void **state)
{
	(void)state;
	gw_err err;
	char *t = with_second_case("{\"case_id\":\"c2\",\"method\":\"GET\",\"endpoint\":\"/x\","
	    "\"actor_id\":\" \",\"expected\":{\"outcome\":\"malformed_input\",\"status_code\":400,"
	    "\"error_code\":\"gateway_invalid_request\",\"response_body\":{}}}");
	assert_int_equal(parse_text(t, &err), 0);
	free(t);
}

/* ---- parse errors ----------------------------------------------------- */

static void
test_parse_missing_field_names_case_index(void **state)
{
	(void)state;
	const char *fields[] = { "case_id", "method", "endpoint", "actor_id" };
	for (size_t i = 0; i < 4; i++) {
		gw_buf c = GW_BUF_INIT;
		gw_buf_puts(&c, "{");
		for (size_t k = 0; k < 4; k++)
			if (k != i)
				gw_buf_printf(&c, "\"%s\":\"/v\",", fields[k]);
		gw_buf_puts(&c, "\"expected\":{\"outcome\":\"success\",\"status_code\":200,\"response_body\":{}}}");
		char *t = with_second_case(c.data);
		gw_err err;
		assert_int_equal(parse_text(t, &err), -EINVAL);
		assert_int_equal(err.exit_code, GW_EXIT_DATAERR);
		ut_assert_contains(err.msg, "invalid fixture t.json: case index 1 (line 1): missing field `");
		ut_assert_contains(err.msg, fields[i]);
		free(t);
		gw_buf_free(&c);
	}
	expect_case_error("{\"case_id\":\"c2\",\"method\":\"GET\",\"endpoint\":\"/x\",\"actor_id\":\"a\"}",
	    "case index 1 (line 1): missing field `expected`");
	expect_case_error("{\"case_id\":\"c2\",\"method\":\"GET\",\"endpoint\":\"/x\",\"actor_id\":\"a\","
	    "\"expected\":{\"outcome\":\"success\",\"response_body\":{}}}",
	    "case index 1 (line 1): missing field `expected.status_code`");
	expect_fixture_error("{\"name\":\"t\",\"cases\":[" OK_CASE("c1") "]}",
	    "missing field `schema_version`");
	expect_fixture_error("{\"schema_version\":1,\"cases\":[" OK_CASE("c1") "]}",
	    "missing field `name`");
	expect_fixture_error("{\"schema_version\":1,\"name\":\"t\"}", "missing field `cases`");
}

static void
test_parse_missing_field_reports_line(void **state)
{
	(void)state;
	gw_err err;
	const char *t = "{\n  \"schema_version\": 1,\n  \"name\": \"t\",\n  \"cases\": [\n"
	    "    {\"case_id\": \"c\", \"method\": \"GET\", \"endpoint\": \"/x\",\n"
	    "     \"expected\": {\"outcome\": \"success\", \"status_code\": 200, \"response_body\": {}}}\n  ]\n}";
	assert_int_equal(parse_text(t, &err), -EINVAL);
	assert_string_equal(err.msg,
	    "invalid fixture t.json: case index 0 (line 5): missing field `actor_id`");
}

static void
test_parse_wrong_types(void **state)
{
	(void)state;
	expect_case_error("{\"case_id\":\"c2\",\"method\":5,\"endpoint\":\"/x\",\"actor_id\":\"a\","
	    "\"expected\":{\"outcome\":\"success\",\"status_code\":200,\"response_body\":{}}}",
	    "case index 1 (line 1): field `method` must be a string");
	expect_case_error("{\"case_id\":\"c2\",\"method\":\"GET\",\"endpoint\":\"/x\",\"actor_id\":\"a\","
	    "\"expected\":{\"outcome\":\"success\",\"status_code\":\"200\",\"response_body\":{}}}",
	    "case index 1 (line 1): field `expected.status_code` must be an integer from 0 to 65535");
	expect_case_error("{\"case_id\":\"c2\",\"method\":\"GET\",\"endpoint\":\"/x\",\"actor_id\":\"a\","
	    "\"expected\":{\"outcome\":\"success\",\"status_code\":70000,\"response_body\":{}}}",
	    "case index 1 (line 1): field `expected.status_code` must be an integer from 0 to 65535");
	expect_case_error("{\"case_id\":\"c2\",\"method\":\"GET\",\"endpoint\":\"/x\",\"actor_id\":\"a\","
	    "\"simulate_retryable_failure\":\"yes\",\"expected\":{\"outcome\":\"success\",\"status_code\":200,"
	    "\"response_body\":{}}}",
	    "case index 1 (line 1): field `simulate_retryable_failure` must be a boolean");
	expect_case_error("{\"case_id\":\"c2\",\"method\":\"GET\",\"endpoint\":\"/x\",\"actor_id\":\"a\","
	    "\"expected\":[]}",
	    "case index 1 (line 1): field `expected` must be an object");
	expect_case_error("\"not a case\"", "case index 1 (line 1): must be an object");
	expect_fixture_error("{\"schema_version\":\"1\",\"name\":\"t\",\"cases\":[" OK_CASE("c1") "]}",
	    "field `schema_version` must be a non-negative integer");
	expect_fixture_error("{\"schema_version\":1,\"name\":7,\"cases\":[" OK_CASE("c1") "]}",
	    "field `name` must be a string");
	expect_fixture_error("{\"schema_version\":1,\"name\":\"t\",\"cases\":{}}",
	    "field `cases` must be an array");
}

static void
test_parse_unknown_outcome_variant(void **state)
{
	(void)state;
	expect_case_error("{\"case_id\":\"c2\",\"method\":\"GET\",\"endpoint\":\"/x\",\"actor_id\":\"a\","
	    "\"expected\":{\"outcome\":\"foo\",\"status_code\":200,\"response_body\":{}}}",
	    "case index 1 (line 1): unknown variant `foo`, expected one of `success`, `malformed_input`, `retryable_failure`");
}

static void
test_parse_truncated_json_is_clean_error(void **state)
{
	(void)state;
	char *full = with_second_case(OK_CASE("c2"));
	size_t n = strlen(full);
	/* every prefix of a valid fixture is rejected cleanly */
	for (size_t cut = 0; cut < n; cut++) {
		gw_fixture *f = NULL;
		gw_err err;
		gw_err_clear(&err);
		int rc = gw_fixture_parse("t.json", full, cut, &f, &err);
		assert_int_equal(rc, -EINVAL);
		assert_null(f);
		assert_int_equal(err.exit_code, GW_EXIT_DATAERR);
		ut_assert_contains(err.msg, "invalid fixture t.json");
	}
	free(full);
}

static void
test_parse_not_json(void **state)
{
	(void)state;
	gw_err err;
	const char *bad[] = { "", "hello", "[]", "42", "{", "{\"schema_version\" 1}", "\xff\xfe" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(parse_text(bad[i], &err), -EINVAL);
		assert_int_equal(err.exit_code, GW_EXIT_DATAERR);
		ut_assert_contains(err.msg, "invalid fixture t.json: ");
	}
	assert_int_equal(parse_text("hello", &err), -EINVAL);
	assert_string_equal(err.msg,
	    "invalid fixture t.json: invalid JSON at line 1 column 1: expected an object");
}

static void
test_parse_trailing_garbage(void **state)
{
	(void)state;
	char *t = with_second_case(OK_CASE("c2"));
	gw_buf b = GW_BUF_INIT;
	gw_buf_printf(&b, "%s\n x", t);
	gw_err err;
	assert_int_equal(parse_text(b.data, &err), -EINVAL);
	assert_string_equal(err.msg,
	    "invalid fixture t.json: invalid JSON at line 2 column 2: trailing characters");
	/* trailing whitespace is fine */
	gw_buf_reset(&b);
	gw_buf_printf(&b, "%s\n\n  \t\n", t);
	assert_int_equal(parse_text(b.data, &err), 0);
	gw_buf_free(&b);
	free(t);
}

static void
test_parse_nul_byte(void **state)
{
	(void)state;
	const char text[] = "{\"schema_version\":1,\0\"name\":\"t\"}";
	gw_fixture *f;
	gw_err err;
	assert_int_equal(gw_fixture_parse("t.json", text, sizeof(text) - 1, &f, &err), -EINVAL);
	assert_string_equal(err.msg, "invalid fixture t.json: file contains a NUL byte");
}

static char *
deep(size_t levels, char open, char close)
{
	gw_buf b = GW_BUF_INIT;
	for (size_t i = 0; i < levels; i++)
		gw_buf_putc(&b, open);
	for (size_t i = 0; i < levels; i++)
		gw_buf_putc(&b, close);
	return gw_buf_detach(&b);
}

static void
test_case_nested_10000_levels_is_clean_error(void **state)
{
	(void)state;
	char *d = deep(10000, '[', ']');
	gw_buf c = GW_BUF_INIT;
	gw_buf_printf(&c, "{\"case_id\":\"c2\",\"method\":\"GET\",\"endpoint\":\"/x\",\"actor_id\":\"a\","
	    "\"body\":%s,\"expected\":{\"outcome\":\"success\",\"status_code\":200,\"response_body\":{}}}", d);
	char *t = with_second_case(c.data);
	gw_err err;
	assert_int_equal(parse_text(t, &err), -EINVAL);
	assert_int_equal(err.exit_code, GW_EXIT_DATAERR);
	ut_assert_contains(err.msg, "invalid fixture t.json: ");
	ut_assert_contains(err.msg, "nested too deeply");
	free(t);
	gw_buf_free(&c);
	free(d);
	/* a case that is itself 10,000 objects deep, and a whole file that is */
	gw_buf o = GW_BUF_INIT;
	gw_buf_puts(&o, "{\"schema_version\":1,\"name\":\"t\",\"cases\":[");
	for (int i = 0; i < 10000; i++)
		gw_buf_puts(&o, "{\"a\":");
	gw_buf_puts(&o, "1");
	for (int i = 0; i < 10000; i++)
		gw_buf_putc(&o, '}');
	gw_buf_puts(&o, "]}");
	assert_int_equal(parse_text(o.data, &err), -EINVAL);
	ut_assert_contains(err.msg, "nested too deeply");
	gw_buf_free(&o);
	d = deep(10000, '[', ']');
	assert_int_equal(parse_text(d, &err), -EINVAL);
	ut_assert_contains(err.msg, "invalid fixture t.json: ");
	free(d);
}

static void
test_unknown_fields_are_ignored(void **state)
{
	(void)state;
	const char *t = "{\"schema_version\":1,\"extra\":{\"deep\":[1,{\"x\":null}]},\"name\":\"t\","
	    "\"description\":\"d\",\"cases\":[{\"case_id\":\"c\",\"zzz\":[true],\"method\":\"GET\","
	    "\"endpoint\":\"/x\",\"actor_id\":\"a\",\"expected\":{\"note\":\"n\",\"outcome\":\"success\","
	    "\"status_code\":200,\"response_body\":{}}}],\"trailer\":7}";
	gw_fixture *f;
	gw_err err;
	assert_int_equal(gw_fixture_parse("t.json", t, strlen(t), &f, &err), 0);
	assert_int_equal(gw_fixture_count(f), 1);
	assert_string_equal(gw_fixture_name(f), "t");
	gw_fixture_free(f);
}

/* ---- repeated keys and case keys ------------------------------------------- */

/* Two `cases` arrays used to be run both, and a case_id repeated across
 * them went unnoticed: any repeated top-level key is refused, naming it and
 * both lines; keys compare decoded ("case\u0073" is `cases`). */
static void
test_duplicate_top_level_key_rejected(void **state)
{
	(void)state;
	expect_fixture_error("{\"schema_version\":1,\"name\":\"t\",\n\"cases\":[" OK_CASE("c1") "],\n"
	    "\"cases\":[" OK_CASE("c2") "]}",
	    "duplicate top-level key `cases` at line 3 (first at line 2)");
	expect_fixture_error("{\"schema_version\":1,\"name\":\"t\",\"cases\":[" OK_CASE("c1") "],"
	    "\"case\\u0073\":[" OK_CASE("c1") "]}",
	    "duplicate top-level key `cases` at line 1 (first at line 1)");
	expect_fixture_error("{\"name\":\"a\",\"schema_version\":1,\"name\":\"b\",\"cases\":[" OK_CASE("c1")
	    "]}", "duplicate top-level key `name` at line 1 (first at line 1)");
	expect_fixture_error("{\"schema_version\":1,\"description\":\"\",\"name\":\"t\",\"description\":\"\","
	    "\"cases\":[" OK_CASE("c1") "]}",
	    "duplicate top-level key `description` at line 1 (first at line 1)");
}

/* cJSON keeps a repeated member as a sibling and lookups see the first:
 * a case naming two case_ids (or an expected block two outcomes) is refused. */
static void
test_duplicate_case_field_rejected(void **state)
{
	(void)state;
	expect_case_error("{\"case_id\":\"c2\",\"case_id\":\"c1\",\"method\":\"GET\",\"endpoint\":\"/x\","
	    "\"actor_id\":\"a\",\"expected\":{\"outcome\":\"success\",\"status_code\":200,"
	    "\"response_body\":{}}}",
	    "case index 1 (line 1): duplicate field `case_id`");
	expect_case_error("{\"case_id\":\"c2\",\"method\":\"GET\",\"endpoint\":\"/x\",\"actor_id\":\"a\","
	    "\"expected\":{\"outcome\":\"success\",\"status_code\":200,\"outcome\":\"malformed_input\","
	    "\"response_body\":{}}}",
	    "case index 1 (line 1): duplicate field `expected.outcome`");
	/* unknown fields may repeat: they are ignored */
	gw_err err;
	char *t = with_second_case("{\"case_id\":\"c2\",\"x\":1,\"x\":2,\"method\":\"GET\",\"endpoint\":\"/x\","
	    "\"actor_id\":\"a\",\"expected\":{\"outcome\":\"malformed_input\",\"status_code\":400,"
	    "\"error_code\":\"gateway_invalid_request\",\"response_body\":{}}}");
	assert_int_equal(parse_text(t, &err), 0);
	free(t);
}

/* Case keys escape '%' and ':' in each part, so distinct cases never share
 * a key; parts without them read as before.  The legacy form is the
 * unescaped join. */
static void
test_case_key_escapes_parts(void **state)
{
	(void)state;
	static const struct {
		const char *m, *e, *id, *key, *legacy;
	} t[] = {
		{ " post ", " /v1/tasks ", " c1 ", "POST:/v1/tasks:c1", "POST:/v1/tasks:c1" },
		{ "GET", "/a", "b:c", "GET:/a:b%3Ac", "GET:/a:b:c" },
		{ "GET", "/a:b", "c", "GET:/a%3Ab:c", "GET:/a:b:c" },
		{ "GET", "/p", "5%", "GET:/p:5%25", "GET:/p:5%" },
		{ "GET", "/p", "5%3A", "GET:/p:5%253A", "GET:/p:5%3A" },
		{ "GE:T", "/", "::", "GE%3AT:/:%3A%3A", "GE:T:/:::" },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		gw_buf b = GW_BUF_INIT;
		gw_case_key(&b, t[i].m, t[i].e, t[i].id, false);
		assert_string_equal(gw_buf_cstr(&b), t[i].key);
		gw_buf_reset(&b);
		gw_case_key(&b, t[i].m, t[i].e, t[i].id, true);
		assert_string_equal(gw_buf_cstr(&b), t[i].legacy);
		gw_buf_free(&b);
	}
	/* the fixture's keys are these */
	const char *text = "{\"schema_version\":1,\"name\":\"t\",\"cases\":["
	    "{\"case_id\":\"b:c\",\"method\":\"GET\",\"endpoint\":\"/a\",\"actor_id\":\"a\","
	    "\"expected\":{\"outcome\":\"success\",\"status_code\":200,\"response_body\":{}}},"
	    "{\"case_id\":\"c\",\"method\":\"GET\",\"endpoint\":\"/a:b\",\"actor_id\":\"a\","
	    "\"expected\":{\"outcome\":\"success\",\"status_code\":200,\"response_body\":{}}}]}";
	gw_fixture *f;
	gw_err err;
	assert_int_equal(gw_fixture_parse("t.json", text, strlen(text), &f, &err), 0);
	assert_string_equal(gw_fixture_case(f, 0)->key, "GET:/a:b%3Ac");
	assert_string_equal(gw_fixture_case(f, 1)->key, "GET:/a%3Ab:c");
	gw_fixture_free(f);
}

/* ---- loading the shipped fixtures ------------------------------------------ */

static void
test_load_reference_fixtures(void **state)
{
	(void)state;
	gw_fixture *f;
	gw_err err;
	char *p = ut_fixture("mixed-outcomes.json");
	assert_int_equal(gw_fixture_load(p, &f, &err), 0);
	assert_string_equal(gw_fixture_name(f), "gateway-mixed-outcomes");
	assert_int_equal(gw_fixture_count(f), 3);
	const gw_case *c = gw_fixture_case(f, 0);
	assert_int_equal(c->index, 0);
	assert_string_equal(c->key, "POST:/v1/tasks:gateway-success");
	assert_string_equal(c->expected_body,
	    "{\"actor_id\":\"ops-bot\",\"endpoint\":\"/v1/tasks\",\"method\":\"POST\",\"status\":\"accepted\"}");
	c = gw_fixture_case(f, 2);
	assert_true(c->simulate_retryable_failure);
	assert_int_equal(c->expected_outcome, GW_OUTCOME_RETRYABLE_FAILURE);
	assert_string_equal(c->expected_error_code, "gateway_backend_unavailable");
	gw_fixture_free(f);
	free(p);

	p = ut_fixture("invalid-duplicate-case-id.json");
	assert_int_equal(gw_fixture_load(p, &f, &err), -EINVAL);
	assert_int_equal(err.exit_code, GW_EXIT_DATAERR);
	char want[2048];
	snprintf(want, sizeof(want), "invalid fixture %s: fixture contains duplicate case_id 'duplicate-case'", p);
	assert_string_equal(err.msg, want);
	free(p);

	p = ut_fixture("invalid-error-code.json");
	assert_int_equal(gw_fixture_load(p, &f, &err), -EINVAL);
	snprintf(want, sizeof(want), "invalid fixture %s: fixture case 'gateway-malformed-unsupported-error-code' uses unsupported error_code 'gateway_method_forbidden'", p);
	assert_string_equal(err.msg, want);
	free(p);
}

static void
test_load_missing_file_is_noinput(void **state)
{
	(void)state;
	gw_fixture *f = (gw_fixture *)1;
	gw_err err;
	assert_int_equal(gw_fixture_load("/nonexistent/f.json", &f, &err), -ENOENT);
	assert_null(f);
	assert_int_equal(err.exit_code, GW_EXIT_NOINPUT);
	ut_assert_contains(err.msg, "failed to read fixture /nonexistent/f.json");
}

static void
test_case_key_is_upper_trimmed(void **state)
{
	(void)state;
	const char *t = "{\"schema_version\":1,\"name\":\"t\",\"cases\":[{\"case_id\":\" id \","
	    "\"method\":\" post \",\"endpoint\":\" /x \",\"actor_id\":\"a\",\"expected\":{\"outcome\":"
	    "\"success\",\"status_code\":201,\"response_body\":{\"b\":1,\"a\":{\"d\":2,\"c\":3}}}}]}";
	gw_fixture *f;
	gw_err err;
	assert_int_equal(gw_fixture_parse("t.json", t, strlen(t), &f, &err), 0);
	const gw_case *c = gw_fixture_case(f, 0);
	assert_string_equal(c->key, "POST:/x:id");
	assert_string_equal(c->case_id, " id ");
	assert_string_equal(c->method, " post ");
	assert_string_equal(c->expected_body, "{\"a\":{\"c\":3,\"d\":2},\"b\":1}");
	gw_fixture_free(f);
}

/* ---- §3.3 evaluation ---------------------------------------------------- */

static gw_case
mk_case(const char *method, const char *endpoint, const char *actor, bool simulate)
{
	gw_case c = { 0 };
	c.case_id = "c";
	c.method = method;
	c.endpoint = endpoint;
	c.actor_id = actor;
	c.key = "k";
	c.simulate_retryable_failure = simulate;
	c.expected_error_code = "";
	c.expected_body = "{}";
	return c;
}

static void
eval_expect(gw_case c, gw_outcome o, uint64_t status, const char *code, const char *body)
{
	gw_result r = { 0 };
	gw_case_evaluate(&c, &r);
	assert_int_equal(r.outcome, o);
	assert_int_equal(r.status, status);
	assert_string_equal(r.error_code, code);
	assert_string_equal(gw_buf_cstr(&r.body), body);
	gw_buf_free(&r.body);
}

static void
test_eval_retryable_wins_over_everything(void **state)
{
	(void)state;
	const char *body = "{\"reason\":\"backend_unavailable\",\"status\":\"retryable\"}";
	eval_expect(mk_case("GET", "/x", "a", true), GW_OUTCOME_RETRYABLE_FAILURE, 503,
	    "gateway_backend_unavailable", body);
	eval_expect(mk_case("TRACE", "", "", true), GW_OUTCOME_RETRYABLE_FAILURE, 503,
	    "gateway_backend_unavailable", body);
}

static void
test_eval_unsupported_method(void **state)
{
	(void)state;
	const char *body = "{\"reason\":\"unsupported_method\",\"status\":\"rejected\"}";
	eval_expect(mk_case("TRACE", "/x", "a", false), GW_OUTCOME_MALFORMED_INPUT, 405,
	    "gateway_unsupported_method", body);
	/* checked before the endpoint */
	eval_expect(mk_case("OPTIONS", "", "", false), GW_OUTCOME_MALFORMED_INPUT, 405,
	    "gateway_unsupported_method", body);
}

static void
test_eval_invalid_request(void **state)
{
	(void)state;
	const char *body = "{\"reason\":\"invalid_request\",\"status\":\"rejected\"}";
	eval_expect(mk_case("GET", "", "a", false), GW_OUTCOME_MALFORMED_INPUT, 400,
	    "gateway_invalid_request", body);
	eval_expect(mk_case("GET", "   ", "a", false), GW_OUTCOME_MALFORMED_INPUT, 400,
	    "gateway_invalid_request", body);
	eval_expect(mk_case("GET", "v1/x", "a", false), GW_OUTCOME_MALFORMED_INPUT, 400,
	    "gateway_invalid_request", body);
	eval_expect(mk_case("GET", "/x", " \t", false), GW_OUTCOME_MALFORMED_INPUT, 400,
	    "gateway_invalid_request", body);
}

static void
test_eval_success_status_by_method(void **state)
{
	(void)state;
	eval_expect(mk_case(" post ", " /v1/x ", " bot ", false), GW_OUTCOME_SUCCESS, 201, "",
	    "{\"actor_id\":\"bot\",\"endpoint\":\"/v1/x\",\"method\":\"POST\",\"status\":\"accepted\"}");
	eval_expect(mk_case("delete", "/x", "a", false), GW_OUTCOME_SUCCESS, 202, "",
	    "{\"actor_id\":\"a\",\"endpoint\":\"/x\",\"method\":\"DELETE\",\"status\":\"accepted\"}");
	const char *m200[] = { "GET", "PUT", "Patch" };
	for (int i = 0; i < 3; i++) {
		gw_result r = { 0 };
		gw_case c = mk_case(m200[i], "/x", "a", false);
		gw_case_evaluate(&c, &r);
		assert_int_equal(r.outcome, GW_OUTCOME_SUCCESS);
		assert_int_equal(r.status, 200);
		gw_buf_free(&r.body);
	}
	/* strings in the body are JSON-escaped */
	eval_expect(mk_case("GET", "/x\"y", "a\\b", false), GW_OUTCOME_SUCCESS, 200, "",
	    "{\"actor_id\":\"a\\\\b\",\"endpoint\":\"/x\\\"y\",\"method\":\"GET\",\"status\":\"accepted\"}");
}

static void
test_method_and_error_code_tables(void **state)
{
	(void)state;
	const char *ok[] = { "GET", "POST", "PUT", "PATCH", "DELETE" };
	for (int i = 0; i < 5; i++)
		assert_true(gw_method_supported(ok[i]));
	assert_false(gw_method_supported("get"));
	assert_false(gw_method_supported("HEAD"));
	assert_true(gw_error_code_supported("gateway_invalid_request"));
	assert_true(gw_error_code_supported("gateway_unsupported_method"));
	assert_true(gw_error_code_supported("gateway_backend_unavailable"));
	assert_false(gw_error_code_supported("gateway_method_forbidden"));
	assert_string_equal(gw_outcome_name(GW_OUTCOME_MALFORMED_INPUT), "malformed_input");
	assert_string_equal(gw_outcome_debug(GW_OUTCOME_RETRYABLE_FAILURE), "RetryableFailure");
	assert_string_equal(gw_outcome_debug(GW_OUTCOME_SUCCESS), "Success");
}

/* ---- §3.4 contract check -------------------------------------------------- */

static void
check_expect(gw_case c, const char *msg)
{
	gw_result r = { 0 };
	gw_err err;
	gw_err_clear(&err);
	gw_case_evaluate(&c, &r);
	assert_int_equal(gw_case_check(&c, &r, &err), -EPROTO);
	assert_int_equal(err.exit_code, GW_EXIT_FAIL);
	assert_string_equal(err.msg, msg);
	gw_buf_free(&r.body);
}

static void
test_check_messages(void **state)
{
	(void)state;
	gw_case c = mk_case("GET", "/x", "a", false);
	c.expected_outcome = GW_OUTCOME_MALFORMED_INPUT;
	c.expected_status = 400;
	check_expect(c, "case 'c' expected step MalformedInput but observed Success");

	c = mk_case("GET", "/x", "a", false);
	c.expected_status = 201;
	check_expect(c, "case 'c' expected status_code 201 but observed 200");

	c = mk_case("TRACE", "/x", "a", false);
	c.expected_outcome = GW_OUTCOME_MALFORMED_INPUT;
	c.expected_status = 405;
	c.expected_error_code = "gateway_invalid_request";
	check_expect(c, "case 'c' expected error_code 'gateway_invalid_request' but observed "
	    "Some(\"gateway_unsupported_method\")");

	c = mk_case("GET", "/x", "a", false);
	c.expected_status = 200;
	c.expected_body = "{\"status\":\"accepted\"}";
	check_expect(c, "case 'c' expected response_body {\"status\":\"accepted\"} but observed "
	    "{\"actor_id\":\"a\",\"endpoint\":\"/x\",\"method\":\"GET\",\"status\":\"accepted\"}");

	/* a success result carrying an error code */
	c = mk_case("GET", "/x", "a", false);
	c.expected_status = 200;
	gw_result r = { 0 };
	gw_case_evaluate(&c, &r);
	r.error_code = "x";
	gw_err err;
	assert_int_equal(gw_case_check(&c, &r, &err), -EPROTO);
	assert_string_equal(err.msg, "case 'c' expected empty error_code for success but observed Some(\"x\")");
	gw_buf_free(&r.body);
}

static void
test_check_passes_for_reference_fixture_cases(void **state)
{
	(void)state;
	gw_fixture *f;
	gw_err err;
	char *p = ut_fixture("mixed-outcomes.json");
	assert_int_equal(gw_fixture_load(p, &f, &err), 0);
	for (size_t i = 0; i < gw_fixture_count(f); i++) {
		gw_result r = { 0 };
		gw_case_evaluate(gw_fixture_case(f, i), &r);
		assert_int_equal(gw_case_check(gw_fixture_case(f, i), &r, &err), 0);
		gw_buf_free(&r.body);
	}
	gw_fixture_free(f);
	free(p);
}

/* ---- the fast path against the cJSON path -------------------------------- */

/* Case texts the fast path takes and texts it must leave to the slow path
 * (escapes, odd numbers, nested or unsorted bodies, every rule broken). */
#define CASE_HEAD "\"case_id\":\"c2\",\"method\":\"POST\",\"endpoint\":\"/v1/tasks\",\"actor_id\":\"bot\""
#define EXP_OK(body) \
	"\"expected\":{\"outcome\":\"success\",\"status_code\":201,\"response_body\":" body "}"
static const char *const fast_slow_cases[] = {
	"{" CASE_HEAD "," EXP_OK("{\"status\":\"accepted\",\"method\":\"POST\",\"endpoint\":\"/v1/tasks\",\"actor_id\":\"bot\"}") "}",
	" {\n\t\"schema_version\" : 1 ,\r\n" CASE_HEAD ",\"body\":{\"n\":[1,{\"x\":\"\\u00e9\"}]}," EXP_OK("{ \"b\" : \"2\" , \"a\" : \"1\" }") " } ",
	"{\"schema_version\":2," CASE_HEAD "," EXP_OK("{}") "}",
	"{\"schema_version\":1.0," CASE_HEAD "," EXP_OK("{\"a\":\"b\"}") "}",
	"{\"schema_version\":01," CASE_HEAD "," EXP_OK("{\"a\":\"b\"}") "}",
	"{\"schema_version\":-1," CASE_HEAD "," EXP_OK("{\"a\":\"b\"}") "}",
	"{\"schema_version\":4294967297," CASE_HEAD "," EXP_OK("{\"a\":\"b\"}") "}",
	"{" CASE_HEAD ",\"expected\":{\"outcome\":\"success\",\"status_code\":201.0,\"response_body\":{\"a\":\"b\"}}}",
	"{" CASE_HEAD ",\"expected\":{\"outcome\":\"success\",\"status_code\":2e2,\"response_body\":{\"a\":\"b\"}}}",
	"{" CASE_HEAD ",\"expected\":{\"outcome\":\"success\",\"status_code\":70000,\"response_body\":{\"a\":\"b\"}}}",
	"{" CASE_HEAD ",\"expected\":{\"outcome\":\"success\",\"status_code\":199,\"response_body\":{\"a\":\"b\"}}}",
	"{" CASE_HEAD ",\"expected\":{\"outcome\":\"success\",\"status_code\":300,\"response_body\":{\"a\":\"b\"}}}",
	"{" CASE_HEAD ",\"expected\":{\"outcome\":\"success\",\"status_code\":65535,\"response_body\":{\"a\":\"b\"}}}",
	"{" CASE_HEAD ",\"expected\":{\"outcome\":\"success\",\"status_code\":201,\"error_code\":null,\"response_body\":{\"a\":\"b\"}}}",
	"{" CASE_HEAD ",\"expected\":{\"outcome\":\"success\",\"status_code\":201,\"error_code\":\" \",\"response_body\":{\"a\":\"b\"}}}",
	"{" CASE_HEAD ",\"expected\":{\"outcome\":\"success\",\"status_code\":201,\"error_code\":\"x\",\"response_body\":{\"a\":\"b\"}}}",
	"{" CASE_HEAD ",\"simulate_retryable_failure\":true,\"expected\":{\"outcome\":\"retryable_failure\",\"status_code\":503,\"error_code\":\" gateway_backend_unavailable \",\"response_body\":{\"reason\":\"backend_unavailable\",\"status\":\"retryable\"}}}",
	"{" CASE_HEAD ",\"simulate_retryable_failure\":false,\"expected\":{\"outcome\":\"retryable_failure\",\"status_code\":503,\"error_code\":\"gateway_backend_unavailable\",\"response_body\":{\"a\":\"b\"}}}",
	"{" CASE_HEAD ",\"simulate_retryable_failure\":true,\"expected\":{\"outcome\":\"success\",\"status_code\":201,\"response_body\":{\"a\":\"b\"}}}",
	"{" CASE_HEAD ",\"simulate_retryable_failure\":\"true\"," EXP_OK("{\"a\":\"b\"}") "}",
	"{" CASE_HEAD ",\"expected\":{\"outcome\":\"malformed_input\",\"status_code\":405,\"error_code\":\"gateway_unsupported_method\",\"response_body\":{\"reason\":\"unsupported_method\",\"status\":\"rejected\"}}}",
	"{" CASE_HEAD ",\"expected\":{\"outcome\":\"malformed_input\",\"status_code\":399,\"error_code\":\"gateway_invalid_request\",\"response_body\":{\"a\":\"b\"}}}",
	"{" CASE_HEAD ",\"expected\":{\"outcome\":\"malformed_input\",\"status_code\":400,\"error_code\":\"nope\",\"response_body\":{\"a\":\"b\"}}}",
	"{" CASE_HEAD ",\"expected\":{\"outcome\":\"malformed_input\",\"status_code\":400,\"response_body\":{\"a\":\"b\"}}}",
	"{" CASE_HEAD ",\"expected\":{\"outcome\":\"sideways\",\"status_code\":201,\"response_body\":{\"a\":\"b\"}}}",
	"{" CASE_HEAD ",\"expected\":{\"outcome\":\"success\",\"status_code\":201}}",
	"{" CASE_HEAD ",\"expected\":{\"outcome\":\"success\",\"status_code\":201,\"response_body\":[]}}",
	"{" CASE_HEAD ",\"expected\":{\"outcome\":\"success\",\"status_code\":201,\"response\\u005fbody\":{\"a\":\"b\"}}}",
	"{" CASE_HEAD "," EXP_OK("{\"a\":1,\"b\":{\"c\":true},\"d\":null}") "}",
	"{" CASE_HEAD "," EXP_OK("{\"a\":\"1\",\"a\":\"2\"}") "}",
	"{" CASE_HEAD "," EXP_OK("{\"ab\":\"1\",\"a\":\"2\",\"\xc3\xa9\":\"\xc3\xa9\",\"A\":\"\\\"q\\\"\"}") "}",
	"{" CASE_HEAD ",\"body\":null," EXP_OK("{\"a\":\"b\"}") "}",
	"{" CASE_HEAD ",\"body\":[1]," EXP_OK("{\"a\":\"b\"}") "}",
	"{" CASE_HEAD ",\"body\":{\"n\":01}," EXP_OK("{\"a\":\"b\"}") "}",
	"{" CASE_HEAD ",\"body\":{\"n\":1," EXP_OK("{\"a\":\"b\"}") "}",
	"{" CASE_HEAD ",\"x\":1," EXP_OK("{\"a\":\"b\"}") "}",
	"{" CASE_HEAD ",\"case_id\":\"c3\"," EXP_OK("{\"a\":\"b\"}") "}",
	"{" CASE_HEAD " " EXP_OK("{\"a\":\"b\"}") "}",
	"{" CASE_HEAD "," EXP_OK("{\"a\":\"b\"}") ",}",
	"{\"case_id\":\"c\\u0032\",\"method\":\" post \",\"endpoint\":\" /a:b%c \",\"actor_id\":\" \"," EXP_OK("{\"a\":\"b\"}") "}",
	"{\"case_id\":\"c1\",\"method\":\"POST\",\"endpoint\":\"/x\",\"actor_id\":\"bot\"," EXP_OK("{\"a\":\"b\"}") "}",
	"{\"case_id\":\" \",\"method\":\"POST\",\"endpoint\":\"/x\",\"actor_id\":\"bot\"," EXP_OK("{\"a\":\"b\"}") "}",
	"{\"case_id\":\"c2\",\"method\":\"FOO\",\"endpoint\":\"/x\",\"actor_id\":\"bot\"," EXP_OK("{\"a\":\"b\"}") "}",
	"{\"case_id\":\"c2\",\"method\":\"GET\",\"endpoint\":\"/x\"," EXP_OK("{\"a\":\"b\"}") "}",
	"{\"case_id\":\"c\t2\",\"method\":\"GET\",\"endpoint\":\"/x\",\"actor_id\":\"bot\"," EXP_OK("{\"a\":\"b\"}") "}",
	"{\"case_id\":2,\"method\":\"GET\",\"endpoint\":\"/x\",\"actor_id\":\"bot\"," EXP_OK("{\"a\":\"b\"}") "}",
	"{}",
	"[]",
	"{" CASE_HEAD "," EXP_OK("{\"a\":\"b\"}"),
};

static void
assert_same_case(const gw_case *a, const gw_case *b)
{
	assert_int_equal(a->index, b->index);
	assert_string_equal(a->case_id, b->case_id);
	assert_string_equal(a->method, b->method);
	assert_string_equal(a->endpoint, b->endpoint);
	assert_string_equal(a->actor_id, b->actor_id);
	assert_string_equal(a->key, b->key);
	assert_int_equal(a->simulate_retryable_failure, b->simulate_retryable_failure);
	assert_int_equal(a->expected_outcome, b->expected_outcome);
	assert_int_equal(a->expected_status, b->expected_status);
	assert_string_equal(a->expected_error_code, b->expected_error_code);
	assert_string_equal(a->expected_body, b->expected_body);
}

/* Parses text both ways: same result, same message, same cases.  Returns
 * how many cases the fast path took (0 when the parse failed). */
static size_t
parse_both_ways(const char *text, size_t len)
{
	gw_fixture *ff = NULL, *fs = NULL;
	gw_err ef, es;
	gw_err_clear(&ef);
	gw_err_clear(&es);
	int rf = gw_fixture_parse("t.json", text, len, &ff, &ef);
	int rs = gw_fixture_parse_slow("t.json", text, len, &fs, &es);
	assert_int_equal(rf, rs);
	if (rf != 0) {
		assert_int_equal(ef.exit_code, es.exit_code);
		assert_string_equal(ef.msg, es.msg);
		return 0;
	}
	assert_int_equal(gw_fixture_fast_count(fs), 0);
	assert_int_equal(gw_fixture_count(ff), gw_fixture_count(fs));
	for (size_t i = 0; i < gw_fixture_count(ff); i++)
		assert_same_case(gw_fixture_case(ff, i), gw_fixture_case(fs, i));
	size_t fast = gw_fixture_fast_count(ff);
	gw_fixture_free(ff);
	gw_fixture_free(fs);
	return fast;
}

static void
test_fast_path_matches_slow_path(void **state)
{
	(void)state;
	size_t n = sizeof(fast_slow_cases) / sizeof(fast_slow_cases[0]);
	size_t fast_total = 0, accepted = 0;
	for (size_t i = 0; i < n; i++) {
		/* the case as index 1 after a plain case, and as the only case */
		char *text = with_second_case(fast_slow_cases[i]);
		size_t fast = parse_both_ways(text, strlen(text));
		fast_total += fast;
		accepted += fast > 0;
		free(text);
		gw_buf b = GW_BUF_INIT;
		gw_buf_printf(&b, "{\"schema_version\":1,\"name\":\"t\",\"cases\":[%s]}",
		    fast_slow_cases[i]);
		fast_total += parse_both_ways(b.data, b.len);
		gw_buf_free(&b);
	}
	/* the plain cases above went the fast way (so this compared it) */
	assert_true(accepted >= 8);
	assert_true(fast_total >= 16);
}

/* The reference fixtures and the bench's generator output: every case is
 * taken by the fast path and reads the same as through cJSON. */
static void
test_fast_path_takes_plain_fixtures(void **state)
{
	(void)state;
	const char *names[] = { "mixed-outcomes.json", "rollout-pass.json",
		"invalid-duplicate-case-id.json", "invalid-error-code.json" };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		gw_buf path = GW_BUF_INIT, text = GW_BUF_INIT;
		gw_buf_printf(&path, "%s/fixtures/gateway-contract/%s", TAU_SOURCE_DIR, names[i]);
		FILE *fp = fopen(gw_buf_cstr(&path), "rb");
		assert_non_null(fp);
		char chunk[4096];
		size_t got;
		while ((got = fread(chunk, 1, sizeof(chunk), fp)) > 0)
			gw_buf_append(&text, chunk, got);
		fclose(fp);
		parse_both_ways(gw_buf_cstr(&text), text.len);
		gw_fixture *f = NULL;
		gw_err err;
		if (gw_fixture_parse("t.json", gw_buf_cstr(&text), text.len, &f, &err) == 0) {
			assert_int_equal(gw_fixture_fast_count(f), gw_fixture_count(f));
			gw_fixture_free(f);
		}
		gw_buf_free(&path);
		gw_buf_free(&text);
	}
}

/* Whole documents around plain cases: a broken array after them, a
 * repeated `cases`, members after the array.  Both paths must report the
 * same (the top-level scan's message for an unbalanced array, even when
 * the fast path read the cases before it). */
static void
test_fast_path_keeps_top_level_errors(void **state)
{
	(void)state;
#define TOP "{\"schema_version\":1,\"name\":\"t\","
	static const char *const docs[] = {
		TOP "\"cases\":[" OK_CASE("c1") "," OK_CASE("c2") "]}",
		TOP "\"cases\" :\n [ " OK_CASE("c1") " ,\n" OK_CASE("c2") " ] , \"x\":{\"y\":[1]}}",
		TOP "\"cases\":[" OK_CASE("c1") "," OK_CASE("c1") "]}",
		TOP "\"cases\":[" OK_CASE("c1") "," OK_CASE("c1") "," OK_CASE("c3") "}]}",
		TOP "\"cases\":[" OK_CASE("c1") "," OK_CASE("c2") "," "{\"case_id\":\"c\x01\"}]}",
		TOP "\"cases\":[" OK_CASE("c1") "," OK_CASE("c2") "," "{\"case_id\":\"c3]}",
		TOP "\"cases\":[" OK_CASE("c1") "," OK_CASE("c2") "," "{\"case_id\":[}]}",
		TOP "\"cases\":[" OK_CASE("c1") " " OK_CASE("c2") "]}",
		TOP "\"cases\":[" OK_CASE("c1") "," OK_CASE("c2") ",]}",
		TOP "\"cases\":[" OK_CASE("c1") "," OK_CASE("c2"),
		TOP "\"cases\":[" OK_CASE("c1") "],\"cases\":[" OK_CASE("c2") "]}",
		TOP "\"cases\":[" OK_CASE("c1") "],\"cases\":[" OK_CASE("c2") "}",
		TOP "\"cases\":[" OK_CASE("c1") "] \"x\":1}",
		TOP "\"cases\":[" OK_CASE("c1") "]} x",
		TOP "\"cases\":[]}",
		TOP "\"cases\":[" OK_CASE("c1") ",1]}",
		"{\"cases\":[" OK_CASE("c1") "],\"schema_version\":2,\"name\":\"t\"}",
		"{\"cases\":[" OK_CASE("c1") "," OK_CASE("c1") "],\"name\":\" \",\"schema_version\":1}",
	};
#undef TOP
	size_t fast = 0;
	for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++)
		fast += parse_both_ways(docs[i], strlen(docs[i]));
	assert_true(fast >= 4);
}

/* A byte that ends or spoils a string (a quote, a backslash escape, a
 * control byte) at every place within the first 24 bytes of a string
 * value and of a key: both paths agree (the fast path scans strings a word
 * at a time; catches a word test that misses one of them). */
static void
test_fast_path_string_bytes_at_every_place(void **state)
{
	(void)state;
	static const char *const spoilers[] = { "\\\"", "\\n", "\x01", "\t", "\n", "\x1f", "\"" };
	for (size_t s = 0; s < sizeof(spoilers) / sizeof(spoilers[0]); s++) {
		for (size_t at = 0; at <= 24; at++) {
			for (int in_key = 0; in_key < 2; in_key++) {
				char id[64];
				snprintf(id, sizeof(id), "%.*s%s%.*s", (int)at, "abcdefghijklmnopqrstuvwxyz",
				    spoilers[s], (int)(24 - at), "ABCDEFGHIJKLMNOPQRSTUVWXYZ");
				gw_buf b = GW_BUF_INIT;
				gw_buf_printf(&b, "{\"schema_version\":1,\"name\":\"t\",\"cases\":["
				    "{\"case_id\":\"%s\",\"method\":\"GET\",\"endpoint\":\"/x\","
				    "\"actor_id\":\"a\",\"expected\":{\"outcome\":\"success\","
				    "\"status_code\":200,\"response_body\":{\"%s\":\"v\"}}}]}",
				    in_key ? "c1" : id, in_key ? id : "k");
				parse_both_ways(b.data, b.len);
				gw_buf_free(&b);
			}
		}
	}
}

/* Enough cases to grow the duplicate table a few times: a late case
 * repeating an early case_id (after trimming) is still caught. */
static void
test_duplicate_case_id_in_large_fixture(void **state)
{
	(void)state;
	for (int dup = 0; dup < 2; dup++) {
		gw_buf b = GW_BUF_INIT;
		gw_buf_puts(&b, "{\"schema_version\":1,\"name\":\"t\",\"cases\":[");
		for (int i = 0; i < 5000; i++) {
			char id[32];
			snprintf(id, sizeof(id), dup && i == 4999 ? " c%d " : "c%d", dup && i == 4999 ? 7 : i);
			gw_buf_printf(&b, "%s{\"case_id\":\"%s\",\"method\":\"GET\",\"endpoint\":\"/x\","
			    "\"actor_id\":\"a\",\"expected\":{\"outcome\":\"success\",\"status_code\":200,"
			    "\"response_body\":{\"actor_id\":\"a\",\"endpoint\":\"/x\",\"method\":\"GET\","
			    "\"status\":\"accepted\"}}}", i ? "," : "", id);
		}
		gw_buf_puts(&b, "]}");
		gw_err err;
		gw_fixture *f = NULL;
		gw_err_clear(&err);
		int rc = gw_fixture_parse("t.json", b.data, b.len, &f, &err);
		if (dup) {
			assert_int_equal(rc, -EINVAL);
			assert_string_equal(err.msg, "invalid fixture t.json: fixture contains duplicate case_id ' c7 '");
		} else {
			assert_int_equal(rc, 0);
			assert_int_equal(gw_fixture_count(f), 5000);
			assert_int_equal(gw_fixture_fast_count(f), 5000);
			gw_fixture_free(f);
		}
		parse_both_ways(b.data, b.len);
		gw_buf_free(&b);
	}
}

/* The duplicate check runs after the array, over the cases before the
 * first that failed validation: a duplicate before that case is the
 * failure reported, one after it is not (catches a check that lets a later
 * validation failure or a later duplicate win). */
static void
test_duplicate_and_validation_failure_order(void **state)
{
	(void)state;
#define BAD_METHOD(id) \
	"{\"case_id\":\"" id "\",\"method\":\" \",\"endpoint\":\"/x\",\"actor_id\":\"a\"," \
	"\"expected\":{\"outcome\":\"success\",\"status_code\":200,\"response_body\":{}}}"
	/* c1, dup c1, bad: the duplicate (index 1) comes first */
	expect_fixture_error("{\"schema_version\":1,\"name\":\"t\",\"cases\":[" OK_CASE("c1") ","
	    OK_CASE("c1") "," BAD_METHOD("c2") "]}",
	    "fixture contains duplicate case_id 'c1'");
	/* c1, bad, dup c1: the failed validation (index 1) comes first */
	expect_fixture_error("{\"schema_version\":1,\"name\":\"t\",\"cases\":[" OK_CASE("c1") ","
	    BAD_METHOD("c2") "," OK_CASE("c1") "]}",
	    "fixture case 'c2' has empty method");
	/* the first duplicate wins over a later one */
	expect_fixture_error("{\"schema_version\":1,\"name\":\"t\",\"cases\":[" OK_CASE("c1") ","
	    OK_CASE("c2") "," OK_CASE("c2") "," OK_CASE("c1") "]}",
	    "fixture contains duplicate case_id 'c2'");
#undef BAD_METHOD
}

/* A fixture file is mapped when it is a regular file: loading it gives
 * exactly what parsing its bytes gives, also when its size is a multiple
 * of the page size (nothing past the file is read) and when it ends early
 * (the error names the same line and column); a FIFO is read as before. */
static void
test_load_file_matches_parse(void **state)
{
	(void)state;
	char *dir = ut_tmpdir();
	char *p = ut_join(dir, "f.json");
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	for (int pass = 0; pass < 3; pass++) {
		gw_buf b = GW_BUF_INIT;
		gw_buf_puts(&b, "{\"schema_version\":1,\"name\":\"t\",\"cases\":[");
		for (int i = 0; b.len < page * 2 - 600; i++) {
			char id[32];
			snprintf(id, sizeof(id), "c%d", i);
			gw_buf_printf(&b, "%s{\"case_id\":\"%s\",\"method\":\"GET\",\"endpoint\":\"/x\","
			    "\"actor_id\":\"a\",\"expected\":{\"outcome\":\"success\",\"status_code\":200,"
			    "\"response_body\":{}}}", i ? "," : "", id);
		}
		while (b.len < page * 2 - 2) /* exactly two pages, ending in "]}" */
			gw_buf_putc(&b, pass == 1 ? '\n' : ' ');
		gw_buf_puts(&b, "]}");
		assert_int_equal(b.len, page * 2);
		if (pass == 2) /* cut inside the last case: invalid JSON */
			b.data[b.len = page * 2 - 300] = '\0';
		ut_write(p, b.data);
		gw_fixture *a = NULL, *m = NULL;
		gw_err ea, em;
		gw_err_clear(&ea);
		gw_err_clear(&em);
		int rc = gw_fixture_parse(p, b.data, b.len, &m, &em);
		assert_int_equal(gw_fixture_load(p, &a, &ea), rc);
		if (rc == 0) {
			assert_int_equal(gw_fixture_count(a), gw_fixture_count(m));
			size_t last = gw_fixture_count(a) - 1;
			assert_string_equal(gw_fixture_case(a, last)->key, gw_fixture_case(m, last)->key);
		} else {
			assert_int_equal(pass, 2);
			assert_string_equal(ea.msg, em.msg);
			ut_assert_contains(ea.msg, "invalid JSON at line");
		}
		gw_fixture_free(a);
		gw_fixture_free(m);
		gw_buf_free(&b);
	}
	/* a FIFO: read, not mapped */
	char *fifo = ut_join(dir, "fifo.json");
	assert_int_equal(mkfifo(fifo, 0600), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		FILE *w = fopen(fifo, "w");
		fputs("{\"schema_version\":1,\"name\":\"t\",\"cases\":[" OK_CASE("c1") "]}", w);
		_exit(fclose(w) == 0 ? 0 : 1);
	}
	gw_fixture *f = NULL;
	gw_err err;
	gw_err_clear(&err);
	assert_int_equal(gw_fixture_load(fifo, &f, &err), 0);
	assert_int_equal(gw_fixture_count(f), 1);
	gw_fixture_free(f);
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	free(fifo);
	free(p);
	ut_rmrf(dir);
	free(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rule1_fixture_schema_version_must_be_1),
		cmocka_unit_test(test_rule2_blank_name_rejected),
		cmocka_unit_test(test_rule3_no_cases_rejected),
		cmocka_unit_test(test_fixture_level_rules_win_over_case_rules),
		cmocka_unit_test(test_parse_error_in_later_case_wins_over_validation),
		cmocka_unit_test(test_rule4_1_case_schema_version_names_index),
		cmocka_unit_test(test_rule4_2_blank_case_id_names_index),
		cmocka_unit_test(test_rule4_3_blank_method),
		cmocka_unit_test(test_rule4_4_blank_endpoint),
		cmocka_unit_test(test_rule4_5_body_must_be_object_or_null),
		cmocka_unit_test(test_rule4_6_simulate_requires_retryable_outcome),
		cmocka_unit_test(test_rule4_7_retryable_requires_simulate),
		cmocka_unit_test(test_rule4_8_response_body_must_be_object),
		cmocka_unit_test(test_rule4_9_success_rules),
		cmocka_unit_test(test_rule4_10_non_success_rules),
		cmocka_unit_test(test_rule4_11_duplicate_case_id_after_trim),
		cmocka_unit_test(test_rule5_unsupported_method_for_non_malformed),
		cmocka_unit_test(test_method_rule_runs_after_all_duplicate_checks),
		cmocka_unit_test(test_blank_actor_is_accepted_by_validation),
		cmocka_unit_test(test_parse_missing_field_names_case_index),
		cmocka_unit_test(test_parse_missing_field_reports_line),
		cmocka_unit_test(test_parse_wrong_types),
		cmocka_unit_test(test_parse_unknown_outcome_variant),
		cmocka_unit_test(test_parse_truncated_json_is_clean_error),
		cmocka_unit_test(test_parse_not_json),
		cmocka_unit_test(test_parse_trailing_garbage),
		cmocka_unit_test(test_parse_nul_byte),
		cmocka_unit_test(test_case_nested_10000_levels_is_clean_error),
		cmocka_unit_test(test_unknown_fields_are_ignored),
		cmocka_unit_test(test_duplicate_top_level_key_rejected),
		cmocka_unit_test(test_duplicate_case_field_rejected),
		cmocka_unit_test(test_case_key_escapes_parts),
		cmocka_unit_test(test_load_reference_fixtures),
		cmocka_unit_test(test_load_missing_file_is_noinput),
		cmocka_unit_test(test_case_key_is_upper_trimmed),
		cmocka_unit_test(test_eval_retryable_wins_over_everything),
		cmocka_unit_test(test_eval_unsupported_method),
		cmocka_unit_test(test_eval_invalid_request),
		cmocka_unit_test(test_eval_success_status_by_method),
		cmocka_unit_test(test_method_and_error_code_tables),
		cmocka_unit_test(test_check_messages),
		cmocka_unit_test(test_check_passes_for_reference_fixture_cases),
		cmocka_unit_test(test_fast_path_matches_slow_path),
		cmocka_unit_test(test_fast_path_takes_plain_fixtures),
		cmocka_unit_test(test_fast_path_keeps_top_level_errors),
		cmocka_unit_test(test_duplicate_case_id_in_large_fixture),
		cmocka_unit_test(test_fast_path_string_bytes_at_every_place),
		cmocka_unit_test(test_duplicate_and_validation_failure_order),
		cmocka_unit_test(test_load_file_matches_parse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
