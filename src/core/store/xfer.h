/*
 * xfer.h - moving a whole state between a state directory and a
 * PostgreSQL deployment (--gateway-state-import DIR /
 * --gateway-state-export DIR), losslessly.
 *
 * The state is a table of kinds (the posture, the event log, stored
 * responses, the runner's records, the channel store, sessions, ...).
 * The store knows no domain word, so the kinds are supplied by the layers
 * that own them (gw_posture_xfer_kinds in gateway, gw_respstore_xfer_kinds
 * in openresponses) and the face concatenates the tables; this module only
 * drives them:
 *
 *   import  DIR (the file store, under its lock, only read but for what a
 *           kind resolves as the next writer would: the channel store's
 *           unfinished runner cycle) into a
 *           deployment, inside ONE gw_store_begin transaction of the
 *           deployment: every kind's import, then the commit, so a failure
 *           or a kill -9 leaves the deployment as it was.  A deployment that
 *           holds any kind already is refused (73), and so is a DIR that
 *           holds a kind this build cannot store in PostgreSQL (64), before
 *           anything is written.
 *   export  a deployment into DIR, which must not exist or be an empty
 *           directory (73 otherwise): the kinds are written into the state
 *           directory DIR.tmp-<pid> beside it through the file store (under
 *           its lock), the file system is synced, and DIR.tmp-<pid> is
 *           renamed to DIR (then the parent directory is synced), so DIR
 *           appears whole or not at all.  The deployment's row is held FOR
 *           UPDATE while it is read, so the posture and the event log are
 *           one consistent cut (posture writers wait; stored responses,
 *           saved outside that lock, may be read as of a moment later).
 *
 * Each kind copies from any store to any other through store.h and its own
 * module's functions, so a kind's import and export are often the same
 * function.  Kinds call gw_xfer_tick per item, which passes progress to
 * the caller's function every GW_XFER_PROGRESS_EVERY items of a kind.
 */
#ifndef GW_XFER_H
#define GW_XFER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/base/err.h"
#include "core/store/store.h"

#define GW_XFER_PROGRESS_EVERY 10000
#define GW_XFER_KINDS_MAX 16

/* Progress: kind has moved done items so far. */
typedef void (*gw_xfer_progress_fn)(void *ctx, const char *kind, uint64_t done);

/* A running transfer, as the kinds see it. */
typedef struct gw_xfer {
	gw_xfer_progress_fn progress;   /* NULL: none */
	void *progress_ctx;
	const char *kind;               /* the kind being copied */
	uint64_t done;                  /* its items so far */
} gw_xfer;

/* Counts one more item of the current kind (and reports progress through
 * x's callback); x stays the caller's. */
void gw_xfer_tick(gw_xfer *x);

/* One kind of state.  present says whether s holds any of it (*yes).
 * import copies it from a state directory's store into a deployment's
 * (inside its transaction), export from a deployment into a state
 * directory's (under its lock); each calls gw_xfer_tick per item.  A kind
 * this build cannot store in PostgreSQL has import and export NULL: a DIR
 * holding it is refused rather than imported without it, and so is an
 * export of a deployment holding it (64) rather than written without it;
 * its present must therefore look at the database too once PostgreSQL
 * holds the kind.  All return 0 or -errno with err
 * set. */
typedef struct gw_xfer_kind {
	const char *name;   /* as the summary names it: "posture", "events", ... */
	int (*present)(gw_store *s, bool *yes, gw_err *err);
	int (*import)(gw_store *dir, gw_store *db, gw_xfer *x, gw_err *err);
	int (*export)(gw_store *db, gw_store *dir, gw_xfer *x, gw_err *err);
} gw_xfer_kind;

/* What a transfer moved: per kind, its name and item count. */
typedef struct gw_xfer_report {
	size_t n;
	const char *kind[GW_XFER_KINDS_MAX];
	uint64_t count[GW_XFER_KINDS_MAX];
	char place[1024];    /* the deployment's label (gw_store_label) */
} gw_xfer_report;

/* Imports the state directory dir into the deployment db is open on, as
 * the top says.  kinds[0..n) (n <= GW_XFER_KINDS_MAX) are borrowed.
 * Errors: dir missing or not a directory 66, a kind the build cannot move
 * 64, db holding state 73, a malformed file 65 naming it, the database's
 * 69.  *rep is filled on success (the caller's; nothing to free). */
int gw_xfer_import(const gw_xfer_kind *kinds, size_t n, const char *dir, gw_store *db,
    gw_xfer_progress_fn progress, void *progress_ctx, gw_xfer_report *rep, gw_err *err);
/* Exports the deployment db is open on into dir, as the top says.  Errors:
 * dir not empty or not a directory 73, a deployment holding nothing 66,
 * the database's 69, the disk's 73/74. */
int gw_xfer_export(const gw_xfer_kind *kinds, size_t n, gw_store *db, const char *dir,
    gw_xfer_progress_fn progress, void *progress_ctx, gw_xfer_report *rep, gw_err *err);

/* Appends the one-line summary ("imported DIR into PLACE: posture 1,
 * events 12, responses 3") without a newline. */
void gw_xfer_report_text(const gw_xfer_report *rep, bool import, const char *dir, gw_buf *out);

#endif
