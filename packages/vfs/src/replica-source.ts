/**
 * The one place the VFS turns a replica URL into a ReplicaClient: through a registry of
 * backends (file and S3 by default; an app passes its own list to serve more schemes).
 */
import { fileBackend, ReplicaRegistry, type ReplicaBackend, type ReplicaClient } from "@sqlrep/replica";
import { s3Backend } from "@sqlrep/replica-s3/backend";

/** The backends the VFS serves unless told otherwise. */
export const DEFAULT_BACKENDS: readonly ReplicaBackend[] = [fileBackend, s3Backend];

/** Options of {@link openReplicaClient}. */
export interface ReplicaSourceOptions {
  /** Environment read for credentials and endpoints (`LITESTREAM_*`, `AWS_*`); default `process.env`. */
  env?: NodeJS.ProcessEnv | undefined;
  /** The backends served (default {@link DEFAULT_BACKENDS}). */
  backends?: readonly ReplicaBackend[] | undefined;
}

/**
 * A client for a replica URL (`file:///dir`, a plain directory, `s3://bucket/prefix?endpoint=…`).
 * Only the URL's backend is loaded (the AWS SDK only for an s3 URL). Unknown schemes throw
 * `ReplicaError("unsupported-scheme")`, naming the URL and the schemes served.
 */
export async function openReplicaClient(url: string, options: ReplicaSourceOptions = {}): Promise<ReplicaClient> {
  const registry = new ReplicaRegistry(options.backends ?? DEFAULT_BACKENDS, { env: options.env ?? process.env });
  const spec = registry.parse(url);
  await registry.load([spec.type]);
  return registry.create(spec);
}

/** Releases what a client holds (the S3 client's keep-alive sockets). */
export function closeReplicaClient(client: ReplicaClient): void {
  const store = client.store as { destroy?: () => void };
  store.destroy?.();
}
