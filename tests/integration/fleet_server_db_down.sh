#!/usr/bin/env bash
# fleet_server_db_down: a fleet-mode server whose database goes away, on
# the test's own private cluster (never the shared one scripts/test runs).
#  - PostgreSQL stopped (pg_ctl stop -m fast): /healthz says degraded with
#    the reason within a few seconds; /gateway/status answers from the
#    fleet thread's cache marked stale (fleet.state "stale" with
#    fleet.state_error); store:false requests are still served, store:true
#    answers 503 state_unavailable;
#  - PostgreSQL started again: /healthz is ok again, the cache live, and a
#    stop made after the restart reaches /gateway/status (the thread
#    LISTENs again), and the session continues where it was, all without
#    restarting the server.
. "${TAU_SOURCE_DIR:-$(dirname "$0")/../..}/tests/lib.sh"
. "$TAU_SOURCE_DIR/tests/integration/lib/pg.sh"
. "$TAU_SOURCE_DIR/tests/integration/lib/http.sh"
TOKEN=fleet-down-token-9c4e
# a private cluster whatever scripts/test exported: this test stops it
pg_private
URL=$TAU_TEST_PG_URL
cd "$T" || exit 1

# fd_wait_health WANT SECS: polls /healthz (bounded) until its status is WANT
fd_wait_health() {
	local i
	for ((i = 0; i < $2 * 20; i++)); do
		h_req GET /healthz
		[ "$(h_jq .status)" = "$1" ] && return 0
		sleep 0.05
	done
	echo "healthz never said $1 (last: $(cat "$T/body"))" >&2
	return 1
}

t_check "the server starts" h_gateway S --gateway-state-url "$URL"
h_req GET /healthz
t_eq "healthy while the database is up" '{"status":"ok"}' "$(cat "$T/body")"
h_post '{"model":"local/echo","input":"before","metadata":{"session_id":"down-s"}}'
t_eq "a session turn while the database is up" "200 completed" "$HS $(h_jq .status)"

# --- the database goes away -----------------------------------------------------------------
t_check "PostgreSQL stops" pg_server_stop
t_check "/healthz says degraded within 3 s" fd_wait_health degraded 3
t_contains "with the reason" "state database" "$(h_jq .reason)"
h_req GET /gateway/status
t_eq "/gateway/status answers from the cache" 200 "$HS"
t_eq "marked stale, with the error, the posture kept" "stale true running" \
	"$(h_jq '"\(.fleet.state) \(.fleet.state_error | length > 0) \(.service.service_status)"')"
h_post '{"model":"local/echo","input":"while down","store":false}'
t_eq "store:false is still served" "200 completed" "$HS $(h_jq .status)"
h_post '{"model":"local/echo","input":"while down"}'
t_eq "store:true is 503 state_unavailable (not a hang)" "503 state_unavailable" "$HS $(h_jq .error.code)"
for body in '{"model":"local/echo","input":"during","store":false,"metadata":{"session_id":"down-s"}}' \
	'{"model":"local/echo","input":"during","conversation":"down-c"}' \
	'{"model":"local/echo","input":"during","stream":true,"metadata":{"session_id":"down-s"}}'; do
	t0=$(date +%s%N)
	h_post "$body"
	ms=$((($(date +%s%N) - t0) / 1000000))
	if [[ $body == *'"stream":true'* ]]; then
		# a stream's status line is already sent: its terminal event fails
		got=$(grep '^data: {' "$T/body" | sed 's/^data: //' |
			jq -r 'select(.type == "response.failed") | .response.error.code')
		t_eq "a session stream ends response.failed state_unavailable" "200 state_unavailable" \
			"$HS $got"
	else
		t_eq "a session turn ($(jq -c 'del(.model, .input)' <<<"$body")) is 503 state_unavailable" \
			"503 state_unavailable" "$HS $(h_jq .error.code)"
	fi
	t_eq "answered within 1 s (${ms} ms)" yes "$([ "$ms" -lt 1000 ] && echo yes || echo no)"
done
t_eq "the server is still running" 0 "$(kill -0 "$S" 2>/dev/null; echo $?)"

# --- and comes back ---------------------------------------------------------------------------
t_check "PostgreSQL starts again" pg_server_start
t_check "/healthz ok again within 10 s, no restart" fd_wait_health ok 10
h_req GET /gateway/status
t_eq "the cache is live again" "live" "$(h_jq .fleet.state)"
"$TAU_BIN" --gateway-state-url "$URL" --gateway-service-stop --gateway-service-stop-reason after_restart \
	>/dev/null 2>"$T/stop.err"
t_eq "a stop after the restart exits 0" 0 "$?"
ok=1
for ((i = 0; i < 100; i++)); do
	h_req GET /gateway/status
	[ "$(h_jq .service.service_last_stop_reason)" = after_restart ] && { ok=0; break; }
	sleep 0.01
done
t_eq "and reaches /gateway/status through the renewed LISTEN (bounded wait)" 0 "$ok"
back=no
for ((i = 0; i < 60; i++)); do # bounded, ~3 s: each pooled connection reconnects on use
	h_post '{"model":"local/echo","input":"after","metadata":{"session_id":"down-s"}}'
	[ "$HS" = 200 ] && { back=yes; break; }
	sleep 0.05
done
t_eq "the session is served again after the restart" yes "$back"
t_contains "and continues where it was (its first turn, none of the failed ones, then this)" \
	"Context: 3 items" "$(h_jq .output[0].content[0].text)"
t_eq "the same server process throughout" 0 "$(kill -0 "$S" 2>/dev/null; echo $?)"
h_stop "$S"
t_eq "SIGTERM: exit 0" 0 "$HRC"
t_contains "it logged the loss and the recovery" "reachable again" "$(cat "$T/S.err")"
t_done
