#!/usr/bin/env bash
# gateway_contract_fixtures: the fixture contract at the command line.  Every
# bad fixture gets one clear message naming the file (and the case where
# there is one), the documented exit code (65 bad data, 66 missing input),
# and leaves the state directory untouched (here: never created).
# On PostgreSQL the same, with each state a deployment of the test's
# database ("never created": no deployment row).
# backends: files pg
. "${TAU_SOURCE_DIR:-$(dirname "$0")/../..}/tests/lib.sh"
. "$TAU_SOURCE_DIR/tests/integration/lib/backend.sh"

# run_bad NAME FIXTURE EXPECTED_RC EXPECTED_STDERR: run one cycle on a fresh
# state dir and assert the exit code, the exact stderr and that nothing was
# written.
run_bad() {
	local name=$1 fx=$2 want_rc=$3 want_err=$4 state="$T/state-$1" rc
	"$TAU_BIN" --gateway-contract-runner --gateway-fixture "$fx" $(t_state_args "$state") \
		>"$T/out" 2>"$T/err"
	rc=$?
	t_eq "$name: exit code" "$want_rc" "$rc"
	t_eq "$name: message" "$want_err" "$(cat "$T/err")"
	t_eq "$name: no stdout" "" "$(cat "$T/out")"
	if t_state_written "$state"; then
		t_fail "$name: state $state was created"
	else
		t_ok "$name: nothing written"
	fi
}

# mutate NAME PYTHON: write $T/NAME.json = rollout-pass.json after PYTHON
# edits `d` (the parsed fixture).
mutate() {
	python3 - "$FIXTURES/rollout-pass.json" "$T/$1.json" "$2" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
exec(sys.argv[3])
json.dump(d, open(sys.argv[2], "w"), indent=2)
EOF
}

# --- the reference's invalid fixtures ---------------------------------------
run_bad invalid-duplicate-case-id "$FIXTURES/invalid-duplicate-case-id.json" 65 \
	"tau-gateway: invalid fixture $FIXTURES/invalid-duplicate-case-id.json: fixture contains duplicate case_id 'duplicate-case'"
run_bad invalid-error-code "$FIXTURES/invalid-error-code.json" 65 \
	"tau-gateway: invalid fixture $FIXTURES/invalid-error-code.json: fixture case 'gateway-malformed-unsupported-error-code' uses unsupported error_code 'gateway_method_forbidden'"

# --- the valid reference fixtures pass the contract --------------------------
for fx in rollout-pass mixed-outcomes; do
	"$TAU_BIN" --gateway-contract-runner --gateway-fixture "$FIXTURES/$fx.json" \
		$(t_state_args "$T/ok-$fx") >"$T/out" 2>"$T/err"
	t_eq "$fx: valid fixture runs" "0" "$?"
	t_match "$fx: summary line" '^gateway runner summary: discovered=[0-9]+ ' "$(cat "$T/out")"
done

# --- broken files --------------------------------------------------------------
head -c 300 "$FIXTURES/rollout-pass.json" >"$T/truncated.json"
run_bad truncated "$T/truncated.json" 65 \
	"tau-gateway: invalid fixture $T/truncated.json: invalid JSON at line 5 column 12: unexpected end of input"

printf 'schema_version: 1\nname: not json\n' >"$T/not-json.json"
run_bad not-json "$T/not-json.json" 65 \
	"tau-gateway: invalid fixture $T/not-json.json: invalid JSON at line 1 column 1: expected an object"

: >"$T/empty.json"
"$TAU_BIN" --gateway-contract-runner --gateway-fixture "$T/empty.json" $(t_state_args "$T/state-empty") 2>"$T/err" >/dev/null
t_eq "empty file: exit 65" "65" "$?"
t_match "empty file: names the file" "^tau-gateway: invalid fixture $T/empty.json: " "$(cat "$T/err")"

# A case whose body nests 10,000 levels deep: refused by the parser's depth
# limit (no stack overflow), with the position of the refusal.
python3 - "$T/deep.json" <<'EOF'
import sys
n = 10000
body = '{"a":' * n + '1' + '}' * n
open(sys.argv[1], "w").write(
    '{"schema_version":1,"name":"deep","cases":[{"case_id":"deep-case","method":"POST",'
    '"endpoint":"/v1/x","actor_id":"a","body":' + body +
    ',"expected":{"outcome":"success","status_code":201,"response_body":{}}}]}')
EOF
"$TAU_BIN" --gateway-contract-runner --gateway-fixture "$T/deep.json" $(t_state_args "$T/state-deep") 2>"$T/err" >/dev/null
t_eq "deep nesting: exit 65" "65" "$?"
t_match "deep nesting: message" "^tau-gateway: invalid fixture $T/deep.json: invalid JSON at line 1 column [0-9]+: nested too deeply$" "$(cat "$T/err")"
t_eq "deep nesting: nothing written" "no" "$(t_state_written "$T/state-deep" && echo yes || echo no)"

run_bad missing "$T/no-such-fixture.json" 66 \
	"tau-gateway: --gateway-fixture '$T/no-such-fixture.json' does not exist"
mkdir "$T/a-directory"
run_bad directory "$T/a-directory" 66 \
	"tau-gateway: --gateway-fixture '$T/a-directory' must point to a file"

# --- validation rules, one bad field each (messages per the reference) ------
mutate schema-2 'd["schema_version"] = 2'
run_bad schema-2 "$T/schema-2.json" 65 \
	"tau-gateway: invalid fixture $T/schema-2.json: unsupported gateway contract schema version 2 (expected 1)"
mutate no-cases 'd["cases"] = []'
run_bad no-cases "$T/no-cases.json" 65 \
	"tau-gateway: invalid fixture $T/no-cases.json: fixture must include at least one case"
mutate blank-name 'd["name"] = "  "'
run_bad blank-name "$T/blank-name.json" 65 \
	"tau-gateway: invalid fixture $T/blank-name.json: fixture name cannot be empty"
mutate empty-case-id 'd["cases"][1]["case_id"] = " "'
run_bad empty-case-id "$T/empty-case-id.json" 65 \
	"tau-gateway: invalid fixture $T/empty-case-id.json: fixture case index 1 has empty case_id"
mutate success-503 'd["cases"][0]["expected"]["status_code"] = 503'
run_bad success-503 "$T/success-503.json" 65 \
	"tau-gateway: invalid fixture $T/success-503.json: fixture case 'gateway-rollout-post-task' success outcome requires 2xx status_code (found 503)"
mutate bad-outcome 'd["cases"][0]["expected"]["outcome"] = "foo"'
"$TAU_BIN" --gateway-contract-runner --gateway-fixture "$T/bad-outcome.json" $(t_state_args "$T/state-bo") 2>"$T/err" >/dev/null
t_eq "unknown outcome: exit 65" "65" "$?"
t_match "unknown outcome: names file and case" "^tau-gateway: invalid fixture $T/bad-outcome.json: .*(case index 0|gateway-rollout-post-task).*foo" "$(cat "$T/err")"
mutate missing-actor 'del d["cases"][1]["actor_id"]'
"$TAU_BIN" --gateway-contract-runner --gateway-fixture "$T/missing-actor.json" $(t_state_args "$T/state-ma") 2>"$T/err" >/dev/null
t_eq "missing actor_id: exit 65" "65" "$?"
t_match "missing actor_id: names file, case and field" "^tau-gateway: invalid fixture $T/missing-actor.json: .*(case index 1|gateway-rollout-fetch-task).*actor_id" "$(cat "$T/err")"
mutate unknown-fields 'd["extra"] = 1; d["cases"][0]["whatever"] = {"x": [1]}'
"$TAU_BIN" --gateway-contract-runner --gateway-fixture "$T/unknown-fields.json" $(t_state_args "$T/state-uf") >/dev/null 2>&1
t_eq "unknown fields are ignored" "0" "$?"

# --- a bad fixture never touches an existing state dir -----------------------
"$TAU_BIN" --gateway-contract-runner --gateway-fixture "$FIXTURES/rollout-pass.json" \
	$(t_state_args "$T/live") >/dev/null 2>&1
before=$(t_state_digest "$T/live")
"$TAU_BIN" --gateway-contract-runner --gateway-fixture "$FIXTURES/invalid-error-code.json" \
	$(t_state_args "$T/live") >/dev/null 2>&1
t_eq "existing state: bad fixture exits 65" "65" "$?"
t_eq "existing state: everything stored unchanged" "$before" "$(t_state_digest "$T/live")"

t_done
