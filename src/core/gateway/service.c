/*
 * service.c - lifecycle transitions.  Every transition holds the state
 * lock across load, change, save and event append, so a stop issued during
 * a runner cycle is never lost.  The lock is the store's exclusive section
 * (the file store's flock, or a PostgreSQL transaction holding the
 * deployment's row), so the same code serves both backends.  The runner holds that lock only for its
 * short read-modify-write sections, never across an evaluation or a
 * backoff sleep, so a stop waits milliseconds, not a cycle.
 */
#include "core/gateway/service.h"
#include "core/base/clock.h"
#include "core/gateway/events.h"
#include "core/gateway/posture.h"
#include "core/base/fs.h"
#include "core/base/json.h"
#include "core/base/str.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void
gw_service_report_from_state(gw_service_report *r, const gw_state *st)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->state_path, sizeof(r->state_path), "%s", st->path);
	r->service = st->service;
	r->health = st->health;
	gw_gates_compute(&r->gates, &st->guardrail, &st->health, st->service.stopped);
	snprintf(r->notice, sizeof(r->notice), "%s", st->notice);
}

bool
gw_service_operator_stopped(const gw_service_block *b)
{
	return b->stopped && strcmp(b->last_stop_reason, GW_STOP_REASON_SERVER) != 0 &&
	    strcmp(b->last_stop_reason, GW_STOP_REASON_STARTUP_FAILED) != 0;
}

int
gw_service_reason_check(const char *reason, gw_err *err)
{
	if (reason != NULL && reason[0] != '\0' && gw_str_blank(reason))
		return gw_err_set(err, -EINVAL, GW_EXIT_USAGE,
		    "--gateway-service-stop-reason cannot be empty or whitespace");
	return 0;
}

typedef enum { GW_OP_START, GW_OP_STOP, GW_OP_FAILED } gw_service_op;

/* Joins a run (the state lock is held): a shared lock on .run.lock, and,
 * when no other run holds it while the marker of an earlier run is there,
 * the "unclean_shutdown" event.  0 or -errno with err set (run released). */
static int
gw_service_run_join(const char *dir, gw_lock *run, const gw_service_block *s, uint64_t now,
    gw_err *err)
{
	char *lockpath = gw_path_join(dir, GW_SERVICE_RUN_LOCK);
	char *marker = gw_path_join(dir, GW_SERVICE_RUN_MARKER);
	gw_err tmp;
	gw_err_clear(&tmp);
	int rc = gw_lock_try_file(run, lockpath, true, &tmp);
	bool alone = rc == 0;
	if (rc == 0)
		rc = gw_lock_convert(run, false) == 0 ? 0 :
		    gw_err_set(err, -EIO, GW_EXIT_IOERR, "cannot share the lock %s", lockpath);
	else if (rc == -EWOULDBLOCK)
		rc = gw_lock_try_file(run, lockpath, false, err);
	else if (err != NULL)
		*err = tmp;
	if (rc == 0 && alone) {
		gw_buf text = GW_BUF_INIT;
		int mr = gw_fs_read_file(marker, &text, NULL);
		if (mr == 0) {
			cJSON *m = cJSON_ParseWithLength(gw_buf_cstr(&text), text.len);
			uint64_t pid = 0, started = 0;
			gw_json_as_u64(cJSON_GetObjectItemCaseSensitive(m, "pid"), &pid);
			gw_json_as_u64(cJSON_GetObjectItemCaseSensitive(m, "started_unix_ms"), &started);
			cJSON_Delete(m);
			gw_buf why = GW_BUF_INIT;
			gw_buf_printf(&why, "the previous run (pid %llu, started_unix_ms %llu) ended without a clean stop",
			    (unsigned long long)pid, (unsigned long long)started);
			rc = gw_events_append_lifecycle(dir, now, GW_TRANSITION_UNCLEAN, "stopped",
			    gw_buf_cstr(&why), s->startup_attempts, err);
			gw_buf_free(&why);
		}
		gw_buf_free(&text);
	}
	if (rc != 0)
		gw_lock_release(run);
	free(lockpath);
	free(marker);
	return rc;
}

/* Marks the run open (after its start was recorded). */
static int
gw_service_run_mark(const char *dir, uint64_t now, gw_err *err)
{
	char *marker = gw_path_join(dir, GW_SERVICE_RUN_MARKER);
	gw_buf b = GW_BUF_INIT;
	gw_buf_printf(&b, "{\"pid\":%ld,\"started_unix_ms\":%llu}\n", (long)getpid(),
	    (unsigned long long)now);
	int rc = gw_fs_write_atomic(marker, b.data, b.len, err);
	gw_buf_free(&b);
	free(marker);
	return rc;
}

/* Leaves a run: the last one out (its shared lock converts to exclusive)
 * removes the marker when its stop was recorded; run is released. */
static void
gw_service_run_leave(const char *dir, gw_lock *run, bool recorded)
{
	if (run->fd < 0)
		return;
	if (recorded && gw_lock_convert(run, true) == 0) {
		char *marker = gw_path_join(dir, GW_SERVICE_RUN_MARKER);
		unlink(marker);
		free(marker);
	}
	gw_lock_release(run);
}

/* One transition inside the store's exclusive section (files: the flock
 * on .lock; PostgreSQL: the deployment's row FOR UPDATE): load, change,
 * save, lifecycle event, commit.  run (files only) joins or leaves a
 * server run as well. */
static int
gw_service_transition(gw_store *store, gw_service_op op, const char *text, gw_lock *run,
    bool *already, gw_service_report *out, gw_err *err)
{
	static const char *const who[] = { "service start", "service stop", "service startup_failed" };
	const char *dir = gw_store_dir(store);
	int rc = gw_store_begin(store, who[op], err);
	if (rc != 0) {
		if (run != NULL && op != GW_OP_START)
			gw_service_run_leave(dir, run, false);
		return rc;
	}
	gw_state *st;
	rc = gw_posture_load(store, GW_STATE_WRITE, &st, err);
	if (rc != 0) {
		if (run != NULL && op != GW_OP_START)
			gw_service_run_leave(dir, run, false);
		gw_store_abort(store);
		return rc;
	}
	uint64_t now = gw_clock_unix_ms();
	gw_state_normalize_service(st, now);
	gw_service_block *s = &st->service;
	if (already != NULL) {
		/* an operator's start of a running service, or stop of a stopped
		 * one, records nothing (a never-written state has nothing to be
		 * "already": its first start is recorded, as the runbook's) */
		*already = st->existed &&
		    (op == GW_OP_START ? !s->stopped : gw_service_operator_stopped(s));
		if (*already) {
			if (out != NULL)
				gw_service_report_from_state(out, st);
			gw_state_free(st);
			gw_store_abort(store);
			return 0;
		}
	}
	if (run != NULL && op == GW_OP_START &&
	    (rc = gw_service_run_join(dir, run, s, now, err)) != 0) {
		gw_state_free(st);
		gw_store_abort(store);
		return rc;
	}
	const char *transition, *reason = "";
	char trimmed[sizeof(s->last_stop_reason)];
	switch (op) {
	case GW_OP_START:
		s->stopped = false;
		s->startup_attempts++;
		s->startup_failure_streak = 0;
		s->last_startup_error[0] = '\0';
		s->last_started_unix_ms = s->last_transition_unix_ms = now;
		transition = "start";
		break;
	case GW_OP_STOP: {
		if (gw_str_copy_trim(trimmed, sizeof(trimmed), text ? text : "", GW_STR_KEEP) == 0)
			snprintf(trimmed, sizeof(trimmed), "%s", GW_STOP_REASON_DEFAULT);
		s->stopped = true;
		s->last_stopped_unix_ms = s->last_transition_unix_ms = now;
		snprintf(s->last_stop_reason, sizeof(s->last_stop_reason), "%s", trimmed);
		transition = "stop";
		reason = trimmed;
		break;
	}
	default:
		s->stopped = true;
		s->startup_failure_streak++;
		snprintf(s->last_startup_error, sizeof(s->last_startup_error), "%s", text ? text : "");
		s->last_stopped_unix_ms = s->last_transition_unix_ms = now;
		snprintf(s->last_stop_reason, sizeof(s->last_stop_reason), "%s", GW_STOP_REASON_STARTUP_FAILED);
		transition = "startup_failed";
		reason = s->last_startup_error;
		break;
	}
	rc = gw_posture_save(store, st, err);
	if (rc == 0) {
		gw_buf line = GW_BUF_INIT;
		gw_events_lifecycle_line(&line, now, transition, s->stopped ? "stopped" : "running", reason,
		    s->startup_attempts);
		rc = gw_store_event_append(store, line.data, line.len, err);
		gw_buf_free(&line);
	}
	if (run != NULL && op == GW_OP_START) {
		if (rc == 0)
			rc = gw_service_run_mark(dir, now, err);
		if (rc != 0)
			gw_lock_release(run);
	} else if (run != NULL) {
		gw_service_run_leave(dir, run, rc == 0);
	}
	/* nothing is reported done before the store says it is */
	if (rc == 0)
		rc = gw_store_commit(store, err);
	else
		gw_store_abort(store);
	if (rc == 0 && out != NULL)
		gw_service_report_from_state(out, st);
	gw_state_free(st);
	return rc;
}

/* A transition on the file store of dir. */
static int
gw_service_transition_dir(const char *dir, gw_service_op op, const char *text, gw_lock *run,
    gw_service_report *out, gw_err *err)
{
	gw_store *store;
	gw_store_open_dir(dir, &store, err);
	int rc = gw_service_transition(store, op, text, run, NULL, out, err);
	gw_store_close(store);
	return rc;
}

int
gw_service_start(const char *dir, gw_service_report *out, gw_err *err)
{
	return gw_service_transition_dir(dir, GW_OP_START, NULL, NULL, out, err);
}

int
gw_service_start_in(gw_store *store, gw_service_report *out, gw_err *err)
{
	return gw_service_transition(store, GW_OP_START, NULL, NULL, NULL, out, err);
}

int
gw_service_run_start(const char *dir, gw_lock *run, gw_service_report *out, gw_err *err)
{
	run->fd = -1;
	return gw_service_transition_dir(dir, GW_OP_START, NULL, run, out, err);
}

int
gw_service_run_stop(const char *dir, gw_lock *run, const char *reason, gw_service_report *out,
    gw_err *err)
{
	return gw_service_transition_dir(dir, GW_OP_STOP, reason, run, out, err);
}

int
gw_service_run_failed(const char *dir, gw_lock *run, const char *error,
    gw_service_report *out, gw_err *err)
{
	return gw_service_transition_dir(dir, GW_OP_FAILED, error, run, out, err);
}

int
gw_service_stop(const char *dir, const char *reason, gw_service_report *out, gw_err *err)
{
	return gw_service_transition_dir(dir, GW_OP_STOP, reason, NULL, out, err);
}

int
gw_service_stop_in(gw_store *store, const char *reason, gw_service_report *out, gw_err *err)
{
	return gw_service_transition(store, GW_OP_STOP, reason, NULL, NULL, out, err);
}

int
gw_service_request_in(gw_store *store, bool stop, const char *reason, bool *already,
    gw_service_report *out, gw_err *err)
{
	bool dummy;
	return gw_service_transition(store, stop ? GW_OP_STOP : GW_OP_START, reason, NULL,
	    already != NULL ? already : &dummy, out, err);
}

int
gw_service_startup_failed(const char *dir, const char *error, gw_service_report *out, gw_err *err)
{
	return gw_service_transition_dir(dir, GW_OP_FAILED, error, NULL, out, err);
}

int
gw_service_startup_failed_in(gw_store *store, const char *error, gw_service_report *out,
    gw_err *err)
{
	return gw_service_transition(store, GW_OP_FAILED, error, NULL, NULL, out, err);
}

int
gw_service_status_in(gw_store *store, gw_service_report *out, gw_err *err)
{
	gw_state *st;
	int rc = gw_posture_load(store, GW_STATE_READ_POSTURE, &st, err);
	if (rc != 0)
		return rc;
	gw_state_normalize_service(st, gw_clock_unix_ms());
	gw_service_report_from_state(out, st);
	gw_state_free(st);
	return 0;
}

int
gw_service_status(const char *dir, gw_service_report *out, gw_err *err)
{
	gw_store *store;
	gw_store_open_dir(dir, &store, err);
	int rc = gw_service_status_in(store, out, err);
	gw_store_close(store);
	return rc;
}

void
gw_service_report_text(const gw_service_report *r, gw_buf *b)
{
	const gw_service_block *s = &r->service;
	gw_buf_printf(b,
	    "gateway service status: state_path=%s service_status=%s rollout_gate=%s "
	    "rollout_reason_code=%s guardrail_gate=%s guardrail_reason_code=%s startup_attempts=%llu "
	    "startup_failure_streak=%llu last_startup_error=%s last_started_unix_ms=%llu "
	    "last_stopped_unix_ms=%llu last_transition_unix_ms=%llu last_stop_reason=%s "
	    "queue_depth=%llu failure_streak=%llu last_cycle_failed=%llu last_cycle_completed=%llu",
	    r->state_path, s->stopped ? "stopped" : "running", r->gates.rollout_gate,
	    r->gates.rollout_reason_code, r->gates.guardrail_gate, r->gates.guardrail_reason_code,
	    (unsigned long long)s->startup_attempts, (unsigned long long)s->startup_failure_streak,
	    gw_str_or_none(s->last_startup_error), (unsigned long long)s->last_started_unix_ms,
	    (unsigned long long)s->last_stopped_unix_ms, (unsigned long long)s->last_transition_unix_ms,
	    gw_str_or_none(s->last_stop_reason), (unsigned long long)r->health.queue_depth,
	    (unsigned long long)r->health.failure_streak, (unsigned long long)r->health.last_cycle_failed,
	    (unsigned long long)r->health.last_cycle_completed);
}

void
gw_service_report_write(gw_jw *w, const gw_service_report *r)
{
	const gw_service_block *s = &r->service;
	gw_jw_obj_begin(w);
	gw_jw_kstr(w, "state_path", r->state_path);
	gw_jw_kstr(w, "service_status", s->stopped ? "stopped" : "running");
	gw_jw_kstr(w, "rollout_gate", r->gates.rollout_gate);
	gw_jw_kstr(w, "rollout_reason_code", r->gates.rollout_reason_code);
	gw_jw_kstr(w, "guardrail_gate", r->gates.guardrail_gate);
	gw_jw_kstr(w, "guardrail_reason_code", r->gates.guardrail_reason_code);
	gw_jw_ku64(w, "service_startup_attempts", s->startup_attempts);
	gw_jw_ku64(w, "service_startup_failure_streak", s->startup_failure_streak);
	gw_jw_kstr(w, "service_last_startup_error", s->last_startup_error);
	gw_jw_ku64(w, "service_last_started_unix_ms", s->last_started_unix_ms);
	gw_jw_ku64(w, "service_last_stopped_unix_ms", s->last_stopped_unix_ms);
	gw_jw_ku64(w, "service_last_transition_unix_ms", s->last_transition_unix_ms);
	gw_jw_kstr(w, "service_last_stop_reason", s->last_stop_reason);
	gw_jw_key(w, "health");
	gw_health_write_json(w, &r->health);
	gw_jw_obj_end(w);
}

void
gw_service_report_json(const gw_service_report *r, gw_buf *out, bool pretty)
{
	gw_jw w;
	gw_jw_init(&w, out, pretty);
	gw_service_report_write(&w, r);
}
