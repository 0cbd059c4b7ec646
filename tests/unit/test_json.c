/*
 * test_json.c - the exact-format writer (compact and pretty), escaping,
 * raw re-indentation, parse errors with positions, u64 reading, key
 * sorting, and the non-recursive scanner on nested, deep and malformed
 * input.
 */
#include "unit.h"

#include "core/json.h"

static void
test_compact_writer(void **state)
{
	(void)state;
	gw_buf b = GW_BUF_INIT;
	gw_jw w;
	gw_jw_init(&w, &b, false);
	gw_jw_obj_begin(&w);
	gw_jw_kstr(&w, "s", "x");
	gw_jw_ku64(&w, "u", UINT64_MAX);
	gw_jw_key(&w, "i");
	gw_jw_i64(&w, INT64_MIN);
	gw_jw_kbool(&w, "b", false);
	gw_jw_key(&w, "n");
	gw_jw_null(&w);
	gw_jw_key(&w, "a");
	gw_jw_arr_begin(&w);
	gw_jw_u64(&w, 1);
	gw_jw_str(&w, NULL);
	gw_jw_double(&w, 0.5);
	gw_jw_double(&w, 3.0);
	gw_jw_arr_end(&w);
	gw_jw_obj_end(&w);
	assert_string_equal(b.data, "{\"s\":\"x\",\"u\":18446744073709551615,\"i\":-9223372036854775808,"
	    "\"b\":false,\"n\":null,\"a\":[1,\"\",0.5,3]}");
	gw_buf_free(&b);
}

static void
test_pretty_writer_and_empty_containers(void **state)
{
	(void)state;
	gw_buf b = GW_BUF_INIT;
	gw_jw w;
	gw_jw_init(&w, &b, true);
	gw_jw_obj_begin(&w);
	gw_jw_ku64(&w, "a", 1);
	gw_jw_key(&w, "empty_arr");
	gw_jw_arr_begin(&w);
	gw_jw_arr_end(&w);
	gw_jw_key(&w, "empty_obj");
	gw_jw_obj_begin(&w);
	gw_jw_obj_end(&w);
	gw_jw_key(&w, "list");
	gw_jw_arr_begin(&w);
	gw_jw_str(&w, "x");
	gw_jw_obj_begin(&w);
	gw_jw_kbool(&w, "t", true);
	gw_jw_obj_end(&w);
	gw_jw_arr_end(&w);
	gw_jw_obj_end(&w);
	assert_string_equal(b.data,
	    "{\n"
	    "  \"a\": 1,\n"
	    "  \"empty_arr\": [],\n"
	    "  \"empty_obj\": {},\n"
	    "  \"list\": [\n"
	    "    \"x\",\n"
	    "    {\n"
	    "      \"t\": true\n"
	    "    }\n"
	    "  ]\n"
	    "}");
	gw_buf_reset(&b);
	gw_jw_init(&w, &b, true);
	gw_jw_arr_begin(&w);
	gw_jw_arr_end(&w);
	assert_string_equal(b.data, "[]");
	gw_buf_free(&b);
}

static void
test_escaping_including_control_chars(void **state)
{
	(void)state;
	gw_buf b = GW_BUF_INIT;
	const char s[] = "q\"b\\n\nr\rt\tb\bf\f\x01\x1f\x7f é/";
	gw_json_escape(&b, s, sizeof(s) - 1);
	assert_string_equal(b.data,
	    "\"q\\\"b\\\\n\\nr\\rt\\tb\\bf\\f\\u0001\\u001f\x7f é/\"");
	gw_buf_reset(&b);
	/* embedded NUL with an explicit length */
	gw_json_escape(&b, "a\0b", 3);
	assert_string_equal(b.data, "\"a\\u0000b\"");
	/* round trip through cJSON */
	gw_buf_reset(&b);
	gw_json_escape(&b, s, sizeof(s) - 1);
	cJSON *v = cJSON_Parse(b.data);
	assert_true(cJSON_IsString(v));
	assert_string_equal(v->valuestring, s);
	cJSON_Delete(v);
	gw_buf_free(&b);
}

static void
test_raw_json_compact_and_reindented(void **state)
{
	(void)state;
	const char *raw = "{\"a\":[1,{}],\"b\":\"x,y:{[\\\"\",\"c\":{}}";
	gw_buf b = GW_BUF_INIT;
	gw_jw w;
	gw_jw_init(&w, &b, false);
	gw_jw_arr_begin(&w);
	gw_jw_raw_json(&w, raw, strlen(raw));
	gw_jw_arr_end(&w);
	gw_buf cmp = GW_BUF_INIT;
	gw_buf_printf(&cmp, "[%s]", raw);
	assert_string_equal(b.data, cmp.data);
	gw_buf_reset(&b);
	gw_jw_init(&w, &b, true);
	gw_jw_obj_begin(&w);
	gw_jw_key(&w, "k");
	gw_jw_raw_json(&w, raw, strlen(raw));
	gw_jw_obj_end(&w);
	assert_string_equal(b.data,
	    "{\n"
	    "  \"k\": {\n"
	    "    \"a\": [\n"
	    "      1,\n"
	    "      {}\n"
	    "    ],\n"
	    "    \"b\": \"x,y:{[\\\"\",\n"
	    "    \"c\": {}\n"
	    "  }\n"
	    "}");
	gw_buf_free(&b);
	gw_buf_free(&cmp);
}

static void
test_cjson_value_written_in_writer_style(void **state)
{
	(void)state;
	cJSON *v = cJSON_Parse("{\"z\":[true,null,-2,1.25],\"a\":\"s\"}");
	gw_buf b = GW_BUF_INIT;
	gw_jw w;
	gw_jw_init(&w, &b, false);
	gw_jw_cjson(&w, v);
	assert_string_equal(b.data, "{\"z\":[true,null,-2,1.25],\"a\":\"s\"}");
	gw_buf_reset(&b);
	gw_json_canonical(&b, v);
	assert_string_equal(b.data, "{\"a\":\"s\",\"z\":[true,null,-2,1.25]}");
	cJSON_Delete(v);
	gw_buf_free(&b);
}

static void
test_sort_keys_recursive_byte_order(void **state)
{
	(void)state;
	cJSON *v = cJSON_Parse("{\"b\":{\"y\":1,\"X\":2},\"a\":[{\"d\":1,\"c\":2}],\"_\":0}");
	gw_json_sort_keys(v);
	char *s = cJSON_PrintUnformatted(v);
	assert_string_equal(s, "{\"_\":0,\"a\":[{\"c\":2,\"d\":1}],\"b\":{\"X\":2,\"y\":1}}");
	free(s);
	cJSON_Delete(v);
}

static void
test_parse_reports_positions(void **state)
{
	(void)state;
	gw_err err;
	const char *t = "{\"a\":1}";
	cJSON *v = gw_json_parse(t, strlen(t), "doc", &err);
	assert_non_null(v);
	cJSON_Delete(v);
	t = "{\"a\":1}\n  x";
	assert_null(gw_json_parse(t, strlen(t), "doc", &err));
	assert_string_equal(err.msg, "doc: invalid JSON at line 2 column 3: trailing characters");
	assert_int_equal(err.exit_code, GW_EXIT_DATAERR);
	t = "{\"a\":";
	assert_null(gw_json_parse(t, strlen(t), "doc", &err));
	ut_assert_contains(err.msg, "doc: invalid JSON at line 1 column ");
	assert_null(gw_json_parse("", 0, "doc", &err));
	ut_assert_contains(err.msg, "unexpected end of input");
}

static void
test_parse_refuses_deep_nesting_without_crash(void **state)
{
	(void)state;
	gw_buf b = GW_BUF_INIT;
	for (int i = 0; i < 10000; i++)
		gw_buf_putc(&b, '[');
	for (int i = 0; i < 10000; i++)
		gw_buf_putc(&b, ']');
	gw_err err;
	assert_null(gw_json_parse(b.data, b.len, "doc", &err));
	ut_assert_contains(err.msg, "doc: JSON nested deeper than 512 levels at line 1 column 513");
	gw_buf_free(&b);
}

static void
test_as_u64(void **state)
{
	(void)state;
	uint64_t x = 99;
	cJSON *v = cJSON_Parse("[0, 9007199254740992, -1, 1.5, \"1\", null]");
	assert_true(gw_json_as_u64(cJSON_GetArrayItem(v, 0), &x));
	assert_int_equal(x, 0);
	assert_true(gw_json_as_u64(cJSON_GetArrayItem(v, 1), &x));
	assert_int_equal(x, 9007199254740992ULL);
	assert_false(gw_json_as_u64(cJSON_GetArrayItem(v, 2), &x));
	assert_false(gw_json_as_u64(cJSON_GetArrayItem(v, 3), &x));
	assert_false(gw_json_as_u64(cJSON_GetArrayItem(v, 4), &x));
	assert_false(gw_json_as_u64(cJSON_GetArrayItem(v, 5), &x));
	assert_false(gw_json_as_u64(NULL, &x));
	cJSON_Delete(v);
	v = cJSON_Parse("{\"s\":\"v\",\"n\":1}");
	assert_string_equal(gw_json_str(v, "s"), "v");
	assert_null(gw_json_str(v, "n"));
	assert_null(gw_json_str(v, "missing"));
	cJSON_Delete(v);
}

static void
test_line_col(void **state)
{
	(void)state;
	unsigned l, c;
	gw_json_line_col("ab\ncd\n", 4, &l, &c);
	assert_int_equal(l, 2);
	assert_int_equal(c, 2);
	gw_json_line_col("ab", 0, &l, &c);
	assert_int_equal(l, 1);
	assert_int_equal(c, 1);
}

/* ---- scanner ------------------------------------------------------------ */

static void
test_scan_object_members(void **state)
{
	(void)state;
	const char *t = " { \"a\" : [1, {\"x\":\"]\"}] , \"b\\\"q\":\"s\", \"c\": null , \"d\":{} } ";
	gw_json_scan s;
	gw_err err;
	assert_int_equal(gw_json_scan_open(&s, t, strlen(t), 0, '{', "doc", &err), 0);
	const char *k;
	size_t kl, vs, ve;
	const char *want_k[] = { "a", "b\\\"q", "c", "d" };
	const char *want_v[] = { "[1, {\"x\":\"]\"}]", "\"s\"", "null", "{}" };
	for (int i = 0; i < 4; i++) {
		assert_int_equal(gw_json_scan_next(&s, &k, &kl, &vs, &ve, "doc", &err), 1);
		assert_int_equal(kl, strlen(want_k[i]));
		assert_memory_equal(k, want_k[i], kl);
		assert_int_equal(ve - vs, strlen(want_v[i]));
		assert_memory_equal(t + vs, want_v[i], ve - vs);
	}
	assert_int_equal(gw_json_scan_next(&s, &k, &kl, &vs, &ve, "doc", &err), 0);
	assert_int_equal(gw_json_scan_finish(&s, "doc", &err), 0);
}

static void
test_scan_array_and_nested_walk(void **state)
{
	(void)state;
	const char *t = "{\"cases\":[{\"a\":1},[2],\"x\",3]}";
	gw_json_scan s, a;
	gw_err err;
	const char *k;
	size_t kl, vs, ve, es, ee;
	assert_int_equal(gw_json_scan_open(&s, t, strlen(t), 0, '{', "doc", &err), 0);
	assert_int_equal(gw_json_scan_next(&s, &k, &kl, &vs, &ve, "doc", &err), 1);
	assert_int_equal(gw_json_scan_open(&a, t, ve, vs, '[', "cases", &err), 0);
	int n = 0;
	while (gw_json_scan_next(&a, NULL, NULL, &es, &ee, "cases", &err) == 1)
		n++;
	assert_int_equal(n, 4);
	assert_int_equal(gw_json_scan_next(&s, &k, &kl, &vs, &ve, "doc", &err), 0);
	assert_int_equal(gw_json_scan_finish(&s, "doc", &err), 0);
	/* empty containers */
	assert_int_equal(gw_json_scan_open(&a, "[ ]", 3, 0, '[', "x", &err), 0);
	assert_int_equal(gw_json_scan_next(&a, NULL, NULL, &es, &ee, "x", &err), 0);
}

static int
scan_all(const char *t, gw_err *err)
{
	gw_json_scan s;
	const char *k;
	size_t kl, vs, ve;
	int rc = gw_json_scan_open(&s, t, strlen(t), 0, '{', "doc", err);
	if (rc != 0)
		return rc;
	while ((rc = gw_json_scan_next(&s, &k, &kl, &vs, &ve, "doc", err)) == 1)
		;
	if (rc == 0)
		rc = gw_json_scan_finish(&s, "doc", err);
	return rc;
}

static void
test_scan_malformed_inputs(void **state)
{
	(void)state;
	struct { const char *text, *why; } bad[] = {
		{ "", "expected an object" },
		{ "[1]", "expected an object" },
		{ "{\"a\":1", "expected ',' or closing bracket" },
		{ "{\"a\" 1}", "expected ':'" },
		{ "{a:1}", "expected an object key" },
		{ "{\"a\":}", "expected a value" },
		{ "{\"a\":\"x}", "unterminated string" },
		{ "{\"a\":[1,2}", "mismatched bracket" },
		{ "{\"a\":[1,2", "unexpected end of input" },
		{ "{\"a\":1} x", "trailing characters" },
		{ "{\"a\":1 \"b\":2}", "expected ',' or closing bracket" },
		{ "{\"a\":\"x\ny\"}", "unterminated string" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		gw_err err;
		gw_err_clear(&err);
		assert_int_equal(scan_all(bad[i].text, &err), -EINVAL);
		assert_int_equal(err.exit_code, GW_EXIT_DATAERR);
		ut_assert_contains(err.msg, "doc: invalid JSON at line 1 column ");
		ut_assert_contains(err.msg, bad[i].why);
	}
}

static void
test_scan_deep_nesting_is_error_not_crash(void **state)
{
	(void)state;
	gw_buf b = GW_BUF_INIT;
	gw_buf_puts(&b, "{\"a\":");
	for (int i = 0; i < 100000; i++)
		gw_buf_putc(&b, '[');
	for (int i = 0; i < 100000; i++)
		gw_buf_putc(&b, ']');
	gw_buf_putc(&b, '}');
	gw_err err;
	assert_int_equal(scan_all(b.data, &err), -EINVAL);
	ut_assert_contains(err.msg, "nested too deeply");
	/* exactly at the limit is fine */
	gw_buf_reset(&b);
	gw_buf_puts(&b, "{\"a\":");
	for (int i = 0; i < GW_JSON_MAX_NESTING; i++)
		gw_buf_putc(&b, '[');
	for (int i = 0; i < GW_JSON_MAX_NESTING; i++)
		gw_buf_putc(&b, ']');
	gw_buf_putc(&b, '}');
	assert_int_equal(scan_all(b.data, &err), 0);
	gw_buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_compact_writer),
		cmocka_unit_test(test_pretty_writer_and_empty_containers),
		cmocka_unit_test(test_escaping_including_control_chars),
		cmocka_unit_test(test_raw_json_compact_and_reindented),
		cmocka_unit_test(test_cjson_value_written_in_writer_style),
		cmocka_unit_test(test_sort_keys_recursive_byte_order),
		cmocka_unit_test(test_parse_reports_positions),
		cmocka_unit_test(test_parse_refuses_deep_nesting_without_crash),
		cmocka_unit_test(test_as_u64),
		cmocka_unit_test(test_line_col),
		cmocka_unit_test(test_scan_object_members),
		cmocka_unit_test(test_scan_array_and_nested_walk),
		cmocka_unit_test(test_scan_malformed_inputs),
		cmocka_unit_test(test_scan_deep_nesting_is_error_not_crash),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
