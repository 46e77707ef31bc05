/** The directory replica client: a local directory in Litestream's `ltx/<level>/` layout. */
import { ReplicaError } from "./errors.js";
import { FileObjectStore } from "./file-store.js";
import { directoryLayout } from "./layout.js";
import { ObjectReplicaClient, type ReplicaClient } from "./replica-client.js";
import type { ReplicaSpec } from "./replica-spec.js";

/** A replica in a local directory, in Litestream's `ltx/<level>/` layout. */
export function createFileReplicaClient(spec: ReplicaSpec | string): ReplicaClient {
  const path = typeof spec === "string" ? spec : spec.path;
  if (!path) throw new ReplicaError("invalid-config", "a file replica needs a path", { key: "path" });
  return new ObjectReplicaClient(new FileObjectStore(path), directoryLayout());
}
