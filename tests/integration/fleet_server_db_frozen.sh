#!/usr/bin/env bash
# fleet_server_db_frozen: the database host stops answering without closing
# anything (lib/pgfreeze.py, a TCP proxy in front of the test's private
# cluster, stops relaying: a hung host or a network partition, which a
# statement_timeout cannot cover since the server never sees the
# statement) while a fleet-mode server is under load (lib/fleetload.py),
# then comes back (the proxy drops the old connections and relays again).
#  - while frozen (3 s): every answer within 1 s, store:true 503
#    state_unavailable, store:false 200, nothing unanswered; /healthz says
#    degraded (the fleet thread's heartbeat gave up on the silent
#    connection);
#  - after: stored responses work again and /healthz is ok, no restart;
#    every store:true 200 is found by GET afterwards;
#  - SIGTERM while the host is silent again and the fleet thread is
#    reconnecting: the server exits 0 within 9 s, saying the stop could not
#    be recorded.
. "${TAU_SOURCE_DIR:-$(dirname "$0")/../..}/tests/lib.sh"
. "$TAU_SOURCE_DIR/tests/integration/lib/pg.sh"
. "$TAU_SOURCE_DIR/tests/integration/lib/http.sh"
TOKEN=fleet-frozen-token-6c31
pg_private
pg_createdb DBURL "tau_fleet_frozen_$$" || { t_fail "create the test database"; t_done; exit 1; }
cd "$T" || exit 1
LOAD=$TAU_SOURCE_DIR/tests/integration/lib/fleetload.py
LOG=$T/load.jsonl
: >"$LOG"
now_ms() { date +%s%3N; }
PGUSER_=$(sed -n 's/.*[?&]user=\([^&]*\).*/\1/p' <<<"$TAU_TEST_PG_URL")

t_spawn PROXY python3 "$TAU_SOURCE_DIR/tests/integration/lib/pgfreeze.py" "$PG_DIR/.s.PGSQL.5432"
t_check "the proxy listens" t_wait_line "$T/PROXY.out" '^pgfreeze port=[0-9]+$' 10
URL="postgresql://$PGUSER_@127.0.0.1:$(sed -n 's/^pgfreeze port=//p' "$T/PROXY.out")/tau_fleet_frozen_$$"
t_check "the server starts through the proxy" h_gateway S --gateway-state-url "$URL"

# fz_count SINCE STORE STATUS: answers to requests sent after SINCE
fz_count() {
	awk -v t="$1" -v s="\"store\": $2," -v st="\"status\": $3," '
		index($0, s) && index($0, st) { split($0, f, /[:,]/); if (f[2] + 0 >= t + 0) n++ }
		END { print n + 0 }' "$LOG"
}
# fz_await SINCE STORE STATUS N SECS
fz_await() {
	local end=$(($(now_ms) + $5 * 1000))
	while [ "$(now_ms)" -lt "$end" ]; do
		[ "$(fz_count "$1" "$2" "$3")" -ge "$4" ] && return 0
		sleep 0.1
	done
	echo "fewer than $4 answers (store $2, status $3) since $1" >&2
	return 1
}
# fz_health WANT SECS
fz_health() {
	local end=$(($(now_ms) + $2 * 1000))
	while [ "$(now_ms)" -lt "$end" ]; do
		h_req GET /healthz
		[ "$(h_jq .status)" = "$1" ] && return 0
		sleep 0.05
	done
	echo "healthz never said $1 (last: $(cat "$T/body"))" >&2
	return 1
}

T_BEGIN=$(now_ms)
# 16 clients: more store:true requests at once than the pool's 8 connections,
# so some wait for one to come free while the host is silent
t_spawn LOADER env FLEETLOAD_WORKERS=16 python3 "$LOAD" run "$TOKEN" "$LOG" "$T/stop-load" "$ADDR"
t_check "the load runs" t_wait_line "$T/LOADER.out" '^fleetload running$' 20
t_check "before: responses are stored" fz_await "$T_BEGIN" true 200 20 20

kill -USR1 "$PROXY"
t_check "the database host goes silent" t_wait_line "$T/PROXY.out" '^frozen$' 5
T_FROZEN=$(now_ms)
t_check "/healthz says degraded within 5 s (the fleet thread gave up)" fz_health degraded 5
# the silence lasts 3 s in all (the scenario, not a wait for something)
while [ $(($(now_ms) - T_FROZEN)) -lt 3000 ]; do sleep 0.1; done
T_THAW=$(now_ms)
kill -USR2 "$PROXY"
t_check "it answers again" t_wait_line "$T/PROXY.out" '^thawed$' 5
t_check "after: responses are stored again, no restart (within 20 s)" fz_await "$T_THAW" true 200 20 20
t_check "/healthz ok again" fz_health ok 15
touch "$T/stop-load"
wait "$LOADER"
t_eq "the load ends" 0 "$?"

# shellcheck disable=SC2016
jq -s --argjson f "$T_FROZEN" --argjson th "$T_THAW" '
	def frozen: .t0 >= $f and .t1 <= $th;
	{ total: length,
	  frozen_store: ([.[] | select(frozen and .store)] | length),
	  frozen_store_bad: ([.[] | select(frozen and .store and (.status != 503 or .code != "state_unavailable"))] | length),
	  frozen_free: ([.[] | select(frozen and (.store | not))] | length),
	  frozen_free_bad: ([.[] | select(frozen and (.store | not) and .status != 200)] | length),
	  other: ([.[] | select(.status != 200 and (.status != 503 or .code != "state_unavailable"))] | length),
	  slow: ([.[] | select(.t1 - .t0 > 1000)] | length),
	  slowest: ([.[] | .t1 - .t0] | max),
	  stored: ([.[] | select(.store and .status == 200)] | length) }' "$LOG" >"$T/summary.json"
echo "# $(jq -c . "$T/summary.json")"
jq -c --argjson f "$T_FROZEN" --argjson th "$T_THAW" 'select(.t1 - .t0 > 1000) |
	{ms: (.t1 - .t0), from_freeze: (.t0 - $f), from_thaw: (.t0 - $th), store, status, code}' "$LOG" |
	head -5 | sed 's/^/# slow: /'
sj() { jq -r "$1" "$T/summary.json"; }
t_check "store:true requests ran while silent ($(sj .frozen_store))" test "$(sj .frozen_store)" -ge 10
t_eq "while silent every store:true is 503 state_unavailable" 0 "$(sj .frozen_store_bad)"
t_check "store:false requests ran while silent ($(sj .frozen_free))" test "$(sj .frozen_free)" -ge 10
t_eq "while silent every store:false is 200" 0 "$(sj .frozen_free_bad)"
t_eq "throughout, every answer is 200 or 503 state_unavailable (none unanswered)" 0 "$(sj .other)"
t_eq "every answer within 1 s (slowest $(sj .slowest) ms)" 0 "$(sj .slow)"
python3 "$LOAD" verify "$TOKEN" "$LOG" "$ADDR" >"$T/verify.txt"
head -3 "$T/verify.txt" | sed 's/^/# /'
t_eq "every store:true 200 is found afterwards" "verified $(sj .stored) missing 0" "$(head -1 "$T/verify.txt")"
t_eq "the same server process throughout" 0 "$(kill -0 "$S" 2>/dev/null; echo $?)"

# --- a stop while the host is silent ------------------------------------------------------
kill -USR1 "$PROXY"
t_check "the database host goes silent again" t_wait_line "$T/PROXY.out" '^frozen$' 5
# degraded: the fleet thread gave its connection up and is reconnecting
# (an open that hangs), which a stop has to wait for
t_check "/healthz says degraded again" fz_health degraded 5
T_TERM=$(now_ms)
h_stop "$S"
took=$(($(now_ms) - T_TERM))
echo "# SIGTERM to exit: $took ms, exit $HRC"
# bounded: the fleet thread's open in progress (3 s), the stop's statement
# (2.1 s) and its reconnect (3 s), not libpq's 10 s connect_timeout twice
t_check "SIGTERM: the server exits within 9 s (${took} ms)" test "$took" -lt 9000
t_eq "SIGTERM: exit 0 (the server's own stop, as on a state directory)" 0 "$HRC"
t_contains "saying the stop could not be recorded" "cannot record the service stop" "$(cat "$T/S.err")"
t_done
