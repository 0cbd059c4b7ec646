/*
 * test_runner.c - contract-runner cycles on temporary state directories,
 * with the counts our corrected runner defines: dedupe before the queue
 * limit, retryable failures counted per case, failed cases stored as
 * records but not marked processed, malformed cases stored and processed,
 * upserted_requests counting every record written.  Also retry delays,
 * queue draining, the processed-key cap, reason codes, and that a
 * contract mismatch writes nothing.  The pending queue's order (cases that
 * never failed first, then case_id) is checked in one cycle and in two
 * cycles sorting at the same time on two threads, which must not see each
 * other's state.
 */
#include "unit.h"
#include "state_util.h"

#include <dirent.h>

#include <pthread.h>

#include "core/base/clock.h"
#include "core/gateway/runner.h"
#include "core/gateway/service.h"
#include "core/gateway/state.h"

typedef struct {
	char *root;
	char *dir;       /* <root>/gw: the state directory */
	char *events;
	char *fixture;   /* scratch fixture path */
} fx;

static int
setup(void **state)
{
	fx *f = gw_xcalloc(1, sizeof(*f));
	f->root = ut_tmpdir();
	f->dir = ut_join(f->root, "gw");
	f->events = ut_join(f->dir, "runtime-events.jsonl");
	f->fixture = ut_join(f->root, "fixture.json");
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	fx *f = *state;
	ut_rmrf(f->root);
	free(f->root);
	free(f->dir);
	free(f->events);
	free(f->fixture);
	free(f);
	return 0;
}

static int
run(fx *f, const char *fixture, uint64_t queue_limit, gw_cycle_report *r, gw_err *err)
{
	gw_runner_opts o;
	gw_runner_opts_default(&o);
	o.state_dir = f->dir;
	o.fixture_path = fixture;
	if (queue_limit)
		o.queue_limit = queue_limit;
	gw_err_clear(err);
	return gw_runner_run(&o, r, err);
}

static char *
text_of(const gw_cycle_report *r)
{
	gw_buf b = GW_BUF_INIT;
	gw_cycle_report_text(r, &b);
	return gw_buf_detach(&b);
}

static char *
codes_of(const gw_cycle_report *r)
{
	gw_buf b = GW_BUF_INIT;
	for (size_t i = 0; i < r->nreason_codes; i++)
		gw_buf_printf(&b, "%s%s", i ? "," : "", r->reason_codes[i]);
	return gw_buf_detach(&b);
}

/* Writes a fixture of n GET success cases c000.. for actors a0..a2. */
static void
write_success_fixture(const char *path, int n)
{
	gw_buf b = GW_BUF_INIT;
	gw_buf_puts(&b, "{\"schema_version\":1,\"name\":\"gen\",\"cases\":[");
	for (int i = 0; i < n; i++)
		gw_buf_printf(&b, "%s{\"case_id\":\"c%03d\",\"method\":\"GET\",\"endpoint\":\"/v1/x/%d\","
		    "\"actor_id\":\"a%d\",\"expected\":{\"outcome\":\"success\",\"status_code\":200,"
		    "\"response_body\":{\"actor_id\":\"a%d\",\"endpoint\":\"/v1/x/%d\",\"method\":\"GET\","
		    "\"status\":\"accepted\"}}}", i ? "," : "", i, i, i % 3, i % 3, i);
	gw_buf_puts(&b, "]}");
	ut_write(path, b.data);
	gw_buf_free(&b);
}

/* Appends one case "<id>" (GET /o/<id>, actor "sorter") to b: a success,
 * or a simulated retryable failure. */
static void
put_order_case(gw_buf *b, const char *id, bool fails, bool first)
{
	gw_buf_printf(b, "%s{\"case_id\":\"%s\",\"method\":\"GET\",\"endpoint\":\"/o/%s\","
	    "\"actor_id\":\"sorter\",", first ? "" : ",", id, id);
	if (fails)
		gw_buf_puts(b, "\"simulate_retryable_failure\":true,\"expected\":{\"outcome\":"
		    "\"retryable_failure\",\"status_code\":503,\"error_code\":"
		    "\"gateway_backend_unavailable\",\"response_body\":{\"status\":\"retryable\","
		    "\"reason\":\"backend_unavailable\"}}}");
	else
		gw_buf_printf(b, "\"expected\":{\"outcome\":\"success\",\"status_code\":200,"
		    "\"response_body\":{\"actor_id\":\"sorter\",\"endpoint\":\"/o/%s\","
		    "\"method\":\"GET\",\"status\":\"accepted\"}}}", id);
}

/* Returns the malloc'ed case_ids of the log lines of actor "sorter" from
 * line `skip` on, each followed by ' '. */
static char *
logged_order(const char *dir, size_t skip)
{
	char *path = ut_join(dir, "channel-store/gateway/sorter/log.jsonl");
	char *text = ut_read(path);
	gw_buf out = GW_BUF_INIT;
	size_t line = 0;
	for (const char *p = text; *p != '\0'; line++) {
		const char *nl = strchr(p, '\n');
		assert_non_null(nl);
		if (line >= skip) {
			const char *k = strstr(p, "\"case_id\":\"");
			assert_true(k != NULL && k < nl);
			k += strlen("\"case_id\":\"");
			const char *e = strchr(k, '"');
			gw_buf_append(&out, k, (size_t)(e - k));
			gw_buf_putc(&out, ' ');
		}
		p = nl + 1;
	}
	free(text);
	free(path);
	return gw_buf_detach(&out);
}

static int
run_limited(const char *dir, const char *fixture, uint64_t queue_limit, gw_cycle_report *r,
    gw_err *err)
{
	gw_runner_opts o;
	gw_runner_opts_default(&o);
	o.state_dir = dir;
	o.fixture_path = fixture;
	o.queue_limit = queue_limit;
	o.retry_max_attempts = 1;
	gw_err_clear(err);
	return gw_runner_run(&o, r, err);
}

static void
test_pending_order(void **state)
{
	fx *f = *state;
	gw_cycle_report r;
	gw_err err;
	/* cycle 1: "b" and "d" fail and stay pending with a failed record */
	gw_buf b = GW_BUF_INIT;
	gw_buf_puts(&b, "{\"schema_version\":1,\"name\":\"order1\",\"cases\":[");
	put_order_case(&b, "d", true, true);
	put_order_case(&b, "b", true, false);
	gw_buf_puts(&b, "]}");
	ut_write(f->fixture, b.data);
	assert_int_equal(run_limited(f->dir, f->fixture, 64, &r, &err), 0);
	assert_int_equal(r.failed, 2);
	char *order = logged_order(f->dir, 0);
	assert_string_equal(order, "b d ");
	free(order);

	/* cycle 2, fixture in reverse order: the new cases come first, in
	 * case_id order, then the ones that failed before */
	gw_buf_reset(&b);
	gw_buf_puts(&b, "{\"schema_version\":1,\"name\":\"order2\",\"cases\":[");
	put_order_case(&b, "e", false, true);
	put_order_case(&b, "d", true, false);
	put_order_case(&b, "c", false, false);
	put_order_case(&b, "b", true, false);
	put_order_case(&b, "a", false, false);
	put_order_case(&b, "B", false, false);
	gw_buf_puts(&b, "]}");
	ut_write(f->fixture, b.data);
	assert_int_equal(run_limited(f->dir, f->fixture, 64, &r, &err), 0);
	order = logged_order(f->dir, 2);
	assert_string_equal(order, "B a c e b d ");
	free(order);

	/* the queue limit takes the head of that order: a failed case waits */
	ut_rmrf(f->dir);
	gw_buf_reset(&b);
	gw_buf_puts(&b, "{\"schema_version\":1,\"name\":\"order3\",\"cases\":[");
	put_order_case(&b, "a", true, true);
	gw_buf_puts(&b, "]}");
	ut_write(f->fixture, b.data);
	assert_int_equal(run_limited(f->dir, f->fixture, 64, &r, &err), 0);
	gw_buf_reset(&b);
	gw_buf_puts(&b, "{\"schema_version\":1,\"name\":\"order4\",\"cases\":[");
	put_order_case(&b, "a", true, true);
	put_order_case(&b, "z", false, false);
	gw_buf_puts(&b, "]}");
	ut_write(f->fixture, b.data);
	assert_int_equal(run_limited(f->dir, f->fixture, 1, &r, &err), 0);
	assert_int_equal(r.queued, 1);
	assert_int_equal(r.backlog, 1);
	order = logged_order(f->dir, 1);
	assert_string_equal(order, "z ");
	free(order);
	gw_buf_free(&b);
}

/*
 * Two cycles sorting at once on two threads.  Each state directory has a
 * different half of ORDER_N cases recorded as failed (even ids in one, odd
 * in the other) and gets the cases in a different fixture order, so a sort
 * that consulted the other thread's state (or none) would put the wrong
 * half first.  The sort of ORDER_N cases takes long enough that the two
 * overlap; the rounds make a miss of the overlap in all of them unlikely.
 */
#define ORDER_N 6000
#define ORDER_ROUNDS 4

typedef struct {
	char *dir, *fixture;
	int parity;          /* cases whose index has this parity failed before */
	int rc;
	char msg[256];
	pthread_barrier_t *start;
} order_job;

static void
order_prepare(order_job *j)
{
	gw_buf b = GW_BUF_INIT;
	char id[16];
	/* cycle 1 (here, single-threaded): record this parity's cases as failed */
	gw_buf_puts(&b, "{\"schema_version\":1,\"name\":\"fail\",\"cases\":[");
	bool first = true;
	for (int i = j->parity; i < ORDER_N; i += 2) {
		snprintf(id, sizeof(id), "k%05d", i);
		put_order_case(&b, id, true, first);
		first = false;
	}
	gw_buf_puts(&b, "]}");
	ut_write(j->fixture, b.data);
	gw_cycle_report r;
	gw_err err;
	assert_int_equal(run_limited(j->dir, j->fixture, ORDER_N, &r, &err), 0);
	assert_int_equal(r.failed, ORDER_N / 2);
	/* cycle 2's fixture: every case, in a permuted order of its own */
	gw_buf_reset(&b);
	gw_buf_puts(&b, "{\"schema_version\":1,\"name\":\"all\",\"cases\":[");
	for (int k = 0; k < ORDER_N; k++) {
		int i = j->parity ? ORDER_N - 1 - k : (int)(((long)k * 7919) % ORDER_N);
		snprintf(id, sizeof(id), "k%05d", i);
		put_order_case(&b, id, i % 2 == j->parity, k == 0);
	}
	gw_buf_puts(&b, "]}");
	ut_write(j->fixture, b.data);
	gw_buf_free(&b);
}

static void *
order_thread(void *arg)
{
	order_job *j = arg;
	gw_cycle_report r;
	gw_err err;
	pthread_barrier_wait(j->start);
	j->rc = run_limited(j->dir, j->fixture, ORDER_N, &r, &err);
	snprintf(j->msg, sizeof(j->msg), "%s", j->rc ? err.msg : "");
	return NULL;
}

static void
order_check(const order_job *j)
{
	gw_buf want = GW_BUF_INIT;
	for (int pass = 0; pass < 2; pass++)
		for (int i = 0; i < ORDER_N; i++)
			if ((i % 2 == j->parity) == (pass == 1))
				gw_buf_printf(&want, "k%05d ", i);
	char *got = logged_order(j->dir, ORDER_N / 2);
	if (strcmp(got, want.data) != 0) {
		size_t at = 0;
		while (got[at] == want.data[at])
			at++;
		print_error("state %s: queue order differs at byte %zu: got [%.40s] want [%.40s]\n",
		    j->dir, at, got + at, want.data + at);
		fail();
	}
	free(got);
	gw_buf_free(&want);
}

static void
test_pending_order_two_threads(void **state)
{
	fx *f = *state;
	for (int round = 0; round < ORDER_ROUNDS; round++) {
		order_job jobs[2];
		pthread_barrier_t start;
		assert_int_equal(pthread_barrier_init(&start, NULL, 2), 0);
		for (int t = 0; t < 2; t++) {
			char name[32];
			snprintf(name, sizeof(name), "gw%d-%d", round, t);
			jobs[t] = (order_job){ .dir = ut_join(f->root, name), .parity = t, .start = &start };
			snprintf(name, sizeof(name), "fixture%d-%d.json", round, t);
			jobs[t].fixture = ut_join(f->root, name);
			order_prepare(&jobs[t]);
		}
		pthread_t th[2];
		for (int t = 0; t < 2; t++)
			assert_int_equal(pthread_create(&th[t], NULL, order_thread, &jobs[t]), 0);
		for (int t = 0; t < 2; t++)
			assert_int_equal(pthread_join(th[t], NULL), 0);
		pthread_barrier_destroy(&start);
		for (int t = 0; t < 2; t++) {
			if (jobs[t].rc != 0) {
				print_error("cycle in %s: %d %s\n", jobs[t].dir, jobs[t].rc, jobs[t].msg);
				fail();
			}
			order_check(&jobs[t]);
			ut_rmrf(jobs[t].dir);
			free(jobs[t].dir);
			free(jobs[t].fixture);
		}
	}
}

static void
test_retry_delay(void **state)
{
	(void)state;
	for (uint64_t a = 0; a < 20; a++)
		assert_int_equal(gw_runner_retry_delay_ms(0, a), 0);
	assert_int_equal(gw_runner_retry_delay_ms(100, 0), 100);
	assert_int_equal(gw_runner_retry_delay_ms(100, 1), 100);
	assert_int_equal(gw_runner_retry_delay_ms(100, 2), 200);
	assert_int_equal(gw_runner_retry_delay_ms(100, 3), 400);
	assert_int_equal(gw_runner_retry_delay_ms(100, 11), 102400);
	assert_int_equal(gw_runner_retry_delay_ms(100, 12), 102400); /* capped at 2^10 */
	assert_int_equal(gw_runner_retry_delay_ms(100, UINT64_MAX), 102400);
	assert_true(gw_runner_retry_delay_ms(UINT64_MAX / 2, 3) == UINT64_MAX);
	assert_true(gw_runner_retry_delay_ms(1ULL << 60, 11) == UINT64_MAX);
	assert_true(gw_runner_retry_delay_ms(1ULL << 53, 11) == 1ULL << 63);
	assert_true(gw_runner_retry_delay_ms(UINT64_MAX, 1) == UINT64_MAX);
}

static void
test_defaults(void **state)
{
	(void)state;
	gw_runner_opts o;
	gw_runner_opts_default(&o);
	assert_int_equal(o.queue_limit, 64);
	assert_int_equal(o.processed_case_cap, 10000);
	assert_int_equal(o.retry_max_attempts, 4);
	assert_int_equal(o.retry_base_delay_ms, 0);
	assert_int_equal(o.failure_streak_threshold, 2);
	assert_int_equal(o.retryable_failures_threshold, 2);
	assert_null(o.state_dir);
	assert_null(o.fixture_path);
}

static void
test_mixed_outcomes_run1(void **state)
{
	fx *f = *state;
	char *fixture = ut_fixture("mixed-outcomes.json");
	gw_cycle_report r;
	gw_err err;
	assert_int_equal(run(f, fixture, 0, &r, &err), 0);
	char *t = text_of(&r);
	assert_string_equal(t,
	    "gateway runner summary: discovered=3 queued=3 applied=1 duplicate_skips=0 malformed=1 "
	    "retryable_failures=1 retries=3 failed=1 upserted_requests=3\n"
	    "gateway runner health: state=degraded failure_streak=1 queue_depth=0 reason=recent "
	    "transport failures observed (failure_streak=1, last_cycle_failed=1)");
	char *codes = codes_of(&r);
	assert_string_equal(codes, "malformed_inputs_observed,retry_attempted,retryable_failures_observed,case_processing_failed");
	assert_string_equal(r.guardrail.gate, "hold");
	assert_string_equal(r.guardrail.reason_code, "malformed_input_observed");
	assert_string_equal(r.fixture_name, "gateway-mixed-outcomes");

	gw_state *st;
	assert_int_equal(gw_state_load(f->dir, GW_STATE_READ_EXISTING, &st, &err), 0);
	/* the failed retryable case is stored but not processed */
	assert_int_equal(st->nkeys, 2);
	assert_true(gw_state_is_processed(st, "POST:/v1/tasks:gateway-success"));
	assert_true(gw_state_is_processed(st, "TRACE:/v1/tasks:gateway-malformed-unsupported-method"));
	assert_false(gw_state_is_processed(st, "GET:/v1/tasks/42:gateway-retryable-backend"));
	assert_int_equal(st->nreqs, 3);
	gw_request *q = gw_state_find_request(st, "GET:/v1/tasks/42:gateway-retryable-backend");
	assert_non_null(q);
	assert_string_equal(q->outcome, "retryable_failure");
	assert_string_equal(q->error_code, "gateway_backend_unavailable");
	assert_int_equal(q->status_code, 503);
	q = gw_state_find_request(st, "TRACE:/v1/tasks:gateway-malformed-unsupported-method");
	assert_string_equal(q->outcome, "malformed_input");
	assert_string_equal(q->error_code, "gateway_unsupported_method");
	q = gw_state_find_request(st, "POST:/v1/tasks:gateway-success");
	assert_string_equal(q->response_body,
	    "{\"actor_id\":\"ops-bot\",\"endpoint\":\"/v1/tasks\",\"method\":\"POST\",\"status\":\"accepted\"}");
	assert_int_equal(st->health.failure_streak, 1);
	assert_int_equal(st->health.last_cycle_processed, 3);
	assert_int_equal(st->health.last_cycle_completed, 2);
	assert_int_equal(st->health.last_cycle_failed, 1);
	assert_int_equal(st->guardrail.last_retryable_failures, 1);
	gw_state_free(st);

	/* one cycle line; channel store files for the actor */
	assert_int_equal(ut_count_lines(f->events), 1);
	char *line = ut_read(f->events);
	ut_assert_contains(line, "\"kind\":\"cycle\"");
	ut_assert_contains(line, "\"upserted_requests\":3");
	char *chan = ut_join(f->dir, "channel-store/gateway/ops-bot");
	char *log = ut_join(chan, "log.jsonl"), *ctx = ut_join(chan, "context.jsonl");
	char *mem = ut_join(chan, "MEMORY.md");
	assert_int_equal(ut_count_lines(log), 3);
	assert_int_equal(ut_count_lines(ctx), 3);
	char *ctext = ut_read(ctx);
	ut_assert_contains(ctext, "\"text\":\"gateway case gateway-success applied method=POST endpoint=/v1/tasks status=201\"");
	ut_assert_contains(ctext, "\"text\":\"gateway case gateway-retryable-backend outcome=retryable_failure error_code=gateway_backend_unavailable status=503\"");
	char *ltext = ut_read(log);
	ut_assert_contains(ltext, "\"event_key\":\"TRACE:/v1/tasks:gateway-malformed-unsupported-method\",\"source\":\"tau-gateway-runner\",\"payload\":{\"case_id\":\"gateway-malformed-unsupported-method\",\"endpoint\":\"/v1/tasks\",\"error_code\":\"gateway_unsupported_method\",\"method\":\"TRACE\",\"outcome\":\"malformed_input\",\"status_code\":405}}");
	ut_assert_contains(ltext, "\"payload\":{\"case_id\":\"gateway-success\",\"endpoint\":\"/v1/tasks\",\"method\":\"POST\",\"outcome\":\"success\",\"response_body\":{\"actor_id\":\"ops-bot\",\"endpoint\":\"/v1/tasks\",\"method\":\"POST\",\"status\":\"accepted\"},\"status_code\":201}}");
	char *mtext = ut_read(mem);
	assert_string_equal(mtext,
	    "# Tau Gateway Snapshot (ops-bot)\n\n"
	    "- gateway-retryable-backend GET /v1/tasks/42 status=503 outcome=retryable_failure\n"
	    "- gateway-success POST /v1/tasks status=201 outcome=success\n"
	    "- gateway-malformed-unsupported-method TRACE /v1/tasks status=405 outcome=malformed_input\n");
	free(mtext);
	free(ltext);
	free(ctext);
	free(mem);
	free(ctx);
	free(log);
	free(chan);
	free(line);
	free(codes);
	free(t);
	free(fixture);
}

static void
test_mixed_outcomes_run2_and_run3(void **state)
{
	fx *f = *state;
	char *fixture = ut_fixture("mixed-outcomes.json");
	gw_cycle_report r;
	gw_err err;
	assert_int_equal(run(f, fixture, 0, &r, &err), 0);
	assert_int_equal(run(f, fixture, 0, &r, &err), 0);
	char *t = text_of(&r);
	assert_string_equal(t,
	    "gateway runner summary: discovered=3 queued=1 applied=0 duplicate_skips=2 malformed=0 "
	    "retryable_failures=1 retries=3 failed=1 upserted_requests=1\n"
	    "gateway runner health: state=degraded failure_streak=2 queue_depth=0 reason=recent "
	    "transport failures observed (failure_streak=2, last_cycle_failed=1)");
	char *codes = codes_of(&r);
	assert_string_equal(codes, "duplicate_cases_skipped,retry_attempted,retryable_failures_observed,case_processing_failed");
	assert_string_equal(r.guardrail.gate, "hold");
	assert_string_equal(r.guardrail.reason_code, "failure_streak_threshold_exceeded");
	assert_int_equal(r.health.last_cycle_processed, 3);
	assert_int_equal(r.health.last_cycle_completed, 0);
	assert_int_equal(r.health.last_cycle_duplicates, 2);
	assert_int_equal(ut_count_lines(f->events), 2);
	char *log = ut_join(f->dir, "channel-store/gateway/ops-bot/log.jsonl");
	assert_int_equal(ut_count_lines(log), 4);
	free(t);
	free(codes);
	assert_int_equal(run(f, fixture, 0, &r, &err), 0);
	t = text_of(&r);
	ut_assert_contains(t, "gateway runner health: state=failing failure_streak=3 queue_depth=0 reason=transport failures are sustained (failure_streak=3)");
	free(t);
	free(log);
	free(fixture);
}

static void
test_rollout_pass_runs(void **state)
{
	fx *f = *state;
	char *fixture = ut_fixture("rollout-pass.json");
	gw_cycle_report r;
	gw_err err;
	assert_int_equal(run(f, fixture, 0, &r, &err), 0);
	char *t = text_of(&r);
	assert_string_equal(t,
	    "gateway runner summary: discovered=2 queued=2 applied=2 duplicate_skips=0 malformed=0 "
	    "retryable_failures=0 retries=0 failed=0 upserted_requests=2\n"
	    "gateway runner health: state=healthy failure_streak=0 queue_depth=0 reason=no recent "
	    "transport failures observed");
	free(t);
	char *codes = codes_of(&r);
	assert_string_equal(codes, "healthy_cycle");
	free(codes);
	assert_string_equal(r.guardrail.gate, "pass");
	assert_string_equal(r.guardrail.reason_code, "guardrail_checks_passing");
	char *mem = ut_join(f->dir, "channel-store/gateway/ops-release-bot/MEMORY.md");
	char *mtext = ut_read(mem);
	assert_string_equal(mtext,
	    "# Tau Gateway Snapshot (ops-release-bot)\n\n"
	    "- gateway-rollout-fetch-task GET /v1/tasks/42 status=200 outcome=success\n"
	    "- gateway-rollout-post-task POST /v1/tasks status=201 outcome=success\n");
	assert_int_equal(strlen(mtext), 185);
	free(mtext);
	gw_state *st;
	assert_int_equal(gw_state_load(f->dir, GW_STATE_READ_EXISTING, &st, &err), 0);
	assert_int_equal(st->nreqs, 2);
	ut_list rq = ut_requests(st);
	assert_int_equal(rq.n, 2);
	assert_string_equal(rq.s[0], "GET:/v1/tasks/42:gateway-rollout-fetch-task");
	assert_string_equal(rq.s[1], "POST:/v1/tasks:gateway-rollout-post-task");
	ut_list_free(&rq);
	gw_state_free(st);

	/* run 2: everything is a duplicate; the channel store is unchanged */
	char *chan = ut_join(f->dir, "channel-store");
	char *before = ut_snapshot(chan);
	assert_int_equal(run(f, fixture, 0, &r, &err), 0);
	t = text_of(&r);
	assert_string_equal(t,
	    "gateway runner summary: discovered=2 queued=0 applied=0 duplicate_skips=2 malformed=0 "
	    "retryable_failures=0 retries=0 failed=0 upserted_requests=0\n"
	    "gateway runner health: state=healthy failure_streak=0 queue_depth=0 reason=no recent "
	    "transport failures observed");
	free(t);
	codes = codes_of(&r);
	assert_string_equal(codes, "duplicate_cases_skipped");
	free(codes);
	assert_string_equal(r.guardrail.gate, "pass");
	assert_int_equal(r.health.last_cycle_processed, 2);
	assert_int_equal(r.health.last_cycle_completed, 0);
	assert_int_equal(r.health.last_cycle_duplicates, 2);
	char *after = ut_snapshot(chan);
	assert_string_equal(before, after);
	assert_int_equal(ut_count_lines(f->events), 2);
	free(before);
	free(after);
	free(chan);
	free(mem);
	free(fixture);
}

static void
test_event_line_key_order(void **state)
{
	fx *f = *state;
	char *fixture = ut_fixture("rollout-pass.json");
	gw_cycle_report r;
	gw_err err;
	assert_int_equal(run(f, fixture, 0, &r, &err), 0);
	char *line = ut_read(f->events);
	cJSON *v = cJSON_Parse(line);
	assert_non_null(v);
	const char *order[] = { "timestamp_unix_ms", "kind", "health_state", "health_reason",
		"rollout_gate", "rollout_reason_code", "guardrail_failure_streak_threshold",
		"guardrail_retryable_failures_threshold", "reason_codes", "discovered_cases",
		"queued_cases", "applied_cases", "duplicate_skips", "malformed_cases",
		"retryable_failures", "retry_attempts", "failed_cases", "upserted_requests",
		"backlog_cases", "failure_streak", "cycle_duration_ms", "fixture" };
	size_t i = 0;
	for (cJSON *c = v->child; c; c = c->next, i++) {
		assert_true(i < sizeof(order) / sizeof(order[0]));
		assert_string_equal(c->string, order[i]);
	}
	assert_int_equal(i, sizeof(order) / sizeof(order[0]));
	ut_assert_contains(line, "\"health_state\":\"healthy\",\"health_reason\":\"no recent transport failures observed\",\"rollout_gate\":\"pass\",\"rollout_reason_code\":\"guardrail_checks_passing\",\"guardrail_failure_streak_threshold\":2,\"guardrail_retryable_failures_threshold\":2,\"reason_codes\":[\"healthy_cycle\"],\"discovered_cases\":2,\"queued_cases\":2,\"applied_cases\":2,\"duplicate_skips\":0,\"malformed_cases\":0,\"retryable_failures\":0,\"retry_attempts\":0,\"failed_cases\":0,\"upserted_requests\":2,\"backlog_cases\":0,\"failure_streak\":0,");
	assert_int_equal(line[strlen(line) - 1], '\n');
	cJSON_Delete(v);
	free(line);
	free(fixture);
}

static void
test_queue_drains_across_cycles(void **state)
{
	fx *f = *state;
	write_success_fixture(f->fixture, 10);
	gw_cycle_report r;
	gw_err err;
	const uint64_t want_dups[] = { 0, 3, 6, 9, 10 };
	const uint64_t want_queued[] = { 3, 3, 3, 1, 0 };
	const uint64_t want_backlog[] = { 7, 4, 1, 0, 0 };
	for (int cycle = 0; cycle < 5; cycle++) {
		assert_int_equal(run(f, f->fixture, 3, &r, &err), 0);
		assert_int_equal(r.discovered, 10);
		assert_int_equal(r.duplicate_skips, want_dups[cycle]);
		assert_int_equal(r.queued, want_queued[cycle]);
		assert_int_equal(r.applied, want_queued[cycle]);
		assert_int_equal(r.upserted_requests, want_queued[cycle]);
		assert_int_equal(r.backlog, want_backlog[cycle]);
		assert_int_equal(r.health.queue_depth, want_backlog[cycle]);
		char *codes = codes_of(&r);
		if (want_backlog[cycle] > 0)
			assert_int_equal(strncmp(codes, "queue_backpressure_applied", 26), 0);
		else
			ut_assert_not_contains(codes, "queue_backpressure_applied");
		free(codes);
		assert_string_equal(r.guardrail.gate, "pass");
	}
	/* the queue takes cases in case_id order */
	gw_state *st;
	assert_int_equal(gw_state_load(f->dir, GW_STATE_READ_EXISTING, &st, &err), 0);
	assert_int_equal(st->nkeys, 10);
	ut_list pk = ut_processed(st);
	assert_int_equal(pk.n, 10);
	assert_string_equal(pk.s[0], "GET:/v1/x/0:c000");
	assert_string_equal(pk.s[9], "GET:/v1/x/9:c009");
	ut_list_free(&pk);
	assert_int_equal(st->nreqs, 10);
	gw_state_free(st);
	assert_int_equal(ut_count_lines(f->events), 5);
}

/* The cap keeps the newest keys but never drops a key of the fixture being
 * run: a fixture larger than the cap drains and re-applies nothing (it
 * used to re-apply the overflow every cycle); keys of other fixtures go
 * first. */
static void
test_processed_case_cap(void **state)
{
	fx *f = *state;
	write_success_fixture(f->fixture, 5);
	gw_runner_opts o;
	gw_runner_opts_default(&o);
	o.state_dir = f->dir;
	o.fixture_path = f->fixture;
	o.processed_case_cap = 2;
	o.queue_limit = 3;
	gw_cycle_report r;
	gw_err err;
	assert_int_equal(gw_runner_run(&o, &r, &err), 0);
	assert_int_equal(r.applied, 3);
	assert_int_equal(r.backlog, 2);
	assert_int_equal(gw_runner_run(&o, &r, &err), 0);
	assert_int_equal(r.duplicate_skips, 3);
	assert_int_equal(r.applied, 2);
	assert_int_equal(r.backlog, 0);
	gw_state *st;
	assert_int_equal(gw_state_load(f->dir, GW_STATE_READ_EXISTING, &st, &err), 0);
	assert_int_equal(st->nkeys, 5); /* all of the running fixture's keys */
	gw_state_free(st);
	assert_int_equal(gw_runner_run(&o, &r, &err), 0);
	assert_int_equal(r.duplicate_skips, 5); /* drained: nothing re-applied */
	assert_int_equal(r.applied, 0);
	char *log = ut_join(f->dir, "channel-store/gateway/a0/log.jsonl");
	assert_int_equal(ut_count_lines(log), 2); /* c000 and c003, once each */
	free(log);

	/* another fixture: the first one's keys are dropped first */
	gw_buf b = GW_BUF_INIT;
	gw_buf_puts(&b, "{\"schema_version\":1,\"name\":\"other\",\"cases\":[");
	put_order_case(&b, "o1", false, true);
	put_order_case(&b, "o2", false, false);
	put_order_case(&b, "o3", false, false);
	gw_buf_puts(&b, "]}");
	char *other = ut_join(f->root, "other.json");
	ut_write(other, b.data);
	gw_buf_free(&b);
	o.fixture_path = other;
	assert_int_equal(gw_runner_run(&o, &r, &err), 0);
	assert_int_equal(r.applied, 3);
	assert_int_equal(gw_state_load(f->dir, GW_STATE_READ_EXISTING, &st, &err), 0);
	assert_int_equal(st->nkeys, 3);
	ut_list pk = ut_processed(st);
	assert_int_equal(pk.n, 3);
	assert_string_equal(pk.s[0], "GET:/o/o1:o1");
	assert_string_equal(pk.s[2], "GET:/o/o3:o3");
	ut_list_free(&pk);
	gw_state_free(st);
	free(other);
}

/* Case keys escape '%' and ':' in their parts: `b:c` at `/a` and `c` at
 * `/a:b` are two cases with two records (unescaped, both were
 * "GET:/a:b:c": two applied, one record). */
static void
test_case_keys_do_not_collide(void **state)
{
	fx *f = *state;
	static const char *const cases[][2] = { { "b:c", "/a" }, { "c", "/a:b" }, { "5%", "/p" },
		{ "5%25", "/p" } };
	gw_buf b = GW_BUF_INIT;
	gw_buf_puts(&b, "{\"schema_version\":1,\"name\":\"keys\",\"cases\":[");
	for (size_t i = 0; i < 4; i++)
		gw_buf_printf(&b, "%s{\"case_id\":\"%s\",\"method\":\"get\",\"endpoint\":\"%s\","
		    "\"actor_id\":\"k\",\"expected\":{\"outcome\":\"success\",\"status_code\":200,"
		    "\"response_body\":{\"actor_id\":\"k\",\"endpoint\":\"%s\",\"method\":\"GET\","
		    "\"status\":\"accepted\"}}}", i ? "," : "", cases[i][0], cases[i][1], cases[i][1]);
	gw_buf_puts(&b, "]}");
	ut_write(f->fixture, b.data);
	gw_buf_free(&b);
	gw_cycle_report r;
	gw_err err;
	assert_int_equal(run(f, f->fixture, 0, &r, &err), 0);
	assert_int_equal(r.applied, 4);
	gw_state *st;
	assert_int_equal(gw_state_load(f->dir, GW_STATE_READ_EXISTING, &st, &err), 0);
	assert_int_equal(st->nreqs, 4);
	assert_int_equal(st->nkeys, 4);
	assert_non_null(gw_state_find_request(st, "GET:/a:b%3Ac"));
	assert_non_null(gw_state_find_request(st, "GET:/a%3Ab:c"));
	assert_non_null(gw_state_find_request(st, "GET:/p:5%25"));
	assert_non_null(gw_state_find_request(st, "GET:/p:5%2525"));
	gw_state_free(st);
	assert_int_equal(run(f, f->fixture, 0, &r, &err), 0);
	assert_int_equal(r.duplicate_skips, 4);
	assert_int_equal(r.applied, 0);
}

/* A state file written with the unescaped keys of earlier versions: the
 * record (and its processed key) is renamed on load, so its case stays
 * processed; keys without ':' or '%' never changed. */
static void
test_legacy_case_keys_migrate(void **state)
{
	fx *f = *state;
	assert_int_equal(mkdir(f->dir, 0755), 0);
	char *path = ut_join(f->dir, "state.json");
	ut_write(path, "{\"schema_version\":1,\"processed_case_keys\":[\"GET:/a:b:c\",\"GET:/x:plain\"],"
	    "\"requests\":[{\"case_key\":\"GET:/a:b:c\",\"case_id\":\"c\",\"method\":\"GET\","
	    "\"endpoint\":\"/a:b\",\"actor_id\":\"k\",\"status_code\":200,\"outcome\":\"success\","
	    "\"error_code\":\"\",\"response_body\":{},\"updated_unix_ms\":1},"
	    "{\"case_key\":\"GET:/x:plain\",\"case_id\":\"plain\",\"method\":\"GET\","
	    "\"endpoint\":\"/x\",\"actor_id\":\"k\",\"status_code\":200,\"outcome\":\"success\","
	    "\"error_code\":\"\",\"response_body\":{},\"updated_unix_ms\":1}]}");
	gw_state *st;
	gw_err err;
	assert_int_equal(gw_state_load(f->dir, GW_STATE_READ_EXISTING, &st, &err), 0);
	assert_int_equal(st->nreqs, 2);
	assert_null(gw_state_find_request(st, "GET:/a:b:c"));
	assert_non_null(gw_state_find_request(st, "GET:/a%3Ab:c"));
	assert_non_null(gw_state_find_request(st, "GET:/x:plain"));
	assert_int_equal(st->nkeys, 2);
	ut_list pk = ut_processed(st);
	assert_int_equal(pk.n, 2);
	assert_string_equal(pk.s[0], "GET:/a%3Ab:c");
	assert_string_equal(pk.s[1], "GET:/x:plain");
	ut_list_free(&pk);
	assert_true(gw_state_is_processed(st, "GET:/a%3Ab:c"));
	assert_false(gw_state_is_processed(st, "GET:/a:b:c"));
	gw_state_free(st);
	free(path);
}

static void
test_retry_max_attempts_option(void **state)
{
	fx *f = *state;
	char *fixture = ut_fixture("mixed-outcomes.json");
	gw_runner_opts o;
	gw_runner_opts_default(&o);
	o.state_dir = f->dir;
	o.fixture_path = fixture;
	o.retry_max_attempts = 1;
	o.retryable_failures_threshold = 1;
	o.retry_base_delay_ms = 1;
	gw_cycle_report r;
	gw_err err;
	assert_int_equal(gw_runner_run(&o, &r, &err), 0);
	assert_int_equal(r.retry_attempts, 0);
	assert_int_equal(r.retryable_failures, 1);
	assert_int_equal(r.failed, 1);
	char *codes = codes_of(&r);
	assert_string_equal(codes, "malformed_inputs_observed,retryable_failures_observed,case_processing_failed");
	assert_string_equal(r.guardrail.reason_code, "retryable_failures_threshold_exceeded");
	free(codes);
	o.retry_max_attempts = 2;
	assert_int_equal(gw_runner_run(&o, &r, &err), 0);
	assert_int_equal(r.retry_attempts, 1);
	assert_int_equal(r.retryable_failures, 1);
	free(fixture);
}

static void
test_contract_mismatch_writes_nothing(void **state)
{
	fx *f = *state;
	char *fixture = ut_fixture("rollout-pass.json");
	gw_cycle_report r;
	gw_err err;
	assert_int_equal(run(f, fixture, 0, &r, &err), 0);
	/* a new valid case sorts before the mismatching one */
	ut_write(f->fixture, "{\"schema_version\":1,\"name\":\"m\",\"cases\":["
	    "{\"case_id\":\"a-new\",\"method\":\"GET\",\"endpoint\":\"/n\",\"actor_id\":\"new-bot\","
	    "\"expected\":{\"outcome\":\"success\",\"status_code\":200,\"response_body\":{\"actor_id\":\"new-bot\","
	    "\"endpoint\":\"/n\",\"method\":\"GET\",\"status\":\"accepted\"}}},"
	    "{\"case_id\":\"b-wrong\",\"method\":\"GET\",\"endpoint\":\"/w\",\"actor_id\":\"new-bot\","
	    "\"expected\":{\"outcome\":\"success\",\"status_code\":201,\"response_body\":{}}}]}");
	char *before = ut_snapshot(f->dir);
	assert_int_equal(run(f, f->fixture, 0, &r, &err), -EPROTO);
	assert_int_equal(err.exit_code, GW_EXIT_FAIL);
	assert_string_equal(err.msg, "case 'b-wrong' expected status_code 201 but observed 200");
	char *after = ut_snapshot(f->dir);
	assert_string_equal(before, after);
	free(before);
	free(after);
	free(fixture);
}

static void
test_fixture_errors_create_nothing(void **state)
{
	fx *f = *state;
	gw_cycle_report r;
	gw_err err;
	assert_int_equal(run(f, "/nonexistent/fixture.json", 0, &r, &err), -ENOENT);
	assert_int_equal(err.exit_code, GW_EXIT_NOINPUT);
	char *bad = ut_fixture("invalid-duplicate-case-id.json");
	assert_int_equal(run(f, bad, 0, &r, &err), -EINVAL);
	assert_int_equal(err.exit_code, GW_EXIT_DATAERR);
	ut_assert_contains(err.msg, "fixture contains duplicate case_id 'duplicate-case'");
	assert_false(gw_fs_exists(f->dir));
	free(bad);
}

static void
test_lock_nowait_when_busy(void **state)
{
	fx *f = *state;
	char *fixture = ut_fixture("rollout-pass.json");
	gw_lock l;
	gw_err err;
	assert_int_equal(gw_lock_acquire(&l, f->dir, &err), 0);
	gw_runner_opts o;
	gw_runner_opts_default(&o);
	o.state_dir = f->dir;
	o.fixture_path = fixture;
	o.lock_nowait = true;
	gw_cycle_report r;
	assert_int_equal(gw_runner_run(&o, &r, &err), -EWOULDBLOCK);
	assert_int_equal(err.exit_code, GW_EXIT_UNAVAILABLE);
	gw_lock_release(&l);
	assert_int_equal(gw_runner_run(&o, &r, &err), 0);
	free(fixture);
}

static void
count_progress(void *ctx, const char *phase, uint64_t done, uint64_t total)
{
	gw_buf *b = ctx;
	gw_buf_printf(b, "%s:%llu/%llu;", phase, (unsigned long long)done, (unsigned long long)total);
}

static void
test_progress_callback(void **state)
{
	fx *f = *state;
	char *fixture = ut_fixture("rollout-pass.json");
	gw_buf b = GW_BUF_INIT;
	gw_runner_opts o;
	gw_runner_opts_default(&o);
	o.state_dir = f->dir;
	o.fixture_path = fixture;
	o.progress = count_progress;
	o.progress_ctx = &b;
	gw_cycle_report r;
	gw_err err;
	assert_int_equal(gw_runner_run(&o, &r, &err), 0);
	ut_assert_contains(b.data, "evaluate:0/2;");
	ut_assert_contains(b.data, "done:2/2;");
	gw_buf_free(&b);
	free(fixture);
}

/* What a progress callback does when the evaluation starts (unlocked). */
typedef struct meanwhile {
	const char *dir;
	const char *fixture;
	const char *stop_reason;   /* stop the service */
	bool run_other;            /* run a whole other cycle on the fixture */
	int rc;
	bool done;
} meanwhile;

static void
meanwhile_progress(void *ctx, const char *phase, uint64_t done, uint64_t total)
{
	meanwhile *m = ctx;
	(void)done;
	(void)total;
	if (m->done || strcmp(phase, "evaluate") != 0)
		return;
	m->done = true;
	gw_err err;
	if (m->stop_reason != NULL) {
		gw_service_report rep;
		m->rc = gw_service_stop(m->dir, m->stop_reason, &rep, &err);
	}
	if (m->run_other) {
		gw_runner_opts o;
		gw_runner_opts_default(&o);
		o.state_dir = m->dir;
		o.fixture_path = m->fixture;
		gw_cycle_report r;
		m->rc = gw_runner_run(&o, &r, &err);
	}
}

/* Descriptors this process has open (a cycle must give back every one,
 * the pins on state.json included). */
static size_t
open_fds(void)
{
	size_t n = 0;
	DIR *d = opendir("/proc/self/fd");
	assert_non_null(d);
	while (readdir(d) != NULL)
		n++;
	closedir(d);
	return n;
}

/* A stop that lands while the cycle evaluates (the runner holds no lock
 * then, so the stop does not wait) ends the cycle: nothing applied, the
 * event line says service_stopped, the state is as the stop left it. */
static void
test_stop_during_cycle_ends_it(void **state)
{
	fx *f = *state;
	char *fixture = ut_fixture("mixed-outcomes.json");
	gw_service_report rep;
	gw_err err;
	assert_int_equal(gw_service_start(f->dir, &rep, &err), 0);
	meanwhile m = { .dir = f->dir, .stop_reason = "emergency_rollback" };
	gw_runner_opts o;
	gw_runner_opts_default(&o);
	o.state_dir = f->dir;
	o.fixture_path = fixture;
	o.retry_base_delay_ms = 60000; /* never slept: the stop is seen first */
	o.progress = meanwhile_progress;
	o.progress_ctx = &m;
	gw_cycle_report r;
	size_t fds = open_fds();
	assert_int_equal(gw_runner_run(&o, &r, &err), 0);
	assert_int_equal(open_fds(), fds);
	assert_int_equal(m.rc, 0);
	assert_true(r.service_stopped);
	assert_string_equal(r.stop_reason, "emergency_rollback");
	assert_int_equal(r.queued, 3);
	assert_int_equal(r.applied + r.malformed + r.failed + r.upserted_requests, 0);
	assert_int_equal(r.backlog, 3);
	assert_int_equal(r.nreason_codes, 1);
	assert_string_equal(r.reason_codes[0], "service_stopped");
	assert_string_equal(r.gates.rollout_reason_code, "service_stopped");
	char *events = ut_read(f->events);
	ut_assert_contains(events, "\"reason_codes\":[\"service_stopped\"],");
	free(events);
	gw_state *st;
	assert_int_equal(gw_state_load(f->dir, GW_STATE_READ_EXISTING, &st, &err), 0);
	assert_int_equal(st->nkeys, 0);
	assert_int_equal(st->nreqs, 0);
	assert_true(st->service.stopped);
	gw_state_free(st);
	/* a cycle started on the stopped service runs (nothing lands during it) */
	m = (meanwhile){ .done = true };
	o.retry_base_delay_ms = 0;
	assert_int_equal(gw_runner_run(&o, &r, &err), 0);
	assert_false(r.service_stopped);
	assert_int_equal(r.applied, 1);
	free(fixture);
}

/* Sets the cancel flag when the evaluation starts. */
static void
cancel_progress(void *ctx, const char *phase, uint64_t done, uint64_t total)
{
	(void)done;
	(void)total;
	if (strcmp(phase, "evaluate") == 0)
		atomic_store((atomic_bool *)ctx, true);
}

/* Sets *cancel once two cases are done (cases_done): the third case, a
 * retryable failure, is then in its backoff, which the cancel cuts short. */
typedef struct {
	atomic_bool *cancel;
	_Atomic uint64_t *done;
} cancel_after;

static void *
cancel_after_two(void *arg)
{
	cancel_after *c = arg;
	while (atomic_load(c->done) < 2)
		gw_clock_sleep_ms(1);
	atomic_store(c->cancel, true);
	return NULL;
}

/* The console's cancel (opts.cancel): the evaluation ends at the next case
 * boundary, what was evaluated is applied as a cycle, the rest stays
 * pending and the event line leads with cycle_cancelled; the next run
 * takes the pending cases up.  A cancelled cycle with no failed case keeps
 * the failure streak and a HOLD (it cleared them: a cancel before the
 * first case turned a failure-streak HOLD into PASS).  cases_done counts
 * every case of an uncancelled run. */
static void
test_cancel_ends_at_a_case_boundary(void **state)
{
	fx *f = *state;
	atomic_bool cancel = false;
	_Atomic uint64_t done = 99;
	gw_runner_opts o;
	gw_runner_opts_default(&o);
	o.state_dir = f->dir;
	o.failure_streak_threshold = 1;
	o.retryable_failures_threshold = 100;
	o.retry_max_attempts = 1;
	gw_cycle_report r;
	gw_err err;
	/* a failing cycle: failure streak 1, HOLD */
	char *failing = ut_join(f->root, "failing.json");
	gw_buf b = GW_BUF_INIT;
	gw_buf_puts(&b, "{\"schema_version\":1,\"name\":\"failing\",\"cases\":[");
	put_order_case(&b, "f0", true, true);
	gw_buf_puts(&b, "]}");
	ut_write(failing, b.data);
	o.fixture_path = failing;
	assert_int_equal(gw_runner_run(&o, &r, &err), 0);
	assert_int_equal(r.health.failure_streak, 1);
	assert_string_equal(r.guardrail.gate, "hold");
	/* cancelled after two successes, in the third case's backoff: the two
	 * are applied, the streak and the HOLD stay */
	char *partial = ut_join(f->root, "partial.json");
	gw_buf_reset(&b);
	gw_buf_puts(&b, "{\"schema_version\":1,\"name\":\"partial\",\"cases\":[");
	put_order_case(&b, "p0", false, true);
	put_order_case(&b, "p1", false, false);
	put_order_case(&b, "p2", true, false);
	put_order_case(&b, "p3", false, false);
	gw_buf_puts(&b, "]}");
	ut_write(partial, b.data);
	gw_buf_free(&b);
	o.fixture_path = partial;
	o.retry_max_attempts = 3;
	o.retry_base_delay_ms = 10000;
	o.cancel = &cancel;
	o.cases_done = &done;
	atomic_store(&done, 0);
	cancel_after ca = { .cancel = &cancel, .done = &done };
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, cancel_after_two, &ca), 0);
	assert_int_equal(gw_runner_run(&o, &r, &err), 0);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_true(r.cancelled);
	assert_int_equal(r.applied, 2);
	assert_int_equal(r.failed, 0);
	assert_int_equal(r.backlog, 2);
	assert_int_equal(r.health.failure_streak, 1);
	assert_string_equal(r.guardrail.gate, "hold");
	assert_string_equal(r.guardrail.reason_code, "failure_streak_threshold_exceeded");
	free(partial);
	free(failing);
	o.retry_max_attempts = 1;
	o.retry_base_delay_ms = 0;

	/* cancelled before the first case: nothing applied, the HOLD stays */
	write_success_fixture(f->fixture, 6);
	atomic_store(&cancel, false);
	atomic_store(&done, 99);
	o.fixture_path = f->fixture;
	o.progress = cancel_progress;
	o.progress_ctx = &cancel;
	assert_int_equal(gw_runner_run(&o, &r, &err), 0);
	assert_true(r.cancelled);
	assert_int_equal(r.health.failure_streak, 1);
	assert_string_equal(r.guardrail.gate, "hold");
	assert_false(r.service_stopped);
	assert_int_equal(atomic_load(&done), 0);
	assert_int_equal(r.queued, 6);
	assert_int_equal(r.applied + r.upserted_requests, 0);
	assert_int_equal(r.backlog, 6);
	assert_string_equal(r.reason_codes[0], "cycle_cancelled");
	assert_int_equal(r.health.queue_depth, 6);
	char *events = ut_read(f->events);
	ut_assert_contains(events, "\"reason_codes\":[\"cycle_cancelled\",");
	ut_assert_contains(events, "\"backlog_cases\":6,");
	free(events);
	/* not cancelled: every case, counted case by case */
	o.progress = NULL;
	atomic_store(&cancel, false);
	assert_int_equal(gw_runner_run(&o, &r, &err), 0);
	assert_false(r.cancelled);
	assert_int_equal(r.applied, 6);
	assert_int_equal(r.backlog, 0);
	assert_int_equal(atomic_load(&done), 6);
	/* a whole cycle with no failure ends the streak and the HOLD */
	assert_int_equal(r.health.failure_streak, 0);
	assert_string_equal(r.guardrail.gate, "pass");
}

/* Another runner applies the fixture while this one evaluates it: this one
 * re-reads the state under the lock and skips what is now processed, so no
 * case is logged twice. */
static void
test_cases_processed_meanwhile_are_skipped(void **state)
{
	fx *f = *state;
	write_success_fixture(f->fixture, 6);
	meanwhile m = { .dir = f->dir, .fixture = f->fixture, .run_other = true };
	gw_runner_opts o;
	gw_runner_opts_default(&o);
	o.state_dir = f->dir;
	o.fixture_path = f->fixture;
	o.progress = meanwhile_progress;
	o.progress_ctx = &m;
	gw_cycle_report r;
	gw_err err;
	size_t fds = open_fds();
	assert_int_equal(gw_runner_run(&o, &r, &err), 0);
	assert_int_equal(open_fds(), fds);
	assert_int_equal(m.rc, 0);
	assert_int_equal(r.queued, 6);
	assert_int_equal(r.applied, 0);
	assert_int_equal(r.upserted_requests, 0);
	assert_int_equal(r.duplicate_skips, 6);
	for (int a = 0; a < 3; a++) {
		char rel[64];
		snprintf(rel, sizeof(rel), "channel-store/gateway/a%d/log.jsonl", a);
		char *log = ut_join(f->dir, rel);
		assert_int_equal(ut_count_lines(log), 2);
		free(log);
	}
	assert_int_equal(ut_count_lines(f->events), 2);
}

static void
test_corrupt_state_is_moved_aside_by_runner(void **state)
{
	fx *f = *state;
	gw_err err;
	assert_int_equal(gw_fs_mkdirs(f->dir, &err), 0);
	char *st = ut_join(f->dir, "state.json");
	ut_write(st, "{\"requests\": [");
	char *fixture = ut_fixture("rollout-pass.json");
	gw_cycle_report r;
	assert_int_equal(run(f, fixture, 0, &r, &err), 0);
	ut_assert_contains(r.notice, "moved it to ");
	assert_int_equal(r.applied, 2);
	free(st);
	free(fixture);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_retry_delay),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test_setup_teardown(test_mixed_outcomes_run1, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mixed_outcomes_run2_and_run3, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rollout_pass_runs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_event_line_key_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_queue_drains_across_cycles, setup, teardown),
		cmocka_unit_test_setup_teardown(test_processed_case_cap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_case_keys_do_not_collide, setup, teardown),
		cmocka_unit_test_setup_teardown(test_legacy_case_keys_migrate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stop_during_cycle_ends_it, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cancel_ends_at_a_case_boundary, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cases_processed_meanwhile_are_skipped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retry_max_attempts_option, setup, teardown),
		cmocka_unit_test_setup_teardown(test_contract_mismatch_writes_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fixture_errors_create_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lock_nowait_when_busy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_progress_callback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_state_is_moved_aside_by_runner, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pending_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pending_order_two_threads, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
