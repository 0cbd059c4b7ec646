/*
 * hash.h - SHA-256, base64, random ids and a constant-time comparison.
 *
 * Small, dependency-free primitives the HTTP face needs: CSP hashes of the
 * embedded webchat page (sha256 + base64), unguessable response ids
 * (getrandom), and the bearer-token check (constant time).
 */
#ifndef GW_HASH_H
#define GW_HASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/base/buf.h"

#define GW_SHA256_LEN 32

/* Computes the SHA-256 digest of the n bytes at data into out. */
void gw_hash_sha256(const void *data, size_t n, uint8_t out[GW_SHA256_LEN]);
/* Appends the standard (padded) base64 encoding of the n bytes at p to b. */
void gw_hash_base64(gw_buf *b, const void *p, size_t n);
/* Appends 2*nbytes lowercase hex digits from the kernel's CSPRNG
 * (getrandom, buffered per thread), so ids never repeat across restarts.
 * Thread-safe. */
void gw_hash_random_hex(gw_buf *b, size_t nbytes);
/* Compares a (alen bytes) with b (blen bytes) in time that depends only on
 * the lengths, never on where they differ.  True when equal. */
bool gw_hash_equal_ct(const void *a, size_t alen, const void *b, size_t blen);
/* Like gw_hash_equal_ct against a secret known by its SHA-256 digest
 * (hashed once, e.g. a configured token): true when a hashes to digest. */
bool gw_hash_matches_digest_ct(const void *a, size_t alen, const uint8_t digest[GW_SHA256_LEN]);

#endif
