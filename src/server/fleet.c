/*
 * fleet.c - the server's fleet thread on PostgreSQL (see fleet.h).
 *
 * One thread, one connection, blocking libpq calls (through store.h),
 * a poll() over the connection's socket and a wake eventfd.  Each pass:
 * notifications drained (a posture commit re-reads the posture), and once
 * a second a heartbeat with the counters and a fresh replica list.  After
 * every query the feed is drained again: notifications that arrive while
 * a query runs wait in libpq's buffer, where poll cannot see them.  The
 * cache the loops read is swapped in under f->lock; nothing else is
 * shared with them.  This module must never print: lines go to srv_log.
 */
#include "server/fleet.h"
#include "server/server_int.h"
#include "core/base/clock.h"
#include "core/base/json.h"
#include "core/base/mem.h"
#include "core/store/reconnect.h"
#include "core/store/store.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

/* how many posture re-reads one wakeup may chain (each may find more
 * notifications behind it) before the loop polls again */
#define SRV_FLEET_FEED_ROUNDS 4

struct srv_fleet {
	struct srv_server *srv;
	char *url, *deployment, *label;
	gw_store *store;                /* NULL while disconnected; the thread's once running */
	gw_reconnect retry;
	uint64_t replica_id;
	bool registered;
	uint64_t expire_ms;             /* stale rows older than this are deleted */
	int wake_fd;
	pthread_t thread;
	bool running;
	atomic_bool quit;
	/* the cache the loops read, under lock */
	pthread_mutex_t lock;
	gw_buf service;                 /* key-sorted service report */
	gw_store_replica *replicas;
	size_t nreplicas;
	bool live;                      /* the connection is up */
	char reason[600];               /* why not, when !live */
	uint64_t posture_read_mono_ms;  /* when the cached posture was read */
};

/* Reads the posture and swaps it into the cache as key-sorted JSON. */
static int
srv_fleet_read_posture(srv_fleet *f, gw_service_report *out, gw_err *err)
{
	gw_service_report rep;
	int rc = gw_service_status_in(f->store, &rep, err);
	if (rc != 0)
		return rc;
	if (out != NULL)
		*out = rep;
	gw_buf sorted = GW_BUF_INIT;
	srv_service_json_sorted(&rep, &sorted);
	pthread_mutex_lock(&f->lock);
	gw_buf tmp = f->service;
	f->service = sorted;
	f->posture_read_mono_ms = gw_clock_mono_ms();
	pthread_mutex_unlock(&f->lock);
	gw_buf_free(&tmp);
	return 0;
}

static void
srv_fleet_set_live(srv_fleet *f, bool live, const char *reason)
{
	pthread_mutex_lock(&f->lock);
	f->live = live;
	snprintf(f->reason, sizeof(f->reason), "%s", live ? "" : reason);
	pthread_mutex_unlock(&f->lock);
}

/* After a failed call: if the connection itself is gone, drop it, mark
 * the cache stale and schedule a reconnect; else log the failure. */
static void
srv_fleet_check(srv_fleet *f, const char *what, const gw_err *err)
{
	if (f->store == NULL)
		return;
	if (gw_store_connected(f->store)) {
		srv_log(f->srv, "fleet: %s failed: %s", what, err->msg);
		return;
	}
	gw_store_close(f->store);
	f->store = NULL;
	gw_reconnect_lost(&f->retry, gw_clock_mono_ms());
	char why[sizeof(f->reason)];
	snprintf(why, sizeof(why), "state database connection lost (%s: %s)", what, err->msg);
	srv_fleet_set_live(f, false, why);
	srv_log(f->srv, "fleet: %s; reconnecting", why);
}

static void
srv_fleet_counters(srv_fleet *f, gw_store_replica_counters *c)
{
	srv_metrics *m = &f->srv->metrics;
	c->requests = atomic_load(&m->requests);
	c->active_streams = atomic_load(&m->active_streams);
	c->errors_4xx = atomic_load(&m->status_4xx);
	c->errors_5xx = atomic_load(&m->status_5xx);
}

static int
srv_fleet_register(srv_fleet *f, gw_err *err)
{
	char host[GW_STORE_REPLICA_HOST_MAX];
	if (gethostname(host, sizeof(host)) != 0)
		snprintf(host, sizeof(host), "unknown");
	host[sizeof(host) - 1] = '\0';
	gw_store_replica_info info = {
		.host = host, .bind = f->srv->bind, .version = TAU_VERSION, .pid = (long)getpid(),
	};
	uint64_t id = 0;
	int rc = gw_store_replica_register(f->store, &info, &id, err);
	if (rc == 0) {
		pthread_mutex_lock(&f->lock); /* the loops read it in the status */
		f->replica_id = id;
		pthread_mutex_unlock(&f->lock);
		f->registered = true;
	}
	return rc;
}

/* Heartbeat (re-registering a row someone removed) and the replica list. */
static void
srv_fleet_beat(srv_fleet *f)
{
	gw_err err;
	gw_err_clear(&err);
	gw_store_replica_counters c;
	srv_fleet_counters(f, &c);
	int rc = f->registered ? gw_store_replica_heartbeat(f->store, f->replica_id, &c, &err) :
	    -ENOENT;
	if (rc == -ENOENT) {
		gw_err_clear(&err);
		if ((rc = srv_fleet_register(f, &err)) == 0)
			rc = gw_store_replica_heartbeat(f->store, f->replica_id, &c, &err);
	}
	if (rc != 0) {
		srv_fleet_check(f, "heartbeat", &err);
		if (f->store == NULL)
			return;
	}
	gw_err_clear(&err);
	size_t gone = 0;
	if (gw_store_replica_expire(f->store, f->expire_ms, &gone, &err) != 0) {
		srv_fleet_check(f, "stale replica cleanup", &err);
		if (f->store == NULL)
			return;
	} else if (gone > 0) {
		srv_log(f->srv, "fleet: removed %zu replica row%s stale for more than %llu s", gone,
		    gone == 1 ? "" : "s", (unsigned long long)(f->expire_ms / 1000));
	}
	gw_err_clear(&err);
	gw_store_replica *r = NULL;
	size_t n = 0;
	if (gw_store_replica_list(f->store, &r, &n, &err) != 0) {
		srv_fleet_check(f, "replica list", &err);
		return;
	}
	pthread_mutex_lock(&f->lock);
	gw_store_replica *old = f->replicas;
	f->replicas = r;
	f->nreplicas = n;
	pthread_mutex_unlock(&f->lock);
	free(old);
}

/* Reads what the feed brought; a posture commit re-reads the posture. */
static void
srv_fleet_feed(srv_fleet *f)
{
	for (int round = 0; round < SRV_FLEET_FEED_ROUNDS && f->store != NULL; round++) {
		gw_err err;
		gw_err_clear(&err);
		unsigned changes = 0;
		if (gw_store_drain(f->store, &changes, &err) != 0) {
			srv_fleet_check(f, "change feed", &err);
			return;
		}
		if (changes == 0)
			return;
		if (srv_fleet_read_posture(f, NULL, &err) != 0) {
			srv_fleet_check(f, "posture", &err);
			return;
		}
	}
}

static void
srv_fleet_reconnect(srv_fleet *f, uint64_t now)
{
	gw_err err;
	gw_err_clear(&err);
	gw_store *st = NULL;
	if (gw_reconnect_open(f->url, f->deployment, SRV_FLEET_CONNECT_MS, SRV_FLEET_STATEMENT_MS, true,
	    &st, &err) != 0) {
		gw_reconnect_failed(&f->retry, now);
		char why[sizeof(f->reason)];
		snprintf(why, sizeof(why), "state database unreachable (%s); retrying in %llu ms",
		    err.msg, (unsigned long long)f->retry.backoff_ms);
		srv_fleet_set_live(f, false, why);
		return;
	}
	f->store = st;
	gw_reconnect_reset(&f->retry);
	/* LISTEN came first: a commit after this read is notified */
	if (srv_fleet_read_posture(f, NULL, &err) != 0) {
		srv_fleet_check(f, "posture", &err);
		if (f->store == NULL)
			return;
	}
	srv_fleet_set_live(f, true, NULL);
	srv_log(f->srv, "fleet: state database reachable again");
}

static void *
srv_fleet_main(void *arg)
{
	srv_fleet *f = arg;
	pthread_setname_np(pthread_self(), "tau-fleet");
	uint64_t beat_at = gw_clock_mono_ms() + SRV_FLEET_HEARTBEAT_MS;
	while (!atomic_load(&f->quit)) {
		uint64_t now = gw_clock_mono_ms();
		uint64_t due = f->store != NULL ? beat_at : f->retry.retry_at_ms;
		uint64_t wait = due <= now ? 0 : due - now;
		struct pollfd p[2] = {
			{ .fd = f->wake_fd, .events = POLLIN },
			{ .fd = f->store != NULL ? gw_store_fd(f->store) : -1, .events = POLLIN },
		};
		if (poll(p, 2, (int)(wait > 60000 ? 60000 : wait)) < 0 && errno != EINTR)
			break;
		if (p[0].revents & POLLIN) {
			uint64_t v;
			ssize_t n = read(f->wake_fd, &v, sizeof(v));
			(void)n;
		}
		if (atomic_load(&f->quit))
			break;
		now = gw_clock_mono_ms();
		if (f->store == NULL) {
			if (!gw_reconnect_due(&f->retry, now))
				continue;
			srv_fleet_reconnect(f, now);
			beat_at = now; /* heartbeat and list at once */
		}
		if (f->store != NULL && p[1].revents != 0)
			srv_fleet_feed(f);
		if (f->store != NULL && now >= beat_at) {
			srv_fleet_beat(f);
			beat_at = now + SRV_FLEET_HEARTBEAT_MS;
			srv_fleet_feed(f); /* what came in while the queries ran */
		}
	}
	return NULL;
}

/* True when a replica other than this one heartbeats in the registry. */
static bool
srv_fleet_others_live(srv_fleet *f)
{
	gw_store_replica *rows = NULL;
	size_t n = 0;
	gw_err e;
	gw_err_clear(&e);
	if (gw_store_replica_list(f->store, &rows, &n, &e) != 0)
		return false;
	bool others = false;
	for (size_t i = 0; i < n; i++)
		if (!rows[i].stale && !(f->registered && rows[i].id == f->replica_id))
			others = true;
	free(rows);
	return others;
}

/* True when the posture was stopped by someone other than a replica's own
 * shutdown or failed start: an operator's stop (flag, console, prompt). */
static bool
srv_fleet_operator_stopped(const gw_service_block *b)
{
	return b->stopped && strcmp(b->last_stop_reason, SRV_STOP_REASON) != 0 &&
	    strcmp(b->last_stop_reason, "startup_failed") != 0;
}

/* A replica joins the deployment's posture; it does not own it.  An
 * operator's stop holds every replica, so a replica that starts meanwhile
 * (a restart, an autoscaler) joins on hold instead of undoing it;
 * otherwise its start is recorded, as a server's on a state directory is.
 * rep is filled either way. */
static int
srv_fleet_start_posture(srv_fleet *f, gw_service_report *rep, gw_err *err)
{
	int rc = gw_service_status_in(f->store, rep, err);
	if (rc != 0)
		return rc;
	if (srv_fleet_operator_stopped(&rep->service)) {
		srv_log(f->srv,
		    "fleet: deployment '%s' is stopped (%s): this replica joins it on hold; "
		    "--gateway-service-start resumes it",
		    f->deployment, rep->service.last_stop_reason);
		return 0;
	}
	return gw_service_start_in(f->store, rep, err);
}

/* The stale-row bound: SRV_FLEET_REPLICA_EXPIRE_ENV, else the default. */
static int
srv_fleet_expire_bound(uint64_t *ms, gw_err *err)
{
	const char *v = getenv(SRV_FLEET_REPLICA_EXPIRE_ENV);
	*ms = (uint64_t)SRV_FLEET_REPLICA_EXPIRE_S * 1000;
	if (v == NULL)
		return 0;
	char *end = NULL;
	errno = 0;
	unsigned long long s = strtoull(v, &end, 10);
	if (*v < '0' || *v > '9' || end == v || *end != '\0' || errno != 0 ||
	    s * 1000 <= GW_STORE_REPLICA_STALE_MS || s > 604800)
		return gw_err_set(err, -EINVAL, GW_EXIT_USAGE,
		    "invalid %s '%s' (expected whole seconds, %d to 604800)",
		    SRV_FLEET_REPLICA_EXPIRE_ENV, v, GW_STORE_REPLICA_STALE_MS / 1000 + 1);
	*ms = (uint64_t)s * 1000;
	return 0;
}

int
srv_fleet_open(struct srv_server *s, const char *url, const char *deployment,
    gw_service_report *rep, srv_fleet **out, gw_err *err)
{
	*out = NULL;
	uint64_t expire_ms;
	int erc = srv_fleet_expire_bound(&expire_ms, err);
	if (erc != 0)
		return erc;
	srv_fleet *f = gw_xcalloc(1, sizeof(*f));
	f->expire_ms = expire_ms;
	f->srv = s;
	f->url = gw_xstrdup(url);
	f->deployment = gw_xstrdup(deployment);
	f->wake_fd = -1;
	pthread_mutex_init(&f->lock, NULL);
	gw_reconnect_init(&f->retry, SRV_FLEET_BACKOFF_MIN_MS, SRV_FLEET_BACKOFF_MAX_MS);
	int rc = gw_reconnect_open(url, deployment, 0, SRV_FLEET_STATEMENT_MS, true, &f->store, err);
	if (rc == 0) {
		f->label = gw_xstrdup(gw_store_label(f->store));
		rc = srv_fleet_start_posture(f, rep, err);
	}
	if (rc == 0)
		rc = srv_fleet_read_posture(f, NULL, err);
	if (rc == 0 && (f->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0)
		rc = gw_err_set(err, -errno, GW_EXIT_SOFTWARE, "fleet: eventfd: %s", strerror(errno));
	if (rc != 0) {
		srv_fleet_close(f);
		return rc;
	}
	f->live = true;
	*out = f;
	return 0;
}

const char *
srv_fleet_label(const srv_fleet *f)
{
	return f->label;
}

int
srv_fleet_run(srv_fleet *f, gw_err *err)
{
	int rc = srv_fleet_register(f, err);
	if (rc != 0)
		return rc;
	srv_fleet_beat(f); /* the list names this replica before the first request */
	rc = pthread_create(&f->thread, NULL, srv_fleet_main, f);
	if (rc != 0)
		return gw_err_set(err, -rc, GW_EXIT_SOFTWARE, "fleet: cannot start its thread: %s",
		    strerror(rc));
	f->running = true;
	return 0;
}

/* Stops the thread; afterwards this thread owns f->store. */
static void
srv_fleet_join(srv_fleet *f)
{
	if (!f->running)
		return;
	atomic_store(&f->quit, true);
	uint64_t one = 1;
	ssize_t n = write(f->wake_fd, &one, sizeof(one));
	(void)n;
	pthread_join(f->thread, NULL);
	f->running = false;
}

/* Records a stop or a failed start, then deregisters. */
static int
srv_fleet_end(srv_fleet *f, bool failed, const char *text, gw_service_report *rep, gw_err *err)
{
	srv_fleet_join(f);
	if (f->store == NULL) {
		int rc = gw_reconnect_open(f->url, f->deployment, SRV_FLEET_CONNECT_MS,
		    SRV_FLEET_STATEMENT_MS, true, &f->store, err);
		if (rc != 0)
			return rc;
	}
	/* one replica leaving is not the deployment stopping: while others
	 * are live, or after an operator's stop (whose reason must stay), the
	 * posture is left as it is and only the row goes */
	int rc = gw_service_status_in(f->store, rep, err);
	if (srv_fleet_others_live(f)) {
		srv_log(f->srv, "fleet: other replicas of '%s' are live: its posture stays as it is",
		    f->deployment);
	} else {
		if (rc == 0 && !srv_fleet_operator_stopped(&rep->service))
			rc = failed ? gw_service_startup_failed_in(f->store, text, rep, err) :
			    gw_service_stop_in(f->store, text, rep, err);
	}
	if (f->registered) {
		gw_err derr;
		gw_err_clear(&derr);
		if (gw_store_replica_deregister(f->store, f->replica_id, &derr) == 0)
			f->registered = false;
		else if (rc == 0)
			srv_log(f->srv, "fleet: cannot deregister replica %llu: %s",
			    (unsigned long long)f->replica_id, derr.msg);
	}
	return rc;
}

int
srv_fleet_startup_failed(srv_fleet *f, const char *error, gw_service_report *rep, gw_err *err)
{
	return srv_fleet_end(f, true, error, rep, err);
}

int
srv_fleet_stop(srv_fleet *f, const char *reason, gw_service_report *rep, gw_err *err)
{
	return srv_fleet_end(f, false, reason, rep, err);
}

void
srv_fleet_close(srv_fleet *f)
{
	if (f == NULL)
		return;
	srv_fleet_join(f);
	gw_store_close(f->store);
	if (f->wake_fd >= 0)
		close(f->wake_fd);
	pthread_mutex_destroy(&f->lock);
	gw_buf_free(&f->service);
	free(f->replicas);
	free(f->url);
	free(f->deployment);
	free(f->label);
	free(f);
}

void
srv_fleet_status_json(srv_fleet *f, gw_buf *service, gw_buf *fleet)
{
	pthread_mutex_lock(&f->lock);
	gw_buf_append(service, f->service.data, f->service.len);
	gw_jw w;
	gw_jw_init(&w, fleet, false);
	gw_jw_obj_begin(&w);
	gw_jw_kstr(&w, "deployment", f->deployment);
	gw_jw_ku64(&w, "posture_age_ms", gw_clock_mono_ms() - f->posture_read_mono_ms);
	gw_jw_ku64(&w, "replica_id", f->replica_id);
	gw_jw_key(&w, "replicas");
	gw_jw_arr_begin(&w);
	for (size_t i = 0; i < f->nreplicas; i++) {
		const gw_store_replica *r = &f->replicas[i];
		gw_jw_obj_begin(&w);
		gw_jw_kstr(&w, "bind", r->bind);
		gw_jw_ku64(&w, "heartbeat_age_ms", r->heartbeat_age_ms);
		gw_jw_kstr(&w, "host", r->host);
		gw_jw_ku64(&w, "id", r->id);
		gw_jw_key(&w, "pid");
		gw_jw_i64(&w, (int64_t)r->pid);
		gw_jw_kbool(&w, "stale", r->stale);
		gw_jw_kstr(&w, "version", r->version);
		gw_jw_obj_end(&w);
	}
	gw_jw_arr_end(&w);
	gw_jw_kstr(&w, "state", f->live ? "live" : "stale");
	if (!f->live)
		gw_jw_kstr(&w, "state_error", f->reason);
	gw_jw_obj_end(&w);
	pthread_mutex_unlock(&f->lock);
}

bool
srv_fleet_health(srv_fleet *f, char *reason, size_t n)
{
	pthread_mutex_lock(&f->lock);
	bool live = f->live;
	if (!live)
		snprintf(reason, n, "%s", f->reason);
	pthread_mutex_unlock(&f->lock);
	return live;
}
