/** Builds the `ReplicaClient` of a GCS spec: settings → SDK client → store → Litestream layout. */
import { IdempotencyStrategy, Storage, type StorageOptions } from "@google-cloud/storage";
import { directoryLayout, ObjectReplicaClient, type ReplicaClient, type ReplicaSpec } from "@sqlrep/replica";
import type { GsSpec } from "./spec.js";
import { GsObjectStore } from "./gs-store.js";
import { resolveGsSettings, type GsSettings } from "./settings.js";

/** Options of {@link createGsReplicaClient}. */
export interface GsReplicaClientOptions {
  /** The environment read for `STORAGE_EMULATOR_HOST` and `GOOGLE_APPLICATION_CREDENTIALS` (default `process.env`). */
  env?: NodeJS.ProcessEnv | undefined;
  /** The SDK's retry options (default: its own, with every request retried). */
  retryOptions?: StorageOptions["retryOptions"];
}

/**
 * A `ReplicaClient` for a `gs` spec (from `gs://BUCKET/PATH` or a config's `type: gs`),
 * in Litestream v0.5's layout for GCS: `<path>/ltx/<level>/<min>-<max>.ltx`.
 */
export function createGsReplicaClient(spec: ReplicaSpec, options: GsReplicaClientOptions = {}): ReplicaClient {
  const settings = resolveGsSettings(spec as GsSpec, options.env);
  const storage = createStorage(settings, options.retryOptions);
  const store = new GsObjectStore(storage.bucket(settings.bucket), `gs://${settings.bucket}${settings.prefix ? `/${settings.prefix}` : ""}`);
  return new ObjectReplicaClient(store, directoryLayout(settings.prefix));
}

/** The SDK client for resolved settings (an emulator endpoint, a key file, or ADC). */
export function createStorage(settings: GsSettings, retryOptions?: StorageOptions["retryOptions"]): Storage {
  return new Storage({
    ...(settings.emulatorHost ? { apiEndpoint: settings.emulatorHost, projectId: "sqlrep-emulator" } : {}),
    ...(settings.keyFilename ? { keyFilename: settings.keyFilename } : {}),
    // Our writes are create-only or overwrite the same bytes: safe to retry either way.
    retryOptions: { autoRetry: true, idempotencyStrategy: IdempotencyStrategy.RetryAlways, ...retryOptions },
    userAgent: "sqlrep",
  });
}
