/*
 * test_compact.c - the compaction policy of POST /v1/responses/compact:
 * where the window is split (the last GW_COMPACT_KEEP_TURNS user messages
 * kept, system and developer messages kept, the rest folded), the exact
 * fold (one line per item, white space collapsed, lines cut by characters
 * and not bytes, the newest GW_COMPACT_FOLD_LINES kept), that it is the
 * same every time, the compacted output's order, the upstream summary
 * request, the reply's text, the request's parse (input optional only with
 * previous_response_id, stream refused, nothing stored, tools withheld) and
 * the response.compaction object.
 */
#include "unit.h"

#include "core/base/json.h"
#include "core/openresponses/compact.h"

static cJSON *
parse_json(const char *s)
{
	cJSON *v = cJSON_Parse(s);
	assert_non_null(v);
	return v;
}

static char *
print(const cJSON *v)
{
	return cJSON_PrintUnformatted(v);
}

static void
assert_json(const cJSON *v, const char *want)
{
	char *got = print(v);
	if (strcmp(got, want) != 0)
		print_error("got  %s\nwant %s\n", got, want);
	assert_string_equal(got, want);
	free(got);
}

#define U(t) "{\"type\":\"message\",\"role\":\"user\",\"content\":[{\"type\":\"input_text\",\"text\":\"" t "\"}]}"
#define A(t) "{\"type\":\"message\",\"role\":\"assistant\",\"content\":[{\"type\":\"output_text\",\"text\":\"" t "\"}]}"
#define S(r, t) "{\"type\":\"message\",\"role\":\"" r "\",\"content\":[{\"type\":\"input_text\",\"text\":\"" t "\"}]}"
#define FC "{\"type\":\"function_call\",\"call_id\":\"c1\",\"name\":\"f\",\"arguments\":\"{\\\"x\\\": 1}\"}"
#define FO "{\"type\":\"function_call_output\",\"call_id\":\"c1\",\"output\":\"42\"}"

static void
test_split_keeps_last_turns(void **state)
{
	(void)state;
	cJSON *w = parse_json("[" S("system", "sys") "," U("u1") "," A("a1") "," S("developer", "dev") ","
	    U("u2") "," FC "," FO "," A("a2") "," U("u3") "," A("a3") "]");
	gw_compact_split s;
	gw_compact_split_window(w, 2, &s);
	assert_int_equal(s.window_items, 10);
	assert_json(s.kept, "[" S("system", "sys") "," S("developer", "dev") "]");
	assert_json(s.folded, "[" U("u1") "," A("a1") "]");
	assert_json(s.recent, "[" U("u2") "," FC "," FO "," A("a2") "," U("u3") "," A("a3") "]");
	gw_compact_split_free(&s);
	/* one turn kept: the function call and its output are folded */
	gw_compact_split_window(w, 1, &s);
	assert_json(s.folded, "[" U("u1") "," A("a1") "," U("u2") "," FC "," FO "," A("a2") "]");
	assert_json(s.recent, "[" U("u3") "," A("a3") "]");
	gw_compact_split_free(&s);
	cJSON_Delete(w);
}

static void
test_split_short_windows(void **state)
{
	(void)state;
	gw_compact_split s;
	/* as many user messages as are kept: nothing but what precedes the
	 * first of them is older */
	cJSON *w = parse_json("[" A("lead") "," U("u1") "," A("a1") "," U("u2") "]");
	gw_compact_split_window(w, 2, &s);
	assert_json(s.folded, "[" A("lead") "]");
	assert_json(s.recent, "[" U("u1") "," A("a1") "," U("u2") "]");
	gw_compact_split_free(&s);
	cJSON_Delete(w);
	/* no user message at all: everything is recent */
	w = parse_json("[" FO "," A("a") "]");
	gw_compact_split_window(w, 2, &s);
	assert_int_equal(cJSON_GetArraySize(s.folded), 0);
	assert_int_equal(cJSON_GetArraySize(s.kept), 0);
	assert_json(s.recent, "[" FO "," A("a") "]");
	gw_compact_split_free(&s);
	cJSON_Delete(w);
	/* an empty window */
	w = parse_json("[]");
	gw_compact_split_window(w, 2, &s);
	assert_int_equal(s.window_items, 0);
	assert_int_equal(cJSON_GetArraySize(s.recent), 0);
	gw_compact_split_free(&s);
	cJSON_Delete(w);
}

static void
test_fold_exact(void **state)
{
	(void)state;
	cJSON *w = parse_json("[" U("  one   two\\n\\tthree  ") ","
	    "{\"type\":\"message\",\"role\":\"user\",\"content\":[{\"type\":\"input_text\",\"text\":\"see\"},"
	    "{\"type\":\"input_image\",\"image_url\":\"data:image/png;base64,AAAA\",\"detail\":\"auto\"}]},"
	    A("a1") "," FC "," FO ",{\"type\":\"reasoning\"}]");
	gw_buf b = GW_BUF_INIT;
	gw_compact_fold(w, &b);
	assert_string_equal(gw_buf_cstr(&b),
	    "- user: one two three\n"
	    "- user: see [image]\n"
	    "- assistant: a1\n"
	    "- assistant called f({\"x\": 1})\n"
	    "- tool result c1: 42\n"
	    "- [reasoning]");
	/* the same window folds to the same bytes */
	gw_buf again = GW_BUF_INIT;
	gw_compact_fold(w, &again);
	assert_string_equal(gw_buf_cstr(&again), gw_buf_cstr(&b));
	gw_buf_free(&again);
	gw_buf_free(&b);
	cJSON_Delete(w);
}

static void
test_fold_cuts_characters(void **state)
{
	(void)state;
	/* 250 two-byte characters: the line keeps 200 of them ("user: " counts) */
	gw_buf t = GW_BUF_INIT;
	for (int i = 0; i < 250; i++)
		gw_buf_puts(&t, "\xc3\xa9");
	cJSON *w = cJSON_CreateArray();
	cJSON *m = cJSON_CreateObject();
	cJSON_AddStringToObject(m, "type", "message");
	cJSON_AddStringToObject(m, "role", "user");
	cJSON *c = cJSON_AddArrayToObject(m, "content");
	cJSON *p = cJSON_CreateObject();
	cJSON_AddStringToObject(p, "type", "input_text");
	cJSON_AddStringToObject(p, "text", gw_buf_cstr(&t));
	cJSON_AddItemToArray(c, p);
	cJSON_AddItemToArray(w, m);
	gw_buf b = GW_BUF_INIT;
	gw_compact_fold(w, &b);
	gw_buf want = GW_BUF_INIT;
	gw_buf_puts(&want, "- user: ");
	for (int i = 0; i < GW_COMPACT_LINE_CHARS - 6; i++)
		gw_buf_puts(&want, "\xc3\xa9");
	gw_buf_puts(&want, "...");
	assert_string_equal(gw_buf_cstr(&b), gw_buf_cstr(&want));
	/* the upstream transcript is whole */
	cJSON *items = gw_compact_summary_items(w);
	const char *text = cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetArrayItem(items, 0),
	    "content"), 0)->child->next->valuestring;
	gw_buf_reset(&want);
	gw_buf_printf(&want, "Conversation to summarize:\n- user: %s\n", gw_buf_cstr(&t));
	assert_string_equal(text, gw_buf_cstr(&want));
	cJSON_Delete(items);
	gw_buf_free(&want);
	gw_buf_free(&b);
	gw_buf_free(&t);
	cJSON_Delete(w);
}

static void
test_fold_keeps_newest_lines(void **state)
{
	(void)state;
	cJSON *w = cJSON_CreateArray();
	for (int i = 0; i < GW_COMPACT_FOLD_LINES + 6; i++) {
		char item[96];
		snprintf(item, sizeof(item), U("m%d"), i);
		cJSON_AddItemToArray(w, parse_json(item));
	}
	gw_buf b = GW_BUF_INIT;
	gw_compact_fold(w, &b);
	const char *s = gw_buf_cstr(&b);
	assert_true(strncmp(s, "(6 earlier items omitted)\n- user: m6\n", 37) == 0);
	size_t lines = 1;
	for (const char *q = s; *q; q++)
		lines += *q == '\n';
	assert_int_equal(lines, GW_COMPACT_FOLD_LINES + 1);
	assert_non_null(strstr(s, "\n- user: m69"));
	assert_null(strstr(s, "- user: m5\n"));
	gw_buf_free(&b);
	cJSON_Delete(w);
}

static void
test_output_order(void **state)
{
	(void)state;
	cJSON *w = parse_json("[" S("system", "sys") "," U("u1") "," A("a1") "," U("u2") "," U("u3") "]");
	gw_compact_split s;
	gw_compact_split_window(w, 2, &s);
	gw_buf fold = GW_BUF_INIT;
	gw_compact_fold(s.folded, &fold);
	cJSON *out = gw_compact_output(&s, gw_buf_cstr(&fold));
	assert_json(out, "[" S("system", "sys") ","
	    U("Summary of the earlier conversation:\\n- user: u1\\n- assistant: a1") ","
	    U("u2") "," U("u3") "]");
	cJSON_Delete(out);
	gw_compact_split_free(&s);
	gw_buf_free(&fold);
	cJSON_Delete(w);
	/* nothing folded: the window as it was, no summary item */
	w = parse_json("[" S("developer", "d") "," U("u1") "," A("a1") "," U("u2") "]");
	gw_compact_split_window(w, 2, &s);
	out = gw_compact_output(&s, "");
	char *want = print(w);
	assert_json(out, want);
	free(want);
	cJSON_Delete(out);
	gw_compact_split_free(&s);
	cJSON_Delete(w);
}

static void
test_summary_request_and_reply(void **state)
{
	(void)state;
	char *in = gw_compact_summary_instructions("Be terse");
	assert_true(strncmp(in, GW_COMPACT_INSTRUCTIONS, strlen(GW_COMPACT_INSTRUCTIONS)) == 0);
	assert_string_equal(in + strlen(GW_COMPACT_INSTRUCTIONS),
	    "\n\nThe conversation ran under these instructions:\nBe terse");
	free(in);
	in = gw_compact_summary_instructions(NULL);
	assert_string_equal(in, GW_COMPACT_INSTRUCTIONS);
	free(in);
	cJSON *folded = parse_json("[" U("u1") "," A("a1") "]");
	cJSON *items = gw_compact_summary_items(folded);
	assert_json(items, "[" U("Conversation to summarize:\\n- user: u1\\n- assistant: a1\\n") "]");
	cJSON_Delete(items);
	cJSON_Delete(folded);
	/* the reply's text, trimmed */
	gw_buf b = GW_BUF_INIT;
	const char *reply = " \n first\nsecond \t";
	assert_true(gw_compact_reply_text(reply, strlen(reply), &b));
	assert_string_equal(gw_buf_cstr(&b), "first\nsecond");
	/* blanks (or nothing: a reply that was only a call) are no summary */
	gw_buf_reset(&b);
	assert_false(gw_compact_reply_text(" \n\t ", 4, &b));
	assert_false(gw_compact_reply_text("", 0, &b));
	assert_int_equal(b.len, 0);
	gw_buf_free(&b);
}

static int
cparse(const char *body, gw_resp_request *r, gw_resp_error *e)
{
	return gw_compact_request_parse(body, strlen(body), 100000, r, e);
}

static void
test_request_parse(void **state)
{
	(void)state;
	gw_resp_request r;
	gw_resp_error e;
	/* previous_response_id alone is a window */
	assert_int_equal(cparse("{\"previous_response_id\":\"resp_1\"}", &r, &e), 0);
	assert_int_equal(cJSON_GetArraySize(r.input), 0);
	assert_string_equal(r.previous_response_id, "resp_1");
	gw_resp_request_free(&r);
	assert_int_equal(cparse("{\"previous_response_id\":\"resp_1\",\"input\":null}", &r, &e), 0);
	gw_resp_request_free(&r);
	/* neither: missing_input, as /v1/responses */
	assert_int_not_equal(cparse("{\"model\":\"m\"}", &r, &e), 0);
	assert_int_equal(e.status, 400);
	assert_string_equal(e.code, "missing_input");
	gw_resp_request_free(&r);
	assert_int_not_equal(cparse("{\"previous_response_id\":\"  \"}", &r, &e), 0);
	assert_string_equal(e.code, "missing_input");
	gw_resp_request_free(&r);
	/* not JSON */
	assert_int_not_equal(cparse("{\"input\":", &r, &e), 0);
	assert_int_equal(e.status, 400);
	assert_string_equal(e.code, "malformed_json");
	gw_resp_request_free(&r);
	/* no streaming */
	assert_int_not_equal(cparse("{\"input\":\"hi\",\"stream\":true}", &r, &e), 0);
	assert_int_equal(e.status, 400);
	assert_string_equal(e.code, "invalid_value");
	assert_string_equal(e.param, "stream");
	gw_resp_request_free(&r);
	/* nothing stored, no session, no tools for the summarizer */
	assert_int_equal(cparse("{\"input\":\"hi\",\"store\":true,\"metadata\":{\"session_id\":\"s\"},"
	    "\"tools\":[{\"type\":\"function\",\"name\":\"f\"}],\"tool_choice\":\"required\","
	    "\"instructions\":\"be kind\",\"stream\":false,\"bogus\":1}", &r, &e), 0);
	assert_false(r.store);
	assert_null(r.session_seed);
	assert_int_equal(cJSON_GetArraySize(r.tools), 0);
	assert_string_equal(r.tool_choice->valuestring, "auto");
	assert_string_equal(r.instructions, "be kind");
	assert_json(r.ignored, "[\"bogus\",\"metadata\",\"store\",\"tool_choice\",\"tools\"]");
	gw_resp_request_free(&r);
	/* merged with the parser's own, sorted, each once (an insert into
	 * the parser's list once lost "tools": fuzz_compact's leak input) */
	assert_int_equal(cparse("{\"input\":\"x\",\"tools\":[{\"type\":\"other\",\"name\":\"f\"}],"
	    "\"tool_choice\":{\"type\":\"function\",\"name\":\"f\"}}", &r, &e), 0);
	assert_json(r.ignored, "[\"tool_choice\",\"tools\",\"tools[0]\"]");
	gw_resp_request_free(&r);
	/* the input bound holds (413) */
	assert_int_not_equal(gw_compact_request_parse("{\"input\":\"hello there\"}", 23, 3, &r, &e), 0);
	assert_int_equal(e.status, 413);
	gw_resp_request_free(&r);
}

static void
test_json(void **state)
{
	(void)state;
	cJSON *out = parse_json("[" U("hi") "]"), *ign = parse_json("[\"store\"]");
	gw_resp_usage u = { .input_tokens = 3, .output_tokens = 4 };
	gw_buf b = GW_BUF_INIT;
	gw_compact_json("cmp_1", "local/echo", 7, out, &u, ign, &b);
	assert_string_equal(gw_buf_cstr(&b),
	    "{\"id\":\"cmp_1\",\"object\":\"response.compaction\",\"created_at\":7,"
	    "\"model\":\"local/echo\",\"output\":[" U("hi") "],\"usage\":{\"input_tokens\":3,"
	    "\"input_tokens_details\":{\"cached_tokens\":0},\"output_tokens\":4,"
	    "\"output_tokens_details\":{\"reasoning_tokens\":0},\"total_tokens\":7},"
	    "\"ignored_fields\":[\"store\"]}");
	gw_buf_reset(&b);
	gw_compact_new_id(&b);
	assert_int_equal(b.len, 4 + 32);
	assert_true(strncmp(gw_buf_cstr(&b), "cmp_", 4) == 0);
	gw_buf_free(&b);
	cJSON_Delete(out);
	cJSON_Delete(ign);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split_keeps_last_turns),
		cmocka_unit_test(test_split_short_windows),
		cmocka_unit_test(test_fold_exact),
		cmocka_unit_test(test_fold_cuts_characters),
		cmocka_unit_test(test_fold_keeps_newest_lines),
		cmocka_unit_test(test_output_order),
		cmocka_unit_test(test_summary_request_and_reply),
		cmocka_unit_test(test_request_parse),
		cmocka_unit_test(test_json),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
