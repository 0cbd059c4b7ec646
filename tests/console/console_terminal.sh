#!/usr/bin/env bash
# NO_COLOR and TERM=dumb give a readable monochrome layout; the C locale
# gives ASCII boxes and bars, a UTF-8 locale box-drawing characters;
# --console-log keeps the console's log lines.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/tmux_helpers.bash"

"$TAU_BIN" --gateway-contract-runner --gateway-fixture "$FIXTURES/mixed-outcomes.json" --gateway-state-dir "$SD" >/dev/null

TC_ENV="LC_ALL=C NO_COLOR=1" tc_start
tc_expect "NO_COLOR, C locale: layout" 'Service RUNNING .*Rollout HOLD malformed_input_observed'
s=$(tc_screen)
t_match "ASCII rule" '^-- Guardrail ---' "$s"
t_match "ASCII bar" 'Failure streak +={20}\.{20} 1/2' "$s"
t_eq "no colour attributes" "0" "$(tc_tmux capture-pane -p -e -t tc | grep -Ec $'\e\\[(3[0-7]|9[0-7])m|\e\\[[0-9;]*;3[0-7]m')"
t_match "reverse video for the title" $'\e\\[7m' "$(tc_tmux capture-pane -p -e -t tc | head -1)"
tc_keys q
tc_expect "quit" 'CONSOLE_EXIT=0'
tc_stop

if locale -a 2>/dev/null | grep -qiE '^c\.utf-?8$'; then
	TC_ENV="LC_ALL=C.UTF-8" tc_start
	tc_expect "UTF-8 locale: box drawing" $'^\u2500\u2500 Guardrail'
	t_match "UTF-8 bar" $'Failure streak +\u2588+\u2591+ 1/2' "$(tc_screen)"
	t_match "colours in colour mode" $'\e\\[[0-9;]*3[0-7]m' "$(tc_tmux capture-pane -p -e -t tc)"
	tc_keys q
	tc_expect "quit" 'CONSOLE_EXIT=0'
	tc_stop
fi

TC_ENV="TERM=dumb LC_ALL=C" tc_start --console-log "$T/console.log"
tc_expect "TERM=dumb: still a readable layout" 'Service RUNNING .*Rollout HOLD malformed_input_observed'
t_match "TERM=dumb: gauges" 'Retryable failures +=+\.+ 1/2' "$(tc_screen)"
tc_keys s
tc_expect "TERM=dumb: keys work" 'service_status=running'
tc_keys q
tc_expect "TERM=dumb: quit" 'CONSOLE_EXIT=0'
t_contains "--console-log has the result lines" "gateway service status:" "$(cat "$T/console.log")"
t_done
