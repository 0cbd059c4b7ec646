// bench/upstream_stub.mjs - the Node upstream for bench/http.sh: the same
// canned chat.completion / chat.completion.chunk replies as
// bench/upstream_stub.c, from Node's http module, the kind of upstream the
// issue's Portkey anchor (about 520 req/s) was measured against.
//
//   node bench/upstream_stub.mjs [PORT]   binds 127.0.0.1:PORT (0 picks one)
//   and prints "upstream stub listening: port=<N>" once it accepts.
import http from "node:http";

const TEXT = "stub reply: benchmark prompt";
const json = JSON.stringify({
  id: "chatcmpl-bench", object: "chat.completion", created: 1700000000, model: "bench",
  choices: [{ index: 0, message: { role: "assistant", content: TEXT }, logprobs: null, finish_reason: "stop" }],
  usage: { prompt_tokens: 2, completion_tokens: 4, total_tokens: 6 },
});
const chunk = (delta, finish) => "data: " + JSON.stringify({
  id: "chatcmpl-bench", object: "chat.completion.chunk", created: 1700000000, model: "bench",
  choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
}) + "\n\n";
const sse = chunk({ role: "assistant", content: "" }, null) + chunk({ content: "stub reply:" }, null) +
  chunk({ content: " benchmark" }, null) + chunk({ content: " prompt" }, null) + chunk({}, "stop") +
  "data: [DONE]\n\n";

const server = http.createServer((req, res) => {
  const known = req.method === "POST" && (req.url === "/v1/chat/completions" || req.url === "/chat/completions");
  const parts = [];
  req.on("data", (d) => parts.push(d));
  req.on("end", () => {
    if (!known) {
      res.writeHead(404, { "Content-Type": "application/json" });
      res.end('{"error":{"message":"not found"}}');
      return;
    }
    const stream = Buffer.concat(parts).includes('"stream":true');
    const body = stream ? sse : json;
    res.writeHead(200, {
      "Content-Type": stream ? "text/event-stream" : "application/json",
      "Content-Length": Buffer.byteLength(body),
    });
    res.end(body);
  });
});
server.keepAliveTimeout = 60000;
server.listen(Number(process.argv[2] || 0), "127.0.0.1", () => {
  console.log("upstream stub listening: port=" + server.address().port);
});
for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => server.close(() => process.exit(0)));
