// Test helpers for the proxy: a real HTTP app on a node (SQLite writes through the node, reads of the node's file, streams, a WebSocket echo) and a small HTTP client.
import { createHash } from "node:crypto";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, request, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import type { Duplex } from "node:stream";
import Sqlite from "better-sqlite3";
import type { ClusterNode } from "../roles/node.js";

/** A running app. */
export interface TestApp {
  readonly port: number;
  /** Resolves when an upload's first bytes arrived (the body was not held back by a proxy). */
  firstUploadChunk(): Promise<void>;
  /** Lets a waiting download send the rest of its body. */
  releaseDownload(): void;
  close(): Promise<void>;
}

/**
 * The app behind a proxy on node `name`: `POST /items` inserts a row (a SQLite transaction
 * committed through the node), `GET /items` reads the node's database file, `/upload`
 * counts and hashes a body, `/download?size=` sends one MiB then waits for
 * `releaseDownload()`, `/slow?ms=` answers after a while, anything else answers who it is; upgrades get a WebSocket
 * handshake and each small frame echoed as `<name>:<text>`.
 */
export async function startTestApp(name: string, node: ClusterNode, scratchDir: string, db = "app.db"): Promise<TestApp> {
  let uploadStarted: () => void = () => {};
  let uploadSeen = new Promise<void>((resolve) => (uploadStarted = resolve));
  let release: () => void = () => {};
  let gate = new Promise<void>((resolve) => (release = resolve));
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://app");
    const reply = (status: number, body: unknown) => {
      const text = JSON.stringify({ node: name, ...(body as object) });
      res.writeHead(status, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(text), "X-App-Node": name });
      res.end(text);
    };
    if (url.pathname === "/items" && req.method === "POST") {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        insertRow(node, db, join(scratchDir, `${name}-scratch.db`), Buffer.concat(chunks).toString("utf8")).then(
          (txid) => reply(201, { txid }),
          (err: Error) => reply(500, { error: err.message }),
        );
      });
      return;
    }
    if (url.pathname === "/items" && req.method === "GET") {
      req.resume();
      return reply(200, { rows: readRows(node, db) });
    }
    if (url.pathname === "/upload") {
      const hash = createHash("sha256");
      let bytes = 0;
      req.on("data", (c: Buffer) => {
        if (bytes === 0) uploadStarted();
        bytes += c.length;
        hash.update(c);
      });
      req.on("end", () => reply(200, { bytes, sha256: hash.digest("hex") }));
      return;
    }
    if (url.pathname === "/download") {
      req.resume();
      const size = Number(url.searchParams.get("size"));
      const chunk = Buffer.alloc(1 << 20, 7);
      res.writeHead(200, { "Content-Type": "application/octet-stream", "X-App-Node": name });
      res.write(chunk);
      void gate.then(async () => {
        for (let sent = chunk.length; sent < size; sent += chunk.length) {
          if (!res.write(chunk)) await new Promise((r) => res.once("drain", r));
        }
        res.end();
      });
      return;
    }
    req.resume();
    if (url.pathname === "/slow") {
      const timer = setTimeout(() => reply(200, { slow: true }), Number(url.searchParams.get("ms")));
      res.on("close", () => clearTimeout(timer));
      return;
    }
    reply(req.method === "POST" ? 201 : 200, { method: req.method, path: url.pathname });
  });
  const upgraded = new Set<Duplex>();
  server.on("upgrade", (req, socket: Duplex) => {
    upgraded.add(socket);
    socket.on("close", () => upgraded.delete(socket));
    socket.on("end", () => socket.end());
    const key = String(req.headers["sec-websocket-key"] ?? "");
    const accept = createHash("sha1").update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest("base64");
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\nX-App-Node: ${name}\r\n\r\n`);
    socket.on("data", (frame: Buffer) => {
      const text = Buffer.from(decodeFrame(frame)).toString("utf8");
      socket.write(encodeFrame(`${name}:${text}`, false));
    });
    socket.on("error", () => socket.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as AddressInfo).port,
    firstUploadChunk: () => uploadSeen,
    releaseDownload: () => release(),
    close: () =>
      new Promise<void>((resolve) => {
        uploadSeen = new Promise<void>((r) => (uploadStarted = r));
        gate = new Promise<void>((r) => (release = r));
        server.close(() => resolve());
        server.closeAllConnections();
        for (const socket of upgraded) socket.destroy();
      }),
  };
}

/** A WebSocket text frame (masked as a client sends it, or not as a server does); payloads under 126 bytes. */
export function encodeFrame(text: string, masked: boolean): Buffer {
  const payload = Buffer.from(text, "utf8");
  if (!masked) return Buffer.concat([Buffer.from([0x81, payload.length]), payload]);
  const mask = Buffer.from([1, 2, 3, 4]);
  const body = Buffer.from(payload.map((b, i) => b ^ mask[i % 4]!));
  return Buffer.concat([Buffer.from([0x81, 0x80 | payload.length]), mask, body]);
}

/** The payload of one small WebSocket frame, unmasked. */
export function decodeFrame(frame: Uint8Array): Uint8Array {
  const len = frame[1]! & 0x7f;
  if ((frame[1]! & 0x80) === 0) return frame.subarray(2, 2 + len);
  const mask = frame.subarray(2, 6);
  return frame.subarray(6, 6 + len).map((b, i) => b ^ mask[i % 4]!);
}

/** An INSERT as a SQLite transaction on a copy of the node's database, committed through the node as the pages it changed. */
async function insertRow(node: ClusterNode, db: string, scratch: string, value: string): Promise<number> {
  const file = node.store.get(db)?.files.database;
  const before = file === undefined ? new Uint8Array(0) : new Uint8Array(readFileSync(file));
  rmSync(scratch, { force: true });
  if (before.length > 0) writeFileSync(scratch, before);
  const sqlite = new Sqlite(scratch);
  try {
    sqlite.pragma("journal_mode = DELETE");
    sqlite.exec("CREATE TABLE IF NOT EXISTS items (id INTEGER PRIMARY KEY, value TEXT)");
    sqlite.prepare("INSERT INTO items (value) VALUES (?)").run(value);
  } finally {
    sqlite.close();
  }
  const after = new Uint8Array(readFileSync(scratch));
  const pageSize = 4096;
  const list: { pgno: number; data: Uint8Array }[] = [];
  for (let pgno = 1; pgno <= after.length / pageSize; pgno++) {
    const data = after.subarray((pgno - 1) * pageSize, pgno * pageSize);
    const old = before.subarray((pgno - 1) * pageSize, pgno * pageSize);
    if (old.length !== pageSize || Buffer.compare(old, data) !== 0) list.push({ pgno, data });
  }
  const pos = await node.commit(db, list, after.length / pageSize);
  return pos.txid;
}

/** The values in the node's copy of the database, read with SQLite from its file. */
function readRows(node: ClusterNode, db: string): string[] {
  const file = node.store.get(db)?.files.database;
  if (file === undefined || node.store.get(db)?.position.txid === 0) return [];
  const sqlite = new Sqlite(file, { readonly: true, fileMustExist: true });
  try {
    return (sqlite.prepare("SELECT value FROM items ORDER BY id").all() as { value: string }[]).map((r) => r.value);
  } finally {
    sqlite.close();
  }
}

/** An answer read whole. */
export interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
}

/** One request with Node's HTTP client (no connection reuse). */
export function send(port: number, method: string, path: string, options: { headers?: Record<string, string>; body?: string } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, method, path, headers: options.headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString("utf8") }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(options.body);
  });
}
