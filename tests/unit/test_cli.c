/*
 * test_cli.c - flag parsing and validation: conflicts, dependent flags
 * without their action, zero thresholds, require-equals booleans, unknown
 * options and missing values (all exit class 64 with one-line messages),
 * environment variables, prompt-line splitting, and the dispatch of
 * non-interactive actions into buffers.
 */
#include "unit.h"

#include "cli/cli.h"

/* Splits line with cli_split and parses it (no environment). */
static int
parse_line(const char *line, bool use_env, cli_config *c, gw_err *err)
{
	int argc;
	char **argv;
	gw_err_clear(err);
	assert_int_equal(cli_split(line, &argc, &argv, err), 0);
	cli_config_init(c);
	int rc = cli_parse(argc, argv, use_env, c, err);
	cli_argv_free(argv);
	return rc;
}

/* Asserts that line is rejected with exactly msg and exit class 64. */
static void
expect_usage(const char *line, const char *msg)
{
	cli_config c;
	gw_err err;
	int rc = parse_line(line, false, &c, &err);
	if (rc != -EINVAL)
		print_error("line [%s] gave rc %d\n", line, rc);
	assert_int_equal(rc, -EINVAL);
	assert_int_equal(err.exit_code, GW_EXIT_USAGE);
	assert_string_equal(err.msg, msg);
	assert_null(strchr(err.msg, '\n'));
	cli_config_free(&c);
}

static void
expect_ok(const char *line, cli_action action, cli_config *c)
{
	gw_err err;
	int rc = parse_line(line, false, c, &err);
	if (rc != 0)
		print_error("line [%s]: %s\n", line, err.msg);
	assert_int_equal(rc, 0);
	assert_int_equal(c->action, action);
}

static void
test_defaults(void **state)
{
	(void)state;
	cli_config c;
	expect_ok("", CLI_ACTION_NONE, &c);
	assert_string_equal(c.state_dir, ".tau/gateway");
	assert_string_equal(c.runner.fixture_path, CLI_DEFAULT_FIXTURE);
	assert_int_equal(c.runner.queue_limit, 64);
	assert_int_equal(c.runner.processed_case_cap, 10000);
	assert_int_equal(c.runner.retry_max_attempts, 4);
	assert_int_equal(c.runner.retry_base_delay_ms, 0);
	assert_int_equal(c.runner.failure_streak_threshold, 2);
	assert_int_equal(c.runner.retryable_failures_threshold, 2);
	assert_false(c.fail_on_hold);
	assert_null(c.channel_root);
	cli_config_free(&c);
}

static void
test_conflicting_actions(void **state)
{
	(void)state;
	expect_usage("--gateway-service-start --gateway-service-stop",
	    "the argument '--gateway-service-start' cannot be used with '--gateway-service-stop'");
	expect_usage("--gateway-service-status --gateway-status-inspect",
	    "the argument '--gateway-service-status' cannot be used with '--gateway-status-inspect'");
	expect_usage("--gateway-status-inspect --transport-health-inspect gateway",
	    "the argument '--gateway-status-inspect' cannot be used with '--transport-health-inspect'");
	expect_usage("--gateway-contract-runner --channel-store-inspect gateway/x",
	    "the argument '--gateway-contract-runner' cannot be used with '--channel-store-inspect'");
}

static void
test_repeated_action_flag_is_not_a_conflict(void **state)
{
	(void)state;
	cli_config c;
	expect_ok("--gateway-service-status --gateway-service-status", CLI_ACTION_SERVICE_STATUS, &c);
	cli_config_free(&c);
	/* many repeats (a prompt line can be long) must not overflow anything */
	gw_buf line = GW_BUF_INIT;
	for (int i = 0; i < 500; i++)
		gw_buf_puts(&line, "--gateway-service-status ");
	expect_ok(line.data, CLI_ACTION_SERVICE_STATUS, &c);
	cli_config_free(&c);
	gw_buf_free(&line);
}

static void
test_dependent_flags_need_their_action(void **state)
{
	(void)state;
	expect_usage("--gateway-status-json", "--gateway-status-json requires --gateway-status-inspect");
	expect_usage("--gateway-status-json=false", "--gateway-status-json requires --gateway-status-inspect");
	expect_usage("--gateway-service-status-json",
	    "--gateway-service-status-json requires --gateway-service-status");
	expect_usage("--gateway-service-stop-reason x",
	    "--gateway-service-stop-reason requires --gateway-service-stop");
	expect_usage("--gateway-fixture f.json", "--gateway-fixture requires --gateway-contract-runner");
	expect_usage("--gateway-service-start --gateway-queue-limit 5",
	    "--gateway-queue-limit requires --gateway-contract-runner");
	expect_usage("--gateway-fail-on-hold", "--gateway-fail-on-hold requires --gateway-contract-runner");
	expect_usage("--gateway-status-inspect --transport-health-json",
	    "--transport-health-json requires --transport-health-inspect");
}

static void
test_zero_thresholds_rejected(void **state)
{
	(void)state;
	expect_usage("--gateway-contract-runner --gateway-guardrail-failure-streak-threshold 0",
	    "invalid value '0' for '--gateway-guardrail-failure-streak-threshold <N>': value must be greater than 0");
	expect_usage("--gateway-contract-runner --gateway-guardrail-retryable-failures-threshold 0",
	    "invalid value '0' for '--gateway-guardrail-retryable-failures-threshold <N>': value must be greater than 0");
	expect_usage("--gateway-contract-runner --gateway-queue-limit 0",
	    "invalid value '0' for '--gateway-queue-limit <N>': value must be greater than 0");
	expect_usage("--gateway-contract-runner --gateway-queue-limit abc",
	    "invalid value 'abc' for '--gateway-queue-limit <N>': expected a non-negative integer");
	expect_usage("--gateway-contract-runner --gateway-queue-limit -1",
	    "invalid value '-1' for '--gateway-queue-limit <N>': expected a non-negative integer");
	expect_usage("--gateway-contract-runner --gateway-queue-limit 99999999999999999999999",
	    "invalid value '99999999999999999999999' for '--gateway-queue-limit <N>': value must be at most 1000000");
}

static void
test_require_equals_booleans(void **state)
{
	(void)state;
	cli_config c;
	expect_ok("--gateway-status-inspect --gateway-status-json", CLI_ACTION_STATUS_INSPECT, &c);
	assert_true(c.status_json);
	cli_config_free(&c);
	expect_ok("--gateway-status-inspect --gateway-status-json=true", CLI_ACTION_STATUS_INSPECT, &c);
	assert_true(c.status_json);
	cli_config_free(&c);
	expect_ok("--gateway-status-inspect --gateway-status-json=false", CLI_ACTION_STATUS_INSPECT, &c);
	assert_false(c.status_json);
	cli_config_free(&c);
	expect_usage("--gateway-status-inspect --gateway-status-json false",
	    "unexpected argument 'false' (see --help)");
	expect_usage("--gateway-status-inspect --gateway-status-json=maybe",
	    "invalid value 'maybe' for '--gateway-status-json': expected true or false");
}

static void
test_unknown_option_and_missing_value(void **state)
{
	(void)state;
	expect_usage("--bogus", "unknown option '--bogus' (see --help)");
	expect_usage("--gateway-status-inspect -x", "unknown option '-x' (see --help)");
	expect_usage("--gateway-state-dir", "option '--gateway-state-dir' requires a value <DIR>");
	expect_usage("--gateway-contract-runner --gateway-fixture",
	    "option '--gateway-fixture' requires a value <FILE>");
	expect_usage("--gateway-service-start=yes", "option '--gateway-service-start' takes no value");
	expect_usage("stray", "unexpected argument 'stray' (see --help)");
}

static void
test_stop_reason_rules(void **state)
{
	(void)state;
	expect_usage("--gateway-service-stop --gateway-service-stop-reason '   '",
	    "--gateway-service-stop-reason cannot be empty or whitespace");
	cli_config c;
	expect_ok("--gateway-service-stop --gateway-service-stop-reason ''", CLI_ACTION_SERVICE_STOP, &c);
	assert_string_equal(c.stop_reason, "");
	cli_config_free(&c);
	expect_ok("--gateway-service-stop --gateway-service-stop-reason 'demo complete'",
	    CLI_ACTION_SERVICE_STOP, &c);
	assert_string_equal(c.stop_reason, "demo complete");
	cli_config_free(&c);
}

static void
test_runner_fixture_checks(void **state)
{
	(void)state;
	cli_config c;
	gw_err err;
	assert_int_equal(parse_line("--gateway-contract-runner --gateway-fixture /nonexistent/f.json",
	    false, &c, &err), -ENOENT);
	assert_int_equal(err.exit_code, GW_EXIT_NOINPUT);
	assert_string_equal(err.msg, "--gateway-fixture '/nonexistent/f.json' does not exist");
	cli_config_free(&c);
	assert_int_equal(parse_line("--gateway-contract-runner --gateway-fixture /tmp", false, &c, &err), -EINVAL);
	assert_string_equal(err.msg, "--gateway-fixture '/tmp' must point to a file");
	cli_config_free(&c);
	char *fx = ut_fixture("rollout-pass.json");
	gw_buf line = GW_BUF_INIT;
	gw_buf_printf(&line, "--gateway-contract-runner --gateway-fixture %s --gateway-queue-limit 3 "
	    "--gateway-processed-case-cap 7 --gateway-retry-max-attempts 2 --gateway-retry-base-delay-ms 0 "
	    "--gateway-guardrail-failure-streak-threshold 5 --gateway-guardrail-retryable-failures-threshold 6 "
	    "--gateway-fail-on-hold", fx);
	expect_ok(line.data, CLI_ACTION_RUNNER, &c);
	assert_int_equal(c.runner.queue_limit, 3);
	assert_int_equal(c.runner.processed_case_cap, 7);
	assert_int_equal(c.runner.retry_max_attempts, 2);
	assert_int_equal(c.runner.failure_streak_threshold, 5);
	assert_int_equal(c.runner.retryable_failures_threshold, 6);
	assert_true(c.fail_on_hold);
	cli_config_free(&c);
	gw_buf_free(&line);
	free(fx);
}

static void
test_transport_health_target(void **state)
{
	(void)state;
	cli_config c;
	expect_ok("--transport-health-inspect ' GateWay '", CLI_ACTION_HEALTH_INSPECT, &c);
	cli_config_free(&c);
	expect_usage("--transport-health-inspect foo",
	    "invalid --transport-health-inspect 'foo', expected slack, github, github:owner/repo, "
	    "multi-channel, multi-agent, memory, dashboard, gateway, deployment, custom-command, or voice");
}

static void
test_help_and_version_win(void **state)
{
	(void)state;
	cli_config c;
	expect_ok("--gateway-service-start --gateway-service-stop --help", CLI_ACTION_HELP, &c);
	cli_config_free(&c);
	expect_ok("--version", CLI_ACTION_VERSION, &c);
	cli_config_free(&c);
	gw_buf b = GW_BUF_INIT;
	cli_usage(&b);
	ut_assert_contains(b.data, "--gateway-queue-limit N");
	ut_assert_contains(b.data, "[default: 64] [range: 1..1000000] [env: TAU_GATEWAY_QUEUE_LIMIT]");
	ut_assert_contains(b.data, "--gateway-status-json[=BOOL]");
	ut_assert_contains(b.data, "[default: .tau/gateway] [env: TAU_GATEWAY_STATE_DIR]");
	gw_buf_free(&b);
}

static void
test_environment_variables(void **state)
{
	(void)state;
	cli_config c;
	gw_err err;
	setenv("TAU_GATEWAY_STATE_DIR", "/tmp/from-env", 1);
	setenv("TAU_GATEWAY_STATUS_INSPECT", "true", 1);
	setenv("TAU_GATEWAY_STATUS_JSON", "true", 1);
	assert_int_equal(parse_line("", true, &c, &err), 0);
	assert_int_equal(c.action, CLI_ACTION_STATUS_INSPECT);
	assert_string_equal(c.state_dir, "/tmp/from-env");
	assert_true(c.status_json);
	cli_config_free(&c);
	/* flags win over the environment */
	assert_int_equal(parse_line("--gateway-state-dir /tmp/flag --gateway-status-json=false", true, &c, &err), 0);
	assert_string_equal(c.state_dir, "/tmp/flag");
	assert_false(c.status_json);
	cli_config_free(&c);
	/* without use_env nothing is read */
	assert_int_equal(parse_line("", false, &c, &err), 0);
	assert_int_equal(c.action, CLI_ACTION_NONE);
	assert_string_equal(c.state_dir, ".tau/gateway");
	cli_config_free(&c);
	/* an action from the environment conflicts with one on the command line */
	assert_int_equal(parse_line("--gateway-service-start", true, &c, &err), -EINVAL);
	assert_int_equal(err.exit_code, GW_EXIT_USAGE);
	assert_string_equal(err.msg, "the argument '--gateway-service-start' cannot be used with "
	    "'--gateway-status-inspect' (from TAU_GATEWAY_STATUS_INSPECT)");
	cli_config_free(&c);
	unsetenv("TAU_GATEWAY_STATUS_INSPECT");
	unsetenv("TAU_GATEWAY_STATUS_JSON");
	/* a bad value names the variable */
	setenv("TAU_GATEWAY_GUARDRAIL_FAILURE_STREAK_THRESHOLD", "0", 1);
	assert_int_equal(parse_line("--gateway-service-status", true, &c, &err), -EINVAL);
	assert_string_equal(err.msg, "environment variable TAU_GATEWAY_GUARDRAIL_FAILURE_STREAK_THRESHOLD: "
	    "invalid value '0' for '--gateway-guardrail-failure-streak-threshold <N>': value must be greater than 0");
	cli_config_free(&c);
	unsetenv("TAU_GATEWAY_GUARDRAIL_FAILURE_STREAK_THRESHOLD");
	/* a switch set to false is no action; empty values are ignored */
	setenv("TAU_GATEWAY_SERVICE_START", "false", 1);
	setenv("TAU_GATEWAY_STATE_DIR", "", 1);
	assert_int_equal(parse_line("--gateway-service-status", true, &c, &err), 0);
	assert_int_equal(c.action, CLI_ACTION_SERVICE_STATUS);
	assert_string_equal(c.state_dir, ".tau/gateway");
	cli_config_free(&c);
	unsetenv("TAU_GATEWAY_SERVICE_START");
	unsetenv("TAU_GATEWAY_STATE_DIR");
}

/* The key and base URL come from the variables of the provider --model
 * names, and only from those. */
static void
test_provider_environment(void **state)
{
	(void)state;
	cli_config c;
	gw_err err;
	setenv("OPENAI_API_KEY", "sk-o", 1);
	setenv("OPENAI_BASE_URL", "http://o.test/v1", 1);
	setenv("ANTHROPIC_API_KEY", "sk-a", 1);
	setenv("ANTHROPIC_BASE_URL", "http://a.test", 1);
	setenv("GOOGLE_API_KEY", "gk", 1);
	unsetenv("GEMINI_API_KEY");
	unsetenv("GOOGLE_GEMINI_BASE_URL");
	assert_int_equal(parse_line("--model anthropic/claude-x", true, &c, &err), 0);
	assert_string_equal(c.server.provider.api_key, "sk-a");
	assert_string_equal(c.server.provider.base_url, "http://a.test");
	assert_true(c.provider_base_url_set);
	cli_config_free(&c);
	assert_int_equal(parse_line("--model openai/m", true, &c, &err), 0);
	assert_string_equal(c.server.provider.api_key, "sk-o");
	assert_string_equal(c.server.provider.base_url, "http://o.test/v1");
	cli_config_free(&c);
	/* GOOGLE_API_KEY when GEMINI_API_KEY is not set; no base URL: the vendor's */
	assert_int_equal(parse_line("--model google/gemini-x", true, &c, &err), 0);
	assert_string_equal(c.server.provider.api_key, "gk");
	assert_null(c.server.provider.base_url);
	assert_false(c.provider_base_url_set);
	cli_config_free(&c);
	setenv("GEMINI_API_KEY", "gm", 1);
	assert_int_equal(parse_line("--model google/gemini-x --provider-base-url http://flag.test", true, &c,
	    &err), 0);
	assert_string_equal(c.server.provider.api_key, "gm");
	assert_string_equal(c.server.provider.base_url, "http://flag.test");
	cli_config_free(&c);
	/* local/echo reads no key */
	assert_int_equal(parse_line("", true, &c, &err), 0);
	assert_null(c.server.provider.api_key);
	cli_config_free(&c);
	unsetenv("OPENAI_API_KEY");
	unsetenv("OPENAI_BASE_URL");
	unsetenv("ANTHROPIC_API_KEY");
	unsetenv("ANTHROPIC_BASE_URL");
	unsetenv("GOOGLE_API_KEY");
	unsetenv("GEMINI_API_KEY");
}

static void
test_split_quoting(void **state)
{
	(void)state;
	int argc;
	char **argv;
	gw_err err;
	assert_int_equal(cli_split("  a 'b c'  \"d \\\"e\\\" 'f'\" g\\ h '' x'y'z  ", &argc, &argv, &err), 0);
	assert_int_equal(argc, 7);
	assert_string_equal(argv[0], "tau-gateway");
	assert_string_equal(argv[1], "a");
	assert_string_equal(argv[2], "b c");
	assert_string_equal(argv[3], "d \"e\" 'f'");
	assert_string_equal(argv[4], "g h");
	assert_string_equal(argv[5], "");
	assert_string_equal(argv[6], "xyz");
	assert_null(argv[7]);
	cli_argv_free(argv);
	/* single quotes keep backslashes */
	assert_int_equal(cli_split("'a\\b'", &argc, &argv, &err), 0);
	assert_string_equal(argv[1], "a\\b");
	cli_argv_free(argv);
	assert_int_equal(cli_split("", &argc, &argv, &err), 0);
	assert_int_equal(argc, 1);
	assert_null(argv[1]);
	cli_argv_free(argv);
	/* many words grow the vector */
	gw_buf many = GW_BUF_INIT;
	for (int i = 0; i < 100; i++)
		gw_buf_printf(&many, "w%d ", i);
	assert_int_equal(cli_split(many.data, &argc, &argv, &err), 0);
	assert_int_equal(argc, 101);
	assert_string_equal(argv[100], "w99");
	cli_argv_free(argv);
	gw_buf_free(&many);
	argv = NULL;
	assert_int_equal(cli_split("a 'open", &argc, &argv, &err), -EINVAL);
	assert_int_equal(err.exit_code, GW_EXIT_USAGE);
	assert_string_equal(err.msg, "unterminated ' quote");
	assert_int_equal(cli_split("\"open", &argc, &argv, &err), -EINVAL);
	assert_string_equal(err.msg, "unterminated \" quote");
}

static void
test_execute_service_and_inspect(void **state)
{
	(void)state;
	char *root = ut_tmpdir();
	char *dir = ut_join(root, "gw");
	cli_config c;
	gw_err err;
	gw_buf out = GW_BUF_INIT, diag = GW_BUF_INIT, line = GW_BUF_INIT;
	/* inspect before anything exists: 66 and nothing created */
	gw_buf_printf(&line, "--gateway-status-inspect --gateway-state-dir %s", dir);
	assert_int_equal(parse_line(line.data, false, &c, &err), 0);
	assert_int_equal(cli_execute(&c, &out, &diag, &err), GW_EXIT_NOINPUT);
	assert_false(gw_fs_exists(dir));
	cli_config_free(&c);

	gw_buf_reset(&line);
	gw_buf_printf(&line, "--gateway-service-start --gateway-state-dir %s", dir);
	assert_int_equal(parse_line(line.data, false, &c, &err), 0);
	assert_int_equal(cli_execute(&c, &out, &diag, &err), 0);
	char want[1024];
	snprintf(want, sizeof(want), "gateway service status: state_path=%s/state.json service_status=running "
	    "rollout_gate=pass rollout_reason_code=guardrail_checks_passing guardrail_gate=pass "
	    "guardrail_reason_code=guardrail_checks_passing startup_attempts=1 ", dir);
	assert_int_equal(strncmp(out.data, want, strlen(want)), 0);
	assert_int_equal(out.data[out.len - 1], '\n');
	assert_int_equal(diag.len, 0);
	cli_config_free(&c);

	gw_buf_reset(&out);
	gw_buf_reset(&line);
	gw_buf_printf(&line, "--gateway-service-status --gateway-service-status-json --gateway-state-dir %s", dir);
	assert_int_equal(parse_line(line.data, false, &c, &err), 0);
	assert_int_equal(cli_execute(&c, &out, &diag, &err), 0);
	assert_int_equal(strncmp(out.data, "{\n  \"state_path\": ", 18), 0);
	assert_string_equal(out.data + out.len - 2, "}\n");
	cli_config_free(&c);
	ut_rmrf(root);
	gw_buf_free(&out);
	gw_buf_free(&diag);
	gw_buf_free(&line);
	free(dir);
	free(root);
}

static void
test_execute_runner_fail_on_hold(void **state)
{
	(void)state;
	char *root = ut_tmpdir();
	char *fx = ut_fixture("mixed-outcomes.json");
	cli_config c;
	gw_err err;
	gw_buf out = GW_BUF_INIT, diag = GW_BUF_INIT, line = GW_BUF_INIT;
	gw_buf_printf(&line, "--gateway-contract-runner --gateway-fixture %s --gateway-state-dir %s/gw "
	    "--gateway-fail-on-hold", fx, root);
	assert_int_equal(parse_line(line.data, false, &c, &err), 0);
	assert_int_equal(cli_execute(&c, &out, &diag, &err), GW_EXIT_FAIL);
	assert_string_equal(err.msg, "rollout gate is hold (malformed_input_observed)");
	ut_assert_contains(out.data, "gateway runner summary: discovered=3 queued=3 applied=1 ");
	cli_config_free(&c);
	/* without the flag a hold still exits 0 */
	gw_buf_reset(&out);
	gw_buf_reset(&line);
	gw_buf_printf(&line, "--gateway-contract-runner --gateway-fixture %s --gateway-state-dir %s/gw", fx, root);
	assert_int_equal(parse_line(line.data, false, &c, &err), 0);
	assert_int_equal(cli_execute(&c, &out, &diag, &err), 0);
	ut_assert_contains(out.data, "gateway runner health: state=degraded failure_streak=2 ");
	cli_config_free(&c);
	ut_rmrf(root);
	gw_buf_free(&out);
	gw_buf_free(&diag);
	gw_buf_free(&line);
	free(fx);
	free(root);
}


/* The text of the man page's entry for --name: from its .It line to the
 * next .It or list end.  NULL when there is none.  Caller frees. */
static char *
man_entry(const char *man, const char *name)
{
	char key[160];
	snprintf(key, sizeof(key), "Fl -%s", name);
	size_t kn = strlen(key);
	for (const char *p = strstr(man, "\n.It "); p != NULL; p = strstr(p + 1, "\n.It ")) {
		const char *eol = strchr(p + 1, '\n');
		const char *k = strstr(p + 1, key);
		if (k == NULL || eol == NULL || k > eol || !(k[kn] == ' ' || k[kn] == '\n'))
			continue;
		p++;
		const char *end = strstr(p, "\n.It ");
		const char *el = strstr(p, "\n.El");
		if (end == NULL || (el != NULL && el < end))
			end = el;
		size_t n = end ? (size_t)(end - p) : strlen(p);
		char *e = malloc(n + 1);
		memcpy(e, p, n);
		e[n] = '\0';
		return e;
	}
	return NULL;
}

/* Every option of the table is in --help and in the man page, with its
 * environment variable and, for numbers, its range: the table is the one
 * source, and this is what keeps the documents from drifting. */
static void
test_every_option_documented(void **state)
{
	(void)state;
	char path[1024];
	snprintf(path, sizeof(path), "%s/man/tau-gateway.1", TAU_SOURCE_DIR);
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	gw_buf man = GW_BUF_INIT;
	char chunk[4096];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		gw_buf_append(&man, chunk, n);
	fclose(f);
	gw_buf help = GW_BUF_INIT;
	cli_usage(&help);
	size_t count = 0;
	for (size_t i = 0; cli_option_name(i) != NULL; i++, count++) {
		const char *name = cli_option_name(i), *env = cli_option_env(i);
		char flag[160];
		snprintf(flag, sizeof(flag), "  --%s", name);
		if (strstr(help.data, flag) == NULL)
			fail_msg("--help does not list --%s", name);
		char *entry = man_entry(man.data, name);
		if (entry == NULL)
			fail_msg("man/tau-gateway.1 has no .It Fl -%s entry", name);
		if (env != NULL) {
			char ev[160];
			snprintf(ev, sizeof(ev), "Bq Ev %s\n", env);
			if (strstr(entry, ev) == NULL)
				fail_msg("man entry of --%s does not name %s", name, env);
			snprintf(ev, sizeof(ev), "[env: %s]", env);
			if (strstr(help.data, ev) == NULL)
				fail_msg("--help does not name %s", env);
		}
		uint64_t lo, hi;
		if (cli_option_bounds(i, &lo, &hi)) {
			char range[96];
			snprintf(range, sizeof(range), "%llu to %llu", (unsigned long long)lo,
			    (unsigned long long)hi);
			if (strstr(entry, range) == NULL)
				fail_msg("man entry of --%s does not give its range %s", name, range);
			snprintf(range, sizeof(range), "[range: %llu..%llu]", (unsigned long long)lo,
			    (unsigned long long)hi);
			if (strstr(help.data, range) == NULL)
				fail_msg("--help does not give the range of --%s", name);
		}
		free(entry);
	}
	assert_true(count >= 30);
	gw_buf_free(&help);
	gw_buf_free(&man);
}

/* The table writes into the core's and the server's own structs, so what
 * a flag says is what the runner, the server and the provider get. */
static void
test_options_land_in_core_structs(void **state)
{
	(void)state;
	cli_config c;
	expect_ok("", CLI_ACTION_NONE, &c);
	assert_int_equal(c.server.max_input_chars, SRV_DEFAULT_MAX_INPUT_CHARS);
	assert_int_equal(c.server.max_connections, SRV_DEFAULT_MAX_CONNECTIONS);
	assert_int_equal(c.server.idle_timeout_ms, SRV_DEFAULT_IDLE_TIMEOUT_MS);
	assert_int_equal(c.server.provider.timeout_ms, GW_PROVIDER_DEFAULT_TIMEOUT_MS);
	assert_int_equal(c.server.provider.max_retries, GW_PROVIDER_DEFAULT_MAX_RETRIES);
	assert_string_equal(c.server.provider.model, "local/echo");
	assert_string_equal(c.server.bind, SRV_DEFAULT_BIND);
	assert_string_equal(c.runner.state_dir, ".tau/gateway");
	assert_ptr_equal(c.server.state_dir, c.state_dir);
	cli_config_free(&c);
	expect_ok("--gateway-openresponses-server --gateway-openresponses-auth-token t "
	          "--gateway-openresponses-max-input-chars 7 --request-timeout-ms 9 --provider-max-retries 0 "
	          "--gateway-state-dir /x --gateway-openresponses-bind 127.0.0.1:0",
	    CLI_ACTION_SERVER, &c);
	assert_int_equal(c.server.max_input_chars, 7);
	assert_int_equal(c.server.provider.timeout_ms, 9);
	assert_int_equal(c.server.provider.max_retries, 0);
	assert_string_equal(c.server.auth_token, "t");
	assert_string_equal(c.server.state_dir, "/x");
	assert_string_equal(c.runner.state_dir, "/x");
	/* a copy owns its strings and its aliases point at them */
	cli_config d;
	cli_config_copy(&d, &c);
	cli_config_free(&c);
	assert_string_equal(d.server.auth_token, "t");
	assert_ptr_equal(d.server.state_dir, d.state_dir);
	assert_string_equal(d.runner.state_dir, "/x");
	assert_int_equal(cli_config_set(&d, "gateway-fixture", "f.json", NULL), 0);
	assert_string_equal(d.runner.fixture_path, "f.json");
	cli_config_free(&d);
}

/* Every number has an upper bound: values that used to wrap, truncate or
 * abort are usage errors that name the bound. */
static void
test_numeric_bounds(void **state)
{
	(void)state;
	expect_usage("--gateway-openresponses-server --gateway-openresponses-max-connections 18446744073709551615",
	    "invalid value '18446744073709551615' for '--gateway-openresponses-max-connections <N>': value must be at most 65536");
	expect_usage("--gateway-openresponses-server --gateway-openresponses-max-connections 4294967290",
	    "invalid value '4294967290' for '--gateway-openresponses-max-connections <N>': value must be at most 65536");
	expect_usage("--gateway-openresponses-server --gateway-session-max-messages 2147483648",
	    "invalid value '2147483648' for '--gateway-session-max-messages <N>': value must be at most 100000");
	expect_usage("--gateway-openresponses-server --gateway-openresponses-max-input-chars 2305843009213693952",
	    "invalid value '2305843009213693952' for '--gateway-openresponses-max-input-chars <N>': value must be at most 8388608");
	expect_usage("--gateway-openresponses-server --gateway-openresponses-idle-timeout-ms 4294967296000",
	    "invalid value '4294967296000' for '--gateway-openresponses-idle-timeout-ms <MS>': value must be at most 86400000");
	expect_usage("--gateway-contract-runner --gateway-retry-base-delay-ms 99999999999",
	    "invalid value '99999999999' for '--gateway-retry-base-delay-ms <MS>': value must be at most 60000");
	expect_usage("--gateway-contract-runner --gateway-queue-limit 99999999999999999999999",
	    "invalid value '99999999999999999999999' for '--gateway-queue-limit <N>': value must be at most 1000000");
	cli_config c;
	expect_ok("--gateway-openresponses-server --gateway-openresponses-auth-token t --gateway-openresponses-max-connections 65536",
	    CLI_ACTION_SERVER, &c);
	assert_int_equal(c.server.max_connections, 65536);
	cli_config_free(&c);
	/* the environment gets the same bounds */
	setenv("TAU_GATEWAY_SESSION_MAX_MESSAGES", "4294967296", 1);
	gw_err err;
	assert_int_equal(parse_line("--gateway-service-status", true, &c, &err), -EINVAL);
	assert_int_equal(err.exit_code, GW_EXIT_USAGE);
	ut_assert_contains(err.msg, "environment variable TAU_GATEWAY_SESSION_MAX_MESSAGES");
	ut_assert_contains(err.msg, "at most 100000");
	unsetenv("TAU_GATEWAY_SESSION_MAX_MESSAGES");
	cli_config_free(&c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_conflicting_actions),
		cmocka_unit_test(test_repeated_action_flag_is_not_a_conflict),
		cmocka_unit_test(test_dependent_flags_need_their_action),
		cmocka_unit_test(test_zero_thresholds_rejected),
		cmocka_unit_test(test_require_equals_booleans),
		cmocka_unit_test(test_unknown_option_and_missing_value),
		cmocka_unit_test(test_stop_reason_rules),
		cmocka_unit_test(test_runner_fixture_checks),
		cmocka_unit_test(test_transport_health_target),
		cmocka_unit_test(test_help_and_version_win),
		cmocka_unit_test(test_environment_variables),
		cmocka_unit_test(test_provider_environment),
		cmocka_unit_test(test_split_quoting),
		cmocka_unit_test(test_execute_service_and_inspect),
		cmocka_unit_test(test_execute_runner_fail_on_hold),
		cmocka_unit_test(test_every_option_documented),
		cmocka_unit_test(test_options_land_in_core_structs),
		cmocka_unit_test(test_numeric_bounds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
