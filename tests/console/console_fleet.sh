#!/usr/bin/env bash
# console_fleet: the console against PostgreSQL (--gateway-state-url).
#  - the Replicas panel shows the rows two test replicas (tau-replica,
#    the store's real registry API) register and heartbeat, and marks one
#    STALE once it is killed and its heartbeat passes 5 s;
#  - a --gateway-service-stop run by another process shows as HOLD
#    service_stopped within 1 s of that command's exit (LISTEN/NOTIFY; the
#    pane is read in a loop, the bound asserted on the awaited signal);
#  - s at the console starts the service in the database (cli_execute's
#    path, the flags' own);
#  - run and inspect run a cycle on the database and count its channel
#    (the flags' core calls); serve answers with the flags' "does not run
#    on PostgreSQL yet"; none touches a state directory;
#  - when its connection is cut (the backend terminated while the database
#    refuses new connections) the status line says so and the console keeps
#    running; once the database takes connections again it reconnects,
#    LISTENs again, and the next stop from elsewhere shows within 1 s;
#  - at 80x24 with NO_COLOR the rows fit whole and STALE is a word; on a
#    state directory there is no Replicas panel;
#  - an unreachable database ends the console with the flags' exit 69.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/tmux_helpers.bash"
. "$TAU_SOURCE_DIR/tests/integration/lib/pg.sh"
pg_ensure
# both cleanups: the tmux servers (and the console) first, then the database
trap 'for s in "${TC_SOCKS[@]}"; do tmux -L "$s" kill-server 2>/dev/null; done; pg_test_cleanup' EXIT
DB="tau_console_$$"
pg_createdb URL "$DB" || { t_fail "create the test database"; t_done; exit 1; }
REPLICA=${TAU_REPLICA:-$(dirname "$TAU_BIN")/tau-replica}
RURL="$URL&application_name=tau-replica-test"
gw() { "$TAU_BIN" --gateway-state-url "$URL" "$@"; }
now_ms() { date +%s%3N; }

# Runs a stop from another process, then reads the pane in a loop until it
# shows HOLD service_stopped; prints the milliseconds from the stop's exit.
stop_lag() {
	local reason=$1 t0 i
	gw --gateway-service-stop --gateway-service-stop-reason "$reason" >/dev/null 2>"$T/stop.err" || {
		echo "stop failed: $(cat "$T/stop.err")" >&2
		echo 99999
		return
	}
	t0=$(now_ms)
	for ((i = 0; i < 400; i++)); do
		if tc_screen | grep -Eq "last stop: $reason\) +Rollout HOLD service_stopped"; then
			echo $(($(now_ms) - t0))
			return
		fi
	done
	echo 99999
}

t_spawn A "$REPLICA" run "$RURL" default host-a 10.0.0.1:8080 200
t_spawn B "$REPLICA" run "$RURL" default host-b 10.0.0.2:8080 200
t_check "replica a registered" t_wait_line "$T/A.out" '^registered [0-9]+$'
t_check "replica b registered" t_wait_line "$T/B.out" '^registered [0-9]+$'
gw --gateway-service-start >/dev/null

TC_STATE_URL=$URL tc_start
tc_expect "console up on the database" 'state postgresql:'"$DB"'/default'
tc_expect "service running" 'Service RUNNING'
tc_expect "the Replicas panel, two rows" 'Replicas 2$|Replicas 2 '
tc_expect "host-a's row" "host-a +10\.0\.0\.1:8080 +$A "
tc_expect "host-b's row" "host-b +10\.0\.0\.2:8080 +$B "
tc_expect "counters arrive with heartbeats" "host-a +10\.0\.0\.1:8080 +$A +[0-9.]+ m?s +[1-9][0-9]* +2 +[0-9.]+% +[0-9.]+%"

# --- a stop from another process, within 1 s ----------------------------------------
lag=$(stop_lag emergency_rollback)
echo "# stop -> screen: ${lag} ms"
[ "$lag" -lt 1000 ]
t_eq "a stop from another process shows within 1 s (${lag} ms)" 0 "$?"
tc_expect "its event row" 'lifecycle +stop +emergency_rollback'

# --- s starts it through the flags' path --------------------------------------------
tc_keys s
tc_expect "s: running again" 'Service RUNNING \(last stop: emergency_rollback\) +Rollout PASS'
t_contains "the database says running" "service_status=running" "$(gw --gateway-service-status)"

# --- run and inspect work on the database; serve refuses -----------------------------
tc_keys :
tc_type "run $TAU_SOURCE_DIR/fixtures/gateway-contract/rollout-pass.json"
tc_keys Enter
tc_expect "run: a cycle on the database" 'run .*rollout-pass\.json: rollout PASS'
# the console's messages are whole in the log view
tc_keys L
tc_expect "run: the result in the log view, with its summary" 'gateway runner summary: discovered=2 queued=2 applied=2'
tc_keys L
t_contains "the database has its records" "processed_case_count=2 request_count=2 " "$(gw --gateway-status-inspect)"
tc_keys :
tc_type "serve"
tc_keys Enter
tc_expect "serve: the server refuses" 'gateway-openresponses-server does not run on PostgreSQL yet'
tc_keys :
tc_type "inspect ops-release-bot"
tc_keys Enter
tc_expect "inspect: the database's channel (a key/value table)" "channel_id +ops-release-bot"
tc_expect "inspect: its directory is the deployment" "dir +postgresql:$DB/default/"
tc_keys Escape
# the pane runs in $T: the default state directory would be $T/.tau/gateway
t_eq "no state directory was made" "" "$(find "$T/.tau" "$SD" -mindepth 1 2>/dev/null)"
t_eq "not even the default one" "no" "$([ -e "$T/.tau" ] && echo yes || echo no)"

# --- a replica stops heartbeating -----------------------------------------------------
kill -9 "$B"
wait "$B" 2>/dev/null
tc_expect "host-b goes STALE (heartbeat > 5 s)" "STALE +host-b +10\.0\.0\.2:8080 +$B " 15
tc_expect "the title counts it" 'Replicas 2 \(1 stale\)'
t_eq "host-a stays live" "" "$(tc_screen | grep host-a | grep STALE)"

# --- the connection drops --------------------------------------------------------------
pg_sql "$TAU_TEST_PG_URL" "ALTER DATABASE \"$DB\" ALLOW_CONNECTIONS false" \
	"SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = '$DB' AND application_name = 'tau-gateway'" \
	>"$T/terminated"
t_eq "the console's connection was terminated" 1 "$(cat "$T/terminated")"
tc_expect "the status line says so" 'state database (connection lost|unreachable)'
tc_keys :
tc_type "status"
tc_keys Enter
tc_expect "the console keeps working (a command answers)" 'exit 69: cannot connect to the state database'
pg_sql "$TAU_TEST_PG_URL" "ALTER DATABASE \"$DB\" ALLOW_CONNECTIONS true" >/dev/null
tc_expect "reconnects (status line clear, within the 5 s backoff cap)" 'Service RUNNING' 10
for ((i = 0; i < 200; i++)); do
	tc_screen | grep -Eq 'state database (connection lost|unreachable)' || break
	sleep 0.05
done
t_eq "the status line is clear again" "" "$(tc_screen | grep -E 'state database (connection lost|unreachable)')"
lag=$(stop_lag maintenance_window)
echo "# stop -> screen after the reconnect: ${lag} ms"
[ "$lag" -lt 1000 ]
t_eq "after the reconnect, a stop still shows within 1 s (${lag} ms)" 0 "$?"

tc_keys q
tc_expect "q quits" 'CONSOLE_EXIT=0'

# --- 80x24 without colour: whole rows, the stale mark in words -------------------
TC_ENV="NO_COLOR=1" TC_COLS=80 TC_ROWS=24 TC_STATE_URL=$URL tc_start
tc_expect "80x24 NO_COLOR: the panel's heads, 5xx column included" '^ +host +bind +pid +hb age +requests +strms +4xx +5xx$'
tc_expect "80x24 NO_COLOR: host-b marked STALE" "^ STALE +host-b +10\.0\.0\.2:8080 +$B "
tc_expect "80x24 NO_COLOR: host-a's whole row" "^ +host-a +10\.0\.0\.1:8080 +$A +[0-9.]+ m?s +[0-9]+ +2 +[0-9.]+% +[0-9.]+%$"
tc_keys q
tc_expect "q quits" 'CONSOLE_EXIT=0'

# --- on a state directory there is no registry, so no panel -----------------------
tc_start
tc_expect "file mode: console up" 'Service RUNNING'
tc_expect "file mode: the event list is drawn" 'Events [0-9]+'
t_eq "file mode: no Replicas panel" "" "$(tc_screen | grep -E 'Replicas|hb age')"
tc_keys q
tc_expect "q quits" 'CONSOLE_EXIT=0'

# --- an unreachable database: the flags' exit 69, before the screen ---------------
TC_STATE_URL="postgresql:///nope?host=$T/no-such-socket-dir&connect_timeout=2" tc_start
tc_expect "a bad URL exits 69" 'CONSOLE_EXIT=69'
tc_expect "with libpq's reason" 'cannot connect to the state database'
t_done
