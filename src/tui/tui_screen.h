/*
 * tui_screen.h - layout and drawing of the console with ncurses: header,
 * guardrail gauges, last cycle, server panel, the Replicas panel (fleet
 * mode only), event list or log view,
 * message/prompt line, function bar, and the help and detail overlays.
 *
 * The caller decides when to draw (only when something changed, at most
 * every 100 ms under load); ncurses then sends only the cells that differ.
 * Ownership: tui_ui borrows the data pointers; it owns detail,
 * detail_title and idx.
 */
#ifndef TUI_SCREEN_H
#define TUI_SCREEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server/server.h"
#include "tui/tui_data.h"
#include "tui/tui_keys.h"

#define TUI_MIN_COLS 40
#define TUI_MIN_ROWS 10

typedef enum tui_overlay {
	TUI_OVERLAY_NONE,
	TUI_OVERLAY_HELP,
	TUI_OVERLAY_DETAIL
} tui_overlay;

typedef struct tui_ui {
	/* data, borrowed */
	const char *state_dir;
	const tui_posture *posture;
	tui_events *events;
	tui_log *log;
	uint64_t queue_limit;
	/* a fixture run on the worker thread */
	bool run_active;
	char run_phase[16];
	uint64_t run_done, run_total;
	char run_fixture[256];
	bool run_cancelling;      /* a cancel was asked for and the run goes on to its
	                           * next case boundary */
	/* fleet mode (--gateway-state-url): the connection's trouble ("" when
	 * fine) and the replica registry's last read, borrowed from tui_fleet */
	bool fleet;
	const char *fleet_status;
	const gw_store_replica *replicas;
	size_t nreplicas;
	/* the embedded server */
	bool srv_running;
	srv_stats srv;
	bool req_focus;           /* j/k/Enter act on the request list (Tab) */
	unsigned req_sel;         /* its selected row, counted from the newest */
	srv_recent req_pick;      /* that row's request, so the selection stays on it */
	bool req_picked;          /* as new requests push it down (false: take req_sel) */
	/* event list */
	char filter[256];
	uint64_t sel_id;          /* selected event id (when not following) */
	bool follow;              /* keep the newest event selected */
	size_t top;               /* first shown position of the filtered list */
	size_t list_rows;         /* rows of the list at the last draw */
	int list_y;               /* screen row of the list's first row (mouse clicks) */
	size_t *idx, idx_cap, nidx;
	uint64_t age_due_ms;      /* unix ms when an age in view next changes; 0: none */
	/* console messages (results and errors): in the log view, not the list */
	uint64_t console_msgs;
	/* log view: wrapped rows, filtered by log_filter */
	bool log_view;
	size_t log_top;           /* first shown row */
	size_t log_rows;          /* rows at the last draw */
	bool log_follow;
	char log_filter[256];
	/* overlays */
	tui_overlay overlay;
	char *detail;             /* owned text of the detail overlay (sanitized) */
	char *detail_title;       /* owned */
	size_t overlay_top;       /* first shown row */
	size_t overlay_rows;      /* rows at the last draw */
	size_t overlay_left;      /* columns scrolled sideways (wrap off) */
	bool overlay_nowrap;      /* W: long lines scroll sideways instead of wrapping */
	/* message line */
	char message[1024];
	bool message_error;
	/* style */
	bool color;
	bool utf8;
	uint64_t frames;
} tui_ui;

/* Chooses colours (unless NO_COLOR or no colour support) and box glyphs
 * (UTF-8 when the locale's codeset is UTF-8).  Call after newterm. */
void tui_screen_setup(tui_ui *ui, bool want_color);
/* Releases what ui owns. */
void tui_screen_free(tui_ui *ui);
/* Draws everything and updates the terminal; counts a frame. */
void tui_screen_draw(tui_ui *ui);
/* Scrolls the current view (overlay, log view or event list) for one of
 * the movement commands (an overlay's sideways ones and W included). */
void tui_screen_scroll(tui_ui *ui, tui_cmd cmd);
/* n / N: selects the next (forward) or previous matching row of the event
 * list, wrapping at the ends; in the log view, scrolls to the next or
 * previous row holding the log filter.  Returns false when no row
 * matches (an empty filter matches nothing here). */
bool tui_screen_next_match(tui_ui *ui, bool forward);
/* A mouse click at screen cell (y, x): selects the event row there.
 * Returns true when it selected one. */
bool tui_screen_click(tui_ui *ui, int y, int x);
/* The selected event of the (filtered) list, or NULL when it is empty. */
const tui_event *tui_screen_selected(tui_ui *ui);
/* Opens the detail overlay with text (copied): the selected event's JSON. */
void tui_screen_show_detail(tui_ui *ui, const char *text);
/* Opens the detail overlay with any text under title (both copied; title
 * NULL: "Event"): a reply table, a stored response.  Long lines wrap (W
 * toggles sideways scrolling); tabs and control characters are made
 * drawable first. */
void tui_screen_show_text(tui_ui *ui, const char *title, const char *text);
/* Sets the message line (printf-style); error selects the error style. */
void tui_screen_message(tui_ui *ui, bool error, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
