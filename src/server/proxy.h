/*
 * proxy.h - trusted proxies: the CIDR list of
 * --gateway-openresponses-trusted-proxies and the X-Forwarded-For walk
 * that names the client of a request a trusted proxy passed on.  Pure
 * functions on plain bytes (no libmicrohttpd, no allocation), so they are
 * unit-tested and fuzzed on their own (tests/unit/test_proxy.c,
 * tests/fuzz/fuzz_proxy.c).
 *
 * The walk is the usual one (nginx's real_ip_recursive, Go's "rightmost
 * untrusted"): every X-Forwarded-For header of the request, in order, is
 * one comma-separated list; starting from its right end, each entry is
 * taken as the client while it is itself a trusted proxy.  The first
 * entry that is not trusted is the client.  An entry that is not an
 * address (empty, "unknown", an obfuscated RFC 7239 name, a zone id)
 * stops the walk, and the last address read (or the peer) is the client;
 * so does the SRV_PROXY_MAX_HOPS-th entry.  Entries may carry a port
 * ("1.2.3.4:5678", "[2001:db8::1]:443"), which is dropped; IPv4-mapped
 * IPv6 addresses are IPv4.  The caller walks only when the TCP peer is
 * trusted: otherwise the header is the client's own say and is ignored.
 *
 * Ownership: every struct is a plain value owned by its caller; strings
 * are borrowed for the call.
 */
#ifndef SRV_PROXY_H
#define SRV_PROXY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "core/base/buf.h"

#define SRV_PROXY_MAX 64         /* entries in the trusted list */
#define SRV_PROXY_MAX_HOPS 64    /* X-Forwarded-For entries one walk reads */
#define SRV_PROXY_TEXT 46        /* an address as text, NUL included (INET6_ADDRSTRLEN) */

/* An IPv4 or IPv6 address, network byte order; IPv4 in a[0..3]. */
typedef struct srv_proxy_addr {
	uint8_t family;              /* 4, 6, or 0 (none) */
	uint8_t a[16];
} srv_proxy_addr;

typedef struct srv_proxy_cidr {
	srv_proxy_addr net;          /* no bits set after prefix */
	uint8_t prefix;              /* 0-32 (IPv4) or 0-128 (IPv6) */
} srv_proxy_cidr;

typedef struct srv_proxy_list {
	srv_proxy_cidr e[SRV_PROXY_MAX];
	size_t n;
} srv_proxy_list;

/* Parses text, "CIDR,..." of IPv4/IPv6 networks and bare addresses (a /32
 * or /128), whitespace around entries ignored, into out.  NULL or blank
 * text is the empty list.  Strict: an empty entry, a port, brackets, a
 * zone id, a prefix out of range, bits set after the prefix, or more than
 * SRV_PROXY_MAX entries are refused.  Returns 0, or -EINVAL with why
 * (appended) naming the entry: "\"10.0.0.0/33\": prefix length must be 0
 * to 32".  out is the caller's. */
int srv_proxy_parse_list(const char *text, srv_proxy_list *out, gw_buf *why);

/* Parses one X-Forwarded-For entry s[0..n) (trimmed of spaces and tabs;
 * an optional port, bracketed IPv6) into out.  False when it is not an
 * address. */
bool srv_proxy_parse_entry(const char *s, size_t n, srv_proxy_addr *out);

/* Whether a is inside one of l's networks. */
bool srv_proxy_trusted(const srv_proxy_list *l, const srv_proxy_addr *a);

/* The address of sa (AF_INET or AF_INET6; an IPv4-mapped one is IPv4);
 * family 0 for anything else or NULL. */
void srv_proxy_from_sockaddr(const struct sockaddr *sa, srv_proxy_addr *out);

/* a as text ("203.0.113.7", "2001:db8::1"; "" for none) into out. */
void srv_proxy_text(const srv_proxy_addr *a, char out[SRV_PROXY_TEXT]);

/* The client of a request whose TCP peer is peer and whose
 * X-Forwarded-For headers are vals[0..nvals) (lens: their lengths, in the
 * order they came): peer itself when it is not trusted (the headers are
 * ignored), else the result of the walk described above.  Reads no byte
 * outside the values. */
srv_proxy_addr srv_proxy_client(const srv_proxy_list *l, const srv_proxy_addr *peer,
    const char *const *vals, const size_t *lens, size_t nvals);

#endif
