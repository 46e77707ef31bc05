/**
 * Request counters in the shape of Litestream's `litestream_replica_operation_total` and
 * `litestream_replica_operation_bytes` (labels `replica_type="s3"`, `operation`).
 */

/** The operations counted. Multipart bookkeeping (create, complete, abort) is not counted. */
export type S3Operation = "GET" | "PUT" | "DELETE" | "LIST" | "HEAD";

/** Every operation, in a stable order (for metric output). */
export const S3_OPERATIONS: readonly S3Operation[] = ["GET", "PUT", "DELETE", "LIST", "HEAD"];

/** Totals of one operation. */
export interface OperationCount {
  /** Successful requests (a request the SDK retried counts once). */
  count: number;
  /** Payload bytes: body bytes received (GET) or sent (PUT); 0 for the others. */
  bytes: number;
}

/** Totals of every operation. */
export type S3OperationStats = Record<S3Operation, OperationCount>;

/**
 * Called after each counted request: every GetObject response (bytes = what its body
 * delivered, counted when the body ends or breaks), every PutObject or UploadPart (bytes
 * = its body), every ListObjectsV2 page, DeleteObjects batch and HeadObject.
 */
export type OperationListener = (operation: S3Operation, bytes: number) => void;

/** Running totals plus an optional listener. */
export class OperationCounter {
  private readonly totals = emptyStats();

  constructor(private readonly listener?: OperationListener) {}

  record(operation: S3Operation, bytes = 0): void {
    const total = this.totals[operation];
    total.count += 1;
    total.bytes += bytes;
    this.listener?.(operation, bytes);
  }

  snapshot(): S3OperationStats {
    const out = emptyStats();
    for (const op of S3_OPERATIONS) out[op] = { ...this.totals[op] };
    return out;
  }
}

function emptyStats(): S3OperationStats {
  return { GET: { count: 0, bytes: 0 }, PUT: { count: 0, bytes: 0 }, DELETE: { count: 0, bytes: 0 }, LIST: { count: 0, bytes: 0 }, HEAD: { count: 0, bytes: 0 } };
}
