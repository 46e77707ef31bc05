/**
 * The `litestream-timestamp` object metadata: Go's `time.RFC3339Nano` text, which is
 * what Litestream writes and reads (`2024-01-02T03:04:05.678Z`; the fraction loses its
 * trailing zeros and disappears when zero). The codec lives in `@sqlrep/replica`.
 */

/** The metadata key (S3 lower-cases user metadata keys; the SDK strips `x-amz-meta-`). */
export const TIMESTAMP_METADATA_KEY = "litestream-timestamp";

export { formatRFC3339Nano, parseRFC3339 } from "@sqlrep/replica";
