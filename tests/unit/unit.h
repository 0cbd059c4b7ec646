/*
 * unit.h - small helpers shared by the cmocka unit tests: temporary
 * directories that are removed afterwards, whole-file read/write, a sorted
 * snapshot of a directory tree (to prove "nothing was written"), and a
 * substring assertion that prints the haystack on failure.
 *
 * Header-only (static functions) because every test is its own executable.
 * Strings returned by these helpers are malloc'ed; the caller frees them.
 */
#ifndef TAU_UNIT_H
#define TAU_UNIT_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdbool.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/base/buf.h"
#include "core/base/fs.h"
#include "core/base/mem.h"

/* Fails the test unless needle occurs in hay; prints both otherwise. */
#define ut_assert_contains(hay, needle) \
	ut_assert_contains_at((hay), (needle), __FILE__, __LINE__)

static inline void
ut_assert_contains_at(const char *hay, const char *needle, const char *file, int line)
{
	if (hay == NULL || strstr(hay, needle) == NULL) {
		print_error("%s:%d: expected to find\n  [%s]\nin\n  [%s]\n", file, line, needle,
		    hay ? hay : "(null)");
		fail();
	}
}

#define ut_assert_not_contains(hay, needle) do { \
	if (strstr((hay), (needle)) != NULL) { \
		print_error("%s:%d: did not expect [%s] in [%s]\n", __FILE__, __LINE__, \
		    (needle), (hay)); \
		fail(); \
	} \
} while (0)

/* Returns a new empty directory under $TMPDIR (or /tmp); caller frees and
 * removes it with ut_rmrf. */
static inline char *
ut_tmpdir(void)
{
	const char *base = getenv("TMPDIR");
	gw_buf b = GW_BUF_INIT;
	gw_buf_printf(&b, "%s/tau-unit-XXXXXX", base && base[0] ? base : "/tmp");
	char *p = gw_buf_detach(&b);
	assert_non_null(mkdtemp(p));
	return p;
}

static inline int
ut_rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* Removes path recursively (like rm -rf). */
static inline void
ut_rmrf(const char *path)
{
	nftw(path, ut_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Writes text to path, replacing it. */
static inline void
ut_write(const char *path, const char *text)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
	assert_int_equal(fclose(f), 0);
}

/* Returns the malloc'ed contents of path; fails the test when unreadable. */
static inline char *
ut_read(const char *path)
{
	gw_buf b = GW_BUF_INIT;
	gw_err err;
	gw_err_clear(&err);
	if (gw_fs_read_file(path, &b, &err) != 0) {
		print_error("cannot read %s: %s\n", path, err.msg);
		fail();
	}
	return gw_buf_detach(&b);
}

/* Returns malloc'ed dir/name. */
static inline char *
ut_join(const char *dir, const char *name)
{
	return gw_path_join(dir, name);
}

/* Writes text to dir/name and returns the malloc'ed path. */
static inline char *
ut_write_in(const char *dir, const char *name, const char *text)
{
	char *p = ut_join(dir, name);
	ut_write(p, text);
	return p;
}

/* Returns the path of a fixture shipped in fixtures/gateway-contract. */
static inline char *
ut_fixture(const char *name)
{
	gw_buf b = GW_BUF_INIT;
	gw_buf_printf(&b, "%s/fixtures/gateway-contract/%s", TAU_SOURCE_DIR, name);
	return gw_buf_detach(&b);
}

/* Number of '\n'-terminated lines in path (0 when missing). */
static inline size_t
ut_count_lines(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return 0;
	size_t n = 0;
	int c;
	while ((c = fgetc(f)) != EOF)
		n += c == '\n';
	fclose(f);
	return n;
}

/* ---- directory snapshots ------------------------------------------------ */

static gw_buf *ut_snap_entries;
static size_t ut_snap_n, ut_snap_cap;

static inline int
ut_snap_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)ftw;
	if (ut_snap_n == ut_snap_cap) {
		ut_snap_cap = ut_snap_cap ? ut_snap_cap * 2 : 32;
		ut_snap_entries = gw_xrealloc(ut_snap_entries, ut_snap_cap * sizeof(gw_buf));
	}
	gw_buf *e = &ut_snap_entries[ut_snap_n++];
	*e = (gw_buf)GW_BUF_INIT;
	gw_buf_printf(e, "%s %s %lld\n", path, flag == FTW_D ? "dir" : "file",
	    (long long)sb->st_size);
	if (flag == FTW_F) {
		gw_err err;
		gw_fs_read_file(path, e, &err);
		gw_buf_putc(e, '\n');
	}
	return 0;
}

static inline int
ut_snap_cmp(const void *a, const void *b)
{
	return strcmp(((const gw_buf *)a)->data, ((const gw_buf *)b)->data);
}

/* Returns a malloc'ed text listing every path under dir with its contents,
 * in sorted order; two snapshots are equal iff nothing changed. */
static inline char *
ut_snapshot(const char *dir)
{
	ut_snap_n = 0;
	nftw(dir, ut_snap_one, 16, FTW_PHYS);
	qsort(ut_snap_entries, ut_snap_n, sizeof(gw_buf), ut_snap_cmp);
	gw_buf out = GW_BUF_INIT;
	for (size_t i = 0; i < ut_snap_n; i++) {
		gw_buf_append(&out, ut_snap_entries[i].data, ut_snap_entries[i].len);
		gw_buf_free(&ut_snap_entries[i]);
	}
	free(ut_snap_entries);
	ut_snap_entries = NULL;
	ut_snap_n = ut_snap_cap = 0;
	return gw_buf_detach(&out);
}

/*
 * A state directory for one test (a cmocka setup/teardown pair): root is a
 * fresh temporary directory, removed with everything in it on teardown;
 * dir is root itself, or root/gw not yet created (ut_statedir_setup_absent,
 * for code that must create it); state and events name the files in dir.
 */
typedef struct ut_statedir {
	char *root, *dir, *state, *events;
} ut_statedir;

static inline int
ut_statedir_make(void **state, bool absent)
{
	ut_statedir *f = gw_xcalloc(1, sizeof(*f));
	f->root = ut_tmpdir();
	f->dir = absent ? ut_join(f->root, "gw") : gw_xstrdup(f->root);
	f->state = ut_join(f->dir, "state.json");
	f->events = ut_join(f->dir, "runtime-events.jsonl");
	*state = f;
	return 0;
}

static inline int
ut_statedir_setup(void **state)
{
	return ut_statedir_make(state, false);
}

static inline int
ut_statedir_setup_absent(void **state)
{
	return ut_statedir_make(state, true);
}

static inline int
ut_statedir_teardown(void **state)
{
	ut_statedir *f = *state;
	ut_rmrf(f->root);
	free(f->root);
	free(f->dir);
	free(f->state);
	free(f->events);
	free(f);
	return 0;
}

#endif
