#!/usr/bin/env bash
# gateway_runtime_memory_lines: every touched actor's MEMORY.md, now spliced
# from the MEMORY.md lines a version 2 snapshot keeps, is byte for byte what
# the reference renders from the actor's records (lib/records.py --memory,
# an independent reader): after a first cycle (the snapshot), after cycles
# whose records sit in the log, with case ids whose key literals sort
# differently from the keys (a space and '!' sort below the closing quote,
# an escaped quote), after a compaction, and on a version 1 snapshot (the
# layout before the lines, written by lib/records.py --to-v1): that cycle
# renders from the records and its save rewrites the snapshot as version 2.
. "${TAU_SOURCE_DIR:-$(dirname "$0")/../..}/tests/lib.sh"

G=$TAU_SOURCE_DIR/bench/gen_fixture.py
R=$TAU_SOURCE_DIR/tests/integration/lib/records.py
S=$T/state
python3 "$G" 4000 "$T/k1.json" --actors 20 --malformed-every 0 --name k1
python3 "$G" 300 "$T/k2.json" --actors 20 --malformed-every 7 --first 4000 --name k2
python3 "$G" 300 "$T/k3.json" --actors 25 --malformed-every 0 --first 4300 --name k3
python3 "$G" 5000 "$T/k4.json" --actors 20 --malformed-every 0 --first 4600 --name k4
# case ID [ACTOR]: one GET success case
case_json() {
	printf '{"case_id":"%s","method":"GET","endpoint":"/m","actor_id":"%s","expected":{"outcome":"success","status_code":200,"response_body":{"actor_id":"%s","endpoint":"/m","method":"GET","status":"accepted"}}}' \
		"$1" "${2:-actor-0001}" "${2:-actor-0001}"
}
printf '{"schema_version":1,"name":"odd","cases":[%s,%s,%s,%s,%s]}\n' "$(case_json 'a')" "$(case_json 'a b')" \
	"$(case_json 'a!')" "$(case_json 'q\"uote')" "$(case_json 'zz' actor-0099)" >"$T/odd.json"

cycle() { "$TAU_BIN" --gateway-contract-runner --gateway-fixture "$1" --gateway-state-dir "$S" --gateway-queue-limit 10000 --gateway-processed-case-cap 100000 >/dev/null 2>"$T/err"; }
# mismatches: how many actors' MEMORY.md differ from the reference render
mismatches() {
	python3 "$R" --memory-check "$S"
}
# snap: "<generation> <snapshot version>"
snap() {
	python3 -c '
import json, struct, sys
d = sys.argv[1]
g = json.load(open(d + "/state.json"))["records"]["generation"]
t = open("%s/records-%d.snap" % (d, g), "rb").read()[-96:]
print(g, struct.unpack("<Q", t[8:16])[0])' "$S"
}

cycle "$T/k1.json"
t_eq "first cycle: a version 2 snapshot" "1 2" "$(snap)"
t_eq "first cycle: 20 MEMORY.md, each the reference render" "20 0" \
	"$(ls -d "$S"/channel-store/gateway/*/ | wc -l) $(mismatches)"
cycle "$T/odd.json" && cycle "$T/k2.json"
t_eq "log cycles (odd case ids, malformed cases): still generation 1" "1 2" "$(snap)"
t_eq "log cycles: every MEMORY.md the reference render" "0" "$(mismatches)"
t_contains "odd case ids listed in case_key order" "$(printf -- '- a GET /m status=200 outcome=success\n- a b GET')" \
	"$(cat "$S/channel-store/gateway/actor-0001/MEMORY.md")"

python3 "$R" --to-v1 "$S"
t_eq "the snapshot rewritten in the version 1 layout" "1 1" "$(snap)"
cycle "$T/k3.json"
t_eq "a cycle on a version 1 snapshot: exit 0" "0" "$?"
t_eq "its save rewrote the snapshot as version 2" "2 2" "$(snap)"
t_eq "version 1 cycle: every MEMORY.md the reference render (26 actors)" "26 0" \
	"$(ls -d "$S"/channel-store/gateway/*/ | wc -l) $(mismatches)"
cycle "$T/k4.json"
t_eq "a compaction by size" "3 2" "$(snap)"
t_eq "after the compaction: every MEMORY.md the reference render" "0" "$(mismatches)"
t_eq "no errors on stderr" "" "$(cat "$T/err")"
t_done
