/*
 * test_auth.c - the bearer-token check on plain bytes (src/server/auth.c):
 * the spellings clients send pass, anything else does not, and the value's
 * length, not a NUL inside it, decides what is compared.
 */
#include "unit.h"

#include "core/base/hash.h"
#include "server/auth.h"

static bool
ok(const char *h, size_t n)
{
	uint8_t d[GW_SHA256_LEN];
	gw_hash_sha256("tok-1", 5, d);
	return srv_auth_bearer_ok(h, n, d);
}
#define OK(s) ok(s, sizeof(s) - 1)

static void
test_the_token_passes_in_every_accepted_spelling(void **state)
{
	(void)state;
	assert_true(OK("Bearer tok-1"));
	assert_true(OK("bearer tok-1"));
	assert_true(OK("BEARER \t tok-1"));
	assert_true(OK("Bearer tok-1 \r\n"));
}

static void
test_anything_else_fails(void **state)
{
	(void)state;
	assert_false(OK(""));
	assert_false(OK("Bearer"));
	assert_false(OK("Bearer "));
	assert_false(OK("Bearertok-1"));
	assert_false(OK("Basic tok-1"));
	assert_false(OK("Bearer tok-"));
	assert_false(OK("Bearer tok-12"));
	assert_false(OK("Bearer tok-1 x"));
	assert_false(OK("Bearer \ntok-1"));
	/* a NUL inside the value is part of it */
	assert_false(OK("Bearer tok-1\0x"));
	assert_false(OK("Bearer tok-1\0"));
	/* the length given is what is read */
	assert_false(ok("Bearer tok-1", 11));
	assert_true(ok("Bearer tok-1 and more", 12));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_the_token_passes_in_every_accepted_spelling),
		cmocka_unit_test(test_anything_else_fails),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
