/*
 * chat.h - the OpenAI chat-completions wire format: translating a provider
 * call into a /chat/completions request body, and translating replies
 * (JSON or SSE chunks) back into sink events.  Pure: no network.
 *
 * The SSE reader takes bytes as they come off the network, so lines and
 * multi-byte UTF-8 characters split across reads are reassembled before
 * anything is parsed.
 */
#ifndef GW_CHAT_H
#define GW_CHAT_H

#include <stdbool.h>
#include <stddef.h>

#include "core/base/buf.h"
#include "core/openresponses/provider.h"

/* Appends the /chat/completions request body for call to out. */
void gw_chat_request_body(const gw_provider_call *call, const char *model, gw_buf *out);

typedef struct gw_chat_state gw_chat_state;

/* Helpers the other wires (provider_anthropic.c, provider_gemini.c) share. */

/* Appends the system text of call to out: its instructions, then the text
 * of its system and developer messages, joined by blank lines. */
void gw_chat_system_text(const gw_provider_call *call, gw_buf *out);
/* Appends the text parts of a message's content, joined by '\n'. */
void gw_chat_content_text(const cJSON *content, gw_buf *out);
/* True when url is a base64 data URL "data:<mime>;base64,<data>"; then
 * *mime (mime_len bytes) and *data point into url. */
bool gw_chat_data_url(const char *url, const char **mime, size_t *mime_len, const char **data);
/* Maps Open Responses' tool_choice onto a mode: "auto", "none",
 * "required", or "function" with *name (borrowed) set. */
const char *gw_chat_tool_mode(const gw_provider_call *call, const char **name);
/* Marks st failed with what (a fixed text, never upstream content). */
int gw_chat_fail(gw_chat_state *st, const char *what);
/* Parses a reply or event: a JSON object, else NULL with st->error set
 * (also when it carries an "error" member).  The caller deletes it. */
cJSON *gw_chat_parse(const char *json, size_t n, gw_chat_state *st);
/* Passes text to sink (nothing when n is 0), marking st emitted. */
void gw_chat_emit_text(const gw_provider_sink *sink, gw_chat_state *st, const char *s, size_t n);

/* Accumulated state of one reply. */
struct gw_chat_state {
	gw_resp_usage usage;
	char finish[24];
	bool done;              /* [DONE] seen, or a complete JSON reply applied */
	bool emitted;           /* the sink received something */
	char error[256];        /* "" or why the reply is unusable */
	/* for the wires whose tool calls need counting (gemini) or whose
	 * argument stream needs closing (anthropic) */
	size_t ntools;          /* tool calls begun so far */
	size_t open_tool;       /* 1 + the index of the tool block open, 0: none */
	bool open_tool_args;    /* that block received argument text */
};

/* Applies one parsed chunk / reply.  0, or -EPROTO with st->error set. */
int gw_chat_apply_chunk(const char *json, size_t n, const gw_provider_sink *sink,
    gw_chat_state *st);
int gw_chat_apply_reply(const char *json, size_t n, const gw_provider_sink *sink,
    gw_chat_state *st);

/* An incremental server-sent-events reader.  Zero-initialize, feed bytes,
 * and release with gw_chat_sse_free. */
typedef struct gw_chat_sse {
	gw_buf line;            /* the incomplete current line */
	gw_buf data;            /* data: lines of the current event */
	bool has_data;
} gw_chat_sse;

/* Receives each event's data (lines joined with '\n').  Returns 0 to go on,
 * non-zero to stop feeding (that value is returned by the feed call). */
typedef int (*gw_chat_sse_fn)(void *ctx, const char *data, size_t n);

/* Feeds n bytes; calls fn for every complete event.  Returns 0, fn's
 * non-zero value, or -E2BIG when a line exceeds 8 MiB. */
int gw_chat_sse_feed(gw_chat_sse *s, const char *p, size_t n, gw_chat_sse_fn fn, void *ctx);
/* Ends the stream: dispatches a final event that lacked its blank line. */
int gw_chat_sse_end(gw_chat_sse *s, gw_chat_sse_fn fn, void *ctx);
void gw_chat_sse_free(gw_chat_sse *s);

#endif
