/**
 * The `ltx` bin as users run it: a child process on the built dist
 * (`pnpm turbo run build --filter @sqlrep/ltx` first), with real SQLite databases
 * made by better-sqlite3.
 */
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { hasSharedTestdata, noSharedTestdataReason, repoRoot, sharedTestdata, tempDir } from "@sqlrep/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { formatFilename } from "../filename.js";
import { allFixtures, chainsOf, fixtureFolders, sha256 } from "../testing/fixtures.js";

const packageDir = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const bin = join(packageDir, "dist/bin/ltx.js");

function run(...args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: "utf8", timeout: 60_000 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** Newest modification time of the package's build inputs. */
function newestSource(dir: string): number {
  let newest = 0;
  for (const name of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, name.name);
    if (name.isDirectory()) {
      if (name.name !== "testing") newest = Math.max(newest, newestSource(path));
    } else if (name.name.endsWith(".ts") && !/\.(test|fuzz)\.ts$/.test(name.name)) {
      newest = Math.max(newest, statSync(path).mtimeMs);
    }
  }
  return newest;
}

/** better-sqlite3 is a dependency of @sqlrep/testkit, not of this package: load it from there. */
interface Sqlite {
  exec(sql: string): void;
  pragma(sql: string, options?: { simple: boolean }): unknown;
  close(): void;
}
const openSqlite = createRequire(join(repoRoot, "packages/testkit/package.json"))("better-sqlite3") as new (path: string) => Sqlite;

const dir = tempDir("sqlrep-ltx-bin-");
afterAll(() => dir.remove());

beforeAll(() => {
  if (!existsSync(bin) || statSync(bin).mtimeMs < newestSource(join(packageDir, "src"))) {
    throw new Error(`${bin} is missing or older than src/: run \`pnpm turbo run build --filter @sqlrep/ltx\` first`);
  }
});

function makeDatabase(path: string, rows: number): void {
  const db = new openSqlite(path);
  db.pragma("journal_mode = DELETE");
  db.pragma("page_size = 4096");
  db.exec(`CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, blob BLOB); CREATE INDEX t_name ON t(name);`);
  db.exec(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${rows})
           INSERT INTO t SELECT i, 'row ' || i || ' ' || hex(randomblob(8)), randomblob(i % 700) FROM n`);
  db.exec(`DELETE FROM t WHERE id % 7 = 0`); // leave free pages behind
  db.close();
}

describe("ltx bin on real SQLite databases", () => {
  it.each(["v3", "v1", "v1-lz4"])("encode-db --format %s then apply into an empty file reproduces the database", (format) => {
    const db = dir.join(`db-${format}.sqlite`);
    makeDatabase(db, 3000);
    const ltx = dir.join(`snap-${format}.ltx`);
    const encoded = run("encode-db", db, "-o", ltx, "--format", format, "--txid", "42", "--timestamp", "1700000000000");
    expect(encoded.stderr).toBe("");
    expect(encoded.code).toBe(0);
    expect(run("verify", ltx).code).toBe(0);
    const restored = dir.join(`restored-${format}.sqlite`);
    const applied = run("apply", restored, ltx);
    expect(applied.code).toBe(0);
    expect(readFileSync(restored).equals(readFileSync(db))).toBe(true); // byte for byte
    const sum = run("checksum", db).stdout.trim();
    expect(sum).toMatch(/^[0-9a-f]{16}$/);
    expect(run("checksum", restored).stdout.trim()).toBe(sum);
    expect(applied.stdout).toContain(`000000000000002a/${sum}`);
    const check = new openSqlite(restored);
    expect(check.pragma("integrity_check", { simple: true })).toBe("ok");
    check.close();
  });

  it("dump --json describes a fresh snapshot", () => {
    const db = dir.join("small.sqlite");
    makeDatabase(db, 50);
    const ltx = dir.join("small.ltx");
    expect(run("encode-db", db, "-o", ltx).code).toBe(0);
    const dump = JSON.parse(run("dump", "--json", ltx).stdout) as { format: string; header: { commit: number }; pages: unknown[]; pageIndex: unknown[] };
    expect(dump.format).toBe("v3-block");
    expect(dump.pages.length).toBe(dump.header.commit);
    expect(dump.pageIndex.length).toBe(dump.header.commit);
  });

  it("the README's usage example runs against the built package", () => {
    const readme = readFileSync(join(packageDir, "README.md"), "utf8");
    const example = /```js\n([\s\S]*?)```/.exec(readme)![1]!;
    // Run from the package folder so `@sqlrep/ltx` resolves to itself (package self-reference).
    const r = spawnSync(process.execPath, ["--input-type=module", "-e", example], { cwd: packageDir, encoding: "utf8" });
    expect(r.stderr).toBe("");
    expect(r.stdout).toMatch(/^header 2\npage 2\npage 3\nposition 0000000000000002\/[0-9a-f]{16}\ncompacted \[ 1, 2, 3 \]\npage 3 byte 3 from \{ minTXID: 1, maxTXID: 2 \}\n$/);
  });

  it("rejects bad arguments with the usage and exit code 2", () => {
    for (const args of [[], ["frob"], ["verify"], ["dump", "a", "b"], ["encode-db", "x.db"], ["encode-db", "x.db", "-o", "y", "--format", "v9"], ["dump", "--bogus", "x"]]) {
      const r = run(...args);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stderr).toMatch(/usage/);
    }
  });

  it("fails with one line naming a missing file", () => {
    const r = run("verify", dir.join("missing.ltx"));
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toContain("missing.ltx");
  });
});

describe.skipIf(!hasSharedTestdata)(`ltx bin on the golden files${hasSharedTestdata ? "" : ` (skipped: ${noSharedTestdataReason})`}`, () => {
  const files = [
    ...allFixtures().map(({ version, entry }) => sharedTestdata("ltx", "generated", version, entry.file)),
    sharedTestdata("ltx", "litefs-v1-incremental-txid13-3pages.ltx"),
  ];

  it("verify accepts all 107 files", () => {
    expect(files.length).toBe(107);
    const r = run("verify", ...files);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split("\n")).toHaveLength(107);
  });

  it("verify rejects a one-byte flip, naming the file and the offset, and still checks the others", () => {
    const source = sharedTestdata("ltx", "generated", "v1", "v1-chain-02-incremental-txid2-3.ltx");
    const bytes = new Uint8Array(readFileSync(source));
    bytes[500]! ^= 0x10;
    const bad = dir.join("flipped.ltx");
    writeFileSync(bad, bytes);
    const r = run("verify", files[0]!, bad);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("ok ");
    expect(r.stderr).toMatch(new RegExp(`^FAIL file checksum mismatch: .* \\(in ${bad.replace(/[.]/g, "\\.")} at offset ${bytes.length - 8}\\)\\n$`));
  });

  it("verify rejects a truncated file with a clear message", () => {
    const source = new Uint8Array(readFileSync(sharedTestdata("ltx", "generated", "v3-block", "v3b-chain-01-snapshot-txid1.ltx")));
    const bad = dir.join("truncated.ltx");
    writeFileSync(bad, source.subarray(0, 400));
    const r = run("verify", bad);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/unexpected end of file .*\(in .*truncated\.ltx at offset 400\)/);
  });

  it("dump shows the manifest's values", () => {
    const entry = fixtureFolders()
      .find((f) => f.version === "v3-block")!
      .entries.find((e) => e.file.includes("chain-02"))!;
    const r = run("dump", "--json", sharedTestdata("ltx", "generated", "v3-block", entry.file));
    expect(r.code).toBe(0);
    const dump = JSON.parse(r.stdout) as { pages: { pgno: number; checksum: string }[]; pageIndex: unknown; trailer: { fileChecksum: string } };
    expect(dump.pages.map((p) => `0x${p.checksum}`)).toEqual(entry.pages.map((p) => p.page_checksum));
    expect(dump.pageIndex).toEqual(entry.page_index);
    expect(`0x${dump.trailer.fileChecksum}`).toBe(entry.file_checksum);
    expect(run("dump", sharedTestdata("ltx", "litefs-v1-incremental-txid13-3pages.ltx")).stdout).toContain("9496a29358326fb5 (verified)");
  });

  it("checksum of the LiteFS database is its LTX post-apply checksum", () => {
    const r = run("checksum", sharedTestdata("ltx", "litefs-v1-incremental-txid13-post-apply.db"));
    expect(r.stdout.trim()).toBe("fe3831a381c602b9");
  });

  it("apply replays a chain to the manifest's database; a corrupt file leaves the database untouched", () => {
    const folder = fixtureFolders().find((f) => f.version === "v1")!;
    const chain = chainsOf(folder).find((c) => c[0]!.file.startsWith("v1lz4-"))!;
    const paths = chain.map((e) => sharedTestdata("ltx", "generated", "v1", e.file));
    const db = dir.join("chain.db");
    expect(run("apply", db, ...paths.slice(0, 3)).code).toBe(0);
    expect(sha256(readFileSync(db))).toBe(chain[2]!.result_db!.sha256);
    const bad = new Uint8Array(readFileSync(paths[3]!));
    bad[bad.length - 1]! ^= 1;
    writeFileSync(dir.join("bad.ltx"), bad);
    const r = run("apply", db, dir.join("bad.ltx"));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("bad.ltx");
    expect(sha256(readFileSync(db))).toBe(chain[2]!.result_db!.sha256);
    expect(run("apply", db, paths[3]!).code).toBe(0);
    expect(existsSync(db)).toBe(false); // chain-04 deletes the database
  });

  it("list shows TXID ranges and flags a gap", () => {
    const folder = fixtureFolders().find((f) => f.version === "v3-block")!;
    const listing = dir.join("listing");
    spawnSync("mkdir", ["-p", listing]);
    for (const e of chainsOf(folder)[0]!) {
      copyFileSync(sharedTestdata("ltx", "generated", "v3-block", e.file), join(listing, formatFilename(e.header.min_txid, e.header.max_txid)));
    }
    writeFileSync(join(listing, "README"), "not an LTX file");
    const ok = run("list", listing);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain("4 files, contiguous");
    expect(ok.stdout).toContain("0000000000000002-0000000000000003.ltx");
    const json = JSON.parse(run("list", "--json", listing).stdout) as { follows: string; timestamp: string }[];
    expect(json.map((r) => r.follows)).toEqual(["start", "ok", "ok", "ok"]);
    expect(json[0]!.timestamp).toBe("2023-11-14T22:13:20.000Z");
    spawnSync("rm", [join(listing, formatFilename(2, 3))]);
    const gap = run("list", listing);
    expect(gap.code).toBe(1);
    expect(gap.stdout).toMatch(/gap/);
  });
});
