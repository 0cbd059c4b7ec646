#!/usr/bin/env python3
"""Google Gemini API upstream stub for tau-gateway tests.

Standard library only; built on upstream_stub.py (same directory): the same
command line (--port, --record, --mode, --sse-framing), the same single
stdout line

    upstream stub listening: port=<N>

the same modes (X-Stub-Mode header, "[stub:MODE]" in the last user text,
--mode; "-once"/"-twice"/"-<N>" suffixes), the same record lines and the
same replies as the OpenAI stub, in the Gemini API's format:

    POST /v1beta/models/<model>:generateContent
    POST /v1beta/models/<model>:streamGenerateContent?alt=sse   (streamed)
    * text "stub reply: <last user text>" (text parts of the last user turn
      joined by newlines), finishReason "STOP" ("MAX_TOKENS" in mode length);
    * with "tools" and no functionResponse in the last user turn: one
      functionCall part to the first declared function, args
      {"city":"Paris"}, finishReason "STOP";
    * a functionResponse in the last user turn: "stub saw tool result:
      <response.result>" (or the response object as JSON);
    * streamed: one GenerateContentResponse per event ("data: {...}" lines
      ended by CRLF CRLF, as Google sends them), the text over 3 events, the
      last with finishReason and usageMetadata.
In mode text_then_tool a text part comes before the functionCall.
Errors are {"error":{"code":N,"message":...,"status":...}}; mode
error_event streams a few events and then an error object.
Every reply carries "x-request-id: req_stub_<n>".
"""

import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import upstream_stub as base  # noqa: E402

PATH_RE = re.compile(r"^/v1beta/models/[^/:]+:(generateContent|streamGenerateContent)$")
STATUSES = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED",
            404: "NOT_FOUND", 429: "RESOURCE_EXHAUSTED", 500: "INTERNAL",
            503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED"}


def parts_text(parts):
    out = []
    for p in parts if isinstance(parts, list) else []:
        if isinstance(p, dict) and isinstance(p.get("text"), str):
            out.append(p["text"])
    return "\n".join(out)


class GeminiHandler(base.WireHandler):
    REQUEST_ID_HEADER = "x-request-id"
    CLOSE_AFTER = 2

    def wire_path_ok(self, path):
        p, _, query = path.partition("?")
        m = PATH_RE.match(p)
        if not m:
            return False
        self._stream = m.group(1) == "streamGenerateContent"
        return not self._stream or "alt=sse" in query.split("&")

    def wire_conversation(self, body):
        contents = body.get("contents") if isinstance(body.get("contents"), list) else []
        last_user, tool_result = "", None
        for c in reversed(contents):
            if isinstance(c, dict) and c.get("role", "user") == "user":
                parts = c.get("parts")
                last_user = parts_text(parts)
                # a function response answers when it ends the turn
                p = parts[-1] if isinstance(parts, list) and parts else None
                fr = p.get("functionResponse") if isinstance(p, dict) else None
                if isinstance(fr, dict):
                    r = fr.get("response")
                    tool_result = (r.get("result") if isinstance(r, dict) and
                                   isinstance(r.get("result"), str) else json.dumps(r))
                break
        tool_name = None
        tools = body.get("tools")
        if isinstance(tools, list) and tools and isinstance(tools[0], dict):
            decls = tools[0].get("functionDeclarations")
            if isinstance(decls, list) and decls and isinstance(decls[0], dict):
                tool_name = decls[0].get("name") or "tool"
        si = body.get("systemInstruction")
        words = base.count_words(parts_text(si.get("parts")) if isinstance(si, dict) else "")
        for c in contents:
            if isinstance(c, dict):
                words += base.count_words(parts_text(c.get("parts")))
        return {"last_user": last_user, "tool_result": tool_result, "tool_name": tool_name,
                "stream": self._stream, "prompt_words": words}

    def wire_error(self, status):
        return json.dumps({"error": {"code": status, "message": "stub forced status %d" % status,
                                     "status": STATUSES.get(status, "UNKNOWN")}}).encode()

    @staticmethod
    def usage_meta(usage):
        return {"promptTokenCount": usage["input"], "candidatesTokenCount": usage["output"],
                "totalTokenCount": usage["input"] + usage["output"]}

    def candidate(self, parts, finish=None):
        c = {"content": {"role": "model", "parts": parts}, "index": 0}
        if finish:
            c["finishReason"] = finish
        return c

    def wire_reply(self, plan, usage):
        finish = "MAX_TOKENS" if plan["length"] else "STOP"
        if plan["kind"] == "tool":
            parts = [{"functionCall": {"name": plan["tool_name"],
                                       "args": json.loads("".join(base.TOOL_ARGS_FRAGMENTS))}}]
            if plan["preface"]:
                parts.insert(0, {"text": plan["preface"]})
        else:
            parts = [{"text": plan["text"]}]
        return {"candidates": [self.candidate(parts, finish)],
                "usageMetadata": self.usage_meta(usage), "modelVersion": "stub-model"}

    @staticmethod
    def event(obj):
        return b"data: " + json.dumps(obj, ensure_ascii=False).encode("utf-8") + b"\r\n\r\n"

    def wire_frames(self, plan, usage):
        finish = "MAX_TOKENS" if plan["length"] else "STOP"
        if plan["kind"] == "tool":
            # a call arrives whole; an empty text part first, as Gemini may send
            pieces = [[{"text": plan["preface"] or ""}], [{"functionCall": {
                "name": plan["tool_name"],
                "args": json.loads("".join(base.TOOL_ARGS_FRAGMENTS))}}]]
        else:
            pieces = [[{"text": p}] for p in base.split_text(plan["text"], 3)]
        frames = []
        for i, parts in enumerate(pieces):
            last = i == len(pieces) - 1
            obj = {"candidates": [self.candidate(parts, finish if last else None)],
                   "modelVersion": "stub-model"}
            if last:
                obj["usageMetadata"] = self.usage_meta(usage)
            frames.append(self.event(obj))
        return frames

    def wire_error_frame(self):
        return self.event({"error": {"code": 503, "message": "The model is overloaded.",
                                     "status": "UNAVAILABLE"}})


if __name__ == "__main__":
    sys.exit(base.main(handler=GeminiHandler, description="Gemini API stub"))
