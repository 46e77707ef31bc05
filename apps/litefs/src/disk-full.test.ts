// Disk full under data.dir: the primary's data directory on an 8 MiB tmpfs, two
// `litefs mount` daemons (static lease, real FUSE). Writes until it fills get SQLite's
// own SQLITE_FULL, the daemon stays up, and after space is freed writes go on and the
// replica converges with the same checksum.
import { execFileSync } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fuseUnavailableReason, tempMountDir } from "@sqlrep/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { nodeScript, readPos, sqlite3, startNode, waitConverged, type TestNode } from "./testing/nodes.js";

/** Commits rows of 3 KiB, one per transaction, until one fails or `max` is reached; prints `{ rows, code, message }`. */
const FILL = `
import Database from "better-sqlite3";
const [path, mode, max] = process.argv.slice(1);
const db = new Database(path, { timeout: 10000 });
db.pragma("journal_mode = " + mode);
db.exec("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, v TEXT)");
const insert = db.prepare("INSERT INTO t (v) VALUES (?)");
let rows = 0, code = null, message = null;
try { for (; rows < Number(max); rows++) insert.run("fill " + rows + " " + "z".repeat(3000)); }
catch (err) { code = err.code; message = err.message; }
console.log(JSON.stringify({ rows, code, message }));
`;

function tmpfsReason(): string | undefined {
  if (process.getuid?.() !== 0) return "needs root to mount a tmpfs";
  return undefined;
}

const skip = fuseUnavailableReason() ?? tmpfsReason();

describe.skipIf(skip)(`disk full under the primary's data.dir${skip ? ` (skipped: ${skip})` : ""}`, () => {
  const root = tempMountDir("litefs-full-");
  const data = join(root.path, "primary", "data");
  /** One scratch file a case, each put there first and deleted to free space. */
  const scratch = (mode: string) => join(data, `scratch-${mode}.bin`);
  let mounted = false;
  let primary: TestNode;
  let replica: TestNode;

  beforeAll(async () => {
    mkdirSync(data, { recursive: true });
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=8m", "tmpfs", data]);
    mounted = true;
    // room to give back once it is full
    for (const mode of ["wal", "delete"]) writeFileSync(scratch(mode), Buffer.alloc(2 << 20, 1));
    primary = await startNode(root.path, "primary", ({ url }) => `lease: {type: static, hostname: primary-host, advertise-url: "${url}", candidate: true}`);
    replica = await startNode(root.path, "replica", () => `lease: {type: static, hostname: primary-host, advertise-url: "${primary.url}", candidate: false}`);
  });
  afterAll(async () => {
    await replica?.stop();
    await primary?.stop();
    if (mounted) execFileSync("umount", ["-l", data]);
    root.remove();
  });

  for (const mode of ["wal", "delete"] as const) {
    it(`${mode.toUpperCase()}: SQLITE_FULL when it fills, the daemon stays up, writes resume after space is freed`, async () => {
      const name = `full-${mode}.db`;
      const db = join(primary.mnt, name);
      const out = JSON.parse(await nodeScript(FILL, [db, mode, "100000"], 120_000)) as { rows: number; code: string | null; message: string | null };
      console.log(`${mode}: ${out.rows} rows of 3 KiB committed, then ${out.code}: ${out.message}`);
      expect(out.rows).toBeGreaterThan(10);
      expect(out.code).toBe("SQLITE_FULL");
      expect(out.message).toBe("database or disk is full");
      expect(primary.process.exitStatus).toBeUndefined();
      expect((await fetch(`${primary.url}/info`)).status).toBe(200);
      // what was committed is whole on both nodes
      const committed = readPos(primary.mnt, name)!;
      await waitConverged([primary.mnt, replica.mnt], name);
      expect(await sqlite3(db, "PRAGMA integrity_check;")).toBe("ok");

      rmSync(scratch(mode), { force: true });
      await sqlite3(db, "INSERT INTO t (v) VALUES ('after space was freed');");
      expect(readPos(primary.mnt, name)!.txid).toBe(committed.txid + 1);
      const pos = await waitConverged([primary.mnt, replica.mnt], name);
      expect(readPos(replica.mnt, name)!.text).toBe(pos);
      const rows = await sqlite3(db, "SELECT count(*) FROM t;");
      expect(Number(rows)).toBe(out.rows + 1);
      expect(await sqlite3(join(replica.mnt, name), "SELECT count(*) FROM t; PRAGMA integrity_check;")).toBe(`${rows}\nok`);
    });
  }
});
