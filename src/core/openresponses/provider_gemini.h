/*
 * provider_gemini.h - the Google Gemini API wire format ("google/<model>":
 * POST {base}/models/{model}:generateContent, or
 * :streamGenerateContent?alt=sse when streaming): a provider call becomes
 * a GenerateContentRequest body, and a reply (one GenerateContentResponse,
 * or one per SSE event) becomes sink events.  Pure: no network; the engine
 * (provider_curl.c) carries it through gw_provider_wire_gemini.
 *
 * Mapping (Open Responses -> Gemini): instructions and system/developer
 * messages join (blank line between) into "systemInstruction"; user and
 * assistant messages become "contents" with roles "user" and "model"
 * (consecutive turns of one role merge); text parts to {"text"}, a base64
 * data URL image to {"inlineData"}, any other image URL to {"fileData"};
 * function_call to a model {"functionCall"} part (arguments as "args"; the
 * first call of a model turn carries GW_GEMINI_SKIP_SIGNATURE as its
 * "thoughtSignature" unless the model is a gemini-1* or gemini-2* one),
 * function_call_output to a user {"functionResponse"} part named after the
 * call it answers (found in the history by call_id), its "response" the
 * output when that is a JSON object, else {"result": output}; function
 * tools to one {"functionDeclarations"} tool (their schema as
 * "parametersJsonSchema", full JSON Schema); tool_choice to
 * "toolConfig"; temperature, top_p and max_output_tokens to
 * "generationConfig".  Back: text parts (not thought parts) to text, each
 * functionCall part to one tool call with its whole arguments, usage from
 * "usageMetadata", finishReason MAX_TOKENS to finish "length", STOP to
 * "tool_calls" after a call and "stop" otherwise, SAFETY and the other
 * blocking reasons to "content_filter".
 */
#ifndef GW_PROVIDER_GEMINI_H
#define GW_PROVIDER_GEMINI_H

#include <stddef.h>

#include "core/base/buf.h"
#include "core/openresponses/chat.h"
#include "core/openresponses/provider.h"

#define GW_GEMINI_DEFAULT_BASE_URL "https://generativelanguage.googleapis.com/v1beta"
/* The thoughtSignature a replayed functionCall carries when the model's own
 * is not known (Gemini 3 and later require one; see provider_gemini.c). */
#define GW_GEMINI_SKIP_SIGNATURE "skip_thought_signature_validator"

/* Appends the generateContent request body for call to out (the caller
 * owns out; call is borrowed).  The model is in the URL, not the body. */
void gw_gemini_request_body(const gw_provider_call *call, const char *model, gw_buf *out);
/* Applies one GenerateContentResponse (an SSE event's data or a whole
 * reply, borrowed) to sink and st.  0, or -EPROTO with st->error set. */
int gw_gemini_apply_event(const char *json, size_t n, const gw_provider_sink *sink,
    gw_chat_state *st);
int gw_gemini_apply_reply(const char *json, size_t n, const gw_provider_sink *sink,
    gw_chat_state *st);

#endif
