/*
 * status.c - status and health inspection.  Read-only: this module must
 * never create, lock or write anything in the state directory.
 */
#include "core/gateway/status.h"
#include "core/gateway/posture.h"
#include "core/base/clock.h"
#include "core/base/fs.h"
#include "core/base/json.h"
#include "core/base/mem.h"
#include "core/base/str.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Copies a counter map of the state (sorted already). */
static void
gw_count_copy(gw_count_map *to, const gw_count_map *from)
{
	to->n = to->cap = from->n;
	to->items = from->n ? gw_xmalloc(from->n * sizeof(*to->items)) : NULL;
	if (from->n)
		memcpy(to->items, from->items, from->n * sizeof(*to->items));
}

int
gw_status_inspect(const char *dir, gw_status_report *r, gw_err *err)
{
	gw_store *store;
	gw_store_open_dir(dir, &store, err);
	int rc = gw_status_inspect_in(store, r, err);
	gw_store_close(store);
	return rc;
}

int
gw_status_inspect_in(gw_store *store, gw_status_report *r, gw_err *err)
{
	memset(r, 0, sizeof(*r));
	gw_state *st;
	int rc = gw_posture_load(store, GW_STATE_READ_EXISTING, &st, err);
	if (rc != 0)
		return rc;
	snprintf(r->state_path, sizeof(r->state_path), "%s", st->path);
	snprintf(r->events_log_path, sizeof(r->events_log_path), "%s", gw_store_events_label(store));
	rc = gw_posture_events_summary(store, &r->events, err);
	if (rc != 0) {
		gw_state_free(st);
		return rc;
	}
	r->events_log_present = r->events.present;
	r->health = st->health;
	r->service = st->service;
	r->guardrail = st->guardrail;
	char hr[GW_HEALTH_REASON_MAX];
	r->health_state = gw_health_classify(&st->health, hr, sizeof(hr));
	const char *last = r->events.last_health_reason;
	char tmp[512];
	if (last != NULL && gw_str_copy_trim(tmp, sizeof(tmp), last, GW_STR_KEEP) > 0)
		snprintf(r->health_reason, sizeof(r->health_reason), "%s", last);
	else
		snprintf(r->health_reason, sizeof(r->health_reason), "%s", hr);
	gw_gates_compute(&r->gates, &st->guardrail, &st->health, st->service.stopped);
	/* the counters state.json keeps (no record is read) */
	r->processed_case_count = st->nkeys;
	r->request_count = st->nreqs;
	gw_count_copy(&r->method_counts, &st->method_counts);
	gw_count_copy(&r->status_code_counts, &st->status_code_counts);
	gw_count_copy(&r->error_code_counts, &st->error_code_counts);
	gw_state_free(st);
	return 0;
}

void
gw_status_report_free(gw_status_report *r)
{
	free(r->method_counts.items);
	free(r->status_code_counts.items);
	free(r->error_code_counts.items);
	gw_events_summary_free(&r->events);
	memset(r, 0, sizeof(*r));
}

static void
gw_map_text(gw_buf *b, const gw_count_map *m)
{
	if (m->n == 0) {
		gw_buf_puts(b, "none");
		return;
	}
	for (size_t i = 0; i < m->n; i++)
		gw_buf_printf(b, "%s%s:%llu", i ? "," : "", m->items[i].key,
		    (unsigned long long)m->items[i].count);
}

void
gw_status_report_text(const gw_status_report *r, gw_buf *b)
{
	const gw_service_block *s = &r->service;
	const gw_guardrail *g = &r->guardrail;
	gw_buf_printf(b,
	    "gateway status inspect: state_path=%s events_log_path=%s events_log_present=%s "
	    "health_state=%s health_reason=%s rollout_gate=%s rollout_reason_code=%s service_status=%s "
	    "service_last_transition_unix_ms=%llu service_last_started_unix_ms=%llu "
	    "service_last_stopped_unix_ms=%llu service_last_stop_reason=%s service_startup_attempts=%llu "
	    "service_startup_failure_streak=%llu service_last_startup_error=%s guardrail_gate=%s "
	    "guardrail_reason_code=%s processed_case_count=%llu request_count=%llu method_counts=",
	    r->state_path, r->events_log_path, r->events_log_present ? "true" : "false",
	    gw_health_state_name(r->health_state), r->health_reason, r->gates.rollout_gate,
	    r->gates.rollout_reason_code, s->stopped ? "stopped" : "running",
	    (unsigned long long)s->last_transition_unix_ms, (unsigned long long)s->last_started_unix_ms,
	    (unsigned long long)s->last_stopped_unix_ms, gw_str_or_none(s->last_stop_reason),
	    (unsigned long long)s->startup_attempts, (unsigned long long)s->startup_failure_streak,
	    gw_str_or_none(s->last_startup_error), r->gates.guardrail_gate, r->gates.guardrail_reason_code,
	    (unsigned long long)r->processed_case_count, (unsigned long long)r->request_count);
	gw_map_text(b, &r->method_counts);
	gw_buf_puts(b, " status_code_counts=");
	gw_map_text(b, &r->status_code_counts);
	gw_buf_puts(b, " error_code_counts=");
	gw_map_text(b, &r->error_code_counts);
	gw_buf_printf(b,
	    " guardrail_failure_streak_threshold=%llu guardrail_retryable_failures_threshold=%llu "
	    "guardrail_failure_streak=%llu guardrail_last_failed_cases=%llu "
	    "guardrail_last_retryable_failures=%llu cycle_reports=%llu invalid_cycle_reports=%llu "
	    "last_reason_codes=",
	    (unsigned long long)g->failure_streak_threshold,
	    (unsigned long long)g->retryable_failures_threshold, (unsigned long long)g->failure_streak,
	    (unsigned long long)g->last_failed_cases, (unsigned long long)g->last_retryable_failures,
	    (unsigned long long)r->events.cycle_reports,
	    (unsigned long long)r->events.invalid_cycle_reports);
	if (r->events.nlast == 0)
		gw_buf_puts(b, "none");
	for (size_t i = 0; i < r->events.nlast; i++)
		gw_buf_printf(b, "%s%s", i ? "," : "", r->events.last_reason_codes[i]);
	gw_buf_puts(b, " reason_code_counts=");
	if (r->events.ncounts == 0)
		gw_buf_puts(b, "none");
	for (size_t i = 0; i < r->events.ncounts; i++)
		gw_buf_printf(b, "%s%s:%llu", i ? "," : "", r->events.counts[i].code,
		    (unsigned long long)r->events.counts[i].count);
	gw_buf_printf(b, " queue_depth=%llu failure_streak=%llu last_cycle_failed=%llu last_cycle_completed=%llu",
	    (unsigned long long)r->health.queue_depth, (unsigned long long)r->health.failure_streak,
	    (unsigned long long)r->health.last_cycle_failed,
	    (unsigned long long)r->health.last_cycle_completed);
}

static void
gw_map_json(gw_jw *w, const char *k, const gw_count_map *m)
{
	gw_jw_key(w, k);
	gw_jw_obj_begin(w);
	for (size_t i = 0; i < m->n; i++)
		gw_jw_ku64(w, m->items[i].key, m->items[i].count);
	gw_jw_obj_end(w);
}

void
gw_status_report_json(const gw_status_report *r, gw_buf *out, bool pretty)
{
	const gw_service_block *s = &r->service;
	const gw_guardrail *g = &r->guardrail;
	gw_jw w;
	gw_jw_init(&w, out, pretty);
	gw_jw_obj_begin(&w);
	gw_jw_kstr(&w, "state_path", r->state_path);
	gw_jw_kstr(&w, "events_log_path", r->events_log_path);
	gw_jw_kbool(&w, "events_log_present", r->events_log_present);
	gw_jw_kstr(&w, "health_state", gw_health_state_name(r->health_state));
	gw_jw_kstr(&w, "health_reason", r->health_reason);
	gw_jw_kstr(&w, "rollout_gate", r->gates.rollout_gate);
	gw_jw_kstr(&w, "rollout_reason_code", r->gates.rollout_reason_code);
	gw_jw_kstr(&w, "service_status", s->stopped ? "stopped" : "running");
	gw_jw_ku64(&w, "service_last_transition_unix_ms", s->last_transition_unix_ms);
	gw_jw_ku64(&w, "service_last_started_unix_ms", s->last_started_unix_ms);
	gw_jw_ku64(&w, "service_last_stopped_unix_ms", s->last_stopped_unix_ms);
	gw_jw_kstr(&w, "service_last_stop_reason", s->last_stop_reason);
	gw_jw_ku64(&w, "service_startup_attempts", s->startup_attempts);
	gw_jw_ku64(&w, "service_startup_failure_streak", s->startup_failure_streak);
	gw_jw_kstr(&w, "service_last_startup_error", s->last_startup_error);
	gw_jw_kstr(&w, "guardrail_gate", r->gates.guardrail_gate);
	gw_jw_kstr(&w, "guardrail_reason_code", r->gates.guardrail_reason_code);
	gw_jw_ku64(&w, "processed_case_count", r->processed_case_count);
	gw_jw_ku64(&w, "request_count", r->request_count);
	gw_map_json(&w, "method_counts", &r->method_counts);
	gw_map_json(&w, "status_code_counts", &r->status_code_counts);
	gw_map_json(&w, "error_code_counts", &r->error_code_counts);
	gw_jw_ku64(&w, "guardrail_failure_streak_threshold", g->failure_streak_threshold);
	gw_jw_ku64(&w, "guardrail_retryable_failures_threshold", g->retryable_failures_threshold);
	gw_jw_ku64(&w, "guardrail_failure_streak", g->failure_streak);
	gw_jw_ku64(&w, "guardrail_last_failed_cases", g->last_failed_cases);
	gw_jw_ku64(&w, "guardrail_last_retryable_failures", g->last_retryable_failures);
	gw_jw_ku64(&w, "cycle_reports", r->events.cycle_reports);
	gw_jw_ku64(&w, "invalid_cycle_reports", r->events.invalid_cycle_reports);
	gw_jw_key(&w, "last_reason_codes");
	gw_jw_arr_begin(&w);
	for (size_t i = 0; i < r->events.nlast; i++)
		gw_jw_str(&w, r->events.last_reason_codes[i]);
	gw_jw_arr_end(&w);
	gw_jw_key(&w, "reason_code_counts");
	gw_jw_obj_begin(&w);
	for (size_t i = 0; i < r->events.ncounts; i++)
		gw_jw_ku64(&w, r->events.counts[i].code, r->events.counts[i].count);
	gw_jw_obj_end(&w);
	gw_jw_key(&w, "health");
	gw_health_write_json(&w, &r->health);
	gw_jw_obj_end(&w);
}

int
gw_health_inspect(const char *dir, gw_health_row *out, gw_err *err)
{
	gw_store *store;
	gw_store_open_dir(dir, &store, err);
	int rc = gw_health_inspect_in(store, out, err);
	gw_store_close(store);
	return rc;
}

int
gw_health_inspect_in(gw_store *store, gw_health_row *out, gw_err *err)
{
	memset(out, 0, sizeof(*out));
	gw_state *st;
	int rc = gw_posture_load(store, GW_STATE_READ_EXISTING | GW_STATE_READ_POSTURE, &st, err);
	if (rc != 0)
		return rc;
	snprintf(out->state_path, sizeof(out->state_path), "%s", st->path);
	out->health = st->health;
	out->state = gw_health_classify(&st->health, out->reason, sizeof(out->reason));
	gw_state_free(st);
	return 0;
}

void
gw_health_row_text(const gw_health_row *r, gw_buf *out)
{
	gw_buf_printf(out, "transport health inspect: transport=gateway target=gateway-service state_path=%s",
	    r->state_path);
	gw_health_write_text(out, &r->health);
}

void
gw_health_row_json(const gw_health_row *r, gw_buf *out, bool pretty)
{
	gw_jw w;
	gw_jw_init(&w, out, pretty);
	gw_jw_arr_begin(&w);
	gw_jw_obj_begin(&w);
	gw_jw_kstr(&w, "transport", "gateway");
	gw_jw_kstr(&w, "target", "gateway-service");
	gw_jw_kstr(&w, "state_path", r->state_path);
	gw_jw_key(&w, "health");
	gw_health_write_json(&w, &r->health);
	gw_jw_obj_end(&w);
	gw_jw_arr_end(&w);
}
