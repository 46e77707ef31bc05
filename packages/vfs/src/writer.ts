// Write mode: one writer at a time, local commits into the durable buffer, and one
// level-0 LTX file per sync interval with database checksums. A replica that moved under
// local commits is a conflict: the commits are set aside, never written over it.
import { DatabaseChecksum, EMPTY_DATABASE_CHECKSUM, encodeLtx, lockPgno, pageChecksum } from "@sqlrep/ltx";
import type { LtxFileInfo } from "@sqlrep/replica";
import { isVfsError, VfsError } from "./errors.js";
import type { Logger } from "./logger.js";
import type { Timeline } from "./timeline.js";
import { hex, type Version } from "./version.js";
import { WriteBuffer, type BufferedCommit, type UploadIntent } from "./write-buffer.js";

/**
 * Where a single-writer lease plugs in (`LITESTREAM_LEASE_URL`). `beforeWrite` runs when a
 * connection starts a write transaction and must throw VfsError("busy") when another
 * writer holds the lease; `beforeUpload` runs before every upload (renew, check fencing).
 */
export interface WriteGuard {
  beforeWrite(signal?: AbortSignal): Promise<void>;
  beforeUpload(signal?: AbortSignal): Promise<void>;
}

/** No lease: conflicts are detected (the replica moved), not prevented. */
export const noWriteGuard: WriteGuard = Object.freeze({
  async beforeWrite() {},
  async beforeUpload() {},
});

/** Options of {@link Writer.open}. */
export interface WriterOptions {
  /** The durable buffer file. */
  bufferPath: string;
  guard?: WriteGuard | undefined;
  logger: Logger;
}

/** What an upload did. */
export interface UploadResult {
  txid: number;
  pages: number;
  bytes: number;
  commits: number;
}

/** The write side of an engine. */
export class Writer {
  /** Local commits not uploaded yet, oldest first. */
  private pending: BufferedCommit[] = [];
  private owner: object | undefined;
  /** Set once the replica moved under local commits; writes are refused from then on. */
  conflict: VfsError | undefined;
  /** The version equal to the replica at `remote.txid` before the first pending commit. */
  private remoteBase: Version | undefined;
  /** Pages uploaded since `remoteBase` (their bytes are the replica's now). */
  private readonly overlay = new Map<number, Uint8Array>();
  private remoteCommit = 0;
  private readonly guard: WriteGuard;

  private constructor(
    private readonly timeline: Timeline,
    private readonly buffer: WriteBuffer,
    private readonly logger: Logger,
    guard: WriteGuard | undefined,
  ) {
    this.guard = guard ?? noWriteGuard;
  }

  /**
   * Opens the buffer and brings what it holds back: commits made on top of the replica's
   * current TXID are replayed and will be uploaded; an upload that finished before a
   * crash is recognised as ours; commits the replica moved past are set aside (the file
   * is kept, its name logged) and the engine starts clean.
   */
  static async open(timeline: Timeline, options: WriterOptions): Promise<Writer> {
    const { buffer, state } = WriteBuffer.open(options.bufferPath);
    const writer = new Writer(timeline, buffer, options.logger, options.guard);
    const remote = timeline.remote;
    let commits = state.commits;
    let base = state.baseTxid;
    if (commits.length > 0 && state.intent !== undefined && remote.txid >= state.intent.txid && (await writer.isOurs(state.intent))) {
      writer.logger.info("an upload of the previous run had finished", { txid: hex(state.intent.txid), commits: state.intent.commits });
      commits = commits.slice(state.intent.commits);
      base = state.intent.txid;
    }
    if (commits.length > 0 && base !== remote.txid) {
      const aside = buffer.setAside();
      writer.logger.error("replica moved while local commits were not uploaded: they are set aside, not written over it", {
        buffer: options.bufferPath,
        aside,
        commits: commits.length,
        base: hex(base),
        replica: hex(remote.txid),
      });
      commits = [];
    }
    writer.resetBase();
    for (const c of commits) {
      await timeline.commitLocal(timeline.current, c.pages, c.commit, c.pageSize);
      writer.pending.push(c);
    }
    if (commits.length > 0) writer.logger.info("local commits of a previous run will be uploaded", { commits: commits.length, base: hex(remote.txid) });
    buffer.rewrite(remote.txid, remote.checksum ?? 0n, commits);
    timeline.remoteGuard = (files) => writer.checkRemote(files);
    timeline.localState = () => writer.localState();
    return writer;
  }

  /** Local commits waiting for an upload. */
  get pendingCommits(): number {
    return this.pending.length;
  }

  /** Whether `who` may start a write transaction on `base`; makes it the writer. */
  async acquire(who: object, base: Version, signal?: AbortSignal): Promise<void> {
    if (this.conflict !== undefined) throw this.conflict;
    if (this.owner !== undefined && this.owner !== who) throw new VfsError("busy", "another connection is writing to this database");
    if (base.counter !== this.timeline.current.counter) {
      throw new VfsError("stale-snapshot", "the database changed since this transaction started reading: retry the transaction");
    }
    this.owner = who;
    try {
      await this.guard.beforeWrite(signal);
    } catch (err) {
      this.owner = undefined;
      throw err;
    }
  }

  /** Ends `who`'s write transaction. */
  release(who: object): void {
    if (this.owner === who) this.owner = undefined;
  }

  /** Makes a transaction's pages durable (buffer, fsync) and publishes them as a new version. */
  async commit(base: Version, pages: Map<number, Uint8Array>, commit: number, pageSize: number): Promise<Version> {
    if (this.conflict !== undefined) throw this.conflict;
    const kept = new Map<number, Uint8Array>();
    for (const [pgno, data] of pages) if (pgno <= commit) kept.set(pgno, data);
    const record: BufferedCommit = { pages: kept, commit, pageSize, time: Date.now() };
    try {
      this.buffer.append(record);
    } catch (err) {
      throw new VfsError("buffer", `cannot write the local commit to ${this.buffer.path}: ${(err as Error).message}`, { file: this.buffer.path, cause: err });
    }
    if (this.pending.length === 0) this.resetBase();
    this.pending.push(record);
    return this.timeline.commitLocal(base, kept, commit, pageSize);
  }

  /** The newest local bytes of every page changed since the replica's TXID, and the local size. */
  localState(): { pages: Map<number, Uint8Array>; commit: number } | undefined {
    if (this.pending.length === 0) return undefined;
    const pages = new Map<number, Uint8Array>();
    for (const c of this.pending) for (const [p, d] of c.pages) pages.set(p, d);
    return { pages, commit: this.pending[this.pending.length - 1]!.commit };
  }

  /** Whether an upload is due: commits wait, no transaction is open, no conflict. */
  get due(): boolean {
    return this.pending.length > 0 && this.owner === undefined && this.conflict === undefined;
  }

  /**
   * Uploads every pending commit as one level-0 file at the next TXID, with database
   * checksums when the replica's state has one. Refuses (conflict) when a file at that
   * TXID exists already. Returns undefined when nothing was due.
   */
  async upload(signal?: AbortSignal): Promise<UploadResult | undefined> {
    if (!this.due) return undefined;
    const timeline = this.timeline;
    const client = timeline.client;
    const batch = this.pending.slice();
    const last = batch[batch.length - 1]!;
    const { commit, pageSize } = last;
    const merged = new Map<number, Uint8Array>();
    for (const c of batch) for (const [p, d] of c.pages) merged.set(p, d);
    for (const p of [...merged.keys()]) if (p > commit) merged.delete(p);
    const base = timeline.remote;
    const txid = base.txid + 1;
    const snapshot = base.txid === 0;
    const lock = lockPgno(pageSize);
    // Pages the database grew by but SQLite never wrote read as zeros: the file must carry
    // them, or a restore would find a hole.
    for (let p = snapshot ? 1 : this.remoteCommit + 1; p <= commit; p++) if (p !== lock && !merged.has(p)) merged.set(p, new Uint8Array(pageSize));

    await this.guard.beforeUpload(signal);
    for await (const f of client.ltxFiles(0, { seek: txid, signal })) {
      this.fail(`replica ${client.location} already has level 0 file ${hex(f.minTXID)}-${hex(f.maxTXID)} at the TXID this upload needs (${hex(txid)}): another writer`);
    }

    const tracks = snapshot || base.checksum !== undefined;
    let post: bigint | undefined;
    if (tracks && !snapshot) post = await this.checksumAfter(base.checksum!, merged, commit, lock);
    const pages = [...merged.entries()].sort((a, b) => a[0] - b[0]).map(([pgno, data]) => ({ pgno, data }));
    const header = { pageSize, commit, minTXID: txid, maxTXID: txid, timestamp: last.time, preApplyChecksum: snapshot || !tracks ? undefined : base.checksum };
    const bytes = encodeLtx(header, pages, { checksums: tracks, postApplyChecksum: post });
    if (snapshot) post = new DataView(bytes.buffer, bytes.byteOffset + bytes.length - 16, 8).getBigUint64(0);
    const intent: UploadIntent = { txid, checksum: post ?? 0n, timestamp: last.time, commits: batch.length };
    this.buffer.setIntent(base.txid, base.checksum ?? 0n, intent);
    const ref = { level: 0, minTXID: txid, maxTXID: txid };
    await client.writeLtxFile(ref, bytes, { timestamp: new Date(last.time), signal });
    const stored = await client.statLtxFile(ref, { signal });
    if (stored.size !== bytes.length) {
      this.fail(`the level 0 file ${hex(txid)} in ${client.location} is ${stored.size} bytes after this writer uploaded ${bytes.length}: another writer wrote the same TXID`);
    }
    const info: LtxFileInfo = { ...ref, size: bytes.length, createdAt: new Date(last.time) };
    const file = timeline.files.add(info, bytes);
    this.pending.splice(0, batch.length);
    await timeline.applyRemote([file], { pages: merged, stillLocal: this.pending.length > 0 });
    if (this.pending.length === 0) this.resetBase();
    else {
      for (const [p, d] of merged) this.overlay.set(p, d);
      this.remoteCommit = commit;
    }
    this.buffer.rewrite(txid, post ?? 0n, this.pending);
    this.logger.info("uploaded local commits", { txid: hex(txid), commits: batch.length, pages: pages.length, bytes: bytes.length, checksums: tracks });
    return { txid, pages: pages.length, bytes: bytes.length, commits: batch.length };
  }

  /**
   * Before a poll merges remote files: fine while nothing local waits; otherwise the
   * replica moved under local commits (another writer): set them aside, refuse writes.
   */
  checkRemote(files: readonly LtxFileInfo[]): void {
    if (this.pending.length === 0 && this.owner === undefined) return;
    const first = files[0]!;
    const aside = this.pending.length > 0 ? this.buffer.setAside() : undefined;
    const lost = this.pending.length;
    this.pending = [];
    this.resetBase();
    this.conflict = new VfsError(
      "conflict",
      `replica ${this.timeline.client.location} moved to TXID ${hex(files[files.length - 1]!.maxTXID)} (level ${first.level} file ${hex(first.minTXID)}-${hex(first.maxTXID)} was written by another writer) ` +
        (lost > 0 ? `while ${lost} local commit(s) were not uploaded; they are kept in ${aside}` : "during a write transaction") +
        "; writes are refused until the database is opened again",
      { file: aside },
    );
    this.logger.error("write conflict", { error: this.conflict.message });
    throw this.conflict;
  }

  close(): void {
    this.buffer.close();
  }

  /** Database checksum after the upload, from the one before it and the pages it changes. */
  private async checksumAfter(before: bigint, merged: Map<number, Uint8Array>, commit: number, lock: number): Promise<bigint> {
    const sum = new DatabaseChecksum(before);
    const old = async (pgno: number) => this.overlay.get(pgno) ?? (await this.timeline.readPage(this.remoteBase!, pgno));
    const olds = await Promise.all([...merged.keys()].map(async (p) => [p, p <= this.remoteCommit ? await old(p) : undefined] as const));
    for (const [p, prev] of olds) {
      if (p === lock) continue;
      const next = pageChecksum(p, merged.get(p)!);
      if (prev === undefined) sum.add(next);
      else sum.replace(pageChecksum(p, prev), next);
    }
    for (let p = commit + 1; p <= this.remoteCommit; p++) if (p !== lock) sum.remove(pageChecksum(p, await old(p)));
    return commit === 0 ? EMPTY_DATABASE_CHECKSUM : sum.value;
  }

  /** The replica's state is the current version (no pending commits): checksums start from it. */
  private resetBase(): void {
    if (this.remoteBase !== undefined) this.timeline.unpin(this.remoteBase);
    this.remoteBase = this.timeline.current;
    this.timeline.pin(this.remoteBase);
    this.overlay.clear();
    this.remoteCommit = this.remoteBase.commit;
  }

  private fail(message: string): never {
    const lost = this.pending.length;
    const aside = lost > 0 ? this.buffer.setAside() : undefined;
    this.pending = [];
    this.conflict = new VfsError(
      "conflict",
      `${message}; ${lost} local commit(s) were not uploaded and are kept in ${aside}; writes are refused until the database is opened again`,
      { file: aside },
    );
    this.logger.error("write conflict", { error: this.conflict.message });
    throw this.conflict;
  }

  /** Whether the level-0 file at `intent.txid` is the one a previous run uploaded. */
  private async isOurs(intent: UploadIntent): Promise<boolean> {
    try {
      for await (const f of this.timeline.client.ltxFiles(0, { seek: intent.txid })) {
        if (f.minTXID !== intent.txid || f.maxTXID !== intent.txid) return false;
        const file = await this.timeline.files.load(f);
        return file.header.timestamp === intent.timestamp && (intent.checksum === 0n || file.postApplyChecksum === intent.checksum);
      }
      return false;
    } catch (err) {
      if (isVfsError(err)) return false;
      throw err;
    }
  }
}
