# tests/console/tmux_helpers.bash - drive the console in a private tmux
# server.  Source after tests/lib.sh.  (Not a test itself: ctest only
# registers *.sh.)
#
#   tc_start [ARGS...]   start `tau-gateway --console --gateway-state-dir $SD
#                        ARGS` (with TC_STATE_URL set: --gateway-state-url
#                        $TC_STATE_URL instead of the directory) in a 120x40
#                        pane (TC_COLS/TC_ROWS override,
#                        TC_ENV adds "VAR=value ..." to its environment;
#                        ASan/UBSan reports go to $T/console-asan.<pid>).
#                        After the console exits the pane prints the stty
#                        flags ("STTY ...") and then "CONSOLE_EXIT=<status>",
#                        in that order, so a test that has seen CONSOLE_EXIT
#                        can read the STTY line; then the pane stays.
#   tc_keys KEYS...      tmux send-keys
#   tc_type TEXT         send TEXT literally
#   tc_screen            the pane's text
#   tc_wait REGEX [SECS] poll the pane until REGEX matches (bounded)
#   tc_console_pid       PID of the console process
#   tc_stop              end the tmux server (tc_start also starts a new one)
# Every tmux server is killed on exit, with everything it started.
TC_SOCK=""
TC_SOCKS=()
SD=$T/state
mkdir -p "$SD" "$T/xdg"

tc_tmux() { tmux -L "$TC_SOCK" -f /dev/null "$@"; }

tc_cleanup() {
	local s
	for s in "${TC_SOCKS[@]}"; do
		tmux -L "$s" kill-server 2>/dev/null
		rm -f "${TMUX_TMPDIR:-/tmp}/tmux-$(id -u)/$s"
	done
	t_cleanup
}

# Ends the current tmux server (and the console in it).
tc_stop() {
	[ -n "$TC_SOCK" ] && tmux -L "$TC_SOCK" kill-server 2>/dev/null
	TC_SOCK=""
}
trap tc_cleanup EXIT

tc_start() {
	local args="" a state
	for a in "$@"; do args+=" $(printf '%q' "$a")"; done
	if [ -n "${TC_STATE_URL:-}" ]; then
		state="--gateway-state-url $(printf '%q' "$TC_STATE_URL")"
	else
		state="--gateway-state-dir $(printf '%q' "$SD")"
	fi
	# a sanitizer build's report goes under $T (lib.sh fails the test on
	# it), not into the pane where nothing would read it
	local san="ASAN_OPTIONS=$(printf '%q' "${ASAN_OPTIONS:-}:log_path=$T/console-asan") \
UBSAN_OPTIONS=$(printf '%q' "${UBSAN_OPTIONS:-}:log_path=$T/console-ubsan")"
	local cmd="cd $(printf '%q' "$T") && env XDG_STATE_HOME=$(printf '%q' "$T/xdg") $san ${TC_ENV:-} \
$(printf '%q' "$TAU_BIN") --console $state$args; \
st=\$?; echo STTY \$(stty -a | tr ' ;' '\n\n' | grep -Ex -- '-?(icanon|echo|isig|icrnl)'); echo CONSOLE_EXIT=\$st; \
exec sleep 600"
	# a fresh server per start: reusing a socket races with the old server's exit
	tc_stop
	TC_SOCK="tau-console-$$-$RANDOM-${#TC_SOCKS[@]}"
	TC_SOCKS+=("$TC_SOCK")
	tc_tmux new-session -d -s tc -x "${TC_COLS:-120}" -y "${TC_ROWS:-40}" "$cmd"
}

tc_keys() { tc_tmux send-keys -t tc "$@"; }
tc_type() { tc_tmux send-keys -t tc -l -- "$1"; }
tc_screen() { tc_tmux capture-pane -p -t tc; }

tc_wait() {
	local re=$1 secs=${2:-10} i
	for ((i = 0; i < secs * 20; i++)); do
		if tc_screen | grep -Eq -- "$re"; then
			return 0
		fi
		sleep 0.05
	done
	echo "timed out after ${secs}s waiting for /$re/ on the screen:" >&2
	tc_screen >&2
	return 1
}

# t_ok/t_fail around tc_wait
tc_expect() {
	local name=$1 re=$2 secs=${3:-10}
	if tc_wait "$re" "$secs"; then t_ok "$name"; else t_fail "$name"; fi
}

tc_console_pid() {
	local sh
	sh=$(tc_tmux list-panes -t tc -F '#{pane_pid}')
	pgrep -P "$sh" -x tau-gateway
}
