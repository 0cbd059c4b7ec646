/*
 * api.c - POST /v1/responses, GET and DELETE /v1/responses/{id}, GET
 * /v1/responses/{id}/input_items.
 *
 * A request becomes a job: validate (on the MHD thread), then load the
 * previous response's chain, lock the session, call the provider through the
 * response builder, persist, and answer (srv_job_begin, the provider,
 * srv_job_end).  A continuation's chain is read on the worker pool
 * (srv_chain_main; up to the bound's worth of record files), which runs a
 * JSON request to its end there and hands a stream back to its loop
 * (phase CHAINED) to run as any other; input_items
 * is read and rendered on the worker pool too (srv_list_main).  Jobs that
 * cannot block (the offline provider without a session) run inline.
 * Upstream jobs without a session are started on the handler's own event
 * loop engine with the connection suspended (a routed one tries its
 * route's targets in turn there, srv_job_route_start); when the call ends,
 * on the same thread, its done callback builds and queues the answer and
 * resumes the connection (srv_job_done; a call that ends while it starts
 * is finished by MHD's next call instead, srv_api_resume).  Jobs with a
 * session, whose lock may have to be waited for, run on the worker pool.  In fleet mode a session turn first queues
 * in the server's key gate (keygate.h), then holds a pooled connection with
 * the session's row locked from srv_job_begin to srv_job_end, where the
 * stored response, the exchange and the commit go out before the answer.
 * An SSE job feeds a frame queue that the content-reader callback drains
 * one frame per call; when the queue is empty the connection is suspended
 * (never polled), and a 250 ms ticker
 * resumes it so a vanished client is noticed and keepalives go out.  The
 * same ticker peeks at the sockets of suspended non-stream requests, so a
 * client that hangs up cancels its upstream call too.  Nothing here may
 * block an MHD thread on the network or on a lock held across an upstream
 * call.
 */
#include "server/api.h"
#include "core/base/clock.h"
#include "core/base/json.h"
#include "core/base/mem.h"
#include "core/openresponses/respstore.h"
#include "server/keygate.h"
#include "server/router.h"
#include "server/respconn.h"
#include "core/openresponses/session.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#define SRV_KEEPALIVE_MS 15000
#define SRV_TICK_MS 250
#define SRV_KEEPALIVE ": keepalive\n\n"

/* What a stored-response job on the pool does (srv_list_main). */
enum { SRV_LIST_ITEMS, SRV_LIST_GET, SRV_LIST_DELETE };

typedef struct srv_frame {
	struct srv_frame *next;
	size_t len, off;
	char data[];
} srv_frame;

typedef struct srv_job {
	srv_server *srv;
	srv_loop *loop;             /* the event loop that owns conn */
	struct MHD_Connection *conn;
	srv_req *req;               /* non-stream: valid until the job resumes it */
	gw_resp_request rq;
	cJSON *history;             /* the chain previous_response_id continues (its
	                             * context, bounded), or NULL */
	gw_respstore_chain chain;   /* its walk, holding the cache entries the
	                             * history's items refer to until the job
	                             * is freed, after them */
	size_t history_items;       /* how many of those items the context holds */
	char session_key[GW_SESSION_KEY_MAX + 1];
	char req_id[48];            /* the response id, chosen on the loop thread ("": the builder's) */
	/* GET .../input_items, read on a worker (srv_list_main): the id and
	 * the list query, copied from the connection */
	char list_id[129];
	int list_op;                /* SRV_LIST_ITEMS, or (fleet mode) _GET, _DELETE */
	char *list_after;           /* NULL: no after */
	uint64_t list_limit;
	bool list_asc;
	bool stream;
	atomic_bool cancel;
	/* stream side, under lock */
	pthread_mutex_t lock;
	srv_frame *head, *tail;
	bool suspended, producer_done, conn_gone;
	uint64_t last_write_ms;
	int fd;                     /* the client socket while ours to peek at, else -1 */
	/* the run, from srv_job_begin to srv_job_end (one thread at a time) */
	bool resume;                /* non-stream: the connection waits suspended for the answer */
	int provider_rc;            /* the provider's result, kept for srv_api_resume */
	bool starting;              /* inside srv_job_start (so inside MHD's handler) */
	gw_provider_outcome outcome;
	gw_resp_error e;            /* set when the run failed before or in the provider */
	bool cancelled;
	gw_session *sess;
	gw_store *sess_st;          /* fleet mode: the connection sess holds its row on */
	bool gated;                 /* fleet mode: inside s->keygate with session_key */
	cJSON *context;
	gw_resp_builder *b;
	/* --gateway-routes: the table the request runs under (a reference,
	 * given back with the job) and its route; target names the target
	 * that answered ("provider/model", under lock, for the request log) */
	srv_rtable *rt;
	long route;
	_Atomic(const char *) target;
	char upstream_rid[96];      /* a stream's upstream request id, last attempt (under lock) */
	/* the route's target being (or last) tried, whether this attempt is
	 * its breaker's probe, and whether any target was tried */
	size_t route_k;
	bool route_probe, route_tried;
	/* the attempt that failed over, said once the next target is tried
	 * (when every later one is skipped it is the request's answer, and
	 * srv_job_end says it): its outcome and target */
	gw_provider_outcome route_failed;
	const char *route_failed_spec;
	size_t route_failed_k;
	/* another inbound wire (srv_api_post_request), or NULL: Open Responses */
	const srv_api_wire *wire;
	void *wire_ctx;
	bool no_call;               /* the wire's prepare needs no provider call */
	/* a WebSocket turn (srv_api_turn_start), or NULL: its frames and its
	 * end go to turn->frame and turn->done instead of a connection */
	const srv_api_turn_cb *turn;
	void *turn_ctx;
	bool turn_unstored;         /* its context came from a socket's memory of a
	                             * response that was not stored: it is
	                             * stored whole, not as a continuation */
	/* Server-Timing: the request's start, and the time spent waiting on
	 * the provider (its start to its done) */
	uint64_t start_ns, up_t0_ns, upstream_ns;
	/* under srv->lock */
	int refs;
	struct srv_job *next, *prev_job;
} srv_job;

/* ---- job lifetime ---------------------------------------------------------- */

static srv_job *
srv_job_new(srv_server *s, struct MHD_Connection *c, srv_req *r, int refs, bool stream)
{
	srv_job *j = gw_xcalloc(1, sizeof(*j));
	j->srv = s;
	j->loop = srv_loop_current(); /* jobs are made by handlers, on the loop's thread */
	j->conn = c;
	j->req = r;
	j->start_ns = r != NULL ? r->start_ns : gw_clock_mono_ns();
	j->stream = stream;
	j->fd = -1;
	j->refs = refs;
	pthread_mutex_init(&j->lock, NULL);
	pthread_mutex_lock(&s->lock);
	j->next = s->jobs;
	if (s->jobs)
		s->jobs->prev_job = j;
	s->jobs = j;
	/* the ticker sleeps while there is no job: only then is it woken (a
	 * wake per job that follows an idle moment, thousands a second under
	 * paced turns, cost each turn a context switch and a lock fight) */
	s->njobs++;
	if (s->ticker_idle) {
		s->ticker_idle = false;
		pthread_cond_broadcast(&s->cond);
	}
	pthread_mutex_unlock(&s->lock);
	return j;
}

static void
srv_job_unref(srv_job *j)
{
	srv_server *s = j->srv;
	srv_rtable *rt = NULL;
	pthread_mutex_lock(&s->lock);
	bool last = --j->refs == 0;
	if (last) {
		rt = j->rt; /* given back below, off the lock */
		j->rt = NULL;
		if (j->prev_job)
			j->prev_job->next = j->next;
		else
			s->jobs = j->next;
		if (j->next)
			j->next->prev_job = j->prev_job;
		if (--s->njobs == 0 && atomic_load(&s->stopping))
			pthread_cond_broadcast(&s->cond); /* srv_api_shutdown waits for this */
	}
	pthread_mutex_unlock(&s->lock);
	if (!last)
		return;
	/* the last reference to a table a reload replaced frees it (joining
	 * its providers' threads), so not under the server's lock; the
	 * table outlives the router if need be (srv_router_release does not
	 * touch it), and every thread that may run this is joined before
	 * the server is freed */
	srv_router_release(s->router, rt);
	for (srv_frame *f = j->head, *n; f; f = n) {
		n = f->next;
		free(f);
	}
	gw_resp_request_free(&j->rq);
	cJSON_Delete(j->history);
	cJSON_Delete(j->context);
	gw_respstore_chain_free(&j->chain); /* after the items that refer to it */
	free(j->list_after);
	if (j->wire != NULL)
		j->wire->free(j->wire_ctx);
	pthread_mutex_destroy(&j->lock);
	free(j);
}

/* Resumes the connection if the reader parked it.  Caller holds j->lock. */
static void
srv_job_wake_locked(srv_job *j)
{
	if (j->suspended && !j->conn_gone) {
		j->suspended = false;
		srv_loop_resume(j->loop, j->conn);
	}
}

static void
srv_job_push(srv_job *j, const char *data, size_t n)
{
	if (j->turn != NULL) { /* a WebSocket turn: the socket's queue, not ours */
		j->turn->frame(j->turn_ctx, data, n);
		return;
	}
	srv_frame *f = gw_xmalloc(sizeof(*f) + n);
	f->next = NULL;
	f->len = n;
	f->off = 0;
	memcpy(f->data, data, n);
	pthread_mutex_lock(&j->lock);
	if (j->conn_gone) {
		pthread_mutex_unlock(&j->lock);
		free(f);
		return;
	}
	if (j->tail)
		j->tail->next = f;
	else
		j->head = f;
	j->tail = f;
	srv_job_wake_locked(j);
	pthread_mutex_unlock(&j->lock);
}

static void
srv_job_frame(void *ctx, const char *frame, size_t n)
{
	srv_job_push(ctx, frame, n);
}

/* True when the peer closed or reset the connection. */
static bool
srv_peer_gone(int fd)
{
	if (fd < 0)
		return false;
	char c;
	ssize_t r = recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
	if (r == 0)
		return true;
	return r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR;
}

static ssize_t
srv_job_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	(void)pos;
	srv_job *j = cls;
	uint64_t now = gw_clock_mono_ms();
	pthread_mutex_lock(&j->lock);
	srv_frame *f = j->head;
	if (f != NULL) {
		size_t n = f->len - f->off < max ? f->len - f->off : max;
		memcpy(buf, f->data + f->off, n);
		f->off += n;
		if (f->off == f->len) {
			j->head = f->next;
			if (j->head == NULL)
				j->tail = NULL;
			free(f);
		}
		j->last_write_ms = now;
		pthread_mutex_unlock(&j->lock);
		atomic_fetch_add_explicit(&j->srv->metrics.bytes_out, n, memory_order_relaxed);
		return (ssize_t)n;
	}
	if (j->producer_done) {
		pthread_mutex_unlock(&j->lock);
		return MHD_CONTENT_READER_END_OF_STREAM;
	}
	if (srv_peer_gone(j->fd)) {
		atomic_store(&j->cancel, true);
		pthread_mutex_unlock(&j->lock);
		return MHD_CONTENT_READER_END_WITH_ERROR;
	}
	if (now - j->last_write_ms >= SRV_KEEPALIVE_MS && max >= sizeof(SRV_KEEPALIVE) - 1) {
		memcpy(buf, SRV_KEEPALIVE, sizeof(SRV_KEEPALIVE) - 1);
		j->last_write_ms = now;
		pthread_mutex_unlock(&j->lock);
		return (ssize_t)(sizeof(SRV_KEEPALIVE) - 1);
	}
	j->suspended = true;
	MHD_suspend_connection(j->conn);
	pthread_mutex_unlock(&j->lock);
	return 0;
}

/* ---- running a job ---------------------------------------------------------- */

static void
srv_sink_text(void *ctx, const char *s, size_t n)
{
	gw_resp_builder_text(ctx, s, n);
}

static void
srv_sink_tool_begin(void *ctx, size_t index, const char *call_id, const char *name)
{
	gw_resp_builder_tool_begin(ctx, index, call_id, name);
}

static void
srv_sink_tool_args(void *ctx, size_t index, const char *s, size_t n)
{
	gw_resp_builder_tool_args(ctx, index, s, n);
}

static void
srv_append_copies(cJSON *dst, const cJSON *src)
{
	for (const cJSON *it = src ? src->child : NULL; it; it = it->next)
		cJSON_AddItemToArray(dst, cJSON_Duplicate(it, 1));
}

/* Hands a non-stream answer to the suspended connection and resumes it.
 * From here on MHD may close the socket, so the ticker stops peeking. */
static void
srv_job_answer(srv_job *j, bool suspended, unsigned status, gw_buf *body)
{
	srv_req *r = j->req;
	pthread_mutex_lock(&j->lock);
	j->fd = -1;
	pthread_mutex_unlock(&j->lock);
	r->result_status = status;
	r->result_type = "application/json";
	r->upstream_ns = j->upstream_ns;
	gw_buf_free(&r->result);
	r->result = *body;
	memset(body, 0, sizeof(*body));
	r->phase = SRV_PHASE_READY;
	if (suspended)
		srv_loop_resume(j->loop, j->conn);
}

/* Copies the target that answered j (routes) and, unless NULL, its
 * upstream's request id rid into r for the request log. */
static void
srv_job_target(srv_job *j, srv_req *r, const char *rid)
{
	const char *t = atomic_load(&j->target); /* lives as long as j->rt */
	if (t != NULL)
		snprintf(r->target, sizeof(r->target), "%s", t);
	if (rid != NULL)
		snprintf(r->upstream_rid, sizeof(r->upstream_rid), "%s", rid);
}

/* " [<header> <id>]" naming the upstream's request id of o's attempt
 * ("" when it named none), for a log line. */
static void
srv_rid_note(const gw_provider_outcome *o, char *out, size_t n)
{
	out[0] = '\0';
	if (o->request_id[0] != '\0')
		snprintf(out, n, " [upstream request id %s]", o->request_id);
}

/* Does a failed attempt say something of the target's health rather than
 * of this request: a connect error, a timeout, 408, 429 or 5xx? */
static bool
srv_upstream_unhealthy(const gw_provider_outcome *o)
{
	unsigned u = o->upstream_status;
	return o->http_status == 504 || u == 0 || u == 408 || u == 429 || u >= 500;
}

/* Records a failed upstream attempt of j (a target's, after its own
 * retries) in the event log, runtime-events.jsonl, with the request id the
 * upstream named, so an operator can quote it to the vendor: outcome
 * "fallback" (the route's next target is tried) or "failed" (it is the
 * request's answer).  Fleet mode: the server log only, as for reloads. */
static void
srv_job_upstream_event(srv_job *j, const char *target, const gw_provider_outcome *o,
    const char *outcome)
{
	gw_buf line = GW_BUF_INIT;
	gw_jw w;
	srv_event_begin(&w, &line, "upstream");
	gw_jw_kstr(&w, "outcome", outcome);
	gw_jw_kstr(&w, "response_id", gw_resp_builder_id(j->b));
	if (j->rt != NULL)
		gw_jw_kstr(&w, "route", srv_rtable_name(j->rt, j->route));
	gw_jw_kstr(&w, "target", target != NULL ? target : "");
	gw_jw_ku64(&w, "upstream_status", o->upstream_status);
	gw_jw_kstr(&w, "upstream_request_id", o->request_id);
	gw_jw_kstr(&w, "reason", o->message);
	srv_event_end(j->srv, &w, &line, "the upstream failure", true);
}

/* Does j's provider (its route's first target when routed) answer
 * without the network (local/echo: it never waits and never fails)? */
static bool
srv_job_offline(const srv_job *j)
{
	return j->rt == NULL ? gw_provider_offline(j->srv->provider) :
	    gw_provider_offline(j->rt->r[j->route].targets[0].prov);
}

/* May j wait on a lock or the database (a session, or in fleet mode a
 * response to store)?  Such a job runs on a worker, never a loop. */
static bool
srv_job_may_block(const srv_job *j)
{
	return j->session_key[0] != '\0' || (j->srv->fleet != NULL && j->rq.store);
}

/* The first half of a run: the model context (the chain the previous
 * response ends, or the session history) and the response builder.  Opening the session may wait for
 * its lock, so only a job with no session key may begin on a thread that
 * must not block.  On failure j->e is set and the provider is not called. */
static void
srv_job_begin(srv_job *j)
{
	srv_server *s = j->srv;
	gw_err err;
	gw_err_clear(&err);
	/* the chain's context, loaded and bounded by srv_api_post, becomes
	 * the head of this one */
	j->context = j->history != NULL ? j->history : cJSON_CreateArray();
	j->history = NULL;
	j->history_items = (size_t)cJSON_GetArraySize(j->context);
	/* with routes, the response names the route's public name */
	const char *model = j->rt != NULL ? srv_rtable_name(j->rt, j->route) :
	    gw_provider_model(s->provider);
	j->b = gw_resp_builder_new(&j->rq, model, (uint64_t)time(NULL),
	    j->stream && j->wire == NULL ? srv_job_frame : NULL, j);
	if (j->req_id[0] != '\0')
		gw_resp_builder_set_id(j->b, j->req_id); /* named by srv_api_post */
	gw_resp_builder_begin(j->b);
	if (j->wire != NULL)
		j->wire->begin(j->wire_ctx, model, srv_job_frame, j);
	if (j->session_key[0] != '\0') {
		/* another request on this key holds the session for its whole
		 * exchange: wait for it no longer than an upstream call may take */
		uint64_t wait_ms = s->cfg.provider.timeout_ms, t0 = gw_clock_mono_ms();
		int rc = 0;
		gw_store *st = NULL;
		if (s->keygate != NULL) {
			/* fleet mode: queue behind this server's turns on the key
			 * holding no connection, then take one and lock the row
			 * (waiting for other replicas' turns) */
			rc = srv_keygate_enter(s->keygate, j->session_key, wait_ms, &j->cancel);
			j->gated = rc == 0;
			if (rc == 0)
				rc = srv_respconn_hold(s->respconn, &st, &err);
			uint64_t spent = gw_clock_mono_ms() - t0;
			wait_ms = wait_ms > spent ? wait_ms - spent : 0;
		} else {
			st = srv_respconn_get(s->respconn, &err); /* the file store */
		}
		/* both bounds fit a size_t: the flag table caps them far below */
		if (rc == 0)
			rc = gw_session_open_store(st, j->session_key, (size_t)s->cfg.session_max_messages,
			    (size_t)s->cfg.session_max_bytes, wait_ms, &j->cancel, &j->sess, &err);
		if (rc == 0 && s->keygate != NULL)
			j->sess_st = st;
		else if (s->keygate != NULL)
			srv_respconn_release(s->respconn, st);
		if (rc == -EBUSY && s->keygate != NULL) {
			srv_log(s, "session %s: %s", j->session_key, err.msg);
			gw_resp_error_set(&j->e, 503, "session_busy", NULL,
			    "session '%s' could not start: too many session turns are in progress on this "
			    "replica; retry later", j->session_key);
		} else if (rc == -ETIMEDOUT) {
			gw_resp_error_set(&j->e, 503, "session_busy", NULL,
			    "session '%s' is busy: another request held it for %llu ms; retry later",
			    j->session_key, (unsigned long long)s->cfg.provider.timeout_ms);
		} else if (rc == -ECANCELED) {
			j->cancelled = true;
			if (atomic_load(&s->stopping))
				gw_resp_error_set(&j->e, 503, "server_shutdown", NULL,
				    "the gateway is shutting down");
			else
				gw_resp_error_set(&j->e, 499, "cancelled", NULL,
				    "the client went away while waiting for session '%s'", j->session_key);
		} else if (rc != 0 && s->keygate != NULL && err.exit_code == GW_EXIT_UNAVAILABLE) {
			srv_log(s, "session %s: %s", j->session_key, err.msg);
			gw_resp_error_set(&j->e, 503, "state_unavailable", NULL,
			    "session '%s' could not be opened: the state database is unavailable; retry later",
			    j->session_key);
		} else if (rc == -ENOSPC || rc == -EDQUOT || rc == -EROFS || rc == -EIO) {
			gw_resp_error_set(&j->e, 503, "storage_unavailable", NULL,
			    "session '%s' could not be opened: %s; retry later", j->session_key,
			    strerror(-rc));
		} else if (rc != 0) {
			gw_resp_error_set(&j->e, 500, "internal_error", NULL,
			    "failed to open session '%s': %s", j->session_key, err.msg);
		} else if (j->rq.previous_response_id == NULL) {
			srv_append_copies(j->context, gw_session_history(j->sess));
		}
		if (rc != 0)
			srv_log(s, "response %s failed: %s %s", gw_resp_builder_id(j->b), j->e.code,
			    j->e.message);
	}
	if (j->e.status == 0)
		srv_append_copies(j->context, j->rq.input);
	if (j->e.status == 0 && j->wire != NULL && j->wire->prepare != NULL) {
		j->no_call = !j->wire->prepare(j->wire_ctx, &j->context, srv_job_offline(j));
	}
}

/* The provider call of a begun job; it borrows from j. */
static gw_provider_call
srv_job_call(const srv_job *j)
{
	return (gw_provider_call){
		.instructions = j->rq.instructions,
		.items = j->context,
		.tools = j->rq.tools,
		.tool_choice = j->rq.tool_choice,
		.parallel_tool_calls = j->rq.parallel_tool_calls,
		.has_temperature = j->rq.has_temperature,
		.has_top_p = j->rq.has_top_p,
		.has_max_output_tokens = j->rq.has_max_output_tokens,
		.temperature = j->rq.temperature,
		.top_p = j->rq.top_p,
		.max_output_tokens = j->rq.max_output_tokens,
		.stream = j->stream,
	};
}

/* The second half: the provider's result (rc, o; rc 0 when it was not
 * called) becomes the answer, which is persisted and then handed to the
 * client.  Frees what srv_job_begin made. */
static void
srv_job_end(srv_job *j, int rc, const gw_provider_outcome *o)
{
	srv_server *s = j->srv;
	gw_err err;
	gw_err_clear(&err);
	gw_resp_builder *b = j->b;
	if (rc != 0) {
		j->cancelled = o->http_status == 499;
		if (j->cancelled)
			atomic_fetch_add(&s->metrics.upstream_cancelled, 1);
		if (j->cancelled && atomic_load(&s->stopping))
			gw_resp_error_set(&j->e, 503, "server_shutdown", NULL, "the gateway is shutting down");
		else
			gw_resp_error_set(&j->e, o->http_status, o->code, NULL, "%s", o->message);
		char rid[128];
		srv_rid_note(o, rid, sizeof(rid));
		srv_log(s, "response %s failed: %s %s%s", gw_resp_builder_id(b), j->e.code, j->e.message,
		    rid);
		/* a refusal of this request (another 4xx) is the request log's:
		 * the event log keeps what says something of the upstream */
		if (!j->cancelled && o->attempts > 0 && srv_upstream_unhealthy(o)) {
			const char *t = atomic_load(&j->target);
			srv_job_upstream_event(j, t != NULL ? t : gw_provider_model(s->provider), o,
			    "failed");
		}
	}
	if (rc == 0 && !j->no_call && j->e.status == 0 && j->wire != NULL && j->wire->check != NULL &&
	    !j->wire->check(j->wire_ctx, b, &j->e))
		srv_log(s, "response %s failed: %s %s", gw_resp_builder_id(b), j->e.code, j->e.message);
	gw_buf json = GW_BUF_INIT;
	if (j->e.status == 0) {
		gw_resp_builder_finish(b, &o->usage,
		    strcmp(o->finish, "length") == 0 ? "max_output_tokens" : NULL);
		if (j->wire == NULL)
			gw_resp_builder_json(b, &json);
		else if (!j->stream)
			j->wire->json(j->wire_ctx, b, o, &json); /* never stored: rq.store is false */
		/* persist before anyone can see the response finished; what
		 * was not written is never acknowledged: a failed store or
		 * session append fails the response (503 storage_unavailable,
		 * or response.failed on a stream) and undoes the other */
		const char *id = gw_resp_builder_id(b), *what = NULL;
		/* a continuation stores its own input and a reference to the
		 * response it continues, never the earlier turns again */
		bool chained = j->rq.previous_response_id != NULL && !j->turn_unstored;
		gw_respstore_rec rec = {
			.id = id,
			.session_key = j->session_key,
			.previous_id = chained ? j->rq.previous_response_id : NULL,
			.history_items = chained ? j->history_items : 0,
			.input_items = chained ? j->rq.input : j->context,
			.response_json = json.data,
			.response_len = json.len,
		};
		int src = 0;
		/* fleet mode: this is a worker (srv_api_run), so the save is in the
		 * database before the answer's last byte or the stream's terminal
		 * event (read-your-writes): on its own it returns once its group's
		 * commit did (srv_respconn_save); a session turn saves on the
		 * connection holding the session's row, inside its transaction, so
		 * the response and the exchange commit together (gw_session_commit)
		 * or not at all */
		gw_store *shared = gw_session_store(j->sess);
		bool unavailable = false;
		if (j->rq.store && (src = shared != NULL ? gw_respstore_save(shared, &rec, &err) :
		    srv_respconn_save(s->respconn, &rec, &err)) != 0) {
			unavailable = err.exit_code == GW_EXIT_UNAVAILABLE;
			what = "the response could not be stored";
			srv_log(s, "cannot store response %s: %s", id, err.msg);
		} else if (j->sess != NULL && (src = gw_session_append(j->sess, id, j->rq.input,
		    gw_resp_builder_output(b), &err)) != 0) {
			unavailable = shared != NULL && err.exit_code == GW_EXIT_UNAVAILABLE;
			what = "the session could not be saved";
			srv_log(s, "cannot append to session %s: %s", j->session_key, err.msg);
			if (j->rq.store && shared == NULL) {
				gw_err derr;
				gw_err_clear(&derr);
				gw_store *st = srv_respconn_get(s->respconn, &derr);
				if (st != NULL)
					gw_respstore_delete(st, id, NULL);
				srv_respconn_put(s->respconn, st);
			}
		} else if (shared != NULL && (src = gw_session_commit(j->sess, &err)) != 0) {
			/* nothing of the turn was written: neither is acknowledged */
			unavailable = true;
			what = "the session could not be saved";
			srv_log(s, "cannot commit session %s: %s", j->session_key, err.msg);
		}
		/* stored: what a walk reads of it is at hand for the next turn (a
		 * session turn's record holds the session's whole context and is
		 * continued by the session, not walked: caching it would render
		 * and parse that context once more per turn) */
		if (what == NULL && j->rq.store && j->sess == NULL)
			gw_respstore_cache_put(s->respcache,
			    s->fleet != NULL ? GW_STORE_POSTGRES : GW_STORE_FILES, &rec);
		if (what != NULL && unavailable) {
			gw_resp_error_set(&j->e, 503, "state_unavailable", NULL,
			    "%s: the state database is unavailable; retry later", what);
			gw_resp_builder_fail(b, j->e.code, j->e.message);
		} else if (what != NULL) {
			gw_resp_error_set(&j->e, 503, "storage_unavailable", NULL, "%s: %s; retry later",
			    what, strerror(-src));
			gw_resp_builder_fail(b, j->e.code, j->e.message);
		}
	} else {
		gw_resp_builder_fail(b, j->e.code, j->e.message);
	}
	/* the turn is over (committed, or rolled back by the close) before
	 * the client can see its end, and the next turn on the key may go */
	gw_session_close(j->sess);
	j->sess = NULL;
	srv_respconn_release(s->respconn, j->sess_st);
	j->sess_st = NULL;
	if (j->gated)
		srv_keygate_leave(s->keygate, j->session_key);
	j->gated = false;
	if (j->stream) {
		bool client_gone = j->cancelled && !atomic_load(&s->stopping);
		/* a stream's own time: its start to its end, less the wait
		 * (counted before the client can see the end) */
		uint64_t spent = gw_clock_mono_ns() - j->start_ns;
		srv_metrics_overhead(&s->metrics, spent > j->upstream_ns ? spent - j->upstream_ns : 0);
		if (!client_gone && j->wire != NULL) {
			j->wire->end(j->wire_ctx, o, j->e.status != 0 ? &j->e : NULL);
		} else if (!client_gone) {
			gw_resp_builder_end(b);
			if (j->turn == NULL) /* a WebSocket has no [DONE] */
				srv_job_push(j, GW_RESP_SSE_DONE, sizeof(GW_RESP_SSE_DONE) - 1);
		}
		if (j->turn != NULL) {
			/* the socket's memory of this response: its context and
			 * its output (its session key goes with it) */
			cJSON *mem = NULL;
			if (j->e.status == 0) {
				mem = j->context;
				j->context = NULL;
				srv_append_copies(mem, gw_resp_builder_output(b));
			}
			j->turn->done(j->turn_ctx, j->e.status != 0 ? &j->e : NULL,
			    gw_resp_builder_id(b), j->session_key, mem);
		}
		pthread_mutex_lock(&j->lock);
		j->producer_done = true;
		/* for the request log, which the connection's thread writes */
		snprintf(j->upstream_rid, sizeof(j->upstream_rid), "%s", o->request_id);
		srv_job_wake_locked(j);
		pthread_mutex_unlock(&j->lock);
	} else if (j->e.status == 0) {
		srv_job_target(j, j->req, o->request_id);
		srv_job_answer(j, j->resume, 200, &json);
	} else {
		gw_buf eb = GW_BUF_INIT;
		gw_resp_error_json(&j->e, &eb);
		srv_job_target(j, j->req, o->request_id);
		srv_job_answer(j, j->resume, j->e.status, &eb);
	}
	gw_buf_free(&json);
	gw_resp_builder_free(b);
	j->b = NULL;
	cJSON_Delete(j->context);
	j->context = NULL;
}

static gw_provider_sink
srv_job_sink(srv_job *j)
{
	if (j->wire != NULL)
		return j->wire->sink(j->wire_ctx, j->b);
	return (gw_provider_sink){ j->b, srv_sink_text, srv_sink_tool_begin, srv_sink_tool_args };
}

/* May a failed attempt (nothing reached the client) go to the route's
 * next target?  A connect error, a timeout, 408, 429 or 5xx: yes; a
 * cancel, a refusal of the request (other 4xx) or an unreadable 2xx
 * reply: no. */
static bool
srv_fallback_ok(const gw_provider_outcome *o)
{
	if (o->emitted || o->http_status == 499)
		return false;
	return srv_upstream_unhealthy(o);
}

/* The target of j's route to try next, from j->route_k on: the first
 * whose circuit lets it through (those skipped are counted).  Counts the
 * attempt (a fallback when a target was tried before), names the target
 * in j->target and sets *probe; NULL when no target is left. */
static srv_rtarget *
srv_route_next(srv_job *j, bool *probe)
{
	srv_rroute *rr = &j->rt->r[j->route];
	for (; j->route_k < rr->ntargets; j->route_k++) {
		srv_rtarget *tg = &rr->targets[j->route_k];
		*probe = false;
		/* an offline target never fails: its circuit stays closed */
		if (!gw_provider_offline(tg->prov) &&
		    !gw_routes_breaker_allow(&tg->st->breaker, gw_clock_mono_ms(), probe)) {
			atomic_fetch_add(&tg->st->skipped, 1);
			continue;
		}
		if (j->route_tried)
			atomic_fetch_add(&rr->fallbacks, 1);
		if (j->route_failed_spec != NULL) {
			char rid[128];
			srv_rid_note(&j->route_failed, rid, sizeof(rid));
			srv_log(j->srv, "model %s: target %zu (%s) failed (%s)%s; trying target %zu (%s)",
			    srv_rtable_name(j->rt, j->route), j->route_failed_k + 1, j->route_failed_spec,
			    j->route_failed.message, rid, j->route_k + 1, tg->t->spec);
			srv_job_upstream_event(j, j->route_failed_spec, &j->route_failed, "fallback");
			j->route_failed_spec = NULL;
		}
		j->route_tried = true;
		atomic_fetch_add_explicit(&tg->st->requests, 1, memory_order_relaxed);
		atomic_store(&j->target, tg->t->spec);
		return tg;
	}
	return NULL;
}

/* Target j->route_k's attempt ended (rc, *o): records it in its breaker.
 * True, with j->route_k moved past it, when the route's next target may
 * be tried (srv_fallback_ok); false when rc and *o are the answer. */
static bool
srv_route_failed_over(srv_job *j, bool probe, int rc, const gw_provider_outcome *o)
{
	srv_rroute *rr = &j->rt->r[j->route];
	srv_rtarget *tg = &rr->targets[j->route_k];
	if (gw_provider_offline(tg->prov))
		return false;
	if (rc == 0) {
		gw_routes_breaker_record(&tg->st->breaker, true, gw_clock_mono_ms());
		return false;
	}
	if (o->http_status == 499) {
		gw_routes_breaker_abandon(&tg->st->breaker, probe);
		return false;
	}
	atomic_fetch_add(&tg->st->errors, 1);
	bool fallback = srv_fallback_ok(o);
	/* a refusal of this request says nothing of the target's health */
	gw_routes_breaker_record(&tg->st->breaker, !fallback && o->upstream_status >= 400 &&
	    o->upstream_status < 500, gw_clock_mono_ms());
	if (!fallback || j->route_k + 1 == rr->ntargets)
		return false; /* the request's answer: srv_job_end says it */
	/* said by srv_route_next once the next target is tried */
	j->route_failed = *o;
	j->route_failed_spec = tg->t->spec;
	j->route_failed_k = j->route_k;
	j->route_k++;
	return true;
}

/* The outcome of a route none of whose targets was tried: every circuit
 * open, 503. */
static int
srv_route_unavailable(srv_job *j, gw_provider_outcome *o)
{
	memset(o, 0, sizeof(*o));
	o->http_status = 503;
	snprintf(o->code, sizeof(o->code), "model_unavailable");
	snprintf(o->message, sizeof(o->message),
	    "every target of model '%.128s' has an open circuit; retry later",
	    srv_rtable_name(j->rt, j->route));
	return -EAGAIN;
}

/* Runs j's call through its route on this thread (a worker): each target
 * in order whose circuit lets it through, the next one only after a
 * failure that allows a fallback (srv_fallback_ok).  Returns the last
 * attempt's rc with its outcome in *o; every target's circuit open is a
 * 503. */
static int
srv_job_route(srv_job *j, const gw_provider_call *call, const gw_provider_sink *sink,
    gw_provider_outcome *o)
{
	int rc = 0;
	bool probe;
	srv_rtarget *tg;
	while ((tg = srv_route_next(j, &probe)) != NULL) {
		rc = gw_provider_run(tg->prov, call, sink, &j->cancel, o);
		if (!srv_route_failed_over(j, probe, rc, o))
			return rc;
	}
	return j->route_tried ? rc : srv_route_unavailable(j, o);
}

/* Runs a job to its end on this thread (inline, or on the worker pool). */
/* The upstream's share of a provider call begun at t0 (gw_clock_mono_ns)
 * with outcome o: until the engine took up the reply's last bytes
 * (o->done_ns), or until now for a call without one (the offline model).
 * Reading the reply, and any hand-off after, are the gateway's time. */
static uint64_t
srv_upstream_ns(uint64_t t0, const gw_provider_outcome *o)
{
	uint64_t end = gw_clock_mono_ns();
	if (o->done_ns != 0 && o->done_ns >= t0 && o->done_ns <= end)
		end = o->done_ns;
	return end - t0;
}

static void
srv_job_run(srv_job *j)
{
	gw_provider_outcome o;
	memset(&o, 0, sizeof(o));
	int rc = 0;
	srv_job_begin(j);
	if (j->e.status == 0 && !j->no_call) {
		gw_provider_call call = srv_job_call(j);
		gw_provider_sink sink = srv_job_sink(j);
		uint64_t t0 = gw_clock_mono_ns();
		if (j->rt != NULL)
			rc = srv_job_route(j, &call, &sink, &o);
		else
			rc = gw_provider_run(j->srv->provider, &call, &sink, &j->cancel, &o);
		j->upstream_ns = srv_upstream_ns(t0, &o);
	}
	srv_job_end(j, rc, &o);
}

static void
srv_job_main(void *arg)
{
	srv_job *j = arg;
	srv_job_run(j);
	srv_job_unref(j);
}

/* Ends non-stream job j on its connection's thread, which resumes the
 * connection itself (after queueing the answer, or by returning to MHD):
 * the answer lands in j->req->result, and the caller's reference on j is
 * let go. */
static void
srv_job_finish(srv_job *j, int rc, const gw_provider_outcome *o)
{
	j->resume = false; /* srv_job_end must not resume it */
	srv_job_end(j, rc, o);
	srv_job_unref(j);
}

/* The provider's done callback, inside an engine step: the loop's own
 * (no session) or the provider's transfer thread.  A stream ends here (its
 * frames are already flowing).  A non-stream job is answered here when
 * this is its connection's loop and the call did not end inside
 * srv_job_start (still inside MHD's handler): the answer is built, queued
 * on the suspended connection (MHD allows that) and the connection
 * resumed, so the MHD_run after the step only writes it.  Otherwise it is
 * handed back to its connection (srv_api_resume), whose MHD_run builds
 * and persists the answer outside the engine step.  The upstream's time
 * ends when the step that saw the call end began (srv_upstream_ns): the
 * step's other answers built before this one are the gateway's time. */
static void
srv_job_done(void *ctx, int rc, const gw_provider_outcome *o)
{
	srv_job *j = ctx;
	j->upstream_ns = srv_upstream_ns(j->up_t0_ns, o);
	if (j->stream) {
		srv_job_end(j, rc, o);
		srv_job_unref(j);
		return;
	}
	if (!j->starting && j->loop == srv_loop_current()) {
		struct MHD_Connection *c = j->conn;
		srv_loop *l = j->loop;
		srv_req *r = j->req;
		srv_job_finish(j, rc, o); /* resumed below, once the answer is queued */
		if (srv_reply_result(c, r) != MHD_YES) { /* closed once resumed (srv_access) */
			srv_log(r->srv, "cannot queue the answer to %s %s", r->method, r->path);
			r->phase = SRV_PHASE_LOST;
		}
		srv_loop_resume(l, c);
		return;
	}
	j->provider_rc = rc;
	j->outcome = *o;
	pthread_mutex_lock(&j->lock);
	j->fd = -1; /* once resumed, MHD may close the socket: stop peeking */
	pthread_mutex_unlock(&j->lock);
	j->req->pending = j;
	j->req->phase = SRV_PHASE_PROVIDED;
	srv_loop_resume(j->loop, j->conn);
}

/* Finishes r's pending job on this (the connection's) thread. */
static void
srv_job_finish_pending(srv_req *r)
{
	srv_job *j = r->pending;
	r->pending = NULL;
	srv_job_finish(j, j->provider_rc, &j->outcome);
}

enum MHD_Result
srv_api_resume(struct MHD_Connection *c, srv_req *r)
{
	srv_job_finish_pending(r);
	return srv_reply_result(c, r);
}

static void srv_job_route_done(void *ctx, int rc, const gw_provider_outcome *o);

/* Starts the attempt of the next target of j's route that its circuit
 * lets through on j's loop's engine; false when none is left. */
static bool
srv_job_route_start(srv_job *j)
{
	srv_rtarget *tg = srv_route_next(j, &j->route_probe);
	if (tg == NULL)
		return false;
	gw_provider_call call = srv_job_call(j);
	gw_provider_sink sink = srv_job_sink(j);
	gw_provider_start_via(j->loop->engine, tg->prov, &call, &sink, &j->cancel,
	    srv_job_route_done, j);
	return true;
}

/* A routed attempt's done callback, on the loop (inside its engine step):
 * the route's next target after a failure that allows a fallback, else
 * the job's end (srv_job_done). */
static void
srv_job_route_done(void *ctx, int rc, const gw_provider_outcome *o)
{
	srv_job *j = ctx;
	if (srv_route_failed_over(j, j->route_probe, rc, o) && srv_job_route_start(j))
		return;
	srv_job_done(j, rc, o);
}

/* Starts a job that waits on nothing but the provider and returns at
 * once; srv_job_done ends it.  Takes the caller's reference on j.  Called
 * by a handler (so j->loop is this thread's loop, with an engine: the
 * provider is an upstream one, or j is routed and its route's first
 * target is); j has no session key, so srv_job_begin cannot fail (only a
 * session can).  A routed job tries its route's targets in turn on the
 * same engine (srv_job_route_done). */
static void
srv_job_start(srv_job *j)
{
	srv_job_begin(j);
	/* the handler's own loop runs the call: no hand-off */
	j->up_t0_ns = gw_clock_mono_ns();
	j->starting = true; /* a done called from here is inside MHD's handler */
	if (j->no_call) { /* nothing to wait for: done at once, as an offline call is */
		gw_provider_outcome o;
		memset(&o, 0, sizeof(o));
		srv_job_done(j, 0, &o);
	} else if (j->rt != NULL) {
		if (!srv_job_route_start(j)) {
			gw_provider_outcome o;
			srv_job_done(j, srv_route_unavailable(j, &o), &o);
		}
	} else {
		gw_provider_call call = srv_job_call(j);
		gw_provider_sink sink = srv_job_sink(j);
		gw_provider_start_on(j->loop->engine, &call, &sink, &j->cancel, srv_job_done, j);
	}
	j->starting = false;
}

/* ---- routes ------------------------------------------------------------------- */

/* A session key read back from a stored record must still be one of ours. */
static bool
srv_key_ok(const char *k)
{
	size_t n = 0;
	for (; k[n]; n++)
		if (!(k[n] >= 'a' && k[n] <= 'z') && !(k[n] >= 'A' && k[n] <= 'Z') &&
		    !(k[n] >= '0' && k[n] <= '9') && k[n] != '-' && k[n] != '_' && k[n] != '~')
			return false;
	return n > 0 && n <= GW_SESSION_KEY_MAX;
}

/* A stored response id that exists but cannot be loaded (err says why):
 * logs the file and the bad item, and sets e to the 500 the request gets.
 * A damaged record fails its own requests, never the server. */
static void
srv_stored_invalid(srv_server *s, const char *id, const char *param, const gw_err *err,
    gw_resp_error *e)
{
	srv_log(s, "stored response %s cannot be used: %s", id, err->msg);
	gw_resp_error_set(e, 500, "stored_response_invalid", param,
	    "stored response '%.128s' cannot be read; see the server log", id);
}

/* Sets e for a store call that failed: 503 state_unavailable when the
 * state database cannot be reached (fleet mode), else as
 * srv_stored_invalid. */
static void
srv_store_failed(srv_server *s, const char *id, const char *param, const gw_err *err,
    gw_resp_error *e)
{
	if (err->exit_code != GW_EXIT_UNAVAILABLE) {
		srv_stored_invalid(s, id, param, err, e);
		return;
	}
	srv_log(s, "stored response %s: the state database is unavailable: %s", id, err->msg);
	gw_resp_error_set(e, 503, "state_unavailable", NULL,
	    "the state database is unavailable; retry later");
}

/* Suspends r's connection while a worker (or the provider) works on j, and
 * lets the ticker peek at its socket: MHD does not watch a suspended
 * connection, so a client that hangs up still cancels the work. */
static void
srv_job_suspend(srv_job *j, struct MHD_Connection *c, srv_req *r)
{
	r->phase = SRV_PHASE_WAITING;
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c,
	    MHD_CONNECTION_INFO_CONNECTION_FD);
	pthread_mutex_lock(&j->lock);
	j->fd = ci ? ci->connect_fd : -1;
	pthread_mutex_unlock(&j->lock);
	j->resume = true;
	MHD_suspend_connection(c); /* before the worker can answer */
}

/* The session key j's request runs under: the one its request names
 * (metadata.session_id, conversation), else the one its chain's record
 * carries (put in j->session_key by srv_chain_main), else none. */
static void
srv_job_key(srv_job *j)
{
	if (j->rq.session_seed != NULL)
		gw_session_key(j->rq.session_seed, j->session_key);
}

/* Chooses the id of the response j builds, for it and for r's request
 * log line.  Called by whichever thread holds r: its loop, or the worker
 * that answers it while the connection is suspended. */
static void
srv_job_name(srv_job *j, srv_req *r)
{
	gw_buf id = GW_BUF_INIT;
	gw_resp_new_id(&id, "resp_");
	snprintf(j->req_id, sizeof(j->req_id), "%s", gw_buf_cstr(&id));
	if (j->wire == NULL && r != NULL) /* another wire names its answer itself */
		snprintf(r->resp_id, sizeof(r->resp_id), "%s", gw_buf_cstr(&id));
	gw_buf_free(&id);
}

/* Runs the job j made for r's POST (its request in j->rq, and for a
 * continuation its chain in j->history and the chain's session key in
 * j->session_key), on the loop thread that owns the connection. */
static enum MHD_Result
srv_api_run(struct MHD_Connection *c, srv_req *r, srv_job *j)
{
	srv_server *s = r->srv;
	srv_job_key(j);
	/* Three ways to run: inline when nothing can block (the offline
	 * provider, no session), on this loop's engine when only the upstream
	 * is waited for (no session), else on the worker pool, where the
	 * session lock may be waited for. */
	/* fleet mode: a stored response is saved on a worker, never on a
	 * loop thread (the database may be slow or gone) */
	bool pooled = srv_job_may_block(j);
	/* routed: inline when the route's first target is offline (it never
	 * fails, so no fallback waits); otherwise its targets are tried in
	 * turn on this loop's engine (srv_job_route_start), or, with a
	 * session, on a worker (srv_job_route) */
	bool offline = srv_job_offline(j);
	pooled = pooled || (!offline && j->loop->engine == NULL);
	bool inline_run = offline && !pooled;
	bool async_run = !inline_run && !pooled;
	bool stream = j->rq.stream;
	if (stream && !inline_run) { /* the run's reference; the connection keeps one */
		pthread_mutex_lock(&s->lock);
		j->refs++;
		pthread_mutex_unlock(&s->lock);
	}
	/* the id is chosen here, on the loop thread, so the request log can
	 * name it whichever thread builds the response */
	srv_job_name(j, r);
	if (stream) {
		const union MHD_ConnectionInfo *ci =
		    MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
		j->fd = ci ? ci->connect_fd : -1;
		j->last_write_ms = gw_clock_mono_ms();
		if (inline_run) {
			/* the whole stream is ready before the reader first runs */
			pthread_mutex_lock(&s->lock);
			j->refs++;
			pthread_mutex_unlock(&s->lock);
			srv_job_run(j);
		}
		struct MHD_Response *resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN,
		    SRV_CONN_MEMORY, srv_job_read, j, NULL);
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream");
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
		MHD_add_response_header(resp, "X-Accel-Buffering", "no");
		/* what is known as the headers go out: all of an inline run,
		 * else the gateway's time so far and no upstream wait yet */
		r->upstream_ns = j->upstream_ns;
		srv_timing_header(resp, r);
		r->stream = j;
		r->status = 200;
		r->phase = SRV_PHASE_REPLIED;
		atomic_fetch_add(&s->metrics.active_streams, 1);
		srv_notify(s);
		enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_OK, resp);
		MHD_destroy_response(resp);
		if (inline_run)
			srv_job_unref(j); /* the run's reference; the connection keeps one */
		else if (async_run)
			srv_job_start(j);
		else
			srv_workq_push(s->workq, srv_job_main, j);
		return ret;
	}
	if (inline_run) {
		j->resume = false;
		srv_job_run(j);
		srv_job_unref(j);
		r->phase = SRV_PHASE_REPLIED;
		return srv_reply_result(c, r);
	}
	srv_job_suspend(j, c, r);
	if (async_run)
		srv_job_start(j);
	else
		srv_workq_push(s->workq, srv_job_main, j);
	return MHD_YES;
}

/* A continuation's first step, on a worker: the walk of the chain its
 * previous_response_id ends (up to the session bounds' worth of records,
 * each a file read and parsed), which must never run on a loop thread.
 * A refusal (unknown id: 400, a damaged chain: 500) is the request's
 * answer.  Otherwise a JSON request runs to its end on this worker (the
 * provider through gw_provider_run, as a session's request does), and a
 * stream goes back to its loop (phase CHAINED, srv_api_chained), which
 * queues its text/event-stream answer and runs it as any other POST. */
/* The walk itself (srv_chain_main's and a WebSocket turn's): 0 with the
 * chain in j->history, j->chain and j->session_key, or an error with e set. */
static int
srv_chain_walk(srv_job *j, gw_resp_error *e)
{
	srv_server *s = j->srv;
	gw_err err;
	gw_err_clear(&err);
	memset(e, 0, sizeof(*e));
	/* the context a continuation sees: the chain's newest items, bounded
	 * as a session's history is (the walk reads no more records than
	 * that takes) */
	gw_respstore_chain chain;
	memset(&chain, 0, sizeof(chain));
	gw_store *st = srv_respconn_get(s->respconn, &err);
	int rc = st == NULL ? -ECONNREFUSED :
	    gw_respstore_chain_load(st, s->respcache, j->rq.previous_response_id,
	    (size_t)s->cfg.session_max_messages, (size_t)s->cfg.session_max_bytes, &chain, &err);
	srv_respconn_put(s->respconn, st);
	if (rc == -ENOENT)
		gw_resp_error_set(e, 400, "previous_response_not_found", "previous_response_id",
		    "previous response '%.128s' was not found", j->rq.previous_response_id);
	else if (rc != 0)
		srv_store_failed(s, j->rq.previous_response_id, "previous_response_id", &err, e);
	if (rc != 0) {
		gw_respstore_chain_free(&chain);
		return rc;
	}
	j->history = chain.items;
	chain.items = NULL;
	/* another wire's job (compaction) reads the chain, never its session */
	if (j->wire == NULL && srv_key_ok(chain.session_key))
		snprintf(j->session_key, sizeof(j->session_key), "%s", chain.session_key);
	j->chain = chain; /* freed with the job, once its items are */
	return 0;
}

static void
srv_chain_main(void *arg)
{
	srv_job *j = arg;
	srv_req *r = j->req;
	gw_resp_error e;
	if (srv_chain_walk(j, &e) != 0) {
		gw_buf eb = GW_BUF_INIT;
		gw_resp_error_json(&e, &eb);
		srv_job_answer(j, true, e.status, &eb);
		gw_buf_free(&eb);
		srv_job_unref(j);
		return;
	}
	if (!j->rq.stream) {
		/* a JSON answer is built right here: the connection stays
		 * suspended until srv_job_end hands it the answer (a worker may
		 * block on the session lock or the provider; an offline answer
		 * is only built), saving a hop back to the loop */
		srv_job_key(j);
		srv_job_name(j, r);
		srv_job_run(j);
		srv_job_unref(j);
		return;
	}
	pthread_mutex_lock(&j->lock);
	j->fd = -1; /* once resumed, MHD may close the socket: stop peeking */
	pthread_mutex_unlock(&j->lock);
	r->chained = j; /* the job's reference goes with it */
	r->phase = SRV_PHASE_CHAINED;
	srv_loop_resume(j->loop, j->conn);
}

enum MHD_Result
srv_api_chained(struct MHD_Connection *c, srv_req *r)
{
	srv_job *j = r->chained;
	r->chained = NULL;
	r->phase = SRV_PHASE_NEW;
	j->resume = false; /* the connection is not suspended any more */
	return srv_api_run(c, r, j);
}

/* With --gateway-routes, the route rq's model selects (the default when it
 * names none), referenced in *rt until the job gives it back; model then
 * counts as heeded.  False with e set (400 model_not_found, naming nothing
 * of the routes) when no route serves it; without routes true, *rt NULL. */
static bool
srv_api_route(srv_server *s, gw_resp_request *rq, srv_rtable **rt, long *route, gw_resp_error *e)
{
	*rt = NULL;
	*route = -1;
	if (s->router == NULL)
		return true;
	srv_loop *l = srv_loop_current(); /* NULL on a WebSocket thread */
	*rt = l != NULL ? srv_router_acquire_cached(s->router, &l->routes) :
	    srv_router_acquire(s->router);
	*route = srv_rtable_find(*rt, rq->model);
	if (*route < 0) {
		srv_router_release(s->router, *rt);
		*rt = NULL;
		if (rq->model == NULL)
			gw_resp_error_set(e, 400, "model_not_found", "model",
			    "the request names no model and the gateway has no default model");
		else
			gw_resp_error_set(e, 400, "model_not_found", "model",
			    "model '%.128s' is not served by this gateway", rq->model);
		return false;
	}
	gw_resp_request_heed(rq, "model");
	return true;
}

enum MHD_Result
srv_api_post(struct MHD_Connection *c, srv_req *r)
{
	srv_server *s = r->srv;
	gw_resp_request rq;
	gw_resp_error e;
	srv_rtable *rt;
	long route;
	if (gw_resp_request_parse(gw_buf_cstr(&r->body), r->body.len, s->cfg.max_input_chars, &rq,
	    &e) != 0 || !srv_api_route(s, &rq, &rt, &route, &e)) {
		gw_resp_request_free(&rq);
		return srv_reply_error(c, r, &e);
	}
	gw_buf_free(&r->body);
	srv_job *j = srv_job_new(s, c, r, 1, rq.stream);
	j->rq = rq;
	j->rt = rt;
	j->route = route;
	if (rq.previous_response_id == NULL)
		return srv_api_run(c, r, j);
	/* a continuation reads its chain on a worker, never here */
	srv_job_suspend(j, c, r);
	srv_workq_push(s->workq, srv_chain_main, j);
	return MHD_YES;
}

enum MHD_Result
srv_api_post_request(struct MHD_Connection *c, srv_req *r, gw_resp_request *rq,
    const srv_api_wire *wire, void *w)
{
	srv_rtable *rt;
	long route;
	gw_resp_error e;
	if (!srv_api_route(r->srv, rq, &rt, &route, &e)) {
		gw_resp_request_free(rq);
		memset(rq, 0, sizeof(*rq));
		wire->free(w);
		return srv_reply_error(c, r, &e);
	}
	gw_buf_free(&r->body);
	srv_job *j = srv_job_new(r->srv, c, r, 1, rq->stream);
	j->rq = *rq;
	memset(rq, 0, sizeof(*rq));
	j->rt = rt;
	j->route = route;
	j->wire = wire;
	j->wire_ctx = w;
	if (j->rq.previous_response_id == NULL)
		return srv_api_run(c, r, j);
	/* a continuation reads its chain on a worker, never here */
	srv_job_suspend(j, c, r);
	srv_workq_push(r->srv->workq, srv_chain_main, j);
	return MHD_YES;
}

/* ---- WebSocket turns (ws.c) ------------------------------------------------------ */

/* A turn that must read its chain or may wait (a session, an upstream
 * model, a save to the database), on a worker. */
static void
srv_turn_main(void *arg)
{
	srv_job *j = arg;
	gw_resp_error e;
	if (j->history == NULL && j->rq.previous_response_id != NULL &&
	    srv_chain_walk(j, &e) != 0) {
		j->turn->done(j->turn_ctx, &e, j->req_id, "", NULL);
		srv_job_unref(j);
		return;
	}
	srv_job_key(j);
	srv_job_run(j);
	srv_job_unref(j);
}

srv_job *
srv_api_turn_start(srv_server *s, gw_resp_request *rq, cJSON *history, bool history_stored,
    const char *session_key, const srv_api_turn_cb *cb, void *ctx, gw_resp_error *e)
{
	srv_rtable *rt;
	long route;
	if (!srv_api_route(s, rq, &rt, &route, e)) {
		gw_resp_request_free(rq);
		memset(rq, 0, sizeof(*rq));
		cJSON_Delete(history);
		return NULL;
	}
	srv_job *j = srv_job_new(s, NULL, NULL, 2, true); /* the caller's and the run's */
	j->rq = *rq;
	memset(rq, 0, sizeof(*rq));
	j->rq.stream = true;
	j->rt = rt;
	j->route = route;
	j->turn = cb;
	j->turn_ctx = ctx;
	j->history = history;
	j->turn_unstored = history != NULL && !history_stored;
	if (history != NULL && session_key != NULL)
		snprintf(j->session_key, sizeof(j->session_key), "%s", session_key);
	srv_job_key(j);
	srv_job_name(j, NULL);
	/* as srv_api_run decides: inline when nothing can block (offline, no
	 * session, no chain to read, no save to the database), else a worker */
	bool inline_run = srv_job_offline(j) && !srv_job_may_block(j) &&
	    (j->rq.previous_response_id == NULL || j->history != NULL);
	if (inline_run) {
		srv_job_run(j);
		srv_job_unref(j);
	} else {
		srv_workq_push(s->workq, srv_turn_main, j);
	}
	return j;
}

void
srv_api_turn_cancel(srv_job *j)
{
	atomic_store(&j->cancel, true);
}

void
srv_api_turn_release(srv_job *j)
{
	srv_job_unref(j);
}

static void srv_list_main(void *arg);

static enum MHD_Result
srv_not_found(struct MHD_Connection *c, srv_req *r, const char *id)
{
	gw_resp_error e;
	gw_resp_error_set(&e, 404, "response_not_found", NULL, "response '%.128s' was not found", id);
	return srv_reply_error(c, r, &e);
}

/* Loads the stored record id into *rec, or queues the 404/500 answer in
 * *ret and returns false. */
static bool
srv_load_record(struct MHD_Connection *c, srv_req *r, const char *id, cJSON **rec,
    enum MHD_Result *ret)
{
	gw_err err;
	gw_err_clear(&err);
	int rc = gw_respstore_load(srv_respconn_get(r->srv->respconn, &err), id, rec, &err);
	if (rc == -ENOENT) {
		*ret = srv_not_found(c, r, id);
		return false;
	}
	if (rc != 0) {
		gw_resp_error e;
		srv_stored_invalid(r->srv, id, NULL, &err, &e);
		*ret = srv_reply_error(c, r, &e);
		return false;
	}
	return true;
}

/* A GET's answer: the stored ResponseResource. */
static void
srv_stored_json(const cJSON *rec, gw_buf *b)
{
	gw_jw w;
	gw_jw_init(&w, b, false);
	gw_jw_cjson(&w, cJSON_GetObjectItemCaseSensitive(rec, "response"));
}

/* A DELETE's answer. */
static void
srv_deleted_json(const char *id, gw_buf *b)
{
	gw_jw w;
	gw_jw_init(&w, b, false);
	gw_jw_obj_begin(&w);
	gw_jw_kstr(&w, "id", id);
	gw_jw_kstr(&w, "object", "response");
	gw_jw_kbool(&w, "deleted", true);
	gw_jw_obj_end(&w);
}

/* Fleet mode: a GET or DELETE runs on the pool (srv_list_main), never on
 * this loop thread. */
static enum MHD_Result
srv_api_pooled(struct MHD_Connection *c, srv_req *r, const char *id, int op)
{
	if (!gw_respstore_id_ok(id))
		return srv_not_found(c, r, id);
	srv_job *j = srv_job_new(r->srv, c, r, 1, false);
	snprintf(j->list_id, sizeof(j->list_id), "%s", id);
	j->list_op = op;
	srv_job_suspend(j, c, r);
	srv_workq_push(r->srv->workq, srv_list_main, j);
	return MHD_YES;
}

enum MHD_Result
srv_api_get(struct MHD_Connection *c, srv_req *r, const char *id)
{
	if (r->srv->fleet != NULL)
		return srv_api_pooled(c, r, id, SRV_LIST_GET);
	cJSON *rec = NULL;
	enum MHD_Result ret;
	if (!srv_load_record(c, r, id, &rec, &ret))
		return ret;
	gw_buf b = GW_BUF_INIT;
	srv_stored_json(rec, &b);
	cJSON_Delete(rec);
	ret = srv_reply(c, r, 200, "application/json", b.data, b.len);
	gw_buf_free(&b);
	return ret;
}

/* An input item's id: its own, or one derived from the response id and
 * its position (stored input items need not carry one). */
static const char *
srv_item_id(const cJSON *item, const char *response_id, size_t index, char *tmp, size_t n)
{
	const char *own = gw_json_str(item, "id");
	if (own != NULL)
		return own;
	if (strncmp(response_id, "resp_", 5) == 0)
		response_id += 5;
	snprintf(tmp, n, "item_%s_%zu", response_id, index);
	return tmp;
}

/* Parses the list query (limit 1..100, default 20; order asc|desc, default
 * desc; after).  False with e set on a bad value. */
static bool
srv_list_query(struct MHD_Connection *c, uint64_t *limit, bool *asc, const char **after,
    gw_resp_error *e)
{
	const char *v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "limit");
	*limit = 20;
	if (v != NULL) {
		char *end;
		errno = 0;
		unsigned long long n = strtoull(v, &end, 10);
		if (v[0] < '0' || v[0] > '9' || *end != '\0' || errno != 0 || n < 1 || n > 100) {
			gw_resp_error_set(e, 400, "invalid_value", "limit",
			    "limit must be an integer from 1 to 100");
			return false;
		}
		*limit = n;
	}
	v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "order");
	if (v != NULL && strcmp(v, "asc") != 0 && strcmp(v, "desc") != 0) {
		gw_resp_error_set(e, 400, "invalid_value", "order", "order must be asc or desc");
		return false;
	}
	*asc = v != NULL && strcmp(v, "asc") == 0;
	*after = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "after");
	return true;
}

/* GET .../input_items on a worker: the record and the chain it continues
 * (up to its history_items' worth of records) are read here, never on a
 * loop thread; the list (or the 404/400/500) is j's answer. */
static void
srv_list_main(void *arg)
{
	srv_job *j = arg;
	srv_server *s = j->srv;
	const char *id = j->list_id, *after = j->list_after;
	uint64_t limit = j->list_limit;
	bool asc = j->list_asc;
	gw_resp_error e;
	memset(&e, 0, sizeof(e));
	gw_err err;
	gw_err_clear(&err);
	gw_buf b = GW_BUF_INIT;
	cJSON *rec = NULL, *items = NULL;
	gw_store *st = srv_respconn_get(s->respconn, &err);
	int rc = st == NULL ? -ECONNREFUSED : j->list_op == SRV_LIST_DELETE ?
	    gw_respstore_delete(st, id, &err) : gw_respstore_load(st, id, &rec, &err);
	if (j->list_op == SRV_LIST_DELETE)
		gw_respcache_drop(s->respcache, id);
	if (rc == -ENOENT) {
		gw_resp_error_set(&e, 404, "response_not_found", NULL, "response '%.128s' was not found",
		    id);
	} else if (rc == 0 && j->list_op != SRV_LIST_ITEMS) {
		/* fleet mode's GET and DELETE, answered here off the loop */
		if (j->list_op == SRV_LIST_GET)
			srv_stored_json(rec, &b);
		else
			srv_deleted_json(id, &b);
		cJSON_Delete(rec);
		srv_respconn_put(s->respconn, st);
		srv_job_answer(j, true, 200, &b);
		gw_buf_free(&b);
		srv_job_unref(j);
		return;
	} else if (rc == 0) {
		/* the context the model saw: a continuation's comes from its chain */
		rc = gw_respstore_input_items(st, rec, &items, &err);
		cJSON_Delete(rec);
	}
	srv_respconn_put(s->respconn, st);
	if (rc != 0 && rc != -ENOENT)
		srv_store_failed(s, id, NULL, &err, &e);
	size_t n = items != NULL ? (size_t)cJSON_GetArraySize(items) : 0;
	const cJSON **v = gw_xcalloc(n ? n : 1, sizeof(*v));
	size_t k = 0;
	for (const cJSON *it = items ? items->child : NULL; it != NULL && k < n; it = it->next)
		v[k++] = it;
	char tmp[192], first[192] = "", last[192] = "";
	/* the position (in the requested order) of the first item to list */
	size_t start = 0;
	if (rc == 0 && after != NULL) {
		bool found = false;
		while (start < n && !found) {
			size_t i = asc ? start : n - 1 - start;
			start++;
			found = strcmp(srv_item_id(v[i], id, i, tmp, sizeof(tmp)), after) == 0;
		}
		if (!found)
			gw_resp_error_set(&e, 400, "invalid_value", "after",
			    "no input item '%.128s' in response '%.128s'", after, id);
	}
	if (e.status != 0) {
		gw_resp_error_json(&e, &b);
		srv_job_answer(j, true, e.status, &b);
	} else {
		gw_jw w;
		gw_jw_init(&w, &b, false);
		gw_jw_obj_begin(&w);
		gw_jw_kstr(&w, "object", "list");
		gw_jw_key(&w, "data");
		gw_jw_arr_begin(&w);
		size_t pos = start;
		for (; pos < n && pos - start < limit; pos++) {
			size_t i = asc ? pos : n - 1 - pos;
			const char *iid = srv_item_id(v[i], id, i, tmp, sizeof(tmp));
			if (pos == start)
				snprintf(first, sizeof(first), "%s", iid);
			snprintf(last, sizeof(last), "%s", iid);
			gw_jw_obj_begin(&w);
			gw_jw_kstr(&w, "id", iid);
			for (const cJSON *m = v[i]->child; m != NULL; m = m->next) {
				if (strcmp(m->string, "id") == 0)
					continue;
				gw_jw_key(&w, m->string);
				gw_jw_cjson(&w, m);
			}
			gw_jw_obj_end(&w);
		}
		gw_jw_arr_end(&w);
		gw_jw_key(&w, "first_id");
		if (first[0] != '\0')
			gw_jw_str(&w, first);
		else
			gw_jw_null(&w);
		gw_jw_key(&w, "last_id");
		if (last[0] != '\0')
			gw_jw_str(&w, last);
		else
			gw_jw_null(&w);
		gw_jw_kbool(&w, "has_more", pos < n);
		gw_jw_obj_end(&w);
		srv_job_answer(j, true, 200, &b);
	}
	free(v);
	cJSON_Delete(items);
	gw_buf_free(&b);
	srv_job_unref(j);
}

enum MHD_Result
srv_api_input_items(struct MHD_Connection *c, srv_req *r, const char *id)
{
	uint64_t limit;
	bool asc;
	const char *after;
	gw_resp_error e;
	if (!srv_list_query(c, &limit, &asc, &after, &e))
		return srv_reply_error(c, r, &e);
	/* an id no record can have is answered here, without a read */
	if (!gw_respstore_id_ok(id))
		return srv_not_found(c, r, id);
	srv_job *j = srv_job_new(r->srv, c, r, 1, false);
	snprintf(j->list_id, sizeof(j->list_id), "%s", id);
	j->list_after = after != NULL ? gw_xstrdup(after) : NULL;
	j->list_limit = limit;
	j->list_asc = asc;
	srv_job_suspend(j, c, r);
	srv_workq_push(r->srv->workq, srv_list_main, j);
	return MHD_YES;
}

enum MHD_Result
srv_api_delete(struct MHD_Connection *c, srv_req *r, const char *id)
{
	if (r->srv->fleet != NULL)
		return srv_api_pooled(c, r, id, SRV_LIST_DELETE);
	gw_err err;
	gw_err_clear(&err);
	int rc = gw_respstore_delete(srv_respconn_get(r->srv->respconn, &err), id, &err);
	gw_respcache_drop(r->srv->respcache, id);
	if (rc == -ENOENT)
		return srv_not_found(c, r, id);
	if (rc != 0) {
		gw_resp_error e;
		gw_resp_error_set(&e, 500, "internal_error", NULL, "%s", err.msg);
		return srv_reply_error(c, r, &e);
	}
	gw_buf b = GW_BUF_INIT;
	srv_deleted_json(id, &b);
	enum MHD_Result ret = srv_reply(c, r, 200, "application/json", b.data, b.len);
	gw_buf_free(&b);
	return ret;
}

void
srv_api_request_done(srv_req *r)
{
	if (r->pending != NULL) /* closed before srv_api_resume ran */
		srv_job_finish_pending(r);
	if (r->chained != NULL) { /* closed before srv_api_chained ran */
		srv_job_unref(r->chained);
		r->chained = NULL;
	}
	srv_job *j = r->stream;
	if (j == NULL)
		return;
	r->stream = NULL;
	srv_job_target(j, r, NULL);
	pthread_mutex_lock(&j->lock);
	snprintf(r->upstream_rid, sizeof(r->upstream_rid), "%s", j->upstream_rid);
	j->conn_gone = true;
	j->suspended = false;
	pthread_mutex_unlock(&j->lock);
	atomic_store(&j->cancel, true);
	atomic_fetch_sub(&r->srv->metrics.active_streams, 1);
	srv_notify(r->srv);
	srv_job_unref(j);
}

/* ---- ticker and shutdown ---------------------------------------------------------- */

static void *
srv_ticker_main(void *arg)
{
	srv_server *s = arg;
	pthread_setname_np(pthread_self(), "tau-ticker");
	pthread_mutex_lock(&s->lock);
	while (s->ticker_running) {
		if (s->jobs == NULL) {
			s->ticker_idle = true;
			pthread_cond_wait(&s->cond, &s->lock);
			s->ticker_idle = false;
			if (s->jobs != NULL && s->ticker_running) {
				/* a job came: its first pass is a tick from now (a job
				 * just made has no stream to resume, no peer gone) */
				struct timespec ts;
				gw_clock_mono_deadline(&ts, SRV_TICK_MS);
				pthread_cond_timedwait(&s->cond, &s->lock, &ts);
			}
			continue;
		}
		for (srv_job *j = s->jobs; j; j = j->next) {
			pthread_mutex_lock(&j->lock);
			if (j->stream) {
				srv_job_wake_locked(j);
			} else if (srv_peer_gone(j->fd)) {
				atomic_store(&j->cancel, true);
				j->fd = -1;
			}
			pthread_mutex_unlock(&j->lock);
		}
		struct timespec ts;
		gw_clock_mono_deadline(&ts, SRV_TICK_MS);
		pthread_cond_timedwait(&s->cond, &s->lock, &ts);
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

/* ---- expiry sweep ------------------------------------------------------------------ */

/* How often to sweep: half the shorter non-zero TTL, within 250 ms..60 s;
 * 0 when nothing expires. */
static uint64_t
srv_sweep_every_ms(const srv_config *c)
{
	uint64_t ttl = c->session_ttl_s;
	if (ttl == 0 || (c->response_ttl_s != 0 && c->response_ttl_s < ttl))
		ttl = c->response_ttl_s;
	if (ttl == 0)
		return 0;
	uint64_t ms = ttl > 120 ? 60000 : ttl * 500;
	return ms < 250 ? 250 : ms;
}

/* One sweep: the core removes what expired by now; the server only logs.
 * In fleet mode every replica sweeps the database, each pass bounded and
 * skipping what another replica's pass or a turn holds. */
static void
srv_sweep(srv_server *s)
{
	uint64_t now = (uint64_t)time(NULL);
	size_t sessions = 0, responses = 0;
	gw_err err;
	gw_err_clear(&err);
	gw_store *st = srv_respconn_get(s->respconn, &err);
	if (st == NULL) {
		srv_log(s, "expiry sweep: %s", err.msg);
		return;
	}
	if (s->cfg.session_ttl_s > 0 &&
	    gw_session_sweep_store(st, now, s->cfg.session_ttl_s, &sessions, &err) != 0)
		srv_log(s, "session sweep: %s", err.msg);
	gw_err_clear(&err);
	if (s->cfg.response_ttl_s > 0 &&
	    gw_respstore_sweep(st, now, s->cfg.response_ttl_s, &responses, &err) != 0)
		srv_log(s, "stored response sweep: %s", err.msg);
	srv_respconn_put(s->respconn, st);
	if (sessions > 0 || responses > 0)
		srv_notice(s, "expired: removed %zu session(s) and %zu stored response(s)", sessions,
		    responses);
}

static void *
srv_sweeper_main(void *arg)
{
	srv_server *s = arg;
	uint64_t every = srv_sweep_every_ms(&s->cfg);
	pthread_mutex_lock(&s->lock);
	while (s->sweeper_running) {
		pthread_mutex_unlock(&s->lock);
		srv_sweep(s);
		pthread_mutex_lock(&s->lock);
		struct timespec ts;
		gw_clock_mono_deadline(&ts, every);
		while (s->sweeper_running &&
		    pthread_cond_timedwait(&s->sweep_cond, &s->lock, &ts) != ETIMEDOUT)
			;
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

int
srv_api_start(srv_server *s)
{
	s->ticker_running = true;
	int rc = pthread_create(&s->ticker, NULL, srv_ticker_main, s);
	if (rc != 0) {
		s->ticker_running = false;
		return -rc;
	}
	if (srv_sweep_every_ms(&s->cfg) == 0)
		return 0;
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->sweep_cond, &ca);
	pthread_condattr_destroy(&ca);
	s->sweeper_running = true;
	rc = pthread_create(&s->sweeper, NULL, srv_sweeper_main, s);
	if (rc != 0) {
		s->sweeper_running = false;
		pthread_cond_destroy(&s->sweep_cond);
	}
	return -rc;
}

void
srv_api_shutdown(srv_server *s, uint64_t wait_ms)
{
	uint64_t end = gw_clock_mono_ms() + wait_ms;
	pthread_mutex_lock(&s->lock);
	for (srv_job *j = s->jobs; j; j = j->next)
		atomic_store(&j->cancel, true);
	while (s->njobs > 0) {
		uint64_t now = gw_clock_mono_ms();
		if (now >= end)
			break;
		uint64_t left = end - now < 100 ? end - now : 100;
		struct timespec ts;
		gw_clock_mono_deadline(&ts, left);
		pthread_cond_timedwait(&s->cond, &s->lock, &ts);
		for (srv_job *j = s->jobs; j; j = j->next)
			atomic_store(&j->cancel, true);
	}
	if (s->njobs > 0)
		srv_log(s, "shutdown: %zu request(s) still open after %llu ms; closing them", s->njobs,
		    (unsigned long long)wait_ms);
	/* MHD must not be stopped with suspended connections */
	for (srv_job *j = s->jobs; j; j = j->next) {
		pthread_mutex_lock(&j->lock);
		srv_job_wake_locked(j);
		pthread_mutex_unlock(&j->lock);
	}
	bool running = s->ticker_running, sweeping = s->sweeper_running;
	s->ticker_running = false;
	s->sweeper_running = false;
	pthread_cond_broadcast(&s->cond);
	if (sweeping)
		pthread_cond_broadcast(&s->sweep_cond);
	pthread_mutex_unlock(&s->lock);
	if (running)
		pthread_join(s->ticker, NULL);
	if (sweeping) {
		pthread_join(s->sweeper, NULL);
		pthread_cond_destroy(&s->sweep_cond);
	}
}
