#!/usr/bin/env bash
# gateway_runtime_queue_drain: a fixture larger than --gateway-queue-limit
# drains over successive cycles (processed cases are skipped before the
# limit applies), queue_depth reports the unprocessed remainder, and the
# processed-case cap bounds the dedupe memory without ever dropping the
# running fixture's keys.  The same on PostgreSQL (tau_record rows,
# tau_event, tau_channel_line).
# backends: files pg
# shellcheck disable=SC2046 # $(t_state_args DIR): its flags, one a line, no blanks
. "${TAU_SOURCE_DIR:-$(dirname "$0")/../..}/tests/lib.sh"
. "$TAU_SOURCE_DIR/tests/integration/lib/backend.sh"

GEN=$TAU_SOURCE_DIR/bench/gen_fixture.py
python3 "$GEN" 150 "$T/f150.json" --actors 7 --malformed-every 0 --name drain-150
S=$T/state

# cycle N: expected queued, duplicate_skips, queue_depth
cycle() {
	local n=$1 queued=$2 dups=$3 depth=$4 out
	out=$("$TAU_BIN" --gateway-contract-runner --gateway-fixture "$T/f150.json" $(t_state_args "$S") \
		--gateway-queue-limit 64 2>&1)
	t_eq "cycle $n: exit 0" "0" "$?"
	t_eq "cycle $n: summary" "gateway runner summary: discovered=150 queued=$queued applied=$queued duplicate_skips=$dups malformed=0 retryable_failures=0 retries=0 failed=0 upserted_requests=$queued" "$(sed -n 1p <<<"$out")"
	t_eq "cycle $n: queue_depth is the remainder" "gateway runner health: state=healthy failure_streak=0 queue_depth=$depth reason=no recent transport failures observed" "$(sed -n 2p <<<"$out")"
}
cycle 1 64 0 86
t_contains "cycle 1: backpressure reason code" '"reason_codes":["queue_backpressure_applied"],' "$(t_events "$S" | tail -n 1)"
t_contains "cycle 1: backlog in the event line" '"backlog_cases":86,' "$(t_events "$S" | tail -n 1)"
"$TAU_BIN" $(t_state_args "$S") --transport-health-inspect gateway >"$T/out"
t_contains "cycle 1: transport health shows the depth" " queue_depth=86 " "$(cat "$T/out")"
cycle 2 64 64 22
t_contains "cycle 2: backpressure and duplicates" '"reason_codes":["queue_backpressure_applied","duplicate_cases_skipped"],' "$(t_events "$S" | tail -n 1)"
cycle 3 22 128 0
t_contains "cycle 3: drained" '"reason_codes":["duplicate_cases_skipped"],' "$(t_events "$S" | tail -n 1)"
cycle 4 0 150 0
t_eq "drained: 150 processed keys, 150 records" "150 150" "$(python3 -c '
import json, sys
d = json.load(sys.stdin)
print(len(d["processed_case_keys"]), len(d["requests"]))' <<<"$(t_records "$S")")"
"$TAU_BIN" $(t_state_args "$S") --gateway-status-inspect >"$T/out"
t_contains "status inspect: 4 cycles" " cycle_reports=4 invalid_cycle_reports=0 " "$(cat "$T/out")"
t_contains "status inspect: queue empty" " queue_depth=0 " "$(cat "$T/out")"

# Every case was applied exactly once: one log line per case across actors.
t_eq "channel store: one log line per case" "150" "$(t_chan_lines "$S" "" log | wc -l)"
t_eq "channel store: 7 actors" "7" "$(t_chan_list "$S" | wc -l)"

# The processed-case cap never drops a key of the fixture being run: a
# fixture larger than the cap (120 cases, cap 50) drains in two cycles of
# 64 and then applies nothing, and no channel-store line is written twice.
# (It used to drop the overflow every cycle and re-apply it forever.)
python3 "$GEN" 120 "$T/f120.json" --actors 3 --malformed-every 0 --name cap-120
C=$T/capped
capped() {
	local n=$1 queued=$2 applied=$3 dups=$4 out
	out=$("$TAU_BIN" --gateway-contract-runner --gateway-fixture "$T/f120.json" $(t_state_args "$C") \
		--gateway-processed-case-cap 50 2>&1)
	t_eq "cap 50, cycle $n: exit 0" "0" "$?"
	t_eq "cap 50, cycle $n: summary" "gateway runner summary: discovered=120 queued=$queued applied=$applied duplicate_skips=$dups malformed=0 retryable_failures=0 retries=0 failed=0 upserted_requests=$applied" "$(sed -n 1p <<<"$out")"
}
capped 1 64 64 0
capped 2 56 56 64
capped 3 0 0 120
capped 4 0 0 120
t_eq "cap 50: every case applied once (120 log lines, 120 context lines)" "120 120" \
	"$(t_chan_lines "$C" "" log | wc -l) $(t_chan_lines "$C" "" context | wc -l)"
t_eq "cap 50: no event_key logged twice" "" "$(t_chan_lines "$C" "" log | jq -r .event_key | sort | uniq -d)"
t_eq "cap 50: the running fixture's 120 keys kept" "120" "$(t_records "$C" | jq '.processed_case_keys | length')"
# another fixture then: the cap drops the older fixture's keys first
"$TAU_BIN" --gateway-contract-runner --gateway-fixture "$FIXTURES/rollout-pass.json" $(t_state_args "$C") \
	--gateway-processed-case-cap 50 >"$T/out" 2>&1
t_eq "cap 50, other fixture: 50 keys kept, the newest, its own last" '50 case-00000072 2' "$(python3 -c '
import json, sys
k = json.load(sys.stdin)["processed_case_keys"]
print(len(k), k[0].split(":")[-1], sum(1 for x in k if not x.split(":")[-1].startswith("case-")))' <<<"$(t_records "$C")")"

t_done
