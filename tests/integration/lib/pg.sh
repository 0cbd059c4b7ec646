# shellcheck shell=bash
# tests/integration/lib/pg.sh - a throwaway PostgreSQL for the fleet tests
# and for scripts/test.  Needs no tests/lib.sh for the cluster functions;
# pg_ensure and pg_createdb are for tests (after tests/lib.sh).
#
#   pg_bindir            the newest installed /usr/lib/postgresql/<v>/bin
#   pg_cluster_start     initdb into a fresh temp dir ($PG_DIR) and start the
#                        server on a Unix socket in that dir, no TCP port
#                        (listen_addresses=''), as user postgres when run as
#                        root (PostgreSQL refuses root; the dir is postgres's).
#                        Local logins are trusted except the role
#                        $TAU_TEST_PG_PW_USER, which needs its password
#                        (scram-sha-256), for the wrong-password test.  Sets
#                        and exports TAU_TEST_PG_URL, TAU_TEST_PG_PW_USER and
#                        TAU_TEST_PG_PW_URL (that role's URL with the right
#                        password).  Settings are PostgreSQL's defaults
#                        (fsync and synchronous_commit on); initdb skips its
#                        own syncs (--no-sync), which a throwaway can afford.
#   pg_cluster_stop      pg_ctl stop -m fast, then the postmaster's PID if it
#                        is still there; removes $PG_DIR
#   pg_server_stop       stops the server of $PG_DIR and keeps its data
#   pg_server_start      starts it again (as pg_cluster_start does)
#   pg_private           in a test that stops its server: a private cluster
#                        whatever scripts/test exported, stopped at exit
#   pg_ensure            in a test: uses $TAU_TEST_PG_URL when set (scripts/test
#                        starts one cluster for the whole run), else starts a
#                        private cluster and stops it at exit
#   pg_url_db NAME       $TAU_TEST_PG_URL with its database replaced by NAME
#   pg_session_text URL WHERE
#                        the history of the tau_session rows WHERE selects
#                        (e.g. "key = 'k'"): body, then the rows of
#                        tau_session_line in seq order (schema 6), one
#                        output row per session
#   pg_createdb VAR NAME (re)creates database NAME and sets VAR to its URL; the
#                        database is dropped at exit
#   pg_sql URL SQL...    runs each SQL with psql (no psqlrc, stop on error), prints
#                        unaligned tuples only

pg_bindir() {
	local d
	d=$(for b in /usr/lib/postgresql/*/bin; do [ -x "$b/initdb" ] && echo "$b"; done | sort -V | tail -1)
	[ -n "$d" ] || {
		echo "pg.sh: no PostgreSQL server installed (/usr/lib/postgresql/*/bin/initdb); run scripts/setup.sh" >&2
		return 1
	}
	echo "$d"
}

# pg_as CMD...: runs CMD as the cluster's owner (postgres when we are root)
pg_as() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

TAU_TEST_PG_PW_USER_DEFAULT=tau_pw_user
TAU_TEST_PG_PW_SECRET=tau-right-secret-7c2e

# pg_server_start / pg_server_stop: the server of $PG_DIR on its Unix
# socket (no TCP port), its data kept across a stop
pg_server_start() {
	pg_as "$(pg_bindir)/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 30 \
		-o "-c listen_addresses='' -c unix_socket_directories='$PG_DIR' -c max_connections=100" \
		start >"$PG_DIR/pg_ctl.log" 2>&1
}
pg_server_stop() {
	pg_as "$(pg_bindir)/pg_ctl" -D "$PG_DIR/data" -m fast -w -t 20 stop >/dev/null 2>&1
}

pg_cluster_start() {
	local bin super
	bin=$(pg_bindir) || return 1
	PG_DIR=$(mktemp -d "${TMPDIR:-/tmp}/tau-pg.XXXXXX") || return 1
	super=$(id -un)
	if [ "$(id -u)" -eq 0 ]; then
		super=postgres
		chown postgres: "$PG_DIR"
	fi
	if ! pg_as "$bin/initdb" --no-sync -D "$PG_DIR/data" -U "$super" --auth=trust -E UTF8 \
		--locale=C >"$PG_DIR/initdb.log" 2>&1; then
		echo "pg.sh: initdb failed:" >&2
		tail -5 "$PG_DIR/initdb.log" >&2
		return 1
	fi
	TAU_TEST_PG_PW_USER=$TAU_TEST_PG_PW_USER_DEFAULT
	# the password role first: pg_hba takes the first matching line
	pg_as sh -c "printf '%s\n' 'local all $TAU_TEST_PG_PW_USER scram-sha-256' 'local all all trust' \
		>'$PG_DIR/data/pg_hba.conf'"
	if ! pg_server_start; then
		echo "pg.sh: the server did not start:" >&2
		tail -5 "$PG_DIR/server.log" >&2
		return 1
	fi
	TAU_TEST_PG_URL="postgresql:///postgres?host=$PG_DIR&user=$super"
	TAU_TEST_PG_PW_URL="postgresql:///postgres?host=$PG_DIR&user=$TAU_TEST_PG_PW_USER&password=$TAU_TEST_PG_PW_SECRET"
	export TAU_TEST_PG_URL TAU_TEST_PG_PW_USER TAU_TEST_PG_PW_URL
	pg_sql "$TAU_TEST_PG_URL" \
		"CREATE ROLE $TAU_TEST_PG_PW_USER LOGIN PASSWORD '$TAU_TEST_PG_PW_SECRET'" >/dev/null
}

pg_cluster_stop() {
	[ -n "${PG_DIR:-}" ] && [ -d "$PG_DIR" ] || return 0
	local bin pid
	bin=$(pg_bindir) || return 0
	pg_as "$bin/pg_ctl" -D "$PG_DIR/data" -m fast -w -t 20 stop >/dev/null 2>&1
	if [ -f "$PG_DIR/data/postmaster.pid" ]; then
		pid=$(head -1 "$PG_DIR/data/postmaster.pid")
		[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null
	fi
	rm -rf "$PG_DIR"
	PG_DIR=
}

pg_sql() {
	local url=$1 a
	shift
	a=()
	for s in "$@"; do a+=(-c "$s"); done
	PGOPTIONS='-c client_min_messages=warning' psql -X -q -v ON_ERROR_STOP=1 -At -d "$url" "${a[@]}"
}

# PG_SESSION_TEXT: the SQL of a session's whole history (s: its tau_session row)
PG_SESSION_TEXT="s.body || coalesce((SELECT string_agg(l.lines, '' ORDER BY l.seq)
	FROM tau_session_line l WHERE l.deployment = s.deployment AND l.key = s.key), '')"
pg_session_text() {
	pg_sql "$1" "SELECT $PG_SESSION_TEXT FROM tau_session s WHERE $2"
}

pg_url_db() {
	printf '%s\n' "$TAU_TEST_PG_URL" | sed -E "s#^(postgres(ql)?://[^/?]*)(/[^?]*)?#\\1/$1#"
}

PG_TEST_DBS=()
pg_test_cleanup() {
	local db
	for db in "${PG_TEST_DBS[@]}"; do
		pg_sql "$TAU_TEST_PG_URL" "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null 2>&1
	done
	[ -n "${PG_PRIVATE:-}" ] && pg_cluster_stop
	t_cleanup
}

pg_private() {
	unset TAU_TEST_PG_URL
	PG_PRIVATE=1
	pg_cluster_start || { t_fail "start a private cluster"; t_done; exit 1; }
	trap pg_test_cleanup EXIT
}

pg_ensure() {
	if [ -z "${TAU_TEST_PG_URL:-}" ]; then
		PG_PRIVATE=1
		pg_cluster_start || exit 1
	fi
	trap pg_test_cleanup EXIT
}

pg_createdb() {
	local var=$1 db=$2
	pg_sql "$TAU_TEST_PG_URL" "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" "CREATE DATABASE \"$db\"" >/dev/null ||
		return 1
	PG_TEST_DBS+=("$db")
	printf -v "$var" '%s' "$(pg_url_db "$db")"
}
