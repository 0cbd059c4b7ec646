#!/usr/bin/env python3
"""Hostile WebSocket clients for tests/integration/http_websocket_abuse.sh.

A raw socket (standard library only), so a test can send what a browser or
Node's WebSocket never would: floods without reading, invalid UTF-8, binary
frames, oversize messages, many creates in one write.  Each mode prints one
JSON line of what it saw; the shell asserts.

    ws_abuse.py flood ADDR TOKEN PID ping|bad SECONDS LIMIT_KB
        sends pings (125-byte payload) or 1-byte non-JSON text messages
        (each answered by an error envelope) without reading, for SECONDS
        or until PID's VmRSS grew LIMIT_KB (then it stops: the machine is
        shared); then reads what came and sends a response.create:
        {"base_kb","peak_kb","stopped":"time"|"rss","sent","after":...}
        where after is "completed", "close:CODE" or "eof" or "timeout".
    ws_abuse.py frames ADDR TOKEN BODY_LIMIT
        invalid UTF-8, a binary message, an oversize message (each on its
        own socket: close code and the envelope before it); and one write of
        a slow create and 6 creates of BODY_LIMIT*5/8 bytes each (the
        waiting queue's byte cap): the count of 429s and their message.
    ws_abuse.py age ADDR TOKEN
        a slow turn outliving a short age limit and a create sent during
        it: {"seen": [completed, envelopes' codes..., "close:CODE"], "ms"}.
    ws_abuse.py memory ADDR TOKEN
        store:false turns continuing each other on one socket (the stub's
        record shows what the socket remembered): prints the turns' status.
"""
import json
import select
import socket
import struct
import sys
import time

KEY = "dGhlIHNhbXBsZSBub25jZQ=="


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def frame(op, payload):
    """A client frame, masked with a zero key (legal; the payload unchanged)."""
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", 0x80 | op, 0x80 | n)
    elif n < 65536:
        head = struct.pack("!BBH", 0x80 | op, 0x80 | 126, n)
    else:
        head = struct.pack("!BBQ", 0x80 | op, 0x80 | 127, n)
    return head + b"\0\0\0\0" + payload


class Conn:
    def __init__(self, addr, token):
        host, port = addr.rsplit(":", 1)
        self.s = socket.create_connection((host, int(port)), timeout=10)
        self.s.sendall((f"GET /v1/responses HTTP/1.1\r\nHost: {addr}\r\n"
                        "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                        f"Sec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\n"
                        f"Authorization: Bearer {token}\r\n\r\n").encode())
        buf = b""
        while b"\r\n\r\n" not in buf:
            d = self.s.recv(4096)
            if not d:
                raise SystemExit("handshake: EOF")
            buf += d
        head, self.buf = buf.split(b"\r\n\r\n", 1)
        self.pos = 0
        if b" 101 " not in head.split(b"\r\n")[0]:
            raise SystemExit("handshake: " + head.split(b"\r\n")[0].decode())
        self.eof = False

    def _fill(self, timeout):
        r, _, _ = select.select([self.s], [], [], timeout)
        if not r:
            return False
        try:
            d = self.s.recv(1 << 20)
        except ConnectionResetError:  # closed with our bytes unread: an end too
            d = b""
        if not d:
            self.eof = True
            return False
        self.buf += d
        return True

    def frame_ready(self):
        """(op, payload) of a whole frame in the buffer, or None.  The
        buffer is read from self.pos and cut only now and then: a flood's
        answers are hundreds of thousands of frames."""
        b, i = self.buf, self.pos
        if len(b) - i < 2:
            return None
        n, off = b[i + 1] & 0x7F, i + 2
        if n == 126:
            if len(b) - i < 4:
                return None
            n, off = struct.unpack_from("!H", b, i + 2)[0], i + 4
        elif n == 127:
            if len(b) - i < 10:
                return None
            n, off = struct.unpack_from("!Q", b, i + 2)[0], i + 10
        if len(b) < off + n:
            return None
        self.pos = off + n
        if self.pos > (1 << 20):
            self.buf, self.pos = b[self.pos:], 0
        return b[i] & 0x0F, b[off:off + n]

    def next(self, deadline):
        """The next message (op, payload) or None at EOF or the deadline."""
        while True:
            f = self.frame_ready()  # the server sends each message as one frame
            if f is not None:
                return f
            left = deadline - time.monotonic()
            if self.eof or left <= 0:
                return None
            self._fill(left)

    def until(self, pred, secs=10):
        """Messages until pred(op, payload) is true: that one, or None."""
        deadline = time.monotonic() + secs
        while True:
            m = self.next(deadline)
            if m is None or pred(*m):
                return m


def close_code(p):
    return struct.unpack("!H", p[:2])[0] if len(p) >= 2 else 1005


def create(text, **kw):
    body = {"type": "response.create", "store": False,
            "input": [{"type": "message", "role": "user", "content": text}]}
    body.update(kw)
    return json.dumps(body).encode()


def flood(addr, token, pid, kind, secs, limit_kb):
    c = Conn(addr, token)
    pid = int(pid)
    one = frame(0x9, b"p" * 125) if kind == "ping" else frame(0x1, b"x")
    chunk = one * (65536 // len(one))
    base = peak = rss_kb(pid)
    stopped, sent = "time", 0
    c.s.setblocking(False)
    end = time.monotonic() + float(secs)
    next_rss = 0.0
    pending = b""
    while time.monotonic() < end:
        now = time.monotonic()
        if now >= next_rss:
            peak = max(peak, rss_kb(pid))
            next_rss = now + 0.05
            if peak - base >= int(limit_kb):
                stopped = "rss"
                break
        _, w, _ = select.select([], [c.s], [], 0.05)
        if not w:
            continue
        if not pending:
            pending = chunk
        try:
            n = c.s.send(pending)
        except BlockingIOError:
            continue
        sent += n
        pending = pending[n:]
    peak = max(peak, rss_kb(pid))
    # what the socket does now: the rest of the frame, a create, read it all
    c.s.setblocking(True)
    out = pending + frame(0x1, create("after the flood"))
    after = "timeout"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        r, w, _ = select.select([c.s], [c.s] if out else [], [], 0.2)
        if w:
            c.s.setblocking(False)
            try:
                out = out[c.s.send(out):]
            except BlockingIOError:
                pass
            c.s.setblocking(True)
        if r:
            d = c.s.recv(1 << 20)
            if not d:
                after = "eof"
                break
            c.buf += d
        f = c.frame_ready()
        done = False
        while f is not None:
            op, p = f
            if op == 0x8:
                after, done = f"close:{close_code(p)}", True
                break
            if op == 0x1 and b'"response.completed"' in p[:64]:
                after, done = "completed", True
                break
            f = c.frame_ready()
        if done:
            break
    print(json.dumps({"base_kb": base, "peak_kb": peak, "stopped": stopped, "sent": sent,
                      "after": after}))


def frames(addr, token, body_limit):
    body_limit = int(body_limit)
    res = {}
    cases = {
        "utf8": frame(0x1, b'{"type":"response.create","input":"caf\xc3"}'),
        "binary": frame(0x2, create("hi")),
        "big": frame(0x1, create("x" * (body_limit + 16))),
    }
    for name, data in cases.items():
        c = Conn(addr, token)
        c.s.sendall(data)
        seen = []
        m = c.until(lambda op, p: (seen.append(p) if op == 0x1 else None) or op == 0x8, 10)
        if m is not None:  # answer the close, as a client does
            try:
                c.s.sendall(frame(0x8, m[1][:2]))
            except OSError:  # the server has already gone (1007, 1009)
                pass
        env = json.loads(seen[0]).get("error", {}).get("code") if seen else None
        # then the server ends the socket (not at the idle timeout)
        c.until(lambda op, p: False, 3)
        res[name] = {"envelope": env, "close": close_code(m[1]) if m else None,
                     "eof": c.eof}
    # the waiting queue's bytes: a slow turn in flight, then 6 creates of
    # 5/8 of a body each (3 fit in 2 bodies, 3 do not)
    c = Conn(addr, token)
    pad = "p" * (body_limit * 5 // 8 - 120)
    data = frame(0x1, create("[stub:slow] a"))
    for i in range(6):
        data += frame(0x1, create(f"q{i}", metadata={"pad": pad}))
    c.s.sendall(data)
    codes, msg = [], None
    deadline = time.monotonic() + 20
    while len(codes) < 7:
        m = c.next(deadline)
        if m is None:
            break
        op, p = m
        if op != 0x1:
            continue
        o = json.loads(p)
        if o.get("type") == "error":
            codes.append(o["status"])
            if o["status"] == 429:
                msg = o["error"]["message"]
        elif o.get("type") in ("response.completed", "response.failed"):
            codes.append(o["type"])
    res["queue"] = {"n429": codes.count(429), "seen": len(codes), "message": msg}
    print(json.dumps(res))


def memory(addr, token):
    c = Conn(addr, token)

    def turn(body):
        c.s.sendall(frame(0x1, json.dumps(body).encode()))
        m = c.until(lambda op, p: op == 0x1 and json.loads(p).get("type") in
                    ("response.completed", "response.failed", "error"), 20)
        o = json.loads(m[1]) if m else {}
        return o.get("response", {}).get("id"), o.get("type")

    out = []
    prev = None
    for text in ("one", "two", "three"):
        body = json.loads(create(text))
        if prev:
            body["previous_response_id"] = prev
        prev, st = turn(body)
        out.append(st)
    body = json.loads(create("x"))
    body["input"].insert(0, {"type": "message", "role": "user", "content": "A" * 5000})
    prev, st = turn(body)
    out.append(st)
    prev, st = turn(dict(json.loads(create("y")), previous_response_id=prev))
    out.append(st)
    print(json.dumps({"turns": out}))


def age(addr, token):
    """A slow turn that outlives the socket's age limit, and a create sent
    during it: what came back, in order, up to the close."""
    c = Conn(addr, token)
    start = time.monotonic()
    c.s.sendall(frame(0x1, create("[stub:slow] a b c d e f g h")))
    seen, sent2 = [], False
    deadline = start + 20
    while True:
        if not sent2 and time.monotonic() - start >= 1.0:
            c.s.sendall(frame(0x1, create("during the turn")))
            sent2 = True
        m = c.next(min(deadline, start + 1.0) if not sent2 else deadline)
        if m is None:
            if sent2 or c.eof:
                break
            continue
        op, p = m
        if op == 0x8:
            seen.append(f"close:{close_code(p)}")
            break
        if op == 0x1:
            o = json.loads(p)
            t = o.get("type")
            if t == "error":
                seen.append(o["error"]["code"])
            elif t in ("response.completed", "response.failed"):
                seen.append(t)
    print(json.dumps({"seen": seen, "ms": int((time.monotonic() - start) * 1000)}))


if __name__ == "__main__":
    mode, args = sys.argv[1], sys.argv[2:]
    {"flood": flood, "frames": frames, "memory": memory, "age": age}[mode](*args)
