/*
 * tui_render.h - pure formatting for the console: gauge bars, clock and
 * duration text, one-line event summaries, last-cycle counters, and
 * display-width clipping.  No curses, no I/O: everything here is
 * unit-tested with cmocka.
 */
#ifndef TUI_RENDER_H
#define TUI_RENDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/base/buf.h"
#include "core/store/store.h"
#include "server/server.h"

/* How close a gauge is to its threshold; the screen picks the colour. */
typedef enum tui_level {
	TUI_LEVEL_OK,     /* zero */
	TUI_LEVEL_WARN,   /* above zero, below the threshold */
	TUI_LEVEL_OVER,   /* at or above the threshold */
	TUI_LEVEL_PLAIN   /* a word with no meaning to colour (tui_render_word_level) */
} tui_level;

/* Cells of a width-cell bar filled for value against limit (limit 0 counts
 * as 1).  Any value > 0 fills at least one cell; value >= limit fills all. */
size_t tui_render_gauge_fill(uint64_t value, uint64_t limit, size_t width);
/* The level of value against limit (limit 0 counts as 1). */
tui_level tui_render_gauge_level(uint64_t value, uint64_t limit);
/* Appends "<bar of width cells> value/limit", drawing filled cells with
 * full and the rest with empty (one glyph each, any UTF-8 string). */
void tui_render_gauge(gw_buf *out, uint64_t value, uint64_t limit, size_t width,
    const char *full, const char *empty);
/* The glyphs of a bar at level: with blocks (a UTF-8 terminal in colour)
 * full and light-shade blocks, whose colour tells the level; without them
 * (NO_COLOR, TERM=dumb, or an ASCII locale) characters that tell it alone:
 * '#' breached, '=' used, '.' free, so a breached bar is the fullest-looking
 * one even where reverse video would draw a full block as background.
 * The strings are static. */
void tui_render_gauge_glyphs(tui_level level, bool blocks, const char **full, const char **empty);

/* The meaning of a status word wherever it is shown (header, event rows):
 * TUI_LEVEL_OK for RUNNING, PASS, healthy, start; TUI_LEVEL_WARN for
 * degraded; TUI_LEVEL_OVER for STOPPED, HOLD, failing, stop,
 * startup_failed and CORRUPT; TUI_LEVEL_PLAIN for anything else
 * (case-sensitive, as the words are shown). */
tui_level tui_render_word_level(const char *word);

/* Appends "HH:MM:SS" in local time, or "--:--:--" for 0. */
void tui_render_clock(gw_buf *out, uint64_t unix_ms);
/* Appends a local time that says its date when it is not today (now_ms's
 * day): "HH:MM:SS" today, "MM-DD HH:MM" another day this year,
 * "YYYY-MM-DD" another year; "--:--:--" for 0.  At most TUI_WHEN_COLS. */
#define TUI_WHEN_COLS 11
void tui_render_when(gw_buf *out, uint64_t unix_ms, uint64_t now_ms);
/* Appends the age of unix_ms at now_ms in its largest unit: "5s", "3m",
 * "2h", "4d" (a time ahead of now counts as "0s"); "-" for 0. */
void tui_render_age(gw_buf *out, uint64_t unix_ms, uint64_t now_ms);
/* Milliseconds from now_ms until tui_render_age's text for unix_ms
 * changes (UINT64_MAX for 0): when to redraw an age, and no sooner. */
uint64_t tui_render_age_due(uint64_t unix_ms, uint64_t now_ms);
/* Appends unix_ms as ISO 8601 local time with milliseconds and offset:
 * "2026-12-02T20:34:46.123+00:00". */
void tui_render_iso8601(gw_buf *out, uint64_t unix_ms);
/* Appends the pretty-printed JSON text with an ISO 8601 time (in
 * parentheses) after every "..._unix_ms": <number> member: the event
 * detail shows both. */
void tui_render_annotate_times(gw_buf *out, const char *json);
/* Appends a short duration: "0 ms", "950 ms", "1.2 s", "2m05s", "3h07m". */
void tui_render_duration(gw_buf *out, uint64_t ms);

/* The counters of one contract-runner cycle (from a "cycle" event line). */
typedef struct tui_cycle {
	uint64_t unix_ms;
	uint64_t discovered, queued, applied, duplicates, malformed;
	uint64_t retryable, retries, failed, duration_ms;
	bool detailed;            /* false: filled from state.json, which lacks some counters */
	char fixture[64];
} tui_cycle;

/* What the event list shows for one runtime-events.jsonl line. */
typedef struct tui_event_sum {
	bool valid;               /* the line is a JSON object */
	bool is_cycle;
	uint64_t unix_ms;
	char kind[24];            /* "cycle", "lifecycle", "state_recovered", ... */
	char gate[24];            /* "PASS"/"HOLD" for cycles, the transition otherwise */
	char reason[256];         /* the rollout reason, a transition's reason, ... */
	char codes[256];          /* a cycle's reason codes, comma-separated */
	tui_cycle cycle;          /* when is_cycle */
} tui_event_sum;

/* Summarises one event line (n bytes, not NUL-terminated). */
void tui_render_event_parse(const char *line, size_t n, tui_event_sum *out);
/* The event list's columns: time (as tui_render_when), age, kind, gate,
 * reason, reason codes.  The kind, gate and reason columns are as wide as
 * the widest of the rows in view (tui_render_event_fit, from the heads'
 * widths, TUI_EVENT_COLS_HEADS), the reason at most TUI_EVENT_REASON_MAX,
 * so the codes get what a narrow terminal has left; NULL cols means the
 * widest kinds and transitions known.  A reason wider than its column is
 * clipped ('~') when codes follow.  tui_render_event_gate_at is the gate
 * column's offset (columns = bytes: everything before it is ASCII). */
#define TUI_EVENT_REASON_MAX 26
typedef struct tui_event_cols {
	size_t kind, gate, reason;
} tui_event_cols;
#define TUI_EVENT_COLS_HEADS ((tui_event_cols){ 4, 4, 6 })
void tui_render_event_fit(tui_event_cols *cols, const tui_event_sum *e);
size_t tui_render_event_gate_at(const tui_event_cols *cols);
void tui_render_event_head(gw_buf *out, const tui_event_cols *cols);
void tui_render_event_line(gw_buf *out, const tui_event_sum *e, const tui_event_cols *cols,
    uint64_t now_ms);
/* Appends the last-cycle counter line ("discovered 3  queued 3 ..."); counters
 * state.json does not record show as "-". */
void tui_render_cycle(gw_buf *out, const tui_cycle *c);

/* The Replicas panel (fleet mode): the column heads, and one row per
 * replica: "STALE" first when its heartbeat is older than
 * GW_STORE_REPLICA_STALE_MS (first, so a narrow terminal never clips it
 * away), host (host_cols wide, clipped), bind, pid, heartbeat age,
 * requests, active streams, and 4xx and 5xx as a share of its requests
 * ("-" before the first request).  The columns after the host take
 * TUI_REPLICA_FIXED_COLS. */
#define TUI_REPLICA_FIXED_COLS 64
void tui_render_replica_head(gw_buf *out, size_t host_cols);
void tui_render_replica(gw_buf *out, const gw_store_replica *r, size_t host_cols);
/* Appends errors per requests as a percentage with one decimal ("2.5%"),
 * or "-" when requests is 0. */
void tui_render_rate(gw_buf *out, uint64_t errors, uint64_t requests);

/* The server panel.  A sparkline of the n values v (oldest first), one
 * cell each, scaled to their maximum: a zero is a space, any value above
 * zero at least the lowest block and the maximum the full one.  Unicode
 * blocks (U+2581..U+2588), or with ascii the characters ".:-=+*#@". */
void tui_render_spark(gw_buf *out, const uint32_t *v, size_t n, bool ascii);
/* Appends a latency: "850 µs" below 1 ms ("850 us" with ascii), "2.5 ms"
 * below 10 ms, "120 ms" below 1 s, then as tui_render_duration. */
void tui_render_us(gw_buf *out, uint64_t us, bool ascii);
/* Appends one request-list row: "HH:MM:SS  client  status  latency  model
 * response-id  METHOD path" (client padded to 15 columns, model to 16,
 * the response id to 37;
 * model is the target that answered, else fallback when the route is a
 * model route, else "-"; a missing response id is "-"). */
void tui_render_request(gw_buf *out, const srv_recent *r, const char *fallback_model, bool ascii);
/* The header's posture lines: segments given in priority order (the
 * service first), each a head (label and value, shown whole) and a detail
 * (a reason, clipped or dropped first).  tui_render_header_layout places
 * them on at most max_lines lines of cols columns, TUI_SEG_GAP apart:
 * all of them whole when they fit; else details go, the lowest keep
 * first (ties: the later segment's first), then whole segments from the
 * end; then each dropped detail gets back what its line has left (at
 * least TUI_SEG_MIN_DETAIL columns, or all of it), the highest keep
 * first.  A segment never moves before one of higher priority on its
 * line.  Returns the lines used (0 when n is 0); at most TUI_SEG_MAX
 * segments are placed. */
#define TUI_SEG_MAX 16
#define TUI_SEG_GAP 3
#define TUI_SEG_MIN_DETAIL 4
typedef struct tui_seg {
	size_t head;              /* display columns of label and value */
	size_t detail;            /* display columns of the detail */
	unsigned keep;            /* details with a higher keep go last */
	/* set by tui_render_header_layout */
	int line;                 /* 0-based line, -1 when not shown */
	size_t x;                 /* first column */
	size_t shown;             /* detail columns shown (< detail: clipped) */
} tui_seg;
size_t tui_render_header_layout(tui_seg *seg, size_t n, size_t cols, size_t max_lines);

/* Display columns of the first n bytes of the UTF-8 text s (invalid bytes
 * count as one column each). */
size_t tui_render_width(const char *s, size_t n);
/* The number of leading bytes of s that fit in cols display columns,
 * never splitting a UTF-8 sequence. */
size_t tui_render_clip(const char *s, size_t cols);
/* The byte offset where a window of at most cols columns that ends at
 * byte point of s begins: the horizontal scroll of a prompt line.  Walks
 * back from point only, so a long line costs what is shown. */
size_t tui_render_tail(const char *s, size_t point, size_t cols);

/* Appends text with every run of whitespace (newlines included) collapsed
 * into one space and the ends trimmed: multi-line results as one line. */
void tui_render_oneline(gw_buf *out, const char *text);

/* Case-insensitive substring test (an empty needle matches everything). */
bool tui_render_match(const char *hay, const char *needle);
/* The offset of the first case-insensitive match of needle in the n bytes
 * of hay, or n when there is none (or needle is empty); *len receives the
 * match's length: what the screen highlights. */
size_t tui_render_find(const char *hay, size_t n, const char *needle, size_t *len);

/* Appends n bytes of s fit for a curses cell grid: tabs expanded to the
 * next multiple of 8 columns, other control characters as '?' (curses
 * would draw them as two-column ^X or move the cursor past a border). */
void tui_render_sanitize(gw_buf *out, const char *s, size_t n);
/* Wrapping: the byte length of the first screen row of the n bytes of s
 * (one line, no newline) at cols columns: after the last word's space
 * that fits (not inside a run of spaces) when that fills at least half
 * the row, else as much as fits, never
 * splitting a UTF-8 sequence, and at least one character.  0 for n == 0. */
size_t tui_render_wrap_row(const char *s, size_t n, size_t cols);
/* The column a wrapped line's continuation rows start at: the value
 * column of a "key  value" row (after the first run of two or more
 * spaces), else two past the line's indentation; at most cols / 2. */
size_t tui_render_hang(const char *s, size_t n, size_t cols);
/* Horizontal scroll: the byte offset after the first cols display columns
 * of the n bytes of s (a wide character straddling the edge is skipped
 * whole). */
size_t tui_render_skip(const char *s, size_t n, size_t cols);
/* A one-line reply "head: key=value key=value ..." with at least
 * min_fields fields, as a table: the head on its own line, then one
 * "key  value" row per field, keys padded to one column (a value may
 * hold spaces: a word without "key=" continues it).  Returns false, and
 * appends nothing, when line is not such a reply. */
bool tui_render_kv_table(gw_buf *out, const char *line, size_t min_fields);

#endif
