/**
 * Replica URLs: `file:///dir`, a plain directory path, or any scheme a registered backend
 * serves (`s3://bucket/prefix?…`). Unknown schemes are errors that say which are served.
 */
import { fileBackend, type ReplicaBackend } from "./backend.js";
import { ReplicaError } from "./errors.js";
import type { ReplicaSpec } from "./replica-spec.js";

/** Schemes Litestream knows that no backend here serves yet: a clear error, not a guess. */
const KNOWN_ELSEWHERE = ["gs", "gcs", "abs", "sftp", "nats", "webdav", "webdavs", "oss"];

/**
 * Parses a replica URL or a plain directory path with the backends given (the directory
 * backend when none are). Unknown schemes and query parameters are errors that name them.
 */
export function parseReplicaUrl(text: string, backends: readonly ReplicaBackend[] = [fileBackend]): ReplicaSpec {
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//.exec(text)?.[1]?.toLowerCase();
  if (scheme === undefined) {
    if (text.trim() === "") throw new ReplicaError("invalid-url", "empty replica URL");
    return { type: "file", path: text, url: text };
  }
  const backend = backends.find((b) => b.schemes.includes(scheme));
  const special = backend?.parseText?.(text);
  if (special !== undefined) return special;
  let url: URL;
  try {
    url = new URL(text);
  } catch (err) {
    throw new ReplicaError("invalid-url", `invalid replica URL ${JSON.stringify(text)}`, { key: text, cause: err });
  }
  if (backend !== undefined) return backend.parseUrl(url, text);
  const served = backends.flatMap((b) => b.schemes).join(", ");
  if (KNOWN_ELSEWHERE.includes(scheme)) {
    throw new ReplicaError("unsupported-scheme", `replica scheme ${scheme}:// is not supported by sqlrep yet (supported: ${served})`, { key: text });
  }
  throw new ReplicaError("unsupported-scheme", `unknown replica scheme ${scheme}:// in ${text} (supported: ${served})`, { key: text });
}
