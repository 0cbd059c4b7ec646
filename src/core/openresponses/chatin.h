/*
 * chatin.h - the inbound OpenAI Chat Completions wire: a POST
 * /v1/chat/completions body translated into the gateway's normalized
 * request (gw_resp_request), and the model's output rendered back as a
 * chat.completion object or as chat.completion.chunk SSE frames ending in
 * "data: [DONE]".  Pure: no HTTP, no files, no network.  (chat.h is the
 * other direction: the gateway as a Chat Completions client upstream.)
 *
 * A translated request is never stored and has no session: store is false,
 * and metadata, previous_response_id and conversation play no part.
 *
 * Ownership: gw_chatin_parse fills a caller-owned gw_resp_request (freed
 * with gw_resp_request_free); a gw_chatin_stream is made by
 * gw_chatin_stream_new and freed by gw_chatin_stream_free.
 */
#ifndef GW_CHATIN_H
#define GW_CHATIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "core/base/buf.h"
#include "core/openresponses/responses.h"

/* Parses and validates a Chat Completions body (n bytes).  messages
 * (system, developer, user with text and image_url parts, assistant with
 * content and tool_calls, tool), tools, tool_choice, temperature, top_p,
 * max_tokens / max_completion_tokens, parallel_tool_calls, stream and
 * stream_options.include_usage are honoured; model is read into *model
 * (NULL when absent: the caller's provider decides); other members are
 * accepted and listed in out->ignored.  Returns 0, or -EINVAL with e set:
 * 400 malformed_json, invalid_type / invalid_value /
 * missing_required_parameter with param naming the member
 * ("messages[2].tool_calls[0].function.name"), 413 input_too_large.  The
 * caller frees *out (gw_resp_request_free) and *model (free), on failure
 * too. */
int gw_chatin_parse(const char *body, size_t n, uint64_t max_input_chars, gw_resp_request *out,
    bool *include_usage, char **model, gw_resp_error *e);

/* Maps the provider's finish ("stop", "length", ...) and whether the
 * output holds a function call to a Chat Completions finish_reason
 * (static). */
const char *gw_chatin_finish_reason(const char *finish, bool tool_calls);

/* Appends the chat.completion object for output (the normalized output
 * items of gw_resp_builder_output), borrowed. */
void gw_chatin_json(const char *id, const char *model, uint64_t created, const cJSON *output,
    const char *finish, const gw_resp_usage *u, gw_buf *out);

/* Appends a new completion id ("chatcmpl-" + 32 hex digits). */
void gw_chatin_new_id(gw_buf *b);

/* A stream's chunk writer: every call emits whole SSE frames through
 * frame ("data: {...}\n\n"). */
typedef struct gw_chatin_stream gw_chatin_stream;

/* id and model are copied. */
gw_chatin_stream *gw_chatin_stream_new(const char *id, const char *model, uint64_t created,
    bool include_usage, gw_resp_frame_fn frame, void *ctx);
void gw_chatin_stream_free(gw_chatin_stream *s);
/* The first chunk (role assistant); the other calls send it when needed. */
void gw_chatin_stream_begin(gw_chatin_stream *s);
void gw_chatin_stream_text(gw_chatin_stream *s, const char *t, size_t n);
/* Opens the tool call the provider numbers index (any number naming the
 * call: the chunks number the calls 0, 1, ... in the order they began);
 * call_id NULL or "": a fresh "call_" id. */
void gw_chatin_stream_tool_begin(gw_chatin_stream *s, size_t index, const char *call_id,
    const char *name);
void gw_chatin_stream_tool_args(gw_chatin_stream *s, size_t index, const char *t, size_t n);
/* The last chunk with finish_reason, the usage chunk when include_usage,
 * and "data: [DONE]". */
void gw_chatin_stream_finish(gw_chatin_stream *s, const char *finish, const gw_resp_usage *u);
/* An error frame (data: {"error":{...}}) instead of the end; no [DONE]
 * follows, so a client cannot take the answer for complete. */
void gw_chatin_stream_fail(gw_chatin_stream *s, const gw_resp_error *e);

#endif
