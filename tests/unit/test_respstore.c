/*
 * test_respstore.c - stored responses: save/load round trip, strict ids
 * (no path escapes), delete, and unknown ids.
 */
#include "unit.h"

#include "core/openresponses/respstore.h"

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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip_and_delete),
		cmocka_unit_test(test_ids),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
