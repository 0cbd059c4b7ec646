/*
 * tui_screen.c - drawing the console (see tui_screen.h).
 *
 * Every frame is drawn from the data in tui_ui; nothing here reads files,
 * changes state or decides when to draw.  Text is clipped to the screen by
 * display width (tui_render_clip), so long reasons or paths never wrap.
 * Monochrome terminals (NO_COLOR, TERM=dumb) get bold and reverse instead
 * of colours.
 */
#include "tui/tui_screen.h"
#include "core/base/mem.h"
#include "tui/tui_cmd.h"
#include "tui/tui_prompt.h"
#include "tui/tui_render.h"

#include <langinfo.h>
#include <ncurses.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum tui_pair {
	TUI_PAIR_OK = 1,
	TUI_PAIR_WARN,
	TUI_PAIR_OVER,
	TUI_PAIR_TITLE,
	TUI_PAIR_KEY,
	TUI_PAIR_LOCAL,
};

typedef enum tui_style {
	TUI_STYLE_NORMAL,
	TUI_STYLE_OK,
	TUI_STYLE_WARN,
	TUI_STYLE_OVER,
	TUI_STYLE_TITLE,
	TUI_STYLE_KEY,
	TUI_STYLE_LOCAL,
	TUI_STYLE_LABEL,
	TUI_STYLE_SELECTED
} tui_style;

typedef struct tui_glyphs {
	const char *hline, *vline, *tl, *tr, *bl, *br, *full, *empty;
} tui_glyphs;

static const tui_glyphs tui_glyphs_utf8 = { "\u2500", "\u2502", "\u250c", "\u2510", "\u2514",
	"\u2518", "\u2588", "\u2591" };
static const tui_glyphs tui_glyphs_ascii = { "-", "|", "+", "+", "+", "+", "#", "." };

static const tui_glyphs *
tui_g(const tui_ui *ui)
{
	return ui->utf8 ? &tui_glyphs_utf8 : &tui_glyphs_ascii;
}

void
tui_screen_setup(tui_ui *ui, bool want_color)
{
	const char *cs = nl_langinfo(CODESET);
	ui->utf8 = cs != NULL && strcmp(cs, "UTF-8") == 0;
	ui->color = want_color && has_colors();
	if (!ui->color)
		return;
	start_color();
	use_default_colors();
	init_pair(TUI_PAIR_OK, COLOR_GREEN, -1);
	init_pair(TUI_PAIR_WARN, COLOR_YELLOW, -1);
	init_pair(TUI_PAIR_OVER, COLOR_RED, -1);
	init_pair(TUI_PAIR_TITLE, COLOR_BLACK, COLOR_CYAN);
	init_pair(TUI_PAIR_KEY, COLOR_BLACK, COLOR_CYAN);
	init_pair(TUI_PAIR_LOCAL, COLOR_CYAN, -1);
}

void
tui_screen_free(tui_ui *ui)
{
	free(ui->detail);
	free(ui->idx);
	ui->detail = NULL;
	ui->idx = NULL;
	ui->idx_cap = 0;
}

static attr_t
tui_attr(const tui_ui *ui, tui_style s)
{
	if (ui->color) {
		switch (s) {
		case TUI_STYLE_OK: return COLOR_PAIR(TUI_PAIR_OK) | A_BOLD;
		case TUI_STYLE_WARN: return COLOR_PAIR(TUI_PAIR_WARN) | A_BOLD;
		case TUI_STYLE_OVER: return COLOR_PAIR(TUI_PAIR_OVER) | A_BOLD;
		case TUI_STYLE_TITLE: return COLOR_PAIR(TUI_PAIR_TITLE);
		case TUI_STYLE_KEY: return COLOR_PAIR(TUI_PAIR_KEY);
		case TUI_STYLE_LOCAL: return COLOR_PAIR(TUI_PAIR_LOCAL);
		case TUI_STYLE_LABEL: return A_BOLD;
		case TUI_STYLE_SELECTED: return A_REVERSE;
		default: return A_NORMAL;
		}
	}
	switch (s) {
	case TUI_STYLE_WARN: return A_BOLD;
	case TUI_STYLE_OVER: return A_BOLD | A_REVERSE;
	case TUI_STYLE_TITLE:
	case TUI_STYLE_KEY:
	case TUI_STYLE_SELECTED: return A_REVERSE;
	case TUI_STYLE_LABEL: return A_BOLD;
	default: return A_NORMAL;
	}
}

/* Writes s at (y, x), at most cols display columns; returns the columns used. */
static int
tui_put(const tui_ui *ui, int y, int x, int cols, tui_style style, const char *s)
{
	if (cols <= 0 || x >= COLS)
		return 0;
	if (x + cols > COLS)
		cols = COLS - x;
	size_t n = tui_render_clip(s, (size_t)cols);
	attr_t a = tui_attr(ui, style);
	attron(a);
	mvaddnstr(y, x, s, (int)n);
	attroff(a);
	return (int)tui_render_width(s, n);
}

/* Fills row y from x to the right edge with spaces in style. */
static void
tui_fill(const tui_ui *ui, int y, int x, tui_style style)
{
	attr_t a = tui_attr(ui, style);
	attron(a);
	for (int i = x; i < COLS; i++)
		mvaddch(y, i, ' ');
	attroff(a);
}

/* "── Title ─────" across row y. */
static void
tui_section(const tui_ui *ui, int y, const char *title)
{
	const tui_glyphs *g = tui_g(ui);
	gw_buf b = GW_BUF_INIT;
	gw_buf_printf(&b, "%s%s ", g->hline, g->hline);
	int x = tui_put(ui, y, 0, COLS, TUI_STYLE_NORMAL, gw_buf_cstr(&b));
	x += tui_put(ui, y, x, COLS - x, TUI_STYLE_LABEL, title);
	gw_buf_reset(&b);
	gw_buf_putc(&b, ' ');
	for (int i = x + 1; i < COLS; i++)
		gw_buf_puts(&b, g->hline);
	tui_put(ui, y, x, COLS - x, TUI_STYLE_NORMAL, gw_buf_cstr(&b));
	gw_buf_free(&b);
}

static tui_style
tui_level_style(tui_level l)
{
	return l == TUI_LEVEL_OVER ? TUI_STYLE_OVER : l == TUI_LEVEL_WARN ? TUI_STYLE_WARN : TUI_STYLE_OK;
}

static int
tui_draw_header(tui_ui *ui, int y)
{
	const tui_posture *p = ui->posture;
	const gw_service_report *r = &p->report;
	gw_buf b = GW_BUF_INIT;

	/* title bar */
	tui_fill(ui, y, 0, TUI_STYLE_TITLE);
	gw_buf_printf(&b, " tau-gateway console  state %s", ui->state_dir);
	tui_put(ui, y, 0, COLS, TUI_STYLE_TITLE, gw_buf_cstr(&b));
	gw_buf_reset(&b);
	gw_buf_puts(&b, "updated ");
	if (p->mtime_ms)
		tui_render_clock(&b, p->mtime_ms);
	else
		gw_buf_puts(&b, "never");
	gw_buf_putc(&b, ' ');
	int w = (int)tui_render_width(b.data, b.len);
	if (COLS - w > 40)
		tui_put(ui, y, COLS - w, w, TUI_STYLE_TITLE, gw_buf_cstr(&b));
	y++;

	/* posture line */
	int x = tui_put(ui, y, 1, COLS - 1, TUI_STYLE_LABEL, "Service ") + 1;
	bool stopped = r->service.stopped;
	x += tui_put(ui, y, x, COLS - x, stopped ? TUI_STYLE_OVER : TUI_STYLE_OK,
	    stopped ? "STOPPED" : "RUNNING");
	gw_buf_reset(&b);
	if (r->service.last_stop_reason[0])
		gw_buf_printf(&b, " (last stop: %s)", r->service.last_stop_reason);
	gw_buf_puts(&b, "   ");
	x += tui_put(ui, y, x, COLS - x, TUI_STYLE_NORMAL, gw_buf_cstr(&b));
	x += tui_put(ui, y, x, COLS - x, TUI_STYLE_LABEL, "Rollout ");
	bool pass = r->gates.rollout_gate != NULL && strcmp(r->gates.rollout_gate, "pass") == 0;
	x += tui_put(ui, y, x, COLS - x, pass ? TUI_STYLE_OK : TUI_STYLE_OVER, pass ? "PASS" : "HOLD");
	gw_buf_reset(&b);
	gw_buf_printf(&b, " %s   ", r->gates.rollout_reason_code);
	x += tui_put(ui, y, x, COLS - x, TUI_STYLE_NORMAL, gw_buf_cstr(&b));
	x += tui_put(ui, y, x, COLS - x, TUI_STYLE_LABEL, "Health ");
	tui_style hs = p->health_state == GW_HEALTH_HEALTHY ? TUI_STYLE_OK :
	    p->health_state == GW_HEALTH_DEGRADED ? TUI_STYLE_WARN : TUI_STYLE_OVER;
	tui_put(ui, y, x, COLS - x, hs, gw_health_state_name(p->health_state));
	y++;

	/* health reason, or why state.json could not be read; in fleet mode
	 * a lost connection to the database first */
	gw_buf_reset(&b);
	if (ui->fleet && ui->fleet_status != NULL && ui->fleet_status[0]) {
		tui_put(ui, y, 1, COLS - 1, TUI_STYLE_OVER, ui->fleet_status);
	} else if (ui->fleet && p->error[0]) {
		gw_buf_printf(&b, "posture: %s", p->error);
		tui_put(ui, y, 1, COLS - 1, TUI_STYLE_OVER, gw_buf_cstr(&b));
	} else if (p->error[0]) {
		gw_buf_printf(&b, "state.json: %s", p->error);
		tui_put(ui, y, 1, COLS - 1, TUI_STYLE_OVER, gw_buf_cstr(&b));
	} else {
		gw_buf_printf(&b, "%s%s", p->exists ? "" : ui->fleet ? "(no posture yet) " : "(no state.json yet) ",
		    p->health_reason);
		tui_put(ui, y, 1, COLS - 1, TUI_STYLE_NORMAL, gw_buf_cstr(&b));
	}
	gw_buf_free(&b);
	return y + 1;
}

static int
tui_draw_gauge(tui_ui *ui, int y, const char *label, uint64_t v, uint64_t limit)
{
	const tui_glyphs *g = tui_g(ui);
	int x = tui_put(ui, y, 1, 18, TUI_STYLE_NORMAL, label);
	(void)x;
	int width = COLS - 20 - 14;
	if (width > 40)
		width = 40;
	if (width < 4)
		width = 4;
	gw_buf b = GW_BUF_INIT;
	tui_render_gauge(&b, v, limit, (size_t)width, g->full, g->empty);
	tui_level l = tui_render_gauge_level(v, limit);
	tui_put(ui, y, 20, COLS - 20, tui_level_style(l), gw_buf_cstr(&b));
	if (l == TUI_LEVEL_OVER && !ui->color) {
		int bw = (int)tui_render_width(b.data, b.len);
		tui_put(ui, y, 21 + bw, COLS - 21 - bw, TUI_STYLE_LABEL, "! threshold");
	}
	gw_buf_free(&b);
	return y + 1;
}

static int
tui_draw_gauges(tui_ui *ui, int y)
{
	const tui_posture *p = ui->posture;
	tui_section(ui, y++, "Guardrail");
	y = tui_draw_gauge(ui, y, "Failure streak", p->guardrail.failure_streak,
	    p->guardrail.failure_streak_threshold);
	y = tui_draw_gauge(ui, y, "Retryable failures", p->guardrail.last_retryable_failures,
	    p->guardrail.retryable_failures_threshold);
	y = tui_draw_gauge(ui, y, "Queue depth", p->report.health.queue_depth, ui->queue_limit);
	return y;
}

static int
tui_draw_cycle(tui_ui *ui, int y)
{
	const tui_posture *p = ui->posture;
	gw_buf b = GW_BUF_INIT;
	tui_cycle c;
	if (ui->events->have_cycle) {
		c = ui->events->last_cycle;
	} else {
		/* no cycle line in the tail: what state.json records */
		memset(&c, 0, sizeof(c));
		c.unix_ms = p->report.health.updated_unix_ms;
		c.discovered = p->report.health.last_cycle_discovered;
		c.queued = p->report.health.last_cycle_processed;
		c.applied = p->report.health.last_cycle_completed;
		c.duplicates = p->report.health.last_cycle_duplicates;
		c.failed = p->report.health.last_cycle_failed;
		c.retryable = p->guardrail.last_retryable_failures;
		c.duration_ms = p->report.health.cycle_duration_ms;
	}
	gw_buf_puts(&b, "Last cycle ");
	tui_render_clock(&b, c.unix_ms);
	if (c.fixture[0])
		gw_buf_printf(&b, " %s", c.fixture);
	if (ui->run_active) {
		gw_buf_printf(&b, "  |  running %s: %s %llu/%llu", ui->run_fixture, ui->run_phase,
		    (unsigned long long)ui->run_done, (unsigned long long)ui->run_total);
	}
	tui_section(ui, y++, gw_buf_cstr(&b));
	gw_buf_reset(&b);
	tui_render_cycle(&b, &c);
	tui_put(ui, y++, 1, COLS - 1, TUI_STYLE_NORMAL, gw_buf_cstr(&b));
	gw_buf_free(&b);
	return y;
}

static int
tui_draw_server(tui_ui *ui, int y, int max_rows)
{
	const srv_stats *s = &ui->srv;
	gw_buf b = GW_BUF_INIT;
	gw_buf_printf(&b, "Server %s  up ", s->bind);
	tui_render_duration(&b, s->uptime_ms);
	tui_section(ui, y++, gw_buf_cstr(&b));
	gw_buf_reset(&b);
	gw_buf_printf(&b, "requests %llu  active streams %llu  4xx %llu  5xx %llu  p50 ",
	    (unsigned long long)s->requests, (unsigned long long)s->active_streams,
	    (unsigned long long)s->status_4xx, (unsigned long long)s->status_5xx);
	tui_render_duration(&b, s->p50_us / 1000);
	gw_buf_puts(&b, "  p99 ");
	tui_render_duration(&b, s->p99_us / 1000);
	gw_buf_printf(&b, "  websockets %llu  ws turns %llu", (unsigned long long)s->ws_open,
	    (unsigned long long)s->ws_turns);
	tui_put(ui, y++, 1, COLS - 1, TUI_STYLE_NORMAL, gw_buf_cstr(&b));
	int used = 2;
	/* routes: a line per target with its circuit (open in the alarm style) */
	for (unsigned i = 0; i < s->nroute_lines && used < max_rows - 1; i++, used++) {
		gw_buf_reset(&b);
		gw_buf_printf(&b, "  route %s", s->route_lines[i]);
		if (i + 1 == s->nroute_lines && s->ntargets > s->nroute_lines)
			gw_buf_printf(&b, "  (+%u more)", s->ntargets - s->nroute_lines);
		bool open = strstr(s->route_lines[i], " open ") != NULL ||
		    strstr(s->route_lines[i], " half_open ") != NULL;
		tui_put(ui, y++, 1, COLS - 1, open ? TUI_STYLE_OVER : TUI_STYLE_NORMAL, gw_buf_cstr(&b));
	}
	unsigned n = s->nrecent < SRV_RECENT_MAX ? s->nrecent : SRV_RECENT_MAX;
	unsigned show = (unsigned)(max_rows > used ? max_rows - used : 0);
	if (show > n)
		show = n;
	for (unsigned i = n - show; i < n; i++) {
		const srv_recent *r = &s->recent[i];
		gw_buf_reset(&b);
		gw_buf_puts(&b, "  ");
		tui_render_clock(&b, r->unix_ms);
		gw_buf_printf(&b, "  %-6s %-28s %3u  ", r->method, r->path, r->status);
		tui_render_duration(&b, r->duration_us / 1000);
		if (r->client[0] != '\0')
			gw_buf_printf(&b, "  %s", r->client); /* whom a trusted proxy named, or the peer */
		if (r->target[0] != '\0')
			gw_buf_printf(&b, "  -> %s", r->target); /* routes: the target that answered */
		tui_put(ui, y++, 1, COLS - 1, r->status >= 500 ? TUI_STYLE_OVER :
		    r->status >= 400 ? TUI_STYLE_WARN : TUI_STYLE_NORMAL, gw_buf_cstr(&b));
	}
	gw_buf_free(&b);
	return y;
}

/* The Replicas panel: a title with the counts, the column heads and one
 * row per replica (as many as max_rows allows; the title says how many
 * are not shown).  Stale rows are in the alarm style and end in STALE,
 * which NO_COLOR terminals show too. */
static int
tui_draw_replicas(tui_ui *ui, int y, int max_rows)
{
	if (max_rows < 1)
		return y;
	size_t stale = 0;
	for (size_t i = 0; i < ui->nreplicas; i++)
		stale += ui->replicas[i].stale;
	gw_buf b = GW_BUF_INIT;
	gw_buf_printf(&b, "Replicas %zu", ui->nreplicas);
	if (stale)
		gw_buf_printf(&b, " (%zu stale)", stale);
	size_t room = max_rows > 2 ? (size_t)(max_rows - 2) : 0;
	if (room > 0 && ui->nreplicas == 0)
		room = 1;
	size_t show = ui->nreplicas < room ? ui->nreplicas : room;
	if (show < ui->nreplicas)
		gw_buf_printf(&b, ", %zu not shown", ui->nreplicas - show);
	tui_section(ui, y++, gw_buf_cstr(&b));
	if (max_rows < 2) {
		gw_buf_free(&b);
		return y;
	}
	/* the host column takes what the fixed columns leave, 14 to 40 */
	int hc = COLS - 1 - TUI_REPLICA_FIXED_COLS;
	size_t host_cols = hc < 14 ? 14 : hc > 40 ? 40 : (size_t)hc;
	gw_buf_reset(&b);
	tui_render_replica_head(&b, host_cols);
	tui_put(ui, y++, 1, COLS - 1, TUI_STYLE_LABEL, gw_buf_cstr(&b));
	if (ui->nreplicas == 0 && room > 0)
		tui_put(ui, y++, 1, COLS - 1, TUI_STYLE_NORMAL, "(no replica registered)");
	for (size_t i = 0; i < show; i++) {
		gw_buf_reset(&b);
		tui_render_replica(&b, &ui->replicas[i], host_cols);
		tui_put(ui, y++, 1, COLS - 1, ui->replicas[i].stale ? TUI_STYLE_OVER : TUI_STYLE_NORMAL,
		    gw_buf_cstr(&b));
	}
	gw_buf_free(&b);
	return y;
}

/* Rebuilds the filtered index; returns the selected position (nidx when empty). */
static size_t
tui_index(tui_ui *ui)
{
	tui_events *ev = ui->events;
	if (ui->idx_cap < ev->cap) {
		ui->idx = gw_xrealloc(ui->idx, ev->cap * sizeof(*ui->idx));
		ui->idx_cap = ev->cap;
	}
	ui->nidx = tui_events_filter(ev, ui->filter, ui->idx);
	if (ui->nidx == 0)
		return 0;
	if (ui->follow || ui->sel_id == 0)
		return ui->nidx - 1;
	/* ids increase along the list: the first one at or after the selection */
	size_t lo = 0, hi = ui->nidx;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (tui_events_at(ev, ui->idx[mid])->id < ui->sel_id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < ui->nidx ? lo : ui->nidx - 1;
}

const tui_event *
tui_screen_selected(tui_ui *ui)
{
	size_t pos = tui_index(ui);
	return ui->nidx ? tui_events_at(ui->events, ui->idx[pos]) : NULL;
}

static void
tui_draw_events(tui_ui *ui, int y, int rows)
{
	size_t sel = tui_index(ui);
	gw_buf b = GW_BUF_INIT;
	gw_buf_printf(&b, "Events %zu", ui->nidx);
	if (ui->filter[0])
		gw_buf_printf(&b, " matching '%s' (of %zu)", ui->filter, ui->events->count);
	gw_buf_puts(&b, ui->follow ? "  following" : "  j/k scroll, G follow");
	tui_section(ui, y++, gw_buf_cstr(&b));
	rows--;
	if (rows <= 0) {
		gw_buf_free(&b);
		return;
	}
	ui->list_rows = (size_t)rows;
	size_t r = (size_t)rows;
	if (ui->follow) {
		ui->top = ui->nidx > r ? ui->nidx - r : 0;
	} else {
		if (sel < ui->top)
			ui->top = sel;
		if (sel >= ui->top + r)
			ui->top = sel - r + 1;
		if (ui->top + r > ui->nidx)
			ui->top = ui->nidx > r ? ui->nidx - r : 0;
	}
	for (size_t i = 0; i < r && ui->top + i < ui->nidx; i++) {
		size_t pos = ui->top + i;
		const tui_event *e = tui_events_at(ui->events, ui->idx[pos]);
		gw_buf_reset(&b);
		gw_buf_putc(&b, ' ');
		tui_render_event_line(&b, &e->sum);
		tui_style st = TUI_STYLE_NORMAL;
		if (e->local)
			st = TUI_STYLE_LOCAL;
		else if (strcmp(e->sum.gate, "HOLD") == 0)
			st = TUI_STYLE_WARN;
		if (pos == sel && !ui->follow) {
			tui_fill(ui, y + (int)i, 0, TUI_STYLE_SELECTED);
			st = TUI_STYLE_SELECTED;
		}
		tui_put(ui, y + (int)i, 0, COLS, st, gw_buf_cstr(&b));
	}
	if (ui->nidx == 0)
		tui_put(ui, y, 1, COLS - 1, TUI_STYLE_NORMAL,
		    ui->filter[0] ? "(no event matches the filter)" : "(no runtime events yet)");
	gw_buf_free(&b);
}

static void
tui_draw_log(tui_ui *ui, int y, int rows)
{
	tui_section(ui, y++, ui->log_follow ? "Console log  (L or Esc closes)  following" :
	    "Console log  (L or Esc closes)  G follows");
	rows--;
	if (rows <= 0)
		return;
	ui->list_rows = (size_t)rows;
	gw_buf b = GW_BUF_INIT;
	size_t total;
	tui_log_copy(ui->log, 0, 0, &b, &total);
	if (ui->log_follow || ui->log_top + (size_t)rows > total)
		ui->log_top = total > (size_t)rows ? total - (size_t)rows : 0;
	tui_log_copy(ui->log, ui->log_top, (size_t)rows, &b, &total);
	const char *p = gw_buf_cstr(&b);
	for (int i = 0; i < rows && *p; i++) {
		size_t n = strcspn(p, "\n");
		char *line = gw_xstrndup(p, n);
		tui_put(ui, y + i, 1, COLS - 1, TUI_STYLE_NORMAL, line);
		free(line);
		p += n + (p[n] == '\n');
	}
	if (total == 0)
		tui_put(ui, y, 1, COLS - 1, TUI_STYLE_NORMAL, "(empty)");
	gw_buf_free(&b);
}

/* The message line, or the open prompt with its cursor. */
static void
tui_draw_bottom(tui_ui *ui)
{
	int y = LINES - 2;
	tui_prompt_view v;
	if (tui_prompt_view_get(&v)) {
		if (v.hint[0]) {
			move(y - 1, 0);
			clrtoeol();
			tui_put(ui, y - 1, 1, COLS - 1, TUI_STYLE_LOCAL, v.hint);
		}
		int x = tui_put(ui, y, 0, COLS, TUI_STYLE_LABEL, v.label);
		int avail = COLS - x - 1;
		/* scroll horizontally so the cursor stays visible */
		size_t start = tui_render_tail(v.text, v.point, avail > 0 ? (size_t)avail : 0);
		const char *s = v.text + start;
		tui_put(ui, y, x, avail, TUI_STYLE_NORMAL, s);
		move(y, x + (int)tui_render_width(s, v.point - start));
		curs_set(1);
		return;
	}
	curs_set(0);
	tui_put(ui, y, 0, COLS, ui->message_error ? TUI_STYLE_OVER : TUI_STYLE_NORMAL, ui->message);
}

static void
tui_draw_fbar(tui_ui *ui)
{
	int y = LINES - 1, x = 0;
	size_t n;
	const tui_key *k = tui_keys_table(&n);
	for (size_t i = 0; i < n && x < COLS; i++) {
		if (k[i].bar_key == NULL)
			continue;
		x += tui_put(ui, y, x, COLS - x, TUI_STYLE_KEY, k[i].bar_key);
		gw_buf b = GW_BUF_INIT;
		gw_buf_printf(&b, " %s  ", k[i].bar_name);
		x += tui_put(ui, y, x, COLS - x, TUI_STYLE_NORMAL, gw_buf_cstr(&b));
		gw_buf_free(&b);
	}
	if (x < COLS)
		tui_fill(ui, y, x, TUI_STYLE_NORMAL);
}

/* A framed box of text lines (help, detail), scrolled by overlay_top. */
static void
tui_draw_overlay(tui_ui *ui, const char *title, const char *text)
{
	const tui_glyphs *g = tui_g(ui);
	size_t nlines = 0, maxw = strlen(title) + 4;
	for (const char *p = text; *p;) {
		size_t n = strcspn(p, "\n");
		size_t w = tui_render_width(p, n);
		if (w > maxw)
			maxw = w;
		nlines++;
		p += n + (p[n] == '\n');
	}
	int h = (int)nlines + 2, w = (int)maxw + 4;
	if (h > LINES - 2)
		h = LINES - 2;
	if (w > COLS - 2)
		w = COLS - 2;
	int y0 = (LINES - 1 - h) / 2, x0 = (COLS - w) / 2;
	int inner = h - 2;
	if (ui->overlay_top + (size_t)inner > nlines)
		ui->overlay_top = nlines > (size_t)inner ? nlines - (size_t)inner : 0;
	ui->list_rows = (size_t)(inner > 0 ? inner : 1);
	for (int y = y0; y < y0 + h; y++) {
		move(y, x0);
		for (int x = 0; x < w; x++)
			addch(' ');
	}
	gw_buf b = GW_BUF_INIT;
	for (int x = 1; x < w - 1; x++)
		gw_buf_puts(&b, g->hline);
	tui_put(ui, y0, x0, 1, TUI_STYLE_NORMAL, g->tl);
	tui_put(ui, y0, x0 + 1, w - 2, TUI_STYLE_NORMAL, gw_buf_cstr(&b));
	tui_put(ui, y0, x0 + w - 1, 1, TUI_STYLE_NORMAL, g->tr);
	tui_put(ui, y0 + h - 1, x0, 1, TUI_STYLE_NORMAL, g->bl);
	tui_put(ui, y0 + h - 1, x0 + 1, w - 2, TUI_STYLE_NORMAL, gw_buf_cstr(&b));
	tui_put(ui, y0 + h - 1, x0 + w - 1, 1, TUI_STYLE_NORMAL, g->br);
	for (int y = y0 + 1; y < y0 + h - 1; y++) {
		tui_put(ui, y, x0, 1, TUI_STYLE_NORMAL, g->vline);
		tui_put(ui, y, x0 + w - 1, 1, TUI_STYLE_NORMAL, g->vline);
	}
	gw_buf_reset(&b);
	gw_buf_printf(&b, " %s ", title);
	tui_put(ui, y0, x0 + 2, w - 4, TUI_STYLE_LABEL, gw_buf_cstr(&b));
	gw_buf_free(&b);
	const char *p = text;
	for (size_t i = 0; *p; i++) {
		size_t n = strcspn(p, "\n");
		if (i >= ui->overlay_top && i < ui->overlay_top + (size_t)inner) {
			char *line = gw_xstrndup(p, n);
			tui_put(ui, y0 + 1 + (int)(i - ui->overlay_top), x0 + 2, w - 4, TUI_STYLE_NORMAL, line);
			free(line);
		}
		p += n + (p[n] == '\n');
	}
}

static void
tui_draw_help(tui_ui *ui)
{
	gw_buf b = GW_BUF_INIT;
	gw_buf_puts(&b, "Keys\n");
	tui_keys_help(&b);
	gw_buf_puts(&b, "\nPrompt words (after ':')\n");
	tui_cmd_help(&b);
	gw_buf_puts(&b,
	    "  or any runbook flag line, e.g.\n"
	    "  --gateway-service-stop --gateway-service-stop-reason maintenance_window\n"
	    "\nIn prompts: Tab completes, Up/Down history, Ctrl-C or Ctrl-G cancels.");
	tui_draw_overlay(ui, "Help (j/k scroll, any other key closes)", gw_buf_cstr(&b));
	gw_buf_free(&b);
}

void
tui_screen_draw(tui_ui *ui)
{
	erase();
	if (COLS < TUI_MIN_COLS || LINES < TUI_MIN_ROWS) {
		char msg[64];
		snprintf(msg, sizeof(msg), "enlarge the terminal (%dx%d < %dx%d)", COLS, LINES,
		    TUI_MIN_COLS, TUI_MIN_ROWS);
		int n = (int)strlen(msg);
		if (n > COLS)
			n = COLS;
		curs_set(0);
		mvaddnstr(LINES / 2, (COLS - n) / 2 > 0 ? (COLS - n) / 2 : 0, msg, n);
		refresh();
		ui->frames++;
		return;
	}
	int y = tui_draw_header(ui, 0);
	int bottom = LINES - 2; /* message line */
	if (ui->log_view) {
		tui_draw_log(ui, y, bottom - y);
	} else {
		y = tui_draw_gauges(ui, y);
		y = tui_draw_cycle(ui, y);
		if (ui->srv_running) {
			int room = bottom - y - 4;
			/* routes add a line per target (at most 4 of them here) */
			int cap = 6 + (int)(ui->srv.nroute_lines < 4 ? ui->srv.nroute_lines : 4);
			y = tui_draw_server(ui, y, room < cap ? room : cap);
		}
		if (ui->fleet) {
			/* leave the event list its title and three rows */
			int room = bottom - y - 4;
			y = tui_draw_replicas(ui, y, room < 12 ? room : 12);
		}
		tui_draw_events(ui, y, bottom - y);
	}
	if (ui->overlay == TUI_OVERLAY_HELP)
		tui_draw_help(ui);
	else if (ui->overlay == TUI_OVERLAY_DETAIL && ui->detail)
		tui_draw_overlay(ui, "Event (j/k scroll, Esc/Enter closes)", ui->detail);
	tui_draw_fbar(ui);
	tui_draw_bottom(ui);
	refresh();
	ui->frames++;
}

void
tui_screen_scroll(tui_ui *ui, tui_cmd cmd)
{
	long page = ui->list_rows > 1 ? (long)ui->list_rows - 1 : 1;
	long delta = 0;
	switch (cmd) {
	case TUI_CMD_DOWN: delta = 1; break;
	case TUI_CMD_UP: delta = -1; break;
	case TUI_CMD_PAGE_DOWN: delta = page; break;
	case TUI_CMD_PAGE_UP: delta = -page; break;
	case TUI_CMD_TOP: delta = -0x7fffffffL; break;
	case TUI_CMD_BOTTOM: delta = 0x7fffffffL; break;
	default: return;
	}
	if (ui->overlay != TUI_OVERLAY_NONE) {
		long t = (long)ui->overlay_top + delta;
		ui->overlay_top = t < 0 ? 0 : (size_t)t; /* clamped when drawn */
		return;
	}
	if (ui->log_view) {
		size_t total;
		gw_buf none = GW_BUF_INIT;
		tui_log_copy(ui->log, 0, 0, &none, &total);
		size_t max = total > ui->list_rows ? total - ui->list_rows : 0;
		long t = (long)ui->log_top + delta;
		ui->log_top = t < 0 ? 0 : (size_t)t > max ? max : (size_t)t;
		ui->log_follow = ui->log_top == max && delta > 0;
		return;
	}
	size_t sel = tui_index(ui);
	if (ui->nidx == 0)
		return;
	long t = (long)sel + delta;
	size_t pos = t < 0 ? 0 : (size_t)t >= ui->nidx ? ui->nidx - 1 : (size_t)t;
	ui->sel_id = tui_events_at(ui->events, ui->idx[pos])->id;
	ui->follow = pos == ui->nidx - 1 && delta > 0;
}

void
tui_screen_show_detail(tui_ui *ui, const char *text)
{
	free(ui->detail);
	ui->detail = gw_xstrdup(text);
	ui->overlay = TUI_OVERLAY_DETAIL;
	ui->overlay_top = 0;
}

void
tui_screen_message(tui_ui *ui, bool error, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(ui->message, sizeof(ui->message), fmt, ap);
	va_end(ap);
	ui->message_error = error;
	/* one line only */
	ui->message[strcspn(ui->message, "\n")] = '\0';
}
