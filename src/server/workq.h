/*
 * workq.h - a pool of worker threads for request work that may block
 * (upstream calls, session locks), so the MHD event threads never do.
 * Threads are created on demand up to a cap and then reused; jobs beyond
 * the cap wait in FIFO order.
 *
 * Ownership: srv_workq_new returns a queue freed by srv_workq_free, which
 * runs every queued job and joins the threads.
 */
#ifndef SRV_WORKQ_H
#define SRV_WORKQ_H

#include <stddef.h>

typedef void (*srv_job_fn)(void *arg);

typedef struct srv_workq srv_workq;

srv_workq *srv_workq_new(size_t max_threads);
/* Queues fn(arg); never fails (allocation failure aborts). */
void srv_workq_push(srv_workq *q, srv_job_fn fn, void *arg);
/* Runs the remaining jobs, stops and joins the threads, frees q. */
void srv_workq_free(srv_workq *q);

#endif
