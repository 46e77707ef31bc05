/**
 * What a replica backend brings to an application: its URL schemes, the config keys its
 * replicas accept, URL parsing, the identity of a location, and (loaded only when used)
 * its client. Adding a backend is a package exporting one of these and one line in an app.
 */
import { resolve } from "node:path";
import { ReplicaError } from "./errors.js";
import { createFileReplicaClient } from "./file-replica.js";
import type { ReplicaClient } from "./replica-client.js";
import type { ReplicaSpec } from "./replica-spec.js";

/** Builds a client for a spec of its type. */
export type ReplicaClientFactory = (spec: ReplicaSpec, context: BackendContext) => ReplicaClient;

/** What a client factory may read besides the spec. */
export interface BackendContext {
  /** The environment (credentials, endpoints: `LITESTREAM_*`, `AWS_*`, …). */
  env: NodeJS.ProcessEnv;
}

/** A config key of a backend's replicas: kebab-case in YAML, `field` in the spec. */
export interface BackendKey {
  /** How a config file spells the value (`string-list`: a YAML list of strings, e.g. NATS `root-cas`). */
  kind: "string" | "boolean" | "integer" | "byte-size" | "duration" | "string-list";
  /** One line: what it does (docs and messages). */
  doc: string;
  /** The spec field it sets (default: the key in camelCase). */
  field?: string;
  /** What the client uses when no one sets it (documentation; the spec stays without it). */
  default?: string | number | boolean;
  /** Bounds of an integer or a byte size. */
  min?: number;
  max?: number;
  /** The URL itself says it (S3's bucket): a config giving both `url` and the key is refused. */
  inUrl?: boolean;
  /** Also accepted once at the top level of a config for every replica of this backend that does not set it (Litestream v0.5). */
  global?: boolean;
  /** Keys of one group are taken together from one place (credentials: both from the replica or both from the top level). */
  group?: string;
}

/** A replica backend: {@link fileBackend} here, `s3Backend` in `@sqlrep/replica-s3/backend`, … */
export interface ReplicaBackend {
  /** The type name (`type:` in a config, `ReplicaClient.type`). */
  readonly type: string;
  /** URL schemes it serves (`s3`, …). */
  readonly schemes: readonly string[];
  /** The keys its replicas accept in a config beyond the common ones (`url`, `type`, `name`, `path`, `sync-interval`, …). */
  readonly keys: Readonly<Record<string, BackendKey>>;
  /** Its `path` is a local file system path (an app resolves it against its working directory). */
  readonly localPath?: boolean;
  /** A spec from a URL of one of its schemes; errors name the URL and what is wrong. */
  parseUrl(url: URL, text: string): ReplicaSpec;
  /**
   * A spec from URL text that is not a WHATWG URL (S3 access-point ARNs:
   * `s3://arn:aws:s3:…`), or undefined to have it parsed as a URL. Asked first.
   */
  parseText?(text: string): ReplicaSpec | undefined;
  /** Checks a spec assembled from a config and completes it; throws ReplicaError with the offending key as `key`. */
  finish?(spec: ReplicaSpec): ReplicaSpec;
  /** Where its files live, as one comparable string: two replicas with one location would overwrite each other. */
  location(spec: ReplicaSpec): string;
  /** The client factory, loaded on first use (a backend's SDK is imported only then). */
  load(): Promise<ReplicaClientFactory>;
}

/** The directory backend: `file:///dir` or a plain path, Litestream's `ltx/<level>/` layout. */
export const fileBackend: ReplicaBackend = {
  type: "file",
  schemes: ["file"],
  keys: {},
  localPath: true,
  parseUrl(url, text) {
    if (url.host !== "" && url.host !== "localhost") {
      throw new ReplicaError("invalid-url", `file URL ${text} must not name a host (use file:///absolute/path)`, { key: text });
    }
    rejectQuery(url, [], text);
    return { type: "file", path: decodeURIComponent(url.pathname), url: text };
  },
  finish(spec) {
    if (typeof spec.path !== "string" || spec.path === "") throw new ReplicaError("invalid-config", "a file replica needs a path (or a url)", { key: "path" });
    return spec;
  },
  location(spec) {
    return `file:${resolve(String(spec.path ?? ""))}`;
  },
  async load() {
    return (spec) => createFileReplicaClient(spec);
  },
};

/** Throws ReplicaError("invalid-url") for a query parameter not among `allowed`, naming it and the known ones. */
export function rejectQuery(url: URL, allowed: readonly string[], text: string): void {
  for (const name of url.searchParams.keys()) {
    if (!allowed.includes(name)) {
      throw new ReplicaError("invalid-url", `unknown query parameter ${JSON.stringify(name)} in replica URL ${text}` + (allowed.length ? ` (known: ${allowed.join(", ")})` : ""), {
        key: text,
      });
    }
  }
}

/** A boolean query parameter (`true`/`1`/`yes`/`on` and their opposites). */
export function parseBoolParam(value: string, name: string, text: string): boolean {
  if (/^(true|1|yes|on)$/i.test(value)) return true;
  if (/^(false|0|no|off)$/i.test(value)) return false;
  throw new ReplicaError("invalid-url", `query parameter ${name}=${value} in ${text} is not a boolean`, { key: text });
}

/** The spec field of a backend key: its `field`, else the key in camelCase. */
export function keyField(key: string, spec: BackendKey): string {
  return spec.field ?? key.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}
