#!/usr/bin/env bash
# gateway_runtime_hostile_paths: a state directory whose files were replaced
# by symbolic links or a FIFO.  Every write path (runtime-events.jsonl, a
# channel store's log.jsonl, an actor directory, the cycle journal's undo of
# an interrupted cycle) refuses the link with exit 65 and a one-line message
# naming the refused path; the link's target, outside the state directory,
# keeps its bytes.  A FIFO as state.json fails every command at once (65)
# instead of hanging it.  Files the operator names are theirs: a fixture
# through a symlink or on standard input, a console log through a symlink,
# are used as given.
. "${TAU_SOURCE_DIR:-$(dirname "$0")/../..}/tests/lib.sh"

FIX=$FIXTURES/rollout-pass.json
ACTOR=channel-store/gateway/ops-release-bot
OUT=$T/outside
mkdir -p "$OUT"
VICTIM='precious bytes outside the state directory'

# run NAME DIR ARGS...: runs the binary under a bound (a hang fails fast)
run() {
	local dir=$1
	shift
	timeout 10 "$TAU_BIN" --gateway-state-dir "$dir" "$@" >"$T/out" 2>"$T/err"
}
# check_refused NAME RC REFUSED_PATH KIND VICTIM_FILE
check_refused() {
	local name=$1 rc=$2 path=$3 kind=$4 victim=$5
	t_eq "$name: exit 65" "65" "$rc"
	t_eq "$name: one-line message naming the path" \
		"tau-gateway: refusing $path: it is $kind, not a regular file" "$(cat "$T/err")"
	t_eq "$name: the target outside is untouched" "$VICTIM" "$(cat "$victim")"
}
cycle() { run "$1" --gateway-contract-runner --gateway-fixture "$FIX"; }

# --- runtime-events.jsonl is a symlink: lifecycle and runner appends ----------
for cmd in start stop runner; do
	D=$T/events-$cmd
	mkdir -p "$D"
	printf '%s' "$VICTIM" >"$OUT/events-$cmd"
	ln -s "$OUT/events-$cmd" "$D/runtime-events.jsonl"
	case $cmd in
	start) run "$D" --gateway-service-start ;;
	stop) run "$D" --gateway-service-stop ;;
	runner) cycle "$D" ;;
	esac
	check_refused "events symlink ($cmd)" "$?" "$D/runtime-events.jsonl" "a symbolic link" "$OUT/events-$cmd"
done

# --- a channel store's log.jsonl is a symlink --------------------------------
D=$T/log
mkdir -p "$D/$ACTOR"
printf '%s' "$VICTIM" >"$OUT/log"
ln -s "$OUT/log" "$D/$ACTOR/log.jsonl"
cycle "$D"
check_refused "log.jsonl symlink" "$?" "$D/$ACTOR/log.jsonl" "a symbolic link" "$OUT/log"
t_eq "log.jsonl symlink: the link itself is still there" "$OUT/log" "$(readlink "$D/$ACTOR/log.jsonl")"

# --- the actor directory is a symlink -----------------------------------------
D=$T/actor
mkdir -p "$D/channel-store/gateway" "$OUT/actor"
printf '%s' "$VICTIM" >"$OUT/actor/log.jsonl"
ln -s "$OUT/actor" "$D/$ACTOR"
cycle "$D"
rc=$?
t_eq "actor dir symlink: exit 65" "65" "$rc"
t_eq "actor dir symlink: message" \
	"tau-gateway: refusing $D/$ACTOR: it is a symbolic link, not a directory" "$(cat "$T/err")"
t_eq "actor dir symlink: log.jsonl outside untouched" "$VICTIM" "$(cat "$OUT/actor/log.jsonl")"
t_eq "actor dir symlink: nothing else written outside" "log.jsonl" "$(ls -A "$OUT/actor")"

# --- the journal's undo of an interrupted cycle -------------------------------
# A cycle ran; then a journal of an interrupted later cycle (its stamp is not
# the committed one) lists log.jsonl at size 0, and log.jsonl (or the actor
# directory) has been replaced by a link to a file outside.
for kind in file dir; do
	D=$T/journal-$kind
	cycle "$D"
	t_eq "journal ($kind): first cycle ok" "0" "$?"
	rm -rf "${D:?}/$ACTOR"
	if [ "$kind" = file ]; then
		mkdir -p "$D/$ACTOR"
		printf '%s' "$VICTIM" >"$OUT/journal-file"
		ln -s "$OUT/journal-file" "$D/$ACTOR/log.jsonl"
		victim=$OUT/journal-file
		refused=$D/$ACTOR/log.jsonl
		what="a symbolic link, not a regular file"
	else
		mkdir -p "$OUT/journal-dir"
		printf '%s' "$VICTIM" >"$OUT/journal-dir/log.jsonl"
		ln -s "$OUT/journal-dir" "$D/$ACTOR"
		victim=$OUT/journal-dir/log.jsonl
		refused=$D/$ACTOR
		what="a symbolic link, not a directory"
	fi
	printf 'tau-gateway cycle journal 1 1\n0 %s/log.jsonl\n' "$ACTOR" >"$D/.cycle-journal"
	cycle "$D"
	rc=$?
	t_eq "journal ($kind): exit 65" "65" "$rc"
	t_eq "journal ($kind): message" "tau-gateway: refusing $refused: it is $what" "$(cat "$T/err")"
	t_eq "journal ($kind): the target outside is not truncated" "$VICTIM" "$(cat "$victim")"
done

# --- state.json is a FIFO: every command fails at once --------------------------
D=$T/fifo
mkdir -p "$D"
mkfifo "$D/state.json"
for args in "--gateway-service-status" "--gateway-status-inspect" "--gateway-service-start" \
	"--gateway-service-stop" "--gateway-contract-runner --gateway-fixture $FIX"; do
	# shellcheck disable=SC2086 # the flag list splits on purpose
	run "$D" $args
	rc=$?
	t_eq "fifo state.json '$args': exit 65 (124 is a hang)" "65" "$rc"
	t_eq "fifo state.json '$args': message" \
		"tau-gateway: refusing $D/state.json: it is a FIFO, not a regular file" "$(cat "$T/err")"
done
t_check "fifo state.json: still a FIFO (not replaced)" test -p "$D/state.json"

# --- files the operator names are not state files --------------------------------
D=$T/named
mkdir -p "$D"
ln -s "$FIX" "$T/fixture-link.json"
run "$D" --gateway-contract-runner --gateway-fixture "$T/fixture-link.json"
rc=$?
t_eq "a fixture through a symlink is read (exit 0): $(cat "$T/err")" 0 "$rc"
timeout 10 "$TAU_BIN" --gateway-state-dir "$T/named-stdin" --gateway-contract-runner \
	--gateway-fixture /dev/stdin <"$FIX" >"$T/out" 2>"$T/err"
rc=$?
t_eq "a fixture on /dev/stdin is read (exit 0): $(cat "$T/err")" 0 "$rc"
t_match "the stdin cycle applied cases" 'applied=[1-9]' "$(cat "$T/out")"

t_done
