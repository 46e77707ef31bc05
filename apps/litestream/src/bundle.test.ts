// The bin users run is the bundle (dist/litestream.js), not dist/cli.js: it must replicate
// and restore from a plain `node` outside pnpm (no NODE_PATH), resolving what it keeps
// external (native modules, prom-client) from this package's own dependencies.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import { spawnProcess, tempDir } from "@sqlrep/testkit";
import { afterAll, describe, expect, it } from "vitest";

const bin = join(fileURLToPath(new URL("..", import.meta.url)), "dist", "litestream.js");
const built = existsSync(bin);
const tmp = tempDir("sqlrep-bundle-");
afterAll(() => tmp.remove());

describe.skipIf(!built)(`the bundled bin${built ? "" : " (skipped: needs pnpm build, dist/litestream.js is missing)"}`, () => {
  it("replicates and restores from a plain node with no NODE_PATH, run from another directory", async () => {
    const db = tmp.join("app.db");
    const conn = new Database(db);
    conn.pragma("journal_mode = WAL");
    conn.exec("CREATE TABLE t (v TEXT); INSERT INTO t VALUES ('bundled')");
    const url = `file://${tmp.join("replica")}`;
    const env = { NODE_PATH: undefined, NODE_OPTIONS: undefined };
    const rep = await spawnProcess(process.execPath, [bin, "replicate", db, url], { env, cwd: tmp.path, ready: /replicating to|initial snapshot|snapshot uploaded/ });
    await rep.waitForLine(/snapshot uploaded|replica sync/, 20_000);
    rep.signal("SIGTERM");
    expect((await rep.exited).code, rep.output().join("\n")).toBe(0);
    conn.close();

    const out = tmp.join("restored.db");
    const restore = await spawnProcess(process.execPath, [bin, "restore", "-o", out, url], { env, cwd: tmp.path });
    expect((await restore.exited).code, restore.output().join("\n")).toBe(0);
    const restored = new Database(out, { readonly: true });
    expect(restored.prepare("SELECT v FROM t").pluck().all()).toEqual(["bundled"]);
    restored.close();
  }, 60_000);

  it("runs as an executable, its shebang giving Node a 1 MiB young generation", async () => {
    const v = await spawnProcess(bin, ["version", "-verbose"], { env: { NODE_PATH: undefined, NODE_OPTIONS: undefined }, cwd: tmp.path });
    expect((await v.exited).code, v.output().join("\n")).toBe(0);
    expect(v.output().join("\n")).toMatch(/^node: v\S+ \(--max-semi-space-size=1\)$/m);
  }, 30_000);

  it("loads @sqlrep/ltx's addon (LZ4, CRC-64) from the bundle (its path is not beside the bundle's chunks)", async () => {
    const v = await spawnProcess(process.execPath, [bin, "version", "-verbose"], { env: { NODE_PATH: undefined, NODE_OPTIONS: undefined, SQLREP_LZ4: undefined }, cwd: tmp.path });
    expect((await v.exited).code).toBe(0);
    expect(v.output().join("\n")).toMatch(/^lz4: decode: the @sqlrep\/ltx addon; encode: lz4-napi$/m);
    expect(v.output().join("\n")).toMatch(/^crc64: the @sqlrep\/ltx addon \((pclmul|table)\)$/m);
  }, 30_000);
});
