#!/usr/bin/env bash
# build_completion: contrib/completion/tau-gateway.bash, sourced into this
# shell and called as bash calls it (COMP_WORDS, COMP_CWORD): every flag of
# the option table (read from src/cli/cli.c, not from --help, which the
# script reads), the --help value sets, fixed words, *.json fixtures,
# directories, actor ids from a state directory the runner wrote, the
# --name=value forms, and the tau-coding-agent alias.  (Installation:
# build_install.)
. "$(dirname "$0")/../lib.sh"
# shellcheck source=contrib/completion/tau-gateway.bash
. "$TAU_SOURCE_DIR/contrib/completion/tau-gateway.bash"

# comp WORD...: the sorted candidates for the last word, the command being
# $TAU_BIN; one line, space-separated
comp() {
	COMP_WORDS=("$TAU_BIN" "$@")
	COMP_CWORD=$#
	COMP_LINE="${COMP_WORDS[*]}"
	COMP_POINT=${#COMP_LINE}
	COMPREPLY=()
	_tau_gateway
	printf '%s\n' "${COMPREPLY[@]}" | sort | paste -sd ' '
}

t_eq "registered for tau-gateway" "complete -F _tau_gateway tau-gateway" "$(complete -p tau-gateway)"
t_eq "registered for tau-coding-agent" "complete -F _tau_gateway tau-coding-agent" "$(complete -p tau-coding-agent)"

# every flag of the table, and nothing else
TABLE=$(grep -o '{ \.name = "[a-z0-9-]*"' "$TAU_SOURCE_DIR/src/cli/cli.c" | sed 's/.*"\(.*\)"/--\1/' | sort | paste -sd ' ')
t_eq "'--' offers every flag of cli_opts" "$TABLE" "$(comp --)"
t_eq "an empty word offers every flag too" "$TABLE" "$(comp '')"
t_eq "a prefix" "--gateway-queue-limit" "$(comp --gateway-q)"
t_eq "after a switch, flags again" "--gateway-service-status --gateway-service-status-json" \
	"$(comp --gateway-service-stop --gateway-service-stat)"

# value sets
t_eq "--log-format: the [values: ...] of --help" "json text" "$(comp --gateway-openresponses-server --log-format '')"
t_eq "--log-format j" "json" "$(comp --log-format j)"
t_eq "--log-format=j (one word)" "--log-format=json" "$(comp --log-format=j)"
t_eq "--log-format = j (split at '=', as bash does)" "json" "$(comp --log-format = j)"
t_eq "--transport-health-json= : true false" "false true" "$(comp --transport-health-inspect gateway --transport-health-json =)"
t_eq "a [=BOOL] flag without '=': the next word is a flag" "--gateway-status-inspect" \
	"$(comp --gateway-status-json --gateway-status-i)"
t_eq "--gateway-service-stop-reason" "emergency_rollback maintenance_window operator_requested" \
	"$(comp --gateway-service-stop --gateway-service-stop-reason '')"
t_eq "--transport-health-inspect" "gateway" "$(comp --transport-health-inspect '')"
t_eq "--model" "anthropic/ google/ local/echo openai/" "$(comp --model '')"
t_eq "--model a" "anthropic/" "$(comp --model a)"
t_eq "a number takes no candidates" "" "$(comp --gateway-queue-limit '')"
t_eq "the token takes no candidates" "" "$(comp --gateway-openresponses-auth-token '')"

# fixtures: *.json and directories; state dirs: directories
mkdir -p "$T/fx/sub" "$T/fx/other.d"
: >"$T/fx/a.json"
: >"$T/fx/b.txt"
: >"$T/fx/sub/c.json"
t_eq "--gateway-fixture: *.json files and directories" "$T/fx/a.json $T/fx/other.d $T/fx/sub" \
	"$(comp --gateway-contract-runner --gateway-fixture "$T/fx/")"
t_eq "--gateway-fixture=...: the same" "--gateway-fixture=$T/fx/a.json --gateway-fixture=$T/fx/other.d --gateway-fixture=$T/fx/sub" \
	"$(comp --gateway-contract-runner "--gateway-fixture=$T/fx/")"
t_eq "--gateway-state-dir: directories only" "$T/fx/other.d $T/fx/sub" "$(comp --gateway-state-dir "$T/fx/")"

# actor ids from the channel store the runner wrote
SD=$T/state
"$TAU_BIN" --gateway-state-dir "$SD" --gateway-contract-runner --gateway-fixture "$FIXTURES/mixed-outcomes.json" \
	>"$T/run.out" 2>&1
ACTORS=$(cd "$SD/channel-store/gateway" && for d in */; do printf 'gateway/%s\n' "${d%/}"; done | sort | paste -sd ' ')
t_match "the runner wrote actors" '^gateway/[^ ]+' "$ACTORS"
t_eq "--channel-store-inspect: actors of --gateway-state-dir on the line" "$ACTORS" \
	"$(comp --gateway-state-dir "$SD" --channel-store-inspect '')"
t_eq "--channel-store-inspect: of \$TAU_GATEWAY_STATE_DIR" "$ACTORS" \
	"$(TAU_GATEWAY_STATE_DIR=$SD comp --channel-store-inspect g)"
t_eq "--channel-store-inspect: of --channel-store-root" "$ACTORS" \
	"$(comp --channel-store-root "$SD/channel-store" --channel-store-inspect '')"
t_eq "--channel-store-inspect: none in an empty state dir" "" \
	"$(comp --gateway-state-dir "$T/fx" --channel-store-inspect '')"

# the alias: the flags come from the binary it names
ALIAS=$(dirname "$TAU_BIN")/tau-coding-agent
COMP_WORDS=("$ALIAS" --gateway-service-stop-r)
COMP_CWORD=1
_tau_gateway_cmd=""
_tau_gateway
t_eq "tau-coding-agent completes the same flags" "--gateway-service-stop-reason" "${COMPREPLY[*]}"
t_done
