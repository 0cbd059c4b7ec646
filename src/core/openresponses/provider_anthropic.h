/*
 * provider_anthropic.h - the Anthropic Messages API wire format
 * ("anthropic/<model>": POST {base}/v1/messages): a provider call becomes
 * a Messages request body, and a reply (one JSON message, or the SSE
 * events message_start, content_block_start/_delta/_stop, message_delta,
 * message_stop, ping, error) becomes sink events.  Pure: no network; the
 * engine (provider_curl.c) carries it through gw_provider_wire_anthropic.
 *
 * Mapping (Open Responses -> Messages): instructions and system/developer
 * messages join (blank line between) into "system"; user and assistant
 * messages become alternating "messages" (consecutive turns of one role
 * merge into one); input_image becomes an image block (a base64 data URL
 * as a base64 source, any other URL as a url source); function_call
 * becomes an assistant tool_use block and function_call_output a user
 * tool_result block; function tools become "tools" with "input_schema";
 * max_output_tokens becomes "max_tokens", GW_ANTHROPIC_DEFAULT_MAX_TOKENS
 * when the request has none (the API requires it).  Back: text deltas to
 * text, tool_use blocks to tool calls (the block index is the call's
 * index, input_json_delta its argument text), stop_reason max_tokens and
 * model_context_window_exceeded to finish "length", tool_use to
 * "tool_calls", refusal to "content_filter", anything else to "stop".
 */
#ifndef GW_PROVIDER_ANTHROPIC_H
#define GW_PROVIDER_ANTHROPIC_H

#include <stddef.h>

#include "core/base/buf.h"
#include "core/openresponses/chat.h"
#include "core/openresponses/provider.h"

#define GW_ANTHROPIC_DEFAULT_BASE_URL "https://api.anthropic.com"
#define GW_ANTHROPIC_VERSION "2023-06-01"
#define GW_ANTHROPIC_DEFAULT_MAX_TOKENS 4096

/* Appends the /v1/messages request body for call to out (the caller owns
 * out; call is borrowed). */
void gw_anthropic_request_body(const gw_provider_call *call, const char *model, gw_buf *out);
/* Applies one SSE event's data / one whole JSON reply (borrowed) to sink
 * and st.  0, or -EPROTO with st->error set (an "error" event or reply, or
 * JSON that is not an object). */
int gw_anthropic_apply_event(const char *json, size_t n, const gw_provider_sink *sink,
    gw_chat_state *st);
int gw_anthropic_apply_reply(const char *json, size_t n, const gw_provider_sink *sink,
    gw_chat_state *st);

#endif
