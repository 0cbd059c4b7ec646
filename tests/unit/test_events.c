/*
 * test_events.c - runtime-events.jsonl: appends, the status-inspect
 * aggregation (cycle lines only, invalid lines, sorted reason-code
 * counts, the reference example of §7.2, strict JSON validity, escaped
 * and duplicate keys), the backwards tail and incremental following.
 */
#include "unit.h"

#include "core/gateway/events.h"

/* Collects lines handed to a gw_events_line_fn, joined with '|'. */
static void
collect(const char *line, size_t n, void *ctx)
{
	gw_buf *b = ctx;
	if (b->len > 0)
		gw_buf_putc(b, '|');
	gw_buf_append(b, line, n);
}

static void
test_path_and_append(void **state)
{
	ut_statedir *f = *state;
	char *want = ut_join(f->dir, "runtime-events.jsonl");
	assert_string_equal(f->events, want);
	free(want);
	gw_err err;
	assert_int_equal(gw_events_append(f->dir, "{\"a\":1}", 7, &err), 0);
	assert_int_equal(gw_events_append_lifecycle(f->dir, 5, "stop", "stopped", "r \"q\"", 3, &err), 0);
	assert_int_equal(gw_events_append_lifecycle(f->dir, 6, "start", "running", NULL, 4, &err), 0);
	char *text = ut_read(f->events);
	assert_string_equal(text,
	    "{\"a\":1}\n"
	    "{\"timestamp_unix_ms\":5,\"kind\":\"lifecycle\",\"transition\":\"stop\","
	    "\"service_status\":\"stopped\",\"reason\":\"r \\\"q\\\"\",\"startup_attempts\":3}\n"
	    "{\"timestamp_unix_ms\":6,\"kind\":\"lifecycle\",\"transition\":\"start\","
	    "\"service_status\":\"running\",\"reason\":\"\",\"startup_attempts\":4}\n");
	free(text);
}

static void
test_summarize_missing_file_is_not_present(void **state)
{
	ut_statedir *f = *state;
	gw_events_summary s;
	gw_err err;
	assert_int_equal(gw_events_summarize(f->events, &s, &err), 0);
	assert_false(s.present);
	assert_int_equal(s.cycle_reports, 0);
	assert_int_equal(s.invalid_cycle_reports, 0);
	assert_null(s.last_health_reason);
	gw_events_summary_free(&s);
}

static void
test_summarize_reference_example(void **state)
{
	ut_statedir *f = *state;
	ut_write(f->events,
	    "{\"reason_codes\":[\"healthy_cycle\",\"retry_attempted\"],\"health_reason\":\"first\"}\n"
	    "invalid-json-line\n"
	    "{\"reason_codes\":[\"healthy_cycle\",\"duplicate_cases_skipped\"],\"health_reason\":\"second\"}\n");
	gw_events_summary s;
	gw_err err;
	assert_int_equal(gw_events_summarize(f->events, &s, &err), 0);
	assert_true(s.present);
	assert_int_equal(s.cycle_reports, 2);
	assert_int_equal(s.invalid_cycle_reports, 1);
	assert_int_equal(s.nlast, 2);
	assert_string_equal(s.last_reason_codes[0], "healthy_cycle");
	assert_string_equal(s.last_reason_codes[1], "duplicate_cases_skipped");
	assert_string_equal(s.last_health_reason, "second");
	assert_int_equal(s.ncounts, 3);
	assert_string_equal(s.counts[0].code, "duplicate_cases_skipped");
	assert_int_equal(s.counts[0].count, 1);
	assert_string_equal(s.counts[1].code, "healthy_cycle");
	assert_int_equal(s.counts[1].count, 2);
	assert_string_equal(s.counts[2].code, "retry_attempted");
	assert_int_equal(s.counts[2].count, 1);
	gw_events_summary_free(&s);
}

static void
test_summarize_counts_cycle_lines_only(void **state)
{
	ut_statedir *f = *state;
	ut_write(f->events,
	    "{\"timestamp_unix_ms\":1,\"kind\":\"cycle\",\"reason_codes\":[\"b_code\"],\"health_reason\":\"h1\"}\n"
	    "{\"timestamp_unix_ms\":2,\"kind\":\"lifecycle\",\"transition\":\"stop\",\"reason_codes\":[\"zzz\"]}\n"
	    "\n"
	    "   \r\n"
	    "{\"kind\":\"state_recovered\",\"detail\":\"x\"}\n"
	    "{\"reason_codes\":[\" a_code \",\"\",\"b_code\"]}\n"          /* legacy line without kind */
	    "[1,2]\n"                                                   /* not an object */
	    "{\"reason_codes\":\"healthy_cycle\"}\n"                    /* codes not an array */
	    "{\"reason_codes\":[1]}\n"                                  /* codes not strings */
	    "{\"health_reason\":5}\n"                                   /* reason not a string */
	    "{\"kind\":\"cycle\"}\n"
	    "{\"kind\":\"cycle\",\"reason_codes\":[\"partial");           /* append in progress */
	gw_events_summary s;
	gw_err err;
	assert_int_equal(gw_events_summarize(f->events, &s, &err), 0);
	assert_int_equal(s.cycle_reports, 3);
	assert_int_equal(s.invalid_cycle_reports, 4);
	assert_int_equal(s.other_lines, 2);
	/* the last valid cycle line had no codes and no reason */
	assert_int_equal(s.nlast, 0);
	assert_null(s.last_health_reason);
	assert_int_equal(s.ncounts, 2);
	assert_string_equal(s.counts[0].code, "a_code");
	assert_int_equal(s.counts[0].count, 1);
	assert_string_equal(s.counts[1].code, "b_code");
	assert_int_equal(s.counts[1].count, 2);
	gw_events_summary_free(&s);
}

static void
test_summarize_requires_strictly_valid_json(void **state)
{
	ut_statedir *f = *state;
	ut_write(f->events,
	    "{\"a\":tru}\n"
	    "{\"a\":1 \"b\":2}\n"
	    "{\"reason_codes\":[\"t\"]} trailing\n"
	    "{\"reason_codes\":[\"t\"]}{}\n"
	    "{\"n\":01,\"reason_codes\":[\"t\"]}\n"
	    "{\"n\":1.,\"reason_codes\":[\"t\"]}\n"
	    "{\"n\":.5,\"reason_codes\":[\"t\"]}\n"
	    "{\"reason_codes\":[\"t\",]}\n"
	    "\xef\xbb\xbf{\"reason_codes\":[\"t\"]}\n"          /* byte-order mark */
	    "{\"health_reason\":\"raw\ttab\",\"reason_codes\":[\"t\"]}\n"
	    "{\"reason_codes\":[\"\\ud800\"]}\n"                 /* lone surrogate */
	    "{\"reason_codes\":[\"\\u00zz\"]}\n"                 /* bad hex escape */
	    "{\"reason_codes\":[\"\xc3\"]}\n"                    /* truncated UTF-8 */
	    "{\"kind\":\"lifecycle\",\"x\":01}\n"               /* invalid before it is "other" */
	    "\t{\"n\":-0.5e+3,\"reason_codes\":[\"ok\"],\"u\":\"\\u00e9\\ud83d\\ude00\"} \r\n");
	gw_events_summary s;
	gw_err err;
	assert_int_equal(gw_events_summarize(f->events, &s, &err), 0);
	assert_int_equal(s.invalid_cycle_reports, 14);
	assert_int_equal(s.other_lines, 0);
	assert_int_equal(s.cycle_reports, 1);
	assert_int_equal(s.ncounts, 1);
	assert_string_equal(s.counts[0].code, "ok");
	gw_events_summary_free(&s);
}

static void
test_summarize_escaped_and_duplicate_keys(void **state)
{
	ut_statedir *f = *state;
	ut_write(f->events,
	    /* an escaped key means what it decodes to */
	    "{\"kin\\u0064\":\"lifecycle\",\"reason_codes\":[\"z\"]}\n"
	    /* the first of duplicate keys counts, as cJSON's lookup picks */
	    "{\"kind\":\"lifecycle\",\"kind\":\"cycle\"}\n"
	    "{\"kind\":null}\n"
	    /* nested members are not the line's own; escaped "cycle" is a cycle */
	    "{\"x\":{\"kind\":\"lifecycle\"},\"kind\":\"cy\\u0063le\",\"reason_codes\":[\"dup\"],"
	    "\"reason_codes\":5,\"health_reason\":null}\n"
	    "{ \"reason_codes\" : [ \" spaced \" , \"dup\" ] , \"health_reason\" : \"q \\\"x\\\" \\u00e9\" ,"
	    " \"tail\" : [1, {\"reason_codes\": 7}] }\n"
	    "{\"reason_codes\":[\"r\"],\"health_reason\":\"h\",\"health_reason\":5}\n"
	    "{\"reason_codes\":null,\"health_reason\":5,\"health_reason\":\"h\"}\n");
	gw_events_summary s;
	gw_err err;
	assert_int_equal(gw_events_summarize(f->events, &s, &err), 0);
	assert_int_equal(s.other_lines, 3);
	assert_int_equal(s.cycle_reports, 3);
	assert_int_equal(s.invalid_cycle_reports, 1);
	assert_int_equal(s.nlast, 1);
	assert_string_equal(s.last_reason_codes[0], "r");
	assert_string_equal(s.last_health_reason, "h");
	assert_int_equal(s.ncounts, 3);
	assert_string_equal(s.counts[0].code, "dup");
	assert_int_equal(s.counts[0].count, 2);
	assert_string_equal(s.counts[1].code, "r");
	assert_string_equal(s.counts[2].code, "spaced");
	gw_events_summary_free(&s);
	/* the line before last alone: reason decoded from its escapes */
	ut_write(f->events,
	    "{ \"reason_codes\" : [ \" spaced \" , \"dup\" ] , \"health_reason\" : \"q \\\"x\\\" \\u00e9\" }\n");
	assert_int_equal(gw_events_summarize(f->events, &s, &err), 0);
	assert_int_equal(s.cycle_reports, 1);
	assert_int_equal(s.nlast, 2);
	assert_string_equal(s.last_reason_codes[0], " spaced ");
	assert_string_equal(s.last_health_reason, "q \"x\" \xc3\xa9");
	gw_events_summary_free(&s);
}

static void
test_summarize_streams_a_large_file(void **state)
{
	ut_statedir *f = *state;
	/* 40,000 lines of ~60 bytes cross the 1 MiB read block several times */
	FILE *out = fopen(f->events, "w");
	assert_non_null(out);
	for (int i = 0; i < 40000; i++)
		fprintf(out, "{\"kind\":\"cycle\",\"reason_codes\":[\"code_%d\"],\"n\":%d}\n", i % 7, i);
	fclose(out);
	gw_events_summary s;
	gw_err err;
	assert_int_equal(gw_events_summarize(f->events, &s, &err), 0);
	assert_int_equal(s.cycle_reports, 40000);
	assert_int_equal(s.invalid_cycle_reports, 0);
	assert_int_equal(s.ncounts, 7);
	uint64_t total = 0;
	for (size_t i = 0; i < s.ncounts; i++) {
		total += s.counts[i].count;
		if (i > 0)
			assert_true(strcmp(s.counts[i - 1].code, s.counts[i].code) < 0);
	}
	assert_int_equal(total, 40000);
	assert_string_equal(s.last_reason_codes[0], "code_1"); /* 39999 % 7 */
	gw_events_summary_free(&s);
}

static void
test_tail_last_lines_oldest_first(void **state)
{
	ut_statedir *f = *state;
	ut_write(f->events, "l1\nl2\n\nl3\nl4\npartial");
	gw_buf b = GW_BUF_INIT;
	uint64_t size = 0;
	gw_err err;
	assert_int_equal(gw_events_tail(f->events, 2, collect, &b, &size, &err), 0);
	assert_string_equal(gw_buf_cstr(&b), "l3|l4");
	assert_int_equal(size, strlen("l1\nl2\n\nl3\nl4\n")); /* the partial line is not consumed */
	gw_buf_reset(&b);
	assert_int_equal(gw_events_tail(f->events, 100, collect, &b, &size, &err), 0);
	assert_string_equal(gw_buf_cstr(&b), "l1|l2|l3|l4");
	gw_buf_reset(&b);
	assert_int_equal(gw_events_tail(f->events, 0, collect, &b, &size, &err), 0);
	assert_string_equal(gw_buf_cstr(&b), "");
	gw_buf_free(&b);
}

/* Found by fuzz_events: blank lines counted toward the tail, so fewer
 * than max_lines lines came back, and a 64 KiB read ending in blank lines
 * stopped before the lines wanted. */
static void
test_tail_blank_lines_do_not_count(void **state)
{
	ut_statedir *f = *state;
	ut_write(f->events, "l1\nl2\nl3\n\n\n\nl4\n\n");
	gw_buf b = GW_BUF_INIT;
	uint64_t size = 0;
	gw_err err;
	assert_int_equal(gw_events_tail(f->events, 3, collect, &b, &size, &err), 0);
	assert_string_equal(gw_buf_cstr(&b), "l2|l3|l4");
	gw_buf_reset(&b);
	FILE *out = fopen(f->events, "w");
	assert_non_null(out);
	fputs("first\nsecond\n", out);
	for (int i = 0; i < 70000; i++)
		fputc('\n', out);
	fclose(out);
	assert_int_equal(gw_events_tail(f->events, 2, collect, &b, &size, &err), 0);
	assert_string_equal(gw_buf_cstr(&b), "first|second");
	gw_buf_free(&b);
}

static void
test_tail_missing_file(void **state)
{
	ut_statedir *f = *state;
	gw_buf b = GW_BUF_INIT;
	uint64_t size = 99;
	gw_err err;
	assert_int_equal(gw_events_tail(f->events, 5, collect, &b, &size, &err), 0);
	assert_int_equal(size, 0);
	assert_int_equal(b.len, 0);
}

static void
test_tail_big_file(void **state)
{
	ut_statedir *f = *state;
	FILE *out = fopen(f->events, "w");
	assert_non_null(out);
	for (int i = 0; i < 200000; i++)
		fprintf(out, "line-%06d\n", i);
	fclose(out);
	struct stat sb;
	assert_int_equal(stat(f->events, &sb), 0);
	gw_buf b = GW_BUF_INIT;
	uint64_t size = 0;
	gw_err err;
	assert_int_equal(gw_events_tail(f->events, 3, collect, &b, &size, &err), 0);
	assert_string_equal(gw_buf_cstr(&b), "line-199997|line-199998|line-199999");
	assert_int_equal(size, (uint64_t)sb.st_size);
	/* more lines than one 64 KiB chunk holds */
	gw_buf_reset(&b);
	assert_int_equal(gw_events_tail(f->events, 10000, collect, &b, &size, &err), 0);
	assert_int_equal(b.len, 10000 * 11 + 9999); /* 10,000 lines of 11 bytes and the separators */
	assert_int_equal(strncmp(b.data, "line-190000|line-190001|", 24), 0);
	assert_string_equal(b.data + b.len - 11, "line-199999");
	gw_buf_free(&b);
}

static void
test_read_from_follows_complete_lines(void **state)
{
	ut_statedir *f = *state;
	uint64_t off = 0;
	gw_buf b = GW_BUF_INIT;
	gw_err err;
	assert_int_equal(gw_events_read_from(f->events, &off, collect, &b, &err), 0);
	assert_int_equal(off, 0); /* missing file */
	ut_write(f->events, "a\nb\n\npar");
	assert_int_equal(gw_events_read_from(f->events, &off, collect, &b, &err), 0);
	assert_string_equal(gw_buf_cstr(&b), "a|b");
	assert_int_equal(off, 5);
	gw_buf_reset(&b);
	gw_err_clear(&err);
	/* the writer in progress finishes its line (a raw append: gw_fs_append
	 * would cut the unterminated "par" as a killed writer's remnant) */
	FILE *fp = fopen(f->events, "a");
	assert_non_null(fp);
	fputs("tial\nc\n", fp);
	fclose(fp);
	assert_int_equal(gw_events_read_from(f->events, &off, collect, &b, &err), 0);
	assert_string_equal(gw_buf_cstr(&b), "partial|c");
	assert_int_equal(off, 15);
	/* nothing new */
	gw_buf_reset(&b);
	assert_int_equal(gw_events_read_from(f->events, &off, collect, &b, &err), 0);
	assert_int_equal(b.len, 0);
	assert_int_equal(off, 15);
	/* a truncated (rotated) file restarts at 0 */
	ut_write(f->events, "new\n");
	assert_int_equal(gw_events_read_from(f->events, &off, collect, &b, &err), 0);
	assert_string_equal(gw_buf_cstr(&b), "new");
	assert_int_equal(off, 4);
	gw_buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_path_and_append, ut_statedir_setup, ut_statedir_teardown),
		cmocka_unit_test_setup_teardown(test_summarize_missing_file_is_not_present, ut_statedir_setup, ut_statedir_teardown),
		cmocka_unit_test_setup_teardown(test_summarize_reference_example, ut_statedir_setup, ut_statedir_teardown),
		cmocka_unit_test_setup_teardown(test_summarize_counts_cycle_lines_only, ut_statedir_setup, ut_statedir_teardown),
		cmocka_unit_test_setup_teardown(test_summarize_requires_strictly_valid_json, ut_statedir_setup, ut_statedir_teardown),
		cmocka_unit_test_setup_teardown(test_summarize_escaped_and_duplicate_keys, ut_statedir_setup, ut_statedir_teardown),
		cmocka_unit_test_setup_teardown(test_summarize_streams_a_large_file, ut_statedir_setup, ut_statedir_teardown),
		cmocka_unit_test_setup_teardown(test_tail_last_lines_oldest_first, ut_statedir_setup, ut_statedir_teardown),
		cmocka_unit_test_setup_teardown(test_tail_blank_lines_do_not_count, ut_statedir_setup, ut_statedir_teardown),
		cmocka_unit_test_setup_teardown(test_tail_missing_file, ut_statedir_setup, ut_statedir_teardown),
		cmocka_unit_test_setup_teardown(test_tail_big_file, ut_statedir_setup, ut_statedir_teardown),
		cmocka_unit_test_setup_teardown(test_read_from_follows_complete_lines, ut_statedir_setup, ut_statedir_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
