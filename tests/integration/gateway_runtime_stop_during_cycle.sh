#!/usr/bin/env bash
# gateway_runtime_stop_during_cycle: an emergency stop issued while a runner
# cycle sleeps through a long retry backoff is recorded at once (the runner
# never holds the state lock across a sleep or an evaluation), and the cycle
# notices it, ends early, applies nothing and records service_stopped.  A
# cycle started on an already stopped service still runs (the reference's
# runner ignores the lifecycle), and after a start the same fixture applies.
# On PostgreSQL the same: the runner sleeps with no transaction open, and
# the stop updates the posture row at once.
# backends: files pg
# shellcheck disable=SC2046 # $(t_state_args DIR): its flags, one a line, no blanks
. "${TAU_SOURCE_DIR:-$(dirname "$0")/../..}/tests/lib.sh"
. "$TAU_SOURCE_DIR/tests/integration/lib/backend.sh"

S=$T/state
F=$FIXTURES/mixed-outcomes.json  # one success, one malformed, one retryable case
ms_since() { echo $((($(date +%s%N) - $1) / 1000000)); }

# wait_until SECS CMD...: polls CMD every 50 ms for at most SECS seconds
wait_until() {
	local secs=$1 i
	shift
	for ((i = 0; i < secs * 20; i++)); do
		"$@" && return 0
		sleep 0.05
	done
	return 1
}
# The runner is asleep in its backoff: the only sleep of a cycle whose lock
# nobody else holds.  wchan names the kernel function (clock_nanosleep's
# syscall number is the fallback where wchan is hidden: 230 x86-64, 115 arm64).
in_backoff() {
	local w s
	w=$(cat "/proc/$1/wchan" 2>/dev/null) || return 1
	[[ $w == *nanosleep* ]] && return 0
	s=$(cut -d' ' -f1 "/proc/$1/syscall" 2>/dev/null)
	[[ $s == 230 || $s == 115 ]]
}
gone() { ! kill -0 "$1" 2>/dev/null; }

"$TAU_BIN" $(t_state_args "$S") --gateway-service-start >/dev/null
t_spawn RUN "$TAU_BIN" --gateway-contract-runner --gateway-fixture "$F" $(t_state_args "$S") \
	--gateway-retry-base-delay-ms 60000
run_start=$(date +%s%N)
t_check "runner reached its retry backoff (60 s, then 120 s, 240 s)" wait_until 20 in_backoff "$RUN"

# The issue asks for 1 s.  The bound here is 3 s so that a loaded 2-core
# machine or a sanitizer build (process start-up alone is ~100 ms under
# ASan) cannot flake it, while the old runner held the lock through the
# whole backoff: its stop waited 60 s and more, so `timeout 10` kills it.
t0=$(date +%s%N)
timeout 10 "$TAU_BIN" $(t_state_args "$S") --gateway-service-stop \
	--gateway-service-stop-reason emergency_rollback >"$T/stop.out" 2>"$T/stop.err"
rc=$?
stop_ms=$(ms_since "$t0")
t_eq "stop: exit 0" "0" "$rc"
t_check "stop: returned within 3000 ms during the cycle (took $stop_ms ms)" test "$stop_ms" -lt 3000
t_contains "stop: recorded with its reason" "service_status=stopped rollout_gate=hold rollout_reason_code=service_stopped" "$(cat "$T/stop.out")"
t_contains "stop: reason emergency_rollback" " last_stop_reason=emergency_rollback " "$(cat "$T/stop.out")"

if wait_until 5 gone "$RUN"; then
	t_ok "runner: the cycle ended early (within 5 s of the stop, not after its backoff)"
	wait "$RUN"
	rc=$?
else
	t_fail "runner: the cycle ended early (within 5 s of the stop, not after its backoff)"
	kill "$RUN"
	rc=killed
fi
t_eq "runner: exit 0 (the cycle ran; the gate holds)" "0" "$rc"
t_check "runner: whole run took well under the first backoff ($(ms_since "$run_start") ms)" test "$(ms_since "$run_start")" -lt 30000
t_eq "runner: says the stop ended it" "tau-gateway: warning: the service was stopped during the cycle (reason emergency_rollback); the cycle ended early and applied no case" "$(cat "$T/RUN.err")"
t_eq "runner: summary counts nothing applied" "gateway runner summary: discovered=3 queued=3 applied=0 duplicate_skips=0 malformed=0 retryable_failures=0 retries=0 failed=0 upserted_requests=0" "$(sed -n 1p "$T/RUN.out")"
last=$(t_events "$S" | tail -n 1)
t_contains "event: a cycle line" '"kind":"cycle"' "$last"
t_contains "event: reason code service_stopped" '"reason_codes":["service_stopped"],' "$last"
t_contains "event: nothing applied, all pending" '"applied_cases":0,"duplicate_skips":0,"malformed_cases":0,"retryable_failures":0,"retry_attempts":0,"failed_cases":0,"upserted_requests":0,"backlog_cases":3,' "$last"
t_eq "state: no case applied, still stopped by the emergency stop" '0 0 stopped emergency_rollback' "$(python3 -c '
import json, sys
d = json.loads(sys.argv[1])
r = json.loads(sys.argv[2])
print(len(r["processed_case_keys"]), len(r["requests"]), d["service"]["status"], d["service"]["last_stop_reason"])' "$(t_posture "$S")" "$(t_records "$S")")"
t_eq "channel store: nothing written" "" "$(t_chan_list "$S")"
t_files_only "the lock file" &&
	t_eq "lock file: emptied by its last holder" "" "$(cat "$S/.lock")"

# A cycle started on a stopped service runs (no stop lands during it).
"$TAU_BIN" --gateway-contract-runner --gateway-fixture "$F" $(t_state_args "$S") >"$T/out" 2>"$T/err"
t_eq "stopped service: a new cycle runs" "0 gateway runner summary: discovered=3 queued=3 applied=1 duplicate_skips=0 malformed=1 retryable_failures=1 retries=3 failed=1 upserted_requests=3" "$? $(sed -n 1p "$T/out")"
t_eq "stopped service: no stop warning" "" "$(cat "$T/err")"

t_done
