#!/usr/bin/env bash
# gateway_runtime_concurrency: 4 processes x 50 rounds of service start,
# service stop and a runner cycle on one state directory, while a reader
# keeps parsing state.json.  Every read parses (rename is atomic), no update
# is lost (a start or stop that changes the posture records one lifecycle
# line, a repeated one records nothing, so the lines alternate start/stop and
# startup_attempts counts the start lines),
# and every events line is whole.  On PostgreSQL the same commands on one
# deployment: the reader parses the posture row (a row is written whole by
# its transaction), no update is lost and every event row is whole.
# backends: files pg
. "${TAU_SOURCE_DIR:-$(dirname "$0")/../..}/tests/lib.sh"
. "$TAU_SOURCE_DIR/tests/integration/lib/backend.sh"

WORKERS=4
ROUNDS=50
S=$T/state
t_on_pg || mkdir -p "$S"
ST=()
t_state ST "$S"
python3 "$TAU_SOURCE_DIR/bench/gen_fixture.py" 40 "$T/f40.json" --actors 5 --malformed-every 7 --name conc-40

# The reader: parses the posture (state.json, or on pg the posture row
# read by a psql kept open) in a loop until $T/stop exists; prints
# "<reads> <failures>" and the first failure, if any.
cat >"$T/reader.py" <<'PY'
import base64, json, os, subprocess, sys, time
path, stop = sys.argv[1], sys.argv[2]
reads = fails = 0
first = ""
psql = None
if path.startswith("postgresql"):
    url, dep = path.split(" ", 1)
    psql = subprocess.Popen(["psql", "-X", "-q", "-At", "-d", url, "-v", "dep=" + dep],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
def read():
    if psql is None:
        with open(path) as f:
            return f.read()
    # one row of base64 (the pretty JSON has newlines), or an empty line
    psql.stdin.write("SELECT coalesce((SELECT encode(convert_to(posture, 'UTF8'), 'base64') FROM tau_deployment"
                     " WHERE name = :'dep' AND posture IS NOT NULL), '');\n\\echo END\n")
    psql.stdin.flush()
    out = []
    for line in psql.stdout:
        if line == "END\n":
            break
        out.append(line.strip())
    text = base64.b64decode("".join(out)).decode()
    if not text:
        raise FileNotFoundError
    return text
while not os.path.exists(stop):
    if psql is not None:
        time.sleep(0.002)  # (a pace, not a wait: each read is a round trip to the server)
    try:
        text = read()
    except FileNotFoundError:
        continue
    reads += 1
    try:
        d = json.loads(text)
        assert d["schema_version"] == 2
    except Exception as e:  # noqa: BLE001 - any failure counts
        fails += 1
        first = first or "%s: %r" % (e, text[:120])
print(reads, fails, first)
PY
if t_on_pg; then
	t_spawn READER python3 "$T/reader.py" "$TB_URL $(t_state_dep "$S")" "$T/stop"
else
	t_spawn READER python3 "$T/reader.py" "$S/state.json" "$T/stop"
fi

worker() {
	local w=$1 r fx rc=0
	for ((r = 0; r < ROUNDS; r++)); do
		"$TAU_BIN" "${ST[@]}" --gateway-service-start >/dev/null || rc=1
		if ((r % 2)); then fx=$FIXTURES/mixed-outcomes.json; else fx=$T/f40.json; fi
		"$TAU_BIN" --gateway-contract-runner --gateway-fixture "$fx" "${ST[@]}" \
			--gateway-queue-limit 16 >/dev/null || rc=1
		"$TAU_BIN" "${ST[@]}" --gateway-service-stop \
			--gateway-service-stop-reason "w$w-r$r" >/dev/null || rc=1
	done
	echo "$rc" >"$T/worker-$w.rc"
}
pids=()
for ((w = 0; w < WORKERS; w++)); do
	worker "$w" &
	pids+=($!)
done
for pid in "${pids[@]}"; do wait "$pid"; done
touch "$T/stop"
wait "$READER"

for ((w = 0; w < WORKERS; w++)); do
	t_eq "worker $w: every command exited 0" "0" "$(cat "$T/worker-$w.rc")"
done
read -r reads fails first <"$T/READER.out"
t_eq "reader: every posture read parsed ($reads reads)" "0" "$fails${first:+ ($first)}"
t_match "reader: it did read" "^[1-9][0-9]*$" "$reads"

N_RUN=$((WORKERS * ROUNDS))
t_events "$S" >"$T/events"
t_eq "one cycle line per runner invocation" "$N_RUN" "$(grep -c '"kind":"cycle"' "$T/events")"
# a start of a running service or a stop of a stopped one records nothing:
# serialised, the recorded transitions alternate (two starts or two stops in
# a row would be a read-modify-write that missed the other's write)
t_eq "lifecycle lines alternate start/stop" "ok" "$(grep '"kind":"lifecycle"' "$T/events" |
	sed -E 's/.*"transition":"([a-z_]+)".*/\1/' | awk '
	$0 == prev { print "two " $0 "s in a row at line " NR; bad = 1; exit }
	{ prev = $0 } END { if (!bad && NR > 0) print "ok"; if (NR == 0) print "no lifecycle lines" }')"
starts=$(grep -c '"transition":"start"' "$T/events")
t_eq "every events line parses" "ok" "$(python3 -c '
import json, sys
for n, line in enumerate(open(sys.argv[1]), 1):
    try:
        json.loads(line)
    except Exception:
        print("line", n, "torn:", line[:80]); sys.exit()
print("ok")' "$T/events")"
t_eq "no lost update: startup_attempts counts every recorded start" "$starts" "$(t_posture_jq "$S" .service.startup_attempts)"
t_eq "the last command was a stop" "stopped" "$(t_posture_jq "$S" .service.status)"
t_files_only "temp files of state.json" &&
	t_eq "no temp files left" "" "$(ls -A "$S" | grep -E '^\.state\.json\.tmp' || true)"
"$TAU_BIN" "${ST[@]}" --gateway-status-inspect >"$T/out"
t_contains "status inspect counts only the cycle lines" " cycle_reports=$N_RUN invalid_cycle_reports=0 " "$(cat "$T/out")"
# 40 generated + 3 mixed cases: every one processed once (retryable ones
# are stored but not marked processed).
t_eq "processed keys: each non-retryable case once" "42" \
	"$(t_records "$S" | python3 -c 'import json,sys; k=json.load(sys.stdin)["processed_case_keys"]; print(len(k) if len(k)==len(set(k)) else "dupes")')"

t_done
