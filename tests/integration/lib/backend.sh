# shellcheck shell=bash
# tests/integration/lib/backend.sh - one test list, two backends.  Source
# it after tests/lib.sh (http.sh sources it).  A test whose script carries
# the line "# backends: files pg" is registered twice by tests/tests.cmake:
# <name> (the file store, as ever) and pg.<name> with TAU_TEST_BACKEND=pg,
# where every gateway the test starts keeps its state in a fresh database
# of the throwaway cluster ($TAU_TEST_PG_URL, see pg.sh) instead of a
# state directory.  Without TAU_TEST_PG_URL the pg variant skips (exit 77,
# the SKIP_RETURN_CODE tests.cmake sets).
#
# A test names its state by a directory as before; on pg each directory is
# a deployment (--gateway-deployment) of the test's one database, named
# from the path below $T, so two state directories stay two states.
#
#   t_backend              prints files or pg
#   t_on_pg                true on the pg variant
#   t_state VAR DIR        sets the array VAR to the state flags for DIR
#                          (--gateway-state-dir DIR, or --gateway-state-url
#                          URL --gateway-deployment NAME)
#   t_state_args DIR       the same flags, one per line
#   t_state_translate VAR ARGS...   sets the array VAR to ARGS with every
#                          "--gateway-state-dir DIR" pair replaced by the
#                          backend's flags (h_gateway uses it)
#   t_state_place DIR      the place reports name: DIR, or
#                          postgresql:<db>/<deployment>
#   t_state_norm DIR       a filter: the place of DIR in reports (state.json
#                          vs .../posture, runtime-events.jsonl vs
#                          .../events, the place itself) becomes <posture>,
#                          <events>, <state>, so outputs compare across
#                          backends
#   t_state_reset DIR      removes the state of DIR (the directory, or
#                          every row of its deployment)
#   t_posture DIR          prints the posture (state.json, or the
#                          deployment's posture row); fails when there is none
#   t_posture_jq DIR FILTER   jq -r FILTER on the posture ("" when none)
#   t_events DIR           prints the event log's lines (runtime-events.jsonl,
#                          or the deployment's tau_event rows in order)
#   t_resp_get DIR ID      prints stored response ID as the file store's
#                          record ({id, previous_response_id, history_items,
#                          input_items, response}); fails when there is none
#   t_resp_put DIR JSON [ITEMS]   stores such a record as is (hand-made);
#                          on pg ITEMS, when given, is the input_items text
#                          as stored (damaged)
#   t_resp_count DIR       how many stored responses there are
#   t_resp_size DIR ID     its size in bytes (file, or the row's texts)
#   t_resp_all DIR         every stored record's text, one per line
#   t_resp_age DIR ID SECS makes ID look SECS seconds old (mtime / created)
#   t_resp_where ID        how the server's log names ID's record
#                          (ID.json, or ID)
#   t_sess_file DIR KEY    the session's history file on files
#   t_sess_exists DIR KEY  true when session KEY has a history
#   t_sess_size DIR KEY    its history's size in bytes (the file, or the
#                          row's body: the same text)
#   t_sess_age DIR KEY SECS makes KEY's last write look SECS seconds old
#   t_state_written DIR    true when anything is stored for DIR (the
#                          directory exists, or the deployment has a row)
#   t_state_digest DIR     a digest of everything stored for DIR (every
#                          file, or every row of every table with a
#                          deployment column, and the deployment's row)
#   t_state_copy DIR       prints a path holding everything stored for DIR,
#                          for greps: DIR itself, or on pg a data-only
#                          pg_dump of the test's database in $T
#   t_files_only REASON    false on pg, after printing "skip on pg: REASON":
#                          guards assertions that only mean something on
#                          files (bytes of state.json, lock files, disk
#                          full, permissions, hostile paths)
#   t_event_add DIR LINE   appends LINE to the event log as is (hand-made,
#                          e.g. a damaged line)
#   t_records DIR          the contract runner's processed case keys and
#                          request records as lib/records.py prints them:
#                          {"processed_case_keys": [oldest first],
#                          "requests": [by case_key, bytewise]} (the
#                          records store, or the deployment's tau_record rows)
#   t_chan_list DIR        the gateway transport's channels, one a line,
#                          bytewise (channel-store/gateway/*, or tau_channel)
#   t_chan_exists DIR CH   true when channel CH has been written
#   t_chan_lines DIR CH KIND   channel CH's KIND (log or context) lines in
#                          order (KIND.jsonl, or tau_channel_line); CH ""
#                          is every channel's, channel by channel
#   t_chan_memory DIR CH   channel CH's MEMORY.md, byte for byte
#   t_chan_digest DIR CH   changes when anything of channel CH is written,
#                          even with the same bytes (each file's digest,
#                          inode and mtime, or its rows' digest and xmin)
# The database is dropped when the test exits (pg.sh's pg_test_cleanup,
# which ends with tests/lib.sh's t_cleanup).
TAU_TEST_BACKEND=${TAU_TEST_BACKEND:-files}
TB_SKIPS=0

t_backend() { printf '%s\n' "$TAU_TEST_BACKEND"; }
t_on_pg() { [ "$TAU_TEST_BACKEND" = pg ]; }

case $TAU_TEST_BACKEND in
files) ;;
pg)
	# shellcheck source=tests/integration/lib/pg.sh
	. "$TAU_SOURCE_DIR/tests/integration/lib/pg.sh"
	if [ -z "${TAU_TEST_PG_URL:-}" ]; then
		echo "skipped: the pg variant needs TAU_TEST_PG_URL (scripts/test starts a cluster)"
		trap - EXIT
		rm -rf "$T"
		exit 77
	fi
	trap pg_test_cleanup EXIT
	TB_DB=$(basename "$0" .sh | tr '[:upper:]' '[:lower:]' | tr -c 'a-z0-9_\n' '_')
	TB_DB=tb_${TB_DB:0:40}_$$
	pg_createdb TB_URL "$TB_DB" || {
		t_fail "create the test database $TB_DB"
		t_done
		exit 1
	}
	;;
*)
	echo "backend.sh: TAU_TEST_BACKEND must be files or pg, not '$TAU_TEST_BACKEND'" >&2
	exit 64
	;;
esac

# tb_dep DIR: the deployment that stands for DIR (its path below $T, or as
# given), 1-48 bytes of a-z 0-9 _ -; a long one keeps its tail and a hash
t_state_dep() {
	local d=${1%/} n
	case $d in "$T"/*) d=${d#"$T"/} ;; "$T") d=t ;; esac
	n=$(printf '%s' "$d" | tr '[:upper:]' '[:lower:]' | tr -c 'a-z0-9_-' '-' | sed -E 's/^[^a-z0-9]+//')
	[ -n "$n" ] || n=state
	if [ "${#n}" -gt 48 ]; then
		n=$(printf '%s' "$d" | cksum | cut -d' ' -f1)-${n: -36}
		n=${n:0:48}
	fi
	printf '%s\n' "$n"
}

t_state() {
	local -n tb_out=$1
	if t_on_pg; then
		tb_out=(--gateway-state-url "$TB_URL" --gateway-deployment "$(t_state_dep "$2")")
	else
		tb_out=(--gateway-state-dir "$2")
	fi
}

t_state_args() {
	local a=()
	t_state a "$1"
	printf '%s\n' "${a[@]}"
}

t_state_translate() {
	local -n tb_res=$1
	shift
	local st=()
	tb_res=()
	while [ $# -gt 0 ]; do
		if [ "$1" = --gateway-state-dir ] && [ $# -ge 2 ]; then
			t_state st "$2"
			tb_res+=("${st[@]}")
			shift 2
		else
			tb_res+=("$1")
			shift
		fi
	done
}

t_state_place() {
	if t_on_pg; then
		printf 'postgresql:%s/%s\n' "$TB_DB" "$(t_state_dep "$1")"
	else
		printf '%s\n' "${1%/}"
	fi
}

# sed patterns are built from the place with its regex characters escaped
tb_re() { printf '%s' "$1" | sed -e 's/[][\.*^$/]/\\&/g'; }

t_state_norm() {
	local p
	p=$(tb_re "$(t_state_place "$1")")
	sed -e "s/$p\/state\.json/<posture>/g" -e "s/$p\/posture/<posture>/g" \
		-e "s/$p\/runtime-events\.jsonl/<events>/g" -e "s/$p\/events/<events>/g" \
		-e "s/$p/<state>/g"
}

# tb_psql SQL DEP [ID]: SQL read from stdin by psql so :'dep' and :'id'
# are quoted literals (psql -c does no variable interpolation)
tb_psql() {
	printf '%s\n' "$1" | PGOPTIONS='-c client_min_messages=warning' psql -X -q -v ON_ERROR_STOP=1 -At \
		-d "$TB_URL" -v dep="$2" -v id="${3-}"
}

t_posture() {
	if t_on_pg; then
		local out
		out=$(tb_psql "SELECT posture FROM tau_deployment WHERE name = :'dep' AND posture IS NOT NULL" \
			"$(t_state_dep "$1")" 2>/dev/null) || return 1
		[ -n "$out" ] || return 1
		printf '%s\n' "$out"
	else
		[ -f "$1/state.json" ] || return 1
		cat "$1/state.json"
	fi
}

t_posture_jq() {
	local p
	p=$(t_posture "$1") || return 0
	printf '%s\n' "$p" | jq -r "$2"
}

t_events() {
	if t_on_pg; then
		tb_psql "SELECT line FROM tau_event WHERE deployment = :'dep' ORDER BY seq" \
			"$(t_state_dep "$1")" 2>/dev/null
	else
		[ -f "$1/runtime-events.jsonl" ] && cat "$1/runtime-events.jsonl"
	fi
	return 0
}

t_files_only() {
	t_on_pg || return 0
	TB_SKIPS=$((TB_SKIPS + 1))
	echo "skip on pg: $1"
	return 1
}

# --- stored responses --------------------------------------------------------
tb_resp_file() { printf '%s/openresponses/responses/%s.json\n' "$1" "$2"; }

t_resp_get() {
	if t_on_pg; then
		local out
		out=$(printf '%s\n' "SELECT json_build_object('id', id, 'session_key', session_key,
			'previous_response_id', previous_response_id, 'history_items', history_items,
			'input_items', input_items::json, 'response', response::json)
			FROM tau_response WHERE deployment = :'dep' AND id = :'id'" |
			PGOPTIONS='-c client_min_messages=warning' psql -X -q -v ON_ERROR_STOP=1 -At \
				-d "$TB_URL" -v dep="$(t_state_dep "$1")" -v id="$2") || return 1
		[ -n "$out" ] || return 1
		printf '%s\n' "$out"
	else
		cat "$(tb_resp_file "$1" "$2")" 2>/dev/null
	fi
}

t_resp_put() {
	if t_on_pg; then
		printf '%s\n' "INSERT INTO tau_response (deployment, id, previous_response_id, session_key,
			history_items, input_items, response, created_unix_ms)
			SELECT :'dep', r->>'id', r->>'previous_response_id', coalesce(r->>'session_key', ''),
			coalesce((r->>'history_items')::bigint, 0), coalesce(NULLIF(:'raw_items', ''), (r->'input_items')::text),
			(r->'response')::text, (extract(epoch from now()) * 1000)::bigint
			FROM (SELECT :'rec'::json AS r) x
			ON CONFLICT (deployment, id) DO UPDATE SET previous_response_id = EXCLUDED.previous_response_id,
			session_key = EXCLUDED.session_key, history_items = EXCLUDED.history_items,
			input_items = EXCLUDED.input_items, response = EXCLUDED.response" |
			PGOPTIONS='-c client_min_messages=warning' psql -X -q -v ON_ERROR_STOP=1 -At \
				-d "$TB_URL" -v dep="$(t_state_dep "$1")" -v rec="$2" -v raw_items="${3-}" >/dev/null
	else
		mkdir -p "$1/openresponses/responses"
		printf '%s\n' "$2" >"$(tb_resp_file "$1" "$(printf '%s' "$2" | jq -r .id)")"
	fi
}

t_resp_count() {
	if t_on_pg; then
		tb_psql "SELECT count(*) FROM tau_response WHERE deployment = :'dep'" "$(t_state_dep "$1")"
	else
		find "$1/openresponses/responses" -name '*.json' -type f 2>/dev/null | wc -l
	fi
}

t_resp_size() {
	if t_on_pg; then
		tb_psql "SELECT octet_length(input_items) + octet_length(response)
			+ octet_length(coalesce(previous_response_id, '')) FROM tau_response
			WHERE deployment = :'dep' AND id = :'id'" "$(t_state_dep "$1")" "$2"
	else
		stat -c %s "$(tb_resp_file "$1" "$2")"
	fi
}

t_resp_all() {
	if t_on_pg; then
		tb_psql "SELECT input_items || ' ' || response FROM tau_response WHERE deployment = :'dep'" \
			"$(t_state_dep "$1")"
	else
		cat "$1"/openresponses/responses/*.json 2>/dev/null
	fi
	return 0
}

t_resp_age() {
	if t_on_pg; then
		tb_psql "UPDATE tau_response SET created_unix_ms = created_unix_ms - $(($3 * 1000))
			WHERE deployment = :'dep' AND id = :'id'" "$(t_state_dep "$1")" "$2" >/dev/null
	else
		touch -d "@$(($(date +%s) - $3))" "$(tb_resp_file "$1" "$2")"
	fi
}

t_resp_where() {
	if t_on_pg; then printf '%s\n' "$1"; else printf '%s.json\n' "$1"; fi
}

# --- sessions ----------------------------------------------------------------
t_sess_file() { printf '%s/openresponses/sessions/%s.jsonl\n' "$1" "$2"; }

t_sess_exists() {
	if t_on_pg; then
		[ "$(tb_psql "SELECT count(*) FROM tau_session s WHERE deployment = :'dep' AND key = :'id'
			AND $PG_SESSION_TEXT <> ''" "$(t_state_dep "$1")" "$2")" = 1 ]
	else
		[ -e "$(t_sess_file "$1" "$2")" ]
	fi
}

t_sess_size() {
	if t_on_pg; then
		tb_psql "SELECT octet_length($PG_SESSION_TEXT) FROM tau_session s
			WHERE deployment = :'dep' AND key = :'id'" \
			"$(t_state_dep "$1")" "$2"
	else
		stat -c %s "$(t_sess_file "$1" "$2")"
	fi
}

t_sess_age() {
	if t_on_pg; then
		tb_psql "UPDATE tau_session SET updated_unix_ms = updated_unix_ms - $(($3 * 1000))
			WHERE deployment = :'dep' AND key = :'id'" "$(t_state_dep "$1")" "$2" >/dev/null
	else
		touch -d "@$(($(date +%s) - $3))" "$(t_sess_file "$1" "$2")"
	fi
}

t_state_copy() {
	if t_on_pg; then
		"$(pg_bindir)/pg_dump" --data-only -d "$TB_URL" >"$T/tb-dump.sql" || return 1
		printf '%s\n' "$T/tb-dump.sql"
	else
		printf '%s\n' "$1"
	fi
}

t_state_reset() {
	if t_on_pg; then
		# every table with a deployment column, the deployment's row last
		tb_psql "SELECT set_config('tb.dep', :'dep', false);
			DO \$\$ DECLARE t text; BEGIN
			FOR t IN SELECT table_name FROM information_schema.columns
				WHERE column_name = 'deployment' AND table_schema = current_schema() LOOP
				EXECUTE format('DELETE FROM %I WHERE deployment = \$1', t) USING current_setting('tb.dep');
			END LOOP;
			IF to_regclass('tau_deployment') IS NOT NULL THEN
				DELETE FROM tau_deployment WHERE name = current_setting('tb.dep');
			END IF; END \$\$" "$(t_state_dep "$1")" >/dev/null
	else
		rm -rf "$1"
	fi
}

t_state_written() {
	if t_on_pg; then
		[ "$(tb_psql "SELECT count(*) FROM tau_deployment WHERE name = :'dep'" "$(t_state_dep "$1")" \
			2>/dev/null)" = 1 ]
	else
		[ -e "$1" ]
	fi
}

t_state_digest() {
	if t_on_pg; then
		tb_psql "SELECT c.table_name, md5(query_to_xml(format('SELECT * FROM %I WHERE deployment = %L ORDER BY 1, 2',
			c.table_name, :'dep'), false, false, '')::text)
			FROM information_schema.columns c WHERE c.column_name = 'deployment'
			AND c.table_schema = current_schema() ORDER BY 1;
			SELECT md5(query_to_xml(format('SELECT * FROM tau_deployment WHERE name = %L', :'dep'),
			false, false, '')::text)" "$(t_state_dep "$1")"
	else
		(cd "$1" && find . -type f -exec md5sum {} + | sort)
	fi
}

t_event_add() {
	if t_on_pg; then
		printf '%s\n' "INSERT INTO tau_event (deployment, unix_ms, line)
			VALUES (:'dep', (extract(epoch from now()) * 1000)::bigint, :'line')" |
			PGOPTIONS='-c client_min_messages=warning' psql -X -q -v ON_ERROR_STOP=1 -At \
				-d "$TB_URL" -v dep="$(t_state_dep "$1")" -v line="$2" >/dev/null
	else
		printf '%s\n' "$2" >>"$1/runtime-events.jsonl"
	fi
}

# --- the contract runner's records and channel store ---------------------------
t_records() {
	if t_on_pg; then
		# the row's record has no case_key (the row's key is it); fields in
		# records.py's order
		tb_psql "SELECT json_build_object(
			'processed_case_keys', coalesce((SELECT json_agg(key ORDER BY seq) FROM tau_record
				WHERE deployment = :'dep' AND seq > 0), '[]'),
			'requests', coalesce((SELECT json_agg(json_build_object('case_key', key, 'r', record::json) ORDER BY key)
				FROM tau_record WHERE deployment = :'dep' AND record IS NOT NULL), '[]'))" \
			"$(t_state_dep "$1")" | jq -c '{processed_case_keys, requests: [.requests[] | {case_key} + .r |
				{case_key, case_id, method, endpoint, actor_id, status_code, outcome, error_code,
				response_body, updated_unix_ms}]}'
	else
		python3 "$TAU_SOURCE_DIR/tests/integration/lib/records.py" "$1"
	fi
}

t_chan_list() {
	if t_on_pg; then
		tb_psql "SELECT channel FROM tau_channel WHERE deployment = :'dep' AND transport = 'gateway'
			ORDER BY channel COLLATE \"C\"" "$(t_state_dep "$1")"
	else
		[ -d "$1/channel-store/gateway" ] && (cd "$1/channel-store/gateway" && LC_ALL=C ls)
	fi
	return 0
}

t_chan_exists() {
	if t_on_pg; then
		[ "$(tb_psql "SELECT count(*) FROM tau_channel WHERE deployment = :'dep' AND transport = 'gateway'
			AND channel = :'id'" "$(t_state_dep "$1")" "$2")" = 1 ]
	else
		[ -e "$1/channel-store/gateway/$2" ]
	fi
}

t_chan_lines() {
	local c
	if t_on_pg; then
		printf '%s\n' "SELECT line FROM tau_channel_line WHERE deployment = :'dep' AND transport = 'gateway'
			AND (:'id' = '' OR channel = :'id') AND kind = :'kind' ORDER BY channel COLLATE \"C\", seq" |
			PGOPTIONS='-c client_min_messages=warning' psql -X -q -v ON_ERROR_STOP=1 -At \
				-d "$TB_URL" -v dep="$(t_state_dep "$1")" -v id="$2" -v kind="$3"
	elif [ -n "$2" ]; then
		cat "$1/channel-store/gateway/$2/$3.jsonl" 2>/dev/null
	else
		for c in $(t_chan_list "$1"); do
			cat "$1/channel-store/gateway/$c/$3.jsonl" 2>/dev/null
		done
	fi
	return 0
}

t_chan_memory() {
	if t_on_pg; then
		tb_psql "SELECT encode(convert_to(memory, 'UTF8'), 'base64') FROM tau_channel
			WHERE deployment = :'dep' AND transport = 'gateway' AND channel = :'id' AND memory IS NOT NULL" \
			"$(t_state_dep "$1")" "$2" | base64 -d
	else
		cat "$1/channel-store/gateway/$2/MEMORY.md"
	fi
}

t_chan_digest() {
	if t_on_pg; then
		tb_psql "SELECT xmin, md5(memory) FROM tau_channel WHERE deployment = :'dep'
			AND transport = 'gateway' AND channel = :'id';
			SELECT kind, seq, xmin, md5(line) FROM tau_channel_line WHERE deployment = :'dep'
			AND transport = 'gateway' AND channel = :'id' ORDER BY kind, seq" "$(t_state_dep "$1")" "$2"
	else
		(cd "$1/channel-store/gateway/$2" && md5sum ./* && stat -c '%n %i %Y' ./*)
	fi
}
