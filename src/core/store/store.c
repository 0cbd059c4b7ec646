/*
 * store.c - the store interface and its file backend.
 *
 * The file backend is today's state directory, unchanged: the exclusive
 * section is the flock on <dir>/.lock (gw_lock_acquire_as, with its
 * bounded wait and holder line), and event lines go to
 * runtime-events.jsonl in one write(2) each, as events.c writes them.  It
 * must never create anything before a writer asks (opening a directory
 * store touches nothing), so the read-only views stay read-only.
 */
#include "core/store/store_int.h"
#include "core/base/mem.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

bool
gw_store_deployment_ok(const char *name)
{
	size_t n = name ? strlen(name) : 0;
	if (n == 0 || n > GW_STORE_DEPLOYMENT_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
		if (!alnum && (i == 0 || (c != '_' && c != '-')))
			return false;
	}
	return true;
}

int
gw_store_open_dir(const char *dir, gw_store **out, gw_err *err)
{
	(void)err;
	gw_store *s = gw_xcalloc(1, sizeof(*s));
	s->kind = GW_STORE_FILES;
	s->dir = gw_xstrdup(dir);
	s->label = gw_xstrdup(dir);
	s->posture_label = gw_path_join(dir, "state.json");
	s->events_label = gw_path_join(dir, GW_STORE_EVENTS_FILE);
	s->lock.fd = -1;
	*out = s;
	return 0;
}

int
gw_store_open_url(const char *url, const char *deployment, gw_store **out, gw_err *err)
{
	return gw_store_open_url_within(url, deployment, 0, out, err);
}

int
gw_store_open_url_within(const char *url, const char *deployment, uint64_t connect_ms,
    gw_store **out, gw_err *err)
{
	*out = NULL;
	if (!gw_store_deployment_ok(deployment))
		return gw_err_set(err, -EINVAL, GW_EXIT_USAGE,
		    "invalid deployment name '%s' (expected 1 to %d of a-z, 0-9, '_' and '-', starting with a letter or digit)",
		    deployment ? deployment : "", GW_STORE_DEPLOYMENT_MAX);
	gw_store *s = gw_xcalloc(1, sizeof(*s));
	s->kind = GW_STORE_POSTGRES;
	s->lock.fd = -1;
	int rc = gw_store_pg_open(s, url, deployment, connect_ms, err);
	if (rc != 0) {
		gw_store_close(s);
		return rc;
	}
	*out = s;
	return 0;
}

void
gw_store_close(gw_store *s)
{
	if (s == NULL)
		return;
	if (s->pg != NULL)
		gw_store_pg_close(s->pg);
	gw_lock_release(&s->lock);
	free(s->dir);
	free(s->label);
	free(s->posture_label);
	free(s->events_label);
	free(s);
}

gw_store_kind
gw_store_kind_of(const gw_store *s)
{
	return s->kind;
}

const char *
gw_store_dir(const gw_store *s)
{
	return s->kind == GW_STORE_FILES ? s->dir : NULL;
}

const char *
gw_store_label(const gw_store *s)
{
	return s->label;
}

const char *
gw_store_posture_label(const gw_store *s)
{
	return s->posture_label;
}

const char *
gw_store_events_label(const gw_store *s)
{
	return s->events_label;
}

static int
gw_store_files_only_pg(gw_err *err, const char *what)
{
	return gw_err_set(err, -ENOTSUP, GW_EXIT_SOFTWARE, "%s is not a file-store operation", what);
}

int
gw_store_begin(gw_store *s, const char *who, gw_err *err)
{
	if (s->kind == GW_STORE_POSTGRES)
		return gw_store_pg_begin(s->pg, who, err);
	return gw_lock_acquire_as(&s->lock, s->dir, who, err);
}

int
gw_store_commit(gw_store *s, gw_err *err)
{
	if (s->kind == GW_STORE_POSTGRES)
		return gw_store_pg_commit(s->pg, err);
	gw_lock_release(&s->lock);
	return 0;
}

void
gw_store_abort(gw_store *s)
{
	if (s->kind == GW_STORE_POSTGRES)
		gw_store_pg_abort(s->pg);
	else
		gw_lock_release(&s->lock);
}

int
gw_store_posture_read(gw_store *s, gw_buf *out, gw_err *err)
{
	if (s->kind == GW_STORE_POSTGRES)
		return gw_store_pg_posture_read(s->pg, out, err);
	return gw_store_files_only_pg(err, "reading the posture as a document");
}

int
gw_store_posture_write(gw_store *s, const char *text, size_t n, gw_err *err)
{
	if (s->kind == GW_STORE_POSTGRES)
		return gw_store_pg_posture_write(s->pg, text, n, err);
	return gw_store_files_only_pg(err, "writing the posture as a document");
}

int
gw_store_event_append(gw_store *s, const char *line, size_t n, gw_err *err)
{
	if (s->kind == GW_STORE_POSTGRES)
		return gw_store_pg_event_append(s->pg, line, n, err);
	gw_buf b = GW_BUF_INIT;
	gw_buf_append(&b, line, n);
	gw_buf_putc(&b, '\n');
	int rc = gw_fs_append(s->events_label, b.data, b.len, err);
	gw_buf_free(&b);
	return rc;
}

int
gw_store_event_append_batch(gw_store *s, const char *const *lines, const size_t *lens, size_t n,
    gw_err *err)
{
	if (n == 0)
		return 0;
	if (s->kind == GW_STORE_POSTGRES)
		return gw_store_pg_event_append_batch(s->pg, lines, lens, n, err);
	gw_buf b = GW_BUF_INIT;
	for (size_t i = 0; i < n; i++) {
		gw_buf_append(&b, lines[i], lens[i]);
		gw_buf_putc(&b, '\n');
	}
	int rc = gw_fs_append(s->events_label, b.data, b.len, err);
	gw_buf_free(&b);
	return rc;
}

int
gw_store_events_each(gw_store *s, gw_store_line_fn fn, void *ctx, bool *present, gw_err *err)
{
	if (s->kind == GW_STORE_POSTGRES)
		return gw_store_pg_events_each(s->pg, fn, ctx, present, err);
	return gw_store_files_only_pg(err, "reading event rows");
}

int
gw_store_events_since(gw_store *s, uint64_t *cursor, size_t max, gw_store_line_fn fn, void *ctx,
    gw_err *err)
{
	if (s->kind == GW_STORE_POSTGRES)
		return gw_store_pg_events_since(s->pg, cursor, max, fn, ctx, err);
	return gw_store_files_only_pg(err, "reading event rows");
}

int
gw_store_listen(gw_store *s, gw_err *err)
{
	if (s->kind == GW_STORE_POSTGRES)
		return gw_store_pg_listen(s->pg, err);
	return gw_store_files_only_pg(err, "listening for changes");
}

int
gw_store_fd(const gw_store *s)
{
	return s->kind == GW_STORE_POSTGRES ? gw_store_pg_fd(s->pg) : -1;
}

int
gw_store_drain(gw_store *s, unsigned *changes, gw_err *err)
{
	*changes = 0;
	if (s->kind == GW_STORE_POSTGRES)
		return gw_store_pg_drain(s->pg, changes, err);
	return gw_store_files_only_pg(err, "draining notifications");
}

int
gw_store_set_timeout(gw_store *s, uint64_t ms, gw_err *err)
{
	if (s->kind == GW_STORE_POSTGRES)
		return gw_store_pg_set_timeout(s->pg, ms, err);
	return gw_store_files_only_pg(err, "a statement timeout");
}

void
gw_store_set_deadline(gw_store *s, uint64_t mono_ms)
{
	if (s->kind == GW_STORE_POSTGRES)
		gw_store_pg_set_deadline(s->pg, mono_ms);
}

bool
gw_store_connected(const gw_store *s)
{
	return s->kind == GW_STORE_POSTGRES ? gw_store_pg_connected(s->pg) : true;
}

/* ---- the replica registry: PostgreSQL only ------------------------------- */

static int
gw_store_no_registry(gw_err *err)
{
	return gw_err_set(err, -ENOTSUP, GW_EXIT_USAGE,
	    "a state directory has no replica registry (one host); fleet mode (--gateway-state-url) has");
}

int
gw_store_replica_register(gw_store *s, const gw_store_replica_info *info, uint64_t *id,
    gw_err *err)
{
	if (s->kind == GW_STORE_POSTGRES)
		return gw_store_pg_replica_register(s->pg, info, id, err);
	return gw_store_no_registry(err);
}

int
gw_store_replica_heartbeat(gw_store *s, uint64_t id, const gw_store_replica_counters *c,
    gw_err *err)
{
	if (s->kind == GW_STORE_POSTGRES)
		return gw_store_pg_replica_heartbeat(s->pg, id, c, err);
	return gw_store_no_registry(err);
}

int
gw_store_replica_deregister(gw_store *s, uint64_t id, gw_err *err)
{
	if (s->kind == GW_STORE_POSTGRES)
		return gw_store_pg_replica_deregister(s->pg, id, err);
	return gw_store_no_registry(err);
}

int
gw_store_replica_list(gw_store *s, gw_store_replica **out, size_t *n, gw_err *err)
{
	*out = NULL;
	*n = 0;
	if (s->kind == GW_STORE_POSTGRES)
		return gw_store_pg_replica_list(s->pg, out, n, err);
	return gw_store_no_registry(err);
}

int
gw_store_replica_expire(gw_store *s, uint64_t older_than_ms, size_t *removed, gw_err *err)
{
	*removed = 0;
	if (s->kind == GW_STORE_POSTGRES)
		return gw_store_pg_replica_expire(s->pg, older_than_ms, removed, err);
	return gw_store_no_registry(err);
}

/* ---- stored responses: PostgreSQL only (respstore.c keeps the files) ----- */

static int
gw_store_no_responses(gw_err *err)
{
	return gw_err_set(err, -ENOTSUP, GW_EXIT_SOFTWARE,
	    "a state directory keeps stored responses in files (respstore.c), not in the store");
}

int
gw_store_response_save(gw_store *s, const gw_store_response *r, gw_err *err)
{
	return gw_store_response_save_many(s, r, 1, err);
}

int
gw_store_response_save_many(gw_store *s, const gw_store_response *r, size_t n, gw_err *err)
{
	if (n == 0)
		return 0;
	if (s->kind == GW_STORE_POSTGRES)
		return gw_store_pg_response_save_many(s->pg, r, n, err);
	return gw_store_no_responses(err);
}

int
gw_store_response_each(gw_store *s, gw_store_response_fn fn, void *ctx, gw_err *err)
{
	if (s->kind == GW_STORE_POSTGRES)
		return gw_store_pg_response_each(s->pg, fn, ctx, err);
	return gw_store_no_responses(err);
}

int
gw_store_response_count(gw_store *s, uint64_t *n, gw_err *err)
{
	*n = 0;
	if (s->kind == GW_STORE_POSTGRES)
		return gw_store_pg_response_count(s->pg, n, err);
	return gw_store_no_responses(err);
}

int
gw_store_response_load(gw_store *s, const char *id, gw_store_response *out, gw_err *err)
{
	memset(out, 0, sizeof(*out));
	if (s->kind == GW_STORE_POSTGRES)
		return gw_store_pg_response_load(s->pg, id, out, err);
	return gw_store_no_responses(err);
}

void
gw_store_response_free(gw_store_response *r)
{
	free(r->id);
	free(r->session_key);
	free(r->previous_id);
	free(r->input_items);
	free(r->response);
	memset(r, 0, sizeof(*r));
}

int
gw_store_response_delete(gw_store *s, const char *id, gw_err *err)
{
	if (s->kind == GW_STORE_POSTGRES)
		return gw_store_pg_response_delete(s->pg, id, err);
	return gw_store_no_responses(err);
}

int
gw_store_response_sweep(gw_store *s, uint64_t now_s, uint64_t ttl_s, size_t max,
    size_t *removed, gw_err *err)
{
	*removed = 0;
	if (s->kind == GW_STORE_POSTGRES)
		return gw_store_pg_response_sweep(s->pg, now_s, ttl_s, max, removed, err);
	return gw_store_no_responses(err);
}

static int
gw_store_no_sessions(gw_err *err)
{
	return gw_err_set(err, -ENOTSUP, GW_EXIT_SOFTWARE,
	    "sessions of a state directory are files (session.c), not store rows");
}

int
gw_store_session_begin(gw_store *s, const char *key, uint64_t wait_ms, gw_buf *body,
    gw_err *err)
{
	if (s->kind == GW_STORE_POSTGRES)
		return gw_store_pg_session_begin(s->pg, key, wait_ms, body, err);
	return gw_store_no_sessions(err);
}

int
gw_store_session_write(gw_store *s, const char *key, const char *text, size_t n, bool replace,
    gw_err *err)
{
	if (s->kind == GW_STORE_POSTGRES)
		return gw_store_pg_session_write(s->pg, key, text, n, replace, err);
	return gw_store_no_sessions(err);
}

int
gw_store_session_sweep(gw_store *s, uint64_t now_s, uint64_t ttl_s, size_t max,
    size_t *removed, gw_err *err)
{
	*removed = 0;
	if (s->kind == GW_STORE_POSTGRES)
		return gw_store_pg_session_sweep(s->pg, now_s, ttl_s, max, removed, err);
	return gw_store_no_sessions(err);
}

int
gw_store_session_each(gw_store *s, gw_store_session_fn fn, void *ctx, gw_err *err)
{
	if (s->kind == GW_STORE_POSTGRES)
		return gw_store_pg_session_each(s->pg, fn, ctx, err);
	return gw_store_no_sessions(err);
}

int
gw_store_session_put(gw_store *s, const gw_store_session_row *r, gw_err *err)
{
	if (s->kind == GW_STORE_POSTGRES)
		return gw_store_pg_session_put(s->pg, r, err);
	return gw_store_no_sessions(err);
}

int
gw_store_session_count(gw_store *s, uint64_t *n, gw_err *err)
{
	*n = 0;
	if (s->kind == GW_STORE_POSTGRES)
		return gw_store_pg_session_count(s->pg, n, err);
	return gw_store_no_sessions(err);
}

int
gw_store_response_present(gw_store *s, const char *const *ids, size_t n, bool *present,
    gw_err *err)
{
	for (size_t i = 0; i < n; i++)
		present[i] = false;
	if (s->kind == GW_STORE_POSTGRES)
		return n == 0 ? 0 : gw_store_pg_response_present(s->pg, ids, n, present, err);
	return gw_store_no_responses(err);
}

int
gw_store_response_chain(gw_store *s, const char *id, size_t max, gw_store_response **out,
    size_t *n, gw_err *err)
{
	*out = NULL;
	*n = 0;
	if (s->kind == GW_STORE_POSTGRES)
		return gw_store_pg_response_chain(s->pg, id, max, out, n, err);
	return gw_store_no_responses(err);
}

/* ---- runner records and the channel store: PostgreSQL only --------------- */

static int
gw_store_no_records(gw_err *err)
{
	return gw_err_set(err, -ENOTSUP, GW_EXIT_SOFTWARE,
	    "a state directory keeps the runner's records in files (records.c), not in the store");
}

int
gw_store_records_get(gw_store *s, const char *const *keys, size_t n, gw_store_record_fn fn,
    void *ctx, gw_err *err)
{
	if (s->kind == GW_STORE_POSTGRES)
		return gw_store_pg_records_get(s->pg, keys, n, fn, ctx, err);
	return gw_store_no_records(err);
}

int
gw_store_records_each(gw_store *s, const char *actor, gw_store_record_fn fn, void *ctx,
    gw_err *err)
{
	if (s->kind == GW_STORE_POSTGRES)
		return gw_store_pg_records_each(s->pg, actor, fn, ctx, err);
	return gw_store_no_records(err);
}

int
gw_store_records_by_seq(gw_store *s, uint64_t after, size_t max, gw_store_record_fn fn,
    void *ctx, size_t *got, gw_err *err)
{
	*got = 0;
	if (s->kind == GW_STORE_POSTGRES)
		return gw_store_pg_records_by_seq(s->pg, after, max, fn, ctx, got, err);
	return gw_store_no_records(err);
}

int
gw_store_records_put(gw_store *s, const gw_store_record *recs, size_t n, gw_err *err)
{
	if (s->kind == GW_STORE_POSTGRES)
		return gw_store_pg_records_put(s->pg, recs, n, err);
	return gw_store_no_records(err);
}

int
gw_store_channel_append(gw_store *s, const char *transport, const char *channel,
    const char *log, size_t log_len, const char *context, size_t context_len, const char *memory,
    size_t memory_len, gw_err *err)
{
	if (s->kind == GW_STORE_POSTGRES)
		return gw_store_pg_channel_append(s->pg, transport, channel, log, log_len, context,
		    context_len, memory, memory_len, err);
	return gw_store_no_records(err);
}

int
gw_store_channel_inspect(gw_store *s, const char *transport, const char *channel,
    gw_store_channel_info *out, gw_err *err)
{
	memset(out, 0, sizeof(*out));
	if (s->kind == GW_STORE_POSTGRES)
		return gw_store_pg_channel_inspect(s->pg, transport, channel, out, err);
	return gw_store_no_records(err);
}

int
gw_store_channel_each(gw_store *s, gw_store_channel_fn fn, void *ctx, gw_err *err)
{
	if (s->kind == GW_STORE_POSTGRES)
		return gw_store_pg_channel_each(s->pg, fn, ctx, err);
	return gw_store_no_records(err);
}

int
gw_store_channel_count(gw_store *s, uint64_t *n, gw_err *err)
{
	*n = 0;
	if (s->kind == GW_STORE_POSTGRES)
		return gw_store_pg_channel_count(s->pg, n, err);
	return gw_store_no_records(err);
}
