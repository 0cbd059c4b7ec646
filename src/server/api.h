/*
 * api.h - the Open Responses routes: POST /v1/responses (JSON and SSE),
 * GET and DELETE /v1/responses/{id}, GET /v1/responses/{id}/input_items.
 *
 * Work that may block runs while the connection is suspended: an upstream
 * call without a session on the handler's event loop engine, anything that
 * may wait for a session lock or read a chain of stored responses (a
 * continuation's context, input_items) on the server's worker pool.  SSE frames
 * reach the connection through a per-stream queue, one frame per write.
 *
 * Ownership: jobs and streams are reference-counted internally; the
 * connection side lets go in srv_api_request_done.
 */
#ifndef SRV_API_H
#define SRV_API_H

#include <microhttpd.h>

#include "server/server_int.h"

/* Handles POST /v1/responses once the whole body is in r->body. */
enum MHD_Result srv_api_post(struct MHD_Connection *c, srv_req *r);

/* Another inbound wire over the same job (chatapi.c): how the model's
 * output reaches the client when it is not the Open Responses one.  The
 * job still runs the response builder (without frames) for the output
 * items; the wire renders.  Its callbacks run on whichever thread runs the
 * job, one at a time.  push(pctx, ...) queues one SSE frame. */
typedef void (*srv_api_push_fn)(void *pctx, const char *frame, size_t n);
typedef struct srv_api_wire {
	/* the run begins: model is the served model (borrowed) */
	void (*begin)(void *w, const char *model, srv_api_push_fn push, void *pctx);
	/* the provider's sink: output into the builder b and the wire */
	gw_provider_sink (*sink)(void *w, gw_resp_builder *b);
	/* JSON answer of a run that succeeded: appended to out */
	void (*json)(void *w, const gw_resp_builder *b, const gw_provider_outcome *o, gw_buf *out);
	/* a stream's last frames: the end (e NULL) or the error e */
	void (*end)(void *w, const gw_provider_outcome *o, const gw_resp_error *e);
	void (*free)(void *w);
	/* optional (NULL: the call is the conversation): the context is
	 * complete (a chain's items, then the request's); the wire may
	 * replace *context (freeing the one it was given) with the items the
	 * provider is to see.  offline: the provider never waits on the
	 * network.  False: the provider is not called (the answer needs no
	 * model); the run ends as one that succeeded with no output. */
	bool (*prepare)(void *w, cJSON **context, bool offline);
	/* optional: a provider call that succeeded may still fail the run
	 * (its output unusable): false with e set */
	bool (*check)(void *w, const gw_resp_builder *b, gw_resp_error *e);
} srv_api_wire;

/* Runs a request another wire parsed (rq: no session, not stored) as a job
 * of POST /v1/responses does, answering through wire; a previous_response_id
 * in rq is walked first on the worker pool, as for POST /v1/responses (the
 * chain's items head the context; its session is not used).  Takes *rq
 * (left zeroed) and w (freed by wire->free when the job ends), on failure
 * too. */
enum MHD_Result srv_api_post_request(struct MHD_Connection *c, srv_req *r, gw_resp_request *rq,
    const srv_api_wire *wire, void *w);
/* A WebSocket turn's receiver (ws.c).  frame gets each SSE frame of the
 * turn ("event: T\ndata: {...}\n\n", borrowed for the call), in order,
 * from whichever thread runs the turn; done comes once, last: e NULL and
 * mem the response's context and output (the receiver's, to cJSON_Delete)
 * when it succeeded, else e (mem NULL); id and key (its session key, "":
 * none) are borrowed for the call. */
typedef struct srv_api_turn_cb {
	void (*frame)(void *ctx, const char *frame, size_t n);
	void (*done)(void *ctx, const gw_resp_error *e, const char *id, const char *key, cJSON *mem);
} srv_api_turn_cb;

/* Runs rq (taken, left zeroed) as a streamed POST /v1/responses job whose
 * frames go to cb (ctx) instead of a connection: inline on the calling
 * thread when nothing can block (then cb has been called when this
 * returns), else on the worker pool.  history (taken; NULL: none) is the
 * context rq's previous_response_id names, from the socket's memory, with
 * session_key (borrowed); history_stored says whether that response was
 * stored (if not, a stored continuation is stored whole).  Without
 * history a previous_response_id is walked in the store.  Returns the job,
 * whose reference the caller gives back with srv_api_turn_release after
 * done; NULL with e set when no route serves rq's model (cb never called). */
struct srv_job *srv_api_turn_start(srv_server *s, gw_resp_request *rq, cJSON *history,
    bool history_stored, const char *session_key, const srv_api_turn_cb *cb, void *ctx,
    gw_resp_error *e);
/* Asks the turn to stop (the client went away): its upstream call is
 * cancelled as an SSE disconnect cancels it; done still comes. */
void srv_api_turn_cancel(struct srv_job *j);
/* Gives back srv_api_turn_start's reference. */
void srv_api_turn_release(struct srv_job *j);
/* Handles GET and DELETE /v1/responses/{id}. */
enum MHD_Result srv_api_get(struct MHD_Connection *c, srv_req *r, const char *id);
enum MHD_Result srv_api_delete(struct MHD_Connection *c, srv_req *r, const char *id);
/* Handles GET /v1/responses/{id}/input_items: the items the stored
 * response's model call saw as input, as an OpenAI-style list (query:
 * limit 1..100, order asc|desc, after). */
enum MHD_Result srv_api_input_items(struct MHD_Connection *c, srv_req *r, const char *id);
/* Phase PROVIDED: finishes the job whose provider call ended while the
 * connection waited (persist, build the answer) and queues the answer, on
 * the MHD thread that owns the connection. */
enum MHD_Result srv_api_resume(struct MHD_Connection *c, srv_req *r);
/* Phase CHAINED: runs the continuation whose chain a worker has read
 * (srv_chain_main) as any other POST, on the MHD thread that owns the
 * connection. */
enum MHD_Result srv_api_chained(struct MHD_Connection *c, srv_req *r);
/* The connection is finished with r: detaches and cancels its stream. */
void srv_api_request_done(srv_req *r);
/* Starts the ticker that lets suspended streams check for a vanished
 * client and send keepalives, and, when a session or response TTL is set,
 * the sweeper thread that removes what expired (gw_session_sweep,
 * gw_respstore_sweep) at start and then periodically.  0 or -errno. */
int srv_api_start(srv_server *s);
/* Cancels every job (streams end with a terminal event), waits up to
 * wait_ms for them to finish, resumes what is still suspended and stops
 * the ticker and the sweeper. */
void srv_api_shutdown(srv_server *s, uint64_t wait_ms);

#endif
