#!/usr/bin/env python3
"""Reads SSE transcripts of POST /v1/responses streams (the files named on
the command line) and prints one line per file:

    <file> <response id or -> <terminal event type or -> <output_text as JSON>

The terminal event is the last response.completed / response.failed /
response.incomplete event the client received whole (its data line parsed);
a stream cut before one prints "-" there.  The id is the one every
response.* event carries (from response.created on), so a cut stream still
names the response it was for."""
import json
import sys

TERMINAL = ("response.completed", "response.failed", "response.incomplete")

for path in sys.argv[1:]:
    rid, term, text = "-", "-", ""
    try:
        raw = open(path, encoding="utf-8", errors="replace").read()
    except OSError:
        raw = ""
    # an event is whole only when its blank line arrived
    for block in raw.split("\n\n")[:-1]:
        data = [ln[6:] for ln in block.split("\n") if ln.startswith("data: ")]
        if not data or data[0] == "[DONE]":
            continue
        try:
            ev = json.loads("\n".join(data))
        except ValueError:
            continue
        resp = ev.get("response") if isinstance(ev, dict) else None
        if isinstance(resp, dict) and isinstance(resp.get("id"), str):
            rid = resp["id"]
        if ev.get("type") in TERMINAL:
            term = ev["type"]
            text = resp.get("output_text", "") if isinstance(resp, dict) else ""
    print(path, rid, term, json.dumps(text))
