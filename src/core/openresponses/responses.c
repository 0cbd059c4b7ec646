/*
 * responses.c - Open Responses request validation, normalized items, the
 * ResponseResource writer and the streaming event builder.
 *
 * Everything here is pure computation over cJSON trees and buffers: it must
 * never do I/O, look at HTTP headers, or know which provider answers.  The
 * builder is the single source of a response's shape, so the JSON body,
 * every SSE snapshot and the stored copy always agree.
 */
#include "core/openresponses/responses.h"
#include "core/base/hash.h"
#include "core/base/json.h"
#include "core/base/mem.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- errors ------------------------------------------------------------- */

int
gw_resp_error_set(gw_resp_error *e, unsigned status, const char *code, const char *param,
    const char *fmt, ...)
{
	e->status = status;
	snprintf(e->code, sizeof(e->code), "%s", code);
	snprintf(e->param, sizeof(e->param), "%s", param ? param : "");
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e->message, sizeof(e->message), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

void
gw_resp_error_json(const gw_resp_error *e, gw_buf *out)
{
	gw_jw w;
	gw_jw_init(&w, out, false);
	gw_jw_obj_begin(&w);
	gw_jw_key(&w, "error");
	gw_jw_obj_begin(&w);
	gw_jw_kstr(&w, "code", e->code);
	gw_jw_kstr(&w, "message", e->message);
	gw_jw_key(&w, "param");
	if (e->param[0])
		gw_jw_str(&w, e->param);
	else
		gw_jw_null(&w);
	gw_jw_kstr(&w, "type", e->status >= 500 ? "server_error" : "invalid_request_error");
	gw_jw_obj_end(&w);
	gw_jw_obj_end(&w);
}

/* ---- small helpers ------------------------------------------------------ */

static bool
gw_resp_blank(const char *s)
{
	for (; s && *s; s++)
		if (!isspace((unsigned char)*s))
			return false;
	return true;
}

/* Returns a malloc'ed copy of s without leading/trailing whitespace. */
static char *
gw_resp_trim_dup(const char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	size_t n = strlen(s);
	while (n > 0 && isspace((unsigned char)s[n - 1]))
		n--;
	return gw_xstrndup(s, n);
}

uint64_t
gw_resp_utf8_chars(const char *s, size_t n)
{
	uint64_t c = 0;
	for (size_t i = 0; i < n; i++)
		c += ((unsigned char)s[i] & 0xC0) != 0x80;
	return c;
}

uint64_t
gw_resp_count_words(const char *s)
{
	uint64_t n = 0;
	bool in = false;
	for (; *s; s++) {
		bool sp = isspace((unsigned char)*s);
		if (!sp && !in)
			n++;
		in = !sp;
	}
	return n;
}

void
gw_resp_new_id(gw_buf *b, const char *prefix)
{
	gw_buf_puts(b, prefix);
	gw_hash_random_hex(b, 16);
}

static void
gw_resp_ignore(gw_resp_request *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
gw_resp_ignore(gw_resp_request *r, const char *fmt, ...)
{
	char name[128];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(name, sizeof(name), fmt, ap);
	va_end(ap);
	cJSON_AddItemToArray(r->ignored, cJSON_CreateString(name));
}

static int
gw_resp_cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Sorts and de-duplicates r->ignored. */
static void
gw_resp_ignored_finish(gw_resp_request *r)
{
	int n = cJSON_GetArraySize(r->ignored);
	if (n < 2)
		return;
	const char **v = gw_xcalloc((size_t)n, sizeof(*v));
	int i = 0;
	for (const cJSON *c = r->ignored->child; c; c = c->next)
		v[i++] = c->valuestring;
	qsort(v, (size_t)n, sizeof(*v), gw_resp_cmp_str);
	cJSON *sorted = cJSON_CreateArray();
	for (i = 0; i < n; i++)
		if (i == 0 || strcmp(v[i], v[i - 1]) != 0)
			cJSON_AddItemToArray(sorted, cJSON_CreateString(v[i]));
	free(v);
	cJSON_Delete(r->ignored);
	r->ignored = sorted;
}

/* ---- request: content and items ----------------------------------------- */

static cJSON *
gw_resp_text_part(const char *type, const char *text)
{
	cJSON *p = cJSON_CreateObject();
	cJSON_AddStringToObject(p, "type", type);
	cJSON_AddStringToObject(p, "text", text);
	return p;
}

/* Normalizes one content part of message i (part j) into parts.
 * Returns 0, or -EINVAL with e set. */
static int
gw_resp_add_part(gw_resp_request *r, cJSON *parts, const cJSON *p, const char *text_type,
    size_t i, size_t j, gw_resp_error *e)
{
	if (cJSON_IsString(p)) {
		if (!gw_resp_blank(p->valuestring))
			cJSON_AddItemToArray(parts, gw_resp_text_part(text_type, p->valuestring));
		return 0;
	}
	if (!cJSON_IsObject(p)) {
		gw_resp_ignore(r, "input[%zu].content[%zu]", i, j);
		return 0;
	}
	const char *type = gw_json_str(p, "type");
	if (type == NULL)
		type = "text";
	if (strcmp(type, "input_text") == 0 || strcmp(type, "output_text") == 0 ||
	    strcmp(type, "text") == 0 || strcmp(type, "refusal") == 0) {
		const char *t = gw_json_str(p, strcmp(type, "refusal") == 0 ? "refusal" : "text");
		if (t == NULL) {
			char param[64];
			snprintf(param, sizeof(param), "input[%zu].content[%zu].text", i, j);
			return gw_resp_error_set(e, 400, "invalid_type", param, "%s must be a string", param);
		}
		if (!gw_resp_blank(t))
			cJSON_AddItemToArray(parts, gw_resp_text_part(text_type, t));
		return 0;
	}
	if (strcmp(type, "input_image") == 0) {
		const char *url = gw_json_str(p, "image_url");
		if (url == NULL || gw_resp_blank(url)) {
			char param[64];
			snprintf(param, sizeof(param), "input[%zu].content[%zu].image_url", i, j);
			return gw_resp_error_set(e, 400, "missing_required_parameter", param,
			    "%s is required (a URL or a data: URL)", param);
		}
		cJSON *img = cJSON_CreateObject();
		cJSON_AddStringToObject(img, "type", "input_image");
		cJSON_AddStringToObject(img, "image_url", url);
		const char *detail = gw_json_str(p, "detail");
		cJSON_AddStringToObject(img, "detail", detail ? detail : "auto");
		cJSON_AddItemToArray(parts, img);
		return 0;
	}
	gw_resp_ignore(r, "input[%zu].content[%zu]", i, j);
	return 0;
}

static bool
gw_resp_role_ok(const char *role)
{
	static const char *const roles[] = { "user", "system", "developer", "assistant" };
	for (size_t k = 0; k < sizeof(roles) / sizeof(roles[0]); k++)
		if (strcmp(role, roles[k]) == 0)
			return true;
	return false;
}

static int
gw_resp_add_message(gw_resp_request *r, const cJSON *it, size_t i, size_t *extracted,
    gw_resp_error *e)
{
	const cJSON *jrole = cJSON_GetObjectItemCaseSensitive(it, "role");
	char role[16] = "user";
	if (jrole != NULL && !cJSON_IsNull(jrole)) {
		char param[48];
		snprintf(param, sizeof(param), "input[%zu].role", i);
		if (!cJSON_IsString(jrole))
			return gw_resp_error_set(e, 400, "invalid_type", param, "%s must be a string", param);
		size_t k = 0;
		for (const char *s = jrole->valuestring; *s && k + 1 < sizeof(role); s++)
			if (!isspace((unsigned char)*s))
				role[k++] = (char)tolower((unsigned char)*s);
		role[k] = '\0';
		if (!gw_resp_role_ok(role))
			return gw_resp_error_set(e, 400, "invalid_value", param,
			    "%s must be one of user, system, developer, assistant (got '%.40s')",
			    param, jrole->valuestring);
	}
	const char *text_type = strcmp(role, "assistant") == 0 ? "output_text" : "input_text";
	cJSON *parts = cJSON_CreateArray();
	const cJSON *content = cJSON_GetObjectItemCaseSensitive(it, "content");
	int rc = 0;
	if (cJSON_IsArray(content)) {
		size_t j = 0;
		for (const cJSON *p = content->child; p && rc == 0; p = p->next, j++)
			rc = gw_resp_add_part(r, parts, p, text_type, i, j, e);
	} else if (cJSON_IsString(content) || cJSON_IsObject(content)) {
		rc = gw_resp_add_part(r, parts, content, text_type, i, 0, e);
	}
	if (rc != 0 || cJSON_GetArraySize(parts) == 0) {
		cJSON_Delete(parts);
		if (rc == 0)
			gw_resp_ignore(r, "input[%zu].content", i);
		return rc;
	}
	cJSON *m = cJSON_CreateObject();
	cJSON_AddStringToObject(m, "type", "message");
	cJSON_AddStringToObject(m, "role", role);
	cJSON_AddItemToObject(m, "content", parts);
	cJSON_AddItemToArray(r->input, m);
	(*extracted)++;
	return 0;
}

/* Returns a malloc'ed string: s itself, or compact JSON of a non-string. */
static char *
gw_resp_json_text(const cJSON *v)
{
	if (cJSON_IsString(v))
		return gw_xstrdup(v->valuestring);
	if (v == NULL || cJSON_IsNull(v))
		return gw_xstrdup("");
	gw_buf b = GW_BUF_INIT;
	gw_jw w;
	gw_jw_init(&w, &b, false);
	gw_jw_cjson(&w, v);
	return gw_buf_detach(&b);
}

static int
gw_resp_need_str(const cJSON *it, const char *k, size_t i, const char **out, gw_resp_error *e)
{
	const char *s = gw_json_str(it, k);
	if (s == NULL || gw_resp_blank(s)) {
		char param[48];
		snprintf(param, sizeof(param), "input[%zu].%s", i, k);
		return gw_resp_error_set(e, 400, "missing_required_parameter", param,
		    "%s is required and must be a non-empty string", param);
	}
	*out = s;
	return 0;
}

static int
gw_resp_add_function_call(gw_resp_request *r, const cJSON *it, size_t i, size_t *extracted,
    gw_resp_error *e)
{
	const char *call_id, *name;
	int rc = gw_resp_need_str(it, "call_id", i, &call_id, e);
	if (rc == 0)
		rc = gw_resp_need_str(it, "name", i, &name, e);
	if (rc != 0)
		return rc;
	const cJSON *args = cJSON_GetObjectItemCaseSensitive(it, "arguments");
	char *a = args == NULL || cJSON_IsNull(args) ? gw_xstrdup("{}") : gw_resp_json_text(args);
	cJSON *fc = cJSON_CreateObject();
	cJSON_AddStringToObject(fc, "type", "function_call");
	cJSON_AddStringToObject(fc, "call_id", call_id);
	cJSON_AddStringToObject(fc, "name", name);
	cJSON_AddStringToObject(fc, "arguments", a);
	free(a);
	cJSON_AddItemToArray(r->input, fc);
	(*extracted)++;
	return 0;
}

static int
gw_resp_add_function_output(gw_resp_request *r, const cJSON *it, size_t i, size_t *extracted,
    gw_resp_error *e)
{
	const char *call_id;
	int rc = gw_resp_need_str(it, "call_id", i, &call_id, e);
	if (rc != 0)
		return rc;
	const cJSON *out = cJSON_GetObjectItemCaseSensitive(it, "output");
	char *text;
	if (cJSON_IsArray(out)) {
		gw_buf b = GW_BUF_INIT;
		for (const cJSON *p = out->child; p; p = p->next) {
			const char *t = cJSON_IsString(p) ? p->valuestring : gw_json_str(p, "text");
			if (t != NULL && !gw_resp_blank(t)) {
				if (b.len > 0)
					gw_buf_putc(&b, '\n');
				gw_buf_puts(&b, t);
			}
		}
		text = gw_buf_detach(&b);
		if (text == NULL)
			text = gw_xstrdup("");
	} else {
		text = gw_resp_json_text(out);
	}
	if (gw_resp_blank(text)) {
		free(text);
		char param[48];
		snprintf(param, sizeof(param), "input[%zu].output", i);
		return gw_resp_error_set(e, 400, "invalid_function_call_output", param,
		    "input[%zu] function_call_output item requires non-empty output", i);
	}
	cJSON *fo = cJSON_CreateObject();
	cJSON_AddStringToObject(fo, "type", "function_call_output");
	cJSON_AddStringToObject(fo, "call_id", call_id);
	cJSON_AddStringToObject(fo, "output", text);
	free(text);
	cJSON_AddItemToArray(r->input, fo);
	(*extracted)++;
	return 0;
}

static int
gw_resp_add_item(gw_resp_request *r, const cJSON *it, size_t i, size_t *extracted,
    gw_resp_error *e)
{
	if (cJSON_IsString(it)) {
		if (gw_resp_blank(it->valuestring))
			return 0;
		cJSON *parts = cJSON_CreateArray();
		cJSON_AddItemToArray(parts, gw_resp_text_part("input_text", it->valuestring));
		cJSON *m = cJSON_CreateObject();
		cJSON_AddStringToObject(m, "type", "message");
		cJSON_AddStringToObject(m, "role", "user");
		cJSON_AddItemToObject(m, "content", parts);
		cJSON_AddItemToArray(r->input, m);
		(*extracted)++;
		return 0;
	}
	if (!cJSON_IsObject(it)) {
		gw_resp_ignore(r, "input[%zu]", i);
		return 0;
	}
	const char *type = gw_json_str(it, "type");
	if ((type == NULL && (cJSON_HasObjectItem(it, "role") || cJSON_HasObjectItem(it, "content"))) ||
	    (type != NULL && strcmp(type, "message") == 0))
		return gw_resp_add_message(r, it, i, extracted, e);
	if (type != NULL && strcmp(type, "function_call") == 0)
		return gw_resp_add_function_call(r, it, i, extracted, e);
	if (type != NULL && strcmp(type, "function_call_output") == 0)
		return gw_resp_add_function_output(r, it, i, extracted, e);
	gw_resp_ignore(r, "input[%zu]", i);
	return 0;
}

static int
gw_resp_parse_input(gw_resp_request *r, const cJSON *input, gw_resp_error *e)
{
	if (input == NULL || cJSON_IsNull(input))
		return gw_resp_error_set(e, 400, "missing_input", "input", "input is required");
	if (cJSON_IsNumber(input) || cJSON_IsBool(input))
		return gw_resp_error_set(e, 400, "invalid_input", "input",
		    "input must be a string, object, or array");
	size_t extracted = 0;
	int rc = 0;
	if (cJSON_IsString(input)) {
		if (gw_resp_blank(input->valuestring))
			return gw_resp_error_set(e, 400, "missing_input", "input",
			    "input did not contain usable text");
		rc = gw_resp_add_item(r, input, 0, &extracted, e);
	} else if (cJSON_IsArray(input)) {
		size_t i = 0;
		for (const cJSON *it = input->child; it && rc == 0; it = it->next, i++)
			rc = gw_resp_add_item(r, it, i, &extracted, e);
	} else {
		rc = gw_resp_add_item(r, input, 0, &extracted, e);
	}
	if (rc == 0 && extracted == 0)
		return gw_resp_error_set(e, 400, "missing_input", "input",
		    "input must include at least one textual message or function_call_output item");
	return rc;
}

/* ---- request: tools ------------------------------------------------------ */

static int
gw_resp_parse_tools(gw_resp_request *r, const cJSON *tools, gw_resp_error *e)
{
	if (tools == NULL || cJSON_IsNull(tools))
		return 0;
	if (!cJSON_IsArray(tools))
		return gw_resp_error_set(e, 400, "invalid_type", "tools", "tools must be an array");
	size_t i = 0;
	for (const cJSON *t = tools->child; t; t = t->next, i++) {
		const char *type = gw_json_str(t, "type");
		if (!cJSON_IsObject(t) || type == NULL || strcmp(type, "function") != 0) {
			gw_resp_ignore(r, "tools[%zu]", i);
			continue;
		}
		/* Accept the Responses shape and the chat shape {"function":{...}}. */
		const cJSON *fn = cJSON_GetObjectItemCaseSensitive(t, "function");
		const cJSON *src = cJSON_IsObject(fn) ? fn : t;
		const char *name = gw_json_str(src, "name");
		if (name == NULL || gw_resp_blank(name)) {
			char param[32];
			snprintf(param, sizeof(param), "tools[%zu].name", i);
			return gw_resp_error_set(e, 400, "missing_required_parameter", param,
			    "%s is required", param);
		}
		cJSON *n = cJSON_CreateObject();
		cJSON_AddStringToObject(n, "type", "function");
		cJSON_AddStringToObject(n, "name", name);
		const char *desc = gw_json_str(src, "description");
		if (desc)
			cJSON_AddStringToObject(n, "description", desc);
		else
			cJSON_AddNullToObject(n, "description");
		const cJSON *params = cJSON_GetObjectItemCaseSensitive(src, "parameters");
		if (cJSON_IsObject(params))
			cJSON_AddItemToObject(n, "parameters", cJSON_Duplicate(params, 1));
		else
			cJSON_AddNullToObject(n, "parameters");
		const cJSON *strict = cJSON_GetObjectItemCaseSensitive(src, "strict");
		if (cJSON_IsBool(strict))
			cJSON_AddBoolToObject(n, "strict", cJSON_IsTrue(strict));
		else
			cJSON_AddNullToObject(n, "strict");
		cJSON_AddItemToArray(r->tools, n);
	}
	return 0;
}

static int
gw_resp_parse_tool_choice(gw_resp_request *r, const cJSON *tc, gw_resp_error *e)
{
	if (tc == NULL || cJSON_IsNull(tc))
		return 0;
	if (cJSON_IsString(tc)) {
		const char *s = tc->valuestring;
		if (strcmp(s, "auto") != 0 && strcmp(s, "none") != 0 && strcmp(s, "required") != 0)
			return gw_resp_error_set(e, 400, "invalid_value", "tool_choice",
			    "tool_choice must be auto, none, required or an object");
	} else if (cJSON_IsObject(tc)) {
		const char *type = gw_json_str(tc, "type");
		if (type != NULL && strcmp(type, "function") == 0) {
			const char *name = gw_json_str(tc, "name");
			const cJSON *fn = cJSON_GetObjectItemCaseSensitive(tc, "function");
			if (name == NULL && cJSON_IsObject(fn))
				name = gw_json_str(fn, "name");
			if (name == NULL || gw_resp_blank(name))
				return gw_resp_error_set(e, 400, "missing_required_parameter",
				    "tool_choice.name", "tool_choice.name is required");
			cJSON_Delete(r->tool_choice);
			r->tool_choice = cJSON_CreateObject();
			cJSON_AddStringToObject(r->tool_choice, "type", "function");
			cJSON_AddStringToObject(r->tool_choice, "name", name);
			return 0;
		}
		if (type == NULL || strcmp(type, "allowed_tools") != 0)
			return gw_resp_error_set(e, 400, "invalid_value", "tool_choice",
			    "tool_choice.type must be function or allowed_tools");
	} else {
		return gw_resp_error_set(e, 400, "invalid_type", "tool_choice",
		    "tool_choice must be a string or an object");
	}
	cJSON_Delete(r->tool_choice);
	r->tool_choice = cJSON_Duplicate(tc, 1);
	return 0;
}

/* ---- request: top level -------------------------------------------------- */

static int
gw_resp_opt_number(const cJSON *v, const char *k, double lo, double hi, bool *has, double *out,
    gw_resp_error *e)
{
	if (cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsNumber(v))
		return gw_resp_error_set(e, 400, "invalid_type", k, "%s must be a number", k);
	if (!isfinite(v->valuedouble) || v->valuedouble < lo || v->valuedouble > hi)
		return gw_resp_error_set(e, 400, "invalid_value", k, "%s must be between %g and %g", k,
		    lo, hi);
	*has = true;
	*out = v->valuedouble;
	return 0;
}

static int
gw_resp_opt_bool(const cJSON *v, const char *k, bool *out, gw_resp_error *e)
{
	if (cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsBool(v))
		return gw_resp_error_set(e, 400, "invalid_type", k, "%s must be a boolean", k);
	*out = cJSON_IsTrue(v);
	return 0;
}

static int
gw_resp_opt_string(const cJSON *v, const char *k, char **out, gw_resp_error *e)
{
	if (cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsString(v))
		return gw_resp_error_set(e, 400, "invalid_type", k, "%s must be a string", k);
	free(*out);
	*out = gw_xstrdup(v->valuestring);
	return 0;
}

/* Standard request fields this gateway accepts but does not apply. */
static bool
gw_resp_unhonoured(const char *k)
{
	static const char *const names[] = { "background", "frequency_penalty", "include",
		"max_tool_calls", "presence_penalty", "prompt", "prompt_cache_key", "reasoning",
		"safety_identifier", "service_tier", "stream_options", "text", "top_logprobs",
		"truncation", "user" };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(k, names[i]) == 0)
			return true;
	return false;
}

static int
gw_resp_parse_member(gw_resp_request *r, const cJSON *c, char **conversation, gw_resp_error *e)
{
	const char *k = c->string;
	if (strcmp(k, "input") == 0)
		return 0;
	if (strcmp(k, "model") == 0) {
		if (!cJSON_IsNull(c) && !cJSON_IsString(c))
			return gw_resp_error_set(e, 400, "invalid_type", k, "model must be a string");
		if (cJSON_IsString(c)) {
			gw_resp_ignore(r, "model");
			free(r->model);
			r->model = gw_xstrdup(c->valuestring);
		}
		return 0;
	}
	if (strcmp(k, "instructions") == 0)
		return gw_resp_opt_string(c, k, &r->instructions, e);
	if (strcmp(k, "previous_response_id") == 0)
		return gw_resp_opt_string(c, k, &r->previous_response_id, e);
	if (strcmp(k, "stream") == 0)
		return gw_resp_opt_bool(c, k, &r->stream, e);
	if (strcmp(k, "store") == 0)
		return gw_resp_opt_bool(c, k, &r->store, e);
	if (strcmp(k, "parallel_tool_calls") == 0)
		return gw_resp_opt_bool(c, k, &r->parallel_tool_calls, e);
	if (strcmp(k, "temperature") == 0)
		return gw_resp_opt_number(c, k, 0, 2, &r->has_temperature, &r->temperature, e);
	if (strcmp(k, "top_p") == 0)
		return gw_resp_opt_number(c, k, 0, 1, &r->has_top_p, &r->top_p, e);
	if (strcmp(k, "max_output_tokens") == 0) {
		if (cJSON_IsNull(c))
			return 0;
		if (!gw_json_as_u64(c, &r->max_output_tokens) || r->max_output_tokens == 0)
			return gw_resp_error_set(e, 400, "invalid_value", k,
			    "max_output_tokens must be a positive integer");
		r->has_max_output_tokens = true;
		return 0;
	}
	if (strcmp(k, "metadata") == 0) {
		if (cJSON_IsNull(c))
			return 0;
		if (!cJSON_IsObject(c))
			return gw_resp_error_set(e, 400, "invalid_type", k, "metadata must be an object");
		cJSON_Delete(r->metadata);
		r->metadata = cJSON_Duplicate(c, 1);
		return 0;
	}
	if (strcmp(k, "conversation") == 0) {
		if (cJSON_IsNull(c))
			return 0;
		const char *id = cJSON_IsString(c) ? c->valuestring : gw_json_str(c, "id");
		if (id == NULL)
			return gw_resp_error_set(e, 400, "invalid_type", k,
			    "conversation must be a string or an object with a string id");
		free(*conversation);
		*conversation = gw_xstrdup(id);
		return 0;
	}
	if (strcmp(k, "tools") == 0)
		return gw_resp_parse_tools(r, c, e);
	if (strcmp(k, "tool_choice") == 0)
		return gw_resp_parse_tool_choice(r, c, e);
	if (!gw_resp_unhonoured(k) || !cJSON_IsNull(c))
		gw_resp_ignore(r, "%s", k);
	return 0;
}

static uint64_t
gw_resp_items_chars(const cJSON *items)
{
	uint64_t n = 0;
	for (const cJSON *it = items->child; it; it = it->next) {
		static const char *const keys[] = { "arguments", "output", "name" };
		for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
			const char *s = gw_json_str(it, keys[k]);
			if (s)
				n += gw_resp_utf8_chars(s, strlen(s));
		}
		const cJSON *content = cJSON_GetObjectItemCaseSensitive(it, "content");
		/* an image's URL (a data URL holds the whole image) counts too */
		for (const cJSON *p = content ? content->child : NULL; p; p = p->next) {
			const char *t = gw_json_str(p, "text");
			if (t == NULL)
				t = gw_json_str(p, "image_url");
			if (t)
				n += gw_resp_utf8_chars(t, strlen(t));
		}
	}
	return n;
}

int
gw_resp_body_parse(const char *body, size_t n, cJSON **out, gw_resp_error *e)
{
	*out = NULL;
	if (n == 0)
		return gw_resp_error_set(e, 400, "malformed_json", NULL,
		    "failed to parse request body: the body is empty");
	gw_err jerr;
	gw_err_clear(&jerr);
	cJSON *root = gw_json_parse(body, n, "body", &jerr);
	if (root == NULL) {
		const char *m = strncmp(jerr.msg, "body: ", 6) == 0 ? jerr.msg + 6 : jerr.msg;
		return gw_resp_error_set(e, 400, "malformed_json", NULL,
		    "failed to parse request body: %s", m);
	}
	if (!cJSON_IsObject(root)) {
		cJSON_Delete(root);
		return gw_resp_error_set(e, 400, "malformed_json", NULL,
		    "failed to parse request body: expected a JSON object");
	}
	/* cJSON keeps invalid UTF-8 and cuts a string at \u0000: refuse both,
	 * naming the member, before any string is read (on the client's own
	 * text, so that the member and the offset are the client's) */
	gw_json_text_fault f;
	if (!gw_json_text_clean(body, n, &f)) {
		cJSON_Delete(root);
		const char *where = f.path[0] ? f.path : "body";
		if (f.nul)
			return gw_resp_error_set(e, 400, "invalid_value", f.path[0] ? f.path : NULL,
			    "%s: NUL character (\\u0000) at byte %zu is not allowed", where, f.offset);
		return gw_resp_error_set(e, 400, "invalid_value", f.path[0] ? f.path : NULL,
		    "%s: invalid UTF-8 at byte %zu", where, f.offset);
	}
	*out = root;
	return 0;
}

int
gw_resp_request_parse(const char *body, size_t n, uint64_t max_input_chars,
    gw_resp_request *r, gw_resp_error *e)
{
	return gw_resp_request_parse_ex(body, n, max_input_chars, false, r, e);
}

int
gw_resp_request_parse_ex(const char *body, size_t n, uint64_t max_input_chars,
    bool input_optional, gw_resp_request *r, gw_resp_error *e)
{
	memset(r, 0, sizeof(*r));
	memset(e, 0, sizeof(*e));
	r->store = true;
	r->parallel_tool_calls = true;
	r->input = cJSON_CreateArray();
	r->tools = cJSON_CreateArray();
	r->metadata = cJSON_CreateObject();
	r->tool_choice = cJSON_CreateString("auto");
	r->ignored = cJSON_CreateArray();
	cJSON *root = NULL;
	if (gw_resp_body_parse(body, n, &root, e) != 0)
		return -EINVAL;
	char *conversation = NULL;
	int rc = 0;
	for (const cJSON *c = root->child; c && rc == 0; c = c->next)
		rc = gw_resp_parse_member(r, c, &conversation, e);
	const cJSON *input = cJSON_GetObjectItemCaseSensitive(root, "input");
	bool skip_input = input_optional && (input == NULL || cJSON_IsNull(input)) &&
	    r->previous_response_id != NULL && !gw_resp_blank(r->previous_response_id);
	if (rc == 0 && !skip_input)
		rc = gw_resp_parse_input(r, input, e);
	cJSON_Delete(root);
	if (rc == 0) {
		r->input_chars = gw_resp_items_chars(r->input);
		if (r->instructions)
			r->input_chars += gw_resp_utf8_chars(r->instructions, strlen(r->instructions));
		if (r->input_chars > max_input_chars)
			rc = gw_resp_error_set(e, 413, "input_too_large", "input",
			    "translated input exceeds max %llu characters",
			    (unsigned long long)max_input_chars);
	}
	if (rc == 0) {
		const char *sid = gw_json_str(r->metadata, "session_id");
		if (sid != NULL && !gw_resp_blank(sid))
			r->session_seed = gw_resp_trim_dup(sid);
		else if (conversation != NULL && !gw_resp_blank(conversation))
			r->session_seed = gw_resp_trim_dup(conversation);
		if (r->previous_response_id != NULL && gw_resp_blank(r->previous_response_id)) {
			free(r->previous_response_id);
			r->previous_response_id = NULL;
		}
		gw_resp_ignored_finish(r);
	}
	free(conversation);
	return rc;
}

void
gw_resp_request_free(gw_resp_request *r)
{
	cJSON_Delete(r->input);
	cJSON_Delete(r->tools);
	cJSON_Delete(r->tool_choice);
	cJSON_Delete(r->metadata);
	cJSON_Delete(r->ignored);
	free(r->instructions);
	free(r->previous_response_id);
	free(r->session_seed);
	free(r->model);
	memset(r, 0, sizeof(*r));
}

void
gw_resp_request_heed(gw_resp_request *r, const char *name)
{
	int i = 0;
	for (const cJSON *c = r->ignored ? r->ignored->child : NULL; c; c = c->next, i++)
		if (cJSON_IsString(c) && strcmp(c->valuestring, name) == 0) {
			cJSON_DeleteItemFromArray(r->ignored, i);
			return;
		}
}

/* ---- item helpers --------------------------------------------------------- */

const char *
gw_resp_last_user_text(const cJSON *items, gw_buf *scratch)
{
	const cJSON *last = NULL;
	for (const cJSON *it = items ? items->child : NULL; it; it = it->next) {
		const char *type = gw_json_str(it, "type"), *role = gw_json_str(it, "role");
		if (type && strcmp(type, "message") == 0 && role && strcmp(role, "user") == 0)
			last = it;
	}
	if (last == NULL)
		return "";
	gw_buf_reset(scratch);
	const cJSON *content = cJSON_GetObjectItemCaseSensitive(last, "content");
	for (const cJSON *p = content ? content->child : NULL; p; p = p->next) {
		const char *t = gw_json_str(p, "text");
		if (t == NULL)
			continue;
		if (scratch->len > 0)
			gw_buf_putc(scratch, '\n');
		gw_buf_puts(scratch, t);
	}
	return gw_buf_cstr(scratch);
}

uint64_t
gw_resp_items_words(const cJSON *items)
{
	uint64_t n = 0;
	for (const cJSON *it = items ? items->child : NULL; it; it = it->next) {
		const char *o = gw_json_str(it, "output");
		if (o)
			n += gw_resp_count_words(o);
		const char *a = gw_json_str(it, "arguments");
		if (a)
			n += gw_resp_count_words(a);
		const cJSON *content = cJSON_GetObjectItemCaseSensitive(it, "content");
		for (const cJSON *p = content ? content->child : NULL; p; p = p->next) {
			const char *t = gw_json_str(p, "text");
			if (t)
				n += gw_resp_count_words(t);
		}
	}
	return n;
}

/* ---- bounding a conversation ---------------------------------------------- */

size_t
gw_resp_item_weight(const cJSON *item, gw_buf *scratch)
{
	gw_buf_reset(scratch);
	gw_jw w;
	gw_jw_init(&w, scratch, false);
	gw_jw_cjson(&w, item);
	return scratch->len + 1;
}

bool
gw_resp_item_starts_turn(const cJSON *item)
{
	const char *type = gw_json_str(item, "type"), *role = gw_json_str(item, "role");
	return type != NULL && strcmp(type, "message") == 0 && role != NULL &&
	    strcmp(role, "assistant") != 0;
}

size_t
gw_resp_items_bound(cJSON *items, size_t max_items, size_t max_bytes, size_t text_len)
{
	if (items == NULL || items->child == NULL)
		return 0;
	/* weighing prints every kept item: skipped when the text they came
	 * from is too short for them to reach the bound */
	if (max_bytes > 0 && text_len > 0 && text_len <= max_bytes / GW_RESP_WEIGHT_MAX_GROWTH)
		max_bytes = 0;
	/* the oldest item kept: walk back from the newest (cJSON's first
	 * child's prev is the last) while both bounds hold */
	gw_buf scratch = GW_BUF_INIT;
	cJSON *first = NULL;
	size_t kept = 0, bytes = 0;
	for (cJSON *it = items->child->prev; kept < max_items; it = it->prev) {
		if (max_bytes > 0) {
			size_t w = gw_resp_item_weight(it, &scratch);
			if (w > max_bytes - bytes)
				break;
			bytes += w;
		}
		first = it;
		kept++;
		if (it == items->child)
			break;
	}
	gw_buf_free(&scratch);
	/* then begin with a user/system turn */
	while (first != NULL && !gw_resp_item_starts_turn(first))
		first = first->next;
	size_t dropped = 0;
	while (items->child != NULL && items->child != first) {
		cJSON_Delete(cJSON_DetachItemViaPointer(items, items->child));
		dropped++;
	}
	return dropped;
}

/* ---- the builder ---------------------------------------------------------- */

typedef struct gw_resp_call {
	size_t index;             /* provider's tool-call index */
	cJSON *item;              /* in b->output */
	gw_buf args;
	size_t output_index;
	bool open;
} gw_resp_call;

struct gw_resp_builder {
	const gw_resp_request *req;
	char id[48];
	char *model;
	uint64_t created_at, completed_at;
	gw_resp_frame_fn frame;
	void *ctx;
	uint64_t seq;
	cJSON *output;
	const char *status;
	char incomplete_reason[32];
	char err_code[48];
	char err_message[512];
	bool has_usage;
	gw_resp_usage usage;
	/* the open message item, if any */
	cJSON *msg;
	size_t msg_index;
	gw_buf msg_text;
	gw_resp_call *calls;
	size_t ncalls, calls_cap;
	gw_resp_call *open_call;
	gw_buf output_text;
	gw_buf scratch;
	bool done;
	bool ended;
};

gw_resp_builder *
gw_resp_builder_new(const gw_resp_request *req, const char *model, uint64_t created_at,
    gw_resp_frame_fn frame, void *ctx)
{
	gw_resp_builder *b = gw_xcalloc(1, sizeof(*b));
	b->req = req;
	gw_buf id = GW_BUF_INIT;
	gw_resp_new_id(&id, "resp_");
	snprintf(b->id, sizeof(b->id), "%s", gw_buf_cstr(&id));
	gw_buf_free(&id);
	b->model = gw_xstrdup(model);
	b->created_at = created_at;
	b->frame = frame;
	b->ctx = ctx;
	b->output = cJSON_CreateArray();
	b->status = "in_progress";
	return b;
}

void
gw_resp_builder_free(gw_resp_builder *b)
{
	if (b == NULL)
		return;
	for (size_t i = 0; i < b->ncalls; i++)
		gw_buf_free(&b->calls[i].args);
	free(b->calls);
	cJSON_Delete(b->output);
	gw_buf_free(&b->msg_text);
	gw_buf_free(&b->output_text);
	gw_buf_free(&b->scratch);
	free(b->model);
	free(b);
}

void
gw_resp_builder_set_id(gw_resp_builder *b, const char *id)
{
	snprintf(b->id, sizeof(b->id), "%s", id);
}

const char *
gw_resp_builder_id(const gw_resp_builder *b)
{
	return b->id;
}

bool
gw_resp_builder_done(const gw_resp_builder *b)
{
	return b->done;
}

bool
gw_resp_builder_has_output(const gw_resp_builder *b)
{
	return cJSON_GetArraySize(b->output) > 0;
}

const cJSON *
gw_resp_builder_output(const gw_resp_builder *b)
{
	return b->output;
}

static void
gw_resp_write_usage(gw_jw *w, const gw_resp_usage *u)
{
	gw_jw_obj_begin(w);
	gw_jw_ku64(w, "input_tokens", u->input_tokens);
	gw_jw_key(w, "input_tokens_details");
	gw_jw_obj_begin(w);
	gw_jw_ku64(w, "cached_tokens", 0);
	gw_jw_obj_end(w);
	gw_jw_ku64(w, "output_tokens", u->output_tokens);
	gw_jw_key(w, "output_tokens_details");
	gw_jw_obj_begin(w);
	gw_jw_ku64(w, "reasoning_tokens", 0);
	gw_jw_obj_end(w);
	gw_jw_ku64(w, "total_tokens", u->total_tokens);
	gw_jw_obj_end(w);
}

static void
gw_resp_kstr_or_null(gw_jw *w, const char *k, const char *s)
{
	gw_jw_key(w, k);
	if (s)
		gw_jw_str(w, s);
	else
		gw_jw_null(w);
}

/* Writes the ResponseResource (schema field order) plus output_text and
 * ignored_fields. */
static void
gw_resp_write_response(gw_jw *w, const gw_resp_builder *b)
{
	const gw_resp_request *r = b->req;
	gw_jw_obj_begin(w);
	gw_jw_kstr(w, "id", b->id);
	gw_jw_kstr(w, "object", "response");
	gw_jw_ku64(w, "created_at", b->created_at);
	gw_jw_key(w, "completed_at");
	if (b->completed_at)
		gw_jw_u64(w, b->completed_at);
	else
		gw_jw_null(w);
	gw_jw_kstr(w, "status", b->status);
	gw_jw_key(w, "incomplete_details");
	if (b->incomplete_reason[0]) {
		gw_jw_obj_begin(w);
		gw_jw_kstr(w, "reason", b->incomplete_reason);
		gw_jw_obj_end(w);
	} else {
		gw_jw_null(w);
	}
	gw_jw_kstr(w, "model", b->model);
	gw_resp_kstr_or_null(w, "previous_response_id", r->previous_response_id);
	gw_resp_kstr_or_null(w, "instructions", r->instructions);
	gw_jw_key(w, "output");
	gw_jw_cjson(w, b->output);
	gw_jw_key(w, "error");
	if (b->err_code[0]) {
		gw_jw_obj_begin(w);
		gw_jw_kstr(w, "code", b->err_code);
		gw_jw_kstr(w, "message", b->err_message);
		gw_jw_obj_end(w);
	} else {
		gw_jw_null(w);
	}
	gw_jw_key(w, "tools");
	gw_jw_cjson(w, r->tools);
	gw_jw_key(w, "tool_choice");
	gw_jw_cjson(w, r->tool_choice);
	gw_jw_kstr(w, "truncation", "disabled");
	gw_jw_kbool(w, "parallel_tool_calls", r->parallel_tool_calls);
	gw_jw_key(w, "text");
	gw_jw_obj_begin(w);
	gw_jw_key(w, "format");
	gw_jw_obj_begin(w);
	gw_jw_kstr(w, "type", "text");
	gw_jw_obj_end(w);
	gw_jw_obj_end(w);
	gw_jw_key(w, "top_p");
	gw_jw_double(w, r->has_top_p ? r->top_p : 1.0);
	gw_jw_key(w, "presence_penalty");
	gw_jw_u64(w, 0);
	gw_jw_key(w, "frequency_penalty");
	gw_jw_u64(w, 0);
	gw_jw_ku64(w, "top_logprobs", 0);
	gw_jw_key(w, "temperature");
	gw_jw_double(w, r->has_temperature ? r->temperature : 1.0);
	gw_jw_key(w, "reasoning");
	gw_jw_null(w);
	gw_jw_key(w, "usage");
	if (b->has_usage)
		gw_resp_write_usage(w, &b->usage);
	else
		gw_jw_null(w);
	gw_jw_key(w, "max_output_tokens");
	if (r->has_max_output_tokens)
		gw_jw_u64(w, r->max_output_tokens);
	else
		gw_jw_null(w);
	gw_jw_key(w, "max_tool_calls");
	gw_jw_null(w);
	gw_jw_kbool(w, "store", r->store);
	gw_jw_kbool(w, "background", false);
	gw_jw_kstr(w, "service_tier", "default");
	gw_jw_key(w, "metadata");
	gw_jw_cjson(w, r->metadata);
	gw_resp_kstr_or_null(w, "safety_identifier", NULL);
	gw_resp_kstr_or_null(w, "prompt_cache_key", NULL);
	gw_jw_kstr(w, "output_text", gw_buf_cstr(&b->output_text));
	gw_jw_key(w, "ignored_fields");
	gw_jw_cjson(w, r->ignored);
	gw_jw_obj_end(w);
}

void
gw_resp_builder_json(const gw_resp_builder *b, gw_buf *out)
{
	gw_jw w;
	gw_jw_init(&w, out, false);
	gw_buf_reserve(out, 2048); /* a small response fits: no regrowth */
	gw_resp_write_response(&w, b);
}

/* Starts an event frame; the caller writes the remaining members and then
 * calls gw_resp_event_end. */
static bool
gw_resp_event_begin(gw_resp_builder *b, gw_jw *w, const char *type)
{
	if (b->frame == NULL)
		return false;
	gw_buf_reset(&b->scratch);
	gw_buf_printf(&b->scratch, "event: %s\ndata: ", type);
	gw_jw_init(w, &b->scratch, false);
	gw_jw_obj_begin(w);
	gw_jw_kstr(w, "type", type);
	gw_jw_ku64(w, "sequence_number", b->seq++);
	return true;
}

static void
gw_resp_event_end(gw_resp_builder *b, gw_jw *w)
{
	gw_jw_obj_end(w);
	gw_buf_append(&b->scratch, "\n\n", 2);
	b->frame(b->ctx, b->scratch.data, b->scratch.len);
}

static void
gw_resp_event_response(gw_resp_builder *b, const char *type)
{
	gw_jw w;
	if (!gw_resp_event_begin(b, &w, type))
		return;
	gw_jw_key(&w, "response");
	gw_resp_write_response(&w, b);
	gw_resp_event_end(b, &w);
}

static void
gw_resp_event_item(gw_resp_builder *b, const char *type, size_t output_index, const cJSON *item)
{
	gw_jw w;
	if (!gw_resp_event_begin(b, &w, type))
		return;
	gw_jw_ku64(&w, "output_index", output_index);
	gw_jw_key(&w, "item");
	gw_jw_cjson(&w, item);
	gw_resp_event_end(b, &w);
}

static void
gw_resp_event_part(gw_resp_builder *b, const char *type, const char *text)
{
	gw_jw w;
	if (!gw_resp_event_begin(b, &w, type))
		return;
	gw_jw_kstr(&w, "item_id", gw_json_str(b->msg, "id"));
	gw_jw_ku64(&w, "output_index", b->msg_index);
	gw_jw_ku64(&w, "content_index", 0);
	gw_jw_key(&w, "part");
	gw_jw_obj_begin(&w);
	gw_jw_kstr(&w, "type", "output_text");
	gw_jw_kstr(&w, "text", text);
	gw_jw_key(&w, "annotations");
	gw_jw_arr_begin(&w);
	gw_jw_arr_end(&w);
	gw_jw_obj_end(&w);
	gw_resp_event_end(b, &w);
}

void
gw_resp_builder_begin(gw_resp_builder *b)
{
	gw_resp_event_response(b, "response.created");
	gw_resp_event_response(b, "response.in_progress");
}

static cJSON *
gw_resp_new_item(const char *type, const char *prefix)
{
	cJSON *it = cJSON_CreateObject();
	gw_buf id = GW_BUF_INIT;
	gw_resp_new_id(&id, prefix);
	cJSON_AddStringToObject(it, "type", type);
	cJSON_AddStringToObject(it, "id", gw_buf_cstr(&id));
	cJSON_AddStringToObject(it, "status", "in_progress");
	gw_buf_free(&id);
	return it;
}

static void
gw_resp_set_str(cJSON *obj, const char *k, const char *v)
{
	cJSON_ReplaceItemInObjectCaseSensitive(obj, k, cJSON_CreateString(v));
}

static void
gw_resp_close_message(gw_resp_builder *b, const char *status)
{
	if (b->msg == NULL)
		return;
	const char *text = gw_buf_cstr(&b->msg_text);
	gw_jw w;
	if (gw_resp_event_begin(b, &w, "response.output_text.done")) {
		gw_jw_kstr(&w, "item_id", gw_json_str(b->msg, "id"));
		gw_jw_ku64(&w, "output_index", b->msg_index);
		gw_jw_ku64(&w, "content_index", 0);
		gw_jw_kstr(&w, "text", text);
		gw_jw_key(&w, "logprobs");
		gw_jw_arr_begin(&w);
		gw_jw_arr_end(&w);
		gw_resp_event_end(b, &w);
	}
	gw_resp_event_part(b, "response.content_part.done", text);
	cJSON *part = cJSON_CreateObject();
	cJSON_AddStringToObject(part, "type", "output_text");
	cJSON_AddStringToObject(part, "text", text);
	cJSON_AddItemToObject(part, "annotations", cJSON_CreateArray());
	cJSON_AddItemToObject(part, "logprobs", cJSON_CreateArray());
	cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(b->msg, "content"), part);
	gw_resp_set_str(b->msg, "status", status);
	gw_resp_event_item(b, "response.output_item.done", b->msg_index, b->msg);
	if (b->output_text.len > 0 && b->msg_text.len > 0)
		gw_buf_puts(&b->output_text, "\n\n");
	gw_buf_append(&b->output_text, b->msg_text.data, b->msg_text.len);
	gw_buf_reset(&b->msg_text);
	b->msg = NULL;
}

static void
gw_resp_close_call(gw_resp_builder *b, const char *status)
{
	gw_resp_call *c = b->open_call;
	if (c == NULL)
		return;
	const char *args = gw_buf_cstr(&c->args);
	gw_resp_set_str(c->item, "arguments", args);
	gw_jw w;
	if (gw_resp_event_begin(b, &w, "response.function_call_arguments.done")) {
		gw_jw_kstr(&w, "item_id", gw_json_str(c->item, "id"));
		gw_jw_ku64(&w, "output_index", c->output_index);
		gw_jw_kstr(&w, "arguments", args);
		gw_resp_event_end(b, &w);
	}
	gw_resp_set_str(c->item, "status", status);
	gw_resp_event_item(b, "response.output_item.done", c->output_index, c->item);
	c->open = false;
	b->open_call = NULL;
}

static void
gw_resp_close_all(gw_resp_builder *b, const char *status)
{
	gw_resp_close_message(b, status);
	gw_resp_close_call(b, status);
}

void
gw_resp_builder_text(gw_resp_builder *b, const char *s, size_t n)
{
	if (b->done || n == 0)
		return;
	if (b->msg == NULL) {
		gw_resp_close_call(b, "completed");
		b->msg = gw_resp_new_item("message", "msg_");
		cJSON_AddStringToObject(b->msg, "role", "assistant");
		cJSON_AddItemToObject(b->msg, "content", cJSON_CreateArray());
		b->msg_index = (size_t)cJSON_GetArraySize(b->output);
		cJSON_AddItemToArray(b->output, b->msg);
		gw_resp_event_item(b, "response.output_item.added", b->msg_index, b->msg);
		gw_resp_event_part(b, "response.content_part.added", "");
	}
	gw_buf_append(&b->msg_text, s, n);
	gw_jw w;
	if (gw_resp_event_begin(b, &w, "response.output_text.delta")) {
		gw_jw_kstr(&w, "item_id", gw_json_str(b->msg, "id"));
		gw_jw_ku64(&w, "output_index", b->msg_index);
		gw_jw_ku64(&w, "content_index", 0);
		gw_jw_key(&w, "delta");
		gw_jw_strn(&w, s, n);
		gw_jw_key(&w, "logprobs");
		gw_jw_arr_begin(&w);
		gw_jw_arr_end(&w);
		gw_resp_event_end(b, &w);
	}
}

static gw_resp_call *
gw_resp_find_call(gw_resp_builder *b, size_t index)
{
	for (size_t i = 0; i < b->ncalls; i++)
		if (b->calls[i].index == index)
			return &b->calls[i];
	return NULL;
}

void
gw_resp_builder_tool_begin(gw_resp_builder *b, size_t index, const char *call_id,
    const char *name)
{
	if (b->done)
		return;
	gw_resp_call *c = gw_resp_find_call(b, index);
	if (c != NULL) {
		/* A later fragment may carry the id or name. */
		if (call_id && *call_id)
			gw_resp_set_str(c->item, "call_id", call_id);
		if (name && *name)
			gw_resp_set_str(c->item, "name", name);
		return;
	}
	gw_resp_close_message(b, "completed");
	gw_resp_close_call(b, "completed");
	if (b->ncalls == b->calls_cap) {
		b->calls_cap = b->calls_cap ? 2 * b->calls_cap : 4;
		b->calls = gw_xrealloc(b->calls, b->calls_cap * sizeof(*b->calls));
		/* items are owned by b->output, so moving the slots is safe */
	}
	c = &b->calls[b->ncalls++];
	memset(c, 0, sizeof(*c));
	c->index = index;
	c->item = gw_resp_new_item("function_call", "fc_");
	gw_buf cid = GW_BUF_INIT;
	if (call_id == NULL || *call_id == '\0')
		gw_resp_new_id(&cid, "call_");
	else
		gw_buf_puts(&cid, call_id);
	cJSON_AddStringToObject(c->item, "call_id", gw_buf_cstr(&cid));
	gw_buf_free(&cid);
	cJSON_AddStringToObject(c->item, "name", name ? name : "");
	cJSON_AddStringToObject(c->item, "arguments", "");
	c->output_index = (size_t)cJSON_GetArraySize(b->output);
	c->open = true;
	cJSON_AddItemToArray(b->output, c->item);
	b->open_call = c;
	gw_resp_event_item(b, "response.output_item.added", c->output_index, c->item);
}

void
gw_resp_builder_tool_args(gw_resp_builder *b, size_t index, const char *s, size_t n)
{
	if (b->done || n == 0)
		return;
	gw_resp_call *c = gw_resp_find_call(b, index);
	if (c == NULL) {
		gw_resp_builder_tool_begin(b, index, NULL, NULL);
		c = gw_resp_find_call(b, index);
	}
	gw_buf_append(&c->args, s, n);
	if (!c->open) {
		/* Late fragment of an already closed call: keep the final text right. */
		gw_resp_set_str(c->item, "arguments", gw_buf_cstr(&c->args));
		return;
	}
	gw_jw w;
	if (gw_resp_event_begin(b, &w, "response.function_call_arguments.delta")) {
		gw_jw_kstr(&w, "item_id", gw_json_str(c->item, "id"));
		gw_jw_ku64(&w, "output_index", c->output_index);
		gw_jw_key(&w, "delta");
		gw_jw_strn(&w, s, n);
		gw_resp_event_end(b, &w);
	}
}

void
gw_resp_builder_finish(gw_resp_builder *b, const gw_resp_usage *u, const char *incomplete_reason)
{
	if (b->done)
		return;
	gw_resp_close_all(b, incomplete_reason ? "incomplete" : "completed");
	if (u != NULL) {
		b->usage = *u;
		if (b->usage.total_tokens == 0)
			b->usage.total_tokens = u->input_tokens + u->output_tokens;
		b->has_usage = true;
	}
	if (incomplete_reason) {
		b->status = "incomplete";
		snprintf(b->incomplete_reason, sizeof(b->incomplete_reason), "%s", incomplete_reason);
	} else {
		b->status = "completed";
		b->completed_at = (uint64_t)time(NULL);
	}
	b->done = true;
}

void
gw_resp_builder_fail(gw_resp_builder *b, const char *code, const char *message)
{
	if (b->ended)
		return;
	if (!b->done)
		gw_resp_close_all(b, "incomplete");
	b->completed_at = 0;
	b->status = "failed";
	snprintf(b->err_code, sizeof(b->err_code), "%s", code);
	snprintf(b->err_message, sizeof(b->err_message), "%s", message);
	b->done = true;
}

void
gw_resp_builder_end(gw_resp_builder *b)
{
	if (!b->done || b->ended)
		return;
	b->ended = true;
	if (strcmp(b->status, "failed") == 0)
		gw_resp_event_response(b, "response.failed");
	else if (strcmp(b->status, "incomplete") == 0)
		gw_resp_event_response(b, "response.incomplete");
	else
		gw_resp_event_response(b, "response.completed");
}
