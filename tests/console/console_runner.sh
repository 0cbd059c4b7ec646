#!/usr/bin/env bash
# r runs a fixture on the worker thread: rollout-pass gives PASS,
# mixed-outcomes HOLD with its reason; the path prompt completes file
# names; the state lock prevents a second run.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/tmux_helpers.bash"

cp "$FIXTURES/rollout-pass.json" "$FIXTURES/mixed-outcomes.json" "$T/"
TC_ENV="TAU_GATEWAY_QUEUE_LIMIT=100000" tc_start
tc_expect "console up" 'Service (RUNNING|NO STATE YET)'

tc_keys r
tc_expect "r asks for a fixture" 'fixture:'
tc_keys C-u
tc_type "$T/rollout-p"
tc_keys Tab
tc_expect "Tab completes the file name" "fixture: .*rollout-pass\\.json"
tc_keys Enter
tc_expect "rollout-pass: PASS" 'Rollout PASS guardrail_checks_passing'
tc_expect "rollout-pass: the run result" 'run .*rollout-pass.json: rollout PASS guardrail_checks_passing'
tc_expect "rollout-pass: the cycle event" 'cycle +PASS +guardrail_checks_passing'

tc_keys r
tc_expect "r again: default is the last fixture" "fixture: .*rollout-pass\\.json"
tc_keys C-u
tc_type "$T/mixed-outcomes.json"
tc_keys Enter
tc_expect "mixed-outcomes: HOLD with the reason" 'Rollout HOLD malformed_input_observed'
tc_expect "mixed-outcomes: last cycle counters" 'discovered 3  queued 3  applied 1  duplicates 0  malformed 1'
t_match "state.json: gate hold" '"gate": "hold"' "$(cat "$SD/state.json")"

# a long run: progress shows, the screen stays responsive, a second run is refused
python3 "$TAU_SOURCE_DIR/bench/gen_fixture.py" 100000 "$T/big.json" --actors 16 --name big-run
tc_keys r
tc_expect "prompt for the big run" 'fixture:'
tc_keys C-u
tc_type "$T/big.json"
tc_keys Enter
tc_expect "progress: cases done out of total" 'running .*big\.json: (evaluate|write|done) [0-9]+/100000' 60
tc_keys r
tc_expect "a second run is refused while one runs" 'a fixture run is already in progress'
tc_keys '?'
tc_expect "keys still work during the run" 'Prompt words'
tc_keys Escape
tc_expect "the big run finishes" 'run .*big\.json: rollout ' 120
t_eq "the progress line is gone" "0" "$(tc_screen | grep -c 'running .*big\.json: ')"

# another holder of the state lock: the run fails at once (69), the console lives
(
	exec 9>"$SD/.lock"
	flock 9
	exec sleep 30
) </dev/null >/dev/null 2>&1 &
holder=$!
T_PIDS+=("$holder")
for _ in $(seq 100); do flock -n "$SD/.lock" true || break; sleep 0.05; done
tc_keys r
tc_expect "prompt" 'fixture:'
tc_keys Enter
tc_expect "locked state: the run is refused" 'run .* failed \(exit 69\)'
kill "$holder"
wait "$holder" 2>/dev/null

tc_keys q
tc_expect "q quits" 'CONSOLE_EXIT=0'
t_done
