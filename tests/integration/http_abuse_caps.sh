#!/usr/bin/env bash
# A flood past both connection caps (issue 9, section 3): 60 connections
# from six addresses against a total cap of 30 and a per-address cap of 8,
# all held open at once (each is opened once the last one's fate is known,
# so the order the caps meet them is the order they were opened).
# The caps' connections are answered, the rest closed unanswered, both
# refusals are logged, and once the flood leaves a normal request is
# answered again within 3 s (it takes milliseconds; the bound is for load).
# backends: files pg
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib/http.sh"
ABUSE=$(dirname "$0")/lib/abuse.py

h_gateway GW --gateway-openresponses-max-connections 30 --gateway-openresponses-max-connections-per-ip 8
out=$(python3 "$ABUSE" flood "$ADDR" 60 6)
echo "$out" | sed 's/^/# /'
t_eq "the total cap's connections are answered" "answered: 30" "$(grep '^answered:' <<<"$out")"
t_eq "the others are closed unanswered" "closed unanswered: 30" "$(grep '^closed unanswered' <<<"$out")"
t_eq "8 per address, then the total cap" "answered per address: 8 8 8 6 0 0" "$(grep '^answered per address' <<<"$out")"
t_contains "per-address refusals logged" "the per-client connection limit (8) is reached" "$(cat "$T/GW.err")"
t_contains "total refusals logged" "the connection limit (30) is reached" "$(cat "$T/GW.err")"
after=$(sed -n 's/^answered after: //p' <<<"$out")
t_match "recovery: answered again within 3 s of the flood leaving" '^[0-2]\.[0-9]+$' "$after"
h_req GET /healthz -m 5
t_eq "healthy afterwards" 200 "$HS"
h_stop "$GW"
t_eq "clean exit" 0 "$HRC"
t_done
