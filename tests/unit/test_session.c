/*
 * test_session.c - session keys (injective sanitisation, bound, blank
 * seeds), history load/append/compaction at a turn boundary, and the
 * cross-thread lock that serialises one key.
 */
#include "unit.h"

#include <pthread.h>
#include <sys/stat.h>
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
exchange(const char *dir, const char *key, uint64_t max, int i)
{
	gw_session *s;
	gw_err err;
	assert_int_equal(gw_session_open(dir, key, max, 60000, NULL, &s, &err), 0);
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
	assert_int_equal(gw_session_open(dir, "k", 3, 60000, NULL, &s, &err), 0);
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
	assert_int_equal(gw_session_open(dir, "shared", 1000, 60000, NULL, &s, &err), 0);
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
	assert_int_equal(gw_session_open(dir, "busy", 10, 60000, NULL, &holder, &err), 0);
	assert_int_equal(gw_session_open(dir, "busy", 10, 30, NULL, &s, &err), -ETIMEDOUT);
	assert_null(s);
	ut_assert_contains(err.msg, "busy.lock is still locked after 30 ms");
	atomic_bool cancel = true;
	assert_int_equal(gw_session_open(dir, "busy", 10, 60000, &cancel, &s, &err), -ECANCELED);
	assert_null(s);
	/* another key is not affected */
	assert_int_equal(gw_session_open(dir, "other", 10, 0, NULL, &s, &err), 0);
	gw_session_close(s);
	gw_session_close(holder);
	assert_int_equal(gw_session_open(dir, "busy", 10, 0, NULL, &s, &err), 0);
	gw_session_close(s);
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
	assert_int_equal(gw_session_open(dir, "t", 10, 60000, NULL, &s, &err), 0);
	gw_session_close(s);
	char *now = ut_read(path);
	assert_string_equal(now, whole);
	free(now);
	free(whole);
	char *victim = gw_path_join(dir, "victim"), *link = gw_path_join(dir, "openresponses/sessions/l.jsonl");
	ut_write(victim, "keep");
	assert_int_equal(symlink(victim, link), 0);
	assert_int_equal(gw_session_open(dir, "l", 10, 60000, NULL, &s, &err), -ELOOP);
	ut_assert_contains(err.msg, "l.jsonl: it is a symbolic link");
	char *other = ut_tmpdir(), *sess = gw_path_join(other, "openresponses");
	assert_int_equal(mkdir(sess, 0755), 0);
	char *outdir = gw_path_join(dir, "openresponses");
	char *slink = gw_path_join(sess, "sessions");
	assert_int_equal(symlink(outdir, slink), 0);
	free(slink);
	assert_int_equal(gw_session_open(other, "x", 10, 60000, NULL, &s, &err), -ELOOP);
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
		cmocka_unit_test(test_torn_tail_cut_and_links_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
