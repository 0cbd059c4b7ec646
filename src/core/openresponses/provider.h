/*
 * provider.h - the model providers behind one interface: "local/echo"
 * (embedded, offline, deterministic), "openai/<model>" (any
 * OpenAI-compatible /chat/completions server), "anthropic/<model>" (the
 * Anthropic Messages API) and "google/<model>" (the Gemini API), the
 * last three through libcurl.
 *
 * A run takes the whole conversation as normalized Open Responses items
 * (see responses.h) and reports what the model produces through a sink, as
 * it arrives, so streaming and non-streaming callers share one code path.
 * A run can be cancelled from another thread through an atomic flag; it
 * then ends within about 100 ms.
 *
 * Runs are asynchronous and run on an engine: one libcurl multi handle,
 * its connection cache and an epoll set of curl's sockets, stepped by the
 * thread that owns it, so many calls share one thread and a caller never
 * blocks on the network.  An event loop may own engines and start calls on
 * them (gw_provider_start_on); any other thread uses gw_provider_start,
 * whose calls run on the provider's own transfer thread and engine.
 * gw_provider_run is the blocking form for callers that can wait.
 *
 * Ownership: a gw_provider is created by gw_provider_new and released by
 * gw_provider_free; config strings are copied.  gw_provider_start and
 * gw_provider_run may be called from many threads at once.
 */
#ifndef GW_PROVIDER_H
#define GW_PROVIDER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "core/base/err.h"
#include "core/openresponses/responses.h"

/* What a provider is asked.  Everything is borrowed for the run. */
typedef struct gw_provider_call {
	const char *instructions;   /* NULL or the request's instructions */
	const cJSON *items;         /* the whole context: history + new input */
	const cJSON *tools;         /* normalized function tools (may be empty) */
	const cJSON *tool_choice;   /* NULL, a string or an object */
	bool parallel_tool_calls;
	bool has_temperature, has_top_p, has_max_output_tokens;
	double temperature, top_p;
	uint64_t max_output_tokens;
	bool stream;                /* ask the upstream for SSE */
} gw_provider_call;

/* Where output goes as it arrives.  Strings are borrowed for the call. */
typedef struct gw_provider_sink {
	void *ctx;
	void (*text)(void *ctx, const char *s, size_t n);
	void (*tool_begin)(void *ctx, size_t index, const char *call_id, const char *name);
	void (*tool_args)(void *ctx, size_t index, const char *s, size_t n);
} gw_provider_sink;

typedef struct gw_provider_outcome {
	gw_resp_usage usage;
	char finish[24];          /* "stop", "length", "tool_calls", ... */
	/* failure (http_status != 0): what the gateway answers */
	unsigned http_status;     /* 502 upstream_error, 504 upstream_timeout, 499 cancelled */
	char code[32];
	char message[256];
	unsigned upstream_status; /* last upstream HTTP status, 0 when none */
	unsigned attempts;
	bool emitted;             /* something reached the sink */
	char request_id[96];      /* the last attempt's upstream request id, "" if none */
	/* an engine's call (gw_provider_start_on/_via): when the engine step
	 * that saw it end began (gw_clock_mono_ns), so the reading of the
	 * reply and whatever that step did before calling done count as the
	 * caller's time, not the upstream's; 0 for a call run otherwise */
	uint64_t done_ns;
} gw_provider_outcome;

/* Defaults, the one place these numbers are written (the flag table uses
 * them). */
#define GW_PROVIDER_DEFAULT_TIMEOUT_MS 120000
#define GW_PROVIDER_DEFAULT_MAX_RETRIES 2
#define GW_PROVIDER_DEFAULT_BASE_URL "https://api.openai.com/v1"

/* Called once per upstream attempt with its HTTP status (0: no response). */
typedef void (*gw_provider_attempt_fn)(void *ctx, unsigned status);
/* One log line, no newline. */
typedef void (*gw_provider_log_fn)(void *ctx, const char *line);

typedef struct gw_provider_config {
	const char *model;          /* "local/echo" or "<provider>/<model>" */
	const char *base_url;       /* NULL or "": the provider's default */
	const char *api_key;        /* may be NULL or "" (no key header) */
	uint64_t timeout_ms;        /* per request; for streams, the longest silence; 0: default */
	uint64_t max_retries;
	gw_provider_attempt_fn attempt;
	gw_provider_log_fn log;
	void *ctx;                  /* for attempt and log */
} gw_provider_config;

typedef struct gw_provider gw_provider;

/* Initializes libcurl once per process; call before any thread starts. */
void gw_provider_global_init(void);
/* The version of the libcurl the upstreams run on, for --version
 * (static). */
const char *gw_provider_curl_version(void);

/* Creates a provider.  0, or -EINVAL with err set (unknown model). */
int gw_provider_new(const gw_provider_config *cfg, gw_provider **out, gw_err *err);
/* Ends the provider's transfer thread and frees p.  Runs still open on it
 * are ended as cancelled (their done is called) first.  Engines made for p
 * must be freed before. */
void gw_provider_free(gw_provider *p);
/* The model name reported in responses (owned by p). */
const char *gw_provider_model(const gw_provider *p);
/* True when a run never waits on the network (the offline provider), so
 * a caller may run it on a thread that must not block. */
bool gw_provider_offline(const gw_provider *p);

/* Called once when a run ends: rc is 0 on success or -EIO / -ETIMEDOUT /
 * -ECANCELED with out->http_status, code and message set.  out is valid
 * for the call only. */
typedef void (*gw_provider_done_fn)(void *ctx, int rc, const gw_provider_outcome *out);

/* Starts one model call.  call is borrowed for this function only (the
 * upstream request is built before it returns); *sink is copied, but
 * sink->ctx, cancel and done_ctx must stay valid until done has been
 * called.  The sink and done run on the provider's transfer thread, or,
 * for the offline provider, on the caller's thread before this returns.
 * Retries (with backoff and jitter, honouring Retry-After) happen only
 * while nothing has reached the sink. */
void gw_provider_start(gw_provider *p, const gw_provider_call *call, const gw_provider_sink *sink,
    const atomic_bool *cancel, gw_provider_done_fn done, void *done_ctx);

/* An engine runs upstream calls on the thread that steps it, so an event
 * loop can drive its own calls with no hand-off to another thread.  One
 * thread at a time uses an engine; handing it over (made on one thread,
 * stepped on a loop thread, freed after that thread is joined) needs a
 * happens-before such as pthread_create and pthread_join.  The caller owns
 * it; gw_provider_engine_free ends calls still open as cancelled (their
 * done is called).  The provider must outlive its engines.  An engine
 * runs the calls of the provider it was made for (gw_provider_start_on)
 * and of any other (gw_provider_start_via); they share its connection
 * cache. */
typedef struct gw_provider_engine gw_provider_engine;
gw_provider_engine *gw_provider_engine_new(gw_provider *p);
void gw_provider_engine_free(gw_provider_engine *g);
/* A descriptor that polls readable when gw_provider_engine_step has
 * socket work, and the ms until it has timed work (-1: none). */
int gw_provider_engine_fd(const gw_provider_engine *g);
int gw_provider_engine_timeout(const gw_provider_engine *g);
/* Does what is ready (never blocks): transfers, done callbacks, retries,
 * cancels and deadlines. */
void gw_provider_engine_step(gw_provider_engine *g);
/* gw_provider_start on g: sink and done run inside gw_provider_engine_step
 * (or, for the offline provider, before this returns). */
void gw_provider_start_on(gw_provider_engine *g, const gw_provider_call *call,
    const gw_provider_sink *sink, const atomic_bool *cancel, gw_provider_done_fn done,
    void *done_ctx);

/* gw_provider_start_on for p's call, p not necessarily the provider g was
 * made for; p (borrowed) must outlive the call (until done has run). */
void gw_provider_start_via(gw_provider_engine *g, gw_provider *p, const gw_provider_call *call,
    const gw_provider_sink *sink, const atomic_bool *cancel, gw_provider_done_fn done,
    void *done_ctx);

/* Runs one model call and waits for it: gw_provider_start plus the wait.
 * Returns done's rc, with its outcome copied into *out.  Everything is
 * borrowed for the call. */
int gw_provider_run(gw_provider *p, const gw_provider_call *call, const gw_provider_sink *sink,
    const atomic_bool *cancel, gw_provider_outcome *out);

#endif
