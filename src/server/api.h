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
