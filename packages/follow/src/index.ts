/**
 * @sqlrep/follow: keep a local read-only SQLite copy up to date with a replica, each batch
 * of new LTX files applied in place as one SQLite transaction (litestream's `restore -f`).
 */
export { FollowError, isFollowError, type FollowErrorCode, type FollowErrorOptions } from "./errors.js";
export { silentFollowLogger, type FollowLogger, type FollowOptions, type FollowStart } from "./options.js";
export { follow } from "./follow.js";
export { DEFAULT_FOLLOW_INTERVAL, followReplica, type FollowReplicaOptions } from "./follow-replica.js";
export { followVerify, restoreFollowable, type FollowableRestore, type FreshRestoreOptions } from "./fresh-restore.js";
export { readFollowState, removeFollowState, statePath, writeFollowState, type FollowState } from "./state.js";
