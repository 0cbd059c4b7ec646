#!/usr/bin/env bash
# gateway_runtime_fail_on_hold: the runner exits 0 whenever the cycle ran,
# even when the rollout guardrail holds (reference behaviour); with
# --gateway-fail-on-hold (or TAU_GATEWAY_FAIL_ON_HOLD) a hold exits 1 after
# the cycle has been recorded, so CI scripts can gate on it.  The same on
# PostgreSQL (the posture row, tau_event).
# backends: files pg
# shellcheck disable=SC2046 # $(t_state_args DIR): its flags, one a line, no blanks
. "${TAU_SOURCE_DIR:-$(dirname "$0")/../..}/tests/lib.sh"
. "$TAU_SOURCE_DIR/tests/integration/lib/backend.sh"

runner() { # runner STATE FIXTURE [flags...]
	local s=$1 f=$2
	shift 2
	"$TAU_BIN" --gateway-contract-runner --gateway-fixture "$f" $(t_state_args "$s") "$@" >"$T/out" 2>"$T/err"
}

# hold without the flag: exit 0
runner "$T/a" "$FIXTURES/mixed-outcomes.json"
t_eq "hold without the flag: exit 0" "0" "$?"
t_eq "hold without the flag: no error message" "" "$(cat "$T/err")"

# hold with the flag: exit 1, message names the reason, cycle recorded
runner "$T/b" "$FIXTURES/mixed-outcomes.json" --gateway-fail-on-hold
t_eq "hold with --gateway-fail-on-hold: exit 1" "1" "$?"
t_eq "hold: stderr names the gate and reason" "tau-gateway: rollout gate is hold (malformed_input_observed)" "$(cat "$T/err")"
t_eq "hold: the summary is still printed" "2" "$(wc -l <"$T/out")"
t_eq "hold: the cycle is recorded" "1" "$(t_events "$T/b" | grep -c '"kind":"cycle"')"
t_eq "hold: the posture has the hold" "hold malformed_input_observed" "$(t_posture_jq "$T/b" '"\(.guardrail.gate) \(.guardrail.reason_code)"')"

# second cycle: hold by failure streak
runner "$T/b" "$FIXTURES/mixed-outcomes.json" --gateway-fail-on-hold
t_eq "failure streak hold: exit 1" "1" "$?"
t_eq "failure streak hold: reason" "tau-gateway: rollout gate is hold (failure_streak_threshold_exceeded)" "$(cat "$T/err")"

# retryable threshold: raise the malformed/streak paths out of the way by
# using a fixture with two retryable cases only
python3 - "$FIXTURES/mixed-outcomes.json" "$T/retry2.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
r = [c for c in d["cases"] if c.get("simulate_retryable_failure")][0]
r2 = json.loads(json.dumps(r)); r2["case_id"] = "gateway-retryable-backend-2"
d["cases"] = [r, r2]
json.dump(d, open(sys.argv[2], "w"))
PY
runner "$T/c" "$T/retry2.json" --gateway-fail-on-hold --gateway-guardrail-failure-streak-threshold 5
t_eq "retryable threshold hold: exit 1" "1" "$?"
t_eq "retryable threshold hold: reason" "tau-gateway: rollout gate is hold (retryable_failures_threshold_exceeded)" "$(cat "$T/err")"
runner "$T/c2" "$T/retry2.json" --gateway-fail-on-hold --gateway-guardrail-failure-streak-threshold 5 \
	--gateway-guardrail-retryable-failures-threshold 3
t_eq "retryable below a raised threshold: gate pass, exit 0" "0" "$?"

# pass with the flag: exit 0
runner "$T/d" "$FIXTURES/rollout-pass.json" --gateway-fail-on-hold
t_eq "pass with --gateway-fail-on-hold: exit 0" "0" "$?"
t_eq "pass: quiet stderr" "" "$(cat "$T/err")"

# a stopped service holds the rollout even when the guardrail passes
"$TAU_BIN" $(t_state_args "$T/g") --gateway-service-stop --gateway-service-stop-reason maintenance_window >/dev/null
runner "$T/g" "$FIXTURES/rollout-pass.json" --gateway-fail-on-hold
t_eq "stopped service with --gateway-fail-on-hold: exit 1" "1" "$?"
t_eq "stopped service: reason service_stopped" "tau-gateway: rollout gate is hold (service_stopped)" "$(cat "$T/err")"
runner "$T/g" "$FIXTURES/rollout-pass.json"
t_eq "stopped service without the flag: exit 0" "0" "$?"

# the environment variable does the same
TAU_GATEWAY_FAIL_ON_HOLD=true runner "$T/e" "$FIXTURES/mixed-outcomes.json"
t_eq "TAU_GATEWAY_FAIL_ON_HOLD=true: exit 1 on hold" "1" "$?"
TAU_GATEWAY_FAIL_ON_HOLD=false runner "$T/f" "$FIXTURES/mixed-outcomes.json"
t_eq "TAU_GATEWAY_FAIL_ON_HOLD=false: exit 0 on hold" "0" "$?"

t_done
