#!/usr/bin/env bash
# bench/http.sh - HTTP throughput and latency of tau-gateway, side by side
# with its anchors, all inside one network namespace (unshare -n, loopback
# only).  Prints figures; never fails on speed.
#
#   bench/http.sh [BIN]        BIN defaults to build/tau-gateway
#   BENCH_SECS=10 BENCH_RUNS=3 BENCH_CONNS=64   wrk settings (1 thread);
#                              BENCH_RUNS is the number of rounds
#   BENCH_SSE_N=200            sequential SSE requests per side for
#                              time-to-first-data
#   PORTKEY_DIR=dir            where npm installs @portkey-ai/gateway 1.15.2
#                              (default ~/.cache/tau-bench/portkey; skipped
#                              when npm cannot install it)
#
# Every comparison runs its sides in rounds (BENCH_RUNS), each round
# running every side once in an order rotated by one from the last (A B C,
# B C A, ...), never all runs of A and then all of B: this machine swings
# 2x within minutes.  A side's figures are the medians across its rounds
# (req/s, p50 and p99 each its own median) with min..max; a percentile
# this script computes itself is by nearest rank (the smallest value with
# at least p % of the values at or below it).
# Measurements (wrk: 1 thread, 64 connections, 10 s, 3 rounds):
#   1. GET /gateway/status            vs nginx serving a static file of the
#                                     same size; nginx has worker_processes
#                                     = the gateway's event loops (one per
#                                     core, at most 8)
#   2. POST /v1/responses, local/echo, store false and default store, vs an
#      nginx POST anchor (return 200 with a body of the echo reply's size);
#      the ratio to the static GET of 1 is printed too.  Every default-store
#      run has a fresh server on a fresh state directory.
#   3. POST /v1/responses, openai/* -> upstream stub, vs the stub directly and
#      vs Portkey in front of the same stub (non-stream), and the added SSE
#      time to the first data: line over BENCH_SSE_N requests per side, the
#      sides taking turns request by request.
#      The upstream is bench/upstream_stub.mjs: the test stub's "ok"
#      behaviour (parse the request, echo the last user text, tool calls,
#      word-count usage, SSE chunks) in Node's http module, the kind of stub
#      the issue's Portkey anchor was measured against.  (The Python test
#      stub tops out near 6k req/s here, below 10x Portkey, so it would
#      measure itself.)
#   4. The gateway's own ceiling: the same requests in front of
#      bench/upstream_stub.c (tau-bench-stub, built here, one libmicrohttpd
#      thread), an upstream that costs almost nothing.  No target.
#   5. Stored responses, PostgreSQL vs files: POST /v1/responses local/echo
#      with the default store:true against a server in fleet mode
#      (--gateway-state-url, a throwaway cluster built as
#      tests/integration/lib/pg.sh builds it: initdb defaults, so
#      synchronous_commit and fsync on, printed with the figures) and one on
#      a state directory; BENCH_STORE_ROUNDS rounds of one wrk run each, the
#      two sides interleaved round by round (the order alternating), same
#      wrk settings, each run on a fresh server with a fresh state directory
#      (a fresh database on PostgreSQL); medians with min..max.  A fresh
#      state directory is slow at first (files: about 600 us of CPU per
#      stored response in its first 3 s, 110-130 us after), so a short
#      BENCH_SECS weighs that start more.  Target: PostgreSQL >= 50 % of
#      the files' req/s, p99 under 20 ms.
#   6. A BENCH_TURNS-turn conversation (bench/turns.py), per-turn latency on
#      both backends, BENCH_TURN_CONVS conversations each, interleaved: by
#      previous_response_id, and by metadata.session_id unless
#      BENCH_SESSION=0 (a backend answering 501 not_in_fleet_mode is
#      skipped with a message).  Target: turn 20 within +20 % of turn 2.
#      With BENCH_BASE_BIN=PATH (another tau-gateway, e.g. the build before
#      a change) a third server, pgbase, runs PATH on a database of its own
#      in the same cluster, interleaved with the other two round by round
#      (an A/B of the PostgreSQL backend); BENCH_PREV=0 skips the
#      previous_response_id run.  Both runs print the CPU per turn of each
#      server (the gateway's threads and the cluster's processes).
#   7. The gateway's own time per request at the C stub's full rate, from
#      the Server-Timing header of every answer (wrk's Lua response() hook
#      keeps gateway;dur and upstream;dur of each): a server with a routes
#      file (--gateway-routes; route "bench": an openai target on
#      tau-bench-stub) answering POST /v1/responses and
#      /v1/chat/completions, JSON and SSE, and one serving --model
#      openai/bench without routes (unrouted_json); per side gateway;dur
#      p50/p99/p99.9 (medians across rounds), upstream;dur and total p50,
#      and the share of answers at or under 50 us and 500 us from the
#      tau_gateway_overhead_seconds histogram (a stream's Server-Timing is
#      its time until the headers went out; the histogram has the whole
#      stream).  Fallback: route "fallback" (first target tau-bench-stub's
#      /fail, which answers 503 at once, then the good one) vs route
#      "bench", and route "failing" (the 503 target alone) for the failed
#      attempt's own time; the breaker is set not to open.  Targets: p50
#      <= 50 us, p99 <= 500 us; a fallback adds no more than the failed
#      attempt's time.  Once per BENCH_OVERHEAD_CONNS connection count,
#      BENCH_OVERHEAD_SECS per run.  With BENCH_BASE_BIN=PATH a third
#      server runs PATH with the same routes (sides base_resp_json,
#      base_chat_json, base_fallback), interleaved with the others: an A/B
#      of a change.  At 1 connection the figures are the
#      gateway's own cost; at 64 every process (wrk, stub, gateway) is
#      saturated on two cores and the times include queueing behind the
#      other requests (and, for the fallback, a stub asked twice as often).
#      Then paced, once per BENCH_OVERHEAD_RATES rate (default 10000 req/s,
#      the rate TensorZero publishes its overhead at): 64 connections, each
#      waiting a random 0..2*64/rate s before every request, so the load is
#      about the rate, not whatever saturates; with BENCH_OVERHEAD_PIN=1 (the
#      default) on servers of their own alone on the last CPU, wrk and the
#      stub on the others (BENCH_OVERHEAD_SIDES="..." runs fewer sides;
#      BENCH_OVERHEAD_CONNS="" or BENCH_OVERHEAD_RATES="" skips a kind).
#   8. The routes lookup: POST /v1/responses local/echo store:false against
#      a server without routes and one whose routes file's default route
#      is local/echo (four routes), interleaved; req/s and server CPU per
#      request.  Target: routes >= 95 % of the req/s without.  With
#      BENCH_BASE_BIN=PATH the same two servers on PATH join the rounds.
#   ws. Open Responses over WebSocket: turns/s over BENCH_CONNS WebSockets
#      against the same turns over HTTP keep-alive with SSE (local/echo,
#      bench/ws_load.c, tau-bench-wsload), BENCH_WS_ROUNDS rounds
#      interleaved; gateway and generator CPU per turn.  Three figures of
#      turn latency (p50/p99 by nearest rank), which mean different things:
#      at saturation (64 closed-loop connections: mostly queueing, by
#      Little's law), on one closed-loop connection, and paced (open loop:
#      BENCH_WS_RATE turns/s, default 2000, over 64 connections, each
#      turn's latency counted from its scheduled send time, so a stall of
#      the server or of the generator is not left out).  Targets:
#      WebSocket >= SSE per turn, paced p99 < 2 ms.  Only when BENCH_PARTS
#      names it.
#   BENCH_PARTS="anchors overhead routes store turns"   which to run:
#                                 anchors (1-4; needs nginx), overhead (7),
#                                 routes (8), store (5) and turns (6) (both
#                                 need PostgreSQL's server), ws
#   BENCH_OVERHEAD_SECS=5 BENCH_OVERHEAD_CONNS="1 $BENCH_CONNS" BENCH_OVERHEAD_RATES=10000
#   BENCH_OVERHEAD_PIN=1
#   BENCH_STORE_ROUNDS=5 BENCH_TURN_CONVS=30 BENCH_TURNS=20 BENCH_SESSION=1
#   BENCH_PREV=1 BENCH_BASE_BIN= BENCH_WS_ROUNDS=5 BENCH_WS_RATE=2000
# Each server's peak RSS (VmHWM) is printed after its load.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=$(realpath "${1:-$ROOT/build/tau-gateway}")

PARTS=${BENCH_PARTS:-anchors overhead routes store turns}
has_part() { case " $PARTS " in *" $1 "*) return 0 ;; esac; return 1; }
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
# shellcheck source=tests/integration/lib/pg.sh
. "$ROOT/tests/integration/lib/pg.sh"

if [ "${BENCH_IN_NS:-}" != 1 ]; then
	need=(wrk curl python3)
	has_part anchors && need+=(nginx)
	has_part ws && need+=(jq)
	for t in "${need[@]}"; do
		command -v "$t" >/dev/null || { echo "bench/http.sh: needs $t (apt-get install wrk nginx-light curl python3)" >&2; exit 69; }
	done
	if { has_part store || has_part turns; } && ! pg_bindir >/dev/null; then
		echo "bench/http.sh: parts store and turns need PostgreSQL's server (scripts/setup.sh installs it)" >&2
		exit 69
	fi
	cmake --build "$(dirname "$BIN")" --target tau-bench-stub >/dev/null ||
		{ echo "bench/http.sh: cannot build tau-bench-stub in $(dirname "$BIN")" >&2; exit 70; }
	if has_part ws; then
		cmake --build "$(dirname "$BIN")" --target tau-bench-wsload >/dev/null ||
			{ echo "bench/http.sh: cannot build tau-bench-wsload in $(dirname "$BIN")" >&2; exit 70; }
	fi
	PORTKEY_DIR=${PORTKEY_DIR:-$HOME/.cache/tau-bench/portkey}
	if [ ! -f "$PORTKEY_DIR/node_modules/@portkey-ai/gateway/build/start-server.js" ] && command -v npm >/dev/null; then
		mkdir -p "$PORTKEY_DIR"
		cat >"$PORTKEY_DIR/package.json" <<'EOF'
{ "name": "tau-bench-portkey", "private": true,
  "dependencies": { "@portkey-ai/gateway": "1.15.2" },
  "overrides": { "@hono/node-server": "1.13.8" } }
EOF
		(cd "$PORTKEY_DIR" && npm install --no-audit --no-fund --loglevel=error >/dev/null 2>&1) ||
			echo "bench/http.sh: npm could not install @portkey-ai/gateway; skipping Portkey" >&2
	fi
	export PORTKEY_DIR BENCH_IN_NS=1 BENCH_PARTS="$PARTS"
	exec unshare -n -- "$0" "$BIN"
fi

ip link set lo up
SECS=${BENCH_SECS:-10}
RUNS=${BENCH_RUNS:-3}
CONNS=${BENCH_CONNS:-64}
SSE_N=${BENCH_SSE_N:-200}
W=$(mktemp -d /tmp/tau-bench.XXXXXX)
PIDS=()
WRK_PIN=() # taskset -c LIST: where wrk runs (part 7's paced runs)
cleanup() {
	local p
	# `|| true`: under set -e a killed child's status (143) would end the trap early
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null || true; done
	pg_cluster_stop || true
	[ -n "${BENCH_KEEP:-}" ] && echo "kept $W" >&2 || rm -rf "$W"
}
trap cleanup EXIT
TOKEN=bench-token

wait_port() {
	local i
	for ((i = 0; i < 200; i++)); do
		curl -s -o /dev/null "http://127.0.0.1:$1/" && return 0
		sleep 0.05
	done
	echo "nothing listening on $1" >&2
	return 1
}
hwm() { awk '/VmHWM/ {print $2 " kB"}' "/proc/$1/status"; }

# wrk_run NAME URL [wrk args]: one wrk run, its req/s, p50, p99 (ms) and
# non-2xx count appended to $W/wrk.NAME; wrk_report NAME: the median of
# each figure across the runs (req/s, p50 and p99 each its own median) into
# RPS/P50/P99[NAME], printed, with min..max of each when there was more than
# one run.  rounds SIDE...: RUNS rounds, each running every side once
# (side_SIDE, a function) in an order rotated by one each round (A B C,
# B C A, C A B, ...), so a machine that swings within minutes slows every
# side alike; then the report of each side.
declare -A RPS P50 P99
wrk_run() {
	local name=$1 url=$2
	shift 2
	"${WRK_PIN[@]}" wrk -t1 -c"$CONNS" -d"${SECS}s" --latency "$@" "$url" >"$W/wrk.out"
	python3 - "$W/wrk.out" >>"$W/wrk.$name" <<'PY'
import re, sys
t = open(sys.argv[1]).read()
def ms(v):
    m = re.match(r"([\d.]+)([a-z]*)$", v)
    if m is None:
        sys.exit("cannot read wrk latency %r in:\n%s" % (v, t))
    return float(m.group(1)) * {"us": 0.001, "ms": 1, "s": 1000, "m": 60000, "": 1}[m.group(2)]
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", t).group(1))
p50 = ms(re.search(r"^\s+50%\s+(\S+)", t, re.M).group(1))
p99 = ms(re.search(r"^\s+99%\s+(\S+)", t, re.M).group(1))
non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", t)
print(rps, p50, p99, non2xx.group(1) if non2xx else 0)
PY
}
wrk_report() {
	local name=$1 n bad spread=
	n=$(wc -l <"$W/wrk.$name")
	RPS[$name]=$(med_col 1 "$W/wrk.$name") P50[$name]=$(med_col 2 "$W/wrk.$name")
	P99[$name]=$(med_col 3 "$W/wrk.$name") bad=$(awk '{ s += $4 } END { print s + 0 }' "$W/wrk.$name")
	[ "$bad" != 0 ] && echo "  warning: $name had $bad non-2xx replies" >&2
	if [ "$n" -gt 1 ]; then
		spread=$(awk '{ for (c = 1; c <= 3; c++) { if (NR == 1 || $c < lo[c]) lo[c] = $c; if (NR == 1 || $c > hi[c]) hi[c] = $c } }
			END { printf "   (min..max: %.0f..%.0f req/s, p50 %.2f..%.2f, p99 %.2f..%.2f; %d runs)", lo[1], hi[1], lo[2], hi[2], lo[3], hi[3], NR }' "$W/wrk.$name")
	fi
	printf '  %-34s %10.0f req/s   p50 %7.2f ms   p99 %7.2f ms%s\n' "$name" "${RPS[$name]}" "${P50[$name]}" "${P99[$name]}" "$spread"
}
# med_col COL FILE: the median (the lower middle of an even count) of column COL
med_col() { awk -v c="$1" '{print $c}' "$2" | sort -g | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
rounds() {
	local n=$# r k side
	local sides=("$@")
	for side in "${sides[@]}"; do : >"$W/wrk.$side"; done
	for ((r = 0; r < RUNS; r++)); do
		for ((k = 0; k < n; k++)); do ROUND=$r "side_${sides[(r + k) % n]}"; done
	done
	for side in "${sides[@]}"; do wrk_report "$side"; done
}
ratio() { python3 -c "print('%.2f' % ($1 / $2))"; }

post_lua() {
	cat >"$W/$1.lua" <<EOF
wrk.method = "POST"
wrk.body = '$2'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $TOKEN"
EOF
}

echo "tau-gateway HTTP bench ($PARTS): wrk -t1 -c$CONNS -d${SECS}s (anchors: $RUNS runs, medians), $(nproc) cores, loopback in a private netns"
post_lua nostore '{"input":"benchmark prompt with a few words","store":false}'
post_lua store '{"input":"benchmark prompt with a few words"}'

# ---- shared by the parts: the upstream stubs
start_stub() { # NAME COMMAND...: sets NAME_PID and NAME_PORT
	local name=$1 i
	shift
	"$@" >"$W/$name.out" 2>/dev/null &
	PIDS+=($!)
	eval "${name}_PID=$!"
	for ((i = 0; i < 200; i++)); do grep -q 'port=' "$W/$name.out" 2>/dev/null && break; sleep 0.05; done
	eval "${name}_PORT=$(sed -n 's/.*port=//p' "$W/$name.out")"
}
if has_part anchors || has_part overhead; then
	start_stub CSTUB "$(dirname "$BIN")/tau-bench-stub" 0
fi
# the server's event loops: one per core, at most 8 (src/server/server.c,
# SRV_LOOPS_MAX); nginx gets as many workers
GW_LOOPS=$(nproc)
[ "$GW_LOOPS" -gt 8 ] && GW_LOOPS=8

# ---- part anchors: 1-4 (left unindented: its here-documents end at column 0)
if has_part anchors; then

# --- upstream stub: Node (measurement 3); the C one (4) is started above ---
start_stub STUB node "$ROOT/bench/upstream_stub.mjs" 0

# --- tau-gateway, local/echo ---
bench_gw_start GW "$W/state"
curl -s -H "Authorization: Bearer $TOKEN" "http://$GW_ADDR/gateway/status" >"$W/status.json"
SIZE=$(wc -c <"$W/status.json")
curl -s -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
	-d '{"input":"benchmark prompt with a few words","store":false}' "http://$GW_ADDR/v1/responses" >"$W/echo.json"
ESIZE=$(wc -c <"$W/echo.json")

# --- nginx: a static file of the status's size, and a POST answered with a
# body of the echo reply's size (return 200, the request body discarded) ---
mkdir -p "$W/www" "$W/nginx"
chmod 755 "$W" "$W/www"   # nginx workers run unprivileged
head -c "$SIZE" /dev/zero | tr '\0' x >"$W/www/status.json"
cat >"$W/nginx/nginx.conf" <<EOF
worker_processes $GW_LOOPS;
daemon off;
pid $W/nginx/nginx.pid;
error_log $W/nginx/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:18080; root $W/www;
    location = /v1/responses { default_type application/json; return 200 '$(head -c "$ESIZE" /dev/zero | tr '\0' x)'; }
  }
}
EOF
nginx -c "$W/nginx/nginx.conf" -p "$W/nginx" &
PIDS+=($!)
NGINX_PID=$!
wait_port 18080
[ "$(curl -s -d '{}' http://127.0.0.1:18080/v1/responses | wc -c)" = "$ESIZE" ] ||
	{ echo "bench/http.sh: nginx's POST anchor does not answer $ESIZE bytes" >&2; exit 70; }

echo
echo "1. GET /gateway/status ($SIZE bytes) vs nginx (worker_processes $GW_LOOPS, the gateway's event loops) static file of the same size"
side_nginx() { wrk_run nginx http://127.0.0.1:18080/status.json; }
side_gw_status() { wrk_run gw_status "http://$GW_ADDR/gateway/status" -H "Authorization: Bearer $TOKEN"; }
rounds nginx gw_status
NGINX_WORKER=$(pgrep -P "$NGINX_PID" | head -1 || echo "$NGINX_PID")
echo "  ratio status/nginx: $(ratio "${RPS[gw_status]}" "${RPS[nginx]}")   (target >= 0.80)"

echo
echo "2. POST /v1/responses, local/echo, non-stream, vs nginx answering a POST with $ESIZE bytes (the echo reply's size)"
echo "   (store default: every run on a fresh server and state directory)"
side_nginx_post() { wrk_run nginx_post http://127.0.0.1:18080/v1/responses -s "$W/nostore.lua"; }
side_echo_store_false() { wrk_run echo_store_false "http://$GW_ADDR/v1/responses" -s "$W/nostore.lua"; }
side_echo_store_default() {
	bench_gw_start GWS "$W/state-store.$ROUND"
	wrk_run echo_store_default "http://$GWS_ADDR/v1/responses" -s "$W/store.lua"
	GWS_HWM=$(hwm "$GWS_PID")
	kill "$GWS_PID" && wait "$GWS_PID" 2>/dev/null || true
	rm -rf "$W/state-store.$ROUND"
}
rounds nginx_post echo_store_false echo_store_default
echo "  ratio echo(store false)/nginx POST: $(ratio "${RPS[echo_store_false]}" "${RPS[nginx_post]}")   echo(store false)/nginx static GET: $(ratio "${RPS[echo_store_false]}" "${RPS[nginx]}")   (target >= 0.40)"
echo "  ratio echo(store)/echo(store false): $(ratio "${RPS[echo_store_default]}" "${RPS[echo_store_false]}")   (one write(2)+rename per response, no fsync)"
echo "  peak RSS: tau-gateway $(hwm "$GW_PID") (store default, last run: $GWS_HWM)   nginx worker $(hwm "$NGINX_WORKER")"

echo
echo "3. openai/* in front of the upstream stub (node) vs the stub directly vs Portkey"
bench_gw_start UP "$W/state-up" --model openai/bench --provider-base-url "http://127.0.0.1:$STUB_PORT/v1"
post_lua chat '{"model":"bench","messages":[{"role":"user","content":"benchmark prompt"}]}'
cat >>"$W/chat.lua" <<'EOF'
wrk.path = "/v1/chat/completions"
EOF
PK=""
if [ -f "${PORTKEY_DIR:-}/node_modules/@portkey-ai/gateway/build/start-server.js" ]; then
	# its own session: on SIGTERM Portkey signals its whole process group,
	# which would otherwise end this script too
	(cd "$PORTKEY_DIR" && exec setsid node node_modules/@portkey-ai/gateway/build/start-server.js --port=18787 --headless) \
		>"$W/portkey.out" 2>&1 &
	PIDS+=($!)
	PK_PID=$!
	if wait_port 18787; then
		cat >"$W/pk.lua" <<EOF
wrk.method = "POST"
wrk.path = "/v1/chat/completions"
wrk.body = '{"model":"bench","messages":[{"role":"user","content":"benchmark prompt"}]}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer bench"
wrk.headers["x-portkey-provider"] = "openai"
wrk.headers["x-portkey-custom-host"] = "http://127.0.0.1:$STUB_PORT/v1"
EOF
		PK=1
	else
		echo "  Portkey did not start; see $W/portkey.out" >&2
	fi
else
	echo "  Portkey not installed (npm @portkey-ai/gateway@1.15.2); skipped"
fi
side_stub_direct() { wrk_run stub_direct "http://127.0.0.1:$STUB_PORT/v1/chat/completions" -s "$W/chat.lua"; }
side_gw_upstream() { wrk_run gw_upstream "http://$UP_ADDR/v1/responses" -s "$W/nostore.lua"; }
side_portkey() { wrk_run portkey "http://127.0.0.1:18787/v1/chat/completions" -s "$W/pk.lua"; }
rounds stub_direct gw_upstream ${PK:+portkey}
echo "  ratio gateway/direct: $(ratio "${RPS[gw_upstream]}" "${RPS[stub_direct]}")   (target >= 0.50)"
[ -n "$PK" ] && echo "  ratio gateway/portkey: $(ratio "${RPS[gw_upstream]}" "${RPS[portkey]}")   (target >= 10)"
echo "  peak RSS: tau-gateway $(hwm "$UP_PID")   stub $(hwm "$STUB_PID")${PK:+   portkey $(hwm "$PK_PID")}"

echo
echo "   SSE: time to the first data: line, $SSE_N requests per side, the sides taking turns request by request (p50 / p99 ms, nearest rank)"
# ttfb SPEC...: each SPEC is NAME|MARKER|URL|BODY[|header]...; the sides
# take turns request by request, SSE_N each; prints "NAME p50 p99" (ms until
# MARKER first arrives on a fresh connection) per side
ttfb() {
	python3 - "$SSE_N" "$@" <<'PY'
import math, socket, sys, time, urllib.parse
n = int(sys.argv[1])
sides = []
for spec in sys.argv[2:]:
    name, marker, url, body, *headers = spec.split("|")
    u = urllib.parse.urlsplit(url)
    req = ("POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n%s\r\n"
           % (u.path, u.netloc, len(body), "".join(h + "\r\n" for h in headers))).encode() + body.encode()
    sides.append((name, marker.encode(), (u.hostname, u.port), req, []))
for _ in range(n):
    for name, marker, addr, req, times in sides:
        s = socket.create_connection(addr)
        t0 = time.perf_counter()
        s.sendall(req)
        buf = b""
        while marker not in buf:
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
        times.append((time.perf_counter() - t0) * 1000)
        s.close()
def rank(x, p):  # nearest rank: the smallest value with at least p % at or below it
    return x[max(0, math.ceil(p / 100 * len(x)) - 1)]
for name, _, _, _, times in sides:
    times.sort()
    print("%s %.3f %.3f" % (name, rank(times, 50), rank(times, 99)))
PY
}
CHAT_SSE='{"model":"bench","stream":true,"messages":[{"role":"user","content":"benchmark prompt"}]}'
RESP_SSE='{"input":"benchmark prompt","stream":true,"store":false}'
specs=("direct|data:|http://127.0.0.1:$STUB_PORT/v1/chat/completions|$CHAT_SSE"
	"gateway|data:|http://$UP_ADDR/v1/responses|$RESP_SSE|Authorization: Bearer $TOKEN"
	"gateway_text|output_text.delta|http://$UP_ADDR/v1/responses|$RESP_SSE|Authorization: Bearer $TOKEN")
[ -n "$PK" ] && specs+=("portkey|data:|http://127.0.0.1:18787/v1/chat/completions|$CHAT_SSE|Authorization: Bearer bench|x-portkey-provider: openai|x-portkey-custom-host: http://127.0.0.1:$STUB_PORT/v1")
declare -A T50 T99
while read -r name a b; do T50[$name]=$a T99[$name]=$b; done < <(ttfb "${specs[@]}")
printf '  %-34s p50 %7.3f ms   p99 %7.3f ms\n' "stub direct: first data:" "${T50[direct]}" "${T99[direct]}" \
	"tau-gateway: first data:" "${T50[gateway]}" "${T99[gateway]}" \
	"tau-gateway: first text delta" "${T50[gateway_text]}" "${T99[gateway_text]}"
echo "  added by tau-gateway (first text delta vs direct first data:): p50 $(python3 -c "print('%.3f' % (${T50[gateway_text]} - ${T50[direct]}))") ms   (target <= 1 ms)"
if [ -n "$PK" ]; then
	printf '  %-34s p50 %7.3f ms   p99 %7.3f ms\n' "portkey: first data:" "${T50[portkey]}" "${T99[portkey]}"
	echo "  added by Portkey: p50 $(python3 -c "print('%.3f' % (${T50[portkey]} - ${T50[direct]}))") ms"
fi
echo "  peak RSS after all runs: tau-gateway(echo) $(hwm "$GW_PID")   tau-gateway(upstream) $(hwm "$UP_PID")${PK:+   portkey $(hwm "$PK_PID")}"

echo
echo "4. the gateway's ceiling: openai/* in front of tau-bench-stub (C, canned replies; no target)"
bench_gw_start UP4 "$W/state-up4" --model openai/bench --provider-base-url "http://127.0.0.1:$CSTUB_PORT/v1"
side_cstub_direct() { wrk_run cstub_direct "http://127.0.0.1:$CSTUB_PORT/v1/chat/completions" -s "$W/chat.lua"; }
side_gw_upstream_cstub() { wrk_run gw_upstream_cstub "http://$UP4_ADDR/v1/responses" -s "$W/nostore.lua"; }
rounds cstub_direct gw_upstream_cstub
echo "  peak RSS: tau-gateway $(hwm "$UP4_PID")   tau-bench-stub $(hwm "$CSTUB_PID")"
fi # part anchors

# ---- part overhead (7): the gateway's own time per request, read from the
# Server-Timing header of every answer, at the C stub's full rate
if has_part overhead; then
OV_SECS=${BENCH_OVERHEAD_SECS:-5}
OV_CONNS=${BENCH_OVERHEAD_CONNS-1 $CONNS}
OV_RATES=${BENCH_OVERHEAD_RATES-10000}
OPENAI_TARGET="\"provider\": \"openai\", \"model\": \"bench\", \"api_key_env\": \"OPENAI_API_KEY\""
# the breaker must not open on the failing target during the bench: a
# fallback that skips it would measure nothing
cat >"$W/routes.json" <<EOF
{"version": 1, "default": "bench", "breaker": {"failures": 1000000, "cooldown_ms": 1000},
 "routes": [
  {"model": "bench", "targets": [{$OPENAI_TARGET, "base_url": "http://127.0.0.1:$CSTUB_PORT/v1"}]},
  {"model": "fallback", "targets": [{$OPENAI_TARGET, "base_url": "http://127.0.0.1:$CSTUB_PORT/fail/v1"},
    {$OPENAI_TARGET, "base_url": "http://127.0.0.1:$CSTUB_PORT/v1"}]},
  {"model": "failing", "targets": [{$OPENAI_TARGET, "base_url": "http://127.0.0.1:$CSTUB_PORT/fail/v1"}]}]}
EOF
bench_gw_start RT "$W/state-rt" --quiet --gateway-routes "$W/routes.json"
bench_gw_start UNR "$W/state-unr" --quiet --model openai/bench --provider-base-url "http://127.0.0.1:$CSTUB_PORT/v1"

# st_lua NAME PATH BODY: $W/ov_NAME.lua POSTs BODY to PATH and keeps
# "status gateway upstream" (ms) of every answer's Server-Timing, written
# by done() to $ST_OUT (one line per answer; "miss N" counts answers
# without the header)
st_lua() {
	cat >"$W/ov_$1.lua" <<EOF
wrk.method = "POST"
wrk.path = "$2"
wrk.body = '$3'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $TOKEN"
local threads = {}
function setup(thread) threads[#threads + 1] = thread end
-- paced (OV_PACE_MS=D): each request waits a random 0..2D ms first
local pace = tonumber(os.getenv("OV_PACE_MS") or "")
if pace and pace > 0 then
  local hi = math.floor(2 * pace + 0.5)
  function delay() return math.random(0, hi) end
end
n, miss, rows = 0, 0, {}
function response(status, headers, body)
  local st = headers["Server-Timing"]
  local g = st and st:match("gateway;dur=([%d.]+)")
  if g then
    n = n + 1
    rows[n] = status .. " " .. g .. " " .. (st:match("upstream;dur=([%d.]+)") or "nan")
  else
    miss = miss + 1
  end
end
function done(summary, latency, requests)
  local f = assert(io.open(os.getenv("ST_OUT"), "w"))
  for _, t in ipairs(threads) do
    local r = t:get("rows")
    for i = 1, t:get("n") do f:write(r[i], "\n") end
    f:write("miss ", t:get("miss"), "\n")
  end
  f:close()
end
EOF
}
st_lua resp_json /v1/responses '{"model":"bench","input":"benchmark prompt with a few words","store":false}'
st_lua resp_sse /v1/responses '{"model":"bench","input":"benchmark prompt with a few words","store":false,"stream":true}'
st_lua chat_json /v1/chat/completions '{"model":"bench","messages":[{"role":"user","content":"benchmark prompt"}]}'
st_lua chat_sse /v1/chat/completions '{"model":"bench","stream":true,"messages":[{"role":"user","content":"benchmark prompt"}]}'
st_lua unrouted_json /v1/responses '{"input":"benchmark prompt with a few words","store":false}'
st_lua fallback /v1/responses '{"model":"fallback","input":"benchmark prompt with a few words","store":false}'
st_lua failing /v1/responses '{"model":"failing","input":"benchmark prompt with a few words","store":false}'
# the overhead histogram's buckets, cumulative, from a server's /metrics
ov_hist() {
	curl -s -H "Authorization: Bearer $TOKEN" "http://$1/metrics" |
		sed -n 's/^tau_gateway_overhead_seconds_bucket{le="\([^"]*\)"} \([0-9]*\)$/\1 \2/p'
}
# ov_run NAME ADDR: one wrk run of $W/ov_NAME.lua at $OVC connections; the
# Server-Timing rows go to $W/st.NAME.ROUND, the server's histogram before
# and after to $W/hist.NAME.ROUND.{0,1}
ov_run() {
	ov_hist "$2" >"$W/hist.$1.$ROUND.0"
	ST_OUT="$W/st.$1.$ROUND" SECS=$OV_SECS CONNS=$OVC wrk_run "$1" "http://$2/" -s "$W/ov_$1.lua"
	ov_hist "$2" >"$W/hist.$1.$ROUND.1"
}
for side in resp_json resp_sse chat_json chat_sse fallback failing; do
	eval "side_$side() { ov_run $side \"\$RT_ADDR\"; }"
done
side_unrouted_json() { ov_run unrouted_json "$UNR_ADDR"; }
OV_SIDES=(${BENCH_OVERHEAD_SIDES:-resp_json resp_sse chat_json chat_sse unrouted_json fallback failing})
if [ -n "${BENCH_BASE_BIN:-}" ]; then
	# the same routes on another binary: its plain and fallback requests
	BIN=$(realpath "$BENCH_BASE_BIN") bench_gw_start RTB "$W/state-rtb" --quiet --gateway-routes "$W/routes.json"
	for side in resp_json chat_json fallback; do
		[[ " ${OV_SIDES[*]} " == *" $side "* ]] || continue
		cp "$W/ov_$side.lua" "$W/ov_base_$side.lua"
		eval "side_base_$side() { ov_run base_$side \"\$RTB_ADDR\"; }"
		OV_SIDES+=("base_$side")
	done
fi
# ov_report SIDE...: per side, over its runs: req/s, answers, non-200s, the
# gateway;dur p50/p99/p99.9 (nearest rank within a run, then the median
# across runs with min..max), upstream;dur p50 and the total (gateway +
# upstream) p50; and from the histogram the share of the run's answers at
# or under 50 us and 500 us
ov_report() {
	python3 - "$W" "$@" <<'PY'
import glob, math, statistics, sys
w, sides = sys.argv[1], sys.argv[2:]
def rank(x, p):
    return x[max(0, math.ceil(p / 100 * len(x)) - 1)]
def med(v):
    v = sorted(v)
    return v[(len(v) - 1) // 2], v[0], v[-1]
def hist(f):
    return {le: int(n) for le, n in (l.split() for l in open(f))}
out = {}
for s in sides:
    runs = []
    for f in sorted(glob.glob("%s/st.%s.*" % (w, s))):
        rows = [l.split() for l in open(f) if l[0].isdigit()]
        miss = sum(int(l.split()[1]) for l in open(f) if l.startswith("miss"))
        if not rows:
            continue
        g = sorted(float(r[1]) * 1000 for r in rows)
        u = sorted(float(r[2]) * 1000 for r in rows)
        t = sorted((float(r[1]) + float(r[2])) * 1000 for r in rows)
        bad = sum(r[0] != "200" for r in rows)
        r = f.rsplit(".", 1)[1]
        h0, h1 = hist("%s/hist.%s.%s.0" % (w, s, r)), hist("%s/hist.%s.%s.1" % (w, s, r))
        d = {le: h1[le] - h0.get(le, 0) for le in h1}
        n = d.get("+Inf", 0) or 1
        runs.append(dict(n=len(rows), miss=miss, bad=bad, g50=rank(g, 50), g99=rank(g, 99),
                         g999=rank(g, 99.9), u50=rank(u, 50), t50=rank(t, 50),
                         h50=100 * d.get("5e-05", 0) / n, h500=100 * d.get("0.0005", 0) / n))
    if not runs:
        print("  %-14s no answers with Server-Timing" % s)
        continue
    m = {k: med([r[k] for r in runs]) for k in runs[0]}
    out[s] = m
    print("  %-14s gateway;dur p50 %6.0f us (%.0f..%.0f)  p99 %6.0f us (%.0f..%.0f)  p99.9 %6.0f us"
          "   upstream p50 %5.0f us   total p50 %5.0f us" % (s, *m["g50"], *m["g99"], m["g999"][0],
          m["u50"][0], m["t50"][0]))
    print("  %-14s %d runs, %d answers in the median run%s%s;  histogram: %.1f %% <= 50 us, %.1f %% <= 500 us"
          % ("", len(runs), m["n"][0], ", %d without Server-Timing" % sum(r["miss"] for r in runs)
             if any(r["miss"] for r in runs) else "", ", %d not 200" % m["bad"][0] if m["bad"][0] else "",
             m["h50"][0], m["h500"][0]))
for pre in ("", "base_"):
    if pre + "fallback" not in out or pre + "resp_json" not in out or "failing" not in out:
        continue
    fb, pl, fa = out[pre + "fallback"], out[pre + "resp_json"], out["failing"]
    print("  %sfallback vs %splain (route bench), p50s: total %+.0f us = gateway %+.0f us + upstream %+.0f us"
          % (pre, pre, fb["t50"][0] - pl["t50"][0], fb["g50"][0] - pl["g50"][0], fb["u50"][0] - pl["u50"][0]))
if "fallback" in out and "failing" in out:
    fa = out["failing"]
    print("    the failed attempt's own time (route failing): upstream p50 %.0f us, total p50 %.0f us"
          "  (target: the fallback adds no more)" % (fa["u50"][0], fa["t50"][0]))
PY
}
# ov_load HOW: one set of interleaved rounds of every side and its report
ov_load() {
	echo
	echo "7. the gateway's own time (Server-Timing gateway;dur, per answer) in front of tau-bench-stub,"
	echo "   routed (--gateway-routes, openai targets), wrk -t1 -c$OVC -d${OV_SECS}s $1, $RUNS rounds, sides interleaved"
	echo "   (streams: gateway;dur is the time until the headers went out; the histogram has the whole stream)"
	rm -f "$W"/st.* "$W"/hist.*
	[ -n "${BENCH_BASE_BIN:-}" ] && echo "   base_*: the same routes on $BENCH_BASE_BIN"
	rounds "${OV_SIDES[@]}"
	echo "   Server-Timing (targets: p50 <= 50 us, p99 <= 500 us):"
	ov_report "${OV_SIDES[@]}"
}
for OVC in $OV_CONNS; do
	ov_load "(closed loop: each connection sends as soon as it has its answer)"
done
# paced: 64 connections, each waiting a random 0..2D ms before every request
# (D = 64 / rate), so the offered load is about the rate whatever the
# latency, as a production gateway's is (wrk's req/s says what it was).
# With BENCH_OVERHEAD_PIN=1 (the default on 2 or more CPUs) the gateways of
# these runs are servers of their own on the last CPU (their event loops,
# one per core online, share it), and wrk and the stub run on the others:
# the gateway has a core to itself, as in the published figures it is
# compared with, and its time is not its loop waiting for the CPU behind
# wrk or the stub.
OVC=64
OV_PIN=${BENCH_OVERHEAD_PIN:-1}
[ "$(nproc)" -lt 2 ] && OV_PIN=0
if [ -n "$OV_RATES" ] && [ "$OV_PIN" = 1 ]; then
	last=$(($(nproc) - 1))
	BENCH_GW_CPUS=$last bench_gw_start RTP "$W/state-rtp" --quiet --gateway-routes "$W/routes.json"
	BENCH_GW_CPUS=$last bench_gw_start UNRP "$W/state-unrp" --quiet --model openai/bench \
		--provider-base-url "http://127.0.0.1:$CSTUB_PORT/v1"
	RT_ADDR=$RTP_ADDR UNR_ADDR=$UNRP_ADDR RT_PID=$RTP_PID UNR_PID=$UNRP_PID
	if [ -n "${BENCH_BASE_BIN:-}" ]; then
		BIN=$(realpath "$BENCH_BASE_BIN") BENCH_GW_CPUS=$last bench_gw_start RTBP "$W/state-rtbp" \
			--quiet --gateway-routes "$W/routes.json"
		RTB_ADDR=$RTBP_ADDR
	fi
	WRK_PIN=(taskset -c "0-$((last - 1))")
	taskset -a -p -c "0-$((last - 1))" "$CSTUB_PID" >/dev/null
	pinned=", each gateway alone on CPU $last, wrk and the stub on CPU 0-$((last - 1))"
fi
for rate in $OV_RATES; do
	export OV_PACE_MS
	OV_PACE_MS=$(python3 -c "print(64000 / $rate)")
	ov_load "paced at ~$rate req/s (a random 0..$(python3 -c "print(round(2 * $OV_PACE_MS))") ms wait before each request)${pinned:-}"
	unset OV_PACE_MS
done
WRK_PIN=()
[ -n "${pinned:-}" ] && taskset -a -p -c "0-$last" "$CSTUB_PID" >/dev/null
curl -s -H "Authorization: Bearer $TOKEN" "http://$RT_ADDR/gateway/status" | python3 -c '
import json, sys
for r in json.load(sys.stdin)["routes"]["routes"]:
    for t in r["targets"]:
        if t["skipped"]:
            print("  warning: route %s skipped a target %d times (its circuit opened)" % (r["model"], t["skipped"]))'
echo "  peak RSS: tau-gateway(routes) $(hwm "$RT_PID")   tau-gateway(unrouted) $(hwm "$UNR_PID")"
fi # part overhead

# ---- part routes (8): the routes lookup's price on local/echo
if has_part routes; then
bench_routes_echo "$W/routes-echo.json"
bench_gw_start NORT "$W/state-nort" --quiet
bench_gw_start ECHORT "$W/state-echort" --quiet --gateway-routes "$W/routes-echo.json"
echo
echo "8. the routes lookup: POST /v1/responses local/echo store:false, no routes file vs a routes file"
echo "   whose default route is local/echo (four routes), $RUNS rounds interleaved"
gw_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
: >"$W/cpu.routes"
rt_run() { # NAME PID ADDR
	local t0 t1 n
	t0=$(gw_ticks "$2")
	wrk_run "$1" "http://$3/v1/responses" -s "$W/nostore.lua"
	t1=$(gw_ticks "$2")
	n=$(sed -n 's/^ *\([0-9]*\) requests in.*/\1/p' "$W/wrk.out")
	awk -v s="$1" -v t=$((t1 - t0)) -v n="$n" -v hz="$(getconf CLK_TCK)" \
		'BEGIN { printf "%s %.2f\n", s, t / hz * 1e6 / n }' >>"$W/cpu.routes"
}
side_no_routes() { rt_run no_routes "$NORT_PID" "$NORT_ADDR"; }
side_routes() { rt_run routes "$ECHORT_PID" "$ECHORT_ADDR"; }
RT_SIDES=(no_routes routes)
if [ -n "${BENCH_BASE_BIN:-}" ]; then
	echo "   base_*: the same two on $BENCH_BASE_BIN"
	BIN=$(realpath "$BENCH_BASE_BIN") bench_gw_start BNORT "$W/state-bnort" --quiet
	BIN=$(realpath "$BENCH_BASE_BIN") bench_gw_start BECHORT "$W/state-bechort" --quiet --gateway-routes "$W/routes-echo.json"
	side_base_no_routes() { rt_run base_no_routes "$BNORT_PID" "$BNORT_ADDR"; }
	side_base_routes() { rt_run base_routes "$BECHORT_PID" "$BECHORT_ADDR"; }
	RT_SIDES+=(base_no_routes base_routes)
fi
rounds "${RT_SIDES[@]}"
for side in "${RT_SIDES[@]}"; do
	printf '  %-10s server CPU per request (median): %s us\n' "$side" \
		"$(awk -v s="$side" '$1 == s {print $2}' "$W/cpu.routes" | sort -g | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}')"
done
echo "  ratio routes/no routes: $(ratio "${RPS[routes]}" "${RPS[no_routes]}")   (target >= 0.95)"
[ -n "${BENCH_BASE_BIN:-}" ] && echo "  base: ratio routes/no routes: $(ratio "${RPS[base_routes]}" "${RPS[base_no_routes]}")"
fi # part routes

# ---- parts store (5) and turns (6): a throwaway cluster; for turns a
# server on it and one on a state directory (store starts its own per run)
if has_part store || has_part turns; then
	pg_cluster_start
	pg_sql "$TAU_TEST_PG_URL" "CREATE DATABASE bench" >/dev/null
	PG_URL=$(pg_url_db bench)
	echo
	echo "   $(bench_pg_settings "$PG_URL")"
fi
if has_part turns; then
	bench_gw_start FILES "$W/state-files" --quiet
	bench_gw_start PG "$PG_URL" --quiet
	if [ -n "${BENCH_BASE_BIN:-}" ]; then
		pg_sql "$TAU_TEST_PG_URL" "CREATE DATABASE benchbase" >/dev/null
		BIN=$(realpath "$BENCH_BASE_BIN") bench_gw_start PGBASE "$(pg_url_db benchbase)" --quiet
	fi
fi
if has_part store; then
	STORE_ROUNDS=${BENCH_STORE_ROUNDS:-5}
	declare -A HWM
	echo
	echo "5. stored responses (POST /v1/responses, local/echo, default store:true): PostgreSQL vs files"
	echo "   wrk -t1 -c$CONNS -d${SECS}s per run, $STORE_ROUNDS rounds, files and PostgreSQL interleaved"
	# CPU time (ticks) of a gateway, and of the cluster: the postmaster with
	# its reaped children, plus its live children (the backends)
	gw_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
	pg_ticks() {
		local pm c t
		pm=$(head -1 "$PG_DIR/data/postmaster.pid")
		t=$(awk '{print $14 + $15 + $16 + $17}' "/proc/$pm/stat")
		for c in $(pgrep -P "$pm"); do t=$((t + $(awk '{print $14 + $15}' "/proc/$c/stat" 2>/dev/null || echo 0))); done
		echo "$t"
	}
	: >"$W/wrk.files_store" && : >"$W/wrk.pg_store" && : >"$W/cpu"
	for ((r = 0; r < STORE_ROUNDS; r++)); do
		if ((r % 2 == 0)); then order=(files pg); else order=(pg files); fi
		for side in "${order[@]}"; do
			# a fresh server on a fresh state directory or database each run
			if [ "$side" = files ]; then
				bench_gw_start SF "$W/state-files.$r" --quiet
			else
				pg_sql "$TAU_TEST_PG_URL" "CREATE DATABASE bench_store_$r" >/dev/null
				bench_gw_start SF "$(pg_url_db "bench_store_$r")" --quiet
			fi
			addr=$SF_ADDR pid=$SF_PID
			g0=$(gw_ticks "$pid") p0=$(pg_ticks)
			wrk_run "${side}_store" "http://$addr/v1/responses" -s "$W/store.lua"
			g1=$(gw_ticks "$pid") p1=$(pg_ticks)
			HWM[$side]=$(hwm "$pid")
			kill "$pid" && wait "$pid" 2>/dev/null || true
			rm -rf "$W/state-files.$r"
			n=$(sed -n 's/^ *\([0-9]*\) requests in.*/\1/p' "$W/wrk.out")
			awk -v s="$side" -v g=$((g1 - g0)) -v p=$((p1 - p0)) -v n="$n" -v hz="$(getconf CLK_TCK)" \
				'BEGIN { printf "%s %.1f %.1f\n", s, g / hz * 1e6 / n, p / hz * 1e6 / n }' >>"$W/cpu"
		done
	done
	wrk_report files_store
	wrk_report pg_store
	for side in files pg; do
		printf '  %-6s CPU per request (medians, us): gateway %s   PostgreSQL %s\n' "$side" \
			"$(awk -v s="$side" '$1 == s {print $2}' "$W/cpu" | sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}')" \
			"$(awk -v s="$side" '$1 == s {print $3}' "$W/cpu" | sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}')"
	done
	echo "  ratio PostgreSQL/files: $(ratio "${RPS[pg_store]}" "${RPS[files_store]}")   (target >= 0.50);" \
		"PostgreSQL p99 $(printf '%.2f' "${P99[pg_store]}") ms (target < 20 ms)"
	echo "  rows stored in the last PostgreSQL run: $(pg_sql "$(pg_url_db "bench_store_$((STORE_ROUNDS - 1))")" 'SELECT count(*) FROM tau_response')" \
		"  peak RSS (last runs): files ${HWM[files]}   PostgreSQL ${HWM[pg]}"
fi
if has_part turns; then
	TURNS=${BENCH_TURNS:-20}
	CONVS=${BENCH_TURN_CONVS:-30}
	echo
	echo "6. a $TURNS-turn conversation, per-turn latency, $CONVS conversations per backend, interleaved"
	# CPU per continuation: the gateway's threads; on PostgreSQL also the
	# cluster's processes (the postmaster and its children)
	PM=$(head -1 "$PG_DIR/data/postmaster.pid")
	cpu="files=$FILES_PID;pg=$PG_PID,$PM+"
	sides=(files="$FILES_ADDR" pg="$PG_ADDR")
	if [ -n "${BENCH_BASE_BIN:-}" ]; then
		echo "   pgbase: $BENCH_BASE_BIN on a database of its own in the same cluster"
		cpu+=";pgbase=$PGBASE_PID,$PM+"
		sides+=(pgbase="$PGBASE_ADDR")
	fi
	if [ "${BENCH_PREV:-1}" != 0 ]; then
		BENCH_TURN_CPU=$cpu python3 "$ROOT/bench/turns.py" prev "$CONVS" "$TURNS" "$TOKEN" "${sides[@]}"
	fi
	if [ "${BENCH_SESSION:-1}" != 0 ]; then
		BENCH_TURN_CPU=$cpu python3 "$ROOT/bench/turns.py" session "$CONVS" "$TURNS" "$TOKEN" "${sides[@]}"
	fi
fi

# ---- part ws: Open Responses over WebSocket vs HTTP keep-alive with SSE
# (issue 13).  tau-bench-wsload (bench/ws_load.c: one thread, epoll) runs
# BENCH_CONNS clients, each turn after turn (local/echo, store:false, one
# user message), over WebSockets or keep-alive connections posting
# "stream":true; BENCH_WS_ROUNDS rounds of BENCH_SECS each, the two sides
# interleaved round by round (the order turning each round), on one server;
# then the same with one client, for the latency of a turn that does not
# queue behind 63 others.  Prints turns/s (median, min..max), the turn
# latency p99 by nearest rank (median of the rounds' and over every turn of
# the side), and the gateway's and the generator's CPU per turn (the
# generator must not be the bottleneck).  The saturation p99 is queueing:
# 64 turns always in flight at N turns/s wait 64/N s on average whatever
# the gateway does per turn, so it says little about a turn's latency.
# Then paced (open loop): BENCH_WS_RATE turns/s over BENCH_CONNS
# connections, turn i scheduled at start + i/RATE and handed to an idle
# connection, its latency counted from the scheduled time (coordinated
# omission not hidden: a turn waiting for a connection or for the
# generator's wake-up counts); the same rounds, interleaved.  It prints
# p50/p99 (median of the rounds with min..max, and over all turns), the
# p99 of the generator's own lateness (send lag) and of send-to-done, so a
# p99 the loaded machine made can be told from one the gateway made.
# Targets: WebSocket >= SSE per turn, paced p99 < 2 ms.  (A Node
# generator, Node 20's WebSocket, spent more CPU per turn than the
# gateway, so it measured itself.)
# ws_rounds CONNS [RATE]: WS_ROUNDS rounds of tau-bench-wsload, ws and sse
# interleaved (the order turning each round), CONNS connections, closed
# loop or paced at RATE turns/s; a JSON line per run, with the gateway's
# CPU (gw_cpu_us), into $W/ws.rounds
ws_rounds() {
	local r side g0 g1 order
	: >"$W/ws.rounds"
	for ((r = 0; r < WS_ROUNDS; r++)); do
		if ((r % 2 == 0)); then order=(ws sse); else order=(sse ws); fi
		for side in "${order[@]}"; do
			g0=$(ws_ticks "$WSGW_PID")
			"$WSLOAD" "$side" "$WSGW_ADDR" "$TOKEN" "$1" "$SECS" ${2:+"$2"} >"$W/ws.out"
			g1=$(ws_ticks "$WSGW_PID")
			jq -c --arg g "$(((g1 - g0) * 1000000 / $(getconf CLK_TCK)))" \
				'. + {gw_cpu_us: ($g | tonumber)}' "$W/ws.out" >>"$W/ws.rounds"
		done
	done
}
if has_part ws; then
	WS_ROUNDS=${BENCH_WS_ROUNDS:-5}
	WSLOAD=$(dirname "$BIN")/tau-bench-wsload
	bench_gw_start WSGW "$W/state-ws" --quiet
	ws_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
	for conns in "$CONNS" 1; do
		echo
		echo "ws. turns over $conns WebSocket(s) vs $conns HTTP keep-alive connection(s) with SSE (local/echo, store:false)"
		echo "   ${SECS}s per run, $WS_ROUNDS rounds, the two sides interleaved"
		ws_rounds "$conns"
		python3 - "$W/ws.rounds" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
def rank(xs, p):  # nearest rank: the ceil(p/100 * n)-th smallest
    xs = sorted(xs)
    return xs[max(0, -(-p * len(xs) // 100) - 1)]
med = {}
for side in ("ws", "sse"):
    rs = [r for r in rows if r["mode"] == side]
    tps = [r["turns_per_s"] for r in rs]
    p99 = [r["p99_us"] for r in rs]
    pooled = [x for r in rs for x in r["lat"]]
    turns = sum(r["turns"] for r in rs)
    med[side] = statistics.median(tps)
    print(f"  {side:3} turns/s median {med[side]:7.0f} (min {min(tps):.0f} .. max {max(tps):.0f});"
          f" p99 median {statistics.median(p99) / 1000:.2f} ms (rounds {min(p99) / 1000:.2f} .. {max(p99) / 1000:.2f}),"
          f" over all {turns} turns {rank(pooled, 99) / 1000:.2f} ms, p50 {rank(pooled, 50) / 1000:.2f} ms;"
          f" failed {sum(r['failed'] for r in rs)}")
    print(f"      CPU per turn: gateway {sum(r['gw_cpu_us'] for r in rs) / turns:.1f} us,"
          f" load generator {sum(r['cpu_us'] for r in rs) / turns:.1f} us")
print(f"  ratio WebSocket/SSE turns/s: {med['ws'] / med['sse']:.2f} (target >= 1.00; p99 target < 2 ms)")
PY
	done
	WS_RATE=${BENCH_WS_RATE:-2000}
	echo
	echo "ws. paced: $WS_RATE turns/s over $CONNS WebSockets vs $CONNS HTTP keep-alive connections with SSE"
	echo "   (open loop, latency from each turn's scheduled send time; ${SECS}s per run, $WS_ROUNDS rounds interleaved)"
	ws_rounds "$CONNS" "$WS_RATE"
	python3 - "$W/ws.rounds" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
def rank(xs, p):  # nearest rank: the ceil(p/100 * n)-th smallest
    xs = sorted(xs)
    return xs[max(0, -(-p * len(xs) // 100) - 1)]
def ms(xs):
    return f"{statistics.median(xs) / 1000:.2f} ms ({min(xs) / 1000:.2f} .. {max(xs) / 1000:.2f})"
for side in ("ws", "sse"):
    rs = [r for r in rows if r["mode"] == side]
    pooled = [x for r in rs for x in r["lat"]]
    turns = sum(r["turns"] for r in rs)
    print(f"  {side:3} {statistics.median(r['turns_per_s'] for r in rs):6.0f} turns/s;"
          f" p50 {ms([r['p50_us'] for r in rs])}; p99 {ms([r['p99_us'] for r in rs])},"
          f" over all {turns} turns p50 {rank(pooled, 50) / 1000:.2f} ms p99 {rank(pooled, 99) / 1000:.2f} ms;"
          f" failed {sum(r['failed'] for r in rs)}")
    print(f"      p99 of the generator's send lag {ms([r['lag_p99_us'] for r in rs])},"
          f" of send to done {ms([r['sent_p99_us'] for r in rs])};"
          f" CPU per turn: gateway {sum(r['gw_cpu_us'] for r in rs) / turns:.1f} us,"
          f" load generator {sum(r['cpu_us'] for r in rs) / turns:.1f} us")
print("  (p99 target < 2 ms, WebSocket, from the scheduled time)")
PY
	echo "  peak RSS: tau-gateway $(hwm "$WSGW_PID")"
fi
