// The engine behind the VFS: one replica, its timeline of versions, the poll and upload
// loops, hydration and write mode, and the connections (sessions) reading it.
import type { ReplicaClient } from "@sqlrep/replica";
import { isVfsError, VfsError } from "./errors.js";
import { Hydrator } from "./hydration.js";
import { silentLogger, type Logger } from "./logger.js";
import type { PageFetcherOptions } from "./page-fetcher.js";
import { Session } from "./session.js";
import { Timeline } from "./timeline.js";
import type { Version } from "./version.js";
import { Writer, type WriteGuard } from "./writer.js";

/** Options of {@link Engine.open}. */
export interface EngineOptions {
  client: ReplicaClient;
  logger?: Logger | undefined;
  /** How often the replica is polled for new files (default 1 s, as Litestream). */
  pollIntervalMs?: number | undefined;
  /** Bytes of decoded pages cached (default 64 MiB). */
  cacheBytes?: number | undefined;
  /** How long a superseded version stays readable for transactions that began on it (default 60 s). */
  retainMs?: number | undefined;
  /** Write mode. Without it (or with `enabled: false`) connections are read-only until a pragma enables writes. */
  write?: WriteModeOptions | undefined;
  /** Background hydration into a local file. */
  hydration?: { path: string; persist: boolean; parallelism?: number | undefined } | undefined;
  fetcher?: PageFetcherOptions | undefined;
  signal?: AbortSignal | undefined;
}

/** Write-mode settings. */
export interface WriteModeOptions {
  /** Whether new connections may write (`LITESTREAM_WRITE_ENABLED`). */
  enabled: boolean;
  /** The durable buffer (`LITESTREAM_BUFFER_PATH`). */
  bufferPath: string;
  /** Upload period (`LITESTREAM_SYNC_INTERVAL`, default 1 s). */
  syncIntervalMs?: number | undefined;
  /** The single-writer lease, when one is configured. */
  guard?: WriteGuard | undefined;
}

/** A snapshot of what the engine is doing. */
export interface EngineStatus {
  txid: number;
  /** Seconds since the last successful poll; -1 before the first. */
  lagSeconds: number;
  pageSize: number;
  pages: number;
  sessions: number;
  cache: { bytes: number; hits: number; misses: number };
  requests: number;
  /** Bytes those ranged reads returned. */
  bytes: number;
  /** Most background (prefetch) reads in flight at once. */
  prefetchPeak: number;
  /** Ranged reads started ahead of need, and for a reader waiting. */
  prefetchRuns: number;
  demandRuns: number;
  pendingCommits: number;
  conflict: string | undefined;
  hydration: { path: string; progress: number; state: string; txid: number | undefined } | undefined;
}

/** One replica served to any number of connections. */
export class Engine {
  writer: Writer | undefined;
  hydrator: Hydrator | undefined;
  /** Bytes 18–19 of the replica's page 1 (1 = rollback journal, 2 = WAL), kept in what write mode uploads. */
  journalBytes: [number, number] = [1, 1];
  private readonly sessions = new Set<Session>();
  private readonly logger: Logger;
  private timers: NodeJS.Timeout[] = [];
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;
  private writerOpening: Promise<Writer> | undefined;

  private constructor(
    readonly timeline: Timeline,
    private readonly options: EngineOptions,
  ) {
    this.logger = options.logger ?? silentLogger;
  }

  /** Indexes the replica (plan + page indexes), recovers the write buffer, starts polling and hydration. */
  static async open(options: EngineOptions): Promise<Engine> {
    const logger = options.logger ?? silentLogger;
    const timeline = await Timeline.open({
      client: options.client,
      logger,
      cacheBytes: options.cacheBytes,
      retainMs: options.retainMs,
      allowEmpty: options.write?.enabled ?? false,
      fetcher: options.fetcher,
      signal: options.signal,
    });
    const engine = new Engine(timeline, options);
    if (timeline.current.commit > 0) {
      const page1 = await timeline.readPage(timeline.current, 1);
      engine.journalBytes = [page1[18]!, page1[19]!];
    }
    if (options.write?.enabled) await engine.writerReady();
    if (options.hydration !== undefined) engine.hydrator = new Hydrator(timeline, { ...options.hydration, logger });
    engine.startLoops();
    return engine;
  }

  /** A new connection. */
  session(options: { writeEnabled?: boolean } = {}): Session {
    if (this.closed) throw new VfsError("closed", "the engine is closed");
    const session = new Session(this, options.writeEnabled ?? this.options.write?.enabled ?? false);
    this.sessions.add(session);
    return session;
  }

  /** Connections open now. */
  get sessionCount(): number {
    return this.sessions.size;
  }

  /** The writer (opened on first use when a pragma enabled writes after the start). */
  async writerReady(): Promise<Writer> {
    return this.writer ?? this.openWriter();
  }

  /** Opens the write side (buffer recovery) if it is not open yet. */
  private openWriter(): Promise<Writer> {
    const write = this.options.write;
    if (write === undefined) return Promise.reject(new VfsError("read-only", "write mode is not available: no write buffer is configured"));
    this.writerOpening ??= this.serial(() => Writer.open(this.timeline, { bufferPath: write.bufferPath, guard: write.guard, logger: this.logger })).then((w) => (this.writer = w));
    return this.writerOpening;
  }

  /** Runs one poll now (tests; the loop runs them every poll interval). */
  pollNow(): Promise<void> {
    return this.serial(() => this.pollOnce());
  }

  /** Uploads pending local commits now (tests; the loop does it every sync interval). */
  syncNow(): Promise<void> {
    return this.serial(() => this.uploadOnce());
  }

  status(): EngineStatus {
    const t = this.timeline;
    const h = this.hydrator;
    return {
      txid: t.current.txid,
      lagSeconds: t.lastPollAt === undefined ? -1 : Math.floor((Date.now() - t.lastPollAt) / 1000),
      pageSize: t.current.pageSize,
      pages: t.current.commit,
      sessions: this.sessions.size,
      cache: { bytes: t.cache.size, hits: t.cache.hits, misses: t.cache.misses },
      requests: t.fetcher.requests,
      bytes: t.fetcher.bytes,
      prefetchPeak: t.fetcher.prefetchPeak,
      prefetchRuns: t.fetcher.prefetchRuns,
      demandRuns: t.fetcher.demandRuns,
      pendingCommits: this.writer?.pendingCommits ?? 0,
      conflict: this.writer?.conflict?.message,
      hydration: h === undefined ? undefined : { path: h.path, progress: h.progress, state: h.state, txid: h.txid },
    };
  }

  /** Called when a version becomes current. */
  onPublish(listener: (v: Version) => void): void {
    this.timeline.onPublish(listener);
  }

  /** Stops the loops, uploads what is pending (best effort), stops hydration. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers = [];
    for (const s of [...this.sessions]) s.close();
    await this.serial(() => this.uploadOnce()).catch(() => undefined);
    await this.hydrator?.close();
    this.writer?.close();
  }

  /** Forgets a closed connection. */
  sessionClosed(session: Session): void {
    this.sessions.delete(session);
  }

  private startLoops(): void {
    const every = (ms: number, fn: () => Promise<void>) => {
      const tick = () => {
        if (this.closed) return;
        this.serial(fn)
          .catch((err: unknown) => this.logger.warn("background step failed, will retry", { error: (err as Error).message }))
          .finally(() => {
            if (!this.closed) this.timers.push(setTimeout(tick, ms).unref());
          });
      };
      this.timers.push(setTimeout(tick, ms).unref());
    };
    every(this.options.pollIntervalMs ?? 1000, () => this.pollOnce());
    if (this.options.write !== undefined) every(this.options.write.syncIntervalMs ?? 1000, () => this.uploadOnce());
  }

  private async pollOnce(): Promise<void> {
    try {
      await this.timeline.poll(this.options.signal);
    } catch (err) {
      if (!isVfsError(err, "conflict")) throw err;
      // Local commits were set aside: show the replica as it is now.
      await this.timeline.rebuild(true);
    }
  }

  private async uploadOnce(): Promise<void> {
    const writer = this.writer;
    if (writer === undefined || !writer.due) return;
    try {
      await writer.upload(this.options.signal);
    } catch (err) {
      if (!isVfsError(err, "conflict")) throw err;
      await this.timeline.rebuild(true);
    }
  }

  /** Polls, uploads and writer recovery run one at a time. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }
}
