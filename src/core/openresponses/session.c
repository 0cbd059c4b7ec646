/*
 * session.c - per-key conversation history (JSONL) under a per-key flock.
 *
 * File format: a meta line {"record_type":"meta","schema_version":1} and
 * one {"record_type":"item","response_id":..,"item":{..}} line per item.
 * The lock is held from open to close, so read-model-append is atomic with
 * respect to every other writer.  This module must never hold the state
 * directory's .lock (sessions do not touch state.json) and never let a
 * seed escape the sessions directory.
 *
 * In fleet mode the same text lives in the store's tau_session row of the
 * key (store.h), byte for byte what the file would hold; the row is held
 * FOR UPDATE from open to commit instead of the flock, so turns on one key
 * serialise across replicas, and an exchange is visible to others only
 * once gw_session_commit returned.
 */
#include "core/openresponses/session.h"
#include "core/base/buf.h"
#include "core/base/fs.h"
#include "core/base/hash.h"
#include "core/base/json.h"
#include "core/base/mem.h"
#include "core/openresponses/responses.h"
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

#define GW_SESSION_META "{\"record_type\":\"meta\",\"schema_version\":1}\n"

struct gw_session {
	char *path;              /* the file, or (store) what errors name */
	gw_store *st;            /* a PostgreSQL store holding the row, or NULL */
	char *key;               /* store: the session key */
	bool open_tx;            /* store: the transaction is still open */
	gw_lock lock;
	cJSON *history;
	size_t max_items;
	size_t max_bytes;        /* 0: no byte bound */
	size_t lines;            /* item lines in the file */
	size_t bytes;            /* bytes in the file */
};

int
gw_session_key(const char *seed, char out[GW_SESSION_KEY_MAX + 1])
{
	static const char hex[] = "0123456789abcdef";
	out[0] = '\0';
	if (seed == NULL)
		return -EINVAL;
	bool blank = true;
	for (const char *p = seed; *p; p++)
		blank = blank && isspace((unsigned char)*p);
	if (blank)
		return -EINVAL;
	gw_buf k = GW_BUF_INIT;
	for (const unsigned char *p = (const unsigned char *)seed; *p; p++) {
		if (isalnum(*p) || *p == '-') {
			gw_buf_putc(&k, (char)*p);
		} else {
			gw_buf_putc(&k, '_');
			gw_buf_putc(&k, hex[*p >> 4]);
			gw_buf_putc(&k, hex[*p & 15]);
		}
	}
	if (k.len <= GW_SESSION_KEY_MAX) {
		memcpy(out, k.data, k.len + 1);
	} else {
		uint8_t d[GW_SHA256_LEN];
		gw_hash_sha256(seed, strlen(seed), d);
		size_t keep = GW_SESSION_KEY_MAX - 25;
		/* never cut inside an _XX escape */
		for (size_t i = keep >= 2 ? keep - 2 : 0; i < keep; i++)
			if (k.data[i] == '_')
				keep = i;
		memcpy(out, k.data, keep);
		out[keep] = '~';
		for (size_t i = 0; i < 12; i++) {
			out[keep + 1 + 2 * i] = hex[d[i] >> 4];
			out[keep + 2 + 2 * i] = hex[d[i] & 15];
		}
		out[keep + 25] = '\0';
	}
	gw_buf_free(&k);
	return 0;
}

/* Parses the file text into s->history, bounded by gw_resp_items_bound
 * (the bound a previous_response_id chain's context has too). */
static int
gw_session_load(gw_session *s, const gw_buf *text, gw_err *err)
{
	s->history = cJSON_CreateArray();
	s->bytes = text->len;
	const char *p = gw_buf_cstr(text), *end = p + text->len;
	unsigned lineno = 0;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
		lineno++;
		if (len > 0) {
			cJSON *rec = cJSON_ParseWithLength(p, len);
			const char *rt = gw_json_str(rec, "record_type");
			if (rec == NULL || rt == NULL) {
				cJSON_Delete(rec);
				if (nl == NULL)
					break; /* a torn last line from a crash: ignore it */
				return gw_err_set(err, -EINVAL, GW_EXIT_DATAERR,
				    "%s: line %u is not a session record", s->path, lineno);
			}
			if (strcmp(rt, "item") == 0) {
				cJSON *item = cJSON_DetachItemFromObjectCaseSensitive(rec, "item");
				if (cJSON_IsObject(item)) {
					cJSON_AddItemToArray(s->history, item);
					s->lines++;
				} else {
					cJSON_Delete(item);
				}
			}
			cJSON_Delete(rec);
		}
		p += len + 1;
	}
	/* the file's length bounds its items' weights (text->len + 1: never
	 * 0, which would mean "unknown") */
	gw_resp_items_bound(s->history, s->max_items, s->max_bytes, text->len + 1);
	return 0;
}

/* True when the lock l holds is still the file at path: the sweep removes
 * an expired session's lock file while holding it, so a request that was
 * waiting on it must take the new one instead. */
static bool
gw_session_lock_current(const gw_lock *l, const char *path)
{
	struct stat a, b;
	return fstat(l->fd, &a) == 0 && stat(path, &b) == 0 && a.st_dev == b.st_dev &&
	    a.st_ino == b.st_ino;
}

int
gw_session_open(const char *state_dir, const char *key, size_t max_items, size_t max_bytes,
    uint64_t wait_ms, const atomic_bool *cancel, gw_session **out, gw_err *err)
{
	*out = NULL;
	char *dir = gw_path_join(state_dir, "openresponses/sessions");
	int rc = gw_fs_mkdirs_under(state_dir, "openresponses/sessions", NULL, err);
	if (rc != 0) {
		free(dir);
		return rc;
	}
	gw_session *s = gw_xcalloc(1, sizeof(*s));
	s->lock.fd = -1;
	s->max_items = max_items ? max_items : 1;
	s->max_bytes = max_bytes;
	gw_buf name = GW_BUF_INIT;
	gw_buf_printf(&name, "%s.lock", key);
	char *lockpath = gw_path_join(dir, name.data);
	gw_buf_reset(&name);
	gw_buf_printf(&name, "%s.jsonl", key);
	s->path = gw_path_join(dir, name.data);
	gw_buf_free(&name);
	free(dir);
	while ((rc = gw_lock_acquire_file_wait(&s->lock, lockpath, wait_ms, cancel, err)) == 0 &&
	    !gw_session_lock_current(&s->lock, lockpath))
		gw_lock_release(&s->lock); /* removed by a sweep while we waited */
	free(lockpath);
	gw_buf text = GW_BUF_INIT;
	if (rc == 0) {
		/* a torn last line a killed writer left is cut, as the event log's is */
		rc = gw_fs_repair_tail(s->path, err);
		if (rc == 0 || rc == -ENOENT)
			rc = gw_fs_read_file(s->path, &text, err);
		if (rc == -ENOENT) {
			gw_err_clear(err);
			rc = 0;
		}
	}
	if (rc == 0)
		rc = gw_session_load(s, &text, err);
	gw_buf_free(&text);
	if (rc != 0) {
		gw_session_close(s);
		return rc;
	}
	*out = s;
	return 0;
}

const cJSON *
gw_session_history(const gw_session *s)
{
	return s->history;
}

static void
gw_session_put_items(gw_buf *b, const char *response_id, const cJSON *items)
{
	for (const cJSON *it = items ? items->child : NULL; it; it = it->next) {
		gw_jw w;
		gw_jw_init(&w, b, false);
		gw_jw_obj_begin(&w);
		gw_jw_kstr(&w, "record_type", "item");
		gw_jw_kstr(&w, "response_id", response_id);
		gw_jw_key(&w, "item");
		gw_jw_cjson(&w, it);
		gw_jw_obj_end(&w);
		gw_buf_putc(b, '\n');
	}
}

int
gw_session_append(gw_session *s, const char *response_id, const cJSON *input,
    const cJSON *output, gw_err *err)
{
	size_t added = (size_t)cJSON_GetArraySize(input) + (size_t)cJSON_GetArraySize(output);
	gw_buf ex = GW_BUF_INIT, b = GW_BUF_INIT;
	gw_session_put_items(&ex, response_id, input);
	gw_session_put_items(&ex, response_id, output);
	int rc;
	if (s->lines + added > 2 * s->max_items ||
	    (s->max_bytes > 0 && s->bytes + ex.len > 2 * s->max_bytes)) {
		/* compact: rewrite with the bounded history plus this exchange */
		gw_buf_puts(&b, GW_SESSION_META);
		gw_session_put_items(&b, "", s->history);
		gw_buf_append(&b, ex.data, ex.len);
		rc = s->st != NULL ? gw_store_session_write(s->st, s->key, b.data, b.len, true, err) :
		    gw_fs_write_atomic(s->path, b.data, b.len, err);
		if (rc == 0) {
			s->lines = (size_t)cJSON_GetArraySize(s->history) + added;
			s->bytes = b.len;
		}
	} else {
		if (s->lines == 0 && (s->st != NULL ? s->bytes == 0 : !gw_fs_exists(s->path)))
			gw_buf_puts(&b, GW_SESSION_META);
		gw_buf_append(&b, ex.data, ex.len);
		rc = s->st != NULL ? gw_store_session_write(s->st, s->key, b.data, b.len, false, err) :
		    gw_fs_append(s->path, b.data, b.len, err);
		if (rc == 0) {
			s->lines += added;
			s->bytes += b.len;
		}
	}
	gw_buf_free(&ex);
	gw_buf_free(&b);
	return rc;
}

int
gw_session_open_store(gw_store *st, const char *key, size_t max_items, size_t max_bytes,
    uint64_t wait_ms, const atomic_bool *cancel, gw_session **out, gw_err *err)
{
	if (gw_store_kind_of(st) == GW_STORE_FILES)
		return gw_session_open(gw_store_dir(st), key, max_items, max_bytes, wait_ms, cancel, out,
		    err);
	*out = NULL;
	if (cancel != NULL && atomic_load(cancel))
		return gw_err_set(err, -ECANCELED, GW_EXIT_SOFTWARE, "cancelled");
	gw_session *s = gw_xcalloc(1, sizeof(*s));
	s->lock.fd = -1;
	s->max_items = max_items ? max_items : 1;
	s->max_bytes = max_bytes;
	s->key = gw_xstrdup(key);
	gw_buf b = GW_BUF_INIT;
	gw_buf_printf(&b, "%s/sessions/%s", gw_store_label(st), key);
	s->path = gw_buf_detach(&b);
	int rc = gw_store_session_begin(st, key, wait_ms, &b, err);
	if (rc == 0) {
		s->st = st;
		s->open_tx = true;
		rc = gw_session_load(s, &b, err);
	}
	gw_buf_free(&b);
	if (rc != 0) {
		gw_session_close(s);
		return rc;
	}
	*out = s;
	return 0;
}

gw_store *
gw_session_store(const gw_session *s)
{
	return s != NULL ? s->st : NULL;
}

int
gw_session_commit(gw_session *s, gw_err *err)
{
	if (s == NULL || s->st == NULL || !s->open_tx)
		return 0;
	s->open_tx = false;
	return gw_store_commit(s->st, err);
}

int
gw_session_sweep_store(gw_store *st, uint64_t now_s, uint64_t ttl_s, size_t *removed,
    gw_err *err)
{
	if (gw_store_kind_of(st) == GW_STORE_FILES)
		return gw_session_sweep(gw_store_dir(st), now_s, ttl_s, removed, err);
	return gw_store_session_sweep(st, now_s, ttl_s, GW_STORE_SWEEP_MAX, removed, err);
}

void
gw_session_close(gw_session *s)
{
	if (s == NULL)
		return;
	if (s->st != NULL && s->open_tx)
		gw_store_abort(s->st); /* nothing of an uncommitted exchange stays */
	free(s->key);
	gw_lock_release(&s->lock);
	cJSON_Delete(s->history);
	free(s->path);
	free(s);
}

/* Removes the session key (its .jsonl and .lock) if it is still expired
 * once its lock is held; a session in use (locked) is left alone.
 * Returns true when something was removed. */
static bool
gw_session_sweep_key(const char *dir, const char *key, size_t keylen, uint64_t now_s,
    uint64_t ttl_s)
{
	gw_buf b = GW_BUF_INIT;
	gw_buf_printf(&b, "%s/%.*s.jsonl", dir, (int)keylen, key);
	char *path = gw_buf_detach(&b);
	gw_buf_printf(&b, "%s/%.*s.lock", dir, (int)keylen, key);
	char *lockpath = gw_buf_detach(&b);
	bool has_file = gw_fs_exists(path), removed = false;
	/* the history's age, or for a lock with no history, the lock's */
	if (gw_fs_expired(has_file ? path : lockpath, now_s, ttl_s)) {
		gw_lock l = { .fd = -1 };
		gw_err err;
		gw_err_clear(&err);
		/* never wait: a session in use is not expired */
		if (gw_lock_acquire_file_wait(&l, lockpath, 0, NULL, &err) == 0) {
			if (gw_session_lock_current(&l, lockpath) && (has_file ?
			    gw_fs_expired(path, now_s, ttl_s) : !gw_fs_exists(path))) {
				if (!has_file || unlink(path) == 0) {
					unlink(lockpath);
					removed = true;
				}
			}
			gw_lock_release(&l);
		}
	}
	free(path);
	free(lockpath);
	return removed;
}

int
gw_session_sweep(const char *state_dir, uint64_t now_s, uint64_t ttl_s, size_t *removed,
    gw_err *err)
{
	*removed = 0;
	if (ttl_s == 0)
		return 0;
	DIR *d;
	int rc = gw_fs_opendir_under(state_dir, "openresponses/sessions", &d, err);
	if (d == NULL)
		return rc;
	char *dir = gw_path_join(state_dir, "openresponses/sessions");
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		const char *name = de->d_name;
		size_t n = strlen(name), keylen;
		if (n > 6 && strcmp(name + n - 6, ".jsonl") == 0) {
			keylen = n - 6;
		} else if (n > 5 && strcmp(name + n - 5, ".lock") == 0) {
			keylen = n - 5;
			/* a lock beside a history is judged with that history */
			gw_buf b = GW_BUF_INIT;
			gw_buf_printf(&b, "%s/%.*s.jsonl", dir, (int)keylen, name);
			bool paired = gw_fs_exists(b.data);
			gw_buf_free(&b);
			if (paired)
				continue;
		} else {
			/* a compaction's temp file that a crash left behind */
			if (name[0] == '.' && strstr(name, GW_FS_TEMP_MARK) != NULL) {
				char *tmp = gw_path_join(dir, name);
				if (gw_fs_expired(tmp, now_s, ttl_s))
					unlink(tmp);
				free(tmp);
			}
			continue;
		}
		if (keylen == 0 || keylen > GW_SESSION_KEY_MAX)
			continue;
		if (gw_session_sweep_key(dir, name, keylen, now_s, ttl_s))
			(*removed)++;
	}
	closedir(d);
	free(dir);
	return 0;
}

/* ---- transfer (xfer.h) ------------------------------------------------------ */

/* True when name (len bytes) can be a key gw_session_key makes. */
static bool
gw_session_key_ok(const char *name, size_t len)
{
	if (len == 0 || len > GW_SESSION_KEY_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char)name[i]) && name[i] != '-' && name[i] != '_' && name[i] != '~')
			return false;
	return true;
}

int
gw_session_each(gw_store *st, gw_store_session_fn fn, void *ctx, gw_err *err)
{
	if (gw_store_kind_of(st) != GW_STORE_FILES)
		return gw_store_session_each(st, fn, ctx, err);
	const char *state_dir = gw_store_dir(st);
	char **names;
	size_t n;
	int rc = gw_fs_list_under(state_dir, "openresponses/sessions", ".jsonl", &names, &n, err);
	if (rc != 0)
		return rc;
	char *dir = gw_path_join(state_dir, "openresponses/sessions");
	for (size_t i = 0; i < n; i++) {
		gw_buf pb = GW_BUF_INIT;
		gw_buf_printf(&pb, "%s/%s.jsonl", dir, names[i]);
		char *path = gw_buf_detach(&pb);
		size_t keylen = strlen(names[i]);
		gw_buf text = GW_BUF_INIT;
		struct stat sb;
		if (rc == 0 && !gw_session_key_ok(names[i], keylen))
			rc = gw_err_set(err, -EINVAL, GW_EXIT_DATAERR,
			    "%s: the name is not a session key", path);
		if (rc == 0)
			rc = gw_fs_read_file(path, &text, err);
		if (rc == 0 && stat(path, &sb) != 0)
			rc = gw_err_set(err, -errno, GW_EXIT_IOERR, "cannot stat %s: %s", path,
			    strerror(errno));
		/* every line one JSON value (what a session writes) */
		size_t line = 0;
		for (size_t p = 0; rc == 0 && p < text.len; line++) {
			const char *nl = memchr(text.data + p, '\n', text.len - p);
			size_t end = nl != NULL ? (size_t)(nl - text.data) : text.len;
			if (nl == NULL || !gw_json_valid(text.data + p, end - p))
				rc = gw_err_set(err, -EINVAL, GW_EXIT_DATAERR,
				    "%s: line %zu is not %s", path, line + 1,
				    nl == NULL ? "ended by a newline" : "a JSON value");
			p = end + 1;
		}
		if (rc == 0) {
			uint64_t ms = (uint64_t)sb.st_mtim.tv_sec * 1000 + (uint64_t)sb.st_mtim.tv_nsec / 1000000;
			gw_store_session_row r = { names[i], text.data ? text.data : "", text.len, ms, ms };
			rc = fn(ctx, &r);
		}
		gw_buf_free(&text);
		free(path);
	}
	gw_fs_names_free(names, n);
	free(dir);
	return rc;
}

int
gw_session_put(gw_store *st, const gw_store_session_row *r, gw_err *err)
{
	if (!gw_session_key_ok(r->key, strlen(r->key)))
		return gw_err_set(err, -EINVAL, GW_EXIT_DATAERR, "invalid session key '%s'", r->key);
	if (gw_store_kind_of(st) != GW_STORE_FILES)
		return gw_store_session_put(st, r, err);
	const char *state_dir = gw_store_dir(st);
	int rc = gw_fs_mkdirs_under(state_dir, "openresponses/sessions", NULL, err);
	if (rc != 0)
		return rc;
	char *dir = gw_path_join(state_dir, "openresponses/sessions");
	gw_buf b = GW_BUF_INIT;
	gw_buf_printf(&b, "%s/%s.jsonl", dir, r->key);
	char *path = gw_buf_detach(&b);
	gw_buf_printf(&b, "%s/%s.lock", dir, r->key);
	char *lockpath = gw_buf_detach(&b);
	rc = gw_fs_write_atomic(path, r->body, r->len, err);
	if (rc == 0) {
		struct timespec ts[2];
		ts[0].tv_sec = ts[1].tv_sec = (time_t)(r->updated_unix_ms / 1000);
		ts[0].tv_nsec = ts[1].tv_nsec = (long)(r->updated_unix_ms % 1000) * 1000000L;
		if (utimensat(AT_FDCWD, path, ts, AT_SYMLINK_NOFOLLOW) != 0)
			rc = gw_err_set(err, -errno, GW_EXIT_IOERR, "cannot set the time of %s: %s", path,
			    strerror(errno));
	}
	if (rc == 0) {
		int fd = open(lockpath, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
		if (fd < 0)
			rc = gw_err_set(err, -errno, GW_EXIT_CANTCREAT, "cannot create %s: %s", lockpath,
			    strerror(errno));
		else
			close(fd);
	}
	free(path);
	free(lockpath);
	free(dir);
	return rc;
}
