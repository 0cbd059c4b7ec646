/*
 * service.h - the service lifecycle posture: start, stop with a reason,
 * status, and a recorded start-up failure.
 *
 * Each operation is one locked read-modify-write of the posture plus a
 * lifecycle event line (state.json and runtime-events.jsonl, or a
 * PostgreSQL deployment's rows in one transaction), and returns a report
 * every face renders: a text line (gw_service_report_text), JSON
 * (gw_service_report_json), a console header or an HTTP body.
 */
#ifndef GW_SERVICE_H
#define GW_SERVICE_H

#include <stdbool.h>

#include "core/base/buf.h"
#include "core/base/err.h"
#include "core/base/fs.h"
#include "core/gateway/guardrail.h"
#include "core/gateway/health.h"
#include "core/gateway/state.h"
#include "core/store/store.h"

typedef struct gw_service_report {
	char state_path[1024];
	gw_service_block service;
	gw_gates gates;
	gw_health health;
	char notice[1200];        /* non-empty when a corrupt state was moved aside */
} gw_service_report;

#define GW_STOP_REASON_DEFAULT "operator_requested"
/* The reasons a server run records for itself: its own shutdown, and a
 * failed start (gw_service_startup_failed). */
#define GW_STOP_REASON_SERVER "openresponses_server_shutdown"
#define GW_STOP_REASON_STARTUP_FAILED "startup_failed"

/* True when b is stopped by an operator (the flag, the console, the
 * prompt): stopped, and not by a server run's own shutdown or failed
 * start. */
bool gw_service_operator_stopped(const gw_service_block *b);

/* The one check of an operator's stop reason (the flag, the console's S
 * prompt and its stop word): NULL or "" is fine (operator_requested is
 * recorded, as the reference does for an empty value); text that is all
 * blanks is refused with "--gateway-service-stop-reason cannot be empty or
 * whitespace" (-EINVAL, exit 64). */
int gw_service_reason_check(const char *reason, gw_err *err);

/* Marks the service running (startup_attempts += 1). */
int gw_service_start(const char *dir, gw_service_report *out, gw_err *err);
/* Marks it stopped; a NULL or blank reason records "operator_requested". */
int gw_service_stop(const char *dir, const char *reason, gw_service_report *out, gw_err *err);
/* Reads the posture without writing (missing state: defaults). */
int gw_service_status(const char *dir, gw_service_report *out, gw_err *err);
/* The same three on any store (the functions above open dir's file store
 * and call these); store stays the caller's. */
int gw_service_start_in(gw_store *store, gw_service_report *out, gw_err *err);
int gw_service_stop_in(gw_store *store, const char *reason, gw_service_report *out, gw_err *err);
int gw_service_status_in(gw_store *store, gw_service_report *out, gw_err *err);
/* An operator's start (stop false) or stop (reason as gw_service_stop_in):
 * the same transition, except that a service already in that state (a
 * state that exists and says running, or an operator's stop in force,
 * gw_service_operator_stopped: a server's own shutdown is no operator's
 * stop, so the runbook's rollback stop after it records its reason) is left
 * alone: nothing is written or appended, *already is set and out reports
 * the posture as it is (the reason of the stop in force).  The flags and the console use
 * it; a server's own start and stop record every time. */
int gw_service_request_in(gw_store *store, bool stop, const char *reason, bool *already,
    gw_service_report *out, gw_err *err);
/* Records a failed start (e.g. bind failure): stopped, streak += 1,
 * last_startup_error = error, reason "startup_failed". */
int gw_service_startup_failed(const char *dir, const char *error, gw_service_report *out,
    gw_err *err);
/* The same on any store (a fleet-mode server whose start failed after it
 * recorded its start); store stays the caller's. */
int gw_service_startup_failed_in(gw_store *store, const char *error, gw_service_report *out,
    gw_err *err);

/*
 * A run: a server (foreground or inside the console) serving the state
 * directory from its start to its stop.  gw_service_run_start is
 * gw_service_start that also takes a shared flock on <dir>/.run.lock for
 * the run's life (run, owned by the caller until run_stop or run_failed
 * releases it) and leaves the marker <dir>/.run (pid, start time) while
 * any run is open.  A start that finds the marker while no run holds the
 * lock knows the previous run ended without a clean stop (kill -9, a
 * crash, power loss) and first records an "unclean_shutdown" lifecycle
 * event.  The run that stops last removes the marker.
 */
#define GW_SERVICE_RUN_MARKER ".run"
#define GW_SERVICE_RUN_LOCK ".run.lock"
#define GW_TRANSITION_UNCLEAN "unclean_shutdown"
int gw_service_run_start(const char *dir, gw_lock *run, gw_service_report *out, gw_err *err);
/* gw_service_stop for a run; releases run. */
int gw_service_run_stop(const char *dir, gw_lock *run, const char *reason, gw_service_report *out,
    gw_err *err);
/* gw_service_startup_failed for a run; releases run. */
int gw_service_run_failed(const char *dir, gw_lock *run, const char *error,
    gw_service_report *out, gw_err *err);

/* Fills a report from a loaded state (no I/O). */
void gw_service_report_from_state(gw_service_report *r, const gw_state *st);
/* Appends "gateway service status: state_path=... last_cycle_completed=N". */
void gw_service_report_text(const gw_service_report *r, gw_buf *out);
/* Appends the JSON report (reference field order). */
void gw_service_report_json(const gw_service_report *r, gw_buf *out, bool pretty);
/* Writes the report as an object through an existing writer. */
void gw_service_report_write(gw_jw *w, const gw_service_report *r);

#endif
