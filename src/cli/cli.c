/*
 * cli.c - the flag table, getopt_long parsing, validation, and dispatch of
 * the non-interactive actions.
 *
 * One table drives parsing, environment variables, --help and the
 * dependency checks, so they cannot drift apart.  This module renders core
 * reports as text or JSON; it must not implement gateway behaviour itself.
 */
#include "cli/cli.h"
#include "core/gateway/chanstore.h"
#include "core/base/clock.h"
#include "core/base/fs.h"
#include "core/base/mem.h"
#include "core/gateway/runner.h"
#include "core/gateway/service.h"
#include "core/gateway/status.h"
#include "core/base/str.h"
#include "server/server.h"
#include "tui/tui.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <curl/curl.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdarg.h>
#include <getopt.h>
#include <microhttpd.h>
#include <ncurses.h>
#include <readline/readline.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum cli_opt_id {
	O_SERVICE_START = 1000, O_SERVICE_STOP, O_STOP_REASON, O_SERVICE_STATUS, O_SERVICE_STATUS_JSON,
	O_RUNNER, O_FIXTURE, O_QUEUE_LIMIT, O_PROCESSED_CAP, O_RETRY_MAX, O_RETRY_DELAY,
	O_FS_THRESHOLD, O_RF_THRESHOLD, O_FAIL_ON_HOLD,
	O_SERVER, O_BIND, O_TOKEN, O_MAX_INPUT, O_MAX_CONN, O_MAX_CONN_IP, O_IDLE, O_SESSION_MAX,
	O_HEALTH, O_HEALTH_JSON, O_STATUS, O_STATUS_JSON, O_CHANNEL, O_CHANNEL_ROOT,
	O_CONSOLE, O_CONSOLE_LOG,
	O_STATE_DIR, O_MODEL, O_BASE_URL, O_TIMEOUT, O_MAX_RETRIES,
	O_HELP, O_VERSION
};

enum cli_kind { K_SWITCH, K_BOOL, K_STR, K_U64 };

typedef struct cli_opt {
	int id;
	const char *name;
	enum cli_kind kind;
	const char *env;
	const char *meta;
	const char *def;          /* default shown in --help */
	int needs;                /* option id of the action it requires, or 0 */
	cli_action action;        /* for action switches */
	uint64_t min;             /* for K_U64 */
	const char *help;
	const char *section;      /* starts a --help section when set */
} cli_opt;

static const cli_opt cli_opts[] = {
	{ O_SERVICE_START, "gateway-service-start", K_SWITCH, "TAU_GATEWAY_SERVICE_START", NULL, NULL, 0,
	  CLI_ACTION_SERVICE_START, 0, "mark the service running (startup_attempts += 1)", "Service lifecycle" },
	{ O_SERVICE_STOP, "gateway-service-stop", K_SWITCH, "TAU_GATEWAY_SERVICE_STOP", NULL, NULL, 0,
	  CLI_ACTION_SERVICE_STOP, 0, "mark the service stopped (rollout gate holds)", NULL },
	{ O_STOP_REASON, "gateway-service-stop-reason", K_STR, "TAU_GATEWAY_SERVICE_STOP_REASON", "REASON",
	  "operator_requested", O_SERVICE_STOP, 0, 0, "reason recorded with the stop", NULL },
	{ O_SERVICE_STATUS, "gateway-service-status", K_SWITCH, "TAU_GATEWAY_SERVICE_STATUS", NULL, NULL, 0,
	  CLI_ACTION_SERVICE_STATUS, 0, "print the lifecycle posture", NULL },
	{ O_SERVICE_STATUS_JSON, "gateway-service-status-json", K_BOOL, "TAU_GATEWAY_SERVICE_STATUS_JSON",
	  "[=BOOL]", "false", O_SERVICE_STATUS, 0, 0, "print it as pretty JSON", NULL },

	{ O_RUNNER, "gateway-contract-runner", K_SWITCH, "TAU_GATEWAY_CONTRACT_RUNNER", NULL, NULL, 0,
	  CLI_ACTION_RUNNER, 0, "run one contract-runner cycle over a fixture", "Contract runner" },
	{ O_FIXTURE, "gateway-fixture", K_STR, "TAU_GATEWAY_FIXTURE", "FILE", CLI_DEFAULT_FIXTURE, O_RUNNER,
	  0, 0, "fixture to replay (schema v1)", NULL },
	{ O_QUEUE_LIMIT, "gateway-queue-limit", K_U64, "TAU_GATEWAY_QUEUE_LIMIT", "N", "64", O_RUNNER, 0, 1,
	  "pending cases processed per cycle; the rest drain in later cycles", NULL },
	{ O_PROCESSED_CAP, "gateway-processed-case-cap", K_U64, "TAU_GATEWAY_PROCESSED_CASE_CAP", "N",
	  "10000", O_RUNNER, 0, 1, "processed case keys remembered for dedupe", NULL },
	{ O_RETRY_MAX, "gateway-retry-max-attempts", K_U64, "TAU_GATEWAY_RETRY_MAX_ATTEMPTS", "N", "4",
	  O_RUNNER, 0, 1, "attempts per retryable case", NULL },
	{ O_RETRY_DELAY, "gateway-retry-base-delay-ms", K_U64, "TAU_GATEWAY_RETRY_BASE_DELAY_MS", "MS", "0",
	  O_RUNNER, 0, 0, "backoff base: base * 2^(attempt-1), capped at 2^10", NULL },
	{ O_FS_THRESHOLD, "gateway-guardrail-failure-streak-threshold", K_U64,
	  "TAU_GATEWAY_GUARDRAIL_FAILURE_STREAK_THRESHOLD", "N", "2", O_RUNNER, 0, 1,
	  "hold the rollout when the failure streak reaches N", NULL },
	{ O_RF_THRESHOLD, "gateway-guardrail-retryable-failures-threshold", K_U64,
	  "TAU_GATEWAY_GUARDRAIL_RETRYABLE_FAILURES_THRESHOLD", "N", "2", O_RUNNER, 0, 1,
	  "hold the rollout when a cycle has N retryable failures", NULL },
	{ O_FAIL_ON_HOLD, "gateway-fail-on-hold", K_SWITCH, "TAU_GATEWAY_FAIL_ON_HOLD", NULL, NULL, O_RUNNER,
	  0, 0, "exit 1 when the rollout gate is hold after the cycle (guardrail or stopped service)", NULL },

	{ O_SERVER, "gateway-openresponses-server", K_SWITCH, "TAU_GATEWAY_OPENRESPONSES_SERVER", NULL, NULL,
	  0, CLI_ACTION_SERVER, 0, "serve /v1/responses, /gateway/status and /webchat", "HTTP server" },
	{ O_BIND, "gateway-openresponses-bind", K_STR, "TAU_GATEWAY_OPENRESPONSES_BIND", "IP:PORT",
	  CLI_DEFAULT_BIND, O_SERVER, 0, 0, "listen address (IPv4:port or [IPv6]:port; port 0 = ephemeral)", NULL },
	{ O_TOKEN, "gateway-openresponses-auth-token", K_STR, "TAU_GATEWAY_OPENRESPONSES_AUTH_TOKEN", "TOKEN",
	  NULL, O_SERVER, 0, 0, "bearer token required by the API (prefer the env variable)", NULL },
	{ O_MAX_INPUT, "gateway-openresponses-max-input-chars", K_U64,
	  "TAU_GATEWAY_OPENRESPONSES_MAX_INPUT_CHARS", "N", "32000", O_SERVER, 0, 1,
	  "largest translated input; bodies are bounded at 8x this in bytes", NULL },
	{ O_MAX_CONN, "gateway-openresponses-max-connections", K_U64,
	  "TAU_GATEWAY_OPENRESPONSES_MAX_CONNECTIONS", "N", "256", O_SERVER, 0, 1,
	  "concurrent connection cap", NULL },
	{ O_MAX_CONN_IP, "gateway-openresponses-max-connections-per-ip", K_U64,
	  "TAU_GATEWAY_OPENRESPONSES_MAX_CONNECTIONS_PER_IP", "N", "64", O_SERVER, 0, 1,
	  "concurrent connections from one client address; more are closed at once", NULL },
	{ O_IDLE, "gateway-openresponses-idle-timeout-ms", K_U64,
	  "TAU_GATEWAY_OPENRESPONSES_IDLE_TIMEOUT_MS", "MS", "30000", O_SERVER, 0, 1000,
	  "close connections idle this long", NULL },
	{ O_SESSION_MAX, "gateway-session-max-messages", K_U64, "TAU_GATEWAY_SESSION_MAX_MESSAGES", "N",
	  "200", O_SERVER, 0, 2, "conversation history kept per session", NULL },

	{ O_HEALTH, "transport-health-inspect", K_STR, "TAU_TRANSPORT_HEALTH_INSPECT", "gateway", NULL, 0,
	  CLI_ACTION_HEALTH_INSPECT, 0, "print the transport health snapshot", "Inspection (read-only)" },
	{ O_HEALTH_JSON, "transport-health-json", K_BOOL, "TAU_TRANSPORT_HEALTH_JSON", "[=BOOL]", "false",
	  O_HEALTH, 0, 0, "as a pretty JSON array", NULL },
	{ O_STATUS, "gateway-status-inspect", K_SWITCH, "TAU_GATEWAY_STATUS_INSPECT", NULL, NULL, 0,
	  CLI_ACTION_STATUS_INSPECT, 0, "print the operator status and guardrail report", NULL },
	{ O_STATUS_JSON, "gateway-status-json", K_BOOL, "TAU_GATEWAY_STATUS_JSON", "[=BOOL]", "false",
	  O_STATUS, 0, 0, "as pretty JSON", NULL },
	{ O_CHANNEL, "channel-store-inspect", K_STR, "TAU_CHANNEL_STORE_INSPECT", "gateway/ACTOR", NULL, 0,
	  CLI_ACTION_CHANNEL_INSPECT, 0, "count an actor's channel-store records", NULL },
	{ O_CHANNEL_ROOT, "channel-store-root", K_STR, "TAU_CHANNEL_STORE_ROOT", "DIR",
	  "<state-dir>/channel-store", 0, 0, 0, "channel-store root", NULL },

	{ O_CONSOLE, "console", K_SWITCH, NULL, NULL, NULL, 0, CLI_ACTION_CONSOLE, 0,
	  "open the operator console (default on a terminal)", "Console" },
	{ O_CONSOLE_LOG, "console-log", K_STR, "TAU_CONSOLE_LOG", "FILE", NULL, 0, 0, 0,
	  "also append console log lines to FILE", NULL },

	{ O_STATE_DIR, "gateway-state-dir", K_STR, "TAU_GATEWAY_STATE_DIR", "DIR", CLI_DEFAULT_STATE_DIR, 0, 0,
	  0, "state directory shared by every action", "Shared" },
	{ O_MODEL, "model", K_STR, "TAU_MODEL", "PROVIDER/MODEL", CLI_DEFAULT_MODEL, 0, 0, 0,
	  "local/echo (offline) or openai/<model> (OpenAI-compatible upstream)", NULL },
	{ O_BASE_URL, "provider-base-url", K_STR, "OPENAI_BASE_URL", "URL", CLI_DEFAULT_BASE_URL, 0, 0, 0,
	  "OpenAI-compatible base URL; the key comes from OPENAI_API_KEY", NULL },
	{ O_TIMEOUT, "request-timeout-ms", K_U64, "TAU_REQUEST_TIMEOUT_MS", "MS", "120000", 0, 0, 1,
	  "upstream request timeout", NULL },
	{ O_MAX_RETRIES, "provider-max-retries", K_U64, "TAU_PROVIDER_MAX_RETRIES", "N", "2", 0, 0, 0,
	  "upstream retries on connect errors, 408, 429 and 5xx", NULL },
	{ O_HELP, "help", K_SWITCH, NULL, NULL, NULL, 0, CLI_ACTION_HELP, 0, "show this help", NULL },
	{ O_VERSION, "version", K_SWITCH, NULL, NULL, NULL, 0, CLI_ACTION_VERSION, 0,
	  "show the version and library versions", NULL },
};
#define CLI_NOPTS (sizeof(cli_opts) / sizeof(cli_opts[0]))

static const cli_opt *
cli_find(int id)
{
	for (size_t i = 0; i < CLI_NOPTS; i++)
		if (cli_opts[i].id == id)
			return &cli_opts[i];
	return NULL;
}

void
cli_config_init(cli_config *c)
{
	memset(c, 0, sizeof(*c));
	c->state_dir = gw_xstrdup(CLI_DEFAULT_STATE_DIR);
	c->fixture = gw_xstrdup(CLI_DEFAULT_FIXTURE);
	c->queue_limit = GW_RUNNER_DEFAULT_QUEUE_LIMIT;
	c->processed_case_cap = GW_RUNNER_DEFAULT_PROCESSED_CAP;
	c->retry_max_attempts = GW_RUNNER_DEFAULT_RETRY_MAX_ATTEMPTS;
	c->retry_base_delay_ms = GW_RUNNER_DEFAULT_RETRY_BASE_DELAY_MS;
	c->failure_streak_threshold = GW_GUARDRAIL_DEFAULT_THRESHOLD;
	c->retryable_failures_threshold = GW_GUARDRAIL_DEFAULT_THRESHOLD;
	c->bind = gw_xstrdup(CLI_DEFAULT_BIND);
	c->max_input_chars = 32000;
	c->max_connections = 256;
	c->max_connections_per_ip = 64;
	c->idle_timeout_ms = 30000;
	c->session_max_messages = 200;
	c->model = gw_xstrdup(CLI_DEFAULT_MODEL);
	c->provider_base_url = gw_xstrdup(CLI_DEFAULT_BASE_URL);
	c->request_timeout_ms = 120000;
	c->provider_max_retries = 2;
}

/* The owned string members of c, for free and copy. */
#define CLI_NSTRS 12
static void
cli_config_strings(cli_config *c, char **strs[CLI_NSTRS])
{
	char **all[CLI_NSTRS] = { &c->state_dir, &c->stop_reason, &c->fixture, &c->health_target,
		&c->channel_ref, &c->channel_root, &c->bind, &c->auth_token, &c->model,
		&c->provider_base_url, &c->provider_api_key, &c->console_log };
	memcpy(strs, all, sizeof(all));
}

void
cli_config_free(cli_config *c)
{
	char **strs[CLI_NSTRS];
	cli_config_strings(c, strs);
	for (size_t i = 0; i < CLI_NSTRS; i++) {
		free(*strs[i]);
		*strs[i] = NULL;
	}
}

void
cli_config_copy(cli_config *dst, const cli_config *src)
{
	*dst = *src;
	char **strs[CLI_NSTRS];
	cli_config_strings(dst, strs);
	for (size_t i = 0; i < CLI_NSTRS; i++)
		*strs[i] = gw_xstrdup(*strs[i]);
}

const char *
cli_option_name(size_t i)
{
	return i < CLI_NOPTS ? cli_opts[i].name : NULL;
}

static void
cli_set_str(char **dst, const char *v)
{
	free(*dst);
	*dst = gw_xstrdup(v);
}

static int
cli_bad(gw_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int
cli_bad(gw_err *err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = gw_err_vset(err, -EINVAL, GW_EXIT_USAGE, fmt, ap);
	va_end(ap);
	return rc;
}

static int
cli_parse_u64(const cli_opt *o, const char *v, uint64_t *out, gw_err *err)
{
	const char *p = v;
	while (isspace((unsigned char)*p))
		p++;
	if (!isdigit((unsigned char)*p))
		return cli_bad(err, "invalid value '%s' for '--%s <%s>': expected a non-negative integer",
		    v, o->name, o->meta);
	errno = 0;
	char *end;
	unsigned long long x = strtoull(p, &end, 10);
	while (isspace((unsigned char)*end))
		end++;
	if (errno == ERANGE || *end != '\0')
		return cli_bad(err, "invalid value '%s' for '--%s <%s>': expected a non-negative integer",
		    v, o->name, o->meta);
	if (x < o->min && o->min == 1)
		return cli_bad(err, "invalid value '%s' for '--%s <%s>': value must be greater than 0",
		    v, o->name, o->meta);
	if (x < o->min)
		return cli_bad(err, "invalid value '%s' for '--%s <%s>': value must be at least %llu", v,
		    o->name, o->meta, (unsigned long long)o->min);
	*out = x;
	return 0;
}

static int
cli_parse_bool(const cli_opt *o, const char *v, bool *out, gw_err *err)
{
	if (v == NULL || strcmp(v, "true") == 0 || strcmp(v, "1") == 0 || strcmp(v, "yes") == 0) {
		*out = true;
		return 0;
	}
	if (strcmp(v, "false") == 0 || strcmp(v, "0") == 0 || strcmp(v, "no") == 0) {
		*out = false;
		return 0;
	}
	return cli_bad(err, "invalid value '%s' for '--%s': expected true or false", v, o->name);
}

/* Applies one option value to c. */
static int
cli_apply(cli_config *c, const cli_opt *o, const char *v, bool *switch_on, gw_err *err)
{
	bool b = false;
	switch (o->id) {
	case O_STOP_REASON: cli_set_str(&c->stop_reason, v); return 0;
	case O_SERVICE_STATUS_JSON: return cli_parse_bool(o, v, &c->service_status_json, err);
	case O_FIXTURE: cli_set_str(&c->fixture, v); return 0;
	case O_QUEUE_LIMIT: return cli_parse_u64(o, v, &c->queue_limit, err);
	case O_PROCESSED_CAP: return cli_parse_u64(o, v, &c->processed_case_cap, err);
	case O_RETRY_MAX: return cli_parse_u64(o, v, &c->retry_max_attempts, err);
	case O_RETRY_DELAY: return cli_parse_u64(o, v, &c->retry_base_delay_ms, err);
	case O_FS_THRESHOLD: return cli_parse_u64(o, v, &c->failure_streak_threshold, err);
	case O_RF_THRESHOLD: return cli_parse_u64(o, v, &c->retryable_failures_threshold, err);
	case O_BIND: cli_set_str(&c->bind, v); return 0;
	case O_TOKEN: cli_set_str(&c->auth_token, v); return 0;
	case O_MAX_INPUT: return cli_parse_u64(o, v, &c->max_input_chars, err);
	case O_MAX_CONN: return cli_parse_u64(o, v, &c->max_connections, err);
	case O_MAX_CONN_IP: return cli_parse_u64(o, v, &c->max_connections_per_ip, err);
	case O_IDLE: return cli_parse_u64(o, v, &c->idle_timeout_ms, err);
	case O_SESSION_MAX: return cli_parse_u64(o, v, &c->session_max_messages, err);
	case O_HEALTH: cli_set_str(&c->health_target, v); return 0;
	case O_HEALTH_JSON: return cli_parse_bool(o, v, &c->health_json, err);
	case O_STATUS_JSON: return cli_parse_bool(o, v, &c->status_json, err);
	case O_CHANNEL: cli_set_str(&c->channel_ref, v); return 0;
	case O_CHANNEL_ROOT: cli_set_str(&c->channel_root, v); return 0;
	case O_CONSOLE_LOG: cli_set_str(&c->console_log, v); return 0;
	case O_STATE_DIR: cli_set_str(&c->state_dir, v); return 0;
	case O_MODEL: cli_set_str(&c->model, v); return 0;
	case O_BASE_URL:
		cli_set_str(&c->provider_base_url, v);
		c->provider_base_url_set = true;
		return 0;
	case O_TIMEOUT: return cli_parse_u64(o, v, &c->request_timeout_ms, err);
	case O_MAX_RETRIES: return cli_parse_u64(o, v, &c->provider_max_retries, err);
	case O_FAIL_ON_HOLD:
		if (cli_parse_bool(o, v, &b, err) != 0)
			return -EINVAL;
		c->fail_on_hold = b;
		*switch_on = b;
		return 0;
	default:
		/* action switches */
		if (cli_parse_bool(o, v, &b, err) != 0)
			return -EINVAL;
		*switch_on = b;
		return 0;
	}
}

/* Checks "IPv4:port" or "[IPv6]:port". */
static bool
cli_bind_ok(const char *bind)
{
	char host[64];
	const char *port;
	if (bind[0] == '[') {
		const char *end = strchr(bind, ']');
		if (end == NULL || end[1] != ':' || (size_t)(end - bind - 1) >= sizeof(host))
			return false;
		snprintf(host, sizeof(host), "%.*s", (int)(end - bind - 1), bind + 1);
		struct in6_addr a6;
		if (inet_pton(AF_INET6, host, &a6) != 1)
			return false;
		port = end + 2;
	} else {
		const char *colon = strrchr(bind, ':');
		if (colon == NULL || (size_t)(colon - bind) >= sizeof(host))
			return false;
		snprintf(host, sizeof(host), "%.*s", (int)(colon - bind), bind);
		struct in_addr a4;
		if (inet_pton(AF_INET, host, &a4) != 1)
			return false;
		port = colon + 1;
	}
	if (*port == '\0' || strlen(port) > 5)
		return false;
	for (const char *p = port; *p; p++)
		if (!isdigit((unsigned char)*p))
			return false;
	return atoi(port) <= 65535;
}

static int
cli_validate(cli_config *c, const bool *given, gw_err *err)
{
	if (c->action == CLI_ACTION_SERVICE_STOP && c->stop_reason != NULL && c->stop_reason[0] != '\0' &&
	    gw_str_blank(c->stop_reason))
		return cli_bad(err, "--gateway-service-stop-reason cannot be empty or whitespace");
	if (c->action == CLI_ACTION_RUNNER) {
		if (!gw_fs_exists(c->fixture))
			return gw_err_set(err, -ENOENT, GW_EXIT_NOINPUT, "--gateway-fixture '%s' does not exist",
			    c->fixture);
		if (!gw_fs_is_file(c->fixture))
			return gw_err_set(err, -EINVAL, GW_EXIT_NOINPUT,
			    "--gateway-fixture '%s' must point to a file", c->fixture);
	}
	if (c->action == CLI_ACTION_HEALTH_INSPECT) {
		static const char *known[] = { "slack", "github", "multi-channel", "multichannel",
			"multi-agent", "multiagent", "memory", "dashboard", "deployment", "custom-command",
			"customcommand", "voice" };
		char t[64];
		gw_str_copy_trim(t, sizeof(t), c->health_target, GW_STR_LOWER);
		if (strcmp(t, "gateway") != 0) {
			bool other = strncmp(t, "github:", 7) == 0;
			for (size_t k = 0; k < sizeof(known) / sizeof(known[0]); k++)
				other = other || strcmp(t, known[k]) == 0;
			if (other)
				return cli_bad(err, "--transport-health-inspect '%s' is not served by tau-gateway (only 'gateway')",
				    c->health_target);
			return cli_bad(err,
			    "invalid --transport-health-inspect '%s', expected slack, github, github:owner/repo, multi-channel, multi-agent, memory, dashboard, gateway, deployment, custom-command, or voice",
			    c->health_target);
		}
	}
	bool server = c->action == CLI_ACTION_SERVER || c->action == CLI_ACTION_CONSOLE;
	if (server || given[O_MODEL - O_SERVICE_START]) {
		const char *m = c->model;
		if (strcmp(m, "local/echo") != 0 && !(strncmp(m, "openai/", 7) == 0 && !gw_str_blank(m + 7)))
			return cli_bad(err, "unsupported --model '%s' (expected local/echo or openai/<model>)", m);
	}
	if (c->action == CLI_ACTION_SERVER) {
		if (gw_str_blank(c->auth_token))
			return cli_bad(err, "--gateway-openresponses-auth-token is required when --gateway-openresponses-server is set (or set TAU_GATEWAY_OPENRESPONSES_AUTH_TOKEN)");
		if (!cli_bind_ok(c->bind))
			return cli_bad(err, "invalid gateway socket address '%s' (expected IPv4:port or [IPv6]:port)",
			    c->bind);
		if (strncmp(c->model, "openai/", 7) == 0 && gw_str_blank(c->provider_api_key) &&
		    !c->provider_base_url_set)
			return cli_bad(err, "--model %s needs OPENAI_API_KEY in the environment (or --provider-base-url for a server that needs no key)",
			    c->model);
	}
	return 0;
}

int
cli_parse(int argc, char **argv, bool use_env, cli_config *c, gw_err *err)
{
	struct option longopts[CLI_NOPTS + 3];
	for (size_t i = 0; i < CLI_NOPTS; i++) {
		const cli_opt *o = &cli_opts[i];
		int has = o->kind == K_SWITCH ? no_argument : o->kind == K_BOOL ? optional_argument :
		    required_argument;
		longopts[i] = (struct option){ o->name, has, NULL, o->id };
	}
	memset(&longopts[CLI_NOPTS], 0, sizeof(longopts[0]));
	enum { NGIVEN = O_VERSION - O_SERVICE_START + 1 };
	bool given[NGIVEN] = { false };
	bool from_env[NGIVEN] = { false };
	cli_action actions[NGIVEN];
	int action_ids[NGIVEN], nactions = 0;

	optind = 0; /* full re-initialisation: the console parses many lines */
	opterr = 0;
	int ch, rc = 0;
	while ((ch = getopt_long(argc, argv, "+hV", longopts, NULL)) != -1) {
		if (ch == 'h')
			ch = O_HELP;
		if (ch == 'V')
			ch = O_VERSION;
		if (ch == '?' || ch == ':') {
			const char *arg = argv[optind - 1];
			if (optopt != 0 && ch == ':')
				return cli_bad(err, "option '%s' requires a value", arg);
			if (arg != NULL && strncmp(arg, "--", 2) == 0) {
				/* distinguish unknown flags from missing values */
				char name[128];
				snprintf(name, sizeof(name), "%s", arg + 2);
				char *eq = strchr(name, '=');
				if (eq)
					*eq = '\0';
				for (size_t i = 0; i < CLI_NOPTS; i++)
					if (strcmp(cli_opts[i].name, name) == 0) {
						if (cli_opts[i].kind == K_SWITCH && eq)
							return cli_bad(err, "option '--%s' takes no value", name);
						return cli_bad(err, "option '--%s' requires a value <%s>", name,
						    cli_opts[i].meta ? cli_opts[i].meta : "VALUE");
					}
			}
			return cli_bad(err, "unknown option '%s' (see --help)", arg ? arg : "?");
		}
		const cli_opt *o = cli_find(ch);
		bool on = true;
		if ((rc = cli_apply(c, o, optarg, &on, err)) != 0)
			return rc;
		bool repeat = given[o->id - O_SERVICE_START]; /* a repeated flag is one action */
		given[o->id - O_SERVICE_START] = true;
		if (o->action != CLI_ACTION_NONE && on && !repeat) {
			actions[nactions] = o->action;
			action_ids[nactions++] = o->id;
		}
	}
	if (optind < argc)
		return cli_bad(err, "unexpected argument '%s' (see --help)", argv[optind]);

	/* help and version win over everything */
	for (int i = 0; i < nactions; i++)
		if (actions[i] == CLI_ACTION_HELP || actions[i] == CLI_ACTION_VERSION) {
			c->action = actions[i];
			return 0;
		}

	if (use_env) {
		for (size_t i = 0; i < CLI_NOPTS; i++) {
			const cli_opt *o = &cli_opts[i];
			if (o->env == NULL || given[o->id - O_SERVICE_START])
				continue;
			const char *v = getenv(o->env);
			if (v == NULL || v[0] == '\0')
				continue;
			bool on = true;
			if ((rc = cli_apply(c, o, v, &on, err)) != 0) {
				gw_err_prefix(err, "environment variable %s", o->env);
				return rc;
			}
			from_env[o->id - O_SERVICE_START] = true;
			if (o->action != CLI_ACTION_NONE && on) {
				actions[nactions] = o->action;
				action_ids[nactions++] = o->id;
			}
		}
		const char *key = getenv("OPENAI_API_KEY");
		if (key != NULL && key[0] != '\0')
			cli_set_str(&c->provider_api_key, key);
	}

	/* the action families are mutually exclusive */
	if (nactions > 1) {
		const cli_opt *a = cli_find(action_ids[0]), *b = cli_find(action_ids[1]);
		bool ea = from_env[a->id - O_SERVICE_START], eb = from_env[b->id - O_SERVICE_START];
		return cli_bad(err, "the argument '--%s'%s%s%s cannot be used with '--%s'%s%s%s", a->name,
		    ea ? " (from " : "", ea ? a->env : "", ea ? ")" : "", b->name,
		    eb ? " (from " : "", eb ? b->env : "", eb ? ")" : "");
	}
	c->action = nactions == 1 ? actions[0] : CLI_ACTION_NONE;

	/* dependent flags given on the command line need their action */
	for (size_t i = 0; i < CLI_NOPTS; i++) {
		const cli_opt *o = &cli_opts[i];
		if (o->needs == 0 || !given[o->id - O_SERVICE_START])
			continue;
		const cli_opt *need = cli_find(o->needs);
		/* the console can start the server with the server's flags */
		bool console_ok = need->action == CLI_ACTION_SERVER &&
		    (c->action == CLI_ACTION_CONSOLE || c->action == CLI_ACTION_NONE);
		if (c->action != need->action && !console_ok)
			return cli_bad(err, "--%s requires --%s", o->name, need->name);
	}
	return cli_validate(c, given, err);
}

/* ---- help and version --------------------------------------------------- */

void
cli_usage(gw_buf *b)
{
	gw_buf_puts(b,
	    "Usage: tau-gateway [ACTION] [OPTIONS]\n"
	    "Run and watch the tau AI gateway: contract runner, service lifecycle with rollout\n"
	    "guardrails, an OpenResponses-compatible HTTP endpoint, and an operator console.\n"
	    "With no action on a terminal, the console opens.  Actions are mutually exclusive.\n");
	for (size_t i = 0; i < CLI_NOPTS; i++) {
		const cli_opt *o = &cli_opts[i];
		if (o->section)
			gw_buf_printf(b, "\n%s:\n", o->section);
		char left[96];
		if (o->kind == K_BOOL)
			snprintf(left, sizeof(left), "--%s[=BOOL]", o->name);
		else if (o->kind == K_SWITCH)
			snprintf(left, sizeof(left), "--%s", o->name);
		else
			snprintf(left, sizeof(left), "--%s %s", o->name, o->meta);
		gw_buf_printf(b, "  %s\n      %s", left, o->help);
		if (o->def)
			gw_buf_printf(b, " [default: %s]", o->def);
		if (o->env)
			gw_buf_printf(b, " [env: %s]", o->env);
		gw_buf_putc(b, '\n');
	}
	gw_buf_puts(b,
	    "\nExit status: 0 ok; 1 ran and reported failure (contract mismatch, gate hold with\n"
	    "--gateway-fail-on-hold); 64 usage; 65 bad fixture or state data; 66 missing input;\n"
	    "69 unavailable (bind failed, state locked); 70 internal; 73 cannot create; 74 I/O.\n"
	    "See tau-gateway(1) for files, reason codes and the HTTP API.\n");
}

/* jemalloc's control interface, present only when the binary links it
 * (TAU_JEMALLOC); weak, so the test programs need not. */
extern int mallctl(const char *name, void *oldp, size_t *oldlenp, void *newp, size_t newlen)
    __attribute__((weak));

void
cli_version(gw_buf *b)
{
	curl_version_info_data *cv = curl_version_info(CURLVERSION_NOW);
	gw_buf_printf(b, "tau-gateway %s\n", TAU_VERSION);
	gw_buf_printf(b, "  cJSON %s\n  libcurl %s\n  libmicrohttpd %s\n  %s\n  readline %s\n",
	    cJSON_Version(), cv->version, MHD_get_version(), curses_version(), rl_library_version);
	const char *je = NULL;
	size_t n = sizeof(je);
	if (mallctl != NULL && mallctl("version", &je, &n, NULL, 0) == 0 && je != NULL)
		gw_buf_printf(b, "  jemalloc %s\n", je);
	else
		gw_buf_puts(b, "  glibc malloc\n");
	gw_buf_puts(b, "License GPL-3.0-or-later: GNU GPL version 3 or later <https://gnu.org/licenses/gpl.html>\n");
}

/* ---- dispatch ----------------------------------------------------------- */

/* Runner progress on a terminal: one self-overwriting stderr line, at most
 * ten updates a second, erased when the cycle ends. */
typedef struct cli_progress {
	uint64_t last_ms;
	bool shown;
} cli_progress;

static void
cli_progress_fn(void *ctx, const char *phase, uint64_t done, uint64_t total)
{
	cli_progress *p = ctx;
	uint64_t now = gw_clock_mono_ms();
	if (strcmp(phase, "done") == 0) {
		if (p->shown)
			fputs("\r\033[K", stderr);
		return;
	}
	if (now - p->last_ms < 100)
		return;
	p->last_ms = now;
	p->shown = true;
	fprintf(stderr, "\r\033[Ktau-gateway: %s %llu/%llu cases", phase,
	    (unsigned long long)done, (unsigned long long)total);
}

int
cli_execute(const cli_config *c, gw_buf *out, gw_buf *diag, gw_err *err)
{
	int rc = 0;
	switch (c->action) {
	case CLI_ACTION_SERVICE_START:
	case CLI_ACTION_SERVICE_STOP:
	case CLI_ACTION_SERVICE_STATUS: {
		gw_service_report r;
		if (c->action == CLI_ACTION_SERVICE_START)
			rc = gw_service_start(c->state_dir, &r, err);
		else if (c->action == CLI_ACTION_SERVICE_STOP)
			rc = gw_service_stop(c->state_dir, c->stop_reason, &r, err);
		else
			rc = gw_service_status(c->state_dir, &r, err);
		if (rc != 0)
			return err->exit_code ? err->exit_code : GW_EXIT_SOFTWARE;
		if (r.notice[0])
			gw_buf_printf(diag, "tau-gateway: warning: %s\n", r.notice);
		if (c->action == CLI_ACTION_SERVICE_STATUS && c->service_status_json)
			gw_service_report_json(&r, out, true);
		else
			gw_service_report_text(&r, out);
		gw_buf_putc(out, '\n');
		return 0;
	}
	case CLI_ACTION_RUNNER: {
		gw_runner_opts o;
		gw_runner_opts_default(&o);
		o.state_dir = c->state_dir;
		o.fixture_path = c->fixture;
		o.queue_limit = c->queue_limit;
		o.processed_case_cap = c->processed_case_cap;
		o.retry_max_attempts = c->retry_max_attempts;
		o.retry_base_delay_ms = c->retry_base_delay_ms;
		o.failure_streak_threshold = c->failure_streak_threshold;
		o.retryable_failures_threshold = c->retryable_failures_threshold;
		cli_progress progress = { gw_clock_mono_ms(), false };
		if (c->progress_tty) {
			o.progress = cli_progress_fn;
			o.progress_ctx = &progress;
		}
		gw_cycle_report r;
		rc = gw_runner_run(&o, &r, err);
		if (rc != 0 && progress.shown)
			fputs("\r\033[K", stderr);
		if (rc != 0)
			return err->exit_code ? err->exit_code : GW_EXIT_SOFTWARE;
		if (r.notice[0])
			gw_buf_printf(diag, "tau-gateway: warning: %s\n", r.notice);
		if (r.rolled_back_files > 0)
			gw_buf_printf(diag,
			    "tau-gateway: warning: undid the channel-store appends of an interrupted cycle (%u files)\n",
			    r.rolled_back_files);
		gw_cycle_report_text(&r, out);
		gw_buf_putc(out, '\n');
		/* the rollout gate: a stopped service holds promotion too */
		if (c->fail_on_hold && strcmp(r.gates.rollout_gate, "hold") == 0) {
			gw_err_set(err, -EAGAIN, GW_EXIT_FAIL, "rollout gate is hold (%s)",
			    r.gates.rollout_reason_code);
			return GW_EXIT_FAIL;
		}
		return 0;
	}
	case CLI_ACTION_HEALTH_INSPECT: {
		gw_health_row row;
		if ((rc = gw_health_inspect(c->state_dir, &row, err)) != 0)
			return err->exit_code ? err->exit_code : GW_EXIT_SOFTWARE;
		if (c->health_json)
			gw_health_row_json(&row, out, true);
		else
			gw_health_row_text(&row, out);
		gw_buf_putc(out, '\n');
		return 0;
	}
	case CLI_ACTION_STATUS_INSPECT: {
		gw_status_report r;
		if ((rc = gw_status_inspect(c->state_dir, &r, err)) != 0)
			return err->exit_code ? err->exit_code : GW_EXIT_SOFTWARE;
		if (c->status_json)
			gw_status_report_json(&r, out, true);
		else
			gw_status_report_text(&r, out);
		gw_buf_putc(out, '\n');
		gw_status_report_free(&r);
		return 0;
	}
	case CLI_ACTION_CHANNEL_INSPECT: {
		char *root = c->channel_root ? gw_xstrdup(c->channel_root) :
		    gw_path_join(c->state_dir, "channel-store");
		gw_chanstore_report r;
		rc = gw_chanstore_inspect(root, c->channel_ref, &r, err);
		free(root);
		if (rc != 0)
			return err->exit_code ? err->exit_code : GW_EXIT_SOFTWARE;
		gw_chanstore_report_text(&r, out);
		gw_buf_putc(out, '\n');
		return 0;
	}
	case CLI_ACTION_HELP:
		cli_usage(out);
		return 0;
	case CLI_ACTION_VERSION:
		cli_version(out);
		return 0;
	default:
		gw_err_set(err, -EINVAL, GW_EXIT_USAGE, "this action cannot run here");
		return GW_EXIT_USAGE;
	}
}

/* ---- prompt-line splitting ---------------------------------------------- */

int
cli_split(const char *line, int *argc_out, char ***argv_out, gw_err *err)
{
	size_t cap = 8, n = 0;
	char **argv = gw_xmalloc(cap * sizeof(*argv));
	argv[n++] = gw_xstrdup("tau-gateway");
	const char *p = line;
	for (;;) {
		while (isspace((unsigned char)*p))
			p++;
		if (*p == '\0')
			break;
		gw_buf w = GW_BUF_INIT;
		char quote = 0;
		for (; *p && (quote || !isspace((unsigned char)*p)); p++) {
			if (quote) {
				if (*p == quote)
					quote = 0;
				else if (*p == '\\' && quote == '"' && p[1])
					gw_buf_putc(&w, *++p);
				else
					gw_buf_putc(&w, *p);
			} else if (*p == '\'' || *p == '"') {
				quote = *p;
			} else if (*p == '\\' && p[1]) {
				gw_buf_putc(&w, *++p);
			} else {
				gw_buf_putc(&w, *p);
			}
		}
		if (quote) {
			gw_buf_free(&w);
			argv[n] = NULL;
			cli_argv_free(argv);
			return gw_err_set(err, -EINVAL, GW_EXIT_USAGE, "unterminated %c quote", quote);
		}
		if (n + 2 > cap) {
			cap *= 2;
			argv = gw_xrealloc(argv, cap * sizeof(*argv));
		}
		argv[n++] = gw_buf_detach(&w);
	}
	argv[n] = NULL;
	*argc_out = (int)n;
	*argv_out = argv;
	return 0;
}

void
cli_argv_free(char **argv)
{
	if (argv == NULL)
		return;
	for (char **p = argv; *p; p++)
		free(*p);
	free(argv);
}

/* ---- main --------------------------------------------------------------- */

static void
cli_flush(FILE *f, gw_buf *b)
{
	if (b->len > 0) {
		fwrite(b->data, 1, b->len, f);
		fflush(f);
	}
}

void
cli_srv_config(const cli_config *c, srv_config *s)
{
	memset(s, 0, sizeof(*s));
	s->state_dir = c->state_dir;
	s->bind = c->bind;
	s->auth_token = c->auth_token;
	s->max_input_chars = c->max_input_chars;
	s->max_connections = c->max_connections;
	s->max_connections_per_ip = c->max_connections_per_ip;
	s->idle_timeout_ms = c->idle_timeout_ms;
	s->session_max_messages = c->session_max_messages;
	s->model = c->model;
	s->provider_base_url = c->provider_base_url;
	s->provider_api_key = c->provider_api_key;
	s->request_timeout_ms = c->request_timeout_ms;
	s->provider_max_retries = c->provider_max_retries;
}

int
cli_main(int argc, char **argv)
{
	cli_config c;
	cli_config_init(&c);
	gw_err err;
	gw_err_clear(&err);
	int status;
	if (cli_parse(argc, argv, true, &c, &err) != 0) {
		fprintf(stderr, "tau-gateway: %s\n", err.msg);
		status = err.exit_code ? err.exit_code : GW_EXIT_USAGE;
		cli_config_free(&c);
		return status;
	}
	if (c.action == CLI_ACTION_NONE) {
		if (isatty(STDIN_FILENO) && isatty(STDOUT_FILENO)) {
			c.action = CLI_ACTION_CONSOLE;
		} else {
			gw_buf u = GW_BUF_INIT;
			cli_usage(&u);
			fprintf(stderr, "tau-gateway: no action given and no terminal for the console\n");
			cli_flush(stderr, &u);
			gw_buf_free(&u);
			cli_config_free(&c);
			return GW_EXIT_USAGE;
		}
	}
	if (c.action == CLI_ACTION_CONSOLE) {
		if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
			fprintf(stderr, "tau-gateway: --console needs a terminal on stdin and stdout\n");
			cli_config_free(&c);
			return GW_EXIT_USAGE;
		}
		status = tui_run(&c, &err);
		if (status != 0 && err.msg[0])
			fprintf(stderr, "tau-gateway: %s\n", err.msg);
		cli_config_free(&c);
		return status;
	}
	if (c.action == CLI_ACTION_SERVER) {
		srv_config s;
		cli_srv_config(&c, &s);
		status = srv_run_foreground(&s, &err);
		if (status != 0 && err.msg[0])
			fprintf(stderr, "tau-gateway: %s\n", err.msg);
		cli_config_free(&c);
		return status;
	}
	gw_buf out = GW_BUF_INIT, diag = GW_BUF_INIT;
	c.progress_tty = isatty(STDERR_FILENO);
	status = cli_execute(&c, &out, &diag, &err);
	cli_flush(stderr, &diag);
	cli_flush(stdout, &out);
	if (status != 0 && err.msg[0])
		fprintf(stderr, "tau-gateway: %s\n", err.msg);
	gw_buf_free(&out);
	gw_buf_free(&diag);
	cli_config_free(&c);
	return status;
}
