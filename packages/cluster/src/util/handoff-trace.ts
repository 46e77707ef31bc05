/**
 * Timestamps of a handoff's steps on both nodes, as debug log lines `handoff: <step>`
 * with a wall-clock `at` (ms, sub-ms resolution): lined up across processes they show
 * where a handoff's write gap goes. Silent unless the logger prints debug lines.
 */
import type { Logger } from "@sqlrep/shipper";

// Wall-clock ms at performance.now()'s resolution, comparable across processes
// (performance.timeOrigin can be off by the process's startup).
const clockBase = Date.now() - performance.now();

/** Logs one step of a handoff (`handoff: <step>`) at debug level, with the wall-clock time. */
export function traceHandoff(logger: Logger, step: string, fields: Record<string, unknown> = {}): void {
  logger.debug(`handoff: ${step}`, { at: Math.round((clockBase + performance.now()) * 1000) / 1000, ...fields });
}
