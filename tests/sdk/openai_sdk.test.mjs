// The official OpenAI Node SDK (npm "openai", pinned in package.json), used
// exactly as an application would, against tau-gateway's /v1/responses on
// local/echo.  Run by tests/integration/http_sdk_openai.sh, which starts the
// gateway and sets GATEWAY_URL and GATEWAY_TOKEN.
import assert from 'node:assert/strict';
import test from 'node:test';
import OpenAI from 'openai';

const baseURL = `${process.env.GATEWAY_URL}/v1`;
const client = new OpenAI({ apiKey: process.env.GATEWAY_TOKEN, baseURL, maxRetries: 0 });

test('responses.create: a completed response with output_text', async () => {
  const r = await client.responses.create({ model: 'gpt-4o-mini', input: 'hello sdk', instructions: 'be brief' });
  assert.match(r.id, /^resp_/);
  assert.equal(r.object, 'response');
  assert.equal(r.status, 'completed');
  assert.equal(r.output[0].type, 'message');
  assert.equal(r.output[0].content[0].type, 'output_text');
  assert.deepEqual(r.output[0].content[0].annotations, []);
  // output_text is the SDK's own join of the output parts
  assert.equal(r.output_text, 'local/echo heard: "hello sdk". Instructions: be brief. Context: 1 item.');
  assert.ok(r.usage.total_tokens > 0);
});

test('responses.create: message items, roles and a function-call round trip', async () => {
  const tools = [{ type: 'function', name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } }];
  const first = await client.responses.create({
    model: 'gpt-4o-mini',
    input: [
      { role: 'developer', content: 'answer in one line' },
      { role: 'user', content: [{ type: 'input_text', text: 'weather in Oslo?' }] },
    ],
    tools,
    tool_choice: 'required',
  });
  const call = first.output.find((o) => o.type === 'function_call');
  assert.ok(call, 'a function_call output item');
  assert.equal(call.name, 'get_weather');
  assert.match(call.call_id, /^call_/);
  assert.doesNotThrow(() => JSON.parse(call.arguments));
  const second = await client.responses.create({
    model: 'gpt-4o-mini',
    previous_response_id: first.id,
    input: [{ type: 'function_call_output', call_id: call.call_id, output: '{"temp_c": 4}' }],
    tools,
  });
  assert.equal(second.status, 'completed');
  assert.equal(second.previous_response_id, first.id);
});

test('previous_response_id continues the conversation; retrieve, inputItems.list and delete', async () => {
  const a = await client.responses.create({ model: 'm', input: 'first turn' });
  const b = await client.responses.create({ model: 'm', input: 'second turn', previous_response_id: a.id });
  // the model saw the first exchange (input + output) and the new input
  assert.match(b.output_text, /"second turn"\. Instructions: none\. Context: 3 items\.$/);
  const got = await client.responses.retrieve(b.id);
  assert.equal(got.id, b.id);
  assert.equal(got.output_text, b.output_text);
  const items = await client.responses.inputItems.list(b.id);
  assert.ok(items.data.length >= 1);
  assert.equal(items.data[0].type, 'message');
  await client.responses.delete(b.id);
  await assert.rejects(client.responses.retrieve(b.id), (e) => e instanceof OpenAI.NotFoundError);
});

test('stream: true yields the standard events, in order, with rising sequence numbers', async () => {
  const stream = await client.responses.create({ model: 'm', input: 'stream this please', stream: true });
  const types = [];
  let seq = -1;
  let text = '';
  let done;
  for await (const ev of stream) {
    assert.equal(ev.sequence_number, seq + 1, `sequence_number after ${seq}`);
    seq = ev.sequence_number;
    types.push(ev.type);
    if (ev.type === 'response.output_text.delta') text += ev.delta;
    if (ev.type === 'response.completed') done = ev.response;
  }
  assert.equal(types[0], 'response.created');
  assert.equal(types[1], 'response.in_progress');
  assert.equal(types.at(-1), 'response.completed');
  assert.ok(types.filter((t) => t === 'response.output_text.delta').length > 1, 'several deltas');
  assert.equal(done.status, 'completed');
  assert.equal(text, done.output[0].content[0].text);
});

test('responses.stream(): the SDK accumulator accepts the event sequence', async () => {
  // ResponseStream rebuilds the response from the events and throws on an
  // event that does not fit the snapshot (an unknown item or content index)
  const stream = client.responses.stream({ model: 'm', input: 'accumulate me' });
  const deltas = [];
  stream.on('response.output_text.delta', (ev) => deltas.push(ev.delta));
  const final = await stream.finalResponse();
  assert.equal(final.status, 'completed');
  assert.equal(final.output_text, deltas.join(''));
  assert.match(final.output_text, /"accumulate me"/);
});

test('a wrong key is an AuthenticationError with the gateway error body', async () => {
  const bad = new OpenAI({ apiKey: 'wrong-token', baseURL, maxRetries: 0 });
  await assert.rejects(bad.responses.create({ model: 'm', input: 'x' }), (e) => {
    assert.ok(e instanceof OpenAI.AuthenticationError, `got ${e.constructor.name}`);
    assert.equal(e.status, 401);
    assert.equal(e.code, 'unauthorized');
    assert.equal(e.type, 'invalid_request_error');
    assert.equal(e.error.message, 'missing or invalid bearer token');
    return true;
  });
});

test('an unknown previous_response_id is a BadRequestError with code previous_response_not_found', async () => {
  await assert.rejects(client.responses.create({ model: 'm', input: 'x', previous_response_id: 'resp_nope' }), (e) => {
    assert.ok(e instanceof OpenAI.BadRequestError, `got ${e.constructor.name}`);
    assert.equal(e.code, 'previous_response_not_found');
    return true;
  });
});

// ---- through an openai/* model: the SDK -> tau-gateway -> the upstream stub.
// GATEWAY_UPSTREAM_URL is a second gateway in front of tests/stub (mode ok).
const upURL = process.env.GATEWAY_UPSTREAM_URL;
const up = upURL ? new OpenAI({ apiKey: process.env.GATEWAY_TOKEN, baseURL: `${upURL}/v1`, maxRetries: 0 }) : null;

test('upstream: responses.create is translated both ways', { skip: !up && 'no upstream gateway' }, async () => {
  const r = await up.responses.create({ model: 'gpt-4o-mini', input: 'hi upstream' });
  assert.equal(r.status, 'completed');
  assert.equal(r.output_text, 'stub reply: hi upstream');
  assert.equal(r.model, 'openai/stub-model');
});

test('upstream: a tool call and its result, then streamed text', { skip: !up && 'no upstream gateway' }, async () => {
  const tools = [{ type: 'function', name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } }];
  const first = await up.responses.create({ model: 'm', input: 'weather?', tools, store: false });
  const call = first.output.find((o) => o.type === 'function_call');
  assert.equal(call.name, 'get_weather');
  assert.equal(call.call_id, 'call_stub_1');
  assert.deepEqual(JSON.parse(call.arguments), { city: 'Paris' });
  const stream = up.responses.stream({
    model: 'm',
    input: [
      { role: 'user', content: 'weather?' },
      { type: 'function_call', call_id: call.call_id, name: call.name, arguments: call.arguments },
      { type: 'function_call_output', call_id: call.call_id, output: 'sunny' },
    ],
    tools,
  });
  const final = await stream.finalResponse();
  assert.equal(final.status, 'completed');
  assert.equal(final.output_text, 'stub saw tool result: sunny');
});
