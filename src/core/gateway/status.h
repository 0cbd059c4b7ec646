/*
 * status.h - the read-only operator views: --gateway-status-inspect (state
 * plus event-log aggregation) and --transport-health-inspect gateway.
 * Neither creates nor modifies any file.
 */
#ifndef GW_STATUS_H
#define GW_STATUS_H

#include <stdbool.h>
#include <stdint.h>

#include "core/base/buf.h"
#include "core/base/err.h"
#include "core/gateway/events.h"
#include "core/gateway/guardrail.h"
#include "core/gateway/health.h"
#include "core/gateway/state.h"
#include "core/store/store.h"

typedef struct gw_status_report {
	char state_path[1024];
	char events_log_path[1024];
	bool events_log_present;
	gw_health_state health_state;
	char health_reason[512];
	gw_gates gates;
	gw_service_block service;
	gw_guardrail guardrail;
	uint64_t processed_case_count;
	uint64_t request_count;
	gw_count_map method_counts, status_code_counts, error_code_counts;
	gw_events_summary events;
	gw_health health;
} gw_status_report;

/* Builds the status report from <dir>.  A missing state.json is an error
 * (66); a corrupt one is reported (65) and left alone.  Free with
 * gw_status_report_free. */
int gw_status_inspect(const char *dir, gw_status_report *out, gw_err *err);
/* The same on any store (gw_status_inspect opens dir's file store); store
 * stays the caller's. */
int gw_status_inspect_in(gw_store *store, gw_status_report *out, gw_err *err);
void gw_status_report_free(gw_status_report *r);
/* Appends the "gateway status inspect: ..." line (no newline). */
void gw_status_report_text(const gw_status_report *r, gw_buf *out);
/* Appends the JSON report (reference field order). */
void gw_status_report_json(const gw_status_report *r, gw_buf *out, bool pretty);

typedef struct gw_health_row {
	char state_path[1024];
	gw_health health;
	gw_health_state state;
	char reason[GW_HEALTH_REASON_MAX];
} gw_health_row;

/* Reads the health block of <dir>/state.json (missing file: error 66). */
int gw_health_inspect(const char *dir, gw_health_row *out, gw_err *err);
/* The same on any store; store stays the caller's. */
int gw_health_inspect_in(gw_store *store, gw_health_row *out, gw_err *err);
/* "transport health inspect: transport=gateway target=gateway-service ..." */
void gw_health_row_text(const gw_health_row *r, gw_buf *out);
/* A JSON array with the one row (reference §7.1). */
void gw_health_row_json(const gw_health_row *r, gw_buf *out, bool pretty);

#endif
