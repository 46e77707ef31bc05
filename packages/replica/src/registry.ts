import { ReplicaError } from "./errors.js";
import { FileObjectStore } from "./file-store.js";
import { directoryLayout } from "./layout.js";
import { ObjectReplicaClient, type ReplicaClient } from "./replica-client.js";
import { parseReplicaUrl, type ReplicaSpec } from "./replica-url.js";

/** Builds a client for a spec of its type. */
export type ReplicaClientFactory = (spec: ReplicaSpec) => ReplicaClient;

/**
 * Maps replica types (URL schemes) to client factories. Backends are registered
 * explicitly by the application (`registry.register("s3", createS3ReplicaClient)`);
 * importing a package never registers anything. The directory client is built in.
 */
export class ReplicaRegistry {
  private readonly factories = new Map<string, ReplicaClientFactory>([["file", createFileReplicaClient]]);

  register(type: string, factory: ReplicaClientFactory): this {
    this.factories.set(type, factory);
    return this;
  }

  has(type: string): boolean {
    return this.factories.has(type);
  }

  /** A client for a URL, a plain directory path, or a spec. */
  create(target: string | ReplicaSpec): ReplicaClient {
    const spec = typeof target === "string" ? parseReplicaUrl(target) : target;
    const factory = this.factories.get(spec.type);
    if (!factory) {
      throw new ReplicaError("unsupported-scheme", `replica type ${JSON.stringify(spec.type)} is not available (available: ${[...this.factories.keys()].join(", ")})`, {
        key: spec.url,
      });
    }
    return factory(spec);
  }
}

/** A replica in a local directory, in Litestream's `ltx/<level>/` layout. */
export function createFileReplicaClient(spec: ReplicaSpec | string): ReplicaClient {
  const path = typeof spec === "string" ? spec : spec.path;
  if (!path) throw new ReplicaError("invalid-config", "a file replica needs a path");
  return new ObjectReplicaClient(new FileObjectStore(path), directoryLayout());
}
