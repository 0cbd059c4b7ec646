#!/usr/bin/env bash
# SIGHUP reloads --gateway-routes while traffic flows: a bad file is refused
# with its line and column (logged, and a routes_reload lifecycle event with
# outcome refused), the old routes keep serving and no request fails; then
# a good file takes effect (a new route answers, a removed one is 400
# model_not_found) with an event saying applied.  /gateway/status and
# /metrics count the reloads.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib/http.sh"

R=$T/routes.json
cat >"$R" <<'EOF'
{"version": 1, "default": "a",
 "routes": [{"model": "a", "targets": [{"provider": "local"}]},
            {"model": "old", "targets": [{"provider": "local"}]}]}
EOF
h_gateway GW --gateway-routes "$R"
h_post '{"model":"old","input":"x"}'
t_eq "before: old served" 200 "$HS"

# traffic on route a throughout, until told to stop
traffic() {
	local n=0
	while [ ! -e "$T/stop" ]; do
		curl -s -o /dev/null -w '%{http_code}\n' -H "Authorization: Bearer $TOKEN" \
			-d '{"model":"a","input":"t"}' "http://$ADDR/v1/responses" >>"$T/codes"
		n=$((n + 1))
	done
}
: >"$T/codes"
traffic &
TRAFFIC=$!
T_PIDS+=("$TRAFFIC")
t_check "traffic flows" t_wait_line "$T/codes" '^200$' 10

events() { grep -c '"transition":"routes_reload"' "$T/state/runtime-events.jsonl" 2>/dev/null || true; }

# a bad file: refused, old routes keep serving
printf '{"version": 1,\n "routes": [{"model": "a", "targets": [{"provider": "local"}]},\n  {"model": "a", "targets": [{"provider": "local"}]}]}' >"$R"
kill -HUP "$GW"
t_check "bad: refusal logged with line and column" t_wait_line "$T/GW.err" \
	'routes reload refused, the old routes keep serving: .*routes.json: line 3 column 13: model name "a" is already used' 10
t_eq "bad: one event" 1 "$(events)"
ev=$(grep '"transition":"routes_reload"' "$T/state/runtime-events.jsonl" | tail -1)
t_eq "bad: event kind" lifecycle "$(jq -r .kind <<<"$ev")"
t_eq "bad: event outcome" refused "$(jq -r .outcome <<<"$ev")"
t_contains "bad: event names line and column" "line 3 column 13" "$(jq -r .reason <<<"$ev")"
h_post '{"model":"old","input":"x"}'
t_eq "bad: old routes still serve" 200 "$HS"
h_req GET /gateway/status
t_eq "bad: refused counted" 1 "$(jq -r .routes.reloads_refused "$T/body")"
t_eq "bad: generation kept" 1 "$(jq -r .routes.generation "$T/body")"
t_eq "bad: process alive" 0 "$(kill -0 "$GW" 2>/dev/null; echo $?)"

# a good file: takes effect
cat >"$R" <<'EOF'
{"version": 1, "default": "a",
 "routes": [{"model": "a", "targets": [{"provider": "local"}]},
            {"model": "new", "aliases": ["fresh"], "targets": [{"provider": "local"}]}]}
EOF
kill -HUP "$GW"
t_check "good: reload logged" t_wait_line "$T/GW.err" 'routes reloaded from ' 10
t_eq "good: two events" 2 "$(events)"
ev=$(grep '"transition":"routes_reload"' "$T/state/runtime-events.jsonl" | tail -1)
t_eq "good: event outcome" applied "$(jq -r .outcome <<<"$ev")"
h_post '{"model":"fresh","input":"x"}'
t_eq "good: new alias served" 200 "$HS"
t_eq "good: new route's name" new "$(h_jq .model)"
h_post '{"model":"old","input":"x"}'
t_eq "good: removed route is unknown" model_not_found "$(h_jq .error.code)"
h_req GET /metrics
t_contains "metrics: applied" 'tau_gateway_routes_reloads_total{outcome="applied"} 1' "$(cat "$T/body")"
t_contains "metrics: refused" 'tau_gateway_routes_reloads_total{outcome="refused"} 1' "$(cat "$T/body")"

touch "$T/stop"
wait "$TRAFFIC"
total=$(wc -l <"$T/codes")
t_eq "traffic: every request answered 200" "$total" "$(grep -c '^200$' "$T/codes")"
t_eq "traffic: some ran" 1 "$((total > 5))"
h_stop "$GW"
t_eq "clean stop" 0 "$HRC"
t_done
