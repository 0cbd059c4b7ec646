#!/usr/bin/env python3
"""xffhold.py MODE HOST:PORT TOKEN XFF... - requests held open "through a
proxy" (X-Forwarded-For) for http_trusted_proxies.sh.  Every connection
comes from 127.0.0.1.  A held request is a POST /v1/responses sent with
"Expect: 100-continue" and its headers only: the server's "100 Continue"
says it has taken the request (and counted it for its client), a final
status that it refused it; either way the answer is the readiness signal,
so requests are held one after the other, in order.  Its body is sent
later.

  hold XFF...    one held request per XFF value, all open at once; then
                 the bodies of those not refused.  Prints the statuses,
                 sorted ("none": closed without an answer), the body of a
                 429, then the status of one more request with the first
                 XFF on a connection that was answered 200 and kept alive
                 ("again:").
  close XFF CAP  CAP held requests with XFF and a probe request with XFF
                 (must be refused); then one held connection is closed
                 mid-request, and the probe is repeated until it is
                 answered 200 (bounded): prints both outcomes.
"""
import json
import os
import select
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import abuse  # noqa: E402  (shares its response readers)

BODY = json.dumps({"input": "held through a proxy", "store": False}).encode()


def head(token, xff, expect=False):
    return (b"POST /v1/responses HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer " + token.encode() +
            b"\r\nContent-Type: application/json\r\nX-Forwarded-For: " + xff.encode() +
            (b"\r\nExpect: 100-continue" if expect else b"") +
            b"\r\nContent-Length: " + str(len(BODY)).encode() + b"\r\n\r\n")


def conn(host, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(10.0)
    s.connect((host, port))
    return s


def read_response(s, limit=10.0):
    """One response (Content-Length), or what came before close/limit."""
    return abuse.read_response(s, limit)[0]


def status(data):
    parts = data.split(b" ", 2)
    return parts[1].decode() if len(parts) > 1 and data.startswith(b"HTTP/1.1 ") else "none"


def interim(s, limit=10.0):
    """Reads up to the end of the first response head: b"" on close."""
    data = b""
    deadline = time.monotonic() + limit
    while b"\r\n\r\n" not in data and time.monotonic() < deadline:
        r, _, _ = select.select([s], [], [], max(0.0, deadline - time.monotonic()))
        if not r:
            break
        try:
            chunk = s.recv(1)  # byte by byte: nothing after the head is taken
        except OSError:
            break
        if not chunk:
            break
        data += chunk
    return data


def held(host, port, token, xff):
    """(socket, None) once the server took the request, or (socket, the
    refusal: a final response, or b"" when it closed without one)."""
    s = conn(host, port)
    try:
        s.sendall(head(token, xff, True))
    except OSError:
        return s, b""  # closed at once (a connection cap)
    got = interim(s)
    if got.startswith(b"HTTP/1.1 100"):
        return s, None
    if got:
        got += read_response_after(s, got)  # the refusal's body
    return s, got


def read_response_after(s, got):
    """The rest of a response whose first bytes, got, were read already."""
    data, _ = abuse.read_reply(s, 10.0, lambda d: abuse._content_length_whole(got + d))
    return data


def request(host, port, token, xff, s=None):
    own = s is None
    if own:
        s = conn(host, port)
    s.sendall(head(token, xff) + BODY)
    data = read_response(s)
    if own:
        s.close()
    return data


def hold(host, port, token, xffs):
    socks, answers = [], {}
    for x in xffs:
        sock, refusal = held(host, port, token, x)
        socks.append(sock)
        if refusal is not None:
            answers[sock] = refusal
    for sock in socks:
        if sock not in answers:
            sock.sendall(BODY)
            answers[sock] = read_response(sock)
    print("statuses: %s" % " ".join(sorted(status(answers[s]) for s in socks)))
    for s in socks:
        if status(answers[s]) == "429":
            print("refusal: %s" % answers[s].partition(b"\r\n\r\n")[2].decode(errors="replace"))
    ok = [s for s in socks if status(answers[s]) == "200"]
    if ok:
        print("again: %s" % status(request(host, port, token, xffs[0], ok[0])))
    for s in socks:
        s.close()


def until(host, port, token, xff, want, limit=10.0):
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        got = status(request(host, port, token, xff))
        if got == want:
            return got
        time.sleep(0.05)
    return "not " + want


def close(host, port, token, xff, cap):
    socks = []
    for _ in range(cap):
        sock, refusal = held(host, port, token, xff)
        if refusal is not None:
            print("held: refused %s" % status(refusal))
        socks.append(sock)
    print("probe while held: %s" % status(request(host, port, token, xff)))
    socks.pop().close()
    print("probe after a close: %s" % until(host, port, token, xff, "200"))
    for s in socks:
        s.sendall(BODY)
        read_response(s)
        s.close()


def main():
    mode, addr, token = sys.argv[1], sys.argv[2], sys.argv[3]
    host, port = addr.rsplit(":", 1)
    port = int(port)
    if mode == "hold":
        hold(host, port, token, sys.argv[4:])
    elif mode == "close":
        close(host, port, token, sys.argv[4], int(sys.argv[5]))
    else:
        sys.exit("unknown mode " + mode)


if __name__ == "__main__":
    main()
