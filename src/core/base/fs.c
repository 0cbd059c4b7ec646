/*
 * fs.c - durable writes, appends and the state-directory lock.
 *
 * Must never leave a partially written target file behind: whole files go
 * through a temp file and rename; appends are single write(2) calls on an
 * O_APPEND descriptor, made under the state lock by their callers.
 */
#include "core/base/fs.h"
#include "core/base/clock.h"
#include "core/base/mem.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

char *
gw_path_join(const char *a, const char *b)
{
	gw_buf out = GW_BUF_INIT;
	gw_buf_puts(&out, a);
	if (out.len > 0 && out.data[out.len - 1] != '/')
		gw_buf_putc(&out, '/');
	gw_buf_puts(&out, b);
	return gw_buf_detach(&out);
}

static int
gw_fs_class(int e)
{
	switch (e) {
	case ENOENT:
	case ENOTDIR:
		return GW_EXIT_NOINPUT;
	case EACCES:
	case EPERM:
	case EROFS:
	case ENOSPC:
	case EEXIST:
		return GW_EXIT_CANTCREAT;
	default:
		return GW_EXIT_IOERR;
	}
}

/* What a non-regular file is, for the refusal message. */
static const char *
gw_fs_kind(mode_t m)
{
	if (S_ISLNK(m))
		return "a symbolic link";
	if (S_ISDIR(m))
		return "a directory";
	if (S_ISFIFO(m))
		return "a FIFO";
	if (S_ISSOCK(m))
		return "a socket";
	if (S_ISCHR(m) || S_ISBLK(m))
		return "a device";
	return "not a regular file";
}

static int
gw_fs_refuse(const char *path, mode_t m, gw_err *err)
{
	return gw_err_set(err, S_ISLNK(m) ? -ELOOP : -EINVAL, GW_EXIT_DATAERR,
	    "refusing %s: it is %s, not a regular file", path, gw_fs_kind(m));
}

/* Opens (dfd, name) as gw_fs_open_file does, leaving its fstat in *st;
 * path names it in messages. */
static int
gw_fs_openat_file_st(int dfd, const char *name, const char *path, int flags, mode_t mode,
    struct stat *st_out, gw_err *err)
{
	int fd = openat(dfd, name, flags | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, mode);
	if (fd == -1) {
		int e = errno;
		struct stat st;
		/* ELOOP: a symlink; ENXIO: a FIFO with no reader (O_WRONLY);
		 * EISDIR: a directory opened for writing */
		if ((e == ELOOP || e == ENXIO || e == EISDIR || e == ENOTDIR) &&
		    fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISREG(st.st_mode))
			return gw_fs_refuse(path, st.st_mode, err);
		int ex = (flags & (O_WRONLY | O_RDWR | O_CREAT)) ?
		    (gw_fs_class(e) == GW_EXIT_NOINPUT ? GW_EXIT_CANTCREAT : gw_fs_class(e)) :
		    e == ENOENT ? GW_EXIT_NOINPUT : GW_EXIT_IOERR;
		if (flags & O_APPEND)
			return gw_err_set(err, -e, ex, "cannot open %s for appending: %s", path,
			    strerror(e));
		return gw_err_set(err, -e, ex, "cannot %s %s: %s",
		    (flags & (O_WRONLY | O_RDWR)) ? "open" : "read", path, strerror(e));
	}
	if (fstat(fd, st_out) == -1) {
		int e = errno;
		close(fd);
		return gw_err_set(err, -e, GW_EXIT_IOERR, "cannot stat %s: %s", path, strerror(e));
	}
	if (!S_ISREG(st_out->st_mode)) {
		close(fd);
		return gw_fs_refuse(path, st_out->st_mode, err);
	}
	/* O_NONBLOCK stays set: a regular file ignores it (reads and writes
	 * of one block as they would), so clearing it cost two fcntl(2)
	 * calls per open for nothing */
	return fd;
}

static int
gw_fs_openat_file(int dfd, const char *name, const char *path, int flags, mode_t mode,
    gw_err *err)
{
	struct stat st;
	return gw_fs_openat_file_st(dfd, name, path, flags, mode, &st, err);
}

int
gw_fs_open_file(const char *path, int flags, mode_t mode, gw_err *err)
{
	return gw_fs_openat_file(AT_FDCWD, path, path, flags, mode, err);
}

int
gw_fs_open_file_stat(const char *path, int flags, mode_t mode, struct stat *st, gw_err *err)
{
	return gw_fs_openat_file_st(AT_FDCWD, path, path, flags, mode, st, err);
}

/*
 * Walks the directories of rel below root one component at a time with
 * openat(O_NOFOLLOW | O_DIRECTORY), so no link is followed.  On success
 * *dfd is a descriptor of the directory holding the last component and
 * *last points at that component within rel.  0 or -errno with err set.
 */
static int
gw_fs_walk(const char *root, const char *rel, int *dfd, const char **last, gw_err *err)
{
	*dfd = -1;
	*last = rel;
	int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd == -1) {
		int e = errno;
		return gw_err_set(err, -e, e == ENOENT ? GW_EXIT_NOINPUT : GW_EXIT_IOERR,
		    "cannot open directory %s: %s", root, strerror(e));
	}
	gw_buf seen = GW_BUF_INIT;
	gw_buf_puts(&seen, root);
	const char *p = rel;
	int rc = 0;
	for (;;) {
		while (*p == '/')
			p++;
		const char *slash = strchr(p, '/');
		if (slash == NULL) {
			*last = p;
			break;
		}
		size_t n = (size_t)(slash - p);
		char *comp = gw_xstrndup(p, n);
		gw_buf_putc(&seen, '/');
		gw_buf_append(&seen, p, n);
		int sub = strcmp(comp, "..") == 0 ? -1 :
		    openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		int e = strcmp(comp, "..") == 0 ? EINVAL : errno;
		struct stat st;
		if (sub == -1 && (e == ELOOP || e == ENOTDIR) &&
		    fstatat(fd, comp, &st, AT_SYMLINK_NOFOLLOW) == 0)
			rc = gw_err_set(err, S_ISLNK(st.st_mode) ? -ELOOP : -ENOTDIR, GW_EXIT_DATAERR,
			    "refusing %s: it is %s, not a directory", gw_buf_cstr(&seen),
			    gw_fs_kind(st.st_mode));
		else if (sub == -1)
			rc = gw_err_set(err, -e, e == ENOENT ? GW_EXIT_NOINPUT : GW_EXIT_IOERR,
			    "cannot open directory %s: %s", gw_buf_cstr(&seen), strerror(e));
		free(comp);
		if (rc != 0)
			break;
		close(fd);
		fd = sub;
		p = slash + 1;
	}
	gw_buf_free(&seen);
	if (rc != 0) {
		close(fd);
		return rc;
	}
	*dfd = fd;
	return 0;
}

/* Makes the directory path (mode 0755) unless it exists and checks with
 * lstat that it is a directory, not a link; *made says whether this call
 * made it.  0 or -errno with err set. */
static int
gw_fs_mkdir_checked(const char *path, bool *made, gw_err *err)
{
	*made = mkdir(path, 0755) == 0;
	int e = errno;
	struct stat st;
	if (!*made && e != EEXIST)
		return gw_err_set(err, -e, gw_fs_class(e) == GW_EXIT_NOINPUT ? GW_EXIT_CANTCREAT :
		    gw_fs_class(e), "cannot create directory %s: %s", path, strerror(e));
	if (lstat(path, &st) == -1)
		return gw_err_set(err, -errno, GW_EXIT_IOERR, "cannot stat %s: %s", path,
		    strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return gw_err_set(err, S_ISLNK(st.st_mode) ? -ELOOP : -ENOTDIR, GW_EXIT_DATAERR,
		    "refusing %s: it is %s, not a directory", path, gw_fs_kind(st.st_mode));
	return 0;
}

/* Needs no descriptor (a server may be at its descriptor limit here): each
 * component is made with mkdir and checked with lstat. */
int
gw_fs_mkdirs_under(const char *root, const char *rel, bool *created, gw_err *err)
{
	if (created != NULL)
		*created = false;
	int rc = gw_fs_mkdirs(root, err);
	if (rc != 0)
		return rc;
	char *path = gw_path_join(root, rel);
	size_t start = strlen(path) - strlen(rel);
	size_t n = strlen(path);
	while (n > start && path[n - 1] == '/')
		path[--n] = '\0';
	for (size_t i = start; rc == 0 && i <= n; i++) {
		if (i < n && path[i] != '/')
			continue;
		if (i > start && path[i - 1] == '/')
			continue;
		char saved = path[i];
		path[i] = '\0';
		bool made = false;
		rc = gw_fs_mkdir_checked(path, &made, err);
		if (created != NULL)
			*created = made;
		path[i] = saved;
	}
	free(path);
	return rc;
}

int
gw_fs_mkdir_last_under(const char *root, const char *rel, bool *created, gw_err *err)
{
	char *path = gw_path_join(root, rel);
	size_t n = strlen(path);
	while (n > 1 && path[n - 1] == '/')
		path[--n] = '\0';
	bool made = false;
	int rc = gw_fs_mkdir_checked(path, &made, err);
	if (created != NULL)
		*created = made;
	free(path);
	return rc;
}

int
gw_fs_opendir_under(const char *root, const char *rel, DIR **out, gw_err *err)
{
	*out = NULL;
	int dfd;
	const char *last;
	gw_err tmp;
	gw_err_clear(&tmp);
	int rc = gw_fs_walk(root, rel, &dfd, &last, &tmp);
	if (rc == -ENOENT)
		return 0;
	if (rc != 0) {
		if (err != NULL)
			*err = tmp;
		return rc;
	}
	int fd = openat(dfd, last, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	int e = errno;
	struct stat st;
	if (fd == -1 && e != ENOENT && fstatat(dfd, last, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    !S_ISDIR(st.st_mode))
		rc = gw_err_set(err, S_ISLNK(st.st_mode) ? -ELOOP : -ENOTDIR, GW_EXIT_DATAERR,
		    "refusing %s/%s: it is %s, not a directory", root, rel, gw_fs_kind(st.st_mode));
	else if (fd == -1 && e != ENOENT)
		rc = gw_err_set(err, -e, GW_EXIT_IOERR, "cannot read %s/%s: %s", root, rel,
		    strerror(e));
	close(dfd);
	if (fd >= 0 && (*out = fdopendir(fd)) == NULL) {
		e = errno;
		close(fd);
		rc = gw_err_set(err, -e, GW_EXIT_IOERR, "cannot read %s/%s: %s", root, rel,
		    strerror(e));
	}
	return rc;
}

static int
gw_fs_name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
gw_fs_list_under(const char *root, const char *rel, const char *suffix, char ***names, size_t *n,
    gw_err *err)
{
	*names = NULL;
	*n = 0;
	DIR *d;
	int rc = gw_fs_opendir_under(root, rel, &d, err);
	if (d == NULL)
		return rc;
	size_t cap = 0, sl = strlen(suffix);
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		size_t len = strlen(de->d_name);
		if (len <= sl || strcmp(de->d_name + len - sl, suffix) != 0)
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 64;
			*names = gw_xrealloc(*names, cap * sizeof(**names));
		}
		(*names)[(*n)++] = gw_xstrndup(de->d_name, len - sl);
	}
	closedir(d);
	if (*n > 1)
		qsort(*names, *n, sizeof(**names), gw_fs_name_cmp);
	return 0;
}

void
gw_fs_names_free(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

int
gw_fs_truncate_under(const char *root, const char *rel, uint64_t size, gw_err *err)
{
	int dfd;
	const char *last;
	int rc = gw_fs_walk(root, rel, &dfd, &last, err);
	if (rc != 0)
		return rc;
	char *path = gw_path_join(root, rel);
	int fd = gw_fs_openat_file(dfd, last, path, O_WRONLY, 0, err);
	close(dfd);
	if (fd < 0) {
		free(path);
		return fd;
	}
	struct stat st;
	rc = 0;
	if (fstat(fd, &st) == 0 && (uint64_t)st.st_size > size) {
		if (ftruncate(fd, (off_t)size) == 0) {
			rc = 1;
		} else {
			int e = errno;
			rc = gw_err_set(err, -e, GW_EXIT_IOERR, "cannot truncate %s: %s", path,
			    strerror(e));
		}
	}
	close(fd);
	free(path);
	return rc;
}

int
gw_fs_mkdirs(const char *dir, gw_err *err)
{
	char *p = gw_xstrdup(dir);
	size_t n = strlen(p);
	int rc = 0;
	for (size_t i = 1; i <= n; i++) {
		if (p[i] != '/' && p[i] != '\0')
			continue;
		char saved = p[i];
		p[i] = '\0';
		if (mkdir(p, 0755) == -1 && errno != EEXIST) {
			int e = errno;
			rc = gw_err_set(err, -e, GW_EXIT_CANTCREAT,
			    "cannot create directory %s: %s", p, strerror(e));
			break;
		}
		p[i] = saved;
	}
	if (rc == 0 && !gw_fs_is_dir(dir))
		rc = gw_err_set(err, -ENOTDIR, GW_EXIT_CANTCREAT,
		    "cannot create directory %s: a file is in the way", dir);
	free(p);
	return rc;
}

/* Reads fd to its end into out (appending) and closes it; path names it in
 * messages.  0 or -errno with err set. */
static int
gw_fs_read_rest(int fd, const char *path, gw_buf *out, gw_err *err)
{
	for (;;) {
		gw_buf_reserve(out, 65536);
		ssize_t r = read(fd, out->data + out->len, out->cap - out->len - 1);
		if (r == 0)
			break;
		if (r < 0) {
			if (errno == EINTR)
				continue;
			int e = errno;
			close(fd);
			return gw_err_set(err, -e, GW_EXIT_IOERR, "cannot read %s: %s",
			    path, strerror(e));
		}
		out->len += (size_t)r;
		out->data[out->len] = '\0';
	}
	close(fd);
	return 0;
}

/* gw_fs_read_rest, first reserving room for a regular file's size. */
int
gw_fs_read_fd(int fd, const char *path, gw_buf *out, gw_err *err)
{
	struct stat st;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0)
		gw_buf_reserve(out, (size_t)st.st_size);
	return gw_fs_read_rest(fd, path, out, err);
}

int
gw_fs_read_file(const char *path, gw_buf *out, gw_err *err)
{
	struct stat st;
	int fd = gw_fs_open_file_stat(path, O_RDONLY, 0, &st, err);
	if (fd < 0)
		return fd;
	if (st.st_size > 0)
		gw_buf_reserve(out, (size_t)st.st_size);
	return gw_fs_read_rest(fd, path, out, err);
}

int
gw_fs_read_named(const char *path, gw_buf *out, gw_err *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1) {
		int e = errno;
		return gw_err_set(err, -e, e == ENOENT ? GW_EXIT_NOINPUT : GW_EXIT_IOERR,
		    "cannot read %s: %s", path, strerror(e));
	}
	return gw_fs_read_fd(fd, path, out, err);
}

int
gw_fs_write_all(int fd, const void *data, size_t n, const char *path, gw_err *err)
{
	const char *p = data;
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			int e = errno;
			return gw_err_set(err, -e, gw_fs_class(e) == GW_EXIT_NOINPUT ?
			    GW_EXIT_IOERR : gw_fs_class(e), "cannot write %s: %s", path, strerror(e));
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int
gw_fs_fsync_dir(const char *path)
{
	char *dir = gw_xstrdup(path);
	char *slash = strrchr(dir, '/');
	if (slash == NULL) {
		free(dir);
		dir = gw_xstrdup(".");
	} else if (slash == dir) {
		slash[1] = '\0';
	} else {
		*slash = '\0';
	}
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(dir);
	if (fd == -1)
		return -errno;
	int rc = fsync(fd) == -1 ? -errno : 0;
	close(fd);
	return rc;
}

/* Writes data to a fresh temp file beside path (name in tmp), fsyncing it
 * when sync is set.  0 or -errno with err set; no temp is left on failure. */
static int
gw_fs_write_temp(const char *path, const void *data, size_t n, bool sync, char *tmp,
    size_t tmpsz, gw_err *err)
{
	static atomic_uint seq;
	const char *base = strrchr(path, '/');
	size_t dirlen = base ? (size_t)(base - path) + 1 : 0;
	base = base ? base + 1 : path;
	int len = snprintf(tmp, tmpsz, "%.*s.%s" GW_FS_TEMP_MARK "%ld-%u-%llu", (int)dirlen, path,
	    base, (long)getpid(), atomic_fetch_add(&seq, 1),
	    (unsigned long long)gw_clock_mono_ns());
	if (len < 0 || (size_t)len >= tmpsz)
		return gw_err_set(err, -ENAMETOOLONG, GW_EXIT_CANTCREAT, "path too long: %s", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd == -1) {
		int e = errno;
		return gw_err_set(err, -e, gw_fs_class(e) == GW_EXIT_NOINPUT ?
		    GW_EXIT_CANTCREAT : gw_fs_class(e), "cannot write %s: %s", path, strerror(e));
	}
	int rc = gw_fs_write_all(fd, data, n, path, err);
	if (rc == 0 && sync && fsync(fd) == -1) {
		int e = errno;
		rc = gw_err_set(err, -e, GW_EXIT_IOERR, "cannot sync %s: %s", path, strerror(e));
	}
	if (close(fd) == -1 && rc == 0) {
		int e = errno;
		rc = gw_err_set(err, -e, GW_EXIT_IOERR, "cannot write %s: %s", path, strerror(e));
	}
	if (rc != 0)
		unlink(tmp);
	return rc;
}

static int
gw_fs_rename(const char *tmp, const char *path, gw_err *err)
{
	if (rename(tmp, path) == -1) {
		int e = errno;
		unlink(tmp);
		return gw_err_set(err, -e, GW_EXIT_CANTCREAT, "cannot replace %s: %s", path, strerror(e));
	}
	return 0;
}

int
gw_fs_write_atomic(const char *path, const void *data, size_t n, gw_err *err)
{
	char tmp[PATH_MAX];
	int rc = gw_fs_write_temp(path, data, n, true, tmp, sizeof(tmp), err);
	if (rc == 0)
		rc = gw_fs_rename(tmp, path, err);
	if (rc == 0)
		gw_fs_fsync_dir(path);
	return rc;
}

struct gw_fs_batch {
	char **tmp, **path;
	bool *spare; /* tmp[i] is path[i]'s spare (kept), not a temp */
	unsigned char *how; /* how the commit put path[i] in place (GW_FS_PUT_*) */
	size_t n, cap;
};

/* How a commit put a file in place, for gw_fs_batch_undo. */
enum { GW_FS_PUT_NOT, GW_FS_PUT_EXCHANGED, GW_FS_PUT_CREATED, GW_FS_PUT_REPLACED };

gw_fs_batch *
gw_fs_batch_new(void)
{
	return gw_xcalloc(1, sizeof(gw_fs_batch));
}

static void
gw_fs_batch_push(gw_fs_batch *b, const char *tmp, const char *path, bool spare)
{
	if (b->n == b->cap) {
		b->cap = b->cap ? b->cap * 2 : 16;
		b->tmp = gw_xrealloc(b->tmp, b->cap * sizeof(*b->tmp));
		b->path = gw_xrealloc(b->path, b->cap * sizeof(*b->path));
		b->spare = gw_xrealloc(b->spare, b->cap * sizeof(*b->spare));
		b->how = gw_xrealloc(b->how, b->cap * sizeof(*b->how));
	}
	b->how[b->n] = GW_FS_PUT_NOT;
	b->tmp[b->n] = gw_xstrdup(tmp);
	b->path[b->n] = gw_xstrdup(path);
	b->spare[b->n] = spare;
	b->n++;
}

int
gw_fs_batch_add(gw_fs_batch *b, const char *path, const void *data, size_t n, gw_err *err)
{
	char tmp[PATH_MAX];
	int rc = gw_fs_write_temp(path, data, n, false, tmp, sizeof(tmp), err);
	if (rc != 0)
		return rc;
	gw_fs_batch_push(b, tmp, path, false);
	return 0;
}

/* The spare's name for path: ".<name>" GW_FS_SPARE_SUFFIX beside it.  0,
 * or -ENAMETOOLONG. */
static int
gw_fs_spare_name(const char *path, char *out, size_t outsz)
{
	const char *base = strrchr(path, '/');
	size_t dirlen = base ? (size_t)(base - path) + 1 : 0;
	base = base ? base + 1 : path;
	int len = snprintf(out, outsz, "%.*s.%s" GW_FS_SPARE_SUFFIX, (int)dirlen, path, base);
	return len < 0 || (size_t)len >= outsz ? -ENAMETOOLONG : 0;
}

int
gw_fs_batch_add_spared(gw_fs_batch *b, const char *path, const void *data, size_t n,
    gw_err *err)
{
	char spare[PATH_MAX];
	struct stat st;
	/* only a regular file (or none) is exchanged: a directory or a link
	 * in path's place goes the temp's way, whose rename refuses or
	 * replaces it as before, instead of being moved aside as a spare */
	if (gw_fs_spare_name(path, spare, sizeof(spare)) != 0 ||
	    (lstat(path, &st) == 0 && !S_ISREG(st.st_mode)))
		return gw_fs_batch_add(b, path, data, n, err);
	int fd = open(spare, O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0644);
	if (fd == -1 || fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) || st.st_nlink != 1) {
		/* not a spare this module made (a link, a FIFO, a file with
		 * other names): never written through, a fresh temp instead */
		if (fd != -1)
			close(fd);
		return gw_fs_batch_add(b, path, data, n, err);
	}
	/* overwritten in place: its blocks are reused, nothing is freed
	 * unless the new text is shorter */
	const char *p = data;
	size_t left = n;
	off_t at = 0;
	int rc = 0;
	while (rc == 0 && left > 0) {
		ssize_t w = pwrite(fd, p, left, at);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			int e = errno;
			rc = gw_err_set(err, -e, gw_fs_class(e) == GW_EXIT_NOINPUT ? GW_EXIT_IOERR :
			    gw_fs_class(e), "cannot write %s: %s", path, strerror(e));
			break;
		}
		p += w;
		left -= (size_t)w;
		at += w;
	}
	if (rc == 0 && (uint64_t)st.st_size > n && ftruncate(fd, (off_t)n) == -1) {
		int e = errno;
		rc = gw_err_set(err, -e, GW_EXIT_IOERR, "cannot write %s: %s", path, strerror(e));
	}
	if (rc != 0) { /* best effort: a full disk gets the spare's blocks back */
		int t = ftruncate(fd, 0);
		(void)t;
	}
	if (close(fd) == -1 && rc == 0) {
		int e = errno;
		rc = gw_err_set(err, -e, GW_EXIT_IOERR, "cannot write %s: %s", path, strerror(e));
	}
	if (rc == 0)
		gw_fs_batch_push(b, spare, path, true);
	return rc;
}

/* syncfs(2) on the file system holding path. */
static int
gw_fs_syncfs(const char *path, gw_err *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1 || syncfs(fd) == -1) {
		int e = errno;
		if (fd != -1)
			close(fd);
		return gw_err_set(err, -e, GW_EXIT_IOERR, "cannot sync %s: %s", path, strerror(e));
	}
	close(fd);
	return 0;
}

/*
 * Puts the spare in place of path: one renameat2(RENAME_EXCHANGE), after
 * which the spare holds the previous text and both inodes live on (no
 * inode or block is freed, which on a file system mounted with discard is
 * most of a rename-over's cost).  When path does not exist yet the spare
 * is renamed into place and a fresh empty spare is left for the next
 * replacement; when the file system or kernel refuses the exchange
 * (EINVAL, ENOSYS, EOPNOTSUPP) the spare is renamed over path, the old
 * temp-and-rename.  0 or -errno with err set.
 */
static int
gw_fs_swap_in(const char *spare, const char *path, unsigned char *how, gw_err *err)
{
	if (renameat2(AT_FDCWD, spare, AT_FDCWD, path, RENAME_EXCHANGE) == 0) {
		*how = GW_FS_PUT_EXCHANGED;
		return 0;
	}
	int e = errno;
	if (e != ENOENT && e != EINVAL && e != ENOSYS && e != EOPNOTSUPP)
		return gw_err_set(err, -e, GW_EXIT_CANTCREAT, "cannot replace %s: %s", path, strerror(e));
	if (rename(spare, path) == -1) {
		e = errno;
		return gw_err_set(err, -e, GW_EXIT_CANTCREAT, "cannot replace %s: %s", path, strerror(e));
	}
	*how = e == ENOENT ? GW_FS_PUT_CREATED : GW_FS_PUT_REPLACED;
	if (e == ENOENT) {
		/* best effort: without it the next replacement makes one */
		int fd = open(spare, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
		if (fd != -1)
			close(fd);
	}
	return 0;
}

int
gw_fs_batch_commit(gw_fs_batch *b, gw_err *err)
{
	if (b->n == 0)
		return 0;
	/* one sync makes every temp's and spare's data durable before any
	 * rename or exchange ... */
	int rc = gw_fs_syncfs(b->tmp[0], err);
	size_t i = 0;
	for (; rc == 0 && i < b->n; i++) {
		if (b->spare[i]) { /* (its name is kept for an undo) */
			rc = gw_fs_swap_in(b->tmp[i], b->path[i], &b->how[i], err);
			continue;
		}
		rc = gw_fs_rename(b->tmp[i], b->path[i], err);
		if (rc == 0)
			b->how[i] = GW_FS_PUT_REPLACED;
		free(b->tmp[i]);
		b->tmp[i] = NULL;
	}
	/* ... and one more makes them durable */
	if (rc == 0)
		rc = gw_fs_syncfs(b->path[0], err);
	return rc;
}

int
gw_fs_batch_undo(gw_fs_batch *b)
{
	int rc = 0;
	bool any = false;
	for (size_t i = 0; i < b->n; i++) {
		int r = 0;
		if (b->how[i] == GW_FS_PUT_EXCHANGED)
			r = renameat2(AT_FDCWD, b->tmp[i], AT_FDCWD, b->path[i], RENAME_EXCHANGE);
		else if (b->how[i] == GW_FS_PUT_CREATED)
			r = rename(b->path[i], b->tmp[i]);
		else
			continue;
		if (r == -1 && rc == 0)
			rc = -errno;
		if (r == 0) {
			b->how[i] = GW_FS_PUT_NOT;
			any = true;
		}
	}
	if (any) {
		int r = gw_fs_syncfs(b->path[0], NULL);
		if (rc == 0)
			rc = r;
	}
	return rc;
}

void
gw_fs_batch_free(gw_fs_batch *b)
{
	if (b == NULL)
		return;
	for (size_t i = 0; i < b->n; i++) {
		if (b->tmp[i] != NULL) {
			if (!b->spare[i]) /* a spare stays: it is never read */
				unlink(b->tmp[i]);
			free(b->tmp[i]);
		}
		free(b->path[i]);
	}
	free(b->tmp);
	free(b->path);
	free(b->spare);
	free(b->how);
	free(b);
}

/* Removes the temps in the open directory d and closes it. */
static int
gw_fs_remove_temps_in(DIR *d)
{
	int removed = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.' && strstr(e->d_name, GW_FS_TEMP_MARK) != NULL &&
		    unlinkat(dirfd(d), e->d_name, 0) == 0)
			removed++;
	}
	closedir(d);
	return removed;
}

int
gw_fs_remove_stale_temps(const char *dir)
{
	DIR *d = opendir(dir);
	return d == NULL ? 0 : gw_fs_remove_temps_in(d);
}

int
gw_fs_remove_stale_temps_under(const char *root, const char *rel)
{
	DIR *d;
	if (gw_fs_opendir_under(root, rel, &d, NULL) != 0 || d == NULL)
		return 0;
	return gw_fs_remove_temps_in(d);
}

int
gw_fs_open_named_append(const char *path, gw_err *err)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd == -1) {
		int e = errno;
		int ex = gw_fs_class(e) == GW_EXIT_NOINPUT ? GW_EXIT_CANTCREAT : gw_fs_class(e);
		return gw_err_set(err, -e, ex, "cannot open %s for appending: %s", path, strerror(e));
	}
	struct stat sb;
	if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_uid == geteuid() &&
	    (sb.st_mode & 077) != 0)
		(void)fchmod(fd, sb.st_mode & 0700);
	return fd;
}

int
gw_fs_line_end(int fd, uint64_t size, uint64_t *end)
{
	*end = 0;
	char block[4096];
	for (uint64_t pos = size; pos > 0;) {
		size_t n = pos > sizeof(block) ? sizeof(block) : (size_t)pos;
		pos -= n;
		if (pread(fd, block, n, (off_t)pos) != (ssize_t)n)
			return -EIO;
		for (size_t i = n; i > 0; i--) {
			if (block[i - 1] == '\n') {
				*end = pos + i;
				return 0;
			}
		}
	}
	return 0;
}

/*
 * A write(2) to a regular file is not atomic against SIGKILL: the kernel
 * copies page by page and stops between pages when a fatal signal is
 * pending, so a killed writer can leave a partial last record.  Every
 * appender holds the lock all writers of the file hold, so a last line
 * without '\n' can only be such a remnant: cut it off before appending.
 * Returns 0 or -errno.
 */
static int
gw_fs_cut_torn_tail(int fd, off_t *size)
{
	char c;
	if (*size == 0 || (pread(fd, &c, 1, *size - 1) == 1 && c == '\n'))
		return 0;
	uint64_t keep;
	int rc = gw_fs_line_end(fd, (uint64_t)*size, &keep);
	if (rc != 0)
		return rc;
	if (ftruncate(fd, (off_t)keep) == -1)
		return -errno;
	*size = (off_t)keep;
	return 0;
}

int
gw_fs_repair_tail(const char *path, gw_err *err)
{
	struct stat st;
	int fd = gw_fs_open_file_stat(path, O_RDWR, 0, &st, err);
	if (fd < 0)
		return fd;
	int rc = gw_fs_cut_torn_tail(fd, &st.st_size);
	if (rc != 0)
		gw_err_set(err, rc, GW_EXIT_IOERR, "cannot repair the torn end of %s: %s", path,
		    strerror(-rc));
	close(fd);
	return rc;
}

int
gw_fs_append(const char *path, const void *data, size_t n, gw_err *err)
{
	/* one fstat (the open's) serves the tail check and the cut-back */
	struct stat st;
	int fd = gw_fs_open_file_stat(path, O_RDWR | O_CREAT | O_APPEND, 0644, &st, err);
	if (fd < 0)
		return fd;
	int rc = gw_fs_cut_torn_tail(fd, &st.st_size);
	if (rc != 0) {
		rc = gw_err_set(err, rc, GW_EXIT_IOERR, "cannot repair the torn end of %s: %s", path,
		    strerror(-rc));
	} else {
		rc = gw_fs_write_all(fd, data, n, path, err);
		/* all or nothing: a short write (a full disk) must not leave
		 * part of the records behind, whole lines included */
		if (rc != 0 && ftruncate(fd, st.st_size) == -1)
			gw_err_prefix(err, "%s keeps a partial record", path);
	}
	close(fd);
	return rc;
}

bool
gw_fs_expired(const char *path, uint64_t now_s, uint64_t ttl_s)
{
	struct stat st;
	if (lstat(path, &st) != 0 || !S_ISREG(st.st_mode))
		return false;
	uint64_t m = st.st_mtime > 0 ? (uint64_t)st.st_mtime : 0;
	return m <= now_s && now_s - m >= ttl_s;
}

bool
gw_fs_exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

bool
gw_fs_is_file(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

bool
gw_fs_is_dir(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Opens and flocks path (which it frees); dir only names the lock in messages. */
static int
gw_lock_open_path(gw_lock *l, const char *dir, char *path, int op, gw_err *err)
{
	int fd = gw_fs_open_file(path, O_RDWR | O_CREAT, 0644, err);
	if (fd < 0) {
		if (err != NULL && err->exit_code != GW_EXIT_DATAERR)
			err->exit_code = GW_EXIT_CANTCREAT;
		free(path);
		return fd;
	}
	while (flock(fd, op) == -1) {
		if (errno == EINTR)
			continue;
		int e = errno;
		close(fd);
		if (e == EWOULDBLOCK) {
			gw_err_set(err, -e, GW_EXIT_UNAVAILABLE,
			    "state directory %s is locked by another process", dir);
		} else {
			gw_err_set(err, -e, GW_EXIT_IOERR, "cannot lock %s: %s", path, strerror(e));
		}
		free(path);
		return -e;
	}
	free(path);
	l->fd = fd;
	return 0;
}

/* The lock-wait settings (gw_lock_set_wait): written before threads start. */
static uint64_t gw_lock_wait_ms = GW_LOCK_DEFAULT_WAIT_MS;
static gw_lock_notice_fn gw_lock_notice;
static void *gw_lock_notice_ctx;

void
gw_lock_set_wait(uint64_t wait_ms, gw_lock_notice_fn fn, void *ctx)
{
	gw_lock_wait_ms = wait_ms;
	gw_lock_notice = fn;
	gw_lock_notice_ctx = ctx;
}

uint64_t
gw_lock_wait_bound(void)
{
	return gw_lock_wait_ms;
}

void
gw_lock_notice_say(const char *msg)
{
	if (gw_lock_notice != NULL)
		gw_lock_notice(gw_lock_notice_ctx, msg);
}

void
gw_lock_holder(const char *dir, char *out, size_t n)
{
	char *path = gw_path_join(dir, ".lock");
	char line[160];
	ssize_t got = -1;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd >= 0) {
		got = read(fd, line, sizeof(line) - 1);
		close(fd);
	}
	free(path);
	/* "<pid> <what>\n", written by gw_lock_mark; anything else says nothing */
	long pid = 0;
	size_t i = 0;
	if (got > 0) {
		line[got] = '\0';
		line[strcspn(line, "\n")] = '\0';
		while (line[i] >= '0' && line[i] <= '9' && pid < 100000000)
			pid = pid * 10 + (line[i++] - '0');
	}
	if (pid > 0 && line[i] == ' ' && line[i + 1] != '\0') {
		for (char *p = line + i + 1; *p; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				*p = '?';
		snprintf(out, n, "pid %ld (%s)", pid, line + i + 1);
	} else {
		snprintf(out, n, "another process");
	}
}

/* Records "<pid> <who>" in the held lock file at path; best effort (a
 * waiter that cannot read it says "another process").  Only a plain file
 * that path names itself is written: never through a symlink or into a
 * file with other names, which would truncate someone else's file. */
static void
gw_lock_mark(gw_lock *l, const char *path, const char *who)
{
	struct stat fst, lst;
	if (fstat(l->fd, &fst) != 0 || lstat(path, &lst) != 0 || !S_ISREG(lst.st_mode) ||
	    fst.st_dev != lst.st_dev || fst.st_ino != lst.st_ino || fst.st_nlink != 1)
		return;
	char line[128];
	int n = snprintf(line, sizeof(line), "%ld %s\n", (long)getpid(), who ? who : "tau-gateway");
	if (n < 0 || (size_t)n >= sizeof(line))
		n = (int)sizeof(line) - 1;
	if (ftruncate(l->fd, 0) == 0 && pwrite(l->fd, line, (size_t)n, 0) == n)
		l->marked = true;
}

/*
 * Takes an exclusive flock on path, polling with LOCK_NB for at most
 * wait_ms (naps of 1 ms doubling to 10 ms) and giving up early once *cancel
 * (may be NULL) is set.  When dir is not NULL, one notice naming the holder
 * of <dir>/.lock goes to the face's notice function after
 * GW_LOCK_NOTICE_MS.  0; -EWOULDBLOCK (wait_ms 0), -ETIMEDOUT or -ECANCELED
 * with err untouched, for the caller to word; any other -errno with err set.
 */
static int
gw_lock_poll(gw_lock *l, const char *path, const char *dir, uint64_t wait_ms,
    const atomic_bool *cancel, gw_err *err)
{
	uint64_t start = gw_clock_mono_ms(), nap = 1;
	bool noticed = false;
	for (;;) {
		l->fd = -1;
		l->marked = false;
		gw_err tmp;
		gw_err_clear(&tmp);
		int rc = gw_lock_open_path(l, dir ? dir : path, gw_xstrdup(path), LOCK_EX | LOCK_NB,
		    &tmp);
		if (rc != -EWOULDBLOCK) {
			if (rc != 0 && err != NULL)
				*err = tmp;
			return rc;
		}
		if (cancel != NULL && atomic_load(cancel))
			return -ECANCELED;
		uint64_t waited = gw_clock_mono_ms() - start;
		if (waited >= wait_ms)
			return wait_ms == 0 ? -EWOULDBLOCK : -ETIMEDOUT;
		if (dir != NULL && !noticed && waited >= GW_LOCK_NOTICE_MS) {
			noticed = true;
			if (gw_lock_notice != NULL) {
				char holder[200], msg[1200];
				gw_lock_holder(dir, holder, sizeof(holder));
				snprintf(msg, sizeof(msg), "waiting for state lock %s/.lock held by %s", dir,
				    holder);
				gw_lock_notice(gw_lock_notice_ctx, msg);
			}
		}
		uint64_t left = wait_ms - waited;
		gw_clock_sleep_ms(nap < left ? nap : left);
		nap = nap * 2 > 10 ? 10 : nap * 2;
	}
}

/* Takes <dir>/.lock, waiting at most wait_ms (gw_lock_poll: one notice
 * after GW_LOCK_NOTICE_MS naming the holder), and records who holds it. */
static int
gw_lock_open(gw_lock *l, const char *dir, const char *who, uint64_t wait_ms, gw_err *err)
{
	l->fd = -1;
	l->marked = false;
	int rc = gw_fs_mkdirs(dir, err);
	if (rc != 0)
		return rc;
	char *path = gw_path_join(dir, ".lock");
	rc = gw_lock_poll(l, path, dir, wait_ms, NULL, err);
	if (rc == 0)
		gw_lock_mark(l, path, who);
	free(path);
	if (rc == -EWOULDBLOCK || rc == -ETIMEDOUT) {
		char holder[200];
		gw_lock_holder(dir, holder, sizeof(holder));
		if (rc == -EWOULDBLOCK)
			return gw_err_set(err, rc, GW_EXIT_UNAVAILABLE,
			    "state directory %s is locked by %s", dir, holder);
		return gw_err_set(err, rc, GW_EXIT_UNAVAILABLE,
		    "gave up waiting for state lock %s/.lock after %llu ms: held by %s "
		    "(--gateway-lock-wait-ms sets the bound)",
		    dir, (unsigned long long)wait_ms, holder);
	}
	return rc;
}

int
gw_lock_acquire_file(gw_lock *l, const char *path, gw_err *err)
{
	l->fd = -1;
	l->marked = false;
	return gw_lock_open_path(l, path, gw_xstrdup(path), LOCK_EX, err);
}

int
gw_lock_acquire_file_wait(gw_lock *l, const char *path, uint64_t wait_ms,
    const atomic_bool *cancel, gw_err *err)
{
	int rc = gw_lock_poll(l, path, NULL, wait_ms, cancel, err);
	if (rc == -ECANCELED)
		return gw_err_set(err, rc, GW_EXIT_UNAVAILABLE, "gave up waiting for the lock %s",
		    path);
	if (rc == -EWOULDBLOCK || rc == -ETIMEDOUT)
		return gw_err_set(err, -ETIMEDOUT, GW_EXIT_UNAVAILABLE, "%s is still locked after %llu ms",
		    path, (unsigned long long)wait_ms);
	return rc;
}

int
gw_lock_try_file(gw_lock *l, const char *path, bool exclusive, gw_err *err)
{
	l->fd = -1;
	l->marked = false;
	return gw_lock_open_path(l, path, gw_xstrdup(path), (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB,
	    err);
}

int
gw_lock_convert(gw_lock *l, bool exclusive)
{
	if (l->fd < 0)
		return -EBADF;
	while (flock(l->fd, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB) == -1) {
		if (errno != EINTR)
			return -errno;
	}
	return 0;
}

int
gw_lock_acquire_as(gw_lock *l, const char *dir, const char *who, gw_err *err)
{
	return gw_lock_open(l, dir, who, gw_lock_wait_ms, err);
}

int
gw_lock_acquire(gw_lock *l, const char *dir, gw_err *err)
{
	return gw_lock_acquire_as(l, dir, NULL, err);
}

int
gw_lock_try_as(gw_lock *l, const char *dir, const char *who, gw_err *err)
{
	return gw_lock_open(l, dir, who, 0, err);
}

int
gw_lock_try(gw_lock *l, const char *dir, gw_err *err)
{
	return gw_lock_try_as(l, dir, NULL, err);
}

void
gw_lock_release(gw_lock *l)
{
	if (l->fd >= 0) {
		/* empty the holder line while still holding the lock */
		if (l->marked) {
			int rc = ftruncate(l->fd, 0); /* a stale line only misnames a later holder */
			(void)rc;
			l->marked = false;
		}
		flock(l->fd, LOCK_UN);
		close(l->fd);
		l->fd = -1;
	}
}

void
gw_fs_eventfd_signal(int fd)
{
	uint64_t one = 1;
	ssize_t w = write(fd, &one, sizeof(one));
	(void)w;
}

void
gw_fs_eventfd_drain(int fd)
{
	uint64_t v;
	ssize_t r = read(fd, &v, sizeof(v));
	(void)r;
}
