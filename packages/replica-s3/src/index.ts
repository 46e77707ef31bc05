/**
 * @sqlrep/replica-s3: the S3 replica client of sqlrep, over `@aws-sdk/client-s3`, for AWS
 * and any S3-compatible endpoint, in Litestream v0.5's object layout.
 */

/** The backend an application lists in its registry (also at `@sqlrep/replica-s3/backend`, without the SDK). */
export { parseS3Url, s3Backend, type S3Spec } from "./backend.js";
/** A `ReplicaClient` for an `s3` spec (what `s3Backend` loads). */
export { createS3ReplicaClient, type S3ReplicaClientOptions } from "./replica.js";
/** The `ObjectStore` of one bucket (full keys), with request counters; reusable on its own. */
export { S3ObjectStore, DEFAULT_CONCURRENCY, DEFAULT_PART_SIZE, type S3ObjectStoreOptions } from "./s3-store.js";
/** Spec + environment → client settings, and the client we build from them. */
export { createS3Client, customerKeyMd5, resolveS3Settings, type CredentialSource, type S3ClientOptions, type S3Settings } from "./settings.js";
/** S3-compatible providers recognized by endpoint, and the defaults Litestream v0.5 gives them. */
export { providerDefaults, providerOf, R2_CONCURRENCY, type ProviderDefaults, type S3Provider } from "./providers.js";
/** Storage class and server-side encryption of the objects a store writes. */
export type { S3ObjectParams } from "./object-params.js";
/** Request counters for `litestream_replica_operation_total` / `_bytes`. */
export { S3_OPERATIONS, type OperationCount, type OperationListener, type S3Operation, type S3OperationStats } from "./operation-stats.js";
/** Retry knobs, and the SDK retry strategy our clients use (usable on any S3Client). */
export { BackoffRetryStrategy, DEFAULT_RETRY, type RetryOptions } from "./retry.js";
/** Multipart limits and the part-size schedule. */
export { MAX_PARTS, MAX_PART_SIZE, MIN_PART_SIZE, MAX_CONCURRENCY } from "./limits.js";
export { partSizeOf } from "./upload.js";
/** The `litestream-timestamp` metadata codec (Go's RFC3339Nano). */
export { TIMESTAMP_METADATA_KEY, formatRFC3339Nano, parseRFC3339 } from "./timestamp.js";
/** SDK error → ReplicaError mapping, for code that calls the SDK next to a store. */
export { isTransient, toReplicaError } from "./s3-errors.js";
