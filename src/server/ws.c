/*
 * ws.c - Open Responses over WebSocket (GET /v1/responses, RFC 6455).
 *
 * The handshake is libmicrohttpd's: srv_ws_upgrade checks the request
 * (Upgrade: websocket, Connection: upgrade, version 13, a 16-byte key) and
 * queues a 101 with Sec-WebSocket-Accept (SHA-1 of the key and RFC 6455's
 * GUID, base64); the bearer token was checked on the request's first call,
 * before any of this, and the connection holds its cap slot until MHD
 * closes it.  MHD then calls srv_ws_upgraded on its loop thread with the
 * socket, which goes to one of the WebSocket threads (tau-ws, round
 * robin).  Each thread epolls its sockets, an eventfd and a 250 ms tick;
 * wslay (nghttp2's framing library) reads and writes the frames, answers
 * pings and makes the close handshake.
 *
 * A text message is a response.create: checked (type, no stream,
 * stream_options or background), parsed as a POST body, and run as a
 * streamed job of api.c (srv_api_turn_start), one at a time per socket, in
 * arrival order.  The job hands each SSE frame to srv_ws_turn_frame and its
 * end to srv_ws_turn_done, from whichever thread runs it (inline on this
 * thread for local/echo, else a worker); they queue under the socket's lock
 * and poke the thread, which sends the frame's JSON as one text message.
 * The socket remembers its latest response (context and output, its id,
 * store and session key) for previous_response_id; a continuation takes
 * that memory into its job, so a failed continuation has evicted it, and a
 * success replaces it.  Age (--gateway-openresponses-ws-max-age-ms), idle
 * time (the idle timeout, with no turn in flight) and shutdown end a
 * socket with a close frame; a peer that goes away cancels its turn.
 *
 * Hostile peers: what waits for a peer (wslay's message queue, which has
 * no bound of its own, and the frames not yet sent) is bounded by not
 * reading the socket past SRV_WS_BACKLOG_MAX, so a client that sends and
 * never reads (each ping queues a pong, each bad message an envelope)
 * holds at most about that much; one pass reads at most SRV_WS_READ_MAX.
 * The waiting response.creates are bounded by count and bytes, the
 * memory as a session's history (gw_resp_items_bound).  wslay fails bad
 * frames, invalid UTF-8 and oversize messages itself (1002, 1007, 1009);
 * the socket is then closing.
 */
#include "server/ws.h"
#include "core/base/clock.h"
#include "core/base/fs.h"
#include "core/base/hash.h"
#include "core/base/json.h"
#include "core/base/mem.h"
#include "core/base/sha1.h"
#include "core/openresponses/session.h"
#include "server/api.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <wslay/wslay.h>

#define SRV_WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define SRV_WS_TICK_MS 250
#define SRV_WS_CLOSE_WAIT_MS 2000 /* for the peer's close frame after ours */
/* response.creates waiting behind the turn in flight, and their bytes (in
 * request bodies: 8 x --gateway-openresponses-max-input-chars); more are
 * refused */
#define SRV_WS_QUEUE_MAX 64
#define SRV_WS_QUEUE_BODIES 2
/* framed bytes held for one send(); past this wslay waits (backpressure) */
#define SRV_WS_WBUF_MAX ((size_t)256 * 1024)
/* output waiting for a peer (wslay's queued messages and the unsent
 * frames): past either bound the socket is not read until it drains, so a
 * peer that sends and never reads (pings, bad messages: each queues an
 * answer) cannot grow the server's memory */
#define SRV_WS_BACKLOG_MAX ((size_t)1024 * 1024)
#define SRV_WS_BACKLOG_MSGS 1024
/* bytes one pump reads, so one socket cannot hold its thread */
#define SRV_WS_READ_MAX ((size_t)256 * 1024)

enum { SRV_WS_FRAME, SRV_WS_DONE };

/* What a turn hands its socket, from any thread (under the socket's lock). */
typedef struct srv_ws_out {
	struct srv_ws_out *next;
	int kind;
	bool failed;
	gw_resp_error e;
	char id[48];
	char key[GW_SESSION_KEY_MAX + 1];
	cJSON *mem;
	size_t len;
	char data[];
} srv_ws_out;

/* A response.create waiting for the turn before it. */
typedef struct srv_ws_msg {
	struct srv_ws_msg *next;
	size_t len;
	char data[];
} srv_ws_msg;

struct srv_ws_thread;

typedef struct srv_ws_conn {
	struct srv_ws_thread *t;
	int fd;
	struct MHD_UpgradeResponseHandle *urh;
	srv_loop *mloop;                /* the event loop whose daemon owns the connection */
	wslay_event_context_ptr ctx;
	char *extra;                    /* bytes MHD read past the handshake */
	gw_buf wbuf;                    /* framed bytes not yet sent, from wbuf_off */
	size_t wbuf_off;
	size_t nextra, extra_off;
	uint64_t opened_ms, active_ms, close_ms;
	/* thread only */
	srv_ws_msg *in_head, *in_tail;
	size_t in_count, in_bytes;
	size_t nread;                   /* bytes this pump read (SRV_WS_READ_MAX) */
	struct srv_job *turn;           /* in flight, or NULL */
	bool turn_store;
	bool dead;                      /* EOF or an error: no more reads or writes */
	bool peer_closed;               /* the peer's close frame came (wslay answers it) */
	bool closing;                   /* closing: no more turns start */
	bool close_pending;             /* our close frame waits for the messages before it */
	uint16_t close_code;
	const char *close_reason;
	bool limit;                     /* the age limit was reached */
	bool watched;                   /* in the thread's epoll set */
	uint32_t events;
	/* the connection-local memory: the latest response of this socket */
	char mem_id[48];
	char mem_key[GW_SESSION_KEY_MAX + 1];
	cJSON *mem;
	bool mem_stored;
	/* from the turn's thread, under lock */
	pthread_mutex_t lock;
	srv_ws_out *out_head, *out_tail;
	bool in_ready;
	struct srv_ws_conn *ready_next;
	struct srv_ws_conn *prev, *next;
} srv_ws_conn;

typedef struct srv_ws_thread {
	struct srv_ws *w;
	pthread_t th;
	bool running;
	int epfd, wake_fd;
	pthread_mutex_t lock;           /* ready, adopt, quit */
	srv_ws_conn *ready;             /* sockets with queued output */
	srv_ws_conn *adopt;             /* sockets MHD handed over, not yet watched */
	bool quit;
	uint64_t quit_deadline_ms;
	srv_ws_conn *conns;             /* thread only */
} srv_ws_thread;

struct srv_ws {
	srv_server *s;
	srv_ws_thread *t;
	size_t n;
	atomic_size_t next;
};

static _Thread_local srv_ws_thread *srv_ws_self;

/* ---- handshake ------------------------------------------------------------------- */

/* True when the comma-separated header value v lists token (any case). */
static bool
srv_ws_has_token(const char *v, const char *token)
{
	size_t tn = strlen(token);
	while (v != NULL && *v != '\0') {
		while (*v == ' ' || *v == '\t' || *v == ',')
			v++;
		const char *end = v;
		while (*end != '\0' && *end != ',')
			end++;
		const char *e = end;
		while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		if ((size_t)(e - v) == tn && strncasecmp(v, token, tn) == 0)
			return true;
		v = end;
	}
	return false;
}

/* A Sec-WebSocket-Key: base64 of 16 bytes (24 characters, "==" at the end). */
static bool
srv_ws_key_ok(const char *k)
{
	if (k == NULL || strlen(k) != 24 || strcmp(k + 22, "==") != 0)
		return false;
	for (int i = 0; i < 22; i++)
		if (!isalnum((unsigned char)k[i]) && k[i] != '+' && k[i] != '/')
			return false;
	return true;
}

static void srv_ws_upgraded(void *cls, struct MHD_Connection *c, void *con_cls, const char *extra,
    size_t nextra, MHD_socket sock, struct MHD_UpgradeResponseHandle *urh);

enum MHD_Result
srv_ws_upgrade(struct MHD_Connection *c, srv_req *r)
{
	srv_server *s = r->srv;
	const char *up = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_UPGRADE);
	const char *conn = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_CONNECTION);
	const char *ver = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Sec-WebSocket-Version");
	const char *key = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Sec-WebSocket-Key");
	gw_resp_error e;
	if (!srv_ws_has_token(up, "websocket") || !srv_ws_has_token(conn, "upgrade") ||
	    ver == NULL || strcmp(ver, "13") != 0 || s->ws == NULL) {
		gw_resp_error_set(&e, 426, "upgrade_required", NULL,
		    "GET /v1/responses is the WebSocket transport: send Upgrade: websocket, "
		    "Connection: Upgrade and Sec-WebSocket-Version: 13 (POST creates a response)");
		gw_buf b = GW_BUF_INIT;
		gw_resp_error_json(&e, &b);
		struct MHD_Response *resp = MHD_create_response_from_buffer(b.len, b.data,
		    MHD_RESPMEM_MUST_COPY);
		gw_buf_free(&b);
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
		MHD_add_response_header(resp, MHD_HTTP_HEADER_UPGRADE, "websocket");
		MHD_add_response_header(resp, "Sec-WebSocket-Version", "13");
		r->status = 426;
		enum MHD_Result ret = MHD_queue_response(c, 426, resp);
		MHD_destroy_response(resp);
		return ret;
	}
	if (!srv_ws_key_ok(key)) {
		gw_resp_error_set(&e, 400, "invalid_value", "Sec-WebSocket-Key",
		    "Sec-WebSocket-Key must be the base64 of 16 bytes");
		return srv_reply_error(c, r, &e);
	}
	char in[24 + sizeof(SRV_WS_GUID)];
	snprintf(in, sizeof(in), "%s%s", key, SRV_WS_GUID);
	uint8_t d[GW_SHA1_LEN];
	gw_sha1(in, strlen(in), d);
	gw_buf acc = GW_BUF_INIT;
	gw_hash_base64(&acc, d, sizeof(d));
	struct MHD_Response *resp = MHD_create_response_for_upgrade(srv_ws_upgraded, s->ws);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_UPGRADE, "websocket");
	MHD_add_response_header(resp, "Sec-WebSocket-Accept", gw_buf_cstr(&acc));
	gw_buf_free(&acc);
	r->status = 101;
	r->upgraded_ns = gw_clock_mono_ns(); /* the latency figures: the handshake, not the socket's life */
	enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_SWITCHING_PROTOCOLS, resp);
	MHD_destroy_response(resp);
	return ret;
}

static void
srv_ws_poke(srv_ws_thread *t)
{
	gw_fs_eventfd_signal(t->wake_fd);
}

/* MHD's upgrade handler, on the event loop's thread: the socket goes to a
 * WebSocket thread. */
static void
srv_ws_upgraded(void *cls, struct MHD_Connection *c, void *con_cls, const char *extra,
    size_t nextra, MHD_socket sock, struct MHD_UpgradeResponseHandle *urh)
{
	(void)con_cls;
	srv_ws *w = cls;
	srv_conn_upgraded(c);
	srv_ws_conn *wc = gw_xcalloc(1, sizeof(*wc));
	wc->fd = sock;
	wc->urh = urh;
	wc->mloop = srv_loop_current();
	if (nextra > 0) {
		wc->extra = gw_xmalloc(nextra);
		memcpy(wc->extra, extra, nextra);
		wc->nextra = nextra;
	}
	wc->opened_ms = wc->active_ms = gw_clock_mono_ms();
	pthread_mutex_init(&wc->lock, NULL);
	srv_ws_thread *t = &w->t[atomic_fetch_add(&w->next, 1) % w->n];
	wc->t = t;
	atomic_fetch_add(&w->s->metrics.ws_open, 1);
	pthread_mutex_lock(&t->lock);
	wc->next = t->adopt;
	t->adopt = wc;
	pthread_mutex_unlock(&t->lock);
	srv_ws_poke(t);
	srv_notify(w->s);
}

/* ---- turns: from whichever thread runs them ------------------------------------- */

static void
srv_ws_queue(srv_ws_conn *wc, srv_ws_out *o)
{
	srv_ws_thread *t = wc->t;
	bool poke = false;
	pthread_mutex_lock(&wc->lock);
	if (wc->out_tail)
		wc->out_tail->next = o;
	else
		wc->out_head = o;
	wc->out_tail = o;
	if (!wc->in_ready) {
		wc->in_ready = true;
		pthread_mutex_lock(&t->lock);
		wc->ready_next = t->ready;
		t->ready = wc;
		pthread_mutex_unlock(&t->lock);
		poke = srv_ws_self != t; /* an inline turn: this thread drains it next */
	}
	pthread_mutex_unlock(&wc->lock);
	if (poke)
		srv_ws_poke(t);
}

/* An SSE frame: its data line (the event's JSON) becomes the message. */
static void
srv_ws_turn_frame(void *ctx, const char *frame, size_t n)
{
	const char *p = memmem(frame, n, "\ndata: ", 7);
	if (p == NULL)
		return;
	p += 7;
	size_t len = (size_t)(frame + n - p);
	while (len > 0 && p[len - 1] == '\n')
		len--;
	srv_ws_out *o = gw_xcalloc(1, sizeof(*o) + len);
	o->kind = SRV_WS_FRAME;
	o->len = len;
	memcpy(o->data, p, len);
	srv_ws_queue(ctx, o);
}

static void
srv_ws_turn_done(void *ctx, const gw_resp_error *e, const char *id, const char *key, cJSON *mem)
{
	srv_ws_out *o = gw_xcalloc(1, sizeof(*o));
	o->kind = SRV_WS_DONE;
	if (e != NULL) {
		o->failed = true;
		o->e = *e;
	}
	snprintf(o->id, sizeof(o->id), "%s", id);
	snprintf(o->key, sizeof(o->key), "%s", key);
	o->mem = mem;
	srv_ws_queue(ctx, o);
}

static const srv_api_turn_cb srv_ws_turn_cb = { srv_ws_turn_frame, srv_ws_turn_done };

/* ---- the socket, on its thread ------------------------------------------------------ */

/* True when the output waiting for the peer passed a bound: no more reads. */
static bool
srv_ws_backlogged(const srv_ws_conn *wc)
{
	if (wc->ctx == NULL)
		return false;
	return wslay_event_get_queued_msg_count(wc->ctx) >= SRV_WS_BACKLOG_MSGS ||
	    wslay_event_get_queued_msg_length(wc->ctx) + (wc->wbuf.len - wc->wbuf_off) >=
	    SRV_WS_BACKLOG_MAX;
}

static ssize_t
srv_ws_recv_cb(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags, void *user)
{
	(void)flags;
	srv_ws_conn *wc = user;
	if (wc->nread >= SRV_WS_READ_MAX || srv_ws_backlogged(wc)) {
		wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
		return -1; /* the rest waits for the next pump, or for the peer to read */
	}
	if (wc->extra_off < wc->nextra) {
		size_t n = wc->nextra - wc->extra_off < len ? wc->nextra - wc->extra_off : len;
		memcpy(buf, wc->extra + wc->extra_off, n);
		wc->extra_off += n;
		return (ssize_t)n;
	}
	ssize_t r = recv(wc->fd, buf, len, 0);
	if (r > 0) {
		wc->nread += (size_t)r;
		atomic_fetch_add_explicit(&wc->t->w->s->metrics.bytes_in, (uint64_t)r,
		    memory_order_relaxed);
		return r;
	}
	if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
		wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
		return -1;
	}
	wc->dead = true; /* EOF or a reset */
	wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
	return -1;
}

/* wslay's frames are gathered and go out in one send() per pump
 * (srv_ws_flush): a turn's dozen events are one write, not a dozen. */
static ssize_t
srv_ws_send_cb(wslay_event_context_ptr ctx, const uint8_t *data, size_t len, int flags, void *user)
{
	(void)flags;
	srv_ws_conn *wc = user;
	if (wc->wbuf.len - wc->wbuf_off >= SRV_WS_WBUF_MAX) {
		wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
		return -1;
	}
	gw_buf_append(&wc->wbuf, data, len);
	return (ssize_t)len;
}

/* Sends what is gathered; false when the socket failed. */
static bool
srv_ws_flush(srv_ws_conn *wc)
{
	while (wc->wbuf_off < wc->wbuf.len) {
		ssize_t r = send(wc->fd, wc->wbuf.data + wc->wbuf_off, wc->wbuf.len - wc->wbuf_off,
		    MSG_NOSIGNAL);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return true;
		if (r < 0)
			return false;
		atomic_fetch_add_explicit(&wc->t->w->s->metrics.bytes_out, (uint64_t)r,
		    memory_order_relaxed);
		wc->wbuf_off += (size_t)r;
	}
	gw_buf_reset(&wc->wbuf);
	wc->wbuf_off = 0;
	return true;
}

static void
srv_ws_send_text(srv_ws_conn *wc, const char *p, size_t n)
{
	struct wslay_event_msg m = { WSLAY_TEXT_FRAME, (const uint8_t *)p, n };
	wslay_event_queue_msg(wc->ctx, &m); /* copies; refused only once closing */
}

/* Sends e as the transport's error envelope:
 * {"type":"error","status":N,"error":{...}}. */
static void
srv_ws_send_error(srv_ws_conn *wc, const gw_resp_error *e)
{
	gw_buf b = GW_BUF_INIT;
	gw_buf_printf(&b, "{\"type\":\"error\",\"status\":%u,", e->status);
	gw_buf eb = GW_BUF_INIT;
	gw_resp_error_json(e, &eb); /* {"error":{...}} */
	gw_buf_append(&b, eb.data + 1, eb.len - 1);
	srv_ws_send_text(wc, b.data, b.len);
	gw_buf_free(&eb);
	gw_buf_free(&b);
}

/* Closes after what is queued: wslay sends control frames ahead of
 * queued messages and nothing after a close, so the close frame is queued
 * only once the messages before it are out (srv_ws_pump). */
static void
srv_ws_close(srv_ws_conn *wc, uint16_t code, const char *reason)
{
	if (wc->closing)
		return;
	wc->closing = true;
	wc->close_pending = true;
	wc->close_code = code;
	wc->close_reason = reason; /* a literal */
	wc->close_ms = gw_clock_mono_ms();
}

static void srv_ws_next(srv_ws_conn *wc);

/* The age limit's envelope: for the socket, and for each message that
 * arrives or waits past it. */
static void
srv_ws_limit_error(srv_ws_conn *wc)
{
	gw_resp_error e;
	gw_resp_error_set(&e, 400, "websocket_connection_limit_reached", NULL,
	    "this WebSocket reached its age limit of %llu ms; open a new connection and continue "
	    "with previous_response_id (store:true) or the full input",
	    (unsigned long long)wc->t->w->s->cfg.ws_max_age_ms);
	srv_ws_send_error(wc, &e);
}

/* The age limit: the error, then the close (after the turn in flight);
 * the messages still waiting get the error too, not silence. */
static void
srv_ws_limit(srv_ws_conn *wc)
{
	srv_ws_limit_error(wc);
	for (srv_ws_msg *m = wc->in_head, *n; m != NULL; m = n) {
		n = m->next;
		srv_ws_limit_error(wc);
		free(m);
	}
	wc->in_head = wc->in_tail = NULL;
	wc->in_count = wc->in_bytes = 0;
	srv_ws_close(wc, WSLAY_CODE_NORMAL_CLOSURE, "connection age limit");
}

/* A turn ended: its memory replaces the socket's (a continuation took the
 * old one into its job, so a failure has evicted it). */
static void
srv_ws_turn_end(srv_ws_conn *wc, srv_ws_out *o)
{
	srv_server *s = wc->t->w->s;
	srv_api_turn_release(wc->turn);
	wc->turn = NULL;
	wc->active_ms = gw_clock_mono_ms();
	atomic_fetch_add(&s->metrics.ws_turns, 1);
	srv_notify(s);
	if (o->failed) {
		srv_ws_send_error(wc, &o->e);
	} else {
		cJSON_Delete(wc->mem);
		wc->mem = o->mem;
		o->mem = NULL;
		/* bounded as a session's history is: the oldest items go first,
		 * by count and bytes, and it starts with a turn */
		gw_resp_items_bound(wc->mem, s->cfg.session_max_messages, s->cfg.session_max_bytes,
		    0);
		snprintf(wc->mem_id, sizeof(wc->mem_id), "%s", o->id);
		snprintf(wc->mem_key, sizeof(wc->mem_key), "%s", o->key);
		wc->mem_stored = wc->turn_store;
	}
	if (atomic_load(&s->stopping))
		srv_ws_close(wc, WSLAY_CODE_GOING_AWAY, "server shutting down");
	else if (wc->limit)
		srv_ws_limit(wc);
	else
		srv_ws_next(wc);
}

/* Takes what the turn's thread queued and turns it into messages. */
static void
srv_ws_drain(srv_ws_conn *wc)
{
	pthread_mutex_lock(&wc->lock);
	srv_ws_out *o = wc->out_head;
	wc->out_head = wc->out_tail = NULL;
	wc->in_ready = false;
	pthread_mutex_unlock(&wc->lock);
	for (srv_ws_out *n; o != NULL; o = n) {
		n = o->next;
		if (o->kind == SRV_WS_FRAME && !wc->dead)
			srv_ws_send_text(wc, o->data, o->len);
		else if (o->kind == SRV_WS_DONE)
			srv_ws_turn_end(wc, o);
		cJSON_Delete(o->mem);
		free(o);
	}
}

/* A member the WebSocket transport refuses (the spec: HTTP/SSE only). */
static const char *
srv_ws_refused(const cJSON *o)
{
	static const char *const k[] = { "stream", "stream_options", "background" };
	for (size_t i = 0; i < sizeof(k) / sizeof(k[0]); i++)
		if (cJSON_GetObjectItemCaseSensitive(o, k[i]) != NULL)
			return k[i];
	return NULL;
}

/* Starts the next waiting response.create, if no turn is in flight;
 * messages that fail their checks get their error and the next one goes. */
static void
srv_ws_next(srv_ws_conn *wc)
{
	srv_server *s = wc->t->w->s;
	while (wc->turn == NULL && wc->in_head != NULL && !wc->closing && !wc->dead) {
		srv_ws_msg *m = wc->in_head;
		wc->in_count--;
		wc->in_bytes -= m->len;
		wc->in_head = m->next;
		if (wc->in_head == NULL)
			wc->in_tail = NULL;
		gw_resp_error e;
		memset(&e, 0, sizeof(e));
		if (atomic_load(&s->stopping)) {
			/* srv_api_shutdown is ending the turns: no new one starts */
			free(m);
			gw_resp_error_set(&e, 503, "server_shutdown", NULL,
			    "the gateway is shutting down");
			srv_ws_send_error(wc, &e);
			continue;
		}
		cJSON *obj = NULL;
		const cJSON *type = NULL;
		const char *refused = NULL;
		/* a message continuing the memory's response that fails for any
		 * reason evicts it (the spec: a failed continuation) */
		bool continues = false;
		if (gw_resp_body_parse(m->data, m->len, &obj, &e) == 0) {
			const char *prev = gw_json_str(obj, "previous_response_id");
			continues = wc->mem != NULL && prev != NULL && strcmp(prev, wc->mem_id) == 0;
			if (!cJSON_IsString(type = cJSON_GetObjectItemCaseSensitive(obj, "type")) ||
			    strcmp(type->valuestring, "response.create") != 0)
				gw_resp_error_set(&e, 400, "invalid_value", "type",
				    "type must be \"response.create\" (the only message a client sends)");
			else if ((refused = srv_ws_refused(obj)) != NULL)
				gw_resp_error_set(&e, 400, "unsupported_parameter", refused,
				    "%s is not allowed on a WebSocket: every turn streams its events over "
				    "the socket", refused);
		}
		cJSON_Delete(obj);
		gw_resp_request rq;
		memset(&rq, 0, sizeof(rq));
		if (e.status == 0 &&
		    gw_resp_request_parse(m->data, m->len, s->cfg.max_input_chars, &rq, &e) == 0)
			gw_resp_request_heed(&rq, "type");
		free(m);
		cJSON *hist = NULL;
		bool hstored = false;
		if (e.status == 0 && rq.previous_response_id != NULL) {
			if (wc->mem != NULL && strcmp(wc->mem_id, rq.previous_response_id) == 0) {
				/* taken: a failed continuation leaves no memory of it */
				hist = wc->mem;
				wc->mem = NULL;
				wc->mem_id[0] = '\0';
				hstored = wc->mem_stored;
			} else if (!rq.store) {
				gw_resp_error_set(&e, 400, "previous_response_not_found",
				    "previous_response_id",
				    "Previous response with id '%.128s' not found.",
				    rq.previous_response_id);
			}
		}
		if (e.status != 0) {
			if (continues) {
				cJSON_Delete(wc->mem);
				wc->mem = NULL;
				wc->mem_id[0] = '\0';
			}
			gw_resp_request_free(&rq);
			srv_ws_send_error(wc, &e);
			continue;
		}
		wc->turn_store = rq.store;
		char key[GW_SESSION_KEY_MAX + 1];
		snprintf(key, sizeof(key), "%s", wc->mem_key);
		wc->turn = srv_api_turn_start(s, &rq, hist, hstored, key, &srv_ws_turn_cb, wc, &e);
		if (wc->turn == NULL)
			srv_ws_send_error(wc, &e);
	}
}

static void
srv_ws_on_msg(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *arg, void *user)
{
	(void)ctx;
	srv_ws_conn *wc = user;
	wc->active_ms = gw_clock_mono_ms();
	if (arg->opcode == WSLAY_CONNECTION_CLOSE) {
		wc->peer_closed = true; /* wslay answers the close frame */
		wc->closing = true;
		if (wc->close_ms == 0)
			wc->close_ms = wc->active_ms;
		return;
	}
	if (arg->opcode != WSLAY_TEXT_FRAME && arg->opcode != WSLAY_BINARY_FRAME)
		return; /* ping and pong: wslay answers pings itself */
	if (wc->closing)
		return;
	if (wc->limit) { /* a turn is finishing; then the socket closes */
		srv_ws_limit_error(wc);
		return;
	}
	/* the transport's messages are JSON text: a binary one is refused and
	 * ends the socket (RFC 6455's 1003; wslay itself fails a text message
	 * that is not UTF-8 with 1007, and one past the body limit with 1009) */
	gw_resp_error e;
	if (arg->opcode == WSLAY_BINARY_FRAME) {
		gw_resp_error_set(&e, 400, "invalid_value", NULL,
		    "binary messages are not accepted: send response.create as a text message");
		srv_ws_send_error(wc, &e);
		srv_ws_close(wc, WSLAY_CODE_UNSUPPORTED_DATA, "binary message");
		return;
	}
	size_t qmax = SRV_WS_QUEUE_BODIES * wc->t->w->s->body_limit;
	if (wc->in_count >= SRV_WS_QUEUE_MAX || wc->in_bytes + arg->msg_length > qmax) {
		if (wc->in_count >= SRV_WS_QUEUE_MAX)
			gw_resp_error_set(&e, 429, "too_many_requests", NULL,
			    "%d response.create messages are already waiting on this WebSocket; wait "
			    "for their turns or use another connection", SRV_WS_QUEUE_MAX);
		else
			gw_resp_error_set(&e, 429, "too_many_requests", NULL,
			    "the response.create messages waiting on this WebSocket would pass %zu "
			    "bytes (%d request bodies); wait for their turns or use another "
			    "connection", qmax, SRV_WS_QUEUE_BODIES);
		srv_ws_send_error(wc, &e);
		return;
	}
	wc->in_count++;
	wc->in_bytes += arg->msg_length;
	srv_ws_msg *m = gw_xmalloc(sizeof(*m) + arg->msg_length + 1);
	m->next = NULL;
	m->len = arg->msg_length;
	memcpy(m->data, arg->msg, arg->msg_length);
	m->data[m->len] = '\0';
	if (wc->in_tail)
		wc->in_tail->next = m;
	else
		wc->in_head = m;
	wc->in_tail = m;
	srv_ws_next(wc);
}

/* Frees what wc holds (its framing, queues, memory) and wc itself, and
 * counts it closed; the socket is the caller's business (given back to
 * MHD, or closed by MHD's stop). */
static void
srv_ws_conn_release(srv_ws_conn *wc)
{
	srv_server *s = wc->t->w->s;
	wslay_event_context_free(wc->ctx);
	gw_buf_free(&wc->wbuf);
	for (srv_ws_msg *m = wc->in_head, *n; m; m = n) {
		n = m->next;
		free(m);
	}
	for (srv_ws_out *o = wc->out_head, *n; o; o = n) {
		n = o->next;
		cJSON_Delete(o->mem);
		free(o);
	}
	cJSON_Delete(wc->mem);
	free(wc->extra);
	pthread_mutex_destroy(&wc->lock);
	free(wc);
	atomic_fetch_sub(&s->metrics.ws_open, 1);
}

/* Gives the socket back to MHD, which closes it. */
static void
srv_ws_free_conn(srv_ws_conn *wc)
{
	srv_ws_thread *t = wc->t;
	srv_server *s = t->w->s;
	if (wc->watched)
		epoll_ctl(t->epfd, EPOLL_CTL_DEL, wc->fd, NULL);
	if (wc->prev)
		wc->prev->next = wc->next;
	else
		t->conns = wc->next;
	if (wc->next)
		wc->next->prev = wc->prev;
	MHD_upgrade_action(wc->urh, MHD_UPGRADE_ACTION_CLOSE);
	if (wc->mloop != NULL)
		srv_loop_poke(wc->mloop);
	/* out: nothing can be queued any more (no turn) */
	srv_ws_conn_release(wc);
	srv_notify(s);
}

/* Reads, sends, and decides whether the socket is finished (then frees
 * it: true). */
static bool
srv_ws_pump(srv_ws_conn *wc, bool readable)
{
	srv_ws_thread *t = wc->t;
	wc->nread = 0;
	if (readable && !wc->dead && wslay_event_recv(wc->ctx) != 0)
		wc->dead = true;
	if (!wc->dead && !wc->closing && !wslay_event_want_read(wc->ctx)) {
		/* wslay failed the connection (a protocol error, 1002; a message
		 * past the body limit, 1009) and queued its close frame */
		wc->closing = true;
		wc->close_ms = gw_clock_mono_ms();
	}
	if (!wc->dead && wslay_event_send(wc->ctx) != 0)
		wc->dead = true;
	if (!wc->dead && wc->close_pending && wslay_event_get_queued_msg_count(wc->ctx) == 0) {
		wc->close_pending = false;
		wslay_event_queue_close(wc->ctx, wc->close_code, (const uint8_t *)wc->close_reason,
		    strlen(wc->close_reason));
		if (wslay_event_send(wc->ctx) != 0)
			wc->dead = true;
	}
	if (!wc->dead && !srv_ws_flush(wc))
		wc->dead = true;
	/* what the full buffer held back, now that some of it went */
	if (!wc->dead && wslay_event_want_write(wc->ctx) && wc->wbuf.len == 0 &&
	    (wslay_event_send(wc->ctx) != 0 || !srv_ws_flush(wc)))
		wc->dead = true;
	if ((wc->dead || wc->peer_closed) && wc->turn != NULL)
		srv_api_turn_cancel(wc->turn); /* as an SSE client that went away */
	bool want_w = !wc->dead && (wslay_event_want_write(wc->ctx) || wc->wbuf.len > 0);
	bool done;
	if (wc->turn != NULL)
		done = false; /* its done is still to come */
	else if (wc->dead)
		done = true;
	else if (wc->closing && gw_clock_mono_ms() - wc->close_ms >= 2 * SRV_WS_CLOSE_WAIT_MS)
		done = true; /* a peer that reads nothing any more */
	else
		done = wc->closing && !wc->close_pending && !want_w && (wc->peer_closed ||
		    !wslay_event_want_read(wc->ctx) ||
		    gw_clock_mono_ms() - wc->close_ms >= SRV_WS_CLOSE_WAIT_MS);
	if (done) {
		srv_ws_free_conn(wc);
		return true;
	}
	if (wc->dead) {
		/* a dead socket reports a hang-up however it is watched */
		if (wc->watched)
			epoll_ctl(t->epfd, EPOLL_CTL_DEL, wc->fd, NULL);
		wc->watched = false;
		return false;
	}
	/* not read: a backlog (until it drains; EPOLLOUT is watched then) or
	 * what wslay will not read any more */
	bool want_r = !wc->peer_closed && wslay_event_want_read(wc->ctx) &&
	    !(srv_ws_backlogged(wc) && want_w);
	uint32_t ev = (want_r ? EPOLLIN | EPOLLRDHUP : 0) | (want_w ? EPOLLOUT : 0);
	if (ev != wc->events || !wc->watched) {
		struct epoll_event e = { .events = ev, .data.ptr = wc };
		epoll_ctl(t->epfd, wc->watched ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, wc->fd, &e);
		wc->watched = true;
		wc->events = ev;
	}
	return false;
}

static const struct wslay_event_callbacks srv_ws_callbacks = {
	.recv_callback = srv_ws_recv_cb,
	.send_callback = srv_ws_send_cb,
	.on_msg_recv_callback = srv_ws_on_msg,
};

/* A socket MHD handed over: non-blocking, framed, watched. */
static void
srv_ws_adopt(srv_ws_thread *t, srv_ws_conn *wc)
{
	srv_server *s = t->w->s;
	int fl = fcntl(wc->fd, F_GETFL);
	if (fl >= 0)
		fcntl(wc->fd, F_SETFL, fl | O_NONBLOCK);
	/* MHD may leave the socket corked, and a turn's events are small
	 * writes that Nagle would hold for the peer's delayed ACK (40 ms) */
	MHD_upgrade_action(wc->urh, MHD_UPGRADE_ACTION_CORK_OFF);
	int one = 1;
	setsockopt(wc->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	wslay_event_context_server_init(&wc->ctx, &srv_ws_callbacks, wc);
	/* a message is at most a request body */
	wslay_event_config_set_max_recv_msg_length(wc->ctx, s->body_limit);
	wc->prev = NULL;
	wc->next = t->conns;
	if (t->conns)
		t->conns->prev = wc;
	t->conns = wc;
	if (atomic_load(&s->stopping))
		srv_ws_close(wc, WSLAY_CODE_GOING_AWAY, "server shutting down");
	srv_ws_pump(wc, wc->nextra > 0);
}

/* Every tick: the age limit, the idle timeout, the closing deadline. */
static void
srv_ws_tick(srv_ws_thread *t, uint64_t now)
{
	srv_server *s = t->w->s;
	for (srv_ws_conn *wc = t->conns, *n; wc != NULL; wc = n) {
		n = wc->next;
		if (!wc->limit && !wc->closing && now - wc->opened_ms >= s->cfg.ws_max_age_ms) {
			wc->limit = true;
			if (wc->turn == NULL)
				srv_ws_limit(wc);
		} else if (!wc->closing && wc->turn == NULL && wc->in_head == NULL &&
		    now - wc->active_ms >= s->cfg.idle_timeout_ms) {
			srv_ws_close(wc, WSLAY_CODE_NORMAL_CLOSURE, "idle timeout");
		}
		srv_ws_pump(wc, false);
	}
}

static void *
srv_ws_main(void *arg)
{
	srv_ws_thread *t = arg;
	srv_ws_self = t;
	uint64_t next_tick = gw_clock_mono_ms() + SRV_WS_TICK_MS;
	for (;;) {
		struct epoll_event ev[64];
		uint64_t now = gw_clock_mono_ms();
		int wait = now >= next_tick ? 0 : (int)(next_tick - now);
		int n = epoll_wait(t->epfd, ev, 64, wait);
		for (int i = 0; i < n; i++) {
			if (ev[i].data.ptr == NULL) {
				uint64_t v;
				ssize_t rr = read(t->wake_fd, &v, sizeof(v));
				(void)rr;
				continue;
			}
			srv_ws_conn *wc = ev[i].data.ptr;
			/* a socket freed earlier in this batch is not in it twice:
			 * each is registered once */
			srv_ws_pump(wc, (ev[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0);
		}
		pthread_mutex_lock(&t->lock);
		srv_ws_conn *adopt = t->adopt, *ready = t->ready;
		t->adopt = NULL;
		t->ready = NULL;
		bool quit = t->quit;
		uint64_t deadline = t->quit_deadline_ms;
		pthread_mutex_unlock(&t->lock);
		for (srv_ws_conn *wc = adopt, *nx; wc != NULL; wc = nx) {
			nx = wc->next;
			srv_ws_adopt(t, wc);
		}
		/* inline turns queue more while being drained: loop until quiet */
		while (ready != NULL) {
			for (srv_ws_conn *wc = ready, *nx; wc != NULL; wc = nx) {
				nx = wc->ready_next;
				srv_ws_drain(wc);
				srv_ws_pump(wc, false);
			}
			pthread_mutex_lock(&t->lock);
			ready = t->ready;
			t->ready = NULL;
			pthread_mutex_unlock(&t->lock);
		}
		now = gw_clock_mono_ms();
		if (quit) {
			for (srv_ws_conn *wc = t->conns, *nx; wc != NULL; wc = nx) {
				nx = wc->next;
				if (wc->turn == NULL)
					srv_ws_close(wc, WSLAY_CODE_GOING_AWAY, "server shutting down");
				if (now >= deadline) {
					if (wc->turn != NULL) { /* still running: let its job go */
						srv_api_turn_cancel(wc->turn);
						continue;
					}
					srv_ws_free_conn(wc);
				} else {
					srv_ws_pump(wc, false);
				}
			}
			bool turns = false;
			for (srv_ws_conn *wc = t->conns; wc != NULL; wc = wc->next)
				turns = turns || wc->turn != NULL;
			if (t->conns == NULL || (now >= deadline && !turns))
				break;
			if (now >= deadline + SRV_WS_CLOSE_WAIT_MS) {
				/* a turn that outlived srv_api_shutdown's wait and ours:
				 * its socket is left to MHD's stop, and to the exit */
				srv_log(t->w->s, "shutdown: a WebSocket turn is still running; "
				    "its socket is closed without a close frame");
				break;
			}
		}
		if (now >= next_tick) {
			srv_ws_tick(t, now);
			next_tick = now + SRV_WS_TICK_MS;
		}
		if (quit && next_tick > now + 20)
			next_tick = now + 20; /* shutdown: look again soon */
	}
	return NULL;
}

/* ---- lifecycle ------------------------------------------------------------------------ */

int
srv_ws_start(srv_server *s, size_t nthreads, srv_ws **out)
{
	srv_ws *w = gw_xcalloc(1, sizeof(*w));
	w->s = s;
	w->n = nthreads > 0 ? nthreads : 1;
	w->t = gw_xcalloc(w->n, sizeof(*w->t));
	for (size_t i = 0; i < w->n; i++) /* the error path closes only what opened */
		w->t[i].epfd = w->t[i].wake_fd = -1;
	for (size_t i = 0; i < w->n; i++) {
		srv_ws_thread *t = &w->t[i];
		t->w = w;
		pthread_mutex_init(&t->lock, NULL);
		t->epfd = epoll_create1(EPOLL_CLOEXEC);
		t->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		int rc = -errno;
		if (t->epfd >= 0 && t->wake_fd >= 0) {
			struct epoll_event e = { .events = EPOLLIN, .data.ptr = NULL };
			epoll_ctl(t->epfd, EPOLL_CTL_ADD, t->wake_fd, &e);
			rc = -pthread_create(&t->th, NULL, srv_ws_main, t);
		}
		if (rc != 0) {
			*out = w;
			srv_ws_shutdown(w, 0);
			srv_ws_free(w);
			*out = NULL;
			return rc;
		}
		pthread_setname_np(t->th, "tau-ws");
		t->running = true;
	}
	*out = w;
	return 0;
}

void
srv_ws_shutdown(srv_ws *w, uint64_t wait_ms)
{
	if (w == NULL)
		return;
	uint64_t deadline = gw_clock_mono_ms() + wait_ms;
	for (size_t i = 0; i < w->n; i++) {
		srv_ws_thread *t = &w->t[i];
		pthread_mutex_lock(&t->lock);
		t->quit = true;
		t->quit_deadline_ms = deadline;
		pthread_mutex_unlock(&t->lock);
		if (t->wake_fd >= 0)
			srv_ws_poke(t);
	}
	for (size_t i = 0; i < w->n; i++) {
		srv_ws_thread *t = &w->t[i];
		if (t->running)
			pthread_join(t->th, NULL);
		t->running = false;
	}
}

void
srv_ws_free(srv_ws *w)
{
	if (w == NULL)
		return;
	for (size_t i = 0; i < w->n; i++) {
		srv_ws_thread *t = &w->t[i];
		/* sockets a turn kept past both shutdown waits (srv_ws_main
		 * left them): the worker pool is joined now, so their turns are
		 * over; MHD's stop (before this) closed the sockets */
		for (srv_ws_conn *wc = t->conns, *n; wc != NULL; wc = n) {
			n = wc->next;
			if (wc->turn != NULL)
				srv_api_turn_release(wc->turn);
			srv_ws_conn_release(wc);
		}
		t->conns = NULL;
		/* sockets handed over after the threads stopped: MHD's stop
		 * (before this) closed them */
		for (srv_ws_conn *wc = t->adopt, *n; wc != NULL; wc = n) {
			n = wc->next;
			free(wc->extra);
			pthread_mutex_destroy(&wc->lock);
			free(wc);
			atomic_fetch_sub(&w->s->metrics.ws_open, 1);
		}
		if (t->epfd >= 0)
			close(t->epfd);
		if (t->wake_fd >= 0)
			close(t->wake_fd);
		pthread_mutex_destroy(&t->lock);
	}
	free(w->t);
	free(w);
}
