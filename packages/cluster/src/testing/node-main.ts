/**
 * One cluster node in its own process, for the multi-process tests and the bench: the
 * engine from a JSON config (argv[2]), its HTTP API, and a control API on another
 * 127.0.0.1 port for the test driver (commit, state, verify). Every position the node
 * reaches is appended to a record file (role, TXID, checksum, epoch) before any
 * acknowledgement, so a test can check every state every node ever served.
 */
import { appendFileSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import Sqlite from "better-sqlite3";
import { createServer } from "node:http";
import { createStaticLeaser, type Leaser } from "@sqlrep/lease";
import { databaseChecksum, formatChecksum } from "@sqlrep/ltx";
import { ReplicaRegistry } from "@sqlrep/replica";
import type { Logger } from "@sqlrep/shipper";
import { backupFromSpec } from "../backup.js";
import { describeError, httpStatusOf } from "../errors.js";
import { startHttpServer } from "../http/server.js";
import { ClusterNode } from "../roles/node.js";
import { Store } from "../store/store.js";
import { page } from "./pages.js";

/** The node's configuration, as the harness writes it. */
export interface NodeMainConfig {
  name: string;
  dataDir: string;
  /** API port on 127.0.0.1. */
  port: number;
  /** What the lease publishes (a forwarder in front of `port`, for partitions). */
  advertiseURL: string;
  controlPort: number;
  lease: { type: "etcd"; endpoints: string[]; key: string; ttl: number } | { type: "static"; primaryHostname: string; primaryURL: string };
  candidate: boolean;
  authToken?: string;
  /** A backup replica URL (file:// or s3://…). */
  backup?: string;
  /** S3 credentials for an s3:// backup (the testkit server's). */
  s3?: { accessKeyId: string; secretAccessKey: string };
  /** The JSONL record of every position reached. */
  record: string;
  /** Pages of the writer's databases. */
  pages?: number;
  retention?: number;
  /** The store's fsync period (default 200 ms here; the store's own default is 1 s). */
  syncInterval?: number;
  /** Commit real SQLite transactions (an INSERT each) instead of made-up pages: what `litestream restore` checks. */
  sqlite?: boolean;
  /** Print every log line (debugging). */
  verbose?: boolean;
  /** Print the debug lines whose message matches this regular expression (`^handoff:`: the handoff trace). */
  debug?: string;
}

/** One line of the record file. */
export interface RecordLine {
  /** Wall clock, ms (sub-ms resolution). */
  t: number;
  node: string;
  /**
   * A commit of this node, a state it applied, its position when the process started, or
   * (`committing`, with the position before) a commit it is about to make.
   */
  role: "primary" | "replica" | "boot" | "committing";
  db: string;
  txid: number;
  checksum: string;
  epoch: number;
  /** A commit's (`primary`) state before it. */
  parent?: { txid: number; checksum: string };
}

async function main(): Promise<void> {
  const config = JSON.parse(process.argv[2] ?? readFileSync(0, "utf8")) as NodeMainConfig;
  const logger = lineLogger(config.name, config.verbose ?? false, config.debug === undefined ? undefined : new RegExp(config.debug));
  const store = await Store.open({ dataDir: config.dataDir, logger, retention: config.retention, syncInterval: config.syncInterval ?? 200 });
  const identity = { hostname: config.name, advertiseURL: config.advertiseURL, candidate: config.candidate };
  let leaser: Leaser;
  if (config.lease.type === "etcd") {
    const { openEtcdLeaser } = await import("@sqlrep/lease-etcd");
    leaser = await openEtcdLeaser({ endpoints: config.lease.endpoints, key: config.lease.key, ttl: config.lease.ttl }, identity);
  } else {
    leaser = createStaticLeaser(config.candidate ? identity : { hostname: config.lease.primaryHostname, advertiseURL: config.lease.primaryURL, candidate: false });
  }
  let backup: ReturnType<typeof backupFromSpec> | undefined;
  if (config.backup !== undefined) {
    const { s3Backend } = await import("@sqlrep/replica-s3/backend");
    const env = config.s3 === undefined ? process.env : { ...process.env, AWS_ACCESS_KEY_ID: config.s3.accessKeyId, AWS_SECRET_ACCESS_KEY: config.s3.secretAccessKey };
    const registry = await new ReplicaRegistry([s3Backend], { env }).load();
    backup = backupFromSpec(registry, config.backup, { syncInterval: 100 });
  }
  // Wall-clock milliseconds with performance.now()'s resolution, comparable across the
  // nodes' processes (performance.timeOrigin is not: it can be off by the process's startup).
  const clockBase = Date.now() - performance.now();
  // Each database's position as this process last saw it: a commit's parent state.
  const last = new Map<string, { txid: number; checksum: string }>();
  const record = (role: RecordLine["role"], db: string, position: { txid: number; checksum: bigint; epoch: number }) => {
    const line: RecordLine = {
      t: clockBase + performance.now(),
      node: config.name,
      role,
      db,
      txid: position.txid,
      checksum: formatChecksum(position.checksum),
      epoch: position.epoch,
    };
    if (role === "primary") line.parent = last.get(db) ?? { txid: 0, checksum: formatChecksum(0n) };
    appendFileSync(config.record, `${JSON.stringify(line)}\n`);
    if (role !== "committing") last.set(db, { txid: line.txid, checksum: line.checksum });
  };
  // Where this process starts: a kill -9 between a commit and its record line leaves a
  // state no line names, which the node may then serve (see invariants.ts).
  for (const name of store.databases()) record("boot", name, store.require(name).position);
  const node = new ClusterNode({ store, leaser, logger, authToken: config.authToken, backup, reconnectDelay: 200 });
  // A commit's event says "primary" even when the lease was lost while it was being
  // written (the guard ran before): the role at event time would call it a replica's.
  const committing = new Set<string>();
  node.events.subscribe((e) => {
    if (e.type === "tx") record(committing.has(e.db) ? "primary" : "replica", e.db, e.position);
  });
  const server = await startHttpServer(node, { addr: `127.0.0.1:${config.port}`, authToken: config.authToken ?? "" });
  node.start();
  const pages = config.pages ?? 16;
  const control = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    const answer = (status: number, body: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    const run = async () => {
      switch (url.pathname) {
        case "/commit": {
          const db = url.searchParams.get("db") ?? "app.db";
          const v = Number(url.searchParams.get("v") ?? "1");
          const exists = (store.get(db)?.position.txid ?? 0) > 0;
          let list = exists ? [{ pgno: 1 + (v % pages), data: page(1 + (v % pages), v) }] : Array.from({ length: pages }, (_, i) => ({ pgno: i + 1, data: page(i + 1, v) }));
          let size = pages;
          if (config.sqlite) ({ list, size } = sqliteTransaction(config.dataDir, store.get(db)?.files.database, exists, v));
          record("committing", db, store.get(db)?.position ?? { txid: 0, checksum: 0n, epoch: 0 });
          committing.add(db);
          const pos = await node.commit(db, list, size).finally(() => committing.delete(db));
          return answer(200, { txid: pos.txid, checksum: formatChecksum(pos.checksum), epoch: pos.epoch });
        }
        case "/state":
          return answer(200, {
            name: config.name,
            nodeId: node.nodeId,
            isPrimary: node.isPrimary,
            ready: node.ready,
            refused: node.refused?.message,
            primary: node.primaryHostname(),
            databases: Object.fromEntries(
              store.databases().map((n) => {
                const db = store.get(n)!;
                return [
                  n,
                  {
                    txid: db.position.txid,
                    checksum: formatChecksum(db.position.checksum),
                    failed: db.failed?.message,
                    fileChecksum: fileSum(db.files.database, db.pageSize, db.pageCount),
                  },
                ];
              }),
            ),
          });
        case "/promote":
          await node.promote();
          return answer(200, { isPrimary: node.isPrimary });
        case "/verify": {
          const err = await store.verify(url.searchParams.get("db") ?? "app.db");
          return answer(200, { ok: err === undefined, error: err?.message });
        }
        case "/backup-wait": {
          const db = url.searchParams.get("db") ?? "app.db";
          await node.primary?.backups?.waitFor(db, store.require(db).position.txid, AbortSignal.timeout(30_000));
          return answer(200, { txid: node.hwm(db) });
        }
        default:
          return answer(404, { error: "no such control endpoint" });
      }
    };
    run().catch((err: unknown) => answer(httpStatusOf(err), { error: describeError(err) }));
  });
  await new Promise<void>((resolve) => control.listen(config.controlPort, "127.0.0.1", resolve));
  console.log(`ready ${node.nodeId} ${server.url}`);
  const stop = async () => {
    control.close();
    await node.close();
    await server.close();
    await store.close();
    process.exit(0);
  };
  process.on("SIGTERM", () => void stop());
  process.on("SIGINT", () => void stop());
}

/**
 * One SQLite transaction on a copy of the node's database (an INSERT of row `v`), as the
 * pages that changed: what the FUSE layer would capture from SQLite.
 */
function sqliteTransaction(dataDir: string, file: string | undefined, exists: boolean, v: number): { list: { pgno: number; data: Uint8Array }[]; size: number } {
  const scratch = join(dataDir, "writer-scratch.db");
  rmSync(scratch, { force: true });
  const before = exists && file !== undefined ? new Uint8Array(readFileSync(file)) : new Uint8Array(0);
  if (before.length > 0) writeFileSync(scratch, before);
  const db = new Sqlite(scratch);
  try {
    db.pragma("journal_mode = DELETE");
    db.exec("CREATE TABLE IF NOT EXISTS t (v INTEGER PRIMARY KEY, pad TEXT)");
    db.prepare("INSERT OR REPLACE INTO t VALUES (?, ?)").run(v, `row ${v} `.repeat(20));
  } finally {
    db.close();
  }
  const after = new Uint8Array(readFileSync(scratch));
  const pageSize = 4096;
  const size = after.length / pageSize;
  const list: { pgno: number; data: Uint8Array }[] = [];
  for (let pgno = 1; pgno <= size; pgno++) {
    const data = after.subarray((pgno - 1) * pageSize, pgno * pageSize);
    const old = before.subarray((pgno - 1) * pageSize, pgno * pageSize);
    if (old.length !== pageSize || Buffer.compare(old, data) !== 0) list.push({ pgno, data });
  }
  return { list, size };
}

/** The database checksum of the file as it is now (what a reader of the replica sees). */
function fileSum(path: string, pageSize: number, commit: number): string {
  try {
    return formatChecksum(databaseChecksum(new Uint8Array(readFileSync(path)), pageSize, commit));
  } catch (err) {
    return `error: ${describeError(err)}`;
  }
}

function lineLogger(name: string, verbose: boolean, debug: RegExp | undefined): Logger {
  const line = (level: string) => (message: string, fields?: Record<string, unknown>) => {
    if (level === "debug" && !verbose && !debug?.test(message)) return;
    process.stderr.write(
      `${new Date().toISOString()} ${name} ${level} ${message}${fields === undefined ? "" : ` ${JSON.stringify(fields, (_, v) => (typeof v === "bigint" ? v.toString(16) : v))}`}\n`,
    );
  };
  return { debug: line("debug"), info: line("info"), warn: line("warn"), error: line("error") };
}

main().catch((err: unknown) => {
  console.error(`node failed: ${describeError(err)}`);
  process.exit(1);
});
