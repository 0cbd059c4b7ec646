/*
 * test_chat.c - the chat-completions wire format: request translation
 * (instructions, roles, images, tools, tool_choice, tool calls and
 * results), reply translation, and the incremental SSE reader fed in every
 * possible split (lines and multi-byte UTF-8 characters cut across reads).
 */
#include "unit.h"

#include "core/openresponses/chat.h"

typedef struct rec {
	gw_buf text, args;
	char call_id[32], name[32];
	int tool_begins;
} rec;

static void r_text(void *c, const char *s, size_t n) { gw_buf_append(&((rec *)c)->text, s, n); }
static void
r_begin(void *c, size_t i, const char *id, const char *name)
{
	rec *r = c;
	(void)i;
	r->tool_begins++;
	if (id)
		snprintf(r->call_id, sizeof(r->call_id), "%s", id);
	if (name)
		snprintf(r->name, sizeof(r->name), "%s", name);
}
static void r_args(void *c, size_t i, const char *s, size_t n) { (void)i; gw_buf_append(&((rec *)c)->args, s, n); }

static void
test_request_translation(void **state)
{
	(void)state;
	cJSON *items = cJSON_Parse("["
	    "{\"type\":\"message\",\"role\":\"developer\",\"content\":[{\"type\":\"input_text\",\"text\":\"d\"}]},"
	    "{\"type\":\"message\",\"role\":\"user\",\"content\":[{\"type\":\"input_text\",\"text\":\"a\"},"
	    "{\"type\":\"input_image\",\"image_url\":\"data:image/png;base64,AA\",\"detail\":\"high\"}]},"
	    "{\"type\":\"function_call\",\"call_id\":\"c1\",\"name\":\"f\",\"arguments\":\"{}\"},"
	    "{\"type\":\"function_call\",\"call_id\":\"c2\",\"name\":\"g\",\"arguments\":\"{}\"},"
	    "{\"type\":\"function_call_output\",\"call_id\":\"c1\",\"output\":\"r1\"}]");
	cJSON *tools = cJSON_Parse("[{\"type\":\"function\",\"name\":\"f\",\"description\":null,"
	    "\"parameters\":{\"type\":\"object\"},\"strict\":true}]");
	cJSON *tc = cJSON_CreateString("required");
	gw_provider_call call = { .instructions = "be nice", .items = items, .tools = tools,
		.tool_choice = tc, .parallel_tool_calls = true, .has_temperature = true,
		.temperature = 0.5, .has_max_output_tokens = true, .max_output_tokens = 9, .stream = true };
	gw_buf b = GW_BUF_INIT;
	gw_chat_request_body(&call, "m1", &b);
	assert_string_equal(b.data, "{\"model\":\"m1\",\"messages\":["
	    "{\"role\":\"system\",\"content\":\"be nice\"},"
	    "{\"role\":\"system\",\"content\":\"d\"},"
	    "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"a\"},{\"type\":\"image_url\","
	    "\"image_url\":{\"url\":\"data:image/png;base64,AA\",\"detail\":\"high\"}}]},"
	    "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":["
	    "{\"id\":\"c1\",\"type\":\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}},"
	    "{\"id\":\"c2\",\"type\":\"function\",\"function\":{\"name\":\"g\",\"arguments\":\"{}\"}}]},"
	    "{\"role\":\"tool\",\"tool_call_id\":\"c1\",\"content\":\"r1\"}],"
	    "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\",\"parameters\":{\"type\":\"object\"},\"strict\":true}}],"
	    "\"tool_choice\":\"required\",\"parallel_tool_calls\":true,"
	    "\"temperature\":0.5,\"max_tokens\":9,\"stream\":true,\"stream_options\":{\"include_usage\":true}}");
	gw_buf_free(&b);
	cJSON_Delete(tc);
	tc = cJSON_Parse("{\"type\":\"function\",\"name\":\"f\"}");
	call.tool_choice = tc;
	call.stream = false;
	gw_chat_request_body(&call, "m1", &b);
	ut_assert_contains(b.data, "\"tool_choice\":{\"type\":\"function\",\"function\":{\"name\":\"f\"}}");
	assert_null(strstr(b.data, "\"stream\""));
	gw_buf_free(&b);
	cJSON_Delete(tc);
	cJSON_Delete(tools);
	cJSON_Delete(items);
}

static void
test_reply_translation(void **state)
{
	(void)state;
	rec r = { GW_BUF_INIT, GW_BUF_INIT, "", "", 0 };
	gw_provider_sink sink = { &r, r_text, r_begin, r_args };
	gw_chat_state st = { 0 };
	const char *reply = "{\"choices\":[{\"message\":{\"content\":\"hi\",\"tool_calls\":[{\"id\":\"x\","
	    "\"type\":\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}}]},"
	    "\"finish_reason\":\"tool_calls\"}],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":4,\"total_tokens\":7}}";
	assert_int_equal(gw_chat_apply_reply(reply, strlen(reply), &sink, &st), 0);
	assert_string_equal(r.text.data, "hi");
	assert_string_equal(r.call_id, "x");
	assert_string_equal(r.args.data, "{}");
	assert_string_equal(st.finish, "tool_calls");
	assert_int_equal(st.usage.total_tokens, 7);
	assert_true(st.done && st.emitted);
	gw_chat_state st2 = { 0 };
	assert_int_equal(gw_chat_apply_reply("{\"choices\":[]}", 14, &sink, &st2), -EPROTO);
	assert_int_equal(gw_chat_apply_reply("<html>", 6, &sink, &st2), -EPROTO);
	assert_int_equal(gw_chat_apply_reply("{\"error\":{\"message\":\"secret\"}}", 30, &sink, &st2), -EPROTO);
	assert_null(strstr(st2.error, "secret")); /* upstream bodies are never echoed */
	gw_buf_free(&r.text);
	gw_buf_free(&r.args);
}

static int
on_event(void *ctx, const char *data, size_t n)
{
	rec *r = ctx;
	gw_provider_sink sink = { r, r_text, r_begin, r_args };
	static gw_chat_state st;
	return gw_chat_apply_chunk(data, n, &sink, &st);
}

/* Feeds the stream cut at every pair of positions; the text must always
 * come out whole, including the multi-byte characters. */
static void
test_sse_every_split(void **state)
{
	(void)state;
	const char *stream =
	    ": comment\r\n"
	    "data: {\"choices\":[{\"delta\":{\"content\":\"h\xc3\xa9llo \"}}]}\r\n\r\n"
	    "data: {\"choices\":[{\"delta\":{\"content\":\"\xe2\x9c\x93 \xe6\x97\xa5\xe6\x9c\xac\"}}]}\n\n"
	    "data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"c\",\"function\":{\"name\":\"f\",\"arguments\":\"{\\\"a\\\"\"}}]}}]}\n\n"
	    "data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\":1}\"}}]},\"finish_reason\":\"stop\"}]}\n\n"
	    "data: [DONE]\n\n";
	size_t n = strlen(stream);
	for (size_t i = 0; i <= n; i += 3) {
		for (size_t j = i; j <= n; j += 5) {
			rec r = { GW_BUF_INIT, GW_BUF_INIT, "", "", 0 };
			gw_chat_sse s = { GW_BUF_INIT, GW_BUF_INIT, false };
			assert_int_equal(gw_chat_sse_feed(&s, stream, i, on_event, &r), 0);
			assert_int_equal(gw_chat_sse_feed(&s, stream + i, j - i, on_event, &r), 0);
			assert_int_equal(gw_chat_sse_feed(&s, stream + j, n - j, on_event, &r), 0);
			assert_int_equal(gw_chat_sse_end(&s, on_event, &r), 0);
			assert_string_equal(gw_buf_cstr(&r.text), "h\xc3\xa9llo \xe2\x9c\x93 \xe6\x97\xa5\xe6\x9c\xac");
			assert_string_equal(gw_buf_cstr(&r.args), "{\"a\":1}");
			assert_string_equal(r.name, "f");
			gw_chat_sse_free(&s);
			gw_buf_free(&r.text);
			gw_buf_free(&r.args);
		}
	}
}

static void
test_sse_byte_by_byte_and_unterminated(void **state)
{
	(void)state;
	const char *stream = "data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\n"
	    "data: {\"choices\":[{\"delta\":{\"content\":\"b\"}}]}"; /* no final blank line */
	rec r = { GW_BUF_INIT, GW_BUF_INIT, "", "", 0 };
	gw_chat_sse s = { GW_BUF_INIT, GW_BUF_INIT, false };
	for (size_t i = 0; stream[i]; i++)
		assert_int_equal(gw_chat_sse_feed(&s, stream + i, 1, on_event, &r), 0);
	assert_string_equal(gw_buf_cstr(&r.text), "a");
	assert_int_equal(gw_chat_sse_end(&s, on_event, &r), 0);
	assert_string_equal(gw_buf_cstr(&r.text), "ab");
	/* a garbage data line stops the feed with -EPROTO */
	assert_int_equal(gw_chat_sse_feed(&s, "data: nope\n\n", 12, on_event, &r), -EPROTO);
	gw_chat_sse_free(&s);
	gw_buf_free(&r.text);
	gw_buf_free(&r.args);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request_translation),
		cmocka_unit_test(test_reply_translation),
		cmocka_unit_test(test_sse_every_split),
		cmocka_unit_test(test_sse_byte_by_byte_and_unterminated),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
