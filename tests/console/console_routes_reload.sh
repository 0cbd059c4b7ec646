#!/usr/bin/env bash
# The prompt word reload: the embedded server's --gateway-routes file is
# read again; a bad one is refused with its line and column on the message
# line and the old routes keep serving; a good one takes effect.  The
# server panel shows a line per target (circuit, requests, errors) and the
# request rows name the target that answered.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/tmux_helpers.bash"

R=$T/routes.json
printf '{"version": 1, "routes": [{"model": "a", "targets": [{"provider": "local"}]}]}' >"$R"
tc_start --gateway-openresponses-bind 127.0.0.1:0 --gateway-openresponses-auth-token secret-token \
	--gateway-routes "$R"
tc_expect "console up" 'Service (RUNNING|NO STATE YET)'
tc_keys :
tc_type "reload"
tc_keys Enter
tc_expect "reload without a server" 'the server is not running'
tc_keys w
tc_expect "w starts the server" 'Server 127\.0\.0\.1:[0-9]+'
port=$(tc_screen | sed -nE 's/.*Server 127\.0\.0\.1:([0-9]+).*/\1/p' | head -1)
post() { # MODEL: prints the status and the model answered
	curl -s -o "$T/resp.json" -w '%{http_code}' -H 'Authorization: Bearer secret-token' \
		-d "{\"model\":\"$1\",\"input\":\"hi\"}" "http://127.0.0.1:$port/v1/responses"
	printf ' %s' "$(jq -r '.model // .error.code' "$T/resp.json")"
}
t_eq "route a served" "200 a" "$(post a)"

printf '{"version": 1,\n "routes": [{"model": "a", "targets": [{"provider": "nowhere"}]}]}' >"$R"
tc_keys :
tc_type "reload"
tc_keys Enter
tc_expect "bad file refused with line and column" 'routes\.json: line 2 column 5[0-9]: route "a" target 1: unknown provider'
t_eq "old routes still serve" "200 a" "$(post a)"

printf '{"version": 1, "routes": [{"model": "b", "targets": [{"provider": "local"}]}]}' >"$R"
tc_keys :
tc_type "reload"
tc_keys Enter
tc_expect "good file applied" 'routes reloaded'
t_eq "new route served" "200 b" "$(post b)"
tc_expect "panel: the target's line" 'route b +local/echo +closed +req 1 err 0'
tc_expect "panel: the request row names the target" ' 200 .* local/echo +resp_[0-9a-f]+ +POST /v1/responses'
t_eq "old route gone" "400 model_not_found" "$(post a)"
reloads() { grep -c '"transition":"routes_reload"' "$SD/runtime-events.jsonl"; }
t_eq "two reload events" 2 "$(t_settled 2 reloads)"

tc_keys w
tc_wait 'record a service stop' 5 || true
tc_keys y
tc_expect "w stops the server" 'server stopped'
tc_keys q
