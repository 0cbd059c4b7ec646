#!/usr/bin/env bash
# Descriptor limits (issue 9, defect 1).  At start the server raises its
# soft RLIMIT_NOFILE to the hard limit and refuses, with exit 64 and before
# anything is recorded, a connection cap whose descriptors do not fit.
# When descriptors still run out (here: inherited ones fill the table),
# accept() fails and libmicrohttpd stops watching the listen socket; the
# server must take it up again once descriptors are free, and connections
# whose peers hung up before they were accepted must not hold theirs.
# backends: files pg
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib/http.sh"
ABUSE=$(dirname "$0")/lib/abuse.py

# --- a cap that does not fit the limit: refused before the start is recorded --------------------
timeout 10 bash -c 'ulimit -n 100 && exec "$@"' _ "$TAU_BIN" $(t_state_args "$T/refused") \
	--gateway-openresponses-server --gateway-openresponses-bind 127.0.0.1:0 \
	--gateway-openresponses-auth-token x >"$T/refused.out" 2>"$T/refused.err" </dev/null
t_eq "refused cap: usage exit" 64 "$?"
t_eq "refused cap: one line on stderr" 1 "$(wc -l <"$T/refused.err")"
t_match "refused cap: names the flag, the cap and the limit" \
	'--gateway-openresponses-max-connections 256 needs [0-9]+ descriptors, more than the limit of 100 \(RLIMIT_NOFILE\)' \
	"$(cat "$T/refused.err")"
t_eq "refused cap: nothing on stdout" "" "$(cat "$T/refused.out")"
nothing_recorded() { ! t_posture "$T/refused" >/dev/null && [ -z "$(t_events "$T/refused")" ]; }
t_check "refused cap: no start recorded (no posture, no event log)" nothing_recorded

# --- the soft limit is raised to the hard limit ----------------------------------------------
hard=$(ulimit -H -n)
if [ "$hard" != unlimited ] && [ "$hard" -ge 1024 ]; then
	t_spawn SOFT bash -c 'ulimit -S -n 64 && exec "$@"' _ "$TAU_BIN" $(t_state_args "$T/soft") \
		--gateway-openresponses-server --gateway-openresponses-bind 127.0.0.1:0 \
		--gateway-openresponses-auth-token x
	t_check "soft limit 64: the default cap starts" t_wait_line "$T/SOFT.out" '^gateway openresponses server listening: ' 20
	t_eq "soft limit raised to the hard limit" "$hard $hard" \
		"$(awk '/^Max open files/ {print $4, $5}' "/proc/$SOFT/limits")"
	h_stop "$SOFT"
else
	echo "# hard descriptor limit $hard: the raise is not checked"
fi

# --- exhaustion and recovery -----------------------------------------------------------------
# the cap (10) fits the limit (128); descriptors inherited across the exec
# leave the server 6 free, so accept() fails with EMFILE while the event
# loops hold connections (with fewer, a loop may hold none, and there
# libmicrohttpd keeps polling the listen socket, which hides a missing
# re-arm: with 6, a server that never re-arms is not answering again)
gw_flags=(--gateway-openresponses-server --gateway-openresponses-bind 127.0.0.1:0
	--gateway-openresponses-auth-token "$TOKEN" --gateway-openresponses-max-connections 10)
run_held() { # run_held HELD VAR STATE: the server with HELD descriptors held open
	local held=$1 var=$2 state=$3
	t_spawn "$var" bash -c 'ulimit -n 128 && for ((i = 0; i < $1; i++)); do exec {fd}</dev/null; done &&
		shift && exec "$@"' _ "$held" "$TAU_BIN" $(t_state_args "$state") "${gw_flags[@]}"
	t_wait_line "$T/$var.out" '^gateway openresponses server listening: ' 20 || return 1
	ADDR=$(sed -n 's/^gateway openresponses server listening: endpoint=\/v1\/responses addr=\([^ ]*\) .*/\1/p' \
		"$T/$var.out" | tail -1)
}
run_held 0 PROBE "$T/probe"
base=$(ls "/proc/$PROBE/fd" | wc -l)
h_stop "$PROBE"
held=$((128 - base - 6))
echo "# server descriptors at rest: $base; held: $held"
run_held "$held" GW "$T/exhaust"
t_check "exhaustion: the server starts with 6 descriptors free" test -n "$ADDR"
out=$(python3 "$ABUSE" halfopen "$ADDR" 300 5)
echo "$out" | sed 's/^/# /'
t_check "exhaustion: accept() did run out of descriptors" grep -q 'Too many open files' "$T/GW.err"
after=$(sed -n 's/^answered after: //p' <<<"$out")
t_match "exhaustion: a normal request is answered within 10 s once the clients left" \
	'^[0-9]\.[0-9]+$' "$after"
# the descriptors come back (bounded wait, polled)
fds=0
for ((i = 0; i < 100; i++)); do
	fds=$(ls "/proc/$GW/fd" | wc -l)
	[ "$fds" -le $((base + held + 1)) ] && break
	sleep 0.05
done
t_check "exhaustion: descriptors back to rest ($fds <= $((base + held + 1)))" test "$fds" -le $((base + held + 1))
h_req GET /healthz -m 5
t_eq "exhaustion: healthy afterwards" 200 "$HS"
n=$(grep -c 'Error accepting connection' "$T/GW.err")
t_check "exhaustion: accept failures logged at most once a second per loop ($n lines)" test "$n" -le 40
h_stop "$GW"
t_eq "exhaustion: clean exit" 0 "$HRC"
t_done
