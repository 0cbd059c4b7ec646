/*
 * fuzz_state - state.json as gw_state_load reads it, in both the full and
 * the posture-only read modes (schema 1 with its keys and records, schema 2
 * with the records store's counters); an accepted state is normalised,
 * capped and saved again (the writer's path, a schema 1 file migrated into
 * the store); the saved file must load back and save to the same bytes.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/fs.h"
#include "core/gateway/state.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *dir = fuzz_dir();
	char path[600];
	snprintf(path, sizeof(path), "%s/state.json", dir);
	fuzz_write_file(path, data, size);
	gw_err err;
	gw_state *st = NULL;
	gw_err_clear(&err);
	if (gw_state_load(dir, GW_STATE_READ | GW_STATE_READ_POSTURE, &st, &err) == 0)
		gw_state_free(st);
	gw_err_clear(&err);
	if (gw_state_load(dir, GW_STATE_READ_EXISTING, &st, &err) != 0) {
		if (err.msg[0] == '\0')
			abort(); /* a refusal always says why */
		return 0;
	}
	gw_state_normalize_service(st, 1700000000000ULL);
	gw_state_cap_processed(st, 8);
	int rc = gw_state_save(st, &err);
	gw_state_free(st);
	if (rc != 0)
		return 0;
	/* what the gateway writes, it reads back, and writes again the same */
	gw_buf first = GW_BUF_INIT, second = GW_BUF_INIT;
	if (gw_fs_read_file(path, &first, &err) != 0)
		abort();
	gw_err_clear(&err);
	if (gw_state_load(dir, GW_STATE_READ_EXISTING, &st, &err) != 0) {
		fprintf(stderr, "saved state does not load back: %s\n", err.msg);
		abort();
	}
	if (gw_state_save(st, &err) != 0 || gw_fs_read_file(path, &second, &err) != 0)
		abort();
	gw_state_free(st);
	if (first.len != second.len || memcmp(first.data, second.data, first.len) != 0) {
		fprintf(stderr, "state changed on a load and save:\n%s\n---\n%s\n", gw_buf_cstr(&first),
		    gw_buf_cstr(&second));
		abort();
	}
	gw_buf_free(&first);
	gw_buf_free(&second);
	return 0;
}
