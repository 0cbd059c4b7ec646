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
	TUI_LEVEL_OVER    /* at or above the threshold */
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

/* Appends "HH:MM:SS" in local time, or "--:--:--" for 0. */
void tui_render_clock(gw_buf *out, uint64_t unix_ms);
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
	char gate[16];            /* "PASS"/"HOLD" for cycles, the transition otherwise */
	char reasons[256];        /* rollout reason and reason codes, comma-separated */
	tui_cycle cycle;          /* when is_cycle */
} tui_event_sum;

/* Summarises one event line (n bytes, not NUL-terminated). */
void tui_render_event_parse(const char *line, size_t n, tui_event_sum *out);
/* Appends "HH:MM:SS  kind        GATE  reasons". */
void tui_render_event_line(gw_buf *out, const tui_event_sum *e);
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

#endif
