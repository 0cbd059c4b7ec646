/*
 * fuzz_state - state.json as gw_state_load reads it, in both the full and
 * the posture-only read modes; an accepted state is normalised, capped and
 * saved again (the writer's path), and the saved file must load back.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

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
	gw_state_sort_requests(st);
	int rc = gw_state_save(st, &err);
	gw_state_free(st);
	if (rc != 0)
		return 0;
	/* what the gateway writes, it reads back */
	gw_err_clear(&err);
	if (gw_state_load(dir, GW_STATE_READ_EXISTING, &st, &err) != 0) {
		fprintf(stderr, "saved state does not load back: %s\n", err.msg);
		abort();
	}
	gw_state_free(st);
	return 0;
}
