/*
 * cli.h - flags: parsing, validation and dispatch of one action.
 *
 * The parser is shared with the console prompt, so a runbook flag line
 * typed at ':' gets exactly the checks and messages of the command line.
 * cli_execute renders core reports into caller-supplied buffers and never
 * writes to the terminal itself.
 */
#ifndef CLI_CLI_H
#define CLI_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/base/buf.h"
#include "core/base/err.h"

typedef enum cli_action {
	CLI_ACTION_NONE,
	CLI_ACTION_SERVICE_START,
	CLI_ACTION_SERVICE_STOP,
	CLI_ACTION_SERVICE_STATUS,
	CLI_ACTION_RUNNER,
	CLI_ACTION_SERVER,
	CLI_ACTION_HEALTH_INSPECT,
	CLI_ACTION_STATUS_INSPECT,
	CLI_ACTION_CHANNEL_INSPECT,
	CLI_ACTION_CONSOLE,
	CLI_ACTION_HELP,
	CLI_ACTION_VERSION
} cli_action;

/* A validated configuration.  Strings are owned (cli_config_free). */
typedef struct cli_config {
	cli_action action;
	char *state_dir;
	/* service */
	char *stop_reason;
	bool service_status_json;
	/* runner */
	char *fixture;
	uint64_t queue_limit, processed_case_cap, retry_max_attempts, retry_base_delay_ms;
	uint64_t failure_streak_threshold, retryable_failures_threshold;
	bool fail_on_hold;
	/* inspect */
	char *health_target;
	bool health_json;
	bool status_json;
	char *channel_ref;
	char *channel_root;           /* NULL: <state_dir>/channel-store */
	/* server and provider */
	char *bind;
	char *auth_token;
	uint64_t max_input_chars, max_connections, max_connections_per_ip;
	uint64_t idle_timeout_ms, session_max_messages;
	char *model;
	char *provider_base_url;
	bool provider_base_url_set;   /* given by flag or OPENAI_BASE_URL */
	char *provider_api_key;       /* OPENAI_API_KEY */
	uint64_t request_timeout_ms, provider_max_retries;
	/* console */
	char *console_log;
	/* set by cli_main when stderr is a terminal: the runner reports progress there */
	bool progress_tty;
} cli_config;

#define CLI_DEFAULT_STATE_DIR ".tau/gateway"
#define CLI_DEFAULT_FIXTURE "fixtures/gateway-contract/mixed-outcomes.json"
#define CLI_DEFAULT_MODEL "local/echo"
#define CLI_DEFAULT_BIND "127.0.0.1:8787"
#define CLI_DEFAULT_BASE_URL "https://api.openai.com/v1"

/* Sets every default. */
void cli_config_init(cli_config *c);
void cli_config_free(cli_config *c);

/* Parses argv (argv[0] is the program name) into c, then validates.  With
 * use_env, TAU_* variables supply values not given as flags.  Returns 0, or
 * -EINVAL with a one-line message and err->exit_code 64 (or 66 for a
 * missing fixture). */
int cli_parse(int argc, char **argv, bool use_env, cli_config *c, gw_err *err);

/* Runs a non-interactive action (not the server or console).  Output for
 * stdout is appended to out, notices for stderr to diag.  Returns the exit
 * status; on failure err has the message. */
int cli_execute(const cli_config *c, gw_buf *out, gw_buf *diag, gw_err *err);

/* Deep-copies src into dst (dst need not be initialised); free dst with
 * cli_config_free.  The console seeds prompt-line parses with it. */
void cli_config_copy(cli_config *dst, const cli_config *src);

/* The long option names of the flag table ("gateway-service-start", no
 * dashes), for completion: returns the i-th name, or NULL past the end.
 * The strings are static. */
const char *cli_option_name(size_t i);

/* Fills the server configuration from c; its strings stay borrowed from c,
 * which must outlive the server. */
struct srv_config;
void cli_srv_config(const cli_config *c, struct srv_config *s);

/* Appends the --help text / the --version text. */
void cli_usage(gw_buf *out);
void cli_version(gw_buf *out);

/* Splits a prompt line into words (shell-like quoting: '...', "...", \).
 * Returns a malloc'ed NULL-terminated argv whose argv[0] is "tau-gateway";
 * free with cli_argv_free.  -EINVAL on an unterminated quote. */
int cli_split(const char *line, int *argc, char ***argv, gw_err *err);
void cli_argv_free(char **argv);

/* The whole program: parse, dispatch, print, return the exit status. */
int cli_main(int argc, char **argv);

#endif
