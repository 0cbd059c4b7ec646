/*
 * metrics.c - counters and their Prometheus rendering.  Nothing here may
 * block for longer than a copy of the recent ring, because every request
 * passes through srv_metrics_request.
 *
 * The console's panel reads a window of the last SRV_SECONDS whole
 * seconds: a ring of per-second slots (requests, 5xx answers, failed
 * upstream attempts and a log-linear latency histogram), indexed by the
 * monotonic second modulo SRV_SECONDS + 1 and updated under the lock the
 * recent ring already takes per request.  A slot still holding an older
 * second is cleared by the first request of its new second; readers skip
 * slots whose second is outside the window, so an idle server costs
 * nothing and shows zeros.
 */
#include "server/metrics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Upper bounds of the latency buckets, in microseconds. */
static const uint64_t srv_bucket_us[SRV_METRICS_BUCKETS] = {
	250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000,
	1000000, 5000000, 30000000
};

static const char *const srv_route_names[SRV_ROUTE_COUNT] = {
	"/v1/responses", "/v1/responses/{id}", "/v1/responses/{id}/input_items", "/gateway/status", "/webchat", "/healthz",
	"/metrics", "/v1/chat/completions", "/v1/models", "/v1/responses/compact", "other"
};

/* Upper bounds of the overhead buckets, in nanoseconds: the gateway's own
 * time is micro- not milliseconds, so the buckets start at 10 us. */
static const uint64_t srv_overhead_ns[SRV_OVERHEAD_BUCKETS] = {
	10000, 25000, 50000, 100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000,
	50000000, 250000000, 1000000000
};

void
srv_metrics_overhead(srv_metrics *m, uint64_t ns)
{
	size_t b = 0;
	while (b < SRV_OVERHEAD_BUCKETS && ns > srv_overhead_ns[b])
		b++;
	atomic_fetch_add_explicit(&m->overhead[b], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&m->overhead_sum_ns, ns, memory_order_relaxed);
}

unsigned
srv_metrics_lat_bucket(uint64_t us)
{
	if (us < 8)
		return (unsigned)us;
	unsigned e = 63u - (unsigned)__builtin_clzll(us); /* >= 3 */
	if (e > 31)
		return SRV_LAT_BUCKETS - 1;
	unsigned sub = (unsigned)(us >> (e - 3)) & 7u;
	return 8u * (e - 2u) + sub;
}

uint64_t
srv_metrics_lat_value(unsigned b)
{
	if (b < 8)
		return b;
	unsigned e = b / 8 + 2, sub = b % 8;
	uint64_t lo = (uint64_t)(8 + sub) << (e - 3), width = (uint64_t)1 << (e - 3);
	return lo + width / 2;
}

static uint64_t
srv_mono_sec(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec;
}

/* The slot of second sec, cleared if it held an older one (lock held). */
static srv_second *
srv_second_slot(srv_metrics *m, uint64_t sec)
{
	srv_second *s = &m->seconds[sec % (SRV_SECONDS + 1)];
	if (s->sec != sec) {
		memset(s, 0, sizeof(*s));
		s->sec = sec;
	}
	return s;
}

const char *
srv_metrics_route_name(srv_route r)
{
	return r < SRV_ROUTE_COUNT ? srv_route_names[r] : "other";
}

void
srv_metrics_init(srv_metrics *m)
{
	memset(m, 0, sizeof(*m));
	pthread_mutex_init(&m->lock, NULL);
}

void
srv_metrics_destroy(srv_metrics *m)
{
	pthread_mutex_destroy(&m->lock);
}

void
srv_metrics_request(srv_metrics *m, srv_route route, const char *method, const char *path,
    const char *client, unsigned status, uint64_t duration_us, uint64_t bytes_in, uint64_t bytes_out,
    const char *target, const char *resp_id)
{
	if (route >= SRV_ROUTE_COUNT)
		route = SRV_ROUTE_OTHER;
	if (status < 600)
		atomic_fetch_add_explicit(&m->by_status[route][status], 1, memory_order_relaxed);
	size_t b = 0;
	while (b < SRV_METRICS_BUCKETS && duration_us > srv_bucket_us[b])
		b++;
	atomic_fetch_add_explicit(&m->hist[route][b], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&m->hist_sum_us[route], duration_us, memory_order_relaxed);
	atomic_fetch_add_explicit(&m->requests, 1, memory_order_relaxed);
	if (status >= 400 && status < 500)
		atomic_fetch_add_explicit(&m->status_4xx, 1, memory_order_relaxed);
	else if (status >= 500)
		atomic_fetch_add_explicit(&m->status_5xx, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&m->bytes_in, bytes_in, memory_order_relaxed);
	atomic_fetch_add_explicit(&m->bytes_out, bytes_out, memory_order_relaxed);
	srv_recent r;
	memset(&r, 0, sizeof(r));
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	r.unix_ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
	snprintf(r.method, sizeof(r.method), "%s", method ? method : "");
	snprintf(r.path, sizeof(r.path), "%s", path ? path : "");
	snprintf(r.client, sizeof(r.client), "%s", client ? client : "");
	if (target != NULL && target[0] != '\0')
		snprintf(r.target, sizeof(r.target), "%s", target);
	if (resp_id != NULL && resp_id[0] != '\0')
		snprintf(r.resp_id, sizeof(r.resp_id), "%s", resp_id);
	r.status = status;
	r.duration_us = duration_us;
	if (status >= 200 && status < 300 && (route == SRV_ROUTE_RESPONSES || route == SRV_ROUTE_CHAT))
		atomic_store_explicit(&m->last_model_ok_unix_ms, r.unix_ms, memory_order_relaxed);
	unsigned lb = srv_metrics_lat_bucket(duration_us);
	uint64_t sec = srv_mono_sec();
	pthread_mutex_lock(&m->lock);
	srv_second *s = srv_second_slot(m, sec);
	s->requests++;
	s->errors += status >= 500 && status < 600;
	s->lat[lb]++;
	m->recent[m->rpos] = r;
	m->rpos = (m->rpos + 1) % SRV_RECENT_MAX;
	if (m->nrecent < SRV_RECENT_MAX)
		m->nrecent++;
	pthread_mutex_unlock(&m->lock);
}

void
srv_metrics_upstream(srv_metrics *m, unsigned status)
{
	atomic_fetch_add_explicit(&m->upstream[status < 600 ? status : 0], 1, memory_order_relaxed);
	if (status >= 200 && status < 300)
		return;
	uint64_t sec = srv_mono_sec();
	pthread_mutex_lock(&m->lock);
	srv_second_slot(m, sec)->upstream_errors++;
	pthread_mutex_unlock(&m->lock);
}

/* The value at nearest rank pct of the histogram h (n samples). */
static uint64_t
srv_lat_rank(const uint64_t *h, uint64_t n, unsigned pct)
{
	uint64_t rank = (n * pct + 99) / 100, cum = 0;
	if (rank == 0)
		rank = 1;
	for (unsigned b = 0; b < SRV_LAT_BUCKETS; b++) {
		cum += h[b];
		if (cum >= rank)
			return srv_metrics_lat_value(b);
	}
	return 0;
}

void
srv_metrics_stats(srv_metrics *m, srv_stats *out)
{
	out->requests = atomic_load(&m->requests);
	out->active_streams = atomic_load(&m->active_streams);
	out->ws_open = atomic_load(&m->ws_open);
	out->ws_turns = atomic_load(&m->ws_turns);
	out->status_4xx = atomic_load(&m->status_4xx);
	out->status_5xx = atomic_load(&m->status_5xx);
	out->last_model_ok_unix_ms = atomic_load_explicit(&m->last_model_ok_unix_ms, memory_order_relaxed);
	/* the window: the SRV_SECONDS whole seconds before this one for the
	 * rates, and those plus this one for the latency */
	uint64_t now = srv_mono_sec(), hist[SRV_LAT_BUCKETS] = { 0 }, nlat = 0;
	pthread_mutex_lock(&m->lock);
	for (unsigned i = 0; i <= SRV_SECONDS; i++) {
		uint64_t sec = now - SRV_SECONDS + i;
		if (now < SRV_SECONDS - i)
			continue;
		const srv_second *s = &m->seconds[sec % (SRV_SECONDS + 1)];
		if (s->sec != sec || s->requests + s->upstream_errors == 0)
			continue;
		if (i < SRV_SECONDS) {
			out->sec_requests[i] = s->requests;
			out->sec_errors[i] = s->errors;
			out->sec_upstream_errors[i] = s->upstream_errors;
		}
		for (unsigned b = 0; b < SRV_LAT_BUCKETS; b++)
			hist[b] += s->lat[b];
		nlat += s->requests;
	}
	out->nrecent = m->nrecent;
	for (unsigned i = 0; i < m->nrecent; i++)
		out->recent[i] = m->recent[(m->rpos + SRV_RECENT_MAX - m->nrecent + i) % SRV_RECENT_MAX];
	pthread_mutex_unlock(&m->lock);
	out->p50_us = out->p99_us = 0;
	if (nlat > 0) {
		out->p50_us = srv_lat_rank(hist, nlat, 50);
		out->p99_us = srv_lat_rank(hist, nlat, 99);
	}
	/* by route (most first) and by status class */
	uint64_t per_route[SRV_ROUTE_COUNT] = { 0 };
	for (int r = 0; r < SRV_ROUTE_COUNT; r++)
		for (unsigned st = 100; st < 600; st++) {
			uint64_t v = atomic_load_explicit(&m->by_status[r][st], memory_order_relaxed);
			per_route[r] += v;
			out->by_class[st / 100] += v;
		}
	out->nroutes = 0;
	for (;;) {
		int best = -1;
		for (int r = 0; r < SRV_ROUTE_COUNT; r++)
			if (per_route[r] > 0 && (best < 0 || per_route[r] > per_route[best]))
				best = r;
		if (best < 0 || out->nroutes == SRV_ROUTE_COUNTS)
			break;
		snprintf(out->routes[out->nroutes].name, sizeof(out->routes[0].name), "%s", srv_route_names[best]);
		out->routes[out->nroutes++].n = per_route[best];
		per_route[best] = 0;
	}
	out->upstream_attempts = out->upstream_errors = 0;
	for (unsigned st = 0; st < 600; st++) {
		uint64_t v = atomic_load_explicit(&m->upstream[st], memory_order_relaxed);
		out->upstream_attempts += v;
		if (st < 200 || st > 299)
			out->upstream_errors += v;
	}
}

void
srv_metrics_render(srv_metrics *m, uint64_t uptime_ms, gw_buf *b)
{
	gw_buf_puts(b, "# HELP tau_gateway_http_requests_total Completed HTTP requests by route and status.\n"
	    "# TYPE tau_gateway_http_requests_total counter\n");
	for (int r = 0; r < SRV_ROUTE_COUNT; r++)
		for (unsigned s = 100; s < 600; s++) {
			uint64_t v = atomic_load_explicit(&m->by_status[r][s], memory_order_relaxed);
			if (v)
				gw_buf_printf(b, "tau_gateway_http_requests_total{route=\"%s\",status=\"%u\"} %llu\n",
				    srv_route_names[r], s, (unsigned long long)v);
		}
	gw_buf_puts(b, "# HELP tau_gateway_http_request_duration_seconds HTTP request latency.\n"
	    "# TYPE tau_gateway_http_request_duration_seconds histogram\n");
	for (int r = 0; r < SRV_ROUTE_COUNT; r++) {
		uint64_t cum = 0;
		for (int k = 0; k <= SRV_METRICS_BUCKETS; k++) {
			cum += atomic_load_explicit(&m->hist[r][k], memory_order_relaxed);
			if (k < SRV_METRICS_BUCKETS)
				gw_buf_printf(b, "tau_gateway_http_request_duration_seconds_bucket{route=\"%s\",le=\"%g\"} %llu\n",
				    srv_route_names[r], (double)srv_bucket_us[k] / 1e6, (unsigned long long)cum);
			else
				gw_buf_printf(b, "tau_gateway_http_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} %llu\n",
				    srv_route_names[r], (unsigned long long)cum);
		}
		gw_buf_printf(b, "tau_gateway_http_request_duration_seconds_sum{route=\"%s\"} %.6f\n",
		    srv_route_names[r], (double)atomic_load(&m->hist_sum_us[r]) / 1e6);
		gw_buf_printf(b, "tau_gateway_http_request_duration_seconds_count{route=\"%s\"} %llu\n",
		    srv_route_names[r], (unsigned long long)cum);
	}
	gw_buf_puts(b, "# HELP tau_gateway_overhead_seconds The gateway's own time per answer of "
	    "/v1/responses and /v1/chat/completions, the upstream wait excluded.\n"
	    "# TYPE tau_gateway_overhead_seconds histogram\n");
	uint64_t ocum = 0;
	for (int k = 0; k <= SRV_OVERHEAD_BUCKETS; k++) {
		ocum += atomic_load_explicit(&m->overhead[k], memory_order_relaxed);
		if (k < SRV_OVERHEAD_BUCKETS)
			gw_buf_printf(b, "tau_gateway_overhead_seconds_bucket{le=\"%g\"} %llu\n",
			    (double)srv_overhead_ns[k] / 1e9, (unsigned long long)ocum);
		else
			gw_buf_printf(b, "tau_gateway_overhead_seconds_bucket{le=\"+Inf\"} %llu\n",
			    (unsigned long long)ocum);
	}
	gw_buf_printf(b, "tau_gateway_overhead_seconds_sum %.9f\ntau_gateway_overhead_seconds_count %llu\n",
	    (double)atomic_load(&m->overhead_sum_ns) / 1e9, (unsigned long long)ocum);
	gw_buf_printf(b, "# HELP tau_gateway_active_streams Open SSE responses.\n"
	    "# TYPE tau_gateway_active_streams gauge\ntau_gateway_active_streams %llu\n",
	    (unsigned long long)atomic_load(&m->active_streams));
	gw_buf_printf(b, "# HELP tau_gateway_websocket_connections Open WebSockets on /v1/responses.\n"
	    "# TYPE tau_gateway_websocket_connections gauge\ntau_gateway_websocket_connections %llu\n"
	    "# HELP tau_gateway_websocket_turns_total response.create turns the WebSockets ran.\n"
	    "# TYPE tau_gateway_websocket_turns_total counter\ntau_gateway_websocket_turns_total %llu\n",
	    (unsigned long long)atomic_load(&m->ws_open), (unsigned long long)atomic_load(&m->ws_turns));
	gw_buf_puts(b, "# HELP tau_gateway_upstream_requests_total Upstream attempts by HTTP status (0: no response).\n"
	    "# TYPE tau_gateway_upstream_requests_total counter\n");
	uint64_t errors[600] = { 0 };
	for (unsigned s = 0; s < 600; s++) {
		uint64_t v = atomic_load_explicit(&m->upstream[s], memory_order_relaxed);
		if (!v)
			continue;
		gw_buf_printf(b, "tau_gateway_upstream_requests_total{status=\"%u\"} %llu\n", s,
		    (unsigned long long)v);
		if (s < 200 || s > 299)
			errors[s] = v;
	}
	gw_buf_puts(b, "# HELP tau_gateway_upstream_errors_total Failed upstream attempts by HTTP status (0: no response).\n"
	    "# TYPE tau_gateway_upstream_errors_total counter\n");
	for (unsigned s = 0; s < 600; s++)
		if (errors[s])
			gw_buf_printf(b, "tau_gateway_upstream_errors_total{status=\"%u\"} %llu\n", s,
			    (unsigned long long)errors[s]);
	gw_buf_printf(b, "# HELP tau_gateway_upstream_cancelled_total Upstream transfers cancelled by a client disconnect or shutdown.\n"
	    "# TYPE tau_gateway_upstream_cancelled_total counter\ntau_gateway_upstream_cancelled_total %llu\n",
	    (unsigned long long)atomic_load(&m->upstream_cancelled));
	gw_buf_printf(b, "# HELP tau_gateway_http_bytes_received_total Request body bytes received.\n"
	    "# TYPE tau_gateway_http_bytes_received_total counter\ntau_gateway_http_bytes_received_total %llu\n",
	    (unsigned long long)atomic_load(&m->bytes_in));
	gw_buf_printf(b, "# HELP tau_gateway_http_bytes_sent_total Response body bytes sent.\n"
	    "# TYPE tau_gateway_http_bytes_sent_total counter\ntau_gateway_http_bytes_sent_total %llu\n",
	    (unsigned long long)atomic_load(&m->bytes_out));
	gw_buf_printf(b, "# HELP tau_gateway_uptime_seconds Seconds since the server started.\n"
	    "# TYPE tau_gateway_uptime_seconds gauge\ntau_gateway_uptime_seconds %.3f\n",
	    (double)uptime_ms / 1000.0);
}
