/**
 * The v0.3 side of the CLI (`generations`, `snapshots`, `wal -generation`, `restore`
 * with `-generation`/`-index`/`-timestamp`, layout detection, `import-v3`) against
 * replicas the real Litestream v0.3.13 writes during the test, to a directory and to
 * S3, each result compared with v0.3.13's own output for the same replica.
 */
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { spawnProcess, startS3Server, stopAllProcesses, tempDir, type S3Server, type TempDir } from "@sqlrep/testkit";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI, readDatabase, runCli } from "./testing/seed.js";
import { litestreamV3Available, LITESTREAM_V3, V3Replica } from "./testing/v3-replica.js";

const built = existsSync(CLI);
const skip = !built ? `${CLI} is missing (build the CLI)` : !litestreamV3Available ? `${LITESTREAM_V3} is missing (npm @flydotio/litestream-linux-x64)` : undefined;

/** Table rows without the header, each split on runs of spaces, in a stable order. */
function rows(table: string, drop: number[] = []): string[][] {
  return table
    .trim()
    .split("\n")
    .slice(1)
    .map((line) =>
      line
        .trim()
        .split(/\s+/)
        .filter((_, i) => !drop.includes(i)),
    )
    .sort((a, b) => a.join(" ").localeCompare(b.join(" ")));
}

describe.skipIf(skip !== undefined)(`v0.3 replicas written by Litestream v0.3.13${skip ? ` (skipped: ${skip})` : ""}`, () => {
  let s3: S3Server;
  const tmp: TempDir = tempDir("sqlrep-litestream-legacy-");
  beforeAll(async () => {
    s3 = await startS3Server();
  });
  afterAll(async () => {
    await stopAllProcesses();
    await s3?.stop();
    tmp.remove();
  });

  for (const backend of ["directory", "s3"] as const) {
    describe(backend === "s3" ? "on S3" : "in a directory", { timeout: 60_000 }, () => {
      let v3: V3Replica;
      let dir: string;
      let outputs = 0;
      const out = () => `${dir}/out-${++outputs}.db`;
      const cli = (args: string[]) => runCli(args, { timeoutMs: 60_000 });
      const config = () => ["-config", v3.config];

      beforeAll(async () => {
        dir = tmp.join(backend);
        mkdirSync(dir);
        const yaml =
          backend === "directory"
            ? `      - type: file\n        name: disk\n        path: ${dir}/replica`
            : [
                "      - type: s3",
                "        name: bucket",
                `        bucket: ${s3.bucket}`,
                "        path: v3/app",
                `        endpoint: ${s3.endpoint}`,
                `        region: ${s3.region}`,
                "        force-path-style: true",
                `        access-key-id: ${s3.accessKeyId}`,
                `        secret-access-key: ${s3.secretAccessKey}`,
              ].join("\n");
        v3 = new V3Replica(dir, yaml);
        // 25 rows over ~2.5 s: on s3rver, whose times are whole seconds, at least one
        // second in the middle holds some of the rows and not all.
        await v3.generation(25, { paceMs: 100 });
        await sleep(1100); // s3rver dates objects to the second: keep the generations' seconds apart
        await v3.generation(15);
      }, 90_000);

      it("generations, snapshots and wal -generation list what v0.3.13 lists", async () => {
        const theirs = await V3Replica.run(["generations", ...config(), v3.db]);
        const ours = await cli(["generations", ...config(), v3.db]);
        expect(ours.code).toBe(0);
        expect(ours.stdout.split("\n")[0]).toMatch(/^name +generation +lag +start +end$/);
        expect(rows(ours.stdout, [2])).toEqual(rows(theirs, [2])); // all but the lag, which moves with the clock
        const json = JSON.parse((await cli(["generations", "-json", ...config(), v3.db])).stdout) as Record<string, unknown>[];
        expect(json).toHaveLength(2);
        for (const g of json)
          expect(g).toMatchObject({ name: backend === "s3" ? "bucket" : "disk", generation: expect.stringMatching(/^[0-9a-f]{16}$/), snapshots: 1, lag: expect.any(String) });
        expect(Number(json[0]!["wal_segments"])).toBeGreaterThan(2);

        const snapshots = await cli(["snapshots", ...config(), v3.db]);
        expect(rows(snapshots.stdout)).toEqual(rows(await V3Replica.run(["snapshots", ...config(), v3.db])));
        const snapJson = JSON.parse((await cli(["snapshots", "--json", ...config(), v3.db])).stdout) as { generation: string; index: number; size: number }[];
        expect(snapJson.map((s) => s.generation).sort()).toEqual(json.map((g) => g["generation"]).sort());

        const generation = String(json[0]!["generation"]);
        const wal = await cli(["wal", "-generation", generation, ...config(), v3.db]);
        expect(wal.code).toBe(0);
        expect(rows(wal.stdout)).toEqual(rows(await V3Replica.run(["wal", "-generation", generation, ...config(), v3.db])));
      });

      it("restore reads the v0.3 layout: latest, -generation, -generation with -index, -timestamp, each equal to v0.3.13's", async () => {
        const gens = JSON.parse((await cli(["generations", "-json", ...config(), v3.db])).stdout) as { generation: string; start: string; end: string }[];
        const [first, second] = gens;
        const cases: string[][] = [[], ["-generation", first!.generation], ["-generation", second!.generation, "-index", "0"]];
        // A point inside the first generation (v0.3.13 only looks for it in generations whose range holds it).
        const wal = JSON.parse((await cli(["wal", "-json", "-generation", first!.generation, ...config(), v3.db])).stdout) as { created: string }[];
        const times = [...new Set(wal.map((w) => w.created))].sort();
        const mid = times[Math.floor(times.length / 2)]!;
        // s3rver's times are whole seconds: the middle one (segments of that second count
        // as written at its start, so the time is used as it is).
        cases.push(["-timestamp", backend === "s3" ? mid.replace(/\.\d{3}Z$/, "Z") : new Date(Date.parse(mid) + 1).toISOString()]);
        for (const flags of cases) {
          const mine = out();
          const r = await cli(["restore", "-integrity-check", ...flags, "-o", mine, ...config(), v3.db]);
          expect(r.stderr).toBe("");
          expect(r.stdout).toMatch(/\(Litestream v0\.3\): generation [0-9a-f]{16}, snapshot 00000000, WAL [0-9a-f]{8} to offset \d+ .* objects, integrity_check ok\n$/);
          const theirs = out();
          await V3Replica.run(["restore", ...flags, "-o", theirs, ...config(), v3.db]);
          expect(Buffer.compare(readFileSync(mine), readFileSync(theirs)), `restore ${flags.join(" ")}`).toBe(0);
        }
        expect(times.length).toBeGreaterThan(1);
        expect(readDatabase(`${dir}/out-1.db`).rows).toHaveLength(40);
        expect(readDatabase(`${dir}/out-3.db`).rows).toHaveLength(25);
        expect(readDatabase(`${dir}/out-5.db`).rows).toHaveLength(40);
        const pit = readDatabase(`${dir}/out-7.db`).rows.length;
        expect(pit).toBeGreaterThan(0);
        expect(pit).toBeLessThan(25);
      });

      it("import-v3 writes a v0.5 snapshot beside the generations; restore then picks the layout written last", async () => {
        const imported = await cli(["import-v3", ...config(), v3.db]);
        expect(imported.stderr).toBe("");
        expect(imported.stdout).toMatch(
          /^imported generation [0-9a-f]{16} up to WAL index [0-9a-f]{8} offset \d+ .* as \S*ltx\/9\/0000000000000001-0000000000000001\.ltx|^imported .*0009\/0000000000000001-0000000000000001\.ltx/,
        );
        const ltx = await cli(["ltx", "-level", "9", ...config(), v3.db]);
        expect(ltx.stdout).toMatch(/^level +min_txid +max_txid +size +created\n9 +0000000000000001 +0000000000000001 /);
        const v5 = out();
        const r = await cli(["restore", "-o", v5, ...config(), v3.db]);
        expect(r.stdout).toMatch(/TXID 0000000000000001 .* database checksum verified, quick_check ok\n$/);
        expect(readDatabase(v5).rows).toHaveLength(40);
        const again = await cli(["import-v3", ...config(), v3.db]);
        expect(again.code).toBe(1);
        expect(again.stderr).toMatch(/already holds LTX files up to TXID 1/);

        // More v0.3 data (a third generation) is newer than the import: restore goes back to v0.3.
        await v3.generation(5);
        const newer = out();
        const r3 = await cli(["restore", "-o", newer, ...config(), v3.db]);
        expect(r3.stdout).toMatch(/\(Litestream v0\.3\)/);
        expect(readDatabase(newer).rows).toHaveLength(45);
        const r4 = await cli(["restore", "-txid", "1", "-o", out(), ...config(), v3.db]);
        expect(r4.code).toBe(1);
        expect(r4.stderr).toMatch(/holds Litestream v0\.3 generations, written after its LTX files: -txid does not apply/);
      });

      if (backend === "directory") {
        it("import-v3 -to another replica -o keeps the database, and our replicate continues the TXID chain from the snapshot", async () => {
          const target = `file://${dir}/v5`;
          const db = `${dir}/continued.db`;
          const r = await cli(["import-v3", "-json", "-integrity-check", "-to", target, "-o", db, `file://${dir}/replica`]);
          expect(r.stderr).toBe("");
          const result = JSON.parse(r.stdout) as Record<string, unknown>;
          expect(result).toMatchObject({ txid: "0000000000000001", key: "ltx/9/0000000000000001-0000000000000001.ltx", database: db, page_size: 4096 });
          expect(readDatabase(db).rows).toHaveLength(45);

          const proc = await spawnProcess(process.execPath, [CLI, "replicate", db, target], {
            name: "litestream",
            env: { LOG_LEVEL: "" },
            ready: /msg="replication started"/,
            readyTimeoutMs: 30_000,
          });
          const writer = new Database(db, { timeout: 5000 });
          writer.pragma("journal_mode = wal");
          for (let i = 0; i < 5; i++) {
            writer.prepare("INSERT INTO t (v) VALUES (?)").run(`after import ${i}`);
            await sleep(30);
          }
          writer.close();
          await proc.waitForLine(/msg="replica sync" .*level=0/, 20_000);
          await proc.stop(10_000);
          const ltx = JSON.parse((await cli(["ltx", "-json", target])).stdout) as { level: number; min_txid: string }[];
          expect(ltx.some((f) => f.level === 0 && f.min_txid > "0000000000000001")).toBe(true);
          const restored = out();
          const rr = await cli(["restore", "-o", restored, target]);
          expect(rr.code).toBe(0);
          expect(readDatabase(restored).rows).toHaveLength(50);
        });
      }
    });
  }
});
