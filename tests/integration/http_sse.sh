#!/usr/bin/env bash
# SSE ("stream": true): Content-Type, the standard event sequence with full
# response snapshots, sequence_numbers rising by one, event: matching type,
# one-line JSON data, "\n" endings, data: [DONE] last; function-call
# argument events; response.incomplete; a streamed response is stored;
# events larger than the connection buffer.
# backends: files pg
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib/http.sh"

h_gateway GW

sse() {
	curl -s -N -D "$T/hdr" -o "$T/sse" -H "Authorization: Bearer $TOKEN" -d "$1" "http://$ADDR/v1/responses"
}
# checks the framing of $T/sse and prints the event types, one per line
frames() {
	python3 - "$T/sse" <<'PY'
import json, sys
raw = open(sys.argv[1], "rb").read()
assert b"\r" not in raw, "CR in stream"
text = raw.decode("utf-8")
assert text.endswith("data: [DONE]\n\n"), "no final [DONE]"
blocks = text[:-len("data: [DONE]\n\n")].split("\n\n")
assert blocks[-1] == "", "stream does not end with a blank line"
seq = 0
for b in blocks[:-1]:
    lines = [l for l in b.split("\n") if not l.startswith(":")]
    assert len(lines) == 2, "event is not one event: line + one data: line: %r" % b[:80]
    assert lines[0].startswith("event: ") and lines[1].startswith("data: ")
    ev = json.loads(lines[1][6:])
    assert ev["type"] == lines[0][7:], "event: does not match type"
    assert ev["sequence_number"] == seq, "sequence_number %s, expected %d" % (ev["sequence_number"], seq)
    seq += 1
    print(ev["type"])
PY
}

sse '{"input":"stream this response","stream":true}'
t_match "content-type" '^Content-Type: text/event-stream' "$(grep -i '^content-type' "$T/hdr" | tr -d '\r')"
frames >"$T/types"
t_eq "framing ok" 0 $?
t_eq "text event sequence" "response.created
response.in_progress
response.output_item.added
response.content_part.added
response.output_text.delta
response.output_text.delta
response.output_text.delta
response.output_text.delta
response.output_text.done
response.content_part.done
response.output_item.done
response.completed" "$(cat "$T/types")"
data() { grep "^data: {\"type\":\"$1\"" "$T/sse" | head -1 | cut -c7-; }
t_eq "created carries the full response" in_progress "$(data response.created | jq -r .response.status)"
t_eq "created has every field" 33 "$(data response.created | jq '.response|keys|length')"
t_eq "in_progress carries the response" in_progress "$(data response.in_progress | jq -r .response.status)"
t_eq "completed carries the final response" completed "$(data response.completed | jq -r .response.status)"
full=$(grep '^data: {"type":"response.output_text.delta"' "$T/sse" | cut -c7- | jq -rj .delta)
t_eq "deltas add up to output_text" "$(data response.completed | jq -r .response.output_text)" "$full"
t_eq "text.done text" "$full" "$(data response.output_text.done | jq -r .text)"
t_eq "delta item ids match" 1 "$(grep -o '"item_id":"[^"]*"' "$T/sse" | sort -u | wc -l)"
t_eq "usage in completed" true "$(data response.completed | jq '.response.usage.total_tokens > 0')"
id=$(data response.completed | jq -r .response.id)
h_req GET "/v1/responses/$id"
t_eq "streamed response stored" "$full" "$(h_jq .output_text)"

# function call streaming
sse '{"input":"call","stream":true,"tools":[{"type":"function","name":"lookup"}],"tool_choice":"required"}'
frames >"$T/types"
t_eq "function call sequence" "response.created
response.in_progress
response.output_item.added
response.function_call_arguments.delta
response.function_call_arguments.delta
response.function_call_arguments.done
response.output_item.done
response.completed" "$(cat "$T/types")"
args=$(grep '^data: {"type":"response.function_call_arguments.delta"' "$T/sse" | cut -c7- | jq -rj .delta)
t_eq "argument deltas add up" '{"input":"call"}' "$args"
t_eq "arguments.done" "$args" "$(data response.function_call_arguments.done | jq -r .arguments)"
t_eq "item done is a function_call" function_call "$(data response.output_item.done | jq -r .item.type)"

# events larger than the connection's 16 KiB buffer go out in pieces and
# still frame correctly (the response snapshots quote a 24,000-char input)
python3 -c 'import json; print(json.dumps({"input": "long " * 4800, "stream": True}))' >"$T/long.json"
sse @"$T/long.json"
frames >"$T/types"
t_eq "a long stream frames ok" 0 $?
t_eq "a long stream completes" response.completed "$(tail -1 "$T/types")"
t_eq "the long completed event is whole" true \
    "$(data response.completed | jq '(.response.output_text | length) > 24000')"

# incomplete
sse '{"input":"one two three four five","stream":true,"max_output_tokens":2}'
frames >"$T/types"
t_eq "incomplete is terminal" response.incomplete "$(tail -1 "$T/types")"
t_eq "incomplete reason" max_output_tokens "$(data response.incomplete | jq -r .response.incomplete_details.reason)"

# validation errors are HTTP errors, not 200 + response.failed
HS=$(curl -s -o "$T/body" -w '%{http_code}' -H "Authorization: Bearer $TOKEN" -d '{"stream":true}' "http://$ADDR/v1/responses")
t_eq "stream validation error is a 400" 400 "$HS"

h_stop "$GW"
t_done
