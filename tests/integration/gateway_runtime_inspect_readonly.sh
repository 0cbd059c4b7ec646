#!/usr/bin/env bash
# gateway_runtime_inspect_readonly: the inspect commands (and service status)
# never create or modify files: a missing state dir stays missing, and on a
# populated one every file keeps its checksum, size and mtime, and no file
# (lock, temp, channel-store layout) appears.  On PostgreSQL: a missing
# deployment gets no row, and on a populated one no row of any table
# changes (t_state_digest; the deployment's row included).
# backends: files pg
# shellcheck disable=SC2046 # $(t_state_args DIR): its flags, one a line, no blanks
. "${TAU_SOURCE_DIR:-$(dirname "$0")/../..}/tests/lib.sh"
. "$TAU_SOURCE_DIR/tests/integration/lib/backend.sh"

# snapshot DIR: every file's name, size, mtime, inode and digest (on pg,
# every row stored for DIR)
snapshot() {
	if t_on_pg; then
		t_state_digest "$1"
	else
		(cd "$1" && find . -exec stat -c '%n %s %Y %i' {} + | LC_ALL=C sort && find . -type f -exec md5sum {} + | LC_ALL=C sort)
	fi
}

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
	"$TAU_BIN" $(t_state_args "$M") $args >"$T/out" 2>"$T/err"
	rc=$?
	case $args in
	--gateway-service-status*) t_eq "missing dir '$args': default posture, exit 0" "0" "$rc" ;;
	*) t_eq "missing dir '$args': exit 66" "66" "$rc" ;;
	esac
	t_eq "missing dir '$args': nothing created" "no" "$({ [ -e "$T/missing" ] || t_state_written "$M"; } && echo yes || echo no)"
done
"$TAU_BIN" $(t_state_args "$M") --gateway-status-inspect 2>"$T/err"
# (a posture row is no file: "state <posture>" on pg)
if t_on_pg; then what=state; else what="state file"; fi
t_eq "missing dir: status inspect message" "tau-gateway: $what <posture> does not exist (run --gateway-service-start or --gateway-contract-runner first)" "$(t_state_norm "$M" <"$T/err")"
"$TAU_BIN" $(t_state_args "$M") --gateway-service-status >"$T/out"
t_contains "missing dir: service status reports the default posture" "service_status=running rollout_gate=pass" "$(cat "$T/out")"
if t_files_only "--channel-store-root names a directory"; then
	"$TAU_BIN" --channel-store-root "$T/missing/store" --channel-store-inspect gateway/x 2>"$T/err"
	t_eq "missing store root: exit 66" "66" "$?"
	t_eq "missing store root: nothing created" "no" "$([ -e "$T/missing" ] && echo yes || echo no)"
fi

# --- a populated state dir is not modified ----------------------------------------
S=$T/state
"$TAU_BIN" --gateway-service-start $(t_state_args "$S") >/dev/null
"$TAU_BIN" --gateway-contract-runner --gateway-fixture "$FIXTURES/mixed-outcomes.json" $(t_state_args "$S") >/dev/null
before=$(snapshot "$S")
if ! t_on_pg; then
	# state dir without the lock file: readers must not create it either
	rm -f "$S/.lock"
	before=$(snapshot "$S")
	sleep 1 # mtimes have 1 s resolution in the snapshot; a rewrite would show
fi
for args in "${READERS[@]}"; do
	# shellcheck disable=SC2086
	"$TAU_BIN" $(t_state_args "$S") $args >"$T/out" 2>"$T/err"
	rc=$?
	case $args in
	*nobody) t_eq "populated '$args': unknown actor exit 66" "66" "$rc" ;;
	*) t_eq "populated '$args': exit 0" "0" "$rc" ;;
	esac
	t_eq "populated '$args': nothing created or modified" "$before" "$(snapshot "$S")"
done

# --- the events log is only read: its bytes stay the same --------------------
for _ in $(seq 1 10); do
	"$TAU_BIN" --gateway-contract-runner --gateway-fixture "$FIXTURES/mixed-outcomes.json" $(t_state_args "$S") >/dev/null
done
sum=$(t_events "$S" | md5sum)
before=$(snapshot "$S")
"$TAU_BIN" $(t_state_args "$S") --gateway-status-inspect >"$T/out"
t_contains "status inspect: 11 cycle reports" " cycle_reports=11 " "$(cat "$T/out")"
t_eq "status inspect: events log unchanged" "$sum" "$(t_events "$S" | md5sum)"
t_eq "status inspect: nothing else changed" "$before" "$(snapshot "$S")"

t_done
