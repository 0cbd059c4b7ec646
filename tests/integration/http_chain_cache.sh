#!/usr/bin/env bash
# A server keeps what its chain walks read of stored responses in memory
# (respcache.h), yet a chain it has cached is still cut exactly where a
# record of it is gone (respstore.h), however the record went:
#  (a) deleted on this server (DELETE drops it from the cache, and the
#      walk checks every cached ancestor is still stored anyway);
#  (b) deleted by another server on the same state (another replica on
#      the same database in fleet mode): this server's cache does not know;
#  (c) expired: removed by another server's sweep;
#  and the named response itself deleted elsewhere is a 400 here.
# Each step continues the same cached turn on the first server; the
# echo model says how many context items it got.
# backends: files pg
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib/http.sh"

h_gateway GW1 --gateway-response-ttl 0 --gateway-session-ttl 0
A1=$ADDR
ids=("")
for i in 1 2 3 4 5 6 7 8; do
	body="{\"input\":\"turn $i\"}"
	[ "$i" -gt 1 ] && body="{\"input\":\"turn $i\",\"previous_response_id\":\"${ids[$((i - 1))]}\"}"
	h_post "$body"
	[ "$HS" == 200 ] || t_fail "turn $i: $HS"
	ids+=("$(h_jq .id)")
done
# continue turn 8 on the first server: the number of items it got
context() {
	ADDR=$A1
	h_post "{\"input\":\"next\",\"previous_response_id\":\"${ids[8]}\"}"
	if [ "$HS" != 200 ]; then
		echo "$HS $(h_jq .error.code)"
		return
	fi
	h_jq '.output[0].content[0].text' | sed -n 's/.*Context: \([0-9]*\) item.*/\1/p'
}
t_eq "the whole chain: 8 turns and the input" 17 "$(context)"
t_eq "again (from the cache)" 17 "$(context)"

# (a) deleted here
h_req DELETE "/v1/responses/${ids[3]}"
t_eq "(a) turn 3 deleted on this server" 200 "$HS"
t_eq "(a) the chain is cut at turn 3: turns 4..8 and the input" 11 "$(context)"

# (b) deleted by another server on the same state
h_gateway GW2 --gateway-response-ttl 0 --gateway-session-ttl 0
h_req DELETE "/v1/responses/${ids[5]}"
t_eq "(b) turn 5 deleted on another server" 200 "$HS"
t_eq "(b) the chain is cut at turn 5 here: turns 6..8 and the input" 7 "$(context)"

# (c) expired: turn 7 made two days old, swept by a third server's start
t_resp_age "$T/state" "${ids[7]}" 172800
h_gateway GW3 --gateway-response-ttl 86400 --gateway-session-ttl 0
t_check "(c) another server's sweep removed turn 7" \
	t_wait_line "$T/GW3.err" 'expired: removed 0 session\(s\) and 1 stored response\(s\)' 10
t_eq "(c) the chain is cut at turn 7 here: turn 8 and the input" 3 "$(context)"

# the named response itself deleted elsewhere
ADDR=$(sed -n 's/^gateway openresponses server listening: endpoint=\/v1\/responses addr=\([^ ]*\) .*/\1/p' \
	"$T/GW2.out" | tail -1)
h_req DELETE "/v1/responses/${ids[8]}"
t_eq "turn 8 deleted on another server" 200 "$HS"
t_eq "continuing turn 8 here: 400" "400 previous_response_not_found" "$(context)"

for g in "$GW3" "$GW2" "$GW1"; do
	h_stop "$g"
	t_eq "clean exit" 0 "$HRC"
done
t_done
