/**
 * Test harness: cluster nodes as separate processes (src/testing/node-main.ts) on
 * 127.0.0.1, each behind two TCP forwarders — one in front of its API (what the lease
 * publishes: cutting it partitions the node from its peers) and one in front of etcd
 * (cutting it partitions the node from the lease). kill -9, restart, partition, heal,
 * commit through the engine of any node, read every node's record of what it served.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort, spawnProcess, startTcpForwarder, type EtcdServer, type ProcessHandle, type TcpForwarder } from "@sqlrep/testkit";
import type { NodeMainConfig, RecordLine } from "./node-main.js";

const packageDir = fileURLToPath(new URL("../..", import.meta.url));
let dist: Promise<string> | undefined;

/** Transpiles the current sources once per process (scripts/build-testing.mjs). */
export function testDist(): Promise<string> {
  dist ??= (async () => {
    const { buildTestDist } = (await import(join(packageDir, "scripts", "build-testing.mjs"))) as { buildTestDist: () => string };
    return buildTestDist();
  })();
  return dist;
}

/** A node of the harness. */
export interface HarnessNode {
  readonly name: string;
  readonly config: NodeMainConfig;
  /** Undefined with `direct`. */
  readonly api: TcpForwarder | undefined;
  readonly etcd: TcpForwarder | undefined;
  process: ProcessHandle | undefined;
}

/** What `/state` answers. */
export interface NodeState {
  name: string;
  nodeId: string;
  isPrimary: boolean;
  ready: boolean;
  refused?: string;
  primary: string | null;
  databases: Record<string, { txid: number; checksum: string; failed?: string; fileChecksum: string }>;
}

/** Options of {@link ProcessCluster.start}. */
export interface ProcessClusterOptions {
  /** A directory for data, records and logs. */
  dir: string;
  nodes: number;
  /** etcd for the lease; without it node 0 is the static primary. */
  etcd?: EtcdServer | undefined;
  /** Lease TTL (ms). */
  ttl?: number;
  /** Backup replica URL for every node. */
  backup?: string;
  s3?: { accessKeyId: string; secretAccessKey: string };
  authToken?: string;
  /** Candidates (default every node with etcd). */
  candidates?: readonly number[];
  verbose?: boolean;
  /** Debug lines to print (node-main's `debug`: a regular expression on the message). */
  debug?: string;
  retention?: number;
  /** Commits are real SQLite transactions (see node-main's `sqlite`). */
  sqlite?: boolean;
  /** The stores' fsync period (node-main's default 200 ms). */
  syncInterval?: number;
  /**
   * No forwarders: the nodes reach each other and etcd directly (no partitions then). The
   * forwarders relay every byte through this process, whose event loop a busy test or
   * bench shares with them: tens of ms per round trip on a loaded machine.
   */
  direct?: boolean;
}

/** A cluster of node processes. */
export class ProcessCluster {
  readonly nodes: HarnessNode[] = [];
  private constructor(private readonly options: ProcessClusterOptions) {}

  /** Starts every node (each ready: listening; not necessarily synced). */
  static async start(options: ProcessClusterOptions): Promise<ProcessCluster> {
    const cluster = new ProcessCluster(options);
    const key = `/litefs/harness-${process.pid}-${Date.now()}`;
    const etcdPort = options.etcd === undefined ? undefined : Number(new URL(options.etcd.clientUrl).port);
    for (let i = 0; i < options.nodes; i++) {
      const port = await freePort();
      const direct = options.direct ?? false;
      const api = direct ? undefined : await startTcpForwarder(port);
      const etcd = etcdPort === undefined || direct ? undefined : await startTcpForwarder(etcdPort);
      const name = `node${i}`;
      const candidate = options.candidates === undefined ? options.etcd !== undefined || i === 0 : options.candidates.includes(i);
      const config: NodeMainConfig = {
        name,
        dataDir: join(options.dir, name),
        port,
        advertiseURL: api?.url ?? `http://127.0.0.1:${port}`,
        controlPort: await freePort(),
        lease:
          options.etcd !== undefined
            ? { type: "etcd", endpoints: [etcd?.url ?? options.etcd.clientUrl], key, ttl: options.ttl ?? 2000 }
            : { type: "static", primaryHostname: "node0", primaryURL: "" },
        candidate,
        authToken: options.authToken,
        backup: options.backup,
        s3: options.s3,
        record: join(options.dir, `${name}.record.jsonl`),
        verbose: options.verbose,
        debug: options.debug,
        retention: options.retention,
        sqlite: options.sqlite,
        syncInterval: options.syncInterval,
      };
      cluster.nodes.push({ name, config, api, etcd, process: undefined });
    }
    // The static lease names node 0's URL on every replica.
    for (const n of cluster.nodes) if (n.config.lease.type === "static") n.config.lease.primaryURL = cluster.nodes[0]!.config.advertiseURL;
    await Promise.all(cluster.nodes.map((_, i) => cluster.spawn(i)));
    return cluster;
  }

  /** Starts (or restarts) node `i` on its data directory. */
  async spawn(i: number): Promise<void> {
    const n = this.nodes[i]!;
    const file = join(await testDist(), "testing", "node-main.js");
    n.process = await spawnProcess(process.execPath, [file, JSON.stringify(n.config)], { name: n.name, ready: /^ready /, readyTimeoutMs: 20_000 });
  }

  /** kill -9 of node `i` (its whole process group). */
  async kill(i: number): Promise<void> {
    const p = this.nodes[i]!.process;
    if (p === undefined) return;
    p.kill();
    await p.exited;
    this.nodes[i]!.process = undefined;
  }

  /** Whether node `i` runs. */
  alive(i: number): boolean {
    return this.nodes[i]!.process !== undefined;
  }

  /** Cuts node `i` off: from its peers (`peers`), from the lease store (`lease`). Open connections are cut. */
  partition(i: number, what: { peers?: boolean; lease?: boolean }): void {
    const n = this.nodes[i]!;
    if (n.api === undefined) throw new Error("partition: the cluster was started with direct: true (no forwarders)");
    if (what.peers) n.api.setTarget(undefined);
    if (what.lease) n.etcd?.setTarget(undefined);
  }

  /** Ends every partition of node `i`. */
  heal(i: number): void {
    const n = this.nodes[i]!;
    n.api?.setTarget(n.config.port);
    if (n.etcd !== undefined && this.options.etcd !== undefined) n.etcd.setTarget(Number(new URL(this.options.etcd.clientUrl).port));
  }

  /** Node `i`'s control API: a JSON answer, or an error with the status. */
  async control<T>(i: number, path: string, method = "GET", timeoutMs = 15_000): Promise<{ status: number; body: T }> {
    const res = await fetch(`http://127.0.0.1:${this.nodes[i]!.config.controlPort}${path}`, { method, signal: AbortSignal.timeout(timeoutMs) });
    return { status: res.status, body: (await res.json()) as T };
  }

  /** Node `i`'s state (undefined when it does not answer). */
  async state(i: number): Promise<NodeState | undefined> {
    if (!this.alive(i)) return undefined;
    try {
      return (await this.control<NodeState>(i, "/state", "GET", 5_000)).body;
    } catch {
      return undefined;
    }
  }

  /** Commits one transaction through node `i`'s engine; the position, or undefined when refused. */
  async commit(i: number, db: string, v: number): Promise<{ txid: number; checksum: string; epoch: number } | undefined> {
    if (!this.alive(i)) return undefined;
    try {
      const res = await this.control<{ txid: number; checksum: string; epoch: number; error?: string }>(i, `/commit?db=${encodeURIComponent(db)}&v=${v}`, "POST", 5_000);
      return res.status === 200 ? res.body : undefined;
    } catch {
      return undefined;
    }
  }

  /** Every position node `i` ever recorded (across restarts). */
  records(i: number): RecordLine[] {
    const file = this.nodes[i]!.config.record;
    if (!existsSync(file)) return [];
    return readFileSync(file, "utf8")
      .split("\n")
      .filter((l) => l.trim() !== "")
      .flatMap((l) => {
        try {
          return [JSON.parse(l) as RecordLine];
        } catch {
          return []; // a line torn by kill -9
        }
      });
  }

  /** The divergence directories node `i` kept for `db`, with their info. */
  diverged(i: number, db: string): { dir: string; info: { files: string[]; node: { txid: string }; lastCommon: { txid: string } | null } }[] {
    const base = join(this.nodes[i]!.config.dataDir, "diverged", ...db.split("/"));
    if (!existsSync(base)) return [];
    return readdirSync(base).map((d) => ({ dir: join(base, d), info: JSON.parse(readFileSync(join(base, d, "info.json"), "utf8")) }));
  }

  /** Output lines of node `i`'s current process. */
  output(i: number): string[] {
    return this.nodes[i]!.process?.output() ?? [];
  }

  /** Stops every node (SIGTERM) and the forwarders. */
  async stop(): Promise<void> {
    await Promise.all(
      this.nodes.map(async (n) => {
        await n.process?.stop(5_000).catch(() => undefined);
        await n.api?.close();
        await n.etcd?.close();
      }),
    );
  }
}
