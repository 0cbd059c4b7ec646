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


if __name__ == "__main__":
    json.dump(load(sys.argv[1]), sys.stdout)
    sys.stdout.write("\n")
