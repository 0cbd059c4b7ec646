#!/usr/bin/env python3
"""Anthropic Messages API upstream stub for tau-gateway tests.

Standard library only; built on upstream_stub.py (same directory): the same
command line (--port, --record, --mode, --sse-framing), the same single
stdout line

    upstream stub listening: port=<N>

the same modes (X-Stub-Mode header, "[stub:MODE]" in the last user text,
--mode; "-once"/"-twice"/"-<N>" suffixes), the same record lines and the
same replies as the OpenAI stub, in the Messages API's format:

    POST /v1/messages                                    (query string ignored)
    * text "stub reply: <last user text>" (text blocks of the last user
      message joined by newlines), stop_reason "end_turn" ("max_tokens" in
      mode length);
    * with "tools" and no tool_result in the last user message: one
      tool_use block calling the first tool, id "call_stub_1", input
      {"city":"Paris"}, stop_reason "tool_use";
    * a tool_result in the last user message: "stub saw tool result: <content>";
    * "stream": true -> the event stream message_start, content_block_start,
      ping, content_block_delta (text over 3 text_delta events, tool input
      over 2 input_json_delta events), content_block_stop, message_delta
      (stop_reason, usage.output_tokens), message_stop; each event as
      "event: <type>" then "data: {...}".
In mode text_then_tool a text block (index 0) comes before the tool_use
block (index 1).
Errors are {"type":"error","error":{"type":...,"message":...}}; mode
error_event streams a few events and then an "error" event (overloaded).
Every reply carries "request-id: req_stub_<n>".
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import upstream_stub as base  # noqa: E402

ERROR_TYPES = {400: "invalid_request_error", 401: "authentication_error",
               403: "permission_error", 404: "not_found_error",
               413: "request_too_large", 429: "rate_limit_error",
               500: "api_error", 529: "overloaded_error"}


def block_text(content):
    if isinstance(content, str):
        return content
    parts = []
    for b in content if isinstance(content, list) else []:
        if isinstance(b, dict) and b.get("type") == "text" and isinstance(b.get("text"), str):
            parts.append(b["text"])
    return "\n".join(parts)


class AnthropicHandler(base.WireHandler):
    REQUEST_ID_HEADER = "request-id"
    CLOSE_AFTER = 5

    def wire_path_ok(self, path):
        return path.split("?", 1)[0] == "/v1/messages"

    def wire_conversation(self, body):
        msgs = body.get("messages") if isinstance(body.get("messages"), list) else []
        last_user, tool_result = "", None
        for m in reversed(msgs):
            if isinstance(m, dict) and m.get("role") == "user":
                content = m.get("content")
                last_user = block_text(content)
                # a tool result answers when it ends the turn (as a "tool"
                # message ends an OpenAI conversation)
                b = content[-1] if isinstance(content, list) and content else None
                if isinstance(b, dict) and b.get("type") == "tool_result":
                    c = b.get("content")
                    tool_result = c if isinstance(c, str) else block_text(c)
                break
        tools = body.get("tools")
        tool_name = None
        if isinstance(tools, list) and tools and isinstance(tools[0], dict):
            tool_name = tools[0].get("name") or "tool"
        words = base.count_words(body.get("system") if isinstance(body.get("system"), str) else "")
        for m in msgs:
            if isinstance(m, dict):
                words += base.count_words(block_text(m.get("content")))
        return {"last_user": last_user, "tool_result": tool_result, "tool_name": tool_name,
                "stream": body.get("stream") is True, "prompt_words": words,
                "model": body.get("model")}

    def wire_error(self, status):
        etype = ERROR_TYPES.get(status, "api_error" if status >= 500 else "invalid_request_error")
        return json.dumps({"type": "error", "error": {
            "type": etype, "message": "stub forced status %d" % status}}).encode()

    def stop_reason(self, plan):
        if plan["kind"] == "tool":
            return "tool_use"
        return "max_tokens" if plan["length"] else "end_turn"

    def wire_reply(self, plan, usage):
        if plan["kind"] == "tool":
            content = [{"type": "tool_use", "id": base.TOOL_CALL_ID, "name": plan["tool_name"],
                        "input": json.loads("".join(base.TOOL_ARGS_FRAGMENTS))}]
            if plan["preface"]:
                content.insert(0, {"type": "text", "text": plan["preface"]})
        else:
            content = [{"type": "text", "text": plan["text"]}]
        return {"id": "msg_stub", "type": "message", "role": "assistant",
                "model": "stub-model", "content": content,
                "stop_reason": self.stop_reason(plan), "stop_sequence": None,
                "usage": {"input_tokens": usage["input"], "output_tokens": usage["output"]}}

    @staticmethod
    def event(obj):
        return (b"event: " + obj["type"].encode() + b"\ndata: " +
                json.dumps(obj, ensure_ascii=False).encode("utf-8") + b"\n\n")

    def wire_frames(self, plan, usage):
        ev = [{"type": "message_start", "message": {
            "id": "msg_stub", "type": "message", "role": "assistant", "model": "stub-model",
            "content": [], "stop_reason": None, "stop_sequence": None,
            "usage": {"input_tokens": usage["input"], "output_tokens": 1}}}]
        index = 0
        if plan["kind"] == "tool" and plan["preface"]:
            # a text block first: the tool_use block is content block 1
            ev.append({"type": "content_block_start", "index": 0,
                       "content_block": {"type": "text", "text": ""}})
            ev.append({"type": "content_block_delta", "index": 0,
                       "delta": {"type": "text_delta", "text": plan["preface"]}})
            ev.append({"type": "content_block_stop", "index": 0})
            index = 1
        if plan["kind"] == "tool":
            ev.append({"type": "content_block_start", "index": index, "content_block": {
                "type": "tool_use", "id": base.TOOL_CALL_ID, "name": plan["tool_name"],
                "input": {}}})
            ev.append({"type": "ping"})
            for frag in base.TOOL_ARGS_FRAGMENTS:
                ev.append({"type": "content_block_delta", "index": index,
                           "delta": {"type": "input_json_delta", "partial_json": frag}})
        else:
            ev.append({"type": "content_block_start", "index": 0,
                       "content_block": {"type": "text", "text": ""}})
            ev.append({"type": "ping"})
            for piece in base.split_text(plan["text"], 3):
                ev.append({"type": "content_block_delta", "index": 0,
                           "delta": {"type": "text_delta", "text": piece}})
        ev.append({"type": "content_block_stop", "index": index})
        ev.append({"type": "message_delta",
                   "delta": {"stop_reason": self.stop_reason(plan), "stop_sequence": None},
                   "usage": {"output_tokens": usage["output"]}})
        ev.append({"type": "message_stop"})
        return [self.event(e) for e in ev]

    def wire_error_frame(self):
        return self.event({"type": "error", "error": {"type": "overloaded_error",
                                                      "message": "Overloaded"}})


if __name__ == "__main__":
    sys.exit(base.main(handler=AnthropicHandler, description="Anthropic Messages API stub"))
