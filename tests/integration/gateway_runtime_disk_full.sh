#!/usr/bin/env bash
# gateway_runtime_disk_full: a state directory on a full file system (a
# small tmpfs, filled).  A runner cycle and a lifecycle start or stop fail
# with exit 73 and a one-line message naming the file and "No space left on
# device"; state.json, runtime-events.jsonl and the channel store keep their
# previous bytes and still parse, and the read-only commands still answer.
# Once space is freed the next cycle and transition succeed.  Needs root
# for mount(8); skipped (with a message) where mounting a tmpfs is refused.
. "${TAU_SOURCE_DIR:-$(dirname "$0")/../..}/tests/lib.sh"

. "$TAU_SOURCE_DIR/tests/integration/lib/diskfull.sh"
df_mount 512k

D=$MNT/state
FIX=$FIXTURES/rollout-pass.json
# every file but the lock and the MEMORY.md spares (".MEMORY.md.spare": the
# runner's scratch, overwritten before each exchange and never read)
snapshot() { (cd "$D" && find . -type f ! -name .lock ! -name '.*.spare' -exec md5sum {} + | LC_ALL=C sort); }
run() { timeout 20 "$TAU_BIN" --gateway-state-dir "$D" "$@" >"$T/out" 2>"$T/err"; }

# --- the previous state -----------------------------------------------------------
run --gateway-service-start
t_eq "setup: start" 0 "$?"
run --gateway-contract-runner --gateway-fixture "$FIX"
t_eq "setup: first cycle" 0 "$?"
before=$(snapshot)
status_before=$("$TAU_BIN" --gateway-state-dir "$D" --gateway-service-status --gateway-service-status-json)

# --- the disk fills --------------------------------------------------------------------
df_fill
t_eq "the file system is full" "" "$( (printf 'x' >"$MNT/probe") 2>&1 >/dev/null | grep -v 'No space left' )"
t_check "the probe could not be written" test ! -s "$MNT/probe"

# a runner cycle with new cases (a fixture with a fresh case id), then a
# lifecycle transition (the service runs: a stop): each fails with 73 and
# names the file it could not write
python3 - "$FIX" "$T/new.json" <<'EOF'
import json, sys
f = json.load(open(sys.argv[1]))
for c in f["cases"]:
    c["case_id"] += "-again"
json.dump(f, open(sys.argv[2], "w"))
EOF
for what in runner stop; do
	case $what in
	runner) run --gateway-contract-runner --gateway-fixture "$T/new.json" ;;
	stop) run --gateway-service-stop --gateway-service-stop-reason disk_full_drill ;;
	esac
	rc=$?
	t_eq "$what on a full disk: exit 73" 73 "$rc"
	t_match "$what on a full disk: one line naming the file" \
		"^tau-gateway: cannot write $D/[^ ]+: No space left on device\$" "$(cat "$T/err")"
	t_eq "$what on a full disk: one line only" 1 "$(wc -l <"$T/err")"
	t_eq "$what on a full disk: previous files unchanged" "$before" "$(snapshot)"
done

# a start of the running service writes nothing, so a full disk is no matter
run --gateway-service-start
t_eq "start of a running service on a full disk: exit 0" 0 "$?"
t_eq "...says it records nothing" "tau-gateway: already running; nothing recorded" "$(cat "$T/err")"
t_eq "...previous files unchanged" "$before" "$(snapshot)"

# the previous state is still readable, by the files and by the commands
t_eq "state.json parses" ok "$(python3 -c 'import json,sys; json.load(open(sys.argv[1])); print("ok")' "$D/state.json" 2>&1)"
t_eq "runtime-events.jsonl parses line by line" ok "$(df_jsonl_ok "$D/runtime-events.jsonl")"
for f in "$D"/channel-store/gateway/*/log.jsonl "$D"/channel-store/gateway/*/context.jsonl; do
	t_eq "${f#"$D"/} parses line by line" ok "$(df_jsonl_ok "$f")"
done
t_eq "service status still answers, unchanged" "$status_before" \
	"$("$TAU_BIN" --gateway-state-dir "$D" --gateway-service-status --gateway-service-status-json 2>&1)"
run --gateway-status-inspect
t_eq "status inspect still answers" 0 "$?"
t_check "no temp file left behind" test -z "$(find "$D" -name '*.tmp-*')"

# --- nearly full: k free pages, so a cycle fails at each later write in turn ----------------
# (the journal, an append, MEMORY.md, state.json).  Each cycle either commits
# (exit 0) or fails with 73 and leaves every file as it was: its appends are
# undone at once, not left for the next run.
failed=0
for k in 1 2 3 4 5 6; do
	python3 - "$FIX" "$T/k$k.json" "$k" <<'EOF'
import json, sys
f = json.load(open(sys.argv[1]))
for c in f["cases"]:
    c["case_id"] += "-k" + sys.argv[3]
json.dump(f, open(sys.argv[2], "w"))
EOF
	rm -f "$MNT/filler"
	df_fill
	truncate -s -$((k * 4096)) "$MNT/filler"
	prev=$(snapshot)
	run --gateway-contract-runner --gateway-fixture "$T/k$k.json"
	rc=$?
	if [ "$rc" -eq 73 ]; then
		failed=$((failed + 1))
		t_eq "$k free pages: the failed cycle left every file as it was" "$prev" "$(snapshot)"
	else
		t_eq "$k free pages: exit 0 or 73" 0 "$rc"
		t_contains "$k free pages: the cycle applied its cases" "applied=2 " "$(cat "$T/out")"
	fi
	t_eq "$k free pages: state.json parses" ok "$(python3 -c 'import json,sys; json.load(open(sys.argv[1])); print("ok")' "$D/state.json" 2>&1)"
	for f in "$D"/runtime-events.jsonl "$D"/channel-store/gateway/*/*.jsonl; do
		t_eq "$k free pages: ${f#"$D"/} parses" ok "$(df_jsonl_ok "$f")"
	done
done
t_check "some nearly-full cycle failed part-way (else the sweep tests nothing)" test "$failed" -gt 0
before=$(snapshot)

# --- space comes back: everything works again ------------------------------------------
rm -f "$MNT/filler" "$MNT/probe"
run --gateway-contract-runner --gateway-fixture "$T/new.json"
t_eq "after freeing space: the cycle runs" 0 "$?"
t_contains "after freeing space: the new cases are applied" "applied=2 " "$(cat "$T/out")"
run --gateway-service-stop --gateway-service-stop-reason disk_full_drill
t_eq "after freeing space: stop" 0 "$?"
t_eq "runtime-events.jsonl still parses" ok "$(df_jsonl_ok "$D/runtime-events.jsonl")"

t_done
