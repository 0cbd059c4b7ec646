/*
 * journal.h - makes one runner cycle's channel-store appends all-or-nothing.
 *
 * Before it appends, the runner records the clean size (through the last
 * '\n') of every file it will append to, with the cycle's stamp (the
 * health.updated_unix_ms it is about to save), in <state-dir>/.cycle-journal
 * (written atomically, fsynced).  The cycle commits when state.json with
 * that stamp is saved; the journal is then removed.  The next runner, under
 * the same lock, finds any journal left behind: if the state carries its
 * stamp the cycle had committed and the journal is just removed; otherwise
 * every listed file is truncated back to its recorded size, so a crashed
 * cycle leaves neither duplicated nor half-written records, and the temp
 * files it may have left in the listed files' directories are removed.
 *
 * Paths are stored relative to the state directory and may not climb out
 * of it.  A gw_journal is owned by its creator (gw_journal_free).
 */
#ifndef GW_JOURNAL_H
#define GW_JOURNAL_H

#include <stdint.h>

#include "core/base/err.h"

#define GW_JOURNAL_FILE ".cycle-journal"

typedef struct gw_journal gw_journal;

/* Starts an empty journal for the cycle stamped stamp. */
gw_journal *gw_journal_new(const char *state_dir, uint64_t stamp);
void gw_journal_free(gw_journal *j);
/* Records relpath (relative to the state dir) at its current clean size
 * (0 when missing).  0 or -errno with err set. */
int gw_journal_add(gw_journal *j, const char *relpath, gw_err *err);
/* Writes the journal durably.  0 or -errno with err set. */
int gw_journal_write(gw_journal *j, gw_err *err);
/* Removes the journal of a committed cycle (no-op when absent). */
void gw_journal_commit(const char *state_dir);
/* Resolves a journal left behind (see above).  *rolled_back receives the
 * number of files truncated.  Missing journal: 0, nothing done.  A journal
 * that cannot be read or parsed: -EINVAL with err set (65); it is kept. */
int gw_journal_recover(const char *state_dir, uint64_t committed_stamp, unsigned *rolled_back,
    gw_err *err);

#endif
