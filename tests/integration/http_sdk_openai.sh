#!/usr/bin/env bash
# The official OpenAI Node SDK (tests/sdk, npm "openai" pinned), unchanged,
# against the real server: responses.create with string and item input,
# roles, function tools and a function_call_output round trip;
# previous_response_id; retrieve, inputItems.list and delete; stream: true
# and the SDK's own stream accumulator (responses.stream); errors as the
# SDK's typed exceptions (401, 400 previous_response_not_found); and through
# an openai/* model in front of the upstream stub (tests/stub): text, a
# tool call, its result and a streamed reply.
# backends: files pg
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib/http.sh"
. "$(dirname "$0")/lib/sdk.sh"

sdk_run openai_sdk.test.mjs 9 || { t_done; exit; }
t_eq "the stub received the SDK's requests, translated" 3 \
	"$(jq -s '[.[] | select(.body.model == "stub-model")] | length' "$STUB_REC")"
h_stop "$GW"
t_eq "graceful stop" 0 "$HRC"
h_stop "$UP"
t_eq "graceful stop (upstream gateway)" 0 "$HRC"
t_done
