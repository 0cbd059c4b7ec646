#!/usr/bin/env bash
# The ':' prompt: words and full runbook flag lines go through the CLI
# parser; invalid lines show an error and the console keeps running;
# completion and history work.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/tmux_helpers.bash"

state_field() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["service"][sys.argv[2]])' "$SD/state.json" "$1"; }
cp "$FIXTURES/mixed-outcomes.json" "$T/"

prompt() {
	tc_keys :
	tc_wait '^:' 5 || true
	tc_type "$1"
	tc_keys Enter
}

tc_start
tc_expect "console up" 'Service (RUNNING|NO STATE YET)'

prompt "stop drain window"
tc_expect "word: stop with a multi-word reason" 'last stop: drain window'
t_eq "state.json: reason" "drain window" "$(state_field last_stop_reason)"

prompt "start"
tc_expect "word: start" 'Service RUNNING \(last stop: drain window\)'

prompt "status"
tc_expect "word: status" 'gateway service status: state_path=.*service_status=running'

prompt "run $T/mixed-outcomes.json"
tc_expect "word: run" 'Rollout HOLD malformed_input_observed'

prompt "health"
tc_expect "word: health" 'transport health inspect: transport=gateway'

prompt "inspect ops-bot"
tc_expect "word: inspect <actor>" 'channel store inspect: .*ops-bot'

prompt "--gateway-service-stop --gateway-service-stop-reason maintenance_window"
tc_expect "flag line: stop" 'Service STOPPED \(last stop: maintenance_window\)'
t_eq "flag line: state.json" "maintenance_window" "$(state_field last_stop_reason)"

prompt "--gateway-service-status --gateway-service-status-json"
tc_expect "flag line with multi-line output opens the detail view" '"rollout_reason_code": "service_stopped"'
tc_keys Escape
tc_wait 'Service STOPPED' 5

prompt "bogus words here"
tc_expect "invalid word: error on the message line" "unknown command 'bogus'"
prompt "--gateway-queue-limit 0 --gateway-contract-runner"
tc_expect "invalid flag value: the CLI's own message" "invalid value '0' for '--gateway-queue-limit <N>'"
prompt "--gateway-service-stop --gateway-service-start"
tc_expect "conflicting actions: the CLI's own message" "cannot be used with"
prompt "inspect"
tc_expect "missing argument" 'usage: inspect <actor>'
prompt "start"
tc_expect "still running after errors" 'Service (RUNNING|NO STATE YET)'

prompt "help"
tc_expect "word: help opens the help" 'Prompt words'
tc_keys Escape

# completion of words and flags
tc_keys :
tc_type "sta"
tc_keys Tab
tc_expect "Tab lists the matching words" 'start +status'
tc_keys C-u
tc_type "--gateway-service-stop-r"
tc_keys Tab
tc_expect "Tab completes a flag" ':--gateway-service-stop-reason'
tc_keys C-c
tc_expect "Ctrl-C cancels the prompt" 'cancelled'

# history: persisted, and Up recalls it
hist="$T/xdg/tau-gateway/history"
t_contains "history file keeps the lines" "--gateway-service-stop --gateway-service-stop-reason maintenance_window" "$(cat "$hist" 2>/dev/null)"
tc_keys :
tc_keys Up
tc_expect "Up recalls the last line" '^:help'
tc_keys C-c

prompt "quit"
tc_expect "word: quit" 'CONSOLE_EXIT=0'
t_done
