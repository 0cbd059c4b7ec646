#!/usr/bin/env bash
# Section 5 of issue 9: the foreground server speaks systemd's notify
# protocol itself.  A python3 AF_UNIX datagram socket stands in for
# systemd: READY=1 arrives once the port is bound (a request made when it
# is seen succeeds; its STATUS= names the address), WATCHDOG=1 arrives
# again and again with WATCHDOG_USEC set, STOPPING=1 on SIGTERM, then the
# exit is clean.  An abstract socket name (@...) works too, and a
# WATCHDOG_PID naming another process means no watchdog pings.  Then
# contrib/systemd/tau-gateway.service: the settings the issue asks for,
# and `systemd-analyze verify` silent on it when systemd-analyze exists.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib/http.sh"

# notify_listen VAR ADDR: a datagram socket at ADDR (a path, or @name);
# each datagram becomes one line of $T/VAR.out, its newlines shown as '|'
notify_listen() {
	local var=$1 addr=$2
	t_spawn "$var" python3 -u -c '
import socket, sys
a = sys.argv[1]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("\0" + a[1:] if a.startswith("@") else a)
print("listening", flush=True)
while True:
    d = s.recv(4096)
    print(d.decode().replace("\n", "|"), flush=True)
' "$addr"
	t_wait_line "$T/$var.out" '^listening$' 10
}

# --- a socket path, with a watchdog ------------------------------------------------
notify_listen NL1 "$T/notify.sock"
t_spawn GW1 env NOTIFY_SOCKET="$T/notify.sock" WATCHDOG_USEC=100000 "$TAU_BIN" \
	--gateway-state-dir "$T/state" --gateway-openresponses-server \
	--gateway-openresponses-bind 127.0.0.1:0 --gateway-openresponses-auth-token "$TOKEN"
t_check "READY=1 arrives" t_wait_line "$T/NL1.out" '^READY=1\|STATUS=listening on 127\.0\.0\.1:[0-9]+$' 20
ADDR=$(sed -n 's/^READY=1|STATUS=listening on //p' "$T/NL1.out" | head -1)
h_req GET /healthz
t_eq "a request made when READY=1 is seen succeeds (the port is bound)" 200 "$HS"
t_eq "READY=1 comes after the listening line" 1 \
	"$(grep -c "^gateway openresponses server listening: .*addr=$ADDR " "$T/GW1.out")"
t_check "WATCHDOG=1 arrives repeatedly (3 pings at a 50 ms period)" \
	t_wait_line "$T/NL1.out" '^WATCHDOG=1$' 10
for ((i = 0; i < 100; i++)); do
	[ "$(grep -c '^WATCHDOG=1$' "$T/NL1.out")" -ge 3 ] && break
	sleep 0.05
done
t_eq "at least 3 WATCHDOG=1 within 5 s" yes "$([ "$(grep -c '^WATCHDOG=1$' "$T/NL1.out")" -ge 3 ] && echo yes || echo no)"
t_eq "no STOPPING=1 while it runs" 0 "$(grep -c '^STOPPING=1$' "$T/NL1.out")"
h_stop "$GW1"
t_eq "SIGTERM: exit 0" 0 "$HRC"
t_check "STOPPING=1 on SIGTERM" t_wait_line "$T/NL1.out" '^STOPPING=1$' 5
t_eq "READY=1 once, before the pings and STOPPING=1 last" "READY WATCHDOG STOPPING" \
	"$(sed 's/=.*//' "$T/NL1.out" | grep -v '^listening$' | uniq | tr '\n' ' ' | sed 's/ $//')"

# --- an abstract name; WATCHDOG_PID names another process ----------------------------
NAME="@tau-notify-test-$$-$RANDOM"
notify_listen NL2 "$NAME"
t_spawn GW2 env NOTIFY_SOCKET="$NAME" WATCHDOG_USEC=20000 WATCHDOG_PID=1 "$TAU_BIN" \
	--gateway-state-dir "$T/state2" --gateway-openresponses-server \
	--gateway-openresponses-bind 127.0.0.1:0 --gateway-openresponses-auth-token "$TOKEN"
t_check "abstract socket: READY=1 arrives" t_wait_line "$T/NL2.out" '^READY=1\|' 20
ADDR=$(sed -n 's/^READY=1|STATUS=listening on //p' "$T/NL2.out" | head -1)
h_req GET /healthz
t_eq "abstract socket: the server answers" 200 "$HS"
h_stop "$GW2"
t_eq "abstract socket: exit 0" 0 "$HRC"
t_check "abstract socket: STOPPING=1" t_wait_line "$T/NL2.out" '^STOPPING=1$' 5
t_eq "WATCHDOG_PID of another process: no WATCHDOG=1" 0 "$(grep -c '^WATCHDOG=1$' "$T/NL2.out")"

# --- no NOTIFY_SOCKET: nothing changes; a bad one is said once, not fatal ---------------
t_spawn GW3 env NOTIFY_SOCKET=relative/path "$TAU_BIN" --gateway-state-dir "$T/state3" \
	--gateway-openresponses-server --gateway-openresponses-bind 127.0.0.1:0 \
	--gateway-openresponses-auth-token "$TOKEN"
t_check "a relative NOTIFY_SOCKET: the server still starts" \
	t_wait_line "$T/GW3.out" '^gateway openresponses server listening: ' 20
t_check "a relative NOTIFY_SOCKET is reported" \
	t_wait_line "$T/GW3.err" "NOTIFY_SOCKET 'relative/path' is not an absolute path" 5
h_stop "$GW3"
t_eq "a relative NOTIFY_SOCKET: exit 0" 0 "$HRC"

# --- the unit file ---------------------------------------------------------------------
UNIT=$TAU_SOURCE_DIR/contrib/systemd/tau-gateway.service
key() { sed -n "s/^$1=//p" "$UNIT"; }
t_eq "unit: Type=notify" notify "$(key Type)"
t_match "unit: the token comes from an EnvironmentFile" '^-?/' "$(key EnvironmentFile)"
t_eq "unit: NoNewPrivileges=yes" yes "$(key NoNewPrivileges)"
t_eq "unit: ProtectSystem=strict" strict "$(key ProtectSystem)"
t_match "unit: WatchdogSec is set" '^[0-9]+' "$(key WatchdogSec)"
EXEC=$(sed -n '/^ExecStart=/,/[^\\]$/p' "$UNIT" | tr -d '\\\n')
STATE=$(printf '%s' "$EXEC" | sed -n 's/.*--gateway-state-dir \([^ ]*\).*/\1/p')
t_eq "unit: ReadWritePaths= is the state directory of ExecStart" "$STATE" "$(key ReadWritePaths)"
t_contains "unit: ExecStart runs the foreground server" "--gateway-openresponses-server" "$EXEC"
t_eq "unit: the token is not in the unit" "" "$(grep -E 'auth-token|AUTH_TOKEN=' "$UNIT" | grep -v '^#')"
# the ExecStart flags parse (everything but the token, which the env file gives)
FLAGS=$(printf '%s' "$EXEC" | sed 's/^ExecStart=[^ ]*//')
# shellcheck disable=SC2086
TAU_GATEWAY_OPENRESPONSES_AUTH_TOKEN=x "$TAU_BIN" $FLAGS --help >/dev/null 2>"$T/flags.err"
t_eq "unit: the ExecStart flags are known" "" "$(cat "$T/flags.err")"

if command -v systemd-analyze >/dev/null 2>&1; then
	# a copy that runs this build's binary, as root, with an env file and the
	# man page where `systemd-analyze verify` can find them
	mkdir -p "$T/man/man1"
	cp "$TAU_SOURCE_DIR/man/tau-gateway.1" "$T/man/man1/"
	: >"$T/tau-gateway.env"
	sed -e "s|^ExecStart=[^ ]*|ExecStart=$TAU_BIN|" -e 's/^User=.*/User=root/' -e 's/^Group=.*/Group=root/' \
		-e "s|^EnvironmentFile=.*|EnvironmentFile=$T/tau-gateway.env|" "$UNIT" >"$T/tau-gateway.service"
	MANPATH=$T/man systemd-analyze verify "$T/tau-gateway.service" >"$T/verify.out" 2>&1
	t_eq "systemd-analyze verify: exit 0" 0 "$?"
	t_eq "systemd-analyze verify: no warnings" "" "$(cat "$T/verify.out")"
	# the failing branch: a misspelt value is reported
	sed 's/^Type=notify/Type=notifyy/' "$T/tau-gateway.service" >"$T/bad.service"
	MANPATH=$T/man systemd-analyze verify "$T/bad.service" >"$T/verify.out" 2>&1
	t_contains "systemd-analyze verify reports a bad Type=" "Failed to parse service type" "$(cat "$T/verify.out")"
else
	echo "# systemd-analyze not installed: the unit is checked by its keys only"
fi
t_done
