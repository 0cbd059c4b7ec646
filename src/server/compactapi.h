/*
 * compactapi.h - POST /v1/responses/compact: a conversation window (the
 * request's input items, after the chain its previous_response_id names)
 * compacted by the core's policy (core/openresponses/compact.h) into a list
 * of items a client sends as the base input of a new chain.
 *
 * A compaction runs as a job of api.c (the same bearer token, body limit,
 * route by model, chain walk on the worker pool, provider and engine,
 * cancellation, Server-Timing and metrics as POST /v1/responses), with
 * this module as its wire (srv_api_wire): prepare splits the window and
 * swaps the conversation for the summary request (or asks for no call at
 * all: an offline model, or nothing to fold), check refuses a model reply
 * with no text (502), json renders the response.compaction object.
 * Nothing is stored and no session is used.
 *
 * Ownership: the per-request wire state is made here and freed by the job
 * (srv_api_wire.free).
 */
#ifndef SRV_COMPACTAPI_H
#define SRV_COMPACTAPI_H

#include <microhttpd.h>

#include "server/server_int.h"

/* Handles POST /v1/responses/compact once the whole body is in r->body. */
enum MHD_Result srv_compact_post(struct MHD_Connection *c, srv_req *r);

#endif
