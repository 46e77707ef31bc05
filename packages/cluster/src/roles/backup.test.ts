/**
 * The cluster's backup end to end (issue 10 §6): two node processes on a real etcd lease
 * ship to a file:// replica; a restore of it equals the primary at its tip, before a kill -9
 * of the primary and after the new primary continued the backup (and then at the TXID of
 * the failover too).
 * Restored with @sqlrep/replica's restore (what `litestream restore` runs) and, when
 * apps/litestream is built, with the `litestream restore` command itself; when the VFS
 * extension is built too, the stock sqlite3 shell reads the backup through it (issue 11
 * §4) and sees the same rows as the restored file.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { databaseChecksum, formatChecksum } from "@sqlrep/ltx";
import { ReplicaRegistry, restore } from "@sqlrep/replica";
import { etcdAvailable, etcdUnavailableReason, spawnProcess, startEtcd, tempDir, waitFor, type EtcdServer } from "@sqlrep/testkit";
import { ProcessCluster, type NodeState } from "../testing/cluster-harness.js";

const DB = "app.db";
const tmp = tempDir("sqlrep-cluster-backup-");
const backupURL = `file://${tmp.join("backup")}`;
// The command, run from its build (a package test may run an app, never import it).
const LITESTREAM = fileURLToPath(new URL("../../../../apps/litestream/dist/litestream.js", import.meta.url));
/** The VFS extension (apps/vfs), loaded by the sqlite3 shell: run, never imported. */
const VFS_EXTENSION = fileURLToPath(new URL("../../../../apps/vfs/lib/litestream-vfs", import.meta.url));

/** The checksum of a restored file (all its pages). */
function fileSum(path: string, pageSize = 4096): string {
  const bytes = new Uint8Array(readFileSync(path));
  return formatChecksum(databaseChecksum(bytes, pageSize, bytes.length / pageSize));
}

describe.skipIf(!etcdAvailable())(`the cluster's backup across a failover${etcdAvailable() ? "" : ` (skipped: ${etcdUnavailableReason()})`}`, () => {
  let etcd: EtcdServer;
  let cluster: ProcessCluster;
  beforeAll(async () => {
    etcd = await startEtcd();
    cluster = await ProcessCluster.start({ dir: tmp.join("nodes"), nodes: 2, etcd, ttl: 2000, backup: backupURL, sqlite: true });
  }, 60_000);
  afterAll(async () => {
    await cluster?.stop();
    await etcd?.stop();
    tmp.remove();
  }, 60_000);

  async function primary(): Promise<{ index: number; state: NodeState }> {
    let found: { index: number; state: NodeState } | undefined;
    await waitFor(
      async () => {
        for (let i = 0; i < cluster.nodes.length; i++) {
          const state = await cluster.state(i);
          if (state?.isPrimary && state.ready) found = { index: i, state };
        }
        return found !== undefined;
      },
      { timeoutMs: 20_000 },
    );
    return found!;
  }

  /** Commits `n` transactions through node `i`; its position after the last. */
  async function commits(i: number, n: number, from: number): Promise<{ txid: number; checksum: string }> {
    let last: { txid: number; checksum: string } | undefined;
    for (let v = from; v < from + n; v++) {
      last = await cluster.commit(i, DB, v);
      expect(last, `commit ${v} on node${i}`).toBeDefined();
    }
    return last!;
  }

  async function restored(name: string, txid?: number): Promise<{ txid: number; sum: string; verified: boolean }> {
    const registry = await new ReplicaRegistry().load();
    const client = registry.create(registry.parse(`${backupURL}/${DB}`));
    const output = tmp.join(name);
    const result = await restore(client, { output, target: txid === undefined ? undefined : { txid } });
    return { txid: result.txid, sum: fileSum(output), verified: result.checksumVerified };
  }

  it("a restore equals the primary at its tip and at the TXID before a failover, before and after a kill -9 failover; the new primary continues the same backup", async () => {
    const first = await primary();
    const before = await commits(first.index, 40, 1);
    await cluster.control(first.index, `/backup-wait?db=${DB}`);
    const a = await restored("a.db");
    expect(a).toEqual({ txid: before.txid, sum: before.checksum, verified: true });

    // The other node has every TXID before the primary dies (so the new primary's log holds the backup's tip).
    const other = 1 - first.index;
    await waitFor(async () => (await cluster.state(other))?.databases[DB]?.txid === before.txid, { timeoutMs: 10_000 });
    await cluster.kill(first.index);
    const second = await primary();
    expect(second.index).toBe(other);
    const after = await commits(second.index, 25, 1000);
    await cluster.control(second.index, `/backup-wait?db=${DB}`);
    await cluster.spawn(first.index);

    const b = await restored("b.db");
    expect(b).toEqual({ txid: after.txid, sum: after.checksum, verified: true });
    expect(after.txid).toBe(before.txid + 25); // one history: no snapshot restarting the TXIDs
    // The state before the failover, from the same backup (a TXID a file ends at: the
    // shipper merges what it finds per upload, as Litestream's L0 files do).
    const c = await restored("c.db", before.txid);
    expect(c).toEqual({ txid: before.txid, sum: before.checksum, verified: true });

    if (!existsSync(LITESTREAM)) {
      console.log(`backup: litestream restore not run (skipped: ${LITESTREAM} is not built)`);
      return;
    }
    const cli = await spawnProcess(process.execPath, [LITESTREAM, "restore", "-o", tmp.join("cli.db"), `${backupURL}/${DB}`], {
      name: "litestream-restore",
      env: { LOG_LEVEL: "" },
    });
    const exit = await cli.exited;
    expect(exit.code, cli.output().join("\n")).toBe(0);
    expect(fileSum(tmp.join("cli.db"))).toBe(after.checksum);

    if (!existsSync(`${VFS_EXTENSION}.so`)) {
      console.log(`backup: the VFS read not run (skipped: ${VFS_EXTENSION}.so is not built)`);
      return;
    }
    const sql = "SELECT count(*), min(v), max(v), sum(length(pad)) FROM t;";
    const viaVfs = execFileSync("sqlite3", ["-bail"], {
      input: `.load ${VFS_EXTENSION}\n.open file:app.db?vfs=litestream\n${sql}\n`,
      cwd: tmp.path,
      env: { ...process.env, LITESTREAM_REPLICA_URL: `${backupURL}/${DB}`, SQLREP_VFS_RUNTIME_DIR: tmp.join("vfs-runtime"), SQLREP_VFS_IDLE_TIMEOUT: "1s" },
      encoding: "utf8",
    });
    expect(viaVfs.trim(), "the VFS over the cluster's backup").toBe(execFileSync("sqlite3", [tmp.join("cli.db"), sql], { encoding: "utf8" }).trim());
    expect(viaVfs).toMatch(/^65\|/); // 40 rows before the failover, 25 after
  }, 120_000);
});
