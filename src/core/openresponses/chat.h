/*
 * chat.h - the OpenAI chat-completions wire format: translating a provider
 * call into a /chat/completions request body, and translating replies
 * (JSON or SSE chunks) back into sink events; and what the other wires
 * share, among it the walk of a call's items into turns
 * (gw_chat_turns_write).  Pure: no network.
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
#include "core/base/json.h"
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

/* The conversation as turns of parts, for the wires that group a role's
 * consecutive content into one turn (anthropic "messages" of "content"
 * blocks, gemini "contents" of "parts").  gw_chat_turns_write walks the
 * call's items once: a user or assistant message's text parts (empty text
 * skipped, as both APIs refuse it) and its images (user turns, whatever the
 * message's role), a function_call (an assistant part), a
 * function_call_output (a user part); system and developer messages are
 * left to gw_chat_system_text.  For each part it opens the part's object
 * (and, when the role changes, closes the turn open and opens one: {"role":
 * ..., <parts_key>: [...]}), calls the wire's callback to write the part's
 * members, and closes the object. */
typedef struct gw_chat_turns {
	gw_jw *w;                  /* where the part's members go */
	void *ctx;                 /* the wire's */
	unsigned turn;             /* the turn open, counted from 1 */
	const char *role;          /* its role (the wire's name), NULL: none open */
} gw_chat_turns;

typedef struct gw_chat_turns_wire {
	const char *key;           /* the array's member: "messages", "contents" */
	const char *parts_key;     /* a turn's parts: "content", "parts" */
	const char *user, *assistant; /* the roles' names on the wire */
	void (*text)(gw_chat_turns *t, const char *text);
	void (*image)(gw_chat_turns *t, const char *url);      /* url never NULL */
	void (*call)(gw_chat_turns *t, const cJSON *fc);
	/* items: the whole history, for a wire that must look the call up */
	void (*output)(gw_chat_turns *t, const cJSON *items, const cJSON *out);
} gw_chat_turns_wire;

/* Writes key: [turns...] for call's items into w (ctx: the wire's). */
void gw_chat_turns_write(gw_jw *w, const gw_provider_call *call, const gw_chat_turns_wire *wire,
    void *ctx);

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
