// The events a conformance child prints (one JSON object a line) and the checker over them:
// who held the lease with which epoch over which interval.

/** One line of a child's output. `t` is the machine's monotonic clock in ms, comparable across processes. */
export type ChildEvent =
  | { ev: "ready"; t: number }
  | { ev: "acquired"; t: number; epoch: number; id: string }
  | { ev: "busy"; t: number; code: string; primary?: string | undefined }
  | { ev: "act"; t: number; epoch: number }
  | { ev: "releasing"; t: number; epoch: number }
  | { ev: "released"; t: number; epoch: number }
  | { ev: "handed-off"; t: number; epoch: number; leaseId: string }
  | { ev: "stepped-down"; t: number; epoch: number; reason: string; message: string }
  | { ev: "primary"; t: number; hostname: string | null; epoch: number | null }
  | { ev: "status"; t: number; holding: boolean; aborted: boolean | null; epoch: number | null }
  | { ev: "error"; t: number; cmd: string; code: string; message: string }
  | { ev: "done"; t: number; cmd: string };

/** The machine's monotonic clock in ms: the same scale in every process of this machine. */
export function monotonicNow(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

/** One holder's tenure: from its acquisition to the last moment it acted (or stopped on purpose). */
export interface Tenure {
  holder: string;
  epoch: number;
  start: number;
  end: number;
  acts: number;
}

/**
 * Tenures from every child's events. A tenure ends at its last `act`, `releasing` or
 * `handed-off`; `stepped-down` does not count (a frozen holder reports it late, after
 * it has long stopped acting).
 */
export function tenures(events: ReadonlyMap<string, readonly ChildEvent[]>): Tenure[] {
  const out: Tenure[] = [];
  for (const [holder, list] of events) {
    let current: Tenure | undefined;
    for (const e of list) {
      if (e.ev === "acquired") {
        current = { holder, epoch: e.epoch, start: e.t, end: e.t, acts: 0 };
        out.push(current);
      } else if ((e.ev === "act" || e.ev === "releasing" || e.ev === "handed-off") && current && e.epoch === current.epoch) {
        current.end = Math.max(current.end, e.t);
        if (e.ev === "act") current.acts += 1;
      }
    }
  }
  return out.sort((a, b) => a.start - b.start);
}

/**
 * What is wrong with these tenures, if anything: two holders at once (overlapping
 * intervals), or an epoch that does not increase with time. Empty when all is well.
 */
export function exclusionViolations(list: readonly Tenure[]): string[] {
  const problems: string[] = [];
  for (let i = 1; i < list.length; i++) {
    const prev = list[i - 1]!;
    const next = list[i]!;
    if (next.start <= prev.end) {
      problems.push(
        `${next.holder} (epoch ${next.epoch}) acquired at ${next.start.toFixed(1)} while ${prev.holder} (epoch ${prev.epoch}) still acted until ${prev.end.toFixed(1)}`,
      );
    }
    if (next.epoch <= prev.epoch) problems.push(`epoch went from ${prev.epoch} (${prev.holder}) to ${next.epoch} (${next.holder}): not strictly increasing`);
  }
  return problems;
}
