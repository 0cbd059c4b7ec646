#!/usr/bin/env bash
# The event filter, the console's own messages and the mouse (issue 12,
# defect 10 and section 3):
# - '/' matches the rows as shown, not hidden JSON keys ("HOLD" is in
#   every cycle's "..._threshold" keys), and highlights the match;
# - n / N select the next / previous matching row, around the ends;
# - console messages (an error here) are not events: the list's count
#   stays, its title counts them, the log view holds them;
# - '/' in the log view filters the log, not the event list;
# - a click selects the event row under it, the wheel scrolls; the
#   console asks the terminal for mouse reports, and --no-mouse does not.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/tmux_helpers.bash"

for f in rollout-pass mixed-outcomes rollout-pass; do
	"$TAU_BIN" --gateway-contract-runner --gateway-fixture "$FIXTURES/$f.json" --gateway-state-dir "$SD" >/dev/null
done
t_eq "every cycle line holds a *_threshold key" "3" "$(grep -c '_threshold' "$SD/runtime-events.jsonl")"

# an X10 mouse report: button code, 0-based column and row
mouse() { tc_type "$(printf '\e[M%b%b%b' "\\$(printf '%03o' $((32 + $1)))" \
	"\\$(printf '%03o' $((33 + $2)))" "\\$(printf '%03o' $((33 + $3)))")"; }
# the 0-based screen row of the first line matching REGEX
row_of() { tc_screen | grep -nE -- "$1" | head -1 | cut -d: -f1 | awk '{ print $1 - 1 }'; }
filter() { tc_keys /; tc_wait '^filter:' 5 || true; tc_keys C-u; [ -n "$1" ] && tc_type "$1"; tc_keys Enter; }
detail_has() { tc_keys Enter; tc_expect "$1" "$2"; tc_keys Escape; tc_wait 'Events' 5 || true; }

tc_start
tc_expect "all events listed" 'Events 3 +following'
t_eq "the terminal was asked for mouse reports" "1" "$(tc_tmux display -p -t tc '#{mouse_standard_flag}')"

filter HOLD
tc_expect "/HOLD: the one row showing HOLD, not every cycle" "Events 1 matching 'HOLD' \\(of 3\\)"
t_contains "the match is highlighted (reverse video)" $'7mHOLD' "$(tc_tmux capture-pane -e -p -t tc)"

filter cycle
tc_expect "/cycle: the three cycle rows" "Events 3 matching 'cycle'"
tc_keys n
tc_expect "n leaves following for the first match" 'Events 3 .*j/k scroll'
detail_has "n: the first cycle (pass)" 'guardrail_checks_passing'
tc_keys n
detail_has "n: the second cycle (hold)" '"rollout_reason_code": "malformed_input_observed"'
tc_keys N N
detail_has "N N: around the start to the last cycle (pass)" 'guardrail_checks_passing'
tc_keys N
detail_has "N: the second cycle again" '"rollout_reason_code": "malformed_input_observed"'
filter ""
tc_expect "empty filter clears" 'Events 3 +following'

# the console's own messages are not events
tc_keys :
tc_wait '^:' 5 || true
tc_type "status"
tc_keys Enter
tc_wait 'gateway service status' 5 || true
tc_keys Escape :
tc_wait '^:' 5 || true
tc_type "bogus"
tc_keys Enter
tc_expect "an error on the message line" "unknown command 'bogus'"
tc_expect "the event count stays; the title counts console messages" 'Events 3 +following +console messages 2'

# '/' in the log view filters the log
tc_keys L
tc_expect "log view" 'Console log'
t_contains "the log holds the status reply" 'gateway service status' "$(tc_screen)"
tc_keys /
tc_expect "'/' in the log view asks for a log filter" '^log filter:'
tc_type "bogus"
tc_keys Enter
tc_expect "the log filtered" "Console log matching 'bogus'"
tc_expect "the error line stays" "error: unknown command 'bogus'"
t_eq "the status reply is filtered out" "0" "$(tc_screen | grep -c 'gateway service status')"
tc_keys Escape
tc_expect "the event list is not filtered" 'Events 3 +following'

# mouse: a click on the HOLD row selects it; the wheel moves down
y=$(row_of ' cycle +HOLD')
mouse 0 5 "$y"
mouse 3 5 "$y"
tc_expect "a click selects the row under it" 'Events 3 +j/k scroll'
detail_has "the clicked row is the HOLD cycle" '"rollout_reason_code": "malformed_input_observed"'
mouse 65 5 "$y"
tc_wait 'Events 3 +(following|j/k)' 5 || true
detail_has "the wheel scrolled down (to the last cycle)" 'duplicate_cases_skipped'
tc_keys q
tc_expect "q quits" 'CONSOLE_EXIT=0'

# --no-mouse: the terminal keeps the mouse
tc_start --no-mouse
tc_expect "console up with --no-mouse" 'Events 3 +following'
t_eq "--no-mouse: no mouse reports asked for" "0" "$(tc_tmux display -p -t tc '#{mouse_standard_flag}')"
tc_keys q
tc_expect "q quits" 'CONSOLE_EXIT=0'
t_done
