#!/usr/bin/env bash
# fleet_session_lines: a session's appends as rows of tau_session_line
# (schema version 6), on a database of its own, servers on ephemeral ports
# of 127.0.0.1.
#  - a version 5 database whose session row holds the whole history in
#    body (made by folding the lines of a 2-turn session into body, as a
#    version 5 gateway keeps it) is migrated to version 6 by a replica,
#    which continues the session with the history intact (its answer counts
#    every earlier item, its stored context lists every earlier turn in
#    order); body is kept as the prefix and the new turn is one line row;
#  - compaction with lines present (--gateway-session-max-messages 4, the
#    same turns on a state directory beside it): after every turn the row's
#    history (body, then its lines) holds what the session's file holds,
#    item for item; a compaction leaves no line rows and the next append
#    adds one;
#  - an export of a session with lines writes body and lines as one
#    <key>.jsonl, byte for byte the row's history;
#  - a write to the body of a session that has lines (what a version 5
#    gateway still running during an upgrade would do) is refused, and
#    leaves the history as it was;
#  - the TTL sweep removes an expired session's lines with its row.
. "${TAU_SOURCE_DIR:-$(dirname "$0")/../..}/tests/lib.sh"
. "$TAU_SOURCE_DIR/tests/integration/lib/pg.sh"
. "$TAU_SOURCE_DIR/tests/integration/lib/http.sh"
TOKEN=fleet-lines-token-83c1
pg_ensure
pg_createdb URL tau_fleet_session_lines
cd "$T" || exit 1

# fl_context: N of the last answer's "Context: N items"
fl_context() {
	h_jq '.output[0].content[0].text' | sed -n 's/.*Context: \([0-9]*\) item.*/\1/p'
}
# fl_items: a session's JSONL text (stdin) as one line per record: meta, or
# role and text of the item (ids and response ids differ between servers)
fl_items() {
	jq -r 'if .record_type == "meta" then "meta" else "\(.item.role):\(.item.content[0].text)" end'
}
# fl_lines KEY: the number of tau_session_line rows of KEY
fl_lines() {
	pg_sql "$URL" "SELECT count(*) FROM tau_session_line WHERE key = '$1'"
}
fl_turn() { # fl_turn SESSION TEXT
	h_post "{\"model\":\"local/echo\",\"input\":\"$2\",\"metadata\":{\"session_id\":\"$1\"}}"
}

# --- a version 5 database with a session is upgraded --------------------------------------
t_check "replica a starts" h_replica RA
h_on RA
fl_turn old "old turn 1"
fl_turn old "old turn 2"
t_eq "two turns on session old" "200 3" "$HS $(fl_context)"
t_check "replica a stops" h_stop "$RA"
# what a version 5 gateway keeps: the whole JSONL in body, no line table
pg_sql "$URL" "CREATE TABLE fl_v5 AS SELECT s.deployment, s.key, $PG_SESSION_TEXT AS text FROM tau_session s" \
	"DROP TABLE tau_session_line" "DROP TRIGGER tau_session_body_guard ON tau_session" \
	"DROP FUNCTION tau_session_body_guard()" "UPDATE tau_session s SET body = v.text FROM fl_v5 v WHERE v.deployment = s.deployment AND v.key = s.key" \
	"DROP TABLE fl_v5" "UPDATE tau_schema SET version = 5" >/dev/null
t_eq "the database is at version 5, the history in body" "5||4" \
	"$(pg_sql "$URL" "SELECT version, to_regclass('tau_session_line'),
		(SELECT count(*) FROM regexp_matches((SELECT body FROM tau_session WHERE key = 'old'),
		'\"record_type\":\"item\"', 'g')) FROM tau_schema")"
v5body=$(pg_sql "$URL" "SELECT md5(body) FROM tau_session WHERE key = 'old'")
t_check "replica b starts" h_replica RB
t_eq "it migrated the database to version 6" "6|tau_session_line" \
	"$(pg_sql "$URL" "SELECT version, to_regclass('tau_session_line') FROM tau_schema")"
h_on RB
fl_turn old "old turn 3"
t_eq "the session continues with its history: context 5 items" "200 5" "$HS $(fl_context)"
h_req GET "/v1/responses/$(h_jq .id)/input_items?order=asc&limit=100"
t_eq "its stored context is every turn in order" \
	"user:old turn 1,assistant,user:old turn 2,assistant,user:old turn 3" \
	"$(h_jq '[.data[] | if .role == "user" then "user:\(.content[0].text)" else .role end] | join(",")')"
t_eq "body is kept as the prefix, the new turn is one line row" "$v5body 1" \
	"$(pg_sql "$URL" "SELECT md5(body) FROM tau_session WHERE key = 'old'") $(fl_lines old)"
t_eq "the row's history is the old body and the new exchange" \
	"meta,user:old turn 1,assistant,user:old turn 2,assistant,user:old turn 3,assistant" \
	"$(pg_session_text "$URL" "key = 'old'" | fl_items | sed 's/^assistant:.*/assistant/' | paste -sd,)"

# --- compaction with lines present, against a state directory ----------------------------
t_check "replica c (4 messages) starts" h_replica RC --gateway-session-max-messages 4
t_check "a files gateway (4 messages) starts" h_gateway FG --gateway-state-dir "$T/files" \
	--gateway-session-max-messages 4
FG_ADDR=$ADDR
same=0 ctx=0 followed=0 compactions=0 prev_n=0 prev_ino=
F=$T/files/openresponses/sessions/cmp.jsonl
for ((i = 1; i <= 9; i++)); do
	h_on RC
	fl_turn cmp "cmp turn $i"
	a="$HS $(fl_context)"
	h_on FG
	fl_turn cmp "cmp turn $i"
	[ "$a" = "$HS $(fl_context)" ] && ctx=$((ctx + 1))
	[ "$(pg_session_text "$URL" "key = 'cmp'" | fl_items)" = "$(fl_items <"$F")" ] &&
		same=$((same + 1))
	# the file store compacts by writing a new file (a new inode) and
	# appends in place: the row has no lines left exactly after a
	# compaction, and one more after an append
	n=$(fl_lines cmp) ino=$(stat -c %i "$F")
	if [ -n "$prev_ino" ] && [ "$ino" != "$prev_ino" ]; then
		compactions=$((compactions + 1))
		[ "$n" = 0 ] && followed=$((followed + 1))
	else
		[ "$n" = $((prev_n + 1)) ] && followed=$((followed + 1))
	fi
	prev_n=$n prev_ino=$ino
done
t_eq "9 turns: the same status and context on both backends" 9 "$ctx"
t_eq "after every turn the row's history is the file's, item for item" 9 "$same"
t_eq "the file was compacted at turns 5, 7 and 9" 3 "$compactions"
t_eq "after each compaction the row has no lines, after each append one more" 9 "$followed"

# --- export of a session with lines ---------------------------------------------------------
h_on RC
fl_turn cmp "cmp turn 10" # one line after the compaction of turn 9
t_eq "session cmp has a line row again" 1 "$(fl_lines cmp)"
"$TAU_BIN" --gateway-state-url "$URL" --gateway-state-export "$T/x" >/dev/null 2>"$T/x.err"
t_eq "the export exits 0" 0 "$?"
for k in old cmp; do
	t_eq "exported $k.jsonl is body and lines, byte for byte" \
		"$(pg_sql "$URL" "SELECT md5($PG_SESSION_TEXT) FROM tau_session s WHERE key = '$k'")" \
		"$(md5sum <"$T/x/openresponses/sessions/$k.jsonl" | cut -d' ' -f1)"
done

# --- a version 5 write on a session with lines is refused ------------------------------------
before=$(pg_sql "$URL" "SELECT md5($PG_SESSION_TEXT) FROM tau_session s WHERE key = 'cmp'")
out=$(pg_sql "$URL" "UPDATE tau_session SET body = body || 'x' WHERE key = 'cmp'" 2>&1)
t_eq "appending to body while lines exist fails" 1 "$?"
t_contains "... naming the session and why" \
	"session cmp of deployment default has rows in tau_session_line" "$out"
t_eq "... and the history is unchanged" "$before" \
	"$(pg_sql "$URL" "SELECT md5($PG_SESSION_TEXT) FROM tau_session s WHERE key = 'cmp'")"

# --- the sweep takes the lines with the row --------------------------------------------------
t_check "replica d (deployment ttl, session TTL 2 s) starts" h_replica RD --gateway-deployment ttl \
	--gateway-session-ttl 2
h_on RD
fl_turn brief "brief 1"
fl_turn brief "brief 2"
t_eq "a session of deployment ttl with 2 line rows" "200 2" \
	"$HS $(pg_sql "$URL" "SELECT count(*) FROM tau_session_line WHERE deployment = 'ttl'")"
gone=no
for ((i = 0; i < 200; i++)); do # bounded: ~10 s
	[ "$(pg_sql "$URL" "SELECT count(*) FROM tau_session WHERE deployment = 'ttl'")" = 0 ] &&
		{ gone=yes; break; }
	sleep 0.05
done
t_eq "the sweep removed the session" yes "$gone"
t_eq "... and its line rows" 0 "$(pg_sql "$URL" "SELECT count(*) FROM tau_session_line WHERE deployment = 'ttl'")"
t_eq "the default deployment's lines were left alone" 2 \
	"$(pg_sql "$URL" "SELECT count(DISTINCT key) FROM tau_session_line WHERE deployment = 'default'")"

for r in RB RC RD FG; do
	h_stop "${!r}"
	t_eq "$r stops cleanly" 0 "$HRC"
done
t_done
