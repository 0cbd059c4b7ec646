#!/usr/bin/env bash
# gateway_runtime_case_keys: case keys escape '%' and ':' in their parts, so
# case `b:c` at `/a` and case `c` at `/a:b` are two cases with two records
# and two processed keys (unescaped, both were "GET:/a:b:c": two applied,
# one record, and the next cycle re-ran one of them).  A state.json written
# with the unescaped key still counts its case as processed.  A fixture
# with two `cases` arrays is refused (exit 65) instead of running both.
# On PostgreSQL the same keys and records (tau_record rows) and log lines
# (tau_channel_line); the state.json of a gateway before the escaping is a
# file, so that part is files-only.
# backends: files pg
# shellcheck disable=SC2046 # $(t_state_args DIR): its flags, one a line, no blanks
. "${TAU_SOURCE_DIR:-$(dirname "$0")/../..}/tests/lib.sh"
. "$TAU_SOURCE_DIR/tests/integration/lib/backend.sh"

# case ID METHOD ENDPOINT: one success case for actor "k"
case_json() {
	printf '{"case_id":"%s","method":"%s","endpoint":"%s","actor_id":"k","expected":{"outcome":"success","status_code":200,"response_body":{"actor_id":"k","endpoint":"%s","method":"GET","status":"accepted"}}}' \
		"$1" "$2" "$3" "$3"
}
printf '{"schema_version":1,"name":"keys","cases":[%s,%s]}\n' "$(case_json b:c GET /a)" "$(case_json c GET /a:b)" >"$T/keys.json"

S=$T/state
run() { "$TAU_BIN" --gateway-contract-runner --gateway-fixture "$1" $(t_state_args "$2") 2>&1 | sed -n 1p; }
t_eq "two colliding-looking cases: both applied" "gateway runner summary: discovered=2 queued=2 applied=2 duplicate_skips=0 malformed=0 retryable_failures=0 retries=0 failed=0 upserted_requests=2" "$(run "$T/keys.json" "$S")"
t_eq "two records and two processed keys, escaped" '["GET:/a%3Ab:c","GET:/a:b%3Ac"] ["GET:/a%3Ab:c","GET:/a:b%3Ac"]' \
	"$(t_records "$S" | jq -c '[.requests[].case_key]') $(t_records "$S" | jq -c '.processed_case_keys | sort')"
t_eq "rerun: both skipped" "gateway runner summary: discovered=2 queued=0 applied=0 duplicate_skips=2 malformed=0 retryable_failures=0 retries=0 failed=0 upserted_requests=0" \
	"$(run "$T/keys.json" "$S")"
t_eq "channel store: each case logged once" "b:c c" "$(t_chan_lines "$S" k log | jq -r .payload.case_id | sort | xargs)"

# A state file from before: the record of `c` at `/a:b` under "GET:/a:b:c".
if t_files_only "a state.json written before the escaping"; then
L=$T/legacy
mkdir -p "$L"
cat >"$L/state.json" <<'JSON'
{
  "schema_version": 1,
  "processed_case_keys": ["GET:/a:b:c"],
  "requests": [{"case_key": "GET:/a:b:c", "case_id": "c", "method": "GET", "endpoint": "/a:b", "actor_id": "k",
    "status_code": 200, "outcome": "success", "error_code": "", "response_body": {}, "updated_unix_ms": 1}]
}
JSON
t_eq "legacy state: its case is still processed, the other runs" "gateway runner summary: discovered=2 queued=1 applied=1 duplicate_skips=1 malformed=0 retryable_failures=0 retries=0 failed=0 upserted_requests=1" "$(run "$T/keys.json" "$L")"
t_eq "legacy state: the record renamed, not duplicated" '["GET:/a%3Ab:c","GET:/a:b%3Ac"] 2' \
	"$(t_records "$L" | jq -c '[.requests[].case_key]') $(t_records "$L" | jq '.processed_case_keys | length')"
fi

# Two `cases` arrays: refused, naming the key and both lines.
printf '{"schema_version":1,"name":"twice",\n"cases":[%s],\n"cases":[%s]}\n' "$(case_json x GET /x)" "$(case_json x GET /y)" >"$T/twice.json"
"$TAU_BIN" --gateway-contract-runner --gateway-fixture "$T/twice.json" $(t_state_args "$T/s2") >"$T/out" 2>"$T/err"
t_eq "two cases arrays: exit 65" "65" "$?"
t_eq "two cases arrays: one line naming the key and where" "tau-gateway: invalid fixture $T/twice.json: duplicate top-level key \`cases\` at line 3 (first at line 2)" "$(cat "$T/err")"
t_eq "two cases arrays: nothing written" "no" "$(t_state_written "$T/s2" && echo yes || echo no)"

t_done
