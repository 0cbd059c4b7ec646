// The official OpenAI Node SDK (npm "openai", pinned in package.json), used
// as an application would, against tau-gateway's /v1/chat/completions and
// /v1/models: on local/echo (GATEWAY_URL) and through an openai/* model in
// front of tests/stub (GATEWAY_UPSTREAM_URL), and through an anthropic/*
// model in front of tests/stub/anthropic_stub.py (GATEWAY_ANTHROPIC_URL).  Run by
// tests/integration/http_sdk_openai_chat.sh.
import assert from 'node:assert/strict';
import test from 'node:test';
import OpenAI from 'openai';

const opts = { apiKey: process.env.GATEWAY_TOKEN, maxRetries: 0 };
const client = new OpenAI({ ...opts, baseURL: `${process.env.GATEWAY_URL}/v1` });
const up = new OpenAI({ ...opts, baseURL: `${process.env.GATEWAY_UPSTREAM_URL}/v1` });
const anthropic = new OpenAI({ ...opts, baseURL: `${process.env.GATEWAY_ANTHROPIC_URL}/v1` });
const tools = [{
  type: 'function',
  function: { name: 'get_weather', description: 'the weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } },
}];

test('chat.completions.create: a plain completion', async () => {
  const c = await client.chat.completions.create({
    model: 'gpt-4o-mini',
    messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: 'hello sdk chat' }],
  });
  assert.match(c.id, /^chatcmpl-/);
  assert.equal(c.object, 'chat.completion');
  assert.equal(c.choices.length, 1);
  assert.equal(c.choices[0].message.role, 'assistant');
  assert.equal(c.choices[0].message.content, 'local/echo heard: "hello sdk chat". Instructions: none. Context: 2 items.');
  assert.equal(c.choices[0].finish_reason, 'stop');
  assert.equal(c.usage.total_tokens, c.usage.prompt_tokens + c.usage.completion_tokens);
});

test('chat.completions.create: stream with include_usage', async () => {
  const stream = await client.chat.completions.create({
    model: 'gpt-4o-mini',
    messages: [{ role: 'user', content: [{ type: 'text', text: 'stream me' }] }],
    stream: true,
    stream_options: { include_usage: true },
  });
  let text = '';
  let finish = null;
  let usage = null;
  let chunks = 0;
  for await (const chunk of stream) {
    chunks++;
    assert.equal(chunk.object, 'chat.completion.chunk');
    if (chunk.choices.length > 0) {
      text += chunk.choices[0].delta.content ?? '';
      finish = chunk.choices[0].finish_reason ?? finish;
    }
    if (chunk.usage) usage = chunk.usage;
  }
  assert.ok(chunks > 3);
  assert.equal(text, 'local/echo heard: "stream me". Instructions: none. Context: 1 item.');
  assert.equal(finish, 'stop');
  assert.ok(usage && usage.completion_tokens > 0);
});

test('chat.completions.stream: the SDK accumulator', async () => {
  const runner = client.chat.completions.stream({ model: 'm', messages: [{ role: 'user', content: 'accumulate' }] });
  const final = await runner.finalChatCompletion();
  assert.equal(final.choices[0].message.content, 'local/echo heard: "accumulate". Instructions: none. Context: 1 item.');
});

test('upstream: a tool call and its result', async () => {
  const first = await up.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'weather?' }], tools });
  const msg = first.choices[0].message;
  assert.equal(first.choices[0].finish_reason, 'tool_calls');
  assert.equal(msg.tool_calls[0].id, 'call_stub_1');
  assert.equal(msg.tool_calls[0].function.name, 'get_weather');
  assert.deepEqual(JSON.parse(msg.tool_calls[0].function.arguments), { city: 'Paris' });
  const second = await up.chat.completions.create({
    model: 'm',
    messages: [
      { role: 'user', content: 'weather?' },
      msg,
      { role: 'tool', tool_call_id: msg.tool_calls[0].id, content: 'sunny' },
    ],
    tools,
  });
  assert.equal(second.choices[0].message.content, 'stub saw tool result: sunny');
  assert.equal(second.model, 'openai/stub-model');
});

test('upstream: a streamed tool call, accumulated by the SDK', async () => {
  const runner = up.chat.completions.stream({ model: 'm', messages: [{ role: 'user', content: 'weather?' }], tools });
  const final = await runner.finalChatCompletion();
  const call = final.choices[0].message.tool_calls[0];
  assert.equal(call.id, 'call_stub_1');
  assert.equal(call.function.name, 'get_weather');
  assert.deepEqual(JSON.parse(call.function.arguments), { city: 'Paris' });
  assert.equal(final.choices[0].finish_reason, 'tool_calls');
});

test('anthropic upstream: a streamed tool call after a text block, accumulated by the SDK', async () => {
  const runner = anthropic.chat.completions.stream({
    model: 'm', messages: [{ role: 'user', content: '[stub:text_then_tool] weather?' }], tools,
  });
  const final = await runner.finalChatCompletion();
  const msg = final.choices[0].message;
  assert.equal(msg.content, 'Let me check ✓ ');
  assert.equal(msg.tool_calls.length, 1);
  assert.equal(msg.tool_calls[0].id, 'call_stub_1');
  assert.equal(msg.tool_calls[0].function.name, 'get_weather');
  assert.deepEqual(JSON.parse(msg.tool_calls[0].function.arguments), { city: 'Paris' });
  assert.equal(final.choices[0].finish_reason, 'tool_calls');
});

test('models.list and errors as the SDK types them', async () => {
  const ids = [];
  for await (const m of client.models.list()) ids.push(m.id);
  assert.deepEqual(ids, ['local/echo']);
  await assert.rejects(
    client.chat.completions.create({ model: 'm', messages: [{ role: 'wizard', content: 'x' }] }),
    (e) => e instanceof OpenAI.BadRequestError && e.param === 'messages[0].role',
  );
  const bad = new OpenAI({ ...opts, apiKey: 'wrong', baseURL: `${process.env.GATEWAY_URL}/v1` });
  await assert.rejects(bad.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'x' }] }),
    OpenAI.AuthenticationError);
});
