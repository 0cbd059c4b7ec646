/*
 * xfer.c - the driver of --gateway-state-import / --gateway-state-export
 * (xfer.h): checks the two ends, opens the transaction or the staging
 * directory, runs every kind's import or export in table order, and commits
 * (import) or syncs and renames (export).  It never looks inside a kind.
 */
#include "core/store/xfer.h"

#include "core/base/buf.h"
#include "core/base/fs.h"
#include "core/base/mem.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void
gw_xfer_tick(gw_xfer *x)
{
	x->done++;
	if (x->progress != NULL && x->done % GW_XFER_PROGRESS_EVERY == 0)
		x->progress(x->progress_ctx, x->kind, x->done);
}

/* 1 when dir is a directory with no entry, 0 when it has one, -errno
 * (-ENOENT: absent; -ENOTDIR: something else). */
static int
gw_xfer_dir_empty(const char *dir)
{
	struct stat sb;
	if (lstat(dir, &sb) != 0)
		return -errno;
	if (!S_ISDIR(sb.st_mode))
		return -ENOTDIR;
	DIR *d = opendir(dir);
	if (d == NULL)
		return -errno;
	int empty = 1;
	struct dirent *de;
	while (empty && (de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			empty = 0;
	closedir(d);
	return empty;
}

static void
gw_xfer_report_start(gw_xfer_report *rep, gw_store *db)
{
	memset(rep, 0, sizeof(*rep));
	snprintf(rep->place, sizeof(rep->place), "%s", gw_store_label(db));
}

/* Which kinds s holds (only those a transfer cannot move, import NULL,
 * when unmovable_only);
 * *names lists them ("posture, events") when any. */
static int
gw_xfer_holds(const gw_xfer_kind *kinds, size_t n, gw_store *s, bool unmovable_only,
    gw_buf *names, gw_err *err)
{
	for (size_t i = 0; i < n; i++) {
		if (unmovable_only && kinds[i].import != NULL)
			continue;
		bool yes = false;
		int rc = kinds[i].present(s, &yes, err);
		if (rc != 0)
			return rc;
		if (yes)
			gw_buf_printf(names, "%s%s", names->len ? ", " : "", kinds[i].name);
	}
	return 0;
}

int
gw_xfer_import(const gw_xfer_kind *kinds, size_t n, const char *dir, gw_store *db,
    gw_xfer_progress_fn progress, void *progress_ctx, gw_xfer_report *rep, gw_err *err)
{
	gw_xfer_report_start(rep, db);
	if (n > GW_XFER_KINDS_MAX)
		return gw_err_set(err, -E2BIG, GW_EXIT_SOFTWARE, "too many state kinds (%zu)", n);
	struct stat sb;
	if (stat(dir, &sb) != 0) {
		int e = errno; /* absent: no input (66); unreadable and the like: 74 */
		return gw_err_set(err, -e, e == ENOENT || e == ENOTDIR ? GW_EXIT_NOINPUT : GW_EXIT_IOERR,
		    "cannot import %s: %s", dir, strerror(e));
	}
	if (!S_ISDIR(sb.st_mode))
		return gw_err_set(err, -ENOTDIR, GW_EXIT_NOINPUT,
		    "cannot import %s: not a directory", dir);
	gw_store *src;
	gw_store_open_dir(dir, &src, err);
	/* the directory's lock: no writer changes it while it is read */
	int rc = gw_store_begin(src, "state import", err);
	if (rc != 0) {
		gw_store_close(src);
		return rc;
	}
	gw_buf names = GW_BUF_INIT;
	rc = gw_xfer_holds(kinds, n, src, true, &names, err);
	if (rc == 0 && names.len > 0)
		rc = gw_err_set(err, -ENOTSUP, GW_EXIT_USAGE,
		    "cannot import %s: it holds %s, which this tau-gateway does not store in PostgreSQL "
		    "yet; nothing was written", dir, gw_buf_cstr(&names));
	/* one transaction: the deployment's row locked, so a second import (or
	 * any writer) waits, and then sees this one's state */
	bool open = false;
	if (rc == 0 && (rc = gw_store_begin(db, "state import", err)) == 0)
		open = true;
	gw_buf_reset(&names);
	if (rc == 0)
		rc = gw_xfer_holds(kinds, n, db, false, &names, err);
	if (rc == 0 && names.len > 0)
		rc = gw_err_set(err, -EEXIST, GW_EXIT_CANTCREAT,
		    "cannot import %s: deployment %s already holds state (%s); import into a new "
		    "--gateway-deployment instead; nothing was written", dir, gw_store_label(db),
		    gw_buf_cstr(&names));
	for (size_t i = 0; rc == 0 && i < n; i++) {
		if (kinds[i].import == NULL)
			continue; /* (not in DIR: refused above) */
		gw_xfer x = { progress, progress_ctx, kinds[i].name, 0 };
		rc = kinds[i].import(src, db, &x, err);
		rep->kind[rep->n] = kinds[i].name;
		rep->count[rep->n++] = x.done;
	}
	if (rc == 0)
		rc = gw_store_commit(db, err);
	else if (open)
		gw_store_abort(db);
	gw_store_abort(src);
	gw_store_close(src);
	gw_buf_free(&names);
	return rc;
}

static int
gw_xfer_rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)ftw;
	if (flag == FTW_DP)
		rmdir(path);
	else
		unlink(path);
	return 0;
}

/* Removes the staging directory tree (best effort: it is ours). */
static void
gw_xfer_rm_tree(const char *dir)
{
	nftw(dir, gw_xfer_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Syncs the directory path: the whole file system holding it (everything
 * an export wrote: whole_fs) or its own entries (fsync). */
static int
gw_xfer_sync(const char *path, bool whole_fs, gw_err *err)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || (whole_fs ? syncfs(fd) : fsync(fd)) != 0) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		return gw_err_set(err, -e, GW_EXIT_IOERR, "cannot sync %s: %s", path, strerror(e));
	}
	close(fd);
	return 0;
}

int
gw_xfer_export(const gw_xfer_kind *kinds, size_t n, gw_store *db, const char *dir,
    gw_xfer_progress_fn progress, void *progress_ctx, gw_xfer_report *rep, gw_err *err)
{
	gw_xfer_report_start(rep, db);
	if (n > GW_XFER_KINDS_MAX)
		return gw_err_set(err, -E2BIG, GW_EXIT_SOFTWARE, "too many state kinds (%zu)", n);
	/* DIR without its trailing slashes, so DIR.tmp-<pid> is its sibling */
	size_t len = strlen(dir);
	while (len > 1 && dir[len - 1] == '/')
		len--;
	gw_buf target = GW_BUF_INIT, tmp = GW_BUF_INIT, parent = GW_BUF_INIT, names = GW_BUF_INIT;
	gw_buf_append(&target, dir, len);
	const char *t = gw_buf_cstr(&target);
	int rc = 0;
	int e = len == 0 ? -ENOENT : gw_xfer_dir_empty(t);
	if (len == 0)
		rc = gw_err_set(err, -EINVAL, GW_EXIT_USAGE, "--gateway-state-export needs a directory");
	else if (e == 0)
		rc = gw_err_set(err, -ENOTEMPTY, GW_EXIT_CANTCREAT,
		    "cannot export into %s: it is not empty (give a new or empty directory)", t);
	else if (e == -ENOTDIR)
		rc = gw_err_set(err, -ENOTDIR, GW_EXIT_CANTCREAT,
		    "cannot export into %s: it exists and is not a directory", t);
	else if (e < 0 && e != -ENOENT)
		rc = gw_err_set(err, e, GW_EXIT_CANTCREAT, "cannot export into %s: %s", t, strerror(-e));
	/* nothing to export is a mistake (a wrong deployment name, say), and is
	 * found without the transaction, which would register the deployment */
	if (rc == 0)
		rc = gw_xfer_holds(kinds, n, db, false, &names, err);
	if (rc == 0 && names.len == 0)
		rc = gw_err_set(err, -ENOENT, GW_EXIT_NOINPUT,
		    "cannot export %s: the deployment holds no state", gw_store_label(db));
	/* never an export without part of the state: a kind with no export
	 * that the deployment holds (a kind's present must look at the
	 * database once PostgreSQL holds it) refuses the whole */
	gw_buf_reset(&names);
	if (rc == 0)
		rc = gw_xfer_holds(kinds, n, db, true, &names, err);
	if (rc == 0 && names.len > 0)
		rc = gw_err_set(err, -ENOTSUP, GW_EXIT_USAGE,
		    "cannot export %s: it holds %s, which this tau-gateway cannot write into a state "
		    "directory yet; nothing was written", gw_store_label(db), gw_buf_cstr(&names));
	gw_store *dst = NULL;
	bool db_open = false, staged = false;
	if (rc == 0) {
		gw_buf_printf(&tmp, "%s.tmp-%ld", t, (long)getpid());
		const char *slash = strrchr(t, '/');
		if (slash == NULL)
			gw_buf_puts(&parent, ".");
		else
			gw_buf_append(&parent, t, slash == t ? 1 : (size_t)(slash - t));
		gw_xfer_rm_tree(gw_buf_cstr(&tmp)); /* a dead process of our pid's */
		if (mkdir(gw_buf_cstr(&tmp), 0755) != 0)
			rc = gw_err_set(err, -errno, GW_EXIT_CANTCREAT, "cannot create %s: %s",
			    gw_buf_cstr(&tmp), strerror(errno));
		else
			staged = true;
	}
	if (rc == 0 && (rc = gw_store_begin(db, "state export", err)) == 0)
		db_open = true;
	if (rc == 0) {
		gw_store_open_dir(gw_buf_cstr(&tmp), &dst, err);
		rc = gw_store_begin(dst, "state export", err);
	}
	for (size_t i = 0; rc == 0 && i < n; i++) {
		if (kinds[i].export == NULL)
			continue; /* a kind PostgreSQL does not hold yet */
		gw_xfer x = { progress, progress_ctx, kinds[i].name, 0 };
		rc = kinds[i].export(db, dst, &x, err);
		rep->kind[rep->n] = kinds[i].name;
		rep->count[rep->n++] = x.done;
	}
	if (dst != NULL) {
		if (rc == 0)
			rc = gw_store_commit(dst, err);
		else
			gw_store_abort(dst);
		gw_store_close(dst);
	}
	if (db_open)
		gw_store_abort(db); /* only read */
	if (rc == 0)
		rc = gw_xfer_sync(gw_buf_cstr(&tmp), true, err);
	/* onto an absent or empty directory only: rename(2) refuses a full one */
	if (rc == 0 && rename(gw_buf_cstr(&tmp), t) != 0)
		rc = gw_err_set(err, -errno, GW_EXIT_CANTCREAT, "cannot rename %s to %s: %s",
		    gw_buf_cstr(&tmp), t, strerror(errno));
	if (rc == 0)
		rc = gw_xfer_sync(gw_buf_cstr(&parent), false, err);
	else if (staged)
		gw_xfer_rm_tree(gw_buf_cstr(&tmp));
	gw_buf_free(&target);
	gw_buf_free(&tmp);
	gw_buf_free(&parent);
	gw_buf_free(&names);
	return rc;
}

void
gw_xfer_report_text(const gw_xfer_report *rep, bool import, const char *dir, gw_buf *out)
{
	if (import)
		gw_buf_printf(out, "imported %s into %s:", dir, rep->place);
	else
		gw_buf_printf(out, "exported %s into %s:", rep->place, dir);
	for (size_t i = 0; i < rep->n; i++)
		gw_buf_printf(out, "%s %s %" PRIu64, i ? "," : "", rep->kind[i], rep->count[i]);
}
