/*
 * fuzz_provider.h - what the gateway does with a conversation once it is
 * accepted (header only, for the request and stored-response targets):
 * the openai wire's request body, and a run of the offline provider
 * (local/echo) into a response builder, streamed and rendered.
 */
#ifndef TAU_FUZZ_PROVIDER_H
#define TAU_FUZZ_PROVIDER_H

#include <stdlib.h>

#include "core/openresponses/chat.h"
#include "core/openresponses/provider.h"
#include "core/openresponses/responses.h"

static inline void
fuzz_frame(void *ctx, const char *frame, size_t n)
{
	size_t *total = ctx;
	*total += n + (frame[0] != 0);
}

static inline void
fuzz_sink_text(void *ctx, const char *s, size_t n)
{
	gw_resp_builder_text(ctx, s, n);
}

static inline void
fuzz_sink_tool_begin(void *ctx, size_t index, const char *call_id, const char *name)
{
	gw_resp_builder_tool_begin(ctx, index, call_id, name);
}

static inline void
fuzz_sink_tool_args(void *ctx, size_t index, const char *s, size_t n)
{
	gw_resp_builder_tool_args(ctx, index, s, n);
}

static inline gw_provider *
fuzz_echo(void)
{
	static gw_provider *p;
	if (p == NULL) {
		gw_provider_config cfg = { .model = "local/echo" };
		gw_err err;
		if (gw_provider_new(&cfg, &p, &err) != 0)
			abort();
	}
	return p;
}

/* Runs items (the whole context) as the API would for req: the upstream
 * body for an openai model, then local/echo into a streaming builder. */
static inline void
fuzz_run(const gw_resp_request *req, const cJSON *items)
{
	gw_provider_call call = {
		.instructions = req->instructions,
		.items = items,
		.tools = req->tools,
		.tool_choice = req->tool_choice,
		.parallel_tool_calls = req->parallel_tool_calls,
		.has_temperature = req->has_temperature,
		.has_top_p = req->has_top_p,
		.has_max_output_tokens = req->has_max_output_tokens,
		.temperature = req->temperature,
		.top_p = req->top_p,
		.max_output_tokens = req->max_output_tokens,
		.stream = req->stream,
	};
	gw_buf body = GW_BUF_INIT;
	gw_chat_request_body(&call, "gpt-fuzz", &body);
	gw_buf_free(&body);

	size_t total = 0;
	gw_resp_builder *b = gw_resp_builder_new(req, "local/echo", 1700000000, fuzz_frame, &total);
	gw_resp_builder_begin(b);
	gw_provider_sink sink = { b, fuzz_sink_text, fuzz_sink_tool_begin, fuzz_sink_tool_args };
	atomic_bool cancel = false;
	gw_provider_outcome o;
	if (gw_provider_run(fuzz_echo(), &call, &sink, &cancel, &o) == 0)
		gw_resp_builder_finish(b, &o.usage, NULL);
	else
		gw_resp_builder_fail(b, o.code, o.message);
	gw_resp_builder_end(b);
	gw_buf json = GW_BUF_INIT;
	gw_resp_builder_json(b, &json);
	cJSON *back = cJSON_ParseWithLength(json.data, json.len);
	if (back == NULL)
		abort(); /* the gateway's own JSON must parse */
	cJSON_Delete(back);
	gw_buf_free(&json);
	gw_resp_builder_free(b);
}

#endif
