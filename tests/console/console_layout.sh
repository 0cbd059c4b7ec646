#!/usr/bin/env bash
# The header, gauges, event rows, colours and times (issue 12, defects 8
# and 9, section 3), in one session resized through 120x35, 80x24, 40x10:
# - the header wraps by priority instead of cutting: Health stays at 80
#   columns and below, and at 40x10 service, gate, health and (while it
#   runs) the server are all there;
# - monochrome gauges (NO_COLOR, TERM=dumb) tell their level by character:
#   '#' breached (the fullest-looking bar), '=' used, '.' free;
# - the event list has column heads, the rollout reason and the reason
#   codes in columns of their own (as wide as the rows in view need, so the
#   codes show at 80 columns too), a relative age that moves on its own,
#   and the date for events of another day;
# - Enter on an event shows ISO 8601 beside unix ms;
# - HOLD has one colour: the same in the header and in the rows.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/tmux_helpers.bash"

# failure streak 2/2 (breached), retryable failures 1/2 (used), queue 0/64
for i in 1 2; do
	"$TAU_BIN" --gateway-contract-runner --gateway-fixture "$FIXTURES/mixed-outcomes.json" --gateway-state-dir "$SD" >/dev/null
done
"$TAU_BIN" --gateway-service-stop --gateway-service-stop-reason maintenance_window --gateway-state-dir "$SD" >/dev/null
# two events of other days (the file is the runtime's; these are as it writes them)
now_ms=$(($(date +%s) * 1000))
yday_ms=$((now_ms - 86400000))
printf '{"timestamp_unix_ms":%s,"kind":"lifecycle","transition":"start","service_status":"running","reason":"yesterday_start"}\n' "$yday_ms" >>"$SD/runtime-events.jsonl"
printf '{"timestamp_unix_ms":1700000000000,"kind":"lifecycle","transition":"stop","service_status":"stopped","reason":"old_year_stop"}\n' >>"$SD/runtime-events.jsonl"
yday=$(TZ=UTC date -d "@$((yday_ms / 1000))" '+%m-%d %H:%M')

# ---- colour, UTF-8 --------------------------------------------------------
TC_COLS=120 TC_ROWS=35 TC_ENV="LC_ALL=C.UTF-8 TZ=UTC" tc_start \
	--gateway-openresponses-bind 127.0.0.1:0 --gateway-openresponses-auth-token layout-token
tc_expect "120x35: the header on one line" 'Service STOPPED \(last stop: maintenance_window\) +Rollout HOLD service_stopped +Health degraded'
s=$(tc_screen)
t_match "column heads over the event list" '^ TIME +AGE +KIND +GATE +REASON +CODES$' "$s"
t_match "rollout reason and reason codes in separate columns" \
	' cycle +HOLD +malformed_input_observed +malformed_inputs_observed,retry_attempt' "$s"
t_match "a relative age in the rows" '^ [0-9:]{8} +[0-9]+[smhd] +lifecycle +stop +maintenance_window' "$s"
t_match "an event of yesterday shows its date" "^ $yday +[0-9]+[hd] +lifecycle +start +yesterday_start" "$s"
t_match "an event of another year shows the year" '^ 2023-11-14 +[0-9]+d +lifecycle +stop +old_year_stop' "$s"
e=$(tc_tmux capture-pane -p -e -t tc)
head_hold=$(printf '%s\n' "$e" | grep -a 'Rollout' | grep -ao $'\e\\[3[0-7]mHOLD' | head -1)
row_hold=$(printf '%s\n' "$e" | grep -a ' cycle ' | grep -ao $'\e\\[3[0-7]mHOLD' | head -1)
t_eq "HOLD is red in the header" $'\e[31mHOLD' "$head_hold"
t_eq "HOLD in the rows has the header's colour" "$head_hold" "$row_hold"

# the age moves with no input and no new event
tc_keys G
"$TAU_BIN" --gateway-service-start --gateway-state-dir "$SD" >/dev/null
tc_expect "a new event at age 0s or 1s" '^ [0-9:]{8} +[01]s +lifecycle +start' 3
tc_expect "its age moves on its own" '^ [0-9:]{8} +[2-4]s +lifecycle +start' 4

# Enter on the oldest shown event of 2023: ISO 8601 beside the unix ms
tc_keys /
tc_type old_year
tc_keys Enter
tc_expect "filter to the 2023 event" "Events 1 matching 'old_year'"
tc_keys Enter
tc_expect "detail: ISO 8601 beside unix ms" '"timestamp_unix_ms": 1700000000000,  \(2023-11-14T22:13:20\.000\+00:00\)'
tc_keys Escape
tc_keys /
tc_keys C-u Enter
tc_expect "filter cleared" 'Events [0-9]+ +following'

# ---- the header at 80x24 and 40x10 ---------------------------------------
"$TAU_BIN" --gateway-service-stop --gateway-service-stop-reason maintenance_window --gateway-state-dir "$SD" >/dev/null
tc_tmux resize-window -t tc -x 80 -y 24
tc_expect "80x24: service and gate on the first line" '^ Service STOPPED \(last stop: maintenance_window\) +Rollout HOLD service_stopped$'
s=$(tc_screen)
t_match "80x24: health wrapped onto the second, not cut" '^ Health degraded$' "$s"
t_match "80x24: columns fit the rows in view, so the codes show too" \
	' cycle +HOLD +malformed_input_observed +malformed_inputs_' "$s"
tc_tmux resize-window -t tc -x 40 -y 10
tc_expect "40x10: service" '^ Service STOPPED'
s=$(tc_screen)
t_match "40x10: the gate with its reason" '^ Rollout HOLD service_stopped' "$s"
t_match "40x10: health" 'Health degraded' "$s"
tc_keys w
tc_expect "40x10: the server line once it runs" 'Server 127\.0\.0\.1:[0-9]+'
s=$(tc_screen)
t_match "40x10 with the server: still service, gate and health" \
	'Service [A-Z]+(.|\n)*Rollout HOLD(.|\n)*Health degraded' "$(printf '%s' "$s" | tr '\n' ' ')"
tc_keys w
tc_expect "the server stops" 'server stopped'
tc_stop

# ---- monochrome gauges ----------------------------------------------------
TC_COLS=120 TC_ROWS=35 TC_ENV="LC_ALL=C.UTF-8 NO_COLOR=1" tc_start
tc_expect "NO_COLOR: a breached bar is all '#'" '^ Failure streak +#{40} 2/2'
s=$(tc_screen)
t_match "NO_COLOR: a used bar '=' then '.'" '^ Retryable failures +={20}\.{20} 1/2' "$s"
t_match "NO_COLOR: an empty bar '.'" '^ Queue depth +\.{40} 0/64' "$s"
tc_keys q
tc_expect "quit" 'CONSOLE_EXIT=0'
tc_stop

TC_COLS=80 TC_ROWS=24 TC_ENV="TERM=dumb LC_ALL=C.UTF-8" tc_start
tc_expect "TERM=dumb: a breached bar is all '#'" '^ Failure streak +#+ 2/2'
t_match "TERM=dumb: a used bar '=' then '.'" '^ Retryable failures +=+\.+ 1/2' "$(tc_screen)"
tc_keys q
tc_expect "quit" 'CONSOLE_EXIT=0'
t_done
