/*
 * test_records.c - the records store behind state.json: appends and
 * lookups across reloads, compaction into the next snapshot generation (the
 * old one removed, overrides and deletions applied), the processed-key cap
 * over log and memory and over the snapshot's processing-order index, the counters against a full walk, an actor's
 * records for MEMORY.md, uncommitted and torn log tails, damaged and newer
 * snapshots, the line format itself, and MEMORY.md lines spliced from the
 * snapshot's rendered lines against a render of every record.
 */
#include "unit.h"
#include "state_util.h"

#include "core/gateway/records.h"
#include "core/gateway/state.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

/* Loads f's state for writing (the test is the only writer). */
static gw_state *
load_w(ut_statedir *f)
{
	gw_state *st;
	gw_err err;
	gw_err_clear(&err);
	assert_int_equal(gw_state_load(f->dir, GW_STATE_WRITE, &st, &err), 0);
	return st;
}

static void
save(gw_state *st)
{
	gw_err err;
	gw_err_clear(&err);
	int rc = gw_state_save(st, &err);
	if (rc != 0)
		print_error("save: %s\n", err.msg);
	assert_int_equal(rc, 0);
}

/* Upserts a record for key "GET:/e/<i>:c<i>" (actor a<i % 3>) with the given
 * status, marks it processed unless it is a failure, and returns the key. */
static const char *
put(gw_state *st, int i, uint64_t status, char *key, size_t n)
{
	snprintf(key, n, "GET:/e/%d:c%d", i, i);
	gw_request *q = gw_state_upsert_request(st, key);
	char tmp[32];
	snprintf(tmp, sizeof(tmp), "c%d", i);
	q->case_id = gw_state_strdup(st, tmp);
	q->method = i % 2 ? "get" : "POST";
	snprintf(tmp, sizeof(tmp), "/e/%d", i);
	q->endpoint = gw_state_strdup(st, tmp);
	snprintf(tmp, sizeof(tmp), "a%d", i % 3);
	q->actor_id = gw_state_strdup(st, tmp);
	q->status_code = status;
	q->outcome = status >= 500 ? "retryable_failure" : "success";
	q->error_code = status >= 500 ? "gateway_backend_unavailable" : "";
	/* a body of a few hundred bytes, so compaction comes within a few
	 * thousand records */
	q->response_body = "{\"pad\":\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}";
	q->updated_unix_ms = (uint64_t)i;
	if (status < 500)
		gw_state_mark_processed(st, key);
	return key;
}

static uint64_t
json_u64(const char *text, const char *member)
{
	cJSON *d = cJSON_Parse(text);
	assert_non_null(d);
	const cJSON *r = cJSON_GetObjectItemCaseSensitive(d, "records");
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(r, member);
	uint64_t out = 0;
	assert_true(gw_json_as_u64(v, &out));
	cJSON_Delete(d);
	return out;
}

static uint64_t
state_u64(ut_statedir *f, const char *member)
{
	char *text = ut_read(f->state);
	uint64_t v = json_u64(text, member);
	free(text);
	return v;
}

static off_t
file_size(const char *dir, const char *name)
{
	char *p = ut_join(dir, name);
	struct stat sb;
	off_t n = stat(p, &sb) == 0 ? sb.st_size : -1;
	free(p);
	return n;
}

static size_t
lines_of(const char *dir, const char *name)
{
	char *p = ut_join(dir, name);
	size_t n = ut_count_lines(p);
	free(p);
	return n;
}

/* Number of records-*.snap files in dir. */
static int
snapshots(const char *dir)
{
	DIR *d = opendir(dir);
	assert_non_null(d);
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		size_t len = strlen(e->d_name);
		n += strncmp(e->d_name, "records-", 8) == 0 && len > 5 &&
		    strcmp(e->d_name + len - 5, ".snap") == 0;
	}
	closedir(d);
	return n;
}

static void
test_append_and_lookup_across_reloads(void **state)
{
	ut_statedir *f = *state;
	char key[64];
	gw_state *st = load_w(f);
	for (int i = 0; i < 10; i++)
		put(st, i, 200, key, sizeof(key));
	put(st, 10, 503, key, sizeof(key));
	save(st);
	gw_state_free(st);
	/* the log holds the eleven entries, committed by state.json */
	assert_int_equal(state_u64(f, "log_bytes"), file_size(f->dir, "records.log"));
	assert_int_equal(state_u64(f, "generation"), 0);
	assert_int_equal(lines_of(f->dir, "records.log"), 11);

	st = load_w(f);
	assert_int_equal(st->nkeys, 10);
	assert_int_equal(st->nreqs, 11);
	assert_true(gw_state_is_processed(st, "GET:/e/3:c3"));
	assert_false(gw_state_is_processed(st, "GET:/e/10:c10")); /* a failure: stored only */
	assert_false(gw_state_is_processed(st, "GET:/e/11:c11"));
	gw_request *q = gw_state_find_request(st, "GET:/e/10:c10");
	assert_non_null(q);
	assert_string_equal(q->outcome, "retryable_failure");
	assert_string_equal(q->actor_id, "a1");
	assert_int_equal(q->status_code, 503);
	assert_null(gw_state_find_request(st, "GET:/e/11:c11"));
	/* a second save with one change appends one line */
	off_t before = file_size(f->dir, "records.log");
	put(st, 10, 201, key, sizeof(key));
	save(st);
	gw_state_free(st);
	assert_true(file_size(f->dir, "records.log") > before);
	assert_int_equal(lines_of(f->dir, "records.log"), 12);
	st = load_w(f);
	assert_int_equal(st->nkeys, 11);
	assert_int_equal(st->nreqs, 11);
	assert_string_equal(gw_state_find_request(st, "GET:/e/10:c10")->outcome, "success");
	/* a save with nothing touched writes no record line */
	before = file_size(f->dir, "records.log");
	save(st);
	gw_state_free(st);
	assert_int_equal(file_size(f->dir, "records.log"), before);
}

static void
test_compaction_writes_next_generation(void **state)
{
	ut_statedir *f = *state;
	char key[64];
	int gen_seen = 0;
	/* 12 saves of 400 records (~500 bytes each): the log passes 1 MiB, so
	 * compaction runs, more than once */
	for (int round = 0; round < 12; round++) {
		gw_state *st = load_w(f);
		for (int i = 0; i < 400; i++)
			put(st, round * 400 + i, 200, key, sizeof(key));
		if (round > 0) /* and rewrite one of the first round's records */
			put(st, round, 202, key, sizeof(key));
		save(st);
		gw_state_free(st);
		uint64_t gen = state_u64(f, "generation");
		if (gen > 0) {
			gen_seen++;
			/* the current snapshot only: an old generation is removed */
			assert_int_equal(snapshots(f->dir), 1);
			char name[64];
			snprintf(name, sizeof(name), "records-%llu.snap", (unsigned long long)gen);
			assert_true(file_size(f->dir, name) > 0);
		}
		assert_int_equal(state_u64(f, "log_bytes"), file_size(f->dir, "records.log") < 0 ? 0 :
		    (uint64_t)file_size(f->dir, "records.log"));
	}
	assert_true(gen_seen > 0);
	assert_true(state_u64(f, "generation") >= 2);
	gw_state *st = load_w(f);
	assert_int_equal(st->nkeys, 4800);
	assert_int_equal(st->nreqs, 4800);
	for (int i = 0; i < 4800; i += 97) {
		snprintf(key, sizeof(key), "GET:/e/%d:c%d", i, i);
		assert_true(gw_state_is_processed(st, key));
		gw_request *q = gw_state_find_request(st, key);
		assert_non_null(q);
		assert_int_equal(q->updated_unix_ms, (uint64_t)i);
		assert_int_equal(q->status_code, i >= 1 && i < 12 ? 202 : 200);
	}
	/* processing order survives compaction */
	ut_list pk = ut_processed(st);
	assert_int_equal(pk.n, 4800);
	assert_string_equal(pk.s[0], "GET:/e/0:c0");
	assert_string_equal(pk.s[4799], "GET:/e/4799:c4799");
	ut_list_free(&pk);
	gw_state_free(st);
}

/* The counters state.json keeps equal what a walk of every record finds. */
typedef struct tally {
	size_t reqs, keys, get, post, s200, s201, s202, s503, unavailable;
} tally;

static void
tally_add(void *ctx, const char *key, uint64_t seq, const gw_request *q)
{
	(void)key;
	tally *t = ctx;
	t->keys += seq != 0;
	if (q == NULL)
		return;
	t->reqs++;
	t->get += strcmp(q->method, "get") == 0;
	t->post += strcmp(q->method, "POST") == 0;
	t->s200 += q->status_code == 200;
	t->s201 += q->status_code == 201;
	t->s202 += q->status_code == 202;
	t->s503 += q->status_code == 503;
	t->unavailable += strcmp(q->error_code, "gateway_backend_unavailable") == 0;
}

static uint64_t
count_of(const gw_count_map *m, const char *k)
{
	for (size_t i = 0; i < m->n; i++)
		if (strcmp(m->items[i].key, k) == 0)
			return m->items[i].count;
	return 0;
}

static void
test_counters_match_a_full_walk(void **state)
{
	ut_statedir *f = *state;
	char key[64];
	for (int round = 0; round < 4; round++) {
		gw_state *st = load_w(f);
		for (int i = 0; i < 300; i++) {
			int k = (i * 7 + round * 131) % 500;  /* new keys and rewrites */
			uint64_t status = (k + round) % 5 == 0 ? 503 : (round % 2 ? 201 : 200);
			put(st, k, status, key, sizeof(key));
		}
		save(st);
		gw_state_free(st);
	}
	gw_state *st = load_w(f);
	tally t = { 0 };
	gw_err err;
	assert_int_equal(gw_state_each_entry(st, tally_add, &t, &err), 0);
	assert_int_equal(st->nreqs, t.reqs);
	assert_int_equal(st->nkeys, t.keys);
	assert_int_equal(count_of(&st->method_counts, "GET"), t.get);
	assert_int_equal(count_of(&st->method_counts, "POST"), t.post);
	assert_int_equal(count_of(&st->status_code_counts, "200"), t.s200);
	assert_int_equal(count_of(&st->status_code_counts, "201"), t.s201);
	assert_int_equal(count_of(&st->status_code_counts, "503"), t.s503);
	assert_int_equal(count_of(&st->error_code_counts, "gateway_backend_unavailable"), t.unavailable);
	assert_true(t.s503 > 0 && t.s200 > 0 && t.s201 > 0);
	/* a count that falls to zero is gone from the map */
	assert_int_equal(count_of(&st->status_code_counts, "202"), 0);
	gw_state_free(st);
}

/* Counters past 2^31 (a long-lived gateway) load and keep counting: they
 * are uint64 on disk and in memory, never squeezed through an int. */
static void
test_counters_past_int_range_load(void **state)
{
	ut_statedir *f = *state;
	char key[64];
	gw_state *st = load_w(f);
	put(st, 1, 200, key, sizeof(key));
	save(st);
	gw_state_free(st);
	/* as if 5e9 GET requests had been counted */
	char *text = ut_read(f->state);
	char *at = strstr(text, "\"GET\": 1");
	assert_non_null(at);
	gw_buf b = GW_BUF_INIT;
	gw_buf_append(&b, text, (size_t)(at - text));
	gw_buf_printf(&b, "\"GET\": 5000000000%s", at + strlen("\"GET\": 1"));
	ut_write(f->state, gw_buf_cstr(&b));
	gw_buf_free(&b);
	free(text);
	st = load_w(f);
	assert_int_equal(count_of(&st->method_counts, "GET"), 5000000000ULL);
	put(st, 3, 200, key, sizeof(key)); /* odd: another GET */
	save(st);
	gw_state_free(st);
	gw_err err;
	assert_int_equal(gw_state_load(f->dir, GW_STATE_READ, &st, &err), 0);
	assert_int_equal(count_of(&st->method_counts, "GET"), 5000000001ULL);
	gw_state_free(st);
}

static void
test_cap_drops_oldest_unpinned_across_store(void **state)
{
	ut_statedir *f = *state;
	char key[64];
	gw_state *st = load_w(f);
	for (int i = 0; i < 30; i++)
		put(st, i, 200, key, sizeof(key));
	save(st);
	gw_state_free(st);
	st = load_w(f);
	for (int i = 30; i < 40; i++)
		put(st, i, 200, key, sizeof(key));
	/* keys 0 and 1 are pinned (the running fixture's): never dropped */
	gw_state_pin_processed(st, "GET:/e/0:c0");
	gw_state_pin_processed(st, "GET:/e/1:c1");
	gw_state_cap_processed(st, 10);
	assert_int_equal(st->nkeys, 10);
	save(st);
	gw_state_free(st);
	st = load_w(f);
	assert_int_equal(st->nkeys, 10);
	ut_list pk = ut_processed(st);
	assert_int_equal(pk.n, 10);
	assert_string_equal(pk.s[0], "GET:/e/0:c0");
	assert_string_equal(pk.s[1], "GET:/e/1:c1");
	assert_string_equal(pk.s[2], "GET:/e/32:c32");
	assert_string_equal(pk.s[9], "GET:/e/39:c39");
	ut_list_free(&pk);
	assert_false(gw_state_is_processed(st, "GET:/e/31:c31"));
	/* records stay: the cap drops keys only */
	assert_int_equal(st->nreqs, 40);
	assert_non_null(gw_state_find_request(st, "GET:/e/31:c31"));
	gw_state_free(st);
}

/* The cap on a store with a snapshot: the oldest keys come from its
 * processing-order index merged with the log's and the touched ones, a
 * key the log changed is taken at its place, pins are passed over. */
static void
test_cap_takes_oldest_from_snapshot_log_and_memory(void **state)
{
	ut_statedir *f = *state;
	char key[64];
	gw_state *st = load_w(f);
	for (int i = 0; i < 3000; i++)  /* past 1 MiB: a snapshot, key i has seq i + 1 */
		put(st, i, 200, key, sizeof(key));
	save(st);
	gw_state_free(st);
	assert_int_equal(state_u64(f, "generation"), 1);
	st = load_w(f);
	for (int i = 3000; i < 3010; i++)  /* in the log */
		put(st, i, 200, key, sizeof(key));
	gw_request *q = gw_state_upsert_request(st, "GET:/e/5:c5");  /* key 5: a log line now */
	q->status_code = 201;
	save(st);
	gw_state_free(st);
	assert_int_equal(state_u64(f, "generation"), 1);
	st = load_w(f);
	for (int i = 3010; i < 3015; i++)  /* touched only */
		put(st, i, 200, key, sizeof(key));
	(void)gw_state_find_request(st, "GET:/e/7:c7"); /* touched, unchanged */
	gw_state_pin_processed(st, "GET:/e/0:c0");
	gw_state_pin_processed(st, "GET:/e/2:c2");
	assert_int_equal(st->nkeys, 3015);
	gw_state_cap_processed(st, 3000);
	assert_int_equal(st->nkeys, 3000);
	save(st);
	gw_state_free(st);
	st = load_w(f);
	assert_int_equal(st->nkeys, 3000);
	ut_list pk = ut_processed(st);
	assert_int_equal(pk.n, 3000);
	assert_string_equal(pk.s[0], "GET:/e/0:c0");
	assert_string_equal(pk.s[1], "GET:/e/2:c2");
	assert_string_equal(pk.s[2], "GET:/e/17:c17");
	assert_string_equal(pk.s[2999], "GET:/e/3014:c3014");
	ut_list_free(&pk);
	for (int i = 1; i <= 16; i++) {
		snprintf(key, sizeof(key), "GET:/e/%d:c%d", i, i);
		assert_true(gw_state_is_processed(st, key) == (i == 2));
	}
	assert_int_equal(gw_state_find_request(st, "GET:/e/5:c5")->status_code, 201);
	gw_state_free(st);
}

typedef struct actor_seen {
	int n[3];
	bool bad;
} actor_seen;

static void
actor_add(void *ctx, size_t actor, const gw_request *q)
{
	actor_seen *s = ctx;
	char want[8];
	snprintf(want, sizeof(want), "a%zu", actor == 0 ? (size_t)0 : (size_t)2);
	if (strcmp(q->actor_id, want) != 0)
		s->bad = true;
	s->n[actor]++;
}

static void
test_actor_records_from_snapshot_log_and_memory(void **state)
{
	ut_statedir *f = *state;
	char key[64];
	gw_state *st = load_w(f);
	for (int i = 0; i < 3000; i++)  /* past 1 MiB: a snapshot */
		put(st, i, 200, key, sizeof(key));
	save(st);
	gw_state_free(st);
	assert_int_equal(state_u64(f, "generation"), 1);
	st = load_w(f);
	put(st, 3000, 200, key, sizeof(key)); /* a0, in the log */
	put(st, 3002, 200, key, sizeof(key)); /* a2, in the log */
	save(st);
	gw_state_free(st);
	st = load_w(f);
	put(st, 3003, 200, key, sizeof(key)); /* a0, touched only */
	/* key 0 (a0) moves to actor a2: counted under a2 only */
	gw_request *q = gw_state_upsert_request(st, "GET:/e/0:c0");
	q->actor_id = "a2";
	const char *actors[] = { "a0", "a2" };
	actor_seen seen = { { 0 }, false };
	gw_err err;
	assert_int_equal(gw_state_actor_requests(st, actors, 2, actor_add, &seen, &err), 0);
	assert_false(seen.bad);
	assert_int_equal(seen.n[0], 1000 + 1 + 1 - 1);
	assert_int_equal(seen.n[1], 1000 + 1 + 1);
	gw_state_free(st);
}

/* MEMORY.md lines rendered from every record (the reference path). */
typedef struct ref_mem {
	gw_arena *a;
	struct { const char *key, *line; } *l[8];
	size_t n[8];
} ref_mem;

static void
ref_add(void *ctx, size_t actor, const gw_request *q)
{
	ref_mem *m = ctx;
	gw_buf b = GW_BUF_INIT;
	gw_records_memory_line(&b, q);
	m->l[actor] = realloc(m->l[actor], (m->n[actor] + 1) * sizeof(*m->l[actor]));
	assert_non_null(m->l[actor]);
	m->l[actor][m->n[actor]].key = gw_arena_strdup(m->a, q->case_key);
	m->l[actor][m->n[actor]++].line = gw_arena_strndup(m->a, b.data, b.len);
	gw_buf_free(&b);
}

static int
ref_cmp(const void *x, const void *y)
{
	return strcmp(*(const char *const *)x, *(const char *const *)y);
}

/* Both paths agree, actor by actor, and each actor has want[i] lines. */
static void
assert_memory_paths_agree(gw_state *st, const char *const *actors, size_t n, const size_t *want)
{
	ref_mem m = { gw_arena_new(), { 0 }, { 0 } };
	gw_err err;
	gw_err_clear(&err);
	assert_int_equal(gw_state_actor_requests(st, actors, n, ref_add, &m, &err), 0);
	gw_buf out[8];
	memset(out, 0, sizeof(out));
	int rc = gw_state_actor_memory(st, actors, n, out, &err);
	if (rc < 0)
		print_error("memory: %s\n", err.msg);
	assert_int_equal(rc, 1);
	for (size_t i = 0; i < n; i++) {
		if (m.n[i] > 1)
			qsort(m.l[i], m.n[i], sizeof(*m.l[i]), ref_cmp);
		gw_buf ref = GW_BUF_INIT;
		for (size_t k = 0; k < m.n[i]; k++)
			gw_buf_puts(&ref, m.l[i][k].line);
		assert_int_equal(m.n[i], want[i]);
		assert_string_equal(gw_buf_cstr(&out[i]), gw_buf_cstr(&ref));
		gw_buf_free(&ref);
		gw_buf_free(&out[i]);
		free(m.l[i]);
	}
	gw_arena_free(m.a);
}

/* An upsert of key for actor with case_id id (processed). */
static void
put_odd(gw_state *st, const char *key, const char *id, const char *actor, uint64_t status)
{
	gw_request *q = gw_state_upsert_request(st, key);
	q->case_id = gw_state_strdup(st, id);
	q->method = "GET";
	q->endpoint = "/x";
	q->actor_id = gw_state_strdup(st, actor);
	q->status_code = status;
	q->outcome = "success";
	q->error_code = "";
	q->response_body = "{}";
	q->updated_unix_ms = 1;
	gw_state_mark_processed(st, key);
}

static void
test_memory_lines_spliced_from_snapshot_match_a_full_render(void **state)
{
	ut_statedir *f = *state;
	char key[64];
	gw_state *st = load_w(f);
	for (int i = 0; i < 3000; i++)  /* past 1 MiB: a version 2 snapshot */
		put(st, i, 200, key, sizeof(key));
	/* keys whose literal order is not their order (an escape, a '!' below
	 * the closing quote) and an actor id that needs escaping */
	put_odd(st, "GET:/x:a", "a", "a1", 200);
	put_odd(st, "GET:/x:a!", "a!", "a1", 200);
	put_odd(st, "GET:/x:a\"q", "a\"q", "a1", 200);
	put_odd(st, "GET:/x:b", "b", "a\"3", 200);
	save(st);
	gw_state_free(st);
	assert_int_equal(state_u64(f, "generation"), 1);
	const char *actors[] = { "a0", "a1", "a2", "a\"3", "a9" };
	size_t want0[] = { 1000, 1003, 1000, 1, 0 };
	st = load_w(f);
	assert_memory_paths_agree(st, actors, 5, want0);
	/* the log: a changed status, a new key, a key moved a0 -> a2, a
	 * key whose literal sorts out of order changed */
	put(st, 3, 201, key, sizeof(key));                      /* a0 */
	put(st, 3001, 200, key, sizeof(key));                   /* a1 */
	gw_request *q = gw_state_upsert_request(st, "GET:/e/6:c6");
	q->actor_id = "a2";
	put_odd(st, "GET:/x:a!", "a!", "a1", 404);
	save(st);
	gw_state_free(st);
	assert_int_equal(state_u64(f, "generation"), 1);
	assert_true(state_u64(f, "log_bytes") > 0);
	st = load_w(f);
	size_t want1[] = { 999, 1004, 1001, 1, 0 };
	assert_memory_paths_agree(st, actors, 5, want1);
	/* this cycle: new keys (one sorting first, one last), the log's key
	 * changed again, a snapshot key moved a1 -> a9, a lookup that changes
	 * nothing */
	put(st, 3002, 200, key, sizeof(key));                   /* a2 */
	put_odd(st, "GET:/x:0", "0", "a0", 200);
	put_odd(st, "GET:/x:z", "z", "a0", 200);
	put(st, 3, 500, key, sizeof(key));                      /* a0, again */
	q = gw_state_upsert_request(st, "GET:/e/1:c1");         /* a1 */
	q->actor_id = "a9";
	size_t want2[] = { 1001, 1003, 1002, 1, 1 };
	assert_memory_paths_agree(st, actors, 5, want2);
	gw_state_free(st);
}

static void
test_uncommitted_and_torn_log_tails_are_cut(void **state)
{
	ut_statedir *f = *state;
	char key[64];
	gw_state *st = load_w(f);
	put(st, 1, 200, key, sizeof(key));
	save(st);
	gw_state_free(st);
	uint64_t committed = state_u64(f, "log_bytes");
	/* a cycle killed after its append, before its state.json: a whole
	 * line past the committed length, then a torn one */
	char *log = ut_join(f->dir, "records.log");
	FILE *fp = fopen(log, "ab");
	assert_non_null(fp);
	fputs("[\"GET:/e/2:c2\",9,\"a2\",null]\n[\"GET:/e/3:c", fp);
	fclose(fp);
	/* readers see only the committed entries */
	gw_err err;
	assert_int_equal(gw_state_load(f->dir, GW_STATE_READ, &st, &err), 0);
	assert_false(gw_state_is_processed(st, "GET:/e/2:c2"));
	assert_true(gw_state_is_processed(st, "GET:/e/1:c1"));
	assert_int_equal(gw_state_store_error(st, &err), 0);
	gw_state_free(st);
	assert_true((uint64_t)file_size(f->dir, "records.log") > committed);
	/* a writer cuts them off */
	st = load_w(f);
	assert_int_equal((uint64_t)file_size(f->dir, "records.log"), committed);
	put(st, 4, 200, key, sizeof(key));
	save(st);
	gw_state_free(st);
	char *text = ut_read(log);
	assert_int_equal(strlen(text), state_u64(f, "log_bytes"));
	ut_assert_not_contains(text, "c3");
	free(text);
	free(log);
}

static void
test_damaged_snapshot_is_reported_and_moved_aside_by_writers(void **state)
{
	ut_statedir *f = *state;
	char key[64];
	gw_state *st = load_w(f);
	for (int i = 0; i < 3000; i++)
		put(st, i, 200, key, sizeof(key));
	save(st);
	gw_state_free(st);
	assert_int_equal(state_u64(f, "generation"), 1);
	char *snap = ut_join(f->dir, "records-1.snap");
	/* flip a byte of the trailer */
	int fd = open(snap, O_RDWR);
	assert_true(fd >= 0);
	off_t size = lseek(fd, 0, SEEK_END);
	assert_int_equal(pwrite(fd, "X", 1, size - 60), 1);
	close(fd);
	char *before = ut_read(f->state);
	/* a reader: the lookup meets the damage; it is reported (65) */
	gw_err err;
	assert_int_equal(gw_state_load(f->dir, GW_STATE_READ, &st, &err), 0);
	assert_false(gw_state_is_processed(st, "GET:/e/1:c1"));
	assert_int_equal(gw_state_store_error(st, &err), -EINVAL);
	assert_int_equal(err.exit_code, GW_EXIT_DATAERR);
	ut_assert_contains(err.msg, "records-1.snap is corrupt");
	gw_state_free(st);
	/* and changes nothing: state.json and the damaged snapshot stay */
	char *after = ut_read(f->state);
	assert_string_equal(after, before);
	free(after);
	assert_true(gw_fs_is_file(snap));
	/* a writer moves it aside, starts the records afresh, says so */
	st = load_w(f);
	ut_assert_contains(st->notice, "is corrupt");
	ut_assert_contains(st->notice, "records-1.snap.corrupt-");
	assert_int_equal(st->nkeys, 0);
	assert_int_equal(st->nreqs, 0);
	save(st);
	gw_state_free(st);
	assert_false(gw_fs_is_file(snap));
	char *events = ut_read(f->events);
	ut_assert_contains(events, "\"kind\":\"state_recovered\"");
	free(events);
	assert_int_equal(state_u64(f, "generation"), 0);
	free(before);
	free(snap);
}

static void
test_short_log_and_missing_snapshot_are_corrupt(void **state)
{
	ut_statedir *f = *state;
	char key[64];
	gw_state *st = load_w(f);
	put(st, 1, 200, key, sizeof(key));
	put(st, 2, 200, key, sizeof(key));
	save(st);
	gw_state_free(st);
	char *log = ut_join(f->dir, "records.log");
	assert_int_equal(truncate(log, 10), 0);
	gw_err err;
	gw_records *r;
	gw_records_meta m = { 0, state_u64(f, "log_bytes"), 3 };
	assert_int_equal(gw_records_open(f->dir, &m, false, &r, &err), -EINVAL);
	ut_assert_contains(err.msg, "shorter than state.json commits");
	m.generation = 7;
	m.log_bytes = 0;
	assert_int_equal(gw_records_open(f->dir, &m, false, &r, &err), -EINVAL);
	ut_assert_contains(err.msg, "records-7.snap is corrupt: the snapshot state.json names is missing");
	free(log);
}

static void
test_newer_snapshot_version_is_refused(void **state)
{
	ut_statedir *f = *state;
	char key[64];
	gw_state *st = load_w(f);
	for (int i = 0; i < 3000; i++)
		put(st, i, 200, key, sizeof(key));
	save(st);
	gw_state_free(st);
	char *snap = ut_join(f->dir, "records-1.snap");
	int fd = open(snap, O_RDWR);
	assert_true(fd >= 0);
	off_t size = lseek(fd, 0, SEEK_END);
	unsigned char v = GW_RECORDS_VERSION + 1;  /* version, little-endian at trailer + 8 */
	assert_int_equal(pwrite(fd, &v, 1, size - 96 + 8), 1);
	close(fd);
	gw_err err;
	assert_int_equal(gw_state_load(f->dir, GW_STATE_WRITE, &st, &err), -EPROTONOSUPPORT);
	assert_int_equal(err.exit_code, GW_EXIT_DATAERR);
	ut_assert_contains(err.msg, "unsupported records version 3");
	assert_true(gw_fs_is_file(snap)); /* never moved aside */
	free(snap);
}

static void
test_line_format_round_trips(void **state)
{
	(void)state;
	gw_request q = { "k", "id \"1\"", "GET", "/a\\b", "act\nor", "success", "", "{\"x\":[1,2]}", 200, 5 };
	gw_buf lit = GW_BUF_INIT, line = GW_BUF_INIT;
	gw_json_escape(&lit, "GET:/a\\b:id \"1\"", strlen("GET:/a\\b:id \"1\""));
	gw_records_format_line(&line, lit.data, lit.len, 42, &q);
	assert_int_equal(line.data[line.len - 1], '\n');
	gw_records_line l;
	assert_true(gw_records_parse_line(line.data, line.len - 1, &l));
	assert_int_equal(l.seq, 42);
	assert_int_equal(l.key_len, lit.len);
	assert_memory_equal(l.key, lit.data, lit.len);
	assert_int_equal(l.actor_len, strlen("\"act\\nor\""));
	gw_arena *a = gw_arena_new();
	gw_request back;
	memset(&back, 0, sizeof(back));
	assert_true(gw_records_parse_rec(l.rec, l.rec_len, a, &back));
	assert_string_equal(back.case_id, "id \"1\"");
	assert_string_equal(back.endpoint, "/a\\b");
	assert_string_equal(back.actor_id, "act\nor");
	assert_string_equal(back.response_body, "{\"x\":[1,2]}");
	assert_int_equal(back.status_code, 200);
	assert_int_equal(back.updated_unix_ms, 5);
	/* not entry lines */
	const char *bad[] = { "", "[]", "[\"k\",1,\"a\"]", "[\"k\",x,\"a\",null]", "[\"k\",1,null,null]",
		"[\"k\",1,\"a\",5]", "[\"k,1,\"a\",null]" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(gw_records_parse_line(bad[i], strlen(bad[i]), &l));
	gw_arena_free(a);
	gw_buf_free(&lit);
	gw_buf_free(&line);
}

/* Answers of the batch lookup for every kind of key, each compared with
 * the single lookup's and with what the test put: keys in the snapshot,
 * keys the log overrides (a failure since processed), keys only in the
 * log, keys with escapes in their literal, keys touched since the load and
 * absent keys, in more than one batch.  Then a damaged snapshot line: the
 * batch remembers the same error the single lookup does. */
static void
test_processed_many_matches_single_lookups(void **state)
{
	ut_statedir *f = *state;
	char key[64];
	enum { N = 3000, M = 3400 };
	static bool want[M];
	gw_state *st = load_w(f);
	for (int i = 0; i < N; i++) { /* every 7th a failure: stored, not processed */
		put(st, i, i % 7 == 0 ? 503 : 200, key, sizeof(key));
		want[i] = i % 7 != 0;
	}
	const char *odd1 = "GET:/\"q\\:c\t1", *odd2 = "GET:/\"q\\:c\t2";
	gw_state_upsert_request(st, odd1)->case_id = "q1";
	gw_state_mark_processed(st, odd1);
	save(st);
	gw_state_free(st);
	assert_int_equal(state_u64(f, "generation"), 1);
	st = load_w(f);
	for (int i = 0; i < 700; i += 7) { /* failures processed since: the log overrides */
		put(st, i, 200, key, sizeof(key));
		want[i] = true;
	}
	for (int i = N; i < N + 200; i++) { /* only in the log */
		put(st, i, i % 5 == 0 ? 503 : 201, key, sizeof(key));
		want[i] = i % 5 != 0;
	}
	gw_state_upsert_request(st, odd2)->case_id = "q2";
	gw_state_mark_processed(st, odd2);
	save(st);
	gw_state_free(st);
	assert_int_equal(state_u64(f, "generation"), 1);

	st = load_w(f);
	for (int i = 700; i < 1400; i += 7) { /* touched since the load */
		put(st, i, 200, key, sizeof(key));
		want[i] = true;
	}
	static char keys_text[M + 2][64];
	static const char *keys[M + 2];
	static bool got[M + 2];
	for (int i = 0; i < M; i++) { /* (N + 200 .. M: absent) */
		snprintf(keys_text[i], sizeof(keys_text[i]), "GET:/e/%d:c%d", i, i);
		keys[i] = keys_text[i];
	}
	keys[M] = odd1;
	keys[M + 1] = odd2;
	gw_state_processed_many(st, keys, M + 2, got);
	size_t yes = 0, expect_yes = 2;
	for (int i = 0; i < M + 2; i++) {
		assert_int_equal(got[i], gw_state_is_processed(st, keys[i]));
		if (i < M) {
			assert_int_equal(got[i], want[i]);
			expect_yes += want[i];
		}
		yes += got[i];
	}
	assert_int_equal(yes, expect_yes);
	gw_err err;
	assert_int_equal(gw_state_store_error(st, &err), 0);
	gw_state_free(st);

	/* a damaged line (the snapshot's first): the batch and the single
	 * lookups report the same corruption */
	char *snap = ut_join(f->dir, "records-1.snap");
	int fd = open(snap, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, "X", 1, 0), 1);
	close(fd);
	free(snap);
	gw_err single;
	assert_int_equal(gw_state_load(f->dir, GW_STATE_READ, &st, &err), 0);
	for (int i = 0; i < M + 2; i++)
		(void)gw_state_is_processed(st, keys[i]);
	assert_int_equal(gw_state_store_error(st, &single), -EINVAL);
	ut_assert_contains(single.msg, "bad entry at byte 0");
	gw_state_free(st);
	assert_int_equal(gw_state_load(f->dir, GW_STATE_READ, &st, &err), 0);
	gw_state_processed_many(st, keys, M + 2, got);
	assert_int_equal(gw_state_store_error(st, &err), -EINVAL);
	assert_string_equal(err.msg, single.msg);
	assert_int_equal(err.exit_code, single.exit_code);
	gw_state_free(st);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_append_and_lookup_across_reloads, ut_statedir_setup, ut_statedir_teardown),
		cmocka_unit_test_setup_teardown(test_compaction_writes_next_generation, ut_statedir_setup, ut_statedir_teardown),
		cmocka_unit_test_setup_teardown(test_counters_match_a_full_walk, ut_statedir_setup, ut_statedir_teardown),
		cmocka_unit_test_setup_teardown(test_counters_past_int_range_load, ut_statedir_setup, ut_statedir_teardown),
		cmocka_unit_test_setup_teardown(test_cap_drops_oldest_unpinned_across_store, ut_statedir_setup, ut_statedir_teardown),
		cmocka_unit_test_setup_teardown(test_cap_takes_oldest_from_snapshot_log_and_memory, ut_statedir_setup, ut_statedir_teardown),
		cmocka_unit_test_setup_teardown(test_actor_records_from_snapshot_log_and_memory, ut_statedir_setup, ut_statedir_teardown),
		cmocka_unit_test_setup_teardown(test_memory_lines_spliced_from_snapshot_match_a_full_render, ut_statedir_setup, ut_statedir_teardown),
		cmocka_unit_test_setup_teardown(test_uncommitted_and_torn_log_tails_are_cut, ut_statedir_setup, ut_statedir_teardown),
		cmocka_unit_test_setup_teardown(test_damaged_snapshot_is_reported_and_moved_aside_by_writers, ut_statedir_setup, ut_statedir_teardown),
		cmocka_unit_test_setup_teardown(test_short_log_and_missing_snapshot_are_corrupt, ut_statedir_setup, ut_statedir_teardown),
		cmocka_unit_test_setup_teardown(test_newer_snapshot_version_is_refused, ut_statedir_setup, ut_statedir_teardown),
		cmocka_unit_test_setup_teardown(test_processed_many_matches_single_lookups, ut_statedir_setup, ut_statedir_teardown),
		cmocka_unit_test(test_line_format_round_trips),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
