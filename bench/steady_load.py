#!/usr/bin/env python3
"""steady_load.py - POST /v1/responses (local/echo, store false) at a steady
rate for a number of seconds, over keep-alive connections, and print what
was achieved: "sent=N ok=N rate=R/s late_ms=L" (late_ms: how far the last
request started behind its schedule; a client that cannot keep up says so
instead of silently sending fewer).

    steady_load.py HOST:PORT TOKEN RATE SECS [THREADS]

Each of THREADS threads sends RATE/THREADS requests a second on its own
connection, each request at its slot of an absolute schedule (no drift).
Used by bench/console.sh (the server panel at 1,000 req/s).
"""
import http.client
import sys
import threading
import time


def worker(host, port, token, rate, secs, start, out, idx):
    conn = http.client.HTTPConnection(host, port, timeout=10)
    body = b'{"model":"local/echo","input":"bench","store":false}'
    headers = {"Authorization": "Bearer " + token, "Content-Type": "application/json"}
    period = 1.0 / rate
    n = int(rate * secs)
    sent = ok = 0
    late = 0.0
    for i in range(n):
        due = start + i * period
        now = time.monotonic()
        if due > now:
            time.sleep(due - now)
        else:
            late = max(late, now - due)
        try:
            conn.request("POST", "/v1/responses", body, headers)
            r = conn.getresponse()
            r.read()
            sent += 1
            ok += r.status == 200
        except (OSError, http.client.HTTPException):
            sent += 1
            conn.close()
            conn = http.client.HTTPConnection(host, port, timeout=10)
    out[idx] = (sent, ok, late)


def main():
    hostport, token, rate, secs = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
    threads = int(sys.argv[5]) if len(sys.argv) > 5 else 4
    host, port = hostport.rsplit(":", 1)
    out = [None] * threads
    start = time.monotonic() + 0.1
    ts = [threading.Thread(target=worker, args=(host, int(port), token, rate / threads, secs, start,
                                                out, i)) for i in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    took = time.monotonic() - start
    sent = sum(o[0] for o in out)
    ok = sum(o[1] for o in out)
    late = max(o[2] for o in out)
    print("sent=%d ok=%d rate=%.0f/s late_ms=%.0f" % (sent, ok, sent / took, late * 1000))


if __name__ == "__main__":
    main()
