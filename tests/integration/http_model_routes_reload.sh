#!/usr/bin/env bash
# SIGHUP reloads --gateway-routes while traffic flows: a bad file is refused
# with its line and column (logged, and a routes_reload lifecycle event with
# outcome refused), the old routes keep serving and no request fails; then
# a good file takes effect (a new route answers, a removed one is 400
# model_not_found) with an event saying applied.  /gateway/status and
# /metrics count the reloads.  A target the reload keeps unchanged keeps
# its counters and breaker, a changed one starts afresh, and the replaced
# table is freed once no request uses it, with the event loops idle.
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
t_eq "bad: one event" 1 "$(t_settled 1 events)"
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
t_eq "good: two events" 2 "$(t_settled 2 events)"
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
# an unchanged target keeps its counters and its breaker across a reload,
# a changed one starts afresh; the replaced table goes as soon as no
# request uses it, even with every event loop idle (/gateway/status
# routes.tables_alive: the current table and replaced ones still held)
h_stub || exit 1
routes_up() { # MODEL-OF-chg
	cat >"$R" <<EOF
{"version": 1, "default": "a", "breaker": {"failures": 2, "cooldown_ms": 60000},
 "routes": [{"model": "a", "targets": [{"provider": "local"}]},
  {"model": "up", "targets": [{"provider": "openai", "model": "m-u", "base_url": "$STUB_URL", "retries": 0}]},
  {"model": "chg", "targets": [{"provider": "openai", "model": "$1", "base_url": "$STUB_URL", "retries": 0}]}]}
EOF
}
generation() { # N: wait (bounded) until the served table is generation N
	local i
	for ((i = 0; i < 100; i++)); do
		h_req GET /gateway/status
		[ "$(jq -r .routes.generation "$T/body")" = "$1" ] && return 0
		sleep 0.05
	done
	return 1
}
alive() { h_req GET /gateway/status; jq -r .routes.tables_alive "$T/body"; }
counts() { # ROUTE-INDEX: "requests errors circuit" of its target
	h_req GET /gateway/status
	jq -r ".routes.routes[$1].targets[0] | \"\(.requests) \(.errors) \(.circuit)\"" "$T/body"
}
routes_up m-c
kill -HUP "$GW"
t_check "stats: the file with upstream targets served" generation 3
for i in 1 2 3; do h_post '{"model":"up","input":"x"}'; done
h_post '{"model":"up","input":"[stub:status500] x"}'
t_eq "stats: an upstream failure" 502 "$HS"
h_post '{"model":"chg","input":"x"}'
t_eq "stats: before, up" "4 1 closed" "$(counts 1)"
t_eq "stats: before, chg" "1 0 closed" "$(counts 2)"
t_eq "stats: one table in memory" 1 "$(alive)"
routes_up m-c2
kill -HUP "$GW"
t_check "stats: reloaded (up unchanged, chg's model changed)" generation 4
t_eq "stats: up's counters kept" "4 1 closed" "$(counts 1)"
t_eq "stats: chg's counters start afresh" "0 0 closed" "$(counts 2)"
t_eq "the replaced table is freed with the loops idle" 1 "$(t_settled 1 alive)"
h_post '{"model":"up","input":"[stub:status500] again"}'
t_eq "stats: up's breaker kept: a second failure in a row opens it (failures 2)" "5 2 open" "$(counts 1)"
h_req GET /metrics
t_contains "stats: /metrics shows the kept counts" \
	'tau_gateway_route_target_requests_total{route="up",target="0",provider="openai",model="m-u"} 5' "$(cat "$T/body")"

h_stop "$GW"
t_eq "clean stop" 0 "$HRC"
t_done
