/*
 * fuzz_fixture - gw_fixture_parse (schema v1 parse and validation) on any
 * bytes, then every accepted case evaluated and checked against its
 * expectations, as the runner does.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/gateway/fixture.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	gw_fixture *f = NULL;
	gw_err err;
	gw_err_clear(&err);
	char *text = fuzz_cstr(data, size);
	if (gw_fixture_parse("fuzz.json", text, size, &f, &err) == 0) {
		for (size_t i = 0; i < gw_fixture_count(f); i++) {
			const gw_case *c = gw_fixture_case(f, i);
			gw_result r;
			memset(&r, 0, sizeof(r));
			gw_case_evaluate(c, &r);
			gw_err e2;
			gw_err_clear(&e2);
			(void)gw_case_check(c, &r, &e2);
			gw_buf_free(&r.body);
		}
		gw_fixture_free(f);
	} else if (err.msg[0] == '\0') {
		abort(); /* a refusal always says why */
	}
	free(text);
	return 0;
}
