/*
 * test_respstore.c - stored responses: save/load round trip, strict ids
 * (no path escapes), delete, and unknown ids.
 */
#include "unit.h"

#include "core/openresponses/respstore.h"
#include "core/base/fs.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>

static void
test_roundtrip_and_delete(void **state)
{
	(void)state;
	char *dir = ut_tmpdir();
	gw_err err;
	cJSON *items = cJSON_Parse("[{\"type\":\"message\",\"role\":\"user\",\"content\":[]}]");
	const char *resp = "{\"id\":\"resp_1\",\"output\":[]}";
	assert_int_equal(gw_respstore_save(dir, "resp_1", "k", items, resp, strlen(resp), &err), 0);
	cJSON *rec;
	assert_int_equal(gw_respstore_load(dir, "resp_1", &rec, &err), 0);
	assert_string_equal(cJSON_GetObjectItem(rec, "session_key")->valuestring, "k");
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(rec, "input_items")), 1);
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(rec, "response"), "id")->valuestring, "resp_1");
	cJSON_Delete(rec);
	assert_int_equal(gw_respstore_delete(dir, "resp_1", &err), 0);
	assert_int_equal(gw_respstore_load(dir, "resp_1", &rec, &err), -ENOENT);
	assert_int_equal(gw_respstore_delete(dir, "resp_1", &err), -ENOENT);
	cJSON_Delete(items);
	ut_rmrf(dir);
	free(dir);
}

static void
test_ids(void **state)
{
	(void)state;
	assert_true(gw_respstore_id_ok("resp_0123abc-X"));
	assert_false(gw_respstore_id_ok(""));
	assert_false(gw_respstore_id_ok("../state"));
	assert_false(gw_respstore_id_ok("a/b"));
	assert_false(gw_respstore_id_ok("a.json"));
	cJSON *rec;
	gw_err err;
	assert_int_equal(gw_respstore_load("/nonexistent", "../../etc/passwd", &rec, &err), -ENOENT);
}

/* A record whose items are not what the providers and the API read is
 * refused on load, naming the file and the item, never handed on. */
static void
test_malformed_records_refused(void **state)
{
	(void)state;
	static const char *bad[] = {
		"{\"id\":\"resp_b\",\"session_key\":\"\",\"input_items\":[[1,2]],\"response\":{}}",
		"{\"input_items\":[{\"type\":\"message\",\"role\":\"user\",\"content\":[{\"type\":\"input_text\"}]}],\"response\":{}}",
		"{\"input_items\":[{\"type\":\"message\",\"content\":[]}],\"response\":{}}",
		"{\"input_items\":[{\"type\":\"function_call\",\"name\":\"f\"}],\"response\":{}}",
		"{\"input_items\":[{\"type\":\"function_call_output\",\"call_id\":7}],\"response\":{}}",
		"{\"input_items\":[{\"type\":\"message\",\"role\":\"user\",\"content\":[],\"id\":3}],\"response\":{}}",
		"{\"input_items\":[],\"response\":{\"output\":[{\"type\":\"mystery\"}]}}",
		"{\"input_items\":[],\"response\":{\"output\":{}}}",
		"{\"input_items\":[],\"response\":{},\"session_key\":5}",
		"{\"input_items\":[],\"response\":[]}",
		"[1]",
		"{\"input_items\":[",
	};
	char *dir = ut_tmpdir();
	char *rdir = gw_path_join(dir, "openresponses/responses");
	gw_err err;
	assert_int_equal(gw_fs_mkdirs(rdir, &err), 0);
	char *path = gw_path_join(rdir, "resp_b.json");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		FILE *f = fopen(path, "w");
		fputs(bad[i], f);
		fclose(f);
		cJSON *rec = (cJSON *)1;
		gw_err_clear(&err);
		int rc = gw_respstore_load(dir, "resp_b", &rec, &err);
		if (rc != -EINVAL)
			fail_msg("record %zu [%s] gave rc %d", i, bad[i], rc);
		assert_null(rec);
		assert_int_equal(err.exit_code, GW_EXIT_DATAERR);
		ut_assert_contains(err.msg, "resp_b.json");
	}
	/* what the gateway itself writes loads */
	cJSON *items = cJSON_Parse("[{\"type\":\"message\",\"role\":\"user\",\"content\":[{\"type\":\"input_text\",\"text\":\"hi\"},{\"type\":\"input_image\",\"image_url\":\"data:,\"}]},"
	    "{\"type\":\"function_call\",\"call_id\":\"c\",\"name\":\"f\",\"arguments\":\"{}\"},"
	    "{\"type\":\"function_call_output\",\"call_id\":\"c\",\"output\":\"ok\"}]");
	const char *resp = "{\"id\":\"resp_b\",\"output\":[{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"content\":[{\"type\":\"output_text\",\"text\":\"x\"}]}]}";
	assert_int_equal(gw_respstore_save(dir, "resp_b", "", items, resp, strlen(resp), &err), 0);
	cJSON *rec = NULL;
	assert_int_equal(gw_respstore_load(dir, "resp_b", &rec, &err), 0);
	cJSON_Delete(rec);
	cJSON_Delete(items);
	free(path);
	free(rdir);
	ut_rmrf(dir);
	free(dir);
}

static void
age(const char *dir, const char *id, const char *suffix, time_t t)
{
	gw_buf b = GW_BUF_INIT;
	gw_buf_printf(&b, "%s/openresponses/responses/%s%s", dir, id, suffix);
	struct timespec ts[2] = { { t, 0 }, { t, 0 } };
	assert_int_equal(utimensat(AT_FDCWD, b.data, ts, 0), 0);
	gw_buf_free(&b);
}

/* Records older than the TTL (and a crash's old temp file) are removed;
 * younger ones stay; "now" is a parameter, so nothing sleeps. */
static void
test_sweep_removes_expired_records(void **state)
{
	(void)state;
	char *dir = ut_tmpdir();
	gw_err err;
	size_t removed = 99;
	assert_int_equal(gw_respstore_sweep(dir, (uint64_t)time(NULL), 60, &removed, &err), 0);
	assert_int_equal(removed, 0);
	cJSON *items = cJSON_Parse("[]");
	const char *resp = "{\"output\":[]}";
	assert_int_equal(gw_respstore_save(dir, "resp_old", "", items, resp, strlen(resp), &err), 0);
	assert_int_equal(gw_respstore_save(dir, "resp_new", "", items, resp, strlen(resp), &err), 0);
	char *tmp = gw_path_join(dir, "openresponses/responses/resp_x.json.tmp");
	ut_write(tmp, "{");
	/* file times are finer-grained than time()'s clock, so a file written
	 * just now can carry the next second: "now" is never before it */
	time_t now = time(NULL);
	char *newest = gw_path_join(dir, "openresponses/responses/resp_new.json");
	struct stat nst;
	assert_int_equal(stat(newest, &nst), 0);
	if (nst.st_mtime > now)
		now = nst.st_mtime;
	free(newest);
	age(dir, "resp_old", ".json", now - 7200);
	age(dir, "resp_x", ".json.tmp", now - 7200);
	assert_int_equal(gw_respstore_sweep(dir, (uint64_t)now, 0, &removed, &err), 0);
	assert_int_equal(removed, 0);
	assert_int_equal(gw_respstore_sweep(dir, (uint64_t)now, 3600, &removed, &err), 0);
	assert_int_equal(removed, 1);
	cJSON *rec;
	assert_int_equal(gw_respstore_load(dir, "resp_old", &rec, &err), -ENOENT);
	assert_false(gw_fs_exists(tmp));
	assert_int_equal(gw_respstore_load(dir, "resp_new", &rec, &err), 0);
	cJSON_Delete(rec);
	assert_int_equal(gw_respstore_sweep(dir, (uint64_t)now + 3600, 3600, &removed, &err), 0);
	assert_int_equal(removed, 1);
	assert_int_equal(gw_respstore_load(dir, "resp_new", &rec, &err), -ENOENT);
	free(tmp);
	cJSON_Delete(items);
	ut_rmrf(dir);
	free(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip_and_delete),
		cmocka_unit_test(test_ids),
		cmocka_unit_test(test_malformed_records_refused),
		cmocka_unit_test(test_sweep_removes_expired_records),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
