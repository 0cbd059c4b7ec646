/*
 * tui_keys.c - the key table (see tui_keys.h).
 *
 * Adding a binding means adding one row here; the dispatcher, the help
 * overlay and the function bar all read this table.  It must never hold a
 * binding the dispatcher in tui.c does not handle (the unit test checks
 * every row maps to a command).
 */
#include "tui/tui_keys.h"

#include <ncurses.h>
#include <string.h>

#define TUI_CTRL(c) ((c) & 0x1f)

static const tui_key tui_keys[] = {
	{ "?, F1", { '?', KEY_F(1), 0 }, TUI_CMD_HELP, "show this help (any key closes it)", "F1", "Help" },
	{ ":", { ':', 0 }, TUI_CMD_PROMPT, "command prompt: words or a runbook flag line (closes an overlay)", ":", "Cmd" },
	{ "/", { '/', 0 }, TUI_CMD_FILTER, "filter the shown rows, or the log in the log view (empty clears)", "/", "Filter" },
	{ "n", { 'n', 0 }, TUI_CMD_NEXT_MATCH, "select the next row matching the filter (wraps around)", NULL, NULL },
	{ "N", { 'N', 0 }, TUI_CMD_PREV_MATCH, "select the previous row matching the filter", NULL, NULL },
	{ "s", { 's', 0 }, TUI_CMD_START, "start the service (a corrupt state.json: asks first)", "s", "Start" },
	{ "S", { 'S', 0 }, TUI_CMD_STOP, "stop the service (asks for a reason; blanks refused)", "S", "Stop" },
	{ "r", { 'r', 0 }, TUI_CMD_RUN, "run a fixture (asks for a path; Tab completes)", "r", "Run" },
	{ "c", { 'c', 0 }, TUI_CMD_CANCEL, "cancel the fixture run at the next case (cases done are kept)", NULL, NULL },
	{ "w", { 'w', 0 }, TUI_CMD_SERVE, "start the HTTP server in the console, or stop it (asks)", "w", "Serve" },
	{ "L", { 'L', 0 }, TUI_CMD_LOG, "toggle the console log view", "L", "Log" },
	{ "j, Down", { 'j', KEY_DOWN, 0 }, TUI_CMD_DOWN, "select the next line", NULL, NULL },
	{ "k, Up", { 'k', KEY_UP, 0 }, TUI_CMD_UP, "select the previous line", NULL, NULL },
	{ "PgDn, Space", { KEY_NPAGE, ' ', 0 }, TUI_CMD_PAGE_DOWN, "scroll one page down", NULL, NULL },
	{ "PgUp, b", { KEY_PPAGE, 'b', 0 }, TUI_CMD_PAGE_UP, "scroll one page up", NULL, NULL },
	{ "g, Home", { 'g', KEY_HOME, 0 }, TUI_CMD_TOP, "go to the oldest line", NULL, NULL },
	{ "G, End", { 'G', KEY_END, 0 }, TUI_CMD_BOTTOM, "go to the newest line and follow", NULL, NULL },
	{ "h, Left", { 'h', KEY_LEFT, 0 }, TUI_CMD_LEFT, "scroll an overlay left (wrap off)", NULL, NULL },
	{ "l, Right", { 'l', KEY_RIGHT, 0 }, TUI_CMD_RIGHT, "scroll an overlay right (wrap off)", NULL, NULL },
	{ "W", { 'W', 0 }, TUI_CMD_WRAP, "wrap long lines in an overlay on or off", NULL, NULL },
	{ "Enter", { '\n', '\r', KEY_ENTER, 0 }, TUI_CMD_DETAIL, "show the selected event's full JSON (request list: its stored response)", NULL, NULL },
	{ "Tab", { '\t', 0 }, TUI_CMD_FOCUS, "move j/k/Enter between the event list and the server's request list", NULL, NULL },
	{ "Esc", { 27, 0 }, TUI_CMD_CLOSE, "cancel a prompt or question; close the overlay or the log view", NULL, NULL },
	{ "Ctrl-L", { TUI_CTRL('l'), 0 }, TUI_CMD_REDRAW, "redraw the screen", NULL, NULL },
	{ "q, F10, Ctrl-C", { 'q', KEY_F(10), TUI_CTRL('c'), 0 }, TUI_CMD_QUIT, "quit (asks while the server or a run is active, at any size)", "F10", "Quit" },
};

const tui_key *
tui_keys_table(size_t *n)
{
	*n = sizeof(tui_keys) / sizeof(tui_keys[0]);
	return tui_keys;
}

tui_cmd
tui_keys_lookup(int code)
{
	for (size_t i = 0; i < sizeof(tui_keys) / sizeof(tui_keys[0]); i++)
		for (size_t j = 0; j < TUI_KEY_CODES && tui_keys[i].codes[j] != 0; j++)
			if (tui_keys[i].codes[j] == code)
				return tui_keys[i].cmd;
	return TUI_CMD_NONE;
}

void
tui_keys_help(gw_buf *out)
{
	size_t w = 0, n = sizeof(tui_keys) / sizeof(tui_keys[0]);
	for (size_t i = 0; i < n; i++)
		if (strlen(tui_keys[i].label) > w)
			w = strlen(tui_keys[i].label);
	for (size_t i = 0; i < n; i++)
		gw_buf_printf(out, "  %-*s  %s\n", (int)w, tui_keys[i].label, tui_keys[i].help);
}
