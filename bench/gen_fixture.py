#!/usr/bin/env python3
"""gen_fixture.py - write a large, valid gateway contract fixture (schema v1).

Cases are spread round-robin over --actors actors and over the methods GET,
POST, PUT, PATCH and DELETE, each expecting the runner's deterministic
success result.  Every --malformed-every'th case is malformed instead
(alternately an unsupported method and an endpoint without a leading '/'),
and every --retryable-every'th (0 = none) simulates a retryable failure.
The file is streamed, so millions of cases need little memory.

Used by bench/runner.sh and by the crash integration test.
"""
import argparse
import json
import sys

STATUS = {"GET": 200, "POST": 201, "PUT": 200, "PATCH": 200, "DELETE": 202}
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


def case(i, actors, malformed_every, retryable_every):
    actor = "actor-%04d" % (i % actors)
    cid = "case-%08d" % i
    method = METHODS[i % len(METHODS)]
    endpoint = "/v1/tasks/%d" % i
    c = {"schema_version": 1, "case_id": cid, "method": method,
         "endpoint": endpoint, "actor_id": actor, "body": {"n": i}}
    if retryable_every and i % retryable_every == retryable_every - 1:
        c["simulate_retryable_failure"] = True
        c["expected"] = {"outcome": "retryable_failure", "status_code": 503,
                         "error_code": "gateway_backend_unavailable",
                         "response_body": {"reason": "backend_unavailable",
                                           "status": "retryable"}}
    elif malformed_every and i % malformed_every == malformed_every - 1:
        if (i // malformed_every) % 2 == 0:
            c["method"] = "TRACE"
            c["expected"] = {"outcome": "malformed_input", "status_code": 405,
                             "error_code": "gateway_unsupported_method",
                             "response_body": {"reason": "unsupported_method",
                                               "status": "rejected"}}
        else:
            c["endpoint"] = "v1/no-leading-slash/%d" % i
            c["expected"] = {"outcome": "malformed_input", "status_code": 400,
                             "error_code": "gateway_invalid_request",
                             "response_body": {"reason": "invalid_request",
                                               "status": "rejected"}}
    else:
        c["expected"] = {"outcome": "success", "status_code": STATUS[method],
                         "response_body": {"status": "accepted", "method": method,
                                           "endpoint": endpoint, "actor_id": actor}}
    return c


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("cases", type=int, help="number of cases")
    ap.add_argument("out", help="output file ('-' for stdout)")
    ap.add_argument("--actors", type=int, default=1000)
    ap.add_argument("--malformed-every", type=int, default=1000,
                    help="one malformed case per N (0 = none)")
    ap.add_argument("--retryable-every", type=int, default=0,
                    help="one retryable case per N (0 = none)")
    ap.add_argument("--name", default=None)
    ap.add_argument("--first", type=int, default=0,
                    help="number of the first case (cases FIRST..FIRST+cases-1), so a "
                         "second fixture can bring cases a first one did not have")
    a = ap.parse_args()
    if a.cases < 1 or a.actors < 1:
        ap.error("cases and actors must be positive")
    out = sys.stdout if a.out == "-" else open(a.out, "w")
    name = a.name or "bench-%d" % a.cases
    out.write('{"schema_version":1,"name":%s,"description":"generated","cases":[\n'
              % json.dumps(name))
    enc = json.JSONEncoder(separators=(",", ":"))
    chunk = []
    for i in range(a.first, a.first + a.cases):
        chunk.append(enc.encode(case(i, a.actors, a.malformed_every, a.retryable_every)))
        if len(chunk) == 4096:
            out.write(",\n".join(chunk))
            chunk = []
            if i + 1 < a.first + a.cases:
                out.write(",\n")
    if chunk:
        out.write(",\n".join(chunk))
    out.write("\n]}\n")
    if out is not sys.stdout:
        out.close()


if __name__ == "__main__":
    main()
