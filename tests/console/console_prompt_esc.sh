#!/usr/bin/env bash
# Issue 12, the prompts: Esc cancels every prompt at once while Esc with a
# key behind it is still readline's Meta prefix (defect 1); an all-blank
# stop reason is refused as the flag refuses it (defect 11); S on a stopped
# service and s on a running one say so and record nothing (defect 15);
# Tab completes actor ids for inspect (section 3).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/tmux_helpers.bash"

state_field() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["service"][sys.argv[2]])' "$SD/state.json" "$1"; }
lifecycle_lines() { grep -c '"kind":"lifecycle"' "$SD/runtime-events.jsonl"; }
"$TAU_BIN" --gateway-state-dir "$SD" --gateway-service-start >/dev/null
"$TAU_BIN" --gateway-state-dir "$SD" --gateway-contract-runner --gateway-fixture "$FIXTURES/mixed-outcomes.json" >/dev/null

tc_start
tc_expect "console up" 'Service RUNNING'

# --- defect 1: S, Esc, x leaves no prompt open and loses nothing ---------------
tc_keys S
tc_expect "S opens the reason prompt" '^stop reason'
tc_keys Escape
tc_expect "Esc cancels the reason prompt at once" 'cancelled'
t_eq "no prompt left open" "" "$(tc_screen | grep -E '^stop reason')"
tc_keys x Enter Enter
tc_keys Escape
tc_wait 'Service RUNNING' 5
t_eq "S Esc then Enter Enter records no stop" "running" "$(state_field status)"
for k in : r; do
	tc_keys "$k"
	tc_wait '^(:|fixture: )' 5 || true
	tc_keys Escape
	tc_expect "Esc cancels the '$k' prompt" 'cancelled'
	t_eq "'$k' prompt closed" "" "$(tc_screen | grep -E '^(:|fixture: )')"
done
# Esc and a key at once (a terminal's Alt-b) is still Meta: M-b goes back a word
tc_keys :
tc_wait '^:' 5 || true
tc_type "stop meta word"
tc_keys M-b
tc_type "X"
tc_expect "M-b (Esc b) is readline's backward-word" '^:stop meta Xword *$'
tc_keys C-a C-k
tc_type "status"
tc_keys Enter
tc_expect "the prompt still runs a line" 'gateway service status: '
tc_keys Escape # its reply opened as a table: closed

# --- defect 11: a blank reason is refused, as on the command line -------------
before=$(lifecycle_lines)
tc_keys S
tc_wait '^stop reason' 5 || true
tc_type "    "
tc_keys Enter
tc_expect "an all-blank reason is refused with the flag's message" \
	'--gateway-service-stop-reason cannot be empty or whitespace'
t_eq "nothing recorded" "running $before" "$(state_field status) $(lifecycle_lines)"

# --- defect 15: repeated stops and starts -----------------------------------------
tc_keys S
tc_wait '^stop reason' 5 || true
tc_type "emergency_rollback"
tc_keys Enter
tc_expect "S stops" 'last stop: emergency_rollback'
before=$(lifecycle_lines)
tc_keys S
tc_wait '^stop reason' 5 || true
tc_type "operator_requested"
tc_keys Enter
tc_expect "S on a stopped service says so" 'already stopped \(reason emergency_rollback\); nothing recorded'
t_eq "the incident's reason is kept" "emergency_rollback" "$(state_field last_stop_reason)"
t_eq "no lifecycle line added" "$before" "$(lifecycle_lines)"
tc_keys s
tc_expect "s starts" 'Service RUNNING \(last stop: emergency_rollback\)'
attempts=$(state_field startup_attempts)
before=$(lifecycle_lines)
tc_keys s
tc_expect "s on a running service says so" 'already running; nothing recorded'
t_eq "no start counted" "$attempts $before" "$(state_field startup_attempts) $(lifecycle_lines)"

# --- section 3: Tab completes actor ids for inspect ------------------------------
tc_keys :
tc_wait '^:' 5 || true
tc_type "inspect ops-"
tc_keys Tab
tc_expect "Tab completes the actor id from the state" '^:inspect ops-bot *$'
tc_keys Enter
tc_expect "and the completed line runs" 'channel store inspect: .*ops-bot'
tc_keys Escape # its reply opened as a table: closed

tc_keys q
tc_expect "quit" 'CONSOLE_EXIT=0'
t_done
