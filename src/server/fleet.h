/*
 * fleet.h - the server in fleet mode (--gateway-state-url): one "fleet"
 * thread per server process with its own PostgreSQL connection.
 *
 * The thread registers the replica (host, bind, pid, version), heartbeats
 * every SRV_FLEET_HEARTBEAT_MS with the server's counters (requests, open
 * streams, 4xx, 5xx from metrics.c), LISTENs on the deployment's change
 * feed and keeps a cached copy of the posture (the service report, as
 * /gateway/status shows it) and of the replica list.  Event loop threads
 * read only that cache, under its mutex (srv_fleet_status_json,
 * srv_fleet_health): /gateway/status and /healthz never query the
 * database from a loop thread.  A posture commit anywhere (a stop from
 * the flags, the console or another server) reaches the cache through
 * the NOTIFY it sends, not by polling.
 *
 * Each heartbeat also deletes the deployment's rows stale for longer than
 * SRV_FLEET_REPLICA_EXPIRE_S (replicas that died without deregistering);
 * recently-stale rows stay listed, marked stale.
 *
 * Database down: a failed call whose connection is gone (or that got no
 * answer within SRV_FLEET_STATEMENT_MS + 100 ms: a silent host) closes
 * it, marks the cache stale with the reason, and reconnects (each attempt
 * bounded by SRV_FLEET_CONNECT_MS) with the backoff of
 * core/store/reconnect.h (250 ms doubling to 5 s); a reconnect LISTENs
 * again, re-reads the posture and re-registers if the row is gone.  Until
 * then /gateway/status answers from the cache marked stale and /healthz
 * says degraded with the reason.
 *
 * Ownership: the srv_fleet belongs to the srv_server (s->fleet), made by
 * srv_fleet_open and freed by srv_fleet_close; the store it holds belongs
 * to it, and only its thread uses the store once srv_fleet_run started it.
 */
#ifndef SRV_FLEET_H
#define SRV_FLEET_H

#include <stdbool.h>
#include <stddef.h>

#include "core/base/buf.h"
#include "core/base/err.h"
#include "core/gateway/service.h"

struct srv_server;
typedef struct srv_fleet srv_fleet;

#define SRV_FLEET_HEARTBEAT_MS 1000     /* heartbeat and replica list period */
#define SRV_FLEET_STATEMENT_MS 2000     /* statement_timeout of the fleet connection */
/* the longest a reconnect (or the stop's reconnect) may take to open, so a
 * silent database host cannot hold a stop for libpq's connect_timeout twice
 * over; the first connect, at start, keeps connect_timeout (10 s) */
#define SRV_FLEET_CONNECT_MS 3000
#define SRV_FLEET_BACKOFF_MIN_MS 250    /* first reconnect delay, doubled per failure */
#define SRV_FLEET_BACKOFF_MAX_MS 5000
/* A replica's row stale for longer than this (killed with -9, its host
 * gone) is deleted by a live replica's thread; until then /gateway/status
 * and the console list it as stale.  TAU_GATEWAY_FLEET_REPLICA_EXPIRE_S
 * overrides it (whole seconds, 6 to 604800: more than the 5 s stale bound,
 * so a row always shows stale before it goes). */
#define SRV_FLEET_REPLICA_EXPIRE_S 600
#define SRV_FLEET_REPLICA_EXPIRE_ENV "TAU_GATEWAY_FLEET_REPLICA_EXPIRE_S"

/* Connects to url's deployment (LISTEN, bounded statements) and records
 * the service start there (gw_service_start_in), reporting it in *rep.
 * *out is s's (srv_fleet_close).  -errno with err set: 69 when the
 * database cannot be reached (nothing was recorded), 64 when
 * SRV_FLEET_REPLICA_EXPIRE_ENV is not a whole number of seconds in range. */
int srv_fleet_open(struct srv_server *s, const char *url, const char *deployment,
    gw_service_report *rep, srv_fleet **out, gw_err *err);
/* What /gateway/status names as the state's place:
 * "postgresql:<database>/<deployment>" (no host, user or password).
 * Borrowed from f. */
const char *srv_fleet_label(const srv_fleet *f);
/* Registers the replica under the server's bind and starts the thread.
 * 0 or -errno with err set (69). */
int srv_fleet_run(srv_fleet *f, gw_err *err);
/* Records a start that failed after srv_fleet_open (the service is not
 * running).  0 with *rep filled, or -errno with err set. */
int srv_fleet_startup_failed(srv_fleet *f, const char *error, gw_service_report *rep,
    gw_err *err);
/* Stops the thread, records the service stop with reason (reconnecting
 * once if the connection is gone), deregisters the replica and closes
 * the connection.  0 with *rep filled, or -errno with err set (the stop
 * could not be recorded; the replica's row then goes stale). */
int srv_fleet_stop(srv_fleet *f, const char *reason, gw_service_report *rep, gw_err *err);
/* Frees f (after srv_fleet_stop, or instead of it on a failed start). */
void srv_fleet_close(srv_fleet *f);

/* Appends the cached service report (key-sorted JSON) to service and the
 * "fleet" object (deployment, this replica's id, the live replica list,
 * and whether the cache is stale and why) to fleet.  Any thread; never
 * touches the database. */
void srv_fleet_status_json(srv_fleet *f, gw_buf *service, gw_buf *fleet);
/* True while the fleet connection is up; else copies why into reason.
 * Any thread; never touches the database. */
bool srv_fleet_health(srv_fleet *f, char *reason, size_t n);

#endif
