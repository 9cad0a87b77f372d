/**
 * Closing a connection whose caller may still be sending, the way nginx's lingering close does.
 * An answer given before the body was read (401, 413, 417, a parse error...) ends the connection;
 * destroying the socket at once, while the caller's bytes are still arriving, makes the kernel
 * answer them with a reset, and a reset can discard our answer before the caller has read it (the
 * caller then sees ECONNRESET instead of its 413). So the write side is ended (FIN after the
 * answer) and what still arrives is read and thrown away, up to LINGER_BYTES; after that the socket
 * is no longer read (the caller's writes then wait on TCP flow control, which costs the gateway
 * nothing), and it is destroyed LINGER_MS after the answer. The caller has that long to read its
 * answer, and no caller can make the gateway read more than about LINGER_BYTES of a body it refused.
 */
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';

/** How long, and how much, a refused caller may still send before the socket is destroyed. */
const LINGER_MS = 2_000;
const LINGER_BYTES = 1024 * 1024;

interface Lingering {
  /** bytesRead when lingering started, and when it started. */
  bytes: number;
  since: number;
  /** bytesRead at the last check. */
  last: number;
  /** Read up to LINGER_BYTES: no longer read at all until it is destroyed. */
  full: boolean;
}

const lingering = new Map<Duplex, Lingering>();
/** A check is due after this turn's reads. */
let checkDue = false;
/** Every socket was quiet at the last check: they are paused, and read again after this long. */
let quietTimer: NodeJS.Timeout | undefined;
const QUIET_CHECK_MS = 50;

/** A request parsed on a lingering connection (pipelined after a refused one) is not served. */
export function isLingering(socket: Duplex): boolean {
  return lingering.has(socket);
}

/**
 * The connection of `socket` closes after the answer being written on it: at once when the caller
 * has sent everything, else after lingering. For answers through Node's HTTP response: Node ends a
 * connection whose last response is written with socket.destroySoon() (the `Connection: close`
 * path of its server), which destroys the socket as soon as the answer is flushed; this socket
 * lingers instead.
 */
export function lingerOnClose(socket: Socket): void {
  socket.destroySoon = () => lingerAndDestroy(socket);
}

/** Ends the write side now (after whatever was written), discards what arrives, then destroys. */
export function lingerAndDestroy(socket: Duplex): void {
  if (lingering.has(socket) || socket.destroyed) return;
  const bytes = bytesRead(socket);
  lingering.set(socket, { bytes, since: performance.now(), last: bytes, full: false });
  socket.once('close', () => lingering.delete(socket));
  // The caller has finished sending (or closed): nothing left to wait for.
  socket.once('end', () => socket.destroy());
  socket.on('error', () => socket.destroy());
  socket.end();
  // Whoever reads the socket (Node's HTTP parser, dumping the refused body) keeps reading; a
  // socket handed over without a reader (a CONNECT) is drained here.
  socket.resume();
  // Checked after this turn's reads even while the others wait out a quiet pause: a new socket
  // left unchecked for QUIET_CHECK_MS could be read tens of MB at loopback speed.
  checkAfterReads();
}

function checkAfterReads(): void {
  if (checkDue) return;
  checkDue = true;
  setImmediate(check);
}

/**
 * Node's HTTP parser reads the socket itself (there are no 'data' events to count), so what was
 * read is checked (bytesRead) right after each turn's reads: libuv reads at most 32 chunks of
 * 64 KB per socket and turn, so a caller gets at most that far past LINGER_BYTES. A socket that
 * read nothing since the last check is paused, and read again after QUIET_CHECK_MS (an idle loop
 * must not spin, and a paused socket cannot be read past the limit meanwhile).
 */
function check(): void {
  checkDue = false;
  const now = performance.now();
  let reading = false;
  for (const [socket, state] of lingering) {
    const bytes = bytesRead(socket);
    if (now - state.since > LINGER_MS) {
      lingering.delete(socket);
      socket.destroy();
      continue;
    }
    if (!state.full && bytes - state.bytes > LINGER_BYTES) state.full = true;
    if (state.full || bytes === state.last) socket.pause();
    else reading = true;
    state.last = bytes;
  }
  if (lingering.size === 0) {
    clearTimeout(quietTimer);
    quietTimer = undefined;
  } else if (reading) {
    checkAfterReads();
  } else if (!quietTimer) {
    quietTimer = setTimeout(() => {
      quietTimer = undefined;
      for (const [socket, state] of lingering) if (!state.full) socket.resume();
      checkAfterReads();
    }, QUIET_CHECK_MS).unref();
  }
}

function bytesRead(socket: Duplex): number {
  return (socket as Partial<Socket>).bytesRead ?? 0;
}
