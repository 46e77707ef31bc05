/** The one call a program makes to keep a local read-only copy of a replica up to date: resume the copy, or restore it, then follow. */
import { existsSync } from "node:fs";
import type { NamedReplicaClient, ReplicaClient } from "@sqlrep/replica";
import { FollowError } from "./errors.js";
import { follow } from "./follow.js";
import { restoreNewCopy } from "./fresh-restore.js";
import type { FollowOptions } from "./options.js";
import { readFollowState, statePath } from "./state.js";

/** The poll interval when none is given: 1 s, litestream's `-follow-interval` default. */
export const DEFAULT_FOLLOW_INTERVAL = 1000;

/** Options of {@link followReplica}: {@link FollowOptions} without the copy and the replicas, and the interval optional. */
export type FollowReplicaOptions = Omit<FollowOptions, "output" | "replicas" | "interval"> & { interval?: number | undefined };

/**
 * Keeps `output` a read-only copy of the replica's newest state until `options.signal`
 * fires, and resolves with the last TXID applied. A copy followed before (it has its
 * `<output>-txid`) is resumed, after its checksum is compared with the replica's; with no
 * `output`, the newest state is restored first (beside it, renamed into place once
 * checked). Several replicas: a fresh restore takes the newest, a resumed copy follows the
 * first. An `output` that is not a followed copy, or a `-wal`/`-journal` beside a missing
 * one, is refused (`exists`) rather than overwritten.
 */
export async function followReplica(replica: ReplicaClient | readonly NamedReplicaClient[], output: string, options: FollowReplicaOptions): Promise<number> {
  const replicas = isReplicaList(replica) ? replica : [{ name: replica.type, client: replica }];
  if (replicas.length === 0) throw new FollowError("invalid-argument", `no replica to follow into ${output}`, { file: output });
  const run: FollowOptions = { ...options, output, replicas, interval: options.interval ?? DEFAULT_FOLLOW_INTERVAL };
  if (existsSync(output)) {
    const state = await readFollowState(output);
    if (!state)
      throw new FollowError("exists", `${output} exists and is not a followed copy (it has no ${statePath(output)}): remove it, or follow into another path`, { file: output });
    return follow({ replica: replicas[0]!.name, txid: state.txid, header: state.header, resumed: true }, run);
  }
  // SQLite would apply a journal or WAL left beside the path to the new copy.
  const side = ["-wal", "-journal"].map((suffix) => output + suffix).find((path) => existsSync(path));
  if (side) throw new FollowError("exists", `${side} exists beside ${output}, which does not: SQLite would apply it to the new copy; remove it first`, { file: side });
  const { start } = await restoreNewCopy(output, run);
  return follow(start, run);
}

function isReplicaList(replica: ReplicaClient | readonly NamedReplicaClient[]): replica is readonly NamedReplicaClient[] {
  return Array.isArray(replica);
}
