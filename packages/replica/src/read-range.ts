/** The check every store's ranged read makes of the offset and length it is asked for, before any request. */
import { ReplicaError } from "./errors.js";

/**
 * Throws ReplicaError("invalid-config") naming `key` unless `offset` is a safe integer ≥ 0
 * and `length`, when given, is one too (an `ObjectStore.read` range).
 */
export function checkReadRange(offset: number, length: number | undefined, key: string): void {
  if (!Number.isSafeInteger(offset) || offset < 0 || (length !== undefined && (!Number.isSafeInteger(length) || length < 0))) {
    throw new ReplicaError("invalid-config", `invalid byte range offset=${offset} length=${length} for ${key}`, { key });
  }
}
