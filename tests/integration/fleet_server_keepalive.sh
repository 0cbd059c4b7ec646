#!/usr/bin/env bash
# fleet_server_keepalive: the fleet's libpq connections over TCP carry TCP
# keepalive, so a database host that vanishes without closing them is
# noticed.  A private cluster listening on 127.0.0.1 (an ephemeral port);
# the kernel's view of each connection (`ss -o`: timer:(keepalive,...)) is
# the evidence, not the gateway's word.
#  - a server's connections (its fleet thread's, and a stored-response
#    connection once a store:true request ran) all have a keepalive timer,
#    under a minute (the gateway's 10 s idle);
#  - a connection string's own keepalives_idle=77 wins (a minute or more);
#  - keepalives=0 in the connection string turns it off (no timer).
. "${TAU_SOURCE_DIR:-$(dirname "$0")/../..}/tests/lib.sh"
. "$TAU_SOURCE_DIR/tests/integration/lib/pg.sh"
. "$TAU_SOURCE_DIR/tests/integration/lib/http.sh"
TOKEN=fleet-keepalive-token-41d0
# a private cluster whatever scripts/test exported: this test restarts it on TCP
pg_private
cd "$T" || exit 1
PGUSER_=$(sed -n 's/.*[?&]user=\([^&]*\).*/\1/p' <<<"$TAU_TEST_PG_URL")
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
pg_server_stop
pg_as sh -c "printf '%s\n' 'host all all 127.0.0.1/32 trust' >>'$PG_DIR/data/pg_hba.conf'"
# shellcheck disable=SC2016
t_check "PostgreSQL listens on 127.0.0.1:$PORT" pg_as "$(pg_bindir)/pg_ctl" -D "$PG_DIR/data" \
	-l "$PG_DIR/server.log" -w -t 30 -o "-c listen_addresses=127.0.0.1 -c port=$PORT \
	-c unix_socket_directories='$PG_DIR'" start
TCP_URL="postgresql://$PGUSER_@127.0.0.1:$PORT/postgres"

# ka_conns PID: the established TCP connections of PID to the database, one
# line each, with ss's timer column (empty when there is none)
ka_conns() {
	ss -tnpoH state established "( dport = :$PORT )" | grep "pid=$1," |
		sed -n 's/.*users:([^)]*))\( timer:(\([^)]*\))\)\{0,1\}.*/[\2]/p'
}
# ka_server VAR URL: a server on URL; sets VAR and ADDR
ka_server() { h_gateway "$1" --gateway-state-url "$2"; }
# ka_long TIMER: true when the timer has a minute or more left
# ("keepalive,1min16sec,0"; under a minute ss prints seconds, and iproute2
# 6.1 labels them "ms": "keepalive,9.988ms,0" is 9.988 s)
ka_long() {
	[[ $1 == *min* ]]
}

# --- the defaults ----------------------------------------------------------------------
t_check "a server on TCP starts" ka_server S "$TCP_URL"
h_post '{"model":"local/echo","input":"over tcp"}'
t_eq "store:true over TCP (a stored-response connection opens)" 200 "$HS"
ka_conns "$S" >"$T/s.conns"
echo "# its connections: $(paste -sd' ' "$T/s.conns")"
t_check "it holds two or more connections (fleet thread, stored responses)" \
	test "$(wc -l <"$T/s.conns")" -ge 2
t_eq "every one has a keepalive timer" "" "$(grep -v '^\[keepalive,' "$T/s.conns")"
over=0
while read -r timer; do
	ka_long "$timer" && over=$((over + 1))
done <"$T/s.conns"
t_eq "under a minute (the gateway's 10 s idle, not the kernel's 2 h)" 0 "$over"

# --- the connection string's own values win ---------------------------------------------
t_check "a server with keepalives_idle=77 starts" ka_server S77 "$TCP_URL?keepalives_idle=77"
h_post '{"model":"local/echo","input":"over tcp, 77"}'
ka_conns "$S77" >"$T/s77.conns"
echo "# its connections: $(paste -sd' ' "$T/s77.conns")"
low=0
while read -r timer; do
	ka_long "$timer" || low=$((low + 1))
done <"$T/s77.conns"
t_check "it holds connections" test -s "$T/s77.conns"
t_eq "each waits the URL's 77 s (a minute or more), not 10 s" 0 "$low"

t_check "a server with keepalives=0 starts" ka_server S0 "$TCP_URL?keepalives=0"
h_post '{"model":"local/echo","input":"over tcp, no keepalive"}'
ka_conns "$S0" >"$T/s0.conns"
echo "# its connections: $(paste -sd' ' "$T/s0.conns")"
t_check "it holds connections" test -s "$T/s0.conns"
t_eq "none has a keepalive timer" "" "$(grep '^\[keepalive' "$T/s0.conns")"
t_done
