#!/usr/bin/env bash
# The console opens on the posture, gate and gauges of the state directory.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/tmux_helpers.bash"

"$TAU_BIN" --gateway-contract-runner --gateway-fixture "$FIXTURES/mixed-outcomes.json" \
	--gateway-state-dir "$SD" >/dev/null
"$TAU_BIN" --gateway-service-stop --gateway-service-stop-reason maintenance_window \
	--gateway-state-dir "$SD" >/dev/null

tc_start
tc_expect "title shows the state dir" "tau-gateway console +state $SD"
s=$(tc_screen)
t_match "posture: stopped with the last stop reason" 'Service STOPPED \(last stop: maintenance_window\)' "$s"
t_match "gate: HOLD with rollout_reason_code" 'Rollout HOLD service_stopped' "$s"
t_match "health state" 'Health degraded' "$s"
t_contains "health reason" "recent transport failures observed (failure_streak=1, last_cycle_failed=1)" "$s"
t_match "failure streak gauge" 'Failure streak +[^ ]{40} 1/2' "$s"
t_match "retryable failures gauge" 'Retryable failures +[^ ]{40} 1/2' "$s"
t_match "queue depth gauge" 'Queue depth +[^ ]{40} 0/64' "$s"
t_match "last cycle counters" 'discovered 3  queued 3  applied 1  duplicates 0  malformed 1  retryable 1  retries 3  failed 1  duration [0-9]+ ms' "$s"
t_match "event tail: cycle line" 'cycle +HOLD +malformed_input_observed' "$s"
t_match "event tail: lifecycle line" 'lifecycle +stop +maintenance_window' "$s"
t_match "function bar" 'F1 Help .*F10 Quit' "$s"
t_match "last update time" 'updated [0-9]{2}:[0-9]{2}:[0-9]{2}' "$s"

# a fresh directory: defaults, nothing created
tc_keys q
tc_expect "quit" 'CONSOLE_EXIT=0'
tc_stop
rm -rf "$SD"
tc_start
# issue 12, defect 12: never written is said, not shown as green RUNNING/PASS
tc_expect "fresh dir: no state yet" 'Service NO STATE YET \(no state.json written\)'
t_eq "fresh dir: no RUNNING, no PASS" "" "$(tc_screen | grep -E 'RUNNING|Rollout PASS')"
t_eq "fresh dir: console created nothing" "no" "$([ -e "$SD/state.json" ] && echo yes || echo no)"
t_done
