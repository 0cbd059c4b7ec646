/*
 * fuzz_proxy - the trusted-proxy list and the X-Forwarded-For walk
 * (src/server/proxy.c).  Input: <list>\n<peer>\n<header value>\n<header
 * value>... (at most SRV_PROXY_MAX_HOPS values; any bytes).  Checks: a
 * refusal says why and an acceptance says nothing; every accepted network
 * is written without bits after its prefix, trusts its own address, and
 * reads back to itself from its text; an address read from an entry reads
 * back to itself from its text; an untrusted peer is always the client;
 * and the in-place right-to-left walk agrees with a plain one over the
 * values joined and split at commas.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/buf.h"
#include "server/proxy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool
fuzz_same(const srv_proxy_addr *a, const srv_proxy_addr *b)
{
	return a->family == b->family && memcmp(a->a, b->a, sizeof(a->a)) == 0;
}

/* The walk, written the plain way: one joined list, split forwards. */
static srv_proxy_addr
fuzz_walk(const srv_proxy_list *l, const srv_proxy_addr *peer, const char *const *vals,
    const size_t *lens, size_t n)
{
	srv_proxy_addr client = *peer;
	if (!srv_proxy_trusted(l, peer))
		return client;
	gw_buf joined = GW_BUF_INIT;
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			gw_buf_putc(&joined, ',');
		gw_buf_append(&joined, vals[i], lens[i]);
	}
	size_t nent = 0, cap = 16;
	size_t *start = malloc(cap * sizeof(*start)), *len = malloc(cap * sizeof(*len));
	size_t from = 0;
	for (size_t i = 0; n > 0 && i <= joined.len; i++) {
		if (i < joined.len && joined.data[i] != ',')
			continue;
		if (nent == cap) {
			cap *= 2;
			start = realloc(start, cap * sizeof(*start));
			len = realloc(len, cap * sizeof(*len));
		}
		start[nent] = from;
		len[nent++] = i - from;
		from = i + 1;
	}
	for (size_t k = nent, hops = 0; k-- > 0; hops++) {
		srv_proxy_addr a;
		if (hops == SRV_PROXY_MAX_HOPS || !srv_proxy_parse_entry(joined.data + start[k], len[k], &a))
			break;
		client = a;
		if (!srv_proxy_trusted(l, &a))
			break;
	}
	free(start);
	free(len);
	gw_buf_free(&joined);
	return client;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* copied to the heap, so ASan sees any read past the input */
	char *in = malloc(size + 1);
	memcpy(in, data, size);
	in[size] = '\0';
	char *nl = memchr(in, '\n', size);
	size_t list_len = nl ? (size_t)(nl - in) : size;
	char *list = malloc(list_len + 1);
	memcpy(list, in, list_len);
	list[list_len] = '\0';

	srv_proxy_list l;
	gw_buf why = GW_BUF_INIT;
	int rc = srv_proxy_parse_list(strlen(list) == list_len ? list : NULL, &l, &why);
	if ((rc == 0) != (why.len == 0) || (rc != 0 && rc != -22) || l.n > SRV_PROXY_MAX)
		abort(); /* a refusal says why; an acceptance says nothing */
	for (size_t i = 0; rc == 0 && i < l.n; i++) {
		const srv_proxy_cidr *e = &l.e[i];
		unsigned bits = e->net.family == 4 ? 32 : 128;
		if ((e->net.family != 4 && e->net.family != 6) || e->prefix > bits)
			abort();
		for (unsigned b = e->prefix; b < bits; b++)
			if (e->net.a[b / 8] & (0x80u >> (b % 8)))
				abort(); /* bits after the prefix */
		if (!srv_proxy_trusted(&l, &e->net))
			abort();
		char t[SRV_PROXY_TEXT + 8];
		srv_proxy_text(&e->net, t);
		snprintf(t + strlen(t), 8, "/%u", e->prefix);
		srv_proxy_list back;
		gw_buf w2 = GW_BUF_INIT;
		if (srv_proxy_parse_list(t, &back, &w2) != 0 || back.n != 1 ||
		    !fuzz_same(&back.e[0].net, &e->net) || back.e[0].prefix != e->prefix)
			abort(); /* a network does not read back from its text */
		gw_buf_free(&w2);
	}
	gw_buf_free(&why);

	/* the peer line, then the header values */
	srv_proxy_addr peer;
	memset(&peer, 0, sizeof(peer));
	const char *vals[SRV_PROXY_MAX_HOPS];
	size_t lens[SRV_PROXY_MAX_HOPS], n = 0;
	char *p = nl ? nl + 1 : NULL;
	if (p != NULL) {
		char *end = memchr(p, '\n', size - (size_t)(p - in));
		size_t pn = end ? (size_t)(end - p) : size - (size_t)(p - in);
		if (!srv_proxy_parse_entry(p, pn, &peer) && l.n > 0)
			peer = l.e[0].net; /* else the first network's own address */
		p = end ? end + 1 : NULL;
	}
	while (p != NULL && n < SRV_PROXY_MAX_HOPS) {
		char *end = memchr(p, '\n', size - (size_t)(p - in));
		vals[n] = p;
		lens[n] = end ? (size_t)(end - p) : size - (size_t)(p - in);
		n++;
		p = end ? end + 1 : NULL;
	}
	/* every entry that reads as an address reads back from its text */
	for (size_t i = 0; i < n; i++) {
		size_t s = 0;
		for (size_t j = 0; j <= lens[i]; j++) {
			if (j < lens[i] && vals[i][j] != ',')
				continue;
			srv_proxy_addr a, b;
			if (srv_proxy_parse_entry(vals[i] + s, j - s, &a)) {
				char t[SRV_PROXY_TEXT];
				srv_proxy_text(&a, t);
				if (!srv_proxy_parse_entry(t, strlen(t), &b) || !fuzz_same(&a, &b) ||
				    a.family == 0)
					abort();
			}
			s = j + 1;
		}
	}
	srv_proxy_addr got = srv_proxy_client(&l, &peer, vals, lens, n);
	if (!srv_proxy_trusted(&l, &peer) && !fuzz_same(&got, &peer))
		abort(); /* an untrusted peer's header changed the client */
	srv_proxy_addr want = fuzz_walk(&l, &peer, vals, lens, n);
	if (!fuzz_same(&got, &want))
		abort(); /* the two walks disagree */
	free(list);
	free(in);
	return 0;
}
