#!/usr/bin/env bash
# bench/http.sh - HTTP throughput and latency of tau-gateway, side by side
# with its anchors, all inside one network namespace (unshare -n, loopback
# only).  Prints figures; never fails on speed.
#
#   bench/http.sh [BIN]        BIN defaults to build/tau-gateway
#   BENCH_SECS=10 BENCH_RUNS=3 BENCH_CONNS=64   wrk settings (1 thread)
#   BENCH_SSE_N=200            sequential SSE requests for time-to-first-data
#   PORTKEY_DIR=dir            where npm installs @portkey-ai/gateway 1.15.2
#                              (default ~/.cache/tau-bench/portkey; skipped
#                              when npm cannot install it)
#
# Measurements (wrk: 1 thread, 64 connections, 10 s, 3 runs, medians):
#   1. GET /gateway/status            vs nginx (worker_processes 1) serving a
#                                     static file of the same size
#   2. POST /v1/responses, local/echo, store false and default store, vs nginx
#   3. POST /v1/responses, openai/* -> upstream stub, vs the stub directly and
#      vs Portkey in front of the same stub (non-stream), and the added SSE
#      time to the first data: line over BENCH_SSE_N sequential requests.
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
#      wrk settings; medians with min..max.  Target: PostgreSQL >= 50 % of
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
#   BENCH_PARTS="anchors store turns"   which to run: anchors (1-4; needs
#                                 nginx), store (5) and turns (6) (both need
#                                 PostgreSQL's server), ws
#   BENCH_STORE_ROUNDS=5 BENCH_TURN_CONVS=30 BENCH_TURNS=20 BENCH_SESSION=1
#   BENCH_PREV=1 BENCH_BASE_BIN= BENCH_WS_ROUNDS=5 BENCH_WS_RATE=2000
# Each server's peak RSS (VmHWM) is printed after its load.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=$(realpath "${1:-$ROOT/build/tau-gateway}")

PARTS=${BENCH_PARTS:-anchors store turns}
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
# non-2xx count appended to $W/wrk.NAME; wrk_report NAME: the median run
# (by req/s) into RPS/P50/P99[NAME], printed, with min..max of each figure
# when there was more than one run; wrk_med NAME URL [args]: RUNS runs, then
# the report
declare -A RPS P50 P99
wrk_run() {
	local name=$1 url=$2
	shift 2
	wrk -t1 -c"$CONNS" -d"${SECS}s" --latency "$@" "$url" >"$W/wrk.out"
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
	read -r RPS[$name] P50[$name] P99[$name] bad < <(sort -n "$W/wrk.$name" | sed -n "$(((n + 1) / 2))p")
	[ "$bad" != 0 ] && echo "  warning: $name had $bad non-2xx replies in the median run" >&2
	if [ "$n" -gt 1 ]; then
		spread=$(awk '{ for (c = 1; c <= 3; c++) { if (NR == 1 || $c < lo[c]) lo[c] = $c; if (NR == 1 || $c > hi[c]) hi[c] = $c } }
			END { printf "   (min..max: %.0f..%.0f req/s, p50 %.2f..%.2f, p99 %.2f..%.2f; %d runs)", lo[1], hi[1], lo[2], hi[2], lo[3], hi[3], NR }' "$W/wrk.$name")
	fi
	printf '  %-34s %10.0f req/s   p50 %7.2f ms   p99 %7.2f ms%s\n' "$name" "${RPS[$name]}" "${P50[$name]}" "${P99[$name]}" "$spread"
}
wrk_med() {
	local name=$1 r
	: >"$W/wrk.$name"
	for ((r = 0; r < RUNS; r++)); do wrk_run "$@"; done
	wrk_report "$name"
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

# ---- part anchors: 1-4 (left unindented: its here-documents end at column 0)
if has_part anchors; then

# --- upstream stubs: Node (measurement 3) and C (measurement 4) ---
start_stub() { # NAME COMMAND...: sets NAME_PID and NAME_PORT
	local name=$1 i
	shift
	"$@" >"$W/$name.out" 2>/dev/null &
	PIDS+=($!)
	eval "${name}_PID=$!"
	for ((i = 0; i < 200; i++)); do grep -q 'port=' "$W/$name.out" 2>/dev/null && break; sleep 0.05; done
	eval "${name}_PORT=$(sed -n 's/.*port=//p' "$W/$name.out")"
}
start_stub STUB node "$ROOT/bench/upstream_stub.mjs" 0
start_stub CSTUB "$(dirname "$BIN")/tau-bench-stub" 0

# --- tau-gateway, local/echo ---
bench_gw_start GW "$W/state"
curl -s -H "Authorization: Bearer $TOKEN" "http://$GW_ADDR/gateway/status" >"$W/status.json"
SIZE=$(wc -c <"$W/status.json")

# --- nginx, static file of the same size ---
mkdir -p "$W/www" "$W/nginx"
chmod 755 "$W" "$W/www"   # nginx workers run unprivileged
head -c "$SIZE" /dev/zero | tr '\0' x >"$W/www/status.json"
cat >"$W/nginx/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $W/nginx/nginx.pid;
error_log $W/nginx/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  keepalive_requests 1000000;
  server { listen 127.0.0.1:18080; root $W/www; }
}
EOF
nginx -c "$W/nginx/nginx.conf" -p "$W/nginx" &
PIDS+=($!)
NGINX_PID=$!
wait_port 18080

echo
echo "1. GET /gateway/status ($SIZE bytes) vs nginx static file of the same size"
wrk_med nginx http://127.0.0.1:18080/status.json
NGINX_WORKER=$(pgrep -P "$NGINX_PID" | head -1 || echo "$NGINX_PID")
wrk_med gw_status "http://$GW_ADDR/gateway/status" -H "Authorization: Bearer $TOKEN"
echo "  ratio status/nginx: $(ratio "${RPS[gw_status]}" "${RPS[nginx]}")   (target >= 0.80)"

echo
echo "2. POST /v1/responses, local/echo, non-stream"
wrk_med echo_store_false "http://$GW_ADDR/v1/responses" -s "$W/nostore.lua"
echo "  ratio echo(store false)/nginx: $(ratio "${RPS[echo_store_false]}" "${RPS[nginx]}")   (target >= 0.40)"
wrk_med echo_store_default "http://$GW_ADDR/v1/responses" -s "$W/store.lua"
echo "  ratio echo(store)/echo(store false): $(ratio "${RPS[echo_store_default]}" "${RPS[echo_store_false]}")   (one write(2)+rename per response, no fsync)"
echo "  peak RSS: tau-gateway $(hwm "$GW_PID")   nginx worker $(hwm "$NGINX_WORKER")"

echo
echo "3. openai/* in front of the upstream stub (node) vs the stub directly vs Portkey"
bench_gw_start UP "$W/state-up" --model openai/bench --provider-base-url "http://127.0.0.1:$STUB_PORT/v1"
post_lua chat '{"model":"bench","messages":[{"role":"user","content":"benchmark prompt"}]}'
cat >>"$W/chat.lua" <<'EOF'
wrk.path = "/v1/chat/completions"
EOF
wrk_med stub_direct "http://127.0.0.1:$STUB_PORT/v1/chat/completions" -s "$W/chat.lua"
wrk_med gw_upstream "http://$UP_ADDR/v1/responses" -s "$W/nostore.lua"
echo "  ratio gateway/direct: $(ratio "${RPS[gw_upstream]}" "${RPS[stub_direct]}")   (target >= 0.50)"
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
		wrk_med portkey "http://127.0.0.1:18787/v1/chat/completions" -s "$W/pk.lua"
		echo "  ratio gateway/portkey: $(ratio "${RPS[gw_upstream]}" "${RPS[portkey]}")   (target >= 10)"
		PK=1
	else
		echo "  Portkey did not start; see $W/portkey.out" >&2
	fi
else
	echo "  Portkey not installed (npm @portkey-ai/gateway@1.15.2); skipped"
fi
echo "  peak RSS: tau-gateway $(hwm "$UP_PID")   stub $(hwm "$STUB_PID")${PK:+   portkey $(hwm "$PK_PID")}"

echo
echo "   SSE: time to the first data: line, $SSE_N sequential requests (p50 / p99 ms)"
ttfb() { # NAME MARKER URL BODY [headers...]: ms until MARKER first arrives
	python3 - "$SSE_N" "$@" <<'PY'
import socket, sys, time, urllib.parse
n, name, marker, url, body = int(sys.argv[1]), sys.argv[2], sys.argv[3].encode(), sys.argv[4], sys.argv[5].encode()
headers = sys.argv[6:]
u = urllib.parse.urlsplit(url)
times = []
for _ in range(n):
    s = socket.create_connection((u.hostname, u.port))
    req = ("POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n%s\r\n"
           % (u.path, u.netloc, len(body), "".join(h + "\r\n" for h in headers))).encode() + body
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
times.sort()
print("%s %.3f %.3f" % (name, times[len(times) // 2], times[max(0, int(len(times) * 0.99) - 1)]))
PY
}
CHAT_SSE='{"model":"bench","stream":true,"messages":[{"role":"user","content":"benchmark prompt"}]}'
read -r _ d50 d99 < <(ttfb direct 'data:' "http://127.0.0.1:$STUB_PORT/v1/chat/completions" "$CHAT_SSE")
read -r _ g50 g99 < <(ttfb gateway 'data:' "http://$UP_ADDR/v1/responses" \
	'{"input":"benchmark prompt","stream":true,"store":false}' "Authorization: Bearer $TOKEN")
read -r _ t50 t99 < <(ttfb gateway_text 'output_text.delta' "http://$UP_ADDR/v1/responses" \
	'{"input":"benchmark prompt","stream":true,"store":false}' "Authorization: Bearer $TOKEN")
printf '  %-34s p50 %7.3f ms   p99 %7.3f ms\n' "stub direct: first data:" "$d50" "$d99" \
	"tau-gateway: first data:" "$g50" "$g99" "tau-gateway: first text delta" "$t50" "$t99"
echo "  added by tau-gateway (first text delta vs direct first data:): p50 $(python3 -c "print('%.3f' % ($t50 - $d50))") ms   (target <= 1 ms)"
if [ -n "$PK" ]; then
	read -r _ k50 k99 < <(ttfb portkey 'data:' "http://127.0.0.1:18787/v1/chat/completions" "$CHAT_SSE" \
		"Authorization: Bearer bench" "x-portkey-provider: openai" "x-portkey-custom-host: http://127.0.0.1:$STUB_PORT/v1")
	printf '  %-34s p50 %7.3f ms   p99 %7.3f ms\n' "portkey: first data:" "$k50" "$k99"
	echo "  added by Portkey: p50 $(python3 -c "print('%.3f' % ($k50 - $d50))") ms"
fi
echo "  peak RSS after all runs: tau-gateway(echo) $(hwm "$GW_PID")   tau-gateway(upstream) $(hwm "$UP_PID")${PK:+   portkey $(hwm "$PK_PID")}"

echo
echo "4. the gateway's ceiling: openai/* in front of tau-bench-stub (C, canned replies; no target)"
bench_gw_start UP4 "$W/state-up4" --model openai/bench --provider-base-url "http://127.0.0.1:$CSTUB_PORT/v1"
wrk_med cstub_direct "http://127.0.0.1:$CSTUB_PORT/v1/chat/completions" -s "$W/chat.lua"
wrk_med gw_upstream_cstub "http://$UP4_ADDR/v1/responses" -s "$W/nostore.lua"
echo "  peak RSS: tau-gateway $(hwm "$UP4_PID")   tau-bench-stub $(hwm "$CSTUB_PID")"
fi # part anchors

# ---- parts store (5) and turns (6): a throwaway cluster, a server on it
# and one on a state directory
if has_part store || has_part turns; then
	pg_cluster_start
	pg_sql "$TAU_TEST_PG_URL" "CREATE DATABASE bench" >/dev/null
	PG_URL=$(pg_url_db bench)
	echo
	echo "   $(bench_pg_settings "$PG_URL")"
	bench_gw_start FILES "$W/state-files" --quiet
	bench_gw_start PG "$PG_URL" --quiet
	if [ -n "${BENCH_BASE_BIN:-}" ]; then
		pg_sql "$TAU_TEST_PG_URL" "CREATE DATABASE benchbase" >/dev/null
		BIN=$(realpath "$BENCH_BASE_BIN") bench_gw_start PGBASE "$(pg_url_db benchbase)" --quiet
	fi
fi
if has_part store; then
	STORE_ROUNDS=${BENCH_STORE_ROUNDS:-5}
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
			if [ "$side" = files ]; then addr=$FILES_ADDR pid=$FILES_PID; else addr=$PG_ADDR pid=$PG_PID; fi
			g0=$(gw_ticks "$pid") p0=$(pg_ticks)
			wrk_run "${side}_store" "http://$addr/v1/responses" -s "$W/store.lua"
			g1=$(gw_ticks "$pid") p1=$(pg_ticks)
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
	echo "  rows stored: $(pg_sql "$PG_URL" 'SELECT count(*) FROM tau_response')   peak RSS: files $(hwm "$FILES_PID")   PostgreSQL $(hwm "$PG_PID")"
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
if has_part ws; then
	WS_ROUNDS=${BENCH_WS_ROUNDS:-5}
	WSLOAD=$(dirname "$BIN")/tau-bench-wsload
	bench_gw_start WSGW "$W/state-ws" --quiet
	ws_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
	for conns in "$CONNS" 1; do
		echo
		echo "ws. turns over $conns WebSocket(s) vs $conns HTTP keep-alive connection(s) with SSE (local/echo, store:false)"
		echo "   ${SECS}s per run, $WS_ROUNDS rounds, the two sides interleaved"
		: >"$W/ws.rounds"
		for ((r = 0; r < WS_ROUNDS; r++)); do
			if ((r % 2 == 0)); then order=(ws sse); else order=(sse ws); fi
			for side in "${order[@]}"; do
				g0=$(ws_ticks "$WSGW_PID")
				"$WSLOAD" "$side" "$WSGW_ADDR" "$TOKEN" "$conns" "$SECS" >"$W/ws.out"
				g1=$(ws_ticks "$WSGW_PID")
				jq -c --arg g "$(((g1 - g0) * 1000000 / $(getconf CLK_TCK)))" \
					'. + {gw_cpu_us: ($g | tonumber)}' "$W/ws.out" >>"$W/ws.rounds"
			done
		done
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
	: >"$W/ws.rounds"
	for ((r = 0; r < WS_ROUNDS; r++)); do
		if ((r % 2 == 0)); then order=(ws sse); else order=(sse ws); fi
		for side in "${order[@]}"; do
			g0=$(ws_ticks "$WSGW_PID")
			"$WSLOAD" "$side" "$WSGW_ADDR" "$TOKEN" "$CONNS" "$SECS" "$WS_RATE" >"$W/ws.out"
			g1=$(ws_ticks "$WSGW_PID")
			jq -c --arg g "$(((g1 - g0) * 1000000 / $(getconf CLK_TCK)))" \
				'. + {gw_cpu_us: ($g | tonumber)}' "$W/ws.out" >>"$W/ws.rounds"
		done
	done
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
