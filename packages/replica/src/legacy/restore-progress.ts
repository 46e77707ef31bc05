/** Progress reporting of a v0.3 restore: every phase change, and downloads at most every 100 ms. */
import type { LegacyRestoreProgress } from "./restore-options.js";

/** Progress callbacks: every phase change, and downloads at most every 100 ms. */
export class Progress {
  total = 0;
  done = 0;
  private state: LegacyRestoreProgress = { phase: "plan", bytesDone: 0, bytesTotal: 0 };
  private last = 0;

  constructor(private readonly callback: ((p: LegacyRestoreProgress) => void) | undefined) {}

  set(p: { phase: LegacyRestoreProgress["phase"]; index?: number }): void {
    this.state = { ...p, bytesDone: this.done, bytesTotal: this.total };
    this.emit();
  }

  add(n: number): void {
    this.done += n;
    this.state.bytesDone = this.done;
    if (Date.now() - this.last >= 100) this.emit();
  }

  private emit(): void {
    this.last = Date.now();
    this.callback?.({ ...this.state });
  }
}
