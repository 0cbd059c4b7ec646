/*
 * server_stub.c - placeholder until the HTTP server lands (issue 3).
 */
#include "server/server.h"

#include <errno.h>
#include <stddef.h>

int
srv_run_foreground(const srv_config *cfg, gw_err *err)
{
	(void)cfg;
	return gw_err_set(err, GW_EXIT_SOFTWARE, GW_EXIT_SOFTWARE,
	    "--gateway-openresponses-server is not available in this build");
}

int
srv_start(const srv_config *cfg, srv_server **out, gw_err *err)
{
	(void)cfg;
	*out = NULL;
	return gw_err_set(err, -ENOSYS, GW_EXIT_SOFTWARE, "the HTTP server is not available in this build");
}

void srv_stop(srv_server *s) { (void)s; }
void srv_get_stats(srv_server *s, srv_stats *out) { (void)s; (void)out; }
int srv_event_fd(srv_server *s) { (void)s; return -1; }
