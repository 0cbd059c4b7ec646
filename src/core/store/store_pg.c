/*
 * store_pg.c - the PostgreSQL backend of the store: the only file that
 * calls libpq.
 *
 * Schema (versioned in tau_schema, created or migrated on open while
 * holding a session advisory lock, so two processes opening a new database
 * at once do not race; a version newer than GW_STORE_SCHEMA_VERSION is
 * refused and left alone):
 *   tau_schema      (id = 1, version)
 *   tau_deployment  (name PRIMARY KEY, posture text, created/updated ms)
 *   tau_event       (deployment, seq identity, unix_ms, line) keyed by
 *                   (deployment, seq)
 *   tau_replica     (version 2: deployment, id identity, host, bind, pid,
 *                   version, started and heartbeat timestamptz from the
 *                   database's now(), the counters of the last heartbeat)
 *                   keyed by (deployment, id)
 *   tau_response    (version 3: deployment, id, previous_response_id,
 *                   session_key, history_items, input_items, response,
 *                   created_unix_ms) keyed by (deployment, id), and indexed
 *                   by (deployment, created_unix_ms) for the sweep
 *   tau_session     (version 4: deployment, key, body (session.c's JSONL
 *                   text; since version 6 its prefix), created/updated ms)
 *                   keyed by (deployment, key), indexed by (deployment,
 *                   updated_unix_ms) for the sweep; a turn holds its row
 *                   FOR UPDATE for the whole exchange
 *   tau_record      (version 5: deployment, key, seq, actor, record) keyed
 *                   by (deployment, key), indexed by processing order and
 *                   by actor: the contract runner's processed keys and
 *                   request records
 *   tau_channel     (version 5: deployment, transport, channel, memory) and
 *   tau_channel_line (deployment, transport, channel, kind 'log' or
 *                   'context', seq identity, line): the runner's channel
 *                   store, MEMORY.md stored as the runner renders it
 *   tau_session_line (version 6: deployment, key, seq identity, lines):
 *                   a session's appended exchanges; body followed by them
 *                   in seq order is the session's text (see step 6)
 * Migration steps are numbered 1 to GW_STORE_SCHEMA_VERSION; every step
 * above the stored version runs, in order, each in one transaction.
 * Every statement is PQexecParams with bind parameters; user data is never
 * spliced into SQL.  The one exception is LISTEN, which takes no parameter:
 * its channel is the deployment name (already restricted to a-z 0-9 _ -)
 * quoted with PQescapeIdentifier.  The write path is a transaction that
 * holds the deployment's row FOR UPDATE, so writers on any host serialise
 * and none loses another's update; its commit sends pg_notify on the
 * deployment's channel.  libpq's notices never reach the terminal (the core
 * never prints), and no message leaves this file before the password in the
 * connection string is redacted from it.
 */
#include "core/store/store_int.h"
#include "core/base/clock.h"
#include "core/base/json.h"
#include "core/base/mem.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* pg_advisory_lock key of schema creation and migration ("tau-gw" + 1) */
#define GW_PG_SCHEMA_LOCK "8391736572543233"
#define GW_PG_CONNECT_TIMEOUT "10"
/* TCP keepalive on every connection (unless the connection string sets its
 * own): a database host that died or dropped off the network, with no FIN
 * or RST ever arriving, is noticed after about idle + interval * count
 * seconds of silence (25 s) instead of the kernel's two hours; and data
 * left unacknowledged for GW_PG_TCP_USER_TIMEOUT ms (a request sent to a
 * dead host, when keepalive probes are not sent) fails the connection as
 * well.  Unix-socket connections ignore all four. */
#define GW_PG_KEEPALIVES_IDLE "10"
#define GW_PG_KEEPALIVES_INTERVAL "5"
#define GW_PG_KEEPALIVES_COUNT "3"
#define GW_PG_TCP_USER_TIMEOUT "30000"
/* how much longer than its statement_timeout a bounded connection waits for
 * an answer before it counts the server as gone (gw_pg_call) */
#define GW_PG_SILENCE_GRACE_MS 100
/* idle_in_transaction_session_timeout of a session turn, past twice its
 * wait (the row lock's, then the upstream call's, each bounded by it) */
#define GW_PG_IDLE_TX_MARGIN_MS 10000
#define GW_PG_CHANNEL_PREFIX "tau_gateway."

struct gw_store_pg {
	PGconn *conn;
	char *url;              /* for redaction only */
	char *deployment;
	char *channel;          /* GW_PG_CHANNEL_PREFIX + deployment */
	uint64_t bound_ms;      /* the client-side bound of a call (gw_store_pg_set_timeout), 0: none */
	bool silent;            /* a call got no answer within bound_ms: the connection is abandoned */
	uint64_t deadline_ms;   /* monotonic ms no call may wait past (gw_store_pg_set_deadline), 0: none */
	bool in_tx;
	bool dirty;             /* the posture was written in this transaction */
	bool locked_present;    /* the locked row has a posture */
	gw_buf locked;          /* its text */
	bool deployment_known;  /* this connection registered the deployment's row */
	bool save_prepared;     /* and prepared GW_PG_SAVE (gw_store_pg_response_save_many) */
	bool present_prepared;  /* prepared GW_PG_PRESENT (gw_store_pg_response_present) */
	unsigned session_prepared; /* bit i: prepared gw_pg_session_sql[i] on this connection */
};

/* ---- redaction ---------------------------------------------------------- */

typedef struct gw_secrets {
	char *v[16];
	size_t n;
} gw_secrets;

static void
gw_secret_add(gw_secrets *s, const char *p, size_t len)
{
	if (len == 0 || s->n == sizeof(s->v) / sizeof(s->v[0]))
		return;
	char *t = gw_xmalloc(len + 1);
	memcpy(t, p, len);
	t[len] = '\0';
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->v[i], t) == 0) {
			free(t);
			return;
		}
	s->v[s->n++] = t;
	/* and its percent-decoded form, as libpq decodes URI parts */
	if (memchr(p, '%', len) == NULL || s->n == sizeof(s->v) / sizeof(s->v[0]))
		return;
	char *d = gw_xmalloc(len + 1);
	size_t o = 0;
	for (size_t i = 0; i < len; i++) {
		if (p[i] == '%' && i + 2 < len && isxdigit((unsigned char)p[i + 1]) &&
		    isxdigit((unsigned char)p[i + 2])) {
			char hex[3] = { p[i + 1], p[i + 2], '\0' };
			d[o++] = (char)strtol(hex, NULL, 16);
			i += 2;
		} else {
			d[o++] = p[i];
		}
	}
	d[o] = '\0';
	if (o > 0 && strcmp(d, t) != 0)
		s->v[s->n++] = d;
	else
		free(d);
}

static void
gw_secrets_collect(const char *url, gw_secrets *s)
{
	s->n = 0;
	if (url == NULL)
		return;
	/* what libpq itself makes of it */
	char *errmsg = NULL;
	PQconninfoOption *opts = PQconninfoParse(url, &errmsg);
	for (PQconninfoOption *o = opts; o != NULL && o->keyword != NULL; o++)
		if (strcmp(o->keyword, "password") == 0 && o->val != NULL)
			gw_secret_add(s, o->val, strlen(o->val));
	PQconninfoFree(opts);
	if (errmsg != NULL)
		PQfreemem(errmsg);
	/* and, for strings libpq refuses, every password=VALUE ... */
	for (const char *p = url; (p = strcasestr(p, "password")) != NULL;) {
		p += 8;
		const char *v = p;
		while (*v == ' ' || *v == '\t')
			v++;
		if (*v != '=')
			continue;
		v++;
		while (*v == ' ' || *v == '\t')
			v++;
		const char *e;
		if (*v == '\'') {
			v++;
			for (e = v; *e && *e != '\''; e++)
				if (*e == '\\' && e[1])
					e++;
		} else {
			e = v + strcspn(v, " \t\r\n&");
		}
		gw_secret_add(s, v, (size_t)(e - v));
	}
	/* ... and the user:password@ of a URI.  The password runs from the
	 * first ':' to the last '@' anywhere in the URI: a password with an
	 * unencoded '/', '?' or '#' ends libpq's authority early, and libpq then
	 * quotes the pieces of it as a port or a database name, so each piece is
	 * a secret too (over-redacting an odd URL beats printing part of a
	 * password). */
	const char *u = strstr(url, "://");
	if (u != NULL) {
		u += 3;
		const char *at = strrchr(u, '@');
		const char *colon = at != NULL ? memchr(u, ':', (size_t)(at - u)) : NULL;
		if (colon != NULL) {
			const char *pw = colon + 1;
			size_t len = (size_t)(at - pw);
			gw_secret_add(s, pw, len);
			if (strcspn(pw, "/?#") < len)
				for (size_t i = 0; i < len;) {
					size_t k = strcspn(pw + i, "/?#");
					if (k > len - i)
						k = len - i;
					gw_secret_add(s, pw + i, k);
					i += k + 1;
				}
		}
	}
}

void
gw_store_redact(const char *url, const char *text, gw_buf *out)
{
	gw_secrets s;
	gw_secrets_collect(url, &s);
	gw_buf cur = GW_BUF_INIT, next = GW_BUF_INIT;
	gw_buf_puts(&cur, text ? text : "");
	/* longest first, so a secret that contains another goes whole */
	for (size_t i = 0; i < s.n; i++)
		for (size_t j = i + 1; j < s.n; j++)
			if (strlen(s.v[j]) > strlen(s.v[i])) {
				char *t = s.v[i];
				s.v[i] = s.v[j];
				s.v[j] = t;
			}
	for (size_t i = 0; i < s.n; i++) {
		const char *p = gw_buf_cstr(&cur), *hit;
		size_t sl = strlen(s.v[i]);
		gw_buf_reset(&next);
		while ((hit = strstr(p, s.v[i])) != NULL) {
			gw_buf_append(&next, p, (size_t)(hit - p));
			gw_buf_puts(&next, "***");
			p = hit + sl;
		}
		gw_buf_puts(&next, p);
		gw_buf t = cur;
		cur = next;
		next = t;
	}
	gw_buf_append(out, cur.data ? cur.data : "", cur.len);
	gw_buf_free(&cur);
	gw_buf_free(&next);
	for (size_t i = 0; i < s.n; i++)
		free(s.v[i]);
}

/* ---- errors ------------------------------------------------------------- */

/* Sets err to "<what>: <libpq's message>" on one line, redacted. */
static int
gw_pg_fail(gw_store_pg *pg, const PGresult *res, int ret, int exit_code, const char *what,
    gw_err *err)
{
	if (pg->silent)
		return gw_err_set(err, -ETIMEDOUT, GW_EXIT_UNAVAILABLE,
		    "%s: the state database did not answer within %" PRIu64 " ms (connection abandoned)",
		    what, pg->bound_ms);
	const char *m = res != NULL ? PQresultErrorMessage(res) : "";
	if ((m == NULL || m[0] == '\0') && pg->conn != NULL)
		m = PQerrorMessage(pg->conn);
	gw_buf b = GW_BUF_INIT;
	gw_store_redact(pg->url, m ? m : "", &b);
	char *t = b.data ? b.data : "";
	for (char *c = t; *c; c++)
		if (*c == '\n' || *c == '\r' || *c == '\t')
			*c = ' ';
	size_t n = strlen(t);
	while (n > 0 && t[n - 1] == ' ')
		t[--n] = '\0';
	/* collapse runs of spaces libpq's multi-line messages leave */
	size_t o = 0;
	for (size_t i = 0; i < n; i++)
		if (!(t[i] == ' ' && o > 0 && t[o - 1] == ' '))
			t[o++] = t[i];
	t[o] = '\0';
	gw_err_set(err, ret, exit_code, "%s: %s", what, o ? t : "no detail from libpq");
	gw_buf_free(&b);
	return ret;
}

/* The end of a bounded wait that starts now: bound_ms from now, or the
 * caller's deadline when that comes first. */
static uint64_t
gw_pg_wait_end(const gw_store_pg *pg)
{
	uint64_t end = gw_clock_mono_ms() + pg->bound_ms;
	return pg->deadline_ms != 0 && pg->deadline_ms < end ? pg->deadline_ms : end;
}

/* Reads until a result is ready (PQisBusy false) or end: a server that
 * stops answering (a hung host, a partition: no statement_timeout fires,
 * since the statement never arrives) makes the wait give up and the
 * connection count as gone (pg->silent, false; gw_store_connected false),
 * so the caller reconnects instead of waiting for TCP to time out.  A
 * failed connection is true: PQgetResult reports it. */
static bool
gw_pg_wait_ready(gw_store_pg *pg, uint64_t end)
{
	while (PQisBusy(pg->conn)) {
		uint64_t now = gw_clock_mono_ms();
		struct pollfd p = { .fd = PQsocket(pg->conn), .events = POLLIN };
		int n = now >= end ? 0 : poll(&p, 1, (int)(end - now));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) { /* silence (or a poll that cannot wait): give up on it */
			pg->silent = true;
			return false;
		}
		if (!PQconsumeInput(pg->conn))
			break;
	}
	return true;
}

/* Waits for the results of what was just sent on pg's connection, all of
 * them within one bounded wait (gw_pg_wait_ready).  The caller's result
 * (the first), or the first error that followed it, or NULL.
 *
 * A statement's success is only its success once the server is ready for
 * the next one: in the extended protocol an autocommit statement's
 * CommandComplete comes before its commit (which happens at Sync), so a
 * backend terminated in between leaves a result that says COMMAND_OK for
 * rows that were rolled back.  libpq reports that as an error result after
 * it (or as a connection gone bad); either replaces the first result, as
 * PQexec's own last-result rule does. */
static PGresult *
gw_pg_await(gw_store_pg *pg)
{
	uint64_t end = gw_pg_wait_end(pg);
	PGresult *first = NULL, *r;
	for (;;) {
		if (!gw_pg_wait_ready(pg, end)) {
			PQclear(first);
			return NULL;
		}
		if ((r = PQgetResult(pg->conn)) == NULL)
			break;
		ExecStatusType st = PQresultStatus(r);
		bool failed = st == PGRES_FATAL_ERROR || st == PGRES_BAD_RESPONSE;
		if (first == NULL || (failed && PQresultStatus(first) != PGRES_FATAL_ERROR &&
		    PQresultStatus(first) != PGRES_BAD_RESPONSE)) {
			PQclear(first);
			first = r;
		} else {
			PQclear(r);
		}
		if (PQstatus(pg->conn) == CONNECTION_BAD)
			break;
	}
	/* gone before the server said it was ready: whatever the first
	 * result said, its commit is unknown */
	if (PQstatus(pg->conn) == CONNECTION_BAD && first != NULL &&
	    PQresultStatus(first) != PGRES_FATAL_ERROR && PQresultStatus(first) != PGRES_BAD_RESPONSE) {
		PQclear(first);
		return NULL;
	}
	return first;
}

/* PQexecParams, bounded on the client side when bound_ms is set
 * (gw_pg_await).  The result as PQexecParams's (the first one), or NULL. */
static PGresult *
gw_pg_call(gw_store_pg *pg, const char *sql, int nparams, const char *const *params)
{
	if (pg->silent)
		return NULL;
	if (pg->bound_ms == 0)
		return PQexecParams(pg->conn, sql, nparams, NULL, params, NULL, NULL, 0);
	if (!PQsendQueryParams(pg->conn, sql, nparams, NULL, params, NULL, NULL, 0))
		return NULL;
	return gw_pg_await(pg);
}

/* PQprepare (sql NOT NULL) or PQexecPrepared (sql NULL) of statement name,
 * bounded as gw_pg_call is. */
static PGresult *
gw_pg_call_prepared(gw_store_pg *pg, const char *name, const char *sql, int nparams,
    const char *const *params)
{
	if (pg->silent)
		return NULL;
	if (pg->bound_ms == 0)
		return sql != NULL ? PQprepare(pg->conn, name, sql, nparams, NULL) :
		    PQexecPrepared(pg->conn, name, nparams, params, NULL, NULL, 0);
	int sent = sql != NULL ? PQsendPrepare(pg->conn, name, sql, nparams, NULL) :
	    PQsendQueryPrepared(pg->conn, name, nparams, params, NULL, NULL, 0);
	return sent ? gw_pg_await(pg) : NULL;
}

/* Runs sql with nparams text parameters; returns the result when its
 * status is want, else NULL with err set (69: the database failed; 65: it
 * refused the data). */
static PGresult *
gw_pg_exec(gw_store_pg *pg, const char *sql, int nparams, const char *const *params,
    ExecStatusType want, const char *what, gw_err *err)
{
	PGresult *res = gw_pg_call(pg, sql, nparams, params);
	if (res != NULL && PQresultStatus(res) == want)
		return res;
	/* SQLSTATE class 22, a data exception (text that is not UTF-8, say), is
	 * the data's fault, not the database's */
	const char *state = res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	bool data = state != NULL && strncmp(state, "22", 2) == 0;
	gw_pg_fail(pg, res, data ? -EINVAL : -EIO, data ? GW_EXIT_DATAERR : GW_EXIT_UNAVAILABLE, what,
	    err);
	PQclear(res);
	return NULL;
}

/* A walk over sql's rows, one row at a time (single-row mode), so a long
 * result never sits in memory whole: row(ctx, res) for each row until it
 * returns non-zero (the rest is read and dropped), then that value.
 * Bounded as gw_pg_call is, per row: a connection already given up is
 * refused, and a server that goes silent mid-walk fails it (69).  A failed
 * statement is -EIO with err set ("what: libpq's reason"). */
typedef int (*gw_pg_row_fn)(void *ctx, const PGresult *res);

static int
gw_pg_stream(gw_store_pg *pg, const char *sql, int nparams, const char *const *params,
    const char *what, gw_pg_row_fn row, void *ctx, gw_err *err)
{
	if (pg->silent || !PQsendQueryParams(pg->conn, sql, nparams, NULL, params, NULL, NULL, 0))
		return gw_pg_fail(pg, NULL, -EIO, GW_EXIT_UNAVAILABLE, what, err);
	PQsetSingleRowMode(pg->conn);
	int rc = 0;
	PGresult *res;
	while ((pg->bound_ms == 0 || gw_pg_wait_ready(pg, gw_pg_wait_end(pg))) &&
	    (res = PQgetResult(pg->conn)) != NULL) {
		ExecStatusType st = PQresultStatus(res);
		if (st == PGRES_SINGLE_TUPLE && rc == 0)
			rc = row(ctx, res);
		else if (st != PGRES_SINGLE_TUPLE && st != PGRES_TUPLES_OK && rc == 0)
			rc = gw_pg_fail(pg, res, -EIO, GW_EXIT_UNAVAILABLE, what, err);
		PQclear(res);
	}
	if (pg->silent && rc == 0) /* the server went silent mid-walk */
		rc = gw_pg_fail(pg, NULL, -EIO, GW_EXIT_UNAVAILABLE, what, err);
	return rc;
}

/* Sets *n to the single count sql ($1: the deployment) returns. */
static int
gw_pg_count(gw_store_pg *pg, const char *sql, const char *what, uint64_t *n, gw_err *err)
{
	const char *p[] = { pg->deployment };
	PGresult *res = gw_pg_exec(pg, sql, 1, p, PGRES_TUPLES_OK, what, err);
	if (res == NULL)
		return -EIO;
	*n = strtoull(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return 0;
}


static int
gw_pg_run(gw_store_pg *pg, const char *sql, int nparams, const char *const *params,
    const char *what, gw_err *err)
{
	PGresult *res = gw_pg_exec(pg, sql, nparams, params, PGRES_COMMAND_OK, what, err);
	if (res == NULL)
		return -EIO;
	PQclear(res);
	return 0;
}

static void
gw_pg_quiet(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

/* ---- schema ------------------------------------------------------------- */

static const char *const gw_pg_schema_v1[] = {
	"CREATE TABLE tau_schema (id integer PRIMARY KEY CHECK (id = 1), version integer NOT NULL)",
	"CREATE TABLE tau_deployment (name text PRIMARY KEY, posture text,"
	" created_unix_ms bigint NOT NULL, updated_unix_ms bigint NOT NULL DEFAULT 0)",
	"CREATE TABLE tau_event (deployment text NOT NULL REFERENCES tau_deployment (name),"
	" seq bigint GENERATED ALWAYS AS IDENTITY, unix_ms bigint NOT NULL, line text NOT NULL,"
	" PRIMARY KEY (deployment, seq))",
	"INSERT INTO tau_schema (id, version) VALUES (1, 1)",
	NULL
};

/* Version 2: the replica registry.  Timestamps are the database's, so the
 * age of a heartbeat means the same on every host. */
static const char *const gw_pg_schema_v2[] = {
	"CREATE TABLE tau_replica (deployment text NOT NULL REFERENCES tau_deployment (name),"
	" id bigint GENERATED ALWAYS AS IDENTITY, host text NOT NULL, bind text NOT NULL,"
	" pid bigint NOT NULL, version text NOT NULL,"
	" started timestamptz NOT NULL DEFAULT now(), heartbeat timestamptz NOT NULL DEFAULT now(),"
	" requests bigint NOT NULL DEFAULT 0, active_streams bigint NOT NULL DEFAULT 0,"
	" errors_4xx bigint NOT NULL DEFAULT 0, errors_5xx bigint NOT NULL DEFAULT 0,"
	" PRIMARY KEY (deployment, id))",
	NULL
};

/* Version 3: stored responses (respstore.c's records as rows).  A
 * continuation names the response it continues; rows hold only their own
 * turn.  No foreign key on previous_response_id: deleting or expiring a
 * response cuts the chains through it, as the file store does. */
static const char *const gw_pg_schema_v3[] = {
	"CREATE TABLE tau_response (deployment text NOT NULL REFERENCES tau_deployment (name),"
	" id text NOT NULL, previous_response_id text, session_key text NOT NULL DEFAULT '',"
	" history_items bigint NOT NULL DEFAULT 0, input_items text NOT NULL, response text NOT NULL,"
	" created_unix_ms bigint NOT NULL, PRIMARY KEY (deployment, id))",
	"CREATE INDEX tau_response_created ON tau_response (deployment, created_unix_ms)",
	NULL
};

/* Version 4: sessions (session.c's JSONL text as one row per key).  A
 * turn holds its row FOR UPDATE from reading the history to appending its
 * exchange; the sweep's index is the last write.  IF NOT EXISTS: the step
 * can be run again harmlessly (steps 4 and 5 were built on separate
 * branches; no released binary skips either). */
static const char *const gw_pg_schema_v4[] = {
	"CREATE TABLE IF NOT EXISTS tau_session (deployment text NOT NULL REFERENCES tau_deployment (name),"
	" key text NOT NULL, body text NOT NULL DEFAULT '',"
	" created_unix_ms bigint NOT NULL, updated_unix_ms bigint NOT NULL,"
	" PRIMARY KEY (deployment, key))",
	"CREATE INDEX IF NOT EXISTS tau_session_updated ON tau_session (deployment, updated_unix_ms)",
	NULL
};

/* Version 5: the contract runner's records and channel store.  Keys and
 * actors sort bytewise (COLLATE "C"), as the file store's snapshot does, so
 * an actor's records come out in the order MEMORY.md lists them.  IF NOT
 * EXISTS, as step 4. */
static const char *const gw_pg_schema_v5[] = {
	"CREATE TABLE IF NOT EXISTS tau_record (deployment text NOT NULL REFERENCES tau_deployment (name),"
	" key text COLLATE \"C\" NOT NULL, seq bigint NOT NULL DEFAULT 0,"
	" actor text COLLATE \"C\" NOT NULL DEFAULT '', record text,"
	" PRIMARY KEY (deployment, key))",
	"CREATE INDEX IF NOT EXISTS tau_record_seq ON tau_record (deployment, seq) WHERE seq > 0",
	"CREATE INDEX IF NOT EXISTS tau_record_actor ON tau_record (deployment, actor, key) WHERE record IS NOT NULL",
	"CREATE TABLE IF NOT EXISTS tau_channel (deployment text NOT NULL REFERENCES tau_deployment (name),"
	" transport text NOT NULL, channel text NOT NULL, memory text,"
	" PRIMARY KEY (deployment, transport, channel))",
	"CREATE TABLE IF NOT EXISTS tau_channel_line (deployment text NOT NULL, transport text NOT NULL,"
	" channel text NOT NULL, kind text NOT NULL CHECK (kind IN ('log', 'context')),"
	" seq bigint GENERATED ALWAYS AS IDENTITY, line text NOT NULL,"
	" PRIMARY KEY (deployment, transport, channel, kind, seq),"
	" FOREIGN KEY (deployment, transport, channel) REFERENCES tau_channel)",
	NULL
};

/* Version 6: a session's appends as rows.  An UPDATE of a growing
 * TOASTed text rewrites (recompresses, WAL-logs) the whole value, so
 * body = body || $3 made each turn cost O(history) on the server; now a
 * turn inserts its exchange as one tau_session_line row (seq orders a
 * key's rows: its turns serialise on the tau_session row), the history is
 * body followed by the key's lines in seq order, and a compaction replaces
 * body and deletes the lines in one transaction.  A version 5 row keeps
 * its body as the prefix: nothing to convert.  The lines go with their
 * session (ON DELETE CASCADE: the sweep).  The trigger refuses a write to
 * the body of a session that has lines unless the lines were deleted first
 * (what a compaction does): a version 5 gateway still running during a
 * rolling upgrade reads only body, and its append would land before the
 * lines; its turn fails instead of corrupting the history.  The key has
 * tau_session's collation (a foreign key's columns must match; nothing
 * sorts by it). */
static const char *const gw_pg_schema_v6[] = {
	"CREATE TABLE IF NOT EXISTS tau_session_line (deployment text NOT NULL, key text NOT NULL,"
	" seq bigint GENERATED ALWAYS AS IDENTITY, lines text NOT NULL,"
	" PRIMARY KEY (deployment, key, seq),"
	" FOREIGN KEY (deployment, key) REFERENCES tau_session ON DELETE CASCADE)",
	"CREATE OR REPLACE FUNCTION tau_session_body_guard() RETURNS trigger LANGUAGE plpgsql AS $$"
	" BEGIN"
	" IF EXISTS (SELECT 1 FROM tau_session_line WHERE deployment = OLD.deployment AND key = OLD.key) THEN"
	" RAISE EXCEPTION 'session % of deployment % has rows in tau_session_line: its body is written"
	" only by a tau-gateway of schema version 6 or later', OLD.key, OLD.deployment"
	" USING ERRCODE = 'object_not_in_prerequisite_state';"
	" END IF;"
	" RETURN NEW;"
	" END $$",
	"DROP TRIGGER IF EXISTS tau_session_body_guard ON tau_session",
	"CREATE TRIGGER tau_session_body_guard BEFORE UPDATE OF body ON tau_session"
	" FOR EACH ROW EXECUTE FUNCTION tau_session_body_guard()",
	/* a session turn's stored response holds its whole context (a root
	 * record): past 2 kB it is compressed on every insert, and lz4 costs
	 * a third of pglz's time there; so does a compacted or migrated body.
	 * Values already stored stay as they are.  A server without lz4 (or
	 * older than 14) keeps pglz: nothing else depends on it. */
	"DO $$ BEGIN"
	" EXECUTE 'ALTER TABLE tau_response ALTER COLUMN input_items SET COMPRESSION lz4';"
	" EXECUTE 'ALTER TABLE tau_session ALTER COLUMN body SET COMPRESSION lz4';"
	" EXCEPTION WHEN feature_not_supported OR syntax_error OR undefined_object THEN NULL;"
	" END $$",
	NULL
};

/* The migration steps, each numbered with the version it makes and run in
 * one transaction.  Every step whose number is above the database's
 * version is applied, in order.  Step 1 inserts the version row itself. */
typedef struct gw_pg_step {
	long version;
	const char *const *sql;
} gw_pg_step;

static const gw_pg_step gw_pg_steps[] = {
	{ 1, gw_pg_schema_v1 },
	{ 2, gw_pg_schema_v2 },
	{ 3, gw_pg_schema_v3 },
	{ 4, gw_pg_schema_v4 },
	{ 5, gw_pg_schema_v5 },
	{ 6, gw_pg_schema_v6 },
};

static int
gw_pg_schema_locked(gw_store_pg *pg, gw_err *err)
{
	PGresult *res = gw_pg_exec(pg, "SELECT to_regclass('tau_schema') IS NOT NULL", 0, NULL,
	    PGRES_TUPLES_OK, "cannot read the state database's schema", err);
	if (res == NULL)
		return -EIO;
	bool exists = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	long version = 0;
	if (exists) {
		res = gw_pg_exec(pg, "SELECT version FROM tau_schema WHERE id = 1", 0, NULL,
		    PGRES_TUPLES_OK, "cannot read the state database's schema version", err);
		if (res == NULL)
			return -EIO;
		if (PQntuples(res) != 1) {
			PQclear(res);
			return gw_err_set(err, -EPROTO, GW_EXIT_DATAERR,
			    "the state database %s has a tau_schema table without its version row; refusing to touch it",
			    PQdb(pg->conn));
		}
		version = strtol(PQgetvalue(res, 0, 0), NULL, 10);
		PQclear(res);
	}
	if (version > GW_STORE_SCHEMA_VERSION || version < 0)
		return gw_err_set(err, -EPROTONOSUPPORT, GW_EXIT_DATAERR,
		    "the state database %s has schema version %ld, newer than this tau-gateway knows (%d); "
		    "refusing to touch it (upgrade tau-gateway)",
		    PQdb(pg->conn), version, GW_STORE_SCHEMA_VERSION);
	for (size_t i = 0; i < sizeof(gw_pg_steps) / sizeof(gw_pg_steps[0]); i++) {
		const gw_pg_step *st = &gw_pg_steps[i];
		if (st->version <= version)
			continue;
		int rc = gw_pg_run(pg, "BEGIN", 0, NULL, "cannot create the schema", err);
		for (const char *const *sql = st->sql; rc == 0 && *sql; sql++)
			rc = gw_pg_run(pg, *sql, 0, NULL, "cannot create the schema", err);
		if (rc == 0 && st->version > 1) {
			char next[24];
			snprintf(next, sizeof(next), "%ld", st->version);
			const char *p[] = { next };
			rc = gw_pg_run(pg, "UPDATE tau_schema SET version = $1::integer WHERE id = 1", 1, p,
			    "cannot record the schema version", err);
		}
		if (rc == 0)
			rc = gw_pg_run(pg, "COMMIT", 0, NULL, "cannot create the schema", err);
		if (rc != 0) {
			PQclear(gw_pg_call(pg, "ROLLBACK", 0, NULL));
			return rc;
		}
	}
	return 0;
}

static int
gw_pg_schema(gw_store_pg *pg, gw_err *err)
{
	const char *key[] = { GW_PG_SCHEMA_LOCK };
	PGresult *res = gw_pg_exec(pg, "SELECT pg_advisory_lock($1::bigint)", 1, key, PGRES_TUPLES_OK,
	    "cannot lock the state database's schema", err);
	if (res == NULL)
		return -EIO;
	PQclear(res);
	int rc = gw_pg_schema_locked(pg, err);
	PQclear(gw_pg_call(pg, "SELECT pg_advisory_unlock($1::bigint)", 1, key));
	return rc;
}

/* ---- open and close ----------------------------------------------------- */

/* PQconnectStartParams driven by PQconnectPoll within connect_ms: a server
 * that accepts the TCP connection and then says nothing (a hung host)
 * fails the open in time.  NULL only when libpq cannot allocate. */
static PGconn *
gw_pg_connect_within(const char *const *keys, const char *const *vals, uint64_t connect_ms)
{
	PGconn *c = PQconnectStartParams(keys, vals, 1);
	if (c == NULL || PQstatus(c) == CONNECTION_BAD)
		return c;
	uint64_t end = gw_clock_mono_ms() + connect_ms;
	PostgresPollingStatusType st = PGRES_POLLING_WRITING;
	while (st != PGRES_POLLING_OK && st != PGRES_POLLING_FAILED) {
		struct pollfd p = { .fd = PQsocket(c),
			.events = st == PGRES_POLLING_READING ? POLLIN : POLLOUT };
		uint64_t now = gw_clock_mono_ms();
		int n = now >= end ? 0 : poll(&p, 1, (int)(end - now));
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0)
			return c; /* not CONNECTION_OK: the caller reports the timeout */
		st = PQconnectPoll(c);
	}
	return c;
}

int
gw_store_pg_open(gw_store *s, const char *url, const char *deployment, uint64_t connect_ms,
    gw_err *err)
{
	gw_store_pg *pg = gw_xcalloc(1, sizeof(*pg));
	s->pg = pg;
	pg->url = gw_xstrdup(url ? url : "");
	pg->deployment = gw_xstrdup(deployment);
	gw_buf ch = GW_BUF_INIT;
	gw_buf_printf(&ch, "%s%s", GW_PG_CHANNEL_PREFIX, deployment);
	pg->channel = gw_buf_detach(&ch);
	/* the URL's own values override these defaults (they come first) */
	const char *keys[] = { "connect_timeout", "fallback_application_name", "keepalives",
		"keepalives_idle", "keepalives_interval", "keepalives_count", "tcp_user_timeout",
		"dbname", NULL };
	const char *vals[] = { GW_PG_CONNECT_TIMEOUT, "tau-gateway", "1", GW_PG_KEEPALIVES_IDLE,
		GW_PG_KEEPALIVES_INTERVAL, GW_PG_KEEPALIVES_COUNT, GW_PG_TCP_USER_TIMEOUT, pg->url,
		NULL };
	uint64_t end = gw_clock_mono_ms() + connect_ms;
	pg->conn = connect_ms > 0 ? gw_pg_connect_within(keys, vals, connect_ms) :
	    PQconnectdbParams(keys, vals, 1);
	if (pg->conn == NULL)
		return gw_err_set(err, -ENOMEM, GW_EXIT_SOFTWARE, "cannot allocate a database connection");
	if (PQstatus(pg->conn) != CONNECTION_OK) {
		if (PQstatus(pg->conn) != CONNECTION_BAD)
			return gw_err_set(err, -ETIMEDOUT, GW_EXIT_UNAVAILABLE,
			    "cannot connect to the state database: no answer within %" PRIu64 " ms",
			    connect_ms);
		return gw_pg_fail(pg, NULL, -ECONNREFUSED, GW_EXIT_UNAVAILABLE,
		    "cannot connect to the state database", err);
	}
	PQsetNoticeProcessor(pg->conn, gw_pg_quiet, NULL);
	/* the schema check is bounded by what is left of the connect's time
	 * (one bound for the whole open, not one for each part) */
	pg->bound_ms = connect_ms;
	pg->deadline_ms = connect_ms > 0 ? end : 0;
	int rc = gw_pg_schema(pg, err);
	pg->bound_ms = 0;
	pg->deadline_ms = 0;
	if (rc != 0)
		return rc;
	gw_buf b = GW_BUF_INIT;
	gw_buf_printf(&b, "postgresql:%s/%s", PQdb(pg->conn), deployment);
	s->label = gw_buf_detach(&b);
	gw_buf_printf(&b, "%s/posture", s->label);
	s->posture_label = gw_buf_detach(&b);
	gw_buf_printf(&b, "%s/events", s->label);
	s->events_label = gw_buf_detach(&b);
	return 0;
}

void
gw_store_pg_close(gw_store_pg *pg)
{
	if (pg->conn != NULL) {
		if (pg->in_tx)
			gw_store_pg_abort(pg);
		PQfinish(pg->conn);
	}
	gw_buf_free(&pg->locked);
	free(pg->url);
	free(pg->deployment);
	free(pg->channel);
	free(pg);
}

/* ---- the posture -------------------------------------------------------- */

static void
gw_pg_now(char *out, size_t n)
{
	snprintf(out, n, "%" PRIu64, gw_clock_unix_ms());
}

/* The deployment's row, made in its own autocommit statement when absent. */
static int
gw_pg_deployment_ensure(gw_store_pg *pg, gw_err *err)
{
	char now[24];
	gw_pg_now(now, sizeof(now));
	const char *d[] = { pg->deployment, now };
	return gw_pg_run(pg,
	    "INSERT INTO tau_deployment (name, created_unix_ms) VALUES ($1, $2::bigint)"
	    " ON CONFLICT (name) DO NOTHING",
	    2, d, "cannot register the deployment", err);
}

/* Sets a transaction-local setting (set_config(name, value, true)). */
static int
gw_pg_set_local(gw_store_pg *pg, const char *name, const char *value, gw_err *err)
{
	const char *p[] = { name, value };
	PGresult *res = gw_pg_exec(pg, "SELECT set_config($1, $2, true)", 2, p, PGRES_TUPLES_OK,
	    "cannot configure the state transaction", err);
	PQclear(res);
	return res != NULL ? 0 : -EIO;
}

static int
gw_pg_lock_timeout(gw_store_pg *pg, uint64_t ms, gw_err *err)
{
	char v[24];
	snprintf(v, sizeof(v), "%" PRIu64, ms > 0 ? ms : 1); /* 0 would be forever */
	return gw_pg_set_local(pg, "lock_timeout", v, err);
}

/* SELECT ... FOR UPDATE of the deployment's row: the result, or NULL with
 * *timed_out set when lock_timeout passed (else err set). */
static PGresult *
gw_pg_lock_row(gw_store_pg *pg, bool *timed_out, gw_err *err)
{
	const char *p[] = { pg->deployment };
	*timed_out = false;
	PGresult *res = gw_pg_call(pg,
	    "SELECT posture FROM tau_deployment WHERE name = $1 FOR UPDATE", 1, p);
	if (PQresultStatus(res) == PGRES_TUPLES_OK)
		return res;
	const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	if (state != NULL && strcmp(state, "55P03") == 0) /* lock_not_available */
		*timed_out = true;
	else
		gw_pg_fail(pg, res, -EIO, GW_EXIT_UNAVAILABLE, "cannot lock the deployment's posture", err);
	PQclear(res);
	return NULL;
}

/* Who holds the deployment's row, as its application_name says (a writer
 * names itself "tau-gateway <deployment> pid N (what)" for the length of
 * its transaction), or "another session". */
static void
gw_pg_holder(gw_store_pg *pg, char *out, size_t n)
{
	/* compared as a plain prefix (a LIKE pattern would read a '_' of the
	 * deployment as a wildcard); sessions that are themselves waiting for a
	 * lock are other waiters, not the holder */
	char prefix[96];
	snprintf(prefix, sizeof(prefix), "tau-gateway %s ", pg->deployment);
	const char *p[] = { prefix };
	PGresult *res = gw_pg_call(pg,
	    "SELECT application_name, coalesce(host(client_addr), 'local') FROM pg_stat_activity"
	    " WHERE left(application_name, length($1)) = $1 AND pid <> pg_backend_pid()"
	    " AND wait_event_type IS DISTINCT FROM 'Lock'"
	    " AND datname = current_database() AND xact_start IS NOT NULL ORDER BY xact_start LIMIT 1",
	    1, p);
	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1) {
		const char *app = PQgetvalue(res, 0, 0) + strlen(prefix);
		snprintf(out, n, "%s on %s", app, PQgetvalue(res, 0, 1));
	} else {
		snprintf(out, n, "another session");
	}
	PQclear(res);
}

int
gw_store_pg_begin(gw_store_pg *pg, const char *who, gw_err *err)
{
	if (pg->in_tx)
		return gw_err_set(err, -EBUSY, GW_EXIT_SOFTWARE, "a state transaction is already open");
	/* the deployment's row is made in its own autocommit statement, before
	 * the transaction, so a first writer never holds an uncommitted insert
	 * that a second would wait on outside the bounded row wait below */
	int rc = gw_pg_deployment_ensure(pg, err);
	if (rc != 0)
		return rc;
	rc = gw_pg_run(pg, "BEGIN", 0, NULL, "cannot begin a state transaction", err);
	if (rc != 0)
		return rc;
	pg->in_tx = true;
	pg->dirty = false;
	/* name this writer for whoever waits behind it (see gw_pg_holder) */
	char app[160];
	snprintf(app, sizeof(app), "tau-gateway %s pid %ld (%s)", pg->deployment, (long)getpid(),
	    who != NULL ? who : "tau-gateway");
	rc = gw_pg_set_local(pg, "application_name", app, err);
	/* the state lock's wait bound applies to the row lock too; after
	 * GW_LOCK_NOTICE_MS of it the wait names the holder, as a state
	 * directory's does */
	uint64_t wait_ms = gw_lock_wait_bound(), t0 = gw_clock_mono_ms();
	bool notice = wait_ms > GW_LOCK_NOTICE_MS;
	if (rc == 0)
		rc = gw_pg_lock_timeout(pg, notice ? GW_LOCK_NOTICE_MS : wait_ms, err);
	if (rc == 0 && notice)
		rc = gw_pg_run(pg, "SAVEPOINT tau_row_wait", 0, NULL, "cannot begin a state transaction", err);
	PGresult *res = NULL;
	bool timed_out = false;
	if (rc == 0)
		res = gw_pg_lock_row(pg, &timed_out, err);
	if (res == NULL && timed_out && notice) {
		rc = gw_pg_run(pg, "ROLLBACK TO SAVEPOINT tau_row_wait", 0, NULL,
		    "cannot wait for the deployment's posture", err);
		if (rc == 0) {
			char holder[200], msg[600];
			gw_pg_holder(pg, holder, sizeof(holder));
			snprintf(msg, sizeof(msg), "waiting for deployment '%s' of %s held by %s",
			    pg->deployment, PQdb(pg->conn), holder);
			gw_lock_notice_say(msg);
			uint64_t waited = gw_clock_mono_ms() - t0;
			rc = gw_pg_lock_timeout(pg, wait_ms > waited ? wait_ms - waited : 1, err);
		}
		if (rc == 0)
			res = gw_pg_lock_row(pg, &timed_out, err);
	}
	if (res == NULL) {
		gw_store_pg_abort(pg);
		if (rc == 0 && timed_out) { /* asked outside the failed transaction */
			char holder[200];
			gw_pg_holder(pg, holder, sizeof(holder));
			return gw_err_set(err, -ETIMEDOUT, GW_EXIT_UNAVAILABLE,
			    "gave up waiting for deployment '%s' of %s after %" PRIu64 " ms: held by %s "
			    "(--gateway-lock-wait-ms sets the bound)",
			    pg->deployment, PQdb(pg->conn), wait_ms, holder);
		}
		return rc != 0 ? rc : -EIO;
	}
	gw_buf_reset(&pg->locked);
	pg->locked_present = PQntuples(res) == 1 && !PQgetisnull(res, 0, 0);
	if (pg->locked_present)
		gw_buf_append(&pg->locked, PQgetvalue(res, 0, 0), (size_t)PQgetlength(res, 0, 0));
	PQclear(res);
	return 0;
}

int
gw_store_pg_commit(gw_store_pg *pg, gw_err *err)
{
	if (!pg->in_tx)
		return gw_err_set(err, -EINVAL, GW_EXIT_SOFTWARE, "no state transaction is open");
	int rc = 0;
	if (pg->dirty) {
		const char *p[] = { pg->channel, "posture" };
		PGresult *res = gw_pg_exec(pg, "SELECT pg_notify($1, $2)", 2, p, PGRES_TUPLES_OK,
		    "cannot announce the posture change", err);
		if (res == NULL)
			rc = -EIO;
		PQclear(res);
	}
	if (rc != 0) {
		gw_store_pg_abort(pg);
		return rc;
	}
	PGresult *res = gw_pg_call(pg, "COMMIT", 0, NULL);
	pg->in_tx = false;
	/* a transaction that failed answers COMMIT with ROLLBACK: not a success */
	if (res == NULL || PQresultStatus(res) != PGRES_COMMAND_OK ||
	    strcmp(PQcmdStatus(res), "COMMIT") != 0) {
		if (res != NULL && PQresultStatus(res) == PGRES_COMMAND_OK)
			gw_err_set(err, -EIO, GW_EXIT_UNAVAILABLE,
			    "the state transaction was rolled back by the database; nothing was written");
		else
			gw_pg_fail(pg, res, -EIO, GW_EXIT_UNAVAILABLE,
			    "cannot commit the state transaction (nothing is known to be written)", err);
		PQclear(res);
		return -EIO;
	}
	PQclear(res);
	return 0;
}

void
gw_store_pg_abort(gw_store_pg *pg)
{
	if (!pg->in_tx)
		return;
	pg->in_tx = false;
	PQclear(gw_pg_call(pg, "ROLLBACK", 0, NULL));
}

int
gw_store_pg_posture_read(gw_store_pg *pg, gw_buf *out, gw_err *err)
{
	gw_buf_reset(out);
	if (pg->in_tx) {
		if (!pg->locked_present)
			return -ENOENT;
		gw_buf_append(out, pg->locked.data, pg->locked.len);
		return 0;
	}
	const char *p[] = { pg->deployment };
	PGresult *res = gw_pg_exec(pg, "SELECT posture FROM tau_deployment WHERE name = $1", 1, p,
	    PGRES_TUPLES_OK, "cannot read the deployment's posture", err);
	if (res == NULL)
		return -EIO;
	int rc = -ENOENT;
	if (PQntuples(res) == 1 && !PQgetisnull(res, 0, 0)) {
		gw_buf_append(out, PQgetvalue(res, 0, 0), (size_t)PQgetlength(res, 0, 0));
		rc = 0;
	}
	PQclear(res);
	return rc;
}

int
gw_store_pg_posture_write(gw_store_pg *pg, const char *text, size_t n, gw_err *err)
{
	if (!pg->in_tx)
		return gw_err_set(err, -EINVAL, GW_EXIT_SOFTWARE, "the posture is written only in a state transaction");
	gw_buf t = GW_BUF_INIT;
	gw_buf_append(&t, text, n);
	char now[24];
	gw_pg_now(now, sizeof(now));
	const char *p[] = { pg->deployment, gw_buf_cstr(&t), now };
	int rc = gw_pg_run(pg, "UPDATE tau_deployment SET posture = $2, updated_unix_ms = $3::bigint WHERE name = $1",
	    3, p, "cannot write the deployment's posture", err);
	if (rc == 0) {
		pg->dirty = true;
		gw_buf_reset(&pg->locked);
		gw_buf_append(&pg->locked, text, n);
		pg->locked_present = true;
	}
	gw_buf_free(&t);
	return rc;
}

/* ---- events ------------------------------------------------------------- */

int
gw_store_pg_event_append(gw_store_pg *pg, const char *line, size_t n, gw_err *err)
{
	gw_buf t = GW_BUF_INIT;
	gw_buf_append(&t, line, n);
	char now[24];
	gw_pg_now(now, sizeof(now));
	const char *p[] = { pg->deployment, now, gw_buf_cstr(&t) };
	/* outside a transaction the deployment's row may not exist yet */
	int rc = 0;
	if (!pg->in_tx)
		rc = gw_pg_deployment_ensure(pg, err);
	if (rc == 0)
		rc = gw_pg_run(pg, "INSERT INTO tau_event (deployment, unix_ms, line) VALUES ($1, $2::bigint, $3)",
		    3, p, "cannot append the event", err);
	gw_buf_free(&t);
	return rc;
}

/* Appends one element to the array literal b: NULL, or the text quoted
 * with '"' and '\\' escaped (the literal is a bind parameter's value, never
 * SQL text). */
static void
gw_pg_array_elem(gw_buf *b, const char *s, size_t n)
{
	if (b->len > 1)
		gw_buf_putc(b, ',');
	if (s == NULL) {
		gw_buf_puts(b, "NULL");
		return;
	}
	gw_buf_putc(b, '"');
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '"' || s[i] == '\\')
			gw_buf_putc(b, '\\');
		gw_buf_putc(b, s[i]);
	}
	gw_buf_putc(b, '"');
}

int
gw_store_pg_event_append_batch(gw_store_pg *pg, const char *const *lines, const size_t *lens,
    size_t n, gw_err *err)
{
	gw_buf arr = GW_BUF_INIT;
	gw_buf_putc(&arr, '{');
	for (size_t i = 0; i < n; i++)
		gw_pg_array_elem(&arr, lines[i], lens[i]);
	gw_buf_putc(&arr, '}');
	char now[24];
	gw_pg_now(now, sizeof(now));
	const char *p[] = { pg->deployment, now, gw_buf_cstr(&arr) };
	int rc = 0;
	if (!pg->in_tx)
		rc = gw_pg_deployment_ensure(pg, err);
	/* in the array's order, so seq follows it */
	if (rc == 0)
		rc = gw_pg_run(pg,
		    "INSERT INTO tau_event (deployment, unix_ms, line) SELECT $1, $2::bigint, l"
		    " FROM unnest($3::text[]) WITH ORDINALITY AS t (l, i) ORDER BY i",
		    3, p, "cannot append the events", err);
	gw_buf_free(&arr);
	return rc;
}

/* gw_store_pg_events_each's walk: fn for each line, *present once one came. */
typedef struct gw_pg_lines {
	gw_store_line_fn fn;
	void *ctx;
	bool *present;
} gw_pg_lines;

static int
gw_pg_line_row(void *ctx, const PGresult *res)
{
	gw_pg_lines *l = ctx;
	*l->present = true;
	l->fn(l->ctx, PQgetvalue(res, 0, 0), (size_t)PQgetlength(res, 0, 0));
	return 0;
}

int
gw_store_pg_events_each(gw_store_pg *pg, gw_store_line_fn fn, void *ctx, bool *present,
    gw_err *err)
{
	*present = false;
	const char *p[] = { pg->deployment };
	gw_pg_lines l = { fn, ctx, present };
	return gw_pg_stream(pg, "SELECT line FROM tau_event WHERE deployment = $1 ORDER BY seq", 1, p,
	    "cannot read the events", gw_pg_line_row, &l, err);
}

int
gw_store_pg_events_since(gw_store_pg *pg, uint64_t *cursor, size_t max, gw_store_line_fn fn,
    void *ctx, gw_err *err)
{
	char after[24], limit[24];
	snprintf(after, sizeof(after), "%" PRIu64, *cursor);
	snprintf(limit, sizeof(limit), "%zu", max);
	const char *p[] = { pg->deployment, after, limit };
	PGresult *res = gw_pg_exec(pg,
	    "SELECT seq, line FROM (SELECT seq, line FROM tau_event WHERE deployment = $1"
	    " AND seq > $2::bigint ORDER BY seq DESC LIMIT $3::bigint) AS t ORDER BY seq",
	    3, p, PGRES_TUPLES_OK, "cannot read the events", err);
	if (res == NULL)
		return -EIO;
	for (int i = 0; i < PQntuples(res); i++) {
		fn(ctx, PQgetvalue(res, i, 1), (size_t)PQgetlength(res, i, 1));
		*cursor = strtoull(PQgetvalue(res, i, 0), NULL, 10);
	}
	PQclear(res);
	return 0;
}

/* ---- the replica registry ----------------------------------------------- */

int
gw_store_pg_replica_register(gw_store_pg *pg, const gw_store_replica_info *info, uint64_t *id,
    gw_err *err)
{
	char pid[24];
	snprintf(pid, sizeof(pid), "%ld", info->pid);
	char host[GW_STORE_REPLICA_HOST_MAX], bind[GW_STORE_REPLICA_BIND_MAX],
	    version[GW_STORE_REPLICA_VERSION_MAX];
	snprintf(host, sizeof(host), "%s", info->host ? info->host : "");
	snprintf(bind, sizeof(bind), "%s", info->bind ? info->bind : "");
	snprintf(version, sizeof(version), "%s", info->version ? info->version : "");
	int rc = gw_pg_deployment_ensure(pg, err);
	if (rc != 0)
		return rc;
	const char *p[] = { pg->deployment, host, bind, pid, version };
	PGresult *res = gw_pg_exec(pg,
	    "INSERT INTO tau_replica (deployment, host, bind, pid, version)"
	    " VALUES ($1, $2, $3, $4::bigint, $5) RETURNING id",
	    5, p, PGRES_TUPLES_OK, "cannot register the replica", err);
	if (res == NULL)
		return -EIO;
	*id = strtoull(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return 0;
}

int
gw_store_pg_replica_heartbeat(gw_store_pg *pg, uint64_t id, const gw_store_replica_counters *c,
    gw_err *err)
{
	char v[5][24];
	snprintf(v[0], sizeof(v[0]), "%" PRIu64, id);
	snprintf(v[1], sizeof(v[1]), "%" PRIu64, c->requests);
	snprintf(v[2], sizeof(v[2]), "%" PRIu64, c->active_streams);
	snprintf(v[3], sizeof(v[3]), "%" PRIu64, c->errors_4xx);
	snprintf(v[4], sizeof(v[4]), "%" PRIu64, c->errors_5xx);
	const char *p[] = { pg->deployment, v[0], v[1], v[2], v[3], v[4] };
	PGresult *res = gw_pg_exec(pg,
	    "UPDATE tau_replica SET heartbeat = now(), requests = $3::bigint,"
	    " active_streams = $4::bigint, errors_4xx = $5::bigint, errors_5xx = $6::bigint"
	    " WHERE deployment = $1 AND id = $2::bigint",
	    6, p, PGRES_COMMAND_OK, "cannot record the replica's heartbeat", err);
	if (res == NULL)
		return -EIO;
	bool found = strcmp(PQcmdTuples(res), "1") == 0;
	PQclear(res);
	if (!found)
		return gw_err_set(err, -ENOENT, GW_EXIT_NOINPUT,
		    "replica %" PRIu64 " of deployment '%s' is not registered (any more)", id,
		    pg->deployment);
	return 0;
}

int
gw_store_pg_replica_deregister(gw_store_pg *pg, uint64_t id, gw_err *err)
{
	char v[24];
	snprintf(v, sizeof(v), "%" PRIu64, id);
	const char *p[] = { pg->deployment, v };
	return gw_pg_run(pg, "DELETE FROM tau_replica WHERE deployment = $1 AND id = $2::bigint", 2, p,
	    "cannot deregister the replica", err);
}

int
gw_store_pg_replica_list(gw_store_pg *pg, gw_store_replica **out, size_t *n, gw_err *err)
{
	const char *p[] = { pg->deployment };
	/* the ages are the database's: one clock for every host's heartbeats */
	PGresult *res = gw_pg_exec(pg,
	    "SELECT id, host, bind, pid, version,"
	    " (extract(epoch FROM started) * 1000)::bigint,"
	    " greatest(0, (extract(epoch FROM (now() - heartbeat)) * 1000)::bigint),"
	    " requests, active_streams, errors_4xx, errors_5xx"
	    " FROM tau_replica WHERE deployment = $1 ORDER BY host, bind, id",
	    1, p, PGRES_TUPLES_OK, "cannot read the replica registry", err);
	if (res == NULL)
		return -EIO;
	size_t rows = (size_t)PQntuples(res);
	gw_store_replica *r = rows ? gw_xcalloc(rows, sizeof(*r)) : NULL;
	for (size_t i = 0; i < rows; i++) {
		int row = (int)i;
		r[i].id = strtoull(PQgetvalue(res, row, 0), NULL, 10);
		snprintf(r[i].host, sizeof(r[i].host), "%s", PQgetvalue(res, row, 1));
		snprintf(r[i].bind, sizeof(r[i].bind), "%s", PQgetvalue(res, row, 2));
		r[i].pid = strtol(PQgetvalue(res, row, 3), NULL, 10);
		snprintf(r[i].version, sizeof(r[i].version), "%s", PQgetvalue(res, row, 4));
		r[i].started_unix_ms = strtoull(PQgetvalue(res, row, 5), NULL, 10);
		r[i].heartbeat_age_ms = strtoull(PQgetvalue(res, row, 6), NULL, 10);
		r[i].stale = r[i].heartbeat_age_ms > GW_STORE_REPLICA_STALE_MS;
		r[i].counters.requests = strtoull(PQgetvalue(res, row, 7), NULL, 10);
		r[i].counters.active_streams = strtoull(PQgetvalue(res, row, 8), NULL, 10);
		r[i].counters.errors_4xx = strtoull(PQgetvalue(res, row, 9), NULL, 10);
		r[i].counters.errors_5xx = strtoull(PQgetvalue(res, row, 10), NULL, 10);
	}
	PQclear(res);
	*out = r;
	*n = rows;
	return 0;
}

int
gw_store_pg_replica_expire(gw_store_pg *pg, uint64_t older_than_ms, size_t *removed, gw_err *err)
{
	char v[24];
	snprintf(v, sizeof(v), "%" PRIu64, older_than_ms);
	const char *p[] = { pg->deployment, v };
	/* the age is the database's, as the list computes it */
	PGresult *res = gw_pg_exec(pg,
	    "DELETE FROM tau_replica WHERE deployment = $1"
	    " AND heartbeat < now() - $2::bigint * interval '1 millisecond'",
	    2, p, PGRES_COMMAND_OK, "cannot remove stale replica rows", err);
	if (res == NULL)
		return -EIO;
	*removed = (size_t)strtoull(PQcmdTuples(res), NULL, 10);
	PQclear(res);
	return 0;
}

/* ---- stored responses ----------------------------------------------------- */

/* The batch save, prepared once per connection: the rows arrive as seven
 * text[] parameters (one element per row, gw_pg_array_elem; created is the
 * row's own time, or the saver's clock) and go in as one statement, so a
 * batch is one round trip and one commit (inside a transaction, part of
 * it: an import's rows commit with it). */
#define GW_PG_SAVE "tau_response_save"
static const char gw_pg_save_sql[] =
    "INSERT INTO tau_response (deployment, id, previous_response_id, session_key,"
    " history_items, input_items, response, created_unix_ms)"
    " SELECT $1, r.id, r.prev, r.skey, r.hist::bigint, r.items, r.resp, r.created::bigint"
    " FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],"
    " $8::text[]) AS r (id, prev, skey, hist, items, resp, created)"
    " ON CONFLICT (deployment, id) DO UPDATE SET previous_response_id = EXCLUDED.previous_response_id,"
    " session_key = EXCLUDED.session_key, history_items = EXCLUDED.history_items,"
    " input_items = EXCLUDED.input_items, response = EXCLUDED.response,"
    " created_unix_ms = EXCLUDED.created_unix_ms";

/* The deployment's row (the rows' foreign key) and the prepared batch
 * save, once per connection. */
static int
gw_pg_saves_ready(gw_store_pg *pg, gw_err *err)
{
	if (!pg->deployment_known) {
		int rc = gw_pg_deployment_ensure(pg, err);
		if (rc != 0)
			return rc;
		pg->deployment_known = true;
	}
	if (pg->save_prepared)
		return 0;
	PGresult *res = gw_pg_call_prepared(pg, GW_PG_SAVE, gw_pg_save_sql, 8, NULL);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		int rc = gw_pg_fail(pg, res, -EIO, GW_EXIT_UNAVAILABLE, "cannot prepare the response save",
		    err);
		PQclear(res);
		return rc;
	}
	PQclear(res);
	pg->save_prepared = true;
	return 0;
}

int
gw_store_pg_response_save_many(gw_store_pg *pg, const gw_store_response *r, size_t n, gw_err *err)
{
	if (n == 0)
		return 0;
	int rc = gw_pg_saves_ready(pg, err);
	if (rc != 0)
		return rc;
	enum { ID, PREV, SKEY, HIST, ITEMS, RESP, CREATED, NCOL };
	gw_buf col[NCOL];
	for (int c = 0; c < NCOL; c++) {
		col[c] = (gw_buf)GW_BUF_INIT;
		gw_buf_putc(&col[c], '{');
	}
	char now[24];
	gw_pg_now(now, sizeof(now));
	for (size_t i = 0; i < n; i++) {
		char hist[24], created[24];
		snprintf(hist, sizeof(hist), "%" PRIu64, r[i].history_items);
		if (r[i].created_unix_ms != 0)
			snprintf(created, sizeof(created), "%" PRIu64, r[i].created_unix_ms);
		const char *skey = r[i].session_key != NULL ? r[i].session_key : "";
		const char *when = r[i].created_unix_ms != 0 ? created : now;
		gw_pg_array_elem(&col[ID], r[i].id, strlen(r[i].id));
		gw_pg_array_elem(&col[PREV], r[i].previous_id,
		    r[i].previous_id != NULL ? strlen(r[i].previous_id) : 0);
		gw_pg_array_elem(&col[SKEY], skey, strlen(skey));
		gw_pg_array_elem(&col[HIST], hist, strlen(hist));
		gw_pg_array_elem(&col[ITEMS], r[i].input_items, strlen(r[i].input_items));
		gw_pg_array_elem(&col[RESP], r[i].response, strlen(r[i].response));
		gw_pg_array_elem(&col[CREATED], when, strlen(when));
	}
	const char *p[1 + NCOL] = { pg->deployment };
	for (int c = 0; c < NCOL; c++) {
		gw_buf_putc(&col[c], '}');
		p[1 + c] = gw_buf_cstr(&col[c]);
	}
	/* one autocommit statement: when it returns, every row is committed,
	 * or none is */
	PGresult *res = gw_pg_call_prepared(pg, GW_PG_SAVE, NULL, 8, p);
	rc = 0;
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
		/* class 22 (text that is not UTF-8, say) is the data's fault */
		bool data = state != NULL && strncmp(state, "22", 2) == 0;
		rc = gw_pg_fail(pg, res, data ? -EINVAL : -EIO,
		    data ? GW_EXIT_DATAERR : GW_EXIT_UNAVAILABLE, "cannot store the response", err);
		/* the deployment's row was removed (23503, the foreign key): the
		 * next save registers it again (the statement stays prepared) */
		if (state != NULL && strcmp(state, "23503") == 0)
			pg->deployment_known = false;
	}
	PQclear(res);
	for (int c = 0; c < NCOL; c++)
		gw_buf_free(&col[c]);
	return rc;
}

int
gw_store_pg_response_load(gw_store_pg *pg, const char *id, gw_store_response *out, gw_err *err)
{
	const char *p[] = { pg->deployment, id };
	PGresult *res = gw_pg_exec(pg,
	    "SELECT id, previous_response_id, session_key, history_items, input_items, response"
	    " FROM tau_response WHERE deployment = $1 AND id = $2",
	    2, p, PGRES_TUPLES_OK, "cannot read the stored response", err);
	if (res == NULL)
		return -EIO;
	if (PQntuples(res) != 1) {
		PQclear(res);
		return -ENOENT;
	}
	out->id = gw_xstrdup(PQgetvalue(res, 0, 0));
	out->previous_id = PQgetisnull(res, 0, 1) ? NULL : gw_xstrdup(PQgetvalue(res, 0, 1));
	out->session_key = gw_xstrdup(PQgetvalue(res, 0, 2));
	out->history_items = strtoull(PQgetvalue(res, 0, 3), NULL, 10);
	out->input_items = gw_xstrdup(PQgetvalue(res, 0, 4));
	out->response = gw_xstrdup(PQgetvalue(res, 0, 5));
	PQclear(res);
	return 0;
}

int
gw_store_pg_response_chain(gw_store_pg *pg, const char *id, size_t max, gw_store_response **out,
    size_t *n, gw_err *err)
{
	char lim[24];
	snprintf(lim, sizeof(lim), "%zu", max > 0 ? max : 1);
	const char *p[] = { pg->deployment, id, lim };
	/* the depth bound ends the recursion even on a (hand-made) loop */
	PGresult *res = gw_pg_exec(pg,
	    "WITH RECURSIVE c (id, previous_response_id, session_key, history_items, input_items,"
	    " response, depth) AS ("
	    " SELECT id, previous_response_id, session_key, history_items, input_items, response, 1"
	    " FROM tau_response WHERE deployment = $1 AND id = $2"
	    " UNION ALL"
	    " SELECT r.id, r.previous_response_id, r.session_key, r.history_items, r.input_items,"
	    " r.response, c.depth + 1 FROM c JOIN tau_response r"
	    " ON r.deployment = $1 AND r.id = c.previous_response_id WHERE c.depth < $3::bigint)"
	    " SELECT id, previous_response_id, session_key, history_items, input_items, response"
	    " FROM c ORDER BY depth",
	    3, p, PGRES_TUPLES_OK, "cannot read the response chain", err);
	if (res == NULL)
		return -EIO;
	size_t rows = (size_t)PQntuples(res);
	gw_store_response *r = rows ? gw_xcalloc(rows, sizeof(*r)) : NULL;
	for (size_t i = 0; i < rows; i++) {
		int row = (int)i;
		r[i].id = gw_xstrdup(PQgetvalue(res, row, 0));
		r[i].previous_id = PQgetisnull(res, row, 1) ? NULL : gw_xstrdup(PQgetvalue(res, row, 1));
		r[i].session_key = gw_xstrdup(PQgetvalue(res, row, 2));
		r[i].history_items = strtoull(PQgetvalue(res, row, 3), NULL, 10);
		r[i].input_items = gw_xstrdup(PQgetvalue(res, row, 4));
		r[i].response = gw_xstrdup(PQgetvalue(res, row, 5));
	}
	PQclear(res);
	*out = r;
	*n = rows;
	return 0;
}

/* Which of a list of ids are rows (gw_store_pg_response_present): one
 * primary-key probe per id, whatever the table's statistics say (a plan
 * for "id = ANY ($2)" made while the table was small scanned the whole
 * deployment by its creation index and filtered, and a prepared one kept
 * that plan); the LIMIT keeps the subquery a probe per id, never a join. */
#define GW_PG_PRESENT "tau_response_present"
static const char gw_pg_present_sql[] =
    "SELECT k.id FROM unnest($2::text[]) AS k (id), LATERAL (SELECT 1 FROM tau_response r"
    " WHERE r.deployment = $1 AND r.id = k.id LIMIT 1) AS x";

int
gw_store_pg_response_present(gw_store_pg *pg, const char *const *ids, size_t n, bool *present,
    gw_err *err)
{
	gw_buf arr = GW_BUF_INIT;
	gw_buf_putc(&arr, '{');
	for (size_t i = 0; i < n; i++)
		gw_pg_array_elem(&arr, ids[i], strlen(ids[i]));
	gw_buf_putc(&arr, '}');
	const char *p[] = { pg->deployment, gw_buf_cstr(&arr) };
	/* prepared once per connection: a plan made per call costs more the
	 * more ids it is given (a selectivity estimate per element), the
	 * generic one the same for any number */
	PGresult *res = NULL;
	if (!pg->present_prepared) {
		res = gw_pg_call_prepared(pg, GW_PG_PRESENT, gw_pg_present_sql, 2, NULL);
		pg->present_prepared = PQresultStatus(res) == PGRES_COMMAND_OK;
		if (pg->present_prepared) {
			PQclear(res);
			res = NULL;
		}
	}
	if (pg->present_prepared)
		res = gw_pg_call_prepared(pg, GW_PG_PRESENT, NULL, 2, p);
	gw_buf_free(&arr);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		int rc = gw_pg_fail(pg, res, -EIO, GW_EXIT_UNAVAILABLE, "cannot read the response chain",
		    err);
		PQclear(res);
		return rc;
	}
	int rows = PQntuples(res);
	for (int r = 0; r < rows; r++) {
		const char *id = PQgetvalue(res, r, 0);
		for (size_t i = 0; i < n; i++)
			if (!present[i] && strcmp(ids[i], id) == 0)
				present[i] = true;
	}
	PQclear(res);
	return 0;
}

/* gw_store_pg_response_each's walk (gw_pg_stream's ctx). */
typedef struct gw_pg_responses {
	gw_store_response_fn fn;
	void *ctx;
} gw_pg_responses;

static int
gw_pg_response_row(void *ctx, const PGresult *res)
{
	gw_pg_responses *w = ctx;
	gw_store_response r = {
		.id = PQgetvalue(res, 0, 0),
		.previous_id = PQgetisnull(res, 0, 1) ? NULL : PQgetvalue(res, 0, 1),
		.session_key = PQgetvalue(res, 0, 2),
		.history_items = strtoull(PQgetvalue(res, 0, 3), NULL, 10),
		.input_items = PQgetvalue(res, 0, 4),
		.response = PQgetvalue(res, 0, 5),
		.created_unix_ms = strtoull(PQgetvalue(res, 0, 6), NULL, 10),
	};
	return w->fn(w->ctx, &r);
}

int
gw_store_pg_response_each(gw_store_pg *pg, gw_store_response_fn fn, void *ctx, gw_err *err)
{
	const char *p[] = { pg->deployment };
	gw_pg_responses w = { fn, ctx };
	return gw_pg_stream(pg,
	    "SELECT id, previous_response_id, session_key, history_items, input_items, response,"
	    " created_unix_ms FROM tau_response WHERE deployment = $1 ORDER BY id",
	    1, p, "cannot read the stored responses", gw_pg_response_row, &w, err);
}

int
gw_store_pg_response_count(gw_store_pg *pg, uint64_t *n, gw_err *err)
{
	return gw_pg_count(pg, "SELECT count(*) FROM tau_response WHERE deployment = $1",
	    "cannot count the stored responses", n, err);
}

int
gw_store_pg_response_delete(gw_store_pg *pg, const char *id, gw_err *err)
{
	const char *p[] = { pg->deployment, id };
	PGresult *res = gw_pg_exec(pg, "DELETE FROM tau_response WHERE deployment = $1 AND id = $2",
	    2, p, PGRES_COMMAND_OK, "cannot delete the stored response", err);
	if (res == NULL)
		return -EIO;
	bool found = strcmp(PQcmdTuples(res), "0") != 0;
	PQclear(res);
	return found ? 0 : -ENOENT;
}

/* Deletes at most max rows of the deployment whose time column is at or
 * before now_s - ttl_s (delete_sql: $1 deployment, $2 the limit in ms, $3
 * max); *removed counts them.  Shared by both sweeps. */
static int
gw_pg_sweep(gw_store_pg *pg, const char *delete_sql, const char *what, uint64_t now_s,
    uint64_t ttl_s, size_t max, size_t *removed, gw_err *err)
{
	if (ttl_s == 0 || ttl_s > now_s || max == 0)
		return 0;
	char before[24], lim[24];
	snprintf(before, sizeof(before), "%" PRIu64, (now_s - ttl_s) * 1000);
	snprintf(lim, sizeof(lim), "%zu", max);
	const char *p[] = { pg->deployment, before, lim };
	PGresult *res = gw_pg_exec(pg, delete_sql, 3, p, PGRES_COMMAND_OK, what, err);
	if (res == NULL)
		return -EIO;
	*removed = (size_t)strtoull(PQcmdTuples(res), NULL, 10);
	PQclear(res);
	return 0;
}

int
gw_store_pg_response_sweep(gw_store_pg *pg, uint64_t now_s, uint64_t ttl_s, size_t max,
    size_t *removed, gw_err *err)
{
	/* bounded, and rows another transaction holds are skipped: replicas
	 * sweeping at once neither wait on each other nor count a row twice */
	return gw_pg_sweep(pg,
	    "DELETE FROM tau_response WHERE ctid IN (SELECT ctid FROM tau_response"
	    " WHERE deployment = $1 AND created_unix_ms <= $2::bigint"
	    " LIMIT $3::bigint FOR UPDATE SKIP LOCKED)",
	    "cannot sweep the stored responses", now_s, ttl_s, max, removed, err);
}

/* ---- sessions --------------------------------------------------------------- */

/* A session turn's statements that run every turn, prepared once per
 * connection (parsed and planned once, not on every turn): the row lock,
 * the read of the appended lines (restoring the statement bound in the same
 * trip) and an append. */
enum { GW_PG_SESS_LOCK, GW_PG_SESS_LINES, GW_PG_SESS_APPEND, GW_PG_SESS_N };
static const struct {
	const char *name;
	const char *sql;
	int nparams;
} gw_pg_session_sql[GW_PG_SESS_N] = {
	[GW_PG_SESS_LOCK] = { "tau_session_lock",
	    "SELECT body FROM tau_session WHERE deployment = $1 AND key = $2 FOR UPDATE", 2 },
	/* the appends after body, in their order, read by a statement of
	 * their own: the lock's statement took its snapshot before a turn it
	 * waited on committed (the row it returns is that turn's version, but
	 * a subquery would miss that turn's lines) */
	[GW_PG_SESS_LINES] = { "tau_session_lines",
	    "SELECT set_config('statement_timeout', $3, true),"
	    " coalesce(string_agg(lines, '' ORDER BY seq), '')"
	    " FROM tau_session_line WHERE deployment = $1 AND key = $2", 3 },
	/* one row of tau_session_line plus the stamp (body is not rewritten:
	 * its TOASTed value is kept as it is) */
	[GW_PG_SESS_APPEND] = { "tau_session_append",
	    "WITH stamp AS (UPDATE tau_session SET updated_unix_ms = $4::bigint"
	    " WHERE deployment = $1 AND key = $2)"
	    " INSERT INTO tau_session_line (deployment, key, lines) VALUES ($1, $2, $3)", 4 },
};

static int
gw_pg_session_prepare(gw_store_pg *pg, gw_err *err)
{
	/* one bit per statement: a prepare that failed part-way (a timeout)
	 * is retried from that statement, never one already prepared, which
	 * PostgreSQL would refuse (42P05) on every later turn */
	for (int i = 0; i < GW_PG_SESS_N; i++) {
		if (pg->session_prepared & (1u << i))
			continue;
		PGresult *res = gw_pg_call_prepared(pg, gw_pg_session_sql[i].name,
		    gw_pg_session_sql[i].sql, gw_pg_session_sql[i].nparams, NULL);
		if (PQresultStatus(res) != PGRES_COMMAND_OK) {
			int rc = gw_pg_fail(pg, res, -EIO, GW_EXIT_UNAVAILABLE,
			    "cannot prepare the session statements", err);
			PQclear(res);
			return rc;
		}
		PQclear(res);
		pg->session_prepared |= 1u << i;
	}
	return 0;
}

/* Runs prepared statement i with params; the result when its status is
 * want, else NULL with err set as gw_pg_exec sets it (69, or 65 for a data
 * exception). */
static PGresult *
gw_pg_session_exec(gw_store_pg *pg, int i, const char *const *params, ExecStatusType want,
    const char *what, gw_err *err)
{
	PGresult *res = gw_pg_call_prepared(pg, gw_pg_session_sql[i].name, NULL,
	    gw_pg_session_sql[i].nparams, params);
	if (res != NULL && PQresultStatus(res) == want)
		return res;
	const char *state = res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	bool data = state != NULL && strncmp(state, "22", 2) == 0;
	gw_pg_fail(pg, res, data ? -EINVAL : -EIO, data ? GW_EXIT_DATAERR : GW_EXIT_UNAVAILABLE, what,
	    err);
	PQclear(res);
	return NULL;
}

/* 55P03 lock_not_available (lock_timeout) or 57014 query_canceled
 * (statement_timeout): the row wait passed its bound. */
static bool
gw_pg_wait_timed_out(const PGresult *res)
{
	const char *state = res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	return state != NULL && (strcmp(state, "55P03") == 0 || strcmp(state, "57014") == 0);
}

int
gw_store_pg_session_begin(gw_store_pg *pg, const char *key, uint64_t wait_ms, gw_buf *body,
    gw_err *err)
{
	gw_buf_reset(body);
	if (pg->in_tx)
		return gw_err_set(err, -EBUSY, GW_EXIT_SOFTWARE, "a state transaction is already open");
	uint64_t t0 = gw_clock_mono_ms();
	int rc = pg->deployment_known ? 0 : gw_pg_deployment_ensure(pg, err);
	if (rc == 0)
		pg->deployment_known = true;
	if (rc == 0)
		rc = gw_pg_session_prepare(pg, err);
	/* a sweep may remove the row between the insert and the lock: then
	 * the lock finds nothing and the row is made again (a few times at
	 * most: a sweep only takes rows no turn holds) */
	for (int attempt = 0; rc == 0 && attempt < 4; attempt++) {
		char now[24];
		gw_pg_now(now, sizeof(now));
		const char *ins[] = { pg->deployment, key, now };
		/* its own autocommit statement, so no turn holds an uncommitted
		 * insert that another would wait on outside the bounded wait */
		rc = gw_pg_run(pg,
		    "INSERT INTO tau_session (deployment, key, created_unix_ms, updated_unix_ms)"
		    " VALUES ($1, $2, $3::bigint, $3::bigint) ON CONFLICT (deployment, key) DO NOTHING",
		    3, ins, "cannot create the session", err);
		if (rc == 0)
			rc = gw_pg_run(pg, "BEGIN", 0, NULL, "cannot begin a session transaction", err);
		if (rc != 0)
			break;
		pg->in_tx = true;
		pg->dirty = false;
		/* the wait left of the bound; the pool's own statement bound is
		 * lifted for the lock only (restored below), so the lock wait is
		 * bounded by wait_ms alone */
		uint64_t spent = gw_clock_mono_ms() - t0;
		uint64_t left = wait_ms > spent ? wait_ms - spent : 1;
		char lt[24], stt[24], idle[24];
		snprintf(lt, sizeof(lt), "%" PRIu64, left);
		snprintf(stt, sizeof(stt), "%" PRIu64, left + 1000);
		/* the turn holds the row across its upstream call (bounded by the
		 * same timeout as wait_ms): a replica that froze or lost its
		 * network mid-turn must not hold it until TCP gives up */
		snprintf(idle, sizeof(idle), "%" PRIu64, 2 * wait_ms + GW_PG_IDLE_TX_MARGIN_MS);
		const char *cfg[] = { lt, stt, idle };
		PGresult *res = gw_pg_exec(pg,
		    "SELECT current_setting('statement_timeout'), set_config('lock_timeout', $1, true),"
		    " set_config('statement_timeout', $2, true),"
		    " set_config('idle_in_transaction_session_timeout', $3, true)",
		    3, cfg, PGRES_TUPLES_OK, "cannot configure the session transaction", err);
		if (res == NULL) {
			rc = -EIO;
			break;
		}
		char saved[64];
		snprintf(saved, sizeof(saved), "%s", PQgetvalue(res, 0, 0));
		PQclear(res);
		const char *p[] = { pg->deployment, key };
		/* bounded on the client too, past the server's own bounds: a
		 * database host gone silent while this waits fails it in time */
		uint64_t keep = pg->bound_ms;
		pg->bound_ms = left + 1000 + GW_PG_SILENCE_GRACE_MS;
		res = gw_pg_call_prepared(pg, gw_pg_session_sql[GW_PG_SESS_LOCK].name, NULL, 2, p);
		pg->bound_ms = keep;
		if (PQresultStatus(res) != PGRES_TUPLES_OK) {
			if (res != NULL && gw_pg_wait_timed_out(res))
				rc = gw_err_set(err, -ETIMEDOUT, GW_EXIT_UNAVAILABLE,
				    "session '%s' of deployment '%s' stayed locked by another turn for %" PRIu64
				    " ms", key, pg->deployment, wait_ms);
			else {
				gw_pg_fail(pg, res, -EIO, GW_EXIT_UNAVAILABLE, "cannot lock the session", err);
				rc = -EIO; /* a silent host too: unavailable, not a busy session */
			}
			PQclear(res);
			break;
		}
		bool found = PQntuples(res) == 1;
		if (found)
			gw_buf_append(body, PQgetvalue(res, 0, 0), (size_t)PQgetlength(res, 0, 0));
		PQclear(res);
		if (!found) { /* swept while we waited: make it again */
			gw_store_pg_abort(pg);
			continue;
		}
		/* the appended lines, and the connection's statement bound
		 * restored in the same trip */
		const char *lp[] = { pg->deployment, key, saved };
		res = gw_pg_session_exec(pg, GW_PG_SESS_LINES, lp, PGRES_TUPLES_OK,
		    "cannot read the session", err);
		if (res == NULL) {
			rc = -EIO;
			break;
		}
		gw_buf_append(body, PQgetvalue(res, 0, 1), (size_t)PQgetlength(res, 0, 1));
		PQclear(res);
		return 0;
	}
	if (rc == 0) /* four sweeps in a row: something is wrong */
		rc = gw_err_set(err, -EIO, GW_EXIT_UNAVAILABLE,
		    "session '%s' kept disappearing while it was being locked", key);
	gw_store_pg_abort(pg);
	gw_buf_reset(body);
	return rc;
}

int
gw_store_pg_session_write(gw_store_pg *pg, const char *key, const char *text, size_t n,
    bool replace, gw_err *err)
{
	if (!pg->in_tx)
		return gw_err_set(err, -EINVAL, GW_EXIT_SOFTWARE,
		    "a session is written only while it is locked");
	gw_buf t = GW_BUF_INIT;
	gw_buf_append(&t, text, n);
	char now[24];
	gw_pg_now(now, sizeof(now));
	const char *p[] = { pg->deployment, key, gw_buf_cstr(&t), now };
	/* an append is the prepared GW_PG_SESS_APPEND; a compaction deletes
	 * the lines before it replaces body (the trigger of schema step 6
	 * checks that order) */
	int rc = 0;
	if (!replace) {
		PGresult *res = gw_pg_session_exec(pg, GW_PG_SESS_APPEND, p, PGRES_COMMAND_OK,
		    "cannot write the session", err);
		rc = res != NULL ? 0 : -EIO;
		PQclear(res);
	} else {
		rc = gw_pg_run(pg, "DELETE FROM tau_session_line WHERE deployment = $1 AND key = $2", 2,
		    p, "cannot write the session", err);
		if (rc == 0)
			rc = gw_pg_run(pg, "UPDATE tau_session SET body = $3, updated_unix_ms = $4::bigint"
			    " WHERE deployment = $1 AND key = $2", 4, p, "cannot write the session", err);
	}
	gw_buf_free(&t);
	return rc;
}

int
gw_store_pg_session_sweep(gw_store_pg *pg, uint64_t now_s, uint64_t ttl_s, size_t max,
    size_t *removed, gw_err *err)
{
	/* a session a turn holds is in use, not expired: SKIP LOCKED leaves
	 * it (and never waits on it); so do concurrent sweeps of each other */
	return gw_pg_sweep(pg,
	    "DELETE FROM tau_session WHERE ctid IN (SELECT ctid FROM tau_session"
	    " WHERE deployment = $1 AND updated_unix_ms <= $2::bigint"
	    " LIMIT $3::bigint FOR UPDATE SKIP LOCKED)",
	    "cannot sweep the sessions", now_s, ttl_s, max, removed, err);
}

/* gw_store_pg_session_each's walk (gw_pg_stream's ctx). */
typedef struct gw_pg_sessions {
	gw_store_session_fn fn;
	void *ctx;
} gw_pg_sessions;

static int
gw_pg_session_row(void *ctx, const PGresult *res)
{
	gw_pg_sessions *w = ctx;
	gw_store_session_row r = {
		.key = PQgetvalue(res, 0, 0),
		.body = PQgetvalue(res, 0, 1),
		.len = (size_t)PQgetlength(res, 0, 1),
		.created_unix_ms = strtoull(PQgetvalue(res, 0, 2), NULL, 10),
		.updated_unix_ms = strtoull(PQgetvalue(res, 0, 3), NULL, 10),
	};
	return w->fn(w->ctx, &r);
}

int
gw_store_pg_session_each(gw_store_pg *pg, gw_store_session_fn fn, void *ctx, gw_err *err)
{
	const char *p[] = { pg->deployment };
	gw_pg_sessions w = { fn, ctx };
	return gw_pg_stream(pg,
	    "SELECT s.key, s.body || coalesce((SELECT string_agg(l.lines, '' ORDER BY l.seq)"
	    " FROM tau_session_line l WHERE l.deployment = s.deployment AND l.key = s.key), ''),"
	    " s.created_unix_ms, s.updated_unix_ms FROM tau_session s"
	    " WHERE s.deployment = $1 ORDER BY s.key",
	    1, p, "cannot read the sessions", gw_pg_session_row, &w, err);
}

int
gw_store_pg_session_put(gw_store_pg *pg, const gw_store_session_row *r, gw_err *err)
{
	gw_buf body = GW_BUF_INIT;
	gw_buf_append(&body, r->body, r->len);
	char created[24], updated[24];
	snprintf(updated, sizeof(updated), "%" PRIu64, r->updated_unix_ms);
	snprintf(created, sizeof(created), "%" PRIu64,
	    r->created_unix_ms != 0 ? r->created_unix_ms : r->updated_unix_ms);
	const char *p[] = { pg->deployment, r->key, gw_buf_cstr(&body), created, updated };
	/* the row's text is body alone: appends a turn left go first */
	int rc = gw_pg_run(pg, "DELETE FROM tau_session_line WHERE deployment = $1 AND key = $2", 2,
	    p, "cannot store the session", err);
	if (rc == 0)
		rc = gw_pg_run(pg,
		    "INSERT INTO tau_session (deployment, key, body, created_unix_ms, updated_unix_ms)"
		    " VALUES ($1, $2, $3, $4::bigint, $5::bigint)"
		    " ON CONFLICT (deployment, key) DO UPDATE SET body = EXCLUDED.body,"
		    " created_unix_ms = EXCLUDED.created_unix_ms, updated_unix_ms = EXCLUDED.updated_unix_ms",
		    5, p, "cannot store the session", err);
	gw_buf_free(&body);
	return rc;
}

int
gw_store_pg_session_count(gw_store_pg *pg, uint64_t *n, gw_err *err)
{
	return gw_pg_count(pg, "SELECT count(*) FROM tau_session WHERE deployment = $1",
	    "cannot count the sessions", n, err);
}

/* ---- the connection ------------------------------------------------------- */

int
gw_store_pg_set_timeout(gw_store_pg *pg, uint64_t ms, gw_err *err)
{
	char v[24];
	snprintf(v, sizeof(v), "%" PRIu64, ms);
	const char *p[] = { "statement_timeout", v };
	/* the client's own bound, a little later than the server's, so a
	 * statement the server cancels reports its error first; it bounds
	 * this statement already (a bound being set, not lifted) */
	if (ms > 0)
		pg->bound_ms = ms + GW_PG_SILENCE_GRACE_MS;
	PGresult *res = gw_pg_exec(pg, "SELECT set_config($1, $2, false)", 2, p, PGRES_TUPLES_OK,
	    "cannot set the statement timeout", err);
	PQclear(res);
	if (res == NULL)
		return -EIO;
	pg->bound_ms = ms > 0 ? ms + GW_PG_SILENCE_GRACE_MS : 0;
	return 0;
}

void
gw_store_pg_set_deadline(gw_store_pg *pg, uint64_t mono_ms)
{
	pg->deadline_ms = mono_ms;
}

bool
gw_store_pg_connected(const gw_store_pg *pg)
{
	return pg->conn != NULL && !pg->silent && PQstatus(pg->conn) == CONNECTION_OK;
}

/* ---- the change feed ---------------------------------------------------- */

int
gw_store_pg_listen(gw_store_pg *pg, gw_err *err)
{
	char *ident = PQescapeIdentifier(pg->conn, pg->channel, strlen(pg->channel));
	if (ident == NULL)
		return gw_pg_fail(pg, NULL, -EIO, GW_EXIT_UNAVAILABLE, "cannot listen for changes", err);
	gw_buf sql = GW_BUF_INIT;
	gw_buf_printf(&sql, "LISTEN %s", ident);
	PQfreemem(ident);
	int rc = gw_pg_run(pg, gw_buf_cstr(&sql), 0, NULL, "cannot listen for changes", err);
	gw_buf_free(&sql);
	return rc;
}

int
gw_store_pg_fd(const gw_store_pg *pg)
{
	return PQsocket(pg->conn);
}

int
gw_store_pg_drain(gw_store_pg *pg, unsigned *changes, gw_err *err)
{
	/* a server that closed the connection (restarted, the backend
	 * terminated) makes the socket readable: that is a lost feed too */
	if (!PQconsumeInput(pg->conn) || PQstatus(pg->conn) != CONNECTION_OK)
		return gw_pg_fail(pg, NULL, -EIO, GW_EXIT_UNAVAILABLE, "lost the change feed", err);
	PGnotify *n;
	while ((n = PQnotifies(pg->conn)) != NULL) {
		if (strcmp(n->relname, pg->channel) == 0)
			(*changes)++;
		PQfreemem(n);
	}
	return 0;
}

/* ---- runner records and the channel store ------------------------------- */

/* gw_pg_records_query's walk (gw_pg_stream's ctx): fn per row, counted. */
typedef struct gw_pg_records {
	gw_store_record_fn fn;
	void *ctx;
	size_t rows;
} gw_pg_records;

static int
gw_pg_record_row(void *ctx, const PGresult *res)
{
	gw_pg_records *w = ctx;
	gw_store_record r = {
		.key = PQgetvalue(res, 0, 0),
		.seq = strtoull(PQgetvalue(res, 0, 1), NULL, 10),
		.actor = PQgetvalue(res, 0, 2),
		.rec = PQgetisnull(res, 0, 3) ? NULL : PQgetvalue(res, 0, 3),
		.rec_len = (size_t)PQgetlength(res, 0, 3),
	};
	w->fn(w->ctx, &r);
	w->rows++;
	return 0;
}

/* Sends sql and calls fn for each row (key, seq, actor, record) one row at
 * a time, so a long walk never sits in memory whole; *rows counts them. */
static int
gw_pg_records_query(gw_store_pg *pg, const char *sql, int nparams, const char *const *params,
    gw_store_record_fn fn, void *ctx, size_t *rows, gw_err *err)
{
	gw_pg_records w = { fn, ctx, 0 };
	int rc = gw_pg_stream(pg, sql, nparams, params, "cannot read the runner's records",
	    gw_pg_record_row, &w, err);
	if (rows != NULL)
		*rows = w.rows;
	return rc;
}

/* Appends the JSON array of the n strings (a parameter, never SQL). */
static void
gw_pg_json_strings(gw_buf *b, const char *const *v, size_t n)
{
	gw_jw w;
	gw_jw_init(&w, b, false);
	gw_jw_arr_begin(&w);
	for (size_t i = 0; i < n; i++)
		gw_jw_str(&w, v[i]);
	gw_jw_arr_end(&w);
}

int
gw_store_pg_records_get(gw_store_pg *pg, const char *const *keys, size_t n,
    gw_store_record_fn fn, void *ctx, gw_err *err)
{
	if (n == 0)
		return 0;
	if (n == 1) {
		const char *p[] = { pg->deployment, keys[0] };
		return gw_pg_records_query(pg,
		    "SELECT key, seq, actor, record FROM tau_record WHERE deployment = $1 AND key = $2", 2, p,
		    fn, ctx, NULL, err);
	}
	gw_buf arr = GW_BUF_INIT;
	gw_pg_json_strings(&arr, keys, n);
	const char *p[] = { pg->deployment, gw_buf_cstr(&arr) };
	int rc = gw_pg_records_query(pg,
	    "SELECT key, seq, actor, record FROM tau_record WHERE deployment = $1"
	    " AND key = ANY (ARRAY(SELECT jsonb_array_elements_text($2::jsonb)))",
	    2, p, fn, ctx, NULL, err);
	gw_buf_free(&arr);
	return rc;
}

int
gw_store_pg_records_each(gw_store_pg *pg, const char *actor, gw_store_record_fn fn, void *ctx,
    gw_err *err)
{
	if (actor != NULL) {
		const char *p[] = { pg->deployment, actor };
		return gw_pg_records_query(pg,
		    "SELECT key, seq, actor, record FROM tau_record WHERE deployment = $1 AND actor = $2"
		    " AND record IS NOT NULL ORDER BY key",
		    2, p, fn, ctx, NULL, err);
	}
	const char *p[] = { pg->deployment };
	return gw_pg_records_query(pg,
	    "SELECT key, seq, actor, record FROM tau_record WHERE deployment = $1 ORDER BY key", 1, p, fn,
	    ctx, NULL, err);
}

int
gw_store_pg_records_by_seq(gw_store_pg *pg, uint64_t after, size_t max, gw_store_record_fn fn,
    void *ctx, size_t *got, gw_err *err)
{
	char a[24], m[24];
	snprintf(a, sizeof(a), "%" PRIu64, after);
	snprintf(m, sizeof(m), "%zu", max);
	const char *p[] = { pg->deployment, a, m };
	return gw_pg_records_query(pg,
	    "SELECT key, seq, actor, record FROM tau_record WHERE deployment = $1 AND seq > $2::bigint"
	    " ORDER BY seq LIMIT $3::bigint",
	    3, p, fn, ctx, got, err);
}

/* Entries per statement of gw_store_pg_records_put. */
#define GW_PG_PUT_BATCH 2048

int
gw_store_pg_records_put(gw_store_pg *pg, const gw_store_record *recs, size_t n, gw_err *err)
{
	if (!pg->in_tx)
		return gw_err_set(err, -EINVAL, GW_EXIT_SOFTWARE,
		    "the runner's records are written only in a state transaction");
	/* one statement per batch: the rows travel as one JSON parameter */
	gw_buf up = GW_BUF_INIT, del = GW_BUF_INIT;
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0;) {
		gw_buf_reset(&up);
		gw_buf_reset(&del);
		gw_jw wu, wd;
		gw_jw_init(&wu, &up, false);
		gw_jw_init(&wd, &del, false);
		gw_jw_arr_begin(&wu);
		gw_jw_arr_begin(&wd);
		size_t nu = 0, nd = 0;
		for (size_t k = 0; k < GW_PG_PUT_BATCH && i < n; k++, i++) {
			const gw_store_record *r = &recs[i];
			if (r->seq == 0 && r->rec == NULL) {
				gw_jw_str(&wd, r->key);
				nd++;
				continue;
			}
			gw_jw_obj_begin(&wu);
			gw_jw_kstr(&wu, "k", r->key);
			gw_jw_ku64(&wu, "s", r->seq);
			gw_jw_kstr(&wu, "a", r->actor != NULL ? r->actor : "");
			gw_jw_key(&wu, "r");
			if (r->rec != NULL)
				gw_jw_strn(&wu, r->rec, r->rec_len);
			else
				gw_jw_null(&wu);
			gw_jw_obj_end(&wu);
			nu++;
		}
		gw_jw_arr_end(&wu);
		gw_jw_arr_end(&wd);
		if (nu > 0) {
			const char *p[] = { pg->deployment, gw_buf_cstr(&up) };
			rc = gw_pg_run(pg,
			    "INSERT INTO tau_record (deployment, key, seq, actor, record)"
			    " SELECT $1, x.k, x.s, x.a, x.r FROM jsonb_to_recordset($2::jsonb)"
			    " AS x(k text, s bigint, a text, r text)"
			    " ON CONFLICT (deployment, key) DO UPDATE SET seq = excluded.seq,"
			    " actor = excluded.actor, record = excluded.record",
			    2, p, "cannot write the runner's records", err);
		}
		if (rc == 0 && nd > 0) {
			const char *p[] = { pg->deployment, gw_buf_cstr(&del) };
			rc = gw_pg_run(pg,
			    "DELETE FROM tau_record WHERE deployment = $1"
			    " AND key = ANY (ARRAY(SELECT jsonb_array_elements_text($2::jsonb)))",
			    2, p, "cannot write the runner's records", err);
		}
	}
	gw_buf_free(&up);
	gw_buf_free(&del);
	return rc;
}

int
gw_store_pg_channel_append(gw_store_pg *pg, const char *transport, const char *channel,
    const char *log, size_t log_len, const char *context, size_t context_len, const char *memory,
    size_t memory_len, gw_err *err)
{
	if (!pg->in_tx)
		return gw_err_set(err, -EINVAL, GW_EXIT_SOFTWARE,
		    "the channel store is written only in a state transaction");
	gw_buf m = GW_BUF_INIT;
	if (memory != NULL)
		gw_buf_append(&m, memory, memory_len);
	/* NULL memory: none on a new channel, an existing one keeps its own */
	const char *p[] = { pg->deployment, transport, channel, memory != NULL ? gw_buf_cstr(&m) : NULL };
	int rc = gw_pg_run(pg,
	    "INSERT INTO tau_channel (deployment, transport, channel, memory) VALUES ($1, $2, $3, $4)"
	    " ON CONFLICT (deployment, transport, channel) DO UPDATE SET"
	    " memory = coalesce(excluded.memory, tau_channel.memory)",
	    4, p, "cannot write the channel store", err);
	gw_buf_free(&m);
	const char *kinds[2] = { "log", "context" };
	const char *texts[2] = { log, context };
	size_t lens[2] = { log_len, context_len };
	gw_buf t = GW_BUF_INIT;
	for (size_t k = 0; k < 2 && rc == 0; k++) {
		if (lens[k] == 0)
			continue;
		gw_buf_reset(&t);
		gw_buf_append(&t, texts[k], lens[k]);
		const char *q[] = { pg->deployment, transport, channel, kinds[k], gw_buf_cstr(&t) };
		rc = gw_pg_run(pg,
		    "INSERT INTO tau_channel_line (deployment, transport, channel, kind, line)"
		    " SELECT $1, $2, $3, $4, l FROM unnest(string_to_array($5, chr(10))) WITH ORDINALITY"
		    " AS t(l, n) WHERE l <> '' ORDER BY n",
		    5, q, "cannot write the channel store", err);
	}
	gw_buf_free(&t);
	return rc;
}

int
gw_store_pg_channel_inspect(gw_store_pg *pg, const char *transport, const char *channel,
    gw_store_channel_info *out, gw_err *err)
{
	const char *p[] = { pg->deployment, transport, channel };
	PGresult *res = gw_pg_exec(pg,
	    "SELECT c.memory IS NOT NULL, coalesce(octet_length(c.memory), 0),"
	    " (SELECT count(*) FROM tau_channel_line l WHERE l.deployment = c.deployment"
	    "  AND l.transport = c.transport AND l.channel = c.channel AND l.kind = 'log'),"
	    " (SELECT count(*) FROM tau_channel_line l WHERE l.deployment = c.deployment"
	    "  AND l.transport = c.transport AND l.channel = c.channel AND l.kind = 'context')"
	    " FROM tau_channel c WHERE c.deployment = $1 AND c.transport = $2 AND c.channel = $3",
	    3, p, PGRES_TUPLES_OK, "cannot read the channel store", err);
	if (res == NULL)
		return -EIO;
	int rc = -ENOENT;
	if (PQntuples(res) == 1) {
		out->memory_exists = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
		out->memory_bytes = strtoull(PQgetvalue(res, 0, 1), NULL, 10);
		out->log_lines = strtoull(PQgetvalue(res, 0, 2), NULL, 10);
		out->context_lines = strtoull(PQgetvalue(res, 0, 3), NULL, 10);
		rc = 0;
	}
	PQclear(res);
	return rc;
}

/* gw_store_pg_channel_each's walk (gw_pg_stream's ctx). */
typedef struct gw_pg_channels {
	gw_store_channel_fn fn;
	void *ctx;
} gw_pg_channels;

static int
gw_pg_channel_row(void *ctx, const PGresult *res)
{
	gw_pg_channels *w = ctx;
	gw_store_channel_row r = {
		.transport = PQgetvalue(res, 0, 0),
		.channel = PQgetvalue(res, 0, 1),
		.memory = PQgetisnull(res, 0, 2) ? NULL : PQgetvalue(res, 0, 2),
		.memory_len = (size_t)PQgetlength(res, 0, 2),
		.log = PQgetvalue(res, 0, 3),
		.log_len = (size_t)PQgetlength(res, 0, 3),
		.context = PQgetvalue(res, 0, 4),
		.context_len = (size_t)PQgetlength(res, 0, 4),
	};
	return w->fn(w->ctx, &r);
}

int
gw_store_pg_channel_each(gw_store_pg *pg, gw_store_channel_fn fn, void *ctx, gw_err *err)
{
	/* one row per channel, its lines joined in append order ('\n' after
	 * each), streamed one channel at a time */
	const char *p[] = { pg->deployment };
	gw_pg_channels w = { fn, ctx };
	return gw_pg_stream(pg,
	    "SELECT c.transport, c.channel, c.memory,"
	    " coalesce((SELECT string_agg(l.line || chr(10), '' ORDER BY l.seq) FROM tau_channel_line l"
	    "  WHERE l.deployment = c.deployment AND l.transport = c.transport"
	    "  AND l.channel = c.channel AND l.kind = 'log'), ''),"
	    " coalesce((SELECT string_agg(l.line || chr(10), '' ORDER BY l.seq) FROM tau_channel_line l"
	    "  WHERE l.deployment = c.deployment AND l.transport = c.transport"
	    "  AND l.channel = c.channel AND l.kind = 'context'), '')"
	    " FROM tau_channel c WHERE c.deployment = $1"
	    " ORDER BY c.transport COLLATE \"C\", c.channel COLLATE \"C\"",
	    1, p, "cannot read the channel store", gw_pg_channel_row, &w, err);
}

int
gw_store_pg_channel_count(gw_store_pg *pg, uint64_t *n, gw_err *err)
{
	return gw_pg_count(pg, "SELECT count(*) FROM tau_channel WHERE deployment = $1",
	    "cannot count the channels", n, err);
}
