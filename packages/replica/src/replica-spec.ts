/** What a replica is, as settings: the common fields, and the ones each backend adds. */

/**
 * A replica described by its settings: what a `url:` or the `type`/`path`/… keys of a
 * Litestream config resolve to. Backends add and read the fields they declare in their
 * `keys` (the S3 backend's `bucket`, `endpoint`, …).
 */
export interface ReplicaSpec {
  /** Backend: "file", "s3", … */
  type: string;
  /** Directory (file) or key prefix (object stores). */
  path?: string | undefined;
  /** The URL this spec was parsed from, if any (for messages). */
  url?: string | undefined;
  /** Backend settings, by the `field` of the backend's keys. */
  readonly [field: string]: unknown;
}
