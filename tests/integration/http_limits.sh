#!/usr/bin/env bash
# Connection caps: --gateway-openresponses-max-connections-per-ip, and
# --gateway-openresponses-max-connections (counted across all the server's
# event loops), close a connection beyond the cap as soon as it is
# accepted, while the held connections and the server stay healthy, and a
# slot freed by the client is usable again.  At the defaults (per-address
# cap 0 = the total cap) one address may hold every connection.
# backends: files pg
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib/http.sh"

h_gateway GW --gateway-openresponses-max-connections-per-ip 4
out=$(python3 "$(dirname "$0")/lib/conncap.py" "$ADDR" 4)
t_eq "per-ip: the cap's connections are answered" "held answered: 4" "$(grep '^held' <<<"$out")"
t_eq "per-ip: one more is closed unanswered" "over the cap: closed" "$(grep '^over' <<<"$out")"
t_eq "per-ip: a freed slot is usable again" "after one left: answered" "$(grep '^after' <<<"$out")"
h_req GET /healthz
t_eq "per-ip: server healthy afterwards" 200 "$HS"
t_contains "per-ip: refusal logged" "limit" "$(cat "$T/GW.err")"
h_stop "$GW"
t_eq "per-ip: clean exit" 0 "$HRC"

# the total cap holds across the event loops (one MHD daemon each): the
# connections land on whichever loop accepts them, and the count is shared
h_gateway GW2 --gateway-state-dir "$T/total" --gateway-openresponses-max-connections 4 \
	--gateway-openresponses-max-connections-per-ip 64
out=$(python3 "$(dirname "$0")/lib/conncap.py" "$ADDR" 4)
t_eq "total: the cap's connections are answered" "held answered: 4" "$(grep '^held' <<<"$out")"
t_eq "total: one more is closed unanswered" "over the cap: closed" "$(grep '^over' <<<"$out")"
t_eq "total: a freed slot is usable again" "after one left: answered" "$(grep '^after' <<<"$out")"
t_contains "total: refusal logged" "the connection limit (4) is reached" "$(cat "$T/GW2.err")"
h_stop "$GW2"
t_eq "total: clean exit" 0 "$HRC"

# the defaults fit a load balancer, whose clients all share its address:
# the per-address cap is the total cap (256), so 256 connections held at
# once from 127.0.0.1 are all answered, and only the 257th is closed
h_gateway GW3 --gateway-state-dir "$T/defaults"
out=$(python3 "$(dirname "$0")/lib/conncap.py" "$ADDR" 256)
t_eq "defaults: 256 held connections from one address are answered" "held answered: 256" \
	"$(grep '^held' <<<"$out")"
t_eq "defaults: the 257th is closed" "over the cap: closed" "$(grep '^over' <<<"$out")"
t_contains "defaults: by the total cap" "the connection limit (256) is reached" "$(cat "$T/GW3.err")"
t_eq "defaults: never by the per-address cap" "" "$(grep 'per-client' "$T/GW3.err")"
h_stop "$GW3"
t_eq "defaults: clean exit" 0 "$HRC"

# 0 is the total cap, written out
h_gateway GW4 --gateway-state-dir "$T/zero" --gateway-openresponses-max-connections 5 \
	--gateway-openresponses-max-connections-per-ip 0
out=$(python3 "$(dirname "$0")/lib/conncap.py" "$ADDR" 5)
t_eq "per-ip 0: the total cap's connections are answered" "held answered: 5" "$(grep '^held' <<<"$out")"
t_eq "per-ip 0: one more is closed" "over the cap: closed" "$(grep '^over' <<<"$out")"
h_stop "$GW4"

# the flag is validated like the other caps
"$TAU_BIN" --gateway-openresponses-server --gateway-openresponses-max-connections-per-ip 65537 \
	</dev/null >"$T/big.out" 2>"$T/big.err"
t_eq "per-ip 65537: usage exit" 64 "$?"
t_contains "per-ip 65537: names the flag" "--gateway-openresponses-max-connections-per-ip" "$(cat "$T/big.err")"
t_done
