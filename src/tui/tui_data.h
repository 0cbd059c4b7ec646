/*
 * tui_data.h - what the console shows, kept apart from how it is drawn:
 * the posture snapshot read from state.json, the ring of runtime events
 * (tailed from the end of runtime-events.jsonl, then followed), and the
 * thread-safe console log ring that server threads write into.
 */
#ifndef TUI_DATA_H
#define TUI_DATA_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/base/err.h"
#include "core/gateway/guardrail.h"
#include "core/gateway/health.h"
#include "core/gateway/service.h"
#include "core/gateway/state.h"
#include "tui/tui_render.h"

/* ---- posture ------------------------------------------------------------ */

typedef struct tui_posture {
	bool exists;                  /* state.json was present */
	bool corrupt;                 /* state.json does not parse (error says why) */
	char error[512];              /* why it could not be read; "" when fine */
	gw_service_report report;     /* service block, gates, health counters */
	gw_guardrail guardrail;       /* thresholds and streaks */
	gw_health_state health_state;
	char health_reason[GW_HEALTH_REASON_MAX];
	uint64_t mtime_ms;            /* state.json modification time, 0 if absent */
} tui_posture;

/* Reads <dir>/state.json without writing anything (a missing file gives the
 * defaults).  Never fails: a read error is kept in p->error and the last
 * good values stay. */
void tui_posture_load(const char *dir, tui_posture *p);
/* Fills p's report, guardrail and health from a loaded state (st stays the
 * caller's); mtime_ms is left to the caller, who knows where st came from. */
void tui_posture_fill(tui_posture *p, const gw_state *st);

/* ---- events ------------------------------------------------------------- */

typedef struct tui_event {
	uint64_t id;                  /* increasing; selection survives eviction */
	char *text;                   /* the raw line (owned) */
	tui_event_sum sum;
} tui_event;

typedef struct tui_events {
	char *path;                   /* <dir>/runtime-events.jsonl (owned) */
	tui_event *ring;
	size_t cap, head, count;      /* oldest at ring[head] */
	uint64_t next_id;
	uint64_t off;                 /* followed up to this byte offset */
	tui_cycle last_cycle;         /* of the newest cycle line seen */
	bool have_cycle;
	uint64_t lines_read;
} tui_events;

/* Prepares an empty ring of cap events for <dir>.  Free with tui_events_free. */
void tui_events_init(tui_events *ev, const char *dir, size_t cap);
void tui_events_free(tui_events *ev);
/* Loads the last cap lines, reading backwards from the end of the file. */
int tui_events_load_tail(tui_events *ev, gw_err *err);
/* Reads complete lines appended since the last call.  Returns the number of
 * new lines (0 when nothing changed) or -errno. */
int tui_events_follow(tui_events *ev, gw_err *err);
/* Adds one event line read elsewhere (a PostgreSQL event row) as the
 * newest, as the file tail and follower add theirs. */
void tui_events_add_line(tui_events *ev, const char *line, size_t n);
/* The i-th event, oldest first (i < count). */
const tui_event *tui_events_at(const tui_events *ev, size_t i);
/* Fills idx with the positions of the events whose row, as the list draws
 * it (tui_render_event_line), holds filter case-insensitively (all when it
 * is empty); returns how many (idx needs room for ev->count). */
size_t tui_events_filter(const tui_events *ev, const char *filter, size_t *idx);

/* ---- console log -------------------------------------------------------- */

typedef struct tui_log {
	pthread_mutex_t mu;
	char **lines;                 /* ring of owned lines */
	size_t cap, head, count;
	uint64_t seq;                 /* bumps on every line */
	int file_fd;                  /* --console-log FILE, or -1 */
	int wake_fd;                  /* written (8 bytes) after each line, or -1 */
} tui_log;

/* Prepares the log; file may be NULL.  0, or -errno with err set when the
 * file cannot be opened.  Free with tui_log_free. */
int tui_log_init(tui_log *log, size_t cap, const char *file, gw_err *err);
void tui_log_free(tui_log *log);
/* Adds one line (a trailing newline is dropped; embedded ones split it).
 * Thread-safe; never touches the terminal. */
void tui_log_add(tui_log *log, const char *line);
void tui_log_addf(tui_log *log, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Copies lines [from, from+n) (oldest first) into out, one per row, under the
 * lock; returns how many were copied.  *total receives the line count. */
size_t tui_log_copy(tui_log *log, size_t from, size_t n, gw_buf *out, size_t *total);

#endif
