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
		snprintf(out->reasons, sizeof(out->reasons), "%.*s", (int)(n > 80 ? 80 : n), line);
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
		tui_add_reason(out->reasons, sizeof(out->reasons), gw_json_str(v, "rollout_reason_code"));
		const cJSON *codes = cJSON_GetObjectItemCaseSensitive(v, "reason_codes");
		const cJSON *c;
		cJSON_ArrayForEach(c, codes)
			if (cJSON_IsString(c))
				tui_add_reason(out->reasons, sizeof(out->reasons), c->valuestring);
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
		tui_add_reason(out->reasons, sizeof(out->reasons), gw_json_str(v, "reason"));
	} else {
		snprintf(out->gate, sizeof(out->gate), "-");
		const char *r = gw_json_str(v, "reason");
		tui_add_reason(out->reasons, sizeof(out->reasons), r ? r : gw_json_str(v, "corrupt_path"));
	}
	cJSON_Delete(v);
}

void
tui_render_event_line(gw_buf *out, const tui_event_sum *e)
{
	tui_render_clock(out, e->unix_ms);
	gw_buf_printf(out, "  %-15s %-14s %s", e->kind, e->gate, e->reasons);
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
