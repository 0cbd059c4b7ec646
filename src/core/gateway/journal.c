/*
 * journal.c - the runner's cycle journal (see journal.h).  This module
 * must never truncate a file that is not listed, nor follow a listed path
 * out of the state directory.
 */
#include "core/gateway/journal.h"
#include "core/base/buf.h"
#include "core/base/fs.h"
#include "core/base/mem.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define GW_JOURNAL_MAGIC "tau-gateway cycle journal 1 "

struct gw_journal {
	char *dir;
	gw_buf text;
};

gw_journal *
gw_journal_new(const char *state_dir, uint64_t stamp)
{
	gw_journal *j = gw_xcalloc(1, sizeof(*j));
	j->dir = gw_xstrdup(state_dir);
	gw_buf_printf(&j->text, GW_JOURNAL_MAGIC "%" PRIu64 "\n", stamp);
	return j;
}

void
gw_journal_free(gw_journal *j)
{
	if (j == NULL)
		return;
	gw_buf_free(&j->text);
	free(j->dir);
	free(j);
}

/* Size of the file through its last '\n' (0 when missing or none).  0 or
 * -errno with err set. */
static int
gw_journal_clean_size(const char *path, uint64_t *out, gw_err *err)
{
	*out = 0;
	struct stat st;
	int fd = gw_fs_open_file_stat(path, O_RDONLY, 0, &st, err);
	if (fd < 0) {
		if (fd == -ENOENT)
			gw_err_clear(err);
		return fd == -ENOENT ? 0 : fd;
	}
	int rc = gw_fs_line_end(fd, (uint64_t)st.st_size, out);
	close(fd);
	if (rc != 0)
		return gw_err_set(err, rc, GW_EXIT_IOERR, "cannot read %s: %s", path, strerror(-rc));
	return 0;
}

/* A listed path must stay inside the state directory. */
static bool
gw_journal_path_ok(const char *rel)
{
	if (rel[0] == '\0' || rel[0] == '/')
		return false;
	for (const char *p = rel; *p; p++)
		if (p[0] == '.' && p[1] == '.' && (p == rel || p[-1] == '/') && (p[2] == '/' || p[2] == '\0'))
			return false;
	return strchr(rel, '\n') == NULL;
}

int
gw_journal_add(gw_journal *j, const char *relpath, gw_err *err)
{
	if (!gw_journal_path_ok(relpath))
		return gw_err_set(err, -EINVAL, GW_EXIT_SOFTWARE, "journal path %s leaves the state directory",
		    relpath);
	char *path = gw_path_join(j->dir, relpath);
	uint64_t size;
	int rc = gw_journal_clean_size(path, &size, err);
	if (rc == 0)
		gw_buf_printf(&j->text, "%" PRIu64 " %s\n", size, relpath);
	free(path);
	return rc;
}

int
gw_journal_write(gw_journal *j, gw_err *err)
{
	char *path = gw_path_join(j->dir, GW_JOURNAL_FILE);
	int rc = gw_fs_write_atomic(path, j->text.data, j->text.len, err);
	free(path);
	return rc;
}

void
gw_journal_commit(const char *state_dir)
{
	char *path = gw_path_join(state_dir, GW_JOURNAL_FILE);
	unlink(path);
	free(path);
}

int
gw_journal_recover(const char *state_dir, uint64_t committed_stamp, unsigned *rolled_back,
    gw_err *err)
{
	*rolled_back = 0;
	char *path = gw_path_join(state_dir, GW_JOURNAL_FILE);
	gw_buf text = GW_BUF_INIT;
	int rc = gw_fs_read_file(path, &text, err);
	if (rc == -ENOENT) {
		gw_err_clear(err);
		rc = 0;
		goto out;
	}
	if (rc != 0)
		goto out;
	const char *p = gw_buf_cstr(&text);
	size_t ml = strlen(GW_JOURNAL_MAGIC);
	char *end;
	if (strncmp(p, GW_JOURNAL_MAGIC, ml) != 0) {
		rc = gw_err_set(err, -EINVAL, GW_EXIT_DATAERR, "%s is not a cycle journal", path);
		goto out;
	}
	uint64_t stamp = strtoull(p + ml, &end, 10);
	if (*end != '\n') {
		rc = gw_err_set(err, -EINVAL, GW_EXIT_DATAERR, "%s: bad header", path);
		goto out;
	}
	if (stamp != committed_stamp) {
		/* the cycle died before its state was saved: undo its appends,
		 * and remove the temp files it may have left in the directories
		 * it wrote (the only place a cycle makes them after its journal,
		 * so the runner need not look for them every cycle) */
		gw_buf swept = GW_BUF_INIT;
		for (p = end + 1; *p; p = end + 1) {
			uint64_t size = strtoull(p, &end, 10);
			if (end == p || *end != ' ') {
				rc = gw_err_set(err, -EINVAL, GW_EXIT_DATAERR, "%s: bad entry", path);
				goto out;
			}
			const char *rel = end + 1;
			end = strchr(rel, '\n');
			if (end == NULL)
				break; /* a journal is written atomically; ignore a partial tail */
			char *r = gw_xstrndup(rel, (size_t)(end - rel));
			/* never through a link: a listed file or directory
			 * replaced by a symlink would cut its target */
			gw_err cut;
			gw_err_clear(&cut);
			bool ok = gw_journal_path_ok(r);
			int t = ok ? gw_fs_truncate_under(state_dir, r, size, &cut) : 0;
			char *slash = strrchr(r, '/');
			if (ok && slash != NULL) {
				*slash = '\0'; /* its directory, swept once */
				if (strcmp(gw_buf_cstr(&swept), r) != 0) {
					gw_fs_remove_stale_temps_under(state_dir, r);
					gw_buf_reset(&swept);
					gw_buf_puts(&swept, r);
				}
			}
			free(r);
			if (t == 1) {
				(*rolled_back)++;
			} else if (t < 0 && t != -ENOENT) {
				if (err != NULL)
					*err = cut;
				rc = t;
				gw_buf_free(&swept);
				goto out;
			}
		}
		gw_buf_free(&swept);
	}
	unlink(path);
out:
	gw_buf_free(&text);
	free(path);
	return rc;
}
