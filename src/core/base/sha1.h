/*
 * sha1.h - SHA-1 (FIPS 180-4), for the WebSocket handshake only.
 *
 * RFC 6455 derives Sec-WebSocket-Accept from the SHA-1 of the client's key
 * and a fixed GUID.  SHA-1 is no longer collision resistant and must not be
 * used for anything that needs security; the handshake does not (it only
 * proves the server speaks WebSocket).  Nothing else the gateway links
 * exports SHA-1 to us without a TLS library, so these 100 lines stand alone
 * beside hash.c's SHA-256.
 */
#ifndef GW_SHA1_H
#define GW_SHA1_H

#include <stddef.h>
#include <stdint.h>

#define GW_SHA1_LEN 20

/* Computes the SHA-1 digest of the n bytes at data into out (the caller's). */
void gw_sha1(const void *data, size_t n, uint8_t out[GW_SHA1_LEN]);

#endif
