/*
 * provider_gemini.c - the "google/<model>" wire: Open Responses items <->
 * the Gemini generateContent API, and the gw_provider_wire that names it
 * for the engine (provider_curl.c).  See provider_gemini.h for the mapping.
 *
 * A streamed reply is a series of whole GenerateContentResponse objects
 * (no terminator event): the last carries finishReason, which is what
 * tells the engine the stream ended complete.  A function call arrives
 * whole, in one part, so its arguments are one delta.
 *
 * It must never touch the network or echo an upstream body back to a
 * client: errors name what was wrong with the reply, not its content.
 */
#include "core/openresponses/provider_gemini.h"
#include "core/openresponses/provider_int.h"
#include "core/base/json.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const gw_provider_wire gw_provider_wire_gemini = {
	.name = "google",
	.path = "/models/{model}:generateContent",
	.stream_path = "/models/{model}:streamGenerateContent?alt=sse",
	.default_base = GW_GEMINI_DEFAULT_BASE_URL,
	.auth_prefix = "x-goog-api-key: ",
	.request_id_header = "x-request-id",
	.request = gw_gemini_request_body,
	.event = gw_gemini_apply_event,
	.reply = gw_gemini_apply_reply,
};

/* ---- request --------------------------------------------------------------- */

static bool
gw_gemini_is(const cJSON *o, const char *k, const char *v)
{
	const char *s = gw_json_str(o, k);
	return s != NULL && strcmp(s, v) == 0;
}

/* Gemini 3 and later refuse a history whose model turn has a functionCall
 * without the thoughtSignature the model gave it (a 400).  Open Responses
 * has no place to keep that signature, so the first call of each model
 * turn carries the sentinel Google documents for history it did not
 * produce, GW_GEMINI_SKIP_SIGNATURE; the 1.x and 2.x families, for which a
 * signature is optional, get none. */
static bool
gw_gemini_wants_signature(const char *model)
{
	return model == NULL || !(strncmp(model, "gemini-1", 8) == 0 || strncmp(model, "gemini-2", 8) == 0);
}

static void
gw_gemini_text(gw_chat_turns *t, const char *text)
{
	gw_jw_kstr(t->w, "text", text);
}

/* The MIME type a URL's extension names, or NULL. */
static const char *
gw_gemini_url_mime(const char *url)
{
	static const struct { const char *ext, *mime; } known[] = {
		{ ".png", "image/png" }, { ".jpg", "image/jpeg" }, { ".jpeg", "image/jpeg" },
		{ ".gif", "image/gif" }, { ".webp", "image/webp" }, { ".heic", "image/heic" },
	};
	size_t n = strcspn(url, "?#");
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		size_t e = strlen(known[i].ext);
		if (n >= e && strncasecmp(url + n - e, known[i].ext, e) == 0)
			return known[i].mime;
	}
	return NULL;
}

static void
gw_gemini_image(gw_chat_turns *t, const char *url)
{
	const char *mime, *data;
	size_t mime_len;
	gw_jw *w = t->w;
	if (gw_chat_data_url(url, &mime, &mime_len, &data)) {
		gw_jw_key(w, "inlineData");
		gw_jw_obj_begin(w);
		gw_jw_key(w, "mimeType");
		gw_jw_strn(w, mime, mime_len);
		gw_jw_kstr(w, "data", data);
		gw_jw_obj_end(w);
	} else {
		gw_jw_key(w, "fileData");
		gw_jw_obj_begin(w);
		const char *m = gw_gemini_url_mime(url);
		if (m != NULL)
			gw_jw_kstr(w, "mimeType", m);
		gw_jw_kstr(w, "fileUri", url);
		gw_jw_obj_end(w);
	}
}

/* Writes text as a JSON object value: itself when it is one, else
 * {key: text}. */
static void
gw_gemini_object(gw_jw *w, const char *text, const char *key)
{
	cJSON *v = text != NULL ? cJSON_Parse(text) : NULL;
	if (cJSON_IsObject(v)) {
		gw_jw_cjson(w, v);
	} else {
		gw_jw_obj_begin(w);
		if (key != NULL)
			gw_jw_kstr(w, key, text ? text : "");
		gw_jw_obj_end(w);
	}
	cJSON_Delete(v);
}

/* What the request's contents need to know: whether the model wants a
 * thought signature on calls, and the turn whose first call carries one. */
typedef struct gw_gemini_turns {
	bool sign;
	unsigned signed_turn;       /* 0: none yet */
} gw_gemini_turns;

static void
gw_gemini_call(gw_chat_turns *t, const cJSON *fc)
{
	gw_gemini_turns *g = t->ctx;
	gw_jw *w = t->w;
	gw_jw_key(w, "functionCall");
	gw_jw_obj_begin(w);
	gw_jw_kstr(w, "name", gw_json_str(fc, "name"));
	gw_jw_key(w, "args");
	gw_gemini_object(w, gw_json_str(fc, "arguments"), NULL);
	gw_jw_obj_end(w);
	if (g->sign && g->signed_turn != t->turn) {
		gw_jw_kstr(w, "thoughtSignature", GW_GEMINI_SKIP_SIGNATURE);
		g->signed_turn = t->turn;
	}
}

/* The name of the function call call_id answers, searched in items up to
 * stop; "" when none is found. */
static const char *
gw_gemini_call_name(const cJSON *items, const cJSON *stop, const char *call_id)
{
	const char *name = "";
	for (const cJSON *it = items->child; it && it != stop; it = it->next) {
		const char *id = gw_json_str(it, "call_id");
		if (gw_gemini_is(it, "type", "function_call") && id != NULL && call_id != NULL &&
		    strcmp(id, call_id) == 0 && gw_json_str(it, "name") != NULL)
			name = gw_json_str(it, "name");
	}
	return name;
}

static void
gw_gemini_response(gw_chat_turns *t, const cJSON *items, const cJSON *out)
{
	gw_jw *w = t->w;
	gw_jw_key(w, "functionResponse");
	gw_jw_obj_begin(w);
	gw_jw_kstr(w, "name", gw_gemini_call_name(items, out, gw_json_str(out, "call_id")));
	gw_jw_key(w, "response");
	gw_gemini_object(w, gw_json_str(out, "output"), "result");
	gw_jw_obj_end(w);
}

/* contents: consecutive parts of one role share a turn */
static const gw_chat_turns_wire gw_gemini_turns_wire = {
	.key = "contents",
	.parts_key = "parts",
	.user = "user",
	.assistant = "model",
	.text = gw_gemini_text,
	.image = gw_gemini_image,
	.call = gw_gemini_call,
	.output = gw_gemini_response,
};

static void
gw_gemini_tools(gw_jw *w, const gw_provider_call *call)
{
	gw_jw_key(w, "tools");
	gw_jw_arr_begin(w);
	gw_jw_obj_begin(w);
	gw_jw_key(w, "functionDeclarations");
	gw_jw_arr_begin(w);
	for (const cJSON *t = call->tools->child; t; t = t->next) {
		gw_jw_obj_begin(w);
		gw_jw_kstr(w, "name", gw_json_str(t, "name"));
		const char *desc = gw_json_str(t, "description");
		if (desc)
			gw_jw_kstr(w, "description", desc);
		const cJSON *params = cJSON_GetObjectItemCaseSensitive(t, "parameters");
		if (cJSON_IsObject(params)) {
			/* JSON Schema as OpenAI clients write it (additionalProperties,
			 * $ref, anyOf, ...): "parameters" takes only Google's OpenAPI
			 * subset and refuses the rest */
			gw_jw_key(w, "parametersJsonSchema");
			gw_jw_cjson(w, params);
		}
		gw_jw_obj_end(w);
	}
	gw_jw_arr_end(w);
	gw_jw_obj_end(w);
	gw_jw_arr_end(w);
	const char *name, *mode = gw_chat_tool_mode(call, &name);
	if (call->tool_choice == NULL)
		return; /* the API's default: AUTO */
	gw_jw_key(w, "toolConfig");
	gw_jw_obj_begin(w);
	gw_jw_key(w, "functionCallingConfig");
	gw_jw_obj_begin(w);
	gw_jw_kstr(w, "mode", strcmp(mode, "none") == 0 ? "NONE" :
	    strcmp(mode, "auto") == 0 ? "AUTO" : "ANY");
	if (name != NULL) {
		gw_jw_key(w, "allowedFunctionNames");
		gw_jw_arr_begin(w);
		gw_jw_str(w, name);
		gw_jw_arr_end(w);
	}
	gw_jw_obj_end(w);
	gw_jw_obj_end(w);
}

void
gw_gemini_request_body(const gw_provider_call *call, const char *model, gw_buf *out)
{
	/* the model is in the URL; here it only says whether calls need a
	 * thought signature */
	gw_jw w;
	gw_jw_init(&w, out, false);
	gw_jw_obj_begin(&w);
	gw_buf sys = GW_BUF_INIT;
	gw_chat_system_text(call, &sys);
	if (sys.len > 0) {
		gw_jw_key(&w, "systemInstruction");
		gw_jw_obj_begin(&w);
		gw_jw_key(&w, "parts");
		gw_jw_arr_begin(&w);
		gw_jw_obj_begin(&w);
		gw_jw_kstr(&w, "text", sys.data);
		gw_jw_obj_end(&w);
		gw_jw_arr_end(&w);
		gw_jw_obj_end(&w);
	}
	gw_buf_free(&sys);
	gw_gemini_turns g = { gw_gemini_wants_signature(model), 0 };
	gw_chat_turns_write(&w, call, &gw_gemini_turns_wire, &g);
	if (call->tools != NULL && cJSON_GetArraySize(call->tools) > 0)
		gw_gemini_tools(&w, call);
	if (call->has_temperature || call->has_top_p || call->has_max_output_tokens) {
		gw_jw_key(&w, "generationConfig");
		gw_jw_obj_begin(&w);
		if (call->has_temperature) {
			gw_jw_key(&w, "temperature");
			gw_jw_double(&w, call->temperature);
		}
		if (call->has_top_p) {
			gw_jw_key(&w, "topP");
			gw_jw_double(&w, call->top_p);
		}
		if (call->has_max_output_tokens)
			gw_jw_ku64(&w, "maxOutputTokens", call->max_output_tokens);
		gw_jw_obj_end(&w);
	}
	gw_jw_obj_end(&w);
}

/* ---- replies ---------------------------------------------------------------- */

static void
gw_gemini_usage(const cJSON *root, gw_chat_state *st)
{
	const cJSON *u = cJSON_GetObjectItemCaseSensitive(root, "usageMetadata");
	if (!cJSON_IsObject(u))
		return;
	uint64_t v, out = 0;
	bool has_out = false;
	if (gw_json_as_u64(cJSON_GetObjectItemCaseSensitive(u, "promptTokenCount"), &v))
		st->usage.input_tokens = v;
	/* a thinking model's thoughts are output it is billed for */
	static const char *const outs[] = { "candidatesTokenCount", "thoughtsTokenCount" };
	for (size_t i = 0; i < sizeof(outs) / sizeof(outs[0]); i++)
		if (gw_json_as_u64(cJSON_GetObjectItemCaseSensitive(u, outs[i]), &v)) {
			out += v;
			has_out = true;
		}
	if (has_out)
		st->usage.output_tokens = out;
	if (gw_json_as_u64(cJSON_GetObjectItemCaseSensitive(u, "totalTokenCount"), &v))
		st->usage.total_tokens = v;
	else
		st->usage.total_tokens = st->usage.input_tokens + st->usage.output_tokens;
}

static void
gw_gemini_finish(const char *reason, gw_chat_state *st)
{
	if (reason == NULL || strcmp(reason, "FINISH_REASON_UNSPECIFIED") == 0)
		return;
	const char *f = strcmp(reason, "MAX_TOKENS") == 0 ? "length" :
	    strcmp(reason, "STOP") == 0 ? (st->ntools > 0 ? "tool_calls" : "stop") :
	    "content_filter"; /* SAFETY, RECITATION, BLOCKLIST, ... */
	snprintf(st->finish, sizeof(st->finish), "%s", f);
}

static void
gw_gemini_parts(const cJSON *parts, const gw_provider_sink *sink, gw_chat_state *st)
{
	for (const cJSON *p = cJSON_IsArray(parts) ? parts->child : NULL; p; p = p->next) {
		if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(p, "thought")))
			continue; /* a thought summary is not the answer */
		const char *t = gw_json_str(p, "text");
		if (t != NULL) {
			gw_chat_emit_text(sink, st, t, strlen(t));
			continue;
		}
		const cJSON *fc = cJSON_GetObjectItemCaseSensitive(p, "functionCall");
		if (!cJSON_IsObject(fc))
			continue;
		size_t index = st->ntools++;
		st->emitted = true;
		sink->tool_begin(sink->ctx, index, gw_json_str(fc, "id"), gw_json_str(fc, "name"));
		const cJSON *args = cJSON_GetObjectItemCaseSensitive(fc, "args");
		char *a = cJSON_IsObject(args) ? cJSON_PrintUnformatted(args) : NULL;
		sink->tool_args(sink->ctx, index, a ? a : "{}", a ? strlen(a) : 2);
		cJSON_free(a);
	}
}

int
gw_gemini_apply_event(const char *json, size_t n, const gw_provider_sink *sink,
    gw_chat_state *st)
{
	cJSON *root = gw_chat_parse(json, n, st);
	if (root == NULL)
		return -EPROTO;
	const cJSON *cands = cJSON_GetObjectItemCaseSensitive(root, "candidates");
	const cJSON *c0 = cJSON_IsArray(cands) ? cands->child : NULL;
	if (c0 != NULL) {
		const cJSON *content = cJSON_GetObjectItemCaseSensitive(c0, "content");
		gw_gemini_parts(cJSON_GetObjectItemCaseSensitive(content, "parts"), sink, st);
		gw_gemini_finish(gw_json_str(c0, "finishReason"), st);
	} else {
		/* a prompt refused before any candidate: promptFeedback.blockReason */
		const cJSON *fb = cJSON_GetObjectItemCaseSensitive(root, "promptFeedback");
		if (gw_json_str(fb, "blockReason") != NULL)
			gw_gemini_finish("SAFETY", st);
	}
	gw_gemini_usage(root, st);
	cJSON_Delete(root);
	return 0;
}

int
gw_gemini_apply_reply(const char *json, size_t n, const gw_provider_sink *sink,
    gw_chat_state *st)
{
	int rc = gw_gemini_apply_event(json, n, sink, st);
	if (rc != 0)
		return rc;
	if (st->finish[0] == '\0' && !st->emitted)
		return gw_chat_fail(st, "upstream reply contained no candidates");
	st->done = true;
	return 0;
}
