#!/usr/bin/env bash
# scripts/demo/gateway.sh - the runbook's deterministic gateway demo.
#
# Runs the eight runbook steps (service start, one contract-runner cycle over
# fixtures/gateway-contract/rollout-pass.json, transport health, status
# inspect, service stop, service status, status inspect, channel-store
# inspect) against a fresh state directory <repo-root>/.tau/demo-gateway, or,
# with --gateway-state-url URL (or TAU_GATEWAY_STATE_URL), against a fresh
# deployment of that PostgreSQL database (--gateway-deployment NAME, which
# must have no state yet; default demo-<unix seconds>-<pid>).
#
# Unlike the reference demo, "PASS" means more than exit status 0: each step
# also checks the posture it should leave behind (rollout gate pass while the
# service runs, hold/service_stopped after the stop, the actor's MEMORY.md
# present).  A failing step prints a FAIL line naming the step and the
# expectation, the demo carries on, and the summary line is always printed.
# Exit status: 0 all steps passed; 1 a step failed; 124 a step timed out;
# 2 bad usage.
set -u

DEMO="[demo:gateway]"
FIXTURE_REL="fixtures/gateway-contract/rollout-pass.json"
STATE_REL=".tau/demo-gateway"

usage() {
	cat <<EOF
Usage: $0 [--repo-root PATH] [--binary PATH] [--skip-build] [--timeout-seconds N]
          [--gateway-state-url URL [--gateway-deployment NAME]] [--help]

Run the runbook's deterministic gateway demo (8 steps) in PATH/$STATE_REL,
or in a fresh deployment of a PostgreSQL database.

  --repo-root PATH       repository root (default: the checkout holding this script)
  --binary PATH          tau-gateway binary; relative paths are taken from the
                         repository root (default: <repo-root>/build/tau-gateway)
  --skip-build           do not configure and build <repo-root>/build first
  --timeout-seconds N    fail a step that runs longer than N seconds (N > 0)
  --gateway-state-url URL
                         run on PostgreSQL (fleet mode): a libpq connection string
                         (default: \$TAU_GATEWAY_STATE_URL when set)
  --gateway-deployment NAME
                         the deployment to use; it must have no state yet
                         (default: demo-<unix seconds>-<pid>)
  --help                 show this help

Environment: TAU_DEMO_TRACE_LOG=FILE appends "<label><TAB><command>" per step;
TAU_GATEWAY_STATE_URL as --gateway-state-url.
Exit status: 0 all steps passed, 1 a step failed, 124 a step timed out, 2 usage.
EOF
}

bad_usage() {
	echo "$DEMO $1" >&2
	usage >&2
	exit 2
}

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
binary=""
skip_build=0
timeout_seconds=""
state_url=${TAU_GATEWAY_STATE_URL:-}
deployment=""

while [ $# -gt 0 ]; do
	case "$1" in
	--repo-root)
		[ $# -ge 2 ] || bad_usage "--repo-root needs a value"
		repo_root=$2
		shift 2
		;;
	--repo-root=*) repo_root=${1#*=}; shift ;;
	--binary)
		[ $# -ge 2 ] || bad_usage "--binary needs a value"
		binary=$2
		shift 2
		;;
	--binary=*) binary=${1#*=}; shift ;;
	--skip-build) skip_build=1; shift ;;
	--timeout-seconds)
		[ $# -ge 2 ] || bad_usage "--timeout-seconds needs a value"
		timeout_seconds=$2
		shift 2
		;;
	--timeout-seconds=*) timeout_seconds=${1#*=}; shift ;;
	--gateway-state-url)
		[ $# -ge 2 ] || bad_usage "--gateway-state-url needs a value"
		state_url=$2
		shift 2
		;;
	--gateway-state-url=*) state_url=${1#*=}; shift ;;
	--gateway-deployment)
		[ $# -ge 2 ] || bad_usage "--gateway-deployment needs a value"
		deployment=$2
		shift 2
		;;
	--gateway-deployment=*) deployment=${1#*=}; shift ;;
	-h | --help) usage; exit 0 ;;
	*) bad_usage "unknown option: $1" ;;
	esac
done

if [ -n "$timeout_seconds" ] && ! [[ "$timeout_seconds" =~ ^[1-9][0-9]*$ ]]; then
	bad_usage "--timeout-seconds must be a positive integer (got '$timeout_seconds')"
fi
[ -d "$repo_root" ] || bad_usage "--repo-root '$repo_root' is not a directory"
if [ -n "$deployment" ] && [ -z "$state_url" ]; then
	bad_usage "--gateway-deployment needs --gateway-state-url (or TAU_GATEWAY_STATE_URL)"
fi
repo_root=$(cd "$repo_root" && pwd)
[ -n "$binary" ] || binary="$repo_root/build/tau-gateway"
case "$binary" in /*) ;; *) binary="$repo_root/$binary" ;; esac

if [ ! -f "$repo_root/$FIXTURE_REL" ]; then
	echo "$DEMO missing fixture: $repo_root/$FIXTURE_REL" >&2
	exit 1
fi

if [ "$skip_build" -eq 0 ]; then
	echo "$DEMO building tau-gateway"
	if ! { cmake -S "$repo_root" -B "$repo_root/build" >/dev/null &&
		cmake --build "$repo_root/build" -j"$(nproc 2>/dev/null || echo 2)" >/dev/null; }; then
		echo "$DEMO build failed" >&2
		exit 1
	fi
fi
if [ ! -x "$binary" ]; then
	echo "$DEMO binary not found or not executable: $binary" >&2
	exit 1
fi

cd "$repo_root" || exit 1

# The steps must not pick up an operator's TAU_GATEWAY_* / TAU_TRANSPORT_* /
# TAU_CHANNEL_* settings: the demo is deterministic only with its own flags.
unset_env=()
url_env=()
while IFS= read -r name; do
	unset_env+=(-u "$name")
done < <(compgen -e | grep -E '^TAU_(GATEWAY|TRANSPORT|CHANNEL|CONSOLE)_' || true)

total=0
passed=0
failed=0
timed_out=0
out_file=$(mktemp "${TMPDIR:-/tmp}/demo-gateway.XXXXXX")
trap 'rm -f "$out_file"' EXIT

step_failures=()

# Where the steps keep the state: STORE is the flags naming it.
if [ -n "$state_url" ]; then
	[ -n "$deployment" ] || deployment="demo-$(date +%s)-$$"
	# the URL reaches the steps through TAU_GATEWAY_STATE_URL, never their
	# command lines (ps would show a password it holds)
	STORE=(--gateway-deployment "$deployment")
	url_env=(TAU_GATEWAY_STATE_URL="$state_url")
	# a fresh deployment: the status inspect of one with no state exits 66
	env "${unset_env[@]}" "${url_env[@]}" "$binary" "${STORE[@]}" --gateway-status-inspect >/dev/null 2>"$out_file"
	rc=$?
	if [ "$rc" -eq 0 ]; then
		bad_usage "deployment '$deployment' already has state; the demo needs a new one"
	elif [ "$rc" -ne 66 ]; then
		echo "$DEMO cannot use the state database (exit $rc): $(cat "$out_file")" >&2
		exit 1
	fi
	echo "$DEMO state: PostgreSQL deployment $deployment"
else
	rm -rf "$repo_root/$STATE_REL"
	STORE=(--gateway-state-dir "$STATE_REL")
fi

# expect WHAT REGEX: the step's stdout has a line matching REGEX.
expect() {
	local what=$1 re=$2
	if ! grep -Eq -- "$re" "$out_file"; then
		step_failures+=("$what")
	fi
}

# expect_file FILE WHAT REGEX: FILE (pretty JSON) has a line matching REGEX.
expect_file() {
	local file=$1 what=$2 re=$3
	if [ ! -f "$file" ] || ! grep -Eq -- "$re" "$file"; then
		step_failures+=("$what")
	fi
}

# run_step N LABEL ARGS...: print the header, run the binary, capture stdout.
# Sets step_rc.  Posture checks follow the call; finish_step reports.
run_step() {
	local n=$1 label=$2
	shift 2
	local cmd
	cmd=$(printf '%q ' "$binary" "$@")
	cmd=${cmd% }
	# the state URL reaches the step through the environment; it may carry
	# a password, so it is never printed
	[ -z "$state_url" ] || cmd="TAU_GATEWAY_STATE_URL=<state-url> $cmd"
	total=$((total + 1))
	step_failures=()
	echo "$DEMO [$n] $label"
	echo "$DEMO command: $cmd"
	if [ -n "${TAU_DEMO_TRACE_LOG:-}" ]; then
		printf '%s\t%s\n' "$label" "$cmd" >>"$TAU_DEMO_TRACE_LOG"
	fi
	if [ -n "$timeout_seconds" ]; then
		env "${unset_env[@]}" "${url_env[@]}" timeout --kill-after=5 "$timeout_seconds" "$binary" "$@" >"$out_file"
	else
		env "${unset_env[@]}" "${url_env[@]}" "$binary" "$@" >"$out_file"
	fi
	step_rc=$?
	cat "$out_file"
}

finish_step() {
	local n=$1 label=$2 f
	if [ -n "$timeout_seconds" ] && [ "$step_rc" -eq 124 ]; then
		echo "$DEMO TIMEOUT $label after ${timeout_seconds}s" >&2
		timed_out=1
		failed=$((failed + 1))
		return
	fi
	if [ "$step_rc" -ne 0 ]; then
		echo "$DEMO FAIL $label exit=$step_rc" >&2
		failed=$((failed + 1))
		return
	fi
	if [ ${#step_failures[@]} -gt 0 ]; then
		for f in "${step_failures[@]}"; do
			echo "$DEMO FAIL $label (step $n): expected $f" >&2
		done
		failed=$((failed + 1))
		return
	fi
	echo "$DEMO PASS $label"
	passed=$((passed + 1))
}

S=$STATE_REL
STATE_JSON="$S/state.json"

# expect_posture WHAT-GATE WHAT-STATUS: after the runner, the stored posture
# has the guardrail gate pass and the service running (state.json, or the
# database's posture through the service status report).
expect_posture() {
	local file=$STATE_JSON gate_re='^    "gate": "pass",' status_re='^    "status": "running",'
	if [ -n "$state_url" ]; then
		file=$(mktemp "${TMPDIR:-/tmp}/demo-gateway-posture.XXXXXX")
		env "${unset_env[@]}" "${url_env[@]}" "$binary" "${STORE[@]}" --gateway-service-status \
			--gateway-service-status-json >"$file" 2>/dev/null
		gate_re='"guardrail_gate": "pass"'
		status_re='"service_status": "running"'
	fi
	expect_file "$file" "$1" "$gate_re"
	expect_file "$file" "$2" "$status_re"
	[ -z "$state_url" ] || rm -f "$file"
}

label=gateway-service-start
run_step 1 "$label" "${STORE[@]}" --gateway-service-start
expect "service_status=running" ' service_status=running '
expect "rollout_gate=pass" ' rollout_gate=pass '
expect "startup_attempts=1" ' startup_attempts=1 '
finish_step 1 "$label"

label=gateway-runner
run_step 2 "$label" --gateway-contract-runner --gateway-fixture "./$FIXTURE_REL" "${STORE[@]}"
expect "applied=2 failed=0" '^gateway runner summary: .* applied=2 .* failed=0 '
expect "health state=healthy" '^gateway runner health: state=healthy '
if [ -n "$state_url" ]; then
	expect_posture "guardrail gate pass in the posture" "service status running in the posture"
else
	expect_posture "guardrail gate pass in $STATE_JSON" "service status running in $STATE_JSON"
fi
finish_step 2 "$label"

label=transport-health-inspect-gateway
run_step 3 "$label" "${STORE[@]}" --transport-health-inspect gateway --transport-health-json
expect '"transport": "gateway"' '"transport": "gateway"'
expect '"failure_streak": 0' '"failure_streak": 0,'
expect '"last_cycle_completed": 2' '"last_cycle_completed": 2,'
finish_step 3 "$label"

label=gateway-status-inspect-running
run_step 4 "$label" "${STORE[@]}" --gateway-status-inspect --gateway-status-json
expect '"rollout_gate": "pass"' '"rollout_gate": "pass"'
expect '"service_status": "running"' '"service_status": "running"'
expect '"health_state": "healthy"' '"health_state": "healthy"'
expect '"cycle_reports": 1' '"cycle_reports": 1,'
finish_step 4 "$label"

label=gateway-service-stop
run_step 5 "$label" "${STORE[@]}" --gateway-service-stop --gateway-service-stop-reason demo_complete
expect "service_status=stopped" ' service_status=stopped '
expect "rollout_gate=hold rollout_reason_code=service_stopped" ' rollout_gate=hold rollout_reason_code=service_stopped '
expect "last_stop_reason=demo_complete" ' last_stop_reason=demo_complete '
finish_step 5 "$label"

label=gateway-service-status-stopped
run_step 6 "$label" "${STORE[@]}" --gateway-service-status --gateway-service-status-json
expect '"service_status": "stopped"' '"service_status": "stopped"'
expect '"rollout_gate": "hold"' '"rollout_gate": "hold"'
expect '"rollout_reason_code": "service_stopped"' '"rollout_reason_code": "service_stopped"'
finish_step 6 "$label"

label=gateway-status-inspect-stopped
run_step 7 "$label" "${STORE[@]}" --gateway-status-inspect --gateway-status-json
expect '"rollout_gate": "hold"' '"rollout_gate": "hold"'
expect '"rollout_reason_code": "service_stopped"' '"rollout_reason_code": "service_stopped"'
expect '"service_last_stop_reason": "demo_complete"' '"service_last_stop_reason": "demo_complete"'
finish_step 7 "$label"

label=channel-store-inspect-gateway-ops-release-bot
if [ -n "$state_url" ]; then
	run_step 8 "$label" "${STORE[@]}" --channel-store-inspect gateway/ops-release-bot
else
	run_step 8 "$label" --channel-store-root "$S/channel-store" --channel-store-inspect gateway/ops-release-bot
fi
expect "memory_exists=true" ' memory_exists=true '
expect "log_records=2 context_records=2" ' log_records=2 context_records=2 '
finish_step 8 "$label"

echo "$DEMO summary: total=$total passed=$passed failed=$failed"
if [ "$timed_out" -ne 0 ]; then
	exit 124
fi
[ "$failed" -eq 0 ]
