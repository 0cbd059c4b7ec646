/*
 * test_sha1.c - SHA-1 against the FIPS 180 / RFC 3174 vectors (one and
 * two blocks, a million 'a's, a message that fills the first block's
 * length field) and RFC 6455's own handshake example
 * ("dGhlIHNhbXBsZSBub25jZQ==" -> "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=").
 */
#include "unit.h"

#include "core/base/hash.h"
#include "core/base/sha1.h"

static void
check(const void *data, size_t n, const char *want)
{
	uint8_t d[GW_SHA1_LEN];
	char h[2 * GW_SHA1_LEN + 1];
	gw_sha1(data, n, d);
	for (int i = 0; i < GW_SHA1_LEN; i++)
		snprintf(h + 2 * i, 3, "%02x", d[i]);
	assert_string_equal(h, want);
}

static void
test_sha1_vectors(void **state)
{
	(void)state;
	check("", 0, "da39a3ee5e6b4b0d3255bfef95601890afd80709");
	check("abc", 3, "a9993e364706816aba3e25717850c26c9cd0d89d");
	const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	check(two, strlen(two), "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
	/* RFC 3174 TEST4: 64 bytes, 10 times (ten whole blocks, then one of padding) */
	char t4[640];
	for (int i = 0; i < 10; i++)
		memcpy(t4 + 64 * i, "0123456701234567012345670123456701234567012345670123456701234567", 64);
	check(t4, 640, "dea356a2cddd90c7a7ecedc5ebb563934f460452");
	char *mil = malloc(1000000);
	memset(mil, 'a', 1000000);
	check(mil, 1000000, "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
	free(mil);
}

static void
test_websocket_accept(void **state)
{
	(void)state;
	const char *in = "dGhlIHNhbXBsZSBub25jZQ==258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
	uint8_t d[GW_SHA1_LEN];
	gw_sha1(in, strlen(in), d);
	gw_buf b = GW_BUF_INIT;
	gw_hash_base64(&b, d, sizeof(d));
	assert_string_equal(gw_buf_cstr(&b), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
	gw_buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sha1_vectors),
		cmocka_unit_test(test_websocket_accept),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
