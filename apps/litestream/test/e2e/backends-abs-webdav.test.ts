// `litestream replicate` of a live database to Azure Blob Storage (Azurite) and to WebDAV
// (webdav-server), each a real server in a child process, then `litestream restore`
// through the CLI: the restored database is the source's last state, and the replica
// holds Litestream v0.5's `<path>/ltx/<level>/` layout on the server.
import { mkdirSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAbsReplicaClient, createBlobServiceClient, parseAbsUrl, resolveAbsSettings } from "@sqlrep/replica-abs";
import { startAzurite, startWebdavServer, waitFor, type AzuriteServer, type WebdavServer } from "@sqlrep/testkit";
import { litestreamV3Available, V3Replica } from "../../src/testing/v3-replica.js";
import { built, copyDatabase, e2eSuite, expectHistoryState, lastSyncedTxid, needsBuild, restore, runCli, sleep, startReplicate, writeConfig, Writer } from "./harness.js";

const suite = e2eSuite("backends-abs-webdav", 400);
const { tmp, template } = suite;
let azurite: AzuriteServer | undefined;
let dav: WebdavServer | undefined;

beforeAll(async () => {
  if (!built) return;
  [azurite, dav] = await Promise.all([startAzurite(), startWebdavServer()]);
  const env = { LITESTREAM_AZURE_ACCOUNT_KEY: azurite.accountKey };
  await createBlobServiceClient(resolveAbsSettings(parseAbsUrl(azurite.url("backups", "x")), env))
    .getContainerClient("backups")
    .createIfNotExists();
}, 60_000);
afterAll(async () => {
  await Promise.all([azurite?.stop(), dav?.stop()]);
}, 30_000);

/**
 * Replicates `db` while a writer commits for a while, stops the writer, waits until the
 * log reports its last transaction uploaded, stops replicate gracefully; returns the
 * writer's last transaction and the last TXID reported synced.
 */
async function replicateWhileWriting(db: string, args: readonly string[], env: Record<string, string>): Promise<{ last: number; synced: number }> {
  const replicate = await startReplicate(args, { env, ready: "started" });
  const writer = await Writer.start(db, { rate: 80 });
  await sleep(1500);
  const last = await writer.stop();
  expect(last).toBeGreaterThan(writer.first);
  // The writer's last commit is in the WAL; one more sync pass uploads it.
  const before = lastSyncedTxid(replicate.output());
  await waitFor(() => lastSyncedTxid(replicate.output()) > before, { timeoutMs: 15_000, message: "a sync after the writer stopped" });
  replicate.signal("SIGTERM");
  const status = await replicate.exited;
  expect(status.code, replicate.output().slice(-20).join("\n")).toBe(0);
  expect(replicate.output().filter((l) => /level=(WARN|ERROR)/.test(l))).toEqual([]);
  return { last, synced: lastSyncedTxid(replicate.output()) };
}

describe.skipIf(!built)(`replicate and restore through the CLI on other backends${needsBuild}`, () => {
  it("abs:// (Azurite): a config with type abs and its keys, the key from $LITESTREAM_AZURE_ACCOUNT_KEY; restore from the URL", async () => {
    const server = azurite!;
    const dir = tmp.join("abs");
    const db = join(dir, "app.db");
    copyDatabase(template, db);
    const env = { LITESTREAM_AZURE_ACCOUNT_KEY: server.accountKey };
    const config = writeConfig(join(dir, "litestream.yml"), {
      dbs: [
        {
          path: db,
          "monitor-interval": "100ms",
          replica: { type: "abs", "account-name": server.accountName, bucket: "backups", path: "e2e/app.db", endpoint: server.endpoint, "sync-interval": "200ms" },
        },
      ],
    });
    const { last, synced } = await replicateWhileWriting(db, ["-config", config], env);

    const restored = await restore(dir, server.url("backups", "e2e/app.db"), { env });
    expect(restored.txid).toBe(synced);
    expect(restored.checksumVerified).toBe(true);
    expect(expectHistoryState(restored.output, "abs restore")).toBe(last);

    // Litestream's layout for ABS: <path>/ltx/<level>/<min>-<max>.ltx, with litestreamtimestamp metadata.
    const client = createAbsReplicaClient(parseAbsUrl(server.url("backups", "e2e/app.db")), { env });
    const names: string[] = [];
    for await (const entry of client.store.list("e2e/app.db/")) if ("key" in entry) names.push(entry.key);
    expect(names.length).toBeGreaterThan(1);
    for (const name of names) expect(name).toMatch(/^e2e\/app\.db\/ltx\/\d\/[0-9a-f]{16}-[0-9a-f]{16}\.ltx$/);
    expect(names.some((n) => n.startsWith("e2e/app.db/ltx/9/"))).toBe(true);
    const head = await client.store.head(names[0]!);
    expect(head.timestamp).toBeInstanceOf(Date);
  }, 120_000);

  it("webdav:// (webdav-server, basic auth): replicate DB URL, restore from the URL", async () => {
    const server = dav!;
    const dir = tmp.join("webdav");
    const db = join(dir, "app.db");
    copyDatabase(template, db);
    const url = server.replicaUrl("backups/app.db");
    const { last, synced } = await replicateWhileWriting(db, [db, url], {});

    const restored = await restore(dir, url);
    expect(restored.txid).toBe(synced);
    expect(restored.checksumVerified).toBe(true);
    expect(expectHistoryState(restored.output, "webdav restore")).toBe(last);

    // On the server's disk: Litestream's <path>/ltx/<level>/ folders, LTX files only (no temp files left).
    const levels = readdirSync(join(server.root, "backups", "app.db", "ltx")).sort();
    expect(levels).toContain("0");
    expect(levels).toContain("9");
    for (const level of levels) {
      for (const name of readdirSync(join(server.root, "backups", "app.db", "ltx", level))) expect(name).toMatch(/^[0-9a-f]{16}-[0-9a-f]{16}\.ltx$/);
    }
  }, 120_000);

  it.skipIf(!litestreamV3Available)(
    `abs:// written by the real Litestream v0.3.13 to Azurite restores with us, byte for byte what v0.3.13 restores${litestreamV3Available ? "" : " (skipped: npm @flydotio/litestream-linux-x64 is not installed)"}`,
    async () => {
      const server = azurite!;
      const dir = tmp.join("abs-v3");
      mkdirSync(dir, { recursive: true });
      const v3 = new V3Replica(
        dir,
        [
          "      - type: abs",
          `        account-name: ${server.accountName}`,
          `        account-key: ${server.accountKey}`,
          "        bucket: backups",
          "        path: v3/app.db",
          `        endpoint: ${server.endpoint}`,
        ].join("\n"),
      );
      await v3.generation(20, { paceMs: 50 });
      const ours = join(dir, "ours.db");
      const r = await runCli(["restore", "-integrity-check", "-o", ours, "-config", v3.config, v3.db], { timeoutMs: 60_000 });
      expect(r.stderr).toBe("");
      expect(r.stdout).toMatch(/\(Litestream v0\.3\): generation [0-9a-f]{16}, .*integrity_check ok\n$/);
      const theirs = join(dir, "theirs.db");
      await V3Replica.run(["restore", "-o", theirs, "-config", v3.config, v3.db]);
      expect(Buffer.compare(readFileSync(ours), readFileSync(theirs))).toBe(0);
      const restored = new Database(ours, { readonly: true });
      expect(restored.prepare("SELECT count(*) AS n FROM t").get()).toEqual({ n: 20 });
      restored.close();
    },
    90_000,
  );
});
