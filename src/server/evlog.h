/*
 * evlog.h - the server's writer of event-log lines (runtime-events.jsonl).
 *
 * The HTTP server records routes reloads and upstream failures in the
 * state directory's event log.  Its threads must never wait for the state
 * directory's lock, and every appender of that file must hold it, so lines
 * are posted here and one thread of this module writes them under the lock
 * (gw_store_begin), in order, in batches.  Not used in fleet mode (the
 * database's event rows are written in transactions).
 *
 * Ownership: srv_evlog_new's result is the caller's, freed by
 * srv_evlog_free; posted lines are copied.
 */
#ifndef SRV_EVLOG_H
#define SRV_EVLOG_H

#include <stdbool.h>
#include <stddef.h>

typedef struct srv_evlog srv_evlog;

/* Says that a batch of nlines could not be written (msg: why, one line);
 * called on the writer's thread. */
typedef void (*srv_evlog_log_fn)(void *ctx, const char *msg, size_t nlines);

/* Starts the writer for state_dir (copied); log (may be NULL) and log_ctx
 * are borrowed until srv_evlog_free.  0, or -errno when the thread cannot
 * start (*out NULL). */
int srv_evlog_new(const char *state_dir, srv_evlog_log_fn log, void *log_ctx, srv_evlog **out);

/* Queues one line (compact JSON object text, no newline; copied) and
 * returns at once.  limited: the line is an upstream failure, which can
 * come at request rate: a burst of 20, then 5 a second pass, at most 256
 * wait, and what is turned away is counted and written as one
 * {"kind":"upstream","outcome":"suppressed","count":N} line with the next
 * batch, or a second later.  Lines not limited are always kept.  Returns
 * whether the line was kept. */
bool srv_evlog_post(srv_evlog *ev, const char *line, size_t n, bool limited);

/* Writes what is queued, stops the thread and frees ev (NULL: nothing). */
void srv_evlog_free(srv_evlog *ev);

#endif
