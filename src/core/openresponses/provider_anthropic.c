/*
 * provider_anthropic.c - the "anthropic/<model>" wire: Open Responses items
 * <-> the Anthropic Messages API, and the gw_provider_wire that names it
 * for the engine (provider_curl.c).  See provider_anthropic.h for the
 * mapping.
 *
 * It must never touch the network or echo an upstream body back to a
 * client: errors name what was wrong with the reply, not its content.
 */
#include "core/openresponses/provider_anthropic.h"
#include "core/openresponses/provider_int.h"
#include "core/base/json.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const gw_anthropic_headers[] = {
	"anthropic-version: " GW_ANTHROPIC_VERSION,
	NULL,
};

const gw_provider_wire gw_provider_wire_anthropic = {
	.name = "anthropic",
	.path = "/v1/messages",
	.default_base = GW_ANTHROPIC_DEFAULT_BASE_URL,
	.auth_prefix = "x-api-key: ",
	.headers = gw_anthropic_headers,
	.request_id_header = "request-id",
	.request = gw_anthropic_request_body,
	.event = gw_anthropic_apply_event,
	.reply = gw_anthropic_apply_reply,
};

/* ---- request --------------------------------------------------------------- */

static bool
gw_anthropic_is(const cJSON *o, const char *k, const char *v)
{
	const char *s = gw_json_str(o, k);
	return s != NULL && strcmp(s, v) == 0;
}

static void
gw_anthropic_text(gw_chat_turns *t, const char *text)
{
	gw_jw_kstr(t->w, "type", "text");
	gw_jw_kstr(t->w, "text", text);
}

static void
gw_anthropic_image(gw_chat_turns *t, const char *url)
{
	const char *mime, *data;
	size_t mime_len;
	gw_jw *w = t->w;
	gw_jw_kstr(w, "type", "image");
	gw_jw_key(w, "source");
	gw_jw_obj_begin(w);
	if (gw_chat_data_url(url, &mime, &mime_len, &data)) {
		gw_jw_kstr(w, "type", "base64");
		gw_jw_key(w, "media_type");
		gw_jw_strn(w, mime, mime_len);
		gw_jw_kstr(w, "data", data);
	} else {
		gw_jw_kstr(w, "type", "url");
		gw_jw_kstr(w, "url", url);
	}
	gw_jw_obj_end(w);
}

static void
gw_anthropic_tool_use(gw_chat_turns *t, const cJSON *fc)
{
	gw_jw *w = t->w;
	gw_jw_kstr(w, "type", "tool_use");
	gw_jw_kstr(w, "id", gw_json_str(fc, "call_id"));
	gw_jw_kstr(w, "name", gw_json_str(fc, "name"));
	gw_jw_key(w, "input");
	/* the API wants the arguments as an object; text that is not one
	 * (a model's malformed call) goes as an empty object */
	const char *args = gw_json_str(fc, "arguments");
	cJSON *in = args != NULL ? cJSON_Parse(args) : NULL;
	if (cJSON_IsObject(in)) {
		gw_jw_cjson(w, in);
	} else {
		gw_jw_obj_begin(w);
		gw_jw_obj_end(w);
	}
	cJSON_Delete(in);
}

static void
gw_anthropic_tool_result(gw_chat_turns *t, const cJSON *items, const cJSON *out)
{
	(void)items;
	gw_jw_kstr(t->w, "type", "tool_result");
	gw_jw_kstr(t->w, "tool_use_id", gw_json_str(out, "call_id"));
	const char *o = gw_json_str(out, "output");
	gw_jw_kstr(t->w, "content", o ? o : "");
}

/* messages: consecutive blocks of one role share a message */
static const gw_chat_turns_wire gw_anthropic_turns = {
	.key = "messages",
	.parts_key = "content",
	.user = "user",
	.assistant = "assistant",
	.text = gw_anthropic_text,
	.image = gw_anthropic_image,
	.call = gw_anthropic_tool_use,
	.output = gw_anthropic_tool_result,
};

static void
gw_anthropic_tools(gw_jw *w, const gw_provider_call *call)
{
	gw_jw_key(w, "tools");
	gw_jw_arr_begin(w);
	for (const cJSON *t = call->tools->child; t; t = t->next) {
		gw_jw_obj_begin(w);
		gw_jw_kstr(w, "name", gw_json_str(t, "name"));
		const char *desc = gw_json_str(t, "description");
		if (desc)
			gw_jw_kstr(w, "description", desc);
		gw_jw_key(w, "input_schema");
		const cJSON *params = cJSON_GetObjectItemCaseSensitive(t, "parameters");
		if (cJSON_IsObject(params)) {
			gw_jw_cjson(w, params);
		} else {
			gw_jw_obj_begin(w);
			gw_jw_kstr(w, "type", "object");
			gw_jw_obj_end(w);
		}
		gw_jw_obj_end(w);
	}
	gw_jw_arr_end(w);
	const char *name, *mode = gw_chat_tool_mode(call, &name);
	if (call->tool_choice == NULL && call->parallel_tool_calls)
		return; /* the API's default: auto, parallel calls allowed */
	gw_jw_key(w, "tool_choice");
	gw_jw_obj_begin(w);
	gw_jw_kstr(w, "type", strcmp(mode, "required") == 0 ? "any" :
	    strcmp(mode, "function") == 0 ? "tool" : mode);
	if (name != NULL)
		gw_jw_kstr(w, "name", name);
	if (!call->parallel_tool_calls && strcmp(mode, "none") != 0)
		gw_jw_kbool(w, "disable_parallel_tool_use", true);
	gw_jw_obj_end(w);
}

void
gw_anthropic_request_body(const gw_provider_call *call, const char *model, gw_buf *out)
{
	gw_jw w;
	gw_jw_init(&w, out, false);
	gw_jw_obj_begin(&w);
	gw_jw_kstr(&w, "model", model);
	gw_jw_ku64(&w, "max_tokens", call->has_max_output_tokens ? call->max_output_tokens :
	    GW_ANTHROPIC_DEFAULT_MAX_TOKENS);
	gw_buf sys = GW_BUF_INIT;
	gw_chat_system_text(call, &sys);
	if (sys.len > 0)
		gw_jw_kstr(&w, "system", sys.data);
	gw_buf_free(&sys);
	gw_chat_turns_write(&w, call, &gw_anthropic_turns, NULL);
	if (call->tools != NULL && cJSON_GetArraySize(call->tools) > 0)
		gw_anthropic_tools(&w, call);
	if (call->has_temperature) {
		gw_jw_key(&w, "temperature");
		gw_jw_double(&w, call->temperature);
	}
	if (call->has_top_p) {
		gw_jw_key(&w, "top_p");
		gw_jw_double(&w, call->top_p);
	}
	if (call->stream)
		gw_jw_kbool(&w, "stream", true);
	gw_jw_obj_end(&w);
}

/* ---- replies ---------------------------------------------------------------- */

static void
gw_anthropic_stop(const char *reason, gw_chat_state *st)
{
	if (reason == NULL)
		return;
	/* model_context_window_exceeded: stopped on length too, at the
	 * context window rather than max_tokens */
	const char *f = strcmp(reason, "max_tokens") == 0 ||
	    strcmp(reason, "model_context_window_exceeded") == 0 ? "length" :
	    strcmp(reason, "tool_use") == 0 ? "tool_calls" :
	    strcmp(reason, "refusal") == 0 ? "content_filter" : "stop";
	snprintf(st->finish, sizeof(st->finish), "%s", f);
}

/* Usage from a message's (or message_delta's) "usage": the input counts
 * include the prompt-cache reads and writes, which the API reports apart. */
static void
gw_anthropic_usage(const cJSON *u, gw_chat_state *st)
{
	if (!cJSON_IsObject(u))
		return;
	uint64_t v, in = 0;
	bool has_in = false;
	static const char *const ins[] = { "input_tokens", "cache_creation_input_tokens",
		"cache_read_input_tokens" };
	for (size_t i = 0; i < sizeof(ins) / sizeof(ins[0]); i++)
		if (gw_json_as_u64(cJSON_GetObjectItemCaseSensitive(u, ins[i]), &v)) {
			in += v;
			has_in = true;
		}
	if (has_in)
		st->usage.input_tokens = in;
	if (gw_json_as_u64(cJSON_GetObjectItemCaseSensitive(u, "output_tokens"), &v))
		st->usage.output_tokens = v;
	st->usage.total_tokens = st->usage.input_tokens + st->usage.output_tokens;
}

static void
gw_anthropic_tool_begin(const gw_provider_sink *sink, gw_chat_state *st, size_t index,
    const cJSON *block)
{
	st->emitted = true;
	sink->tool_begin(sink->ctx, index, gw_json_str(block, "id"), gw_json_str(block, "name"));
	st->ntools++;
}

static void
gw_anthropic_tool_args(const gw_provider_sink *sink, gw_chat_state *st, size_t index,
    const char *s, size_t n)
{
	if (n == 0)
		return;
	st->emitted = true;
	sink->tool_args(sink->ctx, index, s, n);
}

int
gw_anthropic_apply_reply(const char *json, size_t n, const gw_provider_sink *sink,
    gw_chat_state *st)
{
	cJSON *root = gw_chat_parse(json, n, st);
	if (root == NULL)
		return -EPROTO;
	if (gw_anthropic_is(root, "type", "error")) {
		cJSON_Delete(root);
		return gw_chat_fail(st, "upstream reported an error inside its reply");
	}
	const cJSON *content = cJSON_GetObjectItemCaseSensitive(root, "content");
	if (!cJSON_IsArray(content)) {
		cJSON_Delete(root);
		return gw_chat_fail(st, "upstream reply contained no content");
	}
	size_t index = 0;
	for (const cJSON *b = content->child; b; b = b->next, index++) {
		if (gw_anthropic_is(b, "type", "text")) {
			const char *t = gw_json_str(b, "text");
			if (t)
				gw_chat_emit_text(sink, st, t, strlen(t));
		} else if (gw_anthropic_is(b, "type", "tool_use")) {
			gw_anthropic_tool_begin(sink, st, index, b);
			const cJSON *in = cJSON_GetObjectItemCaseSensitive(b, "input");
			char *a = cJSON_IsObject(in) ? cJSON_PrintUnformatted(in) : NULL;
			gw_anthropic_tool_args(sink, st, index, a ? a : "{}", a ? strlen(a) : 2);
			cJSON_free(a);
		}
		/* thinking and server-tool blocks carry nothing for the client */
	}
	gw_anthropic_stop(gw_json_str(root, "stop_reason"), st);
	gw_anthropic_usage(cJSON_GetObjectItemCaseSensitive(root, "usage"), st);
	st->done = true;
	cJSON_Delete(root);
	return 0;
}

/* Closes the open tool block: a call whose arguments never came gets "{}",
 * as an OpenAI upstream would send. */
static void
gw_anthropic_close_tool(const gw_provider_sink *sink, gw_chat_state *st)
{
	if (st->open_tool == 0)
		return;
	if (!st->open_tool_args)
		gw_anthropic_tool_args(sink, st, st->open_tool - 1, "{}", 2);
	st->open_tool = 0;
	st->open_tool_args = false;
}

int
gw_anthropic_apply_event(const char *json, size_t n, const gw_provider_sink *sink,
    gw_chat_state *st)
{
	cJSON *root = gw_chat_parse(json, n, st);
	if (root == NULL)
		return -EPROTO;
	const char *type = gw_json_str(root, "type");
	uint64_t index = 0;
	gw_json_as_u64(cJSON_GetObjectItemCaseSensitive(root, "index"), &index);
	int rc = 0;
	if (type == NULL) {
		rc = gw_chat_fail(st, "upstream sent an event without a type");
	} else if (strcmp(type, "message_start") == 0) {
		const cJSON *msg = cJSON_GetObjectItemCaseSensitive(root, "message");
		gw_anthropic_usage(cJSON_GetObjectItemCaseSensitive(msg, "usage"), st);
	} else if (strcmp(type, "content_block_start") == 0) {
		const cJSON *b = cJSON_GetObjectItemCaseSensitive(root, "content_block");
		gw_anthropic_close_tool(sink, st);
		if (gw_anthropic_is(b, "type", "tool_use")) {
			/* its "input" is {} here: the arguments follow as deltas */
			gw_anthropic_tool_begin(sink, st, (size_t)index, b);
			st->open_tool = (size_t)index + 1;
		} else if (gw_anthropic_is(b, "type", "text")) {
			const char *t = gw_json_str(b, "text");
			if (t)
				gw_chat_emit_text(sink, st, t, strlen(t));
		}
	} else if (strcmp(type, "content_block_delta") == 0) {
		const cJSON *d = cJSON_GetObjectItemCaseSensitive(root, "delta");
		const char *s;
		if (gw_anthropic_is(d, "type", "text_delta") && (s = gw_json_str(d, "text")) != NULL) {
			gw_chat_emit_text(sink, st, s, strlen(s));
		} else if (gw_anthropic_is(d, "type", "input_json_delta") &&
		    (s = gw_json_str(d, "partial_json")) != NULL && s[0] != '\0') {
			gw_anthropic_tool_args(sink, st, (size_t)index, s, strlen(s));
			if (st->open_tool == (size_t)index + 1)
				st->open_tool_args = true;
		}
		/* thinking_delta, signature_delta: nothing for the client */
	} else if (strcmp(type, "content_block_stop") == 0) {
		if (st->open_tool == (size_t)index + 1)
			gw_anthropic_close_tool(sink, st);
	} else if (strcmp(type, "message_delta") == 0) {
		const cJSON *d = cJSON_GetObjectItemCaseSensitive(root, "delta");
		gw_anthropic_stop(gw_json_str(d, "stop_reason"), st);
		gw_anthropic_usage(cJSON_GetObjectItemCaseSensitive(root, "usage"), st);
	} else if (strcmp(type, "message_stop") == 0) {
		gw_anthropic_close_tool(sink, st);
		if (st->finish[0] == '\0')
			snprintf(st->finish, sizeof(st->finish), "stop");
		st->done = true;
	} else if (strcmp(type, "error") == 0) {
		rc = gw_chat_fail(st, "upstream reported an error inside its stream");
	}
	/* ping and event types added later are skipped, as the API asks */
	cJSON_Delete(root);
	return rc;
}
