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
#define GW_PG_CHANNEL_PREFIX "tau_gateway."

struct gw_store_pg {
	PGconn *conn;
	char *url;              /* for redaction only */
	char *deployment;
	char *channel;          /* GW_PG_CHANNEL_PREFIX + deployment */
	uint64_t bound_ms;      /* the client-side bound of a call (gw_store_pg_set_timeout), 0: none */
	bool silent;            /* a call got no answer within bound_ms: the connection is abandoned */
	bool in_tx;
	bool dirty;             /* the posture was written in this transaction */
	bool locked_present;    /* the locked row has a posture */
	gw_buf locked;          /* its text */
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

/* PQexecParams, bounded on the client side when bound_ms is set: a server
 * that stops answering (a hung host, a partition: no statement_timeout
 * fires, since the statement never arrives) makes the call give up after
 * bound_ms and the connection count as gone (pg->silent; gw_store_connected
 * false), so the caller reconnects instead of waiting for TCP to time out.
 * The result as PQexecParams's (the first one), or NULL. */
static PGresult *
gw_pg_call(gw_store_pg *pg, const char *sql, int nparams, const char *const *params)
{
	if (pg->silent)
		return NULL;
	if (pg->bound_ms == 0)
		return PQexecParams(pg->conn, sql, nparams, NULL, params, NULL, NULL, 0);
	if (!PQsendQueryParams(pg->conn, sql, nparams, NULL, params, NULL, NULL, 0))
		return NULL;
	uint64_t end = gw_clock_mono_ms() + pg->bound_ms;
	PGresult *first = NULL, *r;
	for (;;) {
		while (PQisBusy(pg->conn)) {
			uint64_t now = gw_clock_mono_ms();
			struct pollfd p = { .fd = PQsocket(pg->conn), .events = POLLIN };
			int n = now >= end ? 0 : poll(&p, 1, (int)(end - now));
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) { /* silence (or a poll that cannot wait): give up on it */
				pg->silent = true;
				PQclear(first);
				return NULL;
			}
			if (!PQconsumeInput(pg->conn))
				break; /* the connection failed: PQgetResult reports it */
		}
		if ((r = PQgetResult(pg->conn)) == NULL)
			break;
		if (first == NULL)
			first = r;
		else
			PQclear(r);
		if (PQstatus(pg->conn) == CONNECTION_BAD)
			break;
	}
	return first;
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

/* The migrations: gw_pg_migrations[v] takes a database from version v to
 * v + 1 (0: an empty database).  Each runs in one transaction. */
static const char *const *const gw_pg_migrations[GW_STORE_SCHEMA_VERSION] = { gw_pg_schema_v1,
	gw_pg_schema_v2, gw_pg_schema_v3 };

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
	for (long v = version; v < GW_STORE_SCHEMA_VERSION; v++) {
		int rc = gw_pg_run(pg, "BEGIN", 0, NULL, "cannot create the schema", err);
		for (const char *const *sql = gw_pg_migrations[v]; rc == 0 && *sql; sql++)
			rc = gw_pg_run(pg, *sql, 0, NULL, "cannot create the schema", err);
		if (rc == 0 && v > 0) {
			char next[24];
			snprintf(next, sizeof(next), "%ld", v + 1);
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
	/* the schema check is bounded as the connect was */
	pg->bound_ms = connect_ms;
	int rc = gw_pg_schema(pg, err);
	pg->bound_ms = 0;
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

int
gw_store_pg_events_each(gw_store_pg *pg, gw_store_line_fn fn, void *ctx, bool *present,
    gw_err *err)
{
	*present = false;
	const char *p[] = { pg->deployment };
	if (!PQsendQueryParams(pg->conn, "SELECT line FROM tau_event WHERE deployment = $1 ORDER BY seq",
	    1, NULL, p, NULL, NULL, 0))
		return gw_pg_fail(pg, NULL, -EIO, GW_EXIT_UNAVAILABLE, "cannot read the events", err);
	/* one row at a time: a long log never sits in memory whole */
	PQsetSingleRowMode(pg->conn);
	int rc = 0;
	PGresult *res;
	while ((res = PQgetResult(pg->conn)) != NULL) {
		ExecStatusType st = PQresultStatus(res);
		if (st == PGRES_SINGLE_TUPLE) {
			*present = true;
			fn(ctx, PQgetvalue(res, 0, 0), (size_t)PQgetlength(res, 0, 0));
		} else if (st != PGRES_TUPLES_OK && rc == 0) {
			rc = gw_pg_fail(pg, res, -EIO, GW_EXIT_UNAVAILABLE, "cannot read the events", err);
		}
		PQclear(res);
	}
	return rc;
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

int
gw_store_pg_response_save(gw_store_pg *pg, const gw_store_response *r, gw_err *err)
{
	int rc = gw_pg_deployment_ensure(pg, err);
	if (rc != 0)
		return rc;
	char now[24], hist[24];
	gw_pg_now(now, sizeof(now));
	snprintf(hist, sizeof(hist), "%" PRIu64, r->history_items);
	const char *p[] = { pg->deployment, r->id, r->previous_id,
		r->session_key != NULL ? r->session_key : "", hist, r->input_items, r->response, now };
	/* one autocommit statement: when it returns, the row is committed */
	return gw_pg_run(pg,
	    "INSERT INTO tau_response (deployment, id, previous_response_id, session_key,"
	    " history_items, input_items, response, created_unix_ms)"
	    " VALUES ($1, $2, $3, $4, $5::bigint, $6, $7, $8::bigint)"
	    " ON CONFLICT (deployment, id) DO UPDATE SET previous_response_id = EXCLUDED.previous_response_id,"
	    " session_key = EXCLUDED.session_key, history_items = EXCLUDED.history_items,"
	    " input_items = EXCLUDED.input_items, response = EXCLUDED.response,"
	    " created_unix_ms = EXCLUDED.created_unix_ms",
	    8, p, "cannot store the response", err);
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

int
gw_store_pg_response_sweep(gw_store_pg *pg, uint64_t now_s, uint64_t ttl_s, size_t *removed,
    gw_err *err)
{
	if (ttl_s == 0 || ttl_s > now_s)
		return 0;
	char before[24];
	snprintf(before, sizeof(before), "%" PRIu64, (now_s - ttl_s) * 1000);
	const char *p[] = { pg->deployment, before };
	PGresult *res = gw_pg_exec(pg,
	    "DELETE FROM tau_response WHERE deployment = $1 AND created_unix_ms <= $2::bigint", 2, p,
	    PGRES_COMMAND_OK, "cannot sweep the stored responses", err);
	if (res == NULL)
		return -EIO;
	*removed = (size_t)strtoull(PQcmdTuples(res), NULL, 10);
	PQclear(res);
	return 0;
}

/* ---- the connection ------------------------------------------------------- */

int
gw_store_pg_set_timeout(gw_store_pg *pg, uint64_t ms, gw_err *err)
{
	char v[24];
	snprintf(v, sizeof(v), "%" PRIu64, ms);
	const char *p[] = { "statement_timeout", v };
	PGresult *res = gw_pg_exec(pg, "SELECT set_config($1, $2, false)", 2, p, PGRES_TUPLES_OK,
	    "cannot set the statement timeout", err);
	PQclear(res);
	if (res == NULL)
		return -EIO;
	/* the client's own bound, a little later than the server's, so a
	 * statement the server cancels reports its error first */
	pg->bound_ms = ms > 0 ? ms + GW_PG_SILENCE_GRACE_MS : 0;
	return 0;
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
