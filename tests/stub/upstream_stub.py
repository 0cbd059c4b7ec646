#!/usr/bin/env python3
"""OpenAI-compatible upstream stub for tau-gateway tests.

Standard library only. Binds 127.0.0.1 and prints exactly one line

    upstream stub listening: port=<N>

to stdout (flushed) once it accepts connections. Nothing else is written to
stdout; diagnostics go to stderr.

Usage:
    python3 tests/stub/upstream_stub.py --port 0 [--record FILE] [--mode MODE]
                                        [--sse-framing chunked|close]

Routes:
    POST /v1/chat/completions, POST /chat/completions   (query string ignored)
    GET  /health                                         -> 200 "ok"

Reply (mode "ok"):
    * text "stub reply: <last user message text>", finish_reason "stop";
    * when the request has "tools" (and the last message is not role "tool"):
      one tool call to the first tool, id "call_stub_1",
      arguments '{"city":"Paris"}', finish_reason "tool_calls";
    * when the last message has role "tool": text
      "stub saw tool result: <content>", finish_reason "stop".
    * "stream": true -> SSE chat.completion.chunk frames ("data: {...}\\n\\n"),
      text split over several deltas, tool arguments over 2 fragments, then
      "data: [DONE]\\n\\n". A usage chunk (choices: []) is sent before [DONE]
      when stream_options.include_usage is true.

Every reply to a POST carries "x-request-id: req_stub_<n>" (n counts the
stub's POSTs), as OpenAI names its requests.

Mode selection, first match wins:
    1. request header  X-Stub-Mode: MODE
    2. "[stub:MODE]" inside the last user message text
    3. --mode MODE (default "ok")

Modes:
    ok                default behaviour (fast path: no sleeps, no logging)
    direct-bench      alias of ok
    status<NNN>       reply HTTP NNN with an OpenAI-style JSON error body, e.g.
                      status500, status429 (429 adds "Retry-After: 1"), status400
    hang              read the request, then never answer until the client
                      disconnects (other requests are unaffected)
    close_mid_stream  stream: send a couple of chunks then close the socket;
                      non-stream: send headers + half of the body then close
    split_utf8        reply text "héllo wörld ✓ 日本"; the SSE byte stream is
                      written in pieces that split multi-byte UTF-8 characters
                      and split SSE lines, with small sleeps between writes
                      (non-stream: the JSON body is written in such pieces)
    garbage           stream: 200 text/event-stream with a non-JSON data line;
                      non-stream: 200 application/json with a non-JSON body
    length            like ok but finish_reason "length"
    slow              stream: 0.3 s gap before each SSE chunk;
                      non-stream: 0.9 s delay before the reply
    error_event       (anthropic_stub.py, gemini_stub.py) stream: a few events,
                      then the vendor's error event; here, like ok
    text_then_tool    a tool call (when the request has tools) comes after a
                      text block "Let me check ✓ " (Anthropic: the text is
                      content block 0, the tool_use block 1); streamed in
                      pieces that split UTF-8 characters and SSE lines, as
                      split_utf8 writes them

Any mode except ok may carry a suffix "-once", "-twice" or "-<N>": the first
N requests that use exactly that mode string get the mode, later ones are
answered as "ok" (one counter per mode string, e.g. "status429-once").
An unknown mode is answered with HTTP 400 (code "stub_unknown_mode").

--record FILE appends one JSON line per received request (flushed per line):
    {"method":..., "path":..., "headers":{lower-cased...}, "body":<json|string>,
     "in_flight":N, "request_id":"req_stub_<n>"}
(request_id: a POST's, the id its reply names) where N counts the POST requests the stub was handling when this one came
in, itself included (so N > 1 proves requests overlapped).

SIGTERM / SIGINT shut the server down cleanly (exit status 0).
"""

import argparse
import json
import re
import select
import signal
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SPLIT_UTF8_TEXT = "héllo wörld ✓ 日本"
TOOL_CALL_ID = "call_stub_1"
TOOL_ARGS_FRAGMENTS = ['{"city":', '"Paris"}']
PREFACE_TEXT = "Let me check ✓ "
SLOW_GAP_S = 0.3
SPLIT_SLEEP_S = 0.02

MODE_RE = re.compile(r"^(?P<base>[a-z0-9_]+?)(?:-(?P<n>once|twice|\d+))?$")
MSG_MODE_RE = re.compile(r"\[stub:([A-Za-z0-9_-]+)\]")
STATUS_RE = re.compile(r"^status([1-5][0-9][0-9])$")
BASE_MODES = {"ok", "hang", "close_mid_stream", "split_utf8", "garbage", "length", "slow",
              "error_event", "text_then_tool"}
SPLIT_MODES = ("split_utf8", "text_then_tool")  # streams written in awkward pieces

REASONS = {
    200: "OK", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden",
    404: "Not Found", 405: "Method Not Allowed", 408: "Request Timeout",
    409: "Conflict", 413: "Payload Too Large", 425: "Too Early",
    429: "Too Many Requests", 500: "Internal Server Error",
    502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout",
}


class UnknownMode(Exception):
    pass


def parse_mode(mode):
    """Return (base, limit) or raise UnknownMode. limit None = always."""
    if mode == "direct-bench":
        return "ok", None
    m = MODE_RE.match(mode)
    if not m:
        raise UnknownMode(mode)
    base, n = m.group("base"), m.group("n")
    if base not in BASE_MODES and not STATUS_RE.match(base):
        raise UnknownMode(mode)
    if n is None:
        return base, None
    limit = {"once": 1, "twice": 2}.get(n)
    if limit is None:
        limit = int(n)
    return base, limit


class StubState:
    def __init__(self, default_mode, record_path, sse_framing):
        self.default_mode = default_mode
        self.sse_framing = sse_framing
        self.record_lock = threading.Lock()
        self.record_file = open(record_path, "a", encoding="utf-8") if record_path else None
        self.counter_lock = threading.Lock()
        self.counters = {}
        self.seq = 0
        self.in_flight = 0
        self.stopping = threading.Event()

    def next_id(self):
        with self.counter_lock:
            self.seq += 1
            return self.seq

    def effective_mode(self, mode):
        """Apply the per-mode-string counter; returns the base mode to use."""
        base, limit = parse_mode(mode)
        if limit is None:
            return base
        with self.counter_lock:
            count = self.counters.get(mode, 0) + 1
            self.counters[mode] = count
        return base if count <= limit else "ok"

    def record(self, entry):
        if self.record_file is None:
            return
        line = json.dumps(entry, ensure_ascii=False) + "\n"
        with self.record_lock:
            if self.record_file is not None:
                self.record_file.write(line)
                self.record_file.flush()


# ---------------------------------------------------------------- helpers

def content_text(content):
    """Text of an OpenAI message content (string or list of parts)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for part in content:
            if isinstance(part, str):
                parts.append(part)
            elif isinstance(part, dict) and isinstance(part.get("text"), str):
                parts.append(part["text"])
        return "\n".join(parts)
    return json.dumps(content, ensure_ascii=False)


def last_user_text(messages):
    for msg in reversed(messages):
        if isinstance(msg, dict) and msg.get("role") == "user":
            return content_text(msg.get("content"))
    return ""


def count_words(text):
    return len(text.split())


def split_text(text, pieces=3):
    """Split text into up to `pieces` non-empty deltas (on word boundaries if possible)."""
    if len(text) <= 1:
        return [text] if text else []
    words = re.findall(r"\S+\s*|\s+", text)
    if len(words) >= pieces:
        per = -(-len(words) // pieces)
        return ["".join(words[i:i + per]) for i in range(0, len(words), per)]
    step = -(-len(text) // pieces)
    return [text[i:i + step] for i in range(0, len(text), step)]


def error_body(status, message, code):
    etype = "invalid_request_error" if status < 500 else "server_error"
    if status == 429:
        etype = "rate_limit_error"
    return json.dumps({"error": {"message": message, "type": etype, "code": code,
                                 "param": None}}).encode()


def utf8_cut_points(data):
    """Cut offsets splitting every multi-byte UTF-8 char and every 'data:' line."""
    cuts = set()
    i = 0
    while i < len(data):
        b = data[i]
        if b >= 0xC0:  # lead byte of a multi-byte sequence: cut after it
            cuts.add(i + 1)
        i += 1
    pos = 0
    while True:
        pos = data.find(b"data:", pos)
        if pos < 0:
            break
        end = data.find(b"\n", pos)
        if end < 0:
            end = len(data)
        cuts.add(pos + 3)                      # "dat" | "a: ..."
        cuts.add(pos + max(6, (end - pos) // 2))  # middle of the JSON
        pos = end
    return sorted(c for c in cuts if 0 < c < len(data))


def split_bytes(data, cuts):
    out, prev = [], 0
    for c in cuts:
        out.append(data[prev:c])
        prev = c
    out.append(data[prev:])
    return [p for p in out if p]


# ---------------------------------------------------------------- handler

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "tau-upstream-stub/1"
    REQUEST_ID_HEADER = "x-request-id"
    _rid = None  # the POST being answered: "req_stub_<n>", sent as REQUEST_ID_HEADER
    timeout = 300  # idle keep-alive connections are dropped after 5 min

    def setup(self):
        super().setup()
        try:
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass

    def log_message(self, fmt, *args):  # no access logging (fast path)
        pass

    # ---- low-level writing
    def _head(self, status, headers):
        lines = ["HTTP/1.1 %d %s" % (status, REASONS.get(status, "Status"))]
        if self._rid is not None and all(k != self.REQUEST_ID_HEADER for k, _ in headers):
            headers = list(headers) + [(self.REQUEST_ID_HEADER, self._rid)]
        for k, v in headers:
            lines.append("%s: %s" % (k, v))
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    def _wants_close(self):
        conn = (self.headers.get("Connection") or "").lower()
        return "close" in conn or self.request_version == "HTTP/1.0"

    def send_full(self, status, body, content_type="application/json", extra=()):
        close = self._wants_close()
        headers = [("Content-Type", content_type), ("Content-Length", str(len(body)))]
        headers.extend(extra)
        if close:
            headers.append(("Connection", "close"))
            self.close_connection = True
        self.wfile.write(self._head(status, headers) + body)

    def start_sse(self, extra=()):
        st = self.server.stub
        headers = [("Content-Type", "text/event-stream"), ("Cache-Control", "no-cache")]
        headers.extend(extra)
        self._chunked = st.sse_framing == "chunked" and not self._wants_close()
        if self._chunked:
            headers.append(("Transfer-Encoding", "chunked"))
        else:
            headers.append(("Connection", "close"))
            self.close_connection = True
        self.wfile.write(self._head(200, headers))

    def sse_write(self, data):
        if self._chunked:
            data = b"%x\r\n" % len(data) + data + b"\r\n"
        self.wfile.write(data)
        self.wfile.flush()

    def end_sse(self):
        if self._chunked:
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()

    def abort_connection(self):
        self.close_connection = True
        try:
            self.wfile.flush()
        except OSError:
            pass
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def read_body(self):
        te = (self.headers.get("Transfer-Encoding") or "").lower()
        if "chunked" in te:
            parts = []
            while True:
                line = self.rfile.readline(65537)
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                parts.append(self.rfile.read(size))
                self.rfile.readline(65537)
            return b"".join(parts)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def record(self, body_obj, in_flight=1):
        st = self.server.stub
        if st.record_file is None:
            return
        headers = {}
        for k, v in self.headers.items():
            k = k.lower()
            headers[k] = headers[k] + ", " + v if k in headers else v
        entry = {"method": self.command, "path": self.path, "headers": headers,
                 "body": body_obj, "in_flight": in_flight}
        if self._rid is not None:
            entry["request_id"] = self._rid
        st.record(entry)

    # ---- routes
    def do_GET(self):
        self._rid = None
        self.record("")
        path = self.path.split("?", 1)[0]
        if path == "/health":
            self.send_full(200, b"ok", "text/plain; charset=utf-8")
        elif path in ("/v1/chat/completions", "/chat/completions"):
            self.send_full(405, error_body(405, "method not allowed", "method_not_allowed"),
                           extra=[("Allow", "POST")])
        else:
            self.send_full(404, error_body(404, "not found", "not_found"))

    def do_POST(self):
        st = self.server.stub
        with st.counter_lock:
            st.in_flight += 1
            in_flight = st.in_flight
        try:
            self.handle_post(in_flight)
        finally:
            with st.counter_lock:
                st.in_flight -= 1

    def handle_post(self, in_flight):
        self._rid = "req_stub_%d" % self.server.stub.next_id()
        raw = self.read_body()
        try:
            body = json.loads(raw.decode("utf-8")) if raw else None
            body_rec = body if raw else ""
        except (ValueError, UnicodeDecodeError):
            body = None
            body_rec = raw.decode("utf-8", "replace")
        self.record(body_rec, in_flight)

        path = self.path.split("?", 1)[0]
        if path not in ("/v1/chat/completions", "/chat/completions"):
            self.send_full(404, error_body(404, "not found", "not_found"))
            return
        if not isinstance(body, dict):
            self.send_full(400, error_body(400, "request body must be a JSON object",
                                           "invalid_json"))
            return
        messages = body.get("messages")
        if not isinstance(messages, list):
            messages = []

        st = self.server.stub
        mode = self.headers.get("X-Stub-Mode")
        if not mode:
            m = MSG_MODE_RE.search(last_user_text(messages))
            mode = m.group(1) if m else st.default_mode
        mode = mode.strip()
        try:
            mode = st.effective_mode(mode)
        except UnknownMode:
            self.send_full(400, error_body(400, "unknown stub mode: %s" % mode,
                                           "stub_unknown_mode"))
            return

        sm = STATUS_RE.match(mode)
        if sm:
            status = int(sm.group(1))
            extra = [("Retry-After", "1")] if status == 429 else []
            self.send_full(status, error_body(status, "stub forced status %d" % status,
                                              "stub_status%d" % status), extra=extra)
            return
        if mode == "hang":
            self.hang()
            return

        stream = body.get("stream") is True
        if stream:
            self.reply_stream(body, messages, mode)
        else:
            self.reply_json(body, messages, mode)

    def hang(self):
        """Never answer; return when the client closes (or the stub stops)."""
        st = self.server.stub
        sock = self.connection
        self.close_connection = True
        while not st.stopping.is_set():
            try:
                readable, _, _ = select.select([sock], [], [], 0.5)
                if readable and not sock.recv(65536):
                    return  # EOF: client went away
            except OSError:
                return

    # ---- reply construction
    def plan(self, body, messages, mode):
        """Return dict(kind='text'|'tool', text, tool_name, finish)."""
        tools = body.get("tools")
        last = messages[-1] if messages and isinstance(messages[-1], dict) else {}
        if last.get("role") == "tool":
            text = "stub saw tool result: " + content_text(last.get("content"))
        elif isinstance(tools, list) and tools:
            t0 = tools[0] if isinstance(tools[0], dict) else {}
            fn = t0.get("function") if isinstance(t0.get("function"), dict) else t0
            name = fn.get("name") if isinstance(fn.get("name"), str) else "tool"
            return {"kind": "tool", "tool_name": name, "finish": "tool_calls",
                    "preface": PREFACE_TEXT if mode == "text_then_tool" else None}
        else:
            text = "stub reply: " + last_user_text(messages)
        if mode == "split_utf8":
            text = SPLIT_UTF8_TEXT
        finish = "length" if mode == "length" else "stop"
        return {"kind": "text", "text": text, "finish": finish}

    def usage(self, messages, plan):
        prompt = sum(count_words(content_text(m.get("content")))
                     for m in messages if isinstance(m, dict)) or 1
        completion = count_words(plan["text"]) if plan["kind"] == "text" else 5
        completion = completion or 1
        return {"prompt_tokens": prompt, "completion_tokens": completion,
                "total_tokens": prompt + completion}

    def reply_json(self, body, messages, mode):
        st = self.server.stub
        if mode == "garbage":
            self.send_full(200, b"<html>this is not json {", "application/json")
            return
        if mode == "slow":
            time.sleep(SLOW_GAP_S * 3)
        plan = self.plan(body, messages, mode)
        if plan["kind"] == "tool":
            message = {"role": "assistant", "content": plan["preface"], "tool_calls": [{
                "id": TOOL_CALL_ID, "type": "function",
                "function": {"name": plan["tool_name"],
                             "arguments": "".join(TOOL_ARGS_FRAGMENTS)}}]}
        else:
            message = {"role": "assistant", "content": plan["text"]}
        resp = {
            "id": "chatcmpl-stub-%d" % st.next_id(),
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model") if isinstance(body.get("model"), str) else "stub-model",
            "choices": [{"index": 0, "message": message, "logprobs": None,
                         "finish_reason": plan["finish"]}],
            "usage": self.usage(messages, plan),
        }
        data = json.dumps(resp, ensure_ascii=False).encode("utf-8")
        if mode == "close_mid_stream":
            head = self._head(200, [("Content-Type", "application/json"),
                                    ("Content-Length", str(len(data)))])
            self.wfile.write(head + data[:len(data) // 2])
            self.abort_connection()
            return
        if mode == "split_utf8":
            head = self._head(200, [("Content-Type", "application/json"),
                                    ("Content-Length", str(len(data)))])
            self.wfile.write(head)
            for piece in split_bytes(data, utf8_cut_points(data)):
                self.wfile.write(piece)
                self.wfile.flush()
                time.sleep(SPLIT_SLEEP_S)
            if self._wants_close():
                self.close_connection = True
            return
        self.send_full(200, data)

    def reply_stream(self, body, messages, mode):
        st = self.server.stub
        self.start_sse()
        if mode == "garbage":
            self.sse_write(b"data: {this is not json\n\n")
            self.sse_write(b"data: [DONE]\n\n")
            self.end_sse()
            return

        plan = self.plan(body, messages, mode)
        cid = "chatcmpl-stub-%d" % st.next_id()
        created = int(time.time())
        model = body.get("model") if isinstance(body.get("model"), str) else "stub-model"

        def chunk(delta, finish=None):
            return {"id": cid, "object": "chat.completion.chunk", "created": created,
                    "model": model,
                    "choices": [{"index": 0, "delta": delta, "logprobs": None,
                                 "finish_reason": finish}]}

        chunks = []
        if plan["kind"] == "tool" and plan["preface"]:
            chunks.append(chunk({"role": "assistant", "content": plan["preface"]}))
        if plan["kind"] == "tool":
            chunks.append(chunk({"role": "assistant", "content": None, "tool_calls": [{
                "index": 0, "id": TOOL_CALL_ID, "type": "function",
                "function": {"name": plan["tool_name"], "arguments": ""}}]}))
            for frag in TOOL_ARGS_FRAGMENTS:
                chunks.append(chunk({"tool_calls": [{"index": 0,
                                                     "function": {"arguments": frag}}]}))
        else:
            chunks.append(chunk({"role": "assistant", "content": ""}))
            for piece in split_text(plan["text"], 3):
                chunks.append(chunk({"content": piece}))
        chunks.append(chunk({}, plan["finish"]))
        so = body.get("stream_options")
        if isinstance(so, dict) and so.get("include_usage") is True:
            chunks.append({"id": cid, "object": "chat.completion.chunk", "created": created,
                           "model": model, "choices": [],
                           "usage": self.usage(messages, plan)})

        frames = [b"data: " + json.dumps(c, ensure_ascii=False).encode("utf-8") + b"\n\n"
                  for c in chunks]
        frames.append(b"data: [DONE]\n\n")

        if mode == "close_mid_stream":
            for f in frames[:3]:
                self.sse_write(f)
            self.abort_connection()
            return
        if mode in SPLIT_MODES:
            data = b"".join(frames)
            for piece in split_bytes(data, utf8_cut_points(data)):
                self.sse_write(piece)
                time.sleep(SPLIT_SLEEP_S)
            self.end_sse()
            return
        if mode == "slow":
            for f in frames:
                time.sleep(SLOW_GAP_S)
                self.sse_write(f)
            self.end_sse()
            return
        # fast path: one write for all frames
        self.sse_write(b"".join(frames))
        self.end_sse()


class WireHandler(Handler):
    """The request flow of the other vendors' stubs (anthropic_stub.py,
    gemini_stub.py): the same modes, replies and recording as the OpenAI
    stub, in another wire format.  A subclass says where requests go, how
    to read its conversation and how to write its replies:

        wire_path_ok(path) -> bool
        wire_conversation(body) -> dict(last_user=str, tool_result=str|None,
                                        tool_name=str|None, stream=bool,
                                        prompt_words=int)
        wire_error(status) -> bytes          (the vendor's error body)
        wire_reply(plan, usage) -> dict      (a whole reply)
        wire_frames(plan, usage) -> [bytes]  (the SSE stream, complete)
        wire_error_frame() -> bytes          (an error event mid-stream)
        CLOSE_AFTER                          (close_mid_stream: frames sent
                                              before the close, text deltas
                                              included, the end not)
    Every reply carries REQUEST_ID_HEADER: req_stub_<n>.
    """

    CLOSE_AFTER = 3  # close_mid_stream: frames sent first (some text, not the end)

    def post_extra(self):
        return [(self.REQUEST_ID_HEADER, self._rid)]

    def handle_post(self, in_flight):
        st = self.server.stub
        self._rid = "req_stub_%d" % st.next_id()
        raw = self.read_body()
        try:
            body = json.loads(raw.decode("utf-8")) if raw else None
            body_rec = body if raw else ""
        except (ValueError, UnicodeDecodeError):
            body = None
            body_rec = raw.decode("utf-8", "replace")
        self.record(body_rec, in_flight)
        if not self.wire_path_ok(self.path):
            self.send_full(404, self.wire_error(404), extra=self.post_extra())
            return
        if not isinstance(body, dict):
            self.send_full(400, self.wire_error(400), extra=self.post_extra())
            return
        conv = self.wire_conversation(body)
        mode = self.headers.get("X-Stub-Mode")
        if not mode:
            m = MSG_MODE_RE.search(conv["last_user"])
            mode = m.group(1) if m else st.default_mode
        mode = mode.strip()
        try:
            mode = st.effective_mode(mode)
        except UnknownMode:
            self.send_full(400, self.wire_error(400), extra=self.post_extra())
            return
        sm = STATUS_RE.match(mode)
        if sm:
            status = int(sm.group(1))
            extra = self.post_extra() + ([("Retry-After", "1")] if status == 429 else [])
            self.send_full(status, self.wire_error(status), extra=extra)
            return
        if mode == "hang":
            self.hang()
            return
        if conv["tool_result"] is not None:
            plan = {"kind": "text", "text": "stub saw tool result: " + conv["tool_result"]}
        elif conv["tool_name"] is not None:
            plan = {"kind": "tool", "tool_name": conv["tool_name"],
                    "preface": PREFACE_TEXT if mode == "text_then_tool" else None}
        else:
            plan = {"kind": "text", "text": "stub reply: " + conv["last_user"]}
        if mode == "split_utf8":
            plan["text"] = SPLIT_UTF8_TEXT
        plan["length"] = mode == "length"
        completion = count_words(plan["text"]) if plan["kind"] == "text" else 5
        usage = {"input": conv["prompt_words"] or 1, "output": completion or 1}
        if conv["stream"]:
            self.wire_stream(plan, usage, mode)
        else:
            self.wire_json(plan, usage, mode)

    def wire_json(self, plan, usage, mode):
        if mode == "garbage":
            self.send_full(200, b"<html>this is not json {", "application/json",
                           extra=self.post_extra())
            return
        if mode == "slow":
            time.sleep(SLOW_GAP_S * 3)
        data = json.dumps(self.wire_reply(plan, usage), ensure_ascii=False).encode("utf-8")
        head = self._head(200, [("Content-Type", "application/json"),
                                ("Content-Length", str(len(data)))] + self.post_extra())
        if mode == "close_mid_stream":
            self.wfile.write(head + data[:len(data) // 2])
            self.abort_connection()
            return
        if mode == "split_utf8":
            self.wfile.write(head)
            for piece in split_bytes(data, utf8_cut_points(data)):
                self.wfile.write(piece)
                self.wfile.flush()
                time.sleep(SPLIT_SLEEP_S)
            if self._wants_close():
                self.close_connection = True
            return
        self.send_full(200, data, extra=self.post_extra())

    def wire_stream(self, plan, usage, mode):
        self.start_sse(self.post_extra())
        if mode == "garbage":
            self.sse_write(b"data: {this is not json\n\n")
            self.end_sse()
            return
        frames = self.wire_frames(plan, usage)
        if mode == "close_mid_stream":
            for f in frames[:self.CLOSE_AFTER]:
                self.sse_write(f)
            self.abort_connection()
            return
        if mode == "error_event":
            for f in frames[:3]:
                self.sse_write(f)
            self.sse_write(self.wire_error_frame())
            self.end_sse()
            return
        if mode in SPLIT_MODES:
            data = b"".join(frames)
            for piece in split_bytes(data, utf8_cut_points(data)):
                self.sse_write(piece)
                time.sleep(SPLIT_SLEEP_S)
            self.end_sse()
            return
        if mode == "slow":
            for f in frames:
                time.sleep(SLOW_GAP_S)
                self.sse_write(f)
            self.end_sse()
            return
        self.sse_write(b"".join(frames))
        self.end_sse()


class StubServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def handle_error(self, request, client_address):
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, BrokenPipeError, TimeoutError, socket.timeout)):
            return
        super().handle_error(request, client_address)


def main(argv=None, handler=None, description="OpenAI-compatible upstream stub"):
    """Runs a stub; anthropic_stub.py and gemini_stub.py pass their handler."""
    handler = handler or Handler
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--record", default=None, help="append received requests as JSON lines")
    ap.add_argument("--mode", default="ok")
    ap.add_argument("--sse-framing", choices=("chunked", "close"), default="chunked",
                    help="SSE body framing: chunked (keep-alive) or close-delimited")
    args = ap.parse_args(argv)
    try:
        parse_mode(args.mode)
    except UnknownMode:
        print("upstream stub: unknown --mode %r" % args.mode, file=sys.stderr)
        return 2

    server = StubServer(("127.0.0.1", args.port), handler)
    server.stub = StubState(args.mode, args.record, args.sse_framing)

    def on_signal(signum, frame):
        server.stub.stopping.set()
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    port = server.server_address[1]
    sys.stdout.write("upstream stub listening: port=%d\n" % port)
    sys.stdout.flush()
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
        if server.stub.record_file is not None:
            with server.stub.record_lock:
                server.stub.record_file.close()
                server.stub.record_file = None
    return 0


if __name__ == "__main__":
    sys.exit(main())
