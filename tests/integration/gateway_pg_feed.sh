#!/usr/bin/env bash
# gateway_pg_feed: the store's change feed.  A process LISTENing on a
# deployment (tests/tools/store_listen.c: gw_store_listen, poll(2) on
# gw_store_fd, gw_store_drain - no polling of the database) learns of a
# --gateway-service-stop run by another process within 1 s of its commit,
# and of no commit of another deployment's; a new database opened by five
# processes at once gets its schema once (advisory lock), and all five work.
. "${TAU_SOURCE_DIR:-$(dirname "$0")/../..}/tests/lib.sh"
. "$TAU_SOURCE_DIR/tests/integration/lib/pg.sh"
pg_ensure
pg_createdb URL "tau_feed_$$" || { t_fail "create the test database"; t_done; exit 1; }
LISTEN=${TAU_STORE_LISTEN:-$(dirname "$TAU_BIN")/tau-store-listen}

# --- five processes create the schema at once -------------------------------------
pids=()
for i in 1 2 3 4 5; do
	"$TAU_BIN" --gateway-state-url "$URL" --gateway-deployment "d$i" --gateway-service-start \
		>"$T/s$i.out" 2>"$T/s$i.err" &
	pids+=($!)
	T_PIDS+=($!) # killed by t_cleanup if the test stops early
done
bad=0
for p in "${pids[@]}"; do wait "$p" || bad=$((bad + 1)); done
t_eq "five first opens at once: all exit 0" 0 "$bad"
t_eq "one schema row, version 6" "1|6" "$(pg_sql "$URL" "SELECT count(*), max(version) FROM tau_schema")"

# --- a stop reaches a listener within 1 s -------------------------------------------
t_spawn L "$LISTEN" "$URL" default 1 10000
t_check "the listener is listening" t_wait_line "$T/L.out" '^listening$' 10
t_spawn O "$LISTEN" "$URL" other 1 3000
t_check "the other deployment's listener is listening" t_wait_line "$T/O.out" '^listening$' 10
"$TAU_BIN" --gateway-state-url "$URL" --gateway-service-stop --gateway-service-stop-reason emergency_rollback \
	>"$T/stop.out" 2>&1
t_eq "the stop exits 0" 0 "$?"
"$TAU_BIN" --gateway-state-url "$URL" --gateway-service-status --gateway-service-status-json >"$T/stop.json"
stopped=$(jq -r .service_last_stopped_unix_ms "$T/stop.json")
t_match "the stop committed" '^[1-9][0-9]+$' "$stopped"
t_check "the listener saw one change" t_wait_line "$T/L.out" '^change [0-9]+$' 5
wait "$L"
t_eq "the listener exits 0 after its one change" 0 "$?"
seen=$(sed -n 's/^change //p' "$T/L.out")
lag=$((seen - stopped))
echo "# notification lag: ${lag} ms after the stop's timestamp"
# the stop's timestamp is taken before its commit, so the lag includes the
# commit itself; both clocks are this host's wall clock
[ "$lag" -ge 0 ] && [ "$lag" -lt 1000 ]
t_eq "the change arrived within 1 s of the stop" 0 "$?"
wait "$O"
t_eq "the other deployment's listener heard nothing (timed out)" 1 "$?"
t_eq "and printed no change" "" "$(grep change "$T/O.out")"
t_done
