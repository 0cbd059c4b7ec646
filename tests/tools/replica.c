/*
 * replica.c - tau-replica, a test tool: plays a replica in the registry of
 * a PostgreSQL deployment through the store's real API, until the server
 * registers itself (a later part of fleet mode).
 *
 *   tau-replica run URL DEPLOYMENT HOST BIND INTERVAL_MS
 *       gw_store_replica_register, prints "registered <id>" (the test's
 *       readiness signal), then gw_store_replica_heartbeat every
 *       INTERVAL_MS with growing counters (10 requests, one 4xx per beat,
 *       one 5xx every fifth, 2 active streams).  SIGTERM or SIGINT
 *       deregisters and exits 0; kill -9 leaves the row to go stale.
 *   tau-replica list URL DEPLOYMENT
 *       one line per row: "<host> <bind> pid=<pid> age_ms=<age>
 *       requests=<n> streams=<n> 4xx=<n> 5xx=<n> live|stale".
 *
 * Exit 69 when the store fails.
 */
#include "core/base/clock.h"
#include "core/store/store.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t quit;

static void
on_signal(int sig)
{
	(void)sig;
	quit = 1;
}

static int
fail(gw_store *s, const gw_err *err)
{
	fprintf(stderr, "tau-replica: %s\n", err->msg);
	gw_store_close(s);
	return 69;
}

static int
run(gw_store *s, const char *host, const char *bind, uint64_t interval_ms)
{
	gw_err err;
	gw_err_clear(&err);
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	gw_store_replica_info info = { host, bind, "tau-replica (test tool)", (long)getpid() };
	uint64_t id;
	if (gw_store_replica_register(s, &info, &id, &err) != 0)
		return fail(s, &err);
	printf("registered %" PRIu64 "\n", id);
	fflush(stdout);
	gw_store_replica_counters c = { 0, 2, 0, 0 };
	for (unsigned beat = 1; !quit; beat++) {
		/* the heartbeat's period, not a synchronisation: poll(2) returns
		 * early (EINTR) on SIGTERM */
		poll(NULL, 0, (int)interval_ms);
		if (quit)
			break;
		c.requests += 10;
		c.errors_4xx += 1;
		c.errors_5xx += beat % 5 == 0;
		if (gw_store_replica_heartbeat(s, id, &c, &err) != 0)
			return fail(s, &err);
	}
	if (gw_store_replica_deregister(s, id, &err) != 0)
		return fail(s, &err);
	gw_store_close(s);
	return 0;
}

static int
list(gw_store *s)
{
	gw_err err;
	gw_err_clear(&err);
	gw_store_replica *r;
	size_t n;
	if (gw_store_replica_list(s, &r, &n, &err) != 0)
		return fail(s, &err);
	for (size_t i = 0; i < n; i++)
		printf("%s %s pid=%ld age_ms=%" PRIu64 " requests=%" PRIu64 " streams=%" PRIu64
		    " 4xx=%" PRIu64 " 5xx=%" PRIu64 " %s\n",
		    r[i].host, r[i].bind, r[i].pid, r[i].heartbeat_age_ms, r[i].counters.requests,
		    r[i].counters.active_streams, r[i].counters.errors_4xx, r[i].counters.errors_5xx,
		    r[i].stale ? "stale" : "live");
	free(r);
	gw_store_close(s);
	return 0;
}

int
main(int argc, char **argv)
{
	bool is_run = argc == 7 && strcmp(argv[1], "run") == 0;
	bool is_list = argc == 4 && strcmp(argv[1], "list") == 0;
	if (!is_run && !is_list) {
		fprintf(stderr, "usage: tau-replica run URL DEPLOYMENT HOST BIND INTERVAL_MS\n"
		    "       tau-replica list URL DEPLOYMENT\n");
		return 64;
	}
	gw_err err;
	gw_err_clear(&err);
	gw_store *s = NULL;
	if (gw_store_open_url(argv[2], argv[3], &s, &err) != 0)
		return fail(s, &err);
	if (is_list)
		return list(s);
	return run(s, argv[4], argv[5], strtoull(argv[6], NULL, 10));
}
