/*
 * test_metrics.c - the server's counters as the console's panel reads them
 * (src/server/metrics.c): the log-linear latency buckets stay within 1/16
 * of the value, the per-second window counts requests, 5xx answers and
 * failed upstream attempts in the current second's slot (the rates show
 * whole seconds only), p50/p99 come from the window, and the counts by
 * route and status class and the recent ring (newest last, with the
 * response id) are what was recorded.
 */
#include "unit.h"

#include <string.h>
#include <time.h>

#include "server/metrics.h"

static void
test_lat_buckets(void **state)
{
	(void)state;
	for (uint64_t us = 0; us < 8; us++)
		assert_int_equal(srv_metrics_lat_value(srv_metrics_lat_bucket(us)), us);
	unsigned prev = 0;
	for (uint64_t us = 8; us < ((uint64_t)1 << 32); us = us * 9 / 8 + 1) {
		unsigned b = srv_metrics_lat_bucket(us);
		assert_true(b >= prev); /* monotonic */
		assert_true(b < SRV_LAT_BUCKETS);
		prev = b;
		uint64_t v = srv_metrics_lat_value(b);
		uint64_t d = v > us ? v - us : us - v;
		assert_true(d * 16 <= us); /* the middle of a bucket 1/8 wide */
	}
	assert_int_equal(srv_metrics_lat_bucket(UINT64_MAX), SRV_LAT_BUCKETS - 1);
}

static void
test_window_counts(void **state)
{
	(void)state;
	srv_metrics m;
	srv_metrics_init(&m);
	for (unsigned i = 0; i < 98; i++)
		srv_metrics_request(&m, SRV_ROUTE_RESPONSES, "POST", "/v1/responses", "127.0.0.1", 200,
		    100 + i, 10, 20, NULL, "resp_1");
	srv_metrics_request(&m, SRV_ROUTE_STATUS, "GET", "/gateway/status", "10.0.0.1", 401, 50, 0, 0,
	    NULL, NULL);
	srv_metrics_request(&m, SRV_ROUTE_RESPONSES, "POST", "/v1/responses", "10.0.0.2", 502, 90000,
	    0, 0, "openai/x", "resp_last");
	srv_metrics_upstream(&m, 200);
	srv_metrics_upstream(&m, 503);
	srv_metrics_upstream(&m, 0);
	srv_stats s;
	memset(&s, 0, sizeof(s));
	srv_metrics_stats(&m, &s);
	assert_int_equal(s.requests, 100);
	assert_int_equal(s.by_class[2], 98);
	assert_int_equal(s.by_class[4], 1);
	assert_int_equal(s.by_class[5], 1);
	assert_int_equal(s.nroutes, 2);
	assert_string_equal(s.routes[0].name, "/v1/responses");
	assert_int_equal(s.routes[0].n, 99);
	assert_string_equal(s.routes[1].name, "/gateway/status");
	assert_int_equal(s.upstream_attempts, 3);
	assert_int_equal(s.upstream_errors, 2);
	/* p50 among 100..197 us, p99 the 197 us one (nearest rank 99 of 100) */
	assert_true(s.p50_us >= 140 && s.p50_us <= 160);
	assert_true(s.p99_us >= 185 && s.p99_us <= 210);
	assert_true(s.last_model_ok_unix_ms > 0);
	/* newest last, with its response id and target */
	assert_int_equal(s.nrecent, SRV_RECENT_MAX);
	assert_string_equal(s.recent[SRV_RECENT_MAX - 1].resp_id, "resp_last");
	assert_string_equal(s.recent[SRV_RECENT_MAX - 1].target, "openai/x");
	assert_string_equal(s.recent[SRV_RECENT_MAX - 2].client, "10.0.0.1");
	/* the rates count whole seconds: once the clock's second moves past
	 * the one the requests were recorded in, the window holds them all */
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	time_t sec = ts.tv_sec;
	while (ts.tv_sec == sec) {
		struct timespec nap = { 0, 10 * 1000 * 1000 };
		nanosleep(&nap, NULL);
		clock_gettime(CLOCK_MONOTONIC, &ts);
	}
	memset(&s, 0, sizeof(s));
	srv_metrics_stats(&m, &s);
	uint64_t req = 0, err = 0, up = 0;
	for (unsigned i = 0; i < SRV_SECONDS; i++) {
		req += s.sec_requests[i];
		err += s.sec_errors[i];
		up += s.sec_upstream_errors[i];
	}
	assert_int_equal(req, 100);
	assert_int_equal(err, 1);
	assert_int_equal(up, 2);
	srv_metrics_destroy(&m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lat_buckets),
		cmocka_unit_test(test_window_counts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
