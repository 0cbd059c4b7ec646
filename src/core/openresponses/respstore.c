/*
 * respstore.c - stored responses: one JSON file per response in a state
 * directory, or one row per response in PostgreSQL (fleet mode).  This is
 * the one place that picks the backend; both hold the same record, and a
 * row is rendered into the record text a file holds, so one parser and one
 * check read either.
 *
 * Ids are checked against a strict alphabet before they become file names,
 * so a request can never name a path outside the responses directory.
 * Records are written once into a fresh temp file and renamed into place,
 * and hold only their own turn plus the id of the response they continue;
 * gw_respstore_chain_load walks those links back to rebuild a context.  A
 * walk keeps the ids it has seen (a loop is an error, never a hang),
 * stops once it holds enough items, and parses of each record only the
 * members it reads (the response's output, not the rest of it).  Given a
 * walk cache (respcache.h), it reads a cached record from memory once the
 * store shows the record is still there (a stat, or one query for the
 * cached part of the chain), so deletion cuts a cached chain as it cuts
 * any.  This module never holds a lock (the cache has its own): records
 * are immutable once renamed into place.
 */
#include "core/openresponses/respstore.h"
#include "core/base/buf.h"
#include "core/base/fs.h"
#include "core/base/json.h"
#include "core/base/mem.h"
#include "core/base/strmap.h"
#include "core/openresponses/respcache.h"
#include "core/openresponses/responses.h"
#include "core/openresponses/session.h"
#include "core/store/store.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define GW_RESPSTORE_DIR "openresponses/responses"

bool
gw_respstore_id_ok(const char *id)
{
	size_t n = 0;
	for (; id && id[n]; n++)
		if (!isalnum((unsigned char)id[n]) && id[n] != '_' && id[n] != '-')
			return false;
	return n > 0 && n <= 128;
}

static char *
gw_respstore_path(const char *state_dir, const char *id, const char *suffix)
{
	gw_buf b = GW_BUF_INIT;
	gw_buf_printf(&b, "%s/" GW_RESPSTORE_DIR "/%s%s", state_dir, id, suffix);
	return gw_buf_detach(&b);
}

static int
gw_respstore_create(const char *path, gw_err *err)
{
	/* a fresh file, never through a link a stale temp name could be */
	unlink(path);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0) {
		int e = errno;
		return gw_err_set(err, -e, GW_EXIT_CANTCREAT, "cannot create %s: %s", path,
		    strerror(e));
	}
	return fd;
}

/* Renders a record's text: the same bytes for both backends, so one parser
 * and one check read either.  items and resp are JSON texts. */
static void
gw_respstore_render(gw_buf *b, const char *id, const char *session_key, const char *previous_id,
    uint64_t history_items, const char *items, size_t items_len, const char *resp, size_t resp_len)
{
	gw_jw w;
	gw_jw_init(&w, b, false);
	gw_jw_obj_begin(&w);
	gw_jw_kstr(&w, "id", id);
	gw_jw_kstr(&w, "session_key", session_key ? session_key : "");
	if (previous_id != NULL) {
		gw_jw_kstr(&w, "previous_response_id", previous_id);
		gw_jw_ku64(&w, "history_items", history_items);
	}
	gw_jw_key(&w, "input_items");
	gw_jw_raw_json(&w, items, items_len);
	gw_jw_key(&w, "response");
	gw_jw_raw_json(&w, resp, resp_len);
	gw_jw_obj_end(&w);
}

/* The record's place as errors name it: its file, or
 * "postgresql:<database>/<deployment>/responses/<id>". */
static char *
gw_respstore_place(gw_store *st, const char *id, const char *suffix)
{
	if (gw_store_kind_of(st) == GW_STORE_FILES)
		return gw_respstore_path(gw_store_dir(st), id, suffix);
	gw_buf b = GW_BUF_INIT;
	gw_buf_printf(&b, "%s/responses/%s", gw_store_label(st), id);
	return gw_buf_detach(&b);
}

/* recs as rows, in one statement (gw_store_response_save_many): each
 * record's input items printed compact, its response copied as text; all
 * freed here, the records stay the caller's. */
static int
gw_respstore_save_db(gw_store *st, const gw_respstore_rec *const *recs, size_t n, gw_err *err)
{
	gw_store_response *rows = gw_xcalloc(n, sizeof(*rows));
	gw_buf *items = gw_xcalloc(n, sizeof(*items));
	for (size_t i = 0; i < n; i++) {
		const gw_respstore_rec *rec = recs[i];
		gw_jw w;
		gw_jw_init(&w, &items[i], false);
		gw_jw_cjson(&w, rec->input_items);
		/* response_json is a rendered buffer: text up to response_len */
		rows[i] = (gw_store_response){
			.id = (char *)rec->id,
			.session_key = (char *)(rec->session_key ? rec->session_key : ""),
			.previous_id = (char *)rec->previous_id,
			.history_items = rec->previous_id != NULL ? rec->history_items : 0,
			.input_items = (char *)gw_buf_cstr(&items[i]),
			.response = gw_xstrndup(rec->response_json, rec->response_len),
		};
	}
	int rc = gw_store_response_save_many(st, rows, n, err);
	for (size_t i = 0; i < n; i++) {
		gw_buf_free(&items[i]);
		free(rows[i].response);
	}
	free(items);
	free(rows);
	return rc;
}

/* The ids rec names, checked before anything is written. */
static int
gw_respstore_rec_ok(const gw_respstore_rec *rec, gw_err *err)
{
	if (!gw_respstore_id_ok(rec->id))
		return gw_err_set(err, -EINVAL, GW_EXIT_SOFTWARE, "invalid response id '%s'", rec->id);
	if (rec->previous_id != NULL && !gw_respstore_id_ok(rec->previous_id))
		return gw_err_set(err, -EINVAL, GW_EXIT_SOFTWARE, "invalid previous response id '%s'",
		    rec->previous_id);
	return 0;
}

int
gw_respstore_save_many(gw_store *st, const gw_respstore_rec *const *recs, size_t n, gw_err *err)
{
	for (size_t i = 0; i < n; i++) {
		int rc = gw_respstore_rec_ok(recs[i], err);
		if (rc != 0)
			return rc;
	}
	if (gw_store_kind_of(st) != GW_STORE_FILES)
		return n == 0 ? 0 : gw_respstore_save_db(st, recs, n, err);
	for (size_t i = 0; i < n; i++) {
		int rc = gw_respstore_save(st, recs[i], err);
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* Writes record text b as <state_dir>/responses/<id>.json: one write into
 * a new temp file, renamed over the place (not fsynced: see the top); its
 * mtime set to created_ms when that is not 0. */
static int
gw_respstore_write_file(const char *state_dir, const char *id, const gw_buf *b,
    uint64_t created_ms, gw_err *err)
{
	char *tmp = gw_respstore_path(state_dir, id, ".json.tmp");
	char *path = gw_respstore_path(state_dir, id, ".json");
	/* (re)made and checked each time: a link in its place is refused */
	int fd = gw_fs_mkdirs_under(state_dir, GW_RESPSTORE_DIR, NULL, err);
	if (fd == 0)
		fd = gw_respstore_create(tmp, err);
	int rc = fd < 0 ? fd : 0;
	if (fd >= 0) {
		rc = gw_fs_write_all(fd, b->data, b->len, tmp, err);
		if (rc == 0 && created_ms != 0) {
			struct timespec ts[2];
			ts[0].tv_sec = ts[1].tv_sec = (time_t)(created_ms / 1000);
			ts[0].tv_nsec = ts[1].tv_nsec = (long)(created_ms % 1000) * 1000000L;
			if (futimens(fd, ts) != 0)
				rc = gw_err_set(err, -errno, GW_EXIT_IOERR, "cannot set the time of %s: %s",
				    tmp, strerror(errno));
		}
		if (close(fd) != 0 && rc == 0) /* (NFS reports a failed write here) */
			rc = gw_err_set(err, -errno, GW_EXIT_IOERR, "cannot write %s: %s", tmp,
			    strerror(errno));
		if (rc == 0 && rename(tmp, path) != 0) {
			int e = errno;
			rc = gw_err_set(err, -e, GW_EXIT_CANTCREAT, "cannot rename %s: %s", tmp,
			    strerror(e));
		}
		if (rc != 0)
			unlink(tmp);
	}
	free(tmp);
	free(path);
	return rc;
}

int
gw_respstore_save(gw_store *st, const gw_respstore_rec *rec, gw_err *err)
{
	const char *id = rec->id;
	int vrc = gw_respstore_rec_ok(rec, err);
	if (vrc != 0)
		return vrc;
	if (gw_store_kind_of(st) != GW_STORE_FILES)
		return gw_respstore_save_db(st, &rec, 1, err);
	gw_buf items = GW_BUF_INIT, b = GW_BUF_INIT;
	gw_jw w;
	gw_jw_init(&w, &items, false);
	gw_jw_cjson(&w, rec->input_items);
	gw_respstore_render(&b, id, rec->session_key, rec->previous_id, rec->history_items,
	    items.data ? items.data : "[]", items.len, rec->response_json, rec->response_len);
	gw_buf_free(&items);
	gw_buf_putc(&b, '\n');
	int rc = gw_respstore_write_file(gw_store_dir(st), id, &b, 0, err);
	gw_buf_free(&b);
	return rc;
}

/* Checks one stored item: the normalized forms responses.c writes, with
 * every member the providers and the API read of the right type.  On
 * failure, why says what is wrong. */
static bool
gw_respstore_item_ok(const cJSON *it, char *why, size_t n)
{
	const char *type = cJSON_IsObject(it) ? gw_json_str(it, "type") : NULL;
	if (type == NULL) {
		snprintf(why, n, "is not an object with a string type");
		return false;
	}
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(it, "id");
	if (id != NULL && !cJSON_IsString(id)) {
		snprintf(why, n, "has an id that is not a string");
		return false;
	}
	if (strcmp(type, "message") == 0) {
		const cJSON *content = cJSON_GetObjectItemCaseSensitive(it, "content");
		if (gw_json_str(it, "role") == NULL || !cJSON_IsArray(content)) {
			snprintf(why, n, "is a message without a string role and a content array");
			return false;
		}
		for (const cJSON *p = content->child; p != NULL; p = p->next) {
			const char *pt = cJSON_IsObject(p) ? gw_json_str(p, "type") : NULL;
			bool ok = pt != NULL;
			if (ok && strcmp(pt, "input_image") == 0)
				ok = gw_json_str(p, "image_url") != NULL;
			else if (ok && strcmp(pt, "refusal") == 0)
				ok = gw_json_str(p, "refusal") != NULL;
			else if (ok)
				ok = gw_json_str(p, "text") != NULL;
			if (!ok) {
				snprintf(why, n, "has a content part without its type and string value");
				return false;
			}
		}
		return true;
	}
	if (strcmp(type, "function_call") == 0) {
		if (gw_json_str(it, "call_id") != NULL && gw_json_str(it, "name") != NULL &&
		    gw_json_str(it, "arguments") != NULL)
			return true;
		snprintf(why, n, "is a function_call without string call_id, name and arguments");
		return false;
	}
	if (strcmp(type, "function_call_output") == 0) {
		if (gw_json_str(it, "call_id") != NULL && gw_json_str(it, "output") != NULL)
			return true;
		snprintf(why, n, "is a function_call_output without string call_id and output");
		return false;
	}
	snprintf(why, n, "has an unknown type '%.40s'", type);
	return false;
}

/* Checks a whole record as loaded; 0 or -EINVAL with err naming the path
 * and what is wrong. */
static int
gw_respstore_check(const cJSON *root, const char *path, gw_err *err)
{
	const cJSON *resp = cJSON_GetObjectItemCaseSensitive(root, "response");
	const cJSON *items = cJSON_GetObjectItemCaseSensitive(root, "input_items");
	const cJSON *key = cJSON_GetObjectItemCaseSensitive(root, "session_key");
	if (!cJSON_IsObject(root) || !cJSON_IsObject(resp) || !cJSON_IsArray(items) ||
	    (key != NULL && !cJSON_IsString(key)))
		return gw_err_set(err, -EINVAL, GW_EXIT_DATAERR,
		    "%s is not a stored response (expected an object with input_items, response and a string session_key)",
		    path);
	const cJSON *prev = cJSON_GetObjectItemCaseSensitive(root, "previous_response_id");
	const cJSON *hist = cJSON_GetObjectItemCaseSensitive(root, "history_items");
	uint64_t nhist;
	if (prev != NULL && (!cJSON_IsString(prev) || !gw_respstore_id_ok(prev->valuestring)))
		return gw_err_set(err, -EINVAL, GW_EXIT_DATAERR,
		    "%s: previous_response_id is not a response id", path);
	if (hist != NULL && (prev == NULL || !gw_json_as_u64(hist, &nhist)))
		return gw_err_set(err, -EINVAL, GW_EXIT_DATAERR,
		    "%s: history_items is not a count after a previous_response_id", path);
	const cJSON *out = cJSON_GetObjectItemCaseSensitive(resp, "output");
	if (out != NULL && !cJSON_IsArray(out))
		return gw_err_set(err, -EINVAL, GW_EXIT_DATAERR, "%s: response.output is not an array", path);
	const cJSON *lists[2] = { items, out };
	const char *names[2] = { "input_items", "response.output" };
	for (int l = 0; l < 2; l++) {
		size_t i = 0;
		for (const cJSON *it = lists[l] ? lists[l]->child : NULL; it != NULL; it = it->next, i++) {
			char why[128];
			if (!gw_respstore_item_ok(it, why, sizeof(why)))
				return gw_err_set(err, -EINVAL, GW_EXIT_DATAERR, "%s: %s[%zu] %s", path,
				    names[l], i, why);
		}
	}
	return 0;
}

/* The members of a record text (n bytes) a chain walk reads, each parsed
 * on its own: id, session_key, previous_response_id, history_items,
 * input_items, and of the response object only its output (the rest of a
 * ResponseResource, most of the bytes, is scanned past, never built).
 * NULL with err set (naming path) when the text is not an object, a
 * member read is not JSON, or the scan fails. */
/* True when the raw (still escaped) key of klen bytes, as the scanner
 * gives it between its quotes, names name: an escaped key is decoded as
 * cJSON decodes it for a full load, so both read the same members. */
static bool
gw_respstore_key_is(const char *key, size_t klen, const char *name)
{
	if (memchr(key, '\\', klen) == NULL)
		return klen == strlen(name) && memcmp(key, name, klen) == 0;
	cJSON *k = cJSON_ParseWithLength(key - 1, klen + 2);
	bool is = cJSON_IsString(k) && strcmp(k->valuestring, name) == 0;
	cJSON_Delete(k);
	return is;
}

static cJSON *
gw_respstore_parse_lean(const char *t, size_t n, const char *path, gw_err *err)
{
	static const char *const members[] = { "id", "session_key", "previous_response_id",
		"history_items", "input_items" };
	gw_json_scan s, r;
	const char *key;
	size_t klen, vs, ve;
	if (gw_json_scan_open(&s, t, n, 0, '{', path, err) != 0)
		return NULL;
	cJSON *root = cJSON_CreateObject();
	int rc;
	while ((rc = gw_json_scan_next(&s, &key, &klen, &vs, &ve, path, err)) == 1) {
		if (gw_respstore_key_is(key, klen, "response")) {
			if (t[vs] != '{') {
				/* not an object: gw_respstore_check refuses it */
				cJSON_AddItemToObject(root, "response", cJSON_CreateNull());
				continue;
			}
			cJSON *resp = cJSON_CreateObject();
			cJSON_AddItemToObject(root, "response", resp);
			size_t es, ee;
			if ((rc = gw_json_scan_open(&r, t, ve, vs, '{', path, err)) != 0)
				break;
			while ((rc = gw_json_scan_next(&r, &key, &klen, &es, &ee, path, err)) == 1) {
				if (!gw_respstore_key_is(key, klen, "output"))
					continue;
				cJSON *v = gw_json_parse(t + es, ee - es, path, err);
				if (v == NULL) {
					rc = -EINVAL;
					break;
				}
				cJSON_AddItemToObject(resp, "output", v);
			}
			if (rc != 0)
				break;
			continue;
		}
		for (size_t i = 0; i < sizeof(members) / sizeof(members[0]); i++) {
			if (!gw_respstore_key_is(key, klen, members[i]))
				continue;
			cJSON *v = gw_json_parse(t + vs, ve - vs, path, err);
			if (v == NULL) {
				rc = -EINVAL;
				break;
			}
			cJSON_AddItemToObject(root, members[i], v);
		}
		if (rc < 0)
			break;
	}
	if (rc == 0)
		rc = gw_json_scan_finish(&s, path, err);
	if (rc != 0) {
		cJSON_Delete(root);
		return NULL;
	}
	return root;
}

/* A walk's rows read ahead from PostgreSQL: one recursive query brings
 * the next `next_max` records of the chain, so a walk of N records costs
 * a few round trips, not N.  The first batch is as many records as the
 * item bound can take (each record adds at least its input, and a turn
 * usually an output too: max_items / 2 + 1, at least
 * GW_RESPSTORE_BATCH_FIRST), so a conversation's turns up to the bound
 * cost one query each, the 20th as the 2nd; later batches grow.
 *
 * With a cache, a batch that starts at a record the cache holds is the
 * chain as far as the cache knows it (at most next_max records, so a
 * cached loop ends too): its entries are held (known[i] for rows[i]) and
 * one query (gw_store_response_present) says which are still stored; the
 * rows are theirs, without content (input_items NULL), up to the first
 * one gone, whose id (gone) ends the walk there without another query. */
typedef struct gw_respstore_batch {
	gw_store_response *rows;
	size_t n, pos, next_max;
	gw_respcache *cache;
	const gw_respcache_entry **known;
	size_t nknown;
	char *gone;
	int dfd;          /* files: the responses directory (O_PATH), or -1 */
} gw_respstore_batch;

#define GW_RESPSTORE_BATCH_FIRST 8
#define GW_RESPSTORE_BATCH_MAX 256

static void
gw_respstore_batch_free(gw_respstore_batch *b)
{
	for (size_t i = 0; i < b->n; i++)
		gw_store_response_free(&b->rows[i]);
	free(b->rows);
	b->rows = NULL;
	b->n = b->pos = 0;
	for (size_t i = 0; i < b->nknown; i++)
		gw_respcache_release(b->cache, b->known[i]);
	free(b->known);
	b->known = NULL;
	b->nknown = 0;
	free(b->gone);
	b->gone = NULL;
}

/* The batch of the chain from id as the cache holds it (see above); 0
 * with b->n 0 when the cache does not hold id, or the query's error. */
static int
gw_respstore_batch_cached(gw_store *st, gw_respstore_batch *b, const char *id, gw_err *err)
{
	const char **ids = NULL;
	const char *next = id;
	while (next != NULL && b->nknown < b->next_max) {
		const gw_respcache_entry *e = gw_respcache_get(b->cache, next);
		if (e == NULL)
			break;
		if (b->known == NULL) {
			b->known = gw_xcalloc(b->next_max, sizeof(*b->known));
			ids = gw_xcalloc(b->next_max, sizeof(*ids));
		}
		ids[b->nknown] = e->id;
		b->known[b->nknown++] = e;
		next = e->previous_id;
	}
	if (b->nknown == 0)
		return 0;
	bool *present = gw_xcalloc(b->nknown, sizeof(*present));
	int rc = gw_store_response_present(st, ids, b->nknown, present, err);
	if (rc == 0) {
		b->rows = gw_xcalloc(b->nknown, sizeof(*b->rows));
		for (; b->n < b->nknown && present[b->n]; b->n++) {
			const gw_respcache_entry *e = b->known[b->n];
			b->rows[b->n].id = gw_xstrdup(e->id);
			b->rows[b->n].previous_id = e->previous_id ? gw_xstrdup(e->previous_id) : NULL;
			b->rows[b->n].session_key = gw_xstrdup(e->session_key);
		}
		if (b->n < b->nknown)
			b->gone = gw_xstrdup(ids[b->n]);
	}
	free(present);
	free(ids);
	return rc;
}

/* The row of id from the batch, left in it (reading the next batch from
 * id when the current one does not hold it next); NULL with *rc -ENOENT
 * or the error. */
static const gw_store_response *
gw_respstore_batch_peek(gw_store *st, gw_respstore_batch *b, const char *id, int *rc, gw_err *err)
{
	if (b->pos < b->n && strcmp(b->rows[b->pos].id, id) == 0)
		return &b->rows[b->pos];
	if (b->pos == b->n && b->gone != NULL && strcmp(b->gone, id) == 0) {
		*rc = -ENOENT; /* the cached batch found it gone */
		return NULL;
	}
	gw_respstore_batch_free(b);
	if (b->next_max == 0)
		b->next_max = GW_RESPSTORE_BATCH_FIRST;
	*rc = b->cache != NULL ? gw_respstore_batch_cached(st, b, id, err) : 0;
	if (*rc == 0 && b->nknown == 0)
		*rc = gw_store_response_chain(st, id, b->next_max, &b->rows, &b->n, err);
	if (b->next_max < GW_RESPSTORE_BATCH_MAX)
		b->next_max *= 4;
	if (*rc != 0)
		return NULL;
	if (b->n == 0 || strcmp(b->rows[0].id, id) != 0) {
		*rc = -ENOENT;
		return NULL;
	}
	b->pos = 0;
	return &b->rows[0];
}

/* gw_respstore_load, also giving the file's length (*len may be NULL);
 * lean: the record as gw_respstore_parse_lean reads it (for walks); batch
 * (walks on PostgreSQL, else NULL): the rows read ahead. */
static int
gw_respstore_load_len(gw_store *st, const char *id, cJSON **out, size_t *len,
    bool lean, gw_respstore_batch *batch, gw_err *err)
{
	*out = NULL;
	if (!gw_respstore_id_ok(id))
		return gw_err_set(err, -ENOENT, GW_EXIT_NOINPUT, "no stored response '%s'", id);
	char *path = gw_respstore_place(st, id, ".json");
	gw_buf text = GW_BUF_INIT;
	int rc = 0;
	const gw_store_response *row = NULL;
	if (gw_store_kind_of(st) == GW_STORE_FILES)
		rc = gw_fs_read_file(path, &text, err);
	else if (batch != NULL && (row = gw_respstore_batch_peek(st, batch, id, &rc, err)) != NULL)
		batch->pos++;
	if (row != NULL && row->input_items != NULL && row->response != NULL) {
		rc = 0;
		gw_respstore_render(&text, row->id, row->session_key, row->previous_id,
		    row->history_items, row->input_items, strlen(row->input_items), row->response,
		    strlen(row->response));
	} else if (gw_store_kind_of(st) != GW_STORE_FILES && (batch == NULL || row != NULL)) {
		/* one row alone (or a batch's row that came without its
		 * content): the same record text a file holds */
		gw_store_response one;
		rc = gw_store_response_load(st, id, &one, err);
		if (rc == 0)
			gw_respstore_render(&text, one.id, one.session_key, one.previous_id,
			    one.history_items, one.input_items, strlen(one.input_items), one.response,
			    strlen(one.response));
		gw_store_response_free(&one);
	}
	if (rc == -ENOENT)
		gw_err_set(err, -ENOENT, GW_EXIT_NOINPUT, "no stored response '%s'", id);
	if (rc == 0) {
		const char *t = text.data ? text.data : "";
		cJSON *root = lean ? gw_respstore_parse_lean(t, text.len, path, err) :
		    gw_json_parse(t, text.len, path, err);
		if (root == NULL)
			rc = -EINVAL;
		else if ((rc = gw_respstore_check(root, path, err)) != 0)
			cJSON_Delete(root);
		else
			*out = root;
		if (len != NULL)
			*len = text.len;
	}
	gw_buf_free(&text);
	free(path);
	return rc;
}

int
gw_respstore_load(gw_store *st, const char *id, cJSON **out, gw_err *err)
{
	return gw_respstore_load_len(st, id, out, NULL, false, NULL, err);
}

/* One record of a walk: its items (input_items, then its response's
 * output, an array the walk owns), the id it continues (NULL: a root),
 * its session key and the length of its text. */
typedef struct gw_respstore_walked {
	cJSON *items;
	char *prev;
	char *session_key;
	size_t len;
} gw_respstore_walked;

static void
gw_respstore_walked_free(gw_respstore_walked *w)
{
	cJSON_Delete(w->items);
	free(w->prev);
	free(w->session_key);
	memset(w, 0, sizeof(*w));
}

/* w from a cache entry, held once more for out (released by
 * gw_respstore_chain_free): its items are references to the entry's,
 * one node each, sharing their members. */
static void
gw_respstore_walked_of(gw_respstore_walked *w, gw_respcache *cache, const gw_respcache_entry *e,
    gw_respstore_chain *out)
{
	gw_respcache_ref(cache, e);
	if (out->nheld % 16 == 0)
		out->held = gw_xrealloc(out->held, (out->nheld + 16) * sizeof(*out->held));
	out->held[out->nheld++] = e;
	w->items = cJSON_CreateArray();
	for (const cJSON *it = e->items->child; it != NULL; it = it->next)
		cJSON_AddItemToArray(w->items, cJSON_CreateObjectReference(it->child));
	w->prev = e->previous_id != NULL ? gw_xstrdup(e->previous_id) : NULL;
	w->session_key = gw_xstrdup(e->session_key);
	w->len = e->text_len;
}

/* w from a record as gw_respstore_parse_lean reads it (checked), whose
 * items are moved out of it; rec stays the caller's. */
static void
gw_respstore_walked_from(gw_respstore_walked *w, cJSON *rec, size_t len)
{
	cJSON *resp = cJSON_GetObjectItemCaseSensitive(rec, "response");
	cJSON *lists[2] = { cJSON_GetObjectItemCaseSensitive(rec, "input_items"),
		cJSON_GetObjectItemCaseSensitive(resp, "output") };
	w->items = cJSON_CreateArray();
	for (int l = 0; l < 2; l++) {
		while (lists[l] != NULL && lists[l]->child != NULL)
			cJSON_AddItemToArray(w->items, cJSON_DetachItemViaPointer(lists[l], lists[l]->child));
	}
	const char *prev = gw_json_str(rec, "previous_response_id");
	const char *key = gw_json_str(rec, "session_key");
	w->prev = prev != NULL ? gw_xstrdup(prev) : NULL;
	w->session_key = gw_xstrdup(key != NULL ? key : "");
	w->len = len;
}

/* True when the file of a record a cache holds is still in place (a
 * delete or the sweep removes it): one fstatat in the responses directory
 * (*dfd, opened on the first call of a walk); a record found gone leaves
 * the cache.  False on any doubt: the caller reads the file then. */
static bool
gw_respstore_file_there(gw_store *st, gw_respcache *cache, int *dfd, const char *id)
{
	if (*dfd < 0) {
		char *dir = gw_path_join(gw_store_dir(st), GW_RESPSTORE_DIR);
		*dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
		free(dir);
		if (*dfd < 0)
			return false;
	}
	char name[160];
	snprintf(name, sizeof(name), "%s.json", id);
	struct stat sb;
	int rc = fstatat(*dfd, name, &sb, 0);
	if (rc != 0 && errno == ENOENT)
		gw_respcache_drop(cache, id);
	return rc == 0 && S_ISREG(sb.st_mode);
}

/* Reads record id for a walk into w: from the cache when it holds the
 * record and the store still does (files: the file is there; PostgreSQL:
 * the batch's row, which brought no content), else from the store (and
 * then into the cache).  0, or gw_respstore_load_len's errors. */
static int
gw_respstore_walk_one(gw_store *st, gw_respcache *cache, const char *id,
    gw_respstore_batch *batch, gw_respstore_walked *w, gw_respstore_chain *out, gw_err *err)
{
	const gw_respcache_entry *e = NULL;
	if (cache != NULL && gw_respstore_id_ok(id)) {
		if (gw_store_kind_of(st) == GW_STORE_FILES) {
			e = gw_respcache_get(cache, id);
			if (e != NULL && gw_respstore_file_there(st, cache, &batch->dfd, id)) {
				gw_respstore_walked_of(w, cache, e, out);
				gw_respcache_release(cache, e);
				return 0;
			}
			gw_respcache_release(cache, e);
		} else {
			int rc = 0;
			const gw_store_response *row = gw_respstore_batch_peek(st, batch, id, &rc, err);
			if (row == NULL && rc == -ENOENT)
				return gw_err_set(err, -ENOENT, GW_EXIT_NOINPUT, "no stored response '%s'", id);
			if (row == NULL)
				return rc;
			if (row != NULL && row->input_items == NULL) {
				gw_respstore_walked_of(w, cache, batch->known[batch->pos++], out);
				return 0;
			}
		}
	}
	cJSON *rec = NULL;
	size_t len = 0;
	int rc = gw_respstore_load_len(st, id, &rec, &len, true,
	    gw_store_kind_of(st) == GW_STORE_FILES ? NULL : batch, err);
	if (rc != 0)
		return rc;
	gw_respstore_walked_from(w, rec, len);
	cJSON_Delete(rec);
	if (cache != NULL)
		gw_respcache_put(cache, id, w->prev, w->session_key, cJSON_Duplicate(w->items, 1), len);
	return 0;
}

/* The exact weight of a record's items against the byte bound
 * (gw_resp_item_weight, as a session weighs its history). */
static size_t
gw_respstore_items_bytes(const cJSON *items, gw_buf *scratch)
{
	size_t bytes = 0;
	for (const cJSON *it = items->child; it; it = it->next)
		bytes += gw_resp_item_weight(it, scratch);
	return bytes;
}

int
gw_respstore_chain_load(gw_store *st, gw_respcache *cache, const char *id, size_t max_items,
    size_t max_bytes, gw_respstore_chain *out, gw_err *err)
{
	memset(out, 0, sizeof(*out));
	out->items = cJSON_CreateArray();
	out->session_key = gw_xstrdup("");
	out->cache = cache;
	/* the records read, newest first; the map holds their ids (borrowed
	 * from the records, which live until the end) */
	gw_respstore_walked *recs = NULL;
	size_t n = 0, cap = 0, have = 0;
	/* the byte bound, for stopping early: a record the gateway wrote
	 * holds its items as compact JSON, so its file length bounds their
	 * weight, and items are weighed (printed) only once the files
	 * together reach the bound; weighed counts the records weighed.
	 * (A hand-edited record can weigh up to GW_RESP_WEIGHT_MAX_GROWTH
	 * times its length; then the walk only reads further than it had
	 * to, and the final gw_resp_items_bound is exact either way.) */
	size_t upper = 0, bytes = 0, weighed = 0;
	gw_strmap *seen = gw_strmap_new(16);
	gw_buf scratch = GW_BUF_INIT;
	gw_respstore_batch batch = { 0 };
	batch.cache = cache;
	batch.dfd = -1;
	batch.next_max = max_items / 2 + 1;
	if (batch.next_max < GW_RESPSTORE_BATCH_FIRST)
		batch.next_max = GW_RESPSTORE_BATCH_FIRST;
	if (batch.next_max > GW_RESPSTORE_BATCH_MAX)
		batch.next_max = GW_RESPSTORE_BATCH_MAX;
	int rc = 0;
	const char *next = id;
	while (next != NULL) {
		gw_respstore_walked w = { 0 };
		rc = gw_respstore_walk_one(st, cache, next, &batch, &w, out, err);
		if (rc == -ENOENT && n > 0) {
			/* deleted or expired: the context is cut here */
			snprintf(out->cut, sizeof(out->cut), "%s", next);
			gw_err_clear(err);
			rc = 0;
			break;
		}
		if (rc != 0)
			break;
		if (n == cap) {
			cap = cap ? 2 * cap : 16;
			recs = gw_xrealloc(recs, cap * sizeof(*recs));
		}
		recs[n++] = w;
		if (n == 1) {
			free(out->session_key);
			out->session_key = gw_xstrdup(w.session_key);
		}
		/* keyed on the name it was loaded by (the file's own id member is
		 * not trusted); next is id or lives in recs[n - 2] */
		gw_strmap_put(seen, next, 0);
		const char *prev = recs[n - 1].prev;
		have += (size_t)cJSON_GetArraySize(w.items);
		upper += w.len;
		if (max_bytes > 0 && upper >= max_bytes)
			for (; weighed < n; weighed++)
				bytes += gw_respstore_items_bytes(recs[weighed].items, &scratch);
		if (have >= max_items || (max_bytes > 0 && bytes >= max_bytes) || prev == NULL)
			break;
		if (gw_strmap_get(seen, prev, NULL)) {
			rc = gw_err_set(err, -ELOOP, GW_EXIT_DATAERR,
			    "response chain of '%s' loops: '%s' continues '%s', which is already in the chain",
			    id, next, prev);
			break;
		}
		next = prev;
	}
	out->records = n;
	if (rc == 0) {
		for (size_t i = n; i-- > 0;) {
			cJSON *items = recs[i].items;
			while (items->child != NULL)
				cJSON_AddItemToArray(out->items, cJSON_DetachItemViaPointer(items, items->child));
		}
		/* keep the newest, as a session's history is kept */
		gw_resp_items_bound(out->items, max_items, max_bytes, upper + 1);
	}
	for (size_t i = 0; i < n; i++)
		gw_respstore_walked_free(&recs[i]);
	free(recs);
	gw_strmap_free(seen);
	gw_respstore_batch_free(&batch);
	if (batch.dfd >= 0)
		close(batch.dfd);
	gw_buf_free(&scratch);
	return rc;
}

void
gw_respstore_cache_put(gw_respcache *cache, gw_store_kind kind, const gw_respstore_rec *rec)
{
	if (cache == NULL || !gw_respstore_id_ok(rec->id) ||
	    (rec->previous_id != NULL && !gw_respstore_id_ok(rec->previous_id)))
		return;
	/* the record text as the store holds it (a file ends in a newline),
	 * read back as a walk reads it: the entry is what a walk would get */
	gw_buf items = GW_BUF_INIT, b = GW_BUF_INIT;
	gw_jw w;
	gw_jw_init(&w, &items, false);
	gw_jw_cjson(&w, rec->input_items);
	gw_respstore_render(&b, rec->id, rec->session_key, rec->previous_id,
	    rec->previous_id != NULL ? rec->history_items : 0, items.data ? items.data : "[]",
	    items.len, rec->response_json, rec->response_len);
	gw_buf_free(&items);
	if (kind == GW_STORE_FILES)
		gw_buf_putc(&b, '\n');
	gw_err err;
	gw_err_clear(&err);
	cJSON *root = gw_respstore_parse_lean(b.data, b.len, rec->id, &err);
	if (root != NULL && gw_respstore_check(root, rec->id, &err) == 0) {
		gw_respstore_walked wk = { 0 };
		gw_respstore_walked_from(&wk, root, b.len);
		gw_respcache_put(cache, rec->id, wk.prev, wk.session_key, wk.items, wk.len);
		wk.items = NULL;
		gw_respstore_walked_free(&wk);
	}
	cJSON_Delete(root);
	gw_buf_free(&b);
}

void
gw_respstore_chain_free(gw_respstore_chain *c)
{
	cJSON_Delete(c->items);
	free(c->session_key);
	c->items = NULL;
	c->session_key = NULL;
	for (size_t i = 0; i < c->nheld; i++)
		gw_respcache_release(c->cache, c->held[i]);
	free(c->held);
	c->held = NULL;
	c->nheld = 0;
}

int
gw_respstore_input_items(gw_store *st, const cJSON *rec, cJSON **items, gw_err *err)
{
	*items = NULL;
	const char *prev = gw_json_str(rec, "previous_response_id");
	uint64_t nhist = 0;
	gw_json_as_u64(cJSON_GetObjectItemCaseSensitive(rec, "history_items"), &nhist);
	cJSON *all = NULL;
	if (prev != NULL && nhist > 0) {
		gw_respstore_chain c;
		/* the count the model saw, exactly: no byte bound, no new cap */
		int rc = gw_respstore_chain_load(st, NULL, prev,
		    nhist > SIZE_MAX ? SIZE_MAX : (size_t)nhist, 0, &c, err);
		if (rc == -ENOENT) {
			gw_err_clear(err); /* deleted or expired: no history left */
		} else if (rc != 0) {
			gw_respstore_chain_free(&c);
			return rc;
		}
		all = c.items;
		c.items = NULL;
		gw_respstore_chain_free(&c);
	}
	if (all == NULL)
		all = cJSON_CreateArray();
	const cJSON *own = cJSON_GetObjectItemCaseSensitive(rec, "input_items");
	for (const cJSON *it = own ? own->child : NULL; it; it = it->next)
		cJSON_AddItemToArray(all, cJSON_Duplicate(it, 1));
	*items = all;
	return 0;
}

int
gw_respstore_delete(gw_store *st, const char *id, gw_err *err)
{
	if (!gw_respstore_id_ok(id))
		return gw_err_set(err, -ENOENT, GW_EXIT_NOINPUT, "no stored response '%s'", id);
	if (gw_store_kind_of(st) != GW_STORE_FILES) {
		int rc = gw_store_response_delete(st, id, err);
		if (rc == -ENOENT)
			gw_err_set(err, -ENOENT, GW_EXIT_NOINPUT, "no stored response '%s'", id);
		return rc;
	}
	char *path = gw_respstore_path(gw_store_dir(st), id, ".json");
	int rc = 0;
	if (unlink(path) != 0) {
		int e = errno;
		rc = gw_err_set(err, -e, e == ENOENT ? GW_EXIT_NOINPUT : GW_EXIT_IOERR,
		    e == ENOENT ? "no stored response '%s'" : "cannot delete stored response '%s'", id);
	}
	free(path);
	return rc;
}

int
gw_respstore_sweep(gw_store *st, uint64_t now_s, uint64_t ttl_s, size_t *removed,
    gw_err *err)
{
	*removed = 0;
	if (ttl_s == 0)
		return 0;
	if (gw_store_kind_of(st) != GW_STORE_FILES)
		return gw_store_response_sweep(st, now_s, ttl_s, GW_STORE_SWEEP_MAX, removed, err);
	const char *state_dir = gw_store_dir(st);
	DIR *d;
	int rc = gw_fs_opendir_under(state_dir, GW_RESPSTORE_DIR, &d, err);
	if (d == NULL)
		return rc;
	char *dir = gw_path_join(state_dir, GW_RESPSTORE_DIR);
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		const char *name = de->d_name;
		size_t n = strlen(name);
		bool record = n > 5 && strcmp(name + n - 5, ".json") == 0;
		bool tmp = n > 9 && strcmp(name + n - 9, ".json.tmp") == 0; /* left by a crash */
		if (!record && !tmp)
			continue;
		char *path = gw_path_join(dir, name);
		if (gw_fs_expired(path, now_s, ttl_s) && unlink(path) == 0 && record)
			(*removed)++;
		free(path);
	}
	closedir(d);
	free(dir);
	return 0;
}

/* ---- transfer (xfer.h) ------------------------------------------------------ */

/* Splits a record file's text into a row (its strings point into text,
 * which is changed: each member's end gets a NUL).  0, or -EINVAL naming
 * path. */
static int
gw_respstore_split(char *text, size_t len, const cJSON *root, const char *path,
    gw_store_response *r, gw_err *err)
{
	gw_json_scan sc;
	int rc = gw_json_scan_open(&sc, text, len, 0, '{', path, err);
	size_t ends[2] = { 0, 0 };
	char *vals[2] = { NULL, NULL };
	const char *key;
	size_t klen, vs, ve;
	while (rc == 0) {
		int more = gw_json_scan_next(&sc, &key, &klen, &vs, &ve, path, err);
		if (more <= 0) {
			rc = more;
			break;
		}
		int k = gw_respstore_key_is(key, klen, "input_items") ? 0 :
		    gw_respstore_key_is(key, klen, "response") ? 1 : -1;
		if (k >= 0) {
			vals[k] = text + vs;
			ends[k] = ve;
		}
	}
	if (rc < 0)
		return rc;
	const cJSON *prev = cJSON_GetObjectItemCaseSensitive(root, "previous_response_id");
	const cJSON *hist = cJSON_GetObjectItemCaseSensitive(root, "history_items");
	r->id = (char *)gw_json_str(root, "id");
	r->session_key = (char *)gw_json_str(root, "session_key");
	if (r->session_key == NULL)
		r->session_key = "";
	r->previous_id = prev != NULL ? prev->valuestring : NULL;
	r->history_items = 0;
	if (hist != NULL)
		gw_json_as_u64(hist, &r->history_items);
	text[ends[0]] = '\0';
	text[ends[1]] = '\0';
	r->input_items = vals[0];
	r->response = vals[1];
	return 0;
}

int
gw_respstore_each(gw_store *st, gw_store_response_fn fn, void *ctx, gw_err *err)
{
	if (gw_store_kind_of(st) != GW_STORE_FILES)
		return gw_store_response_each(st, fn, ctx, err);
	const char *state_dir = gw_store_dir(st);
	char **ids;
	size_t n;
	int rc = gw_fs_list_under(state_dir, GW_RESPSTORE_DIR, ".json", &ids, &n, err);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		char *path = gw_respstore_path(state_dir, ids[i], ".json");
		gw_buf text = GW_BUF_INIT;
		struct stat sb;
		rc = gw_fs_read_file(path, &text, err);
		if (rc == 0 && stat(path, &sb) != 0)
			rc = gw_err_set(err, -errno, GW_EXIT_IOERR, "cannot stat %s: %s", path,
			    strerror(errno));
		cJSON *root = NULL;
		if (rc == 0 && (root = gw_json_parse(text.data ? text.data : "", text.len, path, err)) == NULL)
			rc = -EINVAL;
		if (rc == 0)
			rc = gw_respstore_check(root, path, err);
		const char *id = root != NULL ? gw_json_str(root, "id") : NULL;
		if (rc == 0 && (id == NULL || strcmp(id, ids[i]) != 0))
			rc = gw_err_set(err, -EINVAL, GW_EXIT_DATAERR,
			    "%s: its id is not '%s', the file's name", path, ids[i]);
		gw_store_response r = { 0 };
		if (rc == 0)
			rc = gw_respstore_split(text.data, text.len, root, path, &r, err);
		if (rc == 0) {
			r.created_unix_ms = (uint64_t)sb.st_mtim.tv_sec * 1000 +
			    (uint64_t)sb.st_mtim.tv_nsec / 1000000;
			rc = fn(ctx, &r);
		}
		cJSON_Delete(root);
		gw_buf_free(&text);
		free(path);
	}
	gw_fs_names_free(ids, n);
	return rc;
}

int
gw_respstore_put(gw_store *st, const gw_store_response *r, gw_err *err)
{
	if (!gw_respstore_id_ok(r->id))
		return gw_err_set(err, -EINVAL, GW_EXIT_DATAERR, "invalid response id '%s'", r->id);
	if (gw_store_kind_of(st) != GW_STORE_FILES)
		return gw_store_response_save(st, r, err);
	gw_buf b = GW_BUF_INIT;
	gw_respstore_render(&b, r->id, r->session_key, r->previous_id, r->history_items,
	    r->input_items, strlen(r->input_items), r->response, strlen(r->response));
	gw_buf_putc(&b, '\n');
	int rc = gw_respstore_write_file(gw_store_dir(st), r->id, &b, r->created_unix_ms, err);
	gw_buf_free(&b);
	return rc;
}

static int
gw_respstore_present(gw_store *st, bool *yes, gw_err *err)
{
	*yes = false;
	if (gw_store_kind_of(st) != GW_STORE_FILES) {
		uint64_t n = 0;
		int rc = gw_store_response_count(st, &n, err);
		*yes = n > 0;
		return rc;
	}
	char **ids;
	size_t n;
	int rc = gw_fs_list_under(gw_store_dir(st), GW_RESPSTORE_DIR, ".json", &ids, &n, err);
	*yes = n > 0;
	gw_fs_names_free(ids, n);
	return rc;
}

/* Rows on their way into a database, saved a batch at a time (one
 * statement per GW_RESPSTORE_XFER_BATCH rows or 4 MiB); a directory gets
 * one file each. */
#define GW_RESPSTORE_XFER_BATCH 256

typedef struct gw_respstore_xfer {
	gw_store *dst;
	gw_xfer *x;
	gw_err *err;
	gw_store_response rows[GW_RESPSTORE_XFER_BATCH];   /* owned copies */
	size_t n, bytes;
} gw_respstore_xfer;

/* Saves the batch (unless save is false) and frees it. */
static int
gw_respstore_xfer_flush(gw_respstore_xfer *t, bool save)
{
	int rc = save ? gw_store_response_save_many(t->dst, t->rows, t->n, t->err) : -ECANCELED;
	for (size_t i = 0; i < t->n; i++) {
		if (rc == 0)
			gw_xfer_tick(t->x);
		gw_store_response_free(&t->rows[i]);
	}
	t->n = t->bytes = 0;
	return rc;
}

static int
gw_respstore_xfer_one(void *ctx, const gw_store_response *r)
{
	gw_respstore_xfer *t = ctx;
	if (gw_store_kind_of(t->dst) == GW_STORE_FILES) {
		int rc = gw_respstore_put(t->dst, r, t->err);
		if (rc == 0)
			gw_xfer_tick(t->x);
		return rc;
	}
	if (!gw_respstore_id_ok(r->id))
		return gw_err_set(t->err, -EINVAL, GW_EXIT_DATAERR, "invalid response id '%s'", r->id);
	gw_store_response *c = &t->rows[t->n++];
	c->id = gw_xstrdup(r->id);
	c->session_key = gw_xstrdup(r->session_key != NULL ? r->session_key : "");
	c->previous_id = r->previous_id != NULL ? gw_xstrdup(r->previous_id) : NULL;
	c->history_items = r->history_items;
	c->input_items = gw_xstrdup(r->input_items);
	c->response = gw_xstrdup(r->response);
	c->created_unix_ms = r->created_unix_ms;
	t->bytes += strlen(c->input_items) + strlen(c->response);
	if (t->n == GW_RESPSTORE_XFER_BATCH || t->bytes >= (4u << 20))
		return gw_respstore_xfer_flush(t, true);
	return 0;
}

static int
gw_respstore_copy(gw_store *src, gw_store *dst, gw_xfer *x, gw_err *err)
{
	gw_respstore_xfer *t = gw_xcalloc(1, sizeof(*t));
	t->dst = dst;
	t->x = x;
	t->err = err;
	int rc = gw_respstore_each(src, gw_respstore_xfer_one, t, err);
	int frc = gw_respstore_xfer_flush(t, rc == 0); /* frees what is left either way */
	if (rc == 0)
		rc = frc;
	free(t);
	return rc;
}

static int
gw_respstore_sessions_present(gw_store *st, bool *yes, gw_err *err)
{
	*yes = false;
	if (gw_store_kind_of(st) != GW_STORE_FILES) {
		uint64_t n = 0;
		int rc = gw_store_session_count(st, &n, err);
		*yes = n > 0;
		return rc;
	}
	char **keys;
	size_t n;
	int rc = gw_fs_list_under(gw_store_dir(st), "openresponses/sessions", ".jsonl", &keys, &n, err);
	*yes = n > 0;
	gw_fs_names_free(keys, n);
	return rc;
}

typedef struct gw_respstore_sessions_xfer {
	gw_store *dst;
	gw_xfer *x;
	gw_err *err;
} gw_respstore_sessions_xfer;

static int
gw_respstore_session_one(void *ctx, const gw_store_session_row *r)
{
	gw_respstore_sessions_xfer *t = ctx;
	int rc = gw_session_put(t->dst, r, t->err);
	if (rc == 0)
		gw_xfer_tick(t->x);
	return rc;
}

/* Sessions (schema version 4, tau_session): <key>.jsonl files <-> rows,
 * byte for byte, the last write's time kept. */
static int
gw_respstore_sessions_copy(gw_store *src, gw_store *dst, gw_xfer *x, gw_err *err)
{
	gw_respstore_sessions_xfer t = { dst, x, err };
	return gw_session_each(src, gw_respstore_session_one, &t, err);
}

static const gw_xfer_kind gw_respstore_kinds[] = {
	{ "responses", gw_respstore_present, gw_respstore_copy, gw_respstore_copy },
	{ "sessions", gw_respstore_sessions_present, gw_respstore_sessions_copy,
	  gw_respstore_sessions_copy },
};

const gw_xfer_kind *
gw_respstore_xfer_kinds(size_t *n)
{
	*n = sizeof(gw_respstore_kinds) / sizeof(gw_respstore_kinds[0]);
	return gw_respstore_kinds;
}
