/*
 * tui_render.c - pure formatting for the console (see tui_render.h).
 *
 * Everything the screen prints that can be computed without a terminal
 * lives here, so it can be tested without one.  This module must never call
 * curses, read files or keep state between calls.
 */
#include "tui/tui_render.h"
#include "core/base/json.h"

#include <ctype.h>
#include <stdio.h>
#include <strings.h>
#include <string.h>
#include <time.h>
#include <wchar.h>

static uint64_t
tui_limit(uint64_t limit)
{
	return limit == 0 ? 1 : limit;
}

size_t
tui_render_gauge_fill(uint64_t value, uint64_t limit, size_t width)
{
	limit = tui_limit(limit);
	if (value == 0 || width == 0)
		return 0;
	if (value >= limit)
		return width;
	/* value < limit here; long double keeps value * width from overflowing */
	size_t cells = (size_t)((long double)value * (long double)width / (long double)limit);
	if (cells == 0)
		cells = 1;
	if (cells >= width)
		cells = width - 1; /* a full bar means "threshold reached" */
	return cells;
}

tui_level
tui_render_gauge_level(uint64_t value, uint64_t limit)
{
	if (value >= tui_limit(limit))
		return TUI_LEVEL_OVER;
	return value == 0 ? TUI_LEVEL_OK : TUI_LEVEL_WARN;
}

void
tui_render_gauge(gw_buf *out, uint64_t value, uint64_t limit, size_t width, const char *full,
    const char *empty)
{
	size_t fill = tui_render_gauge_fill(value, limit, width);
	for (size_t i = 0; i < width; i++)
		gw_buf_puts(out, i < fill ? full : empty);
	gw_buf_printf(out, " %llu/%llu", (unsigned long long)value,
	    (unsigned long long)tui_limit(limit));
}

void
tui_render_gauge_glyphs(tui_level level, bool blocks, const char **full, const char **empty)
{
	if (blocks) {
		*full = "\u2588";
		*empty = "\u2591";
		return;
	}
	*full = level == TUI_LEVEL_OVER ? "#" : "=";
	*empty = ".";
}

tui_level
tui_render_word_level(const char *word)
{
	static const struct {
		const char *word;
		tui_level level;
	} words[] = {
		{ "RUNNING", TUI_LEVEL_OK }, { "PASS", TUI_LEVEL_OK }, { "healthy", TUI_LEVEL_OK },
		{ "start", TUI_LEVEL_OK }, { "degraded", TUI_LEVEL_WARN },
		{ "STOPPED", TUI_LEVEL_OVER }, { "HOLD", TUI_LEVEL_OVER }, { "failing", TUI_LEVEL_OVER },
		{ "stop", TUI_LEVEL_OVER }, { "startup_failed", TUI_LEVEL_OVER },
		{ "CORRUPT", TUI_LEVEL_OVER },
	};
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strcmp(word, words[i].word) == 0)
			return words[i].level;
	return TUI_LEVEL_PLAIN;
}

void
tui_render_clock(gw_buf *out, uint64_t unix_ms)
{
	if (unix_ms == 0) {
		gw_buf_puts(out, "--:--:--");
		return;
	}
	time_t t = (time_t)(unix_ms / 1000);
	struct tm tm;
	localtime_r(&t, &tm);
	gw_buf_printf(out, "%02d:%02d:%02d", tm.tm_hour, tm.tm_min, tm.tm_sec);
}

void
tui_render_when(gw_buf *out, uint64_t unix_ms, uint64_t now_ms)
{
	if (unix_ms == 0) {
		gw_buf_puts(out, "--:--:--");
		return;
	}
	time_t t = (time_t)(unix_ms / 1000), n = (time_t)(now_ms / 1000);
	struct tm tm, now;
	localtime_r(&t, &tm);
	localtime_r(&n, &now);
	if (tm.tm_year != now.tm_year)
		gw_buf_printf(out, "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
	else if (tm.tm_yday != now.tm_yday)
		gw_buf_printf(out, "%02d-%02d %02d:%02d", tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min);
	else
		gw_buf_printf(out, "%02d:%02d:%02d", tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* The unit tui_render_age shows an age in, in ms, and its letter. */
static uint64_t
tui_age_unit(uint64_t age, char *letter)
{
	static const struct {
		uint64_t ms;
		char c;
	} u[] = { { 86400000, 'd' }, { 3600000, 'h' }, { 60000, 'm' } };
	for (size_t i = 0; i < sizeof(u) / sizeof(u[0]); i++)
		if (age >= u[i].ms) {
			*letter = u[i].c;
			return u[i].ms;
		}
	*letter = 's';
	return 1000;
}

void
tui_render_age(gw_buf *out, uint64_t unix_ms, uint64_t now_ms)
{
	if (unix_ms == 0) {
		gw_buf_putc(out, '-');
		return;
	}
	uint64_t age = now_ms > unix_ms ? now_ms - unix_ms : 0;
	char c;
	uint64_t unit = tui_age_unit(age, &c);
	gw_buf_printf(out, "%llu%c", (unsigned long long)(age / unit), c);
}

uint64_t
tui_render_age_due(uint64_t unix_ms, uint64_t now_ms)
{
	if (unix_ms == 0)
		return UINT64_MAX;
	if (now_ms < unix_ms)
		return unix_ms - now_ms + 1000; /* "0s" until a second past it */
	uint64_t age = now_ms - unix_ms;
	char c;
	uint64_t unit = tui_age_unit(age, &c);
	return unit - age % unit;
}

void
tui_render_iso8601(gw_buf *out, uint64_t unix_ms)
{
	time_t t = (time_t)(unix_ms / 1000);
	struct tm tm;
	localtime_r(&t, &tm);
	long off = tm.tm_gmtoff / 60;
	char sign = off < 0 ? '-' : '+';
	if (off < 0)
		off = -off;
	gw_buf_printf(out, "%04d-%02d-%02dT%02d:%02d:%02d.%03u%c%02ld:%02ld", tm.tm_year + 1900,
	    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (unsigned)(unix_ms % 1000),
	    sign, off / 60, off % 60);
}

void
tui_render_annotate_times(gw_buf *out, const char *json)
{
	static const char key_end[] = "unix_ms\": ";
	for (const char *p = json; *p;) {
		size_t n = strcspn(p, "\n");
		gw_buf_append(out, p, n);
		/* a member line: optional indent, "key": value, optional comma */
		const char *k = memmem(p, n, key_end, sizeof(key_end) - 1);
		if (k != NULL) {
			const char *v = k + sizeof(key_end) - 1, *e = v;
			uint64_t ms = 0;
			while (e < p + n && isdigit((unsigned char)*e) && ms < UINT64_MAX / 10)
				ms = ms * 10 + (uint64_t)(*e++ - '0');
			if (e > v && ms > 0 && (e == p + n || *e == ',')) {
				gw_buf_puts(out, "  (");
				tui_render_iso8601(out, ms);
				gw_buf_putc(out, ')');
			}
		}
		p += n;
		if (*p == '\n')
			gw_buf_putc(out, *p++);
	}
}

void
tui_render_duration(gw_buf *out, uint64_t ms)
{
	if (ms < 1000)
		gw_buf_printf(out, "%llu ms", (unsigned long long)ms);
	else if (ms < 60000)
		gw_buf_printf(out, "%llu.%llu s", (unsigned long long)(ms / 1000),
		    (unsigned long long)(ms % 1000 / 100));
	else if (ms < 3600000)
		gw_buf_printf(out, "%llum%02llus", (unsigned long long)(ms / 60000),
		    (unsigned long long)(ms % 60000 / 1000));
	else
		gw_buf_printf(out, "%lluh%02llum", (unsigned long long)(ms / 3600000),
		    (unsigned long long)(ms % 3600000 / 60000));
}

void
tui_render_spark(gw_buf *out, const uint32_t *v, size_t n, bool ascii)
{
	static const char *const blocks[8] = { "\u2581", "\u2582", "\u2583", "\u2584", "\u2585",
		"\u2586", "\u2587", "\u2588" };
	static const char chars[] = ".:-=+*#@";
	uint32_t max = 0;
	for (size_t i = 0; i < n; i++)
		if (v[i] > max)
			max = v[i];
	for (size_t i = 0; i < n; i++) {
		if (v[i] == 0) {
			gw_buf_putc(out, ' ');
			continue;
		}
		/* 1..8, rounding up so the smallest non-zero value still shows */
		size_t level = (size_t)(((uint64_t)v[i] * 8 + max - 1) / max);
		if (level < 1)
			level = 1;
		if (ascii)
			gw_buf_putc(out, chars[level - 1]);
		else
			gw_buf_puts(out, blocks[level - 1]);
	}
}

void
tui_render_us(gw_buf *out, uint64_t us, bool ascii)
{
	if (us < 1000)
		gw_buf_printf(out, "%llu %s", (unsigned long long)us, ascii ? "us" : "\u00b5s");
	else if (us < 10000)
		gw_buf_printf(out, "%llu.%llu ms", (unsigned long long)(us / 1000),
		    (unsigned long long)(us % 1000 / 100));
	else if (us < 1000000)
		gw_buf_printf(out, "%llu ms", (unsigned long long)(us / 1000));
	else
		tui_render_duration(out, us / 1000);
}

void
tui_render_request(gw_buf *out, const srv_recent *r, const char *fallback_model, bool ascii)
{
	tui_render_clock(out, r->unix_ms);
	gw_buf_printf(out, "  %-15s %3u  ", r->client[0] ? r->client : "-", r->status);
	size_t at = out->len;
	tui_render_us(out, r->duration_us, ascii);
	size_t w = tui_render_width(out->data + at, out->len - at);
	for (; w < 8; w++)
		gw_buf_putc(out, ' ');
	bool model_route = strcmp(r->path, "/v1/responses") == 0 ||
	    strcmp(r->path, "/v1/chat/completions") == 0;
	const char *model = r->target[0] ? r->target :
	    model_route && fallback_model != NULL && fallback_model[0] ? fallback_model : "-";
	/* response ids are "resp_" and 32 hex digits: one column for all */
	gw_buf_printf(out, "  %-16s %-37s  %s %s", model, r->resp_id[0] ? r->resp_id : "-", r->method,
	    r->path);
}

void
tui_render_rate(gw_buf *out, uint64_t errors, uint64_t requests)
{
	if (requests == 0) {
		gw_buf_putc(out, '-');
		return;
	}
	/* tenths of a percent, rounded; errors > requests is a replica's bug,
	 * shown as it is */
	uint64_t t = (errors * 2000 / requests + 1) / 2;
	gw_buf_printf(out, "%llu.%llu%%", (unsigned long long)(t / 10), (unsigned long long)(t % 10));
}

void
tui_render_replica_head(gw_buf *out, size_t host_cols)
{
	int h = (int)host_cols;
	gw_buf_printf(out, "%-5s %-*s %-14s %7s %7s %8s %5s %5s %5s", "", h, "host", "bind", "pid",
	    "hb age", "requests", "strms", "4xx", "5xx");
}

void
tui_render_replica(gw_buf *out, const gw_store_replica *r, size_t host_cols)
{
	int h = (int)host_cols;
	gw_buf age = GW_BUF_INIT, e4 = GW_BUF_INIT, e5 = GW_BUF_INIT;
	tui_render_duration(&age, r->heartbeat_age_ms);
	tui_render_rate(&e4, r->counters.errors_4xx, r->counters.requests);
	tui_render_rate(&e5, r->counters.errors_5xx, r->counters.requests);
	gw_buf_printf(out, "%-5s %-*.*s %-14.14s %7ld %7s %8llu %5llu %5s %5s", r->stale ? "STALE" : "",
	    h, h, r->host, r->bind, r->pid, gw_buf_cstr(&age), (unsigned long long)r->counters.requests,
	    (unsigned long long)r->counters.active_streams, gw_buf_cstr(&e4), gw_buf_cstr(&e5));
	gw_buf_free(&age);
	gw_buf_free(&e4);
	gw_buf_free(&e5);
}

static uint64_t
tui_u64(const cJSON *obj, const char *k)
{
	uint64_t v = 0;
	return gw_json_as_u64(cJSON_GetObjectItemCaseSensitive(obj, k), &v) ? v : 0;
}

/* Appends s to the comma-separated list in dst (size n), skipping repeats. */
static void
tui_add_reason(char *dst, size_t n, const char *s)
{
	if (s == NULL || s[0] == '\0')
		return;
	size_t len = strlen(s);
	for (const char *p = dst; (p = strstr(p, s)) != NULL; p += len)
		if ((p == dst || p[-1] == ',') && (p[len] == '\0' || p[len] == ','))
			return;
	size_t used = strlen(dst);
	snprintf(dst + used, n - used, "%s%s", used ? "," : "", s);
}

void
tui_render_event_parse(const char *line, size_t n, tui_event_sum *out)
{
	memset(out, 0, sizeof(*out));
	cJSON *v = cJSON_ParseWithLength(line, n);
	if (!cJSON_IsObject(v)) {
		cJSON_Delete(v);
		snprintf(out->kind, sizeof(out->kind), "invalid");
		snprintf(out->gate, sizeof(out->gate), "-");
		snprintf(out->reason, sizeof(out->reason), "%.*s", (int)(n > 80 ? 80 : n), line);
		return;
	}
	out->valid = true;
	out->unix_ms = tui_u64(v, "timestamp_unix_ms");
	const char *kind = gw_json_str(v, "kind");
	snprintf(out->kind, sizeof(out->kind), "%s", kind ? kind : "cycle");
	if (strcmp(out->kind, "cycle") == 0) {
		out->is_cycle = true;
		const char *gate = gw_json_str(v, "rollout_gate");
		snprintf(out->gate, sizeof(out->gate), "%s",
		    gate == NULL ? "-" : strcmp(gate, "pass") == 0 ? "PASS" : strcmp(gate, "hold") == 0 ? "HOLD" : gate);
		tui_add_reason(out->reason, sizeof(out->reason), gw_json_str(v, "rollout_reason_code"));
		const cJSON *codes = cJSON_GetObjectItemCaseSensitive(v, "reason_codes");
		const cJSON *c;
		cJSON_ArrayForEach(c, codes)
			if (cJSON_IsString(c))
				tui_add_reason(out->codes, sizeof(out->codes), c->valuestring);
		tui_cycle *cy = &out->cycle;
		cy->unix_ms = out->unix_ms;
		cy->discovered = tui_u64(v, "discovered_cases");
		cy->queued = tui_u64(v, "queued_cases");
		cy->applied = tui_u64(v, "applied_cases");
		cy->duplicates = tui_u64(v, "duplicate_skips");
		cy->malformed = tui_u64(v, "malformed_cases");
		cy->retryable = tui_u64(v, "retryable_failures");
		cy->retries = tui_u64(v, "retry_attempts");
		cy->failed = tui_u64(v, "failed_cases");
		cy->duration_ms = tui_u64(v, "cycle_duration_ms");
		cy->detailed = true;
		const char *fx = gw_json_str(v, "fixture");
		snprintf(cy->fixture, sizeof(cy->fixture), "%s", fx ? fx : "");
	} else if (strcmp(out->kind, "lifecycle") == 0) {
		const char *tr = gw_json_str(v, "transition");
		snprintf(out->gate, sizeof(out->gate), "%s", tr ? tr : "-");
		tui_add_reason(out->reason, sizeof(out->reason), gw_json_str(v, "reason"));
	} else {
		snprintf(out->gate, sizeof(out->gate), "-");
		const char *r = gw_json_str(v, "reason");
		tui_add_reason(out->reason, sizeof(out->reason), r ? r : gw_json_str(v, "corrupt_path"));
	}
	cJSON_Delete(v);
}

/* The age column's width, and the widths NULL cols stands for: the
 * longest kind ("state_recovered") and transition ("unclean_shutdown"). */
#define TUI_EV_AGE 5
static const tui_event_cols tui_event_cols_wide = { 15, 16, TUI_EVENT_REASON_MAX };

void
tui_render_event_fit(tui_event_cols *c, const tui_event_sum *e)
{
	size_t w = tui_render_width(e->kind, strlen(e->kind));
	if (w > c->kind)
		c->kind = w;
	w = tui_render_width(e->gate, strlen(e->gate));
	if (w > c->gate)
		c->gate = w;
	w = tui_render_width(e->reason, strlen(e->reason));
	if (w > TUI_EVENT_REASON_MAX)
		w = TUI_EVENT_REASON_MAX;
	if (e->codes[0] && w > c->reason) /* a reason with nothing after it sets no width */
		c->reason = w;
}

size_t
tui_render_event_gate_at(const tui_event_cols *c)
{
	if (c == NULL)
		c = &tui_event_cols_wide;
	return TUI_WHEN_COLS + 1 + TUI_EV_AGE + 2 + c->kind + 1;
}

void
tui_render_event_head(gw_buf *out, const tui_event_cols *c)
{
	if (c == NULL)
		c = &tui_event_cols_wide;
	gw_buf_printf(out, "%-*s %*s  %-*s %-*s %-*s %s", TUI_WHEN_COLS, "TIME", TUI_EV_AGE, "AGE",
	    (int)c->kind, "KIND", (int)c->gate, "GATE", (int)c->reason, "REASON", "CODES");
}

/* Appends s padded with spaces to cols display columns (s fits). */
static void
tui_pad(gw_buf *out, const char *s, size_t cols)
{
	gw_buf_puts(out, s);
	for (size_t w = tui_render_width(s, strlen(s)); w < cols; w++)
		gw_buf_putc(out, ' ');
}

void
tui_render_event_line(gw_buf *out, const tui_event_sum *e, const tui_event_cols *c, uint64_t now_ms)
{
	if (c == NULL)
		c = &tui_event_cols_wide;
	gw_buf when = GW_BUF_INIT, age = GW_BUF_INIT;
	tui_render_when(&when, e->unix_ms, now_ms);
	tui_render_age(&age, e->unix_ms, now_ms);
	gw_buf_printf(out, "%-*s %*s  ", TUI_WHEN_COLS, gw_buf_cstr(&when), TUI_EV_AGE, gw_buf_cstr(&age));
	gw_buf_free(&when);
	gw_buf_free(&age);
	tui_pad(out, e->kind, c->kind + 1);
	tui_pad(out, e->gate, c->gate + 1);
	if (e->codes[0] == '\0') {
		gw_buf_puts(out, e->reason); /* nothing follows: all of it */
		return;
	}
	size_t w = tui_render_width(e->reason, strlen(e->reason));
	if (w > c->reason) {
		size_t k = tui_render_clip(e->reason, c->reason > 0 ? c->reason - 1 : 0);
		gw_buf_append(out, e->reason, k);
		gw_buf_putc(out, '~');
		w = tui_render_width(e->reason, k) + 1;
	} else {
		gw_buf_puts(out, e->reason);
	}
	for (; w < c->reason + 1; w++)
		gw_buf_putc(out, ' ');
	gw_buf_puts(out, e->codes);
}

void
tui_render_cycle(gw_buf *out, const tui_cycle *c)
{
	const struct {
		const char *name;
		uint64_t v;
		bool always;
	} f[] = {
		{ "discovered", c->discovered, true }, { "queued", c->queued, false },
		{ "applied", c->applied, true }, { "duplicates", c->duplicates, true },
		{ "malformed", c->malformed, false }, { "retryable", c->retryable, true },
		{ "retries", c->retries, false }, { "failed", c->failed, true },
	};
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		if (i > 0)
			gw_buf_puts(out, "  ");
		if (c->detailed || f[i].always)
			gw_buf_printf(out, "%s %llu", f[i].name, (unsigned long long)f[i].v);
		else
			gw_buf_printf(out, "%s -", f[i].name);
	}
	gw_buf_puts(out, "  duration ");
	tui_render_duration(out, c->duration_ms);
}

/* One greedy pass: segments that are on, in order, each after the last
 * on its line or at the start of the next; want[i] detail columns, clipped
 * so a segment never runs past the line.  False when more than max_lines
 * lines would be needed. */
static bool
tui_flow(tui_seg *seg, size_t n, const bool *on, const size_t *want, size_t cols,
    size_t max_lines, size_t *lines)
{
	size_t line = 0, x = 0;
	bool any = false;
	for (size_t i = 0; i < n; i++) {
		seg[i].line = -1;
		seg[i].x = 0;
		seg[i].shown = 0;
		if (!on[i])
			continue;
		size_t shown = want[i];
		if (seg[i].head + shown > cols)
			shown = seg[i].head >= cols ? 0 : cols - seg[i].head;
		size_t w = seg[i].head + shown;
		if (any && x + TUI_SEG_GAP + w > cols) {
			line++;
			x = 0;
			any = false;
		}
		if (line >= max_lines)
			return false;
		seg[i].line = (int)line;
		seg[i].x = any ? x + TUI_SEG_GAP : 0;
		seg[i].shown = shown;
		x = seg[i].x + w;
		any = true;
	}
	*lines = any ? line + 1 : line;
	return true;
}

size_t
tui_render_header_layout(tui_seg *seg, size_t n, size_t cols, size_t max_lines)
{
	if (n > TUI_SEG_MAX)
		n = TUI_SEG_MAX;
	if (n == 0 || max_lines == 0) {
		for (size_t i = 0; i < n; i++)
			seg[i].line = -1;
		return 0;
	}
	bool on[TUI_SEG_MAX];
	size_t want[TUI_SEG_MAX], order[TUI_SEG_MAX], lines = 0;
	for (size_t i = 0; i < n; i++) {
		on[i] = true;
		want[i] = seg[i].detail;
		order[i] = i;
	}
	if (tui_flow(seg, n, on, want, cols, max_lines, &lines))
		return lines;
	/* details by keep, lowest first, the later segment first on a tie */
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0; j--) {
			size_t a = order[j - 1], b = order[j];
			if (seg[a].keep < seg[b].keep || (seg[a].keep == seg[b].keep && a > b))
				break;
			order[j - 1] = b;
			order[j] = a;
		}
	bool fits = false;
	for (size_t k = 0; k < n && !fits; k++) {
		want[order[k]] = 0;
		fits = tui_flow(seg, n, on, want, cols, max_lines, &lines);
	}
	/* whole segments from the end; the first always fits (clipped) */
	for (size_t i = n - 1; i > 0 && !fits; i--) {
		on[i] = false;
		fits = tui_flow(seg, n, on, want, cols, max_lines, &lines);
	}
	if (!fits)
		tui_flow(seg, n, on, want, cols, max_lines, &lines);
	/* give dropped details back what their lines have left */
	for (size_t k = n; k-- > 0;) {
		size_t i = order[k];
		if (!on[i] || seg[i].line < 0 || want[i] >= seg[i].detail)
			continue;
		size_t end = 0;
		for (size_t j = 0; j < n; j++)
			if (seg[j].line == seg[i].line && seg[j].x + seg[j].head + seg[j].shown > end)
				end = seg[j].x + seg[j].head + seg[j].shown;
		size_t spare = cols > end ? cols - end : 0, give = seg[i].detail - want[i];
		if (give > spare)
			give = spare;
		if (give < TUI_SEG_MIN_DETAIL && want[i] + give < seg[i].detail)
			continue;
		size_t old = want[i], l2;
		want[i] += give;
		if (!tui_flow(seg, n, on, want, cols, max_lines, &l2) || l2 != lines) {
			want[i] = old;
			tui_flow(seg, n, on, want, cols, max_lines, &l2);
		}
	}
	return lines;
}

/* Decodes one character at s (at most n bytes): its byte length and width. */
static size_t
tui_char(const char *s, size_t n, int *cols)
{
	mbstate_t st;
	memset(&st, 0, sizeof(st));
	wchar_t wc;
	size_t k = mbrtowc(&wc, s, n, &st);
	if (k == (size_t)-1 || k == (size_t)-2 || k == 0) {
		*cols = 1;
		return 1;
	}
	int w = wcwidth(wc);
	*cols = w < 0 ? 1 : w;
	return k;
}

size_t
tui_render_width(const char *s, size_t n)
{
	size_t cols = 0;
	for (size_t i = 0; i < n && s[i];) {
		int w;
		i += tui_char(s + i, n - i, &w);
		cols += (size_t)w;
	}
	return cols;
}

size_t
tui_render_clip(const char *s, size_t cols)
{
	size_t n = strlen(s), i = 0, used = 0;
	while (i < n) {
		int w;
		size_t k = tui_char(s + i, n - i, &w);
		if (used + (size_t)w > cols)
			break;
		used += (size_t)w;
		i += k;
	}
	return i;
}

size_t
tui_render_tail(const char *s, size_t point, size_t cols)
{
	size_t start = point, used = 0;
	while (start > 0) {
		size_t j = start - 1;
		while (j > 0 && start - j < 4 && ((unsigned char)s[j] & 0xC0) == 0x80)
			j--;
		int w;
		size_t k = tui_char(s + j, start - j, &w);
		if (k != start - j) /* not one whole character: step one byte */
			j = start - 1, w = 1;
		if (used + (size_t)w > cols)
			break;
		used += (size_t)w;
		start = j;
	}
	return start;
}

bool
tui_render_match(const char *hay, const char *needle)
{
	size_t nl = strlen(needle);
	if (nl == 0)
		return true;
	for (const char *p = hay; *p; p++)
		if (strncasecmp(p, needle, nl) == 0)
			return true;
	return false;
}

void
tui_render_oneline(gw_buf *out, const char *text)
{
	bool space = false, any = false;
	for (const char *p = text; *p; p++) {
		if (isspace((unsigned char)*p)) {
			space = any;
			continue;
		}
		if (space)
			gw_buf_putc(out, ' ');
		gw_buf_putc(out, *p);
		space = false;
		any = true;
	}
}

size_t
tui_render_find(const char *hay, size_t n, const char *needle, size_t *len)
{
	size_t nl = strlen(needle);
	*len = nl;
	if (nl == 0 || nl > n)
		return n;
	for (size_t i = 0; i + nl <= n; i++)
		if (strncasecmp(hay + i, needle, nl) == 0)
			return i;
	return n;
}

void
tui_render_sanitize(gw_buf *out, const char *s, size_t n)
{
	size_t col = 0;
	for (size_t i = 0; i < n && s[i]; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '\t') {
			do
				gw_buf_putc(out, ' ');
			while (++col % 8 != 0);
		} else if (c < 0x20 || c == 0x7f) {
			gw_buf_putc(out, '?');
			col++;
		} else {
			gw_buf_putc(out, (char)c);
			if ((c & 0xC0) != 0x80) /* a column per character, near enough for tab stops */
				col++;
		}
	}
}

size_t
tui_render_wrap_row(const char *s, size_t n, size_t cols)
{
	if (n == 0)
		return 0;
	size_t i = 0, used = 0, space = 0;
	while (i < n) {
		int w;
		size_t k = tui_char(s + i, n - i, &w);
		if (used + (size_t)w > cols)
			break;
		used += (size_t)w;
		i += k;
		/* a break point: after a word's first space, never inside a run
		 * of padding (a table's key column) */
		if (s[i - 1] == ' ' && i >= 2 && s[i - 2] != ' ')
			space = i;
	}
	if (i == n)
		return n;
	if (i == 0) { /* not even one character fits: take one anyway */
		int w;
		return tui_char(s, n, &w);
	}
	/* break after the last space when that keeps at least half the row */
	if (space > 0 && tui_render_width(s, space) * 2 >= cols)
		return space;
	return i;
}

size_t
tui_render_skip(const char *s, size_t n, size_t cols)
{
	size_t i = 0, used = 0;
	while (i < n && used < cols) {
		int w;
		i += tui_char(s + i, n - i, &w);
		used += (size_t)w;
	}
	return i;
}

/* A key of a "key=value" field: letters, digits, '_', '.', '-'. */
static size_t
tui_kv_key(const char *p)
{
	size_t k = 0;
	while (isalnum((unsigned char)p[k]) || p[k] == '_' || p[k] == '.' || p[k] == '-')
		k++;
	return p[k] == '=' ? k : 0;
}

bool
tui_render_kv_table(gw_buf *out, const char *line, size_t min_fields)
{
	const char *colon = strstr(line, ": ");
	if (colon == NULL || strchr(line, '\n') != NULL)
		return false;
	/* fields start at the line start after "head: " and after each space
	 * that a key follows; a space not followed by a key belongs to the value */
	const char *body = colon + 2;
	size_t nf = 0, keyw = 0;
	for (const char *p = body; *p; p++) {
		if (p != body && p[-1] != ' ')
			continue;
		size_t k = tui_kv_key(p);
		if (k == 0) {
			if (p == body)
				return false;
			continue;
		}
		nf++;
		if (k > keyw)
			keyw = k;
	}
	if (nf < min_fields)
		return false;
	gw_buf_printf(out, "%.*s\n", (int)(colon - line), line);
	for (const char *p = body; *p;) {
		size_t k = tui_kv_key(p);
		const char *v = p + k + 1, *e = v;
		for (;;) {
			e += strcspn(e, " ");
			if (*e == '\0' || tui_kv_key(e + 1) > 0)
				break;
			e++;
		}
		gw_buf_printf(out, "%-*.*s  %.*s\n", (int)keyw, (int)k, p, (int)(e - v), v);
		p = *e ? e + 1 : e;
	}
	return true;
}

size_t
tui_render_hang(const char *s, size_t n, size_t cols)
{
	size_t lead = 0;
	while (lead < n && s[lead] == ' ')
		lead++;
	size_t hang = lead + 2;
	/* "key  value": the value's column */
	for (size_t i = lead; i + 1 < n; i++) {
		if (s[i] == ' ' && s[i + 1] == ' ') {
			size_t j = i;
			while (j < n && s[j] == ' ')
				j++;
			if (j < n)
				hang = tui_render_width(s, j);
			break;
		}
	}
	return hang > cols / 2 ? cols / 2 : hang;
}
