#!/usr/bin/env bash
# previous_response_id chains through the real server (issue 10): a stored
# response holds its own turn and a link to the one it continues, so a
# 50-turn chain's records do not grow with the turn number; the history is
# intact and in order (the model's context, input_items); a continuation's
# context is bounded by --gateway-session-max-messages and the walk reads no
# record beyond that bound; a deleted or expired ancestor cuts its
# descendants' context there; a loop, a damaged ancestor and records in the
# old whole-context format.
# backends: files pg
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib/http.sh"
ST=$T/state

# context size the offline provider reports: "Context: N items."
ctx() { h_jq .output_text | sed -n 's/.*Context: \([0-9]*\) item.*/\1/p'; }
size() { t_resp_size "$ST" "$1"; }
rec() { t_resp_get "$ST" "$1" | jq -r "$2"; }

h_gateway GW --gateway-session-max-messages 1000 --gateway-response-ttl 0

# --- a 50-turn chain ---------------------------------------------------------
ids=() outs=() ctxs=() failed=0
prev=
for i in $(seq 1 50); do
	if [ -z "$prev" ]; then
		h_post "{\"input\":\"turn $i\"}"
	else
		h_post "{\"input\":\"turn $i\",\"previous_response_id\":\"$prev\"}"
	fi
	[ "$HS" == 200 ] || { failed=$((failed + 1)); continue; }
	prev=$(h_jq .id)
	ids+=("$prev")
	outs+=("$(h_jq '.output[0].id')")
	ctxs+=("$(ctx)")
done
t_eq "50 turns answered" "0 50" "$failed ${#ids[@]}"
t_eq "each turn saw every earlier turn (1, 3, .., 99 items)" "$(seq 1 2 99 | xargs)" "${ctxs[*]}"
last=${ids[49]}

# O(turns) on disk: turn N's record holds turn N only (and the link)
t_eq "turn 50 links to turn 49" "${ids[48]} 98 1" \
	"$(rec "$last" '[.previous_response_id, .history_items, (.input_items | length)] | join(" ")')"
t_eq "the first turn is a root" "none 1" "$(rec "${ids[0]}" '[(.previous_response_id // "none"), (.input_items | length)] | join(" ")')"
min=$(size "${ids[1]}")
max=$min total=0
for i in $(seq 1 49); do
	s=$(size "${ids[$i]}")
	total=$((total + s))
	[ "$s" -lt "$min" ] && min=$s
	[ "$s" -gt "$max" ] && max=$s
done
# the only growth left is in digits (turn number, context count, tokens)
t_check "records 2..50 do not grow with N ($min..$max bytes)" test $((max - min)) -le 16
echo "# turns 2..50: $total bytes, $min..$max per record"

# the history is intact and in order: input_items of turn 50
h_req GET "/v1/responses/$last/input_items?order=asc&limit=100"
t_eq "input_items: 99 items, no more" "99 false" "$(jq -r '[(.data | length), .has_more] | join(" ")' "$T/body")"
want_users=$(for i in $(seq 1 50); do printf 'turn %s\n' "$i"; done)
t_eq "input_items: the 50 user turns in order" "$want_users" \
	"$(jq -r '.data[] | select(.role == "user") | .content[0].text' "$T/body")"
t_eq "input_items: user and assistant alternate" "$(printf 'user assistant %.0s' $(seq 1 49))user" \
	"$(jq -r '[.data[].role] | join(" ")' "$T/body")"
t_eq "input_items: each reply is that turn's output" "${outs[*]:0:49}" \
	"$(jq -r '[.data[] | select(.role == "assistant") | .id] | join(" ")' "$T/body")"
h_req GET "/v1/responses/$last"
t_eq "GET turn 50: the stored response" "200 $last ${ids[48]}" "$HS $(h_jq .id) $(h_jq .previous_response_id)"

# a streamed continuation is stored as a link too
h_req POST /v1/responses -N -H 'Content-Type: application/json' \
	--data-binary "{\"input\":\"streamed\",\"stream\":true,\"previous_response_id\":\"$last\"}"
sid=$(grep '^data: {"type":"response.completed"' "$T/body" | sed 's/^data: //' | jq -r .response.id)
t_match "SSE continuation completed" '^resp_' "$sid"
t_match "SSE continuation saw the chain" 'Context: 101 items' "$(grep '^data: {"type":"response.completed"' "$T/body")"
t_eq "SSE continuation stored as a link" "$last 1" \
	"$(rec "$sid" '[.previous_response_id, (.input_items | length)] | join(" ")')"
h_stop "$GW"
t_eq "clean exit" 0 "$HRC"

# --- the bound: newest kept, and nothing beyond it is read -------------------
t_resp_get "$ST" "${ids[0]}" >"$T/turn1.json"
# turn 1, far behind the bound, damaged (on pg its input_items text)
if t_on_pg; then
	t_resp_put "$ST" "$(cat "$T/turn1.json")" '{damaged'
else
	printf '{damaged' >"$ST/openresponses/responses/${ids[0]}.json"
fi
h_gateway GW2 --gateway-session-max-messages 10 --gateway-response-ttl 0
h_post "{\"input\":\"capped\",\"previous_response_id\":\"$last\"}"
t_eq "capped continuation: 200 (turn 1 never read)" 200 "$HS"
t_eq "capped continuation: 10 history items + its input" 11 "$(ctx)"
capped=$(h_jq .id)
h_req GET "/v1/responses/$capped/input_items?order=asc&limit=100"
t_eq "capped input_items: turns 46..50, then the input" "turn 46 turn 47 turn 48 turn 49 turn 50 capped" \
	"$(jq -r '[.data[] | select(.role == "user") | .content[0].text] | join(" ")' "$T/body")"
t_eq "capped record: history_items" 10 "$(rec "$capped" .history_items)"
h_stop "$GW2"

# a damaged ancestor inside the bound fails the request with a clear error
h_gateway GW3 --gateway-session-max-messages 1000 --gateway-response-ttl 0
h_post "{\"input\":\"whole\",\"previous_response_id\":\"$last\"}"
t_eq "damaged ancestor in the walk: 500" "500 stored_response_invalid previous_response_id" \
	"$HS $(h_jq .error.code) $(h_jq .error.param)"
t_contains "the log names the damaged record" "$(t_resp_where "${ids[0]}")" "$(cat "$T/GW3.err")"
h_req GET "/v1/responses/$last/input_items"
t_eq "damaged ancestor: input_items 500" "500 stored_response_invalid" "$HS $(h_jq .error.code)"
t_resp_put "$ST" "$(cat "$T/turn1.json")"
h_post "{\"input\":\"whole\",\"previous_response_id\":\"$last\"}"
t_eq "repaired: the whole chain again" "200 101" "$HS $(ctx)"

# --- DELETE of a middle response cuts its descendants' context there ---------
mid=${ids[24]} # turn 25
h_req DELETE "/v1/responses/$mid"
t_eq "delete turn 25" "200 true" "$HS $(h_jq .deleted)"
h_req GET "/v1/responses/$mid"
t_eq "turn 25 is gone" 404 "$HS"
h_post "{\"input\":\"after delete\",\"previous_response_id\":\"$mid\"}"
t_eq "continuing turn 25 itself" "400 previous_response_not_found" "$HS $(h_jq .error.code)"
h_post "{\"input\":\"after delete\",\"previous_response_id\":\"$last\"}"
t_eq "continuing turn 50: turns 26..50 and the input" "200 51" "$HS $(ctx)"
h_req GET "/v1/responses/$last/input_items?order=asc&limit=100"
t_eq "turn 50's input_items: turns 26..50" "$(seq 26 50 | sed 's/^/turn /')" \
	"$(jq -r '.data[] | select(.role == "user") | .content[0].text' "$T/body")"
t_eq "nothing of turn 25 is left" 0 "$(t_resp_all "$ST" | grep -c 'turn 25' || true)"
h_req GET "/v1/responses/${ids[25]}/input_items"
t_eq "turn 26 (its parent deleted): its own input only" "200 turn 26" \
	"$HS $(jq -r '[.data[].content[0].text] | join(" ")' "$T/body")"
h_stop "$GW3"

# --- TTL expiry of ancestors: the same cut -------------------------------------
for i in $(seq 26 34); do t_resp_age "$ST" "${ids[$i]}" 7200; done # turns 27..35
h_gateway GW4 --gateway-session-max-messages 1000 --gateway-response-ttl 3600
t_check "the start-up sweep removed the 9 old records" \
	t_wait_line "$T/GW4.err" 'expired: removed 0 session\(s\) and 9 stored response\(s\)' 10
h_post "{\"input\":\"after expiry\",\"previous_response_id\":\"$last\"}"
t_eq "continuing turn 50 after expiry: turns 36..50 and the input" "200 31" "$HS $(ctx)"
h_stop "$GW4"

# --- a loop of links (only a hand-edited file makes one): an error, no hang ---
item='{"type":"message","role":"user","content":[{"type":"input_text","text":"x"}]}'
for pair in "resp_loopa resp_loopb" "resp_loopb resp_loopa"; do
	set -- $pair
	t_resp_put "$ST" "$(printf '{"id":"%s","session_key":"","previous_response_id":"%s","history_items":50,"input_items":[%s],"response":{"id":"%s","output":[]}}' \
		"$1" "$2" "$item" "$1")"
done
h_gateway GW5 --gateway-session-max-messages 1000 --gateway-response-ttl 0
h_post '{"input":"go on","previous_response_id":"resp_loopa"}'
t_eq "loop: 500" "500 stored_response_invalid previous_response_id" "$HS $(h_jq .error.code) $(h_jq .error.param)"
t_contains "loop: logged" "loops: 'resp_loopb' continues 'resp_loopa'" "$(cat "$T/GW5.err")"
h_req GET /v1/responses/resp_loopa/input_items
t_eq "loop: input_items 500" "500 stored_response_invalid" "$HS $(h_jq .error.code)"
HS=$(curl -s -o /dev/null -w '%{http_code}' "http://$ADDR/healthz")
t_eq "the server still serves after a loop" 200 "$HS"

# --- a record in the old format (the whole context copied, no link) ----------
if t_files_only "records in the old whole-context format exist only in state directories of older versions"; then
u() { printf '{"type":"message","role":"user","content":[{"type":"input_text","text":"%s"}]}' "$1"; }
a() { printf '{"type":"message","role":"assistant","content":[{"type":"output_text","text":"%s"}]}' "$1"; }
printf '{"id":"resp_oldfmt","session_key":"","input_items":[%s,%s,%s],"response":{"id":"resp_oldfmt","previous_response_id":"resp_gone","output":[%s]}}\n' \
	"$(u old1)" "$(a reply1)" "$(u old2)" "$(a reply2)" >"$ST/openresponses/responses/resp_oldfmt.json"
h_req GET /v1/responses/resp_oldfmt/input_items?order=asc
t_eq "old record: input_items as stored" "old1 reply1 old2" "$(jq -r '[.data[].content[0].text] | join(" ")' "$T/body")"
h_post '{"input":"new1","previous_response_id":"resp_oldfmt"}'
t_eq "old record: continued with its whole context" "200 5" "$HS $(ctx)"
n1=$(h_jq .id)
h_post "{\"input\":\"new2\",\"previous_response_id\":\"$n1\"}"
t_eq "old record: a chain grows on it" "200 7" "$HS $(ctx)"
h_req GET "/v1/responses/$(h_jq .id)/input_items?order=asc"
t_eq "old record: the chain's input_items" "old1 reply1 old2 reply2 new1 new2" \
	"$(jq -r '[.data[] | select(.role == "user" or (.content[0].text | startswith("reply"))) | .content[0].text] | join(" ")' "$T/body")"
fi
h_stop "$GW5"
t_eq "clean exit" 0 "$HRC"
t_done
