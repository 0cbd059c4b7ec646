/*
 * service.h - the service lifecycle posture: start, stop with a reason,
 * status, and a recorded start-up failure.
 *
 * Each operation is one locked read-modify-write of state.json plus a
 * lifecycle event line, and returns a report every face renders: a text
 * line (gw_service_report_text), JSON (gw_service_report_json), a console
 * header or an HTTP body.
 */
#ifndef GW_SERVICE_H
#define GW_SERVICE_H

#include <stdbool.h>

#include "core/base/buf.h"
#include "core/base/err.h"
#include "core/gateway/guardrail.h"
#include "core/gateway/health.h"
#include "core/gateway/state.h"

typedef struct gw_service_report {
	char state_path[1024];
	gw_service_block service;
	gw_gates gates;
	gw_health health;
	char notice[1200];        /* non-empty when a corrupt state was moved aside */
} gw_service_report;

#define GW_STOP_REASON_DEFAULT "operator_requested"

/* Marks the service running (startup_attempts += 1). */
int gw_service_start(const char *dir, gw_service_report *out, gw_err *err);
/* Marks it stopped; a NULL or blank reason records "operator_requested". */
int gw_service_stop(const char *dir, const char *reason, gw_service_report *out, gw_err *err);
/* Reads the posture without writing (missing state: defaults). */
int gw_service_status(const char *dir, gw_service_report *out, gw_err *err);
/* Records a failed start (e.g. bind failure): stopped, streak += 1,
 * last_startup_error = error, reason "startup_failed". */
int gw_service_startup_failed(const char *dir, const char *error, gw_service_report *out,
    gw_err *err);

/* Fills a report from a loaded state (no I/O). */
void gw_service_report_from_state(gw_service_report *r, const gw_state *st);
/* Appends "gateway service status: state_path=... last_cycle_completed=N". */
void gw_service_report_text(const gw_service_report *r, gw_buf *out);
/* Appends the JSON report (reference field order). */
void gw_service_report_json(const gw_service_report *r, gw_buf *out, bool pretty);
/* Writes the report as an object through an existing writer. */
void gw_service_report_write(gw_jw *w, const gw_service_report *r);

#endif
