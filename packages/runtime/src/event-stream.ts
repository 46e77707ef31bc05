// Newline-delimited JSON event streams (LiteFS's `/events`): every subscriber gets each event
// as one JSON line; one that stops reading is dropped once its bounded buffer is full.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Route } from "./http-server.js";
import { stringifyJson } from "./status.js";

/** Events held for one subscriber whose socket is full before it is dropped: LiteFS's channel size. */
export const DEFAULT_MAX_BUFFERED_EVENTS = 1024;

/** Options of an {@link EventStream}. */
export interface EventStreamOptions<E> {
  /** Events a new subscriber gets first, before any published one (LiteFS: `init`). */
  initial?: () => Iterable<E>;
  /** Events held per subscriber while its socket does not take more (default 1024); one more drops it. */
  maxBuffered?: number;
  /** The response's content type (default `application/x-ndjson`; LiteFS answers `application/json`). */
  contentType?: string;
  /** Called when a slow subscriber is dropped. */
  onDrop?: (info: { remote: string | undefined; buffered: number }) => void;
}

interface Subscriber {
  readonly res: ServerResponse;
  /** Lines the socket did not take yet, oldest first; only used while `draining`. */
  readonly queue: string[];
  draining: boolean;
}

/**
 * A fan-out of events to HTTP subscribers, one JSON object a line. `publish` never blocks
 * and never grows without bound: each subscriber's events wait in its own queue while its
 * socket is full, and a subscriber whose queue would pass `maxBuffered` is disconnected
 * (as LiteFS does), so one slow reader cannot hold memory or slow the others.
 */
export class EventStream<E> {
  private readonly subscribers = new Set<Subscriber>();
  private readonly maxBuffered: number;
  private closed = false;
  private droppedCount = 0;

  constructor(private readonly options: EventStreamOptions<E> = {}) {
    this.maxBuffered = options.maxBuffered ?? DEFAULT_MAX_BUFFERED_EVENTS;
  }

  /** Subscribers connected now (LiteFS's `litefs_subscriber_count`). */
  get subscriberCount(): number {
    return this.subscribers.size;
  }

  /** Subscribers dropped for reading too slowly, since the stream was made. */
  get dropped(): number {
    return this.droppedCount;
  }

  /** Sends `event` to every subscriber (serialized once). */
  publish(event: E): void {
    if (this.subscribers.size === 0) return;
    const line = `${stringifyJson(event)}\n`;
    for (const sub of this.subscribers) this.send(sub, line);
  }

  /** Answers a request by subscribing it: 200, headers at once, the initial events, then every published one. */
  readonly handle = (req: IncomingMessage, res: ServerResponse): void => {
    if (this.closed) {
      res.writeHead(503, { "content-type": "text/plain" }).end("shutting down\n");
      return;
    }
    res.writeHead(200, { "content-type": this.options.contentType ?? "application/x-ndjson", "cache-control": "no-cache" });
    if (req.method === "HEAD") {
      res.end();
      return;
    }
    res.flushHeaders();
    const sub: Subscriber = { res, queue: [], draining: false };
    this.subscribers.add(sub);
    res.on("close", () => this.subscribers.delete(sub));
    for (const event of this.options.initial?.() ?? []) this.send(sub, `${stringifyJson(event)}\n`);
  };

  /** This stream as a GET route of {@link serveHttp}; the server's close ends it. */
  route(): Route {
    return { handle: this.handle, close: () => this.close() };
  }

  /** Ends every subscriber's response (they read to the end) and refuses new ones. */
  close(): void {
    this.closed = true;
    for (const sub of this.subscribers) {
      // A subscriber still behind cannot be waited for: the server is going away.
      if (sub.draining) sub.res.destroy();
      else sub.res.end();
    }
    this.subscribers.clear();
  }

  private send(sub: Subscriber, line: string): void {
    if (!this.subscribers.has(sub)) return;
    if (sub.draining) {
      if (sub.queue.length >= this.maxBuffered) return this.drop(sub);
      sub.queue.push(line);
      return;
    }
    if (!sub.res.write(line)) {
      sub.draining = true;
      sub.res.once("drain", () => this.flush(sub));
    }
  }

  /** The socket took what it had: write the queue until it is full again. */
  private flush(sub: Subscriber): void {
    sub.draining = false;
    while (sub.queue.length > 0 && !sub.draining) this.send(sub, sub.queue.shift()!);
  }

  private drop(sub: Subscriber): void {
    this.subscribers.delete(sub);
    this.droppedCount++;
    this.options.onDrop?.({ remote: sub.res.socket?.remoteAddress, buffered: sub.queue.length });
    sub.res.destroy();
  }
}
