/*
 * chatin.c - the inbound Chat Completions wire (see chatin.h).
 *
 * A request is checked here member by member, with errors naming the Chat
 * Completions field (messages[i]..., tools[i]...), and translated into an
 * Open Responses request document that gw_resp_request_parse then reads:
 * one validator for what both routes share (UTF-8, limits, tool and
 * tool_choice shapes, the input character count), one normalized form.
 * The translation: system and developer messages stay messages of their
 * role; user text parts become input_text and image_url parts input_image;
 * an assistant message becomes an assistant message (its text) followed by
 * one function_call per tool call; a tool message becomes a
 * function_call_output.  max_completion_tokens (else max_tokens) becomes
 * max_output_tokens, and model goes on as the Responses request's model.
 */
#include "core/openresponses/chatin.h"

#include "core/base/json.h"
#include "core/base/mem.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- request ------------------------------------------------------------ */

static int gw_chatin_bad(gw_resp_error *e, const char *code, const char *param, const char *why);

static void
gw_chatin_ignore(cJSON *ignored, const char *name)
{
	for (const cJSON *it = ignored->child; it; it = it->next)
		if (strcmp(it->valuestring, name) == 0)
			return;
	cJSON_AddItemToArray(ignored, cJSON_CreateString(name));
}

/* Appends the text of a content that must be text only (a string or an
 * array of text parts) to out.  p is the param prefix ("messages[0]"). */
static int
gw_chatin_text_only(const cJSON *content, const char *p, gw_buf *out, gw_resp_error *e)
{
	if (content == NULL || cJSON_IsNull(content))
		return 0;
	if (cJSON_IsString(content)) {
		gw_buf_puts(out, content->valuestring);
		return 0;
	}
	if (!cJSON_IsArray(content))
	{
		char param[64];
		snprintf(param, sizeof(param), "%s.content", p);
		return gw_chatin_bad(e, "invalid_type", param, "must be a string or an array of text parts");
	}
	size_t j = 0;
	for (const cJSON *part = content->child; part; part = part->next, j++) {
		const char *type = gw_json_str(part, "type");
		const char *t = gw_json_str(part, "text");
		if (type == NULL || strcmp(type, "text") != 0 || t == NULL) {
			gw_resp_error_set(e, 400, "invalid_value", NULL,
			    "%s.content[%zu] must be a text part ({\"type\":\"text\",\"text\":...})", p, j);
			snprintf(e->param, sizeof(e->param), "%s.content[%zu]", p, j);
			return -EINVAL;
		}
		if (out->len > 0)
			gw_buf_putc(out, '\n');
		gw_buf_puts(out, t);
	}
	return 0;
}

static int
gw_chatin_bad(gw_resp_error *e, const char *code, const char *param, const char *why)
{
	gw_resp_error_set(e, 400, code, NULL, "%s %s", param, why);
	snprintf(e->param, sizeof(e->param), "%s", param);
	return -EINVAL;
}

/* A user message's content: text parts and image_url parts. */
static int
gw_chatin_user_parts(const cJSON *content, const char *p, cJSON *parts, gw_resp_error *e)
{
	char param[64];
	if (cJSON_IsString(content)) {
		cJSON *t = cJSON_CreateObject();
		cJSON_AddStringToObject(t, "type", "input_text");
		cJSON_AddStringToObject(t, "text", content->valuestring);
		cJSON_AddItemToArray(parts, t);
		return 0;
	}
	snprintf(param, sizeof(param), "%s.content", p);
	if (!cJSON_IsArray(content))
		return gw_chatin_bad(e, "invalid_type", param, "must be a string or an array of parts");
	size_t j = 0;
	for (const cJSON *part = content->child; part; part = part->next, j++) {
		snprintf(param, sizeof(param), "%s.content[%zu].type", p, j);
		const char *type = gw_json_str(part, "type");
		if (type == NULL)
			return gw_chatin_bad(e, "missing_required_parameter", param, "is required");
		if (strcmp(type, "text") == 0) {
			const char *t = gw_json_str(part, "text");
			snprintf(param, sizeof(param), "%s.content[%zu].text", p, j);
			if (t == NULL)
				return gw_chatin_bad(e, "invalid_type", param, "must be a string");
			cJSON *o = cJSON_CreateObject();
			cJSON_AddStringToObject(o, "type", "input_text");
			cJSON_AddStringToObject(o, "text", t);
			cJSON_AddItemToArray(parts, o);
		} else if (strcmp(type, "image_url") == 0) {
			const cJSON *iu = cJSON_GetObjectItemCaseSensitive(part, "image_url");
			const char *url = cJSON_IsString(iu) ? iu->valuestring : gw_json_str(iu, "url");
			const char *detail = cJSON_IsObject(iu) ? gw_json_str(iu, "detail") : NULL;
			snprintf(param, sizeof(param), "%s.content[%zu].image_url.url", p, j);
			if (url == NULL || url[0] == '\0')
				return gw_chatin_bad(e, "missing_required_parameter", param,
				    "is required (a URL or a data: URL)");
			cJSON *o = cJSON_CreateObject();
			cJSON_AddStringToObject(o, "type", "input_image");
			cJSON_AddStringToObject(o, "image_url", url);
			cJSON_AddStringToObject(o, "detail", detail ? detail : "auto");
			cJSON_AddItemToArray(parts, o);
		} else {
			char why[96];
			snprintf(why, sizeof(why), "'%.40s' is not supported (text or image_url)", type);
			return gw_chatin_bad(e, "invalid_value", param, why);
		}
	}
	return 0;
}

static cJSON *
gw_chatin_message(const char *role, const char *text_type, const char *text)
{
	cJSON *m = cJSON_CreateObject();
	cJSON_AddStringToObject(m, "type", "message");
	cJSON_AddStringToObject(m, "role", role);
	cJSON *parts = cJSON_AddArrayToObject(m, "content");
	cJSON *t = cJSON_CreateObject();
	cJSON_AddStringToObject(t, "type", text_type);
	cJSON_AddStringToObject(t, "text", text);
	cJSON_AddItemToArray(parts, t);
	return m;
}

/* An assistant message's tool_calls, as function_call items. */
static int
gw_chatin_tool_calls(const cJSON *calls, const char *p, cJSON *input, gw_resp_error *e)
{
	char param[96];
	snprintf(param, sizeof(param), "%s.tool_calls", p);
	if (!cJSON_IsArray(calls))
		return gw_chatin_bad(e, "invalid_type", param, "must be an array");
	size_t k = 0;
	for (const cJSON *c = calls->child; c; c = c->next, k++) {
		const char *id = gw_json_str(c, "id");
		const cJSON *fn = cJSON_GetObjectItemCaseSensitive(c, "function");
		const char *name = gw_json_str(fn, "name");
		const cJSON *args = cJSON_GetObjectItemCaseSensitive(fn, "arguments");
		snprintf(param, sizeof(param), "%s.tool_calls[%zu].id", p, k);
		if (id == NULL || id[0] == '\0')
			return gw_chatin_bad(e, "missing_required_parameter", param,
			    "is required and must be a non-empty string");
		snprintf(param, sizeof(param), "%s.tool_calls[%zu].function.name", p, k);
		if (name == NULL || name[0] == '\0')
			return gw_chatin_bad(e, "missing_required_parameter", param,
			    "is required and must be a non-empty string");
		snprintf(param, sizeof(param), "%s.tool_calls[%zu].function.arguments", p, k);
		if (args != NULL && !cJSON_IsString(args) && !cJSON_IsNull(args))
			return gw_chatin_bad(e, "invalid_type", param, "must be a string (JSON text)");
		cJSON *fc = cJSON_CreateObject();
		cJSON_AddStringToObject(fc, "type", "function_call");
		cJSON_AddStringToObject(fc, "call_id", id);
		cJSON_AddStringToObject(fc, "name", name);
		cJSON_AddStringToObject(fc, "arguments",
		    cJSON_IsString(args) && args->valuestring[0] ? args->valuestring : "{}");
		cJSON_AddItemToArray(input, fc);
	}
	return 0;
}

static int
gw_chatin_messages(const cJSON *msgs, cJSON *input, gw_resp_error *e)
{
	if (msgs == NULL || cJSON_IsNull(msgs))
		return gw_chatin_bad(e, "missing_required_parameter", "messages", "is required");
	if (!cJSON_IsArray(msgs))
		return gw_chatin_bad(e, "invalid_type", "messages", "must be an array");
	if (msgs->child == NULL)
		return gw_chatin_bad(e, "invalid_value", "messages", "must hold at least one message");
	size_t i = 0;
	int rc = 0;
	gw_buf text = GW_BUF_INIT;
	for (const cJSON *m = msgs->child; m && rc == 0; m = m->next, i++) {
		char p[40], param[64];
		snprintf(p, sizeof(p), "messages[%zu]", i);
		if (!cJSON_IsObject(m)) {
			rc = gw_chatin_bad(e, "invalid_type", p, "must be an object");
			break;
		}
		const char *role = gw_json_str(m, "role");
		const cJSON *content = cJSON_GetObjectItemCaseSensitive(m, "content");
		snprintf(param, sizeof(param), "%s.role", p);
		gw_buf_reset(&text);
		if (role == NULL) {
			rc = gw_chatin_bad(e, "missing_required_parameter", param, "is required");
		} else if (strcmp(role, "system") == 0 || strcmp(role, "developer") == 0) {
			rc = gw_chatin_text_only(content, p, &text, e);
			if (rc == 0 && text.len > 0)
				cJSON_AddItemToArray(input, gw_chatin_message(role, "input_text",
				    gw_buf_cstr(&text)));
		} else if (strcmp(role, "user") == 0) {
			snprintf(param, sizeof(param), "%s.content", p);
			if (content == NULL || cJSON_IsNull(content)) {
				rc = gw_chatin_bad(e, "missing_required_parameter", param, "is required");
				break;
			}
			cJSON *um = cJSON_CreateObject();
			cJSON_AddStringToObject(um, "type", "message");
			cJSON_AddStringToObject(um, "role", "user");
			cJSON *parts = cJSON_AddArrayToObject(um, "content");
			rc = gw_chatin_user_parts(content, p, parts, e);
			cJSON_AddItemToArray(input, um);
		} else if (strcmp(role, "assistant") == 0) {
			rc = gw_chatin_text_only(content, p, &text, e);
			if (rc == 0 && text.len > 0)
				cJSON_AddItemToArray(input, gw_chatin_message("assistant", "output_text",
				    gw_buf_cstr(&text)));
			const cJSON *calls = cJSON_GetObjectItemCaseSensitive(m, "tool_calls");
			if (rc == 0 && calls != NULL && !cJSON_IsNull(calls))
				rc = gw_chatin_tool_calls(calls, p, input, e);
		} else if (strcmp(role, "tool") == 0) {
			const char *id = gw_json_str(m, "tool_call_id");
			snprintf(param, sizeof(param), "%s.tool_call_id", p);
			if (id == NULL || id[0] == '\0') {
				rc = gw_chatin_bad(e, "missing_required_parameter", param,
				    "is required and must be a non-empty string");
				break;
			}
			rc = gw_chatin_text_only(content, p, &text, e);
			if (rc == 0) {
				cJSON *fo = cJSON_CreateObject();
				cJSON_AddStringToObject(fo, "type", "function_call_output");
				cJSON_AddStringToObject(fo, "call_id", id);
				/* the Responses form needs a non-empty output */
				cJSON_AddStringToObject(fo, "output", text.len ? gw_buf_cstr(&text) : "(empty)");
				cJSON_AddItemToArray(input, fo);
			}
		} else {
			char why[96];
			snprintf(why, sizeof(why),
			    "must be one of system, developer, user, assistant, tool (got '%.40s')", role);
			rc = gw_chatin_bad(e, "invalid_value", param, why);
		}
	}
	gw_buf_free(&text);
	return rc;
}

/* tools: [{"type":"function","function":{...}}] to the Responses form. */
static int
gw_chatin_tools(const cJSON *tools, cJSON *doc, gw_resp_error *e)
{
	if (!cJSON_IsArray(tools))
		return gw_chatin_bad(e, "invalid_type", "tools", "must be an array");
	cJSON *out = cJSON_AddArrayToObject(doc, "tools");
	size_t i = 0;
	for (const cJSON *t = tools->child; t; t = t->next, i++) {
		char param[64];
		snprintf(param, sizeof(param), "tools[%zu].type", i);
		const char *type = gw_json_str(t, "type");
		if (type == NULL || strcmp(type, "function") != 0)
			return gw_chatin_bad(e, "invalid_value", param, "must be function");
		const cJSON *fn = cJSON_GetObjectItemCaseSensitive(t, "function");
		const char *name = gw_json_str(fn, "name");
		snprintf(param, sizeof(param), "tools[%zu].function.name", i);
		if (name == NULL || name[0] == '\0')
			return gw_chatin_bad(e, "missing_required_parameter", param,
			    "is required and must be a non-empty string");
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "type", "function");
		for (const cJSON *f = fn->child; f; f = f->next)
			if (strcmp(f->string, "type") != 0)
				cJSON_AddItemToObject(o, f->string, cJSON_Duplicate(f, 1));
		cJSON_AddItemToArray(out, o);
	}
	return 0;
}

static int
gw_chatin_tool_choice(const cJSON *tc, cJSON *doc, gw_resp_error *e)
{
	if (cJSON_IsString(tc)) {
		cJSON_AddItemToObject(doc, "tool_choice", cJSON_Duplicate(tc, 1));
		return 0;
	}
	if (!cJSON_IsObject(tc))
		return gw_chatin_bad(e, "invalid_type", "tool_choice",
		    "must be none, auto, required or {\"type\":\"function\",\"function\":{\"name\":...}}");
	const char *name = gw_json_str(cJSON_GetObjectItemCaseSensitive(tc, "function"), "name");
	if (name == NULL || name[0] == '\0')
		return gw_chatin_bad(e, "missing_required_parameter", "tool_choice.function.name",
		    "is required");
	cJSON *o = cJSON_AddObjectToObject(doc, "tool_choice");
	cJSON_AddStringToObject(o, "type", "function");
	cJSON_AddStringToObject(o, "name", name);
	return 0;
}

static int
gw_chatin_member(const cJSON *c, cJSON *doc, cJSON *ignored, bool *include_usage, char **model,
    const cJSON **max_tokens, gw_resp_error *e)
{
	const char *k = c->string;
	if (strcmp(k, "messages") == 0)
		return 0; /* translated after the other members */
	if (strcmp(k, "model") == 0) {
		if (!cJSON_IsString(c) && !cJSON_IsNull(c))
			return gw_chatin_bad(e, "invalid_type", "model", "must be a string");
		if (cJSON_IsString(c)) {
			free(*model);
			*model = gw_xstrdup(c->valuestring);
			/* passed on as /v1/responses' own model member, so whatever
			 * gw_resp_request_parse makes of it (today: nothing; with a
			 * routes table, the route) holds for both routes alike */
			cJSON_AddItemToObject(doc, "model", cJSON_Duplicate(c, 1));
		}
		return 0;
	}
	if (strcmp(k, "temperature") == 0 || strcmp(k, "top_p") == 0) {
		if (cJSON_IsNull(c))
			return 0;
		if (!cJSON_IsNumber(c))
			return gw_chatin_bad(e, "invalid_type", k, "must be a number");
		cJSON_AddItemToObject(doc, k, cJSON_Duplicate(c, 1));
		return 0;
	}
	if (strcmp(k, "max_tokens") == 0 || strcmp(k, "max_completion_tokens") == 0) {
		uint64_t v;
		if (cJSON_IsNull(c))
			return 0;
		if (!gw_json_as_u64(c, &v) || v == 0)
			return gw_chatin_bad(e, "invalid_value", k, "must be a positive integer");
		/* max_completion_tokens wins over the older max_tokens */
		if (*max_tokens == NULL || strcmp(k, "max_completion_tokens") == 0)
			*max_tokens = c;
		return 0;
	}
	if (strcmp(k, "stream") == 0 || strcmp(k, "parallel_tool_calls") == 0) {
		if (cJSON_IsNull(c))
			return 0;
		if (!cJSON_IsBool(c))
			return gw_chatin_bad(e, "invalid_type", k, "must be a boolean");
		cJSON_AddItemToObject(doc, k, cJSON_Duplicate(c, 1));
		return 0;
	}
	if (strcmp(k, "stream_options") == 0) {
		if (cJSON_IsNull(c))
			return 0;
		if (!cJSON_IsObject(c))
			return gw_chatin_bad(e, "invalid_type", "stream_options", "must be an object");
		const cJSON *iu = cJSON_GetObjectItemCaseSensitive(c, "include_usage");
		if (iu != NULL && !cJSON_IsBool(iu) && !cJSON_IsNull(iu))
			return gw_chatin_bad(e, "invalid_type", "stream_options.include_usage",
			    "must be a boolean");
		*include_usage = cJSON_IsTrue(iu);
		return 0;
	}
	if (strcmp(k, "tools") == 0)
		return cJSON_IsNull(c) ? 0 : gw_chatin_tools(c, doc, e);
	if (strcmp(k, "tool_choice") == 0)
		return cJSON_IsNull(c) ? 0 : gw_chatin_tool_choice(c, doc, e);
	if (strcmp(k, "n") == 0) {
		uint64_t v;
		if (!cJSON_IsNull(c) && (!gw_json_as_u64(c, &v) || v != 1))
			return gw_chatin_bad(e, "invalid_value", "n", "must be 1 (one choice per request)");
		return 0;
	}
	gw_chatin_ignore(ignored, k);
	return 0;
}

static int
gw_chatin_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Replaces r->ignored with the sorted names in names. */
static void
gw_chatin_set_ignored(gw_resp_request *r, const cJSON *names)
{
	size_t n = (size_t)cJSON_GetArraySize(names), k = 0;
	const char **v = gw_xcalloc(n ? n : 1, sizeof(*v));
	for (const cJSON *it = names->child; it; it = it->next)
		v[k++] = it->valuestring;
	qsort(v, n, sizeof(*v), gw_chatin_cmp);
	cJSON_Delete(r->ignored);
	r->ignored = cJSON_CreateArray();
	for (k = 0; k < n; k++)
		cJSON_AddItemToArray(r->ignored, cJSON_CreateString(v[k]));
	free(v);
}

int
gw_chatin_parse(const char *body, size_t n, uint64_t max_input_chars, gw_resp_request *out,
    bool *include_usage, char **model, gw_resp_error *e)
{
	memset(out, 0, sizeof(*out));
	memset(e, 0, sizeof(*e));
	*include_usage = false;
	*model = NULL;
	cJSON *root = NULL;
	if (gw_resp_body_parse(body, n, &root, e) != 0)
		return -EINVAL;
	cJSON *doc = cJSON_CreateObject();
	cJSON *ignored = cJSON_CreateArray();
	const cJSON *max_tokens = NULL;
	int rc = 0;
	for (const cJSON *c = root->child; c && rc == 0; c = c->next)
		rc = gw_chatin_member(c, doc, ignored, include_usage, model, &max_tokens, e);
	if (rc == 0) {
		cJSON *input = cJSON_AddArrayToObject(doc, "input");
		rc = gw_chatin_messages(cJSON_GetObjectItemCaseSensitive(root, "messages"), input, e);
	}
	if (rc == 0 && max_tokens != NULL)
		cJSON_AddItemToObject(doc, "max_output_tokens", cJSON_Duplicate(max_tokens, 1));
	cJSON_Delete(root);
	if (rc == 0) {
		cJSON_AddBoolToObject(doc, "store", false);
		gw_buf text = GW_BUF_INIT;
		gw_jw w;
		gw_jw_init(&w, &text, false);
		gw_jw_cjson(&w, doc);
		rc = gw_resp_request_parse(text.data, text.len, max_input_chars, out, e);
		gw_buf_free(&text);
		if (rc != 0 && e->status == 400 && strcmp(e->code, "missing_input") == 0)
			gw_chatin_bad(e, "invalid_value", "messages", "hold no usable content");
	}
	if (rc == 0) {
		out->store = false;
		free(out->session_seed); /* no sessions here */
		out->session_seed = NULL;
		gw_chatin_set_ignored(out, ignored);
	}
	cJSON_Delete(ignored);
	cJSON_Delete(doc);
	return rc;
}

/* ---- answers ------------------------------------------------------------- */

const char *
gw_chatin_finish_reason(const char *finish, bool tool_calls)
{
	if (finish != NULL && strcmp(finish, "length") == 0)
		return "length";
	if (finish != NULL && strcmp(finish, "content_filter") == 0)
		return "content_filter";
	return tool_calls ? "tool_calls" : "stop";
}

void
gw_chatin_new_id(gw_buf *b)
{
	gw_resp_new_id(b, "chatcmpl-");
}

static void
gw_chatin_usage(gw_jw *w, const gw_resp_usage *u)
{
	gw_jw_key(w, "usage");
	gw_jw_obj_begin(w);
	gw_jw_ku64(w, "prompt_tokens", u->input_tokens);
	gw_jw_ku64(w, "completion_tokens", u->output_tokens);
	gw_jw_ku64(w, "total_tokens", u->total_tokens);
	gw_jw_obj_end(w);
}

void
gw_chatin_json(const char *id, const char *model, uint64_t created, const cJSON *output,
    const char *finish, const gw_resp_usage *u, gw_buf *out)
{
	gw_buf text = GW_BUF_INIT;
	bool has_text = false, has_calls = false;
	for (const cJSON *it = output ? output->child : NULL; it; it = it->next) {
		const char *type = gw_json_str(it, "type");
		if (type != NULL && strcmp(type, "function_call") == 0) {
			has_calls = true;
			continue;
		}
		const cJSON *content = cJSON_GetObjectItemCaseSensitive(it, "content");
		for (const cJSON *p = content ? content->child : NULL; p; p = p->next) {
			const char *t = gw_json_str(p, "text");
			if (t != NULL) {
				gw_buf_puts(&text, t);
				has_text = true;
			}
		}
	}
	gw_jw w;
	gw_jw_init(&w, out, false);
	gw_jw_obj_begin(&w);
	gw_jw_kstr(&w, "id", id);
	gw_jw_kstr(&w, "object", "chat.completion");
	gw_jw_ku64(&w, "created", created);
	gw_jw_kstr(&w, "model", model);
	gw_jw_key(&w, "choices");
	gw_jw_arr_begin(&w);
	gw_jw_obj_begin(&w);
	gw_jw_ku64(&w, "index", 0);
	gw_jw_key(&w, "message");
	gw_jw_obj_begin(&w);
	gw_jw_kstr(&w, "role", "assistant");
	gw_jw_key(&w, "content");
	if (has_text || !has_calls)
		gw_jw_strn(&w, text.data ? text.data : "", text.len);
	else
		gw_jw_null(&w);
	gw_jw_key(&w, "refusal");
	gw_jw_null(&w);
	if (has_calls) {
		gw_jw_key(&w, "tool_calls");
		gw_jw_arr_begin(&w);
		for (const cJSON *it = output->child; it; it = it->next) {
			const char *type = gw_json_str(it, "type");
			if (type == NULL || strcmp(type, "function_call") != 0)
				continue;
			const char *args = gw_json_str(it, "arguments");
			gw_jw_obj_begin(&w);
			gw_jw_kstr(&w, "id", gw_json_str(it, "call_id"));
			gw_jw_kstr(&w, "type", "function");
			gw_jw_key(&w, "function");
			gw_jw_obj_begin(&w);
			gw_jw_kstr(&w, "name", gw_json_str(it, "name"));
			gw_jw_kstr(&w, "arguments", args ? args : "");
			gw_jw_obj_end(&w);
			gw_jw_obj_end(&w);
		}
		gw_jw_arr_end(&w);
	}
	gw_jw_obj_end(&w);
	gw_jw_key(&w, "logprobs");
	gw_jw_null(&w);
	gw_jw_kstr(&w, "finish_reason", gw_chatin_finish_reason(finish, has_calls));
	gw_jw_obj_end(&w);
	gw_jw_arr_end(&w);
	gw_chatin_usage(&w, u);
	gw_jw_obj_end(&w);
	gw_buf_free(&text);
}

/* ---- stream -------------------------------------------------------------- */

struct gw_chatin_stream {
	char *id, *model;
	uint64_t created;
	bool include_usage, begun, tool_calls;
	/* the provider's index of each tool call, in the order they began:
	 * a call's position here is its Chat Completions index (Anthropic
	 * numbers content blocks, so a call after a text block is its 1) */
	size_t *calls, ncalls, calls_cap;
	gw_resp_frame_fn frame;
	void *ctx;
	gw_buf buf;
};

gw_chatin_stream *
gw_chatin_stream_new(const char *id, const char *model, uint64_t created, bool include_usage,
    gw_resp_frame_fn frame, void *ctx)
{
	gw_chatin_stream *s = gw_xcalloc(1, sizeof(*s));
	s->id = gw_xstrdup(id);
	s->model = gw_xstrdup(model);
	s->created = created;
	s->include_usage = include_usage;
	s->frame = frame;
	s->ctx = ctx;
	return s;
}

void
gw_chatin_stream_free(gw_chatin_stream *s)
{
	if (s == NULL)
		return;
	free(s->id);
	free(s->model);
	free(s->calls);
	gw_buf_free(&s->buf);
	free(s);
}

/* Opens a chunk up to the inside of choices[0].delta (or, with no
 * choice, the choices array left empty: usage follows). */
static void
gw_chatin_chunk_open(gw_chatin_stream *s, gw_jw *w, bool choice)
{
	gw_buf_reset(&s->buf);
	gw_buf_puts(&s->buf, "data: ");
	gw_jw_init(w, &s->buf, false);
	gw_jw_obj_begin(w);
	gw_jw_kstr(w, "id", s->id);
	gw_jw_kstr(w, "object", "chat.completion.chunk");
	gw_jw_ku64(w, "created", s->created);
	gw_jw_kstr(w, "model", s->model);
	gw_jw_key(w, "choices");
	gw_jw_arr_begin(w);
	if (!choice)
		return;
	gw_jw_obj_begin(w);
	gw_jw_ku64(w, "index", 0);
	gw_jw_key(w, "delta");
	gw_jw_obj_begin(w);
}

/* Closes what chunk_open opened (finish: NULL -> null) and emits it. */
static void
gw_chatin_chunk_close(gw_chatin_stream *s, gw_jw *w, bool choice, const char *finish,
    const gw_resp_usage *u)
{
	if (choice) {
		gw_jw_obj_end(w); /* delta */
		gw_jw_key(w, "logprobs");
		gw_jw_null(w);
		gw_jw_key(w, "finish_reason");
		if (finish != NULL)
			gw_jw_str(w, finish);
		else
			gw_jw_null(w);
		gw_jw_obj_end(w);
	}
	gw_jw_arr_end(w);
	if (u != NULL)
		gw_chatin_usage(w, u);
	else if (s->include_usage) {
		gw_jw_key(w, "usage"); /* as OpenAI: null on every chunk but the last */
		gw_jw_null(w);
	}
	gw_jw_obj_end(w);
	gw_buf_puts(&s->buf, "\n\n");
	s->frame(s->ctx, s->buf.data, s->buf.len);
}

void
gw_chatin_stream_begin(gw_chatin_stream *s)
{
	if (s->begun)
		return;
	s->begun = true;
	gw_jw w;
	gw_chatin_chunk_open(s, &w, true);
	gw_jw_kstr(&w, "role", "assistant");
	gw_jw_kstr(&w, "content", "");
	gw_chatin_chunk_close(s, &w, true, NULL, NULL);
}

void
gw_chatin_stream_text(gw_chatin_stream *s, const char *t, size_t n)
{
	if (n == 0)
		return;
	gw_chatin_stream_begin(s);
	gw_jw w;
	gw_chatin_chunk_open(s, &w, true);
	gw_jw_key(&w, "content");
	gw_jw_strn(&w, t, n);
	gw_chatin_chunk_close(s, &w, true, NULL, NULL);
}

/* The position among the tool calls of the provider's call index (a new
 * call is added at the end). */
static size_t
gw_chatin_stream_call(gw_chatin_stream *s, size_t index)
{
	for (size_t i = 0; i < s->ncalls; i++)
		if (s->calls[i] == index)
			return i;
	if (s->ncalls == s->calls_cap) {
		s->calls_cap = s->calls_cap ? 2 * s->calls_cap : 4;
		s->calls = gw_xrealloc(s->calls, s->calls_cap * sizeof(*s->calls));
	}
	s->calls[s->ncalls] = index;
	return s->ncalls++;
}

void
gw_chatin_stream_tool_begin(gw_chatin_stream *s, size_t index, const char *call_id,
    const char *name)
{
	gw_chatin_stream_begin(s);
	index = gw_chatin_stream_call(s, index);
	s->tool_calls = true;
	gw_buf cid = GW_BUF_INIT;
	if (call_id == NULL || call_id[0] == '\0')
		gw_resp_new_id(&cid, "call_");
	else
		gw_buf_puts(&cid, call_id);
	gw_jw w;
	gw_chatin_chunk_open(s, &w, true);
	gw_jw_key(&w, "tool_calls");
	gw_jw_arr_begin(&w);
	gw_jw_obj_begin(&w);
	gw_jw_ku64(&w, "index", index);
	gw_jw_kstr(&w, "id", gw_buf_cstr(&cid));
	gw_jw_kstr(&w, "type", "function");
	gw_jw_key(&w, "function");
	gw_jw_obj_begin(&w);
	gw_jw_kstr(&w, "name", name ? name : "");
	gw_jw_kstr(&w, "arguments", "");
	gw_jw_obj_end(&w);
	gw_jw_obj_end(&w);
	gw_jw_arr_end(&w);
	gw_chatin_chunk_close(s, &w, true, NULL, NULL);
	gw_buf_free(&cid);
}

void
gw_chatin_stream_tool_args(gw_chatin_stream *s, size_t index, const char *t, size_t n)
{
	if (n == 0)
		return;
	gw_chatin_stream_begin(s);
	index = gw_chatin_stream_call(s, index);
	gw_jw w;
	gw_chatin_chunk_open(s, &w, true);
	gw_jw_key(&w, "tool_calls");
	gw_jw_arr_begin(&w);
	gw_jw_obj_begin(&w);
	gw_jw_ku64(&w, "index", index);
	gw_jw_key(&w, "function");
	gw_jw_obj_begin(&w);
	gw_jw_key(&w, "arguments");
	gw_jw_strn(&w, t, n);
	gw_jw_obj_end(&w);
	gw_jw_obj_end(&w);
	gw_jw_arr_end(&w);
	gw_chatin_chunk_close(s, &w, true, NULL, NULL);
}

void
gw_chatin_stream_finish(gw_chatin_stream *s, const char *finish, const gw_resp_usage *u)
{
	gw_chatin_stream_begin(s);
	gw_jw w;
	gw_chatin_chunk_open(s, &w, true);
	gw_chatin_chunk_close(s, &w, true, gw_chatin_finish_reason(finish, s->tool_calls), NULL);
	if (s->include_usage) {
		gw_chatin_chunk_open(s, &w, false);
		gw_chatin_chunk_close(s, &w, false, NULL, u);
	}
	s->frame(s->ctx, GW_RESP_SSE_DONE, sizeof(GW_RESP_SSE_DONE) - 1);
}

void
gw_chatin_stream_fail(gw_chatin_stream *s, const gw_resp_error *e)
{
	gw_buf_reset(&s->buf);
	gw_buf_puts(&s->buf, "data: ");
	gw_resp_error_json(e, &s->buf);
	gw_buf_puts(&s->buf, "\n\n");
	s->frame(s->ctx, s->buf.data, s->buf.len);
}
