/*
 * auth.h - the bearer-token check of the HTTP face, apart from
 * libmicrohttpd so it can be tested and fuzzed on plain bytes.
 */
#ifndef SRV_AUTH_H
#define SRV_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/base/hash.h"

/* True when the Authorization header value h (hn bytes, borrowed; any
 * bytes, NUL included) is "Bearer <token>" (scheme in any case, spaces or
 * tabs before the token, white space after it) for the token whose
 * SHA-256 is digest.  Constant time in where the token differs. */
bool srv_auth_bearer_ok(const char *h, size_t hn, const uint8_t digest[GW_SHA256_LEN]);

#endif
