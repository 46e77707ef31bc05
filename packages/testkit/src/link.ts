// The network link the fault proxy can put between a client and its target: per
// connection, a bandwidth cap in each direction and a one-way latency, as a real object
// store gives one TCP stream (tens of MB/s, milliseconds away). Parallel connections
// each get the full rate, as they would on a real network.
import type { Socket } from "node:net";
import { Transform, type TransformCallback } from "node:stream";

/** What every connection through the proxy goes through. */
export interface LinkShape {
  /** Bytes per second per connection and direction (request bodies up, response bodies down); unlimited when absent. */
  bytesPerSecond?: number | undefined;
  /** One-way delay: a request reaches the target this late, its response comes back this late again; a new connection first pays one round trip (its handshake). */
  latencyMs?: number | undefined;
}

/** Send times of one direction of one connection. */
interface Direction {
  /** When the link is free to send the next byte (ms, performance.now()). */
  freeAt: number;
}

/** One client connection: its two directions, and whether its handshake was paid. */
export interface Connection {
  up: Direction;
  down: Direction;
  opened: number;
  handshaken: boolean;
}

const connections = new WeakMap<Socket, Connection>();

/** The link state of a client socket (created on first use). */
export function connectionOf(socket: Socket): Connection {
  let c = connections.get(socket);
  if (c === undefined) connections.set(socket, (c = { up: { freeAt: 0 }, down: { freeAt: 0 }, opened: performance.now(), handshaken: false }));
  return c;
}

/**
 * How long a request waits before it reaches the target: its one-way latency, plus one
 * round trip on a connection that has not carried a request yet (TCP's handshake),
 * counted from when the connection was opened.
 */
export function requestDelay(shape: LinkShape, c: Connection): number {
  const latency = shape.latencyMs ?? 0;
  if (latency <= 0) return 0;
  if (c.handshaken) return latency;
  c.handshaken = true;
  return Math.max(0, c.opened + 2 * latency - performance.now()) + latency;
}

/**
 * A stream that lets bytes through at the direction's rate and `latencyMs` late: a chunk
 * leaves when the link has sent what came before it (chunks over 16 KiB are cut so the
 * pace is even), and arrives a latency later. It holds at most about one bandwidth-delay
 * product plus a chunk before it pushes back on its source, as TCP's window would.
 */
export function shaper(shape: LinkShape, direction: Direction): Transform {
  const rate = shape.bytesPerSecond;
  const latency = shape.latencyMs ?? 0;
  const perMs = rate === undefined || rate <= 0 ? Infinity : rate / 1000;
  const window = Math.max(64 * 1024, Number.isFinite(perMs) ? perMs * 2 * latency : 0);
  /** Pieces on the wire, in order, with when each arrives. */
  const queue: { piece: Buffer; arrive: number }[] = [];
  let inFlight = 0;
  let timer: NodeJS.Timeout | undefined;
  let waiting: (() => void) | undefined;
  let flushed: TransformCallback | undefined;
  const deliver = () => {
    timer = undefined;
    const now = performance.now();
    while (queue.length > 0 && queue[0]!.arrive <= now + 0.5) {
      const { piece } = queue.shift()!;
      transform.push(piece);
      inFlight -= piece.length;
    }
    if (waiting !== undefined && inFlight < window) {
      const resume = waiting;
      waiting = undefined;
      resume();
    }
    if (queue.length > 0) timer = setTimeout(deliver, queue[0]!.arrive - now);
    else if (flushed !== undefined) flushed();
  };
  const transform = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      const now = performance.now();
      for (let at = 0; at < chunk.length; at += PIECE) {
        const piece = chunk.subarray(at, Math.min(chunk.length, at + PIECE));
        direction.freeAt = Math.max(now, direction.freeAt) + piece.length / perMs;
        queue.push({ piece, arrive: direction.freeAt + latency });
        inFlight += piece.length;
      }
      if (timer === undefined) deliver();
      if (inFlight < window) done();
      else waiting = done;
    },
    flush(done) {
      if (queue.length === 0) done();
      else flushed = done;
    },
    destroy(err, done) {
      if (timer !== undefined) clearTimeout(timer);
      queue.length = 0;
      done(err);
    },
  });
  return transform;
}

/** Chunks are cut to this size so a large chunk does not arrive all at once. */
const PIECE = 16 * 1024;
