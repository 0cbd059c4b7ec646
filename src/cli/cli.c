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
#include "core/gateway/posture.h"
#include "core/openresponses/respstore.h"
#include "core/store/xfer.h"
#include "core/base/clock.h"
#include "core/base/fs.h"
#include "core/base/mem.h"
#include "core/gateway/runner.h"
#include "core/gateway/service.h"
#include "core/gateway/status.h"
#include "core/openresponses/provider.h"
#include "core/openresponses/provider_anthropic.h"
#include "core/openresponses/provider_gemini.h"
#include "core/openresponses/routes.h"
#include "core/store/store.h"
#include "core/base/str.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* What an option's value is, and so what its target field is. */
enum cli_kind {
	K_ACTION,   /* a switch that selects the action; no field */
	K_SWITCH,   /* a switch setting a bool field; its env variable takes true/false */
	K_BOOL,     /* --name[=BOOL] into a bool field */
	K_STR,      /* an owned string field (char *, or const char * the table owns) */
	K_U64,      /* a uint64_t field, bounded by [min, max] */
	K_ENUM      /* one word of values into an unsigned field: its index */
};

/* One option: everything about it is written here and nowhere else.
 * Parsing, environment variables, defaults, bounds, --help, the
 * "requires its action" check and the man-page test all read this row. */
typedef struct cli_opt {
	const char *name;
	enum cli_kind kind;
	size_t off;               /* the target in cli_config (offsetof); unused for K_ACTION */
	union {
		uint64_t u;
		const char *s;
		bool b;
	} def;                    /* typed default (a NULL string: none) */
	uint64_t min, max;        /* for K_U64 */
	const char *const *values;/* for K_ENUM: the words, NULL-terminated; the default is def.u */
	const char *env;          /* environment variable, or NULL */
	const char *meta;         /* the value's placeholder in --help */
	cli_action action;        /* K_ACTION: the action it selects */
	cli_action needs;         /* the action this option requires, or CLI_ACTION_NONE */
	const char *help;
	const char *def_text;     /* --help's default when it is not the value itself */
	const char *section;      /* starts a --help section when set */
	cli_secret secret;        /* a credential in its value: masked in echoes, logs, history */
} cli_opt;

#define F(field) offsetof(cli_config, field)
#define CLI_U64(v) { .u = (v) }
#define CLI_STR(v) { .s = (v) }

/* --log-format's words, in the order of srv_log_format */
static const char *const cli_log_formats[] = { "text", "json", NULL };

static const cli_opt cli_opts[] = {
	{ .name = "gateway-service-start", .kind = K_ACTION, .env = "TAU_GATEWAY_SERVICE_START",
	  .action = CLI_ACTION_SERVICE_START, .section = "Service lifecycle",
	  .help = "mark the service running (startup_attempts += 1); already running: nothing recorded" },
	{ .name = "gateway-service-stop", .kind = K_ACTION, .env = "TAU_GATEWAY_SERVICE_STOP",
	  .action = CLI_ACTION_SERVICE_STOP, .help = "mark the service stopped (rollout gate holds); already stopped by an operator: "
	          "nothing recorded" },
	{ .name = "gateway-service-stop-reason", .kind = K_STR, .off = F(stop_reason),
	  .env = "TAU_GATEWAY_SERVICE_STOP_REASON", .meta = "REASON", .needs = CLI_ACTION_SERVICE_STOP,
	  .def_text = GW_STOP_REASON_DEFAULT, .help = "reason recorded with the stop" },
	{ .name = "gateway-service-status", .kind = K_ACTION, .env = "TAU_GATEWAY_SERVICE_STATUS",
	  .action = CLI_ACTION_SERVICE_STATUS, .help = "print the lifecycle posture" },
	{ .name = "gateway-service-status-json", .kind = K_BOOL, .off = F(service_status_json),
	  .env = "TAU_GATEWAY_SERVICE_STATUS_JSON", .needs = CLI_ACTION_SERVICE_STATUS,
	  .help = "print it as pretty JSON" },

	{ .name = "gateway-contract-runner", .kind = K_ACTION, .env = "TAU_GATEWAY_CONTRACT_RUNNER",
	  .action = CLI_ACTION_RUNNER, .section = "Contract runner",
	  .help = "run one contract-runner cycle over a fixture" },
	{ .name = "gateway-fixture", .kind = K_STR, .off = F(runner.fixture_path),
	  .def = CLI_STR(CLI_DEFAULT_FIXTURE), .env = "TAU_GATEWAY_FIXTURE", .meta = "FILE",
	  .needs = CLI_ACTION_RUNNER, .help = "fixture to replay (schema v1)" },
	{ .name = "gateway-queue-limit", .kind = K_U64, .off = F(runner.queue_limit),
	  .def = CLI_U64(GW_RUNNER_DEFAULT_QUEUE_LIMIT), .min = 1, .max = 1000000,
	  .env = "TAU_GATEWAY_QUEUE_LIMIT", .meta = "N", .needs = CLI_ACTION_RUNNER,
	  .help = "pending cases processed per cycle; the rest drain in later cycles" },
	{ .name = "gateway-processed-case-cap", .kind = K_U64, .off = F(runner.processed_case_cap),
	  .def = CLI_U64(GW_RUNNER_DEFAULT_PROCESSED_CAP), .min = 1, .max = 100000000,
	  .env = "TAU_GATEWAY_PROCESSED_CASE_CAP", .meta = "N", .needs = CLI_ACTION_RUNNER,
	  .help = "processed case keys remembered for dedupe; the running fixture's are always kept" },
	{ .name = "gateway-retry-max-attempts", .kind = K_U64, .off = F(runner.retry_max_attempts),
	  .def = CLI_U64(GW_RUNNER_DEFAULT_RETRY_MAX_ATTEMPTS), .min = 1, .max = 100,
	  .env = "TAU_GATEWAY_RETRY_MAX_ATTEMPTS", .meta = "N", .needs = CLI_ACTION_RUNNER,
	  .help = "attempts per retryable case" },
	{ .name = "gateway-retry-base-delay-ms", .kind = K_U64, .off = F(runner.retry_base_delay_ms),
	  .def = CLI_U64(GW_RUNNER_DEFAULT_RETRY_BASE_DELAY_MS), .min = 0, .max = 60000,
	  .env = "TAU_GATEWAY_RETRY_BASE_DELAY_MS", .meta = "MS", .needs = CLI_ACTION_RUNNER,
	  .help = "backoff base: base * 2^(attempt-1), capped at 2^10" },
	{ .name = "gateway-guardrail-failure-streak-threshold", .kind = K_U64,
	  .off = F(runner.failure_streak_threshold), .def = CLI_U64(GW_GUARDRAIL_DEFAULT_THRESHOLD),
	  .min = 1, .max = 1000000, .env = "TAU_GATEWAY_GUARDRAIL_FAILURE_STREAK_THRESHOLD", .meta = "N",
	  .needs = CLI_ACTION_RUNNER, .help = "hold the rollout when the failure streak reaches N" },
	{ .name = "gateway-guardrail-retryable-failures-threshold", .kind = K_U64,
	  .off = F(runner.retryable_failures_threshold), .def = CLI_U64(GW_GUARDRAIL_DEFAULT_THRESHOLD),
	  .min = 1, .max = 1000000, .env = "TAU_GATEWAY_GUARDRAIL_RETRYABLE_FAILURES_THRESHOLD",
	  .meta = "N", .needs = CLI_ACTION_RUNNER,
	  .help = "hold the rollout when a cycle has N retryable failures" },
	{ .name = "gateway-fail-on-hold", .kind = K_SWITCH, .off = F(fail_on_hold),
	  .env = "TAU_GATEWAY_FAIL_ON_HOLD", .needs = CLI_ACTION_RUNNER,
	  .help = "exit 1 when the rollout gate is hold after the cycle (guardrail or stopped service)" },

	{ .name = "gateway-openresponses-server", .kind = K_ACTION,
	  .env = "TAU_GATEWAY_OPENRESPONSES_SERVER", .action = CLI_ACTION_SERVER, .section = "HTTP server",
	  .help = "serve /v1/responses, /v1/chat/completions, /v1/models, /gateway/status and /webchat" },
	{ .name = "gateway-openresponses-bind", .kind = K_STR, .off = F(server.bind),
	  .def = CLI_STR(SRV_DEFAULT_BIND), .env = "TAU_GATEWAY_OPENRESPONSES_BIND", .meta = "IP:PORT",
	  .needs = CLI_ACTION_SERVER,
	  .help = "listen address (IPv4:port or [IPv6]:port; port 0 = ephemeral)" },
	{ .name = "gateway-openresponses-auth-token", .kind = K_STR, .off = F(server.auth_token),
	  .env = "TAU_GATEWAY_OPENRESPONSES_AUTH_TOKEN", .meta = "TOKEN", .needs = CLI_ACTION_SERVER,
	  .secret = CLI_SECRET_VALUE,
	  .help = "bearer token required by the API (prefer the env variable)" },
	{ .name = "gateway-openresponses-max-input-chars", .kind = K_U64, .off = F(server.max_input_chars),
	  .def = CLI_U64(SRV_DEFAULT_MAX_INPUT_CHARS), .min = 1, .max = 8388608,
	  .env = "TAU_GATEWAY_OPENRESPONSES_MAX_INPUT_CHARS", .meta = "N", .needs = CLI_ACTION_SERVER,
	  .help = "largest translated input; bodies are bounded at 8x this in bytes" },
	{ .name = "gateway-openresponses-max-connections", .kind = K_U64, .off = F(server.max_connections),
	  .def = CLI_U64(SRV_DEFAULT_MAX_CONNECTIONS), .min = 1, .max = 65536,
	  .env = "TAU_GATEWAY_OPENRESPONSES_MAX_CONNECTIONS", .meta = "N", .needs = CLI_ACTION_SERVER,
	  .help = "concurrent connection cap" },
	{ .name = "gateway-openresponses-max-connections-per-ip", .kind = K_U64,
	  .off = F(server.max_connections_per_ip), .def = CLI_U64(SRV_DEFAULT_MAX_CONNECTIONS_PER_IP),
	  .min = 0, .max = 65536, .env = "TAU_GATEWAY_OPENRESPONSES_MAX_CONNECTIONS_PER_IP", .meta = "N",
	  .needs = CLI_ACTION_SERVER,
	  .help = "concurrent connections from one client address, 0 = the total cap (a load "
	          "balancer's clients share its address); more are closed at once, or answered 429 "
	          "through a trusted proxy" },
	{ .name = "gateway-openresponses-trusted-proxies", .kind = K_STR, .off = F(server.trusted_proxies),
	  .env = "TAU_GATEWAY_OPENRESPONSES_TRUSTED_PROXIES", .meta = "CIDR,...", .needs = CLI_ACTION_SERVER,
	  .help = "proxies whose X-Forwarded-For names the client for the per-address cap, the request "
	          "log and the console (at most 64 networks or addresses)" },
	{ .name = "gateway-openresponses-idle-timeout-ms", .kind = K_U64, .off = F(server.idle_timeout_ms),
	  .def = CLI_U64(SRV_DEFAULT_IDLE_TIMEOUT_MS), .min = 1000, .max = 86400000,
	  .env = "TAU_GATEWAY_OPENRESPONSES_IDLE_TIMEOUT_MS", .meta = "MS", .needs = CLI_ACTION_SERVER,
	  .help = "close connections idle, or without a whole request, this long" },
	{ .name = "gateway-openresponses-ws-max-age-ms", .kind = K_U64, .off = F(server.ws_max_age_ms),
	  .def = CLI_U64(SRV_DEFAULT_WS_MAX_AGE_MS), .min = 100, .max = 86400000,
	  .env = "TAU_GATEWAY_OPENRESPONSES_WS_MAX_AGE_MS", .meta = "MS", .needs = CLI_ACTION_SERVER,
	  .help = "a WebSocket on /v1/responses lives this long, then gets "
	          "websocket_connection_limit_reached and is closed" },
	{ .name = "gateway-session-max-messages", .kind = K_U64, .off = F(server.session_max_messages),
	  .def = CLI_U64(SRV_DEFAULT_SESSION_MAX_MESSAGES), .min = 2, .max = 100000,
	  .env = "TAU_GATEWAY_SESSION_MAX_MESSAGES", .meta = "N", .needs = CLI_ACTION_SERVER,
	  .help = "conversation history kept per session, in items (oldest dropped first)" },
	{ .name = "gateway-session-max-bytes", .kind = K_U64, .off = F(server.session_max_bytes),
	  .def = CLI_U64(SRV_DEFAULT_SESSION_MAX_BYTES), .min = 4096, .max = 1073741824,
	  .env = "TAU_GATEWAY_SESSION_MAX_BYTES", .meta = "BYTES", .needs = CLI_ACTION_SERVER,
	  .help = "conversation history kept per session, in bytes of its items' compact JSON (+1 "
	          "each; oldest dropped first)" },
	{ .name = "gateway-session-ttl", .kind = K_U64, .off = F(server.session_ttl_s),
	  .def = CLI_U64(SRV_DEFAULT_SESSION_TTL_S), .min = 0, .max = 315360000,
	  .env = "TAU_GATEWAY_SESSION_TTL", .meta = "SECONDS", .needs = CLI_ACTION_SERVER,
	  .help = "remove sessions (history and lock) idle this long, in the background; 0 = never" },
	{ .name = "gateway-response-ttl", .kind = K_U64, .off = F(server.response_ttl_s),
	  .def = CLI_U64(SRV_DEFAULT_RESPONSE_TTL_S), .min = 0, .max = 315360000,
	  .env = "TAU_GATEWAY_RESPONSE_TTL", .meta = "SECONDS", .needs = CLI_ACTION_SERVER,
	  .help = "remove stored responses this old, in the background; 0 = never" },
	{ .name = "gateway-routes", .kind = K_STR, .off = F(server.routes_file),
	  .env = "TAU_GATEWAY_ROUTES", .meta = "FILE", .needs = CLI_ACTION_SERVER,
	  .help = "route requests by their model through FILE (JSON, version 1: public names, aliases, "
	          "ordered targets with fallback and circuit breakers); SIGHUP reloads it; without "
	          "it --model decides" },
	{ .name = "log-format", .kind = K_ENUM, .off = F(server.log_format),
	  .def = CLI_U64(SRV_LOG_TEXT), .values = cli_log_formats, .env = "TAU_LOG_FORMAT",
	  .meta = "FORMAT", .needs = CLI_ACTION_SERVER,
	  .help = "request log and server messages on stderr: one text or JSON line each" },
	{ .name = "quiet", .kind = K_SWITCH, .off = F(server.quiet), .env = "TAU_QUIET",
	  .needs = CLI_ACTION_SERVER,
	  .help = "no request log and no notices on stderr; errors and warnings only" },

	{ .name = "transport-health-inspect", .kind = K_STR, .off = F(health_target),
	  .env = "TAU_TRANSPORT_HEALTH_INSPECT", .meta = "gateway", .action = CLI_ACTION_HEALTH_INSPECT,
	  .section = "Inspection (read-only)", .help = "print the transport health snapshot" },
	{ .name = "transport-health-json", .kind = K_BOOL, .off = F(health_json),
	  .env = "TAU_TRANSPORT_HEALTH_JSON", .needs = CLI_ACTION_HEALTH_INSPECT,
	  .help = "as a pretty JSON array" },
	{ .name = "gateway-status-inspect", .kind = K_ACTION, .env = "TAU_GATEWAY_STATUS_INSPECT",
	  .action = CLI_ACTION_STATUS_INSPECT, .help = "print the operator status and guardrail report" },
	{ .name = "gateway-status-json", .kind = K_BOOL, .off = F(status_json),
	  .env = "TAU_GATEWAY_STATUS_JSON", .needs = CLI_ACTION_STATUS_INSPECT, .help = "as pretty JSON" },
	{ .name = "channel-store-inspect", .kind = K_STR, .off = F(channel_ref),
	  .env = "TAU_CHANNEL_STORE_INSPECT", .meta = "gateway/ACTOR", .action = CLI_ACTION_CHANNEL_INSPECT,
	  .help = "count an actor's channel-store records" },
	{ .name = "channel-store-root", .kind = K_STR, .off = F(channel_root),
	  .env = "TAU_CHANNEL_STORE_ROOT", .meta = "DIR", .def_text = "<state-dir>/channel-store",
	  .help = "channel-store root (a state directory's; not with --gateway-state-url)" },

	{ .name = "console", .kind = K_ACTION, .action = CLI_ACTION_CONSOLE, .section = "Console",
	  .help = "open the operator console (default on a terminal)" },
	{ .name = "console-log", .kind = K_STR, .off = F(console_log), .env = "TAU_CONSOLE_LOG",
	  .meta = "FILE", .help = "also append console log lines to FILE" },
	{ .name = "no-mouse", .kind = K_SWITCH, .off = F(console_no_mouse), .env = "TAU_CONSOLE_NO_MOUSE",
	  .help = "console: leave the mouse to the terminal (no click to select, no wheel scroll)" },

	{ .name = "gateway-state-dir", .kind = K_STR, .off = F(state_dir), .def = CLI_STR(".tau/gateway"),
	  .env = "TAU_GATEWAY_STATE_DIR", .meta = "DIR", .section = "Shared",
	  .help = "state directory shared by every action" },
	{ .name = "gateway-state-url", .kind = K_STR, .off = F(state_url),
	  .env = "TAU_GATEWAY_STATE_URL", .meta = "URL", .secret = CLI_SECRET_PASSWORD,
	  .help = "fleet mode: keep the state in PostgreSQL (a libpq connection string or "
	          "postgresql:// URI; PG* variables apply) instead of a state directory" },
	{ .name = "gateway-deployment", .kind = K_STR, .off = F(deployment),
	  .def = CLI_STR(GW_STORE_DEPLOYMENT_DEFAULT), .env = "TAU_GATEWAY_DEPLOYMENT", .meta = "NAME",
	  .help = "fleet mode: the deployment inside the database (a-z 0-9 _ -, at most 48)" },
	{ .name = "gateway-state-import", .kind = K_STR, .off = F(state_import), .meta = "DIR",
	  .action = CLI_ACTION_STATE_IMPORT,
	  .help = "copy the state directory DIR (runner records and channel store included) into "
	          "the deployment of --gateway-state-url in one transaction; refused (73) when the "
	          "deployment holds state already" },
	{ .name = "gateway-state-export", .kind = K_STR, .off = F(state_export), .meta = "DIR",
	  .action = CLI_ACTION_STATE_EXPORT,
	  .help = "write the deployment of --gateway-state-url as the state directory DIR (new or "
	          "empty; built beside it and renamed into place)" },
	{ .name = "gateway-routes-check", .kind = K_STR, .off = F(routes_check), .meta = "FILE",
	  .action = CLI_ACTION_ROUTES_CHECK,
	  .help = "validate the routes file FILE without serving: exit 0, or 65 with the line and "
	          "column of what is wrong" },
	{ .name = "gateway-lock-wait-ms", .kind = K_U64, .off = F(lock_wait_ms),
	  .def = CLI_U64(GW_LOCK_DEFAULT_WAIT_MS), .min = 0, .max = 3600000,
	  .env = "TAU_GATEWAY_LOCK_WAIT_MS", .meta = "MS",
	  .help = "longest wait for the state-directory lock (fleet mode: the deployment's row), "
	          "then exit 69 (0: do not wait); after 1 s the wait names the holder" },
	{ .name = "model", .kind = K_STR, .off = F(server.provider.model), .def = CLI_STR("local/echo"),
	  .env = "TAU_MODEL", .meta = "PROVIDER/MODEL",
	  .help = "local/echo (offline), openai/<model> (OpenAI-compatible upstream), "
	          "anthropic/<model> (Messages API) or google/<model> (Gemini API)" },
	{ .name = "provider-base-url", .kind = K_STR, .off = F(server.provider.base_url),
	  .meta = "URL",
	  .help = "the model provider's base URL, else OPENAI_BASE_URL, ANTHROPIC_BASE_URL or "
	          "GOOGLE_GEMINI_BASE_URL (by --model's provider), else the vendor's "
	          "(" GW_PROVIDER_DEFAULT_BASE_URL ", " GW_ANTHROPIC_DEFAULT_BASE_URL ", "
	          GW_GEMINI_DEFAULT_BASE_URL "); the key comes from OPENAI_API_KEY, "
	          "ANTHROPIC_API_KEY or GEMINI_API_KEY (or GOOGLE_API_KEY)" },
	{ .name = "request-timeout-ms", .kind = K_U64, .off = F(server.provider.timeout_ms),
	  .def = CLI_U64(GW_PROVIDER_DEFAULT_TIMEOUT_MS), .min = 1, .max = 3600000,
	  .env = "TAU_REQUEST_TIMEOUT_MS", .meta = "MS", .help = "upstream request timeout" },
	{ .name = "provider-max-retries", .kind = K_U64, .off = F(server.provider.max_retries),
	  .def = CLI_U64(GW_PROVIDER_DEFAULT_MAX_RETRIES), .min = 0, .max = 10,
	  .env = "TAU_PROVIDER_MAX_RETRIES", .meta = "N",
	  .help = "upstream retries on connect errors, 408, 429 and 5xx" },
	{ .name = "help", .kind = K_ACTION, .action = CLI_ACTION_HELP, .help = "show this help" },
	{ .name = "version", .kind = K_ACTION, .action = CLI_ACTION_VERSION,
	  .help = "show the version and library versions" },
};
#define CLI_NOPTS (sizeof(cli_opts) / sizeof(cli_opts[0]))
#undef F

/* Typed access to an option's field in c. */
#define CLI_FIELD(c, o, type) ((type *)(void *)((char *)(c) + (o)->off))

static const cli_opt *
cli_opt_named(const char *name)
{
	for (size_t i = 0; i < CLI_NOPTS; i++)
		if (strcmp(cli_opts[i].name, name) == 0)
			return &cli_opts[i];
	return NULL;
}

static const cli_opt *
cli_opt_for_action(cli_action a)
{
	for (size_t i = 0; i < CLI_NOPTS; i++)
		if (cli_opts[i].action == a)
			return &cli_opts[i];
	return NULL;
}

/* The string fields are owned by c even where the target struct declares
 * them const (the runner's and the server's borrow from c); these two are
 * the only places that cast the const away. */
static char **
cli_str_field(cli_config *c, const cli_opt *o)
{
	return CLI_FIELD(c, o, char *);
}

/* The upstream providers: their --model prefix and the environment
 * variables of their key (the first one set wins) and base URL.  No table
 * row owns these: which one applies depends on --model. */
typedef struct cli_provider {
	const char *prefix;         /* "openai/" */
	const char *key_env[2];     /* NULL-padded */
	const char *base_env;
	const char *key_names;      /* for the message when none is set */
} cli_provider;

static const cli_provider cli_providers[] = {
	{ "openai/", { "OPENAI_API_KEY", NULL }, "OPENAI_BASE_URL", "OPENAI_API_KEY" },
	{ "anthropic/", { "ANTHROPIC_API_KEY", NULL }, "ANTHROPIC_BASE_URL", "ANTHROPIC_API_KEY" },
	{ "google/", { "GEMINI_API_KEY", "GOOGLE_API_KEY" }, "GOOGLE_GEMINI_BASE_URL",
	  "GEMINI_API_KEY (or GOOGLE_API_KEY)" },
};

/* The upstream provider model m names (prefix and a non-blank model), or
 * NULL (local/echo, or not a model at all). */
static const cli_provider *
cli_provider_of(const char *m)
{
	for (size_t i = 0; m != NULL && i < sizeof(cli_providers) / sizeof(cli_providers[0]); i++) {
		size_t n = strlen(cli_providers[i].prefix);
		if (strncmp(m, cli_providers[i].prefix, n) == 0 && !gw_str_blank(m + n))
			return &cli_providers[i];
	}
	return NULL;
}

/* The provider's key: from the provider's environment variable only, so no
 * table row owns it. */
static char **
cli_api_key(cli_config *c)
{
	return (char **)(void *)&c->server.provider.api_key;
}

/* Points the aliases at the owned strings they share. */
static void
cli_config_link(cli_config *c)
{
	c->runner.state_dir = c->state_dir;
	c->runner.state_url = c->state_url;
	c->runner.deployment = c->deployment;
	c->server.state_dir = c->state_dir;
	c->server.state_url = c->state_url;
	c->server.deployment = c->deployment;
}

void
cli_config_init(cli_config *c)
{
	memset(c, 0, sizeof(*c));
	for (size_t i = 0; i < CLI_NOPTS; i++) {
		const cli_opt *o = &cli_opts[i];
		switch (o->kind) {
		case K_STR:
			*cli_str_field(c, o) = o->def.s ? gw_xstrdup(o->def.s) : NULL;
			break;
		case K_U64:
			*CLI_FIELD(c, o, uint64_t) = o->def.u;
			break;
		case K_ENUM:
			*CLI_FIELD(c, o, unsigned) = (unsigned)o->def.u;
			break;
		case K_BOOL:
		case K_SWITCH:
			*CLI_FIELD(c, o, bool) = o->def.b;
			break;
		case K_ACTION:
			break;
		}
	}
	cli_config_link(c);
}

void
cli_config_free(cli_config *c)
{
	for (size_t i = 0; i < CLI_NOPTS; i++)
		if (cli_opts[i].kind == K_STR) {
			char **f = cli_str_field(c, &cli_opts[i]);
			free(*f);
			*f = NULL;
		}
	free(*cli_api_key(c));
	*cli_api_key(c) = NULL;
	cli_config_link(c);
}

void
cli_config_copy(cli_config *dst, const cli_config *src)
{
	*dst = *src;
	for (size_t i = 0; i < CLI_NOPTS; i++)
		if (cli_opts[i].kind == K_STR) {
			char **f = cli_str_field(dst, &cli_opts[i]);
			*f = gw_xstrdup(*f);
		}
	*cli_api_key(dst) = gw_xstrdup(src->server.provider.api_key);
	cli_config_link(dst);
}

const char *
cli_option_name(size_t i)
{
	return i < CLI_NOPTS ? cli_opts[i].name : NULL;
}

cli_secret
cli_option_secret(const char *name, size_t len)
{
	cli_secret secret = CLI_SECRET_NONE;
	size_t hits = 0;
	for (size_t i = 0; i < CLI_NOPTS; i++) {
		if (len == 0 || strncmp(cli_opts[i].name, name, len) != 0)
			continue;
		/* a URL's user:password@ is a secret whatever the flag */
		cli_secret s = cli_opts[i].secret != CLI_SECRET_NONE ? cli_opts[i].secret :
		    cli_opts[i].meta != NULL && strcmp(cli_opts[i].meta, "URL") == 0 ?
		    CLI_SECRET_PASSWORD : CLI_SECRET_NONE;
		if (cli_opts[i].name[len] == '\0')
			return s; /* an exact name wins, as in getopt_long */
		secret = s;
		hits++;
	}
	return hits == 1 ? secret : CLI_SECRET_NONE; /* ambiguous: getopt takes none */
}

const char *
cli_option_env(size_t i)
{
	return i < CLI_NOPTS ? cli_opts[i].env : NULL;
}

bool
cli_option_bounds(size_t i, uint64_t *min, uint64_t *max)
{
	if (i >= CLI_NOPTS || cli_opts[i].kind != K_U64)
		return false;
	*min = cli_opts[i].min;
	*max = cli_opts[i].max;
	return true;
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
	if (*end != '\0')
		return cli_bad(err, "invalid value '%s' for '--%s <%s>': expected a non-negative integer",
		    v, o->name, o->meta);
	if (errno == ERANGE || x > o->max)
		return cli_bad(err, "invalid value '%s' for '--%s <%s>': value must be at most %llu",
		    v, o->name, o->meta, (unsigned long long)o->max);
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
cli_parse_enum(const cli_opt *o, const char *v, unsigned *out, gw_err *err)
{
	gw_buf words = GW_BUF_INIT;
	for (unsigned k = 0; o->values[k] != NULL; k++) {
		if (strcmp(v, o->values[k]) == 0) {
			gw_buf_free(&words);
			*out = k;
			return 0;
		}
		gw_buf_printf(&words, "%s%s", k == 0 ? "" : o->values[k + 1] ? ", " : " or ", o->values[k]);
	}
	int rc = cli_bad(err, "invalid value '%s' for '--%s <%s>': expected %s", v, o->name, o->meta,
	    gw_buf_cstr(&words));
	gw_buf_free(&words);
	return rc;
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

/* Applies one option value (NULL for a switch given as a flag) to c.
 * *on says whether a switch is on, so an action counts only then. */
static int
cli_apply(cli_config *c, const cli_opt *o, const char *v, bool *on, gw_err *err)
{
	*on = true;
	switch (o->kind) {
	case K_STR:
		cli_set_str(cli_str_field(c, o), v);
		return 0;
	case K_U64:
		return cli_parse_u64(o, v, CLI_FIELD(c, o, uint64_t), err);
	case K_ENUM:
		return cli_parse_enum(o, v, CLI_FIELD(c, o, unsigned), err);
	case K_BOOL:
		return cli_parse_bool(o, v, CLI_FIELD(c, o, bool), err);
	case K_SWITCH:
		if (cli_parse_bool(o, v, on, err) != 0)
			return -EINVAL;
		*CLI_FIELD(c, o, bool) = *on;
		return 0;
	case K_ACTION:
		return cli_parse_bool(o, v, on, err);
	}
	return 0;
}

int
cli_config_set(cli_config *c, const char *name, const char *value, gw_err *err)
{
	const cli_opt *o = cli_opt_named(name);
	if (o == NULL || o->kind == K_ACTION)
		return cli_bad(err, "unknown option '--%s'", name);
	bool on;
	int rc = cli_apply(c, o, value, &on, err);
	cli_config_link(c);
	return rc;
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

/* Fleet mode (a state URL) runs every action on the database, the
 * runner and channel-store inspect included; a flag that names a
 * directory of the state has no meaning there and is refused rather than
 * quietly used (the console's prompt and keys get the same refusal,
 * through cli_parse). */
static int
cli_fleet_covers(const cli_config *c, gw_err *err)
{
	if (c->action == CLI_ACTION_CHANNEL_INSPECT && c->channel_root != NULL)
		return cli_bad(err,
		    "--channel-store-root names a directory: it cannot be used with --gateway-state-url "
		    "(the channel store is in the database)");
	return 0;
}

static int
cli_validate(cli_config *c, bool model_given, gw_err *err)
{
	if (c->state_url != NULL) {
		if (gw_str_blank(c->state_url))
			return cli_bad(err, "--gateway-state-url cannot be empty");
		if (!gw_store_deployment_ok(c->deployment))
			return cli_bad(err,
			    "invalid --gateway-deployment '%s' (expected 1 to %d of a-z, 0-9, '_' and '-', starting with a letter or digit)",
			    c->deployment, GW_STORE_DEPLOYMENT_MAX);
		int rc = cli_fleet_covers(c, err);
		if (rc != 0)
			return rc;
	}
	if ((c->action == CLI_ACTION_STATE_IMPORT || c->action == CLI_ACTION_STATE_EXPORT) &&
	    c->state_url == NULL)
		return cli_bad(err, "--gateway-state-%s needs --gateway-state-url (the deployment to %s)",
		    c->action == CLI_ACTION_STATE_IMPORT ? "import" : "export",
		    c->action == CLI_ACTION_STATE_IMPORT ? "import into" : "export");
	if ((c->action == CLI_ACTION_STATE_IMPORT && gw_str_blank(c->state_import)) ||
	    (c->action == CLI_ACTION_STATE_EXPORT && gw_str_blank(c->state_export)))
		return cli_bad(err, "--gateway-state-%s needs a directory",
		    c->action == CLI_ACTION_STATE_IMPORT ? "import" : "export");
	if (c->action == CLI_ACTION_SERVICE_STOP) {
		int rc = gw_service_reason_check(c->stop_reason, err);
		if (rc != 0)
			return rc;
	}
	if (c->action == CLI_ACTION_RUNNER) {
		const char *f = c->runner.fixture_path;
		if (!gw_fs_exists(f))
			return gw_err_set(err, -ENOENT, GW_EXIT_NOINPUT, "--gateway-fixture '%s' does not exist", f);
		if (!gw_fs_is_file(f))
			return gw_err_set(err, -EINVAL, GW_EXIT_NOINPUT, "--gateway-fixture '%s' must point to a file",
			    f);
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
	const char *m = c->server.provider.model;
	if (server || model_given) {
		if (strcmp(m, "local/echo") != 0 && cli_provider_of(m) == NULL)
			return cli_bad(err, "unsupported --model '%s' (expected local/echo, openai/<model>, "
			    "anthropic/<model> or google/<model>)", m);
	}
	if (c->action == CLI_ACTION_SERVER) {
		if (gw_str_blank(c->server.auth_token))
			return cli_bad(err, "--gateway-openresponses-auth-token is required when --gateway-openresponses-server is set (or set TAU_GATEWAY_OPENRESPONSES_AUTH_TOKEN)");
		if (!cli_bind_ok(c->server.bind))
			return cli_bad(err, "invalid gateway socket address '%s' (expected IPv4:port or [IPv6]:port)",
			    c->server.bind);
		const cli_provider *pv = cli_provider_of(m);
		if (pv != NULL && gw_str_blank(c->server.provider.api_key) && !c->provider_base_url_set)
			return cli_bad(err, "--model %s needs %s in the environment (or --provider-base-url for a server that needs no key)",
			    m, pv->key_names);
	}
	return 0;
}

int
cli_parse(int argc, char **argv, bool use_env, cli_config *c, gw_err *err)
{
	enum { CLI_VAL0 = 256 }; /* getopt_long's value for option i is CLI_VAL0 + i */
	struct option longopts[CLI_NOPTS + 1];
	for (size_t i = 0; i < CLI_NOPTS; i++) {
		const cli_opt *o = &cli_opts[i];
		int has = o->kind == K_ACTION || o->kind == K_SWITCH ? no_argument :
		    o->kind == K_BOOL ? optional_argument : required_argument;
		longopts[i] = (struct option){ o->name, has, NULL, CLI_VAL0 + (int)i };
	}
	memset(&longopts[CLI_NOPTS], 0, sizeof(longopts[0]));
	bool given[CLI_NOPTS] = { false };
	bool from_env[CLI_NOPTS] = { false };
	const cli_opt *actions[CLI_NOPTS];
	size_t nactions = 0;

	optind = 0; /* full re-initialisation: the console parses many lines */
	opterr = 0;
	int ch, rc = 0;
	while ((ch = getopt_long(argc, argv, "+hV", longopts, NULL)) != -1) {
		const cli_opt *o;
		if (ch == 'h' || ch == 'V') {
			o = cli_opt_for_action(ch == 'h' ? CLI_ACTION_HELP : CLI_ACTION_VERSION);
		} else if (ch >= CLI_VAL0 && ch < CLI_VAL0 + (int)CLI_NOPTS) {
			o = &cli_opts[ch - CLI_VAL0];
		} else {
			const char *arg = argv[optind - 1];
			if (arg != NULL && strncmp(arg, "--", 2) == 0) {
				/* distinguish unknown flags from missing or unwanted values */
				char name[128];
				snprintf(name, sizeof(name), "%s", arg + 2);
				char *eq = strchr(name, '=');
				if (eq)
					*eq = '\0';
				const cli_opt *known = cli_opt_named(name);
				if (known != NULL && eq != NULL &&
				    (known->kind == K_ACTION || known->kind == K_SWITCH))
					return cli_bad(err, "option '--%s' takes no value", name);
				if (known != NULL)
					return cli_bad(err, "option '--%s' requires a value <%s>", name,
					    known->meta ? known->meta : "VALUE");
			}
			return cli_bad(err, "unknown option '%s' (see --help)", arg ? arg : "?");
		}
		size_t i = (size_t)(o - cli_opts);
		bool on;
		if ((rc = cli_apply(c, o, optarg, &on, err)) != 0)
			return rc;
		bool repeat = given[i]; /* a repeated flag is one action */
		given[i] = true;
		if (o->action != CLI_ACTION_NONE && on && !repeat)
			actions[nactions++] = o;
	}
	if (optind < argc)
		return cli_bad(err, "unexpected argument '%s' (see --help)", argv[optind]);

	/* help and version win over everything */
	for (size_t k = 0; k < nactions; k++)
		if (actions[k]->action == CLI_ACTION_HELP || actions[k]->action == CLI_ACTION_VERSION) {
			c->action = actions[k]->action;
			return 0;
		}

	if (use_env) {
		for (size_t i = 0; i < CLI_NOPTS; i++) {
			const cli_opt *o = &cli_opts[i];
			if (o->env == NULL || given[i])
				continue;
			const char *v = getenv(o->env);
			if (v == NULL || v[0] == '\0')
				continue;
			bool on;
			if ((rc = cli_apply(c, o, v, &on, err)) != 0) {
				gw_err_prefix(err, "environment variable %s", o->env);
				return rc;
			}
			from_env[i] = true;
			if (o->action != CLI_ACTION_NONE && on)
				actions[nactions++] = o;
		}
	}
	const cli_opt *base_url = cli_opt_named("provider-base-url");
	const cli_provider *pv = cli_provider_of(c->server.provider.model);
	if (use_env && pv != NULL) {
		/* the key and the base URL of the provider --model names */
		for (size_t k = 0; k < 2 && pv->key_env[k] != NULL; k++) {
			const char *key = getenv(pv->key_env[k]);
			if (key != NULL && key[0] != '\0') {
				cli_set_str(cli_api_key(c), key);
				break;
			}
		}
		const char *v = getenv(pv->base_env);
		if (!given[base_url - cli_opts] && v != NULL && v[0] != '\0') {
			cli_set_str(cli_str_field(c, base_url), v);
			from_env[base_url - cli_opts] = true;
		}
	}
	cli_config_link(c);
	c->provider_base_url_set = c->provider_base_url_set || given[base_url - cli_opts] ||
	    from_env[base_url - cli_opts];

	/* one state store: a directory or a database, never both */
	const cli_opt *sd = cli_opt_named("gateway-state-dir"), *su = cli_opt_named("gateway-state-url");
	size_t isd = (size_t)(sd - cli_opts), isu = (size_t)(su - cli_opts);
	if ((given[isd] || from_env[isd]) && (given[isu] || from_env[isu]))
		return cli_bad(err, "--gateway-state-dir%s%s%s cannot be used with --gateway-state-url%s%s%s "
		    "(the state lives in a directory or in PostgreSQL, not both)",
		    from_env[isd] ? " (from " : "", from_env[isd] ? sd->env : "", from_env[isd] ? ")" : "",
		    from_env[isu] ? " (from " : "", from_env[isu] ? su->env : "", from_env[isu] ? ")" : "");
	if (given[cli_opt_named("gateway-deployment") - cli_opts] && !given[isu] && !from_env[isu])
		return cli_bad(err, "--gateway-deployment requires --gateway-state-url");

	/* the action families are mutually exclusive */
	if (nactions > 1) {
		const cli_opt *a = actions[0], *b = actions[1];
		bool ea = from_env[a - cli_opts], eb = from_env[b - cli_opts];
		return cli_bad(err, "the argument '--%s'%s%s%s cannot be used with '--%s'%s%s%s", a->name,
		    ea ? " (from " : "", ea ? a->env : "", ea ? ")" : "", b->name,
		    eb ? " (from " : "", eb ? b->env : "", eb ? ")" : "");
	}
	c->action = nactions == 1 ? actions[0]->action : CLI_ACTION_NONE;

	/* dependent flags given on the command line need their action */
	for (size_t i = 0; i < CLI_NOPTS; i++) {
		const cli_opt *o = &cli_opts[i];
		if (o->needs == CLI_ACTION_NONE || !given[i])
			continue;
		/* the console can start the server with the server's flags */
		bool console_ok = o->needs == CLI_ACTION_SERVER &&
		    (c->action == CLI_ACTION_CONSOLE || c->action == CLI_ACTION_NONE);
		if (c->action != o->needs && !console_ok)
			return cli_bad(err, "--%s requires --%s", o->name, cli_opt_for_action(o->needs)->name);
	}
	return cli_validate(c, given[cli_opt_named("model") - cli_opts], err);
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
		else if (o->kind == K_SWITCH || o->kind == K_ACTION)
			snprintf(left, sizeof(left), "--%s", o->name);
		else
			snprintf(left, sizeof(left), "--%s %s", o->name, o->meta);
		gw_buf_printf(b, "  %s\n      %s", left, o->help);
		if (o->def_text)
			gw_buf_printf(b, " [default: %s]", o->def_text);
		else if (o->kind == K_STR && o->def.s)
			gw_buf_printf(b, " [default: %s]", o->def.s);
		else if (o->kind == K_U64)
			gw_buf_printf(b, " [default: %llu] [range: %llu..%llu]", (unsigned long long)o->def.u,
			    (unsigned long long)o->min, (unsigned long long)o->max);
		else if (o->kind == K_BOOL)
			gw_buf_printf(b, " [default: %s]", o->def.b ? "true" : "false");
		if (o->kind == K_ENUM) {
			gw_buf_printf(b, " [default: %s] [values:", o->values[o->def.u]);
			for (size_t k = 0; o->values[k] != NULL; k++)
				gw_buf_printf(b, "%s%s", k == 0 ? " " : ", ", o->values[k]);
			gw_buf_putc(b, ']');
		}
		if (o->env)
			gw_buf_printf(b, " [env: %s]", o->env);
		gw_buf_putc(b, '\n');
	}
	gw_buf_puts(b,
	    "\nExit status: 0 ok; 1 ran and reported failure (contract mismatch, gate hold with\n"
	    "--gateway-fail-on-hold); 64 usage; 65 bad fixture or state data; 66 missing input;\n"
	    "69 unavailable (bind failed, state locked, lock wait too long); 70 internal;\n"
	    "73 cannot create; 74 I/O.\n"
	    "See tau-gateway(1) for files, reason codes and the HTTP API.\n");
}

/* jemalloc's control interface, present only when the binary links it
 * (TAU_JEMALLOC); weak, so the test programs need not. */
extern int mallctl(const char *name, void *oldp, size_t *oldlenp, void *newp, size_t newlen)
    __attribute__((weak));

void
cli_version(gw_buf *b, const cli_libraries_fn *faces)
{
	gw_buf_printf(b, "tau-gateway %s\n", TAU_VERSION);
	gw_buf_printf(b, "  cJSON %s\n  libcurl %s\n", cJSON_Version(), gw_provider_curl_version());
	for (; faces != NULL && *faces != NULL; faces++)
		(*faces)(b);
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

/* Opens the store the configuration names: the database and deployment
 * of --gateway-state-url, else the state directory. */
static int
cli_store_open(const cli_config *c, gw_store **store, gw_err *err)
{
	if (c->state_url != NULL)
		return gw_store_open_url(c->state_url, c->deployment, store, err);
	return gw_store_open_dir(c->state_dir, store, err);
}

/* Transfer progress: one stderr line per GW_XFER_PROGRESS_EVERY items. */
static void
cli_xfer_progress(void *ctx, const char *kind, uint64_t done)
{
	fprintf(stderr, "tau-gateway: %s: %s %llu\n", (const char *)ctx, kind,
	    (unsigned long long)done);
	fflush(stderr);
}

/* --gateway-state-import / --gateway-state-export: every kind of state
 * the core knows, the gateway's then the stored responses'. */
static int
cli_xfer(const cli_config *c, gw_buf *out, gw_err *err)
{
	gw_xfer_kind kinds[GW_XFER_KINDS_MAX];
	size_t n = 0, na, nb;
	const gw_xfer_kind *a = gw_posture_xfer_kinds(&na), *b = gw_respstore_xfer_kinds(&nb);
	for (size_t i = 0; i < na && n < GW_XFER_KINDS_MAX; i++)
		kinds[n++] = a[i];
	for (size_t i = 0; i < nb && n < GW_XFER_KINDS_MAX; i++)
		kinds[n++] = b[i];
	gw_store *db;
	if (gw_store_open_url(c->state_url, c->deployment, &db, err) != 0)
		return gw_err_exit(err);
	bool import = c->action == CLI_ACTION_STATE_IMPORT;
	const char *dir = import ? c->state_import : c->state_export;
	gw_xfer_report rep;
	int rc = import ?
	    gw_xfer_import(kinds, n, dir, db, cli_xfer_progress, (void *)"import", &rep, err) :
	    gw_xfer_export(kinds, n, db, dir, cli_xfer_progress, (void *)"export", &rep, err);
	gw_store_close(db);
	if (rc != 0)
		return gw_err_exit(err);
	gw_xfer_report_text(&rep, import, dir, out);
	gw_buf_putc(out, '\n');
	return 0;
}

/* The actions that run on any store. */
static int
cli_execute_on(const cli_config *c, gw_store *store, gw_buf *out, gw_buf *diag, gw_err *err)
{
	int rc = 0;
	switch (c->action) {
	case CLI_ACTION_SERVICE_START:
	case CLI_ACTION_SERVICE_STOP:
	case CLI_ACTION_SERVICE_STATUS: {
		gw_service_report r;
		bool already = false;
		if (c->action == CLI_ACTION_SERVICE_STATUS)
			rc = gw_service_status_in(store, &r, err);
		else
			rc = gw_service_request_in(store, c->action == CLI_ACTION_SERVICE_STOP,
			    c->stop_reason, &already, &r, err);
		if (rc != 0)
			return gw_err_exit(err);
		if (r.notice[0])
			gw_buf_printf(diag, "tau-gateway: warning: %s\n", r.notice);
		/* a repeated start or stop records nothing and says so (exit 0,
		 * as systemctl does; the status line shows the posture in force) */
		if (already && r.service.stopped)
			gw_buf_printf(diag, "tau-gateway: already stopped (reason %s); nothing recorded\n",
			    r.service.last_stop_reason[0] ? r.service.last_stop_reason : "none");
		else if (already)
			gw_buf_puts(diag, "tau-gateway: already running; nothing recorded\n");
		if (c->action == CLI_ACTION_SERVICE_STATUS && c->service_status_json)
			gw_service_report_json(&r, out, true);
		else
			gw_service_report_text(&r, out);
		gw_buf_putc(out, '\n');
		return 0;
	}
	case CLI_ACTION_HEALTH_INSPECT: {
		gw_health_row row;
		if ((rc = gw_health_inspect_in(store, &row, err)) != 0)
			return gw_err_exit(err);
		if (c->health_json)
			gw_health_row_json(&row, out, true);
		else
			gw_health_row_text(&row, out);
		gw_buf_putc(out, '\n');
		return 0;
	}
	case CLI_ACTION_STATUS_INSPECT: {
		gw_status_report r;
		if ((rc = gw_status_inspect_in(store, &r, err)) != 0)
			return gw_err_exit(err);
		if (c->status_json)
			gw_status_report_json(&r, out, true);
		else
			gw_status_report_text(&r, out);
		gw_buf_putc(out, '\n');
		gw_status_report_free(&r);
		return 0;
	}
	default:
		gw_err_set(err, -EINVAL, GW_EXIT_USAGE, "this action cannot run here");
		return GW_EXIT_USAGE;
	}
}

int
cli_execute(const cli_config *c, gw_buf *out, gw_buf *diag, gw_err *err)
{
	int rc = 0;
	switch (c->action) {
	case CLI_ACTION_SERVICE_START:
	case CLI_ACTION_SERVICE_STOP:
	case CLI_ACTION_SERVICE_STATUS:
	case CLI_ACTION_HEALTH_INSPECT:
	case CLI_ACTION_STATUS_INSPECT: {
		gw_store *store;
		if ((rc = cli_store_open(c, &store, err)) != 0)
			return gw_err_exit(err);
		int status = cli_execute_on(c, store, out, diag, err);
		gw_store_close(store);
		return status;
	}
	case CLI_ACTION_RUNNER: {
		gw_runner_opts o = c->runner;
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
			return gw_err_exit(err);
		if (r.notice[0])
			gw_buf_printf(diag, "tau-gateway: warning: %s\n", r.notice);
		if (r.service_stopped)
			gw_buf_printf(diag,
			    "tau-gateway: warning: the service was stopped during the cycle (reason %s); "
			    "the cycle ended early and applied no case\n",
			    r.stop_reason[0] ? r.stop_reason : "none");
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
	case CLI_ACTION_CHANNEL_INSPECT: {
		if (c->state_url != NULL) {
			gw_store *store;
			if ((rc = cli_store_open(c, &store, err)) != 0)
				return gw_err_exit(err);
			gw_chanstore_report r;
			rc = gw_chanstore_inspect_store(store, c->channel_ref, &r, err);
			gw_store_close(store);
			if (rc != 0)
				return gw_err_exit(err);
			gw_chanstore_report_text(&r, out);
			gw_buf_putc(out, '\n');
			return 0;
		}
		char *root = c->channel_root ? gw_xstrdup(c->channel_root) :
		    gw_path_join(c->state_dir, "channel-store");
		gw_chanstore_report r;
		rc = gw_chanstore_inspect(root, c->channel_ref, &r, err);
		free(root);
		if (rc != 0)
			return gw_err_exit(err);
		gw_chanstore_report_text(&r, out);
		gw_buf_putc(out, '\n');
		return 0;
	}
	case CLI_ACTION_STATE_IMPORT:
	case CLI_ACTION_STATE_EXPORT:
		return cli_xfer(c, out, err);
	case CLI_ACTION_ROUTES_CHECK: {
		gw_routes *routes;
		if (gw_routes_load(c->routes_check, &routes, err) != 0) {
			if (err->exit_code == 0)
				err->exit_code = GW_EXIT_DATAERR;
			return gw_err_exit(err);
		}
		size_t targets = 0;
		for (size_t i = 0; i < gw_routes_count(routes); i++)
			targets += gw_routes_at(routes, i)->ntargets;
		gw_buf_printf(out, "routes ok: file=%s routes=%zu targets=%zu default=%s\n",
		    c->routes_check, gw_routes_count(routes), targets,
		    gw_routes_default(routes) ? gw_routes_default(routes) : "none");
		gw_routes_free(routes);
		return 0;
	}
	case CLI_ACTION_HELP:
		cli_usage(out);
		return 0;
	default:
		gw_err_set(err, -EINVAL, GW_EXIT_USAGE, "this action cannot run here");
		return GW_EXIT_USAGE;
	}
}

/* ---- prompt-line splitting ---------------------------------------------- */

bool
cli_split_next(const char *line, size_t *pos, gw_buf *text, size_t *src, cli_word *w)
{
	const char *p = line + *pos;
	while (isspace((unsigned char)*p))
		p++;
	if (*p == '\0') {
		*pos = (size_t)(p - line);
		return false;
	}
	w->start = (size_t)(p - line);
	/* one byte of the word, and where in line it came from */
#define CLI_PUT(q) do { \
		if (src != NULL) \
			src[text->len] = (size_t)((q) - line); \
		gw_buf_putc(text, *(q)); \
	} while (0)
	char quote = 0;
	for (; *p && (quote || !isspace((unsigned char)*p)); p++) {
		if (quote) {
			if (*p == quote)
				quote = 0;
			else if (*p == '\\' && quote == '"' && p[1])
				CLI_PUT(++p);
			else
				CLI_PUT(p);
		} else if (*p == '\'' || *p == '"') {
			quote = *p;
		} else if (*p == '\\' && p[1]) {
			CLI_PUT(++p);
		} else {
			CLI_PUT(p);
		}
	}
#undef CLI_PUT
	w->end = (size_t)(p - line);
	w->open_quote = quote;
	*pos = w->end;
	return true;
}

int
cli_split(const char *line, int *argc_out, char ***argv_out, gw_err *err)
{
	size_t cap = 8, n = 0, pos = 0;
	char **argv = gw_xmalloc(cap * sizeof(*argv));
	argv[n++] = gw_xstrdup("tau-gateway");
	gw_buf text = GW_BUF_INIT;
	cli_word w;
	while (cli_split_next(line, &pos, &text, NULL, &w)) {
		if (w.open_quote) {
			gw_buf_free(&text);
			argv[n] = NULL;
			cli_argv_free(argv);
			return gw_err_set(err, -EINVAL, GW_EXIT_USAGE, "unterminated %c quote", w.open_quote);
		}
		if (n + 2 > cap) {
			cap *= 2;
			argv = gw_xrealloc(argv, cap * sizeof(*argv));
		}
		argv[n++] = gw_buf_detach(&text);
	}
	gw_buf_free(&text);
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

/* A state-lock wait that lasts: one stderr line naming the holder. */
static void
cli_lock_notice(void *ctx, const char *msg)
{
	(void)ctx;
	fprintf(stderr, "tau-gateway: %s\n", msg);
	fflush(stderr);
}

int
cli_start(int argc, char **argv, cli_config *c)
{
	cli_config_init(c);
	gw_err err;
	gw_err_clear(&err);
	if (cli_parse(argc, argv, true, c, &err) != 0)
		return cli_finish(c, gw_err_exit(&err), &err);
	bool tty = isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);
	if (c->action == CLI_ACTION_NONE) {
		if (!tty) {
			gw_buf u = GW_BUF_INIT;
			cli_usage(&u);
			fprintf(stderr, "tau-gateway: no action given and no terminal for the console\n");
			cli_flush(stderr, &u);
			gw_buf_free(&u);
			return cli_finish(c, GW_EXIT_USAGE, NULL);
		}
		c->action = CLI_ACTION_CONSOLE;
	}
	if (c->action == CLI_ACTION_CONSOLE && !tty) {
		gw_err_set(&err, -ENOTTY, GW_EXIT_USAGE, "--console needs a terminal on stdin and stdout");
		return cli_finish(c, GW_EXIT_USAGE, &err);
	}
	c->progress_tty = isatty(STDERR_FILENO);
	gw_lock_set_wait(c->lock_wait_ms, cli_lock_notice, NULL);
	return -1;
}

int
cli_run(const cli_config *c)
{
	gw_buf out = GW_BUF_INIT, diag = GW_BUF_INIT;
	gw_err err;
	gw_err_clear(&err);
	int status = cli_execute(c, &out, &diag, &err);
	cli_flush(stderr, &diag);
	cli_flush(stdout, &out);
	if (status != 0 && err.msg[0])
		fprintf(stderr, "tau-gateway: %s\n", err.msg);
	gw_buf_free(&out);
	gw_buf_free(&diag);
	return status;
}

int
cli_finish(cli_config *c, int status, const gw_err *err)
{
	if (status != 0 && err != NULL && err->msg[0])
		fprintf(stderr, "tau-gateway: %s\n", err->msg);
	cli_config_free(c);
	return status;
}
