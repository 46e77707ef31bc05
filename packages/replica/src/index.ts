/**
 * @sqlrep/replica — replicas in object storage in Litestream v0.5's layout: the ReplicaClient contract,
 * the directory backend and registry, restore, compaction and retention, and reading v0.3 replicas.
 */
export { ReplicaError, isReplicaError, throwIfAborted, type ReplicaErrorCode, type ReplicaErrorOptions } from "./errors.js";
export {
  isObjectInfo,
  readObject,
  type ListOptions,
  type ObjectEntry,
  type ObjectHead,
  type ObjectInfo,
  type ObjectStore,
  type ReadOptions,
  type SignalOption,
  type WriteOptions,
} from "./object-store.js";
export { checkReadRange } from "./read-range.js";
export { FileObjectStore } from "./file-store.js";
export { compareKeys, sortedListing } from "./sorted-listing.js";
export { formatRFC3339Nano, parseRFC3339 } from "./rfc3339.js";
export { MAX_COMPACTION_LEVEL, SNAPSHOT_LEVEL, cleanPrefix, directoryLayout, s3Layout, type ReplicaLayout } from "./layout.js";
export {
  ObjectReplicaClient,
  ltxKey,
  type LtxFileInfo,
  type LtxFileRef,
  type LtxFilesOptions,
  type ReplicaClient,
  type WriteLtxOptions,
} from "./replica-client.js";
export { parseReplicaUrl } from "./replica-url.js";
export type { ReplicaSpec } from "./replica-spec.js";
export { fileBackend, keyField, parseBoolParam, rejectQuery, type BackendContext, type BackendKey, type ReplicaBackend, type ReplicaClientFactory } from "./backend.js";
export { ReplicaRegistry } from "./registry.js";
export { createFileReplicaClient } from "./file-replica.js";
export { planFromFiles, planRestore, type RestorePlan, type RestoreTarget } from "./restore-plan.js";
export { restore, type RestoreOptions, type RestoreProgress, type RestoreResult } from "./restore.js";
export {
  describeReplicaClient,
  LayoutAwareSource,
  legacyTargetOf,
  LtxRestoreSource,
  type NamedReplicaClient,
  type RestoreRequest,
  type RestoreSource,
  type RestoreSummary,
  type SourceRestoreOptions,
} from "./restore-source.js";
export { chooseRestoreSource, restoreNewest, restoreSources, type RestoreNewestOptions, type SourceChoice } from "./restore-select.js";
export { RangeScheduler, DEFAULT_PARALLELISM, DEFAULT_RANGE_SIZE, type RangeSchedulerOptions } from "./ranged-source.js";
export { compactLevel, DEFAULT_LEVELS, type CompactLevelOptions, type LevelSchedule } from "./compaction.js";
export { RecentFilesClient, type RecentFilesOptions } from "./recent-files.js";
export { enforceRetention, type RetentionOptions } from "./retention.js";
export { replicaPosition, type ReplicaPosition } from "./position.js";
export * from "./legacy/index.js";
