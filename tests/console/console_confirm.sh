#!/usr/bin/env bash
# Issue 12, the questions: q asks below 40x10 too, and with the server
# running its question says the stop is recorded (defect 4, section 2);
# w's bind prompt offers the last address used, this session and the next
# (defect 14); a corrupt state.json shows STATE CORRUPT with its parse error
# and s asks before moving it aside (defect 12).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/tmux_helpers.bash"

# tc_gone NAME REGEX: ok once REGEX is off the screen (polled, 5 s bound)
tc_gone() {
	local i
	for ((i = 0; i < 100; i++)); do
		tc_screen | grep -Eq -- "$2" || { t_ok "$1"; return; }
		sleep 0.05
	done
	t_fail "$1"
	tc_screen >&2
}
state_field() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["service"][sys.argv[2]])' "$SD/state.json" "$1"; }
"$TAU_BIN" --gateway-state-dir "$SD" --gateway-service-start >/dev/null

# --- defect 14: the bind prompt offers the last address used ---------------------
tc_start --gateway-openresponses-auth-token tok
tc_expect "console up" 'Service RUNNING'
tc_keys w
tc_expect "first w: the default address" '^server bind: 127\.0\.0\.1:8787 *$'
tc_keys C-u
tc_type "127.0.0.1:0"
tc_keys Enter
tc_expect "the server runs" 'Server 127\.0\.0\.1:[0-9]+'
tc_keys w
tc_wait 'record a service stop' 5 || true
tc_keys y
tc_expect "w, y: stopped" 'server stopped'
tc_keys w
tc_expect "w again: the last address used" '^server bind: 127\.0\.0\.1:0 *$'
tc_keys Escape
tc_expect "Esc cancels the bind prompt" 'cancelled'

# --- defect 4 and section 2: q asks at any size, saying the stop is recorded -----
tc_keys w
tc_wait '^server bind: ' 5 || true
tc_keys Enter
tc_expect "running again" 'Server 127\.0\.0\.1:[0-9]+'
tc_tmux resize-window -t tc -x 30 -y 8
tc_expect "30x8: the enlarge line" 'enlarge the terminal'
tc_keys q
tc_expect "30x8: q asks, the question wrapped on the small screen" 'record a servic'
t_match "30x8: the console still runs" 'enlarge the terminal' "$(tc_screen)"
tc_keys Escape
tc_gone "Esc cancels the question" 'record a servic'
t_match "the console still runs" 'enlarge the terminal' "$(tc_screen)"
tc_keys q
tc_wait 'record a servic' 5 || true
tc_keys y
tc_expect "y stops the server and quits" 'CONSOLE_EXIT=0'
t_eq "the stop was recorded" "stopped openresponses_server_shutdown" "$(state_field status) $(state_field last_stop_reason)"

# a later console offers the address the last one used
tc_start --gateway-openresponses-auth-token tok
tc_expect "console up again" 'Service STOPPED'
tc_keys w
tc_expect "a new console: the address last used" '^server bind: 127\.0\.0\.1:0 *$'
tc_keys Escape
tc_wait 'cancelled' 5 || true

# --- defect 12: a corrupt state.json -----------------------------------------------
printf '{"service": {"status": "run' >"$SD/state.json"
tc_expect "STATE CORRUPT" 'Service STATE CORRUPT'
t_match "the parse error is shown" 'state\.json: state file .*state\.json is corrupt' "$(tc_screen)"
t_eq "no RUNNING or PASS on a corrupt state" "" "$(tc_screen | grep -E 'Service RUNNING|Rollout PASS')"
tc_keys s
tc_expect "s asks before recovering" 'state\.json is corrupt: move it aside .* record a start\? \(y/n\)'
tc_keys n
tc_expect "n: nothing moved" 'cancelled: state\.json is left as it is'
t_eq "the file is untouched" '{"service": {"status": "run' "$(cat "$SD/state.json")"
tc_keys s
tc_wait 'move it aside' 5 || true
tc_keys y
tc_expect "y: moved aside, said on the message line" 'moved aside|corrupt-[0-9]+'
tc_expect "and started" 'Service RUNNING'
t_eq "the corrupt file was kept aside" "1" "$(find "$SD" -maxdepth 1 -name 'state.json.corrupt-*' | wc -l)"
tc_keys q
tc_expect "quit" 'CONSOLE_EXIT=0'
t_done
