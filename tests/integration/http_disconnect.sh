#!/usr/bin/env bash
# A client that hangs up on a non-streaming request cancels its upstream
# call: the gateway's connection to the upstream (the stub in hang mode,
# which never answers) closes soon after the client goes away, long before
# the request timeout, and the cancellation is counted.
# backends: files pg
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib/http.sh"

h_stub
export OPENAI_API_KEY=sk-x
h_gateway GW --model openai/m --provider-base-url "$STUB_URL" --request-timeout-ms 60000

# upstream_conns: the stub's established connections, as peer ports
upstream_conns() {
	ss -tnH state established "( sport = :$STUB_PORT )" | awk '{ n = split($4, a, ":"); print a[n] }'
}

t_spawn CL curl -s -o "$T/cl.body" -H "Authorization: Bearer $TOKEN" -d '{"input":"[stub:hang] x"}' \
	"http://$ADDR/v1/responses"
t_check "upstream request sent" t_wait_line "$STUB_REC" 'stub:hang' 10
peers=$(upstream_conns)
t_eq "one upstream connection open" 1 "$(wc -w <<<"$peers")"
kill "$CL"
# the hang stub holds the connection until the gateway closes it; the
# request timeout is 60 s, so a close within 2 s can only be the cancel
gone=no
for ((i = 0; i < 40; i++)); do
	if ! upstream_conns | grep -qx "$peers"; then
		gone=yes
		break
	fi
	sleep 0.05
done
t_eq "client hang-up closes the upstream connection" yes "$gone"
t_check "cancel counted" h_wait_metric tau_gateway_upstream_cancelled_total 1
t_contains "cancel logged" "cancelled" "$(cat "$T/GW.err")"
h_post '{"input":"still fine"}'
t_eq "server serves the next request" 200 "$HS"
h_stop "$GW"
t_eq "clean exit" 0 "$HRC"
t_done
