/*
 * compact.c - the compaction policy of POST /v1/responses/compact
 * (compact.h states it): splitting a window into what is kept verbatim and
 * what is folded, the deterministic fold, the upstream summary request,
 * and the compaction object.
 *
 * It never calls a model, reads a store or knows HTTP: the server walks a
 * previous_response_id chain, runs the summary call through its provider
 * and answers.  Everything here is a pure function of its inputs (the id
 * aside), so an offline compaction of one window is the same every time.
 */
#include "core/openresponses/compact.h"

#include "core/base/hash.h"
#include "core/base/json.h"
#include "core/base/mem.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ---- the request ------------------------------------------------------------ */

static int
gw_compact_cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Replaces *ignored (a sorted array of names) with it plus the n names in
 * add, sorted, each once. */
static void
gw_compact_ignore(cJSON **ignored, const char *const *add, size_t n)
{
	size_t have = (size_t)cJSON_GetArraySize(*ignored), k = 0;
	const char **v = gw_xcalloc(have + n + 1, sizeof(*v));
	for (const cJSON *c = (*ignored)->child; c; c = c->next)
		if (cJSON_IsString(c))
			v[k++] = c->valuestring;
	for (size_t i = 0; i < n; i++)
		v[k++] = add[i];
	qsort(v, k, sizeof(*v), gw_compact_cmp_str);
	cJSON *sorted = cJSON_CreateArray();
	for (size_t i = 0; i < k; i++)
		if (i == 0 || strcmp(v[i], v[i - 1]) != 0)
			cJSON_AddItemToArray(sorted, cJSON_CreateString(v[i]));
	free(v);
	cJSON_Delete(*ignored);
	*ignored = sorted;
}

int
gw_compact_request_parse(const char *body, size_t n, uint64_t max_input_chars,
    gw_resp_request *out, gw_resp_error *e)
{
	if (gw_resp_request_parse_ex(body, n, max_input_chars, true, out, e) != 0)
		return -EINVAL;
	if (out->stream) {
		return gw_resp_error_set(e, 400, "invalid_value", "stream",
		    "stream: /v1/responses/compact answers with one JSON object; stream must be false");
	}
	/* the members a compaction does not use, said so (the body parsed
	 * above, so this parse cannot fail) */
	cJSON *root = cJSON_ParseWithLength(body, n);
	static const char *const unused[] = { "conversation", "metadata", "parallel_tool_calls",
		"store", "tool_choice", "tools" };
	const char *present[sizeof(unused) / sizeof(unused[0])];
	size_t np = 0;
	for (size_t i = 0; i < sizeof(unused) / sizeof(unused[0]); i++) {
		const cJSON *m = cJSON_GetObjectItemCaseSensitive(root, unused[i]);
		if (m != NULL && !cJSON_IsNull(m))
			present[np++] = unused[i];
	}
	gw_compact_ignore(&out->ignored, present, np);
	cJSON_Delete(root);
	out->store = false;
	free(out->session_seed);
	out->session_seed = NULL;
	/* the summarizing model is offered no tools */
	cJSON_Delete(out->tools);
	out->tools = cJSON_CreateArray();
	cJSON_Delete(out->tool_choice);
	out->tool_choice = cJSON_CreateString("auto");
	return 0;
}

/* ---- the split ------------------------------------------------------------------ */

static bool
gw_compact_is_role(const cJSON *item, const char *role)
{
	const char *type = gw_json_str(item, "type"), *r = gw_json_str(item, "role");
	return type != NULL && strcmp(type, "message") == 0 && r != NULL && strcmp(r, role) == 0;
}

void
gw_compact_split_window(const cJSON *window, size_t keep_turns, gw_compact_split *out)
{
	memset(out, 0, sizeof(*out));
	out->kept = cJSON_CreateArray();
	out->folded = cJSON_CreateArray();
	out->recent = cJSON_CreateArray();
	/* the start of the recent part: the keep_turns-th last user message,
	 * else the first one, else (no user message) the start */
	size_t n = 0, users = 0;
	for (const cJSON *it = window ? window->child : NULL; it; it = it->next, n++)
		if (gw_compact_is_role(it, "user"))
			users++;
	out->window_items = n;
	size_t skip = users > keep_turns ? users - keep_turns : 0, start = 0;
	if (users > 0) {
		size_t seen = 0, i = 0;
		for (const cJSON *it = window->child; it; it = it->next, i++)
			if (gw_compact_is_role(it, "user") && seen++ == skip) {
				start = i;
				break;
			}
	}
	if (keep_turns == 0)
		start = n;
	size_t i = 0;
	for (const cJSON *it = window ? window->child : NULL; it; it = it->next, i++) {
		cJSON *dst = i >= start ? out->recent :
		    gw_compact_is_role(it, "system") || gw_compact_is_role(it, "developer") ? out->kept :
		    out->folded;
		cJSON_AddItemToArray(dst, cJSON_Duplicate(it, 1));
	}
}

void
gw_compact_split_free(gw_compact_split *s)
{
	cJSON_Delete(s->kept);
	cJSON_Delete(s->folded);
	cJSON_Delete(s->recent);
	memset(s, 0, sizeof(*s));
}

/* ---- the transcript ------------------------------------------------------------- */

/* Appends s with every run of white space made one space (leading white
 * space dropped when *space says the line already ends in one). */
static void
gw_compact_put_text(gw_buf *b, const char *s, bool *space)
{
	for (; *s; s++) {
		if (isspace((unsigned char)*s)) {
			*space = true;
			continue;
		}
		if (*space && b->len > 0)
			gw_buf_putc(b, ' ');
		*space = false;
		gw_buf_putc(b, *s);
	}
}

/* One item's line text, white space collapsed, into b (reset first). */
static void
gw_compact_item_text(const cJSON *item, gw_buf *b)
{
	gw_buf_reset(b);
	bool space = false;
	const char *type = gw_json_str(item, "type");
	if (type != NULL && strcmp(type, "message") == 0) {
		const char *role = gw_json_str(item, "role");
		gw_buf_puts(b, role != NULL ? role : "user");
		gw_buf_putc(b, ':');
		space = true;
		const cJSON *content = cJSON_GetObjectItemCaseSensitive(item, "content");
		for (const cJSON *p = content ? content->child : NULL; p; p = p->next) {
			const char *t = gw_json_str(p, "text"), *pt = gw_json_str(p, "type");
			if (t == NULL && pt != NULL && strcmp(pt, "input_image") == 0)
				t = "[image]";
			if (t != NULL) {
				space = true;
				gw_compact_put_text(b, t, &space);
			}
		}
		return;
	}
	if (type != NULL && strcmp(type, "function_call") == 0) {
		const char *name = gw_json_str(item, "name"), *args = gw_json_str(item, "arguments");
		gw_buf_puts(b, "assistant called ");
		gw_compact_put_text(b, name != NULL ? name : "", &space);
		gw_buf_putc(b, '(');
		space = false;
		gw_compact_put_text(b, args != NULL ? args : "", &space);
		gw_buf_putc(b, ')');
		return;
	}
	if (type != NULL && strcmp(type, "function_call_output") == 0) {
		const char *id = gw_json_str(item, "call_id"), *o = gw_json_str(item, "output");
		gw_buf_puts(b, "tool result ");
		gw_compact_put_text(b, id != NULL ? id : "", &space);
		gw_buf_putc(b, ':');
		space = true;
		gw_compact_put_text(b, o != NULL ? o : "", &space);
		return;
	}
	gw_buf_printf(b, "[%s]", type != NULL ? type : "item");
}

/* Appends the first chars Unicode characters of the n bytes at s (all of
 * them when chars is 0), then "..." when some were cut. */
static void
gw_compact_put_cut(gw_buf *out, const char *s, size_t n, size_t chars)
{
	size_t i = 0, c = 0;
	for (; i < n && (chars == 0 || c < chars || ((unsigned char)s[i] & 0xC0) == 0x80); i++)
		if (((unsigned char)s[i] & 0xC0) != 0x80)
			c++;
	gw_buf_append(out, s, i);
	if (i < n)
		gw_buf_puts(out, "...");
}

void
gw_compact_transcript(const cJSON *items, size_t line_chars, size_t max_lines, gw_buf *out)
{
	size_t n = (size_t)cJSON_GetArraySize(items), skip = 0;
	if (max_lines != 0 && n > max_lines) {
		skip = n - max_lines;
		gw_buf_printf(out, "(%zu earlier item%s omitted)\n", skip, skip == 1 ? "" : "s");
	}
	gw_buf line = GW_BUF_INIT;
	size_t i = 0;
	for (const cJSON *it = items ? items->child : NULL; it; it = it->next, i++) {
		if (i < skip)
			continue;
		gw_compact_item_text(it, &line);
		gw_buf_puts(out, "- ");
		gw_compact_put_cut(out, gw_buf_cstr(&line), line.len, line_chars);
		gw_buf_putc(out, '\n');
	}
	gw_buf_free(&line);
}

void
gw_compact_fold(const cJSON *folded, gw_buf *out)
{
	size_t at = out->len;
	gw_compact_transcript(folded, GW_COMPACT_LINE_CHARS, GW_COMPACT_FOLD_LINES, out);
	if (out->len > at) { /* lines between lines, none after the last */
		out->len--;
		out->data[out->len] = '\0';
	}
}

/* A normalized user message with one input_text part (a new item). */
static cJSON *
gw_compact_user_message(const char *text)
{
	cJSON *part = cJSON_CreateObject();
	cJSON_AddStringToObject(part, "type", "input_text");
	cJSON_AddStringToObject(part, "text", text);
	cJSON *content = cJSON_CreateArray();
	cJSON_AddItemToArray(content, part);
	cJSON *m = cJSON_CreateObject();
	cJSON_AddStringToObject(m, "type", "message");
	cJSON_AddStringToObject(m, "role", "user");
	cJSON_AddItemToObject(m, "content", content);
	return m;
}

cJSON *
gw_compact_summary_items(const cJSON *folded)
{
	gw_buf t = GW_BUF_INIT;
	gw_buf_puts(&t, "Conversation to summarize:\n");
	gw_compact_transcript(folded, 0, 0, &t);
	cJSON *items = cJSON_CreateArray();
	cJSON_AddItemToArray(items, gw_compact_user_message(gw_buf_cstr(&t)));
	gw_buf_free(&t);
	return items;
}

char *
gw_compact_summary_instructions(const char *request_instructions)
{
	gw_buf t = GW_BUF_INIT;
	gw_buf_puts(&t, GW_COMPACT_INSTRUCTIONS);
	if (request_instructions != NULL && request_instructions[0] != '\0') {
		gw_buf_puts(&t, "\n\nThe conversation ran under these instructions:\n");
		gw_buf_puts(&t, request_instructions);
	}
	return gw_buf_detach(&t);
}

bool
gw_compact_reply_text(const char *reply, size_t n, gw_buf *out)
{
	size_t a = 0, z = n;
	while (a < z && isspace((unsigned char)reply[a]))
		a++;
	while (z > a && isspace((unsigned char)reply[z - 1]))
		z--;
	gw_buf_append(out, reply + a, z - a);
	return z > a;
}

/* ---- the answer ------------------------------------------------------------------ */

static void
gw_compact_append_copies(cJSON *dst, const cJSON *src)
{
	for (const cJSON *it = src ? src->child : NULL; it; it = it->next)
		cJSON_AddItemToArray(dst, cJSON_Duplicate(it, 1));
}

cJSON *
gw_compact_output(const gw_compact_split *s, const char *summary)
{
	cJSON *out = cJSON_CreateArray();
	gw_compact_append_copies(out, s->kept);
	if (cJSON_GetArraySize(s->folded) > 0) {
		gw_buf t = GW_BUF_INIT;
		gw_buf_puts(&t, GW_COMPACT_SUMMARY_PREFIX);
		gw_buf_puts(&t, summary != NULL ? summary : "");
		cJSON_AddItemToArray(out, gw_compact_user_message(gw_buf_cstr(&t)));
		gw_buf_free(&t);
	}
	gw_compact_append_copies(out, s->recent);
	return out;
}

void
gw_compact_json(const char *id, const char *model, uint64_t created_at, const cJSON *output,
    const gw_resp_usage *usage, const cJSON *ignored, gw_buf *out)
{
	gw_jw w;
	gw_jw_init(&w, out, false);
	gw_jw_obj_begin(&w);
	gw_jw_kstr(&w, "id", id);
	gw_jw_kstr(&w, "object", "response.compaction");
	gw_jw_ku64(&w, "created_at", created_at);
	gw_jw_kstr(&w, "model", model);
	gw_jw_key(&w, "output");
	gw_jw_cjson(&w, output);
	gw_jw_key(&w, "usage");
	gw_jw_obj_begin(&w);
	gw_jw_ku64(&w, "input_tokens", usage->input_tokens);
	gw_jw_key(&w, "input_tokens_details");
	gw_jw_obj_begin(&w);
	gw_jw_ku64(&w, "cached_tokens", 0);
	gw_jw_obj_end(&w);
	gw_jw_ku64(&w, "output_tokens", usage->output_tokens);
	gw_jw_key(&w, "output_tokens_details");
	gw_jw_obj_begin(&w);
	gw_jw_ku64(&w, "reasoning_tokens", 0);
	gw_jw_obj_end(&w);
	gw_jw_ku64(&w, "total_tokens", usage->total_tokens != 0 ? usage->total_tokens :
	    usage->input_tokens + usage->output_tokens);
	gw_jw_obj_end(&w);
	gw_jw_key(&w, "ignored_fields");
	if (ignored != NULL)
		gw_jw_cjson(&w, ignored);
	else {
		gw_jw_arr_begin(&w);
		gw_jw_arr_end(&w);
	}
	gw_jw_obj_end(&w);
}

void
gw_compact_new_id(gw_buf *out)
{
	gw_resp_new_id(out, "cmp_");
}
