// Test helpers: real @sqlrep/cluster nodes in this process (store, lease, HTTP API on 127.0.0.1), and litefs commands run through main() with captured output.
import Database from "better-sqlite3";
import { ClusterNode, Store, startHttpServer, type HttpServer } from "@sqlrep/cluster";
import type { Leaser, NodeIdentity } from "@sqlrep/lease";
import { freePort } from "@sqlrep/testkit";
import type { Io } from "../io.js";
import { main } from "../main.js";

/** A running node. */
export interface TestNode {
  readonly node: ClusterNode;
  readonly server: HttpServer;
  readonly store: Store;
  readonly url: string;
  readonly dataDir: string;
  close(): Promise<void>;
}

const quiet = { debug() {}, info() {}, warn() {}, error() {} };

/** Starts a node on a free port; `leaser` gets its identity once its URL is known. */
export async function startNode(options: {
  dataDir: string;
  hostname: string;
  candidate?: boolean;
  authToken?: string;
  leaser(identity: NodeIdentity): Leaser | Promise<Leaser>;
}): Promise<TestNode> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const store = await Store.open({ dataDir: options.dataDir, logger: quiet, verifyOnOpen: false });
  const leaser = await options.leaser({ hostname: options.hostname, advertiseURL: url, candidate: options.candidate ?? true });
  const node = new ClusterNode({ store, leaser, logger: quiet, authToken: options.authToken, reconnectDelay: 200 });
  const server = await startHttpServer(node, { addr: `127.0.0.1:${port}`, authToken: options.authToken ?? "" });
  node.start();
  let closed = false;
  return {
    node,
    server,
    store,
    url,
    dataDir: options.dataDir,
    async close() {
      if (closed) return;
      closed = true;
      await node.close();
      await server.close();
      await store.close();
    },
  };
}

/** What a command printed and returned. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `litefs <args>` in this process. */
export async function litefs(args: readonly string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; signal?: AbortSignal } = {}): Promise<CliResult> {
  let stdout = "";
  let stderr = "";
  const io: Io = {
    stdout: { write: (s: string) => ((stdout += s), true) } as unknown as Io["stdout"],
    stderr: { write: (s: string) => ((stderr += s), true) } as unknown as Io["stderr"],
    env: options.env ?? { PATH: process.env.PATH },
    cwd: options.cwd ?? process.cwd(),
    signal: options.signal ?? new AbortController().signal,
  };
  const code = await main(args, io);
  return { code, stdout, stderr };
}

/** A real SQLite database at `path` (rollback journal, so the file alone holds it) with `rows` rows tagged `tag`. */
export function makeDatabase(path: string, rows: number, tag = "row"): void {
  const db = new Database(path);
  db.pragma("journal_mode = DELETE");
  db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, tag TEXT, body TEXT)");
  const insert = db.prepare("INSERT INTO t (tag, body) VALUES (?, ?)");
  db.transaction(() => {
    for (let i = 0; i < rows; i++) insert.run(tag, `${tag}-${i}-${"x".repeat(200)}`);
  })();
  db.close();
}

/** Every row of `t` in `path`. */
export function readRows(path: string): { id: number; tag: string; body: string }[] {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    return db.prepare("SELECT id, tag, body FROM t ORDER BY id").all() as { id: number; tag: string; body: string }[];
  } finally {
    db.close();
  }
}
