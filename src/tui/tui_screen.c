/*
 * tui_screen.c - drawing the console (see tui_screen.h).
 *
 * Every frame is drawn from the data in tui_ui; nothing here reads files,
 * changes state or decides when to draw.  Text is clipped to the screen by
 * display width (tui_render_clip), so long reasons or paths never wrap in
 * the panels; the overlays and the log view, where long output is read,
 * wrap it instead (an overlay's W switches to sideways scrolling).  An
 * overlay blanks every screen row it covers, edge to edge, so nothing
 * drawn underneath shows beside its border.  Filter matches are drawn in
 * the match style wherever the filter applies.
 * Monochrome terminals (NO_COLOR, TERM=dumb) get bold and reverse instead
 * of colours, and gauge bars whose characters tell the level ('#'
 * breached, '=' used, '.' free).
 */
#include "tui/tui_screen.h"
#include "core/base/clock.h"
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

/* What a styled cell means; every cell the console colours names one of
 * these, and tui_looks alone says how each looks. */
typedef enum tui_style {
	TUI_STYLE_NORMAL,
	TUI_STYLE_OK,       /* good: RUNNING, PASS, healthy, start, a zero gauge */
	TUI_STYLE_WARN,     /* caution: degraded, a gauge in use, 4xx */
	TUI_STYLE_OVER,     /* alarm: STOPPED, HOLD, failing, stop, a breached
	                     * gauge, 5xx, an open circuit, a stale replica, errors */
	TUI_STYLE_TITLE,    /* the title bar */
	TUI_STYLE_KEY,      /* a key in the function bar */
	TUI_STYLE_LOCAL,    /* the console's own messages and hints */
	TUI_STYLE_LABEL,    /* field names and column heads */
	TUI_STYLE_SELECTED, /* the selected row */
	TUI_STYLE_MATCH,    /* a filter match */
	TUI_STYLE_MATCH_SELECTED, /* a filter match in the selected row */
	TUI_NSTYLES
} tui_style;

/* One colour per meaning, everywhere (the header, gauges, event rows and
 * panels all draw through it): the colour pair (numbered by the style) and
 * attributes in colour, and the attributes that stand in for the colour on
 * monochrome terminals. */
static const struct tui_look {
	short fg, bg;       /* -1: the terminal's default */
	attr_t color, mono;
} tui_looks[TUI_NSTYLES] = {
	[TUI_STYLE_NORMAL] = { -1, -1, A_NORMAL, A_NORMAL },
	[TUI_STYLE_OK] = { COLOR_GREEN, -1, A_BOLD, A_NORMAL },
	[TUI_STYLE_WARN] = { COLOR_YELLOW, -1, A_BOLD, A_BOLD },
	[TUI_STYLE_OVER] = { COLOR_RED, -1, A_BOLD, A_BOLD | A_REVERSE },
	[TUI_STYLE_TITLE] = { COLOR_BLACK, COLOR_CYAN, A_NORMAL, A_REVERSE },
	[TUI_STYLE_KEY] = { COLOR_BLACK, COLOR_CYAN, A_NORMAL, A_REVERSE },
	[TUI_STYLE_LOCAL] = { COLOR_CYAN, -1, A_NORMAL, A_NORMAL },
	[TUI_STYLE_LABEL] = { -1, -1, A_BOLD, A_BOLD },
	[TUI_STYLE_SELECTED] = { -1, -1, A_REVERSE, A_REVERSE },
	[TUI_STYLE_MATCH] = { COLOR_YELLOW, -1, A_REVERSE | A_BOLD, A_REVERSE | A_BOLD },
	[TUI_STYLE_MATCH_SELECTED] = { -1, -1, A_BOLD | A_UNDERLINE, A_BOLD | A_UNDERLINE },
};

static tui_style
tui_level_style(tui_level l)
{
	switch (l) {
	case TUI_LEVEL_OK: return TUI_STYLE_OK;
	case TUI_LEVEL_WARN: return TUI_STYLE_WARN;
	case TUI_LEVEL_OVER: return TUI_STYLE_OVER;
	default: return TUI_STYLE_NORMAL;
	}
}

/* The style of a status word by its meaning: HOLD looks the same in the
 * header and in the event rows. */
static tui_style
tui_word_style(const char *word)
{
	return tui_level_style(tui_render_word_level(word));
}

typedef struct tui_glyphs {
	const char *hline, *vline, *tl, *tr, *bl, *br;
} tui_glyphs;

static const tui_glyphs tui_glyphs_utf8 = { "\u2500", "\u2502", "\u250c", "\u2510", "\u2514",
	"\u2518" };
static const tui_glyphs tui_glyphs_ascii = { "-", "|", "+", "+", "+", "+" };

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
	for (int i = 0; i < TUI_NSTYLES; i++)
		if (tui_looks[i].fg != -1 || tui_looks[i].bg != -1)
			init_pair((short)i, tui_looks[i].fg, tui_looks[i].bg);
}

void
tui_screen_free(tui_ui *ui)
{
	free(ui->detail);
	free(ui->detail_title);
	free(ui->idx);
	ui->detail = ui->detail_title = NULL;
	ui->idx = NULL;
	ui->idx_cap = 0;
}

static attr_t
tui_attr(const tui_ui *ui, tui_style s)
{
	const struct tui_look *l = &tui_looks[s];
	if (!ui->color)
		return l->mono;
	return l->color | (l->fg != -1 || l->bg != -1 ? COLOR_PAIR(s) : 0);
}

/* Writes the n bytes of s at (y, x) in style (the caller clipped them);
 * returns their columns. */
static int
tui_putn(const tui_ui *ui, int y, int x, tui_style style, const char *s, size_t n)
{
	attr_t a = tui_attr(ui, style);
	attron(a);
	mvaddnstr(y, x, s, (int)n);
	attroff(a);
	return (int)tui_render_width(s, n);
}

/* Writes s at (y, x), at most cols display columns; returns the columns used. */
static int
tui_put(const tui_ui *ui, int y, int x, int cols, tui_style style, const char *s)
{
	if (cols <= 0 || x >= COLS)
		return 0;
	if (x + cols > COLS)
		cols = COLS - x;
	return tui_putn(ui, y, x, style, s, tui_render_clip(s, (size_t)cols));
}

/* tui_put with every case-insensitive match of needle (NULL or "": none)
 * drawn in the match style. */
static int
tui_put_hl(const tui_ui *ui, int y, int x, int cols, tui_style style, const char *s, const char *needle)
{
	if (needle == NULL || needle[0] == '\0')
		return tui_put(ui, y, x, cols, style, s);
	if (cols <= 0 || x >= COLS)
		return 0;
	if (x + cols > COLS)
		cols = COLS - x;
	size_t n = tui_render_clip(s, (size_t)cols), i = 0;
	tui_style hs = style == TUI_STYLE_SELECTED ? TUI_STYLE_MATCH_SELECTED : TUI_STYLE_MATCH;
	int used = 0;
	while (i < n) {
		size_t len, at = i + tui_render_find(s + i, n - i, needle, &len);
		if (at > i)
			used += tui_putn(ui, y, x + used, style, s + i, (at < n ? at : n) - i);
		if (at >= n)
			break;
		used += tui_putn(ui, y, x + used, hs, s + at, len);
		i = at + len;
	}
	return used;
}

/* One screen row of a text: its bytes [off, off + len), drawn indent
 * columns in (a wrapped line's continuation rows hang). */
typedef struct tui_row {
	size_t off, len, indent;
} tui_row;

/* Splits text into screen rows: one per line, or with wrap one per piece
 * of at most cols columns, continuation rows hanging (tui_render_hang).  Returns the rows (the caller frees them);
 * *nrows and *maxw (the widest row's columns) receive the counts. */
static tui_row *
tui_split_rows(const char *text, size_t cols, bool wrap, size_t *nrows, size_t *maxw)
{
	tui_row *rows = NULL;
	size_t n = 0, cap = 0, mw = 0;
	for (const char *p = text; *p;) {
		size_t len = strcspn(p, "\n"), i = 0;
		size_t hang = wrap ? tui_render_hang(p, len, cols) : 0;
		do {
			size_t ind = i > 0 ? hang : 0;
			size_t k = wrap ? tui_render_wrap_row(p + i, len - i, cols - ind) : len;
			if (n == cap) {
				cap = cap ? cap * 2 : 64;
				rows = gw_xrealloc(rows, cap * sizeof(*rows));
			}
			rows[n++] = (tui_row){ (size_t)(p - text) + i, k, ind };
			size_t w = ind + tui_render_width(p + i, k);
			if (w > mw)
				mw = w;
			i += k;
		} while (i < len);
		p += len + (p[len] == '\n');
	}
	*nrows = n;
	*maxw = mw;
	return rows;
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

/* The header's posture segments, most important first: what is dropped
 * on a narrow terminal comes last.  A condition that makes the posture
 * itself doubtful (state.json corrupt, no state written yet) belongs
 * first, before the service. */
#define TUI_HSEG_MAX 8
#define TUI_SHORT_ROWS 12
typedef struct tui_hseg {
	const char *label;        /* "Service " (static) */
	const char *value;        /* "RUNNING" (static or borrowed from ui) */
	tui_style style;          /* of the value */
	gw_buf detail;            /* " (last stop: x)", owned */
	unsigned keep;            /* see tui_seg */
} tui_hseg;

static size_t
tui_header_segs(const tui_ui *ui, tui_hseg *seg)
{
	const tui_posture *p = ui->posture;
	const gw_service_report *r = &p->report;
	size_t n = 0;
	tui_hseg *s;

	/* first: a corrupt or never-written state has no posture to show
	 * (the line below says why), not the defaults in green */
	const char *v;
	if (p->corrupt || (!p->exists && !p->error[0])) {
		v = p->corrupt ? "STATE CORRUPT" : "NO STATE YET";
		s = &seg[n++];
		*s = (tui_hseg){ "Service ", v, p->corrupt ? TUI_STYLE_OVER : TUI_STYLE_WARN, GW_BUF_INIT, 1 };
		gw_buf_puts(&s->detail, p->corrupt ? " (s asks before moving it aside)" :
		    ui->fleet ? " (no posture written)" : " (no state.json written)");
		goto server;
	}

	v = r->service.stopped ? "STOPPED" : "RUNNING";
	s = &seg[n++];
	*s = (tui_hseg){ "Service ", v, tui_word_style(v), GW_BUF_INIT, 1 };
	if (r->service.last_stop_reason[0])
		gw_buf_printf(&s->detail, " (last stop: %s)", r->service.last_stop_reason);

	s = &seg[n++];
	bool pass = r->gates.rollout_gate != NULL && strcmp(r->gates.rollout_gate, "pass") == 0;
	v = pass ? "PASS" : "HOLD";
	*s = (tui_hseg){ "Rollout ", v, tui_word_style(v), GW_BUF_INIT, 3 };
	if (r->gates.rollout_reason_code[0])
		gw_buf_printf(&s->detail, " %s", r->gates.rollout_reason_code);

	v = gw_health_state_name(p->health_state);
	s = &seg[n++];
	*s = (tui_hseg){ "Health ", v, tui_word_style(v), GW_BUF_INIT, 0 };

server:
	if (ui->srv_running) {
		s = &seg[n++];
		*s = (tui_hseg){ "Server ", ui->srv.bind, TUI_STYLE_NORMAL, GW_BUF_INIT, 2 };
		gw_buf_printf(&s->detail, " %llu req", (unsigned long long)ui->srv.requests);
	}
	return n;
}

/* Lays the segments out on at most max_lines rows from y and draws them;
 * returns the rows used.  A clipped detail ends in an ellipsis. */
static int
tui_draw_segs(const tui_ui *ui, int y, tui_hseg *hs, size_t n, size_t max_lines)
{
	tui_seg seg[TUI_HSEG_MAX];
	for (size_t i = 0; i < n; i++) {
		seg[i] = (tui_seg){ 0 };
		seg[i].head = tui_render_width(hs[i].label, strlen(hs[i].label)) +
		    tui_render_width(hs[i].value, strlen(hs[i].value));
		seg[i].detail = tui_render_width(hs[i].detail.data, hs[i].detail.len);
		seg[i].keep = hs[i].keep;
	}
	/* one column of margin on the left, as the rest of the screen */
	size_t lines = tui_render_header_layout(seg, n, (size_t)(COLS - 1), max_lines);
	for (size_t i = 0; i < n; i++) {
		if (seg[i].line < 0)
			continue;
		int row = y + seg[i].line, x = 1 + (int)seg[i].x;
		x += tui_put(ui, row, x, COLS - x, TUI_STYLE_LABEL, hs[i].label);
		x += tui_put(ui, row, x, COLS - x, hs[i].style, hs[i].value);
		if (seg[i].shown == 0)
			continue;
		const char *d = gw_buf_cstr(&hs[i].detail);
		if (seg[i].shown < seg[i].detail) {
			/* clipped: the last column says so */
			x += tui_put(ui, row, x, (int)seg[i].shown - 1, TUI_STYLE_NORMAL, d);
			tui_put(ui, row, x, 1, TUI_STYLE_NORMAL, ui->utf8 ? "\u2026" : "~");
		} else {
			tui_put(ui, row, x, (int)seg[i].shown, TUI_STYLE_NORMAL, d);
		}
	}
	return (int)lines;
}

static int
tui_draw_header(tui_ui *ui, int y)
{
	const tui_posture *p = ui->posture;
	gw_buf b = GW_BUF_INIT;

	/* title bar, but for short terminals, where the posture needs the row */
	if (LINES > TUI_SHORT_ROWS) {
		tui_fill(ui, y, 0, TUI_STYLE_TITLE);
		gw_buf_printf(&b, " tau-gateway console  state %s", ui->state_dir);
		tui_put(ui, y, 0, COLS, TUI_STYLE_TITLE, gw_buf_cstr(&b));
		gw_buf_reset(&b);
		gw_buf_puts(&b, "updated ");
		if (p->mtime_ms)
			tui_render_when(&b, p->mtime_ms, gw_clock_unix_ms());
		else
			gw_buf_puts(&b, "never");
		gw_buf_putc(&b, ' ');
		int w = (int)tui_render_width(b.data, b.len);
		if (COLS - w > 40)
			tui_put(ui, y, COLS - w, w, TUI_STYLE_TITLE, gw_buf_cstr(&b));
		y++;
	}

	/* posture lines: the segments by priority, wrapped onto a second
	 * line (a third below 80 columns) rather than cut */
	tui_hseg seg[TUI_HSEG_MAX];
	size_t n = tui_header_segs(ui, seg);
	y += tui_draw_segs(ui, y, seg, n, COLS < 80 ? 3 : 2);
	for (size_t i = 0; i < n; i++)
		gw_buf_free(&seg[i].detail);

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
	int x = tui_put(ui, y, 1, 18, TUI_STYLE_NORMAL, label);
	(void)x;
	int width = COLS - 20 - 14;
	if (width > 40)
		width = 40;
	if (width < 4)
		width = 4;
	gw_buf b = GW_BUF_INIT;
	tui_level l = tui_render_gauge_level(v, limit);
	/* blocks only where colour tells the level: reverse video would draw a
	 * full block as background, so monochrome bars say it in characters */
	const char *full, *empty;
	tui_render_gauge_glyphs(l, ui->utf8 && ui->color, &full, &empty);
	tui_render_gauge(&b, v, limit, (size_t)width, full, empty);
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
	tui_render_when(&b, c.unix_ms, gw_clock_unix_ms());
	if (c.fixture[0])
		gw_buf_printf(&b, " %s", c.fixture);
	if (ui->run_active) {
		gw_buf_printf(&b, "  |  running %s: %s %llu/%llu%s", ui->run_fixture, ui->run_phase,
		    (unsigned long long)ui->run_done, (unsigned long long)ui->run_total,
		    ui->run_cancelling ? " (cancelling)" : "  c cancels");
	}
	tui_section(ui, y++, gw_buf_cstr(&b));
	gw_buf_reset(&b);
	tui_render_cycle(&b, &c);
	tui_put(ui, y++, 1, COLS - 1, TUI_STYLE_NORMAL, gw_buf_cstr(&b));
	gw_buf_free(&b);
	return y;
}

/* A "label now sparkline" line of the panel: the last whole second's
 * value, then as many of the SRV_SECONDS seconds as fit (the newest at the
 * right), then tail. */
static void
tui_draw_rate(tui_ui *ui, int y, const char *label, const uint32_t *v, const char *tail,
    tui_style style)
{
	bool ascii = !ui->utf8 || !ui->color;
	gw_buf b = GW_BUF_INIT;
	gw_buf_printf(&b, "%-7s %5u ", label, v[SRV_SECONDS - 1]);
	int x = 1 + tui_put(ui, y, 1, COLS - 1, TUI_STYLE_LABEL, gw_buf_cstr(&b));
	int tail_w = (int)tui_render_width(tail, strlen(tail));
	int cells = COLS - x - 2 - tail_w;
	if (cells > SRV_SECONDS)
		cells = SRV_SECONDS;
	if (cells < 10)
		cells = COLS - x - 1 < 10 ? COLS - x - 1 : 10;
	gw_buf_reset(&b);
	if (cells > 0) {
		gw_buf_puts(&b, ascii ? "[" : "\u2595");
		tui_render_spark(&b, v + SRV_SECONDS - cells, (size_t)cells, ascii);
		gw_buf_puts(&b, ascii ? "]" : "\u258f");
		x += tui_put(ui, y, x, COLS - x, style, gw_buf_cstr(&b));
	}
	tui_put(ui, y, x + 1, COLS - x - 1, TUI_STYLE_NORMAL, tail);
	gw_buf_free(&b);
}

/* The same request (the ring holds copies, so the fields are compared). */
static bool
tui_same_request(const srv_recent *a, const srv_recent *b)
{
	return a->unix_ms == b->unix_ms && a->duration_us == b->duration_us && a->status == b->status &&
	    strcmp(a->client, b->client) == 0 && strcmp(a->resp_id, b->resp_id) == 0 &&
	    strcmp(a->path, b->path) == 0 && strcmp(a->method, b->method) == 0;
}

/* The server panel: rates with their 60 s sparklines, latency over 60 s,
 * counts by route and status class, the targets (routes), warnings where
 * the figures contradict the posture, then the request list, newest
 * first, in every row max_rows leaves. */
static int
tui_draw_server(tui_ui *ui, int y, int max_rows)
{
	const srv_stats *s = &ui->srv;
	const tui_posture *p = ui->posture;
	bool ascii = !ui->utf8 || !ui->color;
	int end = y + max_rows;
	gw_buf b = GW_BUF_INIT, t = GW_BUF_INIT;
	gw_buf_printf(&b, "Server %s  up ", s->bind);
	tui_render_duration(&b, s->uptime_ms);
	gw_buf_puts(&b, ui->req_focus ? "  requests: j/k select, Enter response, Tab back" :
	    "  Tab: requests");
	tui_section(ui, y++, gw_buf_cstr(&b));

	uint64_t req60 = 0, err60 = 0, up60 = 0;
	for (unsigned i = 0; i < SRV_SECONDS; i++) {
		req60 += s->sec_requests[i];
		err60 += s->sec_errors[i];
		up60 += s->sec_upstream_errors[i];
	}
	if (y < end) {
		gw_buf_printf(&t, "60s %llu  total %llu", (unsigned long long)req60,
		    (unsigned long long)s->requests);
		tui_draw_rate(ui, y++, "req/s", s->sec_requests, gw_buf_cstr(&t), TUI_STYLE_OK);
	}
	if (y < end) {
		gw_buf_reset(&t);
		gw_buf_printf(&t, "60s %llu  5xx %llu", (unsigned long long)err60,
		    (unsigned long long)s->status_5xx);
		tui_draw_rate(ui, y++, "err/s", s->sec_errors, gw_buf_cstr(&t),
		    err60 ? TUI_STYLE_OVER : TUI_STYLE_NORMAL);
	}
	if (y < end) {
		gw_buf_reset(&b);
		gw_buf_puts(&b, "latency 60s p50 ");
		if (s->p50_us || s->p99_us) {
			tui_render_us(&b, s->p50_us, ascii);
			gw_buf_puts(&b, "  p99 ");
			tui_render_us(&b, s->p99_us, ascii);
		} else {
			gw_buf_puts(&b, "-  p99 -");
		}
		gw_buf_printf(&b, "   streams %llu  websockets %llu  ws turns %llu   upstream %llu, failed %llu",
		    (unsigned long long)s->active_streams, (unsigned long long)s->ws_open,
		    (unsigned long long)s->ws_turns, (unsigned long long)s->upstream_attempts,
		    (unsigned long long)s->upstream_errors);
		tui_put(ui, y++, 1, COLS - 1, TUI_STYLE_NORMAL, gw_buf_cstr(&b));
	}
	if (y < end) {
		gw_buf_reset(&b);
		gw_buf_puts(&b, "status");
		for (int c = 1; c <= 5; c++)
			if (s->by_class[c] || c == 2 || c >= 4)
				gw_buf_printf(&b, "  %dxx %llu", c, (unsigned long long)s->by_class[c]);
		if (s->nroute_lines == 0 && s->model[0])
			gw_buf_printf(&b, "   model %s", s->model);
		gw_buf_puts(&b, "   routes");
		for (unsigned i = 0; i < s->nroutes; i++)
			gw_buf_printf(&b, "  %s %llu", s->routes[i].name, (unsigned long long)s->routes[i].n);
		if (s->nroutes == 0)
			gw_buf_puts(&b, " -");
		tui_put(ui, y++, 1, COLS - 1, TUI_STYLE_NORMAL, gw_buf_cstr(&b));
	}
	/* contradictions between the posture and what the server does */
	if (y < end && p->report.service.stopped && s->last_model_ok_unix_ms != 0 &&
	    s->last_model_ok_unix_ms >= p->report.service.last_stopped_unix_ms) {
		gw_buf_reset(&b);
		gw_buf_puts(&b, "! service STOPPED, yet this server answered 200 to a model request at ");
		tui_render_clock(&b, s->last_model_ok_unix_ms);
		tui_put(ui, y++, 1, COLS - 1, TUI_STYLE_OVER, gw_buf_cstr(&b));
	}
	if (y < end && p->health_state == GW_HEALTH_HEALTHY && up60 > 0) {
		gw_buf_reset(&b);
		gw_buf_printf(&b, "! health healthy, yet %llu upstream attempts failed in the last 60 s",
		    (unsigned long long)up60);
		tui_put(ui, y++, 1, COLS - 1, TUI_STYLE_OVER, gw_buf_cstr(&b));
	}
	/* routes: a line per target with its circuit (open in the alarm style),
	 * at most 4 here, so the request list keeps rows */
	for (unsigned i = 0; i < s->nroute_lines && i < 4 && y < end - 1; i++) {
		gw_buf_reset(&b);
		gw_buf_printf(&b, "  route %s", s->route_lines[i]);
		if ((i + 1 == s->nroute_lines || i == 3) && s->ntargets > i + 1)
			gw_buf_printf(&b, "  (+%u more)", s->ntargets - i - 1);
		bool open = strstr(s->route_lines[i], " open ") != NULL ||
		    strstr(s->route_lines[i], " half_open ") != NULL;
		tui_put(ui, y++, 1, COLS - 1, open ? TUI_STYLE_OVER : TUI_STYLE_NORMAL, gw_buf_cstr(&b));
	}
	/* the request list, newest first */
	unsigned n = s->nrecent < SRV_RECENT_MAX ? s->nrecent : SRV_RECENT_MAX;
	if (y < end - 1 && n > 0) {
		tui_put(ui, y++, 1, COLS - 1, TUI_STYLE_LABEL,
		    "time      client          st   latency   model            response"
		    "                               request");
		/* the picked request where it is now (new ones push it down); one
		 * that left the ring gives way to the row at its place */
		for (unsigned k = 0; ui->req_picked && k < n; k++)
			if (tui_same_request(&s->recent[n - 1 - k], &ui->req_pick)) {
				ui->req_sel = k;
				break;
			}
		if (ui->req_sel >= n)
			ui->req_sel = n - 1;
		ui->req_pick = s->recent[n - 1 - ui->req_sel];
		ui->req_picked = ui->req_focus;
		for (unsigned k = 0; k < n && y < end; k++) {
			const srv_recent *r = &s->recent[n - 1 - k];
			gw_buf_reset(&b);
			tui_render_request(&b, r, s->nroute_lines == 0 ? s->model : NULL, ascii);
			tui_style st = r->status >= 500 ? TUI_STYLE_OVER :
			    r->status >= 400 ? TUI_STYLE_WARN : TUI_STYLE_NORMAL;
			if (ui->req_focus && k == ui->req_sel) {
				tui_fill(ui, y, 0, TUI_STYLE_SELECTED);
				st = TUI_STYLE_SELECTED;
			}
			tui_put(ui, y++, 1, COLS - 1, st, gw_buf_cstr(&b));
		}
	}
	gw_buf_free(&b);
	gw_buf_free(&t);
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
	if (ui->console_msgs > 0) /* the console's own messages are not events */
		gw_buf_printf(&b, "  console messages %llu: L", (unsigned long long)ui->console_msgs);
	tui_section(ui, y++, gw_buf_cstr(&b));
	rows--;
	int head_y = -1; /* the column heads' row, drawn once the widths are known */
	if (rows > 1) {
		head_y = y++;
		rows--;
	}
	if (rows <= 0) {
		gw_buf_free(&b);
		return;
	}
	ui->list_rows = (size_t)rows;
	ui->list_y = y;
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
	/* columns as wide as the rows in view need */
	tui_event_cols cols = TUI_EVENT_COLS_HEADS;
	for (size_t i = 0; i < r && ui->top + i < ui->nidx; i++)
		tui_render_event_fit(&cols, &tui_events_at(ui->events, ui->idx[ui->top + i])->sum);
	if (head_y >= 0) {
		gw_buf_reset(&b);
		gw_buf_putc(&b, ' ');
		tui_render_event_head(&b, &cols);
		tui_put(ui, head_y, 0, COLS, TUI_STYLE_LABEL, gw_buf_cstr(&b));
	}
	int gate_x = 1 + (int)tui_render_event_gate_at(&cols);
	uint64_t now = gw_clock_unix_ms();
	for (size_t i = 0; i < r && ui->top + i < ui->nidx; i++) {
		size_t pos = ui->top + i;
		const tui_event *e = tui_events_at(ui->events, ui->idx[pos]);
		gw_buf_reset(&b);
		gw_buf_putc(&b, ' ');
		tui_render_event_line(&b, &e->sum, &cols, now);
		int row = y + (int)i;
		if (pos == sel && !ui->follow) {
			tui_fill(ui, row, 0, TUI_STYLE_SELECTED);
			tui_put_hl(ui, row, 0, COLS, TUI_STYLE_SELECTED, gw_buf_cstr(&b), ui->filter);
		} else {
			tui_put_hl(ui, row, 0, COLS, TUI_STYLE_NORMAL, gw_buf_cstr(&b), ui->filter);
			/* the gate in the colour of its meaning, as in the header,
			 * unless the filter's highlight is on it */
			tui_style gs = tui_word_style(e->sum.gate);
			if (gs != TUI_STYLE_NORMAL &&
			    (ui->filter[0] == '\0' || !tui_render_match(e->sum.gate, ui->filter)))
				tui_put(ui, row, gate_x, COLS - gate_x, gs, e->sum.gate);
		}
		/* the next frame an age in view changes */
		uint64_t due = tui_render_age_due(e->sum.unix_ms, now);
		if (due != UINT64_MAX && (ui->age_due_ms == 0 || now + due < ui->age_due_ms))
			ui->age_due_ms = now + due;
	}
	if (ui->nidx == 0)
		tui_put(ui, y, 1, COLS - 1, TUI_STYLE_NORMAL,
		    ui->filter[0] ? "(no event matches the filter)" : "(no runtime events yet)");
	gw_buf_free(&b);
}

/* The console log: every line whole (long ones wrap), only those holding
 * the log filter when there is one, matches highlighted. */
static void
tui_draw_log(tui_ui *ui, int y, int rows)
{
	gw_buf b = GW_BUF_INIT;
	gw_buf_puts(&b, "Console log");
	if (ui->log_filter[0])
		gw_buf_printf(&b, " matching '%s'", ui->log_filter);
	gw_buf_puts(&b, ui->log_follow ? "  (L or Esc closes)  following" : "  (L or Esc closes)  G follows");
	tui_section(ui, y++, gw_buf_cstr(&b));
	rows--;
	if (rows <= 0) {
		gw_buf_free(&b);
		return;
	}
	ui->list_rows = (size_t)rows;
	size_t total;
	gw_buf raw = GW_BUF_INIT;
	gw_buf_reset(&b);
	tui_log_copy(ui->log, 0, SIZE_MAX, &raw, &total);
	for (const char *p = gw_buf_cstr(&raw); *p;) {
		size_t n = strcspn(p, "\n");
		size_t len;
		if (ui->log_filter[0] == '\0' || tui_render_find(p, n, ui->log_filter, &len) < n) {
			tui_render_sanitize(&b, p, n);
			gw_buf_putc(&b, '\n');
		}
		p += n + (p[n] == '\n');
	}
	gw_buf_free(&raw);
	size_t nrows, maxw;
	tui_row *r = tui_split_rows(gw_buf_cstr(&b), (size_t)(COLS - 1), true, &nrows, &maxw);
	ui->log_rows = nrows;
	if (ui->log_follow || ui->log_top + (size_t)rows > nrows)
		ui->log_top = nrows > (size_t)rows ? nrows - (size_t)rows : 0;
	for (int i = 0; i < rows && ui->log_top + (size_t)i < nrows; i++) {
		const tui_row *row = &r[ui->log_top + (size_t)i];
		char *line = gw_xstrndup(b.data + row->off, row->len);
		tui_put_hl(ui, y + i, 1 + (int)row->indent, COLS - 1 - (int)row->indent, TUI_STYLE_NORMAL, line,
		    ui->log_filter);
		free(line);
	}
	if (nrows == 0)
		tui_put(ui, y, 1, COLS - 1, TUI_STYLE_NORMAL,
		    total == 0 ? "(empty)" : "(no line matches the filter)");
	free(r);
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
	tui_style st = ui->message_error ? TUI_STYLE_OVER : TUI_STYLE_NORMAL;
	static const char more[] = " ...(L: log)";
	if (tui_render_width(ui->message, strlen(ui->message)) <= (size_t)COLS) {
		tui_put(ui, y, 0, COLS, st, ui->message);
		return;
	}
	/* cut: the log view holds it whole */
	int x = tui_put(ui, y, 0, COLS - (int)strlen(more), st, ui->message);
	tui_put(ui, y, x, COLS - x, TUI_STYLE_LABEL, more);
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

/* A framed box of text (help, detail), scrolled by overlay_top: long lines
 * wrap, or with W scroll sideways by overlay_left.  The bottom border says
 * which rows show and how to move.  Every row the box covers is blanked
 * edge to edge first. */
static void
tui_draw_overlay(tui_ui *ui, const char *title, const char *text)
{
	const tui_glyphs *g = tui_g(ui);
	int iwmax = COLS - 6 > 1 ? COLS - 6 : 1; /* a border and a space each side */
	bool wrap = !ui->overlay_nowrap;
	size_t nrows, maxw;
	tui_row *rows = tui_split_rows(text, (size_t)iwmax, wrap, &nrows, &maxw);
	size_t tw = tui_render_width(title, strlen(title)) + 4;
	if (maxw < tw)
		maxw = tw;
	if (maxw < 28) /* room for the position and the keys in the bottom border */
		maxw = 28;
	int h = (int)nrows + 2, w = (int)maxw + 4;
	if (h > LINES - 2)
		h = LINES - 2;
	if (w > COLS - 2)
		w = COLS - 2;
	int y0 = (LINES - 1 - h) / 2, x0 = (COLS - w) / 2;
	int inner = h - 2, iw = w - 4;
	if (ui->overlay_top + (size_t)inner > nrows)
		ui->overlay_top = nrows > (size_t)inner ? nrows - (size_t)inner : 0;
	size_t maxleft = !wrap && maxw > (size_t)iw ? maxw - (size_t)iw : 0;
	if (ui->overlay_left > maxleft)
		ui->overlay_left = maxleft;
	ui->list_rows = (size_t)(inner > 0 ? inner : 1);
	ui->overlay_rows = nrows;
	for (int y = y0; y < y0 + h; y++) {
		move(y, 0);
		clrtoeol();
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
	gw_buf_reset(&b);
	size_t last = ui->overlay_top + (size_t)inner < nrows ? ui->overlay_top + (size_t)inner : nrows;
	gw_buf_printf(&b, " %zu-%zu/%zu ", nrows ? ui->overlay_top + 1 : 0, last, nrows);
	if (!wrap)
		gw_buf_printf(&b, "col %zu h/l ", ui->overlay_left + 1);
	gw_buf_puts(&b, wrap ? "W nowrap " : "W wrap ");
	tui_put(ui, y0 + h - 1, x0 + 2, w - 4, TUI_STYLE_LABEL, gw_buf_cstr(&b));
	gw_buf_free(&b);
	for (int i = 0; i < inner && ui->overlay_top + (size_t)i < nrows; i++) {
		const tui_row *r = &rows[ui->overlay_top + (size_t)i];
		const char *p = text + r->off;
		size_t skip = wrap ? 0 : tui_render_skip(p, r->len, ui->overlay_left);
		char *line = gw_xstrndup(p + skip, r->len - skip);
		tui_put(ui, y0 + 1 + i, x0 + 2 + (int)r->indent, iw - (int)r->indent, TUI_STYLE_NORMAL, line);
		free(line);
	}
	free(rows);
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
	    "\nIn prompts: Tab completes, Up/Down history, Ctrl-C or Ctrl-G cancels."
	    "\nMouse: a click selects an event, the wheel scrolls (--no-mouse: off).");
	tui_draw_overlay(ui, "Help (j/k scroll, any other key closes)", gw_buf_cstr(&b));
	gw_buf_free(&b);
}

void
tui_screen_draw(tui_ui *ui)
{
	ui->age_due_ms = 0; /* set again if this frame shows an age */
	erase();
	if (COLS < TUI_MIN_COLS || LINES < TUI_MIN_ROWS) {
		char msg[64];
		snprintf(msg, sizeof(msg), "enlarge the terminal (%dx%d < %dx%d)", COLS, LINES,
		    TUI_MIN_COLS, TUI_MIN_ROWS);
		int n = (int)strlen(msg);
		if (n > COLS)
			n = COLS;
		curs_set(0);
		/* a question (q's confirmation) is still asked, wrapped below */
		tui_prompt_view v;
		bool asking = tui_prompt_view_get(&v);
		mvaddnstr(asking ? 0 : LINES / 2, (COLS - n) / 2 > 0 ? (COLS - n) / 2 : 0, msg, n);
		if (asking) {
			const char *p = v.label;
			for (int y = 1; y < LINES && *p != '\0'; y++) {
				int len = (int)strlen(p) < COLS ? (int)strlen(p) : COLS;
				mvaddnstr(y, 0, p, len);
				p += len;
			}
		}
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
			/* every row the event list's title and four rows (and the
			 * Replicas panel's share in fleet mode) leave */
			int room = bottom - y - 5 - (ui->fleet ? 6 : 0);
			y = tui_draw_server(ui, y, room > 1 ? room : 1);
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
		tui_draw_overlay(ui, ui->detail_title ? ui->detail_title : "Event (j/k scroll, Esc/Enter closes)",
		    ui->detail);
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
	case TUI_CMD_LEFT:
	case TUI_CMD_RIGHT:
		if (ui->overlay != TUI_OVERLAY_NONE && ui->overlay_nowrap) {
			size_t step = 8;
			if (cmd == TUI_CMD_RIGHT)
				ui->overlay_left += step; /* clamped when drawn */
			else
				ui->overlay_left = ui->overlay_left > step ? ui->overlay_left - step : 0;
		}
		return;
	case TUI_CMD_WRAP:
		if (ui->overlay != TUI_OVERLAY_NONE) {
			ui->overlay_nowrap = !ui->overlay_nowrap;
			ui->overlay_left = 0;
		}
		return;
	default: return;
	}
	if (ui->overlay != TUI_OVERLAY_NONE) {
		long t = (long)ui->overlay_top + delta;
		ui->overlay_top = t < 0 ? 0 : (size_t)t; /* clamped when drawn */
		return;
	}
	if (ui->log_view) {
		size_t total = ui->log_rows; /* wrapped and filtered at the last draw */
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

bool
tui_screen_next_match(tui_ui *ui, bool forward)
{
	if (ui->log_view) {
		/* every row left by the log filter holds a match, or continues one */
		if (ui->log_filter[0] == '\0' || ui->log_rows == 0)
			return false;
		size_t max = ui->log_rows > ui->list_rows ? ui->log_rows - ui->list_rows : 0;
		if (forward)
			ui->log_top = ui->log_top >= max ? 0 : ui->log_top + 1;
		else
			ui->log_top = ui->log_top == 0 ? max : ui->log_top - 1;
		ui->log_follow = false;
		return true;
	}
	if (ui->filter[0] == '\0')
		return false;
	size_t sel = tui_index(ui);
	if (ui->nidx == 0)
		return false;
	/* the list holds only matching rows: the next one, around the ends */
	size_t pos;
	if (ui->follow) /* following shows the newest: n starts over at the oldest */
		pos = forward ? 0 : (ui->nidx > 1 ? ui->nidx - 2 : 0);
	else if (forward)
		pos = sel + 1 < ui->nidx ? sel + 1 : 0;
	else
		pos = sel > 0 ? sel - 1 : ui->nidx - 1;
	ui->sel_id = tui_events_at(ui->events, ui->idx[pos])->id;
	ui->follow = false;
	return true;
}

bool
tui_screen_click(tui_ui *ui, int y, int x)
{
	(void)x;
	if (ui->overlay != TUI_OVERLAY_NONE || ui->log_view || y < ui->list_y ||
	    y >= ui->list_y + (int)ui->list_rows)
		return false;
	tui_index(ui);
	size_t pos = ui->top + (size_t)(y - ui->list_y);
	if (pos >= ui->nidx)
		return false;
	ui->sel_id = tui_events_at(ui->events, ui->idx[pos])->id;
	ui->follow = false;
	return true;
}

void
tui_screen_show_text(tui_ui *ui, const char *title, const char *text)
{
	gw_buf b = GW_BUF_INIT;
	for (const char *p = text; *p;) {
		size_t n = strcspn(p, "\n");
		tui_render_sanitize(&b, p, n);
		p += n;
		if (*p == '\n') {
			gw_buf_putc(&b, '\n');
			p++;
		}
	}
	free(ui->detail);
	free(ui->detail_title);
	ui->detail = gw_buf_detach(&b);
	if (ui->detail == NULL)
		ui->detail = gw_xstrdup("");
	ui->detail_title = title ? gw_xstrdup(title) : NULL;
	ui->overlay = TUI_OVERLAY_DETAIL;
	ui->overlay_top = 0;
	ui->overlay_left = 0;
}

void
tui_screen_show_detail(tui_ui *ui, const char *text)
{
	tui_screen_show_text(ui, NULL, text);
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
