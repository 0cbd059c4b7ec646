#!/usr/bin/env bash
# gateway_pg_errors: fleet mode's refusals.
#  - a bad URL, an unreachable server, a wrong password (in the URL or in
#    PGPASSWORD) and a missing database exit 69 with libpq's reason, and
#    the password appears nowhere in stdout or stderr;
#  - a database whose schema is newer than the binary's exits 65, naming
#    both versions, and is left exactly as it was; a stop reason that is not
#    UTF-8, which the database refuses, exits 65 and writes nothing;
#  - a state directory and a URL together exit 64 (flags or environment),
#    as do --gateway-deployment without a URL and a bad deployment name;
#  - the actions fleet mode does not cover yet (runner, server,
#    channel-store inspect) exit 64 naming the action, and touch no state
#    directory.
# Uses $TAU_TEST_PG_URL (scripts/test starts one cluster) or starts its own.
. "${TAU_SOURCE_DIR:-$(dirname "$0")/../..}/tests/lib.sh"
. "$TAU_SOURCE_DIR/tests/integration/lib/pg.sh"
pg_ensure
pg_createdb URL "tau_errors_$$" || { t_fail "create the test database"; t_done; exit 1; }

# run NAME ARGS...: runs the gateway, leaving $T/NAME.out/.err; returns its status
run() {
	local name=$1
	shift
	timeout 30 "$TAU_BIN" "$@" >"$T/$name.out" 2>"$T/$name.err"
}
# refused NAME STATUS REASON SECRET ARGS...
refused() {
	local name=$1 want=$2 reason=$3 secret=$4
	shift 4
	run "$name" "$@"
	t_eq "$name: exit $want" "$want" "$?"
	t_contains "$name: says why" "$reason" "$(cat "$T/$name.err")"
	t_eq "$name: one line on stderr" 1 "$(wc -l <"$T/$name.err")"
	t_eq "$name: nothing on stdout" "" "$(cat "$T/$name.out")"
	if [ -n "$secret" ]; then
		if grep -qF -- "$secret" "$T/$name.out" "$T/$name.err"; then
			t_fail "$name: the password was printed"
		else
			t_ok "$name: the password is not printed"
		fi
	fi
}

# --- 69: the database cannot be reached -----------------------------------------
refused bad_uri 69 'invalid integer value "notaport" for connection option "port"' 'Sekr1t-uri' \
	--gateway-state-url 'postgresql://tau:Sekr1t-uri@localhost:notaport/x' --gateway-service-status
refused bad_keyword 69 'invalid connection option "bogus_option"' 'Sekr1t-kv' \
	--gateway-state-url "host=$T password=Sekr1t-kv bogus_option=1" --gateway-service-start
refused bad_quoted 69 'unterminated quoted string' "Sekr1t q" \
	--gateway-state-url "host=$T password='Sekr1t q" --gateway-service-status
refused encoded 69 'invalid integer value' 'p@ss%word' \
	--gateway-state-url 'postgresql://tau:p%40ss%25word@localhost:x/y' --gateway-service-status
t_eq "encoded: nor its encoded form" "" "$(grep -F 'p%40ss%25word' "$T/encoded.err")"
# libpq quotes a token it cannot decode, password included: redacted
refused pct_userinfo 69 'invalid percent-encoded token: "***"' 'Sekr%zzit' \
	--gateway-state-url 'postgresql://gw:Sekr%zzit@localhost/tau' --gateway-service-status
refused pct_query 69 'invalid percent-encoded token: "***"' 'Qu3ry%zz' \
	--gateway-state-url 'postgresql://gw@localhost/tau?password=Qu3ry%zz&sslmode=disable' \
	--gateway-service-status
# an unencoded '/' in a URI password: libpq quotes the piece before it as
# the port, which is redacted too
refused slash_password 69 'for connection option "port"' 'Pr0d' \
	--gateway-state-url 'postgres://gw:Pr0d/Secret@localhost/tau' --gateway-service-status
refused unreachable 69 'No such file or directory' 'Sekr1t-sock' \
	--gateway-state-url "postgresql:///postgres?host=$T/no-server-here&password=Sekr1t-sock" \
	--gateway-service-status
t_contains "unreachable: the message is libpq's, prefixed" "tau-gateway: cannot connect to the state database: connection to server on socket" \
	"$(cat "$T/unreachable.err")"
refused missing_db 69 "database \"tau_no_such_db_$$\" does not exist" '' \
	--gateway-state-url "$(pg_url_db "tau_no_such_db_$$")" --gateway-status-inspect
if [ -n "${TAU_TEST_PG_PW_URL:-}" ]; then
	wrong=${TAU_TEST_PG_PW_URL%%password=*}password=Wr0ng-Secret-url
	refused wrong_password 69 "password authentication failed for user \"$TAU_TEST_PG_PW_USER\"" \
		'Wr0ng-Secret-url' --gateway-state-url "$wrong" --gateway-service-start
	PGPASSWORD=Wr0ng-Secret-env refused wrong_pgpassword 69 'password authentication failed' \
		'Wr0ng-Secret-env' --gateway-state-url "${TAU_TEST_PG_PW_URL%%&password=*}" --gateway-service-start
	# the right password gets in (so the refusals above are about the password)
	run right_password --gateway-state-url "$TAU_TEST_PG_PW_URL" --gateway-deployment pw --gateway-service-status
	right=$?
	# the role cannot create tables in postgres's public schema: a 69 from the
	# database that still names no password; either way the login succeeded
	t_eq "right password: no authentication failure" "" "$(grep 'authentication failed' "$T/right_password.err")"
	t_eq "right password: not printed" "" "$(grep -F "${TAU_TEST_PG_PW_URL##*password=}" "$T/right_password.out" "$T/right_password.err")"
	[ "$right" -eq 0 ] || [ "$right" -eq 69 ]
	t_eq "right password: 0 or a database refusal" 0 "$?"
else
	echo "# skipped: the wrong-password cases need TAU_TEST_PG_PW_URL (a password role; pg.sh makes one)"
fi
t_eq "libpq's service files and PG* variables work: PGDATABASE names the database" 0 \
	"$(PGDATABASE="tau_errors_$$" run pgdatabase --gateway-state-url "${TAU_TEST_PG_URL%%\?*}?${TAU_TEST_PG_URL#*\?}" \
		--gateway-service-status >/dev/null; echo $?)"

run ok_deployment --gateway-state-url "$URL" --gateway-deployment "a-0_$(printf 'b%.0s' $(seq 1 44))" --gateway-service-status
t_eq "a 48-byte deployment name of a-z 0-9 _ - is accepted" 0 "$?"

# --- 65: text the database refuses (not UTF-8) -----------------------------------------
run before_bad_reason --gateway-state-url "$URL" --gateway-deployment utf --gateway-service-start
refused bad_reason 65 'invalid byte sequence for encoding "UTF8"' '' \
	--gateway-state-url "$URL" --gateway-deployment utf --gateway-service-stop \
	--gateway-service-stop-reason "$(printf 'bad\377reason')"
t_contains "bad_reason: nothing was written" "service_status=running" \
	"$("$TAU_BIN" --gateway-state-url "$URL" --gateway-deployment utf --gateway-service-status)"
t_eq "bad_reason: no event row either" 1 "$(pg_sql "$URL" "SELECT count(*) FROM tau_event WHERE deployment = 'utf'")"

# --- 65: a newer schema is refused and left alone ---------------------------------
run setup --gateway-state-url "$URL" --gateway-service-start
t_eq "setup: start" 0 "$?"
pg_sql "$URL" "UPDATE tau_schema SET version = version + 1" >/dev/null
dump() { pg_sql "$URL" "SELECT version FROM tau_schema" "SELECT name, md5(posture) FROM tau_deployment ORDER BY 1" \
	"SELECT count(*), max(seq) FROM tau_event" "SELECT count(*) FROM pg_tables WHERE tablename LIKE 'tau_%'"; }
before=$(dump)
for a in --gateway-service-start --gateway-service-status --gateway-status-inspect; do
	refused "newer_schema$a" 65 "has schema version 5, newer than this tau-gateway knows (4); refusing to touch it" '' \
		--gateway-state-url "$URL" "$a"
done
t_eq "newer schema: the database is unchanged" "$before" "$(dump)"

# --- 64: one store, and only what fleet mode covers -----------------------------------
refused both_flags 64 "--gateway-state-dir cannot be used with --gateway-state-url" '' \
	--gateway-state-dir "$T/d" --gateway-state-url "$URL" --gateway-service-status
TAU_GATEWAY_STATE_DIR=$T/d refused both_env_dir 64 \
	"--gateway-state-dir (from TAU_GATEWAY_STATE_DIR) cannot be used with --gateway-state-url" '' \
	--gateway-state-url "$URL" --gateway-service-status
TAU_GATEWAY_STATE_URL=$URL refused both_env_url 64 \
	"--gateway-state-dir cannot be used with --gateway-state-url (from TAU_GATEWAY_STATE_URL)" '' \
	--gateway-state-dir "$T/d" --gateway-service-start
refused deployment_alone 64 "--gateway-deployment requires --gateway-state-url" '' \
	--gateway-deployment x --gateway-service-status
for bad in 'Upper' '-lead' 'a b' 'x/y' "$(printf 'a%.0s' $(seq 1 49))" ''; do
	refused "bad_deployment_${#bad}" 64 "invalid --gateway-deployment '$bad'" '' \
		--gateway-state-url "$URL" --gateway-deployment "$bad" --gateway-service-status
done
mkdir -p "$T/cwd" && cd "$T/cwd" || exit 1
# (the server runs in fleet mode: tests/integration/fleet_server_*.sh)
for a in --gateway-contract-runner "--channel-store-inspect gateway/a"; do
	# shellcheck disable=SC2086
	refused "not_yet${a%% *}" 64 "${a%% *} does not run on PostgreSQL yet" '' \
		--gateway-state-url "$URL" $a
	t_eq "not_yet${a%% *}: says fleet mode does not cover it" 1 \
		"$(grep -c 'fleet mode (--gateway-state-url) covers only' "$T/not_yet${a%% *}.err")"
done
# the console runs in fleet mode (tests/console/console_fleet.sh); without a
# terminal it is refused as on files
refused console_no_tty 64 "--console needs a terminal on stdin and stdout" '' \
	--gateway-state-url "$URL" --console
t_eq "the refusals made no state directory" "" "$(ls -A "$T/cwd")"
t_done
