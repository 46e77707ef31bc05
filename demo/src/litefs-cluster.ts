/** Demo part 3: three `litefs mount` daemons on an etcd lease — live replicas, a primary killed, the failover timed, the cluster's backup restored with `litestream restore`. */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { etcdAvailable, etcdUnavailableReason, freePort, fuseUnavailableReason, spawnProcess, startEtcd, unmountFuse, waitFor, type ProcessHandle } from "@sqlrep/testkit";
import { litefsBin, litestreamBin } from "./paths.js";
import { check, heading, note, run, step } from "./show.js";

interface DemoNode {
  name: string;
  mount: string;
  url: string;
  config: string;
  proc: ProcessHandle | undefined;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Part 3: three nodes on this machine, each a `litefs mount` child process with its own
 * FUSE mount, data directory and HTTP port, electing a primary through a real etcd. The
 * demo (not a mounting process) writes through the primary's mount with better-sqlite3,
 * reads the replicas' mounts, kills the primary with SIGKILL and times the failover.
 */
export async function litefsCluster(dir: string): Promise<void> {
  heading("3. LiteFS: three nodes, live read replicas, failover");
  const missing = fuseUnavailableReason() ?? (etcdAvailable() ? undefined : etcdUnavailableReason());
  if (missing) {
    note(`skipped: ${missing} (this part mounts FUSE filesystems as root and runs etcd)`);
    return;
  }
  const etcd = await startEtcd();
  const backup = `file://${join(dir, "cluster-backup")}`;
  const nodes: DemoNode[] = [];
  for (const name of ["node1", "node2", "node3"]) {
    const port = await freePort();
    const mount = join(dir, name, "litefs");
    const config = join(dir, `${name}.yml`);
    mkdirSync(mount, { recursive: true });
    writeFileSync(
      config,
      [
        `fuse: { dir: ${mount} }`,
        `data: { dir: ${join(dir, name, "data")} }`,
        `http: { addr: "127.0.0.1:${port}" }`,
        "lease:",
        "  type: etcd",
        `  hostname: ${name}`,
        `  advertise-url: http://127.0.0.1:${port}`,
        "  candidate: true",
        `  etcd: { endpoints: ["${etcd.clientUrl}"], key: /litefs/demo, ttl: 3s }`,
        `backup: { url: "${backup}" }`,
        "",
      ].join("\n"),
    );
    nodes.push({ name, mount, url: `http://127.0.0.1:${port}`, config, proc: undefined });
  }
  const start = (node: DemoNode) =>
    spawnProcess(process.execPath, [litefsBin, "mount", "-config", node.config], { name: `litefs ${node.name}`, ready: /node is ready/, readyTimeoutMs: 30_000 }).then((proc) => {
      node.proc = proc;
    });
  const info = async (node: DemoNode) => (await (await fetch(`${node.url}/info`)).json()) as { isPrimary: boolean };
  const primaryOf = async (among: DemoNode[]) => {
    for (const node of among) if ((await info(node).catch(() => ({ isPrimary: false }))).isPrimary) return node;
    return undefined;
  };
  try {
    step(`etcd at ${etcd.clientUrl}; start \`litefs mount -config nodeN.yml\` three times (one shown):`);
    for (const line of readFileSync(nodes[0]!.config, "utf8").trimEnd().split("\n")) note(`  ${line}`);
    await start(nodes[0]!); // the first one up takes the lease
    await Promise.all(nodes.slice(1).map(start));
    const primary = (await primaryOf(nodes))!;
    check(primary !== undefined, `one primary: ${primary.name}; the other two follow it`);

    step(`An app writes orders through ${primary.name}'s mount (better-sqlite3, WAL mode)`);
    const db = new Database(join(primary.mount, "app.db"));
    db.pragma("journal_mode = WAL");
    db.exec("CREATE TABLE orders (id INTEGER PRIMARY KEY, item TEXT NOT NULL)");
    const insert = db.prepare("INSERT INTO orders (item) VALUES (?)");
    for (let i = 1; i <= 200; i++) insert.run(`order #${i}`);
    db.close();
    const pos = readFileSync(join(primary.mount, "app.db-pos"), "utf8").trim();
    note(`${primary.name}: app.db-pos ${pos} (TXID/checksum, as LiteFS writes it)`);

    step("Each replica's mount: the same database, read-only, with .primary and .lag");
    for (const node of nodes.filter((n) => n !== primary)) {
      await waitFor(() => readFileSync(join(node.mount, "app.db-pos"), "utf8").trim() === pos, { timeoutMs: 10_000, message: `${node.name} catches up` });
      const replica = new Database(join(node.mount, "app.db"), { readonly: true });
      const count = (replica.prepare("SELECT count(*) AS n FROM orders").get() as { n: number }).n;
      replica.close();
      const lag = readFileSync(join(node.mount, ".lag"), "utf8").trim();
      note(`${node.name}: ${count} orders, .primary = ${readFileSync(join(node.mount, ".primary"), "utf8").trim()}, .lag = ${lag} ms`);
      check(count === 200, `${node.name} serves every committed order`);
      let refused = "";
      try {
        new Database(join(node.mount, "app.db")).prepare("INSERT INTO orders (item) VALUES ('x')").run();
      } catch (err) {
        refused = (err as Error).message;
      }
      check(/readonly/.test(refused), `a write on ${node.name} fails as SQLite's read-only error ("${refused}")`);
    }

    step(`Kill ${primary.name} with SIGKILL and time the failover (lease TTL 3 s)`);
    const killedAt = Date.now();
    primary.proc!.kill();
    await primary.proc!.exited;
    const survivors = nodes.filter((n) => n !== primary);
    let next: DemoNode | undefined;
    let wroteAt = 0;
    while (Date.now() - killedAt < 20_000 && wroteAt === 0) {
      next = await primaryOf(survivors);
      if (next) {
        try {
          const w = new Database(join(next.mount, "app.db"));
          w.pragma("busy_timeout = 2000");
          w.prepare("INSERT INTO orders (item) VALUES ('after failover')").run();
          w.close();
          wroteAt = Date.now();
        } catch {
          // not writable yet: the lease moved, the mount follows
        }
      }
      if (wroteAt === 0) await sleep(50);
    }
    check(wroteAt > 0, `${next?.name} accepted a write ${wroteAt - killedAt} ms after the kill (target: TTL + 1 s = 4,000 ms)`);

    step(`Restart ${primary.name}: it clears its dead mount, rejoins as a replica and converges`);
    await start(primary);
    const newPos = readFileSync(join(next!.mount, "app.db-pos"), "utf8").trim();
    await waitFor(() => readFileSync(join(primary.mount, "app.db-pos"), "utf8").trim() === newPos, { timeoutMs: 20_000, message: `${primary.name} converges` });
    check(!(await info(primary)).isPrimary, `${primary.name} is a replica at ${newPos}`);

    step("The cluster's backup (shipped by whichever node was primary), restored with our litestream");
    const restored = join(dir, "cluster-restored.db");
    const countIn = (path: string) => {
      const copy = new Database(path, { readonly: true });
      const n = (copy.prepare("SELECT count(*) AS n FROM orders").get() as { n: number }).n;
      copy.close();
      return n;
    };
    // the new primary ships on its own schedule: restore until the backup has the last order
    let count = -1;
    for (const deadline = Date.now() + 20_000; ; ) {
      const ok = await run("litestream", litestreamBin, ["restore", "-force", "-o", restored, `${backup}/app.db`], { quiet: true }).then(
        () => true,
        () => false,
      );
      count = ok ? countIn(restored) : -1;
      if (count === 201 || Date.now() >= deadline) break;
      await sleep(500);
    }
    check(count === 201, `the restore holds all ${count} orders, the one written after the failover included`);
  } finally {
    await Promise.all(nodes.map((n) => n.proc?.stop(10_000)));
    for (const n of nodes) unmountFuse(n.mount);
    await etcd.stop();
  }
}
