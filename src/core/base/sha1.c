/*
 * sha1.c - SHA-1 (FIPS 180-4), one shot.  Used by the WebSocket handshake
 * (Sec-WebSocket-Accept); tests/unit/test_sha1.c checks the FIPS 180 / RFC
 * 3174 vectors and RFC 6455's handshake example.
 */
#include "core/base/sha1.h"

#include <string.h>

static uint32_t
gw_sha1_rol(uint32_t x, unsigned n)
{
	return (x << n) | (x >> (32 - n));
}

static void
gw_sha1_block(uint32_t h[5], const uint8_t p[64])
{
	uint32_t w[80];
	for (int i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
		    (uint32_t)p[4 * i + 2] << 8 | (uint32_t)p[4 * i + 3];
	for (int i = 16; i < 80; i++)
		w[i] = gw_sha1_rol(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
	uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
	for (int i = 0; i < 80; i++) {
		uint32_t f, k;
		if (i < 20) {
			f = (b & c) | (~b & d);
			k = 0x5A827999u;
		} else if (i < 40) {
			f = b ^ c ^ d;
			k = 0x6ED9EBA1u;
		} else if (i < 60) {
			f = (b & c) | (b & d) | (c & d);
			k = 0x8F1BBCDCu;
		} else {
			f = b ^ c ^ d;
			k = 0xCA62C1D6u;
		}
		uint32_t t = gw_sha1_rol(a, 5) + f + e + k + w[i];
		e = d;
		d = c;
		c = gw_sha1_rol(b, 30);
		b = a;
		a = t;
	}
	h[0] += a;
	h[1] += b;
	h[2] += c;
	h[3] += d;
	h[4] += e;
}

void
gw_sha1(const void *data, size_t n, uint8_t out[GW_SHA1_LEN])
{
	uint32_t h[5] = { 0x67452301u, 0xEFCDAB89u, 0x98BADCFEu, 0x10325476u, 0xC3D2E1F0u };
	const uint8_t *p = data;
	size_t left = n;
	for (; left >= 64; left -= 64, p += 64)
		gw_sha1_block(h, p);
	/* the tail, the 0x80 marker and the bit length: one or two blocks */
	uint8_t tail[128];
	memset(tail, 0, sizeof(tail));
	if (left > 0)
		memcpy(tail, p, left);
	tail[left] = 0x80;
	size_t tn = left + 1 + 8 <= 64 ? 64 : 128;
	uint64_t bits = (uint64_t)n * 8;
	for (int i = 0; i < 8; i++)
		tail[tn - 1 - (size_t)i] = (uint8_t)(bits >> (8 * i));
	gw_sha1_block(h, tail);
	if (tn == 128)
		gw_sha1_block(h, tail + 64);
	for (int i = 0; i < 5; i++) {
		out[4 * i] = (uint8_t)(h[i] >> 24);
		out[4 * i + 1] = (uint8_t)(h[i] >> 16);
		out[4 * i + 2] = (uint8_t)(h[i] >> 8);
		out[4 * i + 3] = (uint8_t)h[i];
	}
}
