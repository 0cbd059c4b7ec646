#!/usr/bin/env bash
# The official OpenAI Node SDK (tests/sdk, npm "openai" pinned), unchanged,
# against /v1/chat/completions and /v1/models: chat.completions.create
# plain and streamed (include_usage), the SDK's stream accumulator, a tool
# call and its result and a streamed tool call through an openai/* model in
# front of the upstream stub, models.list, and errors as the SDK's typed
# exceptions (400 with its param, 401); through an anthropic/* model, a
# streamed tool call that follows a text block (Anthropic's content block
# 1) accumulated by the SDK as the message's only tool call.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib/http.sh"
. "$(dirname "$0")/lib/sdk.sh"

h_stub_as AS anthropic_stub.py || exit 1
ANTHROPIC_API_KEY=stub-key h_gateway AG --gateway-state-dir "$T/ag" --model anthropic/claude-test \
	--provider-base-url "http://127.0.0.1:$AS_PORT" --provider-max-retries 0 || exit 1
export GATEWAY_ANTHROPIC_URL=http://$ADDR
sdk_run openai_chat.test.mjs 7 || { t_done; exit; }
t_eq "the stub received the SDK's three upstream requests" 3 \
	"$(jq -s '[.[] | select(.body.model == "stub-model")] | length' "$STUB_REC")"
h_stop "$GW"
t_eq "graceful stop" 0 "$HRC"
h_stop "$UP"
t_eq "graceful stop (upstream gateway)" 0 "$HRC"
h_stop "$AG"
t_eq "graceful stop (anthropic gateway)" 0 "$HRC"
t_done
