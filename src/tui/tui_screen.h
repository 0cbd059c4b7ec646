/*
 * tui_screen.h - layout and drawing of the console with ncurses: header,
 * guardrail gauges, last cycle, server panel, the Replicas panel (fleet
 * mode only), event list or log view,
 * message/prompt line, function bar, and the help and detail overlays.
 *
 * The caller decides when to draw (only when something changed, at most
 * every 100 ms under load); ncurses then sends only the cells that differ.
 * Ownership: tui_ui borrows the data pointers; it owns detail and idx.
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
	/* event list */
	char filter[256];
	uint64_t sel_id;          /* selected event id (when not following) */
	bool follow;              /* keep the newest event selected */
	size_t top;               /* first shown position of the filtered list */
	size_t list_rows;         /* rows of the list at the last draw */
	size_t *idx, idx_cap, nidx;
	/* log view */
	bool log_view;
	size_t log_top;
	bool log_follow;
	/* overlays */
	tui_overlay overlay;
	char *detail;             /* owned text of the detail overlay */
	size_t overlay_top;
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
 * the movement commands. */
void tui_screen_scroll(tui_ui *ui, tui_cmd cmd);
/* The selected event of the (filtered) list, or NULL when it is empty. */
const tui_event *tui_screen_selected(tui_ui *ui);
/* Opens the detail overlay with text (copied). */
void tui_screen_show_detail(tui_ui *ui, const char *text);
/* Sets the message line (printf-style); error selects the error style. */
void tui_screen_message(tui_ui *ui, bool error, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
