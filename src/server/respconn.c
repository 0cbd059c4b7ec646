/*
 * respconn.c - a bounded pool of stores for stored responses (respconn.h).
 *
 * Connections are opened on demand up to SRV_RESPCONN_MAX, handed to one
 * thread at a time (srv_respconn_get .. srv_respconn_put) and kept idle in
 * between; one found gone is closed and its slot reopened.  The reconnect
 * backoff is the pool's: after a failed open every request fails at once
 * until the next attempt is due.
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
};

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
	pthread_condattr_destroy(&ca);
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
	}
	free(rc->url);
	free(rc->deployment);
	free(rc);
}

static gw_store *
srv_respconn_busy(gw_err *err)
{
	gw_err_set(err, -EAGAIN, GW_EXIT_UNAVAILABLE,
	    "all %d state database connections stayed busy for %d ms", SRV_RESPCONN_MAX,
	    SRV_RESPCONN_WAIT_MS);
	return NULL;
}

gw_store *
srv_respconn_get(srv_respconn *rc, gw_err *err)
{
	if (rc->files != NULL)
		return rc->files;
	uint64_t deadline = gw_clock_mono_ms() + SRV_RESPCONN_WAIT_MS;
	pthread_mutex_lock(&rc->lock);
	for (;;) {
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
		pthread_cond_signal(&rc->freed);
	} else {
		gw_reconnect_reset(&rc->rc);
	}
	pthread_mutex_unlock(&rc->lock);
	return st;
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
	pthread_cond_signal(&rc->freed);
	pthread_mutex_unlock(&rc->lock);
}
