// `ObjectStore.list` for stores that cannot list in key order themselves (a directory
// tree, WebDAV, SFTP, a NATS bucket): they gather what is under the prefix, this orders
// it and applies startAfter and the delimiter.
import { throwIfAborted } from "./errors.js";
import type { ListOptions, ObjectEntry, ObjectInfo } from "./object-store.js";

/**
 * The entries `list(prefix, options)` yields, from every object under `prefix` in any
 * order: sorted in UTF-8 key order (as S3 lists), only keys after `startAfter`, and with a
 * `delimiter` each key that has one past the prefix rolled up into its common prefix, once.
 */
export function* sortedListing(objects: ObjectInfo[], prefix: string, options: ListOptions = {}): Generator<ObjectEntry> {
  const { signal, startAfter, delimiter } = options;
  objects.sort((a, b) => compareKeys(a.key, b.key));
  const rolledUp = new Set<string>();
  for (const info of objects) {
    throwIfAborted(signal);
    if (startAfter !== undefined && compareKeys(info.key, startAfter) <= 0) continue;
    if (delimiter) {
      const at = info.key.indexOf(delimiter, prefix.length);
      if (at >= 0) {
        const common = info.key.slice(0, at + delimiter.length);
        if (!rolledUp.has(common)) {
          rolledUp.add(common);
          yield { prefix: common };
        }
        continue;
      }
    }
    yield info;
  }
}

/** UTF-8 byte order, as S3 lists keys (JS string order differs above U+FFFF). */
export function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}
