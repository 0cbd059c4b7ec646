/*
 * tui_cmd.h - the console prompt's language: the words of one table
 * (tui_cmd_words: start, stop [reason], run [fixture], quit, ...) translate
 * into runbook flag lines, so words and flag lines both go through
 * cli_parse and its validation.
 */
#ifndef TUI_CMD_H
#define TUI_CMD_H

#include <stdbool.h>
#include <stddef.h>

#include "core/base/buf.h"
#include "core/base/err.h"

typedef enum tui_line_kind {
	TUI_LINE_EMPTY,     /* blank line: nothing to do */
	TUI_LINE_FLAGS,     /* argv is a flag line for cli_parse */
	TUI_LINE_SERVE,     /* start the embedded server; arg = bind or NULL */
	TUI_LINE_UNSERVE,   /* stop it */
	TUI_LINE_RELOAD,    /* reload its routes file (--gateway-routes) */
	TUI_LINE_CANCEL,    /* cancel the running fixture at the next case */
	TUI_LINE_HELP,      /* show the help overlay */
	TUI_LINE_QUIT       /* leave the console */
} tui_line_kind;

typedef struct tui_line {
	tui_line_kind kind;
	int argc;
	char **argv;        /* argv[0] is "tau-gateway"; NULL-terminated */
	char *arg;          /* TUI_LINE_SERVE: the bind, or NULL */
} tui_line;

/* Fills out for one word (out->argv still holds the split line; the
 * word's arguments are args[0..nargs), within the word's bounds). */
typedef void (*tui_word_fn)(tui_line *out, char **args, int nargs, const char *default_fixture);

/* One prompt word.  The table of these is the only list of words: the
 * lookup, the usage and "unknown command" messages, the help overlay and
 * completion all read it. */
typedef struct tui_word {
	const char *name;
	const char *alias;      /* another name for the same word ("exit"), or NULL */
	const char *args;       /* "[reason]", "<actor>", or "" */
	const char *help;
	int min_args, max_args; /* max_args -1: any number, joined with single spaces */
	/* what the word becomes: translate when it takes arguments; else the
	 * fixed flag line flags (one or two words); else kind */
	tui_word_fn translate;
	const char *flags[2];
	tui_line_kind kind;
} tui_word;

/* The prompt words (static storage, not to be freed); *n receives the count. */
const tui_word *tui_cmd_words(size_t *n);

/* Translates a prompt line.  default_fixture is what a bare "run" replays.
 * Returns 0 and fills out (the caller releases it with tui_line_free), or
 * -EINVAL with a one-line message in err (unknown word, wrong number of
 * arguments, bad quoting) and out empty. */
int tui_cmd_translate(const char *line, const char *default_fixture, tui_line *out, gw_err *err);
/* Frees what l holds (argv, arg) and empties it; l itself is the caller's. */
void tui_line_free(tui_line *l);

/* Appends line to out (which the caller owns) with every credential
 * masked: the value of a flag cli_option_secret names (given whole or as a
 * prefix getopt takes, as "--flag VALUE" or "--flag=VALUE") becomes "***"
 * (--gateway-openresponses-auth-token), or only the password inside it
 * does (--gateway-state-url: user:***@host, password=***, as
 * gw_store_redact masks libpq's messages); with keep_length every byte of
 * such a value becomes '*' instead (the prompt line on screen, whose
 * cursor offsets must stay valid).  Words are read by cli_split_next, as
 * the parser reads them, and a secret word's whole span is replaced; the
 * user:password@ of any URL-valued flag counts as a password too.  The one masking used by the echo, the
 * console log and the history file.  Returns true when something was
 * masked. */
bool tui_cmd_mask_secret(const char *line, bool keep_length, gw_buf *out);

/* Appends the prompt-word help to out (the caller's buffer): one
 * "  word args  help" line per word, an alias named in its help. */
void tui_cmd_help(gw_buf *out);

#endif
