#!/usr/bin/env bash
# Bounded state (issue 9, defect 14): input_image URLs count toward
# --gateway-openresponses-max-input-chars; a session's stored history is
# bounded in bytes (--gateway-session-max-bytes); expired sessions (history
# and lock) and stored responses are removed by the running server in the
# background (--gateway-session-ttl, --gateway-response-ttl).
# backends: files pg
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib/http.sh"

# a data URL of N base64 characters
image_body() {
	printf '{"input":[{"role":"user","content":[{"type":"input_text","text":"see"},{"type":"input_image","image_url":"data:image/png;base64,%s"}]}]%s}' \
		"$(head -c "$1" /dev/zero | tr '\0' A)" "${2:-}"
}

# --- images count toward the input limit, sessions are bounded in bytes ---
h_gateway GW --gateway-openresponses-max-input-chars 4000 --gateway-session-max-bytes 8192 \
	--gateway-session-ttl 0 --gateway-response-ttl 0
image_body 3000 >"$T/small.json"
h_req POST /v1/responses -H 'Content-Type: application/json' --data-binary "@$T/small.json"
t_eq "an image within the limit" 200 "$HS"
image_body 5000 >"$T/big.json"
h_req POST /v1/responses -H 'Content-Type: application/json' --data-binary "@$T/big.json"
t_eq "an image over the limit: 413" "413 input_too_large" "$HS $(h_jq .error.code)"
t_match "the limit is named" 'exceeds max 4000 characters' "$(h_jq .error.message)"

# 40 exchanges of ~3 KB on one session: history and file stay bounded
image_body 3000 ',"metadata":{"session_id":"pics"}' >"$T/session.json"
sizes_ok=true
for i in $(seq 1 40); do
	h_req POST /v1/responses -H 'Content-Type: application/json' --data-binary "@$T/session.json"
	[ "$HS" == 200 ] || { t_fail "session request $i: $HS"; break; }
	size=$(t_sess_size "$T/state" pics)
	# at most twice the bound plus the exchange being appended
	[ "$size" -le $((2 * 8192 + 8192)) ] || sizes_ok=false
done
t_eq "the session's history stays within twice the byte bound" true "$sizes_ok"
ctx=$(h_jq '.output[0].content[0].text' | sed -n 's/.*Context: \([0-9]*\) item.*/\1/p')
# each exchange stores ~3.1 KB of input and its reply: two fit in 8 KiB
t_check "the model saw a bounded history (context $ctx items)" test "${ctx:-99}" -le 5
h_stop "$GW"
t_eq "clean exit" 0 "$HRC"

# --- expiry in the background --------------------------------------------
h_gateway GW2 --gateway-state-dir "$T/state2" --gateway-session-ttl 1 --gateway-response-ttl 1
h_post '{"input":"remember me","metadata":{"session_id":"short"}}'
t_eq "a stored response (with a session)" 200 "$HS"
id=$(h_jq .id)
S2=$T/state2/openresponses
t_check "the response was stored" t_resp_get "$T/state2" "$id" >/dev/null
t_check "the session was stored" t_sess_exists "$T/state2" short
# gone_all: the session's files and the response are all removed
gone_all() {
	! t_sess_exists "$T/state2" short || return 1
	t_on_pg || [ ! -e "$S2/sessions/short.lock" ] || return 1
	! t_resp_get "$T/state2" "$id" >/dev/null
}
await_gone() {
	local i
	for ((i = 0; i < 200; i++)); do # at most 10 s
		gone_all && return 0
		sleep 0.05
	done
	t_on_pg || ls -l --time-style=+%s "$S2/sessions" "$S2/responses" >&2
	return 1
}
t_check "expired session (history, lock) and response removed" await_gone
h_req GET "/v1/responses/$id"
t_eq "an expired response is 404" 404 "$HS"
h_post "{\"input\":\"again\",\"previous_response_id\":\"$id\"}"
t_eq "and no longer a previous_response_id" "400 previous_response_not_found" "$HS $(h_jq .error.code)"
t_check "the sweep is logged" t_wait_line "$T/GW2.err" 'expired: removed [0-9]+ session\(s\) and [0-9]+ stored response\(s\)' 5
# the session key works again, from an empty history
h_post '{"input":"new start","metadata":{"session_id":"short"}}'
t_eq "the key starts afresh" 200 "$HS"
t_match "with no earlier context" 'Context: 1 item' "$(h_jq '.output[0].content[0].text')"
h_stop "$GW2"
t_eq "clean exit with the sweeper" 0 "$HRC"

# --- TTL 0 keeps everything; flags are bounded -----------------------------
old_s=$(($(date +%s) - $(date -d 2000-01-01 +%s)))
h_gateway GW3 --gateway-state-dir "$T/state3" --gateway-session-ttl 0 --gateway-response-ttl 0
h_post '{"input":"keep","metadata":{"session_id":"keep"}}'
t_eq "a response to keep" 200 "$HS"
id3=$(h_jq .id)
t_resp_age "$T/state3" "$id3" "$old_s"
t_sess_age "$T/state3" keep "$old_s"
h_stop "$GW3"
# (a new variable: h_gateway waits for the listening line in $T/<VAR>.out)
h_gateway GW3B --gateway-state-dir "$T/state3" --gateway-session-ttl 0 --gateway-response-ttl 0
h_req GET "/v1/responses/$id3"
t_eq "ttl 0: an old response stays" 200 "$HS"
t_check "ttl 0: an old session stays" t_sess_exists "$T/state3" keep
h_stop "$GW3B"
# (a restart with a TTL sweeps at once)
h_gateway GW4 --gateway-state-dir "$T/state3" --gateway-session-ttl 86400 --gateway-response-ttl 86400
t_check "a start sweeps at once" t_wait_line "$T/GW4.err" "expired: removed 1 session\\(s\\) and 1 stored response\\(s\\)" 10
h_stop "$GW4"
# (--quiet: the sweep still runs, and says nothing)
h_gateway GW5 --gateway-state-dir "$T/state5" --gateway-session-ttl 0 --gateway-response-ttl 0
h_post '{"input":"old","metadata":{"session_id":"old"}}'
t_eq "a response to expire" 200 "$HS"
id5=$(h_jq .id)
t_resp_age "$T/state5" "$id5" "$old_s"
t_sess_age "$T/state5" old "$old_s"
h_stop "$GW5"
h_gateway GW5Q --quiet --gateway-state-dir "$T/state5" --gateway-session-ttl 86400 \
	--gateway-response-ttl 86400
gone5() {
	local i
	for ((i = 0; i < 200; i++)); do # at most 10 s
		! t_resp_get "$T/state5" "$id5" >/dev/null && ! t_sess_exists "$T/state5" old && return 0
		sleep 0.05
	done
	return 1
}
t_check "--quiet: the start still sweeps" gone5
h_stop "$GW5Q"
t_eq "--quiet: the sweep writes nothing on stderr" "" "$(cat "$T/GW5Q.err")"

for flag in gateway-session-ttl gateway-response-ttl; do
	"$TAU_BIN" --gateway-openresponses-server --"$flag" 315360001 >/dev/null 2>"$T/err"
	t_eq "--$flag above its bound: exit 64" 64 "$?"
done
"$TAU_BIN" --gateway-openresponses-server --gateway-session-max-bytes 4095 >/dev/null 2>"$T/err"
t_eq "--gateway-session-max-bytes below its bound: exit 64" 64 "$?"
t_done
