/*
 * fs.h - durable file operations and the state-directory lock.
 *
 * Every writer of a state directory holds an exclusive flock(2) on
 * <dir>/.lock for its whole read-modify-write.  Whole-file writes are
 * atomic: a unique temp file in the same directory, fsync, rename, fsync of
 * the directory, so a reader or a crash sees the old file or the new one,
 * never a torn one; a batch may instead overwrite a persistent spare and
 * exchange it with the file (gw_fs_batch_add_spared).  Appends are one
 * write(2) per record.
 */
#ifndef GW_FS_H
#define GW_FS_H

#include <dirent.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "core/base/buf.h"
#include "core/base/err.h"

/* Creates dir and its parents (mode 0755).  0 or -errno with err set. */
int gw_fs_mkdirs(const char *dir, gw_err *err);

/*
 * Every state file is opened through gw_fs_open_file: O_NOFOLLOW (a
 * symbolic link is refused, never followed), O_NONBLOCK (a FIFO never hangs
 * the caller; the descriptor keeps it, which a regular file ignores) and
 * anything that is not a regular file is refused with "refusing <path>: it
 * is a FIFO, not a regular file" (exit class 65, -ELOOP for a link,
 * -EINVAL otherwise).  Returns the fd, which the caller closes, or -errno
 * with err set (-ENOENT: missing, class 66).
 */
int gw_fs_open_file(const char *path, int flags, mode_t mode, gw_err *err);
/* gw_fs_open_file, also leaving the open file's fstat(2) in *st (saves the
 * caller a second one).  Same return and ownership. */
int gw_fs_open_file_stat(const char *path, int flags, mode_t mode, struct stat *st, gw_err *err);

/* Creates the directories of rel below root (root itself as gw_fs_mkdirs
 * does; it may be a symlink the operator chose), refusing a component of
 * rel that is a symlink or not a directory (class 65).  *created (may be
 * NULL) is set when the last directory was made by this call.  0 or -errno
 * with err set. */
int gw_fs_mkdirs_under(const char *root, const char *rel, bool *created, gw_err *err);
/* gw_fs_mkdirs_under for a rel whose parents this caller has just made and
 * checked with gw_fs_mkdirs_under, holding the lock every writer of root
 * holds (a runner cycle checks the actors' shared parents once): only the
 * last component is made and checked (mkdir, lstat; a link or a file there
 * is refused, class 65).  *created as there.  0 or -errno with err set. */
int gw_fs_mkdir_last_under(const char *root, const char *rel, bool *created, gw_err *err);

/* Opens the directory rel below root for readdir, following no link in
 * rel (a symlinked component is refused, class 65).  0 with *out set (the
 * caller closedir()s it), 0 with *out NULL when it does not exist, or
 * -errno with err set. */
int gw_fs_opendir_under(const char *root, const char *rel, DIR **out, gw_err *err);
/* The names in the directory rel below root (opened as gw_fs_opendir_under
 * does) that end in suffix, without it, sorted bytewise.  *names and each
 * name are malloc'ed: the caller frees them with gw_fs_names_free.  An
 * absent directory has none (0).  0 or -errno with err set. */
int gw_fs_list_under(const char *root, const char *rel, const char *suffix, char ***names, size_t *n,
    gw_err *err);
/* Frees what gw_fs_list_under made (names may be NULL when n is 0). */
void gw_fs_names_free(char **names, size_t n);
/* Cuts the regular file rel below root to size bytes when it is longer,
 * walking rel with openat(O_NOFOLLOW) so no link is followed.  1 when cut,
 * 0 when not (already that short), -errno with err set (-ENOENT: missing). */
int gw_fs_truncate_under(const char *root, const char *rel, uint64_t size, gw_err *err);

/* Reads the whole state file into out (appending), opened as
 * gw_fs_open_file opens it (no link followed, a regular file only).  0, or
 * -errno with err set (-ENOENT: missing, exit class 66; a refused path 65;
 * others 74). */
int gw_fs_read_file(const char *path, gw_buf *out, gw_err *err);
/* Reads the whole of a file the operator named (a fixture) into out
 * (appending).  Unlike a state file it may be a symlink, a FIFO or
 * /dev/stdin: the operator chose it.  0, or -errno with err set. */
int gw_fs_read_named(const char *path, gw_buf *out, gw_err *err);
/* Reads fd to its end into out (appending) and closes it (the fd is taken
 * over, read or not); path names it in messages.  0 or -errno with err set
 * (exit class 74). */
int gw_fs_read_fd(int fd, const char *path, gw_buf *out, gw_err *err);

/* Atomically replaces path with the n bytes at data (temp + fsync + rename
 * + directory fsync).  0 or -errno with err set. */
int gw_fs_write_atomic(const char *path, const void *data, size_t n, gw_err *err);

/* Temp files are named ".<name>" GW_FS_TEMP_MARK "<pid>-<seq>-<ns>". */
#define GW_FS_TEMP_MARK ".tmp-"

/*
 * A batch of whole-file replacements made durable together: each add
 * writes a temp file without fsync; commit syncs the file system once,
 * renames every temp over its target, and syncs once more.  Each file is
 * still replaced atomically, but a cycle touching a thousand derived files
 * pays two syncs instead of two thousand fsyncs.  The batch is owned by the
 * caller; gw_fs_batch_free unlinks temps that were not committed.
 */
typedef struct gw_fs_batch gw_fs_batch;

/* Spare files are named ".<name>" GW_FS_SPARE_SUFFIX beside their file. */
#define GW_FS_SPARE_SUFFIX ".spare"

gw_fs_batch *gw_fs_batch_new(void);
/* Writes the temp file for path now.  0 or -errno with err set. */
int gw_fs_batch_add(gw_fs_batch *b, const char *path, const void *data, size_t n, gw_err *err);
/*
 * For a file replaced again and again (an actor's MEMORY.md): writes the n
 * bytes now into path's persistent spare (".<name>.spare", created when
 * missing), in place (pwrite, ftruncate when shorter); commit then
 * exchanges the spare with path (renameat2 RENAME_EXCHANGE), so the spare
 * holds the previous text and no inode or block is freed.  A reader of
 * path still sees the old file or the new one; a killed writer leaves at
 * most a torn spare, which nothing reads.  Falls back to a temp file when
 * the spare is not a plain regular file with one name or path is there but
 * not a regular file (a directory: the commit fails as a rename over it
 * does), and to a rename
 * when path does not exist yet (a fresh empty spare is then left) or the
 * exchange is refused (another file system).  A reader that keeps path
 * open across two commits may see its bytes change (its inode is the spare
 * by then); every reader here reads the file at once.  0 or -errno with
 * err set (the spare may then hold a torn text, never read).
 */
int gw_fs_batch_add_spared(gw_fs_batch *b, const char *path, const void *data, size_t n,
    gw_err *err);
/* Syncs, renames (or exchanges), syncs.  0 or -errno with err set. */
int gw_fs_batch_commit(gw_fs_batch *b, gw_err *err);
/* Undoes a committed (or, after a failed commit, partly committed) batch
 * where the spares allow it, for a caller whose own commit failed after
 * the batch's (a full disk), or whose batch commit failed part-way: each
 * exchanged spare
 * is exchanged back (the file holds its previous text again) and each file
 * that did not exist before goes back to being its spare; a file replaced
 * by a temp or by a refused exchange keeps its new text.  Then syncs.  0,
 * or the first -errno (the other files are still tried). */
int gw_fs_batch_undo(gw_fs_batch *b);
/* Frees the batch, unlinking temps that were not committed (spares stay). */
void gw_fs_batch_free(gw_fs_batch *b);

/* Removes temp files (".<name>.tmp-*") left in dir by a killed writer.
 * Only call it while holding the lock that every writer of dir holds.
 * Returns how many were removed. */
int gw_fs_remove_stale_temps(const char *dir);
/* gw_fs_remove_stale_temps for the directory rel below root, opened as
 * gw_fs_opendir_under does (no link in rel followed); an absent or refused
 * directory has none.  Same lock rule; returns how many were removed. */
int gw_fs_remove_stale_temps_under(const char *root, const char *rel);

/* Opens a file the operator named (a console log) for appending, created
 * 0600 (it may quote what an operator typed); an existing regular file the
 * process owns is narrowed to 0600 too.  Links are followed and /dev/null
 * or a FIFO are fine (left as they are).  Returns the fd (the caller closes
 * it) or -errno with err set. */
int gw_fs_open_named_append(const char *path, gw_err *err);
/* Writes all n bytes with a single write(2) when possible (looping only on
 * short writes).  0 or -errno with err set. */
int gw_fs_write_all(int fd, const void *data, size_t n, const char *path, gw_err *err);
/* Appends records (which must end in '\n') to path in one write, all or
 * nothing: a failed or short write (a full disk) is cut back off.  The
 * caller holds the lock every writer of path holds; a partial last line a
 * killed writer left (no '\n') is cut off first. */
int gw_fs_append(const char *path, const void *data, size_t n, gw_err *err);

/* Cuts a partial last line (no '\n') a killed appender left, as
 * gw_fs_append does before it writes.  The caller holds the lock every
 * writer of path holds.  0 or -errno with err set (-ENOENT: missing). */
int gw_fs_repair_tail(const char *path, gw_err *err);
/* Sets *end to the offset just past the last '\n' within the first size
 * bytes of fd (0 when there is none), reading backwards in 4 KiB blocks.
 * 0, or -EIO when a read falls short. */
int gw_fs_line_end(int fd, uint64_t size, uint64_t *end);

/* An eventfd that wakes a poll loop.  signal adds one (a saturated
 * counter is already readable, so a failed write is no loss); drain reads
 * it back to zero.  Both never block on a descriptor made EFD_NONBLOCK. */
void gw_fs_eventfd_signal(int fd);
void gw_fs_eventfd_drain(int fd);

/* True when path is a regular file (not followed through a link) last
 * modified at least ttl_s seconds before now_s (Unix seconds); false when it
 * cannot be read.  The expiry sweeps' test. */
bool gw_fs_expired(const char *path, uint64_t now_s, uint64_t ttl_s);
/* Returns true when path exists (any type). */
bool gw_fs_exists(const char *path);
/* Returns true when path is a regular file. */
bool gw_fs_is_file(const char *path);
/* Returns true when path is a directory. */
bool gw_fs_is_dir(const char *path);

/* An exclusive lock on <dir>/.lock.  fd is -1 when not held; marked when
 * the holder wrote its line into the lock file (cleared on release). */
typedef struct gw_lock {
	int fd;
	bool marked;
} gw_lock;

/*
 * State-directory lock waits are bounded.  The holder of <dir>/.lock
 * writes one line "<pid> <what>" into it (e.g. "4242 runner cycle") and
 * empties it on release, so a waiter can say whom it waits for: after
 * GW_LOCK_NOTICE_MS it passes "waiting for state lock <path> held by pid
 * 4242 (runner cycle)" to the notice function (once), and after the wait
 * bound it gives up with -ETIMEDOUT, exit class 69.
 */
#define GW_LOCK_DEFAULT_WAIT_MS 60000
#define GW_LOCK_NOTICE_MS 1000

/* Receives a one-line notice (no newline); called on the waiting thread. */
typedef void (*gw_lock_notice_fn)(void *ctx, const char *msg);

/* Process-wide: how long gw_lock_acquire* waits for a state-directory lock
 * (0: fail at once if it is held), and where the "waiting for" notice goes
 * (fn NULL: nowhere).  Call it before threads start; ctx is borrowed. */
void gw_lock_set_wait(uint64_t wait_ms, gw_lock_notice_fn fn, void *ctx);
/* The wait bound gw_lock_set_wait set (other lock kinds, such as a
 * database row lock, apply it too). */
uint64_t gw_lock_wait_bound(void);
/* Passes msg to the notice function gw_lock_set_wait set (nothing when it
 * set none), for waits on other lock kinds that name their holder too. */
void gw_lock_notice_say(const char *msg);

/* Creates dir if needed and waits (bounded, see above) until the exclusive
 * lock on <dir>/.lock is held, then records "<pid> <who>" in it (who NULL:
 * "tau-gateway").  0 or -errno with err set: -ETIMEDOUT (69) when the wait
 * bound passed, exit class 73 when the dir cannot be created. */
int gw_lock_acquire_as(gw_lock *l, const char *dir, const char *who, gw_err *err);
/* gw_lock_acquire_as with who NULL. */
int gw_lock_acquire(gw_lock *l, const char *dir, gw_err *err);
/* Blocks until an exclusive flock on the file at path (created 0644 if
 * missing; its directory must exist) is held.  0 or -errno with err set. */
int gw_lock_acquire_file(gw_lock *l, const char *path, gw_err *err);
/* Like gw_lock_acquire_file but waits at most wait_ms, polling, and gives
 * up early once *cancel (may be NULL) is set: -ETIMEDOUT or -ECANCELED
 * with err set when the lock was not taken. */
int gw_lock_acquire_file_wait(gw_lock *l, const char *path, uint64_t wait_ms,
    const atomic_bool *cancel, gw_err *err);
/* Like gw_lock_acquire_as but returns -EWOULDBLOCK (69, naming the holder)
 * at once if it is held. */
int gw_lock_try_as(gw_lock *l, const char *dir, const char *who, gw_err *err);
/* gw_lock_try_as with who NULL. */
int gw_lock_try(gw_lock *l, const char *dir, gw_err *err);
/* Opens path (created 0644) and takes an exclusive (else shared) flock
 * without waiting: 0, -EWOULDBLOCK when a conflicting lock is held, or
 * another -errno with err set. */
int gw_lock_try_file(gw_lock *l, const char *path, bool exclusive, gw_err *err);
/* Converts a held lock to exclusive (else shared) without waiting: 0 or
 * -EWOULDBLOCK when another holder prevents it. */
int gw_lock_convert(gw_lock *l, bool exclusive);
/* Writes into out (n bytes) who holds <dir>/.lock as recorded in it:
 * "pid 4242 (runner cycle)", or "another process" when it says nothing. */
void gw_lock_holder(const char *dir, char *out, size_t n);
/* Empties the holder line if this lock wrote one, and releases the lock
 * (no-op when not held). */
void gw_lock_release(gw_lock *l);

/* Joins a and b with one '/' into a malloc'ed string the caller frees. */
char *gw_path_join(const char *a, const char *b);

#endif
