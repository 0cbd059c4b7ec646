/*
 * ws.h - Open Responses over WebSocket: GET /v1/responses with an RFC 6455
 * upgrade.
 *
 * libmicrohttpd makes the handshake (srv_ws_upgrade queues the 101 with
 * Sec-WebSocket-Accept) and hands over the socket; from then on one of the
 * server's WebSocket threads (tau-ws, one per event loop) owns it and
 * wslay frames it.  Each response.create message is a turn: a streamed
 * POST /v1/responses job of api.c (srv_api_turn_start) whose SSE frames
 * become one text message each.  One turn runs at a time per socket; later
 * messages wait in arrival order.  The socket remembers its most recent
 * response (context and output, store:false included) for
 * previous_response_id.  Errors are {"type":"error","status",...}
 * envelopes.
 *
 * Ownership: the srv_ws belongs to the server (srv_ws_start / srv_ws_free);
 * each socket belongs to its thread until MHD_upgrade_action closes it.
 */
#ifndef SRV_WS_H
#define SRV_WS_H

#include <microhttpd.h>

#include "server/server_int.h"

typedef struct srv_ws srv_ws;

/* Starts the WebSocket threads (one per event loop).  0 or -errno; *out
 * is the caller's, for srv_ws_shutdown and srv_ws_free. */
int srv_ws_start(srv_server *s, size_t nthreads, srv_ws **out);
/* Answers GET /v1/responses (its token already checked): the 101 upgrade
 * when the request asks for a version 13 WebSocket with a valid key, else
 * 426 upgrade_required (400 for a malformed key). */
enum MHD_Result srv_ws_upgrade(struct MHD_Connection *c, srv_req *r);
/* Ends every socket: the frames of turns that ended (shutdown's terminal
 * events) go out, then a close frame (1001), waiting at most wait_ms for
 * the writes; the sockets go back to MHD and the threads stop.  Call after
 * srv_api_shutdown, before the event loops stop. */
void srv_ws_shutdown(srv_ws *w, uint64_t wait_ms);
/* Frees w (NULL is fine): srv_ws_shutdown first, then the event loops
 * stop (MHD closes a socket handed over too late) and the worker pool is
 * joined, then this; it frees the sockets a turn kept past the shutdown's
 * waits too. */
void srv_ws_free(srv_ws *w);

#endif
