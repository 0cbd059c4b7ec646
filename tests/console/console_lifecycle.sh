#!/usr/bin/env bash
# s starts the service and S stops it with a reason: state.json and the
# screen both change.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/tmux_helpers.bash"

state_field() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["service"][sys.argv[2]])' "$SD/state.json" "$1"; }

tc_start
tc_expect "console up" 'Service (RUNNING|NO STATE YET)'

tc_keys S
tc_expect "S asks for a reason" 'stop reason'
tc_type "maintenance_window"
tc_keys Enter
tc_expect "screen: stopped with the reason" 'Service STOPPED \(last stop: maintenance_window\) +Rollout HOLD service_stopped'
t_eq "state.json: stopped" "stopped" "$(state_field status)"
t_eq "state.json: stop reason" "maintenance_window" "$(state_field last_stop_reason)"
tc_expect "event list: the lifecycle line" 'lifecycle +stop +maintenance_window'

tc_keys s
tc_expect "screen: running again" 'Service RUNNING \(last stop: maintenance_window\) +Rollout PASS'
t_eq "state.json: running" "running" "$(state_field status)"
t_eq "state.json: startup_attempts" "1" "$(state_field startup_attempts)"
tc_expect "message line: the status line" 'gateway service status: .*service_status=running'

# an empty reason records the default
tc_keys S
tc_expect "S prompt again" 'stop reason'
tc_keys Enter
tc_expect "empty reason: operator_requested" 'last stop: operator_requested'
t_eq "state.json: default reason" "operator_requested" "$(state_field last_stop_reason)"

# Ctrl-G cancels the prompt without stopping
tc_keys s
tc_expect "started" 'Service (RUNNING|NO STATE YET)'
tc_keys S
tc_expect "S prompt" 'stop reason'
tc_type "never"
tc_keys C-g
tc_expect "Ctrl-G cancels" 'cancelled'
t_eq "cancelled stop changed nothing" "running" "$(state_field status)"

tc_keys q
tc_expect "q quits" 'CONSOLE_EXIT=0'
t_done
