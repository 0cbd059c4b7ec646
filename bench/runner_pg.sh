#!/usr/bin/env bash
# bench/runner_pg.sh - the contract runner on a state directory and on
# PostgreSQL (fleet mode), A/B interleaved round by round.
#
# Each round builds fresh state with real cycles: a first cycle of N cases
# (bench/gen_fixture.py, spread over --actors actors; queue limit N) on a new
# state directory and on a new database, then a dedupe rerun of the same
# fixture on each, then a cycle of 64 new cases on each (the everyday
# cycle on a store that already holds N records).  Prints, per figure, the
# median wall time with the minimum and maximum over the rounds.  Never fails
# on speed; exits non-zero only when a command fails.
#
# Usage: bench/runner_pg.sh [--binary PATH] [--cases N] [--actors A] [--rounds R]
# Defaults: build/tau-gateway, 10000 cases, 100 actors, 5 rounds.  Uses
# $TAU_TEST_PG_URL when set, else starts a throwaway cluster
# (tests/integration/lib/pg.sh) and stops it at exit.
set -u
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
binary=$root/build/tau-gateway
cases=10000
actors=100
rounds=5
while [ $# -gt 0 ]; do
	case "$1" in
	--binary) binary=$2; shift 2 ;;
	--cases) cases=$2; shift 2 ;;
	--actors) actors=$2; shift 2 ;;
	--rounds) rounds=$2; shift 2 ;;
	-h | --help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "bench/runner_pg.sh: unknown option $1" >&2; exit 2 ;;
	esac
done
# shellcheck source=tests/integration/lib/pg.sh
. "$root/tests/integration/lib/pg.sh"
work=$(mktemp -d "${TMPDIR:-/tmp}/tau-bench-pg.XXXXXX")
started=0
cleanup() {
	[ "$started" -eq 1 ] && pg_cluster_stop
	rm -rf "$work"
}
trap cleanup EXIT
if [ -z "${TAU_TEST_PG_URL:-}" ]; then
	pg_cluster_start >/dev/null || exit 1
	started=1
fi

python3 "$root/bench/gen_fixture.py" --actors "$actors" --name bench-big "$cases" "$work/big.json" || exit 1
python3 "$root/bench/gen_fixture.py" --actors "$actors" --name bench-new --first "$cases" 64 "$work/new.json" || exit 1

# timed NAME CMD...: runs CMD, appends its wall ms to $work/NAME
timed() {
	local name=$1 t0 rc
	shift
	t0=$(date +%s%N)
	"$@" >/dev/null 2>"$work/err"
	rc=$?
	echo $((($(date +%s%N) - t0) / 1000000)) >>"$work/$name"
	if [ "$rc" -ne 0 ]; then
		echo "bench/runner_pg.sh: $name failed (exit $rc): $(cat "$work/err")" >&2
		exit 1
	fi
}
run() { "$binary" "$@" --gateway-contract-runner --gateway-queue-limit "$cases" \
	--gateway-processed-case-cap $((2 * cases)); }

echo "# tau-gateway runner: state directory vs PostgreSQL"
echo "# binary: $binary; $cases cases over $actors actors, $rounds rounds (A/B interleaved)"
for r in $(seq 1 "$rounds"); do
	rm -rf "$work/state"
	psql -X -q -d "$TAU_TEST_PG_URL" -c "DROP DATABASE IF EXISTS tau_bench" -c "CREATE DATABASE tau_bench" || exit 1
	url=$(pg_url_db tau_bench)
	timed files.first run --gateway-state-dir "$work/state" --gateway-fixture "$work/big.json"
	timed pg.first run --gateway-state-url "$url" --gateway-fixture "$work/big.json"
	timed files.rerun run --gateway-state-dir "$work/state" --gateway-fixture "$work/big.json"
	timed pg.rerun run --gateway-state-url "$url" --gateway-fixture "$work/big.json"
	timed files.new64 run --gateway-state-dir "$work/state" --gateway-fixture "$work/new.json"
	timed pg.new64 run --gateway-state-url "$url" --gateway-fixture "$work/new.json"
done
psql -X -q -d "$TAU_TEST_PG_URL" -c "DROP DATABASE IF EXISTS tau_bench"

# stat NAME: "median ms (min .. max)"
stat() { sort -n "$work/$1" | awk '{v[NR] = $1} END {printf "%d ms (%d .. %d)", v[int((NR + 1) / 2)], v[1], v[NR]}'; }
printf '%-28s %-24s %s\n' "cycle" "state directory" "PostgreSQL"
printf '%-28s %-24s %s\n' "first, $cases cases" "$(stat files.first)" "$(stat pg.first)"
printf '%-28s %-24s %s\n' "dedupe rerun" "$(stat files.rerun)" "$(stat pg.rerun)"
printf '%-28s %-24s %s\n' "64 new cases" "$(stat files.new64)" "$(stat pg.new64)"
