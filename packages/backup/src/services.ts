/** What every part of an engine shares: logger, metrics, the timer queue and the event sink. */
import type { Scheduler } from "@sqlrep/shipper";
import type { BackupEvents } from "./events.js";
import type { Logger } from "./logger.js";
import type { BackupMetrics } from "./metrics.js";

export interface EngineServices {
  readonly logger: Logger;
  readonly metrics: BackupMetrics;
  readonly scheduler: Scheduler;
  /** Whether a directory's databases want file-system events may have changed. */
  interestChanged(dir: string): void;
  emit<K extends keyof BackupEvents>(event: K, ...args: BackupEvents[K]): void;
}
