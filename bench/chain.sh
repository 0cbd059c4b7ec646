#!/usr/bin/env bash
# bench/chain.sh - a previous_response_id chain through the real server:
# bytes on disk and per-turn latency.  Prints figures; never fails on
# speed.
#
#   bench/chain.sh [BIN...]    each BIN (default build/tau-gateway) in turn,
#                              so an older build can be compared
#   BENCH_CHAIN_TURNS=1000     turns in the chain
#   BENCH_CHAIN_ROUNDS=50      latency rounds
#   BENCH_CHAIN_MAX=200        --gateway-session-max-messages (the bound on
#                              a continuation's context; the default)
#   BENCH_CHAIN_LOAD=4         client processes posting turn-N continuations
#                              back to back while /healthz is timed (0: skip)
#   BENCH_CHAIN_SECS=3         how long that lasts
#
# For each binary: a server (local/echo, default store:true, TTL 0) on a
# fresh state directory; one client on one keep-alive connection builds a
# chain of BENCH_CHAIN_TURNS turns (each input ~100 characters), then
# prints the bytes of openresponses/responses (total, and the records of
# turns 2 and N).  Latency: BENCH_CHAIN_ROUNDS rounds, each timing one
# continuation of turn 1 (a "turn 2"), one of the turn before the context
# first reaches the bound (BENCH_CHAIN_MAX/2 + 1, two items a turn) and one
# of turn N-1 (a "turn N"), interleaved within the round (the order
# rotating by round); each is a branch, so the chain itself does not
# change.  Printed: median, p10 and p90 (ms), and ratios of the medians.
# Then, whether a walk holds up other connections: BENCH_CHAIN_LOAD
# processes post continuations of turn N-1 back to back for
# BENCH_CHAIN_SECS (their rate, and the server's CPU time per continuation:
# user + system from /proc), then again while one more client times
# GET /healthz on its own connection (median, p90, p99).  Connections
# land on the event loops as the kernel wakes them, so with L load clients
# the probe shares no loop with any of them once in 2^L runs (on two loops).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
[ $# -gt 0 ] || set -- "$ROOT/build/tau-gateway"
TURNS=${BENCH_CHAIN_TURNS:-1000}
ROUNDS=${BENCH_CHAIN_ROUNDS:-50}
MAX=${BENCH_CHAIN_MAX:-200}
for t in python3 curl; do
	command -v "$t" >/dev/null || { echo "bench/chain.sh: needs $t" >&2; exit 69; }
done
W=$(mktemp -d /tmp/tau-bench-chain.XXXXXX)
GW=
cleanup() {
	if [ -n "$GW" ]; then kill "$GW" 2>/dev/null && wait "$GW" 2>/dev/null || true; fi
	rm -rf "$W"
}
trap cleanup EXIT
TOKEN=bench-token

echo "previous_response_id chain: $TURNS turns, --gateway-session-max-messages $MAX, $ROUNDS latency rounds"
for bin in "$@"; do
	bin=$(realpath "$bin")
	state=$W/state.$RANDOM
	: >"$W/gw.out"
	"$bin" --gateway-state-dir "$state" --gateway-openresponses-server \
		--gateway-openresponses-bind 127.0.0.1:0 --gateway-openresponses-auth-token "$TOKEN" \
		--gateway-session-max-messages "$MAX" --gateway-response-ttl 0 >"$W/gw.out" 2>"$W/gw.err" &
	GW=$!
	addr=
	for ((i = 0; i < 200; i++)); do
		addr=$(sed -n 's/^gateway openresponses server listening: endpoint=\/v1\/responses addr=\([^ ]*\) .*/\1/p' "$W/gw.out")
		[ -n "$addr" ] && break
		kill -0 "$GW" 2>/dev/null || { cat "$W/gw.err" >&2; exit 70; }
		sleep 0.05
	done
	[ -n "$addr" ] || { echo "bench/chain.sh: $bin did not start" >&2; exit 70; }
	echo "== $bin ($(git -C "$(dirname "$bin")" rev-parse --short HEAD 2>/dev/null || echo '?'))"
	python3 - "$addr" "$TOKEN" "$TURNS" "$ROUNDS" "$state/openresponses/responses" "$MAX" "$GW" <<'PY'
import http.client, json, os, statistics, sys, time
addr, token, turns, rounds, rdir = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
maxitems, gwpid = int(sys.argv[6]), int(sys.argv[7])
def cpu_s():
    # the server's user + system CPU time, in seconds
    f = open("/proc/%d/stat" % gwpid).read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")
host, port = addr.rsplit(":", 1)
conn = http.client.HTTPConnection(host, int(port))
hdr = {"Authorization": "Bearer " + token, "Content-Type": "application/json"}
pad = "a sentence of ordinary length that a person might type into a chat window"

def post(text, prev):
    body = {"input": "turn %s: %s" % (text, pad)}
    if prev:
        body["previous_response_id"] = prev
    t0 = time.perf_counter()
    conn.request("POST", "/v1/responses", json.dumps(body), hdr)
    r = conn.getresponse()
    data = r.read()
    ms = (time.perf_counter() - t0) * 1000
    if r.status != 200:
        sys.exit("turn %s: HTTP %d %s" % (text, r.status, data[:200]))
    return json.loads(data)["id"], ms

ids, prev = [], None
t0 = time.perf_counter()
for i in range(1, turns + 1):
    prev, _ = post(i, prev)
    ids.append(prev)
build_s = time.perf_counter() - t0
size = lambda i: os.stat(os.path.join(rdir, i + ".json")).st_size
total = sum(os.stat(os.path.join(rdir, f)).st_size for f in os.listdir(rdir))
print("  chain built in %.1f s (%.2f ms per turn)" % (build_s, build_s * 1000 / turns))
print("  bytes on disk: %d total (%.1f MB), turn 2's record %d, turn %d's record %d" %
      (total, total / 1e6, size(ids[1]), turns, size(ids[-1])))
# turn 2, the first turn whose context reaches the bound (max/2 + 1: each
# turn adds two items) and turn N; rotated round by round
mid = min(max(2, maxitems // 2 + 1), turns)
points = [(2, ids[0]), (mid, ids[mid - 2]), (turns, ids[-2])]
lat = {t: [] for t, _ in points}
for r in range(rounds):
    k = r % len(points)
    for t, p in points[k:] + points[:k]:
        _, ms = post("branch", p)
        lat[t].append(ms)
def fig(v):
    q = statistics.quantiles(v, n=10)
    return "median %7.3f ms  (p10 %7.3f, p90 %7.3f)" % (statistics.median(v), q[0], q[-1])
for t, _ in points:
    print("  latency turn %-5d %s" % (t, fig(lat[t])))
print("  turn %d / turn 2 (medians): %.2f;  turn %d / turn %d: %.2f" %
      (turns, statistics.median(lat[turns]) / statistics.median(lat[2]),
       turns, mid, statistics.median(lat[turns]) / statistics.median(lat[mid])))
# other connections while walks run: LOAD client processes post turn-N
# continuations back to back (each a walk of the bound's worth of records)
# and one more times GET /healthz on its own connection meanwhile
load, secs = int(os.environ.get("BENCH_CHAIN_LOAD", "4")), float(os.environ.get("BENCH_CHAIN_SECS", "3"))
if load > 0:
    import multiprocessing
    def hammer(stop, count):
        c = http.client.HTTPConnection(host, int(port))
        body = json.dumps({"input": "load", "previous_response_id": ids[-2]})
        n = 0
        while not stop.is_set():
            c.request("POST", "/v1/responses", body, hdr)
            r = c.getresponse()
            r.read()
            n += 1
        with count.get_lock():
            count.value += n
    def run(probe):
        stop, count = multiprocessing.Event(), multiprocessing.Value("l", 0)
        procs = [multiprocessing.Process(target=hammer, args=(stop, count)) for _ in range(load)]
        c0 = cpu_s()
        for p in procs:
            p.start()
        hc = http.client.HTTPConnection(host, int(port))
        hl = []
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < secs:
            if not probe:
                time.sleep(0.05)
                continue
            s0 = time.perf_counter()
            hc.request("GET", "/healthz")
            r = hc.getresponse()
            r.read()
            hl.append((time.perf_counter() - s0) * 1000)
        stop.set()
        for p in procs:
            p.join()
        return count.value, cpu_s() - c0, hl
    n, cpu, _ = run(False)
    print("  %d clients' turn-%d continuations back to back: %.0f/s, server CPU %.0f us each" %
          (load, turns, n / secs, cpu * 1e6 / max(1, n)))
    n, cpu, hl = run(True)
    q = statistics.quantiles(hl, n=100)
    print("  /healthz meanwhile (its own connection): median %.3f ms, p90 %.3f, p99 %.3f (%d probes; %.0f continuations/s)" %
          (statistics.median(hl), q[89], q[98], len(hl), n / secs))
PY
	kill "$GW" 2>/dev/null && wait "$GW" 2>/dev/null || true
	GW=
	rm -rf "$state"
done
