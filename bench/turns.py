#!/usr/bin/env python3
"""bench/turns.py - per-turn latency of conversations, backends side by side.

    turns.py MODE CONVS TURNS TOKEN NAME=HOST:PORT...

MODE is "prev" (each turn names the previous response by
previous_response_id) or "session" (each conversation is one
metadata.session_id; every turn is a plain POST).  For CONVS rounds, each
backend (NAME=address, a running tau-gateway with local/echo) gets one new
conversation of TURNS turns on its own keep-alive connection; the order of
the backends rotates round by round, so a busy machine slows each alike.
Each turn's input is ~100 characters.  Prints, per backend, the median and
p10..p90 of turns 1, 2, TURNS/2 and TURNS (ms, over the CONVS rounds) and
the growth from turn 2 to turn TURNS (medians).  Then, less exposed to a
machine whose load drifts (previous_response_id only): 4 x CONVS pairs,
each a continuation of turn 1 (a "turn 2") and one of turn TURNS-1 (a "turn
TURNS") of the last conversation, back to back in alternating order (both
branches, so the conversation does not change); the median of the pairs'
ratios is the growth.  With BENCH_TURN_CPU="NAME=PID[+],..." (PID+: the
process and its children, for a PostgreSQL postmaster), also the CPU time
those processes spend per continuation (all threads, from
/proc/*/schedstat), in blocks of 20 turn-2 and 20 turn-TURNS continuations
alternating: a figure a loaded machine disturbs far less than latency.
In session mode the CPU blocks are 10 turn-2s (10 new sessions, each one
turn old) and 10 turn-TURNSs (10 new sessions, each TURNS-1 turns old),
CONVS pairs alternating; the turns that age the sessions are not
measured, and each block starts 0.3 s after them.  A backend that answers its
first turn with 501 not_in_fleet_mode (a build whose fleet mode has no
shared sessions) is skipped with a message.  Exits 1 on any other non-200.
"""
import http.client
import json
import os
import statistics
import sys
import time
import uuid

mode, convs, turns, token = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
backends = [a.split("=", 1) for a in sys.argv[5:]]
if mode not in ("prev", "session") or turns < 2 or not backends:
    sys.exit("usage: turns.py prev|session CONVS TURNS(>=2) TOKEN NAME=HOST:PORT...")
hdr = {"Authorization": "Bearer " + token, "Content-Type": "application/json"}
pad = "a sentence of ordinary length that a person might type into a chat window"


class Skip(Exception):
    pass


def post(conn, t, prev, sid):
    """One turn t; returns its id and ms."""
    body = {"input": "turn %d: %s" % (t, pad)}
    if prev:
        body["previous_response_id"] = prev
    if sid:
        body["metadata"] = {"session_id": sid}
    data = json.dumps(body)
    t0 = time.perf_counter()
    conn.request("POST", "/v1/responses", data, hdr)
    r = conn.getresponse()
    out = r.read()
    ms = (time.perf_counter() - t0) * 1000
    if r.status == 501 and b"not_in_fleet_mode" in out:
        raise Skip(out.decode(errors="replace")[:200])
    if r.status != 200:
        sys.exit("turn %d: HTTP %d %s" % (t, r.status, out[:300]))
    return json.loads(out)["id"], ms


def connect(addr):
    host, port = addr.rsplit(":", 1)
    return http.client.HTTPConnection(host, int(port))


last_ids = {}


def conversation(name, addr, lat):
    conn = connect(addr)
    prev, ids = None, []
    sid = "bench-" + uuid.uuid4().hex if mode == "session" else None
    for t in range(1, turns + 1):
        prev, ms = post(conn, t, prev if mode == "prev" else None, sid)
        ids.append(prev)
        lat[t].append(ms)
    conn.close()
    last_ids[name] = ids


lats = {name: {t: [] for t in range(1, turns + 1)} for name, _ in backends}
skipped = {}
for c in range(convs):
    k = c % len(backends)
    for name, addr in backends[k:] + backends[:k]:
        if name in skipped:
            continue
        try:
            conversation(name, addr, lats[name])
        except Skip as e:
            skipped[name] = str(e)


def fig(v):
    q = statistics.quantiles(v, n=10) if len(v) > 1 else [v[0]] * 9
    return "%7.3f ms (p10 %7.3f .. p90 %7.3f)" % (statistics.median(v), q[0], q[-1])


label = "previous_response_id" if mode == "prev" else "metadata.session_id"
for name, _ in backends:
    if name in skipped:
        print("  %-8s %s: skipped, the server answered 501: %s" % (name, label, skipped[name]))
        continue
    lat = lats[name]
    for t in sorted({1, 2, max(2, turns // 2), turns}):
        print("  %-8s %s turn %-3d median %s" % (name, label, t, fig(lat[t])))
    g = statistics.median(lat[turns]) / statistics.median(lat[2]) - 1
    print("  %-8s %s growth turn 2 -> turn %d: %+.0f %%   (target <= +20 %%)" % (name, label, turns, g * 100))

if mode == "prev":
    pairs = 4 * convs
    for name, addr in backends:
        if name in skipped:
            continue
        conn, ids = connect(addr), last_ids[name]
        a, b, ratios = [], [], []
        for i in range(pairs):
            if i % 2 == 0:
                _, x = post(conn, 2, ids[0], None)
                _, y = post(conn, turns, ids[turns - 2], None)
            else:
                _, y = post(conn, turns, ids[turns - 2], None)
                _, x = post(conn, 2, ids[0], None)
            a.append(x)
            b.append(y)
            ratios.append(y / x)
        conn.close()
        print("  %-8s paired branches (%d pairs): turn 2 median %.3f ms, turn %d median %.3f ms,"
              " growth (median of the pairs' ratios) %+.0f %%   (target <= +20 %%)" %
              (name, pairs, statistics.median(a), turns, statistics.median(b), (statistics.median(ratios) - 1) * 100))


def cpu_ns(spec):
    """CPU time (ns) of the processes spec names: PID, or PID+ with its children."""
    import glob
    import os
    total = 0
    for p in spec.split(","):
        pids = [p.rstrip("+")]
        if p.endswith("+"):
            for f in glob.glob("/proc/[0-9]*/stat"):
                try:
                    if open(f).read().rsplit(")", 1)[1].split()[1] == pids[0]:
                        pids.append(f.split("/")[2])
                except (OSError, IndexError):
                    pass
        for pid in pids:
            for f in glob.glob("/proc/%s/task/*/schedstat" % pid):
                try:
                    total += int(open(f).read().split()[0])
                except (OSError, ValueError, IndexError):
                    pass
    return total


cpu_specs = dict(a.split("=", 1) for a in filter(None, os.environ.get("BENCH_TURN_CPU", "").split(";")))
if mode == "prev" and cpu_specs:
    block = 20
    for name, addr in backends:
        if name in skipped or name not in cpu_specs:
            continue
        conn, ids, spec = connect(addr), last_ids[name], cpu_specs[name]
        c2, cn = [], []
        for i in range(2 * convs):
            for prev, acc in ((ids[0], c2), (ids[turns - 2], cn)) if i % 2 == 0 else ((ids[turns - 2], cn), (ids[0], c2)):
                t0 = cpu_ns(spec)
                for _ in range(block):
                    post(conn, 0, prev, None)
                acc.append((cpu_ns(spec) - t0) / block / 1000)
        conn.close()
        print("  %-8s CPU per continuation (%s; medians of %d blocks of %d): turn 2 %.0f us, turn %d %.0f us, growth %+.0f %%" %
              (name, spec, 2 * convs, block, statistics.median(c2), turns, statistics.median(cn),
               (statistics.median(cn) / statistics.median(c2) - 1) * 100))
if mode == "session" and cpu_specs:
    block = 10

    def aged(conn, age):
        """block new sessions, each age turns old (not measured)."""
        sids = ["bench-cpu-" + uuid.uuid4().hex for _ in range(block)]
        for sid in sids:
            for t in range(1, age + 1):
                post(conn, t, None, sid)
        return sids

    for name, addr in backends:
        if name in skipped or name not in cpu_specs:
            continue
        conn, spec = connect(addr), cpu_specs[name]
        c2, cn = [], []
        for i in range(convs):
            for age, acc in ((1, c2), (turns - 1, cn)) if i % 2 == 0 else ((turns - 1, cn), (1, c2)):
                sids = aged(conn, age)
                # the aging turns' aftermath (WAL writer, background
                # writer) is not the measured turns' cost: 19 times as
                # many aging turns precede a turn-TURNS block, so let it
                # settle before each block of either kind
                time.sleep(0.3)
                t0 = cpu_ns(spec)
                for sid in sids:
                    post(conn, age + 1, None, sid)
                acc.append((cpu_ns(spec) - t0) / block / 1000)
        conn.close()
        print("  %-8s CPU per session turn (%s; medians of %d blocks of %d): turn 2 %.0f us, turn %d %.0f us, growth %+.0f %%" %
              (name, spec, convs, block, statistics.median(c2), turns, statistics.median(cn),
               (statistics.median(cn) / statistics.median(c2) - 1) * 100))
