// Test helpers: a writer committing small transactions to whichever node is primary, recording what was acknowledged.
import type { DatabasePosition } from "../store/position.js";
import { page } from "./pages.js";

/** Where a commit can go: a node (in-process or behind a control API). */
export interface CommitTarget {
  readonly name: string;
  /** Commits pages; rejects when the node is not primary. */
  commit(db: string, pages: { pgno: number; data: Uint8Array }[], commit: number): Promise<DatabasePosition>;
}

/** What a writer saw. */
export interface WriterReport {
  /** Every acknowledged commit, in order. */
  readonly acks: { at: number; node: string; position: DatabasePosition }[];
  /** The longest time between two acknowledged commits (ms), and when it started. */
  readonly maxGap: { ms: number; from: number };
  readonly refusals: number;
}

/**
 * Commits one- or two-page transactions to `db` as fast as `intervalMs` allows, trying
 * the targets in turn until one accepts. The database has `pages` pages; the first
 * transaction writes them all.
 */
export class Writer {
  private readonly acks: WriterReport["acks"] = [];
  private refusals = 0;
  private stopped = false;
  private loop: Promise<void> | undefined;
  private version = 1;

  constructor(
    private readonly targets: () => readonly CommitTarget[],
    private readonly db: string,
    private readonly pages = 64,
    private readonly intervalMs = 0,
  ) {}

  /** Starts writing. */
  start(): void {
    this.loop ??= this.run();
  }

  /** Stops and reports. */
  async stop(): Promise<WriterReport> {
    this.stopped = true;
    await this.loop;
    let maxGap = { ms: 0, from: 0 };
    for (let i = 1; i < this.acks.length; i++) {
      const gap = this.acks[i]!.at - this.acks[i - 1]!.at;
      if (gap > maxGap.ms) maxGap = { ms: gap, from: this.acks[i - 1]!.at };
    }
    return { acks: this.acks, maxGap, refusals: this.refusals };
  }

  /** Acknowledged commits so far. */
  get count(): number {
    return this.acks.length;
  }

  private async run(): Promise<void> {
    let turn = 0;
    while (!this.stopped) {
      const targets = this.targets();
      const target = targets[turn % Math.max(1, targets.length)];
      if (target === undefined) {
        await sleep(5);
        continue;
      }
      const v = ++this.version;
      const list =
        this.acks.length === 0
          ? Array.from({ length: this.pages }, (_, i) => ({ pgno: i + 1, data: page(i + 1, v) }))
          : [{ pgno: 1 + (v % this.pages), data: page(1 + (v % this.pages), v) }];
      try {
        const position = await target.commit(this.db, list, this.pages);
        this.acks.push({ at: performance.now(), node: target.name, position });
      } catch {
        this.refusals++;
        turn++;
        await sleep(1);
      }
      if (this.intervalMs > 0) await sleep(this.intervalMs);
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
