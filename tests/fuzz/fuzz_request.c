/*
 * fuzz_request - a POST /v1/responses body through gw_resp_request_parse
 * (validation and translation into normalized items); an accepted request
 * is then run as the API runs it (fuzz_provider.h).  The first byte picks
 * the max-input-chars limit, the rest is the body.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/json.h"
#include "core/openresponses/responses.h"
#include "fuzz_provider.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Normalized items are valid input, and normalizing them again changes
 * nothing (sessions and stored responses keep them in this form). */
static void
fuzz_reparse(const gw_resp_request *req)
{
	cJSON *body = cJSON_CreateObject();
	cJSON_AddItemToObject(body, "input", cJSON_Duplicate(req->input, 1));
	char *text = cJSON_PrintUnformatted(body);
	/* an accepted request holds well-formed UTF-8 and no NUL (defect 10) */
	gw_json_text_fault f;
	if (!gw_json_text_clean(text, strlen(text), &f)) {
		fprintf(stderr, "accepted items hold %s at byte %zu (%s): %s\n",
		    f.nul ? "a NUL" : "invalid UTF-8", f.offset, f.path, text);
		abort();
	}
	gw_resp_request again;
	gw_resp_error e = { 0 };
	if (gw_resp_request_parse(text, strlen(text), UINT64_MAX, &again, &e) != 0) {
		fprintf(stderr, "normalized items refused (%s): %s\n", e.message, text);
		abort();
	}
	if (!cJSON_Compare(again.input, req->input, true)) {
		char *t2 = cJSON_PrintUnformatted(again.input);
		fprintf(stderr, "normalized items changed:\n%s\n%s\n", text, t2);
		abort();
	}
	gw_resp_request_free(&again);
	free(text);
	cJSON_Delete(body);
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
	if (gw_resp_request_parse(body, size - 1, limit, &req, &e) == 0) {
		if (req.input_chars > limit)
			abort(); /* over the limit yet accepted */
		fuzz_run(&req, req.input);
		fuzz_reparse(&req);
	} else {
		if (e.status < 400 || e.status > 499 || e.message[0] == '\0')
			abort(); /* a refusal is a 4xx that says why */
		gw_buf out = GW_BUF_INIT;
		gw_resp_error_json(&e, &out);
		cJSON *back = cJSON_ParseWithLength(out.data, out.len);
		if (back == NULL)
			abort();
		cJSON_Delete(back);
		gw_buf_free(&out);
	}
	gw_resp_request_free(&req);
	free(body);
	return 0;
}
