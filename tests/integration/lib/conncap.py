#!/usr/bin/env python3
"""conncap.py HOST:PORT CAP - checks the per-client-address connection cap.

Opens CAP keep-alive connections (each proven accepted by a GET /healthz
answered 200 and left open), then one more, which must be closed without an
answer; then lets one of the held connections go and waits (bounded) until
a new connection is answered again.  Prints one "name: value" line per
observation; exits 0 when it could run to the end.
"""
import socket
import sys
import time

REQ = b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n"


def ask(host, port, timeout=5.0):
    """Returns (socket, 'answered'|'closed'|'timeout')."""
    s = socket.create_connection((host, port), timeout=timeout)
    try:
        s.sendall(REQ)
        data = b""
        while b"\r\n\r\n" not in data or not data.rstrip().endswith(b"}"):
            chunk = s.recv(4096)
            if not chunk:
                return s, "closed"
            data += chunk
        return s, "answered" if data.startswith(b"HTTP/1.1 200") else "other"
    except (ConnectionResetError, BrokenPipeError):
        return s, "closed"
    except socket.timeout:
        return s, "timeout"


def main():
    host, port = sys.argv[1].rsplit(":", 1)
    port, cap = int(port), int(sys.argv[2])
    held = []
    answered = 0
    for _ in range(cap):
        s, verdict = ask(host, port)
        held.append(s)
        answered += verdict == "answered"
    print("held answered: %d" % answered)
    extra, verdict = ask(host, port)
    extra.close()
    print("over the cap: %s" % verdict)
    held.pop().close()
    verdict = "never"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        s, v = ask(host, port)
        s.close()
        if v == "answered":
            verdict = v
            break
        time.sleep(0.05)
    print("after one left: %s" % verdict)
    for s in held:
        s.close()


if __name__ == "__main__":
    main()
