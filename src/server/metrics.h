/*
 * metrics.h - the HTTP server's counters: requests by route and status, a
 * latency histogram, active streams, upstream attempts by status, bytes in
 * and out, plus the recent-request window behind srv_get_stats.
 *
 * All updates are lock-free atomics except the recent window (a short
 * mutex).  Ownership: embedded in the server; srv_metrics_init and
 * srv_metrics_destroy bracket its life.
 */
#ifndef SRV_METRICS_H
#define SRV_METRICS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "core/base/buf.h"
#include "server/server.h"

typedef enum srv_route {
	SRV_ROUTE_RESPONSES,    /* POST /v1/responses */
	SRV_ROUTE_RESPONSE_ID,  /* GET/DELETE /v1/responses/{id} */
	SRV_ROUTE_INPUT_ITEMS,  /* GET /v1/responses/{id}/input_items */
	SRV_ROUTE_STATUS,       /* /gateway/status */
	SRV_ROUTE_WEBCHAT,
	SRV_ROUTE_HEALTHZ,
	SRV_ROUTE_METRICS,
	SRV_ROUTE_CHAT,         /* POST /v1/chat/completions */
	SRV_ROUTE_MODELS,       /* GET /v1/models */
	SRV_ROUTE_COMPACT,      /* POST /v1/responses/compact */
	SRV_ROUTE_OTHER,
	SRV_ROUTE_COUNT
} srv_route;

#define SRV_METRICS_BUCKETS 14
#define SRV_OVERHEAD_BUCKETS 13
/* the per-second latency buckets: 8 per doubling of microseconds (exact
 * below 8 us), up to 2^32 us */
#define SRV_LAT_BUCKETS 240

/* One second of the panel's window (under the lock). */
typedef struct srv_second {
	uint64_t sec;                     /* the monotonic second it holds */
	uint32_t requests, errors, upstream_errors;
	uint32_t lat[SRV_LAT_BUCKETS];
} srv_second;

typedef struct srv_metrics {
	_Atomic uint64_t by_status[SRV_ROUTE_COUNT][600];
	_Atomic uint64_t hist[SRV_ROUTE_COUNT][SRV_METRICS_BUCKETS + 1];
	_Atomic uint64_t hist_sum_us[SRV_ROUTE_COUNT];
	_Atomic uint64_t requests, status_4xx, status_5xx;
	_Atomic uint64_t active_streams;
	_Atomic uint64_t ws_open, ws_turns; /* WebSockets open; their turns ended (ws.c) */
	_Atomic uint64_t upstream[600];   /* attempts by upstream status; [0] = no response */
	_Atomic uint64_t upstream_cancelled;
	_Atomic uint64_t bytes_in, bytes_out;
	/* the gateway's own time per model request (Server-Timing's gateway) */
	_Atomic uint64_t overhead[SRV_OVERHEAD_BUCKETS + 1];
	_Atomic uint64_t overhead_sum_ns;
	_Atomic uint64_t last_model_ok_unix_ms;
	pthread_mutex_t lock;             /* guards the seconds and recent ring */
	srv_second seconds[SRV_SECONDS + 1]; /* by monotonic second modulo 61 */
	srv_recent recent[SRV_RECENT_MAX];
	unsigned nrecent, rpos;
} srv_metrics;

void srv_metrics_init(srv_metrics *m);
void srv_metrics_destroy(srv_metrics *m);
/* Records one completed request from client (an address as text, or NULL). */
/* target: routes, the target that answered (NULL or "": none); resp_id:
 * the response it made or named (NULL or "": none). */
void srv_metrics_request(srv_metrics *m, srv_route route, const char *method, const char *path,
    const char *client, unsigned status, uint64_t duration_us, uint64_t bytes_in, uint64_t bytes_out,
    const char *target, const char *resp_id);
/* The per-second latency bucket of us, and the value a bucket stands for
 * (its middle). */
unsigned srv_metrics_lat_bucket(uint64_t us);
uint64_t srv_metrics_lat_value(unsigned bucket);
/* Records the gateway's own time of one answer of a model route: its
 * whole time less the wait on the provider. */
void srv_metrics_overhead(srv_metrics *m, uint64_t ns);
/* Records one upstream attempt (status 0: no response). */
void srv_metrics_upstream(srv_metrics *m, unsigned status);
/* Fills the counters part of out (bind and uptime are the caller's). */
void srv_metrics_stats(srv_metrics *m, srv_stats *out);
/* Appends the Prometheus text exposition. */
void srv_metrics_render(srv_metrics *m, uint64_t uptime_ms, gw_buf *out);
/* The route's label ("/v1/responses", ...). */
const char *srv_metrics_route_name(srv_route r);

#endif
