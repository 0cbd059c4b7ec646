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
the growth from turn 2 to turn TURNS (medians).  A backend that answers its
first turn with 501 not_in_fleet_mode (a build whose fleet mode has no
shared sessions) is skipped with a message.  Exits 1 on any other non-200.
"""
import http.client
import json
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


def conversation(addr, lat):
    host, port = addr.rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port))
    prev, sid = None, "bench-" + uuid.uuid4().hex
    for t in range(1, turns + 1):
        body = {"input": "turn %d: %s" % (t, pad)}
        if mode == "prev" and prev:
            body["previous_response_id"] = prev
        if mode == "session":
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
        prev = json.loads(out)["id"]
        lat[t].append(ms)
    conn.close()


lats = {name: {t: [] for t in range(1, turns + 1)} for name, _ in backends}
skipped = {}
for c in range(convs):
    k = c % len(backends)
    for name, addr in backends[k:] + backends[:k]:
        if name in skipped:
            continue
        try:
            conversation(addr, lats[name])
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
