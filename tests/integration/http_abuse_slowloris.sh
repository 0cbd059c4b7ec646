#!/usr/bin/env bash
# Slowloris (issue 9, section 3): 200 connections from four addresses
# trickle a request one header byte a second and 50 more send nothing.
# Meanwhile normal requests from another address are answered within 1 s,
# and once the idle timeout (3 s here) has passed, the idle connections
# and the trickling ones alike are closed: a request must arrive whole
# within the idle timeout, however its bytes are spaced.
# backends: files pg
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib/http.sh"
ABUSE=$(dirname "$0")/lib/abuse.py

h_gateway GW --gateway-openresponses-idle-timeout-ms 3000
out=$(python3 "$ABUSE" slowloris "$ADDR" 200 4 7)
echo "$out" | sed 's/^/# /'
t_eq "normal requests all answered meanwhile" "normal requests failed: 0" "$(grep '^normal requests failed' <<<"$out")"
ms=$(sed -n 's/^slowest normal answer ms: //p' <<<"$out")
t_check "normal requests answered within 1 s (slowest: $ms ms)" test "${ms:-9999}" -lt 1000
t_eq "trickling connections closed by the deadline" "trickling closed: 200 of 200" "$(grep '^trickling' <<<"$out")"
t_eq "idle connections closed by the idle timeout" "idle closed: 50 of 50" "$(grep '^idle' <<<"$out")"
h_req GET /healthz -m 5
t_eq "healthy afterwards" 200 "$HS"
h_stop "$GW"
t_eq "clean exit" 0 "$HRC"
t_done
