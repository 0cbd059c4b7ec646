/*
 * runner.c - the contract runner cycle.
 *
 * Work per cycle is O(n log n) in the number of cases and records: hash
 * lookups for dedupe and upserts, one sort of the pending queue, one merge
 * of new records, one append per channel file and one MEMORY.md per
 * touched actor.  This module must not write anything before every queued
 * case has passed its contract check.
 */
#include "core/gateway/runner.h"
#include "core/gateway/chanstore.h"
#include "core/base/clock.h"
#include "core/gateway/events.h"
#include "core/gateway/fixture.h"
#include "core/base/fs.h"
#include "core/gateway/journal.h"
#include "core/gateway/posture.h"
#include "core/base/json.h"
#include "core/base/mem.h"
#include "core/gateway/state.h"
#include "core/base/str.h"
#include "core/base/strmap.h"
#include "core/store/store.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void
gw_runner_opts_default(gw_runner_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->queue_limit = GW_RUNNER_DEFAULT_QUEUE_LIMIT;
	o->processed_case_cap = GW_RUNNER_DEFAULT_PROCESSED_CAP;
	o->retry_max_attempts = GW_RUNNER_DEFAULT_RETRY_MAX_ATTEMPTS;
	o->retry_base_delay_ms = GW_RUNNER_DEFAULT_RETRY_BASE_DELAY_MS;
	o->failure_streak_threshold = GW_GUARDRAIL_DEFAULT_THRESHOLD;
	o->retryable_failures_threshold = GW_GUARDRAIL_DEFAULT_THRESHOLD;
}

uint64_t
gw_runner_retry_delay_ms(uint64_t base, uint64_t attempt)
{
	if (base == 0)
		return 0;
	uint64_t shift = attempt > 0 ? attempt - 1 : 0;
	if (shift > 10)
		shift = 10;
	if (base > UINT64_MAX >> shift)
		return UINT64_MAX;
	return base << shift;
}

/* One evaluated queue entry. */
typedef struct gw_eval {
	const gw_case *c;
	gw_outcome outcome;
	uint64_t status;
	const char *error_code;
	const char *body;     /* arena */
	uint64_t retries;     /* attempts after the first */
	char method[16];
} gw_eval;

typedef struct gw_actor {
	const char *name;     /* trimmed actor id (arena) */
	char *dir;            /* its channel directory, set when writing (malloc'ed) */
	gw_buf log, ctx, memory;
} gw_actor;

/*
 * A pending case with its sort key, computed once before the sort: the
 * comparison needs no state lookup and no shared context, so sorting is
 * reentrant (the console runs cycles on a worker thread), and a comparison
 * is a flag test and a strcmp of the case_ids (unique in a fixture, so the
 * method and endpoint tie-breaks are reached only for equal ids).
 */
typedef struct gw_pending {
	const char *case_id;       /* c->case_id, kept here to save a load per comparison */
	const gw_case *c;          /* borrowed from the fixture */
	bool failed;               /* has a record whose outcome is retryable_failure */
} gw_pending;

static int
gw_pending_cmp(const void *a, const void *b)
{
	const gw_pending *x = a, *y = b;
	/* never-failed cases first, so retrying failures cannot starve new work */
	if (x->failed != y->failed)
		return (int)x->failed - (int)y->failed;
	int c = strcmp(x->case_id, y->case_id);
	if (c == 0)
		c = strcmp(x->c->method, y->c->method);
	if (c == 0)
		c = strcmp(x->c->endpoint, y->c->endpoint);
	return c;
}

static void
gw_progress(const gw_runner_opts *o, const char *phase, uint64_t done, uint64_t total)
{
	if (o->progress != NULL)
		o->progress(o->progress_ctx, phase, done, total);
}

static void
gw_log_line(gw_buf *b, uint64_t now, const gw_eval *e, const char *endpoint)
{
	gw_jw w;
	gw_jw_init(&w, b, false);
	gw_jw_obj_begin(&w);
	gw_jw_ku64(&w, "timestamp_unix_ms", now);
	gw_jw_kstr(&w, "direction", "system");
	gw_jw_kstr(&w, "event_key", e->c->key);
	gw_jw_kstr(&w, "source", "tau-gateway-runner");
	gw_jw_key(&w, "payload");
	gw_jw_obj_begin(&w);
	gw_jw_kstr(&w, "case_id", e->c->case_id);
	gw_jw_kstr(&w, "endpoint", endpoint);
	if (e->outcome != GW_OUTCOME_SUCCESS)
		gw_jw_kstr(&w, "error_code", e->error_code);
	gw_jw_kstr(&w, "method", e->method);
	gw_jw_kstr(&w, "outcome", gw_outcome_name(e->outcome));
	if (e->outcome == GW_OUTCOME_SUCCESS) {
		gw_jw_key(&w, "response_body");
		gw_jw_raw_json(&w, e->body, strlen(e->body));
	}
	gw_jw_ku64(&w, "status_code", e->status);
	gw_jw_obj_end(&w);
	gw_jw_obj_end(&w);
	gw_buf_putc(b, '\n');
}

static void
gw_ctx_line(gw_buf *b, uint64_t now, const gw_eval *e, const char *endpoint)
{
	gw_buf text = GW_BUF_INIT;
	if (e->outcome == GW_OUTCOME_SUCCESS)
		gw_buf_printf(&text, "gateway case %s applied method=%s endpoint=%s status=%llu",
		    e->c->case_id, e->method, endpoint, (unsigned long long)e->status);
	else
		gw_buf_printf(&text, "gateway case %s outcome=%s error_code=%s status=%llu",
		    e->c->case_id, gw_outcome_name(e->outcome), e->error_code,
		    (unsigned long long)e->status);
	gw_jw w;
	gw_jw_init(&w, b, false);
	gw_jw_obj_begin(&w);
	gw_jw_ku64(&w, "timestamp_unix_ms", now);
	gw_jw_kstr(&w, "role", "system");
	gw_jw_kstr(&w, "text", gw_buf_cstr(&text));
	gw_jw_obj_end(&w);
	gw_buf_putc(b, '\n');
	gw_buf_free(&text);
}

/*
 * Watches, without the lock, for a stop that lands during the cycle: the
 * service block the cycle started from is remembered, state.json is
 * stat'ed at most every GW_RUNNER_STOP_POLL_MS, and only when it was
 * replaced is its posture (no records) read again.  A stop has landed when
 * the service is stopped and was not, or was stopped again (a new
 * last_stopped_unix_ms).  A cycle that started on a stopped service runs,
 * as the reference's runner does.
 */
#define GW_RUNNER_STOP_POLL_MS 20

/* Which file a path names: any rename over it (every state.json write is
 * one) changes the inode, and the times and size say the rest. */
/* A file's identity.  A pinned one (gw_file_id_pin) also holds a
 * descriptor of the file: while it is open the inode cannot be freed, so
 * no other file can take its number, and an equal identity later means the
 * very same file (state.json is only ever replaced by rename, never
 * rewritten in place).  Without the pin, two quick renames could land on a
 * reused inode with equal size and times inside one clock tick. */
typedef struct gw_file_id {
	bool ok;                    /* it exists */
	int pin;                    /* descriptor holding the inode, or -1 */
	struct stat st;
} gw_file_id;

/* Reads path's identity without pinning it (for a comparison). */
static void
gw_file_id_peek(const char *path, gw_file_id *id)
{
	id->pin = -1;
	id->ok = stat(path, &id->st) == 0;
	if (!id->ok)
		memset(&id->st, 0, sizeof(id->st));
}

/* Drops id's pin (if any); id is then no identity at all. */
static void
gw_file_id_drop(gw_file_id *id)
{
	if (id->pin >= 0)
		close(id->pin);
	id->pin = -1;
	id->ok = false;
	memset(&id->st, 0, sizeof(id->st));
}

/* Replaces *id with path's identity, pinned. */
static void
gw_file_id_pin(const char *path, gw_file_id *id)
{
	gw_file_id_drop(id);
	id->pin = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	id->ok = id->pin >= 0 && fstat(id->pin, &id->st) == 0;
	if (!id->ok)
		gw_file_id_drop(id);
}

static bool
gw_file_id_same(const gw_file_id *x, const gw_file_id *y)
{
	const struct stat *a = &x->st, *b = &y->st;
	return x->ok == y->ok && a->st_dev == b->st_dev && a->st_ino == b->st_ino &&
	    a->st_size == b->st_size && a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	    a->st_mtim.tv_nsec == b->st_mtim.tv_nsec && a->st_ctim.tv_sec == b->st_ctim.tv_sec &&
	    a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

typedef struct gw_stopwatch {
	const char *dir;
	gw_store *store;            /* PostgreSQL: the posture row is polled instead */
	gw_buf seen_text;           /* its text when last read */
	char *state_path;
	gw_file_id seen;
	bool was_stopped;
	uint64_t last_stopped_unix_ms;
	uint64_t next_poll_ms;
	bool stopped;               /* a stop landed during the cycle */
	char reason[256];
	const atomic_bool *cancel;  /* opts.cancel (NULL: none) */
} gw_stopwatch;

/* Remembers the service block and state.json's identity (lock held). */
static void
gw_stopwatch_init(gw_stopwatch *w, const char *dir, gw_store *store, const gw_service_block *s)
{
	memset(w, 0, sizeof(*w));
	w->dir = dir;
	w->store = store;
	w->state_path = gw_path_join(dir, "state.json");
	w->was_stopped = s->stopped;
	w->last_stopped_unix_ms = s->last_stopped_unix_ms;
	w->seen.pin = -1;
	if (store == NULL)
		gw_file_id_pin(w->state_path, &w->seen);
}

/* True (and remembered) when s shows a stop that landed during the cycle. */
static bool
gw_stopwatch_check(gw_stopwatch *w, const gw_service_block *s)
{
	if (!w->stopped && s->stopped &&
	    (!w->was_stopped || s->last_stopped_unix_ms != w->last_stopped_unix_ms)) {
		w->stopped = true;
		snprintf(w->reason, sizeof(w->reason), "%s", s->last_stop_reason);
	}
	return w->stopped;
}

/* Reads the posture row (outside any transaction: the last committed one)
 * and checks it when its text changed.  True once stopped. */
static bool
gw_stopwatch_poll_store(gw_stopwatch *w)
{
	gw_buf text = GW_BUF_INIT;
	gw_err ignored;
	bool stopped = false;
	if (gw_store_posture_read(w->store, &text, &ignored) == 0 &&
	    !(text.len == w->seen_text.len &&
	        (text.len == 0 || memcmp(text.data, w->seen_text.data, text.len) == 0))) {
		gw_buf_reset(&w->seen_text);
		gw_buf_append(&w->seen_text, text.data, text.len);
		gw_state *st;
		/* (a posture that does not parse: the locked re-read decides) */
		if (gw_state_load_text(gw_store_posture_label(w->store), gw_buf_cstr(&text), text.len,
		        GW_STATE_READ, &st, &ignored) == 0) {
			stopped = gw_stopwatch_check(w, &st->service);
			gw_state_free(st);
		}
	}
	gw_buf_free(&text);
	return stopped;
}

static void
gw_stopwatch_free(gw_stopwatch *w)
{
	free(w->state_path);
	w->state_path = NULL;
	gw_file_id_drop(&w->seen);
	gw_buf_free(&w->seen_text);
}

/* Polls without the lock (rate-limited unless force).  True once stopped. */
static bool
gw_stopwatch_poll(gw_stopwatch *w, bool force)
{
	if (w->stopped)
		return true;
	uint64_t now = gw_clock_mono_ms();
	if (!force && now < w->next_poll_ms)
		return false;
	w->next_poll_ms = now + GW_RUNNER_STOP_POLL_MS;
	if (w->store != NULL)
		return gw_stopwatch_poll_store(w);
	gw_file_id cur;
	gw_file_id_peek(w->state_path, &cur);
	if (gw_file_id_same(&cur, &w->seen))
		return false;
	gw_file_id_pin(w->state_path, &w->seen); /* before the load: a later write shows */
	gw_state *st;
	gw_err ignored;
	if (gw_state_load(w->dir, GW_STATE_READ | GW_STATE_READ_POSTURE, &st, &ignored) != 0)
		return false; /* e.g. corrupt: the locked re-read decides */
	bool stopped = gw_stopwatch_check(w, &st->service);
	gw_state_free(st);
	return stopped;
}

/* True once the caller cancelled the run. */
static bool
gw_stopwatch_cancelled(const gw_stopwatch *w)
{
	return w->cancel != NULL && atomic_load_explicit(w->cancel, memory_order_relaxed);
}

/* Sleeps ms in slices, waking early when a stop lands or the run is
 * cancelled.  True if either happened. */
static bool
gw_stopwatch_sleep(gw_stopwatch *w, uint64_t ms)
{
	uint64_t end = gw_clock_mono_ms() + ms;
	if (end < ms)
		end = UINT64_MAX;
	for (;;) {
		if (gw_stopwatch_poll(w, true) || gw_stopwatch_cancelled(w))
			return true;
		uint64_t now = gw_clock_mono_ms();
		if (now >= end)
			return false;
		gw_clock_sleep_ms(end - now < GW_RUNNER_STOP_POLL_MS ? end - now : GW_RUNNER_STOP_POLL_MS);
	}
}

/* Evaluates the queue without the lock; *nevaluated receives how many
 * entries have their final result (fewer when a stop landed or the run was
 * cancelled).  0, or -EPROTO on the first contract mismatch. */
static int
gw_evaluate_queue(const gw_runner_opts *o, gw_eval *evals, size_t nq, gw_arena *arena,
    gw_stopwatch *w, size_t *nevaluated, gw_err *err)
{
	gw_result res = { 0 };
	uint64_t max_attempts = o->retry_max_attempts ? o->retry_max_attempts : 1;
	int rc = 0;
	size_t i;
	for (i = 0; i < nq && rc == 0; i++) {
		if (gw_stopwatch_poll(w, false) || gw_stopwatch_cancelled(w))
			break;
		gw_eval *e = &evals[i];
		bool stopped = false;
		for (uint64_t attempt = 1;; attempt++) {
			gw_case_evaluate(e->c, &res);
			if ((rc = gw_case_check(e->c, &res, err)) != 0)
				break;
			if (res.outcome != GW_OUTCOME_RETRYABLE_FAILURE || attempt >= max_attempts)
				break;
			e->retries++;
			if (gw_stopwatch_sleep(w, gw_runner_retry_delay_ms(o->retry_base_delay_ms, attempt))) {
				stopped = true;
				break;
			}
		}
		if (rc != 0 || stopped)
			break;
		e->outcome = res.outcome;
		e->status = res.status;
		e->error_code = res.error_code;
		e->body = gw_arena_strndup(arena, gw_buf_cstr(&res.body), res.body.len);
		memcpy(e->method, res.method, sizeof(e->method));
		/* per case: one relaxed store the console reads on its own clock */
		if (o->cases_done != NULL)
			atomic_store_explicit(o->cases_done, i + 1, memory_order_relaxed);
		if ((i & 1023) == 1023)
			gw_progress(o, "evaluate", i + 1, nq);
	}
	*nevaluated = i;
	gw_buf_free(&res.body);
	return rc;
}

static void
gw_reason_codes(gw_cycle_report *r)
{
	r->nreason_codes = 0;
	if (r->cancelled)
		r->reason_codes[r->nreason_codes++] = "cycle_cancelled";
	if (r->backlog > 0)
		r->reason_codes[r->nreason_codes++] = "queue_backpressure_applied";
	if (r->duplicate_skips > 0)
		r->reason_codes[r->nreason_codes++] = "duplicate_cases_skipped";
	if (r->malformed > 0)
		r->reason_codes[r->nreason_codes++] = "malformed_inputs_observed";
	if (r->retry_attempts > 0)
		r->reason_codes[r->nreason_codes++] = "retry_attempted";
	if (r->retryable_failures > 0)
		r->reason_codes[r->nreason_codes++] = "retryable_failures_observed";
	if (r->failed > 0)
		r->reason_codes[r->nreason_codes++] = "case_processing_failed";
	if (r->nreason_codes == 0)
		r->reason_codes[r->nreason_codes++] = "healthy_cycle";
}

/* One MEMORY.md line with the key it sorts by. */
typedef struct gw_mem_line {
	const char *key, *line;    /* arena */
} gw_mem_line;

typedef struct gw_mem_ctx {
	gw_arena *arena;
	gw_mem_line **lines;       /* per actor */
	size_t *n, *cap;
	gw_buf tmp;
} gw_mem_ctx;

static void
gw_mem_add(void *ctx, size_t ai, const gw_request *q)
{
	gw_mem_ctx *m = ctx;
	gw_buf_reset(&m->tmp);
	gw_records_memory_line(&m->tmp, q);
	if (m->n[ai] == m->cap[ai]) {
		m->cap[ai] = m->cap[ai] ? m->cap[ai] * 2 : 16;
		m->lines[ai] = gw_xrealloc(m->lines[ai], m->cap[ai] * sizeof(**m->lines));
	}
	m->lines[ai][m->n[ai]++] = (gw_mem_line){ gw_arena_strdup(m->arena, q->case_key),
		gw_arena_strndup(m->arena, m->tmp.data, m->tmp.len) };
}

static int
gw_mem_cmp(const void *a, const void *b)
{
	return strcmp(((const gw_mem_line *)a)->key, ((const gw_mem_line *)b)->key);
}

/* Sorts lines by key.  They come as a long sorted run (the actor's range
 * of the store) followed by a few others (this cycle's, the log's): the
 * tail is sorted alone and merged, O(n + k log k) instead of O(n log n). */
static void
gw_mem_sort(gw_mem_line *l, size_t n)
{
	size_t run = 1;
	while (run < n && strcmp(l[run - 1].key, l[run].key) <= 0)
		run++;
	if (run == n)
		return;
	if (run < n / 2) {
		qsort(l, n, sizeof(*l), gw_mem_cmp);
		return;
	}
	qsort(l + run, n - run, sizeof(*l), gw_mem_cmp);
	gw_mem_line *out = gw_xmalloc(n * sizeof(*out));
	size_t i = 0, j = run, o = 0;
	while (i < run && j < n)
		out[o++] = strcmp(l[i].key, l[j].key) <= 0 ? l[i++] : l[j++];
	while (i < run)
		out[o++] = l[i++];
	while (j < n)
		out[o++] = l[j++];
	memcpy(l, out, n * sizeof(*l));
	free(out);
}

/* Fills each actor's memory buffer with its MEMORY.md lines: spliced from
 * the lines the store keeps when it keeps them, else rendered from every
 * record of the actor. */
static int
gw_actor_memories(gw_state *st, gw_actor *actors, size_t nactors, gw_err *err)
{
	const char **names = gw_xmalloc((nactors ? nactors : 1) * sizeof(*names));
	for (size_t i = 0; i < nactors; i++)
		names[i] = actors[i].name;
	gw_buf *bufs = gw_xcalloc(nactors ? nactors : 1, sizeof(*bufs));
	int rc = gw_state_actor_memory(st, names, nactors, bufs, err);
	for (size_t i = 0; i < nactors; i++) {
		if (rc == 1) {
			gw_buf_free(&actors[i].memory);
			actors[i].memory = bufs[i];
		} else {
			gw_buf_free(&bufs[i]);
		}
	}
	free(bufs);
	if (rc != 0) {
		free(names);
		return rc < 0 ? rc : 0;
	}
	gw_mem_ctx m = { gw_arena_new(), gw_xcalloc(nactors ? nactors : 1, sizeof(*m.lines)),
		gw_xcalloc(nactors ? nactors : 1, sizeof(size_t)),
		gw_xcalloc(nactors ? nactors : 1, sizeof(size_t)), GW_BUF_INIT };
	rc = gw_state_actor_requests(st, names, nactors, gw_mem_add, &m, err);
	for (size_t i = 0; i < nactors; i++) {
		if (rc == 0 && m.n[i] > 1)
			gw_mem_sort(m.lines[i], m.n[i]);
		for (size_t k = 0; rc == 0 && k < m.n[i]; k++)
			gw_buf_puts(&actors[i].memory, m.lines[i][k].line);
		free(m.lines[i]);
	}
	free(m.lines);
	free(m.n);
	free(m.cap);
	free(names);
	gw_buf_free(&m.tmp);
	gw_arena_free(m.arena);
	return rc;
}

/* The MEMORY.md text of an actor (its records' lines in a.memory). */
static void
gw_actor_memory_text(const gw_actor *a, gw_buf *m)
{
	gw_buf_printf(m, "# Tau Gateway Snapshot (%s)\n\n", a->name);
	if (a->memory.len == 0)
		gw_buf_puts(m, "- No persisted requests\n");
	else
		gw_buf_append(m, a->memory.data, a->memory.len);
}

/* gw_write_channels on a store (inside its transaction, which makes the
 * appends all-or-nothing as the journal does for files): each touched
 * actor's lines and MEMORY.md, under the names its directory would have. */
static int
gw_write_channels_store(const gw_runner_opts *o, gw_store *store, gw_actor *actors,
    size_t nactors, gw_err *err)
{
	gw_buf t = GW_BUF_INIT, c = GW_BUF_INIT, m = GW_BUF_INIT;
	gw_chanstore_sanitize("gateway", &t);
	int rc = 0;
	for (size_t i = 0; i < nactors && rc == 0; i++) {
		gw_actor *a = &actors[i];
		gw_buf_reset(&c);
		gw_buf_reset(&m);
		gw_chanstore_sanitize(a->name, &c);
		gw_actor_memory_text(a, &m);
		rc = gw_store_channel_append(store, gw_buf_cstr(&t), gw_buf_cstr(&c), a->log.data,
		    a->log.len, a->ctx.data, a->ctx.len, m.data, m.len, err);
		if ((i & 63) == 63)
			gw_progress(o, "write", i + 1, nactors);
	}
	gw_buf_free(&t);
	gw_buf_free(&c);
	gw_buf_free(&m);
	return rc;
}

/* Writes every touched actor's files: one append per file, one MEMORY.md.
 * For files, *committed receives the committed batch of MEMORY.md and
 * schema.json replacements (NULL otherwise): the caller undoes it
 * (gw_fs_batch_undo) when the state save that commits the cycle fails,
 * and frees it. */
static int
gw_write_channels(const gw_runner_opts *o, gw_store *store, gw_state *st, gw_actor *actors,
    size_t nactors, gw_fs_batch **committed, gw_err *err)
{
	*committed = NULL;
	/* MEMORY.md lists all of the actor's records, in case_key order: each
	 * touched actor's records are read (its range of the store, not the
	 * whole store) and sorted */
	int rc = gw_actor_memories(st, actors, nactors, err);
	if (rc != 0)
		return rc;
	if (store != NULL)
		return gw_write_channels_store(o, store, actors, nactors, err);
	char *root = gw_path_join(o->state_dir, "channel-store");
	/* MEMORY.md and schema.json are small derived files: replace them all
	 * atomically but sync them together (two syncs, not two per actor);
	 * MEMORY.md through its spare, which is exchanged with it (no inode
	 * created or freed per actor and cycle) */
	gw_fs_batch *batch = gw_fs_batch_new();
	/* the appends are journalled so a crash before the state save is undone */
	gw_journal *journal = gw_journal_new(o->state_dir, st->health.updated_unix_ms);
	static const char *const files[2] = { "log.jsonl", "context.jsonl" };
	/* journal paths are relative to the state dir: skip what precedes
	 * "channel-store" in root (the state dir and its separator) */
	size_t state_prefix = strlen(root) - strlen("channel-store");
	for (size_t i = 0; i < nactors && rc == 0; i++) {
		gw_actor *a = &actors[i];
		a->dir = gw_chanstore_dir(root, "gateway", a->name);
		for (size_t k = 0; k < 2 && rc == 0; k++) {
			char *p = gw_path_join(a->dir + state_prefix, files[k]);
			rc = gw_journal_add(journal, p, err);
			free(p);
		}
	}
	if (rc == 0)
		rc = gw_journal_write(journal, err);
	gw_journal_free(journal);
	/* the actors' shared parents (channel-store/gateway) are made and
	 * checked once here, each actor's own directory in its open */
	if (rc == 0 && nactors > 0) {
		gw_buf parent = GW_BUF_INIT;
		gw_buf_puts(&parent, "channel-store/");
		gw_chanstore_sanitize("gateway", &parent);
		rc = gw_fs_mkdirs_under(o->state_dir, gw_buf_cstr(&parent), NULL, err);
		gw_buf_free(&parent);
	}
	for (size_t i = 0; i < nactors && rc == 0; i++) {
		gw_actor *a = &actors[i];
		const char *dir = a->dir;
		rc = gw_chanstore_open_in_cycle(o->state_dir, dir + state_prefix, "gateway", a->name,
		    batch, err);
		const gw_buf *bufs[2] = { &a->log, &a->ctx };
		for (size_t k = 0; k < 2 && rc == 0; k++) {
			if (bufs[k]->len == 0)
				continue;
			char *p = gw_path_join(dir, files[k]);
			rc = gw_fs_append(p, bufs[k]->data, bufs[k]->len, err);
			free(p);
		}
		if (rc == 0) {
			gw_buf m = GW_BUF_INIT;
			gw_actor_memory_text(a, &m);
			char *p = gw_path_join(dir, "MEMORY.md");
			rc = gw_fs_batch_add_spared(batch, p, m.data, m.len, err);
			free(p);
			gw_buf_free(&m);
		}
		if ((i & 63) == 63)
			gw_progress(o, "write", i + 1, nactors);
	}
	if (rc == 0 && (rc = gw_fs_batch_commit(batch, err)) != 0)
		(void)gw_fs_batch_undo(batch); /* the files already swapped go back */
	if (rc == 0)
		*committed = batch;
	else
		gw_fs_batch_free(batch);
	free(root);
	return rc;
}

/*
 * Takes the lock and makes *st the state to write: the one already in *st
 * when state.json is still the file *id names (nobody wrote it since, so a
 * large state is not parsed twice per cycle), else a fresh load; records
 * state.json's identity in *id, undoes an interrupted cycle's appends and
 * normalises the service block.  On failure nothing is held and *st is
 * NULL.
 */
static int
gw_runner_lock_load(const gw_runner_opts *o, gw_store *store, bool nowait, gw_lock *lock,
    gw_state **st, gw_file_id *id, gw_cycle_report *r, gw_err *err)
{
	if (store != NULL) { /* a transaction holding the row; always a fresh read */
		gw_state_free(*st);
		*st = NULL;
		int rc = gw_store_begin(store, "runner cycle", err);
		if (rc == 0 && (rc = gw_posture_load(store, GW_STATE_WRITE, st, err)) != 0)
			gw_store_abort(store);
		if (rc != 0)
			return rc;
		gw_state_normalize_service(*st, gw_clock_unix_ms());
		return 0;
	}
	int rc = nowait ? gw_lock_try_as(lock, o->state_dir, "runner cycle", err) :
	    gw_lock_acquire_as(lock, o->state_dir, "runner cycle", err);
	if (rc != 0) {
		gw_state_free(*st);
		*st = NULL;
		return rc;
	}
	char *path = gw_path_join(o->state_dir, "state.json");
	gw_file_id cur;
	gw_file_id_peek(path, &cur);
	if (*st == NULL || !gw_file_id_same(&cur, id)) {
		gw_state_free(*st);
		*st = NULL;
		rc = gw_state_load(o->state_dir, GW_STATE_WRITE, st, err);
		/* (after the load: a corrupt file was moved aside; the lock
		 * keeps writers out meanwhile) */
		gw_file_id_pin(path, id);
	}
	free(path);
	if (rc != 0) {
		gw_lock_release(lock);
		return rc;
	}
	/* a cycle that died before saving its state is undone first */
	unsigned rolled_back = 0;
	rc = gw_journal_recover(o->state_dir, (*st)->health.updated_unix_ms, &rolled_back, err);
	if (rc != 0) {
		gw_state_free(*st);
		*st = NULL;
		gw_lock_release(lock);
		return rc;
	}
	r->rolled_back_files += rolled_back;
	if (r->notice[0] == '\0')
		snprintf(r->notice, sizeof(r->notice), "%s", (*st)->notice);
	gw_state_normalize_service(*st, gw_clock_unix_ms());
	return 0;
}

/* Fills the report of a cycle a stop ended: nothing of it is applied, the
 * state is as the stop left it, and the event line says service_stopped. */
static int
gw_runner_stopped(const gw_runner_opts *o, gw_store *store, const gw_state *st, const gw_stopwatch *w,
    uint64_t npending, uint64_t t0, gw_cycle_report *r, gw_err *err)
{
	r->service_stopped = true;
	snprintf(r->stop_reason, sizeof(r->stop_reason), "%s", w->reason);
	r->applied = r->malformed = r->retryable_failures = r->retry_attempts = 0;
	r->failed = r->upserted_requests = 0;
	r->backlog = npending; /* every pending case is still pending */
	r->nreason_codes = 0;
	r->reason_codes[r->nreason_codes++] = "service_stopped";
	r->timestamp_unix_ms = gw_clock_unix_ms();
	r->health = st->health;
	r->health.cycle_duration_ms = gw_clock_mono_ms() - t0;
	r->health_state = gw_health_classify(&st->health, r->health_reason, sizeof(r->health_reason));
	r->guardrail = st->guardrail;
	gw_gates_compute(&r->gates, &st->guardrail, &st->health, st->service.stopped);
	gw_buf line = GW_BUF_INIT;
	gw_cycle_report_json(r, &line);
	int rc = store != NULL ? gw_store_event_append(store, line.data, line.len, err) :
	    gw_events_append(o->state_dir, line.data, line.len, err);
	if (rc == 0 && store != NULL)
		rc = gw_store_commit(store, err);
	gw_buf_free(&line);
	gw_progress(o, "done", 0, r->queued);
	return rc;
}

/* Step A's processed checks go to the state this many at a time. */
#define GW_RUNNER_DEDUPE_BATCH 1024

/* Prefetches the keys of the fixture f's n cases, or of the n evaluated
 * entries evals (a store's rows; an error is remembered by st and met by
 * the save). */
static void
gw_runner_prefetch(gw_state *st, const gw_fixture *f, const gw_eval *evals, size_t n)
{
	const char **keys = gw_xmalloc((n ? n : 1) * sizeof(*keys));
	for (size_t i = 0; i < n; i++)
		keys[i] = f != NULL ? gw_fixture_case(f, i)->key : evals[i].c->key;
	gw_state_prefetch(st, keys, n, NULL);
	free(keys);
}

/*
 * One cycle in three steps, so the state lock is held only for short
 * read-modify-write sections and never across an evaluation or a backoff
 * sleep (a service stop waits milliseconds, not a cycle):
 *   A. locked: load the state, dedupe, build the queue; release.
 *   B. unlocked: evaluate and contract-check the queue, sleeping through
 *      backoff in slices that watch for a stop.
 *   C. locked: load the state again, skip cases another writer processed
 *      meanwhile, apply, write channels, state.json and the event line.
 * A stop that lands during the cycle (seen in B, or in C's fresh state)
 * ends it: nothing is applied and the event line says service_stopped.
 */
int
gw_runner_run(const gw_runner_opts *o, gw_cycle_report *r, gw_err *err)
{
	memset(r, 0, sizeof(*r));
	uint64_t t0 = gw_clock_mono_ms();
	gw_fixture *f;
	int rc = gw_fixture_load(o->fixture_path, &f, err);
	if (rc != 0)
		return rc;
	snprintf(r->fixture_name, sizeof(r->fixture_name), "%s", gw_fixture_name(f));

	/* fleet mode: this cycle's own connection (the console runs cycles on
	 * a worker thread) */
	gw_store *store = NULL;
	if (o->state_url != NULL &&
	    (rc = gw_store_open_url(o->state_url, o->deployment, &store, err)) != 0) {
		gw_store_close(store);
		gw_fixture_free(f);
		return rc;
	}

	/* A: the queue */
	gw_lock lock = { .fd = -1 };
	gw_state *st = NULL;
	gw_file_id state_id = { .pin = -1 };
	rc = gw_runner_lock_load(o, store, o->lock_nowait, &lock, &st, &state_id, r, err);
	if (rc != 0) {
		gw_file_id_drop(&state_id);
		gw_store_close(store);
		gw_fixture_free(f);
		return rc;
	}
	gw_stopwatch watch;
	gw_stopwatch_init(&watch, o->state_dir, store, &st->service);
	watch.cancel = o->cancel;
	/* dedupe against every stored key before the queue limit, so big
	 * fixtures drain across cycles (the cap is applied only when saving,
	 * and never drops this fixture's keys) */
	size_t n = gw_fixture_count(f), npending = 0;
	gw_pending *pending = gw_xmalloc((n ? n : 1) * sizeof(*pending));
	if (store != NULL) /* the fixture's keys in a few queries, not two per case */
		gw_runner_prefetch(st, f, NULL, n);
	/* the processed checks a batch at a time (their store lookups overlap) */
	const char *keys[GW_RUNNER_DEDUPE_BATCH];
	bool done[GW_RUNNER_DEDUPE_BATCH];
	for (size_t i = 0; i < n; i++) {
		const gw_case *c = gw_fixture_case(f, i);
		if (i % GW_RUNNER_DEDUPE_BATCH == 0) {
			size_t m = n - i < GW_RUNNER_DEDUPE_BATCH ? n - i : GW_RUNNER_DEDUPE_BATCH;
			for (size_t j = 0; j < m; j++)
				keys[j] = gw_fixture_case(f, i + j)->key;
			gw_state_processed_many(st, keys, m, done);
		}
		if (done[i % GW_RUNNER_DEDUPE_BATCH]) {
			r->duplicate_skips++;
			continue;
		}
		const gw_request *q = gw_state_find_request(st, c->key);
		pending[npending++] = (gw_pending){
			.case_id = c->case_id,
			.c = c,
			.failed = q != NULL && strcmp(q->outcome, "retryable_failure") == 0,
		};
	}
	/* st is kept: step C reuses it if nobody wrote meanwhile (files) */
	if (store != NULL)
		gw_store_abort(store); /* (it only read) */
	else
		gw_lock_release(&lock);
	if ((rc = gw_state_store_error(st, err)) != 0) { /* a damaged record met on a lookup */
		free(pending);
		gw_state_free(st);
		gw_stopwatch_free(&watch);
		gw_file_id_drop(&state_id);
		gw_store_close(store);
		gw_fixture_free(f);
		return rc;
	}

	qsort(pending, npending, sizeof(*pending), gw_pending_cmp);
	r->discovered = n;
	r->queued = npending < o->queue_limit ? npending : o->queue_limit;

	/* B: evaluate, unlocked */
	gw_arena *arena = gw_arena_new();
	gw_eval *evals = gw_xcalloc(r->queued ? r->queued : 1, sizeof(*evals));
	for (size_t i = 0; i < r->queued; i++)
		evals[i].c = pending[i].c;
	free(pending);
	gw_progress(o, "evaluate", 0, r->queued);
	if (o->cases_done != NULL)
		atomic_store_explicit(o->cases_done, 0, memory_order_relaxed);
	size_t nevaluated = 0;
	rc = gw_evaluate_queue(o, evals, r->queued, arena, &watch, &nevaluated, err);
	/* a cancel: the evaluated cases are applied below as a cycle's are (one
	 * commit), the others stay pending */
	if (rc == 0 && !watch.stopped && nevaluated < r->queued && gw_stopwatch_cancelled(&watch))
		r->cancelled = true;

	gw_actor *actors = NULL;
	size_t nactors = 0, actors_cap = 0;
	gw_strmap *actor_index = gw_strmap_new(64);
	/* C: apply, locked again (waiting, bounded, even with lock_nowait:
	 * the work is done and the lock is only ever held briefly) */
	if (rc == 0)
		rc = gw_runner_lock_load(o, store, false, &lock, &st, &state_id, r, err);
	if (rc == 0 && gw_stopwatch_check(&watch, &st->service)) {
		rc = gw_runner_stopped(o, store, st, &watch, npending, t0, r, err);
	} else if (rc == 0) {
		/* the cycle's stamp (health.updated_unix_ms) identifies it in the
		 * journal, so it must differ from the last committed one */
		uint64_t now = gw_clock_unix_ms();
		if (now <= st->health.updated_unix_ms)
			now = st->health.updated_unix_ms + 1;
		uint64_t late_skips = 0;
		if (store != NULL)
			gw_runner_prefetch(st, NULL, evals, nevaluated);
		for (size_t i = 0; i < nevaluated; i++) {
			gw_eval *e = &evals[i];
			/* another runner may have processed it while we evaluated */
			if (gw_state_is_processed(st, e->c->key)) {
				late_skips++;
				continue;
			}
			switch (e->outcome) {
			case GW_OUTCOME_SUCCESS:
				r->applied++;
				break;
			case GW_OUTCOME_MALFORMED_INPUT:
				r->malformed++;
				break;
			case GW_OUTCOME_RETRYABLE_FAILURE:
				r->retryable_failures++; /* per case, not per attempt */
				r->failed++;
				break;
			}
			r->retry_attempts += e->retries;
			const char *endpoint = gw_str_trimdup(arena, e->c->endpoint);
			const char *actor = gw_str_trimdup(arena, e->c->actor_id);
			gw_request *q = gw_state_upsert_request(st, e->c->key);
			q->case_id = gw_state_strdup(st, e->c->case_id);
			q->method = gw_state_strdup(st, e->method);
			q->endpoint = gw_state_strdup(st, endpoint);
			q->actor_id = gw_state_strdup(st, actor);
			q->status_code = e->status;
			q->outcome = gw_outcome_name(e->outcome);
			q->error_code = e->error_code;
			q->response_body = gw_state_strdup(st, e->body);
			q->updated_unix_ms = now;
			r->upserted_requests++;
			if (e->outcome != GW_OUTCOME_RETRYABLE_FAILURE)
				gw_state_mark_processed(st, e->c->key);
			if (actor[0] == '\0')
				continue;
			size_t ai;
			if (!gw_strmap_get(actor_index, actor, &ai)) {
				if (nactors == actors_cap) {
					actors_cap = actors_cap ? actors_cap * 2 : 16;
					actors = gw_xrealloc(actors, actors_cap * sizeof(*actors));
				}
				ai = nactors++;
				actors[ai] = (gw_actor){ .name = actor };
				gw_strmap_put(actor_index, actor, ai);
			}
			gw_log_line(&actors[ai].log, now, e, endpoint);
			gw_ctx_line(&actors[ai].ctx, now, e, endpoint);
		}
		r->duplicate_skips += late_skips;
		/* the cap never drops a key of the fixture being run: a fixture
		 * larger than the cap drains and re-applies nothing */
		if (st->nkeys > o->processed_case_cap) { /* (pins cost a set of the fixture) */
			for (size_t i = 0; i < n; i++)
				gw_state_pin_processed(st, gw_fixture_case(f, i)->key);
			gw_state_cap_processed(st, o->processed_case_cap);
		}
		r->backlog = npending - (r->cancelled ? nevaluated : r->queued);

		gw_health *h = &st->health;
		uint64_t prev_streak = h->failure_streak;
		h->updated_unix_ms = now;
		h->cycle_duration_ms = gw_clock_mono_ms() - t0;
		h->queue_depth = r->backlog;
		h->active_runs = 0;
		/* a cancelled cycle applies what it evaluated, but a part of the
		 * queue proves no recovery: with no failed case the streak stays,
		 * and below (a PASS from it) so does a HOLD */
		h->failure_streak = r->failed > 0 ? prev_streak + 1 : r->cancelled ? prev_streak : 0;
		h->last_cycle_discovered = r->discovered;
		h->last_cycle_processed = r->applied + r->malformed + r->failed + r->duplicate_skips;
		h->last_cycle_completed = r->applied + r->malformed;
		h->last_cycle_failed = r->failed;
		h->last_cycle_duplicates = r->duplicate_skips;
		gw_guardrail_input gi = {
			.failure_streak_threshold = o->failure_streak_threshold,
			.retryable_failures_threshold = o->retryable_failures_threshold,
			.failure_streak = h->failure_streak,
			.failed = r->failed,
			.retryable_failures = r->retryable_failures,
			.malformed = r->malformed,
			.now_unix_ms = now,
		};
		gw_guardrail prev_guardrail = st->guardrail;
		gw_guardrail_evaluate(&st->guardrail, &gi);
		if (r->cancelled && strcmp(st->guardrail.gate, "pass") == 0 &&
		    strcmp(prev_guardrail.gate, "hold") == 0) {
			memcpy(st->guardrail.gate, prev_guardrail.gate, sizeof(st->guardrail.gate));
			memcpy(st->guardrail.reason_code, prev_guardrail.reason_code,
			    sizeof(st->guardrail.reason_code));
		}
		gw_reason_codes(r);
		r->timestamp_unix_ms = now;
		r->health = *h;
		r->health_state = gw_health_classify(h, r->health_reason, sizeof(r->health_reason));
		r->guardrail = st->guardrail;
		gw_gates_compute(&r->gates, &st->guardrail, h, st->service.stopped);

		/* channel files (journalled), then the state that commits them,
		 * then the event */
		gw_fs_batch *replaced = NULL;
		rc = gw_write_channels(o, store, st, actors, nactors, &replaced, err);
		if (store != NULL) {
			/* records, posture and event commit together, or none */
			if (rc == 0)
				rc = gw_posture_save(store, st, err);
			if (rc == 0) {
				gw_buf line = GW_BUF_INIT;
				gw_cycle_report_json(r, &line);
				rc = gw_store_event_append(store, line.data, line.len, err);
				gw_buf_free(&line);
			}
			if (rc == 0)
				rc = gw_store_commit(store, err);
		} else {
			if (rc == 0)
				rc = gw_state_save(st, err);
			if (rc == 0)
				gw_journal_commit(o->state_dir);
			else { /* (a full disk) undo this cycle's appends now, not at the next run,
				* and put back the MEMORY.md texts its spares still hold */
				unsigned undone = 0;
				gw_journal_recover(o->state_dir, 0, &undone, NULL);
				if (replaced != NULL)
					(void)gw_fs_batch_undo(replaced);
			}
			if (rc == 0) {
				gw_buf line = GW_BUF_INIT;
				gw_cycle_report_json(r, &line);
				rc = gw_events_append(o->state_dir, line.data, line.len, err);
				gw_buf_free(&line);
			}
		}
		gw_fs_batch_free(replaced);
		gw_progress(o, "done", r->queued, r->queued);
	}
	for (size_t i = 0; i < nactors; i++) {
		gw_buf_free(&actors[i].log);
		gw_buf_free(&actors[i].ctx);
		gw_buf_free(&actors[i].memory);
		free(actors[i].dir);
	}
	free(actors);
	gw_strmap_free(actor_index);
	free(evals);
	gw_state_free(st);
	gw_lock_release(&lock); /* no-op when not held */
	if (store != NULL) {
		gw_store_abort(store); /* no-op after a commit */
		gw_store_close(store);
	}
	gw_stopwatch_free(&watch);
	gw_file_id_drop(&state_id);
	gw_arena_free(arena);
	gw_fixture_free(f);
	return rc;
}

void
gw_cycle_report_text(const gw_cycle_report *r, gw_buf *b)
{
	gw_buf_printf(b,
	    "gateway runner summary: discovered=%llu queued=%llu applied=%llu duplicate_skips=%llu "
	    "malformed=%llu retryable_failures=%llu retries=%llu failed=%llu upserted_requests=%llu\n"
	    "gateway runner health: state=%s failure_streak=%llu queue_depth=%llu reason=%s",
	    (unsigned long long)r->discovered, (unsigned long long)r->queued,
	    (unsigned long long)r->applied, (unsigned long long)r->duplicate_skips,
	    (unsigned long long)r->malformed, (unsigned long long)r->retryable_failures,
	    (unsigned long long)r->retry_attempts, (unsigned long long)r->failed,
	    (unsigned long long)r->upserted_requests, gw_health_state_name(r->health_state),
	    (unsigned long long)r->health.failure_streak, (unsigned long long)r->health.queue_depth,
	    r->health_reason);
}

void
gw_cycle_report_json(const gw_cycle_report *r, gw_buf *out)
{
	gw_jw w;
	gw_jw_init(&w, out, false);
	gw_jw_obj_begin(&w);
	gw_jw_ku64(&w, "timestamp_unix_ms", r->timestamp_unix_ms);
	gw_jw_kstr(&w, "kind", "cycle");
	gw_jw_kstr(&w, "health_state", gw_health_state_name(r->health_state));
	gw_jw_kstr(&w, "health_reason", r->health_reason);
	gw_jw_kstr(&w, "rollout_gate", r->guardrail.gate);
	gw_jw_kstr(&w, "rollout_reason_code", r->guardrail.reason_code);
	gw_jw_ku64(&w, "guardrail_failure_streak_threshold", r->guardrail.failure_streak_threshold);
	gw_jw_ku64(&w, "guardrail_retryable_failures_threshold",
	    r->guardrail.retryable_failures_threshold);
	gw_jw_key(&w, "reason_codes");
	gw_jw_arr_begin(&w);
	for (size_t i = 0; i < r->nreason_codes; i++)
		gw_jw_str(&w, r->reason_codes[i]);
	gw_jw_arr_end(&w);
	gw_jw_ku64(&w, "discovered_cases", r->discovered);
	gw_jw_ku64(&w, "queued_cases", r->queued);
	gw_jw_ku64(&w, "applied_cases", r->applied);
	gw_jw_ku64(&w, "duplicate_skips", r->duplicate_skips);
	gw_jw_ku64(&w, "malformed_cases", r->malformed);
	gw_jw_ku64(&w, "retryable_failures", r->retryable_failures);
	gw_jw_ku64(&w, "retry_attempts", r->retry_attempts);
	gw_jw_ku64(&w, "failed_cases", r->failed);
	gw_jw_ku64(&w, "upserted_requests", r->upserted_requests);
	gw_jw_ku64(&w, "backlog_cases", r->backlog);
	gw_jw_ku64(&w, "failure_streak", r->health.failure_streak);
	gw_jw_ku64(&w, "cycle_duration_ms", r->health.cycle_duration_ms);
	gw_jw_kstr(&w, "fixture", r->fixture_name);
	gw_jw_obj_end(&w);
}
