// A DOUBLE of Consul's HTTP API (no Consul server can be installed here): the session and KV
// endpoints with their documented semantics, on 127.0.0.1. Not Consul: a stand-in for
// testing clients of these endpoints; see the README for what it leaves out.
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Socket } from "node:net";

/** Options of {@link startConsulDouble}. */
export interface ConsulDoubleOptions {
  /** Listen here (default: a port the OS picks); `start()` after `stop()` reuses the port. */
  port?: number;
  /** When set, every request must carry this ACL token (`X-Consul-Token`, `Authorization: Bearer`, `?token=`). */
  aclToken?: string;
  /** Shortest session TTL accepted (Consul: 10 s). Lower it to test with short TTLs. */
  minSessionTtlMs?: number;
  /** A session expires this many TTLs after its last renew (Consul: 2, its documented "up to double the TTL"). */
  sessionTtlMultiplier?: number;
}

/** A session as Consul lists it. */
export interface ConsulDoubleSession {
  ID: string;
  Name: string;
  Node: string;
  LockDelay: number; // nanoseconds
  Behavior: "release" | "delete";
  TTL: string;
  NodeChecks: string[];
  ServiceChecks: unknown[] | null;
  CreateIndex: number;
  ModifyIndex: number;
}

/** A running double. */
export interface ConsulDouble {
  /** `http://127.0.0.1:PORT`, what `CONSUL_HTTP_ADDR` would hold. */
  readonly url: string;
  readonly port: number;
  /** The current Raft-like index (every write increments it). */
  readonly index: number;
  /** Live sessions. */
  sessions(): ConsulDoubleSession[];
  /** As a killed server: stops answering and cuts connections; sessions and keys are kept, their timers frozen. */
  stop(): Promise<void>;
  /** Answers again on the same port; every session's TTL timer starts over (as when a new leader takes office). */
  start(): Promise<void>;
  /** Stops for good. */
  close(): Promise<void>;
}

interface Entry {
  Key: string;
  Flags: number;
  Value: Buffer | null;
  Session?: string;
  LockIndex: number;
  CreateIndex: number;
  ModifyIndex: number;
}

interface Session extends ConsulDoubleSession {
  ttlMs: number;
  timer?: NodeJS.Timeout;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const MAX_WAIT_MS = 10 * 60_000;
const MAX_LOCK_DELAY_MS = 60_000;

/** Starts the double. Say in test titles that it is a double, not Consul. */
export async function startConsulDouble(options: ConsulDoubleOptions = {}): Promise<ConsulDouble> {
  const minTtl = options.minSessionTtlMs ?? 10_000;
  const multiplier = options.sessionTtlMultiplier ?? 2;
  const kv = new Map<string, Entry>();
  const sessions = new Map<string, Session>();
  const nodes = new Set<string>(["consul-double"]);
  const lockDelays = new Map<string, number>(); // key → Date.now() until which acquires fail
  let index = 1;
  let kvIndex = 1;
  let waiters: (() => void)[] = [];
  let running = false;

  const bump = (kvChanged: boolean) => {
    index += 1;
    if (kvChanged) {
      kvIndex = index;
      const wake = waiters;
      waiters = [];
      for (const w of wake) w();
    }
    return index;
  };

  const armTimer = (s: Session) => {
    clearTimeout(s.timer);
    if (s.ttlMs > 0 && running) s.timer = setTimeout(() => invalidate(s.ID), s.ttlMs * multiplier);
  };

  /** Session invalidation: its locks are released or deleted (behavior), then held back for the lock-delay. */
  const invalidate = (id: string) => {
    const s = sessions.get(id);
    if (!s) return;
    clearTimeout(s.timer);
    sessions.delete(id);
    const idx = bump(false);
    let changed = false;
    for (const [key, e] of kv) {
      if (e.Session !== id) continue;
      changed = true;
      if (s.Behavior === "delete") kv.delete(key);
      else kv.set(key, { ...e, Session: undefined, ModifyIndex: idx });
      if (s.LockDelay > 0) lockDelays.set(key, Date.now() + s.LockDelay / 1e6);
    }
    if (changed) {
      kvIndex = idx;
      const wake = waiters;
      waiters = [];
      for (const w of wake) w();
    }
  };

  const checkToken = (req: IncomingMessage, url: URL) => {
    if (options.aclToken === undefined) return;
    const auth = req.headers.authorization;
    const token = (req.headers["x-consul-token"] as string | undefined) ?? (auth?.startsWith("Bearer ") ? auth.slice(7) : undefined) ?? url.searchParams.get("token") ?? "";
    if (token === "") throw new HttpError(403, "Permission denied");
    if (token !== options.aclToken) throw new HttpError(403, "ACL not found");
  };

  const sessionView = (s: Session): ConsulDoubleSession => {
    const { ttlMs: _t, timer: _timer, ...view } = s;
    return view;
  };

  const entryView = (e: Entry) => ({
    LockIndex: e.LockIndex,
    Key: e.Key,
    Flags: e.Flags,
    Value: e.Value === null ? null : e.Value.toString("base64"),
    ...(e.Session ? { Session: e.Session } : {}),
    CreateIndex: e.CreateIndex,
    ModifyIndex: e.ModifyIndex,
  });

  /** Blocking query: waits while `?index` is not below the KV index, up to `?wait` (+ up to wait/16). */
  const block = async (url: URL, res: ServerResponse) => {
    const wanted = Number(url.searchParams.get("index") ?? "0");
    if (!(wanted > 0) || kvIndex > wanted) return;
    const waitText = url.searchParams.get("wait");
    const wait = Math.min(waitText ? parseDuration(waitText, "wait") : 5 * 60_000, MAX_WAIT_MS);
    const total = wait + Math.random() * (wait / 16);
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, total);
      function done() {
        clearTimeout(timer);
        waiters = waiters.filter((w) => w !== done);
        resolve();
      }
      waiters.push(done);
      res.once("close", done);
    });
  };

  const createSession = (body: Record<string, unknown>): { ID: string } => {
    const nodeName = typeof body["Node"] === "string" && body["Node"] !== "" ? body["Node"] : "consul-double";
    if (!nodes.has(nodeName)) throw new HttpError(500, `Missing node registration`);
    const behavior = body["Behavior"] ?? "release";
    if (behavior !== "release" && behavior !== "delete") throw new HttpError(400, `Invalid Behavior setting '${String(behavior)}'`);
    const ttlText = typeof body["TTL"] === "string" ? body["TTL"] : "";
    const ttlMs = ttlText === "" ? 0 : parseDuration(ttlText, "TTL");
    if (ttlText !== "" && (ttlMs < minTtl || ttlMs > 86_400_000)) {
      throw new HttpError(400, `Invalid Session TTL '${ttlText}', must be between [${minTtl / 1000}s=24h0m0s]`);
    }
    const delay = body["LockDelay"];
    const lockDelayMs = delay === undefined ? 15_000 : typeof delay === "number" ? delay / 1e6 : parseDuration(String(delay), "LockDelay");
    if (lockDelayMs < 0 || lockDelayMs > MAX_LOCK_DELAY_MS) throw new HttpError(400, `Invalid LockDelay '${String(delay)}': 0 to 60s`);
    const checks = (body["NodeChecks"] ?? body["Checks"] ?? ["serfHealth"]) as string[];
    const idx = bump(false);
    const s: Session = {
      ID: randomUUID(),
      Name: typeof body["Name"] === "string" ? body["Name"] : "",
      Node: nodeName,
      LockDelay: lockDelayMs * 1e6,
      Behavior: behavior,
      TTL: ttlText,
      NodeChecks: checks,
      ServiceChecks: (body["ServiceChecks"] as unknown[] | undefined) ?? null,
      CreateIndex: idx,
      ModifyIndex: idx,
      ttlMs,
    };
    sessions.set(s.ID, s);
    armTimer(s);
    return { ID: s.ID };
  };

  const putKv = (key: string, url: URL, raw: Buffer): boolean => {
    // Consul stores an empty body as no value at all (JSON null).
    const body = raw.length === 0 ? null : raw;
    const q = url.searchParams;
    const existing = kv.get(key);
    const flags = Number(q.get("flags") ?? existing?.Flags ?? 0);
    const acquire = q.get("acquire");
    const release = q.get("release");
    if (q.has("cas")) {
      const cas = Number(q.get("cas"));
      if (cas === 0 ? existing !== undefined : existing?.ModifyIndex !== cas) return false;
    }
    if (acquire !== null) {
      if (!sessions.has(acquire)) throw new HttpError(500, `invalid session "${acquire}"`);
      if ((lockDelays.get(key) ?? 0) > Date.now()) return false;
      if (existing?.Session && existing.Session !== acquire) return false;
      const idx = bump(true);
      const same = existing?.Session === acquire;
      kv.set(key, {
        Key: key,
        Flags: flags,
        Value: body,
        Session: acquire,
        LockIndex: existing ? existing.LockIndex + (same ? 0 : 1) : 1,
        CreateIndex: existing?.CreateIndex ?? idx,
        ModifyIndex: idx,
      });
      return true;
    }
    if (release !== null) {
      if (!existing || existing.Session !== release) return false;
      const idx = bump(true);
      kv.set(key, { ...existing, Flags: flags, Value: body, Session: undefined, ModifyIndex: idx });
      return true;
    }
    const idx = bump(true);
    kv.set(key, {
      Key: key,
      Flags: flags,
      Value: body,
      Session: existing?.Session,
      LockIndex: existing?.LockIndex ?? 0,
      CreateIndex: existing?.CreateIndex ?? idx,
      ModifyIndex: idx,
    });
    return true;
  };

  const deleteKv = (key: string, url: URL): boolean => {
    const q = url.searchParams;
    if (q.has("recurse")) {
      for (const k of [...kv.keys()]) if (k.startsWith(key)) kv.delete(k);
      bump(true);
      return true;
    }
    if (q.has("cas")) {
      const cas = Number(q.get("cas"));
      if (cas === 0 || kv.get(key)?.ModifyIndex !== cas) return false;
    }
    kv.delete(key);
    bump(true);
    return true;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse, body: Buffer) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    checkToken(req, url);
    const path = decodeURIComponent(url.pathname);
    const method = req.method ?? "GET";
    const json = (value: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(200, { "Content-Type": "application/json", "X-Consul-Index": String(Math.max(1, kvIndex)), ...headers });
      res.end(JSON.stringify(value));
    };
    const parseBody = () => (body.length ? (JSON.parse(body.toString("utf8")) as Record<string, unknown>) : {});
    let m: RegExpMatchArray | null;
    if (path === "/v1/status/leader") return json("127.0.0.1:8300");
    if (path === "/v1/catalog/register" && method === "PUT") {
      const node = parseBody()["Node"];
      if (typeof node !== "string" || node === "") throw new HttpError(400, "Must provide node");
      nodes.add(node);
      bump(false);
      return json(true);
    }
    if (path === "/v1/session/create" && method === "PUT") return json(createSession(parseBody()));
    if ((m = /^\/v1\/session\/destroy\/(.+)$/.exec(path)) && method === "PUT") {
      invalidate(m[1]!);
      return json(true);
    }
    if ((m = /^\/v1\/session\/renew\/(.+)$/.exec(path)) && method === "PUT") {
      const s = sessions.get(m[1]!);
      if (!s) throw new HttpError(404, `Session id '${m[1]}' not found`);
      armTimer(s);
      return json([sessionView(s)]);
    }
    if ((m = /^\/v1\/session\/info\/(.+)$/.exec(path)) && method === "GET") {
      const s = sessions.get(m[1]!);
      return json(s ? [sessionView(s)] : []);
    }
    if (path === "/v1/session/list" && method === "GET") return json([...sessions.values()].map(sessionView));
    if ((m = /^\/v1\/session\/node\/(.+)$/.exec(path)) && method === "GET") {
      return json([...sessions.values()].filter((s) => s.Node === m![1]).map(sessionView));
    }
    if ((m = /^\/v1\/kv\/(.*)$/.exec(path))) {
      const key = m[1]!;
      if (method === "GET") {
        await block(url, res);
        if (res.destroyed) return;
        const q = url.searchParams;
        const recurse = q.has("recurse") || q.has("keys");
        const found = recurse ? [...kv.values()].filter((e) => e.Key.startsWith(key)).sort((a, b) => (a.Key < b.Key ? -1 : 1)) : kv.has(key) ? [kv.get(key)!] : [];
        if (found.length === 0) {
          res.writeHead(404, { "X-Consul-Index": String(Math.max(1, kvIndex)) });
          return res.end();
        }
        if (q.has("keys")) return json(found.map((e) => e.Key));
        if (q.has("raw")) {
          res.writeHead(200, { "Content-Type": "text/plain; charset=utf-8", "X-Consul-Index": String(kvIndex) });
          return res.end(found[0]!.Value ?? Buffer.alloc(0));
        }
        return json(found.map(entryView));
      }
      if (method === "PUT") return json(putKv(key, url, body));
      if (method === "DELETE") return json(deleteKv(key, url));
    }
    throw new HttpError(404, `no route for ${method} ${path} in the Consul double`);
  };

  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let port = options.port ?? 0;
  const listen = async () => {
    const s = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        handle(req, res, Buffer.concat(chunks)).catch((error: unknown) => {
          if (res.headersSent) return void res.destroy();
          const status = error instanceof HttpError ? error.status : error instanceof SyntaxError ? 400 : 500;
          res.writeHead(status, { "Content-Type": "text/plain; charset=utf-8" });
          res.end(error instanceof Error ? error.message : String(error));
        });
      });
    });
    s.on("connection", (socket) => {
      sockets.add(socket);
      socket.on("close", () => sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      s.once("error", reject);
      s.listen(port, "127.0.0.1", () => resolve());
    });
    port = (s.address() as { port: number }).port;
    server = s;
    running = true;
    for (const session of sessions.values()) armTimer(session);
  };
  const halt = async () => {
    if (!server) return;
    running = false;
    for (const session of sessions.values()) clearTimeout(session.timer);
    const s = server;
    server = undefined;
    const closed = new Promise<void>((resolve) => s.close(() => resolve()));
    for (const socket of sockets) socket.destroy();
    sockets.clear();
    await closed;
  };
  await listen();
  return {
    get url() {
      return `http://127.0.0.1:${port}`;
    },
    get port() {
      return port;
    },
    get index() {
      return index;
    },
    sessions: () => [...sessions.values()].map(sessionView),
    stop: halt,
    start: async () => {
      if (!server) await listen();
    },
    close: halt,
  };
}

/** Go durations as Consul takes them: `10s`, `1.5s`, `500ms`, `1m30s`, `1h`. */
function parseDuration(text: string, what: string): number {
  const units: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };
  if (text === "0") return 0;
  let total = 0;
  let rest = text;
  while (rest.length) {
    const m = /^(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/.exec(rest);
    if (!m) throw new HttpError(400, `Request decode failed: ${what}: time: invalid duration "${text}"`);
    total += Number(m[1]) * units[m[2]!]!;
    rest = rest.slice(m[0].length);
  }
  return total;
}
