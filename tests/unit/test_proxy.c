/*
 * test_proxy.c - the trusted-proxy list and the X-Forwarded-For walk
 * (src/server/proxy.c): strict parsing with messages that name the
 * entry, network matching for IPv4 and IPv6, and the right-to-left walk
 * over every header, with malformed entries, ports, zone ids, IPv4-mapped
 * addresses and long lists.
 */
#include "unit.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include "server/proxy.h"

/* Parses text; returns the message ("" when it parsed). */
static char *
parse(const char *text, srv_proxy_list *l)
{
	gw_buf why = GW_BUF_INIT;
	int rc = srv_proxy_parse_list(text, l, &why);
	assert_int_equal(rc == 0, why.len == 0);
	if (rc != 0)
		assert_int_equal(rc, -EINVAL);
	return gw_buf_detach(&why);
}

static void
expect_refused(const char *text, const char *msg)
{
	srv_proxy_list l;
	char *why = parse(text, &l);
	assert_string_equal(why, msg);
	free(why);
}

static srv_proxy_addr
addr(const char *s)
{
	srv_proxy_addr a;
	assert_true(srv_proxy_parse_entry(s, strlen(s), &a));
	return a;
}

/* a as text */
static const char *
text(srv_proxy_addr a)
{
	static char t[SRV_PROXY_TEXT];
	srv_proxy_text(&a, t);
	return t;
}

static void
test_the_list_parses_networks_and_bare_addresses(void **state)
{
	(void)state;
	srv_proxy_list l;
	char *why = parse(" 10.0.0.0/8 ,192.168.1.7,\t2001:db8::/32, ::1 ,0.0.0.0/0", &l);
	assert_string_equal(why, "");
	free(why);
	assert_int_equal(l.n, 5);
	assert_int_equal(l.e[0].prefix, 8);
	assert_int_equal(l.e[1].prefix, 32); /* a bare address is one host */
	assert_int_equal(l.e[2].prefix, 32);
	assert_int_equal(l.e[2].net.family, 6);
	assert_int_equal(l.e[3].prefix, 128);
	assert_int_equal(l.e[4].prefix, 0);
	/* none at all */
	why = parse(NULL, &l);
	assert_int_equal(l.n, 0);
	free(why);
	why = parse("  ", &l);
	assert_int_equal(l.n, 0);
	free(why);
}

static void
test_bad_entries_are_refused_by_name(void **state)
{
	(void)state;
	expect_refused("10.0.0.0/33", "\"10.0.0.0/33\": prefix length must be 0 to 32");
	expect_refused("10.0.0.0/8,2001:db8::/129", "\"2001:db8::/129\": prefix length must be 0 to 128");
	expect_refused("10.0.0.0/", "\"10.0.0.0/\": prefix length must be 0 to 32");
	expect_refused("10.0.0.0/-1", "\"10.0.0.0/-1\": prefix length must be 0 to 32");
	expect_refused("10.0.0.0/ 8", "\"10.0.0.0/ 8\": prefix length must be 0 to 32");
	expect_refused("10.0.0.0/0008", "\"10.0.0.0/0008\": prefix length must be 0 to 32");
	expect_refused("10.0.0.1/8", "\"10.0.0.1/8\": bits are set after the prefix (the network is 10.0.0.0/8)");
	expect_refused("2001:db8::1/32",
	    "\"2001:db8::1/32\": bits are set after the prefix (the network is 2001:db8::/32)");
	expect_refused("foo", "\"foo\": not an IPv4 or IPv6 address");
	expect_refused("10.0.0", "\"10.0.0\": not an IPv4 or IPv6 address");
	expect_refused("010.0.0.1", "\"010.0.0.1\": not an IPv4 or IPv6 address");
	expect_refused("1.2.3.4:80", "\"1.2.3.4:80\": not an IPv4 or IPv6 address");
	expect_refused("[::1]", "\"[::1]\": not an IPv4 or IPv6 address");
	expect_refused("fe80::1%eth0", "\"fe80::1%eth0\": an address with a zone id is not accepted");
	expect_refused("10.0.0.1,", "entry 2 is empty");
	expect_refused(",10.0.0.1", "entry 1 is empty");
	expect_refused("10.0.0.1,,10.0.0.2", "entry 2 is empty");
	expect_refused("10.0.0.1\n", "\"10.0.0.1?\": not an IPv4 or IPv6 address");
	/* a long entry is cut in the message */
	char longer[200];
	memset(longer, 'a', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = '\0';
	srv_proxy_list l;
	char *why = parse(longer, &l);
	assert_true(strlen(why) < 100);
	ut_assert_contains(why, "...\": not an IPv4 or IPv6 address");
	free(why);
}

static void
test_the_list_is_bounded(void **state)
{
	(void)state;
	gw_buf b = GW_BUF_INIT;
	for (int i = 0; i < SRV_PROXY_MAX; i++)
		gw_buf_printf(&b, "%s10.0.%d.0/24", i ? "," : "", i);
	srv_proxy_list l;
	char *why = parse(b.data, &l);
	assert_string_equal(why, "");
	assert_int_equal(l.n, SRV_PROXY_MAX);
	free(why);
	gw_buf_puts(&b, ",10.1.0.0/16");
	why = parse(b.data, &l);
	assert_string_equal(why, "more than 64 entries");
	free(why);
	gw_buf_free(&b);
}

static void
test_networks_match_their_addresses_only(void **state)
{
	(void)state;
	srv_proxy_list l;
	free(parse("10.0.0.0/8,192.168.1.7,172.16.0.0/12,2001:db8:a::/48,::ffff:198.51.100.0/120", &l));
	srv_proxy_addr a;
	static const char *const in[] = { "10.0.0.0", "10.255.255.255", "192.168.1.7", "172.31.1.1",
		"2001:db8:a::1", "2001:db8:a:ffff::", "198.51.100.200", "::ffff:10.2.3.4" };
	static const char *const out[] = { "11.0.0.0", "9.255.255.255", "192.168.1.8", "172.32.0.0",
		"2001:db8:b::1", "198.51.101.1", "::a00:1", "2001:db8::" };
	for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		a = addr(in[i]);
		if (!srv_proxy_trusted(&l, &a))
			fail_msg("%s should be trusted", in[i]);
	}
	for (size_t i = 0; i < sizeof(out) / sizeof(out[0]); i++) {
		a = addr(out[i]);
		if (srv_proxy_trusted(&l, &a))
			fail_msg("%s should not be trusted", out[i]);
	}
	/* ::ffff:a00:1 is 10.0.0.1 mapped: IPv4, and trusted */
	a = addr("::ffff:a00:1");
	assert_int_equal(a.family, 4);
	assert_string_equal(text(a), "10.0.0.1");
	assert_true(srv_proxy_trusted(&l, &a));
	/* an empty list trusts nothing, not even 0.0.0.0 */
	srv_proxy_list none;
	free(parse("", &none));
	a = addr("0.0.0.0");
	assert_false(srv_proxy_trusted(&none, &a));
	/* /0 trusts every address of its family only */
	free(parse("0.0.0.0/0", &l));
	assert_true(srv_proxy_trusted(&l, &a));
	a = addr("::1");
	assert_false(srv_proxy_trusted(&l, &a));
}

static void
test_entries_take_ports_and_brackets_but_not_zones(void **state)
{
	(void)state;
	assert_string_equal(text(addr("1.2.3.4")), "1.2.3.4");
	assert_string_equal(text(addr(" \t1.2.3.4 ")), "1.2.3.4");
	assert_string_equal(text(addr("1.2.3.4:5678")), "1.2.3.4");
	assert_string_equal(text(addr("1.2.3.4:65535")), "1.2.3.4");
	assert_string_equal(text(addr("[2001:db8::1]:443")), "2001:db8::1");
	assert_string_equal(text(addr("[2001:db8::1]")), "2001:db8::1");
	assert_string_equal(text(addr("2001:DB8:0:0:0:0:0:1")), "2001:db8::1");
	assert_string_equal(text(addr("[::ffff:192.0.2.1]:80")), "192.0.2.1");
	static const char *const bad[] = { "", " ", "unknown", "_hidden", "1.2.3.4:", "1.2.3.4:65536",
		"1.2.3.4:123456", "1.2.3.4:8a", "[1.2.3.4]", "[1.2.3.4]:80", "[2001:db8::1", "[2001:db8::1]x",
		"[2001:db8::1]:", "fe80::1%eth0", "[fe80::1%25eth0]:80", "1.2.3.4.5", "1.2.3", "01.2.3.4",
		"1.2.3.4/32", "2001:db8::1:80:", "::1:", "1.2.3.4 5", "localhost" };
	srv_proxy_addr a;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (srv_proxy_parse_entry(bad[i], strlen(bad[i]), &a))
			fail_msg("[%s] taken for an address", bad[i]);
	/* the length given is what is read */
	assert_true(srv_proxy_parse_entry("1.2.3.4junk", 7, &a));
	assert_string_equal(text(a), "1.2.3.4");
	/* a NUL inside is not an address */
	assert_false(srv_proxy_parse_entry("1.2.3.4\0", 8, &a));
}

/* The client for peer and the X-Forwarded-For values (NULL-terminated). */
static const char *
walk(const srv_proxy_list *l, const char *peer, const char *const *vals)
{
	size_t n = 0, lens[16];
	while (vals[n] != NULL) {
		lens[n] = strlen(vals[n]);
		n++;
	}
	srv_proxy_addr p = addr(peer);
	return text(srv_proxy_client(l, &p, vals, lens, n));
}
#define WALK(peer, ...) walk(&l, peer, (const char *const[]){ __VA_ARGS__, NULL })

static void
test_the_walk_takes_the_rightmost_untrusted_address(void **state)
{
	(void)state;
	srv_proxy_list l;
	free(parse("10.0.0.0/8,2001:db8:f::/48", &l));
	/* one hop */
	assert_string_equal(WALK("10.0.0.1", "203.0.113.7"), "203.0.113.7");
	/* the client's own entries on the left are its say: ignored */
	assert_string_equal(WALK("10.0.0.1", "1.1.1.1, 2.2.2.2, 203.0.113.7"), "203.0.113.7");
	/* trusted hops on the right are skipped */
	assert_string_equal(WALK("10.0.0.1", "1.1.1.1,203.0.113.7, 10.0.0.2 ,10.3.0.9"), "203.0.113.7");
	/* every header, in order, is one list */
	assert_string_equal(WALK("10.0.0.1", "198.51.100.1", "10.0.0.9"), "198.51.100.1");
	assert_string_equal(WALK("10.0.0.1", "10.0.0.9", "198.51.100.1"), "198.51.100.1");
	assert_string_equal(WALK("10.0.0.1", "1.1.1.1, 10.1.1.1", "10.2.2.2", "10.3.3.3"), "1.1.1.1");
	/* all trusted: the leftmost */
	assert_string_equal(WALK("10.0.0.1", "10.0.0.5, 10.0.0.6"), "10.0.0.5");
	/* IPv6 and ports */
	assert_string_equal(WALK("2001:db8:f::1", "[2001:db8::7]:4711"), "2001:db8::7");
	assert_string_equal(WALK("10.0.0.1", "192.0.2.1:5678, [2001:db8:f::2]:80"), "192.0.2.1");
	/* no header: the peer */
	assert_string_equal(WALK("10.0.0.1", NULL), "10.0.0.1");
}

static void
test_a_malformed_entry_stops_the_walk(void **state)
{
	(void)state;
	srv_proxy_list l;
	free(parse("10.0.0.0/8", &l));
	/* right-most malformed: the peer */
	assert_string_equal(WALK("10.0.0.1", "203.0.113.7, garbage"), "10.0.0.1");
	assert_string_equal(WALK("10.0.0.1", "203.0.113.7,"), "10.0.0.1");
	assert_string_equal(WALK("10.0.0.1", ""), "10.0.0.1");
	assert_string_equal(WALK("10.0.0.1", "fe80::1%eth0"), "10.0.0.1");
	/* behind a trusted hop: that hop, the last good one */
	assert_string_equal(WALK("10.0.0.1", "203.0.113.7, unknown, 10.0.0.2"), "10.0.0.2");
	assert_string_equal(WALK("10.0.0.1", "203.0.113.7", "", "10.0.0.3"), "10.0.0.3");
	/* left of the client: never read */
	assert_string_equal(WALK("10.0.0.1", "garbage, 203.0.113.7"), "203.0.113.7");
}

static void
test_an_untrusted_peer_is_the_client_whatever_the_header_says(void **state)
{
	(void)state;
	srv_proxy_list l;
	free(parse("10.0.0.0/8", &l));
	assert_string_equal(WALK("192.0.2.50", "203.0.113.7"), "192.0.2.50");
	assert_string_equal(WALK("192.0.2.50", "10.0.0.1"), "192.0.2.50");
	srv_proxy_list none;
	free(parse(NULL, &none));
	const char *v = "203.0.113.7";
	size_t n = strlen(v);
	srv_proxy_addr p = addr("10.0.0.1");
	assert_string_equal(text(srv_proxy_client(&none, &p, &v, &n, 1)), "10.0.0.1");
}

static void
test_long_lists_stop_after_the_hop_bound(void **state)
{
	(void)state;
	srv_proxy_list l;
	free(parse("10.0.0.0/8", &l));
	/* hundreds of trusted entries after the client: the walk reads
	 * SRV_PROXY_MAX_HOPS of them and names the last one read */
	gw_buf b = GW_BUF_INIT;
	gw_buf_puts(&b, "203.0.113.7");
	for (int i = 0; i < 500; i++)
		gw_buf_printf(&b, ", 10.0.%d.%d", i / 250, i % 250 + 1);
	assert_string_equal(WALK("10.0.0.1", b.data), "10.0.1.187"); /* i = 436, the 64th from the right */
	/* within the bound, the client is found */
	gw_buf_reset(&b);
	gw_buf_puts(&b, "203.0.113.7");
	for (int i = 0; i < SRV_PROXY_MAX_HOPS - 1; i++)
		gw_buf_puts(&b, ",10.9.9.9");
	assert_string_equal(WALK("10.0.0.1", b.data), "203.0.113.7");
	gw_buf_puts(&b, ",10.9.9.8");
	assert_string_equal(WALK("10.0.0.1", b.data), "10.9.9.9");
	/* an untrusted entry ends it at once, however long the list */
	gw_buf_reset(&b);
	for (int i = 0; i < 2000; i++)
		gw_buf_printf(&b, "%s192.0.2.%d", i ? "," : "", i % 250);
	assert_string_equal(WALK("10.0.0.1", b.data), "192.0.2.249");
	gw_buf_free(&b);
}

static void
test_peers_come_from_socket_addresses(void **state)
{
	(void)state;
	struct sockaddr_in v4;
	memset(&v4, 0, sizeof(v4));
	v4.sin_family = AF_INET;
	inet_pton(AF_INET, "192.0.2.1", &v4.sin_addr);
	srv_proxy_addr a;
	srv_proxy_from_sockaddr((struct sockaddr *)&v4, &a);
	assert_string_equal(text(a), "192.0.2.1");
	struct sockaddr_in6 v6;
	memset(&v6, 0, sizeof(v6));
	v6.sin6_family = AF_INET6;
	inet_pton(AF_INET6, "::ffff:192.0.2.9", &v6.sin6_addr);
	srv_proxy_from_sockaddr((struct sockaddr *)&v6, &a);
	assert_int_equal(a.family, 4);
	assert_string_equal(text(a), "192.0.2.9");
	inet_pton(AF_INET6, "2001:db8::5", &v6.sin6_addr);
	srv_proxy_from_sockaddr((struct sockaddr *)&v6, &a);
	assert_string_equal(text(a), "2001:db8::5");
	srv_proxy_from_sockaddr(NULL, &a);
	assert_int_equal(a.family, 0);
	assert_string_equal(text(a), "");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_the_list_parses_networks_and_bare_addresses),
		cmocka_unit_test(test_bad_entries_are_refused_by_name),
		cmocka_unit_test(test_the_list_is_bounded),
		cmocka_unit_test(test_networks_match_their_addresses_only),
		cmocka_unit_test(test_entries_take_ports_and_brackets_but_not_zones),
		cmocka_unit_test(test_the_walk_takes_the_rightmost_untrusted_address),
		cmocka_unit_test(test_a_malformed_entry_stops_the_walk),
		cmocka_unit_test(test_an_untrusted_peer_is_the_client_whatever_the_header_says),
		cmocka_unit_test(test_long_lists_stop_after_the_hop_bound),
		cmocka_unit_test(test_peers_come_from_socket_addresses),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
