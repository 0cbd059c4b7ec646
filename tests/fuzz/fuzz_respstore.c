/*
 * fuzz_respstore - a stored response file (openresponses/responses/<id>.json)
 * through gw_respstore_load and its record check; an accepted record is
 * used as previous_response_id uses it (input_items + response.output as
 * the context of a new run, fuzz_provider.h), so nothing downstream may
 * meet a record the check let through and fail on it.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "core/openresponses/respstore.h"
#include "core/openresponses/responses.h"
#include "fuzz_provider.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_append_copies(cJSON *dst, const cJSON *src)
{
	for (const cJSON *it = src != NULL ? src->child : NULL; it != NULL; it = it->next)
		cJSON_AddItemToArray(dst, cJSON_Duplicate(it, 1));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char path[700];
	const char *dir = fuzz_dir();
	if (path[0] == '\0') {
		char d[650];
		snprintf(d, sizeof(d), "%s/openresponses", dir);
		mkdir(d, 0700);
		snprintf(d, sizeof(d), "%s/openresponses/responses", dir);
		mkdir(d, 0700);
		snprintf(path, sizeof(path), "%s/resp_fuzz.json", d);
	}
	fuzz_write_file(path, data, size);
	cJSON *rec = NULL;
	gw_err err;
	gw_err_clear(&err);
	if (gw_respstore_load(dir, "resp_fuzz", &rec, &err) != 0) {
		if (err.msg[0] == '\0')
			abort(); /* a refusal always says why */
		return 0;
	}
	/* a follow-up request's context: the record, then a new user turn */
	static const char follow[] = "{\"input\":\"and then?\",\"previous_response_id\":\"resp_fuzz\"}";
	gw_resp_request req;
	gw_resp_error e;
	if (gw_resp_request_parse(follow, sizeof(follow) - 1, 1000000, &req, &e) != 0)
		abort();
	cJSON *ctx = cJSON_CreateArray();
	fuzz_append_copies(ctx, cJSON_GetObjectItemCaseSensitive(rec, "input_items"));
	const cJSON *resp = cJSON_GetObjectItemCaseSensitive(rec, "response");
	fuzz_append_copies(ctx, cJSON_GetObjectItemCaseSensitive(resp, "output"));
	fuzz_append_copies(ctx, req.input);
	fuzz_run(&req, ctx);
	/* and saved again, as a new response of that conversation would be */
	char *text = cJSON_PrintUnformatted(resp);
	const cJSON *key = cJSON_GetObjectItemCaseSensitive(rec, "session_key");
	if (gw_respstore_save(dir, "resp_fuzz2", cJSON_IsString(key) ? key->valuestring : "", ctx,
	        text, strlen(text), &err) == 0) {
		cJSON *again = NULL;
		if (gw_respstore_load(dir, "resp_fuzz2", &again, &err) != 0) {
			fprintf(stderr, "a saved record does not load back: %s\n", err.msg);
			abort();
		}
		cJSON_Delete(again);
	}
	free(text);
	cJSON_Delete(ctx);
	gw_resp_request_free(&req);
	cJSON_Delete(rec);
	return 0;
}
