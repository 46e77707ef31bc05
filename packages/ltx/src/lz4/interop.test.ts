/**
 * The LZ4 codec against real programs: the lz4 command-line tool (frames with every
 * option pierrec never writes) and Litestream v0.3.13, whose snapshots and WAL
 * segments are pierrec frames with 4 MiB blocks (litestream.md §3.4).
 */
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { repoRoot, tempDir } from "@sqlrep/testkit";
import { describe, expect, it } from "vitest";
import { sample } from "./corpus.fuzz.js";
import { lz4DecodeFrame, lz4EncodeFrame, Lz4FrameDecoder } from "./frame.js";

const hasProgram = (cmd: string, ...args: string[]): boolean => spawnSync(cmd, args, { stdio: "ignore" }).status === 0;
const lz4Available = hasProgram("lz4", "--version");
const litestream = join(repoRoot, "node_modules", "@flydotio", "litestream-linux-x64", "litestream");
const litestreamAvailable = existsSync(litestream) && hasProgram("sqlite3", "-version");

function lz4(args: string[], input: Uint8Array): Uint8Array {
  return new Uint8Array(execFileSync("lz4", [...args, "-c"], { input, maxBuffer: 1 << 28 }));
}

function decodeStreamed(frame: Uint8Array, piece: number): Uint8Array {
  const decoder = new Lz4FrameDecoder();
  const parts: Uint8Array[] = [];
  for (let at = 0; at < frame.length; at += piece) parts.push(...decoder.push(frame.subarray(at, at + piece)));
  decoder.finish();
  return new Uint8Array(Buffer.concat(parts));
}

describe.skipIf(!lz4Available)(`lz4 command-line tool${lz4Available ? "" : " (skipped: no lz4 program on PATH)"}`, () => {
  const data = sample("mixed", 5 * 1048576 + 4321, 12);

  it.each([
    ["64 KiB blocks", ["-B4"]],
    ["256 KiB blocks with block checksums", ["-B5", "-BX"]],
    ["1 MiB dependent blocks", ["-B6", "-BD"]],
    ["4 MiB blocks with content size", ["-B7", "--content-size"]],
    ["dependent 64 KiB blocks, block checksums, no content checksum", ["-B4", "-BD", "-BX", "--no-frame-crc"]],
    ["high compression, dependent", ["-9", "-B4", "-BD"]],
  ])("decodes frames written with %s", (_name, args) => {
    const frame = lz4(["-z", ...args], data);
    const { data: out, end } = lz4DecodeFrame(frame);
    expect(end).toBe(frame.length);
    expect(Buffer.compare(out, data)).toBe(0);
    expect(Buffer.compare(decodeStreamed(frame, 100_003), data)).toBe(0);
  });

  it("writes frames that lz4 decodes (and checks) at every block size", () => {
    for (const blockSize of [65536, 262144, 1048576, 4194304] as const) {
      expect(Buffer.compare(lz4(["-d"], lz4EncodeFrame(data, { blockSize })), data)).toBe(0);
    }
    expect(Buffer.compare(lz4(["-d"], lz4EncodeFrame(new Uint8Array(0))), new Uint8Array(0))).toBe(0);
  });

  it("rejects the legacy format with a clear error", () => {
    expect(() => lz4DecodeFrame(lz4(["-z", "-l"], data.subarray(0, 1000)))).toThrow(/legacy LZ4 frames .* not supported/);
  });
});

describe.skipIf(!litestreamAvailable)(`Litestream v0.3.13 objects${litestreamAvailable ? "" : ` (skipped: ${litestream} or the sqlite3 shell is missing)`}`, () => {
  it("decodes its snapshot and WAL segments and re-encodes them byte for byte (4 MiB blocks)", async () => {
    using dir = tempDir("sqlrep-lz4-litestream-");
    const db = dir.join("db.sqlite");
    // ~5 MB of mixed rows, so the snapshot spans two 4 MiB blocks and offsets wrap the 64 KiB window.
    execFileSync("sqlite3", [
      db,
      `PRAGMA journal_mode=WAL;
         CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT, b BLOB);
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 60000)
         INSERT INTO t(a, b) SELECT printf('row %d %s', i, substr('litestream replica wal frame page', 1 + i % 20)), randomblob(i % 120) FROM n;`,
    ]);
    const config = dir.join("litestream.yml");
    writeFileSync(config, `dbs:\n  - path: ${db}\n    replicas:\n      - type: file\n        path: ${dir.join("replica")}\n`);
    const child = spawn(litestream, ["replicate", "-config", config], { stdio: "ignore" });
    try {
      // Wait for the first snapshot and WAL segment (the first sync runs after 1 s).
      const deadline = Date.now() + 20_000;
      let files: string[] = [];
      while (Date.now() < deadline) {
        files = listFiles(dir.join("replica")).filter((f) => f.endsWith(".lz4"));
        if (files.some((f) => f.endsWith(".snapshot.lz4")) && files.some((f) => f.endsWith(".wal.lz4"))) break;
        await sleep(200);
      }
      await sleep(300); // let the last write finish
      files = listFiles(dir.join("replica")).filter((f) => f.endsWith(".lz4"));
      expect(files.length).toBeGreaterThanOrEqual(2);
      for (const file of files) {
        const frame = new Uint8Array(readFileSync(file));
        const { data, end } = lz4DecodeFrame(frame, 0, { file });
        expect(end).toBe(frame.length);
        if (file.endsWith(".snapshot.lz4")) expect(data.length).toBeGreaterThan(4194304);
        expect(Buffer.compare(decodeStreamed(frame, 65536), data)).toBe(0);
        expect(Buffer.compare(lz4EncodeFrame(data, { blockSize: 4194304 }), frame)).toBe(0);
      }
    } finally {
      // The temp dir goes away after this block: let Litestream finish writing first.
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once("exit", resolve));
        child.kill("SIGTERM");
        await exited;
      }
    }
  }, 40_000);
});

function listFiles(root: string): string[] {
  if (!existsSync(root)) return [];
  return readdirSync(root, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));
}
