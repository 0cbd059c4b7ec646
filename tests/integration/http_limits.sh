#!/usr/bin/env bash
# Connection caps: --gateway-openresponses-max-connections-per-ip, and
# --gateway-openresponses-max-connections (counted across all the server's
# event loops), close a connection beyond the cap as soon as it is
# accepted, while the held connections and the server stay healthy, and a
# slot freed by the client is usable again.
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

# the flag is validated like the other caps
"$TAU_BIN" --gateway-openresponses-server --gateway-openresponses-max-connections-per-ip 0 \
	</dev/null >"$T/zero.out" 2>"$T/zero.err"
t_eq "per-ip 0: usage exit" 64 "$?"
t_contains "per-ip 0: names the flag" "--gateway-openresponses-max-connections-per-ip" "$(cat "$T/zero.err")"
t_done
