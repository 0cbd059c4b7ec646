#!/usr/bin/env python3
"""A TCP proxy in front of a PostgreSQL Unix socket that can play a database
host that stops answering without closing anything (a hung host, a network
partition): the case a statement_timeout cannot cover, since the server
never sees the statement.  Standard library only.

    pgfreeze.py UNIX_SOCKET_PATH

Listens on 127.0.0.1 (an ephemeral port) and prints "pgfreeze port=<N>"
once it accepts.  Each client connection is relayed to the Unix socket.
SIGUSR1 freezes: nothing more is relayed either way and no new connection
is accepted (the kernel still completes TCP handshakes into the backlog, so
a connect "succeeds" and then hears nothing).  SIGUSR2 thaws: every
connection held so far is closed (the partition healed, the old sessions
are gone), then new ones are relayed again.  Prints "frozen" / "thawed"
after each switch.
"""
import selectors
import signal
import socket
import sys
import time

path = sys.argv[1]
lsock = socket.socket()
lsock.bind(("127.0.0.1", 0))
lsock.listen(64)
lsock.setblocking(False)
sel = selectors.DefaultSelector()
pairs = {}  # socket -> its peer
state = {"frozen": False, "switch": None}


def on_usr1(sig, frame):
    state["switch"] = "freeze"


def on_usr2(sig, frame):
    state["switch"] = "thaw"


signal.signal(signal.SIGUSR1, on_usr1)
signal.signal(signal.SIGUSR2, on_usr2)


def drop(s):
    peer = pairs.pop(s, None)
    for x in (s, peer):
        if x is None:
            continue
        pairs.pop(x, None)
        try:
            sel.unregister(x)
        except (KeyError, ValueError):
            pass
        x.close()


def arm():
    sel.register(lsock, selectors.EVENT_READ)
    for s in list(pairs):
        sel.register(s, selectors.EVENT_READ)


def disarm():
    sel.unregister(lsock)
    for s in list(pairs):
        sel.unregister(s)


arm()
print("pgfreeze port=%d" % lsock.getsockname()[1], flush=True)
while True:
    sw, state["switch"] = state["switch"], None
    if sw == "freeze" and not state["frozen"]:
        disarm()
        state["frozen"] = True
        print("frozen", flush=True)
    elif sw == "thaw" and state["frozen"]:
        for s in list(pairs):
            if s in pairs:
                pairs[s].close()
                s.close()
        pairs.clear()
        # connections the kernel completed while frozen: gone as well
        while True:
            try:
                c, _ = lsock.accept()
                c.close()
            except BlockingIOError:
                break
        sel.register(lsock, selectors.EVENT_READ)
        state["frozen"] = False
        print("thawed", flush=True)
    if state["frozen"]:
        time.sleep(0.02)  # until SIGUSR2
        continue
    try:
        events = sel.select(timeout=0.2)
    except InterruptedError:
        continue
    for key, _ in events:
        s = key.fileobj
        if s is lsock:
            try:
                c, _ = lsock.accept()
            except BlockingIOError:
                continue
            u = socket.socket(socket.AF_UNIX)
            try:
                u.connect(path)
            except OSError:
                c.close()
                u.close()
                continue
            pairs[c] = u
            pairs[u] = c
            sel.register(c, selectors.EVENT_READ)
            sel.register(u, selectors.EVENT_READ)
            continue
        if s not in pairs:
            continue
        try:
            data = s.recv(65536)
        except OSError:
            data = b""
        if not data:
            drop(s)
            continue
        try:
            pairs[s].sendall(data)
        except OSError:
            drop(s)
