#!/usr/bin/env python3
"""Load on several replicas for the fleet chaos tests (standard library only).

    fleetload.py run TOKEN LOG STOPFILE ADDR...
        WORKERS threads (FLEETLOAD_WORKERS, default 6), each in a loop until STOPFILE exists: a
        POST /v1/responses (local/echo, JSON) to the next replica in turn,
        alternating store:true and store:false, PAUSE_S (10 ms) apart; one
        JSON line per request
        appended to LOG (flushed):
            {"t0": ms, "t1": ms, "addr": A, "store": bool, "status": N,
             "code": error code or null, "id": response id or null}
        t0/t1 are wall-clock ms (the test compares them with `date +%s%3N`);
        status 0 is a transport failure (no answer in 5 s, a reset).
        Prints "fleetload running" once every worker has had an answer.
    fleetload.py verify TOKEN LOG ADDR...
        GET /v1/responses/{id} of every store:true 200 in LOG, each from a
        replica other than the one that created it; prints
        "verified N missing M" and one line per missing id.
"""
import http.client
import json
import os
import sys
import threading
import time

WORKERS = int(os.environ.get("FLEETLOAD_WORKERS", "6"))
PAUSE_S = 0.01


def now_ms():
    return int(time.time() * 1000)


def request(addr, token, method, path, body=None):
    host, port = addr.rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=5)
    try:
        headers = {"Authorization": "Bearer " + token}
        if body is not None:
            headers["Content-Type"] = "application/json"
        conn.request(method, path, body=body, headers=headers)
        r = conn.getresponse()
        data = r.read()
        try:
            doc = json.loads(data)
        except ValueError:
            doc = None
        return r.status, doc
    except (OSError, http.client.HTTPException):
        return 0, None
    finally:
        conn.close()


def run(token, log, stopfile, addrs):
    lock = threading.Lock()
    out = open(log, "a", encoding="utf-8")
    answered = [False] * WORKERS
    announced = [False]

    def worker(w):
        n = w
        while not os.path.exists(stopfile):
            addr = addrs[n % len(addrs)]
            store = (n // len(addrs)) % 2 == 0
            n += 1
            body = json.dumps({"model": "local/echo", "store": store,
                               "input": "load %d/%d" % (w, n)})
            t0 = now_ms()
            status, doc = request(addr, token, "POST", "/v1/responses", body)
            t1 = now_ms()
            code = None
            rid = None
            if isinstance(doc, dict):
                if isinstance(doc.get("error"), dict):
                    code = doc["error"].get("code")
                if status == 200:
                    rid = doc.get("id")
            line = json.dumps({"t0": t0, "t1": t1, "addr": addr, "store": store,
                               "status": status, "code": code, "id": rid})
            with lock:
                out.write(line + "\n")
                out.flush()
                answered[w] = True
                if all(answered) and not announced[0]:
                    announced[0] = True
                    print("fleetload running", flush=True)
            time.sleep(PAUSE_S)  # fast 503s must not flood a shared machine

    threads = [threading.Thread(target=worker, args=(w,)) for w in range(WORKERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    out.close()


def verify(token, log, addrs):
    ok, missing = 0, []
    for line in open(log, encoding="utf-8"):
        r = json.loads(line)
        if not (r["store"] and r["status"] == 200 and r["id"]):
            continue
        other = addrs[(addrs.index(r["addr"]) + 1) % len(addrs)]
        status, doc = request(other, token, "GET", "/v1/responses/" + r["id"])
        if status == 200 and isinstance(doc, dict) and doc.get("status") == "completed" \
                and doc.get("id") == r["id"]:
            ok += 1
        else:
            missing.append("%s from %s: %s" % (r["id"], other, status))
    print("verified %d missing %d" % (ok, len(missing)))
    for m in missing:
        print(m)


if __name__ == "__main__":
    if len(sys.argv) >= 6 and sys.argv[1] == "run":
        run(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:])
    elif len(sys.argv) >= 5 and sys.argv[1] == "verify":
        verify(sys.argv[2], sys.argv[3], sys.argv[4:])
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(64)
