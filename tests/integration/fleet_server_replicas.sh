#!/usr/bin/env bash
# fleet_server_replicas: three servers (--gateway-openresponses-server) on
# one database (fleet mode, --gateway-state-url), ephemeral ports on
# 127.0.0.1.
#  - each registers: every replica's /gateway/status lists all three (id,
#    host, bind, pid, version, heartbeat age, stale flag), live;
#  - a --gateway-service-stop from the command line shows on all three
#    replicas' /gateway/status (stopped, rollout hold service_stopped)
#    within 1 s of the command's exit, through the change feed;
#  - store:false and store:true (the default) are served (200); stored
#    responses are looked up in the database (unknown ids: 400/404,
#    fleet_responses has the rest); a session and a conversation are
#    served (fleet_sessions tests them across replicas);
#  - kill -9 of one replica: the others keep serving and, once its
#    heartbeat is older than the stale bound (aged in SQL rather than
#    waited for), list it as stale;
#  - a replica starting while an operator's stop is in force joins on hold
#    (its start and its failed bind leave the stop and its reason alone);
#  - SIGTERM removes the row; while other replicas are live the posture
#    stays as it is, and the last live replica's stop is recorded;
#  - a lone server whose bind is refused exits 69 with startup_failed
#    recorded in the database and no row left behind.
. "${TAU_SOURCE_DIR:-$(dirname "$0")/../..}/tests/lib.sh"
. "$TAU_SOURCE_DIR/tests/integration/lib/pg.sh"
. "$TAU_SOURCE_DIR/tests/integration/lib/http.sh"
TOKEN=fleet-server-token-5b1d
pg_ensure
pg_createdb URL "tau_fleet_server_$$" || { t_fail "create the test database"; t_done; exit 1; }
cd "$T" || exit 1

# fs_status ADDR: /gateway/status into $T/status.json, prints the HTTP status
fs_status() {
	curl -s -o "$T/status.json" -w '%{http_code}' -H "Authorization: Bearer $TOKEN" \
		"http://$1/gateway/status"
}

t_check "replica a starts" h_replica RA
t_check "replica b starts" h_replica RB
t_check "replica c starts" h_replica RC
t_contains "the listening line names the store, not a directory" \
	"state_store=postgresql:tau_fleet_server_$$/default" "$(cat "$T/RA.out")"
t_eq "no state directory was made" "no" "$([ -e "$T/.tau" ] && echo yes || echo no)"

# --- every replica lists all three -----------------------------------------------------
for r in RA RB RC; do
	addr_var=${r}_ADDR
	ok=1
	for ((i = 0; i < 100; i++)); do # bounded: a replica lists the others after their first heartbeat
		[ "$(fs_status "${!addr_var}")" = 200 ] &&
			[ "$(jq '[.fleet.replicas[] | select(.stale == false)] | length' "$T/status.json")" = 3 ] &&
			{ ok=0; break; }
		sleep 0.05
	done
	t_eq "$r lists three live replicas" 0 "$ok"
	got=$(jq -r '[.fleet.replicas[] | "\(.bind) \(.pid)"] | sort | join(",")' "$T/status.json")
	want=$(printf '%s\n' "$RA_ADDR $RA" "$RB_ADDR $RB" "$RC_ADDR $RC" | sort | paste -sd,)
	t_eq "$r lists each replica's bind and pid" "$want" "$got"
	t_eq "$r: a row has id, host, version, heartbeat age, stale" "true" \
		"$(jq '[.fleet.replicas[] | (.id > 0) and (.host | length > 0) and (.version | length > 0)
			and (.heartbeat_age_ms | type == "number") and (.stale | type == "boolean")] | all' "$T/status.json")"
	t_eq "$r: its own id is in the list" "true" \
		"$(jq '.fleet.replica_id as $me | [.fleet.replicas[].id] | index($me) != null' "$T/status.json")"
	t_eq "$r: state live, service running" "live running default" \
		"$(jq -r '"\(.fleet.state) \(.service.service_status) \(.fleet.deployment)"' "$T/status.json")"
done

# --- requests: stateless served, shared state refused ----------------------------------
ADDR=$RB_ADDR
h_post '{"model":"local/echo","input":"hello fleet","store":false}'
t_eq "store:false is served" "200 completed" "$HS $(h_jq .status)"
h_post '{"model":"local/echo","input":"hello fleet","store":false,"stream":true}'
t_eq "store:false stream is served" 200 "$HS"
t_contains "and ends with response.completed" "response.completed" "$(cat "$T/body")"
h_post '{"model":"local/echo","input":"hello fleet"}'
t_eq "store:true (the default) is served" "200 completed" "$HS $(h_jq .status)"
h_post '{"model":"local/echo","input":"x","store":false,"metadata":{"session_id":"s1"}}'
t_eq "a session is served (shared in the database)" "200 completed" "$HS $(h_jq .status)"
h_post '{"model":"local/echo","input":"x","conversation":"conv_1"}'
t_eq "a conversation is served" "200 completed" "$HS $(h_jq .status)"
h_post '{"model":"local/echo","input":"x","store":false,"previous_response_id":"resp_abc"}'
t_eq "an unknown previous_response_id is 400 (looked up in the database)" \
	"400 previous_response_not_found" "$HS $(h_jq .error.code)"
for m in "GET /v1/responses/resp_abc" "DELETE /v1/responses/resp_abc" "GET /v1/responses/resp_abc/input_items"; do
	h_req ${m% *} "${m#* }"
	t_eq "$m of an unknown id is 404" "404 response_not_found" "$HS $(h_jq .error.code)"
done
h_req GET /healthz
t_eq "/healthz ok" '{"status":"ok"}' "$(cat "$T/body")"

# --- a stop from the command line reaches all three within 1 s -------------------------
"$TAU_BIN" --gateway-state-url "$URL" --gateway-service-stop \
	--gateway-service-stop-reason emergency_rollback >"$T/stop.out" 2>"$T/stop.err"
t_eq "the stop exits 0" 0 "$?"
t0=$(date +%s%N)
for r in RA RB RC; do
	addr_var=${r}_ADDR
	seen=""
	for ((i = 0; i < 200; i++)); do # bounded at ~2 s; the assertion is the 1 s below
		fs_status "${!addr_var}" >/dev/null
		s=$(jq -r '"\(.service.service_status) \(.service.rollout_gate) \(.service.rollout_reason_code) \(.service.service_last_stop_reason)"' \
			"$T/status.json")
		[ "$s" = "stopped hold service_stopped emergency_rollback" ] && { seen=$(( ($(date +%s%N) - t0) / 1000000 )); break; }
		sleep 0.01
	done
	t_eq "$r shows the stop (stopped, hold service_stopped)" "stopped hold service_stopped emergency_rollback" "$s"
	t_check "$r shows it within 1 s of the command's exit (${seen:-never} ms)" \
		test -n "$seen" -a "${seen:-9999}" -lt 1000
done

# --- kill -9 of one replica -------------------------------------------------------------
kill -9 "$RC"
wait "$RC" 2>/dev/null
ADDR=$RA_ADDR
h_post '{"model":"local/echo","input":"still here","store":false}'
t_eq "replica a still serves after c was killed" 200 "$HS"
ADDR=$RB_ADDR
h_post '{"model":"local/echo","input":"still here","store":false}'
t_eq "replica b still serves after c was killed" 200 "$HS"
# age c's heartbeat past the 5 s bound instead of waiting: the registry's
# clock is the database's
pg_sql "$URL" "UPDATE tau_replica SET heartbeat = now() - interval '6 seconds' WHERE pid = $RC" >/dev/null
for r in RA RB; do
	addr_var=${r}_ADDR
	got=""
	for ((i = 0; i < 100; i++)); do # the next heartbeat re-reads the list (1 s)
		fs_status "${!addr_var}" >/dev/null
		got=$(jq -r --argjson p "$RC" '[.fleet.replicas[] | select(.pid == $p) | .stale] | join(",")' "$T/status.json")
		[ "$got" = true ] && break
		sleep 0.05
	done
	t_eq "$r lists the killed replica as stale" true "$got"
	t_eq "$r lists the two others live" 2 \
		"$(jq '[.fleet.replicas[] | select(.stale == false)] | length' "$T/status.json")"
done

# fs_field NAME: one field of the deployment's service status line
fs_field() {
	"$TAU_BIN" --gateway-state-url "$URL" --gateway-service-status |
		tr ' ' '\n' | sed -n "s/^$1=//p"
}

# --- an operator's stop holds a replica that starts meanwhile ---------------------------
# (the stop above, emergency_rollback, is still in force; a and b are live)
attempts=$(fs_field startup_attempts)
rows=$(pg_sql "$URL" "SELECT count(*) FROM tau_replica")
"$TAU_BIN" --gateway-state-url "$URL" --gateway-openresponses-server --gateway-openresponses-bind "$RB_ADDR" \
	--gateway-openresponses-auth-token "$TOKEN" >"$T/busy.out" 2>"$T/busy.err"
t_eq "a server on a bound address exits 69" 69 "$?"
t_contains "it joined the stopped deployment on hold" \
	"is stopped (emergency_rollback): this replica joins it on hold" "$(cat "$T/busy.err")"
t_eq "its start and failure did not undo the operator's stop" "stopped emergency_rollback $attempts" \
	"$(fs_field service_status) $(fs_field last_stop_reason) $(fs_field startup_attempts)"
t_eq "and it left no replica row" "$rows" "$(pg_sql "$URL" "SELECT count(*) FROM tau_replica")"

# --- one replica leaving is not the deployment stopping ---------------------------------
"$TAU_BIN" --gateway-state-url "$URL" --gateway-service-start >/dev/null
t_eq "the operator resumes the deployment" running "$(fs_field service_status)"
h_stop "$RA"
t_eq "SIGTERM: replica a exits 0" 0 "$HRC"
t_eq "its row is gone" 0 "$(pg_sql "$URL" "SELECT count(*) FROM tau_replica WHERE pid = $RA")"
t_eq "b is still live: the deployment stays running" running "$(fs_field service_status)"
t_contains "a says why it left the posture alone" "other replicas of 'default' are live" "$(cat "$T/RA.err")"
# b is now the last live replica (c's row is stale)
h_stop "$RB"
t_eq "SIGTERM: replica b exits 0" 0 "$HRC"
t_eq "the last live replica's stop is recorded" "stopped openresponses_server_shutdown" \
	"$(fs_field service_status) $(fs_field last_stop_reason)"

# --- the last replica's failed start is recorded ----------------------------------------
# a replica's own shutdown does not hold the next one; a port another
# process holds refuses its bind
t_spawn HOLD python3 -c 'import socket, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(1)
print(s.getsockname()[1], flush=True); time.sleep(600)'
t_check "a port is held" t_wait_line "$T/HOLD.out" '^[0-9]+$' 10
rows=$(pg_sql "$URL" "SELECT count(*) FROM tau_replica")
"$TAU_BIN" --gateway-state-url "$URL" --gateway-openresponses-server \
	--gateway-openresponses-bind "127.0.0.1:$(head -n 1 "$T/HOLD.out")" \
	--gateway-openresponses-auth-token "$TOKEN" >"$T/busy2.out" 2>"$T/busy2.err"
t_eq "a lone server on a held port exits 69" 69 "$?"
t_contains "its start-up failure is recorded in the database" "last_stop_reason=startup_failed" \
	"$("$TAU_BIN" --gateway-state-url "$URL" --gateway-service-status)"
t_eq "and it left no replica row" "$rows" "$(pg_sql "$URL" "SELECT count(*) FROM tau_replica")"
t_done
