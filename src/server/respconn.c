/*
 * respconn.c - a bounded pool of stores for stored responses (respconn.h).
 *
 * Connections are opened on demand up to SRV_RESPCONN_MAX, handed to one
 * thread at a time (srv_respconn_get .. srv_respconn_put) and kept idle in
 * between; one found gone is closed and its slot reopened.  The reconnect
 * backoff is the pool's: after a failed open every request fails at once
 * until the next attempt is due.  Saves are committed in groups
 * (srv_respconn_save, leader and followers on one queue: respconn.h).
 */
#include "server/respconn.h"
#include "core/base/clock.h"
#include "core/base/mem.h"
#include "core/store/reconnect.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct srv_respconn {
	gw_store *files;       /* a state directory's store, or NULL */
	char *url;             /* fleet mode */
	char *deployment;
	pthread_mutex_t lock;
	pthread_cond_t freed;  /* a connection was put back (CLOCK_MONOTONIC) */
	gw_store *idle[SRV_RESPCONN_MAX];
	size_t nidle;
	size_t nopen;          /* handed out + idle + being opened */
	gw_reconnect rc;
	char why[512];         /* the last open failure, for the 503s in between */
	/* group commit (fleet mode), under lock: the records waiting for a
	 * leader, oldest first, and how many leaders are saving a group */
	struct srv_respconn_wait *queue, **queue_tail;
	unsigned leaders;
	unsigned held;         /* connections session turns hold (srv_respconn_hold) */
	pthread_cond_t saved;  /* a group's outcome was handed back, or a
	                        * leader finished (CLOCK_MONOTONIC) */
};

/* One worker's record in the group-commit queue (on its stack). */
typedef struct srv_respconn_wait {
	const gw_respstore_rec *rec;
	struct srv_respconn_wait *next;
	uint64_t deadline;     /* monotonic ms its worker answers by */
	bool taken;            /* in a leader's group: its outcome will come */
	bool done;
	int rc;
	gw_err err;
} srv_respconn_wait;

int
srv_respconn_new(const char *state_dir, const char *url, const char *deployment,
    srv_respconn **out, gw_err *err)
{
	srv_respconn *rc = gw_xcalloc(1, sizeof(*rc));
	*out = NULL;
	if (url == NULL) {
		int r = gw_store_open_dir(state_dir, &rc->files, err);
		if (r != 0) {
			free(rc);
			return r;
		}
		*out = rc;
		return 0;
	}
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&rc->freed, &ca);
	pthread_cond_init(&rc->saved, &ca);
	pthread_condattr_destroy(&ca);
	rc->queue_tail = &rc->queue;
	pthread_mutex_init(&rc->lock, NULL);
	gw_reconnect_init(&rc->rc, SRV_RESPCONN_BACKOFF_MIN_MS, SRV_RESPCONN_BACKOFF_MAX_MS);
	rc->url = gw_xstrdup(url);
	rc->deployment = gw_xstrdup(deployment != NULL ? deployment : GW_STORE_DEPLOYMENT_DEFAULT);
	*out = rc;
	return 0;
}

void
srv_respconn_free(srv_respconn *rc)
{
	if (rc == NULL)
		return;
	if (rc->files != NULL) {
		gw_store_close(rc->files);
	} else {
		for (size_t i = 0; i < rc->nidle; i++)
			gw_store_close(rc->idle[i]);
		pthread_mutex_destroy(&rc->lock);
		pthread_cond_destroy(&rc->freed);
		pthread_cond_destroy(&rc->saved);
	}
	free(rc->url);
	free(rc->deployment);
	free(rc);
}

/* A record that could not be sent in time: behind a slow commit. */
static int
srv_respconn_late(gw_err *err)
{
	return gw_err_set(err, -EAGAIN, GW_EXIT_UNAVAILABLE,
	    "the save waited %d ms behind slower commits and was not sent", SRV_RESPCONN_WAIT_MS);
}

static gw_store *
srv_respconn_busy(gw_err *err)
{
	gw_err_set(err, -EAGAIN, GW_EXIT_UNAVAILABLE,
	    "all %d state database connections stayed busy for %d ms", SRV_RESPCONN_MAX,
	    SRV_RESPCONN_WAIT_MS);
	return NULL;
}

/* srv_respconn_get for a caller that answers by the monotonic time
 * deadline: the wait for a free connection and an open both end there. */
static gw_store *
srv_respconn_get_by(srv_respconn *rc, uint64_t deadline, gw_err *err)
{
	pthread_mutex_lock(&rc->lock);
	for (;;) {
		/* too little time left to use a connection: a call would give a
		 * healthy one up as silent at once */
		if (deadline < gw_clock_mono_ms() + SRV_RESPCONN_OPEN_MIN_MS) {
			pthread_mutex_unlock(&rc->lock);
			return srv_respconn_busy(err);
		}
		while (rc->nidle > 0) {
			gw_store *st = rc->idle[--rc->nidle];
			/* a server that went away while this connection sat idle
			 * (restarted, the backend terminated) left an EOF on its
			 * socket: reading what arrived, without blocking, finds it
			 * here rather than with the request's statement */
			unsigned changes = 0;
			gw_err probe;
			gw_err_clear(&probe);
			/* twice: a terminated backend's last message comes first,
			 * its EOF is seen by the read after it */
			bool live = gw_store_drain(st, &changes, &probe) == 0 &&
			    gw_store_drain(st, &changes, &probe) == 0 && gw_store_connected(st);
			if (live) {
				pthread_mutex_unlock(&rc->lock);
				return st;
			}
			/* gone (the server restarted, the backend was terminated):
			 * its slot is reopened below, at once */
			gw_store_close(st);
			rc->nopen--;
		}
		if (rc->nopen < SRV_RESPCONN_MAX)
			break;
		uint64_t now = gw_clock_mono_ms();
		if (now >= deadline) {
			pthread_mutex_unlock(&rc->lock);
			return srv_respconn_busy(err);
		}
		struct timespec ts;
		gw_clock_mono_deadline(&ts, deadline - now);
		pthread_cond_timedwait(&rc->freed, &rc->lock, &ts);
	}
	uint64_t now = gw_clock_mono_ms();
	if (rc->rc.backoff_ms > 0 && !gw_reconnect_due(&rc->rc, now)) {
		gw_err_set(err, -ECONNREFUSED, GW_EXIT_UNAVAILABLE, "%s (retrying)", rc->why);
		pthread_mutex_unlock(&rc->lock);
		return NULL;
	}
	/* an open takes what is left of the wait, so a request that waited for
	 * a free connection does not then wait a whole open as well */
	uint64_t left = deadline > now ? deadline - now : 0;
	if (left < SRV_RESPCONN_OPEN_MIN_MS) {
		pthread_mutex_unlock(&rc->lock);
		return srv_respconn_busy(err);
	}
	rc->nopen++; /* this slot, opened outside the lock */
	pthread_mutex_unlock(&rc->lock);
	gw_store *st = NULL;
	int r = gw_reconnect_open(rc->url, rc->deployment,
	    left < SRV_RESPCONN_CONNECT_MS ? left : SRV_RESPCONN_CONNECT_MS, SRV_RESPCONN_STATEMENT_MS,
	    false, &st, err);
	pthread_mutex_lock(&rc->lock);
	if (r != 0) {
		rc->nopen--;
		if (err->exit_code == 0)
			err->exit_code = GW_EXIT_UNAVAILABLE;
		snprintf(rc->why, sizeof(rc->why), "%s", err->msg);
		/* counted from the failure, not from the attempt's start (an open
		 * that timed out would leave no backoff at all); the first failure
		 * waits the minimum */
		gw_reconnect_failed(&rc->rc, gw_clock_mono_ms());
		pthread_cond_broadcast(&rc->freed);
	} else {
		gw_reconnect_reset(&rc->rc);
	}
	pthread_mutex_unlock(&rc->lock);
	return st;
}

gw_store *
srv_respconn_get(srv_respconn *rc, gw_err *err)
{
	if (rc->files != NULL)
		return rc->files;
	return srv_respconn_get_by(rc, gw_clock_mono_ms() + SRV_RESPCONN_WAIT_MS, err);
}

int
srv_respconn_hold(srv_respconn *rc, gw_store **out, gw_err *err)
{
	*out = NULL;
	if (rc->files != NULL) {
		*out = rc->files;
		return 0;
	}
	uint64_t deadline = gw_clock_mono_ms() + SRV_RESPCONN_WAIT_MS;
	pthread_mutex_lock(&rc->lock);
	while (rc->held >= SRV_RESPCONN_HOLD_MAX) {
		uint64_t now = gw_clock_mono_ms();
		if (now >= deadline) {
			pthread_mutex_unlock(&rc->lock);
			return gw_err_set(err, -EBUSY, GW_EXIT_UNAVAILABLE,
			    "all %d state database connections session turns may hold stayed held for %d ms",
			    SRV_RESPCONN_HOLD_MAX, SRV_RESPCONN_WAIT_MS);
		}
		struct timespec ts;
		gw_clock_mono_deadline(&ts, deadline - now);
		pthread_cond_timedwait(&rc->freed, &rc->lock, &ts);
	}
	rc->held++;
	pthread_mutex_unlock(&rc->lock);
	*out = srv_respconn_get_by(rc, deadline, err);
	if (*out != NULL)
		return 0;
	pthread_mutex_lock(&rc->lock);
	rc->held--;
	pthread_cond_broadcast(&rc->freed);
	pthread_mutex_unlock(&rc->lock);
	return -ECONNREFUSED;
}

void
srv_respconn_release(srv_respconn *rc, gw_store *st)
{
	if (st == NULL || rc->files != NULL)
		return;
	pthread_mutex_lock(&rc->lock);
	rc->held--;
	pthread_mutex_unlock(&rc->lock);
	srv_respconn_put(rc, st); /* wakes a waiter of either kind */
}

void
srv_respconn_put(srv_respconn *rc, gw_store *st)
{
	if (st == NULL || rc->files != NULL)
		return;
	pthread_mutex_lock(&rc->lock);
	if (gw_store_connected(st)) {
		rc->idle[rc->nidle++] = st;
	} else {
		gw_store_close(st);
		rc->nopen--;
	}
	pthread_cond_broadcast(&rc->freed);
	pthread_mutex_unlock(&rc->lock);
}

/* The leader's work, outside the lock: the group's n records saved as one
 * commit on one pooled connection, each outcome in its wait. */
static void
srv_respconn_commit(srv_respconn *rc, srv_respconn_wait **group, size_t n)
{
	gw_err err;
	gw_err_clear(&err);
	const gw_respstore_rec **recs = gw_xcalloc(n, sizeof(*recs));
	for (size_t i = 0; i < n; i++)
		recs[i] = group[i]->rec;
	/* the group's commit is bounded by the first of its workers' answer
	 * deadlines (a silent database fails it then, not at the connection's
	 * own bound, which a group formed late in a wait would overrun) */
	uint64_t deadline = group[0]->deadline;
	for (size_t i = 1; i < n; i++)
		if (group[i]->deadline < deadline)
			deadline = group[i]->deadline;
	gw_store *st = srv_respconn_get_by(rc, deadline, &err);
	if (st != NULL)
		gw_store_set_deadline(st, deadline);
	int r = st == NULL ? -ECONNREFUSED : gw_respstore_save_many(st, recs, n, &err);
	if (r == -EINVAL && n > 1 && gw_store_connected(st)) {
		/* some record's text was refused, so none was saved: each alone,
		 * so the others are saved and only that one fails */
		for (size_t i = 0; i < n; i++) {
			gw_err_clear(&group[i]->err);
			group[i]->rc = gw_respstore_save_many(st, &recs[i], 1, &group[i]->err);
		}
	} else {
		for (size_t i = 0; i < n; i++) {
			group[i]->rc = r;
			group[i]->err = err;
		}
	}
	if (st != NULL)
		gw_store_set_deadline(st, 0);
	srv_respconn_put(rc, st);
	free(recs);
}

/* Takes me out of the queue (under lock; me not yet taken). */
static void
srv_respconn_unqueue(srv_respconn *rc, srv_respconn_wait *me)
{
	srv_respconn_wait **pp = &rc->queue;
	while (*pp != me)
		pp = &(*pp)->next;
	*pp = me->next;
	if (rc->queue_tail == &me->next)
		rc->queue_tail = pp;
}

int
srv_respconn_save(srv_respconn *rc, const gw_respstore_rec *rec, gw_err *err)
{
	if (rc->files != NULL)
		return gw_respstore_save(rc->files, rec, err);
	uint64_t deadline = gw_clock_mono_ms() + SRV_RESPCONN_WAIT_MS;
	srv_respconn_wait me = { .rec = rec, .deadline = deadline };
	srv_respconn_wait **group = NULL;
	pthread_mutex_lock(&rc->lock);
	*rc->queue_tail = &me;
	rc->queue_tail = &me.next;
	while (!me.done) {
		if (me.taken) { /* a leader's commit is bounded: its outcome comes */
			pthread_cond_wait(&rc->saved, &rc->lock);
			continue;
		}
		if (rc->leaders >= SRV_RESPCONN_LEADERS) {
			/* every leader busy (a slow or silent database): wait for
			 * one, but no longer than a request may wait for the pool */
			uint64_t now = gw_clock_mono_ms();
			if (now >= deadline) {
				srv_respconn_unqueue(rc, &me);
				pthread_mutex_unlock(&rc->lock);
				free(group);
				return srv_respconn_late(err);
			}
			struct timespec ts;
			gw_clock_mono_deadline(&ts, deadline - now);
			pthread_cond_timedwait(&rc->saved, &rc->lock, &ts);
			continue;
		}
		/* lead: take the queue (this record is in it unless an earlier
		 * group was full); other leaders may be saving their groups on
		 * other connections meanwhile, so one slow commit holds up only
		 * its own group */
		rc->leaders++;
		if (group == NULL)
			group = gw_xcalloc(SRV_RESPCONN_BATCH_MAX, sizeof(*group));
		size_t n = 0;
		uint64_t now = gw_clock_mono_ms();
		while (rc->queue != NULL && n < SRV_RESPCONN_BATCH_MAX) {
			srv_respconn_wait *w = rc->queue;
			rc->queue = w->next;
			if (w->deadline < now + SRV_RESPCONN_OPEN_MIN_MS) {
				/* too late to be sent: it fails unsent rather than cut
				 * the whole group's commit short */
				gw_err_clear(&w->err);
				w->rc = srv_respconn_late(&w->err);
				w->done = true;
				continue;
			}
			w->taken = true;
			group[n++] = w;
		}
		if (rc->queue == NULL)
			rc->queue_tail = &rc->queue;
		/* the records failed unsent hear it now, not after this commit */
		pthread_cond_broadcast(&rc->saved);
		pthread_mutex_unlock(&rc->lock);
		if (n > 0)
			srv_respconn_commit(rc, group, n);
		pthread_mutex_lock(&rc->lock);
		for (size_t i = 0; i < n; i++)
			group[i]->done = true;
		rc->leaders--;
		pthread_cond_broadcast(&rc->saved);
	}
	pthread_mutex_unlock(&rc->lock);
	free(group);
	if (me.rc != 0)
		*err = me.err;
	return me.rc;
}
