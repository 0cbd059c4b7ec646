#!/usr/bin/env python3
"""Checks a ResponseResource (file argv[2]) against the required fields of
the Open Responses schema (openapi.json, argv[1]).  Prints problems, one per
line; exit status 1 when there are any."""
import json
import sys

spec = json.load(open(sys.argv[1]))["components"]["schemas"]
resp = json.load(open(sys.argv[2]))
if "response" in resp and "object" not in resp:
    resp = resp["response"]  # an SSE event
problems = []


def need(obj, schema, where):
    for k in spec[schema].get("required", []):
        if k not in obj:
            problems.append("%s: missing %s (%s)" % (where, k, schema))


need(resp, "ResponseResource", "response")
if resp.get("object") != "response":
    problems.append("object is not 'response'")
for i, item in enumerate(resp.get("output", [])):
    kind = {"message": "Message", "function_call": "FunctionCall"}.get(item.get("type"))
    if kind is None:
        problems.append("output[%d]: unexpected type %r" % (i, item.get("type")))
        continue
    need(item, kind, "output[%d]" % i)
    for j, part in enumerate(item.get("content", []) if kind == "Message" else []):
        need(part, "OutputTextContent", "output[%d].content[%d]" % (i, j))
if resp.get("usage") is not None:
    need(resp["usage"], "Usage", "usage")
    need(resp["usage"].get("input_tokens_details", {}), "InputTokensDetails", "usage.input_tokens_details")
    need(resp["usage"].get("output_tokens_details", {}), "OutputTokensDetails", "usage.output_tokens_details")
for extra in ("output_text", "ignored_fields"):
    if extra not in resp:
        problems.append("missing extra key %s" % extra)
print("\n".join(problems))
sys.exit(1 if problems else 0)
