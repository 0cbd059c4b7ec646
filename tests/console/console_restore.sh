#!/usr/bin/env bash
# Every exit path restores the terminal: q, SIGTERM, SIGHUP, SIGINT, and a
# start-up error.  Checked in the pane after exit with stty (icanon, echo)
# and the tmux pane state (normal screen, cursor shown).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/tmux_helpers.bash"

check_restored() {
	local what=$1 status=$2
	tc_expect "$what: exit status $status" "CONSOLE_EXIT=$status"
	local stty
	stty=$(tc_screen | grep '^STTY')
	t_match "$what: icanon back on" '(^| )icanon( |$)' "$stty"
	t_match "$what: echo back on" '(^| )echo( |$)' "$stty"
	t_match "$what: isig back on" '(^| )isig( |$)' "$stty"
	t_eq "$what: normal screen (rmcup)" "0" "$(tc_tmux display-message -p -t tc '#{alternate_on}')"
	t_eq "$what: cursor visible (cnorm)" "1" "$(tc_tmux display-message -p -t tc '#{cursor_flag}')"
	t_eq "$what: keypad transmit off (rmkx)" "0" "$(tc_tmux display-message -p -t tc '#{keypad_cursor_flag}')"
}

restart() {
	tc_stop
	tc_start "$@"
	tc_expect "console up" 'Service (RUNNING|NO STATE YET)'
}

tc_start
tc_expect "console up" 'Service (RUNNING|NO STATE YET)'
t_eq "curses uses the alternate screen" "1" "$(tc_tmux display-message -p -t tc '#{alternate_on}')"
tc_keys q
check_restored "q" 0

for sig in TERM HUP INT; do
	restart
	pid=$(tc_console_pid)
	kill -"$sig" "$pid"
	case $sig in TERM) st=143 ;; HUP) st=129 ;; INT) st=130 ;; esac
	check_restored "SIG$sig" "$st"
	t_contains "SIG$sig: message printed after endwin" "console terminated by" "$(tc_screen)"
done

# a prompt open at the time of the signal
restart
tc_keys :
tc_type "half typed"
pid=$(tc_console_pid)
kill -TERM "$pid"
check_restored "SIGTERM with an open prompt" 143

# a fatal start-up error (the --console-log file cannot be opened)
tc_stop
tc_start --console-log "$T/no/such/dir/log"
check_restored "start-up error" 73
t_contains "the error is printed" "console-log" "$(tc_screen)"
t_done
