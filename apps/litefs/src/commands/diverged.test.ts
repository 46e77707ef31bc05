/**
 * `litefs diverged` on a real split: node b follows a, is cut off and made primary of
 * its own (commits a/b never see), a commits on, and b rejoins as a's replica — keeping
 * its tail under diverged/ before taking a's snapshot. The tail is listed and extracted
 * as the SQLite file b had, onto a base export taken at the common TXID; a set that
 * starts at TXID 1 extracts alone; a wrong base and a missing one are refused.
 */
import { existsSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createStaticLeaser } from "@sqlrep/lease";
import { formatChecksum } from "@sqlrep/ltx";
import { tempDir, waitFor } from "@sqlrep/testkit";
import { litefs, makeDatabase, readRows, startNode, type TestNode } from "../testing/in-process-nodes.js";

const tmp = tempDir("sqlrep-litefs-cli-diverged-");
const open: TestNode[] = [];
let a: TestNode;
let b: TestNode;
/** b's position in app.db when it was cut off and had committed on its own. */
let bAlone: { txid: number; checksum: bigint };

const follower = (name: string) =>
  startNode({ dataDir: tmp.join(name), hostname: name, candidate: false, leaser: () => createStaticLeaser({ hostname: "a", advertiseURL: a.url, candidate: false }) });

async function importFile(url: string, name: string, rows: number, tag: string): Promise<void> {
  const file = tmp.join(`${tag}-${name}`);
  makeDatabase(file, rows, tag);
  const res = await litefs(["import", "-url", url, "-name", name, file]);
  expect(res.stderr).toBe("");
}

beforeAll(async () => {
  a = await startNode({ dataDir: tmp.join("a"), hostname: "a", leaser: (id) => createStaticLeaser({ ...id, candidate: true }) });
  open.push(a);
  await a.node.whenReady;
  await importFile(a.url, "app.db", 30, "common");
  b = await follower("b");
  open.push(b);
  await waitFor(() => b.store.get("app.db")?.position.txid === 1, { timeoutMs: 10_000 });
  expect((await litefs(["export", "-url", a.url, "-name", "app.db", tmp.join("base-at-1.db")])).code).toBe(0);
  await b.close();

  // The split: b becomes a primary of its own and commits what a never gets.
  const alone = await startNode({ dataDir: tmp.join("b"), hostname: "b", leaser: (id) => createStaticLeaser({ ...id, candidate: true }) });
  open.push(alone);
  await alone.node.whenReady;
  await importFile(alone.url, "app.db", 35, "b-only-1");
  await importFile(alone.url, "app.db", 40, "b-only-2");
  await importFile(alone.url, "solo.db", 12, "b-solo");
  bAlone = alone.store.require("app.db").position;
  expect(bAlone.txid).toBe(3);
  await alone.close();

  await importFile(a.url, "app.db", 50, "a-only");
  await importFile(a.url, "solo.db", 5, "a-solo");
  b = await follower("b");
  open.push(b);
  const same = (db: string) => b.store.get(db)?.position.checksum === a.store.get(db)?.position.checksum;
  await waitFor(() => same("app.db") && same("solo.db"), { timeoutMs: 15_000 });
}, 60_000);

afterAll(async () => {
  for (const n of open.reverse()) await n.close();
  tmp.remove();
});

describe("litefs diverged", () => {
  it("lists the sets b kept, from its data directory and through its API", async () => {
    const res = await litefs(["diverged", "-data-dir", tmp.join("b")]);
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/^DATABASE\s+SET\s+TXIDS\s+FILES\s+LAST COMMON\s+PRIMARY WAS AT\s+EXTRACT\n/);
    expect(res.stdout).toMatch(/app\.db\s+\S+\s+0000000000000002-0000000000000003\s+2\s+0000000000000001\s+0000000000000002\s+with -base\n/);
    expect(res.stdout).toMatch(/solo\.db\s+\S+\s+0000000000000001-0000000000000001\s+1\s+none\s+0000000000000001\s+alone\n/);

    const json = await litefs(["diverged", "-url", b.url, "-json", "list"]);
    expect(json.code).toBe(0);
    const sets = JSON.parse(json.stdout) as { db: string; from: string; to: string; node: { txid: string; checksum: string } }[];
    expect(sets.map((s) => [s.db, s.from, s.to])).toEqual([
      ["app.db", "0000000000000002", "0000000000000003"],
      ["solo.db", "0000000000000001", "0000000000000001"],
    ]);
    expect(sets[0]!.node).toMatchObject({ txid: "0000000000000003", checksum: formatChecksum(bAlone.checksum) });
    expect((await litefs(["diverged", "-data-dir", tmp.join("a")])).stdout).toBe(`no diverged transactions under ${tmp.join("a")}\n`);
  });

  it("extracts app.db as b had it, onto the export taken at the common TXID", async () => {
    const out = tmp.join("b-app.db");
    const res = await litefs(["diverged", "-data-dir", tmp.join("b"), "extract", "-base", tmp.join("base-at-1.db"), "-o", out, "app.db"]);
    expect(res.stderr).toBe("");
    expect(res.code).toBe(0);
    expect(res.stdout).toBe(`Extracted app.db as this node had it at TXID 0000000000000003 (checksum ${formatChecksum(bAlone.checksum)}) to ${out}\n`);
    expect(readRows(out)).toEqual(readRows(tmp.join("b-only-2-app.db")));
    // The cluster itself kept a's history.
    expect(b.store.require("app.db").position.checksum).toBe(a.store.require("app.db").position.checksum);

    const again = await litefs(["diverged", "-data-dir", tmp.join("b"), "extract", "-base", tmp.join("base-at-1.db"), "-o", out, "app.db"]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`${out} exists: not overwriting it`);
  });

  it("says what it needs without a base, and refuses a base that is not the common state", async () => {
    const none = await litefs(["diverged", "-data-dir", tmp.join("b"), "extract", "-o", tmp.join("x.db"), "app.db"]);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain("holds TXIDs 0000000000000002-0000000000000003, the changes after TXID 0000000000000001 (checksum ");
    expect(none.stderr).toContain("give -base a copy of app.db at TXID 0000000000000001");
    const wrong = await litefs(["diverged", "-data-dir", tmp.join("b"), "extract", "-base", tmp.join("a-only-app.db"), "-o", tmp.join("x.db"), "app.db"]);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain(`${tmp.join("a-only-app.db")} is not app.db at TXID 0000000000000001: pre-apply checksum mismatch`);
    expect(existsSync(tmp.join("x.db"))).toBe(false);
    expect(existsSync(tmp.join("x.db.tmp"))).toBe(false);
  });

  it("extracts a set that starts at TXID 1 with no base", async () => {
    const res = await litefs(["diverged", "-data-dir", tmp.join("b"), "extract", "solo.db"], { cwd: tmp.path });
    expect(res.code).toBe(0);
    const out = res.stdout.match(/ to (\S+)\n$/)![1]!;
    expect(out.startsWith(tmp.join("solo.db.diverged-"))).toBe(true);
    expect(readRows(out)).toEqual(readRows(tmp.join("b-solo-solo.db")));
  });

  it("names what exists when the database or set is wrong", async () => {
    const res = await litefs(["diverged", "-data-dir", tmp.join("b"), "extract", "other.db"]);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain(`no diverged transactions of other.db under ${tmp.join("b", "diverged")}`);
    const set = await litefs(["diverged", "-data-dir", tmp.join("b"), "extract", "app.db", "1999-01-01T00-00-00.000Z"]);
    expect(set.stderr).toContain("no diverged set 1999-01-01T00-00-00.000Z of app.db (there are: ");
    expect((await litefs(["diverged", "-data-dir", "x", "-url", "y"])).stderr).toContain("give -data-dir or -url, not both");
  });
});
