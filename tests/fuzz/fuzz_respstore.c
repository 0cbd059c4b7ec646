/*
 * fuzz_respstore - a stored response file (openresponses/responses/<id>.json)
 * through gw_respstore_load and its record check, and as the head of a
 * chain: gw_respstore_chain_load rebuilds the context a previous_response_id
 * continuation sees (walking to a fixed well-formed parent, resp_fuzzp, when
 * the record names it; a record naming itself is a loop), and that context
 * is used as a new run uses it (fuzz_provider.h), so nothing downstream may
 * meet a record the check let through and fail on it.  Properties: a
 * refusal always says why; the context holds at most FUZZ_MAX_ITEMS items
 * weighing at most FUZZ_MAX_BYTES (compact JSON + 1 each) and starts at a
 * user turn; a record's items weigh at most GW_RESP_WEIGHT_MAX_GROWTH times
 * its text; a continuation saved on an accepted chain loads
 * back, and its input_items are exactly the context the run saw; the
 * walk's lean reading refuses no valid record a full load accepts.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/base/json.h"
#include "core/openresponses/respstore.h"
#include "core/openresponses/responses.h"
#include "fuzz_provider.h"
#include "fuzz_util.h"

/* The store of a state directory: one at a time, reopened when the
 * directory changes, kept for the process. */
static gw_store *st_cur;
static gw_store *
ST(const char *dir)
{
	if (st_cur == NULL || strcmp(gw_store_dir(st_cur), dir) != 0) {
		gw_store_close(st_cur);
		st_cur = NULL;
		gw_store_open_dir(dir, &st_cur, NULL);
	}
	return st_cur;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The context bound a server uses by default, and the smallest byte bound
 * the flag allows (so fuzzed records reach it). */
#define FUZZ_MAX_ITEMS 200
#define FUZZ_MAX_BYTES 4096

static const char fuzz_parent[] =
    "{\"id\":\"resp_fuzzp\",\"session_key\":\"\",\"input_items\":[{\"type\":\"message\","
    "\"role\":\"user\",\"content\":[{\"type\":\"input_text\",\"text\":\"p\"}]}],"
    "\"response\":{\"id\":\"resp_fuzzp\",\"output\":[{\"type\":\"message\",\"role\":"
    "\"assistant\",\"content\":[{\"type\":\"output_text\",\"text\":\"q\"}]}]}}\n";

static char *
fuzz_text(const cJSON *v)
{
	gw_buf b = GW_BUF_INIT;
	gw_jw w;
	gw_jw_init(&w, &b, false);
	gw_jw_cjson(&w, v);
	return gw_buf_detach(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char path[700], path2[700];
	const char *dir = fuzz_dir();
	if (path[0] == '\0') {
		char d[650];
		snprintf(d, sizeof(d), "%s/openresponses", dir);
		mkdir(d, 0700);
		snprintf(d, sizeof(d), "%s/openresponses/responses", dir);
		mkdir(d, 0700);
		snprintf(path, sizeof(path), "%s/resp_fuzz.json", d);
		snprintf(path2, sizeof(path2), "%s/resp_fuzzp.json", d);
		fuzz_write_file(path2, (const uint8_t *)fuzz_parent, sizeof(fuzz_parent) - 1);
		snprintf(path2, sizeof(path2), "%s/resp_fuzz2.json", d);
	}
	unlink(path2); /* each input starts from the same directory */
	fuzz_write_file(path, data, size);
	cJSON *rec = NULL;
	gw_err err;
	gw_err_clear(&err);
	if (gw_respstore_load(ST(dir), "resp_fuzz", &rec, &err) != 0) {
		if (err.msg[0] == '\0')
			abort(); /* a refusal always says why */
		return 0;
	}
	/* a record's items weigh at most GW_RESP_WEIGHT_MAX_GROWTH times its
	 * text, which lets a bound skip weighing them (gw_resp_items_bound) */
	const cJSON *lists[2] = { cJSON_GetObjectItemCaseSensitive(rec, "input_items"),
		cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(rec, "response"),
		    "output") };
	size_t grown = 0;
	for (int l = 0; l < 2; l++) {
		for (const cJSON *it = lists[l] ? lists[l]->child : NULL; it; it = it->next) {
			char *t = fuzz_text(it);
			grown += strlen(t) + 1;
			free(t);
		}
	}
	if (grown > GW_RESP_WEIGHT_MAX_GROWTH * size) {
		fprintf(stderr, "items weigh %zu, over %d times the record's %zu bytes\n", grown,
		    GW_RESP_WEIGHT_MAX_GROWTH, size);
		abort();
	}
	cJSON *listed = NULL;
	gw_err_clear(&err);
	if (gw_respstore_input_items(ST(dir), rec, &listed, &err) != 0 && err.msg[0] == '\0')
		abort();
	cJSON_Delete(listed);
	/* a follow-up request's context: the chain, then a new user turn */
	gw_respstore_chain chain;
	gw_err_clear(&err);
	int rc = gw_respstore_chain_load(ST(dir), NULL, "resp_fuzz", FUZZ_MAX_ITEMS, FUZZ_MAX_BYTES, &chain,
	    &err);
	if (rc == -EINVAL && gw_json_valid((const char *)data, size)) {
		/* the walk reads records lean, yet refuses no strictly valid
		 * JSON that a full load accepts (only the sound fixed parent
		 * can follow; cJSON lets raw control bytes through, which the
		 * walk's scanner refuses) */
		fprintf(stderr, "the walk refused a record the full load accepted: %s\n", err.msg);
		abort();
	}
	if (rc != 0) {
		if (err.msg[0] == '\0')
			abort();
		gw_respstore_chain_free(&chain);
		cJSON_Delete(rec);
		return 0;
	}
	if ((size_t)cJSON_GetArraySize(chain.items) > FUZZ_MAX_ITEMS)
		abort(); /* the bound holds */
	/* so does the byte bound: each item weighs its compact JSON and a
	 * line end (as a session's history does), and the kept items weigh
	 * FUZZ_MAX_BYTES at most; and the context starts at a user turn */
	size_t weight = 0;
	for (const cJSON *it = chain.items->child; it != NULL; it = it->next) {
		char *t = fuzz_text(it);
		weight += strlen(t) + 1;
		free(t);
	}
	if (weight > FUZZ_MAX_BYTES) {
		fprintf(stderr, "the context weighs %zu bytes, over the %d-byte bound\n", weight,
		    FUZZ_MAX_BYTES);
		abort();
	}
	if (chain.items->child != NULL && !gw_resp_item_starts_turn(chain.items->child))
		abort(); /* the kept context begins with a user/system turn */
	static const char follow[] = "{\"input\":\"and then?\",\"previous_response_id\":\"resp_fuzz\"}";
	gw_resp_request req;
	gw_resp_error e;
	if (gw_resp_request_parse(follow, sizeof(follow) - 1, 1000000, &req, &e) != 0)
		abort();
	cJSON *ctx = cJSON_Duplicate(chain.items, 1);
	size_t history = (size_t)cJSON_GetArraySize(ctx);
	for (const cJSON *it = req.input->child; it != NULL; it = it->next)
		cJSON_AddItemToArray(ctx, cJSON_Duplicate(it, 1));
	fuzz_run(&req, ctx);
	/* and saved as the next response of that conversation would be: its
	 * own input and a link; listing its input items rebuilds ctx */
	const cJSON *resp = cJSON_GetObjectItemCaseSensitive(rec, "response");
	char *text = fuzz_text(resp);
	gw_respstore_rec next = { .id = "resp_fuzz2", .session_key = chain.session_key,
		.previous_id = "resp_fuzz", .history_items = history, .input_items = req.input,
		.response_json = text, .response_len = strlen(text) };
	if (gw_respstore_save(ST(dir), &next, &err) == 0) {
		cJSON *again = NULL, *items = NULL;
		if (gw_respstore_load(ST(dir), "resp_fuzz2", &again, &err) != 0) {
			fprintf(stderr, "a saved record does not load back: %s\n", err.msg);
			abort();
		}
		if (gw_respstore_input_items(ST(dir), again, &items, &err) != 0) {
			fprintf(stderr, "a saved record's input items do not load: %s\n", err.msg);
			abort();
		}
		char *want = fuzz_text(ctx), *got = fuzz_text(items);
		if (strcmp(want, got) != 0) {
			fprintf(stderr, "input_items differ from the context:\n%s\n%s\n", want, got);
			abort();
		}
		free(want);
		free(got);
		cJSON_Delete(items);
		cJSON_Delete(again);
	}
	free(text);
	cJSON_Delete(ctx);
	gw_respstore_chain_free(&chain);
	gw_resp_request_free(&req);
	cJSON_Delete(rec);
	return 0;
}
