#!/usr/bin/env bash
# A slow fixture (every other case fails retryably, with backoff): the
# progress line moves case by case (issue 12, defect 5: it stayed at
# "evaluate 0/40" because progress came every 1024 cases); c cancels the
# run at the next case boundary (defect 6): the cases evaluated before it
# are applied and committed as one cycle, the rest stay pending, and the
# event line has the reason code cycle_cancelled; the prompt word cancel
# does the same, and with no run both say there is nothing to cancel.
# q during a run says it will cancel it, and quits once the evaluated
# cases are committed.
# The state is read back through --gateway-status-inspect, so the pg
# variant checks the same on a deployment (one transaction per cycle).
# backends: files pg
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/tmux_helpers.bash"
if [ "${TAU_TEST_BACKEND:-files}" == pg ]; then
	. "$TAU_SOURCE_DIR/tests/integration/lib/pg.sh"
	pg_ensure
	trap 'for s in "${TC_SOCKS[@]}"; do tmux -L "$s" kill-server 2>/dev/null; done; pg_test_cleanup' EXIT
	pg_createdb URL "tau_cancel_$$" || { t_fail "create the test database"; t_done; exit 1; }
	TC_STATE_URL=$URL
	inspect() { "$TAU_BIN" --gateway-status-inspect --gateway-state-url "$URL"; }
else
	inspect() { "$TAU_BIN" --gateway-status-inspect --gateway-state-dir "$SD"; }
fi
field() { inspect | tr ' ' '\n' | sed -n "s/^$1=//p"; }

# 40 cases, every second one retryable: 3 retries of 60, 120, 240 ms each
python3 "$TAU_SOURCE_DIR/bench/gen_fixture.py" 40 "$T/slow.json" --actors 4 \
	--retryable-every 2 --malformed-every 0 --name slow-run
TC_ENV="TAU_GATEWAY_RETRY_BASE_DELAY_MS=60" tc_start
tc_expect "console up" 'Service (RUNNING|NO STATE YET)'

tc_keys c
tc_expect "c with no run: nothing to cancel" 'no fixture run to cancel'

# the word run (in fleet mode r runs the default fixture without asking)
tc_keys :
tc_type "run $T/slow.json"
tc_keys Enter
# per-case progress: a count above zero long before 1024 cases
tc_expect "progress moves by case" 'running .*slow\.json: evaluate ([1-9]|[1-3][0-9])/40' 10
first=$(tc_screen | sed -nE 's/.*slow\.json: evaluate ([0-9]+)\/40.*/\1/p' | head -1)
later=""
for _ in $(seq 100); do
	later=$(tc_screen | sed -nE 's/.*slow\.json: evaluate ([0-9]+)\/40.*/\1/p' | head -1)
	[ -n "$later" ] && [ "$later" -gt "$first" ] && break
	sleep 0.05
done
t_check "progress keeps moving ($first, then $later)" test -n "$later" -a "${later:-0}" -gt "$first"

tc_keys c
tc_expect "c: cancelling at the next case" 'cancelling the run of .*slow\.json at the next case'
tc_expect "the run ends cancelled" 'run .*slow\.json cancelled after [0-9]+ of 40 cases \([0-9]+ pending\): rollout ' 10
t_eq "the progress line is gone" "0" "$(tc_screen | grep -c 'running .*slow\.json: ')"
t_match "the cycle's reason codes lead with cycle_cancelled" '^cycle_cancelled,' "$(field last_reason_codes)"
# what the runner printed: "... cancelled after N of 40 cases (M pending)"
done_cases=$(tc_screen | sed -nE 's/.*slow\.json cancelled after ([0-9]+) of 40 cases.*/\1/p' | head -1)
pending=$(tc_screen | sed -nE 's/.*cancelled after [0-9]+ of 40 cases \(([0-9]+) pending\).*/\1/p' | head -1)
t_check "some cases were done, not all (${done_cases:-none})" test "${done_cases:-0}" -gt 0 -a "${done_cases:-40}" -lt 40
t_eq "the rest stay pending" "$((40 - ${done_cases:-0}))" "$pending"
t_eq "the queue depth is the backlog" "$pending" "$(field queue_depth)"
# every other case succeeds (processed); the retryable ones are not
t_eq "the successes among the done cases are processed" "$(((${done_cases:-0} + 1) / 2))" \
	"$(field processed_case_count)"
tc_expect "the event list shows the cancelled cycle" 'cycle +HOLD +.*cycle_cancelled|cycle +PASS +.*cycle_cancelled'

# the prompt word, on a second run: it takes the pending cases up again
tc_keys :
tc_type "run $T/slow.json"
tc_keys Enter
tc_expect "the second run evaluates" 'running .*slow\.json: evaluate [0-9]+/' 10
tc_keys :
tc_type "cancel"
tc_keys Enter
tc_expect "the word cancel ends it too" 'run .*slow\.json cancelled after [0-9]+ of [0-9]+ cases' 10
t_match "its cycle has cycle_cancelled" '^cycle_cancelled,' "$(field last_reason_codes)"
tc_keys :
tc_type "cancel"
tc_keys Enter
tc_expect "the word with no run: nothing to cancel" 'no fixture run to cancel'

# q during a run asks, then cancels it and waits for the case boundary:
# the cases evaluated are committed as a cycle (the runner thread was
# detached and died with the process; the journal rolled its cycle back)
before=$(field cycle_reports)
tc_keys :
tc_type "run $T/slow.json"
tc_keys Enter
tc_expect "a third run evaluates" 'running .*slow\.json: evaluate [0-9]+/' 10
tc_keys q
tc_expect "q's question says the run will be cancelled" 'quit: cancel the fixture run at its next case'
tc_keys y
tc_expect "q quits once the run has ended" 'CONSOLE_EXIT=0' 10
t_match "the terminal is told how the run ended" 'run .*slow\.json cancelled after [0-9]+ of [0-9]+ cases' \
	"$(tc_screen)"
t_eq "the cancelled cycle was committed" "$((${before:-0} + 1))" "$(field cycle_reports)"
t_done
