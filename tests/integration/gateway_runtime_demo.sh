#!/usr/bin/env bash
# gateway_runtime_demo: scripts/demo/gateway.sh runs its 8 steps against the
# built binary in a scratch copy of the repository, prints every step in the
# runbook format and "summary: total=8 passed=8 failed=0", and exits 0.  A
# binary that leaves the wrong posture makes the demo print FAIL lines that
# name the step and the expectation, still print its summary, and exit 1.
# Bad options exit 2 with the usage.  With --gateway-state-url (or
# TAU_GATEWAY_STATE_URL) the same 8 steps pass against a fresh deployment of
# a PostgreSQL database, the reports name postgresql:<db>/<deployment>, the
# URL is never printed, no state directory is made, and a deployment that
# already has state is refused (exit 2).
. "${TAU_SOURCE_DIR:-$(dirname "$0")/../..}/tests/lib.sh"
. "$TAU_SOURCE_DIR/tests/integration/lib/pg.sh"

DEMO=$TAU_SOURCE_DIR/scripts/demo/gateway.sh
ROOT=$T/repo
mkdir -p "$ROOT/fixtures"
cp -r "$TAU_SOURCE_DIR/fixtures/gateway-contract" "$ROOT/fixtures/"
mkdir -p "$ROOT/.tau/demo-gateway"
echo stale >"$ROOT/.tau/demo-gateway/state.json"

TAU_DEMO_TRACE_LOG=$T/trace.log bash "$DEMO" --skip-build --binary "$TAU_BIN" --repo-root "$ROOT" \
	--timeout-seconds 60 >"$T/out" 2>"$T/err"
t_eq "demo: exit 0" "0" "$?"
t_eq "demo: summary" "[demo:gateway] summary: total=8 passed=8 failed=0" "$(tail -n 1 "$T/out")"
t_eq "demo: nothing on stderr" "" "$(cat "$T/err")"
t_eq "demo: 8 step headers" "8" "$(grep -cE '^\[demo:gateway\] \[[1-8]\] ' "$T/out")"
t_eq "demo: 8 PASS lines" "8" "$(grep -c '^\[demo:gateway\] PASS ' "$T/out")"
t_eq "demo: step labels in order" "gateway-service-start gateway-runner transport-health-inspect-gateway gateway-status-inspect-running gateway-service-stop gateway-service-status-stopped gateway-status-inspect-stopped channel-store-inspect-gateway-ops-release-bot" \
	"$(sed -nE 's/^\[demo:gateway\] \[[0-9]\] //p' "$T/out" | paste -sd' ')"
t_eq "demo: step 2 command line" "[demo:gateway] command: $TAU_BIN --gateway-contract-runner --gateway-fixture ./fixtures/gateway-contract/rollout-pass.json --gateway-state-dir .tau/demo-gateway" \
	"$(grep -A1 '^\[demo:gateway\] \[2\]' "$T/out" | tail -n 1)"
t_contains "demo: step 1 output (fresh state: attempts 1)" "gateway service status: state_path=.tau/demo-gateway/state.json service_status=running rollout_gate=pass rollout_reason_code=guardrail_checks_passing guardrail_gate=pass guardrail_reason_code=guardrail_checks_passing startup_attempts=1 " "$(cat "$T/out")"
t_contains "demo: step 5 output" "service_status=stopped rollout_gate=hold rollout_reason_code=service_stopped" "$(cat "$T/out")"
t_contains "demo: step 8 output" "channel store inspect: transport=gateway channel_id=ops-release-bot dir=.tau/demo-gateway/channel-store/gateway/ops-release-bot log_records=2 context_records=2 invalid_log_lines=0 invalid_context_lines=0 artifact_records=0 invalid_artifact_lines=0 active_artifacts=0 expired_artifacts=0 memory_exists=true memory_bytes=185" "$(cat "$T/out")"
t_eq "demo: the old demo state was removed (no corrupt copy)" "0" "$(ls "$ROOT/.tau/demo-gateway" | grep -c corrupt)"
t_eq "demo: trace log has 8 label<TAB>command lines" "8" "$(grep -cP '^[a-z0-9-]+\t\S+' "$T/trace.log")"

# A binary whose stop does not stop: steps 5-7 fail on their expectations.
cat >"$T/bad-bin" <<SH
#!/usr/bin/env bash
args=()
for a in "\$@"; do
	case \$a in --gateway-service-stop) a=--gateway-service-start ;; --gateway-service-stop-reason | demo_complete) continue ;; esac
	args+=("\$a")
done
exec "$TAU_BIN" "\${args[@]}"
SH
chmod +x "$T/bad-bin"
bash "$DEMO" --skip-build --binary "$T/bad-bin" --repo-root "$ROOT" >"$T/out" 2>"$T/err"
t_eq "failing demo: exit 1" "1" "$?"
t_eq "failing demo: summary still printed" "[demo:gateway] summary: total=8 passed=5 failed=3" "$(tail -n 1 "$T/out")"
t_contains "failing demo: FAIL names step 5 and the expectation" "[demo:gateway] FAIL gateway-service-stop (step 5): expected service_status=stopped" "$(cat "$T/err")"
t_contains "failing demo: FAIL names step 7's expectation" "[demo:gateway] FAIL gateway-status-inspect-stopped (step 7): expected \"rollout_reason_code\": \"service_stopped\"" "$(cat "$T/err")"
t_contains "failing demo: later steps still ran" "[demo:gateway] PASS channel-store-inspect-gateway-ops-release-bot" "$(cat "$T/out")"

# A binary that exits non-zero: FAIL <label> exit=<rc>.
printf '#!/bin/sh\nexit 3\n' >"$T/exit3"
chmod +x "$T/exit3"
bash "$DEMO" --skip-build --binary "$T/exit3" --repo-root "$ROOT" >"$T/out" 2>"$T/err"
t_eq "exiting binary: exit 1" "1" "$?"
t_contains "exiting binary: FAIL with the exit code" "[demo:gateway] FAIL gateway-service-start exit=3" "$(cat "$T/err")"
t_eq "exiting binary: summary" "[demo:gateway] summary: total=8 passed=0 failed=8" "$(tail -n 1 "$T/out")"

# A step that hangs: TIMEOUT line, exit 124.
printf '#!/bin/sh\nexec sleep 30\n' >"$T/hang"
chmod +x "$T/hang"
bash "$DEMO" --skip-build --binary "$T/hang" --repo-root "$ROOT" --timeout-seconds 1 >"$T/out" 2>"$T/err"
t_eq "hanging binary: exit 124" "124" "$?"
t_contains "hanging binary: TIMEOUT line" "[demo:gateway] TIMEOUT gateway-service-start after 1s" "$(cat "$T/err")"

# Usage errors.
bash "$DEMO" --bogus >"$T/out" 2>"$T/err"
t_eq "bad option: exit 2" "2" "$?"
t_contains "bad option: message" "[demo:gateway] unknown option: --bogus" "$(cat "$T/err")"
t_contains "bad option: usage" "Usage: " "$(cat "$T/err")"
bash "$DEMO" --timeout-seconds 0 >"$T/out" 2>"$T/err"
t_eq "zero timeout: exit 2" "2" "$?"
bash "$DEMO" --help >"$T/out" 2>"$T/err"
t_eq "--help: exit 0" "0" "$?"
t_contains "--help: usage on stdout" "--skip-build" "$(cat "$T/out")"
mkdir -p "$T/empty-root"
bash "$DEMO" --skip-build --binary "$TAU_BIN" --repo-root "$T/empty-root" >"$T/out" 2>"$T/err"
t_eq "missing fixture: exit 1" "1" "$?"
t_contains "missing fixture: message" "[demo:gateway] missing fixture: $T/empty-root/fixtures/gateway-contract/rollout-pass.json" "$(cat "$T/err")"

# ===== on PostgreSQL ==========================================================
pg_ensure
DB="tau_demo_$$"
pg_createdb URL "$DB" || { t_fail "create the test database"; t_done; exit 1; }
PROOT=$T/pg-repo
mkdir -p "$PROOT/fixtures"
cp -r "$TAU_SOURCE_DIR/fixtures/gateway-contract" "$PROOT/fixtures/"
bash "$DEMO" --skip-build --binary "$TAU_BIN" --repo-root "$PROOT" --timeout-seconds 60 \
	--gateway-state-url "$URL" --gateway-deployment demo-a >"$T/out" 2>"$T/err"
t_eq "pg demo: exit 0" "0" "$?"
t_eq "pg demo: summary" "[demo:gateway] summary: total=8 passed=8 failed=0" "$(tail -n 1 "$T/out")"
t_eq "pg demo: nothing on stderr" "" "$(cat "$T/err")"
t_eq "pg demo: 8 PASS lines" "8" "$(grep -c '^\[demo:gateway\] PASS ' "$T/out")"
t_contains "pg demo: names the deployment" "[demo:gateway] state: PostgreSQL deployment demo-a" "$(cat "$T/out")"
t_eq "pg demo: step 2 command line (the URL is not printed)" "[demo:gateway] command: TAU_GATEWAY_STATE_URL=<state-url> $TAU_BIN --gateway-contract-runner --gateway-fixture ./fixtures/gateway-contract/rollout-pass.json --gateway-deployment demo-a" \
	"$(grep -A1 '^\[demo:gateway\] \[2\]' "$T/out" | tail -n 1)"
# (the URL is a postgresql:// URI; reports name postgresql:<db>/..., no //)
t_eq "pg demo: the URL appears nowhere" 0 "$(grep -c 'postgresql://' "$T/out")"
t_contains "pg demo: step 1 output (fresh deployment: attempts 1)" "gateway service status: state_path=postgresql:$DB/demo-a/posture service_status=running rollout_gate=pass rollout_reason_code=guardrail_checks_passing guardrail_gate=pass guardrail_reason_code=guardrail_checks_passing startup_attempts=1 " "$(cat "$T/out")"
t_contains "pg demo: step 4 counts the runner's records" '"request_count": 2,' "$(cat "$T/out")"
t_contains "pg demo: step 8 output" "channel store inspect: transport=gateway channel_id=ops-release-bot dir=postgresql:$DB/demo-a/channel-store/gateway/ops-release-bot log_records=2 context_records=2 invalid_log_lines=0 invalid_context_lines=0 artifact_records=0 invalid_artifact_lines=0 active_artifacts=0 expired_artifacts=0 memory_exists=true memory_bytes=185" "$(cat "$T/out")"
t_eq "pg demo: no state directory" "no" "$([ -e "$PROOT/.tau" ] && echo yes || echo no)"
t_eq "pg demo: the database holds the cycle" "1" \
	"$(pg_sql "$URL" "SELECT count(*) FROM tau_event WHERE deployment = 'demo-a' AND line::json->>'kind' = 'cycle'")"
TAU_GATEWAY_STATE_URL=$URL bash "$DEMO" --skip-build --binary "$TAU_BIN" --repo-root "$PROOT" \
	>"$T/out" 2>"$T/err"
t_eq "pg demo from TAU_GATEWAY_STATE_URL: exit 0" "0" "$?"
t_match "pg demo from TAU_GATEWAY_STATE_URL: a new deployment of its own" \
	'^\[demo:gateway\] state: PostgreSQL deployment demo-[0-9]+-[0-9]+$' "$(grep 'state: PostgreSQL' "$T/out")"
t_eq "pg demo from TAU_GATEWAY_STATE_URL: 8 PASS lines" "8" "$(grep -c '^\[demo:gateway\] PASS ' "$T/out")"
bash "$DEMO" --skip-build --binary "$TAU_BIN" --repo-root "$PROOT" --gateway-state-url "$URL" \
	--gateway-deployment demo-a >"$T/out" 2>"$T/err"
t_eq "pg demo on a used deployment: exit 2" "2" "$?"
t_contains "pg demo on a used deployment: says why" "[demo:gateway] deployment 'demo-a' already has state; the demo needs a new one" "$(cat "$T/err")"
bash "$DEMO" --skip-build --binary "$TAU_BIN" --repo-root "$PROOT" --gateway-deployment x >"$T/out" 2>"$T/err"
t_eq "a deployment without a URL: exit 2" "2" "$?"

t_done
