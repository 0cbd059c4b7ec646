/*
 * test_store.c - the store interface.
 *
 * Without a database: deployment names, password redaction (key/value,
 * quoted, URI, percent-encoded, PGPASSWORD-free URLs untouched), and the
 * file backend (opening touches nothing; begin is the .lock flock, which
 * commit and abort release; an event line lands with its newline; the
 * PostgreSQL-only operations say so).
 *
 * With TAU_TEST_PG_URL (scripts/test starts a throwaway cluster; skipped
 * otherwise): a transaction's posture is invisible until its commit, an
 * aborted one leaves the last committed posture and sends no notification,
 * a transaction the database failed cannot commit (the commit reports the
 * failure and nothing is written), and a listener's fd wakes for the commit (poll(2) bounded generously: a
 * readiness wait, not a timing assertion).  The replica registry:
 * register, heartbeat with counters, list (ages from the database, live),
 * deregister, one deployment never sees another's rows, a heartbeat for a
 * row that is gone is -ENOENT; events_since pages the event rows; the file
 * store has no registry (-ENOTSUP).  Stored responses saved together
 * (gw_store_response_save_many): text with the array syntax's specials
 * (quotes, backslashes, braces, commas, the word NULL) and a NULL
 * previous id come back byte for byte; a group with one row the database
 * refuses (not UTF-8) is -EINVAL (65) and saves none of its rows; saved
 * again alone, the good row is stored.  A save whose commit fails after
 * the statement itself completed (a deferred constraint trigger refuses
 * the row at commit, as a backend terminated between the two would lose
 * it) is a failure, on a connection with bounded statements (the server's
 * pool) as on one without: the statement's COMMAND_OK is not its commit.
 */
#include "unit.h"

#include "core/store/store.h"

#include <fcntl.h>
#include <libpq-fe.h>
#include <poll.h>
#include <sys/file.h>

static void
test_deployment_names(void **state)
{
	(void)state;
	assert_true(gw_store_deployment_ok("default"));
	assert_true(gw_store_deployment_ok("prod-eu_1"));
	assert_true(gw_store_deployment_ok("0"));
	assert_true(gw_store_deployment_ok("a23456789012345678901234567890123456789012345678"));
	assert_false(gw_store_deployment_ok("a234567890123456789012345678901234567890123456789"));
	assert_false(gw_store_deployment_ok(""));
	assert_false(gw_store_deployment_ok(NULL));
	assert_false(gw_store_deployment_ok("-x"));
	assert_false(gw_store_deployment_ok("_x"));
	assert_false(gw_store_deployment_ok("Prod"));
	assert_false(gw_store_deployment_ok("a b"));
	assert_false(gw_store_deployment_ok("a.b"));
	assert_false(gw_store_deployment_ok("a\"b"));
}

static char *
redact(const char *url, const char *text)
{
	gw_buf b = GW_BUF_INIT;
	gw_store_redact(url, text, &b);
	return gw_buf_detach(&b);
}

static void
test_redaction(void **state)
{
	(void)state;
	static const struct {
		const char *url, *text, *want;
	} cases[] = {
		{ "host=h password=s3cret user=u", "bad s3cret here", "bad *** here" },
		{ "host=h password = 's3 cr\\'et' user=u", "x s3 cr\\'et y", "x *** y" },
		{ "host=h password='Sekr1t", "unterminated quoted string 'Sekr1t",
		  "unterminated quoted string '***" },
		{ "postgresql://gw:pa55@db1:5432/tau", "user gw:pa55@db1 failed", "user gw:***@db1 failed" },
		{ "postgresql://gw:p%40ss@db1/tau", "p%40ss and p@ss", "*** and ***" },
		{ "postgresql:///tau?host=/run&password=qu3ry&user=x", "qu3ry!", "***!" },
		{ "postgres://gw:a/b@db1/tau", "a/b", "***" },
		/* libpq quotes the piece before an unencoded '/' as the port */
		{ "postgres://gw:Pr0d/Secret@db1/tau", "invalid integer value \"Pr0d\" for port",
		  "invalid integer value \"***\" for port" },
		{ "postgres://gw:12?Se#cret@db1/tau", "port 12, db Se, cret", "port ***, db ***, ***" },
		{ "PASSWORD=UP user=x", "UP", "***" },
		{ "postgresql://gw@db1/tau", "gw@db1/tau unchanged", "gw@db1/tau unchanged" },
		{ "host=h user=u", "nothing to hide", "nothing to hide" },
		{ NULL, "no url", "no url" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *got = redact(cases[i].url, cases[i].text);
		if (strcmp(got, cases[i].want) != 0)
			print_error("case %zu: [%s] -> [%s], want [%s]\n", i, cases[i].text, got,
			    cases[i].want);
		assert_string_equal(got, cases[i].want);
		free(got);
	}
}

/* True when someone holds an exclusive flock on path. */
static bool
locked(const char *path)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return false;
	bool held = flock(fd, LOCK_EX | LOCK_NB) != 0;
	if (!held)
		flock(fd, LOCK_UN);
	close(fd);
	return held;
}

static void
test_file_backend(void **state)
{
	(void)state;
	char *tmp = ut_tmpdir();
	char *dir = ut_join(tmp, "state");
	gw_err err;
	gw_err_clear(&err);
	gw_store *s;
	assert_int_equal(gw_store_open_dir(dir, &s, &err), 0);
	assert_int_equal(gw_store_kind_of(s), GW_STORE_FILES);
	assert_string_equal(gw_store_dir(s), dir);
	char *want = ut_join(dir, "state.json");
	assert_string_equal(gw_store_posture_label(s), want);
	free(want);
	assert_false(gw_fs_exists(dir)); /* opening touches nothing */

	char *lock = ut_join(dir, ".lock");
	assert_int_equal(gw_store_begin(s, "unit test", &err), 0);
	assert_true(locked(lock));
	char *holder = ut_read(lock);
	ut_assert_contains(holder, "unit test");
	free(holder);
	assert_int_equal(gw_store_event_append(s, "{\"a\":1}", 7, &err), 0);
	assert_int_equal(gw_store_event_append(s, "{\"b\":2}", 7, &err), 0);
	assert_int_equal(gw_store_commit(s, &err), 0);
	assert_false(locked(lock));
	char *events = ut_read(gw_store_events_label(s));
	assert_string_equal(events, "{\"a\":1}\n{\"b\":2}\n");
	free(events);

	assert_int_equal(gw_store_begin(s, NULL, &err), 0);
	assert_true(locked(lock));
	gw_store_abort(s);
	assert_false(locked(lock));

	gw_buf b = GW_BUF_INIT;
	uint64_t id = 0;
	gw_store_replica_info info = { "h", "127.0.0.1:1", "v", 1 };
	assert_int_equal(gw_store_replica_register(s, &info, &id, &err), -ENOTSUP);
	gw_store_replica *rows = NULL;
	size_t nrows = 1;
	assert_int_equal(gw_store_replica_list(s, &rows, &nrows, &err), -ENOTSUP);
	assert_int_equal(nrows, 0);
	assert_true(gw_store_connected(s));
	assert_int_equal(gw_store_posture_read(s, &b, &err), -ENOTSUP);
	assert_int_equal(gw_store_listen(s, &err), -ENOTSUP);
	assert_int_equal(gw_store_fd(s), -1);
	gw_buf_free(&b);
	gw_store_close(s);
	free(lock);
	free(dir);
	ut_rmrf(tmp);
	free(tmp);
}

/* ---- PostgreSQL ------------------------------------------------------------ */

static const char *
pg_url(void)
{
	const char *u = getenv("TAU_TEST_PG_URL");
	return u != NULL && u[0] != '\0' ? u : NULL;
}

static gw_store *
pg_open(const char *deployment)
{
	gw_err err;
	gw_err_clear(&err);
	gw_store *s = NULL;
	int rc = gw_store_open_url(pg_url(), deployment, &s, &err);
	if (rc != 0)
		print_error("open: %s\n", err.msg);
	assert_int_equal(rc, 0);
	return s;
}

static char *
posture(gw_store *s)
{
	gw_err err;
	gw_buf b = GW_BUF_INIT;
	int rc = gw_store_posture_read(s, &b, &err);
	if (rc == -ENOENT) {
		gw_buf_free(&b);
		return gw_xstrdup("(none)");
	}
	assert_int_equal(rc, 0);
	return gw_buf_detach(&b);
}

/* Waits (bounded) until the listener has seen at least want changes;
 * returns how many it saw. */
static unsigned
await_changes(gw_store *l, unsigned want)
{
	unsigned seen = 0;
	gw_err err;
	for (int rounds = 0; seen < want && rounds < 100; rounds++) {
		struct pollfd p = { .fd = gw_store_fd(l), .events = POLLIN };
		if (poll(&p, 1, 100) <= 0)
			continue;
		unsigned n = 0;
		assert_int_equal(gw_store_drain(l, &n, &err), 0);
		seen += n;
	}
	return seen;
}

static void
count_line(void *ctx, const char *line, size_t n)
{
	(void)line;
	(void)n;
	(*(unsigned *)ctx)++;
}

static void
test_pg_transactions_and_feed(void **state)
{
	(void)state;
	if (pg_url() == NULL)
		skip();
	char dep[32];
	snprintf(dep, sizeof(dep), "unit-%ld", (long)getpid());
	gw_store *w = pg_open(dep), *r = pg_open(dep), *l = pg_open(dep);
	gw_err err;
	gw_err_clear(&err);
	assert_int_equal(gw_store_kind_of(w), GW_STORE_POSTGRES);
	assert_null(gw_store_dir(w));
	ut_assert_contains(gw_store_posture_label(w), dep);
	assert_int_equal(gw_store_listen(l, &err), 0);
	assert_true(gw_store_fd(l) >= 0);

	char *p = posture(r);
	assert_string_equal(p, "(none)");
	free(p);
	/* aborted: never visible, never announced */
	assert_int_equal(gw_store_begin(w, NULL, &err), 0);
	assert_int_equal(gw_store_posture_write(w, "{\"n\":0}", 7, &err), 0);
	p = posture(w);
	assert_string_equal(p, "{\"n\":0}");
	free(p);
	gw_store_abort(w);
	p = posture(r);
	assert_string_equal(p, "(none)");
	free(p);
	/* committed: invisible until the commit, then there and announced */
	assert_int_equal(gw_store_begin(w, NULL, &err), 0);
	assert_int_equal(gw_store_posture_write(w, "{\"n\":1}", 7, &err), 0);
	assert_int_equal(gw_store_event_append(w, "{\"e\":1}", 7, &err), 0);
	p = posture(r);
	assert_string_equal(p, "(none)");
	free(p);
	assert_int_equal(gw_store_commit(w, &err), 0);
	p = posture(r);
	assert_string_equal(p, "{\"n\":1}");
	free(p);
	/* one change.  A query on the listener's connection is a round trip:
	 * every notification sent before it has arrived when it returns */
	assert_int_equal(await_changes(l, 1), 1);
	free(posture(l));
	unsigned extra = 0;
	assert_int_equal(gw_store_drain(l, &extra, &err), 0);
	assert_int_equal(extra, 0);
	/* a transaction that only appends an event announces no posture change,
	 * and the next posture commit is the next change */
	assert_int_equal(gw_store_begin(w, NULL, &err), 0);
	assert_int_equal(gw_store_event_append(w, "{\"e\":2}", 7, &err), 0);
	assert_int_equal(gw_store_commit(w, &err), 0);
	assert_int_equal(gw_store_begin(w, NULL, &err), 0);
	p = posture(w); /* the locked row */
	assert_string_equal(p, "{\"n\":1}");
	free(p);
	assert_int_equal(gw_store_posture_write(w, "{\"n\":2}", 7, &err), 0);
	assert_int_equal(gw_store_commit(w, &err), 0);
	/* had the event-only commit announced a change, it would be the first
	 * to arrive and the posture's would follow: two */
	assert_int_equal(await_changes(l, 1), 1);
	free(posture(l));
	assert_int_equal(gw_store_drain(l, &extra, &err), 0);
	assert_int_equal(extra, 0);
	/* a statement the database refuses (text that is not UTF-8) fails the
	 * transaction: its commit is a failure, never a success, and nothing of
	 * it is written */
	assert_int_equal(gw_store_begin(w, NULL, &err), 0);
	assert_int_equal(gw_store_event_append(w, "{\"e\":3}", 7, &err), 0);
	gw_err_clear(&err);
	assert_int_not_equal(gw_store_posture_write(w, "{\"n\":\"\xff\"}", 9, &err), 0);
	assert_int_equal(err.exit_code, GW_EXIT_DATAERR);
	ut_assert_contains(err.msg, "UTF8");
	gw_err_clear(&err);
	assert_int_not_equal(gw_store_commit(w, &err), 0);
	assert_int_equal(err.exit_code, GW_EXIT_UNAVAILABLE);
	ut_assert_contains(err.msg, "rolled back");
	p = posture(r);
	assert_string_equal(p, "{\"n\":2}");
	free(p);
	bool present = false;
	unsigned nlines = 0;
	assert_int_equal(gw_store_events_each(r, count_line, &nlines, &present, &err), 0);
	assert_true(present);
	assert_int_equal(nlines, 2); /* e:1 and e:2, not e:3 */
	gw_store_close(w);
	gw_store_close(r);
	gw_store_close(l);
}

static gw_store_replica *
find_replica(gw_store_replica *rows, size_t n, uint64_t id)
{
	for (size_t i = 0; i < n; i++)
		if (rows[i].id == id)
			return &rows[i];
	return NULL;
}

static void
collect_line(void *ctx, const char *line, size_t n)
{
	gw_buf *b = ctx;
	gw_buf_append(b, line, n);
	gw_buf_putc(b, ';');
}

static void
test_pg_replicas(void **state)
{
	(void)state;
	if (pg_url() == NULL)
		skip();
	char dep[32], other[40];
	snprintf(dep, sizeof(dep), "rep-%ld", (long)getpid());
	snprintf(other, sizeof(other), "rep-other-%ld", (long)getpid());
	gw_store *a = pg_open(dep), *b = pg_open(dep), *o = pg_open(other);
	gw_err err;
	gw_err_clear(&err);
	gw_store_replica *rows = NULL;
	size_t n = 99;
	assert_int_equal(gw_store_replica_list(a, &rows, &n, &err), 0);
	assert_int_equal(n, 0);
	assert_null(rows);

	uint64_t ia = 0, ib = 0, io = 0;
	gw_store_replica_info ra = { "host-a", "10.0.0.1:8080", "tau-gateway 1.0", 4242 };
	gw_store_replica_info rb = { "host-b", "10.0.0.2:8080", "tau-gateway 1.0", 4343 };
	assert_int_equal(gw_store_replica_register(a, &ra, &ia, &err), 0);
	assert_int_equal(gw_store_replica_register(b, &rb, &ib, &err), 0);
	assert_int_equal(gw_store_replica_register(o, &ra, &io, &err), 0);
	assert_int_not_equal(ia, ib);
	gw_store_replica_counters ca = { 120, 3, 7, 2 };
	assert_int_equal(gw_store_replica_heartbeat(a, ia, &ca, &err), 0);

	assert_int_equal(gw_store_replica_list(b, &rows, &n, &err), 0);
	assert_int_equal(n, 2); /* not the other deployment's row */
	assert_int_equal(rows[0].id, ia); /* ordered by host */
	gw_store_replica *x = find_replica(rows, n, ia);
	assert_non_null(x);
	assert_string_equal(x->host, "host-a");
	assert_string_equal(x->bind, "10.0.0.1:8080");
	assert_string_equal(x->version, "tau-gateway 1.0");
	assert_int_equal(x->pid, 4242);
	assert_int_equal(x->counters.requests, 120);
	assert_int_equal(x->counters.active_streams, 3);
	assert_int_equal(x->counters.errors_4xx, 7);
	assert_int_equal(x->counters.errors_5xx, 2);
	assert_true(x->heartbeat_age_ms < GW_STORE_REPLICA_STALE_MS);
	assert_false(x->stale);
	assert_true(x->started_unix_ms > 1700000000000ull);
	x = find_replica(rows, n, ib);
	assert_non_null(x);
	assert_int_equal(x->counters.requests, 0);
	assert_int_equal(x->pid, 4343);
	free(rows);

	/* deregistered: gone from the list, and a late heartbeat says so */
	assert_int_equal(gw_store_replica_deregister(b, ib, &err), 0);
	assert_int_equal(gw_store_replica_deregister(b, ib, &err), 0);
	assert_int_equal(gw_store_replica_list(a, &rows, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_int_equal(rows[0].id, ia);
	free(rows);
	gw_err_clear(&err);
	assert_int_equal(gw_store_replica_heartbeat(b, ib, &ca, &err), -ENOENT);
	ut_assert_contains(err.msg, "not registered");
	/* another deployment's id is not this deployment's row */
	gw_err_clear(&err);
	assert_int_equal(gw_store_replica_heartbeat(a, io, &ca, &err), -ENOENT);

	/* events_since: the newest max rows first, then only what follows */
	for (int i = 0; i < 5; i++) {
		char line[16];
		int len = snprintf(line, sizeof(line), "{\"i\":%d}", i);
		assert_int_equal(gw_store_event_append(a, line, (size_t)len, &err), 0);
	}
	gw_buf got = GW_BUF_INIT;
	uint64_t cur = 0;
	assert_int_equal(gw_store_events_since(b, &cur, 3, collect_line, &got, &err), 0);
	assert_string_equal(gw_buf_cstr(&got), "{\"i\":2};{\"i\":3};{\"i\":4};");
	gw_buf_reset(&got);
	assert_int_equal(gw_store_events_since(b, &cur, 3, collect_line, &got, &err), 0);
	assert_string_equal(gw_buf_cstr(&got), "");
	assert_int_equal(gw_store_event_append(a, "{\"i\":5}", 7, &err), 0);
	assert_int_equal(gw_store_events_since(b, &cur, 3, collect_line, &got, &err), 0);
	assert_string_equal(gw_buf_cstr(&got), "{\"i\":5};");
	gw_buf_free(&got);

	/* a statement timeout bounds the connection's statements */
	assert_int_equal(gw_store_set_timeout(b, 500, &err), 0);
	assert_true(gw_store_connected(b));
	gw_store_close(a);
	gw_store_close(b);
	gw_store_close(o);
}

static void
test_pg_response_save_many(void **state)
{
	(void)state;
	if (pg_url() == NULL)
		skip();
	char dep[32];
	snprintf(dep, sizeof(dep), "unit-resp-%ld", (long)getpid());
	gw_store *s = pg_open(dep);
	gw_err err;
	gw_err_clear(&err);
	assert_int_equal(gw_store_response_save_many(s, NULL, 0, &err), 0);
	gw_store_response rows[3] = {
		{ .id = "resp_a", .session_key = "", .previous_id = NULL, .history_items = 0,
		    .input_items = "[{\"t\":\"q\\\"uo{te},\\\\ NULL\"}]", .response = "{\"r\":\"NULL\"}" },
		{ .id = "resp_b", .session_key = "k,{\"}", .previous_id = "resp_a", .history_items = 2,
		    .input_items = "[]", .response = "\\\"" },
		{ .id = "resp_c", .session_key = "NULL", .previous_id = "resp_b", .history_items = 4,
		    .input_items = "[\"\"]", .response = "" },
	};
	assert_int_equal(gw_store_response_save_many(s, rows, 3, &err), 0);
	for (int i = 0; i < 3; i++) {
		gw_store_response got;
		assert_int_equal(gw_store_response_load(s, rows[i].id, &got, &err), 0);
		assert_string_equal(got.id, rows[i].id);
		assert_string_equal(got.session_key, rows[i].session_key);
		if (rows[i].previous_id == NULL)
			assert_null(got.previous_id);
		else
			assert_string_equal(got.previous_id, rows[i].previous_id);
		assert_int_equal(got.history_items, rows[i].history_items);
		assert_string_equal(got.input_items, rows[i].input_items);
		assert_string_equal(got.response, rows[i].response);
		gw_store_response_free(&got);
	}
	/* one row the database refuses: none of the group is saved */
	gw_store_response bad[2] = {
		{ .id = "resp_good", .session_key = "", .input_items = "[]", .response = "{}" },
		{ .id = "resp_bad", .session_key = "", .input_items = "[]", .response = "\xff\xfe" },
	};
	gw_err_clear(&err);
	assert_int_equal(gw_store_response_save_many(s, bad, 2, &err), -EINVAL);
	assert_int_equal(err.exit_code, GW_EXIT_DATAERR);
	gw_store_response got;
	assert_int_equal(gw_store_response_load(s, "resp_good", &got, &err), -ENOENT);
	assert_int_equal(gw_store_response_load(s, "resp_bad", &got, &err), -ENOENT);
	/* the connection stays usable; alone, the good row is saved */
	gw_err_clear(&err);
	assert_int_equal(gw_store_response_save_many(s, bad, 1, &err), 0);
	assert_int_equal(gw_store_response_load(s, "resp_good", &got, &err), 0);
	gw_store_response_free(&got);
	gw_store_close(s);
}

/* Runs sql on its own connection (set-up outside the store). */
static void
pg_sql(const char *sql)
{
	PGconn *c = PQconnectdb(pg_url());
	assert_int_equal(PQstatus(c), CONNECTION_OK);
	PGresult *res = PQexec(c, sql);
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		print_error("%s: %s\n", sql, PQresultErrorMessage(res));
	assert_int_equal(PQresultStatus(res), PGRES_COMMAND_OK);
	PQclear(res);
	PQfinish(c);
}

static void
test_pg_response_commit_fails(void **state)
{
	(void)state;
	if (pg_url() == NULL)
		skip();
	char dep[48], sql[1024];
	snprintf(dep, sizeof(dep), "unit-commit-%ld", (long)getpid());
	gw_store *s = pg_open(dep); /* creates the schema before the trigger */
	/* refuses this deployment's rows at commit (Sync), after the INSERT's
	 * CommandComplete has been sent */
	snprintf(sql, sizeof(sql),
	    "CREATE OR REPLACE FUNCTION tau_unit_refuse_%ld() RETURNS trigger LANGUAGE plpgsql AS"
	    " $$BEGIN IF NEW.deployment = '%s' THEN RAISE EXCEPTION 'refused at commit'; END IF;"
	    " RETURN NULL; END$$;"
	    " CREATE CONSTRAINT TRIGGER tau_unit_refuse_%ld AFTER INSERT ON tau_response"
	    " DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION tau_unit_refuse_%ld()",
	    (long)getpid(), dep, (long)getpid(), (long)getpid());
	pg_sql(sql);
	gw_store_response row = { .id = "resp_deferred", .session_key = "", .input_items = "[]",
		.response = "{}" };
	for (int bounded = 0; bounded < 2; bounded++) {
		gw_err err;
		gw_err_clear(&err);
		assert_int_equal(gw_store_set_timeout(s, bounded ? 5000 : 0, &err), 0);
		assert_int_equal(gw_store_response_save_many(s, &row, 1, &err), -EIO);
		ut_assert_contains(err.msg, "refused at commit");
		gw_store_response got;
		assert_int_equal(gw_store_response_load(s, row.id, &got, &err), -ENOENT);
	}
	snprintf(sql, sizeof(sql),
	    "DROP TRIGGER tau_unit_refuse_%ld ON tau_response; DROP FUNCTION tau_unit_refuse_%ld()",
	    (long)getpid(), (long)getpid());
	pg_sql(sql);
	gw_store_close(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_deployment_names),
		cmocka_unit_test(test_redaction),
		cmocka_unit_test(test_file_backend),
		cmocka_unit_test(test_pg_transactions_and_feed),
		cmocka_unit_test(test_pg_replicas),
		cmocka_unit_test(test_pg_response_save_many),
		cmocka_unit_test(test_pg_response_commit_fails),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
