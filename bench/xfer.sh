#!/usr/bin/env bash
# bench/xfer.sh - what --gateway-state-import and --gateway-state-export
# cost on a state directory built by real commands: TRANSITIONS service
# stops and starts (one event line each), RESPONSES stored responses
# POSTed to a file server (chains of 10 by previous_response_id, over one
# keep-alive connection) and one contract-runner cycle over a fixture of
# CASES cases (bench/gen_fixture.py, spread over ACTORS actors, 0.1%
# malformed; one cycle, --gateway-queue-limit CASES: a request record per
# case and a channel per actor), on a throwaway PostgreSQL (tests/
# integration/lib/pg.sh: a Unix socket, PostgreSQL's defaults: fsync=on,
# synchronous_commit=on).  Each round imports into a new deployment, then
# exports it into a new directory (the two interleaved round by round; each
# export checked: the event log and channel store the same bytes, the same
# record count); the
# figure is the wall time of the process, start to exit: median and
# min..max over the rounds, and items per second at the median.  Prints
# figures; never fails on speed.
#
#   bench/xfer.sh [ROUNDS] [TRANSITIONS] [RESPONSES] [CASES] [ACTORS]
#                 (default 5 2000 5000 20000 200; CASES 0: no runner cycle)
#   TAU_BIN=build/tau-gateway by default
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${TAU_BIN:-$ROOT/build/tau-gateway}
ROUNDS=${1:-5}
TRANS=${2:-2000}
RESP=${3:-5000}
CASES=${4:-20000}
ACTORS=${5:-200}
# shellcheck source=tests/integration/lib/pg.sh
. "$ROOT/tests/integration/lib/pg.sh"
W=$(mktemp -d "${TMPDIR:-/tmp}/tau-bench-xfer.XXXXXX")
SRV=
cleanup() {
	[ -n "$SRV" ] && kill "$SRV" 2>/dev/null && wait "$SRV" 2>/dev/null
	pg_cluster_stop
	rm -rf "$W"
}
trap cleanup EXIT
pg_cluster_start
pg_sql "$TAU_TEST_PG_URL" "CREATE DATABASE bench" >/dev/null
URL=$(pg_url_db bench)
S=$W/src

"$BIN" --gateway-state-dir "$S" --gateway-service-start >/dev/null
for ((i = 0; i < TRANS / 2; i++)); do
	"$BIN" --gateway-state-dir "$S" --gateway-service-stop --gateway-service-stop-reason bench >/dev/null
	"$BIN" --gateway-state-dir "$S" --gateway-service-start >/dev/null
done
"$BIN" --gateway-state-dir "$S" --gateway-openresponses-server --gateway-openresponses-bind 127.0.0.1:0 \
	--gateway-openresponses-auth-token bench >"$W/srv.out" 2>"$W/srv.err" &
SRV=$!
for ((i = 0; i < 200; i++)); do
	grep -q '^gateway openresponses server listening: ' "$W/srv.out" 2>/dev/null && break
	sleep 0.05
done
ADDR=$(sed -n 's/^gateway openresponses server listening: endpoint=\/v1\/responses addr=\([^ ]*\) .*/\1/p' "$W/srv.out")
python3 - "$ADDR" "$RESP" <<'PY'
import http.client, json, sys
host, port = sys.argv[1].rsplit(":", 1)
c = http.client.HTTPConnection(host, int(port))
prev = None
for i in range(int(sys.argv[2])):
    body = {"model": "local/echo", "input": f"turn {i}: " + "lorem ipsum " * 20}
    if prev and i % 10:
        body["previous_response_id"] = prev
    c.request("POST", "/v1/responses", json.dumps(body),
              {"Authorization": "Bearer bench", "Content-Type": "application/json"})
    r = c.getresponse()
    data = r.read()
    if r.status != 200:
        sys.exit(f"POST {i}: {r.status} {data[:200]!r}")
    prev = json.loads(data)["id"]
PY
kill "$SRV"
wait "$SRV" 2>/dev/null || true
SRV=
records=0 channels=0
if [ "$CASES" -gt 0 ]; then
	python3 "$ROOT/bench/gen_fixture.py" "$CASES" "$W/fixture.json" --actors "$ACTORS" >/dev/null
	"$BIN" --gateway-contract-runner --gateway-fixture "$W/fixture.json" --gateway-queue-limit "$CASES" \
		--gateway-state-dir "$S" >/dev/null
	records=$(jq .records.request_count "$S/state.json")
	channels=$(find "$S/channel-store" -mindepth 2 -maxdepth 2 -type d | wc -l)
fi
events=$(wc -l <"$S/runtime-events.jsonl")
bytes=$(du -sb "$S" | cut -f1)
echo "state: $events event lines, $RESP stored responses, $records runner records, $channels channels," \
	"$bytes bytes ($(du -sh "$S" | cut -f1))"

ms() { local t0 t1; t0=$(date +%s%N); "$@" >/dev/null; t1=$(date +%s%N); echo $(((t1 - t0) / 1000000)); }
imp=() exp=()
for ((r = 1; r <= ROUNDS; r++)); do
	imp+=("$(ms "$BIN" --gateway-state-url "$URL" --gateway-deployment "r$r" --gateway-state-import "$S")")
	exp+=("$(ms "$BIN" --gateway-state-url "$URL" --gateway-deployment "r$r" --gateway-state-export "$W/out$r")")
	cmp -s "$S/runtime-events.jsonl" "$W/out$r/runtime-events.jsonl" || { echo "round $r: the export differs" >&2; exit 1; }
	if [ "$CASES" -gt 0 ]; then
		diff -rq "$S/channel-store" "$W/out$r/channel-store" >/dev/null &&
			[ "$(jq .records.request_count "$W/out$r/state.json")" = "$records" ] ||
			{ echo "round $r: the export's channel store or records differ" >&2; exit 1; }
	fi
	rm -rf "$W/out$r"
done
stats() { # label values...
	local label=$1
	shift
	sort -n <<<"$(printf '%s\n' "$@")" | awk -v l="$label" -v items="$((events + RESP + records + channels + 1))" '
		{ v[NR] = $1 }
		END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		      printf "%-7s median %6.0f ms (min %d, max %d) over %d rounds, %.0f items/s\n",
		             l, m, v[1], v[NR], NR, items / (m / 1000) }'
}
stats import "${imp[@]}"
stats export "${exp[@]}"
