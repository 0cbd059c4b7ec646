/*
 * store_int.h - what the store's files share, and nothing outside them
 * includes.
 *
 * The store is split the way the provider is:
 *   store.c     the interface and the file backend (the state directory:
 *               its flock, runtime-events.jsonl appends);
 *   store_pg.c  the PostgreSQL backend, the only file that calls libpq:
 *               connection, schema creation and migration, the posture row,
 *               event rows, the replica registry, stored responses,
 *               sessions, the runner's records and channel store, the
 *               transfer's row walks, LISTEN/NOTIFY and password
 *               redaction.
 */
#ifndef GW_STORE_INT_H
#define GW_STORE_INT_H

#include "core/base/fs.h"
#include "core/store/store.h"

/* The PostgreSQL half of a store, opaque outside store_pg.c. */
typedef struct gw_store_pg gw_store_pg;

struct gw_store {
	gw_store_kind kind;
	char *dir;              /* files: the state directory */
	char *label;            /* the store's place: the directory, or postgresql:<db>/<deployment> */
	char *posture_label;    /* what reports name as the posture's place */
	char *events_label;     /* and the event log's */
	gw_lock lock;           /* files: the held <dir>/.lock, fd -1 when not held */
	gw_store_pg *pg;        /* PostgreSQL */
};

/* Connects and prepares s (kind, labels and pg set on success). */
int gw_store_pg_open(gw_store *s, const char *url, const char *deployment, uint64_t connect_ms,
    gw_err *err);
void gw_store_pg_close(gw_store_pg *pg);
int gw_store_pg_begin(gw_store_pg *pg, const char *who, gw_err *err);
int gw_store_pg_commit(gw_store_pg *pg, gw_err *err);
void gw_store_pg_abort(gw_store_pg *pg);
int gw_store_pg_posture_read(gw_store_pg *pg, gw_buf *out, gw_err *err);
int gw_store_pg_posture_write(gw_store_pg *pg, const char *text, size_t n, gw_err *err);
int gw_store_pg_event_append(gw_store_pg *pg, const char *line, size_t n, gw_err *err);
int gw_store_pg_event_append_batch(gw_store_pg *pg, const char *const *lines, const size_t *lens,
    size_t n, gw_err *err);
int gw_store_pg_events_each(gw_store_pg *pg, gw_store_line_fn fn, void *ctx, bool *present,
    gw_err *err);
int gw_store_pg_events_since(gw_store_pg *pg, uint64_t *cursor, size_t max, gw_store_line_fn fn,
    void *ctx, gw_err *err);
int gw_store_pg_listen(gw_store_pg *pg, gw_err *err);
int gw_store_pg_fd(const gw_store_pg *pg);
int gw_store_pg_drain(gw_store_pg *pg, unsigned *changes, gw_err *err);
int gw_store_pg_set_timeout(gw_store_pg *pg, uint64_t ms, gw_err *err);
void gw_store_pg_set_deadline(gw_store_pg *pg, uint64_t mono_ms);
bool gw_store_pg_connected(const gw_store_pg *pg);
int gw_store_pg_replica_register(gw_store_pg *pg, const gw_store_replica_info *info, uint64_t *id,
    gw_err *err);
int gw_store_pg_replica_heartbeat(gw_store_pg *pg, uint64_t id, const gw_store_replica_counters *c,
    gw_err *err);
int gw_store_pg_replica_deregister(gw_store_pg *pg, uint64_t id, gw_err *err);
int gw_store_pg_replica_list(gw_store_pg *pg, gw_store_replica **out, size_t *n, gw_err *err);
int gw_store_pg_replica_expire(gw_store_pg *pg, uint64_t older_than_ms, size_t *removed,
    gw_err *err);

int gw_store_pg_response_save_many(gw_store_pg *pg, const gw_store_response *r, size_t n,
    gw_err *err);
int gw_store_pg_response_load(gw_store_pg *pg, const char *id, gw_store_response *out, gw_err *err);
int gw_store_pg_response_chain(gw_store_pg *pg, const char *id, size_t max,
    gw_store_response **out, size_t *n, gw_err *err);
int gw_store_pg_response_present(gw_store_pg *pg, const char *const *ids, size_t n,
    bool *present, gw_err *err);
int gw_store_pg_response_each(gw_store_pg *pg, gw_store_response_fn fn, void *ctx, gw_err *err);
int gw_store_pg_response_count(gw_store_pg *pg, uint64_t *n, gw_err *err);
int gw_store_pg_response_delete(gw_store_pg *pg, const char *id, gw_err *err);
int gw_store_pg_response_sweep(gw_store_pg *pg, uint64_t now_s, uint64_t ttl_s, size_t max,
    size_t *removed, gw_err *err);
int gw_store_pg_session_begin(gw_store_pg *pg, const char *key, uint64_t wait_ms, gw_buf *body,
    gw_err *err);
int gw_store_pg_session_write(gw_store_pg *pg, const char *key, const char *text, size_t n,
    bool replace, gw_err *err);
int gw_store_pg_session_sweep(gw_store_pg *pg, uint64_t now_s, uint64_t ttl_s, size_t max,
    size_t *removed, gw_err *err);
int gw_store_pg_session_each(gw_store_pg *pg, gw_store_session_fn fn, void *ctx, gw_err *err);
int gw_store_pg_session_put(gw_store_pg *pg, const gw_store_session_row *r, gw_err *err);
int gw_store_pg_session_count(gw_store_pg *pg, uint64_t *n, gw_err *err);

int gw_store_pg_records_get(gw_store_pg *pg, const char *const *keys, size_t n,
    gw_store_record_fn fn, void *ctx, gw_err *err);
int gw_store_pg_records_each(gw_store_pg *pg, const char *actor, gw_store_record_fn fn, void *ctx,
    gw_err *err);
int gw_store_pg_records_by_seq(gw_store_pg *pg, uint64_t after, size_t max, gw_store_record_fn fn,
    void *ctx, size_t *got, gw_err *err);
int gw_store_pg_records_put(gw_store_pg *pg, const gw_store_record *recs, size_t n, gw_err *err);
int gw_store_pg_channel_append(gw_store_pg *pg, const char *transport, const char *channel,
    const char *log, size_t log_len, const char *context, size_t context_len, const char *memory,
    size_t memory_len, gw_err *err);
int gw_store_pg_channel_inspect(gw_store_pg *pg, const char *transport, const char *channel,
    gw_store_channel_info *out, gw_err *err);
int gw_store_pg_channel_each(gw_store_pg *pg, gw_store_channel_fn fn, void *ctx, gw_err *err);
int gw_store_pg_channel_count(gw_store_pg *pg, uint64_t *n, gw_err *err);

#endif
