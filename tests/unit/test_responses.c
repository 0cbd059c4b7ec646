/*
 * test_responses.c - Open Responses request validation and translation into
 * normalized items, ignored_fields, and the streaming event builder
 * (sequence numbers, item lifecycle, terminal events).
 */
#include "unit.h"

#include "core/openresponses/responses.h"
#include "core/base/json.h"

static int
parse(const char *body, gw_resp_request *r, gw_resp_error *e)
{
	return gw_resp_request_parse(body, strlen(body), 1000, r, e);
}

static void
test_string_input_becomes_user_message(void **state)
{
	(void)state;
	gw_resp_request r;
	gw_resp_error e;
	assert_int_equal(parse("{\"input\":\"hi there\"}", &r, &e), 0);
	char *s = cJSON_PrintUnformatted(r.input);
	assert_string_equal(s, "[{\"type\":\"message\",\"role\":\"user\",\"content\":"
	    "[{\"type\":\"input_text\",\"text\":\"hi there\"}]}]");
	cJSON_free(s);
	assert_true(r.store);
	assert_false(r.stream);
	assert_null(r.session_seed);
	assert_int_equal(r.input_chars, 8);
	gw_resp_request_free(&r);
}

static void
test_items_roles_images_and_calls(void **state)
{
	(void)state;
	gw_resp_request r;
	gw_resp_error e;
	assert_int_equal(parse("{\"input\":["
	    "{\"role\":\"Developer\",\"content\":\"rules\"},"
	    "{\"type\":\"message\",\"role\":\"user\",\"content\":[{\"type\":\"input_text\",\"text\":\"a\"},"
	    "{\"type\":\"input_image\",\"image_url\":\"https://x/y.png\"}]},"
	    "{\"type\":\"message\",\"role\":\"assistant\",\"content\":\"b\"},"
	    "{\"type\":\"function_call\",\"call_id\":\"c1\",\"name\":\"f\",\"arguments\":{\"k\":1}},"
	    "{\"type\":\"function_call_output\",\"call_id\":\"c1\",\"output\":[{\"type\":\"input_text\",\"text\":\"out\"}]}"
	    "]}", &r, &e), 0);
	assert_int_equal(cJSON_GetArraySize(r.input), 5);
	char *s = cJSON_PrintUnformatted(r.input);
	ut_assert_contains(s, "{\"type\":\"message\",\"role\":\"developer\"");
	ut_assert_contains(s, "{\"type\":\"input_image\",\"image_url\":\"https://x/y.png\",\"detail\":\"auto\"}");
	ut_assert_contains(s, "{\"type\":\"output_text\",\"text\":\"b\"}");
	ut_assert_contains(s, "\"arguments\":\"{\\\"k\\\":1}\"");
	ut_assert_contains(s, "{\"type\":\"function_call_output\",\"call_id\":\"c1\",\"output\":\"out\"}");
	cJSON_free(s);
	gw_resp_request_free(&r);
}

static void
test_ignored_fields_sorted_and_model(void **state)
{
	(void)state;
	gw_resp_request r;
	gw_resp_error e;
	assert_int_equal(parse("{\"zz\":1,\"model\":\"m\",\"aa\":null,\"text\":null,"
	    "\"input\":[{\"type\":\"item_reference\",\"id\":\"x\"},\"ok\"]}", &r, &e), 0);
	char *s = cJSON_PrintUnformatted(r.ignored);
	/* "text": null is a known, unset field: not listed */
	assert_string_equal(s, "[\"aa\",\"input[0]\",\"model\",\"zz\"]");
	cJSON_free(s);
	gw_resp_request_free(&r);
}

static void
test_session_seed_precedence(void **state)
{
	(void)state;
	gw_resp_request r;
	gw_resp_error e;
	assert_int_equal(parse("{\"input\":\"x\",\"conversation\":\"c\",\"metadata\":{\"session_id\":\" s \"}}", &r, &e), 0);
	assert_string_equal(r.session_seed, "s");
	gw_resp_request_free(&r);
	assert_int_equal(parse("{\"input\":\"x\",\"conversation\":{\"id\":\"c\"},\"metadata\":{\"session_id\":\"  \"}}", &r, &e), 0);
	assert_string_equal(r.session_seed, "c");
	gw_resp_request_free(&r);
	assert_int_equal(parse("{\"input\":\"x\",\"previous_response_id\":\"resp_1\"}", &r, &e), 0);
	assert_null(r.session_seed);
	assert_string_equal(r.previous_response_id, "resp_1");
	gw_resp_request_free(&r);
}

static void
expect_error(const char *body, unsigned status, const char *code)
{
	gw_resp_request r;
	gw_resp_error e;
	assert_int_equal(parse(body, &r, &e), -EINVAL);
	assert_int_equal(e.status, status);
	assert_string_equal(e.code, code);
	assert_true(e.message[0] != '\0');
	gw_resp_request_free(&r);
}

static void
test_error_table(void **state)
{
	(void)state;
	expect_error("", 400, "malformed_json");
	expect_error("{\"input\":", 400, "malformed_json");
	expect_error("[]", 400, "malformed_json");
	expect_error("{}", 400, "missing_input");
	expect_error("{\"input\":\" \"}", 400, "missing_input");
	expect_error("{\"input\":[{\"type\":\"reasoning\"}]}", 400, "missing_input");
	expect_error("{\"input\":1}", 400, "invalid_input");
	expect_error("{\"input\":\"x\",\"stream\":1}", 400, "invalid_type");
	expect_error("{\"input\":\"x\",\"top_p\":2}", 400, "invalid_value");
	expect_error("{\"input\":[{\"type\":\"function_call_output\",\"call_id\":\"c\",\"output\":\"\"}]}",
	    400, "invalid_function_call_output");
	expect_error("{\"input\":[{\"type\":\"function_call\",\"name\":\"f\"}]}", 400,
	    "missing_required_parameter");
	char big[1100];
	snprintf(big, sizeof(big), "{\"input\":\"%0*d\"}", 1001, 0);
	expect_error(big, 413, "input_too_large");
}

static void
test_error_json_shape(void **state)
{
	(void)state;
	gw_resp_error e;
	gw_resp_error_set(&e, 401, "unauthorized", NULL, "missing or invalid bearer token");
	gw_buf b = GW_BUF_INIT;
	gw_resp_error_json(&e, &b);
	assert_string_equal(b.data, "{\"error\":{\"code\":\"unauthorized\",\"message\":\"missing or "
	    "invalid bearer token\",\"param\":null,\"type\":\"invalid_request_error\"}}");
	gw_buf_reset(&b);
	gw_resp_error_set(&e, 502, "upstream_error", "x", "m");
	gw_resp_error_json(&e, &b);
	ut_assert_contains(b.data, "\"param\":\"x\",\"type\":\"server_error\"");
	gw_buf_free(&b);
}

/* ---- builder ---- */

typedef struct frames {
	gw_buf all;
	int n;
} frames;

static void
on_frame(void *ctx, const char *f, size_t n)
{
	frames *fr = ctx;
	/* one complete event per call: event line, one data line, blank line */
	assert_true(n > 8 && memcmp(f, "event: ", 7) == 0);
	assert_true(f[n - 1] == '\n' && f[n - 2] == '\n');
	const char *nl = memchr(f, '\n', n);
	assert_true(nl && memcmp(nl + 1, "data: {", 7) == 0);
	assert_ptr_equal(memchr(nl + 1, '\n', n - (size_t)(nl + 1 - f)), f + n - 2);
	gw_buf_append(&fr->all, f, n);
	fr->n++;
}

static void
test_builder_text_sequence(void **state)
{
	(void)state;
	gw_resp_request r;
	gw_resp_error e;
	assert_int_equal(parse("{\"input\":\"x\",\"stream\":true}", &r, &e), 0);
	frames fr = { GW_BUF_INIT, 0 };
	gw_resp_builder *b = gw_resp_builder_new(&r, "local/echo", 1700000000, on_frame, &fr);
	gw_resp_builder_begin(b);
	gw_resp_builder_text(b, "hel", 3);
	gw_resp_builder_text(b, "lo", 2);
	gw_resp_usage u = { 1, 2, 0 };
	gw_resp_builder_finish(b, &u, NULL);
	int before_end = fr.n;
	gw_resp_builder_end(b);
	assert_int_equal(fr.n, before_end + 1);
	assert_int_equal(fr.n, 10);
	const char *want[] = { "response.created", "response.in_progress", "response.output_item.added",
		"response.content_part.added", "response.output_text.delta", "response.output_text.delta",
		"response.output_text.done", "response.content_part.done", "response.output_item.done",
		"response.completed" };
	const char *p = fr.all.data;
	for (int i = 0; i < 10; i++) {
		char line[128];
		snprintf(line, sizeof(line), "event: %s\ndata: {\"type\":\"%s\",\"sequence_number\":%d,",
		    want[i], want[i], i);
		assert_memory_equal(p, line, strlen(line));
		p = strstr(p, "\n\n") + 2;
	}
	gw_buf json = GW_BUF_INIT;
	gw_resp_builder_json(b, &json);
	ut_assert_contains(json.data, "\"status\":\"completed\"");
	ut_assert_contains(json.data, "\"output_text\":\"hello\"");
	ut_assert_contains(json.data, "\"total_tokens\":3");
	ut_assert_contains(json.data, "\"annotations\":[]");
	gw_buf_free(&json);
	gw_buf_free(&fr.all);
	gw_resp_builder_free(b);
	gw_resp_request_free(&r);
}

/* A caller-chosen id (the server picks it on its loop thread) is the one
 * every frame and the final object carry. */
static void
test_builder_set_id(void **state)
{
	(void)state;
	gw_resp_request r;
	gw_resp_error e;
	assert_int_equal(parse("{\"input\":\"x\",\"stream\":true}", &r, &e), 0);
	frames fr = { GW_BUF_INIT, 0 };
	gw_resp_builder *b = gw_resp_builder_new(&r, "local/echo", 1700000000, on_frame, &fr);
	gw_buf id = GW_BUF_INIT;
	gw_resp_new_id(&id, "resp_");
	assert_string_not_equal(gw_resp_builder_id(b), id.data);
	gw_resp_builder_set_id(b, id.data);
	assert_string_equal(gw_resp_builder_id(b), id.data);
	gw_resp_builder_begin(b);
	gw_resp_builder_text(b, "hi", 2);
	gw_resp_usage u = { 1, 1, 0 };
	gw_resp_builder_finish(b, &u, NULL);
	gw_buf want = GW_BUF_INIT;
	gw_buf_printf(&want, "\"id\":\"%s\"", id.data);
	ut_assert_contains(fr.all.data, want.data);
	gw_buf json = GW_BUF_INIT;
	gw_resp_builder_json(b, &json);
	ut_assert_contains(json.data, want.data);
	gw_buf_free(&json);
	gw_buf_free(&want);
	gw_buf_free(&id);
	gw_buf_free(&fr.all);
	gw_resp_builder_free(b);
	gw_resp_request_free(&r);
}

static void
test_builder_tool_then_fail(void **state)
{
	(void)state;
	gw_resp_request r;
	gw_resp_error e;
	assert_int_equal(parse("{\"input\":\"x\"}", &r, &e), 0);
	frames fr = { GW_BUF_INIT, 0 };
	gw_resp_builder *b = gw_resp_builder_new(&r, "m", 1, on_frame, &fr);
	gw_resp_builder_tool_begin(b, 0, "call_1", "f");
	gw_resp_builder_tool_args(b, 0, "{\"a\"", 4);
	gw_resp_builder_tool_begin(b, 0, NULL, NULL); /* repeated fragment: same call */
	gw_resp_builder_tool_args(b, 0, ":1}", 3);
	gw_resp_builder_text(b, "t", 1);              /* closes the call */
	gw_resp_builder_fail(b, "upstream_error", "boom");
	gw_resp_builder_end(b);
	gw_resp_builder_end(b);                       /* only once */
	ut_assert_contains(fr.all.data, "\"type\":\"response.function_call_arguments.done\"");
	ut_assert_contains(fr.all.data, "\"arguments\":\"{\\\"a\\\":1}\"");
	ut_assert_contains(fr.all.data, "event: response.failed\n");
	assert_null(strstr(strstr(fr.all.data, "event: response.failed") + 1, "event: response.failed"));
	const cJSON *out = gw_resp_builder_output(b);
	assert_int_equal(cJSON_GetArraySize(out), 2);
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(out, 1), "status")->valuestring,
	    "incomplete");
	gw_buf json = GW_BUF_INIT;
	gw_resp_builder_json(b, &json);
	ut_assert_contains(json.data, "\"status\":\"failed\"");
	ut_assert_contains(json.data, "\"error\":{\"code\":\"upstream_error\",\"message\":\"boom\"}");
	ut_assert_contains(json.data, "\"completed_at\":null");
	gw_buf_free(&json);
	gw_buf_free(&fr.all);
	gw_resp_builder_free(b);
	gw_resp_request_free(&r);
}

static void
test_utf8_and_words(void **state)
{
	(void)state;
	assert_int_equal(gw_resp_utf8_chars("h\xc3\xa9\xe2\x9c\x93", 6), 3);
	assert_int_equal(gw_resp_count_words("  a bb\tc\n"), 3);
	gw_buf id = GW_BUF_INIT;
	gw_resp_new_id(&id, "resp_");
	assert_int_equal(id.len, 5 + 32);
	gw_buf_free(&id);
}

/* Strings cJSON would keep as invalid UTF-8 or cut at a NUL are refused,
 * naming the member and the byte. */
static void
test_invalid_utf8_and_nul_refused(void **state)
{
	(void)state;
	gw_resp_request r;
	gw_resp_error e;
	static const char bad[] = "{\"input\":\"\xff\xfe\"}";
	assert_int_equal(gw_resp_request_parse(bad, sizeof(bad) - 1, 1000, &r, &e), -EINVAL);
	assert_int_equal(e.status, 400);
	assert_string_equal(e.code, "invalid_value");
	assert_string_equal(e.param, "input");
	assert_string_equal(e.message, "input: invalid UTF-8 at byte 10");
	gw_resp_request_free(&r);
	assert_int_equal(parse("{\"input\":\"hi\\u0000secret\"}", &r, &e), -EINVAL);
	assert_int_equal(e.status, 400);
	assert_string_equal(e.param, "input");
	assert_string_equal(e.message, "input: NUL character (\\u0000) at byte 12 is not allowed");
	gw_resp_request_free(&r);
	assert_int_equal(parse("{\"input\":\"x\",\"metadata\":{\"session_id\":\"a\\u0000b\"}}", &r, &e),
	    -EINVAL);
	assert_string_equal(e.param, "metadata.session_id");
	gw_resp_request_free(&r);
	assert_int_equal(parse("{\"input\":\"x\",\"instructions\":\"i\\u0000\"}", &r, &e), -EINVAL);
	assert_string_equal(e.param, "instructions");
	gw_resp_request_free(&r);
	/* a raw NUL byte in a string */
	static const char raw[] = "{\"input\":\"a\0b\"}";
	assert_int_equal(gw_resp_request_parse(raw, sizeof(raw) - 1, 1000, &r, &e), -EINVAL);
	assert_string_equal(e.param, "input");
	gw_resp_request_free(&r);
	/* other escapes and real UTF-8 still pass */
	assert_int_equal(parse("{\"input\":\"caf\xc3\xa9 \\u00e9\\n\"}", &r, &e), 0);
	gw_resp_request_free(&r);
}

/* An input_image URL (a data URL carries the image) counts toward the
 * input limit like text. */
static void
test_image_url_counts_toward_input_limit(void **state)
{
	(void)state;
	gw_resp_request r;
	gw_resp_error e;
	gw_buf b = GW_BUF_INIT;
	gw_buf_puts(&b, "{\"input\":[{\"role\":\"user\",\"content\":[{\"type\":\"input_text\",\"text\":\"hi\"},"
	    "{\"type\":\"input_image\",\"image_url\":\"data:image/png;base64,");
	for (int i = 0; i < 2000; i++)
		gw_buf_putc(&b, 'A');
	gw_buf_puts(&b, "\"}]}]}");
	/* 2 + 22 + 2000 characters */
	assert_int_equal(gw_resp_request_parse(b.data, b.len, 3000, &r, &e), 0);
	assert_int_equal(r.input_chars, 2024);
	gw_resp_request_free(&r);
	assert_int_equal(gw_resp_request_parse(b.data, b.len, 2023, &r, &e), -EINVAL);
	assert_int_equal(e.status, 413);
	assert_string_equal(e.code, "input_too_large");
	gw_resp_request_free(&r);
	gw_buf_free(&b);
}

/* gw_resp_items_bound: newest kept, at most max_items, at most max_bytes
 * of weights (compact JSON + 1, checked against cJSON's own printer), then
 * starting at a user/system turn; 0 bytes is no byte bound. */
static cJSON *
bound_items(void)
{
	/* u1 a1 u2 a2 ... u5 a5, text i of i * 10 bytes */
	cJSON *items = cJSON_CreateArray();
	for (int i = 1; i <= 10; i++) {
		cJSON *m = cJSON_CreateObject();
		cJSON_AddStringToObject(m, "type", "message");
		cJSON_AddStringToObject(m, "role", i % 2 ? "user" : "assistant");
		cJSON *c = cJSON_AddArrayToObject(m, "content");
		cJSON *part = cJSON_CreateObject();
		char t[128];
		memset(t, 'x', sizeof(t));
		t[0] = i % 2 ? 'u' : 'a';
		t[1] = (char)('0' + (i + 1) / 2);
		t[i * 10] = '\0';
		cJSON_AddStringToObject(part, "type", "input_text");
		cJSON_AddStringToObject(part, "text", t);
		cJSON_AddItemToArray(c, part);
		cJSON_AddItemToArray(items, m);
	}
	return items;
}

static size_t
cjson_weight(const cJSON *it)
{
	char *p = cJSON_PrintUnformatted(it);
	size_t n = strlen(p) + 1;
	free(p);
	return n;
}

static void
test_items_bound(void **state)
{
	(void)state;
	gw_buf scratch = GW_BUF_INIT;
	cJSON *items = bound_items();
	size_t w[10], k = 0;
	for (const cJSON *it = items->child; it; it = it->next, k++) {
		w[k] = cjson_weight(it);
		assert_int_equal(gw_resp_item_weight(it, &scratch), w[k]);
	}
	cJSON_Delete(items);
	/* by count: 4 newest is u4 a4 u5 a5; 3 newest begins at a4: cut */
	items = bound_items();
	assert_int_equal(gw_resp_items_bound(items, 4, 0, 0), 6);
	assert_int_equal(cJSON_GetArraySize(items), 4);
	cJSON_Delete(items);
	items = bound_items();
	assert_int_equal(gw_resp_items_bound(items, 3, 0, 0), 8);
	assert_int_equal(cJSON_GetArraySize(items), 2);
	cJSON_Delete(items);
	/* by bytes, exactly: the 4 newest weigh w6..w9; one byte less keeps 3,
	 * cut to the turn at u5 (2 items) */
	size_t four = w[6] + w[7] + w[8] + w[9];
	items = bound_items();
	assert_int_equal(gw_resp_items_bound(items, 100, four, 0), 6);
	cJSON_Delete(items);
	items = bound_items();
	assert_int_equal(gw_resp_items_bound(items, 100, four - 1, 0), 8);
	assert_string_equal(gw_json_str(items->child, "role"), "user");
	cJSON_Delete(items);
	/* the newest alone too heavy: nothing kept; 0 items: nothing */
	items = bound_items();
	assert_int_equal(gw_resp_items_bound(items, 100, w[9] - 1, 0), 10);
	assert_null(items->child);
	cJSON_Delete(items);
	items = bound_items();
	assert_int_equal(gw_resp_items_bound(items, 0, 0, 0), 10);
	cJSON_Delete(items);
	/* the text the items came from: when GW_RESP_WEIGHT_MAX_GROWTH times
	 * its length is within the bound, nothing is weighed (a length that
	 * lies shows it: the byte bound is then not applied); their real
	 * text's length changes nothing */
	items = bound_items();
	char *text = cJSON_PrintUnformatted(items);
	size_t len = strlen(text);
	free(text);
	assert_int_equal(gw_resp_items_bound(items, 100, four - 1, len), 8);
	cJSON_Delete(items);
	items = bound_items();
	assert_int_equal(gw_resp_items_bound(items, 100, four - 1,
	    (four - 1) / GW_RESP_WEIGHT_MAX_GROWTH), 0);
	cJSON_Delete(items);
	items = bound_items();
	assert_int_equal(gw_resp_items_bound(items, 100, four - 1,
	    (four - 1) / GW_RESP_WEIGHT_MAX_GROWTH + 1), 8);
	cJSON_Delete(items);
	/* no bound reached: nothing dropped */
	items = bound_items();
	assert_int_equal(gw_resp_items_bound(items, 10, 100000, 0), 0);
	cJSON_Delete(items);
	gw_buf_free(&scratch);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_string_input_becomes_user_message),
		cmocka_unit_test(test_items_roles_images_and_calls),
		cmocka_unit_test(test_ignored_fields_sorted_and_model),
		cmocka_unit_test(test_session_seed_precedence),
		cmocka_unit_test(test_error_table),
		cmocka_unit_test(test_error_json_shape),
		cmocka_unit_test(test_builder_text_sequence),
		cmocka_unit_test(test_builder_set_id),
		cmocka_unit_test(test_builder_tool_then_fail),
		cmocka_unit_test(test_utf8_and_words),
		cmocka_unit_test(test_invalid_utf8_and_nul_refused),
		cmocka_unit_test(test_image_url_counts_toward_input_limit),
		cmocka_unit_test(test_items_bound),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
