/*
 * fuzz_chatin - a POST /v1/chat/completions body through gw_chatin_parse
 * (validation and translation into normalized items).  The first byte
 * picks the max-input-chars limit, the rest is the body.  An accepted
 * request is within the limit, never stored and without a session, and
 * runs as the API runs it (fuzz_provider.h); its texts, fed to the chunk
 * writer, give frames that are each one JSON object, the last
 * "data: [DONE]".  A refusal is a 4xx that says why.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/json.h"
#include "core/openresponses/chatin.h"
#include "fuzz_provider.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_chunk(void *ctx, const char *frame, size_t n)
{
	size_t *count = ctx;
	(*count)++;
	if (n >= 6 + 2 && strncmp(frame, "data: ", 6) == 0 && strncmp(frame + n - 2, "\n\n", 2) == 0) {
		if (n == sizeof(GW_RESP_SSE_DONE) - 1 && memcmp(frame, GW_RESP_SSE_DONE, n) == 0)
			return;
		cJSON *v = cJSON_ParseWithLength(frame + 6, n - 8);
		if (v != NULL && cJSON_IsObject(v)) {
			cJSON_Delete(v);
			return;
		}
	}
	fprintf(stderr, "bad chunk frame: %.*s\n", (int)n, frame);
	abort();
}

/* Every text of the accepted items through the chunk writer. */
static void
fuzz_stream(const gw_resp_request *req, bool include_usage)
{
	size_t count = 0;
	gw_chatin_stream *s = gw_chatin_stream_new("chatcmpl-f", "local/echo", 1, include_usage,
	    fuzz_chunk, &count);
	size_t k = 0;
	for (const cJSON *it = req->input->child; it; it = it->next, k++) {
		const char *name = gw_json_str(it, "name");
		if (name != NULL) {
			gw_chatin_stream_tool_begin(s, k, gw_json_str(it, "call_id"), name);
			const char *a = gw_json_str(it, "arguments");
			gw_chatin_stream_tool_args(s, k, a, strlen(a));
		}
		const cJSON *content = cJSON_GetObjectItemCaseSensitive(it, "content");
		for (const cJSON *p = content ? content->child : NULL; p; p = p->next) {
			const char *t = gw_json_str(p, "text");
			if (t != NULL)
				gw_chatin_stream_text(s, t, strlen(t));
		}
	}
	gw_resp_usage u = { 1, 2, 3 };
	gw_chatin_stream_finish(s, "stop", &u);
	gw_chatin_stream_free(s);
	if (count < 3)
		abort(); /* role, finish, [DONE] at least */
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	static const uint64_t limits[] = { 1, 16, 4096, 1000000 };
	uint64_t limit = limits[data[0] & 3];
	char *body = fuzz_cstr(data + 1, size - 1);
	gw_resp_request req;
	gw_resp_error e = { 0 };
	bool include_usage;
	char *model = NULL;
	if (gw_chatin_parse(body, size - 1, limit, &req, &include_usage, &model, &e) == 0) {
		if (req.input_chars > limit || req.store || req.session_seed != NULL ||
		    req.previous_response_id != NULL)
			abort(); /* over the limit, stored or in a session, yet accepted */
		fuzz_run(&req, req.input);
		fuzz_stream(&req, include_usage);
	} else {
		if (e.status < 400 || e.status > 499 || e.message[0] == '\0')
			abort();
		gw_buf out = GW_BUF_INIT;
		gw_resp_error_json(&e, &out);
		cJSON *back = cJSON_ParseWithLength(out.data, out.len);
		if (back == NULL)
			abort();
		cJSON_Delete(back);
		gw_buf_free(&out);
	}
	gw_resp_request_free(&req);
	free(model);
	free(body);
	return 0;
}
