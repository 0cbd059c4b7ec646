#!/usr/bin/env bash
# A server whose HTTP daemon cannot start after its bind succeeded records
# the start-up failure exactly as a failed bind does: exit 69, the error on
# stderr, the posture (state.json) stopped with startup_failure_streak and
# last_startup_error, a startup_failed event, and the same
# --gateway-service-status report (text and JSON) up to the message,
# the paths and the times.
#
# The daemon is made to fail by running out of descriptors, no test hook:
# under a descriptor limit (ulimit -n 128) that the connection cap fits
# (the server refuses a cap that does not, before its bind), the process
# inherits descriptors that leave it one free more at a time, and the
# first run that gets past its bind is the one checked.  The bind's socket
# takes the last free descriptor there, so the event loops' epoll and
# eventfd cannot be created.  Scanning instead of fixing N keeps the test
# independent of the descriptors a harness or a sanitizer runtime holds.
# backends: files pg
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib/http.sh"

# blank_vars: status lines on stdin with the variable parts blanked
blank_vars() {
	sed -E -e 's/state_path=[^ ]* /state_path=P /' -e 's/_unix_ms=[0-9]+/_unix_ms=N/g' \
		-e 's/last_startup_error=.* last_started/last_startup_error=E last_started/'
}
# status_shape DIR: the text status with the variable parts blanked
status_shape() {
	"$TAU_BIN" $(t_state_args "$1") --gateway-service-status | blank_vars
}
# the state.json service block without the error and the times
service_shape='.service | del(.last_startup_error, .last_started_unix_ms, .last_stopped_unix_ms, .last_transition_unix_ms)'
# status_json_shape DIR: the JSON status without its variable members
status_json_shape() {
	"$TAU_BIN" $(t_state_args "$1") --gateway-service-status --gateway-service-status-json |
		jq -S -c 'del(.state_path, .service_last_startup_error, .service_last_started_unix_ms,
			.service_last_stopped_unix_ms, .service_last_transition_unix_ms)'
}

# --- the reference: a bind failure on an address in use -------------------------------------
h_gateway GW --gateway-state-dir "$T/running"
"$TAU_BIN" $(t_state_args "$T/bind") --gateway-openresponses-server \
	--gateway-openresponses-bind "$ADDR" --gateway-openresponses-auth-token start-failure-token >"$T/bind.out" 2>"$T/bind.err"
t_eq "bind failure: exit 69" 69 "$?"
bind_error=$(t_posture_jq "$T/bind" .service.last_startup_error)
t_eq "bind failure: the recorded error is the one on stderr" "tau-gateway: $bind_error" "$(cat "$T/bind.err")"
t_contains "bind failure: message" "failed to bind gateway openresponses server on $ADDR: " "$bind_error"
h_stop "$GW"

# --- the daemon fails after the bind ---------------------------------------------------------
found=""
for ((n = 125; n >= 0; n--)); do
	t_state_reset "$T/daemon"
	# n descriptors held open across the exec, the limit 128 for all
	timeout 20 bash -c 'ulimit -n 128 && for ((i = 0; i < $1; i++)); do exec {fd}</dev/null || exit 71; done &&
		shift && exec "$@"' _ "$n" \
		"$TAU_BIN" $(t_state_args "$T/daemon") --gateway-openresponses-server \
		--gateway-openresponses-bind 127.0.0.1:0 --gateway-openresponses-auth-token start-failure-token \
		--gateway-openresponses-max-connections 1 \
		>"$T/daemon.out" 2>"$T/daemon.err" </dev/null
	rc=$?
	# runs that fail before the bind succeeds (the state cannot be read,
	# the socket cannot be made) do not test anything here
	if ! grep -q 'service_status=running' "$T/daemon.out" || grep -q 'failed to bind' "$T/daemon.err"; then
		continue
	fi
	found=$n
	break
done
echo "# descriptors held: ${found:-none found}"
if [ -z "$found" ]; then
	t_fail "no descriptor limit lets the bind succeed: $(tail -2 "$T/daemon.err")"
	t_done
	exit
fi
t_eq "daemon failure: not listening" 0 "$(grep -c 'listening' "$T/daemon.out")"
t_eq "daemon failure: exit 69, as for a failed bind" 69 "$rc"
# the error on stderr (libmicrohttpd's own log lines aside, and the expiry
# sweep's warnings: it is starved of descriptors too)
daemon_error=$(grep -v -e '^tau-gateway: libmicrohttpd: ' -e '^tau-gateway: [a-z ]* sweep: ' \
	"$T/daemon.err" | sed 's/^tau-gateway: //')
t_match "daemon failure: message" \
	'^failed to start gateway openresponses server on 127\.0\.0\.1:[1-9][0-9]*: Too many open files$' "$daemon_error"
t_eq "daemon failure: the error on stderr is recorded" "$daemon_error" \
	"$(t_posture_jq "$T/daemon" .service.last_startup_error)"
t_eq "daemon failure: state stopped" stopped "$(t_posture_jq "$T/daemon" .service.status)"
t_eq "daemon failure: failure streak" 1 "$(t_posture_jq "$T/daemon" .service.startup_failure_streak)"
t_eq "daemon failure: stop reason" startup_failed "$(t_posture_jq "$T/daemon" .service.last_stop_reason)"

# --- recorded and reported exactly alike -----------------------------------------------------
t_eq "same state.json service block (but the error and the times)" \
	"$(t_posture "$T/bind" | jq -S -c "$service_shape")" "$(t_posture "$T/daemon" | jq -S -c "$service_shape")"
t_eq "same lines on stdout (but the paths and times)" \
	"$(blank_vars <"$T/bind.out")" "$(blank_vars <"$T/daemon.out")"
event_shape='select(.kind == "lifecycle") | del(.timestamp_unix_ms, .reason) | tojson'
t_eq "same lifecycle events (but the times and the error)" \
	"$(t_events "$T/bind" | jq -r "$event_shape")" \
	"$(t_events "$T/daemon" | jq -r "$event_shape")"
t_eq "daemon failure: the event carries the error" "$daemon_error" \
	"$(t_events "$T/daemon" | jq -r 'select(.kind == "lifecycle") | .reason' | tail -1)"
want=$(status_shape "$T/bind")
t_match "--gateway-service-status after a bind failure" \
	'service_status=stopped .*startup_failure_streak=1 last_startup_error=E .*last_stop_reason=startup_failed' "$want"
t_eq "--gateway-service-status: the same report after a daemon failure" "$want" "$(status_shape "$T/daemon")"
t_contains "--gateway-service-status names the daemon failure" \
	"last_startup_error=$daemon_error last_started_unix_ms=" \
	"$("$TAU_BIN" $(t_state_args "$T/daemon") --gateway-service-status)"
t_eq "--gateway-service-status-json: the same report" "$(status_json_shape "$T/bind")" \
	"$(status_json_shape "$T/daemon")"
t_eq "--gateway-service-status-json: the recorded error" "$daemon_error" \
	"$("$TAU_BIN" $(t_state_args "$T/daemon") --gateway-service-status --gateway-service-status-json |
		jq -r .service_last_startup_error)"
t_done
