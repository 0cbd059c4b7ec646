/*
 * test_strmap.c - the open-addressing map: put/get/del, replacement,
 * growth, and backward-shift deletion inside collision clusters (including
 * clusters that wrap around the end of the table), checked against a
 * brute-force model.
 */
#include "unit.h"

#include "core/base/strmap.h"

#define NKEYS 4096

static char keys[NKEYS][16];

static void
make_keys(void)
{
	for (int i = 0; i < NKEYS; i++)
		snprintf(keys[i], sizeof(keys[i]), "k%d", i);
}

static void
test_put_get_replace_del(void **state)
{
	(void)state;
	gw_strmap *m = gw_strmap_new(0);
	size_t v = 0;
	assert_false(gw_strmap_get(m, "a", &v));
	assert_true(gw_strmap_put(m, "a", 1));
	assert_false(gw_strmap_put(m, "a", 2)); /* replaced, not new */
	assert_true(gw_strmap_get(m, "a", &v));
	assert_int_equal(v, 2);
	assert_true(gw_strmap_get(m, "a", NULL));
	assert_true(gw_strmap_put(m, "", 3)); /* the empty string is a key */
	assert_int_equal(gw_strmap_count(m), 2);
	assert_true(gw_strmap_del(m, "a"));
	assert_false(gw_strmap_del(m, "a"));
	assert_false(gw_strmap_get(m, "a", &v));
	assert_true(gw_strmap_get(m, "", &v));
	assert_int_equal(v, 3);
	assert_int_equal(gw_strmap_count(m), 1);
	gw_strmap_free(m);
	gw_strmap_free(NULL);
}

static void
test_growth_keeps_every_key(void **state)
{
	(void)state;
	make_keys();
	gw_strmap *m = gw_strmap_new(1);
	for (int i = 0; i < NKEYS; i++)
		assert_true(gw_strmap_put(m, keys[i], (size_t)i));
	assert_int_equal(gw_strmap_count(m), NKEYS);
	for (int i = 0; i < NKEYS; i++) {
		size_t v;
		assert_true(gw_strmap_get(m, keys[i], &v));
		assert_int_equal(v, i);
	}
	assert_false(gw_strmap_get(m, "k-missing", NULL));
	gw_strmap_free(m);
}

/* Collects n keys whose home slot in a 16-slot table is `slot`. */
static size_t
colliding(size_t slot, char out[][16], size_t n)
{
	size_t got = 0;
	for (int i = 0; got < n && i < 1000000; i++) {
		char k[16];
		snprintf(k, sizeof(k), "c%d", i);
		if ((gw_strhash(k) & 15) == slot)
			snprintf(out[got++], 16, "%s", k);
	}
	return got;
}

static void
test_backward_shift_deletion_in_a_cluster(void **state)
{
	(void)state;
	/* 5 keys homed at slot 3 and 3 homed at slot 4 share one cluster; the
	 * map stays at 16 slots (load factor 3/4 allows 12 keys) */
	char a[5][16], b[3][16];
	assert_int_equal(colliding(3, a, 5), 5);
	assert_int_equal(colliding(4, b, 3), 3);
	for (size_t del = 0; del < 8; del++) {
		gw_strmap *m = gw_strmap_new(0);
		const char *all[8];
		for (int i = 0; i < 5; i++)
			all[i] = a[i];
		for (int i = 0; i < 3; i++)
			all[5 + i] = b[i];
		/* interleave insertion so slot-4 keys sit between slot-3 ones */
		const int order[8] = { 0, 5, 1, 6, 2, 7, 3, 4 };
		for (int i = 0; i < 8; i++)
			assert_true(gw_strmap_put(m, all[order[i]], (size_t)order[i]));
		assert_true(gw_strmap_del(m, all[del]));
		for (size_t i = 0; i < 8; i++) {
			size_t v;
			bool present = gw_strmap_get(m, all[i], &v);
			assert_int_equal(present, i != del);
			if (present)
				assert_int_equal(v, i);
		}
		/* delete the rest in reverse and reinsert: still consistent */
		for (size_t i = 8; i-- > 0;)
			if (i != del)
				assert_true(gw_strmap_del(m, all[i]));
		assert_int_equal(gw_strmap_count(m), 0);
		for (size_t i = 0; i < 8; i++)
			assert_false(gw_strmap_get(m, all[i], NULL));
		gw_strmap_free(m);
	}
}

static void
test_backward_shift_across_table_wrap(void **state)
{
	(void)state;
	/* keys homed at slot 15 wrap around to slots 0, 1, ...; keys homed at
	 * slot 0 then sit behind them */
	char hi[4][16], lo[3][16];
	assert_int_equal(colliding(15, hi, 4), 4);
	assert_int_equal(colliding(0, lo, 3), 3);
	for (int del = 0; del < 7; del++) {
		gw_strmap *m = gw_strmap_new(0);
		const char *all[7] = { hi[0], hi[1], hi[2], hi[3], lo[0], lo[1], lo[2] };
		for (int i = 0; i < 7; i++)
			assert_true(gw_strmap_put(m, all[i], (size_t)i));
		assert_true(gw_strmap_del(m, all[del]));
		for (int i = 0; i < 7; i++)
			assert_int_equal(gw_strmap_get(m, all[i], NULL), i != del);
		gw_strmap_free(m);
	}
}

static void
test_random_operations_match_model(void **state)
{
	(void)state;
	make_keys();
	gw_strmap *m = gw_strmap_new(8);
	static long model[NKEYS];
	for (int i = 0; i < NKEYS; i++)
		model[i] = -1;
	unsigned seed = 12345;
	size_t count = 0;
	for (int step = 0; step < 200000; step++) {
		seed = seed * 1103515245u + 12345u;
		int k = (int)((seed >> 8) % 600);
		int op = (int)((seed >> 20) % 3);
		if (op == 0) {
			bool isnew = gw_strmap_put(m, keys[k], (size_t)step);
			assert_int_equal(isnew, model[k] < 0);
			count += isnew;
			model[k] = step;
		} else if (op == 1) {
			bool had = gw_strmap_del(m, keys[k]);
			assert_int_equal(had, model[k] >= 0);
			count -= had;
			model[k] = -1;
		} else {
			size_t v;
			bool has = gw_strmap_get(m, keys[k], &v);
			assert_int_equal(has, model[k] >= 0);
			if (has)
				assert_int_equal(v, (size_t)model[k]);
		}
		assert_int_equal(gw_strmap_count(m), count);
	}
	gw_strmap_free(m);
}

static void
test_hash_is_stable(void **state)
{
	(void)state;
	assert_int_equal(gw_strhash("abc"), gw_strhash("abc"));
	assert_true(gw_strhash("abc") != gw_strhash("abd"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_put_get_replace_del),
		cmocka_unit_test(test_growth_keeps_every_key),
		cmocka_unit_test(test_backward_shift_deletion_in_a_cluster),
		cmocka_unit_test(test_backward_shift_across_table_wrap),
		cmocka_unit_test(test_random_operations_match_model),
		cmocka_unit_test(test_hash_is_stable),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
