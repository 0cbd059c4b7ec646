// Headless Chromium test of the tau-gateway /webchat page (gateway-behaviour.md §9.8).
//
// Run through tests/browser/run.sh, which starts the gateway and exports:
//   GATEWAY_URL    base URL, e.g. http://127.0.0.1:41234
//   GATEWAY_TOKEN  the bearer token the gateway was started with
// Optional: CHROMIUM_PATH (default /usr/bin/chromium),
//           WEBCHAT_SCREENSHOT (run.sh sets it inside its temporary directory;
//           unset, the screenshot goes into a temporary directory of our own,
//           removed at the end).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

const GATEWAY_URL = (process.env.GATEWAY_URL || '').replace(/\/+$/, '');
const TOKEN = process.env.GATEWAY_TOKEN || '';
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
// never a fixed path: parallel runs would overwrite each other's screenshot
const ownShotDir = process.env.WEBCHAT_SCREENSHOT
  ? null : fs.mkdtempSync(path.join(os.tmpdir(), 'tau-webchat-shot-'));
const SCREENSHOT = process.env.WEBCHAT_SCREENSHOT || path.join(ownShotDir, 'webchat.png');
const WAIT_MS = 20000;
const T = { timeout: 60000 };

const LAUNCH_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

let userDataDir;
let context;
let page;
const cspViolations = [];
const pageErrors = [];
const apiRequests = [];

function text(selector) {
  return page.locator(selector).textContent();
}

// Wait until the Send button is enabled again and #output contains `needle`.
async function waitForReply(needle) {
  await page.waitForFunction(
    (n) => !document.getElementById('send').disabled &&
      document.getElementById('output').textContent.includes(n),
    needle,
    { timeout: WAIT_MS },
  );
}

async function waitForIdle() {
  await page.waitForFunction(
    () => !document.getElementById('send').disabled &&
      !document.getElementById('refresh').disabled,
    null,
    { timeout: WAIT_MS },
  );
}

function lastResponsesRequest() {
  const reqs = apiRequests.filter((r) => r.url.endsWith('/v1/responses'));
  assert.ok(reqs.length > 0, 'no POST /v1/responses request was seen');
  return reqs[reqs.length - 1];
}

before(async () => {
  assert.ok(GATEWAY_URL, 'GATEWAY_URL must be set (use tests/browser/run.sh)');
  assert.ok(TOKEN, 'GATEWAY_TOKEN must be set (use tests/browser/run.sh)');
  userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tau-webchat-chromium-'));
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: LAUNCH_ARGS,
    viewport: { width: 1200, height: 860 },
  });
  page = context.pages()[0] || await context.newPage();
  page.on('console', (msg) => {
    if (/Content Security Policy/i.test(msg.text())) cspViolations.push(msg.text());
  });
  page.on('pageerror', (err) => pageErrors.push(String(err)));
  page.on('request', (req) => {
    if (req.url().startsWith(GATEWAY_URL) && !req.url().endsWith('/webchat')) {
      apiRequests.push({
        url: req.url(),
        method: req.method(),
        headers: req.headers(),
        body: req.postData(),
      });
    }
  });
});

after(async () => {
  if (context) await context.close();
  if (userDataDir) fs.rmSync(userDataDir, { recursive: true, force: true });
  if (ownShotDir) fs.rmSync(ownShotDir, { recursive: true, force: true });
});

test('GET /webchat serves the page with its title and controls', T, async () => {
  const resp = await page.goto(`${GATEWAY_URL}/webchat`, { waitUntil: 'load' });
  assert.equal(resp.status(), 200);
  assert.match(resp.headers()['content-type'] || '', /^text\/html;\s*charset=utf-8$/i);
  assert.equal(await page.title(), 'Tau Gateway Webchat');

  // Controls, found through their accessible labels / names.
  const token = page.getByLabel('Bearer token');
  assert.equal(await token.getAttribute('id'), 'token');
  assert.equal(await token.getAttribute('type'), 'text');
  const session = page.getByLabel('Session key');
  assert.equal(await session.getAttribute('id'), 'session');
  assert.equal(await session.inputValue(), 'default');
  const stream = page.getByLabel('Stream response (SSE)');
  assert.equal(await stream.getAttribute('id'), 'stream');
  assert.equal(await stream.isChecked(), true);
  const prompt = page.getByLabel('Prompt');
  assert.equal(await prompt.getAttribute('id'), 'prompt');
  assert.equal(await prompt.evaluate((el) => el.tagName), 'TEXTAREA');
  for (const [name, id] of [['Send', 'send'], ['Refresh status', 'refresh'], ['Clear output', 'clear']]) {
    const button = page.getByRole('button', { name, exact: true });
    assert.equal(await button.getAttribute('id'), id);
  }
  assert.equal(await page.locator('#status').evaluate((el) => el.tagName), 'PRE');
  assert.equal(await page.locator('#output').evaluate((el) => el.tagName), 'PRE');
  assert.equal(await text('#status'), 'Press "Refresh status" to inspect gateway service state.');
  assert.equal(await text('#output'), 'No response yet.');
  assert.equal(await page.getByRole('heading', { name: 'Gateway status' }).count(), 1);
  assert.equal(await page.getByRole('heading', { name: 'Response output' }).count(), 1);
  assert.equal(await page.locator('#service-state').count(), 1);
});

test('page is self-contained: one bare <script>, one bare <style>, no handlers', T, async () => {
  const facts = await page.evaluate(() => {
    const scripts = [...document.querySelectorAll('script')];
    const styles = [...document.querySelectorAll('style')];
    const handlerAttrs = [];
    const external = [];
    for (const el of document.querySelectorAll('*')) {
      for (const attr of el.attributes) {
        if (/^on/i.test(attr.name)) handlerAttrs.push(`${el.tagName}.${attr.name}`);
        if ((attr.name === 'src' || attr.name === 'href') && attr.value) external.push(`${el.tagName}.${attr.name}`);
      }
    }
    return {
      scripts: scripts.length,
      scriptAttrs: scripts.map((s) => s.attributes.length),
      styles: styles.length,
      styleAttrs: styles.map((s) => s.attributes.length),
      links: document.querySelectorAll('link').length,
      handlerAttrs,
      external,
    };
  });
  assert.equal(facts.scripts, 1);
  assert.deepEqual(facts.scriptAttrs, [0]);
  assert.equal(facts.styles, 1);
  assert.deepEqual(facts.styleAttrs, [0]);
  assert.equal(facts.links, 0);
  assert.deepEqual(facts.handlerAttrs, []);
  assert.deepEqual(facts.external, []);
});

test('page is served with a script-restricting Content-Security-Policy', T, async () => {
  const resp = await page.request.get(`${GATEWAY_URL}/webchat`);
  const csp = resp.headers()['content-security-policy'];
  assert.ok(csp, 'GET /webchat must send a Content-Security-Policy header');
  const scriptSrc = csp.split(';').map((d) => d.trim())
    .find((d) => /^script-src\s/.test(d) || /^default-src\s/.test(d));
  assert.ok(scriptSrc, `CSP has no script-src/default-src: ${csp}`);
  assert.doesNotMatch(scriptSrc, /'unsafe-inline'/, `CSP allows inline script: ${csp}`);
  // The page script must still run under that policy (it restores the session field etc.).
  assert.deepEqual(cspViolations, []);
});

test('Send with an empty prompt says "Prompt is required."', T, async () => {
  await page.fill('#prompt', '   ');
  await page.click('#send');
  await page.waitForFunction(
    () => document.getElementById('output').textContent === 'Prompt is required.',
    null, { timeout: WAIT_MS },
  );
});

test('streaming Send shows the echoed reply and persists token/session', T, async () => {
  await page.fill('#token', TOKEN);
  await page.fill('#session', 'default');
  assert.equal(await page.isChecked('#stream'), true);
  const prompt = 'hello from the streaming webchat test';
  await page.fill('#prompt', prompt);
  await page.click('#send');
  await waitForReply(prompt);
  await waitForIdle();

  const out = await text('#output');
  assert.ok(out.includes(prompt), `output should contain the prompt, got: ${out}`);
  assert.ok(!out.includes('[gateway error]'), out);
  assert.ok(!out.includes('[invalid sse payload]'), out);
  assert.ok(!out.startsWith('request failed'), out);
  assert.ok(out.endsWith('\n'), 'response.output_text.done should end the output with a newline');

  const req = lastResponsesRequest();
  assert.equal(req.method, 'POST');
  assert.equal(req.headers.authorization, `Bearer ${TOKEN}`);
  assert.deepEqual(JSON.parse(req.body), {
    input: prompt, stream: true, metadata: { session_id: 'default' },
  });

  const stored = await page.evaluate(() => ({
    token: localStorage.getItem('tau.gateway.webchat.token'),
    session: localStorage.getItem('tau.gateway.webchat.session'),
  }));
  assert.deepEqual(stored, { token: TOKEN, session: 'default' });
});

test('non-streaming Send shows output_text', T, async () => {
  await page.uncheck('#stream');
  await page.fill('#session', 'webchat-e2e');
  const prompt = 'hello from the non-streaming webchat test';
  await page.fill('#prompt', prompt);
  await page.click('#send');
  await waitForReply(prompt);
  await waitForIdle();

  const out = await text('#output');
  assert.ok(out.includes(prompt), `output should contain the prompt, got: ${out}`);
  assert.ok(!out.startsWith('request failed'), out);
  assert.ok(!out.trimStart().startsWith('{'), `expected output_text, not raw JSON: ${out}`);

  const req = lastResponsesRequest();
  assert.deepEqual(JSON.parse(req.body), {
    input: prompt, stream: false, metadata: { session_id: 'webchat-e2e' },
  });
  assert.equal(
    await page.evaluate(() => localStorage.getItem('tau.gateway.webchat.session')),
    'webchat-e2e',
  );
  await page.check('#stream');
});

test('Refresh status shows pretty JSON and the running service state', T, async () => {
  await page.click('#refresh');
  await page.waitForFunction(
    () => document.getElementById('status').textContent.includes('running') &&
      !document.getElementById('refresh').disabled,
    null, { timeout: WAIT_MS },
  );
  const status = await text('#status');
  const report = JSON.parse(status);
  assert.equal(status, JSON.stringify(report, null, 2), 'status should be 2-space pretty JSON');
  assert.equal(report.service.service_status, 'running');
  assert.equal(report.gateway.webchat_endpoint, '/webchat');
  assert.equal((await text('#service-state')).trim(), 'running');

  const req = apiRequests.filter((r) => r.url.endsWith('/gateway/status')).pop();
  assert.ok(req, 'no GET /gateway/status request was seen');
  assert.equal(req.headers.authorization, `Bearer ${TOKEN}`);
});

for (const streaming of [true, false]) {
  test(`reply containing HTML is shown as text (stream=${streaming})`, T, async () => {
    await page.evaluate(() => { delete window.__xss; });
    await page.setChecked('#stream', streaming);
    const prompt = `xss probe ${streaming ? 'sse' : 'json'} <img src=x onerror="window.__xss=1"> <b>bold</b>`;
    await page.fill('#prompt', prompt);
    await page.click('#send');
    await waitForReply('<img src=x');
    await waitForIdle();
    // Give a wrongly created <img> time to fail loading "x" and fire onerror.
    await page.waitForTimeout(300);

    assert.equal(await page.locator('#output img').count(), 0);
    assert.equal(await page.locator('#output b').count(), 0);
    assert.equal(await page.locator('#output *').count(), 0, '#output must contain only text');
    assert.equal(await page.evaluate(() => document.querySelectorAll('img').length), 0);
    assert.equal(await page.evaluate(() => typeof window.__xss), 'undefined');
    const out = await text('#output');
    assert.ok(out.includes('<img'), `literal <img should be visible as text, got: ${out}`);
  });
}

test('a wrong token shows the 401 for Send and Refresh status', T, async () => {
  await page.fill('#token', 'definitely-not-the-token');
  await page.fill('#prompt', 'this request must be rejected');
  await page.click('#send');
  await page.waitForFunction(
    () => document.getElementById('output').textContent.startsWith('request failed: status=401\n') &&
      document.getElementById('status').textContent.startsWith('status 401\n') &&
      !document.getElementById('send').disabled && !document.getElementById('refresh').disabled,
    null, { timeout: WAIT_MS },
  );
  const out = await text('#output');
  assert.match(out, /unauthorized/);
  await page.fill('#token', TOKEN);
});

test('Clear output resets the output panel', T, async () => {
  await page.click('#clear');
  assert.equal(await text('#output'), 'No response yet.');
});

test('token and session are restored from localStorage after a reload', T, async () => {
  await page.fill('#session', 'restored-session');
  await page.reload({ waitUntil: 'load' });
  assert.equal(await page.inputValue('#token'), TOKEN);
  assert.equal(await page.inputValue('#session'), 'restored-session');
  await page.fill('#session', 'default');
});

test('screenshot for a human look', T, async () => {
  const prompt = 'Say hello to the screenshot';
  await page.check('#stream');
  await page.fill('#prompt', prompt);
  await page.click('#send');
  await waitForReply(prompt);
  await waitForIdle();
  await page.waitForFunction(
    () => document.getElementById('service-state').textContent.trim() === 'running',
    null, { timeout: WAIT_MS },
  );
  await page.screenshot({ path: SCREENSHOT, fullPage: true });
  assert.ok(fs.statSync(SCREENSHOT).size > 0);
});

test('no CSP violations or page errors happened', T, async () => {
  assert.deepEqual(cspViolations, []);
  assert.deepEqual(pageErrors, []);
});
