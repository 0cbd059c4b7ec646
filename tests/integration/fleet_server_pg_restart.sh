#!/usr/bin/env bash
# fleet_server_pg_restart: PostgreSQL restarted (pg_ctl stop -m fast, 3 s
# down, then start, on the test's own private cluster) while three
# replicas are under load (6 clients, local/echo, store:true and store:false
# in turn, round-robin over the replicas; lib/fleetload.py logs every answer
# with its times).
#  - while it is down: every store:true request is answered 503
#    state_unavailable and every store:false one 200; each within 1 s;
#    every replica's /healthz says degraded;
#  - throughout: every answer is 200 or 503 state_unavailable, within 1 s,
#    none lost (no transport failure);
#  - after it is back: stored responses work again on every replica
#    without a restart (the same PIDs), /healthz ok everywhere;
#  - nothing half-written or lost: every store:true 200 (before and after)
#    is found by GET /v1/responses/{id} on another replica, and every
#    tau_response row's response and input_items parse, status completed.
. "${TAU_SOURCE_DIR:-$(dirname "$0")/../..}/tests/lib.sh"
. "$TAU_SOURCE_DIR/tests/integration/lib/pg.sh"
. "$TAU_SOURCE_DIR/tests/integration/lib/http.sh"
TOKEN=fleet-restart-token-8a2f
# a private cluster whatever scripts/test exported: this test stops it
pg_private
pg_createdb URL "tau_fleet_restart_$$" || { t_fail "create the test database"; t_done; exit 1; }
cd "$T" || exit 1
LOAD=$TAU_SOURCE_DIR/tests/integration/lib/fleetload.py
LOG=$T/load.jsonl
: >"$LOG"
now_ms() { date +%s%3N; }

# pr_counts SINCE_MS STORE STATUS: for answers to requests sent after
# SINCE_MS with that store flag and status, the smallest count of any replica
# (one awk pass: the log grows by hundreds of lines a second)
pr_counts() {
	awk -v t="$1" -v s="\"store\": $2," -v st="\"status\": $3," -v a="$RA_ADDR" -v b="$RB_ADDR" \
		-v c="$RC_ADDR" '
		index($0, s) && index($0, st) {
			split($0, f, /[:,]/)
			if (f[2] + 0 < t + 0) next
			if (index($0, "\"" a "\"")) na++
			else if (index($0, "\"" b "\"")) nb++
			else if (index($0, "\"" c "\"")) nc++
		}
		END { m = na; if (nb < m) m = nb; if (nc < m) m = nc; print m + 0 }' "$LOG"
}
# pr_await SINCE STORE STATUS N SECS: every replica reaches N such answers
# within SECS
pr_await() {
	local end=$(($(now_ms) + $5 * 1000))
	while [ "$(now_ms)" -lt "$end" ]; do
		[ "$(pr_counts "$1" "$2" "$3")" -ge "$4" ] && return 0
		sleep 0.1
	done
	echo "not every replica reached $4 answers (store $2, status $3) since $1" >&2
	return 1
}

t_check "replica a starts" h_replica RA
t_check "replica b starts" h_replica RB
t_check "replica c starts" h_replica RC
T_BEGIN=$(now_ms)
t_spawn LOADER python3 "$LOAD" run "$TOKEN" "$LOG" "$T/stop-load" "$RA_ADDR" "$RB_ADDR" "$RC_ADDR"
t_check "the load runs" t_wait_line "$T/LOADER.out" '^fleetload running$' 20
t_check "before: every replica stores responses (20 each)" pr_await "$T_BEGIN" true 200 20 20

# --- the database goes away --------------------------------------------------------------
t_check "PostgreSQL stops (pg_ctl stop -m fast)" pg_server_stop
T_DOWN=$(now_ms)
t_check "while down: every replica answers store:true 503 (10 each)" pr_await "$T_DOWN" true 503 10 20
t_check "while down: every replica serves store:false (10 each)" pr_await "$T_DOWN" false 200 10 20
for r in RA RB RC; do
	av=${r}_ADDR
	ADDR=${!av}
	ok=1
	for ((i = 0; i < 100; i++)); do # the fleet thread notices at its next heartbeat (1 s)
		h_req GET /healthz
		[ "$(h_jq .status)" = degraded ] && { ok=0; break; }
		sleep 0.05
	done
	t_eq "while down: $r's /healthz says degraded" 0 "$ok"
done
# the outage lasts 3 s (the scenario, not a wait for something): long
# enough for the stored-response pool's backoff to reach its 1 s ceiling
while [ $(($(now_ms) - T_DOWN)) -lt 3000 ]; do sleep 0.1; done
T_START=$(now_ms)
t_check "PostgreSQL starts again" pg_server_start
T_UP=$(now_ms)
echo "# down from $((T_DOWN - T_BEGIN)) to $((T_START - T_BEGIN)) ms; back at $((T_UP - T_BEGIN)) ms"
t_check "after: every replica stores responses again, no restart (20 each, within 20 s)" \
	pr_await "$T_UP" true 200 20 20
touch "$T/stop-load"
wait "$LOADER"
t_eq "the load ends" 0 "$?"

# --- what the clients saw ------------------------------------------------------------------
# shellcheck disable=SC2016
jq -s --argjson d "$T_DOWN" --argjson s "$T_START" '
	def down: .t0 >= $d and .t1 <= $s;
	{ total: length,
	  down_store: ([.[] | select(down and .store)] | length),
	  down_store_bad: ([.[] | select(down and .store and (.status != 503 or .code != "state_unavailable"))] | length),
	  down_free: ([.[] | select(down and (.store | not))] | length),
	  down_free_bad: ([.[] | select(down and (.store | not) and .status != 200)] | length),
	  other: ([.[] | select(.status != 200 and (.status != 503 or .code != "state_unavailable"))] | length),
	  slow: ([.[] | select(.t1 - .t0 > 1000)] | length),
	  slowest: ([.[] | .t1 - .t0] | max),
	  stored: ([.[] | select(.store and .status == 200)] | length) }' "$LOG" >"$T/summary.json"
echo "# $(jq -c . "$T/summary.json")"
sj() { jq -r "$1" "$T/summary.json"; }
t_check "store:true requests ran while it was down ($(sj .down_store))" test "$(sj .down_store)" -ge 30
t_eq "while down every store:true is 503 state_unavailable" 0 "$(sj .down_store_bad)"
t_check "store:false requests ran while it was down ($(sj .down_free))" test "$(sj .down_free)" -ge 30
t_eq "while down every store:false is 200" 0 "$(sj .down_free_bad)"
t_eq "throughout, every answer is 200 or 503 state_unavailable (none lost, no 500)" 0 "$(sj .other)"
t_eq "every answer within 1 s (slowest $(sj .slowest) ms)" 0 "$(sj .slow)"

# --- recovery, without a restart -------------------------------------------------------------
for r in RA RB RC; do
	av=${r}_ADDR
	pv=$r
	t_eq "$r: the same process throughout" 0 "$(kill -0 "${!pv}" 2>/dev/null; echo $?)"
	ADDR=${!av}
	ok=1
	for ((i = 0; i < 200; i++)); do # the fleet thread's reconnect backoff is at most 5 s
		h_req GET /healthz
		[ "$(h_jq .status)" = ok ] && { ok=0; break; }
		sleep 0.05
	done
	t_eq "$r: /healthz ok again" 0 "$ok"
done

# --- nothing committed is lost, nothing half-written ------------------------------------------
python3 "$LOAD" verify "$TOKEN" "$LOG" "$RA_ADDR" "$RB_ADDR" "$RC_ADDR" >"$T/verify.txt"
head -5 "$T/verify.txt" | sed 's/^/# /'
t_eq "every store:true 200 is found on another replica" "verified $(sj .stored) missing 0" \
	"$(head -1 "$T/verify.txt")"
pg_sql "$URL" "SELECT json_build_object('id', id, 'response', response, 'input_items', input_items)
	FROM tau_response" >"$T/rows.jsonl"
t_check "the rows are read ($(wc -l <"$T/rows.jsonl"))" test "$(wc -l <"$T/rows.jsonl")" -ge "$(sj .stored)"
t_eq "every tau_response row parses whole, completed" "" "$(python3 -c 'import json, sys
for n, line in enumerate(open(sys.argv[1]), 1):
    try:
        row = json.loads(line)
        r = json.loads(row["response"])
        json.loads(row["input_items"])
        assert r["status"] == "completed" and r["id"] == row["id"], (r["status"], r["id"])
    except Exception as e:
        print("row %d: %r" % (n, e))' "$T/rows.jsonl")"
for r in RA RB RC; do
	pv=$r
	h_stop "${!pv}"
	t_eq "$r: SIGTERM exits 0" 0 "$HRC"
done
t_done
