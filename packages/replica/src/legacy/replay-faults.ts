/** The errors of a v0.3 WAL replay, each placed in the segment (key and byte within it) where the fault is. */
import { isWalError, type WalReplayEnd } from "@sqlrep/wal";
import { isReplicaError, ReplicaError } from "../errors.js";
import type { LegacySegmentInfo } from "./listing.js";
import { hex8 } from "./names.js";
import type { LegacyIndexPlan } from "./plan.js";

/** A WalError from a replay, placed in the segment (key and offset in it) where it happened. */
export function walFault(generation: string, plan: LegacyIndexPlan, err: unknown): unknown {
  if (isReplicaError(err) || !isWalError(err)) return err;
  const at = err.offset ?? 0;
  const { segment, within } = locate(plan, at);
  const code = err.code === "aborted" ? "aborted" : "corrupt";
  return new ReplicaError(code, `generation ${generation} WAL index ${hex8(plan.index)}: ${err.message}; segment ${segment.key} at byte ${within}`, {
    cause: err,
    key: segment.key,
    offset: within,
  });
}

/** A segment that does not start where the previous one ended: bytes missing (a gap) or overlapping. */
export function gapError(location: string, generation: string, plan: LegacyIndexPlan, s: number, expected: number): ReplicaError {
  const segment = plan.segments[s]!;
  const prev = plan.segments[s - 1]!;
  if (segment.offset > expected) {
    return new ReplicaError(
      "non-contiguous",
      `generation ${generation} WAL index ${hex8(plan.index)} in ${location}: bytes ${expected}…${segment.offset - 1} are missing (${prev.key} ends at ${expected}, the next segment ${segment.key} starts at ${segment.offset})`,
      { key: segment.key, offset: expected },
    );
  }
  return new ReplicaError(
    "corrupt",
    `generation ${generation} WAL index ${hex8(plan.index)} in ${location}: ${segment.key} starts at ${segment.offset}, inside ${prev.key} (which ends at ${expected})`,
    { key: segment.key, offset: segment.offset },
  );
}

/** An index whose replay stopped before its end (a broken chain, frames never committed, a torn frame) where more WAL was expected. */
export function brokenError(location: string, generation: string, plan: LegacyIndexPlan, windowSize: number, end: WalReplayEnd): ReplicaError {
  const at = end.position.offset;
  const stop = end.stop.offset;
  const { segment, within } = locate(plan, Math.min(stop, windowSize - 1));
  const why = isBreak(end)
    ? `the WAL checksum chain breaks (${end.stop.reason}) at offset ${stop}`
    : end.pendingFrames > 0
      ? `${end.pendingFrames} frames after offset ${at} are never committed`
      : `it ends inside a frame at offset ${stop}`;
  return new ReplicaError(
    "corrupt",
    `generation ${generation} WAL index ${hex8(plan.index)} in ${location}: ${why}, in segment ${segment.key} at byte ${within}; ${windowSize - at} bytes after the last valid commit cannot be applied`,
    { key: segment.key, offset: within },
  );
}

/** A stop that is not the end of the bytes (or a torn last frame): a broken chain. */
export function isBreak(end: WalReplayEnd): boolean {
  return end.stop.reason !== "end-of-file" && end.stop.reason !== "partial-frame";
}

/** The segment holding WAL byte `at` of an index, and the byte within it. */
export function locate(plan: LegacyIndexPlan, at: number): { segment: LegacySegmentInfo; within: number } {
  let segment = plan.segments[0]!;
  for (const s of plan.segments) if (s.offset <= at) segment = s;
  return { segment, within: at - segment.offset };
}

/** How a replay names an index in its errors. */
export function walLabel(generation: string, index: number): string {
  return `generation ${generation} WAL index ${hex8(index)}`;
}
