// bench/upstream_stub.mjs - the upstream for bench/http.sh: the test stub's
// "ok" behaviour (tests/stub/upstream_stub.py) in Node's http module, the
// kind of stub the Portkey anchor was measured against.  The Python
// stub tops out near 6k req/s on two cores, below 10x Portkey, so the bench
// would measure the stub; this one does the same work per request:
//   * parses the request body;
//   * replies "stub reply: <last user message text>", finish_reason "stop",
//     with usage counted in words;
//   * when the request has tools (and the last message is not role "tool"):
//     one tool call to the first tool, id "call_stub_1", arguments
//     {"city":"Paris"}, finish_reason "tool_calls";
//   * last message role "tool": "stub saw tool result: <content>";
//   * "stream": true -> chat.completion.chunk frames: a role chunk, the text
//     in 3 deltas (tool arguments in 2 fragments), a finish chunk, a usage
//     chunk when stream_options.include_usage, then "data: [DONE]", in one
//     write.
// No failure modes and no recording: the tests keep using the Python stub.
//
//   node bench/upstream_stub.mjs [PORT]   binds 127.0.0.1:PORT (0 picks one)
//   and prints "upstream stub listening: port=<N>" once it accepts.
import http from "node:http";

const TOOL_CALL_ID = "call_stub_1";
const TOOL_ARGS = ['{"city":', '"Paris"}'];
let seq = 0;

const contentText = (c) => {
  if (c == null) return "";
  if (typeof c === "string") return c;
  if (Array.isArray(c))
    return c.map((p) => (typeof p === "string" ? p : p && typeof p.text === "string" ? p.text : null))
      .filter((p) => p !== null).join("\n");
  return JSON.stringify(c);
};
const lastUserText = (msgs) => {
  for (let i = msgs.length - 1; i >= 0; i--)
    if (msgs[i] && msgs[i].role === "user") return contentText(msgs[i].content);
  return "";
};
const words = (t) => t.split(/\s+/).filter(Boolean).length;
const split3 = (t) => {
  const w = t.match(/\S+\s*|\s+/g) || [];
  if (w.length >= 3) {
    const per = Math.ceil(w.length / 3), out = [];
    for (let i = 0; i < w.length; i += per) out.push(w.slice(i, i + per).join(""));
    return out;
  }
  return t ? [t] : [];
};

function reply(body) {
  const msgs = Array.isArray(body.messages) ? body.messages : [];
  const last = msgs.length && msgs[msgs.length - 1] ? msgs[msgs.length - 1] : {};
  const tools = Array.isArray(body.tools) && body.tools.length ? body.tools : null;
  let plan;
  if (last.role === "tool") plan = { text: "stub saw tool result: " + contentText(last.content) };
  else if (tools) {
    const t0 = tools[0] || {}, fn = t0.function && typeof t0.function === "object" ? t0.function : t0;
    plan = { tool: typeof fn.name === "string" ? fn.name : "tool" };
  } else plan = { text: "stub reply: " + lastUserText(msgs) };
  const prompt = msgs.reduce((n, m) => n + words(contentText(m && m.content)), 0) || 1;
  const completion = plan.text !== undefined ? words(plan.text) || 1 : 5;
  const usage = { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
  const finish = plan.tool ? "tool_calls" : "stop";
  const id = "chatcmpl-stub-" + ++seq, created = Math.floor(Date.now() / 1000);
  const model = typeof body.model === "string" ? body.model : "stub-model";
  if (body.stream !== true) {
    const message = plan.tool
      ? { role: "assistant", content: null, tool_calls: [{ id: TOOL_CALL_ID, type: "function",
          function: { name: plan.tool, arguments: TOOL_ARGS.join("") } }] }
      : { role: "assistant", content: plan.text };
    return { type: "application/json", data: JSON.stringify({ id, object: "chat.completion", created, model,
      choices: [{ index: 0, message, logprobs: null, finish_reason: finish }], usage }) };
  }
  const chunk = (delta, fin = null) => ({ id, object: "chat.completion.chunk", created, model,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: fin }] });
  const chunks = [];
  if (plan.tool) {
    chunks.push(chunk({ role: "assistant", content: null, tool_calls: [{ index: 0, id: TOOL_CALL_ID,
      type: "function", function: { name: plan.tool, arguments: "" } }] }));
    for (const f of TOOL_ARGS) chunks.push(chunk({ tool_calls: [{ index: 0, function: { arguments: f } }] }));
  } else {
    chunks.push(chunk({ role: "assistant", content: "" }));
    for (const piece of split3(plan.text)) chunks.push(chunk({ content: piece }));
  }
  chunks.push(chunk({}, finish));
  if (body.stream_options && body.stream_options.include_usage === true)
    chunks.push({ id, object: "chat.completion.chunk", created, model, choices: [], usage });
  return { type: "text/event-stream",
    data: chunks.map((c) => "data: " + JSON.stringify(c) + "\n\n").join("") + "data: [DONE]\n\n" };
}

const server = http.createServer((req, res) => {
  const known = req.method === "POST" && (req.url === "/v1/chat/completions" || req.url === "/chat/completions");
  const parts = [];
  req.on("data", (d) => parts.push(d));
  req.on("end", () => {
    let body = null;
    try { body = JSON.parse(Buffer.concat(parts).toString("utf8")); } catch { body = null; }
    const r = !known ? { status: 404, type: "application/json", data: '{"error":{"message":"not found"}}' }
      : body === null || typeof body !== "object" || Array.isArray(body)
        ? { status: 400, type: "application/json", data: '{"error":{"message":"request body must be a JSON object"}}' }
        : { status: 200, ...reply(body) };
    res.writeHead(r.status, { "Content-Type": r.type, "Content-Length": Buffer.byteLength(r.data) });
    res.end(r.data);
  });
});
server.keepAliveTimeout = 60000;
server.listen(Number(process.argv[2] || 0), "127.0.0.1", () => {
  console.log("upstream stub listening: port=" + server.address().port);
});
for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => server.close(() => process.exit(0)));
