#!/usr/bin/env bash
# --gateway-openresponses-trusted-proxies (issue 10): when the TCP peer
# (127.0.0.1 here) is a trusted proxy, the right-most untrusted address of
# its X-Forwarded-For headers is the client: in the request log (text and
# JSON) and for the per-address cap, which then counts requests (answered
# 429 over the cap, given back when a request ends or its connection
# closes) while the proxy's own connections count in the total only.  When
# the peer is not trusted the header changes nothing.  A bad list is a
# usage error before anything is recorded; hostile headers never crash.
# backends: files pg
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib/http.sh"
HOLD=$(dirname "$0")/lib/xffhold.py
PROXY_FLAG=--gateway-openresponses-trusted-proxies

# xff VALUE...: GET /healthz with one X-Forwarded-For header per value
xff() {
	local a=() v
	for v in "$@"; do a+=(-H "X-Forwarded-For: $v"); done
	HS=$(curl -gs -o "$T/body" -w '%{http_code}' "${a[@]}" "http://$ADDR/healthz")
}
# clients FILE: the client= of every request line, one per line
clients() { sed -n 's/^tau-gateway: request .* client=\([^ ]*\).*/\1/p' "$1"; }

# --- trusted: the log names the forwarded client -------------------------------------------
h_gateway GW $PROXY_FLAG "10.0.0.0/8, 127.0.0.0/8" --gateway-openresponses-max-connections-per-ip 2
xff "203.0.113.7"
t_eq "trusted: served" 200 "$HS"
xff "198.51.100.1, 203.0.113.8, 10.1.2.3"                 # the client's own entry is ignored, the inner proxy skipped
xff "192.0.2.9" "10.0.0.9"                                # two headers are one list
xff "[2001:db8::1]:443"                                   # a port is dropped
xff "1.2.3.4:5678"
xff "::ffff:192.0.2.77"                                   # IPv4-mapped is IPv4
xff "203.0.113.9, garbage"                                # malformed right-most: the peer
xff "203.0.113.10, unknown, 10.0.0.2"                     # malformed behind a hop: that hop
xff "fe80::1%eth0"                                        # a zone id is not an address
HS=$(curl -s -o "$T/body" -w '%{http_code}' "http://$ADDR/healthz")  # no header: the peer
h_stop "$GW"
t_eq "trusted: clean exit" 0 "$HRC"
t_eq "trusted: the clients in the log" \
	"203.0.113.7 203.0.113.8 192.0.2.9 2001:db8::1 1.2.3.4 192.0.2.77 127.0.0.1 10.0.0.2 127.0.0.1 127.0.0.1" \
	"$(clients "$T/GW.err" | paste -sd ' ')"
t_match "trusted: the text line format" \
	'^tau-gateway: request method=GET path=/healthz status=200 duration_ms=[0-9]+\.[0-9]{3} client=203\.0\.113\.7$' \
	"$(grep -m1 'client=203.0.113.7' "$T/GW.err")"

# --- trusted: the per-client cap counts requests ----------------------------------------------
h_gateway GW2 --gateway-state-dir "$T/s2" $PROXY_FLAG 127.0.0.1 \
	--gateway-openresponses-max-connections-per-ip 2
out=$(python3 "$HOLD" hold "$ADDR" "$TOKEN" 203.0.113.7 203.0.113.7 203.0.113.7)
echo "$out" | sed 's/^/# /'
t_eq "same client, 3 held requests over cap 2: the third is refused" "statuses: 200 200 429" \
	"$(grep '^statuses:' <<<"$out")"
t_eq "the refusal is a 429 error object naming the client" "too_many_connections 203.0.113.7" \
	"$(sed -n 's/^refusal: //p' <<<"$out" | jq -r '.error.code + " " + (.error.message | split(" ")[1])')"
t_eq "a finished request gives its slot back (its connection still open)" "again: 200" \
	"$(grep '^again:' <<<"$out")"
out=$(python3 "$HOLD" hold "$ADDR" "$TOKEN" 203.0.113.17 203.0.113.18 203.0.113.19 198.51.100.1)
t_eq "different clients through one proxy address: all served (4 connections over cap 2)" \
	"statuses: 200 200 200 200" "$(grep '^statuses:' <<<"$out")"
out=$(python3 "$HOLD" close "$ADDR" "$TOKEN" 203.0.113.50 2)
t_eq "cap reached: a probe for the same client is refused" "probe while held: 429" \
	"$(grep '^probe while' <<<"$out")"
t_eq "a request whose connection closes mid-body gives its slot back" "probe after a close: 200" \
	"$(grep '^probe after' <<<"$out")"
t_contains "the refusal is logged with the client" \
	"request from 203.0.113.7 through a trusted proxy refused: the per-client connection limit (2) is reached" \
	"$(cat "$T/GW2.err")"
h_req GET /healthz
t_eq "healthy afterwards" 200 "$HS"
h_stop "$GW2"
t_eq "cap: clean exit" 0 "$HRC"

# --- JSON log -----------------------------------------------------------------------------------
h_gateway GWJ --gateway-state-dir "$T/sj" --log-format json $PROXY_FLAG 127.0.0.1
xff "203.0.113.7"
h_post '{"input":"json client","store":true}'
RID=$(h_jq .id)
h_stop "$GWJ"
t_eq "json: the client member" "GET /healthz 203.0.113.7|POST /v1/responses 127.0.0.1 $RID" \
	"$(jq -r 'select(.event == "request") | [.method, .path, .client, .response_id // empty] | join(" ")' "$T/GWJ.err" | paste -sd '|')"

# --- not trusted: the header is ignored -------------------------------------------------------
h_gateway GW3 --gateway-state-dir "$T/s3" --gateway-openresponses-max-connections-per-ip 2
xff "203.0.113.7"
t_eq "no trusted proxies: served" 200 "$HS"
out=$(python3 "$HOLD" hold "$ADDR" "$TOKEN" 203.0.113.1 203.0.113.2 203.0.113.3)
t_eq "spoofed addresses from an untrusted peer share its cap (the third connection closed)" \
	"statuses: 200 200 none" "$(grep '^statuses:' <<<"$out")"
h_stop "$GW3"
h_gateway GW4 --gateway-state-dir "$T/s4" $PROXY_FLAG "10.0.0.0/8,::1"
xff "203.0.113.7"
xff "10.0.0.1"
h_stop "$GW4"
t_eq "a peer outside the list: the header is ignored" "127.0.0.1 127.0.0.1 127.0.0.1" \
	"$(clients "$T/GW3.err" | head -1) $(clients "$T/GW4.err" | paste -sd ' ')"

# --- IPv6 peers ------------------------------------------------------------------------------------
h_gateway GW6 --gateway-state-dir "$T/s6" --gateway-openresponses-bind "[::1]:0" $PROXY_FLAG ::1/128
xff "2001:db8::42, [2001:db8::43]:8080"
xff "192.0.2.1"
h_stop "$GW6"
h_gateway GW7 --gateway-state-dir "$T/s7" --gateway-openresponses-bind "[::1]:0" $PROXY_FLAG 127.0.0.1
xff "2001:db8::42"
h_stop "$GW7"
t_eq "an IPv6 proxy names IPv6 and IPv4 clients; an untrusted IPv6 peer is the client" \
	"2001:db8::43 192.0.2.1 ::1" "$(clients "$T/GW6.err" | paste -sd ' ') $(clients "$T/GW7.err")"

# --- hostile headers through a trusted proxy ---------------------------------------------------
h_gateway GW5 --gateway-state-dir "$T/s5" $PROXY_FLAG 127.0.0.0/8,10.0.0.0/8
big=$(python3 -c 'print(",".join("10.0.%d.%d" % (i // 250, i % 250 + 1) for i in range(1000)))')
xff "203.0.113.7, $big"
t_eq "a thousand trusted hops (11 KB header): answered" 200 "$HS"
huge=$(head -c 40000 /dev/zero | tr '\0' 'a')
xff "$huge"
t_eq "a header beyond MHD's limit: refused, not crashed" 431 "$HS"
xff "$(head -c 3000 /dev/urandom | tr -d '\0\r\n' | LC_ALL=C tr -c '[:print:]' ',')"
t_eq "garbage: answered" 200 "$HS"
a=(); for i in $(seq 1 150); do a+=("10.$((i % 200)).0.1"); done
xff 203.0.113.99 "${a[@]}"
t_eq "150 X-Forwarded-For headers: answered" 200 "$HS"
h_req GET /healthz
t_eq "healthy afterwards" 200 "$HS"
h_stop "$GW5"
t_eq "hostile: clean exit" 0 "$HRC"
t_eq "hostile: the walk stops at the 64th entry from the right (the 431 is not a request)" \
	"10.0.3.187 127.0.0.1 10.87.0.1 127.0.0.1" "$(clients "$T/GW5.err" | paste -sd ' ')"

# --- the flag -----------------------------------------------------------------------------------
bad() {
	"$TAU_BIN" $(t_state_args "$T/bad") --gateway-openresponses-server \
		--gateway-openresponses-bind 127.0.0.1:0 --gateway-openresponses-auth-token x "$@" \
		</dev/null >"$T/bad.out" 2>"$T/bad.err"
	BRC=$?
}
bad $PROXY_FLAG "10.0.0.0/8,10.0.0.0/33"
t_eq "bad prefix: exit 64" 64 "$BRC"
t_eq "bad prefix: the message names the flag and the entry" \
	'tau-gateway: --gateway-openresponses-trusted-proxies: "10.0.0.0/33": prefix length must be 0 to 32' \
	"$(cat "$T/bad.err")"
t_eq "bad prefix: nothing recorded" no "$([ -e "$T/bad" ] && echo yes || echo no)"
TAU_GATEWAY_OPENRESPONSES_TRUSTED_PROXIES="192.0.2.1/24" bad
t_eq "from the environment: exit 64" 64 "$BRC"
t_contains "from the environment: the message" '"192.0.2.1/24": bits are set after the prefix (the network is 192.0.2.0/24)' \
	"$(cat "$T/bad.err")"
"$TAU_BIN" --gateway-service-status $PROXY_FLAG 10.0.0.0/8 >"$T/o" 2>"$T/e"
t_eq "the flag without the server: exit 64" 64 "$?"
t_done
