/*
 * respconn.c - one store per thread for stored responses (respconn.h).
 *
 * The per-thread state lives behind a pthread key whose destructor closes
 * the connection when a worker (or the sweeper) ends, so no connection
 * outlives its thread and none is shared between threads.
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

struct srv_respconn {
	gw_store *files;       /* a state directory's store, or NULL */
	char *url;             /* fleet mode */
	char *deployment;
	pthread_key_t key;
	bool keyed;
};

/* One thread's connection and its reconnect state. */
typedef struct srv_respconn_tls {
	gw_store *st;
	gw_reconnect rc;
	char why[512];         /* the last connect failure, for the 503s in between */
} srv_respconn_tls;

static void
srv_respconn_tls_free(void *p)
{
	srv_respconn_tls *t = p;
	gw_store_close(t->st);
	free(t);
}

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
	int e = pthread_key_create(&rc->key, srv_respconn_tls_free);
	if (e != 0) {
		free(rc);
		return gw_err_set(err, -e, GW_EXIT_SOFTWARE, "cannot create a thread key: %s", strerror(e));
	}
	rc->keyed = true;
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
	gw_store_close(rc->files);
	if (rc->keyed) {
		/* the calling thread's own connection, if it made one (the others
		 * were closed as their threads ended) */
		srv_respconn_tls *t = pthread_getspecific(rc->key);
		if (t != NULL) {
			pthread_setspecific(rc->key, NULL);
			srv_respconn_tls_free(t);
		}
		pthread_key_delete(rc->key);
	}
	free(rc->url);
	free(rc->deployment);
	free(rc);
}

gw_store *
srv_respconn_get(srv_respconn *rc, gw_err *err)
{
	if (rc->files != NULL)
		return rc->files;
	srv_respconn_tls *t = pthread_getspecific(rc->key);
	if (t == NULL) {
		t = gw_xcalloc(1, sizeof(*t));
		gw_reconnect_init(&t->rc, SRV_RESPCONN_BACKOFF_MIN_MS, SRV_RESPCONN_BACKOFF_MAX_MS);
		pthread_setspecific(rc->key, t);
	}
	uint64_t now = gw_clock_mono_ms();
	if (t->st != NULL && !gw_store_connected(t->st)) {
		/* gone (the server restarted, the backend was terminated): the
		 * first reconnect is tried now, later ones back off */
		gw_store_close(t->st);
		t->st = NULL;
		snprintf(t->why, sizeof(t->why), "the connection to the state database was lost");
	}
	if (t->st != NULL)
		return t->st;
	if (t->rc.backoff_ms > 0 && !gw_reconnect_due(&t->rc, now)) {
		gw_err_set(err, -ECONNREFUSED, GW_EXIT_UNAVAILABLE, "%s (retrying)", t->why);
		return NULL;
	}
	int r = gw_store_open_url(rc->url, rc->deployment, &t->st, err);
	if (r == 0)
		r = gw_store_set_timeout(t->st, SRV_RESPCONN_STATEMENT_MS, err);
	if (r != 0) {
		gw_store_close(t->st);
		t->st = NULL;
		snprintf(t->why, sizeof(t->why), "%s", err->msg);
		if (err->exit_code == 0)
			err->exit_code = GW_EXIT_UNAVAILABLE;
		if (t->rc.backoff_ms == 0)
			gw_reconnect_lost(&t->rc, now);
		else
			gw_reconnect_failed(&t->rc, now);
		return NULL;
	}
	gw_reconnect_reset(&t->rc);
	return t->st;
}
