/*
 * state.c - load and save state.json, and the state's view of the records
 * store.
 *
 * A schema 2 state.json is small (posture and counters) and is parsed
 * whole; keys and records are looked up in the store one at a time and
 * the entries a cycle touches are kept in memory (st->touched) until the
 * save writes the changed ones.  A schema 1 file is streamed: the
 * top-level object is walked with gw_json_scan and each request record is
 * parsed alone, so a legacy state with a million records never becomes
 * one cJSON tree.  This module must never overwrite a state.json it could
 * not parse (a writer moves it aside first), and must never save a
 * state.json that commits records it has not written.
 */
#include "core/gateway/state.h"
#include "core/base/clock.h"
#include "core/gateway/events.h"
#include "core/gateway/fixture.h"
#include "core/base/fs.h"
#include "core/base/json.h"
#include "core/base/str.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A key the state has looked at or changed since the load. */
struct gw_entry {
	const char *lit;       /* the key's JSON string literal (arena) */
	size_t lit_len;
	uint64_t seq;          /* processing order; 0: not processed */
	bool has_req;
	bool dirty;            /* to be written by the next save */
	bool untallied;        /* the record's values are not in the counters */
	bool deleted;          /* renamed away (schema 1 key migration) */
	gw_request req;        /* req.case_key is the plain key */
};

/* Compaction starts when the log would pass this, or a sixteenth of the
 * snapshot if that is more: a cycle indexes at most that much log, and a
 * compaction rewrites the store once per that much appended. */
#define GW_STATE_LOG_MIN (1u << 20)
#define GW_STATE_LOG_SHARE 16

static void
gw_state_defaults(gw_state *st, uint64_t now)
{
	st->health = (gw_health){ 0 };
	gw_guardrail_default(&st->guardrail, now);
	memset(&st->service, 0, sizeof(st->service));
	st->service.last_started_unix_ms = now;
	st->service.last_transition_unix_ms = now;
}

static void
gw_counts_clear(gw_state *st)
{
	gw_count_map *maps[] = { &st->method_counts, &st->status_code_counts, &st->error_code_counts };
	for (size_t i = 0; i < 3; i++) {
		free(maps[i]->items);
		memset(maps[i], 0, sizeof(*maps[i]));
	}
	st->nkeys = st->nreqs = 0;
}

static void
gw_state_clear_data(gw_state *st)
{
	gw_records_close(st->store);
	st->store = NULL;
	gw_arena_free(st->arena);
	st->arena = gw_arena_new();
	gw_strmap_free(st->touched);
	st->touched = gw_strmap_new(64);
	free(st->ents);
	st->ents = NULL;
	st->nents = st->ents_cap = 0;
	gw_strmap_free(st->pins);
	st->pins = NULL;
	gw_strmap_free(st->absent);
	st->absent = NULL;
	gw_counts_clear(st);
	st->meta = (gw_records_meta){ 0, 0, 1 };
	st->legacy = false;
	st->store_rc = 0;
}

static gw_state *
gw_state_new(const char *dir)
{
	gw_state *st = gw_xcalloc(1, sizeof(*st));
	st->dir = gw_xstrdup(dir);
	st->path = gw_path_join(dir, "state.json");
	st->arena = gw_arena_new();
	st->touched = gw_strmap_new(64);
	st->meta.next_seq = 1;
	return st;
}

void
gw_state_free(gw_state *st)
{
	if (st == NULL)
		return;
	gw_records_close(st->store);
	gw_arena_free(st->arena);
	gw_strmap_free(st->touched);
	gw_strmap_free(st->pins);
	gw_strmap_free(st->absent);
	free(st->ents);
	gw_counts_clear(st);
	gw_buf_free(&st->scratch);
	free(st->dir);
	free(st->path);
	free(st);
}

const char *
gw_state_strdup(gw_state *st, const char *s)
{
	return gw_arena_strdup(st->arena, s ? s : "");
}

int
gw_state_store_error(const gw_state *st, gw_err *err)
{
	if (st->store_rc != 0 && err != NULL)
		*err = st->store_err;
	return st->store_rc;
}

/* ---- counters ------------------------------------------------------------ */

/* Adds n to key's count (up), or takes n from it (!up; a count reaching 0
 * goes).  Items stay sorted by key. */
static void
gw_count_bump(gw_count_map *m, const char *key, uint64_t n, bool up)
{
	size_t lo = 0, hi = m->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(m->items[mid].key, key);
		if (c == 0) {
			gw_count *it = &m->items[mid];
			if (up) {
				it->count += n;
			} else if (it->count > n) {
				it->count -= n;
			} else {
				memmove(it, it + 1, (m->n - mid - 1) * sizeof(*m->items));
				m->n--;
			}
			return;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!up || n == 0)
		return;
	if (m->n == m->cap) {
		m->cap = m->cap ? m->cap * 2 : 8;
		m->items = gw_xrealloc(m->items, m->cap * sizeof(*m->items));
	}
	memmove(m->items + lo + 1, m->items + lo, (m->n - lo) * sizeof(*m->items));
	snprintf(m->items[lo].key, sizeof(m->items[lo].key), "%s", key);
	m->items[lo].count = n;
	m->n++;
}

/* Counts (delta +1) or uncounts (-1) a record's method, status and error
 * code, as the status report names them. */
static void
gw_state_tally(gw_state *st, const gw_request *q, int delta)
{
	char k[64];
	if (gw_str_copy_trim(k, sizeof(k), q->method, GW_STR_UPPER) > 0)
		gw_count_bump(&st->method_counts, k, 1, delta > 0);
	if (q->status_code > 0) {
		snprintf(k, sizeof(k), "%llu", (unsigned long long)q->status_code);
		gw_count_bump(&st->status_code_counts, k, 1, delta > 0);
	}
	if (gw_str_copy_trim(k, sizeof(k), q->error_code, GW_STR_KEEP) > 0)
		gw_count_bump(&st->error_code_counts, k, 1, delta > 0);
}

void
gw_state_settle(gw_state *st)
{
	for (size_t i = 0; i < st->nents; i++) {
		gw_entry *e = st->ents[i];
		if (e->untallied && e->has_req && !e->deleted)
			gw_state_tally(st, &e->req, +1);
		e->untallied = false;
	}
}

/* ---- records in a store's rows (PostgreSQL) ---------------------------- */

/* The plain key of a key literal, into out. */
static void
gw_state_unlit(const char *lit, size_t len, gw_buf *out)
{
	gw_buf_reset(out);
	if (len >= 2 && memchr(lit, '\\', len) == NULL) {
		gw_buf_append(out, lit + 1, len - 2);
		return;
	}
	cJSON *k = cJSON_ParseWithLength(lit, len);
	gw_buf_puts(out, cJSON_IsString(k) ? k->valuestring : "");
	cJSON_Delete(k);
}

/* A row as the file store's split line: key literal, seq, record text
 * ("null" when none), copied into arena a. */
static void
gw_state_row_line(gw_arena *a, const gw_store_record *r, gw_buf *tmp, gw_records_line *l)
{
	gw_buf_reset(tmp);
	gw_json_escape(tmp, r->key, strlen(r->key));
	l->key = gw_arena_strndup(a, tmp->data, tmp->len);
	l->key_len = tmp->len;
	l->seq = r->seq;
	l->actor = "";
	l->actor_len = 0;
	l->rec = r->rec != NULL ? gw_arena_strndup(a, r->rec, r->rec_len) : "null";
	l->rec_len = r->rec != NULL ? r->rec_len : 4;
}

typedef struct gw_state_rows_get {
	gw_state *st;
	gw_records_line *l;
	gw_buf tmp;
	bool found;
} gw_state_rows_get;

static void
gw_state_rows_get_one(void *ctx, const gw_store_record *r)
{
	gw_state_rows_get *g = ctx;
	gw_state_row_line(g->st->arena, r, &g->tmp, g->l);
	g->found = true;
}

/* gw_state_store_get on a store's rows: 1 found, 0 not (or an error,
 * remembered). */
static int
gw_state_pg_get(gw_state *st, const char *lit, size_t len, gw_records_line *l)
{
	if (st->store_rc != 0 || (st->absent != NULL && gw_strmap_get(st->absent, lit, NULL)))
		return 0;
	gw_buf key = GW_BUF_INIT;
	gw_state_unlit(lit, len, &key);
	gw_state_rows_get g = { .st = st, .l = l };
	const char *keys[] = { gw_buf_cstr(&key) };
	int rc = gw_store_records_get(st->rstore, keys, 1, gw_state_rows_get_one, &g, &st->store_err);
	gw_buf_free(&key);
	gw_buf_free(&g.tmp);
	if (rc != 0) {
		st->store_rc = rc;
		return 0;
	}
	return g.found;
}

void
gw_state_use_store(gw_state *st, gw_store *s)
{
	st->rstore = s;
	free(st->dir);
	st->dir = gw_xstrdup(gw_store_label(s)); /* what its messages name */
}

/* ---- entries ------------------------------------------------------------- */

/* The key literal of key, in st->scratch (NUL-terminated). */
static const char *
gw_state_lit(gw_state *st, const char *key, size_t *len)
{
	gw_buf_reset(&st->scratch);
	gw_json_escape(&st->scratch, key, strlen(key));
	*len = st->scratch.len;
	return gw_buf_cstr(&st->scratch);
}

/* Opens the store the meta names if it is not open (a reader's first
 * lookup); a failure is remembered and reported by save. */
static gw_records *
gw_state_store(gw_state *st)
{
	if (st->store == NULL && st->store_rc == 0 && !st->legacy && st->rstore == NULL)
		st->store_rc = gw_records_open(st->dir, &st->meta, false, &st->store, &st->store_err);
	return st->store;
}

/* Looks the literal up in the store: 1 found, 0 not (also after an error,
 * which is remembered). */
static int gw_state_pg_get(gw_state *st, const char *lit, size_t len, gw_records_line *l);

static int
gw_state_store_get(gw_state *st, const char *lit, size_t len, gw_records_line *l)
{
	if (st->rstore != NULL)
		return gw_state_pg_get(st, lit, len, l);
	gw_records *r = gw_state_store(st);
	if (r == NULL)
		return 0;
	int rc = gw_records_get(r, lit, len, l, &st->store_err);
	if (rc < 0) {
		if (st->store_rc == 0)
			st->store_rc = rc;
		return 0;
	}
	return rc;
}

static gw_entry *
gw_state_add_entry(gw_state *st, const char *lit, size_t len)
{
	gw_entry *e = gw_arena_alloc(st->arena, sizeof(*e));
	memset(e, 0, sizeof(*e));
	e->lit = gw_arena_strndup(st->arena, lit, len);
	e->lit_len = len;
	if (st->nents == st->ents_cap) {
		st->ents_cap = st->ents_cap ? st->ents_cap * 2 : 256;
		st->ents = gw_xrealloc(st->ents, st->ents_cap * sizeof(*st->ents));
	}
	st->ents[st->nents++] = e;
	gw_strmap_put(st->touched, e->lit, (size_t)e);
	return e;
}

static void
gw_state_blank_request(gw_request *q)
{
	q->case_id = q->method = q->endpoint = q->actor_id = q->outcome = q->error_code = "";
	q->response_body = "null";
	q->status_code = q->updated_unix_ms = 0;
}

static gw_entry *gw_state_fill_entry(gw_state *st, const char *lit, size_t len, const char *key,
    const gw_records_line *l);

/* The entry for the key whose literal is lit (NUL-terminated), from the
 * touched set or the store; created empty when create is set, else NULL
 * when the key is nowhere.  key is the plain key (NULL: decoded from lit). */
static gw_entry *
gw_state_touch_lit(gw_state *st, const char *lit, size_t len, const char *key, bool create)
{
	size_t v;
	if (gw_strmap_get(st->touched, lit, &v))
		return (gw_entry *)v;
	gw_records_line l;
	int found = gw_state_store_get(st, lit, len, &l);
	if (!found && !create)
		return NULL;
	return gw_state_fill_entry(st, lit, len, key, found ? &l : NULL);
}

/* A new touched entry for the literal lit, from the store's line l (NULL:
 * the key is not stored).  key is the plain key (NULL: decoded from lit). */
static gw_entry *
gw_state_fill_entry(gw_state *st, const char *lit, size_t len, const char *key,
    const gw_records_line *l)
{
	gw_entry *e = gw_state_add_entry(st, lit, len);
	if (key == NULL) {
		cJSON *k = cJSON_ParseWithLength(lit, len);
		key = cJSON_IsString(k) ? gw_arena_strdup(st->arena, k->valuestring) : "";
		cJSON_Delete(k);
	} else {
		key = gw_arena_strdup(st->arena, key);
	}
	gw_state_blank_request(&e->req);
	e->req.case_key = key;
	if (l != NULL) {
		e->seq = l->seq;
		if (!(l->rec_len == 4 && memcmp(l->rec, "null", 4) == 0)) {
			e->has_req = gw_records_parse_rec(l->rec, l->rec_len, st->arena, &e->req);
			if (!e->has_req && st->store_rc == 0)
				st->store_rc = gw_err_set(&st->store_err, -EINVAL, GW_EXIT_DATAERR,
				    "records store in %s is corrupt: a bad record for key %s", st->dir, key);
		}
	}
	return e;
}

static gw_entry *
gw_state_touch(gw_state *st, const char *key, bool create)
{
	size_t len;
	const char *lit = gw_state_lit(st, key, &len);
	return gw_state_touch_lit(st, lit, len, key, create);
}

typedef struct gw_prefetch {
	gw_state *st;
	gw_buf tmp;
} gw_prefetch;

static void
gw_prefetch_row(void *ctx, const gw_store_record *r)
{
	gw_prefetch *p = ctx;
	gw_records_line l;
	gw_state_row_line(p->st->arena, r, &p->tmp, &l); /* l.key: the literal, NUL-terminated */
	if (!gw_strmap_get(p->st->touched, l.key, NULL))
		gw_state_fill_entry(p->st, l.key, l.key_len, r->key, &l);
}

#define GW_STATE_PREFETCH_BATCH 2048

int
gw_state_prefetch(gw_state *st, const char *const *keys, size_t n, gw_err *err)
{
	if (st->rstore == NULL || st->store_rc != 0)
		return gw_state_store_error(st, err);
	if (st->absent == NULL)
		st->absent = gw_strmap_new(n ? n : 1);
	gw_prefetch p = { .st = st };
	const char **batch = gw_xmalloc(GW_STATE_PREFETCH_BATCH * sizeof(*batch));
	const char **lits = gw_xmalloc(GW_STATE_PREFETCH_BATCH * sizeof(*lits));
	for (size_t i = 0; i < n && st->store_rc == 0;) {
		size_t k = 0;
		for (; i < n && k < GW_STATE_PREFETCH_BATCH; i++) {
			size_t len;
			const char *lit = gw_state_lit(st, keys[i], &len);
			if (gw_strmap_get(st->touched, lit, NULL) || gw_strmap_get(st->absent, lit, NULL))
				continue;
			lits[k] = gw_arena_strndup(st->arena, lit, len);
			gw_strmap_put(st->absent, lits[k], 1); /* (a duplicate in keys is asked once) */
			batch[k++] = keys[i];
		}
		int rc = gw_store_records_get(st->rstore, batch, k, gw_prefetch_row, &p, &st->store_err);
		if (rc != 0)
			st->store_rc = rc;
		for (size_t j = 0; j < k; j++) /* found ones are touched now: not absent */
			if (gw_strmap_get(st->touched, lits[j], NULL))
				gw_strmap_del(st->absent, lits[j]);
	}
	free(batch);
	free(lits);
	gw_buf_free(&p.tmp);
	return gw_state_store_error(st, err);
}

bool
gw_state_is_processed(gw_state *st, const char *key)
{
	size_t len, v;
	const char *lit = gw_state_lit(st, key, &len);
	if (gw_strmap_get(st->touched, lit, &v))
		return ((gw_entry *)v)->seq != 0;
	gw_records_line l;
	return gw_state_store_get(st, lit, len, &l) == 1 && l.seq != 0;
}

/* Up to this many keys' literals at a time for gw_records_get_many. */
#define GW_STATE_PROCESSED_BATCH 256

void
gw_state_processed_many(gw_state *st, const char *const *keys, size_t n, bool *out)
{
	gw_records *r = st->rstore == NULL ? gw_state_store(st) : NULL;
	if (r == NULL) { /* a store's rows (prefetched), no store or an error: one at a time */
		for (size_t i = 0; i < n; i++)
			out[i] = gw_state_is_processed(st, keys[i]);
		return;
	}
	gw_buf lits = GW_BUF_INIT;
	size_t start[GW_STATE_PROCESSED_BATCH], lens[GW_STATE_PROCESSED_BATCH];
	size_t at[GW_STATE_PROCESSED_BATCH];
	const char *ptr[GW_STATE_PROCESSED_BATCH];
	gw_records_line l[GW_STATE_PROCESSED_BATCH];
	int found[GW_STATE_PROCESSED_BATCH];
	bool touched = gw_strmap_count(st->touched) > 0; /* (none: no lookup there) */
	for (size_t i = 0; i < n;) {
		/* the batch's literals not in the touched set, NUL after each */
		size_t k = 0;
		gw_buf_reset(&lits);
		for (; i < n && k < GW_STATE_PROCESSED_BATCH; i++) {
			size_t v, len;
			const char *lit = gw_state_lit(st, keys[i], &len);
			if (touched && gw_strmap_get(st->touched, lit, &v)) {
				out[i] = ((gw_entry *)v)->seq != 0;
				continue;
			}
			out[i] = false;
			start[k] = lits.len;
			lens[k] = len;
			at[k++] = i;
			gw_buf_append(&lits, lit, len);
			gw_buf_putc(&lits, '\0');
		}
		for (size_t j = 0; j < k; j++)
			ptr[j] = lits.data + start[j];
		if (st->store_rc != 0) /* (an earlier error: nothing more is looked up) */
			continue;
		int rc = gw_records_get_many(r, ptr, lens, k, l, found, &st->store_err);
		if (rc < 0)
			st->store_rc = rc;
		for (size_t j = 0; j < k && rc == 0; j++)
			out[at[j]] = found[j] == 1 && l[j].seq != 0;
	}
	gw_buf_free(&lits);
}

static void
gw_state_mark_entry(gw_state *st, gw_entry *e)
{
	if (e->seq != 0)
		return;
	e->seq = st->meta.next_seq++;
	e->dirty = true;
	st->nkeys++;
}

void
gw_state_mark_processed(gw_state *st, const char *key)
{
	gw_state_mark_entry(st, gw_state_touch(st, key, true));
}

void
gw_state_pin_processed(gw_state *st, const char *key)
{
	size_t len;
	const char *lit = gw_state_lit(st, key, &len);
	if (st->pins == NULL)
		st->pins = gw_strmap_new(1024);
	if (!gw_strmap_get(st->pins, lit, NULL))
		gw_strmap_put(st->pins, gw_arena_strndup(st->arena, lit, len), 1);
}

gw_request *
gw_state_find_request(gw_state *st, const char *case_key)
{
	gw_entry *e = gw_state_touch(st, case_key, false);
	return e != NULL && e->has_req ? &e->req : NULL;
}

gw_request *
gw_state_upsert_request(gw_state *st, const char *case_key)
{
	gw_entry *e = gw_state_touch(st, case_key, true);
	if (!e->has_req) {
		e->has_req = true;
		st->nreqs++;
		gw_state_blank_request(&e->req);
		e->req.case_key = gw_arena_strdup(st->arena, case_key);
	} else if (!e->untallied) {
		gw_state_tally(st, &e->req, -1); /* counted again, as changed, when settled */
	}
	e->untallied = true;
	e->dirty = true;
	return &e->req;
}

static const char *
gw_state_copy_str(gw_state *st, const char *s)
{
	return s != NULL ? gw_arena_strdup(st->arena, s) : "";
}

void
gw_state_put_entry(gw_state *st, const char *key, uint64_t seq, const gw_request *q)
{
	/* the state is being filled from nothing: a key it has not touched is
	 * not looked up in the store (on PostgreSQL a round trip each) */
	size_t len, v;
	const char *lit = gw_state_lit(st, key, &len);
	gw_entry *e = gw_strmap_get(st->touched, lit, &v) ? (gw_entry *)v :
	    gw_state_fill_entry(st, lit, len, key, NULL);
	if (seq != 0 && e->seq == 0)
		st->nkeys++;
	else if (seq == 0 && e->seq != 0)
		st->nkeys--;
	e->seq = seq;
	e->dirty = true;
	if (seq >= st->meta.next_seq)
		st->meta.next_seq = seq + 1;
	if (q == NULL)
		return;
	gw_request *r = gw_state_upsert_request(st, key);
	r->case_id = gw_state_copy_str(st, q->case_id);
	r->method = gw_state_copy_str(st, q->method);
	r->endpoint = gw_state_copy_str(st, q->endpoint);
	r->actor_id = gw_state_copy_str(st, q->actor_id);
	r->outcome = gw_state_copy_str(st, q->outcome);
	r->error_code = gw_state_copy_str(st, q->error_code);
	r->response_body = q->response_body != NULL ? gw_arena_strdup(st->arena, q->response_body) :
	    "null";
	r->status_code = q->status_code;
	r->updated_unix_ms = q->updated_unix_ms;
}

void
gw_state_compact_next(gw_state *st)
{
	st->compact_next = true;
}

/* ---- whole-store walks (the cap, tools) ---------------------------------- */

typedef struct gw_seq_key {
	uint64_t seq;
	const char *lit;      /* arena */
	size_t len;
} gw_seq_key;

typedef struct gw_walk {
	gw_state *st;
	gw_seq_key *keys;
	size_t n, cap;
	gw_buf k;
	gw_state_entry_fn fn;
	void *ctx;
	gw_arena *tmp;
} gw_walk;

/* Whether the store's line for this literal is superseded by a touched entry. */
static bool
gw_walk_touched(gw_walk *w, const char *lit, size_t len)
{
	gw_buf_reset(&w->k);
	gw_buf_append(&w->k, lit, len);
	return gw_strmap_get(w->st->touched, gw_buf_cstr(&w->k), NULL);
}

static int
gw_seq_cmp(const void *a, const void *b)
{
	uint64_t x = ((const gw_seq_key *)a)->seq, y = ((const gw_seq_key *)b)->seq;
	return (x > y) - (x < y);
}

static void
gw_seq_push(gw_walk *w, uint64_t seq, const char *lit, size_t len)
{
	if (w->n == w->cap) {
		w->cap = w->cap ? w->cap * 2 : 64;
		w->keys = gw_xrealloc(w->keys, w->cap * sizeof(*w->keys));
	}
	w->keys[w->n++] = (gw_seq_key){ seq, lit, len };
}

/* The log's processed keys not superseded by a touched entry. */
static void
gw_walk_log_keys(void *ctx, const gw_records_line *l, const char *raw, size_t n)
{
	(void)raw;
	(void)n;
	gw_walk *w = ctx;
	if (l->seq != 0 && !gw_walk_touched(w, l->key, l->key_len))
		gw_seq_push(w, l->seq, gw_arena_strndup(w->st->arena, l->key, l->key_len), l->key_len);
}

/* Drops one processed key (literal) unless pinned; true when dropped. */
static bool
gw_state_drop_key(gw_state *st, const char *lit, size_t len)
{
	if (st->pins != NULL && gw_strmap_get(st->pins, lit, NULL))
		return false;
	gw_entry *e = gw_state_touch_lit(st, lit, len, NULL, true);
	if (e->seq == 0)
		return false;
	e->seq = 0;
	e->dirty = true;
	st->nkeys--;
	return true;
}

/*
 * Drops the oldest unpinned keys.  Candidates come in processing order
 * from two sources merged: the snapshot's processing-order index (entries
 * the log or this state has since changed are skipped) and the few others
 * (the log's, the touched ones), sorted here.  So the cost is the keys
 * looked at - the dropped ones and the pinned ones passed over - not the
 * store.
 */
/* A page of a store's processed keys in processing order. */
typedef struct gw_state_rows_page {
	gw_walk *w;
	gw_seq_key *keys;
	size_t n, cap;
	gw_buf tmp;
	uint64_t last;
} gw_state_rows_page;

static void
gw_state_rows_page_one(void *ctx, const gw_store_record *r)
{
	gw_state_rows_page *p = ctx;
	p->last = r->seq;
	gw_buf_reset(&p->tmp);
	gw_json_escape(&p->tmp, r->key, strlen(r->key));
	if (gw_walk_touched(p->w, p->tmp.data, p->tmp.len))
		return; /* the touched entry is the truth, and a candidate of its own */
	if (p->n == p->cap) {
		p->cap = p->cap ? p->cap * 2 : 64;
		p->keys = gw_xrealloc(p->keys, p->cap * sizeof(*p->keys));
	}
	p->keys[p->n++] = (gw_seq_key){ r->seq,
		gw_arena_strndup(p->w->st->arena, p->tmp.data, p->tmp.len), p->tmp.len };
}

#define GW_STATE_PG_PAGE 1024

/* gw_state_cap_processed on a store's rows: the rows in processing order,
 * a page at a time, merged with the touched entries. */
static void
gw_state_cap_processed_pg(gw_state *st, size_t cap)
{
	gw_walk w = { .st = st };
	for (size_t i = 0; i < st->nents; i++) {
		gw_entry *e = st->ents[i];
		if (e->seq != 0 && !e->deleted)
			gw_seq_push(&w, e->seq, e->lit, e->lit_len);
	}
	if (w.n > 1)
		qsort(w.keys, w.n, sizeof(*w.keys), gw_seq_cmp);
	size_t drop = st->nkeys - cap, j = 0, k = 0;
	gw_state_rows_page page = { .w = &w };
	bool more = true;
	while (drop > 0 && st->store_rc == 0) {
		if (k == page.n && more) {
			page.n = k = 0;
			size_t got = 0;
			int rc = gw_store_records_by_seq(st->rstore, page.last, GW_STATE_PG_PAGE,
			    gw_state_rows_page_one, &page, &got, &st->store_err);
			if (rc != 0) {
				st->store_rc = rc;
				break;
			}
			more = got == GW_STATE_PG_PAGE;
			if (page.n == 0 && more)
				continue;
		}
		bool from_page = k < page.n && (j >= w.n || page.keys[k].seq < w.keys[j].seq);
		if (!from_page && j >= w.n)
			break; /* nothing left to look at */
		if (from_page) {
			drop -= gw_state_drop_key(st, page.keys[k].lit, page.keys[k].len);
			k++;
		} else {
			drop -= gw_state_drop_key(st, w.keys[j].lit, w.keys[j].len);
			j++;
		}
	}
	free(page.keys);
	gw_buf_free(&page.tmp);
	free(w.keys);
	gw_buf_free(&w.k);
}

void
gw_state_cap_processed(gw_state *st, size_t cap)
{
	if (st->nkeys <= cap)
		return;
	if (st->rstore != NULL) {
		gw_state_cap_processed_pg(st, cap);
		return;
	}
	gw_walk w = { .st = st };
	gw_records *r = gw_state_store(st);
	if (r != NULL) {
		int rc = gw_records_each_log(r, gw_walk_log_keys, &w, &st->store_err);
		if (rc != 0 && st->store_rc == 0)
			st->store_rc = rc;
	}
	for (size_t i = 0; i < st->nents; i++) {
		gw_entry *e = st->ents[i];
		if (e->seq != 0 && !e->deleted)
			gw_seq_push(&w, e->seq, e->lit, e->lit_len);
	}
	if (w.n > 1)
		qsort(w.keys, w.n, sizeof(*w.keys), gw_seq_cmp);
	size_t drop = st->nkeys - cap, j = 0;
	uint64_t i = 0;
	gw_records_line l;
	bool have = false;      /* l holds the next snapshot candidate */
	while (drop > 0 && st->store_rc == 0) {
		while (!have && r != NULL) {
			int rc = gw_records_snap_seq(r, i, &l, &st->store_err);
			if (rc == -ENOENT) {
				r = NULL;
				break;
			}
			if (rc < 0) {
				st->store_rc = rc;
				r = NULL;
				break;
			}
			i++;
			have = rc == 1 && !gw_walk_touched(&w, l.key, l.key_len);
		}
		if (st->store_rc != 0)
			break;
		bool from_snap = have && (j >= w.n || l.seq < w.keys[j].seq);
		if (!from_snap && j >= w.n)
			break; /* nothing left to look at */
		if (from_snap) {
			have = false;
			gw_buf_reset(&w.k);
			gw_buf_append(&w.k, l.key, l.key_len);
			drop -= gw_state_drop_key(st, gw_buf_cstr(&w.k), l.key_len);
		} else {
			drop -= gw_state_drop_key(st, w.keys[j].lit, w.keys[j].len);
			j++;
		}
	}
	free(w.keys);
	gw_buf_free(&w.k);
}

/* A store's rows handed to a file-store line walker (each). */
typedef struct gw_state_rows_walk {
	void *ctx;
	gw_arena *arena;
	gw_records_each_fn each;
	gw_buf tmp;
} gw_state_rows_walk;

static void
gw_state_rows_walk_one(void *ctx, const gw_store_record *r)
{
	gw_state_rows_walk *p = ctx;
	gw_records_line l;
	gw_state_row_line(p->arena, r, &p->tmp, &l);
	p->each(p->ctx, &l, NULL, 0);
}

static void
gw_walk_entries(void *ctx, const gw_records_line *l, const char *raw, size_t n)
{
	(void)raw;
	(void)n;
	gw_walk *w = ctx;
	if (gw_walk_touched(w, l->key, l->key_len))
		return;
	bool has_req = !(l->rec_len == 4 && memcmp(l->rec, "null", 4) == 0);
	if (l->seq == 0 && !has_req)
		return;
	gw_request q;
	gw_state_blank_request(&q);
	cJSON *k = cJSON_ParseWithLength(l->key, l->key_len);
	q.case_key = gw_arena_strdup(w->tmp, cJSON_IsString(k) ? k->valuestring : "");
	cJSON_Delete(k);
	if (has_req && !gw_records_parse_rec(l->rec, l->rec_len, w->tmp, &q)) {
		if (w->st->store_rc == 0)
			w->st->store_rc = gw_err_set(&w->st->store_err, -EINVAL, GW_EXIT_DATAERR,
			    "records store in %s is corrupt: a bad record for key %s", w->st->dir,
			    q.case_key);
		return;
	}
	w->fn(w->ctx, q.case_key, l->seq, has_req ? &q : NULL);
}

int
gw_state_each_entry(gw_state *st, gw_state_entry_fn fn, void *ctx, gw_err *err)
{
	gw_walk w = { .st = st, .fn = fn, .ctx = ctx, .tmp = gw_arena_new() };
	if (st->rstore != NULL && st->store_rc == 0) {
		gw_state_rows_walk p = { .ctx = &w, .arena = w.tmp, .each = gw_walk_entries };
		int rc = gw_store_records_each(st->rstore, NULL, gw_state_rows_walk_one, &p, &st->store_err);
		gw_buf_free(&p.tmp);
		if (rc != 0 && st->store_rc == 0)
			st->store_rc = rc;
	}
	if (gw_state_store(st) != NULL) {
		int rc = gw_records_each(st->store, gw_walk_entries, &w, &st->store_err);
		if (rc != 0 && st->store_rc == 0)
			st->store_rc = rc;
	}
	gw_arena_free(w.tmp);
	gw_buf_free(&w.k);
	for (size_t i = 0; i < st->nents && st->store_rc == 0; i++) {
		const gw_entry *e = st->ents[i];
		if (!e->deleted && (e->seq != 0 || e->has_req))
			fn(ctx, e->req.case_key, e->seq, e->has_req ? &e->req : NULL);
	}
	return gw_state_store_error(st, err);
}

typedef struct gw_actor_walk {
	gw_walk w;
	size_t actor;
	gw_state_actor_fn fn;
} gw_actor_walk;

static void
gw_walk_actor(void *ctx, const gw_records_line *l, const char *raw, size_t n)
{
	(void)raw;
	(void)n;
	gw_actor_walk *a = ctx;
	gw_walk *w = &a->w;
	if ((l->rec_len == 4 && memcmp(l->rec, "null", 4) == 0) ||
	    gw_walk_touched(w, l->key, l->key_len))
		return;
	gw_request q;
	gw_state_blank_request(&q);
	if (memchr(l->key, '\\', l->key_len) == NULL) {
		q.case_key = gw_arena_strndup(w->tmp, l->key + 1, l->key_len - 2);
	} else {
		cJSON *k = cJSON_ParseWithLength(l->key, l->key_len);
		q.case_key = gw_arena_strdup(w->tmp, cJSON_IsString(k) ? k->valuestring : "");
		cJSON_Delete(k);
	}
	if (!gw_records_parse_rec(l->rec, l->rec_len, w->tmp, &q)) {
		if (w->st->store_rc == 0)
			w->st->store_rc = gw_err_set(&w->st->store_err, -EINVAL, GW_EXIT_DATAERR,
			    "records store in %s is corrupt: a bad record for key %s", w->st->dir,
			    q.case_key);
		return;
	}
	a->fn(w->ctx, a->actor, &q);
}

int
gw_state_actor_requests(gw_state *st, const char *const *actors, size_t nactors,
    gw_state_actor_fn fn, void *ctx, gw_err *err)
{
	/* the store's ranges first (each sorted by key already), then the
	 * touched entries, so a caller's sort has little to do */
	if (st->rstore != NULL) {
		gw_actor_walk a = { .w = { .st = st, .ctx = ctx, .tmp = gw_arena_new() }, .fn = fn };
		gw_state_rows_walk p = { .ctx = &a, .each = gw_walk_actor };
		for (size_t i = 0; i < nactors && st->store_rc == 0; i++) {
			a.actor = i;
			p.arena = a.w.tmp;
			int rc = gw_store_records_each(st->rstore, actors[i], gw_state_rows_walk_one, &p,
			    &st->store_err);
			if (rc != 0 && st->store_rc == 0)
				st->store_rc = rc;
			gw_arena_free(a.w.tmp);
			a.w.tmp = gw_arena_new();
		}
		gw_arena_free(a.w.tmp);
		gw_buf_free(&a.w.k);
		gw_buf_free(&p.tmp);
	}
	if (gw_state_store(st) != NULL) {
		gw_actor_walk a = { .w = { .st = st, .ctx = ctx, .tmp = gw_arena_new() }, .fn = fn };
		gw_buf lit = GW_BUF_INIT;
		for (size_t i = 0; i < nactors && st->store_rc == 0; i++) {
			gw_buf_reset(&lit);
			gw_json_escape(&lit, actors[i], strlen(actors[i]));
			a.actor = i;
			int rc = gw_records_each_actor(st->store, gw_buf_cstr(&lit), gw_walk_actor, &a,
			    &st->store_err);
			if (rc != 0 && st->store_rc == 0)
				st->store_rc = rc;
			gw_arena_free(a.w.tmp); /* the records were handed out: done with them */
			a.w.tmp = gw_arena_new();
		}
		gw_arena_free(a.w.tmp);
		gw_buf_free(&a.w.k);
		gw_buf_free(&lit);
	}
	gw_strmap *want = gw_strmap_new(nactors ? nactors : 1);
	for (size_t i = 0; i < nactors; i++)
		gw_strmap_put(want, actors[i], i);
	for (size_t i = 0; i < st->nents && st->store_rc == 0; i++) {
		gw_entry *e = st->ents[i];
		size_t ai;
		if (e->has_req && !e->deleted && gw_strmap_get(want, e->req.actor_id, &ai))
			fn(ctx, ai, &e->req);
	}
	gw_strmap_free(want);
	return gw_state_store_error(st, err);
}

/* ---- MEMORY.md lines from the snapshot's ---------------------------------- */

/* One actor's part of gw_state_actor_memory. */
typedef struct gw_mem_actor {
	gw_records_memory snap;     /* the snapshot's lines */
	size_t *removed;            /* lines whose key changed since (log, cycle) */
	size_t nremoved, remcap;
	struct gw_mem_add *adds;    /* the keys' current lines */
	size_t nadds, addcap;
} gw_mem_actor;

typedef struct gw_mem_add {
	const char *key;            /* plain case_key (arena) */
	const char *line;           /* rendered (arena) */
	size_t len, pos;            /* pos: where it goes among the snapshot's lines */
} gw_mem_add;

typedef struct gw_mem_merge {
	gw_state *st;
	gw_records *r;
	gw_mem_actor *act;
	gw_strmap *lits;            /* actor literal -> index */
	gw_arena *arena;
	gw_buf k, line;
	int rc;
	gw_err *err;
} gw_mem_merge;

/* Notes that the snapshot's line for key literal lit (if it has one, in a
 * wanted actor's lines) is out of date. */
static void
gw_mem_remove(gw_mem_merge *mm, const char *lit, size_t len)
{
	gw_records_line l;
	int rc = gw_records_get_snap(mm->r, lit, len, &l, NULL, mm->err);
	if (rc <= 0 || (l.rec_len == 4 && memcmp(l.rec, "null", 4) == 0)) {
		if (rc < 0)
			mm->rc = rc;
		return;
	}
	gw_buf_reset(&mm->k);
	gw_buf_append(&mm->k, l.actor, l.actor_len);
	size_t ai;
	if (!gw_strmap_get(mm->lits, gw_buf_cstr(&mm->k), &ai))
		return;
	gw_mem_actor *a = &mm->act[ai];
	const char *key;
	if (memchr(lit, '\\', len) == NULL) {
		key = gw_arena_strndup(mm->arena, lit + 1, len - 2);
	} else {
		cJSON *v = cJSON_ParseWithLength(lit, len);
		key = gw_arena_strdup(mm->arena, cJSON_IsString(v) ? v->valuestring : "");
		cJSON_Delete(v);
	}
	size_t pos;
	rc = gw_records_memory_find(mm->r, &a->snap, key, &pos, mm->err);
	if (rc == 0)
		rc = gw_err_set(mm->err, -EINVAL, GW_EXIT_DATAERR,
		    "records store in %s is corrupt: no memory line for key %s", mm->st->dir, key);
	if (rc < 0) {
		mm->rc = rc;
		return;
	}
	if (a->nremoved == a->remcap) {
		a->remcap = a->remcap ? a->remcap * 2 : 16;
		a->removed = gw_xrealloc(a->removed, a->remcap * sizeof(*a->removed));
	}
	a->removed[a->nremoved++] = pos;
}

static void
gw_mem_add_line(gw_mem_merge *mm, size_t ai, const gw_request *q)
{
	gw_mem_actor *a = &mm->act[ai];
	gw_buf_reset(&mm->line);
	gw_records_memory_line(&mm->line, q);
	if (a->nadds == a->addcap) {
		a->addcap = a->addcap ? a->addcap * 2 : 16;
		a->adds = gw_xrealloc(a->adds, a->addcap * sizeof(*a->adds));
	}
	a->adds[a->nadds++] = (gw_mem_add){ gw_arena_strdup(mm->arena, q->case_key),
		gw_arena_strndup(mm->arena, mm->line.data, mm->line.len), mm->line.len, 0 };
}

/* A dirty touched entry's key: the cycle's entry replaces the store's. */
static bool
gw_mem_dirty(gw_mem_merge *mm, const char *lit, size_t len)
{
	gw_buf_reset(&mm->k);
	gw_buf_append(&mm->k, lit, len);
	size_t v;
	return gw_strmap_get(mm->st->touched, gw_buf_cstr(&mm->k), &v) && ((gw_entry *)v)->dirty;
}

/* The log's last line for a key: its snapshot line goes, its record (if
 * it has one, for a wanted actor) comes in. */
static void
gw_mem_log_line(void *ctx, const gw_records_line *l, const char *raw, size_t n)
{
	(void)raw;
	(void)n;
	gw_mem_merge *mm = ctx;
	if (mm->rc != 0 || gw_mem_dirty(mm, l->key, l->key_len))
		return;
	gw_mem_remove(mm, l->key, l->key_len);
	if (mm->rc != 0 || (l->rec_len == 4 && memcmp(l->rec, "null", 4) == 0))
		return;
	gw_buf_reset(&mm->k);
	gw_buf_append(&mm->k, l->actor, l->actor_len);
	size_t ai;
	if (!gw_strmap_get(mm->lits, gw_buf_cstr(&mm->k), &ai))
		return;
	gw_request q;
	gw_state_blank_request(&q);
	if (!gw_records_parse_rec(l->rec, l->rec_len, mm->arena, &q)) {
		mm->rc = gw_err_set(mm->err, -EINVAL, GW_EXIT_DATAERR,
		    "records store in %s is corrupt: a bad record for key %.*s", mm->st->dir,
		    (int)l->key_len, l->key);
		return;
	}
	cJSON *v = cJSON_ParseWithLength(l->key, l->key_len);
	q.case_key = gw_arena_strdup(mm->arena, cJSON_IsString(v) ? v->valuestring : "");
	cJSON_Delete(v);
	gw_mem_add_line(mm, ai, &q);
}

static int
gw_mem_add_cmp(const void *a, const void *b)
{
	return strcmp(((const gw_mem_add *)a)->key, ((const gw_mem_add *)b)->key);
}

static int
gw_size_cmp(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	return (x > y) - (x < y);
}

/* Appends the actor's lines [from, to) of the snapshot to out in one copy. */
static void
gw_mem_copy(gw_buf *out, const gw_records_memory *m, size_t from, size_t to)
{
	if (from >= to)
		return;
	size_t s, e, s2, e2;
	gw_records_memory_span(m, from, &s, &e);
	gw_records_memory_span(m, to - 1, &s2, &e2);
	gw_buf_append(out, m->text + s, e2 - s);
}

int
gw_state_actor_memory(gw_state *st, const char *const *actors, size_t nactors, gw_buf *out,
    gw_err *err)
{
	if (st->legacy)
		return 0;
	gw_records *r = gw_state_store(st);
	if (r == NULL)
		return st->store_rc != 0 ? gw_state_store_error(st, err) : 0;
	if (!gw_records_has_memory(r))
		return 0;
	gw_mem_merge mm = { .st = st, .r = r, .err = err, .arena = gw_arena_new(),
		.lits = gw_strmap_new(nactors ? nactors : 1) };
	mm.act = gw_xcalloc(nactors ? nactors : 1, sizeof(*mm.act));
	for (size_t i = 0; i < nactors && mm.rc == 0; i++) {
		gw_buf_reset(&mm.k);
		gw_json_escape(&mm.k, actors[i], strlen(actors[i]));
		const char *lit = gw_arena_strndup(mm.arena, mm.k.data, mm.k.len);
		gw_strmap_put(mm.lits, lit, i);
		int rc = gw_records_actor_memory(r, lit, &mm.act[i].snap, err);
		if (rc <= 0)
			mm.rc = rc < 0 ? rc : -ENOTSUP;
	}
	/* the log's keys, then the cycle's: O(changed keys), each a lookup */
	if (mm.rc == 0) {
		int rc = gw_records_each_log(r, gw_mem_log_line, &mm, err);
		if (rc != 0 && mm.rc == 0)
			mm.rc = rc;
	}
	gw_strmap *want = gw_strmap_new(nactors ? nactors : 1);
	for (size_t i = 0; i < nactors; i++)
		gw_strmap_put(want, actors[i], i);
	for (size_t i = 0; i < st->nents && mm.rc == 0; i++) {
		gw_entry *e = st->ents[i];
		if (!e->dirty)
			continue;
		gw_mem_remove(&mm, e->lit, e->lit_len);
		size_t ai;
		if (mm.rc == 0 && e->has_req && !e->deleted && gw_strmap_get(want, e->req.actor_id, &ai))
			gw_mem_add_line(&mm, ai, &e->req);
	}
	gw_strmap_free(want);
	/* splice: the snapshot's lines in runs, minus the removed ones, with
	 * the new ones in case_key order */
	for (size_t i = 0; i < nactors && mm.rc == 0; i++) {
		gw_mem_actor *a = &mm.act[i];
		if (a->nremoved > 1)
			qsort(a->removed, a->nremoved, sizeof(*a->removed), gw_size_cmp);
		if (a->nadds > 1)
			qsort(a->adds, a->nadds, sizeof(*a->adds), gw_mem_add_cmp);
		for (size_t j = 0; j < a->nadds && mm.rc == 0; j++) {
			int rc = gw_records_memory_find(r, &a->snap, a->adds[j].key, &a->adds[j].pos, err);
			if (rc < 0)
				mm.rc = rc;
		}
		gw_buf_reserve(&out[i], a->snap.len + 64 * a->nadds);
		size_t cur = 0, ri = 0, aj = 0, n = a->snap.n;
		while (mm.rc == 0) {
			size_t nr = ri < a->nremoved ? a->removed[ri] : n;
			size_t na = aj < a->nadds ? a->adds[aj].pos : n;
			size_t stop = nr < na ? nr : na;
			gw_mem_copy(&out[i], &a->snap, cur, stop);
			cur = stop;
			if (aj < a->nadds && a->adds[aj].pos == cur) {
				gw_buf_append(&out[i], a->adds[aj].line, a->adds[aj].len);
				aj++;
			} else if (ri < a->nremoved && a->removed[ri] == cur) {
				cur++;
				/* (a key is removed once; skip equal entries anyway) */
				while (ri < a->nremoved && a->removed[ri] < cur)
					ri++;
			} else {
				break; /* cur == n, nothing left */
			}
		}
	}
	for (size_t i = 0; i < nactors; i++) {
		free(mm.act[i].removed);
		free(mm.act[i].adds);
	}
	free(mm.act);
	gw_strmap_free(mm.lits);
	gw_arena_free(mm.arena);
	gw_buf_free(&mm.k);
	gw_buf_free(&mm.line);
	if (mm.rc == -ENOTSUP) {
		for (size_t i = 0; i < nactors; i++)
			gw_buf_reset(&out[i]);
		return 0;
	}
	return mm.rc < 0 ? mm.rc : 1;
}

void
gw_state_normalize_service(gw_state *st, uint64_t now)
{
	gw_service_block *s = &st->service;
	if (!s->stopped) {
		s->startup_failure_streak = 0;
		gw_str_trim_inplace(s->last_startup_error);
	}
	if (s->last_transition_unix_ms == 0)
		s->last_transition_unix_ms = now;
	if (!s->stopped && s->last_started_unix_ms == 0)
		s->last_started_unix_ms = s->last_transition_unix_ms;
}

/* ---- loading ------------------------------------------------------------ */

static int
gw_state_bad(gw_state *st, gw_err *err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int
gw_state_bad(gw_state *st, gw_err *err, const char *fmt, ...)
{
	char msg[800];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return gw_err_set(err, -EINVAL, GW_EXIT_DATAERR, "state file %s is corrupt: %s", st->path, msg);
}

static int
gw_state_load_service(gw_state *st, const cJSON *obj, gw_err *err)
{
	gw_service_block *s = &st->service;
	if (!cJSON_IsObject(obj))
		return gw_state_bad(st, err, "service must be an object");
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, "status");
	if (v != NULL) {
		if (!cJSON_IsString(v))
			return gw_state_bad(st, err, "service.status must be a string");
		char low[16];
		gw_str_copy_trim(low, sizeof(low), v->valuestring, GW_STR_LOWER);
		s->stopped = strcmp(low, "stopped") == 0;
	}
	static const char *nums[] = { "startup_attempts", "startup_failure_streak",
		"last_started_unix_ms", "last_stopped_unix_ms", "last_transition_unix_ms" };
	uint64_t *nd[] = { &s->startup_attempts, &s->startup_failure_streak,
		&s->last_started_unix_ms, &s->last_stopped_unix_ms, &s->last_transition_unix_ms };
	for (size_t i = 0; i < 5; i++) {
		v = cJSON_GetObjectItemCaseSensitive(obj, nums[i]);
		if (v != NULL && !gw_json_as_u64(v, nd[i]))
			return gw_state_bad(st, err, "service.%s must be a non-negative integer", nums[i]);
	}
	static const char *strs[] = { "last_startup_error", "last_stop_reason" };
	char *sd[] = { s->last_startup_error, s->last_stop_reason };
	size_t sz[] = { sizeof(s->last_startup_error), sizeof(s->last_stop_reason) };
	for (size_t i = 0; i < 2; i++) {
		v = cJSON_GetObjectItemCaseSensitive(obj, strs[i]);
		if (v == NULL || cJSON_IsNull(v))
			continue;
		if (!cJSON_IsString(v))
			return gw_state_bad(st, err, "service.%s must be a string", strs[i]);
		snprintf(sd[i], sz[i], "%s", v->valuestring);
	}
	return 0;
}

/* The "records" block of a schema 2 file: the store's meta and counters. */
static int
gw_state_load_records(gw_state *st, const cJSON *obj, gw_err *err)
{
	if (!cJSON_IsObject(obj))
		return gw_state_bad(st, err, "records must be an object");
	uint64_t nkeys = 0, nreqs = 0;
	static const char *nums[] = { "generation", "log_bytes", "next_seq", "processed_case_count",
		"request_count" };
	uint64_t *nd[] = { &st->meta.generation, &st->meta.log_bytes, &st->meta.next_seq, &nkeys,
		&nreqs };
	for (size_t i = 0; i < 5; i++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, nums[i]);
		if (v != NULL && !gw_json_as_u64(v, nd[i]))
			return gw_state_bad(st, err, "records.%s must be a non-negative integer", nums[i]);
	}
	if (st->meta.next_seq == 0)
		st->meta.next_seq = 1;
	st->nkeys = (size_t)nkeys;
	st->nreqs = (size_t)nreqs;
	static const char *maps[] = { "method_counts", "status_code_counts", "error_code_counts" };
	gw_count_map *md[] = { &st->method_counts, &st->status_code_counts, &st->error_code_counts };
	for (size_t i = 0; i < 3; i++) {
		const cJSON *m = cJSON_GetObjectItemCaseSensitive(obj, maps[i]);
		if (m == NULL || cJSON_IsNull(m))
			continue;
		if (!cJSON_IsObject(m))
			return gw_state_bad(st, err, "records.%s must be an object", maps[i]);
		for (const cJSON *c = m->child; c != NULL; c = c->next) {
			uint64_t n;
			if (strlen(c->string) >= sizeof(md[i]->items[0].key))
				return gw_state_bad(st, err, "records.%s has a key longer than %zu bytes", maps[i],
				    sizeof(md[i]->items[0].key) - 1);
			if (!gw_json_as_u64(c, &n) || n == 0)
				return gw_state_bad(st, err, "records.%s.%s must be a positive count", maps[i],
				    c->string);
			gw_count_bump(md[i], c->string, n, true);
		}
	}
	return 0;
}

/* A request record of a schema 1 file. */
static int
gw_state_load_request(gw_state *st, const cJSON *obj, size_t idx, gw_err *err)
{
	if (!cJSON_IsObject(obj))
		return gw_state_bad(st, err, "requests[%zu] must be an object", idx);
	const char *key = gw_json_str(obj, "case_key");
	if (key == NULL)
		return gw_state_bad(st, err, "requests[%zu].case_key must be a string", idx);
	gw_request *r = gw_state_upsert_request(st, key);
	static const char *strs[] = { "case_id", "method", "endpoint", "actor_id", "outcome",
		"error_code" };
	const char **sd[] = { &r->case_id, &r->method, &r->endpoint, &r->actor_id, &r->outcome,
		&r->error_code };
	for (size_t i = 0; i < 6; i++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, strs[i]);
		if (v == NULL || cJSON_IsNull(v))
			continue;
		if (!cJSON_IsString(v))
			return gw_state_bad(st, err, "requests[%zu].%s must be a string", idx, strs[i]);
		*sd[i] = gw_arena_strdup(st->arena, v->valuestring);
	}
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, "status_code");
	if (v != NULL && !gw_json_as_u64(v, &r->status_code))
		return gw_state_bad(st, err, "requests[%zu].status_code must be a non-negative integer", idx);
	v = cJSON_GetObjectItemCaseSensitive(obj, "updated_unix_ms");
	if (v != NULL && !gw_json_as_u64(v, &r->updated_unix_ms))
		return gw_state_bad(st, err, "requests[%zu].updated_unix_ms must be a non-negative integer", idx);
	v = cJSON_GetObjectItemCaseSensitive(obj, "response_body");
	if (v != NULL) {
		gw_buf b = GW_BUF_INIT;
		gw_json_canonical(&b, v);
		r->response_body = gw_arena_strndup(st->arena, b.data, b.len);
		gw_buf_free(&b);
	}
	return 0;
}

/* Adds a processed key of a schema 1 file from its JSON string literal text. */
static int
gw_state_load_key(gw_state *st, const char *t, size_t n, size_t idx, gw_err *err)
{
	if (n < 2 || t[0] != '"')
		return gw_state_bad(st, err, "processed_case_keys[%zu] must be a string", idx);
	cJSON *v = cJSON_ParseWithLength(t, n);
	if (!cJSON_IsString(v)) {
		cJSON_Delete(v);
		return gw_state_bad(st, err, "processed_case_keys[%zu] must be a string", idx);
	}
	/* normalise: trim, drop empties, keep the first occurrence */
	gw_str_trim_inplace(v->valuestring);
	if (v->valuestring[0] != '\0')
		gw_state_mark_processed(st, v->valuestring);
	cJSON_Delete(v);
	return 0;
}

static bool
gw_key_special(const char *s)
{
	return strpbrk(s, ":%") != NULL;
}

/*
 * Renames records (and their processed keys) a schema 1 file stores under
 * the unescaped case key of earlier versions to gw_case_key's escaped
 * form.  Only parts holding ':' or '%' differ, so only such records are
 * looked at.  A record whose stored key is neither form (edited by hand)
 * is left alone.  Where two cases had collided on one legacy key, the
 * record belongs to the case written last and the other case runs once
 * more.
 */
static void
gw_state_migrate_keys(gw_state *st)
{
	gw_buf nk = GW_BUF_INIT, lk = GW_BUF_INIT, lit = GW_BUF_INIT;
	size_t n = st->nents;
	for (size_t i = 0; i < n; i++) {
		gw_entry *e = st->ents[i];
		gw_request *r = &e->req;
		if (!e->has_req || e->deleted ||
		    (!gw_key_special(r->method) && !gw_key_special(r->endpoint) &&
		    !gw_key_special(r->case_id)))
			continue;
		gw_buf_reset(&nk);
		gw_buf_reset(&lk);
		gw_case_key(&nk, r->method, r->endpoint, r->case_id, false);
		gw_case_key(&lk, r->method, r->endpoint, r->case_id, true);
		const char *nkey = gw_buf_cstr(&nk);
		if (strcmp(r->case_key, nkey) == 0 || strcmp(r->case_key, gw_buf_cstr(&lk)) != 0)
			continue;
		gw_buf_reset(&lit);
		gw_json_escape(&lit, nkey, nk.len);
		size_t v;
		gw_entry *t = gw_strmap_get(st->touched, gw_buf_cstr(&lit), &v) ? (gw_entry *)v : NULL;
		if (t != NULL && t->has_req)
			continue;
		gw_strmap_del(st->touched, e->lit);
		if (t != NULL) { /* the new key is processed already: it takes the record */
			t->has_req = true;
			t->req = e->req;
			t->req.case_key = gw_arena_strdup(st->arena, nkey);
			t->untallied = e->untallied;
			t->dirty = true;
			if (t->seq == 0)
				t->seq = e->seq;
			else if (e->seq != 0)
				st->nkeys--; /* already there under the new key: drop the old */
			e->deleted = true;
			e->has_req = false;
			e->untallied = false;
		} else {
			e->lit = gw_arena_strndup(st->arena, lit.data, lit.len);
			e->lit_len = lit.len;
			r->case_key = gw_arena_strdup(st->arena, nkey);
			gw_strmap_put(st->touched, e->lit, (size_t)e);
		}
	}
	gw_buf_free(&nk);
	gw_buf_free(&lk);
	gw_buf_free(&lit);
}

static int
gw_state_parse(gw_state *st, const char *text, size_t len, bool posture_only, gw_err *err)
{
	gw_json_scan s, a;
	const char *key;
	size_t klen, vs, ve;
	int rc;
	char what[64];
	snprintf(what, sizeof(what), "state");
	if (len == 0)
		return gw_state_bad(st, err, "file is empty");
	if (memchr(text, '\0', len) != NULL)
		return gw_state_bad(st, err, "file contains a NUL byte");
	if (gw_json_scan_open(&s, text, len, 0, '{', what, err) != 0)
		return gw_state_bad(st, err, "%s", err->msg);
	while ((rc = gw_json_scan_next(&s, &key, &klen, &vs, &ve, what, err)) == 1) {
#define GW_IS(k) (klen == sizeof(k) - 1 && memcmp(key, k, klen) == 0)
		if (GW_IS("processed_case_keys") || GW_IS("requests")) {
			bool keys = GW_IS("processed_case_keys");
			if (text[vs] == 'n' && ve - vs == 4 && memcmp(text + vs, "null", 4) == 0)
				continue;
			if (posture_only) {
				if (text[vs] != '[')
					return gw_state_bad(st, err, "%s must be an array",
					    keys ? "processed_case_keys" : "requests");
				continue;
			}
			if (gw_json_scan_open(&a, text, ve, vs, '[', what, err) != 0)
				return gw_state_bad(st, err, "%s must be an array",
				    keys ? "processed_case_keys" : "requests");
			/* a schema 1 file: its data is read into memory, and the
			 * first save migrates it into the store */
			st->legacy = true;
			size_t es, ee, idx = 0;
			while ((rc = gw_json_scan_next(&a, NULL, NULL, &es, &ee, what, err)) == 1) {
				if (keys) {
					if (gw_state_load_key(st, text + es, ee - es, idx, err) != 0)
						return -EINVAL;
				} else {
					cJSON *obj = cJSON_ParseWithLength(text + es, ee - es);
					if (obj == NULL)
						return gw_state_bad(st, err, "requests[%zu] is not valid JSON", idx);
					rc = gw_state_load_request(st, obj, idx, err);
					cJSON_Delete(obj);
					if (rc != 0)
						return rc;
				}
				idx++;
			}
			if (rc < 0)
				return gw_state_bad(st, err, "%s", err->msg);
			continue;
		}
		bool is_schema = GW_IS("schema_version"), is_health = GW_IS("health"),
		     is_guard = GW_IS("guardrail"), is_service = GW_IS("service"),
		     is_records = GW_IS("records");
#undef GW_IS
		if (!is_schema && !is_health && !is_guard && !is_service && !is_records)
			continue;
		cJSON *v = cJSON_ParseWithLength(text + vs, ve - vs);
		if (v == NULL)
			return gw_state_bad(st, err, "invalid JSON value at byte %zu", vs);
		rc = 0;
		if (is_schema) {
			uint64_t schema;
			if (!gw_json_as_u64(v, &schema))
				rc = gw_state_bad(st, err, "schema_version must be a non-negative integer");
			else if (schema != GW_STATE_SCHEMA && schema != GW_STATE_SCHEMA_LEGACY)
				rc = gw_err_set(err, -EPROTONOSUPPORT, GW_EXIT_DATAERR,
				    "unsupported state schema %llu in %s (expected %d or %d); refusing to touch it",
				    (unsigned long long)schema, st->path, GW_STATE_SCHEMA_LEGACY, GW_STATE_SCHEMA);
		} else if (is_health) {
			if (gw_health_from_json(v, &st->health, "health", err) != 0)
				rc = gw_state_bad(st, err, "%s", err->msg);
		} else if (is_guard) {
			if (gw_guardrail_from_json(v, &st->guardrail, "guardrail", err) != 0)
				rc = gw_state_bad(st, err, "%s", err->msg);
		} else if (is_records) {
			if (!cJSON_IsNull(v))
				rc = gw_state_load_records(st, v, err);
		} else if (!cJSON_IsNull(v)) {
			rc = gw_state_load_service(st, v, err);
		}
		cJSON_Delete(v);
		if (rc != 0)
			return rc;
	}
	if (rc < 0 || gw_json_scan_finish(&s, what, err) != 0)
		return gw_state_bad(st, err, "%s", err->msg);
	if (st->legacy) {
		/* the file's own data is the whole truth: no store behind it */
		gw_counts_clear(st);
		st->meta = (gw_records_meta){ 0, 0, st->meta.next_seq };
		size_t nkeys = 0, nreqs = 0;
		gw_state_migrate_keys(st);
		for (size_t i = 0; i < st->nents; i++) {
			const gw_entry *e = st->ents[i];
			nkeys += !e->deleted && e->seq != 0;
			nreqs += !e->deleted && e->has_req;
		}
		st->nkeys = nkeys;
		st->nreqs = nreqs;
		gw_state_settle(st);
	}
	return 0;
}

/* Records a recovery in the event log. */
static void
gw_state_recovered_event(gw_state *st, uint64_t now, const char *moved)
{
	gw_buf line = GW_BUF_INIT;
	gw_jw w;
	gw_jw_init(&w, &line, false);
	gw_jw_obj_begin(&w);
	gw_jw_ku64(&w, "timestamp_unix_ms", now);
	gw_jw_kstr(&w, "kind", "state_recovered");
	gw_jw_kstr(&w, "state_path", st->path);
	gw_jw_kstr(&w, "corrupt_path", moved);
	gw_jw_kstr(&w, "detail", st->notice);
	gw_jw_obj_end(&w);
	gw_events_append(st->dir, line.data, line.len, NULL);
	gw_buf_free(&line);
}

/* Removes snapshots other than the current one (a compaction killed
 * before its state.json was saved leaves one).  The caller holds the lock. */
static void
gw_state_remove_stale_snapshots(gw_state *st)
{
	DIR *d = opendir(st->dir);
	if (d == NULL)
		return;
	char cur[64];
	snprintf(cur, sizeof(cur), "records-%llu.snap", (unsigned long long)st->meta.generation);
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		const char *n = de->d_name;
		size_t len = strlen(n);
		if (strncmp(n, "records-", 8) != 0 || len < 14 || strcmp(n + len - 5, ".snap") != 0 ||
		    strspn(n + 8, "0123456789") != len - 13 || strcmp(n, cur) == 0)
			continue;
		char *p = gw_path_join(st->dir, n);
		unlink(p);
		free(p);
	}
	closedir(d);
}

/* Writers: opens the store; a damaged one is moved aside (the keys and
 * records are lost, as with a corrupt state.json) and the counters start
 * again from zero. */
static int
gw_state_open_store_write(gw_state *st, uint64_t now, gw_err *err)
{
	gw_state_remove_stale_snapshots(st);
	int rc = gw_records_open(st->dir, &st->meta, true, &st->store, err);
	if (rc != -EINVAL)
		return rc;
	char detail[600];
	snprintf(detail, sizeof(detail), "%s", err->msg);
	char *paths[2] = { st->meta.generation > 0 ? gw_records_snap_path(st->dir, st->meta.generation) :
		NULL, gw_path_join(st->dir, GW_RECORDS_LOG_FILE) };
	char moved[1024] = "";
	for (size_t i = 0; i < 2; i++) {
		if (paths[i] == NULL || !gw_fs_exists(paths[i]))
			continue;
		char to[1024];
		snprintf(to, sizeof(to), "%s.corrupt-%llu", paths[i], (unsigned long long)now);
		if (rename(paths[i], to) == -1) {
			int e = errno;
			gw_err_set(err, -e, GW_EXIT_CANTCREAT,
			    "records file %s is corrupt and cannot be moved aside: %s", paths[i], strerror(e));
			free(paths[0]);
			free(paths[1]);
			return -e;
		}
		if (moved[0] == '\0')
			snprintf(moved, sizeof(moved), "%s", to);
	}
	free(paths[0]);
	free(paths[1]);
	gw_err_clear(err);
	gw_counts_clear(st);
	st->meta = (gw_records_meta){ 0, 0, 1 };
	snprintf(st->notice, sizeof(st->notice), "%s; moved it to %s and started the records afresh",
	    detail, moved[0] ? moved : "(nothing to move)");
	snprintf(st->corrupt_path, sizeof(st->corrupt_path), "%s", moved);
	gw_state_recovered_event(st, now, moved);
	return gw_records_open(st->dir, &st->meta, true, &st->store, err);
}

int
gw_state_load(const char *dir, unsigned mode, gw_state **out, gw_err *err)
{
	uint64_t now = gw_clock_unix_ms();
	gw_state *st = gw_state_new(dir);
	gw_state_defaults(st, now);
	st->write = (mode & GW_STATE_WRITE) != 0;
	*out = NULL;
	if (mode & GW_STATE_WRITE)
		gw_fs_remove_stale_temps(dir); /* the caller holds the lock */
	gw_buf text = GW_BUF_INIT;
	int rc = gw_fs_read_file(st->path, &text, err);
	if (rc == -ENOENT) {
		gw_buf_free(&text);
		if (mode & GW_STATE_READ_EXISTING) {
			gw_err_set(err, -ENOENT, GW_EXIT_NOINPUT,
			    "state file %s does not exist (run --gateway-service-start or --gateway-contract-runner first)",
			    st->path);
			gw_state_free(st);
			return -ENOENT;
		}
		gw_err_clear(err);
		if ((mode & GW_STATE_WRITE) && gw_fs_is_dir(dir) &&
		    (rc = gw_state_open_store_write(st, now, err)) != 0) {
			gw_state_free(st);
			return rc;
		}
		*out = st;
		return 0;
	}
	if (rc != 0) {
		gw_buf_free(&text);
		gw_state_free(st);
		return rc;
	}
	rc = gw_state_parse(st, gw_buf_cstr(&text), text.len, (mode & GW_STATE_READ_POSTURE) != 0, err);
	gw_buf_free(&text);
	if (rc == 0) {
		st->existed = true;
		if ((mode & GW_STATE_WRITE) && !st->legacy &&
		    (rc = gw_state_open_store_write(st, now, err)) != 0) {
			gw_state_free(st);
			return rc;
		}
		*out = st;
		return 0;
	}
	if (rc != -EINVAL || !(mode & GW_STATE_WRITE)) {
		gw_state_free(st);
		return rc;
	}
	/* Writer with a corrupt file: move it aside, never overwrite it. */
	snprintf(st->corrupt_path, sizeof(st->corrupt_path), "%s.corrupt-%llu", st->path,
	    (unsigned long long)now);
	if (rename(st->path, st->corrupt_path) == -1) {
		int e = errno;
		gw_err_set(err, -e, GW_EXIT_CANTCREAT, "state file %s is corrupt and cannot be moved aside: %s",
		    st->path, strerror(e));
		gw_state_free(st);
		return -e;
	}
	snprintf(st->notice, sizeof(st->notice), "%s; moved it to %s and started fresh", err->msg,
	    st->corrupt_path);
	gw_err_clear(err);
	gw_state_clear_data(st);
	gw_state_defaults(st, now);
	gw_state_recovered_event(st, now, st->corrupt_path);
	/* the store state.json described is unreachable now: start it afresh
	 * (the next compaction or append overwrites the old files) */
	gw_state_remove_stale_snapshots(st);
	gw_records_truncate_log(dir, 0);
	rc = gw_records_open(st->dir, &st->meta, true, &st->store, err);
	if (rc != 0) {
		gw_state_free(st);
		return rc;
	}
	*out = st;
	return 0;
}

/* ---- saving ------------------------------------------------------------- */

static void
gw_state_write_service(gw_jw *w, const gw_service_block *s)
{
	gw_jw_obj_begin(w);
	gw_jw_kstr(w, "status", s->stopped ? "stopped" : "running");
	gw_jw_ku64(w, "startup_attempts", s->startup_attempts);
	gw_jw_ku64(w, "startup_failure_streak", s->startup_failure_streak);
	gw_jw_kstr(w, "last_startup_error", s->last_startup_error);
	gw_jw_ku64(w, "last_started_unix_ms", s->last_started_unix_ms);
	gw_jw_ku64(w, "last_stopped_unix_ms", s->last_stopped_unix_ms);
	gw_jw_ku64(w, "last_transition_unix_ms", s->last_transition_unix_ms);
	gw_jw_kstr(w, "last_stop_reason", s->last_stop_reason);
	gw_jw_obj_end(w);
}

static void
gw_state_write_counts(gw_jw *w, const char *k, const gw_count_map *m)
{
	gw_jw_key(w, k);
	gw_jw_obj_begin(w);
	for (size_t i = 0; i < m->n; i++)
		gw_jw_ku64(w, m->items[i].key, m->items[i].count);
	gw_jw_obj_end(w);
}

/* The posture members every form of the state carries, in the reference's
 * order: health, guardrail, service. */
static void
gw_state_write_posture(gw_jw *w, const gw_state *st)
{
	gw_jw_key(w, "health");
	gw_health_write_json(w, &st->health);
	gw_jw_key(w, "guardrail");
	gw_guardrail_write_json(w, &st->guardrail);
	gw_jw_key(w, "service");
	gw_state_write_service(w, &st->service);
}

static int
gw_state_write_json(gw_state *st, gw_err *err)
{
	gw_buf out = GW_BUF_INIT;
	gw_jw w;
	gw_jw_init(&w, &out, true);
	gw_jw_obj_begin(&w);
	gw_jw_ku64(&w, "schema_version", GW_STATE_SCHEMA);
	gw_jw_key(&w, "records");
	gw_jw_obj_begin(&w);
	gw_jw_ku64(&w, "generation", st->meta.generation);
	gw_jw_ku64(&w, "log_bytes", st->meta.log_bytes);
	gw_jw_ku64(&w, "next_seq", st->meta.next_seq);
	gw_jw_ku64(&w, "processed_case_count", st->nkeys);
	gw_jw_ku64(&w, "request_count", st->nreqs);
	gw_state_write_counts(&w, "method_counts", &st->method_counts);
	gw_state_write_counts(&w, "status_code_counts", &st->status_code_counts);
	gw_state_write_counts(&w, "error_code_counts", &st->error_code_counts);
	gw_jw_obj_end(&w);
	gw_state_write_posture(&w, st);
	gw_jw_obj_end(&w);
	int rc = gw_fs_write_atomic(st->path, out.data, out.len, err);
	gw_buf_free(&out);
	return rc;
}

/* Compaction's skip: the store's line for a key the save rewrites. */
static bool
gw_state_skip_dirty(void *ctx, const char *lit, size_t len)
{
	gw_walk *w = ctx;
	gw_buf_reset(&w->k);
	gw_buf_append(&w->k, lit, len);
	size_t v;
	return gw_strmap_get(w->st->touched, gw_buf_cstr(&w->k), &v) && ((gw_entry *)v)->dirty;
}

int
gw_state_save(gw_state *st, gw_err *err)
{
	gw_state_settle(st);
	if (st->store_rc != 0)
		return gw_state_store_error(st, err);
	int rc = gw_fs_mkdirs(st->dir, err);
	if (rc != 0)
		return rc;
	gw_buf lines = GW_BUF_INIT;
	for (size_t i = 0; i < st->nents; i++) {
		const gw_entry *e = st->ents[i];
		if (e->dirty && !e->deleted)
			gw_records_format_line(&lines, e->lit, e->lit_len, e->seq, e->has_req ? &e->req : NULL);
	}
	gw_records_meta old = st->meta;
	bool compacted = false;
	if (st->legacy) {
		/* migration: everything in memory becomes generation old+1 */
		gw_records_meta empty = { 0, 0, st->meta.next_seq };
		gw_records_close(st->store);
		st->store = NULL;
		gw_state_remove_stale_snapshots(st);
		rc = gw_records_open(st->dir, &empty, true, &st->store, err);
		if (rc == 0)
			rc = gw_records_compact(st->store, NULL, NULL, lines.data, lines.len, &st->meta, err);
		compacted = rc == 0;
	} else if (lines.len > 0) {
		if (gw_state_store(st) == NULL)
			rc = gw_state_store_error(st, err);
		uint64_t limit = rc == 0 ? gw_records_snapshot_bytes(st->store) / GW_STATE_LOG_SHARE : 0;
		if (limit < GW_STATE_LOG_MIN)
			limit = GW_STATE_LOG_MIN;
		/* a version 1 snapshot (written before snapshots kept MEMORY.md
		 * lines) is rewritten by the first save after an upgrade, once,
		 * so cycles stop rendering every record of their actors */
		if (rc == 0 && (st->meta.log_bytes + lines.len > limit || st->compact_next ||
		    !gw_records_has_memory(st->store))) {
			gw_walk w = { .st = st };
			rc = gw_records_compact(st->store, gw_state_skip_dirty, &w, lines.data, lines.len,
			    &st->meta, err);
			gw_buf_free(&w.k);
			compacted = rc == 0;
		} else if (rc == 0) {
			rc = gw_records_append(st->store, lines.data, lines.len, &st->meta, err);
		}
	}
	gw_buf_free(&lines);
	if (rc == 0)
		rc = gw_state_write_json(st, err); /* commits the append or the new generation */
	if (rc != 0) {
		/* nothing is committed: undo what this save wrote */
		if (compacted) {
			char *p = gw_records_snap_path(st->dir, st->meta.generation);
			unlink(p);
			free(p);
		} else if (st->meta.log_bytes != old.log_bytes) {
			gw_records_truncate_log(st->dir, old.log_bytes);
		}
		st->meta = old;
		return rc;
	}
	if (compacted) {
		gw_records_retire(st->dir, old.generation);
		gw_records_close(st->store);
		st->store = NULL;
		st->legacy = false;
		if (st->write)
			st->store_rc = gw_records_open(st->dir, &st->meta, true, &st->store, &st->store_err);
	} else if (st->store != NULL && st->meta.log_bytes != old.log_bytes) {
		/* the open store does not see its own append: reopen it */
		gw_records_close(st->store);
		st->store = NULL;
	}
	for (size_t i = 0; i < st->nents; i++)
		st->ents[i]->dirty = false;
	st->compact_next = false;
	return 0;
}

int
gw_state_save_records(gw_state *st, gw_err *err)
{
	gw_state_settle(st);
	if (st->store_rc != 0)
		return gw_state_store_error(st, err);
	size_t n = 0;
	for (size_t i = 0; i < st->nents; i++)
		n += st->ents[i]->dirty && !st->ents[i]->deleted;
	if (n == 0)
		return 0;
	if (st->rstore == NULL)
		return gw_err_set(err, -EINVAL, GW_EXIT_SOFTWARE, "the state %s has no records store",
		    st->path);
	gw_store_record *recs = gw_xmalloc(n * sizeof(*recs));
	gw_buf lines = GW_BUF_INIT;
	size_t *offs = gw_xmalloc(n * sizeof(*offs));
	n = 0;
	/* each record in the file store's line format, its object cut out */
	for (size_t i = 0; i < st->nents; i++) {
		const gw_entry *e = st->ents[i];
		if (!e->dirty || e->deleted)
			continue;
		offs[n] = lines.len;
		gw_records_format_line(&lines, e->lit, e->lit_len, e->seq, e->has_req ? &e->req : NULL);
		recs[n++] = (gw_store_record){ .key = e->req.case_key, .seq = e->seq,
			.actor = e->has_req ? e->req.actor_id : "" };
	}
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		size_t end = i + 1 < n ? offs[i + 1] : lines.len;
		gw_records_line l;
		if (!gw_records_parse_line(lines.data + offs[i], end - offs[i] - 1, &l))
			rc = gw_err_set(err, -EINVAL, GW_EXIT_SOFTWARE, "cannot format the record of key %s",
			    recs[i].key);
		else if (!(l.rec_len == 4 && memcmp(l.rec, "null", 4) == 0)) {
			recs[i].rec = l.rec;
			recs[i].rec_len = l.rec_len;
		}
	}
	if (rc == 0)
		rc = gw_store_records_put(st->rstore, recs, n, err);
	if (rc == 0)
		for (size_t i = 0; i < st->nents; i++)
			st->ents[i]->dirty = false;
	free(recs);
	free(offs);
	gw_buf_free(&lines);
	return rc;
}

/* ---- the posture as a document (stores whose posture is its own) ------- */

int
gw_state_load_text(const char *label, const char *text, size_t len, unsigned mode,
    gw_state **out, gw_err *err)
{
	*out = NULL;
	gw_state *st = gw_state_new("");
	free(st->path);
	st->path = gw_xstrdup(label);
	gw_state_defaults(st, gw_clock_unix_ms());
	if (text == NULL) {
		if (mode & GW_STATE_READ_EXISTING) {
			gw_err_set(err, -ENOENT, GW_EXIT_NOINPUT,
			    "state %s does not exist (run --gateway-service-start or --gateway-contract-runner first)",
			    st->path);
			gw_state_free(st);
			return -ENOENT;
		}
		*out = st;
		return 0;
	}
	int rc = gw_state_parse(st, text, len, true, err);
	if (rc != 0) {
		gw_state_free(st);
		return rc;
	}
	st->existed = true;
	*out = st;
	return 0;
}

void
gw_state_render_posture(const gw_state *st, gw_buf *out)
{
	gw_jw w;
	gw_jw_init(&w, out, true);
	gw_jw_obj_begin(&w);
	gw_jw_ku64(&w, "schema_version", GW_STATE_SCHEMA);
	gw_jw_key(&w, "records");
	gw_jw_obj_begin(&w);
	gw_jw_ku64(&w, "next_seq", st->meta.next_seq);
	gw_jw_ku64(&w, "processed_case_count", st->nkeys);
	gw_jw_ku64(&w, "request_count", st->nreqs);
	gw_state_write_counts(&w, "method_counts", &st->method_counts);
	gw_state_write_counts(&w, "status_code_counts", &st->status_code_counts);
	gw_state_write_counts(&w, "error_code_counts", &st->error_code_counts);
	gw_jw_obj_end(&w);
	gw_state_write_posture(&w, st);
	gw_jw_obj_end(&w);
}
