#!/usr/bin/env bash
# '/' filters the event list; j/k/g/G move the selection; Enter shows the
# selected event's full JSON.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/tmux_helpers.bash"

"$TAU_BIN" --gateway-contract-runner --gateway-fixture "$FIXTURES/mixed-outcomes.json" --gateway-state-dir "$SD" >/dev/null
for r in alpha_window beta_window gamma_window; do
	"$TAU_BIN" --gateway-service-stop --gateway-service-stop-reason "$r" --gateway-state-dir "$SD" >/dev/null
	"$TAU_BIN" --gateway-service-start --gateway-state-dir "$SD" >/dev/null
done

tc_start
tc_expect "all events listed" 'Events 7 '

tc_keys /
tc_expect "/ opens the filter prompt" '^filter:'
tc_type "beta"
tc_keys Enter
tc_expect "filter applied" "Events 1 matching 'beta' \\(of 7\\)"
s=$(tc_screen)
t_match "the matching line stays" 'lifecycle +stop +beta_window' "$s"
t_eq "other lines hidden" "0" "$(printf '%s\n' "$s" | sed -n '/Events 1/,$p' | grep -Ec 'alpha_window|gamma_window|cycle +HOLD')"

tc_keys /
tc_keys C-u
tc_type "MALFORMED"
tc_keys Enter
tc_expect "case-insensitive filter on reason codes" "Events 1 matching 'MALFORMED'"

tc_keys /
tc_keys C-u Enter
tc_expect "empty filter clears" 'Events 7 +following'

# selection: g goes to the oldest, Enter shows its JSON
tc_keys g
tc_expect "g leaves follow mode" 'Events 7 +j/k scroll'
tc_keys Enter
tc_expect "Enter shows the full JSON" '"rollout_reason_code": "malformed_input_observed"'
t_contains "pretty-printed fields" '"discovered_cases":' "$(tc_screen)"
tc_keys Escape
tc_keys j Enter
tc_expect "j selects the next event" '"reason": "alpha_window"'
tc_keys Escape
tc_keys G
tc_expect "G follows again" 'Events 7 +following'

tc_keys q
tc_expect "q quits" 'CONSOLE_EXIT=0'
t_done
