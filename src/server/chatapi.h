/*
 * chatapi.h - the OpenAI-compatible inbound routes: POST
 * /v1/chat/completions (JSON and SSE) and GET /v1/models.
 *
 * A chat completion runs as a job of api.c (the same provider, engine,
 * worker pool, limits, cancellation and metrics as POST /v1/responses),
 * with this module as its wire (srv_api_wire): the request is translated by
 * gw_chatin_parse and the answer rendered as chat.completion or
 * chat.completion.chunk frames.  Nothing is stored and no session is used.
 *
 * Ownership: the per-request wire state is made here and freed by the job
 * (srv_api_wire.free).
 */
#ifndef SRV_CHATAPI_H
#define SRV_CHATAPI_H

#include <microhttpd.h>

#include "core/base/buf.h"
#include "server/server_int.h"

/* Handles POST /v1/chat/completions once the whole body is in r->body. */
enum MHD_Result srv_chat_post(struct MHD_Connection *c, srv_req *r);
/* Handles GET /v1/models. */
enum MHD_Result srv_chat_models(struct MHD_Connection *c, srv_req *r);
/* Appends the /v1/models list: the served models in the OpenAI list
 * format: with --gateway-routes every route's public name (file order),
 * else the one --model names.  out is the caller's. */
void srv_chat_models_json(srv_server *s, gw_buf *out);

#endif
