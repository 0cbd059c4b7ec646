#!/usr/bin/env bash
# The official OpenAI Node SDK (tests/sdk, npm "openai" pinned), unchanged,
# against /v1/chat/completions and /v1/models: chat.completions.create
# plain and streamed (include_usage), the SDK's stream accumulator, a tool
# call and its result and a streamed tool call through an openai/* model in
# front of the upstream stub, models.list, and errors as the SDK's typed
# exceptions (400 with its param, 401).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib/http.sh"
. "$(dirname "$0")/lib/sdk.sh"

sdk_run openai_chat.test.mjs 6 || { t_done; exit; }
t_eq "the stub received the SDK's three upstream requests" 3 \
	"$(jq -s '[.[] | select(.body.model == "stub-model")] | length' "$STUB_REC")"
h_stop "$GW"
t_eq "graceful stop" 0 "$HRC"
h_stop "$UP"
t_eq "graceful stop (upstream gateway)" 0 "$HRC"
t_done
