#!/usr/bin/env bash
# gateway_runtime_store_crash: kill -9 runners while they write the records
# store.  First at exact points, with strace's syscall injection (SIGKILL on
# entering one syscall on one path): after the log append and before the
# state.json that commits it, before the append itself, before that
# state.json's rename, before a
# compaction's snapshot rename, between its commit and the clean-up (log cut,
# old snapshot removed), in the same steps of the compaction that upgrades
# a version 1 snapshot, and in a migration; after each, the store is
# consistent, the rerun applies the cycle's cases exactly once and every
# MEMORY.md is what lib/records.py renders from the records.  Then at
# random points spread over a runner's run - the migration of a schema 1 state.json holding 20k keys and
# records, then cycles of 4k cases whose records pass the log's compaction
# threshold (so kills land in appends, snapshot writes, state.json saves
# and the clean-up after them) - and check after every kill that the store
# is consistent: state.json parses, the snapshot it names exists and the
# log holds at least its committed bytes (lib/records.py reads both, as an
# independent reader of the layout), and state.json's counters equal what
# the store holds.  Then uninterrupted runs finish the work: every case is
# processed and logged exactly once, no snapshot but the current one is
# left, and the log is exactly its committed length.  (Sleeps here only
# choose kill points; nothing waits on them for readiness.)
. "${TAU_SOURCE_DIR:-$(dirname "$0")/../..}/tests/lib.sh"

N=${TAU_STORE_CRASH_CASES:-40000}
KILLS=${TAU_STORE_CRASH_KILLS:-12}
LEGACY=$((N / 2))
CHUNK=$((N / 10))
python3 "$TAU_SOURCE_DIR/bench/gen_fixture.py" "$N" "$T/big.json" --actors 100 --malformed-every 1000 --name store-crash
S=$T/state

RECORDS=$TAU_SOURCE_DIR/tests/integration/lib/records.py
command -v strace >/dev/null || { t_fail "strace is needed (scripts/setup.sh installs it)"; t_done; exit 1; }

# legacy DIR FIXTURE N: a schema 1 state.json (the layout before the store)
# with the fixture's first N cases processed and recorded, as an existing
# install has.
legacy() {
	python3 - "$2" "$1" "$3" <<'PY'
import json, os, sys
fx, d, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
os.makedirs(d)
cases = json.load(open(fx))["cases"][:n]
keys, reqs = [], []
def esc(s):
    return s.replace("%", "%25").replace(":", "%3A")
for c in cases:
    k = "%s:%s:%s" % (esc(c["method"].strip().upper()), esc(c["endpoint"].strip()), esc(c["case_id"].strip()))
    e = c["expected"]
    keys.append(k)
    reqs.append({"case_key": k, "case_id": c["case_id"], "method": c["method"].strip().upper(),
                 "endpoint": c["endpoint"].strip(), "actor_id": c["actor_id"], "status_code": e["status_code"],
                 "outcome": e["outcome"], "error_code": e.get("error_code", ""),
                 "response_body": e["response_body"], "updated_unix_ms": 1})
reqs.sort(key=lambda r: r["case_key"].encode())
json.dump({"schema_version": 1, "processed_case_keys": keys, "requests": reqs}, open(os.path.join(d, "state.json"), "w"), indent=2)
PY
}

# check DIR WHEN: the store is consistent (prints ok or what is wrong).
check() {
	python3 - "$1" "$RECORDS" "$2" <<'PY'
import glob, json, os, sys
d, lib, when = sys.argv[1], sys.argv[2], sys.argv[3]
sys.path.insert(0, os.path.dirname(lib))
import records
bad = []
try:
    s = json.load(open(os.path.join(d, "state.json")))
    if s["schema_version"] == 2:
        r = records.load(d)
        m = s["records"]
        if m["processed_case_count"] != len(r["processed_case_keys"]):
            bad.append("processed_case_count %d, store holds %d" % (m["processed_case_count"], len(r["processed_case_keys"])))
        if m["request_count"] != len(r["requests"]):
            bad.append("request_count %d, store holds %d" % (m["request_count"], len(r["requests"])))
        if len(set(r["processed_case_keys"])) != len(r["processed_case_keys"]):
            bad.append("a key is processed twice")
        meth = {}
        for q in r["requests"]:
            meth[q["method"].strip().upper()] = meth.get(q["method"].strip().upper(), 0) + 1
        meth.pop("", None)
        if meth != m["method_counts"]:
            bad.append("method_counts %s, store holds %s" % (m["method_counts"], meth))
        snaps = glob.glob(os.path.join(d, "records-*.snap"))
        cur = os.path.join(d, "records-%d.snap" % m["generation"])
        if when == "final":
            if snaps != ([cur] if m["generation"] else []):
                bad.append("snapshots left: %s" % [os.path.basename(p) for p in snaps])
            log = os.path.join(d, "records.log")
            if (os.path.getsize(log) if os.path.exists(log) else 0) != m["log_bytes"]:
                bad.append("records.log is not its committed length")
        elif len(snaps) > 2:
            bad.append("more than one stale snapshot: %d" % len(snaps))
    elif when == "final":
        bad.append("still schema %s" % s["schema_version"])
except Exception as e:  # noqa: BLE001 - any failure is the finding
    bad.append("%s: %s" % (type(e).__name__, e))
if glob.glob(os.path.join(d, "*.corrupt-*")):
    bad.append("something was moved aside as corrupt")
print("ok" if not bad else "; ".join(bad[:3]))
PY
}

# processed DIR: how many keys are processed (each once, else "dupes").
processed() {
	python3 "$RECORDS" "$1" | python3 -c 'import json,sys; k=json.load(sys.stdin)["processed_case_keys"]; print(len(k) if len(k)==len(set(k)) else "dupes")'
}
# logged_once DIR: "<lines> <repeats>" over the channel store's log lines.
logged_once() {
	cat "$1"/channel-store/gateway/*/log.jsonl | python3 -c '
import json, sys
keys = [json.loads(l)["event_key"] for l in sys.stdin]
print(len(keys), len(keys) - len(set(keys)))'
}

# memory_mismatches DIR: how many actors' MEMORY.md differ from lib/records.py's
# render of their records.
memory_mismatches() {
	python3 "$RECORDS" --memory-check "$1"
}

# ---- exact kill points ---------------------------------------------------------
python3 "$TAU_SOURCE_DIR/bench/gen_fixture.py" 4000 "$T/k1.json" --actors 20 --malformed-every 0 --name k1
python3 "$TAU_SOURCE_DIR/bench/gen_fixture.py" 300 "$T/k2.json" --actors 20 --malformed-every 0 --first 4000 --name k2
python3 "$TAU_SOURCE_DIR/bench/gen_fixture.py" 4000 "$T/k3.json" --actors 20 --malformed-every 0 --first 4300 --name k3
python3 "$TAU_SOURCE_DIR/bench/gen_fixture.py" 300 "$T/k4.json" --actors 20 --malformed-every 0 --first 8300 --name k4
cycle() { "$TAU_BIN" --gateway-contract-runner --gateway-fixture "$1" --gateway-state-dir "$2" --gateway-queue-limit 10000 --gateway-processed-case-cap 100000; }
# base: generation 1 (k1: 4000 records, past the log's 1 MiB) plus a log (k2)
B=$T/base
cycle "$T/k1.json" "$B" >/dev/null && cycle "$T/k2.json" "$B" >/dev/null
t_eq "base: generation 1 and a log" "1 yes" \
	"$(jq -r .records.generation "$B/state.json") $([ "$(jq -r .records.log_bytes "$B/state.json")" -gt 0 ] && echo yes)"
legacy "$T/legacy" "$T/k1.json" 4000

# point NAME BASE FIXTURE TOTAL SYSCALL FILE: runs a cycle of FIXTURE on a
# copy of BASE killed on entering the first SYSCALL that names FILE in it
# (as a rename's target), checks the store, reruns the cycle uninterrupted
# and checks that TOTAL keys are processed and every channel line is there
# once.  Which call that is (the Nth SYSCALL) is found by tracing the same
# cycle on another copy first: the cycle's calls come in a fixed order.
point() {
	local name=$1 base=$2 fx=$3 total=$4 sc=$5 file=$6 d=$T/point-$1 n
	rm -rf "$d" "$d-trace"
	cp -a "$base" "$d"
	cp -a "$base" "$d-trace"
	strace -f -qq -y -o "$T/trace" -e trace="$sc" \
		"$TAU_BIN" --gateway-contract-runner --gateway-fixture "$fx" --gateway-state-dir "$d-trace" \
		--gateway-queue-limit 10000 --gateway-processed-case-cap 100000 >/dev/null 2>&1
	n=$(grep -v -e '^[0-9]* +++' -e '^[0-9]* ---' "$T/trace" | grep -n -m 1 -E "(, |\(|<)\"?$d-trace/$file(\"\)|>)" | cut -d: -f1)
	t_match "$name: the cycle makes that call" '^[0-9]+$' "$n"
	strace -f -qq -o /dev/null -e inject="$sc":signal=KILL:when="${n:-1}" \
		"$TAU_BIN" --gateway-contract-runner --gateway-fixture "$fx" --gateway-state-dir "$d" \
		--gateway-queue-limit 10000 --gateway-processed-case-cap 100000 >/dev/null 2>&1
	t_eq "$name: killed there" "137" "$?"
	t_eq "$name: store consistent after the kill" "ok" "$(check "$d" kill)"
	cycle "$fx" "$d" >/dev/null 2>"$T/err"
	t_eq "$name: the rerun completes" "0" "$?"
	t_eq "$name: store consistent, cleaned up" "ok" "$(check "$d" final)"
	t_eq "$name: $total keys, each processed once" "$total" "$(processed "$d")"
	local lines
	lines=$(logged_once "$d")
	t_eq "$name: no channel line twice" "0" "${lines#* }"
	t_eq "$name: every MEMORY.md the reference render" "0" "$(memory_mismatches "$d")"
}
# an append (k4 over the base adds 300 records: under the threshold)
point append-write "$T/base" "$T/k4.json" 4600 write records.log
point append-synced "$T/base" "$T/k4.json" 4600 fdatasync records.log
point append-commit "$T/base" "$T/k4.json" 4600 rename state.json
# a compaction (k3: 4000 more records passes it)
point compact-snapshot "$T/base" "$T/k3.json" 8300 rename records-2.snap
point compact-commit "$T/base" "$T/k3.json" 8300 rename state.json
point compact-cut-log "$T/base" "$T/k3.json" 8300 ftruncate records.log
point compact-drop-old "$T/base" "$T/k3.json" 8300 unlink records-1.snap
# the upgrade of a version 1 snapshot (no MEMORY.md lines): the first save
# compacts it into version 2 even under the log threshold
cp -a "$T/base" "$T/base-v1"
python3 "$RECORDS" --to-v1 "$T/base-v1"
point upgrade-snapshot "$T/base-v1" "$T/k4.json" 4600 rename records-2.snap
point upgrade-commit "$T/base-v1" "$T/k4.json" 4600 rename state.json
point upgrade-drop-old "$T/base-v1" "$T/k4.json" 4600 unlink records-1.snap
# a migration of a schema 1 state.json
point migrate-snapshot "$T/legacy" "$T/k2.json" 4300 rename records-1.snap
point migrate-commit "$T/legacy" "$T/k2.json" 4300 rename state.json

# ---- random kill points over migration and compaction ------------------------------
legacy "$S" "$T/big.json" "$LEGACY"
t_eq "legacy state: status inspect reads it as before" "processed_case_count=$LEGACY request_count=$LEGACY" \
	"$("$TAU_BIN" --gateway-state-dir "$S" --gateway-status-inspect | grep -oE 'processed_case_count=[0-9]+ request_count=[0-9]+')"

RUN=("$TAU_BIN" --gateway-contract-runner --gateway-fixture "$T/big.json" --gateway-state-dir "$S"
	--gateway-queue-limit "$CHUNK" --gateway-processed-case-cap "$N")

# How long a cycle takes here (the first, the migration, on a copy).
cp -r "$S" "$T/timing"
start=$(date +%s%N)
"${RUN[@]/$S/$T/timing}" >/dev/null 2>&1
full_ms=$((($(date +%s%N) - start) / 1000000))
rm -rf "$T/timing"
echo "# the migrating cycle takes ${full_ms} ms here"

completed=0
for ((k = 1; k <= KILLS; k++)); do
	delay_ms=$((full_ms * (k % 8 + 1) / 9 - RANDOM % 20))
	((delay_ms < 1)) && delay_ms=1
	t0=$(date +%s%N)
	"${RUN[@]}" >/dev/null 2>&1 &
	pid=$!
	sleep "$(printf '%d.%03d' $((delay_ms / 1000)) $((delay_ms % 1000)))"
	if kill -9 "$pid" 2>/dev/null; then
		wait "$pid" 2>/dev/null
	else
		wait "$pid" 2>/dev/null
		completed=$((completed + 1))
		full_ms=$((($(date +%s%N) - t0) / 1000000))
	fi
	t_eq "kill $k at ${delay_ms} ms: store consistent" "ok" "$(check "$S" "kill $k")"
done
echo "# $completed of $KILLS runs finished before their kill"
if [ "$completed" -lt "$KILLS" ]; then
	t_ok "$((KILLS - completed)) runs were killed partway"
else
	t_fail "every run finished before its kill: no crash was tested"
fi

# Uninterrupted runs finish the work.
rc=0
for ((i = 0; i < 12; i++)); do
	"${RUN[@]}" >"$T/out" 2>"$T/err" || { rc=$?; break; }
	grep -q ' applied=0 ' "$T/out" && grep -q ' malformed=0 ' "$T/out" && break
done
t_eq "final runs: exit 0" "0" "$rc"
t_eq "final: store consistent, one snapshot, log at its committed length" "ok" "$(check "$S" final)"
t_eq "final: every case processed once" "$N" "$(processed "$S")"
t_eq "final: every MEMORY.md the reference render" "0" "$(memory_mismatches "$S")"
"${RUN[@]}" >"$T/out" 2>&1
t_contains "a rerun only dedupes" "applied=0 duplicate_skips=$N " "$(cat "$T/out")"
# the legacy half was processed before the store existed: only the other
# half reaches the channel store, each case once
t_eq "every new case logged exactly once" "$((N - LEGACY)) 0" "$(logged_once "$S")"
"$TAU_BIN" --gateway-state-dir "$S" --gateway-status-inspect >"$T/out"
t_contains "status inspect: the counts" "processed_case_count=$N request_count=$N " "$(cat "$T/out")"

t_done
