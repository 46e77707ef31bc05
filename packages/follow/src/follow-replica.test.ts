/**
 * Tests of `followReplica` on a directory replica written from a real SQLite database: a
 * restore then batches reaching a reader kept open, a gap restored afresh in place, a
 * resume, and what it refuses (a file that is not a followed copy, a stray journal, no backup).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { createFileReplicaClient } from "@sqlrep/replica";
import { tempDir } from "@sqlrep/testkit";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { isFollowError } from "./errors.js";
import { followReplica } from "./follow-replica.js";
import type { FollowLogger } from "./options.js";
import { readFollowState } from "./state.js";
import { ReplicatedDatabase } from "./testing/replicated-database.js";

const tmp = tempDir("sqlrep-follow-replica-");
afterAll(() => tmp.remove());

let cases = 0;
function setup(pageSize?: number) {
  const dir = tmp.join(`case${++cases}`);
  mkdirSync(dir);
  const client = createFileReplicaClient(`${dir}/replica`);
  return { dir, client, copy: `${dir}/copy.db`, source: new ReplicatedDatabase(`${dir}/app.db`, client, pageSize) };
}

/** A logger keeping every line, warnings prefixed as litestream prints them. */
function lines(): FollowLogger & { lines: string[] } {
  const out: string[] = [];
  return { lines: out, info: (m) => out.push(m), warn: (m) => out.push(`warning: ${m}`) };
}

async function until(what: string, done: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * The copy's values as a reader in this process sees them; undefined while the follower
 * holds its lock. The reader must not wait for the lock (`timeout: 0`): better-sqlite3
 * waits synchronously, which would stop this event loop and with it the batch holding the lock.
 */
function valuesOf(reader: Database.Database): string[] | undefined {
  try {
    return reader.prepare("SELECT v FROM t ORDER BY id").pluck().all() as string[];
  } catch (err) {
    if ((err as { code?: string }).code === "SQLITE_BUSY") return undefined;
    throw err;
  }
}

describe("followReplica", () => {
  it("restores, applies each upload to a reader kept open, restores afresh in place across a gap, stops on abort and resumes", async () => {
    const { dir, client, copy, source } = setup();
    source.insert("a");
    await source.upload();
    const logger = lines();
    let stop = new AbortController();
    let following = followReplica(client, copy, { interval: 20, logger, signal: stop.signal });
    try {
      await until("the restore", () => existsSync(`${copy}-txid`));
      const reader = new Database(copy, { readonly: true, fileMustExist: true, timeout: 0 });
      expect(reader.pragma("journal_mode", { simple: true })).toBe("delete");
      source.insert("b");
      await source.upload();
      await until("TXID 2 in the copy", () => valuesOf(reader)?.length === 2);

      // TXID 3 never reaches level 0: only a snapshot at 4 covers it. The copy cannot go on file by file.
      source.insert("c");
      source.insert("d");
      await source.snapshot(4);
      await until("the fresh restore", () => valuesOf(reader)?.length === 4);
      expect(valuesOf(reader)).toEqual(["a", "b", "c", "d"]);
      expect(reader.pragma("integrity_check", { simple: true })).toBe("ok");
      expect(logger.lines).toContainEqual(expect.stringMatching(/^restarting from a fresh restore: no LTX file starts at TXID 0000000000000003/));
      // Logged once `<copy>-txid` is written, just after the batch readers see.
      await until("the fresh restore's line", () => logger.lines.some((l) => /^restored afresh from file replica "file" .*: TXID 0000000000000004$/.test(l)));

      stop.abort();
      expect(await following).toBe(4);
      expect(logger.lines.at(-1)).toBe("follow stopped at TXID 0000000000000004");
      expect((await readFollowState(copy))?.txid).toBe(4);

      // Run again on the copy: it resumes (no restore) and picks up what was uploaded meanwhile.
      source.insert("e");
      await source.upload();
      stop = new AbortController();
      following = followReplica(client, copy, { interval: 20, logger, signal: stop.signal });
      await until("TXID 5 after resuming", () => valuesOf(reader)?.length === 5);
      stop.abort();
      expect(await following).toBe(5);
      expect(logger.lines).toContainEqual(expect.stringMatching(/^resuming file replica "file" .* from TXID 0000000000000004, every 20 ms$/));
      expect(valuesOf(reader)).toEqual(source.values());
      reader.close();
      source.close();
    } finally {
      // A failed step must not leave the follower writing into a directory being removed.
      stop.abort();
      await following.catch(() => undefined);
    }
    // Nothing left beside the copy: no journal, no temp file of a fresh restore.
    expect(readdirSync(dir).sort()).toEqual(["app.db", "copy.db", "copy.db-txid", "replica"]);
  });

  it("follows a database of 65536-byte pages (stored as 1 in the header)", async () => {
    const { client, copy, source } = setup(65536);
    source.insert("a");
    await source.upload();
    const stop = new AbortController();
    const following = followReplica(client, copy, { interval: 20, signal: stop.signal });
    try {
      await until("the restore", () => existsSync(`${copy}-txid`));
      const reader = new Database(copy, { readonly: true, fileMustExist: true, timeout: 0 });
      source.insert("b");
      await source.upload();
      await until("TXID 2 in the copy", () => valuesOf(reader)?.length === 2);
      expect(reader.pragma("page_size", { simple: true })).toBe(65536);
      expect(reader.pragma("integrity_check", { simple: true })).toBe("ok");
      reader.close();
    } finally {
      stop.abort();
      await following.catch(() => undefined);
      source.close();
    }
    expect(await following).toBe(2);
  });

  it("refuses an output that is not a followed copy, and a journal beside a missing one, writing nothing", async () => {
    const { client, copy, source } = setup();
    source.insert("a");
    await source.upload();
    source.close();
    const signal = new AbortController().signal;
    writeFileSync(copy, "not a followed copy");
    const err = await followReplica(client, copy, { signal }).catch((e: unknown) => e);
    expect(isFollowError(err, "exists")).toBe(true);
    expect((err as Error).message).toContain(`${copy}-txid`);
    expect(readFileSync(copy, "utf8")).toBe("not a followed copy");

    const other = copy.replace("copy.db", "other.db");
    writeFileSync(`${other}-journal`, "a stray journal");
    const side = await followReplica(client, other, { signal }).catch((e: unknown) => e);
    expect(isFollowError(side, "exists")).toBe(true);
    expect((side as { file?: string }).file).toBe(`${other}-journal`);
    expect(existsSync(other)).toBe(false);
  });

  it("fails with gap on a replica holding no backup, leaving no file behind", async () => {
    const { dir, client, copy } = setup();
    const err = await followReplica(client, copy, { signal: new AbortController().signal }).catch((e: unknown) => e);
    expect(isFollowError(err, "gap")).toBe(true);
    expect((err as Error).message).toMatch(/^no backups left in file replica "file"/);
    expect(readdirSync(dir).filter((f) => f !== "replica" && f !== "app.db")).toEqual([]);
  });
});
