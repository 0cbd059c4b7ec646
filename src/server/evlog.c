/*
 * evlog.c - the server's writer of event-log lines (see evlog.h).
 *
 * Lines come from the event loops and the worker pool, which must never
 * wait for a file lock: srv_evlog_post copies a line into the queue under
 * a mutex held for a copy and returns.  One thread takes what is
 * queued, waits for the state directory's lock as every other writer of
 * runtime-events.jsonl does (gw_store_begin: the runner, the console and
 * the command line hold it while they append, and the file store cuts a
 * torn tail it finds, which is safe only under that lock), appends the
 * batch in one write and lets go.  Rate-limited lines (upstream failures,
 * which come at request rate during an outage) pass a token bucket and at
 * most 256 of them wait; what is turned away is counted and written as one
 * "suppressed" line with the next batch, or a second later when no line
 * comes, so the log says lines are missing and never grows at request
 * rate.  Other lines (routes reloads, which an operator causes) are always
 * kept.
 */
#include "server/evlog.h"
#include "core/base/clock.h"
#include "core/base/json.h"
#include "core/base/mem.h"
#include "core/store/store.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SRV_EVLOG_QUEUE_MAX 256  /* rate-limited lines waiting; more are counted */
#define SRV_EVLOG_BURST 20       /* rate-limited lines let through at once */
#define SRV_EVLOG_PER_SEC 5      /* and after that, this many a second */

struct srv_evlog {
	char *dir;                  /* the state directory, owned */
	srv_evlog_log_fn log;       /* where a failed write is said */
	void *log_ctx;
	pthread_t thread;
	pthread_mutex_t lock;       /* guards everything below */
	pthread_cond_t cond;        /* on CLOCK_MONOTONIC */
	char **lines;               /* the queue, owned copies */
	size_t *lens;
	size_t n, cap;
	size_t nlimited;            /* rate-limited lines among them */
	uint64_t suppressed;        /* rate-limited lines turned away, not yet said */
	double tokens;              /* the rate limit's bucket */
	uint64_t tokens_at_ms;      /* when it was last filled */
	bool stop;
};

/* Appends one batch (and the suppressed count's line) under the lock. */
static void
srv_evlog_write(srv_evlog *ev, char **lines, size_t *lens, size_t n, uint64_t suppressed)
{
	gw_buf sup = GW_BUF_INIT;
	const char **all = gw_xcalloc(n + 1, sizeof(*all));
	size_t *alls = gw_xcalloc(n + 1, sizeof(*alls)), k = 0;
	for (size_t i = 0; i < n; i++) {
		all[k] = lines[i];
		alls[k++] = lens[i];
	}
	if (suppressed > 0) {
		gw_jw w;
		gw_jw_init(&w, &sup, false);
		gw_jw_obj_begin(&w);
		gw_jw_ku64(&w, "timestamp_unix_ms", gw_clock_unix_ms());
		gw_jw_kstr(&w, "kind", "upstream");
		gw_jw_kstr(&w, "outcome", "suppressed");
		gw_jw_ku64(&w, "count", suppressed);
		gw_jw_kstr(&w, "reason", "more upstream failures than the event log takes "
		    "(a burst of 20, then 5 a second); the server log names every one");
		gw_jw_obj_end(&w);
		all[k] = sup.data;
		alls[k++] = sup.len;
	}
	gw_err err;
	gw_err_clear(&err);
	gw_store *st = NULL;
	int rc = gw_store_open_dir(ev->dir, &st, &err);
	if (rc == 0 && (rc = gw_store_begin(st, "server events", &err)) == 0) {
		rc = gw_store_event_append_batch(st, all, alls, k, &err);
		gw_err cerr;
		gw_store_commit(st, &cerr); /* files: the lock's release */
	}
	gw_store_close(st);
	if (rc != 0 && ev->log != NULL)
		ev->log(ev->log_ctx, err.msg, k);
	gw_buf_free(&sup);
	free(all);
	free(alls);
}

static void *
srv_evlog_main(void *arg)
{
	srv_evlog *ev = arg;
	pthread_mutex_lock(&ev->lock);
	for (;;) {
		/* a count of turned-away lines alone waits a second for lines to
		 * go with (during an outage a kept line comes every 200 ms), so
		 * the end of a burst is said within a second, never per line */
		while (ev->n == 0 && !ev->stop) {
			if (ev->suppressed == 0) {
				pthread_cond_wait(&ev->cond, &ev->lock);
				continue;
			}
			struct timespec until;
			clock_gettime(CLOCK_MONOTONIC, &until);
			until.tv_sec += 1;
			if (pthread_cond_timedwait(&ev->cond, &ev->lock, &until) == ETIMEDOUT)
				break;
		}
		if (ev->n == 0 && ev->suppressed == 0)
			break; /* stopping, and everything is written */
		char **lines = ev->lines;
		size_t *lens = ev->lens, n = ev->n;
		uint64_t sup = ev->suppressed;
		ev->lines = NULL;
		ev->lens = NULL;
		ev->n = ev->cap = ev->nlimited = 0;
		ev->suppressed = 0;
		pthread_mutex_unlock(&ev->lock);
		srv_evlog_write(ev, lines, lens, n, sup);
		for (size_t i = 0; i < n; i++)
			free(lines[i]);
		free(lines);
		free(lens);
		pthread_mutex_lock(&ev->lock);
	}
	pthread_mutex_unlock(&ev->lock);
	return NULL;
}

int
srv_evlog_new(const char *state_dir, srv_evlog_log_fn log, void *log_ctx, srv_evlog **out)
{
	*out = NULL;
	srv_evlog *ev = gw_xcalloc(1, sizeof(*ev));
	ev->dir = gw_xstrdup(state_dir);
	ev->log = log;
	ev->log_ctx = log_ctx;
	ev->tokens = SRV_EVLOG_BURST;
	ev->tokens_at_ms = gw_clock_mono_ms();
	pthread_mutex_init(&ev->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&ev->cond, &ca);
	pthread_condattr_destroy(&ca);
	int rc = pthread_create(&ev->thread, NULL, srv_evlog_main, ev);
	if (rc != 0) {
		pthread_mutex_destroy(&ev->lock);
		pthread_cond_destroy(&ev->cond);
		free(ev->dir);
		free(ev);
		return -rc;
	}
	*out = ev;
	return 0;
}

bool
srv_evlog_post(srv_evlog *ev, const char *line, size_t n, bool limited)
{
	bool kept = false;
	pthread_mutex_lock(&ev->lock);
	if (limited) {
		uint64_t now = gw_clock_mono_ms();
		ev->tokens += (double)(now - ev->tokens_at_ms) * SRV_EVLOG_PER_SEC / 1000.0;
		if (ev->tokens > SRV_EVLOG_BURST)
			ev->tokens = SRV_EVLOG_BURST;
		ev->tokens_at_ms = now;
	}
	/* a line that is not rate-limited (a routes reload) is always kept:
	 * such lines never come at request rate */
	if (!ev->stop && (!limited || (ev->nlimited < SRV_EVLOG_QUEUE_MAX && ev->tokens >= 1.0))) {
		if (ev->n == ev->cap) {
			ev->cap = ev->cap ? 2 * ev->cap : 16;
			ev->lines = gw_xrealloc(ev->lines, ev->cap * sizeof(*ev->lines));
			ev->lens = gw_xrealloc(ev->lens, ev->cap * sizeof(*ev->lens));
		}
		if (limited) {
			ev->tokens -= 1.0;
			ev->nlimited++;
		}
		ev->lines[ev->n] = gw_xstrndup(line, n);
		ev->lens[ev->n++] = n;
		kept = true;
		pthread_cond_signal(&ev->cond);
	} else if (limited) {
		if (ev->suppressed++ == 0)
			pthread_cond_signal(&ev->cond); /* starts the writer's second */
	}
	pthread_mutex_unlock(&ev->lock);
	return kept;
}

void
srv_evlog_free(srv_evlog *ev)
{
	if (ev == NULL)
		return;
	pthread_mutex_lock(&ev->lock);
	ev->stop = true;
	pthread_cond_signal(&ev->cond);
	pthread_mutex_unlock(&ev->lock);
	pthread_join(ev->thread, NULL); /* it writes what is queued first */
	for (size_t i = 0; i < ev->n; i++) /* posted after the stop */
		free(ev->lines[i]);
	free(ev->lines);
	free(ev->lens);
	pthread_mutex_destroy(&ev->lock);
	pthread_cond_destroy(&ev->cond);
	free(ev->dir);
	free(ev);
}
