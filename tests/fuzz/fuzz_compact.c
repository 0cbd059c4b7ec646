/*
 * fuzz_compact - a POST /v1/responses/compact body through
 * gw_compact_request_parse, and an accepted request's input compacted as
 * local/echo compacts it (split, fold, output).  The first byte picks the
 * input limit (bits 0-1) and the turns kept (bits 2-3: 0 to 3), the rest
 * is the body.  Checks: a refusal is a 4xx that says why; the split puts
 * every item in exactly one part, and the recent part starts at a user
 * message when it is not the whole window; the fold is the same twice;
 * the compacted window (and the upstream summary request) is well-formed
 * UTF-8 without NUL, accepted as /v1/responses input and unchanged by it
 * (a client sends it back as is); its JSON object parses.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/json.h"
#include "core/openresponses/compact.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* items, sent as input, are accepted and come back as they were */
static void
fuzz_as_input(const cJSON *items, const char *what)
{
	if (cJSON_GetArraySize(items) == 0)
		return;
	cJSON *body = cJSON_CreateObject();
	cJSON_AddItemToObject(body, "input", cJSON_Duplicate(items, 1));
	char *text = cJSON_PrintUnformatted(body);
	gw_json_text_fault f;
	if (!gw_json_text_clean(text, strlen(text), &f)) {
		fprintf(stderr, "%s holds %s at byte %zu (%s): %s\n", what,
		    f.nul ? "a NUL" : "invalid UTF-8", f.offset, f.path, text);
		abort();
	}
	gw_resp_request again;
	gw_resp_error e = { 0 };
	if (gw_resp_request_parse(text, strlen(text), UINT64_MAX, &again, &e) != 0) {
		fprintf(stderr, "%s refused as input (%s): %s\n", what, e.message, text);
		abort();
	}
	if (!cJSON_Compare(again.input, items, true)) {
		char *t2 = cJSON_PrintUnformatted(again.input);
		fprintf(stderr, "%s changed as input:\n%s\n%s\n", what, text, t2);
		abort();
	}
	gw_resp_request_free(&again);
	free(text);
	cJSON_Delete(body);
}

static void
fuzz_compact(const gw_resp_request *req, size_t keep)
{
	gw_compact_split s;
	gw_compact_split_window(req->input, keep, &s);
	size_t n = (size_t)cJSON_GetArraySize(req->input);
	if (s.window_items != n || (size_t)cJSON_GetArraySize(s.kept) +
	    (size_t)cJSON_GetArraySize(s.folded) + (size_t)cJSON_GetArraySize(s.recent) != n)
		abort(); /* an item lost or doubled */
	const cJSON *first = s.recent->child;
	if (first != NULL && (size_t)cJSON_GetArraySize(s.recent) < n) {
		const char *role = gw_json_str(first, "role");
		if (role == NULL || strcmp(role, "user") != 0)
			abort(); /* the recent part starts at a turn */
	}
	gw_buf fold = GW_BUF_INIT, again = GW_BUF_INIT;
	gw_compact_fold(s.folded, &fold);
	gw_compact_fold(s.folded, &again);
	if (fold.len != again.len || (fold.len > 0 && memcmp(fold.data, again.data, fold.len) != 0))
		abort(); /* not deterministic */
	cJSON *out = gw_compact_output(&s, gw_buf_cstr(&fold));
	fuzz_as_input(out, "the compacted window");
	cJSON *sum = gw_compact_summary_items(s.folded);
	fuzz_as_input(sum, "the summary request");
	gw_resp_usage u = { 1, 2, 3 };
	gw_buf json = GW_BUF_INIT;
	gw_compact_json("cmp_x", "local/echo", 1, out, &u, req->ignored, &json);
	cJSON *back = cJSON_ParseWithLength(json.data, json.len);
	if (back == NULL)
		abort();
	cJSON_Delete(back);
	gw_buf_free(&json);
	cJSON_Delete(sum);
	cJSON_Delete(out);
	gw_buf_free(&again);
	gw_buf_free(&fold);
	gw_compact_split_free(&s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	static const uint64_t limits[] = { 1, 16, 4096, 1000000 };
	uint64_t limit = limits[data[0] & 3];
	size_t keep = (data[0] >> 2) & 3;
	char *body = fuzz_cstr(data + 1, size - 1);
	gw_resp_request req;
	gw_resp_error e = { 0 };
	if (gw_compact_request_parse(body, size - 1, limit, &req, &e) == 0) {
		if (req.input_chars > limit || req.store || req.stream || req.session_seed != NULL)
			abort();
		fuzz_compact(&req, keep);
	} else if (e.status < 400 || e.status > 499 || e.message[0] == '\0') {
		abort(); /* a refusal is a 4xx that says why */
	}
	gw_resp_request_free(&req);
	free(body);
	return 0;
}
