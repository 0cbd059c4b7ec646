/*
 * posture.c - the gateway's state through a store.  It must stay thin:
 * parsing and rendering belong to state.c, transactions and SQL to the
 * store; this file only says which of them a backend uses.  It also lists
 * the gateway's kinds of state for a transfer (xfer.h), each copied
 * through these same calls.
 */
#include "core/gateway/posture.h"

#include "core/base/buf.h"
#include "core/base/fs.h"
#include "core/base/mem.h"
#include "core/gateway/chanstore.h"
#include "core/gateway/journal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int
gw_posture_load(gw_store *s, unsigned mode, gw_state **out, gw_err *err)
{
	if (gw_store_kind_of(s) == GW_STORE_FILES)
		return gw_state_load(gw_store_dir(s), mode, out, err);
	gw_buf text = GW_BUF_INIT;
	int rc = gw_store_posture_read(s, &text, err);
	if (rc == 0 || rc == -ENOENT)
		rc = gw_state_load_text(gw_store_posture_label(s), rc == 0 ? gw_buf_cstr(&text) : NULL,
		    text.len, mode, out, err);
	if (rc == 0)
		gw_state_use_store(*out, s);
	gw_buf_free(&text);
	return rc;
}

int
gw_posture_save(gw_store *s, gw_state *st, gw_err *err)
{
	if (gw_store_kind_of(s) == GW_STORE_FILES)
		return gw_state_save(st, err);
	/* the records the posture counts first, in the same transaction */
	int rc = gw_state_save_records(st, err);
	if (rc != 0)
		return rc;
	gw_buf text = GW_BUF_INIT;
	gw_state_render_posture(st, &text);
	rc = gw_store_posture_write(s, text.data, text.len, err);
	gw_buf_free(&text);
	return rc;
}

int
gw_posture_events_summary(gw_store *s, gw_events_summary *out, gw_err *err)
{
	if (gw_store_kind_of(s) == GW_STORE_FILES)
		return gw_events_summarize(gw_store_events_label(s), out, err);
	bool present = false;
	gw_events_summarizer *z = gw_events_summarizer_new(out);
	int rc = gw_store_events_each(s, gw_events_summarizer_line, z, &present, err);
	gw_events_summarizer_finish(z, present);
	if (rc != 0)
		gw_events_summary_free(out);
	return rc;
}

/* ---- transfer kinds (xfer.h) ------------------------------------------------ */

static void
gw_posture_count_line(void *ctx, const char *line, size_t n)
{
	(void)line;
	(void)n;
	(*(size_t *)ctx)++;
}

static int
gw_posture_present(gw_store *s, bool *yes, gw_err *err)
{
	if (gw_store_kind_of(s) == GW_STORE_FILES) {
		*yes = gw_fs_exists(gw_store_posture_label(s));
		return 0;
	}
	gw_buf text = GW_BUF_INIT;
	int rc = gw_store_posture_read(s, &text, err);
	gw_buf_free(&text);
	*yes = rc == 0;
	return rc == -ENOENT ? 0 : rc;
}

/* The posture from one store to the other (the destination's lock or
 * transaction held): the service block, guardrail and health, as the
 * source's loader reads them (a malformed state.json is an error naming
 * it); the destination renders them its own way. */
static int
gw_posture_copy(gw_store *src, gw_store *dst, gw_xfer *x, gw_err *err)
{
	bool yes = false;
	int rc = gw_posture_present(src, &yes, err);
	if (rc != 0 || !yes)
		return rc;
	gw_state *a = NULL, *b = NULL;
	rc = gw_posture_load(src, GW_STATE_READ_EXISTING | GW_STATE_READ_POSTURE, &a, err);
	if (rc == 0)
		rc = gw_posture_load(dst, GW_STATE_WRITE, &b, err);
	if (rc == 0) {
		b->health = a->health;
		b->guardrail = a->guardrail;
		b->service = a->service;
		rc = gw_posture_save(dst, b, err);
	}
	if (rc == 0)
		gw_xfer_tick(x);
	gw_state_free(a);
	gw_state_free(b);
	return rc;
}

/* Lines on their way to the destination, appended a batch at a time
 * (a MiB or GW_POSTURE_XFER_BATCH lines): one write for files, one
 * statement in the transaction for PostgreSQL. */
#define GW_POSTURE_XFER_BATCH 2048

typedef struct gw_xfer_lines {
	gw_store *dst;
	gw_xfer *x;
	gw_buf bytes;             /* the batch's lines, back to back */
	size_t off[GW_POSTURE_XFER_BATCH], len[GW_POSTURE_XFER_BATCH];
	size_t n;
	int rc;
	gw_err *err;
} gw_xfer_lines;

static void
gw_xfer_lines_flush(gw_xfer_lines *l)
{
	if (l->rc == 0 && l->n > 0) {
		const char *lines[GW_POSTURE_XFER_BATCH];
		for (size_t i = 0; i < l->n; i++)
			lines[i] = l->bytes.data + l->off[i];
		l->rc = gw_store_event_append_batch(l->dst, lines, l->len, l->n, l->err);
		for (size_t i = 0; l->rc == 0 && i < l->n; i++)
			gw_xfer_tick(l->x);
	}
	gw_buf_reset(&l->bytes);
	l->n = 0;
}

static void
gw_xfer_line(gw_xfer_lines *l, const char *line, size_t n)
{
	if (l->rc != 0)
		return;
	l->off[l->n] = l->bytes.len;
	l->len[l->n++] = n;
	gw_buf_append(&l->bytes, line, n);
	if (l->n == GW_POSTURE_XFER_BATCH || l->bytes.len >= (1u << 20))
		gw_xfer_lines_flush(l);
}

static void
gw_xfer_file_line(const char *line, size_t n, void *ctx)
{
	gw_xfer_line(ctx, line, n);
}

static void
gw_xfer_row_line(void *ctx, const char *line, size_t n)
{
	gw_xfer_line(ctx, line, n);
}

static int
gw_events_present(gw_store *s, bool *yes, gw_err *err)
{
	*yes = false;
	if (gw_store_kind_of(s) == GW_STORE_FILES) {
		/* a log of one unterminated line holds no event either */
		int fd = gw_fs_open_file(gw_store_events_label(s), O_RDONLY, 0, err);
		if (fd == -ENOENT) {
			gw_err_clear(err);
			return 0;
		}
		if (fd < 0)
			return fd;
		char block[4096];
		ssize_t r;
		while (!*yes && (r = read(fd, block, sizeof(block))) > 0)
			*yes = memchr(block, '\n', (size_t)r) != NULL;
		close(fd);
		return 0;
	}
	uint64_t cursor = 0;
	size_t seen = 0;
	int rc = gw_store_events_since(s, &cursor, 1, gw_posture_count_line, &seen, err);
	*yes = seen > 0;
	return rc;
}

static int
gw_events_copy(gw_store *src, gw_store *dst, gw_xfer *x, gw_err *err)
{
	gw_xfer_lines *l = gw_xcalloc(1, sizeof(*l));
	l->dst = dst;
	l->x = x;
	l->err = err;
	int rc;
	if (gw_store_kind_of(src) == GW_STORE_FILES) {
		rc = gw_events_each_line(gw_store_events_label(src), gw_xfer_file_line, l, err);
	} else {
		bool present = false;
		rc = gw_store_events_each(src, gw_xfer_row_line, l, &present, err);
	}
	gw_xfer_lines_flush(l);
	if (rc == 0)
		rc = l->rc;
	gw_buf_free(&l->bytes);
	free(l);
	return rc;
}

/* The runner's records: present when the posture counts processed keys
 * or request records (state.json's records block, or the posture row's). */
static int
gw_records_present(gw_store *s, bool *yes, gw_err *err)
{
	*yes = false;
	bool posture = false;
	int rc = gw_posture_present(s, &posture, err);
	if (rc != 0 || !posture)
		return rc;
	gw_state *st;
	rc = gw_posture_load(s, GW_STATE_READ, &st, err);
	if (rc != 0)
		return rc;
	*yes = st->nkeys > 0 || st->nreqs > 0;
	gw_state_free(st);
	return 0;
}

typedef struct gw_records_xfer {
	gw_state *dst;
	gw_xfer *x;
} gw_records_xfer;

static void
gw_records_put_one(void *ctx, const char *key, uint64_t seq, const gw_request *q)
{
	gw_records_xfer *c = ctx;
	gw_state_put_entry(c->dst, key, seq, q);
	gw_xfer_tick(c->x);
}

/* Every entry (its place in processing order and its record) from one
 * store to the other, with the next processing-order number; the
 * destination's counters follow from the entries (the posture was copied
 * before, by the posture kind).  Into a state directory the records are
 * one new snapshot generation, whatever the source's snapshot and log. */
static int
gw_records_copy(gw_store *src, gw_store *dst, gw_xfer *x, gw_err *err)
{
	bool yes = false;
	int rc = gw_records_present(src, &yes, err);
	if (rc != 0 || !yes)
		return rc;
	gw_state *a = NULL, *b = NULL;
	rc = gw_posture_load(src, GW_STATE_READ_EXISTING, &a, err);
	if (rc == 0)
		rc = gw_posture_load(dst, GW_STATE_WRITE, &b, err);
	gw_records_xfer c = { b, x };
	if (rc == 0)
		rc = gw_state_each_entry(a, gw_records_put_one, &c, err);
	if (rc == 0) {
		if (a->meta.next_seq > b->meta.next_seq)
			b->meta.next_seq = a->meta.next_seq;
		gw_state_compact_next(b);
		rc = gw_posture_save(dst, b, err);
	}
	gw_state_free(a);
	gw_state_free(b);
	return rc;
}

/* The channel store into a deployment: a cycle the directory's runner left
 * unfinished (its .cycle-journal) is resolved first, as the next runner
 * would (the directory's lock is held), so only committed lines move. */
static int
gw_chanstore_import(gw_store *src, gw_store *db, gw_xfer *x, gw_err *err)
{
	const char *dir = gw_store_dir(src);
	char *jp = gw_path_join(dir, GW_JOURNAL_FILE);
	bool journal = gw_fs_exists(jp);
	free(jp);
	int rc = 0;
	if (journal) {
		gw_state *st;
		rc = gw_state_load(dir, GW_STATE_READ | GW_STATE_READ_POSTURE, &st, err);
		unsigned undone = 0;
		if (rc == 0) {
			rc = gw_journal_recover(dir, st->health.updated_unix_ms, &undone, err);
			gw_state_free(st);
		}
	}
	if (rc == 0)
		rc = gw_chanstore_xfer_import(src, db, x, err);
	return rc;
}

static const gw_xfer_kind gw_posture_kinds[] = {
	{ "posture", gw_posture_present, gw_posture_copy, gw_posture_copy },
	{ "events", gw_events_present, gw_events_copy, gw_events_copy },
	{ "records", gw_records_present, gw_records_copy, gw_records_copy },
	{ "channel store", gw_chanstore_xfer_present, gw_chanstore_import, gw_chanstore_xfer_export },
};

const gw_xfer_kind *
gw_posture_xfer_kinds(size_t *n)
{
	*n = sizeof(gw_posture_kinds) / sizeof(gw_posture_kinds[0]);
	return gw_posture_kinds;
}
