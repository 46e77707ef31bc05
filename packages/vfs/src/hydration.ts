// Hydration: a background restore of the replica into a local file (the restore of
// @sqlrep/replica, at restore speed), after which reads go to the file and every later
// step of the replica is applied to it. With a path of its own the file persists with a
// `<path>.meta` (the decimal TXID, then our JSON line) and resumes after a restart; a file
// the replica no longer matches (reset, rewound) is discarded, saying so.
import { closeSync, existsSync, fstatSync, fsyncSync, ftruncateSync, openSync, readFileSync, readSync, renameSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { DatabaseChecksum, lockPgno, LtxReader, pageChecksum, tracksChecksums } from "@sqlrep/ltx";
import { planFromFiles, restore, SNAPSHOT_LEVEL, type LtxFileInfo } from "@sqlrep/replica";
import { listEveryLevel } from "./listing.js";
import { describeFault, fileLabel, type LtxFile } from "./file-table.js";
import type { Logger } from "./logger.js";
import type { Timeline } from "./timeline.js";
import { hex, type RemoteStep } from "./version.js";

/** Options of {@link Hydrator}. */
export interface HydrationOptions {
  /** The local file. */
  path: string;
  /** Keep the file (and resume from it) across restarts; otherwise it is removed at close. */
  persist: boolean;
  logger: Logger;
  /** Ranged reads in flight during the restore (default: the restore's 8). */
  parallelism?: number | undefined;
}

/** What `<path>.meta` holds. */
interface Meta {
  txid: number;
  pageSize: number;
  /** Database checksum of the file at `txid`. */
  checksum: bigint | undefined;
}

/** Hydration of one timeline. */
export class Hydrator {
  /** 0–100. */
  progress = 0;
  state: "starting" | "restoring" | "ready" | "failed" | "closed" = "starting";
  error: Error | undefined;
  private fd: number | undefined;
  private meta: Meta | undefined;
  private readonly queue: RemoteStep[] = [];
  private applying: Promise<void> | undefined;
  private readonly abort = new AbortController();
  /** Resolves when the first hydration (restore or resume) finished or failed. */
  readonly done: Promise<void>;

  constructor(
    private readonly timeline: Timeline,
    private readonly options: HydrationOptions,
  ) {
    timeline.onRemote((step) => {
      this.queue.push(step);
      if (this.state === "ready") this.drain();
    });
    this.done = this.run().catch((err: unknown) => {
      this.state = "failed";
      this.error = err instanceof Error ? err : new Error(String(err));
      this.options.logger.error("hydration failed: reads stay on the replica", { path: options.path, error: this.error.message });
    });
  }

  get path(): string {
    return this.options.path;
  }

  /** The TXID the file holds, when it is usable. */
  get txid(): number | undefined {
    return this.state === "ready" ? this.meta?.txid : undefined;
  }

  /** Stops; removes a non-persistent file. */
  async close(): Promise<void> {
    this.abort.abort();
    await this.done;
    await this.applying?.catch(() => undefined);
    this.state = "closed";
    this.timeline.hydrated = undefined;
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
    if (!this.options.persist) {
      for (const p of [this.options.path, `${this.options.path}.meta`, `${this.options.path}.tmp`]) rmSync(p, { force: true });
    }
  }

  private async run(): Promise<void> {
    const { path, logger } = this.options;
    const resumed = this.options.persist ? await this.tryResume() : false;
    if (!resumed) {
      const target = this.timeline.remote.txid;
      this.state = "restoring";
      const started = Date.now();
      const result = await restore(this.timeline.client, {
        output: path,
        overwrite: true,
        target: { txid: target },
        parallelism: this.options.parallelism,
        signal: this.abort.signal,
        onProgress: (p) => {
          if (p.bytesTotal > 0) this.progress = Math.min(99.9, (100 * p.bytesDone) / p.bytesTotal);
        },
      });
      this.meta = { txid: result.txid, pageSize: result.pageSize, checksum: result.databaseChecksum };
      this.writeMeta();
      logger.info("hydrated", { path, txid: hex(result.txid), bytes: result.bytes, seconds: (Date.now() - started) / 1000 });
    }
    this.fd = openSync(path, "r+");
    // Steps merged before the restore's TXID are in the file already.
    const at = this.meta!.txid;
    while (this.queue.length > 0 && this.queue[0]!.txid <= at) this.queue.shift();
    await this.catchUp();
    this.progress = 100;
    this.state = "ready";
    this.publish();
    this.drain();
  }

  /** Resumes from a file of an earlier run if the replica still continues it. */
  private async tryResume(): Promise<boolean> {
    const { path, logger } = this.options;
    const meta = readMeta(`${path}.meta`);
    if (meta === undefined || !existsSync(path)) return false;
    const discard = (why: string) => {
      logger.warn(`hydration file is stale, discarding it: ${why}`, { path, txid: hex(meta.txid) });
      for (const p of [path, `${path}.meta`]) rmSync(p, { force: true });
      return false;
    };
    if (meta.txid === -1) return discard("an earlier run stopped while applying changes to it");
    const remote = this.timeline.remote.txid;
    if (remote < meta.txid) return discard(`the replica's TXID ${hex(remote)} is below the file's ${hex(meta.txid)} (the replica was reset or rewound)`);
    if (meta.pageSize !== this.timeline.current.pageSize) return discard(`its page size ${meta.pageSize} is not the replica's ${this.timeline.current.pageSize}`);
    // Plan from the file's TXID with the restore planner: the file stands in as the only
    // base. Files starting at TXID 1 are full images; as links they start "at 2", which
    // lets the planner chain them after the file (newest page wins either way).
    const listing = await listEveryLevel(this.timeline.client, this.abort.signal);
    const standIn: LtxFileInfo = { level: SNAPSHOT_LEVEL, minTXID: 1, maxTXID: meta.txid, size: 0, createdAt: new Date(0) };
    const original = new Map<LtxFileInfo, LtxFileInfo>();
    const links = listing
      .filter((f) => f.level < SNAPSHOT_LEVEL && f.maxTXID > meta.txid && f.maxTXID <= remote)
      .map((f) => {
        const link = f.minTXID === 1 ? { ...f, minTXID: 2 } : f;
        original.set(link, f);
        return link;
      });
    let steps: LtxFileInfo[];
    try {
      steps = planFromFiles([standIn, ...links], { txid: remote })
        .files.slice(1)
        .map((f) => original.get(f)!);
    } catch {
      return discard(`no chain of LTX files leads from its TXID to the replica's ${hex(remote)}`);
    }
    if (steps.length > 0) {
      const first = await this.timeline.files.load(steps[0]!, this.abort.signal);
      if (first.header.minTXID === meta.txid + 1 && tracksChecksums(first.header) && meta.checksum !== undefined && first.header.preApplyChecksum !== meta.checksum) {
        return discard(`${first.label} continues TXID ${hex(meta.txid)} from a different database (pre-apply checksum mismatch)`);
      }
    }
    this.meta = meta;
    this.fd = openSync(path, "r+");
    logger.info("resuming hydration", { path, txid: hex(meta.txid), remote: hex(remote), files: steps.length });
    if (steps.length > 0) {
      const files = await Promise.all(steps.map((s) => this.timeline.files.load(s, this.abort.signal)));
      const last = files[files.length - 1]!;
      await this.apply({ files, txid: last.header.maxTXID, commit: last.header.commit });
    }
    closeSync(this.fd);
    this.fd = undefined;
    return true;
  }

  /** Applies queued steps, then tells the timeline the file's TXID. */
  private drain(): void {
    if (this.applying !== undefined || this.queue.length === 0 || this.state !== "ready") return;
    this.applying = this.catchUp()
      .then(() => this.publish())
      .catch((err: unknown) => {
        this.state = "failed";
        this.error = err instanceof Error ? err : new Error(String(err));
        this.timeline.hydrated = undefined;
        this.options.logger.error("hydration stopped: reads go to the replica again", { path: this.options.path, error: this.error.message });
      })
      .finally(() => {
        this.applying = undefined;
        if (this.queue.length > 0) this.drain();
      });
  }

  private async catchUp(): Promise<void> {
    while (this.queue.length > 0) {
      const step = this.queue.shift()!;
      if (step.txid <= this.meta!.txid) continue;
      await this.apply(step);
    }
  }

  /** Writes one step's pages into the file (newest file last), keeping its checksum. */
  private async apply(step: RemoteStep): Promise<void> {
    const fd = this.fd!;
    const meta = this.meta!;
    const { pageSize } = meta;
    if (this.timeline.hydrated !== undefined) this.timeline.hydrated.txid = undefined;
    writeMetaFile(`${this.options.path}.meta`, { ...meta, txid: -1 });
    const lock = lockPgno(pageSize);
    const sum = meta.checksum === undefined ? undefined : new DatabaseChecksum(meta.checksum);
    const oldCommit = Math.floor(sizeOf(fd) / pageSize);
    const old = new Uint8Array(pageSize);
    for (const file of step.files) {
      for await (const page of this.pagesOf(file)) {
        if (page.pgno === lock) continue;
        if (sum !== undefined) {
          if (page.pgno <= oldCommit && readSync(fd, old, 0, pageSize, (page.pgno - 1) * pageSize) === pageSize)
            sum.replace(pageChecksum(page.pgno, old), pageChecksum(page.pgno, page.data));
          else sum.add(pageChecksum(page.pgno, page.data));
        }
        writeAll(fd, page.data, (page.pgno - 1) * pageSize);
      }
    }
    if (sum !== undefined) {
      for (let p = step.commit + 1; p <= oldCommit; p++) {
        if (p !== lock && readSync(fd, old, 0, pageSize, (p - 1) * pageSize) === pageSize) sum.remove(pageChecksum(p, old));
      }
    }
    ftruncateSync(fd, step.commit * pageSize);
    fsyncSync(fd);
    this.meta = { pageSize, txid: step.txid, checksum: sum?.value };
    this.writeMeta();
  }

  /** The pages of one file, read whole and verified (file checksum) as they stream. */
  private async *pagesOf(file: LtxFile): AsyncIterable<{ pgno: number; data: Uint8Array }> {
    const client = this.timeline.client;
    const label = fileLabel(client, file.ref);
    try {
      const reader = new LtxReader(await client.openLtxFile(file.ref, { signal: this.abort.signal }), { file: label });
      for await (const page of reader) yield page;
      await reader.finish();
    } catch (err) {
      throw describeFault(err, label);
    }
  }

  private publish(): void {
    if (this.fd === undefined || this.meta === undefined) return;
    this.timeline.hydrated = { fd: this.fd, txid: this.meta.txid };
  }

  private writeMeta(): void {
    writeMetaFile(`${this.options.path}.meta`, this.meta!);
  }
}

function readMeta(path: string): Meta | undefined {
  if (!existsSync(path)) return undefined;
  const lines = readFileSync(path, "utf8").split("\n");
  const txid = Number(lines[0]);
  if (!Number.isSafeInteger(txid)) return undefined;
  try {
    const extra = JSON.parse(lines[1] ?? "{}") as { pageSize?: number; checksum?: string };
    return { txid, pageSize: extra.pageSize ?? 0, checksum: extra.checksum ? BigInt(`0x${extra.checksum}`) : undefined };
  } catch {
    return { txid, pageSize: 0, checksum: undefined };
  }
}

/** Litestream's `.meta` is the decimal TXID; our second line adds what a resume checks. */
function writeMetaFile(path: string, meta: Meta): void {
  const extra = JSON.stringify({ pageSize: meta.pageSize, checksum: meta.checksum?.toString(16).padStart(16, "0") });
  const temp = `${path}.tmp`;
  writeFileSync(temp, `${meta.txid}\n${extra}\n`);
  const fd = openSync(temp, "r");
  fsyncSync(fd);
  closeSync(fd);
  renameSync(temp, path);
}

function sizeOf(fd: number): number {
  return fstatSync(fd).size;
}

function writeAll(fd: number, bytes: Uint8Array, position: number): void {
  let done = 0;
  while (done < bytes.length) done += writeSync(fd, bytes, done, bytes.length - done, position + done);
}
