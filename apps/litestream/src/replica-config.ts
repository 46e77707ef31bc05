/**
 * A config file's replicas: the keys each backend declares (validated by the strict
 * schema, filled from the top level where a key is global), the spec they resolve to,
 * and the rule that no two replicas share one location.
 */
import { resolve } from "node:path";
import { boolean, byteSize, camelCase, duration, errorAt, integer, list, string, type Schema, type Shape } from "@sqlrep/config";
import { isReplicaError, keyField, parseReplicaUrl, type BackendKey, type ReplicaBackend, type ReplicaSpec } from "@sqlrep/replica";

/** One replica of a database: a name (for `-replica`), where it is, and its sync interval. */
export interface ReplicaConfig {
  name: string;
  spec: ReplicaSpec;
  syncInterval?: number;
}

/** What a replica entry of a config holds once read (camelCase keys; backend keys by their camelCase names). */
export interface ReplicaYaml {
  url?: string;
  type?: string;
  name?: string;
  path?: string;
  syncInterval?: number;
  readonly [key: string]: unknown;
}

/** The schema of a backend key's value. */
function keySchema(key: BackendKey): Schema<unknown> {
  const range = { ...(key.min !== undefined ? { min: key.min } : {}), ...(key.max !== undefined ? { max: key.max } : {}) };
  switch (key.kind) {
    case "string":
      return string();
    case "boolean":
      return boolean();
    case "integer":
      return integer(range);
    case "byte-size":
      return byteSize(range);
    case "duration":
      return duration();
    case "string-list":
      return list(string({ nonEmpty: true }));
  }
}

/**
 * The config keys the backends declare (every one on a replica, the `global` ones at the
 * top level), each optional. One key declared by two backends must be of one kind.
 */
export function backendKeyShape(backends: readonly ReplicaBackend[], where: "replica" | "top-level"): Shape {
  const shape: Record<string, Schema<unknown>> = {};
  const kinds = new Map<string, string>();
  for (const backend of backends) {
    for (const [name, key] of Object.entries(backend.keys)) {
      if (where === "top-level" && !key.global) continue;
      const kind = kinds.get(name);
      if (kind !== undefined && kind !== key.kind) throw new Error(`backends disagree on config key ${name}: ${kind} and ${key.kind}`);
      kinds.set(name, key.kind);
      shape[name] = keySchema(key).optional();
    }
  }
  return shape;
}

/** The names of the keys any backend declares (so the "not supported" list steps aside for them). */
export function declaredKeys(backends: readonly ReplicaBackend[]): Set<string> {
  return new Set(backends.flatMap((b) => Object.keys(b.keys)));
}

/** Resolves one replica entry: URL or `type`, its backend's keys (replica, else URL, else top level), paths. */
export function resolveReplica(
  r: ReplicaYaml,
  topLevel: Readonly<Record<string, unknown>>,
  cwd: string,
  backends: readonly ReplicaBackend[],
  expandHome: (path: string) => string,
): ReplicaConfig {
  const { backend, spec: parsed } = backendOf(r, backends);
  refuseForeignKeys(r, backend, backends);
  const spec: Record<string, unknown> = { ...parsed };
  const groups = new Map<string, boolean>();
  for (const key of Object.values(backend.keys)) {
    if (key.group !== undefined && !groups.has(key.group)) {
      groups.set(
        key.group,
        Object.entries(backend.keys).some(([n, k]) => k.group === key.group && given(r[camelCase(n)])),
      );
    }
  }
  for (const [name, key] of Object.entries(backend.keys)) {
    const field = keyField(name, key);
    const own = r[camelCase(name)];
    const top = key.global ? topLevel[camelCase(name)] : undefined;
    // Keys of a group come together from one place: the replica if it sets any of them.
    const value = key.group !== undefined && groups.get(key.group) ? own : (own ?? spec[field] ?? top);
    if (given(value)) spec[field] = value;
    else delete spec[field];
  }
  if (backend.localPath && typeof spec.path === "string") spec.path = resolve(cwd, expandHome(spec.path));
  let finished = spec as ReplicaSpec;
  try {
    if (backend.finish) finished = backend.finish(finished);
  } catch (err) {
    if (!isReplicaError(err)) throw err;
    const key = err.key !== undefined && (err.key === "path" || err.key in backend.keys) ? err.key : undefined;
    const missing = key !== undefined && !given(r[camelCase(key)]) && !given(spec[key === "path" ? "path" : keyField(key, backend.keys[key]!)]);
    throw errorAt(r, key, missing ? "missing-key" : "invalid-value", err.message, err);
  }
  const config: ReplicaConfig = { name: r.name ?? backend.type, spec: finished };
  return config;
}

/** The backend of an entry (its URL's scheme, else `type`, else file) and the spec its URL or path gives. */
function backendOf(r: ReplicaYaml, backends: readonly ReplicaBackend[]): { backend: ReplicaBackend; spec: ReplicaSpec } {
  if (r.url !== undefined) {
    let spec: ReplicaSpec;
    try {
      spec = parseReplicaUrl(r.url, backends);
    } catch (err) {
      throw errorAt(r, "url", "invalid-value", isReplicaError(err) ? err.message : String(err), err);
    }
    const backend = backends.find((b) => b.type === spec.type)!;
    if (r.type !== undefined && r.type !== spec.type) throw errorAt(r, "type", "conflict", `type ${r.type} does not match the URL's scheme (${spec.type})`);
    const inUrl = [
      "path",
      ...Object.entries(backend.keys)
        .filter(([, k]) => k.inUrl)
        .map(([n]) => n),
    ];
    for (const key of inUrl) {
      if (given(r[camelCase(key)])) throw errorAt(r, key, "conflict", `cannot specify url & ${key} for a replica: the URL already sets it`);
    }
    return { backend, spec };
  }
  const type = r.type ?? "file";
  const backend = backends.find((b) => b.type === type);
  if (backend === undefined) throw errorAt(r, "type", "invalid-value", unsupportedType(type, backends));
  if (r.path !== undefined && /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(r.path)) {
    throw errorAt(r, "path", "invalid-value", `path must not be a URL (${r.path}): use url: instead`);
  }
  return { backend, spec: r.path === undefined ? { type } : { type, path: r.path } };
}

/** A key another backend declares, set on this replica: it would be ignored, so it is refused. */
function refuseForeignKeys(r: ReplicaYaml, backend: ReplicaBackend, backends: readonly ReplicaBackend[]): void {
  for (const other of backends) {
    if (other === backend) continue;
    for (const name of Object.keys(other.keys)) {
      if (name in backend.keys || !given(r[camelCase(name)])) continue;
      const owners = backends.filter((b) => name in b.keys).map((b) => b.type);
      throw errorAt(r, name, "conflict", `${name} only applies to ${owners.join(", ")} replicas, and this one is a ${backend.type} replica`);
    }
  }
}

/** The URL parser's own wording for a type no backend serves. */
function unsupportedType(type: string, backends: readonly ReplicaBackend[]): string {
  try {
    parseReplicaUrl(`${type}://replica`, backends);
  } catch (err) {
    if (isReplicaError(err)) return err.message;
  }
  return `replica type ${JSON.stringify(type)} is not supported (supported: ${backends.map((b) => b.type).join(", ")})`;
}

function given(value: unknown): boolean {
  return value !== undefined && value !== "";
}

/** Where a replica's files live, as one comparable string (its backend's notion of location). */
export function replicaLocation(spec: ReplicaSpec, backends: readonly ReplicaBackend[]): string {
  const backend = backends.find((b) => b.type === spec.type);
  return backend !== undefined ? backend.location(spec) : `${spec.type}:${spec.url ?? spec.path ?? ""}`;
}

/**
 * Two replicas at one location (two databases, or one database under two names) would
 * write the same TXID names over each other: a restore then returns the other
 * database's pages. Refused, naming both entries (`fail` builds the error for the
 * second one, with the message).
 */
export function refuseSharedReplicas(
  dbs: readonly { path: string; replicas: readonly ReplicaConfig[] }[],
  backends: readonly ReplicaBackend[],
  entry: (db: number, replica: number) => string,
  fail: (db: number, replica: number, message: string) => Error,
): void {
  const owners = new Map<string, { entry: string; db: string; name: string }>();
  dbs.forEach((db, i) => {
    db.replicas.forEach((r, j) => {
      const key = replicaLocation(r.spec, backends);
      const first = owners.get(key);
      if (first !== undefined) {
        const whose = first.db === db.path ? `replica ${JSON.stringify(first.name)} of the same database` : `replica ${JSON.stringify(first.name)} of ${first.db}`;
        throw fail(
          i,
          j,
          `${entry(i, j)} (${JSON.stringify(r.name)} of ${db.path}) is the same replica location as ${first.entry} (${whose}): two writers on one replica overwrite each other's files; give each its own path`,
        );
      }
      owners.set(key, { entry: entry(i, j), db: db.path, name: r.name });
    });
  });
}
