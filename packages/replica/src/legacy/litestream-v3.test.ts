/**
 * Replicas written by the real Litestream v0.3.13 during the test, to a directory and to
 * an S3 server: three generations (stop, external TRUNCATE checkpoint, writes while
 * stopped, restart), checkpoints that start new WAL indexes, snapshots taken
 * mid-stream. Every restore is compared with v0.3.13's own `restore` of the same
 * replica, and with what the writer committed.
 */
import { cpSync, existsSync, readFileSync, renameSync, truncateSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { repoRoot, startS3Server, stopAllProcesses, tempDir, type S3Server, type TempDir } from "@sqlrep/testkit";
import { createFileReplicaClient } from "../file-replica.js";
import type { ReplicaClient } from "../replica-client.js";
import { restore } from "../restore.js";
import { readObject } from "../object-store.js";
import { inspect, litestreamV3Missing, litestreamV3Run, V3Scenario } from "../testing/litestream-v3.js";
import { chooseRestoreLayout, detectReplicaLayouts } from "./detect.js";
import { importLegacy } from "./import.js";
import { listLegacyReplica, type LegacyGeneration, type LegacyListing } from "./listing.js";
import { hex8 } from "./names.js";
import { restoreLegacy, type LegacyRestoreOptions } from "./restore.js";

const s3Dist = join(repoRoot, "packages", "replica-s3", "dist", "index.js");
const s3Missing = existsSync(s3Dist) ? undefined : `${s3Dist} is missing (build @sqlrep/replica-s3)`;

interface Backend {
  name: "directory" | "s3";
  skip: string | undefined;
  /** The `replicas:` entry for litestream.yml, and our client of the same replica. */
  setup(dir: TempDir): Promise<{ yaml: string; client: ReplicaClient; close(): Promise<void> }>;
}

const backends: Backend[] = [
  {
    name: "directory",
    skip: undefined,
    async setup(dir) {
      const path = dir.join("replica");
      return { yaml: `      - type: file\n        path: ${path}`, client: createFileReplicaClient(path), close: async () => undefined };
    },
  },
  {
    name: "s3",
    skip: s3Missing,
    async setup() {
      const s3: S3Server = await startS3Server();
      const { createS3ReplicaClient, parseS3Url } = (await import(s3Dist)) as { createS3ReplicaClient: (spec: unknown) => ReplicaClient; parseS3Url: (url: string) => object };
      const client = createS3ReplicaClient({ ...parseS3Url(s3.url("backups/app")), accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey });
      const yaml = [
        "      - type: s3",
        `        bucket: ${s3.bucket}`,
        "        path: backups/app",
        `        endpoint: ${s3.endpoint}`,
        `        region: ${s3.region}`,
        "        force-path-style: true",
        `        access-key-id: ${s3.accessKeyId}`,
        `        secret-access-key: ${s3.secretAccessKey}`,
      ].join("\n");
      return { yaml, client, close: () => s3.stop() };
    },
  },
];

const skipAll = litestreamV3Missing;

describe.skipIf(skipAll !== undefined)(`replicas written by Litestream v0.3.13${skipAll ? ` (skipped: ${skipAll})` : ""}`, () => {
  afterAll(() => stopAllProcesses());

  for (const backend of backends) {
    describe.skipIf(backend.skip !== undefined)(`to ${backend.name === "s3" ? "S3 (s3rver)" : "a directory"}${backend.skip ? ` (skipped: ${backend.skip})` : ""}`, () => {
      let dir: TempDir;
      let scenario: V3Scenario;
      let client: ReplicaClient;
      let close: () => Promise<void>;
      let listing: LegacyListing;
      let outputs = 0;
      /** Commits made in each generation (by the time replicate stopped). */
      const ends: number[] = [];

      beforeAll(async () => {
        dir = tempDir(`sqlrep-legacy-v3-${backend.name}-`);
        const setup = await backend.setup(dir);
        client = setup.client;
        close = setup.close;
        scenario = new V3Scenario(dir.path, { replica: setup.yaml });
        await scenario.create();
        await scenario.start();
        await scenario.write(40, { pauseMs: 60 });
        await scenario.stop();
        ends.push(scenario.commits.length);
        await scenario.externalCheckpoint();
        await scenario.write(5); // while replicate is down: the next generation's snapshot holds them
        await scenario.start();
        await scenario.write(40, { pauseMs: 60 });
        await scenario.stop();
        ends.push(scenario.commits.length);
        await scenario.externalCheckpoint();
        await scenario.start();
        await scenario.write(12, { pauseMs: 250, quiet: true }); // one WAL index, one segment per commit
        await scenario.stop();
        ends.push(scenario.commits.length);
        listing = await listLegacyReplica(client);
      }, 120_000);

      afterAll(async () => {
        await close?.();
        dir?.remove();
      });

      const out = () => dir.join(`out-${outputs++}.db`);
      const ours = async (options: Partial<LegacyRestoreOptions> = {}, from = client) => {
        const output = out();
        const result = await restoreLegacy(from, { output, ...options });
        return { output, result };
      };
      /** v0.3.13's restore of the replica in the config (or of `url`), into a new file. */
      const theirs = async (flags: string[], url?: string) => {
        const output = out();
        await litestreamV3Run(["restore", "-o", output, ...flags, ...(url === undefined ? ["-config", scenario.config, scenario.db] : [url])]);
        return output;
      };
      const same = (a: string, b: string) => expect(Buffer.compare(readFileSync(a), readFileSync(b)), `${a} and ${b} differ`).toBe(0);
      const gen = (i: number): LegacyGeneration => listing.generations[i]!;

      it("lists three generations with several indexes and mid-stream snapshots, as v0.3.13 lists them", async () => {
        expect(listing.generations).toHaveLength(3);
        expect(gen(0).segments.some((s) => s.index >= 1)).toBe(true);
        expect(gen(1).segments.some((s) => s.index >= 1)).toBe(true);
        expect(gen(0).snapshots.length + gen(1).snapshots.length).toBeGreaterThanOrEqual(4);
        const last = gen(2).segments.filter((s) => s.index === gen(2).segments[gen(2).segments.length - 1]!.index);
        expect(last.length).toBeGreaterThanOrEqual(3);
        // Litestream's own listing (`snapshots`): the same objects, sizes and times.
        const { stdout } = await litestreamV3Run(["snapshots", "-config", scenario.config, scenario.db]);
        const rows = stdout
          .trim()
          .split("\n")
          .slice(1)
          .map((l) => l.trim().split(/\s+/));
        const mine = listing.generations.flatMap((g) =>
          g.snapshots.map((s) => [s.generation, String(s.index), String(s.size), s.createdAt.toISOString().replace(/\.\d{3}Z$/, "Z")]),
        );
        expect(rows.map((r) => r.slice(1)).sort()).toEqual(mine.sort());
      });

      it("restores the latest state byte for byte as v0.3.13 does", async () => {
        const mine = await ours({ verify: async (p) => expect((await inspect(p)).integrity).toBe("ok") });
        same(mine.output, await theirs([]));
        expect(mine.result.generation).toBe(gen(2).generation);
        const state = await inspect(mine.output);
        expect(state).toMatchObject({ k: ends[2], badRows: 0, integrity: "ok" });
        expect(state.rows).toBe(scenario.expectedRows(ends[2]!));
      });

      it("restores a generation's latest state and a generation up to an index, as v0.3.13 does", async () => {
        const first = await ours({ target: { generation: gen(0).generation } });
        same(first.output, await theirs(["-generation", gen(0).generation]));
        expect(await inspect(first.output)).toMatchObject({ k: ends[0], integrity: "ok" });

        // An index after a mid-stream snapshot, before the generation's last.
        const g = gen(1);
        const top = g.segments[g.segments.length - 1]!.index;
        const index = Math.max(1, top - 1);
        const mine = await ours({ target: { generation: g.generation, index } });
        same(mine.output, await theirs(["-generation", g.generation, "-index", hex8(index)]));
        expect(mine.result.index).toBe(index);
        const state = await inspect(mine.output);
        expect(state.integrity).toBe("ok");
        expect(state.k).toBeGreaterThan(ends[0]!);
        expect(state.k).toBeLessThanOrEqual(ends[1]!);
        expect(state.rows).toBe(scenario.expectedRows(state.k));
      });

      it("restores a point in time after a mid-stream snapshot, as v0.3.13 does, with nothing committed after it", async () => {
        const g = gen(1);
        const snapshot = g.snapshots.find((s) => s.index >= 1) ?? g.snapshots[g.snapshots.length - 1]!;
        // Uploads from the snapshot's on (s3rver's times are whole seconds, so its own second counts), before the last.
        const later = g.segments.filter((s) => s.createdAt >= snapshot.createdAt && s.createdAt < g.updatedAt);
        expect(later.length).toBeGreaterThan(0);
        const pick = later[Math.floor(later.length / 2)]!;
        // Between two uploads (a directory keeps mtimes to the nanosecond; s3rver to the second).
        const next = g.segments.find((s) => s.createdAt > pick.createdAt)!;
        const target = backend.name === "s3" ? pick.createdAt : new Date(Math.floor((pick.createdAt.getTime() + next.createdAt.getTime()) / 2));
        const mine = await ours({ target: { timestamp: target } });
        same(mine.output, await theirs(["-timestamp", target.toISOString()]));
        // The newest snapshot at or before the target (with s3rver's whole seconds, a later
        // snapshot in the target's second counts too — v0.3.13 picks it as well).
        const chosen = g.snapshots.filter((s) => s.createdAt.getTime() <= target.getTime()).at(-1)!;
        expect(chosen.index).toBeGreaterThanOrEqual(snapshot.index);
        expect(mine.result).toMatchObject({ generation: g.generation, snapshotIndex: chosen.index });
        const state = await inspect(mine.output);
        expect(state.integrity).toBe("ok");
        expect(state.rows).toBe(scenario.expectedRows(state.k));
        const slack = backend.name === "s3" ? 1000 : 50; // s3rver truncates LastModified to the second
        expect(state.k).toBeLessThanOrEqual(scenario.committedBy(new Date(target.getTime() + slack)));
        expect(state.k).toBeLessThan(ends[1]!);
        expect(state.k).toBeGreaterThan(ends[0]!);
      });

      it("imports the latest state as a v0.5 snapshot that our v0.5 restore reads back identically", async () => {
        const legacy = await ours();
        const imported = await importLegacy(client);
        expect(imported.txid).toBe(1);
        expect(imported.key).toMatch(/0000000000000001-0000000000000001\.ltx$/);
        const output = out();
        const v5 = await restore(client, { output });
        same(output, legacy.output);
        expect(v5).toMatchObject({ txid: 1, checksumVerified: true, databaseChecksum: imported.postApplyChecksum });
        const layouts = await detectReplicaLayouts(client);
        expect(layouts.legacy?.generations).toBe(3);
        expect(chooseRestoreLayout(layouts)).toBe("ltx");
        expect(chooseRestoreLayout(layouts, { generation: gen(2).generation })).toBe("legacy");
        await expect(importLegacy(client)).rejects.toMatchObject({ code: "exists" });
        const again = await importLegacy(client, { force: true, point: { generation: gen(0).generation } });
        expect(again.txid).toBe(2);
        const older = out();
        await restore(client, { output: older });
        expect((await inspect(older)).k).toBe(ends[0]);
      });

      it("reads an offset written with 9 hex digits, which v0.3.13 skips (a silently short database)", async () => {
        const g = gen(2);
        const segment = g.segments[g.segments.length - 2]!; // a middle segment of the last index
        const nine = segment.key.replace(/_([0-9a-f]{8})\.wal\.lz4$/, "_0$1.wal.lz4");
        await moveObject(client, segment.key, nine);
        try {
          const mine = await ours();
          expect(await inspect(mine.output)).toMatchObject({ k: ends[2], integrity: "ok" });
          const v3 = await inspect(await theirs([]));
          expect(v3.k).toBeLessThan(ends[2]!); // it skipped the object; SQLite stopped at the gap
          expect(v3.integrity).toBe("ok");
        } finally {
          await moveObject(client, nine, segment.key);
        }
      });

      it("fails naming the generation, index and missing bytes when a middle segment is deleted (v0.3.13 restores a short database)", async () => {
        const g = gen(2);
        const segment = g.segments[g.segments.length - 2]!;
        const next = g.segments[g.segments.length - 1]!;
        const body = await readObject(client.store, segment.key);
        await client.store.delete([segment.key]);
        try {
          const err = await ours().then(
            () => undefined,
            (e: unknown) => e as Error & { code: string },
          );
          expect(err).toMatchObject({ code: "non-contiguous", key: next.key, offset: segment.offset });
          expect(err!.message).toContain(`generation ${g.generation} WAL index ${hex8(segment.index)}`);
          expect(err!.message).toContain(`bytes ${segment.offset}…${next.offset - 1} are missing`);
          const v3 = await inspect(await theirs([]));
          expect(v3.k).toBeLessThan(ends[2]!);
          expect(v3.integrity).toBe("ok");
        } finally {
          await client.store.write(segment.key, body);
        }
      });

      if (backend.name === "directory") {
        it("fails naming the key of a truncated LZ4 frame", async () => {
          const copy = dir.join("damaged");
          cpSync(dir.join("replica"), copy, { recursive: true, preserveTimestamps: true });
          const g = gen(2);
          const segment = g.segments[g.segments.length - 3]!;
          const path = join(copy, segment.key);
          truncateSync(path, readFileSync(path).length - 5);
          const damaged = createFileReplicaClient(copy);
          const err = await ours({}, damaged).then(
            () => undefined,
            (e: unknown) => e as Error & { code: string; key: string },
          );
          expect(err).toMatchObject({ code: "corrupt", key: segment.key });
          expect(err!.message).toContain(segment.key);
          // v0.3.13 reports the LZ4 error too (without naming the object).
          await expect(theirs([], `file://${copy}`)).rejects.toThrow();
          // A renamed 9-digit offset in a copy whose times are kept: same result as the original.
          unlinkSync(path);
          cpSync(join(dir.join("replica"), segment.key), path, { preserveTimestamps: true });
          renameSync(path, path.replace(/_([0-9a-f]{8})\.wal\.lz4$/, "_0$1.wal.lz4"));
          const mine = await ours({}, damaged);
          same(mine.output, (await ours()).output);
        });
      }
    });
  }
});

/** Renames an object (read, write, delete): what a user's tool or a bucket migration might do. */
async function moveObject(client: ReplicaClient, from: string, to: string): Promise<void> {
  const body = await readObject(client.store, from);
  const head = await client.store.head(from);
  await client.store.write(to, body, { timestamp: head.lastModified });
  await client.store.delete([from]);
}
