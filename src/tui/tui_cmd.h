/*
 * tui_cmd.h - the console prompt's language: the words (start, stop
 * [reason], status, run [fixture], serve [bind], unserve, health, inspect
 * <actor>, help, quit) translate into runbook flag lines, so words and
 * flag lines both go through cli_parse and its validation.
 */
#ifndef TUI_CMD_H
#define TUI_CMD_H

#include <stddef.h>

#include "core/base/buf.h"
#include "core/base/err.h"

typedef enum tui_line_kind {
	TUI_LINE_EMPTY,     /* blank line: nothing to do */
	TUI_LINE_FLAGS,     /* argv is a flag line for cli_parse */
	TUI_LINE_SERVE,     /* start the embedded server; arg = bind or NULL */
	TUI_LINE_UNSERVE,   /* stop it */
	TUI_LINE_HELP,      /* show the help overlay */
	TUI_LINE_QUIT       /* leave the console */
} tui_line_kind;

typedef struct tui_line {
	tui_line_kind kind;
	int argc;
	char **argv;        /* argv[0] is "tau-gateway"; NULL-terminated */
	char *arg;          /* TUI_LINE_SERVE: the bind, or NULL */
} tui_line;

typedef struct tui_word {
	const char *name;
	const char *args;   /* "[reason]", or "" */
	const char *help;
} tui_word;

/* The prompt words (static storage); *n receives the count. */
const tui_word *tui_cmd_words(size_t *n);

/* Translates a prompt line.  default_fixture is what a bare "run" replays.
 * Returns 0 and fills out (release with tui_line_free), or -EINVAL with a
 * one-line message in err (unknown word, missing argument, bad quoting). */
int tui_cmd_translate(const char *line, const char *default_fixture, tui_line *out, gw_err *err);
void tui_line_free(tui_line *l);

/* Appends the prompt-word help: one "  word args  help" line per word. */
void tui_cmd_help(gw_buf *out);

#endif
