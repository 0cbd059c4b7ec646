#!/usr/bin/env bash
# A previous_response_id continuation and GET .../input_items read their
# chain's records on the worker pool, never on an event loop thread (issue
# 10 review: a walk reads up to the bound's worth of record files, and
# every connection of a loop would wait for it).  The server runs under
# strace, which records the thread of every openat(2) and stat; the record
# files a walk reads, or (records the server's walk cache holds) checks
# are still there, must all be touched by threads that are not the loops
# (tau-http).  Deterministic: it checks which thread read, not how long
# anything took.  (GET /v1/responses/{id} still reads its one record on the
# loop and is not exercised here.)
# backends: files (it traces openat(2) of record files; on PostgreSQL a walk is one
# recursive query on a worker, gateway_pg_* and fleet_responses cover it)
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib/http.sh"

t_check "strace can trace a child here" strace -f -qq -o /dev/null true
REAL_BIN=$TAU_BIN
TRACE=$T/trace
cat >"$T/traced" <<EOF
#!/bin/sh
exec strace -f -qq -e trace=openat,newfstatat,statx -o "$TRACE" "$REAL_BIN" "\$@"
EOF
chmod +x "$T/traced"
TAU_BIN=$T/traced
h_gateway TRACER --gateway-response-ttl 0 --gateway-session-ttl 0
TAU_BIN=$REAL_BIN
# the gateway is the tracer's child
GWPID=$(ps -o pid= --ppid "$TRACER" | tr -d ' ' | head -1)
t_check "the gateway runs under the tracer (pid $GWPID)" test -n "$GWPID"

# a 6-turn chain, continued by JSON and by SSE, one turn with a session
prev= failed=0
for i in 1 2 3 4 5 6; do
	case $i in
	1) body="{\"input\":\"turn $i\"}" ;;
	3) body="{\"input\":\"turn $i\",\"previous_response_id\":\"$prev\",\"metadata\":{\"session_id\":\"s1\"}}" ;;
	*) body="{\"input\":\"turn $i\",\"previous_response_id\":\"$prev\"}" ;;
	esac
	h_post "$body"
	[ "$HS" == 200 ] || failed=$((failed + 1))
	prev=$(h_jq .id)
done
t_eq "six turns answered" 0 "$failed"
h_req POST /v1/responses -H 'Content-Type: application/json' -N \
	--data-binary "{\"input\":\"streamed\",\"previous_response_id\":\"$prev\",\"stream\":true}"
t_eq "a streamed continuation is answered" 200 "$HS"
t_match "... and ends with the full context" 'Context: 13 items' "$(grep -o 'Context: [0-9]* items' "$T/body" | tail -1)"
h_post "{\"input\":\"x\",\"previous_response_id\":\"resp_nosuchresponse\"}"
t_eq "an unknown previous_response_id is still a 400" "400 previous_response_not_found" "$HS $(h_jq .error.code)"
h_req GET "/v1/responses/$prev/input_items?limit=100"
t_eq "input_items lists the whole context" "11" "$(jq '.data | length' "$T/body")"

# which threads are the event loops (they live as long as the server)
loops=()
for task in /proc/"$GWPID"/task/*; do
	[ "$(cat "$task/comm" 2>/dev/null)" == tau-http ] && loops+=("${task##*/}")
done
t_check "the server has event loop threads (${loops[*]})" test "${#loops[@]}" -gt 0
h_stop "$GWPID"
wait "$TRACER" 2>/dev/null

# record reads and checks: openat of openresponses/responses/<id>.json
# (not a save's .tmp), or a stat of <id>.json in that directory
reads=$(grep -E 'openat\(.*openresponses/responses/[A-Za-z0-9_-]+\.json"|stat[a-z]*\([0-9]+, "[A-Za-z0-9_-]+\.json"' "$TRACE" |
	grep -v O_CREAT)
total=$(printf '%s\n' "$reads" | grep -c . || true)
on_loop=0
for tid in "${loops[@]}"; do
	n=$(printf '%s\n' "$reads" | grep -c "^$tid " || true)
	on_loop=$((on_loop + n))
done
t_check "the walks read or check records ($total opens and stats)" test "$total" -ge 20
t_eq "no record was read on an event loop thread" 0 "$on_loop"
[ "$on_loop" -eq 0 ] || printf '%s\n' "$reads" | head -5 >&2
t_done
