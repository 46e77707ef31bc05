/** Runs are never closer than this, whatever `l0Retention` is. */
const MIN_SPACING_MS = 1000;
/** …nor further apart than this when several things become deletable one after another. */
const MAX_SPACING_MS = 5 * 60_000;

/**
 * When a replica's retention runs: only at moments from which something may have
 * become deletable, never on a timer of its own (each run lists every level). A
 * compaction into level 1 at time k makes the level-0 files it covers deletable by
 * k + l0Retention; a snapshot at t makes older ones deletable from t + snapshotRetention
 * on (and, with a retention shorter than the snapshot interval, at once). Requested
 * moments are rounded up to a grid of `l0Retention` (1 s … 5 min), so under sustained
 * writes, with a compaction every 30 s, retention runs about once per grid step, each
 * run late by less than one step; an idle replica has nothing requested and makes no
 * requests.
 */
export class RetentionPlan {
  private readonly spacing: number;
  private readonly due = new Set<number>();

  constructor(l0Retention: number) {
    this.spacing = Math.min(MAX_SPACING_MS, Math.max(MIN_SPACING_MS, l0Retention));
  }

  /** Something may become deletable at `at` (ms since the epoch). */
  request(at: number): void {
    this.due.add(Math.ceil(at / this.spacing) * this.spacing);
  }

  /** When the next run is due (ms since the epoch), undefined when none is wanted. */
  next(): number | undefined {
    let first: number | undefined;
    for (const at of this.due) if (first === undefined || at < first) first = at;
    return first;
  }

  /** A run started at `at`: it sees everything requested up to then. */
  started(at: number): void {
    for (const due of this.due) if (due <= at) this.due.delete(due);
  }

  /** A run failed: try again one step later. */
  failed(at: number): void {
    this.request(at + this.spacing);
  }
}
