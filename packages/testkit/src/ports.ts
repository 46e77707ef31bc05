/** Port helpers for tests: a free 127.0.0.1 port, whether a port accepts connections, an HTTP status probe. */
import { get } from "node:http";
import { createConnection, createServer } from "node:net";

/**
 * A TCP port on 127.0.0.1 that was free a moment ago. Prefer binding port 0 yourself:
 * another process can take this port before you use it. It exists for programs that
 * must be told their port on the command line (etcd, daemons under test).
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once("error", reject);
    server.listen({ host: "127.0.0.1", port: 0, exclusive: true }, () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * A 127.0.0.1 port where nothing listens, for "dead endpoint" tests: connections to it
 * are refused. A port from {@link freePort} is no good for that: another test running
 * beside this one can bind it meanwhile and answer. Ports below 1024 are never handed
 * out for port 0 and no test binds them, so the first closed one of a few stays dead.
 * None is on the Fetch standard's "bad port" list, which `fetch` refuses before connecting.
 */
export async function deadPort(): Promise<number> {
  for (const port of [47, 51, 61, 63, 99, 201, 301, 401]) {
    if (!(await isPortOpen(port))) return port;
  }
  throw new Error("deadPort: every candidate port below 1024 on 127.0.0.1 accepts connections");
}

/** Whether something accepts TCP connections on `host:port` right now. */
export function isPortOpen(port: number, host = "127.0.0.1"): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    const done = (open: boolean) => {
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(1_000, () => done(false));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}

/**
 * The status code `url` answers a plain GET with, or undefined when nothing answers
 * within `timeoutMs`. It opens a fresh connection each time (no pooled sockets left to
 * a process that is about to be killed).
 */
export function httpStatus(url: string, timeoutMs = 1_000): Promise<number | undefined> {
  return new Promise((resolve) => {
    const req = get(url, { agent: false, timeout: timeoutMs }, (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    req.once("timeout", () => req.destroy());
    req.once("error", () => resolve(undefined));
  });
}
