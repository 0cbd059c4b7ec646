/*
 * state.c - load and save state.json.
 *
 * Loading streams the file: the top-level object is walked with
 * gw_json_scan and each request record is parsed alone, so a state with a
 * million records never becomes one cJSON tree.  This module must never
 * overwrite a state.json it could not parse: a writer moves it aside first.
 */
#include "core/gateway/state.h"
#include "core/base/clock.h"
#include "core/gateway/events.h"
#include "core/gateway/fixture.h"
#include "core/base/fs.h"
#include "core/base/json.h"
#include "core/base/str.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
gw_state_defaults(gw_state *st, uint64_t now)
{
	st->health = (gw_health){ 0 };
	gw_guardrail_default(&st->guardrail, now);
	memset(&st->service, 0, sizeof(st->service));
	st->service.last_started_unix_ms = now;
	st->service.last_transition_unix_ms = now;
}

static gw_state *
gw_state_new(const char *dir)
{
	gw_state *st = gw_xcalloc(1, sizeof(*st));
	st->dir = gw_xstrdup(dir);
	st->path = gw_path_join(dir, "state.json");
	st->arena = gw_arena_new();
	st->key_set = gw_strmap_new(64);
	st->req_index = gw_strmap_new(64);
	return st;
}

static void
gw_state_clear_data(gw_state *st)
{
	gw_arena_free(st->arena);
	st->arena = gw_arena_new();
	free(st->keys);
	st->keys = NULL;
	st->nkeys = st->keys_cap = 0;
	free(st->reqs);
	st->reqs = NULL;
	st->nreqs = st->reqs_cap = st->nsorted = 0;
	gw_strmap_free(st->key_set);
	gw_strmap_free(st->req_index);
	st->key_set = gw_strmap_new(64);
	st->req_index = gw_strmap_new(64);
}

void
gw_state_free(gw_state *st)
{
	if (st == NULL)
		return;
	gw_arena_free(st->arena);
	free(st->keys);
	free(st->reqs);
	gw_strmap_free(st->key_set);
	gw_strmap_free(st->req_index);
	free(st->dir);
	free(st->path);
	free(st);
}

const char *
gw_state_strdup(gw_state *st, const char *s)
{
	return gw_arena_strdup(st->arena, s ? s : "");
}

bool
gw_state_is_processed(const gw_state *st, const char *key)
{
	return gw_strmap_get(st->key_set, key, NULL);
}

static void
gw_state_push_key(gw_state *st, const char *arena_key)
{
	if (!gw_strmap_put(st->key_set, arena_key, 1))
		return;
	if (st->nkeys == st->keys_cap) {
		st->keys_cap = st->keys_cap ? st->keys_cap * 2 : 256;
		st->keys = gw_xrealloc(st->keys, st->keys_cap * sizeof(*st->keys));
	}
	st->keys[st->nkeys++] = arena_key;
}

void
gw_state_mark_processed(gw_state *st, const char *key)
{
	if (gw_strmap_get(st->key_set, key, NULL))
		return;
	gw_state_push_key(st, gw_arena_strdup(st->arena, key));
}

/* key_set values: 1 processed, 2 processed and pinned */
#define GW_KEY_PINNED 2

void
gw_state_pin_processed(gw_state *st, const char *key)
{
	if (gw_strmap_get(st->key_set, key, NULL))
		gw_strmap_put(st->key_set, key, GW_KEY_PINNED); /* keeps the arena key */
}

void
gw_state_cap_processed(gw_state *st, size_t cap)
{
	if (st->nkeys <= cap)
		return;
	size_t drop = st->nkeys - cap, o = 0;
	for (size_t i = 0; i < st->nkeys; i++) {
		const char *k = st->keys[i];
		size_t v = 0;
		if (drop > 0 && !(gw_strmap_get(st->key_set, k, &v) && v == GW_KEY_PINNED)) {
			gw_strmap_del(st->key_set, k);
			drop--;
			continue;
		}
		st->keys[o++] = k;
	}
	st->nkeys = o;
}

gw_request *
gw_state_find_request(const gw_state *st, const char *case_key)
{
	size_t v;
	return gw_strmap_get(st->req_index, case_key, &v) ? (gw_request *)v : NULL;
}

gw_request *
gw_state_upsert_request(gw_state *st, const char *case_key)
{
	gw_request *r = gw_state_find_request(st, case_key);
	if (r != NULL)
		return r;
	r = gw_arena_alloc(st->arena, sizeof(*r));
	r->case_key = gw_arena_strdup(st->arena, case_key);
	r->case_id = r->method = r->endpoint = r->actor_id = r->outcome = r->error_code = "";
	r->response_body = "null";
	r->status_code = r->updated_unix_ms = 0;
	if (st->nreqs == st->reqs_cap) {
		st->reqs_cap = st->reqs_cap ? st->reqs_cap * 2 : 256;
		st->reqs = gw_xrealloc(st->reqs, st->reqs_cap * sizeof(*st->reqs));
	}
	st->reqs[st->nreqs++] = r;
	gw_strmap_put(st->req_index, r->case_key, (size_t)r);
	return r;
}

static int
gw_req_cmp(const void *a, const void *b)
{
	const gw_request *x = *(gw_request *const *)a, *y = *(gw_request *const *)b;
	return strcmp(x->case_key, y->case_key);
}

void
gw_state_sort_requests(gw_state *st)
{
	size_t n = st->nreqs, k = st->nsorted;
	if (k == n)
		return;
	qsort(st->reqs + k, n - k, sizeof(*st->reqs), gw_req_cmp);
	if (k > 0 && strcmp(st->reqs[k - 1]->case_key, st->reqs[k]->case_key) > 0) {
		/* merge the sorted prefix with the sorted tail */
		gw_request **out = gw_xmalloc(n * sizeof(*out));
		size_t i = 0, j = k, o = 0;
		while (i < k && j < n)
			out[o++] = strcmp(st->reqs[i]->case_key, st->reqs[j]->case_key) <= 0 ?
			    st->reqs[i++] : st->reqs[j++];
		while (i < k)
			out[o++] = st->reqs[i++];
		while (j < n)
			out[o++] = st->reqs[j++];
		free(st->reqs);
		st->reqs = out;
		st->reqs_cap = n;
	}
	st->nsorted = n;
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

/* Adds a processed key from its JSON string literal text. */
static int
gw_state_load_key(gw_state *st, const char *t, size_t n, size_t idx, gw_err *err)
{
	if (n < 2 || t[0] != '"')
		return gw_state_bad(st, err, "processed_case_keys[%zu] must be a string", idx);
	const char *s = t + 1;
	size_t len = n - 2;
	char *key;
	if (memchr(s, '\\', len) == NULL) {
		key = gw_arena_strndup(st->arena, s, len);
	} else {
		cJSON *v = cJSON_ParseWithLength(t, n);
		if (!cJSON_IsString(v)) {
			cJSON_Delete(v);
			return gw_state_bad(st, err, "processed_case_keys[%zu] must be a string", idx);
		}
		key = gw_arena_strdup(st->arena, v->valuestring);
		cJSON_Delete(v);
	}
	/* normalise: trim, drop empties, keep the first occurrence */
	gw_str_trim_inplace(key);
	if (key[0] != '\0')
		gw_state_push_key(st, key);
	return 0;
}

static bool
gw_key_special(const char *s)
{
	return strpbrk(s, ":%") != NULL;
}

/*
 * Renames records (and their processed keys) stored under the unescaped
 * case key of earlier versions to gw_case_key's escaped form.  Only parts
 * holding ':' or '%' differ, so only such records are looked at.  A record
 * whose stored key is neither form (edited by hand) is left alone.  Where
 * two cases had collided on one legacy key, the record belongs to the case
 * written last and the other case runs once more.
 */
static void
gw_state_migrate_keys(gw_state *st)
{
	gw_buf nk = GW_BUF_INIT, lk = GW_BUF_INIT;
	for (size_t i = 0; i < st->nreqs; i++) {
		gw_request *r = st->reqs[i];
		if (!gw_key_special(r->method) && !gw_key_special(r->endpoint) &&
		    !gw_key_special(r->case_id))
			continue;
		gw_buf_reset(&nk);
		gw_buf_reset(&lk);
		gw_case_key(&nk, r->method, r->endpoint, r->case_id, false);
		gw_case_key(&lk, r->method, r->endpoint, r->case_id, true);
		const char *nkey = gw_buf_cstr(&nk);
		if (strcmp(r->case_key, nkey) == 0 || strcmp(r->case_key, gw_buf_cstr(&lk)) != 0 ||
		    gw_state_find_request(st, nkey) != NULL)
			continue;
		const char *old = r->case_key;
		gw_strmap_del(st->req_index, old);
		r->case_key = gw_arena_strdup(st->arena, nkey);
		gw_strmap_put(st->req_index, r->case_key, (size_t)r);
		if (gw_strmap_del(st->key_set, old)) {
			for (size_t k = 0; k < st->nkeys; k++)
				if (strcmp(st->keys[k], old) == 0) {
					if (gw_strmap_put(st->key_set, r->case_key, 1))
						st->keys[k] = r->case_key;
					else /* already there under the new key: drop the old */
						memmove(st->keys + k, st->keys + k + 1,
						    (--st->nkeys - k) * sizeof(*st->keys));
					break;
				}
		}
	}
	gw_buf_free(&nk);
	gw_buf_free(&lk);
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
		     is_guard = GW_IS("guardrail"), is_service = GW_IS("service");
#undef GW_IS
		if (!is_schema && !is_health && !is_guard && !is_service)
			continue;
		cJSON *v = cJSON_ParseWithLength(text + vs, ve - vs);
		if (v == NULL)
			return gw_state_bad(st, err, "invalid JSON value at byte %zu", vs);
		rc = 0;
		if (is_schema) {
			uint64_t schema;
			if (!gw_json_as_u64(v, &schema))
				rc = gw_state_bad(st, err, "schema_version must be a non-negative integer");
			else if (schema != GW_STATE_SCHEMA)
				rc = gw_err_set(err, -EPROTONOSUPPORT, GW_EXIT_DATAERR,
				    "unsupported state schema %llu in %s (expected %d); refusing to touch it",
				    (unsigned long long)schema, st->path, GW_STATE_SCHEMA);
		} else if (is_health) {
			if (gw_health_from_json(v, &st->health, "health", err) != 0)
				rc = gw_state_bad(st, err, "%s", err->msg);
		} else if (is_guard) {
			if (gw_guardrail_from_json(v, &st->guardrail, "guardrail", err) != 0)
				rc = gw_state_bad(st, err, "%s", err->msg);
		} else if (!cJSON_IsNull(v)) {
			rc = gw_state_load_service(st, v, err);
		}
		cJSON_Delete(v);
		if (rc != 0)
			return rc;
	}
	if (rc < 0 || gw_json_scan_finish(&s, what, err) != 0)
		return gw_state_bad(st, err, "%s", err->msg);
	if (!posture_only)
		gw_state_migrate_keys(st);
	/* records must be sorted for the merge in gw_state_sort_requests */
	st->nsorted = 0;
	gw_state_sort_requests(st);
	return 0;
}

int
gw_state_load(const char *dir, unsigned mode, gw_state **out, gw_err *err)
{
	uint64_t now = gw_clock_unix_ms();
	gw_state *st = gw_state_new(dir);
	gw_state_defaults(st, now);
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
	/* record the recovery in the event log */
	gw_buf line = GW_BUF_INIT;
	gw_jw w;
	gw_jw_init(&w, &line, false);
	gw_jw_obj_begin(&w);
	gw_jw_ku64(&w, "timestamp_unix_ms", now);
	gw_jw_kstr(&w, "kind", "state_recovered");
	gw_jw_kstr(&w, "state_path", st->path);
	gw_jw_kstr(&w, "corrupt_path", st->corrupt_path);
	gw_jw_kstr(&w, "detail", st->notice);
	gw_jw_obj_end(&w);
	gw_events_append(dir, line.data, line.len, NULL);
	gw_buf_free(&line);
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

int
gw_state_save(gw_state *st, gw_err *err)
{
	gw_state_sort_requests(st);
	gw_buf out = GW_BUF_INIT;
	gw_buf_reserve(&out, 4096 + st->nkeys * 64 + st->nreqs * 420);
	gw_jw w;
	gw_jw_init(&w, &out, true);
	gw_jw_obj_begin(&w);
	gw_jw_ku64(&w, "schema_version", GW_STATE_SCHEMA);
	gw_jw_key(&w, "processed_case_keys");
	gw_jw_arr_begin(&w);
	for (size_t i = 0; i < st->nkeys; i++)
		gw_jw_str(&w, st->keys[i]);
	gw_jw_arr_end(&w);
	gw_jw_key(&w, "requests");
	gw_jw_arr_begin(&w);
	for (size_t i = 0; i < st->nreqs; i++) {
		const gw_request *r = st->reqs[i];
		gw_jw_obj_begin(&w);
		gw_jw_kstr(&w, "case_key", r->case_key);
		gw_jw_kstr(&w, "case_id", r->case_id);
		gw_jw_kstr(&w, "method", r->method);
		gw_jw_kstr(&w, "endpoint", r->endpoint);
		gw_jw_kstr(&w, "actor_id", r->actor_id);
		gw_jw_ku64(&w, "status_code", r->status_code);
		gw_jw_kstr(&w, "outcome", r->outcome);
		gw_jw_kstr(&w, "error_code", r->error_code);
		gw_jw_key(&w, "response_body");
		gw_jw_raw_json(&w, r->response_body, strlen(r->response_body));
		gw_jw_ku64(&w, "updated_unix_ms", r->updated_unix_ms);
		gw_jw_obj_end(&w);
	}
	gw_jw_arr_end(&w);
	gw_jw_key(&w, "health");
	gw_health_write_json(&w, &st->health);
	gw_jw_key(&w, "guardrail");
	gw_guardrail_write_json(&w, &st->guardrail);
	gw_jw_key(&w, "service");
	gw_state_write_service(&w, &st->service);
	gw_jw_obj_end(&w);
	int rc = gw_fs_mkdirs(st->dir, err);
	if (rc == 0)
		rc = gw_fs_write_atomic(st->path, out.data, out.len, err);
	gw_buf_free(&out);
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
			    "state %s does not exist (run --gateway-service-start first)", st->path);
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
	gw_jw_key(&w, "health");
	gw_health_write_json(&w, &st->health);
	gw_jw_key(&w, "guardrail");
	gw_guardrail_write_json(&w, &st->guardrail);
	gw_jw_key(&w, "service");
	gw_state_write_service(&w, &st->service);
	gw_jw_obj_end(&w);
}
