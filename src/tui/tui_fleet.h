/*
 * tui_fleet.h - the console's side of fleet mode (--gateway-state-url):
 * its own connection to the deployment's store, the change feed on it,
 * the posture and event rows read through it, the replica registry
 * refreshed on a timer, and reconnection with backoff when the connection
 * drops.
 *
 * The console is one thread, so every query here is short and bounded:
 * the connection carries a statement timeout (TUI_FLEET_STATEMENT_MS), the
 * registry is read every TUI_FLEET_REPLICAS_MS, and nothing polls the
 * database for the posture: a commit elsewhere arrives as a NOTIFY on the
 * store's descriptor, which the console's poll loop watches.  Writes (a
 * stop typed at the prompt) go through cli_execute on their own
 * connection, as the flags do.
 *
 * Ownership: tui_fleet owns its store, the copies of the URL and
 * deployment, and the replica rows; the posture and event ring it fills
 * are the caller's.  For the event ring, tui_events.off holds the row
 * cursor of gw_store_events_since instead of a file offset.
 */
#ifndef TUI_FLEET_H
#define TUI_FLEET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/base/err.h"
#include "core/store/reconnect.h"
#include "core/store/store.h"
#include "tui/tui_data.h"

#define TUI_FLEET_STATEMENT_MS 500     /* statement_timeout of the console's connection */
#define TUI_FLEET_REPLICAS_MS 1000     /* how often the Replicas panel is read */
#define TUI_FLEET_BACKOFF_MIN_MS 250   /* first reconnect delay, doubled per failure */
#define TUI_FLEET_BACKOFF_MAX_MS 5000

typedef struct tui_fleet {
	char *url;                        /* owned; never shown (it may hold a password) */
	char *deployment;                 /* owned */
	char *label;                      /* "postgresql:<db>/<deployment>", owned */
	gw_store *store;                  /* NULL while disconnected */
	char status[512];                 /* why it is disconnected; "" when connected */
	gw_reconnect retry;               /* the backoff while store is NULL */
	uint64_t replicas_at_ms;          /* monotonic ms of the next registry read */
	gw_store_replica *replicas;       /* the last read, owned */
	size_t nreplicas;
	bool reconnected;                 /* set on a reconnect; the caller clears it */
} tui_fleet;

/* Connects (statement timeout, LISTEN) and reads the registry once.  0, or
 * the store's error (exit 69 for a bad URL or an unreachable database,
 * with libpq's message, the password redacted); free with tui_fleet_close
 * in either case. */
int tui_fleet_open(tui_fleet *f, const char *url, const char *deployment, gw_err *err);
void tui_fleet_close(tui_fleet *f);
/* The descriptor to poll for input (the change feed), or -1 while
 * disconnected. */
int tui_fleet_fd(const tui_fleet *f);
/* Reads what the feed brought without blocking; returns the number of
 * posture commits seen.  A lost connection is noted (status) and a
 * reconnect scheduled. */
unsigned tui_fleet_drain(tui_fleet *f);
/* Runs what is due at now (monotonic ms): a reconnect attempt, a registry
 * read.  True when something the screen shows changed. */
bool tui_fleet_tick(tui_fleet *f, uint64_t now);
/* Milliseconds until tui_fleet_tick has something to do. */
int tui_fleet_timeout(const tui_fleet *f, uint64_t now);
/* Reads the posture into p (as tui_posture_load does from state.json).
 * While disconnected, p keeps its last values. */
void tui_fleet_posture(tui_fleet *f, tui_posture *p);
/* Adds the event rows committed since the last call to ev (the newest
 * ev->cap on the first).  The number added, or -errno with err set. */
int tui_fleet_events(tui_fleet *f, tui_events *ev, gw_err *err);

#endif
