/*
 * provider_openai.c - the "openai/<model>" wire: any OpenAI-compatible
 * {base}/chat/completions server.  The translation both ways lives in
 * chat.c; this file names it for the engine (provider_curl.c).  The
 * Anthropic and Gemini wires are provider_anthropic.c and
 * provider_gemini.c.
 */
#include "core/openresponses/provider_int.h"

const gw_provider_wire gw_provider_wire_openai = {
	.name = "openai",
	.path = "/chat/completions",
	.default_base = GW_PROVIDER_DEFAULT_BASE_URL,
	.auth_prefix = "Authorization: Bearer ",
	.request = gw_chat_request_body,
	.event = gw_chat_apply_chunk,
	.reply = gw_chat_apply_reply,
	.request_id_header = "x-request-id",
};
