/*
 * respconn.h - the store that stored responses and sessions go to, for
 * the thread that asks.
 *
 * On a state directory that is one file store shared by every thread (it
 * holds only the directory's name).  In fleet mode (--gateway-state-url)
 * it is a bounded pool of PostgreSQL connections, at most
 * SRV_RESPCONN_MAX per server however many workers run (three replicas
 * stay well inside PostgreSQL's default 100 connections), opened on
 * demand; a worker holds one from srv_respconn_get to srv_respconn_put,
 * and waits at most SRV_RESPCONN_WAIT_MS for one to be free.  Statements
 * are bounded by SRV_RESPCONN_STATEMENT_MS, on the server and (100 ms
 * later) on the client, and an open by SRV_RESPCONN_CONNECT_MS or what is
 * left of the SRV_RESPCONN_WAIT_MS a request may wait, whichever is less,
 * so a request never waits long on a database that stopped answering,
 * even one whose host went silent without closing anything (a connection
 * that gave up that way counts as gone and is closed when put back).  An
 * idle connection is checked when handed out (what arrived on its socket
 * is read without blocking: a restarted server's EOF shows there), and
 * one found gone is closed and its slot reopened at once; a failed open
 * makes every request fail at
 * once (503 state_unavailable) until the next attempt is due (backoff of
 * core/store/reconnect.h, 100 ms doubling to 1 s), instead of each waiting
 * for a connect.  Event loop threads never ask in fleet mode (api.c runs
 * every stored-response call on the worker pool).
 *
 * Saves go through srv_respconn_save, which commits in groups in fleet
 * mode: a worker queues its record; while fewer than SRV_RESPCONN_LEADERS
 * groups are being saved, it leads: it takes the queue (at most
 * SRV_RESPCONN_BATCH_MAX records, oldest first), saves it as one statement
 * and one commit on one pooled connection and hands every record's outcome
 * back; the records queued meanwhile form the next group (one group at a
 * time today: the commits of several would split the groups they could
 * share).  Every record is answered within SRV_RESPCONN_WAIT_MS of its
 * save: a group's commit is bounded by the first deadline among its
 * records (gw_store_set_deadline: a silent database fails it then), and a
 * record still queued at its deadline fails (busy, 69) without having been
 * sent.  No record is answered before
 * its group's commit returned, and a group the database refused for some
 * record's text is saved again one record at a time, so only that record
 * fails.
 *
 * Ownership: the srv_respconn belongs to the srv_server (s->respconn),
 * made by srv_respconn_new and freed by srv_respconn_free once no thread
 * uses it; a connection belongs to the thread between get and put.
 */
#ifndef SRV_RESPCONN_H
#define SRV_RESPCONN_H

#include "core/base/err.h"
#include "core/openresponses/respstore.h"
#include "core/store/store.h"

typedef struct srv_respconn srv_respconn;

#define SRV_RESPCONN_MAX 8               /* connections per server */
#define SRV_RESPCONN_WAIT_MS 800         /* the longest wait for a free one */
#define SRV_RESPCONN_STATEMENT_MS 700    /* statement_timeout of each connection */
#define SRV_RESPCONN_CONNECT_MS 700      /* the longest a connection may take to open */
#define SRV_RESPCONN_OPEN_MIN_MS 50      /* below this much of the wait left, no open is tried */
#define SRV_RESPCONN_BACKOFF_MIN_MS 100  /* reconnect delay after a failure, doubled */
#define SRV_RESPCONN_BACKOFF_MAX_MS 1000
#define SRV_RESPCONN_BATCH_MAX 128       /* records in one group commit */
#define SRV_RESPCONN_LEADERS 1           /* groups being saved at once */
#define SRV_RESPCONN_HOLD_MAX (SRV_RESPCONN_MAX - 2) /* connections session turns may hold */

/* A source of stores: of state_dir (files) when url is NULL, else of url's
 * deployment.  The caller owns the result (srv_respconn_free).  0 or
 * -errno with err set. */
int srv_respconn_new(const char *state_dir, const char *url, const char *deployment,
    srv_respconn **out, gw_err *err);
void srv_respconn_free(srv_respconn *rc);
/* A store for the calling thread until srv_respconn_put (files: rc's own,
 * shared), or NULL with err set (exit class 69) when the database cannot
 * be reached now or no connection came free in time. */
gw_store *srv_respconn_get(srv_respconn *rc, gw_err *err);
/* Gives st back (NULL and the file store are ignored). */
void srv_respconn_put(srv_respconn *rc, gw_store *st);
/* srv_respconn_get for a session turn, which holds its connection (a row
 * locked in an open transaction) for the whole exchange, upstream call
 * included: at most SRV_RESPCONN_HOLD_MAX connections are held that way,
 * so group commits and reads always find one.  *out is the caller's until
 * srv_respconn_release.  0; -EBUSY (err set, 69) when every such slot
 * stayed held for SRV_RESPCONN_WAIT_MS; -ECONNREFUSED (err set, 69) as
 * srv_respconn_get's NULL.  Files: rc's shared store, always 0. */
int srv_respconn_hold(srv_respconn *rc, gw_store **out, gw_err *err);
/* Gives back what srv_respconn_hold handed out (NULL and the file store
 * are ignored). */
void srv_respconn_release(srv_respconn *rc, gw_store *st);
/* Saves rec (borrowed until it returns) and returns once it is committed
 * (0) or failed (-errno with err set; exit class 69 when the database
 * could not be reached or failed).  Files: gw_respstore_save on the shared
 * store.  Fleet mode: a group commit with whatever other workers save
 * meanwhile; the calling thread must hold no connection of rc. */
int srv_respconn_save(srv_respconn *rc, const gw_respstore_rec *rec, gw_err *err);

#endif
