/*
 * runner.h - one contract-runner cycle over a fixture.
 *
 * A cycle loads the fixture (outside the lock); under the state lock it
 * skips processed cases and queues at most queue_limit pending ones; with
 * the lock released it evaluates and contract-checks every queued case
 * (with retries and backoff); then under the lock again, on a fresh read of
 * the state, it writes the channel store, state.json and one event line.
 * A contract mismatch writes nothing.  A service stop that lands during the
 * cycle ends it early: nothing is applied, and the event line has the
 * reason code service_stopped.  A cancel (opts.cancel) ends the
 * evaluation at the next case boundary; what was evaluated is applied and
 * committed as a whole cycle is (reason code cycle_cancelled), except
 * that with no failed case it keeps the failure streak and a HOLD.  The lock
 * is never held across an evaluation or a sleep.
 *
 * On PostgreSQL (state_url) the two locked steps are transactions holding
 * the deployment's row (gw_store_begin): the first only reads, the second
 * writes the records, the channel store, the posture and the event line
 * and commits them together, so runners on any host serialise and a case
 * another runner applied meanwhile is skipped, never applied twice.  The
 * stop watch reads the posture row (at most every 20 ms) instead of
 * stat'ing state.json.  lock_nowait does not apply (the row wait is
 * bounded).  Reports and events are the file backend's, naming the
 * store's label.
 */
#ifndef GW_RUNNER_H
#define GW_RUNNER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/base/buf.h"
#include "core/base/err.h"
#include "core/gateway/guardrail.h"
#include "core/gateway/health.h"

#define GW_RUNNER_DEFAULT_QUEUE_LIMIT 64
#define GW_RUNNER_DEFAULT_PROCESSED_CAP 10000
#define GW_RUNNER_DEFAULT_RETRY_MAX_ATTEMPTS 4
#define GW_RUNNER_DEFAULT_RETRY_BASE_DELAY_MS 0

/* Progress: phase is "evaluate" or "write"; done/total count cases. */
typedef void (*gw_runner_progress_fn)(void *ctx, const char *phase, uint64_t done, uint64_t total);

typedef struct gw_runner_opts {
	const char *state_dir;
	const char *state_url;            /* fleet mode: a PostgreSQL connection string (the
	                                   * cycle opens its own store), else NULL: state_dir */
	const char *deployment;           /* with state_url: the deployment */
	const char *fixture_path;
	uint64_t queue_limit;
	uint64_t processed_case_cap;
	uint64_t retry_max_attempts;
	uint64_t retry_base_delay_ms;
	uint64_t failure_streak_threshold;
	uint64_t retryable_failures_threshold;
	bool lock_nowait;                 /* fail at once if another writer holds the lock
	                                   * when the cycle starts */
	gw_runner_progress_fn progress;   /* optional; called from the running thread */
	void *progress_ctx;
	/* optional, owned by the caller and outliving the run: the cases
	 * evaluated so far, stored (relaxed) after every case, for a reader on
	 * another thread (the console's progress line; no callback per case) */
	_Atomic uint64_t *cases_done;
	/* optional, owned by the caller: set from another thread to cancel the
	 * run at the next case boundary (a backoff sleep ends at once; the case
	 * in it counts as not evaluated).  The cases evaluated before it are
	 * applied and committed as a cycle's are, the rest stay pending, and
	 * the event line has the reason code cycle_cancelled. */
	const atomic_bool *cancel;
} gw_runner_opts;

typedef struct gw_cycle_report {
	uint64_t timestamp_unix_ms;
	uint64_t discovered, queued, applied, duplicate_skips, malformed;
	uint64_t retryable_failures, retry_attempts, failed, upserted_requests, backlog;
	gw_health health;
	gw_health_state health_state;
	char health_reason[GW_HEALTH_REASON_MAX];
	gw_guardrail guardrail;
	gw_gates gates;                   /* service-aware rollout gate after the cycle */
	const char *reason_codes[8];      /* static strings */
	size_t nreason_codes;
	char fixture_name[256];
	char notice[1200];                /* non-empty when a corrupt state was moved aside */
	unsigned rolled_back_files;       /* channel files an interrupted cycle's journal undid */
	bool service_stopped;             /* a stop landed during the cycle: it ended early and
	                                   * applied nothing (reason code service_stopped) */
	char stop_reason[256];            /* that stop's reason */
	bool cancelled;                   /* opts.cancel ended the evaluation early: the
	                                   * cases not evaluated stay pending (reason code
	                                   * cycle_cancelled) */
} gw_cycle_report;

/* Fills o with the defaults (state_dir and fixture_path NULL). */
void gw_runner_opts_default(gw_runner_opts *o);
/* Runs one cycle.  0 on success (whatever the gate, also when a stop ended
 * it: out->service_stopped); -errno with err set otherwise: fixture errors
 * (65/66), contract mismatch (1), lock busy or waited for too long (69),
 * I/O (73/74).  With lock_nowait only the first lock is tried without
 * waiting; the second, after the evaluation, waits (bounded). */
int gw_runner_run(const gw_runner_opts *o, gw_cycle_report *out, gw_err *err);
/* Backoff before retry `attempt` (1-based): 0 if base is 0, else
 * base * 2^min(attempt-1, 10), saturating. */
uint64_t gw_runner_retry_delay_ms(uint64_t base, uint64_t attempt);
/* Appends the two summary lines, separated by '\n', no trailing newline. */
void gw_cycle_report_text(const gw_cycle_report *r, gw_buf *out);
/* Appends the event-line object (compact). */
void gw_cycle_report_json(const gw_cycle_report *r, gw_buf *out);

#endif
