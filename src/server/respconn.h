/*
 * respconn.h - the store that stored responses go to, for the thread that
 * asks.
 *
 * On a state directory that is one file store shared by every thread (it
 * holds only the directory's name).  In fleet mode (--gateway-state-url)
 * each thread that asks - a worker of the pool, or the sweeper - gets a
 * PostgreSQL connection of its own, opened on its first request, kept for
 * the thread's life and closed when the thread ends (a pthread key's
 * destructor).  Its statements are bounded by SRV_RESPCONN_STATEMENT_MS,
 * so a request never waits long on a database that stopped answering.  A
 * connection found gone is closed and reopened on the next request, at
 * most once per backoff period (core/store/reconnect.h, 100 ms doubling
 * to 1 s): in between, requests fail at once (503 state_unavailable)
 * instead of each waiting for a connect.  Event loop threads never ask in
 * fleet mode (api.c runs every stored-response call on the pool).
 *
 * Ownership: the srv_respconn belongs to the srv_server (s->respconn),
 * made by srv_respconn_new and freed by srv_respconn_free after every
 * thread that used it has ended; each connection belongs to its thread.
 */
#ifndef SRV_RESPCONN_H
#define SRV_RESPCONN_H

#include "core/base/err.h"
#include "core/store/store.h"

typedef struct srv_respconn srv_respconn;

#define SRV_RESPCONN_STATEMENT_MS 800    /* statement_timeout of each connection */
#define SRV_RESPCONN_BACKOFF_MIN_MS 100  /* reconnect delay after a failure, doubled */
#define SRV_RESPCONN_BACKOFF_MAX_MS 1000

/* A source of stores: of state_dir (files) when url is NULL, else of url's
 * deployment.  The caller owns the result (srv_respconn_free).  0 or
 * -errno with err set. */
int srv_respconn_new(const char *state_dir, const char *url, const char *deployment,
    srv_respconn **out, gw_err *err);
void srv_respconn_free(srv_respconn *rc);
/* The calling thread's store (borrowed: the thread's or rc's), or NULL
 * with err set (exit class 69) when the database cannot be reached now. */
gw_store *srv_respconn_get(srv_respconn *rc, gw_err *err);

#endif
