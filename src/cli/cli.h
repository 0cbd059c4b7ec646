/*
 * cli.h - flags: parsing, validation and dispatch of one action.
 *
 * The parser is shared with the console prompt, so a runbook flag line
 * typed at ':' gets exactly the checks and messages of the command line.
 * cli_execute renders core reports into caller-supplied buffers and never
 * writes to the terminal itself.  This layer knows no face: main.c opens
 * the console or the server for the actions that need one, and the
 * console uses this parser, never the reverse.
 */
#ifndef CLI_CLI_H
#define CLI_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/base/buf.h"
#include "core/base/err.h"
#include "core/gateway/runner.h"
#include "server/srv_config.h"

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
	CLI_ACTION_STATE_IMPORT,
	CLI_ACTION_STATE_EXPORT,
	CLI_ACTION_ROUTES_CHECK,
	CLI_ACTION_HELP,
	CLI_ACTION_VERSION
} cli_action;

/* A validated configuration.  The flag table (cli.c) writes each option
 * straight into its field here, inside the core's and the server's own
 * option structs, so nothing is copied field by field afterwards.
 * cli_config owns every string it points to, those inside runner and
 * server included (cli_config_free); runner.state_dir and server.state_dir
 * alias state_dir. */
typedef struct cli_config {
	cli_action action;
	char *state_dir;
	char *state_url;              /* fleet mode: a libpq connection string, or NULL */
	char *deployment;             /* the fleet inside that database */
	char *state_import;           /* --gateway-state-import DIR */
	char *state_export;           /* --gateway-state-export DIR */
	char *routes_check;           /* --gateway-routes-check FILE */
	uint64_t lock_wait_ms;        /* state-lock wait bound, applied by cli_start */
	/* service */
	char *stop_reason;
	bool service_status_json;
	/* runner: fixture_path and the numbers are the flags' */
	gw_runner_opts runner;
	bool fail_on_hold;
	/* inspect */
	char *health_target;
	bool health_json;
	bool status_json;
	char *channel_ref;
	char *channel_root;           /* NULL: <state_dir>/channel-store */
	/* server and provider (server.provider.api_key from the environment
	 * variable of --model's provider: OPENAI_API_KEY, ANTHROPIC_API_KEY,
	 * GEMINI_API_KEY or GOOGLE_API_KEY) */
	srv_config server;
	bool provider_base_url_set;   /* given by flag or the provider's *_BASE_URL */
	/* console */
	char *console_log;
	bool console_no_mouse;        /* --no-mouse: no mousemask */
	/* set by cli_start when stderr is a terminal: the runner reports progress there */
	bool progress_tty;
} cli_config;

#define CLI_DEFAULT_FIXTURE "fixtures/gateway-contract/mixed-outcomes.json"

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

/* Sets the option named name (long name, no dashes) to value, as if
 * given as a flag but without the action and dependency checks (the
 * console seeds a line's defaults with it).  0, or -EINVAL with err set
 * (unknown option, bad value). */
int cli_config_set(cli_config *c, const char *name, const char *value, gw_err *err);

/* Deep-copies src into dst (dst need not be initialised); free dst with
 * cli_config_free.  The console seeds prompt-line parses with it. */
void cli_config_copy(cli_config *dst, const cli_config *src);

/* Appends the --help text. */
void cli_usage(gw_buf *out);
/* Appends the --version text: the program, the core's libraries, then
 * each face's (faces: a NULL-terminated list of functions that append
 * "  name version" lines), the allocator and the licence. */
typedef void (*cli_libraries_fn)(gw_buf *out);
void cli_version(gw_buf *out, const cli_libraries_fn *faces);

/* The options of the flag table, for completion, the man-page check and
 * tests: the i-th option's long name (no dashes) and environment variable
 * (NULL when it has none); NULL past the end.  The strings are static. */
const char *cli_option_name(size_t i);
const char *cli_option_env(size_t i);
/* What credential the option name[0..len) (no dashes, no '=') carries,
 * picked the way getopt_long picks: its exact name or an unambiguous
 * prefix.  CLI_SECRET_VALUE: the whole value
 * (--gateway-openresponses-auth-token); CLI_SECRET_PASSWORD: a password
 * inside it (--gateway-state-url: user:pw@ or password=pw; and the
 * user:pw@ of every URL-valued flag, as --provider-base-url). */
typedef enum cli_secret { CLI_SECRET_NONE, CLI_SECRET_VALUE, CLI_SECRET_PASSWORD } cli_secret;
cli_secret cli_option_secret(const char *name, size_t len);
/* True when the i-th option takes a number, with its bounds. */
bool cli_option_bounds(size_t i, uint64_t *min, uint64_t *max);

/* Splits a prompt line into words (shell-like quoting: '...', "...", \).
 * Returns a malloc'ed NULL-terminated argv whose argv[0] is "tau-gateway";
 * free with cli_argv_free.  -EINVAL on an unterminated quote. */
int cli_split(const char *line, int *argc, char ***argv, gw_err *err);
/* The scanner cli_split uses, a word at a time, for callers that need to
 * know where each word came from (the credential mask).  Skips blanks
 * from line[*pos], appends the word's text (quotes and backslashes
 * decoded) to text (the caller's), sets w to its bytes in line
 * [start, end) and *pos to end; src, when not NULL, receives for the
 * i-th byte appended the offset in line of the byte it came from (room
 * for strlen(line) entries from text->len on).  An unterminated quote
 * runs to the end of the line and is named in open_quote (else 0).
 * Returns false at the end of the line. */
typedef struct cli_word {
	size_t start, end;
	char open_quote;
} cli_word;
bool cli_split_next(const char *line, size_t *pos, gw_buf *text, size_t *src, cli_word *w);
void cli_argv_free(char **argv);

/* The first half of the program: initialises c and parses argv and the
 * environment.  Returns -1 when c.action is to be run (the console when
 * no action was given on a terminal), or an exit status after printing
 * what was wrong (c is then freed).  main.c picks the face for c.action. */
int cli_start(int argc, char **argv, cli_config *c);
/* Runs a non-interactive action of c, printing its report to stdout and
 * its notices to stderr.  Returns the exit status. */
int cli_run(const cli_config *c);
/* The end of every path: prints err's message when status is a failure
 * and frees c.  Returns status. */
int cli_finish(cli_config *c, int status, const gw_err *err);

#endif
