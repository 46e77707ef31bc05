/**
 * @sqlrep/replica-gs: the Google Cloud Storage replica client of sqlrep, over
 * `@google-cloud/storage`, in Litestream v0.5's layout for GCS (`<path>/ltx/<level>/…`).
 */

/** The backend an application lists in its registry (also at `@sqlrep/replica-gs/backend`, without the SDK). */
export { gsBackend, parseGsUrl, type GsSpec } from "./backend.js";
/** A `ReplicaClient` for a `gs` spec (what `gsBackend` loads), and the SDK client it builds. */
export { createGsReplicaClient, createStorage, type GsReplicaClientOptions } from "./replica.js";
/** The `ObjectStore` of one bucket (full object names). */
export { GsObjectStore, TIMESTAMP_METADATA_KEY } from "./gs-store.js";
/** Spec + environment → settings. */
export { resolveGsSettings, type GsCredentialSource, type GsSettings } from "./settings.js";
/** SDK error → ReplicaError. */
export { isTransient, toReplicaError } from "./gs-errors.js";
