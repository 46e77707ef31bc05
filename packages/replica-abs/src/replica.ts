/** Builds the `ReplicaClient` of an ABS spec: settings → SDK client → store → Litestream layout. */
import { AnonymousCredential, BlobServiceClient, StorageSharedKeyCredential, type StoragePipelineOptions } from "@azure/storage-blob";
import { directoryLayout, ObjectReplicaClient, type ReplicaClient, type ReplicaSpec } from "@sqlrep/replica";
import { AbsObjectStore } from "./abs-store.js";
import type { AbsSpec } from "./spec.js";
import { resolveAbsSettings, type AbsSettings } from "./settings.js";

/** Retries of every request (the SDK's exponential policy). */
export interface AbsRetryOptions {
  /** Attempts per request (default 5). */
  maxTries?: number;
  /** First backoff (default 200 ms), doubled per attempt… */
  retryDelayInMs?: number;
  /** …up to this (default 5 000 ms). */
  maxRetryDelayInMs?: number;
  /** One attempt's time limit (default: the SDK's, none for uploads of unknown size). */
  tryTimeoutInMs?: number;
}

/** Options of {@link createAbsReplicaClient}. */
export interface AbsReplicaClientOptions {
  /** The environment read for `LITESTREAM_AZURE_*` (default `process.env`). */
  env?: NodeJS.ProcessEnv | undefined;
  retry?: AbsRetryOptions | undefined;
}

/** The default retry policy: quick backoff, five attempts (Litestream: 10 attempts from 1 s). */
export const DEFAULT_ABS_RETRY: Required<Omit<AbsRetryOptions, "tryTimeoutInMs">> = { maxTries: 5, retryDelayInMs: 200, maxRetryDelayInMs: 5_000 };

/**
 * A `ReplicaClient` for an `abs` spec (from `abs://ACCOUNT@CONTAINER/PATH` or a config's
 * `type: abs` keys), in Litestream v0.5's layout for ABS: `<path>/ltx/<level>/<min>-<max>.ltx`.
 * The container must exist (Litestream does not create it either).
 */
export function createAbsReplicaClient(spec: ReplicaSpec, options: AbsReplicaClientOptions = {}): ReplicaClient {
  const settings = resolveAbsSettings(spec as AbsSpec, options.env);
  const service = createBlobServiceClient(settings, options.retry);
  const account = settings.credential.kind === "shared-key" ? `${settings.credential.accountName}@` : "";
  const store = new AbsObjectStore({
    container: service.getContainerClient(settings.container),
    location: `abs://${account}${settings.container}${settings.prefix ? `/${settings.prefix}` : ""}`,
  });
  return new ObjectReplicaClient(store, directoryLayout(settings.prefix));
}

/** The SDK's service client for resolved settings (shared key, or the SAS appended to the URL). */
export function createBlobServiceClient(settings: AbsSettings, retry: AbsRetryOptions = {}): BlobServiceClient {
  const pipeline: StoragePipelineOptions = {
    retryOptions: { ...DEFAULT_ABS_RETRY, ...retry },
    userAgentOptions: { userAgentPrefix: "sqlrep" },
  };
  if (settings.credential.kind === "sas") {
    return new BlobServiceClient(`${settings.serviceUrl}?${settings.credential.token}`, new AnonymousCredential(), pipeline);
  }
  const credential = new StorageSharedKeyCredential(settings.credential.accountName, settings.credential.accountKey);
  return new BlobServiceClient(settings.serviceUrl, credential, pipeline);
}
