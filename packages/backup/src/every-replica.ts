/** Running one task on every replica of a database at once, and the BackupError "sync" naming the replicas that failed. */
import type { LtxShipper } from "@sqlrep/shipper";
import { BackupError, describeError } from "./errors.js";

/** A replica whose task was rejected, and why. */
export interface ReplicaFailure {
  name: string;
  error: unknown;
}

/** The replicas whose results were rejected (`results` in the order of `shippers`). */
export function failedReplicas(shippers: readonly LtxShipper[], results: readonly PromiseSettledResult<unknown>[]): ReplicaFailure[] {
  return results.flatMap((r, i) => (r.status === "rejected" ? [{ name: shippers[i]!.name, error: r.reason as unknown }] : []));
}

/** BackupError "sync" for `path` naming every failed replica; `what` names the task when it is not the upload itself. */
export function replicasFailed(path: string, what: string | undefined, failed: readonly ReplicaFailure[]): BackupError {
  return new BackupError("sync", `${path}: ${what === undefined ? "" : `${what}: `}${failed.map((f) => `replica ${f.name}: ${describeError(f.error)}`).join("; ")}`, {
    path,
    replica: failed.length === 1 ? failed[0]!.name : undefined,
    retryable: true,
    cause: failed[0]!.error,
  });
}

/** `task` on every shipper at once; all must succeed (else {@link replicasFailed}). */
export async function onEveryReplica(path: string, shippers: readonly LtxShipper[], what: string, task: (s: LtxShipper) => Promise<number>): Promise<number[]> {
  const results = await Promise.allSettled(shippers.map(task));
  const failed = failedReplicas(shippers, results);
  if (failed.length > 0) throw replicasFailed(path, what, failed);
  return results.map((r) => (r as PromiseFulfilledResult<number>).value);
}
