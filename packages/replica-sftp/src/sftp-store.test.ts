// The SFTP store against a real sshd: Litestream's layout with mtimes, replicas Litestream
// wrote, create-only, pipelined writes, host-key checks, and a killed server (retryable, reconnects).
import { generateKeyPairSync } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync, chownSync } from "node:fs";
import { dirname, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { encodeLtx } from "@sqlrep/ltx";
import { isReplicaError, readObject, type ReplicaClient, type ReplicaError } from "@sqlrep/replica";
import { ltxFile } from "@sqlrep/replica/conformance";
import { sftpUnavailableReason, startSftpServer, type SftpServer } from "@sqlrep/testkit";
import { parseSftpUrl, type SftpSpec } from "./backend.js";
import { createSftpReplicaClient } from "./replica.js";
import { parseHostKey } from "./settings.js";
import { sftpOps } from "./sftp-ops.js";
import type { SftpObjectStore } from "./sftp-store.js";

const unavailable = sftpUnavailableReason();
const server: SftpServer | undefined = unavailable === undefined ? await startSftpServer() : undefined;
afterAll(() => server?.stop(), 30_000);

let run = 0;
/** A fresh replica directory under the user's home: its spec (key auth, host key checked) and local path. */
function fresh(extra: Partial<SftpSpec> = {}): { spec: SftpSpec; dir: string } {
  const rel = `store/run-${++run}`;
  return { spec: { ...parseSftpUrl(server!.url(rel)), keyPath: server!.keyPath, hostKey: server!.hostKey, ...extra }, dir: join(server!.home, rel) };
}

function client(spec: SftpSpec): ReplicaClient & Disposable {
  const c = createSftpReplicaClient(spec);
  return Object.assign(c, { [Symbol.dispose]: () => (c.store as SftpObjectStore).destroy() });
}

async function failure(promise: Promise<unknown>): Promise<ReplicaError> {
  const err = await promise.then(
    () => expect.unreachable("expected a ReplicaError"),
    (e: unknown) => e,
  );
  expect(isReplicaError(err), String(err)).toBe(true);
  return err as ReplicaError;
}

const ref = (level: number, min: number, max = min) => ({ level, minTXID: min, maxTXID: max });

describe.skipIf(server === undefined)(`sftp store against OpenSSH's sshd${unavailable ? ` (skipped: ${unavailable})` : ""}`, () => {
  it("writes Litestream's layout: <path>/ltx/<level>/<min>-<max>.ltx with the timestamp as mtime (whole seconds)", async () => {
    const { spec, dir } = fresh();
    using replica = client(spec);
    const stamp = new Date(Date.UTC(2024, 4, 6, 7, 8, 9, 345));
    const bytes = encodeLtx({ pageSize: 1024, commit: 1, minTXID: 7, maxTXID: 9, timestamp: stamp.getTime() }, [{ pgno: 1, data: new Uint8Array(1024).fill(7) }], {
      checksums: false,
    });
    await replica.writeLtxFile(ref(9, 7, 9), bytes);
    const file = join(dir, "ltx", "9", "0000000000000007-0000000000000009.ltx");
    expect(readFileSync(file).equals(bytes)).toBe(true);
    expect(statSync(file).mtimeMs).toBe(Math.floor(stamp.getTime() / 1000) * 1000);
    // No temp file left beside it.
    expect(readdirSync(dirname(file))).toEqual(["0000000000000007-0000000000000009.ltx"]);
    // The millisecond comes back from the header, which agrees with the file's second.
    expect((await replica.statLtxFile(ref(9, 7, 9))).createdAt.getTime()).toBe(stamp.getTime());
    const [listed] = await collect(replica.ltxFiles(9, { useMetadata: true }));
    expect(listed!.createdAt.getTime()).toBe(stamp.getTime());
  });

  it("reads a replica Litestream wrote (a plain file with its mtime), and keeps the file time when the header disagrees", async () => {
    const { spec, dir } = fresh();
    using replica = client(spec);
    const levelDir = join(dir, "ltx", "0");
    mkdirSync(levelDir, { recursive: true });
    const bytes = ltxFile(3, 3, 5, 1_700_000_123_456);
    const path = join(levelDir, "0000000000000003-0000000000000003.ltx");
    writeFileSync(path, bytes);
    utimesSync(path, 1_700_000_123, 1_700_000_123);
    writeFileSync(join(levelDir, "0000000000000004-0000000000000004.ltx"), ltxFile(4, 4, 1, 1_700_000_123_456));
    utimesSync(join(levelDir, "0000000000000004-0000000000000004.ltx"), 1_600_000_000, 1_600_000_000);
    const files = await collect(replica.ltxFiles(0, { useMetadata: true }));
    expect(files.map((f) => [f.minTXID, f.size, f.createdAt.getTime()])).toEqual([
      [3, bytes.length, 1_700_000_123_456],
      [4, expect.any(Number), 1_600_000_000_000],
    ]);
    expect(Buffer.compare(await readObject(replica.store, "ltx/0/0000000000000003-0000000000000003.ltx", { offset: 1000, length: 2000 }), bytes.subarray(1000, 3000))).toBe(0);
  });

  it("puts a path without a leading / under the login directory", async () => {
    const { spec } = fresh();
    using replica = client({ ...spec, path: `relative/run-${run}` });
    await replica.writeLtxFile(ref(0, 1), ltxFile(1, 1));
    expect(existsSync(join(server!.home, `relative/run-${run}`, "ltx/0/0000000000000001-0000000000000001.ltx"))).toBe(true);
    expect(replica.location).toBe(`sftp://${server!.user}@127.0.0.1:${server!.port}/~/relative/run-${run}`);
  });

  it("creates only when asked: a second create-only write fails with exists and leaves the first file", async () => {
    const { spec, dir } = fresh();
    using replica = client(spec);
    const first = ltxFile(1, 1, 2);
    await replica.writeLtxFile(ref(0, 1), first, { ifNotExists: true });
    const error = await failure(replica.writeLtxFile(ref(0, 1), ltxFile(1, 1, 3), { ifNotExists: true }));
    expect(error.code).toBe("exists");
    expect(error.key).toBe("ltx/0/0000000000000001-0000000000000001.ltx");
    expect(readFileSync(join(dir, "ltx/0/0000000000000001-0000000000000001.ltx")).equals(first)).toBe(true);
    expect(readdirSync(join(dir, "ltx/0"))).toHaveLength(1);
    await replica.deleteLtxFiles([ref(0, 1)]);
    await replica.writeLtxFile(ref(0, 1), ltxFile(1, 1, 3), { ifNotExists: true });
  });

  it("pipelines the writes of one file with concurrent-writes, one at a time without", async () => {
    const original = sftpOps.write;
    let inFlight = 0;
    let most = 0;
    sftpOps.write = async (...args) => {
      most = Math.max(most, ++inFlight);
      try {
        return await original(...args);
      } finally {
        inFlight--;
      }
    };
    try {
      const big = ltxFile(1, 1, 3000);
      for (const concurrentWrites of [true, false]) {
        most = 0;
        const { spec, dir } = fresh({ concurrentWrites });
        using replica = client(spec);
        await replica.writeLtxFile(ref(0, 1), big);
        expect(readFileSync(join(dir, "ltx/0/0000000000000001-0000000000000001.ltx")).equals(big)).toBe(true);
        if (concurrentWrites) expect(most).toBeGreaterThan(1);
        else expect(most).toBe(1);
      }
    } finally {
      sftpOps.write = original;
    }
  });

  it("accepts the server whose key is host-key, and refuses another with both fingerprints named", async () => {
    const { spec } = fresh();
    const other = generateKeyPairSync("ed25519").publicKey.export({ type: "spki", format: "der" }).subarray(-32);
    const blob = Buffer.concat([sshString("ssh-ed25519"), sshString(other)]);
    using replica = client({ ...spec, hostKey: `ssh-ed25519 ${blob.toString("base64")} someone-else` });
    const error = await failure(collect(replica.ltxFiles(0)));
    expect(error).toMatchObject({ code: "io", retryable: false, key: "host-key" });
    expect(error.message).toMatch(/the host key of 127\.0\.0\.1:\d+ is ssh-ed25519 SHA256:\S+, but host-key is ssh-ed25519 SHA256:\S+: refusing to connect/);
    expect(error.message).toContain(`SHA256:`);
    // The right key (also as a known_hosts line) connects.
    using good = client({ ...spec, hostKey: `[127.0.0.1]:${server!.port} ${server!.hostKey}` });
    expect(await collect(good.ltxFiles(0))).toEqual([]);
    expect(() => parseHostKey("ssh-ed25519 not-base64!")).toThrow(/host-key is not a public key line/);
    expect(() => parseHostKey(`ssh-rsa ${blob.toString("base64")}`)).toThrow(/host-key is not a public key line/);
  });

  it("fails clearly on wrong credentials (not retryable) and on an unreadable key-path", async () => {
    const { spec } = fresh({ keyPath: undefined, password: "wrong" });
    using replica = client(spec);
    const error = await failure(replica.writeLtxFile(ref(0, 1), ltxFile(1, 1)));
    expect(error).toMatchObject({ code: "io", retryable: false });
    expect(error.message).toContain(`authentication of user ${server!.user} failed (tried password)`);
    expect(() => createSftpReplicaClient({ ...spec, keyPath: "/nonexistent/id_ed25519" })).toThrow(/cannot read key-path \/nonexistent\/id_ed25519/);
  });

  it("an aborted write leaves no file and no temp file", async () => {
    const { spec, dir } = fresh();
    using replica = client(spec);
    const controller = new AbortController();
    const bytes = ltxFile(1, 1, 600);
    async function* slow(): AsyncIterable<Uint8Array> {
      yield bytes.subarray(0, 100_000);
      controller.abort();
      yield bytes.subarray(100_000);
    }
    const error = await failure(replica.writeLtxFile(ref(0, 1), slow(), { signal: controller.signal }));
    expect(error.code).toBe("aborted");
    await new Promise((r) => setTimeout(r, 100)); // the abandoned request's cleanup
    expect(readdirSync(join(dir, "ltx/0"))).toEqual([]);
  });

  describe("when the server dies", () => {
    it("fails the write in flight with a retryable error naming the file, and reconnects once it is back", async () => {
      const { spec } = fresh();
      using replica = client(spec);
      await replica.writeLtxFile(ref(0, 1), ltxFile(1, 1));
      const bytes = ltxFile(2, 2, 2000);
      async function* killedHalfway(): AsyncIterable<Uint8Array> {
        yield bytes.subarray(0, 500_000);
        await server!.kill();
        yield bytes.subarray(500_000);
      }
      const error = await failure(replica.writeLtxFile(ref(0, 2), killedHalfway()));
      expect(error).toMatchObject({ code: "io", retryable: true, key: "ltx/0/0000000000000002-0000000000000002.ltx" });
      // Down: a retryable connection error.
      expect(await failure(collect(replica.ltxFiles(0)))).toMatchObject({ code: "io", retryable: true });
      await server!.restart();
      await replica.writeLtxFile(ref(0, 2), bytes);
      expect((await collect(replica.ltxFiles(0))).map((f) => f.minTXID)).toEqual([1, 2]);
    }, 30_000);

    it("fails a read cut mid-stream with a retryable error naming the file", async () => {
      const { spec } = fresh();
      using replica = client(spec);
      await replica.writeLtxFile(ref(0, 1), ltxFile(1, 1, 4000));
      const body = await replica.openLtxFile(ref(0, 1));
      const error = await failure(
        (async () => {
          let first = true;
          for await (const _ of body) {
            if (first) await server!.kill();
            first = false;
          }
        })(),
      );
      expect(error).toMatchObject({ code: "io", retryable: true, key: "ltx/0/0000000000000001-0000000000000001.ltx" });
      await server!.restart();
      expect((await replica.statLtxFile(ref(0, 1))).size).toBeGreaterThan(4_000_000);
    }, 30_000);
  });

  it("deletes what exists, ignores what does not, and lists with a delimiter", async () => {
    const { spec, dir } = fresh();
    using replica = client(spec);
    for (const level of [0, 1, 9]) await replica.writeLtxFile(ref(level, 1), ltxFile(1, 1));
    const rolled = [];
    for await (const entry of replica.store.list("ltx/", { delimiter: "/" })) rolled.push(entry);
    expect(rolled).toEqual([{ prefix: "ltx/0/" }, { prefix: "ltx/1/" }, { prefix: "ltx/9/" }]);
    await replica.deleteLtxFiles([ref(0, 1), ref(0, 5), ref(1, 1)]);
    expect(readdirSync(join(dir, "ltx/0"))).toEqual([]);
    expect(readdirSync(join(dir, "ltx/9"))).toHaveLength(1);
    // A file the user may not delete fails the call, naming it.
    const locked = join(dir, "ltx/9");
    chownSync(locked, 0, 0);
    const error = await failure(replica.deleteLtxFiles([ref(9, 1)]));
    expect(error).toMatchObject({ code: "io", retryable: false, key: "ltx/9/0000000000000001-0000000000000001.ltx" });
    expect(error.message).toMatch(/cannot delete sftp:\/\/.*ltx\/9\/0000000000000001-0000000000000001\.ltx: PERMISSION_DENIED/);
  });
});

function sshString(value: string | Uint8Array): Buffer {
  const bytes = typeof value === "string" ? Buffer.from(value) : Buffer.from(value);
  const length = Buffer.alloc(4);
  length.writeUInt32BE(bytes.length);
  return Buffer.concat([length, bytes]);
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}
