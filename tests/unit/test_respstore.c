/*
 * test_respstore.c - stored responses: save/load round trip, strict ids
 * (no path escapes), delete, and unknown ids; chains of records that
 * reference the response they continue: the walk, its bounds (it stops
 * reading once it has enough), loops, missing links, malformed ancestors
 * and records in the old whole-context format.
 */
#include "unit.h"

#include "core/openresponses/respcache.h"
#include "core/openresponses/respstore.h"
#include "core/openresponses/session.h"
#include "core/base/fs.h"
#include "core/base/json.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>

/* The store of a state directory: one at a time, reopened when the
 * directory changes, closed at the end (ST_close). */
static gw_store *st_cur;
static gw_store *
ST(const char *dir)
{
	if (st_cur == NULL || strcmp(gw_store_dir(st_cur), dir) != 0) {
		gw_store_close(st_cur);
		st_cur = NULL;
		gw_store_open_dir(dir, &st_cur, NULL);
	}
	return st_cur;
}
static int
ST_close(void **state)
{
	(void)state;
	gw_store_close(st_cur);
	st_cur = NULL;
	return 0;
}

/* Saves a root record (no previous id) with input items and no output. */
static int
save_root(const char *dir, const char *id, const char *key, const cJSON *items,
    const char *resp, gw_err *err)
{
	gw_respstore_rec rec = { .id = id, .session_key = key, .input_items = items,
		.response_json = resp, .response_len = strlen(resp) };
	return gw_respstore_save(ST(dir), &rec, err);
}

static void
test_roundtrip_and_delete(void **state)
{
	(void)state;
	char *dir = ut_tmpdir();
	gw_err err;
	cJSON *items = cJSON_Parse("[{\"type\":\"message\",\"role\":\"user\",\"content\":[]}]");
	const char *resp = "{\"id\":\"resp_1\",\"output\":[]}";
	assert_int_equal(save_root(dir, "resp_1", "k", items, resp, &err), 0);
	cJSON *rec;
	assert_int_equal(gw_respstore_load(ST(dir), "resp_1", &rec, &err), 0);
	assert_string_equal(cJSON_GetObjectItem(rec, "session_key")->valuestring, "k");
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(rec, "input_items")), 1);
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(rec, "response"), "id")->valuestring, "resp_1");
	cJSON_Delete(rec);
	assert_int_equal(gw_respstore_delete(ST(dir), "resp_1", &err), 0);
	assert_int_equal(gw_respstore_load(ST(dir), "resp_1", &rec, &err), -ENOENT);
	assert_int_equal(gw_respstore_delete(ST(dir), "resp_1", &err), -ENOENT);
	cJSON_Delete(items);
	ut_rmrf(dir);
	free(dir);
}

static void
test_ids(void **state)
{
	(void)state;
	assert_true(gw_respstore_id_ok("resp_0123abc-X"));
	assert_false(gw_respstore_id_ok(""));
	assert_false(gw_respstore_id_ok("../state"));
	assert_false(gw_respstore_id_ok("a/b"));
	assert_false(gw_respstore_id_ok("a.json"));
	cJSON *rec;
	gw_err err;
	assert_int_equal(gw_respstore_load(ST("/nonexistent"), "../../etc/passwd", &rec, &err), -ENOENT);
}

/* A record whose items are not what the providers and the API read is
 * refused on load, naming the file and the item, never handed on. */
static void
test_malformed_records_refused(void **state)
{
	(void)state;
	static const char *bad[] = {
		"{\"id\":\"resp_b\",\"session_key\":\"\",\"input_items\":[[1,2]],\"response\":{}}",
		"{\"input_items\":[{\"type\":\"message\",\"role\":\"user\",\"content\":[{\"type\":\"input_text\"}]}],\"response\":{}}",
		"{\"input_items\":[{\"type\":\"message\",\"content\":[]}],\"response\":{}}",
		"{\"input_items\":[{\"type\":\"function_call\",\"name\":\"f\"}],\"response\":{}}",
		"{\"input_items\":[{\"type\":\"function_call_output\",\"call_id\":7}],\"response\":{}}",
		"{\"input_items\":[{\"type\":\"message\",\"role\":\"user\",\"content\":[],\"id\":3}],\"response\":{}}",
		"{\"input_items\":[],\"response\":{\"output\":[{\"type\":\"mystery\"}]}}",
		"{\"input_items\":[],\"response\":{\"output\":{}}}",
		"{\"input_items\":[],\"response\":{},\"session_key\":5}",
		"{\"input_items\":[],\"response\":[]}",
		"{\"input_items\":[],\"response\":{},\"previous_response_id\":7}",
		"{\"input_items\":[],\"response\":{},\"previous_response_id\":\"../x\"}",
		"{\"input_items\":[],\"response\":{},\"previous_response_id\":\"resp_a\",\"history_items\":-1}",
		"{\"input_items\":[],\"response\":{},\"previous_response_id\":\"resp_a\",\"history_items\":\"2\"}",
		"{\"input_items\":[],\"response\":{},\"history_items\":2}",
		"[1]",
		"{\"input_items\":[",
	};
	char *dir = ut_tmpdir();
	char *rdir = gw_path_join(dir, "openresponses/responses");
	gw_err err;
	assert_int_equal(gw_fs_mkdirs(rdir, &err), 0);
	char *path = gw_path_join(rdir, "resp_b.json");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		FILE *f = fopen(path, "w");
		fputs(bad[i], f);
		fclose(f);
		cJSON *rec = (cJSON *)1;
		gw_err_clear(&err);
		int rc = gw_respstore_load(ST(dir), "resp_b", &rec, &err);
		if (rc != -EINVAL)
			fail_msg("record %zu [%s] gave rc %d", i, bad[i], rc);
		assert_null(rec);
		assert_int_equal(err.exit_code, GW_EXIT_DATAERR);
		ut_assert_contains(err.msg, "resp_b.json");
		/* a chain walk reads records its own (lean) way: refused as well */
		gw_respstore_chain c;
		gw_err_clear(&err);
		rc = gw_respstore_chain_load(ST(dir), NULL, "resp_b", 100, 0, &c, &err);
		if (rc != -EINVAL)
			fail_msg("walk of record %zu [%s] gave rc %d", i, bad[i], rc);
		assert_int_equal(err.exit_code, GW_EXIT_DATAERR);
		ut_assert_contains(err.msg, "resp_b.json");
		gw_respstore_chain_free(&c);
	}
	/* what the gateway itself writes loads */
	cJSON *items = cJSON_Parse("[{\"type\":\"message\",\"role\":\"user\",\"content\":[{\"type\":\"input_text\",\"text\":\"hi\"},{\"type\":\"input_image\",\"image_url\":\"data:,\"}]},"
	    "{\"type\":\"function_call\",\"call_id\":\"c\",\"name\":\"f\",\"arguments\":\"{}\"},"
	    "{\"type\":\"function_call_output\",\"call_id\":\"c\",\"output\":\"ok\"}]");
	const char *resp = "{\"id\":\"resp_b\",\"output\":[{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"content\":[{\"type\":\"output_text\",\"text\":\"x\"}]}]}";
	assert_int_equal(save_root(dir, "resp_b", "", items, resp, &err), 0);
	cJSON *rec = NULL;
	assert_int_equal(gw_respstore_load(ST(dir), "resp_b", &rec, &err), 0);
	cJSON_Delete(rec);
	cJSON_Delete(items);
	free(path);
	free(rdir);
	ut_rmrf(dir);
	free(dir);
}

static void
age(const char *dir, const char *id, const char *suffix, time_t t)
{
	gw_buf b = GW_BUF_INIT;
	gw_buf_printf(&b, "%s/openresponses/responses/%s%s", dir, id, suffix);
	struct timespec ts[2] = { { t, 0 }, { t, 0 } };
	assert_int_equal(utimensat(AT_FDCWD, b.data, ts, 0), 0);
	gw_buf_free(&b);
}

/* Records older than the TTL (and a crash's old temp file) are removed;
 * younger ones stay; "now" is a parameter, so nothing sleeps. */
static void
test_sweep_removes_expired_records(void **state)
{
	(void)state;
	char *dir = ut_tmpdir();
	gw_err err;
	size_t removed = 99;
	assert_int_equal(gw_respstore_sweep(ST(dir), (uint64_t)time(NULL), 60, &removed, &err), 0);
	assert_int_equal(removed, 0);
	cJSON *items = cJSON_Parse("[]");
	const char *resp = "{\"output\":[]}";
	assert_int_equal(save_root(dir, "resp_old", "", items, resp, &err), 0);
	assert_int_equal(save_root(dir, "resp_new", "", items, resp, &err), 0);
	char *tmp = gw_path_join(dir, "openresponses/responses/resp_x.json.tmp");
	ut_write(tmp, "{");
	/* file times are finer-grained than time()'s clock, so a file written
	 * just now can carry the next second: "now" is never before it */
	time_t now = time(NULL);
	char *newest = gw_path_join(dir, "openresponses/responses/resp_new.json");
	struct stat nst;
	assert_int_equal(stat(newest, &nst), 0);
	if (nst.st_mtime > now)
		now = nst.st_mtime;
	free(newest);
	age(dir, "resp_old", ".json", now - 7200);
	age(dir, "resp_x", ".json.tmp", now - 7200);
	assert_int_equal(gw_respstore_sweep(ST(dir), (uint64_t)now, 0, &removed, &err), 0);
	assert_int_equal(removed, 0);
	assert_int_equal(gw_respstore_sweep(ST(dir), (uint64_t)now, 3600, &removed, &err), 0);
	assert_int_equal(removed, 1);
	cJSON *rec;
	assert_int_equal(gw_respstore_load(ST(dir), "resp_old", &rec, &err), -ENOENT);
	assert_false(gw_fs_exists(tmp));
	assert_int_equal(gw_respstore_load(ST(dir), "resp_new", &rec, &err), 0);
	cJSON_Delete(rec);
	assert_int_equal(gw_respstore_sweep(ST(dir), (uint64_t)now + 3600, 3600, &removed, &err), 0);
	assert_int_equal(removed, 1);
	assert_int_equal(gw_respstore_load(ST(dir), "resp_new", &rec, &err), -ENOENT);
	free(tmp);
	cJSON_Delete(items);
	ut_rmrf(dir);
	free(dir);
}

/* ---- chains ------------------------------------------------------------ */

/* A user message "u<text>" and an assistant reply "a<text>". */
static cJSON *
msg(const char *role, const char *text)
{
	cJSON *m = cJSON_CreateObject();
	cJSON_AddStringToObject(m, "type", "message");
	cJSON_AddStringToObject(m, "role", role);
	cJSON *content = cJSON_AddArrayToObject(m, "content");
	cJSON *part = cJSON_CreateObject();
	cJSON_AddStringToObject(part, "type", strcmp(role, "assistant") == 0 ? "output_text" :
	    "input_text");
	cJSON_AddStringToObject(part, "text", text);
	cJSON_AddItemToArray(content, part);
	return m;
}

/* Saves turn `text` of a chain: one user item in, one assistant item out,
 * continuing prev (NULL: a root) after hist items of history. */
static void
save_turn(const char *dir, const char *id, const char *prev, uint64_t hist, const char *text)
{
	cJSON *in = cJSON_CreateArray();
	gw_buf t = GW_BUF_INIT;
	gw_buf_printf(&t, "u%s", text);
	cJSON_AddItemToArray(in, msg("user", t.data));
	cJSON *resp = cJSON_CreateObject();
	cJSON_AddStringToObject(resp, "id", id);
	cJSON *out = cJSON_AddArrayToObject(resp, "output");
	gw_buf_reset(&t);
	gw_buf_printf(&t, "a%s", text);
	cJSON_AddItemToArray(out, msg("assistant", t.data));
	char *rj = cJSON_PrintUnformatted(resp);
	gw_respstore_rec rec = { .id = id, .session_key = "", .previous_id = prev,
		.history_items = hist, .input_items = in, .response_json = rj,
		.response_len = strlen(rj) };
	gw_err err;
	assert_int_equal(gw_respstore_save(ST(dir), &rec, &err), 0);
	free(rj);
	cJSON_Delete(resp);
	cJSON_Delete(in);
	gw_buf_free(&t);
}

/* The texts of items, joined by spaces. */
static char *
texts(const cJSON *items)
{
	gw_buf b = GW_BUF_INIT;
	for (const cJSON *it = items ? items->child : NULL; it; it = it->next) {
		const cJSON *c = cJSON_GetObjectItem(it, "content");
		const char *t = c ? gw_json_str(c->child, "text") : NULL;
		gw_buf_printf(&b, "%s%s", b.len ? " " : "", t ? t : "?");
	}
	return b.len ? gw_buf_detach(&b) : gw_xstrdup("");
}

static void
assert_chain(const char *dir, const char *id, size_t max_items, size_t max_bytes,
    const char *want, size_t want_records, const char *want_cut)
{
	gw_respstore_chain c;
	gw_err err;
	gw_err_clear(&err);
	int rc = gw_respstore_chain_load(ST(dir), NULL, id, max_items, max_bytes, &c, &err);
	if (rc != 0)
		fail_msg("chain of %s: rc %d (%s)", id, rc, err.msg);
	char *got = texts(c.items);
	assert_string_equal(got, want);
	assert_int_equal(c.records, want_records);
	assert_string_equal(c.cut, want_cut);
	free(got);
	gw_respstore_chain_free(&c);
}

static size_t
file_size(const char *dir, const char *id)
{
	gw_buf b = GW_BUF_INIT;
	gw_buf_printf(&b, "%s/openresponses/responses/%s.json", dir, id);
	struct stat st;
	assert_int_equal(stat(b.data, &st), 0);
	gw_buf_free(&b);
	return (size_t)st.st_size;
}

/* A continuation stores only its own turn; walking the links rebuilds the
 * whole context in order, branches included; a record's size does not
 * grow with its position in the chain. */
static void
test_chain_walk(void **state)
{
	(void)state;
	char *dir = ut_tmpdir();
	save_turn(dir, "resp_1", NULL, 0, "1");
	char prev[32] = "resp_1", id[32];
	for (int i = 2; i <= 40; i++) {
		snprintf(id, sizeof(id), "resp_%d", i);
		char t[8];
		snprintf(t, sizeof(t), "%d", i);
		save_turn(dir, id, prev, (uint64_t)(2 * (i - 1)), t);
		memcpy(prev, id, sizeof(prev));
	}
	assert_chain(dir, "resp_1", 100, 0, "u1 a1", 1, "");
	assert_chain(dir, "resp_3", 100, 0, "u1 a1 u2 a2 u3 a3", 3, "");
	/* the file holds its own turn and the link, nothing earlier */
	cJSON *rec;
	gw_err err;
	assert_int_equal(gw_respstore_load(ST(dir), "resp_3", &rec, &err), 0);
	assert_string_equal(gw_json_str(rec, "previous_response_id"), "resp_2");
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(rec, "input_items")), 1);
	cJSON_Delete(rec);
	/* O(turns): turn 40's record is as large as turn 10's, give or take
	 * the digits of its ids and counts */
	assert_in_range(file_size(dir, "resp_40"), file_size(dir, "resp_10"),
	    file_size(dir, "resp_10") + 8);
	/* a branch from an earlier turn sees that turn's history only */
	save_turn(dir, "resp_b", "resp_2", 4, "b");
	assert_chain(dir, "resp_b", 100, 0, "u1 a1 u2 a2 ub ab", 3, "");
	/* the whole chain, when the bound allows it */
	gw_respstore_chain c;
	assert_int_equal(gw_respstore_chain_load(ST(dir), NULL, "resp_40", 1000, 0, &c, &err), 0);
	assert_int_equal(cJSON_GetArraySize(c.items), 80);
	assert_int_equal(c.records, 40);
	gw_respstore_chain_free(&c);
	ut_rmrf(dir);
	free(dir);
}

/* The bound keeps the newest items, begins at a user turn, and the walk
 * stops reading records as soon as it has enough. */
static void
test_chain_bounded(void **state)
{
	(void)state;
	char *dir = ut_tmpdir();
	save_turn(dir, "resp_1", NULL, 0, "1");
	char prev[32] = "resp_1", id[32];
	for (int i = 2; i <= 10; i++) {
		snprintf(id, sizeof(id), "resp_%d", i);
		char t[8];
		snprintf(t, sizeof(t), "%d", i);
		save_turn(dir, id, prev, 0, t);
		memcpy(prev, id, sizeof(prev));
	}
	assert_chain(dir, "resp_10", 4, 0, "u9 a9 u10 a10", 2, "");
	/* 3 newest is a9 u10 a10: cut to begin at the user's turn */
	assert_chain(dir, "resp_10", 3, 0, "u10 a10", 2, "");
	assert_chain(dir, "resp_10", 5, 0, "u9 a9 u10 a10", 3, "");
	assert_chain(dir, "resp_10", 6, 0, "u8 a8 u9 a9 u10 a10", 3, "");
	/* 0 items: only the named record is read (it must exist) */
	assert_chain(dir, "resp_10", 0, 0, "", 1, "");
	/* a byte bound: these items weigh 79 to 86 bytes (JSON and a line end) */
	assert_chain(dir, "resp_10", 100, 340, "u9 a9 u10 a10", 3, "");
	assert_chain(dir, "resp_10", 100, 300, "u10 a10", 2, "");
	/* records beyond the bound are never read: a damaged one there is
	 * not noticed */
	char *p = gw_path_join(dir, "openresponses/responses/resp_2.json");
	ut_write(p, "{garbage");
	assert_chain(dir, "resp_10", 4, 0, "u9 a9 u10 a10", 2, "");
	free(p);
	ut_rmrf(dir);
	free(dir);
}

/* A loop (which only a hand-edited record can make) is an error naming
 * the records, never a hang; so is a damaged ancestor the walk needs. */
static void
test_chain_loop_and_malformed(void **state)
{
	(void)state;
	char *dir = ut_tmpdir();
	save_turn(dir, "resp_a", "resp_c", 100, "a");
	save_turn(dir, "resp_b", "resp_a", 100, "b");
	save_turn(dir, "resp_c", "resp_b", 100, "c");
	save_turn(dir, "resp_self", "resp_self", 100, "s");
	gw_respstore_chain c;
	gw_err err;
	gw_err_clear(&err);
	assert_int_equal(gw_respstore_chain_load(ST(dir), NULL, "resp_c", 1000, 0, &c, &err), -ELOOP);
	assert_int_equal(err.exit_code, GW_EXIT_DATAERR);
	ut_assert_contains(err.msg, "loops: 'resp_a' continues 'resp_c'");
	assert_int_equal(cJSON_GetArraySize(c.items), 0);
	gw_respstore_chain_free(&c);
	assert_int_equal(gw_respstore_chain_load(ST(dir), NULL, "resp_self", 1000, 0, &c, &err), -ELOOP);
	gw_respstore_chain_free(&c);
	/* input_items of a record in a loop: the same error */
	cJSON *rec, *items = (cJSON *)1;
	assert_int_equal(gw_respstore_load(ST(dir), "resp_b", &rec, &err), 0);
	assert_int_equal(gw_respstore_input_items(ST(dir), rec, &items, &err), -ELOOP);
	assert_null(items);
	cJSON_Delete(rec);

	save_turn(dir, "resp_1", NULL, 0, "1");
	save_turn(dir, "resp_2", "resp_1", 2, "2");
	save_turn(dir, "resp_3", "resp_2", 4, "3");
	char *p = gw_path_join(dir, "openresponses/responses/resp_1.json");
	ut_write(p, "{\"input_items\":[{\"type\":\"message\",\"content\":[]}],\"response\":{}}");
	gw_err_clear(&err);
	assert_int_equal(gw_respstore_chain_load(ST(dir), NULL, "resp_3", 1000, 0, &c, &err), -EINVAL);
	ut_assert_contains(err.msg, "resp_1.json: input_items[0]");
	gw_respstore_chain_free(&c);
	free(p);
	ut_rmrf(dir);
	free(dir);
}

/* A walk with a cache gives what one without gives, bounds included; a
 * cached record is taken from the cache (its file is only checked to be
 * there), and a record removed behind the cache's back (another process,
 * the sweep) still cuts the chain, or is -ENOENT when it is the named
 * one. */
static void
test_chain_cached(void **state)
{
	(void)state;
	char *dir = ut_tmpdir();
	save_turn(dir, "resp_1", NULL, 0, "1");
	char prev[32] = "resp_1", id[32];
	for (int i = 2; i <= 12; i++) {
		snprintf(id, sizeof(id), "resp_%d", i);
		char t[8];
		snprintf(t, sizeof(t), "%d", i);
		save_turn(dir, id, prev, (uint64_t)(2 * (i - 1)), t);
		memcpy(prev, id, sizeof(prev));
	}
	gw_respcache *cache = gw_respcache_new(1 << 20);
	size_t counts[] = { 0, 3, 7, 100 }, bytes[] = { 0, 60, 200 };
	for (int round = 0; round < 2; round++) /* filled by the first round's walks */
		for (size_t a = 0; a < 4; a++)
			for (size_t b = 0; b < 3; b++) {
				gw_respstore_chain c1, c2;
				gw_err err;
				assert_int_equal(gw_respstore_chain_load(ST(dir), NULL, "resp_12", counts[a],
				    bytes[b], &c1, &err), 0);
				assert_int_equal(gw_respstore_chain_load(ST(dir), cache, "resp_12", counts[a],
				    bytes[b], &c2, &err), 0);
				char *t1 = texts(c1.items), *t2 = texts(c2.items);
				assert_string_equal(t1, t2);
				assert_int_equal(c1.records, c2.records);
				free(t1);
				free(t2);
				gw_respstore_chain_free(&c1);
				gw_respstore_chain_free(&c2);
			}
	assert_int_equal(gw_respcache_count(cache), 12);
	/* taken from the cache: a cached record's file that no longer reads
	 * does not matter while it is there */
	gw_buf path = GW_BUF_INIT;
	gw_buf_printf(&path, "%s/openresponses/responses/resp_5.json", dir);
	ut_write(path.data, "not a record");
	gw_respstore_chain c;
	gw_err err;
	assert_int_equal(gw_respstore_chain_load(ST(dir), cache, "resp_12", 100, 0, &c, &err), 0);
	assert_int_equal(c.records, 12);
	gw_respstore_chain_free(&c);
	/* removed behind its back: cut there, and it leaves the cache */
	assert_int_equal(unlink(path.data), 0);
	assert_int_equal(gw_respstore_chain_load(ST(dir), cache, "resp_12", 100, 0, &c, &err), 0);
	assert_int_equal(c.records, 7);
	assert_string_equal(c.cut, "resp_5");
	gw_respstore_chain_free(&c);
	assert_int_equal(gw_respcache_count(cache), 11);
	gw_buf_reset(&path);
	gw_buf_printf(&path, "%s/openresponses/responses/resp_12.json", dir);
	assert_int_equal(unlink(path.data), 0);
	assert_int_equal(gw_respstore_chain_load(ST(dir), cache, "resp_12", 100, 0, &c, &err),
	    -ENOENT);
	gw_respstore_chain_free(&c);
	/* a record the server saved goes in as a walk would read it */
	cJSON *in = cJSON_Parse("[{\"type\":\"message\",\"role\":\"user\",\"content\":"
	    "[{\"type\":\"input_text\",\"text\":\"u13\"}]}]");
	const char *rj = "{\"id\":\"resp_13\",\"output\":[{\"type\":\"message\","
	    "\"role\":\"assistant\",\"content\":[{\"type\":\"output_text\",\"text\":\"a13\"}]}]}";
	gw_respstore_rec rec = { .id = "resp_13", .session_key = "k", .previous_id = "resp_11",
		.history_items = 22, .input_items = in, .response_json = rj,
		.response_len = strlen(rj) };
	assert_int_equal(gw_respstore_save(ST(dir), &rec, &err), 0);
	gw_respstore_cache_put(cache, GW_STORE_FILES, &rec);
	const gw_respcache_entry *e = gw_respcache_get(cache, "resp_13");
	assert_non_null(e);
	assert_string_equal(e->previous_id, "resp_11");
	assert_string_equal(e->session_key, "k");
	assert_int_equal(e->count, 2);
	assert_int_equal(e->text_len, file_size(dir, "resp_13"));
	gw_respcache_release(cache, e);
	assert_chain(dir, "resp_13", 4, 0, "u11 a11 u13 a13", 2, "");
	assert_int_equal(gw_respstore_chain_load(ST(dir), cache, "resp_13", 4, 0, &c, &err), 0);
	char *t = texts(c.items);
	assert_string_equal(t, "u11 a11 u13 a13");
	free(t);
	gw_respstore_chain_free(&c);
	cJSON_Delete(in);
	gw_buf_free(&path);
	gw_respcache_free(cache);
	ut_rmrf(dir);
	free(dir);
}

/* A deleted (or expired) ancestor cuts its descendants' context there;
 * the named record itself must exist. */
static void
test_chain_missing_link(void **state)
{
	(void)state;
	char *dir = ut_tmpdir();
	save_turn(dir, "resp_1", NULL, 0, "1");
	save_turn(dir, "resp_2", "resp_1", 2, "2");
	save_turn(dir, "resp_3", "resp_2", 4, "3");
	save_turn(dir, "resp_4", "resp_3", 6, "4");
	gw_err err;
	assert_int_equal(gw_respstore_delete(ST(dir), "resp_2", &err), 0);
	assert_chain(dir, "resp_4", 100, 0, "u3 a3 u4 a4", 2, "resp_2");
	gw_respstore_chain c;
	assert_int_equal(gw_respstore_chain_load(ST(dir), NULL, "resp_2", 100, 0, &c, &err), -ENOENT);
	gw_respstore_chain_free(&c);
	/* input_items: what is left of the context the model saw */
	cJSON *rec, *items;
	assert_int_equal(gw_respstore_load(ST(dir), "resp_4", &rec, &err), 0);
	assert_int_equal(gw_respstore_input_items(ST(dir), rec, &items, &err), 0);
	char *got = texts(items);
	assert_string_equal(got, "u3 a3 u4");
	free(got);
	cJSON_Delete(items);
	cJSON_Delete(rec);
	/* the parent itself gone: no history at all */
	assert_int_equal(gw_respstore_load(ST(dir), "resp_3", &rec, &err), 0);
	assert_int_equal(gw_respstore_delete(ST(dir), "resp_2", &err), -ENOENT);
	assert_int_equal(gw_respstore_input_items(ST(dir), rec, &items, &err), 0);
	got = texts(items);
	assert_string_equal(got, "u3");
	free(got);
	cJSON_Delete(items);
	cJSON_Delete(rec);
	ut_rmrf(dir);
	free(dir);
}

/* input_items lists exactly the history_items newest items of the chain
 * (what the model saw), then the record's own input. */
static void
test_chain_input_items(void **state)
{
	(void)state;
	char *dir = ut_tmpdir();
	save_turn(dir, "resp_1", NULL, 0, "1");
	save_turn(dir, "resp_2", "resp_1", 2, "2");
	save_turn(dir, "resp_3", "resp_2", 2, "3"); /* the model saw u2 a2 only */
	gw_err err;
	cJSON *rec, *items;
	assert_int_equal(gw_respstore_load(ST(dir), "resp_3", &rec, &err), 0);
	assert_int_equal(gw_respstore_input_items(ST(dir), rec, &items, &err), 0);
	char *got = texts(items);
	assert_string_equal(got, "u2 a2 u3");
	free(got);
	cJSON_Delete(items);
	cJSON_Delete(rec);
	assert_int_equal(gw_respstore_load(ST(dir), "resp_1", &rec, &err), 0);
	assert_int_equal(gw_respstore_input_items(ST(dir), rec, &items, &err), 0);
	got = texts(items);
	assert_string_equal(got, "u1");
	free(got);
	cJSON_Delete(items);
	cJSON_Delete(rec);
	ut_rmrf(dir);
	free(dir);
}

/* A record written before chains existed (the whole context copied, no
 * link) loads, lists its input items and is continued like a root. */
static void
test_chain_old_record(void **state)
{
	(void)state;
	char *dir = ut_tmpdir();
	char *rdir = gw_path_join(dir, "openresponses/responses");
	gw_err err;
	assert_int_equal(gw_fs_mkdirs(rdir, &err), 0);
	char *p = gw_path_join(rdir, "resp_old.json");
	ut_write(p, "{\"id\":\"resp_old\",\"session_key\":\"\",\"input_items\":["
	    "{\"type\":\"message\",\"role\":\"user\",\"content\":[{\"type\":\"input_text\",\"text\":\"u1\"}]},"
	    "{\"type\":\"message\",\"role\":\"assistant\",\"content\":[{\"type\":\"output_text\",\"text\":\"a1\"}]},"
	    "{\"type\":\"message\",\"role\":\"user\",\"content\":[{\"type\":\"input_text\",\"text\":\"u2\"}]}],"
	    "\"response\":{\"id\":\"resp_old\",\"previous_response_id\":\"resp_gone\",\"output\":["
	    "{\"type\":\"message\",\"role\":\"assistant\",\"content\":[{\"type\":\"output_text\",\"text\":\"a2\"}]}]}}\n");
	cJSON *rec, *items;
	assert_int_equal(gw_respstore_load(ST(dir), "resp_old", &rec, &err), 0);
	assert_int_equal(gw_respstore_input_items(ST(dir), rec, &items, &err), 0);
	char *got = texts(items);
	assert_string_equal(got, "u1 a1 u2");
	free(got);
	cJSON_Delete(items);
	cJSON_Delete(rec);
	/* the response's own previous_response_id is not a link */
	assert_chain(dir, "resp_old", 100, 0, "u1 a1 u2 a2", 1, "");
	save_turn(dir, "resp_new", "resp_old", 4, "3");
	assert_chain(dir, "resp_new", 100, 0, "u1 a1 u2 a2 u3 a3", 2, "");
	assert_chain(dir, "resp_new", 4, 0, "u2 a2 u3 a3", 2, "");
	assert_chain(dir, "resp_new", 3, 0, "u3 a3", 2, "");
	free(p);
	free(rdir);
	ut_rmrf(dir);
	free(dir);
}

/* The walk reads members by their decoded names, as a full load does:
 * escaped keys name the same members. */
static void
test_chain_escaped_keys(void **state)
{
	(void)state;
	char *dir = ut_tmpdir();
	save_turn(dir, "resp_1", NULL, 0, "1");
	char *p = gw_path_join(dir, "openresponses/responses/resp_2.json");
	ut_write(p, "{\"previous\\u005fresponse_id\":\"resp_1\",\"history_items\":2,"
	    "\"input_items\":[{\"type\":\"message\",\"role\":\"user\",\"content\":"
	    "[{\"type\":\"input_text\",\"text\":\"u2\"}]}],\"\\u0072esponse\":{\"x\":[1,{\"y\":\"}\"}],"
	    "\"outp\\u0075t\":[{\"type\":\"message\",\"role\":\"assistant\",\"content\":"
	    "[{\"type\":\"output_text\",\"text\":\"a2\"}]}]}}\n");
	assert_chain(dir, "resp_2", 100, 0, "u1 a1 u2 a2", 2, "");
	free(p);
	ut_rmrf(dir);
	free(dir);
}

/* A chain's context and a session's history holding the same turns are
 * bounded alike, by count and by bytes (one weight for both:
 * gw_resp_items_bound), whatever the items' sizes. */
static void
test_chain_and_session_bounded_alike(void **state)
{
	(void)state;
	char *dir = ut_tmpdir();
	gw_session *s;
	gw_err err;
	char prev[32] = "", id[32];
	for (int i = 1; i <= 30; i++) {
		/* texts of varying length, so the bound falls anywhere */
		char t[256];
		size_t len = (size_t)(i * 37 % 200) + 4;
		memset(t, 'x', len);
		int n = snprintf(t, sizeof(t), "%d-", i);
		t[n] = 'x';
		t[len] = '\0';
		snprintf(id, sizeof(id), "resp_%d", i);
		save_turn(dir, id, prev[0] ? prev : NULL, 0, t);
		memcpy(prev, id, sizeof(prev));
		assert_int_equal(gw_session_open(dir, "k", 100000, 0, 60000, NULL, &s, &err), 0);
		cJSON *in = cJSON_CreateArray(), *out = cJSON_CreateArray();
		gw_buf u = GW_BUF_INIT;
		gw_buf_printf(&u, "u%s", t);
		cJSON_AddItemToArray(in, msg("user", u.data));
		gw_buf_reset(&u);
		gw_buf_printf(&u, "a%s", t);
		cJSON_AddItemToArray(out, msg("assistant", u.data));
		assert_int_equal(gw_session_append(s, id, in, out, &err), 0);
		gw_session_close(s);
		cJSON_Delete(in);
		cJSON_Delete(out);
		gw_buf_free(&u);
	}
	const size_t counts[] = { 0, 3, 7, 20, 60 };
	const size_t bytes[] = { 0, 4096, 5000, 6000, 7777 };
	size_t compared = 0;
	for (size_t a = 0; a < 5; a++) {
		for (size_t b = 0; b < 5; b++) {
			if (counts[a] == 0)
				continue; /* a session keeps at least one item */
			gw_respstore_chain c;
			assert_int_equal(gw_respstore_chain_load(ST(dir), NULL, "resp_30", counts[a], bytes[b], &c,
			    &err), 0);
			assert_int_equal(gw_session_open(dir, "k", counts[a], bytes[b], 60000, NULL, &s,
			    &err), 0);
			char *want = texts(gw_session_history(s)), *got = texts(c.items);
			if (strcmp(want, got) != 0)
				fail_msg("bound %zu items, %zu bytes: session [%s] chain [%s]", counts[a],
				    bytes[b], want, got);
			compared += cJSON_GetArraySize(c.items) > 0;
			free(want);
			free(got);
			gw_session_close(s);
			gw_respstore_chain_free(&c);
		}
	}
	assert_true(compared >= 15); /* the comparisons were of something */
	ut_rmrf(dir);
	free(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip_and_delete),
		cmocka_unit_test(test_ids),
		cmocka_unit_test(test_malformed_records_refused),
		cmocka_unit_test(test_sweep_removes_expired_records),
		cmocka_unit_test(test_chain_walk),
		cmocka_unit_test(test_chain_bounded),
		cmocka_unit_test(test_chain_loop_and_malformed),
		cmocka_unit_test(test_chain_missing_link),
		cmocka_unit_test(test_chain_cached),
		cmocka_unit_test(test_chain_input_items),
		cmocka_unit_test(test_chain_old_record),
		cmocka_unit_test(test_chain_escaped_keys),
		cmocka_unit_test(test_chain_and_session_bounded_alike),
	};
	return cmocka_run_group_tests(tests, NULL, ST_close);
}
