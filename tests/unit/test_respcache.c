/*
 * test_respcache.c - the stored responses' walk cache: its byte bound
 * holds however many records go in (the least recently used leave
 * first), a record too big for it is not kept, a kept record is never
 * replaced, a drop forgets one, and an entry held while it is evicted or
 * dropped stays readable until released (ASan would see it freed early).
 */
#include "unit.h"

#include "core/openresponses/respcache.h"

/* The items of a record: n messages of text t. */
static cJSON *
items_of(size_t n, const char *t)
{
	cJSON *a = cJSON_CreateArray();
	for (size_t i = 0; i < n; i++) {
		cJSON *m = cJSON_CreateObject();
		cJSON_AddStringToObject(m, "type", "message");
		cJSON_AddStringToObject(m, "role", "user");
		cJSON *c = cJSON_AddArrayToObject(m, "content");
		cJSON *p = cJSON_CreateObject();
		cJSON_AddStringToObject(p, "type", "input_text");
		cJSON_AddStringToObject(p, "text", t);
		cJSON_AddItemToArray(c, p);
		cJSON_AddItemToArray(a, m);
	}
	return a;
}

static void
test_bound_holds(void **state)
{
	(void)state;
	const size_t bound = 64 * 1024;
	gw_respcache *c = gw_respcache_new(bound);
	char id[32], prev[32] = "";
	size_t most = 0;
	for (int i = 0; i < 2000; i++) {
		snprintf(id, sizeof(id), "resp_%d", i);
		gw_respcache_put(c, id, prev[0] ? prev : NULL, "key", items_of(2, "some words of a turn"),
		    300);
		memcpy(prev, id, sizeof(prev));
		assert_true(gw_respcache_bytes(c) <= bound);
		if (gw_respcache_count(c) > most)
			most = gw_respcache_count(c);
		/* the first record stays: it is read before each put */
		const gw_respcache_entry *e = gw_respcache_get(c, "resp_0");
		assert_non_null(e);
		gw_respcache_release(c, e);
	}
	/* full, not empty: many records fit, the oldest unused left */
	assert_true(most > 10 && most < 2000);
	assert_true(gw_respcache_bytes(c) > bound / 2);
	assert_null(gw_respcache_get(c, "resp_1"));
	const gw_respcache_entry *e = gw_respcache_get(c, "resp_1999");
	assert_non_null(e);
	assert_string_equal(e->previous_id, "resp_1998");
	assert_string_equal(e->session_key, "key");
	assert_int_equal(e->count, 2);
	assert_int_equal(e->text_len, 300);
	gw_respcache_release(c, e);
	gw_respcache_free(c);
}

static void
test_too_big_kept_and_dropped(void **state)
{
	(void)state;
	gw_respcache *c = gw_respcache_new(16 * 1024);
	/* more than a quarter of the bound: not kept */
	gw_respcache_put(c, "resp_big", NULL, "", items_of(40, "a text of some length here"), 1);
	assert_null(gw_respcache_get(c, "resp_big"));
	assert_int_equal(gw_respcache_bytes(c), 0);
	/* a kept record is not replaced (records are immutable) */
	gw_respcache_put(c, "resp_a", NULL, "", items_of(1, "first"), 10);
	gw_respcache_put(c, "resp_a", "resp_x", "", items_of(3, "second"), 20);
	const gw_respcache_entry *e = gw_respcache_get(c, "resp_a");
	assert_non_null(e);
	assert_null(e->previous_id);
	assert_int_equal(e->count, 1);
	assert_int_equal(gw_respcache_count(c), 1);
	/* dropped while held: gone from the cache, still readable */
	gw_respcache_drop(c, "resp_a");
	assert_null(gw_respcache_get(c, "resp_a"));
	assert_int_equal(gw_respcache_count(c), 0);
	assert_int_equal(gw_respcache_bytes(c), 0);
	assert_string_equal(e->id, "resp_a");
	const cJSON *m = cJSON_GetArrayItem(e->items, 0);
	const cJSON *part = cJSON_GetArrayItem(cJSON_GetObjectItem(m, "content"), 0);
	assert_string_equal(cJSON_GetObjectItem(part, "text")->valuestring, "first");
	gw_respcache_release(c, e);
	/* a cache of 0 bytes keeps nothing; a NULL one is no cache */
	gw_respcache *none = gw_respcache_new(0);
	gw_respcache_put(none, "resp_b", NULL, "", items_of(1, "x"), 1);
	assert_null(gw_respcache_get(none, "resp_b"));
	gw_respcache_free(none);
	gw_respcache_put(NULL, "resp_b", NULL, "", items_of(1, "x"), 1);
	assert_null(gw_respcache_get(NULL, "resp_b"));
	gw_respcache_free(c);
}

/* Evicted while held: the holder reads it to the end. */
static void
test_evicted_while_held(void **state)
{
	(void)state;
	gw_respcache *c = gw_respcache_new(8 * 1024);
	gw_respcache_put(c, "resp_held", NULL, "", items_of(1, "held"), 1);
	const gw_respcache_entry *e = gw_respcache_get(c, "resp_held");
	assert_non_null(e);
	char id[32];
	for (int i = 0; i < 200; i++) {
		snprintf(id, sizeof(id), "resp_%d", i);
		gw_respcache_put(c, id, NULL, "", items_of(1, "filler text"), 1);
	}
	assert_null(gw_respcache_get(c, "resp_held"));
	assert_true(gw_respcache_bytes(c) <= 8 * 1024);
	cJSON *copy = cJSON_Duplicate(e->items, 1);
	assert_int_equal(cJSON_GetArraySize(copy), 1);
	cJSON_Delete(copy);
	gw_respcache_release(c, e);
	gw_respcache_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bound_holds),
		cmocka_unit_test(test_too_big_kept_and_dropped),
		cmocka_unit_test(test_evicted_while_held),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
