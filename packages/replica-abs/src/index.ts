/**
 * @sqlrep/replica-abs: the Azure Blob Storage replica client of sqlrep, over
 * `@azure/storage-blob`, in Litestream v0.5's layout for ABS (`<path>/ltx/<level>/…`).
 */

/** The backend an application lists in its registry (also at `@sqlrep/replica-abs/backend`, without the SDK). */
export { absBackend, absServiceUrl, parseAbsUrl, type AbsSpec } from "./backend.js";
/** A `ReplicaClient` for an `abs` spec (what `absBackend` loads), and the SDK client it builds. */
export { createAbsReplicaClient, createBlobServiceClient, DEFAULT_ABS_RETRY, type AbsReplicaClientOptions, type AbsRetryOptions } from "./replica.js";
/** The `ObjectStore` of one container (full blob names). */
export { AbsObjectStore, TIMESTAMP_METADATA_KEY, type AbsObjectStoreOptions } from "./abs-store.js";
/** Spec + environment → settings (Litestream's credential order). */
export { resolveAbsSettings, type AbsCredential, type AbsCredentialSource, type AbsSettings } from "./settings.js";
/** SDK error → ReplicaError. */
export { isTransient, toReplicaError } from "./abs-errors.js";
