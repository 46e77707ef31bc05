// The sftp:// and nats:// backends through the CLI: `litestream replicate` of a real
// SQLite database while a writer commits, a graceful stop, then `litestream restore`
// from the same replica must give the writer's last state, checksum and integrity verified.
import { join } from "node:path";
import { connect } from "@nats-io/transport-node";
import { Objm } from "@nats-io/obj";
import { natsUnavailableReason, sftpUnavailableReason, startNatsServer, startSftpServer, tempDir, stopAllProcesses, type NatsServer, type SftpServer } from "@sqlrep/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { built, expectHistoryState, lastSyncedTxid, needsBuild, prefilledDatabase, copyDatabase, restore, sleep, startReplicate, writeConfig, Writer } from "./harness.js";

const tmp = tempDir("sqlrep-e2e-backends2-");
const template = tmp.join("template", "app.db");
beforeAll(async () => {
  if (built) await prefilledDatabase(template, 300);
}, 60_000);
afterAll(async () => {
  await stopAllProcesses();
  tmp.remove();
}, 30_000);

/** Replicate while a writer commits for a while, stop both, restore from `restoreUrl`: the writer's last transaction, every row. */
async function roundTrip(name: string, replica: Record<string, unknown>, restoreUrl: string): Promise<void> {
  const dir = tmp.join(name);
  const db = join(dir, "app.db");
  copyDatabase(template, db);
  const config = writeConfig(join(dir, "litestream.yml"), { dbs: [{ path: db, "monitor-interval": "100ms", replicas: [{ ...replica, "sync-interval": "200ms" }] }] });
  const proc = await startReplicate(["-config", config], { ready: "started" });
  const writer = await Writer.start(db, { rate: 100 });
  await sleep(2000);
  const last = await writer.stop();
  proc.signal("SIGTERM");
  expect((await proc.exited).code, proc.output().slice(-15).join("\n")).toBe(0);
  expect(lastSyncedTxid(proc.output()), "something was uploaded").toBeGreaterThan(0);

  const restored = await restore(dir, restoreUrl);
  expect(restored.checksumVerified).toBe(true);
  expect(restored.integrityOk).toBe(true);
  expect(restored.txid).toBeGreaterThanOrEqual(lastSyncedTxid(proc.output()));
  expect(expectHistoryState(restored.output, `restore of ${restoreUrl}`), "the writer's last transaction").toBe(last);
}

const noSftp = built ? sftpUnavailableReason() : undefined;
describe.skipIf(!built || noSftp !== undefined)(`sftp:// through the CLI${needsBuild}${noSftp ? ` (skipped: ${noSftp})` : ""}`, () => {
  let server: SftpServer;
  beforeAll(async () => {
    server = await startSftpServer();
  }, 30_000);
  afterAll(() => server?.stop(), 30_000);

  it("replicates with key auth and a checked host key, restores from a URL with the password", async () => {
    const url = server.url("e2e/app");
    await roundTrip(
      "sftp",
      { url, "key-path": server.keyPath, "host-key": server.hostKey },
      url.replace(`${server.user}@`, `${server.user}:${encodeURIComponent(server.password)}@`),
    );
  }, 90_000);
});

const noNats = built ? natsUnavailableReason() : undefined;
describe.skipIf(!built || noNats !== undefined)(`nats:// through the CLI${needsBuild}${noNats ? ` (skipped: ${noNats})` : ""}`, () => {
  let server: NatsServer;
  beforeAll(async () => {
    server = await startNatsServer();
    const nc = await connect({ servers: server.url });
    await new Objm(nc).create("e2e");
    await nc.close();
  }, 30_000);
  afterAll(() => server?.stop(), 30_000);

  it("replicates to a JetStream object store and restores from it", async () => {
    const url = `${server.url}/e2e`;
    await roundTrip("nats", { url }, url);
  }, 90_000);
});
