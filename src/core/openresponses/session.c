/*
 * session.c - per-key conversation history (JSONL) under a per-key flock.
 *
 * File format: a meta line {"record_type":"meta","schema_version":1} and
 * one {"record_type":"item","response_id":..,"item":{..}} line per item.
 * The lock is held from open to close, so read-model-append is atomic with
 * respect to every other writer.  This module must never hold the state
 * directory's .lock (sessions do not touch state.json) and never let a
 * seed escape the sessions directory.
 */
#include "core/openresponses/session.h"
#include "core/base/buf.h"
#include "core/base/fs.h"
#include "core/base/hash.h"
#include "core/base/json.h"
#include "core/base/mem.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define GW_SESSION_META "{\"record_type\":\"meta\",\"schema_version\":1}\n"

struct gw_session {
	char *path;
	gw_lock lock;
	cJSON *history;
	uint64_t max_items;
	uint64_t lines;          /* item lines in the file */
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

static bool
gw_session_starts_turn(const cJSON *it)
{
	const char *type = gw_json_str(it, "type"), *role = gw_json_str(it, "role");
	return type != NULL && strcmp(type, "message") == 0 && role != NULL &&
	    strcmp(role, "assistant") != 0;
}

/* Parses the file text into s->history, keeping the last max_items items
 * and starting at a turn boundary (never at a tool result or reply). */
static int
gw_session_load(gw_session *s, const gw_buf *text, gw_err *err)
{
	s->history = cJSON_CreateArray();
	const char *p = gw_buf_cstr(text), *end = p + text->len;
	unsigned lineno = 0;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		lineno++;
		if (n > 0) {
			cJSON *rec = cJSON_ParseWithLength(p, n);
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
		p += n + 1;
	}
	/* keep the newest max_items, beginning with a user/system turn */
	int total = cJSON_GetArraySize(s->history);
	int drop = total > (int)s->max_items ? total - (int)s->max_items : 0;
	while (drop < total && !gw_session_starts_turn(cJSON_GetArrayItem(s->history, drop)))
		drop++;
	for (int i = 0; i < drop; i++)
		cJSON_DeleteItemFromArray(s->history, 0);
	return 0;
}

int
gw_session_open(const char *state_dir, const char *key, uint64_t max_items, uint64_t wait_ms,
    const atomic_bool *cancel, gw_session **out, gw_err *err)
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
	gw_buf name = GW_BUF_INIT;
	gw_buf_printf(&name, "%s.lock", key);
	char *lockpath = gw_path_join(dir, name.data);
	gw_buf_reset(&name);
	gw_buf_printf(&name, "%s.jsonl", key);
	s->path = gw_path_join(dir, name.data);
	gw_buf_free(&name);
	free(dir);
	rc = gw_lock_acquire_file_wait(&s->lock, lockpath, wait_ms, cancel, err);
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
	uint64_t added = (uint64_t)cJSON_GetArraySize(input) + (uint64_t)cJSON_GetArraySize(output);
	gw_buf b = GW_BUF_INIT;
	int rc;
	if (s->lines + added > 2 * s->max_items) {
		/* compact: rewrite with the bounded history plus this exchange */
		gw_buf_puts(&b, GW_SESSION_META);
		gw_session_put_items(&b, "", s->history);
		gw_session_put_items(&b, response_id, input);
		gw_session_put_items(&b, response_id, output);
		rc = gw_fs_write_atomic(s->path, b.data, b.len, err);
		if (rc == 0)
			s->lines = (uint64_t)cJSON_GetArraySize(s->history) + added;
	} else {
		if (s->lines == 0 && !gw_fs_exists(s->path))
			gw_buf_puts(&b, GW_SESSION_META);
		gw_session_put_items(&b, response_id, input);
		gw_session_put_items(&b, response_id, output);
		rc = gw_fs_append(s->path, b.data, b.len, err);
		if (rc == 0)
			s->lines += added;
	}
	gw_buf_free(&b);
	return rc;
}

void
gw_session_close(gw_session *s)
{
	if (s == NULL)
		return;
	gw_lock_release(&s->lock);
	cJSON_Delete(s->history);
	free(s->path);
	free(s);
}
