/**
 * `litefs import` and `litefs export` against a real primary and replica (static lease,
 * HTTP on 127.0.0.1): a SQLite file goes in on the primary and comes back byte for byte
 * from both nodes; a damaged file is refused before anything is sent; the replica, a
 * missing database and a node that is down give errors naming the URL.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createStaticLeaser } from "@sqlrep/lease";
import { deadPort, tempDir, waitFor } from "@sqlrep/testkit";
import { litefs, makeDatabase, readRows, startNode, type TestNode } from "../testing/in-process-nodes.js";

const tmp = tempDir("sqlrep-litefs-cli-io-");
let primary: TestNode;
let replica: TestNode;

beforeAll(async () => {
  primary = await startNode({ dataDir: tmp.join("a"), hostname: "a", leaser: (id) => createStaticLeaser({ ...id, candidate: true }) });
  await primary.node.whenReady;
  replica = await startNode({
    dataDir: tmp.join("b"),
    hostname: "b",
    candidate: false,
    leaser: () => createStaticLeaser({ hostname: "a", advertiseURL: primary.url, candidate: false }),
  });
  await replica.node.whenReady;
}, 30_000);

afterAll(async () => {
  await replica?.close();
  await primary?.close();
  tmp.remove();
});

describe("litefs import / export", () => {
  it("imports a real SQLite file on the primary and exports it byte-equal from the primary and the replica", async () => {
    const src = tmp.join("src.db");
    makeDatabase(src, 500, "first");
    const imported = await litefs(["import", "-url", primary.url, "-name", "app.db", src]);
    expect(imported.stderr).toBe("");
    expect(imported.code).toBe(0);
    expect(imported.stdout).toMatch(/^Import of database "app\.db" in [\d.]+m?s: TXID 0000000000000001, checksum [0-9a-f]{16}\n$/);

    const fromPrimary = tmp.join("out-a.db");
    const exported = await litefs(["export", "-url", primary.url, "-name", "app.db", fromPrimary]);
    expect(exported.code).toBe(0);
    expect(exported.stdout).toContain(`bytes to ${fromPrimary}`);
    expect(Buffer.compare(readFileSync(fromPrimary), readFileSync(src))).toBe(0);
    expect(existsSync(`${fromPrimary}.tmp`)).toBe(false);

    await waitFor(() => replica.store.get("app.db")?.position.txid === 1, { timeoutMs: 10_000 });
    const fromReplica = tmp.join("out-b.db");
    expect((await litefs(["export", "-url", replica.url, "-name", "app.db", fromReplica])).code).toBe(0);
    expect(Buffer.compare(readFileSync(fromReplica), readFileSync(src))).toBe(0);
    expect(readRows(fromReplica)).toHaveLength(500);
  });

  it("replaces a database with a second import, and export replaces the target and drops its stale -wal/-shm", async () => {
    const src = tmp.join("second.db");
    makeDatabase(src, 40, "second");
    expect((await litefs(["import", "-url", primary.url, "-name", "app.db", src])).stdout).toContain("TXID 0000000000000002");
    const out = tmp.join("out-a.db");
    writeFileSync(`${out}-wal`, "stale wal bytes");
    writeFileSync(`${out}-shm`, "stale shm bytes");
    expect((await litefs(["export", "-url", primary.url, "-name", "app.db", out])).code).toBe(0);
    expect(existsSync(`${out}-wal`)).toBe(false);
    expect(existsSync(`${out}-shm`)).toBe(false);
    expect(readRows(out).map((r) => r.tag)).toEqual(new Array(40).fill("second"));
  });

  it("refuses a damaged file naming it, and sends nothing", async () => {
    const bad = tmp.join("damaged.db");
    makeDatabase(bad, 500, "bad");
    // Scribble over the middle of a b-tree page: still a SQLite file, no longer a consistent one.
    const bytes = readFileSync(bad);
    bytes.fill(0x5a, 4096 * 5 + 200, 4096 * 5 + 3000);
    writeFileSync(bad, bytes);
    const res = await litefs(["import", "-url", primary.url, "-name", "bad.db", bad]);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain(`error: ${bad} failed PRAGMA integrity_check`);
    expect(primary.store.get("bad.db")).toBeUndefined();

    const notSqlite = tmp.join("notes.txt");
    writeFileSync(notSqlite, "just some text, long enough to pass the size check, but no SQLite header at all......................................");
    const res2 = await litefs(["import", "-url", primary.url, "-name", "bad.db", notSqlite]);
    expect(res2.code).toBe(1);
    expect(res2.stderr).toContain(`${notSqlite} is not a SQLite database`);
  });

  it("imports a WAL-mode file and leaves nothing beside it (the check runs on a private copy)", async () => {
    const src = tmp.join("walmode.db");
    const db = new Database(src);
    db.pragma("journal_mode = WAL");
    db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, tag TEXT, body TEXT); INSERT INTO t (tag, body) VALUES ('wal', 'one'), ('wal', 'two');");
    db.close();
    expect(existsSync(`${src}-wal`)).toBe(false);
    const res = await litefs(["import", "-url", primary.url, "-name", "walmode.db", src]);
    expect(res.stderr).toBe("");
    expect(res.code).toBe(0);
    expect(existsSync(`${src}-wal`)).toBe(false);
    expect(existsSync(`${src}-shm`)).toBe(false);
    const out = tmp.join("walmode-out.db");
    expect((await litefs(["export", "-url", primary.url, "-name", "walmode.db", out])).code).toBe(0);
    expect(Buffer.compare(readFileSync(out), readFileSync(src))).toBe(0);
  });

  it("refuses a file with a WAL beside it (the import would miss its transactions)", async () => {
    const src = tmp.join("walled.db");
    makeDatabase(src, 10);
    writeFileSync(`${src}-wal`, Buffer.alloc(4096, 1));
    const res = await litefs(["import", "-url", primary.url, "-name", "w.db", src]);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain(`${src}-wal (4096 bytes) sits beside ${src}`);
  });

  it("refuses an import on a replica, naming its URL and the primary", async () => {
    const src = tmp.join("src.db");
    const res = await litefs(["import", "-url", replica.url, "-name", "app.db", src]);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain(`POST ${replica.url}/import?name=app.db: 503`);
    expect(res.stderr).toContain("import on the primary (a) with -url");
  });

  it("names the URL when there is no such database, or no node at all", async () => {
    const missing = await litefs(["export", "-url", replica.url, "-name", "nope.db", tmp.join("nope.db")]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`no database "nope.db" on the node at ${replica.url}`);
    expect(existsSync(tmp.join("nope.db"))).toBe(false);

    const port = await deadPort();
    const down = await litefs(["export", "-url", `http://127.0.0.1:${port}`, "-name", "app.db", tmp.join("x.db")]);
    expect(down.code).toBe(1);
    expect(down.stderr).toContain(`cannot reach the litefs node at http://127.0.0.1:${port}`);
    expect(down.stderr).toContain("ECONNREFUSED");
    const down2 = await litefs(["import", "-url", `http://127.0.0.1:${port}`, "-name", "app.db", tmp.join("src.db")]);
    expect(down2.stderr).toContain(`cannot reach the litefs node at http://127.0.0.1:${port} (POST /import?name=app.db)`);
  });

  it("needs -name and one PATH", async () => {
    const res = await litefs(["import", tmp.join("src.db")]);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain("error: -name is required");
    expect((await litefs(["export", "-name", "a.db"])).stderr).toContain("a PATH to export to is required");
  });
});
