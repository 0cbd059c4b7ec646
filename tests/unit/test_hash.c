/*
 * test_hash.c - SHA-256 against FIPS 180-4 vectors, base64 padding, random
 * ids, and the constant-time comparison's results.
 */
#include "unit.h"

#include "core/base/hash.h"

static void
hex(const uint8_t *d, char *out)
{
	for (int i = 0; i < GW_SHA256_LEN; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static void
test_sha256_vectors(void **state)
{
	(void)state;
	uint8_t d[GW_SHA256_LEN];
	char h[65];
	gw_hash_sha256("", 0, d);
	hex(d, h);
	assert_string_equal(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	gw_hash_sha256("abc", 3, d);
	hex(d, h);
	assert_string_equal(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	gw_hash_sha256(two, strlen(two), d);
	hex(d, h);
	assert_string_equal(h, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
	char *mil = malloc(1000000);
	memset(mil, 'a', 1000000);
	gw_hash_sha256(mil, 1000000, d);
	free(mil);
	hex(d, h);
	assert_string_equal(h, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

static void
test_base64(void **state)
{
	(void)state;
	const char *in[] = { "", "f", "fo", "foo", "foob", "fooba", "foobar" };
	const char *out[] = { "", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy" };
	for (int i = 0; i < 7; i++) {
		gw_buf b = GW_BUF_INIT;
		gw_hash_base64(&b, in[i], strlen(in[i]));
		assert_string_equal(gw_buf_cstr(&b), out[i]);
		gw_buf_free(&b);
	}
}

static void
test_random_and_compare(void **state)
{
	(void)state;
	gw_buf a = GW_BUF_INIT, b = GW_BUF_INIT;
	gw_hash_random_hex(&a, 16);
	gw_hash_random_hex(&b, 16);
	assert_int_equal(a.len, 32);
	assert_string_not_equal(a.data, b.data);
	gw_buf_free(&a);
	gw_buf_free(&b);
	assert_true(gw_hash_equal_ct("secret", 6, "secret", 6));
	assert_false(gw_hash_equal_ct("secret", 6, "secreT", 6));
	assert_false(gw_hash_equal_ct("secret", 6, "secret1", 7));
	assert_false(gw_hash_equal_ct("", 0, "x", 1));
	uint8_t d[GW_SHA256_LEN];
	gw_hash_sha256("secret", 6, d);
	assert_true(gw_hash_matches_digest_ct("secret", 6, d));
	assert_false(gw_hash_matches_digest_ct("secreT", 6, d));
	assert_false(gw_hash_matches_digest_ct("secret1", 7, d));
	/* ids drawn across several refills of the per-thread pool (256 bytes)
	 * are all lowercase hex and all distinct */
	char ids[40][33];
	for (int i = 0; i < 40; i++) {
		gw_buf id = GW_BUF_INIT;
		gw_hash_random_hex(&id, 16);
		assert_int_equal(id.len, 32);
		assert_int_equal(strspn(id.data, "0123456789abcdef"), 32);
		snprintf(ids[i], sizeof(ids[i]), "%s", id.data);
		gw_buf_free(&id);
		for (int k = 0; k < i; k++)
			assert_string_not_equal(ids[i], ids[k]);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sha256_vectors),
		cmocka_unit_test(test_base64),
		cmocka_unit_test(test_random_and_compare),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
