/**
 * Bounds on open connections, enforced as they are accepted. At MAX_CONNECTIONS, idle kept-alive
 * connections (a request answered, none in flight) are closed first, the longest idle first, before
 * a new connection is refused: otherwise 2,048 sockets left idle after one GET /healthz each locked
 * every other caller out for the 65 s of their keep-alive. And no one address may hold more than
 * MAX_CONNECTIONS_PER_PEER (0 = no such bound: behind a proxy every caller has the proxy's
 * address). A refused connection is destroyed on accept, counted by reason, and logged at most once
 * every ten seconds (with how many were refused since), so a flood cannot flood the log too.
 */
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import type { Metrics } from '../metrics.js';

export interface ConnectionLimits {
  maxConnections: number;
  /** 0: no bound per address. */
  maxConnectionsPerPeer: number;
}

const LOG_INTERVAL_MS = 10_000;
/** Idle connections closed at once when the cap is reached (as nginx does), so it is not reached again at the next accept. */
const RECLAIM_BATCH = 32;

interface Connection {
  peer: string;
  /** Requests in flight on it. */
  active: number;
  /** Requests answered on it. */
  served: number;
  idleSince: number;
}

export function limitConnections(server: Server, limits: ConnectionLimits, logger: Logger, metrics: Metrics): void {
  const open = new Map<Socket, Connection>();
  const perPeer = new Map<string, number>();
  let unlogged = 0;
  let lastLog = -Infinity;

  const refuse = (socket: Socket, reason: 'max_connections' | 'per_peer') => {
    socket.destroy();
    metrics.connectionsDropped.inc({ reason });
    unlogged += 1;
    const now = performance.now();
    if (now - lastLog < LOG_INTERVAL_MS) return;
    const message =
      reason === 'max_connections'
        ? 'connection limit reached: new connections are being refused (MAX_CONNECTIONS)'
        : 'one address holds MAX_CONNECTIONS_PER_PEER connections: its new connections are being refused';
    logger.warn({ reason, refused: unlogged, ...limits }, message);
    unlogged = 0;
    lastLog = now;
  };

  /** Closes up to `count` idle kept-alive connections (of `peer` only, when given), longest idle first. */
  const reclaim = (count: number, peer?: string): number => {
    const idle = [...open].filter(([socket, c]) => c.active === 0 && c.served > 0 && !socket.destroyed && (peer === undefined || c.peer === peer));
    idle.sort((a, b) => a[1].idleSince - b[1].idleSince);
    const closing = idle.slice(0, count);
    for (const [socket, c] of closing) forget(socket, c);
    for (const [socket] of closing) socket.destroy();
    if (closing.length > 0) metrics.connectionsReclaimed.inc(closing.length);
    return closing.length;
  };

  const forget = (socket: Socket, c: Connection) => {
    if (!open.delete(socket)) return;
    const left = (perPeer.get(c.peer) ?? 1) - 1;
    if (left > 0) perPeer.set(c.peer, left);
    else perPeer.delete(c.peer);
  };

  server.on('connection', (socket: Socket) => {
    const peer = socket.remoteAddress ?? '';
    if (open.size >= limits.maxConnections && reclaim(Math.max(RECLAIM_BATCH, open.size - limits.maxConnections + 1)) === 0) {
      return refuse(socket, 'max_connections');
    }
    const fromPeer = perPeer.get(peer) ?? 0;
    if (limits.maxConnectionsPerPeer > 0 && fromPeer >= limits.maxConnectionsPerPeer && reclaim(1, peer) === 0) {
      return refuse(socket, 'per_peer');
    }
    const connection: Connection = { peer, active: 0, served: 0, idleSince: performance.now() };
    open.set(socket, connection);
    perPeer.set(peer, (perPeer.get(peer) ?? 0) + 1);
    socket.once('close', () => forget(socket, connection));
  });

  server.on('request', (req, res) => {
    const connection = open.get(req.socket as Socket);
    if (connection === undefined) return;
    connection.active += 1;
    res.once('close', () => {
      connection.active -= 1;
      connection.served += 1;
      connection.idleSince = performance.now();
    });
  });
}
