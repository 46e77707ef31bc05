/**
 * Connection upgrades (WebSocket, h2c, anything with `Connection: upgrade`, LiteFS #418):
 * the request head is replayed to the app on a fresh TCP connection and from then on the
 * proxy only copies bytes both ways, so whatever the app answers (101 or a refusal) and
 * whatever protocol follows pass through untouched.
 */
import type { IncomingMessage } from "node:http";
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import { dialWithRetry, type Upstream } from "./forward.js";

/** Options of {@link tunnelUpgrade}. */
export interface TunnelOptions {
  /** How long to retry connection-refused. */
  readonly dialTimeoutMs: number;
  /** Every open tunnel is added here (and removed when it ends) so the server can cut them on close. */
  readonly open: Set<Duplex>;
  readonly onError?: ((err: Error) => void) | undefined;
}

/** Connects `client` (an upgrade request's socket, with `head` already read past the request) to `to`. */
export async function tunnelUpgrade(req: IncomingMessage, client: Duplex, head: Uint8Array, to: Upstream, options: TunnelOptions): Promise<void> {
  options.open.add(client);
  client.on("close", () => options.open.delete(client));
  client.on("error", () => client.destroy());
  let upstream: Socket;
  try {
    upstream = await dialWithRetry(to, options.dialTimeoutMs);
  } catch (err) {
    options.onError?.(err as Error);
    const text = `Proxy error: ${(err as Error).message}\n`;
    if (!client.destroyed)
      client.end(`HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`);
    return;
  }
  if (client.destroyed) {
    upstream.destroy();
    return;
  }
  options.open.add(upstream);
  upstream.on("close", () => {
    options.open.delete(upstream);
    client.destroy();
  });
  upstream.on("error", () => upstream.destroy());
  client.on("close", () => upstream.destroy());
  upstream.write(requestHead(req));
  if (head.length > 0) upstream.write(head);
  upstream.pipe(client);
  client.pipe(upstream);
}

/** The request line and headers as they came (an upgrade needs its `Connection`/`Upgrade` headers), plus `X-Forwarded-For`. */
function requestHead(req: IncomingMessage): string {
  const lines = [`${req.method ?? "GET"} ${req.url ?? "/"} HTTP/${req.httpVersion === "1.0" ? "1.0" : "1.1"}`];
  const raw = req.rawHeaders;
  let forwardedFor = false;
  const client = req.socket.remoteAddress;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    let value = raw[i + 1]!;
    if (raw[i]!.toLowerCase() === "x-forwarded-for" && client !== undefined && !forwardedFor) {
      value = `${value}, ${client}`;
      forwardedFor = true;
    }
    lines.push(`${raw[i]}: ${value}`);
  }
  if (!forwardedFor && client !== undefined) lines.push(`X-Forwarded-For: ${client}`);
  return `${lines.join("\r\n")}\r\n\r\n`;
}
