/** A `ReplicaClient` over SFTP: Litestream's `ltx/<level>/` layout under the replica's directory. */
import { directoryLayout, ObjectReplicaClient, type ReplicaClient, type ReplicaSpec } from "@sqlrep/replica";
import type { SftpSpec } from "./spec.js";
import { SftpConnection, type ConnectionOptions } from "./connection.js";
import { resolveSftpSettings } from "./settings.js";
import { SftpObjectStore } from "./sftp-store.js";

/** Options of {@link createSftpReplicaClient}. */
export interface SftpReplicaClientOptions extends ConnectionOptions {
  /** Unused (Litestream reads no environment variable for SFTP); accepted for the registry's factory shape. */
  env?: NodeJS.ProcessEnv | undefined;
  /** Requests in flight per read and per write (default 8). */
  window?: number | undefined;
}

/**
 * A `ReplicaClient` for an `sftp` spec (from an `sftp://` URL or a config's `type: sftp`
 * keys). The SSH connection opens on the first call and again after it breaks; its
 * `store` is an {@link SftpObjectStore} (`destroy()` closes the connection).
 */
export function createSftpReplicaClient(spec: ReplicaSpec, options: SftpReplicaClientOptions = {}): ReplicaClient {
  const settings = resolveSftpSettings(spec as SftpSpec);
  const connection = new SftpConnection(settings, options);
  const store = new SftpObjectStore({ connection, root: settings.root, location: settings.location, concurrentWrites: settings.concurrentWrites, window: options.window });
  return new ObjectReplicaClient(store, directoryLayout());
}
