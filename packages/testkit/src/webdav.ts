/**
 * A WebDAV server (npm `webdav-server` v2 over a temp directory, basic auth) as a child
 * process on 127.0.0.1 and a free port, for the WebDAV replica tests.
 */
import { fileURLToPath } from "node:url";
import { TestkitError } from "./errors.js";
import { freePort } from "./ports.js";
import { spawnProcess, type ProcessHandle } from "./process.js";
import { tempDir } from "./temp.js";

/** Options of {@link startWebdavServer}. */
export interface WebdavServerOptions {
  /** Basic-auth user (default `sqlrep`). */
  username?: string;
  /** Basic-auth password (default `sqlrep-secret`). */
  password?: string;
  /** Give up when the server does not listen in time (default 20 000 ms). */
  readyTimeoutMs?: number;
}

/** A running WebDAV server. */
export interface WebdavServer {
  /** `http://127.0.0.1:PORT` (no credentials). */
  readonly url: string;
  readonly port: number;
  readonly username: string;
  readonly password: string;
  /** The directory it serves (files written over WebDAV appear here). */
  readonly root: string;
  /** The server's child process (kill it to simulate a dead endpoint). */
  readonly process: ProcessHandle;
  /** A `webdav://user:pass@127.0.0.1:PORT/PATH` replica URL. */
  replicaUrl(path: string): string;
  /** Stops the server and removes its directory. Idempotent. */
  stop(): Promise<void>;
}

const MAIN = fileURLToPath(new URL("./webdav-server-main.js", import.meta.url));

/** Starts `webdav-server` over a fresh temp directory and resolves once it listens. */
export async function startWebdavServer(options: WebdavServerOptions = {}): Promise<WebdavServer> {
  const username = options.username ?? "sqlrep";
  const password = options.password ?? "sqlrep-secret";
  const root = tempDir("sqlrep-webdav-");
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    try {
      const child = await spawnProcess(process.execPath, [MAIN, JSON.stringify({ port, root: root.path, username, password })], {
        name: `webdav:${port}`,
        ready: /^webdav ready \d+$/,
        readyTimeoutMs: options.readyTimeoutMs ?? 20_000,
      });
      const url = `http://127.0.0.1:${port}`;
      let stopping: Promise<void> | undefined;
      return {
        url,
        port,
        username,
        password,
        root: root.path,
        process: child,
        replicaUrl: (path) => `webdav://${encodeURIComponent(username)}:${encodeURIComponent(password)}@127.0.0.1:${port}/${path.replace(/^\/+/, "")}`,
        stop() {
          stopping ??= child.stop().then(() => root.remove());
          return stopping;
        },
      };
    } catch (error) {
      const portTaken = error instanceof TestkitError && error.output.some((line) => line.includes("EADDRINUSE"));
      if (portTaken && attempt < 3) continue;
      root.remove();
      throw error;
    }
  }
}
