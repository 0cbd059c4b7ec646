#!/usr/bin/env bash
# gateway_runtime_inspect_readonly: the inspect commands (and service status)
# never create or modify files: a missing state dir stays missing, and on a
# populated one every file keeps its checksum, size and mtime, and no file
# (lock, temp, channel-store layout) appears.
. "${TAU_SOURCE_DIR:-$(dirname "$0")/../..}/tests/lib.sh"

snapshot() { (cd "$1" && find . -exec stat -c '%n %s %Y %i' {} + | LC_ALL=C sort && find . -type f -exec md5sum {} + | LC_ALL=C sort); }

READERS=(
	"--gateway-status-inspect"
	"--gateway-status-inspect --gateway-status-json"
	"--transport-health-inspect gateway"
	"--transport-health-inspect gateway --transport-health-json"
	"--gateway-service-status"
	"--gateway-service-status --gateway-service-status-json"
	"--channel-store-inspect gateway/ops-bot"
	"--channel-store-inspect gateway/nobody"
)

# --- a missing state dir stays missing ------------------------------------------
M=$T/missing/state
for args in "${READERS[@]}"; do
	# shellcheck disable=SC2086 # the flag list splits on purpose
	"$TAU_BIN" --gateway-state-dir "$M" $args >"$T/out" 2>"$T/err"
	rc=$?
	case $args in
	--gateway-service-status*) t_eq "missing dir '$args': default posture, exit 0" "0" "$rc" ;;
	*) t_eq "missing dir '$args': exit 66" "66" "$rc" ;;
	esac
	t_eq "missing dir '$args': nothing created" "no" "$([ -e "$T/missing" ] && echo yes || echo no)"
done
"$TAU_BIN" --gateway-state-dir "$M" --gateway-status-inspect 2>"$T/err"
t_eq "missing dir: status inspect message" "tau-gateway: state file $M/state.json does not exist (run --gateway-service-start or --gateway-contract-runner first)" "$(cat "$T/err")"
"$TAU_BIN" --gateway-state-dir "$M" --gateway-service-status >"$T/out"
t_contains "missing dir: service status reports the default posture" "service_status=running rollout_gate=pass" "$(cat "$T/out")"
"$TAU_BIN" --channel-store-root "$T/missing/store" --channel-store-inspect gateway/x 2>"$T/err"
t_eq "missing store root: exit 66" "66" "$?"
t_eq "missing store root: nothing created" "no" "$([ -e "$T/missing" ] && echo yes || echo no)"

# --- a populated state dir is not modified ----------------------------------------
S=$T/state
"$TAU_BIN" --gateway-service-start --gateway-state-dir "$S" >/dev/null
"$TAU_BIN" --gateway-contract-runner --gateway-fixture "$FIXTURES/mixed-outcomes.json" --gateway-state-dir "$S" >/dev/null
# state dir without the lock file: readers must not create it either
rm -f "$S/.lock"
before=$(snapshot "$S")
sleep 1 # mtimes have 1 s resolution in the snapshot; a rewrite would show
for args in "${READERS[@]}"; do
	# shellcheck disable=SC2086
	"$TAU_BIN" --gateway-state-dir "$S" $args >"$T/out" 2>"$T/err"
	rc=$?
	case $args in
	*nobody) t_eq "populated '$args': unknown actor exit 66" "66" "$rc" ;;
	*) t_eq "populated '$args': exit 0" "0" "$rc" ;;
	esac
	t_eq "populated '$args': nothing created or modified" "$before" "$(snapshot "$S")"
done

# --- the events log is only read: its bytes stay the same --------------------
for _ in $(seq 1 10); do
	"$TAU_BIN" --gateway-contract-runner --gateway-fixture "$FIXTURES/mixed-outcomes.json" --gateway-state-dir "$S" >/dev/null
done
sum=$(md5sum <"$S/runtime-events.jsonl")
"$TAU_BIN" --gateway-state-dir "$S" --gateway-status-inspect >"$T/out"
t_contains "status inspect: 11 cycle reports" " cycle_reports=11 " "$(cat "$T/out")"
t_eq "status inspect: events log unchanged" "$sum" "$(md5sum <"$S/runtime-events.jsonl")"

t_done
