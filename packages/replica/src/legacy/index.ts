/** Reading Litestream v0.3 replicas (`generations/<id>/snapshots|wal/`): listing, planning, restoring, importing into the v0.5 layout. */
export { isLegacyGeneration, parseLegacyName, segmentKey as legacySegmentKey, snapshotKey as legacySnapshotKey, type LegacyName } from "./names.js";
export {
  legacySnapshots,
  legacyUpdatedAt,
  listLegacyReplica,
  type LegacyGeneration,
  type LegacyListing,
  type LegacyListOptions,
  type LegacyLogger,
  type LegacySegmentInfo,
  type LegacySnapshotInfo,
} from "./listing.js";
export { checkLegacyTarget, planLegacyFromListing, planLegacyRestore, type LegacyIndexPlan, type LegacyRestorePlan, type LegacyRestoreTarget } from "./plan.js";
export { restoreLegacy, type LegacyRestoreOptions, type LegacyRestoreProgress, type LegacyRestoreResult } from "./restore.js";
export { importLegacy, type ImportLegacyOptions, type ImportLegacyResult } from "./import.js";
export { chooseRestoreLayout, detectReplicaLayouts, type ReplicaLayouts } from "./detect.js";
