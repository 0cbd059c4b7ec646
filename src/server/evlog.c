/*
 * evlog.c - the server's writer of event-log lines (see evlog.h).
 *
 * Lines come from the event loops and the worker pool, which must never
 * wait for a file lock: srv_evlog_post copies a line into a bounded queue
 * under a mutex held for a memcpy and returns.  One thread takes what is
 * queued, waits for the state directory's lock as every other writer of
 * runtime-events.jsonl does (gw_store_begin: the runner, the console and
 * the command line hold it while they append, and the file store cuts a
 * torn tail it finds, which is safe only under that lock), appends the
 * batch in one write and lets go.  Rate-limited lines (upstream failures,
 * which come at request rate during an outage) pass a token bucket; what
 * the bucket or the full queue turns away is counted and written as one
 * "suppressed" line with the next batch, so the log says lines are missing
 * and never grows at request rate.
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

#define SRV_EVLOG_QUEUE_MAX 256  /* lines waiting; more are counted, not kept */
#define SRV_EVLOG_BURST 20       /* rate-limited lines let through at once */
#define SRV_EVLOG_PER_SEC 5      /* and after that, this many a second */

struct srv_evlog {
	char *dir;                  /* the state directory, owned */
	srv_evlog_log_fn log;       /* where a failed write is said */
	void *log_ctx;
	pthread_t thread;
	pthread_mutex_t lock;       /* guards everything below */
	pthread_cond_t cond;
	char *lines[SRV_EVLOG_QUEUE_MAX];
	size_t lens[SRV_EVLOG_QUEUE_MAX];
	size_t n;
	uint64_t suppressed;        /* lines turned away since the last batch */
	double tokens;              /* the rate limit's bucket */
	uint64_t tokens_at_ms;      /* when it was last filled */
	bool stop;
};

/* Appends one batch (and the suppressed count's line) under the lock. */
static void
srv_evlog_write(srv_evlog *ev, char **lines, size_t *lens, size_t n, uint64_t suppressed)
{
	gw_buf sup = GW_BUF_INIT;
	const char *all[SRV_EVLOG_QUEUE_MAX + 1];
	size_t alls[SRV_EVLOG_QUEUE_MAX + 1], k = 0;
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
}

static void *
srv_evlog_main(void *arg)
{
	srv_evlog *ev = arg;
	char *lines[SRV_EVLOG_QUEUE_MAX];
	size_t lens[SRV_EVLOG_QUEUE_MAX];
	pthread_mutex_lock(&ev->lock);
	for (;;) {
		/* a count of turned-away lines alone wakes nothing: it goes
		 * out with the next line kept, or at the stop */
		while (ev->n == 0 && !ev->stop)
			pthread_cond_wait(&ev->cond, &ev->lock);
		if (ev->n == 0 && ev->suppressed == 0)
			break; /* stopping, and everything is written */
		size_t n = ev->n;
		uint64_t sup = ev->suppressed;
		memcpy(lines, ev->lines, n * sizeof(lines[0]));
		memcpy(lens, ev->lens, n * sizeof(lens[0]));
		ev->n = 0;
		ev->suppressed = 0;
		pthread_mutex_unlock(&ev->lock);
		srv_evlog_write(ev, lines, lens, n, sup);
		for (size_t i = 0; i < n; i++)
			free(lines[i]);
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
	pthread_cond_init(&ev->cond, NULL);
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
	if (!ev->stop && ev->n < SRV_EVLOG_QUEUE_MAX && (!limited || ev->tokens >= 1.0)) {
		if (limited)
			ev->tokens -= 1.0;
		ev->lines[ev->n] = gw_xstrndup(line, n);
		ev->lens[ev->n++] = n;
		kept = true;
		pthread_cond_signal(&ev->cond);
	} else {
		ev->suppressed++;
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
	pthread_mutex_destroy(&ev->lock);
	pthread_cond_destroy(&ev->cond);
	free(ev->dir);
	free(ev);
}
