/*
 * server.h - the OpenResponses HTTP gateway (libmicrohttpd), a thin shell
 * over the core.  The CLI runs it in the foreground (srv_run_foreground);
 * the console embeds it on background threads (srv_start / srv_stop) and
 * reads live counters (srv_get_stats), woken by srv_event_fd.
 *
 * Ownership: srv_config strings are borrowed and must outlive the server
 * (srv_config.h).
 * A srv_server is owned by the caller of srv_start and released by srv_stop.
 */
#ifndef SRV_SERVER_H
#define SRV_SERVER_H

#include <stdbool.h>
#include <stdint.h>

#include "core/base/buf.h"
#include "core/base/err.h"
#include "server/srv_config.h"

#define SRV_RECENT_MAX 64
#define SRV_ROUTE_LINES 8
#define SRV_SECONDS 60                /* the per-second window of the panel */
#define SRV_ROUTE_COUNTS 10

typedef struct srv_recent {
	uint64_t unix_ms;
	char method[8];
	char path[64];
	char client[46];                  /* the client address (a trusted proxy's client) */
	char target[64];                  /* routes: the target that answered ("": none) */
	char resp_id[48];                 /* the response made or named ("": none) */
	unsigned status;
	uint64_t duration_us;
} srv_recent;

typedef struct srv_stats {
	char bind[64];                    /* actual ip:port after bind */
	uint64_t uptime_ms;
	uint64_t requests;                /* completed requests */
	uint64_t active_streams;          /* open SSE responses */
	uint64_t ws_open, ws_turns;       /* open WebSockets; turns they ran */
	uint64_t status_4xx, status_5xx;
	uint64_t p50_us, p99_us;          /* latency over the last SRV_SECONDS s (0: none);
	                                   * from log-linear buckets, within 1/16 */
	/* per whole second, oldest first; [SRV_SECONDS - 1] is the second
	 * that ended last: requests, errors (5xx answers) and failed upstream
	 * attempts (no response, or not 2xx) */
	uint32_t sec_requests[SRV_SECONDS], sec_errors[SRV_SECONDS];
	uint32_t sec_upstream_errors[SRV_SECONDS];
	uint64_t last_model_ok_unix_ms;   /* the last 2xx of /v1/responses or chat (0: none) */
	/* requests by route (those with any, most first) and by status class
	 * (by_class[1..5]: 1xx..5xx); upstream attempts and the failed ones */
	struct { char name[40]; uint64_t n; } routes[SRV_ROUTE_COUNTS];
	unsigned nroutes;
	uint64_t by_class[6];
	uint64_t upstream_attempts, upstream_errors;
	char model[64];                   /* the --model served (routes: route_lines) */
	srv_recent recent[SRV_RECENT_MAX];/* newest last */
	unsigned nrecent;
	/* routes (--gateway-routes): one line per target, "route provider/model
	 * circuit requests errors", at most SRV_ROUTE_LINES; ntargets counts them all */
	char route_lines[SRV_ROUTE_LINES][96];
	unsigned nroute_lines, ntargets;
} srv_stats;

typedef struct srv_server srv_server;

/* Runs the server in the foreground until SIGINT or SIGTERM, printing the
 * service status line and "gateway openresponses server listening:
 * endpoint=/v1/responses addr=<ip:port> state_dir=<dir>" on stdout.
 * Returns the process exit status (0; 69 when the bind fails; ...). */
int srv_run_foreground(const srv_config *cfg, gw_err *err);

/* Records a service start, binds and starts serving on background threads;
 * returns once listening.  0 or -errno with err set (bind failure: exit
 * class 69, recorded in the service block). */
int srv_start(const srv_config *cfg, srv_server **out, gw_err *err);
/* Stops accepting, ends open streams with a terminal event, waits a bounded
 * time, records a stop (reason openresponses_server_shutdown) and frees s. */
void srv_stop(srv_server *s);
/* Copies the live counters (thread-safe). */
void srv_get_stats(srv_server *s, srv_stats *out);
/* Reloads the routes file (--gateway-routes), as SIGHUP does: validated
 * in full first; a bad file is refused (err names its line and column)
 * and the old routes keep serving.  Logged, and recorded as a lifecycle
 * event (transition routes_reload, outcome applied or refused).  0, or
 * -errno with err set (no routes file: -ENOENT). */
int srv_routes_reload(srv_server *s, gw_err *err);
/* A descriptor that becomes readable whenever the stats change (an eventfd;
 * read 8 bytes to clear it).  Owned by the server. */
int srv_event_fd(srv_server *s);

/* Appends the server's libraries, one "  name version" line each, for
 * --version. */
void srv_libraries(gw_buf *out);

#endif
