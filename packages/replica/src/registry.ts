/**
 * The replica backends an application serves, and the clients it builds with them:
 * URLs are parsed by the backend of their scheme, clients are built by factories that
 * are loaded only for the types asked for (so the S3 SDK loads only for S3 replicas).
 */
import { fileBackend, type BackendContext, type ReplicaBackend, type ReplicaClientFactory } from "./backend.js";
import { ReplicaError } from "./errors.js";
import { createFileReplicaClient } from "./file-replica.js";
import type { ReplicaClient } from "./replica-client.js";
import type { ReplicaSpec } from "./replica-spec.js";
import { parseReplicaUrl } from "./replica-url.js";

/**
 * The backends of an application (`new ReplicaRegistry([fileBackend, s3Backend])`).
 * Importing a backend package registers nothing; the application lists what it serves.
 * `load(types)` loads the factories of the types it will use; `create` is synchronous.
 */
export class ReplicaRegistry {
  readonly backends: readonly ReplicaBackend[];
  private readonly context: BackendContext;
  private readonly factories = new Map<string, ReplicaClientFactory>();

  constructor(backends: readonly ReplicaBackend[] = [fileBackend], context: Partial<BackendContext> = {}) {
    this.backends = backends.some((b) => b.type === "file") ? backends : [fileBackend, ...backends];
    this.context = { env: context.env ?? process.env };
    this.factories.set("file", (spec) => createFileReplicaClient(spec));
  }

  /** The backend of a type, if served. */
  backend(type: string): ReplicaBackend | undefined {
    return this.backends.find((b) => b.type === type);
  }

  /** A spec from a URL or plain directory path, parsed by the backend of its scheme. */
  parse(url: string): ReplicaSpec {
    return parseReplicaUrl(url, this.backends);
  }

  /** Loads the client factories of these types (every backend's when none are named). Unknown types are skipped: `create` names them. */
  async load(types?: Iterable<string>): Promise<this> {
    const wanted = types === undefined ? this.backends.map((b) => b.type) : [...new Set(types)];
    for (const type of wanted) {
      const backend = this.backend(type);
      if (backend !== undefined && !this.factories.has(type)) this.factories.set(type, await backend.load());
    }
    return this;
  }

  /** Uses `factory` for a type instead of its backend's (tests: other credentials, fault injection). */
  register(type: string, factory: ReplicaClientFactory): this {
    this.factories.set(type, factory);
    return this;
  }

  /** Whether clients of a type can be built now. */
  has(type: string): boolean {
    return this.factories.has(type);
  }

  /** A client for a URL, a plain directory path, or a spec. */
  create(target: string | ReplicaSpec): ReplicaClient {
    const spec = typeof target === "string" ? this.parse(target) : target;
    const factory = this.factories.get(spec.type);
    if (factory === undefined) {
      const served = this.backend(spec.type) !== undefined;
      throw new ReplicaError(
        "unsupported-scheme",
        served
          ? `replica type ${JSON.stringify(spec.type)} is not loaded (call load() with it first)`
          : `replica type ${JSON.stringify(spec.type)} is not available (available: ${this.backends.map((b) => b.type).join(", ")})`,
        { key: spec.url },
      );
    }
    return factory(spec, this.context);
  }
}
