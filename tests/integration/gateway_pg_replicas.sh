#!/usr/bin/env bash
# gateway_pg_replicas: the replica registry (schema version 2) through the
# store's real API (tests/tools/replica.c, tau-replica).
#  - a version 1 database (as the first fleet-mode release left it, with a
#    stopped posture and its events) is migrated to version 2 on open: the
#    posture and events are intact, tau_replica exists, version is 2;
#  - two replicas register and heartbeat; the list shows both live with
#    their counters; ages come from the database's clock;
#  - a replica killed with -9 stops heartbeating: its row stays and, once
#    its heartbeat is older than 5 s (made so in SQL rather than waited
#    for), it lists as stale while the other stays live;
#  - SIGTERM deregisters (the row is gone); the file store has no registry.
. "${TAU_SOURCE_DIR:-$(dirname "$0")/../..}/tests/lib.sh"
. "$TAU_SOURCE_DIR/tests/integration/lib/pg.sh"
pg_ensure
pg_createdb URL "tau_replicas_$$" || { t_fail "create the test database"; t_done; exit 1; }
REPLICA=${TAU_REPLICA:-$(dirname "$TAU_BIN")/tau-replica}

# --- a version 1 database upgrades -------------------------------------------------
"$TAU_BIN" --gateway-state-url "$URL" --gateway-service-stop --gateway-service-stop-reason maintenance_window \
	>/dev/null 2>"$T/stop.err"
t_eq "a stop on a new database exits 0" 0 "$?"
# back to exactly what version 1 created (the v2 step only adds tau_replica,
# the v3 step only tau_response, the v4 step tau_session, the v5 step the
# runner's three tables, the v6 step tau_session_line and its guard)
pg_sql "$URL" "DROP TABLE tau_channel_line, tau_channel, tau_record" \
	"DROP TABLE tau_session_line, tau_session" "DROP FUNCTION tau_session_body_guard()" \
	"DROP TABLE tau_response" "DROP TABLE tau_replica" "UPDATE tau_schema SET version = 1" >/dev/null
before=$(pg_sql "$URL" "SELECT md5(posture) FROM tau_deployment" "SELECT count(*) FROM tau_event")
t_eq "the database is at version 1, without tau_replica" "1|" \
	"$(pg_sql "$URL" "SELECT version, to_regclass('tau_replica') FROM tau_schema")"
"$TAU_BIN" --gateway-state-url "$URL" --gateway-service-status >"$T/status.out" 2>"$T/status.err"
t_eq "a status on the version 1 database exits 0" 0 "$?"
t_contains "and reads its posture" "service_status=stopped" "$(cat "$T/status.out")"
t_eq "migrated to version 6 with tau_replica, tau_response, tau_session, tau_record, tau_session_line" \
	"6|tau_replica|tau_response|tau_session|tau_record|tau_session_line" \
	"$(pg_sql "$URL" "SELECT version, to_regclass('tau_replica'), to_regclass('tau_response'), to_regclass('tau_session'), to_regclass('tau_record'), to_regclass('tau_session_line') FROM tau_schema")"
t_eq "posture and events untouched by the migration" "$before" \
	"$(pg_sql "$URL" "SELECT md5(posture) FROM tau_deployment" "SELECT count(*) FROM tau_event")"

# --- two replicas -------------------------------------------------------------------
t_spawn A "$REPLICA" run "$URL" default host-a 10.0.0.1:8080 100
t_spawn B "$REPLICA" run "$URL" default host-b 10.0.0.2:8080 100
t_check "replica a registered" t_wait_line "$T/A.out" '^registered [0-9]+$'
t_check "replica b registered" t_wait_line "$T/B.out" '^registered [0-9]+$'
# wait (bounded) until both have heartbeaten at least twice
ok=1
for ((i = 0; i < 100; i++)); do
	"$REPLICA" list "$URL" default >"$T/list1" || break
	[ "$(grep -cE 'requests=([2-9]|[1-9][0-9])[0-9]' "$T/list1")" -eq 2 ] && { ok=0; break; }
	sleep 0.05
done
t_eq "both replicas heartbeat with counters" 0 "$ok"
t_match "replica a's row" "^host-a 10\.0\.0\.1:8080 pid=$A age_ms=[0-9]+ requests=[0-9]+ streams=2 4xx=[0-9]+ 5xx=[0-9]+ live$" \
	"$(sed -n 1p "$T/list1")"
t_match "replica b's row" "^host-b 10\.0\.0\.2:8080 pid=$B .* live$" "$(sed -n 2p "$T/list1")"
t_eq "nothing in another deployment" "" "$("$REPLICA" list "$URL" other)"

# --- kill -9: the row stays and goes stale --------------------------------------------
kill -9 "$B"
wait "$B" 2>/dev/null
t_contains "a killed replica's row stays" "host-b" "$("$REPLICA" list "$URL" default)"
# age its heartbeat instead of waiting 5 s: the registry's clock is the database's
pg_sql "$URL" "UPDATE tau_replica SET heartbeat = now() - interval '6 seconds' WHERE host = 'host-b'" >/dev/null
"$REPLICA" list "$URL" default >"$T/list2"
t_match "b is stale" "^host-b .* age_ms=(6|7|8)[0-9]{3} .* stale$" "$(grep host-b "$T/list2")"
t_match "a is live (it still heartbeats)" "^host-a .* live$" "$(grep host-a "$T/list2")"

# --- SIGTERM deregisters ---------------------------------------------------------------
kill -TERM "$A"
wait "$A"
t_eq "replica a exits 0 on SIGTERM" 0 "$?"
t_eq "and its row is gone" "" "$("$REPLICA" list "$URL" default | grep host-a)"
t_done
