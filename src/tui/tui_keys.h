/*
 * tui_keys.h - the console's one key table.  The dispatcher looks keys up
 * here, and the help overlay and the function bar are generated from it,
 * so a binding cannot exist without being documented.
 */
#ifndef TUI_KEYS_H
#define TUI_KEYS_H

#include <stddef.h>

#include "core/base/buf.h"

typedef enum tui_cmd {
	TUI_CMD_NONE,
	TUI_CMD_HELP,
	TUI_CMD_PROMPT,
	TUI_CMD_FILTER,
	TUI_CMD_START,
	TUI_CMD_STOP,
	TUI_CMD_RUN,
	TUI_CMD_SERVE,
	TUI_CMD_LOG,
	TUI_CMD_DOWN,
	TUI_CMD_UP,
	TUI_CMD_PAGE_DOWN,
	TUI_CMD_PAGE_UP,
	TUI_CMD_TOP,
	TUI_CMD_BOTTOM,
	TUI_CMD_DETAIL,
	TUI_CMD_CLOSE,
	TUI_CMD_REDRAW,
	TUI_CMD_QUIT,
	TUI_CMD_NEXT_MATCH,
	TUI_CMD_PREV_MATCH,
	TUI_CMD_LEFT,
	TUI_CMD_RIGHT,
	TUI_CMD_WRAP,
	TUI_CMD_CANCEL,
	TUI_CMD_FOCUS
} tui_cmd;

#define TUI_KEY_CODES 4

typedef struct tui_key {
	const char *label;            /* as the help shows it: "j, Down" */
	int codes[TUI_KEY_CODES];     /* wgetch codes, 0-terminated */
	tui_cmd cmd;
	const char *help;             /* one line */
	const char *bar_key;          /* function-bar key text, NULL: not on the bar */
	const char *bar_name;
} tui_key;

/* The table (static storage); *n receives its length. */
const tui_key *tui_keys_table(size_t *n);
/* The command bound to a wgetch code, or TUI_CMD_NONE. */
tui_cmd tui_keys_lookup(int code);
/* Appends the help overlay text: one "  label  help" line per binding,
 * labels padded to one column. */
void tui_keys_help(gw_buf *out);

#endif
