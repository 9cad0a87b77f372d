/**
 * A hostile network before authentication: the gateway must not read what it will not use.
 * Raw sockets (Node's client would not misbehave on purpose): a refused caller streaming a huge
 * body gets its answer and a closed connection; `100 Continue` only after authentication; a
 * declared length over the limit is refused before a byte is read; slow requests get 408,
 * oversize headers 431; connections beyond MAX_CONNECTIONS are dropped, counted and logged.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { Worker } from 'node:worker_threads';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathOf } from '../../scripts/lib/examples.js';
import { gatewayClients, gatewaySuite, txId } from '../helpers/harness.js';
import { metricValue } from '../helpers/metrics-text.js';

const KEY = 'hostile-network-test-key-0123456789';
const IVR_KEY = 'hostile-network-ivr-key-0123456789a';
const HUGE = 1024 * 1024 * 1024;

interface Streamed {
  /** The answer's head (status line and headers), as text. */
  head: string;
  /** Body bytes the gateway's side accepted before it closed the connection (its kernel's buffers included). */
  bytesSent: number;
  closed: boolean;
  /** The client's port: which of the gateway's sockets this was. */
  localPort: number | undefined;
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
    let localPort: number | undefined;
    const finish = (closed: boolean) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ head: answer.split('\r\n\r\n')[0] ?? '', bytesSent: sent, closed, localPort });
    };
    const pump = () => {
      while (!finished && sent < bodyBytes) {
        const ok = socket.write(chunk);
        sent += chunk.length;
        if (!ok) return;
      }
    };
    socket.on('connect', () => {
      localPort = socket.localPort;
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

/** Streams a 1 GB body after `head` until the gateway closes the connection; posts its local port. */
const STREAMER = `
const net = require('node:net');
const { parentPort, workerData } = require('node:worker_threads');
const socket = net.connect(workerData.port, '127.0.0.1');
const chunk = Buffer.alloc(64 * 1024, 'a');
const pump = () => { while (socket.writable && socket.write(chunk)); };
socket.on('connect', () => { parentPort.postMessage(socket.localPort); socket.write(workerData.head); pump(); });
socket.on('drain', pump);
socket.on('error', () => socket.destroy());
`;

/** A request head; headers given as pairs may repeat a name, and `host: null` leaves Host out. */
const request = (method: string, path: string, headers: Record<string, string | number | null> | Array<[string, string | number]>) => {
  const pairs = Array.isArray(headers) ? headers : Object.entries(headers);
  const all = pairs.some(([k]) => k.toLowerCase() === 'host') ? pairs : [['host', 'gateway'] as [string, string], ...pairs];
  const lines = all.filter(([, v]) => v !== null).map(([k, v]) => `${k}: ${v}`);
  return `${method} ${path} HTTP/1.1\r\n${lines.join('\r\n')}\r\n\r\n`;
};

describe('a hostile network before authentication', function () {
  this.timeout(30_000);
  const suite = gatewaySuite({
    GATEWAY_CLIENTS: gatewayClients([
      { name: 'all', key: KEY },
      { name: 'ivr', key: IVR_KEY, operations: ['createIvrCall'] },
    ]),
    HTTP_REQUEST_TIMEOUT_MS: '1500',
    HTTP_HEADERS_TIMEOUT_MS: '1000',
    BODY_LIMIT: '16kb',
  });
  /** The gateway's side of every connection, by the caller's port: what the gateway itself read. */
  const accepted = new Map<number, net.Socket>();
  before(() => {
    suite.gw.server.on('connection', (socket: net.Socket) => accepted.set(socket.remotePort!, socket));
  });

  const json = { 'content-type': 'application/json' };
  const auth = { authorization: `Bearer ${KEY}` };
  // Every answer that can come before the body is read, including those Node's HTTP server would
  // give on its own (417, a missing Host) or not at all (CONNECT: the socket cut off).
  const refusals: Array<[string, string, string, Record<string, string | null> | Array<[string, string]>]> = [
    ['401 (no key)', 'POST', pathOf('createAccount'), json],
    ['403 (operation not allowed)', 'POST', pathOf('createAccount'), { ...json, authorization: `Bearer ${IVR_KEY}` }],
    ['404 (unknown path)', 'POST', '/intserv/4.0/getBalance', { ...json, ...auth }],
    ['405 (another method)', 'PUT', pathOf('createAccount'), { ...json, ...auth }],
    ['405 (CONNECT)', 'CONNECT', 'galileo.example:443', { ...json, ...auth }],
    ['415 (another content type)', 'POST', pathOf('createAccount'), { ...auth, 'content-type': 'text/plain' }],
    ['417 (an Expect other than 100-continue)', 'POST', pathOf('createAccount'), { ...json, expect: 'x-ready' }],
    ['417 (an Expect with a key)', 'POST', pathOf('createAccount'), { ...json, ...auth, expect: '100-continue, x-more' }],
    ['400 (HTTP/1.1 without Host)', 'POST', pathOf('createAccount'), { ...json, ...auth, host: null }],
    [
      '400 (two Authorization headers)',
      'POST',
      pathOf('createAccount'),
      [
        ['content-type', 'application/json'],
        ['authorization', `Bearer ${KEY}`],
        ['authorization', `Bearer ${IVR_KEY}`],
      ],
    ],
    [
      '400 (two Content-Type headers)',
      'POST',
      pathOf('createAccount'),
      [
        ['authorization', `Bearer ${KEY}`],
        ['content-type', 'application/json'],
        ['content-type', 'text/plain'],
      ],
    ],
  ];
  for (const [name, method, path, headers] of refusals) {
    it(`${name} for a 1 GB body: problem+json, one log line, the connection closed, a few MB read at most`, async () => {
      const head = request(method, path, Array.isArray(headers) ? [...headers, ['content-length', String(HUGE)]] : { ...headers, 'content-length': HUGE });
      const result = await stream(suite.gw.url, head, HUGE);
      const status = name.slice(0, 3);
      assert.match(result.head, new RegExp(`^HTTP/1.1 ${status} `), result.head);
      assert.match(result.head, /\r\nconnection: close/i);
      assert.match(result.head, /\r\ncontent-type: application\/problem\+json/i);
      const requestId = /\r\nx-request-id: ([^\r]+)/i.exec(result.head)?.[1];
      assert.ok(requestId, 'no x-request-id');
      assert.ok(result.closed, 'the connection stayed open');
      // The gateway read at most what it discards while lingering (1 MB, and one turn of the event
      // loop's reads past it); the rest of what the caller got in sits in the kernels' buffers.
      const read = accepted.get(result.localPort!)?.bytesRead;
      assert.ok(read !== undefined && read < 4 * 1024 * 1024, `the gateway read ${read} bytes`);
      assert.ok(result.bytesSent < 64 * 1024 * 1024, `${result.bytesSent} bytes were accepted`);
      for (let i = 0; i < 50 && !suite.gw.logs.some((l) => l.requestId === requestId); i++) await sleep(10);
      const lines = suite.gw.logs.filter((l) => l.requestId === requestId && l.msg === 'request completed');
      assert.equal(lines.length, 1, `log lines for ${requestId}: ${lines.length}`);
      assert.equal(lines[0]!.status, Number(status));
    });
  }

  it('a refused caller streaming while another lingers quietly: still a few MB read at most', async () => {
    // The first caller is refused and then sends nothing: its socket lingers, paused, and the
    // gateway waits a while before looking again. The second must be watched from its first turn.
    // It streams from a thread of its own, at the speed of the loopback, not of this event loop.
    const quiet = net.connect({ port: Number(new URL(suite.gw.url).port), host: '127.0.0.1', allowHalfOpen: true });
    await new Promise((resolve) => quiet.once('connect', resolve));
    quiet.write(request('POST', pathOf('createAccount'), { ...json, 'content-length': 10 }));
    await new Promise((resolve) => quiet.once('data', resolve));
    const streamer = new Worker(STREAMER, {
      eval: true,
      workerData: { port: Number(new URL(suite.gw.url).port), head: request('POST', pathOf('createAccount'), { ...json, 'content-length': HUGE }) },
    });
    const localPort = await new Promise<number>((resolve) => streamer.once('message', resolve));
    await new Promise((resolve) => streamer.once('exit', resolve));
    quiet.destroy();
    const read = accepted.get(localPort)?.bytesRead;
    assert.ok(read !== undefined && read < 4 * 1024 * 1024, `the gateway read ${read} bytes`);
  });

  it('a caller still writing an oversized body reads its 413 (the connection lingers instead of resetting)', async () => {
    // 30 callers, ten at a time, each writing 4 MB against a 16 KB limit as fast as they can.
    const head = request('POST', pathOf('createAccount'), { ...json, ...auth, 'content-length': 4 * 1024 * 1024 });
    const heads: string[] = [];
    for (let round = 0; round < 3; round++) {
      heads.push(...(await Promise.all(Array.from({ length: 10 }, () => stream(suite.gw.url, head, 4 * 1024 * 1024)))).map((r) => r.head));
    }
    const answered = heads.filter((h) => /^HTTP\/1.1 413 /.test(h)).length;
    assert.equal(answered, heads.length, `${heads.length - answered} of ${heads.length} callers saw no 413 (the connection was reset first)`);
  });

  it('Expect: 100-continue: no 100 before authentication; a 100 after it', async () => {
    const body = JSON.stringify({ transactionId: txId('continue'), prodId: 501 });
    const refused = await stream(
      suite.gw.url,
      request('POST', pathOf('createAccount'), { 'content-type': 'application/json', 'content-length': body.length, expect: '100-continue' }),
      0,
      2_000,
    );
    assert.match(refused.head, /^HTTP\/1.1 401 /);

    const { hostname, port } = new URL(suite.gw.url);
    const socket = net.connect(Number(port), hostname);
    let answer = '';
    socket.on('data', (d) => (answer += d.toString()));
    socket.write(
      request('POST', pathOf('createAccount'), {
        'content-type': 'application/json',
        'content-length': body.length,
        expect: '100-continue',
        authorization: `Bearer ${KEY}`,
      }),
    );
    for (let i = 0; i < 100 && !answer.includes('100 Continue'); i++) await sleep(10);
    assert.match(answer, /^HTTP\/1.1 100 Continue\r\n/);
    socket.write(body);
    for (let i = 0; i < 200 && !/HTTP\/1.1 200/.test(answer); i++) await sleep(10);
    socket.destroy();
    assert.match(answer, /HTTP\/1.1 200 OK/);
  });

  it('a declared Content-Length over BODY_LIMIT is refused (413) before a byte of the body is read', async () => {
    const result = await stream(
      suite.gw.url,
      request('POST', pathOf('createAccount'), { 'content-type': 'application/json', authorization: `Bearer ${KEY}`, 'content-length': 17 * 1024 }),
      0,
      2_000,
    );
    assert.match(result.head, /^HTTP\/1.1 413 /);
    assert.match(result.head, /\r\nconnection: close/i);
    assert.ok(result.closed);
  });

  it('a request whose body trickles past HTTP_REQUEST_TIMEOUT_MS gets 408 problem+json and a closed connection', async () => {
    const { hostname, port } = new URL(suite.gw.url);
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
    const { hostname, port } = new URL(suite.gw.url);
    const slow = net.connect(Number(port), hostname);
    let answer = '';
    slow.on('data', (d) => (answer += d.toString()));
    const closed = new Promise((resolve) => slow.on('close', resolve));
    slow.on('error', () => undefined);
    slow.write(`POST ${pathOf('createAccount')} HTTP/1.1\r\nhost: gateway\r\nx-slow: `);
    await closed;
    assert.match(answer, /^HTTP\/1.1 408 /);
    assert.equal(JSON.parse(answer.split('\r\n\r\n')[1]!).code, 'request_timeout');

    const big = await stream(suite.gw.url, request('POST', pathOf('createAccount'), { 'x-filler': 'f'.repeat(20_000) }), 0, 2_000);
    assert.match(big.head, /^HTTP\/1.1 431 /);
  });

  it('at MAX_CONNECTIONS, idle kept-alive connections are closed to make room for a new caller', async () => {
    const limited = await suite.startGateway({ MAX_CONNECTIONS: '4' });
    const { hostname, port } = new URL(limited.url);
    // The review's attack, scaled down: every connection the gateway takes, each left idle after one GET /healthz.
    const held = await Promise.all(
      [0, 1, 2, 3].map(async () => {
        const socket = net.connect(Number(port), hostname);
        await new Promise((resolve) => socket.once('connect', resolve));
        socket.write(request('GET', '/healthz', {}));
        await new Promise((resolve) => socket.once('data', resolve));
        socket.on('error', () => undefined);
        return socket;
      }),
    );
    const answer = await fetch(`${limited.url}/healthz`);
    assert.equal(answer.status, 200);
    const metrics = await (await fetch(`${limited.url}/metrics`)).text();
    assert.ok(metricValue(metrics, 'gateway_connections_reclaimed_total') >= 1, 'no idle connection was reclaimed');
    assert.equal(metricValue(metrics, 'gateway_connections_dropped_total'), 0);
    for (let i = 0; i < 50 && !held.some((s) => s.readableEnded || s.destroyed); i++) await sleep(10);
    assert.ok(
      held.some((s) => s.readableEnded || s.destroyed),
      'no idle connection was closed',
    );
    held.forEach((s) => s.destroy());
    await limited.stop();
  });

  it('MAX_CONNECTIONS_PER_PEER: one address cannot take every connection; another address is still served', async () => {
    const limited = await suite.startGateway({ MAX_CONNECTIONS: '100', MAX_CONNECTIONS_PER_PEER: '2' });
    const { port } = new URL(limited.url);
    const connect = (from: string) =>
      new Promise<net.Socket>((resolve) => {
        const socket = net.connect({ port: Number(port), host: '127.0.0.1', localAddress: from }, () => resolve(socket));
        socket.on('error', () => undefined);
      });
    // Two connections from 127.0.0.2, each busy with headers that never finish.
    const busy = await Promise.all(
      [0, 1].map(async () => {
        const socket = await connect('127.0.0.2');
        socket.write('GET /healthz HTTP/1.1\r\nhost: x\r\nx-slow: ');
        return socket;
      }),
    );
    await sleep(50);
    const third = await connect('127.0.0.2');
    await new Promise((resolve) => third.once('close', resolve));
    const other = await connect('127.0.0.3');
    other.write(request('GET', '/healthz', {}));
    const answer = await new Promise<string>((resolve) => other.once('data', (d) => resolve(String(d))));
    assert.match(answer, /^HTTP\/1.1 200 /);
    const metrics = await (await fetch(`${limited.url}/metrics`)).text();
    assert.equal(metricValue(metrics, 'gateway_connections_dropped_total', { reason: 'per_peer' }), 1);
    assert.ok(limited.logs.some((l) => l.level === 40 && /MAX_CONNECTIONS_PER_PEER/.test(String(l.msg))));
    [...busy, other].forEach((s) => s.destroy());
    await limited.stop();
  });

  it('connections beyond MAX_CONNECTIONS are dropped on accept, counted and logged', async () => {
    const limited = await suite.startGateway({ MAX_CONNECTIONS: '2' });
    const { hostname, port } = new URL(limited.url);
    const open = await Promise.all(
      [0, 1].map(
        () =>
          new Promise<net.Socket>((resolve) => {
            const s = net.connect(Number(port), hostname, () => resolve(s));
          }),
      ),
    );
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
