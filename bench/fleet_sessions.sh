#!/usr/bin/env bash
# bench/fleet_sessions.sh - sessions in fleet mode (issue 10): what a turn
# costs on PostgreSQL against the state directory, whether it grows with the
# turn number, and how turns on one key queue across replicas.
# Prints figures; asserts nothing (fleet_sessions asserts the behaviour).
#
#   bench/fleet_sessions.sh [TAU_BIN]      (default: build/tau-gateway)
#   ROUNDS=10 TURNS=20 HOT=50 to scale.
#
# A throwaway cluster (tests/integration/lib/pg.sh: PostgreSQL's defaults,
# fsync and synchronous_commit on, Unix socket), three replicas on one
# deployment, and one server on a state directory, all local/echo with the
# default store:true.  One keep-alive HTTP client per server (python
# http.client), so the figures are the server's and the database's, not a
# process spawn's.
# 1. ROUNDS rounds, A/B interleaved: each round one TURNS-turn session on
#    the file server, then one on the fleet with its turns round robin
#    across the replicas (a new session key each round).  Per-turn latency
#    at turn 2 and turn TURNS: median, p10, p90 over the rounds, and the
#    growth from turn 2 to turn TURNS.
# 2. HOT concurrent turns on one key from all replicas (they queue), then
#    HOT concurrent turns on HOT keys: wall time and turns/s of each.
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
BIN=$(realpath "${1:-${TAU_BIN:-$SRC/build/tau-gateway}}")
ROUNDS=${ROUNDS:-10}
TURNS=${TURNS:-20}
HOT=${HOT:-50}
TOKEN=bench-fleet-sessions-token
# shellcheck source=tests/integration/lib/pg.sh
. "$SRC/tests/integration/lib/pg.sh"
# shellcheck source=bench/lib.sh
. "$SRC/bench/lib.sh"
W=$(mktemp -d "${TMPDIR:-/tmp}/tau-bench-fleetsess.XXXXXX")
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null || true; done
	pg_cluster_stop
	rm -rf "$W"
}
trap cleanup EXIT
pg_cluster_start
pg_sql "$TAU_TEST_PG_URL" "CREATE DATABASE bench" >/dev/null
URL=$(pg_url_db bench)
bench_gw_start FILE "$W/state" --quiet || exit 1
FLEET=()
for i in 1 2 3; do
	bench_gw_start "R$i" "$URL" --quiet || exit 1
	v=R${i}_ADDR
	FLEET+=("${!v}")
done
echo "sessions, local/echo, store:true; PostgreSQL $(pg_sql "$URL" "SHOW server_version")," \
	"synchronous_commit=$(pg_sql "$URL" "SHOW synchronous_commit"), fsync=$(pg_sql "$URL" "SHOW fsync")"
python3 - "$TOKEN" "$ROUNDS" "$TURNS" "$HOT" "$FILE_ADDR" "${FLEET[@]}" <<'PY'
import http.client, json, statistics, sys, threading, time
token, rounds, turns, hot = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
file_addr, fleet = sys.argv[5], sys.argv[6:]
H = {"Authorization": "Bearer " + token, "Content-Type": "application/json"}

def conn(addr):
    h, p = addr.rsplit(":", 1)
    return http.client.HTTPConnection(h, int(p), timeout=60)

def post(c, body):
    t0 = time.perf_counter()
    c.request("POST", "/v1/responses", json.dumps(body), H)
    r = c.getresponse()
    data = r.read()
    ms = (time.perf_counter() - t0) * 1000
    if r.status != 200:
        raise SystemExit("HTTP %d: %s" % (r.status, data[:200]))
    return ms

def pct(v, q):
    v = sorted(v)
    return v[min(len(v) - 1, int(q * (len(v) - 1) + 0.5))]

def fmt(v):
    return "median %.2f ms (p10 %.2f, p90 %.2f)" % (statistics.median(v), pct(v, .1), pct(v, .9))

fc = conn(file_addr)
pcs = [conn(a) for a in fleet]
lat = {"files": {}, "fleet": {}}
for r in range(rounds):
    for kind in ("files", "fleet"):  # A/B, round by round
        key = "bench-%s-%d" % (kind, r)
        for t in range(1, turns + 1):
            c = fc if kind == "files" else pcs[(t - 1) % len(pcs)]
            ms = post(c, {"model": "local/echo", "input": "turn %d of %s" % (t, key),
                          "metadata": {"session_id": key}})
            lat[kind].setdefault(t, []).append(ms)
print("1. a %d-turn session, %d rounds interleaved (fleet: turns round robin over %d replicas)"
      % (turns, rounds, len(fleet)))
for kind in ("files", "fleet"):
    a, b = lat[kind][2], lat[kind][turns]
    print("   %-5s turn 2:  %s" % (kind, fmt(a)))
    print("   %-5s turn %d: %s" % (kind, turns, fmt(b)))
    print("   %-5s growth turn 2 -> %d: %+.1f %% (medians)"
          % (kind, turns, 100 * (statistics.median(b) / statistics.median(a) - 1)))

def burst(same):
    errs = []
    def one(i):
        c = conn(fleet[i % len(fleet)])
        try:
            post(c, {"model": "local/echo", "input": "burst %d" % i,
                     "metadata": {"session_id": "hot" if same else "cold-%d" % i}})
        except BaseException as e:
            errs.append(str(e))
    ts = [threading.Thread(target=one, args=(i,)) for i in range(hot)]
    t0 = time.perf_counter()
    for t in ts: t.start()
    for t in ts: t.join()
    s = time.perf_counter() - t0
    return s, errs

print("2. %d concurrent turns from %d replicas" % (hot, len(fleet)))
for same in (True, False, True, False):
    s, errs = burst(same)
    print("   %-18s %.0f ms wall, %.0f turns/s, %d errors"
          % ("one key (queued):" if same else "%d keys:" % hot, s * 1000, hot / s, len(errs)))
PY
