/*
 * test_fs.c - durable file operations: mkdirs, whole-file reads, atomic
 * replacement that leaves no temp files, single-write appends, and the
 * state-directory lock excluding another process (fork).
 */
#include "unit.h"

#include <dirent.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

static size_t
count_entries(const char *dir, const char *prefix)
{
	DIR *d = opendir(dir);
	assert_non_null(d);
	size_t n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL)
		if (strncmp(e->d_name, prefix, strlen(prefix)) == 0)
			n++;
	closedir(d);
	return n;
}

static void
test_path_join(void **state)
{
	(void)state;
	char *p = gw_path_join("a", "b");
	assert_string_equal(p, "a/b");
	free(p);
	p = gw_path_join("a/", "b");
	assert_string_equal(p, "a/b");
	free(p);
	p = gw_path_join("", "b");
	assert_string_equal(p, "b");
	free(p);
}

static void
test_mkdirs_and_predicates(void **state)
{
	(void)state;
	char *root = ut_tmpdir();
	char *deep = ut_join(root, "a/b/c/");
	gw_err err;
	assert_int_equal(gw_fs_mkdirs(deep, &err), 0);
	assert_true(gw_fs_is_dir(deep));
	assert_int_equal(gw_fs_mkdirs(deep, &err), 0); /* idempotent */
	char *file = ut_write_in(root, "f", "x");
	assert_true(gw_fs_exists(file));
	assert_true(gw_fs_is_file(file));
	assert_false(gw_fs_is_dir(file));
	assert_false(gw_fs_exists("/nonexistent/zzz"));
	/* a file in the way */
	char *blocked = ut_join(root, "f/sub");
	assert_true(gw_fs_mkdirs(blocked, &err) < 0);
	assert_int_equal(err.exit_code, GW_EXIT_CANTCREAT);
	ut_assert_contains(err.msg, "cannot create directory");
	assert_true(gw_fs_mkdirs(file, &err) == -ENOTDIR);
	ut_assert_contains(err.msg, "a file is in the way");
	ut_rmrf(root);
	free(blocked);
	free(file);
	free(deep);
	free(root);
}

static void
test_read_file_missing_is_noinput(void **state)
{
	(void)state;
	gw_buf b = GW_BUF_INIT;
	gw_err err;
	assert_int_equal(gw_fs_read_file("/nonexistent/x", &b, &err), -ENOENT);
	assert_int_equal(err.exit_code, GW_EXIT_NOINPUT);
	assert_string_equal(err.msg, "cannot read /nonexistent/x: No such file or directory");
	gw_buf_free(&b);
}

static void
test_read_file_appends_whole_content(void **state)
{
	(void)state;
	char *root = ut_tmpdir();
	gw_buf big = GW_BUF_INIT;
	for (int i = 0; i < 300000; i++)
		gw_buf_putc(&big, (char)('A' + i % 23));
	char *p = ut_write_in(root, "big", big.data);
	gw_buf b = GW_BUF_INIT;
	gw_buf_puts(&b, "pre:");
	gw_err err;
	assert_int_equal(gw_fs_read_file(p, &b, &err), 0);
	assert_int_equal(b.len, 4 + big.len);
	assert_memory_equal(b.data + 4, big.data, big.len);
	assert_int_equal(b.data[b.len], '\0');
	gw_buf_free(&b);
	gw_buf_free(&big);
	ut_rmrf(root);
	free(p);
	free(root);
}

static void
test_read_empty_file_is_empty_string(void **state)
{
	(void)state;
	char *root = ut_tmpdir();
	char *p = ut_write_in(root, "empty", "");
	gw_buf b = GW_BUF_INIT;
	gw_err err;
	assert_int_equal(gw_fs_read_file(p, &b, &err), 0);
	assert_int_equal(b.len, 0);
	assert_string_equal(gw_buf_cstr(&b), "");
	gw_buf_free(&b);
	ut_rmrf(root);
	free(p);
	free(root);
}

static void
test_write_atomic_replaces_and_leaves_no_temp_files(void **state)
{
	(void)state;
	char *root = ut_tmpdir();
	char *p = ut_join(root, "state.json");
	gw_err err;
	for (int i = 0; i < 50; i++) {
		char text[32];
		snprintf(text, sizeof(text), "{\"v\":%d}", i);
		assert_int_equal(gw_fs_write_atomic(p, text, strlen(text), &err), 0);
		char *got = ut_read(p);
		assert_string_equal(got, text);
		free(got);
	}
	assert_int_equal(count_entries(root, "."), 2);   /* only "." and ".." */
	assert_int_equal(count_entries(root, "state.json"), 1);
	struct stat sb;
	assert_int_equal(stat(p, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0644);
	/* empty content is a valid file */
	assert_int_equal(gw_fs_write_atomic(p, "", 0, &err), 0);
	assert_int_equal(stat(p, &sb), 0);
	assert_int_equal(sb.st_size, 0);
	ut_rmrf(root);
	free(p);
	free(root);
}

static void
test_write_atomic_failure_keeps_target_and_no_temp(void **state)
{
	(void)state;
	gw_err err;
	assert_true(gw_fs_write_atomic("/nonexistent/dir/f", "x", 1, &err) < 0);
	ut_assert_contains(err.msg, "cannot write /nonexistent/dir/f");
	assert_int_equal(err.exit_code, GW_EXIT_CANTCREAT);
	/* rename onto a directory fails: the temp file is removed */
	char *root = ut_tmpdir();
	char *d = ut_join(root, "target");
	assert_int_equal(mkdir(d, 0755), 0);
	char *inner = ut_write_in(d, "keep", "k");
	assert_true(gw_fs_write_atomic(d, "x", 1, &err) < 0);
	ut_assert_contains(err.msg, "cannot replace");
	assert_int_equal(count_entries(root, "."), 2);
	assert_true(gw_fs_is_file(inner));
	ut_rmrf(root);
	free(inner);
	free(d);
	free(root);
}

static void
test_append_single_records(void **state)
{
	(void)state;
	char *root = ut_tmpdir();
	char *p = ut_join(root, "log.jsonl");
	gw_err err;
	assert_int_equal(gw_fs_append(p, "{\"a\":1}\n", 8, &err), 0);
	assert_int_equal(gw_fs_append(p, "{\"a\":2}\n", 8, &err), 0);
	char *got = ut_read(p);
	assert_string_equal(got, "{\"a\":1}\n{\"a\":2}\n");
	free(got);
	assert_true(gw_fs_append("/nonexistent/d/log", "x\n", 2, &err) < 0);
	ut_assert_contains(err.msg, "cannot open /nonexistent/d/log for appending");
	ut_rmrf(root);
	free(p);
	free(root);
}

/* In a child: tries the lock without blocking; exits 0 when it got it,
 * 1 when it was busy, 2 on any other error. */
static int
child_try_lock(const char *dir)
{
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		gw_lock l;
		gw_err err;
		int rc = gw_lock_try(&l, dir, &err);
		if (rc == 0) {
			gw_lock_release(&l);
			_exit(0);
		}
		_exit(rc == -EWOULDBLOCK && err.exit_code == GW_EXIT_UNAVAILABLE ? 1 : 2);
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static void
test_lock_excludes_another_process(void **state)
{
	(void)state;
	char *root = ut_tmpdir();
	char *dir = ut_join(root, "state");
	gw_lock l;
	gw_err err;
	assert_int_equal(gw_lock_acquire(&l, dir, &err), 0); /* creates dir and .lock */
	assert_true(l.fd >= 0);
	char *lockfile = ut_join(dir, ".lock");
	assert_true(gw_fs_is_file(lockfile));
	assert_int_equal(child_try_lock(dir), 1);
	gw_lock_release(&l);
	assert_int_equal(l.fd, -1);
	gw_lock_release(&l); /* no-op */
	assert_int_equal(child_try_lock(dir), 0);
	ut_rmrf(root);
	free(lockfile);
	free(dir);
	free(root);
}

static void
test_lock_blocks_until_released(void **state)
{
	(void)state;
	char *root = ut_tmpdir();
	int ready[2], go[2];
	assert_int_equal(pipe(ready), 0);
	assert_int_equal(pipe(go), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		gw_lock l;
		gw_err err;
		char c = 'r';
		if (gw_lock_acquire(&l, root, &err) != 0)
			_exit(2);
		if (write(ready[1], &c, 1) != 1 || read(go[0], &c, 1) != 1)
			_exit(3);
		/* the marker is written while the lock is held */
		char *m = gw_path_join(root, "marker");
		FILE *f = fopen(m, "w");
		fputs("child", f);
		fclose(f);
		gw_lock_release(&l);
		_exit(0);
	}
	char c;
	assert_int_equal(read(ready[0], &c, 1), 1);
	assert_int_equal(write(go[1], "g", 1), 1);
	gw_lock l;
	gw_err err;
	assert_int_equal(gw_lock_acquire(&l, root, &err), 0); /* waits for the child */
	char *m = ut_join(root, "marker");
	assert_true(gw_fs_is_file(m));
	gw_lock_release(&l);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(ready[0]);
	close(ready[1]);
	close(go[0]);
	close(go[1]);
	ut_rmrf(root);
	free(m);
	free(root);
}

static void
record_notice(void *ctx, const char *msg)
{
	gw_buf_printf(ctx, "%s;", msg);
}

/* The holder of a state-directory lock writes "<pid> <what>" into .lock and
 * empties it on release; a waiter names it ("pid N (what)"), and with a
 * wait bound of 0 gives up at once with exit class 69.  (The one-second
 * "waiting for" notice and the bounded wait are timed, so
 * gateway_runtime_lock_wait checks them.) */
static void
test_lock_names_its_holder(void **state)
{
	(void)state;
	char *root = ut_tmpdir();
	char *dir = ut_join(root, "state");
	char *lockfile = ut_join(dir, ".lock");
	gw_lock l;
	gw_err err;
	assert_int_equal(gw_lock_acquire_as(&l, dir, "unit test", &err), 0);
	char want[96], holder[200];
	snprintf(want, sizeof(want), "%ld unit test\n", (long)getpid());
	char *text = ut_read(lockfile);
	assert_string_equal(text, want);
	free(text);
	gw_lock_holder(dir, holder, sizeof(holder));
	snprintf(want, sizeof(want), "pid %ld (unit test)", (long)getpid());
	assert_string_equal(holder, want);
	gw_lock_release(&l);
	text = ut_read(lockfile);
	assert_string_equal(text, "");
	free(text);
	gw_lock_holder(dir, holder, sizeof(holder));
	assert_string_equal(holder, "another process");
	ut_write(lockfile, "12x nonsense\n"); /* not a holder line */
	gw_lock_holder(dir, holder, sizeof(holder));
	assert_string_equal(holder, "another process");

	/* a child holds it; the parent is told who, without waiting */
	int ready[2], go[2];
	assert_int_equal(pipe(ready), 0);
	assert_int_equal(pipe(go), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		gw_lock cl;
		char c = 'r';
		if (gw_lock_acquire_as(&cl, dir, "runner cycle", &err) != 0)
			_exit(2);
		if (write(ready[1], &c, 1) != 1 || read(go[0], &c, 1) != 1)
			_exit(3);
		gw_lock_release(&cl);
		_exit(0);
	}
	char c;
	assert_int_equal(read(ready[0], &c, 1), 1);
	assert_int_equal(gw_lock_try_as(&l, dir, "service stop", &err), -EWOULDBLOCK);
	assert_int_equal(err.exit_code, GW_EXIT_UNAVAILABLE);
	snprintf(want, sizeof(want), "state directory %s is locked by pid %ld (runner cycle)", dir,
	    (long)pid);
	assert_string_equal(err.msg, want);
	gw_buf notices = GW_BUF_INIT;
	gw_lock_set_wait(0, record_notice, &notices);
	assert_int_equal(gw_lock_acquire(&l, dir, &err), -EWOULDBLOCK);
	assert_int_equal(l.fd, -1);
	assert_string_equal(err.msg, want);
	gw_lock_set_wait(GW_LOCK_DEFAULT_WAIT_MS, NULL, NULL);
	assert_int_equal(notices.len, 0); /* no notice before a second of waiting */
	assert_int_equal(write(go[1], "g", 1), 1);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(gw_lock_acquire(&l, dir, &err), 0);
	gw_lock_holder(dir, holder, sizeof(holder));
	snprintf(want, sizeof(want), "pid %ld (tau-gateway)", (long)getpid());
	assert_string_equal(holder, want);
	gw_lock_release(&l);
	close(ready[0]);
	close(ready[1]);
	close(go[0]);
	close(go[1]);
	gw_buf_free(&notices);
	ut_rmrf(root);
	free(lockfile);
	free(dir);
	free(root);
}

/* The holder line is never written through a symlinked (or hard-linked)
 * .lock: the file it names keeps its bytes, whether or not the lock is
 * taken. */
static void
test_lock_mark_never_writes_through_links(void **state)
{
	(void)state;
	char *root = ut_tmpdir();
	char *dir = ut_join(root, "state");
	assert_int_equal(mkdir(dir, 0755), 0);
	char *victim = ut_write_in(root, "victim", "precious\n");
	char *lockfile = ut_join(dir, ".lock");
	for (int hard = 0; hard < 2; hard++) {
		assert_int_equal(hard ? link(victim, lockfile) : symlink(victim, lockfile), 0);
		gw_lock l;
		gw_err err;
		if (gw_lock_acquire_as(&l, dir, "unit test", &err) == 0)
			gw_lock_release(&l);
		char *text = ut_read(victim);
		assert_string_equal(text, "precious\n");
		free(text);
		assert_int_equal(unlink(lockfile), 0);
	}
	ut_rmrf(root);
	free(lockfile);
	free(victim);
	free(dir);
	free(root);
}

static void
test_lock_on_uncreatable_dir(void **state)
{
	(void)state;
	char *root = ut_tmpdir();
	char *file = ut_write_in(root, "file", "x");
	char *dir = ut_join(file, "sub");
	gw_lock l;
	gw_err err;
	assert_true(gw_lock_acquire(&l, dir, &err) < 0);
	assert_int_equal(l.fd, -1);
	assert_int_equal(err.exit_code, GW_EXIT_CANTCREAT);
	ut_rmrf(root);
	free(dir);
	free(file);
	free(root);
}

static void
test_append_cuts_a_torn_last_line(void **state)
{
	(void)state;
	char *root = ut_tmpdir();
	char *p = ut_join(root, "log.jsonl");
	gw_err err;
	/* a killed writer left half a record */
	ut_write(p, "{\"a\":1}\n{\"b\":2}\n{\"c\":");
	assert_int_equal(gw_fs_append(p, "{\"d\":4}\n", 8, &err), 0);
	char *got = ut_read(p);
	assert_string_equal(got, "{\"a\":1}\n{\"b\":2}\n{\"d\":4}\n");
	free(got);
	/* a file that is only a remnant is emptied first */
	ut_write(p, "{\"torn");
	assert_int_equal(gw_fs_append(p, "{\"e\":5}\n", 8, &err), 0);
	got = ut_read(p);
	assert_string_equal(got, "{\"e\":5}\n");
	free(got);
	ut_rmrf(root);
	free(p);
	free(root);
}

static void
test_batch_commit_replaces_every_file(void **state)
{
	(void)state;
	char *root = ut_tmpdir();
	char *a = ut_join(root, "a.md"), *b = ut_join(root, "b.md");
	ut_write(a, "old a");
	gw_err err;
	gw_fs_batch *batch = gw_fs_batch_new();
	assert_int_equal(gw_fs_batch_add(batch, a, "new a", 5, &err), 0);
	assert_int_equal(gw_fs_batch_add(batch, b, "new b", 5, &err), 0);
	/* before the commit the targets are untouched and temps exist */
	char *got = ut_read(a);
	assert_string_equal(got, "old a");
	free(got);
	assert_int_equal(count_entries(root, ".a.md" GW_FS_TEMP_MARK), 1);
	assert_int_equal(gw_fs_batch_commit(batch, &err), 0);
	gw_fs_batch_free(batch);
	got = ut_read(a);
	assert_string_equal(got, "new a");
	free(got);
	got = ut_read(b);
	assert_string_equal(got, "new b");
	free(got);
	assert_int_equal(count_entries(root, "."), 2); /* no temps left */
	ut_rmrf(root);
	free(a);
	free(b);
	free(root);
}

static ino_t
ino_of(const char *path)
{
	struct stat st;
	assert_int_equal(lstat(path, &st), 0);
	return st.st_ino;
}

/* A spared replacement writes the spare in place and exchanges it with
 * the file: both inodes live on, the spare holds the previous text, no
 * temp is made; a new file gets an empty spare beside it; a shorter text
 * leaves no tail of the longer one; an undo exchanges back. */
static void
test_batch_spared_exchanges(void **state)
{
	(void)state;
	char *root = ut_tmpdir();
	char *a = ut_join(root, "a.md"), *b = ut_join(root, "b.md");
	char *sa = ut_join(root, ".a.md" GW_FS_SPARE_SUFFIX), *sb = ut_join(root, ".b.md" GW_FS_SPARE_SUFFIX);
	ut_write(a, "old a, the longest text");
	gw_err err;
	gw_fs_batch *batch = gw_fs_batch_new();
	assert_int_equal(gw_fs_batch_add_spared(batch, a, "new a", 5, &err), 0);
	assert_int_equal(gw_fs_batch_add_spared(batch, b, "new b", 5, &err), 0);
	char *got = ut_read(a); /* before the commit: untouched, the spare written */
	assert_string_equal(got, "old a, the longest text");
	free(got);
	got = ut_read(sa);
	assert_string_equal(got, "new a");
	free(got);
	ino_t ia = ino_of(a), isa = ino_of(sa);
	assert_int_equal(gw_fs_batch_commit(batch, &err), 0);
	gw_fs_batch_free(batch);
	got = ut_read(a);
	assert_string_equal(got, "new a");
	free(got);
	got = ut_read(sa);
	assert_string_equal(got, "old a, the longest text");
	free(got);
	assert_true(ino_of(a) == isa && ino_of(sa) == ia);
	got = ut_read(b);
	assert_string_equal(got, "new b");
	free(got);
	got = ut_read(sb);
	assert_string_equal(got, ""); /* b was new: an empty spare for next time */
	free(got);
	assert_int_equal(count_entries(root, ".a.md" GW_FS_TEMP_MARK), 0);
	assert_int_equal(count_entries(root, "."), 4); /* two files, two spares */
	/* again, shorter than what the spare holds; then undone */
	batch = gw_fs_batch_new();
	assert_int_equal(gw_fs_batch_add_spared(batch, a, "a3", 2, &err), 0);
	assert_int_equal(gw_fs_batch_commit(batch, &err), 0);
	got = ut_read(a);
	assert_string_equal(got, "a3");
	free(got);
	assert_int_equal(gw_fs_batch_undo(batch), 0);
	gw_fs_batch_free(batch);
	got = ut_read(a);
	assert_string_equal(got, "new a");
	free(got);
	ut_rmrf(root);
	free(a);
	free(b);
	free(sa);
	free(sb);
	free(root);
}

/* A spare that is a symlink or has a second name is never written
 * through: the file is replaced by way of a temp, the other file kept. */
static void
test_batch_spared_refuses_foreign_spares(void **state)
{
	(void)state;
	char *root = ut_tmpdir();
	char *a = ut_join(root, "a.md"), *sa = ut_join(root, ".a.md" GW_FS_SPARE_SUFFIX);
	char *b = ut_join(root, "b.md"), *sb = ut_join(root, ".b.md" GW_FS_SPARE_SUFFIX);
	char *outside = ut_join(root, "outside");
	ut_write(outside, "keep me");
	ut_write(a, "old a");
	ut_write(b, "old b");
	assert_int_equal(symlink(outside, sa), 0);
	assert_int_equal(link(outside, sb), 0);
	gw_err err;
	gw_fs_batch *batch = gw_fs_batch_new();
	assert_int_equal(gw_fs_batch_add_spared(batch, a, "new a", 5, &err), 0);
	assert_int_equal(gw_fs_batch_add_spared(batch, b, "new b", 5, &err), 0);
	assert_int_equal(gw_fs_batch_commit(batch, &err), 0);
	gw_fs_batch_free(batch);
	char *got = ut_read(outside);
	assert_string_equal(got, "keep me");
	free(got);
	got = ut_read(a);
	assert_string_equal(got, "new a");
	free(got);
	got = ut_read(b);
	assert_string_equal(got, "new b");
	free(got);
	assert_int_equal(count_entries(root, ".a.md" GW_FS_TEMP_MARK), 0);
	/* a directory in the file's place is not exchanged away: the commit
	 * fails as a rename over it does, the directory where it was */
	char *d = ut_join(root, "d.md"), *in = ut_join(root, "d.md/keep");
	assert_int_equal(gw_fs_mkdirs(d, &err), 0);
	ut_write(in, "x");
	batch = gw_fs_batch_new();
	assert_int_equal(gw_fs_batch_add_spared(batch, d, "new d", 5, &err), 0);
	assert_int_not_equal(gw_fs_batch_commit(batch, &err), 0);
	gw_fs_batch_free(batch);
	assert_true(gw_fs_is_file(in));
	assert_int_equal(count_entries(root, ".d.md"), 0);
	free(d);
	free(in);
	ut_rmrf(root);
	free(a);
	free(sa);
	free(b);
	free(sb);
	free(outside);
	free(root);
}

static void
test_batch_free_without_commit_discards_temps(void **state)
{
	(void)state;
	char *root = ut_tmpdir();
	char *a = ut_join(root, "a.md");
	ut_write(a, "old a");
	gw_err err;
	gw_fs_batch *batch = gw_fs_batch_new();
	assert_int_equal(gw_fs_batch_add(batch, a, "new a", 5, &err), 0);
	gw_fs_batch_free(batch);
	char *got = ut_read(a);
	assert_string_equal(got, "old a");
	free(got);
	assert_int_equal(count_entries(root, "."), 2);
	ut_rmrf(root);
	free(a);
	free(root);
}

static void
test_remove_stale_temps_keeps_real_files(void **state)
{
	(void)state;
	char *root = ut_tmpdir();
	char *t1 = ut_join(root, ".state.json.tmp-123-0-456");
	char *t2 = ut_join(root, ".MEMORY.md.tmp-9-1-2");
	char *keep1 = ut_join(root, "state.json"), *keep2 = ut_join(root, ".lock");
	ut_write(t1, "x");
	ut_write(t2, "x");
	ut_write(keep1, "{}");
	ut_write(keep2, "");
	assert_int_equal(gw_fs_remove_stale_temps(root), 2);
	assert_false(gw_fs_exists(t1));
	assert_false(gw_fs_exists(t2));
	assert_true(gw_fs_exists(keep1));
	assert_true(gw_fs_exists(keep2));
	assert_int_equal(gw_fs_remove_stale_temps("/nonexistent-dir-for-test"), 0);
	ut_rmrf(root);
	free(t1);
	free(t2);
	free(keep1);
	free(keep2);
	free(root);
}

/* A symlink is refused (not followed) and a FIFO is refused at once (the
 * reader would otherwise block in open until a writer came). */
static void
test_open_refuses_links_and_fifos(void **state)
{
	(void)state;
	char *root = ut_tmpdir();
	char *target = ut_join(root, "target"), *link = ut_join(root, "link");
	char *fifo = ut_join(root, "fifo");
	ut_write(target, "keep");
	assert_int_equal(symlink(target, link), 0);
	assert_int_equal(mkfifo(fifo, 0644), 0);
	gw_err err;
	gw_buf b = GW_BUF_INIT;
	assert_int_equal(gw_fs_read_file(link, &b, &err), -ELOOP);
	assert_int_equal(err.exit_code, GW_EXIT_DATAERR);
	ut_assert_contains(err.msg, "refusing ");
	ut_assert_contains(err.msg, "/link: it is a symbolic link, not a regular file");
	assert_int_equal(gw_fs_append(link, "x\n", 2, &err), -ELOOP);
	assert_int_equal(gw_fs_read_file(fifo, &b, &err), -EINVAL);
	ut_assert_contains(err.msg, "/fifo: it is a FIFO, not a regular file");
	assert_int_equal(gw_fs_append(fifo, "x\n", 2, &err), -EINVAL);
	/* a file the operator named may be a link or a FIFO: it is theirs */
	assert_int_equal(gw_fs_read_named(link, &b, &err), 0);
	assert_string_equal(gw_buf_cstr(&b), "keep");
	/* a console log may quote what was typed: an existing file readable
	 * by others is narrowed to 0600 (through the link), a new one is 0600 */
	assert_int_equal(chmod(target, 0644), 0);
	int fd = gw_fs_open_named_append(link, &err);
	assert_true(fd >= 0);
	close(fd);
	struct stat sb;
	assert_int_equal(stat(target, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	char *fresh = ut_join(root, "fresh.log");
	fd = gw_fs_open_named_append(fresh, &err);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(stat(fresh, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	free(fresh);
	fd = gw_fs_open_named_append("/dev/null", &err);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(stat("/dev/null", &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0666); /* not ours to narrow */
	gw_buf_reset(&b);
	assert_int_equal(gw_fs_read_file(root, &b, &err), -EINVAL);
	ut_assert_contains(err.msg, "it is a directory");
	gw_lock l;
	assert_int_equal(gw_lock_acquire_file(&l, link, &err), -ELOOP);
	char *got = ut_read(target);
	assert_string_equal(got, "keep");
	free(got);
	gw_buf_free(&b);
	ut_rmrf(root);
	free(target);
	free(link);
	free(fifo);
	free(root);
}

static void
test_mkdirs_and_truncate_under_refuse_links(void **state)
{
	(void)state;
	char *root = ut_tmpdir();
	char *out = ut_join(root, "out"), *in = ut_join(root, "in");
	char *victim = ut_join(root, "out/f"), *link = ut_join(root, "in/a/b");
	gw_err err;
	bool made;
	assert_int_equal(gw_fs_mkdirs_under(in, "a", &made, &err), 0);
	assert_true(made);
	assert_int_equal(gw_fs_mkdirs_under(in, "a", &made, &err), 0);
	assert_false(made);
	assert_int_equal(gw_fs_mkdirs(out, &err), 0);
	ut_write(victim, "0123456789");
	assert_int_equal(symlink(out, link), 0);
	assert_int_equal(gw_fs_mkdirs_under(in, "a/b/c", NULL, &err), -ELOOP);
	assert_int_equal(err.exit_code, GW_EXIT_DATAERR);
	ut_assert_contains(err.msg, "/in/a/b: it is a symbolic link, not a directory");
	char *c = ut_join(out, "c");
	assert_false(gw_fs_exists(c));
	free(c);
	/* the last component alone (its parents checked): a link refused, a
	 * new directory made, an existing one kept */
	assert_int_equal(gw_fs_mkdir_last_under(in, "a/b", &made, &err), -ELOOP);
	ut_assert_contains(err.msg, "/in/a/b: it is a symbolic link, not a directory");
	assert_int_equal(gw_fs_mkdir_last_under(in, "a/d/", &made, &err), 0);
	assert_true(made);
	assert_int_equal(gw_fs_mkdir_last_under(in, "a/d", &made, &err), 0);
	assert_false(made);
	assert_int_equal(gw_fs_truncate_under(in, "a/b/f", 0, &err), -ELOOP);
	ut_assert_contains(err.msg, "/in/a/b: it is a symbolic link, not a directory");
	char *flink = ut_join(root, "in/a/f");
	assert_int_equal(symlink(victim, flink), 0);
	assert_int_equal(gw_fs_truncate_under(in, "a/f", 0, &err), -ELOOP);
	char *got = ut_read(victim);
	assert_string_equal(got, "0123456789");
	free(got);
	char *real = ut_join(root, "in/a/g");
	ut_write(real, "line\npart");
	assert_int_equal(gw_fs_truncate_under(in, "a/g", 5, &err), 1);
	assert_int_equal(gw_fs_truncate_under(in, "a/g", 5, &err), 0);
	assert_int_equal(gw_fs_truncate_under(in, "a/none", 5, &err), -ENOENT);
	/* directories are read without following a link either (the expiry
	 * sweeps unlink what they list) */
	DIR *d;
	assert_int_equal(gw_fs_opendir_under(in, "a/b", &d, &err), -ELOOP);
	assert_null(d);
	ut_assert_contains(err.msg, "/in/a/b: it is a symbolic link, not a directory");
	assert_int_equal(gw_fs_opendir_under(in, "a/b/c", &d, &err), -ELOOP);
	assert_null(d);
	assert_int_equal(gw_fs_opendir_under(in, "a/none", &d, &err), 0);
	assert_null(d);
	assert_int_equal(gw_fs_opendir_under(in, "none/deeper", &d, &err), 0);
	assert_null(d);
	assert_int_equal(gw_fs_opendir_under(in, "a", &d, &err), 0);
	assert_non_null(d);
	closedir(d);

	got = ut_read(real);
	assert_string_equal(got, "line\n");
	free(got);
	ut_rmrf(root);
	free(real);
	free(flink);
	free(out);
	free(in);
	free(victim);
	free(link);
	free(root);
}

/* An append that cannot be written whole (here: past RLIMIT_FSIZE, as a
 * full disk would) leaves the file as it was, not with its first lines. */
static void
test_append_is_all_or_nothing(void **state)
{
	(void)state;
	char *root = ut_tmpdir();
	char *f = ut_join(root, "log.jsonl");
	ut_write(f, "{\"a\":1}\n");
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		signal(SIGXFSZ, SIG_IGN);
		struct rlimit rl = { 20, 20 };
		setrlimit(RLIMIT_FSIZE, &rl);
		gw_err err;
		const char rec[] = "{\"b\":2}\n{\"c\":3}\n{\"d\":4}\n";
		int rc = gw_fs_append(f, rec, sizeof(rec) - 1, &err);
		_exit(rc == -EFBIG ? 0 : 1);
	}
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	char *got = ut_read(f);
	assert_string_equal(got, "{\"a\":1}\n");
	free(got);
	ut_rmrf(root);
	free(f);
	free(root);
}

static void
test_repair_tail_cuts_a_torn_line(void **state)
{
	(void)state;
	char *root = ut_tmpdir();
	char *f = ut_join(root, "s.jsonl");
	ut_write(f, "{\"a\":1}\n{\"b\":");
	gw_err err;
	assert_int_equal(gw_fs_repair_tail(f, &err), 0);
	char *got = ut_read(f);
	assert_string_equal(got, "{\"a\":1}\n");
	free(got);
	/* a torn line longer than one 4 KiB block is cut back to the line end
	 * found blocks earlier; a file with no '\n' at all is emptied */
	gw_buf big = GW_BUF_INIT;
	gw_buf_puts(&big, "{\"a\":1}\n");
	for (int i = 0; i < 10000; i++)
		gw_buf_putc(&big, 'x');
	ut_write(f, gw_buf_cstr(&big));
	assert_int_equal(gw_fs_repair_tail(f, &err), 0);
	got = ut_read(f);
	assert_string_equal(got, "{\"a\":1}\n");
	free(got);
	ut_write(f, gw_buf_cstr(&big) + 8);
	assert_int_equal(gw_fs_repair_tail(f, &err), 0);
	got = ut_read(f);
	assert_string_equal(got, "");
	free(got);
	gw_buf_free(&big);
	char *none = ut_join(root, "none");
	assert_int_equal(gw_fs_repair_tail(none, &err), -ENOENT);
	ut_rmrf(root);
	free(none);
	free(f);
	free(root);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_path_join),
		cmocka_unit_test(test_mkdirs_and_predicates),
		cmocka_unit_test(test_read_file_missing_is_noinput),
		cmocka_unit_test(test_read_file_appends_whole_content),
		cmocka_unit_test(test_read_empty_file_is_empty_string),
		cmocka_unit_test(test_write_atomic_replaces_and_leaves_no_temp_files),
		cmocka_unit_test(test_write_atomic_failure_keeps_target_and_no_temp),
		cmocka_unit_test(test_append_single_records),
		cmocka_unit_test(test_lock_excludes_another_process),
		cmocka_unit_test(test_lock_blocks_until_released),
		cmocka_unit_test(test_lock_on_uncreatable_dir),
		cmocka_unit_test(test_lock_names_its_holder),
		cmocka_unit_test(test_lock_mark_never_writes_through_links),
		cmocka_unit_test(test_append_cuts_a_torn_last_line),
		cmocka_unit_test(test_batch_commit_replaces_every_file),
		cmocka_unit_test(test_batch_free_without_commit_discards_temps),
		cmocka_unit_test(test_batch_spared_exchanges),
		cmocka_unit_test(test_batch_spared_refuses_foreign_spares),
		cmocka_unit_test(test_remove_stale_temps_keeps_real_files),
		cmocka_unit_test(test_open_refuses_links_and_fifos),
		cmocka_unit_test(test_mkdirs_and_truncate_under_refuse_links),
		cmocka_unit_test(test_append_is_all_or_nothing),
		cmocka_unit_test(test_repair_tail_cuts_a_torn_line),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
