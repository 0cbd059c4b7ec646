/*
 * chat.c - Open Responses items <-> OpenAI chat-completions messages, and
 * an incremental SSE reader for streamed replies.
 *
 * It must never touch the network or echo an upstream body back to a
 * client: errors name what was wrong with the reply, not its content.
 */
#include "core/openresponses/chat.h"
#include "core/base/json.h"
#include "core/base/mem.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GW_CHAT_MAX_LINE (8u << 20)

/* ---- request --------------------------------------------------------------- */

static bool
gw_chat_is(const cJSON *o, const char *k, const char *v)
{
	const char *s = gw_json_str(o, k);
	return s != NULL && strcmp(s, v) == 0;
}

static bool
gw_chat_has_image(const cJSON *content)
{
	for (const cJSON *p = content ? content->child : NULL; p; p = p->next)
		if (gw_chat_is(p, "type", "input_image"))
			return true;
	return false;
}

/* Writes a message's content: a string when it is all text, else parts. */
static void
gw_chat_write_content(gw_jw *w, const cJSON *content)
{
	if (!gw_chat_has_image(content)) {
		gw_buf text = GW_BUF_INIT;
		for (const cJSON *p = content ? content->child : NULL; p; p = p->next) {
			const char *t = gw_json_str(p, "text");
			if (t == NULL)
				continue;
			if (text.len > 0)
				gw_buf_putc(&text, '\n');
			gw_buf_puts(&text, t);
		}
		gw_jw_strn(w, gw_buf_cstr(&text), text.len);
		gw_buf_free(&text);
		return;
	}
	gw_jw_arr_begin(w);
	for (const cJSON *p = content->child; p; p = p->next) {
		gw_jw_obj_begin(w);
		if (gw_chat_is(p, "type", "input_image")) {
			gw_jw_kstr(w, "type", "image_url");
			gw_jw_key(w, "image_url");
			gw_jw_obj_begin(w);
			gw_jw_kstr(w, "url", gw_json_str(p, "image_url"));
			const char *detail = gw_json_str(p, "detail");
			if (detail)
				gw_jw_kstr(w, "detail", detail);
			gw_jw_obj_end(w);
		} else {
			const char *t = gw_json_str(p, "text");
			gw_jw_kstr(w, "type", "text");
			gw_jw_kstr(w, "text", t ? t : "");
		}
		gw_jw_obj_end(w);
	}
	gw_jw_arr_end(w);
}

static void
gw_chat_write_tool_call(gw_jw *w, const cJSON *fc)
{
	gw_jw_obj_begin(w);
	gw_jw_kstr(w, "id", gw_json_str(fc, "call_id"));
	gw_jw_kstr(w, "type", "function");
	gw_jw_key(w, "function");
	gw_jw_obj_begin(w);
	gw_jw_kstr(w, "name", gw_json_str(fc, "name"));
	const char *args = gw_json_str(fc, "arguments");
	gw_jw_kstr(w, "arguments", args ? args : "{}");
	gw_jw_obj_end(w);
	gw_jw_obj_end(w);
}

/* Writes an assistant message carrying msg's text (msg may be NULL) and the
 * function calls that follow it; returns the next unconsumed item. */
static const cJSON *
gw_chat_write_assistant(gw_jw *w, const cJSON *msg, const cJSON *next)
{
	gw_jw_obj_begin(w);
	gw_jw_kstr(w, "role", "assistant");
	gw_jw_key(w, "content");
	bool calls = next != NULL && gw_chat_is(next, "type", "function_call");
	if (msg != NULL)
		gw_chat_write_content(w, cJSON_GetObjectItemCaseSensitive(msg, "content"));
	else
		gw_jw_null(w);
	if (calls) {
		gw_jw_key(w, "tool_calls");
		gw_jw_arr_begin(w);
		for (; next != NULL && gw_chat_is(next, "type", "function_call"); next = next->next)
			gw_chat_write_tool_call(w, next);
		gw_jw_arr_end(w);
	}
	gw_jw_obj_end(w);
	return next;
}

static void
gw_chat_write_messages(gw_jw *w, const gw_provider_call *call)
{
	gw_jw_key(w, "messages");
	gw_jw_arr_begin(w);
	if (call->instructions != NULL && call->instructions[0] != '\0') {
		gw_jw_obj_begin(w);
		gw_jw_kstr(w, "role", "system");
		gw_jw_kstr(w, "content", call->instructions);
		gw_jw_obj_end(w);
	}
	const cJSON *it = call->items ? call->items->child : NULL;
	while (it != NULL) {
		if (gw_chat_is(it, "type", "function_call")) {
			it = gw_chat_write_assistant(w, NULL, it);
			continue;
		}
		if (gw_chat_is(it, "type", "function_call_output")) {
			gw_jw_obj_begin(w);
			gw_jw_kstr(w, "role", "tool");
			gw_jw_kstr(w, "tool_call_id", gw_json_str(it, "call_id"));
			gw_jw_kstr(w, "content", gw_json_str(it, "output"));
			gw_jw_obj_end(w);
			it = it->next;
			continue;
		}
		const char *role = gw_json_str(it, "role");
		if (role == NULL) {
			it = it->next;
			continue;
		}
		if (strcmp(role, "assistant") == 0) {
			it = gw_chat_write_assistant(w, it, it->next);
			continue;
		}
		gw_jw_obj_begin(w);
		/* "developer" is the Responses name for what every chat server calls system */
		gw_jw_kstr(w, "role", strcmp(role, "user") == 0 ? "user" : "system");
		gw_jw_key(w, "content");
		gw_chat_write_content(w, cJSON_GetObjectItemCaseSensitive(it, "content"));
		gw_jw_obj_end(w);
		it = it->next;
	}
	gw_jw_arr_end(w);
}

static void
gw_chat_write_tools(gw_jw *w, const gw_provider_call *call)
{
	gw_jw_key(w, "tools");
	gw_jw_arr_begin(w);
	for (const cJSON *t = call->tools->child; t; t = t->next) {
		gw_jw_obj_begin(w);
		gw_jw_kstr(w, "type", "function");
		gw_jw_key(w, "function");
		gw_jw_obj_begin(w);
		gw_jw_kstr(w, "name", gw_json_str(t, "name"));
		const char *desc = gw_json_str(t, "description");
		if (desc)
			gw_jw_kstr(w, "description", desc);
		const cJSON *params = cJSON_GetObjectItemCaseSensitive(t, "parameters");
		if (cJSON_IsObject(params)) {
			gw_jw_key(w, "parameters");
			gw_jw_cjson(w, params);
		}
		const cJSON *strict = cJSON_GetObjectItemCaseSensitive(t, "strict");
		if (cJSON_IsBool(strict))
			gw_jw_kbool(w, "strict", cJSON_IsTrue(strict));
		gw_jw_obj_end(w);
		gw_jw_obj_end(w);
	}
	gw_jw_arr_end(w);
	const cJSON *tc = call->tool_choice;
	if (tc == NULL)
		return;
	gw_jw_key(w, "tool_choice");
	if (cJSON_IsString(tc)) {
		gw_jw_str(w, tc->valuestring);
	} else if (gw_chat_is(tc, "type", "function")) {
		gw_jw_obj_begin(w);
		gw_jw_kstr(w, "type", "function");
		gw_jw_key(w, "function");
		gw_jw_obj_begin(w);
		gw_jw_kstr(w, "name", gw_json_str(tc, "name"));
		gw_jw_obj_end(w);
		gw_jw_obj_end(w);
	} else {
		/* allowed_tools: chat servers know only the mode */
		const char *mode = gw_json_str(tc, "mode");
		gw_jw_str(w, mode ? mode : "auto");
	}
	gw_jw_kbool(w, "parallel_tool_calls", call->parallel_tool_calls);
}

void
gw_chat_content_text(const cJSON *content, gw_buf *out)
{
	if (cJSON_IsString(content)) {
		gw_buf_puts(out, content->valuestring);
		return;
	}
	bool first = true;
	for (const cJSON *p = content ? content->child : NULL; p; p = p->next) {
		const char *t = gw_json_str(p, "text");
		if (t == NULL)
			continue;
		if (!first)
			gw_buf_putc(out, '\n');
		gw_buf_puts(out, t);
		first = false;
	}
}

void
gw_chat_system_text(const gw_provider_call *call, gw_buf *out)
{
	size_t start = out->len;
	if (call->instructions != NULL)
		gw_buf_puts(out, call->instructions);
	for (const cJSON *it = call->items ? call->items->child : NULL; it; it = it->next) {
		const char *role = gw_json_str(it, "role");
		if (role == NULL || (strcmp(role, "system") != 0 && strcmp(role, "developer") != 0))
			continue;
		size_t before = out->len;
		if (out->len > start)
			gw_buf_puts(out, "\n\n");
		size_t mark = out->len;
		gw_chat_content_text(cJSON_GetObjectItemCaseSensitive(it, "content"), out);
		if (out->len == mark) { /* an empty message adds no separator */
			out->len = before;
			if (out->data)
				out->data[before] = '\0';
		}
	}
}

bool
gw_chat_data_url(const char *url, const char **mime, size_t *mime_len, const char **data)
{
	if (url == NULL || strncmp(url, "data:", 5) != 0)
		return false;
	const char *m = url + 5, *comma = strchr(m, ',');
	if (comma == NULL)
		return false;
	static const char b64[] = ";base64";
	size_t n = (size_t)(comma - m);
	if (n < sizeof(b64) - 1 || memcmp(comma - (sizeof(b64) - 1), b64, sizeof(b64) - 1) != 0)
		return false;
	*mime = m;
	*mime_len = n - (sizeof(b64) - 1);
	*data = comma + 1;
	return true;
}

/* Opens a part of role: a new turn when the role changes. */
static void
gw_chat_turns_part(gw_chat_turns *t, const gw_chat_turns_wire *wire, const char *role)
{
	if (t->role != role) { /* the wire's own strings: compared by address */
		if (t->role != NULL) {
			gw_jw_arr_end(t->w);
			gw_jw_obj_end(t->w);
		}
		gw_jw_obj_begin(t->w);
		gw_jw_kstr(t->w, "role", role);
		gw_jw_key(t->w, wire->parts_key);
		gw_jw_arr_begin(t->w);
		t->role = role;
		t->turn++;
	}
	gw_jw_obj_begin(t->w);
}

static void
gw_chat_turns_text(gw_chat_turns *t, const gw_chat_turns_wire *wire, const char *role,
    const char *text)
{
	if (text == NULL || text[0] == '\0')
		return;
	gw_chat_turns_part(t, wire, role);
	wire->text(t, text);
	gw_jw_obj_end(t->w);
}

void
gw_chat_turns_write(gw_jw *w, const gw_provider_call *call, const gw_chat_turns_wire *wire,
    void *ctx)
{
	gw_chat_turns t = { w, ctx, 0, NULL };
	gw_jw_key(w, wire->key);
	gw_jw_arr_begin(w);
	for (const cJSON *it = call->items ? call->items->child : NULL; it; it = it->next) {
		if (gw_chat_is(it, "type", "function_call")) {
			gw_chat_turns_part(&t, wire, wire->assistant);
			wire->call(&t, it);
			gw_jw_obj_end(w);
			continue;
		}
		if (gw_chat_is(it, "type", "function_call_output")) {
			gw_chat_turns_part(&t, wire, wire->user);
			wire->output(&t, call->items, it);
			gw_jw_obj_end(w);
			continue;
		}
		const char *role = gw_json_str(it, "role");
		if (role == NULL || (strcmp(role, "user") != 0 && strcmp(role, "assistant") != 0))
			continue; /* system and developer: gw_chat_system_text */
		role = strcmp(role, "user") == 0 ? wire->user : wire->assistant;
		const cJSON *content = cJSON_GetObjectItemCaseSensitive(it, "content");
		if (cJSON_IsString(content)) {
			gw_chat_turns_text(&t, wire, role, content->valuestring);
			continue;
		}
		for (const cJSON *p = content ? content->child : NULL; p; p = p->next) {
			const char *url = gw_json_str(p, "image_url");
			if (!gw_chat_is(p, "type", "input_image")) {
				gw_chat_turns_text(&t, wire, role, gw_json_str(p, "text"));
			} else if (url != NULL) {
				gw_chat_turns_part(&t, wire, wire->user);
				wire->image(&t, url);
				gw_jw_obj_end(w);
			}
		}
	}
	if (t.role != NULL) {
		gw_jw_arr_end(w);
		gw_jw_obj_end(w);
	}
	gw_jw_arr_end(w);
}

const char *
gw_chat_tool_mode(const gw_provider_call *call, const char **name)
{
	const cJSON *tc = call->tool_choice;
	*name = NULL;
	if (tc == NULL)
		return "auto";
	if (cJSON_IsString(tc))
		return strcmp(tc->valuestring, "none") == 0 ? "none" :
		    strcmp(tc->valuestring, "required") == 0 ? "required" : "auto";
	if (gw_chat_is(tc, "type", "function")) {
		*name = gw_json_str(tc, "name");
		return *name != NULL ? "function" : "required";
	}
	const char *mode = gw_json_str(tc, "mode"); /* allowed_tools */
	return mode != NULL && strcmp(mode, "required") == 0 ? "required" : "auto";
}

void
gw_chat_request_body(const gw_provider_call *call, const char *model, gw_buf *out)
{
	gw_jw w;
	gw_jw_init(&w, out, false);
	gw_jw_obj_begin(&w);
	gw_jw_kstr(&w, "model", model);
	gw_chat_write_messages(&w, call);
	if (call->tools != NULL && cJSON_GetArraySize(call->tools) > 0)
		gw_chat_write_tools(&w, call);
	if (call->has_temperature) {
		gw_jw_key(&w, "temperature");
		gw_jw_double(&w, call->temperature);
	}
	if (call->has_top_p) {
		gw_jw_key(&w, "top_p");
		gw_jw_double(&w, call->top_p);
	}
	if (call->has_max_output_tokens)
		gw_jw_ku64(&w, "max_tokens", call->max_output_tokens);
	if (call->stream) {
		gw_jw_kbool(&w, "stream", true);
		gw_jw_key(&w, "stream_options");
		gw_jw_obj_begin(&w);
		gw_jw_kbool(&w, "include_usage", true);
		gw_jw_obj_end(&w);
	}
	gw_jw_obj_end(&w);
}

/* ---- replies ---------------------------------------------------------------- */

int
gw_chat_fail(gw_chat_state *st, const char *what)
{
	snprintf(st->error, sizeof(st->error), "%s", what);
	return -EPROTO;
}

static void
gw_chat_usage(const cJSON *root, gw_chat_state *st)
{
	const cJSON *u = cJSON_GetObjectItemCaseSensitive(root, "usage");
	if (!cJSON_IsObject(u))
		return;
	uint64_t v;
	if (gw_json_as_u64(cJSON_GetObjectItemCaseSensitive(u, "prompt_tokens"), &v))
		st->usage.input_tokens = v;
	if (gw_json_as_u64(cJSON_GetObjectItemCaseSensitive(u, "completion_tokens"), &v))
		st->usage.output_tokens = v;
	if (gw_json_as_u64(cJSON_GetObjectItemCaseSensitive(u, "total_tokens"), &v))
		st->usage.total_tokens = v;
}

static void
gw_chat_finish(const cJSON *choice, gw_chat_state *st)
{
	const char *f = gw_json_str(choice, "finish_reason");
	if (f != NULL)
		snprintf(st->finish, sizeof(st->finish), "%s", f);
}

void
gw_chat_emit_text(const gw_provider_sink *sink, gw_chat_state *st, const char *s, size_t n)
{
	if (n == 0)
		return;
	st->emitted = true;
	sink->text(sink->ctx, s, n);
}

static void
gw_chat_tool_calls(const cJSON *calls, const gw_provider_sink *sink, gw_chat_state *st)
{
	size_t pos = 0;
	for (const cJSON *tc = calls ? calls->child : NULL; tc; tc = tc->next, pos++) {
		uint64_t index = pos;
		gw_json_as_u64(cJSON_GetObjectItemCaseSensitive(tc, "index"), &index);
		const cJSON *fn = cJSON_GetObjectItemCaseSensitive(tc, "function");
		const char *id = gw_json_str(tc, "id"), *name = gw_json_str(fn, "name");
		if ((id && *id) || (name && *name)) {
			st->emitted = true;
			sink->tool_begin(sink->ctx, (size_t)index, id, name);
		}
		const cJSON *args = cJSON_GetObjectItemCaseSensitive(fn, "arguments");
		if (cJSON_IsString(args) && args->valuestring[0]) {
			st->emitted = true;
			sink->tool_args(sink->ctx, (size_t)index, args->valuestring,
			    strlen(args->valuestring));
		} else if (cJSON_IsObject(args)) {
			char *a = cJSON_PrintUnformatted(args);
			st->emitted = true;
			sink->tool_args(sink->ctx, (size_t)index, a, strlen(a));
			cJSON_free(a);
		}
	}
}

cJSON *
gw_chat_parse(const char *json, size_t n, gw_chat_state *st)
{
	cJSON *root = cJSON_ParseWithLength(json, n);
	if (!cJSON_IsObject(root)) {
		cJSON_Delete(root);
		gw_chat_fail(st, "upstream sent a reply that is not a JSON object");
		return NULL;
	}
	if (cJSON_GetObjectItemCaseSensitive(root, "error") != NULL) {
		cJSON_Delete(root);
		gw_chat_fail(st, "upstream reported an error inside its reply");
		return NULL;
	}
	return root;
}

int
gw_chat_apply_chunk(const char *json, size_t n, const gw_provider_sink *sink, gw_chat_state *st)
{
	if (n == 6 && memcmp(json, "[DONE]", 6) == 0) {
		st->done = true;
		return 0;
	}
	cJSON *root = gw_chat_parse(json, n, st);
	if (root == NULL)
		return -EPROTO;
	const cJSON *choices = cJSON_GetObjectItemCaseSensitive(root, "choices");
	const cJSON *c0 = cJSON_IsArray(choices) ? choices->child : NULL;
	if (c0 != NULL) {
		const cJSON *delta = cJSON_GetObjectItemCaseSensitive(c0, "delta");
		const cJSON *content = cJSON_GetObjectItemCaseSensitive(delta, "content");
		if (cJSON_IsString(content))
			gw_chat_emit_text(sink, st, content->valuestring, strlen(content->valuestring));
		gw_chat_tool_calls(cJSON_GetObjectItemCaseSensitive(delta, "tool_calls"), sink, st);
		gw_chat_finish(c0, st);
	}
	gw_chat_usage(root, st);
	cJSON_Delete(root);
	return 0;
}

int
gw_chat_apply_reply(const char *json, size_t n, const gw_provider_sink *sink, gw_chat_state *st)
{
	cJSON *root = gw_chat_parse(json, n, st);
	if (root == NULL)
		return -EPROTO;
	const cJSON *choices = cJSON_GetObjectItemCaseSensitive(root, "choices");
	const cJSON *c0 = cJSON_IsArray(choices) ? choices->child : NULL;
	if (c0 == NULL) {
		cJSON_Delete(root);
		return gw_chat_fail(st, "upstream reply contained no choices");
	}
	const cJSON *msg = cJSON_GetObjectItemCaseSensitive(c0, "message");
	const cJSON *content = cJSON_GetObjectItemCaseSensitive(msg, "content");
	if (cJSON_IsString(content)) {
		gw_chat_emit_text(sink, st, content->valuestring, strlen(content->valuestring));
	} else if (cJSON_IsArray(content)) {
		for (const cJSON *p = content->child; p; p = p->next) {
			const char *t = gw_json_str(p, "text");
			if (t)
				gw_chat_emit_text(sink, st, t, strlen(t));
		}
	}
	gw_chat_tool_calls(cJSON_GetObjectItemCaseSensitive(msg, "tool_calls"), sink, st);
	gw_chat_finish(c0, st);
	gw_chat_usage(root, st);
	st->done = true;
	cJSON_Delete(root);
	return 0;
}

/* ---- SSE reader --------------------------------------------------------------- */

static int
gw_chat_sse_dispatch(gw_chat_sse *s, gw_chat_sse_fn fn, void *ctx)
{
	if (!s->has_data)
		return 0;
	s->has_data = false;
	int rc = fn(ctx, gw_buf_cstr(&s->data), s->data.len);
	gw_buf_reset(&s->data);
	return rc;
}

/* Handles one complete line (without its terminator). */
static int
gw_chat_sse_line(gw_chat_sse *s, const char *line, size_t n, gw_chat_sse_fn fn, void *ctx)
{
	if (n > 0 && line[n - 1] == '\r')
		n--;
	if (n == 0)
		return gw_chat_sse_dispatch(s, fn, ctx);
	if (line[0] == ':')
		return 0;
	if (n >= 5 && memcmp(line, "data:", 5) == 0) {
		const char *v = line + 5;
		size_t vn = n - 5;
		if (vn > 0 && *v == ' ') {
			v++;
			vn--;
		}
		if (s->has_data)
			gw_buf_putc(&s->data, '\n');
		gw_buf_append(&s->data, v, vn);
		s->has_data = true;
	}
	return 0;
}

int
gw_chat_sse_feed(gw_chat_sse *s, const char *p, size_t n, gw_chat_sse_fn fn, void *ctx)
{
	while (n > 0) {
		const char *nl = memchr(p, '\n', n);
		if (nl == NULL) {
			if (s->line.len + n > GW_CHAT_MAX_LINE)
				return -E2BIG;
			gw_buf_append(&s->line, p, n);
			return 0;
		}
		size_t take = (size_t)(nl - p);
		int rc;
		if (s->line.len > 0) {
			gw_buf_append(&s->line, p, take);
			rc = gw_chat_sse_line(s, s->line.data, s->line.len, fn, ctx);
			gw_buf_reset(&s->line);
		} else {
			rc = gw_chat_sse_line(s, p, take, fn, ctx);
		}
		if (rc != 0)
			return rc;
		p = nl + 1;
		n -= take + 1;
	}
	return 0;
}

int
gw_chat_sse_end(gw_chat_sse *s, gw_chat_sse_fn fn, void *ctx)
{
	if (s->line.len > 0) {
		int rc = gw_chat_sse_line(s, s->line.data, s->line.len, fn, ctx);
		gw_buf_reset(&s->line);
		if (rc != 0)
			return rc;
	}
	return gw_chat_sse_dispatch(s, fn, ctx);
}

void
gw_chat_sse_free(gw_chat_sse *s)
{
	gw_buf_free(&s->line);
	gw_buf_free(&s->data);
	s->has_data = false;
}
