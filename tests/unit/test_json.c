/*
 * test_json.c - the exact-format writer (compact and pretty), escaping,
 * raw re-indentation, parse errors with positions, u64 reading, key
 * sorting, the non-recursive scanner on nested, deep and malformed
 * input, and the strict validator (RFC 8259 corpus, numbers, escapes,
 * UTF-8, nesting, exact lengths) with its top-level member reports.
 */
#include "unit.h"

#include "core/base/json.h"

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

/* Validates a heap copy of exactly n bytes, so ASan sees any read past n. */
static bool
valid_exact(const char *text, size_t n)
{
	char *copy = gw_xmalloc(n ? n : 1);
	memcpy(copy, text, n);
	bool ok = gw_json_valid(copy, n);
	free(copy);
	return ok;
}

static void
assert_valid_json_at(const char *text, size_t n, bool want, int line)
{
	if (valid_exact(text, n) != want) {
		print_error("line %d: gw_json_valid([%.*s]) should be %s\n", line, (int)n, text,
		    want ? "true" : "false");
		fail();
	}
}

static void
test_valid_accepts_rfc8259_documents(void **state)
{
	(void)state;
	static const char *const ok[] = {
		"{}", "[]", "{ }", "[ ]", " \t\r\n{}\n\r\t ", "0", "-0", "1", "-1", "10", "1.5",
		"-0.0", "1e5", "1E5", "1e+5", "1e-5", "1.25E-07", "-0e0", "123456789012345678901234567890",
		"\"\"", "\"x\"", "true", "false", "null", "[null,true,false]",
		"{\"a\":1,\"b\":[1,2,{\"c\":null}],\"d\":{}}",
		"{\"a\" : 1 , \"b\" :\t[ 1 , 2 ] }",
		"{\"a\":1,\"a\":2}", /* duplicate keys are grammatical */
		"[[[[[]]]],[{}],{\"\":[]}]",
		"\"\\\" \\\\ \\/ \\b \\f \\n \\r \\t\"",
		"\"\\u0000 \\u001F \\u00e9 \\uFFFF\"",
		"\"\\uD83D\\uDE00\"",          /* a surrogate pair */
		"\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf\"", /* 2-, 3-, 4-byte UTF-8 */
		"\"\x7f\"",                    /* DEL is not a control character in JSON */
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_valid_json_at(ok[i], strlen(ok[i]), true, __LINE__);
		/* whatever the validator accepts, cJSON parses */
		cJSON *v = cJSON_ParseWithLength(ok[i], strlen(ok[i]));
		assert_non_null(v);
		cJSON_Delete(v);
	}
}

static void
test_valid_rejects_what_rfc8259_forbids(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"", " ", "{", "}", "[", "]", "{]", "[}", "{\"a\":1]", "[1}",
		"{\"a\":tru}", "{\"a\":nul}", "{\"a\":True}", "{\"a\":NULL}", "{\"a\":undefined}",
		"{\"a\":1 \"b\":2}", "{\"a\":1,}", "[1,]", "[,1]", "[1,,2]", "{,}", "{\"a\"}",
		"{\"a\":}", "{\"a\" 1}", "{a:1}", "{'a':1}", "['a']", "{1:1}", "{\"a\"::1}",
		"{\"a\":1} x", "{\"a\":1}{}", "{} {}", "1 2", "[1] ]", "\"a\" \"b\"",
		"01", "-01", "00", "1.", "-1.", ".5", "-.5", "+1", "-", "1e", "1e+", "1E-", "1.e5",
		"0x10", "1_000", "Infinity", "-Infinity", "NaN", "1e5e5", "1.5.5", "--1",
		"\"abc", "\"\\\"", "\"\\x\"", "\"\\u12\"", "\"\\u00zz\"", "\"\\U0041\"", "\"\\'\"",
		"\"\\uD800\"", "\"\\uDC00\"", "\"\\uD800x\"", "\"\\uD800\\n\"", "\"\\uD800\\u0041\"",
		"\"\\uDE00\\uD83D\"",
		"\"a\tb\"", "\"a\nb\"", "\"\x01\"", "\"\x1f\"", /* raw control characters */
		"\xef\xbb\xbf{}",              /* a byte-order mark */
		"\f{}", "{}\v", "{\"a\":\x01 1}", /* only space, tab, CR, LF are whitespace */
		"\"\x80\"", "\"\xc0\x80\"", "\"\xc1\xbf\"", "\"\xe0\x80\x80\"", "\"\xed\xa0\x80\"",
		"\"\xf0\x80\x80\x80\"", "\"\xf4\x90\x80\x80\"", "\"\xf5\x80\x80\x80\"", "\"\xff\"",
		"\"\xc3\"", "\"\xe2\x82\"", "\"\xf0\x9f\x98\"", "\"\xc3\x28\"", "\"\xe2\x28\xa1\"",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_valid_json_at(bad[i], strlen(bad[i]), false, __LINE__);
}

static void
test_valid_respects_the_length(void **state)
{
	(void)state;
	/* the text need not be terminated: only n bytes count */
	assert_valid_json_at("{\"a\":1}garbage", 7, true, __LINE__);
	assert_valid_json_at("12345", 2, true, __LINE__);
	assert_valid_json_at("1.5", 2, false, __LINE__);   /* "1." */
	assert_valid_json_at("true", 3, false, __LINE__);
	assert_valid_json_at("\"\\u0041\"", 6, false, __LINE__);
	assert_valid_json_at("\"\\uD83D\\uDE00\"", 12, false, __LINE__);
	assert_valid_json_at("\"\xf0\x9f\x98\x80\"", 4, false, __LINE__);
	/* an embedded NUL is a raw control character inside a string and not
	 * whitespace outside one */
	assert_valid_json_at("\"a\0b\"", 5, false, __LINE__);
	assert_valid_json_at("{}\0", 3, false, __LINE__);
	/* every proper prefix of an object or array document is invalid */
	static const char doc[] = "{\"k\":[1,-2.5e3,\"s\\u00e9\\n\",{\"t\":true,\"f\":false},null],"
	    "\"x\":\"\xe2\x82\xac\",\"y\":{}}";
	size_t n = sizeof(doc) - 1;
	assert_valid_json_at(doc, n, true, __LINE__);
	for (size_t i = 0; i < n; i++)
		assert_valid_json_at(doc, i, false, __LINE__);
}

static void
test_valid_mutations_never_pass_what_cjson_rejects(void **state)
{
	(void)state;
	/* every one-byte change of a realistic line: the validator may be
	 * stricter than cJSON, never looser, and never reads out of bounds */
	static const char line[] = "{\"timestamp_unix_ms\":1795959859920,\"kind\":\"cycle\","
	    "\"health_reason\":\"a \\\"b\\\" \\u00e9\",\"reason_codes\":[\"x\",\"y\"],\"n\":-0.5e-3,"
	    "\"o\":{\"t\":true,\"f\":false,\"z\":null}}";
	static const char subst[] = "{}[]\",:\\ -+.0123456789eEtfnu\x01\x80\xc3";
	size_t n = sizeof(line) - 1;
	char *buf = gw_xmalloc(n);
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < sizeof(subst) - 1; j++) {
			memcpy(buf, line, n);
			buf[i] = subst[j];
			if (gw_json_valid(buf, n)) {
				cJSON *v = cJSON_ParseWithLength(buf, n);
				assert_non_null(v);
				cJSON_Delete(v);
			}
		}
		/* deleting byte i */
		memcpy(buf, line, i);
		memcpy(buf + i, line + i + 1, n - i - 1);
		if (gw_json_valid(buf, n - 1)) {
			cJSON *v = cJSON_ParseWithLength(buf, n - 1);
			assert_non_null(v);
			cJSON_Delete(v);
		}
	}
	free(buf);
}

static void
test_valid_nesting_limit_without_recursion(void **state)
{
	(void)state;
	gw_buf b = GW_BUF_INIT;
	for (int depth = GW_JSON_MAX_NESTING; depth <= GW_JSON_MAX_NESTING + 1; depth++) {
		gw_buf_reset(&b);
		for (int i = 0; i < depth; i++)
			gw_buf_puts(&b, i % 2 ? "{\"k\":" : "[");
		gw_buf_putc(&b, '1');
		for (int i = depth - 1; i >= 0; i--)
			gw_buf_putc(&b, i % 2 ? '}' : ']');
		assert_valid_json_at(b.data, b.len, depth <= GW_JSON_MAX_NESTING, __LINE__);
	}
	/* far deeper than any stack would take, balanced or not */
	gw_buf_reset(&b);
	for (int i = 0; i < 100000; i++)
		gw_buf_putc(&b, '[');
	for (int i = 0; i < 100000; i++)
		gw_buf_putc(&b, ']');
	assert_valid_json_at(b.data, b.len, false, __LINE__);
	gw_buf_free(&b);
}

/* Records members reported by gw_json_valid_members as key=value|... */
static void
note_member(void *ctx, const char *key, size_t keylen, size_t vstart, size_t vend)
{
	gw_buf *b = ctx;
	gw_buf_append(b, key, keylen);
	gw_buf_putc(b, '=');
	gw_buf_printf(b, "%zu-%zu|", vstart, vend);
}

static void
test_valid_members_reports_top_level_only(void **state)
{
	(void)state;
	gw_buf b = GW_BUF_INIT;
	const char *doc = " { \"a\" : 1 , \"k\\\"q\":{\"in\":[1,{\"deep\":2}]},\"e\":[] ,\"s\":\"x\"} ";
	assert_true(gw_json_valid_members(doc, strlen(doc), note_member, &b));
	/* values are delimited exactly, without surrounding whitespace */
	assert_string_equal(gw_buf_cstr(&b), "a=9-10|k\\\"q=20-41|e=46-48|s=54-57|");
	assert_int_equal(doc[20], '{');
	assert_int_equal(doc[40], '}');
	/* arrays and scalars report nothing */
	gw_buf_reset(&b);
	assert_true(gw_json_valid_members("[{\"a\":1}]", 9, note_member, &b));
	assert_true(gw_json_valid_members("\"s\"", 3, note_member, &b));
	assert_int_equal(b.len, 0);
	/* members seen before an error are reported, and the result is false */
	assert_false(gw_json_valid_members("{\"a\":1,\"b\":tru}", 15, note_member, &b));
	assert_string_equal(gw_buf_cstr(&b), "a=5-6|");
	/* a NULL callback is plain validation */
	assert_true(gw_json_valid_members("{\"a\":1}", 7, NULL, NULL));
	gw_buf_free(&b);
}

/* gw_json_text_clean on a literal of n bytes: the result, and when it is
 * false the fault's kind, offset and path. */
static void
check_clean(int line, const char *text, size_t n, bool clean, bool nul, size_t off,
    const char *path)
{
	gw_json_text_fault f;
	char *copy = malloc(n ? n : 1); /* exactly n bytes: ASan sees any over-read */
	memcpy(copy, text, n);
	bool ok = gw_json_text_clean(copy, n, &f);
	free(copy);
	if (ok != clean || (!ok && (f.nul != nul || f.offset != off || strcmp(f.path, path) != 0))) {
		print_error("line %d: gw_json_text_clean([%.*s]) = %d nul=%d offset=%zu path=[%s]\n",
		    line, (int)n, text, ok, f.nul, f.offset, f.path);
		fail();
	}
}
#define CLEAN(lit) check_clean(__LINE__, lit, sizeof(lit) - 1, true, false, 0, "")
#define NUL_AT(lit, off, path) check_clean(__LINE__, lit, sizeof(lit) - 1, false, true, off, path)
#define BAD_AT(lit, off, path) check_clean(__LINE__, lit, sizeof(lit) - 1, false, false, off, path)

static void
test_text_clean_accepts_utf8_and_escapes(void **state)
{
	(void)state;
	CLEAN("{\"input\":\"hi\"}");
	CLEAN("{\"a\":\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\",\"b\":[1,\"\\u0001\\u00e9\"]}");
	CLEAN("{\"k\\\"\\\\\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\ud83d\\ude00\"}");
	CLEAN("\"\\u0100\\u1000\"");
	CLEAN("[]");
	CLEAN("");
}

static void
test_text_clean_finds_nul_and_names_the_member(void **state)
{
	(void)state;
	/* the \u0000 escape cJSON would cut the string at */
	NUL_AT("{\"input\":\"hi\\u0000secret\"}", 12, "input");
	NUL_AT("{\"metadata\":{\"session_id\":\"a\\u0000b\"}}", 28, "metadata.session_id");
	NUL_AT("{\"input\":[{\"role\":\"user\",\"content\":[{\"type\":\"input_text\",\"text\":\"x\\u0000\"}]}]}",
	    66, "input[0].content[0].text");
	NUL_AT("{\"a\":[1,2,\"\\u0000\"]}", 11, "a[2]");
	/* in a key: the path names the key read so far */
	NUL_AT("{\"inp\\u0000ut\":\"x\"}", 5, "inp");
	NUL_AT("{\"a\":{\"b\\u0000\":1}}", 8, "a.b");
	/* a raw NUL byte, inside a string or between tokens */
	NUL_AT("{\"input\":\"hi\0x\"}", 12, "input");
	NUL_AT("{\"a\":1\0}", 6, "a");
	/* upper-case hex digits name the same character; a top-level string */
	NUL_AT("\"\\u0000\"", 1, "");
	CLEAN("\"\\u00A0\\u0010\"");
	/* an escaped backslash followed by u0000 text is not an escape */
	CLEAN("{\"a\":\"\\\\u0000\"}");
}

static void
test_text_clean_finds_invalid_utf8(void **state)
{
	(void)state;
	BAD_AT("{\"input\":\"\xff\xfe\"}", 10, "input");
	BAD_AT("{\"a\":\"ok\",\"b\":[\"x\",{\"c\":\"\xc3\"}]}", 25, "b[1].c");
	/* overlong, surrogate, above U+10FFFF, stray continuation, truncated */
	BAD_AT("\"\xc0\xaf\"", 1, "");
	BAD_AT("\"\xed\xa0\x80\"", 1, "");
	BAD_AT("\"\xf4\x90\x80\x80\"", 1, "");
	BAD_AT("\"a\x80\"", 2, "");
	BAD_AT("\"\xe2\x82", 1, "");
	/* in a key, shown with '?' */
	BAD_AT("{\"k\xff\":1}", 3, "k");
	BAD_AT("{\"a\xc3\xa9\":{\"b\":\"\xfe\"}}", 13, "a??.b");
	/* the path is that of the member, also after earlier siblings */
	BAD_AT("{\"x\":[1,{\"y\":2}],\"z\":\"\xff\"}", 22, "z");
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
		cmocka_unit_test(test_valid_accepts_rfc8259_documents),
		cmocka_unit_test(test_valid_rejects_what_rfc8259_forbids),
		cmocka_unit_test(test_valid_respects_the_length),
		cmocka_unit_test(test_valid_mutations_never_pass_what_cjson_rejects),
		cmocka_unit_test(test_valid_nesting_limit_without_recursion),
		cmocka_unit_test(test_valid_members_reports_top_level_only),
		cmocka_unit_test(test_text_clean_accepts_utf8_and_escapes),
		cmocka_unit_test(test_text_clean_finds_nul_and_names_the_member),
		cmocka_unit_test(test_text_clean_finds_invalid_utf8),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
