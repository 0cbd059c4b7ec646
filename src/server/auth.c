/*
 * auth.c - the bearer-token check (see auth.h).
 */
#include "server/auth.h"

#include <ctype.h>
#include <strings.h>

bool
srv_auth_bearer_ok(const char *h, size_t hn, const uint8_t digest[GW_SHA256_LEN])
{
	if (hn < 7 || strncasecmp(h, "Bearer ", 7) != 0)
		return false;
	const char *v = h + 7;
	size_t vn = hn - 7;
	while (vn > 0 && (*v == ' ' || *v == '\t')) {
		v++;
		vn--;
	}
	while (vn > 0 && isspace((unsigned char)v[vn - 1]))
		vn--;
	return gw_hash_matches_digest_ct(v, vn, digest);
}
