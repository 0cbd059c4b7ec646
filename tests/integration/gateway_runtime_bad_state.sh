#!/usr/bin/env bash
# gateway_runtime_bad_state: a corrupt, empty or wrong-schema state.json and
# an unwritable state directory.  Writers (runner, service start/stop) move a
# corrupt file aside to state.json.corrupt-<unix_ms> -- never overwrite it --
# say so on stderr and in a "state_recovered" event, and start fresh.  A
# wrong schema is refused (exit 65) and left untouched.  Read-only commands
# report the corruption (exit 65) and modify nothing.  A state dir that
# cannot be created exits 73 with a clear message.
. "${TAU_SOURCE_DIR:-$(dirname "$0")/../..}/tests/lib.sh"

snapshot() { (cd "$1" && find . -type f -exec md5sum {} + | LC_ALL=C sort); }
CORRUPT='{"schema_version": 1, "processed_case_keys": ["GET:/x:a"'

# check_moved_aside NAME DIR ORIGINAL_CONTENT: after a writer ran on DIR
check_moved_aside() {
	local name=$1 dir=$2 orig=$3 moved
	moved=$(ls "$dir" | grep -E '^state\.json\.corrupt-[0-9]{13}$')
	t_eq "$name: exactly one corrupt copy" "1" "$(printf '%s\n' "$moved" | grep -c .)"
	t_eq "$name: the corrupt copy holds the original bytes" "$orig" "$(cat "$dir/$moved")"
	t_match "$name: stderr warning names both paths" "^tau-gateway: warning: state file $dir/state.json is corrupt: .*; moved it to $dir/$moved and started fresh\$" "$(cat "$T/err")"
	t_eq "$name: new state.json parses" "ok" "$(python3 -c 'import json,sys; json.load(open(sys.argv[1])); print("ok")' "$dir/state.json" 2>&1)"
	t_contains "$name: state_recovered event" "\"kind\":\"state_recovered\",\"state_path\":\"$dir/state.json\",\"corrupt_path\":\"$dir/$moved\"" "$(cat "$dir/runtime-events.jsonl")"
}

# --- writers move a corrupt file aside ------------------------------------------
for writer in runner start stop; do
	for kind in truncated empty array wrongtype; do
		D=$T/$writer-$kind
		mkdir -p "$D"
		case $kind in
		truncated) printf '%s' "$CORRUPT" >"$D/state.json" ;;
		empty) : >"$D/state.json" ;;
		array) printf '[1, 2, 3]' >"$D/state.json" ;;
		wrongtype) printf '{"schema_version": 1, "requests": {"not": "an array"}}' >"$D/state.json" ;;
		esac
		orig=$(cat "$D/state.json")
		case $writer in
		runner) "$TAU_BIN" --gateway-contract-runner --gateway-fixture "$FIXTURES/rollout-pass.json" --gateway-state-dir "$D" >"$T/out" 2>"$T/err" ;;
		start) "$TAU_BIN" --gateway-service-start --gateway-state-dir "$D" >"$T/out" 2>"$T/err" ;;
		stop) "$TAU_BIN" --gateway-service-stop --gateway-state-dir "$D" >"$T/out" 2>"$T/err" ;;
		esac
		t_eq "$writer/$kind: exit 0" "0" "$?"
		check_moved_aside "$writer/$kind" "$D" "$orig"
	done
done

# A second corruption in the same dir keeps both copies.
D=$T/runner-truncated
printf 'garbage' >"$D/state.json"
"$TAU_BIN" --gateway-service-start --gateway-state-dir "$D" >/dev/null 2>"$T/err"
t_eq "second corruption: two corrupt copies kept" "2" "$(ls "$D" | grep -cE '^state\.json\.corrupt-')"
t_eq "second corruption: the first copy is untouched" "$CORRUPT" "$(cat "$(ls -d "$D"/state.json.corrupt-* | head -1)")"

# --- readers report corruption and modify nothing ----------------------------------
R=$T/reader
mkdir -p "$R"
printf '%s' "$CORRUPT" >"$R/state.json"
printf '{"kind":"cycle"}\n' >"$R/runtime-events.jsonl"
before=$(snapshot "$R")
for args in "--gateway-status-inspect" "--gateway-status-inspect --gateway-status-json" \
	"--transport-health-inspect gateway" "--transport-health-inspect gateway --transport-health-json" \
	"--gateway-service-status" "--gateway-service-status --gateway-service-status-json"; do
	# shellcheck disable=SC2086 # the flag list splits on purpose
	"$TAU_BIN" --gateway-state-dir "$R" $args >"$T/out" 2>"$T/err"
	t_eq "reader '$args' on corrupt state: exit 65" "65" "$?"
	t_match "reader '$args': message" "^tau-gateway: state file $R/state.json is corrupt: state: invalid JSON at line 1 column [0-9]+: " "$(cat "$T/err")"
	t_eq "reader '$args': nothing printed on stdout" "" "$(cat "$T/out")"
	t_eq "reader '$args': nothing modified" "$before" "$(snapshot "$R")"
done
t_eq "readers: no corrupt copy made" "0" "$(ls "$R" | grep -c corrupt)"

# --- wrong schema: refused, untouched --------------------------------------------------
W=$T/wrong-schema
mkdir -p "$W"
printf '{\n  "schema_version": 3,\n  "future": true\n}' >"$W/state.json"
before=$(snapshot "$W")
for args in "--gateway-contract-runner --gateway-fixture $FIXTURES/rollout-pass.json" "--gateway-service-start" \
	"--gateway-service-stop" "--gateway-service-status" "--gateway-status-inspect" "--transport-health-inspect gateway"; do
	# shellcheck disable=SC2086
	"$TAU_BIN" --gateway-state-dir "$W" $args >"$T/out" 2>"$T/err"
	t_eq "wrong schema '${args%% *}': exit 65" "65" "$?"
	t_eq "wrong schema '${args%% *}': message" "tau-gateway: unsupported state schema 3 in $W/state.json (expected 1 or 2); refusing to touch it" "$(cat "$T/err")"
	t_eq "wrong schema '${args%% *}': files untouched" "$before" "$(snapshot "$W" | grep -v ' ./.lock$')"
done
t_eq "wrong schema: no channel store, no events" "" "$(ls "$W" | grep -vx state.json)"

# --- unwritable state directory ----------------------------------------------------------
: >"$T/regular-file"
for args in "--gateway-contract-runner --gateway-fixture $FIXTURES/rollout-pass.json" "--gateway-service-start" "--gateway-service-stop"; do
	# shellcheck disable=SC2086
	"$TAU_BIN" --gateway-state-dir "$T/regular-file/state" $args >"$T/out" 2>"$T/err"
	t_eq "parent is a file '${args%% *}': exit 73" "73" "$?"
	t_eq "parent is a file '${args%% *}': message" "tau-gateway: cannot create directory $T/regular-file/state: Not a directory" "$(cat "$T/err")"
	# shellcheck disable=SC2086
	"$TAU_BIN" --gateway-state-dir "$T/regular-file" $args >"$T/out" 2>"$T/err"
	t_eq "state dir is a file '${args%% *}': exit 73" "73" "$?"
	t_eq "state dir is a file '${args%% *}': message" "tau-gateway: cannot create directory $T/regular-file: a file is in the way" "$(cat "$T/err")"
done
t_eq "the regular file is untouched" "0" "$(stat -c %s "$T/regular-file")"

# state.json that is a directory: refused as not a regular file (65), nothing replaced
mkdir -p "$T/dirstate/state.json"
"$TAU_BIN" --gateway-state-dir "$T/dirstate" --gateway-service-start >"$T/out" 2>"$T/err"
t_eq "state.json is a directory: exit 65" "65" "$?"
t_eq "state.json is a directory: message" "tau-gateway: refusing $T/dirstate/state.json: it is a directory, not a regular file" "$(cat "$T/err")"
t_eq "state.json is a directory: still a directory" "yes" "$([ -d "$T/dirstate/state.json" ] && echo yes)"

# Non-root users also get the permission case (tests usually run as root,
# where permission bits do not stop writes).
if [ "$(id -u)" -ne 0 ]; then
	mkdir -p "$T/ro"
	chmod 555 "$T/ro"
	"$TAU_BIN" --gateway-state-dir "$T/ro/state" --gateway-service-start >"$T/out" 2>"$T/err"
	t_eq "read-only parent: exit 73" "73" "$?"
	t_match "read-only parent: message" "^tau-gateway: cannot create directory $T/ro/state: Permission denied" "$(cat "$T/err")"
	chmod 755 "$T/ro"
fi

t_done
