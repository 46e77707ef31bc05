// The one place that turns a replica URL into a ReplicaClient. The house issue (14) will
// change how backends register; only this module should need to follow it.
import { ReplicaRegistry, type ReplicaClient } from "@sqlrep/replica";
import { createS3ReplicaClient } from "@sqlrep/replica-s3";

/** Options of {@link openReplicaClient}. */
export interface ReplicaSourceOptions {
  /** Environment read for credentials and endpoints (`LITESTREAM_*`, `AWS_*`); default `process.env`. */
  env?: NodeJS.ProcessEnv | undefined;
}

/**
 * A client for a replica URL (`file:///dir`, a plain directory, `s3://bucket/prefix?endpoint=…`).
 * Unknown schemes throw the registry's `ReplicaError("unsupported-scheme")`, naming the URL.
 */
export function openReplicaClient(url: string, options: ReplicaSourceOptions = {}): ReplicaClient {
  // TODO(issue 14): take the backend list from the house registry once it exists, so every
  // scheme the CLI serves works here too; until then: file (built in) and s3.
  const registry = new ReplicaRegistry().register("s3", (spec) => createS3ReplicaClient(spec, { env: options.env }));
  return registry.create(url);
}

/** Releases what a client holds (the S3 client's keep-alive sockets). */
export function closeReplicaClient(client: ReplicaClient): void {
  const store = client.store as { destroy?: () => void };
  store.destroy?.();
}
