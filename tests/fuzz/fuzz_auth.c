/*
 * fuzz_auth - the Authorization check (srv_auth_bearer_ok).  Input:
 * <k: 1 byte><token: k bytes><header value: the rest, any bytes>.  The
 * token is configured as the server does it (cut at a NUL, trimmed); the
 * header must pass only when its value, trimmed, is the token; and
 * "Bearer <token>" in its accepted spellings must always pass.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/base/buf.h"
#include "core/base/hash.h"
#include "server/auth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_trim(const char **p, size_t *n)
{
	while (*n > 0 && isspace((unsigned char)**p)) {
		(*p)++;
		(*n)--;
	}
	while (*n > 0 && isspace((unsigned char)(*p)[*n - 1]))
		(*n)--;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	size_t k = data[0];
	if (1 + k > size)
		k = size - 1;
	const char *tok = (const char *)data + 1;
	size_t tn = strnlen(tok, k);
	fuzz_trim(&tok, &tn);
	if (tn == 0)
		return 0; /* no token: the server never calls the check */
	uint8_t digest[GW_SHA256_LEN];
	gw_hash_sha256(tok, tn, digest);

	/* the fuzzed header: copied to the heap so ASan sees any over-read */
	size_t hn = size - 1 - k;
	char *h = malloc(hn + 1);
	memcpy(h, data + 1 + k, hn);
	h[hn] = '\0';
	if (srv_auth_bearer_ok(h, hn, digest)) {
		const char *v = h + 7;
		size_t vn = hn - 7;
		fuzz_trim(&v, &vn);
		if (strncasecmp(h, "Bearer ", 7) != 0 || vn != tn || memcmp(v, tok, tn) != 0)
			abort(); /* passed without the token */
	}
	free(h);

	/* the token itself, as clients send it */
	static const char *const forms[] = { "Bearer %s", "bearer %s", "BEARER \t %s \r\n" };
	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		gw_buf b = GW_BUF_INIT;
		const char *pct = strstr(forms[i], "%s");
		gw_buf_append(&b, forms[i], (size_t)(pct - forms[i]));
		gw_buf_append(&b, tok, tn);
		gw_buf_append(&b, pct + 2, strlen(pct + 2));
		if (!srv_auth_bearer_ok(b.data, b.len, digest))
			abort(); /* the right token refused */
		/* and one byte less never passes */
		if (srv_auth_bearer_ok(b.data, (size_t)(pct - forms[i]) + tn - 1, digest))
			abort();
		gw_buf_free(&b);
	}
	return 0;
}
