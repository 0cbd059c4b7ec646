/*
 * reconnect.h - keeping a long-lived fleet-mode connection: open a store
 * that LISTENs with a bounded statement time, and the backoff between
 * reconnects once the connection is gone.
 *
 * Shared by the console (src/tui/tui_fleet.c) and the server's fleet
 * thread (src/server/fleet.c), which both hold one connection for their
 * whole life and must survive the database going away: a failed call
 * whose connection is gone (gw_store_connected false) closes the store,
 * gw_reconnect_lost schedules the first retry, each failed retry doubles
 * the delay up to the maximum (gw_reconnect_failed), and a successful
 * gw_reconnect_open resets it (gw_reconnect_reset).  A reconnect LISTENs
 * again, so the caller must re-read what it caches: commits made while it
 * was cut off sent no notification it could see.
 *
 * Ownership: a gw_reconnect is a plain value the caller owns; the store
 * gw_reconnect_open makes is the caller's (gw_store_close).
 */
#ifndef GW_RECONNECT_H
#define GW_RECONNECT_H

#include <stdbool.h>
#include <stdint.h>

#include "core/base/err.h"
#include "core/store/store.h"

typedef struct gw_reconnect {
	uint64_t min_ms, max_ms;   /* first delay; the ceiling of the doubling */
	uint64_t backoff_ms;       /* the delay before retry_at_ms (0: connected) */
	uint64_t retry_at_ms;      /* monotonic ms of the next attempt */
} gw_reconnect;

/* Sets the bounds; the state is "connected" (no retry due). */
void gw_reconnect_init(gw_reconnect *r, uint64_t min_ms, uint64_t max_ms);
/* Opens url's deployment (gw_store_open_url_within connect_ms; 0: libpq's
 * connect_timeout; the set-up statements below share that bound), bounds its statements to statement_ms (0: unbounded;
 * gw_store_set_timeout) and, when listen is set, LISTENs on its change
 * feed.  *out is the caller's; on failure nothing is left open and
 * err says why (69 for an unreachable database, as gw_store_open_url). */
int gw_reconnect_open(const char *url, const char *deployment, uint64_t connect_ms,
    uint64_t statement_ms, bool listen, gw_store **out, gw_err *err);
/* The connection was just lost at now: the first retry is min_ms later. */
void gw_reconnect_lost(gw_reconnect *r, uint64_t now);
/* A retry at now failed: the delay doubles (at most max_ms). */
void gw_reconnect_failed(gw_reconnect *r, uint64_t now);
/* A retry succeeded: no retry is due any more. */
void gw_reconnect_reset(gw_reconnect *r);
/* True when a retry is due at now (and one is scheduled). */
bool gw_reconnect_due(const gw_reconnect *r, uint64_t now);

#endif
