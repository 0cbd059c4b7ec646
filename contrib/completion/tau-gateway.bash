# bash completion for tau-gateway and its tau-coding-agent alias.
#
# Installed by `cmake --install` as share/bash-completion/completions/tau-gateway
# (and tau-coding-agent, a link to it), where bash-completion loads it on
# first use; or source it from ~/.bashrc.
#
# The flags are read from `tau-gateway --help` of the binary being completed
# (once per binary and shell), so they are always that binary's; a value
# set printed as [values: a, b] there is offered for its flag.  Besides:
#   --gateway-fixture          *.json files (and directories)
#   --gateway-state-dir, --channel-store-root   directories
#   --console-log              files
#   --channel-store-inspect    gateway/<actor> for each actor directory in the
#                              channel store (of the state directory on the
#                              line, $TAU_GATEWAY_STATE_DIR, or .tau/gateway)
#   --gateway-service-stop-reason   the runbook's reasons
#   --transport-health-inspect gateway;  --model local/echo, openai/,
#                              anthropic/, google/
#   --gateway-openresponses-bind    127.0.0.1:8787, 127.0.0.1:0, [::1]:8787
#   --NAME[=BOOL] flags        true, false after '='

# _tau_gateway_flags CMD: sets _tau_gateway_opts to CMD's "--name META" lines
# (META: a placeholder, [=BOOL], or empty) and _tau_gateway_vals to its
# "--name word word" value sets, cached per command.
_tau_gateway_flags() {
	local cmd=$1
	if [[ ${_tau_gateway_cmd-} == "$cmd" && -n ${_tau_gateway_opts-} ]]; then
		return 0
	fi
	local help
	help=$(LC_ALL=C "$cmd" --help 2>/dev/null) || help=$(LC_ALL=C tau-gateway --help 2>/dev/null) || return 1
	_tau_gateway_opts=$(printf '%s\n' "$help" | sed -n 's/^  \(--[a-z0-9-]*\)\(\[=BOOL\]\)\{0,1\}\( [^ ]*\)\{0,1\}$/\1 \2\3/p' |
		sed 's/  */ /g; s/ $//')
	_tau_gateway_vals=$(printf '%s\n' "$help" | awk '
		/^  --/ { name = $1; next }
		/\[values: / { v = $0; sub(/.*\[values: /, "", v); sub(/\].*/, "", v); gsub(/,/, "", v); print name " " v }')
	_tau_gateway_cmd=$cmd
}

# _tau_gateway_arg WORDS... : the value given to the last --NAME (the first
# argument) on the line, or nothing
_tau_gateway_arg() {
	local want=$1 i v=""
	for ((i = 1; i < COMP_CWORD; i++)); do
		case ${COMP_WORDS[i]} in
		"$want") v=${COMP_WORDS[i + 1]-} ;;
		"$want"=*) v=${COMP_WORDS[i]#*=} ;;
		esac
	done
	printf '%s' "$v"
}

# _tau_gateway_actors: "gateway/<actor>" for each actor directory
_tau_gateway_actors() {
	local sd root d
	sd=$(_tau_gateway_arg --gateway-state-dir)
	sd=${sd:-${TAU_GATEWAY_STATE_DIR:-.tau/gateway}}
	root=$(_tau_gateway_arg --channel-store-root)
	root=${root:-${TAU_CHANNEL_STORE_ROOT:-$sd/channel-store}}
	root=${root/#\~/$HOME}
	for d in "$root"/gateway/*/; do
		[[ -d $d ]] || continue
		d=${d%/}
		printf 'gateway/%s\n' "${d##*/}"
	done
}

_tau_gateway() {
	local cur=${COMP_WORDS[COMP_CWORD]} prev="" flag="" meta="" line
	((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD - 1]}
	COMPREPLY=()
	_tau_gateway_flags "${COMP_WORDS[0]}" || return 0

	# --name=value in one word (bash may split at '=' when it is in
	# COMP_WORDBREAKS: then prev is '=')
	local eq=0
	if [[ $cur == --*=* ]]; then
		flag=${cur%%=*}
		cur=${cur#*=}
		eq=1
	elif [[ $prev == "=" && COMP_CWORD -ge 2 ]]; then
		flag=${COMP_WORDS[COMP_CWORD - 2]}
		eq=2
	elif [[ $cur == "=" && $prev == --* ]]; then
		flag=$prev
		cur=""
		eq=2
	elif [[ $prev == --* ]]; then
		flag=$prev
	fi
	if [[ -n $flag ]]; then
		line=$(printf '%s\n' "$_tau_gateway_opts" | grep -m1 -E -- "^$flag( |$)")
		meta=${line#"$flag"}
		meta=${meta# }
		# a switch takes no value: the word is a new flag
		if [[ -z $line || (-z $meta && $eq -eq 0) ]]; then
			flag=""
		elif [[ $meta == "[=BOOL]" && $eq -eq 0 ]]; then
			flag="" # an optional value must be attached with '='
		fi
	fi

	if [[ -n $flag ]]; then
		local words="" vals
		vals=$(printf '%s\n' "$_tau_gateway_vals" | grep -m1 -E -- "^$flag " | cut -d' ' -f2-)
		if [[ -n $vals ]]; then
			words=$vals
		else
			case $flag in
			--gateway-fixture)
				compopt -o filenames 2>/dev/null
				mapfile -t COMPREPLY < <(compgen -f -X '!*.json' -- "$cur"; compgen -d -- "$cur")
				;;
			--gateway-state-dir | --channel-store-root)
				compopt -o filenames 2>/dev/null
				mapfile -t COMPREPLY < <(compgen -d -- "$cur")
				;;
			--console-log)
				compopt -o filenames 2>/dev/null
				mapfile -t COMPREPLY < <(compgen -f -- "$cur")
				;;
			--channel-store-inspect) words=$(_tau_gateway_actors) ;;
			--gateway-service-stop-reason)
				words="operator_requested maintenance_window emergency_rollback" ;;
			--transport-health-inspect) words="gateway" ;;
			--model)
				words="local/echo openai/ anthropic/ google/"
				[[ $cur == [oag]* || -z $cur ]] && compopt -o nospace 2>/dev/null
				;;
			--gateway-openresponses-bind) words="127.0.0.1:8787 127.0.0.1:0 [::1]:8787" ;;
			*)
				[[ $meta == "[=BOOL]" ]] && words="true false"
				;;
			esac
		fi
		if [[ -n $words ]]; then
			mapfile -t COMPREPLY < <(compgen -W "$words" -- "$cur")
		fi
		if [[ $eq -eq 1 ]]; then
			local i
			for i in "${!COMPREPLY[@]}"; do COMPREPLY[i]="$flag=${COMPREPLY[i]}"; done
		fi
		return 0
	fi

	if [[ $cur == -* || -z $cur ]]; then
		local names
		names=$(printf '%s\n' "$_tau_gateway_opts" | cut -d' ' -f1)
		mapfile -t COMPREPLY < <(compgen -W "$names" -- "$cur")
	fi
	return 0
}

complete -F _tau_gateway tau-gateway tau-coding-agent
