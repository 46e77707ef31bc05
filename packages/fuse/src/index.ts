// The public surface of @sqlrep/fuse. Nothing else is public.

export type {
  BackendChange,
  CommitTransaction,
  DatabasePaths,
  DatabasePosition,
  FuseBackend,
  LagState,
  RequestContext,
  WalRange,
} from "./backend.js";
export { errnoOf, FuseError, isFuseError, type FuseErrorCode, type FuseErrorOptions } from "./errors.js";
export {
  mount,
  type ApplyTransaction,
  type FuseLogger,
  type FuseMount,
  type FuseStats,
  type MountOptions,
  type WriteLockOptions,
} from "./mount.js";
export { nativeAddonPath } from "./native.js";
export { clearStaleMount, isMountPoint, type ClearStaleMountOptions } from "./stale-mount.js";
export { formatLag, formatPosition, HALT_LOCK_BYTE, LAG_NOT_SYNCED } from "./virtual-files.js";
