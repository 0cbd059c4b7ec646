/*
 * reqlog.h - the foreground server's stderr: one line per request (the
 * request log) and the server's own messages, as text or JSON
 * (--log-format), with the bearer token cut out of every line the server
 * logs, on any sink.
 *
 * Ownership: nothing is kept; every string is borrowed for the call.
 * Thread-safe: each line goes out in one write.
 */
#ifndef SRV_REQLOG_H
#define SRV_REQLOG_H

#include <stdint.h>

#include "core/base/buf.h"
#include "server/srv_config.h"

/* Appends line to out with every occurrence of cfg's bearer token (as the
 * server compares it: trimmed) replaced by "[redacted]". */
void srv_reqlog_redact(const srv_config *cfg, const char *line, gw_buf *out);

/* Writes one server message (no newline; already redacted) to stderr in
 * cfg's format: "tau-gateway: LINE", or {"time_unix_ms":..,"event":"message",
 * "message":LINE}.  Control characters become spaces in text. */
void srv_reqlog_message(const srv_config *cfg, const char *line);

/* Writes the request log line of one finished request to stderr, unless
 * cfg is quiet or logs to a sink of its own (cfg->log: the console):
 *   tau-gateway: request method=GET path=/healthz status=200 duration_ms=0.214 client=127.0.0.1
 *       [response_id=resp_...]
 *   {"time_unix_ms":..,"event":"request","method":"GET","path":"/healthz","status":200,
 *    "duration_ms":0.214,"client":"127.0.0.1"[,"response_id":"resp_..."]}
 * path is the decoded URL path (never the query string); bytes that are
 * not printable ASCII, and '%', are written percent-encoded, and the token
 * is redacted.  client is the client's address (the peer's, or the one a
 * trusted proxy named; proxy.h), left out when NULL or "".  response_id
 * may be NULL or "".  target (routes: the "provider/model" that answered,
 * NULL or "" when none) is written as target=... / "target", and
 * upstream_request_id (the request id the upstream's last attempt named in
 * its reply headers, NULL or "" when none; printable ASCII without spaces)
 * as upstream_request_id=... / "upstream_request_id".  Borrows every
 * string. */
void srv_reqlog_request(const srv_config *cfg, const char *method, const char *path,
    const char *client, unsigned status, uint64_t duration_us, const char *response_id,
    const char *target, const char *upstream_request_id);

#endif
