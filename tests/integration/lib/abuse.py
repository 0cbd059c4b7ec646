#!/usr/bin/env python3
"""abuse.py MODE HOST:PORT [args] - hostile clients for the http_abuse_* tests.

Every mode prints "name: value" lines, one per observation, and waits for
nothing without a bound.  Client addresses 127.0.0.N are loopback aliases
(Linux routes all of 127/8 to lo), so the per-address cap can be passed.

  halfopen N NADDR          N requests cut off after their first header
                            line, from NADDR addresses, then all closed;
                            prints how long until a normal request from
                            127.0.0.1 is answered 200 (bounded: 20 s)
  nobody N                  N x GET /healthz announcing a 100-byte body
                            with 4 bytes sent: how many were answered at
                            once (413) and closed; then all closed
  query N                   GET /healthz with N query parameters: the
                            status line and whether the server closed
  slowloris N NADDR SECS    N connections from NADDR addresses trickling a
                            request one header byte a second, plus N/4
                            idle ones that send nothing; meanwhile a
                            normal request from 127.0.0.1 every 0.25 s.
                            Prints the slowest normal answer and, after
                            SECS, how many of each kind were closed
  flood N NADDR             N held connections from NADDR addresses, one
                            address after the other (each tries
                            GET /healthz): how many were answered
                            and how many closed unanswered; then closes
                            them and prints how long until a normal
                            request is answered again
  streams N TOKEN           N concurrent POST /v1/responses with
                            "stream": true on local/echo; checks each
                            event sequence; prints how many were valid
"""
import json
import os
import select
import socket
import sys
import time

STORE = os.environ.get("ABUSE_STORE", "1") == "1"
HEALTHZ = b"GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"


def conn(host, port, src="127.0.0.1", timeout=5.0):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.bind((src, 0))
    s.connect((host, port))
    return s


def src_addr(i, naddr, first=2):
    return "127.0.0.%d" % (first + i % naddr)


def read_reply(s, limit=5.0, done=None):
    """Reads until the peer closes, limit, or done(data) says the reply is
    whole: (bytes, closed)."""
    data = b""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if done is not None and done(data):
            return data, False
        r, _, _ = select.select([s], [], [], max(0.0, deadline - time.monotonic()))
        if not r:
            break
        try:
            chunk = s.recv(65536)
        except (ConnectionResetError, socket.timeout):
            return data, True
        if not chunk:
            return data, True
        data += chunk
    return data, False


def _content_length_whole(data):
    head, sep, body = data.partition(b"\r\n\r\n")
    if sep:
        for line in head.split(b"\r\n")[1:]:
            k, _, v = line.partition(b":")
            if k.strip().lower() == b"content-length" and len(body) >= int(v):
                return True
    return False


def read_response(s, limit=5.0):
    """Reads one response with a Content-Length (or until the peer closes
    or limit): (bytes, closed)."""
    return read_reply(s, limit, _content_length_whole)


def healthz_ok(host, port, src="127.0.0.1", timeout=2.0):
    try:
        s = conn(host, port, src, timeout)
        s.sendall(HEALTHZ)
        data, _ = read_reply(s, timeout)
        s.close()
        return data.startswith(b"HTTP/1.1 200")
    except OSError:
        return False


def until_answered(host, port, limit=20.0, src="127.0.0.1"):
    start = time.monotonic()
    while time.monotonic() - start < limit:
        if healthz_ok(host, port, src):
            return "%.2f" % (time.monotonic() - start)
        time.sleep(0.05)
    return "never"


def halfopen(host, port, n, naddr):
    socks = []
    for i in range(n):
        try:
            s = conn(host, port, src_addr(i, naddr, 1))
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\n")
            socks.append(s)
        except OSError:
            pass
    print("opened: %d" % len(socks))
    for s in socks:
        s.close()
    print("answered after: %s" % until_answered(host, port))


def nobody(host, port, n):
    socks = [conn(host, port) for _ in range(n)]
    for s in socks:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\nabcd")
    answered = closed = 0
    bodies = set()
    for s in socks:
        data, was_closed = read_reply(s, 5.0)
        if data.startswith(b"HTTP/1.1 413"):
            answered += 1
            bodies.add(data.split(b"\r\n\r\n", 1)[-1].decode(errors="replace"))
        closed += was_closed
    for s in socks:
        s.close()
    print("answered 413: %d" % answered)
    print("closed by the server: %d" % closed)
    for b in sorted(bodies):
        print("body: %s" % b)


def query(host, port, n):
    s = conn(host, port)
    q = "&".join("p%d=%d" % (i, i) for i in range(n))
    s.sendall(("GET /healthz?%s HTTP/1.1\r\nHost: t\r\n\r\n" % q).encode())
    start = time.monotonic()
    data, closed = read_reply(s, 5.0)
    s.close()
    print("status: %s" % data.split(b"\r\n", 1)[0].decode(errors="replace"))
    print("closed: %s" % ("yes" if closed and time.monotonic() - start < 2.0 else "no"))
    print("body: %s" % data.split(b"\r\n\r\n", 1)[-1].decode(errors="replace"))


def slowloris(host, port, n, naddr, secs):
    req = b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-Slow: " + b"a" * 4096
    trickle, idle = [], []
    for i in range(n):
        s = conn(host, port, src_addr(i, naddr))
        s.setblocking(False)
        trickle.append([s, 0, True])
    for i in range(n // 4):
        idle.append([conn(host, port, src_addr(i, naddr)), True])
    slowest = 0.0
    failed = 0
    start = time.monotonic()
    next_byte = start
    while time.monotonic() - start < secs:
        now = time.monotonic()
        if now >= next_byte:
            for t in trickle:
                if not t[2]:
                    continue
                try:
                    t[0].send(req[t[1]:t[1] + 1])
                    t[1] += 1
                except (BlockingIOError, InterruptedError):
                    pass
                except OSError:
                    t[2] = False
            next_byte += 1.0
        t0 = time.monotonic()
        if healthz_ok(host, port, "127.0.0.1", 2.0):
            slowest = max(slowest, time.monotonic() - t0)
        else:
            failed += 1
        time.sleep(0.25)
    # a connection the server closed reads as EOF (or a reset)
    def gone(s):
        try:
            r, _, _ = select.select([s], [], [], 0)
            return bool(r) and s.recv(1) == b""
        except OSError:
            return True
    for t in trickle:
        t[2] = t[2] and not gone(t[0])
    print("normal requests failed: %d" % failed)
    print("slowest normal answer ms: %d" % int(slowest * 1000))
    print("trickling closed: %d of %d" % (sum(1 for t in trickle if not t[2]), n))
    print("idle closed: %d of %d" % (sum(1 for s in idle if gone(s[0])), len(idle)))
    for t in trickle:
        t[0].close()
    for s in idle:
        s[0].close()


def flood(host, port, n, naddr):
    """Opens n connections, address by address (so the per-address cap is
    passed first), each kept open; every connection's outcome is awaited
    before the next is opened, since the server's event loops each accept
    from their own queue and would otherwise take them in any order."""
    socks = []
    per = (n + naddr - 1) // naddr
    answered = refused = 0
    by_addr = [0] * naddr
    for i in range(n):
        try:
            s = conn(host, port, "127.0.0.%d" % (2 + i // per))
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
        except OSError:
            continue
        socks.append(s)
        data, closed = read_response(s, 5.0)
        if data.startswith(b"HTTP/1.1 200"):
            answered += 1
            by_addr[i // per] += 1
        elif closed:
            refused += 1
    print("answered: %d" % answered)
    print("closed unanswered: %d" % refused)
    print("answered per address: %s" % " ".join(str(k) for k in by_addr))
    for s in socks:
        s.close()
    print("answered after: %s" % until_answered(host, port))


def streams(host, port, n, token):
    body = json.dumps({"model": "local/echo", "input": "hello streams", "stream": True,
                       "store": STORE}).encode()
    req = (b"POST /v1/responses HTTP/1.1\r\nHost: t\r\nConnection: close\r\n"
           b"Authorization: Bearer " + token.encode() + b"\r\nContent-Type: application/json\r\n"
           b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
    socks = []
    for i in range(n):
        s = conn(host, port, src_addr(i, 8), 30.0)
        s.setblocking(False)
        socks.append(s)
    for s in socks:
        s.setblocking(True)
        s.sendall(req)
        s.setblocking(False)
    bufs = {s.fileno(): b"" for s in socks}
    open_socks = {s.fileno(): s for s in socks}
    deadline = time.monotonic() + 45
    while open_socks and time.monotonic() < deadline:
        r, _, _ = select.select(list(open_socks.values()), [], [], 1.0)
        for s in r:
            try:
                chunk = s.recv(65536)
            except BlockingIOError:
                continue
            except OSError:
                chunk = b""
            if chunk:
                bufs[s.fileno()] += chunk
            else:
                del open_socks[s.fileno()]
    valid = 0
    problems = {}
    for s in socks:
        why = check_stream(bufs[s.fileno()])
        if why is None:
            valid += 1
        else:
            problems[why] = problems.get(why, 0) + 1
        s.close()
    print("streams valid: %d of %d" % (valid, n))
    for why, count in sorted(problems.items()):
        print("problem: %s (%d)" % (why, count))


def check_stream(raw):
    """None when raw is a 200 SSE reply with a valid event sequence, else why not."""
    head, _, body = raw.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 200"):
        return "status " + head.split(b"\r\n", 1)[0].decode(errors="replace")
    if b"chunked" in head.lower():
        out, rest = b"", body
        while rest:
            size, _, rest = rest.partition(b"\r\n")
            try:
                k = int(size.split(b";")[0], 16)
            except ValueError:
                return "bad chunking"
            if k == 0:
                break
            out, rest = out + rest[:k], rest[k + 2:]
        body = out
    events = []
    done = False
    for block in body.decode(errors="replace").split("\n\n"):
        data = [ln[5:].lstrip() for ln in block.split("\n") if ln.startswith("data:")]
        if not data:
            continue
        text = "\n".join(data)
        if text == "[DONE]":
            done = True
            continue
        try:
            events.append(json.loads(text))
        except ValueError:
            return "event is not JSON"
    if not done:
        return "no [DONE]"
    if not events or events[0].get("type") != "response.created":
        return "does not start with response.created"
    if events[-1].get("type") != "response.completed":
        return "does not end with response.completed"
    seq = [e.get("sequence_number") for e in events]
    if any(not isinstance(x, int) for x in seq) or any(b <= a for a, b in zip(seq, seq[1:])):
        return "sequence_number not rising"
    text = "".join(e.get("delta", "") for e in events if e.get("type") == "response.output_text.delta")
    final = events[-1].get("response", {})
    outs = [c.get("text", "") for o in final.get("output", []) for c in o.get("content", [])
            if c.get("type") == "output_text"]
    if text != "".join(outs) or not text:
        return "deltas do not add up to the final text"
    return None


def main():
    mode, addr = sys.argv[1], sys.argv[2]
    host, port = addr.rsplit(":", 1)
    port = int(port)
    args = sys.argv[3:]
    if mode == "halfopen":
        halfopen(host, port, int(args[0]), int(args[1]))
    elif mode == "nobody":
        nobody(host, port, int(args[0]))
    elif mode == "query":
        query(host, port, int(args[0]))
    elif mode == "slowloris":
        slowloris(host, port, int(args[0]), int(args[1]), float(args[2]))
    elif mode == "flood":
        flood(host, port, int(args[0]), int(args[1]))
    elif mode == "streams":
        streams(host, port, int(args[0]), args[1])
    else:
        sys.exit("unknown mode " + mode)
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
