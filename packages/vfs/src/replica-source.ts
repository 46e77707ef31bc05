// The one place that turns a replica URL into a ReplicaClient. The house issue (14) will
// change how backends register; only this module should need to follow it.
import { parseReplicaUrl, ReplicaRegistry, type ReplicaClient } from "@sqlrep/replica";

/** Options of {@link openReplicaClient}. */
export interface ReplicaSourceOptions {
  /** Environment read for credentials and endpoints (`LITESTREAM_*`, `AWS_*`); default `process.env`. */
  env?: NodeJS.ProcessEnv | undefined;
}

/**
 * A client for a replica URL (`file:///dir`, a plain directory, `s3://bucket/prefix?endpoint=…`).
 * The S3 package (and the AWS SDK) is loaded only for an s3 URL. Unknown schemes throw
 * the registry's `ReplicaError("unsupported-scheme")`, naming the URL.
 */
export async function openReplicaClient(url: string, options: ReplicaSourceOptions = {}): Promise<ReplicaClient> {
  // TODO(issue 14): take the backend list from the house registry once it exists, so every
  // scheme the CLI serves works here too; until then: file (built in) and s3.
  const spec = parseReplicaUrl(url);
  const registry = new ReplicaRegistry();
  if (spec.type === "s3") {
    const { createS3ReplicaClient } = await import("@sqlrep/replica-s3");
    registry.register("s3", (s) => createS3ReplicaClient(s, { env: options.env }));
  }
  return registry.create(spec);
}

/** Releases what a client holds (the S3 client's keep-alive sockets). */
export function closeReplicaClient(client: ReplicaClient): void {
  const store = client.store as { destroy?: () => void };
  store.destroy?.();
}
