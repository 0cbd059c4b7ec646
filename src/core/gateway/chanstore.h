/*
 * chanstore.h - the per-actor channel store:
 * <root>/<transport>/<channel>/{log.jsonl,context.jsonl,MEMORY.md,schema.json}.
 *
 * Names are sanitised ([A-Za-z0-9._-], no leading '.' or '_', at most 128
 * bytes) so no input can escape the root.  Inspection is read-only.  On
 * PostgreSQL the runner keeps a channel's lines and MEMORY.md as rows of
 * the store (gw_store_channel_*), under the same sanitised names.
 */
#ifndef GW_CHANSTORE_H
#define GW_CHANSTORE_H

#include <stdbool.h>
#include <stdint.h>

#include "core/base/buf.h"
#include "core/base/err.h"
#include "core/base/fs.h"
#include "core/store/store.h"
#include "core/store/xfer.h"

#define GW_CHANSTORE_NAME_MAX 128

/* Appends the sanitised form of name to out. */
void gw_chanstore_sanitize(const char *name, gw_buf *out);
/* Returns malloc'ed <root>/<sanitize(transport)>/<sanitize(channel)>; caller frees. */
char *gw_chanstore_dir(const char *root, const char *transport, const char *channel);
/* Creates the channel directory state_dir/rel (a component of rel that is
 * a symlink is refused, 65) and its schema.json if missing (through batch
 * when it is not NULL, else with its own atomic write); an existing
 * schema.json must have schema_version 1 (else -EINVAL, 65).  The caller
 * holds the state lock, so temp files a killed writer left are removed
 * (spares, gw_fs_batch_add_spared, stay). */
int gw_chanstore_open(const char *state_dir, const char *rel, const char *transport,
    const char *channel, gw_fs_batch *batch, gw_err *err);
/* gw_chanstore_open for a runner cycle, which has made and checked
 * state_dir/rel's parents this cycle under the lock (only rel's last
 * component is made and checked) and looks for no temp files: only a
 * killed cycle leaves them, and gw_journal_recover sweeps its directories.
 * Same return. */
int gw_chanstore_open_in_cycle(const char *state_dir, const char *rel, const char *transport,
    const char *channel, gw_fs_batch *batch, gw_err *err);

typedef struct gw_chanstore_report {
	char transport[256];
	char channel_id[256];
	char dir[1024];
	uint64_t log_records, context_records;
	uint64_t invalid_log_lines, invalid_context_lines;
	uint64_t artifact_records, invalid_artifact_lines, active_artifacts, expired_artifacts;
	bool memory_exists;
	uint64_t memory_bytes;
} gw_chanstore_report;

/* Inspects "<transport>/<channel_id>" under root without creating anything.
 * Bad ref: -EINVAL (64); missing channel dir: -ENOENT (66). */
int gw_chanstore_inspect(const char *root, const char *ref, gw_chanstore_report *out, gw_err *err);
/* The same report for a PostgreSQL store's channel (the runner's rows):
 * dir is <label>/channel-store/<transport>/<channel> as sanitised, the
 * counts are its stored lines (all valid: only the runner writes them) and
 * its stored MEMORY.md; no artifacts.  Bad ref: -EINVAL (64); a channel
 * the runner never wrote: -ENOENT (66); the database: 69.  s and ref are
 * borrowed; *out is the caller's (plain values). */
int gw_chanstore_inspect_store(gw_store *s, const char *ref, gw_chanstore_report *out,
    gw_err *err);
/* Appends the schema.json a channel directory is given (pretty JSON:
 * schema_version 1, transport, channel_id, then '\n'). */
void gw_chanstore_schema_text(const char *transport, const char *channel_id, gw_buf *out);

/* The channel store as a kind of state for a transfer (xfer.h: present,
 * import, export; nothing to free).  A channel moves whole: its log.jsonl
 * and context.jsonl lines byte for byte (in order), its MEMORY.md, and
 * its schema.json, which the export writes again from the names (the
 * actor's own name read back from MEMORY.md's header).  The import refuses
 * (64, naming the path, before anything is written) what the store's
 * rows cannot hold: anything but those four files in a channel directory
 * (artifacts/ among them), a name the runner would not have made, a
 * schema.json other than the one the export would write; and (65) a line
 * that is blank or not JSON, or a file not ended by '\n'.  An empty
 * log.jsonl or context.jsonl comes back absent. */
int gw_chanstore_xfer_present(gw_store *s, bool *yes, gw_err *err);
int gw_chanstore_xfer_import(gw_store *dir, gw_store *db, gw_xfer *x, gw_err *err);
int gw_chanstore_xfer_export(gw_store *db, gw_store *dir, gw_xfer *x, gw_err *err);

/* Appends the "channel store inspect: ..." line (no newline). */
void gw_chanstore_report_text(const gw_chanstore_report *r, gw_buf *out);

#endif
