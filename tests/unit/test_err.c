/*
 * test_err.c - the error buffer: formatting, prefixing, one line, and the
 * exit status a failure carries (gw_err_exit, the one fallback every face
 * uses).
 */
#include "unit.h"

#include "core/base/err.h"

static void
test_exit_status_of_a_failure(void **state)
{
	(void)state;
	gw_err e;
	gw_err_clear(&e);
	/* a failure that set no class is an internal error, never 0 */
	assert_int_equal(gw_err_exit(&e), GW_EXIT_SOFTWARE);
	assert_int_equal(gw_err_exit(NULL), GW_EXIT_SOFTWARE);
	assert_int_equal(gw_err_set(&e, -ENOENT, GW_EXIT_NOINPUT, "missing %s", "x"), -ENOENT);
	assert_int_equal(gw_err_exit(&e), GW_EXIT_NOINPUT);
	assert_string_equal(e.msg, "missing x");
	gw_err_set(&e, -EINVAL, GW_EXIT_USAGE, "bad");
	assert_int_equal(gw_err_exit(&e), GW_EXIT_USAGE);
}

static void
test_prefix_keeps_one_line(void **state)
{
	(void)state;
	gw_err e;
	gw_err_set(&e, -EINVAL, GW_EXIT_DATAERR, "line one\nline two");
	gw_err_prefix(&e, "file %s", "f.json");
	assert_null(strchr(e.msg, '\n'));
	ut_assert_contains(e.msg, "file f.json: line one");
	assert_int_equal(gw_err_exit(&e), GW_EXIT_DATAERR);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exit_status_of_a_failure),
		cmocka_unit_test(test_prefix_keeps_one_line),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
