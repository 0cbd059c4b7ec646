// tests/integration/lib/ws_client.mjs - the WebSocket client of
// http_websocket.sh: Node's built-in WebSocket (undici's, which takes request
// headers as {headers}; behind --experimental-websocket on Node 20.10+, on by
// default from 22) and, for frames a browser API cannot send (ping, a bare
// close, 70 messages in one write), a raw socket (rawOpen).
//
//   node --experimental-websocket ws_client.mjs SCENARIOS HOST:PORT TOKEN
//
// SCENARIOS: "a,b:arg,c+d" (a, then b with its argument, then c and d at
// once; one Node start for them all).  What each observed is printed as
// one JSON line (an object keyed by scenario when there are several); the
// shell test makes the assertions.  Every wait has a deadline (a stuck
// server fails the scenario with {"timeout": ...}, never hangs the test).
import net from 'node:net';
import crypto from 'node:crypto';

const [scenario, addr, token] = process.argv.slice(2);
const url = `ws://${addr}/v1/responses`;
const TERMINAL = new Set(['response.completed', 'response.failed', 'response.incomplete']);

function open(tok = token) {
	return new Promise((resolve, reject) => {
		const ws = new WebSocket(url, { headers: { authorization: `Bearer ${tok}` } });
		ws.inbox = [];
		ws.waiters = [];
		const push = (m) => {
			const w = ws.waiters.shift();
			if (w) w(m); else ws.inbox.push(m);
		};
		ws.onmessage = (ev) => push(JSON.parse(ev.data));
		ws.onclose = (ev) => { ws.closed = { code: ev.code, reason: ev.reason }; push({ close: ws.closed }); };
		ws.onopen = () => resolve(ws);
		ws.onerror = () => reject(new Error('not opened'));
	});
}

function next(ws, ms = 10000) {
	if (ws.inbox.length) return Promise.resolve(ws.inbox.shift());
	if (ws.closed) return Promise.resolve({ close: ws.closed });
	return new Promise((resolve, reject) => {
		const t = setTimeout(() => reject(new Error(`timeout after ${ms} ms`)), ms);
		ws.waiters.push((m) => { clearTimeout(t); resolve(m); });
	});
}

// Sends body as a response.create and reads up to its terminal event or
// error envelope.
async function turn(ws, body, send = true) {
	if (send) ws.send(JSON.stringify({ type: 'response.create', ...body }));
	const events = [];
	for (;;) {
		const m = await next(ws);
		if (m.close) return { events, close: m.close };
		if (m.type === 'error') return { events, error: m };
		events.push(m);
		if (TERMINAL.has(m.type)) return { events };
	}
}

function summary(t) {
	const last = t.events[t.events.length - 1];
	const resp = last?.response;
	return {
		types: t.events.map((e) => e.type),
		seqs: t.events.map((e) => e.sequence_number),
		id: resp?.id ?? null,
		status: resp?.status ?? null,
		text: resp?.output?.[0]?.content?.[0]?.text ?? null,
		error: t.error ? { status: t.error.status, code: t.error.error?.code, param: t.error.error?.param } : null,
		close: t.close ?? null,
	};
}

async function metric(name) {
	const r = await fetch(`http://${addr}/metrics`, { headers: { authorization: `Bearer ${token}` } });
	const line = (await r.text()).split('\n').find((l) => l.startsWith(name + ' '));
	return line ? Number(line.split(' ')[1]) : null;
}

const msg = (text) => [{ type: 'message', role: 'user', content: text }];

// A WebSocket by hand (net): the handshake, masked frames out, frames in
// (7, 16 or 64-bit lengths).
async function rawOpen() {
	const key = crypto.randomBytes(16).toString('base64');
	const want = crypto.createHash('sha1').update(key + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64');
	const [host, port] = addr.split(':');
	const c = { sock: net.connect(Number(port), host), buf: Buffer.alloc(0), ended: false };
	const waiters = [];
	c.sock.on('data', (d) => { c.buf = Buffer.concat([c.buf, d]); waiters.splice(0).forEach((w) => w()); });
	c.sock.on('end', () => { c.ended = true; waiters.splice(0).forEach((w) => w()); });
	c.until = async (pred) => {
		const dl = Date.now() + 10000;
		while (!pred()) {
			if (Date.now() > dl || c.ended) return pred();
			await new Promise((r) => { waiters.push(r); setTimeout(r, 100); });
		}
		return true;
	};
	c.frame = (op, payload) => {
		const mask = crypto.randomBytes(4);
		const p = Buffer.from(payload);
		const m = Buffer.from(p.map((b, i) => b ^ mask[i % 4]));
		const head = p.length < 126 ? Buffer.from([0x80 | op, 0x80 | p.length]) :
			Buffer.from([0x80 | op, 0x80 | 126, p.length >> 8, p.length & 0xff]);
		return Buffer.concat([head, mask, m]);
	};
	const need = () => {
		if (c.buf.length < 2) return null;
		const n = c.buf[1] & 0x7f;
		if (n < 126) return { h: 2, n };
		if (n === 126) return c.buf.length < 4 ? null : { h: 4, n: c.buf.readUInt16BE(2) };
		return c.buf.length < 10 ? null : { h: 10, n: Number(c.buf.readBigUInt64BE(2)) };
	};
	c.readFrame = async () => {
		if (!(await c.until(() => { const l = need(); return l !== null && c.buf.length >= l.h + l.n; }))) return null;
		const { h, n } = need();
		const f = { op: c.buf[0] & 0x0f, payload: c.buf.subarray(h, h + n) };
		c.buf = c.buf.subarray(h + n);
		return f;
	};
	await new Promise((r) => c.sock.on('connect', r));
	c.sock.write(`GET /v1/responses HTTP/1.1\r\nHost: ${addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
		`Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${key}\r\nAuthorization: Bearer ${token}\r\n\r\n`);
	await c.until(() => c.buf.includes('\r\n\r\n'));
	const head = c.buf.subarray(0, c.buf.indexOf('\r\n\r\n') + 4).toString();
	c.buf = c.buf.subarray(head.length);
	c.status = head.split('\r\n')[0];
	c.accept_ok = /sec-websocket-accept: *(\S+)/i.exec(head)?.[1] === want;
	return c;
}

const scenarios = {
	// one turn, then a store:false continuation on the same socket
	async turns() {
		const ws = await open();
		const t1 = summary(await turn(ws, { store: false, input: msg('one') }));
		const t2 = summary(await turn(ws, { store: false, previous_response_id: t1.id, input: msg('two') }));
		ws.close();
		return { t1, t2 };
	},
	// three creates sent at once: run one after the other, in order
	async queued() {
		const ws = await open();
		for (const q of ['q1', 'q2', 'q3'])
			ws.send(JSON.stringify({ type: 'response.create', store: false, input: msg(q) }));
		const out = [];
		for (let i = 0; i < 3; i++) out.push(summary(await turn(ws, null, false)));
		ws.close();
		return { turns: out };
	},
	// store:true continues from the store on another socket; store:false
	// has no store to fall back on
	async chain() {
		const a = await open();
		const s1 = summary(await turn(a, { store: true, input: msg('s1') }));
		const f1 = summary(await turn(a, { store: false, input: msg('f1') }));
		a.close();
		const b = await open();
		const s2 = summary(await turn(b, { store: true, previous_response_id: s1.id, input: msg('s2') }));
		const f2 = summary(await turn(b, { store: false, previous_response_id: f1.id, input: msg('f2') }));
		const f3 = summary(await turn(b, { store: true, previous_response_id: f1.id, input: msg('f3') }));
		b.close();
		return { s1, f1, s2, f2, f3 };
	},
	// a failed continuation evicts the memory it continued
	async evict() {
		const ws = await open();
		const t1 = summary(await turn(ws, { store: false, input: msg('e1') }));
		const bad = summary(await turn(ws, { store: false, previous_response_id: t1.id, input: 5 }));
		const again = summary(await turn(ws, { store: false, previous_response_id: t1.id, input: msg('e2') }));
		ws.close();
		return { t1, bad, again };
	},
	// a continuation the upstream fails (after it began): response.failed,
	// then the error envelope; the memory it continued is evicted
	async upevict() {
		const ws = await open();
		const t1 = summary(await turn(ws, { store: false, input: msg('u1') }));
		const bad = summary(await turn(ws, { store: false, previous_response_id: t1.id, input: msg('[stub:status400] u2') }));
		const env = await next(ws);
		const again = summary(await turn(ws, { store: false, previous_response_id: t1.id, input: msg('u3') }));
		ws.close();
		return { t1, bad, env: { type: env.type, status: env.status, code: env.error?.code }, again };
	},
	// a chain compacted (POST /v1/responses/compact), its window the input
	// of a new chain on the socket (no previous_response_id), and a next
	// turn continuing that one from the socket's memory (store:false)
	async compact() {
		const ws = await open();
		let prev;
		for (const q of ['c1', 'c2', 'c3']) {
			const t = summary(await turn(ws, { store: true, input: msg(q), ...(prev ? { previous_response_id: prev } : {}) }));
			prev = t.id;
		}
		const r = await fetch(`http://${addr}/v1/responses/compact`, {
			method: 'POST', body: JSON.stringify({ previous_response_id: prev }),
			headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
		});
		const window = (await r.json()).output;
		const n1 = await turn(ws, { store: false, input: [...window, ...msg('n1')] });
		const n2 = summary(await turn(ws, { store: false, previous_response_id: n1.events.at(-1)?.response?.id, input: msg('n2') }));
		ws.close();
		return {
			http: r.status, window,
			n1: { ...summary(n1), previous: n1.events.at(-1)?.response?.previous_response_id },
			n2,
		};
	},
	// N turns one after the other on a socket (each its own job after an
	// idle moment), with the voluntary context switches of the gateway's
	// tau-ticker thread (process PID) over them
	async seq(arg) {
		const [n, pid] = arg.split('/');
		const fs = await import('node:fs');
		const ticker = () => {
			for (const tid of fs.readdirSync(`/proc/${pid}/task`))
				if (fs.readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim() === 'tau-ticker')
					return Number(/^voluntary_ctxt_switches:\s*(\d+)/m.exec(
						fs.readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8'))[1]);
			return null;
		};
		const ws = await open();
		const before = ticker();
		let completed = 0;
		for (let i = 0; i < Number(n); i++)
			if (summary(await turn(ws, { store: false, input: msg(`s${i}`) })).status === 'completed')
				completed++;
		const after = ticker();
		ws.close();
		return { completed, switches: before === null ? null : after - before };
	},
	// the transport's refusals, then a turn that still works
	async refused() {
		const ws = await open();
		const out = {};
		out.stream = summary(await turn(ws, { stream: true, input: msg('x') }));
		out.background = summary(await turn(ws, { background: false, input: msg('x') }));
		out.stream_options = summary(await turn(ws, { stream_options: {}, input: msg('x') }));
		ws.send(JSON.stringify({ type: 'response.cancel' }));
		out.type = summary(await turn(ws, null, false));
		ws.send('{not json');
		out.json = summary(await turn(ws, null, false));
		out.after = summary(await turn(ws, { store: false, input: msg('fine') }));
		ws.close();
		return out;
	},
	// N sockets open at once, each running a turn
	async many(arg) {
		const n = Number(arg);
		const socks = await Promise.all(Array.from({ length: n }, () => open()));
		const gauge = await metric('tau_gateway_websocket_connections');
		const done = await Promise.all(socks.map((ws, i) => turn(ws, { store: false, input: msg(`m${i}`) })));
		const completed = done.filter((t) => t.events.at(-1)?.type === 'response.completed' &&
			t.events.at(-1).response.output[0].content[0].text.includes(`m${done.indexOf(t)}`)).length;
		socks.forEach((ws) => ws.close());
		return { opened: socks.length, gauge, completed };
	},
	// a session key carries the conversation to another socket
	async session(key) {
		const a = await open();
		const t1 = summary(await turn(a, { store: false, metadata: { session_id: key }, input: msg('k1') }));
		a.close();
		const b = await open();
		const t2 = summary(await turn(b, { store: false, metadata: { session_id: key }, input: msg('k2') }));
		b.close();
		return { t1, t2 };
	},
	// one turn per model named ("a|b|c"), in turn on one socket
	async models(list) {
		const ws = await open();
		const out = {};
		for (const model of list.split('|'))
			out[model] = summary(await turn(ws, { model, store: false, input: msg(`to ${model}`) }));
		ws.close();
		await next(ws); /* its close: the server has given its slot back */
		return out;
	},
	// the same turn to each model named ("a|b|c") on one socket: the
	// event types, sequence numbers and the final response
	async shapes(list) {
		const ws = await open();
		const out = {};
		for (const model of list.split('|')) {
			const t = await turn(ws, { model, store: false, input: msg('same words') });
			out[model] = { ...summary(t), final: t.events.at(-1)?.response ?? null };
		}
		ws.close();
		await next(ws);
		return out;
	},
	// N sockets at once against a connection cap: how many open
	async caps(n) {
		const r = await Promise.allSettled(Array.from({ length: Number(n) }, () => open()));
		const opened = r.filter((x) => x.status === 'fulfilled');
		opened.forEach((x) => x.value.close());
		return { opened: opened.length, refused: r.length - opened.length };
	},
	async badtoken() {
		try {
			const ws = await open('wrong-token');
			ws.close();
			return { opened: true };
		} catch {
			return { opened: false };
		}
	},
	async single(text) {
		const ws = await open();
		const t = summary(await turn(ws, { store: false, input: msg(text) }));
		ws.close();
		return t;
	},
	// closes the socket once the first delta of a slow turn arrived
	async hangup(text) {
		const ws = await open();
		ws.send(JSON.stringify({ type: 'response.create', store: false, input: msg(text) }));
		for (;;) {
			const m = await next(ws);
			if (m.close || m.type === 'error') return { got: m };
			if (m.type === 'response.output_text.delta') break;
		}
		ws.close(1000, 'bye');
		return { closed_mid_turn: true };
	},
	// turns until the age limit's error and close
	async age() {
		const ws = await open();
		const t0 = Date.now();
		let turns = 0;
		for (;;) {
			const t = await turn(ws, { store: false, input: msg('tick') });
			if (t.error || t.close) {
				const close = t.close ?? (await next(ws)).close;
				return { turns, error: summary(t).error, close, ms: Date.now() - t0 };
			}
			turns++;
			await new Promise((r) => setTimeout(r, 100));
		}
	},
	// one turn, then "held" and the socket stays open until the process is killed
	async hold() {
		const ws = await open();
		const t = summary(await turn(ws, { store: false, input: msg('held') }));
		console.log(`held ${t.status}`);
		await new Promise(() => {});
	},
	// nothing sent: the idle timeout closes the socket
	async idle() {
		const ws = await open();
		const t0 = Date.now();
		const m = await next(ws, 15000);
		return { got: m, ms: Date.now() - t0 };
	},
	// prints "ready" once a slow turn streams, then reads to the end
	// (the test stops the server meanwhile)
	async shutdown(text) {
		const ws = await open();
		ws.send(JSON.stringify({ type: 'response.create', store: false, input: msg(text) }));
		const seen = [];
		for (;;) {
			const m = await next(ws, 15000);
			if (m.close) return { seen, close: m.close };
			seen.push(m.type === 'error' ? `error:${m.error.code}` : m.type);
			if (m.type === 'response.output_text.delta' && seen.filter((s) => s === m.type).length === 1)
				console.log('ready');
		}
	},
	// RFC 6455 by hand: the accept key, a ping answered by a pong with its
	// payload, and the close handshake
	async raw() {
		const c = await rawOpen();
		c.sock.write(c.frame(0x9, 'hi'));
		const pong = await c.readFrame();
		c.sock.write(c.frame(0x8, Buffer.from([0x03, 0xe8]))); // 1000
		const close = await c.readFrame();
		const eof = await c.until(() => c.ended);
		c.sock.destroy();
		return {
			status: c.status, accept_ok: c.accept_ok,
			pong: pong ? { op: pong.op, payload: pong.payload.toString() } : null,
			close: close ? { op: close.op, code: close.payload.length >= 2 ? close.payload.readUInt16BE(0) : null } : null,
			eof,
		};
	},
	// 70 creates in one write, so they all arrive while the first runs:
	// 64 wait behind it, the rest are refused
	async flood() {
		const c = await rawOpen();
		const frames = [];
		for (let i = 0; i < 70; i++)
			frames.push(c.frame(0x1, JSON.stringify({ type: 'response.create', store: false, input: msg(`f${i}`) })));
		c.sock.write(Buffer.concat(frames));
		let completed = 0, refused = 0, code = null;
		while (completed + refused < 70) {
			const f = await c.readFrame();
			if (f === null || f.op !== 0x1) break;
			const m = JSON.parse(f.payload.toString());
			if (m.type === 'response.completed') completed++;
			else if (m.type === 'error') { refused++; code = m.error.code; }
		}
		c.sock.destroy();
		return { completed, refused, code };
	},
};

// "a,b:arg,c+d": a, then b with its argument, then c and d at once;
// printed as one object keyed by scenario name.
const out = {};
for (const step of scenario.split(',')) {
	await Promise.all(step.split('+').map(async (one) => {
		const i = one.indexOf(':');
		const name = i < 0 ? one : one.slice(0, i), arg = i < 0 ? undefined : one.slice(i + 1);
		try {
			out[name] = await scenarios[name](arg);
		} catch (e) {
			out[name] = { timeout: String(e.message) };
		}
	}));
}
const names = Object.keys(out);
console.log(JSON.stringify(/[,+]/.test(scenario) ? out : out[names[0]]));
process.exit(0);
