/*
 * test_journal.c - the runner's cycle journal: an interrupted cycle's
 * appends are truncated away, a committed cycle's are kept, and listed
 * paths cannot leave the state directory.
 */
#include "unit.h"

#include "core/gateway/journal.h"

static void
test_no_journal_is_nothing_to_do(void **state)
{
	(void)state;
	char *dir = ut_tmpdir();
	unsigned n = 99;
	gw_err err;
	assert_int_equal(gw_journal_recover(dir, 1, &n, &err), 0);
	assert_int_equal(n, 0);
	ut_rmrf(dir);
	free(dir);
}

/* Journals log.jsonl (holding "a\n" and a torn "b"), then appends "c\n". */
static char *
interrupted_cycle(const char *dir, uint64_t stamp)
{
	char *log = ut_join(dir, "log.jsonl");
	ut_write(log, "a\nb");
	gw_err err;
	gw_journal *j = gw_journal_new(dir, stamp);
	assert_int_equal(gw_journal_add(j, "log.jsonl", &err), 0);
	assert_int_equal(gw_journal_add(j, "missing.jsonl", &err), 0);
	assert_int_equal(gw_journal_write(j, &err), 0);
	gw_journal_free(j);
	assert_int_equal(gw_fs_append(log, "c\n", 2, &err), 0);
	return log;
}

static void
test_uncommitted_cycle_is_rolled_back(void **state)
{
	(void)state;
	char *dir = ut_tmpdir();
	char *log = interrupted_cycle(dir, 5);
	char *missing = ut_join(dir, "missing.jsonl");
	ut_write(missing, "new\n"); /* created by the interrupted cycle */
	unsigned n;
	gw_err err;
	assert_int_equal(gw_journal_recover(dir, 4, &n, &err), 0);
	assert_int_equal(n, 2);
	char *got = ut_read(log);
	assert_string_equal(got, "a\n");
	free(got);
	got = ut_read(missing);
	assert_string_equal(got, "");
	free(got);
	char *journal = ut_join(dir, GW_JOURNAL_FILE);
	assert_false(gw_fs_exists(journal));
	free(journal);
	free(missing);
	free(log);
	ut_rmrf(dir);
	free(dir);
}

static void
test_committed_cycle_is_kept(void **state)
{
	(void)state;
	char *dir = ut_tmpdir();
	char *log = interrupted_cycle(dir, 5);
	unsigned n;
	gw_err err;
	assert_int_equal(gw_journal_recover(dir, 5, &n, &err), 0);
	assert_int_equal(n, 0);
	char *got = ut_read(log);
	assert_string_equal(got, "a\nc\n"); /* the append cut the torn "b" */
	free(got);
	char *journal = ut_join(dir, GW_JOURNAL_FILE);
	assert_false(gw_fs_exists(journal));
	/* commit removes a journal; a second commit is a no-op */
	ut_write(journal, "x");
	gw_journal_commit(dir);
	assert_false(gw_fs_exists(journal));
	gw_journal_commit(dir);
	free(journal);
	free(log);
	ut_rmrf(dir);
	free(dir);
}

/* A cycle killed between its journal and its commit may leave temp files
 * in the directories it wrote: the recovery of its journal removes them
 * there (and only temps: a spare stays); a committed cycle's journal
 * sweeps nothing (its temps were all renamed). */
static void
test_interrupted_cycle_temps_are_swept(void **state)
{
	(void)state;
	for (int committed = 0; committed < 2; committed++) {
		char *dir = ut_tmpdir();
		char *sub = ut_join(dir, "ch/a");
		gw_err err;
		assert_int_equal(gw_fs_mkdirs(sub, &err), 0);
		char *log = ut_write_in(sub, "log.jsonl", "a\n");
		gw_journal *j = gw_journal_new(dir, 7);
		assert_int_equal(gw_journal_add(j, "ch/a/log.jsonl", &err), 0);
		assert_int_equal(gw_journal_write(j, &err), 0);
		gw_journal_free(j);
		char *tmp = ut_write_in(sub, ".MEMORY.md" GW_FS_TEMP_MARK "1-2-3", "torn");
		char *spare = ut_write_in(sub, ".MEMORY.md" GW_FS_SPARE_SUFFIX, "old");
		unsigned n;
		assert_int_equal(gw_journal_recover(dir, committed ? 7 : 1, &n, &err), 0);
		assert_int_equal(gw_fs_exists(tmp), committed);
		assert_true(gw_fs_exists(spare));
		ut_rmrf(dir);
		free(log);
		free(tmp);
		free(spare);
		free(sub);
		free(dir);
	}
}

static void
test_paths_cannot_leave_the_state_dir(void **state)
{
	(void)state;
	char *dir = ut_tmpdir();
	gw_err err;
	gw_journal *j = gw_journal_new(dir, 1);
	assert_int_equal(gw_journal_add(j, "../outside", &err), -EINVAL);
	assert_int_equal(gw_journal_add(j, "a/../../outside", &err), -EINVAL);
	assert_int_equal(gw_journal_add(j, "/etc/passwd", &err), -EINVAL);
	assert_int_equal(gw_journal_add(j, "a/..b/ok", &err), 0);
	gw_journal_free(j);
	/* a hand-made journal naming an outside file is not followed */
	char *outside = ut_join(dir, "../journal-outside-victim");
	ut_write(outside, "keep me\n");
	char *journal = ut_join(dir, GW_JOURNAL_FILE);
	ut_write(journal, "tau-gateway cycle journal 1 9\n0 ../journal-outside-victim\n");
	unsigned n;
	assert_int_equal(gw_journal_recover(dir, 1, &n, &err), 0);
	assert_int_equal(n, 0);
	char *got = ut_read(outside);
	assert_string_equal(got, "keep me\n");
	free(got);
	unlink(outside);
	free(outside);
	free(journal);
	ut_rmrf(dir);
	free(dir);
}

static void
test_garbage_journal_is_an_error_and_kept(void **state)
{
	(void)state;
	char *dir = ut_tmpdir();
	char *journal = ut_join(dir, GW_JOURNAL_FILE);
	ut_write(journal, "not a journal\n");
	unsigned n;
	gw_err err;
	assert_int_equal(gw_journal_recover(dir, 1, &n, &err), -EINVAL);
	ut_assert_contains(err.msg, "is not a cycle journal");
	assert_int_equal(err.exit_code, GW_EXIT_DATAERR);
	assert_true(gw_fs_exists(journal));
	free(journal);
	ut_rmrf(dir);
	free(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_journal_is_nothing_to_do),
		cmocka_unit_test(test_uncommitted_cycle_is_rolled_back),
		cmocka_unit_test(test_committed_cycle_is_kept),
		cmocka_unit_test(test_interrupted_cycle_temps_are_swept),
		cmocka_unit_test(test_paths_cannot_leave_the_state_dir),
		cmocka_unit_test(test_garbage_journal_is_an_error_and_kept),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
