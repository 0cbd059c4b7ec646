/*
 * events.h - <state-dir>/runtime-events.jsonl: one compact JSON object per
 * line.  Cycle lines carry "kind":"cycle", lifecycle transitions
 * "kind":"lifecycle", recoveries "kind":"state_recovered".  Lines are
 * appended in a single write(2) under the state lock.  Readers stream the
 * file and never hold more than one line in memory.
 */
#ifndef GW_EVENTS_H
#define GW_EVENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/base/buf.h"
#include "core/base/err.h"
#include "core/store/store.h"

#define GW_EVENTS_FILE GW_STORE_EVENTS_FILE

/* Returns malloc'ed <dir>/runtime-events.jsonl; caller frees. */
char *gw_events_path(const char *dir);

/* Appends the compact JSON object text (no newline) plus '\n' in one write. */
int gw_events_append(const char *dir, const char *json, size_t n, gw_err *err);

/* Appends a lifecycle line: transition "start" | "stop" | "startup_failed". */
int gw_events_append_lifecycle(const char *dir, uint64_t now_unix_ms, const char *transition,
    const char *service_status, const char *reason, uint64_t startup_attempts, gw_err *err);

/* Appends to b the compact lifecycle line gw_events_append_lifecycle writes. */
void gw_events_lifecycle_line(gw_buf *b, uint64_t now_unix_ms, const char *transition,
    const char *service_status, const char *reason, uint64_t startup_attempts);

typedef struct gw_events_count {
	char *code;
	uint64_t count;
} gw_events_count;

/* The aggregation status inspect reports (reference §7.2). */
typedef struct gw_events_summary {
	bool present;
	uint64_t cycle_reports;
	uint64_t invalid_cycle_reports;
	uint64_t other_lines;        /* lifecycle and recovery lines */
	char **last_reason_codes;    /* of the last valid cycle line */
	size_t nlast;
	char *last_health_reason;    /* NULL when none */
	gw_events_count *counts;     /* sorted by code */
	size_t ncounts;
} gw_events_summary;

/* Streams path (missing file: present=false, not an error).  The summary
 * owns its strings; free with gw_events_summary_free. */
int gw_events_summarize(const char *path, gw_events_summary *out, gw_err *err);
void gw_events_summary_free(gw_events_summary *s);
/* The same summary over lines that come from elsewhere (a store's event
 * rows): new clears *out and returns a summarizer the caller owns until
 * finish (which frees it and sets out->present); line takes one line, as
 * gw_store_line_fn does (ctx: the summarizer). */
typedef struct gw_events_summarizer gw_events_summarizer;
gw_events_summarizer *gw_events_summarizer_new(gw_events_summary *out);
void gw_events_summarizer_line(void *summarizer, const char *line, size_t n);
void gw_events_summarizer_finish(gw_events_summarizer *z, bool present);

/* Calls fn for each of the last max_lines non-empty lines of path, oldest
 * first, reading backwards from the end (cost independent of file size).
 * Returns in *size_out the offset just past the last complete line (the
 * file size unless it ends in a partial line), where following with
 * gw_events_read_from starts.  Missing file: 0 lines, size 0, returns 0. */
typedef void (*gw_events_line_fn)(const char *line, size_t n, void *ctx);
int gw_events_tail(const char *path, size_t max_lines, gw_events_line_fn fn, void *ctx,
    uint64_t *size_out, gw_err *err);
/* Calls fn for each complete line after byte offset *off, advancing *off
 * past the last complete line.  A truncated file restarts at 0. */
int gw_events_read_from(const char *path, uint64_t *off, gw_events_line_fn fn, void *ctx,
    gw_err *err);
/* Calls fn for every complete line of path from the start, empty ones
 * too, byte for byte without the '\n' (a transfer copies the log as it
 * is); an unterminated last line (an append in progress, or a killed
 * writer's remnant, which the next writer cuts off) is not passed.  A
 * missing file has no line (0).  Each line is borrowed for fn's call
 * only. */
int gw_events_each_line(const char *path, gw_events_line_fn fn, void *ctx, gw_err *err);

#endif
