/*
 * store_listen.c - tau-store-listen, a test tool: opens the PostgreSQL
 * store of URL and DEPLOYMENT, LISTENs through gw_store_listen, prints
 * "listening" once the LISTEN is in place (the test's readiness signal),
 * then waits in poll(2) on gw_store_fd - no polling of the database - for
 * up to TIMEOUT_MS.  For each posture commit gw_store_drain reports it
 * prints "change <unix_ms>" (the wall clock when it arrived) and, after
 * COUNT of them, exits 0.  Exit 1 on timeout, 69 when the store fails.
 *
 *   tau-store-listen URL DEPLOYMENT COUNT TIMEOUT_MS
 */
#include "core/base/clock.h"
#include "core/store/store.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>

int
main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: tau-store-listen URL DEPLOYMENT COUNT TIMEOUT_MS\n");
		return 64;
	}
	unsigned want = (unsigned)strtoul(argv[3], NULL, 10), seen = 0;
	uint64_t deadline = gw_clock_mono_ms() + strtoull(argv[4], NULL, 10);
	gw_err err;
	gw_err_clear(&err);
	gw_store *s;
	if (gw_store_open_url(argv[1], argv[2], &s, &err) != 0 || gw_store_listen(s, &err) != 0) {
		fprintf(stderr, "tau-store-listen: %s\n", err.msg);
		return 69;
	}
	printf("listening\n");
	fflush(stdout);
	while (seen < want) {
		uint64_t now = gw_clock_mono_ms();
		if (now >= deadline) {
			fprintf(stderr, "tau-store-listen: timed out with %u of %u changes\n", seen, want);
			gw_store_close(s);
			return 1;
		}
		struct pollfd p = { .fd = gw_store_fd(s), .events = POLLIN };
		int r = poll(&p, 1, (int)(deadline - now));
		if (r < 0 && errno != EINTR)
			break;
		if (r <= 0)
			continue;
		unsigned n = 0;
		if (gw_store_drain(s, &n, &err) != 0) {
			fprintf(stderr, "tau-store-listen: %s\n", err.msg);
			gw_store_close(s);
			return 69;
		}
		for (unsigned i = 0; i < n; i++)
			printf("change %" PRIu64 "\n", gw_clock_unix_ms());
		fflush(stdout);
		seen += n;
	}
	gw_store_close(s);
	return seen >= want ? 0 : 1;
}
