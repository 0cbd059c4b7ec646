/*
 * test_chatin.c - the inbound Chat Completions wire: translation of
 * messages (roles, parts, tool calls, tool results) into normalized items,
 * the members it honours and ignores, errors naming the chat field, the
 * chat.completion object and the chunk stream (role first, deltas, finish,
 * usage only when asked for, [DONE]; an error frame and no [DONE]).
 */
#include "unit.h"

#include "core/base/json.h"
#include "core/openresponses/chatin.h"

static int
parse(const char *body, gw_resp_request *r, bool *usage, gw_resp_error *e)
{
	char *model = NULL;
	int rc = gw_chatin_parse(body, strlen(body), 100000, r, usage, &model, e);
	free(model);
	return rc;
}

static char *
items(const gw_resp_request *r)
{
	return cJSON_PrintUnformatted(r->input);
}

static void
test_messages_translated(void **state)
{
	(void)state;
	gw_resp_request r;
	gw_resp_error e;
	bool usage;
	assert_int_equal(parse("{\"model\":\"m\",\"messages\":["
	    "{\"role\":\"developer\",\"content\":[{\"type\":\"text\",\"text\":\"be brief\"}]},"
	    "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"look\"},"
	    "{\"type\":\"image_url\",\"image_url\":{\"url\":\"https://x/i.png\",\"detail\":\"low\"}}]},"
	    "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"c1\",\"type\":\"function\","
	    "\"function\":{\"name\":\"f\",\"arguments\":\"{\\\"a\\\":1}\"}}]},"
	    "{\"role\":\"tool\",\"tool_call_id\":\"c1\",\"content\":\"done\"}],"
	    "\"stream\":true,\"stream_options\":{\"include_usage\":true},\"max_tokens\":5,"
	    "\"max_completion_tokens\":7,\"metadata\":{\"session_id\":\"s\"},\"user\":\"u\"}",
	    &r, &usage, &e), 0);
	char *s = items(&r);
	assert_string_equal(s,
	    "[{\"type\":\"message\",\"role\":\"developer\",\"content\":[{\"type\":\"input_text\",\"text\":\"be brief\"}]},"
	    "{\"type\":\"message\",\"role\":\"user\",\"content\":[{\"type\":\"input_text\",\"text\":\"look\"},"
	    "{\"type\":\"input_image\",\"image_url\":\"https://x/i.png\",\"detail\":\"low\"}]},"
	    "{\"type\":\"function_call\",\"call_id\":\"c1\",\"name\":\"f\",\"arguments\":\"{\\\"a\\\":1}\"},"
	    "{\"type\":\"function_call_output\",\"call_id\":\"c1\",\"output\":\"done\"}]");
	cJSON_free(s);
	assert_true(r.stream);
	assert_true(usage);
	assert_false(r.store);
	assert_null(r.session_seed); /* metadata.session_id: no session here */
	assert_true(r.has_max_output_tokens);
	assert_int_equal(r.max_output_tokens, 7); /* max_completion_tokens wins */
	s = cJSON_PrintUnformatted(r.ignored);
	assert_string_equal(s, "[\"metadata\",\"user\"]");
	cJSON_free(s);
	gw_resp_request_free(&r);
}

static void
test_tools_and_choice(void **state)
{
	(void)state;
	gw_resp_request r;
	gw_resp_error e;
	bool usage;
	assert_int_equal(parse("{\"messages\":[{\"role\":\"user\",\"content\":\"w\"}],"
	    "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"get\",\"parameters\":{\"type\":\"object\"}}}],"
	    "\"tool_choice\":{\"type\":\"function\",\"function\":{\"name\":\"get\"}},\"temperature\":0.5}",
	    &r, &usage, &e), 0);
	assert_string_equal(gw_json_str(r.tools->child, "name"), "get");
	assert_string_equal(gw_json_str(r.tool_choice, "name"), "get");
	assert_true(r.has_temperature);
	assert_false(usage);
	gw_resp_request_free(&r);
}

static void
test_errors_name_the_field(void **state)
{
	(void)state;
	static const struct { const char *body, *code, *param; } cases[] = {
		{ "{\"messages\":", "malformed_json", "" },
		{ "[]", "malformed_json", "" },
		{ "{}", "missing_required_parameter", "messages" },
		{ "{\"messages\":{}}", "invalid_type", "messages" },
		{ "{\"messages\":[{\"content\":\"x\"}]}", "missing_required_parameter", "messages[0].role" },
		{ "{\"messages\":[{\"role\":\"user\"}]}", "missing_required_parameter", "messages[0].content" },
		{ "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"input_audio\"}]}]}",
		    "invalid_value", "messages[0].content[0].type" },
		{ "{\"messages\":[{\"role\":\"system\",\"content\":[{\"type\":\"image_url\"}]}]}",
		    "invalid_value", "messages[0].content[0]" },
		{ "{\"messages\":[{\"role\":\"user\",\"content\":\"a\"},{\"role\":\"assistant\","
		    "\"tool_calls\":[{\"id\":\"c\",\"function\":{}}]}]}",
		    "missing_required_parameter", "messages[1].tool_calls[0].function.name" },
		{ "{\"messages\":[{\"role\":\"user\",\"content\":\"a\"}],\"tools\":[{\"type\":\"web\"}]}",
		    "invalid_value", "tools[0].type" },
		{ "{\"messages\":[{\"role\":\"user\",\"content\":\"a\"}],\"temperature\":\"hot\"}",
		    "invalid_type", "temperature" },
		{ "{\"messages\":[{\"role\":\"user\",\"content\":\"a\"}],\"stream\":1}", "invalid_type", "stream" },
		{ "{\"messages\":[{\"role\":\"user\",\"content\":\"a\"}],\"max_completion_tokens\":-1}",
		    "invalid_value", "max_completion_tokens" },
		{ "{\"messages\":[{\"role\":\"user\",\"content\":\"a\\u0000\"}]}", "invalid_value",
		    "messages[0].content" },
		{ "{\"messages\":[{\"role\":\"user\",\"content\":\"   \"}]}", "invalid_value", "messages" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		gw_resp_request r;
		gw_resp_error e;
		bool usage;
		assert_int_equal(parse(cases[i].body, &r, &usage, &e), -EINVAL);
		if (strcmp(e.code, cases[i].code) != 0 || strcmp(e.param, cases[i].param) != 0)
			fail_msg("case %zu: got %s/%s (%s)", i, e.code, e.param, e.message);
		assert_int_equal(e.status, 400);
		gw_resp_request_free(&r);
	}
	/* the translated input counts against the limit: 413 */
	gw_resp_request r;
	gw_resp_error e;
	bool usage;
	char *model = NULL;
	const char *big = "{\"messages\":[{\"role\":\"user\",\"content\":\"0123456789\"}]}";
	assert_int_equal(gw_chatin_parse(big, strlen(big), 5, &r, &usage, &model, &e), -EINVAL);
	assert_int_equal(e.status, 413);
	gw_resp_request_free(&r);
	free(model);
}

static void
test_completion_json(void **state)
{
	(void)state;
	cJSON *out = cJSON_Parse("[{\"type\":\"message\",\"role\":\"assistant\",\"content\":"
	    "[{\"type\":\"output_text\",\"text\":\"hi\"}]},{\"type\":\"function_call\",\"call_id\":\"c9\","
	    "\"name\":\"f\",\"arguments\":\"{}\"}]");
	gw_resp_usage u = { 3, 4, 7 };
	gw_buf b = GW_BUF_INIT;
	gw_chatin_json("chatcmpl-1", "local/echo", 42, out, "stop", &u, &b);
	assert_string_equal(gw_buf_cstr(&b),
	    "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\",\"created\":42,\"model\":\"local/echo\","
	    "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"hi\",\"refusal\":null,"
	    "\"tool_calls\":[{\"id\":\"c9\",\"type\":\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}}]},"
	    "\"logprobs\":null,\"finish_reason\":\"tool_calls\"}],"
	    "\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":4,\"total_tokens\":7}}");
	gw_buf_free(&b);
	cJSON_Delete(out);
	assert_string_equal(gw_chatin_finish_reason("length", true), "length");
	assert_string_equal(gw_chatin_finish_reason("stop", false), "stop");
}

static void
collect(void *ctx, const char *frame, size_t n)
{
	gw_buf_append(ctx, frame, n);
}

static void
test_stream_chunks(void **state)
{
	(void)state;
	gw_buf b = GW_BUF_INIT;
	gw_resp_usage u = { 1, 2, 3 };
	gw_chatin_stream *s = gw_chatin_stream_new("chatcmpl-2", "m", 1, true, collect, &b);
	gw_chatin_stream_text(s, "he", 2);
	gw_chatin_stream_tool_begin(s, 0, "c1", "f");
	gw_chatin_stream_tool_args(s, 0, "{}", 2);
	gw_chatin_stream_finish(s, "stop", &u);
	gw_chatin_stream_free(s);
	const char *t = gw_buf_cstr(&b);
	/* role first, once */
	assert_non_null(strstr(t, "\"delta\":{\"role\":\"assistant\",\"content\":\"\"}"));
	assert_null(strstr(strstr(t, "\"role\"") + 1, "\"role\""));
	assert_non_null(strstr(t, "\"delta\":{\"content\":\"he\"}"));
	assert_non_null(strstr(t, "\"tool_calls\":[{\"index\":0,\"id\":\"c1\",\"type\":\"function\","
	    "\"function\":{\"name\":\"f\",\"arguments\":\"\"}}]"));
	assert_non_null(strstr(t, "\"finish_reason\":\"tool_calls\"}],\"usage\":null}"));
	assert_non_null(strstr(t, "\"choices\":[],\"usage\":{\"prompt_tokens\":1,"));
	size_t n = strlen(t);
	assert_true(n > strlen(GW_RESP_SSE_DONE));
	assert_string_equal(t + n - strlen(GW_RESP_SSE_DONE), GW_RESP_SSE_DONE);
	gw_buf_free(&b);
	/* without include_usage: no usage member at all; a failure: no [DONE] */
	s = gw_chatin_stream_new("chatcmpl-3", "m", 1, false, collect, &b);
	gw_chatin_stream_text(s, "x", 1);
	gw_resp_error e;
	gw_resp_error_set(&e, 502, "upstream_error", NULL, "boom");
	gw_chatin_stream_fail(s, &e);
	gw_chatin_stream_free(s);
	t = gw_buf_cstr(&b);
	assert_null(strstr(t, "\"usage\""));
	assert_null(strstr(t, "[DONE]"));
	assert_non_null(strstr(t, "data: {\"error\":{\"code\":\"upstream_error\""));
	gw_buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_messages_translated),
		cmocka_unit_test(test_tools_and_choice),
		cmocka_unit_test(test_errors_name_the_field),
		cmocka_unit_test(test_completion_json),
		cmocka_unit_test(test_stream_chunks),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
