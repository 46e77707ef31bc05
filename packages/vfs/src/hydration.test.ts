// Hydration against a directory replica: the local file equals a restore, follows later
// transactions, resumes from its .meta after a restart and is discarded when stale.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { restore } from "@sqlrep/replica";
import { tempDir } from "@sqlrep/testkit";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { Engine } from "./engine.js";
import type { Logger } from "./logger.js";
import { ModelReplica } from "./testing/model.js";

const tmp = tempDir("sqlrep-vfs-hydration-");
afterAll(() => tmp.remove());
const models: ModelReplica[] = [];
const engines: Engine[] = [];
afterEach(async () => {
  for (const e of engines.splice(0)) await e.close();
  for (const m of models.splice(0)) m.remove();
});

function recorder(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const log = (level: string) => (msg: string, fields?: Record<string, unknown>) => lines.push(`${level} ${msg} ${JSON.stringify(fields ?? {})}`);
  return { lines, debug: log("debug"), info: log("info"), warn: log("warn"), error: log("error") };
}

async function open(m: ModelReplica, path: string, persist: boolean, logger?: Logger): Promise<Engine> {
  const engine = await Engine.open({ client: m.client, pollIntervalMs: 3_600_000, hydration: { path, persist }, logger });
  engines.push(engine);
  return engine;
}

async function settle(engine: Engine, txid: number): Promise<void> {
  await engine.hydrator!.done;
  for (let i = 0; i < 200 && engine.hydrator!.txid !== txid; i++) await new Promise((r) => setTimeout(r, 10));
  expect(engine.hydrator!.txid).toBe(txid);
}

describe("hydration", () => {
  it("equals a restore, then reads come from the file and later transactions are applied to it", async () => {
    const m = new ModelReplica(512, 3);
    models.push(m);
    await m.create(50);
    for (let i = 0; i < 3; i++) await m.commit({ changes: 5 });
    const path = tmp.join("temp.db");
    const engine = await open(m, path, false);
    await settle(engine, 4);
    const expected = join(m.dir, "expected.db");
    await restore(m.client, { output: expected });
    expect(readFileSync(path).equals(readFileSync(expected))).toBe(true);
    expect(engine.hydrator!.progress).toBe(100);
    const s = engine.session();
    const requests = engine.timeline.fetcher.requests;
    engine.timeline.cache.clear();
    await s.read(s.state.counter, 0, 50 * 512);
    expect(engine.timeline.fetcher.requests).toBe(requests);
    await m.commit({ changes: 4, commit: 60 });
    await m.commit({ commit: 45 });
    await engine.pollNow();
    await settle(engine, 6);
    expect(readFileSync(path).equals(Buffer.from(m.image()))).toBe(true);
    await engine.close();
    expect(existsSync(path)).toBe(false); // a temporary file goes with the engine
  });

  it("an explicit path persists and resumes from its .meta without restoring again", async () => {
    const m = new ModelReplica(512, 4);
    models.push(m);
    await m.create(40);
    await m.commit();
    const path = tmp.join("persist.db");
    const first = await open(m, path, true);
    await settle(first, 2);
    await first.close();
    expect(readFileSync(`${path}.meta`, "utf8").split("\n")[0]).toBe("2");
    await m.commit({ changes: 6 });
    await m.commit({ commit: 44 });
    const log = recorder();
    const second = await open(m, path, true, log);
    await settle(second, 4);
    expect(log.lines.some((l) => l.startsWith("info resuming hydration"))).toBe(true);
    expect(log.lines.some((l) => l.startsWith("info hydrated"))).toBe(false);
    expect(readFileSync(path).equals(Buffer.from(m.image()))).toBe(true);
  });

  it("a stale file (the replica was reset) is discarded, saying so, and hydrated again", async () => {
    const old = new ModelReplica(512, 5);
    models.push(old);
    await old.create(30);
    for (let i = 0; i < 4; i++) await old.commit();
    const path = tmp.join("stale.db");
    const first = await open(old, path, true);
    await settle(first, 5);
    await first.close();
    // A new replica at the same place: TXIDs start again at 1 and are below the file's.
    const reset = new ModelReplica(512, 6);
    models.push(reset);
    await reset.create(30);
    await reset.commit();
    const log = recorder();
    const second = await open(reset, path, true, log);
    await settle(second, 2);
    expect(log.lines.find((l) => l.startsWith("warn hydration file is stale"))).toContain("was reset or rewound");
    expect(readFileSync(path).equals(Buffer.from(reset.image()))).toBe(true);
  });

  it("a file the replica continues from another database (checksum mismatch) is discarded", async () => {
    const a = new ModelReplica(512, 8);
    models.push(a);
    await a.create(30);
    await a.commit();
    const path = tmp.join("diverged.db");
    const first = await open(a, path, true);
    await settle(first, 2);
    await first.close();
    const b = new ModelReplica(512, 9);
    models.push(b);
    await b.create(30);
    for (let i = 0; i < 3; i++) await b.commit();
    const log = recorder();
    const second = await open(b, path, true, log);
    await settle(second, 4);
    expect(log.lines.find((l) => l.startsWith("warn hydration file is stale"))).toContain("pre-apply checksum mismatch");
    expect(readFileSync(path).equals(Buffer.from(b.image()))).toBe(true);
  });
});
