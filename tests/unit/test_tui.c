/*
 * test_tui.c - the console's pure logic: gauges, line formatting (the
 * Replicas panel's rows and error rates included), width
 * clipping, the key table and the prompt-word translation.  The word
 * checks walk the word table, so a word added there is checked too: every
 * word translates, only quit (and its alias exit) leaves, and the
 * unknown-word message lists exactly the table's words.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <ncurses.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "tui/tui_cmd.h"
#include "tui/tui_keys.h"
#include "tui/tui_render.h"

static void
test_gauge_fill(void **state)
{
	(void)state;
	assert_int_equal(tui_render_gauge_fill(0, 2, 40), 0);
	assert_int_equal(tui_render_gauge_fill(1, 2, 40), 20);
	assert_int_equal(tui_render_gauge_fill(2, 2, 40), 40);
	assert_int_equal(tui_render_gauge_fill(9, 2, 40), 40);
	/* a tiny value still shows, and only a reached threshold fills the bar */
	assert_int_equal(tui_render_gauge_fill(1, 1000, 40), 1);
	assert_int_equal(tui_render_gauge_fill(999, 1000, 40), 39);
	/* limit 0 counts as 1 */
	assert_int_equal(tui_render_gauge_fill(1, 0, 10), 10);
	assert_int_equal(tui_render_gauge_fill(5, 10, 0), 0);
	assert_int_equal(tui_render_gauge_fill(UINT64_MAX - 1, UINT64_MAX, 40), 39);
}

static void
test_gauge_level(void **state)
{
	(void)state;
	assert_int_equal(tui_render_gauge_level(0, 2), TUI_LEVEL_OK);
	assert_int_equal(tui_render_gauge_level(1, 2), TUI_LEVEL_WARN);
	assert_int_equal(tui_render_gauge_level(2, 2), TUI_LEVEL_OVER);
	assert_int_equal(tui_render_gauge_level(3, 2), TUI_LEVEL_OVER);
	assert_int_equal(tui_render_gauge_level(0, 0), TUI_LEVEL_OK);
	assert_int_equal(tui_render_gauge_level(1, 0), TUI_LEVEL_OVER);
}

static void
test_gauge_text(void **state)
{
	(void)state;
	gw_buf b = GW_BUF_INIT;
	tui_render_gauge(&b, 1, 4, 8, "#", ".");
	assert_string_equal(gw_buf_cstr(&b), "##...... 1/4");
	gw_buf_reset(&b);
	tui_render_gauge(&b, 3, 0, 4, "\u2588", "\u2591");
	assert_string_equal(gw_buf_cstr(&b), "\u2588\u2588\u2588\u2588 3/1");
	gw_buf_free(&b);
}

/* The panel's sparkline: zero is blank, any non-zero value at least the
 * lowest level, the maximum the full block; ASCII under NO_COLOR/dumb. */
static void
test_spark(void **state)
{
	(void)state;
	gw_buf b = GW_BUF_INIT;
	uint32_t v[] = { 0, 1, 4, 8, 1000, 0 };
	tui_render_spark(&b, v, 6, true);
	assert_string_equal(gw_buf_cstr(&b), " ...@ ");
	gw_buf_reset(&b);
	uint32_t w[] = { 0, 1, 2, 3, 4, 5, 6, 7, 8 };
	tui_render_spark(&b, w, 9, true);
	assert_string_equal(gw_buf_cstr(&b), " .:-=+*#@");
	gw_buf_reset(&b);
	tui_render_spark(&b, w, 9, false);
	assert_string_equal(gw_buf_cstr(&b),
	    " \u2581\u2582\u2583\u2584\u2585\u2586\u2587\u2588");
	gw_buf_reset(&b);
	uint32_t z[] = { 0, 0 };
	tui_render_spark(&b, z, 2, false);
	assert_string_equal(gw_buf_cstr(&b), "  ");
	gw_buf_reset(&b);
	uint32_t big[] = { UINT32_MAX, 1 };
	tui_render_spark(&b, big, 2, true);
	assert_string_equal(gw_buf_cstr(&b), "@.");
	gw_buf_free(&b);
}

/* Latency: microseconds below 1 ms, one decimal below 10 ms. */
static void
test_us(void **state)
{
	(void)state;
	struct {
		uint64_t us;
		bool ascii;
		const char *text;
	} cases[] = { { 0, false, "0 \u00b5s" }, { 850, false, "850 \u00b5s" }, { 999, true, "999 us" },
		{ 1000, false, "1.0 ms" }, { 2549, false, "2.5 ms" }, { 10000, true, "10 ms" },
		{ 999999, false, "999 ms" }, { 1500000, false, "1.5 s" } };
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		gw_buf b = GW_BUF_INIT;
		tui_render_us(&b, cases[i].us, cases[i].ascii);
		assert_string_equal(gw_buf_cstr(&b), cases[i].text);
		gw_buf_free(&b);
	}
}

/* A request row: client, status, latency, model (the target, else the
 * served model on a model route, else "-") and response id. */
static void
test_request_row(void **state)
{
	(void)state;
	srv_recent r;
	memset(&r, 0, sizeof(r));
	snprintf(r.method, sizeof(r.method), "POST");
	snprintf(r.path, sizeof(r.path), "/v1/responses");
	snprintf(r.client, sizeof(r.client), "10.0.0.7");
	snprintf(r.resp_id, sizeof(r.resp_id), "resp_abc");
	r.status = 200;
	r.duration_us = 420;
	gw_buf b = GW_BUF_INIT;
	tui_render_request(&b, &r, "local/echo", true);
	assert_string_equal(gw_buf_cstr(&b),
	    "--:--:--  10.0.0.7        200  420 us    local/echo       resp_abc                             "
	    "  POST /v1/responses");
	gw_buf_reset(&b);
	snprintf(r.target, sizeof(r.target), "openai/gpt-x");
	if (setlocale(LC_CTYPE, "C.UTF-8") != NULL) { /* the micro sign is one column */
		tui_render_request(&b, &r, "local/echo", false);
		assert_non_null(strstr(gw_buf_cstr(&b), "420 \u00b5s    openai/gpt-x     resp_abc "));
		setlocale(LC_CTYPE, "C");
	}
	gw_buf_reset(&b);
	memset(&r, 0, sizeof(r));
	snprintf(r.method, sizeof(r.method), "GET");
	snprintf(r.path, sizeof(r.path), "/gateway/status");
	r.status = 401;
	r.duration_us = 12000;
	tui_render_request(&b, &r, "local/echo", true);
	assert_string_equal(gw_buf_cstr(&b),
	    "--:--:--  -               401  12 ms     -                -                                    "
	    "  GET /gateway/status");
	gw_buf_free(&b);
}

/* Monochrome bars tell the level by their characters: a breached bar is
 * all '#', the fullest-looking; a used one '=' and free cells '.'. */
static void
test_gauge_glyphs(void **state)
{
	(void)state;
	const char *full, *empty;
	tui_render_gauge_glyphs(TUI_LEVEL_OVER, false, &full, &empty);
	assert_string_equal(full, "#");
	assert_string_equal(empty, ".");
	tui_render_gauge_glyphs(TUI_LEVEL_WARN, false, &full, &empty);
	assert_string_equal(full, "=");
	assert_string_equal(empty, ".");
	tui_render_gauge_glyphs(TUI_LEVEL_OK, false, &full, &empty);
	assert_string_equal(full, "=");
	tui_render_gauge_glyphs(TUI_LEVEL_OVER, true, &full, &empty);
	assert_string_equal(full, "\u2588");
	assert_string_equal(empty, "\u2591");
}

static void
test_duration(void **state)
{
	(void)state;
	struct {
		uint64_t ms;
		const char *text;
	} cases[] = { { 0, "0 ms" }, { 999, "999 ms" }, { 1000, "1.0 s" }, { 1250, "1.2 s" },
		{ 59999, "59.9 s" }, { 60000, "1m00s" }, { 125000, "2m05s" }, { 3600000, "1h00m" },
		{ 11220000, "3h07m" } };
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		gw_buf b = GW_BUF_INIT;
		tui_render_duration(&b, cases[i].ms);
		assert_string_equal(gw_buf_cstr(&b), cases[i].text);
		gw_buf_free(&b);
	}
	gw_buf b = GW_BUF_INIT;
	tui_render_clock(&b, 0);
	assert_string_equal(gw_buf_cstr(&b), "--:--:--");
	gw_buf_reset(&b);
	tui_render_clock(&b, 1700000000123ULL);
	assert_int_equal(b.len, 8);
	assert_true(b.data[2] == ':' && b.data[5] == ':');
	gw_buf_free(&b);
}

/* Times: the date when not today, ages in their largest unit, when an age
 * next changes, and ISO 8601 beside unix ms in the detail.  (TZ is UTC:
 * main sets it.) */
static void
test_times(void **state)
{
	(void)state;
	const uint64_t now = 1796243822123ULL; /* 2026-12-02T20:37:02.123Z */
	gw_buf b = GW_BUF_INIT;
	tui_render_when(&b, now - 5000, now);
	assert_string_equal(gw_buf_cstr(&b), "20:36:57");
	gw_buf_reset(&b);
	tui_render_when(&b, now - 86400000ULL, now); /* yesterday */
	assert_string_equal(gw_buf_cstr(&b), "12-01 20:37");
	gw_buf_reset(&b);
	tui_render_when(&b, now - 400 * 86400000ULL, now); /* another year */
	assert_string_equal(gw_buf_cstr(&b), "2025-10-28");
	gw_buf_reset(&b);
	tui_render_when(&b, 0, now);
	assert_string_equal(gw_buf_cstr(&b), "--:--:--");
	assert_true(strlen("12-01 20:37") <= TUI_WHEN_COLS);

	struct {
		uint64_t age;
		const char *text;
		uint64_t due;
	} ages[] = { { 0, "0s", 1000 }, { 5400, "5s", 600 }, { 59999, "59s", 1 },
		{ 60000, "1m", 60000 }, { 3 * 60000 + 1500, "3m", 58500 },
		{ 2 * 3600000ULL + 5, "2h", 3600000ULL - 5 }, { 4 * 86400000ULL, "4d", 86400000ULL } };
	for (size_t i = 0; i < sizeof(ages) / sizeof(ages[0]); i++) {
		gw_buf_reset(&b);
		tui_render_age(&b, now - ages[i].age, now);
		assert_string_equal(gw_buf_cstr(&b), ages[i].text);
		assert_int_equal(tui_render_age_due(now - ages[i].age, now), ages[i].due);
	}
	gw_buf_reset(&b);
	tui_render_age(&b, now + 3000, now); /* a clock behind the writer's */
	assert_string_equal(gw_buf_cstr(&b), "0s");
	assert_int_equal(tui_render_age_due(now + 3000, now), 4000);
	gw_buf_reset(&b);
	tui_render_age(&b, 0, now);
	assert_string_equal(gw_buf_cstr(&b), "-");
	assert_true(tui_render_age_due(0, now) == UINT64_MAX);

	gw_buf_reset(&b);
	tui_render_iso8601(&b, now);
	assert_string_equal(gw_buf_cstr(&b), "2026-12-02T20:37:02.123+00:00");
	gw_buf_reset(&b);
	tui_render_annotate_times(&b,
	    "{\n  \"timestamp_unix_ms\": 1796243822123,\n  \"kind\": \"cycle\",\n"
	    "  \"x_unix_ms\": 0,\n  \"last_unix_ms\": 1796243822000\n}");
	assert_string_equal(gw_buf_cstr(&b),
	    "{\n  \"timestamp_unix_ms\": 1796243822123,  (2026-12-02T20:37:02.123+00:00)\n"
	    "  \"kind\": \"cycle\",\n  \"x_unix_ms\": 0,\n"
	    "  \"last_unix_ms\": 1796243822000  (2026-12-02T20:37:02.000+00:00)\n}");
	gw_buf_free(&b);
}

/* One meaning per status word, wherever it is shown. */
static void
test_word_level(void **state)
{
	(void)state;
	assert_int_equal(tui_render_word_level("HOLD"), TUI_LEVEL_OVER);
	assert_int_equal(tui_render_word_level("STOPPED"), TUI_LEVEL_OVER);
	assert_int_equal(tui_render_word_level("stop"), TUI_LEVEL_OVER);
	assert_int_equal(tui_render_word_level("failing"), TUI_LEVEL_OVER);
	assert_int_equal(tui_render_word_level("degraded"), TUI_LEVEL_WARN);
	assert_int_equal(tui_render_word_level("PASS"), TUI_LEVEL_OK);
	assert_int_equal(tui_render_word_level("RUNNING"), TUI_LEVEL_OK);
	assert_int_equal(tui_render_word_level("healthy"), TUI_LEVEL_OK);
	assert_int_equal(tui_render_word_level("-"), TUI_LEVEL_PLAIN);
	assert_int_equal(tui_render_word_level("hold"), TUI_LEVEL_PLAIN);
}

/* The header wraps by priority: whole when it fits, then details go
 * (lowest keep first), then whole segments from the end; dropped details
 * come back clipped where their line has room. */
static void
test_header_layout(void **state)
{
	(void)state;
	/* Service STOPPED (last stop: maintenance_window), Rollout HOLD
	 * service_stopped, Health degraded, Server 127.0.0.1:41609 0 req */
	const tui_seg base[] = { { 15, 32, 1, 0, 0, 0 }, { 12, 16, 3, 0, 0, 0 },
		{ 15, 0, 0, 0, 0, 0 }, { 22, 6, 2, 0, 0, 0 } };
	tui_seg s[4];

	memcpy(s, base, sizeof(s));
	assert_int_equal(tui_render_header_layout(s, 3, 119, 2), 1); /* one line, whole */
	assert_int_equal(s[1].x, 47 + 3);
	assert_int_equal(s[2].x, 47 + 3 + 28 + 3);
	assert_int_equal(s[2].line, 0);
	assert_int_equal(s[0].shown, 32);

	memcpy(s, base, sizeof(s));
	assert_int_equal(tui_render_header_layout(s, 3, 79, 2), 2); /* wraps, nothing cut */
	assert_int_equal(s[0].line, 0);
	assert_int_equal(s[1].line, 0);
	assert_int_equal(s[2].line, 1);
	assert_int_equal(s[2].x, 0);
	assert_int_equal(s[0].shown + s[1].shown, 48);

	/* 40 columns, two lines: the service's detail goes first, then the
	 * gate's, which comes back clipped to what its line leaves */
	memcpy(s, base, sizeof(s));
	assert_int_equal(tui_render_header_layout(s, 3, 39, 2), 2);
	assert_int_equal(s[0].line, 0);
	assert_int_equal(s[1].line, 0);
	assert_int_equal(s[2].line, 1);
	assert_int_equal(s[1].shown, 39 - 30);
	assert_int_equal(s[0].shown, 0);

	/* three lines at 40 columns: everything whole but the service's detail */
	memcpy(s, base, sizeof(s));
	assert_int_equal(tui_render_header_layout(s, 3, 39, 3), 3);
	assert_int_equal(s[0].shown, 39 - 15);
	assert_int_equal(s[1].shown, 16);
	assert_int_equal(s[2].line, 2);

	/* with the server: all four shown on three lines */
	memcpy(s, base, sizeof(s));
	assert_int_equal(tui_render_header_layout(s, 4, 39, 3), 3);
	for (size_t i = 0; i < 4; i++)
		assert_true(s[i].line >= 0);
	/* too narrow for all: the lowest priority goes, never the first */
	memcpy(s, base, sizeof(s));
	assert_int_equal(tui_render_header_layout(s, 4, 20, 2), 2);
	assert_int_equal(s[0].line, 0);
	assert_int_equal(s[1].line, 1);
	assert_int_equal(s[2].line, -1);
	assert_int_equal(s[3].line, -1);
	/* a head wider than the line is clipped, not dropped */
	memcpy(s, base, sizeof(s));
	assert_int_equal(tui_render_header_layout(s, 1, 10, 1), 1);
	assert_int_equal(s[0].line, 0);
	assert_int_equal(s[0].shown, 0);
	assert_int_equal(tui_render_header_layout(s, 0, 10, 1), 0);
}

static const char cycle_line[] =
    "{\"timestamp_unix_ms\":0,\"kind\":\"cycle\",\"health_state\":\"degraded\","
    "\"rollout_gate\":\"hold\",\"rollout_reason_code\":\"malformed_input_observed\","
    "\"reason_codes\":[\"malformed_inputs_observed\",\"retry_attempted\"],"
    "\"discovered_cases\":3,\"queued_cases\":3,\"applied_cases\":1,\"duplicate_skips\":0,"
    "\"malformed_cases\":1,\"retryable_failures\":1,\"retry_attempts\":3,\"failed_cases\":1,"
    "\"cycle_duration_ms\":1250,\"fixture\":\"gateway-mixed-outcomes\"}";

static void
test_event_cycle(void **state)
{
	(void)state;
	tui_event_sum e;
	tui_render_event_parse(cycle_line, strlen(cycle_line), &e);
	assert_true(e.valid);
	assert_true(e.is_cycle);
	assert_string_equal(e.kind, "cycle");
	assert_string_equal(e.gate, "HOLD");
	/* the rollout reason and the cycle's reason codes are apart */
	assert_string_equal(e.reason, "malformed_input_observed");
	assert_string_equal(e.codes, "malformed_inputs_observed,retry_attempted");
	assert_int_equal(e.cycle.discovered, 3);
	assert_int_equal(e.cycle.retries, 3);
	assert_int_equal(e.cycle.duration_ms, 1250);
	assert_string_equal(e.cycle.fixture, "gateway-mixed-outcomes");

	gw_buf b = GW_BUF_INIT;
	/* NULL: the widest kinds and transitions known */
	tui_render_event_line(&b, &e, NULL, 1700000000000ULL);
	assert_string_equal(gw_buf_cstr(&b),
	    "--:--:--        -  cycle           HOLD             malformed_input_observed   "
	    "malformed_inputs_observed,retry_attempted");
	gw_buf_reset(&b);
	tui_render_event_head(&b, NULL);
	assert_string_equal(gw_buf_cstr(&b),
	    "TIME          AGE  KIND            GATE             REASON                     CODES");
	assert_memory_equal(b.data + tui_render_event_gate_at(NULL), "GATE", 4);

	/* fitted to the rows in view: the codes get what the columns leave */
	const char *lc = "{\"kind\":\"lifecycle\",\"transition\":\"start\",\"reason\":\"a_long_operator_reason_with_no_codes\"}";
	tui_event_sum l;
	tui_render_event_parse(lc, strlen(lc), &l);
	tui_event_cols c = TUI_EVENT_COLS_HEADS;
	tui_render_event_fit(&c, &e);
	tui_render_event_fit(&c, &l);
	assert_int_equal(c.kind, 9);   /* "lifecycle" */
	assert_int_equal(c.gate, 5);   /* "start" */
	assert_int_equal(c.reason, 24); /* a reason with no codes after it sets no width */
	gw_buf_reset(&b);
	tui_render_event_head(&b, &c);
	assert_string_equal(gw_buf_cstr(&b),
	    "TIME          AGE  KIND      GATE  REASON                   CODES");
	assert_memory_equal(b.data + tui_render_event_gate_at(&c), "GATE", 4);
	gw_buf_reset(&b);
	tui_render_event_line(&b, &e, &c, 0);
	assert_string_equal(gw_buf_cstr(&b),
	    "--:--:--        -  cycle     HOLD  malformed_input_observed malformed_inputs_observed,retry_attempted");
	assert_memory_equal(b.data + tui_render_event_gate_at(&c), "HOLD", 4);
	gw_buf_reset(&b);
	tui_render_event_line(&b, &l, &c, 0);
	assert_string_equal(gw_buf_cstr(&b),
	    "--:--:--        -  lifecycle start a_long_operator_reason_with_no_codes");
	/* the reason column stops at TUI_EVENT_REASON_MAX: wider reasons are
	 * clipped when codes follow ... */
	snprintf(l.reason, sizeof(l.reason), "a_reason_much_wider_than_its_column");
	snprintf(l.codes, sizeof(l.codes), "x");
	tui_render_event_fit(&c, &l);
	assert_int_equal(c.reason, TUI_EVENT_REASON_MAX);
	gw_buf_reset(&b);
	tui_render_event_line(&b, &l, &c, 0);
	assert_non_null(strstr(gw_buf_cstr(&b), " a_reason_much_wider_than_~ x"));
	/* ... and shown whole when nothing follows */
	l.codes[0] = '\0';
	gw_buf_reset(&b);
	tui_render_event_line(&b, &l, &c, 0);
	assert_non_null(strstr(gw_buf_cstr(&b), " a_reason_much_wider_than_its_column"));
	gw_buf_reset(&b);
	tui_render_cycle(&b, &e.cycle);
	assert_string_equal(gw_buf_cstr(&b),
	    "discovered 3  queued 3  applied 1  duplicates 0  malformed 1  retryable 1  retries 3  failed 1  duration 1.2 s");
	/* from state.json: the counters it lacks show as '-' */
	e.cycle.detailed = false;
	gw_buf_reset(&b);
	tui_render_cycle(&b, &e.cycle);
	assert_string_equal(gw_buf_cstr(&b),
	    "discovered 3  queued -  applied 1  duplicates 0  malformed -  retryable 1  retries -  failed 1  duration 1.2 s");
	gw_buf_free(&b);
}

static void
test_event_other(void **state)
{
	(void)state;
	const char *lc = "{\"timestamp_unix_ms\":0,\"kind\":\"lifecycle\",\"transition\":\"stop\","
	    "\"service_status\":\"stopped\",\"reason\":\"maintenance_window\",\"startup_attempts\":1}";
	tui_event_sum e;
	tui_render_event_parse(lc, strlen(lc), &e);
	assert_false(e.is_cycle);
	assert_string_equal(e.kind, "lifecycle");
	assert_string_equal(e.gate, "stop");
	assert_string_equal(e.reason, "maintenance_window");
	assert_string_equal(e.codes, "");
	/* the longest transition fits its column whole */
	const char *us = "{\"kind\":\"lifecycle\",\"transition\":\"unclean_shutdown\",\"reason\":\"r\"}";
	tui_render_event_parse(us, strlen(us), &e);
	assert_string_equal(e.gate, "unclean_shutdown");
	gw_buf b = GW_BUF_INIT;
	tui_render_event_line(&b, &e, NULL, 0);
	assert_memory_equal(b.data + tui_render_event_gate_at(NULL), "unclean_shutdown r", 18);
	gw_buf_free(&b);

	const char *bad = "{not json";
	tui_render_event_parse(bad, strlen(bad), &e);
	assert_false(e.valid);
	assert_string_equal(e.kind, "invalid");
	assert_string_equal(e.reason, "{not json");

	/* a line without "kind" is a cycle line (older logs) */
	const char *old = "{\"rollout_gate\":\"pass\",\"rollout_reason_code\":\"guardrail_checks_passing\"}";
	tui_render_event_parse(old, strlen(old), &e);
	assert_true(e.is_cycle);
	assert_string_equal(e.gate, "PASS");
	/* only n bytes are read */
	tui_render_event_parse(lc, 10, &e);
	assert_false(e.valid);
}

static void
test_width_clip(void **state)
{
	(void)state;
	assert_int_equal(tui_render_width("abc", 3), 3);
	assert_int_equal(tui_render_clip("abcdef", 4), 4);
	assert_int_equal(tui_render_clip("ab", 10), 2);
	if (setlocale(LC_CTYPE, "C.UTF-8") != NULL) {
		const char *bar = "\u2588\u2588\u2591"; /* 3 columns, 9 bytes */
		assert_int_equal(tui_render_width(bar, strlen(bar)), 3);
		assert_int_equal(tui_render_clip(bar, 2), 6);
		assert_int_equal(tui_render_clip(bar, 0), 0);
		const char *wide = "a\u4e2d"; /* a CJK character is 2 columns wide */
		assert_int_equal(tui_render_width(wide, strlen(wide)), 3);
		assert_int_equal(tui_render_clip(wide, 2), 1); /* never half a character */
		setlocale(LC_CTYPE, "C");
	}
	/* invalid bytes count one column each */
	assert_int_equal(tui_render_width("\xff\xfe", 2), 2);
	/* the prompt's horizontal scroll: the window that ends at the cursor */
	size_t big = 100000;
	char *line = malloc(big + 1);
	memset(line, 'a', big);
	line[big] = '\0';
	assert_int_equal(tui_render_tail(line, big, 10), big - 10);
	assert_int_equal(tui_render_tail(line, 5, 10), 0);
	assert_int_equal(tui_render_tail(line, big, 0), big);
	free(line);
	if (setlocale(LC_CTYPE, "C.UTF-8") != NULL) {
		const char *wide = "ab\u4e2d\u4e2dc"; /* 2 + 2x2 + 1 columns, 9 bytes */
		assert_int_equal(tui_render_tail(wide, 9, 3), 5); /* one CJK + c */
		assert_int_equal(tui_render_tail(wide, 9, 4), 5); /* never half a character */
		assert_int_equal(tui_render_tail(wide, 8, 4), 2);
		setlocale(LC_CTYPE, "C");
	}
}

static void
test_match_oneline(void **state)
{
	(void)state;
	assert_true(tui_render_match("lifecycle stop", ""));
	assert_true(tui_render_match("Malformed_Input", "malformed"));
	assert_false(tui_render_match("pass", "hold"));
	gw_buf b = GW_BUF_INIT;
	tui_render_oneline(&b, "{\n  \"a\": 1,\n  \"b\":  2\n}\n");
	assert_string_equal(gw_buf_cstr(&b), "{ \"a\": 1, \"b\": 2 }");
	gw_buf_reset(&b);
	tui_render_oneline(&b, " \n\t ");
	assert_string_equal(gw_buf_cstr(&b), "");
	gw_buf_free(&b);
}

static void
test_key_table(void **state)
{
	(void)state;
	size_t n;
	const tui_key *k = tui_keys_table(&n);
	assert_true(n >= 15);
	gw_buf help = GW_BUF_INIT;
	tui_keys_help(&help);
	for (size_t i = 0; i < n; i++) {
		assert_non_null(k[i].label);
		assert_non_null(k[i].help);
		assert_int_not_equal(k[i].cmd, TUI_CMD_NONE);
		assert_int_not_equal(k[i].codes[0], 0);
		/* every code dispatches to its row: no code is bound twice */
		for (size_t j = 0; j < TUI_KEY_CODES && k[i].codes[j]; j++)
			assert_int_equal(tui_keys_lookup(k[i].codes[j]), k[i].cmd);
		/* the generated help lists every binding */
		assert_non_null(strstr(gw_buf_cstr(&help), k[i].label));
		assert_non_null(strstr(gw_buf_cstr(&help), k[i].help));
		assert_true((k[i].bar_key == NULL) == (k[i].bar_name == NULL));
	}
	gw_buf_free(&help);
	/* the bindings the issue names */
	assert_int_equal(tui_keys_lookup('?'), TUI_CMD_HELP);
	assert_int_equal(tui_keys_lookup(KEY_F(1)), TUI_CMD_HELP);
	assert_int_equal(tui_keys_lookup(':'), TUI_CMD_PROMPT);
	assert_int_equal(tui_keys_lookup('/'), TUI_CMD_FILTER);
	assert_int_equal(tui_keys_lookup('s'), TUI_CMD_START);
	assert_int_equal(tui_keys_lookup('S'), TUI_CMD_STOP);
	assert_int_equal(tui_keys_lookup('r'), TUI_CMD_RUN);
	assert_int_equal(tui_keys_lookup('w'), TUI_CMD_SERVE);
	assert_int_equal(tui_keys_lookup('L'), TUI_CMD_LOG);
	assert_int_equal(tui_keys_lookup('j'), TUI_CMD_DOWN);
	assert_int_equal(tui_keys_lookup(KEY_UP), TUI_CMD_UP);
	assert_int_equal(tui_keys_lookup(KEY_NPAGE), TUI_CMD_PAGE_DOWN);
	assert_int_equal(tui_keys_lookup(KEY_PPAGE), TUI_CMD_PAGE_UP);
	assert_int_equal(tui_keys_lookup('g'), TUI_CMD_TOP);
	assert_int_equal(tui_keys_lookup('G'), TUI_CMD_BOTTOM);
	assert_int_equal(tui_keys_lookup('\n'), TUI_CMD_DETAIL);
	assert_int_equal(tui_keys_lookup('l' & 0x1f), TUI_CMD_REDRAW);
	assert_int_equal(tui_keys_lookup('q'), TUI_CMD_QUIT);
	assert_int_equal(tui_keys_lookup('n'), TUI_CMD_NEXT_MATCH);
	assert_int_equal(tui_keys_lookup('N'), TUI_CMD_PREV_MATCH);
	assert_int_equal(tui_keys_lookup(KEY_LEFT), TUI_CMD_LEFT);
	assert_int_equal(tui_keys_lookup('l'), TUI_CMD_RIGHT);
	assert_int_equal(tui_keys_lookup('W'), TUI_CMD_WRAP);
	assert_int_equal(tui_keys_lookup(KEY_F(10)), TUI_CMD_QUIT);
	assert_int_equal(tui_keys_lookup('Z'), TUI_CMD_NONE);
}

/* Translates line and checks the argv after "tau-gateway". */
static void
expect_flags(const char *line, const char *const *want, size_t n)
{
	tui_line l;
	gw_err err;
	gw_err_clear(&err);
	assert_int_equal(tui_cmd_translate(line, "fx/default.json", &l, &err), 0);
	assert_int_equal(l.kind, TUI_LINE_FLAGS);
	assert_int_equal(l.argc, (int)n + 1);
	assert_string_equal(l.argv[0], "tau-gateway");
	for (size_t i = 0; i < n; i++)
		assert_string_equal(l.argv[i + 1], want[i]);
	assert_null(l.argv[n + 1]);
	tui_line_free(&l);
}

static void
test_cmd_words(void **state)
{
	(void)state;
	expect_flags("start", (const char *[]){ "--gateway-service-start" }, 1);
	expect_flags("stop", (const char *[]){ "--gateway-service-stop" }, 1);
	expect_flags("  stop  drain   window ", (const char *[]){ "--gateway-service-stop",
	    "--gateway-service-stop-reason", "drain window" }, 3);
	expect_flags("stop 'two  spaces'", (const char *[]){ "--gateway-service-stop",
	    "--gateway-service-stop-reason", "two  spaces" }, 3);
	expect_flags("status", (const char *[]){ "--gateway-service-status" }, 1);
	expect_flags("run", (const char *[]){ "--gateway-contract-runner", "--gateway-fixture",
	    "fx/default.json" }, 3);
	expect_flags("run 'a b.json'", (const char *[]){ "--gateway-contract-runner",
	    "--gateway-fixture", "a b.json" }, 3);
	expect_flags("health", (const char *[]){ "--transport-health-inspect", "gateway" }, 2);
	expect_flags("inspect ops-bot", (const char *[]){ "--channel-store-inspect", "gateway/ops-bot" }, 2);
	expect_flags("inspect gateway/x", (const char *[]){ "--channel-store-inspect", "gateway/x" }, 2);
	expect_flags("--gateway-service-stop --gateway-service-stop-reason maintenance_window",
	    (const char *[]){ "--gateway-service-stop", "--gateway-service-stop-reason",
	    "maintenance_window" }, 3);

	tui_line l;
	gw_err err;
	assert_int_equal(tui_cmd_translate("serve", NULL, &l, &err), 0);
	assert_int_equal(l.kind, TUI_LINE_SERVE);
	assert_null(l.arg);
	tui_line_free(&l);
	assert_int_equal(tui_cmd_translate("serve 127.0.0.1:0", NULL, &l, &err), 0);
	assert_string_equal(l.arg, "127.0.0.1:0");
	tui_line_free(&l);
	assert_int_equal(tui_cmd_translate("unserve", NULL, &l, &err), 0);
	assert_int_equal(l.kind, TUI_LINE_UNSERVE);
	tui_line_free(&l);
	assert_int_equal(tui_cmd_translate("reload", NULL, &l, &err), 0);
	assert_int_equal(l.kind, TUI_LINE_RELOAD);
	tui_line_free(&l);
	assert_int_equal(tui_cmd_translate("help", NULL, &l, &err), 0);
	assert_int_equal(l.kind, TUI_LINE_HELP);
	tui_line_free(&l);
	assert_int_equal(tui_cmd_translate("quit", NULL, &l, &err), 0);
	assert_int_equal(l.kind, TUI_LINE_QUIT);
	tui_line_free(&l);
	assert_int_equal(tui_cmd_translate("   ", NULL, &l, &err), 0);
	assert_int_equal(l.kind, TUI_LINE_EMPTY);
	tui_line_free(&l);
}

static void
test_cmd_errors(void **state)
{
	(void)state;
	struct {
		const char *line, *msg;
	} cases[] = {
		{ "bogus", "unknown command 'bogus'" },
		{ "start now", "usage: start" },
		{ "run a b", "usage: run [fixture]" },
		{ "inspect", "usage: inspect <actor>" },
		{ "inspect a b", "usage: inspect <actor>" },
		{ "stop 'unterminated", "unterminated ' quote" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		tui_line l;
		gw_err err;
		gw_err_clear(&err);
		assert_int_equal(tui_cmd_translate(cases[i].line, "x", &l, &err), -EINVAL);
		assert_int_equal(err.exit_code, GW_EXIT_USAGE);
		assert_non_null(strstr(err.msg, cases[i].msg));
		assert_null(l.argv);
	}
	size_t n;
	const tui_word *w = tui_cmd_words(&n);
	/* the runbook's words are all in the table */
	static const char *const runbook[] = { "start", "stop", "status", "run", "serve",
		"unserve", "reload", "health", "inspect", "help", "quit" };
	for (size_t k = 0; k < sizeof(runbook) / sizeof(runbook[0]); k++) {
		size_t i = 0;
		while (i < n && strcmp(w[i].name, runbook[k]) != 0)
			i++;
		assert_true(i < n);
	}
	gw_buf help = GW_BUF_INIT;
	tui_cmd_help(&help);
	for (size_t i = 0; i < n; i++)
		assert_non_null(strstr(gw_buf_cstr(&help), w[i].name));
	gw_buf_free(&help);
}

/* Translates line; returns its kind, or -1 when it was refused. */
static int
kind_of(const char *line)
{
	tui_line l;
	gw_err err;
	gw_err_clear(&err);
	if (tui_cmd_translate(line, "fx/default.json", &l, &err) != 0)
		return -1;
	int kind = (int)l.kind;
	tui_line_free(&l);
	return kind;
}

static void
test_cmd_every_word(void **state)
{
	(void)state;
	size_t n;
	const tui_word *w = tui_cmd_words(&n);
	assert_true(n > 0);
	for (size_t i = 0; i < n; i++) {
		/* with as many arguments as it requires, and with as many as it takes */
		char line[64];
		snprintf(line, sizeof(line), "%s%s", w[i].name, w[i].min_args > 0 ? " x" : "");
		int kind = kind_of(line);
		if (w[i].max_args != 0) {
			char longer[64];
			snprintf(longer, sizeof(longer), "%s x", w[i].name);
			assert_int_equal(kind_of(longer), kind);
		}
		if (kind < 0)
			print_error("table word '%s' was refused\n", line);
		assert_true(kind >= 0);
		/* only quit leaves the console */
		if (strcmp(w[i].name, "quit") != 0 && kind == TUI_LINE_QUIT)
			print_error("table word '%s' quits\n", line);
		assert_true(strcmp(w[i].name, "quit") == 0 || kind != TUI_LINE_QUIT);
	}
}

static void
test_cmd_exit_is_quit(void **state)
{
	(void)state;
	assert_int_equal(kind_of("quit"), TUI_LINE_QUIT);
	assert_int_equal(kind_of("exit"), TUI_LINE_QUIT);
	assert_int_equal(kind_of("  exit  "), TUI_LINE_QUIT);
	/* and takes no argument, like quit */
	tui_line l;
	gw_err err;
	gw_err_clear(&err);
	assert_int_equal(tui_cmd_translate("exit now", "x", &l, &err), -EINVAL);
	assert_string_equal(err.msg, "usage: quit");
	gw_err_clear(&err);
	assert_int_equal(tui_cmd_translate("quit now", "x", &l, &err), -EINVAL);
	assert_string_equal(err.msg, "usage: quit");
}

static void
test_cmd_unknown_lists_words(void **state)
{
	(void)state;
	tui_line l;
	gw_err err;
	gw_err_clear(&err);
	assert_int_equal(tui_cmd_translate("bogus", "x", &l, &err), -EINVAL);
	assert_int_equal(err.exit_code, GW_EXIT_USAGE);
	size_t n;
	const tui_word *w = tui_cmd_words(&n);
	gw_buf want = GW_BUF_INIT;
	gw_buf_puts(&want, "unknown command 'bogus' (words: ");
	for (size_t i = 0; i < n; i++)
		gw_buf_printf(&want, "%s%s", i ? ", " : "", w[i].name);
	gw_buf_puts(&want, "; or a flag line)");
	assert_string_equal(err.msg, gw_buf_cstr(&want));
	gw_buf_free(&want);
}

/* The bearer token's value is masked in every spelling getopt accepts, and
 * nothing else of the line changes. */
static void
test_cmd_mask_secret(void **state)
{
	(void)state;
	static const struct { const char *in, *out; bool masked; } cases[] = {
		{ "--gateway-openresponses-auth-token s3cret serve", "--gateway-openresponses-auth-token *** serve", true },
		{ "--gateway-openresponses-auth-token=s3cret", "--gateway-openresponses-auth-token=***", true },
		{ "--gateway-openresponses-au  s3cret", "--gateway-openresponses-au  ***", true },
		{ "--gateway-openresponses-auth-token 'a b' x", "--gateway-openresponses-auth-token *** x", true },
		{ "x --gateway-openresponses-auth-token a --gateway-openresponses-auth-token=b", "x --gateway-openresponses-auth-token *** --gateway-openresponses-auth-token=***", true },
		{ "--gateway-openresponses-a s3cret", "--gateway-openresponses-a ***", true },
		/* ambiguous prefixes pick no option (getopt refuses them) */
		{ "--gateway-openresponses s3cret", "--gateway-openresponses s3cret", false },
		/* a connection string: only its password */
		{ "--gateway-state-url postgresql://ops:s3cret@db/tau --gateway-service-status",
		  "--gateway-state-url postgresql://ops:***@db/tau --gateway-service-status", true },
		{ "--gateway-state-u='host=db password=s3cret dbname=tau' status",
		  "--gateway-state-u='host=db password=*** dbname=tau' status", true },
		{ "--gateway-state-url postgresql://ops@db/tau", "--gateway-state-url postgresql://ops@db/tau", false },
		{ "--gateway-openresponses-auth-token", "--gateway-openresponses-auth-token", true },
		{ "--gateway-openresponses-bind 127.0.0.1:0", "--gateway-openresponses-bind 127.0.0.1:0", false },
		{ "start", "start", false },
		/* words as cli_split reads them: a quoted flag, an escaped or
		 * quoted blank inside the value (the whole word is the value) */
		{ "'--gateway-openresponses-auth-token' s3cret", "'--gateway-openresponses-auth-token' ***", true },
		{ "--gateway-openresponses-auth-token=ab\\ s3cret x", "--gateway-openresponses-auth-token=*** x", true },
		{ "--gateway-openresponses-auth-token ab\"c s3\"cret x", "--gateway-openresponses-auth-token *** x", true },
		{ "'--gateway-openresponses-auth-token=s3cret x' y", "--gateway-openresponses-auth-token=*** y", true },
		{ "--gateway-openresponses-auth-token '' x", "--gateway-openresponses-auth-token *** x", true },
		/* a password in the URL of any URL-valued flag */
		{ "--provider-base-url https://u:s3cret@h/v1 serve", "--provider-base-url https://u:***@h/v1 serve", true },
		{ "--provider-base-url='https://u:s3cret@h/v1'", "--provider-base-url=https://u:***@h/v1", true },
		{ "--provider-base-url https://h/v1", "--provider-base-url https://h/v1", false },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		gw_buf b = GW_BUF_INIT;
		assert_int_equal(tui_cmd_mask_secret(cases[i].in, false, &b), cases[i].masked);
		assert_string_equal(gw_buf_cstr(&b), cases[i].out);
		/* the masked line still splits into as many words */
		int argc_in = 0, argc_out = 0;
		char **argv_in = NULL, **argv_out = NULL;
		gw_err err;
		assert_int_equal(cli_split(cases[i].in, &argc_in, &argv_in, &err), 0);
		assert_int_equal(cli_split(gw_buf_cstr(&b), &argc_out, &argv_out, &err), 0);
		assert_int_equal(argc_in, argc_out);
		cli_argv_free(argv_in);
		cli_argv_free(argv_out);
		/* the on-screen form keeps every offset */
		gw_buf_reset(&b);
		assert_int_equal(tui_cmd_mask_secret(cases[i].in, true, &b), cases[i].masked);
		assert_int_equal(b.len, strlen(cases[i].in));
		assert_true(cases[i].masked ? strstr(gw_buf_cstr(&b), "s3cret") == NULL : strcmp(gw_buf_cstr(&b), cases[i].in) == 0);
		gw_buf_free(&b);
	}
}

static void
test_replica_row(void **state)
{
	(void)state;
	gw_buf b = GW_BUF_INIT;
	tui_render_rate(&b, 0, 0);
	assert_string_equal(gw_buf_cstr(&b), "-");
	gw_buf_reset(&b);
	tui_render_rate(&b, 1, 40);
	assert_string_equal(gw_buf_cstr(&b), "2.5%");
	gw_buf_reset(&b);
	tui_render_rate(&b, 1, 3);
	assert_string_equal(gw_buf_cstr(&b), "33.3%");
	gw_buf_reset(&b);
	tui_render_rate(&b, 2, 3);
	assert_string_equal(gw_buf_cstr(&b), "66.7%");
	gw_buf_reset(&b);

	gw_store_replica r;
	memset(&r, 0, sizeof(r));
	snprintf(r.host, sizeof(r.host), "host-a");
	snprintf(r.bind, sizeof(r.bind), "10.0.0.1:8080");
	r.pid = 4242;
	r.heartbeat_age_ms = 400;
	r.counters = (gw_store_replica_counters){ 200, 3, 10, 1 };
	tui_render_replica(&b, &r, 14);
	assert_string_equal(gw_buf_cstr(&b),
	    "      host-a         10.0.0.1:8080     4242  400 ms      200     3  5.0%  0.5%");
	/* at the narrowest host column a row fits an 80-column screen */
	assert_int_equal(strlen(gw_buf_cstr(&b)), 14 + TUI_REPLICA_FIXED_COLS);
	assert_true(14 + TUI_REPLICA_FIXED_COLS <= 79);
	gw_buf_reset(&b);
	r.heartbeat_age_ms = 6200;
	r.stale = true;
	snprintf(r.host, sizeof(r.host), "a-very-long-host-name.example");
	tui_render_replica(&b, &r, 14);
	assert_non_null(strstr(gw_buf_cstr(&b), " 6.2 s "));
	assert_string_equal(gw_buf_cstr(&b), "STALE a-very-long-ho 10.0.0.1:8080     4242   6.2 s      200     3  5.0%  0.5%");
	/* the heads line up with the row's columns, at any host width */
	for (size_t hc = 14; hc <= 40; hc += 26) {
		gw_buf h = GW_BUF_INIT, row = GW_BUF_INIT;
		tui_render_replica_head(&h, hc);
		tui_render_replica(&row, &r, hc);
		assert_int_equal(h.len, row.len);
		assert_int_equal(strstr(gw_buf_cstr(&h), "5xx") + 3 - gw_buf_cstr(&h), (long)row.len);
		assert_int_equal(strstr(gw_buf_cstr(&h), "bind") - gw_buf_cstr(&h),
		    strstr(gw_buf_cstr(&row), "10.0.0.1") - gw_buf_cstr(&row));
		gw_buf_free(&h);
		gw_buf_free(&row);
	}
	gw_buf_free(&b);
}

/* Long output: wrapping by display width (wide characters never split),
 * sideways scroll, tab expansion, highlight offsets, and the key=value
 * reply as a table (the channel-store inspect's counts must all show). */
static void
test_wrap_table(void **state)
{
	(void)state;
	const char *s = "alpha beta gamma";
	assert_int_equal(tui_render_wrap_row(s, strlen(s), 12), 11); /* after "beta " */
	assert_int_equal(tui_render_wrap_row(s, strlen(s), 40), strlen(s));
	assert_int_equal(tui_render_wrap_row("abcdefghij", 10, 4), 4); /* no space: hard */
	assert_int_equal(tui_render_wrap_row("a bcdefghij", 11, 8), 8); /* space too early */
	/* a table row: not broken inside its key's padding */
	assert_int_equal(tui_render_wrap_row("dir                     /a/b/c/d/e", 34, 30), 30);
	assert_int_equal(tui_render_wrap_row("", 0, 8), 0);
	if (setlocale(LC_CTYPE, "C.UTF-8") != NULL) {
		const char *w = "\u6f22\u5b57\u6f22"; /* three 2-column characters */
		assert_int_equal(tui_render_wrap_row(w, strlen(w), 5), 6);
		assert_int_equal(tui_render_wrap_row(w, strlen(w), 1), 3); /* one anyway */
		assert_int_equal(tui_render_skip(w, strlen(w), 2), 3);
		assert_int_equal(tui_render_skip(w, strlen(w), 3), 6);
		setlocale(LC_CTYPE, "C");
	}
	assert_int_equal(tui_render_hang("dir            /a/b", 19, 74), 15);
	assert_int_equal(tui_render_hang("    \"reason\": \"x\"", 17, 74), 6);
	assert_int_equal(tui_render_hang("plain line", 10, 74), 2);
	assert_int_equal(tui_render_hang("k                        v", 26, 20), 10); /* at most half */
		assert_int_equal(tui_render_skip("abcdef", 6, 2), 2);
	assert_int_equal(tui_render_skip("abc", 3, 9), 3);

	gw_buf b = GW_BUF_INIT;
	tui_render_sanitize(&b, "a\tb\x1b[1mc", 10);
	assert_string_equal(gw_buf_cstr(&b), "a       b?[1mc");
	gw_buf_free(&b);

	size_t len;
	assert_int_equal(tui_render_find("cycle HOLD x", 12, "hold", &len), 6);
	assert_int_equal(len, 4);
	assert_int_equal(tui_render_find("cycle", 5, "hold", &len), 5);
	assert_int_equal(tui_render_find("cycle", 5, "", &len), 5);

	b = (gw_buf)GW_BUF_INIT;
	assert_true(tui_render_kv_table(&b, "channel store inspect: transport=gateway dir=/a b/c "
	    "log_records=3 memory_exists=true", 3));
	assert_string_equal(gw_buf_cstr(&b), "channel store inspect\n"
	    "transport      gateway\n"
	    "dir            /a b/c\n"
	    "log_records    3\n"
	    "memory_exists  true\n");
	gw_buf_reset(&b);
	assert_false(tui_render_kv_table(&b, "service started", 3));
	assert_false(tui_render_kv_table(&b, "note: a=1 b=2", 3)); /* too few fields */
	assert_false(tui_render_kv_table(&b, "note: plain words a=1 b=2 c=3", 3));
	assert_false(tui_render_kv_table(&b, "two: a=1 b=2 c=3\nlines", 3));
	assert_int_equal(b.len, 0);
	gw_buf_free(&b);
}

int
main(void)
{
	/* local times in the checks are UTC */
	setenv("TZ", "UTC", 1);
	tzset();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gauge_fill),
		cmocka_unit_test(test_replica_row),
		cmocka_unit_test(test_gauge_level),
		cmocka_unit_test(test_gauge_text),
		cmocka_unit_test(test_gauge_glyphs),
		cmocka_unit_test(test_duration),
		cmocka_unit_test(test_spark),
		cmocka_unit_test(test_us),
		cmocka_unit_test(test_request_row),
		cmocka_unit_test(test_times),
		cmocka_unit_test(test_word_level),
		cmocka_unit_test(test_header_layout),
		cmocka_unit_test(test_event_cycle),
		cmocka_unit_test(test_event_other),
		cmocka_unit_test(test_width_clip),
		cmocka_unit_test(test_match_oneline),
		cmocka_unit_test(test_wrap_table),
		cmocka_unit_test(test_key_table),
		cmocka_unit_test(test_cmd_words),
		cmocka_unit_test(test_cmd_errors),
		cmocka_unit_test(test_cmd_every_word),
		cmocka_unit_test(test_cmd_exit_is_quit),
		cmocka_unit_test(test_cmd_unknown_lists_words),
		cmocka_unit_test(test_cmd_mask_secret),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
