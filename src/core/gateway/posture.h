/*
 * posture.h - the runbook's state (a gw_state: service block, guardrail,
 * health, and with the file store the records) loaded from and saved to a
 * store, whichever its backend, plus the event-log summary of a store.
 *
 * This is the one place that knows how each backend holds the posture:
 * the file store's state.json is read and written by state.c itself
 * (gw_state_load / gw_state_save, byte for byte as without a store), a
 * PostgreSQL deployment's posture row as a document (gw_state_load_text /
 * gw_state_render_posture).  service.c and status.c call these and never
 * look at the backend.
 */
#ifndef GW_POSTURE_H
#define GW_POSTURE_H

#include "core/base/err.h"
#include "core/gateway/events.h"
#include "core/gateway/state.h"
#include "core/store/store.h"
#include "core/store/xfer.h"

/* Loads the state with gw_state_load's modes.  GW_STATE_WRITE only inside
 * gw_store_begin (the store's lock or transaction).  *out is the caller's
 * (gw_state_free).  Errors as gw_state_load's, or the store's. */
int gw_posture_load(gw_store *s, unsigned mode, gw_state **out, gw_err *err);
/* Saves st (inside gw_store_begin); it is durable once gw_store_commit
 * succeeds. */
int gw_posture_save(gw_store *s, gw_state *st, gw_err *err);
/* Summarises the store's event log (files: <dir>/runtime-events.jsonl
 * streamed; PostgreSQL: the deployment's event rows one at a time).  Free
 * with gw_events_summary_free. */
int gw_posture_events_summary(gw_store *s, gw_events_summary *out, gw_err *err);

/* The gateway's kinds of state for --gateway-state-import / -export
 * (xfer.h), in order: "posture" (service, guardrail, health: state.json's
 * posture, or the deployment's posture row), "events" (the event log, every
 * complete line byte for byte and in order), then the kinds PostgreSQL does
 * not hold yet, which a state directory holding them makes an import
 * refuse: "records" (the runner's processed keys and request records) and
 * "channel store" (<dir>/channel-store).  A static table; *n is its
 * length. */
const gw_xfer_kind *gw_posture_xfer_kinds(size_t *n);

#endif
