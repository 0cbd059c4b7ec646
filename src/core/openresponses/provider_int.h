/*
 * provider_int.h - what the provider's files share, and nothing outside
 * them includes.
 *
 * The provider is split the way curl splits vtls.c from its backends:
 *   provider.c         the interface (gw_provider_new, _start, _run, ...)
 *                      and the offline "local/echo" model;
 *   provider_curl.c    the libcurl engine: calls and their attempts,
 *                      retries, the epoll-driven multi handle and the
 *                      provider's own transfer thread;
 *   provider_openai.c  the OpenAI /chat/completions wire format, one
 *                      gw_provider_wire (its translation is chat.c);
 *   provider_anthropic.c  the Anthropic Messages API wire;
 *   provider_gemini.c  the Google Gemini generateContent wire.
 * A wire says how a call becomes an upstream request and how the upstream's
 * reply (SSE events or one JSON body) reaches the sink; the engine does the
 * rest, whatever the wire.
 */
#ifndef GW_PROVIDER_INT_H
#define GW_PROVIDER_INT_H

#include "core/base/buf.h"
#include "core/openresponses/chat.h"
#include "core/openresponses/provider.h"

#include <stdatomic.h>

typedef struct gw_provider_wire {
	const char *name;           /* "openai": the model prefix before '/' */
	/* appended to the base URL (unless it ends with it); "{model}" in it
	 * stands for the upstream model, URL-escaped */
	const char *path;
	const char *stream_path;    /* the path of a streamed call; NULL: path */
	const char *default_base;   /* used when the configuration gives none */
	const char *auth_prefix;    /* header line before the key, "Authorization: Bearer " */
	const char *const *headers; /* NULL or more header lines, NULL-terminated */
	const char *request_id_header; /* the reply header naming the upstream's request id */
	/* the upstream request body for call (upstream_model: after the '/') */
	void (*request)(const gw_provider_call *call, const char *upstream_model, gw_buf *out);
	/* one SSE event's data / one whole JSON reply: 0, or -EPROTO with
	 * st->error set */
	int (*event)(const char *data, size_t n, const gw_provider_sink *sink, gw_chat_state *st);
	int (*reply)(const char *data, size_t n, const gw_provider_sink *sink, gw_chat_state *st);
} gw_provider_wire;

extern const gw_provider_wire gw_provider_wire_openai;
extern const gw_provider_wire gw_provider_wire_anthropic;
extern const gw_provider_wire gw_provider_wire_gemini;

/* The upstream half of a provider (libcurl), opaque outside provider_curl.c. */
typedef struct gw_provider_upstream gw_provider_upstream;

struct gw_provider {
	char *model;                /* as configured: "openai/gpt-4o-mini" */
	uint64_t timeout_ms, max_retries;
	gw_provider_attempt_fn attempt;
	gw_provider_log_fn log;
	void *ctx;
	gw_provider_upstream *up;   /* NULL for the offline model */
};

/* Formats one log line into p's log sink (nothing when it has none). */
void gw_provider_logf(gw_provider *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Fills o's failure fields; returns rc. */
int gw_provider_fail(gw_provider_outcome *o, int rc, unsigned status, const char *code,
    const char *fmt, ...) __attribute__((format(printf, 5, 6)));
bool gw_provider_cancelled(const atomic_bool *cancel);

/* Gives p an upstream speaking wire to the model upstream_model (copied);
 * base_url and api_key come from cfg and are copied.  Freed by
 * gw_provider_upstream_free, which first ends the transfer thread. */
void gw_provider_upstream_new(gw_provider *p, const gw_provider_wire *wire,
    const char *upstream_model, const gw_provider_config *cfg);
void gw_provider_upstream_free(gw_provider *p);
/* Starts an upstream call on p's transfer thread / on engine g (whose
 * provider has an upstream).  Arguments as gw_provider_start's. */
void gw_provider_upstream_start(gw_provider *p, const gw_provider_call *call,
    const gw_provider_sink *sink, const atomic_bool *cancel, gw_provider_done_fn done,
    void *done_ctx);
void gw_provider_upstream_start_on(gw_provider_engine *g, const gw_provider_call *call,
    const gw_provider_sink *sink, const atomic_bool *cancel, gw_provider_done_fn done,
    void *done_ctx);
/* Starts an upstream call of p (which has an upstream) on engine g, made
 * for any provider.  Arguments as gw_provider_start's. */
void gw_provider_upstream_start_via(gw_provider_engine *g, gw_provider *p,
    const gw_provider_call *call, const gw_provider_sink *sink, const atomic_bool *cancel,
    gw_provider_done_fn done, void *done_ctx);
/* The provider an engine was made for (borrowed). */
gw_provider *gw_provider_engine_owner(const gw_provider_engine *g);

#endif
