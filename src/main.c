/*
 * main.c - tau-gateway entry point: picks the face for the action the
 * flags chose.  The flags (src/cli) parse and run the non-interactive
 * actions; the console (src/tui) and the HTTP server (src/server) are the
 * two faces that own a terminal or a socket.  Only this file knows all
 * three.
 */
#include "cli/cli.h"
#include "server/server.h"
#include "tui/tui.h"

#include <stdio.h>

/* Every face's libraries, for --version. */
static const cli_libraries_fn main_faces[] = { srv_libraries, tui_libraries, NULL };

int
main(int argc, char **argv)
{
	cli_config c;
	int status = cli_start(argc, argv, &c);
	if (status >= 0)
		return status;
	gw_err err;
	gw_err_clear(&err);
	switch (c.action) {
	case CLI_ACTION_CONSOLE:
		status = tui_run(&c, main_faces, &err);
		break;
	case CLI_ACTION_SERVER:
		status = srv_run_foreground(&c.server, &err);
		break;
	case CLI_ACTION_VERSION: {
		gw_buf b = GW_BUF_INIT;
		cli_version(&b, main_faces);
		fputs(gw_buf_cstr(&b), stdout);
		gw_buf_free(&b);
		status = 0;
		break;
	}
	default:
		status = cli_run(&c);
		break;
	}
	return cli_finish(&c, status, &err);
}
