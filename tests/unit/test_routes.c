/*
 * test_routes.c - the routes file and the circuit breaker: lookup by
 * public name, alias and default; the defaults a target gets; a duplicate
 * member, a secret-looking member and unknown members refused with their
 * line and column; the breaker's closed -> open (after N consecutive
 * failures; a success in between resets the count) -> half-open (exactly
 * one probe once the cooldown passed) -> closed or open again, and a probe
 * abandoned without a verdict giving its turn back.
 */
#include "unit.h"

#include "core/openresponses/routes.h"

static gw_routes *
parse_ok(const char *text)
{
	gw_routes *r = NULL;
	gw_err err;
	gw_err_clear(&err);
	int rc = gw_routes_parse(text, strlen(text), "r.json", &r, &err);
	if (rc != 0)
		fail_msg("unexpected error: %s", err.msg);
	return r;
}

static void
parse_bad(const char *text, const char *want)
{
	gw_routes *r = NULL;
	gw_err err;
	gw_err_clear(&err);
	assert_int_equal(gw_routes_parse(text, strlen(text), "r.json", &r, &err), -EINVAL);
	assert_null(r);
	assert_int_equal(err.exit_code, GW_EXIT_DATAERR);
	assert_string_equal(err.msg, want);
}

static void
test_lookup(void **state)
{
	(void)state;
	gw_routes *r = parse_ok("{\"version\":1,\"default\":\"best\",\"routes\":["
	    "{\"model\":\"smart\",\"aliases\":[\"best\",\"top\"],\"targets\":["
	    "{\"provider\":\"openai\",\"model\":\"m\",\"timeout_ms\":5}]},"
	    "{\"model\":\"e\",\"targets\":[{\"provider\":\"local\"}]}]}");
	assert_int_equal(gw_routes_count(r), 2);
	assert_int_equal(gw_routes_find(r, "smart"), 0);
	assert_int_equal(gw_routes_find(r, "top"), 0);
	assert_int_equal(gw_routes_find(r, "e"), 1);
	assert_int_equal(gw_routes_find(r, NULL), 0); /* the default, named by an alias */
	assert_int_equal(gw_routes_find(r, "nope"), -1);
	assert_int_equal(gw_routes_find(r, "Smart"), -1); /* names are exact */
	const gw_routes_route *rt = gw_routes_at(r, 0);
	assert_string_equal(rt->targets[0].spec, "openai/m");
	assert_int_equal(rt->targets[0].timeout_ms, 5);
	assert_int_equal(rt->targets[0].retries, GW_ROUTES_DEFAULT_RETRIES);
	assert_null(rt->targets[0].base_url);
	assert_string_equal(gw_routes_at(r, 1)->targets[0].spec, "local/echo");
	assert_int_equal(gw_routes_breaker_failures(r), GW_ROUTES_DEFAULT_BREAKER_FAILURES);
	assert_int_equal(gw_routes_breaker_cooldown_ms(r), GW_ROUTES_DEFAULT_BREAKER_COOLDOWN_MS);
	gw_routes_free(r);
	r = parse_ok("{\"version\":1,\"routes\":[{\"model\":\"a\",\"targets\":[{\"provider\":\"local\"}]}]}");
	assert_int_equal(gw_routes_find(r, NULL), -1); /* no default */
	assert_null(gw_routes_default(r));
	gw_routes_free(r);
}

static void
test_refusals(void **state)
{
	(void)state;
	parse_bad("{\"version\":1,\"version\":1}", "r.json: line 1 column 14: member \"version\" appears twice");
	parse_bad("{\"version\":1,\n\"token\":\"x\"}",
	    "r.json: line 2 column 1: \"token\": keys never go in the routes file; name the "
	    "environment variable that holds it in a target's api_key_env");
	parse_bad("{\"version\":1,\"routes\":[{\"model\":\"a\",\"colour\":1}]}",
	    "r.json: line 1 column 37: routes[0]: unknown member \"colour\"");
	parse_bad("[1]", "r.json: line 1 column 1: the routes file must be a JSON object");
	parse_bad("{\"version\":1,\"routes\":[{\"model\":\"a\",\"targets\":[{\"provider\":\"openai\"}]}]}",
	    "r.json: line 1 column 48: route \"a\" target 1: missing \"model\"");
	parse_bad("{\"version\":1,\"routes\":[{\"model\":\"a\",\"targets\":[{\"provider\":\"openai\","
	    "\"model\":\"m\",\"base_url\":\"ftp://x\"}]}]}",
	    "r.json: line 1 column 92: route \"a\" target 1: base_url must start with http:// or https://");
	parse_bad("{\"version\":1,\"breaker\":{\"failures\":0},\"routes\":[]}",
	    "r.json: line 1 column 36: breaker: failures must be an integer from 1 to 1000000");
}

static void
test_breaker(void **state)
{
	(void)state;
	gw_routes_breaker b;
	gw_routes_breaker_init(&b, 3, 1000);
	bool probe;
	/* failures must be consecutive */
	gw_routes_breaker_record(&b, false, 0);
	gw_routes_breaker_record(&b, false, 0);
	gw_routes_breaker_record(&b, true, 0);
	gw_routes_breaker_record(&b, false, 0);
	gw_routes_breaker_record(&b, false, 0);
	assert_int_equal(gw_routes_breaker_state(&b), GW_ROUTES_CLOSED);
	assert_true(gw_routes_breaker_allow(&b, 10, &probe));
	assert_false(probe);
	gw_routes_breaker_record(&b, false, 100); /* the third in a row */
	assert_int_equal(gw_routes_breaker_state(&b), GW_ROUTES_OPEN);
	assert_false(gw_routes_breaker_allow(&b, 1099, &probe)); /* cooling down */
	assert_true(gw_routes_breaker_allow(&b, 1100, &probe));
	assert_true(probe);
	assert_int_equal(gw_routes_breaker_state(&b), GW_ROUTES_HALF_OPEN);
	assert_false(gw_routes_breaker_allow(&b, 1100, &probe)); /* one probe at a time */
	gw_routes_breaker_record(&b, false, 1200); /* the probe failed */
	assert_int_equal(gw_routes_breaker_state(&b), GW_ROUTES_OPEN);
	assert_false(gw_routes_breaker_allow(&b, 2199, &probe));
	assert_true(gw_routes_breaker_allow(&b, 2200, &probe));
	gw_routes_breaker_abandon(&b, probe); /* the client went away */
	assert_int_equal(gw_routes_breaker_state(&b), GW_ROUTES_OPEN);
	assert_true(gw_routes_breaker_allow(&b, 2201, &probe)); /* the next one probes */
	assert_true(probe);
	gw_routes_breaker_record(&b, true, 2300);
	assert_int_equal(gw_routes_breaker_state(&b), GW_ROUTES_CLOSED);
	assert_true(gw_routes_breaker_allow(&b, 2300, &probe));
	assert_false(probe);
	assert_string_equal(gw_routes_circuit_name(GW_ROUTES_HALF_OPEN), "half_open");
	gw_routes_breaker_destroy(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lookup),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_breaker),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
