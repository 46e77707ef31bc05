// The replica as a sequence of versions: the restore plan's files indexed at open, new
// level-0/1 files merged in by polls, local commits added by write mode. Each version is
// a sequence number in a VersionIndex plus what SQLite must see of it (size, header with
// a change counter of its own); a version stays readable while anything may still read it.
import { readSync } from "node:fs";
import { lockPgno } from "@sqlrep/ltx";
import { isReplicaError, planRestore, type ReplicaClient, type RestorePlan, type RestoreTarget } from "@sqlrep/replica";
import { isVfsError, VfsError } from "./errors.js";
import { LtxFileTable, type LtxFile } from "./file-table.js";
import { filesAfter } from "./listing.js";
import { silentLogger, type Logger } from "./logger.js";
import { PageCache, pageKey } from "./page-cache.js";
import { NO_READ_AHEAD, PageFetcher, type PageFetcherOptions, type ReadAhead } from "./page-fetcher.js";
import { emptyHeader, patchHeader } from "./page-one.js";
import { planAt, planFault } from "./replica-plan.js";
import { hex, remoteOf, type RemoteGuard, type RemoteState, type RemoteStep, type Version } from "./version.js";
import { DATA, dataSlot, fileSlot, MISSING, VersionIndex, ZERO, zeroSlot } from "./version-index.js";
import { RetainedVersions } from "./version-retention.js";

/** Options of {@link Timeline.open}. */
export interface TimelineOptions {
  client: ReplicaClient;
  logger?: Logger | undefined;
  /** Bytes of decoded pages kept (default 64 MiB). */
  cacheBytes?: number | undefined;
  /** How long a superseded version stays readable for transactions that started on it (default 60 s). */
  retainMs?: number | undefined;
  /** An empty replica is a new, empty database (write mode) instead of an error. */
  allowEmpty?: boolean | undefined;
  fetcher?: PageFetcherOptions | undefined;
  /** Parallel header/index fetches while building an index (default 16). */
  indexParallelism?: number | undefined;
  signal?: AbortSignal | undefined;
}

const DEFAULT_CACHE = 64 * 1024 * 1024;
const DEFAULT_RETAIN_MS = 60_000;
const DEFAULT_PARALLELISM = 16;
/** Folding the index pays off once this many changes piled up. */
const FOLD_AT = 2048;

/** The live replica: versions, page reads, polls, time-travel views. */
export class Timeline {
  readonly files: LtxFileTable;
  readonly cache: PageCache;
  readonly fetcher: PageFetcher;
  readonly logger: Logger;
  current!: Version;
  remote: RemoteState = { txid: 0, timestamp: undefined, checksum: undefined };
  /** When the last poll succeeded (ms since the epoch); undefined before the first. */
  lastPollAt: number | undefined;
  /** A local copy of the database at `txid` (hydration); undefined txid while it changes. */
  hydrated: { fd: number; txid: number | undefined } | undefined;
  remoteGuard: RemoteGuard | undefined;
  /** The pages held locally (write mode) that a re-plan must keep: newest bytes per page, and the local size. */
  localState: (() => { pages: Map<number, Uint8Array>; commit: number } | undefined) | undefined;

  private live!: VersionIndex;
  private readonly kept: RetainedVersions;
  private readonly counterBase = (Math.random() * 0x7fff_0000) >>> 0;
  private liveCounters = 0;
  private viewCounters = 0;
  private readonly publishListeners: ((v: Version) => void)[] = [];
  private readonly remoteListeners: ((step: RemoteStep) => void)[] = [];
  private rebuilding: Promise<void> | undefined;
  private readonly zeros = new Map<number, Uint8Array>();

  private constructor(
    readonly client: ReplicaClient,
    private readonly options: TimelineOptions,
  ) {
    this.logger = options.logger ?? silentLogger;
    this.cache = new PageCache(options.cacheBytes ?? DEFAULT_CACHE);
    this.files = new LtxFileTable(client, { onPages: (file, pages) => this.warm(file, pages) });
    this.fetcher = new PageFetcher(this.files, this.cache, options.fetcher);
    this.kept = new RetainedVersions(options.retainMs ?? DEFAULT_RETAIN_MS);
  }

  /** Plans the latest restore, indexes its files and publishes the first version. */
  static async open(options: TimelineOptions): Promise<Timeline> {
    const timeline = new Timeline(options.client, options);
    let plan: RestorePlan | undefined;
    try {
      plan = await planRestore(options.client, {}, { signal: options.signal });
    } catch (err) {
      if (!isReplicaError(err, "no-backup")) throw planFault(options.client, err);
      if (!options.allowEmpty) {
        throw new VfsError("empty-replica", `replica ${options.client.location} holds no LTX files: there is no database to read yet`, { cause: err });
      }
    }
    const index = new VersionIndex();
    timeline.live = index;
    if (plan === undefined) {
      timeline.logger.info("replica is empty: starting a new database", { replica: options.client.location });
      timeline.current = { index, seq: 0, counter: timeline.nextCounter(), commit: 0, pageSize: 4096, txid: 0, timestamp: undefined, header: emptyHeader(), local: false };
    } else {
      const files = await timeline.indexPlan(index, plan);
      const last = files[files.length - 1]!;
      timeline.remote = remoteOf(last);
      timeline.current = await timeline.makeVersion(
        index,
        0,
        timeline.nextCounter(),
        last.header.commit,
        last.header.pageSize,
        last.header.maxTXID,
        new Date(last.header.timestamp),
        false,
      );
      timeline.logger.info("replica indexed", { replica: options.client.location, txid: last.header.maxTXID, files: files.length, pages: last.header.commit });
    }
    timeline.kept.publish(timeline.current, undefined);
    // The plan listed every level: as good as a poll.
    timeline.lastPollAt = Date.now();
    return timeline;
  }

  /** Called with each version that becomes current. */
  onPublish(listener: (v: Version) => void): void {
    this.publishListeners.push(listener);
  }

  /** Called after remote files were merged (polls, and uploads of ours). */
  onRemote(listener: (step: RemoteStep) => void): void {
    this.remoteListeners.push(listener);
  }

  /** The version SQLite knows by this change counter, if it is still kept. */
  byCounter(counter: number): Version | undefined {
    return this.kept.get(counter);
  }

  /** Keeps a version readable until `unpin`. */
  pin(v: Version): void {
    this.kept.pin(v);
  }

  /** Undoes one `pin`. */
  unpin(v: Version): void {
    this.kept.unpin(v);
  }

  /**
   * Page `pgno` of version `v` (pageSize bytes; page 1 unpatched). Reads local bytes, the
   * hydrated file when it is at the version's TXID, the cache, or the replica.
   */
  async readPage(v: Version, pgno: number, ahead: ReadAhead = NO_READ_AHEAD): Promise<Uint8Array> {
    if (pgno > v.commit) return this.zeroPage(v.pageSize);
    const slot = v.index.lookup(pgno, v.seq);
    if (slot.file === DATA) return slot.data!;
    if (slot.file === ZERO) return this.zeroPage(v.pageSize);
    if (slot.file === MISSING) {
      if (pgno === lockPgno(v.pageSize)) return this.zeroPage(v.pageSize);
      throw new VfsError("missing-page", `page ${pgno} of TXID ${hex(v.txid)} (database size ${v.commit} pages) is in no LTX file of ${this.client.location}`);
    }
    const hydrated = this.hydrated;
    if (hydrated !== undefined && hydrated.txid === v.txid) {
      const page = new Uint8Array(v.pageSize);
      const n = readSync(hydrated.fd, page, 0, v.pageSize, (pgno - 1) * v.pageSize);
      if (n === v.pageSize) return page;
    }
    const file = this.files.get(slot.file);
    try {
      return await this.fetcher.page(file, slot.entry, ahead);
    } catch (err) {
      if (!isVfsError(err, "missing-file")) throw err;
      // Retention removed a file the index points at: re-plan the same TXID and read again.
      if (v.index === this.live) await this.rebuild();
      const again = this.byCounter(v.counter);
      if (again === undefined || again.index === v.index) {
        throw new VfsError("snapshot-gone", `${err.message}; the read transaction's snapshot (TXID ${hex(v.txid)}) cannot be served any more: start a new transaction`, {
          file: err.file,
          cause: err,
        });
      }
      return this.readPage(again, pgno, ahead);
    }
  }

  /** Starts fetching pages of `v` in the background (scans); pages at hand are skipped. */
  prefetch(v: Version, pgnos: readonly number[]): void {
    const byFile = new Map<number, number[]>();
    for (const pgno of pgnos) {
      if (pgno > v.commit) continue;
      const slot = v.index.lookup(pgno, v.seq);
      if (slot.file < 0) continue;
      if (this.hydrated !== undefined && this.hydrated.txid === v.txid) continue;
      const list = byFile.get(slot.file);
      if (list === undefined) byFile.set(slot.file, [slot.entry]);
      else list.push(slot.entry);
    }
    for (const [file, entries] of byFile) this.fetcher.prefetchEntries(this.files.get(file), entries);
  }

  /**
   * One poll: level-0 files after the current TXID, bridged through level 1 where level 0
   * has a gap, each file contiguous with the last. Merges them into a new version.
   * Returns the files merged (none when the replica has not moved).
   */
  async poll(signal?: AbortSignal): Promise<LtxFile[]> {
    const from = this.remote.txid;
    const { chain, stranded } = await filesAfter(this.client, from, signal);
    if (chain.length === 0) {
      this.lastPollAt = Date.now();
      if (stranded) {
        // Levels 0 and 1 cannot bridge the gap (the VFS was behind for long): re-plan from any level.
        this.logger.info("level 0 and 1 cannot reach the replica's newest files: re-planning", { txid: hex(from) });
        await this.rebuild(true);
      }
      this.prune();
      return [];
    }
    this.remoteGuard?.(chain);
    const files = await this.files.loadAll(chain, this.options.indexParallelism ?? DEFAULT_PARALLELISM, signal);
    // The guard may have changed its mind while the indexes were fetched (an upload).
    if (this.remote.txid !== from) return [];
    await this.applyRemote(files);
    this.lastPollAt = Date.now();
    this.prune();
    return files;
  }

  /**
   * Merges remote files (contiguous after `remote.txid`) into a new version. With
   * `upload` (our own pages, just uploaded), the version keeps its change counter: only
   * where the pages are read from changes, and pages committed again since keep their
   * newer local bytes.
   */
  async applyRemote(files: readonly LtxFile[], upload?: { pages: ReadonlyMap<number, Uint8Array>; stillLocal: boolean }): Promise<Version> {
    const sameContent = upload?.pages;
    const prev = this.current;
    const index = this.live;
    const seq = index.begin();
    const last = files[files.length - 1]!;
    for (const file of files) {
      this.checkPageSize(file);
      for (let i = 0; i < file.pgnos.length; i++) {
        const pgno = file.pgnos[i]!;
        // After an upload, a page committed again since keeps its newer local bytes.
        if (sameContent !== undefined) {
          const now = index.lookup(pgno, prev.seq);
          if (now.file === DATA && now.data !== sameContent.get(pgno)) continue;
        }
        index.set(pgno, seq, fileSlot(file.id, i));
      }
    }
    const commit = sameContent !== undefined ? prev.commit : last.header.commit;
    if (sameContent === undefined) for (let p = commit + 1; p <= prev.commit; p++) index.set(p, seq, zeroSlot);
    this.remote = remoteOf(last);
    const counter = sameContent !== undefined ? prev.counter : this.nextCounter();
    const v =
      sameContent !== undefined
        ? { ...prev, seq, txid: last.header.maxTXID, timestamp: new Date(last.header.timestamp), local: upload!.stillLocal }
        : await this.makeVersion(index, seq, counter, commit, last.header.pageSize, last.header.maxTXID, new Date(last.header.timestamp), false);
    this.publish(v);
    const step: RemoteStep = { files: [...files], txid: last.header.maxTXID, commit: last.header.commit };
    for (const listener of this.remoteListeners) listener(step);
    return v;
  }

  /**
   * A new version with local pages on top of the current one (write mode): `pages`
   * replace, pages past `commit` are cut. `base` must carry the current change counter
   * (an upload in between changes where pages are read from, not the content).
   */
  async commitLocal(base: Version, pages: ReadonlyMap<number, Uint8Array>, commit: number, pageSize: number): Promise<Version> {
    const head = this.current;
    if (base.counter !== head.counter) throw new VfsError("stale-snapshot", "a local commit on a version that is not the newest");
    const index = this.live;
    const seq = index.begin();
    for (const [pgno, data] of pages) if (pgno <= commit) index.set(pgno, seq, dataSlot(data));
    for (let p = commit + 1; p <= head.commit; p++) index.set(p, seq, zeroSlot);
    const v = await this.makeVersion(index, seq, this.nextCounter(), commit, pageSize, head.txid, head.timestamp, true);
    this.publish(v);
    return v;
  }

  /**
   * A read-only view of the replica at a time or TXID (time travel): the same plan as
   * `litestream restore -timestamp`, indexed apart from the live versions.
   */
  async viewAt(target: RestoreTarget, signal?: AbortSignal): Promise<Version> {
    const plan = await planAt(this.client, target, signal);
    const index = new VersionIndex();
    const files = await this.indexPlan(index, plan);
    const last = files[files.length - 1]!;
    const counter = (this.counterBase + 0x8000_0000 + ++this.viewCounters) >>> 0;
    return this.makeVersion(index, 0, counter, last.header.commit, last.header.pageSize, last.header.maxTXID, new Date(last.header.timestamp), false);
  }

  /**
   * Re-plans the replica and indexes it afresh: at the current TXID (a planned file
   * vanished; the content stays, so does the change counter) or at the latest TXID.
   */
  rebuild(latest = false): Promise<void> {
    this.rebuilding ??= (async () => {
      try {
        const plan = await planAt(this.client, latest ? {} : { txid: this.remote.txid });
        const index = new VersionIndex();
        const files = await this.indexPlan(index, plan);
        const last = files[files.length - 1]!;
        const same = last.header.maxTXID === this.remote.txid;
        const local = same ? this.localState?.() : undefined;
        let commit = last.header.commit;
        let seq = 0;
        if (local !== undefined && local.pages.size > 0) {
          seq = index.begin();
          for (const [pgno, data] of local.pages) if (pgno <= local.commit) index.set(pgno, seq, dataSlot(data));
          for (let p = local.commit + 1; p <= commit; p++) index.set(p, seq, zeroSlot);
          commit = local.commit;
        }
        this.live = index;
        this.remote = remoteOf(last);
        const prev = this.current;
        const v: Version = same
          ? { ...prev, index, seq }
          : await this.makeVersion(index, seq, this.nextCounter(), commit, last.header.pageSize, last.header.maxTXID, new Date(last.header.timestamp), false);
        this.logger.info("replica re-indexed", { txid: hex(last.header.maxTXID), files: files.length });
        this.publish(v);
        if (!same) for (const listener of this.remoteListeners) listener({ files, txid: last.header.maxTXID, commit: last.header.commit });
      } finally {
        this.rebuilding = undefined;
      }
    })();
    return this.rebuilding;
  }

  /** Drops superseded versions past their grace time (unless pinned) and folds the index. */
  prune(now = Date.now()): void {
    this.kept.expire(now);
    const index = this.live;
    if (index.historySize < FOLD_AT) return;
    index.fold(this.kept.oldestSeq(index, this.current.index === index ? this.current.seq : index.seq));
  }

  /** The live page index (write mode reads local pages through it). */
  get liveIndex(): VersionIndex {
    return this.live;
  }

  private publish(v: Version): void {
    const prev = this.current;
    this.current = v;
    this.kept.publish(v, prev);
    for (const listener of this.publishListeners) listener(v);
  }

  private nextCounter(): number {
    return (this.counterBase + ++this.liveCounters) >>> 0;
  }

  private async makeVersion(
    index: VersionIndex,
    seq: number,
    counter: number,
    commit: number,
    pageSize: number,
    txid: number,
    timestamp: Date | undefined,
    local: boolean,
  ): Promise<Version> {
    const draft: Version = { index, seq, counter, commit, pageSize, txid, timestamp, header: emptyHeader(), local };
    if (commit === 0) return draft;
    const page1 = await this.readPage(draft, 1);
    return { ...draft, header: patchHeader(page1, counter, commit) };
  }

  /** Loads every planned file and writes its pages into the base layer, later files winning. */
  private async indexPlan(index: VersionIndex, plan: RestorePlan): Promise<LtxFile[]> {
    const files = await this.files.loadAll(plan.files, this.options.indexParallelism ?? DEFAULT_PARALLELISM, this.options.signal);
    for (const file of files) {
      this.checkPageSize(file, files[0]!.header.pageSize);
      for (let i = 0; i < file.pgnos.length; i++) index.setBase(file.pgnos[i]!, fileSlot(file.id, i));
    }
    // Pages a shrink cut off stay in earlier files' indexes: past the final size they are never read.
    return files;
  }

  private checkPageSize(file: LtxFile, expected = this.current?.commit ? this.current.pageSize : undefined): void {
    if (expected !== undefined && file.header.pageSize !== expected) {
      throw new VfsError("corrupt", `${file.label} has ${file.header.pageSize}-byte pages, the database ${expected}-byte pages`, { file: file.label });
    }
  }

  /** Pages of a file read whole go straight into the cache: recent changes are read soon. */
  private warm(file: LtxFile, pages: readonly { pgno: number; data: Uint8Array }[]): void {
    pages.forEach((p, i) => {
      if (file.pgnos[i] === p.pgno) this.cache.set(pageKey(file.id, i), p.data);
    });
  }

  private zeroPage(pageSize: number): Uint8Array {
    let z = this.zeros.get(pageSize);
    if (z === undefined) this.zeros.set(pageSize, (z = new Uint8Array(pageSize)));
    return z;
  }
}
