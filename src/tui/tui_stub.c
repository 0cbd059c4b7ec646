/*
 * tui_stub.c - placeholder until the console lands (issue 4).
 */
#include "tui/tui.h"

int
tui_run(const cli_config *cfg, gw_err *err)
{
	(void)cfg;
	return gw_err_set(err, GW_EXIT_SOFTWARE, GW_EXIT_SOFTWARE,
	    "the console is not available in this build; use the runbook flags (see --help)");
}
