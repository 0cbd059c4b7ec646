#!/usr/bin/env bash
# Long output is readable (issue 12, defect 2) and an overlay covers what
# is under it (defect 13), at 80x24 and 40x10:
# - an event's JSON wraps a long value (its end shows); W stops wrapping
#   and h/l scroll sideways to the end and back;
# - the help scrolls to its last line (End) and says which rows show;
# - no character drawn underneath shows beside an overlay's border;
# - ':' while an overlay is open closes it and opens the prompt;
# - `inspect ops-bot` opens as "key  value" rows (every count shows), the
#   message line marks its cut, the log view holds the reply whole;
# - at 40x10 the table scrolls to its last row;
# - two-column characters wrap whole and leave nothing beside the border.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/tmux_helpers.bash"

TAIL="end_of_reason_$$"
LONG="long_reason_$(printf 'x%.0s' {1..150})_$TAIL"
"$TAU_BIN" --gateway-contract-runner --gateway-fixture "$FIXTURES/mixed-outcomes.json" \
	--gateway-state-dir "$SD" >/dev/null
"$TAU_BIN" --gateway-service-stop --gateway-service-stop-reason "$LONG" --gateway-state-dir "$SD" >/dev/null

# Every screen row from the overlay's top border to its bottom one holds
# nothing but blanks outside the border.
B='(\||\+|│|┌|┐|└|┘)'
box_clean() {
	local rows
	rows=$(printf '%s\n' "$1" | awk '/(\+|┌|└)(-|─)/ { n++; print; if (n == 2) exit; next } n == 1')
	[ -n "$rows" ] || { echo "no overlay on the screen" >&2; return 1; }
	if printf '%s\n' "$rows" | grep -Evq -- "^ *$B.*$B *\$"; then
		echo "text beside the overlay:" >&2
		printf '%s\n' "$rows" | grep -Ev -- "^ *$B.*$B *\$" >&2
		return 1
	fi
}
repeat() { local i; for ((i = 0; i < $2; i++)); do tc_keys "$1"; done; }

TC_COLS=80 TC_ROWS=24 tc_start
tc_expect "console up at 80x24" 'Service STOPPED'

# the newest event (the stop) with its long reason
tc_keys Enter
tc_expect "Enter: the event's JSON" '"transition": "stop"'
tc_expect "a long value wraps: its end shows" "${TAIL}\""
t_check "the JSON overlay covers what is under it" box_clean "$(tc_screen)"
tc_keys W
tc_expect "W: no wrap (the bottom border says so)" 'col 1 h/l'
t_eq "W: the long line is cut" "0" "$(tc_screen | grep -c "$TAIL")"
repeat l 25
tc_expect "l scrolls sideways to the line's end" "${TAIL}\""
t_match "the bottom border names the column" 'col [1-9][0-9]+ h/l' "$(tc_screen)"
t_check "scrolled sideways, still nothing beside the border" box_clean "$(tc_screen)"
repeat h 25
tc_expect "h scrolls back" 'col 1 h/l'
tc_keys W
tc_expect "W again: wrapping" 'W nowrap'
tc_keys Escape

# the help is longer than 24 rows: it scrolls, and says where it is
tc_keys '?'
tc_expect "help open" 'Help \(j/k'
tc_expect "help: the rows shown in the bottom border" ' 1-[0-9]+/[0-9]+ '
tc_keys End
tc_expect "End: the help's last line" 'Mouse: a click selects'
t_check "the help covers what is under it" box_clean "$(tc_screen)"

# ':' over an overlay: the prompt, the overlay gone
tc_keys :
tc_expect "':' over an overlay opens the prompt" '^:'
t_eq "the overlay is closed" "0" "$(tc_screen | grep -c 'Help (j/k')"
tc_type "inspect ops-bot"
tc_keys Enter
tc_expect "inspect: a table" 'channel store inspect'
s=$(tc_screen)
for k in transport channel_id log_records context_records invalid_log_lines artifact_records \
	expired_artifacts memory_exists memory_bytes; do
	t_match "inspect table row: $k" "\\| +$k +[^ =]+|│ +$k +[^ =]+" "$s"
done
t_match "the message line marks its cut" '\(L: log\)' "$s"
t_check "the table covers what is under it" box_clean "$s"
tc_keys Escape L
tc_expect "log view: the reply whole, wrapped" 'memory_exists=true memory_bytes=[0-9]+'
t_match "log view: its head too" 'channel store inspect: transport=gateway' "$(tc_screen)"
tc_keys Escape

# 40x10: the same table in six rows, scrolled to its end
tc_tmux resize-window -t tc -x 40 -y 10
tc_expect "40x10 layout" 'Service STOPPED'
tc_keys :
tc_wait '^:' 5 || true
tc_type "inspect ops-bot"
tc_keys Enter
tc_expect "40x10: the table's first rows, and how many" ' 1-[0-9]+/[0-9]+ '
t_eq "40x10: not its last row yet" "0" "$(tc_screen | grep -c memory_bytes)"
tc_keys End
tc_expect "40x10: End shows the last row" 'memory_bytes +[0-9]+'
t_check "40x10: nothing beside the border" box_clean "$(tc_screen)"
tc_keys Escape

tc_keys q
tc_expect "q quits" 'CONSOLE_EXIT=0'

# wide characters (two columns each) under and inside an overlay, UTF-8 locale
"$TAU_BIN" --gateway-service-start --gateway-state-dir "$SD" >/dev/null
"$TAU_BIN" --gateway-service-stop --gateway-service-stop-reason "wide_$(printf '\xe6\xbc\xa2%.0s' {1..70})_end_wide" \
	--gateway-state-dir "$SD" >/dev/null
TC_ENV="LC_ALL=C.UTF-8" TC_COLS=80 TC_ROWS=24 tc_start
tc_expect "UTF-8 console up" 'Service STOPPED'
tc_keys Enter
tc_expect "wide characters wrap: the reason's end shows" 'end_wide"'
t_check "wide characters: nothing beside the border" box_clean "$(tc_screen)"
tc_keys Escape q
tc_expect "q quits" 'CONSOLE_EXIT=0'
t_done
