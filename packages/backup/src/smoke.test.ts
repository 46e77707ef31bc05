import { afterAll, describe, expect, it } from "vitest";
import { createFileReplicaClient } from "@sqlrep/replica";
import { tempDir } from "@sqlrep/testkit";
import { BackupEngine } from "./index.js";
import { Writer } from "./testing/writer.js";
import { checkChain, queryImage, restoreLatest, sourceImage } from "./testing/replica-check.js";

const tmp = tempDir("sqlrep-backup-smoke-");
afterAll(() => tmp.remove());

describe("smoke", () => {
  it("replicates", async () => {
    const path = tmp.join("a.db");
    const writer = await Writer.open(path);
    await writer.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)");
    await writer.insert(3);
    const client = createFileReplicaClient(tmp.join("replica"));
    const logs: string[] = [];
    const logger = { debug: (m: string, f?: object) => logs.push(`D ${m} ${JSON.stringify(f)}`), info: (m: string, f?: object) => logs.push(`I ${m} ${JSON.stringify(f)}`), warn: (m: string, f?: object) => logs.push(`W ${m} ${JSON.stringify(f)}`), error: (m: string, f?: object) => logs.push(`E ${m} ${JSON.stringify(f)}`) };
    const engine = new BackupEngine({ databases: [{ path, replicas: [{ name: "file", client }] }], logger });
    engine.on("synced", (e) => logs.push(`synced ${e.level} ${e.txid} ${e.bytes}`));
    await engine.start();
    await writer.insert(5);
    await engine.sync();
    await writer.insert(5, { rows: 50 });
    const r = await engine.sync();
    console.log(r, engine.status());
    const chain = await checkChain(client);
    const restored = await restoreLatest(client);
    const src = sourceImage(path);
    expect(restored.checksum).toBe(src.checksum);
    expect(queryImage(restored.bytes, "select count(*) n from t")).toEqual([{ n: 258 }]);
    console.log(chain.txid, restored.files);
    console.log(engine.metrics());
    await engine.stop();
    await writer.close();
    console.log(logs.join("\n"));
  }, 30_000);
});
