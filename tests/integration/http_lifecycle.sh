#!/usr/bin/env bash
# Server lifecycle: service start recorded before the listening line, the
# line's format, a bind failure (exit 69, startup_failure_streak and
# last_startup_error recorded), graceful SIGTERM and SIGINT with a stream
# open (terminal event, [DONE], stop reason openresponses_server_shutdown),
# and a client disconnect mid-stream cancelling the upstream transfer.
# backends: files pg
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib/http.sh"

h_stub
export OPENAI_API_KEY=sk-x
h_gateway GW --model openai/m --provider-base-url "$STUB_URL"
out=$(cat "$T/GW.out")
t_match "service start line first" '^gateway service status: state_path=.*service_status=running' "$(head -1 <<<"$out")"
# (the place: state_dir=DIR, or state_store=postgresql:<db>/<deployment>)
t_match "listening line" "^gateway openresponses server listening: endpoint=/v1/responses addr=127\.0\.0\.1:[1-9][0-9]* state_(dir|store)=<state>\$" "$(sed -n 2p <<<"$out" | t_state_norm "$T/state")"
t_eq "start recorded" running "$(t_posture_jq "$T/state" .service.status)"
attempts=$(t_posture_jq "$T/state" .service.startup_attempts)

# disconnect mid-stream: the upstream transfer is cancelled
t_spawn CL curl -s -N -H "Authorization: Bearer $TOKEN" -d '{"input":"[stub:hang] x","stream":true}' "http://$ADDR/v1/responses"
t_check "stream started" t_wait_line "$T/CL.out" '^event: response.in_progress' 10
t_check "stream open" h_wait_metric tau_gateway_active_streams 1
kill "$CL"
t_check "disconnect cancels the upstream" h_wait_metric tau_gateway_upstream_cancelled_total 1
t_check "stream closed" h_wait_metric tau_gateway_active_streams 0
t_contains "cancel logged" "cancelled" "$(cat "$T/GW.err")"

# bind failure on the same address: exit 69, recorded
"$TAU_BIN" $(t_state_args "$T/state") --gateway-openresponses-server --gateway-openresponses-bind "$ADDR" \
	--gateway-openresponses-auth-token x >"$T/bind.out" 2>"$T/bind.err"
t_eq "bind failure exits 69" 69 "$?"
t_contains "bind failure message" "failed to bind gateway openresponses server on $ADDR" "$(cat "$T/bind.err")"
if t_on_pg; then
	# one posture for the fleet: a replica that fails to start while
	# another is live leaves the shared service block as it is
	t_contains "pg: the failure leaves the live fleet's posture" \
		"other replicas of '$(t_state_dep "$T/state")' are live: its posture stays as it is" "$(cat "$T/bind.err")"
	t_eq "pg: no failure streak on a live fleet" "0 running" \
		"$(t_posture_jq "$T/state" '"\(.service.startup_failure_streak) \(.service.status)"')"
else
	t_eq "failure streak recorded" 1 "$(t_posture_jq "$T/state" .service.startup_failure_streak)"
	t_contains "last_startup_error recorded" "failed to bind" "$(t_posture_jq "$T/state" .service.last_startup_error)"
fi
t_eq "attempt counted" $((attempts + 1)) "$(t_posture_jq "$T/state" .service.startup_attempts)"

# SIGTERM with a stream open: terminal event, [DONE], clean exit, stop recorded
t_spawn CL2 curl -s -N -H "Authorization: Bearer $TOKEN" -d '{"input":"[stub:hang] y","stream":true}' "http://$ADDR/v1/responses"
t_check "SIGTERM: stream started" t_wait_line "$T/CL2.out" '^event: response.in_progress' 10
h_stop "$GW"
t_eq "SIGTERM: exit 0" 0 "$HRC"
wait "$CL2"
t_eq "SIGTERM: stream got response.failed" 1 "$(grep -c '^event: response.failed' "$T/CL2.out")"
t_eq "SIGTERM: shutdown code" server_shutdown "$(grep '^data: {"type":"response.failed"' "$T/CL2.out" | cut -c7- | jq -r .response.error.code)"
t_eq "SIGTERM: [DONE] last" "data: [DONE]" "$(grep -v '^$' "$T/CL2.out" | tail -1)"
t_eq "SIGTERM: stopped" stopped "$(t_posture_jq "$T/state" .service.status)"
t_eq "SIGTERM: reason" openresponses_server_shutdown "$(t_posture_jq "$T/state" .service.last_stop_reason)"
t_match "SIGTERM: stop line printed" 'service_status=stopped .*last_stop_reason=openresponses_server_shutdown' "$(tail -1 "$T/GW.out")"

# SIGINT behaves the same
h_gateway GW2 --gateway-state-dir "$T/s2"
kill -INT "$GW2"
wait "$GW2"
t_eq "SIGINT: exit 0" 0 "$?"
t_eq "SIGINT: reason" openresponses_server_shutdown "$(t_posture_jq "$T/s2" .service.last_stop_reason)"

# IPv6 loopback, when the host has it
if python3 -c 'import socket; s=socket.socket(socket.AF_INET6); s.bind(("::1",0))' 2>/dev/null; then
	t_spawn GW3 "$TAU_BIN" $(t_state_args "$T/s3") --gateway-openresponses-server \
		--gateway-openresponses-bind '[::1]:0' --gateway-openresponses-auth-token "$TOKEN"
	t_check "IPv6 bind" t_wait_line "$T/GW3.out" 'listening: .*addr=\[::1\]:[0-9]+ ' 10
	a6=$(sed -n 's/.*addr=\(\[::1\]:[0-9]*\) .*/\1/p' "$T/GW3.out")
	t_eq "IPv6 healthz" '{"status":"ok"}' "$(curl -s "http://$a6/healthz")"
	h_stop "$GW3"
fi
t_done
