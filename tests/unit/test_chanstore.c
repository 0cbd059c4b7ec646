/*
 * test_chanstore.c - channel-store names never escape the root (`..`,
 * `../x`, `/`, unicode, very long names), the layout open creates, and the
 * read-only inspection with its exact text line.
 */
#include "unit.h"

#include "core/gateway/chanstore.h"
#include <sys/stat.h>
#include <unistd.h>

static char *
sanitized(const char *name)
{
	gw_buf b = GW_BUF_INIT;
	gw_chanstore_sanitize(name, &b);
	return gw_buf_detach(&b);
}

static void
expect_sanitized(const char *in, const char *out)
{
	char *s = sanitized(in);
	assert_string_equal(s, out);
	free(s);
}

static void
test_sanitize_table(void **state)
{
	(void)state;
	expect_sanitized("ops-bot", "ops-bot");
	expect_sanitized("Ops.Bot_1", "Ops.Bot_1");
	expect_sanitized("..", "channel");
	expect_sanitized(".", "channel");
	expect_sanitized("../x", "x");
	expect_sanitized("../../etc/passwd", "etc_passwd");
	expect_sanitized("/", "channel");
	expect_sanitized("a/b", "a_b");
	expect_sanitized("", "channel");
	expect_sanitized("   ", "channel");
	expect_sanitized("_x_", "x");
	expect_sanitized(".hidden", "hidden");
	expect_sanitized("bot\xc3\xa9\xe2\x82\xac", "bot"); /* "boté€": non-ASCII bytes become '_' and are stripped */
	expect_sanitized("\xc3\xa9x", "x");
}

static void
test_sanitized_names_are_safe(void **state)
{
	(void)state;
	const char *hostile[] = { "..", "../x", "/", "/abs/path", "a/../../b", "...", "..\\..", "\n", "\xff\xfe", "~root", "$(id)", "%2e%2e" };
	for (size_t i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
		char *s = sanitized(hostile[i]);
		assert_true(s[0] != '\0');
		assert_null(strchr(s, '/'));
		assert_true(s[0] != '.');
		assert_true(strcmp(s, "..") != 0 && strcmp(s, ".") != 0);
		for (const char *p = s; *p; p++)
			assert_true((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			    (*p >= '0' && *p <= '9') || *p == '.' || *p == '_' || *p == '-');
		free(s);
	}
}

static void
test_very_long_names_are_bounded(void **state)
{
	(void)state;
	gw_buf in = GW_BUF_INIT;
	for (int i = 0; i < 5000; i++)
		gw_buf_putc(&in, 'a');
	char *s = sanitized(in.data);
	assert_int_equal(strlen(s), GW_CHANSTORE_NAME_MAX);
	free(s);
	gw_buf_free(&in);
}

static void
test_dir_stays_under_root(void **state)
{
	(void)state;
	char *d = gw_chanstore_dir("/r/channel-store", "gateway", "../../x");
	assert_string_equal(d, "/r/channel-store/gateway/x");
	free(d);
	d = gw_chanstore_dir("/r/", "..", "..");
	assert_string_equal(d, "/r/channel/channel");
	free(d);
}

static void
test_open_creates_layout_and_checks_schema(void **state)
{
	(void)state;
	char *root = ut_tmpdir();
	char *dir = gw_chanstore_dir(root, "gateway", "ops-bot");
	gw_err err;
	assert_int_equal(gw_chanstore_open(root, "gateway/ops-bot", "gateway", "ops-bot", NULL, &err), 0);
	assert_true(gw_fs_is_dir(dir));
	char *schema = ut_join(dir, "schema.json");
	char *text = ut_read(schema);
	assert_string_equal(text, "{\n  \"schema_version\": 1,\n  \"transport\": \"gateway\",\n  \"channel_id\": \"ops-bot\"\n}\n");
	free(text);
	assert_int_equal(gw_chanstore_open(root, "gateway/ops-bot", "gateway", "ops-bot", NULL, &err), 0); /* idempotent */
	ut_write(schema, "{\"schema_version\":2}");
	assert_int_equal(gw_chanstore_open(root, "gateway/ops-bot", "gateway", "ops-bot", NULL, &err), -EINVAL);
	assert_int_equal(err.exit_code, GW_EXIT_DATAERR);
	ut_assert_contains(err.msg, "unsupported channel store schema");
	ut_write(schema, "garbage");
	assert_int_equal(gw_chanstore_open(root, "gateway/ops-bot", "gateway", "ops-bot", NULL, &err), -EINVAL);
	/* an actor directory that is a symlink is refused, not followed */
	char *out = ut_join(root, "outside");
	assert_int_equal(mkdir(out, 0755), 0);
	char *link = ut_join(root, "gateway/evil");
	assert_int_equal(symlink(out, link), 0);
	assert_int_equal(gw_chanstore_open(root, "gateway/evil", "gateway", "evil", NULL, &err), -ELOOP);
	assert_int_equal(err.exit_code, GW_EXIT_DATAERR);
	ut_assert_contains(err.msg, "refusing");
	ut_assert_contains(err.msg, "gateway/evil: it is a symbolic link");
	free(out);
	free(link);
	ut_rmrf(root);
	free(schema);
	free(dir);
	free(root);
}

static void
test_inspect_counts_and_text_line(void **state)
{
	(void)state;
	char *root = ut_tmpdir();
	char *dir = gw_chanstore_dir(root, "gateway", "ops-bot");
	gw_err err;
	assert_int_equal(gw_chanstore_open(root, "gateway/ops-bot", "gateway", "ops-bot", NULL, &err), 0);
	free(ut_write_in(dir, "log.jsonl", "{\"a\":1}\n\n  \nnot json\n[1]\n\"s\"\n"));
	free(ut_write_in(dir, "context.jsonl", "{\"t\":1}\n{bad\n"));
	free(ut_write_in(dir, "MEMORY.md", "# snap\n"));
	char *art = ut_join(dir, "artifacts");
	assert_int_equal(mkdir(art, 0755), 0);
	free(ut_write_in(art, "index.jsonl", "{\"expires_unix_ms\":1}\n{\"expires_unix_ms\":99999999999999}\n{\"id\":1}\nbad\n"));
	char *before = ut_snapshot(root);
	gw_chanstore_report r;
	assert_int_equal(gw_chanstore_inspect(root, "  gateway / ops-bot ", &r, &err), 0);
	assert_int_equal(r.log_records, 3);
	assert_int_equal(r.invalid_log_lines, 1);
	assert_int_equal(r.context_records, 1);
	assert_int_equal(r.invalid_context_lines, 1);
	assert_int_equal(r.artifact_records, 3);
	assert_int_equal(r.invalid_artifact_lines, 1);
	assert_int_equal(r.expired_artifacts, 1);
	assert_int_equal(r.active_artifacts, 2);
	assert_true(r.memory_exists);
	assert_int_equal(r.memory_bytes, 7);
	gw_buf b = GW_BUF_INIT;
	gw_chanstore_report_text(&r, &b);
	char want[2048];
	snprintf(want, sizeof(want), "channel store inspect: transport=gateway channel_id=ops-bot dir=%s "
	    "log_records=3 context_records=1 invalid_log_lines=1 invalid_context_lines=1 "
	    "artifact_records=3 invalid_artifact_lines=1 active_artifacts=2 expired_artifacts=1 "
	    "memory_exists=true memory_bytes=7", dir);
	assert_string_equal(b.data, want);
	gw_buf_free(&b);
	char *after = ut_snapshot(root);
	assert_string_equal(before, after);
	ut_rmrf(root);
	free(before);
	free(after);
	free(art);
	free(dir);
	free(root);
}

static void
test_inspect_bad_ref_and_missing_channel(void **state)
{
	(void)state;
	char *root = ut_tmpdir();
	gw_chanstore_report r;
	gw_err err;
	const char *bad[] = { "gateway", "/x", "gateway/", " / ", "" };
	for (size_t i = 0; i < 5; i++) {
		assert_int_equal(gw_chanstore_inspect(root, bad[i], &r, &err), -EINVAL);
		assert_int_equal(err.exit_code, GW_EXIT_USAGE);
		char want[256];
		snprintf(want, sizeof(want), "invalid channel ref '%s', expected transport/channel_id", bad[i]);
		assert_string_equal(err.msg, want);
	}
	char *before = ut_snapshot(root);
	assert_int_equal(gw_chanstore_inspect(root, "gateway/../../etc", &r, &err), -ENOENT);
	assert_int_equal(err.exit_code, GW_EXIT_NOINPUT);
	char *after = ut_snapshot(root);
	assert_string_equal(before, after); /* inspect creates nothing */
	/* the sanitised directory of a hostile ref is inside the root */
	assert_int_equal(strncmp(r.dir, root, strlen(root)), 0);
	assert_null(strstr(r.dir + strlen(root), "/.."));
	ut_rmrf(root);
	free(before);
	free(after);
	free(root);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sanitize_table),
		cmocka_unit_test(test_sanitized_names_are_safe),
		cmocka_unit_test(test_very_long_names_are_bounded),
		cmocka_unit_test(test_dir_stays_under_root),
		cmocka_unit_test(test_open_creates_layout_and_checks_schema),
		cmocka_unit_test(test_inspect_counts_and_text_line),
		cmocka_unit_test(test_inspect_bad_ref_and_missing_channel),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
