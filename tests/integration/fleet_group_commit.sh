#!/usr/bin/env bash
# fleet_group_commit: stored responses in fleet mode are committed in
# groups (respconn.c), and no client is told 200 for a row that was not
# committed.  One server on its own database, 127.0.0.1 port 0.
#  - 48 clients x 20 concurrent store:true requests: all 200, every id a
#    row, and the rows came in fewer transactions than rows (distinct xmin:
#    a group is one commit);
#  - the same load while every backend of the database is terminated
#    (pg_terminate_backend) every 50 ms, so groups die mid-statement: some
#    requests fail (503 state_unavailable), later ones succeed again after
#    the pool reconnects, and every id answered 200 is a row in the table
#    (an answer given before its group's commit would lose some).
# (A group refused for one record's text, saved again record by record,
# is unit_store's: the server refuses such text before it gets that far.)
. "${TAU_SOURCE_DIR:-$(dirname "$0")/../..}/tests/lib.sh"
. "$TAU_SOURCE_DIR/tests/integration/lib/pg.sh"
. "$TAU_SOURCE_DIR/tests/integration/lib/http.sh"
TOKEN=fleet-group-token-5d1b
pg_ensure
pg_createdb URL tau_group_commit || { t_fail "create the test database"; t_done; exit 1; }
cd "$T" || exit 1

t_check "the server starts" h_gateway S --gateway-state-url "$URL" \
	--gateway-openresponses-max-connections-per-ip 1024 --quiet

# load OUT CLIENTS REQUESTS: CLIENTS threads, each REQUESTS POSTs on its own
# keep-alive connection; one line per request in OUT: the status, then the
# id (200) or the error code
load() {
	python3 - "$ADDR" "$TOKEN" "$1" "$2" "$3" <<'PY'
import http.client, json, sys, threading
addr, token, out, clients, reqs = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
host, port = addr.rsplit(":", 1)
hdr = {"Authorization": "Bearer " + token, "Content-Type": "application/json"}
lines, lock = [], threading.Lock()
def client(k):
    c = http.client.HTTPConnection(host, int(port), timeout=30)
    for i in range(reqs):
        c.request("POST", "/v1/responses", json.dumps({"input": "group %d.%d" % (k, i)}), hdr)
        r = c.getresponse()
        d = json.loads(r.read())
        line = "%d %s" % (r.status, d["id"] if r.status == 200 else d["error"]["code"])
        with lock:
            lines.append(line)
ts = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
for t in ts:
    t.start()
for t in ts:
    t.join()
open(out, "w").write("".join(l + "\n" for l in lines))
PY
}
# missing FILE: how many ids answered 200 in FILE are not rows
missing() {
	local ids
	ids=$(awk '$1 == 200 {printf "%s%s", sep, $2; sep = ","}' "$1")
	pg_sql "$URL" "SELECT count(*) FROM unnest(string_to_array('$ids', ',')) AS a (id)
		WHERE NOT EXISTS (SELECT 1 FROM tau_response r WHERE r.id = a.id)"
}

# --- groups -----------------------------------------------------------------------------------
load "$T/a" 48 20
t_eq "960 concurrent store:true requests, all 200" "960" "$(grep -c '^200 ' "$T/a")"
t_eq "every id answered is a row" 0 "$(missing "$T/a")"
read -r rows xacts < <(pg_sql "$URL" "SELECT count(*), count(DISTINCT xmin::text) FROM tau_response" | tr '|' ' ')
t_eq "960 rows" 960 "$rows"
# (one commit per save makes exactly one transaction per row; how big the
# groups get depends on how fast the database commits: 2 to 10 rows on
# average here, smaller on an idle machine, so the bound only asks that
# groups form: at least a tenth fewer transactions than rows)
t_check "committed in groups: $xacts transactions for $rows rows (< 90 % of rows)" \
	test "$((xacts * 10))" -lt "$((rows * 9))"

# --- the database connections killed mid-group -------------------------------------------------
load "$T/b" 32 60 &
LOAD=$!
T_PIDS+=("$LOAD")
for ((i = 0; i < 30; i++)); do
	pg_sql "$URL" "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE datname = current_database() AND pid <> pg_backend_pid()" >/dev/null
	sleep 0.05 # the pace of the kills, not a synchronisation
done
wait "$LOAD"
t_eq "all 1920 requests answered" 1920 "$(wc -l <"$T/b")"
t_match "some failed while their connections were killed" '^[1-9][0-9]* 503 state_unavailable$' \
	"$(awk '$1 != 200 {print $1, $2}' "$T/b" | sort | uniq -c | sed 's/^ *//')"
t_check "most were 200 (the pool reconnected)" test "$(grep -c '^200 ' "$T/b")" -gt 960
t_eq "every id answered 200 is a row: nothing acknowledged before its commit" 0 "$(missing "$T/b")"
t_done
