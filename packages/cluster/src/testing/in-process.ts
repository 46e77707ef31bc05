// Test helpers: a node (store + lease + HTTP API) in this process, on a free 127.0.0.1 port.
import type { Leaser, NodeIdentity } from "@sqlrep/lease";
import { silentLogger, type Logger } from "@sqlrep/shipper";
import { freePort } from "@sqlrep/testkit";
import type { BackupOptions } from "../backup.js";
import { startHttpServer, type HttpServer } from "../http/server.js";
import { ClusterNode } from "../roles/node.js";
import { Store, type StoreOptions } from "../store/store.js";

/** A running node. */
export interface TestNode {
  readonly node: ClusterNode;
  readonly server: HttpServer;
  readonly url: string;
  readonly store: Store;
  /** Closes the node (releasing its lease) and its server. */
  close(): Promise<void>;
}

/** Options of {@link startTestNode}. */
export interface TestNodeOptions {
  dataDir: string;
  hostname: string;
  /** Builds the leaser once the node's URL is known. */
  leaser(identity: NodeIdentity): Leaser | Promise<Leaser>;
  candidate?: boolean;
  authToken?: string;
  backup?: BackupOptions;
  promote?: boolean;
  logger?: Logger;
  store?: Partial<StoreOptions>;
  reconnectDelay?: number;
  port?: number;
}

/** Starts a node on a free port: store, HTTP API, main loop. */
export async function startTestNode(options: TestNodeOptions): Promise<TestNode> {
  const port = options.port ?? (await freePort());
  const url = `http://127.0.0.1:${port}`;
  const logger = options.logger ?? silentLogger;
  const store = await Store.open({ dataDir: options.dataDir, logger, verifyOnOpen: false, ...options.store });
  const leaser = await options.leaser({ hostname: options.hostname, advertiseURL: url, candidate: options.candidate ?? true });
  const node = new ClusterNode({
    store,
    leaser,
    logger,
    authToken: options.authToken,
    backup: options.backup,
    promote: options.promote,
    reconnectDelay: options.reconnectDelay ?? 200,
  });
  const server = await startHttpServer(node, { addr: `127.0.0.1:${port}`, authToken: options.authToken ?? "" });
  node.start();
  let closed = false;
  return {
    node,
    server,
    url,
    store,
    async close() {
      if (closed) return;
      closed = true;
      await node.close();
      await server.close();
      await store.close();
    },
  };
}

/** A logger printing to stderr with a prefix (for debugging a test). */
export function printLogger(prefix: string): Logger {
  const line = (level: string) => (message: string, fields?: Record<string, unknown>) =>
    console.error(
      `${(performance.now() / 1000).toFixed(3)} [${prefix}] ${level} ${message}${fields === undefined ? "" : ` ${JSON.stringify(fields, (_, v) => (typeof v === "bigint" ? v.toString(16) : v))}`}`,
    );
  return { debug: process.env.DEBUG_CLUSTER === "2" ? line("DEBUG") : () => undefined, info: line("INFO"), warn: line("WARN"), error: line("ERROR") };
}
