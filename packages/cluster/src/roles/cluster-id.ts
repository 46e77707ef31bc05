/**
 * A node's cluster ID against the lease store's and a primary's: a node of one cluster
 * never leads or follows another (LiteFS #331); a node without one adopts its primary's.
 */
import type { PrimaryInfo } from "@sqlrep/lease";
import { ClusterError } from "../errors.js";
import type { DataDir } from "../store/data-dir.js";

/** The refusal when the lease store holds another cluster's ID than this node's (undefined: none). */
export function leaseClusterIdMismatch(remote: string | undefined, dataDir: DataDir): ClusterError | undefined {
  const local = dataDir.clusterId;
  if (remote !== undefined && local !== undefined && remote !== local) {
    return new ClusterError(
      "cluster-id-mismatch",
      `the lease belongs to cluster ${remote}, but this node (data directory ${dataDir.dir}) belongs to cluster ${local}. Give each cluster its own lease key; to move this node to cluster ${remote}, clear its data directory`,
    );
  }
  return undefined;
}

/** Checks the cluster ID a primary's stream carries: adopted when this node has none, another one refused. */
export function adoptClusterId(dataDir: DataDir, id: string | undefined, primaryNodeId: string, primary: PrimaryInfo): void {
  if (id === undefined) return;
  const local = dataDir.clusterId;
  if (local !== undefined && local !== id) {
    throw new ClusterError(
      "cluster-id-mismatch",
      `primary ${primary.hostname} (${primary.advertiseURL}, node ${primaryNodeId}) belongs to cluster ${id}, this node to cluster ${local}: refusing to replicate across clusters`,
    );
  }
  if (local === undefined) dataDir.setClusterId(id);
}
