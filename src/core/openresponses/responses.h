/*
 * responses.h - the Open Responses model: request validation and
 * translation into normalized items, the ResponseResource object, and the
 * streaming event sequence.  Pure: no HTTP, no files, no network.
 *
 * Normalized items (cJSON objects) are the one conversation currency of the
 * gateway; sessions, stored responses and providers all speak them:
 *   {"type":"message","role":"user|system|developer|assistant",
 *    "content":[{"type":"input_text"|"output_text","text":..} |
 *               {"type":"input_image","image_url":..,"detail":..}]}
 *   {"type":"function_call","call_id":..,"name":..,"arguments":"<json text>"}
 *   {"type":"function_call_output","call_id":..,"output":"<text>"}
 */
#ifndef GW_RESPONSES_H
#define GW_RESPONSES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "core/base/buf.h"

/* An HTTP-shaped error: status, machine code, optional param, message. */
typedef struct gw_resp_error {
	unsigned status;        /* 0 when clear */
	char code[48];
	char param[64];         /* "" when not about one parameter */
	char message[512];
} gw_resp_error;

/* Sets e and returns -EINVAL, so callers can `return gw_resp_error_set(...)`. */
int gw_resp_error_set(gw_resp_error *e, unsigned status, const char *code, const char *param,
    const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Appends {"error":{"code","message","param","type"}} (sorted keys). */
void gw_resp_error_json(const gw_resp_error *e, gw_buf *out);

/* A validated POST /v1/responses body.  Every pointer member is owned by
 * the request and released by gw_resp_request_free. */
typedef struct gw_resp_request {
	cJSON *input;               /* normalized items of this request */
	char *instructions;         /* NULL when absent */
	cJSON *tools;               /* normalized function tools ([] when none) */
	cJSON *tool_choice;         /* "auto"/"none"/"required" or an object */
	cJSON *metadata;            /* object ({} when absent) */
	char *previous_response_id; /* NULL when absent */
	char *session_seed;         /* metadata.session_id, else conversation; NULL when none */
	char *model;                /* the request's model, NULL when absent or null */
	bool stream;
	bool store;                 /* default true */
	bool parallel_tool_calls;   /* default true */
	bool has_temperature, has_top_p, has_max_output_tokens;
	double temperature, top_p;
	uint64_t max_output_tokens;
	uint64_t input_chars;       /* Unicode scalar values of the translated input:
	                             * texts, call names, arguments, outputs, the
	                             * instructions and input_image URLs */
	cJSON *ignored;             /* sorted array of ignored field names */
} gw_resp_request;

/* Parses a request body (n bytes) into *out, a JSON object the caller
 * frees with cJSON_Delete: 0, or the 400 in e (malformed_json: empty, not
 * JSON, not an object; invalid_value: invalid UTF-8 or a NUL character,
 * naming the member and the byte offset) with *out NULL. */
int gw_resp_body_parse(const char *body, size_t n, cJSON **out, gw_resp_error *e);
/* Parses and validates body (n bytes) against the Open Responses request
 * schema.  Unknown and unhonoured fields are accepted and listed in
 * ->ignored ("model" included: the command line picks the model).  Returns
 * 0, or -EINVAL with e set (400 malformed_json / missing_input /
 * invalid_input / invalid_type / invalid_value /
 * invalid_function_call_output, 413 input_too_large).  A body with a
 * string (key or value) that is not well-formed UTF-8 or holds a NUL
 * (raw, or \u0000) is a 400 invalid_value whose param and message name
 * the member and the byte offset.  The caller frees
 * *out with gw_resp_request_free, on failure too. */
int gw_resp_request_parse(const char *body, size_t n, uint64_t max_input_chars,
    gw_resp_request *out, gw_resp_error *e);
/* gw_resp_request_parse; with input_optional an absent or null input is
 * accepted when previous_response_id names a response (out->input stays
 * [], the window being the chain's): POST /v1/responses/compact. */
int gw_resp_request_parse_ex(const char *body, size_t n, uint64_t max_input_chars,
    bool input_optional, gw_resp_request *out, gw_resp_error *e);
void gw_resp_request_free(gw_resp_request *r);
/* Takes name out of r->ignored: the server honours it after all (a routes
 * file makes "model" choose the route). */
void gw_resp_request_heed(gw_resp_request *r, const char *name);

/* Returns the text of the last user message in items (borrowed from
 * items), or "" when there is none.  Multi-part content is joined by
 * '\n' into scratch. */
const char *gw_resp_last_user_text(const cJSON *items, gw_buf *scratch);
/* Counts whitespace-separated words in every text of items (usage for
 * the offline provider). */
uint64_t gw_resp_count_words(const char *s);
uint64_t gw_resp_items_words(const cJSON *items);
/* Counts Unicode scalar values in the n bytes of UTF-8 at s. */
uint64_t gw_resp_utf8_chars(const char *s, size_t n);

/* ---- bounding a conversation ---------------------------------------------
 * A session's history and the context a previous_response_id chain gives a
 * continuation are bounded alike (--gateway-session-max-messages,
 * --gateway-session-max-bytes), by these helpers only. */

/* The weight of one item against a byte bound: the length of its compact
 * JSON (as gw_jw writes it; the form it is stored in) plus one, for the
 * line end a session stores it with.  scratch is the caller's, reused. */
size_t gw_resp_item_weight(const cJSON *item, gw_buf *scratch);
/* True when item begins a turn: a message whose role is not assistant. */
bool gw_resp_item_starts_turn(const cJSON *item);
/* How many times its JSON text a parsed item's weight can be at most: gw_jw
 * writes a raw control byte as \u00XX (6 bytes for 1), a number at most 4
 * times its text ("1e15"), everything else no longer than it was, and the
 * +1 is covered by the separator or line end after it. */
#define GW_RESP_WEIGHT_MAX_GROWTH 6
/* Bounds the array items in place: keeps the newest items, at most
 * max_items of them and, when max_bytes is not 0, only as many as weigh
 * (gw_resp_item_weight) at most max_bytes together (an item that would
 * pass the bound is dropped with every older one), then drops leading
 * items until one starts a turn.  Items are weighed newest first, and no
 * older than the first one that passes the bound; text_len, when not 0,
 * is the length of the JSON text the items were parsed from, and when
 * GW_RESP_WEIGHT_MAX_GROWTH times it is within max_bytes the items cannot
 * pass the byte bound and none is weighed.  Returns how many items were
 * dropped (and freed). */
size_t gw_resp_items_bound(cJSON *items, size_t max_items, size_t max_bytes, size_t text_len);

/* Appends prefix + 32 random hex digits ("resp_", "msg_", "fc_"). */
void gw_resp_new_id(gw_buf *b, const char *prefix);

/* ---- building a response ------------------------------------------------ */

/* Receives each SSE frame ("event: T\ndata: {...}\n\n"), complete, once. */
typedef void (*gw_resp_frame_fn)(void *ctx, const char *frame, size_t n);

typedef struct gw_resp_builder gw_resp_builder;

typedef struct gw_resp_usage {
	uint64_t input_tokens, output_tokens, total_tokens;
} gw_resp_usage;

/* Starts a response for req (borrowed; it must outlive the builder).
 * frame may be NULL (non-stream): then nothing is emitted.  model is the
 * served model name.  The caller frees the builder with gw_resp_builder_free. */
gw_resp_builder *gw_resp_builder_new(const gw_resp_request *req, const char *model,
    uint64_t created_at, gw_resp_frame_fn frame, void *ctx);
void gw_resp_builder_free(gw_resp_builder *b);
/* Replaces the id gw_resp_builder_new chose with id (copied; one made by
 * gw_resp_new_id with "resp_"), so a caller can name the response before
 * the builder is made on another thread.  Call before
 * gw_resp_builder_begin. */
void gw_resp_builder_set_id(gw_resp_builder *b, const char *id);
/* The response id ("resp_..."), owned by the builder. */
const char *gw_resp_builder_id(const gw_resp_builder *b);
/* Emits response.created and response.in_progress. */
void gw_resp_builder_begin(gw_resp_builder *b);
/* Appends assistant text, opening a message item on first use (and closing
 * an open function call first). */
void gw_resp_builder_text(gw_resp_builder *b, const char *s, size_t n);
/* Opens function call number index (the provider's index), closing any
 * open item.  call_id may be NULL or "" (a fresh one is made). */
void gw_resp_builder_tool_begin(gw_resp_builder *b, size_t index, const char *call_id,
    const char *name);
/* Appends argument text to function call index (opened if unknown). */
void gw_resp_builder_tool_args(gw_resp_builder *b, size_t index, const char *s, size_t n);
/* Closes open items (emitting their done events) and settles the status:
 * completed, or incomplete when incomplete_reason is non-NULL.  The
 * terminal event waits for gw_resp_builder_end, so the caller can persist
 * the response before a client can see it finished. */
void gw_resp_builder_finish(gw_resp_builder *b, const gw_resp_usage *u,
    const char *incomplete_reason);
/* Closes open items as incomplete and settles the status "failed" with the
 * error (code, message).  A finished response whose terminal event was not
 * sent yet may still be failed (its store failed). */
void gw_resp_builder_fail(gw_resp_builder *b, const char *code, const char *message);
/* Emits the terminal event: response.completed, response.incomplete or
 * response.failed (once; a no-op before finish or fail). */
void gw_resp_builder_end(gw_resp_builder *b);
/* True once finish or fail ran. */
bool gw_resp_builder_done(const gw_resp_builder *b);
/* True when any output (text or call) was produced. */
bool gw_resp_builder_has_output(const gw_resp_builder *b);
/* The output items so far (owned by the builder). */
const cJSON *gw_resp_builder_output(const gw_resp_builder *b);
/* Appends the full ResponseResource JSON (plus output_text and
 * ignored_fields) in its current state. */
void gw_resp_builder_json(const gw_resp_builder *b, gw_buf *out);
/* The final data line of a stream: "data: [DONE]\n\n". */
#define GW_RESP_SSE_DONE "data: [DONE]\n\n"

#endif
