// NDJSON event streams over a real HTTP server: order, initial events, a slow consumer dropped
// while a fast one keeps everything, and close.
import { connect } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { EventStream } from "./event-stream.js";
import { serveHttp, type HttpService } from "./http-server.js";

let service: HttpService | undefined;
afterEach(async () => {
  await service?.close({ timeoutMs: 100 });
  service = undefined;
});

async function serve<E>(stream: EventStream<E>): Promise<HttpService> {
  service = await serveHttp({ host: "127.0.0.1", port: 0, routes: { "/events": stream.route() } });
  return service;
}

/** Reads NDJSON lines from a streaming response as they come. */
async function subscribe(url: string): Promise<{ lines: unknown[]; ended: Promise<void>; contentType: string | null }> {
  const response = await fetch(url);
  const lines: unknown[] = [];
  const decoder = new TextDecoder();
  let pending = "";
  const ended = (async () => {
    for await (const chunk of response.body!) {
      pending += decoder.decode(chunk, { stream: true });
      for (let nl = pending.indexOf("\n"); nl >= 0; nl = pending.indexOf("\n")) {
        lines.push(JSON.parse(pending.slice(0, nl)));
        pending = pending.slice(nl + 1);
      }
    }
  })();
  return { lines, ended, contentType: response.headers.get("content-type") };
}

async function until(cond: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe("EventStream", () => {
  it("sends the initial events, then every published event, one JSON object a line, in order", async () => {
    const stream = new EventStream<{ type: string; data: Record<string, unknown> }>({
      initial: () => [{ type: "init", data: { isPrimary: true, hostname: "node1" } }],
      contentType: "application/json",
    });
    const { url } = await serve(stream);
    const sub = await subscribe(`${url}/events`);
    expect(sub.contentType).toBe("application/json");
    await until(() => stream.subscriberCount === 1, "the subscriber");
    const at = new Date("2024-05-01T10:00:00Z");
    for (let txID = 1; txID <= 3; txID++) stream.publish({ type: "tx", data: { txID, timestamp: at, checksum: 2n ** 63n } });
    await until(() => sub.lines.length === 4, "four lines");
    expect(sub.lines).toEqual([
      { type: "init", data: { isPrimary: true, hostname: "node1" } },
      ...[1, 2, 3].map((txID) => ({ type: "tx", data: { txID, timestamp: "2024-05-01T10:00:00.000Z", checksum: "9223372036854775808" } })),
    ]);
    stream.close();
    await sub.ended; // the response ends: the client reads to its end
    expect(stream.subscriberCount).toBe(0);
    expect((await fetch(`${url}/events`)).status).toBe(503);
  });

  it("drops a subscriber that stops reading once its buffer is full, while a reading one gets every event", async () => {
    const drops: number[] = [];
    const stream = new EventStream<{ n: number; pad: string }>({ maxBuffered: 16, onDrop: (d) => drops.push(d.buffered) });
    const { url } = await serve(stream);
    const fast = await subscribe(`${url}/events`);
    // The slow one: a raw socket that sends the request and then never reads.
    const slow = connect(Number(new URL(url).port), "127.0.0.1");
    slow.write("GET /events HTTP/1.1\r\nHost: x\r\n\r\n");
    slow.pause();
    const slowClosed = new Promise<void>((resolve) => slow.once("close", () => resolve()));
    slow.on("error", () => {});
    await until(() => stream.subscriberCount === 2, "two subscribers");
    const pad = "x".repeat(64 * 1024);
    let published = 0;
    // Fill the slow socket's kernel buffers; the reader keeps up (each pass lets I/O run).
    while (stream.dropped === 0 && published < 2000) {
      stream.publish({ n: ++published, pad });
      await new Promise((r) => setImmediate(r));
    }
    expect(stream.dropped).toBe(1);
    expect(drops).toEqual([16]); // dropped when the 17th event would not fit
    slow.resume(); // it reads what reached it, then finds the connection closed by the server
    await slowClosed;
    expect(stream.subscriberCount).toBe(1);
    for (let i = 0; i < 5; i++) stream.publish({ n: ++published, pad });
    await until(() => fast.lines.length === published, `${published} events at the fast reader`, 20_000);
    expect(fast.lines.map((l) => (l as { n: number }).n)).toEqual(Array.from({ length: published }, (_, i) => i + 1));
  }, 30_000);

  it("counts subscribers as they come and go", async () => {
    const stream = new EventStream<number>();
    const { url } = await serve(stream);
    const controller = new AbortController();
    const response = await fetch(`${url}/events`, { signal: controller.signal });
    expect(response.headers.get("content-type")).toBe("application/x-ndjson");
    await until(() => stream.subscriberCount === 1, "the subscriber");
    controller.abort();
    await until(() => stream.subscriberCount === 0, "the subscriber to leave");
    expect(stream.dropped).toBe(0);
  });
});
