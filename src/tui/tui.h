/*
 * tui.h - the operator console (ncurses dashboard + readline prompt), a
 * thin shell over the core and the CLI's own parser.  cfg, faces and the
 * strings they hold are borrowed for the call; faces lists every face's
 * libraries for --version typed at the prompt.
 */
#ifndef TUI_TUI_H
#define TUI_TUI_H

#include "cli/cli.h"
#include "core/base/err.h"

/* Runs the console until the operator quits.  The terminal is restored on
 * every exit path before this returns.  Returns the exit status; err holds
 * any message, to be printed after the screen is restored. */
int tui_run(const cli_config *cfg, const cli_libraries_fn *faces, gw_err *err);
/* Appends the console's libraries (ncurses, readline), one "  name
 * version" line each, for --version. */
void tui_libraries(gw_buf *out);

#endif
