/*
 * test_session.c - session keys (injective sanitisation, bound, blank
 * seeds), history load/append/compaction at a turn boundary, and the
 * cross-thread lock that serialises one key.
 */
#include "unit.h"

#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/openresponses/session.h"

static void
test_key_sanitisation(void **state)
{
	(void)state;
	char k[GW_SESSION_KEY_MAX + 1];
	assert_int_equal(gw_session_key("abc-DEF-09", k), 0);
	assert_string_equal(k, "abc-DEF-09");
	char a[GW_SESSION_KEY_MAX + 1], b[GW_SESSION_KEY_MAX + 1], c[GW_SESSION_KEY_MAX + 1];
	gw_session_key("a.b", a);
	gw_session_key("a b", b);
	gw_session_key("a_b", c);
	assert_string_equal(a, "a_2eb");
	assert_string_equal(b, "a_20b");
	assert_string_equal(c, "a_5fb");
	gw_session_key("../x", k);
	assert_string_equal(k, "_2e_2e_2fx");
	assert_null(strchr(k, '/'));
	assert_int_equal(gw_session_key("   ", k), -EINVAL);
	assert_int_equal(gw_session_key(NULL, k), -EINVAL);
}

static void
test_key_bounded_and_distinct(void **state)
{
	(void)state;
	char s1[300], s2[300];
	memset(s1, 'x', 299);
	s1[299] = '\0';
	memcpy(s2, s1, sizeof(s1));
	s2[298] = 'y';
	char k1[GW_SESSION_KEY_MAX + 1], k2[GW_SESSION_KEY_MAX + 1];
	gw_session_key(s1, k1);
	gw_session_key(s2, k2);
	assert_true(strlen(k1) <= GW_SESSION_KEY_MAX);
	assert_non_null(strchr(k1, '~'));
	assert_string_not_equal(k1, k2);
	/* never cut inside an _XX escape */
	char s3[200];
	memset(s3, '.', 199);
	s3[199] = '\0';
	gw_session_key(s3, k1);
	char *tilde = strchr(k1, '~');
	assert_non_null(tilde);
	assert_int_equal((tilde - k1) % 3, 0);
}

static cJSON *
msg(const char *role, const char *text)
{
	cJSON *m = cJSON_CreateObject();
	cJSON_AddStringToObject(m, "type", "message");
	cJSON_AddStringToObject(m, "role", role);
	cJSON *parts = cJSON_AddArrayToObject(m, "content");
	cJSON *p = cJSON_CreateObject();
	cJSON_AddStringToObject(p, "type", "input_text");
	cJSON_AddStringToObject(p, "text", text);
	cJSON_AddItemToArray(parts, p);
	return m;
}

static void
exchange(const char *dir, const char *key, size_t max, int i)
{
	gw_session *s;
	gw_err err;
	assert_int_equal(gw_session_open(dir, key, max, 0, 60000, NULL, &s, &err), 0);
	cJSON *in = cJSON_CreateArray(), *out = cJSON_CreateArray();
	char t[32];
	snprintf(t, sizeof(t), "q%d", i);
	cJSON_AddItemToArray(in, msg("user", t));
	snprintf(t, sizeof(t), "a%d", i);
	cJSON_AddItemToArray(out, msg("assistant", t));
	assert_int_equal(gw_session_append(s, "resp_x", in, out, &err), 0);
	cJSON_Delete(in);
	cJSON_Delete(out);
	gw_session_close(s);
}

static void
test_history_bounded_at_turn_boundary(void **state)
{
	(void)state;
	char *dir = ut_tmpdir();
	for (int i = 0; i < 10; i++)
		exchange(dir, "k", 3, i);
	gw_session *s;
	gw_err err;
	assert_int_equal(gw_session_open(dir, "k", 3, 0, 60000, NULL, &s, &err), 0);
	const cJSON *h = gw_session_history(s);
	/* last 3 items would start with an assistant reply: skipped */
	assert_int_equal(cJSON_GetArraySize(h), 2);
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(h, 0), "role")->valuestring, "user");
	gw_session_close(s);
	/* the file was compacted: never more than 2 x max items + meta */
	char *path = gw_path_join(dir, "openresponses/sessions/k.jsonl");
	char *text = ut_read(path);
	int lines = 0;
	for (char *p = text; *p; p++)
		lines += *p == '\n';
	assert_true(lines <= 2 * 3 + 1);
	ut_assert_contains(text, "{\"record_type\":\"meta\",\"schema_version\":1}\n");
	free(text);
	free(path);
	ut_rmrf(dir);
	free(dir);
}

typedef struct worker {
	const char *dir;
	int id;
} worker;

static void *
run_worker(void *arg)
{
	worker *w = arg;
	for (int i = 0; i < 10; i++)
		exchange(w->dir, "shared", 1000, w->id * 100 + i);
	return NULL;
}

static void
test_threads_serialised(void **state)
{
	(void)state;
	char *dir = ut_tmpdir();
	pthread_t t[4];
	worker w[4];
	for (int i = 0; i < 4; i++) {
		w[i] = (worker){ dir, i };
		pthread_create(&t[i], NULL, run_worker, &w[i]);
	}
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	gw_session *s;
	gw_err err;
	assert_int_equal(gw_session_open(dir, "shared", 1000, 0, 60000, NULL, &s, &err), 0);
	assert_int_equal(cJSON_GetArraySize(gw_session_history(s)), 80);
	gw_session_close(s);
	ut_rmrf(dir);
	free(dir);
}

/* A held session is not waited for beyond the bound, nor once cancelled;
 * released, it opens at once. */
static void
test_lock_wait_bounded(void **state)
{
	(void)state;
	char *dir = ut_tmpdir();
	gw_session *holder, *s = NULL;
	gw_err err;
	assert_int_equal(gw_session_open(dir, "busy", 10, 0, 60000, NULL, &holder, &err), 0);
	assert_int_equal(gw_session_open(dir, "busy", 10, 0, 30, NULL, &s, &err), -ETIMEDOUT);
	assert_null(s);
	ut_assert_contains(err.msg, "busy.lock is still locked after 30 ms");
	atomic_bool cancel = true;
	assert_int_equal(gw_session_open(dir, "busy", 10, 0, 60000, &cancel, &s, &err), -ECANCELED);
	assert_null(s);
	/* another key is not affected */
	assert_int_equal(gw_session_open(dir, "other", 10, 0, 0, NULL, &s, &err), 0);
	gw_session_close(s);
	gw_session_close(holder);
	assert_int_equal(gw_session_open(dir, "busy", 10, 0, 0, NULL, &s, &err), 0);
	gw_session_close(s);
	ut_rmrf(dir);
	free(dir);
}

/* Writes a session file of n user messages "m0".."m<n-1>" (each line
 * padded to about pad bytes) for key under dir. */
static void
write_history(const char *dir, const char *key, size_t n, size_t pad)
{
	char *sd = gw_path_join(dir, "openresponses/sessions");
	gw_err err;
	assert_int_equal(gw_fs_mkdirs(sd, &err), 0);
	gw_buf b = GW_BUF_INIT;
	gw_buf_puts(&b, "{\"record_type\":\"meta\",\"schema_version\":1}\n");
	for (size_t i = 0; i < n; i++) {
		size_t start = b.len;
		gw_buf_printf(&b, "{\"record_type\":\"item\",\"response_id\":\"r\",\"item\":{\"type\":\"message\","
		    "\"role\":\"user\",\"content\":[{\"type\":\"input_text\",\"text\":\"m%zu ", i);
		while (b.len - start < pad)
			gw_buf_putc(&b, 'x');
		gw_buf_puts(&b, "\"}]}}\n");
	}
	gw_buf nb = GW_BUF_INIT;
	gw_buf_printf(&nb, "%s/%s.jsonl", sd, key);
	ut_write(nb.data, b.data);
	gw_buf_free(&nb);
	gw_buf_free(&b);
	free(sd);
}

/* The text of history item i ("m<k> xxx..."). */
static const char *
item_text(const cJSON *h, int i)
{
	const cJSON *it = cJSON_GetArrayItem(h, i);
	return cJSON_GetArrayItem(cJSON_GetObjectItem(it, "content"), 0)->child->next->valuestring;
}

/* Caps are size_t all the way: a cap beyond INT_MAX (the flag table stops
 * at 100000, the core must not care) keeps everything, and a history
 * longer than a large cap keeps exactly the newest cap items. */
static void
test_history_cap_is_size_t(void **state)
{
	(void)state;
	char *dir = ut_tmpdir();
	write_history(dir, "k", 5, 0);
	gw_session *s;
	gw_err err;
	const size_t caps[] = { (size_t)INT_MAX + 1, (size_t)UINT_MAX + 1, SIZE_MAX };
	for (size_t c = 0; c < sizeof(caps) / sizeof(caps[0]); c++) {
		assert_int_equal(gw_session_open(dir, "k", caps[c], 0, 60000, NULL, &s, &err), 0);
		assert_int_equal(cJSON_GetArraySize(gw_session_history(s)), 5);
		gw_session_close(s);
	}
	write_history(dir, "big", 100050, 0);
	assert_int_equal(gw_session_open(dir, "big", 100000, 0, 60000, NULL, &s, &err), 0);
	const cJSON *h = gw_session_history(s);
	assert_int_equal(cJSON_GetArraySize(h), 100000);
	assert_memory_equal(item_text(h, 0), "m50 ", 4);
	assert_memory_equal(item_text(h, 99999), "m100049 ", 8);
	gw_session_close(s);
	ut_rmrf(dir);
	free(dir);
}

/* History is bounded in bytes too: the newest items whose weights (each
 * item's compact JSON and one byte, not the line that wraps it in the
 * file) fit, oldest dropped first; appends compact the file at twice the
 * bound. */
static void
test_history_bounded_in_bytes(void **state)
{
	(void)state;
	char *dir = ut_tmpdir();
	write_history(dir, "k", 50, 200); /* lines of 206 bytes, items of 157 */
	gw_session *s;
	gw_err err;
	assert_int_equal(gw_session_open(dir, "k", 1000, 1000, 60000, NULL, &s, &err), 0);
	const cJSON *h = gw_session_history(s);
	/* each item weighs 158 (cJSON's own compact print, and a line end):
	 * six fit in 1000 bytes, seven do not; by whole lines only four would */
	char *one = cJSON_PrintUnformatted(cJSON_GetArrayItem(h, 0));
	size_t w = strlen(one) + 1;
	free(one);
	assert_int_equal(w, 158);
	assert_int_equal(cJSON_GetArraySize(h), 6);
	assert_memory_equal(item_text(h, 0), "m44 ", 4);
	assert_memory_equal(item_text(h, 5), "m49 ", 4);
	gw_session_close(s);
	/* the bound is exact: 6 weights fit in 6 * w bytes, not in one less */
	assert_int_equal(gw_session_open(dir, "k", 1000, 6 * w, 60000, NULL, &s, &err), 0);
	assert_int_equal(cJSON_GetArraySize(gw_session_history(s)), 6);
	gw_session_close(s);
	assert_int_equal(gw_session_open(dir, "k", 1000, 6 * w - 1, 60000, NULL, &s, &err), 0);
	assert_int_equal(cJSON_GetArraySize(gw_session_history(s)), 5);
	gw_session_close(s);
	/* 0: no byte bound */
	assert_int_equal(gw_session_open(dir, "k", 1000, 0, 60000, NULL, &s, &err), 0);
	assert_int_equal(cJSON_GetArraySize(gw_session_history(s)), 50);
	gw_session_close(s);
	/* one exchange larger than the bound leaves only itself, and the
	 * file never holds much more than twice the bound */
	char *path = gw_path_join(dir, "openresponses/sessions/k.jsonl");
	for (int i = 0; i < 40; i++) {
		assert_int_equal(gw_session_open(dir, "k", 1000, 4096, 60000, NULL, &s, &err), 0);
		cJSON *in = cJSON_CreateArray(), *out = cJSON_CreateArray();
		char t[300];
		memset(t, 'y', sizeof(t) - 1);
		t[sizeof(t) - 1] = '\0';
		cJSON_AddItemToArray(in, msg("user", t));
		cJSON_AddItemToArray(out, msg("assistant", t));
		assert_int_equal(gw_session_append(s, "resp_x", in, out, &err), 0);
		cJSON_Delete(in);
		cJSON_Delete(out);
		gw_session_close(s);
		struct stat st;
		assert_int_equal(stat(path, &st), 0);
		assert_true(st.st_size <= 2 * 4096 + 1000);
	}
	assert_int_equal(gw_session_open(dir, "k", 1000, 4096, 60000, NULL, &s, &err), 0);
	h = gw_session_history(s);
	assert_true(cJSON_GetArraySize(h) >= 2);
	assert_true(cJSON_GetArraySize(h) <= 4096 / 300);
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(h, 0), "role")->valuestring, "user");
	gw_session_close(s);
	free(path);
	ut_rmrf(dir);
	free(dir);
}

/* Sets path's mtime to t (Unix seconds). */
static void
set_mtime(const char *dir, const char *name, time_t t)
{
	char *p = gw_path_join(dir, name);
	struct timespec ts[2] = { { t, 0 }, { t, 0 } };
	assert_int_equal(utimensat(AT_FDCWD, p, ts, 0), 0);
	free(p);
}

static bool
exists_in(const char *dir, const char *name)
{
	char *p = gw_path_join(dir, name);
	bool r = gw_fs_exists(p);
	free(p);
	return r;
}

/* The sweep removes sessions idle for the TTL (history and lock) and lone
 * old locks; a fresh session and one whose lock is held stay.  "now" is a
 * parameter, so nothing sleeps. */
static void
test_sweep_removes_expired_sessions(void **state)
{
	(void)state;
	char *dir = ut_tmpdir();
	char *sd = gw_path_join(dir, "openresponses/sessions");
	size_t removed = 99;
	gw_err err;
	/* no sessions directory yet: nothing to do */
	assert_int_equal(gw_session_sweep(dir, (uint64_t)time(NULL), 60, &removed, &err), 0);
	assert_int_equal(removed, 0);
	exchange(dir, "old", 10, 1);
	exchange(dir, "fresh", 10, 2);
	exchange(dir, "busy", 10, 3);
	free(ut_write_in(sd, "lonely.lock", ""));
	time_t now = time(NULL);
	set_mtime(sd, "old.jsonl", now - 3600);
	set_mtime(sd, "busy.jsonl", now - 3600);
	set_mtime(sd, "lonely.lock", now - 3600);
	gw_session *held;
	assert_int_equal(gw_session_open(dir, "busy", 10, 0, 0, NULL, &held, &err), 0);
	/* ttl 0: never */
	assert_int_equal(gw_session_sweep(dir, (uint64_t)now, 0, &removed, &err), 0);
	assert_int_equal(removed, 0);
	assert_true(exists_in(sd, "old.jsonl"));
	/* younger than the TTL: kept */
	assert_int_equal(gw_session_sweep(dir, (uint64_t)now, 7200, &removed, &err), 0);
	assert_int_equal(removed, 0);
	assert_int_equal(gw_session_sweep(dir, (uint64_t)now, 1800, &removed, &err), 0);
	assert_int_equal(removed, 2);
	assert_false(exists_in(sd, "old.jsonl"));
	assert_false(exists_in(sd, "old.lock"));
	assert_false(exists_in(sd, "lonely.lock"));
	assert_true(exists_in(sd, "fresh.jsonl"));
	assert_true(exists_in(sd, "fresh.lock"));
	assert_true(exists_in(sd, "busy.jsonl")); /* in use */
	assert_true(exists_in(sd, "busy.lock"));
	gw_session_close(held);
	assert_int_equal(gw_session_sweep(dir, (uint64_t)now, 1800, &removed, &err), 0);
	assert_int_equal(removed, 1);
	assert_false(exists_in(sd, "busy.jsonl"));
	assert_false(exists_in(sd, "busy.lock"));
	/* the clock passed in decides: an hour later "fresh" has expired too */
	assert_int_equal(gw_session_sweep(dir, (uint64_t)now + 3600, 1800, &removed, &err), 0);
	assert_int_equal(removed, 1);
	assert_false(exists_in(sd, "fresh.jsonl"));
	/* a removed session starts again empty */
	gw_session *s;
	assert_int_equal(gw_session_open(dir, "old", 10, 0, 0, NULL, &s, &err), 0);
	assert_int_equal(cJSON_GetArraySize(gw_session_history(s)), 0);
	gw_session_close(s);
	/* a compaction temp a crash left is removed once past the TTL, and
	 * counts as no session */
	free(ut_write_in(sd, ".k.jsonl.tmp-1-2-3", "{"));
	free(ut_write_in(sd, ".k.jsonl.tmp-1-2-4", "{"));
	set_mtime(sd, ".k.jsonl.tmp-1-2-3", now - 3600);
	assert_int_equal(gw_session_sweep(dir, (uint64_t)now, 1800, &removed, &err), 0);
	assert_int_equal(removed, 0);
	assert_false(exists_in(sd, ".k.jsonl.tmp-1-2-3"));
	assert_true(exists_in(sd, ".k.jsonl.tmp-1-2-4"));
	free(sd);
	ut_rmrf(dir);
	free(dir);
}

typedef struct stress {
	const char *dir;
	atomic_int inside;       /* holders of session "k" right now */
	atomic_int overlaps;     /* times a holder found another inside */
	atomic_bool done;
} stress;

static void *
run_holder(void *arg)
{
	stress *st = arg;
	for (int i = 0; i < 200; i++) {
		gw_session *s;
		gw_err err;
		if (gw_session_open(st->dir, "k", 10, 0, 60000, NULL, &s, &err) != 0) {
			atomic_fetch_add(&st->overlaps, 1000); /* an open must not fail */
			continue;
		}
		if (atomic_fetch_add(&st->inside, 1) != 0)
			atomic_fetch_add(&st->overlaps, 1);
		atomic_fetch_sub(&st->inside, 1);
		gw_session_close(s);
	}
	return NULL;
}

static void *
run_sweeper(void *arg)
{
	stress *st = arg;
	while (!atomic_load(&st->done)) {
		size_t removed;
		gw_err err;
		/* everything is expired from this clock's point of view */
		gw_session_sweep(st->dir, (uint64_t)time(NULL) + 1000000, 1, &removed, &err);
	}
	return NULL;
}

/* Sweeps racing with requests on one key never let two requests hold it at
 * once: the sweep removes a session only while holding its lock, and an
 * opener whose lock file was removed under it takes the new one. */
static void
test_sweep_keeps_sessions_exclusive(void **state)
{
	(void)state;
	char *dir = ut_tmpdir();
	stress st = { .dir = dir };
	pthread_t h[4], sw;
	pthread_create(&sw, NULL, run_sweeper, &st);
	for (int i = 0; i < 4; i++)
		pthread_create(&h[i], NULL, run_holder, &st);
	for (int i = 0; i < 4; i++)
		pthread_join(h[i], NULL);
	atomic_store(&st.done, true);
	pthread_join(sw, NULL);
	assert_int_equal(atomic_load(&st.overlaps), 0);
	ut_rmrf(dir);
	free(dir);
}

/* A torn last line a killed writer left is cut when the session opens;
 * a sessions directory or session file that is a symlink is refused. */
static void
test_torn_tail_cut_and_links_refused(void **state)
{
	(void)state;
	char *dir = ut_tmpdir();
	exchange(dir, "t", 10, 0);
	char *path = gw_path_join(dir, "openresponses/sessions/t.jsonl");
	char *whole = ut_read(path);
	FILE *f = fopen(path, "a");
	assert_non_null(f);
	fputs("{\"record_type\":\"item\",\"resp", f);
	fclose(f);
	gw_session *s;
	gw_err err;
	assert_int_equal(gw_session_open(dir, "t", 10, 0, 60000, NULL, &s, &err), 0);
	gw_session_close(s);
	char *now = ut_read(path);
	assert_string_equal(now, whole);
	free(now);
	free(whole);
	char *victim = gw_path_join(dir, "victim"), *link = gw_path_join(dir, "openresponses/sessions/l.jsonl");
	ut_write(victim, "keep");
	assert_int_equal(symlink(victim, link), 0);
	assert_int_equal(gw_session_open(dir, "l", 10, 0, 60000, NULL, &s, &err), -ELOOP);
	ut_assert_contains(err.msg, "l.jsonl: it is a symbolic link");
	char *other = ut_tmpdir(), *sess = gw_path_join(other, "openresponses");
	assert_int_equal(mkdir(sess, 0755), 0);
	char *outdir = gw_path_join(dir, "openresponses");
	char *slink = gw_path_join(sess, "sessions");
	assert_int_equal(symlink(outdir, slink), 0);
	free(slink);
	assert_int_equal(gw_session_open(other, "x", 10, 0, 60000, NULL, &s, &err), -ELOOP);
	ut_assert_contains(err.msg, "openresponses/sessions: it is a symbolic link, not a directory");
	char *got = ut_read(victim);
	assert_string_equal(got, "keep");
	free(got);
	ut_rmrf(other);
	ut_rmrf(dir);
	free(outdir);
	free(sess);
	free(other);
	free(victim);
	free(link);
	free(path);
	free(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_sanitisation),
		cmocka_unit_test(test_key_bounded_and_distinct),
		cmocka_unit_test(test_history_bounded_at_turn_boundary),
		cmocka_unit_test(test_threads_serialised),
		cmocka_unit_test(test_lock_wait_bounded),
		cmocka_unit_test(test_history_cap_is_size_t),
		cmocka_unit_test(test_history_bounded_in_bytes),
		cmocka_unit_test(test_sweep_removes_expired_sessions),
		cmocka_unit_test(test_sweep_keeps_sessions_exclusive),
		cmocka_unit_test(test_torn_tail_cut_and_links_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
