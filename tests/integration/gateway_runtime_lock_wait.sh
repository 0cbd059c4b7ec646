#!/usr/bin/env bash
# gateway_runtime_lock_wait: waits for the state-directory lock are bounded
# and name the holder.  A holder writes "<pid> <what>" into <state-dir>/.lock
# (here a stand-in process that holds the flock(2) the way tau-gateway does);
# after one second a waiter says "waiting for state lock ... held by pid N
# (runner cycle)", gives up after --gateway-lock-wait-ms with exit 69 and
# writes nothing; with 0 it fails at once; a waiter whose holder goes away
# proceeds, and empties the line when it releases the lock.
. "${TAU_SOURCE_DIR:-$(dirname "$0")/../..}/tests/lib.sh"

S=$T/state
mkdir -p "$S"
L=$S/.lock
t_spawn HOLD python3 -c '
import fcntl, os, sys, time
f = open(sys.argv[1], "a+")
fcntl.flock(f, fcntl.LOCK_EX)
f.truncate(0)
f.write("%d runner cycle\n" % os.getpid())
f.flush()
time.sleep(120)' "$L"
t_check "holder: has the lock and says so" t_wait_line "$L" "^$HOLD runner cycle$"

# `timeout 20`: a binary whose wait is unbounded must fail here, not hang.
t0=$(date +%s%N)
timeout 20 "$TAU_BIN" --gateway-state-dir "$S" --gateway-service-stop --gateway-lock-wait-ms 1500 >"$T/out" 2>"$T/err"
rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
t_eq "bounded wait: exit 69" "69" "$rc"
t_eq "bounded wait: names the holder after a second, then gives up" \
	"tau-gateway: waiting for state lock $L held by pid $HOLD (runner cycle)
tau-gateway: gave up waiting for state lock $L after 1500 ms: held by pid $HOLD (runner cycle) (--gateway-lock-wait-ms sets the bound)" \
	"$(cat "$T/err")"
t_check "bounded wait: gave up after the bound, not long after ($ms ms)" test "$ms" -ge 1500 -a "$ms" -lt 10000
t_eq "bounded wait: nothing written" "" "$(cat "$T/out")$(ls "$S")"

timeout 20 "$TAU_BIN" --gateway-state-dir "$S" --gateway-service-start --gateway-lock-wait-ms 0 >"$T/out" 2>"$T/err"
t_eq "no wait: exit 69 at once, naming the holder" \
	"69 tau-gateway: state directory $S is locked by pid $HOLD (runner cycle)" "$? $(cat "$T/err")"

TAU_GATEWAY_LOCK_WAIT_MS=abc timeout 20 "$TAU_BIN" --gateway-state-dir "$S" --gateway-service-start >"$T/out" 2>"$T/err"
t_eq "bad wait bound: usage error" "64" "$?"

# A waiter with the default bound proceeds once the holder exits.
t_spawn STOP "$TAU_BIN" --gateway-state-dir "$S" --gateway-service-stop --gateway-service-stop-reason after_wait
t_check "waiter: names the holder" t_wait_line "$T/STOP.err" "^tau-gateway: waiting for state lock .*held by pid $HOLD \(runner cycle\)$"
kill "$HOLD"
wait "$HOLD" 2>/dev/null
wait "$STOP"
t_eq "waiter: took the lock and stopped the service" "0" "$?"
t_contains "waiter: stop recorded" " last_stop_reason=after_wait " "$(cat "$T/STOP.out")"
t_eq "waiter: emptied the holder line on release" "" "$(cat "$L")"

t_done
