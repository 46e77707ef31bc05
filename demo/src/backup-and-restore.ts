/** Demo part 2: the repository's `litestream` CLI backs up a live database to a local S3 server, then restores it to a point in time. */
import { writeFileSync } from "node:fs";
import Database from "better-sqlite3";
import { freePort, spawnProcess, startS3Server } from "@sqlrep/testkit";
import { litestreamBin } from "./paths.js";
import { check, heading, note, run, step } from "./show.js";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Part 2: `litestream replicate` (this repository's CLI, as a child process) backs up a
 * live database to an S3 server while this process writes orders to it; then
 * `litestream restore` brings back the database as it was at a moment in the middle.
 */
export async function backupAndRestore(dir: string): Promise<void> {
  heading("2. Continuous backup to S3, then a point-in-time restore");
  const s3 = await startS3Server({ bucket: "sqlrep-demo" });
  const port = await freePort();
  const dbPath = `${dir}/orders.db`;
  const config = `${dir}/litestream.yml`;
  writeFileSync(
    config,
    [
      `addr: 127.0.0.1:${port}`,
      "dbs:",
      `  - path: ${dbPath}`,
      "    replicas:",
      `      - url: ${s3.url("orders")}`,
      `        access-key-id: ${s3.accessKeyId}`,
      `        secret-access-key: ${s3.secretAccessKey}`,
      "        sync-interval: 1s",
      "",
    ].join("\n"),
  );
  step(`An S3 server in-process at ${s3.endpoint}; a Litestream config file:`);
  note(`replica ${s3.url("orders")}, sync-interval 1s, metrics on 127.0.0.1:${port}`);

  const db = new Database(dbPath);
  db.pragma("journal_mode = WAL");
  db.pragma("busy_timeout = 5000");
  db.exec("CREATE TABLE orders (id INTEGER PRIMARY KEY, item TEXT NOT NULL, committed_ms INTEGER NOT NULL)");

  step("Start `litestream replicate -config litestream.yml`");
  const replicate = await spawnProcess(process.execPath, [litestreamBin, "replicate", "-config", config], {
    name: "litestream replicate",
    ready: /serving metrics and status/,
    readyTimeoutMs: 20_000,
  });
  try {
    step("Write one order every 20 ms for 4 seconds, while it replicates");
    const insert = db.prepare("INSERT INTO orders (item, committed_ms) VALUES (?, ?)");
    const commits: { id: number; started: number; returned: number }[] = [];
    const until = Date.now() + 4000;
    let target = 0;
    while (Date.now() < until) {
      const started = Date.now();
      const info = insert.run(`order #${commits.length + 1}`, started);
      commits.push({ id: Number(info.lastInsertRowid), started, returned: Date.now() });
      if (target === 0 && Date.now() > until - 2000) target = Date.now(); // the moment to come back to
      await sleep(20);
    }
    const atTarget = commits.filter((c) => c.returned <= target).length;
    note(`${commits.length} orders committed; ${atTarget} of them before ${new Date(target).toISOString()} (T)`);

    step("Replication lag, from the replicator's own metrics");
    await sleep(1500);
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    for (const line of metrics.split("\n")) {
      if (/^litestream_(txid|replica_txid|replica_lag_seconds)\{/.test(line)) note(line);
    }

    step("What is in the bucket: LTX files per level (level 9 holds the snapshot)");
    await run("litestream", litestreamBin, ["ltx", "-config", config, "-level", "all", dbPath]);

    step("Restore the database as it was at T");
    const atT = `${dir}/orders-at-T.db`;
    await run("litestream", litestreamBin, ["restore", "-config", config, "-o", atT, "-timestamp", new Date(target).toISOString(), dbPath]);
    const restored = new Database(atT, { readonly: true });
    const rows = restored.prepare("SELECT id FROM orders ORDER BY id").all() as { id: number }[];
    restored.close();
    const lastRestored = commits.find((c) => c.id === rows.at(-1)?.id);
    note(`${rows.length} orders restored: the newest restore point at or before T (the writer had ${atTarget} committed by T;`);
    note("under sustained writes restore points are one sync interval, here 1 s, apart: the upload budget Litestream has)");
    check(lastRestored !== undefined && lastRestored.started <= target, "no order committed after T is in the restore");
    const behind = commits.filter((c) => c.returned <= target - 1500).length;
    check(rows.length >= behind && rows.every((r, i) => r.id === i + 1), "it is a complete prefix, at most one sync window behind T");

    step("Restore the latest state, with an integrity check");
    const latest = `${dir}/orders-latest.db`;
    await run("litestream", litestreamBin, ["restore", "-config", config, "-o", latest, "-integrity-check", dbPath]);
    const copy = new Database(latest, { readonly: true });
    const count = (copy.prepare("SELECT count(*) AS n FROM orders").get() as { n: number }).n;
    copy.close();
    check(count === commits.length, `all ${count} orders are in the latest restore`);
  } finally {
    db.close();
    await replicate.stop(10_000);
    await s3.stop();
  }
}
