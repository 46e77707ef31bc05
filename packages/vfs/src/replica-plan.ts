// Planning a restore of the replica for the timeline (at open, for time travel, to re-index)
// and turning the planner's faults into VfsErrors that say what could not be reached.
import { isReplicaError, planRestore, type ReplicaClient, type RestorePlan, type RestoreTarget } from "@sqlrep/replica";
import { isVfsError, VfsError } from "./errors.js";

/** The restore plan of `client` at `target`; every fault comes back as a VfsError. */
export async function planAt(client: ReplicaClient, target: RestoreTarget, signal?: AbortSignal): Promise<RestorePlan> {
  try {
    return await planRestore(client, target, { signal });
  } catch (err) {
    throw planFault(client, err, target);
  }
}

/** A planner fault as a VfsError: "time" when a timestamp cannot be reached, else "replica". */
export function planFault(client: ReplicaClient, err: unknown, target: RestoreTarget = {}): VfsError {
  if (isVfsError(err)) return err;
  if (isReplicaError(err, "txid-not-available") || isReplicaError(err, "no-backup")) {
    return new VfsError(target.timestamp !== undefined ? "time" : "replica", err.message, { cause: err });
  }
  if (isReplicaError(err)) {
    return new VfsError("replica", `cannot plan a restore of ${client.location}: ${err.message}`, { cause: err, retryable: err.retryable, file: err.key });
  }
  const reason = err instanceof Error ? err.message : String(err);
  return new VfsError("replica", `cannot plan a restore of ${client.location}: ${reason}`, { cause: err });
}
