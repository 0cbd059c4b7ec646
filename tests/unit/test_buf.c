/*
 * test_buf.c - the growable buffer: appends, formatting across the growth
 * boundary, u64 rendering, reset/free/detach semantics.
 */
#include "unit.h"

static void
test_empty_buffer_reads_as_empty_string(void **state)
{
	(void)state;
	gw_buf b = GW_BUF_INIT;
	assert_string_equal(gw_buf_cstr(&b), "");
	char *d = gw_buf_detach(&b);
	assert_string_equal(d, "");
	free(d);
	gw_buf_free(&b);
	gw_buf_free(&b); /* double free of an empty buffer is harmless */
}

static void
test_append_puts_putc(void **state)
{
	(void)state;
	gw_buf b = GW_BUF_INIT;
	gw_buf_puts(&b, "ab");
	gw_buf_putc(&b, 'c');
	gw_buf_append(&b, "d\0e", 3);
	assert_int_equal(b.len, 6);
	assert_memory_equal(b.data, "abcd\0e", 7);
	gw_buf_append(&b, NULL, 0);
	assert_int_equal(b.len, 6);
	gw_buf_free(&b);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
}

static void
test_growth_keeps_content_and_nul(void **state)
{
	(void)state;
	gw_buf b = GW_BUF_INIT;
	for (int i = 0; i < 100000; i++)
		gw_buf_putc(&b, (char)('a' + i % 26));
	assert_int_equal(b.len, 100000);
	assert_true(b.cap > b.len);
	assert_int_equal(b.data[b.len], '\0');
	assert_int_equal(b.data[26 * 1000 + 3], 'd');
	gw_buf_free(&b);
}

static void
test_printf_across_capacity_boundary(void **state)
{
	(void)state;
	for (size_t pre = 0; pre < 200; pre++) {
		gw_buf b = GW_BUF_INIT;
		for (size_t i = 0; i < pre; i++)
			gw_buf_putc(&b, 'x');
		gw_buf_printf(&b, "%s-%d-%0100d", "fmt", 42, 7);
		assert_int_equal(b.len, pre + 7 + 100);
		assert_memory_equal(b.data + pre, "fmt-42-", 7);
		assert_int_equal(b.data[b.len - 1], '7');
		assert_int_equal(b.data[b.len], '\0');
		gw_buf_free(&b);
	}
	gw_buf b = GW_BUF_INIT;
	gw_buf_printf(&b, "%s", "");
	assert_int_equal(b.len, 0);
	assert_string_equal(gw_buf_cstr(&b), "");
	gw_buf_free(&b);
}

static void
test_put_u64(void **state)
{
	(void)state;
	gw_buf b = GW_BUF_INIT;
	gw_buf_put_u64(&b, 0);
	gw_buf_putc(&b, ' ');
	gw_buf_put_u64(&b, 10);
	gw_buf_putc(&b, ' ');
	gw_buf_put_u64(&b, UINT64_MAX);
	assert_string_equal(b.data, "0 10 18446744073709551615");
	gw_buf_free(&b);
}

static void
test_reset_keeps_memory_detach_transfers_it(void **state)
{
	(void)state;
	gw_buf b = GW_BUF_INIT;
	gw_buf_puts(&b, "hello");
	char *mem = b.data;
	gw_buf_reset(&b);
	assert_int_equal(b.len, 0);
	assert_ptr_equal(b.data, mem);
	assert_string_equal(gw_buf_cstr(&b), "");
	gw_buf_puts(&b, "again");
	char *d = gw_buf_detach(&b);
	assert_string_equal(d, "again");
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.cap, 0);
	free(d);
}

static void
test_reserve(void **state)
{
	(void)state;
	gw_buf b = GW_BUF_INIT;
	gw_buf_reserve(&b, 1000);
	assert_non_null(b.data);
	assert_string_equal(gw_buf_cstr(&b), ""); /* reserved but empty reads as "" */
	assert_true(b.cap > 1000);
	size_t cap = b.cap;
	char *mem = b.data;
	for (int i = 0; i < 1000; i++)
		gw_buf_putc(&b, 'z');
	assert_int_equal(b.cap, cap); /* no reallocation within the reservation */
	assert_ptr_equal(b.data, mem);
	gw_buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty_buffer_reads_as_empty_string),
		cmocka_unit_test(test_append_puts_putc),
		cmocka_unit_test(test_growth_keeps_content_and_nul),
		cmocka_unit_test(test_printf_across_capacity_boundary),
		cmocka_unit_test(test_put_u64),
		cmocka_unit_test(test_reset_keeps_memory_detach_transfers_it),
		cmocka_unit_test(test_reserve),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
