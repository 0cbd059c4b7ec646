#!/usr/bin/env python3
"""records.py STATE_DIR - print a state directory's processed case keys and
request records as one JSON object, in state.json's schema 1 shape:

  {"processed_case_keys": [oldest first], "requests": [sorted by case_key]}

It reads the store the way the gateway does, independently of the C code:
state.json's "records" block names the snapshot generation and the committed
length of records.log; the snapshot's 96-byte trailer gives its data length;
each line is ["key",seq,"actor",record|null] and the log's last line for a
key wins.  A schema 1 state.json is read directly.  Used by the integration
tests that look at keys and records.

  records.py --memory STATE_DIR ACTOR   MEMORY.md as the reference renders it
                                        from the actor's records
  records.py --memory-check STATE_DIR   the number of actors under
                                        channel-store/gateway/ whose MEMORY.md
                                        is not that render (each one named on
                                        stderr); the store is read once
  records.py --to-v1 STATE_DIR          rewrites the current snapshot in the
                                        version 1 layout (no MEMORY.md lines),
                                        as a gateway before them wrote it
"""
import json
import os
import struct
import sys

FIELDS = ["case_key", "case_id", "method", "endpoint", "actor_id", "status_code",
          "outcome", "error_code", "response_body", "updated_unix_ms"]


def load(d):
    with open(os.path.join(d, "state.json")) as f:
        s = json.load(f)
    if "processed_case_keys" in s or "requests" in s:
        return {"processed_case_keys": s.get("processed_case_keys") or [],
                "requests": s.get("requests") or []}
    meta = s.get("records") or {}
    entries = {}
    gen = meta.get("generation", 0)
    if gen:
        with open(os.path.join(d, "records-%d.snap" % gen), "rb") as f:
            data = f.read()
        t = data[-96:]
        assert t[:8] == b"TAURECS1", "bad snapshot trailer"
        data_bytes = struct.unpack("<Q", t[24:32])[0]
        for line in data[:data_bytes].splitlines():
            k, seq, actor, rec = json.loads(line)
            entries[k] = (seq, rec)
    log_bytes = meta.get("log_bytes", 0)
    if log_bytes:
        with open(os.path.join(d, "records.log"), "rb") as f:
            data = f.read(log_bytes)
        assert len(data) == log_bytes and data.endswith(b"\n"), "log shorter than committed"
        for line in data.splitlines():
            k, seq, actor, rec = json.loads(line)
            entries[k] = (seq, rec)
    keys = sorted((seq, k) for k, (seq, rec) in entries.items() if seq)
    reqs = []
    for k in sorted(entries, key=lambda k: k.encode()):
        rec = entries[k][1]
        if rec is not None:
            r = dict(rec, case_key=k)
            reqs.append({f: r[f] for f in FIELDS})
    return {"processed_case_keys": [k for _, k in keys], "requests": reqs}


def render(actor, requests):
    """MEMORY.md of actor: its header, then a line per record of the actor
    in case_key order (as bytes), or the no-records line."""
    lines = ["- %s %s %s status=%d outcome=%s\n" % (q["case_id"], q["method"], q["endpoint"],
                                                    q["status_code"], q["outcome"])
             for q in requests if q["actor_id"] == actor]
    return "# Tau Gateway Snapshot (%s)\n\n" % actor + ("".join(lines) or "- No persisted requests\n")


def memory(d, actor):
    return render(actor, load(d)["requests"])


def memory_check(d):
    """How many actor directories hold a MEMORY.md other than render()'s."""
    by_actor = {}
    for q in load(d)["requests"]:
        by_actor.setdefault(q["actor_id"], []).append(q)
    root = os.path.join(d, "channel-store", "gateway")
    bad = 0
    for actor in sorted(os.listdir(root)) if os.path.isdir(root) else []:
        if not os.path.isdir(os.path.join(root, actor)):
            continue
        path = os.path.join(root, actor, "MEMORY.md")
        try:
            with open(path, "rb") as f:
                have = f.read()
        except OSError:
            have = None
        if have != render(actor, by_actor.get(actor, [])).encode():
            sys.stderr.write("records.py: %s is not the reference render\n" % path)
            bad += 1
    return bad


def fnv(b):
    h = 1469598103934665603
    for c in b:
        h = ((h ^ c) * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    return h


def to_v1(d):
    """Rewrites the current snapshot's entries in the version 1 layout."""
    with open(os.path.join(d, "state.json")) as f:
        gen = json.load(f)["records"]["generation"]
    path = os.path.join(d, "records-%d.snap" % gen)
    with open(path, "rb") as f:
        data = f.read()
    data_bytes = struct.unpack("<Q", data[-96:][24:32])[0]
    lines = [l + b"\n" for l in data[:data_bytes].splitlines()]
    out, offs, dirs = b"", [], []
    for l in lines:
        k, seq, actor, rec = json.loads(l)
        klit = l[1:1 + len(json.dumps(k).encode())]       # the gateway escapes as json does here
        alit = l[l.index(b",", len(klit) + 2) + 1:]          # past the key and seq
        alit = alit[:len(json.dumps(actor).encode())]
        assert klit[-1:] == b'"' and alit[:1] == b'"' and alit[-1:] == b'"', "unexpected literal"
        offs.append((len(out), klit, seq))
        if not dirs or dirs[-1][0] != alit:
            dirs.append([alit, len(out), 0])
        out += l
        dirs[-1][2] = len(out)
    for a, s0, e0 in dirs:
        out += b"[" + a + b",%d,%d]\n" % (s0, e0)
    dir_bytes = len(out) - data_bytes
    out += b"\n" * (-len(out) % 8)
    table_off = len(out)
    slots = 16
    while slots < 2 * len(offs):
        slots <<= 1
    table = [None] * slots
    for off, klit, seq in offs:
        h = fnv(klit)
        j = h & (slots - 1)
        while table[j] is not None:
            j = (j + 1) & (slots - 1)
        table[j] = (off + 1, h)
    out += b"".join(struct.pack("<QQ", *(t or (0, 0))) for t in table)
    seq_off = len(out)
    procs = sorted((seq, off) for off, klit, seq in offs if seq)
    out += b"".join(struct.pack("<Q", off) for seq, off in procs)
    t = b"TAURECS1" + struct.pack("<9Q", 1, len(offs), data_bytes, data_bytes, dir_bytes, slots,
                                  table_off, seq_off, len(procs))
    t += struct.pack("<Q", fnv(t)) + b"\nEND\n\n\n\n"
    with open(path + ".tmp", "wb") as f:
        f.write(out + t)
    os.rename(path + ".tmp", path)


if __name__ == "__main__":
    if sys.argv[1] == "--memory":
        sys.stdout.write(memory(sys.argv[2], sys.argv[3]))
    elif sys.argv[1] == "--memory-check":
        print(memory_check(sys.argv[2]))
    elif sys.argv[1] == "--to-v1":
        to_v1(sys.argv[2])
    else:
        json.dump(load(sys.argv[1]), sys.stdout)
        sys.stdout.write("\n")
