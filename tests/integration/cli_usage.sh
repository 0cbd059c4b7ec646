#!/usr/bin/env bash
# cli_usage: usage errors exit 64 with a one-line message naming the flags
# (conflicting actions, a dependent flag without its action, zero
# thresholds, bad values, unknown options); --help lists every flag with its
# default and env variable; --version names the linked libraries; with no
# action and no terminal the usage goes to stderr and the exit is 64.
# Nothing is written by a rejected command.
# On PostgreSQL (pg.cli_usage) the commands that name a state (the openai
# key checks) name the test database's deployment instead, and "nothing
# written" means no posture row; the usage errors name no state and run
# the same on both.
# backends: files pg
. "${TAU_SOURCE_DIR:-$(dirname "$0")/../..}/tests/lib.sh"
. "$TAU_SOURCE_DIR/tests/integration/lib/backend.sh"

cd "$T" || exit 1

# usage_error NAME EXPECTED_MESSAGE ARGS...: exit 64, exactly that one line on
# stderr, nothing on stdout, no .tau created.
usage_error() {
	local name=$1 want=$2 rc
	shift 2
	"$TAU_BIN" "$@" </dev/null >"$T/out" 2>"$T/err"
	rc=$?
	t_eq "$name: exit 64" "64" "$rc"
	t_eq "$name: message" "$want" "$(cat "$T/err")"
	t_eq "$name: no stdout" "" "$(cat "$T/out")"
	t_eq "$name: nothing written" "no" "$([ -e "$T/.tau" ] && echo yes || echo no)"
}

# --- conflicting actions: every pair ---------------------------------------------
ACTIONS=(
	"--gateway-service-start"
	"--gateway-service-stop"
	"--gateway-service-status"
	"--gateway-contract-runner"
	"--gateway-openresponses-server"
	"--transport-health-inspect gateway"
	"--gateway-status-inspect"
	"--channel-store-inspect gateway/x"
	"--console"
)
for ((i = 0; i < ${#ACTIONS[@]}; i++)); do
	for ((j = i + 1; j < ${#ACTIONS[@]}; j++)); do
		a=${ACTIONS[i]} b=${ACTIONS[j]}
		# shellcheck disable=SC2086 # flag lists split on purpose
		"$TAU_BIN" $a $b </dev/null >"$T/out" 2>"$T/err"
		rc=$?
		msg=$(cat "$T/err")
		if [ "$rc" = 64 ] && [ "$(wc -l <"$T/err")" = 1 ] &&
			[ "$msg" = "tau-gateway: the argument '${a%% *}' cannot be used with '${b%% *}'" ]; then
			t_ok "conflict ${a%% *} + ${b%% *}"
		else
			t_fail "conflict ${a%% *} + ${b%% *}: rc=$rc msg=[$msg]"
		fi
	done
done
t_eq "conflicts: nothing written" "no" "$([ -e "$T/.tau" ] && echo yes || echo no)"
TAU_GATEWAY_SERVICE_START=1 usage_error "conflict through the environment" \
	"tau-gateway: the argument '--gateway-service-stop' cannot be used with '--gateway-service-start' (from TAU_GATEWAY_SERVICE_START)" \
	--gateway-service-stop

# --- dependent flags without their action -------------------------------------------
while IFS='|' read -r flag action; do
	# shellcheck disable=SC2086
	usage_error "dependent $flag" "tau-gateway: ${flag%%[ =]*} requires $action" --gateway-service-status $flag
done <<'LIST'
--gateway-status-json|--gateway-status-inspect
--gateway-status-json=false|--gateway-status-inspect
--transport-health-json|--transport-health-inspect
--gateway-fixture x.json|--gateway-contract-runner
--gateway-queue-limit 5|--gateway-contract-runner
--gateway-processed-case-cap 5|--gateway-contract-runner
--gateway-retry-max-attempts 5|--gateway-contract-runner
--gateway-retry-base-delay-ms 5|--gateway-contract-runner
--gateway-guardrail-failure-streak-threshold 5|--gateway-contract-runner
--gateway-guardrail-retryable-failures-threshold 5|--gateway-contract-runner
--gateway-fail-on-hold|--gateway-contract-runner
--gateway-openresponses-bind 127.0.0.1:1|--gateway-openresponses-server
--gateway-openresponses-auth-token t|--gateway-openresponses-server
--gateway-openresponses-max-input-chars 5|--gateway-openresponses-server
LIST
usage_error "dependent --gateway-service-status-json" \
	"tau-gateway: --gateway-service-status-json requires --gateway-service-status" --gateway-service-start --gateway-service-status-json
usage_error "dependent --gateway-service-stop-reason" \
	"tau-gateway: --gateway-service-stop-reason requires --gateway-service-stop" --gateway-service-start --gateway-service-stop-reason x
usage_error "dependent flag alone" \
	"tau-gateway: --gateway-status-json requires --gateway-status-inspect" --gateway-status-json

# --- zero thresholds and bad values -----------------------------------------------------
for flag in gateway-guardrail-failure-streak-threshold gateway-guardrail-retryable-failures-threshold \
	gateway-queue-limit gateway-processed-case-cap gateway-retry-max-attempts; do
	usage_error "zero --$flag" "tau-gateway: invalid value '0' for '--$flag <N>': value must be greater than 0" \
		--gateway-contract-runner --$flag 0
done
usage_error "zero --gateway-openresponses-max-input-chars" \
	"tau-gateway: invalid value '0' for '--gateway-openresponses-max-input-chars <N>': value must be greater than 0" \
	--gateway-openresponses-server --gateway-openresponses-max-input-chars 0
TAU_GATEWAY_QUEUE_LIMIT=0 usage_error "zero threshold from the environment" \
	"tau-gateway: environment variable TAU_GATEWAY_QUEUE_LIMIT: invalid value '0' for '--gateway-queue-limit <N>': value must be greater than 0" \
	--gateway-contract-runner
usage_error "non-numeric value" \
	"tau-gateway: invalid value 'abc' for '--gateway-queue-limit <N>': expected a non-negative integer" \
	--gateway-contract-runner --gateway-queue-limit abc
usage_error "negative value" \
	"tau-gateway: invalid value '-3' for '--gateway-queue-limit <N>': expected a non-negative integer" \
	--gateway-contract-runner --gateway-queue-limit=-3
usage_error "missing value" "tau-gateway: option '--gateway-fixture' requires a value <FILE>" \
	--gateway-contract-runner --gateway-fixture
usage_error "blank stop reason" "tau-gateway: --gateway-service-stop-reason cannot be empty or whitespace" \
	--gateway-service-stop --gateway-service-stop-reason "   "
usage_error "unknown option" "tau-gateway: unknown option '--bogus' (see --help)" --bogus
usage_error "json flag takes its value with =" "tau-gateway: unexpected argument 'false' (see --help)" \
	--gateway-status-inspect --gateway-status-json false
usage_error "unknown transport" "tau-gateway: --transport-health-inspect 'slack' is not served by tau-gateway (only 'gateway')" \
	--transport-health-inspect slack
usage_error "bad channel ref" "tau-gateway: invalid channel ref 'ops-bot', expected transport/channel_id" \
	--channel-store-inspect ops-bot

# --- no action and no terminal ------------------------------------------------------------
"$TAU_BIN" </dev/null >"$T/out" 2>"$T/err"
t_eq "no action, no terminal: exit 64" "64" "$?"
t_eq "no action, no terminal: first line" "tau-gateway: no action given and no terminal for the console" "$(head -n 1 "$T/err")"
t_contains "no action, no terminal: usage on stderr" "Usage: tau-gateway [ACTION] [OPTIONS]" "$(cat "$T/err")"
t_eq "no action, no terminal: nothing on stdout" "" "$(cat "$T/out")"

# --- --help lists every flag with its default and env variable ---------------------------
"$TAU_BIN" --help >"$T/help" 2>"$T/err"
t_eq "--help: exit 0" "0" "$?"
t_eq "--help: on stdout only" "" "$(cat "$T/err")"
# flag|default ("-" = no default shown)|env
while IFS='|' read -r flag def env; do
	line=$(grep -A1 -E "^  --$flag([ =[]|\$)" "$T/help" | tail -n 1)
	if [ -z "$line" ]; then
		t_fail "--help lists --$flag"
		continue
	fi
	if [ "$def" != "-" ]; then
		t_contains "--help: --$flag default" "[default: $def]" "$line"
	fi
	if [ "$env" != "-" ]; then
		t_contains "--help: --$flag env" "[env: $env]" "$line"
	fi
done <<'LIST'
gateway-service-start|-|TAU_GATEWAY_SERVICE_START
gateway-service-stop|-|TAU_GATEWAY_SERVICE_STOP
gateway-service-stop-reason|operator_requested|TAU_GATEWAY_SERVICE_STOP_REASON
gateway-service-status|-|TAU_GATEWAY_SERVICE_STATUS
gateway-service-status-json|false|TAU_GATEWAY_SERVICE_STATUS_JSON
gateway-contract-runner|-|TAU_GATEWAY_CONTRACT_RUNNER
gateway-fixture|fixtures/gateway-contract/mixed-outcomes.json|TAU_GATEWAY_FIXTURE
gateway-queue-limit|64|TAU_GATEWAY_QUEUE_LIMIT
gateway-processed-case-cap|10000|TAU_GATEWAY_PROCESSED_CASE_CAP
gateway-retry-max-attempts|4|TAU_GATEWAY_RETRY_MAX_ATTEMPTS
gateway-retry-base-delay-ms|0|TAU_GATEWAY_RETRY_BASE_DELAY_MS
gateway-guardrail-failure-streak-threshold|2|TAU_GATEWAY_GUARDRAIL_FAILURE_STREAK_THRESHOLD
gateway-guardrail-retryable-failures-threshold|2|TAU_GATEWAY_GUARDRAIL_RETRYABLE_FAILURES_THRESHOLD
gateway-fail-on-hold|-|TAU_GATEWAY_FAIL_ON_HOLD
gateway-openresponses-server|-|TAU_GATEWAY_OPENRESPONSES_SERVER
gateway-openresponses-bind|127.0.0.1:8787|TAU_GATEWAY_OPENRESPONSES_BIND
gateway-openresponses-auth-token|-|TAU_GATEWAY_OPENRESPONSES_AUTH_TOKEN
gateway-openresponses-max-input-chars|32000|TAU_GATEWAY_OPENRESPONSES_MAX_INPUT_CHARS
transport-health-inspect|-|TAU_TRANSPORT_HEALTH_INSPECT
transport-health-json|false|TAU_TRANSPORT_HEALTH_JSON
gateway-status-inspect|-|TAU_GATEWAY_STATUS_INSPECT
gateway-status-json|false|TAU_GATEWAY_STATUS_JSON
channel-store-inspect|-|TAU_CHANNEL_STORE_INSPECT
channel-store-root|<state-dir>/channel-store|TAU_CHANNEL_STORE_ROOT
gateway-state-dir|.tau/gateway|TAU_GATEWAY_STATE_DIR
console|-|-
model|local/echo|TAU_MODEL
request-timeout-ms|120000|TAU_REQUEST_TIMEOUT_MS
help|-|-
version|-|-
LIST
# Every option the binary accepts appears in --help (no hidden flags).
t_eq "--help: nothing written" "no" "$([ -e "$T/.tau" ] && echo yes || echo no)"
flags_in_help=$(grep -oE '^  --[a-z0-9-]+' "$T/help" | sed 's/^  //' | LC_ALL=C sort -u)
mkdir -p "$T/scratch"
cd "$T/scratch" || exit 1 # lone actions (e.g. a service start) write here
rejected=""
for f in $flags_in_help; do
	# each listed flag is known to the parser: it never says "unknown option"
	"$TAU_BIN" "$f" </dev/null >/dev/null 2>"$T/err"
	if grep -q "unknown option" "$T/err"; then rejected="$rejected $f"; fi
done
t_match "--help lists flags" '^--' "$flags_in_help"
t_eq "every flag in --help is accepted by the parser (those it rejects)" "" "$rejected"
cd "$T" || exit 1

# --- --version ----------------------------------------------------------------------------
"$TAU_BIN" --version >"$T/out" 2>"$T/err"
t_eq "--version: exit 0" "0" "$?"
t_match "--version: program version" "^tau-gateway [0-9]+\.[0-9]+\.[0-9]+\$" "$(head -n 1 "$T/out")"
for lib in cJSON libcurl libmicrohttpd ncurses readline; do
	t_match "--version: $lib version" "^  $lib [0-9]" "$(grep "^  $lib " "$T/out")"
done
# the allocator line names the malloc the binary really links (sanitizer builds: glibc's)
if ldd "$TAU_BIN" | grep -q libjemalloc; then
	t_match "--version: jemalloc version" "^  jemalloc [0-9]" "$(grep "^  jemalloc " "$T/out")"
else
	t_eq "--version: glibc malloc" "  glibc malloc" "$(grep "malloc" "$T/out")"
fi

# --- openai/* without a key ------------------------------------------------------------------
env -u OPENAI_API_KEY -u OPENAI_BASE_URL "$TAU_BIN" $(t_state_args "$T/k") --gateway-openresponses-server \
	--gateway-openresponses-auth-token t --model openai/gpt-4o-mini >"$T/out" 2>"$T/err"
t_eq "openai model without OPENAI_API_KEY: exit 64" "64" "$?"
t_eq "openai model without OPENAI_API_KEY: names the variable" \
	"tau-gateway: --model openai/gpt-4o-mini needs OPENAI_API_KEY in the environment (or --provider-base-url for a server that needs no key)" \
	"$(cat "$T/err")"
t_eq "openai model without OPENAI_API_KEY: nothing written" "no" \
	"$({ [ -e "$T/k" ] || t_posture "$T/k" >/dev/null; } && echo yes || echo no)"
# an explicit base URL (e.g. Ollama) needs no key: the server starts
env -u OPENAI_API_KEY "$TAU_BIN" $(t_state_args "$T/k2") --gateway-openresponses-server \
	--gateway-openresponses-auth-token t --gateway-openresponses-bind 127.0.0.1:0 \
	--model openai/llama3 --provider-base-url http://127.0.0.1:9/v1 >"$T/k2.out" 2>"$T/k2.err" &
k2=$!
T_PIDS+=("$k2")
if t_wait_line "$T/k2.out" "^gateway openresponses server listening: " 10; then
	t_ok "openai model with --provider-base-url and no key: the server starts"
else
	t_fail "openai model with --provider-base-url and no key did not start: $(cat "$T/k2.err")"
fi
kill "$k2" 2>/dev/null
wait "$k2" 2>/dev/null
t_eq "openai model with --provider-base-url: its start and stop recorded" stopped \
	"$(t_posture_jq "$T/k2" .service.status)"

t_done
