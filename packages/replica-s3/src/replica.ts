import type { S3Client } from "@aws-sdk/client-s3";
import { ObjectReplicaClient, s3Layout, type ReplicaClient, type ReplicaSpec } from "@sqlrep/replica";
import type { S3Spec } from "./spec.js";
import type { OperationListener } from "./operation-stats.js";
import { S3ObjectStore } from "./s3-store.js";
import { createS3Client, resolveS3Settings, type S3ClientOptions } from "./settings.js";

/** Options of {@link createS3ReplicaClient}. */
export interface S3ReplicaClientOptions extends S3ClientOptions {
  /** Use this client instead of building one (endpoint, region, credentials and client options then come from it). */
  client?: S3Client | undefined;
  /** The environment read for `LITESTREAM_*`/`AWS_*` settings (default `process.env`). */
  env?: NodeJS.ProcessEnv | undefined;
  /** Multipart part size (default 5 MiB, at least 5 MiB). */
  partSize?: number | undefined;
  /** Parts per upload in flight (default 5). */
  concurrency?: number | undefined;
  /** Keys per listing page (default 1000). */
  listPageSize?: number | undefined;
  /** Called after each counted request, for `litestream_replica_operation_total`/`_bytes`. */
  onOperation?: OperationListener | undefined;
}

/**
 * A `ReplicaClient` for an S3 replica spec (from an `s3://` URL or a config's `type: s3`
 * keys), in Litestream v0.5's S3 layout under the spec's path. Applications reach it
 * through `s3Backend` (`@sqlrep/replica-s3/backend`); tests may register it directly
 * (`registry.register("s3", createS3ReplicaClient)`). Its `store` is an {@link S3ObjectStore}
 * (`stats`, `destroy()`). Options override the spec's `partSize`/`concurrency`.
 */
export function createS3ReplicaClient(spec: ReplicaSpec, options: S3ReplicaClientOptions = {}): ReplicaClient {
  const s3 = spec as S3Spec;
  const settings = resolveS3Settings(s3, options.env);
  const store = new S3ObjectStore({
    client: options.client ?? createS3Client(settings, options),
    ownsClient: options.client === undefined,
    bucket: settings.bucket,
    prefix: settings.prefix,
    partSize: options.partSize ?? s3.partSize,
    concurrency: options.concurrency ?? s3.concurrency,
    listPageSize: options.listPageSize,
    retry: options.retry,
    onOperation: options.onOperation,
  });
  return new ObjectReplicaClient(store, s3Layout(settings.prefix));
}
