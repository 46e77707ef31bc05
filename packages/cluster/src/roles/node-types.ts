/**
 * The options a cluster node takes and the shapes of what it reports (`.lag`, `/info`).
 */
import type { Leaser } from "@sqlrep/lease";
import type { Logger } from "@sqlrep/shipper";
import type { BackupOptions } from "../backup.js";
import type { Store } from "../store/store.js";

/** Options of {@link ClusterNode}. Durations in ms. */
export interface NodeOptions {
  readonly store: Store;
  /** The lease (`lease.type`): static, etcd, consul. Its hostname/advertise URL/candidate are this node's. */
  readonly leaser: Leaser;
  readonly logger: Logger;
  /** `http.auth-token` (or `LITEFS_AUTH_TOKEN`): sent to other nodes, required from them. */
  readonly authToken?: string | undefined;
  /** `lease.promote`: once caught up, a candidate asks the primary for the lease. */
  readonly promote?: boolean | undefined;
  /** `lease.reconnect-delay` (default 1000). */
  readonly reconnectDelay?: number | undefined;
  /** `lease.databases`: a replica replicates only these. */
  readonly databases?: readonly string[] | undefined;
  /** The `backup:` section: shipped while this node is primary. */
  readonly backup?: BackupOptions | undefined;
}

/** `.lag`'s state (the FUSE `LagState`). */
export type NodeLag = { kind: "primary" } | { kind: "syncing" } | { kind: "since"; timestamp: number };

/** What `/info` shows. */
export interface NodeInfo {
  clusterID: string | undefined;
  isPrimary: boolean;
  candidate: boolean;
  path: string;
  nodeID: string;
  primary: { hostname: string | undefined; advertiseURL?: string | undefined } | undefined;
  /** The URL of this node's HTTP proxy (`proxy:`), when one runs: how a replica's proxy finds the primary's. */
  proxyURL?: string | undefined;
}
