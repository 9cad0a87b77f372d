/**
 * A hostile network before authentication: the gateway must not read what it will not use.
 * Raw sockets (Node's client would not misbehave on purpose): a refused caller streaming a huge
 * body gets its answer and a closed connection; `100 Continue` only after authentication; a
 * declared length over the limit is refused before a byte is read; slow requests get 408,
 * oversize headers 431; connections beyond MAX_CONNECTIONS are dropped, counted and logged.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathOf } from '../helpers/examples.js';
import { sha256, startTestGateway, startTestSimulator, txId, type Simulator, type TestGateway } from '../helpers/harness.js';
import { metricValue } from '../ops/metrics-text.js';

const KEY = 'hostile-network-test-key-0123456789';
const IVR_KEY = 'hostile-network-ivr-key-0123456789a';
const HUGE = 1024 * 1024 * 1024;

interface Streamed {
  /** The answer's head (status line and headers), as text. */
  head: string;
  /** Body bytes the gateway's side accepted before it closed the connection. */
  bytesSent: number;
  closed: boolean;
}

/**
 * Sends `head` (a request line and headers), then streams `bodyBytes` as fast as the socket takes
 * them, until the gateway closes the connection or `bodyBytes` are out. Resolves when the socket
 * is closed or after `timeoutMs`.
 */
function stream(url: string, head: string, bodyBytes: number, timeoutMs = 5_000): Promise<Streamed> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect(Number(port), hostname);
    const chunk = Buffer.alloc(64 * 1024, 'a');
    let sent = 0;
    let answer = '';
    let finished = false;
    const finish = (closed: boolean) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ head: answer.split('\r\n\r\n')[0] ?? '', bytesSent: sent, closed });
    };
    const pump = () => {
      while (!finished && sent < bodyBytes) {
        const ok = socket.write(chunk);
        sent += chunk.length;
        if (!ok) return;
      }
    };
    socket.on('connect', () => {
      socket.write(head);
      pump();
    });
    socket.on('drain', pump);
    socket.on('data', (data) => (answer += data.toString('latin1')));
    socket.on('error', () => finish(true));
    socket.on('close', () => finish(true));
    const timer = setTimeout(() => finish(false), timeoutMs);
  });
}

const request = (method: string, path: string, headers: Record<string, string | number>) =>
  `${method} ${path} HTTP/1.1\r\nhost: gateway\r\n${Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}`)
    .join('\r\n')}\r\n\r\n`;

describe('a hostile network before authentication', function () {
  this.timeout(30_000);
  let sim: Simulator;
  let gw: TestGateway;
  before(async () => {
    sim = await startTestSimulator();
    gw = await startTestGateway(sim.url, {
      GATEWAY_CLIENTS: JSON.stringify([
        { name: 'all', keySha256: sha256(KEY), operations: ['*'] },
        { name: 'ivr', keySha256: sha256(IVR_KEY), operations: ['createIvrCall'] },
      ]),
      HTTP_REQUEST_TIMEOUT_MS: '1500',
      HTTP_HEADERS_TIMEOUT_MS: '1000',
      BODY_LIMIT: '16kb',
    });
  });
  after(async () => {
    await gw.stop();
    await sim.close();
  });

  const refusals: Array<[string, string, string, Record<string, string>]> = [
    ['401 (no key)', 'POST', pathOf('createAccount'), {}],
    ['403 (operation not allowed)', 'POST', pathOf('createAccount'), { authorization: `Bearer ${IVR_KEY}` }],
    ['404 (unknown path)', 'POST', '/intserv/4.0/getBalance', { authorization: `Bearer ${KEY}` }],
    ['405 (another method)', 'PUT', pathOf('createAccount'), { authorization: `Bearer ${KEY}` }],
    ['415 (another content type)', 'POST', pathOf('createAccount'), { authorization: `Bearer ${KEY}`, 'content-type': 'text/plain' }],
  ];
  for (const [name, method, path, headers] of refusals) {
    it(`${name} for a 1 GB body: answered, the connection closed, a few MB read at most`, async () => {
      const result = await stream(gw.url, request(method, path, { 'content-type': 'application/json', ...headers, 'content-length': HUGE }), HUGE);
      assert.match(result.head, new RegExp(`^HTTP/1.1 ${name.slice(0, 3)} `), result.head);
      assert.match(result.head, /\r\nconnection: close/i);
      assert.ok(result.closed, 'the connection stayed open');
      // What the kernel's buffers hold before the close is noticed; never the body.
      assert.ok(result.bytesSent < 32 * 1024 * 1024, `${result.bytesSent} bytes were accepted`);
    });
  }

  it('Expect: 100-continue: no 100 before authentication; a 100 after it', async () => {
    const body = JSON.stringify({ transactionId: txId('continue'), prodId: 501 });
    const refused = await stream(gw.url, request('POST', pathOf('createAccount'), { 'content-type': 'application/json', 'content-length': body.length, expect: '100-continue' }), 0, 2_000);
    assert.match(refused.head, /^HTTP\/1.1 401 /);

    const { hostname, port } = new URL(gw.url);
    const socket = net.connect(Number(port), hostname);
    let answer = '';
    socket.on('data', (d) => (answer += d.toString()));
    socket.write(request('POST', pathOf('createAccount'), { 'content-type': 'application/json', 'content-length': body.length, expect: '100-continue', authorization: `Bearer ${KEY}` }));
    for (let i = 0; i < 100 && !answer.includes('100 Continue'); i++) await sleep(10);
    assert.match(answer, /^HTTP\/1.1 100 Continue\r\n/);
    socket.write(body);
    for (let i = 0; i < 200 && !/HTTP\/1.1 200/.test(answer); i++) await sleep(10);
    socket.destroy();
    assert.match(answer, /HTTP\/1.1 200 OK/);
  });

  it('a declared Content-Length over BODY_LIMIT is refused (413) before a byte of the body is read', async () => {
    const result = await stream(gw.url, request('POST', pathOf('createAccount'), { 'content-type': 'application/json', authorization: `Bearer ${KEY}`, 'content-length': 17 * 1024 }), 0, 2_000);
    assert.match(result.head, /^HTTP\/1.1 413 /);
    assert.match(result.head, /\r\nconnection: close/i);
    assert.ok(result.closed);
  });

  it('a request whose body trickles past HTTP_REQUEST_TIMEOUT_MS gets 408 problem+json and a closed connection', async () => {
    const { hostname, port } = new URL(gw.url);
    const socket = net.connect(Number(port), hostname);
    let answer = '';
    socket.on('data', (d) => (answer += d.toString()));
    const closed = new Promise((resolve) => socket.on('close', resolve));
    socket.on('error', () => undefined);
    socket.write(request('POST', pathOf('createAccount'), { 'content-type': 'application/json', authorization: `Bearer ${KEY}`, 'content-length': 100 }));
    socket.write('{"transactionId":');
    await closed;
    assert.match(answer, /^HTTP\/1.1 408 /);
    assert.match(answer, /content-type: application\/problem\+json/i);
    assert.equal(JSON.parse(answer.split('\r\n\r\n')[1]!).code, 'request_timeout');
  });

  it('headers that never finish get 408; oversize headers get 431', async () => {
    const { hostname, port } = new URL(gw.url);
    const slow = net.connect(Number(port), hostname);
    let answer = '';
    slow.on('data', (d) => (answer += d.toString()));
    const closed = new Promise((resolve) => slow.on('close', resolve));
    slow.on('error', () => undefined);
    slow.write(`POST ${pathOf('createAccount')} HTTP/1.1\r\nhost: gateway\r\nx-slow: `);
    await closed;
    assert.match(answer, /^HTTP\/1.1 408 /);
    assert.equal(JSON.parse(answer.split('\r\n\r\n')[1]!).code, 'request_timeout');

    const big = await stream(gw.url, request('POST', pathOf('createAccount'), { 'x-filler': 'f'.repeat(20_000) }), 0, 2_000);
    assert.match(big.head, /^HTTP\/1.1 431 /);
  });

  it('connections beyond MAX_CONNECTIONS are dropped on accept, counted and logged', async () => {
    const limited = await startTestGateway(sim.url, { MAX_CONNECTIONS: '2' });
    const { hostname, port } = new URL(limited.url);
    const open = await Promise.all([0, 1].map(() => new Promise<net.Socket>((resolve) => {
      const s = net.connect(Number(port), hostname, () => resolve(s));
    })));
    await sleep(50);
    const third = net.connect(Number(port), hostname);
    third.on('error', () => undefined);
    await new Promise((resolve) => third.on('close', resolve));
    open.forEach((s) => s.destroy());
    // The server counts a connection as gone once it has seen it close.
    for (let i = 0; i < 50 && (await new Promise<number>((resolve) => limited.server.getConnections((_e, n) => resolve(n)))) > 0; i++) await sleep(20);
    const metrics = await (await fetch(`${limited.url}/metrics`)).text();
    assert.ok(metricValue(metrics, 'gateway_connections_dropped_total') >= 1, 'the drop was not counted');
    assert.ok(limited.logs.some((l) => l.level === 40 && /MAX_CONNECTIONS/.test(String(l.msg)) && l.maxConnections === 2));
    await limited.stop();
  });
});
