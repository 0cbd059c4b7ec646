/*
 * hash.c - SHA-256 (FIPS 180-4), base64 (RFC 4648), random hex ids and a
 * constant-time comparison.  It must never branch on secret bytes in
 * gw_hash_equal_ct, and never fall back to a predictable random source.
 */
#include "core/base/hash.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

static const uint32_t gw_sha256_k[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
	0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
	0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
	0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
	0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2
};

static uint32_t
gw_ror(uint32_t x, unsigned n)
{
	return (x >> n) | (x << (32 - n));
}

static void
gw_sha256_block(uint32_t h[8], const uint8_t *p)
{
	uint32_t w[64];
	for (int i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
		    (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
	for (int i = 16; i < 64; i++) {
		uint32_t s0 = gw_ror(w[i - 15], 7) ^ gw_ror(w[i - 15], 18) ^ (w[i - 15] >> 3);
		uint32_t s1 = gw_ror(w[i - 2], 17) ^ gw_ror(w[i - 2], 19) ^ (w[i - 2] >> 10);
		w[i] = w[i - 16] + s0 + w[i - 7] + s1;
	}
	uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], k = h[7];
	for (int i = 0; i < 64; i++) {
		uint32_t t1 = k + (gw_ror(e, 6) ^ gw_ror(e, 11) ^ gw_ror(e, 25)) + ((e & f) ^ (~e & g)) +
		    gw_sha256_k[i] + w[i];
		uint32_t t2 = (gw_ror(a, 2) ^ gw_ror(a, 13) ^ gw_ror(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
		k = g;
		g = f;
		f = e;
		e = d + t1;
		d = c;
		c = b;
		b = a;
		a = t1 + t2;
	}
	h[0] += a; h[1] += b; h[2] += c; h[3] += d;
	h[4] += e; h[5] += f; h[6] += g; h[7] += k;
}

void
gw_hash_sha256(const void *data, size_t n, uint8_t out[GW_SHA256_LEN])
{
	uint32_t h[8] = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
		0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19 };
	const uint8_t *p = data;
	size_t left = n;
	for (; left >= 64; left -= 64, p += 64)
		gw_sha256_block(h, p);
	uint8_t tail[128] = { 0 };
	memcpy(tail, p, left);
	tail[left] = 0x80;
	size_t tlen = left < 56 ? 64 : 128;
	uint64_t bits = (uint64_t)n * 8;
	for (int i = 0; i < 8; i++)
		tail[tlen - 1 - i] = (uint8_t)(bits >> (8 * i));
	gw_sha256_block(h, tail);
	if (tlen == 128)
		gw_sha256_block(h, tail + 64);
	for (int i = 0; i < 8; i++) {
		out[4 * i] = (uint8_t)(h[i] >> 24);
		out[4 * i + 1] = (uint8_t)(h[i] >> 16);
		out[4 * i + 2] = (uint8_t)(h[i] >> 8);
		out[4 * i + 3] = (uint8_t)h[i];
	}
}

void
gw_hash_base64(gw_buf *b, const void *data, size_t n)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const uint8_t *p = data;
	gw_buf_reserve(b, (n + 2) / 3 * 4);
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)p[i + 1] << 8;
		if (i + 2 < n)
			v |= p[i + 2];
		gw_buf_putc(b, tab[(v >> 18) & 63]);
		gw_buf_putc(b, tab[(v >> 12) & 63]);
		gw_buf_putc(b, i + 1 < n ? tab[(v >> 6) & 63] : '=');
		gw_buf_putc(b, i + 2 < n ? tab[v & 63] : '=');
	}
}

/* Random bytes are drawn from getrandom 256 at a time into a per-thread
 * pool and handed out once each: the same CSPRNG output, with one system
 * call per 16 ids instead of one per id.  (The process never forks after
 * drawing, so no two processes share a pool.) */
#define GW_RANDOM_POOL 256
static _Thread_local uint8_t gw_random_pool[GW_RANDOM_POOL];
static _Thread_local size_t gw_random_left;

static void
gw_random_refill(void)
{
	size_t got = 0;
	while (got < GW_RANDOM_POOL) {
		ssize_t r = getrandom(gw_random_pool + got, GW_RANDOM_POOL - got, 0);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			abort(); /* no entropy source: ids would be guessable */
		}
		got += (size_t)r;
	}
	gw_random_left = GW_RANDOM_POOL;
}

void
gw_hash_random_hex(gw_buf *b, size_t nbytes)
{
	static const char hex[] = "0123456789abcdef";
	while (nbytes > 0) {
		if (gw_random_left == 0)
			gw_random_refill();
		size_t n = nbytes < gw_random_left ? nbytes : gw_random_left;
		uint8_t *raw = gw_random_pool + (GW_RANDOM_POOL - gw_random_left);
		for (size_t i = 0; i < n; i++) {
			gw_buf_putc(b, hex[raw[i] >> 4]);
			gw_buf_putc(b, hex[raw[i] & 15]);
		}
		memset(raw, 0, n); /* a byte handed out is not kept */
		gw_random_left -= n;
		nbytes -= n;
	}
}

bool
gw_hash_matches_digest_ct(const void *a, size_t alen, const uint8_t digest[GW_SHA256_LEN])
{
	/* Compare digests, so the loop length never depends on the input. */
	uint8_t da[GW_SHA256_LEN];
	gw_hash_sha256(a, alen, da);
	volatile uint8_t diff = 0;
	for (size_t i = 0; i < GW_SHA256_LEN; i++)
		diff |= da[i] ^ digest[i];
	return diff == 0;
}

bool
gw_hash_equal_ct(const void *a, size_t alen, const void *b, size_t blen)
{
	uint8_t db[GW_SHA256_LEN];
	gw_hash_sha256(b, blen, db);
	return gw_hash_matches_digest_ct(a, alen, db) & (alen == blen); /* no short circuit */
}
