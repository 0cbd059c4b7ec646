/*
 * server.c - the HTTP face: libmicrohttpd daemon lifecycle, routing,
 * authentication, and the small routes (/gateway/status, /webchat,
 * /healthz, /metrics).  The Open Responses routes live in api.c.
 *
 * The server runs one event loop thread per core, each with its own MHD
 * daemon (external epoll mode, its own listening socket in one SO_REUSEPORT
 * group, so the kernel spreads connections over the loops) and, for an
 * upstream model or a routes file, its own provider engine, so an upstream
 * call (a route's fallback too) starts, ends and is answered on one
 * thread.  Handlers never block on the network or on a session lock: an
 * upstream call goes to the loop's engine, work that may wait for a
 * session lock to the worker pool, with the connection suspended (see
 * api.c).  The connection caps are counted here
 * across all daemons.  Refusals (401, 404, 405, 413, 431) are
 * decided on the first, headers-only call: a request with a body is
 * refused there and then, so the body is never read; one without a body is
 * answered on the next call, which keeps keep-alive connections open (MHD
 * 0.9.75 closes them when the first call queues).  A route that takes no
 * body refuses one that announces a body (413) and too many query
 * parameters are refused (431), both with the connection closed.  Each
 * loop also watches its connections itself (srv_conn): a peer's hang-up
 * and a request that does not arrive whole within the idle timeout end
 * the connection; and when accept() runs out of descriptors the loop keeps
 * running MHD until it accepts again (srv_loop_accept_wait).
 * A chunked body that outgrows the limit is drained without being stored
 * and refused with 413 when it ends (MHD cannot queue a reply mid-upload).
 * This module must never print to the terminal when embedded: every line
 * goes through srv_config.log.
 */
#include "server/server.h"
#include "server/api.h"
#include "server/chatapi.h"
#include "server/compactapi.h"
#include "server/auth.h"
#include "server/fleet.h"
#include "core/openresponses/respcache.h"
#include "server/respconn.h"
#include "server/keygate.h"
#include "server/evlog.h"
#include "server/reqlog.h"
#include "server/router.h"
#include "server/sdnotify.h"
#include "server/server_int.h"
#include "server/ws.h"
#include "core/base/clock.h"
#include "core/base/fs.h"
#include "core/base/str.h"
#include "core/base/hash.h"
#include "core/base/json.h"
#include "core/base/mem.h"
#include "core/base/strmap.h"
#include "core/gateway/events.h"
#include "core/gateway/service.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

extern const char srv_webchat_html[];
extern const size_t srv_webchat_html_len;

#define SRV_SHUTDOWN_WAIT_MS 5000
/* then WebSockets: their last frames and close frames written */
#define SRV_WS_SHUTDOWN_WAIT_MS 1000
/* how often a loop retries accept() after it failed (descriptors ran out) */
#define SRV_ACCEPT_RETRY_MS 100
/* descriptors the server needs besides two per connection (srv_fd_check) */
#define SRV_FD_BASE 32
#define SRV_FD_PER_LOOP 8
/* query parameters a request may carry (more: 431, see srv_uri_log) */
#define SRV_MAX_QUERY_PARAMS 64
/* how often a loop checks its connections' request deadline */
#define SRV_SWEEP_MS 250
/* how much of an oversized chunked body is drained before hanging up */
#define SRV_DRAIN_MAX(limit) ((limit) * 4 > (8u << 20) ? (limit) * 4 : (8u << 20))

/* ---- helpers shared with api.c ---------------------------------------------- */

static void
srv_vlog(srv_server *s, const char *fmt, va_list ap)
{
	gw_buf line = GW_BUF_INIT, safe = GW_BUF_INIT;
	gw_buf_vprintf(&line, fmt, ap);
	/* the token never reaches a log: redacted whole, before any cut */
	srv_reqlog_redact(&s->cfg, gw_buf_cstr(&line), &safe);
	if (s->cfg.log != NULL)
		s->cfg.log(s->cfg.log_ctx, gw_buf_cstr(&safe));
	else
		srv_reqlog_message(&s->cfg, gw_buf_cstr(&safe));
	gw_buf_free(&line);
	gw_buf_free(&safe);
}

void
srv_log(srv_server *s, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	srv_vlog(s, fmt, ap);
	va_end(ap);
}

void
srv_notice(srv_server *s, const char *fmt, ...)
{
	/* the console (cfg.log set) shows notices whatever --quiet says */
	if (s->cfg.quiet && s->cfg.log == NULL)
		return;
	va_list ap;
	va_start(ap, fmt);
	srv_vlog(s, fmt, ap);
	va_end(ap);
}

void
srv_notify(srv_server *s)
{
	if (s->event_fd < 0 || atomic_exchange(&s->notify_pending, true))
		return;
	gw_fs_eventfd_signal(s->event_fd);
}

/* The gateway's own time of r so far, in ns. */
static uint64_t
srv_own_ns(const srv_req *r)
{
	uint64_t spent = gw_clock_mono_ns() - r->start_ns;
	return spent > r->upstream_ns ? spent - r->upstream_ns : 0;
}

/* Writes ns as milliseconds with three decimals ("12.345") at p; returns
 * the end.  By hand: it runs on every answer of the model routes. */
static char *
srv_put_ms(char *p, uint64_t ns)
{
	uint64_t us = ns / 1000, ms = us / 1000;
	char tmp[24];
	size_t n = 0;
	do
		tmp[n++] = (char)('0' + ms % 10);
	while ((ms /= 10) != 0);
	while (n > 0)
		*p++ = tmp[--n];
	*p++ = '.';
	*p++ = (char)('0' + us / 100 % 10);
	*p++ = (char)('0' + us / 10 % 10);
	*p++ = (char)('0' + us % 10);
	return p;
}

static void
srv_timing_put(struct MHD_Response *resp, uint64_t own_ns, uint64_t upstream_ns)
{
	static const char g[] = "gateway;dur=", u[] = ", upstream;dur=";
	char v[sizeof(g) + sizeof(u) + 2 * 24]; /* two 20-digit numbers, ".ddd" each */
	char *p = v;
	memcpy(p, g, sizeof(g) - 1);
	p = srv_put_ms(p + sizeof(g) - 1, own_ns);
	memcpy(p, u, sizeof(u) - 1);
	p = srv_put_ms(p + sizeof(u) - 1, upstream_ns);
	*p = '\0';
	MHD_add_response_header(resp, "Server-Timing", v);
}

void
srv_timing_header(struct MHD_Response *resp, const srv_req *r)
{
	srv_timing_put(resp, srv_own_ns(r), r->upstream_ns);
}

static enum MHD_Result
srv_queue(struct MHD_Connection *c, srv_req *r, unsigned status, struct MHD_Response *resp,
    const char *allow)
{
	if (allow != NULL)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
	if (r->route == SRV_ROUTE_RESPONSES || r->route == SRV_ROUTE_CHAT ||
	    r->route == SRV_ROUTE_COMPACT) {
		/* every answer of a model route, refusals too (streams: api.c) */
		uint64_t own = srv_own_ns(r);
		srv_timing_put(resp, own, r->upstream_ns);
		srv_metrics_overhead(&r->srv->metrics, own);
	}
	r->status = status;
	r->phase = SRV_PHASE_REPLIED;
	enum MHD_Result ret = MHD_queue_response(c, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

enum MHD_Result
srv_reply(struct MHD_Connection *c, srv_req *r, unsigned status, const char *ctype,
    const char *body, size_t n)
{
	struct MHD_Response *resp = MHD_create_response_from_buffer(n, (void *)(body ? body : ""),
	    MHD_RESPMEM_MUST_COPY);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	r->bytes_out += n;
	return srv_queue(c, r, status, resp, NULL);
}

enum MHD_Result
srv_reply_result(struct MHD_Connection *c, srv_req *r)
{
	size_t n = r->result.len;
	char *body = n ? gw_buf_detach(&r->result) : NULL;
	struct MHD_Response *resp = body ? MHD_create_response_from_buffer(n, body, MHD_RESPMEM_MUST_FREE)
	    : MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, r->result_type);
	r->bytes_out += n;
	return srv_queue(c, r, r->result_status, resp, NULL);
}

static enum MHD_Result
srv_reply_error_allow(struct MHD_Connection *c, srv_req *r, const gw_resp_error *e,
    const char *allow)
{
	gw_buf b = GW_BUF_INIT;
	gw_resp_error_json(e, &b);
	struct MHD_Response *resp = MHD_create_response_from_buffer(b.len, b.data,
	    MHD_RESPMEM_MUST_FREE);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	r->bytes_out += b.len;
	return srv_queue(c, r, e->status, resp, allow);
}

enum MHD_Result
srv_reply_error(struct MHD_Connection *c, srv_req *r, const gw_resp_error *e)
{
	return srv_reply_error_allow(c, r, e, NULL);
}

/* ---- routing ------------------------------------------------------------------ */

#define SRV_RESPONSES_PREFIX "/v1/responses/"
#define SRV_INPUT_ITEMS_SUFFIX "/input_items"

/* Classifies url; *allow receives the route's methods. */
static srv_route
srv_classify(const char *url, const char **allow)
{
	*allow = "GET";
	if (strcmp(url, "/v1/responses") == 0) {
		*allow = "GET, POST"; /* GET: the WebSocket transport (ws.c) */
		return SRV_ROUTE_RESPONSES;
	}
	if (strcmp(url, "/v1/chat/completions") == 0) {
		*allow = "POST";
		return SRV_ROUTE_CHAT;
	}
	if (strcmp(url, "/v1/models") == 0)
		return SRV_ROUTE_MODELS;
	/* before /v1/responses/{id}: "compact" is no response id */
	if (strcmp(url, "/v1/responses/compact") == 0) {
		*allow = "POST";
		return SRV_ROUTE_COMPACT;
	}
	if (strncmp(url, SRV_RESPONSES_PREFIX, sizeof(SRV_RESPONSES_PREFIX) - 1) == 0 &&
	    url[sizeof(SRV_RESPONSES_PREFIX) - 1] != '\0' &&
	    strchr(url + sizeof(SRV_RESPONSES_PREFIX) - 1, '/') == NULL) {
		*allow = "GET, DELETE";
		return SRV_ROUTE_RESPONSE_ID;
	}
	if (strncmp(url, SRV_RESPONSES_PREFIX, sizeof(SRV_RESPONSES_PREFIX) - 1) == 0) {
		const char *id = url + sizeof(SRV_RESPONSES_PREFIX) - 1;
		const char *slash = strchr(id, '/');
		if (slash != NULL && slash > id && strcmp(slash, SRV_INPUT_ITEMS_SUFFIX) == 0)
			return SRV_ROUTE_INPUT_ITEMS;
	}
	if (strcmp(url, "/gateway/status") == 0)
		return SRV_ROUTE_STATUS;
	if (strcmp(url, "/webchat") == 0)
		return SRV_ROUTE_WEBCHAT;
	if (strcmp(url, "/healthz") == 0)
		return SRV_ROUTE_HEALTHZ;
	if (strcmp(url, "/metrics") == 0)
		return SRV_ROUTE_METRICS;
	*allow = NULL;
	return SRV_ROUTE_OTHER;
}

static bool
srv_method_ok(const char *allow, const char *method)
{
	if (allow == NULL)
		return false;
	if (strcmp(method, "HEAD") == 0)
		method = "GET";
	size_t n = strlen(method);
	for (const char *p = allow; (p = strstr(p, method)) != NULL; p += n)
		if ((p == allow || p[-1] == ' ') && (p[n] == '\0' || p[n] == ','))
			return true;
	return false;
}

/* Hashes the configured token (trimmed) once, for srv_authorized. */
static void
srv_token_init(srv_server *s)
{
	/* trimmed as srv_reqlog_redact trims it, so what is redacted is
	 * exactly what authenticates */
	const char *tok;
	size_t tn;
	gw_str_trim(s->cfg.auth_token ? s->cfg.auth_token : "", &tok, &tn);
	s->has_token = tn > 0;
	gw_hash_sha256(tok, tn, s->token_digest);
}

/* The value is compared by the length libmicrohttpd reports
 * (MHD_lookup_connection_value_n), never by strlen, so whatever bytes MHD
 * keeps are all part of the comparison.  libmicrohttpd 0.9.75 itself stores
 * a header value only up to an embedded NUL byte ("Bearer tok\0x" reaches
 * us as "Bearer tok", length 10), so on that version the bytes after a NUL
 * cannot be seen here at all. */
static bool
srv_authorized(srv_server *s, struct MHD_Connection *c)
{
	const char *h = NULL;
	size_t hn = 0;
	return MHD_lookup_connection_value_n(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION,
	           sizeof(MHD_HTTP_HEADER_AUTHORIZATION) - 1, &h, &hn) == MHD_YES &&
	    h != NULL && s->has_token && srv_auth_bearer_ok(h, hn, s->token_digest);
}

static int
srv_hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
}

/* MHD's unescaper for the path and query arguments: decodes %HH as MHD's
 * own does, except %00, which is left as written.  A decoded NUL would end
 * the C string the handler gets, so "/v1/responses/<id>%00junk" would be
 * taken for <id>; kept literal, the route refuses it (srv_dispatch). */
static size_t
srv_unescape(void *cls, struct MHD_Connection *c, char *str)
{
	(void)cls;
	(void)c;
	char *w = str;
	for (const char *p = str; *p != '\0';) {
		if (p[0] == '%' && isxdigit((unsigned char)p[1]) && isxdigit((unsigned char)p[2]) &&
		    !(p[1] == '0' && p[2] == '0')) {
			*w++ = (char)(srv_hexval(p[1]) * 16 + srv_hexval(p[2]));
			p += 3;
		} else {
			*w++ = *p++;
		}
	}
	*w = '\0';
	return (size_t)(w - str);
}

static bool
srv_has_body(struct MHD_Connection *c, uint64_t *content_length, bool *has_length)
{
	const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_CONTENT_LENGTH);
	const char *te = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_TRANSFER_ENCODING);
	*content_length = 0;
	*has_length = false;
	if (cl != NULL) {
		*content_length = strtoull(cl, NULL, 10);
		*has_length = true;
	}
	return *content_length > 0 || te != NULL;
}

static void
srv_refusal(srv_server *s, srv_req *r, unsigned status, gw_resp_error *e)
{
	switch (status) {
	case 401:
		gw_resp_error_set(e, 401, "unauthorized", NULL, "missing or invalid bearer token");
		break;
	case 405:
		gw_resp_error_set(e, 405, "method_not_allowed", NULL, "method %s is not allowed on %s",
		    r->method, r->path);
		break;
	case 413:
		if (r->route != SRV_ROUTE_RESPONSES && r->route != SRV_ROUTE_CHAT &&
		    r->route != SRV_ROUTE_COMPACT) {
			gw_resp_error_set(e, 413, "body_not_allowed", NULL, "%s %s takes no request body",
			    r->method, r->path);
			break;
		}
		gw_resp_error_set(e, 413, "input_too_large", NULL,
		    "request body exceeds max size of %llu bytes", (unsigned long long)s->body_limit);
		break;
	case 429:
		gw_resp_error_set(e, 429, "too_many_connections", NULL,
		    "client %s has %llu requests in progress through a trusted proxy, the per-client "
		    "limit (--gateway-openresponses-max-connections-per-ip)", r->client,
		    (unsigned long long)s->per_ip_cap);
		break;
	case 431:
		gw_resp_error_set(e, 431, "too_many_query_parameters", NULL,
		    "the request has %u query parameters; at most %d are accepted", r->query_params,
		    SRV_MAX_QUERY_PARAMS);
		break;
	default:
		gw_resp_error_set(e, 404, "not_found", NULL, "no route for %s %s", r->method, r->path);
		break;
	}
}

static enum MHD_Result
srv_refuse(struct MHD_Connection *c, srv_req *r, unsigned status)
{
	gw_resp_error e;
	srv_refusal(r->srv, r, status, &e);
	const char *allow = NULL;
	srv_classify(r->path, &allow);
	return srv_reply_error_allow(c, r, &e, status == 405 ? allow : NULL);
}

/* ---- small routes -------------------------------------------------------------- */

/* Appends the service report's JSON with its keys sorted, as
 * /gateway/status embeds it (the file store's cache and the fleet's copy). */
void
srv_service_json_sorted(const gw_service_report *rep, gw_buf *out)
{
	gw_buf raw = GW_BUF_INIT;
	gw_service_report_json(rep, &raw, false);
	cJSON *v = cJSON_ParseWithLength(raw.data, raw.len);
	gw_buf_free(&raw);
	gw_json_canonical(out, v);
	cJSON_Delete(v);
}

/* Refreshes the cached, key-sorted service report if state.json changed.
 * Caller holds status_lock. */
static int
srv_status_refresh(srv_server *s, gw_err *err)
{
	char *path = gw_path_join(s->cfg.state_dir, "state.json");
	struct stat st;
	bool exists = stat(path, &st) == 0;
	free(path);
	if (exists && s->status_valid && st.st_ino == s->status_st.st_ino &&
	    st.st_dev == s->status_st.st_dev && st.st_size == s->status_st.st_size &&
	    st.st_mtim.tv_sec == s->status_st.st_mtim.tv_sec &&
	    st.st_mtim.tv_nsec == s->status_st.st_mtim.tv_nsec)
		return 0;
	gw_service_report rep;
	int rc = gw_service_status(s->cfg.state_dir, &rep, err);
	if (rc != 0)
		return rc;
	gw_buf_reset(&s->status_service);
	srv_service_json_sorted(&rep, &s->status_service);
	s->status_valid = exists; /* a missing file reports "now": never cache it */
	s->status_st = st;
	return 0;
}

static enum MHD_Result
srv_route_status(struct MHD_Connection *c, srv_req *r)
{
	srv_server *s = r->srv;
	gw_err err;
	gw_err_clear(&err);
	/* counters only: the percentile window is for srv_get_stats */
	srv_stats st;
	memset(&st, 0, sizeof(st));
	st.requests = atomic_load(&s->metrics.requests);
	st.active_streams = atomic_load(&s->metrics.active_streams);
	st.status_4xx = atomic_load(&s->metrics.status_4xx);
	st.status_5xx = atomic_load(&s->metrics.status_5xx);
	st.uptime_ms = gw_clock_mono_ms() - s->started_mono_ms;
	gw_buf b = GW_BUF_INIT, fleet = GW_BUF_INIT, service = GW_BUF_INIT;
	if (s->fleet != NULL) /* the fleet thread's cache: no query from a loop */
		srv_fleet_status_json(s->fleet, &service, &fleet);
	pthread_mutex_lock(&s->status_lock);
	int rc = s->fleet != NULL ? 0 : srv_status_refresh(s, &err);
	if (rc == 0 && s->fleet == NULL)
		gw_buf_append(&service, s->status_service.data, s->status_service.len);
	if (rc == 0) {
		gw_buf_putc(&b, '{');
		if (s->fleet != NULL) {
			gw_buf_puts(&b, "\"fleet\":");
			gw_buf_append(&b, fleet.data, fleet.len);
			gw_buf_putc(&b, ',');
		}
		gw_buf_puts(&b, "\"gateway\":");
		gw_buf_append(&b, s->status_gateway.data, s->status_gateway.len);
		if (s->router != NULL) {
			gw_buf_puts(&b, ",\"routes\":");
			srv_router_status_json(s->router, &b);
		}
		gw_buf_printf(&b, ",\"server\":{\"active_streams\":%llu,\"bind\":",
		    (unsigned long long)st.active_streams);
		gw_json_escape(&b, s->bind, strlen(s->bind));
		gw_buf_printf(&b, ",\"requests\":%llu,\"status_4xx\":%llu,\"status_5xx\":%llu,"
		    "\"uptime_ms\":%llu},\"service\":", (unsigned long long)st.requests,
		    (unsigned long long)st.status_4xx, (unsigned long long)st.status_5xx,
		    (unsigned long long)st.uptime_ms);
		gw_buf_append(&b, service.data, service.len);
		gw_buf_putc(&b, '}');
	}
	pthread_mutex_unlock(&s->status_lock);
	gw_buf_free(&fleet);
	gw_buf_free(&service);
	if (rc != 0) {
		gw_buf_free(&b);
		gw_resp_error e;
		gw_resp_error_set(&e, 500, "internal_error", NULL,
		    "failed to inspect gateway service state: %s", err.msg);
		return srv_reply_error(c, r, &e);
	}
	struct MHD_Response *resp = MHD_create_response_from_buffer(b.len, b.data,
	    MHD_RESPMEM_MUST_FREE);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	r->bytes_out += b.len;
	return srv_queue(c, r, 200, resp, NULL);
}

/* {"status":"ok"}; in fleet mode with the state database out of reach
 * {"status":"degraded","reason":"..."} (still 200: stateless requests
 * are served). */
static enum MHD_Result
srv_route_healthz(struct MHD_Connection *c, srv_req *r)
{
	char reason[640];
	if (r->srv->fleet == NULL || srv_fleet_health(r->srv->fleet, reason, sizeof(reason)))
		return srv_reply(c, r, 200, "application/json", "{\"status\":\"ok\"}", 15);
	gw_buf b = GW_BUF_INIT;
	gw_buf_puts(&b, "{\"status\":\"degraded\",\"reason\":");
	gw_json_escape(&b, reason, strlen(reason));
	gw_buf_putc(&b, '}');
	enum MHD_Result ret = srv_reply(c, r, 200, "application/json", b.data, b.len);
	gw_buf_free(&b);
	return ret;
}

static enum MHD_Result
srv_route_webchat(struct MHD_Connection *c, srv_req *r)
{
	struct MHD_Response *resp = MHD_create_response_from_buffer(srv_webchat_html_len,
	    (void *)srv_webchat_html, MHD_RESPMEM_PERSISTENT);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/html; charset=utf-8");
	MHD_add_response_header(resp, "Content-Security-Policy", r->srv->csp);
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(resp, "X-Frame-Options", "DENY");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	r->bytes_out += srv_webchat_html_len;
	return srv_queue(c, r, 200, resp, NULL);
}

static enum MHD_Result
srv_route_metrics(struct MHD_Connection *c, srv_req *r)
{
	srv_server *s = r->srv;
	gw_buf b = GW_BUF_INIT;
	srv_metrics_render(&s->metrics, gw_clock_mono_ms() - s->started_mono_ms, &b);
	if (s->router != NULL)
		srv_router_metrics(s->router, &b);
	struct MHD_Response *resp = MHD_create_response_from_buffer(b.len, b.data,
	    MHD_RESPMEM_MUST_FREE);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
	    "text/plain; version=0.0.4; charset=utf-8");
	r->bytes_out += b.len;
	return srv_queue(c, r, 200, resp, NULL);
}

/* Builds the webchat CSP from hashes of its inline <script> and <style>. */
static char *
srv_webchat_csp(void)
{
	static const struct { const char *open, *close, *directive; } el[] = {
		{ "<script>", "</script>", "script-src" },
		{ "<style>", "</style>", "style-src" },
	};
	gw_buf b = GW_BUF_INIT;
	const char *html = srv_webchat_html;
	for (size_t i = 0; i < sizeof(el) / sizeof(el[0]); i++) {
		const char *start = strstr(html, el[i].open);
		const char *end = start ? strstr(start, el[i].close) : NULL;
		gw_buf_printf(&b, "%s ", el[i].directive);
		if (end == NULL) {
			gw_buf_puts(&b, "'none'; ");
			continue;
		}
		start += strlen(el[i].open);
		uint8_t d[GW_SHA256_LEN];
		gw_hash_sha256(start, (size_t)(end - start), d);
		gw_buf_puts(&b, "'sha256-");
		gw_hash_base64(&b, d, sizeof(d));
		gw_buf_puts(&b, "'; ");
	}
	gw_buf_puts(&b, "default-src 'none'; connect-src 'self'; base-uri 'none'; "
	    "form-action 'none'; frame-ancestors 'none'");
	return gw_buf_detach(&b);
}

/* ---- the access handler ----------------------------------------------------------- */

static bool srv_client_take(srv_server *s, srv_req *r);
static void srv_client_give(srv_server *s, srv_req *r);
static void srv_client_of(srv_server *s, struct MHD_Connection *c, srv_conn *sc, srv_req *r);

static enum MHD_Result
srv_first_call(struct MHD_Connection *c, srv_req *r)
{
	srv_server *s = r->srv;
	const char *allow;
	r->route = srv_classify(r->path, &allow);
	uint64_t clen;
	bool has_len;
	bool body = srv_has_body(c, &clen, &has_len);
	unsigned refusal = 0;
	bool needs_auth = r->route == SRV_ROUTE_RESPONSES || r->route == SRV_ROUTE_RESPONSE_ID ||
	    r->route == SRV_ROUTE_INPUT_ITEMS || r->route == SRV_ROUTE_STATUS ||
	    r->route == SRV_ROUTE_METRICS || r->route == SRV_ROUTE_CHAT ||
	    r->route == SRV_ROUTE_MODELS || r->route == SRV_ROUTE_COMPACT;
	bool takes_body = r->route == SRV_ROUTE_RESPONSES || r->route == SRV_ROUTE_CHAT ||
	    r->route == SRV_ROUTE_COMPACT;
	if (r->route == SRV_ROUTE_OTHER)
		refusal = 404;
	else if (!srv_method_ok(allow, r->method))
		refusal = 405;
	else if (needs_auth && !srv_authorized(s, c))
		refusal = 401;
	else if (takes_body && has_len && clen > s->body_limit)
		refusal = 413;
	else if (!takes_body && body)
		refusal = 413; /* a route that takes no body: never wait for one */
	else if (r->query_params > 0)
		refusal = 431;
	else if (r->via_proxy && !srv_client_take(s, r))
		refusal = 429;
	if (refusal == 0)
		return MHD_YES;
	if (body || refusal == 431)
		return srv_refuse(c, r, refusal); /* now: the body is never read, and the
						    * connection closes after the answer */
	r->deferred = refusal;
	return MHD_YES;
}

static enum MHD_Result
srv_dispatch(struct MHD_Connection *c, srv_req *r)
{
	if ((r->route == SRV_ROUTE_RESPONSE_ID || r->route == SRV_ROUTE_INPUT_ITEMS) &&
	    strstr(r->path + sizeof(SRV_RESPONSES_PREFIX) - 1, "%00") != NULL) {
		gw_resp_error e;
		gw_resp_error_set(&e, 400, "invalid_value", "response_id",
		    "response_id: a NUL character (%%00) in the path is not allowed");
		return srv_reply_error(c, r, &e);
	}
	switch (r->route) {
	case SRV_ROUTE_RESPONSES:
		if (r->too_large)
			return srv_refuse(c, r, 413);
		if (strcmp(r->method, "POST") != 0)
			return srv_ws_upgrade(c, r);
		return srv_api_post(c, r);
	case SRV_ROUTE_CHAT:
		if (r->too_large)
			return srv_refuse(c, r, 413);
		return srv_chat_post(c, r);
	case SRV_ROUTE_COMPACT:
		if (r->too_large)
			return srv_refuse(c, r, 413);
		return srv_compact_post(c, r);
	case SRV_ROUTE_MODELS:
		return srv_chat_models(c, r);
	case SRV_ROUTE_RESPONSE_ID: {
		const char *id = r->path + sizeof(SRV_RESPONSES_PREFIX) - 1;
		if (strcmp(r->method, "DELETE") == 0)
			return srv_api_delete(c, r, id);
		return srv_api_get(c, r, id);
	}
	case SRV_ROUTE_INPUT_ITEMS: {
		/* the id, cut at its '/' (r->path stays whole for the logs) */
		char id[sizeof(r->path)];
		const char *start = r->path + sizeof(SRV_RESPONSES_PREFIX) - 1;
		snprintf(id, sizeof(id), "%.*s", (int)(strchr(start, '/') - start), start);
		return srv_api_input_items(c, r, id);
	}
	case SRV_ROUTE_STATUS:
		return srv_route_status(c, r);
	case SRV_ROUTE_WEBCHAT:
		return srv_route_webchat(c, r);
	case SRV_ROUTE_HEALTHZ:
		return srv_route_healthz(c, r);
	case SRV_ROUTE_METRICS:
		return srv_route_metrics(c, r);
	default:
		return srv_refuse(c, r, 404);
	}
}

static srv_req *
srv_req_new(srv_server *s)
{
	srv_req *r = gw_xcalloc(1, sizeof(*r));
	r->srv = s;
	r->start_ns = gw_clock_mono_ns();
	return r;
}

/* MHD's URI callback, called with the raw request line's target before
 * MHD parses the query.  MHD 0.9.75 stores every query parameter in the
 * connection's memory pool and, when the pool runs out, logs a 431 but
 * neither sends it nor closes (its error state is overwritten), so the
 * socket lingers until the idle timeout.  Over SRV_MAX_QUERY_PARAMS the
 * query is cut here, in MHD's own (writable) copy of the line, so MHD
 * parses none of it, and the request is answered 431 on its first call. */
static void *
srv_uri_log(void *cls, const char *uri, struct MHD_Connection *c)
{
	(void)c;
	char *q = strchr(uri, '?');
	if (q == NULL)
		return NULL;
	unsigned n = 1;
	for (const char *p = q + 1; *p != '\0'; p++)
		n += *p == '&';
	if (n <= SRV_MAX_QUERY_PARAMS)
		return NULL;
	q[1] = '\0';
	srv_req *r = srv_req_new(cls);
	r->query_params = n;
	return r;
}

/* The connection's watch record (srv_conn_notify), or NULL. */
static srv_conn *
srv_conn_of(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c,
	    MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	return ci != NULL ? ci->socket_context : NULL;
}

static enum MHD_Result
srv_access(void *cls, struct MHD_Connection *c, const char *url, const char *method,
    const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls)
{
	(void)version;
	srv_server *s = cls;
	srv_req *r = *con_cls;
	if (r == NULL || !r->begun) {
		if (r == NULL)
			r = srv_req_new(s);
		r->begun = true;
		srv_conn *sc = srv_conn_of(c);
		if (sc != NULL)
			sc->in_request = true; /* whole headers: the deadline is met */
		snprintf(r->method, sizeof(r->method), "%s", method);
		snprintf(r->path, sizeof(r->path), "%s", url);
		srv_client_of(s, c, sc, r);
		if (strlen(url) >= sizeof(r->path))
			r->path[sizeof(r->path) - 1] = '\0';
		*con_cls = r;
		if (strlen(url) >= sizeof(r->path)) {
			r->route = SRV_ROUTE_OTHER;
			r->deferred = 404;
			return MHD_YES;
		}
		return srv_first_call(c, r);
	}
	if (*upload_data_size > 0) {
		size_t n = *upload_data_size;
		*upload_data_size = 0;
		r->bytes_in += n;
		if (r->deferred || r->too_large) {
			/* MHD cannot answer mid-upload: drain (unbuffered) and refuse
			 * at the end; a sender that never stops is cut off */
			return r->bytes_in > SRV_DRAIN_MAX(s->body_limit) ? MHD_NO : MHD_YES;
		}
		if (r->body.len + n > s->body_limit) {
			r->too_large = true;
			gw_buf_free(&r->body);
			return MHD_YES;
		}
		gw_buf_append(&r->body, upload_data, n);
		return MHD_YES;
	}
	switch (r->phase) {
	case SRV_PHASE_READY:
		return srv_reply_result(c, r);
	case SRV_PHASE_PROVIDED:
		return srv_api_resume(c, r);
	case SRV_PHASE_CHAINED:
		return srv_api_chained(c, r);
	case SRV_PHASE_NEW:
		break;
	case SRV_PHASE_LOST:
		return MHD_NO; /* MHD closes the connection */
	default:
		return MHD_YES;
	}
	if (r->deferred)
		return srv_refuse(c, r, r->deferred);
	return srv_dispatch(c, r);
}

static void
srv_completed(void *cls, struct MHD_Connection *c, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	(void)toe;
	srv_server *s = cls;
	srv_req *r = *con_cls;
	srv_conn *sc = srv_conn_of(c);
	if (sc != NULL) {
		sc->in_request = false; /* waits for the next request from now */
		sc->since_ms = gw_clock_mono_ms();
	}
	if (r == NULL)
		return;
	*con_cls = NULL;
	srv_api_request_done(r);
	srv_client_give(s, r);
	uint64_t us = ((r->upgraded_ns != 0 ? r->upgraded_ns : gw_clock_mono_ns()) - r->start_ns) / 1000;
	if (r->begun) { /* else MHD ended it before its headers were whole */
		srv_metrics_request(&s->metrics, r->route, r->method, r->path, r->client,
		    r->status ? r->status : 499, us, r->bytes_in, r->bytes_out, r->target, r->resp_id);
		srv_reqlog_request(&s->cfg, r->method, r->path, r->client, r->status ? r->status : 499,
		    us, r->resp_id, r->target, r->upstream_rid);
	}
	srv_notify(s);
	gw_buf_free(&r->body);
	gw_buf_free(&r->result);
	free(r);
}

static _Thread_local srv_loop *srv_loop_self;

/* MHD's lines.  A failed accept() (out of descriptors) is only visible
 * here: the loop that logged it (this thread's) notes it, and such lines
 * are logged at most once a second per loop, with a count of the rest. */
static void
srv_mhd_log(void *cls, const char *fmt, va_list ap)
{
	srv_server *s = cls;
	char line[1024];
	vsnprintf(line, sizeof(line), fmt, ap);
	size_t n = strlen(line);
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	srv_loop *l = srv_loop_self;
	if (l != NULL && l->srv == s && (strstr(line, "accept") != NULL ||
	    strstr(line, "resource limit") != NULL)) {
		l->accept_failed = true;
		uint64_t now = gw_clock_mono_ms();
		if (l->accept_log_ms != 0 && now - l->accept_log_ms < 1000) {
			l->accept_log_dropped++;
			return;
		}
		l->accept_log_ms = now;
		if (l->accept_log_dropped > 0) {
			srv_log(s, "libmicrohttpd: %s (and %u such lines in the last second)", line,
			    l->accept_log_dropped);
			l->accept_log_dropped = 0;
			return;
		}
	}
	srv_log(s, "libmicrohttpd: %s", line);
}

/* ---- connection caps ---------------------------------------------------------- */

/* The caps are the server's, not one daemon's: every loop's daemon asks
 * srv_accept before it takes a connection, which reserves a slot (total
 * and per address) under conn_lock, and srv_conn_notify gives it back
 * when the connection closes.  Each daemon's own limit sits above ours
 * (SRV_MHD_LIMIT_MARGIN), so MHD never refuses a connection we reserved.
 * A trusted proxy's connection takes a total slot only: it carries many
 * clients' requests, so each request takes a slot for its client once its
 * headers name it (srv_client_take) and gives it back when it ends; a
 * client over the per-address cap is answered 429. */
#define SRV_MHD_LIMIT_MARGIN 16

typedef struct srv_peer {
	char addr[SRV_PROXY_TEXT];      /* the index's key */
	size_t n;                       /* slots held */
	struct srv_peer *prev, *next;
} srv_peer;

/* The entry for addr, or NULL.  Caller holds conn_lock. */
static srv_peer *
srv_peer_find(srv_server *s, const char *addr)
{
	size_t v;
	return gw_strmap_get(s->peer_index, addr, &v) ? (srv_peer *)(uintptr_t)v : NULL;
}

/* Takes one of addr's per-address slots; false when it has none left.
 * Caller holds conn_lock. */
static bool
srv_peer_take(srv_server *s, const char *addr)
{
	srv_peer *pe = srv_peer_find(s, addr);
	if (pe != NULL && pe->n >= s->per_ip_cap)
		return false;
	if (pe == NULL) {
		pe = gw_xcalloc(1, sizeof(*pe));
		snprintf(pe->addr, sizeof(pe->addr), "%s", addr);
		gw_strmap_put(s->peer_index, pe->addr, (size_t)(uintptr_t)pe);
		pe->next = s->peers;
		if (s->peers != NULL)
			s->peers->prev = pe;
		s->peers = pe;
	}
	pe->n++;
	return true;
}

/* Gives back one of addr's slots.  Caller holds conn_lock. */
static void
srv_peer_give(srv_server *s, const char *addr)
{
	srv_peer *pe = srv_peer_find(s, addr);
	if (pe == NULL || --pe->n > 0)
		return;
	gw_strmap_del(s->peer_index, pe->addr);
	if (pe->prev != NULL)
		pe->prev->next = pe->next;
	else
		s->peers = pe->next;
	if (pe->next != NULL)
		pe->next->prev = pe->prev;
	free(pe);
}

/* The one reading of a peer's address sa (NULL: none): its address into
 * *a (when a is not NULL), its text into text, and whether it is a trusted
 * proxy (the return).  Every place that meets a peer asks this. */
static bool
srv_peer_of(const srv_server *s, const struct sockaddr *sa, srv_proxy_addr *a,
    char text[SRV_PROXY_TEXT])
{
	srv_proxy_addr tmp;
	if (a == NULL)
		a = &tmp;
	srv_proxy_from_sockaddr(sa, a);
	srv_proxy_text(a, text);
	return s->proxies.n > 0 && srv_proxy_trusted(&s->proxies, a);
}

/* MHD's header iterator: keeps the values of the last SRV_PROXY_MAX_HOPS
 * X-Forwarded-For headers (a walk reads no further), in a ring. */
typedef struct srv_xff {
	const char *vals[SRV_PROXY_MAX_HOPS];
	size_t lens[SRV_PROXY_MAX_HOPS];
	size_t n;                       /* headers seen */
} srv_xff;

static enum MHD_Result
srv_xff_add(void *cls, enum MHD_ValueKind kind, const char *key, size_t key_size,
    const char *value, size_t value_size)
{
	(void)kind;
	srv_xff *x = cls;
	static const char name[] = "x-forwarded-for";
	if (key_size != sizeof(name) - 1 || strncasecmp(key, name, key_size) != 0 || value == NULL)
		return MHD_YES;
	x->vals[x->n % SRV_PROXY_MAX_HOPS] = value;
	x->lens[x->n % SRV_PROXY_MAX_HOPS] = value_size;
	x->n++;
	return MHD_YES;
}

/* Names r's client: the peer, or, when the peer is a trusted proxy, the
 * client its X-Forwarded-For headers name (srv_proxy_client).  The peer
 * comes from the connection's watch record sc when there is one. */
static void
srv_client_of(srv_server *s, struct MHD_Connection *c, srv_conn *sc, srv_req *r)
{
	srv_proxy_addr peer;
	if (sc != NULL) {
		peer = sc->peer;
		r->via_proxy = sc->peer_trusted;
		if (!r->via_proxy) {
			memcpy(r->client, sc->peer_text, sizeof(r->client));
			return;
		}
	} else {
		const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c,
		    MHD_CONNECTION_INFO_CLIENT_ADDRESS);
		r->via_proxy = srv_peer_of(s, ci ? ci->client_addr : NULL, &peer, r->client);
		if (!r->via_proxy)
			return;
	}
	srv_xff x;
	x.n = 0;
	MHD_get_connection_values_n(c, MHD_HEADER_KIND, srv_xff_add, &x);
	/* the ring in arrival order */
	const char *vals[SRV_PROXY_MAX_HOPS];
	size_t lens[SRV_PROXY_MAX_HOPS];
	size_t n = x.n < SRV_PROXY_MAX_HOPS ? x.n : SRV_PROXY_MAX_HOPS;
	for (size_t i = 0; i < n; i++) {
		size_t k = (x.n - n + i) % SRV_PROXY_MAX_HOPS;
		vals[i] = x.vals[k];
		lens[i] = x.lens[k];
	}
	srv_proxy_addr client = srv_proxy_client(&s->proxies, &peer, vals, lens, n);
	srv_proxy_text(&client, r->client);
}

/* A request through a trusted proxy takes a per-client slot for r->client;
 * false (logged) when the client has none left. */
static bool
srv_client_take(srv_server *s, srv_req *r)
{
	pthread_mutex_lock(&s->conn_lock);
	r->client_counted = srv_peer_take(s, r->client);
	pthread_mutex_unlock(&s->conn_lock);
	if (!r->client_counted)
		srv_log(s, "request from %s through a trusted proxy refused: the per-client connection "
		    "limit (%llu) is reached", r->client, (unsigned long long)s->per_ip_cap);
	return r->client_counted;
}

static void
srv_client_give(srv_server *s, srv_req *r)
{
	if (!r->client_counted)
		return;
	pthread_mutex_lock(&s->conn_lock);
	srv_peer_give(s, r->client);
	pthread_mutex_unlock(&s->conn_lock);
	r->client_counted = false;
}

static enum MHD_Result
srv_accept(void *cls, const struct sockaddr *sa, socklen_t len)
{
	(void)len;
	srv_server *s = cls;
	if (srv_loop_self != NULL)
		srv_loop_self->accept_stalled = false; /* accept() works again */
	char addr[SRV_PROXY_TEXT];
	bool proxy = srv_peer_of(s, sa, NULL, addr);
	pthread_mutex_lock(&s->conn_lock);
	const char *why = NULL;
	uint64_t limit = 0;
	if (s->nconns >= s->cfg.max_connections) {
		why = "the connection limit";
		limit = s->cfg.max_connections;
	} else if (!proxy && !srv_peer_take(s, addr)) {
		why = "the per-client connection limit";
		limit = s->per_ip_cap;
	}
	if (why == NULL)
		s->nconns++;
	pthread_mutex_unlock(&s->conn_lock);
	if (why != NULL)
		srv_log(s, "connection from %s refused: %s (%llu) is reached", addr, why,
		    (unsigned long long)limit);
	return why == NULL ? MHD_YES : MHD_NO;
}

/* Starts watching a new connection of this thread's loop (see srv_conn):
 * its socket joins the loop's set for the peer's hang-up, once. */
static srv_conn *
srv_conn_watch(struct MHD_Connection *c)
{
	srv_loop *l = srv_loop_self;
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c,
	    MHD_CONNECTION_INFO_CONNECTION_FD);
	if (l == NULL || ci == NULL)
		return NULL;
	srv_conn *sc = gw_xcalloc(1, sizeof(*sc));
	sc->loop = l;
	sc->c = c;
	sc->fd = ci->connect_fd;
	const union MHD_ConnectionInfo *ai = MHD_get_connection_info(c,
	    MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	sc->peer_trusted = srv_peer_of(l->srv, ai ? ai->client_addr : NULL, &sc->peer, sc->peer_text);
	sc->since_ms = gw_clock_mono_ms();
	struct epoll_event ev = { .events = EPOLLRDHUP | EPOLLONESHOT, .data.ptr = sc };
	epoll_ctl(l->epfd, EPOLL_CTL_ADD, sc->fd, &ev);
	sc->next = l->conns;
	if (l->conns != NULL)
		l->conns->prev = sc;
	l->conns = sc;
	return sc;
}

static void
srv_conn_unwatch(srv_conn *sc)
{
	srv_loop *l = sc->loop;
	epoll_ctl(l->epfd, EPOLL_CTL_DEL, sc->fd, NULL);
	if (sc->prev != NULL)
		sc->prev->next = sc->next;
	else
		l->conns = sc->next;
	if (sc->next != NULL)
		sc->next->prev = sc->prev;
	free(sc);
}

/* Ends a connection MHD would keep: shut down, its socket reports a
 * hang-up to MHD's set, and MHD closes it on its next run. */
static void
srv_conn_drop(srv_conn *sc)
{
	shutdown(sc->fd, SHUT_RDWR);
}

/* The peer of sc hung up: a connection that waits for a request whose
 * bytes MHD has all read can never get one, so it ends now; one that is
 * serving a request is left to it (a half-closed client still gets its
 * answer). */
static void
srv_conn_hangup(srv_conn *sc)
{
	int unread = 0;
	if (!sc->in_request && !sc->upgraded && ioctl(sc->fd, FIONREAD, &unread) == 0 && unread == 0)
		srv_conn_drop(sc);
}

/* Every SRV_SWEEP_MS: ends connections that waited longer than the idle
 * timeout for a whole request (slow headers), and those whose peer hung up
 * once they have no request left to answer. */
static void
srv_loop_sweep(srv_loop *l, uint64_t now)
{
	uint64_t idle = l->srv->cfg.idle_timeout_ms;
	for (srv_conn *sc = l->conns; sc != NULL; sc = sc->next) {
		if (sc->in_request || sc->upgraded)
			continue;
		if (now - sc->since_ms >= idle)
			srv_conn_drop(sc);
		else if (sc->peer_gone)
			srv_conn_hangup(sc);
	}
}

static void
srv_conn_notify(void *cls, struct MHD_Connection *c, void **socket_ctx,
    enum MHD_ConnectionNotificationCode code)
{
	srv_server *s = cls;
	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		*socket_ctx = srv_conn_watch(c);
		return;
	}
	if (code != MHD_CONNECTION_NOTIFY_CLOSED)
		return;
	if (*socket_ctx != NULL) {
		srv_conn_unwatch(*socket_ctx);
		*socket_ctx = NULL;
	}
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	char addr[SRV_PROXY_TEXT];
	bool proxy = srv_peer_of(s, ci ? ci->client_addr : NULL, NULL, addr);
	pthread_mutex_lock(&s->conn_lock);
	if (!proxy)
		srv_peer_give(s, addr);
	if (s->nconns > 0)
		s->nconns--;
	pthread_mutex_unlock(&s->conn_lock);
}

/* ---- event loops ---------------------------------------------------------------- */

srv_loop *
srv_loop_current(void)
{
	return srv_loop_self;
}

static void
srv_loop_wake(srv_loop *l)
{
	gw_fs_eventfd_signal(l->wake_fd);
}

void
srv_loop_poke(srv_loop *l)
{
	srv_loop_wake(l);
}

void
srv_conn_upgraded(struct MHD_Connection *c)
{
	srv_conn *sc = srv_conn_of(c);
	if (sc != NULL)
		sc->upgraded = true;
}

void
srv_loop_resume(srv_loop *l, struct MHD_Connection *c)
{
	MHD_resume_connection(c);
	if (l == srv_loop_self)
		l->resumed++;
	else
		srv_loop_wake(l);
}

/* Puts MHD's epoll set into the loop's set (on) or takes it out. */
static void
srv_loop_mhd_watch(srv_loop *l, bool on)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = (uint64_t)l->mhd_fd };
	epoll_ctl(l->epfd, on ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, l->mhd_fd, &ev);
	l->mhd_paused = !on;
}

/* Bounds the next wait while accept() fails for want of descriptors.
 * MHD then takes the listen socket out of its set and puts it back only
 * inside an MHD_run after one of its connections was cleaned up; with no
 * connection left to wake the loop, an unbounded wait would never see a
 * client again.  So until an accept succeeds (srv_accept) the loop runs
 * MHD at least every SRV_ACCEPT_RETRY_MS.  A daemon that had no
 * connection when accept() failed keeps the listen socket in its set (MHD
 * busy-waits): its set is left out of the next wait, as nginx pauses
 * accepting after EMFILE, so the loop does not spin. */
static void
srv_loop_accept_wait(srv_loop *l, int *timeout)
{
	if (l->accept_failed) {
		l->accept_failed = false;
		l->accept_stalled = true;
		const union MHD_DaemonInfo *ci = MHD_get_daemon_info(l->daemon,
		    MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
		if (ci != NULL && ci->num_connections == 0 && !l->mhd_paused)
			srv_loop_mhd_watch(l, false);
	}
	if (l->accept_stalled && (*timeout < 0 || *timeout > SRV_ACCEPT_RETRY_MS))
		*timeout = SRV_ACCEPT_RETRY_MS;
}

/* One thread: MHD's epoll set, the engine's and a wake eventfd in one
 * epoll_wait; then MHD_run and an engine step.  A call started by a
 * handler on this thread runs and ends here, and the connection it
 * resumes is served by the MHD_run after the step, with no other thread
 * involved.  Everything that touches the daemon happens on this thread
 * (MHD's external polling mode is not thread-safe), quiescing included. */
static void *
srv_loop_main(void *arg)
{
	srv_loop *l = arg;
	srv_server *s = l->srv;
	srv_loop_self = l;
	pthread_setname_np(pthread_self(), "tau-http");
	for (;;) {
		if (atomic_load(&s->stopping) && !l->quiesced) {
			MHD_quiesce_daemon(l->daemon); /* srv_stop closes the listening sockets */
			l->quiesced = true;
			pthread_mutex_lock(&s->lock);
			s->loops_quiesced++;
			pthread_cond_broadcast(&s->cond);
			pthread_mutex_unlock(&s->lock);
		}
		if (atomic_load(&l->quit))
			break;
		int timeout = -1;
		MHD_UNSIGNED_LONG_LONG mt;
		if (MHD_get_timeout(l->daemon, &mt) == MHD_YES)
			timeout = mt > 60000 ? 60000 : (int)mt;
		srv_loop_accept_wait(l, &timeout);
		if (l->engine != NULL) {
			int et = gw_provider_engine_timeout(l->engine);
			if (et >= 0 && (timeout < 0 || et < timeout))
				timeout = et;
		}
		if (l->conns != NULL) {
			uint64_t now = gw_clock_mono_ms();
			if (now >= l->sweep_ms) {
				srv_loop_sweep(l, now);
				l->sweep_ms = now + SRV_SWEEP_MS;
			}
			int st = (int)(l->sweep_ms - now);
			if (timeout < 0 || st < timeout)
				timeout = st;
		}
		struct epoll_event ev[16];
		int n = epoll_wait(l->epfd, ev, 16, timeout);
		bool mhd = n <= 0, eng = n <= 0, hangups = false;
		if (l->mhd_paused) {
			srv_loop_mhd_watch(l, true);
			mhd = true;
		}
		for (int i = 0; i < n; i++) {
			if (ev[i].data.u64 == (uint64_t)l->wake_fd) {
				gw_fs_eventfd_drain(l->wake_fd);
				mhd = true; /* a resume from another thread */
				/* or a reload: the table this loop kept goes now,
				 * not at its next request (one atomic load) */
				if (s->router != NULL)
					srv_router_cache_sweep(s->router, &l->routes);
			} else if (l->engine &&
			    ev[i].data.u64 == (uint64_t)gw_provider_engine_fd(l->engine)) {
				eng = true;
			} else if (ev[i].data.u64 == (uint64_t)l->mhd_fd) {
				mhd = true;
			} else {
				/* reported once (EPOLLONESHOT); acted on after MHD
				 * has read what the peer sent before hanging up */
				((srv_conn *)ev[i].data.ptr)->peer_gone = true;
				hangups = true;
			}
		}
		if (mhd || hangups)
			MHD_run(l->daemon);
		if (hangups) {
			for (srv_conn *sc = l->conns; sc != NULL; sc = sc->next)
				if (sc->peer_gone)
					srv_conn_hangup(sc);
			MHD_run(l->daemon); /* close what was dropped */
		}
		if (l->engine != NULL && (eng || gw_provider_engine_timeout(l->engine) == 0)) {
			unsigned before = l->resumed;
			gw_provider_engine_step(l->engine);
			if (l->resumed != before)
				MHD_run(l->daemon); /* serve what the step's calls answered */
		}
	}
	return NULL;
}

static int
srv_loop_start(srv_loop *l)
{
	srv_server *s = l->srv;
	const union MHD_DaemonInfo *di = MHD_get_daemon_info(l->daemon, MHD_DAEMON_INFO_EPOLL_FD);
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	l->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (di == NULL || l->epfd < 0 || l->wake_fd < 0)
		return di != NULL && errno > 0 ? -errno : -EIO;
	/* routed calls run on it too, whatever --model is */
	if (!gw_provider_offline(s->provider) || s->router != NULL)
		l->engine = gw_provider_engine_new(s->provider);
	l->mhd_fd = di->epoll_fd;
	/* these are told apart from srv_conn pointers by value: no pointer is
	 * below the first page */
	int fds[3] = { di->epoll_fd, l->wake_fd, l->engine ? gw_provider_engine_fd(l->engine) : -1 };
	for (size_t i = 0; i < 3; i++) {
		struct epoll_event ev = { .events = EPOLLIN, .data.u64 = (uint64_t)fds[i] };
		if (fds[i] >= 0 && epoll_ctl(l->epfd, EPOLL_CTL_ADD, fds[i], &ev) != 0)
			return -errno;
	}
	if (pthread_create(&l->thread, NULL, srv_loop_main, l) != 0)
		return -EAGAIN;
	l->running = true;
	return 0;
}

/* Stops and joins every loop, then ends the engines' open calls and stops
 * the daemons, in that order (a call ending may still resume a connection). */
static void
srv_loops_stop(srv_server *s)
{
	for (size_t i = 0; i < s->nloops; i++) {
		srv_loop *l = &s->loops[i];
		if (l->running) {
			atomic_store(&l->quit, true);
			srv_loop_wake(l);
			pthread_join(l->thread, NULL);
			l->running = false;
		}
	}
	for (size_t i = 0; i < s->nloops; i++) {
		srv_loop *l = &s->loops[i];
		gw_provider_engine_free(l->engine);
		l->engine = NULL;
		if (s->router != NULL)
			srv_router_cache_drop(s->router, &l->routes);
		/* its thread is gone, so this thread may touch the daemon; a
		 * quiesced daemon leaves its listening socket to srv_free */
		if (!l->quiesced)
			MHD_quiesce_daemon(l->daemon);
		MHD_stop_daemon(l->daemon);
		l->daemon = NULL;
		if (l->epfd >= 0)
			close(l->epfd);
		if (l->wake_fd >= 0)
			close(l->wake_fd);
	}
	s->nloops = 0;
}

/* ---- lifecycle ------------------------------------------------------------------- */

/* Parses "a.b.c.d:port" or "[v6]:port" into ss.  0 or -EINVAL. */
static int
srv_parse_bind(const char *bind, struct sockaddr_storage *ss, socklen_t *len)
{
	memset(ss, 0, sizeof(*ss));
	char host[64];
	const char *colon;
	if (bind[0] == '[') {
		const char *close = strchr(bind, ']');
		if (close == NULL || close[1] != ':' || (size_t)(close - bind - 1) >= sizeof(host))
			return -EINVAL;
		memcpy(host, bind + 1, (size_t)(close - bind - 1));
		host[close - bind - 1] = '\0';
		colon = close + 1;
	} else {
		colon = strrchr(bind, ':');
		if (colon == NULL || (size_t)(colon - bind) >= sizeof(host))
			return -EINVAL;
		memcpy(host, bind, (size_t)(colon - bind));
		host[colon - bind] = '\0';
	}
	char *end;
	unsigned long port = strtoul(colon + 1, &end, 10);
	if (colon[1] == '\0' || *end != '\0' || port > 65535)
		return -EINVAL;
	struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;
	if (bind[0] != '[' && inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		v4->sin_port = htons((uint16_t)port);
		*len = sizeof(*v4);
		return 0;
	}
	if (bind[0] == '[' && inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*v6);
		return 0;
	}
	return -EINVAL;
}

/* A TCP socket for ss, bound and listening (reuseport: in a SO_REUSEPORT
 * group), or -errno. */
static int
srv_listen_one(const struct sockaddr_storage *ss, socklen_t len, bool reuseport)
{
	int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (reuseport)
		setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	if (ss->ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)ss, len) != 0 || listen(fd, 1024) != 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	return fd;
}

/* Closes the listening sockets. */
static void
srv_unlisten(srv_server *s)
{
	for (size_t i = 0; i < s->nlisten; i++)
		close(s->listen_fds[i]);
	s->nlisten = 0;
}

/* Creates n listening sockets on the configured address, one per loop;
 * fills s->bind with the actual address.  A plain socket is bound first
 * and closed: it fails, as a single socket would, when the port is taken
 * (a SO_REUSEPORT socket would join another process's group of the same
 * user instead), and for port 0 it names the port the group then takes
 * (should another process take that port in between, the group's bind
 * fails as a taken port does). */
static int
srv_listen(srv_server *s, unsigned n, gw_err *err)
{
	struct sockaddr_storage ss;
	socklen_t len;
	if (srv_parse_bind(s->cfg.bind, &ss, &len) != 0)
		return gw_err_set(err, -EINVAL, GW_EXIT_USAGE, "invalid gateway socket address '%s'",
		    s->cfg.bind);
	int fd = srv_listen_one(&ss, len, false);
	socklen_t glen = sizeof(ss);
	if (fd >= 0) {
		getsockname(fd, (struct sockaddr *)&ss, &glen); /* the port, if it was 0 */
		close(fd);
		for (unsigned i = 0; i < n && fd >= 0; i++)
			if ((fd = srv_listen_one(&ss, glen, true)) >= 0)
				s->listen_fds[s->nlisten++] = fd;
	}
	if (fd < 0) {
		srv_unlisten(s);
		return gw_err_set(err, fd, GW_EXIT_UNAVAILABLE,
		    "failed to bind gateway openresponses server on %s: %s", s->cfg.bind, strerror(-fd));
	}
	char ip[INET6_ADDRSTRLEN] = "";
	if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;
		inet_ntop(AF_INET6, &v6->sin6_addr, ip, sizeof(ip));
		snprintf(s->bind, sizeof(s->bind), "[%s]:%u", ip, ntohs(v6->sin6_port));
	} else {
		struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
		inet_ntop(AF_INET, &v4->sin_addr, ip, sizeof(ip));
		snprintf(s->bind, sizeof(s->bind), "%s:%u", ip, ntohs(v4->sin_port));
	}
	return 0;
}

static void
srv_upstream_attempt(void *ctx, unsigned status)
{
	srv_server *s = ctx;
	srv_metrics_upstream(&s->metrics, status);
}

static void
srv_provider_log(void *ctx, const char *line)
{
	srv_log(ctx, "%s", line);
}

static void
srv_free(srv_server *s)
{
	srv_unlisten(s);
	if (s->event_fd >= 0)
		close(s->event_fd);
	srv_fleet_close(s->fleet);
	gw_provider_free(s->provider);
	srv_router_free(s->router);
	srv_workq_free(s->workq);
	srv_ws_free(s->ws);
	srv_evlog_free(s->evlog); /* after every thread that posts to it */
	srv_respconn_free(s->respconn); /* after the threads that used it ended */
	gw_respcache_free(s->respcache);
	srv_keygate_free(s->keygate);
	srv_metrics_destroy(&s->metrics);
	gw_buf_free(&s->status_service);
	gw_buf_free(&s->status_gateway);
	pthread_mutex_destroy(&s->status_lock);
	pthread_mutex_destroy(&s->conn_lock);
	gw_strmap_free(s->peer_index);
	for (srv_peer *pe = s->peers, *next; pe != NULL; pe = next) {
		next = pe->next;
		free(pe);
	}
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->cond);
	free(s->csp);
	gw_lock_release(&s->run);
	free(s);
}

/* The /gateway/status "gateway" block, key-sorted; where names the
 * state: "state_dir" (a directory) or "state_store" (fleet mode). */
static void
srv_gateway_block(srv_server *s, const char *where, const char *place)
{
	gw_buf_reset(&s->status_gateway);
	gw_jw w;
	gw_jw_init(&w, &s->status_gateway, false);
	gw_jw_obj_begin(&w);
	gw_jw_kstr(&w, "healthz_endpoint", "/healthz");
	gw_jw_kstr(&w, "metrics_endpoint", "/metrics");
	gw_jw_kstr(&w, "model", s->cfg.provider.model ? s->cfg.provider.model : "local/echo");
	gw_jw_kstr(&w, "responses_endpoint", "/v1/responses");
	gw_jw_kstr(&w, where, place);
	gw_jw_kstr(&w, "status_endpoint", "/gateway/status");
	gw_jw_kstr(&w, "webchat_endpoint", "/webchat");
	gw_jw_obj_end(&w);
}

static srv_server *
srv_new(const srv_config *cfg)
{
	srv_server *s = gw_xcalloc(1, sizeof(*s));
	s->cfg = *cfg;
	s->body_limit = s->cfg.max_input_chars * 8;
	s->run.fd = -1;
	s->event_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	srv_metrics_init(&s->metrics);
	pthread_mutex_init(&s->status_lock, NULL);
	pthread_mutex_init(&s->conn_lock, NULL);
	s->peer_index = gw_strmap_new(64);
	pthread_mutex_init(&s->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->cond, &ca);
	pthread_condattr_destroy(&ca);
	s->csp = srv_webchat_csp();
	srv_token_init(s);
	srv_gateway_block(s, "state_dir", cfg->state_dir);
	return s;
}

/* Emits a service status line: stdout in the foreground, else the log. */
static void
srv_say_report(srv_server *s, bool foreground, const gw_service_report *rep)
{
	gw_buf b = GW_BUF_INIT;
	gw_service_report_text(rep, &b);
	if (foreground) {
		printf("%s\n", b.data);
		fflush(stdout);
	} else {
		srv_log(s, "%s", b.data);
	}
	gw_buf_free(&b);
}

/* Records a start that failed with err (the service is not running) and
 * says so as a start would; err is left as it is. */
static void
srv_record_startup_failure(srv_server *s, bool foreground, const gw_err *err)
{
	gw_service_report rep;
	gw_err ferr;
	gw_err_clear(&ferr);
	if (s->fleet != NULL ? srv_fleet_startup_failed(s->fleet, err->msg, &rep, &ferr) == 0 :
	    gw_service_run_failed(s->cfg.state_dir, &s->run, err->msg, &rep, &ferr) == 0)
		srv_say_report(s, foreground, &rep);
}

/* Raises the soft RLIMIT_NOFILE to the hard limit, then refuses (usage,
 * nothing recorded) a connection cap whose descriptors do not fit under
 * it: each connection may hold its socket and one more (a file, an
 * upstream socket), and the server itself needs SRV_FD_BASE plus
 * SRV_FD_PER_LOOP for each event loop.  The per-address cap is bounded by
 * the total cap, so the total is what must fit. */
static int
srv_fd_check(const srv_config *cfg, unsigned nloops, gw_err *err)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return 0;
	if (rl.rlim_cur != RLIM_INFINITY && (rl.rlim_max == RLIM_INFINITY || rl.rlim_cur < rl.rlim_max)) {
		struct rlimit up = rl;
		up.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &up) == 0)
			rl = up;
	}
	if (rl.rlim_cur == RLIM_INFINITY)
		return 0;
	uint64_t need = 2 * cfg->max_connections + SRV_FD_BASE + (uint64_t)SRV_FD_PER_LOOP * nloops;
	if (need <= rl.rlim_cur)
		return 0;
	return gw_err_set(err, -EMFILE, GW_EXIT_USAGE,
	    "--gateway-openresponses-max-connections %llu needs %llu descriptors, more than the "
	    "limit of %llu (RLIMIT_NOFILE); lower the cap or raise the limit",
	    (unsigned long long)cfg->max_connections, (unsigned long long)need,
	    (unsigned long long)rl.rlim_cur);
}

/* The event writer's failures go to the server log. */
static void
srv_evlog_said(void *ctx, const char *msg, size_t nlines)
{
	srv_log(ctx, "cannot record %zu event line(s): %s", nlines, msg);
}


static int
srv_start_internal(const srv_config *cfg, bool foreground, srv_server **out, gw_err *err)
{
	*out = NULL;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned pool = ncpu < 1 ? 1 : ncpu > SRV_LOOPS_MAX ? SRV_LOOPS_MAX : (unsigned)ncpu;
	int rc = srv_fd_check(cfg, pool, err);
	if (rc != 0)
		return rc; /* before anything is recorded */
	srv_proxy_list proxies;
	gw_buf why = GW_BUF_INIT;
	if (srv_proxy_parse_list(cfg->trusted_proxies, &proxies, &why) != 0) {
		rc = gw_err_set(err, -EINVAL, GW_EXIT_USAGE, "--gateway-openresponses-trusted-proxies: %s",
		    gw_buf_cstr(&why));
		gw_buf_free(&why);
		return rc; /* as a bad cap: before anything is recorded */
	}
	gw_buf_free(&why);
	gw_provider_global_init(); /* before any thread starts */
	srv_server *s = srv_new(cfg);
	s->proxies = proxies;
	if (cfg->routes_file != NULL) {
		/* validated in full (and every target's provider made) before
		 * anything is recorded, as a bad flag is */
		gw_provider_config base = s->cfg.provider;
		base.attempt = srv_upstream_attempt;
		base.log = srv_provider_log;
		base.ctx = s;
		if ((rc = srv_router_new(cfg->routes_file, &base, &s->router, err)) != 0) {
			srv_free(s);
			return rc;
		}
	}
	s->per_ip_cap = cfg->max_connections_per_ip == 0 ||
	    cfg->max_connections_per_ip > cfg->max_connections ? cfg->max_connections :
	    cfg->max_connections_per_ip;
	gw_service_report rep;
	if (cfg->state_url != NULL) {
		/* fleet mode: nothing on files (no run marker); the start is
		 * recorded in the database, and the sweeps run there */
		s->keygate = srv_keygate_new();
		rc = srv_fleet_open(s, cfg->state_url, cfg->deployment, &rep, &s->fleet, err);
		if (rc == 0)
			srv_gateway_block(s, "state_store", srv_fleet_label(s->fleet));
	} else {
		rc = gw_service_run_start(s->cfg.state_dir, &s->run, &rep, err);
	}
	if (rc != 0) {
		srv_free(s);
		return rc;
	}
	srv_say_report(s, foreground, &rep);
	gw_provider_config pc = s->cfg.provider;
	pc.attempt = srv_upstream_attempt;
	pc.log = srv_provider_log;
	pc.ctx = s;
	rc = gw_provider_new(&pc, &s->provider, err);
	if (rc == 0)
		rc = srv_listen(s, pool, err);
	if (rc == 0 && s->fleet == NULL) {
		/* sessions and stored responses live here; create them once */
		rc = gw_fs_mkdirs_under(s->cfg.state_dir, "openresponses/responses", NULL, err);
	}
	if (rc == 0 && s->fleet != NULL)
		rc = srv_fleet_run(s->fleet, err); /* registers under the bound address */
	if (rc == 0) /* stored responses: files, or a connection per worker */
		rc = srv_respconn_new(s->cfg.state_dir, cfg->state_url, cfg->deployment, &s->respconn,
		    err);
	if (rc == 0)
		s->respcache = gw_respcache_new(SRV_RESPCACHE_BYTES);
	if (rc != 0) {
		srv_record_startup_failure(s, foreground, err);
		if (err->exit_code == 0 || rc == -EADDRINUSE || rc == -EACCES || rc == -EADDRNOTAVAIL)
			err->exit_code = GW_EXIT_UNAVAILABLE;
		srv_free(s);
		return rc;
	}
	unsigned idle_s = (unsigned)((s->cfg.idle_timeout_ms + 999) / 1000);
	s->workq = srv_workq_new(s->cfg.max_connections);
	s->started_mono_ms = gw_clock_mono_ms(); /* before MHD threads can read it */
	s->started_unix = (uint64_t)time(NULL);
	/* server threads never take the process's signals */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	if (s->fleet == NULL && (rc = srv_evlog_new(s->cfg.state_dir, srv_evlog_said, s, &s->evlog)) != 0)
		srv_log(s, "cannot start the event writer (%s): routes reloads and upstream failures "
		    "go to this log only", strerror(-rc));
	rc = srv_api_start(s);
	if (rc == 0) /* before the loops: an upgrade needs a thread to go to */
		rc = srv_ws_start(s, pool, &s->ws);
	for (unsigned i = 0; rc == 0 && i < pool; i++) {
		srv_loop *l = &s->loops[s->nloops];
		l->srv = s;
		l->epfd = l->wake_fd = -1;
		errno = 0; /* MHD does not always say why it failed */
		l->daemon = MHD_start_daemon(MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
		    MHD_ALLOW_UPGRADE | MHD_USE_ERROR_LOG, 0, srv_accept, s, srv_access, s,
		    MHD_OPTION_EXTERNAL_LOGGER, srv_mhd_log, s,
		    MHD_OPTION_LISTEN_SOCKET, s->listen_fds[i],
		    MHD_OPTION_CONNECTION_LIMIT, (unsigned)s->cfg.max_connections + SRV_MHD_LIMIT_MARGIN,
		    MHD_OPTION_NOTIFY_CONNECTION, srv_conn_notify, s,
		    MHD_OPTION_CONNECTION_TIMEOUT, idle_s,
		    MHD_OPTION_CONNECTION_MEMORY_LIMIT, SRV_CONN_MEMORY,
		    MHD_OPTION_NOTIFY_COMPLETED, srv_completed, s,
		    MHD_OPTION_UNESCAPE_CALLBACK, srv_unescape, NULL,
		    MHD_OPTION_URI_LOG_CALLBACK, srv_uri_log, s,
		    MHD_OPTION_END);
		if (l->daemon == NULL) {
			rc = errno > 0 ? -errno : -EIO;
			break;
		}
		s->nloops++;
		rc = srv_loop_start(l);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		/* recorded like a bind failure: the service is not running */
		gw_err_set(err, rc, GW_EXIT_UNAVAILABLE,
		    "failed to start gateway openresponses server on %s: %s", s->bind, strerror(-rc));
		srv_loops_stop(s);
		srv_api_shutdown(s, 0);
		srv_ws_shutdown(s->ws, 0);
		/* the record needs descriptors (lock, state file) that a failure
		 * to get one may have used up: give the listen socket back first,
		 * as a failed bind holds none */
		srv_unlisten(s);
		srv_record_startup_failure(s, foreground, err);
		srv_free(s);
		return rc;
	}
	const char *where = s->fleet != NULL ? "state_store" : "state_dir";
	const char *place = s->fleet != NULL ? srv_fleet_label(s->fleet) : s->cfg.state_dir;
	if (foreground) {
		printf("gateway openresponses server listening: endpoint=/v1/responses addr=%s %s=%s\n",
		    s->bind, where, place);
		fflush(stdout);
	} else {
		srv_log(s, "gateway openresponses server listening: endpoint=/v1/responses addr=%s %s=%s",
		    s->bind, where, place);
	}
	*out = s;
	return 0;
}

int
srv_start(const srv_config *cfg, srv_server **out, gw_err *err)
{
	return srv_start_internal(cfg, false, out, err);
}

static void
srv_stop_internal(srv_server *s, bool foreground)
{
	if (s == NULL)
		return;
	atomic_store(&s->stopping, true);
	/* stop accepting; then end streams and wait a bounded time */
	/* each loop quiesces its own daemon when it sees stopping; once all
	 * have, the listen socket is closed, so new clients are refused */
	for (size_t i = 0; i < s->nloops; i++)
		srv_loop_wake(&s->loops[i]);
	pthread_mutex_lock(&s->lock);
	while (s->loops_quiesced < s->nloops)
		pthread_cond_wait(&s->cond, &s->lock);
	pthread_mutex_unlock(&s->lock);
	srv_unlisten(s);
	srv_api_shutdown(s, SRV_SHUTDOWN_WAIT_MS);
	/* WebSockets: the terminal events the shutdown produced, then a close
	 * frame each; their connections go back to the loops, still running */
	srv_ws_shutdown(s->ws, SRV_WS_SHUTDOWN_WAIT_MS);
	srv_loops_stop(s);
	srv_workq_free(s->workq);
	s->workq = NULL;
	/* the queued event lines are written before the stop is recorded */
	srv_evlog_free(s->evlog);
	s->evlog = NULL;
	gw_service_report rep;
	gw_err err;
	gw_err_clear(&err);
	if (s->fleet != NULL ? srv_fleet_stop(s->fleet, SRV_STOP_REASON, &rep, &err) == 0 :
	    gw_service_run_stop(s->cfg.state_dir, &s->run, SRV_STOP_REASON, &rep, &err) == 0)
		srv_say_report(s, foreground, &rep);
	else
		srv_log(s, "cannot record the service stop: %s", err.msg);
	srv_free(s);
}

void
srv_stop(srv_server *s)
{
	srv_stop_internal(s, false);
}

void
srv_get_stats(srv_server *s, srv_stats *out)
{
	memset(out, 0, sizeof(*out));
	atomic_store(&s->notify_pending, false);
	snprintf(out->bind, sizeof(out->bind), "%s", s->bind);
	out->uptime_ms = gw_clock_mono_ms() - s->started_mono_ms;
	srv_metrics_stats(&s->metrics, out);
	snprintf(out->model, sizeof(out->model), "%s", s->cfg.provider.model ? s->cfg.provider.model : "");
	if (s->router != NULL)
		srv_router_lines(s->router, out->route_lines, SRV_ROUTE_LINES, &out->nroute_lines,
		    &out->ntargets);
}

int
srv_routes_reload(srv_server *s, gw_err *err)
{
	if (s->router == NULL)
		return gw_err_set(err, -ENOENT, GW_EXIT_USAGE,
		    "no routes file to reload (start the server with --gateway-routes)");
	int rc = srv_router_reload(s->router, err);
	const char *path = srv_router_path(s->router);
	if (rc == 0) {
		srv_notice(s, "routes reloaded from %s", path);
		/* each loop lets go of the table it kept (srv_loop_main) */
		for (size_t i = 0; i < s->nloops; i++)
			srv_loop_wake(&s->loops[i]);
	} else
		srv_log(s, "routes reload refused, the old routes keep serving: %s", err->msg);
	/* the event log records each reload and its outcome */
	gw_buf line = GW_BUF_INIT;
	gw_jw w;
	srv_event_begin(&w, &line, "lifecycle");
	gw_jw_kstr(&w, "transition", "routes_reload");
	gw_jw_kstr(&w, "outcome", rc == 0 ? "applied" : "refused");
	gw_jw_kstr(&w, "reason", rc == 0 ? "" : err->msg);
	gw_jw_kstr(&w, "routes_file", path);
	srv_event_end(s, &w, &line, "the routes reload", false);
	srv_notify(s);
	return rc;
}

void
srv_event_begin(gw_jw *w, gw_buf *line, const char *kind)
{
	gw_jw_init(w, line, false);
	gw_jw_obj_begin(w);
	gw_jw_ku64(w, "timestamp_unix_ms", gw_clock_unix_ms());
	gw_jw_kstr(w, "kind", kind);
}

void
srv_event_end(srv_server *s, gw_jw *w, gw_buf *line, const char *what, bool limited)
{
	gw_jw_obj_end(w);
	/* fleet mode: the server log only; the event rows are written in
	 * transactions.  A rate-limited line turned away is counted by the
	 * writer, which says so in the log itself. */
	if (s->evlog != NULL)
		srv_evlog_post(s->evlog, line->data, line->len, limited);
	else if (s->fleet == NULL)
		srv_log(s, "cannot record %s: the event writer is not running", what);
	gw_buf_free(line);
}


int
srv_event_fd(srv_server *s)
{
	return s->event_fd;
}

int
srv_run_foreground(const srv_config *cfg, gw_err *err)
{
	/* SIGINT/SIGTERM are taken synchronously below; every thread started
	 * from here on inherits the blocked mask */
	sigset_t set, old;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	if (cfg->routes_file != NULL) /* without routes SIGHUP keeps its default */
		sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, &old);
	signal(SIGPIPE, SIG_IGN);
	srv_server *s;
	int rc = srv_start_internal(cfg, true, &s, err);
	if (rc != 0) {
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		return gw_err_exit(err);
	}
	/* under systemd (Type=notify): ready once bound, watchdog pings while
	 * waiting, stopping when a signal ends it */
	srv_sdnotify sd;
	srv_sdnotify_open(&sd);
	if (sd.error[0] != '\0')
		srv_log(s, "%s; not notifying the service manager", sd.error);
	gw_buf st = GW_BUF_INIT;
	gw_buf_printf(&st, "READY=1\nSTATUS=listening on %s", s->bind);
	srv_sdnotify_send(&sd, gw_buf_cstr(&st));
	gw_buf_free(&st);
	int sig;
	while ((sig = srv_sdnotify_wait_signal(&sd, &set)) == SIGHUP) {
		srv_sdnotify_send(&sd, "RELOADING=1");
		gw_err rerr;
		gw_err_clear(&rerr);
		srv_routes_reload(s, &rerr);
		srv_sdnotify_send(&sd, "READY=1");
	}
	srv_sdnotify_send(&sd, "STOPPING=1");
	srv_notice(s, "received %s; shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
	srv_stop_internal(s, true);
	srv_sdnotify_close(&sd);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return GW_EXIT_OK;
}

void
srv_libraries(gw_buf *out)
{
	gw_buf_printf(out, "  libmicrohttpd %s\n", MHD_get_version());
}
