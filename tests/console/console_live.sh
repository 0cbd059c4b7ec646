#!/usr/bin/env bash
# Changes made by other processes (the runbook's commands) show up on
# their own, within 2 s.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/tmux_helpers.bash"

tc_start
tc_expect "console up" 'Service (RUNNING|NO STATE YET)'

"$TAU_BIN" --gateway-service-stop --gateway-service-stop-reason other_shell --gateway-state-dir "$SD" >/dev/null
tc_expect "a stop from another shell appears within 2 s" 'Service STOPPED \(last stop: other_shell\)' 2
tc_expect "its event appears too" 'lifecycle +stop +other_shell' 2

"$TAU_BIN" --gateway-contract-runner --gateway-fixture "$FIXTURES/mixed-outcomes.json" --gateway-state-dir "$SD" >/dev/null
tc_expect "a run from another shell appears within 2 s" 'cycle +HOLD +malformed_input_observed' 2
tc_expect "its counters appear" 'discovered 3  queued 3  applied 1' 2
tc_expect "and the gauges" 'Failure streak +[^ ]+ 1/2' 2

"$TAU_BIN" --gateway-service-start --gateway-state-dir "$SD" >/dev/null
tc_expect "a start from another shell appears within 2 s" 'Service RUNNING .*Rollout HOLD malformed_input_observed' 2

# the state directory replaced under the console (watch lost): the stat
# tick takes over
mv "$SD" "$T/old"
mkdir "$SD"
"$TAU_BIN" --gateway-service-stop --gateway-service-stop-reason after_move --gateway-state-dir "$SD" >/dev/null
tc_expect "a recreated state dir is picked up" 'last stop: after_move' 3

tc_keys q
tc_expect "q quits" 'CONSOLE_EXIT=0'
t_done
