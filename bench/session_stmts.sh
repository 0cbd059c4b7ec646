#!/usr/bin/env bash
# bench/session_stmts.sh - what a session turn costs the database, turn 2
# against turn TURNS, statement by statement (pg_stat_statements).
#
#   bench/session_stmts.sh [BIN [BASE_BIN]]     (default build/tau-gateway)
#
# A throwaway cluster (tests/integration/lib/pg.sh: initdb defaults) with
# pg_stat_statements preloaded; each binary serves a database of its own
# (fleet mode, local/echo).  For each binary, in turn: BENCH_SESSIONS (100)
# new sessions are aged by 1 turn, the statistics reset, and each session's
# turn 2 sent; then BENCH_SESSIONS new sessions aged by TURNS-1 (19) turns,
# reset, and each one's turn TURNS sent.  Prints, per statement run once per
# turn, the mean execution and planning times, WAL bytes and shared buffers
# hit per call,
# and the totals per turn.  WAL bytes and buffer hits do not depend on the
# machine's load (execution times do): they are the figures to compare.
# BENCH_ROUNDS (2) repeats the whole, the binaries alternating.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BINS=("$(realpath "${1:-$ROOT/build/tau-gateway}")")
[ -n "${2:-}" ] && BINS+=("$(realpath "$2")")
N=${BENCH_SESSIONS:-100}
TURNS=${BENCH_TURNS:-20}
ROUNDS=${BENCH_ROUNDS:-2}
# shellcheck source=tests/integration/lib/pg.sh
. "$ROOT/tests/integration/lib/pg.sh"
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
W=$(mktemp -d /tmp/tau-bench-stmts.XXXXXX)
PIDS=()
TOKEN=bench-token
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null || true; done
	pg_cluster_stop || true
	rm -rf "$W"
}
trap cleanup EXIT
pg_cluster_start
pg_sql "$TAU_TEST_PG_URL" "ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'" >/dev/null
pg_server_stop
pg_server_start
pg_sql "$TAU_TEST_PG_URL" "ALTER SYSTEM SET pg_stat_statements.track_planning = on" \
	"SELECT pg_reload_conf()" >/dev/null
echo "$(bench_pg_settings "$TAU_TEST_PG_URL"), pg_stat_statements"
echo "$N sessions per figure, turn 2 vs turn $TURNS, $ROUNDS rounds"
for ((b = 0; b < ${#BINS[@]}; b++)); do
	pg_sql "$TAU_TEST_PG_URL" "CREATE DATABASE stmts$b" >/dev/null
	pg_sql "$(pg_url_db "stmts$b")" "CREATE EXTENSION pg_stat_statements" >/dev/null
	BIN=${BINS[$b]} bench_gw_start "GW$b" "$(pg_url_db "stmts$b")" --quiet
done
for ((r = 0; r < ROUNDS; r++)); do
	for ((k = 0; k < ${#BINS[@]}; k++)); do
		b=$(((k + r) % ${#BINS[@]}))
		addr=GW${b}_ADDR
		echo
		echo "round $((r + 1)): ${BINS[$b]}"
		python3 - "${!addr}" "$(pg_url_db "stmts$b")" "$N" "$TURNS" "$TOKEN" <<'PY'
import http.client, json, subprocess, sys, uuid
addr, url, n, turns, token = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
host, port = addr.rsplit(":", 1)
conn = http.client.HTTPConnection(host, int(port))
pad = "a sentence of ordinary length that a person might type into a chat window"
hdr = {"Authorization": "Bearer " + token, "Content-Type": "application/json"}


def post(t, sid):
    conn.request("POST", "/v1/responses", json.dumps(
        {"input": "turn %d: %s" % (t, pad), "metadata": {"session_id": sid}}), hdr)
    r = conn.getresponse()
    out = r.read()
    if r.status != 200:
        sys.exit("turn %d: HTTP %d %s" % (t, r.status, out[:300]))


def sql(q):
    return subprocess.run(["psql", "-X", "-At", "-d", url, "-c", q], capture_output=True,
                          text=True, check=True).stdout.strip()


# statements run once per measured turn (calls >= n); the query text cut
ONE = "calls >= %d AND query NOT LIKE '%%pg_stat_statements%%'" % n
for age in (1, turns - 1):
    sids = ["stmts-" + uuid.uuid4().hex for _ in range(n)]
    for sid in sids:
        for t in range(1, age + 1):
            post(t, sid)
    sql("SELECT pg_stat_statements_reset()")
    for sid in sids:
        post(age + 1, sid)
    print("  turn %d: %s" % (age + 1, sql(
        "SELECT format('%s ms executing, %s ms planning, %s WAL bytes, %s buffers hit per turn',"
        " round(sum(mean_exec_time)::numeric, 3), round(sum(mean_plan_time)::numeric, 3),"
        " round(sum(wal_bytes / calls)), round(sum(shared_blks_hit::numeric / calls), 1))"
        " FROM pg_stat_statements WHERE " + ONE)))
    for line in sql("SELECT format('%9s ms %9s ms %6s B %5s hit  %s', round(mean_exec_time::numeric, 3),"
                    " round(mean_plan_time::numeric, 3),"
                    " round(wal_bytes / calls), round(shared_blks_hit::numeric / calls, 1),"
                    " left(regexp_replace(query, '\\s+', ' ', 'g'), 70))"
                    " FROM pg_stat_statements WHERE " + ONE + " ORDER BY wal_bytes DESC, total_exec_time DESC").splitlines():
        print("    " + line.strip())
PY
	done
done
