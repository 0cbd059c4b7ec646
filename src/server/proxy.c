/*
 * proxy.c - the trusted-proxy list and the X-Forwarded-For walk (see
 * proxy.h).  Addresses are parsed by inet_pton on a bounded copy, so the
 * accepted spellings are the C library's strict ones (no leading zeros in
 * IPv4, no zone ids).
 */
#include "server/proxy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <string.h>

/* longer than any address with a port and brackets ("[v6]:65535") */
#define SRV_PROXY_ENTRY_MAX 64

static bool
srv_proxy_space(char c)
{
	return c == ' ' || c == '\t';
}

static void
srv_proxy_trim(const char **s, size_t *n)
{
	while (*n > 0 && srv_proxy_space(**s)) {
		(*s)++;
		(*n)--;
	}
	while (*n > 0 && srv_proxy_space((*s)[*n - 1]))
		(*n)--;
}

/* An IPv4-mapped IPv6 address (::ffff:a.b.c.d) becomes a.b.c.d. */
static void
srv_proxy_unmap(srv_proxy_addr *a)
{
	static const uint8_t pre[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	if (a->family != 6 || memcmp(a->a, pre, sizeof(pre)) != 0)
		return;
	memmove(a->a, a->a + 12, 4);
	memset(a->a + 4, 0, 12);
	a->family = 4;
}

/* A bare address s[0..n) (no brackets, no port, no prefix). */
static bool
srv_proxy_bare(const char *s, size_t n, srv_proxy_addr *out)
{
	char tmp[SRV_PROXY_ENTRY_MAX];
	memset(out, 0, sizeof(*out));
	if (n == 0 || n >= sizeof(tmp) || memchr(s, '\0', n) != NULL)
		return false;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	if (inet_pton(AF_INET, tmp, out->a) == 1) {
		out->family = 4;
		return true;
	}
	if (inet_pton(AF_INET6, tmp, out->a) == 1) {
		out->family = 6;
		return true;
	}
	memset(out, 0, sizeof(*out));
	return false;
}

/* A decimal number of 1 to digits digits in s[0..n), at most max. */
static bool
srv_proxy_number(const char *s, size_t n, size_t digits, unsigned max, unsigned *out)
{
	if (n == 0 || n > digits)
		return false;
	unsigned v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v > max)
		return false;
	*out = v;
	return true;
}

bool
srv_proxy_parse_entry(const char *s, size_t n, srv_proxy_addr *out)
{
	memset(out, 0, sizeof(*out));
	srv_proxy_trim(&s, &n);
	if (n == 0 || n >= SRV_PROXY_ENTRY_MAX)
		return false;
	const char *addr = s, *port = NULL;
	size_t an = n, pn = 0;
	if (s[0] == '[') {
		const char *close = memchr(s, ']', n);
		if (close == NULL)
			return false;
		addr = s + 1;
		an = (size_t)(close - addr);
		size_t rest = n - (size_t)(close + 1 - s);
		if (rest > 0) {
			if (close[1] != ':')
				return false;
			port = close + 2;
			pn = rest - 1;
		}
		if (memchr(addr, ':', an) == NULL)
			return false; /* brackets hold IPv6 only */
	} else {
		const char *colon = memchr(s, ':', n);
		if (colon != NULL && memchr(colon + 1, ':', n - (size_t)(colon + 1 - s)) == NULL) {
			/* one colon: IPv4 and a port */
			an = (size_t)(colon - s);
			port = colon + 1;
			pn = n - an - 1;
		}
	}
	unsigned pv;
	if (port != NULL && !srv_proxy_number(port, pn, 5, 65535, &pv))
		return false;
	if (!srv_proxy_bare(addr, an, out))
		return false;
	if (port != NULL && s[0] != '[' && out->family != 4) {
		memset(out, 0, sizeof(*out));
		return false;
	}
	srv_proxy_unmap(out);
	return true;
}

/* Whether the first prefix bits of a and b agree. */
static bool
srv_proxy_prefix_eq(const uint8_t *a, const uint8_t *b, unsigned prefix)
{
	size_t whole = prefix / 8;
	if (memcmp(a, b, whole) != 0)
		return false;
	unsigned rest = prefix % 8;
	if (rest == 0)
		return true;
	uint8_t mask = (uint8_t)(0xff << (8 - rest));
	return (a[whole] & mask) == (b[whole] & mask);
}

bool
srv_proxy_trusted(const srv_proxy_list *l, const srv_proxy_addr *a)
{
	if (a->family == 0)
		return false;
	for (size_t i = 0; i < l->n; i++)
		if (l->e[i].net.family == a->family &&
		    srv_proxy_prefix_eq(l->e[i].net.a, a->a, l->e[i].prefix))
			return true;
	return false;
}

/* Appends "\"entry\": " to why, the entry cut and with control bytes
 * shown as '?', so the message stays one short line. */
static void
srv_proxy_why(gw_buf *why, const char *s, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
srv_proxy_why(gw_buf *why, const char *s, size_t n, const char *fmt, ...)
{
	gw_buf_putc(why, '"');
	for (size_t i = 0; i < n && i < SRV_PROXY_ENTRY_MAX; i++) {
		unsigned char c = (unsigned char)s[i];
		gw_buf_putc(why, c < 0x20 || c == 0x7f || c == '"' || c == '\\' ? '?' : (char)c);
	}
	if (n > SRV_PROXY_ENTRY_MAX)
		gw_buf_puts(why, "...");
	gw_buf_puts(why, "\": ");
	va_list ap;
	va_start(ap, fmt);
	gw_buf_vprintf(why, fmt, ap);
	va_end(ap);
}

/* One entry of the trusted list, s[0..n) already trimmed. */
static int
srv_proxy_parse_cidr(const char *s, size_t n, srv_proxy_cidr *out, gw_buf *why)
{
	const char *slash = memchr(s, '/', n);
	size_t an = slash ? (size_t)(slash - s) : n;
	if (memchr(s, '%', an) != NULL) {
		srv_proxy_why(why, s, n, "an address with a zone id is not accepted");
		return -EINVAL;
	}
	if (!srv_proxy_bare(s, an, &out->net)) {
		srv_proxy_why(why, s, n, "not an IPv4 or IPv6 address");
		return -EINVAL;
	}
	unsigned bits = out->net.family == 4 ? 32 : 128;
	unsigned prefix = bits;
	if (slash != NULL && !srv_proxy_number(slash + 1, n - an - 1, 3, bits, &prefix)) {
		srv_proxy_why(why, s, n, "prefix length must be 0 to %u", bits);
		return -EINVAL;
	}
	/* the network must be written as one: no bits after the prefix */
	srv_proxy_addr net = out->net;
	for (unsigned b = prefix; b < bits; b++)
		net.a[b / 8] &= (uint8_t)~(0x80u >> (b % 8));
	if (memcmp(net.a, out->net.a, sizeof(net.a)) != 0) {
		char t[SRV_PROXY_TEXT];
		srv_proxy_text(&net, t);
		srv_proxy_why(why, s, n, "bits are set after the prefix (the network is %s/%u)", t,
		    prefix);
		return -EINVAL;
	}
	out->prefix = (uint8_t)prefix;
	/* ::ffff:a.b.c.d/96+ covers IPv4 addresses, which are matched as IPv4 */
	srv_proxy_addr v4 = out->net;
	srv_proxy_unmap(&v4);
	if (v4.family == 4 && prefix >= 96) {
		out->net = v4;
		out->prefix = (uint8_t)(prefix - 96);
	}
	return 0;
}

int
srv_proxy_parse_list(const char *text, srv_proxy_list *out, gw_buf *why)
{
	memset(out, 0, sizeof(*out));
	if (text == NULL)
		return 0;
	const char *p = text;
	size_t all = strlen(text);
	srv_proxy_trim(&p, &all);
	if (all == 0)
		return 0;
	for (size_t k = 1;; k++) {
		const char *comma = strchr(p, ',');
		const char *s = p;
		size_t n = comma ? (size_t)(comma - p) : strlen(p);
		srv_proxy_trim(&s, &n);
		if (n == 0) {
			gw_buf_printf(why, "entry %zu is empty", k);
			return -EINVAL;
		}
		if (out->n == SRV_PROXY_MAX) {
			gw_buf_printf(why, "more than %d entries", SRV_PROXY_MAX);
			return -EINVAL;
		}
		if (srv_proxy_parse_cidr(s, n, &out->e[out->n], why) != 0)
			return -EINVAL;
		out->n++;
		if (comma == NULL)
			return 0;
		p = comma + 1;
	}
}

void
srv_proxy_from_sockaddr(const struct sockaddr *sa, srv_proxy_addr *out)
{
	memset(out, 0, sizeof(*out));
	if (sa == NULL)
		return;
	if (sa->sa_family == AF_INET) {
		struct sockaddr_in v4;
		memcpy(&v4, sa, sizeof(v4));
		memcpy(out->a, &v4.sin_addr, 4);
		out->family = 4;
	} else if (sa->sa_family == AF_INET6) {
		struct sockaddr_in6 v6;
		memcpy(&v6, sa, sizeof(v6));
		memcpy(out->a, &v6.sin6_addr, 16);
		out->family = 6;
		srv_proxy_unmap(out);
	}
}

void
srv_proxy_text(const srv_proxy_addr *a, char out[SRV_PROXY_TEXT])
{
	out[0] = '\0';
	if (a->family == 4)
		inet_ntop(AF_INET, a->a, out, SRV_PROXY_TEXT);
	else if (a->family == 6)
		inet_ntop(AF_INET6, a->a, out, SRV_PROXY_TEXT);
}

srv_proxy_addr
srv_proxy_client(const srv_proxy_list *l, const srv_proxy_addr *peer, const char *const *vals,
    const size_t *lens, size_t nvals)
{
	srv_proxy_addr client = *peer;
	if (!srv_proxy_trusted(l, peer))
		return client;
	size_t hops = 0;
	for (size_t v = nvals; v-- > 0;) {
		const char *s = vals[v];
		size_t end = lens[v];
		/* entries right to left: [start, end) */
		for (;;) {
			size_t start = end;
			while (start > 0 && s[start - 1] != ',')
				start--;
			srv_proxy_addr a;
			if (hops++ == SRV_PROXY_MAX_HOPS || !srv_proxy_parse_entry(s + start, end - start, &a))
				return client;
			client = a;
			if (!srv_proxy_trusted(l, &a))
				return client;
			if (start == 0)
				break;
			end = start - 1;
		}
	}
	return client;
}
