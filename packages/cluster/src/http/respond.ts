// What every endpoint shares: the request context, JSON answers, reading a body with a bound.
import type { IncomingMessage, ServerResponse } from "node:http";
import { ClusterError } from "../errors.js";
import type { NodeCounters } from "../metrics.js";
import type { ClusterNode } from "../roles/node.js";

/** What a handler gets. */
export interface RequestContext {
  readonly node: ClusterNode;
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly url: URL;
  readonly counters: NodeCounters;
  /** Fires when the client goes away or the server closes. */
  readonly signal: AbortSignal;
}

/** A JSON error answer. */
export function sendError(res: ServerResponse, status: number, message: string, code?: string): void {
  sendJSON(res, status, code === undefined ? { error: message } : { error: message, code });
}

/** A JSON answer. */
export function sendJSON(res: ServerResponse, status: number, body: unknown): void {
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(text) });
  res.end(text);
}

/** Reads a request body (up to `limit` bytes; `ClusterError("invalid-argument")` past it). */
export async function readBody(req: IncomingMessage, limit: number): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new ClusterError("invalid-argument", `request body larger than ${limit} bytes`);
    chunks.push(chunk as Buffer);
  }
  const buf = Buffer.concat(chunks);
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}
